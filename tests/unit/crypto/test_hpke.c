/* HPKE (lib/crypto/hpke.c) against RFC 9180's published vectors for
 * DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode, and the
 * HKDF helper (lib/crypto/hkdf.c) against RFC 5869's test cases 1-3
 * (tests/data/hpke/, see SOURCES there). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "base/err.h"
#include "harness.h"
#include "base/hex.h"
#include "crypto/hkdf.h"
#include "crypto/hpke.h"
#include "crypto/pke.h"

#define VAL_MAX 256

/* One "name: hex" line of a vector file; blocks are separated by lines that
 * start with a block key (a blank value is a zero-length input). */
struct field {
	char name[32];
	uint8_t v[VAL_MAX];
	size_t len;
};

#define FIELDS_MAX 24
struct block {
	struct field f[FIELDS_MAX];
	int n;
};

/* Split a vector file into blocks: a new one starts at each line whose name
 * is one of starts (and at the top of the file). */
static int
parse_blocks(const char *text, const char *const *starts, struct block *blocks, int maxblocks)
{
	int nb = 0;
	const char *line = text;

	memset(blocks, 0, sizeof(*blocks) * (size_t)maxblocks);
	while (*line != '\0') {
		const char *end = strchr(line, '\n'), *colon;
		size_t len = end ? (size_t)(end - line) : strlen(line);

		colon = memchr(line, ':', len);
		if (len > 0 && line[0] != '#' && colon != NULL) {
			struct field *f;
			const char *val = colon + 1;
			size_t nlen = (size_t)(colon - line), vlen = len - nlen - 1;

			while (vlen > 0 && *val == ' ') {
				val++;
				vlen--;
			}
			for (const char *const *s = starts; *s != NULL; s++)
				if (strlen(*s) == nlen && memcmp(*s, line, nlen) == 0 && blocks[nb].n > 0)
					nb++;
			assert_true(nb < maxblocks);
			assert_true(blocks[nb].n < FIELDS_MAX);
			assert_true(nlen < sizeof(f->name));
			f = &blocks[nb].f[blocks[nb].n++];
			memcpy(f->name, line, nlen);
			f->name[nlen] = '\0';
			/* "L" and "seq" are decimal; everything else hex */
			if (strcmp(f->name, "L") == 0 || strcmp(f->name, "seq") == 0 || strcmp(f->name, "case") == 0 ||
			    strstr(f->name, "_id") != NULL || strcmp(f->name, "mode") == 0) {
				char num[24] = {0};

				assert_true(vlen < sizeof(num));
				memcpy(num, val, vlen);
				f->len = (size_t)strtoul(num, NULL, 10);
			} else {
				assert_int_equal(dpk_hex_decode(val, vlen, f->v, sizeof(f->v), &f->len), 0);
			}
		}
		if (end == NULL)
			break;
		line = end + 1;
	}
	return blocks[nb].n > 0 ? nb + 1 : nb;
}

static const struct field *
get(const struct block *b, const char *name)
{
	for (int i = 0; i < b->n; i++)
		if (strcmp(b->f[i].name, name) == 0)
			return &b->f[i];
	fail_msg("vector field %s missing", name);
	abort(); /* not reached: fail_msg leaves the test */
}

static void
assert_field(const struct block *b, const char *name, const uint8_t *got, size_t len)
{
	const struct field *f = get(b, name);

	if (f->len != len || memcmp(f->v, got, len) != 0) {
		char hex[2 * VAL_MAX + 1];

		dpk_hex_encode(got, len, 0, hex, sizeof(hex));
		fail_msg("%s: got %s", name, hex);
	}
}

