/* Public-key encryption to an identity key, single
 * shot, with standard constructions only:
 *   P-256 keys: HPKE (RFC 9180) base mode, DHKEM(P-256, HKDF-SHA256),
 *               HKDF-SHA256, AES-128-GCM (lib/crypto/hpke.h);
 *               output = enc (65-byte uncompressed point) || ciphertext.
 *   RSA keys:   RSA-OAEP (SHA-256, MGF1-SHA-256, label = info) wraps a fresh
 *               32-byte key; AES-256-GCM under it seals the plaintext with
 *               aad; output = u16 wrapped length || wrapped key || nonce (12)
 *               || ciphertext || tag (16).
 * info binds the use (a protocol label and message type); aad is
 * authenticated but not encrypted. Plaintext is at most DPK_PKE_PT_MAX.
 * Everything handed to dpk_pke_open is untrusted. */
#ifndef DPK_PKE_H
#define DPK_PKE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "crypto/idkey.h"

#define DPK_PKE_PT_MAX 8192
#define DPK_PKE_INFO_MAX 256

/* Append the sealed form of pt for the public key pub (on-chain form of alg:
 * 65-byte SEC1 point for P-256, DER SubjectPublicKeyInfo for RSA) to out.
 * Returns 0; DPK_ERR_INVALID (NULL argument, info or pt too long),
 * DPK_ERR_SYNTAX / DPK_ERR_UNSUPPORTED (pub is not a valid key of alg),
 * DPK_ERR_CRYPTO, or out's DPK_ERR_TOOBIG / DPK_ERR_NOMEM (out is then
 * restored to its original length). */
int dpk_pke_seal(enum dpk_idkey_alg alg, const uint8_t *pub, size_t publen, const uint8_t *info,
    size_t infolen, const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t ptlen, struct dpk_buf *out);

/* As dpk_pke_seal for P-256 only, with the ephemeral key derived from ikm
 * (RFC 9180 DeriveKeyPair) instead of fresh randomness: for published test
 * vectors and the protocol document's vectors, never for real traffic.
 * DPK_ERR_UNSUPPORTED for RSA. */
int dpk_pke_seal_derand(enum dpk_idkey_alg alg, const uint8_t *pub, size_t publen, const uint8_t *ikm,
    size_t ikmlen, const uint8_t *info, size_t infolen, const uint8_t *aad, size_t aadlen, const uint8_t *pt,
    size_t ptlen, struct dpk_buf *out);

/* As dpk_pke_seal (ikm NULL) or dpk_pke_seal_derand (ikm not NULL, P-256
 * only), with pkey the key dpk_idkey_onchain_evp(alg, pub, publen) returned:
 * who seals several messages to one key parses and validates it once. */
int dpk_pke_seal_evp(enum dpk_idkey_alg alg, struct evp_pkey_st *pkey, const uint8_t *pub, size_t publen,
    const uint8_t *ikm, size_t ikmlen, const uint8_t *info, size_t infolen, const uint8_t *aad, size_t aadlen,
    const uint8_t *pt, size_t ptlen, struct dpk_buf *out);

/* Open ct (made by dpk_pke_seal for k's public key with the same info and
 * aad) and append the plaintext to out. Returns 0; DPK_ERR_TRUNCATED /
 * DPK_ERR_SYNTAX (malformed), DPK_ERR_BADMAC (wrong key, info, aad, or
 * tampered), DPK_ERR_TOOBIG, DPK_ERR_NOMEM. On error nothing is appended
 * and no partial plaintext is left anywhere. */
int dpk_pke_open(const struct dpk_idkey *k, const uint8_t *info, size_t infolen, const uint8_t *aad,
    size_t aadlen, const uint8_t *ct, size_t ctlen, struct dpk_buf *out);

/* Bytes dpk_pke_seal adds to the plaintext for a key of alg with a public
 * key of publen bytes (RSA: from the modulus size), or 0 if pub is invalid. */
size_t dpk_pke_overhead(enum dpk_idkey_alg alg, const uint8_t *pub, size_t publen);

#endif
