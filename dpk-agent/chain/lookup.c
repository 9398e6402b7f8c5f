/* LOOKUP: answer from the cache while it is fresh; otherwise ask the chain
 * worker and answer when it is done or the request's deadline passes,
 * whichever comes first. When the chain cannot be reached, a cached answer
 * past its TTL is served marked stale; a revoked key is never served. */
#include "chain/lookup.h"

#include "agent.h"
#include "base/err.h"
#include "chain/ops.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "registry/identity.h"
#include "proto.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* LOOKUP reply: u8 status (0 not registered, 1 active, 2 revoked), u8 kind,
 * string identity, u8 algorithm, string public key (only when active),
 * string controller (20 bytes, empty when not registered), u32 version,
 * u64 valid_from, u64 valid_until, u8 stale, u32 age in ms, u8 proven,
 * u64 block number and string block hash (32 bytes; empty unless proven). */
static void
reply_lookup(struct agent *a, struct conn *c, const struct dpk_identity *id, const struct cache_entry *e,
    int stale, int64_t now)
{
	char text[DPK_IDENTITY_FORMAT_SIZE];
	struct dpk_wire_w w;
	int64_t age = now - e->fetched_ms;
	int active = e->found && e->rec.status == DPK_REGISTRY_ACTIVE;

	dpk_identity_format(id, text, sizeof(text));
	if (!agent_cache_proof_age_ok(a, e)) {
		/* only when no newer proof could be read (a fresh read replaces e) */
		agent_reply_failure(c, DPK_ERR_TIMEOUT, "refused: the last answer for %s was proven at block %llu, "
		    "made %lld s ago, longer ago than max_proof_age (%u s), and no newer block could be read", text,
		    (unsigned long long)e->block_number, (long long)(agent_cache_proof_age_ms(e) / 1000),
		    a->cfg.max_proof_age_ms / 1000);
		return;
	}
	agent_reply_begin(c, &w);
	dpk_wire_put_u8(&w, e->found ? (uint8_t)e->rec.status : 0);
	dpk_wire_put_u8(&w, id->kind);
	dpk_wire_put_string(&w, text, strlen(text));
	dpk_wire_put_u8(&w, e->found ? e->rec.alg : 0);
	dpk_wire_put_string(&w, active ? e->rec.pubkey : NULL, active ? e->rec.publen : 0);
	dpk_wire_put_string(&w, e->found ? e->rec.controller : NULL, e->found ? 20 : 0);
	dpk_wire_put_u32(&w, e->found ? e->rec.version : 0);
	dpk_wire_put_u64(&w, e->found ? e->rec.valid_from : 0);
	dpk_wire_put_u64(&w, e->found ? e->rec.valid_until : 0);
	dpk_wire_put_u8(&w, (uint8_t)stale);
	dpk_wire_put_u32(&w, age < 0 ? 0 : age > UINT32_MAX ? UINT32_MAX : (uint32_t)age);
	dpk_wire_put_u8(&w, (uint8_t)e->proven);
	dpk_wire_put_u64(&w, e->proven ? e->block_number : 0);
	dpk_wire_put_string(&w, e->proven ? e->block_hash : NULL, e->proven ? 32 : 0);
	agent_reply_end(c, DPK_MSG_LOOKUP, &w);
}

int
agent_cache_fresh(const struct agent *a, const struct cache_entry *e, int64_t now)
{
	uint32_t ttl = e->found ? a->cfg.cache_ttl_ms : a->cfg.negative_cache_ttl_ms;

	return now - e->fetched_ms < (int64_t)ttl && agent_cache_proof_age_ok(a, e);
}

int64_t
agent_cache_proof_age_ms(const struct cache_entry *e)
{
	return e->proven ? ((int64_t)time(NULL) - (int64_t)e->block_time) * 1000 : -1;
}

int
agent_cache_proof_age_ok(const struct agent *a, const struct cache_entry *e)
{
	return a->cfg.max_proof_age_ms == 0 || !e->proven ||
	    agent_cache_proof_age_ms(e) <= (int64_t)a->cfg.max_proof_age_ms;
}

int
agent_cache_settled(const struct agent *a, const struct cache_entry *e, int64_t now)
{
	int hit = agent_cache_fresh(a, e, now) || (e->failed_ms != 0 && now - e->failed_ms < AGENT_CHAIN_RETRY_MS);

	if (hit) /* every caller answers from the entry then; a miss is counted in agent_lookup_wait */
		agent_metrics_cache(1);
	return hit;
}

/* The identity a waiting connection asked for is kept in its input buffer
 * (not cleared while it waits): parse it again to answer. */
