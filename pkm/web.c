/* The operator interface's server (web.h): libmicrohttpd, one thread per
 * connection, on a loopback address. Every request passes the same gate:
 * a body cap (413), the session cookie (401), the CSRF token on every
 * state change (403), an Origin, when a browser sends one, that is this
 * server (403), and per-source rate limits on login and enrolment (429).
 * State (sessions, login challenges, DCV challenges, the token files not
 * yet downloaded) lives in this process only, under one mutex: a restart
 * logs everybody out and loses undownloaded token files (withdraw and
 * enrol again). */
#include "web.h"
#include "web_form.h"

#include "base/err.h"
#include "base/hex.h"
#include "daemon/netsource.h"
#include "login/login_msg.h"
#include "registry/registry.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BODY_MAX 16384            /* the largest request body: a form or a JSON object */
#define MAX_SESSIONS 64
#define MAX_CHALLENGES 256
#define MAX_CHALLENGES_PER_OPERATOR 16
#define MAX_TOKENS 256
#define MAX_DCV 256
#define MAX_RATE 256
#define CHALLENGE_TTL 120         /* seconds to answer a login challenge */
#define TOKEN_KEEP_TTL 3600       /* seconds a token file waits for its download */
#define DCV_TTL 3600              /* seconds a DCV challenge stays open */
#define LOGIN_SERVICE "dpk-pkm"
#define COOKIE "dpk_session"

struct session {
	uint8_t id[32];
	char operator[DPK_IDENTITY_FORMAT_SIZE];
	char csrf[65];
	uint64_t expires;         /* 0: free */
};

struct challenge {
	uint8_t nonce[DPK_LOGIN_NONCE_LEN];
	char operator[DPK_IDENTITY_FORMAT_SIZE];
	uint64_t expires;         /* 0: free or used */
};

struct kept_token {
	char hex[33];
	uint8_t *text;
	size_t len;
	uint64_t expires;         /* 0: free */
};

struct dcv_open {
	char identity[DPK_IDENTITY_FORMAT_SIZE];
	char token[33];
	uint64_t expires;
};

struct rate {
	char source[64];
	uint64_t minute;
	unsigned n[2];
};

struct pkm_web {
	struct pkm *p;
	struct pkm_chain *chain;
	struct MHD_Daemon *d;
	int audit_fd;
	char audit_path[1100];
	pthread_mutex_t mu;
	struct session sessions[MAX_SESSIONS];
	struct challenge challenges[MAX_CHALLENGES];
	struct kept_token tokens[MAX_TOKENS];
	struct dcv_open dcv[MAX_DCV];
	struct rate rates[MAX_RATE];
};

/* What one connection's request has read so far. */
struct body {
	char data[BODY_MAX + 1];
	size_t len;
	int over;
};

static uint64_t
unix_now(void)
{
	return (uint64_t)time(NULL);
}

cJSON *
pkm_web_error(const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	cJSON *o = cJSON_CreateObject();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(o, "error", msg);
	return o;
}

/* --- rate limits --- */

int
pkm_web_rate_ok(struct pkm_web *w, const char *source, int kind)
{
	uint64_t minute = unix_now() / 60;
	struct rate *slot = NULL;
	int ok;

	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < MAX_RATE; i++) {
		if (strcmp(w->rates[i].source, source) == 0) {
			slot = &w->rates[i];
			break;
		}
		if (slot == NULL && w->rates[i].minute != minute)
			slot = &w->rates[i]; /* a stale entry: reuse it if the source has none */
	}
	if (slot == NULL) {
		pthread_mutex_unlock(&w->mu);
		return DPK_ERR_BUSY; /* MAX_RATE sources this minute: refuse newcomers */
	}
	if (strcmp(slot->source, source) != 0 || slot->minute != minute) {
		snprintf(slot->source, sizeof(slot->source), "%s", source);
		slot->minute = minute;
		slot->n[0] = slot->n[1] = 0;
	}
	ok = slot->n[kind] < w->p->cfg.web_rate_limit;
	if (ok)
		slot->n[kind]++;
	pthread_mutex_unlock(&w->mu);
	return ok ? 0 : DPK_ERR_BUSY;
}

/* --- audit log --- */

/* Control characters and quotes would let a value forge a line or a field;
 * spaces too, outside the quoted outcome. */
static void
clean(char *dst, size_t dstsz, const char *src, int spaces)
{
	size_t o = 0;

	for (; src != NULL && *src != '\0' && o + 1 < dstsz; src++)
		dst[o++] = ((unsigned char)*src < 0x20 || *src == 0x7f || *src == '"' || (*src == ' ' && !spaces)) ? '?' :
		    *src;
	dst[o] = '\0';
}

