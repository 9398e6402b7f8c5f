/* The NSS cache file (doc/protocol.md "NSS cache file", nss_dpk(8)):
 * dpk-agent writes the users and groups it has resolved into a file that
 * libnss_dpk.so.2 maps and answers from without a round trip to the agent.
 * This header is the one definition of the format, shared by the writer
 * (dpk-agent/login/nss_cachebuild.c) and the reader below, which is
 * libc-only so the module, the unit tests and the fuzzer all link it.
 *
 * Version 3 (version 2 and a user's proven block: the block number and
 * hash its record was proven at, doc/trust-model.md) is made for a first use in O(1): a fixed header (checked whole,
 * with its own checksum), four open-addressing hash tables of u32 slots
 * (user by name, user by uid, group by name, group by gid) and a heap of
 * self-checking records that is only ever appended to. A lookup hashes the
 * key, probes at most NSS_DPK_CACHE_MAX_PROBE slots and checks each record
 * it touches (bounds, checksum, fields) in a private copy: a damaged record
 * makes that one lookup fail, nothing else. The writer changes the file in
 * place: it appends a record, then swings the slots to it with one atomic
 * store each, then zeroes the record it replaced. A reader copies a record
 * and then reads its slot again: if the slot still points to it, the copy
 * was taken before the record could be zeroed (the slot moved first), so a
 * reader never uses a torn record. All integers are little-endian. */
#ifndef NSS_DPK_CACHEFILE_H
#define NSS_DPK_CACHEFILE_H

#include <stddef.h>
#include <stdint.h>

#define NSS_DPK_CACHE_MAGIC "DPKNSSC\n"
#define NSS_DPK_CACHE_VERSION 3
#define NSS_DPK_CACHE_HEADER_SIZE 128
/* the reader's part of the header, covered by the header checksum */
#define NSS_DPK_CACHE_FIXED_SIZE 56
#define NSS_DPK_CACHE_MAX_SIZE (1ull << 32)
#define NSS_DPK_CACHE_MAX_SLOTS (1u << 28)
/* the writer places every key within this many slots of its hash */
#define NSS_DPK_CACHE_MAX_PROBE 64
#define NSS_DPK_CACHE_RECORD_HEAD 80
/* 80 + name 64 + gecos 1024 + home 4096 + shell 4096 + four NULs, to 8 */
#define NSS_DPK_CACHE_MAX_RECORD 9368
/* slot values: 0 empty, 1 deleted, else a record's offset / 8 */
#define NSS_DPK_CACHE_SLOT_EMPTY 0u
#define NSS_DPK_CACHE_SLOT_DELETED 1u
/* the default path, as the module reads it (DPK_NSS_CACHE overrides in tests) */
#define NSS_DPK_CACHE_PATH "/run/dpk/nss.cache"

/* header field offsets: what readers check */
#define NSS_DPK_CACHE_OFF_VERSION 8
#define NSS_DPK_CACHE_OFF_HEADER_SIZE 12
#define NSS_DPK_CACHE_OFF_FILE_SIZE 16
#define NSS_DPK_CACHE_OFF_GENERATION 24
#define NSS_DPK_CACHE_OFF_SLOTS 32
#define NSS_DPK_CACHE_OFF_SEED 36
#define NSS_DPK_CACHE_OFF_TABLES 40
#define NSS_DPK_CACHE_OFF_HEAP 48
#define NSS_DPK_CACHE_OFF_CHECKSUM 56
/* the writer's bookkeeping (readers ignore it) */
#define NSS_DPK_CACHE_OFF_HEAP_END 64
#define NSS_DPK_CACHE_OFF_USED 72 /* u32 x 4: slots not empty, per table */
#define NSS_DPK_CACHE_OFF_UPDATES 88

/* the tables, in file order */
enum nss_dpk_cache_table {
	NSS_DPK_CACHE_USER_NAME,
	NSS_DPK_CACHE_USER_UID,
	NSS_DPK_CACHE_GROUP_NAME,
	NSS_DPK_CACHE_GROUP_GID,
};

/* record kinds */
#define NSS_DPK_CACHE_KIND_USER 1
#define NSS_DPK_CACHE_KIND_GROUP 2

/* A file whose header is valid: the bytes and where its parts are. */
struct nss_dpk_cache {
	const uint8_t *p;
	size_t size;
	uint64_t generation;
	uint32_t slots, seed;
	uint64_t heap;
};

/* A text field in a record's copy: n bytes, NUL-terminated at p[n]. */
struct nss_dpk_cache_text {
	const char *p;
	uint32_t n;
};

/* A looked-up entry: a private copy of its record, the texts point into it. */
struct nss_dpk_cache_user {
	struct nss_dpk_cache_text name, gecos, dir, shell;
	uint32_t uid, gid;
	uint64_t expiry_ms; /* CLOCK_REALTIME milliseconds; 0: never */
	uint64_t block_number; /* the block its record was proven at; 0: not proven */
	uint8_t block_hash[32];
	uint8_t rec[NSS_DPK_CACHE_MAX_RECORD];
};

