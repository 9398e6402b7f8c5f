/* Public-key encryption to identity keys (lib/crypto/pke.c): round trips for P-256
 * (HPKE) and RSA (OAEP + AES-256-GCM), what binds a ciphertext (info, aad,
 * key), refusal of malformed input with nothing appended, and the RSA key
 * wrap checked both ways against the openssl command. The HPKE arithmetic
 * itself is checked against RFC 9180's vectors in test_hpke.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "crypto/aead.h"
#include "base/err.h"
#include "harness.h"
#include "base/hex.h"
#include "crypto/idkey.h"
#include "crypto/pke.h"

static const uint8_t INFO[] = "DPK-PSK-v1 test m1";
static const uint8_t AAD[] = "header bytes";
static const uint8_t PT[] = "the plaintext: nonces, identities and a key";
static const uint8_t PREFIX[] = "kept";

struct keys {
	struct dpk_idkey *p256, *p256b, *rsa, *rsab;
	struct dpk_buf p256pub, p256bpub, rsapub, rsabpub;
};

static struct dpk_buf *
pub_of(struct keys *k, struct dpk_idkey *key)
{
	return key == k->p256 ? &k->p256pub : key == k->p256b ? &k->p256bpub : key == k->rsa ? &k->rsapub : &k->rsabpub;
}

static int
setup(void **state)
{
	struct keys *k = calloc(1, sizeof(*k));
	struct dpk_idkey **all[] = {&k->p256, &k->p256b, &k->rsa, &k->rsab};

	if (k == NULL)
		return -1;
	if (dpk_idkey_generate(DPK_IDKEY_P256, 0, &k->p256) != 0 || dpk_idkey_generate(DPK_IDKEY_P256, 0, &k->p256b) != 0 ||
	    dpk_idkey_generate(DPK_IDKEY_RSA, 2048, &k->rsa) != 0 || dpk_idkey_generate(DPK_IDKEY_RSA, 2048, &k->rsab) != 0)
		return -1;
	for (size_t i = 0; i < 4; i++) {
		struct dpk_buf *b = pub_of(k, *all[i]);

		dpk_buf_init(b, 4096);
		if (dpk_idkey_public_onchain(*all[i], b) != 0)
			return -1;
	}
	*state = k;
	return 0;
}

static int
teardown(void **state)
{
	struct keys *k = *state;

	dpk_idkey_free(k->p256);
	dpk_idkey_free(k->p256b);
	dpk_idkey_free(k->rsa);
	dpk_idkey_free(k->rsab);
	dpk_buf_free(&k->p256pub);
	dpk_buf_free(&k->p256bpub);
	dpk_buf_free(&k->rsapub);
	dpk_buf_free(&k->rsabpub);
	free(k);
	return 0;
}

static void
seal_for(struct keys *k, struct dpk_idkey *key, struct dpk_buf *ct)
{
	struct dpk_buf *pub = pub_of(k, key);

	dpk_buf_init(ct, 1 << 16);
	assert_int_equal(dpk_pke_seal(dpk_idkey_alg(key), pub->data, pub->len, INFO, sizeof(INFO), AAD, sizeof(AAD), PT,
	    sizeof(PT), ct), 0);
	assert_int_equal(ct->len, sizeof(PT) + dpk_pke_overhead(dpk_idkey_alg(key), pub->data, pub->len));
}

/* Open ct with key, info and aad into a buffer that already holds PREFIX;
 * return the result and check a failure left the buffer as it was. */
