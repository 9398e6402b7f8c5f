/* Verified reads against a lying endpoint (tests/harness/hostile-rpc.mjs in
 * front of anvil): for each way of lying (a forged eth_call record, forged
 * proofs, a forged but self-consistent header, another chain id, garbage, an
 * oversized body, a wrong id), an agent with the liar first of three
 * endpoints (the two honest ones: one anvil through two forwarding proxies,
 * rpc_quorum 2) answers every lookup correctly or refuses with a reason,
 * never wrongly; with the liar as its only endpoint, every answer that
 * depends on what it forges is refused. Lookups name the block they were
 * proven at. The operator's policies, with honest endpoints: a pinned
 * checkpoint (the right one lets answers through; a wrong one, or one past
 * the head, refuses every verified answer, logged and named; --check-config
 * says so), max_proof_age (a chain that stopped making blocks gets every
 * answer refused, cached ones too, until a block is made: lookups, the name
 * service through the real module and its cache file, and login decisions),
 * and what STATUS
 * and LOGIN_ACCOUNT report (each endpoint's chain id and head; the block a
 * login decision's record was proven at). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <nss.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dpk/client.h"
#include "base/err.h"
#include "base/hex.h"
#include "chain.h"
#include "crypto/idkey.h"
#include "harness.h"
#include "registry/registry.h"

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, approver, device;
	uint8_t contract[20];
	char dir[64], conf[128], sock[128], log[128], modefile[128];
	char extra[512]; /* more dpk.conf lines for the next agent */
	pid_t agent, proxy[3];
	int port[3];
	uint8_t pub[65];
};

static const char *const modes[] = { "call", "proof", "header", "chain", "garbage", "big", "id" };

static void
start_proxies(struct env *e)
{
	char script[512], env[] = "/usr/bin/env", node[] = "node", up[80], portstr[3][16], mf[3][140];

	snprintf(script, sizeof(script), "%s/../harness/hostile-rpc.mjs", getenv("DPK_TEST_DATA"));
	snprintf(up, sizeof(up), "%s", e->anvil.url);
	for (int i = 0; i < 3; i++) {
		e->port[i] = dpk_test_free_port();
		snprintf(portstr[i], sizeof(portstr[i]), "%d", e->port[i]);
		/* only proxy 0 reads the mode file; the others read one that never exists */
		snprintf(mf[i], sizeof(mf[i]), "%s", i == 0 ? e->modefile : "/nonexistent/mode");
		char *argv[] = { env, node, script, portstr[i], up, mf[i], NULL };
		e->proxy[i] = dpk_test_spawn(argv, e->log);
	}
	for (int i = 0; i < 3; i++)
		if (dpk_test_wait_port(e->port[i], 10000) != 0)
			fail_msg("hostile-rpc.mjs did not start on port %d (see %s)", e->port[i], e->log);
}

