/* Host login by challenge-response (pam_dpk(8), doc/protocol.md "Host
 * login"): LOGIN_CHALLENGE, LOGIN_VERIFY and LOGIN_ACCOUNT on the host that
 * is logged in to, LOGIN_RESPOND on the user's own device.
 *
 * Pending challenges live in memory only, in a fixed table: a restart
 * forgets them (a login under way starts over). The table cannot be used
 * up: challenges are counted per source (the service and, when PAM gives
 * it, the remote host); a source holds at most LOGIN_MAX_PER_SOURCE
 * unanswered ones (its oldest gives way), and a full table makes room by
 * forgetting the oldest unanswered challenge of the source holding the
 * most. A flood of logins for made-up names from one host thus only ever
 * displaces its own challenges, never a real user's from elsewhere.
 * Single use: the first VERIFY of a challenge consumes it whatever its
 * outcome, so a response cannot be guessed twice; the consumed entry stays
 * until it expires or its slot is needed, so a replay is told apart (REPLAY)
 * from an unknown challenge (NOTFOUND). The table belongs to the event-loop
 * thread. */
#include "login/login.h"

#include "agent.h"
#include "base/err.h"
#include "base/hex.h"
#include "chain/lookup.h"
#include "common/clock.h"
#include "common/conn.h"
#include "common/log.h"
#include "login/login_msg.h"
#include "login/admit.h"
#include "login/nss.h"
#include "registry/identity.h"
#include "crypto/idkey.h"
#include "proto.h"
#include "wire.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define LOGIN_MAX_PENDING 1024
#define LOGIN_MAX_PER_SOURCE 64
#define LOGIN_RHOST_MAX 255

enum pending_state { P_FREE, P_PENDING, P_VERIFYING, P_USED };

struct pending {
	enum pending_state state;
	const struct conn *owner; /* P_VERIFYING: the connection waiting for the chain */
	uint8_t body[DPK_LOGIN_BODY_MAX];
	size_t bodylen;
	uint8_t nonce[DPK_LOGIN_NONCE_LEN];
	uint8_t user_hash[32];
	uint64_t expiry;
	uint64_t source; /* a hash of the service and remote host the challenge was made for */
	uint64_t seq;    /* the order challenges were made in: the lowest is the oldest */
};

static struct pending pending[LOGIN_MAX_PENDING];

static uint64_t
unix_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

static uint64_t pending_seq;

/* FNV-1a of service, NUL, rhost: which source a challenge counts against.
 * Not a secret and not a security boundary: a collision only shares a quota. */
static uint64_t
source_of(const uint8_t *service, size_t sl, const uint8_t *rhost, size_t rl)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < sl + 1 + rl; i++) {
		uint8_t b = i < sl ? service[i] : i == sl ? 0 : rhost[i - sl - 1];

		h = (h ^ b) * 0x100000001b3ull;
	}
	return h;
}

struct source_count {
	uint64_t source, seq;
	size_t idx;
};

static int
source_cmp(const void *x, const void *y)
{
	const struct source_count *a = x, *b = y;

	if (a->source != b->source)
		return a->source < b->source ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The table is full of live challenges: the oldest unanswered one of the
 * source holding the most (the oldest such source's on a tie). */
static struct pending *
pending_evict_largest(void)
{
	static struct source_count sc[LOGIN_MAX_PENDING];
	size_t n = 0, best = SIZE_MAX, best_count = 0;

	for (size_t i = 0; i < LOGIN_MAX_PENDING; i++)
		if (pending[i].state == P_PENDING)
			sc[n++] = (struct source_count){pending[i].source, pending[i].seq, i};
	if (n == 0)
		return NULL; /* every one has a VERIFY waiting on it */
	qsort(sc, n, sizeof(sc[0]), source_cmp);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i; j < n && sc[j].source == sc[i].source; j++)
			;
		if (j - i > best_count || (j - i == best_count && sc[i].seq < sc[best].seq)) {
			best_count = j - i;
			best = i; /* sorted by age within a source: its first is its oldest */
		}
	}
	return &pending[sc[best].idx];
}

/* A slot for a new challenge from source: a free slot, or one whose
 * challenge expired (used or not; a VERIFY still waiting on it then fails
 * with STATE); else, when source has LOGIN_MAX_PER_SOURCE unanswered ones,
 * its oldest; else one already answered (its replay is then refused as
 * unknown rather than as a replay); else the oldest unanswered challenge
 * of the source holding the most. NULL only when a VERIFY waits on every
 * slot. *evicted says whether an unanswered challenge was forgotten. */