void
pkm_web_audit(struct pkm_web *w, const char *operator, const char *source, const char *action,
    const char *target, const char *outcome)
{
	char line[2048], op[256], tg[300], oc[800], ts[32];
	time_t t = time(NULL);
	struct tm tm;
	int n;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	clean(op, sizeof(op), operator != NULL && operator[0] != '\0' ? operator : "-", 0);
	clean(tg, sizeof(tg), target != NULL && target[0] != '\0' ? target : "-", 0);
	clean(oc, sizeof(oc), outcome, 1);
	n = snprintf(line, sizeof(line), "%s operator=%s source=%s action=%s target=%s outcome=\"%s\"\n", ts, op,
	    source, action, tg, oc);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	pthread_mutex_lock(&w->mu);
	/* one write to an O_APPEND file: lines never interleave */
	if (w->audit_fd < 0 || write(w->audit_fd, line, (size_t)n) != n || fdatasync(w->audit_fd) != 0)
		fprintf(stderr, "dpk-pkm: web: cannot write the audit log %s: %s\n", w->audit_path, strerror(errno));
	pthread_mutex_unlock(&w->mu);
	fprintf(stderr, "dpk-pkm: web: %s", line + strlen(ts) + 1);
}

cJSON *
pkm_web_audit_tail(struct pkm_web *w, size_t max)
{
	cJSON *arr = cJSON_CreateArray();
	char *buf = NULL, *s, *nl;
	size_t cap = 256 * 1024, n = 0, count = 0;
	struct stat st;
	int fd = open(w->audit_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	off_t from = 0;

	if (fd < 0 || fstat(fd, &st) != 0 || (buf = malloc(cap + 1)) == NULL)
		goto out;
	if (st.st_size > (off_t)cap)
		from = st.st_size - (off_t)cap;
	for (ssize_t r; n < cap && (r = pread(fd, buf + n, cap - n, from + (off_t)n)) > 0;)
		n += (size_t)r;
	buf[n] = '\0';
	s = buf;
	if (from > 0 && (nl = strchr(s, '\n')) != NULL)
		s = nl + 1; /* a partial first line */
	for (char *p = s; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
		count++;
	for (; (nl = strchr(s, '\n')) != NULL; s = nl + 1) {
		*nl = '\0';
		if (count-- <= max)
			cJSON_AddItemToArray(arr, cJSON_CreateString(s));
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return arr;
}

/* --- sessions and login --- */

static int
is_operator(const struct pkm *p, const char *id)
{
	for (size_t i = 0; i < p->cfg.n_operators; i++)
		if (strcmp(p->cfg.operators[i], id) == 0)
			return 1;
	return 0;
}

int
pkm_web_login_begin(struct pkm_web *w, const char *operator, char ch[401], uint64_t *expiry, char *msg,
    size_t msgsz)
{
	struct dpk_login_challenge c;
	struct dpk_identity id;
	uint64_t now = unix_now();
	struct challenge *slot = NULL;
	unsigned mine = 0;
	int r;

	memset(&c, 0, sizeof(c));
	if (dpk_identity_parse(operator, strlen(operator), &id) != 0 ||
	    dpk_identity_format(&id, c.user, sizeof(c.user)) != 0)
		return snprintf(msg, msgsz, "'%.256s' is not a DPK identity (a domain name, IPv4 or IPv6 address, or UUID)",
		    operator), DPK_ERR_SYNTAX;
	if (!is_operator(w->p, c.user))
		return snprintf(msg, msgsz, "%s is not an operator of this PKM (operator in %s)", c.user,
		    w->p->config_path), DPK_ERR_PERM;
	snprintf(c.host, sizeof(c.host), "%s", w->p->cfg.web_identity);
	snprintf(c.service, sizeof(c.service), "%s", LOGIN_SERVICE);
	c.expiry = now + CHALLENGE_TTL;
	if (getrandom(c.nonce, sizeof(c.nonce), 0) != (ssize_t)sizeof(c.nonce))
		return snprintf(msg, msgsz, "no random bytes for a challenge"), DPK_ERR_CRYPTO;
	if ((r = dpk_login_challenge_encode(&c, ch, 401)) != 0)
		return snprintf(msg, msgsz, "cannot make a login challenge for %s: %s", c.user, dpk_strerror(r)), r;
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < MAX_CHALLENGES; i++) {
		if (w->challenges[i].expires <= now) {
			if (slot == NULL)
				slot = &w->challenges[i];
		} else if (strcmp(w->challenges[i].operator, c.user) == 0) {
			mine++;
		}
	}
	/* one operator's challenges, asked by anybody who knows the name, must
	 * not use up the others' */
	if (mine >= MAX_CHALLENGES_PER_OPERATOR) {
		pthread_mutex_unlock(&w->mu);
		return snprintf(msg, msgsz, "%u login challenges for %s are open: answer one, or ask again in %d s",
		    mine, c.user, CHALLENGE_TTL), DPK_ERR_BUSY;
	}
	if (slot != NULL) {
		memcpy(slot->nonce, c.nonce, sizeof(c.nonce));
		snprintf(slot->operator, sizeof(slot->operator), "%s", c.user);
		slot->expires = c.expiry;
	}
	pthread_mutex_unlock(&w->mu);
	if (slot == NULL)
		return snprintf(msg, msgsz, "too many login challenges are open: try again in %d s", CHALLENGE_TTL),
		    DPK_ERR_BUSY;
	*expiry = c.expiry;
	return 0;
}

/* Open a session for q->operator; the cookie into q->set_cookie. */
static int
session_open(struct pkm_web_req *q)
{
	struct pkm_web *w = q->w;
	uint64_t now = unix_now();
	struct session *slot = NULL, s;
	char idhex[65];

	memset(&s, 0, sizeof(s));
	if (getrandom(s.id, sizeof(s.id), 0) != (ssize_t)sizeof(s.id))
		return DPK_ERR_CRYPTO;
	uint8_t c[32];
	if (getrandom(c, sizeof(c), 0) != (ssize_t)sizeof(c))
		return DPK_ERR_CRYPTO;
	dpk_hex_encode(c, 32, 0, s.csrf, sizeof(s.csrf));
	snprintf(s.operator, sizeof(s.operator), "%s", q->operator);
	s.expires = now + q->p->cfg.web_session_ms / 1000;
	if (s.expires == now)
		s.expires++;
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < MAX_SESSIONS; i++) {
		if (w->sessions[i].expires <= now) {
			slot = &w->sessions[i];
			break;
		}
		if (slot == NULL || w->sessions[i].expires < slot->expires)
			slot = &w->sessions[i]; /* all live: the one nearest its end goes */
	}
	*slot = s;
	pthread_mutex_unlock(&w->mu);
	dpk_hex_encode(s.id, 32, 0, idhex, sizeof(idhex));
	snprintf(q->set_cookie, sizeof(q->set_cookie), COOKIE "=%s; Path=/; Max-Age=%u; Secure; HttpOnly; SameSite=Strict",
	    idhex, q->p->cfg.web_session_ms / 1000 == 0 ? 1 : q->p->cfg.web_session_ms / 1000);
	memcpy(q->csrf, s.csrf, sizeof(q->csrf));
	explicit_bzero(&s, sizeof(s));
	explicit_bzero(idhex, sizeof(idhex));
	return 0;
}

int
pkm_web_login_finish(struct pkm_web_req *q, const char *challenge, const char *response, char *msg,
    size_t msgsz)
{
	struct pkm_web *w = q->w;
	struct dpk_login_challenge c;
	struct dpk_identity id;
	struct dpk_registry_record rec;
	struct dpk_rpc *rpc = NULL;
	struct dpk_buf signed_bytes;
	uint8_t sig[DPK_LOGIN_SIG_MAX];
	size_t siglen;
	uint64_t now = unix_now();
	int r, found = 0;

	memset(&rec, 0, sizeof(rec));
	if (dpk_login_challenge_decode(challenge, strlen(challenge), &c) != 0)
		return snprintf(msg, msgsz, "that is not a login challenge of this PKM (ask for a new one)"), DPK_ERR_SYNTAX;
	/* single use: the challenge is spent by the first answer, right or wrong */
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < MAX_CHALLENGES; i++) {
		struct challenge *s = &w->challenges[i];

		if (s->expires > now && CRYPTO_memcmp(s->nonce, c.nonce, sizeof(c.nonce)) == 0 &&
		    strcmp(s->operator, c.user) == 0) {
			s->expires = 0;
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&w->mu);
	if (!found || strcmp(c.host, w->p->cfg.web_identity) != 0 || strcmp(c.service, LOGIN_SERVICE) != 0)
		return snprintf(msg, msgsz, "that login challenge is not open here: it expired, was answered already, or was "
		    "not made by this PKM (ask for a new one)"), DPK_ERR_EXPIRED;
	if (c.expiry < now)
		return snprintf(msg, msgsz, "the login challenge expired before it was answered (ask for a new one)"),
		    DPK_ERR_EXPIRED;
	if (!is_operator(w->p, c.user))
		return snprintf(msg, msgsz, "%s is not an operator of this PKM (operator in %s)", c.user,
		    w->p->config_path), DPK_ERR_PERM;
	if (dpk_login_response_decode(response, strlen(response), sig, &siglen) != 0)
		return snprintf(msg, msgsz, "that is not a login response (dpkctl respond prints DPK-RESPONSE-v1.…)"),
		    DPK_ERR_SYNTAX;
	if (dpk_identity_parse(c.user, strlen(c.user), &id) != 0)
		return snprintf(msg, msgsz, "the challenge names no valid operator"), DPK_ERR_SYNTAX;
	if ((r = pkm_rpc_new(w->p, &rpc)) != 0)
		return snprintf(msg, msgsz, "cannot set up the JSON-RPC client: %s", dpk_strerror(r)), r;
	r = dpk_registry_get_client(rpc, w->p->cfg.contract, &id, &rec);
	if (r == DPK_ERR_NOTFOUND) {
		snprintf(msg, msgsz, "%s is not registered on chain: its device cannot log in", c.user);
	} else if (r != 0) {
		snprintf(msg, msgsz, "cannot read %s's key from the registry: %s (%s)", c.user, dpk_strerror(r),
		    dpk_rpc_last_error(rpc));
	} else if (rec.status != DPK_REGISTRY_ACTIVE) {
		r = DPK_ERR_REVOKED;
		snprintf(msg, msgsz, "%s's key is revoked on chain", c.user);
	} else {
		dpk_buf_init(&signed_bytes, 1024);
		r = dpk_login_signed_bytes(&c, &signed_bytes);
		if (r == 0)
			r = dpk_idkey_verify((enum dpk_idkey_alg)rec.alg, rec.pubkey, rec.publen, signed_bytes.data,
			    signed_bytes.len, sig, siglen);
		dpk_buf_free(&signed_bytes);
		if (r != 0) {
			r = DPK_ERR_BADSIG;
			snprintf(msg, msgsz, "the response is not %s's signature of this challenge", c.user);
		}
	}
	dpk_registry_record_free(&rec);
	dpk_rpc_free(rpc);
	if (r != 0)
		return r;
	snprintf(q->operator, sizeof(q->operator), "%s", c.user);
	if ((r = session_open(q)) != 0)
		return snprintf(msg, msgsz, "cannot open a session: %s", dpk_strerror(r)), r;
	return 0;
}

/* The operator and CSRF token of the request's session cookie, if live. */
static void
session_find(struct pkm_web *w, struct MHD_Connection *conn, struct pkm_web_req *q, uint8_t id[32], int *has)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, COOKIE);
	uint64_t now = unix_now();

	*has = 0;
	if (v == NULL || strlen(v) != 64 || dpk_hex_decode_exact(v, id, 32) != 0)
		return;
	*has = 1;
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < MAX_SESSIONS; i++) {
		struct session *s = &w->sessions[i];

		if (s->expires > now && CRYPTO_memcmp(s->id, id, 32) == 0) {
			snprintf(q->operator, sizeof(q->operator), "%s", s->operator);
			memcpy(q->csrf, s->csrf, sizeof(q->csrf));
			break;
		}
	}
	pthread_mutex_unlock(&w->mu);
}

