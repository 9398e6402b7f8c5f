/* Enrolment tokens: made by dpk-pkm when an operator enrols a device, put on
 * the device as a file, used once. The secret is the PSK of the device-to-PKM
 * TLS channel; only its hash goes on chain. The PKM signs everything else
 * (and the secret's hash) with its identity key, whose public half is on
 * chain (storePKMKey), so the agent can check a token before using it.
 *
 * File format (text, one "name: value" per line, in this order):
 *   dpk-token-v1
 *   id: 32 hex digits            (the TLS-PSK identity is "dpk-enrol-" + id)
 *   identity: the device's identity, text form
 *   chain-id: decimal
 *   contract: 0x address of the registry
 *   pkm-address: 0x address of the PKM's wallet (an approver)
 *   pkm-endpoint: host:port of the PKM's TLS-PSK channel
 *   expires: Unix time, decimal
 *   secret: 64 hex digits
 *   signature: hex (dpk_idkey_sign over dpk_token_signed_payload)
 */
#ifndef DPK_TOKEN_H
#define DPK_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "crypto/idkey.h"

#define DPK_TOKEN_MAX_FILE 4096
#define DPK_TOKEN_MAX_SIG 1024

struct dpk_token {
	uint8_t id[16];
	char identity[254];
	uint64_t chain_id;
	uint8_t contract[20];
	uint8_t pkm_address[20];
	char pkm_endpoint[256];
	uint64_t expires;
	uint8_t secret[32];
	uint8_t sig[DPK_TOKEN_MAX_SIG];
	size_t siglen;
};

/* A new unsigned token with a random id and secret. Strings are copied;
 * DPK_ERR_INVALID if one is empty, too long, or has a control character. */
int dpk_token_new(struct dpk_token *t, const char *identity, uint64_t chain_id,
    const uint8_t contract[20], const uint8_t pkm_address[20], const char *pkm_endpoint,
    uint64_t expires);

/* The bytes the PKM signs: every field but the secret, plus the token hash. */
int dpk_token_signed_payload(const struct dpk_token *t, struct dpk_buf *out);
int dpk_token_sign(struct dpk_token *t, const struct dpk_idkey *pkm_key);
/* 0 if the signature verifies with the PKM's on-chain key and now < expires;
 * DPK_ERR_BADSIG, DPK_ERR_TIMEOUT (expired), or the key's errors. */
int dpk_token_verify(const struct dpk_token *t, enum dpk_idkey_alg alg, const uint8_t *pub,
    size_t publen, uint64_t now);

/* The hash put on chain: keccak256("dpk-token-v1" || id || secret). */
void dpk_token_hash(const struct dpk_token *t, uint8_t out[32]);
/* The TLS-PSK identity: "dpk-enrol-" + 32 hex digits, NUL-terminated. */
void dpk_token_psk_identity(const struct dpk_token *t, char out[43]);

/* The file text, appended to out (NUL-terminated). */
int dpk_token_format(const struct dpk_token *t, struct dpk_buf *out);
/* Parse a token file's text (untrusted). On error writes "line N: what"
 * into err and returns DPK_ERR_SYNTAX / DPK_ERR_TOOBIG / DPK_ERR_CHECKSUM. */
int dpk_token_parse(const char *text, size_t len, struct dpk_token *t, char *err, size_t errsz);

/* Read and parse the token file at path. The file holds a secret, so it
 * must be a regular file (not a link), owned by this process's uid or by
 * root, with no permission for group or others; otherwise it is not read.
 * On error a sentence naming the file and what to do goes to err:
 * DPK_ERR_IO (cannot open or read it), DPK_ERR_PERM (owner or mode),
 * DPK_ERR_TOOBIG, or dpk_token_parse's errors. */
int dpk_token_load(const char *path, struct dpk_token *t, char *err, size_t errsz);

/* Wipe the secret and everything else. */
void dpk_token_clear(struct dpk_token *t);

#endif