static int
waiting_identity(const struct conn *c, struct dpk_identity *id)
{
	struct dpk_wire_r rd;
	const uint8_t *p;
	size_t n;

	dpk_wire_r_init(&rd, c->in + 5, c->inlen - 5);
	p = dpk_wire_get_string(&rd, &n);
	return p != NULL && dpk_identity_parse((const char *)p, n, id) == 0 ? 0 : -1;
}

static void
finish_waiting(struct agent *a, struct conn *c)
{
	c->waiting = 0;
	explicit_bzero(c->in, c->inlen);
	c->inlen = 0;
}

/* A waiting LOOKUP's chain read ended: answer from the cache (stale when the
 * read failed), else with the failure. */
static void
lookup_chain_done(struct agent *a, struct conn *c, int failed, int code, const char *why)
{
	struct dpk_identity id;
	struct cache_entry *e;

	if (waiting_identity(c, &id) != 0) {
		finish_waiting(a, c);
		agent_reply_failure(c, DPK_ERR_SYNTAX, "malformed LOOKUP request");
		return;
	}
	e = cache_get(&a->cache, c->wait_hash);
	finish_waiting(a, c);
	if (e != NULL)
		reply_lookup(a, c, &id, e, failed, agent_now_ms());
	else
		agent_reply_failure(c, code, "%s", why);
}

void
agent_lookup_request(struct agent *a, struct conn *c, const uint8_t *body, size_t len)
{
	struct dpk_identity id;
	struct dpk_wire_r rd;
	struct cache_entry *e;
	const uint8_t *p;
	uint8_t h[32];
	size_t n;
	int64_t now = agent_now_ms();
	int r;

	dpk_wire_r_init(&rd, body, len);
	p = dpk_wire_get_string(&rd, &n);
	if (p == NULL || dpk_wire_r_done(&rd) != 0) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "malformed LOOKUP request (expected one identity string)");
		return;
	}
	if ((r = dpk_identity_parse((const char *)p, n, &id)) != 0 || dpk_identity_hash(&id, h) != 0) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "'%.*s' is not a DPK identity (a domain name, an IPv4 or IPv6 address, or a UUID)",
		    (int)(n > 128 ? 128 : n), (const char *)p);
		return;
	}
	if ((e = cache_get(&a->cache, h)) != NULL && agent_cache_settled(a, e, now)) {
		a->cache.hits++;
		reply_lookup(a, c, &id, e, !agent_cache_fresh(a, e, now), now);
		return;
	}
	agent_lookup_wait(a, c, h, a->cfg.request_timeout_ms, lookup_chain_done);
}

/* The chain reads queued or under way (a->reads): one per identity. */
static struct agent_chain_read *
read_find(struct agent *a, const uint8_t h[32])
{
	for (size_t i = 0; i < a->n_reads; i++)
		if (memcmp(a->reads[i].hash, h, 32) == 0)
			return &a->reads[i];
	return NULL;
}

static void
read_end(struct agent *a, const uint8_t h[32])
{
	struct agent_chain_read *r = read_find(a, h);

	if (r != NULL)
		*r = a->reads[--a->n_reads];
}

/* Whether uid may start one more read: 0, or DPK_ERR_BUSY with why. Root and
 * admin_group may use all max_chain_reads; everyone else (each uid, the
 * remote peers together, background prefetches together) at most
 * max_chain_reads_per_uid, and together three quarters of max_chain_reads,
 * so that a flood of lookups leaves room for logins. */
static int
read_admit(const struct agent *a, uid_t uid, int privileged, char *why, size_t whysz)
{
	uint32_t max = a->cfg.max_chain_reads, others = max - max / 4;
	size_t mine = 0, unpriv = 0;

	if (max > DPK_CONFIG_MAX_CHAIN_READS)
		max = DPK_CONFIG_MAX_CHAIN_READS;
	if (a->n_reads >= max) {
		snprintf(why, whysz, "the agent has %zu chain reads under way (max_chain_reads); try again later",
		    a->n_reads);
		return DPK_ERR_BUSY;
	}
	if (privileged)
		return 0;
	for (size_t i = 0; i < a->n_reads; i++) {
		if (a->reads[i].privileged)
			continue;
		unpriv++;
		if (a->reads[i].uid == uid)
			mine++;
	}
	if (mine >= a->cfg.max_chain_reads_per_uid) {
		snprintf(why, whysz, "%s already %zu chain reads under way (max_chain_reads_per_uid); try again later",
		    uid == AGENT_READ_UID_PEERS ? "remote peers have" : uid == AGENT_READ_UID_PREFETCH ?
		    "prefetches have" : "this uid has", mine);
		return DPK_ERR_BUSY;
	}
	if (unpriv >= (others ? others : 1)) {
		snprintf(why, whysz, "the agent has %zu chain reads under way for unprivileged callers (the rest of "
		    "max_chain_reads is kept for root); try again later", unpriv);
		return DPK_ERR_BUSY;
	}
	return 0;
}

