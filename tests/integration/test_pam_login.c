/* pam_dpk end to end with the stock pamtester: a real anvil with the
 * registry, a host dpk-agent (identity host.example.org, admitting
 * alice.example.org and gone.example.org), and one dpk-agent per user device
 * whose identity key is registered on chain. pamtester runs in a private
 * mount namespace (unshare -m) where a test pam.d is bind-mounted over
 * /etc/pam.d; the machine's /etc never changes. The test reads the prompt
 * pamtester prints, answers it with the output of `dpkctl respond` run
 * against the user's own agent, and checks what PAM says.
 *
 * Covered: a correct response logs in; a response replayed into a new
 * login, a response after the challenge expired, a response signed by
 * another key, a revoked identity (auth and account), a user outside the
 * policy or not a DPK user, and a stopped or hung agent (authinfo
 * unavailable within the module's timeout); the agent's VERIFY replay and
 * expiry answers; dpkctl respond's refusals; 1024 pending challenges
 * that a flood cannot use up; RSA-2048 device keys log in,
 * RSA-3072 ones are refused with a reason. Relaying: the prompt names the
 * host; the device describes a challenge (host, user, service) before
 * signing it and refuses, in both modes, a host that is not registered or is
 * revoked on chain; dpkctl respond asks on the terminal (a pty here) and
 * signs only on "y", and without a terminal refuses unless given --yes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dpk/client.h"
#include "chain.h"
#include "base/err.h"
#include "agent.h"
#include "harness.h"
#include "crypto/idkey.h"
#include "login/login_msg.h"
#include "registry/registry.h"

#define LOGIN_TTL_S 3
#define MODULE_TIMEOUT_MS 2000

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, approver, device;
	uint8_t contract[20];
	char dir[64], pamd[160];
	struct dpk_test_agent host, alice, gone;
};

/* dpkctl respond --yes against a device agent (as a script runs it): its
 * exit status; the response (chomped) in out. With via_stdin the challenge
 * goes to its stdin. */
static int
respond(const struct dpk_test_agent *p, const char *challenge, int via_stdin, char *out, size_t outsz)
{
	char prog[512], in[600];
	struct dpk_buf o;
	int r;

	dpk_test_built("dpkctl/dpkctl", prog, sizeof(prog));
	char *argv[] = {prog, (char *)"--socket", (char *)p->sock, (char *)"respond", (char *)"--yes",
	    via_stdin ? NULL : (char *)challenge, NULL};
	snprintf(in, sizeof(in), "  %s\n", challenge);
	r = dpk_test_run(argv, via_stdin ? in : NULL, &o);
	dpk_test_chomp(&o);
	snprintf(out, outsz, "%.*s", (int)o.len, o.data != NULL ? (const char *)o.data : "");
	dpk_buf_free(&o);
	return r;
}

/* How the test answers pamtester's prompt. */
enum answer {
	ANSWER_DEVICE,        /* dpkctl respond on the given device */
	ANSWER_DEVICE_STDIN,  /* the same, the challenge on dpkctl's stdin */
	ANSWER_DEVICE_LATE,   /* the same, then wait until the challenge expired */
	ANSWER_GIVEN,         /* the text in given */
	ANSWER_OTHER_KEY,     /* a signature of the challenge by a key not on chain */
};

struct pam_run {
	int status;              /* pamtester's exit status */
	char output[8192];       /* its stdout and stderr */
	char challenge[512];     /* the challenge it showed, if any */
	char response[600];      /* what the test answered */
	int64_t elapsed_ms;
};

/* A response to ch signed by a fresh key: well formed, wrong signer. */
static void
other_key_response(const char *challenge, char *out, size_t outsz)
{
	struct dpk_login_challenge ch;
	struct dpk_idkey *k;
	struct dpk_buf msg, sig;

	assert_int_equal(dpk_login_challenge_decode(challenge, strlen(challenge), &ch), 0);
	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_P256, 0, &k), 0);
	dpk_buf_init(&msg, 1024);
	dpk_buf_init(&sig, 1024);
	assert_int_equal(dpk_login_signed_bytes(&ch, &msg), 0);
	assert_int_equal(dpk_idkey_sign(k, msg.data, msg.len, &sig), 0);
	assert_int_equal(dpk_login_response_encode(sig.data, sig.len, out, outsz), 0);
	dpk_buf_free(&msg);
	dpk_buf_free(&sig);
	dpk_idkey_free(k);
}

/* Find "dpkctl respond <challenge>" in text; 0 and the challenge, or -1. */
static int
find_challenge(const char *text, char *out, size_t outsz)
{
	const char *p = strstr(text, "dpkctl respond " DPK_LOGIN_CHALLENGE_PREFIX), *q;

	if (p == NULL)
		return -1;
	p += strlen("dpkctl respond ");
	q = p + strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");
	if (*q == '\0') /* not all of it read yet */
		return -1;
	snprintf(out, outsz, "%.*s", (int)(q - p), p);
	return 0;
}

/* pamtester SERVICE USER OP in the namespace with the test pam.d, answering
 * its one prompt as asked. A sanitizer build of the module needs its
 * runtime preloaded into the uninstrumented pamtester. */
