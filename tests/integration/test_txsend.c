/* Sending our own transactions on a real anvil mining a block every second:
 * progress while waiting, re-submitting the same signed bytes (a crash
 * between sending and recording) changes nothing, contract creation, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "harness.h"
#include "base/hex.h"
#include "eth/tx.h"
#include "eth/txsend.h"

struct ctx {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet dev;
};

static int
setup(void **state)
{
	static const char *const args[] = {"--block-time", "1", NULL};
	struct ctx *c = calloc(1, sizeof(*c));
	uint8_t priv[32];
	const char *url;

	dpk_test_anvil_start(&c->anvil, args);
	url = c->anvil.url;
	assert_int_equal(dpk_rpc_new(&c->rpc, &url, 1, NULL), 0);
	assert_int_equal(dpk_hex_decode_exact(DPK_TEST_DEV_KEY, priv, 32), 0);
	assert_int_equal(dpk_wallet_from_private(&c->dev, priv), 0);
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	struct ctx *c = *state;

	dpk_rpc_free(c->rpc);
	dpk_test_anvil_stop(&c->anvil);
	dpk_wallet_clear(&c->dev);
	free(c);
	return 0;
}

static int progress_calls;
static uint64_t last_elapsed;

static void
progress(void *arg, uint64_t blocks, uint64_t elapsed_ms)
{
	progress_calls++;
	last_elapsed = elapsed_ms;
}

static void
test_resubmit_is_idempotent(void **state)
{
	struct ctx *c = *state;
	struct dpk_wallet to;
	struct dpk_txsend req = {0};
	struct dpk_rpc_receipt r1, r2;
	struct dpk_buf raw;
	struct dpk_u256 bal, want;
	uint8_t hash[32];
	uint64_t nonce, nonce_after;

	assert_int_equal(dpk_wallet_generate(&to), 0);
	req.to = to.addr;
	dpk_u256_from_u64(&req.value, 1000000000000000000ULL);
	dpk_buf_init(&raw, DPK_TX_MAX_RAW);
	assert_int_equal(dpk_txsend_prepare(c->rpc, &c->dev, DPK_TEST_CHAIN_ID, &req, &raw, hash, &nonce), 0);

	progress_calls = 0;
	assert_int_equal(dpk_txsend_submit(c->rpc, raw.data, raw.len, hash, 30000, progress, NULL, &r1), 0);
	assert_int_equal(r1.status, 1);
	assert_true(progress_calls >= 1); /* a 1 s block time: the wait is seen */
	/* as after a crash: the same bytes again, possibly before or after mining */
	assert_int_equal(dpk_txsend_submit(c->rpc, raw.data, raw.len, hash, 30000, NULL, NULL, &r2), 0);
	assert_memory_equal(r1.tx_hash, r2.tx_hash, 32);
	assert_true(r1.block_number == r2.block_number);
	assert_int_equal(dpk_rpc_balance(c->rpc, to.addr, DPK_RPC_LATEST, &bal), 0);
	dpk_u256_from_u64(&want, 1000000000000000000ULL);
	assert_int_equal(dpk_u256_cmp(&bal, &want), 0); /* paid once */
	assert_int_equal(dpk_rpc_nonce(c->rpc, c->dev.addr, DPK_RPC_LATEST, &nonce_after), 0);
	assert_true(nonce_after == nonce + 1);
	dpk_rpc_receipt_free(&r1);
	dpk_rpc_receipt_free(&r2);

	/* a different transaction with a used nonce is a real refusal */
	struct dpk_txsend stale = req;
	stale.has_nonce = 1;
	stale.nonce = nonce;
	dpk_u256_from_u64(&stale.value, 5);
	dpk_buf_reset(&raw);
	assert_int_equal(dpk_txsend_prepare(c->rpc, &c->dev, DPK_TEST_CHAIN_ID, &stale, &raw, hash, &nonce), 0);
	assert_int_equal(dpk_txsend_submit(c->rpc, raw.data, raw.len, hash, 5000, NULL, NULL, &r1), DPK_ERR_RPC);
	if (strstr(dpk_rpc_last_error(c->rpc), "nonce") == NULL)
		fail_msg("unexpected refusal: %s", dpk_rpc_last_error(c->rpc));
	dpk_buf_free(&raw);
	dpk_wallet_clear(&to);
}

static void
test_create_contract(void **state)
{
	/* init code that deploys a contract returning 42 for any call */
	static const char init_hex[] = "600a600c600039600a6000f3602a60005260206000f3";
	struct ctx *c = *state;
	struct dpk_txsend req = {0};
	struct dpk_rpc_receipt rc;
	struct dpk_buf out;
	uint8_t init[32];
	size_t n;

	assert_int_equal(dpk_hex_decode(init_hex, strlen(init_hex), init, sizeof(init), &n), 0);
	req.data = init;
	req.data_len = n;
	assert_int_equal(dpk_txsend(c->rpc, &c->dev, DPK_TEST_CHAIN_ID, &req, 30000, NULL, NULL, &rc), 0);
	assert_int_equal(rc.status, 1);
	assert_true(rc.has_contract_address);
	struct dpk_rpc_callmsg msg = {.to = rc.contract_address};
	dpk_buf_init(&out, 1024);
	assert_int_equal(dpk_rpc_call(c->rpc, &msg, DPK_RPC_LATEST, &out), 0);
	assert_int_equal(out.len, 32);
	assert_int_equal(out.data[31], 42);
	dpk_buf_free(&out);
	dpk_rpc_receipt_free(&rc);
}

static void
test_wrong_chain_refused(void **state)
{
	struct ctx *c = *state;
	struct dpk_txsend req = {0};
	struct dpk_rpc_receipt rc;

	req.to = c->dev.addr;
	/* signed for another chain: the node refuses it, nothing is mined */
	assert_int_equal(dpk_txsend(c->rpc, &c->dev, 1, &req, 5000, NULL, NULL, &rc), DPK_ERR_RPC);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_resubmit_is_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_contract, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_chain_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
