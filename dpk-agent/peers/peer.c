/* Handshakes with other agents over TCP, inside the event loop.
 *
 * Transport (doc/protocol.md, "PSK listener"): each handshake message is
 * framed as u32 length (big-endian, 1..DPK_HS_MSG_MAX) | message. A frame
 * of length 0 or above the cap ends the session at once. Every session has
 * a deadline (psk_handshake_timeout) for the whole handshake. Inbound and
 * outbound handshakes have budgets of their own (psk_max_handshakes,
 * psk_max_outbound), so peers that connect and stay silent never hold up
 * the handshakes this host starts; one source (an IPv4 address or an IPv6
 * /64, daemon/netsource.h) gets at most psk_max_per_source of the inbound
 * ones. A connection beyond them gets an ERROR message (busy) and is
 * closed, without waiting for anything. Sockets are
 * non-blocking, names are resolved with getaddrinfo_a, peer keys come from
 * the lookup cache or the chain worker: nothing here waits on the network,
 * so one slow or hostile peer never holds up another session. */
#include "peers/peer.h"

#include "agent.h"
#include "chain/lookup.h"
#include "chain/rotate.h"
#include "common/clock.h"
#include "common/conn.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/psk_listen.h"

#include "base/err.h"
#include "daemon/netsource.h"
#include "proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define PEER_FRAME_MAX (4 + DPK_HS_MSG_MAX)

enum sess_state {
	S_RESOLVE = 1, /* initiator: getaddrinfo_a under way */
	S_KEY,         /* waiting for the peer's key (either role) */
	S_CONNECT,     /* initiator: connect under way */
	S_IO,          /* exchanging messages */
	S_CLOSING,     /* sending the last bytes (M4 or an ERROR), then closing */
};

struct sess {
	int fd;
	enum dpk_hs_role role;
	enum sess_state st;
	struct dpk_hs *hs;
	int64_t deadline_ms;
	struct agent_keywait kw;
	struct dpk_identity peer;
	int have_peer;
	uint8_t in[PEER_FRAME_MAX];
	size_t inlen;
	uint8_t out[2 * PEER_FRAME_MAX]; /* at most two messages queue (M3 then nothing; M4 then close) */
	size_t outlen, outoff;
	int pfd;                         /* index in this round's pollfds, or -1 */
	int got_bytes;
	char addr[64];                   /* the remote address, for log lines */
	struct dpk_netsource src;        /* responder: the peer's source, for the per-source cap */
	/* initiator */
	struct conn *waiter;
	uint64_t waiter_token;
	agent_peer_done_fn done; /* tells the waiter how the handshake ended */
	int want_key;
	char host[256], port[8];
	struct gaicb gai;
	struct gaicb *gai_list[1];
	int gai_started;
	struct addrinfo *ai_next;
	int connect_err;
};

struct agent_peer {
	int listen_fd;
	struct dpk_identity self;
	int have_self;
	struct sess **sess;
	size_t max;
	int listen_pfd;
	struct psk_store store;
	struct ticket_seen seen;
	uint64_t next_token;
};

/* --- sessions ------------------------------------------------------------- */

static void
id_text(const struct dpk_identity *id, char *out, size_t outsz)
{
	if (dpk_identity_format(id, out, outsz) != 0)
		snprintf(out, outsz, "?");
}

static void
sess_free(struct agent_peer *p, size_t slot)
{
	struct sess *s = p->sess[slot];

	if (s->fd >= 0)
		close(s->fd);
	if (s->gai_started) {
		if (s->gai_list[0] != NULL && gai_cancel(&s->gai) == EAI_NOTCANCELED)
			gai_suspend((const struct gaicb *const *)s->gai_list, 1, NULL);
		if (s->gai.ar_result != NULL)
			freeaddrinfo(s->gai.ar_result);
	}
	dpk_hs_free(s->hs);
	explicit_bzero(s, sizeof(*s));
	free(s);
	p->sess[slot] = NULL;
}

