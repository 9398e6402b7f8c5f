/* The local PSK and ticket requests (doc/protocol.md, "PSK exchange"):
 * PSK_HANDSHAKE starts a handshake (peer.c) and answers when it ends;
 * PSK_GET reads the store; TICKET_ISSUE and TICKET_REDEEM are the capillary
 * gateway's delegated mode (lib/psk/ticket.h), each waiting for one key from
 * the chain. A PSK itself goes only to root, admin_group and psk_group, and
 * only they may redeem a ticket. */
#include "peers/psk.h"

#include "agent.h"
#include "chain/lookup.h"
#include "common/clock.h"
#include "common/conn.h"
#include "common/log.h"
#include "peers/peer.h"

#include "base/err.h"
#include "proto.h"
#include "psk/ticket.h"
#include "wire.h"

#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>

#define TICKET_OPS_MAX 64


/* A ticket request waiting for a key from the chain: the server's (issue)
 * or the gateway's (redeem). Its request stays in c->in. */
static struct ticket_op {
	struct conn *c;
	uint64_t token;
	uint8_t type;
	struct agent_keywait kw;
} ops[TICKET_OPS_MAX];

/* Root, admin_group, or psk_group (primary or supplementary). */
static int
may_read_keys(struct agent *a, struct conn *c)
{
	struct group gr, *res = NULL;
	char buf[16384];
	gid_t groups[256];
	socklen_t len = sizeof(groups);

	if (c->privileged)
		return 1;
	if (a->cfg.psk_group == NULL || getgrnam_r(a->cfg.psk_group, &gr, buf, sizeof(buf), &res) != 0 || res == NULL)
		return 0;
	if (c->gid == gr.gr_gid)
		return 1;
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0)
		return 0;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gr.gr_gid)
			return 1;
	return 0;
}

static void
refuse_key(struct conn *c)
{
	agent_reply_failure(c, DPK_ERR_PERM, "a PSK itself is for root, admin_group and psk_group (you are uid %ld); "
	    "ask without the key for its identity", (long)c->uid);
}

/* PSK reply: string PSK identity, string peer identity, u8 origin, u64
 * expiry (unix seconds), u8 has key, string key (empty without). */
static void
reply_entry(struct agent *a, struct conn *c, uint8_t req_type, const struct psk_entry *e, int want_key)
{
	char peer[DPK_IDENTITY_FORMAT_SIZE];
	struct dpk_wire_w w;

	(void)a;
	if (dpk_identity_format(&e->peer, peer, sizeof(peer)) != 0)
		peer[0] = '\0';
	agent_reply_begin(c, &w);
	dpk_wire_put_string(&w, e->identity, strlen(e->identity));
	dpk_wire_put_string(&w, peer, strlen(peer));
	dpk_wire_put_u8(&w, e->origin);
	dpk_wire_put_u64(&w, e->expires_unix);
	dpk_wire_put_u8(&w, want_key ? 1 : 0);
	dpk_wire_put_string(&w, e->key, want_key ? DPK_HS_PSK_LEN : 0);
	agent_reply_end(c, req_type, &w);
}

static int
get_identity(struct dpk_wire_r *rd, struct dpk_identity *id)
{
	size_t n;
	const uint8_t *p = dpk_wire_get_string(rd, &n);

	return p != NULL && dpk_identity_parse((const char *)p, n, id) == 0 ? 0 : -1;
}

