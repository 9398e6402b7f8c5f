/* Ether transfers, receipts, calls, logs, reverts and failover against a
 * real anvil node: the RPC client, wallet and EIP-1559 signer together. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/buf.h"
#include "base/err.h"
#include "harness.h"
#include "base/hex.h"
#include "eth/rpc.h"
#include "eth/tx.h"
#include "eth/txsend.h"
#include "eth/u256.h"
#include "eth/wallet.h"

struct fixture {
	struct dpk_test_anvil anvil;
	struct dpk_rpc *rpc;
	struct dpk_wallet dev;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *urls[1];
	uint8_t priv[32];

	assert_non_null(f);
	*state = f;
	dpk_test_anvil_start(&f->anvil, NULL);
	/* cmocka skips the teardown when setup fails: stop the node here then */
	urls[0] = f->anvil.url;
	if (dpk_rpc_new(&f->rpc, urls, 1, NULL) != 0 ||
	    dpk_hex_decode_exact(DPK_TEST_DEV_KEY, priv, 32) != 0 ||
	    dpk_wallet_from_private(&f->dev, priv) != 0) {
		explicit_bzero(priv, sizeof(priv));
		dpk_rpc_free(f->rpc);
		dpk_test_anvil_stop(&f->anvil);
		free(f);
		*state = NULL;
		return -1;
	}
	explicit_bzero(priv, sizeof(priv));
	return 0;
}

/* Runs after a failed test too: the node never outlives the test. */
static int
teardown(void **state)
{
	struct fixture *f = *state;

	if (f == NULL)
		return 0;
	dpk_rpc_free(f->rpc);
	dpk_wallet_clear(&f->dev);
	dpk_test_anvil_stop(&f->anvil);
	free(f);
	return 0;
}

static void
ether(struct dpk_u256 *x, uint64_t milli)
{
	dpk_u256_from_u64(x, milli);
	assert_int_equal(dpk_u256_mul_u64(x, x, 1000000000000000ULL), 0);
}

static void
assert_u256_equal(const struct dpk_u256 *a, const struct dpk_u256 *b)
{
	char da[79], db[79];

	dpk_u256_to_dec(a, da);
	dpk_u256_to_dec(b, db);
	assert_string_equal(da, db);
}

static void
rpc_ok(struct dpk_rpc *rpc, int r)
{
	if (r != 0)
		fail_msg("rpc: %s (%s)", dpk_strerror(r), dpk_rpc_last_error(rpc));
}

struct progress {
	int calls;
};

static void
on_progress(void *ctx, uint64_t blocks, uint64_t elapsed_ms)
{
	((struct progress *)ctx)->calls++;
}

/* Sign and send a type-2 transaction from w, wait for its receipt (status 1). */
static void
send_and_wait(struct dpk_rpc *rpc, const struct dpk_wallet *w, const uint8_t *to,
    const struct dpk_u256 *value, const uint8_t *data, size_t data_len,
    struct dpk_rpc_receipt *rc)
{
	struct dpk_rpc_callmsg m = {.from = w->addr, .to = to, .value = value, .data = data,
	    .data_len = data_len};
	struct dpk_rpc_fees fees;
	struct dpk_tx tx = {.type = DPK_TX_EIP1559, .chain_id = DPK_TEST_CHAIN_ID};
	struct dpk_buf raw;
	struct progress pr = {0};
	uint8_t myhash[32], nodehash[32];

	rpc_ok(rpc, dpk_rpc_nonce(rpc, w->addr, DPK_RPC_PENDING, &tx.nonce));
	rpc_ok(rpc, dpk_rpc_fee_data(rpc, &fees));
	assert_false(dpk_u256_is_zero(&fees.base_fee));
	rpc_ok(rpc, dpk_rpc_estimate_gas(rpc, &m, &tx.gas_limit));
	if (to != NULL && data_len == 0)
		assert_true(tx.gas_limit == 21000); /* a plain transfer to an account */
	tx.max_priority_fee = fees.priority_fee;
	tx.max_fee = fees.max_fee;
	tx.has_to = to != NULL;
	if (to != NULL)
		memcpy(tx.to, to, 20);
	if (value != NULL)
		tx.value = *value;
	tx.data = data;
	tx.data_len = data_len;
	dpk_buf_init(&raw, 1 << 16);
	assert_int_equal(dpk_tx_sign(&tx, w, &raw, myhash), 0);
	rpc_ok(rpc, dpk_rpc_send_raw(rpc, raw.data, raw.len, nodehash));
	assert_memory_equal(myhash, nodehash, 32); /* the node hashed what we signed */
	dpk_buf_free(&raw);
	rpc_ok(rpc, dpk_rpc_wait_receipt(rpc, nodehash, 30000, 100, on_progress, &pr, rc));
	assert_int_equal(rc->status, 1);
	assert_memory_equal(rc->tx_hash, nodehash, 32);
	assert_true(rc->block_number > 0);
}

