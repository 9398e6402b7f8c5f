#include "crypto/hkdf.h"
#include "base/err.h"

#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

/* The HKDF implementation, fetched once rather than by name on every call
 * (OpenSSL 3.0 cannot copy an HKDF context, so the digest is still named in
 * each call's parameters). */
static EVP_KDF *hkdf_kdf;
static pthread_once_t hkdf_once = PTHREAD_ONCE_INIT;

static void
hkdf_init(void)
{
	hkdf_kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
}

/* One EVP_KDF "HKDF" call in the given mode; key is the IKM (extract) or the
 * PRK (expand), aux the salt or the info. */
static int
hkdf_run(int mode, const uint8_t *key, size_t keylen, const uint8_t *aux, size_t auxlen,
    uint8_t *out, size_t outlen)
{
	static const uint8_t none[1];
	EVP_KDF_CTX *ctx = NULL;
	OSSL_PARAM params[5], *p = params;
	int r = DPK_ERR_CRYPTO;

	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	/* OpenSSL wants a key even when it is empty: point at a dummy byte */
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(keylen ? key : none), keylen);
	if (auxlen > 0)
		*p++ = OSSL_PARAM_construct_octet_string(mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY ?
		    OSSL_KDF_PARAM_SALT : OSSL_KDF_PARAM_INFO, (void *)aux, auxlen);
	*p = OSSL_PARAM_construct_end();
	if (pthread_once(&hkdf_once, hkdf_init) != 0 || hkdf_kdf == NULL ||
	    (ctx = EVP_KDF_CTX_new(hkdf_kdf)) == NULL)
		goto out;
	if (EVP_KDF_derive(ctx, out, outlen, params) != 1) {
		OPENSSL_cleanse(out, outlen);
		goto out;
	}
	r = 0;
out:
	EVP_KDF_CTX_free(ctx); /* clears the key copy it holds */
	return r;
}

int
dpk_hkdf_extract(const uint8_t *salt, size_t saltlen, const uint8_t *ikm, size_t ikmlen,
    uint8_t prk[DPK_HKDF_HASH_LEN])
{
	if ((ikm == NULL && ikmlen > 0) || (salt == NULL && saltlen > 0) || prk == NULL)
		return DPK_ERR_INVALID;
	return hkdf_run(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, ikm, ikmlen, salt, saltlen, prk, DPK_HKDF_HASH_LEN);
}

int
dpk_hkdf_expand(const uint8_t prk[DPK_HKDF_HASH_LEN], const uint8_t *info, size_t infolen,
    uint8_t *out, size_t outlen)
{
	if (prk == NULL || out == NULL || outlen == 0 || outlen > DPK_HKDF_MAX_OUT ||
	    (info == NULL && infolen > 0) || infolen > DPK_HKDF_MAX_INFO)
		return DPK_ERR_INVALID;
	return hkdf_run(EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, DPK_HKDF_HASH_LEN, info, infolen, out, outlen);
}
