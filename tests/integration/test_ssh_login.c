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

#include "err.h"
#include "chain.h"
#include "harness.h"
#include "hex.h"
#include "identity.h"
#include "idkey.h"
#include "registry.h"
#include "sshd.h"
#include "txsend.h"

#define APPROVER_KEY DPK_TEST_APPROVER_KEY
#define DEVICE_KEY DPK_TEST_DEVICE_KEY

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, approver, device;
	uint8_t contract[20];
	char dir[64], conf[128], sock[128], log[128];
	pid_t agent;
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

static void
start_agent(struct env *e)
{
	char agent[512], addr[43];
	FILE *f = fopen(e->conf, "w");

	dpk_wallet_address_format(e->contract, addr);
	fprintf(f, "rpc_url = %s\nchain_id = %d\ncontract = %s\nstate_dir = %s/state\nsocket = %s\n"
	    "cache_ttl = 60s\nnegative_cache_ttl = 60s\npoll_interval = 200ms\nrpc_timeout = 500ms\n"
	    "request_timeout = 1500ms\n"
	    "nss_allow = alice.example.org\nnss_allow = rsa.example.org\nnss_allow = gone.example.org\n",
	    e->anvil.url, DPK_TEST_CHAIN_ID, addr, e->dir, e->sock);
	fclose(f);
	dpk_test_built("dpk-agent/dpk-agent", agent, sizeof(agent));
	char *argv[] = {agent, (char *)"-c", e->conf, NULL};
	e->agent = dpk_test_spawn(argv, e->log);
	if (dpk_test_wait_path(e->sock, 20000) != 0)
		fail_msg("dpk-agent did not start (see %s)", e->log);
}

static void
stop_agent(struct env *e)
{
	if (e->agent > 0) {
		kill(e->agent, SIGKILL);
		waitpid(e->agent, NULL, 0);
		e->agent = 0;
	}
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* A new identity key saved (PKCS#8 PEM, 0600) as dir/NAME.pem, where ssh -i
 * reads it; its on-chain public key in pub. */
static void
new_key(struct env *e, enum dpk_idkey_alg alg, const char *name, struct dpk_buf *pub)
{
	struct dpk_idkey *k;
	char path[256];

	snprintf(path, sizeof(path), "%s/%s.pem", e->dir, name);
	assert_int_equal(dpk_idkey_generate(alg, alg == DPK_IDKEY_RSA ? 2048 : 0, &k), 0);
	assert_int_equal(dpk_idkey_save(k, path), 0);
	dpk_buf_init(pub, 4096);
	assert_int_equal(dpk_idkey_public_onchain(k, pub), 0);
	dpk_idkey_free(k);
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
	    e->sock);
	dpk_test_sshd_start(&e->sshd, config, "nss_dpk/.libs/libnss_dpk.so.2", e->sock, "");
}

/* A stock ssh client, public key only: its exit status (255 when refused);
 * the remote command's stdout, chomped, in out. */
static int
ssh_login(struct env *e, const char *user, const char *keyname, char *out, size_t outsz)
{
	char key[256], port[16], dest[300];

	snprintf(key, sizeof(key), "%s/%s.pem", e->dir, keyname);
	snprintf(port, sizeof(port), "%d", e->sshd.port);
	snprintf(dest, sizeof(dest), "%s@127.0.0.1", user);
	char *argv[] = {(char *)"/usr/bin/ssh", (char *)"-F", (char *)"/dev/null", (char *)"-i", key, (char *)"-p", port,
	    (char *)"-o", (char *)"IdentitiesOnly=yes", (char *)"-o", (char *)"IdentityAgent=none",
	    (char *)"-o", (char *)"BatchMode=yes", (char *)"-o", (char *)"PreferredAuthentications=publickey",
	    (char *)"-o", (char *)"StrictHostKeyChecking=no", (char *)"-o", (char *)"UserKnownHostsFile=/dev/null",
	    (char *)"-o", (char *)"ConnectTimeout=10", (char *)"-o", (char *)"LogLevel=ERROR",
	    dest, (char *)"id", (char *)"-un", NULL};
	return dpk_test_run_chomped(argv, out, outsz);
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	const char *url;
	struct dpk_buf gone, outside;

	dpk_test_anvil_start(&e->anvil, NULL);
	url = e->anvil.url;
	assert_int_equal(dpk_rpc_new(&e->rpc, &url, 1, NULL), 0);
	dpk_test_wallet(DPK_TEST_DEV_KEY, &e->owner);
	dpk_test_wallet(APPROVER_KEY, &e->approver);
	dpk_test_wallet(DEVICE_KEY, &e->device);
	dpk_test_deploy(e->rpc, &e->owner, &e->approver, e->contract);

	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	/* nobody (AuthorizedKeysCommandUser) must reach the agent's socket */
	assert_int_equal(chmod(e->dir, 0711), 0);
	snprintf(e->conf, sizeof(e->conf), "%s/dpk.conf", e->dir);
	snprintf(e->sock, sizeof(e->sock), "%s/agent.sock", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/agent.log", e->dir);

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
	stop_agent(e);
	dpk_test_anvil_stop(&e->anvil);
	dpk_rpc_free(e->rpc);
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
	t0 = now_ms();
	/* until refused: a login racing the revocation may still pass sshd's
	 * key check and then find the user gone (the session's id exits 1) */
	while (now_ms() - t0 < 5000 && (rc = ssh_login(e, "gone.example.org", "gone", out, sizeof(out))) != 255)
		sleep_ms(200);
	assert_int_equal(rc, 255);
	assert_string_equal(out, "");
	/* the agent stopped: DPK logins fail, and fast */
	stop_agent(e);
	t0 = now_ms();
	assert_int_equal(ssh_login(e, "alice.example.org", "alice", out, sizeof(out)), 255);
	assert_true(now_ms() - t0 < 5000);
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
