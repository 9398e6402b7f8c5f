/* The DPK PSK handshake (doc/psk-protocol.md is the specification; keep the
 * two in step, tests/data/psk/vectors.txt pins the wire format).
 *
 *   M1 I->R  01 01 | idR | seal(pkR, "DPK-PSK-v1 M1", aad = header, idI | nI | eI)
 *   M2 R->I  01 02 | seal(pkI, "DPK-PSK-v1 M2", aad = 01 02, idR | nI | nR | eR)
 *   M3 I->R  01 03 | seal(pkR, "DPK-PSK-v1 M3", aad = 01 03, nR | Ks | u16 len | sigI)
 *   M4 R->I  01 04 | HMAC-SHA256(confirm key, TH3)
 *
 * Every failure kills the object: secrets are wiped at once and any further
 * call gets DPK_ERR_STATE, so a caller cannot reuse a half-failed run. */
#include "psk/handshake.h"
#include "base/err.h"
#include "base/hex.h"
#include "crypto/hkdf.h"
#include "crypto/pke.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#define NONCE_LEN 32
#define KS_LEN 32
#define X25519_LEN 32
#define HASH_LEN 32
#define SIG_MAX 1024         /* RSA-8192 */
#define PEER_PUB_MAX 2048    /* DER SubjectPublicKeyInfo of RSA-8192 is ~1.1 kB */
#define PT_MAX 1200          /* largest plaintext of any message */

static const char LABEL_M1[] = "DPK-PSK-v1 M1";
static const char LABEL_M2[] = "DPK-PSK-v1 M2";
static const char LABEL_M3[] = "DPK-PSK-v1 M3";
static const char LABEL_SIG[] = "DPK-PSK-v1 initiator signature";
static const char LABEL_PSK[] = "DPK-PSK-v1 psk";
static const char LABEL_CONFIRM[] = "DPK-PSK-v1 confirm";
static const char LABEL_ID[] = "DPK-PSK-v1 identity";

enum hs_state {
	ST_DEAD = 0,
	ST_I_INIT,
	ST_I_M1_OUT,
	ST_I_WAIT_M2,
	ST_I_M3_OUT,
	ST_I_WAIT_M4,
	ST_R_WAIT_M1,
	ST_R_NEED_KEY,
	ST_R_M2_OUT,
	ST_R_WAIT_M3,
	ST_R_M4_OUT,
	ST_DONE,
};

struct dpk_hs {
	enum dpk_hs_role role;
	enum hs_state st;
	const struct dpk_idkey *self;
	struct dpk_identity self_id, peer_id;
	int have_peer;
	uint8_t peer_alg;
	uint8_t peer_pub[PEER_PUB_MAX];
	size_t peer_publen;
	EVP_PKEY *peer_pkey;                      /* peer_pub parsed and validated once */
	struct dpk_hs_rand *rand;
	int peer_error;

	uint8_t n_i[NONCE_LEN], n_r[NONCE_LEN];
	uint8_t e_i[X25519_LEN], e_r[X25519_LEN]; /* public halves */
	EVP_PKEY *eph;                            /* our ephemeral private key */
	uint8_t ks[KS_LEN];
	EVP_MD_CTX *th;                           /* running transcript hash */
	uint8_t th2[HASH_LEN], th3[HASH_LEN];
	uint8_t confirm[HASH_LEN];
	struct dpk_hs_result res;
};

int
dpk_hs_random(struct dpk_hs_rand *rand, uint8_t *out, size_t n)
{
	if (rand == NULL)
		return RAND_priv_bytes(out, (int)n) == 1 ? 0 : DPK_ERR_CRYPTO;
	if (rand->used > rand->len || rand->len - rand->used < n)
		return DPK_ERR_INVALID;
	memcpy(out, rand->bytes + rand->used, n);
	rand->used += n;
	return 0;
}

int
dpk_hs_put_identity(struct dpk_buf *b, const struct dpk_identity *id)
{
	size_t old = b->len;
	int r;

	if ((r = dpk_buf_put_u8(b, id->kind)) != 0 || (r = dpk_buf_put_u8(b, id->len)) != 0 ||
	    (r = dpk_buf_put(b, id->value, id->len)) != 0)
		b->len = old;
	return r;
}

int
dpk_hs_get_identity(struct dpk_cursor *c, struct dpk_identity *id)
{
	const uint8_t *v;
	uint8_t kind, len;
	int r;

	if ((r = dpk_cursor_get_u8(c, &kind)) != 0 || (r = dpk_cursor_get_u8(c, &len)) != 0 ||
	    (r = dpk_cursor_take(c, len, &v)) != 0)
		return r;
	if (dpk_identity_from_bytes(kind, v, len, id) != 0)
		return DPK_ERR_SYNTAX;
	return 0;
}

