/* The built dpkctl against a real dpk-agent on anvil: --json gives one
 * JSON object for every command (an answer or {"error", "exit"}); dpkctl's
 * options anywhere on the line; status's chain, registration, wallet and
 * cache figures; cache flush refused to an unprivileged user (uid nobody,
 * through setpriv) and, for root, making a revocation the agent had cached
 * as active visible at once (the event poll is set to an hour, so only the
 * flush can). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dpk/client.h"
#include "agent.h"
#include "chain.h"
#include "harness.h"

#define NOBODY "65534"

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, approver, device;
	uint8_t contract[20];
	char dir[64], dpkctl[512];
	struct dpk_test_agent host, bob;
};

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	dpk_test_chain_up(&e->anvil, &e->rpc, &e->owner, &e->approver, &e->device, e->contract);
	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	assert_int_equal(chmod(e->dir, 0755), 0); /* uid nobody reaches the socket */
	dpk_test_built("dpkctl/dpkctl", e->dpkctl, sizeof(e->dpkctl));
	/* bob: a registered identity whose key the host looks up */
	dpk_test_agent_start(&e->bob, e->dir, "bob", e->anvil.url, e->contract, "identity = bob.example.org\n");
	dpk_test_agent_register(&e->bob, e->rpc, e->contract, &e->approver, &e->device, "bob.example.org");
	/* the host: events read once at start and then only after an hour */
	dpk_test_agent_start(&e->host, e->dir, "host", e->anvil.url, e->contract,
	    "identity = host.example.org\npoll_interval = 1h\ncache_ttl = 1h\nnegative_cache_ttl = 1h\n");
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	dpk_test_agent_stop(&e->host);
	dpk_test_agent_stop(&e->bob);
	dpk_test_chain_down(&e->anvil, e->rpc);
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

/* Run dpkctl (as uid nobody when as_nobody) with the NULL-terminated
 * arguments; its stdout in out; its exit status. */
#define ctl(e, as_nobody, out, ...) dpk_test_run_words(out, (as_nobody) ? (char *const[]){(char *)"/usr/bin/setpriv", \
    (char *)"--reuid=" NOBODY, (char *)"--regid=" NOBODY, (char *)"--clear-groups", (e)->dpkctl, NULL} : \
    (char *const[]){(e)->dpkctl, NULL}, __VA_ARGS__)

/* out parsed as one JSON object (the test fails if it is not). */
static cJSON *
json_of(const struct dpk_buf *out)
{
	cJSON *j = cJSON_Parse((const char *)out->data);

	if (j == NULL || !cJSON_IsObject(j))
		fail_msg("not one JSON object: '%s'", (const char *)out->data);
	return j;
}

/* j's member path1 (or path1.path2), which must be a number (or a string) */
static const cJSON *
member(const cJSON *j, const char *path1, const char *path2, cJSON_bool (*is)(const cJSON *))
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, path1);

	if (path2 != NULL)
		v = cJSON_GetObjectItemCaseSensitive(v, path2);
	if (!is(v))
		fail_msg("no %s %s%s%s", is == cJSON_IsNumber ? "number" : "string", path1, path2 ? "." : "",
		    path2 ? path2 : "");
	return v;
}

static double
num(const cJSON *j, const char *path1, const char *path2)
{
	return member(j, path1, path2, cJSON_IsNumber)->valuedouble;
}

static const char *
str(const cJSON *j, const char *path1, const char *path2)
{
	return member(j, path1, path2, cJSON_IsString)->valuestring;
}

/* status --json until the agent's first event poll has ended. */
static cJSON *
status_polled(struct env *e)
{
	int64_t end = dpk_test_now_ms() + 10000;

	for (;;) {
		struct dpk_buf out;
		cJSON *j;

		assert_int_equal(ctl(e, 0, &out, "status", "--json", "--socket", e->host.sock, NULL), 0);
		j = json_of(&out);
		dpk_buf_free(&out);
		if (strcmp(str(j, "chain", "state"), "not read yet") != 0 &&
		    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "wallet_balance_wei")))
			return j;
		cJSON_Delete(j);
		if (dpk_test_now_ms() > end)
			fail_msg("the agent's first poll did not end within 10 s");
		dpk_test_sleep_ms(100);
	}
}

/* status shows the chain reachable at a head block, the registration step,
 * the wallet's balance and the cache's figures, which move with lookups;
 * dpkctl's options are the same before and after the command. */
