#include "crypto/aead.h"
#include "base/err.h"

#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* AES-GCM fetched once: EVP_aes_*_gcm() would make every init fetch the
 * provider's implementation by name again. */
static EVP_CIPHER *gcm128, *gcm256;
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;

static void
gcm_init(void)
{
	gcm128 = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	gcm256 = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static const EVP_CIPHER *
gcm_for(size_t keylen)
{
	if (pthread_once(&gcm_once, gcm_init) != 0)
		return NULL;
	return keylen == 16 ? gcm128 : keylen == 32 ? gcm256 : NULL;
}

/* Run the GCM pass over in (len bytes) into o, after the aad. */
static int
gcm_run(EVP_CIPHER_CTX *c, const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len, uint8_t *o)
{
	int n;

	if (aadlen > 0 && EVP_CipherUpdate(c, NULL, &n, aad, (int)aadlen) != 1)
		return 0;
	if (len > 0 && (EVP_CipherUpdate(c, o, &n, in, (int)len) != 1 || (size_t)n != len))
		return 0;
	return 1;
}

int
dpk_aead_seal(const uint8_t *key, size_t keylen, const uint8_t nonce[DPK_AEAD_NONCE_LEN],
    const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t ptlen, struct dpk_buf *out)
{
	const EVP_CIPHER *cipher = gcm_for(keylen);
	EVP_CIPHER_CTX *c = NULL;
	size_t start = out->len;
	uint8_t *o;
	int n, r;

	if (cipher == NULL || nonce == NULL || (aad == NULL && aadlen > 0) || (pt == NULL && ptlen > 0) ||
	    aadlen > INT_MAX || ptlen > INT_MAX - DPK_AEAD_TAG_LEN)
		return DPK_ERR_INVALID;
	if ((r = dpk_buf_reserve(out, ptlen + DPK_AEAD_TAG_LEN, &o)) != 0)
		return r;
	r = DPK_ERR_CRYPTO;
	if ((c = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(c, cipher, NULL, key, nonce) != 1 ||
	    !gcm_run(c, aad, aadlen, pt, ptlen, o) ||
	    EVP_EncryptFinal_ex(c, o + ptlen, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, DPK_AEAD_TAG_LEN, o + ptlen) != 1)
		goto out;
	r = 0;
out:
	EVP_CIPHER_CTX_free(c); /* clears the key schedule */
	if (r != 0) {
		OPENSSL_cleanse(out->data + start, out->len - start);
		out->len = start;
	}
	return r;
}

int
dpk_aead_open(const uint8_t *key, size_t keylen, const uint8_t nonce[DPK_AEAD_NONCE_LEN],
    const uint8_t *aad, size_t aadlen, const uint8_t *ct, size_t ctlen, struct dpk_buf *out)
{
	const EVP_CIPHER *cipher = gcm_for(keylen);
	EVP_CIPHER_CTX *c = NULL;
	uint8_t tag[DPK_AEAD_TAG_LEN], *o = NULL;
	size_t start = out->len, len;
	int n, r;

	if (cipher == NULL || nonce == NULL || (aad == NULL && aadlen > 0) || (ct == NULL && ctlen > 0) ||
	    aadlen > INT_MAX || ctlen > INT_MAX)
		return DPK_ERR_INVALID;
	if (ctlen < DPK_AEAD_TAG_LEN)
		return DPK_ERR_TRUNCATED;
	len = ctlen - DPK_AEAD_TAG_LEN;
	memcpy(tag, ct + len, DPK_AEAD_TAG_LEN);
	if ((r = dpk_buf_reserve(out, len, &o)) != 0)
		return r;
	r = DPK_ERR_CRYPTO;
	if ((c = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(c, cipher, NULL, key, nonce) != 1 ||
	    !gcm_run(c, aad, aadlen, ct, len, o) ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, DPK_AEAD_TAG_LEN, tag) != 1)
		goto out;
	r = EVP_DecryptFinal_ex(c, o + len, &n) == 1 ? 0 : DPK_ERR_BADMAC;
out:
	EVP_CIPHER_CTX_free(c);
	if (r != 0) {
		OPENSSL_cleanse(out->data + start, out->len - start);
		out->len = start;
	}
	return r;
}
