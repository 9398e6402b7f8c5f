/* Registration end to end, with real processes: anvil, dpk-pkm serve and
 * dpk-agent. The three flows (relay, the default: one transaction from the
 * PKM, in one block, the device's wallet never funded; eip712; paper); a token for another identity; a token file others may read; a caller without
 * permission; the PKM down, then up; the agent killed with SIGKILL at every
 * step and restarted, ending registered once, funded once (eip712) or with
 * exactly one transaction from the PKM (relay). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dpk/client.h"
#include "base/err.h"
#include "chain.h"
#include "harness.h"
#include "base/hex.h"
#include "registry/identity.h"
#include "registry/registry.h"
#include "eth/tx.h"
#include "eth/txsend.h"
#include "eth/fees.h"

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner;
	uint8_t contract[20], pkm_wallet[20];
	char dir[64], pkmconf[128], conf[128], sock[128], token[128], agentlog[128], pkmlog[128];
	int pkm_port;
	pid_t pkm, agent;
};

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void
run_ok(char *const argv[], struct dpk_buf *out)
{
	int st = dpk_test_run(argv, NULL, out);

	if (st != 0)
		fail_msg("%s %s exited %d: %s", argv[0], argv[3] ? argv[3] : "", st, out && out->data ? (char *)out->data : "");
}

static void
pkm_cmd(struct env *e, const char *a1, const char *a2, const char *a3, const char *a4, struct dpk_buf *out)
{
	char pkm[512];

	dpk_test_built("pkm/dpk-pkm", pkm, sizeof(pkm));
	char *argv[] = {pkm, (char *)"-c", e->pkmconf, (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL};
	run_ok(argv, out);
}

static void
start_pkm(struct env *e)
{
	char pkm[512];

	dpk_test_built("pkm/dpk-pkm", pkm, sizeof(pkm));
	char *argv[] = {pkm, (char *)"-c", e->pkmconf, (char *)"serve", NULL};
	e->pkm = dpk_test_spawn(argv, e->pkmlog);
	if (dpk_test_wait_port(e->pkm_port, 20000) != 0)
		fail_msg("dpk-pkm serve did not listen (see %s)", e->pkmlog);
}

static void funded_amount(struct env *e, struct dpk_u256 *amount);

/* More dpk.conf lines for the next start_agent (test_relay_counts_at_depth). */
static const char *agent_extra = "";

static void
start_agent(struct env *e, const char *flow)
{
	char agent[512], addr[43];
	FILE *f = fopen(e->conf, "w");

	dpk_wallet_address_format(e->contract, addr);
	fprintf(f, "rpc_url = %s\nchain_id = %d\ncontract = %s\nstate_dir = %s/agent-state\nsocket = %s\n"
	    "identity = device1.example.org\ntoken_file = %s\npoll_interval = 200ms\n",
	    e->anvil.url, DPK_TEST_CHAIN_ID, addr, e->dir, e->sock, e->token);
	if (flow != NULL) /* NULL: the default */
		fprintf(f, "registration = %s\n", flow);
	fputs(agent_extra, f);
	fclose(f);
	dpk_test_built("dpk-agent/dpk-agent", agent, sizeof(agent));
	char *argv[] = {agent, (char *)"-c", e->conf, NULL};
	unlink(e->sock);
	e->agent = dpk_test_spawn(argv, e->agentlog);
	if (dpk_test_wait_path(e->sock, 20000) != 0)
		fail_msg("dpk-agent did not start (see %s)", e->agentlog);
}

static void
kill_agent(struct env *e)
{
	if (e->agent > 0) {
		kill(e->agent, SIGKILL);
		waitpid(e->agent, NULL, 0);
		e->agent = 0;
	}
}

