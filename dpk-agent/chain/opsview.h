/* What dpkctl status shows of the chain, as the last event poll saw it
 * (chain/ops.c writes it; a part of struct agent, types only). */
#ifndef DPK_AGENT_CHAIN_OPSVIEW_H
#define DPK_AGENT_CHAIN_OPSVIEW_H

#include <stdint.h>

struct agent_ops_view {
	int polled;            /* a poll has ended */
	int reachable;         /* the last poll read the chain */
	uint64_t head;         /* the head block the last good poll saw */
	int64_t head_ms;       /* when (monotonic) */
	char error[200];       /* why the last poll failed ("" when it did not) */
	int has_balance;
	uint8_t balance[32];   /* the wallet's balance in wei, big-endian */
	int64_t balance_ms;    /* when it was read (0: never) */
};

#endif