static void
test_hkdf_rfc5869(void **state)
{
	static const char *const starts[] = {"case", NULL};
	struct block blocks[4];
	struct dpk_buf text;
	int n;

	dpk_test_read_data("hpke/rfc5869-hkdf-sha256.txt", &text);
	n = parse_blocks((const char *)text.data, starts, blocks, 4);
	assert_int_equal(n, 3);
	for (int i = 0; i < n; i++) {
		const struct block *b = &blocks[i];
		const struct field *ikm = get(b, "IKM"), *salt = get(b, "salt"), *info = get(b, "info");
		uint8_t prk[DPK_HKDF_HASH_LEN], okm[VAL_MAX];
		size_t L = get(b, "L")->len;

		assert_int_equal(dpk_hkdf_extract(salt->len ? salt->v : NULL, salt->len, ikm->v, ikm->len, prk), 0);
		assert_field(b, "PRK", prk, sizeof(prk));
		assert_int_equal(dpk_hkdf_expand(prk, info->len ? info->v : NULL, info->len, okm, L), 0);
		assert_field(b, "OKM", okm, L);
	}
	/* RFC 5869's limit on L, and bad arguments */
	{
		uint8_t prk[DPK_HKDF_HASH_LEN] = {1}, big[DPK_HKDF_MAX_OUT + 1];

		assert_int_equal(dpk_hkdf_expand(prk, NULL, 0, big, DPK_HKDF_MAX_OUT), 0);
		assert_int_equal(dpk_hkdf_expand(prk, NULL, 0, big, DPK_HKDF_MAX_OUT + 1), DPK_ERR_INVALID);
		assert_int_equal(dpk_hkdf_expand(prk, NULL, 0, big, 0), DPK_ERR_INVALID);
		assert_int_equal(dpk_hkdf_extract(NULL, 0, NULL, 5, prk), DPK_ERR_INVALID);
	}
	dpk_buf_free(&text);
}

