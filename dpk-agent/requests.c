/* One function per request type (doc/protocol.md). Each reads its body with
 * the wire reader, which must consume it exactly, and writes one reply. */
#include "autoconfig.h"
#include "agent.h"

#include "base/err.h"
#include "proto.h"
#include "wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <syslog.h>

#define AGENT_PROTOCOL_VERSION 1

/* Frame the reply body in w (built at c->out + 4) with its type. */
static void
reply_frame(struct conn *c, uint8_t type, size_t bodylen)
{
	uint32_t flen = (uint32_t)bodylen + 1;

	c->out[0] = (uint8_t)(flen >> 24);
	c->out[1] = (uint8_t)(flen >> 16);
	c->out[2] = (uint8_t)(flen >> 8);
	c->out[3] = (uint8_t)flen;
	c->out[4] = type;
	c->outlen = 5 + bodylen;
	c->outoff = 0;
}

void
agent_reply_failure(struct conn *c, int err, const char *fmt, ...)
{
	struct dpk_wire_w w;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dpk_wire_w_init(&w, c->out + 5, sizeof(c->out) - 5);
	dpk_wire_put_u32(&w, (uint32_t)(err < 0 ? -err : err));
	dpk_wire_put_string(&w, msg, strlen(msg));
	reply_frame(c, DPK_MSG_FAILURE, w.len);
}

/* Start a success reply: the body writer over c->out. */
void
agent_reply_begin(struct conn *c, struct dpk_wire_w *w)
{
	dpk_wire_w_init(w, c->out + 5, sizeof(c->out) - 5);
}

void
agent_reply_end(struct conn *c, uint8_t req_type, struct dpk_wire_w *w)
{
	if (w->err) {
		agent_reply_failure(c, DPK_ERR_TOOBIG, "reply does not fit in a frame");
		return;
	}
	reply_frame(c, DPK_MSG_REPLY(req_type), w->len);
}

static void
handle_hello(struct agent *a, struct conn *c, struct dpk_wire_r *rd)
{
	struct dpk_wire_w w;
	uint32_t version = dpk_wire_get_u32(rd);

	if (dpk_wire_r_done(rd) != 0) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "malformed HELLO request");
		return;
	}
	if (version < 1) {
		agent_reply_failure(c, DPK_ERR_UNSUPPORTED, "protocol version %u is not supported (this agent speaks %d)",
		    version, AGENT_PROTOCOL_VERSION);
		return;
	}
	agent_reply_begin(c, &w);
	dpk_wire_put_u32(&w, AGENT_PROTOCOL_VERSION);
	dpk_wire_put_string(&w, PACKAGE_VERSION, strlen(PACKAGE_VERSION));
	agent_reply_end(c, DPK_MSG_HELLO, &w);
}

/* STATUS: u64 chain id, string contract (20), string wallet (20), string
 * identity (may be empty), u8 key algorithm, u8 caller privileged. */
static void
handle_status(struct agent *a, struct conn *c, struct dpk_wire_r *rd)
{
	const char *id = a->cfg.identity ? a->cfg.identity : "";
	struct dpk_wire_w w;

	if (dpk_wire_r_done(rd) != 0) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "malformed STATUS request (it has no body)");
		return;
	}
	agent_reply_begin(c, &w);
	dpk_wire_put_u64(&w, a->cfg.chain_id);
	dpk_wire_put_string(&w, a->cfg.contract, 20);
	dpk_wire_put_string(&w, a->wallet.addr, 20);
	dpk_wire_put_string(&w, id, strlen(id));
	dpk_wire_put_u8(&w, (uint8_t)dpk_idkey_alg(a->idkey));
	dpk_wire_put_u8(&w, (uint8_t)c->privileged);
	agent_reply_end(c, DPK_MSG_STATUS, &w);
}

/* PUBKEY: u8 algorithm, string on-chain form, string PEM, string OpenSSH line. */
static void
handle_pubkey(struct agent *a, struct conn *c, struct dpk_wire_r *rd)
{
	struct dpk_buf pub, pem, ssh;
	struct dpk_wire_w w;
	int r;

	if (dpk_wire_r_done(rd) != 0) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "malformed PUBKEY request (it has no body)");
		return;
	}
	dpk_buf_init(&pub, 8192);
	dpk_buf_init(&pem, 16384);
	dpk_buf_init(&ssh, 16384);
	if ((r = dpk_idkey_public_onchain(a->idkey, &pub)) != 0 ||
	    (r = dpk_idkey_public_pem(a->idkey, &pem)) != 0 ||
	    (r = dpk_idkey_onchain_to_openssh(dpk_idkey_alg(a->idkey), pub.data, pub.len,
	    a->cfg.identity, &ssh)) != 0) {
		agent_reply_failure(c, r, "cannot export the identity key: %s", dpk_strerror(r));
	} else {
		agent_reply_begin(c, &w);
		dpk_wire_put_u8(&w, (uint8_t)dpk_idkey_alg(a->idkey));
		dpk_wire_put_string(&w, pub.data, pub.len);
		dpk_wire_put_string(&w, pem.data, pem.len);
		dpk_wire_put_string(&w, ssh.data, ssh.len);
		agent_reply_end(c, DPK_MSG_PUBKEY, &w);
	}
	dpk_buf_free(&pub);
	dpk_buf_free(&pem);
	dpk_buf_free(&ssh);
}

void
agent_handle_request(struct agent *a, struct conn *c, uint8_t type, const uint8_t *body, size_t len)
{
	struct dpk_wire_r rd;

	dpk_wire_r_init(&rd, body, len);
	switch (type) {
	case DPK_MSG_HELLO: handle_hello(a, c, &rd); return;
	case DPK_MSG_STATUS: handle_status(a, c, &rd); return;
	case DPK_MSG_PUBKEY: handle_pubkey(a, c, &rd); return;
	case DPK_MSG_LOOKUP: agent_lookup_request(a, c, body, len); return;
	case DPK_MSG_REGISTER: agent_register_request(a, c, body, len); return;
	case DPK_MSG_GETPWNAM:
	case DPK_MSG_GETPWUID:
	case DPK_MSG_GETGRNAM:
	case DPK_MSG_GETGRGID:
	case DPK_MSG_INITGROUPS:
	case DPK_MSG_PWENT:
	case DPK_MSG_GRENT: agent_nss_request(a, c, type, body, len); return;
	case DPK_MSG_LOGIN_CHALLENGE:
	case DPK_MSG_LOGIN_RESPOND:
	case DPK_MSG_LOGIN_VERIFY:
	case DPK_MSG_LOGIN_ACCOUNT: agent_login_request(a, c, type, body, len); return;
	case DPK_MSG_PSK_HANDSHAKE:
	case DPK_MSG_PSK_GET:
	case DPK_MSG_TICKET_ISSUE:
	case DPK_MSG_TICKET_REDEEM: agent_psk_request(a, c, type, body, len); return;
	default:
		agent_reply_failure(c, DPK_ERR_UNSUPPORTED, "unknown request type 0x%02x", type);
	}
}

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
		    a->cfg.registration_paper ? REG_FLOW_PAPER : REG_FLOW_EIP712) != 0) {
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
