/* dpkctl metrics against a real agent on anvil: the text is valid
 * Prometheus text (tests/harness/promtext.c, strict), the counters move as
 * requests are made (lookups: hits and misses, chain jobs, failures), the
 * gauges show the chain (head block, endpoint up), and a caller who is
 * neither root nor in admin_group is refused (and counted). */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dpk/client.h"
#include "agent.h"
#include "base/buf.h"
#include "chain.h"
#include "crypto/idkey.h"
#include "eth/txsend.h"
#include "harness.h"
#include "promtext.h"
#include "proto.h"
#include "registry/registry.h"

struct env {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet owner, approver, device;
	uint8_t contract[20];
	char dir[64];
	struct dpk_test_agent agent;
};

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
	dpk_test_wallet(DPK_TEST_APPROVER_KEY, &e->approver);
	dpk_test_wallet(DPK_TEST_DEVICE_KEY, &e->device);
	dpk_test_deploy(e->rpc, &e->owner, &e->approver, e->contract);
	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_P256, 0, &k), 0);
	dpk_buf_init(&pub, 4096);
	assert_int_equal(dpk_idkey_public_onchain(k, &pub), 0);
	dpk_test_register(e->rpc, e->contract, &e->approver, &e->device, "alice.example.org", DPK_REGISTRY_ALG_P256,
	    pub.data, pub.len);
	dpk_buf_free(&pub);
	dpk_idkey_free(k);
	dpk_test_tmpdir(e->dir, sizeof(e->dir));
	/* the socket is 0666; let nobody reach it */
	assert_int_equal(chmod(e->dir, 0755), 0);
	dpk_test_agent_start(&e->agent, e->dir, "host", e->anvil.url, e->contract, "");
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	dpk_test_agent_stop(&e->agent);
	dpk_test_anvil_stop(&e->anvil);
	dpk_rpc_free(e->rpc);
	dpk_test_rmtree(e->dir);
	free(e);
	return 0;
}

/* dpkctl metrics as root: exit 0 and text the strict checker accepts. */
static void
metrics(struct env *e, struct dpk_buf *out)
{
	char dpkctl[512], why[256];

	dpk_test_built("dpkctl/dpkctl", dpkctl, sizeof(dpkctl));
	char *argv[] = {dpkctl, (char *)"--socket", e->agent.sock, (char *)"metrics", NULL};
	dpk_buf_init(out, 1 << 20);
	assert_int_equal(dpk_test_run(argv, NULL, out), 0);
	assert_true(out->len > 0);
	if (dpk_test_promtext_check((const char *)out->data, out->len, why, sizeof(why)) != 0)
		fail_msg("dpkctl metrics is not valid Prometheus text: %s", why);
	assert_int_equal(dpk_buf_cstr(out), 0); /* NUL-terminated for the lookups below */
}

static double
value(const struct dpk_buf *t, const char *series)
{
	return dpk_test_promtext_value((const char *)t->data, series);
}

static int
lookup(struct env *e, const char *identity)
{
	struct dpk_client_record rec;
	struct dpk_client *c;
	int r;

	assert_int_equal(dpk_client_open(e->agent.sock, 5000, 0, &c), 0);
	memset(&rec, 0, sizeof(rec));
	r = dpk_client_lookup(c, identity, &rec);
	if (r == 0)
		dpk_client_record_free(&rec);
	dpk_client_close(c);
	return r;
}

#define LOOKUP_OK "dpk_agent_requests_total{type=\"lookup\",outcome=\"ok\"}"
#define LOOKUP_FAILED "dpk_agent_requests_total{type=\"lookup\",outcome=\"failed\"}"
#define HITS "dpk_agent_cache_requests_total{result=\"hit\"}"
#define MISSES "dpk_agent_cache_requests_total{result=\"miss\"}"
#define JOBS_LOOKUP "dpk_agent_chain_job_duration_seconds_count{job=\"lookup\"}"
#define JOBS_POLL "dpk_agent_chain_job_duration_seconds_count{job=\"poll\"}"

