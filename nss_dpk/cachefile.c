/* Reading the NSS cache file (cachefile.h). The file is trusted no more
 * than a socket reply, and the writer may change it while it is read:
 * nss_dpk_cache_open() checks the header alone; a lookup checks the slots it
 * probes and each record it touches, in a private copy taken while the slot
 * pointed to it. */
#include "cachefile.h"
#include "pack.h"

#include <string.h>

/* record field offsets (doc/protocol.md) */
#define R_LEN 0
#define R_SUM 4
#define R_KIND 8
#define R_ID 12
#define R_GID 16
#define R_NAME_LEN 20
#define R_GECOS_LEN 22
#define R_DIR_LEN 24
#define R_SHELL_LEN 26
#define R_RESERVED 28
#define R_EXPIRY 32
#define R_BLOCK 40
#define R_BLOCK_HASH 48

uint64_t
nss_dpk_cache_checksum(const uint8_t *p, size_t size)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < size; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

uint32_t
nss_dpk_cache_record_checksum(const uint8_t *p, size_t size)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < size; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

/* murmur3's finalizer: spreads FNV's low-bit entropy to the high bits that
 * pick the slot */
static uint32_t
mix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

uint32_t
nss_dpk_cache_hash_name(uint32_t seed, const char *name, size_t n)
{
	uint32_t h = 2166136261u ^ seed;

	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)name[i];
		h *= 16777619u;
	}
	return mix(h);
}

uint32_t
nss_dpk_cache_hash_id(uint32_t seed, uint32_t id)
{
	return mix(id ^ mix(seed));
}

int
nss_dpk_cache_open(struct nss_dpk_cache *c, const uint8_t *p, size_t n)
{
	uint64_t heap;

	memset(c, 0, sizeof(*c));
	if (p == NULL || n < NSS_DPK_CACHE_HEADER_SIZE || n > NSS_DPK_CACHE_MAX_SIZE || ((uintptr_t)p & 7) != 0 ||
	    memcmp(p, NSS_DPK_CACHE_MAGIC, 8) != 0)
		return -1;
	if (nss_dpk_le32(p + NSS_DPK_CACHE_OFF_VERSION) != NSS_DPK_CACHE_VERSION)
		return 1;
	c->slots = nss_dpk_le32(p + NSS_DPK_CACHE_OFF_SLOTS);
	heap = NSS_DPK_CACHE_HEADER_SIZE + 16 * (uint64_t)c->slots;
	if (nss_dpk_le32(p + NSS_DPK_CACHE_OFF_HEADER_SIZE) != NSS_DPK_CACHE_HEADER_SIZE ||
	    nss_dpk_le64(p + NSS_DPK_CACHE_OFF_FILE_SIZE) != n || c->slots == 0 || c->slots > NSS_DPK_CACHE_MAX_SLOTS ||
	    nss_dpk_le64(p + NSS_DPK_CACHE_OFF_TABLES) != NSS_DPK_CACHE_HEADER_SIZE ||
	    nss_dpk_le64(p + NSS_DPK_CACHE_OFF_HEAP) != heap || heap > n ||
	    nss_dpk_le64(p + NSS_DPK_CACHE_OFF_CHECKSUM) != nss_dpk_cache_checksum(p, NSS_DPK_CACHE_FIXED_SIZE)) {
		memset(c, 0, sizeof(*c));
		return -1;
	}
	c->p = p;
	c->size = n;
	c->generation = nss_dpk_le64(p + NSS_DPK_CACHE_OFF_GENERATION);
	c->seed = nss_dpk_le32(p + NSS_DPK_CACHE_OFF_SEED);
	c->heap = heap;
	NSS_DPK_HG_RACY(p + NSS_DPK_CACHE_HEADER_SIZE, (size_t)(heap - NSS_DPK_CACHE_HEADER_SIZE)); /* the slots */
	return 0;
}

/* A text of n bytes at *pos in a record: a NUL after it, none inside, no
 * ':' or newline; names plausible, paths absolute. */
enum text_kind { T_NAME, T_GECOS, T_PATH };