/* Start a chain read of h for uid, or join the one under way (which a
 * privileged asker moves ahead of the others' reads). 0, DPK_ERR_BUSY or
 * DPK_ERR_NOMEM (a sentence in why). */
static int
read_start(struct agent *a, const uint8_t h[32], uid_t uid, int privileged, char *why, size_t whysz)
{
	struct agent_chain_read *rd = read_find(a, h);
	struct job *j;
	int r;

	if (rd != NULL) {
		if (privileged && !rd->privileged) {
			rd->privileged = 1; /* no longer counts against the first asker's quota */
			chain_raise(&a->chain, h, JOB_PRIO_PRIVILEGED);
		}
		return 0;
	}
	if ((r = read_admit(a, uid, privileged, why, whysz)) != 0)
		return r;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		snprintf(why, whysz, "out of memory");
		return DPK_ERR_NOMEM;
	}
	j->kind = JOB_LOOKUP;
	j->prio = privileged ? JOB_PRIO_PRIVILEGED : JOB_PRIO_OTHER;
	a->cache.misses++;
	memcpy(j->id_hash, h, 32);
	rd = &a->reads[a->n_reads++];
	memcpy(rd->hash, h, 32);
	rd->uid = uid;
	rd->privileged = privileged;
	chain_submit(&a->chain, j);
	return 0;
}

void
agent_lookup_prefetch(struct agent *a, const struct conn *c, const uint8_t h[32])
{
	char why[200];

	/* busy or out of memory: the entry stays unknown until asked for again */
	(void)read_start(a, h, c->privileged ? c->uid : AGENT_READ_UID_PREFETCH, c->privileged, why, sizeof(why));
}

void
agent_lookup_wait(struct agent *a, struct conn *c, const uint8_t h[32], uint32_t timeout_ms,
    agent_chain_waiter_fn done)
{
	char why[200];
	int r;

	agent_metrics_cache(0);
	if ((r = read_start(a, h, c->uid, c->privileged, why, sizeof(why))) != 0) {
		agent_reply_failure(c, r, "%s", why);
		return;
	}
	c->waiting = 1;
	memcpy(c->wait_hash, h, 32);
	c->on_chain = done;
	c->deadline_ms = agent_now_ms() + timeout_ms;
}

/* Hand the end of the chain read of h to every connection waiting for it. */
static void
answer_waiting(struct agent *a, const uint8_t h[32], int failed, const char *why, int code)
{
	for (size_t i = 0; i < AGENT_MAX_CONNECTIONS; i++) {
		struct conn *c = a->conns[i];
		agent_chain_waiter_fn done;

		if (c == NULL || !c->waiting || c->on_chain == NULL || memcmp(c->wait_hash, h, 32) != 0)
			continue;
		done = c->on_chain;
		c->on_chain = NULL;
		done(a, c, failed, code, why);
	}
}

static void
record_changed(struct agent *a, const uint8_t *hash)
{
	if (a->on_record_changed != NULL)
		a->on_record_changed(a, hash);
}

static void
record_changed_cb(void *ctx, const uint8_t *hash)
{
	record_changed(ctx, hash);
}

