/* The NSS cache file (doc/protocol.md "NSS cache file", nss_dpk(8)):
 * dpk-agent writes the users and groups it has resolved into a read-only
 * file; libnss_dpk.so.2 maps it and answers from it without a round trip to
 * the agent. This header is the one definition of the format, shared by the
 * writer (dpk-agent/login/nss_cache.c) and the reader below, which is libc-only so
 * the module, the unit tests and the fuzzer all link it.
 *
 * All integers are little-endian. The layout is canonical: the sections
 * follow the header in a fixed order with no gap, the strings follow the
 * records in record order, so there is exactly one valid file for one set of
 * entries and nothing can overlap. */
#ifndef NSS_DPK_CACHEFILE_H
#define NSS_DPK_CACHEFILE_H

#include <stddef.h>
#include <stdint.h>

#define NSS_DPK_CACHE_MAGIC "DPKNSSC\n"
#define NSS_DPK_CACHE_VERSION 1
#define NSS_DPK_CACHE_HEADER_SIZE 80
#define NSS_DPK_CACHE_USER_SIZE 48
#define NSS_DPK_CACHE_GROUP_SIZE 24
/* far more than any host admits; keeps every offset below 2^32 */
#define NSS_DPK_CACHE_MAX_ENTRIES 65536
#define NSS_DPK_CACHE_MAX_SIZE (64u * 1024 * 1024)
/* the default path, as the module reads it (DPK_NSS_CACHE overrides in tests) */
#define NSS_DPK_CACHE_PATH "/run/dpk/nss.cache"

/* header field offsets */
#define NSS_DPK_CACHE_OFF_VERSION 8
#define NSS_DPK_CACHE_OFF_HEADER_SIZE 12
#define NSS_DPK_CACHE_OFF_FILE_SIZE 16
#define NSS_DPK_CACHE_OFF_GENERATION 24
#define NSS_DPK_CACHE_OFF_N_USERS 32
#define NSS_DPK_CACHE_OFF_N_GROUPS 36
#define NSS_DPK_CACHE_OFF_USERS 40
#define NSS_DPK_CACHE_OFF_UID_INDEX 44
#define NSS_DPK_CACHE_OFF_GROUPS 48
#define NSS_DPK_CACHE_OFF_GID_INDEX 52
#define NSS_DPK_CACHE_OFF_STRINGS 56
#define NSS_DPK_CACHE_OFF_STRINGS_LEN 60
#define NSS_DPK_CACHE_OFF_CHECKSUM 64
#define NSS_DPK_CACHE_OFF_RESERVED 72

/* A validated file: the bytes and where its sections start. */
struct nss_dpk_cache {
	const uint8_t *p;
	size_t size;
	uint64_t generation;
	uint32_t n_users, n_groups;
	uint32_t users, uid_index, groups, gid_index, strings, strings_len;
};

/* A text field inside the file: n bytes, NUL-terminated at p[n]. */
struct nss_dpk_cache_text {
	const char *p;
	uint32_t n;
};

struct nss_dpk_cache_user {
	struct nss_dpk_cache_text name, gecos, dir, shell;
	uint32_t uid, gid;
	uint64_t expiry_ms; /* CLOCK_REALTIME milliseconds; 0: never */
};

struct nss_dpk_cache_group {
	struct nss_dpk_cache_text name;
	uint32_t gid;
	uint64_t expiry_ms;
};

/* Check every byte of the n bytes at p (magic, sizes, the canonical layout,
 * every string, the sort orders, the checksum) and fill *c. Returns 0 when
 * valid; 1 for a well-formed header of another version (the caller ignores
 * the file); -1 for anything else (the caller treats the file as corrupt). */
int nss_dpk_cache_open(struct nss_dpk_cache *c, const uint8_t *p, size_t n);

/* Look up a validated file. 0 and *u (pointers into the file) when found,
 * else 1. Expiry is the caller's to check. */
int nss_dpk_cache_user_by_name(const struct nss_dpk_cache *c, const char *name, size_t n,
    struct nss_dpk_cache_user *u);
int nss_dpk_cache_user_by_uid(const struct nss_dpk_cache *c, uint32_t uid, struct nss_dpk_cache_user *u);
int nss_dpk_cache_group_by_name(const struct nss_dpk_cache *c, const char *name, size_t n,
    struct nss_dpk_cache_group *g);
int nss_dpk_cache_group_by_gid(const struct nss_dpk_cache *c, uint32_t gid, struct nss_dpk_cache_group *g);
/* The i-th user and group in name order (enumeration); i < n_users / n_groups. */
void nss_dpk_cache_user_at(const struct nss_dpk_cache *c, uint32_t i, struct nss_dpk_cache_user *u);
void nss_dpk_cache_group_at(const struct nss_dpk_cache *c, uint32_t i, struct nss_dpk_cache_group *g);

/* The checksum of a file: FNV-1a 64 over bytes [0, 64) and [72, size). */
uint64_t nss_dpk_cache_checksum(const uint8_t *p, size_t size);

/* Little-endian stores and loads, for the writer and the reader. */
static inline void
nss_dpk_le32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void
nss_dpk_le64_put(uint8_t *p, uint64_t v)
{
	nss_dpk_le32_put(p, (uint32_t)v);
	nss_dpk_le32_put(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t
nss_dpk_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t
nss_dpk_le64(const uint8_t *p)
{
	return (uint64_t)nss_dpk_le32(p) | (uint64_t)nss_dpk_le32(p + 4) << 32;
}

#endif