static int
take_text(const uint8_t *r, size_t len, size_t *pos, uint32_t n, enum text_kind kind, struct nss_dpk_cache_text *t)
{
	const uint8_t *s = r + *pos;

	if (n >= len - *pos || s[n] != '\0' || memchr(s, '\0', n) != NULL || memchr(s, ':', n) != NULL ||
	    memchr(s, '\n', n) != NULL)
		return -1;
	if (kind == T_NAME && !nss_dpk_plausible(s, n))
		return -1;
	if (kind == T_PATH && (n == 0 || s[0] != '/'))
		return -1;
	t->p = (const char *)s;
	t->n = n;
	*pos += n + 1;
	return 0;
}

/* Check a copied record of len bytes (its length field said len) and fill
 * the fields of a user (u) or a group (g). */
static int
parse(const uint8_t *r, size_t len, struct nss_dpk_cache_user *u, struct nss_dpk_cache_group *g)
{
	uint32_t kind = nss_dpk_le32(r + R_KIND), id = nss_dpk_le32(r + R_ID), gid = nss_dpk_le32(r + R_GID);
	uint32_t nl = nss_dpk_le16(r + R_NAME_LEN), gl = nss_dpk_le16(r + R_GECOS_LEN), dl = nss_dpk_le16(r + R_DIR_LEN),
		 sl = nss_dpk_le16(r + R_SHELL_LEN);
	size_t pos = NSS_DPK_CACHE_RECORD_HEAD;
	struct nss_dpk_cache_text name;

	if (len < NSS_DPK_CACHE_RECORD_HEAD || len > NSS_DPK_CACHE_MAX_RECORD || len % 8 != 0 ||
	    nss_dpk_le32(r + R_SUM) != nss_dpk_cache_record_checksum(r + R_KIND, len - R_KIND) ||
	    nss_dpk_le32(r + R_RESERVED) != 0 || nl == 0 || nl > 64 || nss_dpk_reserved_id(id))
		return -1;
	if (take_text(r, len, &pos, nl, T_NAME, &name) != 0)
		return -1;
	if (u != NULL) {
		if (kind != NSS_DPK_CACHE_KIND_USER || gl > 1024 || dl > 4096 || sl > 4096 || nss_dpk_reserved_id(gid))
			return -1;
		u->name = name;
		if (take_text(r, len, &pos, gl, T_GECOS, &u->gecos) != 0 || take_text(r, len, &pos, dl, T_PATH, &u->dir) != 0 ||
		    take_text(r, len, &pos, sl, T_PATH, &u->shell) != 0)
			return -1;
		u->uid = id;
		u->gid = gid;
		u->expiry_ms = nss_dpk_le64(r + R_EXPIRY);
		u->block_number = nss_dpk_le64(r + R_BLOCK);
		memcpy(u->block_hash, r + R_BLOCK_HASH, 32);
	} else {
		if (kind != NSS_DPK_CACHE_KIND_GROUP || gl != 0 || dl != 0 || sl != 0 || gid != 0)
			return -1;
		for (size_t k = R_BLOCK; k < NSS_DPK_CACHE_RECORD_HEAD; k++)
			if (r[k] != 0)
				return -1; /* a group has no proven block */
		g->name = name;
		g->gid = id;
		g->expiry_ms = nss_dpk_le64(r + R_EXPIRY);
	}
	/* canonical: the padding is the least that reaches a multiple of 8, zeros */
	if ((pos + 7) / 8 * 8 != len)
		return -1;
	for (; pos < len; pos++)
		if (r[pos] != 0)
			return -1;
	return 0;
}

static const uint8_t *
slot_at(const struct nss_dpk_cache *c, enum nss_dpk_cache_table t, uint32_t i)
{
	return c->p + NSS_DPK_CACHE_HEADER_SIZE + ((uint64_t)t * c->slots + i) * 4;
}

/* Copy and check the record slot i of table t refers to: 0 (filled), 1
 * (empty: *v says which), -1 damaged. The copy is used only if the slot
 * still holds the same value after it was taken: the writer moves a slot
 * before it zeroes the record it left. */
static int
read_slot(const struct nss_dpk_cache *c, enum nss_dpk_cache_table t, uint32_t i, uint32_t *v,
    struct nss_dpk_cache_user *u, struct nss_dpk_cache_group *g)
{
	const uint8_t *slot = slot_at(c, t, i);
	uint8_t *rec = u != NULL ? u->rec : g->rec;