int
dpk_hs_identity_equal(const struct dpk_identity *a, const struct dpk_identity *b)
{
	return a->kind == b->kind && a->len == b->len && memcmp(a->value, b->value, a->len) == 0;
}

struct dpk_hs *
dpk_hs_new(enum dpk_hs_role role, const struct dpk_idkey *self, const struct dpk_identity *self_id,
    struct dpk_hs_rand *rand)
{
	struct dpk_hs *hs;

	if (self == NULL || self_id == NULL || (role != DPK_HS_INITIATOR && role != DPK_HS_RESPONDER) ||
	    dpk_identity_from_bytes(self_id->kind, self_id->value, self_id->len, NULL) != 0)
		return NULL;
	if ((hs = calloc(1, sizeof(*hs))) == NULL)
		return NULL;
	if ((hs->th = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(hs->th, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(hs->th);
		free(hs);
		return NULL;
	}
	hs->role = role;
	hs->st = role == DPK_HS_INITIATOR ? ST_I_INIT : ST_R_WAIT_M1;
	hs->self = self;
	hs->self_id = *self_id;
	hs->rand = rand;
	return hs;
}

/* Wipe every secret; the object only answers DPK_ERR_STATE from now on. */
static void
hs_kill(struct dpk_hs *hs)
{
	EVP_PKEY_free(hs->eph);
	hs->eph = NULL;
	OPENSSL_cleanse(hs->ks, sizeof(hs->ks));
	OPENSSL_cleanse(hs->n_i, sizeof(hs->n_i));
	OPENSSL_cleanse(hs->n_r, sizeof(hs->n_r));
	OPENSSL_cleanse(hs->confirm, sizeof(hs->confirm));
	OPENSSL_cleanse(&hs->res, sizeof(hs->res));
	hs->st = ST_DEAD;
}

void
dpk_hs_free(struct dpk_hs *hs)
{
	if (hs == NULL)
		return;
	hs_kill(hs);
	EVP_MD_CTX_free(hs->th);
	EVP_PKEY_free(hs->peer_pkey);
	OPENSSL_cleanse(hs, sizeof(*hs));
	free(hs);
}

int
dpk_hs_set_peer(struct dpk_hs *hs, const struct dpk_identity *peer)
{
	if (hs == NULL || peer == NULL)
		return DPK_ERR_INVALID;
	if (hs->role != DPK_HS_INITIATOR || hs->st != ST_I_INIT)
		return DPK_ERR_STATE;
	if (dpk_identity_from_bytes(peer->kind, peer->value, peer->len, NULL) != 0 ||
	    dpk_hs_identity_equal(peer, &hs->self_id))
		return DPK_ERR_INVALID;
	hs->peer_id = *peer;
	hs->have_peer = 1;
	return 0;
}

int
dpk_hs_set_peer_key(struct dpk_hs *hs, uint8_t alg, const uint8_t *pub, size_t publen)
{
	EVP_PKEY *pkey = NULL;

	if (hs == NULL || pub == NULL || publen == 0)
		return DPK_ERR_INVALID;
	if (!(hs->role == DPK_HS_INITIATOR && hs->st == ST_I_INIT) && hs->st != ST_R_NEED_KEY)
		return DPK_ERR_STATE;
	/* parsed and validated here, once: every seal to the peer and the
	 * signature check use this key */
	if ((alg != DPK_IDKEY_P256 && alg != DPK_IDKEY_RSA) || publen > sizeof(hs->peer_pub) ||
	    dpk_idkey_onchain_evp(alg, pub, publen, &pkey) != 0)
		return DPK_ERR_UNSUPPORTED;
	EVP_PKEY_free(hs->peer_pkey);
	hs->peer_pkey = pkey;
	hs->peer_alg = alg;
	memcpy(hs->peer_pub, pub, publen);
	hs->peer_publen = publen;
	return 0;
}

const struct dpk_identity *
dpk_hs_peer_identity(const struct dpk_hs *hs)
{
	if (hs == NULL || hs->st == ST_DEAD)
		return NULL;
	if (hs->role == DPK_HS_INITIATOR)
		return hs->have_peer ? &hs->peer_id : NULL;
	return hs->st == ST_R_WAIT_M1 ? NULL : &hs->peer_id;
}

int
dpk_hs_peer_error(const struct dpk_hs *hs)
{
	return hs == NULL ? 0 : hs->peer_error;
}

int
dpk_hs_result(const struct dpk_hs *hs, struct dpk_hs_result *res)
{
	if (hs == NULL || res == NULL)
		return DPK_ERR_INVALID;
	if (hs->st != ST_DONE)
		return DPK_ERR_STATE;
	*res = hs->res;
	return 0;
}

/* The code an ERROR message carries: coarse on purpose, so that the peer
 * learns why framing failed but nothing about a decryption or check that
 * failed after it (no padding or MAC oracle). */
static uint8_t
wire_code(int err)
{
	switch (err) {
	case DPK_ERR_UNSUPPORTED:
	case DPK_ERR_STATE:
	case DPK_ERR_BUSY:
	case DPK_ERR_TIMEOUT:
	case DPK_ERR_REVOKED:
	case DPK_ERR_NOTFOUND:
	case DPK_ERR_TOOBIG:
		return (uint8_t)-err;
	case DPK_ERR_TRUNCATED:
	case DPK_ERR_SYNTAX:
	case DPK_ERR_TRAILING:
	case DPK_ERR_NONCANONICAL:
		return (uint8_t)-DPK_ERR_SYNTAX;
	default:
		return (uint8_t)-DPK_ERR_PERM;
	}
}

/* Die with err; unless the peer itself sent an ERROR, out holds ours. */
static int
fail(struct dpk_hs *hs, int err, struct dpk_buf *out)
{
	hs_kill(hs);
	if (out != NULL) {
		dpk_buf_reset(out);
		if (err != DPK_ERR_PEER) {
			uint8_t m[3] = {DPK_HS_VERSION, DPK_HS_ERROR, wire_code(err)};

			if (dpk_buf_put(out, m, sizeof(m)) != 0)
				out->len = 0;
		}
	}
	return err;
}

int
dpk_hs_fail(struct dpk_hs *hs, int err, struct dpk_buf *out)
{
	if (err >= 0)
		err = DPK_ERR_PERM; /* a failure it must be */
	if (hs != NULL)
		return fail(hs, err, out);
	return err;
}

static int
th_add(struct dpk_hs *hs, const uint8_t *m, size_t len)
{
	uint8_t l[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};

	if (EVP_DigestUpdate(hs->th, l, 4) != 1 || EVP_DigestUpdate(hs->th, m, len) != 1)
		return DPK_ERR_CRYPTO;
	return 0;
}

/* The hash of the transcript so far, leaving the running hash open. */
static int
th_get(struct dpk_hs *hs, uint8_t out[HASH_LEN])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int n = 0;
	int r = DPK_ERR_CRYPTO;

	if (c != NULL && EVP_MD_CTX_copy_ex(c, hs->th) == 1 && EVP_DigestFinal_ex(c, out, &n) == 1 &&
	    n == HASH_LEN)
		r = 0;
	EVP_MD_CTX_free(c);
	return r;
}

/* A fresh X25519 key from 32 bytes of dpk_hs_random; its public half to pub. */
static int
make_ephemeral(struct dpk_hs *hs, uint8_t pub[X25519_LEN])
{
	uint8_t priv[X25519_LEN];
	size_t publen = X25519_LEN;
	int r;

	if ((r = dpk_hs_random(hs->rand, priv, sizeof(priv))) != 0)
		return r;
	hs->eph = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, sizeof(priv));
	OPENSSL_cleanse(priv, sizeof(priv));
	if (hs->eph == NULL || EVP_PKEY_get_raw_public_key(hs->eph, pub, &publen) != 1 || publen != X25519_LEN)
		return DPK_ERR_CRYPTO;
	return 0;
}

