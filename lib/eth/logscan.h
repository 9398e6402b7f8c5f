/* eth_getLogs over a long span of blocks in requests a provider accepts:
 * at most *range blocks each; a request the node refuses (providers cap
 * the range or the number of results) is made again with half the range,
 * down to one block, and the smaller range is kept for the next requests. */
#ifndef DPK_LOGSCAN_H
#define DPK_LOGSCAN_H

#include <stddef.h>
#include <stdint.h>

#include "eth/rpc.h"

/* Called once per request that succeeded, in block order, with the blocks
 * it covered. Return 0 to go on; anything else stops the scan and is
 * returned. logs are freed after the call. */
typedef int (*dpk_logscan_fn)(void *ctx, const struct dpk_rpc_log *logs, size_t n, uint64_t from, uint64_t to);

/* Scan f (its from_block and to_block: numbers, from <= to) with at most
 * max_requests requests (0: no limit). *range (1 or more) is read and
 * narrowed. *scanned_to is the last block handed to fn (from_block - 1 if
 * none). 0 when [from, to] is done; DPK_ERR_BUSY when max_requests ran out
 * first (go on from *scanned_to + 1 later); the node's error (with
 * dpk_rpc_last_error) when even one block is refused. */
int dpk_logscan(struct dpk_rpc *rpc, const struct dpk_rpc_filter *f, uint64_t *range, uint64_t max_requests,
    dpk_logscan_fn fn, void *ctx, uint64_t *scanned_to);

#endif
