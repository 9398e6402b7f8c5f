/* The registry's storage layout (lib/registry/slots.c) against a real
 * deployment: tests/data/mpt/anvil-proof.json holds anvil's eth_getProof for
 * the record of "proof.example.org" (controller anvil account 2, approved by
 * account 1, serial 1, version 1, a P-256 key stored as x and y's parity:
 * the 65-byte key is in the file's "publicKey"), made by
 * tests/integration/proof-crosscheck.sh. The slots computed here must be the
 * ones asked for there (slot 0, the record's four, an absent record), and
 * the proven words must decode to that record. Also: an RSA key's length
 * word, and words the contract never writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/hex.h"
#include "eth/header.h"
#include "eth/proof.h"
#include "harness.h"
#include "registry/identity.h"
#include "registry/slots.h"

#define A1 "70997970c51812dc3a010c7d01b50e0d17dc79c8"
#define A2 "3c44cdddb6a900fa2b585dd299e03d12fa4293bc"

static void
test_record_from_anvil(void **state)
{
	struct dpk_buf raw;
	cJSON *doc;
	struct dpk_header h;
	static struct dpk_proof p;
	struct dpk_mpt_account acct;
	struct dpk_identity id;
	struct dpk_registry_record rec;
	uint8_t idh[32], slots[6][32], words[6][32], want[20], key[65];
	size_t n;

	(void)state;
	dpk_test_read_data("mpt/anvil-proof.json", &raw);
	doc = cJSON_ParseWithLength((const char *)raw.data, raw.len);
	assert_non_null(doc);
	assert_int_equal(dpk_header_from_json(cJSON_GetObjectItem(doc, "block"), NULL, &h), 0);
	assert_int_equal(dpk_proof_from_json(cJSON_GetObjectItem(doc, "proof"), &p), 0);
	assert_int_equal(p.nslots, 6);

	assert_int_equal(dpk_identity_parse("proof.example.org", 17, &id), 0);
	assert_int_equal(dpk_identity_hash(&id, idh), 0);
	n = dpk_slots_record_slots(idh, slots + 1, 5);
	assert_int_equal(n, DPK_SLOTS_RECORD_FIXED);
	memset(slots[0], 0, 32);
	memcpy(slots[5], p.slots[5].key, 32); /* the absent record */
	for (size_t i = 0; i < 5; i++)
		assert_memory_equal(slots[i], p.slots[i].key, 32);

	assert_int_equal(dpk_proof_verify(&p, h.state_root, p.address, (const uint8_t (*)[32])slots, 6,
	    &acct, words), 0);
	{
		size_t nd = 99;

		assert_int_equal(dpk_slots_data_needed((const uint8_t (*)[32])(words + 1), &nd), 0);
		assert_int_equal(nd, 0); /* P-256: one request */
	}
	assert_int_equal(dpk_slots_decode_record((const uint8_t (*)[32])(words + 1), 4, &rec), 0);
	assert_int_equal(rec.status, DPK_REGISTRY_ACTIVE);
	assert_int_equal(rec.alg, 1);
	assert_int_equal(rec.serial, 1);
	assert_int_equal(rec.version, 1);
	assert_int_equal(rec.valid_until, 0);
	assert_true(rec.valid_from > 1700000000 && rec.valid_from < 4000000000ULL);
	assert_int_equal(dpk_hex_decode_exact(A2, want, 20), 0);
	assert_memory_equal(rec.controller, want, 20);
	assert_int_equal(dpk_hex_decode_exact(A1, want, 20), 0);
	assert_memory_equal(rec.approver, want, 20);
	assert_int_equal(dpk_hex_decode_exact(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "publicKey")), key, 65), 0);
	assert_int_equal(rec.publen, 65);
	assert_memory_equal(rec.pubkey, key, 65);
	dpk_registry_record_free(&rec);
	/* the other parity: another point, never the stored key */
	words[1][31 - 20] ^= 0x80;
	assert_int_equal(dpk_slots_decode_record((const uint8_t (*)[32])(words + 1), 4, &rec), 0);
	assert_memory_not_equal(rec.pubkey, key, 65);
	dpk_registry_record_free(&rec);
	words[1][31 - 20] ^= 0x80;
	/* an RSA slot that is not zero beside a P-256 key */
	words[4][31] = 1;
	assert_int_equal(dpk_slots_decode_record((const uint8_t (*)[32])(words + 1), 4, &rec), DPK_ERR_NONCANONICAL);
	words[4][31] = 0;
	/* an x that is no point's (p - 1 is x = -1: -1 + 3 + b is not a square) */
	memset(words[3], 0xff, 32);
	{
		int r2 = dpk_slots_decode_record((const uint8_t (*)[32])(words + 1), 4, &rec);

		assert_true(r2 == DPK_ERR_NONCANONICAL || r2 == 0);
		if (r2 == 0)
			dpk_registry_record_free(&rec);
	}
	/* the absent record: all zero words */
	memset(words, 0, sizeof(words));
	assert_int_equal(dpk_slots_decode_record((const uint8_t (*)[32])words, 4, &rec), DPK_ERR_NOTFOUND);
	dpk_proof_free(&p);
	cJSON_Delete(doc);
	dpk_buf_free(&raw);
}