static void
test_counters_move(void **state)
{
	struct env *e = *state;
	struct dpk_buf a, b;
	uint64_t head;

	metrics(e, &a);
	assert_int_equal(lookup(e, "alice.example.org"), 0);  /* a miss: read from the chain */
	assert_int_equal(lookup(e, "alice.example.org"), 0);  /* a hit */
	assert_int_not_equal(lookup(e, "not an identity!"), 0); /* refused before the cache */
	dpk_test_sleep_ms(700);                               /* a few event polls (poll_interval 200 ms) */
	metrics(e, &b);

	assert_true(value(&b, LOOKUP_OK) - value(&a, LOOKUP_OK) == 2);
	assert_true(value(&b, LOOKUP_FAILED) - value(&a, LOOKUP_FAILED) == 1);
	assert_true(value(&b, MISSES) - value(&a, MISSES) == 1);
	assert_true(value(&b, HITS) - value(&a, HITS) == 1);
	assert_true(value(&b, JOBS_LOOKUP) - value(&a, JOBS_LOOKUP) == 1);
	assert_true(value(&b, JOBS_POLL) > value(&a, JOBS_POLL));
	/* the first dpkctl metrics is counted by the second */
	assert_true(value(&b, "dpk_agent_requests_total{type=\"metrics\",outcome=\"ok\"}") >= 1);
	assert_int_equal(dpk_rpc_block_number(e->rpc, &head), 0);
	assert_true(value(&b, "dpk_agent_chain_head_block") > 0);
	assert_true(value(&b, "dpk_agent_chain_head_block") <= (double)head);
	assert_non_null(strstr((const char *)b.data, "dpk_agent_endpoint_up{endpoint=\"http://127.0.0.1:"));
	assert_non_null(strstr((const char *)b.data, ",state=\"ok\"} 1\n"));
	assert_non_null(strstr((const char *)b.data, "\ndpk_agent_info{version=\"" PACKAGE_VERSION "\",chain_id=\"31337\"} 1\n"));
	assert_true(value(&b, "dpk_agent_registered") == 0); /* this host never registered itself */
	assert_true(value(&b, "dpk_agent_connections") >= 1); /* the metrics request's own */
	printf("dpkctl metrics after the lookups:\n%s", (const char *)b.data); /* for the log's reader */
	dpk_buf_free(&a);
	dpk_buf_free(&b);
}

/* The error code a METRICS request gets as uid/gid 65534 (nobody). */
static int
metrics_as_nobody(struct env *e)
{
	int st[2], code = -1, status;
	pid_t pid;

	assert_int_equal(pipe(st), 0);
	pid = fork();
	if (pid == 0) {
		struct dpk_client *c;
		uint8_t rtype, reply[65536];
		size_t n;
		int out = -1;

		if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		if (dpk_client_open(e->agent.sock, 5000, 0, &c) == 0) {
			int r = dpk_client_call(c, DPK_MSG_METRICS, NULL, 0, &rtype, reply, sizeof(reply), &n);

			out = r == DPK_CLIENT_EAGENT ? dpk_client_agent_error(c, NULL) : r;
			dpk_client_close(c);
		}
		_exit(write(st[1], &out, sizeof(out)) == sizeof(out) ? 0 : 1);
	}
	close(st[1]);
	assert_int_equal(read(st[0], &code, sizeof(code)), (ssize_t)sizeof(code));
	close(st[0]);
	waitpid(pid, &status, 0);
	return code;
}

static void
test_unprivileged_refused(void **state)
{
	struct env *e = *state;
	struct dpk_buf a, b;
	struct dpk_client *c;
	uint8_t rtype, reply[64];
	size_t n;
	const char *msg = "";

	metrics(e, &a);
	assert_int_equal(metrics_as_nobody(e), 23); /* DPK_ERR_PERM */
	/* a METRICS request with a body is malformed, even from root */
	assert_int_equal(dpk_client_open(e->agent.sock, 5000, 0, &c), 0);
	assert_int_equal(dpk_client_call(c, DPK_MSG_METRICS, "x", 1, &rtype, reply, sizeof(reply), &n),
	    DPK_CLIENT_EAGENT);
	assert_int_equal(dpk_client_agent_error(c, &msg), 10); /* DPK_ERR_SYNTAX */
	assert_non_null(strstr(msg, "malformed METRICS request"));
	dpk_client_close(c);
	metrics(e, &b);
	assert_true(value(&b, "dpk_agent_requests_total{type=\"metrics\",outcome=\"failed\"}") -
	    value(&a, "dpk_agent_requests_total{type=\"metrics\",outcome=\"failed\"}") == 2);
	dpk_buf_free(&a);
	dpk_buf_free(&b);
}