static void
test_status(void **state)
{
	struct env *e = *state;
	struct dpk_buf out, out2;
	cJSON *j, *k;
	uint64_t head;

	j = status_polled(e);
	assert_int_equal(num(j, "chain_id", NULL), DPK_TEST_CHAIN_ID);
	assert_string_equal(str(j, "chain", "state"), "reachable");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(j, "chain"), "reachable")));
	assert_int_equal(dpk_rpc_block_number(e->rpc, &head), 0);
	assert_true(num(j, "chain", "head_block") >= 1 && num(j, "chain", "head_block") <= (double)head);
	assert_string_equal(str(j, "registration", "step"), "none");
	assert_string_equal(str(j, "wallet_balance_wei", NULL), "0");
	assert_int_equal(num(j, "cache", "entries"), 0);
	assert_int_equal(num(j, "cache", "hits"), 0);
	assert_int_equal(num(j, "cache", "misses"), 0);
	cJSON_Delete(j);

	/* one read of the chain, then one answer from the cache */
	assert_int_equal(ctl(e, 0, &out, "--socket", e->host.sock, "lookup", "bob.example.org", NULL), 0);
	dpk_buf_free(&out);
	assert_int_equal(ctl(e, 0, &out, "lookup", "--json", "bob.example.org", "-s", e->host.sock, NULL), 0);
	j = json_of(&out);
	assert_string_equal(str(j, "status", NULL), "active");
	cJSON_Delete(j);
	dpk_buf_free(&out);
	/* the same answer with the options before the command, after it, and "--" */
	assert_int_equal(ctl(e, 0, &out, "-s", e->host.sock, "--json", "status", NULL), 0);
	/* after "--", "--json" is the user name, not the option: the answer is text */
	assert_int_equal(ctl(e, 0, &out2, "-s", e->host.sock, "user-check", "--", "--json", NULL), 1);
	assert_true(strncmp((const char *)out2.data, "user --json:", 12) == 0);
	dpk_buf_free(&out2);
	j = json_of(&out);
	assert_int_equal(num(j, "cache", "entries"), 1);
	assert_int_equal(num(j, "cache", "hits"), 1);
	assert_int_equal(num(j, "cache", "misses"), 1);
	assert_int_equal(ctl(e, 0, &out2, "status", "-s", e->host.sock, "--json", NULL), 0);
	k = json_of(&out2);
	assert_int_equal(num(k, "cache", "hits"), 1);
	assert_string_equal(str(k, "contract", NULL), str(j, "contract", NULL));
	cJSON_Delete(j);
	cJSON_Delete(k);
	dpk_buf_free(&out);
	dpk_buf_free(&out2);

	/* the library's decoder reads the same block */
	{
		struct dpk_client *c;
		struct dpk_client_status st;
		struct dpk_client_status_ops ops;

		assert_int_equal(dpk_client_open(e->host.sock, 5000, 0, &c), 0);
		assert_int_equal(dpk_client_status(c, &st), 0);
		assert_int_equal(dpk_client_status_ops(c, &ops), 1);
		assert_int_equal(ops.chain, 1);
		assert_true(ops.has_balance);
		assert_int_equal(ops.cache_entries, 1);
		assert_int_equal(ops.cache_hits, 1);
		assert_int_equal(ops.cache_misses, 1);
		dpk_client_close(c);
	}

	/* the text form says the same */
	assert_int_equal(ctl(e, 0, &out, "status", "-s", e->host.sock, NULL), 0);
	assert_non_null(strstr((const char *)out.data, "chain:         reachable, head block "));
	assert_non_null(strstr((const char *)out.data, "balance:       0.0 ETH (0 wei)"));
	assert_non_null(strstr((const char *)out.data, "cache:         1 entry, 1 hit, 1 chain read"));
	dpk_buf_free(&out);
}

/* Every command answers --json with one JSON object: its answer, or
 * {"error", "exit"} with the exit status it returned. */
