/* STATUS's operations block and CACHE_FLUSH (chain/ops.h). */
#include "autoconfig.h"
#include "chain/ops.h"

#include "agent.h"
#include "base/err.h"
#include "chain/chain.h"
#include "chain/register.h"
#include "common/clock.h"
#include "common/conn.h"
#include "common/log.h"
#include "proto.h"
#include "wire.h"

#include <pthread.h>
#include <syslog.h>
#include <stdio.h>
#include <string.h>

void
agent_ops_poll_prepare(struct agent *a, struct job *j)
{
	int64_t now = agent_now_ms();

	if (a->ops.balance_ms != 0 && now - a->ops.balance_ms < AGENT_OPS_BALANCE_MS)
		return;
	j->want_balance = 1;
	memcpy(j->balance_of, a->wallet.addr, 20);
}

void
agent_ops_poll_done(struct agent *a, const struct job *j)
{
	int64_t now = agent_now_ms();

	a->ops.polled = 1;
	a->ops.reachable = j->result == 0;
	if (j->result == 0) {
		a->ops.head = j->head;
		a->ops.head_ms = now;
		a->ops.error[0] = '\0';
	} else {
		snprintf(a->ops.error, sizeof(a->ops.error), "%.199s", j->error[0] != '\0' ? j->error : dpk_strerror(j->result));
	}
	if (j->want_balance && j->has_balance) {
		memcpy(a->ops.balance, j->balance.be, 32);
		a->ops.has_balance = 1;
		a->ops.balance_ms = now;
	}
}

/* The block, as a string (so a reader that does not know it can step over
 * it): u8 chain (0 not polled yet, 1 reachable, 2 the last poll failed),
 * u64 head block, u32 seconds since the head was seen, string the last
 * poll's error, u8 registration step, string its name, string balance
 * (32 bytes big-endian wei, or empty when not read yet), u32 cache entries,
 * u64 cache hits, u64 cache misses. */
void
agent_ops_status_put(struct agent *a, const struct conn *c, struct dpk_wire_w *w)
{
	uint8_t body[512];
	struct dpk_wire_w b;
	enum reg_step step;
	int64_t now = agent_now_ms();
	int64_t age = a->ops.head_ms != 0 ? (now - a->ops.head_ms) / 1000 : 0;

	(void)c; /* everything here is public on chain or harmless counts */
	pthread_mutex_lock(&a->reg.mu);
	step = a->reg.step;
	pthread_mutex_unlock(&a->reg.mu);
	dpk_wire_w_init(&b, body, sizeof(body));
	dpk_wire_put_u8(&b, (uint8_t)(!a->ops.polled ? 0 : a->ops.reachable ? 1 : 2));
	dpk_wire_put_u64(&b, a->ops.head);
	dpk_wire_put_u32(&b, (uint32_t)(age < 0 ? 0 : age > UINT32_MAX ? UINT32_MAX : age));
	dpk_wire_put_string(&b, a->ops.error, strlen(a->ops.error));
	dpk_wire_put_u8(&b, (uint8_t)step);
	dpk_wire_put_string(&b, reg_step_name(step), strlen(reg_step_name(step)));
	dpk_wire_put_string(&b, a->ops.balance, a->ops.has_balance ? 32 : 0);
	dpk_wire_put_u32(&b, (uint32_t)a->cache.count);
	dpk_wire_put_u64(&b, a->cache.hits);
	dpk_wire_put_u64(&b, a->cache.misses);
	dpk_wire_put_string(w, body, b.len);
}

void
agent_cache_flush_request(struct agent *a, struct conn *c, const uint8_t *body, size_t len)
{
	struct dpk_wire_w w;
	size_t n = a->cache.count;

	(void)body;
	if (len != 0) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "malformed CACHE_FLUSH request (it has no body)");
		return;
	}
	if (c->uid != 0) {
		agent_reply_failure(c, DPK_ERR_PERM, "only root may flush the agent's cache (you are uid %ld)", (long)c->uid);
		return;
	}
	cache_clear(&a->cache);
	chain_drop_anchor(&a->chain);
	if (a->on_record_changed != NULL) /* the NSS cache file's entries go too */
		a->on_record_changed(a, NULL);
	agent_log(LOG_NOTICE, "cache flushed by uid 0: %zu record(s) dropped", n);
	agent_reply_begin(c, &w);
	dpk_wire_put_u32(&w, (uint32_t)n);
	agent_reply_end(c, DPK_MSG_CACHE_FLUSH, &w);
}