static void
test_transfer_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct dpk_rpc *rpc = f->rpc;
	struct dpk_wallet fresh;
	struct dpk_rpc_receipt rc;
	struct dpk_u256 v15, v05, bal, dev_mid, dev_after, fee, want;
	uint64_t chain, nonce0, nonce1;
	uint8_t devaddr[20];

	rpc_ok(rpc, dpk_rpc_chain_id(rpc, &chain));
	assert_true(chain == DPK_TEST_CHAIN_ID);
	assert_int_equal(dpk_wallet_address_parse(DPK_TEST_DEV_ADDR, devaddr), 0);
	assert_memory_equal(devaddr, f->dev.addr, 20);
	assert_int_equal(dpk_wallet_generate(&fresh), 0);
	ether(&v15, 1500);
	ether(&v05, 500);

	/* 1.5 ether from the dev account to a fresh wallet */
	rpc_ok(rpc, dpk_rpc_nonce(rpc, f->dev.addr, DPK_RPC_LATEST, &nonce0));
	send_and_wait(rpc, &f->dev, fresh.addr, &v15, NULL, 0, &rc);
	assert_true(rc.gas_used == 21000);
	assert_int_equal(rc.nlogs, 0);
	assert_false(rc.has_contract_address);
	dpk_rpc_receipt_free(&rc);
	rpc_ok(rpc, dpk_rpc_balance(rpc, fresh.addr, DPK_RPC_LATEST, &bal));
	assert_u256_equal(&bal, &v15);
	rpc_ok(rpc, dpk_rpc_nonce(rpc, f->dev.addr, DPK_RPC_LATEST, &nonce1));
	assert_true(nonce1 == nonce0 + 1);

	/* 0.5 ether back; the fresh wallet pays the gas */
	rpc_ok(rpc, dpk_rpc_balance(rpc, f->dev.addr, DPK_RPC_LATEST, &dev_mid));
	send_and_wait(rpc, &fresh, f->dev.addr, &v05, NULL, 0, &rc);
	assert_false(dpk_u256_is_zero(&rc.effective_gas_price));
	assert_int_equal(dpk_u256_mul_u64(&fee, &rc.effective_gas_price, rc.gas_used), 0);
	assert_int_equal(dpk_u256_sub(&want, &v15, &v05), 0);
	assert_int_equal(dpk_u256_sub(&want, &want, &fee), 0);
	rpc_ok(rpc, dpk_rpc_balance(rpc, fresh.addr, DPK_RPC_LATEST, &bal));
	assert_u256_equal(&bal, &want);
	rpc_ok(rpc, dpk_rpc_balance(rpc, f->dev.addr, DPK_RPC_LATEST, &dev_after));
	assert_int_equal(dpk_u256_add(&want, &dev_mid, &v05), 0);
	assert_u256_equal(&dev_after, &want);
	dpk_rpc_receipt_free(&rc);
	dpk_wallet_clear(&fresh);
}

static void
test_call_logs_revert(void **state)
{
	struct fixture *f = *state;
	struct dpk_rpc *rpc = f->rpc;
	/* init code: LOG1(0, 0, topic) and stop: the deployed contract has no code */
	uint8_t init[32 + 7], topic[32], other[32], nobody[20];
	/* init code: revert with the 4 bytes 0x0b1b4a6e */
	static const uint8_t reverter[] = {0x63, 0x0b, 0x1b, 0x4a, 0x6e, 0x60, 0xe0, 0x1b, 0x60, 0x00,
	    0x52, 0x60, 0x04, 0x60, 0x00, 0xfd};
	struct dpk_rpc_callmsg m = {0};
	struct dpk_rpc_filter flt = {.from_block = 0, .to_block = DPK_RPC_LATEST};
	struct dpk_rpc_receipt rc;
	struct dpk_rpc_log *logs;
	struct dpk_buf out;
	const uint8_t *rd;
	size_t n, rdlen;

	memset(topic, 0x5a, 32);
	memset(other, 0x5b, 32);
	memset(nobody, 0x42, 20);
	init[0] = 0x7f;
	memcpy(init + 1, topic, 32);
	memcpy(init + 33, "\x60\x00\x60\x00\xa1\x00", 6);

	/* eth_call of an address without code returns nothing */
	dpk_buf_init(&out, 1024);
	m.to = nobody;
	m.data = (const uint8_t *)"\x70\xa0\x82\x31";
	m.data_len = 4;
	rpc_ok(rpc, dpk_rpc_call(rpc, &m, DPK_RPC_LATEST, &out));
	assert_int_equal(out.len, 0);

	/* a revert keeps the node's message and the raw data */
	m.to = NULL;
	m.data = reverter;
	m.data_len = sizeof(reverter);
	assert_int_equal(dpk_rpc_call(rpc, &m, DPK_RPC_LATEST, &out), DPK_ERR_REVERT);
	assert_non_null(strstr(dpk_rpc_last_error(rpc), ": eth_call: execution reverted"));
	assert_null(strchr(dpk_rpc_last_error(rpc), 0x1b)); /* anvil echoes the bytes raw */
	rd = dpk_rpc_revert_data(rpc, &rdlen);
	assert_int_equal(rdlen, 4);
	assert_memory_equal(rd, "\x0b\x1b\x4a\x6e", 4);
	dpk_buf_free(&out);

	/* a contract creation that emits one log */
	send_and_wait(rpc, &f->dev, NULL, NULL, init, 39, &rc);
	assert_true(rc.has_contract_address);
	assert_int_equal(rc.nlogs, 1);
	assert_memory_equal(rc.logs[0].address, rc.contract_address, 20);
	assert_int_equal(rc.logs[0].ntopics, 1);
	assert_memory_equal(rc.logs[0].topics[0], topic, 32);

	rpc_ok(rpc, dpk_rpc_get_logs(rpc, &flt, &logs, &n));
	assert_int_equal(n, 1);
	assert_true(logs[0].has_block && logs[0].block_number == rc.block_number);
	assert_memory_equal(logs[0].tx_hash, rc.tx_hash, 32);
	assert_int_equal(logs[0].data_len, 0);
	dpk_rpc_logs_free(logs, n);

	flt.address = rc.contract_address;
	flt.topics[0] = NULL; /* wildcard */
	flt.ntopics = 1;
	rpc_ok(rpc, dpk_rpc_get_logs(rpc, &flt, &logs, &n));
	assert_int_equal(n, 1);
	dpk_rpc_logs_free(logs, n);
	flt.topics[0] = other;
	rpc_ok(rpc, dpk_rpc_get_logs(rpc, &flt, &logs, &n));
	assert_int_equal(n, 0);
	dpk_rpc_logs_free(logs, n);
	flt.topics[0] = topic;
	flt.from_block = 0; /* the range before the deployment */
	flt.to_block = rc.block_number - 1;
	rpc_ok(rpc, dpk_rpc_get_logs(rpc, &flt, &logs, &n));
	assert_int_equal(n, 0);
	dpk_rpc_logs_free(logs, n);
	dpk_rpc_receipt_free(&rc);
}

