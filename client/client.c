/* libdpkclient: connect, frame, send, receive with a deadline. libc only. */
#include "dpk/client.h"
#include "proto.h"
#include "wire.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>


struct dpk_client {
	int fd;
	int timeout_ms;
	uint32_t agent_code;
	char agent_msg[512];
	uint32_t login_stale_ms; /* the last LOGIN_VERIFY or LOGIN_ACCOUNT answer's */
	int login_proven;        /* and the block its record was proven at */
	uint64_t login_block;
	uint8_t login_block_hash[32];
	struct {                 /* the last STATUS answer's chain reads */
		int verify_reads, has_anchor;
		uint64_t anchor, anchor_time;
		uint8_t anchor_hash[32];
		size_t nep;
		struct {
			char display[160];
			int state;
			unsigned bad;
			uint64_t chain_id, head;
		} ep[16];
	} st_chain;
	int has_ops;             /* the last STATUS answer's operations block */
	struct dpk_client_status_ops ops;
	int lookup_proven;       /* the last LOOKUP answer's proof anchor */
	uint64_t lookup_block;
	uint8_t lookup_block_hash[32];
	uint8_t frame[4 + DPK_CLIENT_MAX_FRAME];
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to become ready for events before the deadline. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pf = {fd, events, 0};
		int64_t left = deadline - now_ms();
		int r;

		if (left <= 0)
			return DPK_CLIENT_ETIMEOUT;
		r = poll(&pf, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return DPK_CLIENT_EUNAVAIL;
	}
}

/* Connect fd to sa before the deadline. A Unix socket whose listen backlog
 * is full fails a non-blocking connect with EAGAIN and stays unconnected
 * (there is nothing to poll for): try again, backing off from 1 to 32 ms,
 * until the agent takes it or the deadline passes. */
static int
connect_within(int fd, const struct sockaddr_un *sa, int64_t deadline)
{
	int backoff_ms = 1;

	for (;;) {
		int err;
		socklen_t el = sizeof(err);
		int64_t left;

		if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
			return 0;
		if (errno == EINPROGRESS || errno == EALREADY || errno == EINTR) {
			int r = wait_fd(fd, POLLOUT, deadline);

			if (r != 0)
				return r;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0)
				return DPK_CLIENT_EUNAVAIL;
			return 0;
		}
		if (errno != EAGAIN)
			return DPK_CLIENT_EUNAVAIL;
		if ((left = deadline - now_ms()) <= 0)
			return DPK_CLIENT_ETIMEOUT;
		poll(NULL, 0, left < backoff_ms ? (int)left : backoff_ms);
		if (backoff_ms < 32)
			backoff_ms *= 2;
	}
}

int
dpk_client_open(const char *path, int timeout_ms, int require_root_owner, struct dpk_client **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct dpk_client *c = NULL;
	int64_t deadline;
	int saved_errno = errno, r = DPK_CLIENT_EUNAVAIL;

	*out = NULL;
	if (path == NULL) {
		const char *env = secure_getenv("DPK_AGENT_SOCKET");

		path = env != NULL && *env != '\0' ? env : DPK_CLIENT_DEFAULT_SOCKET;
	}
	if (timeout_ms <= 0 || strlen(path) >= sizeof(sa.sun_path))
		return DPK_CLIENT_EINVAL;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	deadline = now_ms() + timeout_ms;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		r = DPK_CLIENT_ENOMEM;
		goto out;
	}
	c->timeout_ms = timeout_ms;
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		goto out;
	if ((r = connect_within(c->fd, &sa, deadline)) != 0)
		goto out;
	r = DPK_CLIENT_EUNAVAIL;
	if (require_root_owner) {
		struct ucred cred;
		socklen_t cl = sizeof(cred);

		if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 || cred.uid != 0)
			goto out;
	}
	*out = c;
	c = NULL;
	r = 0;
out:
	if (c != NULL) {
		if (c->fd >= 0)
			close(c->fd);
		free(c);
	}
	errno = saved_errno;
	return r;
}

int
dpk_client_peer_uid(const struct dpk_client *c, unsigned long *uid)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	int saved_errno = errno;

	*uid = (unsigned long)-1;
	if (c == NULL || getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0) {
		errno = saved_errno;
		return DPK_CLIENT_EUNAVAIL;
	}
	*uid = (unsigned long)cred.uid;
	return 0;
}

/* For the fuzzer: wrap an already connected socket. Not exported. */
int dpkclient_internal_adopt_fd(int fd, int timeout_ms, struct dpk_client **out);
int
dpkclient_internal_adopt_fd(int fd, int timeout_ms, struct dpk_client **out)
{
	struct dpk_client *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return DPK_CLIENT_ENOMEM;
	c->fd = fd;
	c->timeout_ms = timeout_ms;
	*out = c;
	return 0;
}

void
dpk_client_close(struct dpk_client *c)
{
	int saved_errno = errno;

	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	explicit_bzero(c, sizeof(*c)); /* replies may have held secrets */
	free(c);
	errno = saved_errno;
}

static void
client_drop(struct dpk_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int
send_all(struct dpk_client *c, const uint8_t *p, size_t n, int64_t deadline)
{
	while (n > 0) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			int r = wait_fd(c->fd, POLLOUT, deadline);

			if (r != 0)
				return r;
		} else {
			return DPK_CLIENT_EUNAVAIL;
		}
	}
	return 0;
}