static void
pamtester(struct env *e, const char *user, const char *op, enum answer how, const struct dpk_test_agent *device,
    const char *given, struct pam_run *run)
{
	static const char script[] =
	    "so=\"$DPK_TOP_BUILDDIR/pam_dpk/.libs/pam_dpk.so\"\n"
	    "pre=$(ldd \"$so\" | awk '/lib(a|ub)san/ {print $3}' | tr '\\n' ' ')\n"
	    "mount --bind \"$1\" /etc/pam.d || exit 99\n"
	    "exec env LD_PRELOAD=\"$pre\" ASAN_OPTIONS=detect_leaks=0 /usr/bin/pamtester -v dpk-test \"$2\" \"$3\"\n";
	int inp[2], outp[2], wstatus, answered = 0;
	size_t len = 0;
	int64_t t0 = dpk_test_now_ms();
	pid_t pid;

	memset(run, 0, sizeof(*run));
	assert_int_equal(pipe2(inp, O_CLOEXEC), 0);
	assert_int_equal(pipe2(outp, O_CLOEXEC), 0);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		dup2(inp[0], 0);
		dup2(outp[1], 1);
		dup2(outp[1], 2);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl("/usr/bin/unshare", "unshare", "-m", "/bin/sh", "-c", script, "sh", e->pamd, user, op, (char *)NULL);
		_exit(127);
	}
	close(inp[0]);
	close(outp[1]);
	for (;;) {
		struct pollfd pf = {outp[0], POLLIN, 0};
		ssize_t n;

		if (dpk_test_now_ms() - t0 > 30000)
			break;
		if (poll(&pf, 1, 1000) <= 0)
			continue;
		n = read(outp[0], run->output + len, sizeof(run->output) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		run->output[len] = '\0';
		if (answered || find_challenge(run->output, run->challenge, sizeof(run->challenge)) != 0)
			continue;
		answered = 1;
		switch (how) {
		case ANSWER_DEVICE:
		case ANSWER_DEVICE_STDIN:
		case ANSWER_DEVICE_LATE:
			if (respond(device, run->challenge, how == ANSWER_DEVICE_STDIN, run->response, sizeof(run->response)) != 0) {
				kill(pid, SIGKILL); /* pamtester would wait for the answer forever */
				waitpid(pid, NULL, 0);
				fail_msg("dpkctl respond failed on %s's device (see %s)", device->name, device->log);
			}
			if (how == ANSWER_DEVICE_LATE)
				dpk_test_sleep_ms((LOGIN_TTL_S + 2) * 1000);
			break;
		case ANSWER_GIVEN:
			snprintf(run->response, sizeof(run->response), "%s", given);
			break;
		case ANSWER_OTHER_KEY:
			other_key_response(run->challenge, run->response, sizeof(run->response));
			break;
		}
		snprintf(run->response + strlen(run->response), sizeof(run->response) - strlen(run->response), "\n");
		assert_int_equal(write(inp[1], run->response, strlen(run->response)), (ssize_t)strlen(run->response));
		run->response[strlen(run->response) - 1] = '\0';
	}
	close(inp[1]);
	close(outp[0]);
	kill(pid, SIGKILL); /* only if still running after 30 s */
	assert_int_equal(waitpid(pid, &wstatus, 0), pid);
	run->elapsed_ms = dpk_test_now_ms() - t0;
	run->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
	assert_int_not_equal(run->status, 99);
	print_message("pamtester %s %s -> %d (%lld ms)\n%s\n", user, op, run->status, (long long)run->elapsed_ms,
	    run->output);
}

static void
expect(const struct pam_run *run, int status, const char *text)
{
	if (run->status != status || strstr(run->output, text) == NULL)
		fail_msg("pamtester exited %d, expected %d with '%s'; it said:\n%s", run->status, status, text, run->output);
}

