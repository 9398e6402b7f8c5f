/* Stock sshd and ssh with DPK identities, end to end: a real anvil with
 * the registry, a real dpk-agent, and /usr/sbin/sshd on a free loopback
 * port in a private mount namespace (unshare -m) where a test
 * nsswitch.conf resolves passwd through the built nss_dpk and a tmpfs on
 * /run holds sshd's privilege separation directory; the machine's /etc and
 * /run never change. sshd's AuthorizedKeysCommand is the built
 * dpk-authorized-keys, run as nobody as the man page says.
 *
 * Covered: a registered identity logs in by public key with a stock
 * `ssh -i` and runs `id -un`; an identity outside the policy, a revoked
 * identity and a wrong key are refused; with the agent stopped the DPK login
 * fails within a few seconds. */
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

#include "agent.h"
#include "base/err.h"
#include "chain.h"
#include "harness.h"
#include "base/hex.h"
#include "registry/identity.h"
#include "crypto/idkey.h"
#include "registry/registry.h"
#include "sshd.h"
#include "eth/txsend.h"

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, approver, device;
	uint8_t contract[20];
	char dir[64];
	struct dpk_test_agent agent;
	struct dpk_test_sshd sshd;
	struct dpk_buf p256, rsa; /* on-chain public keys */
};

static void
register_identity(struct env *e, const char *text, uint8_t alg, const struct dpk_buf *pub)
{
	dpk_test_register(e->rpc, e->contract, &e->approver, &e->device, text, alg, pub->data, pub->len);
}

static void
revoke_identity(struct env *e, const char *text)
{
	dpk_test_revoke(e->rpc, e->contract, &e->approver, text);
}

/* The agent (socket dir/agent.sock), admitting the test's identities. */
static void
start_agent(struct env *e)
{
	dpk_test_agent_start(&e->agent, e->dir, "agent", e->anvil.url, e->contract,
	    "nss_allow = alice.example.org\nnss_allow = rsa.example.org\nnss_allow = gone.example.org\n");
}

/* A new identity key saved (PKCS#8 PEM, 0600) as dir/NAME.pem, where ssh -i
 * reads it; its on-chain public key in pub. */
static void
new_key(struct env *e, enum dpk_idkey_alg alg, const char *name, struct dpk_buf *pub)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s.pem", e->dir, name);
	dpk_test_new_key(path, alg, pub);
}

/* sshd (sshd.h) whose AuthorizedKeysCommand is the built
 * dpk-authorized-keys, run as nobody. */
static void
start_sshd(struct env *e)
{
	char config[512];

	dpk_test_sshd_prepare(&e->sshd, e->dir, 0);
	snprintf(config, sizeof(config), "UsePAM no\n"
	    "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
	    "AuthorizedKeysFile none\n"
	    "AuthorizedKeysCommand /run/dpk-build/ssh/dpk-authorized-keys -s %s %%u\nAuthorizedKeysCommandUser nobody\n"
	    "LogLevel VERBOSE\n",
	    e->agent.sock);
	dpk_test_sshd_start(&e->sshd, config, "nss_dpk/.libs/libnss_dpk.so.2", e->agent.sock, "");
}

/* A stock ssh client, public key only: its exit status (255 when refused);
 * the remote command's stdout, chomped, in out. */
static int
ssh_login(struct env *e, const char *user, const char *keyname, char *out, size_t outsz)
{
	char key[256];

	snprintf(key, sizeof(key), "%s/%s.pem", e->dir, keyname);
	char *opts[] = {(char *)"-i", key, (char *)"-o", (char *)"IdentitiesOnly=yes", (char *)"-o",
	    (char *)"IdentityAgent=none", (char *)"-o", (char *)"BatchMode=yes", (char *)"-o",
	    (char *)"PreferredAuthentications=publickey", NULL};
	return dpk_test_ssh_id(&e->sshd, NULL, opts, user, out, outsz);
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct dpk_buf gone, outside;

	dpk_test_chain_up(&e->anvil, &e->rpc, &e->owner, &e->approver, &e->device, e->contract);

	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	/* nobody (AuthorizedKeysCommandUser) must reach the agent's socket */
	assert_int_equal(chmod(e->dir, 0711), 0);

	new_key(e, DPK_IDKEY_P256, "alice", &e->p256);
	new_key(e, DPK_IDKEY_RSA, "rsa", &e->rsa);
	new_key(e, DPK_IDKEY_P256, "gone", &gone);
	new_key(e, DPK_IDKEY_P256, "outside", &outside);
	register_identity(e, "alice.example.org", DPK_REGISTRY_ALG_P256, &e->p256);
	register_identity(e, "rsa.example.org", DPK_REGISTRY_ALG_RSA, &e->rsa);
	register_identity(e, "gone.example.org", DPK_REGISTRY_ALG_P256, &gone);
	register_identity(e, "outside.example.net", DPK_REGISTRY_ALG_P256, &outside);
	dpk_buf_free(&gone);
	dpk_buf_free(&outside);
	start_agent(e);
	start_sshd(e);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	dpk_test_sshd_stop(&e->sshd);
	dpk_test_agent_stop(&e->agent);
	dpk_test_chain_down(&e->anvil, e->rpc);
	dpk_buf_free(&e->p256);
	dpk_buf_free(&e->rsa);
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

static void
test_login_by_public_key(void **state)
{
	struct env *e = *state;
	char out[1024];

	if (ssh_login(e, "alice.example.org", "alice", out, sizeof(out)) != 0)
		fail_msg("ssh login failed (see %s)", e->sshd.log);
	assert_string_equal(out, "alice.example.org");
	assert_int_equal(ssh_login(e, "rsa.example.org", "rsa", out, sizeof(out)), 0);
	assert_string_equal(out, "rsa.example.org");
}

static void
test_refused(void **state)
{
	struct env *e = *state;
	char out[1024];
	int64_t t0;
	int rc = 0;

	/* another identity's key; an identity outside the policy */
	assert_int_equal(ssh_login(e, "alice.example.org", "gone", out, sizeof(out)), 255);
	assert_int_equal(ssh_login(e, "outside.example.net", "outside", out, sizeof(out)), 255);
	/* revoked: refused within the poll interval (200 ms; cache_ttl 60 s) */
	assert_int_equal(ssh_login(e, "gone.example.org", "gone", out, sizeof(out)), 0);
	assert_string_equal(out, "gone.example.org");
	revoke_identity(e, "gone.example.org");
	t0 = dpk_test_now_ms();
	/* until refused: a login racing the revocation may still pass sshd's
	 * key check and then find the user gone (the session's id exits 1) */
	while (dpk_test_now_ms() - t0 < 5000 && (rc = ssh_login(e, "gone.example.org", "gone", out, sizeof(out))) != 255)
		dpk_test_sleep_ms(200);
	assert_int_equal(rc, 255);
	assert_string_equal(out, "");
	/* the agent stopped: DPK logins fail, and fast */
	dpk_test_agent_stop(&e->agent);
	t0 = dpk_test_now_ms();
	assert_int_equal(ssh_login(e, "alice.example.org", "alice", out, sizeof(out)), 255);
	assert_true(dpk_test_now_ms() - t0 < 5000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_login_by_public_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	};

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
