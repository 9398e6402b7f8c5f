/* Ethereum transactions: legacy with EIP-155 replay protection and EIP-1559
 * (EIP-2718 type 2, empty access list), signed with a dpk_wallet; and a
 * bounded decoder for signed raw transactions that recovers the sender. */
#ifndef DPK_TX_H
#define DPK_TX_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "u256.h"
#include "wallet.h"

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

#endif
