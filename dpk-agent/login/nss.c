/* The agent's half of nss_dpk (nss_dpk(8), doc/protocol.md): which
 * identities are users of this host, their names and ids, and whether they
 * are active on chain. The module in nss_dpk/ only forwards the question and
 * packs the answer; every decision is taken here.
 *
 * Names and uids follow nss_map.h. One case depends on order: an identity
 * admitted by nss_allow_suffix or nss_allow_pkm (not listed, so not
 * numbered in advance)
 * steps over the uids of the list and of the suffix identities seen before
 * it, and only the last 1024 of those can be found by uid or "dpk-" name
 * (the agent cannot invert a hash). */
#include "login/nss.h"

#include "agent.h"
#include "base/err.h"
#include "chain/lookup.h"
#include "common/clock.h"
#include "common/conn.h"
#include "common/nss_map.h"
#include "login/nss_cache.h"
#include "registry/identity.h"
#include "proto.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* below the module's 1 s timeout, so a stale answer reaches it in time */
#define NSS_DEADLINE_MS 750

static void nss_chain_done(struct agent *a, struct conn *c, int failed, int code, const char *why);

struct nss_user {
	uint8_t hash[32];
	char name[33];
	uint32_t uid;
	char ident[DPK_IDENTITY_FORMAT_SIZE];
	int from_suffix; /* remember it once the chain says it is active */
	int via_pkm;     /* admitted only if an nss_allow_pkm approver approved it */
};

static int
suffix_admits(const struct dpk_config *c, const struct dpk_identity *id)
{
	if (id->kind != DPK_IDENTITY_DOMAIN)
		return 0;
	for (size_t i = 0; i < c->n_nss_allow_suffix; i++) {
		size_t sl = strlen(c->nss_allow_suffix[i]);

		if (id->len > sl && memcmp(id->value + id->len - sl, c->nss_allow_suffix[i], sl) == 0)
			return 1;
	}
	return 0;
}

static const struct dpk_config_nss_user *
exact_by_hash(const struct dpk_config *c, const uint8_t h[32])
{
	struct dpk_config_nss_user key;

	if (c->n_nss_allow == 0)
		return NULL; /* no list (bsearch must not get a NULL array) */
	memcpy(key.hash, h, 32);
	return bsearch(&key, c->nss_allow, c->n_nss_allow, sizeof(key), agent_nss_cmp_hash);
}

static void
from_exact(const struct dpk_config_nss_user *e, struct nss_user *u)
{
	memset(u, 0, sizeof(*u));
	memcpy(u->hash, e->hash, 32);
	memcpy(u->name, e->name, sizeof(u->name));
	u->uid = e->uid;
	dpk_identity_format(&e->id, u->ident, sizeof(u->ident));
}

static struct agent_nss_seen *
seen_by_hash(struct agent *a, const uint8_t h[32])
{
	for (size_t i = 0; i < a->n_nss_seen; i++)
		if (memcmp(a->nss_seen[i].hash, h, 32) == 0)
			return &a->nss_seen[i];
	return NULL;
}

static int
uid_taken(const struct agent *a, uint32_t uid, const uint8_t h[32])
{
	for (size_t i = 0; i < a->cfg.n_nss_allow; i++)
		if (a->cfg.nss_allow[i].uid == uid)
			return 1;
	for (size_t i = 0; i < a->n_nss_seen; i++)
		if (a->nss_seen[i].uid == uid && memcmp(a->nss_seen[i].hash, h, 32) != 0)
			return 1;
	return 0;
}

