#include "common/conn.h"

#include "common/metrics.h"
#include "base/err.h"
#include "proto.h"
#include "wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every reply is built here, then copied to its connection. */
static uint8_t scratch[4 + AGENT_FRAME_MAX];

void
agent_conn_out_release(struct conn *c)
{
	if (c->out != NULL)
		explicit_bzero(c->out, c->outlen);
	if (c->out != NULL && c->out != c->small_out)
		free(c->out);
	c->out = NULL;
	c->outlen = c->outoff = 0;
}

/* Frame the reply body in scratch + 5 with its type and hand it to c. */
static void
reply_frame(struct conn *c, uint8_t type, size_t bodylen)
{
	uint32_t flen = (uint32_t)bodylen + 1;
	size_t n = 5 + bodylen;
	uint8_t *out = c->small_out;

	agent_conn_out_release(c); /* a reply that replaces one not sent (never in the loop) */
	scratch[0] = (uint8_t)(flen >> 24);
	scratch[1] = (uint8_t)(flen >> 16);
	scratch[2] = (uint8_t)(flen >> 8);
	scratch[3] = (uint8_t)flen;
	scratch[4] = type;
	if (n > sizeof(c->small_out) && (out = malloc(n)) == NULL) {
		explicit_bzero(scratch, n);
		agent_reply_failure(c, DPK_ERR_NOMEM, "out of memory for a reply of %zu bytes", n);
		return;
	}
	memcpy(out, scratch, n);
	explicit_bzero(scratch, n); /* replies may carry secrets */
	c->out = out;
	c->outlen = n;
	c->outoff = 0;
	agent_metrics_request(c->req_type, type == DPK_MSG_FAILURE);
}

int
agent_conn_in_room(struct conn *c, size_t flen)
{
	uint8_t *p;

	if (c->in == NULL) {
		c->in = c->small_in;
		c->incap = sizeof(c->small_in);
	}
	if (4 + flen <= c->incap)
		return 0;
	if ((p = malloc(4 + flen)) == NULL)
		return -1;
	memcpy(p, c->in, c->inlen);
	explicit_bzero(c->in, c->inlen);
	if (c->in != c->small_in)
		free(c->in);
	c->in = p;
	c->incap = 4 + flen;
	return 0;
}

void
agent_conn_in_release(struct conn *c)
{
	if (c->in != NULL)
		explicit_bzero(c->in, c->inlen);
	if (c->in != NULL && c->in != c->small_in)
		free(c->in);
	c->in = c->small_in;
	c->incap = sizeof(c->small_in);
	c->inlen = 0;
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
	dpk_wire_w_init(&w, scratch + 5, sizeof(scratch) - 5);
	dpk_wire_put_u32(&w, (uint32_t)(err < 0 ? -err : err));
	dpk_wire_put_string(&w, msg, strlen(msg));
	reply_frame(c, DPK_MSG_FAILURE, w.len);
}

void
agent_reply_begin(struct conn *c, struct dpk_wire_w *w)
{
	(void)c;
	dpk_wire_w_init(w, scratch + 5, sizeof(scratch) - 5);
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
	agent_conn_in_release(c);
}
