#include "eth/txsend.h"

#include "base/err.h"
#include "base/hex.h"
#include "eth/tx.h"

#include <stdio.h>
#include <string.h>

int
dpk_txsend_prepare(struct dpk_rpc *rpc, const struct dpk_wallet *w, uint64_t chain_id,
    const struct dpk_txsend *req, struct dpk_buf *raw, uint8_t hash[32], uint64_t *nonce_used)
{
	struct dpk_rpc_fees fees;
	struct dpk_tx tx;
	int r;

	memset(&tx, 0, sizeof(tx));
	tx.type = DPK_TX_EIP1559;
	tx.chain_id = chain_id;
	tx.value = req->value;
	tx.data = req->data;
	tx.data_len = req->data_len;
	if (req->to != NULL) {
		tx.has_to = 1;
		memcpy(tx.to, req->to, 20);
	}
	if (req->has_nonce)
		tx.nonce = req->nonce;
	else if ((r = dpk_rpc_nonce(rpc, w->addr, DPK_RPC_PENDING, &tx.nonce)) != 0)
		return r;
	if (req->fees != NULL) {
		dpk_u256_from_u64(&tx.max_priority_fee, req->fees->tip);
		dpk_u256_from_u64(&tx.max_fee, req->fees->max_fee);
	} else if ((r = dpk_rpc_fee_data(rpc, &fees)) != 0) {
		return r;
	} else {
		tx.max_priority_fee = fees.priority_fee;
		tx.max_fee = fees.max_fee;
	}
	tx.gas_limit = req->gas_limit;
	if (tx.gas_limit == 0) {
		struct dpk_rpc_callmsg msg = {.from = w->addr, .to = req->to, .value = &req->value,
			.data = req->data, .data_len = req->data_len};

		if ((r = dpk_rpc_estimate_gas(rpc, &msg, &tx.gas_limit)) != 0)
			return r;
		tx.gas_limit += tx.gas_limit / 4;
	}
	if ((r = dpk_tx_sign(&tx, w, raw, hash)) != 0)
		return r;
	*nonce_used = tx.nonce;
	return 0;
}

/* Does the node know this transaction (pending or mined)? */
static int
node_knows(struct dpk_rpc *rpc, const uint8_t hash[32])
{
	char hex[67];
	cJSON *params, *result = NULL;
	int known;

	dpk_hex_encode(hash, 32, 1, hex, sizeof(hex));
	if ((params = cJSON_CreateArray()) == NULL)
		return 0;
	cJSON_AddItemToArray(params, cJSON_CreateString(hex));
	known = dpk_rpc_request(rpc, "eth_getTransactionByHash", params, &result) == 0 &&
	    result != NULL && cJSON_IsObject(result);
	cJSON_Delete(params);
	cJSON_Delete(result);
	return known;
}

/* A transaction whose nonce its sender has used already can never be mined
 * on a correct chain, and must not be: ganache 7 mines it anyway (a second
 * transaction with the same sender and nonce, ganache issue 3794). So it is
 * refused here on every node, unless it is this very transaction, mined
 * (the same bytes sent again after a crash). 0 to go on, or DPK_ERR_RPC. */
static int
nonce_unused(struct dpk_rpc *rpc, const uint8_t *raw, size_t len, const uint8_t hash[32])
{
	struct dpk_tx_signed t;
	uint64_t used;
	char why[128];

	if (dpk_tx_decode(raw, len, &t) != 0 || dpk_rpc_nonce(rpc, t.from, DPK_RPC_LATEST, &used) != 0 ||
	    t.tx.nonce >= used || node_knows(rpc, hash))
		return 0; /* the node's own checks decide */
	snprintf(why, sizeof(why), "nonce too low: the sender's nonce %llu is used (next: %llu)",
	    (unsigned long long)t.tx.nonce, (unsigned long long)used);
	dpk_rpc_refuse(rpc, "eth_sendRawTransaction", why);
	return DPK_ERR_RPC;
}

