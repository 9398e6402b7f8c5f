/* METRICS: the counters of common/metrics.c and the gauges read from the
 * agent's state. Who may ask: root and admin_group (c->privileged). The
 * figures say who uses the host's logins and how often (request counts by
 * type, handshakes by outcome), which an unprivileged user has no business
 * graphing. */
#include "autoconfig.h"
#include "metrics_request.h"

#include "agent.h"
#include "base/err.h"
#include "chain/chain.h"
#include "chain/register.h"
#include "common/clock.h"
#include "common/conn.h"
#include "common/metrics.h"
#include "proto.h"
#include "wire.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* the reply must fit in one frame with its type byte */
static char text[AGENT_FRAME_MAX - 64];

static void
write_gauges(struct agent *a, struct agent_metrics_out *o)
{
	static const char *const state[] = {"unchecked", "ok", "wrong_chain", "benched"};
	struct chain_report rep;
	size_t nconn = 0, nwait = 0;
	enum reg_step step;

	{
		char labels[128];

		snprintf(labels, sizeof(labels), "version=\"%s\",chain_id=\"%llu\"", PACKAGE_VERSION,
		    (unsigned long long)a->cfg.chain_id);
		agent_metrics_gauge_head(o, "dpk_agent_info", "Always 1: the agent's version and configured chain id.");
		agent_metrics_sample(o, "dpk_agent_info", labels, 1);
	}
	for (size_t i = 0; i < AGENT_MAX_CONNECTIONS; i++) {
		if (a->conns[i] != NULL) {
			nconn++;
			nwait += a->conns[i]->waiting != 0;
		}
	}
	agent_metrics_gauge_head(o, "dpk_agent_connections", "Connections open on the agent's socket.");
	agent_metrics_sample(o, "dpk_agent_connections", NULL, (double)nconn);
	agent_metrics_gauge_head(o, "dpk_agent_requests_waiting",
	    "Requests waiting for a chain read or a handshake (the queue an operator watches).");
	agent_metrics_sample(o, "dpk_agent_requests_waiting", NULL, (double)nwait);
	agent_metrics_gauge_head(o, "dpk_agent_chain_reads_in_flight",
	    "Identity reads queued or under way on the chain worker (max_chain_reads caps them).");
	agent_metrics_sample(o, "dpk_agent_chain_reads_in_flight", NULL, (double)a->n_reads);
	agent_metrics_gauge_head(o, "dpk_agent_cache_entries", "Records (and known misses) in the lookup cache.");
	agent_metrics_sample(o, "dpk_agent_cache_entries", NULL, (double)a->cache.count);

	chain_get_report(&a->chain, &rep);
	agent_metrics_gauge_head(o, "dpk_agent_verified_block",
	    "The block a quorum of endpoints agreed on, at which records are proven (verify_reads; 0: none yet or off).");
	agent_metrics_sample(o, "dpk_agent_verified_block", NULL, rep.have_anchor ? (double)rep.anchor_number : 0);
	agent_metrics_gauge_head(o, "dpk_agent_endpoint_up",
	    "1 when an rpc_url endpoint is usable (chain id checked or not needed, not benched), else 0; state says why.");
	for (size_t i = 0; i < rep.nep; i++) {
		char esc[2 * sizeof(rep.ep[i].display)], labels[sizeof(esc) + 64];
		unsigned s = (unsigned)rep.ep[i].state;

		agent_metrics_escape(rep.ep[i].display, esc, sizeof(esc));
		snprintf(labels, sizeof(labels), "endpoint=\"%s\",state=\"%s\"", esc, s < 4 ? state[s] : "unknown");
		agent_metrics_sample(o, "dpk_agent_endpoint_up", labels, rep.ep[i].state == CHAIN_EP_OK);
	}
	agent_metrics_gauge_head(o, "dpk_agent_endpoint_bad_answers",
	    "Answers of an rpc_url endpoint found wrong (a proof or header that does not verify, a wrong chain).");
	for (size_t i = 0; i < rep.nep; i++) {
		char esc[2 * sizeof(rep.ep[i].display)], labels[sizeof(esc) + 16];

		agent_metrics_escape(rep.ep[i].display, esc, sizeof(esc));
		snprintf(labels, sizeof(labels), "endpoint=\"%s\"", esc);
		agent_metrics_sample(o, "dpk_agent_endpoint_bad_answers", labels, rep.ep[i].bad_answers);
	}

	pthread_mutex_lock(&a->reg.mu);
	step = a->reg.step;
	pthread_mutex_unlock(&a->reg.mu);
	agent_metrics_gauge_head(o, "dpk_agent_registered",
	    "1 once this host's key is on chain (the registration is done), else 0.");
	agent_metrics_sample(o, "dpk_agent_registered", NULL, step == REG_DONE);
}

void
agent_metrics_request_answer(struct agent *a, struct conn *c, const uint8_t *body, size_t len)
{
	struct agent_metrics_out o = {.p = text, .len = 0, .cap = sizeof(text), .overflow = 0};
	struct dpk_wire_w w;

	(void)body;
	if (len != 0) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "malformed METRICS request (it has no body)");
		return;
	}
	if (!c->privileged) {
		agent_reply_failure(c, DPK_ERR_PERM, "metrics are for root and admin_group only (uid %lu is neither)",
		    (unsigned long)c->uid);
		return;
	}
	agent_metrics_write_counters(&o);
	write_gauges(a, &o);
	if (o.overflow) {
		agent_reply_failure(c, DPK_ERR_TOOBIG, "the metrics do not fit in a reply of %zu bytes", sizeof(text));
		return;
	}
	agent_reply_begin(c, &w);
	dpk_wire_put(&w, text, o.len);
	agent_reply_end(c, DPK_MSG_METRICS, &w);
}
