#include "chain/chain.h"

#include "base/err.h"
#include "base/hex.h"
#include "chain/register.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "daemon/conffile.h"
#include "registry/check.h"
#include "registry/vread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	dpk_registry_record_free(&j->rec);
	free(j->changed);
	free(j);
}

void
chain_job_error(struct job *j, struct dpk_rpc *rpc, int r)
{
	char reason[200];

	j->result = r;
	if (r == DPK_ERR_REVERT && dpk_registry_last_revert(rpc, reason, sizeof(reason)) == 0)
		snprintf(j->error, sizeof(j->error), "the registry refused: %s", reason);
	else
		snprintf(j->error, sizeof(j->error), "%s", *dpk_rpc_last_error(rpc) ? dpk_rpc_last_error(rpc) :
		    dpk_strerror(r));
}

/* A header the worker reuses for lookups within this time: about a block on
 * a local node, well under one on mainnet (12 s). */
#define ANCHOR_REUSE_MS 1000

/* Check endpoint i's chain id and the registry behind it once (again after it
 * failed: a registry deployed after the agent started is found then). */
static int
ep_chain_check(struct chain *ch, size_t i, char *why, size_t whysz)
{
	uint64_t id;
	int r;

	if (ch->ep_chain_ok[i] == 1)
		return 0;
	if ((r = dpk_rpc_chain_id(ch->ep[i], &id)) != 0) {
		snprintf(why, whysz, "%s", dpk_rpc_last_error(ch->ep[i]));
		return r;
	}
	ch->ep_chain_id[i] = id; /* for STATUS */
	/* the chain id, then the registry: code at contract and its dpkVersion() */
	if ((r = dpk_registry_check(ch->ep[i], ch->trust.chain_id, ch->contract, why, whysz)) != 0) {
		if (r != DPK_ERR_STATE && r != DPK_ERR_NOTFOUND && r != DPK_ERR_UNSUPPORTED)
			return r; /* not reached: asked again next time */
		ch->ep_chain_ok[i] = -1;
		dpk_rpc_endpoint_disable(ch->rpc, i, 1); /* no proofs from it either */
		return DPK_ERR_STATE;
	}
	ch->ep_chain_ok[i] = 1;
	dpk_rpc_endpoint_disable(ch->rpc, i, 0);
	return 0;
}

int
chain_fetch_header(struct dpk_rpc *rpc, const char *tag, struct dpk_header *h, char *why, size_t whysz)
{
	cJSON *params = cJSON_CreateArray(), *res = NULL;
	int r = DPK_ERR_NOMEM;

	if (params == NULL || !cJSON_AddItemToArray(params, cJSON_CreateString(tag)) ||
	    !cJSON_AddItemToArray(params, cJSON_CreateFalse()))
		goto out;
	if ((r = dpk_rpc_request(rpc, "eth_getBlockByNumber", params, &res)) != 0) {
		snprintf(why, whysz, "%s", dpk_rpc_last_error(rpc));
		goto out;
	}
	if (cJSON_IsNull(res)) {
		r = DPK_ERR_NOTFOUND;
		snprintf(why, whysz, "%s has no block %s", dpk_rpc_endpoint(rpc), tag);
		goto out;
	}
	if ((r = dpk_header_from_json(res, NULL, h)) != 0)
		snprintf(why, whysz, "%s: block %s: the header does not hash to the block hash it names (%s)",
		    dpk_rpc_endpoint(rpc), tag, dpk_strerror(r));
out:
	cJSON_Delete(res);
	cJSON_Delete(params);
	return r;
}

/* eth_getBlockByNumber(tag) on endpoint i, its header rebuilt and hashed. */
static int
ep_header(struct chain *ch, size_t i, const char *tag, struct dpk_header *h, char *why, size_t whysz)
{
	return chain_fetch_header(ch->ep[i], tag, h, why, whysz);
}

/* The header lookups are proven at: the first endpoint that answers names a
 * block (finalized, or latest minus confirmations); rpc_quorum endpoints in
 * all must give the same hash for that number. It must extend the last
 * anchor when it is the next block. Reused for ANCHOR_REUSE_MS. */
/* The block endpoint i names for reads: finalized, or latest minus
 * confirmations. */