/* Sessions of one role: inbound (responder) and outbound (initiator) have budgets of their own. */
static size_t
sess_count(const struct agent_peer *p, enum dpk_hs_role role)
{
	size_t n = 0;

	for (size_t i = 0; i < p->max; i++)
		n += p->sess[i] != NULL && p->sess[i]->role == role;
	return n;
}

static struct sess *
sess_new(struct agent *a, enum dpk_hs_role role, size_t *slot)
{
	struct agent_peer *p = a->peer;
	struct dpk_identity *self = &p->self;
	struct sess *s;
	size_t i;

	for (i = 0; i < p->max && p->sess[i] != NULL; i++)
		;
	if (agent_keyop_revoked(a)) /* a revoked identity makes no handshakes */
		return NULL;
	if (i == p->max || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->hs = dpk_hs_new(role, a->idkey, self, NULL)) == NULL) {
		free(s);
		return NULL;
	}
	s->fd = -1;
	s->role = role;
	s->pfd = -1;
	s->deadline_ms = agent_now_ms() + a->cfg.psk_handshake_timeout_ms;
	p->sess[i] = s;
	*slot = i;
	return s;
}

/* Queue one framed message. */
static int
sess_queue(struct sess *s, const uint8_t *m, size_t n)
{
	if (n == 0 || n > DPK_HS_MSG_MAX || n + 4 > sizeof(s->out) - s->outlen)
		return DPK_ERR_TOOBIG;
	s->out[s->outlen] = (uint8_t)(n >> 24);
	s->out[s->outlen + 1] = (uint8_t)(n >> 16);
	s->out[s->outlen + 2] = (uint8_t)(n >> 8);
	s->out[s->outlen + 3] = (uint8_t)n;
	memcpy(s->out + s->outlen + 4, m, n);
	s->outlen += 4 + n;
	return 0;
}

/* Tell whoever started this handshake for a local client how it ended. */
static void
answer_waiter(struct agent *a, struct sess *s, int err, const char *why, const struct psk_entry *e)
{
	struct conn *c = s->waiter;

	s->waiter = NULL;
	if (c != NULL && s->done != NULL)
		s->done(a, c, s->waiter_token, &s->peer, s->want_key, err, why, e);
}

/* End the session: log, tell the waiter, send what is queued and close. */
static void
sess_fail(struct agent *a, struct sess *s, int err, const char *why)
{
	char peer[DPK_IDENTITY_FORMAT_SIZE] = "(not yet known)";

	if (s->have_peer)
		id_text(&s->peer, peer, sizeof(peer));
	/* a connection that sent nothing at all (a port probe) is not worth a notice */
	agent_log(s->role == DPK_HS_RESPONDER && !s->have_peer && !s->got_bytes ? LOG_INFO : LOG_NOTICE,
	    "PSK handshake (%s) with %s at %s failed: %s", s->role == DPK_HS_INITIATOR ?
	    "initiator" : "responder", peer, s->addr[0] ? s->addr : "-", why);
	agent_metrics_handshake(s->role == DPK_HS_INITIATOR, AGENT_METRICS_HS_FAILED);
	answer_waiter(a, s, err, why, NULL);
	s->st = S_CLOSING;
}

/* Kill the handshake for a reason of ours and tell the peer. */
static void
sess_abort(struct agent *a, struct sess *s, int err, const char *why)
{
	struct dpk_buf out;

	dpk_buf_init(&out, DPK_HS_MSG_MAX);
	dpk_hs_fail(s->hs, err, &out);
	if (out.len > 0 && s->fd >= 0 && (s->st == S_IO || s->st == S_KEY))
		sess_queue(s, out.data, out.len);
	dpk_buf_free(&out);
	sess_fail(a, s, err, why);
}

