#include "chain.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "harness.h"
#include "base/hex.h"
#include "registry/identity.h"
#include "registry/registry.h"
#include "eth/tx.h"
#include "eth/txsend.h"

void
dpk_test_wallet(const char *hex, struct dpk_wallet *w)
{
	uint8_t priv[32];

	assert_int_equal(dpk_hex_decode_exact(hex, priv, 32), 0);
	assert_int_equal(dpk_wallet_from_private(w, priv), 0);
}

void
dpk_test_send(struct dpk_rpc *rpc, const uint8_t contract[20], const struct dpk_wallet *from, struct dpk_buf *data)
{
	struct dpk_txsend req = {.to = contract, .data = data->data, .data_len = data->len};
	struct dpk_rpc_receipt rc;
	char why[256] = "";
	int r = dpk_txsend(rpc, from, DPK_TEST_CHAIN_ID, &req, 30000, NULL, NULL, &rc);

	if (r == DPK_ERR_REVERT)
		dpk_registry_last_revert(rpc, why, sizeof(why));
	if (r != 0)
		fail_msg("transaction failed: %s %s %s", dpk_strerror(r), why, dpk_rpc_last_error(rpc));
	assert_int_equal(rc.status, 1);
	dpk_rpc_receipt_free(&rc);
	dpk_buf_reset(data);
}

void
dpk_test_deploy(struct dpk_rpc *rpc, const struct dpk_wallet *owner, const struct dpk_wallet *approver,
    uint8_t contract[20])
{
	struct dpk_buf data;

	assert_int_equal(dpk_registry_deploy(rpc, owner, DPK_TEST_CHAIN_ID, 30000, NULL, NULL, contract), 0);
	dpk_buf_init(&data, 4096);
	assert_int_equal(dpk_registry_encode_add_approver(&data, approver->addr), 0);
	dpk_test_send(rpc, contract, owner, &data);
	dpk_buf_free(&data);
}

void
dpk_test_register(struct dpk_rpc *rpc, const uint8_t contract[20], const struct dpk_wallet *approver,
    const struct dpk_wallet *device, const char *text, uint8_t alg, const uint8_t *pub, size_t publen)
{
	struct dpk_identity id;
	struct dpk_buf data;
	struct dpk_u256 nonce;
	uint8_t h[32], sig[65];
	uint64_t expiry = (uint64_t)time(NULL) + 3600;

	assert_int_equal(dpk_identity_parse(text, strlen(text), &id), 0);
	assert_int_equal(dpk_identity_hash(&id, h), 0);
	dpk_u256_from_u64(&nonce, (uint64_t)rand());
	assert_int_equal(dpk_registry_sign_registration(approver, DPK_TEST_CHAIN_ID, contract, h, pub, publen, alg,
	    device->addr, expiry, &nonce, sig), 0);
	dpk_buf_init(&data, 8192);
	assert_int_equal(dpk_registry_encode_register(&data, &id, alg, pub, publen, expiry, &nonce, sig), 0);
	dpk_test_send(rpc, contract, device, &data);
	dpk_buf_free(&data);
}

void
dpk_test_revoke(struct dpk_rpc *rpc, const uint8_t contract[20], const struct dpk_wallet *approver, const char *text)
{
	struct dpk_identity id;
	struct dpk_buf data;
	uint8_t h[32];

	assert_int_equal(dpk_identity_parse(text, strlen(text), &id), 0);
	assert_int_equal(dpk_identity_hash(&id, h), 0);
	dpk_buf_init(&data, 4096);
	assert_int_equal(dpk_registry_encode_revoke(&data, h), 0);
	dpk_test_send(rpc, contract, approver, &data);
	dpk_buf_free(&data);
}

void
dpk_test_chain_up(struct dpk_test_anvil *anvil, struct dpk_rpc **rpc, struct dpk_wallet *owner,
    struct dpk_wallet *approver, struct dpk_wallet *device, uint8_t contract[20])
{
	dpk_test_chain_up_args(anvil, NULL, rpc, owner, approver, device, contract);
}

