/* The admission decision: may identity I be user U on this host, with which
 * uid, groups and rights? One function, used by every entry point: NSS
 * (getpwnam, getpwuid, groups, initgroups, enumeration; login/nss.c), PAM
 * auth and account (LOGIN_CHALLENGE, LOGIN_VERIFY, LOGIN_ACCOUNT; login/login.c)
 * and dpk-authorized-keys (through LOGIN_ACCOUNT). The rules (nss_dpk(8),
 * dpk.conf(5)), in order:
 *   1. policy: the identity is listed in nss_allow, under an
 *      nss_allow_suffix, or approved by an nss_allow_pkm approver (the
 *      approver in force, as the record in contract storage names it);
 *   2. status: its record is registered and active, as read (with
 *      verify_reads: proven) at a block made within max_proof_age; an
 *      older proof counts as no record read at all;
 *   3. uid: nss_uid_min + its serial number (nss_map.h) is in the range;
 *   4. no shadowing: no other NSS source (files, LDAP, SSSD) has its user
 *      name or uid; such an identity is never a DPK user;
 *   5. login: login_allow (if given) selects it, and its record was
 *      verified on chain within cache_ttl, or, while the chain cannot be
 *      read, within offline_login_max_age.
 * Rules 1-4 make a user ("exists"); rule 5 adds the right to log in. */
#ifndef DPK_AGENT_ADMIT_H
#define DPK_AGENT_ADMIT_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "registry/identity.h"

/* What the cache knows of the identity's record. */
struct agent_admit_rec {
	int known;            /* the chain was read for it at least once */
	int found;            /* registered (else the chain said "not found") */
	uint8_t status;       /* DPK_REGISTRY_* */
	uint8_t approver[20]; /* the approver in force */
	uint64_t serial;      /* the registry's permanent serial number */
	int fresh;            /* read within cache_ttl */
	int64_t age_ms;       /* since it was read */
	int proven;           /* proven (verify_reads) at this block: */
	uint64_t block_number;
	uint8_t block_hash[32];
	int64_t proof_age_ms; /* since that block was made (max_proof_age) */
};

enum agent_admit_result {
	AGENT_ADMIT_USER = 0,  /* a user (see .login for the right to log in) */
	AGENT_ADMIT_POLICY,    /* dpk.conf does not admit it: not a user */
	AGENT_ADMIT_UNKNOWN,   /* the policy might admit it: read its record first */
	AGENT_ADMIT_INACTIVE,  /* not registered, or revoked */
	AGENT_ADMIT_RANGE,     /* no serial yet, or its uid is past nss_uid_max */
	AGENT_ADMIT_SHADOWED,  /* another source has its name or uid */
};

struct agent_admission {
	enum agent_admit_result result;
	char name[33];
	uint32_t uid, gid;
	uint32_t groups[DPK_CONFIG_MAX_USER_GROUPS]; /* supplementary gids (user_group) */
	size_t n_groups;
	int login;          /* may log in now */
	uint32_t stale_ms;  /* login rests on a record this old (offline_login_max_age); 0: fresh */
	int proven;         /* the record it rests on was proven at this block: */
	uint64_t block_number;
	uint8_t block_hash[32];
	char why[512];      /* when not a user, or no login: a sentence */
};

/* Each rule as the decision applied it, for `dpkctl user-check`: the
 * rules that passed, and the one that failed (if any) last. */
#define AGENT_ADMIT_STEPS 8
struct agent_admit_trace {
	struct agent_admit_step {
		int ok;
		char rule[16];   /* "policy", "record", "uid", "other sources", "login_allow", "freshness", "groups" */
		char detail[300];
	} v[AGENT_ADMIT_STEPS];
	size_t n;
};

/* Whether another NSS source has user name or uid: 1, else 0. */
typedef int (*agent_admit_other_fn)(void *ctx, const char *name, uint32_t uid);

/* The decision for identity id (hash h) with what is known of its record
 * (r; NULL when nothing is). other is asked only for an identity that
 * passes rules 1-3. Pure but for other: unit-tested alone. */
void agent_admit_decide(const struct dpk_config *c, const struct dpk_identity *id, const uint8_t h[32],
    const struct agent_admit_rec *r, agent_admit_other_fn other, void *ctx, struct agent_admission *out,
    struct agent_admit_trace *trace);

/* Rule 5's freshness half, for any record a login rests on (a user's, or
 * the host's that a device checks before signing): 0 when fresh, or when
 * the chain cannot be read and the record is within offline_login_max_age
 * (*stale_ms then says how old); else -1 with the reason in why. Either
 * way a record proven at a block made longer than max_proof_age ago
 * (proof_age_ms; -1: not proven) is refused. */
int agent_admit_fresh_enough(const struct dpk_config *c, int fresh, int64_t age_ms, int64_t proof_age_ms,
    uint32_t *stale_ms, char *why, size_t whysz);

/* Rule 1 alone, before the record is read: whether the policy can admit
 * id at all (listed, under a suffix, or any approver may). */
int agent_admit_policy_may(const struct dpk_config *c, const struct dpk_identity *id, const uint8_t h[32]);

struct agent;
/* agent_admit_decide with the agent's cache and this host's other sources
 * (getpwnam/getpwuid: nss_dpk answers nothing inside the agent). Logs a
 * shadowed identity once per record read. */
void agent_admit(struct agent *a, const struct dpk_identity *id, const uint8_t h[32], struct agent_admission *out);
/* The same, recording each rule into trace. */
void agent_admit_traced(struct agent *a, const struct dpk_identity *id, const uint8_t h[32],
    struct agent_admission *out, struct agent_admit_trace *trace);

#endif
