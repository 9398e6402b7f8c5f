/* Confirmations and reorgs on a real anvil (anvil_snapshot / anvil_revert /
 * anvil_mine make the reorgs):
 * - a revocation that a reorg drops: the agent served "revoked"; after the
 *   reorg it reads the record again and serves it active (it never keeps
 *   serving what it learnt from a dropped block until the cache TTL);
 * - an approval that a reorg drops: the user was admitted; after the reorg
 *   the identity is not registered and nobody may log in as it;
 * - confirmations = N: a revocation counts only once it is N blocks deep,
 *   and a transaction's receipt counts only then (the same signed bytes sent
 *   again after a timeout, as the journals do, count once it is);
 * - eth_getLogs in chunks: through an endpoint that refuses ranges over a
 *   few blocks (tests/harness/hostile-rpc.mjs range:N), the scan halves its
 *   range and finds every event; the agent's event poll does the same;
 * - dpk-admin deploy prints the deployment block and writes it for dpk.conf. */
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
#include <unistd.h>

#include "dpk/client.h"
#include "agent.h"
#include "base/err.h"
#include "base/hex.h"
#include "chain.h"
#include "crypto/idkey.h"
#include "eth/logscan.h"
#include "eth/txsend.h"
#include "harness.h"
#include "registry/identity.h"
#include "registry/registry.h"

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, approver, device;
	uint8_t contract[20];
	char dir[64], modefile[128];
	struct dpk_test_agent agent;
	pid_t proxy;
	int proxy_port;
	uint8_t pub[65];
};

static const char *const instant[] = {"--instant", NULL};

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct dpk_buf pub;
	char path[128];

	/* reorgs and depths: a chain whose height the test controls, also when
	 * the run gives nodes a block time (DPK_TEST_BLOCK_TIME) */
	dpk_test_chain_up_args(&e->anvil, instant, &e->rpc, &e->owner, &e->approver, &e->device, e->contract);
	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	snprintf(e->modefile, sizeof(e->modefile), "%s/mode", e->dir);
	snprintf(path, sizeof(path), "%s/peer.key", e->dir);
	dpk_test_new_key(path, DPK_IDKEY_P256, &pub);
	assert_int_equal(pub.len, 65);
	memcpy(e->pub, pub.data, 65);
	dpk_buf_free(&pub);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	dpk_test_agent_stop(&e->agent);
	if (e->proxy > 0) {
		kill(e->proxy, SIGKILL);
		waitpid(e->proxy, NULL, 0);
	}
	dpk_test_chain_down(&e->anvil, e->rpc);
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

static void
register_identity(struct env *e, const char *text)
{
	dpk_test_register(e->rpc, e->contract, &e->approver, &e->device, text, DPK_REGISTRY_ALG_P256, e->pub, 65);
}

/* The agent's answer for text: its status (0 not registered, 1 active, 2 revoked). */
static int
agent_status(struct env *e, const char *text)
{
	struct dpk_client_record rec;
	struct dpk_client *c;
	int r, st;

	assert_int_equal(dpk_client_open(e->agent.sock, 5000, 0, &c), 0);
	r = dpk_client_lookup(c, text, &rec);
	if (r != 0) {
		const char *m = "";

		dpk_client_agent_error(c, &m);
		fail_msg("lookup %s: %d %s (see %s)", text, r, m, e->agent.log);
	}
	dpk_client_close(c);
	st = rec.status;
	if (st == 2)
		assert_null(rec.pubkey); /* a revoked key is never served */
	if (st == 1)
		assert_memory_equal(rec.pubkey, e->pub, 65);
	dpk_client_record_free(&rec);
	return st;
}

/* Ask every 100 ms for up to ms until text has status want; 1 if it did. */
static int
wait_status(struct env *e, const char *text, int want, int ms)
{
	for (int waited = 0; waited <= ms; waited += 100) {
		if (agent_status(e, text) == want)
			return 1;
		dpk_test_sleep_ms(100);
	}
	return 0;
}

