/* dpk-pkm's configuration and database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../../pkm/config.h"
#include "../../../pkm/store.h"
#include "base/err.h"
#include "harness.h"

static void
test_config(void **state)
{
	static const struct { const char *text; int ok; const char *msg; } cases[] = {
		{"rpc_url = http://127.0.0.1:8545\nchain_id = 31337\nfund_amount = 1000000000000000000\n"
		 "token_validity = 30d\nlisten = 127.0.0.1:7443\n", 1, ""},
		{"fund_amount = 1000000000000000001\n", 0,
		 "pkm.conf:1: fund_amount: '1000000000000000001' is not 'auto' or an amount in wei from 0 to 1 ether (1000000000000000000)"},
		{"fund_amount = auto\nfund_gas = 500000\nfund_margin = 20\nmax_fee_per_gas = 1.5 gwei\n"
		 "max_priority_fee_per_gas = 100000000 wei\nreplace_after = 30s\n", 1, ""},
		{"max_fee_per_gas = 30 Gwei\n", 0,
		 "pkm.conf:1: max_fee_per_gas: '30 Gwei' has an unknown unit (wei, gwei or ether; no unit means gwei)"},
		{"max_priority_fee_per_gas = 0.5 wei\n", 0,
		 "pkm.conf:1: max_priority_fee_per_gas: '0.5 wei' is not a whole number of wei"},
		{"replace_after = 500ms\n", 0, "pkm.conf:1: replace_after: '500ms' is not a duration from 1s to 24h"},
		{"fund_gas = 20999\n", 0, "pkm.conf:1: fund_gas: '20999' is not a gas figure from 21000 to 30000000"},
		{"fund_margin = 1001\n", 0, "pkm.conf:1: fund_margin: '1001' is not a percentage from 0 to 1000"},
		{"token_validity = 31d\n", 0, "pkm.conf:1: token_validity: '31d' is not a duration from 1s to 30d (e.g. 7d, 12h, 90m)"},
		{"listen = 7443\n", 0, "pkm.conf:1: listen: '7443' is not host:port"},
		{"max_connections = 0\n", 0, "pkm.conf:1: max_connections: '0' is not a number from 1 to 1024"},
		{"chain_id = 1\nsecret = x\n", 0, "pkm.conf:2: unknown key 'secret'"},
		{"confirmations = latest\n", 0,
		 "pkm.conf:1: confirmations: 'latest' is not 'finalized', 'safe' or a number of blocks from 0 to 10000"},
	};
	struct pkm_config c;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r;

		pkm_config_defaults(&c);
		err[0] = '\0';
		r = pkm_config_parse(&c, "pkm.conf", cases[i].text, strlen(cases[i].text), err, sizeof(err));
		if ((r == 0) != cases[i].ok || strcmp(err, cases[i].msg) != 0)
			fail_msg("case %zu: got %d '%s', want '%s'", i, r, err, cases[i].msg);
		if (cases[i].ok && i == 0)
			assert_int_equal(c.token_validity_ms, 30u * 24 * 3600 * 1000);
		if (cases[i].ok) /* default: the latest block */
			assert_true(c.depth.kind == DPK_RPC_DEPTH_BLOCKS && c.depth.confirmations == 0);
		if (cases[i].ok && i == 2) {
			assert_true(c.fund_auto && c.fund_gas == 500000 && c.fund_margin == 20);
			assert_true(c.max_fee_per_gas == 1500000000ULL && c.max_priority_fee_per_gas == 100000000ULL);
			assert_int_equal(c.replace_after_ms, 30000);
		}
		pkm_config_free(&c);
	}
	/* confirmations: a number of blocks, safe or finalized */
	pkm_config_defaults(&c);
	assert_int_equal(pkm_config_parse(&c, "pkm.conf", "confirmations = 12\n", 18, err, sizeof(err)), 0);
	assert_true(c.depth.kind == DPK_RPC_DEPTH_BLOCKS && c.depth.confirmations == 12);
	assert_int_equal(pkm_config_parse(&c, "pkm.conf", "confirmations = finalized\n", 25, err, sizeof(err)), 0);
	assert_int_equal(c.depth.kind, DPK_RPC_DEPTH_FINALIZED);
	pkm_config_free(&c);
}