static void
start_agent(struct env *e, int alone)
{
	char agent[512], addr[43];
	FILE *f = fopen(e->conf, "w");

	assert_non_null(f);
	dpk_wallet_address_format(e->contract, addr);
	if (alone)
		fprintf(f, "rpc_url = http://127.0.0.1:%d\n", e->port[0]);
	else
		fprintf(f, "rpc_url = http://127.0.0.1:%d\nrpc_url = http://127.0.0.1:%d\nrpc_url = http://127.0.0.1:%d\n"
		    "rpc_quorum = 2\n", e->port[0], e->port[1], e->port[2]);
	fprintf(f, "chain_id = %d\ncontract = %s\nstate_dir = %s/state\nsocket = %s\n"
	    "cache_ttl = 60s\nnegative_cache_ttl = 60s\npoll_interval = 200ms\nrpc_timeout = 1s\n"
	    "request_timeout = 4s\n%s", DPK_TEST_CHAIN_ID, addr, e->dir, e->sock, e->extra);
	fclose(f);
	dpk_test_built("dpk-agent/dpk-agent", agent, sizeof(agent));
	char *argv[] = { agent, (char *)"-c", e->conf, NULL };
	unlink(e->sock);
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

/* 1: the right answer; 0: refused (msg says why); fails the test on a wrong one. */
static int
check_lookup(struct env *e, const char *text, int registered, const char *mode, char *msg, size_t msgsz)
{
	struct dpk_client *c;
	struct dpk_client_record rec;
	uint64_t block = 0;
	int r, ok;

	assert_int_equal(dpk_client_open(e->sock, 10000, 0, &c), 0);
	r = dpk_client_lookup(c, text, &rec);
	if (r != 0) {
		const char *m = "";

		dpk_client_agent_error(c, &m);
		snprintf(msg, msgsz, "%s", r == DPK_CLIENT_EAGENT ? m : dpk_client_strerror(r));
		dpk_client_close(c);
		if (msg[0] == '\0')
			fail_msg("mode %s: %s refused without a reason", mode, text);
		return 0;
	}
	if (registered)
		ok = rec.status == 1 && rec.publen == 65 && memcmp(rec.pubkey, e->pub, 65) == 0;
	else
		ok = rec.status == 0 && rec.publen == 0;
	if (!ok)
		fail_msg("mode %s: WRONG answer for %s: status %u, key length %zu", mode, text, rec.status, rec.publen);
	if (!dpk_client_lookup_proof(c, &block, NULL) || block == 0)
		fail_msg("mode %s: %s answered without the block it was proven at", mode, text);
	dpk_client_record_free(&rec);
	dpk_client_close(c);
	return 1;
}

static void
test_liar_first_of_three(void **state)
{
	struct env *e = *state;
	char msg[512];

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		dpk_test_write_file(e->modefile, modes[m], 0644);
		start_agent(e, 0);
		for (int round = 0; round < 2; round++) {
			int a = check_lookup(e, "alice.example.org", 1, modes[m], msg, sizeof(msg));
			int b = check_lookup(e, "nobody.example.org", 0, modes[m], msg, sizeof(msg));

			printf("# liar first (%s), round %d: alice %s, nobody %s%s%s\n", modes[m], round,
			    a ? "correct" : "refused", b ? "correct" : "refused", a && b ? "" : ": ", a && b ? "" : msg);
			/* two honest endpoints out of three: the answer is there */
			assert_true(a && b);
		}
		/* STATUS: the block reads are proven at, and each endpoint's state */
		{
			struct dpk_client *c;
			struct dpk_client_status st;
			uint64_t block = 0;
			int verify = 0, est = -1;

			assert_int_equal(dpk_client_open(e->sock, 5000, 0, &c), 0);
			assert_int_equal(dpk_client_status(c, &st), 0);
			assert_int_equal(dpk_client_status_anchor(c, &verify, &block, NULL), 1);
			assert_true(verify && block > 0);
			assert_int_equal(dpk_client_status_endpoint(c, 0, NULL, &est, NULL), 0);
			if (strcmp(modes[m], "chain") == 0)
				assert_int_equal(est, 2);
			assert_int_equal(dpk_client_status_endpoint(c, 1, NULL, &est, NULL), 0);
			assert_int_equal(est, 1);
			assert_int_equal(dpk_client_status_endpoint(c, 3, NULL, NULL, NULL), -1);
			dpk_client_close(c);
		}
		stop_agent(e);
		/* the refusals are logged, saying why */
		if (strcmp(modes[m], "header") == 0)
			assert_true(dpk_test_count_lines(e->log, "refused a header: endpoints disagree") > 0);
		if (strcmp(modes[m], "chain") == 0)
			assert_true(dpk_test_count_lines(e->log, "is on chain 1, not chain_id 31337") > 0);
	}
}

static void
test_liar_alone(void **state)
{
	struct env *e = *state;
	char msg[512];

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		int a, b;

		dpk_test_write_file(e->modefile, modes[m], 0644);
		start_agent(e, 1);
		a = check_lookup(e, "alice.example.org", 1, modes[m], msg, sizeof(msg));
		b = check_lookup(e, "nobody.example.org", 0, modes[m], msg, sizeof(msg));
		printf("# liar alone (%s): alice %s, nobody %s%s%s\n", modes[m], a ? "correct" : "refused",
		    b ? "correct" : "refused", a && b ? "" : ": ", a && b ? "" : msg);
		/* a forged eth_call is never used; every other lie is refused */
		if (strcmp(modes[m], "call") != 0)
			assert_true(!a && !b);
		stop_agent(e);
	}
}