static void
sess_done(struct agent *a, struct sess *s)
{
	struct agent_peer *p = a->peer;
	struct dpk_hs_result res;
	const struct psk_entry *e;
	char peer[DPK_IDENTITY_FORMAT_SIZE];
	int64_t now = agent_now_ms();
	int r;

	if ((r = dpk_hs_result(s->hs, &res)) != 0) {
		sess_fail(a, s, r, dpk_strerror(r));
		return;
	}
	s->peer = res.peer;
	s->have_peer = 1;
	r = psk_store_put(&p->store, &res.peer, res.psk_identity, res.psk,
	    s->role == DPK_HS_INITIATOR ? PSK_ORIGIN_INITIATOR : PSK_ORIGIN_RESPONDER, a->cfg.psk_lifetime_ms, now);
	explicit_bzero(&res, sizeof(res));
	if (r != 0) {
		sess_fail(a, s, r, "cannot keep the PSK (out of memory)");
		return;
	}
	e = psk_store_by_peer(&p->store, &s->peer, now);
	id_text(&s->peer, peer, sizeof(peer));
	agent_log(LOG_INFO, "PSK established with %s (%s), identity %s", peer,
	    s->role == DPK_HS_INITIATOR ? "we started" : "it started", e->identity);
	agent_metrics_handshake(s->role == DPK_HS_INITIATOR, AGENT_METRICS_HS_OK);
	answer_waiter(a, s, 0, NULL, e);
	s->st = S_CLOSING;
}

/* Advance the state machine with one received message (or none). */
static void
sess_step(struct agent *a, struct sess *s, const uint8_t *in, size_t inlen)
{
	struct dpk_buf out;

	dpk_buf_init(&out, DPK_HS_MSG_MAX);
	for (;;) {
		int st;

		dpk_buf_reset(&out);
		st = dpk_hs_step(s->hs, in, inlen, &out);
		in = NULL;
		inlen = 0;
		if (st < 0) {
			if (out.len > 0)
				sess_queue(s, out.data, out.len);
			if (st == DPK_ERR_PEER) {
				int pe = dpk_hs_peer_error(s->hs);
				char why[160];

				snprintf(why, sizeof(why), "the peer refused: %s", dpk_strerror(pe ? pe : st));
				sess_fail(a, s, pe ? pe : st, why);
			} else {
				sess_fail(a, s, st, st == DPK_ERR_PERM ? "refused (not the peer meant, or a failed decryption, "
				    "nonce, identity, signature or key confirmation)" : dpk_strerror(st));
			}
			break;
		}
		if (st == DPK_HS_SEND) {
			if (sess_queue(s, out.data, out.len) != 0) {
				sess_fail(a, s, DPK_ERR_TOOBIG, "message over the cap");
				break;
			}
			continue;
		}
		if (st == DPK_HS_RECV) {
			s->st = S_IO;
			break;
		}
		if (st == DPK_HS_NEED_KEY) {
			const struct dpk_identity *pid = dpk_hs_peer_identity(s->hs);

			if (pid == NULL) {
				sess_abort(a, s, DPK_ERR_STATE, "no peer identity to look up");
				break;
			}
			s->peer = *pid;
			s->have_peer = 1;
			s->st = S_KEY;
			agent_keywait_start(a, &s->kw, pid, s->deadline_ms);
			break;
		}
		if (st == DPK_HS_DONE) {
			sess_done(a, s);
			break;
		}
		sess_abort(a, s, DPK_ERR_STATE, "unexpected handshake state");
		break;
	}
	dpk_buf_free(&out);
}

static void sess_frames(struct agent *a, struct sess *s);