/* "HOST:PORT" or "[IPv6]:PORT" into host and port. */
static int
split_endpoint(const uint8_t *p, size_t n, char *host, size_t hostsz, char *port, size_t portsz)
{
	char buf[320], *colon, *h;
	size_t pl;

	if (n == 0 || n >= sizeof(buf) || memchr(p, '\0', n) != NULL)
		return -1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	if ((colon = strrchr(buf, ':')) == NULL)
		return -1;
	*colon = '\0';
	h = buf;
	if (h[0] == '[') {
		size_t hl = strlen(h);

		if (hl < 3 || h[hl - 1] != ']')
			return -1;
		h[hl - 1] = '\0';
		h++;
	} else if (strchr(h, ':') != NULL) {
		return -1; /* an IPv6 address needs its brackets */
	}
	pl = strlen(colon + 1);
	if (*h == '\0' || strlen(h) >= hostsz || pl == 0 || pl > 5 || pl >= portsz ||
	    strspn(colon + 1, "0123456789") != pl || strtoul(colon + 1, NULL, 10) < 1 ||
	    strtoul(colon + 1, NULL, 10) > 65535)
		return -1;
	memcpy(host, h, strlen(h) + 1);
	memcpy(port, colon + 1, pl + 1);
	return 0;
}

/* A handshake this request started ended: answer the client if it still waits. */
static void
handshake_done(struct agent *a, struct conn *waiter, uint64_t token, const struct dpk_identity *peer, int want_key,
    int err, const char *why, const struct psk_entry *e)
{
	struct conn *c = agent_conn_alive(a->conns, AGENT_MAX_CONNECTIONS, waiter, token);
	char text[DPK_IDENTITY_FORMAT_SIZE];

	if (c == NULL)
		return;
	agent_conn_unwait(c);
	if (err == 0) {
		reply_entry(a, c, DPK_MSG_PSK_HANDSHAKE, e, want_key);
		return;
	}
	if (dpk_identity_format(peer, text, sizeof(text)) != 0)
		snprintf(text, sizeof(text), "?");
	agent_reply_failure(c, err, "PSK handshake with %s failed: %s", text, why);
}

static void
handle_handshake(struct agent *a, struct conn *c, struct dpk_wire_r *rd)
{
	struct dpk_identity peer;
	char host[256], port[8];
	const uint8_t *ep;
	size_t epn;
	uint8_t want_key;
	int has_ep;

	if (get_identity(rd, &peer) != 0) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "PSK_HANDSHAKE: the peer is not a DPK identity "
		    "(a domain name, an IPv4 or IPv6 address, or a UUID)");
		return;
	}
	ep = dpk_wire_get_string(rd, &epn);
	want_key = dpk_wire_get_u8(rd);
	if (ep == NULL || dpk_wire_r_done(rd) != 0 || want_key > 1) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "malformed PSK_HANDSHAKE request");
		return;
	}
	has_ep = epn > 0;
	if (has_ep && split_endpoint(ep, epn, host, sizeof(host), port, sizeof(port)) != 0) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "'%.*s' is not HOST:PORT (or [IPv6]:PORT)", (int)(epn > 100 ? 100 : epn),
		    (const char *)ep);
		return;
	}
	if (want_key && !may_read_keys(a, c)) {
		refuse_key(c);
		return;
	}
	/* anyone may reach a peer at its own address; only trusted callers may point the agent elsewhere */
	if (has_ep && !may_read_keys(a, c)) {
		agent_reply_failure(c, DPK_ERR_PERM, "naming HOST:PORT is for root, admin_group and psk_group (you are uid %ld); "
		    "without it the agent connects to the peer identity's own address", (long)c->uid);
		return;
	}
	agent_peer_initiate(a, c, &peer, has_ep ? host : NULL, has_ep ? port : NULL, want_key, handshake_done);
}

