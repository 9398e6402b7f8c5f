/* AES-GCM (128 or 256-bit key, 96-bit nonce, 128-bit tag) over OpenSSL EVP:
 * the AEAD of HPKE (RFC 9180 aead_id 0x0001) and of the RSA form of lib/crypto/pke.h. */
#ifndef DPK_AEAD_H
#define DPK_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define DPK_AEAD_NONCE_LEN 12
#define DPK_AEAD_TAG_LEN 16

/* Append ciphertext || tag (ptlen + 16 bytes) to out. keylen is 16 or 32.
 * Returns 0, DPK_ERR_INVALID, DPK_ERR_CRYPTO, or out's DPK_ERR_TOOBIG /
 * DPK_ERR_NOMEM; on error out keeps its original length. */
int dpk_aead_seal(const uint8_t *key, size_t keylen, const uint8_t nonce[DPK_AEAD_NONCE_LEN],
    const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t ptlen, struct dpk_buf *out);

/* Check and decrypt ct (ciphertext || tag) and append the plaintext to out.
 * Returns 0, DPK_ERR_TRUNCATED (shorter than a tag), DPK_ERR_BADMAC (wrong
 * key, nonce or aad, or altered), DPK_ERR_INVALID, DPK_ERR_CRYPTO, or out's
 * DPK_ERR_TOOBIG / DPK_ERR_NOMEM. On error nothing is appended and the bytes
 * decrypted before the tag check are wiped. */
int dpk_aead_open(const uint8_t *key, size_t keylen, const uint8_t nonce[DPK_AEAD_NONCE_LEN],
    const uint8_t *aad, size_t aadlen, const uint8_t *ct, size_t ctlen, struct dpk_buf *out);

#endif