void
pkm_web_logout(struct pkm_web_req *q)
{
	struct pkm_web *w = q->w;

	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < MAX_SESSIONS; i++)
		if (w->sessions[i].expires != 0 && CRYPTO_memcmp(w->sessions[i].csrf, q->csrf, 64) == 0)
			explicit_bzero(&w->sessions[i], sizeof(w->sessions[i]));
	pthread_mutex_unlock(&w->mu);
	snprintf(q->set_cookie, sizeof(q->set_cookie), COOKIE "=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict");
}

/* --- token files and DCV challenges waiting for the operator --- */

int
pkm_web_token_keep(struct pkm_web *w, const char *token_hex, const uint8_t *text, size_t len)
{
	uint64_t now = unix_now();
	struct kept_token *slot = NULL;
	uint8_t *copy = malloc(len);

	if (copy == NULL)
		return DPK_ERR_NOMEM;
	memcpy(copy, text, len);
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < MAX_TOKENS && slot == NULL; i++) {
		if (w->tokens[i].expires <= now) {
			slot = &w->tokens[i];
			if (slot->text != NULL) {
				explicit_bzero(slot->text, slot->len);
				free(slot->text);
			}
		}
	}
	if (slot != NULL) {
		snprintf(slot->hex, sizeof(slot->hex), "%s", token_hex);
		slot->text = copy;
		slot->len = len;
		slot->expires = now + TOKEN_KEEP_TTL;
	}
	pthread_mutex_unlock(&w->mu);
	if (slot == NULL) {
		explicit_bzero(copy, len);
		free(copy);
		return DPK_ERR_BUSY;
	}
	return 0;
}