static void
handle_get(struct agent *a, struct conn *c, struct dpk_wire_r *rd)
{
	uint8_t by = dpk_wire_get_u8(rd);
	char value[DPK_IDENTITY_FORMAT_SIZE > DPK_HS_PSK_ID_MAX + 1 ? DPK_IDENTITY_FORMAT_SIZE : DPK_HS_PSK_ID_MAX + 1];
	const struct psk_entry *e = NULL;
	struct dpk_identity peer;
	uint8_t want_key;
	int64_t now = agent_now_ms();

	dpk_wire_get_text(rd, value, sizeof(value));
	want_key = dpk_wire_get_u8(rd);
	if (dpk_wire_r_done(rd) != 0 || (by != 1 && by != 2) || want_key > 1) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "malformed PSK_GET request");
		return;
	}
	if (want_key && !may_read_keys(a, c)) {
		refuse_key(c);
		return;
	}
	if (by == 1) {
		if (dpk_identity_parse(value, strlen(value), &peer) != 0) {
			agent_reply_failure(c, DPK_ERR_SYNTAX, "'%s' is not a DPK identity", value);
			return;
		}
		e = psk_store_by_peer(agent_psk_store(a), &peer, now);
	} else {
		e = psk_store_by_identity(agent_psk_store(a), value, now);
	}
	if (e == NULL) {
		agent_reply_failure(c, DPK_ERR_NOTFOUND, "no PSK %s %s (none was made, or it expired): run dpkctl psk PEER",
		    by == 1 ? "with" : "named", value);
		return;
	}
	reply_entry(a, c, DPK_MSG_PSK_GET, e, want_key);
}

/* Parse a waiting ticket request again from c->in. */
struct ticket_req {
	struct dpk_identity device, server;
	uint32_t lifetime;
	const uint8_t *ticket;
	size_t ticketlen;
	uint8_t want_key;
	struct dpk_ticket_info info;
};

static int
parse_ticket_req(uint8_t type, const uint8_t *body, size_t len, struct ticket_req *t, char *why, size_t whysz)
{
	struct dpk_wire_r rd;
	int r;

	memset(t, 0, sizeof(*t));
	dpk_wire_r_init(&rd, body, len);
	if (type == DPK_MSG_TICKET_ISSUE) {
		if (get_identity(&rd, &t->device) != 0 || get_identity(&rd, &t->server) != 0) {
			snprintf(why, whysz, "TICKET_ISSUE: the device and the server must be DPK identities");
			return DPK_ERR_SYNTAX;
		}
		t->lifetime = dpk_wire_get_u32(&rd);
		if (dpk_wire_r_done(&rd) != 0 || t->lifetime == 0 || t->lifetime > DPK_TICKET_LIFETIME_MAX) {
			snprintf(why, whysz, "malformed TICKET_ISSUE request (lifetime 1..%d s)", DPK_TICKET_LIFETIME_MAX);
			return DPK_ERR_SYNTAX;
		}
		return 0;
	}
	t->ticket = dpk_wire_get_string(&rd, &t->ticketlen);
	t->want_key = dpk_wire_get_u8(&rd);
	if (t->ticket == NULL || dpk_wire_r_done(&rd) != 0 || t->want_key > 1) {
		snprintf(why, whysz, "malformed TICKET_REDEEM request");
		return DPK_ERR_SYNTAX;
	}
	if ((r = dpk_ticket_parse(t->ticket, t->ticketlen, &t->info)) != 0) {
		snprintf(why, whysz, "this is not a DPK ticket: %s", dpk_strerror(r));
		return r;
	}
	return 0;
}

static void
finish_issue(struct agent *a, struct conn *c, const struct ticket_req *t, const struct dpk_registry_record *rec)
{
	const struct dpk_identity *self = agent_self_identity(a);
	struct dpk_ticket_psk psk;
	struct dpk_wire_w w;
	struct dpk_buf out;
	uint64_t now = (uint64_t)time(NULL);
	int r;

	dpk_buf_init(&out, DPK_TICKET_MAX);
	r = dpk_ticket_issue(a->idkey, self, &t->device, &t->server, rec->alg, rec->pubkey, rec->publen, now,
	    t->lifetime, NULL, &out, &psk);
	if (r != 0) {
		agent_reply_failure(c, r, "cannot issue the ticket: %s", dpk_strerror(r));
	} else {
		agent_reply_begin(c, &w);
		dpk_wire_put_string(&w, out.data, out.len);
		dpk_wire_put_string(&w, psk.psk_identity, strlen(psk.psk_identity));
		dpk_wire_put_string(&w, psk.psk, sizeof(psk.psk));
		dpk_wire_put_u64(&w, now + t->lifetime);
		agent_reply_end(c, DPK_MSG_TICKET_ISSUE, &w);
		agent_log(LOG_INFO, "issued a ticket (PSK identity %s), valid %u s", psk.psk_identity, t->lifetime);
	}
	explicit_bzero(&psk, sizeof(psk));
	dpk_buf_free(&out);
}