static int
open_checked(struct dpk_idkey *key, const uint8_t *info, size_t infolen, const uint8_t *aad, size_t aadlen,
    const uint8_t *ct, size_t ctlen)
{
	struct dpk_buf out;
	int r;

	uint8_t *room;

	/* room for any plaintext, zeroed, so a leak of decrypted bytes would show */
	dpk_buf_init(&out, DPK_PKE_PT_MAX + 64);
	assert_int_equal(dpk_buf_put(&out, PREFIX, sizeof(PREFIX)), 0);
	assert_int_equal(dpk_buf_reserve(&out, DPK_PKE_PT_MAX + 32, &room), 0);
	out.len = sizeof(PREFIX);
	r = dpk_pke_open(key, info, infolen, aad, aadlen, ct, ctlen, &out);
	if (r == 0) {
		assert_int_equal(out.len, sizeof(PREFIX) + sizeof(PT));
		assert_memory_equal(out.data + sizeof(PREFIX), PT, sizeof(PT));
	} else {
		assert_int_equal(out.len, sizeof(PREFIX)); /* nothing appended */
		/* and no partial plaintext in the spare room either */
		for (size_t i = sizeof(PREFIX); i < sizeof(PREFIX) + DPK_PKE_PT_MAX + 32; i++)
			assert_int_equal(out.data[i], 0);
	}
	assert_memory_equal(out.data, PREFIX, sizeof(PREFIX));
	dpk_buf_free(&out);
	return r;
}

static void
round_trip_and_binding(struct keys *k, struct dpk_idkey *key, struct dpk_idkey *other)
{
	struct dpk_buf ct, ct2;

	seal_for(k, key, &ct);
	assert_int_equal(open_checked(key, INFO, sizeof(INFO), AAD, sizeof(AAD), ct.data, ct.len), 0);
	/* randomised: the same plaintext seals differently every time */
	seal_for(k, key, &ct2);
	assert_int_equal(ct.len, ct2.len);
	assert_memory_not_equal(ct.data, ct2.data, ct.len);
	/* info and aad are bound, and so is the recipient */
	assert_int_equal(open_checked(key, INFO, sizeof(INFO) - 1, AAD, sizeof(AAD), ct.data, ct.len), DPK_ERR_BADMAC);
	assert_int_equal(open_checked(key, NULL, 0, AAD, sizeof(AAD), ct.data, ct.len), DPK_ERR_BADMAC);
	assert_int_equal(open_checked(key, INFO, sizeof(INFO), AAD, sizeof(AAD) - 1, ct.data, ct.len), DPK_ERR_BADMAC);
	assert_int_equal(open_checked(key, INFO, sizeof(INFO), NULL, 0, ct.data, ct.len), DPK_ERR_BADMAC);
	assert_int_equal(open_checked(other, INFO, sizeof(INFO), AAD, sizeof(AAD), ct.data, ct.len), DPK_ERR_BADMAC);
	/* empty plaintext, no info, no aad */
	dpk_buf_reset(&ct2);
	{
		struct dpk_buf *pub = pub_of(k, key), out;

		assert_int_equal(dpk_pke_seal(dpk_idkey_alg(key), pub->data, pub->len, NULL, 0, NULL, 0, NULL, 0, &ct2), 0);
		dpk_buf_init(&out, 16);
		assert_int_equal(dpk_pke_open(key, NULL, 0, NULL, 0, ct2.data, ct2.len, &out), 0);
		assert_int_equal(out.len, 0);
		dpk_buf_free(&out);
	}
	dpk_buf_free(&ct);
	dpk_buf_free(&ct2);
}

static void
test_p256_round_trip(void **state)
{
	struct keys *k = *state;

	round_trip_and_binding(k, k->p256, k->p256b);
}

static void
test_rsa_round_trip(void **state)
{
	struct keys *k = *state;

	round_trip_and_binding(k, k->rsa, k->rsab);
}