/* dpk-pkm metrics (as root: exit 0 and strict text; as nobody: refused,
 * since the state directory is root's 0700), in out. */
static int
pkm_metrics(struct env *e, int as_nobody, struct dpk_buf *out)
{
	char pkm[512], conf[512], why[256];
	int st;

	dpk_test_built("pkm/dpk-pkm", pkm, sizeof(pkm));
	snprintf(conf, sizeof(conf), "%s/pkm.conf", e->dir);
	char *argv[] = {pkm, (char *)"-c", conf, (char *)"metrics", NULL};
	dpk_buf_init(out, 1 << 20);
	if (as_nobody) {
		pid_t pid = fork();

		if (pid == 0) {
			if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
				_exit(99);
			_exit(dpk_test_run(argv, NULL, out) == 0 && out->len > 0 ? 0 : 1);
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	}
	st = dpk_test_run(argv, NULL, out);
	assert_int_equal(st, 0);
	if (dpk_test_promtext_check((const char *)out->data, out->len, why, sizeof(why)) != 0)
		fail_msg("dpk-pkm metrics is not valid Prometheus text: %s", why);
	assert_int_equal(dpk_buf_cstr(out), 0);
	return 0;
}

static void
test_pkm_metrics(void **state)
{
	struct env *e = *state;
	char pkm[512], conf[512], token[512], addr[43], text[1024], *w;
	struct dpk_buf out, a, b;
	uint8_t wallet[20];
	struct dpk_txsend req = {0};
	struct dpk_rpc_receipt rc;

	dpk_wallet_address_format(e->contract, addr);
	snprintf(text, sizeof(text), "rpc_url = %s\nchain_id = %d\ncontract = %s\nstate_dir = %s/pkm-state\n"
	    "listen = 127.0.0.1:1\n", e->anvil.url, DPK_TEST_CHAIN_ID, addr, e->dir);
	snprintf(conf, sizeof(conf), "%s/pkm.conf", e->dir);
	dpk_test_write_file(conf, text, 0644);
	dpk_test_built("pkm/dpk-pkm", pkm, sizeof(pkm));
	{
		char *argv[] = {pkm, (char *)"-c", conf, (char *)"init", NULL};

		dpk_buf_init(&out, 1 << 16);
		assert_int_equal(dpk_test_run(argv, NULL, &out), 0);
		assert_int_equal(dpk_buf_cstr(&out), 0);
		assert_non_null(w = strstr((char *)out.data, "wallet: 0x"));
		assert_int_equal(dpk_wallet_address_parse_n(w + 8, 42, wallet), 0);
		dpk_buf_free(&out);
	}
	pkm_metrics(e, 0, &a);
	assert_true(value(&a, "dpk_pkm_tokens{state=\"issued\"}") == 0);
	assert_true(value(&a, "dpk_pkm_chain_up") == 1);
	assert_true(value(&a, "dpk_pkm_wallet_balance_wei") == 0);
	assert_true(value(&a, "dpk_pkm_chain_head_block") > 0);

	/* one token enrolled, one ether sent to the wallet: both show */
	snprintf(token, sizeof(token), "%s/token", e->dir);
	{
		char *argv[] = {pkm, (char *)"-c", conf, (char *)"enrol", (char *)"bob.example.org", (char *)"--out", token, NULL};

		assert_int_equal(dpk_test_run(argv, NULL, NULL), 0);
	}
	req.to = wallet;
	dpk_u256_from_dec(&req.value, "1000000000000000000");
	assert_int_equal(dpk_txsend(e->rpc, &e->owner, DPK_TEST_CHAIN_ID, &req, 30000, NULL, NULL, &rc), 0);
	dpk_rpc_receipt_free(&rc);
	pkm_metrics(e, 0, &b);
	assert_true(value(&b, "dpk_pkm_tokens{state=\"issued\"}") == 1);
	assert_true(value(&b, "dpk_pkm_wallet_balance_wei") == 1e18);
	assert_true(value(&b, "dpk_pkm_chain_head_block") > value(&a, "dpk_pkm_chain_head_block"));
	printf("dpk-pkm metrics:\n%s", (const char *)b.data);
	dpk_buf_free(&a);
	dpk_buf_free(&b);

	/* nobody cannot read the PKM's state: no metrics */
	assert_int_not_equal(pkm_metrics(e, 1, &out), 0);
	dpk_buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counters_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unprivileged_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pkm_metrics, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