/* The peer key arrived (or not): feed it to the handshake. */
static void
sess_key(struct agent *a, struct sess *s, int64_t now)
{
	const struct dpk_registry_record *rec = NULL;
	char why[160], peer[DPK_IDENTITY_FORMAT_SIZE], msg[DPK_IDENTITY_FORMAT_SIZE + 200];
	int r = agent_keywait_poll(a, &s->kw, now, &rec, why, sizeof(why));

	if (r == 0)
		return;
	if (r < 0) {
		id_text(&s->peer, peer, sizeof(peer));
		snprintf(msg, sizeof(msg), "%s: %s", peer, why);
		sess_abort(a, s, r, msg);
		return;
	}
	if ((r = dpk_hs_set_peer_key(s->hs, rec->alg, rec->pubkey, rec->publen)) != 0) {
		sess_abort(a, s, r, "the peer's key on chain is not usable");
		return;
	}
	if (s->role == DPK_HS_INITIATOR && s->fd < 0) {
		s->st = S_RESOLVE; /* now find and connect to the peer */
		return;
	}
	s->st = S_IO;
	sess_step(a, s, NULL, 0);
	sess_frames(a, s); /* what the peer sent meanwhile */
}

/* Feed every complete frame the handshake is ready for. */
static void
sess_frames(struct agent *a, struct sess *s)
{
	while (s->st == S_IO && s->inlen >= 4) {
		size_t flen = (size_t)s->in[0] << 24 | (size_t)s->in[1] << 16 | (size_t)s->in[2] << 8 | s->in[3];
		uint8_t msg[DPK_HS_MSG_MAX];

		if (flen == 0 || flen > DPK_HS_MSG_MAX) {
			char why[96];

			snprintf(why, sizeof(why), "a frame of %zu bytes (the cap is %d)", flen, DPK_HS_MSG_MAX);
			sess_abort(a, s, DPK_ERR_TOOBIG, why);
			return;
		}
		if (s->inlen < 4 + flen)
			return;
		memcpy(msg, s->in + 4, flen);
		memmove(s->in, s->in + 4 + flen, s->inlen - 4 - flen);
		s->inlen -= 4 + flen;
		sess_step(a, s, msg, flen);
		explicit_bzero(msg, flen);
	}
}

static int
sess_read(struct agent *a, struct sess *s)
{
	for (;;) {
		ssize_t n;

		if (s->st == S_CLOSING)
			s->inlen = 0; /* nothing more is read from a session that ended */
		if (s->inlen == sizeof(s->in)) {
			sess_frames(a, s);
			if (s->inlen == sizeof(s->in)) {
				/* a whole frame's worth ahead of the protocol: no honest peer does that */
				sess_abort(a, s, DPK_ERR_STATE, "the peer sent more than one message ahead");
				s->inlen = 0;
				return 0;
			}
		}
		n = recv(s->fd, s->in + s->inlen, sizeof(s->in) - s->inlen, 0);
		if (n == 0) {
			if (s->st == S_IO)
				sess_frames(a, s); /* the last message may come with the close */
			if (s->st != S_CLOSING)
				sess_fail(a, s, DPK_ERR_TRUNCATED, "the peer closed the connection mid-handshake");
			return -1;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			sess_fail(a, s, DPK_ERR_NET, strerror(errno));
			return -1;
		}
		s->inlen += (size_t)n;
		s->got_bytes = 1;
		if (s->inlen >= 4) {
			size_t flen = (size_t)s->in[0] << 24 | (size_t)s->in[1] << 16 | (size_t)s->in[2] << 8 | s->in[3];

			if ((flen == 0 || flen > DPK_HS_MSG_MAX) && s->st != S_CLOSING) {
				char why[96];

				/* refused before reading any of it */
				snprintf(why, sizeof(why), "a frame of %zu bytes (the cap is %d)", flen, DPK_HS_MSG_MAX);
				sess_abort(a, s, DPK_ERR_TOOBIG, why);
				s->inlen = 0;
				return 0;
			}
		}
	}
	if (s->st == S_IO)
		sess_frames(a, s);
	return 0;
}

