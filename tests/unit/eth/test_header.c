/* Block headers: published ones (ethereum/tests: the mainnet genesis, a
 * Frontier header of 15 fields; Cancun blocks of 20 fields, from block RLP,
 * see tests/data/header/SOURCES) hash to their published hashes; headers
 * that anvil served as JSON for each hardfork from Frontier to Prague (15 to
 * 21 fields) rebuild to their hashes; a forged field, a missing field, a
 * later fork's field without an earlier one, and malformed RLP are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/hex.h"
#include "eth/header.h"
#include "eth/rlp.h"
#include "harness.h"

static cJSON *
load(const char *rel)
{
	struct dpk_buf raw;
	cJSON *root;

	dpk_test_read_data(rel, &raw);
	root = cJSON_ParseWithLength((const char *)raw.data, raw.len);
	assert_non_null(root);
	dpk_buf_free(&raw);
	return root;
}

static uint8_t *
unhex(const char *s, size_t *n)
{
	size_t cap = strlen(s) / 2 + 1;
	uint8_t *p = malloc(cap);

	assert_non_null(p);
	assert_int_equal(dpk_hex_decode(s, strlen(s), p, cap, n), 0);
	return p;
}

static void
want32(const uint8_t got[32], const char *hex)
{
	uint8_t w[32];

	assert_int_equal(dpk_hex_decode_exact(hex, w, 32), 0);
	assert_memory_equal(got, w, 32);
}

static void
test_genesis(void **state)
{
	cJSON *d = load("header/genesishashestest.json");
	struct dpk_rlp_item blk, hdr;
	struct dpk_cursor c;
	struct dpk_header h;
	size_t n;
	uint8_t *raw = unhex(cJSON_GetStringValue(cJSON_GetObjectItem(d, "genesis_rlp_hex")), &n);

	(void)state;
	/* the block is [header, transactions, uncles] */
	assert_int_equal(dpk_rlp_decode(raw, n, 3, &blk), 0);
	dpk_cursor_init(&c, blk.p, blk.len);
	{
		const uint8_t *start = c.p;

		assert_int_equal(dpk_rlp_next(&c, &hdr), 0);
		assert_int_equal(dpk_header_decode(start, (size_t)(c.p - start), &h), 0);
	}
	assert_int_equal(h.nfields, 15);
	assert_int_equal(h.number, 0);
	want32(h.hash, cJSON_GetStringValue(cJSON_GetObjectItem(d, "genesis_hash")));
	want32(h.state_root, cJSON_GetStringValue(cJSON_GetObjectItem(d, "genesis_state_root")));
	free(raw);
	cJSON_Delete(d);
}

/* ethereum/tests BlockchainTests: every block's RLP begins with its header. */
static void
test_blockchain_tests(void **state)
{
	static const char *files[] = { "header/basefeeExample.json", "header/shanghaiExample.json",
		"header/optionsTest.json" };
	size_t count = 0;

	(void)state;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		cJSON *d = load(files[f]);
		const cJSON *t, *b;

		cJSON_ArrayForEach(t, d) {
			cJSON_ArrayForEach(b, cJSON_GetObjectItem(t, "blocks")) {
				const cJSON *bh = cJSON_GetObjectItem(b, "blockHeader");
				struct dpk_rlp_item blk, hdr;
				struct dpk_cursor c;
				struct dpk_header h;
				const uint8_t *start;
				uint64_t num;
				size_t n;
				uint8_t *raw = unhex(cJSON_GetStringValue(cJSON_GetObjectItem(b, "rlp")), &n);

				assert_int_equal(dpk_rlp_decode(raw, n, DPK_RLP_MAX_DEPTH, &blk), 0);
				dpk_cursor_init(&c, blk.p, blk.len);
				start = c.p;
				assert_int_equal(dpk_rlp_next(&c, &hdr), 0);
				assert_int_equal(dpk_header_decode(start, (size_t)(c.p - start), &h), 0);
				want32(h.hash, cJSON_GetStringValue(cJSON_GetObjectItem(bh, "hash")));
				want32(h.state_root, cJSON_GetStringValue(cJSON_GetObjectItem(bh, "stateRoot")));
				want32(h.parent_hash, cJSON_GetStringValue(cJSON_GetObjectItem(bh, "parentHash")));
				assert_int_equal(dpk_hex_quantity_u64(cJSON_GetStringValue(cJSON_GetObjectItem(bh, "number")), &num), 0);
				assert_int_equal(h.number, num);
				assert_int_equal(h.nfields, 20); /* Cancun */
				/* one flipped byte anywhere changes the hash */
				{
					struct dpk_header h2;
					size_t len = (size_t)(c.p - start);
					uint8_t *copy = malloc(len);

					assert_non_null(copy);
					memcpy(copy, start, len);
					copy[len / 2] ^= 1;
					if (dpk_header_decode(copy, len, &h2) == 0)
						assert_memory_not_equal(h2.hash, h.hash, 32);
					/* truncated: refused */
					assert_int_not_equal(dpk_header_decode(copy, len - 1, &h2), 0);
					free(copy);
				}
				free(raw);
				count++;
			}
		}
		cJSON_Delete(d);
	}
	assert_true(count >= 6);
}

