/* The writer of nss_dpk's cache file (nss_dpk/cachefile.h for the format,
 * nss_dpk(8) for what it is for). The agent notes each user it answers as
 * found, forgets the ones the chain changed or revoked, and changes the
 * file in place (a record appended, slots swung) or, when it is full, builds
 * a bigger one and renames it into place: the fresh users, their groups,
 * each with its expiry. */
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
	uint64_t block_number; /* the block the record was proven at; 0: not proven */
	const uint8_t *block_hash; /* its hash (32 bytes); NULL when not proven */
};
struct nss_cache_group_in {
	const char *name;
	uint32_t gid;
	uint64_t expiry_ms;
};
/* Append a file holding these entries to out, with room to grow by half.
 * Sorts both arrays; drops an entry whose name or id repeats an earlier
 * one's, and any entry the reader would refuse. 0, DPK_ERR_TOOBIG (too many
 * entries or bytes) or DPK_ERR_NOMEM. */
int agent_nss_cache_build(struct nss_cache_user_in *users, size_t n_users, struct nss_cache_group_in *groups,
    size_t n_groups, uint64_t generation, struct dpk_buf *out);

/* The slots per table and the file size for room entries (of each kind)
 * and heap_bytes of records: 0 or DPK_ERR_TOOBIG. */
int agent_nss_cache_layout(size_t room, uint64_t heap_bytes, uint32_t *slots, uint64_t *size);
/* The bytes an entry's record takes in the heap. */
size_t agent_nss_cache_user_bytes(const struct nss_cache_user_in *u);
size_t agent_nss_cache_group_bytes(const struct nss_cache_group_in *g);
/* Write the header of an empty file into p[size] (zeroed by the caller). */
void agent_nss_cache_init(uint8_t *p, size_t size, uint32_t slots, uint32_t seed, uint64_t generation);
/* Change a file this writer made, in place, while readers read it (the
 * format's comment says how no reader sees a part). put adds the entry, or
 * replaces the one with its name and the one with its id. 0;
 * DPK_ERR_TOOBIG when the file is full (build a new one); DPK_ERR_INVALID
 * for an entry the reader would refuse (nothing written). del: 0, or 1 when
 * the name is not there. */
int agent_nss_cache_put_user(uint8_t *p, size_t size, const struct nss_cache_user_in *u);
int agent_nss_cache_put_group(uint8_t *p, size_t size, const struct nss_cache_group_in *g);
int agent_nss_cache_del_user(uint8_t *p, size_t size, const char *name);
int agent_nss_cache_del_group(uint8_t *p, size_t size, const char *name);
/* put every entry (no sorting, no dedupe): 0 or DPK_ERR_TOOBIG */
int agent_nss_cache_fill(uint8_t *p, size_t size, const struct nss_cache_user_in *users, size_t n_users,
    const struct nss_cache_group_in *groups, size_t n_groups);

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
/* Build the file when it must be (at start, after a clear, when full; at
 * most every 50 ms) and drop expired entries (at most once a second).
 * Returns the ms until it should be called again, or -1 when nothing is
 * due. */
int64_t agent_nss_cache_tick(struct agent *a, int64_t now_ms);
/* Remove the file and free the state (the agent is stopping). */
void agent_nss_cache_close(struct agent *a);

#endif
