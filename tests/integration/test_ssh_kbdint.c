/* Stock sshd and ssh logging in by keyboard-interactive through pam_dpk,
 * end to end: a real anvil with the registry, a host dpk-agent and one
 * dpk-agent per user device, /usr/sbin/sshd (UsePAM, keyboard-interactive
 * only) on a free loopback port in a private mount namespace (unshare -m)
 * where a test pam.d/sshd (pam_dpk for auth and account) is bind-mounted
 * over /etc/pam.d and a test nsswitch.conf resolves passwd through the
 * built nss_dpk; the machine's /etc and /run never change. The stock ssh
 * client answers the prompt through SSH_ASKPASS (SSH_ASKPASS_REQUIRE=force):
 * a small script that takes the challenge out of the prompt and runs
 * `dpkctl respond` against the user's own agent.
 *
 * Covered: a registered identity logs in and runs `id -un`; a revoked
 * identity, an identity the policy admits but that is not registered (its
 * device signs with a key the chain does not have) and a registered
 * identity outside the policy are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dpk/client.h"
#include "chain.h"
#include "err.h"
#include "agent.h"
#include "harness.h"
#include "registry.h"

enum { HOST, ALICE, GONE, UNREG, OUTSIDE, N_AGENTS };
static const char *const identities[N_AGENTS] = {"host.example.org", "alice.example.org", "gone.example.org",
    "unregistered.example.org", "outside.example.net"};

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, approver, device;
	uint8_t contract[20];
	char dir[64], sshd_log[128], askpass[128];
	struct dpk_test_agent ag[N_AGENTS];
	pid_t sshd;
	int port;
};

/* sshd -D in a private mount namespace: the test pam.d over /etc/pam.d, the
 * test nsswitch.conf over /etc/nsswitch.conf, a tmpfs over /run for
 * /run/sshd, and the build tree at the root-owned /run/dpk-build. A
 * sanitizer build of the modules needs its runtime preloaded into sshd. */