static void
finish_redeem(struct agent *a, struct conn *c, struct ticket_req *t, const struct dpk_registry_record *rec)
{
	struct ticket_seen *seen = agent_ticket_seen(a);
	const struct psk_entry *e;
	char why[4400];
	struct dpk_ticket_psk psk;
	uint64_t now = (uint64_t)time(NULL);
	int64_t now_ms = agent_now_ms();
	uint32_t life_ms;
	int r;

	r = dpk_ticket_redeem(a->idkey, agent_self_identity(a), rec->alg, rec->pubkey, rec->publen, t->ticket,
	    t->ticketlen, now, &t->info, &psk);
	if (r != 0) {
		agent_reply_failure(c, r, "%s", r == DPK_ERR_EXPIRED ? "the ticket has expired" :
		    r == DPK_ERR_PERM ? "the ticket is for another server" :
		    r == DPK_ERR_BADSIG ? "the ticket's signature is not the gateway's key on chain" :
		    r == DPK_ERR_BADMAC ? "the ticket's key was not sealed to this server's key" : dpk_strerror(r));
		goto out;
	}
	if (ticket_seen_has(seen, t->info.id, now)) {
		agent_log(LOG_WARNING, "refused a ticket redeemed before (a replay)");
		agent_reply_failure(c, DPK_ERR_REPLAY, "this ticket was redeemed before: a ticket is good once");
		goto out;
	}
	if ((r = ticket_seen_add(seen, t->info.id, t->info.expiry + 1, now)) != 0) {
		agent_reply_failure(c, r, "cannot record the ticket: %s", dpk_strerror(r));
		goto out;
	}
	/* on disk before the PSK is handed out: a restart must not make it redeemable again */
	if ((r = ticket_seen_save(seen, a->cfg.state_dir, now, why, sizeof(why))) != 0) {
		ticket_seen_remove(seen, t->info.id);
		agent_log(LOG_ERR, "%s", why);
		agent_reply_failure(c, r, "cannot record the ticket as redeemed, so it was not redeemed: %s", why);
		goto out;
	}
	/* the PSK lives as long as the ticket would, or psk_lifetime if that is shorter */
	life_ms = a->cfg.psk_lifetime_ms;
	if (t->info.expiry > now && (t->info.expiry - now) * 1000 < life_ms)
		life_ms = (uint32_t)((t->info.expiry - now) * 1000);
	if ((r = psk_store_put(agent_psk_store(a), &t->info.device, psk.psk_identity, psk.psk, PSK_ORIGIN_TICKET,
	    life_ms < 1000 ? 1000 : life_ms, now_ms)) != 0) {
		agent_reply_failure(c, r, "cannot keep the PSK: %s", dpk_strerror(r));
		goto out;
	}
	e = psk_store_by_identity(agent_psk_store(a), psk.psk_identity, now_ms);
	agent_log(LOG_INFO, "redeemed a ticket: PSK identity %s", e->identity);
	reply_entry(a, c, DPK_MSG_TICKET_REDEEM, e, t->want_key);
out:
	explicit_bzero(&psk, sizeof(psk));
}