/* X25519(our ephemeral, peer's public); OpenSSL refuses an all-zero result
 * (a small-order peer point), which we report as DPK_ERR_CRYPTO. */
static int
ecdh(struct dpk_hs *hs, const uint8_t peer[X25519_LEN], uint8_t out[X25519_LEN])
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, X25519_LEN);
	EVP_PKEY_CTX *ctx = NULL;
	size_t n = X25519_LEN;
	int r = DPK_ERR_CRYPTO;

	if (pk == NULL || (ctx = EVP_PKEY_CTX_new(hs->eph, NULL)) == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, pk) != 1 || EVP_PKEY_derive(ctx, out, &n) != 1 || n != X25519_LEN)
		goto out;
	r = 0;
out:
	if (r != 0)
		OPENSSL_cleanse(out, X25519_LEN);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return r;
}

/* Seal pt to the peer. With fixed randomness and a P-256 peer the HPKE
 * ephemeral comes from dpk_hs_random too (the document's vectors). */
static int
seal_to_peer(struct dpk_hs *hs, const char *label, const uint8_t *aad, size_t aadlen, const uint8_t *pt,
    size_t ptlen, struct dpk_buf *out)
{
	uint8_t ikm[32];
	int r, derand = hs->rand != NULL && hs->peer_alg == DPK_IDKEY_P256;

	if (derand && (r = dpk_hs_random(hs->rand, ikm, sizeof(ikm))) != 0)
		return r;
	r = dpk_pke_seal_evp(hs->peer_alg, hs->peer_pkey, hs->peer_pub, hs->peer_publen, derand ? ikm : NULL,
	    derand ? sizeof(ikm) : 0, (const uint8_t *)label, strlen(label), aad, aadlen, pt, ptlen, out);
	OPENSSL_cleanse(ikm, sizeof(ikm));
	return r;
}

