/* dpk-agent lookups against a real anvil with the registry deployed:
 * active, unknown and malformed identities; the cache; a revocation seen
 * through the contract's events within one poll interval, long before the
 * cache TTL; the chain stopped (SIGSTOP) and resumed: stale answers, bounded
 * waits, recovery. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dpk/client.h"
#include "base/err.h"
#include "chain.h"
#include "harness.h"
#include "base/hex.h"
#include "registry/identity.h"
#include "crypto/idkey.h"
#include "registry/registry.h"
#include "eth/txsend.h"

#define APPROVER_KEY DPK_TEST_APPROVER_KEY
#define DEVICE_KEY DPK_TEST_DEVICE_KEY

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, approver, device;
	uint8_t contract[20];
	char dir[64], conf[128], sock[128], log[128];
	pid_t agent;
	uint8_t pub[65];
};

static void
send_or_fail(struct env *e, const struct dpk_wallet *from, struct dpk_buf *data)
{
	dpk_test_send(e->rpc, e->contract, from, data);
}

/* One-transaction registration of text for the device wallet. */
static void
register_identity(struct env *e, const char *text)
{
	dpk_test_register(e->rpc, e->contract, &e->approver, &e->device, text, DPK_REGISTRY_ALG_P256, e->pub, 65);
}

static void
start_agent_ttl(struct env *e, const char *ttl)
{
	char agent[512], addr[43];
	FILE *f = fopen(e->conf, "w");

	dpk_wallet_address_format(e->contract, addr);
	fprintf(f, "rpc_url = %s\nchain_id = %d\ncontract = %s\nstate_dir = %s/state\nsocket = %s\n"
	    "cache_ttl = %s\nnegative_cache_ttl = 60s\npoll_interval = 200ms\nrpc_timeout = 500ms\n"
	    "request_timeout = 1500ms\n",
	    e->anvil.url, DPK_TEST_CHAIN_ID, addr, e->dir, e->sock, ttl);
	fclose(f);
	dpk_test_built("dpk-agent/dpk-agent", agent, sizeof(agent));
	char *argv[] = {agent, (char *)"-c", e->conf, NULL};
	e->agent = dpk_test_spawn(argv, e->log);
	if (dpk_test_wait_path(e->sock, 20000) != 0)
		fail_msg("dpk-agent did not start (see %s)", e->log);
}

static void
start_agent(struct env *e)
{
	start_agent_ttl(e, "60s");
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	const char *url;
	struct dpk_idkey *k;
	struct dpk_buf pub;

	dpk_test_anvil_start(&e->anvil, NULL);
	url = e->anvil.url;
	assert_int_equal(dpk_rpc_new(&e->rpc, &url, 1, NULL), 0);
	dpk_test_wallet(DPK_TEST_DEV_KEY, &e->owner);
	dpk_test_wallet(APPROVER_KEY, &e->approver);
	dpk_test_wallet(DEVICE_KEY, &e->device);
	dpk_test_deploy(e->rpc, &e->owner, &e->approver, e->contract);

	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_P256, 0, &k), 0);
	dpk_buf_init(&pub, 4096);
	assert_int_equal(dpk_idkey_public_onchain(k, &pub), 0);
	memcpy(e->pub, pub.data, 65);
	dpk_buf_free(&pub);
	dpk_idkey_free(k);

	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	snprintf(e->conf, sizeof(e->conf), "%s/dpk.conf", e->dir);
	snprintf(e->sock, sizeof(e->sock), "%s/agent.sock", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/agent.log", e->dir);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	if (e->agent > 0) {
		kill(e->agent, SIGKILL);
		waitpid(e->agent, NULL, 0);
	}
	kill(e->anvil.pid, SIGCONT);
	dpk_test_anvil_stop(&e->anvil);
	dpk_rpc_free(e->rpc);
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

