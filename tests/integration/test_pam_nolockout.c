/* No lockout: the PAM stacks that README and pam_dpk(8) recommend, with
 * pam_dpk first and pam_unix after it, run by the stock pamtester in a
 * private mount namespace where a test pam.d, passwd and shadow are
 * bind-mounted over /etc (the machine's /etc never changes). A local user
 * with a password logs in through pam_unix, within the module's timeout +
 * 1 s, while the host's dpk-agent is up, stopped, hung (SIGSTOP) and
 * flooded by an unprivileged user holding every connection slot it can
 * get; a wrong password still fails. A DPK user (a passwd entry in the DPK
 * uid range naming its identity, as nss_dpk gives it) is refused while the
 * agent is down: the stack dies on pam_dpk's "authinfo unavailable" and
 * never falls through to a password. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "chain.h"
#include "flood.h"
#include "harness.h"

#define MODULE_TIMEOUT_MS 2000
#define LOCAL_PASSWORD "s3cret-local"

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, approver, device;
	uint8_t contract[20];
	char dir[64], etc[160], conf[200];
	struct dpk_test_agent host;
	pid_t flood;
};

/* The test's /etc: passwd and shadow with a local user (and a DPK-shaped
 * entry), and pam.d/dpk-test with the documented stack. */
static void
write_etc(struct env *e)
{
	char path[256], so[512], text[8192], line[512];
	struct dpk_buf hash;
	FILE *in;
	size_t n = 0;

	snprintf(e->etc, sizeof(e->etc), "%s/etc", e->dir);
	snprintf(path, sizeof(path), "%s/pam.d", e->etc);
	assert_int_equal(mkdir(e->etc, 0755), 0);
	assert_int_equal(mkdir(path, 0755), 0);

	/* the machine's passwd (root and the system users), plus ours */
	assert_non_null(in = fopen("/etc/passwd", "r"));
	while (fgets(line, sizeof(line), in) != NULL && n + strlen(line) < sizeof(text) - 512)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s", line);
	fclose(in);
	snprintf(text + n, sizeof(text) - n,
	    "dpklocal:x:1500:1500:Local User:/tmp:/bin/sh\n"
	    "alice.example.org:x:2001000001:2001000001:DPK alice.example.org:/tmp:/bin/sh\n");
	snprintf(path, sizeof(path), "%s/passwd", e->etc);
	dpk_test_write_file(path, text, 0644);

	char *argv[] = {(char *)"/usr/bin/openssl", (char *)"passwd", (char *)"-6", (char *)"-salt", (char *)"dpktestsalt",
	    (char *)LOCAL_PASSWORD, NULL};
	assert_int_equal(dpk_test_run(argv, NULL, &hash), 0);
	dpk_test_chomp(&hash);
	snprintf(text, sizeof(text), "root:*:19000:0:99999:7:::\ndpklocal:%.*s:19000:0:99999:7:::\n"
	    "alice.example.org:!:19000:0:99999:7:::\n", (int)hash.len, (const char *)hash.data);
	dpk_buf_free(&hash);
	snprintf(path, sizeof(path), "%s/shadow", e->etc);
	dpk_test_write_file(path, text, 0640);

	/* the stack of README and pam_dpk(8) */
	dpk_test_built("pam_dpk/.libs/pam_dpk.so", so, sizeof(so));
	snprintf(text, sizeof(text),
	    "auth    [success=done user_unknown=ignore ignore=ignore default=die] %s socket=%s config=%s timeout=%d\n"
	    "auth    required pam_unix.so\n"
	    "account [success=ok user_unknown=ignore ignore=ignore default=bad] %s socket=%s config=%s timeout=%d\n"
	    "account required pam_unix.so\n",
	    so, e->host.sock, e->conf, MODULE_TIMEOUT_MS, so, e->host.sock, e->conf, MODULE_TIMEOUT_MS);
	snprintf(path, sizeof(path), "%s/pam.d/dpk-test", e->etc);
	dpk_test_write_file(path, text, 0644);
}

/* pamtester dpk-test USER OP in the namespace, with password on its stdin:
 * its exit status (0 success), its output in out, the time in *ms. */
