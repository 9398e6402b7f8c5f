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

/* Additions. */

/* Note on dpk_wallet_recover: only recid 0 and 1 are accepted (what an
 * Ethereum v of 27/28 or a typed-transaction y-parity can express); 2 and 3
 * give DPK_ERR_BADSIG too. On any error addr is zeroed.
 * Note on dpk_wallet_address_parse: a string shorter than 42 characters gives
 * DPK_ERR_TRUNCATED, a longer one DPK_ERR_TRAILING, a missing "0x" or a
 * non-hex digit DPK_ERR_SYNTAX. On any error addr is zeroed. */

/* As dpk_wallet_address_parse, for len bytes that need not be NUL-terminated
 * (a NUL inside them is a non-hex digit: DPK_ERR_SYNTAX). */
int dpk_wallet_address_parse_n(const char *s, size_t len, uint8_t addr[20]);

/* EIP-191 personal-message hash, as eth_sign / personal_sign / `cast wallet
 * sign` compute it: keccak256("\x19Ethereum Signed Message:\n" || decimal(len)
 * || msg). Writes 32 bytes to hash. 0, or DPK_ERR_INVALID on NULL arguments. */
int dpk_wallet_hash_message(const void *msg, size_t len, uint8_t hash[32]);

#endif