/* Show the agent's reorg log lines in the test's log. */
static void
show_reorg_lines(const struct env *e)
{
	char line[512];
	FILE *f = fopen(e->agent.log, "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "reorg") != NULL)
			print_message("agent: %s", line);
	fclose(f);
}

static uint64_t
head(struct env *e)
{
	uint64_t n;

	assert_int_equal(dpk_rpc_block_number(e->rpc, &n), 0);
	return n;
}

static void
test_revocation_dropped_by_reorg(void **state)
{
	struct env *e = *state;
	uint64_t snap, before;

	register_identity(e, "peer.example.org");
	dpk_test_agent_start(&e->agent, e->dir, "host", e->anvil.url, e->contract, "");
	assert_int_equal(agent_status(e, "peer.example.org"), 1);
	dpk_test_sleep_ms(500); /* a poll or two: the agent has covered this block */

	snap = dpk_test_chain_snapshot(e->rpc);
	before = head(e);
	dpk_test_revoke(e->rpc, e->contract, &e->approver, "peer.example.org");
	/* the event poll drops the cached record; the agent serves "revoked" */
	assert_true(wait_status(e, "peer.example.org", 2, 3000));

	/* the block with the revocation is replaced by three empty ones */
	dpk_test_chain_revert(e->rpc, snap);
	dpk_test_chain_mine(e->rpc, 3);
	assert_int_equal(head(e), before + 3);
	/* the cache TTL is 60 s: only the reorg detection brings "active" back
	 * (within a few 200 ms polls) */
	assert_true(wait_status(e, "peer.example.org", 1, 3000));
	assert_true(dpk_test_count_lines(e->agent.log, "reorg: block") >= 1);
	assert_true(dpk_test_count_lines(e->agent.log, "record(s) learnt from them dropped") >= 1);
	show_reorg_lines(e);
}

static void
test_approval_dropped_by_reorg(void **state)
{
	struct env *e = *state;
	struct dpk_client_user_check uc;
	struct dpk_client *c;
	uint64_t snap;

	dpk_test_agent_start(&e->agent, e->dir, "host", e->anvil.url, e->contract,
	    "nss_allow_suffix = .example.org\n");
	dpk_test_sleep_ms(500);
	snap = dpk_test_chain_snapshot(e->rpc);
	register_identity(e, "carol.example.org"); /* approved in the same transaction */
	assert_true(wait_status(e, "carol.example.org", 1, 3000));
	assert_int_equal(dpk_client_open(e->agent.sock, 5000, 0, &c), 0);
	assert_int_equal(dpk_client_user_check(c, "carol.example.org", &uc), 0);
	dpk_client_close(c);
	assert_int_equal(uc.result, 0);
	assert_int_equal(uc.login, 1);

	dpk_test_chain_revert(e->rpc, snap);
	/* a chain that is only shorter (as a lagging endpoint looks) is no
	 * evidence of a reorg: nothing logged until a block replaces one */
	dpk_test_sleep_ms(600);
	assert_int_equal(dpk_test_count_lines(e->agent.log, "reorg: block"), 0);
	dpk_test_chain_mine(e->rpc, 2);
	assert_true(wait_status(e, "carol.example.org", 0, 3000));
	assert_int_equal(dpk_client_open(e->agent.sock, 5000, 0, &c), 0);
	assert_int_equal(dpk_client_user_check(c, "carol.example.org", &uc), 0);
	dpk_client_close(c);
	assert_int_equal(uc.result, 3); /* not registered */
	assert_int_equal(uc.login, 0);
	assert_true(dpk_test_count_lines(e->agent.log, "reorg: block") >= 1);
}

/* A reorg that replaces every block the agent remembers: it cannot tell what
 * the dropped blocks changed, so it drops the whole cache. */
static void
test_reorg_deeper_than_remembered(void **state)
{
	struct env *e = *state;
	uint64_t snap;

	register_identity(e, "far.example.org");
	snap = dpk_test_chain_snapshot(e->rpc);
	/* a block with a transaction, not an empty one: ganache makes an empty
	 * block on the same parent within the same second again with the same
	 * hash, and a block that comes back unchanged is rightly no reorg */
	register_identity(e, "near.example.org");
	dpk_test_agent_start(&e->agent, e->dir, "host", e->anvil.url, e->contract, "");
	dpk_test_sleep_ms(500); /* its first poll remembers blocks after the snapshot only */
	dpk_test_revoke(e->rpc, e->contract, &e->approver, "far.example.org");
	assert_true(wait_status(e, "far.example.org", 2, 3000));
	dpk_test_chain_revert(e->rpc, snap);
	dpk_test_chain_mine(e->rpc, 4);
	assert_true(wait_status(e, "far.example.org", 1, 3000));
	assert_true(dpk_test_count_lines(e->agent.log, "remembered: dropping every cached record") >= 1);
}

static void
test_reads_at_depth(void **state)
{
	struct env *e = *state;

	register_identity(e, "deep.example.org");
	dpk_test_chain_mine(e->rpc, 3); /* the registration is 3 blocks deep */
	dpk_test_agent_start(&e->agent, e->dir, "host", e->anvil.url, e->contract, "confirmations = 3\n");
	assert_int_equal(agent_status(e, "deep.example.org"), 1);
	dpk_test_revoke(e->rpc, e->contract, &e->approver, "deep.example.org");
	/* mined, but not 3 blocks deep: not counted (many polls and reads) */
	dpk_test_sleep_ms(1000);
	assert_int_equal(agent_status(e, "deep.example.org"), 1);
	dpk_test_chain_mine(e->rpc, 2);
	dpk_test_sleep_ms(600);
	assert_int_equal(agent_status(e, "deep.example.org"), 1);
	dpk_test_chain_mine(e->rpc, 1); /* now 3 blocks deep */
	assert_true(wait_status(e, "deep.example.org", 2, 3000));
}

static void
test_tx_counts_at_depth(void **state)
{
	struct env *e = *state;
	struct dpk_rpc_depth d = {.kind = DPK_RPC_DEPTH_BLOCKS, .confirmations = 2};
	struct dpk_txsend req = {.to = e->device.addr};
	struct dpk_rpc_receipt rc;
	struct dpk_buf raw;
	uint8_t hash[32];
	uint64_t nonce, settled;

	dpk_u256_from_u64(&req.value, 1);
	dpk_rpc_set_depth(e->rpc, &d);
	dpk_buf_init(&raw, 4096);
	assert_int_equal(dpk_txsend_prepare(e->rpc, &e->owner, DPK_TEST_CHAIN_ID, &req, &raw, hash, &nonce), 0);
	/* mined at once (anvil), but not 2 blocks deep: not counted */
	assert_int_equal(dpk_txsend_submit(e->rpc, raw.data, raw.len, hash, 1200, NULL, NULL, &rc), DPK_ERR_TIMEOUT);
	assert_non_null(strstr(dpk_rpc_last_error(e->rpc), "not yet 2 blocks below the head"));
	dpk_test_chain_mine(e->rpc, 1);
	assert_int_equal(dpk_txsend_submit(e->rpc, raw.data, raw.len, hash, 800, NULL, NULL, &rc), DPK_ERR_TIMEOUT);
	dpk_test_chain_mine(e->rpc, 1);
	/* the same bytes again (as after a restart): counted now */
	assert_int_equal(dpk_txsend_submit(e->rpc, raw.data, raw.len, hash, 5000, NULL, NULL, &rc), 0);
	assert_int_equal(rc.status, 1);
	assert_int_equal(dpk_rpc_settled_block(e->rpc, &settled), 0);
	assert_true(rc.block_number <= settled);
	assert_int_equal(settled + 2, head(e));
	dpk_rpc_receipt_free(&rc);
	dpk_buf_free(&raw);

	/* safe/finalized on a node that has them (anvil does) */
	d.kind = DPK_RPC_DEPTH_FINALIZED;
	dpk_rpc_set_depth(e->rpc, &d);
	assert_int_equal(dpk_rpc_settled_block(e->rpc, &settled), 0);
	assert_true(settled <= head(e));
	d.kind = DPK_RPC_DEPTH_BLOCKS;
	d.confirmations = 10000; /* deeper than the chain: a clear refusal */
	dpk_rpc_set_depth(e->rpc, &d);
	assert_int_equal(dpk_rpc_settled_block(e->rpc, &settled), DPK_ERR_STATE);
	assert_non_null(strstr(dpk_rpc_last_error(e->rpc), "no block is confirmations (10000) blocks below it"));
}

static void
start_proxy(struct env *e, unsigned max_range)
{
	char script[512], env[] = "/usr/bin/env", node[] = "node", port[16], log[160], mode[32];

	snprintf(mode, sizeof(mode), "range:%u\n", max_range);
	dpk_test_write_file(e->modefile, mode, 0644);
	snprintf(script, sizeof(script), "%s/../harness/hostile-rpc.mjs", getenv("DPK_TEST_DATA"));
	snprintf(log, sizeof(log), "%s/proxy.out", e->dir);
	e->proxy_port = dpk_test_free_port();
	snprintf(port, sizeof(port), "%d", e->proxy_port);
	char *argv[] = {env, node, script, port, e->anvil.url, e->modefile, NULL};
	e->proxy = dpk_test_spawn(argv, log);
	if (dpk_test_wait_port(e->proxy_port, 10000) != 0)
		fail_msg("hostile-rpc.mjs did not start (see %s)", log);
}

/* Every eth_getLogs the proxy served spans at most max blocks; how many it
 * refused and how many it served. */
static void
check_spans(struct env *e, unsigned max, size_t *refused, size_t *served)
{
	char path[160], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s.log", e->modefile);
	assert_non_null(f = fopen(path, "r"));
	*refused = *served = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long long from, to;
		char *end;

		from = strtoull(line, &end, 10);
		assert_true(*end == ' ');
		to = strtoull(end + 1, &end, 10);
		assert_true(*end == ' ' && to >= from);
		if (strcmp(end + 1, "refused\n") == 0) {
			assert_true(to - from + 1 > max);
			(*refused)++;
		} else {
			assert_string_equal(end + 1, "ok\n");
			assert_true(to - from + 1 <= max);
			(*served)++;
		}
	}
	fclose(f);
}