static void
start_sshd(struct env *e)
{
	static const char script[] =
	    "so=\"$DPK_TOP_BUILDDIR/pam_dpk/.libs/pam_dpk.so\"\n"
	    "pre=$(ldd \"$so\" | awk '/lib(a|ub)san/ {print $3}' | tr '\\n' ':')\n"
	    "env=\"LD_LIBRARY_PATH=$DPK_TOP_BUILDDIR/nss_dpk/.libs DPK_AGENT_SOCKET=$2\"\n"
	    "[ -z \"$pre\" ] || env=\"$env LD_PRELOAD=$pre ASAN_OPTIONS=detect_leaks=0\"\n"
	    "echo \"SetEnv $env\" >> \"$1/sshd_config\"\n"
	    "mount --bind \"$1/nsswitch.conf\" /etc/nsswitch.conf || exit 99\n"
	    "mount --bind \"$1/pam.d\" /etc/pam.d || exit 99\n"
	    "mount -t tmpfs -o mode=0755 tmpfs /run || exit 99\n"
	    "mkdir -m 0755 /run/sshd || exit 99\n"
	    "mkdir -m 0755 /run/dpk-build && mount --bind \"$DPK_TOP_BUILDDIR\" /run/dpk-build || exit 99\n"
	    "exec env $env /usr/sbin/sshd -D -e -f \"$1/sshd_config\"\n";
	char path[256], hostkey[256];
	FILE *f;

	snprintf(hostkey, sizeof(hostkey), "%s/host_ed25519", e->dir);
	char *keygen[] = {(char *)"/usr/bin/ssh-keygen", (char *)"-q", (char *)"-t", (char *)"ed25519", (char *)"-N",
	    (char *)"", (char *)"-f", hostkey, NULL};
	assert_int_equal(dpk_test_run(keygen, NULL, NULL), 0);
	snprintf(path, sizeof(path), "%s/nsswitch.conf", e->dir);
	f = fopen(path, "w");
	fprintf(f, "passwd: files dpk\ngroup: files dpk\nshadow: files\nhosts: files\n");
	fclose(f);
	snprintf(path, sizeof(path), "%s/pam.d", e->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/pam.d/sshd", e->dir);
	f = fopen(path, "w");
	fprintf(f, "auth required /run/dpk-build/pam_dpk/.libs/pam_dpk.so socket=%s timeout=5000\n"
	    "account required /run/dpk-build/pam_dpk/.libs/pam_dpk.so socket=%s timeout=5000\n"
	    "session required pam_permit.so\npassword required pam_deny.so\n", e->ag[HOST].sock, e->ag[HOST].sock);
	fclose(f);
	e->port = dpk_test_free_port();
	snprintf(path, sizeof(path), "%s/sshd_config", e->dir);
	f = fopen(path, "w");
	fprintf(f, "Port %d\nListenAddress 127.0.0.1\nHostKey %s\nPidFile none\nUsePAM yes\n"
	    "KbdInteractiveAuthentication yes\nPubkeyAuthentication no\nPasswordAuthentication no\n"
	    "AuthenticationMethods keyboard-interactive\nAuthorizedKeysFile none\nLogLevel VERBOSE\n",
	    e->port, hostkey);
	fclose(f);
	char *argv[] = {(char *)"/usr/bin/unshare", (char *)"-m", (char *)"/bin/sh", (char *)"-c", (char *)script,
	    (char *)"sh", e->dir, e->ag[HOST].sock, NULL};
	e->sshd = dpk_test_spawn(argv, e->sshd_log);
	if (dpk_test_wait_port(e->port, 10000) != 0)
		fail_msg("sshd did not start (see %s)", e->sshd_log);
}

/* The askpass program: the challenge out of the prompt, answered by the
 * user's own agent ($DPK_USER_SOCKET). */
static void
write_askpass(struct env *e)
{
	char dpkctl[512];
	FILE *f;

	dpk_test_built("dpk-agent/dpkctl", dpkctl, sizeof(dpkctl));
	snprintf(e->askpass, sizeof(e->askpass), "%s/askpass", e->dir);
	f = fopen(e->askpass, "w");
	fprintf(f, "#!/bin/sh\n"
	    "ch=$(printf '%%s\\n' \"$1\" | grep -o 'DPK-LOGIN-v1\\.[A-Za-z0-9_-]*' | head -n 1)\n"
	    "[ -n \"$ch\" ] || { echo \"askpass: no DPK challenge in: $1\" >&2; exit 1; }\n"
	    "exec %s --socket \"$DPK_USER_SOCKET\" respond \"$ch\"\n", dpkctl);
	fclose(f);
	assert_int_equal(chmod(e->askpass, 0755), 0);
}

/* A stock ssh client, keyboard-interactive only, answering through askpass
 * with the agent of device: its exit status (255 when refused); the remote
 * command's stdout, chomped, in out. */
static int
ssh_login(struct env *e, const char *user, int device, char *out, size_t outsz)
{
	char port[16], dest[300];
	struct dpk_buf o;
	int r;

	snprintf(port, sizeof(port), "%d", e->port);
	snprintf(dest, sizeof(dest), "%s@127.0.0.1", user);
	setenv("SSH_ASKPASS", e->askpass, 1);
	setenv("SSH_ASKPASS_REQUIRE", "force", 1);
	setenv("DPK_USER_SOCKET", e->ag[device].sock, 1);
	char *argv[] = {(char *)"/usr/bin/ssh", (char *)"-F", (char *)"/dev/null", (char *)"-p", port,
	    (char *)"-o", (char *)"PreferredAuthentications=keyboard-interactive", (char *)"-o",
	    (char *)"PubkeyAuthentication=no", (char *)"-o", (char *)"IdentityAgent=none", (char *)"-o",
	    (char *)"NumberOfPasswordPrompts=1", (char *)"-o", (char *)"StrictHostKeyChecking=no", (char *)"-o",
	    (char *)"UserKnownHostsFile=/dev/null", (char *)"-o", (char *)"ConnectTimeout=10", (char *)"-o",
	    (char *)"LogLevel=ERROR", dest, (char *)"id", (char *)"-un", NULL};
	r = dpk_test_run(argv, NULL, &o);
	dpk_test_chomp(&o);
	snprintf(out, outsz, "%.*s", (int)o.len, o.data != NULL ? (const char *)o.data : "");
	dpk_buf_free(&o);
	return r;
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	const char *url;

	dpk_test_anvil_start(&e->anvil, NULL);
	url = e->anvil.url;
	assert_int_equal(dpk_rpc_new(&e->rpc, &url, 1, NULL), 0);
	dpk_test_wallet(DPK_TEST_DEV_KEY, &e->owner);
	dpk_test_wallet(DPK_TEST_APPROVER_KEY, &e->approver);
	dpk_test_wallet(DPK_TEST_DEVICE_KEY, &e->device);
	dpk_test_deploy(e->rpc, &e->owner, &e->approver, e->contract);
	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	/* the session's `id` (as the user) must reach the host agent's socket */
	assert_int_equal(chmod(e->dir, 0711), 0);
	snprintf(e->sshd_log, sizeof(e->sshd_log), "%s/sshd.log", e->dir);

	dpk_test_agent_start(&e->ag[HOST], e->dir, "host", e->anvil.url, e->contract, "identity = host.example.org\nnss_allow = alice.example.org\n"
	    "nss_allow = gone.example.org\nnss_allow = unregistered.example.org\n");
	for (int i = ALICE; i < N_AGENTS; i++) {
		char extra[128];

		snprintf(extra, sizeof(extra), "identity = %s\n", identities[i]);
		dpk_test_agent_start(&e->ag[i], e->dir, identities[i], e->anvil.url, e->contract, extra);
		if (i != UNREG)
			dpk_test_agent_register(&e->ag[i], e->rpc, e->contract, &e->approver, &e->device, identities[i]);
	}
	write_askpass(e);
	start_sshd(e);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	if (e->sshd > 0) {
		kill(e->sshd, SIGTERM);
		waitpid(e->sshd, NULL, 0);
	}
	for (int i = 0; i < N_AGENTS; i++)
		dpk_test_agent_stop(&e->ag[i]);
	dpk_test_anvil_stop(&e->anvil);
	dpk_rpc_free(e->rpc);
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

static void
test_kbdint_login(void **state)
{
	struct env *e = *state;
	char out[1024];
	int64_t t0;
	int rc = 0;

	if (ssh_login(e, "alice.example.org", ALICE, out, sizeof(out)) != 0)
		fail_msg("ssh login failed (see %s and %s)", e->sshd_log, e->ag[HOST].log);
	assert_string_equal(out, "alice.example.org");
	/* alice's name answered by another device: refused */
	assert_int_equal(ssh_login(e, "alice.example.org", GONE, out, sizeof(out)), 255);
	/* in the policy, its device signs, but its key is not on chain */
	assert_int_equal(ssh_login(e, "unregistered.example.org", UNREG, out, sizeof(out)), 255);
	/* on chain, its device signs, but the policy does not admit it */
	assert_int_equal(ssh_login(e, "outside.example.net", OUTSIDE, out, sizeof(out)), 255);
	assert_string_equal(out, "");

	/* revoked: refused within the poll interval (200 ms; cache_ttl 60 s) */
	assert_int_equal(ssh_login(e, "gone.example.org", GONE, out, sizeof(out)), 0);
	assert_string_equal(out, "gone.example.org");
	dpk_test_revoke(e->rpc, e->contract, &e->approver, "gone.example.org");
	t0 = dpk_test_now_ms();
	while (dpk_test_now_ms() - t0 < 5000 && (rc = ssh_login(e, "gone.example.org", GONE, out, sizeof(out))) != 255)
		dpk_test_sleep_ms(200);
	assert_int_equal(rc, 255);
	/* alice still logs in */
	assert_int_equal(ssh_login(e, "alice.example.org", ALICE, out, sizeof(out)), 0);
	assert_string_equal(out, "alice.example.org");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kbdint_login, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
