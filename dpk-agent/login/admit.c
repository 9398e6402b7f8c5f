/* The admission decision (admit.h). */
#include "login/admit.h"

#include "agent.h"
#include "chain/lookup.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/nss_map.h"
#include "common/selector.h"
#include "registry/registry.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

static int
listed(const struct dpk_config *c, const uint8_t h[32])
{
	struct dpk_config_nss_user key;

	if (c->n_nss_allow == 0)
		return 0; /* bsearch must not get a NULL array */
	memcpy(key.hash, h, 32);
	return bsearch(&key, c->nss_allow, c->n_nss_allow, sizeof(key), agent_nss_cmp_hash) != NULL;
}

static int
under_suffix(const struct dpk_config *c, const struct dpk_identity *id)
{
	for (size_t i = 0; i < c->n_nss_allow_suffix; i++)
		if (agent_suffix_match(id, c->nss_allow_suffix[i]))
			return 1;
	return 0;
}

static int
approver_admitted(const struct dpk_config *c, const uint8_t approver[20])
{
	for (size_t i = 0; i < c->n_nss_allow_pkm; i++)
		if (memcmp(c->nss_allow_pkm[i], approver, 20) == 0)
			return 1;
	return 0;
}

/* Record one rule's outcome (trace may be NULL: nothing is recorded). */
static void __attribute__((format(printf, 4, 5)))
step(struct agent_admit_trace *t, int ok, const char *rule, const char *fmt, ...)
{
	va_list ap;

	if (t == NULL || t->n == AGENT_ADMIT_STEPS)
		return;
	t->v[t->n].ok = ok;
	snprintf(t->v[t->n].rule, sizeof(t->v[t->n].rule), "%s", rule);
	va_start(ap, fmt);
	vsnprintf(t->v[t->n].detail, sizeof(t->v[t->n].detail), fmt, ap);
	va_end(ap);
	t->n++;
}

static void
addr_hex(const uint8_t a[20], char out[43])
{
	static const char hx[] = "0123456789abcdef";

	out[0] = '0';
	out[1] = 'x';
	for (int i = 0; i < 20; i++) {
		out[2 + 2 * i] = hx[a[i] >> 4];
		out[3 + 2 * i] = hx[a[i] & 15];
	}
	out[42] = '\0';
}

int
agent_admit_policy_may(const struct dpk_config *c, const struct dpk_identity *id, const uint8_t h[32])
{
	return listed(c, h) || under_suffix(c, id) || c->n_nss_allow_pkm > 0;
}

static void
login_right(const struct dpk_config *c, const struct dpk_identity *id, const uint8_t h[32],
    const struct agent_admit_rec *r, struct agent_admission *out, struct agent_admit_trace *t)
{
	if (c->has_login_allow && !agent_selset_match(&c->login_allow, id, h, r->approver)) {
		snprintf(out->why, sizeof(out->why), "%s is a user of this host but login_allow does not let it log in",
		    out->name);
		step(t, 0, "login_allow", "%s", out->why);
		return;
	}
	step(t, 1, "login_allow", c->has_login_allow ? "selected by login_allow" : "no login_allow: every user may log in");
	char tail[200];

	if (agent_admit_fresh_enough(c, r->fresh, r->age_ms, r->proven ? r->proof_age_ms : -1, &out->stale_ms, tail,
	    sizeof(tail)) != 0) {
		snprintf(out->why, sizeof(out->why), "cannot check %s's key on chain now, and %s", out->name, tail);
		step(t, 0, "freshness", "%s", out->why);
		return;
	}
	out->login = 1;
	if (out->stale_ms == 0)
		step(t, 1, "freshness", "record verified on chain %lld ms ago, within cache_ttl", (long long)r->age_ms);
	else
		step(t, 1, "freshness", "the chain cannot be read; record verified %lld s ago, within offline_login_max_age",
		    (long long)(r->age_ms / 1000));
}

