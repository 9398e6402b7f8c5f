/* The device's identity key (ECDSA P-256 by default, RSA 2048..8192): the key
 * registered on chain, used for the PSK handshake and login challenges.
 * Generated with OpenSSL, stored as PKCS#8 PEM, mode 0600, never overwritten. */
#ifndef DPK_IDKEY_H
#define DPK_IDKEY_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* Algorithm numbers as stored on chain (contracts/DPK.sol). */
enum dpk_idkey_alg {
	DPK_IDKEY_P256 = 1, /* public key on chain: 65-byte uncompressed SEC1 point */
	DPK_IDKEY_RSA = 2,  /* public key on chain: DER SubjectPublicKeyInfo */
};

struct dpk_idkey; /* opaque; holds an OpenSSL EVP_PKEY */

/* Generate a key: alg P256 (bits ignored) or RSA with bits in 2048..8192. */
int dpk_idkey_generate(enum dpk_idkey_alg alg, unsigned bits, struct dpk_idkey **out);
/* Write the private key to path as PKCS#8 PEM, atomically, mode 0600.
 * DPK_ERR_EXISTS if path exists (an identity key is never overwritten). */
int dpk_idkey_save(const struct dpk_idkey *k, const char *path);
/* Load a private key written by dpk_idkey_save (P-256 or RSA >= 2048 only;
 * DPK_ERR_UNSUPPORTED otherwise). DPK_ERR_IO if the file is group/world
 * readable or not a regular file. */
int dpk_idkey_load(const char *path, struct dpk_idkey **out);
/* Load, or generate and save if path does not exist. *created tells which. */
int dpk_idkey_load_or_create(const char *path, enum dpk_idkey_alg alg, unsigned bits,
    struct dpk_idkey **out, int *created);
void dpk_idkey_free(struct dpk_idkey *k);

enum dpk_idkey_alg dpk_idkey_alg(const struct dpk_idkey *k);

/* The public key in its on-chain form (see enum dpk_idkey_alg), appended to out. */
int dpk_idkey_public_onchain(const struct dpk_idkey *k, struct dpk_buf *out);
/* The public key as PEM SubjectPublicKeyInfo text, appended to out (NUL-terminated). */
int dpk_idkey_public_pem(const struct dpk_idkey *k, struct dpk_buf *out);

/* An on-chain public key to OpenSSH authorized_keys form ("ecdsa-sha2-nistp256
 * AAAA... comment" / "ssh-rsa AAAA... comment"), appended to out (NUL-terminated).
 * The key bytes are validated (point on the curve, RSA modulus >= 2048 bits). */
int dpk_idkey_onchain_to_openssh(enum dpk_idkey_alg alg, const uint8_t *pub, size_t publen,
    const char *comment, struct dpk_buf *out);

/* Sign msg: ECDSA-SHA256 (DER signature) for P-256, RSA-PSS-SHA256 (salt
 * length 32) for RSA. The signature is appended to out. */
int dpk_idkey_sign(const struct dpk_idkey *k, const void *msg, size_t len, struct dpk_buf *out);
/* Verify sig over msg with an on-chain public key (validated as above).
 * 0 if valid, DPK_ERR_BADSIG if not, DPK_ERR_INVALID / DPK_ERR_UNSUPPORTED
 * for an unusable key. */
int dpk_idkey_verify(enum dpk_idkey_alg alg, const uint8_t *pub, size_t publen,
    const void *msg, size_t len, const uint8_t *sig, size_t siglen);

/* The public key as an SSH public key blob (RFC 4253 6.6 "ssh-rsa", RFC 5656
 * 3.1 "ecdsa-sha2-nistp256"), appended to out: what an ssh-agent lists. */
int dpk_idkey_ssh_public_blob(const struct dpk_idkey *k, struct dpk_buf *out);
/* An SSH signature blob (string sigalg, string signature) over msg, appended
 * to out: sigalg "ecdsa-sha2-nistp256" (P-256, RFC 5656) or "rsa-sha2-256" /
 * "rsa-sha2-512" (RSA PKCS#1 v1.5, RFC 8332); anything else, SHA-1 "ssh-rsa"
 * included, is DPK_ERR_UNSUPPORTED. These signatures carry no DPK context
 * string: the one caller (dpk-agent/login/sshagent_msg.c) signs nothing but what
 * parses as an SSH user-authentication request. */
int dpk_idkey_sign_ssh(const struct dpk_idkey *k, const char *sigalg, const void *msg, size_t len,
    struct dpk_buf *out);
struct evp_pkey_st; /* OpenSSL's EVP_PKEY */

/* The OpenSSL key inside k (private key included), for code that runs a
 * primitive idkey does not offer (lib/crypto/pke.c decrypts with it). Borrowed: valid
 * while k lives, never freed by the caller. */
struct evp_pkey_st *dpk_idkey_evp(const struct dpk_idkey *k);
/* Parse and validate an on-chain public key as dpk_idkey_verify does (point
 * on the curve; RSA DER with no trailing bytes, 2048..8192 bits) into a new
 * EVP_PKEY the caller frees with EVP_PKEY_free. An RSA key that already
 * passed OpenSSL's full public-key check in this process (remembered by
 * SHA-256 of its DER, last 64 keys) is not checked again. DPK_ERR_INVALID /
 * DPK_ERR_TRAILING (malformed), DPK_ERR_UNSUPPORTED (alg or key size). */
int dpk_idkey_onchain_evp(enum dpk_idkey_alg alg, const uint8_t *pub, size_t publen,
    struct evp_pkey_st **out);
/* The 65-byte on-chain form (0x04 || x || y) of the P-256 point with this
 * x-coordinate (32 bytes, big-endian) and y of this parity (y_odd 1: odd):
 * how the registry stores a P-256 key (contracts/README.md, "Storage
 * layout"), for a reader of storage proofs. Returns 0, DPK_ERR_INVALID (NULL,
 * x >= p, or no point has this x) or DPK_ERR_CRYPTO; out is zeroed on error. */
int dpk_idkey_p256_decompress(const uint8_t x[32], int y_odd, uint8_t out[65]);
/* dpk_idkey_verify with a key dpk_idkey_onchain_evp made (parse and validate
 * once, verify many times). */
int dpk_idkey_verify_evp(enum dpk_idkey_alg alg, struct evp_pkey_st *pkey, const void *msg, size_t len,
    const uint8_t *sig, size_t siglen);

#endif