/* 1 when everything queued has been sent. */
static int
sess_write(struct sess *s)
{
	while (s->outoff < s->outlen) {
		ssize_t n = send(s->fd, s->out + s->outoff, s->outlen - s->outoff, MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		s->outoff += (size_t)n;
	}
	explicit_bzero(s->out, s->outlen);
	s->outlen = s->outoff = 0;
	return 1;
}

static void
addr_text(const struct sockaddr *sa, char *out, size_t outsz)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof(host));
		port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof(host));
		port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	}
	snprintf(out, outsz, sa->sa_family == AF_INET6 ? "[%s]:%d" : "%s:%d", host, port);
}

/* Initiator: try the next resolved address. */
static void
sess_connect_next(struct agent *a, struct sess *s)
{
	while (s->ai_next != NULL) {
		struct addrinfo *ai = s->ai_next;
		int fd;

		s->ai_next = ai->ai_next;
		if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
			continue;
		addr_text(ai->ai_addr, s->addr, sizeof(s->addr));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
			s->fd = fd;
			s->st = S_CONNECT;
			return;
		}
		s->connect_err = errno;
		close(fd);
	}
	char why[400];

	snprintf(why, sizeof(why), "cannot connect to %s port %s: %s", s->host, s->port,
	    s->connect_err ? strerror(s->connect_err) : "no address");
	sess_fail(a, s, DPK_ERR_NET, why);
}

static void
sess_resolve(struct agent *a, struct sess *s)
{
	int r;

	if (!s->gai_started) {
		static const struct addrinfo numeric = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST};
		struct addrinfo *res = NULL;

		/* an address needs no resolver: connect at once */
		if (getaddrinfo(s->host, s->port, &numeric, &res) == 0) {
			s->gai.ar_result = res;
			s->gai_started = 1;
			s->ai_next = res;
			sess_connect_next(a, s);
			return;
		}
		static const struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};

		s->gai.ar_name = s->host;
		s->gai.ar_service = s->port;
		s->gai.ar_request = &hints;
		s->gai_list[0] = &s->gai;
		if ((r = getaddrinfo_a(GAI_NOWAIT, s->gai_list, 1, NULL)) != 0) {
			char why[400];

			snprintf(why, sizeof(why), "cannot resolve %s: %s", s->host, gai_strerror(r));
			sess_fail(a, s, DPK_ERR_NET, why);
			return;
		}
		s->gai_started = 1;
	}
	if ((r = gai_error(&s->gai)) == EAI_INPROGRESS)
		return;
	if (r != 0) {
		char why[400];

		snprintf(why, sizeof(why), "cannot resolve %s: %s", s->host, gai_strerror(r));
		sess_fail(a, s, DPK_ERR_NET, why);
		return;
	}
	s->ai_next = s->gai.ar_result;
	sess_connect_next(a, s);
}

static void
sess_connected(struct agent *a, struct sess *s)
{
	int err = 0, one = 1;
	socklen_t el = sizeof(err);

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
		s->connect_err = err;
		close(s->fd);
		s->fd = -1;
		sess_connect_next(a, s);
		return;
	}
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->st = S_IO;
	sess_step(a, s, NULL, 0); /* M1 */
}