void
dpk_test_chain_up_args(struct dpk_test_anvil *anvil, const char *const *args, struct dpk_rpc **rpc,
    struct dpk_wallet *owner, struct dpk_wallet *approver, struct dpk_wallet *device, uint8_t contract[20])
{
	const char *url;

	dpk_test_anvil_start(anvil, args);
	url = anvil->url;
	assert_int_equal(dpk_rpc_new(rpc, &url, 1, NULL), 0);
	dpk_test_wallet(DPK_TEST_DEV_KEY, owner);
	dpk_test_wallet(DPK_TEST_APPROVER_KEY, approver);
	dpk_test_wallet(DPK_TEST_DEVICE_KEY, device);
	dpk_test_deploy(*rpc, owner, approver, contract);
}

void
dpk_test_chain_down(struct dpk_test_anvil *anvil, struct dpk_rpc *rpc)
{
	dpk_test_anvil_stop(anvil);
	dpk_rpc_free(rpc);
}

void
dpk_test_new_key(const char *path, enum dpk_idkey_alg alg, struct dpk_buf *pub)
{
	struct dpk_idkey *k;

	assert_int_equal(dpk_idkey_generate(alg, alg == DPK_IDKEY_RSA ? 2048 : 0, &k), 0);
	assert_int_equal(dpk_idkey_save(k, path), 0);
	dpk_buf_init(pub, 4096);
	assert_int_equal(dpk_idkey_public_onchain(k, pub), 0);
	dpk_idkey_free(k);
}

uint32_t
dpk_test_serial_uid(struct dpk_rpc *rpc, const uint8_t contract[20], uint32_t uid_min, const char *text)
{
	struct dpk_registry_record rec;
	struct dpk_identity id;
	uint8_t h[32];
	uint32_t uid;

	assert_int_equal(dpk_identity_parse(text, strlen(text), &id), 0);
	assert_int_equal(dpk_identity_hash(&id, h), 0);
	assert_int_equal(dpk_registry_get_client_by_hash(rpc, contract, h, &rec), 0);
	assert_true(rec.serial > 0);
	uid = uid_min + (uint32_t)rec.serial;
	dpk_registry_record_free(&rec);
	return uid;
}

/* The test-control methods the tests use are anvil's; ganache (its own
 * RPC server) names them otherwise or takes other parameters. One table, so
 * that a test says what it wants once, for both nodes. A method ganache has
 * no equivalent of skips the test case on ganache, saying so (counted by
 * scripts/test as not run there). */
static const struct {
	const char *anvil, *ganache;
} node_methods[] = {
	{"anvil_snapshot", "evm_snapshot"},
	{"anvil_revert", "evm_revert"},
	{"anvil_mine", "evm_mine"},                   /* [n] -> [{"blocks": n}] below */
	{"anvil_setBalance", "evm_setAccountBalance"},
	{"anvil_setCode", "evm_setAccountCode"},
	{"evm_setAutomine", NULL},                    /* [false] -> miner_stop, [true] -> miner_start below */
};

cJSON *
dpk_test_node_control(struct dpk_rpc *rpc, const char *method, cJSON *params)
{
	cJSON *res = NULL;

	if (dpk_test_node_is_ganache()) {
		for (size_t i = 0; i < sizeof(node_methods) / sizeof(node_methods[0]); i++) {
			if (strcmp(method, node_methods[i].anvil) != 0)
				continue;
			if (strcmp(method, "evm_setAutomine") == 0) {
				method = cJSON_IsTrue(cJSON_GetArrayItem(params, 0)) ? "miner_start" : "miner_stop";
				cJSON_Delete(params);
				params = cJSON_CreateArray();
			} else if (node_methods[i].ganache == NULL) {
				cJSON_Delete(params);
				printf("# ganache has no equivalent of %s: this case runs on anvil only\n", method);
				skip();
			} else {
				method = node_methods[i].ganache;
			}
			if (strcmp(method, "evm_mine") == 0 && cJSON_GetArraySize(params) == 1 &&
			    cJSON_IsString(cJSON_GetArrayItem(params, 0))) {
				cJSON *o = cJSON_CreateObject();
				uint64_t n = 0;

				(void)dpk_hex_quantity_u64(cJSON_GetArrayItem(params, 0)->valuestring, &n);
				cJSON_AddNumberToObject(o, "blocks", (double)n);
				cJSON_Delete(params);
				params = cJSON_CreateArray();
				cJSON_AddItemToArray(params, o);
			}
			break;
		}
	}
	if (dpk_rpc_request(rpc, method, params, &res) != 0)
		fail_msg("%s: %s", method, dpk_rpc_last_error(rpc));
	cJSON_Delete(params);
	return res;
}