static int
lookup(struct env *e, const char *text, struct dpk_client_record *rec, const char **msg)
{
	struct dpk_client *c;
	int r;

	/* the client waits longer than the agent's request_timeout: an agent that
	 * blocked would show up as ETIMEOUT here, not as an answer */
	assert_int_equal(dpk_client_open(e->sock, 5000, 0, &c), 0);
	r = dpk_client_lookup(c, text, rec);
	if (msg != NULL) {
		static char saved[512];
		const char *m = "";

		dpk_client_agent_error(c, &m);
		snprintf(saved, sizeof(saved), "%s", m);
		*msg = saved;
	}
	dpk_client_close(c);
	return r;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void
test_lookups(void **state)
{
	struct env *e = *state;
	struct dpk_client_record rec;
	const char *msg;

	register_identity(e, "peer.example.org");
	start_agent(e);

	assert_int_equal(lookup(e, "Peer.Example.ORG.", &rec, NULL), 0);
	assert_int_equal(rec.status, 1);
	assert_string_equal(rec.identity, "peer.example.org");
	assert_int_equal(rec.kind, 1);
	assert_int_equal(rec.algorithm, 1);
	assert_int_equal(rec.publen, 65);
	assert_memory_equal(rec.pubkey, e->pub, 65);
	assert_true(rec.has_controller);
	assert_memory_equal(rec.controller, e->device.addr, 20);
	assert_int_equal(rec.version, 1);
	assert_false(rec.stale);
	dpk_client_record_free(&rec);

	/* unknown: a clear "not registered", then from the negative cache */
	assert_int_equal(lookup(e, "nobody.example.org", &rec, NULL), 0);
	assert_int_equal(rec.status, 0);
	assert_null(rec.pubkey);
	dpk_client_record_free(&rec);
	sleep_ms(50);
	assert_int_equal(lookup(e, "nobody.example.org", &rec, NULL), 0);
	assert_int_equal(rec.status, 0);
	assert_true(rec.age_ms >= 50);
	dpk_client_record_free(&rec);

	/* not an identity */
	assert_int_equal(lookup(e, "no spaces allowed", &rec, &msg), DPK_CLIENT_EAGENT);
	assert_non_null(strstr(msg, "is not a DPK identity"));
}

static void
test_revocation_seen_through_events(void **state)
{
	struct env *e = *state;
	struct dpk_client_record rec;
	struct dpk_identity id;
	struct dpk_buf data;
	uint8_t h[32];

	register_identity(e, "10.1.2.3");
	start_agent(e);
	assert_int_equal(lookup(e, "10.1.2.3", &rec, NULL), 0);
	assert_int_equal(rec.status, 1);
	dpk_client_record_free(&rec);

	/* the approver revokes; the cache TTL is 60 s, the poll interval 200 ms */
	assert_int_equal(dpk_identity_parse("10.1.2.3", 8, &id), 0);
	assert_int_equal(dpk_identity_hash(&id, h), 0);
	dpk_buf_init(&data, 4096);
	assert_int_equal(dpk_registry_encode_revoke(&data, h), 0);
	send_or_fail(e, &e->approver, &data);
	dpk_buf_free(&data);

	int seen = 0;
	for (int i = 0; i < 50 && !seen; i++) { /* up to 5 s: many poll intervals */
		sleep_ms(100);
		assert_int_equal(lookup(e, "10.1.2.3", &rec, NULL), 0);
		seen = rec.status == 2;
		if (seen) {
			assert_null(rec.pubkey); /* a revoked key is never served */
			assert_true(rec.valid_until > 0);
		}
		dpk_client_record_free(&rec);
	}
	assert_true(seen);
}

static void
test_chain_down_then_back(void **state)
{
	struct env *e = *state;
	struct dpk_client_record rec;
	const char *msg;

	register_identity(e, "2001:db8::7");
	start_agent_ttl(e, "1s");
	assert_int_equal(lookup(e, "2001:db8::7", &rec, NULL), 0);
	assert_int_equal(rec.status, 1);
	assert_false(rec.stale);
	dpk_client_record_free(&rec);

	kill(e->anvil.pid, SIGSTOP); /* the node stops answering; connections hang */
	sleep_ms(1200);              /* past the 1 s TTL */

	/* cached but expired: the last answer, marked stale, with its key */
	assert_int_equal(lookup(e, "2001:db8::7", &rec, NULL), 0);
	assert_int_equal(rec.status, 1);
	assert_true(rec.stale);
	assert_int_equal(rec.publen, 65);
	assert_true(rec.age_ms >= 1000);
	dpk_client_record_free(&rec);
	/* never read: the agent gives up within request_timeout and says why */
	assert_int_equal(lookup(e, "192.0.2.55", &rec, &msg), DPK_CLIENT_EAGENT);
	assert_true(strstr(msg, "did not answer") != NULL || strstr(msg, "timed out") != NULL ||
	    strstr(msg, "Timeout") != NULL || strstr(msg, "timeout") != NULL);

	kill(e->anvil.pid, SIGCONT);
	/* back: the same lookup now succeeds */
	int ok = 0;
	for (int i = 0; i < 40 && !ok; i++) {
		sleep_ms(100);
		if (lookup(e, "192.0.2.55", &rec, NULL) == 0) {
			ok = 1;
			assert_int_equal(rec.status, 0);
			dpk_client_record_free(&rec);
		}
	}
	assert_true(ok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lookups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revocation_seen_through_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_down_then_back, setup, teardown),
	};

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
