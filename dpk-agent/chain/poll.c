/* The event poll and reorg detection (chain worker thread).
 *
 * Each poll reads the registry's events from the block after the last one it
 * covered up to the settled block (latest minus confirmations, or the node's
 * safe/finalized block), in eth_getLogs requests of at most log_range blocks
 * (dpk_logscan halves the range when a provider refuses it). It remembers the
 * hash of the last block it covered, and the worker remembers the blocks it
 * proved records at (chain_seen_add). At the next poll, the newest remembered
 * height is asked again: another hash is a reorg. The worker then walks back to the newest remembered height whose hash did not change
 * (the fork point), hands back the identities whose events came from the
 * dropped blocks and the fork point (answers proven above it are dropped by
 * the event loop), and reads the events of the new blocks. A reorg deeper
 * than what it remembers drops the whole cache. */
#include "chain/chain.h"

#include "base/err.h"
#include "base/hex.h"
#include "common/log.h"
#include "eth/logscan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

/* eth_getLogs requests one poll may make; a longer gap (an agent that was
 * suspended for days) drops the cache instead of reading through it. */
#define POLL_MAX_REQUESTS 64

void
chain_seen_add(struct chain *ch, uint64_t number, const uint8_t hash[32])
{
	size_t i = ch->nseen;

	while (i > 0 && ch->seen[i - 1].number > number)
		i--;
	if (i > 0 && ch->seen[i - 1].number == number) {
		memcpy(ch->seen[i - 1].hash, hash, 32);
		return;
	}
	if (ch->nseen == CHAIN_SEEN_MAX) {
		if (i == 0)
			return; /* older than everything remembered */
		memmove(&ch->seen[0], &ch->seen[1], (CHAIN_SEEN_MAX - 1) * sizeof(ch->seen[0]));
		ch->nseen--;
		i--;
	}
	memmove(&ch->seen[i + 1], &ch->seen[i], (ch->nseen - i) * sizeof(ch->seen[0]));
	ch->seen[i].number = number;
	memcpy(ch->seen[i].hash, hash, 32);
	ch->nseen++;
}

/* The hash of block number as ch->rpc names it now: 0, DPK_ERR_NOTFOUND
 * when the chain has no such block (it got shorter), or a failure. */
static int
block_hash_at(struct chain *ch, uint64_t number, uint8_t hash[32])
{
	cJSON *params = cJSON_CreateArray(), *res = NULL;
	const cJSON *h;
	char tag[19];
	int r = DPK_ERR_NOMEM;

	dpk_hex_from_u64(number, tag);
	if (params == NULL || !cJSON_AddItemToArray(params, cJSON_CreateString(tag)) ||
	    !cJSON_AddItemToArray(params, cJSON_CreateFalse()))
		goto out;
	if ((r = dpk_rpc_request(ch->rpc, "eth_getBlockByNumber", params, &res)) != 0)
		goto out;
	if (cJSON_IsNull(res)) {
		r = DPK_ERR_NOTFOUND;
		goto out;
	}
	h = cJSON_IsObject(res) ? cJSON_GetObjectItemCaseSensitive(res, "hash") : NULL;
	if (!cJSON_IsString(h) || dpk_hex_decode_exact(h->valuestring, hash, 32) != 0)
		r = DPK_ERR_TYPE;
out:
	cJSON_Delete(res);
	cJSON_Delete(params);
	return r;
}

static int
add_changed(struct job *j, const uint8_t id_hash[32])
{
	uint8_t (*c)[32];

	for (size_t i = 0; i < j->n_changed; i++)
		if (memcmp(j->changed[i], id_hash, 32) == 0)
			return 0;
	if ((c = realloc(j->changed, (j->n_changed + 1) * 32)) == NULL)
		return DPK_ERR_NOMEM;
	j->changed = c;
	memcpy(j->changed[j->n_changed++], id_hash, 32);
	return 0;
}


struct scan_ctx {
	struct chain *ch;
	struct job *j;
};

static int
on_logs(void *ctx, const struct dpk_rpc_log *logs, size_t n, uint64_t from, uint64_t to)
{
	struct scan_ctx *s = ctx;

	(void)from;
	(void)to;
	for (size_t i = 0; i < n; i++) {
		struct dpk_registry_event ev;

		if (logs[i].removed || dpk_registry_decode_event(&logs[i], &ev) != 0)
			continue;
		if (ev.kind != DPK_REGISTRY_EV_CLIENT_APPROVED && ev.kind != DPK_REGISTRY_EV_KEY_ROTATED &&
		    ev.kind != DPK_REGISTRY_EV_CLIENT_REVOKED)
			continue;
		if (add_changed(s->j, ev.id_hash) != 0)
			s->j->flush_all = 1;
		chain_events_add(&s->ch->events, logs[i].block_number, ev.id_hash);
	}
	return 0;
}

/* Forget everything remembered: the cache is dropped and the poll starts
 * again at target. */
static void
start_over(struct chain *ch, struct job *j, uint64_t target, const uint8_t hash[32])
{
	j->flush_all = 1;
	ch->nseen = 0;
	chain_events_clear(&ch->events);
	ch->last_block = target;
	chain_seen_add(ch, target, hash);
}

/* Has a block the worker remembered been replaced? 0 (no), 1 (yes: *fork is
 * the newest remembered height still on the chain, or *deep when none is),
 * or a failure to ask. A remembered height the node does not have (it lags
 * behind another endpoint, or the chain got shorter) is no evidence either
 * way: the next older one is asked; a replaced block shows once the node
 * has a block at that height again. */