static int
open_own(struct dpk_hs *hs, const char *label, const uint8_t *aad, size_t aadlen, const uint8_t *ct,
    size_t ctlen, struct dpk_buf *pt)
{
	return dpk_pke_open(hs->self, (const uint8_t *)label, strlen(label), aad, aadlen, ct, ctlen, pt);
}

static const struct dpk_identity *
id_i(const struct dpk_hs *hs)
{
	return hs->role == DPK_HS_INITIATOR ? &hs->self_id : &hs->peer_id;
}

static const struct dpk_identity *
id_r(const struct dpk_hs *hs)
{
	return hs->role == DPK_HS_INITIATOR ? &hs->peer_id : &hs->self_id;
}

/* What the initiator signs: context | TH2 | idI | idR | nI | nR | eI | eR | SHA-256(Ks). */
static int
signed_data(const struct dpk_hs *hs, struct dpk_buf *b)
{
	uint8_t hks[HASH_LEN];
	int r;

	SHA256(hs->ks, KS_LEN, hks);
	if ((r = dpk_buf_put(b, LABEL_SIG, strlen(LABEL_SIG))) == 0 &&
	    (r = dpk_buf_put(b, hs->th2, HASH_LEN)) == 0 && (r = dpk_hs_put_identity(b, id_i(hs))) == 0 &&
	    (r = dpk_hs_put_identity(b, id_r(hs))) == 0 && (r = dpk_buf_put(b, hs->n_i, NONCE_LEN)) == 0 &&
	    (r = dpk_buf_put(b, hs->n_r, NONCE_LEN)) == 0 && (r = dpk_buf_put(b, hs->e_i, X25519_LEN)) == 0 &&
	    (r = dpk_buf_put(b, hs->e_r, X25519_LEN)) == 0)
		r = dpk_buf_put(b, hks, HASH_LEN);
	OPENSSL_cleanse(hks, sizeof(hks));
	return r;
}

/* HKDF-Expand(prk, label | context, len) into dst. */
static int
expand(const uint8_t prk[DPK_HKDF_HASH_LEN], const char *label, const struct dpk_buf *context, uint8_t *dst,
    size_t len)
{
	uint8_t info[64 + 2 * (2 + DPK_IDENTITY_VALUE_MAX)];
	size_t n = strlen(label);

	if (n > 64 || context->len > sizeof(info) - 64)
		return DPK_ERR_INVALID;
	memcpy(info, label, n);
	memcpy(info + n, context->data, context->len);
	return dpk_hkdf_expand(prk, info, n + context->len, dst, len);
}

/* PRK = HKDF-Extract(TH2, Ks | DH); psk, confirm key and PSK identity are
 * HKDF-Expand(PRK, label | idI | idR). */
static int
key_schedule(struct dpk_hs *hs, const uint8_t dh[X25519_LEN])
{
	uint8_t ikm[KS_LEN + X25519_LEN], prk[DPK_HKDF_HASH_LEN], idbytes[16];
	struct dpk_buf ctx;
	int r;

	dpk_buf_init(&ctx, 2 * (2 + DPK_IDENTITY_VALUE_MAX));
	if ((r = dpk_hs_put_identity(&ctx, id_i(hs))) != 0 || (r = dpk_hs_put_identity(&ctx, id_r(hs))) != 0)
		goto out;
	memcpy(ikm, hs->ks, KS_LEN);
	memcpy(ikm + KS_LEN, dh, X25519_LEN);
	if ((r = dpk_hkdf_extract(hs->th2, HASH_LEN, ikm, sizeof(ikm), prk)) != 0)
		goto out;
	if ((r = expand(prk, LABEL_PSK, &ctx, hs->res.psk, DPK_HS_PSK_LEN)) != 0 ||
	    (r = expand(prk, LABEL_CONFIRM, &ctx, hs->confirm, HASH_LEN)) != 0 ||
	    (r = expand(prk, LABEL_ID, &ctx, idbytes, sizeof(idbytes))) != 0)
		goto out;
	memcpy(hs->res.psk_identity, "dpk1-", 5);
	if ((r = dpk_hex_encode(idbytes, sizeof(idbytes), 0, hs->res.psk_identity + 5,
	    sizeof(hs->res.psk_identity) - 5)) != 0)
		goto out;
	hs->res.self = hs->self_id;
	hs->res.peer = hs->peer_id;
	hs->res.role = hs->role;
out:
	OPENSSL_cleanse(ikm, sizeof(ikm));
	OPENSSL_cleanse(prk, sizeof(prk));
	dpk_buf_free(&ctx);
	return r;
}

