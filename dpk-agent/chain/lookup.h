/* The chain job's lookups: LOOKUP requests, the lookup cache's freshness,
 * and chain reads that other jobs wait for. A finished read is handed to
 * whoever waits through the callback it registered: this code knows nothing
 * of who asked (NSS, login, PSK). */
#ifndef DPK_AGENT_LOOKUP_H
#define DPK_AGENT_LOOKUP_H

#include <stddef.h>
#include <stdint.h>

#include "chain/cache.h"
#include "common/conn.h"
#include "registry/identity.h"
#include "registry/registry.h"

struct agent;

/* Whom a chain read counts against when no local uid asked for it
 * (max_chain_reads_per_uid): the remote peers together, the prefetches of a
 * user listing together. */
#define AGENT_READ_UID_PEERS ((uid_t)-2)
#define AGENT_READ_UID_PREFETCH ((uid_t)-3)

/* LOOKUP: answer from the cache while it is fresh, else wait for the chain. */
void agent_lookup_request(struct agent *a, struct conn *c, const uint8_t *body, size_t len);
/* Whether e is within its TTL (cache_ttl, or negative_cache_ttl for "not registered"). */
int agent_cache_fresh(const struct agent *a, const struct cache_entry *e, int64_t now);
/* Since e's block was made (its timestamp vs the wall clock), in ms; -1
 * when e was not proven. */
int64_t agent_cache_proof_age_ms(const struct cache_entry *e);
/* Whether e was proven within max_proof_age (or is not subject to it). */
int agent_cache_proof_age_ok(const struct agent *a, const struct cache_entry *e);
/* Fresh, or a read to refresh it failed less than AGENT_CHAIN_RETRY_MS ago:
 * answer from it now (stale) rather than wait for the chain again. */
#define AGENT_CHAIN_RETRY_MS 1000
int agent_cache_settled(const struct agent *a, const struct cache_entry *e, int64_t now);
/* Make c wait (at most timeout_ms) for a chain read of identity hash h,
 * starting one unless one is under way; its request stays in c->in, and
 * done is called when the read ends or c's own deadline passes (the read
 * goes on for the other waiters). When c's uid has its share of chain reads
 * under way (max_chain_reads_per_uid, max_chain_reads), c is answered at
 * once with a BUSY failure instead and does not wait. */
void agent_lookup_wait(struct agent *a, struct conn *c, const uint8_t h[32], uint32_t timeout_ms,
    agent_chain_waiter_fn done);
/* Start a chain read of identity hash h that nobody waits for (its result
 * fills the cache), on behalf of c (root's count as its own; anyone else's
 * share one quota); skipped when that quota is used up. */
void agent_lookup_prefetch(struct agent *a, const struct conn *c, const uint8_t h[32]);
/* The chain worker's finished jobs (its eventfd is readable): fill the
 * cache, hand the results to the waiters, drop what the event poll says
 * changed (telling a->on_record_changed). */
void agent_chain_done(struct agent *a);
/* Waiters past their deadline, and the event poll when due. Returns when
 * the next of them is due (monotonic ms). */
int64_t agent_lookup_timers(struct agent *a, int64_t now);

/* A peer key being read without a connection waiting (the PSK job): from
 * the cache while fresh, else from the chain. */
struct agent_keywait {
	uint8_t hash[32];
	int64_t asked_ms;
	int64_t deadline_ms;
	int busy; /* the remote peers' share of chain reads was used up */
};
void agent_keywait_start(struct agent *a, struct agent_keywait *w, const struct dpk_identity *id, int64_t deadline_ms);
/* 1: *rec is the active record (valid until the loop runs again); 0: not
 * yet; < 0: refused (DPK_ERR_NOTFOUND, DPK_ERR_REVOKED, DPK_ERR_TIMEOUT,
 * DPK_ERR_BUSY)
 * with a sentence in why. */
int agent_keywait_poll(struct agent *a, struct agent_keywait *w, int64_t now,
    const struct dpk_registry_record **rec, char *why, size_t whysz);

#endif