static struct pending *
pending_slot(uint64_t now, uint64_t source, int *evicted)
{
	struct pending *used = NULL, *oldest_mine = NULL;
	size_t mine = 0;

	*evicted = 0;
	for (size_t i = 0; i < LOGIN_MAX_PENDING; i++) {
		struct pending *p = &pending[i];

		if (p->state == P_FREE || p->expiry < now)
			return p;
		if (p->state == P_USED && used == NULL)
			used = p;
		if (p->state == P_PENDING && p->source == source) {
			mine++;
			if (oldest_mine == NULL || p->seq < oldest_mine->seq)
				oldest_mine = p;
		}
	}
	if (mine >= LOGIN_MAX_PER_SOURCE) {
		*evicted = 1;
		return oldest_mine;
	}
	if (used != NULL)
		return used;
	*evicted = 1;
	return pending_evict_largest();
}

/* Unanswered challenges forgotten to make room, logged at most once a minute. */
static void
note_evicted(const uint8_t *service, size_t sl, const uint8_t *rhost, size_t rl)
{
	static int64_t last_ms;
	static unsigned long n;
	int64_t now = agent_now_ms();

	n++;
	if (last_ms != 0 && now - last_ms < 60000)
		return;
	agent_log(LOG_WARNING, "login challenges: %lu unanswered one%s forgotten to make room in the last minute "
	    "(latest for service %.*s from %.*s): many logins are started and not finished", n, n == 1 ? "" : "s",
	    (int)sl, (const char *)service, rl ? (int)rl : 7, rl ? (const char *)rhost : "no host");
	n = 0;
	last_ms = now;
}

static struct pending *
pending_find(const struct dpk_login_challenge *ch)
{
	for (size_t i = 0; i < LOGIN_MAX_PENDING; i++)
		if (pending[i].state != P_FREE && memcmp(pending[i].nonce, ch->nonce, DPK_LOGIN_NONCE_LEN) == 0)
			return &pending[i];
	return NULL;
}

/* The conn is gone or was answered: no entry may point at it any more. */
static void
pending_release(const struct conn *c)
{
	for (size_t i = 0; i < LOGIN_MAX_PENDING; i++)
		if (pending[i].state == P_VERIFYING && pending[i].owner == c) {
			pending[i].state = P_USED;
			pending[i].owner = NULL;
		}
}

static void login_chain_done(struct agent *a, struct conn *c, int failed, int code, const char *why);

/* Whether an answer may rest on entry e (the host's record, for RESPOND):
 * 0 when it is fresh; when the chain
 * could not be read (after a wait), a record verified within
 * offline_login_max_age still counts, and *stale_ms says how old it is.
 * Otherwise -1, with the reason in why (code for the reply in *code). */
static int
login_record_usable(struct agent *a, const struct cache_entry *e, const char *who, int code, const char *chain_why,
    uint32_t *stale_ms, int *rcode, char *why, size_t whysz)
{
	char tail[200];

	*stale_ms = 0;
	*rcode = code ? code : DPK_ERR_TIMEOUT;
	if (e == NULL) {
		snprintf(why, whysz, "cannot check %s on chain: %s", who, chain_why ? chain_why : "the chain did not answer");
		return -1;
	}
	if (agent_admit_fresh_enough(&a->cfg, agent_cache_fresh(a, e, agent_now_ms()), agent_now_ms() - e->fetched_ms,
	    agent_cache_proof_age_ms(e), stale_ms, tail, sizeof(tail)) == 0)
		return 0;
	snprintf(why, whysz, "cannot check %s on chain (%s), and %s", who, chain_why ? chain_why : "the chain did not answer",
	    tail);
	return -1;
}

/* The block a decision's record was proven at, for its log line: " (record
 * proven at block N 0xHASH)", or "" when reads are not verified. */
static const char *
login_proof_note(const struct agent_admission *ad)
{
	static char note[128];
	char hx[67];

	if (!ad->proven)
		return "";
	dpk_hex_encode(ad->block_hash, 32, 1, hx, sizeof(hx));
	snprintf(note, sizeof(note), " (record proven at block %llu %s)", (unsigned long long)ad->block_number, hx);
	return note;
}

/* The tail of LOGIN_VERIFY and LOGIN_ACCOUNT replies: u8 proven, u64 block
 * number, string block hash (32 bytes; empty unless proven). */