/* After the key schedule: Ks and our ephemeral key are no longer needed
 * (forward secrecy rests on the ephemeral being gone). */
static void
forget_ephemeral(struct dpk_hs *hs)
{
	OPENSSL_cleanse(hs->ks, sizeof(hs->ks));
	EVP_PKEY_free(hs->eph);
	hs->eph = NULL;
}

/* M4's body: HMAC-SHA256(confirm key, TH3). */
static int
confirm_mac(const struct dpk_hs *hs, uint8_t mac[HASH_LEN])
{
	unsigned int n = 0;

	if (HMAC(EVP_sha256(), hs->confirm, HASH_LEN, hs->th3, HASH_LEN, mac, &n) == NULL || n != HASH_LEN)
		return DPK_ERR_CRYPTO;
	return 0;
}

/* Check version and type of a received message; an ERROR message ends the
 * run with DPK_ERR_PEER. */
static int
check_header(struct dpk_hs *hs, const uint8_t *in, size_t inlen, uint8_t want)
{
	if (inlen > DPK_HS_MSG_MAX)
		return DPK_ERR_TOOBIG;
	if (inlen < 2)
		return DPK_ERR_TRUNCATED;
	if (in[0] != DPK_HS_VERSION)
		return DPK_ERR_UNSUPPORTED;
	if (in[1] == DPK_HS_ERROR) {
		if (inlen < 3)
			return DPK_ERR_TRUNCATED;
		if (inlen > 3)
			return DPK_ERR_TRAILING;
		hs->peer_error = in[2] == 0 || in[2] > 127 ? DPK_ERR_PERM : -(int)in[2];
		return DPK_ERR_PEER;
	}
	if (in[1] == want)
		return 0;
	if (in[1] >= DPK_HS_M1 && in[1] <= DPK_HS_M4)
		return DPK_ERR_STATE;
	return DPK_ERR_SYNTAX;
}

static int
build_m1(struct dpk_hs *hs, struct dpk_buf *out)
{
	struct dpk_buf pt, hdr;
	int r;

	dpk_buf_init(&pt, PT_MAX);
	dpk_buf_init(&hdr, 4 + DPK_IDENTITY_VALUE_MAX);
	if ((r = dpk_hs_random(hs->rand, hs->n_i, NONCE_LEN)) != 0 || (r = make_ephemeral(hs, hs->e_i)) != 0)
		goto out;
	if ((r = dpk_hs_put_identity(&pt, &hs->self_id)) != 0 || (r = dpk_buf_put(&pt, hs->n_i, NONCE_LEN)) != 0 ||
	    (r = dpk_buf_put(&pt, hs->e_i, X25519_LEN)) != 0)
		goto out;
	/* the cleartext header (version, type, idR) is the AAD */
	if ((r = dpk_buf_put_u8(&hdr, DPK_HS_VERSION)) != 0 || (r = dpk_buf_put_u8(&hdr, DPK_HS_M1)) != 0 ||
	    (r = dpk_hs_put_identity(&hdr, &hs->peer_id)) != 0 || (r = dpk_buf_put(out, hdr.data, hdr.len)) != 0 ||
	    (r = seal_to_peer(hs, LABEL_M1, hdr.data, hdr.len, pt.data, pt.len, out)) != 0)
		goto out;
	if (out->len > DPK_HS_MSG_MAX) {
		r = DPK_ERR_TOOBIG;
		goto out;
	}
	r = th_add(hs, out->data, out->len);
out:
	dpk_buf_free(&pt);
	dpk_buf_free(&hdr);
	return r;
}