struct nss_dpk_cache_group {
	struct nss_dpk_cache_text name;
	uint32_t gid;
	uint64_t expiry_ms;
	uint8_t rec[NSS_DPK_CACHE_MAX_RECORD];
};

/* Check the header of the n bytes at p (magic, sizes, layout, header
 * checksum) and fill *c; the records are checked when a lookup touches
 * them. Returns 0 when valid; 1 for a well-formed header of another version
 * (the caller ignores the file); -1 for anything else (corrupt). */
int nss_dpk_cache_open(struct nss_dpk_cache *c, const uint8_t *p, size_t n);

/* Look up an opened file. 0 and *u when found; 1 when not there; -1 when a
 * record on the way is damaged (the caller answers UNAVAIL). Expiry is the
 * caller's to check. Safe while the writer changes the file. */
int nss_dpk_cache_user_by_name(const struct nss_dpk_cache *c, const char *name, size_t n,
    struct nss_dpk_cache_user *u);
int nss_dpk_cache_user_by_uid(const struct nss_dpk_cache *c, uint32_t uid, struct nss_dpk_cache_user *u);
int nss_dpk_cache_group_by_name(const struct nss_dpk_cache *c, const char *name, size_t n,
    struct nss_dpk_cache_group *g);
int nss_dpk_cache_group_by_gid(const struct nss_dpk_cache *c, uint32_t gid, struct nss_dpk_cache_group *g);
/* The user or group that slot i (< slots) of the by-name table refers to
 * (for tests and the fuzzer): 0 found, 1 empty or deleted, -1 damaged. */
int nss_dpk_cache_user_at(const struct nss_dpk_cache *c, uint32_t i, struct nss_dpk_cache_user *u);
int nss_dpk_cache_group_at(const struct nss_dpk_cache *c, uint32_t i, struct nss_dpk_cache_group *g);

/* Hashes and probing, shared with the writer. */
uint32_t nss_dpk_cache_hash_name(uint32_t seed, const char *name, size_t n);
uint32_t nss_dpk_cache_hash_id(uint32_t seed, uint32_t id);
static inline uint32_t
nss_dpk_cache_home(uint32_t hash, uint32_t slots)
{
	return (uint32_t)(((uint64_t)hash * slots) >> 32);
}
/* FNV-1a 64 (the header) and 32 (a record). */
uint64_t nss_dpk_cache_checksum(const uint8_t *p, size_t size);
uint32_t nss_dpk_cache_record_checksum(const uint8_t *p, size_t size);

/* Little-endian stores and loads, for the writer and the reader. */
static inline void
nss_dpk_le16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

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

static inline uint16_t
nss_dpk_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
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

/* helgrind knows nothing of atomic loads and stores. The race test
 * (tests/unit/nss_dpk/test_cache_race.c) builds the reader and the writer
 * with NSS_DPK_HELGRIND, which tells it what the protocol relies on: a
 * slot's store happens before every load that sees it; slots (and records
 * the writer retired, which it zeroes while readers may still copy them:
 * the slot re-check discards such a copy) are raced on by design. Anything
 * else shared between the writer and a reader is then a reported race.
 * Without NSS_DPK_HELGRIND (or valgrind's headers) the macros are empty. */
#if defined(NSS_DPK_HELGRIND) && defined(__has_include)
#if __has_include(<valgrind/helgrind.h>)
#define NSS_DPK_HELGRIND_ON 1
#endif
#endif
#ifdef NSS_DPK_HELGRIND_ON
#include <valgrind/helgrind.h>
#define NSS_DPK_HG_STORE(p) ANNOTATE_HAPPENS_BEFORE(p)
#define NSS_DPK_HG_LOADED(p) ANNOTATE_HAPPENS_AFTER(p)
#define NSS_DPK_HG_RACY(p, n) VALGRIND_HG_DISABLE_CHECKING(p, n)
#else
#define NSS_DPK_HG_STORE(p) ((void)0)
#define NSS_DPK_HG_LOADED(p) ((void)0)
#define NSS_DPK_HG_RACY(p, n) ((void)0)
#endif

/* A slot, read or written whole by one atomic access (slots are 4-byte
 * aligned; the value is little-endian in the file). */
static inline uint32_t
nss_dpk_cache_slot_load(const uint8_t *slot)
{
	uint32_t v = __atomic_load_n((const uint32_t *)(const void *)slot, __ATOMIC_ACQUIRE);

	NSS_DPK_HG_LOADED(slot);

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

static inline void
nss_dpk_cache_slot_store(uint8_t *slot, uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	NSS_DPK_HG_STORE(slot);
	__atomic_store_n((uint32_t *)(void *)slot, v, __ATOMIC_RELEASE);
}

#endif