static int
ep_target(struct chain *ch, size_t i, struct dpk_header *h, char *why, size_t whysz)
{
	char tag[19];
	int r;

	if ((r = ep_chain_check(ch, i, why, whysz)) != 0)
		return r;
	if (ch->trust.finalized)
		return ep_header(ch, i, ch->trust.finalized == 2 ? "safe" : "finalized", h, why, whysz);
	if ((r = ep_header(ch, i, "latest", h, why, whysz)) != 0)
		return r;
	ch->ep_head[i] = h->number;
	if (ch->trust.confirmations == 0)
		return 0;
	if (h->number < ch->trust.confirmations) {
		snprintf(why, whysz, "the chain is %llu blocks long, fewer than confirmations",
		    (unsigned long long)h->number);
		return DPK_ERR_STATE;
	}
	dpk_hex_from_u64(h->number - ch->trust.confirmations, tag);
	return ep_header(ch, i, tag, h, why, whysz);
}

/* At most this many parent links are walked from an anchor back to the
 * checkpoint (or to the last anchor already linked to it): about 2 days of
 * mainnet blocks; the walk is made once, later anchors link to the last. */
#define CHECKPOINT_MAX_WALK 16384
/* One read walks parent links for at most this long (a slow or far endpoint
 * would otherwise hold the chain worker, and every lookup behind it, for
 * minutes); the next read goes on from where it stopped. */
#define CHECKPOINT_WALK_BUDGET_MS 1000

/* Whether cand (agreed on by the quorum) descends from the checkpoint: its
 * parent hashes, read from endpoint lead and each checked against the
 * header it names, lead back to the checkpoint block or to the last anchor
 * already linked to it. 0; DPK_ERR_PROOF with the reason in why; or
 * DPK_ERR_BUSY when the walk used its time budget (why says how far it is;
 * the next call goes on from there, whichever endpoint leads). */
static int
anchor_descends(struct chain *ch, size_t lead, const struct dpk_header *cand, char *why, size_t whysz)
{
	const struct chain_trust *t = &ch->trust;
	struct dpk_header cur = *cand, h;
	char want[67], got[67], tag[19], w[200];
	int64_t t0 = agent_now_ms();

	if (!t->has_checkpoint)
		return 0;
	dpk_hex_encode(t->checkpoint_hash, 32, 1, want, sizeof(want));
	if (cand->number < t->checkpoint_number) {
		snprintf(why, whysz, "block %llu is below the checkpoint %llu:%.18s...: the endpoints are on "
		    "another chain or far behind", (unsigned long long)cand->number,
		    (unsigned long long)t->checkpoint_number, want);
		return DPK_ERR_PROOF;
	}
	for (;;) {
		if (ch->have_linked && cur.number == ch->linked_number && memcmp(cur.hash, ch->linked_hash, 32) == 0)
			break;
		if (ch->have_partial && cur.number == ch->partial_top_number && cur.number != ch->partial_cur.number &&
		    memcmp(cur.hash, ch->partial_top_hash, 32) == 0) {
			cur = ch->partial_cur; /* checked before, down to here */
			continue;
		}
		if (cur.number == t->checkpoint_number) {
			if (memcmp(cur.hash, t->checkpoint_hash, 32) == 0)
				break;
			dpk_hex_encode(cur.hash, 32, 1, got, sizeof(got));
			snprintf(why, whysz, "block %llu does not descend from the checkpoint: block %llu is %.18s... on "
			    "the endpoints, the checkpoint says %.18s... (another chain, or a wrong checkpoint)",
			    (unsigned long long)cand->number, (unsigned long long)cur.number, got, want);
			return DPK_ERR_PROOF;
		}
		if (cand->number - cur.number >= CHECKPOINT_MAX_WALK) {
			snprintf(why, whysz, "block %llu is more than %d blocks past the checkpoint %llu: pin a newer "
			    "checkpoint", (unsigned long long)cand->number, CHECKPOINT_MAX_WALK,
			    (unsigned long long)t->checkpoint_number);
			return DPK_ERR_PROOF;
		}
		if (agent_now_ms() - t0 > CHECKPOINT_WALK_BUDGET_MS) {
			ch->have_partial = 1;
			ch->partial_top_number = cand->number;
			memcpy(ch->partial_top_hash, cand->hash, 32);
			ch->partial_cur = cur;
			snprintf(why, whysz, "still linking block %llu to the checkpoint %llu: its parents are checked down "
			    "to block %llu (at most %d ms of that per read; the next read goes on)",
			    (unsigned long long)cand->number, (unsigned long long)t->checkpoint_number,
			    (unsigned long long)cur.number, CHECKPOINT_WALK_BUDGET_MS);
			return DPK_ERR_BUSY;
		}
		dpk_hex_from_u64(cur.number - 1, tag);
		if (ep_header(ch, lead, tag, &h, w, sizeof(w)) != 0 || memcmp(h.hash, cur.parent_hash, 32) != 0) {
			snprintf(why, whysz, "cannot link block %llu to the checkpoint %llu: %s did not give the parent "
			    "of block %llu", (unsigned long long)cand->number, (unsigned long long)t->checkpoint_number,
			    dpk_rpc_endpoint(ch->ep[lead]), (unsigned long long)cur.number);
			return DPK_ERR_PROOF;
		}
		cur = h;
	}
	ch->have_linked = 1;
	ch->linked_number = cand->number;
	memcpy(ch->linked_hash, cand->hash, 32);
	ch->have_partial = 0;
	return 0;
}