static void
test_json_every_command(void **state)
{
	struct env *e = *state;
	static const struct {
		int exit;
		const char *args[6];
		const char *key; /* a member the answer has */
	} cases[] = {
		{0, {"status"}, "chain"},
		{0, {"pubkey"}, "openssh"},
		{0, {"lookup", "bob.example.org"}, "public_key"},
		{1, {"lookup", "nobody.example.org"}, "status"},
		{1, {"register", "--no-wait"}, "error"},          /* no token_file in this agent's configuration */
		{1, {"psk-get", "bob.example.org"}, "error"},     /* no PSK made yet */
		{1, {"psk", "bob.example.org", "--connect", "127.0.0.1:1"}, "error"},
		{2, {"ticket", "redeem", "/dev/null"}, "error"},  /* not a ticket: refused before the agent is asked */
		{1, {"user-check", "bob.example.org"}, "steps"},
		{1, {"respond", "--yes", "DPK-LOGIN-v1.AAAA"}, "error"},
		{0, {"cache", "flush"}, "dropped"},
		{2, {"cache", "empty"}, "error"},
		{2, {"lookup"}, "error"},
		{2, {"status", "--bogus"}, "error"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[16];
		size_t n = 0;
		struct dpk_buf out;
		cJSON *j;
		int r;

		argv[n++] = e->dpkctl;
		argv[n++] = (char *)"--json";
		for (size_t k = 0; k < 6 && cases[i].args[k] != NULL; k++)
			argv[n++] = (char *)cases[i].args[k];
		argv[n++] = (char *)"--socket";
		argv[n++] = e->host.sock;
		argv[n] = NULL;
		dpk_buf_init(&out, 1 << 20);
		r = dpk_test_run(argv, NULL, &out);
		assert_int_equal(dpk_buf_cstr(&out), 0);
		if (r != cases[i].exit)
			fail_msg("dpkctl --json %s %s: exit %d, not %d", cases[i].args[0],
			    cases[i].args[1] ? cases[i].args[1] : "", r, cases[i].exit);
		j = json_of(&out);
		if (cJSON_GetObjectItemCaseSensitive(j, cases[i].key) == NULL)
			fail_msg("dpkctl --json %s: no \"%s\" in %s", cases[i].args[0], cases[i].key, (const char *)out.data);
		if (strcmp(cases[i].key, "error") == 0)
			assert_int_equal(num(j, "exit", NULL), r);
		cJSON_Delete(j);
		dpk_buf_free(&out);
	}
}

/* cache flush: refused to uid nobody (the cache stays), and for root the
 * next lookup reads the chain: a revocation made after the record was
 * cached shows at once, not after the hour's poll or TTL. */
static void
test_cache_flush(void **state)
{
	struct env *e = *state;
	struct dpk_buf out;
	cJSON *j;

	cJSON_Delete(status_polled(e)); /* the first poll is behind: the next one is an hour away */
	assert_int_equal(ctl(e, 0, &out, "lookup", "bob.example.org", "-s", e->host.sock, NULL), 0);
	dpk_buf_free(&out);
	dpk_test_revoke(e->rpc, e->contract, &e->approver, "bob.example.org");
	/* still cached as active */
	assert_int_equal(ctl(e, 0, &out, "lookup", "bob.example.org", "-s", e->host.sock, NULL), 0);
	dpk_buf_free(&out);

	/* uid nobody may look up (an answer from the cache) but not flush */
	assert_int_equal(ctl(e, 1, &out, "lookup", "bob.example.org", "-s", e->host.sock, NULL), 0);
	dpk_buf_free(&out);
	assert_int_equal(ctl(e, 1, &out, "--json", "cache", "flush", "-s", e->host.sock, NULL), 1);
	j = json_of(&out);
	assert_non_null(strstr(str(j, "error", NULL), "only root may flush"));
	cJSON_Delete(j);
	dpk_buf_free(&out);
	assert_int_equal(ctl(e, 0, &out, "lookup", "bob.example.org", "-s", e->host.sock, NULL), 0);
	dpk_buf_free(&out);

	assert_int_equal(ctl(e, 0, &out, "cache", "flush", "--json", "-s", e->host.sock, NULL), 0);
	j = json_of(&out);
	assert_int_equal(num(j, "dropped", NULL), 1);
	cJSON_Delete(j);
	dpk_buf_free(&out);
	assert_int_equal(ctl(e, 0, &out, "lookup", "bob.example.org", "--json", "-s", e->host.sock, NULL), 1);
	j = json_of(&out);
	assert_string_equal(str(j, "status", NULL), "revoked");
	cJSON_Delete(j);
	dpk_buf_free(&out);
	/* the agent's log says who flushed */
	assert_true(dpk_test_count_lines(e->host.log, "cache flushed by uid 0: 1 record(s) dropped") == 1);
}

int
main(void)
{
	dpk_test_skip_unless_root();

	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_every_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_flush, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
