/* Stock sshd in a private mount namespace for the end-to-end tests (sshd.h). */
#include "sshd.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "harness.h"

void
dpk_test_sshd_prepare(struct dpk_test_sshd *s, const char *dir, int own_netns)
{
	char path[256];

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	snprintf(s->log, sizeof(s->log), "%s/sshd.log", dir);
	snprintf(s->hostkey, sizeof(s->hostkey), "%s/host_ed25519", dir);
	s->own_netns = own_netns;
	char *keygen[] = {(char *)"/usr/bin/ssh-keygen", (char *)"-q", (char *)"-t", (char *)"ed25519", (char *)"-N",
	    (char *)"", (char *)"-f", s->hostkey, NULL};
	assert_int_equal(dpk_test_run(keygen, NULL, NULL), 0);
	snprintf(path, sizeof(path), "%s/nsswitch.conf", dir);
	dpk_test_write_file(path, "passwd: files dpk\ngroup: files dpk\nshadow: files\nhosts: files\n", 0644);
	s->port = own_netns ? 2222 : dpk_test_free_port();
}

/* In its own network namespace sshd cannot be reached from here: wait for
 * its log line instead. */
static int
wait_listening(const struct dpk_test_sshd *s, int timeout_ms)
{
	for (int64_t t0 = dpk_test_now_ms(); dpk_test_now_ms() - t0 < timeout_ms;) {
		struct dpk_buf log;
		char *cat[] = {(char *)"/bin/cat", (char *)s->log, NULL};
		int up;

		dpk_buf_init(&log, 1 << 20);
		up = access(s->log, F_OK) == 0 && dpk_test_run(cat, NULL, &log) == 0 && dpk_buf_cstr(&log) == 0 &&
		    strstr((const char *)log.data, "Server listening on 127.0.0.1") != NULL;
		dpk_buf_free(&log);
		if (up)
			return 0;
		usleep(50000);
	}
	return -1;
}

void
dpk_test_sshd_start(struct dpk_test_sshd *s, const char *config, const char *module, const char *agent_sock,
    const char *extra)
{
	static const char script[] =
	    "so=\"$DPK_TOP_BUILDDIR/$3\"\n"
	    "pre=$(ldd \"$so\" | awk '/lib(a|ub)san/ {print $3}' | tr '\\n' ':')\n"
	    "env=\"LD_LIBRARY_PATH=$DPK_TOP_BUILDDIR/nss_dpk/.libs DPK_AGENT_SOCKET=$2\"\n"
	    "[ -z \"$pre\" ] || env=\"$env LD_PRELOAD=$pre ASAN_OPTIONS=detect_leaks=0\"\n"
	    "echo \"SetEnv $env\" >> \"$1/sshd_config\"\n"
	    "mount --bind \"$1/nsswitch.conf\" /etc/nsswitch.conf || exit 99\n"
	    "mount -t tmpfs -o mode=0755 tmpfs /run || exit 99\n"
	    "mkdir -m 0755 /run/sshd || exit 99\n"
	    "mkdir -m 0755 /run/dpk-build && mount --bind \"$DPK_TOP_BUILDDIR\" /run/dpk-build || exit 99\n"
	    "eval \"$4\" || exit 99\n"
	    "exec env $env /usr/sbin/sshd -D -e -f \"$1/sshd_config\"\n";
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/sshd_config", s->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "Port %d\nListenAddress 127.0.0.1\nHostKey %s\nPidFile none\n%s", s->port, s->hostkey, config);
	fclose(f);
	char *argv[] = {(char *)"/usr/bin/unshare", (char *)"-m", (char *)"-n", (char *)"/bin/sh", (char *)"-c",
	    (char *)script, (char *)"sh", s->dir, (char *)agent_sock, (char *)module, (char *)extra, NULL};
	if (!s->own_netns) /* drop -n */
		memmove(&argv[2], &argv[3], sizeof(argv) - 3 * sizeof(argv[0]));
	s->pid = dpk_test_spawn(argv, s->log);
	if (s->own_netns) {
		snprintf(s->netns, sizeof(s->netns), "--net=/proc/%ld/ns/net", (long)s->pid);
		if (wait_listening(s, 10000) != 0)
			fail_msg("sshd did not start (see %s)", s->log);
	} else if (dpk_test_wait_port(s->port, 10000) != 0)
		fail_msg("sshd did not start (see %s)", s->log);
}

void
dpk_test_sshd_stop(struct dpk_test_sshd *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}

int
dpk_test_ssh_id(const struct dpk_test_sshd *s, char *const pre[], char *const opts[], const char *user,
    char *out, size_t outsz)
{
	static char *const tail[] = {(char *)"-o", (char *)"StrictHostKeyChecking=no", (char *)"-o",
	    (char *)"UserKnownHostsFile=/dev/null", (char *)"-o", (char *)"ConnectTimeout=10", (char *)"-o",
	    (char *)"LogLevel=ERROR", NULL};
	char port[16], dest[300], *argv[64];
	struct dpk_buf o;
	size_t n = 0;
	int r;

	snprintf(port, sizeof(port), "%d", s->port);
	snprintf(dest, sizeof(dest), "%s@127.0.0.1", user);
	if (s->netns[0] != '\0') {
		argv[n++] = (char *)"/usr/bin/nsenter";
		argv[n++] = (char *)s->netns;
	}
	for (size_t i = 0; pre != NULL && pre[i] != NULL; i++)
		argv[n++] = pre[i];
	argv[n++] = (char *)"/usr/bin/ssh";
	argv[n++] = (char *)"-F";
	argv[n++] = (char *)"/dev/null";
	argv[n++] = (char *)"-p";
	argv[n++] = port;
	for (size_t i = 0; opts[i] != NULL; i++) {
		assert_true(n < 40); /* room for the tail */
		argv[n++] = opts[i];
	}
	for (size_t i = 0; tail[i] != NULL; i++)
		argv[n++] = tail[i];
	argv[n++] = dest;
	argv[n++] = (char *)"id";
	argv[n++] = (char *)"-un";
	argv[n] = NULL;
	r = dpk_test_run(argv, NULL, &o);
	dpk_test_chomp(&o);
	snprintf(out, outsz, "%.*s", (int)o.len, o.data != NULL ? (const char *)o.data : "");
	dpk_buf_free(&o);
	return r;
}