static void
test_hpke_rfc9180_p256_base(void **state)
{
	static const char *const starts[] = {"seq", "exporter_context", NULL};
	struct block blocks[16];
	struct dpk_buf text, out;
	struct dpk_hpke_ctx s, r;
	uint8_t sk[DPK_HPKE_NSK], pk[DPK_HPKE_NPK], enc[DPK_HPKE_NENC], ss[DPK_HPKE_NSECRET];
	EVP_PKEY *skR = NULL;
	const struct block *setup = &blocks[0];
	const struct field *info;
	int n, encryptions = 0, exports = 0;

	dpk_test_read_data("hpke/rfc9180-p256-sha256-aes128gcm-base.txt", &text);
	n = parse_blocks((const char *)text.data, starts, blocks, 16);
	assert_true(n >= 2);
	assert_int_equal(get(setup, "mode")->len, 0);
	assert_int_equal(get(setup, "kem_id")->len, DPK_HPKE_KEM_ID);
	assert_int_equal(get(setup, "kdf_id")->len, DPK_HPKE_KDF_ID);
	assert_int_equal(get(setup, "aead_id")->len, DPK_HPKE_AEAD_ID);
	info = get(setup, "info");

	/* DeriveKeyPair for both parties */
	assert_int_equal(dpk_hpke_derive_keypair(get(setup, "ikmE")->v, get(setup, "ikmE")->len, sk, pk), 0);
	assert_field(setup, "skEm", sk, sizeof(sk));
	assert_field(setup, "pkEm", pk, sizeof(pk));
	assert_int_equal(dpk_hpke_derive_keypair(get(setup, "ikmR")->v, get(setup, "ikmR")->len, sk, pk), 0);
	assert_field(setup, "skRm", sk, sizeof(sk));
	assert_field(setup, "pkRm", pk, sizeof(pk));

	/* Encap with the vector's ephemeral, Decap with skRm */
	assert_int_equal(dpk_hpke_encap(get(setup, "pkRm")->v, get(setup, "ikmE")->v, get(setup, "ikmE")->len, enc,
	    ss), 0);
	assert_field(setup, "enc", enc, sizeof(enc));
	assert_field(setup, "shared_secret", ss, sizeof(ss));
	memset(ss, 0, sizeof(ss));
	assert_int_equal(dpk_hpke_key_from_private(get(setup, "skRm")->v, &skR), 0);
	assert_int_equal(dpk_hpke_decap(skR, get(setup, "enc")->v, ss), 0);
	assert_field(setup, "shared_secret", ss, sizeof(ss));

	/* the key schedule, from both sides */
	assert_int_equal(dpk_hpke_setup_base_s(get(setup, "pkRm")->v, get(setup, "ikmE")->v, get(setup, "ikmE")->len,
	    info->v, info->len, enc, &s), 0);
	assert_field(setup, "enc", enc, sizeof(enc));
	assert_field(setup, "key", s.key, sizeof(s.key));
	assert_field(setup, "base_nonce", s.base_nonce, sizeof(s.base_nonce));
	assert_field(setup, "exporter_secret", s.exporter_secret, sizeof(s.exporter_secret));
	/* the same with pkR parsed and validated beforehand (how lib/psk/handshake.c
	 * seals several messages to one peer) */
	{
		struct dpk_hpke_ctx s2;
		uint8_t enc2[DPK_HPKE_NENC];
		EVP_PKEY *pkR = NULL;

		assert_int_equal(dpk_idkey_onchain_evp(DPK_IDKEY_P256, get(setup, "pkRm")->v, DPK_HPKE_NPK, &pkR), 0);
		assert_int_equal(dpk_hpke_setup_base_s_key(pkR, get(setup, "pkRm")->v, get(setup, "ikmE")->v,
		    get(setup, "ikmE")->len, info->v, info->len, enc2, &s2), 0);
		assert_field(setup, "enc", enc2, sizeof(enc2));
		assert_field(setup, "key", s2.key, sizeof(s2.key));
		assert_field(setup, "base_nonce", s2.base_nonce, sizeof(s2.base_nonce));
		assert_field(setup, "exporter_secret", s2.exporter_secret, sizeof(s2.exporter_secret));
		assert_int_equal(dpk_hpke_encap_key(pkR, get(setup, "pkRm")->v, get(setup, "ikmE")->v,
		    get(setup, "ikmE")->len, enc2, ss), 0);
		assert_field(setup, "shared_secret", ss, sizeof(ss));
		assert_int_equal(dpk_hpke_encap_key(NULL, get(setup, "pkRm")->v, NULL, 0, enc2, ss), DPK_ERR_INVALID);
		EVP_PKEY_free(pkR);
	}
	assert_int_equal(dpk_hpke_setup_base_r(skR, enc, info->v, info->len, &r), 0);
	assert_memory_equal(r.key, s.key, sizeof(s.key));
	assert_memory_equal(r.base_nonce, s.base_nonce, sizeof(s.base_nonce));

	/* every encryption (sequence 0 is what single-shot lib/crypto/pke.c uses) and export */
	dpk_buf_init(&out, 4096);
	for (int i = 1; i < n; i++) {
		const struct block *b = &blocks[i];

		if (strcmp(b->f[0].name, "seq") == 0) {
			const struct field *pt = get(b, "pt"), *aad = get(b, "aad"), *ct = get(b, "ct");

			s.seq = r.seq = get(b, "seq")->len;
			dpk_buf_reset(&out);
			assert_int_equal(dpk_hpke_seal(&s, aad->v, aad->len, pt->v, pt->len, &out), 0);
			assert_field(b, "ct", out.data, out.len);
			dpk_buf_reset(&out);
			assert_int_equal(dpk_hpke_open(&r, aad->v, aad->len, ct->v, ct->len, &out), 0);
			assert_field(b, "pt", out.data, out.len);
			/* lib/crypto/pke.h's single-shot form is enc || the sequence 0 ciphertext */
			if (get(b, "seq")->len == 0) {
				dpk_buf_reset(&out);
				assert_int_equal(dpk_pke_seal_derand(DPK_IDKEY_P256, get(setup, "pkRm")->v, DPK_HPKE_NPK,
				    get(setup, "ikmE")->v, get(setup, "ikmE")->len, info->v, info->len, aad->v, aad->len,
				    pt->v, pt->len, &out), 0);
				assert_int_equal(out.len, DPK_HPKE_NENC + ct->len);
				assert_memory_equal(out.data, get(setup, "enc")->v, DPK_HPKE_NENC);
				assert_memory_equal(out.data + DPK_HPKE_NENC, ct->v, ct->len);
			}
			/* and the aad is bound: the next sequence's aad fails */
			r.seq--;
			dpk_buf_reset(&out);
			assert_int_equal(dpk_hpke_open(&r, ct->v, 3, ct->v, ct->len, &out), DPK_ERR_BADMAC);
			assert_int_equal(out.len, 0);
			encryptions++;
		} else {
			const struct field *c = get(b, "exporter_context");
			uint8_t v[64];
			size_t L = get(b, "L")->len;

			assert_true(L <= sizeof(v));
			assert_int_equal(dpk_hpke_export(&s, c->len ? c->v : NULL, c->len, v, L), 0);
			assert_field(b, "exported_value", v, L);
			exports++;
		}
	}
	assert_int_equal(encryptions, 6);
	assert_int_equal(exports, 3);
	dpk_hpke_ctx_wipe(&s);
	dpk_hpke_ctx_wipe(&r);
	EVP_PKEY_free(skR);
	dpk_buf_free(&out);
	dpk_buf_free(&text);
}