static int
recv_all(struct dpk_client *c, uint8_t *p, size_t n, int64_t deadline)
{
	while (n > 0) {
		ssize_t got = recv(c->fd, p, n, 0);

		if (got > 0) {
			p += got;
			n -= (size_t)got;
		} else if (got == 0) {
			return DPK_CLIENT_EPROTO; /* the agent hung up mid-reply */
		} else if (errno == EAGAIN || errno == EINTR) {
			int r = wait_fd(c->fd, POLLIN, deadline);

			if (r != 0)
				return r;
		} else {
			return DPK_CLIENT_EUNAVAIL;
		}
	}
	return 0;
}

int
dpk_client_call(struct dpk_client *c, uint8_t type, const void *req, size_t reqlen,
    uint8_t *rtype, void *reply, size_t replycap, size_t *replylen)
{
	int64_t deadline;
	uint32_t flen = 0;
	size_t used = 0;
	int saved_errno = errno, r;

	*replylen = 0;
	c->agent_code = 0;
	c->agent_msg[0] = '\0';
	if (c->fd < 0) {
		r = DPK_CLIENT_EUNAVAIL;
		goto out;
	}
	if (reqlen >= DPK_CLIENT_MAX_FRAME) {
		r = DPK_CLIENT_ETOOBIG;
		goto out;
	}
	deadline = now_ms() + c->timeout_ms;
	flen = (uint32_t)reqlen + 1;
	c->frame[0] = (uint8_t)(flen >> 24);
	c->frame[1] = (uint8_t)(flen >> 16);
	c->frame[2] = (uint8_t)(flen >> 8);
	c->frame[3] = (uint8_t)flen;
	c->frame[4] = type;
	if (reqlen > 0)
		memcpy(c->frame + 5, req, reqlen);
	used = reqlen + 5;
	if ((r = send_all(c, c->frame, reqlen + 5, deadline)) != 0)
		goto fail;

	if ((r = recv_all(c, c->frame, 4, deadline)) != 0)
		goto fail;
	flen = (uint32_t)c->frame[0] << 24 | (uint32_t)c->frame[1] << 16 |
	    (uint32_t)c->frame[2] << 8 | c->frame[3];
	if (flen == 0 || flen > DPK_CLIENT_MAX_FRAME) {
		r = DPK_CLIENT_EPROTO;
		goto fail;
	}
	if (flen > used)
		used = flen;
	if ((r = recv_all(c, c->frame, flen, deadline)) != 0)
		goto fail;
	*rtype = c->frame[0];
	if (*rtype == DPK_MSG_FAILURE) {
		struct dpk_wire_r rd;

		dpk_wire_r_init(&rd, c->frame + 1, flen - 1);
		c->agent_code = dpk_wire_get_u32(&rd);
		if (dpk_wire_get_text(&rd, c->agent_msg, sizeof(c->agent_msg)) != 0 ||
		    dpk_wire_r_done(&rd) != 0) {
			r = DPK_CLIENT_EPROTO;
			goto fail;
		}
		r = DPK_CLIENT_EAGENT;
		goto out;
	}
	if (*rtype != (type | 0x80)) {
		r = DPK_CLIENT_EPROTO;
		goto fail;
	}
	if (flen - 1 > replycap) {
		r = DPK_CLIENT_ETOOBIG;
		goto fail;
	}
	if (flen > 1)
		memcpy(reply, c->frame + 1, flen - 1);
	*replylen = flen - 1;
	r = 0;
	goto out;
fail:
	/* after a short or odd exchange the stream position is unknown */
	client_drop(c);
out:
	/* replies may carry secrets: wipe what this call used (not all 64 KiB) */
	explicit_bzero(c->frame, used < sizeof(c->frame) ? used : sizeof(c->frame));
	errno = saved_errno;
	return r;
}

int
dpk_client_agent_error(const struct dpk_client *c, const char **message)
{
	if (message != NULL)
		*message = c->agent_msg;
	return (int)c->agent_code;
}

int
dpk_client_hello(struct dpk_client *c, uint32_t *proto, char *version, size_t versionsz)
{
	uint8_t req[4], reply[512], rtype;
	struct dpk_wire_w w;
	struct dpk_wire_r rd;
	size_t n;
	int r;

	dpk_wire_w_init(&w, req, sizeof(req));
	dpk_wire_put_u32(&w, DPK_CLIENT_PROTOCOL_VERSION);
	if ((r = dpk_client_call(c, DPK_MSG_HELLO, req, w.len, &rtype, reply, sizeof(reply), &n)) != 0)
		return r;
	dpk_wire_r_init(&rd, reply, n);
	*proto = dpk_wire_get_u32(&rd);
	if (dpk_wire_get_text(&rd, version, versionsz) != 0 || dpk_wire_r_done(&rd) != 0)
		return DPK_CLIENT_EPROTO;
	return 0;
}

