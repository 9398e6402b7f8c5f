/* The agent's half of nss_dpk (nss_dpk(8), doc/protocol.md): which
 * identities are users of this host, their names, ids and groups. The
 * module in nss_dpk/ only forwards the question and packs the answer; the
 * decision is login/admit.c's, and this file finds the identity a name or
 * uid stands for:
 *   a user name    the identity whose user name it is (nss_map.h): a
 *                  domain identity's own text, or a "dpk-" name of an
 *                  identity listed in nss_allow or met before (userdb.h);
 *   a uid          nss_uid_min + serial: the identity met before under that
 *                  serial, or a listed one whose record carries it.
 * The record then decides (admit.c), and a uid or name answers only if the
 * decision gives that same uid or name. */
#include "login/nss.h"

#include "agent.h"
#include "base/err.h"
#include "chain/lookup.h"
#include "common/clock.h"
#include "common/conn.h"
#include "common/nss_map.h"
#include "login/admit.h"
#include "login/nss_cache.h"
#include "login/userdb.h"
#include "registry/identity.h"
#include "proto.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* below the module's 1 s timeout, so a stale answer reaches it in time */
#define NSS_DEADLINE_MS 750

static void nss_chain_done(struct agent *a, struct conn *c, int failed, int code, const char *why);

/* An identity a request names, before the decision. */
struct nss_user {
	struct dpk_identity id;
	uint8_t hash[32];
	int has_uid;      /* asked by uid: the answer must carry it */
	uint32_t uid;
};