static void
ticket_request(struct agent *a, struct conn *c, uint8_t type, const uint8_t *body, size_t len)
{
	struct ticket_req t;
	char why[200];
	size_t i;
	int r;

	if ((r = parse_ticket_req(type, body, len, &t, why, sizeof(why))) != 0) {
		agent_reply_failure(c, r, "%s", why);
		return;
	}
	if (agent_self_identity(a) == NULL) {
		agent_reply_failure(c, DPK_ERR_INVALID, "this agent has no identity configured (dpk.conf: identity)");
		return;
	}
	/* redeeming makes the agent keep a key under a ticket PSK identity: only
	 * those who may read keys may do that, or any local user could fill the
	 * store and the replay cache */
	if (type == DPK_MSG_TICKET_REDEEM && !may_read_keys(a, c)) {
		agent_reply_failure(c, DPK_ERR_PERM, "redeeming a ticket is for root, admin_group and psk_group "
		    "(you are uid %ld)", (long)c->uid);
		return;
	}
	if ((type == DPK_MSG_TICKET_ISSUE || t.want_key) && !may_read_keys(a, c)) {
		refuse_key(c);
		return;
	}
	for (i = 0; i < TICKET_OPS_MAX && ops[i].c != NULL; i++)
		;
	if (i == TICKET_OPS_MAX) {
		agent_reply_failure(c, DPK_ERR_BUSY, "too many ticket requests under way; try again shortly");
		return;
	}
	ops[i].c = c;
	ops[i].type = type;
	agent_conn_wait_other(c, &ops[i].token);
	agent_keywait_start(a, &ops[i].kw, type == DPK_MSG_TICKET_ISSUE ? &t.server : &t.info.gateway,
	    agent_now_ms() + a->cfg.request_timeout_ms);
	agent_psk_timers(a, agent_now_ms());
}

void
agent_psk_timers(struct agent *a, int64_t now)
{
	for (size_t i = 0; i < TICKET_OPS_MAX; i++) {
		struct ticket_op *op = &ops[i];
		const struct dpk_registry_record *rec = NULL;
		struct ticket_req t;
		struct conn *c;
		char why[200];
		int r;

		if (op->c == NULL)
			continue;
		if ((c = agent_conn_alive(a->conns, AGENT_MAX_CONNECTIONS, op->c, op->token)) == NULL) {
			memset(op, 0, sizeof(*op)); /* the client went away */
			continue;
		}
		if ((r = agent_keywait_poll(a, &op->kw, now, &rec, why, sizeof(why))) == 0)
			continue;
		if (parse_ticket_req(op->type, c->in + 5, c->inlen - 5, &t, why, sizeof(why)) != 0) {
			r = DPK_ERR_SYNTAX;
		}
		if (r < 0) {
			const char *who = op->type == DPK_MSG_TICKET_ISSUE ? "the server" : "the ticket's gateway";
			char msg[300];

			snprintf(msg, sizeof(msg), "%s: %s", who, why);
			/* the reply is built before the request bytes are wiped: why may point at nothing in them */
			agent_conn_unwait(c);
			agent_reply_failure(c, r, "%s", msg);
		} else {
			/* the request bytes stay until the reply is built (the ticket is in them) */
			c->waiting = 0;
			c->wait_token = 0;
			if (op->type == DPK_MSG_TICKET_ISSUE)
				finish_issue(a, c, &t, rec);
			else
				finish_redeem(a, c, &t, rec);
			explicit_bzero(c->in, c->inlen);
			c->inlen = 0;
		}
		memset(op, 0, sizeof(*op));
	}
}

void
agent_psk_request(struct agent *a, struct conn *c, uint8_t type, const uint8_t *body, size_t len)
{
	struct dpk_wire_r rd;

	dpk_wire_r_init(&rd, body, len);
	switch (type) {
	case DPK_MSG_PSK_HANDSHAKE: handle_handshake(a, c, &rd); return;
	case DPK_MSG_PSK_GET: handle_get(a, c, &rd); return;
	case DPK_MSG_TICKET_ISSUE:
	case DPK_MSG_TICKET_REDEEM: ticket_request(a, c, type, body, len); return;
	default: agent_reply_failure(c, DPK_ERR_UNSUPPORTED, "unknown request type 0x%02x", type);
	}
}