int
agent_peer_initiate(struct agent *a, struct conn *c, const struct dpk_identity *peer, const char *host,
    const char *port, int want_key, agent_peer_done_fn done)
{
	struct agent_peer *p = a->peer;
	char text[DPK_IDENTITY_FORMAT_SIZE];
	struct sess *s;
	size_t slot;
	int r;

	if (p == NULL || !p->have_self) {
		agent_reply_failure(c, DPK_ERR_INVALID, "this agent has no identity configured (dpk.conf: identity)");
		return DPK_ERR_INVALID;
	}
	if (dpk_hs_identity_equal(peer, &p->self)) {
		agent_reply_failure(c, DPK_ERR_INVALID, "a PSK with this host itself makes no sense: name a peer");
		return DPK_ERR_INVALID;
	}
	id_text(peer, text, sizeof(text));
	if (host == NULL && peer->kind == DPK_IDENTITY_UUID) {
		agent_reply_failure(c, DPK_ERR_INVALID, "%s is a UUID, which has no network address: give HOST:PORT", text);
		return DPK_ERR_INVALID;
	}
	if (sess_count(p, DPK_HS_INITIATOR) >= a->cfg.psk_max_outbound || (s = sess_new(a, DPK_HS_INITIATOR, &slot)) == NULL) {
		agent_metrics_handshake(1, AGENT_METRICS_HS_REFUSED);
		agent_reply_failure(c, DPK_ERR_BUSY, "%u PSK handshakes started here are under way already (psk_max_outbound); "
		    "try again shortly", a->cfg.psk_max_outbound);
		return DPK_ERR_BUSY;
	}
	s->peer = *peer;
	s->have_peer = 1;
	s->want_key = want_key;
	snprintf(s->host, sizeof(s->host), "%s", host != NULL ? host : text);
	if (port != NULL)
		snprintf(s->port, sizeof(s->port), "%s", port);
	else
		snprintf(s->port, sizeof(s->port), "%u", (unsigned)a->cfg.psk_port);
	if ((r = dpk_hs_set_peer(s->hs, peer)) != 0) {
		sess_free(p, slot);
		agent_reply_failure(c, r, "cannot start a handshake with %s: %s", text, dpk_strerror(r));
		return r;
	}
	agent_conn_wait_other(c, &s->waiter_token);
	s->waiter = c;
	s->done = done;
	s->st = S_KEY;
	agent_keywait_start(a, &s->kw, peer, s->deadline_ms);
	sess_key(a, s, agent_now_ms());
	return 0;
}

/* --- the listener ---------------------------------------------------------- */

/* Responder sessions from src. */
static size_t
sess_from(const struct agent_peer *p, const struct dpk_netsource *src)
{
	size_t n = 0;

	for (size_t i = 0; i < p->max; i++)
		n += p->sess[i] != NULL && p->sess[i]->role == DPK_HS_RESPONDER && dpk_netsource_equal(&p->sess[i]->src, src);
	return n;
}

/* One source may hold psk_max_per_source inbound handshakes (by default a
 * quarter of psk_max_handshakes, at least one), so a single host or /64
 * that opens connections and stays silent cannot take them all. */
static size_t
per_source_cap(const struct agent *a)
{
	if (a->cfg.psk_max_per_source != 0)
		return a->cfg.psk_max_per_source;
	return a->cfg.psk_max_handshakes >= 4 ? a->cfg.psk_max_handshakes / 4 : 1;
}