static int
read_m1(struct dpk_hs *hs, const uint8_t *in, size_t inlen)
{
	struct dpk_cursor c;
	struct dpk_identity who;
	struct dpk_buf pt;
	const uint8_t *p;
	int r;

	dpk_buf_init(&pt, PT_MAX);
	dpk_cursor_init(&c, in + 2, inlen - 2);
	if ((r = dpk_hs_get_identity(&c, &who)) != 0)
		goto out;
	if (!dpk_hs_identity_equal(&who, &hs->self_id)) {
		r = DPK_ERR_PERM; /* meant for someone else */
		goto out;
	}
	if ((r = open_own(hs, LABEL_M1, in, inlen - c.len, c.p, c.len, &pt)) != 0)
		goto out;
	dpk_cursor_init(&c, pt.data, pt.len);
	if ((r = dpk_hs_get_identity(&c, &hs->peer_id)) != 0 || (r = dpk_cursor_take(&c, NONCE_LEN, &p)) != 0)
		goto out;
	memcpy(hs->n_i, p, NONCE_LEN);
	if ((r = dpk_cursor_take(&c, X25519_LEN, &p)) != 0)
		goto out;
	memcpy(hs->e_i, p, X25519_LEN);
	if ((r = dpk_cursor_done(&c)) != 0)
		goto out;
	if (dpk_hs_identity_equal(&hs->peer_id, &hs->self_id)) {
		r = DPK_ERR_PERM; /* a reflected message: we never talk to ourselves */
		goto out;
	}
	r = th_add(hs, in, inlen);
out:
	dpk_buf_free(&pt);
	return r;
}

static int
build_m2(struct dpk_hs *hs, struct dpk_buf *out)
{
	static const uint8_t hdr[2] = {DPK_HS_VERSION, DPK_HS_M2};
	struct dpk_buf pt;
	int r;

	dpk_buf_init(&pt, PT_MAX);
	if ((r = dpk_hs_random(hs->rand, hs->n_r, NONCE_LEN)) != 0 || (r = make_ephemeral(hs, hs->e_r)) != 0)
		goto out;
	if ((r = dpk_hs_put_identity(&pt, &hs->self_id)) != 0 || (r = dpk_buf_put(&pt, hs->n_i, NONCE_LEN)) != 0 ||
	    (r = dpk_buf_put(&pt, hs->n_r, NONCE_LEN)) != 0 || (r = dpk_buf_put(&pt, hs->e_r, X25519_LEN)) != 0)
		goto out;
	if ((r = dpk_buf_put(out, hdr, sizeof(hdr))) != 0 ||
	    (r = seal_to_peer(hs, LABEL_M2, hdr, sizeof(hdr), pt.data, pt.len, out)) != 0)
		goto out;
	if (out->len > DPK_HS_MSG_MAX) {
		r = DPK_ERR_TOOBIG;
		goto out;
	}
	if ((r = th_add(hs, out->data, out->len)) == 0)
		r = th_get(hs, hs->th2);
out:
	dpk_buf_free(&pt);
	return r;
}