	for (int attempt = 0; attempt < 8; attempt++) {
		uint64_t off;
		uint32_t len;

		*v = nss_dpk_cache_slot_load(slot);
		if (*v == NSS_DPK_CACHE_SLOT_EMPTY || *v == NSS_DPK_CACHE_SLOT_DELETED)
			return 1;
		off = (uint64_t)*v * 8;
		if (off < c->heap || off > c->size - NSS_DPK_CACHE_RECORD_HEAD)
			return -1;
		len = nss_dpk_le32(c->p + off);
		if (len >= NSS_DPK_CACHE_RECORD_HEAD && len <= NSS_DPK_CACHE_MAX_RECORD && len <= c->size - off)
			memcpy(rec, c->p + off, len);
		else
			len = 0;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (nss_dpk_cache_slot_load(slot) != *v)
			continue; /* moved meanwhile: look again */
		if (len == 0 || nss_dpk_le32(rec + R_LEN) != len || parse(rec, len, u, g) != 0)
			return -1;
		return 0;
	}
	return -1; /* a writer that never lets go: treat as damaged */
}

/* Probe table t from hash's home for a record that matches: by name (name
 * != NULL) or by id. */
static int
find(const struct nss_dpk_cache *c, enum nss_dpk_cache_table t, uint32_t hash, const char *name, size_t n, uint32_t id,
    struct nss_dpk_cache_user *u, struct nss_dpk_cache_group *g)
{
	uint32_t i = nss_dpk_cache_home(hash, c->slots);
	uint32_t probes = c->slots < NSS_DPK_CACHE_MAX_PROBE ? c->slots : NSS_DPK_CACHE_MAX_PROBE;

	if (c->p == NULL)
		return 1;
	for (uint32_t k = 0; k < probes; k++, i = i + 1 == c->slots ? 0 : i + 1) {
		const struct nss_dpk_cache_text *tn;
		uint32_t v, rid;
		int r = read_slot(c, t, i, &v, u, g);

		if (r < 0)
			return -1;
		if (r > 0) {
			if (v == NSS_DPK_CACHE_SLOT_EMPTY)
				return 1;
			continue;
		}
		tn = u != NULL ? &u->name : &g->name;
		rid = u != NULL ? u->uid : g->gid;
		if (name != NULL ? tn->n == n && memcmp(tn->p, name, n) == 0 : rid == id)
			return 0;
	}
	return 1;
}

int
nss_dpk_cache_user_by_name(const struct nss_dpk_cache *c, const char *name, size_t n, struct nss_dpk_cache_user *u)
{
	return find(c, NSS_DPK_CACHE_USER_NAME, nss_dpk_cache_hash_name(c->seed, name, n), name, n, 0, u, NULL);
}

int
nss_dpk_cache_user_by_uid(const struct nss_dpk_cache *c, uint32_t uid, struct nss_dpk_cache_user *u)
{
	return find(c, NSS_DPK_CACHE_USER_UID, nss_dpk_cache_hash_id(c->seed, uid), NULL, 0, uid, u, NULL);
}

int
nss_dpk_cache_group_by_name(const struct nss_dpk_cache *c, const char *name, size_t n, struct nss_dpk_cache_group *g)
{
	return find(c, NSS_DPK_CACHE_GROUP_NAME, nss_dpk_cache_hash_name(c->seed, name, n), name, n, 0, NULL, g);
}

int
nss_dpk_cache_group_by_gid(const struct nss_dpk_cache *c, uint32_t gid, struct nss_dpk_cache_group *g)
{
	return find(c, NSS_DPK_CACHE_GROUP_GID, nss_dpk_cache_hash_id(c->seed, gid), NULL, 0, gid, NULL, g);
}

int
nss_dpk_cache_user_at(const struct nss_dpk_cache *c, uint32_t i, struct nss_dpk_cache_user *u)
{
	uint32_t v;

	if (c->p == NULL || i >= c->slots)
		return 1;
	return read_slot(c, NSS_DPK_CACHE_USER_NAME, i, &v, u, NULL);
}

int
nss_dpk_cache_group_at(const struct nss_dpk_cache *c, uint32_t i, struct nss_dpk_cache_group *g)
{
	uint32_t v;

	if (c->p == NULL || i >= c->slots)
		return 1;
	return read_slot(c, NSS_DPK_CACHE_GROUP_NAME, i, &v, NULL, g);
}