static void
login_put_proof(struct dpk_wire_w *w, const struct agent_admission *ad)
{
	dpk_wire_put_u8(w, (uint8_t)ad->proven);
	dpk_wire_put_u64(w, ad->proven ? ad->block_number : 0);
	dpk_wire_put_string(w, ad->proven ? ad->block_hash : NULL, ad->proven ? 32 : 0);
}

/* The decision (admit.h) for identity text ident once its record has
 * been waited for: 0 and *ad when it may log in; else -1, having replied
 * with a failure (code and chain_why: why the chain read failed, if it did). */
static int
login_decide(struct agent *a, struct conn *c, const char *ident, int code, const char *chain_why,
    struct agent_admission *ad)
{
	struct dpk_identity id;
	uint8_t h[32];

	if (dpk_identity_parse(ident, strlen(ident), &id) != 0 || dpk_identity_hash(&id, h) != 0) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "'%s' is not an identity", ident);
		return -1;
	}
	agent_admit(a, &id, h, ad);
	switch (ad->result) {
	case AGENT_ADMIT_USER:
		if (ad->login)
			return 0;
		if (cache_get(&a->cache, h) != NULL && !agent_cache_fresh(a, cache_get(&a->cache, h), agent_now_ms()))
			agent_reply_failure(c, code ? code : DPK_ERR_TIMEOUT, "%s%s%s", ad->why, chain_why ? ": " : "",
			    chain_why ? chain_why : "");
		else
			agent_reply_failure(c, DPK_ERR_PERM, "%s", ad->why);
		return -1;
	case AGENT_ADMIT_UNKNOWN:
		agent_reply_failure(c, code ? code : DPK_ERR_TIMEOUT, "cannot check %s on chain: %s", ident,
		    chain_why ? chain_why : ad->why);
		return -1;
	case AGENT_ADMIT_INACTIVE: {
		const struct cache_entry *e = cache_get(&a->cache, h);

		agent_reply_failure(c, e != NULL && e->found ? DPK_ERR_REVOKED : DPK_ERR_NOTFOUND, "%s", ad->why);
		return -1;
	}
	default: /* the policy, a shadowed name or uid, or no uid in range: not a user here */
		agent_reply_failure(c, DPK_ERR_NOTFOUND, "%s", ad->why);
		return -1;
	}
}

/* Whether rhost (PAM_RHOST as the caller passed it) is printable ASCII
 * without spaces, at most LOGIN_RHOST_MAX bytes; empty is none. */
static int
rhost_ok(const uint8_t *rhost, size_t rl)
{
	if (rl > LOGIN_RHOST_MAX)
		return -1;
	for (size_t i = 0; i < rl; i++)
		if (rhost[i] <= 0x20 || rhost[i] >= 0x7f)
			return -1;
	return 0;
}

/* CHALLENGE: string user name, string service[, string remote host] ->
 * string challenge text, string user identity, u64 expiry (Unix seconds),
 * string host identity
 * (for pam_dpk's prompt: the user checks it against what the device shows).
 * A challenge is made only for a user the decision (admit.h) lets log in,
 * once its record is read. */