/* Initiator: M2 in, M3 out. */
static int
read_m2_build_m3(struct dpk_hs *hs, const uint8_t *in, size_t inlen, struct dpk_buf *out)
{
	static const uint8_t hdr[2] = {DPK_HS_VERSION, DPK_HS_M3};
	struct dpk_cursor c;
	struct dpk_identity who;
	struct dpk_buf pt, sd, sig;
	const uint8_t *p;
	uint8_t dh[X25519_LEN];
	int r;

	dpk_buf_init(&pt, PT_MAX);
	dpk_buf_init(&sd, PT_MAX);
	dpk_buf_init(&sig, SIG_MAX);
	if ((r = open_own(hs, LABEL_M2, in, 2, in + 2, inlen - 2, &pt)) != 0)
		goto out;
	dpk_cursor_init(&c, pt.data, pt.len);
	if ((r = dpk_hs_get_identity(&c, &who)) != 0 || (r = dpk_cursor_take(&c, NONCE_LEN, &p)) != 0)
		goto out;
	/* NSL: the responder names itself, so a man in the middle who re-encrypted
	 * our M1 for someone else is caught here (Lowe 1995). */
	if (!dpk_hs_identity_equal(&who, &hs->peer_id) || CRYPTO_memcmp(p, hs->n_i, NONCE_LEN) != 0) {
		r = DPK_ERR_PERM;
		goto out;
	}
	if ((r = dpk_cursor_take(&c, NONCE_LEN, &p)) != 0)
		goto out;
	memcpy(hs->n_r, p, NONCE_LEN);
	if ((r = dpk_cursor_take(&c, X25519_LEN, &p)) != 0)
		goto out;
	memcpy(hs->e_r, p, X25519_LEN);
	if ((r = dpk_cursor_done(&c)) != 0)
		goto out;
	if ((r = th_add(hs, in, inlen)) != 0 || (r = th_get(hs, hs->th2)) != 0)
		goto out;
	if ((r = ecdh(hs, hs->e_r, dh)) != 0 || (r = dpk_hs_random(hs->rand, hs->ks, KS_LEN)) != 0)
		goto out;
	if ((r = signed_data(hs, &sd)) != 0 || (r = dpk_idkey_sign(hs->self, sd.data, sd.len, &sig)) != 0)
		goto out;
	if (sig.len > SIG_MAX) {
		r = DPK_ERR_TOOBIG;
		goto out;
	}
	dpk_buf_reset(&pt);
	if ((r = dpk_buf_put(&pt, hs->n_r, NONCE_LEN)) != 0 || (r = dpk_buf_put(&pt, hs->ks, KS_LEN)) != 0 ||
	    (r = dpk_buf_put_u8(&pt, (uint8_t)(sig.len >> 8))) != 0 ||
	    (r = dpk_buf_put_u8(&pt, (uint8_t)sig.len)) != 0 || (r = dpk_buf_put(&pt, sig.data, sig.len)) != 0)
		goto out;
	if ((r = dpk_buf_put(out, hdr, sizeof(hdr))) != 0 ||
	    (r = seal_to_peer(hs, LABEL_M3, hdr, sizeof(hdr), pt.data, pt.len, out)) != 0)
		goto out;
	if (out->len > DPK_HS_MSG_MAX) {
		r = DPK_ERR_TOOBIG;
		goto out;
	}
	if ((r = th_add(hs, out->data, out->len)) != 0 || (r = th_get(hs, hs->th3)) != 0)
		goto out;
	if ((r = key_schedule(hs, dh)) == 0)
		forget_ephemeral(hs);
out:
	OPENSSL_cleanse(dh, sizeof(dh));
	dpk_buf_free(&pt);
	dpk_buf_free(&sd);
	dpk_buf_free(&sig);
	return r;
}

/* Responder: M3 in, M4 out. */
static int
read_m3_build_m4(struct dpk_hs *hs, const uint8_t *in, size_t inlen, struct dpk_buf *out)
{
	struct dpk_cursor c;
	struct dpk_buf pt, sd;
	const uint8_t *p, *sig;
	uint8_t dh[X25519_LEN], mac[HASH_LEN];
	uint16_t siglen;
	int r;

	dpk_buf_init(&pt, PT_MAX);
	dpk_buf_init(&sd, PT_MAX);
	if ((r = open_own(hs, LABEL_M3, in, 2, in + 2, inlen - 2, &pt)) != 0)
		goto out;
	dpk_cursor_init(&c, pt.data, pt.len);
	if ((r = dpk_cursor_take(&c, NONCE_LEN, &p)) != 0)
		goto out;
	if (CRYPTO_memcmp(p, hs->n_r, NONCE_LEN) != 0) {
		r = DPK_ERR_PERM; /* not an answer to our M2: a replay */
		goto out;
	}
	if ((r = dpk_cursor_take(&c, KS_LEN, &p)) != 0)
		goto out;
	memcpy(hs->ks, p, KS_LEN);
	if ((r = dpk_cursor_get_be16(&c, &siglen)) != 0 || (r = dpk_cursor_take(&c, siglen, &sig)) != 0 ||
	    (r = dpk_cursor_done(&c)) != 0)
		goto out;
	if ((r = signed_data(hs, &sd)) != 0 ||
	    (r = dpk_idkey_verify_evp(hs->peer_alg, hs->peer_pkey, sd.data, sd.len, sig, siglen)) != 0)
		goto out;
	if ((r = ecdh(hs, hs->e_i, dh)) != 0)
		goto out;
	if ((r = th_add(hs, in, inlen)) != 0 || (r = th_get(hs, hs->th3)) != 0 || (r = key_schedule(hs, dh)) != 0)
		goto out;
	if ((r = confirm_mac(hs, mac)) != 0 || (r = dpk_buf_put_u8(out, DPK_HS_VERSION)) != 0 ||
	    (r = dpk_buf_put_u8(out, DPK_HS_M4)) != 0 || (r = dpk_buf_put(out, mac, HASH_LEN)) != 0)
		goto out;
	forget_ephemeral(hs);
	OPENSSL_cleanse(hs->confirm, sizeof(hs->confirm)); /* the responder has no further use for it */
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(dh, sizeof(dh));
	dpk_buf_free(&pt);
	dpk_buf_free(&sd);
	return r;
}