static int
setup_with(void **state, const char *const *node_args)
{
	struct env *e = calloc(1, sizeof(*e));
	struct dpk_buf out, data;
	struct dpk_txsend req = {0};
	struct dpk_rpc_receipt rc;
	uint8_t priv[32];
	const char *url;
	char addr[43], *w;
	FILE *f;

	dpk_test_anvil_start(&e->anvil, node_args);
	url = e->anvil.url;
	assert_int_equal(dpk_rpc_new(&e->rpc, &url, 1, NULL), 0);
	assert_int_equal(dpk_hex_decode_exact(DPK_TEST_DEV_KEY, priv, 32), 0);
	assert_int_equal(dpk_wallet_from_private(&e->owner, priv), 0);
	assert_int_equal(dpk_registry_deploy(e->rpc, &e->owner, DPK_TEST_CHAIN_ID, 30000, NULL, NULL, e->contract), 0);

	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	assert_int_equal(chmod(e->dir, 0755), 0);
	snprintf(e->pkmconf, sizeof(e->pkmconf), "%s/pkm.conf", e->dir);
	snprintf(e->conf, sizeof(e->conf), "%s/dpk.conf", e->dir);
	snprintf(e->sock, sizeof(e->sock), "%s/agent.sock", e->dir);
	snprintf(e->token, sizeof(e->token), "%s/token", e->dir);
	snprintf(e->agentlog, sizeof(e->agentlog), "%s/agent.log", e->dir);
	snprintf(e->pkmlog, sizeof(e->pkmlog), "%s/pkm.log", e->dir);
	e->pkm_port = dpk_test_free_port();
	dpk_wallet_address_format(e->contract, addr);
	f = fopen(e->pkmconf, "w");
	fprintf(f, "rpc_url = %s\nchain_id = %d\ncontract = %s\nstate_dir = %s/pkm-state\nlisten = 127.0.0.1:%d\n",
	    e->anvil.url, DPK_TEST_CHAIN_ID, addr, e->dir, e->pkm_port);
	fclose(f);

	/* the PKM's wallet: funded by the platform and named approver */
	pkm_cmd(e, "init", NULL, NULL, NULL, &out);
	assert_non_null(w = strstr((char *)out.data, "wallet: 0x"));
	assert_int_equal(dpk_wallet_address_parse_n(w + 8, 42, e->pkm_wallet), 0);
	dpk_buf_free(&out);
	req.to = e->pkm_wallet;
	dpk_u256_from_dec(&req.value, "10000000000000000000");
	assert_int_equal(dpk_txsend(e->rpc, &e->owner, DPK_TEST_CHAIN_ID, &req, 30000, NULL, NULL, &rc), 0);
	dpk_rpc_receipt_free(&rc);
	dpk_buf_init(&data, 1024);
	assert_int_equal(dpk_registry_encode_add_approver(&data, e->pkm_wallet), 0);
	memset(&req, 0, sizeof(req));
	req.to = e->contract;
	req.data = data.data;
	req.data_len = data.len;
	assert_int_equal(dpk_txsend(e->rpc, &e->owner, DPK_TEST_CHAIN_ID, &req, 30000, NULL, NULL, &rc), 0);
	assert_int_equal(rc.status, 1);
	dpk_rpc_receipt_free(&rc);
	dpk_buf_free(&data);
	*state = e;
	return 0;
}

static int
setup(void **state)
{
	return setup_with(state, NULL);
}

/* confirmations counted block by block: a chain whose height the test
 * controls, also when the run gives nodes a block time */
static int
setup_instant(void **state)
{
	static const char *const instant[] = {"--instant", NULL};

	return setup_with(state, instant);
}

