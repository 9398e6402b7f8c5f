/* HPKE (RFC 9180), base mode only, for one cipher suite:
 * DHKEM(P-256, HKDF-SHA256) (kem_id 0x0010), HKDF-SHA256 (kdf_id 0x0001),
 * AES-128-GCM (aead_id 0x0001). OpenSSL 3.0 has no HPKE API, so this is the
 * RFC's pseudocode over EVP primitives (lib/crypto/hkdf.h, lib/crypto/aead.h, EVP ECDH).
 * lib/crypto/pke.h uses it single shot (sequence number 0); the context form exists
 * so the tests can run the RFC's vectors for several sequence numbers. */
#ifndef DPK_HPKE_H
#define DPK_HPKE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define DPK_HPKE_KEM_ID 0x0010
#define DPK_HPKE_KDF_ID 0x0001
#define DPK_HPKE_AEAD_ID 0x0001
#define DPK_HPKE_NPK 65     /* serialized public key: uncompressed SEC1 point */
#define DPK_HPKE_NENC 65    /* enc is a serialized ephemeral public key */
#define DPK_HPKE_NSK 32
#define DPK_HPKE_NSECRET 32
#define DPK_HPKE_NK 16
#define DPK_HPKE_NN 12
#define DPK_HPKE_NH 32
#define DPK_HPKE_NT 16

struct evp_pkey_st; /* OpenSSL's EVP_PKEY */

/* An encryption context (RFC 9180 section 5.2). Secret: wipe it with
 * dpk_hpke_ctx_wipe. seq counts the messages sealed or opened. */
struct dpk_hpke_ctx {
	uint8_t key[DPK_HPKE_NK];
	uint8_t base_nonce[DPK_HPKE_NN];
	uint8_t exporter_secret[DPK_HPKE_NH];
	uint64_t seq;
};

/* DeriveKeyPair(ikm) (section 7.1.3, with P-256's rejection loop): the
 * private scalar into sk and the serialized public key into pk. 0,
 * DPK_ERR_INVALID (ikm shorter than Nsk bytes) or DPK_ERR_CRYPTO. */
int dpk_hpke_derive_keypair(const uint8_t *ikm, size_t ikmlen, uint8_t sk[DPK_HPKE_NSK],
    uint8_t pk[DPK_HPKE_NPK]);
/* A P-256 EVP_PKEY (private and public) from a private scalar, for
 * dpk_hpke_decap; the caller frees it. DPK_ERR_INVALID if sk is 0 or >= n. */
int dpk_hpke_key_from_private(const uint8_t sk[DPK_HPKE_NSK], struct evp_pkey_st **out);

/* Encap(pkR): enc and the KEM shared secret. ikmE NULL: a fresh random
 * ephemeral key; otherwise DeriveKeyPair(ikmE) (test vectors only).
 * DPK_ERR_SYNTAX if pkR is not a valid uncompressed P-256 point. */
int dpk_hpke_encap(const uint8_t pkR[DPK_HPKE_NPK], const uint8_t *ikmE, size_t ikmElen,
    uint8_t enc[DPK_HPKE_NENC], uint8_t shared_secret[DPK_HPKE_NSECRET]);
/* Encap with pkR already parsed and validated by dpk_idkey_onchain_evp
 * (DPK_IDKEY_P256) from pkRm, its serialization: a sender sealing several
 * messages to one key validates it once. */
int dpk_hpke_encap_key(struct evp_pkey_st *pkR, const uint8_t pkRm[DPK_HPKE_NPK], const uint8_t *ikmE,
    size_t ikmElen, uint8_t enc[DPK_HPKE_NENC], uint8_t shared_secret[DPK_HPKE_NSECRET]);
/* Decap(enc, skR). DPK_ERR_SYNTAX if enc is not a valid point,
 * DPK_ERR_UNSUPPORTED if skR is not a P-256 private key. */
int dpk_hpke_decap(struct evp_pkey_st *skR, const uint8_t enc[DPK_HPKE_NENC],
    uint8_t shared_secret[DPK_HPKE_NSECRET]);

/* KeySchedule for mode_base (no PSK) into ctx (seq 0). info at most
 * DPK_HPKE_INFO_MAX bytes (DPK_ERR_INVALID). */
#define DPK_HPKE_INFO_MAX 512
int dpk_hpke_key_schedule_base(const uint8_t shared_secret[DPK_HPKE_NSECRET], const uint8_t *info,
    size_t infolen, struct dpk_hpke_ctx *ctx);

/* SetupBaseS / SetupBaseR: Encap/Decap then the key schedule. */
int dpk_hpke_setup_base_s(const uint8_t pkR[DPK_HPKE_NPK], const uint8_t *ikmE, size_t ikmElen,
    const uint8_t *info, size_t infolen, uint8_t enc[DPK_HPKE_NENC], struct dpk_hpke_ctx *ctx);
/* SetupBaseS with pkR as for dpk_hpke_encap_key (pkR NULL: parse pkRm). */
int dpk_hpke_setup_base_s_key(struct evp_pkey_st *pkR, const uint8_t pkRm[DPK_HPKE_NPK], const uint8_t *ikmE,
    size_t ikmElen, const uint8_t *info, size_t infolen, uint8_t enc[DPK_HPKE_NENC], struct dpk_hpke_ctx *ctx);
int dpk_hpke_setup_base_r(struct evp_pkey_st *skR, const uint8_t enc[DPK_HPKE_NENC], const uint8_t *info,
    size_t infolen, struct dpk_hpke_ctx *ctx);

/* ContextS.Seal / ContextR.Open with the nonce for ctx->seq, then seq + 1.
 * Seal appends ct || tag to out; Open appends the plaintext (errors as
 * dpk_aead_open: DPK_ERR_BADMAC, nothing appended; seq is then unchanged). */
int dpk_hpke_seal(struct dpk_hpke_ctx *ctx, const uint8_t *aad, size_t aadlen, const uint8_t *pt,
    size_t ptlen, struct dpk_buf *out);
int dpk_hpke_open(struct dpk_hpke_ctx *ctx, const uint8_t *aad, size_t aadlen, const uint8_t *ct,
    size_t ctlen, struct dpk_buf *out);

/* Context.Export(exporter_context, L) into out (L <= 255 * Nh). */
int dpk_hpke_export(const struct dpk_hpke_ctx *ctx, const uint8_t *exp_ctx, size_t exp_ctxlen,
    uint8_t *out, size_t L);

void dpk_hpke_ctx_wipe(struct dpk_hpke_ctx *ctx);

#endif