int
agent_admit_fresh_enough(const struct dpk_config *c, int fresh, int64_t age_ms, int64_t proof_age_ms,
    uint32_t *stale_ms, char *why, size_t whysz)
{
	*stale_ms = 0;
	if (c->max_proof_age_ms != 0 && proof_age_ms > (int64_t)c->max_proof_age_ms) {
		snprintf(why, whysz, "its record was proven at a block made %lld s ago, longer ago than max_proof_age (%u s)",
		    (long long)(proof_age_ms / 1000), c->max_proof_age_ms / 1000);
		return -1;
	}
	if (fresh)
		return 0;
	if (c->offline_login_max_age_ms == 0) {
		snprintf(why, whysz, "offline_login_max_age is off");
		return -1;
	}
	if (age_ms > (int64_t)c->offline_login_max_age_ms) {
		snprintf(why, whysz, "its record was verified %lld s ago, longer ago than offline_login_max_age (%u s)",
		    (long long)(age_ms / 1000), c->offline_login_max_age_ms / 1000);
		return -1;
	}
	*stale_ms = age_ms < 1 ? 1 : age_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)age_ms;
	return 0;
}

void
agent_admit_decide(const struct dpk_config *c, const struct dpk_identity *id, const uint8_t h[32],
    const struct agent_admit_rec *r, agent_admit_other_fn other, void *ctx, struct agent_admission *out,
    struct agent_admit_trace *t)
{
	char text[DPK_IDENTITY_FORMAT_SIZE], addr[43];
	const char *how;

	memset(out, 0, sizeof(*out));
	if (t != NULL)
		t->n = 0;
	agent_nss_map_name(id, h, out->name);
	if (dpk_identity_format(id, text, sizeof(text)) != 0)
		snprintf(text, sizeof(text), "%s", out->name);
	if (!agent_admit_policy_may(c, id, h)) {
		out->result = AGENT_ADMIT_POLICY;
		snprintf(out->why, sizeof(out->why), "%s is not a DPK user of this host (nss_allow, nss_allow_suffix, "
		    "nss_allow_pkm in dpk.conf)", text);
		step(t, 0, "policy", "%s", out->why);
		return;
	}
	if (r != NULL && r->known && r->proven) {
		out->proven = 1;
		out->block_number = r->block_number;
		memcpy(out->block_hash, r->block_hash, 32);
	}
	if (r == NULL || !r->known) {
		out->result = AGENT_ADMIT_UNKNOWN;
		snprintf(out->why, sizeof(out->why), "the record of %s has not been read from the chain", text);
		step(t, 0, "record", "%s", out->why);
		return;
	}
	if (c->max_proof_age_ms != 0 && r->proven && r->proof_age_ms > (int64_t)c->max_proof_age_ms) {
		/* as good as unread: no answer (NSS UNAVAIL, PAM refused) rests on it */
		out->result = AGENT_ADMIT_UNKNOWN;
		snprintf(out->why, sizeof(out->why), "the record of %s was proven at block %llu, made %lld s ago, longer "
		    "ago than max_proof_age (%u s), and no newer block could be read", text,
		    (unsigned long long)r->block_number, (long long)(r->proof_age_ms / 1000), c->max_proof_age_ms / 1000);
		step(t, 0, "record", "%s", out->why);
		return;
	}
	if (!r->found || r->status != DPK_REGISTRY_ACTIVE) {
		out->result = AGENT_ADMIT_INACTIVE;
		snprintf(out->why, sizeof(out->why), "%s is %s on chain", text, r->found ? "revoked" : "not registered");
		step(t, 0, "record", "%s", out->why);
		return;
	}
	addr_hex(r->approver, addr);
	step(t, 1, "record", "active on chain, serial %llu, approved by %s", (unsigned long long)r->serial, addr);
	if (listed(c, h))
		how = "listed in nss_allow";
	else if (under_suffix(c, id))
		how = "under an nss_allow_suffix";
	else if (approver_admitted(c, r->approver))
		how = "approved by an nss_allow_pkm approver";
	else {
		out->result = AGENT_ADMIT_POLICY;
		snprintf(out->why, sizeof(out->why), "%s was approved by an approver that nss_allow_pkm does not name", text);
		step(t, 0, "policy", "%s (%s)", out->why, addr);
		return;
	}
	step(t, 1, "policy", "%s", how);
	if (agent_nss_serial_uid(c->nss_uid_min, c->nss_uid_max, r->serial, &out->uid) != 0) {
		out->result = AGENT_ADMIT_RANGE;
		snprintf(out->why, sizeof(out->why), "%s has serial number %llu, whose uid would be past nss_uid_max (%u)",
		    text, (unsigned long long)r->serial, c->nss_uid_max);
		step(t, 0, "uid", "%s", out->why);
		return;
	}
	step(t, 1, "uid", "%u = nss_uid_min %u + serial %llu", out->uid, c->nss_uid_min, (unsigned long long)r->serial);
	if (other != NULL && other(ctx, out->name, out->uid)) {
		out->result = AGENT_ADMIT_SHADOWED;
		snprintf(out->why, sizeof(out->why), "%s would be user %s (uid %u), but another source (files, LDAP, ...) "
		    "has that name or uid: it is never a DPK user", text, out->name, out->uid);
		step(t, 0, "other sources", "%s", out->why);
		return;
	}
	step(t, 1, "other sources", "no other account named %s or with uid %u", out->name, out->uid);
	out->result = AGENT_ADMIT_USER;
	out->gid = c->has_nss_gid ? c->nss_gid : out->uid;
	for (size_t i = 0; i < c->n_user_group; i++)
		if (agent_selset_match(&c->user_group[i].who, id, h, r->approver)) {
			out->groups[out->n_groups++] = c->user_group[i].gid;
			step(t, 1, "groups", "in %s (gid %u) by user_group", c->user_group[i].name, c->user_group[i].gid);
		}
	login_right(c, id, h, r, out, t);
}