static void
accept_peers(struct agent *a)
{
	struct agent_peer *p = a->peer;

	for (int i = 0; i < 16; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct sess *s;
		size_t slot;
		int one = 1;
		int fd = accept4(p->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0)
			return;
		struct dpk_netsource src;
		int full;

		dpk_netsource_of((struct sockaddr *)&ss, &src);
		full = sess_count(p, DPK_HS_RESPONDER) >= a->cfg.psk_max_handshakes;
		if (full || sess_from(p, &src) >= per_source_cap(a) || (s = sess_new(a, DPK_HS_RESPONDER, &slot)) == NULL) {
			/* refuse at once with an ERROR (busy), never queueing the peer */
			struct dpk_hs *hs = dpk_hs_new(DPK_HS_RESPONDER, a->idkey, &p->self, NULL);
			struct dpk_buf out;
			char addr[64];

			dpk_buf_init(&out, DPK_HS_MSG_MAX);
			if (hs != NULL && dpk_hs_fail(hs, DPK_ERR_BUSY, &out) != 0 && out.len > 0 &&
			    out.len <= DPK_HS_MSG_MAX) {
				uint8_t frame[4 + DPK_HS_MSG_MAX];

				frame[0] = (uint8_t)(out.len >> 24);
				frame[1] = (uint8_t)(out.len >> 16);
				frame[2] = (uint8_t)(out.len >> 8);
				frame[3] = (uint8_t)out.len;
				memcpy(frame + 4, out.data, out.len);
				if (send(fd, frame, 4 + out.len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
					/* the peer learns it from the close */
				}
			}
			dpk_buf_free(&out);
			dpk_hs_free(hs);
			addr_text((struct sockaddr *)&ss, addr, sizeof(addr));
			agent_metrics_handshake(0, AGENT_METRICS_HS_REFUSED);
			if (full) {
				agent_log(LOG_WARNING, "refusing a PSK handshake from %s: psk_max_handshakes (%u) inbound are under way",
				    addr, a->cfg.psk_max_handshakes);
			} else {
				char srctext[64];

				dpk_netsource_format(&src, srctext, sizeof(srctext));
				agent_log(LOG_WARNING, "refusing a PSK handshake from %s: %zu are from %s already (psk_max_per_source)",
				    addr, per_source_cap(a), srctext);
			}
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		s->fd = fd;
		s->st = S_IO;
		addr_text((struct sockaddr *)&ss, s->addr, sizeof(s->addr));
		s->src = src;
		sess_step(a, s, NULL, 0); /* the responder starts by waiting for M1 */
	}
}

int
agent_peer_start(struct agent *a, char *err, size_t errsz)
{
	struct agent_peer *p = calloc(1, sizeof(*p));
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1, zero = 0;

	size_t slots = (size_t)a->cfg.psk_max_handshakes + a->cfg.psk_max_outbound;

	if (p == NULL || (p->sess = calloc(slots, sizeof(*p->sess))) == NULL) {
		free(p);
		snprintf(err, errsz, "out of memory");
		return DPK_ERR_NOMEM;
	}
	p->max = slots;
	p->listen_fd = -1;
	p->listen_pfd = -1;
	psk_store_init(&p->store, 4096);
	a->peer = p;
	/* tickets redeemed before a restart stay redeemed */
	if (ticket_seen_load(&p->seen, a->cfg.state_dir, (uint64_t)time(NULL), err, errsz) != 0)
		return DPK_ERR_IO;
	if (a->cfg.identity != NULL &&
	    dpk_identity_parse(a->cfg.identity, strlen(a->cfg.identity), &p->self) == 0)
		p->have_self = 1;
	if (a->cfg.psk_listen == NULL)
		return 0;
	if (!p->have_self) {
		snprintf(err, errsz, "%s: psk_listen needs this host's identity (dpk.conf: identity)", a->config_path);
		return DPK_ERR_INVALID;
	}
	agent_psk_listen_parse(a->cfg.psk_listen, &ss, &sl);
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) != 0) ||
	    bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 128) != 0) {
		snprintf(err, errsz, "cannot listen for PSK handshakes on %s (psk_listen): %s", a->cfg.psk_listen,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return DPK_ERR_IO;
	}
	p->listen_fd = fd;
	agent_log(LOG_INFO, "listening for PSK handshakes on %s", a->cfg.psk_listen);
	return 0;
}

void
agent_peer_stop(struct agent *a)
{
	struct agent_peer *p = a->peer;

	if (p == NULL)
		return;
	for (size_t i = 0; i < p->max; i++)
		if (p->sess[i] != NULL)
			sess_free(p, i);
	if (p->listen_fd >= 0)
		close(p->listen_fd);
	psk_store_clear(&p->store);
	ticket_seen_clear(&p->seen);
	free(p->sess);
	explicit_bzero(p, sizeof(*p));
	free(p);
	a->peer = NULL;
}

