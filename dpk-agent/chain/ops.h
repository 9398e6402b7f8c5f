/* What an operator asks of the chain job (dpkctl status, dpkctl cache
 * flush): the last event poll's view of the chain (reachable, head, the
 * wallet's balance), the cache's figures, and the flush of the cache. The
 * event loop's thread only. */
#ifndef DPK_AGENT_CHAIN_OPS_H
#define DPK_AGENT_CHAIN_OPS_H

#include <stddef.h>
#include <stdint.h>

struct agent;
struct conn;
struct job;
struct dpk_wire_w;

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

/* A poll job is about to be queued: ask it for the wallet's balance too
 * when the last reading is older than AGENT_OPS_BALANCE_MS. */
#define AGENT_OPS_BALANCE_MS 30000
void agent_ops_poll_prepare(struct agent *a, struct job *j);
/* A poll job ended: note what it saw. */
void agent_ops_poll_done(struct agent *a, const struct job *j);
/* STATUS's operations block (doc/protocol.md): one string whose body is
 * written here; c decides what an unprivileged caller sees. */
void agent_ops_status_put(struct agent *a, const struct conn *c, struct dpk_wire_w *w);
/* CACHE_FLUSH (root): drop every cached record and "not registered" answer
 * and what was derived from them (the NSS cache file's entries). */
void agent_cache_flush_request(struct agent *a, struct conn *c, const uint8_t *body, size_t len);

#endif
