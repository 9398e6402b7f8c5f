/* Public-key encryption to an identity key: HPKE for P-256, RSA-OAEP key
 * wrap + AES-256-GCM for RSA (formats in lib/crypto/pke.h). */
#include "crypto/pke.h"
#include "crypto/aead.h"
#include "base/err.h"
#include "crypto/hpke.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#define RSA_WRAPPED_KEY_LEN 32 /* AES-256 key */
#define RSA_MAX_BYTES 1024     /* modulus of the largest identity key (8192 bits) */

/* Arguments every entry point checks the same way. */
static int
check_common(const uint8_t *info, size_t infolen, const uint8_t *aad, size_t aadlen, struct dpk_buf *out)
{
	if (out == NULL || (info == NULL && infolen > 0) || (aad == NULL && aadlen > 0) ||
	    infolen > DPK_PKE_INFO_MAX)
		return DPK_ERR_INVALID;
	return 0;
}

/* An RSA public or private key set up for OAEP with SHA-256, MGF1-SHA-256
 * and label = info; encrypt or decrypt as enc says. */
static EVP_PKEY_CTX *
oaep_ctx(EVP_PKEY *pkey, int enc, const uint8_t *info, size_t infolen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	uint8_t *label = NULL;

	if (ctx == NULL)
		return NULL;
	if ((enc ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) != 1)
		goto fail;
	if (infolen > 0) {
		if ((label = OPENSSL_memdup(info, infolen)) == NULL)
			goto fail;
		if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, (int)infolen) != 1) {
			OPENSSL_free(label);
			goto fail;
		}
	}
	return ctx;
fail:
	EVP_PKEY_CTX_free(ctx);
	return NULL;
}

/* RSA seal to pkey, a key from dpk_idkey_onchain_evp. */
static int
rsa_seal(EVP_PKEY *pkey, const uint8_t *info, size_t infolen, const uint8_t *aad, size_t aadlen,
    const uint8_t *pt, size_t ptlen, struct dpk_buf *out)
{
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t key[RSA_WRAPPED_KEY_LEN], nonce[DPK_AEAD_NONCE_LEN], *w;
	size_t start = out->len, wlen;
	int r;

	wlen = (size_t)EVP_PKEY_get_size(pkey);
	r = DPK_ERR_CRYPTO;
	if (RAND_priv_bytes(key, sizeof(key)) != 1 || RAND_bytes(nonce, sizeof(nonce)) != 1 ||
	    (ctx = oaep_ctx(pkey, 1, info, infolen)) == NULL)
		goto out;
	if ((r = dpk_buf_put_u8(out, (uint8_t)(wlen >> 8))) != 0 || (r = dpk_buf_put_u8(out, (uint8_t)wlen)) != 0 ||
	    (r = dpk_buf_reserve(out, wlen, &w)) != 0)
		goto out;
	r = DPK_ERR_CRYPTO;
	if (EVP_PKEY_encrypt(ctx, w, &wlen, key, sizeof(key)) != 1 || wlen != (size_t)EVP_PKEY_get_size(pkey))
		goto out;
	if ((r = dpk_buf_put(out, nonce, sizeof(nonce))) != 0)
		goto out;
	r = dpk_aead_seal(key, sizeof(key), nonce, aad, aadlen, pt, ptlen, out);
out:
	OPENSSL_cleanse(key, sizeof(key));
	EVP_PKEY_CTX_free(ctx);
	if (r != 0)
		out->len = start;
	return r;
}

/* HPKE seal to pub; pkey is pub parsed by dpk_idkey_onchain_evp, or NULL. */
static int
p256_seal(EVP_PKEY *pkey, const uint8_t *pub, size_t publen, const uint8_t *ikm, size_t ikmlen,
    const uint8_t *info, size_t infolen, const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t ptlen,
    struct dpk_buf *out)
{
	struct dpk_hpke_ctx ctx;
	uint8_t enc[DPK_HPKE_NENC];
	size_t start = out->len;
	int r;