/* The hash of block n, as the node says it. */
static void
block_hash(struct env *e, uint64_t n, char hx[67])
{
	cJSON *params = cJSON_CreateArray(), *res = NULL, *h;
	char tag[19];

	dpk_hex_from_u64(n, tag);
	cJSON_AddItemToArray(params, cJSON_CreateString(tag));
	cJSON_AddItemToArray(params, cJSON_CreateFalse());
	assert_int_equal(dpk_rpc_request(e->rpc, "eth_getBlockByNumber", params, &res), 0);
	h = cJSON_GetObjectItemCaseSensitive(res, "hash");
	assert_true(cJSON_IsString(h) && strlen(h->valuestring) == 66);
	snprintf(hx, 67, "%s", h->valuestring);
	cJSON_Delete(res);
	cJSON_Delete(params);
}

static void
mine(struct env *e)
{
	cJSON *res = NULL;

	assert_int_equal(dpk_rpc_request(e->rpc, "evm_mine", NULL, &res), 0);
	cJSON_Delete(res);
}

/* A registered and an unknown identity: both refused, each with a reason
 * that contains why. */
static void
both_refused(struct env *e, const char *what, const char *why)
{
	char msg[512];

	assert_int_equal(check_lookup(e, "alice.example.org", 1, what, msg, sizeof(msg)), 0);
	printf("# %s: %s\n", what, msg);
	if (strstr(msg, why) == NULL)
		fail_msg("%s: the refusal does not say '%s'", what, why);
	assert_int_equal(check_lookup(e, "nobody.example.org", 0, what, msg, sizeof(msg)), 0);
	if (strstr(msg, why) == NULL)
		fail_msg("%s: the refusal does not say '%s'", what, why);
}

/* dpk-agent --check-config on e->conf: its exit status, stdout in out. */
static int
check_config(struct env *e, struct dpk_buf *out)
{
	char agent[512];

	dpk_test_built("dpk-agent/dpk-agent", agent, sizeof(agent));
	char *argv[] = { agent, (char *)"-c", e->conf, (char *)"--check-config", NULL };
	dpk_buf_free(out); /* dpk_test_run starts it anew */
	return dpk_test_run(argv, NULL, out);
}

static void
test_checkpoint(void **state)
{
	struct env *e = *state;
	struct dpk_buf out;
	static char logtext[1 << 20];
	char hx[67], msg[512];
	FILE *f;
	size_t got;

	unlink(e->modefile); /* every endpoint honest */
	dpk_buf_init(&out, 1 << 20);
	block_hash(e, 1, hx);
	/* the right checkpoint: answers go through, --check-config agrees */
	snprintf(e->extra, sizeof(e->extra), "checkpoint = 1:%s\n", hx);
	start_agent(e, 0);
	assert_int_equal(check_lookup(e, "alice.example.org", 1, "checkpoint", msg, sizeof(msg)), 1);
	assert_int_equal(check_lookup(e, "nobody.example.org", 0, "checkpoint", msg, sizeof(msg)), 1);
	stop_agent(e);
	assert_int_equal(check_config(e, &out), 0);
	assert_non_null(strstr((char *)out.data, "has the checkpoint block 1"));
	/* a wrong hash for block 1: every verified answer refused, the reason
	 * names the checkpoint, in the reply and in the log */
	memcpy(hx + 2, "00beef", 6);
	snprintf(e->extra, sizeof(e->extra), "checkpoint = 1:%s\n", hx);
	assert_int_equal(truncate(e->log, 0), 0);
	start_agent(e, 0);
	both_refused(e, "wrong checkpoint", "does not descend from the checkpoint");
	stop_agent(e);
	assert_non_null(f = fopen(e->log, "r"));
	got = fread(logtext, 1, sizeof(logtext) - 1, f);
	fclose(f);
	logtext[got] = '\0';
	assert_non_null(strstr(logtext, "refused every verified answer: block"));
	assert_non_null(strstr(logtext, "does not descend from the checkpoint"));
	assert_int_equal(check_config(e, &out), 3); /* the file is good; the chain is not the one it names */
	assert_non_null(strstr((char *)out.data, "not the checkpoint's hash"));
	/* a checkpoint past the head (another chain, or endpoints far behind) */
	snprintf(e->extra, sizeof(e->extra), "checkpoint = 100000:%s\n", hx);
	start_agent(e, 0);
	both_refused(e, "checkpoint past the head", "below the checkpoint 100000");
	stop_agent(e);
	e->extra[0] = '\0';
	dpk_buf_free(&out);
}