static void
test_store(void **state)
{
	char dir[64], path[128], err[256];
	struct pkm_store *s;
	struct pkm_token_row t = {0}, got;
	uint8_t w1[20] = {1}, w2[20] = {2};
	uint64_t nonce;

	dpk_test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/pkm.db", dir);
	assert_int_equal(pkm_store_open(path, &s, err, sizeof(err)), 0);
	memset(t.id, 0xab, 16);
	snprintf(t.identity, sizeof(t.identity), "device1.example.org");
	memset(t.secret, 0x11, 32);
	memset(t.token_hash, 0x22, 32);
	t.created = 100;
	t.expires = 200;
	assert_int_equal(pkm_store_add_token(s, &t), 0);
	assert_int_equal(pkm_store_add_token(s, &t), DPK_ERR_EXISTS);
	assert_int_equal(pkm_store_get_token(s, t.id, &got), 0);
	assert_string_equal(got.identity, "device1.example.org");
	assert_false(got.has_wallet);

	/* the first wallet to use the token owns it; a copy used from another wallet is refused */
	assert_int_equal(pkm_store_bind_wallet(s, t.id, w1), 0);
	assert_int_equal(pkm_store_bind_wallet(s, t.id, w1), 0);
	assert_int_equal(pkm_store_bind_wallet(s, t.id, w2), DPK_ERR_EXISTS);
	assert_int_equal(pkm_store_get_token(s, t.id, &got), 0);
	assert_memory_equal(got.wallet, w1, 20);

	uint8_t other[16] = {0};
	assert_int_equal(pkm_store_get_token(s, other, &got), DPK_ERR_NOTFOUND);

	/* one transaction per (token, purpose): a second funding is impossible */
	struct pkm_tx_row tx = {0}, back = {0};
	memcpy(tx.token_id, t.id, 16);
	snprintf(tx.purpose, sizeof(tx.purpose), "fund");
	tx.nonce = 7;
	memset(tx.hash, 0x33, 32);
	dpk_buf_init(&tx.raw, 1024);
	dpk_buf_put(&tx.raw, "\x02\xf8rawtx", 7);
	assert_int_equal(pkm_store_max_nonce(s, &nonce), DPK_ERR_NOTFOUND);
	assert_int_equal(pkm_store_add_tx(s, &tx), 0);
	assert_int_equal(pkm_store_add_tx(s, &tx), DPK_ERR_EXISTS);
	dpk_buf_init(&back.raw, 1024);
	assert_int_equal(pkm_store_get_tx(s, t.id, "fund", &back), 0);
	assert_int_equal(back.raw.len, 7);
	assert_memory_equal(back.raw.data, "\x02\xf8rawtx", 7);
	assert_int_equal(back.state, PKM_TX_SIGNED);
	assert_int_equal(pkm_store_set_tx_state(s, t.id, "fund", PKM_TX_MINED), 0);
	assert_int_equal(pkm_store_max_nonce(s, &nonce), 0);
	assert_true(nonce == 7);
	assert_int_equal(pkm_store_get_tx(s, t.id, "approve", &back), DPK_ERR_NOTFOUND);
	/* a replacement: journalled with every earlier version; whichever is
	 * mined becomes the row's */
	{
		struct pkm_tx_row ap = {0};
		struct pkm_tx_version v[PKM_TX_MAX_VERSIONS];
		uint8_t h2[32], h3[32];
		size_t nv;

		memcpy(ap.token_id, t.id, 16);
		snprintf(ap.purpose, sizeof(ap.purpose), "approve");
		ap.nonce = 8;
		memset(ap.hash, 0x44, 32);
		dpk_buf_init(&ap.raw, 1024);
		dpk_buf_put(&ap.raw, "first", 5);
		memset(h2, 0x55, 32);
		memset(h3, 0x66, 32);
		assert_int_equal(pkm_store_add_tx(s, &ap), 0);
		assert_int_equal(pkm_store_tx_versions(s, t.id, "approve", v, PKM_TX_MAX_VERSIONS, &nv), 0);
		assert_int_equal(nv, 1);
		assert_memory_equal(v[0].hash, ap.hash, 32);
		assert_int_equal(pkm_store_replace_tx(s, t.id, "approve", h2, (const uint8_t *)"second", 6), 0);
		assert_int_equal(pkm_store_replace_tx(s, t.id, "approve", h3, (const uint8_t *)"third", 5), 0);
		assert_int_equal(pkm_store_get_tx(s, t.id, "approve", &back), 0);
		assert_memory_equal(back.hash, h3, 32);
		assert_memory_equal(back.raw.data, "third", 5);
		assert_int_equal(pkm_store_tx_versions(s, t.id, "approve", v, PKM_TX_MAX_VERSIONS, &nv), 0);
		assert_int_equal(nv, 3);
		/* the second was mined: the row holds it */
		assert_int_equal(pkm_store_set_tx_mined(s, t.id, "approve", h2, PKM_TX_MINED), 0);
		assert_int_equal(pkm_store_get_tx(s, t.id, "approve", &back), 0);
		assert_int_equal(back.state, PKM_TX_MINED);
		assert_memory_equal(back.hash, h2, 32);
		assert_int_equal(back.raw.len, 6);
		assert_memory_equal(back.raw.data, "second", 6);
		/* a mined row is never replaced */
		assert_int_equal(pkm_store_replace_tx(s, t.id, "approve", h3, (const uint8_t *)"x", 1), DPK_ERR_NOTFOUND);
		/* a failed row dropped takes its versions with it */
		assert_int_equal(pkm_store_set_tx_state(s, t.id, "approve", PKM_TX_FAILED), 0);
		assert_int_equal(pkm_store_delete_failed_tx(s, t.id, "approve"), 0);
		assert_int_equal(pkm_store_tx_versions(s, t.id, "approve", v, PKM_TX_MAX_VERSIONS, &nv), 0);
		assert_int_equal(nv, 0);
		dpk_buf_free(&ap.raw);
	}
	/* a journal row must name a known token */
	memset(tx.token_id, 0x01, 16);
	assert_int_equal(pkm_store_add_tx(s, &tx), DPK_ERR_EXISTS);
	pkm_store_close(s);

	/* it is all still there after reopening */
	assert_int_equal(pkm_store_open(path, &s, err, sizeof(err)), 0);
	assert_int_equal(pkm_store_get_tx(s, t.id, "fund", &back), 0);
	assert_int_equal(back.state, PKM_TX_MINED);
	pkm_store_close(s);
	dpk_buf_free(&tx.raw);
	dpk_buf_free(&back.raw);
	dpk_test_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