int
pkm_web_token_take(struct pkm_web_req *q, const char *token_hex, char **text, size_t *len, cJSON **out)
{
	struct pkm_web *w = q->w;
	uint64_t now = unix_now();
	int found = 0;

	*text = NULL;
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < MAX_TOKENS; i++) {
		struct kept_token *t = &w->tokens[i];

		if (t->text != NULL && strcmp(t->hex, token_hex) == 0) {
			if (t->expires > now) {
				*text = (char *)t->text;
				*len = t->len;
				found = 1;
			} else {
				explicit_bzero(t->text, t->len);
				free(t->text);
			}
			t->text = NULL;
			t->expires = 0;
			break;
		}
	}
	pthread_mutex_unlock(&w->mu);
	pkm_web_audit(w, q->operator, q->source, "token-download", token_hex, found ? "ok" :
	    "refused: no token file to download");
	if (!found) {
		*out = pkm_web_error("token %.64s has no file to download: it is downloaded once, within %d minutes of the "
		    "enrolment (withdraw it and enrol again)", token_hex, TOKEN_KEEP_TTL / 60);
		return 410;
	}
	return 200;
}

int
pkm_web_dcv_open(struct pkm_web *w, const char *identity, char token[33])
{
	uint8_t b[16];
	uint64_t now = unix_now();
	struct dcv_open *slot = NULL;

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return DPK_ERR_CRYPTO;
	dpk_hex_encode(b, 16, 0, token, 33);
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < MAX_DCV && slot == NULL; i++)
		if (w->dcv[i].expires <= now)
			slot = &w->dcv[i];
	if (slot != NULL) {
		snprintf(slot->identity, sizeof(slot->identity), "%s", identity);
		memcpy(slot->token, token, 33);
		slot->expires = now + DCV_TTL;
	}
	pthread_mutex_unlock(&w->mu);
	return slot != NULL ? 0 : DPK_ERR_BUSY;
}