/* A canonical identity that the policy admits as a user: 0, else 1. */
static int
resolve_identity(struct agent *a, const struct dpk_identity *id, struct nss_user *u)
{
	const struct dpk_config_nss_user *e;
	const struct agent_nss_seen *s;
	uint8_t h[32];
	uint32_t counter = 0;

	if (dpk_identity_hash(id, h) != 0)
		return 1;
	if ((e = exact_by_hash(&a->cfg, h)) != NULL) {
		from_exact(e, u);
		return 0;
	}
	/* not listed nor under a suffix: a candidate for nss_allow_pkm, whose
	 * approver answer_user checks once the chain has been read */
	int via_pkm = !suffix_admits(&a->cfg, id);

	if (via_pkm && a->cfg.n_nss_allow_pkm == 0)
		return 1;
	memset(u, 0, sizeof(*u));
	u->via_pkm = via_pkm;
	memcpy(u->hash, h, 32);
	agent_nss_map_name(id, h, u->name);
	dpk_identity_format(id, u->ident, sizeof(u->ident));
	u->from_suffix = 1;
	if ((s = seen_by_hash(a, h)) != NULL) {
		u->uid = s->uid;
		return 0;
	}
	/* assign_nss left at least half the range free: this ends */
	do
		u->uid = agent_nss_map_uid(a->cfg.nss_uid_min, a->cfg.nss_uid_max, h, counter++);
	while (uid_taken(a, u->uid, h) && counter < 1000000);
	return 0;
}

static void
remember(struct agent *a, const struct nss_user *u)
{
	struct agent_nss_seen *s;
	size_t cap = sizeof(a->nss_seen) / sizeof(a->nss_seen[0]);

	if (!u->from_suffix || seen_by_hash(a, u->hash) != NULL)
		return;
	if (a->n_nss_seen < cap) {
		s = &a->nss_seen[a->n_nss_seen++];
	} else {
		s = &a->nss_seen[a->nss_seen_next];
		a->nss_seen_next = (a->nss_seen_next + 1) % cap;
	}
	memcpy(s->hash, u->hash, 32);
	memcpy(s->name, u->name, sizeof(s->name));
	s->uid = u->uid;
	s->via_pkm = (uint8_t)u->via_pkm;
}