int
agent_peer_timers(struct agent *a, int64_t now, int wait_ms)
{
	struct agent_peer *p = a->peer;
	int64_t next = now + wait_ms;

	if (p == NULL)
		return wait_ms;
	for (size_t i = 0; i < p->max; i++) {
		struct sess *s = p->sess[i];

		if (s == NULL)
			continue;
		if (s->st == S_KEY)
			sess_key(a, s, now);
		if (s->st == S_RESOLVE)
			sess_resolve(a, s);
		if (s->st != S_CLOSING && now >= s->deadline_ms) {
			char why[64];

			snprintf(why, sizeof(why), "no answer within %u ms", a->cfg.psk_handshake_timeout_ms);
			sess_abort(a, s, DPK_ERR_TIMEOUT, why);
		}
		/* a resolver request cannot always be cancelled: keep the session until it ends, rather than wait for it here */
		if (s->st == S_CLOSING && s->gai_list[0] != NULL && gai_error(&s->gai) == EAI_INPROGRESS) {
			gai_cancel(&s->gai);
			next = next < now + 10 ? next : now + 10;
			continue;
		}
		/* closing: after the last bytes, or at once when nothing can be sent */
		if (s->st == S_CLOSING && (s->fd < 0 || s->outlen == 0 || now >= s->deadline_ms + 1000)) {
			sess_free(p, i);
			continue;
		}
		if (s->st == S_RESOLVE || s->st == S_KEY)
			next = next < now + 10 ? next : now + 10; /* getaddrinfo_a and the cache are polled */
		else if (s->deadline_ms < next)
			next = s->deadline_ms;
	}
	return next <= now ? 0 : (int)(next - now);
}

size_t
agent_peer_pollfds(struct agent *a, struct pollfd *pfd, size_t n, size_t cap)
{
	struct agent_peer *p = a->peer;

	if (p == NULL)
		return n;
	p->listen_pfd = -1;
	if (p->listen_fd >= 0 && n < cap) {
		p->listen_pfd = (int)n;
		pfd[n++] = (struct pollfd){p->listen_fd, POLLIN, 0};
	}
	for (size_t i = 0; i < p->max; i++) {
		struct sess *s = p->sess[i];
		short ev;

		if (s == NULL)
			continue;
		s->pfd = -1;
		if (s->fd < 0 || n >= cap)
			continue;
		ev = s->st == S_CONNECT || s->outlen > 0 ? POLLOUT : 0;
		if (s->st == S_IO || s->st == S_CLOSING || (s->st == S_KEY && s->inlen < sizeof(s->in)))
			ev |= POLLIN;
		s->pfd = (int)n;
		pfd[n++] = (struct pollfd){s->fd, ev, 0};
	}
	return n;
}

void
agent_peer_events(struct agent *a, const struct pollfd *pfd, size_t n)
{
	struct agent_peer *p = a->peer;

	if (p == NULL)
		return;
	for (size_t i = 0; i < p->max; i++) {
		struct sess *s = p->sess[i];
		short re;

		if (s == NULL || s->pfd < 0 || (size_t)s->pfd >= n || pfd[s->pfd].fd != s->fd)
			continue;
		re = pfd[s->pfd].revents;
		s->pfd = -1;
		if (re == 0)
			continue;
		if (s->st == S_CONNECT) {
			if (re & (POLLOUT | POLLERR | POLLHUP))
				sess_connected(a, s);
			if (s->st != S_IO)
				continue;
		}
		if ((re & (POLLIN | POLLHUP | POLLERR)) && sess_read(a, s) != 0) {
			sess_free(p, i);
			continue;
		}
		if (s->outlen > 0 && sess_write(s) < 0) {
			if (s->st != S_CLOSING)
				sess_fail(a, s, DPK_ERR_NET, "the peer went away");
			sess_free(p, i);
			continue;
		}
		if (s->st == S_CLOSING && s->outlen == 0)
			sess_free(p, i);
	}
	if (p->listen_pfd >= 0 && (size_t)p->listen_pfd < n && (pfd[p->listen_pfd].revents & POLLIN))
		accept_peers(a);
}

struct psk_store *
agent_psk_store(struct agent *a)
{
	return &a->peer->store;
}

struct ticket_seen *
agent_ticket_seen(struct agent *a)
{
	return &a->peer->seen;
}

const struct dpk_identity *
agent_self_identity(struct agent *a)
{
	return a->peer != NULL && a->peer->have_self ? &a->peer->self : NULL;
}
