/* The writer of nss_dpk's cache file (nss_dpk/cachefile.h for the format,
 * nss_dpk(8) for what it is for). The agent notes each user it answers as
 * found, forgets the ones the chain changed or revoked, and rewrites the
 * file (atomically, by rename) when its content changed: the fresh users,
 * their groups, each with its expiry. */
#ifndef DPK_AGENT_NSS_CACHE_H
#define DPK_AGENT_NSS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct agent;

/* --- the pure part: one file's bytes from a list of entries --- */
struct nss_cache_user_in {
	const char *name, *gecos, *dir, *shell;
	uint32_t uid, gid;
	uint64_t expiry_ms; /* CLOCK_REALTIME ms; 0: never */
};
struct nss_cache_group_in {
	const char *name;
	uint32_t gid;
	uint64_t expiry_ms;
};
/* Append the file holding these entries to out. Sorts both arrays; drops
 * an entry whose name or id repeats an earlier one's, and any entry the
 * reader would refuse (so the file written is always valid). 0,
 * DPK_ERR_TOOBIG (too many entries or bytes) or DPK_ERR_NOMEM. */
int agent_nss_cache_build(struct nss_cache_user_in *users, size_t n_users, struct nss_cache_group_in *groups,
    size_t n_groups, uint64_t generation, struct dpk_buf *out);

/* --- the agent's state (event-loop thread only) --- */
/* A user answered as found; fresh_until_ms on the agent's monotonic clock. */
void agent_nss_cache_note(struct agent *a, const uint8_t hash[32], const char *name, uint32_t uid, uint32_t gid,
    const char *gecos, const char *home, int64_t fresh_until_ms);
/* The chain changed this identity (rotated, revoked, approved again). */
void agent_nss_cache_forget(struct agent *a, const uint8_t hash[32]);
/* Forget everybody (configuration reloaded, cache flushed). */
void agent_nss_cache_clear(struct agent *a);
/* struct agent's on_record_changed: forget hash's user, or all (NULL). */
void agent_nss_cache_changed(struct agent *a, const uint8_t *hash);
/* Write the file if it changed (at most every 50 ms). Returns the ms until
 * it should be called again, or -1 when nothing is due. */
int64_t agent_nss_cache_tick(struct agent *a, int64_t now_ms);
/* Remove the file and free the state (the agent is stopping). */
void agent_nss_cache_close(struct agent *a);

#endif