void
agent_chain_done(struct agent *a)
{
	struct job *list = chain_take_done(&a->chain), *j, *next;
	int64_t now = agent_now_ms();

	for (j = list; j != NULL; j = next) {
		next = j->next;
		if (j->kind == JOB_LOOKUP) {
			read_end(a, j->id_hash); /* a waiter answered below may start a new one */
			if (j->result == 0)
				cache_put(&a->cache, j->id_hash, &j->rec, now);
			else if (j->result == DPK_ERR_NOTFOUND)
				cache_put(&a->cache, j->id_hash, NULL, now);
			if ((j->result == 0 || j->result == DPK_ERR_NOTFOUND) && j->proven) {
				struct cache_entry *e = cache_get(&a->cache, j->id_hash);

				if (e != NULL) {
					e->proven = 1;
					e->block_number = j->block_number;
					memcpy(e->block_hash, j->block_hash, 32);
					e->block_time = j->block_time;
				}
			}
			if (j->result != 0 && j->result != DPK_ERR_NOTFOUND && cache_get(&a->cache, j->id_hash) != NULL)
				cache_get(&a->cache, j->id_hash)->failed_ms = now;
			if (j->result == DPK_ERR_NOTFOUND || (j->result == 0 && j->rec.status != DPK_REGISTRY_ACTIVE))
				record_changed(a, j->id_hash);
			answer_waiting(a, j->id_hash, j->result != 0 && j->result != DPK_ERR_NOTFOUND,
			    j->error, j->result == DPK_ERR_TIMEOUT ? DPK_ERR_TIMEOUT : DPK_ERR_NET);
		} else {
			a->poll_in_flight = 0;
			agent_ops_poll_done(a, j);
			if (a->next_poll_ms < now) /* a poll slower than poll_interval: the next one waits its turn */
				a->next_poll_ms = now + a->cfg.poll_interval_ms;
			if (j->flush_all) {
				cache_clear(&a->cache);
				record_changed(a, NULL);
			}
			for (size_t i = 0; i < j->n_changed; i++) {
				cache_drop(&a->cache, j->changed[i]);
				record_changed(a, j->changed[i]);
			}
			/* a reorg: answers proven on the dropped blocks are read again */
			if (j->reorg)
				cache_drop_proven_above(&a->cache, j->reorg_fork, record_changed_cb, a);
		}
		job_free(j);
	}
}

int64_t
agent_lookup_timers(struct agent *a, int64_t now)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; i < AGENT_MAX_CONNECTIONS; i++) {
		struct conn *c = a->conns[i];

		if (c == NULL || !c->waiting || c->on_chain == NULL)
			continue;
		if (now >= c->deadline_ms) {
			agent_chain_waiter_fn done = c->on_chain;
			char why[160];

			/* this waiter only: the read goes on for the others, each with its own deadline */
			snprintf(why, sizeof(why), "the chain did not answer within the request's deadline and nothing is "
			    "cached for this identity");
			c->on_chain = NULL;
			done(a, c, 1, DPK_ERR_TIMEOUT, why);
		} else if (c->deadline_ms < next) {
			next = c->deadline_ms;
		}
	}
	if (!a->poll_in_flight && now >= a->next_poll_ms) {
		struct job *j = calloc(1, sizeof(*j));

		if (j != NULL) {
			j->kind = JOB_POLL;
			j->prio = JOB_PRIO_POLL; /* revocations never wait behind lookups */
			agent_ops_poll_prepare(a, j);
			chain_submit(&a->chain, j);
			a->poll_in_flight = 1;
		}
		a->next_poll_ms = now + a->cfg.poll_interval_ms;
	}
	/* a poll under way wakes the loop when it ends (the eventfd): no turn before */
	if (!a->poll_in_flight && a->next_poll_ms < next)
		next = a->next_poll_ms;
	return next;
}

void
agent_keywait_start(struct agent *a, struct agent_keywait *w, const struct dpk_identity *id, int64_t deadline_ms)
{
	int64_t now = agent_now_ms();
	struct cache_entry *e;

	dpk_identity_hash(id, w->hash);
	w->deadline_ms = deadline_ms;
	w->busy = 0;
	e = cache_get(&a->cache, w->hash);
	if (e != NULL && agent_cache_fresh(a, e, now)) {
		w->asked_ms = 0; /* fresh: the event poll drops entries whose key changes */
		return;
	}
	char why[200];

	w->asked_ms = now;
	/* busy: the wait is refused at its next poll; out of memory: it ends at its deadline */
	w->busy = read_start(a, w->hash, AGENT_READ_UID_PEERS, 0, why, sizeof(why)) == DPK_ERR_BUSY;
}

int
agent_keywait_poll(struct agent *a, struct agent_keywait *w, int64_t now, const struct dpk_registry_record **rec,
    char *why, size_t whysz)
{
	struct cache_entry *e = cache_get(&a->cache, w->hash);

	if (e != NULL && e->fetched_ms >= w->asked_ms) {
		if (!e->found) {
			snprintf(why, whysz, "not registered on chain");
			return DPK_ERR_NOTFOUND;
		}
		if (e->rec.status != DPK_REGISTRY_ACTIVE) {
			snprintf(why, whysz, "its key is revoked on chain");
			return DPK_ERR_REVOKED;
		}
		*rec = &e->rec;
		return 1;
	}
	if (w->busy) {
		snprintf(why, whysz, "the agent has too many chain reads under way for remote peers; try again later");
		return DPK_ERR_BUSY;
	}
	if (now >= w->deadline_ms) {
		snprintf(why, whysz, "the chain did not answer in time");
		return DPK_ERR_TIMEOUT;
	}
	return 0;
}