static void
login_challenge(struct agent *a, struct conn *c, const uint8_t *body, size_t len, int waited, int code,
    const char *why)
{
	struct dpk_login_challenge ch;
	struct agent_admission ad;
	struct dpk_identity id;
	struct dpk_wire_r rd;
	struct dpk_wire_w w;
	struct pending *p;
	const struct cache_entry *e;
	const uint8_t *user, *service, *rhost = NULL;
	char text[DPK_LOGIN_CHALLENGE_TEXT_MAX + 1];
	uint8_t hash[32];
	size_t ul, sl, rl = 0, n;
	uint64_t now = unix_now();
	int r, evicted;

	dpk_wire_r_init(&rd, body, len);
	user = dpk_wire_get_string(&rd, &ul);
	service = dpk_wire_get_string(&rd, &sl);
	if (!rd.err && rd.len > 0) /* the remote host is optional: older clients send two strings */
		rhost = dpk_wire_get_string(&rd, &rl);
	if (dpk_wire_r_done(&rd) != 0) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "malformed LOGIN_CHALLENGE request (expected user and service "
		    "strings, and maybe a remote host)");
		return;
	}
	if (rhost_ok(rhost, rl) != 0) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "the remote host must be at most %d printable characters without "
		    "spaces", LOGIN_RHOST_MAX);
		return;
	}
	if (dpk_login_service_ok((const char *)service, sl) != 0) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "the service name must be 1..32 characters of A-Z a-z 0-9 . _ -");
		return;
	}
	if (a->cfg.identity == NULL) {
		agent_reply_failure(c, DPK_ERR_INVALID, "this host has no identity: set identity in dpk.conf to use pam_dpk");
		return;
	}
	memset(&ch, 0, sizeof(ch));
	if (agent_nss_user(a, (const char *)user, ul, &id, hash) != 0 ||
	    dpk_identity_format(&id, ch.user, sizeof(ch.user)) != 0) {
		agent_reply_failure(c, DPK_ERR_NOTFOUND, "'%.*s' is not a DPK user of this host (see nss_allow in dpk.conf)",
		    (int)(ul > 64 ? 64 : ul), (const char *)user);
		return;
	}
	if (!waited && ((e = cache_get(&a->cache, hash)) == NULL || !agent_cache_settled(a, e, agent_now_ms()))) {
		agent_lookup_wait(a, c, hash, a->cfg.request_timeout_ms, login_chain_done);
		return;
	}
	/* a challenge only for a user the decision lets log in, before a slot is taken */
	if (login_decide(a, c, ch.user, code, why, &ad) != 0)
		return;
	if ((p = pending_slot(now, source_of(service, sl, rhost, rl), &evicted)) == NULL) {
		agent_reply_failure(c, DPK_ERR_BUSY, "too many logins are being verified (%d); try again later",
		    LOGIN_MAX_PENDING);
		return;
	}
	if (evicted)
		note_evicted(service, sl, rhost, rl);
	snprintf(ch.host, sizeof(ch.host), "%s", a->cfg.identity);
	memcpy(ch.service, service, sl);
	ch.expiry = now + (a->cfg.login_challenge_ttl_ms + 999) / 1000;
	if (RAND_bytes(ch.nonce, DPK_LOGIN_NONCE_LEN) != 1) {
		agent_reply_failure(c, DPK_ERR_CRYPTO, "no random bytes for a challenge nonce");
		return;
	}
	if ((r = dpk_login_challenge_body(&ch, p->body, &n)) != 0 ||
	    (r = dpk_login_challenge_encode(&ch, text, sizeof(text))) != 0) {
		agent_reply_failure(c, r, "cannot make a login challenge for %s on %s: %s", ch.user, ch.host,
		    r == DPK_ERR_TOOBIG ? "the identities are too long for a PAM prompt" : dpk_strerror(r));
		return;
	}
	p->state = P_PENDING;
	p->owner = NULL;
	p->bodylen = n;
	memcpy(p->nonce, ch.nonce, DPK_LOGIN_NONCE_LEN);
	memcpy(p->user_hash, hash, 32);
	p->expiry = ch.expiry;
	p->source = source_of(service, sl, rhost, rl);
	p->seq = ++pending_seq;
	agent_reply_begin(c, &w);
	dpk_wire_put_string(&w, text, strlen(text));
	dpk_wire_put_string(&w, ch.user, strlen(ch.user));
	dpk_wire_put_u64(&w, ch.expiry);
	dpk_wire_put_string(&w, ch.host, strlen(ch.host));
	agent_reply_end(c, DPK_MSG_LOGIN_CHALLENGE, &w);
}

static void respond_chain_done(struct agent *a, struct conn *c, int failed, int code, const char *why);

/* Whether ch's host is registered and active on chain: 0 yes; 1 c now
 * waits for its record (not yet waited); -1 no, and c was answered. */
static int
respond_host_ok(struct agent *a, struct conn *c, const struct dpk_login_challenge *ch, int waited, int code,
    const char *why)
{
	struct dpk_identity host;
	struct cache_entry *e;
	char reason[400];
	uint8_t hash[32];
	uint32_t stale_ms;
	int rcode;

	if (dpk_identity_parse(ch->host, strlen(ch->host), &host) != 0 || dpk_identity_hash(&host, hash) != 0) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "the challenge names no valid host identity");
		return -1;
	}
	e = cache_get(&a->cache, hash);
	if (!waited && (e == NULL || !agent_cache_settled(a, e, agent_now_ms()))) {
		agent_lookup_wait(a, c, hash, a->cfg.request_timeout_ms, respond_chain_done);
		return 1;
	}
	if (login_record_usable(a, e, ch->host, code, why, &stale_ms, &rcode, reason, sizeof(reason)) != 0) {
		agent_reply_failure(c, rcode, "not answering the challenge from host %s: %s", ch->host, reason);
		return -1;
	}
	if (!e->found || e->rec.status != DPK_REGISTRY_ACTIVE) {
		agent_log(LOG_NOTICE, "login challenge from %s (%s) for %s refused: that host is %s on chain", ch->host,
		    ch->service, ch->user, e->found ? "revoked" : "not registered");
		agent_reply_failure(c, e->found ? DPK_ERR_REVOKED : DPK_ERR_NOTFOUND, "refusing to answer: the host %s "
		    "that this challenge names %s on chain, so it is not a DPK host you can log in to (was the challenge "
		    "shown by another machine?)", ch->host, e->found ? "has its key revoked" : "is not registered");
		return -1;
	}
	return 0;
}