/* Every truncation, a trailing byte, and every single-bit flip fail cleanly. */
static void
malformed(struct keys *k, struct dpk_idkey *key)
{
	struct dpk_buf ct;
	uint8_t *copy;

	seal_for(k, key, &ct);
	for (size_t n = 0; n < ct.len; n++) {
		int r = open_checked(key, INFO, sizeof(INFO), AAD, sizeof(AAD), ct.data, n);

		assert_true(r == DPK_ERR_TRUNCATED || r == DPK_ERR_SYNTAX || r == DPK_ERR_BADMAC);
	}
	assert_int_equal(open_checked(key, INFO, sizeof(INFO), AAD, sizeof(AAD), ct.data, 0), DPK_ERR_TRUNCATED);
	copy = malloc(ct.len + 1);
	assert_non_null(copy);
	memcpy(copy, ct.data, ct.len);
	copy[ct.len] = 0;
	assert_int_equal(open_checked(key, INFO, sizeof(INFO), AAD, sizeof(AAD), copy, ct.len + 1), DPK_ERR_BADMAC);
	for (size_t i = 0; i < ct.len * 8; i += (i < 100 * 8 ? 1 : 13)) {
		int r;

		copy[i / 8] ^= (uint8_t)(1u << (i % 8));
		r = open_checked(key, INFO, sizeof(INFO), AAD, sizeof(AAD), copy, ct.len);
		assert_true(r == DPK_ERR_SYNTAX || r == DPK_ERR_BADMAC);
		copy[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	/* the tag itself */
	copy[ct.len - 1] ^= 0x80;
	assert_int_equal(open_checked(key, INFO, sizeof(INFO), AAD, sizeof(AAD), copy, ct.len), DPK_ERR_BADMAC);
	free(copy);
	dpk_buf_free(&ct);
}

static void
test_p256_malformed(void **state)
{
	struct keys *k = *state;
	struct dpk_buf ct;

	malformed(k, k->p256);
	seal_for(k, k->p256, &ct);
	/* enc that is not a point: wrong prefix, off the curve, all zero */
	ct.data[0] = 0x02;
	assert_int_equal(open_checked(k->p256, INFO, sizeof(INFO), AAD, sizeof(AAD), ct.data, ct.len), DPK_ERR_SYNTAX);
	ct.data[0] = 0x04;
	ct.data[64] ^= 1;
	assert_int_equal(open_checked(k->p256, INFO, sizeof(INFO), AAD, sizeof(AAD), ct.data, ct.len), DPK_ERR_SYNTAX);
	memset(ct.data, 0, 65);
	assert_int_equal(open_checked(k->p256, INFO, sizeof(INFO), AAD, sizeof(AAD), ct.data, ct.len), DPK_ERR_SYNTAX);
	/* the shortest possible: enc + tag, one byte less */
	assert_int_equal(open_checked(k->p256, NULL, 0, NULL, 0, ct.data, 65 + 15), DPK_ERR_TRUNCATED);
	dpk_buf_free(&ct);
}

static void
test_rsa_malformed(void **state)
{
	struct keys *k = *state;
	struct dpk_buf ct;

	malformed(k, k->rsa);
	seal_for(k, k->rsa, &ct);
	/* a wrapped-key length that is not this key's block size */
	ct.data[1] ^= 1;
	assert_int_equal(open_checked(k->rsa, INFO, sizeof(INFO), AAD, sizeof(AAD), ct.data, ct.len), DPK_ERR_SYNTAX);
	ct.data[1] ^= 1;
	ct.data[0] = 0xff;
	assert_int_equal(open_checked(k->rsa, INFO, sizeof(INFO), AAD, sizeof(AAD), ct.data, ct.len), DPK_ERR_SYNTAX);
	/* the right length (256) but the wrapped key altered: OAEP fails, and the
	 * answer is the same as for a bad tag */
	ct.data[0] = 0x01;
	ct.data[1] = 0x00;
	ct.data[2] ^= 0x55;
	assert_int_equal(open_checked(k->rsa, INFO, sizeof(INFO), AAD, sizeof(AAD), ct.data, ct.len), DPK_ERR_BADMAC);
	dpk_buf_free(&ct);
}

static void
test_oversized_and_bad_arguments(void **state)
{
	struct keys *k = *state;
	struct dpk_buf out, big;
	uint8_t *pt = calloc(1, DPK_PKE_PT_MAX + 1), info[DPK_PKE_INFO_MAX + 1] = {0};

	assert_non_null(pt);
	dpk_buf_init(&out, 1 << 16);
	/* plaintext and info caps, for both key types */
	assert_int_equal(dpk_pke_seal(DPK_IDKEY_P256, k->p256pub.data, k->p256pub.len, NULL, 0, NULL, 0, pt,
	    DPK_PKE_PT_MAX + 1, &out), DPK_ERR_INVALID);
	assert_int_equal(dpk_pke_seal(DPK_IDKEY_RSA, k->rsapub.data, k->rsapub.len, NULL, 0, NULL, 0, pt,
	    DPK_PKE_PT_MAX + 1, &out), DPK_ERR_INVALID);
	assert_int_equal(dpk_pke_seal(DPK_IDKEY_P256, k->p256pub.data, k->p256pub.len, info, sizeof(info), NULL, 0, pt,
	    1, &out), DPK_ERR_INVALID);
	assert_int_equal(dpk_pke_open(k->p256, info, sizeof(info), NULL, 0, pt, 100, &out), DPK_ERR_INVALID);
	assert_int_equal(out.len, 0);
	/* the largest plaintext round-trips */
	assert_int_equal(dpk_pke_seal(DPK_IDKEY_P256, k->p256pub.data, k->p256pub.len, info, DPK_PKE_INFO_MAX, NULL, 0,
	    pt, DPK_PKE_PT_MAX, &out), 0);
	dpk_buf_init(&big, DPK_PKE_PT_MAX);
	assert_int_equal(dpk_pke_open(k->p256, info, DPK_PKE_INFO_MAX, NULL, 0, out.data, out.len, &big), 0);
	assert_int_equal(big.len, DPK_PKE_PT_MAX);
	/* one byte more ciphertext than the cap allows: refused before any work */
	assert_int_equal(dpk_buf_put_u8(&out, 0), 0);
	dpk_buf_reset(&big);
	assert_int_equal(dpk_pke_open(k->p256, info, DPK_PKE_INFO_MAX, NULL, 0, out.data, out.len, &big),
	    DPK_ERR_TOOBIG);
	dpk_buf_reset(&out);
	assert_int_equal(dpk_pke_seal(DPK_IDKEY_RSA, k->rsapub.data, k->rsapub.len, NULL, 0, NULL, 0, pt,
	    DPK_PKE_PT_MAX, &out), 0);
	assert_int_equal(dpk_buf_put_u8(&out, 0), 0);
	assert_int_equal(dpk_pke_open(k->rsa, NULL, 0, NULL, 0, out.data, out.len, &big), DPK_ERR_TOOBIG);
	assert_int_equal(big.len, 0);
	/* an output buffer too small for the result: restored, nothing kept */
	{
		struct dpk_buf tiny;

		dpk_buf_init(&tiny, 100);
		assert_int_equal(dpk_buf_put(&tiny, PREFIX, sizeof(PREFIX)), 0);
		assert_int_equal(dpk_pke_seal(DPK_IDKEY_P256, k->p256pub.data, k->p256pub.len, NULL, 0, NULL, 0, pt, 50,
		    &tiny), DPK_ERR_TOOBIG);
		assert_int_equal(tiny.len, sizeof(PREFIX));
		assert_int_equal(dpk_pke_seal(DPK_IDKEY_RSA, k->rsapub.data, k->rsapub.len, NULL, 0, NULL, 0, pt, 50,
		    &tiny), DPK_ERR_TOOBIG);
		assert_int_equal(tiny.len, sizeof(PREFIX));
		dpk_buf_free(&tiny);
	}
	dpk_buf_free(&big);
	dpk_buf_free(&out);
	free(pt);
}

/* Public keys that are not keys of the algorithm are refused when sealing. */
static void
test_bad_public_keys(void **state)
{
	struct keys *k = *state;
	struct dpk_buf out;
	uint8_t pub[65], *der = NULL;
	EVP_PKEY *weak;
	int derlen;

	dpk_buf_init(&out, 1 << 16);
	memcpy(pub, k->p256pub.data, 65);
	assert_int_equal(dpk_pke_seal(DPK_IDKEY_P256, pub, 64, NULL, 0, NULL, 0, PT, 1, &out), DPK_ERR_SYNTAX);
	pub[40] ^= 1; /* off the curve */
	assert_int_equal(dpk_pke_seal(DPK_IDKEY_P256, pub, 65, NULL, 0, NULL, 0, PT, 1, &out), DPK_ERR_SYNTAX);
	assert_int_equal(dpk_pke_overhead(DPK_IDKEY_P256, pub, 65), 0);
	assert_int_equal(dpk_pke_seal(DPK_IDKEY_RSA, k->p256pub.data, 65, NULL, 0, NULL, 0, PT, 1, &out), DPK_ERR_SYNTAX);
	assert_int_equal(dpk_pke_seal(DPK_IDKEY_RSA, k->rsapub.data, k->rsapub.len - 1, NULL, 0, NULL, 0, PT, 1, &out),
	    DPK_ERR_SYNTAX);
	assert_int_equal(dpk_pke_seal(DPK_IDKEY_P256, k->rsapub.data, k->rsapub.len, NULL, 0, NULL, 0, PT, 1, &out),
	    DPK_ERR_SYNTAX);
	assert_int_equal(dpk_pke_seal((enum dpk_idkey_alg)3, pub, 65, NULL, 0, NULL, 0, PT, 1, &out), DPK_ERR_UNSUPPORTED);
	/* RSA below 2048 bits */
	weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	assert_non_null(weak);
	derlen = i2d_PUBKEY(weak, &der);
	assert_true(derlen > 0);
	assert_int_equal(dpk_pke_seal(DPK_IDKEY_RSA, der, (size_t)derlen, NULL, 0, NULL, 0, PT, 1, &out),
	    DPK_ERR_UNSUPPORTED);
	assert_int_equal(dpk_pke_overhead(DPK_IDKEY_RSA, der, (size_t)derlen), 0);
	assert_int_equal(dpk_pke_overhead(DPK_IDKEY_RSA, k->rsapub.data, k->rsapub.len), 2 + 256 + 12 + 16);
	assert_int_equal(dpk_pke_overhead(DPK_IDKEY_P256, k->p256pub.data, 65), 65 + 16);
	assert_int_equal(out.len, 0);
	OPENSSL_free(der);
	EVP_PKEY_free(weak);
	dpk_buf_free(&out);
}

/* The deterministic form: same ikm, same bytes; refused for RSA. */
static void
test_derand(void **state)
{
	struct keys *k = *state;
	static const uint8_t ikm[32] = {1, 2, 3};
	struct dpk_buf a, b;

	dpk_buf_init(&a, 4096);
	dpk_buf_init(&b, 4096);
	assert_int_equal(dpk_pke_seal_derand(DPK_IDKEY_P256, k->p256pub.data, 65, ikm, sizeof(ikm), INFO, sizeof(INFO),
	    AAD, sizeof(AAD), PT, sizeof(PT), &a), 0);
	assert_int_equal(dpk_pke_seal_derand(DPK_IDKEY_P256, k->p256pub.data, 65, ikm, sizeof(ikm), INFO, sizeof(INFO),
	    AAD, sizeof(AAD), PT, sizeof(PT), &b), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	assert_int_equal(open_checked(k->p256, INFO, sizeof(INFO), AAD, sizeof(AAD), a.data, a.len), 0);
	assert_int_equal(dpk_pke_seal_derand(DPK_IDKEY_RSA, k->rsapub.data, k->rsapub.len, ikm, sizeof(ikm), NULL, 0,
	    NULL, 0, PT, 1, &b), DPK_ERR_UNSUPPORTED);
	assert_int_equal(dpk_pke_seal_derand(DPK_IDKEY_P256, k->p256pub.data, 65, ikm, 16, NULL, 0, NULL, 0, PT, 1, &b),
	    DPK_ERR_INVALID);
	dpk_buf_free(&a);
	dpk_buf_free(&b);
}

static void
write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* The RSA key wrap is plain RSA-OAEP(SHA-256, MGF1-SHA-256, label = info):
 * openssl pkeyutl unwraps ours, and we open a message whose key openssl
 * wrapped. */
static void
test_rsa_openssl_cross_check(void **state)
{
	struct keys *k = *state;
	char dir[128], keypath[256], pubpath[256], inpath[256], label[2 * sizeof(INFO) + 32];
	char *openssl = (char *)"/usr/bin/openssl";
	struct dpk_buf ct, unwrapped, pem, wrapped, pt, msg;
	uint8_t key[32], nonce[12];
	size_t wlen;

	dpk_test_tmpdir(dir, sizeof(dir));
	snprintf(keypath, sizeof(keypath), "%s/rsa.pem", dir);
	snprintf(pubpath, sizeof(pubpath), "%s/rsa.pub.pem", dir);
	snprintf(inpath, sizeof(inpath), "%s/in.bin", dir);
	assert_int_equal(dpk_idkey_save(k->rsa, keypath), 0);
	dpk_buf_init(&pem, 8192);
	assert_int_equal(dpk_idkey_public_pem(k->rsa, &pem), 0);
	write_file(pubpath, pem.data, pem.len);
	memcpy(label, "rsa_oaep_label:", 15);
	assert_int_equal(dpk_hex_encode(INFO, sizeof(INFO), 0, label + 15, sizeof(label) - 15), 0);

	/* ours -> openssl */
	seal_for(k, k->rsa, &ct);
	wlen = (size_t)ct.data[0] << 8 | ct.data[1];
	assert_int_equal(wlen, 256);
	write_file(inpath, ct.data + 2, wlen);
	{
		char *argv[] = {openssl, (char *)"pkeyutl", (char *)"-decrypt", (char *)"-inkey", keypath, (char *)"-in",
			inpath, (char *)"-pkeyopt", (char *)"rsa_padding_mode:oaep", (char *)"-pkeyopt",
			(char *)"rsa_oaep_md:sha256", (char *)"-pkeyopt", (char *)"rsa_mgf1_md:sha256", (char *)"-pkeyopt",
			label, NULL};

		assert_int_equal(dpk_test_run(argv, NULL, &unwrapped), 0);
	}
	assert_int_equal(unwrapped.len, 32);
	dpk_buf_init(&pt, 4096);
	assert_int_equal(dpk_aead_open(unwrapped.data, 32, ct.data + 2 + wlen, AAD, sizeof(AAD), ct.data + 2 + wlen + 12,
	    ct.len - 2 - wlen - 12, &pt), 0);
	assert_int_equal(pt.len, sizeof(PT));
	assert_memory_equal(pt.data, PT, sizeof(PT));

	/* openssl -> ours */
	assert_int_equal(RAND_bytes(key, sizeof(key)), 1);
	assert_int_equal(RAND_bytes(nonce, sizeof(nonce)), 1);
	write_file(inpath, key, sizeof(key));
	{
		char *argv[] = {openssl, (char *)"pkeyutl", (char *)"-encrypt", (char *)"-pubin", (char *)"-inkey", pubpath,
			(char *)"-in", inpath, (char *)"-pkeyopt", (char *)"rsa_padding_mode:oaep", (char *)"-pkeyopt",
			(char *)"rsa_oaep_md:sha256", (char *)"-pkeyopt", (char *)"rsa_mgf1_md:sha256", (char *)"-pkeyopt",
			label, NULL};

		assert_int_equal(dpk_test_run(argv, NULL, &wrapped), 0);
	}
	assert_int_equal(wrapped.len, 256);
	dpk_buf_init(&msg, 4096);
	assert_int_equal(dpk_buf_put_u8(&msg, 0x01), 0);
	assert_int_equal(dpk_buf_put_u8(&msg, 0x00), 0);
	assert_int_equal(dpk_buf_put(&msg, wrapped.data, wrapped.len), 0);
	assert_int_equal(dpk_buf_put(&msg, nonce, sizeof(nonce)), 0);
	assert_int_equal(dpk_aead_seal(key, sizeof(key), nonce, AAD, sizeof(AAD), PT, sizeof(PT), &msg), 0);
	assert_int_equal(open_checked(k->rsa, INFO, sizeof(INFO), AAD, sizeof(AAD), msg.data, msg.len), 0);
	/* a label openssl did not use does not unwrap */
	assert_int_equal(open_checked(k->rsa, INFO, 3, AAD, sizeof(AAD), msg.data, msg.len), DPK_ERR_BADMAC);

	dpk_buf_free(&msg);
	dpk_buf_free(&wrapped);
	dpk_buf_free(&pt);
	dpk_buf_free(&unwrapped);
	dpk_buf_free(&ct);
	dpk_buf_free(&pem);
	dpk_test_rmtree(dir);
}

/* What each sealing thread was given and what it made. */
struct sealer {
	struct keys *k;
	struct dpk_buf ct[2][8]; /* [P-256, RSA][round] */
	int failures;
};

static void *
seal_many(void *arg)
{
	struct sealer *s = arg;

	for (int i = 0; i < 8; i++) {
		dpk_buf_init(&s->ct[0][i], 4096);
		dpk_buf_init(&s->ct[1][i], 4096);
		if (dpk_pke_seal(DPK_IDKEY_P256, s->k->p256pub.data, s->k->p256pub.len, INFO, sizeof(INFO), AAD,
		    sizeof(AAD), PT, sizeof(PT), &s->ct[0][i]) != 0 ||
		    dpk_pke_seal(DPK_IDKEY_RSA, s->k->rsapub.data, s->k->rsapub.len, INFO, sizeof(INFO), AAD,
		    sizeof(AAD), PT, sizeof(PT), &s->ct[1][i]) != 0)
			s->failures++;
	}
	return NULL;
}

/* Several threads seal at once: the state lib/ shares between them (HKDF and
 * AES-GCM fetched once, the P-256 group and template key, the RSA keys
 * already checked) gives every one of them ciphertexts that open. */
static void
test_threads(void **state)
{
	struct keys *k = *state;
	struct sealer s[4];
	pthread_t th[4];
	struct dpk_buf pt;

	dpk_buf_init(&pt, 4096);
	for (int t = 0; t < 4; t++) {
		memset(&s[t], 0, sizeof(s[t]));
		s[t].k = k;
		assert_int_equal(pthread_create(&th[t], NULL, seal_many, &s[t]), 0);
	}
	for (int t = 0; t < 4; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	for (int t = 0; t < 4; t++) {
		assert_int_equal(s[t].failures, 0);
		for (int i = 0; i < 8; i++)
			for (int a = 0; a < 2; a++) {
				dpk_buf_reset(&pt);
				assert_int_equal(dpk_pke_open(a == 0 ? k->p256 : k->rsa, INFO, sizeof(INFO), AAD,
				    sizeof(AAD), s[t].ct[a][i].data, s[t].ct[a][i].len, &pt), 0);
				assert_int_equal(pt.len, sizeof(PT));
				assert_memory_equal(pt.data, PT, sizeof(PT));
				dpk_buf_free(&s[t].ct[a][i]);
			}
	}
	dpk_buf_free(&pt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_p256_round_trip),
		cmocka_unit_test(test_rsa_round_trip),
		cmocka_unit_test(test_p256_malformed),
		cmocka_unit_test(test_rsa_malformed),
		cmocka_unit_test(test_oversized_and_bad_arguments),
		cmocka_unit_test(test_bad_public_keys),
		cmocka_unit_test(test_derand),
		cmocka_unit_test(test_rsa_openssl_cross_check),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
