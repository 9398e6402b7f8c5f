/* The event poll's memory of recent events (events.h). */
#include "chain/events.h"

#include <stdlib.h>
#include <string.h>

static struct chain_event *
at(struct chain_events *ev, size_t i)
{
	return &ev->v[(ev->head + i) % ev->cap];
}

/* Double the ring (in order from index 0), up to CHAIN_EVENTS_MAX; on no
 * memory it stays as it is. */
static void
grow(struct chain_events *ev)
{
	size_t cap = ev->cap ? 2 * ev->cap : 64;
	struct chain_event *v;

	if (cap > CHAIN_EVENTS_MAX)
		cap = CHAIN_EVENTS_MAX;
	if ((v = malloc(cap * sizeof(*v))) == NULL)
		return;
	for (size_t i = 0; i < ev->n; i++)
		v[i] = *at(ev, i);
	free(ev->v);
	ev->v = v;
	ev->cap = cap;
	ev->head = 0;
}

void
chain_events_add(struct chain_events *ev, uint64_t block, const uint8_t id_hash[32])
{
	struct chain_event *e;

	if (ev->n == ev->cap && ev->cap < CHAIN_EVENTS_MAX)
		grow(ev);
	if (ev->n == ev->cap) { /* full (or no memory): the oldest goes */
		if (ev->cap == 0) {
			ev->lost_to = block;
			return;
		}
		ev->lost_to = at(ev, 0)->block;
		ev->head = (ev->head + 1) % ev->cap;
		ev->n--;
	}
	e = at(ev, ev->n);
	e->block = block;
	memcpy(e->id_hash, id_hash, 32);
	ev->n++;
}

int
chain_events_drop_above(struct chain_events *ev, uint64_t fork, int (*fn)(void *ctx, const uint8_t id_hash[32]),
    void *ctx)
{
	size_t k = 0;
	int r = 0;

	for (size_t i = 0; i < ev->n; i++) {
		struct chain_event *e = at(ev, i);

		if (e->block <= fork)
			*at(ev, k++) = *e;
		else if (fn(ctx, e->id_hash) != 0)
			r = -1;
	}
	ev->n = k;
	return r;
}

void
chain_events_clear(struct chain_events *ev)
{
	ev->n = 0;
	ev->head = 0;
	ev->lost_to = 0;
}

void
chain_events_free(struct chain_events *ev)
{
	free(ev->v);
	memset(ev, 0, sizeof(*ev));
}