/* max_proof_age: the anchor's own timestamp (set by its producer, checked by
 * every validating node) against this host's wall clock. */
static int
anchor_recent(const struct chain *ch, const struct dpk_header *cand, char *why, size_t whysz)
{
	int64_t age = (int64_t)time(NULL) - (int64_t)cand->timestamp;

	if (ch->trust.max_proof_age_ms == 0 || age * 1000 <= (int64_t)ch->trust.max_proof_age_ms)
		return 0;
	snprintf(why, whysz, "block %llu was made %lld s ago (its timestamp), longer ago than max_proof_age "
	    "(%u s): the endpoints are behind or the chain has stopped", (unsigned long long)cand->number,
	    (long long)age, ch->trust.max_proof_age_ms / 1000);
	return DPK_ERR_STATE;
}

/* The header lookups are proven at: an endpoint names a block (ep_target)
 * and rpc_quorum endpoints in all must give the same hash for that number;
 * when they do not, the next endpoint names one. The next block after the
 * last anchor must extend it. Reused for ANCHOR_REUSE_MS. */
static int
chain_anchor(struct chain *ch, char *why, size_t whysz)
{
	struct dpk_header cand, h;
	char tag[19], w[200];
	int r = DPK_ERR_NET, disagreed = 0;
	int64_t now = agent_now_ms();

	if (ch->have_anchor && now - ch->anchor_ms < ANCHOR_REUSE_MS)
		return 0;
	snprintf(why, whysz, "no endpoint answered");
	for (size_t lead = 0; lead < ch->nep; lead++) {
		size_t agree = 1;

		if ((r = ep_target(ch, lead, &cand, w, sizeof(w))) != 0) {
			if (ch->ep_chain_ok[lead] == 1)
				ch->ep_chain_ok[lead] = 0; /* check its chain again when it is back */
			if (!disagreed)
				snprintf(why, whysz, "%s", w);
			continue;
		}
		dpk_hex_from_u64(cand.number, tag);
		for (size_t i = 0; i < ch->nep && agree < ch->trust.quorum; i++) {
			if (i == lead || ep_chain_check(ch, i, w, sizeof(w)) != 0)
				continue;
			if (ep_header(ch, i, tag, &h, w, sizeof(w)) == 0 && memcmp(h.hash, cand.hash, 32) == 0)
				agree++;
		}
		if (agree < ch->trust.quorum) {
			char hx[67];

			dpk_hex_encode(cand.hash, 32, 1, hx, sizeof(hx));
			snprintf(why, whysz, "endpoints disagree: block %llu as %s names it (hash %.18s...) has "
			    "only %zu of the rpc_quorum %u endpoints behind it", (unsigned long long)cand.number,
			    dpk_rpc_endpoint(ch->ep[lead]), hx, agree, ch->trust.quorum);
			disagreed = 1;
			r = DPK_ERR_PROOF;
			if (ch->ep_logged_ms[lead] == 0 || now - ch->ep_logged_ms[lead] > 60000) {
				agent_log(LOG_WARNING, "refused a header: %s", why);
				ch->ep_logged_ms[lead] = now;
			}
			continue;
		}
		if ((r = anchor_recent(ch, &cand, why, whysz)) != 0 ||
		    (r = anchor_descends(ch, lead, &cand, why, whysz)) != 0) {
			if (r == DPK_ERR_BUSY) /* the walk goes on at the next read, not with another endpoint now */
				return DPK_ERR_PROOF;
			/* the next endpoint may name a newer block, or give the parents this one did not */
			if (ch->refusal_logged_ms == 0 || now - ch->refusal_logged_ms > 60000) {
				agent_log(LOG_WARNING, "refused every verified answer: %s", why);
				ch->refusal_logged_ms = now;
			}
			disagreed = 1;
			continue;
		}
		if (ch->have_anchor && cand.number == ch->anchor.number + 1 &&
		    memcmp(cand.parent_hash, ch->anchor.hash, 32) != 0) {
			/* a reorg at the head: accept the quorum's new chain, but say so */
			agent_log(LOG_NOTICE, "block %llu does not extend block %llu accepted before (a reorg); "
			    "reading at the new one, which rpc_quorum endpoints agree on",
			    (unsigned long long)cand.number, (unsigned long long)ch->anchor.number);
		}
		ch->anchor = cand;
		ch->have_anchor = 1;
		ch->anchor_ms = now;
		chain_seen_add(ch, cand.number, cand.hash); /* records proven here: a reorg must reach them */
		return 0;
	}
	return r != 0 ? r : DPK_ERR_NET;
}