/* STATUS's operations block (doc/protocol.md), every byte consumed. */
static int
status_ops_decode(const uint8_t *p, size_t n, struct dpk_client_status_ops *o)
{
	struct dpk_wire_r rd;
	size_t bn = 0;
	const uint8_t *b;

	dpk_wire_r_init(&rd, p, n);
	o->chain = dpk_wire_get_u8(&rd);
	o->head_block = dpk_wire_get_u64(&rd);
	o->head_age_s = dpk_wire_get_u32(&rd);
	if (dpk_wire_get_text(&rd, o->chain_error, sizeof(o->chain_error)) != 0)
		return -1;
	o->reg_step = dpk_wire_get_u8(&rd);
	if (dpk_wire_get_text(&rd, o->reg_step_name, sizeof(o->reg_step_name)) != 0)
		return -1;
	if ((b = dpk_wire_get_string(&rd, &bn)) == NULL || (bn != 0 && bn != 32))
		return -1;
	o->has_balance = bn == 32;
	if (bn == 32)
		memcpy(o->balance_wei, b, 32);
	o->cache_entries = dpk_wire_get_u32(&rd);
	o->cache_hits = dpk_wire_get_u64(&rd);
	o->cache_misses = dpk_wire_get_u64(&rd);
	return o->chain > 2 || dpk_wire_r_done(&rd) != 0 ? -1 : 0;
}

int
dpk_client_status(struct dpk_client *c, struct dpk_client_status *st)
{
	uint8_t reply[4096], rtype;
	struct dpk_wire_r rd;
	const uint8_t *p;
	size_t n;
	int r;

	memset(st, 0, sizeof(*st));
	memset(&c->st_chain, 0, sizeof(c->st_chain));
	if ((r = dpk_client_call(c, DPK_MSG_STATUS, NULL, 0, &rtype, reply, sizeof(reply), &n)) != 0)
		return r;
	dpk_wire_r_init(&rd, reply, n);
	st->chain_id = dpk_wire_get_u64(&rd);
	if ((p = dpk_wire_get_string(&rd, &n)) == NULL || n != 20)
		return DPK_CLIENT_EPROTO;
	memcpy(st->contract, p, 20);
	if ((p = dpk_wire_get_string(&rd, &n)) == NULL || n != 20)
		return DPK_CLIENT_EPROTO;
	memcpy(st->wallet, p, 20);
	dpk_wire_get_text(&rd, st->identity, sizeof(st->identity));
	st->key_algorithm = dpk_wire_get_u8(&rd);
	st->caller_privileged = dpk_wire_get_u8(&rd) != 0;
	if (rd.len > 0) {
		/* an agent with verified reads reports its anchor and endpoints */
		size_t hn = 0, nep;

		c->st_chain.verify_reads = dpk_wire_get_u8(&rd) != 0;
		c->st_chain.has_anchor = dpk_wire_get_u8(&rd) != 0;
		c->st_chain.anchor = dpk_wire_get_u64(&rd);
		p = dpk_wire_get_string(&rd, &hn);
		if (p != NULL && hn == 32)
			memcpy(c->st_chain.anchor_hash, p, 32);
		else if (p == NULL || hn != 0 || c->st_chain.has_anchor)
			rd.err = 1;
		nep = dpk_wire_get_u8(&rd);
		if (nep > 16)
			rd.err = 1;
		for (size_t i = 0; i < nep && !rd.err; i++) {
			dpk_wire_get_text(&rd, c->st_chain.ep[i].display, sizeof(c->st_chain.ep[i].display));
			c->st_chain.ep[i].state = dpk_wire_get_u8(&rd);
			c->st_chain.ep[i].bad = dpk_wire_get_u32(&rd);
			c->st_chain.ep[i].chain_id = dpk_wire_get_u64(&rd);
			c->st_chain.ep[i].head = dpk_wire_get_u64(&rd);
		}
		c->st_chain.anchor_time = dpk_wire_get_u64(&rd);
		c->st_chain.nep = rd.err ? 0 : nep;
	}
	/* the operations block (dpkctl status), one string after the chain reads */
	c->has_ops = 0;
	memset(&c->ops, 0, sizeof(c->ops));
	if (rd.len > 0 && !rd.err) {
		size_t on = 0;
		const uint8_t *op = dpk_wire_get_string(&rd, &on);

		if (op == NULL || status_ops_decode(op, on, &c->ops) != 0)
			rd.err = 1;
		else
			c->has_ops = 1;
	}
	if (dpk_wire_r_done(&rd) != 0) {
		memset(st, 0, sizeof(*st));
		memset(&c->st_chain, 0, sizeof(c->st_chain));
		return DPK_CLIENT_EPROTO;
	}
	return 0;
}

int
dpk_client_status_ops(const struct dpk_client *c, struct dpk_client_status_ops *out)
{
	if (c == NULL || !c->has_ops)
		return 0;
	*out = c->ops;
	return 1;
}

int
dpk_client_cache_flush(struct dpk_client *c, uint32_t *dropped)
{
	uint8_t reply[16], rtype;
	struct dpk_wire_r rd;
	size_t n;
	int r;

	if ((r = dpk_client_call(c, DPK_MSG_CACHE_FLUSH, NULL, 0, &rtype, reply, sizeof(reply), &n)) != 0)
		return r;
	dpk_wire_r_init(&rd, reply, n);
	*dropped = dpk_wire_get_u32(&rd);
	return dpk_wire_r_done(&rd) != 0 ? DPK_CLIENT_EPROTO : 0;
}