/* anvil's JSON blocks for each hardfork rebuild to their hashes. */
static void
test_anvil_json(void **state)
{
	cJSON *d = load("header/anvil-blocks.json");
	static const size_t fields[] = { 15, 15, 16, 17, 20, 21 };
	const cJSON *e;
	size_t i = 0;

	(void)state;
	cJSON_ArrayForEach(e, d) {
		cJSON *blk = cJSON_Duplicate(cJSON_GetObjectItem(e, "block"), 1);
		struct dpk_header h;
		struct dpk_buf rlp;
		int r;

		dpk_buf_init(&rlp, DPK_HEADER_MAX_LEN);
		r = dpk_header_from_json(blk, &rlp, &h);
		if (r != 0)
			fail_msg("%s: %s", cJSON_GetStringValue(cJSON_GetObjectItem(e, "hardfork")), dpk_strerror(r));
		assert_int_equal(h.nfields, fields[i]);
		assert_int_equal(h.number, 1);
		want32(h.state_root, cJSON_GetStringValue(cJSON_GetObjectItem(blk, "stateRoot")));
		/* the rebuilt RLP decodes to the same header */
		{
			struct dpk_header h2;

			assert_int_equal(dpk_header_decode(rlp.data, rlp.len, &h2), 0);
			assert_memory_equal(h2.hash, h.hash, 32);
		}
		/* a later fork's extra fields are carried, up to DPK_HEADER_MAX_FIELDS */
		{
			struct dpk_buf ext;
			struct dpk_rlp_item top;
			struct dpk_header h3;
			size_t mark, extra = DPK_HEADER_MAX_FIELDS - h.nfields;

			assert_int_equal(dpk_rlp_decode(rlp.data, rlp.len, 1, &top), 0);
			dpk_buf_init(&ext, DPK_HEADER_MAX_LEN);
			for (int over = 0; over <= 1; over++) {
				dpk_buf_reset(&ext);
				ext.len = 0;
				assert_int_equal(dpk_rlp_list_begin(&ext, &mark), 0);
				assert_int_equal(dpk_buf_put(&ext, top.p, top.len), 0);
				for (size_t k = 0; k < extra + (size_t)over; k++)
					assert_int_equal(dpk_rlp_put_u64(&ext, k + 1), 0);
				assert_int_equal(dpk_rlp_list_end(&ext, mark), 0);
				assert_int_equal(dpk_header_decode(ext.data, ext.len, &h3), over ? DPK_ERR_TOOBIG : 0);
				if (!over) {
					assert_int_equal(h3.nfields, DPK_HEADER_MAX_FIELDS);
					assert_memory_equal(h3.state_root, h.state_root, 32);
				}
			}
			dpk_buf_free(&ext);
		}
		/* a forged stateRoot: the hash no longer matches */
		cJSON_ReplaceItemInObject(blk, "stateRoot",
		    cJSON_CreateString("0x1111111111111111111111111111111111111111111111111111111111111111"));
		assert_int_equal(dpk_header_from_json(blk, NULL, &h), DPK_ERR_PROOF);
		/* a missing classic field */
		cJSON_DeleteItemFromObject(blk, "gasUsed");
		assert_int_equal(dpk_header_from_json(blk, NULL, &h), DPK_ERR_TYPE);
		cJSON_Delete(blk);
		dpk_buf_free(&rlp);
		i++;
	}
	assert_int_equal(i, 6);
	/* Prague block without baseFeePerGas but with later fields: refused */
	{
		cJSON *blk = cJSON_Duplicate(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 5), "block"), 1);

		assert_non_null(cJSON_GetObjectItem(blk, "withdrawalsRoot"));
		cJSON_DeleteItemFromObject(blk, "baseFeePerGas");
		{
			struct dpk_header h;

			assert_int_equal(dpk_header_from_json(blk, NULL, &h), DPK_ERR_INVALID);
		}
		cJSON_Delete(blk);
	}
	cJSON_Delete(d);
}

static void
test_malformed(void **state)
{
	struct dpk_header h;
	uint8_t many[4 + 40];
	static const uint8_t not_list[] = { 0x83, 1, 2, 3 };
	static const uint8_t nested[] = { 0xc2, 0xc1, 0x80 };

	(void)state;
	assert_int_equal(dpk_header_decode(not_list, sizeof(not_list), &h), DPK_ERR_TYPE);
	assert_int_not_equal(dpk_header_decode(nested, sizeof(nested), &h), 0);
	/* 10 fields: too few */
	memset(many + 1, 0x01, 40);
	many[0] = 0xc0 + 10;
	assert_int_not_equal(dpk_header_decode(many, 11, &h), 0);
	{
		static uint8_t big[DPK_HEADER_MAX_LEN + 1];

		assert_int_equal(dpk_header_decode(big, sizeof(big), &h), DPK_ERR_TOOBIG);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_genesis),
		cmocka_unit_test(test_blockchain_tests),
		cmocka_unit_test(test_anvil_json),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