int
pkm_web_dcv_find(struct pkm_web *w, const char *identity, const char *token)
{
	uint64_t now = unix_now();
	int found = 0;

	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < MAX_DCV && !found; i++)
		found = w->dcv[i].expires > now && strcmp(w->dcv[i].token, token) == 0 &&
		    strcmp(w->dcv[i].identity, identity) == 0;
	pthread_mutex_unlock(&w->mu);
	return found ? 0 : DPK_ERR_NOTFOUND;
}

void
pkm_web_dcv_close(struct pkm_web *w, const char *token)
{
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < MAX_DCV; i++)
		if (strcmp(w->dcv[i].token, token) == 0)
			w->dcv[i].expires = 0;
	pthread_mutex_unlock(&w->mu);
}

/* --- requests --- */

struct route {
	const char *method, *path;
	pkm_web_action_fn fn;
	int open;                 /* 1: no session needed (login) */
};

static const struct route routes[] = {
	{"POST", "/api/v1/login/challenge", pkm_web_api_login_challenge, 1},
	{"POST", "/api/v1/login", pkm_web_api_login, 1},
	{"POST", "/api/v1/logout", pkm_web_api_logout, 0},
	{"GET", "/api/v1/session", pkm_web_api_session, 0},
	{"GET", "/api/v1/devices", pkm_web_api_devices, 0},
	{"POST", "/api/v1/dcv", pkm_web_api_dcv, 0},
	{"POST", "/api/v1/enrol", pkm_web_api_enrol, 0},
	{"POST", "/api/v1/tokens/revoke", pkm_web_api_token_revoke, 0},
	{"POST", "/api/v1/identities/revoke", pkm_web_api_identity_revoke, 0},
	{"GET", "/api/v1/pkm", pkm_web_api_pkm, 0},
	{"GET", "/api/v1/audit", pkm_web_api_audit, 0},
};