int
dpk_client_status_anchor(const struct dpk_client *c, int *verify_reads, uint64_t *block, uint8_t hash[32])
{
	if (c == NULL)
		return 0;
	if (verify_reads != NULL)
		*verify_reads = c->st_chain.verify_reads;
	if (!c->st_chain.has_anchor)
		return 0;
	if (block != NULL)
		*block = c->st_chain.anchor;
	if (hash != NULL)
		memcpy(hash, c->st_chain.anchor_hash, 32);
	return 1;
}

int
dpk_client_status_endpoint(const struct dpk_client *c, size_t i, const char **display, int *state,
    unsigned *bad_answers)
{
	if (c == NULL || i >= c->st_chain.nep)
		return -1;
	if (display != NULL)
		*display = c->st_chain.ep[i].display;
	if (state != NULL)
		*state = c->st_chain.ep[i].state;
	if (bad_answers != NULL)
		*bad_answers = c->st_chain.ep[i].bad;
	return 0;
}

int
dpk_client_status_endpoint_chain(const struct dpk_client *c, size_t i, uint64_t *chain_id, uint64_t *head)
{
	if (c == NULL || i >= c->st_chain.nep)
		return -1;
	if (chain_id != NULL)
		*chain_id = c->st_chain.ep[i].chain_id;
	if (head != NULL)
		*head = c->st_chain.ep[i].head;
	return 0;
}

uint64_t
dpk_client_status_anchor_time(const struct dpk_client *c)
{
	return c != NULL && c->st_chain.has_anchor ? c->st_chain.anchor_time : 0;
}

/* A string field as a new NUL-terminated copy; NULL on a short body or no memory. */
static char *
dup_field(struct dpk_wire_r *rd, size_t *len, int text)
{
	size_t n;
	const uint8_t *p = dpk_wire_get_string(rd, &n);
	char *d;

	if (p == NULL || (text && memchr(p, '\0', n) != NULL) || (d = malloc(n + 1)) == NULL) {
		rd->err = 1;
		return NULL;
	}
	memcpy(d, p, n);
	d[n] = '\0';
	if (len != NULL)
		*len = n;
	return d;
}

int
dpk_client_pubkey(struct dpk_client *c, struct dpk_client_pubkey *pk)
{
	uint8_t *reply = malloc(DPK_CLIENT_MAX_FRAME), rtype;
	struct dpk_wire_r rd;
	size_t n;
	int r;

	memset(pk, 0, sizeof(*pk));
	if (reply == NULL)
		return DPK_CLIENT_ENOMEM;
	if ((r = dpk_client_call(c, DPK_MSG_PUBKEY, NULL, 0, &rtype, reply, DPK_CLIENT_MAX_FRAME, &n)) != 0)
		goto out;
	dpk_wire_r_init(&rd, reply, n);
	pk->algorithm = dpk_wire_get_u8(&rd);
	pk->onchain = (uint8_t *)dup_field(&rd, &pk->onchain_len, 0);
	pk->pem = dup_field(&rd, NULL, 1);
	pk->openssh = dup_field(&rd, NULL, 1);
	r = 0;
	if (dpk_wire_r_done(&rd) != 0) {
		dpk_client_pubkey_free(pk);
		r = DPK_CLIENT_EPROTO;
	}
out:
	free(reply);
	return r;
}

void
dpk_client_pubkey_free(struct dpk_client_pubkey *pk)
{
	free(pk->onchain);
	free(pk->pem);
	free(pk->openssh);
	memset(pk, 0, sizeof(*pk));
}

int
dpk_client_lookup(struct dpk_client *c, const char *identity, struct dpk_client_record *rec)
{
	uint8_t *buf = malloc(DPK_CLIENT_MAX_FRAME), rtype;
	struct dpk_wire_w w;
	struct dpk_wire_r rd;
	const uint8_t *p;
	size_t n, idlen = identity ? strlen(identity) : 0;
	int r;

	memset(rec, 0, sizeof(*rec));
	if (buf == NULL)
		return DPK_CLIENT_ENOMEM;
	if (identity == NULL || idlen > 1024) {
		free(buf);
		return DPK_CLIENT_EINVAL;
	}
	dpk_wire_w_init(&w, buf, DPK_CLIENT_MAX_FRAME);
	dpk_wire_put_string(&w, identity, idlen);
	if ((r = dpk_client_call(c, DPK_MSG_LOOKUP, buf, w.len, &rtype, buf, DPK_CLIENT_MAX_FRAME, &n)) != 0)
		goto out;
	dpk_wire_r_init(&rd, buf, n);
	rec->status = dpk_wire_get_u8(&rd);
	rec->kind = dpk_wire_get_u8(&rd);
	dpk_wire_get_text(&rd, rec->identity, sizeof(rec->identity));
	rec->algorithm = dpk_wire_get_u8(&rd);
	rec->pubkey = (uint8_t *)dup_field(&rd, &rec->publen, 0);
	if ((p = dpk_wire_get_string(&rd, &n)) != NULL && n == 20) {
		rec->has_controller = 1;
		memcpy(rec->controller, p, 20);
	} else if (p == NULL || n != 0) {
		rd.err = 1;
	}
	rec->version = dpk_wire_get_u32(&rd);
	rec->valid_from = dpk_wire_get_u64(&rd);
	rec->valid_until = dpk_wire_get_u64(&rd);
	rec->stale = dpk_wire_get_u8(&rd) != 0;
	rec->age_ms = dpk_wire_get_u32(&rd);
	c->lookup_proven = 0;
	if (rd.len > 0) {
		/* an agent with verified reads names the block it proved the answer at */
		size_t hn = 0;

		c->lookup_proven = dpk_wire_get_u8(&rd) != 0;
		c->lookup_block = dpk_wire_get_u64(&rd);
		p = dpk_wire_get_string(&rd, &hn);
		if (p != NULL && hn == 32)
			memcpy(c->lookup_block_hash, p, 32);
		else if (p == NULL || hn != 0 || c->lookup_proven)
			rd.err = 1;
	}
	r = 0;
	/* a key is only ever sent for an active record */
	if (dpk_wire_r_done(&rd) != 0 || rec->status > 2 || (rec->publen != 0) != (rec->status == 1)) {
		dpk_client_record_free(rec);
		r = DPK_CLIENT_EPROTO;
	} else if (rec->publen == 0) {
		free(rec->pubkey);
		rec->pubkey = NULL;
	}
out:
	free(buf);
	return r;
}

