/* Ethereum transactions: legacy with EIP-155 replay protection and EIP-1559
 * (EIP-2718 type 2, empty access list), signed with a dpk_wallet; and a
 * bounded decoder for signed raw transactions that recovers the sender. */
#ifndef DPK_TX_H
#define DPK_TX_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "eth/u256.h"
#include "eth/wallet.h"

enum dpk_tx_type {
	DPK_TX_LEGACY = 0,  /* EIP-155: v = recid + 35 + 2 * chain_id */
	DPK_TX_EIP1559 = 2, /* 0x02 || rlp([chain_id, nonce, tip, max_fee, gas, to, value, data, [], y, r, s]) */
};

struct dpk_tx {
	enum dpk_tx_type type;
	uint64_t chain_id;
	uint64_t nonce;
	struct dpk_u256 gas_price;        /* legacy only */
	struct dpk_u256 max_priority_fee; /* EIP-1559 only */
	struct dpk_u256 max_fee;          /* EIP-1559 only */
	uint64_t gas_limit;
	int has_to;                       /* 0: contract creation */
	uint8_t to[20];
	struct dpk_u256 value;
	const uint8_t *data;              /* calldata / init code; not owned */
	size_t data_len;
};

/* Hash that the sender signs (keccak of the unsigned encoding). */
int dpk_tx_signing_hash(const struct dpk_tx *tx, uint8_t hash[32]);
/* Sign tx with w; the raw signed transaction is appended to raw (ready for
 * eth_sendRawTransaction) and its hash written to txhash (may be NULL). */
int dpk_tx_sign(const struct dpk_tx *tx, const struct dpk_wallet *w,
    struct dpk_buf *raw, uint8_t txhash[32]);

struct dpk_tx_signed {
	struct dpk_tx tx;  /* tx.data points into the raw input */
	uint8_t sig[65];   /* r || s || recid */
	uint8_t from[20];  /* recovered sender */
	uint8_t hash[32];  /* transaction hash */
};

/* Decode a signed raw transaction (legacy EIP-155 or type 2), check its
 * canonical form and recover the sender. DPK_ERR_UNSUPPORTED for other
 * types or pre-EIP-155 legacy signatures; the usual decoder errors otherwise. */
int dpk_tx_decode(const uint8_t *raw, size_t len, struct dpk_tx_signed *out);

/* Additions. */

/* Largest raw transaction dpk_tx_decode() accepts (DPK_ERR_TOOBIG above) and
 * dpk_tx_sign() produces: geth's and reth's transaction-pool limit. */
#define DPK_TX_MAX_RAW (128 * 1024)

/* The EIP-155 / EIP-1559 signing payload of tx (what dpk_tx_signing_hash
 * hashes; 0x02-prefixed for type 2), appended to out. */
int dpk_tx_encode_unsigned(const struct dpk_tx *tx, struct dpk_buf *out);
/* The signed raw transaction for tx and sig (r || s || recid 0/1), appended
 * to out: what dpk_tx_sign produces, for a signature made elsewhere or one
 * that dpk_tx_decode returned. DPK_ERR_INVALID for a recid above 1. Both
 * leave out as it was on error. */
int dpk_tx_encode_signed(const struct dpk_tx *tx, const uint8_t sig[65], struct dpk_buf *out);

/* Errors, in more detail than above.
 * dpk_tx_signing_hash, dpk_tx_encode_*: DPK_ERR_INVALID for a type other than
 *   the two above, data_len > 0 with data NULL; DPK_ERR_RANGE if a legacy
 *   chain_id is too large for v (signed form only); DPK_ERR_TOOBIG if the
 *   result does not fit (DPK_TX_MAX_RAW for the hash, out's cap otherwise).
 * dpk_tx_sign: as dpk_tx_signing_hash, plus DPK_ERR_INVALID for chain_id 0 or
 *   (type 2) max_priority_fee > max_fee, which no node accepts; the wallet's
 *   errors. On error raw is left as it was.
 * dpk_tx_decode: DPK_ERR_TRUNCATED (empty input, a short item, too few
 *   fields), DPK_ERR_TRAILING (bytes after the transaction, too many fields),
 *   DPK_ERR_NONCANONICAL (RLP not in canonical form, integers with leading
 *   zeros), DPK_ERR_TYPE (not a list, a list where a string belongs),
 *   DPK_ERR_INVALID (a "to" that is neither empty nor 20 bytes), DPK_ERR_RANGE
 *   (nonce, gas or chain id wider than 64 bits, a fee or value wider than 256),
 *   DPK_ERR_UNSUPPORTED (type byte other than 0x02, legacy v of 27/28, a
 *   non-empty access list), DPK_ERR_BADSIG (v or y-parity out of range, r or s
 *   zero or >= the group order, s above half the order, no recoverable key),
 *   DPK_ERR_TOOBIG (more than DPK_TX_MAX_RAW bytes). out is written only on
 *   success; out->tx.data then points into raw, which must outlive it. */

#endif