/* Sign ch with this device's identity key: 0 and its response text in
 * resp (DPK_LOGIN_RESPONSE_TEXT_MAX + 1 bytes), or -1 and c was answered. */
static int
respond_sign(struct agent *a, struct conn *c, const struct dpk_login_challenge *ch, char *resp)
{
	struct dpk_buf msg, sig;
	int r;

	dpk_buf_init(&msg, 1024);
	dpk_buf_init(&sig, 4096);
	if ((r = dpk_login_signed_bytes(ch, &msg)) != 0 || (r = dpk_idkey_sign(a->idkey, msg.data, msg.len, &sig)) != 0)
		agent_reply_failure(c, r, "cannot sign the challenge: %s", dpk_strerror(r));
	else if ((r = dpk_login_response_encode(sig.data, sig.len, resp, DPK_LOGIN_RESPONSE_TEXT_MAX + 1)) != 0)
		agent_reply_failure(c, r, "this device's key makes a %zu-byte signature, too long for a PAM response "
		    "(512 characters): login challenges need ECDSA P-256 or RSA-2048", sig.len);
	else
		agent_log(LOG_INFO, "login challenge from %s (%s) for %s signed", ch->host, ch->service, ch->user);
	dpk_buf_free(&msg);
	dpk_buf_free(&sig);
	return r != 0 ? -1 : 0;
}

/* RESPOND: string challenge text, u8 mode (0 describe, 1 sign) -> string
 * response text (empty when describing), string host, string user, string
 * service, u64 expiry. Both modes refuse alike: a challenge for another
 * identity, an expired one, and one whose host this agent cannot read as
 * registered and active on chain, so that a device never signs for a host
 * name nobody registered; which registered host asks, the user decides
 * (dpkctl respond shows it and asks first). waited: the host's record was
 * read (code and why: how that ended). */
static void
login_respond(struct agent *a, struct conn *c, const uint8_t *body, size_t len, int waited, int code, const char *why)
{
	struct dpk_login_challenge ch;
	struct dpk_wire_w w;
	const char *text;
	char resp[DPK_LOGIN_RESPONSE_TEXT_MAX + 1] = "";
	size_t n;
	int mode, r;

	if (dpk_login_respond_parse(body, len, &text, &n, &mode) != 0) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "malformed LOGIN_RESPOND request (expected a challenge string and "
		    "a u8 mode: 0 describe, 1 sign)");
		return;
	}
	if ((r = dpk_login_challenge_decode(text, n, &ch)) != 0) {
		agent_reply_failure(c, r, "this is not a DPK login challenge (%s): copy the whole text that starts with "
		    DPK_LOGIN_CHALLENGE_PREFIX, dpk_strerror(r));
		return;
	}
	if (a->cfg.identity == NULL || strcmp(a->cfg.identity, ch.user) != 0) {
		agent_reply_failure(c, DPK_ERR_PERM, "the challenge asks for %s, but this device is %s: answer it on %s's device",
		    ch.user, a->cfg.identity ? a->cfg.identity : "(no identity)", ch.user);
		return;
	}
	if (ch.expiry < unix_now()) {
		agent_reply_failure(c, DPK_ERR_EXPIRED, "the challenge from %s expired: log in again for a new one", ch.host);
		return;
	}
	if (respond_host_ok(a, c, &ch, waited, code, why) != 0)
		return;
	if (mode == DPK_LOGIN_SIGN && respond_sign(a, c, &ch, resp) != 0)
		return;
	agent_reply_begin(c, &w);
	dpk_wire_put_string(&w, resp, strlen(resp));
	dpk_wire_put_string(&w, ch.host, strlen(ch.host));
	dpk_wire_put_string(&w, ch.user, strlen(ch.user));
	dpk_wire_put_string(&w, ch.service, strlen(ch.service));
	dpk_wire_put_u64(&w, ch.expiry);
	agent_reply_end(c, DPK_MSG_LOGIN_RESPOND, &w);
}