int
dpk_client_register(struct dpk_client *c, int start, struct dpk_client_registration *reg)
{
	uint8_t buf[1024], rtype, req = start ? 1 : 0;
	struct dpk_wire_r rd;
	size_t n;
	int r;

	memset(reg, 0, sizeof(*reg));
	if ((r = dpk_client_call(c, DPK_MSG_REGISTER, &req, 1, &rtype, buf, sizeof(buf), &n)) != 0)
		return r;
	dpk_wire_r_init(&rd, buf, n);
	reg->step = dpk_wire_get_u8(&rd);
	dpk_wire_get_text(&rd, reg->step_name, sizeof(reg->step_name));
	dpk_wire_get_text(&rd, reg->detail, sizeof(reg->detail));
	reg->elapsed_ms = dpk_wire_get_u64(&rd);
	reg->blocks = dpk_wire_get_u64(&rd);
	if (dpk_wire_r_done(&rd) != 0) {
		memset(reg, 0, sizeof(*reg));
		return DPK_CLIENT_EPROTO;
	}
	return 0;
}

void
dpk_client_psk_clear(struct dpk_client_psk *psk)
{
	if (psk != NULL)
		explicit_bzero(psk, sizeof(*psk));
}

/* The PSK reply: string identity, string peer, u8 origin, u64 expiry, u8
 * has key, string key. */
static int
read_psk(struct dpk_wire_r *rd, struct dpk_client_psk *psk)
{
	const uint8_t *k;
	size_t n;

	dpk_wire_get_text(rd, psk->identity, sizeof(psk->identity));
	dpk_wire_get_text(rd, psk->peer, sizeof(psk->peer));
	psk->origin = dpk_wire_get_u8(rd);
	psk->expires = dpk_wire_get_u64(rd);
	psk->has_key = dpk_wire_get_u8(rd);
	k = dpk_wire_get_string(rd, &n);
	if (k == NULL || psk->has_key > 1 || n > sizeof(psk->key) || (n == 0) != (psk->has_key == 0) ||
	    psk->identity[0] == '\0') {
		rd->err = 1;
		return -1;
	}
	memcpy(psk->key, k, n);
	psk->keylen = n;
	return 0;
}

/* Send req of type, read a PSK reply (extra: a TICKET_ISSUE reply). */
static int
psk_call(struct dpk_client *c, uint8_t type, const uint8_t *req, size_t reqlen, struct dpk_client_psk *psk)
{
	uint8_t *buf = malloc(DPK_CLIENT_MAX_FRAME), rtype;
	struct dpk_wire_r rd;
	size_t n;
	int r;

	if (buf == NULL)
		return DPK_CLIENT_ENOMEM;
	if ((r = dpk_client_call(c, type, req, reqlen, &rtype, buf, DPK_CLIENT_MAX_FRAME, &n)) == 0) {
		dpk_wire_r_init(&rd, buf, n);
		if (read_psk(&rd, psk) != 0 || dpk_wire_r_done(&rd) != 0) {
			dpk_client_psk_clear(psk);
			r = DPK_CLIENT_EPROTO;
		}
	}
	explicit_bzero(buf, n < DPK_CLIENT_MAX_FRAME ? n : DPK_CLIENT_MAX_FRAME);
	free(buf);
	return r;
}

int
dpk_client_psk_handshake(struct dpk_client *c, const char *peer, const char *endpoint, int want_key,
    struct dpk_client_psk *psk)
{
	uint8_t req[1024];
	struct dpk_wire_w w;

	memset(psk, 0, sizeof(*psk));
	if (peer == NULL || strlen(peer) > 300 || (endpoint != NULL && strlen(endpoint) > 300))
		return DPK_CLIENT_EINVAL;
	dpk_wire_w_init(&w, req, sizeof(req));
	dpk_wire_put_string(&w, peer, strlen(peer));
	dpk_wire_put_string(&w, endpoint, endpoint ? strlen(endpoint) : 0);
	dpk_wire_put_u8(&w, want_key ? 1 : 0);
	return psk_call(c, DPK_MSG_PSK_HANDSHAKE, req, w.len, psk);
}

