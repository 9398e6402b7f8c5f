/* The identities the event poll saw events of, by block (chain/poll.c), so
 * that a reorg names the records its dropped blocks changed. A ring that
 * grows as events come (an idle agent holds none) up to CHAIN_EVENTS_MAX;
 * then the oldest make room, and lost_to says up to which block events were
 * forgotten (a reorg that deep drops the whole cache). Worker thread only. */
#ifndef DPK_AGENT_EVENTS_H
#define DPK_AGENT_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#define CHAIN_EVENTS_MAX 4096

struct chain_event {
	uint64_t block;
	uint8_t id_hash[32];
};

struct chain_events {
	struct chain_event *v; /* cap slots; n of them from head on, oldest first */
	size_t n, cap, head;
	uint64_t lost_to;      /* events up to this block were forgotten (0: none) */
};

/* Remember that block held an event of id_hash (blocks come in order). */
void chain_events_add(struct chain_events *ev, uint64_t block, const uint8_t id_hash[32]);
/* Forget the events above block fork, calling fn with each one's identity
 * (an identity may come more than once); fn's nonzero return is passed on
 * (the rest are still forgotten). */
int chain_events_drop_above(struct chain_events *ev, uint64_t fork, int (*fn)(void *ctx, const uint8_t id_hash[32]),
    void *ctx);
/* Forget everything (the memory is kept). */
void chain_events_clear(struct chain_events *ev);
void chain_events_free(struct chain_events *ev);

#endif
