/* HKDF-SHA256 (RFC 5869) over OpenSSL's EVP_KDF "HKDF", split into its two
 * steps so that HPKE's labeled forms (RFC 9180 section 4) and the PSK
 * handshake can build their inputs themselves. */
#ifndef DPK_HKDF_H
#define DPK_HKDF_H

#include <stddef.h>
#include <stdint.h>

#define DPK_HKDF_HASH_LEN 32            /* SHA-256 output: the PRK length */
#define DPK_HKDF_MAX_OUT (255 * 32)     /* RFC 5869: L <= 255 * HashLen */
#define DPK_HKDF_MAX_INFO 1024          /* OpenSSL 3.0's cap on the info input */

/* PRK = HMAC-SHA256(salt, ikm) into prk[32]. salt may be NULL/0 (a zero-length
 * salt, which HMAC pads to HashLen zeros as RFC 5869 says). Returns 0,
 * DPK_ERR_INVALID (NULL ikm with ikmlen > 0) or DPK_ERR_CRYPTO. */
int dpk_hkdf_extract(const uint8_t *salt, size_t saltlen, const uint8_t *ikm, size_t ikmlen,
    uint8_t prk[DPK_HKDF_HASH_LEN]);

/* OKM = the first outlen bytes of T(1) | T(2) | ... into out. info may be
 * NULL/0. Returns 0, DPK_ERR_INVALID (outlen 0 or > DPK_HKDF_MAX_OUT, info
 * longer than DPK_HKDF_MAX_INFO) or DPK_ERR_CRYPTO (out is then wiped). */
int dpk_hkdf_expand(const uint8_t prk[DPK_HKDF_HASH_LEN], const uint8_t *info, size_t infolen,
    uint8_t *out, size_t outlen);

#endif