	if (pub == NULL || publen != DPK_HPKE_NPK)
		return DPK_ERR_SYNTAX;
	if ((r = dpk_hpke_setup_base_s_key(pkey, pub, ikm, ikmlen, info, infolen, enc, &ctx)) != 0)
		return r;
	if ((r = dpk_buf_put(out, enc, sizeof(enc))) == 0 &&
	    (r = dpk_hpke_seal(&ctx, aad, aadlen, pt, ptlen, out)) != 0)
		out->len = start;
	dpk_hpke_ctx_wipe(&ctx);
	return r;
}

int
dpk_pke_seal(enum dpk_idkey_alg alg, const uint8_t *pub, size_t publen, const uint8_t *info, size_t infolen,
    const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t ptlen, struct dpk_buf *out)
{
	EVP_PKEY *pkey = NULL;
	int r;

	if ((r = check_common(info, infolen, aad, aadlen, out)) != 0)
		return r;
	if ((pt == NULL && ptlen > 0) || ptlen > DPK_PKE_PT_MAX)
		return DPK_ERR_INVALID;
	if (alg == DPK_IDKEY_P256)
		return p256_seal(NULL, pub, publen, NULL, 0, info, infolen, aad, aadlen, pt, ptlen, out);
	if (alg != DPK_IDKEY_RSA)
		return DPK_ERR_UNSUPPORTED;
	if ((r = dpk_idkey_onchain_evp(DPK_IDKEY_RSA, pub, publen, &pkey)) != 0)
		return r == DPK_ERR_UNSUPPORTED ? r : DPK_ERR_SYNTAX;
	r = rsa_seal(pkey, info, infolen, aad, aadlen, pt, ptlen, out);
	EVP_PKEY_free(pkey);
	return r;
}

int
dpk_pke_seal_evp(enum dpk_idkey_alg alg, struct evp_pkey_st *pkey, const uint8_t *pub, size_t publen,
    const uint8_t *ikm, size_t ikmlen, const uint8_t *info, size_t infolen, const uint8_t *aad, size_t aadlen,
    const uint8_t *pt, size_t ptlen, struct dpk_buf *out)
{
	int r;

	if ((r = check_common(info, infolen, aad, aadlen, out)) != 0)
		return r;
	if (pkey == NULL || (pt == NULL && ptlen > 0) || ptlen > DPK_PKE_PT_MAX ||
	    (ikm != NULL && ikmlen < DPK_HPKE_NSK))
		return DPK_ERR_INVALID;
	if (alg == DPK_IDKEY_P256)
		return p256_seal(pkey, pub, publen, ikm, ikmlen, info, infolen, aad, aadlen, pt, ptlen, out);
	if (alg == DPK_IDKEY_RSA && ikm == NULL)
		return rsa_seal(pkey, info, infolen, aad, aadlen, pt, ptlen, out);
	return DPK_ERR_UNSUPPORTED;
}

int
dpk_pke_seal_derand(enum dpk_idkey_alg alg, const uint8_t *pub, size_t publen, const uint8_t *ikm, size_t ikmlen,
    const uint8_t *info, size_t infolen, const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t ptlen,
    struct dpk_buf *out)
{
	int r;

	if ((r = check_common(info, infolen, aad, aadlen, out)) != 0)
		return r;
	if ((pt == NULL && ptlen > 0) || ptlen > DPK_PKE_PT_MAX || ikm == NULL || ikmlen < DPK_HPKE_NSK)
		return DPK_ERR_INVALID;
	if (alg != DPK_IDKEY_P256)
		return DPK_ERR_UNSUPPORTED;
	return p256_seal(NULL, pub, publen, ikm, ikmlen, info, infolen, aad, aadlen, pt, ptlen, out);
}

static int
p256_open(EVP_PKEY *sk, const uint8_t *info, size_t infolen, const uint8_t *aad, size_t aadlen,
    const uint8_t *ct, size_t ctlen, struct dpk_buf *out)
{
	struct dpk_hpke_ctx ctx;
	int r;

	if (ctlen < DPK_HPKE_NENC + DPK_HPKE_NT)
		return DPK_ERR_TRUNCATED;
	if (ctlen - DPK_HPKE_NENC - DPK_HPKE_NT > DPK_PKE_PT_MAX)
		return DPK_ERR_TOOBIG;
	if ((r = dpk_hpke_setup_base_r(sk, ct, info, infolen, &ctx)) != 0)
		return r;
	r = dpk_hpke_open(&ctx, aad, aadlen, ct + DPK_HPKE_NENC, ctlen - DPK_HPKE_NENC, out);
	dpk_hpke_ctx_wipe(&ctx);
	return r;
}