/* A waiting RESPOND: the chain read of its host ended or its deadline passed. */
static void
respond_chain_done(struct agent *a, struct conn *c, int failed, int code, const char *why)
{
	(void)failed; /* the cache's freshness decides */
	c->waiting = 0;
	login_respond(a, c, c->in + 5, c->inlen - 5, 1, code, why);
	explicit_bzero(c->in, c->inlen);
	c->inlen = 0;
}

/* VERIFY's second half, once the user's record is in the cache (or the
 * chain could not be read: code and why). */
static void
verify_finish(struct agent *a, struct conn *c, const struct dpk_login_challenge *ch, const uint8_t *sig,
    size_t siglen, struct pending *p, int code, const char *why)
{
	struct cache_entry *e = cache_get(&a->cache, p->user_hash);
	struct dpk_wire_w w;
	struct dpk_buf msg;
	int r;

	struct agent_admission ad;
	uint32_t stale_ms;

	p->state = P_USED;
	p->owner = NULL;
	if (login_decide(a, c, ch->user, code, why, &ad) != 0) {
		agent_log(LOG_NOTICE, "login of %s (%s) refused: %s", ch->user, ch->service, ad.why);
		return;
	}
	stale_ms = ad.stale_ms;
	if (ch->expiry < unix_now()) {
		agent_reply_failure(c, DPK_ERR_EXPIRED, "the login challenge expired before it was answered");
		return;
	}
	dpk_buf_init(&msg, 1024);
	r = dpk_login_signed_bytes(ch, &msg);
	if (r == 0)
		r = dpk_idkey_verify((enum dpk_idkey_alg)e->rec.alg, e->rec.pubkey, e->rec.publen, msg.data, msg.len, sig,
		    siglen);
	dpk_buf_free(&msg);
	if (r != 0) {
		agent_log(LOG_NOTICE, "login of %s (%s): the response is not its signature", ch->user, ch->service);
		agent_reply_failure(c, r == DPK_ERR_BADSIG ? r : DPK_ERR_BADSIG,
		    "the response is not %s's signature of this challenge", ch->user);
		return;
	}
	if (stale_ms != 0)
		agent_log(LOG_NOTICE, "login of %s (%s): response verified against a record %u s old "
		    "(the chain is unreachable; offline_login_max_age)%s", ch->user, ch->service, stale_ms / 1000,
		    login_proof_note(&ad));
	else
		agent_log(LOG_INFO, "login of %s (%s): response verified%s", ch->user, ch->service, login_proof_note(&ad));
	agent_reply_begin(c, &w);
	dpk_wire_put_string(&w, ch->user, strlen(ch->user));
	dpk_wire_put_u32(&w, stale_ms);
	login_put_proof(&w, &ad);
	agent_reply_end(c, DPK_MSG_LOGIN_VERIFY, &w);
}

/* Parse a VERIFY body: string challenge text, string response text. */
static int
verify_parse(const uint8_t *body, size_t len, struct dpk_login_challenge *ch, uint8_t sig[DPK_LOGIN_SIG_MAX],
    size_t *siglen, const char **what)
{
	struct dpk_wire_r rd;
	const uint8_t *ct, *rt;
	size_t cl, rl;
	int r;

	dpk_wire_r_init(&rd, body, len);
	ct = dpk_wire_get_string(&rd, &cl);
	rt = dpk_wire_get_string(&rd, &rl);
	*what = "malformed LOGIN_VERIFY request (expected challenge and response strings)";
	if (dpk_wire_r_done(&rd) != 0)
		return DPK_ERR_SYNTAX;
	*what = "the challenge is not a DPK login challenge";
	if ((r = dpk_login_challenge_decode((const char *)ct, cl, ch)) != 0)
		return r;
	*what = "the response is not a DPK login response (it starts with " DPK_LOGIN_RESPONSE_PREFIX
	    " and is printed by dpkctl respond)";
	return dpk_login_response_decode((const char *)rt, rl, sig, siglen);
}