static void
test_bad_nonce_refused(void **state)
{
	struct fixture *f = *state;
	struct dpk_rpc *rpc = f->rpc;
	struct dpk_rpc_receipt rc;
	struct dpk_rpc_fees fees;
	struct dpk_u256 one;
	struct dpk_tx tx = {.type = DPK_TX_EIP1559, .chain_id = DPK_TEST_CHAIN_ID, .gas_limit = 21000,
	    .has_to = 1};
	struct dpk_buf raw;
	uint8_t h[32];
	uint64_t nonce;

	dpk_u256_from_u64(&one, 1);
	memset(tx.to, 0x42, 20);
	send_and_wait(rpc, &f->dev, tx.to, &one, NULL, 0, &rc);
	dpk_rpc_receipt_free(&rc);
	/* nonce 0 again, now used */
	rpc_ok(rpc, dpk_rpc_fee_data(rpc, &fees));
	tx.nonce = 0;
	tx.max_priority_fee = fees.priority_fee;
	tx.max_fee = fees.max_fee;
	dpk_u256_from_u64(&tx.value, 2); /* another transaction, not the same one again */
	dpk_buf_init(&raw, 1 << 12);
	/* sent as the programs send (dpk_txsend_submit): refused, whether the
	 * node refuses it (anvil) or would mine it (ganache 7) */
	assert_int_equal(dpk_tx_sign(&tx, &f->dev, &raw, h), 0);
	assert_int_equal(dpk_txsend_submit(rpc, raw.data, raw.len, h, 5000, NULL, NULL, &rc), DPK_ERR_RPC);
	assert_non_null(strstr(dpk_rpc_last_error(rpc), ": eth_sendRawTransaction: "));
	assert_non_null(strstr(dpk_rpc_last_error(rpc), "nonce too low"));
	assert_int_equal(dpk_rpc_nonce(rpc, f->dev.addr, DPK_RPC_LATEST, &nonce), 0);
	assert_true(nonce == 1); /* nothing more was mined */
	dpk_buf_free(&raw);
}

static void
test_failover_to_anvil(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	char dead[64], want[64];
	const char *urls[2] = {dead, f->anvil.url};
	struct dpk_rpc *rpc;
	uint64_t chain, bn;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	/* a loopback port where nothing listens */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", ntohs(sa.sin_port));
	close(fd);

	assert_int_equal(dpk_rpc_new(&rpc, urls, 2, NULL), 0);
	rpc_ok(rpc, dpk_rpc_chain_id(rpc, &chain));
	assert_true(chain == DPK_TEST_CHAIN_ID);
	rpc_ok(rpc, dpk_rpc_block_number(rpc, &bn));
	snprintf(want, sizeof(want), "http://127.0.0.1:%d", f->anvil.port);
	assert_string_equal(dpk_rpc_endpoint(rpc), want);
	dpk_rpc_free(rpc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_transfer_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_logs_revert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_nonce_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failover_to_anvil, setup, teardown),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
