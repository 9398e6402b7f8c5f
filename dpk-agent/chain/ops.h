/* What an operator asks of the chain job (dpkctl status, dpkctl cache
 * flush): the last event poll's view of the chain (reachable, head, the
 * wallet's balance), the cache's figures, and the flush of the cache. The
 * event loop's thread only. */
#ifndef DPK_AGENT_CHAIN_OPS_H
#define DPK_AGENT_CHAIN_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "chain/opsview.h"

struct agent;
struct conn;
struct job;
struct dpk_wire_w;

/* A poll job is about to be queued: ask it for the wallet's balance too
 * when the last reading is older than AGENT_OPS_BALANCE_MS. */
#define AGENT_OPS_BALANCE_MS 30000
void agent_ops_poll_prepare(struct agent *a, struct job *j);
/* A poll job ended: note what it saw. */
void agent_ops_poll_done(struct agent *a, const struct job *j);
/* STATUS's operations block (doc/protocol.md): one string whose body is
 * written here. Everything in it is public on chain or a harmless count,
 * so every caller c sees the same. */
void agent_ops_status_put(struct agent *a, const struct conn *c, struct dpk_wire_w *w);
/* CACHE_FLUSH (root): drop every cached record and "not registered" answer
 * and what was derived from them (the NSS cache file's entries). */
void agent_cache_flush_request(struct agent *a, struct conn *c, const uint8_t *body, size_t len);

#endif