struct found {
	size_t approved;
	uint64_t next; /* the scan hands back contiguous spans, in order */
};

static int
count_approved(void *ctx, const struct dpk_rpc_log *logs, size_t n, uint64_t from, uint64_t to)
{
	struct found *fd = ctx;

	assert_int_equal(from, fd->next);
	fd->next = to + 1;
	for (size_t i = 0; i < n; i++) {
		struct dpk_registry_event ev;

		if (dpk_registry_decode_event(&logs[i], &ev) == 0 && ev.kind == DPK_REGISTRY_EV_CLIENT_APPROVED)
			fd->approved++;
	}
	return 0;
}

static void
test_logs_in_chunks(void **state)
{
	struct env *e = *state;
	struct dpk_rpc *via;
	struct dpk_rpc_filter f = {.address = e->contract};
	struct found fd = {0};
	const char *url;
	char u[64];
	uint64_t range = 1000, scanned, first = head(e);
	size_t refused, served;

	register_identity(e, "a.example.org");
	dpk_test_chain_mine(e->rpc, 5);
	register_identity(e, "b.example.org");
	dpk_test_chain_mine(e->rpc, 7);
	register_identity(e, "c.example.org");
	start_proxy(e, 4);
	snprintf(u, sizeof(u), "http://127.0.0.1:%d", e->proxy_port);
	url = u;
	assert_int_equal(dpk_rpc_new(&via, &url, 1, NULL), 0);
	f.from_block = first;
	f.to_block = head(e);
	fd.next = first;
	assert_int_equal(dpk_logscan(via, &f, &range, 0, count_approved, &fd, &scanned), 0);
	assert_int_equal(scanned, f.to_block);
	assert_int_equal(fd.next, f.to_block + 1);
	assert_int_equal(fd.approved, 3);
	assert_true(range <= 4 && range >= 2); /* 1000 halved until the node took it */
	check_spans(e, 4, &refused, &served);
	assert_true(refused >= 1);
	assert_true(served >= (f.to_block - first + 1) / 4);
	/* a limit on requests: DPK_ERR_BUSY, and where to go on from */
	fd.next = first;
	fd.approved = 0;
	assert_int_equal(dpk_logscan(via, &f, &range, 2, count_approved, &fd, &scanned), DPK_ERR_BUSY);
	assert_int_equal(scanned, first + 2 * range - 1);
	dpk_rpc_free(via);
}