static void
run_lookup_verified(struct chain *ch, struct job *j)
{
	char why[sizeof(j->error)];
	size_t tries = dpk_rpc_endpoint_count(ch->rpc);
	int r = DPK_ERR_NET;

	if ((r = chain_anchor(ch, why, sizeof(why))) != 0) {
		j->result = r;
		snprintf(j->error, sizeof(j->error), "no trusted block to read at: %.190s", why);
		return;
	}
	for (size_t k = 0; k < tries; k++) {
		r = dpk_vread_record(ch->rpc, ch->contract, &ch->anchor, j->id_hash, &j->rec, NULL);
		if (r != DPK_ERR_PROOF)
			break;
		/* that endpoint's proof does not verify: bench it, ask the next */
		snprintf(why, sizeof(why), "%s: the proof does not verify against block %llu",
		    dpk_rpc_endpoint(ch->rpc), (unsigned long long)ch->anchor.number);
		dpk_rpc_mark_bad(ch->rpc);
	}
	if (r == 0 || r == DPK_ERR_NOTFOUND) {
		j->result = r;
		j->proven = 1;
		j->block_number = ch->anchor.number;
		memcpy(j->block_hash, ch->anchor.hash, 32);
		j->block_time = ch->anchor.timestamp;
		return;
	}
	j->result = r;
	if (r == DPK_ERR_PROOF)
		snprintf(j->error, sizeof(j->error), "refused: no endpoint gave a proof that verifies (last: %.170s)", why);
	else if (r == DPK_ERR_STATE)
		snprintf(j->error, sizeof(j->error), "refused: block %llu shows no DPK registry at the configured "
		    "contract address (wrong contract or chain?)", (unsigned long long)ch->anchor.number);
	else
		chain_job_error(j, ch->rpc, r);
}

static void
run_lookup(struct chain *ch, struct job *j)
{
	int r;

	if (ch->trust.verify_reads) {
		run_lookup_verified(ch, j);
		return;
	}
	r = dpk_registry_get_client_by_hash(ch->rpc, ch->contract, j->id_hash, &j->rec);
	if (r == 0 || r == DPK_ERR_NOTFOUND) {
		j->result = r;
		return;
	}
	chain_job_error(j, ch->rpc, r);
	/* An answer that does not decode, or a revert that is not the registry's:
	 * say whether the endpoint is on another chain or contract holds no
	 * registry, rather than "input is truncated". */
	if (r != DPK_ERR_NET && r != DPK_ERR_TIMEOUT && r != DPK_ERR_RPC && ch->trust.chain_id != 0) {
		char why[sizeof(j->error)];

		if (dpk_registry_check(ch->rpc, ch->trust.chain_id, ch->contract, why, sizeof(why)) != 0)
			snprintf(j->error, sizeof(j->error), "%s", why);
	}
}