/* VERIFY: string challenge, string response -> string user identity. */
static void
login_verify(struct agent *a, struct conn *c, const uint8_t *body, size_t len)
{
	struct dpk_login_challenge ch;
	uint8_t sig[DPK_LOGIN_SIG_MAX], want[DPK_LOGIN_BODY_MAX];
	struct pending *p;
	struct cache_entry *e;
	const char *what;
	size_t siglen, n;
	int r;

	if ((r = verify_parse(body, len, &ch, sig, &siglen, &what)) != 0) {
		agent_reply_failure(c, r, "%s", what);
		return;
	}
	if ((p = pending_find(&ch)) == NULL || a->cfg.identity == NULL || strcmp(ch.host, a->cfg.identity) != 0 ||
	    dpk_login_challenge_body(&ch, want, &n) != 0 || n != p->bodylen || memcmp(want, p->body, n) != 0) {
		agent_reply_failure(c, DPK_ERR_NOTFOUND, "unknown login challenge (not made by this agent, or it restarted)");
		return;
	}
	if (p->state != P_PENDING) {
		agent_log(LOG_NOTICE, "login of %s (%s) refused: the challenge was answered before", ch.user, ch.service);
		agent_reply_failure(c, DPK_ERR_REPLAY, "this login challenge was already answered: log in again");
		return;
	}
	if (p->expiry < unix_now()) {
		p->state = P_USED;
		agent_reply_failure(c, DPK_ERR_EXPIRED, "the login challenge expired: log in again for a new one");
		return;
	}
	if ((e = cache_get(&a->cache, p->user_hash)) != NULL && agent_cache_settled(a, e, agent_now_ms())) {
		verify_finish(a, c, &ch, sig, siglen, p, 0, NULL);
		return;
	}
	p->state = P_VERIFYING;
	p->owner = c;
	agent_lookup_wait(a, c, p->user_hash, a->cfg.request_timeout_ms, login_chain_done);
	if (!c->waiting) /* out of memory: answered already */
		pending_release(c);
}

/* ACCOUNT: string user name -> u8 status (1 active), string user identity,
 * u32 stale ms; a user the decision does not let log in gets FAILURE
 * saying why (REVOKED for a revoked key). */
static void
login_account(struct agent *a, struct conn *c, const uint8_t *body, size_t len, int waited, int code, const char *why)
{
	struct agent_admission ad;
	struct dpk_identity id;
	struct dpk_wire_r rd;
	struct dpk_wire_w w;
	const struct cache_entry *e;
	const uint8_t *user;
	char ident[DPK_IDENTITY_FORMAT_SIZE];
	uint8_t hash[32];
	size_t ul;

	dpk_wire_r_init(&rd, body, len);
	user = dpk_wire_get_string(&rd, &ul);
	if (dpk_wire_r_done(&rd) != 0) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "malformed LOGIN_ACCOUNT request (expected one user name string)");
		return;
	}
	if (agent_nss_user(a, (const char *)user, ul, &id, hash) != 0 ||
	    dpk_identity_format(&id, ident, sizeof(ident)) != 0) {
		agent_reply_failure(c, DPK_ERR_NOTFOUND, "'%.*s' is not a DPK user of this host (see nss_allow in dpk.conf)",
		    (int)(ul > 64 ? 64 : ul), (const char *)user);
		return;
	}
	if (!waited && ((e = cache_get(&a->cache, hash)) == NULL || !agent_cache_settled(a, e, agent_now_ms()))) {
		agent_lookup_wait(a, c, hash, a->cfg.request_timeout_ms, login_chain_done);
		return;
	}
	if (login_decide(a, c, ident, code, why, &ad) != 0)
		return;
	agent_reply_begin(c, &w);
	dpk_wire_put_u8(&w, DPK_REGISTRY_ACTIVE);
	dpk_wire_put_string(&w, ident, strlen(ident));
	dpk_wire_put_u32(&w, ad.stale_ms);
	login_put_proof(&w, &ad);
	agent_reply_end(c, DPK_MSG_LOGIN_ACCOUNT, &w);
}

/* USER_CHECK: string user name -> u8 result (admit.h's enum), u8 may log
 * in, string identity ("" when the name is no identity's user name), u32
 * uid, u32 n, n x (u8 ok, string rule, string detail): the decision's
 * rules as it applied them, for `dpkctl user-check`. Reads the record
 * first, as LOGIN_ACCOUNT does. */