static void
test_agent_poll_in_chunks(void **state)
{
	struct env *e = *state;
	char u[64], extra[128];

	register_identity(e, "chunk.example.org");
	start_proxy(e, 2);
	snprintf(u, sizeof(u), "http://127.0.0.1:%d", e->proxy_port);
	snprintf(extra, sizeof(extra), "poll_interval = 1500ms\nrpc_timeout = 2s\nrequest_timeout = 4s\n");
	dpk_test_agent_start(&e->agent, e->dir, "host", u, e->contract, extra);
	assert_int_equal(agent_status(e, "chunk.example.org"), 1);
	/* between two polls: a revocation among 8 blocks */
	dpk_test_chain_mine(e->rpc, 4);
	dpk_test_revoke(e->rpc, e->contract, &e->approver, "chunk.example.org");
	dpk_test_chain_mine(e->rpc, 3);
	assert_true(wait_status(e, "chunk.example.org", 2, 5000));
	size_t refused, served;
	check_spans(e, 2, &refused, &served);
	assert_true(refused >= 1); /* the 10000-block default was refused, then halved */
	assert_true(served >= 4);
}

/* The length of the code at contract in block (eth_getCode). */
static size_t
code_len(struct env *e, const uint8_t contract[20], uint64_t block)
{
	cJSON *p = cJSON_CreateArray(), *res = NULL;
	char a[43], q[19];
	size_t n;

	dpk_hex_encode(contract, 20, 1, a, sizeof(a));
	dpk_hex_from_u64(block, q);
	cJSON_AddItemToArray(p, cJSON_CreateString(a));
	cJSON_AddItemToArray(p, cJSON_CreateString(q));
	assert_int_equal(dpk_rpc_request(e->rpc, "eth_getCode", p, &res), 0);
	assert_true(cJSON_IsString(res));
	n = (strlen(res->valuestring) - 2) / 2;
	cJSON_Delete(res);
	cJSON_Delete(p);
	return n;
}