static int
is_hash_name(const char *name, size_t n)
{
	if (n != 16 || memcmp(name, "dpk-", 4) != 0)
		return 0;
	for (size_t i = 4; i < 16; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	return 1;
}

/* A user name, or an identity in its canonical text form: 0 and *u if it
 * names an admitted identity, else 1. */
static int
resolve_name(struct agent *a, const char *name, size_t n, struct nss_user *u)
{
	struct dpk_identity id;
	char text[DPK_IDENTITY_FORMAT_SIZE], mapped[33];
	uint8_t h[32];

	if (n == 0 || n > DPK_IDENTITY_TEXT_MAX || memchr(name, '\0', n) != NULL ||
	    (n == 4 && memcmp(name, "root", 4) == 0))
		return 1;
	if (is_hash_name(name, n)) {
		/* not invertible: only users the agent knows can be found by it */
		for (size_t i = 0; i < a->cfg.n_nss_allow; i++)
			if (memcmp(a->cfg.nss_allow[i].name, name, 16) == 0) {
				from_exact(&a->cfg.nss_allow[i], u);
				return 0;
			}
		for (size_t i = 0; i < a->n_nss_seen; i++)
			if (memcmp(a->nss_seen[i].name, name, 16) == 0) {
				memset(u, 0, sizeof(*u));
				memcpy(u->hash, a->nss_seen[i].hash, 32);
				memcpy(u->name, a->nss_seen[i].name, sizeof(u->name));
				u->uid = a->nss_seen[i].uid;
				u->from_suffix = 1;
				u->via_pkm = a->nss_seen[i].via_pkm;
				return 0;
			}
		return 1;
	}
	if (dpk_identity_parse(name, n, &id) != 0 || dpk_identity_hash(&id, h) != 0 ||
	    dpk_identity_format(&id, text, sizeof(text)) != 0)
		return 1;
	agent_nss_map_name(&id, h, mapped);
	/* exactly the user name or the canonical text: no case folding, no
	 * other IPv6 spelling, so one user has one or two names only */
	if (!(strlen(text) == n && memcmp(text, name, n) == 0) && !(strlen(mapped) == n && memcmp(mapped, name, n) == 0))
		return 1;
	return resolve_identity(a, &id, u);
}

static int
resolve_uid(struct agent *a, uint32_t uid, struct nss_user *u)
{
	if (uid < a->cfg.nss_uid_min || uid > a->cfg.nss_uid_max)
		return 1;
	for (size_t i = 0; i < a->cfg.n_nss_allow; i++)
		if (a->cfg.nss_allow[i].uid == uid) {
			from_exact(&a->cfg.nss_allow[i], u);
			return 0;
		}
	for (size_t i = 0; i < a->n_nss_seen; i++)
		if (a->nss_seen[i].uid == uid) {
			memset(u, 0, sizeof(*u));
			memcpy(u->hash, a->nss_seen[i].hash, 32);
			memcpy(u->name, a->nss_seen[i].name, sizeof(u->name));
			u->uid = uid;
			u->from_suffix = 1;
			u->via_pkm = a->nss_seen[i].via_pkm;
			return 0;
		}
	return 1;
}

static void
reply_notfound(struct conn *c, uint8_t type)
{
	struct dpk_wire_w w;

	agent_reply_begin(c, &w);
	dpk_wire_put_u8(&w, 0);
	agent_reply_end(c, type, &w);
}

static uint32_t
primary_gid(const struct agent *a, const struct nss_user *u)
{
	return a->cfg.has_nss_gid ? a->cfg.nss_gid : u->uid;
}

/* nss_home with %u replaced by the user name and %% by %. */
static void
format_home(char home[2048], const char *tmpl, const char *name)
{
	size_t n = 0;

	for (const char *p = tmpl; *p != '\0' && n < 2048 - 40; p++) {
		if (p[0] == '%' && p[1] == 'u') {
			size_t l = strlen(name);

			memcpy(home + n, name, l);
			n += l;
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			home[n++] = '%';
			p++;
		} else {
			home[n++] = *p;
		}
	}
	home[n] = '\0';
}

/* The GECOS field: "DPK" and the identity, so that `getent` shows who it
 * is; an IPv6 address's ':' would split a passwd line: written '-'. */
static void
format_gecos(char *gecos, size_t size, const struct nss_user *u)
{
	snprintf(gecos, size, "DPK %s", u->ident[0] != '\0' ? u->ident : u->name);
	for (char *p = gecos; (p = strchr(p, ':')) != NULL;)
		*p = '-';
}

static void
reply_user(struct agent *a, struct conn *c, uint8_t type, const struct nss_user *u)
{
	struct dpk_wire_w w;
	char gecos[DPK_IDENTITY_FORMAT_SIZE + 16], home[2048];
	uint32_t gid = primary_gid(a, u);

	agent_reply_begin(c, &w);
	dpk_wire_put_u8(&w, 1);
	switch (type) {
	case DPK_MSG_GETPWNAM:
	case DPK_MSG_GETPWUID:
	case DPK_MSG_PWENT:
		format_gecos(gecos, sizeof(gecos), u);
		format_home(home, a->cfg.nss_home, u->name);
		dpk_wire_put_string(&w, u->name, strlen(u->name));
		dpk_wire_put_u32(&w, u->uid);
		dpk_wire_put_u32(&w, gid);
		dpk_wire_put_string(&w, gecos, strlen(gecos));
		dpk_wire_put_string(&w, home, strlen(home));
		dpk_wire_put_string(&w, a->cfg.nss_shell, strlen(a->cfg.nss_shell));
		break;
	case DPK_MSG_GETGRNAM:
	case DPK_MSG_GETGRGID:
	case DPK_MSG_GRENT:
		/* a user's private group: its name, gid = uid, no listed members */
		dpk_wire_put_string(&w, u->name, strlen(u->name));
		dpk_wire_put_u32(&w, u->uid);
		dpk_wire_put_u32(&w, 0);
		break;
	default: /* INITGROUPS */
		dpk_wire_put_u32(&w, 1);
		dpk_wire_put_u32(&w, gid);
		break;
	}
	agent_reply_end(c, type, &w);
}

static void
reply_shared_group(struct agent *a, struct conn *c, uint8_t type)
{
	struct dpk_wire_w w;

	/* members are not listed: the group is every DPK user's primary group */
	agent_reply_begin(c, &w);
	dpk_wire_put_u8(&w, 1);
	dpk_wire_put_string(&w, a->cfg.nss_group, strlen(a->cfg.nss_group));
	dpk_wire_put_u32(&w, a->cfg.nss_gid);
	dpk_wire_put_u32(&w, 0);
	agent_reply_end(c, type, &w);
}

/* nss_allow_pkm: the approval in force names one of the listed approvers. */
static int
approver_allowed(const struct dpk_config *c, const struct cache_entry *e)
{
	if (e->approval != 1)
		return 0;
	for (size_t i = 0; i < c->n_nss_allow_pkm; i++)
		if (memcmp(c->nss_allow_pkm[i], e->approver, 20) == 0)
			return 1;
	return 0;
}

/* A user found: into the cache file, fresh as long as its cache entry. */
static void
note_in_cache_file(struct agent *a, const struct nss_user *u, const struct cache_entry *e)
{
	char gecos[DPK_IDENTITY_FORMAT_SIZE + 16], home[2048];

	if (a->cfg.nss_cache_file == NULL)
		return;
	format_gecos(gecos, sizeof(gecos), u);
	format_home(home, a->cfg.nss_home, u->name);
	agent_nss_cache_note(a, u->hash, u->name, u->uid, primary_gid(a, u), gecos, home,
	    e->fetched_ms + (int64_t)a->cfg.cache_ttl_ms);
}

/* Decide from the cache, or wait for the chain (unless waited already). */
static void
answer_user(struct agent *a, struct conn *c, uint8_t type, const struct nss_user *u, int waited, int code,
    const char *why)
{
	struct cache_entry *e = cache_get(&a->cache, u->hash);

	if (!waited && (e == NULL || !agent_cache_fresh(a, e, agent_now_ms()))) {
		uint32_t t = a->cfg.request_timeout_ms < NSS_DEADLINE_MS ? a->cfg.request_timeout_ms : NSS_DEADLINE_MS;

		agent_lookup_wait(a, c, u->hash, t, nss_chain_done);
		return;
	}
	if (e == NULL) {
		/* the module maps this to UNAVAIL: not knowing is not "no such user" */
		agent_reply_failure(c, code, "%s", why);
		return;
	}
	/* a stale entry past its TTL still counts: revocations drop entries */
	if (!e->found || e->rec.status != DPK_REGISTRY_ACTIVE) {
		agent_nss_cache_forget(a, u->hash);
		reply_notfound(c, type);
		return;
	}
	if (u->via_pkm && e->approval == 0) {
		/* read before nss_allow_pkm was set, or the events could not be read */
		if (!waited) {
			agent_lookup_wait(a, c, u->hash, a->cfg.request_timeout_ms < NSS_DEADLINE_MS ?
			    a->cfg.request_timeout_ms : NSS_DEADLINE_MS, nss_chain_done);
			return;
		}
		agent_reply_failure(c, DPK_ERR_NET, "cannot read who approved this identity from the chain's events");
		return;
	}
	if (u->via_pkm && !approver_allowed(&a->cfg, e)) {
		agent_nss_cache_forget(a, u->hash);
		reply_notfound(c, type);
		return;
	}
	remember(a, u);
	note_in_cache_file(a, u, e);
	reply_user(a, c, type, u);
}

/* Parse and resolve one request: 0 and *u to answer for a user; 1 when
 * already answered; -1 on a malformed body. */
static int
nss_resolve(struct agent *a, struct conn *c, uint8_t type, const uint8_t *body, size_t len, struct nss_user *u)
{
	struct dpk_wire_r rd;
	const uint8_t *p = NULL;
	uint32_t id = 0;
	size_t n = 0;
	int r;

	dpk_wire_r_init(&rd, body, len);
	if (type == DPK_MSG_GETPWUID || type == DPK_MSG_GETGRGID)
		id = dpk_wire_get_u32(&rd);
	else
		p = dpk_wire_get_string(&rd, &n);
	if (dpk_wire_r_done(&rd) != 0)
		return -1;
	if (a->cfg.has_nss_gid && type == DPK_MSG_GETGRNAM) {
		if (strlen(a->cfg.nss_group) == n && memcmp(a->cfg.nss_group, p, n) == 0)
			reply_shared_group(a, c, type);
		else
			reply_notfound(c, type);
		return 1;
	}
	if (a->cfg.has_nss_gid && type == DPK_MSG_GETGRGID) {
		if (id == a->cfg.nss_gid)
			reply_shared_group(a, c, type);
		else
			reply_notfound(c, type);
		return 1;
	}
	if (p != NULL)
		r = resolve_name(a, (const char *)p, n, u);
	else
		r = resolve_uid(a, id, u);
	if (r != 0) {
		reply_notfound(c, type);
		return 1;
	}
	return 0;
}

/* ---- enumeration (nss_enumerate) ---- */

static int
entry_active(const struct cache_entry *e)
{
	return e != NULL && e->found && e->rec.status == DPK_REGISTRY_ACTIVE;
}

/* The i-th user the agent knows to be admitted and active: the nss_allow
 * identities (in hash order), then those admitted by a suffix or a PKM
 * that were seen (in the order seen). 0 and *u, or 1 past the end. */
static int
known_user(struct agent *a, uint32_t i, struct nss_user *u)
{
	for (size_t k = 0; k < a->cfg.n_nss_allow; k++) {
		if (!entry_active(cache_get(&a->cache, a->cfg.nss_allow[k].hash)))
			continue;
		if (i-- == 0) {
			from_exact(&a->cfg.nss_allow[k], u);
			return 0;
		}
	}
	for (size_t k = 0; k < a->n_nss_seen; k++) {
		const struct agent_nss_seen *s = &a->nss_seen[k];
		const struct cache_entry *e = cache_get(&a->cache, s->hash);

		if (!entry_active(e) || (s->via_pkm && !approver_allowed(&a->cfg, e)))
			continue;
		if (i-- == 0) {
			memset(u, 0, sizeof(*u));
			memcpy(u->hash, s->hash, 32);
			memcpy(u->name, s->name, sizeof(u->name));
			u->uid = s->uid;
			u->from_suffix = 1;
			u->via_pkm = s->via_pkm;
			return 0;
		}
	}
	return 1;
}

/* At the start of a listing, read the known identities the cache lacks,
 * and wait (within the deadline) for the last: the chain worker reads in
 * order, so every one before it is in by then. 1 if the request waits. */
static int
enum_prefetch(struct agent *a, struct conn *c)
{
	const uint8_t *last = NULL;

	for (size_t k = 0; k < a->cfg.n_nss_allow + a->n_nss_seen; k++) {
		const uint8_t *h = k < a->cfg.n_nss_allow ? a->cfg.nss_allow[k].hash : a->nss_seen[k - a->cfg.n_nss_allow].hash;

		if (cache_get(&a->cache, h) != NULL)
			continue;
		if (last != NULL)
			agent_lookup_prefetch(a, c, last);
		last = h;
	}
	if (last == NULL)
		return 0;
	agent_lookup_wait(a, c, last, a->cfg.request_timeout_ms < NSS_DEADLINE_MS ? a->cfg.request_timeout_ms :
	    NSS_DEADLINE_MS, nss_chain_done);
	return 1;
}

/* PWENT / GRENT: u32 index; the entry at that index, or "not found" past
 * the end (and always, unless nss_enumerate is on). */
static void
enum_request(struct agent *a, struct conn *c, uint8_t type, const uint8_t *body, size_t len, int waited)
{
	struct dpk_wire_r rd;
	struct nss_user u;
	uint32_t i;

	dpk_wire_r_init(&rd, body, len);
	i = dpk_wire_get_u32(&rd);
	if (dpk_wire_r_done(&rd) != 0) {
		agent_reply_failure(c, DPK_ERR_SYNTAX, "malformed request 0x%02x (doc/protocol.md)", type);
		return;
	}
	if (!a->cfg.nss_enumerate) {
		reply_notfound(c, type);
		return;
	}
	if (type == DPK_MSG_GRENT && a->cfg.has_nss_gid) {
		/* the one shared group; the users' groups are all it */
		if (i == 0)
			reply_shared_group(a, c, type);
		else
			reply_notfound(c, type);
		return;
	}
	if (i == 0 && !waited && enum_prefetch(a, c))
		return;
	if (known_user(a, i, &u) != 0)
		reply_notfound(c, type);
	else
		reply_user(a, c, type, &u);
}

void
agent_nss_request(struct agent *a, struct conn *c, uint8_t type, const uint8_t *body, size_t len)
{
	struct nss_user u;
	int r;

	/* a reload with another uid range makes the remembered uids wrong */
	if (a->nss_seen_min != a->cfg.nss_uid_min || a->nss_seen_max != a->cfg.nss_uid_max) {
		a->n_nss_seen = a->nss_seen_next = 0;
		a->nss_seen_min = a->cfg.nss_uid_min;
		a->nss_seen_max = a->cfg.nss_uid_max;
	}
	if (type == DPK_MSG_PWENT || type == DPK_MSG_GRENT) {
		enum_request(a, c, type, body, len, 0);
		return;
	}
	r = nss_resolve(a, c, type, body, len, &u);

	if (r < 0)
		agent_reply_failure(c, DPK_ERR_SYNTAX, "malformed request 0x%02x (doc/protocol.md)", type);
	else if (r == 0)
		answer_user(a, c, type, &u, 0, 0, NULL);
}

/* A waiting NSS request's chain read ended or its deadline passed: answer
 * from the cache, else FAILURE with code and why. */
static void
nss_chain_done(struct agent *a, struct conn *c, int failed, int code, const char *why)
{
	(void)failed; /* a stale entry still answers (answer_user) */
	uint8_t type = c->in[4];
	struct nss_user u;
	int r;

	/* the request is still in c->in: resolve it again, then release the input */
	c->waiting = 0;
	if (type == DPK_MSG_PWENT || type == DPK_MSG_GRENT) {
		enum_request(a, c, type, c->in + 5, c->inlen - 5, 1);
		explicit_bzero(c->in, c->inlen);
		c->inlen = 0;
		return;
	}
	r = nss_resolve(a, c, type, c->in + 5, c->inlen - 5, &u);
	explicit_bzero(c->in, c->inlen);
	c->inlen = 0;
	if (r < 0)
		agent_reply_failure(c, DPK_ERR_SYNTAX, "malformed request 0x%02x (doc/protocol.md)", type);
	else if (r == 0)
		answer_user(a, c, type, &u, 1, code, why);
}

/* For pam_dpk (login.c): the same policy and names as getpwnam. */
int
agent_nss_user_identity(struct agent *a, const char *name, size_t n, char ident[DPK_IDENTITY_FORMAT_SIZE],
    uint8_t hash[32])
{
	struct nss_user u;

	/* a "dpk-" name of a suffix identity carries no identity text: only its hash */
	if (resolve_name(a, name, n, &u) != 0 || u.ident[0] == '\0')
		return DPK_ERR_NOTFOUND;
	memcpy(ident, u.ident, DPK_IDENTITY_FORMAT_SIZE);
	memcpy(hash, u.hash, 32);
	return 0;
}
