/* Sending our own transactions on a real anvil mining a block every second:
 * progress while waiting, re-submitting the same signed bytes (a crash
 * between sending and recording) changes nothing, contract creation, refusals.
 * Fees, on an anvil whose blocks the test mines: a base-fee spike leaves a
 * transaction pending; its replacement (same nonce, fees bumped within the
 * cap) is mined and the nonce advances by one; a cap below the network's base
 * fee refuses with both figures; the cost estimate includes an OP-stack L1
 * data fee from a GasPriceOracle planted with anvil_setCode (before Fjord:
 * getL1Fee; after: getL1FeeUpperBound). Prints a trace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "chain.h"
#include "harness.h"
#include "base/hex.h"
#include "eth/abi.h"
#include "eth/fees.h"
#include "eth/tx.h"
#include "eth/txsend.h"

struct ctx {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet dev;
};

static int
setup_with(void **state, const char *const *args)
{
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
setup(void **state)
{
	static const char *const args[] = {"--block-time", "1", NULL};

	return setup_with(state, args);
}

/* blocks are mined by the test only */
static int
setup_manual(void **state)
{
	setup_with(state, NULL);
	dpk_test_node_call(((struct ctx *)*state)->rpc, "evm_setAutomine", "false");
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

static void
trace(const char *what, const struct dpk_fee_offer *o, const uint8_t hash[32], const char *outcome)
{
	char tip[48], max[48], hex[67];

	dpk_fee_format(o->tip, tip, sizeof(tip));
	dpk_fee_format(o->max_fee, max, sizeof(max));
	dpk_hex_encode(hash, 32, 1, hex, sizeof(hex));
	printf("  %-12s maxFee %-16s tip %-12s %.18s...  %s\n", what, max, tip, hex, outcome);
	fflush(stdout);
}

static int
mined(struct dpk_rpc *rpc, const uint8_t hash[32], uint64_t *block)
{
	struct dpk_rpc_receipt rc;
	int r = dpk_rpc_receipt(rpc, hash, &rc);

	if (r == DPK_ERR_NOTFOUND)
		return 0;
	assert_int_equal(r, 0);
	assert_int_equal(rc.status, 1);
	*block = rc.block_number;
	dpk_rpc_receipt_free(&rc);
	return 1;
}

/* A spike leaves the first send pending; the replacement is mined; one nonce used. */
static void
test_spike_replaced(void **state)
{
	struct ctx *c = *state;
	struct dpk_fee_policy pol = {.max_fee = 500 * DPK_GWEI, .max_tip = 0};
	struct dpk_fee_offer first, second;
	struct dpk_txsend req = {.to = c->dev.addr, .gas_limit = 21000};
	struct dpk_buf raw, raw2;
	uint8_t h1[32], h2[32], got[32];
	uint64_t nonce0, nonce, n1, block = 0;
	char msg[256], base[48];

	dpk_buf_init(&raw, DPK_TX_MAX_RAW);
	dpk_buf_init(&raw2, DPK_TX_MAX_RAW);
	dpk_u256_from_u64(&req.value, 1);
	assert_int_equal(dpk_rpc_nonce(c->rpc, c->dev.addr, DPK_RPC_LATEST, &nonce0), 0);
	assert_int_equal(dpk_fees_offer(c->rpc, &pol, &first, msg, sizeof(msg)), 0);
	req.fees = &first;
	assert_int_equal(dpk_txsend_prepare(c->rpc, &c->dev, 31337, &req, &raw, h1, &n1), 0);
	assert_int_equal(n1, nonce0);
	assert_int_equal(dpk_rpc_send_raw(c->rpc, raw.data, raw.len, got), 0);
	printf("fee spike and replacement (cap max_fee_per_gas = 500 gwei):\n");
	trace("send", &first, h1, "sent");

	/* the spike, made by load: the base fee rises to 3x what the first send offers */
	dpk_fee_format(dpk_test_fee_spike(c->rpc, 3 * first.max_fee, 0), base, sizeof(base));
	assert_false(mined(c->rpc, h1, &block));
	printf("  block mined with base fee %s: the first send is still pending\n", base);

	assert_int_equal(dpk_txsend_replace(c->rpc, &c->dev, &pol, raw.data, raw.len, &raw2, h2, &second, msg,
	    sizeof(msg)), 0);
	/* what nodes require of a replacement: +10% on both fields; within the cap */
	assert_true(second.max_fee * 10 >= first.max_fee * 11);
	assert_true(second.tip * 10 >= first.tip * 11);
	assert_true(second.max_fee <= pol.max_fee);
	assert_true(second.max_fee > 3 * first.max_fee); /* enough for the network now */
	assert_int_equal(dpk_rpc_send_raw(c->rpc, raw2.data, raw2.len, got), 0);
	assert_memory_equal(got, h2, 32);
	trace("replacement", &second, h2, "sent (same nonce)");
	dpk_test_node_call(c->rpc, "evm_mine", NULL);
	if (!mined(c->rpc, h2, &block) && !mined(c->rpc, h1, &block)) {
		/* a node may drop what it has taken (pool eviction, a restart;
		 * ganache drops the first send and with it the replacement): the
		 * sender sends its current version again, as the agent and the
		 * PKM do while they wait */
		printf("  the node mined neither and dropped them: the replacement is sent again\n");
		assert_int_equal(dpk_rpc_send_raw(c->rpc, raw2.data, raw2.len, got), 0);
		dpk_test_node_call(c->rpc, "evm_mine", NULL);
	}
	assert_true(mined(c->rpc, h2, &block));
	assert_false(mined(c->rpc, h1, &block));
	trace("replacement", &second, h2, "mined");
	assert_int_equal(dpk_rpc_nonce(c->rpc, c->dev.addr, DPK_RPC_LATEST, &nonce), 0);
	assert_int_equal(nonce, nonce0 + 1);
	printf("  nonce %llu -> %llu: one transaction for one action\n", (unsigned long long)nonce0,
	    (unsigned long long)nonce);
	dpk_buf_free(&raw);
	dpk_buf_free(&raw2);
}

/* A cap below the network's base fee: nothing is signed, the message names both figures. */
static void
test_cap_refuses(void **state)
{
	struct ctx *c = *state;
	struct dpk_fee_policy pol = {.max_fee = 2 * DPK_GWEI};
	struct dpk_fee_offer o, prev = {.tip = DPK_GWEI, .max_fee = 19 * DPK_GWEI / 10};
	char msg[256];

	dpk_test_fee_spike(c->rpc, 5 * DPK_GWEI, 0);
	assert_int_equal(dpk_fees_offer(c->rpc, &pol, &o, msg, sizeof(msg)), DPK_ERR_RANGE);
	printf("cap too low: %s\n", msg);
	assert_true(dpk_test_named_gwei(msg, "base fee (") >= 5.0);
	assert_non_null(strstr(msg, "max_fee_per_gas (2 gwei)"));
	/* nor is a stuck one replaced above the cap */
	assert_int_equal(dpk_fees_bump(c->rpc, &pol, &prev, &o, msg, sizeof(msg)), DPK_ERR_RANGE);
	printf("cap too low for a replacement: %s\n", msg);
	assert_non_null(strstr(msg, "max_fee_per_gas (2 gwei)"));
}

/* Plant code at the GasPriceOracle address; the L1 fee of 300 bytes then. */
static uint64_t
l1_fee_with_oracle(struct ctx *c, const char *code, uint64_t *v)
{
	cJSON *params = cJSON_CreateArray();
	struct dpk_u256 l1;

	cJSON_AddItemToArray(params, cJSON_CreateString(DPK_OP_GAS_PRICE_ORACLE));
	cJSON_AddItemToArray(params, cJSON_CreateString(code));
	cJSON_Delete(dpk_test_node_control(c->rpc, "anvil_setCode", params));
	assert_int_equal(dpk_fees_l1_fee(c->rpc, 300, &l1), 0);
	assert_int_equal(dpk_u256_to_u64(&l1, v), 0);
	return *v;
}

/* OP-stack: a GasPriceOracle at the predeploy address, before Fjord
 * (getL1Fee) and after (getL1FeeUpperBound); the cost is gas x maxFee + the
 * L1 fee, + the margin. */
static void
test_l1_fee(void **state)
{
	struct ctx *c = *state;
	struct dpk_fee_policy pol = {0};
	struct dpk_fee_offer o;
	struct dpk_u256 cost, l1, want, x;
	char msg[256], a[80], b[80], code[128], selhex[9];
	uint8_t sel[4];
	uint64_t v;

	dpk_test_node_call(c->rpc, "evm_mine", NULL);
	/* before: no code there, no L1 fee */
	assert_int_equal(dpk_fees_l1_fee(c->rpc, 300, &l1), 0);
	assert_true(dpk_u256_is_zero(&l1));
	/* a pre-Fjord oracle: getL1FeeUpperBound reverts, getL1Fee answers 987654321:
	 * PUSH1 0 CALLDATALOAD PUSH1 0xe0 SHR PUSH4 sel EQ PUSH1 0x1c JUMPI
	 * PUSH4 987654321 PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN JUMPDEST PUSH1 0 DUP1 REVERT */
	assert_int_equal(dpk_abi_selector("getL1FeeUpperBound(uint256)", sel), 0);
	dpk_hex_encode(sel, 4, 0, selhex, sizeof(selhex));
	snprintf(code, sizeof(code), "0x60003560e01c63%s14601c57633ade68b160005260206000f35b600080fd", selhex);
	assert_int_equal(l1_fee_with_oracle(c, code, &v), 987654321);
	/* Fjord and later (getL1FeeUpperBound answers): PUSH4 123456789 PUSH1 0
	 * MSTORE PUSH1 32 PUSH1 0 RETURN */
	assert_int_equal(l1_fee_with_oracle(c, "0x63075bcd1560005260206000f3", &v), 123456789);

	assert_int_equal(dpk_fees_offer(c->rpc, &pol, &o, msg, sizeof(msg)), 0);
	assert_int_equal(dpk_fees_cost(c->rpc, &pol, 200000, 300, 0, &cost, &l1, msg, sizeof(msg)), 0);
	dpk_u256_from_u64(&want, o.max_fee);
	dpk_u256_mul_u64(&want, &want, 200000);
	dpk_u256_from_u64(&x, 123456789);
	dpk_u256_add(&want, &want, &x);
	dpk_u256_to_dec(&cost, a);
	dpk_u256_to_dec(&want, b);
	printf("L1 data fee: cost of 200000 gas at maxFee %llu wei + L1 123456789 wei = %s wei\n",
	    (unsigned long long)o.max_fee, a);
	assert_string_equal(a, b);
	/* a 20% margin on top */
	assert_int_equal(dpk_fees_cost(c->rpc, &pol, 200000, 300, 20, &cost, NULL, msg, sizeof(msg)), 0);
	{
		uint64_t c20, w;

		assert_int_equal(dpk_u256_to_u64(&cost, &c20), 0);
		assert_int_equal(dpk_u256_to_u64(&want, &w), 0);
		assert_true(c20 == w + (w * 20 + 99) / 100);
	}
	/* under a cap below the network's 3 gwei: the estimate is at the cap */
	{
		struct dpk_fee_policy capped = {.max_fee = 2 * DPK_GWEI};

		assert_true(o.max_fee > 2 * DPK_GWEI);
		assert_int_equal(dpk_fees_cost(c->rpc, &capped, 200000, 300, 0, &cost, NULL, msg, sizeof(msg)), 0);
		assert_int_equal(dpk_u256_to_u64(&cost, &v), 0);
		assert_true(v == 200000 * 2 * DPK_GWEI + 123456789);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_resubmit_is_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_contract, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_chain_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spike_replaced, setup_manual, teardown),
		cmocka_unit_test_setup_teardown(test_cap_refuses, setup_manual, teardown),
		cmocka_unit_test_setup_teardown(test_l1_fee, setup_manual, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