int
dpk_txsend_submit(struct dpk_rpc *rpc, const uint8_t *raw, size_t len, const uint8_t hash[32],
    uint64_t timeout_ms, dpk_rpc_progress_fn progress, void *ctx, struct dpk_rpc_receipt *rcpt)
{
	uint8_t got[32];
	int r;

	if ((r = nonce_unused(rpc, raw, len, hash)) != 0)
		return r;
	r = dpk_rpc_send_raw(rpc, raw, len, got);

	if (r == 0 && memcmp(got, hash, 32) != 0)
		return DPK_ERR_RPC; /* the node hashed our bytes differently: never trust that */
	if (r == DPK_ERR_RPC && !node_knows(rpc, hash)) {
		/* a real refusal: ask once more so dpk_rpc_last_error() holds the
		 * node's reason again (node_knows() replaced it) */
		r = dpk_rpc_send_raw(rpc, raw, len, got);
		return r == 0 ? DPK_ERR_RPC : r;
	}
	if (r != 0 && r != DPK_ERR_RPC)
		return r;
	return dpk_rpc_wait_receipt(rpc, hash, timeout_ms, 0, progress, ctx, rcpt);
}

int
dpk_txsend_fees_of(const uint8_t *raw, size_t len, struct dpk_fee_offer *out)
{
	struct dpk_tx_signed st;
	int r;

	if ((r = dpk_tx_decode(raw, len, &st)) != 0)
		return r;
	if (st.tx.type != DPK_TX_EIP1559)
		return DPK_ERR_UNSUPPORTED;
	out->base_fee = 0;
	if (dpk_u256_to_u64(&st.tx.max_priority_fee, &out->tip) != 0 ||
	    dpk_u256_to_u64(&st.tx.max_fee, &out->max_fee) != 0)
		return DPK_ERR_RANGE;
	return 0;
}

int
dpk_txsend_replace(struct dpk_rpc *rpc, const struct dpk_wallet *w, const struct dpk_fee_policy *pol,
    const uint8_t *raw, size_t len, struct dpk_buf *out, uint8_t hash[32], struct dpk_fee_offer *offered,
    char *msg, size_t msgsz)
{
	struct dpk_tx_signed st;
	struct dpk_fee_offer prev, next;
	int r;

	if ((r = dpk_tx_decode(raw, len, &st)) != 0 || (r = dpk_txsend_fees_of(raw, len, &prev)) != 0) {
		snprintf(msg, msgsz, "the journalled transaction cannot be decoded: %s", dpk_strerror(r));
		return r;
	}
	if (memcmp(st.from, w->addr, 20) != 0) {
		snprintf(msg, msgsz, "the journalled transaction is not this wallet's");
		return DPK_ERR_INVALID;
	}
	if ((r = dpk_fees_bump(rpc, pol, &prev, &next, msg, msgsz)) != 0)
		return r;
	dpk_u256_from_u64(&st.tx.max_priority_fee, next.tip);
	dpk_u256_from_u64(&st.tx.max_fee, next.max_fee);
	if ((r = dpk_tx_sign(&st.tx, w, out, hash)) != 0) {
		snprintf(msg, msgsz, "cannot sign the replacement: %s", dpk_strerror(r));
		return r;
	}
	if (offered != NULL)
		*offered = next;
	return 0;
}

int
dpk_txsend(struct dpk_rpc *rpc, const struct dpk_wallet *w, uint64_t chain_id,
    const struct dpk_txsend *req, uint64_t timeout_ms, dpk_rpc_progress_fn progress, void *ctx,
    struct dpk_rpc_receipt *rcpt)
{
	struct dpk_buf raw;
	uint8_t hash[32];
	uint64_t nonce;
	int r;

	dpk_buf_init(&raw, DPK_TX_MAX_RAW);
	if ((r = dpk_txsend_prepare(rpc, w, chain_id, req, &raw, hash, &nonce)) == 0)
		r = dpk_txsend_submit(rpc, raw.data, raw.len, hash, timeout_ms, progress, ctx, rcpt);
	dpk_buf_free(&raw);
	return r;
}