static void
write_pamd(struct env *e, const char *opts)
{
	char so[512], path[256];
	FILE *f;

	dpk_test_built("pam_dpk/.libs/pam_dpk.so", so, sizeof(so));
	snprintf(path, sizeof(path), "%s/dpk-test", e->pamd);
	f = fopen(path, "w");
	fprintf(f, "auth required %s socket=%s timeout=%d %s\naccount required %s socket=%s timeout=%d %s\n", so,
	    e->host.sock, MODULE_TIMEOUT_MS, opts, so, e->host.sock, MODULE_TIMEOUT_MS, opts);
	fclose(f);
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char extra[256];

	dpk_test_chain_up(&e->anvil, &e->rpc, &e->owner, &e->approver, &e->device, e->contract);
	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	snprintf(e->pamd, sizeof(e->pamd), "%s/pam.d", e->dir);
	assert_int_equal(mkdir(e->pamd, 0755), 0);

	snprintf(extra, sizeof(extra), "identity = host.example.org\nnss_allow = alice.example.org\n"
	    "nss_allow = gone.example.org\nnss_allow = unregistered.example.org\nlogin_challenge_ttl = %ds\n",
	    LOGIN_TTL_S);
	dpk_test_agent_start(&e->host, e->dir, "host", e->anvil.url, e->contract, extra);
	dpk_test_agent_start(&e->alice, e->dir, "alice", e->anvil.url, e->contract, "identity = alice.example.org\n");
	dpk_test_agent_start(&e->gone, e->dir, "gone", e->anvil.url, e->contract, "identity = gone.example.org\n");
	dpk_test_agent_register(&e->alice, e->rpc, e->contract, &e->approver, &e->device, "alice.example.org");
	dpk_test_agent_register(&e->gone, e->rpc, e->contract, &e->approver, &e->device, "gone.example.org");
	/* devices answer only hosts registered on chain */
	dpk_test_agent_register(&e->host, e->rpc, e->contract, &e->approver, &e->device, "host.example.org");
	write_pamd(e, "");
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	if (e->host.pid > 0)
		kill(e->host.pid, SIGCONT);
	dpk_test_agent_stop(&e->host);
	dpk_test_agent_stop(&e->alice);
	dpk_test_agent_stop(&e->gone);
	dpk_test_chain_down(&e->anvil, e->rpc);
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

static void
test_login(void **state)
{
	struct env *e = *state;
	struct pam_run run, again;

	/* the prompt names the host and the identity and says what to run */
	pamtester(e, "alice.example.org", "authenticate", ANSWER_DEVICE, &e->alice, NULL, &run);
	expect(&run, 0, "successfully authenticated");
	assert_non_null(strstr(run.output, "DPK login to host.example.org as alice.example.org"));
	assert_true(strncmp(run.response, DPK_LOGIN_RESPONSE_PREFIX, strlen(DPK_LOGIN_RESPONSE_PREFIX)) == 0);
	/* the challenge read from dpkctl's stdin */
	pamtester(e, "alice.example.org", "authenticate", ANSWER_DEVICE_STDIN, &e->alice, NULL, &again);
	expect(&again, 0, "successfully authenticated");
	assert_string_not_equal(run.challenge, again.challenge);
	/* the account check */
	pamtester(e, "alice.example.org", "acct_mgmt", ANSWER_GIVEN, NULL, "", &again);
	expect(&again, 0, "account management done");

	/* the same response again, into a new login: another challenge, refused */
	pamtester(e, "alice.example.org", "authenticate", ANSWER_GIVEN, NULL, run.response, &again);
	expect(&again, 1, "Authentication failure");
	/* a response signed by a key that is not alice's */
	pamtester(e, "alice.example.org", "authenticate", ANSWER_OTHER_KEY, NULL, NULL, &again);
	expect(&again, 1, "Authentication failure");
	/* garbage and an empty answer */
	pamtester(e, "alice.example.org", "authenticate", ANSWER_GIVEN, NULL, "DPK-RESPONSE-v1.%%%", &again);
	expect(&again, 1, "Authentication failure");
	pamtester(e, "alice.example.org", "authenticate", ANSWER_GIVEN, NULL, "", &again);
	expect(&again, 1, "Authentication failure");
	/* answered after the challenge expired */
	pamtester(e, "alice.example.org", "authenticate", ANSWER_DEVICE_LATE, &e->alice, NULL, &again);
	expect(&again, 1, "Authentication failure");
}

static void
test_not_dpk_users(void **state)
{
	struct env *e = *state;
	struct pam_run run;

	/* a local user and an identity outside the policy: "user unknown", so a
	 * stack with [user_unknown=ignore] goes on to the next module */
	pamtester(e, "root", "authenticate", ANSWER_GIVEN, NULL, "", &run);
	expect(&run, 1, "User not known to the underlying authentication module");
	assert_string_equal(run.challenge, "");
	pamtester(e, "outside.example.net", "authenticate", ANSWER_GIVEN, NULL, "", &run);
	expect(&run, 1, "User not known to the underlying authentication module");
	pamtester(e, "root", "acct_mgmt", ANSWER_GIVEN, NULL, "", &run);
	expect(&run, 1, "User not known to the underlying authentication module");
	/* admitted by the policy but not registered: unknown to the account check */
	pamtester(e, "unregistered.example.org", "acct_mgmt", ANSWER_GIVEN, NULL, "", &run);
	expect(&run, 1, "User not known to the underlying authentication module");

	/* ignore_unknown_user: the module steps aside; with only it in the
	 * stack libpam turns "ignore everything" into a failure that is no
	 * longer "user unknown" */
	write_pamd(e, "ignore_unknown_user");
	pamtester(e, "root", "authenticate", ANSWER_GIVEN, NULL, "", &run);
	assert_int_equal(run.status, 1);
	assert_null(strstr(run.output, "User not known"));
	/* a user that is not a DPK user goes on to the next module */
	{
		char so[512], path[256];
		FILE *f;

		dpk_test_built("pam_dpk/.libs/pam_dpk.so", so, sizeof(so));
		snprintf(path, sizeof(path), "%s/dpk-test", e->pamd);
		f = fopen(path, "w");
		fprintf(f, "auth [success=done user_unknown=ignore default=die] %s socket=%s\nauth required pam_permit.so\n",
		    so, e->host.sock);
		fclose(f);
	}
	pamtester(e, "root", "authenticate", ANSWER_GIVEN, NULL, "", &run);
	expect(&run, 0, "successfully authenticated");
	pamtester(e, "alice.example.org", "authenticate", ANSWER_GIVEN, NULL, "DPK-RESPONSE-v1.AAAA", &run);
	expect(&run, 1, "Authentication failure");
}

static void
test_revoked(void **state)
{
	struct env *e = *state;
	struct pam_run run;
	int64_t t0;

	pamtester(e, "gone.example.org", "authenticate", ANSWER_DEVICE, &e->gone, NULL, &run);
	expect(&run, 0, "successfully authenticated");
	pamtester(e, "gone.example.org", "acct_mgmt", ANSWER_GIVEN, NULL, "", &run);
	expect(&run, 0, "account management done");
	dpk_test_revoke(e->rpc, e->contract, &e->approver, "gone.example.org");
	/* the host agent drops the cached key within its poll interval (200 ms) */
	t0 = dpk_test_now_ms();
	do {
		dpk_test_sleep_ms(300);
		pamtester(e, "gone.example.org", "acct_mgmt", ANSWER_GIVEN, NULL, "", &run);
	} while (run.status == 0 && dpk_test_now_ms() - t0 < 5000);
	expect(&run, 1, "Permission denied");
	/* the device still signs; the host refuses the revoked key */
	pamtester(e, "gone.example.org", "authenticate", ANSWER_DEVICE, &e->gone, NULL, &run);
	expect(&run, 1, "Authentication failure");
}

static void
test_agent_down(void **state)
{
	struct env *e = *state;
	struct pam_run run;

	/* hung: no answer within the module's timeout */
	kill(e->host.pid, SIGSTOP);
	pamtester(e, "alice.example.org", "authenticate", ANSWER_GIVEN, NULL, "", &run);
	expect(&run, 1, "Authentication service cannot retrieve authentication info");
	assert_true(run.elapsed_ms < MODULE_TIMEOUT_MS + 3000);
	kill(e->host.pid, SIGCONT);
	/* stopped: at once */
	dpk_test_agent_stop(&e->host);
	pamtester(e, "alice.example.org", "authenticate", ANSWER_GIVEN, NULL, "", &run);
	expect(&run, 1, "Authentication service cannot retrieve authentication info");
	pamtester(e, "alice.example.org", "acct_mgmt", ANSWER_GIVEN, NULL, "", &run);
	expect(&run, 1, "Authentication service cannot retrieve authentication info");
}

/* The agents' answers asked directly: replay and expiry codes, and what
 * dpkctl respond refuses. */
static void
test_agent_answers(void **state)
{
	struct env *e = *state;
	struct dpk_client_login_challenge ch;
	struct dpk_client *c;
	char resp[600], ident[254], other[600];

	assert_int_equal(dpk_client_open(e->host.sock, 5000, 1, &c), 0);
	assert_int_equal(dpk_client_login_challenge(c, "alice.example.org", "sshd", &ch), 0);
	assert_string_equal(ch.identity, "alice.example.org");
	assert_int_equal(respond(&e->alice, ch.challenge, 0, resp, sizeof(resp)), 0);
	/* another device may not answer for alice */
	assert_int_equal(respond(&e->gone, ch.challenge, 0, other, sizeof(other)), 1);
	/* not a challenge */
	assert_int_equal(respond(&e->alice, "DPK-LOGIN-v1.AAAA", 0, other, sizeof(other)), 1);
	assert_int_equal(dpk_client_login_verify(c, ch.challenge, resp, ident, sizeof(ident)), 0);
	assert_string_equal(ident, "alice.example.org");
	/* single use */
	assert_int_equal(dpk_client_login_verify(c, ch.challenge, resp, ident, sizeof(ident)), DPK_CLIENT_EAGENT);
	assert_int_equal(dpk_client_agent_error(c, NULL), -DPK_ERR_REPLAY);
	/* expired, though answered in time */
	assert_int_equal(dpk_client_login_challenge(c, "alice.example.org", "sshd", &ch), 0);
	assert_int_equal(respond(&e->alice, ch.challenge, 0, resp, sizeof(resp)), 0);
	dpk_test_sleep_ms((LOGIN_TTL_S + 2) * 1000);
	assert_int_equal(dpk_client_login_verify(c, ch.challenge, resp, ident, sizeof(ident)), DPK_CLIENT_EAGENT);
	assert_int_equal(dpk_client_agent_error(c, NULL), -DPK_ERR_EXPIRED);
	/* and the device refuses to answer it now */
	assert_int_equal(respond(&e->alice, ch.challenge, 0, resp, sizeof(resp)), 1);
	/* a service name the agent does not take; a user that is not a DPK user */
	assert_int_equal(dpk_client_login_challenge(c, "alice.example.org", "ss hd", &ch), DPK_CLIENT_EAGENT);
	assert_int_equal(dpk_client_agent_error(c, NULL), -DPK_ERR_SYNTAX);
	assert_int_equal(dpk_client_login_challenge(c, "root", "sshd", &ch), DPK_CLIENT_EAGENT);
	assert_int_equal(dpk_client_agent_error(c, NULL), -DPK_ERR_NOTFOUND);
	dpk_client_close(c);
}

/* The agent keeps at most 1024 challenges, and a flood cannot use them up:
 * with 2000 unanswered challenges from one source (no remote host) every
 * new one is still made, the flood displaces only its own oldest, and a
 * challenge from another remote host survives it and logs in; one remote
 * host keeps at most 64 unanswered (its oldest is then forgotten: unknown
 * to VERIFY); pam_dpk logs in meanwhile; an answered challenge's replay is
 * refused. */
static void
test_pending_bounded(void **state)
{
	struct env *e = *state;
	struct dpk_client_login_challenge ch, first, other, from_host;
	struct dpk_client *c;
	struct pam_run run;
	char resp[600], ident[254];
	int n = 0;

	assert_int_equal(dpk_client_open(e->host.sock, 5000, 1, &c), 0);
	assert_int_equal(dpk_client_login_challenge_from(c, "alice.example.org", "sshd", "198.51.100.7", &other), 0);
	assert_int_equal(dpk_client_login_challenge(c, "alice.example.org", "sshd", &first), 0);
	while (++n < 2000 && dpk_client_login_challenge(c, "alice.example.org", "sshd", &ch) == 0)
		;
	assert_int_equal(n, 2000);
	/* the flood forgot its own oldest */
	assert_int_equal(respond(&e->alice, first.challenge, 0, resp, sizeof(resp)), 0);
	assert_int_equal(dpk_client_login_verify(c, first.challenge, resp, ident, sizeof(ident)), DPK_CLIENT_EAGENT);
	assert_int_equal(dpk_client_agent_error(c, NULL), -DPK_ERR_NOTFOUND);
	/* the other host's challenge is still there */
	assert_int_equal(respond(&e->alice, other.challenge, 0, resp, sizeof(resp)), 0);
	assert_int_equal(dpk_client_login_verify(c, other.challenge, resp, ident, sizeof(ident)), 0);
	assert_string_equal(ident, "alice.example.org");
	assert_int_equal(dpk_client_login_verify(c, other.challenge, resp, ident, sizeof(ident)), DPK_CLIENT_EAGENT);
	assert_int_equal(dpk_client_agent_error(c, NULL), -DPK_ERR_REPLAY);
	/* one remote host: 64 unanswered at most */
	assert_int_equal(dpk_client_login_challenge_from(c, "alice.example.org", "sshd", "203.0.113.9", &from_host), 0);
	for (n = 0; n < 64; n++)
		assert_int_equal(dpk_client_login_challenge_from(c, "alice.example.org", "sshd", "203.0.113.9", &ch), 0);
	assert_int_equal(respond(&e->alice, from_host.challenge, 0, resp, sizeof(resp)), 0);
	assert_int_equal(dpk_client_login_verify(c, from_host.challenge, resp, ident, sizeof(ident)), DPK_CLIENT_EAGENT);
	assert_int_equal(dpk_client_agent_error(c, NULL), -DPK_ERR_NOTFOUND);
	/* what is not a host name counts as none */
	assert_int_equal(dpk_client_login_challenge_from(c, "alice.example.org", "sshd", "a b", &ch), 0);
	assert_int_equal(dpk_client_login_challenge_from(c, "alice.example.org", "sshd", "", &ch), 0);
	/* pam_dpk logs in with the table full */
	pamtester(e, "alice.example.org", "authenticate", ANSWER_DEVICE, &e->alice, NULL, &run);
	expect(&run, 0, "successfully authenticated");
	dpk_client_close(c);
}

/* RSA device keys: a 2048-bit key's response fits PAM's 512 bytes and logs
 * in; a 3072-bit key's cannot, and dpkctl respond says so. */
static void
test_rsa_keys(void **state)
{
	struct env *e = *state;
	struct dpk_test_agent rsa2048 = {0}, rsa3072 = {0};
	struct dpk_client_login_challenge ch;
	struct dpk_client *c;
	struct pam_run run;
	char out[700];

	dpk_test_agent_start(&rsa2048, e->dir, "rsa2048", e->anvil.url, e->contract,
	    "identity = rsa.example.org\nkey_algorithm = rsa2048\n");
	dpk_test_agent_start(&rsa3072, e->dir, "rsa3072", e->anvil.url, e->contract,
	    "identity = alice.example.org\nkey_algorithm = rsa3072\n");
	dpk_test_agent_register(&rsa2048, e->rpc, e->contract, &e->approver, &e->device, "rsa.example.org");
	dpk_test_agent_stop(&e->host);
	dpk_test_agent_start(&e->host, e->dir, "host", e->anvil.url, e->contract,
	    "identity = host.example.org\nnss_allow = alice.example.org\nnss_allow = rsa.example.org\n");
	pamtester(e, "rsa.example.org", "authenticate", ANSWER_DEVICE, &rsa2048, NULL, &run);
	expect(&run, 0, "successfully authenticated");
	assert_true(strlen(run.response) <= 511);

	assert_int_equal(dpk_client_open(e->host.sock, 5000, 1, &c), 0);
	assert_int_equal(dpk_client_login_challenge(c, "alice.example.org", "login", &ch), 0);
	dpk_client_close(c);
	assert_int_equal(respond(&rsa3072, ch.challenge, 0, out, sizeof(out)), 1);
	assert_string_equal(out, "");
	dpk_test_agent_stop(&rsa2048);
	dpk_test_agent_stop(&rsa3072);
}

/* offline_login_max_age: with the chain unreachable (anvil stopped), a
 * user whose record the host verified within that age still logs in and
 * passes the account check; past it, a clear refusal. */
static void
test_offline_login(void **state)
{
	struct env *e = *state;
	struct pam_run run;
	char extra[512], log[16384];
	FILE *f;
	size_t n;

	dpk_test_agent_stop(&e->host);
	snprintf(extra, sizeof(extra), "identity = host.example.org\nnss_allow = alice.example.org\n"
	    "cache_ttl = 1s\nrequest_timeout = 500ms\noffline_login_max_age = 8s\n");
	dpk_test_agent_start(&e->host, e->dir, "host-offline", e->anvil.url, e->contract, extra);
	write_pamd(e, "");
	/* alice's device has polled past the host's registration (setup's):
	 * a poll that sees it later would drop the host's record it caches now */
	dpk_test_sleep_ms(600);
	/* the host verifies alice's record once, with the chain up */
	pamtester(e, "alice.example.org", "authenticate", ANSWER_DEVICE, &e->alice, NULL, &run);
	expect(&run, 0, "successfully authenticated");

	assert_int_equal(kill(e->anvil.pid, SIGSTOP), 0);
	dpk_test_sleep_ms(1500); /* past cache_ttl: the record is stale */
	pamtester(e, "alice.example.org", "authenticate", ANSWER_DEVICE, &e->alice, NULL, &run);
	expect(&run, 0, "successfully authenticated");
	pamtester(e, "alice.example.org", "acct_mgmt", ANSWER_GIVEN, NULL, "", &run);
	expect(&run, 0, "account management done");
	/* the agent says the answer was stale */
	assert_non_null(f = fopen(e->host.log, "r"));
	n = fread(log, 1, sizeof(log) - 1, f);
	log[n] = '\0';
	fclose(f);
	assert_non_null(strstr(log, "(the chain is unreachable; offline_login_max_age)"));

	dpk_test_sleep_ms(8000); /* past offline_login_max_age */
	pamtester(e, "alice.example.org", "acct_mgmt", ANSWER_GIVEN, NULL, "", &run);
	assert_int_not_equal(run.status, 0);
	pamtester(e, "alice.example.org", "authenticate", ANSWER_DEVICE, &e->alice, NULL, &run);
	assert_int_not_equal(run.status, 0);
	/* the refusal says why */
	struct dpk_client *c;
	const char *msg = NULL;
	uint8_t status;
	char ident[254];

	assert_int_equal(dpk_client_open(e->host.sock, 5000, 0, &c), 0);
	assert_int_equal(dpk_client_login_account(c, "alice.example.org", &status, ident, sizeof(ident)), DPK_CLIENT_EAGENT);
	dpk_client_agent_error(c, &msg);
	assert_non_null(strstr(msg, "longer ago than offline_login_max_age (8 s)"));
	dpk_client_close(c);
	assert_int_equal(kill(e->anvil.pid, SIGCONT), 0);
}

/* dpkctl respond as a person runs it: without --yes, in its own session;
 * with answer, on a pty that is its controlling terminal, answering answer
 * once it asks; without, with no terminal at all. */
struct respond_run {
	int status;
	char out[1024], err[2048], tty[2048];
};

static void
append(int fd, char *buf, size_t cap, int *open_)
{
	size_t len = strlen(buf);
	ssize_t n = read(fd, buf + len, cap - 1 - len);

	if (n <= 0) {
		*open_ = 0;
		return;
	}
	buf[len + (size_t)n] = '\0';
}

static void
respond_tty(const struct dpk_test_agent *p, const char *challenge, const char *answer, struct respond_run *run)
{
	char prog[512], slave[128] = "";
	int op[2], ep[2], master = -1, keep = -1, out_open = 1, err_open = 1, answered = 0, wstatus;
	int64_t t0 = dpk_test_now_ms();
	pid_t pid;

	memset(run, 0, sizeof(*run));
	dpk_test_built("dpkctl/dpkctl", prog, sizeof(prog));
	assert_int_equal(pipe2(op, O_CLOEXEC), 0);
	assert_int_equal(pipe2(ep, O_CLOEXEC), 0);
	if (answer != NULL) {
		assert_true((master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) >= 0);
		assert_int_equal(grantpt(master), 0);
		assert_int_equal(unlockpt(master), 0);
		assert_int_equal(ptsname_r(master, slave, sizeof(slave)), 0);
		/* held open here so that the master never reads EIO before the child opens it */
		assert_true((keep = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC)) >= 0);
	}
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		int in;

		setsid(); /* no controlling terminal, unless the pty becomes it */
		if (answer != NULL) {
			if ((in = open(slave, O_RDWR)) < 0 || ioctl(in, TIOCSCTTY, 0) != 0)
				_exit(126);
		} else if ((in = open("/dev/null", O_RDONLY)) < 0) {
			_exit(126);
		}
		dup2(in, 0);
		dup2(op[1], 1);
		dup2(ep[1], 2);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(prog, prog, "--socket", p->sock, "respond", challenge, (char *)NULL);
		_exit(127);
	}
	close(op[1]);
	close(ep[1]);
	while ((out_open || err_open) && dpk_test_now_ms() - t0 < 20000) {
		struct pollfd pf[3] = {{op[0], out_open ? POLLIN : 0, 0}, {ep[0], err_open ? POLLIN : 0, 0},
		    {master, POLLIN, 0}};

		if (poll(pf, answer != NULL ? 3 : 2, 500) <= 0)
			continue;
		if (pf[0].revents != 0)
			append(op[0], run->out, sizeof(run->out), &out_open);
		if (pf[1].revents != 0)
			append(ep[0], run->err, sizeof(run->err), &err_open);
		if (answer != NULL && (pf[2].revents & POLLIN) != 0) {
			int tty_open = 1;

			append(master, run->tty, sizeof(run->tty), &tty_open);
			if (!answered && strstr(run->tty, "[y/N] ") != NULL) {
				assert_int_equal(write(master, answer, strlen(answer)), (ssize_t)strlen(answer));
				answered = 1;
			}
		}
	}
	kill(pid, SIGKILL); /* only if still running after 20 s */
	assert_int_equal(waitpid(pid, &wstatus, 0), pid);
	run->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
	close(op[0]);
	close(ep[0]);
	if (master >= 0) {
		close(master);
		close(keep);
	}
	print_message("dpkctl respond (%s) -> %d\nstdout: %s\nstderr: %s\ntty: %s\n",
	    answer != NULL ? "on a pty" : "no terminal", run->status, run->out, run->err, run->tty);
}

