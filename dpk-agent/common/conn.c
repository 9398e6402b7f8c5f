#include "common/conn.h"

#include "base/err.h"
#include "proto.h"
#include "wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Frame the reply body in w (built at c->out + 5) with its type. */
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

void
agent_conn_wait_other(struct conn *c, uint64_t *token)
{
	static uint64_t next_token = 1;

	c->waiting = 1;
	memset(c->wait_hash, 0, sizeof(c->wait_hash));
	c->on_chain = NULL;      /* no chain read answers it */
	c->deadline_ms = INT64_MAX; /* whoever answers it keeps its own deadline */
	c->wait_token = next_token++;
	*token = c->wait_token;
}

struct conn *
agent_conn_alive(struct conn *const *conns, size_t n, struct conn *c, uint64_t token)
{
	if (c == NULL || token == 0)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (conns[i] == c && c->wait_token == token && c->waiting)
			return c;
	return NULL;
}

void
agent_conn_unwait(struct conn *c)
{
	c->waiting = 0;
	c->wait_token = 0;
	explicit_bzero(c->in, c->inlen);
	c->inlen = 0;
}