static int
read_m4(struct dpk_hs *hs, const uint8_t *in, size_t inlen)
{
	uint8_t mac[HASH_LEN];
	int r;

	if (inlen < 2 + HASH_LEN)
		return DPK_ERR_TRUNCATED;
	if (inlen > 2 + HASH_LEN)
		return DPK_ERR_TRAILING;
	if ((r = confirm_mac(hs, mac)) != 0)
		return r;
	r = CRYPTO_memcmp(mac, in + 2, HASH_LEN) == 0 ? 0 : DPK_ERR_BADMAC;
	OPENSSL_cleanse(mac, sizeof(mac));
	return r;
}

/* The state waiting for a message, and the type it waits for; 0 if none. */
static uint8_t
expected_type(enum hs_state st)
{
	switch (st) {
	case ST_R_WAIT_M1: return DPK_HS_M1;
	case ST_I_WAIT_M2: return DPK_HS_M2;
	case ST_R_WAIT_M3: return DPK_HS_M3;
	case ST_I_WAIT_M4: return DPK_HS_M4;
	default: return 0;
	}
}

int
dpk_hs_step(struct dpk_hs *hs, const uint8_t *in, size_t inlen, struct dpk_buf *out)
{
	uint8_t want;
	int r;

	if (hs == NULL || out == NULL || (in == NULL && inlen != 0))
		return DPK_ERR_INVALID;
	if (in != NULL && out->data != NULL && (uintptr_t)in < (uintptr_t)out->data + out->cap &&
	    (uintptr_t)out->data < (uintptr_t)in + inlen)
		return DPK_ERR_INVALID; /* out is reset first: in must not live there */
	if (hs->st == ST_DEAD)
		return DPK_ERR_STATE;
	dpk_buf_reset(out);
	want = expected_type(hs->st);
	if (want != 0) {
		if (in == NULL)
			return DPK_HS_RECV; /* asking is harmless */
		if ((r = check_header(hs, in, inlen, want)) != 0)
			return fail(hs, r, out);
	} else if (in != NULL) {
		/* a message while we have one to send, a key to wait for, or after
		 * the end (a replay) */
		return fail(hs, DPK_ERR_STATE, out);
	}

	switch (hs->st) {
	case ST_I_INIT:
		if (!hs->have_peer || hs->peer_publen == 0)
			return fail(hs, DPK_ERR_STATE, out);
		if ((r = build_m1(hs, out)) != 0)
			return fail(hs, r, out);
		hs->st = ST_I_M1_OUT;
		return DPK_HS_SEND;
	case ST_I_M1_OUT:
		hs->st = ST_I_WAIT_M2;
		return DPK_HS_RECV;
	case ST_I_WAIT_M2:
		if ((r = read_m2_build_m3(hs, in, inlen, out)) != 0)
			return fail(hs, r, out);
		hs->st = ST_I_M3_OUT;
		return DPK_HS_SEND;
	case ST_I_M3_OUT:
		hs->st = ST_I_WAIT_M4;
		return DPK_HS_RECV;
	case ST_I_WAIT_M4:
		if ((r = read_m4(hs, in, inlen)) != 0)
			return fail(hs, r, out);
		OPENSSL_cleanse(hs->confirm, sizeof(hs->confirm));
		memcpy(hs->res.transcript_hash, hs->th3, HASH_LEN);
		hs->st = ST_DONE;
		return DPK_HS_DONE;
	case ST_R_WAIT_M1:
		if ((r = read_m1(hs, in, inlen)) != 0)
			return fail(hs, r, out);
		hs->st = ST_R_NEED_KEY;
		return DPK_HS_NEED_KEY;
	case ST_R_NEED_KEY:
		if (hs->peer_publen == 0)
			return DPK_HS_NEED_KEY; /* still waiting for the look-up */
		if ((r = build_m2(hs, out)) != 0)
			return fail(hs, r, out);
		hs->st = ST_R_M2_OUT;
		return DPK_HS_SEND;
	case ST_R_M2_OUT:
		hs->st = ST_R_WAIT_M3;
		return DPK_HS_RECV;
	case ST_R_WAIT_M3:
		if ((r = read_m3_build_m4(hs, in, inlen, out)) != 0)
			return fail(hs, r, out);
		hs->st = ST_R_M4_OUT;
		return DPK_HS_SEND;
	case ST_R_M4_OUT:
		OPENSSL_cleanse(hs->confirm, sizeof(hs->confirm));
		memcpy(hs->res.transcript_hash, hs->th3, HASH_LEN);
		hs->st = ST_DONE;
		return DPK_HS_DONE;
	case ST_DONE:
		return DPK_HS_DONE;
	case ST_DEAD:
		break;
	}
	return fail(hs, DPK_ERR_STATE, out);
}
