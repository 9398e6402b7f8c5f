/* LOOKUP: answer from the cache while it is fresh; otherwise ask the chain
 * worker and answer when it is done or the request's deadline passes,
 * whichever comes first. When the chain cannot be reached, a cached answer
 * past its TTL is served marked stale; a revoked key is never served. */
#include "chain/lookup.h"

#include "agent.h"
#include "base/err.h"
#include "common/clock.h"
#include "registry/identity.h"
#include "proto.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* LOOKUP reply: u8 status (0 not registered, 1 active, 2 revoked), u8 kind,
 * string identity, u8 algorithm, string public key (only when active),
 * string controller (20 bytes, empty when not registered), u32 version,
 * u64 valid_from, u64 valid_until, u8 stale, u32 age in ms. */
static void
reply_lookup(struct agent *a, struct conn *c, const struct dpk_identity *id, const struct cache_entry *e,
    int stale, int64_t now)
{
	char text[DPK_IDENTITY_FORMAT_SIZE];
	struct dpk_wire_w w;
	int64_t age = now - e->fetched_ms;
	int active = e->found && e->rec.status == DPK_REGISTRY_ACTIVE;

	dpk_identity_format(id, text, sizeof(text));
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
	agent_reply_end(c, DPK_MSG_LOOKUP, &w);
}

int
agent_cache_fresh(const struct agent *a, const struct cache_entry *e, int64_t now)
{
	uint32_t ttl = e->found ? a->cfg.cache_ttl_ms : a->cfg.negative_cache_ttl_ms;

	return now - e->fetched_ms < (int64_t)ttl;
}

int
agent_cache_settled(const struct agent *a, const struct cache_entry *e, int64_t now)
{
	return agent_cache_fresh(a, e, now) || (e->failed_ms != 0 && now - e->failed_ms < AGENT_CHAIN_RETRY_MS);
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
		reply_lookup(a, c, &id, e, !agent_cache_fresh(a, e, now), now);
		return;
	}
	agent_lookup_wait(a, c, h, a->cfg.request_timeout_ms, lookup_chain_done);
}

static int
submit_lookup(struct agent *a, const uint8_t h[32])
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return DPK_ERR_NOMEM;
	j->kind = JOB_LOOKUP;
	memcpy(j->id_hash, h, 32);
	chain_submit(&a->chain, j);
	return 0;
}

void
agent_lookup_prefetch(struct agent *a, const uint8_t h[32])
{
	(void)submit_lookup(a, h); /* out of memory: the entry stays unknown */
}

void
agent_lookup_wait(struct agent *a, struct conn *c, const uint8_t h[32], uint32_t timeout_ms,
    agent_chain_waiter_fn done)
{
	/* one chain read per identity, however many callers wait for it */
	int in_flight = 0;
	for (size_t i = 0; i < AGENT_MAX_CONNECTIONS; i++)
		if (a->conns[i] != NULL && a->conns[i]->waiting && a->conns[i]->on_chain != NULL &&
		    memcmp(a->conns[i]->wait_hash, h, 32) == 0)
			in_flight = 1;
	if (!in_flight && submit_lookup(a, h) != 0) {
		agent_reply_failure(c, DPK_ERR_NOMEM, "out of memory");
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

void
agent_chain_done(struct agent *a)
{
	struct job *list = chain_take_done(&a->chain), *j, *next;
	int64_t now = agent_now_ms();

	for (j = list; j != NULL; j = next) {
		next = j->next;
		if (j->kind == JOB_LOOKUP) {
			if (j->result == 0)
				cache_put(&a->cache, j->id_hash, &j->rec, now);
			else if (j->result == DPK_ERR_NOTFOUND)
				cache_put(&a->cache, j->id_hash, NULL, now);
			if (j->result != 0 && j->result != DPK_ERR_NOTFOUND && cache_get(&a->cache, j->id_hash) != NULL)
				cache_get(&a->cache, j->id_hash)->failed_ms = now;
			if (j->result == DPK_ERR_NOTFOUND || (j->result == 0 && j->rec.status != DPK_REGISTRY_ACTIVE))
				record_changed(a, j->id_hash);
			answer_waiting(a, j->id_hash, j->result != 0 && j->result != DPK_ERR_NOTFOUND,
			    j->error, j->result == DPK_ERR_TIMEOUT ? DPK_ERR_TIMEOUT : DPK_ERR_NET);
		} else {
			a->poll_in_flight = 0;
			if (j->flush_all) {
				cache_clear(&a->cache);
				record_changed(a, NULL);
			}
			for (size_t i = 0; i < j->n_changed; i++) {
				cache_drop(&a->cache, j->changed[i]);
				record_changed(a, j->changed[i]);
			}
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
			char why[160];

			snprintf(why, sizeof(why), "the chain did not answer within %u ms and nothing is cached for this identity",
			    a->cfg.request_timeout_ms);
			answer_waiting(a, c->wait_hash, 1, why, DPK_ERR_TIMEOUT);
		} else if (c->deadline_ms < next) {
			next = c->deadline_ms;
		}
	}
	if (!a->poll_in_flight && now >= a->next_poll_ms) {
		struct job *j = calloc(1, sizeof(*j));

		if (j != NULL) {
			j->kind = JOB_POLL;
			chain_submit(&a->chain, j);
			a->poll_in_flight = 1;
		}
		a->next_poll_ms = now + a->cfg.poll_interval_ms;
	}
	if (a->next_poll_ms < next)
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
	e = cache_get(&a->cache, w->hash);
	if (e != NULL && agent_cache_fresh(a, e, now)) {
		w->asked_ms = 0; /* fresh: the event poll drops entries whose key changes */
		return;
	}
	struct job *j = calloc(1, sizeof(*j));

	w->asked_ms = now;
	if (j == NULL)
		return; /* the wait then ends at its deadline */
	j->kind = JOB_LOOKUP;
	memcpy(j->id_hash, w->hash, 32);
	chain_submit(&a->chain, j);
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
	if (now >= w->deadline_ms) {
		snprintf(why, whysz, "the chain did not answer in time");
		return DPK_ERR_TIMEOUT;
	}
	return 0;
}