/* Another source's account by name or uid: nss_dpk answers UNAVAIL inside
 * the agent (DPK_NSS_BYPASS), so these see files, LDAP, SSSD only.
 *
 * The answer is remembered for OTHER_MEMO_MS: asking libc opens and parses
 * /etc/passwd twice (and asks LDAP, SSSD), which was most of the agent's
 * CPU for a warm GETPWNAM. A local account created for a name or uid a DPK
 * user holds shadows it at most that much later. The memo is direct-mapped
 * and small (a collision only costs the libc call). */
#define OTHER_MEMO_MS 2000
#define OTHER_MEMO_SLOTS 256

static struct other_memo {
	char name[65];
	uint32_t uid;
	int other;
	int64_t until_ms;
} other_memo[OTHER_MEMO_SLOTS];

static int
other_sources(void *ctx, const char *name, uint32_t uid)
{
	uint32_t h = 2166136261u ^ uid;
	struct other_memo *m;
	int64_t now = agent_now_ms();
	size_t n = strlen(name);

	(void)ctx;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)name[i]) * 16777619u;
	m = &other_memo[h % OTHER_MEMO_SLOTS];
	if (n < sizeof(m->name) && m->until_ms > now && m->uid == uid && strcmp(m->name, name) == 0)
		return m->other;
	m->other = getpwnam(name) != NULL || getpwuid((uid_t)uid) != NULL;
	if (n < sizeof(m->name)) {
		memcpy(m->name, name, n + 1);
		m->uid = uid;
		m->until_ms = now + OTHER_MEMO_MS;
	}
	return m->other;
}

void
agent_admit(struct agent *a, const struct dpk_identity *id, const uint8_t h[32], struct agent_admission *out)
{
	agent_admit_traced(a, id, h, out, NULL);
}

void
agent_admit_traced(struct agent *a, const struct dpk_identity *id, const uint8_t h[32],
    struct agent_admission *out, struct agent_admit_trace *trace)
{
	struct cache_entry *e = cache_get(&a->cache, h);
	struct agent_admit_rec r;

	memset(&r, 0, sizeof(r));
	if (e != NULL) {
		int64_t now = agent_now_ms();

		r.known = 1;
		r.found = e->found;
		r.fresh = agent_cache_fresh(a, e, now);
		r.age_ms = now - e->fetched_ms;
		if (e->found) {
			r.status = e->rec.status;
			memcpy(r.approver, e->rec.approver, 20);
			r.serial = e->rec.serial;
		}
		r.proven = e->proven;
		r.block_number = e->block_number;
		memcpy(r.block_hash, e->block_hash, 32);
		r.proof_age_ms = agent_cache_proof_age_ms(e);
	}
	agent_admit_decide(&a->cfg, id, h, e != NULL ? &r : NULL, other_sources, NULL, out, trace);
	if (out->result == AGENT_ADMIT_SHADOWED && e != NULL && !e->shadow_logged) {
		e->shadow_logged = 1;
		agent_log(LOG_WARNING, "refusing to admit a DPK user: %s", out->why);
	}
}