/* A checkpoint far behind the head, walked through a slow first endpoint:
 * one read walks parent links for at most a second, lookups meanwhile are
 * refused saying how far the walk got, and later reads go on from there
 * (they do not start over) until the answers are proven. */
static void
test_checkpoint_walk_budget(void **state)
{
	struct env *e = *state;
	char hx[67], msg[512];
	int refused = 0, ok = 0;
	uint64_t lowest = UINT64_MAX;

	block_hash(e, 1, hx);
	dpk_test_chain_mine(e->rpc, 600);
	dpk_test_write_file(e->modefile, "slow:5", 0644); /* 600 parents at 5 ms: about 3 s of walking */
	snprintf(e->extra, sizeof(e->extra), "checkpoint = 1:%s\n", hx);
	start_agent(e, 0);
	for (int i = 0; i < 40 && !ok; i++) {
		const char *p;

		if ((ok = check_lookup(e, "alice.example.org", 1, "slow", msg, sizeof(msg))) != 0)
			break;
		if ((p = strstr(msg, "its parents are checked down to block ")) == NULL)
			fail_msg("lookup %d refused for another reason: %s", i, msg);
		refused++;
		uint64_t down = strtoull(p + strlen("its parents are checked down to block "), NULL, 10);
		if (down >= lowest) /* each read goes on below where the last one stopped */
			fail_msg("the walk started over: down to %llu after %llu", (unsigned long long)down,
			    (unsigned long long)lowest);
		lowest = down;
	}
	printf("# checkpoint 600 blocks back through a 5 ms endpoint: %d lookups refused while walking, then proven\n",
	    refused);
	assert_true(ok);
	assert_true(refused >= 1);
	assert_int_equal(check_lookup(e, "nobody.example.org", 0, "slow", msg, sizeof(msg)), 1);
	stop_agent(e);
	unlink(e->modefile);
	e->extra[0] = '\0';
}

typedef enum nss_status (*pwnam_fn)(const char *, struct passwd *, char *, size_t, int *);

/* LOGIN_ACCOUNT for alice: 0 when she may log in, else the refusal in msg. */
static int
account(struct env *e, char *msg, size_t msgsz)
{
	struct dpk_client *c;
	uint8_t status = 0;
	char ident[256];
	const char *m = "";
	int r;

	assert_int_equal(dpk_client_open(e->sock, 10000, 0, &c), 0);
	r = dpk_client_login_account(c, "alice.example.org", &status, ident, sizeof(ident));
	if (r == DPK_CLIENT_EAGENT)
		dpk_client_agent_error(c, &m);
	snprintf(msg, msgsz, "%s", r == 0 ? "" : r == DPK_CLIENT_EAGENT ? m : dpk_client_strerror(r));
	dpk_client_close(c);
	return r == 0 && status == 1 ? 0 : -1;
}