static int
rsa_open(EVP_PKEY *sk, const uint8_t *info, size_t infolen, const uint8_t *aad, size_t aadlen,
    const uint8_t *ct, size_t ctlen, struct dpk_buf *out)
{
	struct dpk_cursor c;
	EVP_PKEY_CTX *ctx = NULL;
	const uint8_t *wrapped, *nonce;
	uint8_t key[RSA_MAX_BYTES]; /* OpenSSL wants room for a whole block */
	size_t keylen = sizeof(key), k = (size_t)EVP_PKEY_get_size(sk);
	uint16_t wlen;
	int r;

	dpk_cursor_init(&c, ct, ctlen);
	if ((r = dpk_cursor_get_be16(&c, &wlen)) != 0)
		return r;
	/* the wrapped key is exactly one RSA block of this key's size */
	if (wlen != k || k > RSA_MAX_BYTES)
		return DPK_ERR_SYNTAX;
	if ((r = dpk_cursor_take(&c, wlen, &wrapped)) != 0 ||
	    (r = dpk_cursor_take(&c, DPK_AEAD_NONCE_LEN, &nonce)) != 0)
		return r;
	if (c.len < DPK_AEAD_TAG_LEN)
		return DPK_ERR_TRUNCATED;
	if (c.len - DPK_AEAD_TAG_LEN > DPK_PKE_PT_MAX)
		return DPK_ERR_TOOBIG;
	if ((ctx = oaep_ctx(sk, 0, info, infolen)) == NULL)
		return DPK_ERR_CRYPTO;
	/* one answer for every failure: no padding oracle (Manger) to tell apart */
	r = DPK_ERR_BADMAC;
	if (EVP_PKEY_decrypt(ctx, key, &keylen, wrapped, wlen) != 1 || keylen != RSA_WRAPPED_KEY_LEN)
		goto out;
	r = dpk_aead_open(key, RSA_WRAPPED_KEY_LEN, nonce, aad, aadlen, c.p, c.len, out);
out:
	OPENSSL_cleanse(key, sizeof(key));
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int
dpk_pke_open(const struct dpk_idkey *k, const uint8_t *info, size_t infolen, const uint8_t *aad, size_t aadlen,
    const uint8_t *ct, size_t ctlen, struct dpk_buf *out)
{
	if (k == NULL || (ct == NULL && ctlen > 0) || check_common(info, infolen, aad, aadlen, out) != 0)
		return DPK_ERR_INVALID;
	if (dpk_idkey_alg(k) == DPK_IDKEY_P256)
		return p256_open(dpk_idkey_evp(k), info, infolen, aad, aadlen, ct, ctlen, out);
	if (dpk_idkey_alg(k) == DPK_IDKEY_RSA)
		return rsa_open(dpk_idkey_evp(k), info, infolen, aad, aadlen, ct, ctlen, out);
	return DPK_ERR_UNSUPPORTED;
}

size_t
dpk_pke_overhead(enum dpk_idkey_alg alg, const uint8_t *pub, size_t publen)
{
	EVP_PKEY *pkey = NULL;
	size_t n;

	if ((alg != DPK_IDKEY_P256 && alg != DPK_IDKEY_RSA) || dpk_idkey_onchain_evp(alg, pub, publen, &pkey) != 0)
		return 0;
	n = alg == DPK_IDKEY_P256 ? DPK_HPKE_NENC + DPK_HPKE_NT :
	    2 + (size_t)EVP_PKEY_get_size(pkey) + DPK_AEAD_NONCE_LEN + DPK_AEAD_TAG_LEN;
	EVP_PKEY_free(pkey);
	return n;
}