static void
security_headers(struct MHD_Response *res)
{
	MHD_add_response_header(res, "Cache-Control", "no-store");
	MHD_add_response_header(res, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(res, "X-Frame-Options", "DENY");
	/* not no-referrer: under it a browser sends "Origin: null" with the forms */
	MHD_add_response_header(res, "Referrer-Policy", "same-origin");
	MHD_add_response_header(res, "Content-Security-Policy",
	    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; "
	    "frame-ancestors 'none'; base-uri 'none'");
}

/* A secret answer (a token file): wiped when MHD is done with it. */
struct secret {
	void *data;
	size_t len;
};

static void
secret_free(void *cls)
{
	struct secret *sc = cls;

	explicit_bzero(sc->data, sc->len);
	free(sc->data);
	free(sc);
}

static enum MHD_Result
send_bytes(struct MHD_Connection *conn, int status, const char *type, void *data, size_t len, int wipe,
    const struct pkm_web_req *q, const char *location, const char *filename)
{
	struct MHD_Response *res;
	enum MHD_Result ret;
	char disp[128];

	if (wipe) {
		struct secret *sc = malloc(sizeof(*sc));

		if (sc == NULL) {
			explicit_bzero(data, len);
			free(data);
			return MHD_NO;
		}
		sc->data = data;
		sc->len = len;
		res = MHD_create_response_from_buffer_with_free_callback_cls(len, data, secret_free, sc);
		if (res == NULL)
			secret_free(sc);
	} else {
		res = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	}
	if (res == NULL)
		return MHD_NO;
	security_headers(res);
	MHD_add_response_header(res, "Content-Type", type);
	if (q != NULL && q->set_cookie[0] != '\0')
		MHD_add_response_header(res, "Set-Cookie", q->set_cookie);
	if (location != NULL)
		MHD_add_response_header(res, "Location", location);
	if (filename != NULL && filename[0] != '\0') {
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", filename);
		MHD_add_response_header(res, "Content-Disposition", disp);
	}
	ret = MHD_queue_response(conn, (unsigned)status, res);
	MHD_destroy_response(res);
	return ret;
}

static enum MHD_Result
send_json(struct MHD_Connection *conn, int status, cJSON *o, const struct pkm_web_req *q)
{
	char *text = cJSON_PrintUnformatted(o);

	cJSON_Delete(o);
	if (text == NULL)
		return MHD_NO;
	return send_bytes(conn, status, "application/json", text, strlen(text), 0, q, NULL, NULL);
}

/* A browser names the page a request comes from: it must be this server. */
static int
origin_ok(struct MHD_Connection *conn)
{
	const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
	const char *h;

	if (origin == NULL)
		return 1; /* not a browser, or a same-origin GET: the CSRF token decides */
	if (host == NULL)
		return 0;
	if (strncmp(origin, "https://", 8) == 0)
		h = origin + 8;
	else if (strncmp(origin, "http://", 7) == 0)
		h = origin + 7;
	else
		return 0;
	return strcmp(h, host) == 0;
}

/* Behind a proxy every connection comes from the proxy: the client is the
 * last address of the configured header, which the proxy sets (a client's
 * own earlier entries are not believed). No header: the connection's peer. */
static int
forwarded_source(const char *v, char *out, size_t outsz)
{
	const char *last;
	char text[64];
	size_t n;
	struct sockaddr_in a4 = {.sin_family = AF_INET};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
	struct dpk_netsource src;

	if (v == NULL)
		return 0;
	last = strrchr(v, ',');
	last = last != NULL ? last + 1 : v;
	last += strspn(last, " \t");
	n = strcspn(last, " \t");
	if (n == 0 || n >= sizeof(text) || last[n + strspn(last + n, " \t")] != '\0')
		return -1;
	memcpy(text, last, n);
	text[n] = '\0';
	if (inet_pton(AF_INET, text, &a4.sin_addr) == 1)
		dpk_netsource_of((struct sockaddr *)&a4, &src);
	else if (inet_pton(AF_INET6, text, &a6.sin6_addr) == 1)
		dpk_netsource_of((struct sockaddr *)&a6, &src);
	else
		return -1;
	dpk_netsource_format(&src, out, outsz);
	return 0;
}

static int
csrf_ok(const struct pkm_web_req *q, const char *given)
{
	return given != NULL && strlen(given) == 64 && q->csrf[0] != '\0' && CRYPTO_memcmp(given, q->csrf, 64) == 0;
}

static enum MHD_Result
dispatch(struct pkm_web *w, struct MHD_Connection *conn, const char *url, const char *method, struct body *b)
{
	struct pkm_web_req q;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	int post = strcmp(method, "POST") == 0, has_cookie, status;
	uint8_t sid[32];
	cJSON *in = NULL, *out = NULL;

	memset(&q, 0, sizeof(q));
	q.w = w;
	q.p = w->p;
	q.chain = w->chain;
	snprintf(q.source, sizeof(q.source), "?");
	if (ci != NULL && ci->client_addr != NULL) {
		struct dpk_netsource src;

		dpk_netsource_of(ci->client_addr, &src);
		dpk_netsource_format(&src, q.source, sizeof(q.source));
	}
	if (w->p->cfg.web_client_header != NULL &&
	    forwarded_source(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, w->p->cfg.web_client_header), q.source,
	    sizeof(q.source)) != 0)
		return send_json(conn, 400, pkm_web_error("the proxy's %s header does not name one address",
		    w->p->cfg.web_client_header), NULL);
	if (strcmp(method, "GET") != 0 && !post)
		return send_json(conn, 405, pkm_web_error("method %.16s is not allowed: GET or POST", method), NULL);
	if (b->over)
		return send_json(conn, 413, pkm_web_error("the request body is over %d bytes", BODY_MAX), NULL);
	if (post && !origin_ok(conn))
		return send_json(conn, 403, pkm_web_error("a request from another site (Origin) is refused"), NULL);
	session_find(w, conn, &q, sid, &has_cookie);
	explicit_bzero(sid, sizeof(sid));

	if (strncmp(url, "/api/v1/tokens/", 15) == 0 && strlen(url) == 15 + 32 && !post) {
		char *text;
		size_t len;

		if (q.operator[0] == '\0')
			return send_json(conn, 401, pkm_web_error(has_cookie ? "the session expired: log in again" :
			    "not logged in: log in with your device (POST /api/v1/login/challenge)"), NULL);
		status = pkm_web_token_take(&q, url + 15, &text, &len, &out);
		if (status != 200)
			return send_json(conn, status, out, &q);
		char name[64];
		snprintf(name, sizeof(name), "dpk-token-%.32s.txt", url + 15);
		return send_bytes(conn, 200, "text/plain; charset=utf-8", text, len, 1, &q, NULL, name);
	}
	if (strncmp(url, "/api/", 5) == 0) {
		const struct route *rt = NULL;

		for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
			if (strcmp(routes[i].path, url) == 0)
				rt = &routes[i];
		if (rt == NULL)
			return send_json(conn, 404, pkm_web_error("no API %.128s (see doc/pkm-api.md)", url), NULL);
		if (strcmp(rt->method, method) != 0)
			return send_json(conn, 405, pkm_web_error("%s takes %s", rt->path, rt->method), NULL);
		if (!rt->open && q.operator[0] == '\0')
			return send_json(conn, 401, pkm_web_error(has_cookie ? "the session expired: log in again" :
			    "not logged in: log in with your device (POST /api/v1/login/challenge)"), NULL);
		if (post && !rt->open &&
		    !csrf_ok(&q, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-CSRF-Token")))
			return send_json(conn, 403, pkm_web_error("missing or wrong CSRF token (header X-CSRF-Token, from the "
			    "login's answer)"), NULL);
		if (post) {
			if (ctype == NULL || strncmp(ctype, "application/json", 16) != 0)
				return send_json(conn, 415, pkm_web_error("the body must be JSON (Content-Type: application/json)"),
				    NULL);
			b->data[b->len] = '\0';
			if (strlen(b->data) != b->len || (in = cJSON_ParseWithLength(b->data, b->len)) == NULL ||
			    !cJSON_IsObject(in)) {
				cJSON_Delete(in);
				return send_json(conn, 400, pkm_web_error("the body is not a JSON object"), NULL);
			}
		} else {
			in = cJSON_CreateObject();
		}
		status = rt->fn(&q, in, &out);
		cJSON_Delete(in);
		return send_json(conn, status, out, &q);
	}

	/* the pages */
	if (post) {
		if (ctype == NULL || strncmp(ctype, "application/x-www-form-urlencoded", 33) != 0)
			return send_json(conn, 415, pkm_web_error("a form must be application/x-www-form-urlencoded"), NULL);
		if ((in = pkm_web_form_parse(b->data, b->len)) == NULL)
			return send_json(conn, 400, pkm_web_error("the form is malformed"), NULL);
		if (strcmp(url, "/login") != 0 && strcmp(url, "/login/challenge") != 0 &&
		    !csrf_ok(&q, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "csrf")))) {
			cJSON_Delete(in);
			if (q.operator[0] == '\0')
				return send_bytes(conn, 303, "text/plain", strdup(""), 0, 0, NULL, "/login", NULL);
			return send_json(conn, 403, pkm_web_error("missing or wrong CSRF token: reload the page"), NULL);
		}
	} else {
		in = cJSON_CreateObject();
		/* a GET's query (the login page's operator field) */
		const char *op = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "operator");

		if (op != NULL && strlen(op) < 300)
			cJSON_AddStringToObject(in, "operator", op);
	}
	struct pkm_web_page pg = {.status = 200};
	status = pkm_web_page(&q, method, url, in, &pg);
	cJSON_Delete(in);
	if (pg.redirect != NULL) {
		free(pg.body);
		return send_bytes(conn, 303, "text/plain", strdup(""), 0, 0, &q, pg.redirect, NULL);
	}
	return send_bytes(conn, status, pg.content_type != NULL ? pg.content_type : "text/html; charset=utf-8",
	    pg.body != NULL ? pg.body : strdup(""), pg.body != NULL ? pg.len : 0, pg.wipe, &q, NULL, pg.filename);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct pkm_web *w = cls;
	struct body *b = *con_cls;

	(void)version;
	if (b == NULL) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");

		if ((b = calloc(1, sizeof(*b))) == NULL)
			return MHD_NO;
		*con_cls = b;
		if (cl != NULL && (strlen(cl) > 9 || strtoul(cl, NULL, 10) > BODY_MAX)) {
			/* refused before the body is read; MHD then closes the connection */
			b->over = 1;
			return send_json(conn, 413, pkm_web_error("the request body is over %d bytes", BODY_MAX), NULL);
		}
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		if (!b->over && b->len + *upload_data_size <= BODY_MAX) {
			memcpy(b->data + b->len, upload_data, *upload_data_size);
			b->len += *upload_data_size;
		} else {
			b->over = 1;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	return dispatch(w, conn, url, method, b);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct body *b = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (b != NULL) {
		explicit_bzero(b, sizeof(*b)); /* a login response, a form */
		free(b);
	}
	*con_cls = NULL;
}

