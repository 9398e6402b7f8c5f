#include "eth/logscan.h"

#include "base/err.h"

int
dpk_logscan(struct dpk_rpc *rpc, const struct dpk_rpc_filter *f, uint64_t *range, uint64_t max_requests,
    dpk_logscan_fn fn, void *ctx, uint64_t *scanned_to)
{
	struct dpk_rpc_filter chunk = *f;
	uint64_t from = f->from_block, requests = 0;
	int r;

	if (f->from_block > f->to_block || f->to_block >= DPK_RPC_SETTLED || *range == 0)
		return DPK_ERR_INVALID;
	*scanned_to = from - 1;
	while (from <= f->to_block) {
		struct dpk_rpc_log *logs = NULL;
		size_t n = 0;

		if (max_requests != 0 && requests++ == max_requests)
			return DPK_ERR_BUSY;
		chunk.from_block = from;
		chunk.to_block = f->to_block - from < *range ? f->to_block : from + *range - 1;
		r = dpk_rpc_get_logs(rpc, &chunk, &logs, &n);
		/* a refusal (JSON-RPC error) or an answer over the response cap:
		 * both are what a provider does with too many blocks or logs */
		if ((r == DPK_ERR_RPC || r == DPK_ERR_TOOBIG) && *range > 1) {
			*range /= 2;
			continue;
		}
		if (r != 0)
			return r;
		r = fn(ctx, logs, n, chunk.from_block, chunk.to_block);
		dpk_rpc_logs_free(logs, n);
		if (r != 0)
			return r;
		*scanned_to = chunk.to_block;
		from = chunk.to_block + 1;
	}
	return 0;
}