static int
find_reorg(struct chain *ch, uint64_t *fork, int *deep, uint64_t *at, uint8_t was[32], uint8_t now[32])
{
	uint8_t h[32];
	int r, changed = 0;

	*deep = 0;
	for (size_t i = ch->nseen; i-- > 0;) {
		r = block_hash_at(ch, ch->seen[i].number, h);
		if (r == DPK_ERR_NOTFOUND)
			continue;
		if (r != 0)
			return r;
		if (memcmp(h, ch->seen[i].hash, 32) == 0) {
			*fork = ch->seen[i].number;
			return changed;
		}
		if (!changed) {
			*at = ch->seen[i].number;
			memcpy(was, ch->seen[i].hash, 32);
			memcpy(now, h, 32);
			changed = 1;
		}
	}
	*deep = changed;
	return changed;
}

static int
changed_cb(void *ctx, const uint8_t id_hash[32])
{
	return add_changed(ctx, id_hash);
}

/* After a reorg whose fork point is fork: the identities whose events came
 * from the dropped blocks go into j->changed; what was remembered above the
 * fork is forgotten. */
static void
drop_above(struct chain *ch, struct job *j, uint64_t fork)
{
	if (chain_events_drop_above(&ch->events, fork, changed_cb, j) != 0)
		j->flush_all = 1;
	while (ch->nseen > 0 && ch->seen[ch->nseen - 1].number > fork)
		ch->nseen--;
	if (ch->last_block > fork)
		ch->last_block = fork;
}

void
chain_run_poll(struct chain *ch, struct job *j)
{
	struct dpk_rpc_filter f = {.address = ch->contract};
	struct scan_ctx sc = {.ch = ch, .j = j};
	uint8_t target_hash[32], was[32], now[32];
	uint64_t target, fork = 0, at = 0, scanned;
	int r, deep;

	if ((r = dpk_rpc_settled_block(ch->rpc, &target)) != 0 ||
	    (r = block_hash_at(ch, target, target_hash)) != 0) {
		chain_job_error(j, ch->rpc, r == DPK_ERR_NOTFOUND ? DPK_ERR_NET : r);
		return;
	}
	if (ch->last_block == 0) {
		/* first poll: nothing is cached yet, so no event before now matters */
		ch->last_block = target;
		chain_seen_add(ch, target, target_hash);
		return;
	}
	if ((r = find_reorg(ch, &fork, &deep, &at, was, now)) < 0) {
		chain_job_error(j, ch->rpc, r);
		return;
	}
	if (r == 1) {
		char w[67], n[67];

		dpk_hex_encode(was, 32, 1, w, sizeof(w));
		dpk_hex_encode(now, 32, 1, n, sizeof(n));
		ch->have_anchor = 0; /* the next lookup is proven on the new chain */
		if (deep || fork < ch->events.lost_to) {
			agent_log(LOG_WARNING, "reorg: block %llu was %.18s..., now %.18s...; deeper than the %zu blocks "
			    "remembered: dropping every cached record", (unsigned long long)at, w, n, ch->nseen);
			start_over(ch, j, target, target_hash);
			return;
		}
		j->reorg = 1;
		j->reorg_fork = fork;
		drop_above(ch, j, fork);
		agent_log(LOG_NOTICE, "reorg: block %llu was %.18s..., now %.18s...; blocks after %llu were replaced: "
		    "%zu record(s) learnt from them dropped, reading the events of blocks %llu to %llu again",
		    (unsigned long long)at, w, n,
		    (unsigned long long)fork, j->n_changed, (unsigned long long)fork + 1, (unsigned long long)target);
	}
	if (target <= ch->last_block) {
		if (target < ch->last_block) /* the settled block went back without a reorg we remembered */
			ch->last_block = target;
		chain_seen_add(ch, target, target_hash);
		return;
	}
	/* New blocks: the next lookup must not be proven at a header older than
	 * the events read here (a revocation would be read back as active). */
	ch->have_anchor = 0;
	f.from_block = ch->last_block + 1;
	if (f.from_block < ch->trust.deploy_block)
		f.from_block = ch->trust.deploy_block;
	f.to_block = target;
	if (f.from_block > f.to_block) {
		ch->last_block = target;
		chain_seen_add(ch, target, target_hash);
		return;
	}
	r = dpk_logscan(ch->rpc, &f, &ch->log_range_now, POLL_MAX_REQUESTS, on_logs, &sc, &scanned);
	if (r == DPK_ERR_BUSY) {
		agent_log(LOG_NOTICE, "event poll: %llu blocks to read (log_range %llu): dropping the cache instead",
		    (unsigned long long)(target - f.from_block + 1), (unsigned long long)ch->log_range_now);
		start_over(ch, j, target, target_hash);
		return;
	}
	if (r != 0) {
		/* what was read is handed back; the rest is read at the next poll */
		if (scanned >= f.from_block)
			ch->last_block = scanned;
		chain_job_error(j, ch->rpc, r);
		return;
	}
	ch->last_block = target;
	chain_seen_add(ch, target, target_hash);
	/* a refusal may have been the provider's passing limit: grow back */
	if (ch->log_range_now < ch->trust.log_range)
		ch->log_range_now = ch->log_range_now * 2 < ch->trust.log_range ? ch->log_range_now * 2 :
		    ch->trust.log_range;
}
