/* nss_dpk's naming rules (nss_dpk(8)): a pure function of the identity, its
 * record and dpk.conf, so that every host with the same configuration agrees
 * whatever order it meets users in, and after restarts.
 *
 *   user name: a domain identity with a dot, at most 32 bytes, starting with
 *              a letter, is its own user name; every other identity (IPv4,
 *              IPv6, UUID, other domains) is "dpk-" + the first 12 hex digits
 *              of its identity hash. A user is found by that name only.
 *   uid:       nss_uid_min + the identity's serial number in the registry
 *              (given once, at its first approval, and never changed), if
 *              that is at most nss_uid_max; gid the same (a private group)
 *              unless nss_gid is set. */
#ifndef DPK_AGENT_NSS_MAP_H
#define DPK_AGENT_NSS_MAP_H

#include <stdint.h>

#include <stddef.h>

#include "registry/identity.h"

/* An identity that nss_allow admits, with its user name (agent_nss_assign). */
struct dpk_config_nss_user {
	struct dpk_identity id;
	uint8_t hash[32];
	char name[33];
};


/* The user name of canonical identity id whose hash is h, into out. */
void agent_nss_map_name(const struct dpk_identity *id, const uint8_t h[32], char out[33]);
/* The uid of serial number serial: 0, or -1 if it is outside the range. */
int agent_nss_serial_uid(uint32_t uid_min, uint32_t uid_max, uint64_t serial, uint32_t *uid);
/* The serial number of uid: 0, or -1 if uid is no DPK uid. */
int agent_nss_uid_serial(uint32_t uid_min, uint32_t uid_max, uint32_t uid, uint64_t *serial);
/* qsort/bsearch order of struct dpk_config_nss_user: by hash. */
int agent_nss_cmp_hash(const void *x, const void *y);

/* Give each of the n nss_allow identities its user name (the rule above);
 * sorts them by identity hash and drops repeats (*n shrinks). Returns 0 or
 * DPK_ERR_INVALID with a message naming the file (name) in err. */
int agent_nss_assign(struct dpk_config_nss_user *users, size_t *n, const char *name, char *err, size_t errsz);

/* Refuse a range that holds an id another source (files, LDAP, SSSD, ...)
 * gives a user or group: DPK users would share ids with it. Enumerates the
 * other sources (the agent's own NSS module is bypassed in the agent).
 * 0, or DPK_ERR_INVALID with a sentence naming the account and the file
 * (name) in err. */
int agent_nss_range_check(uint32_t uid_min, uint32_t uid_max, const char *name, char *err, size_t errsz);

#endif