#define anvil_call dpk_test_node_control

uint64_t
dpk_test_chain_snapshot(struct dpk_rpc *rpc)
{
	cJSON *res = anvil_call(rpc, "anvil_snapshot", cJSON_CreateArray());
	uint64_t id = 0;

	if (!cJSON_IsString(res) || dpk_hex_quantity_u64(res->valuestring, &id) != 0)
		fail_msg("snapshot: not a snapshot id");
	cJSON_Delete(res);
	return id;
}

void
dpk_test_chain_revert(struct dpk_rpc *rpc, uint64_t snapshot)
{
	cJSON *p = cJSON_CreateArray(), *res;
	char q[19];

	dpk_hex_from_u64(snapshot, q);
	cJSON_AddItemToArray(p, cJSON_CreateString(q));
	res = anvil_call(rpc, "anvil_revert", p);
	if (!cJSON_IsTrue(res))
		fail_msg("revert %s: the node did not go back", q);
	cJSON_Delete(res);
}

void
dpk_test_node_call(struct dpk_rpc *rpc, const char *method, const char *arg)
{
	cJSON *params = cJSON_CreateArray();

	if (arg != NULL && (strcmp(arg, "true") == 0 || strcmp(arg, "false") == 0))
		cJSON_AddItemToArray(params, cJSON_CreateBool(strcmp(arg, "true") == 0));
	else if (arg != NULL)
		cJSON_AddItemToArray(params, cJSON_CreateString(arg));
	cJSON_Delete(anvil_call(rpc, method, params));
}

void
dpk_test_chain_mine(struct dpk_rpc *rpc, unsigned n)
{
	cJSON *p = cJSON_CreateArray();
	char q[19];

	dpk_hex_from_u64(n, q);
	cJSON_AddItemToArray(p, cJSON_CreateString(q));
	cJSON_Delete(anvil_call(rpc, "anvil_mine", p));
}

/* The latest block's base fee and gas limit. */
static void
latest_block(struct dpk_rpc *rpc, uint64_t *base_fee, uint64_t *gas_limit)
{
	cJSON *params = cJSON_CreateArray(), *res = NULL, *b, *g;

	cJSON_AddItemToArray(params, cJSON_CreateString("latest"));
	cJSON_AddItemToArray(params, cJSON_CreateFalse());
	assert_int_equal(dpk_rpc_request(rpc, "eth_getBlockByNumber", params, &res), 0);
	cJSON_Delete(params);
	b = cJSON_GetObjectItemCaseSensitive(res, "baseFeePerGas");
	g = cJSON_GetObjectItemCaseSensitive(res, "gasLimit");
	assert_true(cJSON_IsString(b) && cJSON_IsString(g));
	assert_int_equal(dpk_hex_quantity_u64(b->valuestring, base_fee), 0);
	assert_int_equal(dpk_hex_quantity_u64(g->valuestring, gas_limit), 0);
	cJSON_Delete(res);
}

/* The burner: code that is one INVALID opcode, so that a call to it uses
 * all the gas it was given at no cost to the node; at an address no test
 * uses, called by the dev chain's tenth account (no test's either). */