int
pkm_web_start(struct pkm *p, struct pkm_chain *chain, struct pkm_web **out)
{
	struct pkm_web *w = calloc(1, sizeof(*w));
	unsigned timeout_s = p->cfg.request_timeout_ms / 1000 == 0 ? 1 : p->cfg.request_timeout_ms / 1000;
	int fd;

	*out = NULL;
	if (w == NULL)
		return -1;
	w->p = p;
	w->chain = chain;
	pthread_mutex_init(&w->mu, NULL);
	snprintf(w->audit_path, sizeof(w->audit_path), "%s/audit.log", p->cfg.state_dir);
	w->audit_fd = open(w->audit_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (w->audit_fd < 0) {
		fprintf(stderr, "dpk-pkm: cannot open the audit log %s: %s\n", w->audit_path, strerror(errno));
		pthread_mutex_destroy(&w->mu);
		free(w);
		return -1;
	}
	if ((fd = pkm_listen_on(p->cfg.web_listen)) < 0) {
		close(w->audit_fd);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return -1;
	}
	w->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, on_request, w,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, w,
	    MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
	    MHD_OPTION_CONNECTION_LIMIT, p->cfg.max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, p->cfg.max_connections,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(BODY_MAX + 32768),
	    MHD_OPTION_END);
	if (w->d == NULL) {
		fprintf(stderr, "dpk-pkm: cannot start the web interface on %s\n", p->cfg.web_listen);
		close(fd);
		close(w->audit_fd);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return -1;
	}
	fprintf(stderr, "dpk-pkm: web interface on http://%s/ (operators log in as %s's users)\n", p->cfg.web_listen,
	    p->cfg.web_identity);
	*out = w;
	return 0;
}

void
pkm_web_stop(struct pkm_web *w)
{
	if (w == NULL)
		return;
	MHD_stop_daemon(w->d);
	for (size_t i = 0; i < MAX_TOKENS; i++) {
		if (w->tokens[i].text != NULL) {
			explicit_bzero(w->tokens[i].text, w->tokens[i].len);
			free(w->tokens[i].text);
		}
	}
	explicit_bzero(w->sessions, sizeof(w->sessions));
	close(w->audit_fd);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