static int
teardown(void **state)
{
	struct env *e = *state;

	kill_agent(e);
	if (e->pkm > 0) {
		kill(e->pkm, SIGKILL);
		waitpid(e->pkm, NULL, 0);
	}
	dpk_test_anvil_stop(&e->anvil);
	dpk_rpc_free(e->rpc);
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

static void
enrol(struct env *e, const char *identity)
{
	struct dpk_buf out;

	unlink(e->token);
	pkm_cmd(e, "enrol", identity, "--out", e->token, &out);
	dpk_buf_free(&out);
}

/* Drive REGISTER until done or failed (or timeout_s); the last report in *reg. */
static int
follow(struct env *e, int timeout_s, struct dpk_client_registration *reg, void (*on_step)(struct env *, int))
{
	int last_step = -1, first = 1;

	for (int i = 0; i < timeout_s * 10; i++) {
		struct dpk_client *c;
		int r;

		if (dpk_client_open(e->sock, 5000, 0, &c) != 0) {
			sleep_ms(100);
			continue;
		}
		r = dpk_client_register(c, first, reg);
		dpk_client_close(c);
		if (r != 0) {
			sleep_ms(100);
			continue;
		}
		first = 0;
		if (reg->step == DPK_CLIENT_REG_DONE || reg->step == DPK_CLIENT_REG_FAILED)
			return reg->step;
		if (on_step != NULL && reg->step != last_step) {
			last_step = reg->step;
			on_step(e, reg->step);
		}
		sleep_ms(100);
	}
	return -1;
}

static void
check_registered(struct env *e)
{
	struct dpk_client *c;
	struct dpk_client_pubkey pk;
	struct dpk_client_record rec;
	struct dpk_client_status st;

	assert_int_equal(dpk_client_open(e->sock, 5000, 0, &c), 0);
	assert_int_equal(dpk_client_pubkey(c, &pk), 0);
	assert_int_equal(dpk_client_status(c, &st), 0);
	assert_int_equal(dpk_client_lookup(c, "device1.example.org", &rec), 0);
	assert_int_equal(rec.status, 1);
	assert_int_equal(rec.publen, pk.onchain_len);
	assert_memory_equal(rec.pubkey, pk.onchain, pk.onchain_len);
	assert_memory_equal(rec.controller, st.wallet, 20);
	assert_int_equal(rec.version, 1); /* registered exactly once */
	dpk_client_record_free(&rec);
	dpk_client_pubkey_free(&pk);
	dpk_client_close(c);
}

static void
test_one_transaction_flow(void **state)
{
	struct env *e = *state;
	struct dpk_client_registration reg;

	enrol(e, "device1.example.org");
	start_pkm(e);
	start_agent(e, "eip712");
	if (follow(e, 60, &reg, NULL) != DPK_CLIENT_REG_DONE)
		fail_msg("registration ended in '%s': %s", reg.step_name, reg.detail);
	check_registered(e);
}

static void
test_paper_flow(void **state)
{
	struct env *e = *state;
	struct dpk_client_registration reg;

	enrol(e, "device1.example.org");
	start_pkm(e);
	start_agent(e, "paper");
	if (follow(e, 60, &reg, NULL) != DPK_CLIENT_REG_DONE)
		fail_msg("registration ended in '%s': %s", reg.step_name, reg.detail);
	check_registered(e);
}

static void
test_token_for_another_identity(void **state)
{
	struct env *e = *state;
	struct dpk_client_registration reg;

	enrol(e, "other.example.org");
	start_pkm(e);
	start_agent(e, "eip712");
	assert_int_equal(follow(e, 30, &reg, NULL), DPK_CLIENT_REG_FAILED);
	assert_non_null(strstr(reg.detail, "the token is for 'other.example.org'"));
}

/* A token file others may read is not used: the registration fails at
 * once and says what to do. */
static void
test_token_file_mode(void **state)
{
	struct env *e = *state;
	struct dpk_client_registration reg;

	enrol(e, "device1.example.org");
	assert_int_equal(chmod(e->token, 0644), 0);
	start_pkm(e);
	start_agent(e, "eip712");
	assert_int_equal(follow(e, 30, &reg, NULL), DPK_CLIENT_REG_FAILED);
	assert_non_null(strstr(reg.detail, "mode 0644"));
	assert_non_null(strstr(reg.detail, "chmod 600"));
}

static void
test_unprivileged_caller(void **state)
{
	struct env *e = *state;
	pid_t pid;
	int status;

	enrol(e, "device1.example.org");
	start_agent(e, "eip712");
	if (geteuid() != 0)
		skip(); /* never reached in CI, which runs as root; counted as skipped, not passed */
	if ((pid = fork()) == 0) {
		struct dpk_client *c;
		struct dpk_client_registration reg;
		const char *msg = "";

		if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
			_exit(10);
		if (dpk_client_open(e->sock, 5000, 0, &c) != 0)
			_exit(11);
		if (dpk_client_register(c, 1, &reg) != DPK_CLIENT_EAGENT)
			_exit(12);
		dpk_client_agent_error(c, &msg);
		_exit(strstr(msg, "registration is for root") != NULL && dpk_client_agent_error(c, NULL) == 23 ? 0 : 13);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* The PKM's key is on chain (serve publishes it when it starts) */
static void
wait_pkm_key(struct env *e)
{
	for (int i = 0; i < 100; i++) {
		struct dpk_buf key;
		int r;

		dpk_buf_init(&key, 1024);
		r = dpk_registry_get_pkm_key(e->rpc, e->contract, e->pkm_wallet, &key);
		dpk_buf_free(&key);
		if (r == 0)
			return;
		sleep_ms(100);
	}
	fail_msg("the PKM published no key");
}

static void
test_pkm_down_then_up(void **state)
{
	struct env *e = *state;
	struct dpk_client_registration reg;

	enrol(e, "device1.example.org");
	/* the PKM publishes its key on chain, then goes down */
	start_pkm(e);
	wait_pkm_key(e);
	kill(e->pkm, SIGTERM);
	assert_int_equal(dpk_test_wait_exit(e->pkm, 10000), 0);
	e->pkm = 0;
	start_agent(e, "eip712");
	/* no PKM: the registration waits (it does not fail) and says why */
	int seen = 0;
	for (int i = 0; i < 100 && !seen; i++) {
		struct dpk_client *c;

		sleep_ms(100);
		assert_int_equal(dpk_client_open(e->sock, 5000, 0, &c), 0);
		assert_int_equal(dpk_client_register(c, i == 0, &reg), 0);
		dpk_client_close(c);
		assert_int_not_equal(reg.step, DPK_CLIENT_REG_FAILED);
		seen = strstr(reg.detail, "cannot reach the PKM") != NULL;
	}
	assert_true(seen);
	start_pkm(e);
	if (follow(e, 60, &reg, NULL) != DPK_CLIENT_REG_DONE)
		fail_msg("registration ended in '%s': %s", reg.step_name, reg.detail);
	check_registered(e);
}

static int kills;
static const char *kill_flow;

static void
kill_and_restart(struct env *e, int step)
{
	kill_agent(e);
	kills++;
	start_agent(e, kill_flow);
}

/* The device's wallet (the record's controller) as the agent reports it */
static void
device_wallet(struct env *e, uint8_t wallet[20])
{
	struct dpk_client *c;
	struct dpk_client_status st;

	assert_int_equal(dpk_client_open(e->sock, 5000, 0, &c), 0);
	assert_int_equal(dpk_client_status(c, &st), 0);
	memcpy(wallet, st.wallet, 20);
	dpk_client_close(c);
}

/* Relayed (the default): the PKM sends one transaction; the device's wallet
 * holds nothing and sends nothing; one block from start to registered. */
static void
test_relay_flow(void **state)
{
	struct env *e = *state;
	struct dpk_client_registration reg;
	uint8_t wallet[20];
	uint64_t pkm_nonce, n;
	struct dpk_u256 bal;

	enrol(e, "device1.example.org");
	start_pkm(e);
	wait_pkm_key(e);
	assert_int_equal(dpk_rpc_nonce(e->rpc, e->pkm_wallet, DPK_RPC_LATEST, &pkm_nonce), 0);
	start_agent(e, NULL);
	if (follow(e, 60, &reg, NULL) != DPK_CLIENT_REG_DONE)
		fail_msg("registration ended in '%s': %s", reg.step_name, reg.detail);
	check_registered(e);
	assert_true(reg.blocks <= 1); /* anvil mines a block per transaction: only the PKM's */
	assert_int_equal(dpk_rpc_nonce(e->rpc, e->pkm_wallet, DPK_RPC_LATEST, &n), 0);
	assert_int_equal(n, pkm_nonce + 1);
	device_wallet(e, wallet);
	assert_int_equal(dpk_rpc_nonce(e->rpc, wallet, DPK_RPC_LATEST, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(dpk_rpc_balance(e->rpc, wallet, DPK_RPC_LATEST, &bal), 0);
	assert_true(dpk_u256_is_zero(&bal));
}

/* confirmations = 3: the PKM's transaction is mined at once (anvil) but the
 * registration counts only once it is 3 blocks deep, through a restart of
 * the agent; still one transaction. */
static void
test_relay_counts_at_depth(void **state)
{
	struct env *e = *state;
	struct dpk_client_registration reg;
	uint64_t pkm_nonce, n;

	enrol(e, "device1.example.org");
	start_pkm(e);
	wait_pkm_key(e);
	dpk_test_chain_mine(e->rpc, 3); /* the PKM's key and approver role are 3 blocks deep */
	assert_int_equal(dpk_rpc_nonce(e->rpc, e->pkm_wallet, DPK_RPC_LATEST, &pkm_nonce), 0);
	agent_extra = "confirmations = 3\n";
	start_agent(e, NULL);
	assert_int_equal(follow(e, 4, &reg, NULL), -1); /* not done: not deep enough */
	if (strstr(reg.detail, "waiting for confirmations") == NULL)
		fail_msg("registration in '%s': %s", reg.step_name, reg.detail);
	assert_int_equal(dpk_rpc_nonce(e->rpc, e->pkm_wallet, DPK_RPC_LATEST, &n), 0);
	assert_int_equal(n, pkm_nonce + 1); /* mined */
	kill_agent(e); /* restart-safe: the journal resumes the wait */
	start_agent(e, NULL);
	assert_int_equal(follow(e, 2, &reg, NULL), -1);
	dpk_test_chain_mine(e->rpc, 3);
	agent_extra = "";
	if (follow(e, 30, &reg, NULL) != DPK_CLIENT_REG_DONE)
		fail_msg("registration ended in '%s': %s", reg.step_name, reg.detail);
	check_registered(e);
	assert_int_equal(dpk_rpc_nonce(e->rpc, e->pkm_wallet, DPK_RPC_LATEST, &n), 0);
	assert_int_equal(n, pkm_nonce + 1); /* one transaction in all */
}

/* Relayed, with the agent killed at every step and restarted: registered
 * once, by one transaction of the PKM (the journalled request is sent again,
 * the PKM answers with its journalled transaction). */
static void
test_relay_sigkill_at_every_step(void **state)
{
	struct env *e = *state;
	struct dpk_client_registration reg;
	uint64_t pkm_nonce, n;

	enrol(e, "device1.example.org");
	start_pkm(e);
	wait_pkm_key(e);
	assert_int_equal(dpk_rpc_nonce(e->rpc, e->pkm_wallet, DPK_RPC_LATEST, &pkm_nonce), 0);
	kill_flow = "relay";
	start_agent(e, kill_flow);
	kills = 0;
	if (follow(e, 120, &reg, kill_and_restart) != DPK_CLIENT_REG_DONE)
		fail_msg("registration ended in '%s': %s", reg.step_name, reg.detail);
	assert_true(kills >= 2); /* at start and while the PKM relays */
	check_registered(e);
	assert_int_equal(dpk_rpc_nonce(e->rpc, e->pkm_wallet, DPK_RPC_LATEST, &n), 0);
	assert_int_equal(n, pkm_nonce + 1);
}

static void
test_sigkill_at_every_step(void **state)
{
	struct env *e = *state;
	struct dpk_client_registration reg;
	struct dpk_u256 before, after, spent, fund;

	enrol(e, "device1.example.org");
	start_pkm(e);
	assert_int_equal(dpk_rpc_balance(e->rpc, e->pkm_wallet, DPK_RPC_LATEST, &before), 0);
	kill_flow = "eip712";
	start_agent(e, kill_flow);
	kills = 0;
	if (follow(e, 120, &reg, kill_and_restart) != DPK_CLIENT_REG_DONE)
		fail_msg("registration ended in '%s': %s", reg.step_name, reg.detail);
	assert_true(kills >= 3); /* killed at least at start, funding, approval/sending */
	check_registered(e);
	/* the PKM paid the device once: its wallet lost one fund amount plus gas, not two */
	assert_int_equal(dpk_rpc_balance(e->rpc, e->pkm_wallet, DPK_RPC_LATEST, &after), 0);
	assert_int_equal(dpk_u256_sub(&spent, &before, &after), 0);
	funded_amount(e, &fund); /* fund_amount = auto: what the PKM's log says */
	assert_true(dpk_u256_cmp(&spent, &fund) >= 0);
	assert_int_equal(dpk_u256_add(&fund, &fund, &fund), 0);
	assert_true(dpk_u256_cmp(&spent, &fund) < 0);
}

/* The agent's journalled registration transaction (tx-raw), decoded, and
 * the hashes it replaced (tx-replaced lines). */
static size_t
journalled_tx(struct env *e, struct dpk_buf *raw, struct dpk_tx_signed *tx, uint8_t replaced[][32], size_t max)
{
	char path[256], *line = NULL;
	size_t cap = 0, n = 0, got;
	FILE *f;

	snprintf(path, sizeof(path), "%s/agent-state/registration", e->dir);
	assert_non_null(f = fopen(path, "r"));
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "tx-raw: ", 8) == 0) {
			uint8_t *dst;

			dpk_buf_reset(raw);
			assert_int_equal(dpk_buf_reserve(raw, strlen(line + 8) / 2, &dst), 0);
			assert_int_equal(dpk_hex_decode(line + 8, strlen(line + 8), dst, strlen(line + 8) / 2, &got), 0);
		} else if (strncmp(line, "tx-replaced: ", 13) == 0 && n < max) {
			assert_int_equal(dpk_hex_decode_exact(line + 13, replaced[n++], 32), 0);
		}
	}
	free(line);
	fclose(f);
	assert_int_equal(dpk_tx_decode(raw->data, raw->len, tx), 0);
	return n;
}

/* Every transaction from wallet in the chain: each must be nonce 0 and one
 * of the n journalled versions (hashes); how many there are. One on a
 * correct node; ganache 7 can run one transaction twice in a block (the
 * second run reverts, and bumps the nonce again): still no transaction the
 * agent did not sign. */
static int
wallet_txs_journalled(struct env *e, const uint8_t wallet[20], uint8_t (*hashes)[32], size_t n)
{
	uint64_t head = 0;
	char from[43];
	int count = 0;

	dpk_wallet_address_format(wallet, from);
	assert_int_equal(dpk_rpc_block_number(e->rpc, &head), 0);
	for (uint64_t b = 1; b <= head; b++) {
		cJSON *p = cJSON_CreateArray(), *res = NULL, *t;
		char q[32];

		snprintf(q, sizeof(q), "0x%llx", (unsigned long long)b);
		cJSON_AddItemToArray(p, cJSON_CreateString(q));
		cJSON_AddItemToArray(p, cJSON_CreateTrue());
		assert_int_equal(dpk_rpc_request(e->rpc, "eth_getBlockByNumber", p, &res), 0);
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(res, "transactions")) {
			const cJSON *f = cJSON_GetObjectItemCaseSensitive(t, "from"), *h = cJSON_GetObjectItemCaseSensitive(t, "hash"),
				    *no = cJSON_GetObjectItemCaseSensitive(t, "nonce");
			uint8_t hash[32];
			int known = 0;

			assert_true(cJSON_IsString(f) && cJSON_IsString(h) && cJSON_IsString(no));
			if (strcasecmp(f->valuestring, from) != 0)
				continue;
			assert_string_equal(no->valuestring, "0x0");
			assert_int_equal(dpk_hex_decode_exact(h->valuestring, hash, 32), 0);
			for (size_t i = 0; i < n; i++)
				known |= memcmp(hashes[i], hash, 32) == 0;
			if (!known)
				fail_msg("block %llu holds %s from the device's wallet: not a version the agent journalled",
				    (unsigned long long)b, h->valuestring);
			count++;
		}
		cJSON_Delete(res);
		cJSON_Delete(p);
	}
	return count;
}

/* The amount the PKM's log says it funded a device with. */
static void
funded_amount(struct env *e, struct dpk_u256 *amount)
{
	char line[1024], *p;
	FILE *f;
	int found = 0;

	assert_non_null(f = fopen(e->pkmlog, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((p = strstr(line, "funded with ")) != NULL) {
			p += strlen("funded with ");
			p[strspn(p, "0123456789")] = '\0';
			assert_int_equal(dpk_u256_from_dec(amount, p), 0);
			found = 1;
		}
	}
	fclose(f);
	assert_true(found);
}

/* fund_amount = auto under a base fee 50 times anvil's: the device is
 * funded with what its registration costs there (a fixed 0.01 ether would
 * not cover the gas limit x fee the node wants in the wallet) and registers
 * with exactly that money. */
static void
test_funding_covers_registration(void **state)
{
	struct env *e = *state;
	struct dpk_client_registration reg;
	struct dpk_u256 fund, bal, need, spent, fixed;
	struct dpk_tx_signed tx;
	struct dpk_rpc_receipt rc;
	struct dpk_buf raw;
	uint8_t wallet[20];
	uint64_t n;
	char a[79], b[79], c[79];

	enrol(e, "device1.example.org");
	start_pkm(e);
	dpk_test_fee_spike(e->rpc, 50 * 1000000000ULL, 1);
	start_agent(e, "eip712");
	if (follow(e, 60, &reg, NULL) != DPK_CLIENT_REG_DONE)
		fail_msg("registration ended in '%s': %s", reg.step_name, reg.detail);
	check_registered(e);
	device_wallet(e, wallet);
	funded_amount(e, &fund);
	dpk_buf_init(&raw, DPK_TX_MAX_RAW);
	journalled_tx(e, &raw, &tx, NULL, 0);
	/* the one transaction the device sent, paid from the funding alone */
	assert_int_equal(dpk_rpc_nonce(e->rpc, wallet, DPK_RPC_LATEST, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(dpk_rpc_receipt(e->rpc, tx.hash, &rc), 0);
	dpk_u256_mul_u64(&spent, &rc.effective_gas_price, rc.gas_used);
	dpk_rpc_receipt_free(&rc);
	assert_int_equal(dpk_rpc_balance(e->rpc, wallet, DPK_RPC_LATEST, &bal), 0);
	assert_int_equal(dpk_u256_add(&bal, &bal, &spent), 0);
	assert_int_equal(dpk_u256_cmp(&bal, &fund), 0);
	/* what the node wanted in the wallet to take it: above the old fixed figure */
	dpk_u256_mul_u64(&need, &tx.tx.max_fee, tx.tx.gas_limit);
	dpk_u256_from_dec(&fixed, "10000000000000000");
	assert_true(dpk_u256_cmp(&need, &fund) <= 0);
	assert_true(dpk_u256_cmp(&need, &fixed) > 0);
	dpk_u256_to_dec(&fund, a);
	dpk_u256_to_dec(&need, b);
	dpk_u256_to_dec(&spent, c);
	printf("base fee raised to 50 gwei: funded %s wei; the device's transaction needed gas limit x maxFee = %s wei "
	    "in the wallet (more than the old fixed 0.01 ether) and spent %s wei\n", a, b, c);
	dpk_buf_free(&raw);
}

static void
spike_then_restart(struct env *e, int step)
{
	if (step == 4) { /* register() signed and journalled, pending: a spike, then a restart */
		kill_agent(e);
		dpk_test_fee_spike(e->rpc, 100 * 1000000000ULL, 1);
		start_agent(e, "eip712");
	}
}

/* The device's own register() signed at anvil's fee, then a block at 100
 * gwei and a restart of the agent: the journalled transaction cannot be
 * mined; the agent replaces it (same nonce, fees bumped within
 * max_fee_per_gas), journals every hash, and one of them is mined: the
 * wallet's nonce says one transaction. */
static void
test_agent_replaces_stuck_registration(void **state)
{
	struct env *e = *state;
	struct dpk_client_registration reg;
	struct dpk_tx_signed tx;
	struct dpk_rpc_receipt rc;
	struct dpk_wallet owner;
	struct dpk_txsend req = {0};
	struct dpk_buf raw;
	uint8_t wallet[20], replaced[16][32];
	char hex[67], max[48], tip[48];
	uint64_t n;
	size_t nr;

	agent_extra = "max_fee_per_gas = 500 gwei\nreplace_after = 2s\n";
	enrol(e, "device1.example.org");
	start_pkm(e);
	start_agent(e, "eip712");
	/* a wallet with ether already (no FUND: room for fees 100 times anvil's),
	 * and from now on only the test mines: register() stays pending */
	device_wallet(e, wallet);
	dpk_test_wallet(DPK_TEST_DEV_KEY, &owner);
	req.to = wallet;
	dpk_u256_from_dec(&req.value, "1000000000000000000");
	assert_int_equal(dpk_txsend(e->rpc, &owner, DPK_TEST_CHAIN_ID, &req, 30000, NULL, NULL, &rc), 0);
	dpk_rpc_receipt_free(&rc);
	dpk_wallet_clear(&owner);
	dpk_test_node_call(e->rpc, "evm_setAutomine", "false");
	if (follow(e, 90, &reg, spike_then_restart) != DPK_CLIENT_REG_DONE)
		fail_msg("registration ended in '%s': %s", reg.step_name, reg.detail);
	agent_extra = "";
	check_registered(e);
	dpk_buf_init(&raw, DPK_TX_MAX_RAW);
	nr = journalled_tx(e, &raw, &tx, replaced, 15); /* and the current one after them */
	printf("the agent's register() under a spike to 100 gwei, with a restart (cap 500 gwei):\n");
	assert_true(nr >= 1);
	for (size_t i = 0; i < nr; i++) {
		dpk_hex_encode(replaced[i], 32, 1, hex, sizeof(hex));
		printf("  replaced %s: no receipt\n", hex);
		assert_int_equal(dpk_rpc_receipt(e->rpc, replaced[i], &rc), DPK_ERR_NOTFOUND);
	}
	assert_int_equal(dpk_rpc_receipt(e->rpc, tx.hash, &rc), 0);
	dpk_hex_encode(tx.hash, 32, 1, hex, sizeof(hex));
	{
		uint64_t v;

		assert_int_equal(dpk_u256_to_u64(&tx.tx.max_fee, &v), 0);
		dpk_fee_format(v, max, sizeof(max));
		assert_true(v <= 500 * 1000000000ULL);
		assert_int_equal(dpk_u256_to_u64(&tx.tx.max_priority_fee, &v), 0);
		dpk_fee_format(v, tip, sizeof(tip));
	}
	printf("  mined    %s (nonce %llu): maxFeePerGas %s, tip %s, block %llu\n", hex,
	    (unsigned long long)tx.tx.nonce, max, tip, (unsigned long long)rc.block_number);
	dpk_rpc_receipt_free(&rc);
	/* one signed transaction for one registration, in its versions: the
	 * chain holds nothing else from the device's wallet */
	memcpy(replaced[nr], tx.hash, 32);
	{
		int mined = wallet_txs_journalled(e, wallet, replaced, nr + 1);

		assert_true(mined >= 1);
		assert_int_equal(dpk_rpc_nonce(e->rpc, wallet, DPK_RPC_LATEST, &n), 0);
		printf("  the device's wallet: %d mined transaction(s), all nonce 0 and journalled versions; nonce now %llu\n",
		    mined, (unsigned long long)n);
		assert_int_equal(n, (uint64_t)mined); /* a node that ran it twice counted it twice */
	}
	dpk_buf_free(&raw);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_relay_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_sigkill_at_every_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_counts_at_depth, setup_instant, teardown),
		cmocka_unit_test_setup_teardown(test_one_transaction_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_funding_covers_registration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_replaces_stuck_registration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paper_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_for_another_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_file_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unprivileged_caller, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pkm_down_then_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigkill_at_every_step, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