static void chain_update_report(struct chain *ch);

/* The event poll's job: first what STATUS and METRICS show (the head, the
 * wallet's balance, each endpoint's head), then the events (chain/poll.c). */
static void
run_poll(struct chain *ch, struct job *j)
{
	uint64_t head;
	int r;

	if ((r = dpk_rpc_block_number(ch->rpc, &head)) != 0) {
		chain_job_error(j, ch->rpc, r);
		return;
	}
	j->head = head;
	if (j->want_balance) /* for dpkctl status; a failure leaves it unread */
		j->has_balance = dpk_rpc_balance(ch->rpc, j->balance_of, head, &j->balance) == 0;
	/* each endpoint's head, for STATUS: one cheap request per endpoint and poll */
	for (size_t i = 0; i < ch->nep; i++) {
		const char *d;
		uint64_t benched = 0;
		unsigned bad;
		char w[200];

		dpk_rpc_endpoint_state(ch->rpc, i, &d, &benched, &bad);
		if (benched == 0 && ep_chain_check(ch, i, w, sizeof(w)) == 0)
			(void)dpk_rpc_block_number(ch->ep[i], &ch->ep_head[i]);
	}
	chain_update_report(ch);
	agent_metrics_head(head);
	chain_run_poll(ch, j);
}

/* Refresh the report STATUS reads (worker thread; ch->mu not held). */
static void
chain_update_report(struct chain *ch)
{
	struct chain_report r;

	memset(&r, 0, sizeof(r));
	r.verify_reads = ch->trust.verify_reads;
	r.have_anchor = ch->have_anchor;
	r.anchor_number = ch->anchor.number;
	memcpy(r.anchor_hash, ch->anchor.hash, 32);
	r.anchor_time = ch->anchor.timestamp;
	r.nep = dpk_rpc_endpoint_count(ch->rpc);
	if (r.nep > CHAIN_MAX_EP)
		r.nep = CHAIN_MAX_EP;
	for (size_t i = 0; i < r.nep; i++) {
		const char *d = "";
		uint64_t benched = 0;

		dpk_rpc_endpoint_state(ch->rpc, i, &d, &benched, &r.ep[i].bad_answers);
		snprintf(r.ep[i].display, sizeof(r.ep[i].display), "%s", d);
		if (i < ch->nep) {
			r.ep[i].chain_id = ch->ep_chain_id[i];
			r.ep[i].head = ch->ep_head[i];
		}
		if (i < ch->nep && ch->ep_chain_ok[i] == -1)
			r.ep[i].state = CHAIN_EP_WRONG_CHAIN;
		else if (benched > 0)
			r.ep[i].state = CHAIN_EP_BENCHED;
		else if (i < ch->nep && ch->ep_chain_ok[i] == 1)
			r.ep[i].state = CHAIN_EP_OK;
		else
			r.ep[i].state = ch->trust.verify_reads ? CHAIN_EP_UNCHECKED : CHAIN_EP_OK;
	}
	pthread_mutex_lock(&ch->mu);
	ch->report = r;
	pthread_mutex_unlock(&ch->mu);
}

void
chain_drop_anchor(struct chain *ch)
{
	pthread_mutex_lock(&ch->mu);
	ch->drop_anchor = 1;
	pthread_mutex_unlock(&ch->mu);
}

void
chain_get_report(struct chain *ch, struct chain_report *out)
{
	pthread_mutex_lock(&ch->mu);
	*out = ch->report;
	pthread_mutex_unlock(&ch->mu);
}