/* A fresh random ephemeral round-trips; a wrong info or a bad point is refused. */
static void
test_hpke_random_and_bad_input(void **state)
{
	static const uint8_t ikmR[32] = {7, 7, 7}, info[] = "info", pt[] = "hello";
	uint8_t sk[DPK_HPKE_NSK], pk[DPK_HPKE_NPK], enc[DPK_HPKE_NENC], enc2[DPK_HPKE_NENC], bad[DPK_HPKE_NPK];
	struct dpk_hpke_ctx s, r;
	struct dpk_buf ct, back;
	EVP_PKEY *skR = NULL;

	assert_int_equal(dpk_hpke_derive_keypair(ikmR, sizeof(ikmR), sk, pk), 0);
	assert_int_equal(dpk_hpke_derive_keypair(ikmR, 31, sk, pk), DPK_ERR_INVALID);
	assert_int_equal(dpk_hpke_key_from_private(sk, &skR), 0);
	dpk_buf_init(&ct, 1024);
	dpk_buf_init(&back, 1024);
	assert_int_equal(dpk_hpke_setup_base_s(pk, NULL, 0, info, 4, enc, &s), 0);
	assert_int_equal(dpk_hpke_setup_base_s(pk, NULL, 0, info, 4, enc2, &r), 0);
	assert_memory_not_equal(enc, enc2, sizeof(enc)); /* fresh ephemeral each time */
	assert_int_equal(dpk_hpke_seal(&s, NULL, 0, pt, sizeof(pt), &ct), 0);
	assert_int_equal(dpk_hpke_setup_base_r(skR, enc, info, 3, &r), 0); /* other info */
	assert_int_equal(dpk_hpke_open(&r, NULL, 0, ct.data, ct.len, &back), DPK_ERR_BADMAC);
	assert_int_equal(dpk_hpke_setup_base_r(skR, enc, info, 4, &r), 0);
	assert_int_equal(dpk_hpke_open(&r, NULL, 0, ct.data, ct.len, &back), 0);
	assert_memory_equal(back.data, pt, sizeof(pt));
	/* points off the curve, compressed, at infinity, or a zero scalar */
	memcpy(bad, pk, sizeof(bad));
	bad[64] ^= 1;
	assert_int_equal(dpk_hpke_encap(bad, NULL, 0, enc, sk), DPK_ERR_SYNTAX);
	assert_int_equal(dpk_hpke_setup_base_r(skR, bad, info, 4, &r), DPK_ERR_SYNTAX);
	bad[0] = 0x02;
	assert_int_equal(dpk_hpke_setup_base_r(skR, bad, info, 4, &r), DPK_ERR_SYNTAX);
	memset(bad, 0, sizeof(bad));
	assert_int_equal(dpk_hpke_setup_base_r(skR, bad, info, 4, &r), DPK_ERR_SYNTAX);
	{
		EVP_PKEY *k = NULL;
		uint8_t zero[DPK_HPKE_NSK] = {0}, big[DPK_HPKE_NSK];

		memset(big, 0xff, sizeof(big)); /* above the group order */
		assert_int_equal(dpk_hpke_key_from_private(zero, &k), DPK_ERR_INVALID);
		assert_int_equal(dpk_hpke_key_from_private(big, &k), DPK_ERR_INVALID);
		assert_null(k);
	}
	dpk_hpke_ctx_wipe(&s);
	dpk_hpke_ctx_wipe(&r);
	EVP_PKEY_free(skR);
	dpk_buf_free(&ct);
	dpk_buf_free(&back);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hkdf_rfc5869),
		cmocka_unit_test(test_hpke_rfc9180_p256_base),
		cmocka_unit_test(test_hpke_random_and_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