static void
test_key_length_word(void **state)
{
	uint8_t w[32] = { 0 };
	size_t len, nd;

	(void)state;
	/* short: 3 bytes "abc", 6 in the low byte */
	memcpy(w, "abc", 3);
	w[31] = 6;
	assert_int_equal(dpk_slots_key_len(w, &len, &nd), 0);
	assert_int_equal(len, 3);
	assert_int_equal(nd, 0);
	w[10] = 1; /* a stray byte past the length */
	assert_int_equal(dpk_slots_key_len(w, &len, &nd), DPK_ERR_NONCANONICAL);
	/* long: 65 bytes -> 131 */
	memset(w, 0, 32);
	w[31] = 131;
	assert_int_equal(dpk_slots_key_len(w, &len, &nd), 0);
	assert_int_equal(len, 65);
	assert_int_equal(nd, 3);
	/* long form for a length under 32 */
	w[31] = 2 * 20 + 1;
	assert_int_equal(dpk_slots_key_len(w, &len, &nd), DPK_ERR_NONCANONICAL);
	/* 2048 bytes is the maximum; 2049 is refused; a huge word too */
	w[30] = (2 * 2048 + 1) >> 8;
	w[31] = (2 * 2048 + 1) & 0xff;
	assert_int_equal(dpk_slots_key_len(w, &len, &nd), 0);
	assert_int_equal(nd, 64);
	w[31] += 2;
	assert_int_equal(dpk_slots_key_len(w, &len, &nd), DPK_ERR_TOOBIG);
	w[0] = 1;
	assert_int_equal(dpk_slots_key_len(w, &len, &nd), DPK_ERR_TOOBIG);
}

/* An RSA record: x zero, the DER's length word in base + 3, data words after. */
static void
test_rsa_record(void **state)
{
	uint8_t words[4 + 3][32] = { { 0 } };
	struct dpk_registry_record rec;
	size_t nd = 0;

	(void)state;
	words[0][31 - 21] = 1;                 /* active */
	words[0][31 - 20] = DPK_REGISTRY_ALG_RSA;
	words[1][31 - 20] = 7;                 /* serial 7 */
	words[3][31] = 2 * 70 + 1;             /* 70 bytes, long form */
	memset(words[4], 0xaa, 32);
	memset(words[5], 0xbb, 32);
	memset(words[6], 0xcc, 6);
	assert_int_equal(dpk_slots_data_needed((const uint8_t (*)[32])words, &nd), 0);
	assert_int_equal(nd, 3);
	assert_int_equal(dpk_slots_decode_record((const uint8_t (*)[32])words, 6, &rec), DPK_ERR_TRUNCATED);
	assert_int_equal(dpk_slots_decode_record((const uint8_t (*)[32])words, 7, &rec), 0);
	assert_int_equal(rec.alg, DPK_REGISTRY_ALG_RSA);
	assert_int_equal(rec.publen, 70);
	assert_int_equal(rec.pubkey[0], 0xaa);
	assert_int_equal(rec.pubkey[32], 0xbb);
	assert_int_equal(rec.pubkey[69], 0xcc);
	assert_int_equal(rec.serial, 7);
	dpk_registry_record_free(&rec);
	/* x beside an RSA key, or the parity bit: never written */
	words[2][0] = 1;
	assert_int_equal(dpk_slots_decode_record((const uint8_t (*)[32])words, 7, &rec), DPK_ERR_NONCANONICAL);
	words[2][0] = 0;
	words[0][31 - 20] |= 0x80;
	assert_int_equal(dpk_slots_decode_record((const uint8_t (*)[32])words, 7, &rec), DPK_ERR_NONCANONICAL);
}

static void
test_never_written(void **state)
{
	uint8_t words[4][32] = { { 0 } };
	struct dpk_registry_record rec;

	(void)state;
	words[0][31 - 21] = 3; /* status 3 */
	words[0][31 - 20] = DPK_REGISTRY_ALG_P256;
	words[1][31 - 20] = 1; /* serial 1 */
	assert_int_equal(dpk_slots_decode_record((const uint8_t (*)[32])words, 4, &rec), DPK_ERR_RANGE);
	words[0][31 - 21] = 1;
	words[1][31 - 20] = 0; /* serial 0 */
	assert_int_equal(dpk_slots_decode_record((const uint8_t (*)[32])words, 4, &rec), DPK_ERR_RANGE);
	words[1][31 - 20] = 1;
	words[0][31 - 20] = 3; /* algorithm 3 */
	assert_int_equal(dpk_slots_decode_record((const uint8_t (*)[32])words, 4, &rec), DPK_ERR_RANGE);
	/* carries: base + k across a byte boundary */
	{
		uint8_t s[32], o[32];

		memset(s, 0xff, 32);
		dpk_slots_add(s, 1, o);
		for (size_t i = 0; i < 32; i++)
			assert_int_equal(o[i], 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_from_anvil),
		cmocka_unit_test(test_key_length_word),
		cmocka_unit_test(test_rsa_record),
		cmocka_unit_test(test_never_written),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