static void *
worker(void *arg)
{
	struct chain *ch = arg;

	/* Every endpoint's chain id, once at start: a wrong one is said now, not
	 * at the first lookup. */
	for (size_t i = 0; i < ch->nep; i++) {
		char why[256];
		int r = ep_chain_check(ch, i, why, sizeof(why));

		if (r == DPK_ERR_STATE)
			agent_log(LOG_ERR, "rpc_url: %s: not used", why);
		else if (r != 0)
			agent_log(LOG_WARNING, "rpc_url: chain id not checked yet (checked before first use): %s", why);
	}
	if (ch->nep == 0 && ch->trust.chain_id != 0) {
		/* reads through the failover client alone (verify_reads off) */
		char why[256];
		int r = dpk_registry_check(ch->rpc, ch->trust.chain_id, ch->contract, why, sizeof(why));

		if (r == DPK_ERR_STATE || r == DPK_ERR_NOTFOUND || r == DPK_ERR_UNSUPPORTED)
			agent_log(LOG_ERR, "rpc_url: %s", why);
		else if (r != 0)
			agent_log(LOG_WARNING, "rpc_url: the registry is not checked yet: %s", why);
	}
	chain_update_report(ch);
	pthread_mutex_lock(&ch->mu);
	for (;;) {
		struct job *j;
		uint64_t one = 1;
		int64_t t0;

		while (!ch->stop && ch->todo == NULL)
			pthread_cond_wait(&ch->cv, &ch->mu);
		if (ch->stop)
			break;
		j = ch->todo;
		if (ch->drop_anchor)
			ch->have_anchor = ch->drop_anchor = 0;
		ch->todo = j->next;
		if (ch->todo == NULL)
			ch->todo_tail = NULL;
		pthread_mutex_unlock(&ch->mu);

		j->next = NULL;
		t0 = agent_metrics_now_us();
		if (j->kind == JOB_LOOKUP)
			run_lookup(ch, j);
		else if (j->kind == JOB_REGISTER)
			reg_step(j->reg, ch->rpc);
		else
			run_poll(ch, j);
		agent_metrics_chain_read(j->kind == JOB_LOOKUP ? AGENT_METRICS_READ_LOOKUP : j->kind == JOB_REGISTER ?
		    AGENT_METRICS_READ_REGISTER : AGENT_METRICS_READ_POLL,
		    j->kind != JOB_REGISTER && j->result != 0 && j->result != DPK_ERR_NOTFOUND, agent_metrics_now_us() - t0);
		if (j->kind == JOB_LOOKUP)
			chain_update_report(ch);

		pthread_mutex_lock(&ch->mu);
		j->next = ch->done;
		ch->done = j;
		if (write(ch->efd, &one, sizeof(one)) != sizeof(one)) {
			/* the counter cannot overflow in practice; the loop also polls on a timer */
		}
	}
	pthread_mutex_unlock(&ch->mu);
	return NULL;
}

static void
chain_free_eps(struct chain *ch)
{
	for (size_t i = 0; i < CHAIN_MAX_EP; i++) {
		dpk_rpc_free(ch->ep[i]);
		ch->ep[i] = NULL;
	}
	ch->nep = 0;
}