#define BURNER_ADDR "0x00000000000000000000000000000000000b0b0b"
#define BURNER_FROM_KEY "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"

uint64_t
dpk_test_fee_spike(struct dpk_rpc *rpc, uint64_t at_least, int automine_after)
{
	struct dpk_wallet w;
	/* a tip above the tests' (the nodes suggest 1 gwei) but not far above:
	 * nodes suggest tips from recent blocks' */
	struct dpk_fee_offer fees = {.tip = 2 * DPK_GWEI, .max_fee = 20000 * DPK_GWEI};
	struct dpk_txsend req = {0};
	struct dpk_buf raw;
	uint8_t to[20], hash[32], got[32];
	uint64_t base, limit, nonce;
	char from[43];
	cJSON *p;
	int blocks = 0;

	dpk_test_wallet(BURNER_FROM_KEY, &w);
	p = cJSON_CreateArray();
	cJSON_AddItemToArray(p, cJSON_CreateString(BURNER_ADDR));
	cJSON_AddItemToArray(p, cJSON_CreateString("0xfe"));
	cJSON_Delete(dpk_test_node_control(rpc, "anvil_setCode", p));
	p = cJSON_CreateArray();
	dpk_wallet_address_format(w.addr, from);
	cJSON_AddItemToArray(p, cJSON_CreateString(from));
	cJSON_AddItemToArray(p, cJSON_CreateString("0xffffffffffffffffffffffffffff")); /* ~5e15 ether */
	cJSON_Delete(dpk_test_node_control(rpc, "anvil_setBalance", p));
	assert_int_equal(dpk_hex_decode_exact(BURNER_ADDR, to, 20), 0);
	assert_int_equal(dpk_rpc_nonce(rpc, w.addr, DPK_RPC_PENDING, &nonce), 0);
	dpk_test_node_call(rpc, "evm_setAutomine", "false");
	dpk_buf_init(&raw, DPK_TX_MAX_RAW);
	for (latest_block(rpc, &base, &limit); base < at_least; latest_block(rpc, &base, &limit)) {
		/* the whole block, at a tip above any test's: nothing else fits */
		req = (struct dpk_txsend){.to = to, .gas_limit = limit, .has_nonce = 1, .nonce = nonce++, .fees = &fees};
		raw.len = 0;
		assert_int_equal(dpk_txsend_prepare(rpc, &w, DPK_TEST_CHAIN_ID, &req, &raw, hash, &req.nonce), 0);
		assert_int_equal(dpk_rpc_send_raw(rpc, raw.data, raw.len, got), 0);
		dpk_test_node_call(rpc, "evm_mine", NULL);
		if (++blocks > 400)
			fail_msg("the base fee is %llu wei after 400 full blocks, not yet %llu", (unsigned long long)base,
			    (unsigned long long)at_least);
	}
	dpk_buf_free(&raw);
	dpk_wallet_clear(&w);
	if (automine_after)
		dpk_test_node_call(rpc, "evm_setAutomine", "true");
	printf("# fee spike: %d full blocks, base fee now %llu wei\n", blocks, (unsigned long long)base);
	return base;
}

double
dpk_test_named_gwei(const char *msg, const char *label)
{
	const char *p = strstr(msg, label);
	char *end;
	double v;

	if (p == NULL)
		return -1;
	v = strtod(p + strlen(label), &end);
	return end != p + strlen(label) && strncmp(end, " gwei", 5) == 0 ? v : -1;
}

uint64_t
dpk_test_fee_fall(struct dpk_rpc *rpc, uint64_t below)
{
	uint64_t base, limit;
	int blocks = 0;

	for (latest_block(rpc, &base, &limit); base >= below; latest_block(rpc, &base, &limit)) {
		dpk_test_node_call(rpc, "evm_mine", NULL);
		if (++blocks > 400)
			fail_msg("the base fee is %llu wei after 400 empty blocks, not yet below %llu",
			    (unsigned long long)base, (unsigned long long)below);
	}
	return base;
}
