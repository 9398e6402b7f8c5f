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
#include "base/err.h"
#include "agent.h"
#include "harness.h"
#include "registry/registry.h"
#include "sshd.h"

enum { HOST, ALICE, GONE, UNREG, OUTSIDE, N_AGENTS };
static const char *const identities[N_AGENTS] = {"host.example.org", "alice.example.org", "gone.example.org",
    "unregistered.example.org", "outside.example.net"};

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, approver, device;
	uint8_t contract[20];
	char dir[64], askpass[128];
	struct dpk_test_agent ag[N_AGENTS];
	struct dpk_test_sshd sshd;
};

/* sshd (sshd.h) with the test pam.d (pam_dpk for auth and account) over
 * /etc/pam.d, keyboard-interactive only. */
static void
start_sshd(struct env *e)
{
	char path[256];
	FILE *f;

	dpk_test_sshd_prepare(&e->sshd, e->dir, 0);
	snprintf(path, sizeof(path), "%s/pam.d", e->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/pam.d/sshd", e->dir);
	f = fopen(path, "w");
	fprintf(f, "auth required /run/dpk-build/pam_dpk/.libs/pam_dpk.so socket=%s timeout=5000\n"
	    "account required /run/dpk-build/pam_dpk/.libs/pam_dpk.so socket=%s timeout=5000\n"
	    "session required pam_permit.so\npassword required pam_deny.so\n", e->ag[HOST].sock, e->ag[HOST].sock);
	fclose(f);
	dpk_test_sshd_start(&e->sshd, "UsePAM yes\n"
	    "KbdInteractiveAuthentication yes\nPubkeyAuthentication no\nPasswordAuthentication no\n"
	    "AuthenticationMethods keyboard-interactive\nAuthorizedKeysFile none\nLogLevel VERBOSE\n",
	    "pam_dpk/.libs/pam_dpk.so", e->ag[HOST].sock, "mount --bind \"$1/pam.d\" /etc/pam.d");
}

/* The askpass program: the challenge out of the prompt, answered by the
 * user's own agent ($DPK_USER_SOCKET) without asking (--yes: askpass has
 * no terminal). */
static void
write_askpass(struct env *e)
{
	char dpkctl[512];
	FILE *f;

	dpk_test_built("dpkctl/dpkctl", dpkctl, sizeof(dpkctl));
	snprintf(e->askpass, sizeof(e->askpass), "%s/askpass", e->dir);
	f = fopen(e->askpass, "w");
	fprintf(f, "#!/bin/sh\n"
	    "ch=$(printf '%%s\\n' \"$1\" | grep -o 'DPK-LOGIN-v1\\.[A-Za-z0-9_-]*' | head -n 1)\n"
	    "[ -n \"$ch\" ] || { echo \"askpass: no DPK challenge in: $1\" >&2; exit 1; }\n"
	    "exec %s --socket \"$DPK_USER_SOCKET\" respond --yes \"$ch\"\n", dpkctl);
	fclose(f);
	assert_int_equal(chmod(e->askpass, 0755), 0);
}

/* A stock ssh client, keyboard-interactive only, answering through askpass
 * with the agent of device: its exit status (255 when refused); the remote
 * command's stdout, chomped, in out. */
static int
ssh_login(struct env *e, const char *user, int device, char *out, size_t outsz)
{
	setenv("SSH_ASKPASS", e->askpass, 1);
	setenv("SSH_ASKPASS_REQUIRE", "force", 1);
	setenv("DPK_USER_SOCKET", e->ag[device].sock, 1);
	char *opts[] = {(char *)"-o", (char *)"PreferredAuthentications=keyboard-interactive", (char *)"-o",
	    (char *)"PubkeyAuthentication=no", (char *)"-o", (char *)"IdentityAgent=none", (char *)"-o",
	    (char *)"NumberOfPasswordPrompts=1", NULL};
	return dpk_test_ssh_id(&e->sshd, NULL, opts, user, out, outsz);
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	dpk_test_chain_up(&e->anvil, &e->rpc, &e->owner, &e->approver, &e->device, e->contract);
	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	/* the session's `id` (as the user) must reach the host agent's socket */
	assert_int_equal(chmod(e->dir, 0711), 0);

	dpk_test_agent_start(&e->ag[HOST], e->dir, "host", e->anvil.url, e->contract, "identity = host.example.org\nnss_allow = alice.example.org\n"
	    "nss_allow = gone.example.org\nnss_allow = unregistered.example.org\n");
	for (int i = ALICE; i < N_AGENTS; i++) {
		char extra[128];

		snprintf(extra, sizeof(extra), "identity = %s\n", identities[i]);
		dpk_test_agent_start(&e->ag[i], e->dir, identities[i], e->anvil.url, e->contract, extra);
		if (i != UNREG)
			dpk_test_agent_register(&e->ag[i], e->rpc, e->contract, &e->approver, &e->device, identities[i]);
	}
	/* devices answer only hosts registered on chain */
	dpk_test_agent_register(&e->ag[HOST], e->rpc, e->contract, &e->approver, &e->device, "host.example.org");
	write_askpass(e);
	start_sshd(e);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	dpk_test_sshd_stop(&e->sshd);
	for (int i = 0; i < N_AGENTS; i++)
		dpk_test_agent_stop(&e->ag[i]);
	dpk_test_chain_down(&e->anvil, e->rpc);
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
		fail_msg("ssh login failed (see %s and %s)", e->sshd.log, e->ag[HOST].log);
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