int
chain_start(struct chain *ch, char *const *urls, size_t nurls, uint32_t rpc_timeout_ms,
    const uint8_t contract[20], const struct chain_trust *trust, char *err, size_t errsz)
{
	int r;

	memset(ch, 0, sizeof(*ch));
	memcpy(ch->contract, contract, 20);
	if (trust != NULL)
		ch->trust = *trust;
	if (ch->trust.quorum == 0)
		ch->trust.quorum = (uint32_t)(nurls / 2 + 1); /* a majority */
	if (ch->trust.log_range == 0)
		ch->trust.log_range = 10000;
	ch->log_range_now = ch->trust.log_range;
	if ((r = dpk_conffile_rpc_client(&ch->rpc, urls, nurls, rpc_timeout_ms)) != 0) {
		snprintf(err, errsz, "cannot use the configured rpc_url: %s", dpk_strerror(r));
		return r;
	}
	{
		/* eth_call reads and receipts at the same depth as proven reads */
		struct dpk_rpc_depth d = {
			.kind = ch->trust.finalized == 1 ? DPK_RPC_DEPTH_FINALIZED :
			    ch->trust.finalized == 2 ? DPK_RPC_DEPTH_SAFE : DPK_RPC_DEPTH_BLOCKS,
			.confirmations = ch->trust.confirmations,
		};

		dpk_rpc_set_depth(ch->rpc, &d);
	}
	if (ch->trust.verify_reads) {
		for (size_t i = 0; i < nurls && i < CHAIN_MAX_EP; i++) {
			if ((r = dpk_conffile_rpc_client(&ch->ep[i], &urls[i], 1, rpc_timeout_ms)) != 0) {
				chain_free_eps(ch);
				dpk_rpc_free(ch->rpc);
				snprintf(err, errsz, "cannot use the configured rpc_url: %s", dpk_strerror(r));
				return r;
			}
			ch->nep++;
		}
	}
	if ((ch->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		dpk_rpc_free(ch->rpc);
		chain_free_eps(ch);
		snprintf(err, errsz, "eventfd failed");
		return DPK_ERR_IO;
	}
	pthread_mutex_init(&ch->mu, NULL);
	pthread_cond_init(&ch->cv, NULL);
	if (pthread_create(&ch->th, NULL, worker, ch) != 0) {
		close(ch->efd);
		dpk_rpc_free(ch->rpc);
		chain_free_eps(ch);
		snprintf(err, errsz, "cannot start the chain thread");
		return DPK_ERR_IO;
	}
	return 0;
}

void
chain_stop(struct chain *ch)
{
	struct job *j, *n;

	if (ch->rpc == NULL)
		return;
	pthread_mutex_lock(&ch->mu);
	ch->stop = 1;
	pthread_cond_signal(&ch->cv);
	pthread_mutex_unlock(&ch->mu);
	/* a request in flight ends within rpc_timeout */
	pthread_join(ch->th, NULL);
	for (j = ch->todo; j != NULL; j = n) {
		n = j->next;
		job_free(j);
	}
	for (j = ch->done; j != NULL; j = n) {
		n = j->next;
		job_free(j);
	}
	close(ch->efd);
	dpk_rpc_free(ch->rpc);
	chain_free_eps(ch);
	chain_events_free(&ch->events);
	pthread_mutex_destroy(&ch->mu);
	pthread_cond_destroy(&ch->cv);
	memset(ch, 0, sizeof(*ch));
}

void
chain_submit(struct chain *ch, struct job *j)
{
	struct job **pp;

	j->next = NULL;
	pthread_mutex_lock(&ch->mu);
	if (ch->todo_tail != NULL && ch->todo_tail->prio <= j->prio) {
		ch->todo_tail->next = j;
		ch->todo_tail = j;
	} else {
		/* the queue is bounded (max_chain_reads, one poll): a walk is cheap */
		for (pp = &ch->todo; *pp != NULL && (*pp)->prio <= j->prio; pp = &(*pp)->next)
			;
		j->next = *pp;
		*pp = j;
		if (j->next == NULL)
			ch->todo_tail = j;
	}
	pthread_cond_signal(&ch->cv);
	pthread_mutex_unlock(&ch->mu);
}

void
chain_raise(struct chain *ch, const uint8_t id_hash[32], enum job_prio prio)
{
	struct job **pp, *j = NULL, *prev = NULL;

	pthread_mutex_lock(&ch->mu);
	for (pp = &ch->todo; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
		if ((*pp)->kind == JOB_LOOKUP && (*pp)->prio > prio && memcmp((*pp)->id_hash, id_hash, 32) == 0) {
			j = *pp;
			*pp = j->next;
			if (ch->todo_tail == j)
				ch->todo_tail = prev;
			break;
		}
	}
	pthread_mutex_unlock(&ch->mu);
	if (j != NULL) {
		j->prio = prio;
		chain_submit(ch, j);
	}
}

struct job *
chain_take_done(struct chain *ch)
{
	struct job *list, *rev = NULL, *next;
	uint64_t v;

	if (read(ch->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing signalled; the list may still hold jobs */
	}
	pthread_mutex_lock(&ch->mu);
	list = ch->done;
	ch->done = NULL;
	pthread_mutex_unlock(&ch->mu);
	/* done is newest first: hand them back in the order they ran, so that a
	 * lookup that read the chain before an event poll is not cached over
	 * what the poll dropped */
	for (; list != NULL; list = next) {
		next = list->next;
		list->next = rev;
		rev = list;
	}
	return rev;
}