/* Relaying: a host shows its user a challenge it got from another host and
 * passes the response on. The device says which host asks before it signs,
 * and answers no host that is not registered and active on chain. */
static void
test_host_checked(void **state)
{
	struct env *e = *state;
	struct dpk_test_agent rogue = {0};
	struct dpk_client_login_challenge ch;
	struct dpk_client_login_response d;
	struct dpk_client *hc, *dc;
	const char *msg = NULL;
	char resp[600];
	int64_t t0;
	int r;

	/* the host's challenge reply names the host */
	assert_int_equal(dpk_client_open(e->host.sock, 5000, 1, &hc), 0);
	assert_int_equal(dpk_client_login_challenge(hc, "alice.example.org", "sshd", &ch), 0);
	assert_string_equal(ch.host, "host.example.org");
	/* describe: host, user, service and expiry, and nothing signed */
	assert_int_equal(dpk_client_open(e->alice.sock, 5000, 0, &dc), 0);
	assert_int_equal(dpk_client_login_describe(dc, ch.challenge, &d), 0);
	assert_string_equal(d.host, "host.example.org");
	assert_string_equal(d.user, "alice.example.org");
	assert_string_equal(d.service, "sshd");
	assert_int_equal(d.expiry, ch.expiry);
	assert_string_equal(d.response, "");
	/* dpkctl respond --yes says the same before the response */
	{
		char prog[512];
		struct dpk_buf o;

		dpk_test_built("dpkctl/dpkctl", prog, sizeof(prog));
		char *argv[] = {prog, (char *)"--socket", (char *)e->alice.sock, (char *)"respond", (char *)"-y",
		    ch.challenge, NULL};
		/* stderr to stdout: what the user reads, then the response */
		char *sh[] = {(char *)"/bin/sh", (char *)"-c", (char *)"exec \"$@\" 2>&1", (char *)"sh", argv[0], argv[1],
		    argv[2], argv[3], argv[4], argv[5], NULL};
		assert_int_equal(dpk_test_run(sh, NULL, &o), 0);
		dpk_buf_put(&o, "", 1);
		assert_non_null(strstr((char *)o.data, "Host host.example.org asks to log you in as alice.example.org for sshd"));
		assert_non_null(strstr((char *)o.data, "\n" DPK_LOGIN_RESPONSE_PREFIX));
		dpk_buf_free(&o);
	}
	dpk_client_close(hc);

	/* a host whose identity nobody registered: refused in both modes, with a reason */
	dpk_test_agent_start(&rogue, e->dir, "rogue", e->anvil.url, e->contract,
	    "identity = rogue.example.org\nnss_allow = alice.example.org\n");
	assert_int_equal(dpk_client_open(rogue.sock, 5000, 1, &hc), 0);
	assert_int_equal(dpk_client_login_challenge(hc, "alice.example.org", "sshd", &ch), 0);
	assert_string_equal(ch.host, "rogue.example.org");
	assert_int_equal(dpk_client_login_describe(dc, ch.challenge, &d), DPK_CLIENT_EAGENT);
	assert_int_equal(dpk_client_agent_error(dc, &msg), -DPK_ERR_NOTFOUND);
	assert_non_null(strstr(msg, "rogue.example.org"));
	assert_non_null(strstr(msg, "is not registered on chain"));
	assert_string_equal(d.host, "");
	assert_int_equal(dpk_client_login_respond(dc, ch.challenge, &d), DPK_CLIENT_EAGENT);
	assert_int_equal(dpk_client_agent_error(dc, NULL), -DPK_ERR_NOTFOUND);
	assert_string_equal(d.response, "");
	assert_int_equal(respond(&e->alice, ch.challenge, 0, resp, sizeof(resp)), 1);
	assert_string_equal(resp, "");
	dpk_client_close(hc);
	dpk_test_agent_stop(&rogue);

	/* a request in the old form (the challenge alone) or with another mode: malformed */
	{
		uint8_t req[600], reply[1024], rtype;
		size_t n = strlen(ch.challenge), rn;
		const uint32_t be = htonl((uint32_t)n);

		memcpy(req, &be, 4);
		memcpy(req + 4, ch.challenge, n);
		assert_int_equal(dpk_client_call(dc, 0x0c, req, 4 + n, &rtype, reply, sizeof(reply), &rn), DPK_CLIENT_EAGENT);
		assert_int_equal(dpk_client_agent_error(dc, NULL), -DPK_ERR_SYNTAX);
		req[4 + n] = 2;
		assert_int_equal(dpk_client_call(dc, 0x0c, req, 5 + n, &rtype, reply, sizeof(reply), &rn), DPK_CLIENT_EAGENT);
		assert_int_equal(dpk_client_agent_error(dc, NULL), -DPK_ERR_SYNTAX);
	}

	/* the host's key revoked: the device stops answering it within its poll interval */
	assert_int_equal(dpk_client_open(e->host.sock, 5000, 1, &hc), 0);
	assert_int_equal(dpk_client_login_challenge(hc, "alice.example.org", "sshd", &ch), 0);
	assert_int_equal(dpk_client_login_describe(dc, ch.challenge, &d), 0);
	dpk_test_revoke(e->rpc, e->contract, &e->approver, "host.example.org");
	t0 = dpk_test_now_ms();
	while ((r = dpk_client_login_describe(dc, ch.challenge, &d)) == 0 && dpk_test_now_ms() - t0 < 5000)
		dpk_test_sleep_ms(200);
	assert_int_equal(r, DPK_CLIENT_EAGENT);
	assert_int_equal(dpk_client_agent_error(dc, &msg), -DPK_ERR_REVOKED);
	assert_non_null(strstr(msg, "host.example.org"));
	assert_int_equal(dpk_client_login_respond(dc, ch.challenge, &d), DPK_CLIENT_EAGENT);
	assert_int_equal(dpk_client_agent_error(dc, NULL), -DPK_ERR_REVOKED);
	dpk_client_close(hc);
	dpk_client_close(dc);
}