static uint32_t
nss_deadline(const struct agent *a)
{
	return a->cfg.request_timeout_ms < NSS_DEADLINE_MS ? a->cfg.request_timeout_ms : NSS_DEADLINE_MS;
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

static int
from_text(const char *text, struct nss_user *u)
{
	memset(u, 0, sizeof(*u));
	if (dpk_identity_parse(text, strlen(text), &u->id) != 0 || dpk_identity_hash(&u->id, u->hash) != 0)
		return 1;
	return 0;
}

/* A user name: 0 and *u if it is the user name of an identity the policy
 * may admit, else 1. Only the exact user name: no identity text that maps
 * to another name, no case folding, no other IPv6 spelling. */
static int
resolve_name(struct agent *a, const char *name, size_t n, struct nss_user *u)
{
	char mapped[33];

	if (n == 0 || n > DPK_IDENTITY_TEXT_MAX || memchr(name, '\0', n) != NULL ||
	    (n == 4 && memcmp(name, "root", 4) == 0))
		return 1;
	memset(u, 0, sizeof(*u));
	if (is_hash_name(name, n)) {
		/* not invertible: only identities listed or met before */
		const struct agent_userdb_ent *e;

		for (size_t i = 0; i < a->cfg.n_nss_allow; i++)
			if (memcmp(a->cfg.nss_allow[i].name, name, 16) == 0) {
				u->id = a->cfg.nss_allow[i].id;
				memcpy(u->hash, a->cfg.nss_allow[i].hash, 32);
				return 0;
			}
		if ((e = agent_userdb_by_name(&a->users, name, n)) == NULL)
			return 1;
		return from_text(e->ident, u);
	}
	if (dpk_identity_parse(name, n, &u->id) != 0 || dpk_identity_hash(&u->id, u->hash) != 0)
		return 1;
	agent_nss_map_name(&u->id, u->hash, mapped);
	if (strlen(mapped) != n || memcmp(mapped, name, n) != 0)
		return 1;
	return agent_admit_policy_may(&a->cfg, &u->id, u->hash) ? 0 : 1;
}

/* A uid: the identity met before under its serial, or a listed one whose
 * record (in the cache) carries it. */
static int
resolve_uid(struct agent *a, uint32_t uid, struct nss_user *u)
{
	const struct agent_userdb_ent *e;
	uint64_t serial;

	if (agent_nss_uid_serial(a->cfg.nss_uid_min, a->cfg.nss_uid_max, uid, &serial) != 0)
		return 1;
	memset(u, 0, sizeof(*u));
	if ((e = agent_userdb_by_serial(&a->users, serial)) != NULL) {
		if (from_text(e->ident, u) != 0)
			return 1;
	} else {
		size_t i;

		for (i = 0; i < a->cfg.n_nss_allow; i++) {
			const struct cache_entry *c = cache_get(&a->cache, a->cfg.nss_allow[i].hash);

			if (c != NULL && c->found && c->rec.serial == serial)
				break;
		}
		if (i == a->cfg.n_nss_allow)
			return 1;
		u->id = a->cfg.nss_allow[i].id;
		memcpy(u->hash, a->cfg.nss_allow[i].hash, 32);
	}
	u->has_uid = 1;
	u->uid = uid;
	return 0;
}

static void
reply_notfound(struct conn *c, uint8_t type)
{
	struct dpk_wire_w w;

	agent_reply_begin(c, &w);
	dpk_wire_put_u8(&w, 0);
	agent_reply_end(c, type, &w);
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
	char text[DPK_IDENTITY_FORMAT_SIZE];

	if (dpk_identity_format(&u->id, text, sizeof(text)) != 0)
		text[0] = '\0';
	snprintf(gecos, size, "DPK %s", text);
	for (char *p = gecos; (p = strchr(p, ':')) != NULL;)
		*p = '-';
}

/* A user_group the policy names: its index, or -1. */
static int
user_group_by_name(const struct dpk_config *c, const char *name, size_t n)
{
	for (size_t i = 0; i < c->n_user_group; i++)
		if (strlen(c->user_group[i].name) == n && memcmp(c->user_group[i].name, name, n) == 0)
			return (int)i;
	return -1;
}

static int
user_group_by_gid(const struct dpk_config *c, uint32_t gid)
{
	for (size_t i = 0; i < c->n_user_group; i++)
		if (c->user_group[i].gid == gid)
			return (int)i;
	return -1;
}

static void
reply_user(struct agent *a, struct conn *c, uint8_t type, const struct nss_user *u, const struct agent_admission *ad)
{
	struct dpk_wire_w w;
	char gecos[DPK_IDENTITY_FORMAT_SIZE + 16], home[2048];

	agent_reply_begin(c, &w);
	dpk_wire_put_u8(&w, 1);
	switch (type) {
	case DPK_MSG_GETPWNAM:
	case DPK_MSG_GETPWUID:
	case DPK_MSG_PWENT:
		format_gecos(gecos, sizeof(gecos), u);
		format_home(home, a->cfg.nss_home, ad->name);
		dpk_wire_put_string(&w, ad->name, strlen(ad->name));
		dpk_wire_put_u32(&w, ad->uid);
		dpk_wire_put_u32(&w, ad->gid);
		dpk_wire_put_string(&w, gecos, strlen(gecos));
		dpk_wire_put_string(&w, home, strlen(home));
		dpk_wire_put_string(&w, a->cfg.nss_shell, strlen(a->cfg.nss_shell));
		break;
	case DPK_MSG_GETGRNAM:
	case DPK_MSG_GETGRGID:
	case DPK_MSG_GRENT:
		/* a user's private group: its name, gid = uid, no listed members */
		dpk_wire_put_string(&w, ad->name, strlen(ad->name));
		dpk_wire_put_u32(&w, ad->uid);
		dpk_wire_put_u32(&w, 0);
		break;
	default: /* INITGROUPS: the primary group, then the user_group ones */
		dpk_wire_put_u32(&w, (uint32_t)(1 + ad->n_groups));
		dpk_wire_put_u32(&w, ad->gid);
		for (size_t i = 0; i < ad->n_groups; i++)
			dpk_wire_put_u32(&w, ad->groups[i]);
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

/* The i-th identity the agent knows of: those listed in nss_allow, then
 * those met before (userdb.h) that are not listed. 0 and *u, or 1 past the end. */
static int
known_identity(struct agent *a, size_t i, struct nss_user *u)
{
	if (i < a->cfg.n_nss_allow) {
		memset(u, 0, sizeof(*u));
		u->id = a->cfg.nss_allow[i].id;
		memcpy(u->hash, a->cfg.nss_allow[i].hash, 32);
		return 0;
	}
	for (i -= a->cfg.n_nss_allow; i < a->users.n; i++) {
		struct dpk_config_nss_user key;

		memcpy(key.hash, a->users.v[i].hash, 32);
		if (a->cfg.n_nss_allow > 0 &&
		    bsearch(&key, a->cfg.nss_allow, a->cfg.n_nss_allow, sizeof(key), agent_nss_cmp_hash) != NULL)
			continue; /* counted among the listed */
		return from_text(a->users.v[i].ident, u) != 0 ? 1 : 0;
	}
	return 1;
}

/* A user_group with its members: the users the agent knows of that the
 * decision puts in it (from the cache, without waiting: a member not read
 * yet is missing, as a group enumeration of a directory may be partial).
 * With nsswitch's [SUCCESS=merge] after files, these add to the local
 * group's members; initgroups (what login, sudo and id use) does not need it. */
static void
reply_user_group(struct agent *a, struct conn *c, uint8_t type, size_t g)
{
	const struct dpk_config_group *grp = &a->cfg.user_group[g];
	struct dpk_wire_w w;
	struct nss_user u;
	uint32_t n = 0;
	size_t npos, cap = 4096;

	agent_reply_begin(c, &w);
	dpk_wire_put_u8(&w, 1);
	dpk_wire_put_string(&w, grp->name, strlen(grp->name));
	dpk_wire_put_u32(&w, grp->gid);
	npos = w.len;
	dpk_wire_put_u32(&w, 0);
	for (size_t i = 0; n < cap && w.len + 64 < w.cap && known_identity(a, i, &u) == 0; i++) {
		struct agent_admission ad;

		agent_admit(a, &u.id, u.hash, &ad);
		if (ad.result != AGENT_ADMIT_USER)
			continue;
		for (size_t k = 0; k < ad.n_groups; k++)
			if (ad.groups[k] == grp->gid) {
				dpk_wire_put_string(&w, ad.name, strlen(ad.name));
				n++;
				break;
			}
	}
	if (!w.err) {
		w.p[npos] = (uint8_t)(n >> 24);
		w.p[npos + 1] = (uint8_t)(n >> 16);
		w.p[npos + 2] = (uint8_t)(n >> 8);
		w.p[npos + 3] = (uint8_t)n;
	}
	agent_reply_end(c, type, &w);
}

/* A user found: into the cache file, fresh as long as its cache entry and,
 * with max_proof_age, no longer than its proof may be used (readers of the
 * file check the expiry, not the block). A user with supplementary groups
 * is left to the socket: the file keeps one group per user. */
static void
note_in_cache_file(struct agent *a, const struct nss_user *u, const struct agent_admission *ad)
{
	char gecos[DPK_IDENTITY_FORMAT_SIZE + 16], home[2048];
	const struct cache_entry *e = cache_get(&a->cache, u->hash);
	int64_t until;

	if (a->cfg.nss_cache_file == NULL || e == NULL || ad->n_groups > 0)
		return;
	until = e->fetched_ms + (int64_t)a->cfg.cache_ttl_ms;
	if (a->cfg.max_proof_age_ms != 0 && e->proven) {
		int64_t proof_until = agent_now_ms() + (int64_t)a->cfg.max_proof_age_ms - agent_cache_proof_age_ms(e);

		if (proof_until < until)
			until = proof_until; /* at or before now: not written */
	}
	format_gecos(gecos, sizeof(gecos), u);
	format_home(home, a->cfg.nss_home, ad->name);
	agent_nss_cache_note(a, u->hash, ad->name, ad->uid, ad->gid, gecos, home, until);
}

/* Decide from the cache, or wait for the chain (unless waited already). */
static void
answer_user(struct agent *a, struct conn *c, uint8_t type, const struct nss_user *u, int waited, int code,
    const char *why)
{
	struct cache_entry *e = cache_get(&a->cache, u->hash);
	struct agent_admission ad;

	if (!waited && (e == NULL || !agent_cache_settled(a, e, agent_now_ms()))) {
		agent_lookup_wait(a, c, u->hash, nss_deadline(a), nss_chain_done);
		return;
	}
	/* a stale entry past its TTL still counts: revocations drop entries */
	agent_admit(a, &u->id, u->hash, &ad);
	if (ad.result == AGENT_ADMIT_UNKNOWN) {
		/* the module maps this to UNAVAIL: not knowing is not "no such user";
		 * a user whose proof grew too old (max_proof_age) leaves the file */
		agent_nss_cache_forget(a, u->hash);
		agent_reply_failure(c, code ? code : DPK_ERR_TIMEOUT, "%s", why != NULL ? why : ad.why);
		return;
	}
	if (ad.result != AGENT_ADMIT_USER || (u->has_uid && ad.uid != u->uid)) {
		agent_nss_cache_forget(a, u->hash);
		reply_notfound(c, type);
		return;
	}
	if (e != NULL && e->found)
		(void)agent_userdb_note(&a->users, e->rec.serial, &u->id); /* a full file: found by name only */
	note_in_cache_file(a, u, &ad);
	reply_user(a, c, type, u, &ad);
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
		else if ((r = user_group_by_name(&a->cfg, (const char *)p, n)) >= 0)
			reply_user_group(a, c, type, (size_t)r);
		else
			reply_notfound(c, type);
		return 1;
	}
	if (a->cfg.has_nss_gid && type == DPK_MSG_GETGRGID) {
		if (id == a->cfg.nss_gid)
			reply_shared_group(a, c, type);
		else if ((r = user_group_by_gid(&a->cfg, id)) >= 0)
			reply_user_group(a, c, type, (size_t)r);
		else
			reply_notfound(c, type);
		return 1;
	}
	if ((type == DPK_MSG_GETGRNAM && (r = user_group_by_name(&a->cfg, (const char *)p, n)) >= 0) ||
	    (type == DPK_MSG_GETGRGID && (r = user_group_by_gid(&a->cfg, id)) >= 0)) {
		reply_user_group(a, c, type, (size_t)r);
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

/* Where the last answer of a listing was found (per request type), so that
 * the next index resumes there: a listing of n users costs O(n) admission
 * checks, not O(n^2) (nss_dpk asks index 0, 1, 2, ... on new connections,
 * so the cursor is not a connection's). It is used only for the index after
 * the one it holds, within ENUM_CURSOR_MS and while no identity was added;
 * a listing is not atomic either way. */
#define ENUM_CURSOR_MS 2000

static struct enum_cursor {
	uint8_t type;
	uint32_t i;
	size_t k, n_users;
	int64_t until_ms;
} enum_cursor;

/* The i-th user the decision admits among the identities the agent knows
 * of (known_identity), from the cache. 0 and *u, *ad, or 1 past the end. */
static int
known_user(struct agent *a, uint8_t type, uint32_t i, struct nss_user *u, struct agent_admission *ad)
{
	int64_t now = agent_now_ms();
	uint32_t left = i;
	size_t k = 0;

	if (i > 0 && enum_cursor.type == type && enum_cursor.i + 1 == i && enum_cursor.n_users == a->users.n &&
	    enum_cursor.until_ms > now) {
		k = enum_cursor.k + 1;
		left = 0;
	}
	for (; known_identity(a, k, u) == 0; k++) {
		agent_admit(a, &u->id, u->hash, ad);
		if (ad->result == AGENT_ADMIT_USER && left-- == 0) {
			enum_cursor = (struct enum_cursor){type, i, k, a->users.n, now + ENUM_CURSOR_MS};
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
	uint8_t last[32];
	int have_last = 0;
	struct nss_user u;

	for (size_t k = 0; known_identity(a, k, &u) == 0; k++) {
		if (cache_get(&a->cache, u.hash) != NULL)
			continue;
		if (have_last)
			agent_lookup_prefetch(a, c, last);
		memcpy(last, u.hash, 32);
		have_last = 1;
	}
	if (!have_last)
		return 0;
	agent_lookup_wait(a, c, last, nss_deadline(a), nss_chain_done);
	return 1;
}

/* PWENT / GRENT: u32 index; the entry at that index, or "not found" past
 * the end (and always, unless nss_enumerate is on). */
static void
enum_request(struct agent *a, struct conn *c, uint8_t type, const uint8_t *body, size_t len, int waited)
{
	struct dpk_wire_r rd;
	struct agent_admission ad;
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
	if (known_user(a, type, i, &u, &ad) != 0)
		reply_notfound(c, type);
	else
		reply_user(a, c, type, &u, &ad);
}

void
agent_nss_request(struct agent *a, struct conn *c, uint8_t type, const uint8_t *body, size_t len)
{
	struct nss_user u;
	int r;

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

/* For pam_dpk (login.c): the identity whose user name is name, as getpwnam
 * finds it (the decision is then agent_admit's). */
int
agent_nss_user(struct agent *a, const char *name, size_t n, struct dpk_identity *id, uint8_t hash[32])
{
	struct nss_user u;

	if (resolve_name(a, name, n, &u) != 0)
		return DPK_ERR_NOTFOUND;
	*id = u.id;
	memcpy(hash, u.hash, 32);
	return 0;
}