static void
test_max_proof_age(void **state)
{
	struct env *e = *state;
	char msg[512], so[4096], buf[2048], cache[160];
	struct passwd pw;
	pwnam_fn pwnam;
	void *h;
	int err = 0;

	unlink(e->modefile);
	snprintf(cache, sizeof(cache), "%s/nss.cache", e->dir);
	snprintf(e->extra, sizeof(e->extra), "max_proof_age = 2s\nnss_allow = alice.example.org\nnss_cache_file = %s\n",
	    cache);
	start_agent(e, 0);
	dpk_test_built("nss_dpk/.libs/libnss_dpk.so.2", so, sizeof(so));
	assert_non_null(h = dlopen(so, RTLD_NOW | RTLD_LOCAL));
	*(void **)&pwnam = dlsym(h, "_nss_dpk_getpwnam_r");
	assert_non_null(pwnam);
	setenv("DPK_AGENT_SOCKET", e->sock, 1);
	setenv("DPK_NSS_CACHE", cache, 1);
	mine(e);
	assert_int_equal(check_lookup(e, "alice.example.org", 1, "max_proof_age", msg, sizeof(msg)), 1);
	assert_int_equal(pwnam("alice.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
	assert_int_equal(account(e, msg, sizeof(msg)), 0);
	assert_int_equal(access(cache, R_OK), 0); /* the module may answer from the file now */
	/* no block unless asked (a node with a block time stops too): the chain has "stopped" */
	dpk_test_node_call(e->rpc, "evm_setAutomine", "false");
	usleep(3500 * 1000);
	both_refused(e, "chain stopped for 3.5 s", "max_proof_age");
	/* the name service too: neither the cache file (its entry expired with
	 * the proof) nor the agent vouches for alice; UNAVAIL, not NOTFOUND */
	assert_int_equal(pwnam("alice.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
	setenv("DPK_NSS_CACHE", "/nonexistent/dpk-nss-cache", 1); /* the socket alone */
	assert_int_equal(pwnam("alice.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
	assert_int_equal(account(e, msg, sizeof(msg)), -1);
	printf("# chain stopped for 3.5 s: LOGIN_ACCOUNT: %s\n", msg);
	assert_non_null(strstr(msg, "max_proof_age"));
	/* a new block: answers again */
	mine(e);
	usleep(1100 * 1000); /* the agent reuses a header for up to 1 s */
	assert_int_equal(check_lookup(e, "alice.example.org", 1, "max_proof_age", msg, sizeof(msg)), 1);
	assert_int_equal(pwnam("alice.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
	assert_int_equal(account(e, msg, sizeof(msg)), 0);
	dpk_test_node_call(e->rpc, "evm_setAutomine", "true");
	unsetenv("DPK_AGENT_SOCKET");
	unsetenv("DPK_NSS_CACHE");
	dlclose(h);
	stop_agent(e);
	e->extra[0] = '\0';
}

static void
test_status_and_login_block(void **state)
{
	struct env *e = *state;
	struct dpk_client *c;
	struct dpk_client_status st;
	struct dpk_buf out;
	uint64_t lblock = 0, id, head, anchor = 0;
	uint8_t status;
	char ident[256], msg[512];
	size_t n;

	unlink(e->modefile);
	snprintf(e->extra, sizeof(e->extra), "nss_allow = alice.example.org\n");
	start_agent(e, 0);
	assert_int_equal(check_lookup(e, "alice.example.org", 1, "status", msg, sizeof(msg)), 1);
	usleep(600 * 1000); /* an event poll (every 200 ms) asks each endpoint for its head */
	assert_int_equal(dpk_client_open(e->sock, 10000, 0, &c), 0);
	assert_int_equal(dpk_client_status(c, &st), 0);
	assert_int_equal(dpk_client_status_anchor(c, NULL, &anchor, NULL), 1);
	assert_true(anchor > 0);
	assert_true(dpk_client_status_anchor_time(c) > 0);
	for (n = 0; dpk_client_status_endpoint_chain(c, n, &id, &head) == 0; n++) {
		assert_int_equal(id, DPK_TEST_CHAIN_ID);
		assert_true(head >= anchor);
	}
	assert_int_equal(n, 3);
	/* the account decision names the block the record was proven at */
	assert_int_equal(dpk_client_login_account(c, "alice.example.org", &status, ident, sizeof(ident)), 0);
	assert_int_equal(status, 1);
	assert_int_equal(dpk_client_login_proof(c, &lblock, NULL), 1);
	assert_true(lblock > 0 && lblock <= anchor);
	dpk_client_close(c);
	/* --check-config: each endpoint's chain id and head */
	dpk_buf_init(&out, 1 << 20);
	assert_int_equal(check_config(e, &out), 0);
	printf("# --check-config:\n%s", (char *)out.data);
	for (int i = 0; i < 3; i++) {
		char want[96];

		snprintf(want, sizeof(want), "rpc_url http://127.0.0.1:%d: chain id %d, head ", e->port[i], DPK_TEST_CHAIN_ID);
		assert_non_null(strstr((char *)out.data, want));
	}
	dpk_buf_free(&out);
	stop_agent(e);
	e->extra[0] = '\0';
}

/* Lines of e->modefile.methods equal to method. */
static int
count_method(struct env *e, const char *method)
{
	char path[160], line[128];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s.methods", e->modefile);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		n += strcmp(line, method) == 0;
	}
	fclose(f);
	return n;
}

/* Cost: a cold lookup of a P-256 record (or of an unknown identity) is one
 * eth_getProof request, its slots batched; the checked header is fetched
 * once and shared by the lookups made within a second. Counted at the
 * first endpoint, which the agent asks first. */
static void
test_cost(void **state)
{
	struct env *e = *state;
	char path[160], msg[512], name[64];
	int64_t t0, ms;
	int proofs, headers;

	snprintf(path, sizeof(path), "%s.methods", e->modefile);
	unlink(path);
	dpk_test_write_file(e->modefile, "count", 0644);
	start_agent(e, 0);
	t0 = dpk_test_now_ms();
	assert_int_equal(check_lookup(e, "alice.example.org", 1, "count", msg, sizeof(msg)), 1);
	for (int i = 0; i < 9; i++) {
		snprintf(name, sizeof(name), "nobody%d.example.org", i);
		assert_int_equal(check_lookup(e, name, 0, "count", msg, sizeof(msg)), 1);
	}
	ms = dpk_test_now_ms() - t0;
	stop_agent(e);
	proofs = count_method(e, "eth_getProof");
	headers = count_method(e, "eth_getBlockByNumber");
	printf("# 10 cold lookups in %lld ms: %d eth_getProof, %d eth_getBlockByNumber at the first endpoint\n",
	    (long long)ms, proofs, headers);
	assert_int_equal(proofs, 10);
	assert_true(headers >= 1 && headers <= 1 + ms / 1000 + 1);
	unlink(e->modefile);
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	const char *url;
	struct dpk_idkey *k;
	struct dpk_buf pub;

	/* test_max_proof_age stops the chain and test_cost counts headers: a
	 * chain whose height the tests control, whatever DPK_TEST_BLOCK_TIME says */
	dpk_test_anvil_start(&e->anvil, (const char *const[]){"--instant", NULL});
	url = e->anvil.url;
	assert_int_equal(dpk_rpc_new(&e->rpc, &url, 1, NULL), 0);
	dpk_test_wallet(DPK_TEST_DEV_KEY, &e->owner);
	dpk_test_wallet(DPK_TEST_APPROVER_KEY, &e->approver);
	dpk_test_wallet(DPK_TEST_DEVICE_KEY, &e->device);
	dpk_test_deploy(e->rpc, &e->owner, &e->approver, e->contract);
	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_P256, 0, &k), 0);
	dpk_buf_init(&pub, 4096);
	assert_int_equal(dpk_idkey_public_onchain(k, &pub), 0);
	memcpy(e->pub, pub.data, 65);
	dpk_buf_free(&pub);
	dpk_idkey_free(k);
	dpk_test_register(e->rpc, e->contract, &e->approver, &e->device, "alice.example.org",
	    DPK_REGISTRY_ALG_P256, e->pub, 65);
	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	snprintf(e->conf, sizeof(e->conf), "%s/dpk.conf", e->dir);
	snprintf(e->sock, sizeof(e->sock), "%s/agent.sock", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/agent.log", e->dir);
	snprintf(e->modefile, sizeof(e->modefile), "%s/mode", e->dir);
	start_proxies(e);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	if (e == NULL)
		return 0;
	stop_agent(e);
	for (int i = 0; i < 3; i++)
		if (e->proxy[i] > 0) {
			kill(e->proxy[i], SIGKILL);
			waitpid(e->proxy[i], NULL, 0);
		}
	dpk_test_chain_down(&e->anvil, e->rpc);
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_liar_first_of_three),
		cmocka_unit_test(test_liar_alone),
		cmocka_unit_test(test_checkpoint),
		cmocka_unit_test(test_checkpoint_walk_budget),
		cmocka_unit_test(test_max_proof_age),
		cmocka_unit_test(test_status_and_login_block),
		cmocka_unit_test(test_cost),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