static int
psk_get(struct dpk_client *c, uint8_t by, const char *value, int want_key, struct dpk_client_psk *psk)
{
	uint8_t req[1024];
	struct dpk_wire_w w;

	memset(psk, 0, sizeof(*psk));
	if (value == NULL || strlen(value) > 300)
		return DPK_CLIENT_EINVAL;
	dpk_wire_w_init(&w, req, sizeof(req));
	dpk_wire_put_u8(&w, by);
	dpk_wire_put_string(&w, value, strlen(value));
	dpk_wire_put_u8(&w, want_key ? 1 : 0);
	return psk_call(c, DPK_MSG_PSK_GET, req, w.len, psk);
}

int
dpk_client_psk_get(struct dpk_client *c, const char *peer, int want_key, struct dpk_client_psk *psk)
{
	return psk_get(c, 1, peer, want_key, psk);
}

int
dpk_client_psk_get_by_identity(struct dpk_client *c, const char *identity, int want_key,
    struct dpk_client_psk *psk)
{
	return psk_get(c, 2, identity, want_key, psk);
}

int
dpk_client_ticket_issue(struct dpk_client *c, const char *device, const char *server, uint32_t lifetime,
    uint8_t **ticket, size_t *ticketlen, struct dpk_client_psk *psk)
{
	uint8_t *buf, rtype;
	struct dpk_wire_w w;
	struct dpk_wire_r rd;
	const uint8_t *k;
	size_t n = 0;
	int r;

	memset(psk, 0, sizeof(*psk));
	*ticket = NULL;
	*ticketlen = 0;
	if (device == NULL || server == NULL || strlen(device) > 300 || strlen(server) > 300)
		return DPK_CLIENT_EINVAL;
	if ((buf = malloc(DPK_CLIENT_MAX_FRAME)) == NULL)
		return DPK_CLIENT_ENOMEM;
	dpk_wire_w_init(&w, buf, DPK_CLIENT_MAX_FRAME);
	dpk_wire_put_string(&w, device, strlen(device));
	dpk_wire_put_string(&w, server, strlen(server));
	dpk_wire_put_u32(&w, lifetime);
	if ((r = dpk_client_call(c, DPK_MSG_TICKET_ISSUE, buf, w.len, &rtype, buf, DPK_CLIENT_MAX_FRAME, &n)) != 0)
		goto out;
	dpk_wire_r_init(&rd, buf, n);
	*ticket = (uint8_t *)dup_field(&rd, ticketlen, 0);
	dpk_wire_get_text(&rd, psk->identity, sizeof(psk->identity));
	k = dpk_wire_get_string(&rd, &psk->keylen);
	psk->expires = dpk_wire_get_u64(&rd);
	if (dpk_wire_r_done(&rd) != 0 || k == NULL || psk->keylen == 0 || psk->keylen > sizeof(psk->key) ||
	    *ticketlen == 0 || psk->identity[0] == '\0') {
		free(*ticket);
		*ticket = NULL;
		*ticketlen = 0;
		dpk_client_psk_clear(psk);
		r = DPK_CLIENT_EPROTO;
		goto out;
	}
	memcpy(psk->key, k, psk->keylen);
	psk->has_key = 1;
	snprintf(psk->peer, sizeof(psk->peer), "%s", device);
	r = 0;
out:
	explicit_bzero(buf, n < DPK_CLIENT_MAX_FRAME ? n : DPK_CLIENT_MAX_FRAME);
	free(buf);
	return r;
}

int
dpk_client_ticket_redeem(struct dpk_client *c, const uint8_t *ticket, size_t ticketlen, int want_key,
    struct dpk_client_psk *psk)
{
	uint8_t *buf;
	struct dpk_wire_w w;
	int r;

	memset(psk, 0, sizeof(*psk));
	if (ticket == NULL || ticketlen == 0 || ticketlen > DPK_CLIENT_MAX_FRAME - 16)
		return DPK_CLIENT_EINVAL;
	if ((buf = malloc(DPK_CLIENT_MAX_FRAME)) == NULL)
		return DPK_CLIENT_ENOMEM;
	dpk_wire_w_init(&w, buf, DPK_CLIENT_MAX_FRAME);
	dpk_wire_put_string(&w, ticket, ticketlen);
	dpk_wire_put_u8(&w, want_key ? 1 : 0);
	r = psk_call(c, DPK_MSG_TICKET_REDEEM, buf, w.len, psk);
	free(buf);
	return r;
}

void
dpk_client_record_free(struct dpk_client_record *rec)
{
	free(rec->pubkey);
	memset(rec, 0, sizeof(*rec));
}

const char *
dpk_client_strerror(int err)
{
	switch (err) {
	case DPK_CLIENT_OK: return "success";
	case DPK_CLIENT_EUNAVAIL: return "dpk-agent is not reachable (is it running?)";
	case DPK_CLIENT_ETIMEOUT: return "dpk-agent did not answer in time";
	case DPK_CLIENT_EPROTO: return "malformed reply from dpk-agent";
	case DPK_CLIENT_ETOOBIG: return "message exceeds the protocol's size limit";
	case DPK_CLIENT_EAGENT: return "dpk-agent refused the request";
	case DPK_CLIENT_ENOMEM: return "out of memory";
	case DPK_CLIENT_EINVAL: return "invalid argument";
	}
	return "unknown error";
}

/* Send a body of one to three strings (s2, s3 may be NULL: they and what
 * follows are left out) and receive the reply into buf. */
