/* Sending our own transactions: prepare (nonce, EIP-1559 fees, gas estimate,
 * signature) separately from submitting, so that a caller can record the
 * signed bytes in a journal first; submitting the same bytes again is safe
 * (same hash: the node either knows it or has mined it). */
#ifndef DPK_TXSEND_H
#define DPK_TXSEND_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "eth/fees.h"
#include "eth/rpc.h"
#include "eth/u256.h"
#include "eth/wallet.h"

struct dpk_txsend {
	const uint8_t *to;        /* [20], or NULL to create a contract */
	struct dpk_u256 value;
	const uint8_t *data;      /* calldata or init code; not owned */
	size_t data_len;
	uint64_t gas_limit;       /* 0: eth_estimateGas + 25% */
	int has_nonce;            /* else the node's pending nonce */
	uint64_t nonce;
	const struct dpk_fee_offer *fees; /* NULL: the node's suggestion, uncapped */
};

/* Build and sign an EIP-1559 transaction from w on chain_id. The raw bytes
 * are appended to raw; hash and the nonce used are written. A revert found
 * while estimating gas is returned as DPK_ERR_REVERT (see dpk_rpc_revert_data). */
int dpk_txsend_prepare(struct dpk_rpc *rpc, const struct dpk_wallet *w, uint64_t chain_id,
    const struct dpk_txsend *req, struct dpk_buf *raw, uint8_t hash[32], uint64_t *nonce_used);

/* Send raw and wait up to timeout_ms for its receipt (progress may be NULL).
 * If the node refuses the bytes but already knows this transaction (sent
 * before a crash), waits for it all the same. The caller frees *rcpt with
 * dpk_rpc_receipt_free(). A mined but reverted transaction is 0 with
 * rcpt->status == 0: check it. */
int dpk_txsend_submit(struct dpk_rpc *rpc, const uint8_t *raw, size_t len, const uint8_t hash[32],
    uint64_t timeout_ms, dpk_rpc_progress_fn progress, void *ctx, struct dpk_rpc_receipt *rcpt);

/* The fees a signed EIP-1559 transaction offers (DPK_ERR_UNSUPPORTED for a
 * legacy one); base_fee is set to 0. */
int dpk_txsend_fees_of(const uint8_t *raw, size_t len, struct dpk_fee_offer *out);

/* Sign a replacement for the stuck transaction raw: the same nonce, recipient,
 * value, gas and data, with the fees of dpk_fees_bump() under pol. The new
 * bytes are appended to out and their hash written; msg says why not
 * (DPK_ERR_RANGE: the cap leaves no room; the old transaction waits). The
 * caller journals the new bytes before sending them and keeps the old hash:
 * either may be the one mined. */
int dpk_txsend_replace(struct dpk_rpc *rpc, const struct dpk_wallet *w, const struct dpk_fee_policy *pol,
    const uint8_t *raw, size_t len, struct dpk_buf *out, uint8_t hash[32], struct dpk_fee_offer *offered,
    char *msg, size_t msgsz);

/* Both, for callers that keep no journal. */
int dpk_txsend(struct dpk_rpc *rpc, const struct dpk_wallet *w, uint64_t chain_id,
    const struct dpk_txsend *req, uint64_t timeout_ms, dpk_rpc_progress_fn progress, void *ctx,
    struct dpk_rpc_receipt *rcpt);

#endif
