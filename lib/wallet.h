/* Ethereum wallet keys (secp256k1, via libsecp256k1): generate, import,
 * address with EIP-55 checksum, sign a hash with a recoverable signature,
 * recover the signer. Private key bytes are wiped by dpk_wallet_clear(). */
#ifndef DPK_WALLET_H
#define DPK_WALLET_H

#include <stddef.h>
#include <stdint.h>

struct dpk_wallet {
	uint8_t priv[32];
	uint8_t pub[64];  /* uncompressed public key X || Y (no 0x04 prefix) */
	uint8_t addr[20]; /* keccak256(pub)[12..32] */
};

/* New random key from getrandom(2). */
int dpk_wallet_generate(struct dpk_wallet *w);
/* From a private scalar; DPK_ERR_INVALID if it is 0 or >= the group order. */
int dpk_wallet_from_private(struct dpk_wallet *w, const uint8_t priv[32]);
void dpk_wallet_clear(struct dpk_wallet *w);

/* Sign a 32-byte hash (RFC 6979 nonce, low-s): sig = r || s || recid (0 or 1). */
int dpk_wallet_sign(const struct dpk_wallet *w, const uint8_t hash[32], uint8_t sig[65]);
/* Recover the signer's address. DPK_ERR_BADSIG if sig does not recover
 * (recid > 3, r or s out of range, high s). */
int dpk_wallet_recover(const uint8_t hash[32], const uint8_t sig[65], uint8_t addr[20]);

void dpk_wallet_address_from_pubkey(const uint8_t pub[64], uint8_t addr[20]);
/* "0x" + 40 hex digits with the EIP-55 mixed-case checksum, NUL-terminated. */
void dpk_wallet_address_format(const uint8_t addr[20], char out[43]);
/* Parse "0x" + 40 hex digits. All-lower or all-upper is accepted as is; mixed
 * case must carry a valid EIP-55 checksum (DPK_ERR_CHECKSUM otherwise). */
int dpk_wallet_address_parse(const char *s, uint8_t addr[20]);

#endif