static int
login_call(struct dpk_client *c, uint8_t type, const char *s1, const char *s2, const char *s3, uint8_t *buf,
    size_t cap, size_t *n)
{
	const char *s[3] = {s1, s2, s3};
	struct dpk_wire_w w;
	uint8_t rtype;

	dpk_wire_w_init(&w, buf, cap);
	for (int i = 0; i < 3 && s[i] != NULL; i++) {
		size_t l = strlen(s[i]);

		if (l > DPK_CLIENT_LOGIN_TEXT_MAX)
			return DPK_CLIENT_EINVAL;
		dpk_wire_put_string(&w, s[i], l);
	}
	if (w.err)
		return DPK_CLIENT_EINVAL;
	return dpk_client_call(c, type, buf, w.len, &rtype, buf, cap, n);
}

int
dpk_client_login_challenge(struct dpk_client *c, const char *user, const char *service,
    struct dpk_client_login_challenge *out)
{
	return dpk_client_login_challenge_from(c, user, service, NULL, out);
}

/* What the agent takes as a remote host: 1 to DPK_CLIENT_RHOST_MAX
 * printable ASCII characters, no spaces. */
static int
rhost_sendable(const char *rhost)
{
	size_t n = strlen(rhost);

	if (n == 0 || n > DPK_CLIENT_RHOST_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)rhost[i] <= 0x20 || (unsigned char)rhost[i] >= 0x7f)
			return 0;
	return 1;
}

int
dpk_client_login_challenge_from(struct dpk_client *c, const char *user, const char *service, const char *rhost,
    struct dpk_client_login_challenge *out)
{
	uint8_t buf[2048];
	struct dpk_wire_r rd;
	size_t n;
	int r;

	memset(out, 0, sizeof(*out));
	if (user == NULL || service == NULL)
		return DPK_CLIENT_EINVAL;
	if (rhost != NULL && !rhost_sendable(rhost))
		rhost = NULL; /* none, or not a host name: the agent counts it with the logins that name none */
	/* without a remote host the request is the two-string form every agent takes */
	if ((r = login_call(c, DPK_MSG_LOGIN_CHALLENGE, user, service, rhost, buf, sizeof(buf), &n)) != 0)
		return r;
	dpk_wire_r_init(&rd, buf, n);
	dpk_wire_get_text(&rd, out->challenge, sizeof(out->challenge));
	dpk_wire_get_text(&rd, out->identity, sizeof(out->identity));
	out->expiry = dpk_wire_get_u64(&rd);
	dpk_wire_get_text(&rd, out->host, sizeof(out->host));
	if (dpk_wire_r_done(&rd) != 0 || out->challenge[0] == '\0' || out->host[0] == '\0') {
		memset(out, 0, sizeof(*out));
		return DPK_CLIENT_EPROTO;
	}
	return 0;
}

/* LOGIN_RESPOND in mode (0 describe, 1 sign): a describe answer has an
 * empty response, a sign answer a non-empty one. */
