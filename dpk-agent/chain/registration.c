/* The agent's side of this host's registration (register.c is the state
 * machine, run one step at a time on the registration worker): the REGISTER
 * request, and when the next step is due. */
#include "chain/registration.h"

#include "agent.h"
#include "base/err.h"
#include "common/clock.h"
#include "common/conn.h"
#include "proto.h"
#include "wire.h"

#include <pthread.h>

_Static_assert(DPK_CONFIG_REG_EIP712 == REG_FLOW_EIP712 && DPK_CONFIG_REG_PAPER == REG_FLOW_PAPER &&
    DPK_CONFIG_REG_RELAY == REG_FLOW_RELAY, "dpk.conf's registration values are the journal's flows");
#include <stdlib.h>
#include <string.h>

/* REGISTER (privileged), body u8 start: with start = 1, begin this host's
 * registration if none is under way or done (a failed one starts over);
 * with 0 only report. The reply says where it is: u8 step, string step
 * name, string detail, u64 elapsed ms, u64 blocks seen since it started. */
void
agent_register_request(struct agent *a, struct conn *c, const uint8_t *body, size_t len)
{
	struct dpk_wire_w w;
	struct reg *g = &a->reg;
	char detail[sizeof(g->detail)];
	enum reg_step step;
	uint64_t blocks;
	int64_t elapsed;

	if (len != 1 || body[0] > 1) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "malformed REGISTER request (expected one byte: 1 start, 0 report)");
		return;
	}
	if (!c->privileged) {
		agent_reply_failure(c, DPK_ERR_PERM, "registration is for root and members of admin_group (you are uid %ld)",
		    (long)c->uid);
		return;
	}
	pthread_mutex_lock(&g->mu);
	step = g->step;
	pthread_mutex_unlock(&g->mu);
	if (body[0] == 1 && (step == REG_NONE || step == REG_FAILED)) {
		if (reg_begin(g, a->cfg.identity, a->cfg.token_file, a->cfg.chain_id, a->cfg.contract,
		    (enum reg_flow)a->cfg.registration) != 0) {
			pthread_mutex_lock(&g->mu);
			agent_reply_failure(c, DPK_ERR_INVALID, "cannot register: %s", g->detail);
			pthread_mutex_unlock(&g->mu);
			return;
		}
		a->reg_next_ms = 0;
	}
	pthread_mutex_lock(&g->mu);
	step = g->step;
	memcpy(detail, g->detail, sizeof(detail));
	blocks = g->head_block >= g->start_block ? g->head_block - g->start_block : 0;
	elapsed = g->started_ms ? agent_now_ms() - g->started_ms : 0;
	pthread_mutex_unlock(&g->mu);
	agent_reply_begin(c, &w);
	dpk_wire_put_u8(&w, (uint8_t)step);
	dpk_wire_put_string(&w, reg_step_name(step), strlen(reg_step_name(step)));
	dpk_wire_put_string(&w, detail, strlen(detail));
	dpk_wire_put_u64(&w, elapsed < 0 ? 0 : (uint64_t)elapsed);
	dpk_wire_put_u64(&w, blocks);
	agent_reply_end(c, DPK_MSG_REGISTER, &w);
}

void
agent_register_done(struct agent *a)
{
	struct job *list = chain_take_done(&a->regchain), *j, *next;

	for (j = list; j != NULL; j = next) {
		next = j->next;
		a->reg_in_flight = 0;
		/* the next step right away when this one moved on; a short pause when it waits */
		a->reg_next_ms = agent_now_ms() + 200;
		job_free(j);
	}
}

int64_t
agent_register_timers(struct agent *a, int64_t now)
{
	if (a->reg_in_flight || !reg_active(&a->reg))
		return INT64_MAX;
	if (now < a->reg_next_ms)
		return a->reg_next_ms;
	struct job *j = calloc(1, sizeof(*j));

	if (j != NULL) {
		j->kind = JOB_REGISTER;
		j->reg = &a->reg;
		chain_submit(&a->regchain, j);
		a->reg_in_flight = 1;
	}
	return INT64_MAX;
}