/* dpkctl respond asks before it signs: on the terminal, "n" signs nothing
 * and "y" signs; with no terminal and no --yes it refuses and says why. */
static void
test_respond_confirm(void **state)
{
	struct env *e = *state;
	struct dpk_client_login_challenge ch;
	struct respond_run run;
	struct dpk_client *c;
	char ident[254];

	assert_int_equal(dpk_client_open(e->host.sock, 5000, 1, &c), 0);
	assert_int_equal(dpk_client_login_challenge(c, "alice.example.org", "sshd", &ch), 0);

	respond_tty(&e->alice, ch.challenge, NULL, &run);
	assert_int_equal(run.status, 1);
	assert_string_equal(run.out, "");
	assert_non_null(strstr(run.err, "no terminal"));
	assert_non_null(strstr(run.err, "--yes"));

	respond_tty(&e->alice, ch.challenge, "n\n", &run);
	assert_int_equal(run.status, 1);
	assert_string_equal(run.out, "");
	assert_non_null(strstr(run.tty, "Host host.example.org asks to log you in as alice.example.org for sshd"));
	assert_non_null(strstr(run.err, "not signed"));
	respond_tty(&e->alice, ch.challenge, "\n", &run); /* the default is no */
	assert_int_equal(run.status, 1);
	assert_string_equal(run.out, "");

	/* a new challenge: the first may expire (login_challenge_ttl 3 s) */
	assert_int_equal(dpk_client_login_challenge(c, "alice.example.org", "sshd", &ch), 0);
	respond_tty(&e->alice, ch.challenge, "y\n", &run);
	assert_int_equal(run.status, 0);
	assert_non_null(strstr(run.tty, "Host host.example.org asks to log you in as alice.example.org for sshd"));
	assert_true(strncmp(run.out, DPK_LOGIN_RESPONSE_PREFIX, strlen(DPK_LOGIN_RESPONSE_PREFIX)) == 0);
	run.out[strcspn(run.out, "\n")] = '\0';
	assert_int_equal(dpk_client_login_verify(c, ch.challenge, run.out, ident, sizeof(ident)), 0);
	assert_string_equal(ident, "alice.example.org");
	dpk_client_close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_login, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_dpk_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rsa_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offline_login, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_respond_confirm, setup, teardown),
	};

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	if (getenv("DPK_TEST_ONLY") != NULL) /* slow-blocks.sh: test_login alone, with 12 s blocks */
		cmocka_set_test_filter(getenv("DPK_TEST_ONLY"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
