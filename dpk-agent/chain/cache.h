/* The lookup cache: identity hash -> what the chain said (a record, or "not
 * registered") and when. Only the event-loop thread touches it. */
#ifndef DPK_AGENT_CACHE_H
#define DPK_AGENT_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "registry/registry.h"

struct cache_entry {
	uint8_t id_hash[32];
	int found;                     /* 0: the chain said NotFound */
	struct dpk_registry_record rec; /* when found (rec.pubkey owned) */
	int64_t fetched_ms;            /* monotonic time of the chain read */
	int64_t failed_ms;             /* when a read to refresh it last failed (0: none since) */
	int shadow_logged;             /* login/admit.c said why it is no user */
	int proven;                    /* the answer was proven (verify_reads) at this block: */
	uint64_t block_number;
	uint8_t block_hash[32];
	uint64_t block_time;           /* that block's timestamp (unix seconds), for max_proof_age */
	struct cache_entry *next;
};

struct cache {
	struct cache_entry *buckets[1024];
	size_t count, max;
	/* for dpkctl status: LOOKUP requests answered from the cache, and
	 * records read from the chain (for any request); a flush keeps them */
	uint64_t hits, misses;
};

void cache_init(struct cache *c, size_t max);
void cache_clear(struct cache *c);
struct cache_entry *cache_get(struct cache *c, const uint8_t id_hash[32]);
/* Store a copy of rec (or a miss when rec is NULL), replacing any entry. When
 * full, the oldest entries go first. */
int cache_put(struct cache *c, const uint8_t id_hash[32], const struct dpk_registry_record *rec, int64_t now_ms);
void cache_drop(struct cache *c, const uint8_t id_hash[32]);
/* Drop every answer proven at a block above number (a reorg replaced it);
 * fn (may be NULL) is told each identity dropped. The number dropped. */
size_t cache_drop_proven_above(struct cache *c, uint64_t number, void (*fn)(void *, const uint8_t *), void *ctx);

#endif