static int
pamtester(struct env *e, const char *user, const char *op, const char *password, char *out, size_t outsz,
    int64_t *ms)
{
	static const char script[] =
	    "so=\"$DPK_TOP_BUILDDIR/pam_dpk/.libs/pam_dpk.so\"\n"
	    "pre=$(ldd \"$so\" | awk '/lib(a|ub)san/ {print $3}' | tr '\\n' ' ')\n"
	    /* ASan's crypt() interceptor needs libcrypt loaded at start, not by pam_unix later */
	    "[ -z \"$pre\" ] || pre=\"$pre $(ldconfig -p | awk '/libcrypt\\.so\\.1 / {print $NF; exit}')\"\n"
	    "mount --bind \"$1/pam.d\" /etc/pam.d && mount --bind \"$1/passwd\" /etc/passwd &&\n"
	    "mount --bind \"$1/shadow\" /etc/shadow || exit 99\n"
	    "exec env LD_PRELOAD=\"$pre\" ASAN_OPTIONS=detect_leaks=0 /usr/bin/pamtester -v dpk-test \"$2\" \"$3\" 2>&1\n";
	char in[128];
	struct dpk_buf o;
	int64_t t0 = dpk_test_now_ms();
	int r;

	char *argv[] = {(char *)"/usr/bin/unshare", (char *)"-m", (char *)"/bin/sh", (char *)"-c", (char *)script,
	    (char *)"sh", e->etc, (char *)user, (char *)op, NULL};
	snprintf(in, sizeof(in), "%s\n", password);
	r = dpk_test_run(argv, in, &o);
	*ms = dpk_test_now_ms() - t0;
	snprintf(out, outsz, "%.*s", (int)o.len, o.data != NULL ? (const char *)o.data : "");
	dpk_buf_free(&o);
	assert_int_not_equal(r, 99);
	print_message("pamtester %s %s -> %d (%lld ms)\n%s\n", user, op, r, (long long)*ms, out);
	return r;
}

/* A local user logs in with its password, and only with it, in time. */
static void
local_login_works(struct env *e, const char *when)
{
	char out[4096];
	int64_t ms;

	if (pamtester(e, "dpklocal", "authenticate", LOCAL_PASSWORD, out, sizeof(out), &ms) != 0 ||
	    strstr(out, "successfully authenticated") == NULL)
		fail_msg("%s: the local user's password login failed:\n%s", when, out);
	if (ms > MODULE_TIMEOUT_MS + 1000)
		fail_msg("%s: the local login took %lld ms (the module's timeout is %d ms)", when, (long long)ms,
		    MODULE_TIMEOUT_MS);
	if (pamtester(e, "dpklocal", "acct_mgmt", "", out, sizeof(out), &ms) != 0 || ms > MODULE_TIMEOUT_MS + 1000)
		fail_msg("%s: the local user's account check failed or took %lld ms:\n%s", when, (long long)ms, out);
	if (pamtester(e, "dpklocal", "authenticate", "wrong-password", out, sizeof(out), &ms) == 0)
		fail_msg("%s: a wrong password logged the local user in:\n%s", when, out);
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	dpk_test_chain_up(&e->anvil, &e->rpc, &e->owner, &e->approver, &e->device, e->contract);
	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	assert_int_equal(chmod(e->dir, 0755), 0);
	dpk_test_agent_start(&e->host, e->dir, "host", e->anvil.url, e->contract,
	    "identity = host.example.org\nnss_allow = alice.example.org\n");
	/* the module reads the DPK uid range from this copy of the host's dpk.conf */
	snprintf(e->conf, sizeof(e->conf), "%s/pam-dpk.conf", e->dir);
	dpk_test_write_file(e->conf, "nss_uid_min = 2001000000\nnss_uid_max = 2099999999\n", 0644);
	write_etc(e);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	if (e->flood > 0) {
		kill(e->flood, SIGKILL);
		waitpid(e->flood, NULL, 0);
	}
	if (e->host.pid > 0)
		kill(e->host.pid, SIGCONT);
	dpk_test_agent_stop(&e->host);
	dpk_test_chain_down(&e->anvil, e->rpc);
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

static void
test_local_users_never_wait(void **state)
{
	struct env *e = *state;

	local_login_works(e, "agent up");

	/* uid nobody holds every connection it can, one byte every 5 s */
	e->flood = dpk_test_flood(e->host.sock, 65534, 400, 5000, 0);
	local_login_works(e, "agent flooded by uid nobody");
	kill(e->flood, SIGKILL);
	waitpid(e->flood, NULL, 0);
	e->flood = 0;

	assert_int_equal(kill(e->host.pid, SIGSTOP), 0);
	local_login_works(e, "agent hung (SIGSTOP)");
	assert_int_equal(kill(e->host.pid, SIGCONT), 0);

	dpk_test_agent_stop(&e->host);
	local_login_works(e, "agent stopped");
}

static void
test_dpk_user_refused_when_agent_down(void **state)
{
	struct env *e = *state;
	char out[4096];
	int64_t ms;

	dpk_test_agent_stop(&e->host);
	/* no password fallback: pam_dpk's "authinfo unavailable" ends the stack */
	assert_int_not_equal(pamtester(e, "alice.example.org", "authenticate", LOCAL_PASSWORD, out, sizeof(out), &ms), 0);
	assert_non_null(strstr(out, "uthentication"));
	assert_null(strstr(out, "successfully authenticated"));
	assert_true(ms <= MODULE_TIMEOUT_MS + 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_local_users_never_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dpk_user_refused_when_agent_down, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