static void
user_check(struct agent *a, struct conn *c, const uint8_t *body, size_t len, int waited)
{
	struct agent_admit_trace trace;
	struct agent_admission ad;
	struct dpk_identity id;
	struct dpk_wire_r rd;
	struct dpk_wire_w w;
	const struct cache_entry *e;
	const uint8_t *user;
	char ident[DPK_IDENTITY_FORMAT_SIZE] = "";
	uint8_t hash[32];
	size_t ul;

	dpk_wire_r_init(&rd, body, len);
	user = dpk_wire_get_string(&rd, &ul);
	if (dpk_wire_r_done(&rd) != 0) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "malformed USER_CHECK request (expected one user name string)");
		return;
	}
	memset(&ad, 0, sizeof(ad));
	memset(&trace, 0, sizeof(trace));
	if (agent_nss_user(a, (const char *)user, ul, &id, hash) != 0 || dpk_identity_format(&id, ident, sizeof(ident)) != 0) {
		ident[0] = '\0';
		ad.result = AGENT_ADMIT_POLICY;
		trace.n = 1;
		snprintf(trace.v[0].rule, sizeof(trace.v[0].rule), "user name");
		snprintf(trace.v[0].detail, sizeof(trace.v[0].detail), "'%.*s' is the user name of no identity this host's "
		    "policy may admit (a user is found by its user name only: nss_dpk(8))", (int)(ul > 64 ? 64 : ul),
		    (const char *)user);
	} else {
		if (!waited && ((e = cache_get(&a->cache, hash)) == NULL || !agent_cache_settled(a, e, agent_now_ms()))) {
			agent_lookup_wait(a, c, hash, a->cfg.request_timeout_ms, login_chain_done);
			return;
		}
		agent_admit_traced(a, &id, hash, &ad, &trace);
	}
	agent_reply_begin(c, &w);
	dpk_wire_put_u8(&w, (uint8_t)ad.result);
	dpk_wire_put_u8(&w, (uint8_t)ad.login);
	dpk_wire_put_string(&w, ident, strlen(ident));
	dpk_wire_put_u32(&w, ad.uid);
	dpk_wire_put_u32(&w, (uint32_t)trace.n);
	for (size_t i = 0; i < trace.n; i++) {
		dpk_wire_put_u8(&w, (uint8_t)trace.v[i].ok);
		dpk_wire_put_string(&w, trace.v[i].rule, strlen(trace.v[i].rule));
		dpk_wire_put_string(&w, trace.v[i].detail, strlen(trace.v[i].detail));
	}
	agent_reply_end(c, DPK_MSG_USER_CHECK, &w);
}

void
agent_login_request(struct agent *a, struct conn *c, uint8_t type, const uint8_t *body, size_t len)
{
	/* ACCOUNT says what anyone can read on chain and in dpk.conf: it is
	 * open, for dpk-authorized-keys (sshd runs it as an unprivileged user) */
	if (!c->privileged && type != DPK_MSG_LOGIN_ACCOUNT && type != DPK_MSG_USER_CHECK) {
		agent_reply_failure(c, DPK_ERR_PERM, "login requests are for root and members of admin_group (you are uid %ld)",
		    (long)c->uid);
		return;
	}
	switch (type) {
	case DPK_MSG_LOGIN_CHALLENGE: login_challenge(a, c, body, len, 0, 0, NULL); break;
	case DPK_MSG_LOGIN_RESPOND: login_respond(a, c, body, len, 0, 0, NULL); break;
	case DPK_MSG_LOGIN_VERIFY: login_verify(a, c, body, len); break;
	case DPK_MSG_LOGIN_ACCOUNT: login_account(a, c, body, len, 0, 0, NULL); break;
	case DPK_MSG_USER_CHECK: user_check(a, c, body, len, 0); break;
	default: agent_reply_failure(c, DPK_ERR_UNSUPPORTED, "unknown request type 0x%02x", type); break;
	}
}

/* A waiting VERIFY or ACCOUNT: its chain read ended or its deadline passed. */
static void
login_chain_done(struct agent *a, struct conn *c, int failed, int code, const char *why)
{
	(void)failed; /* the cache's freshness decides */
	uint8_t type = c->in[4];
	const uint8_t *body = c->in + 5;
	size_t len = c->inlen - 5;

	c->waiting = 0;
	if (type == DPK_MSG_LOGIN_VERIFY) {
		struct dpk_login_challenge ch;
		uint8_t sig[DPK_LOGIN_SIG_MAX];
		struct pending *p;
		const char *what;
		size_t siglen;

		if (verify_parse(body, len, &ch, sig, &siglen, &what) != 0 || (p = pending_find(&ch)) == NULL ||
		    p->state != P_VERIFYING || p->owner != c)
			agent_reply_failure(c, DPK_ERR_STATE, "the login challenge changed while its key was looked up");
		else
			verify_finish(a, c, &ch, sig, siglen, p, code, why);
		pending_release(c);
	} else if (type == DPK_MSG_LOGIN_CHALLENGE) {
		login_challenge(a, c, body, len, 1, code, why);
	} else if (type == DPK_MSG_USER_CHECK) {
		user_check(a, c, body, len, 1);
	} else {
		login_account(a, c, body, len, 1, code, why);
	}
	explicit_bzero(c->in, c->inlen);
	c->inlen = 0;
}