static int
login_respond_call(struct dpk_client *c, const char *challenge, uint8_t mode, struct dpk_client_login_response *out)
{
	uint8_t buf[2048], rtype;
	struct dpk_wire_w w;
	struct dpk_wire_r rd;
	size_t n, l;
	int r;

	memset(out, 0, sizeof(*out));
	if (challenge == NULL || (l = strlen(challenge)) > DPK_CLIENT_LOGIN_TEXT_MAX)
		return DPK_CLIENT_EINVAL;
	dpk_wire_w_init(&w, buf, sizeof(buf));
	dpk_wire_put_string(&w, challenge, l);
	dpk_wire_put_u8(&w, mode);
	if (w.err)
		return DPK_CLIENT_EINVAL;
	if ((r = dpk_client_call(c, DPK_MSG_LOGIN_RESPOND, buf, w.len, &rtype, buf, sizeof(buf), &n)) != 0)
		return r;
	dpk_wire_r_init(&rd, buf, n);
	dpk_wire_get_text(&rd, out->response, sizeof(out->response));
	dpk_wire_get_text(&rd, out->host, sizeof(out->host));
	dpk_wire_get_text(&rd, out->user, sizeof(out->user));
	dpk_wire_get_text(&rd, out->service, sizeof(out->service));
	out->expiry = dpk_wire_get_u64(&rd);
	if (dpk_wire_r_done(&rd) != 0 || (out->response[0] != '\0') != (mode == 1) || out->host[0] == '\0' ||
	    out->user[0] == '\0' || out->service[0] == '\0') {
		explicit_bzero(buf, sizeof(buf));
		memset(out, 0, sizeof(*out));
		return DPK_CLIENT_EPROTO;
	}
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

int
dpk_client_login_describe(struct dpk_client *c, const char *challenge, struct dpk_client_login_response *out)
{
	return login_respond_call(c, challenge, 0, out);
}

int
dpk_client_login_respond(struct dpk_client *c, const char *challenge, struct dpk_client_login_response *out)
{
	return login_respond_call(c, challenge, 1, out);
}

/* The tail of a LOGIN_VERIFY / LOGIN_ACCOUNT reply (absent from agents
 * before verified reads): u8 proven, u64 block, string hash (32 or empty). */
static void
login_get_proof(struct dpk_client *c, struct dpk_wire_r *rd)
{
	const uint8_t *p;
	size_t hn = 0;

	c->login_proven = 0;
	if (rd->len == 0)
		return;
	c->login_proven = dpk_wire_get_u8(rd) != 0;
	c->login_block = dpk_wire_get_u64(rd);
	p = dpk_wire_get_string(rd, &hn);
	if (p != NULL && hn == 32 && c->login_proven)
		memcpy(c->login_block_hash, p, 32);
	else if (p == NULL || hn != 0 || c->login_proven)
		rd->err = 1;
	if (rd->err)
		c->login_proven = 0;
}

/* the block an answer was proven at, when it was: 1 and *block/hash set, else 0 */
static int
proof_out(int proven, uint64_t b, const uint8_t h[32], uint64_t *block, uint8_t hash[32])
{
	if (!proven)
		return 0;
	if (block != NULL)
		*block = b;
	if (hash != NULL)
		memcpy(hash, h, 32);
	return 1;
}

int
dpk_client_login_proof(const struct dpk_client *c, uint64_t *block, uint8_t hash[32])
{
	return c != NULL && proof_out(c->login_proven, c->login_block, c->login_block_hash, block, hash);
}

int
dpk_client_login_verify(struct dpk_client *c, const char *challenge, const char *response, char *identity,
    size_t identitysz)
{
	uint8_t buf[2048];
	struct dpk_wire_r rd;
	size_t n;
	int r;

	if (identitysz > 0)
		identity[0] = '\0';
	if (challenge == NULL || response == NULL || identitysz == 0)
		return DPK_CLIENT_EINVAL;
	c->login_stale_ms = 0;
	c->login_proven = 0;
	if ((r = login_call(c, DPK_MSG_LOGIN_VERIFY, challenge, response, NULL, buf, sizeof(buf), &n)) != 0)
		return r;
	dpk_wire_r_init(&rd, buf, n);
	if (dpk_wire_get_text(&rd, identity, identitysz) != 0)
		return DPK_CLIENT_EPROTO;
	c->login_stale_ms = dpk_wire_get_u32(&rd);
	login_get_proof(c, &rd);
	if (dpk_wire_r_done(&rd) != 0) {
		c->login_stale_ms = 0;
		c->login_proven = 0;
		return DPK_CLIENT_EPROTO;
	}
	return 0;
}

int
dpk_client_lookup_proof(const struct dpk_client *c, uint64_t *block, uint8_t hash[32])
{
	return c != NULL && proof_out(c->lookup_proven, c->lookup_block, c->lookup_block_hash, block, hash);
}

uint32_t
dpk_client_login_stale_ms(const struct dpk_client *c)
{
	return c != NULL ? c->login_stale_ms : 0;
}

int
dpk_client_login_account(struct dpk_client *c, const char *user, uint8_t *status, char *identity,
    size_t identitysz)
{
	uint8_t buf[1024];
	struct dpk_wire_r rd;
	size_t n;
	int r;

	*status = 0;
	if (identitysz > 0)
		identity[0] = '\0';
	if (user == NULL || identitysz == 0)
		return DPK_CLIENT_EINVAL;
	c->login_stale_ms = 0;
	c->login_proven = 0;
	if ((r = login_call(c, DPK_MSG_LOGIN_ACCOUNT, user, NULL, NULL, buf, sizeof(buf), &n)) != 0)
		return r;
	dpk_wire_r_init(&rd, buf, n);
	*status = dpk_wire_get_u8(&rd);
	if (dpk_wire_get_text(&rd, identity, identitysz) != 0 || (c->login_stale_ms = dpk_wire_get_u32(&rd), 0) ||
	    (login_get_proof(c, &rd), 0) || dpk_wire_r_done(&rd) != 0 || *status > 2) {
		*status = 0;
		c->login_stale_ms = 0;
		c->login_proven = 0;
		return DPK_CLIENT_EPROTO;
	}
	return 0;
}

int
dpk_client_user_check(struct dpk_client *c, const char *user, struct dpk_client_user_check *out)
{
	uint8_t buf[8192];
	struct dpk_wire_r rd;
	uint32_t n;
	size_t len;
	int r;

	memset(out, 0, sizeof(*out));
	if (user == NULL)
		return DPK_CLIENT_EINVAL;
	if ((r = login_call(c, DPK_MSG_USER_CHECK, user, NULL, NULL, buf, sizeof(buf), &len)) != 0)
		return r;
	dpk_wire_r_init(&rd, buf, len);
	out->result = dpk_wire_get_u8(&rd);
	out->login = dpk_wire_get_u8(&rd);
	dpk_wire_get_text(&rd, out->identity, sizeof(out->identity));
	out->uid = dpk_wire_get_u32(&rd);
	n = dpk_wire_get_u32(&rd);
	if (rd.err || n > DPK_CLIENT_USER_CHECK_STEPS || out->result > 5 || out->login > 1)
		goto bad;
	for (uint32_t i = 0; i < n; i++) {
		out->step[i].ok = dpk_wire_get_u8(&rd);
		if (dpk_wire_get_text(&rd, out->step[i].rule, sizeof(out->step[i].rule)) != 0 ||
		    dpk_wire_get_text(&rd, out->step[i].detail, sizeof(out->step[i].detail)) != 0 || out->step[i].ok > 1)
			goto bad;
	}
	if (dpk_wire_r_done(&rd) != 0)
		goto bad;
	out->n = n;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return DPK_CLIENT_EPROTO;
}