static void
test_admin_deploy_block(void **state)
{
	struct env *e = *state;
	char admin[512], key[160], conf[160], expect[128];
	struct dpk_buf out;
	char text[512] = "";
	FILE *f;
	uint8_t contract[20];
	unsigned long long block = 0;
	const char *p;

	snprintf(key, sizeof(key), "%s/owner.key", e->dir);
	dpk_test_write_file(key, DPK_TEST_DEV_KEY + 2, 0600);
	snprintf(conf, sizeof(conf), "%s/dpk.conf", e->dir);
	dpk_test_write_file(conf, "chain_id = 31337\n", 0644);
	dpk_test_built("admin/dpk-admin", admin, sizeof(admin));
	char *argv[] = {admin, (char *)"--rpc", e->anvil.url, (char *)"--private-key-file", key, (char *)"--quiet",
		(char *)"--write-config", conf, (char *)"deploy", NULL};
	assert_int_equal(dpk_test_run(argv, NULL, &out), 0);
	dpk_test_chomp(&out);
	/* stdout is the address alone (scripts read it) */
	assert_int_equal(out.len, 42);
	assert_int_equal(dpk_hex_decode_exact((const char *)out.data, contract, 20), 0);
	assert_non_null(f = fopen(conf, "r"));
	assert_true(fread(text, 1, sizeof(text) - 1, f) > 0);
	fclose(f);
	assert_non_null(p = strstr(text, "deploy_block = "));
	block = strtoull(p + 15, NULL, 10);
	snprintf(expect, sizeof(expect), "contract = %.42s\n", (const char *)out.data);
	assert_non_null(strstr(text, expect));
	assert_non_null(strstr(text, "chain_id = 31337\n")); /* appended, not replaced */
	/* the registry's code appears in exactly that block */
	assert_true(code_len(e, contract, block) > 0);
	assert_int_equal(code_len(e, contract, block - 1), 0);
	dpk_buf_free(&out);

	/* --confirmations: a depth, or a usage error (2) */
	char *bad[] = {admin, (char *)"--rpc", e->anvil.url, (char *)"--confirmations", (char *)"latest",
		(char *)"chain-id", NULL};
	assert_int_equal(dpk_test_run(bad, NULL, NULL), 2);
	char *deep[] = {admin, (char *)"--rpc", e->anvil.url, (char *)"--confirmations", (char *)"10000",
		(char *)"--contract", (char *)"0x5FbDB2315678afecb367f032d93F642f64180aa3", (char *)"lookup",
		(char *)"x.example.org", NULL};
	assert_int_equal(dpk_test_run(deep, NULL, NULL), 1); /* the chain is shorter than that: refused */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_revocation_dropped_by_reorg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_approval_dropped_by_reorg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reorg_deeper_than_remembered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reads_at_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_counts_at_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logs_in_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_poll_in_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_deploy_block, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
