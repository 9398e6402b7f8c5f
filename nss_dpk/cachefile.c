/* Reading the NSS cache file (cachefile.h). The file is trusted no more
 * than a socket reply: nss_dpk_cache_open() checks all of it once, when it
 * is mapped, and the lookups then only follow offsets it has checked. */
#include "cachefile.h"
#include "pack.h"

#include <string.h>

uint64_t
nss_dpk_cache_checksum(const uint8_t *p, size_t size)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < size; i++) {
		if (i == NSS_DPK_CACHE_OFF_CHECKSUM) {
			i = NSS_DPK_CACHE_OFF_RESERVED - 1;
			continue;
		}
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Record field offsets (cachefile.h, doc/protocol.md). */
#define U_NAME 0
#define U_GECOS 8
#define U_DIR 16
#define U_SHELL 24
#define U_UID 32
#define U_GID 36
#define U_EXPIRY 40
#define G_NAME 0
#define G_GID 8
#define G_RESERVED 12
#define G_EXPIRY 16

static struct nss_dpk_cache_text
text_at(const struct nss_dpk_cache *c, const uint8_t *ref)
{
	struct nss_dpk_cache_text t;

	t.p = (const char *)c->p + c->strings + nss_dpk_le32(ref);
	t.n = nss_dpk_le32(ref + 4);
	return t;
}

static const uint8_t *
user_rec(const struct nss_dpk_cache *c, uint32_t i)
{
	return c->p + c->users + (size_t)i * NSS_DPK_CACHE_USER_SIZE;
}

static const uint8_t *
group_rec(const struct nss_dpk_cache *c, uint32_t i)
{
	return c->p + c->groups + (size_t)i * NSS_DPK_CACHE_GROUP_SIZE;
}

void
nss_dpk_cache_user_at(const struct nss_dpk_cache *c, uint32_t i, struct nss_dpk_cache_user *u)
{
	const uint8_t *r = user_rec(c, i);

	u->name = text_at(c, r + U_NAME);
	u->gecos = text_at(c, r + U_GECOS);
	u->dir = text_at(c, r + U_DIR);
	u->shell = text_at(c, r + U_SHELL);
	u->uid = nss_dpk_le32(r + U_UID);
	u->gid = nss_dpk_le32(r + U_GID);
	u->expiry_ms = nss_dpk_le64(r + U_EXPIRY);
}

void
nss_dpk_cache_group_at(const struct nss_dpk_cache *c, uint32_t i, struct nss_dpk_cache_group *g)
{
	const uint8_t *r = group_rec(c, i);

	g->name = text_at(c, r + G_NAME);
	g->gid = nss_dpk_le32(r + G_GID);
	g->expiry_ms = nss_dpk_le64(r + G_EXPIRY);
}

/* Names sort by bytes, a prefix first. */
static int
cmp_text(const char *a, size_t an, const char *b, size_t bn)
{
	int r = memcmp(a, b, an < bn ? an : bn);

	if (r != 0)
		return r;
	return an < bn ? -1 : an > bn;
}

/* The string a record refers to must start exactly where the previous one
 * ended (*pos), fit in the pool, end with a NUL, hold none inside, and obey
 * the field's rules. */
enum text_kind { T_NAME, T_GECOS, T_PATH };

static int
check_text(const struct nss_dpk_cache *c, const uint8_t *ref, uint32_t *pos, enum text_kind kind)
{
	uint32_t off = nss_dpk_le32(ref), n = nss_dpk_le32(ref + 4);
	const uint8_t *s;
	uint32_t max = kind == T_NAME ? 64 : kind == T_GECOS ? 1024 : 4096;

	if (off != *pos || n > max || n >= c->strings_len - off)
		return -1;
	s = c->p + c->strings + off;
	if (s[n] != '\0' || memchr(s, '\0', n) != NULL || memchr(s, ':', n) != NULL || memchr(s, '\n', n) != NULL)
		return -1;
	if (kind == T_NAME && !nss_dpk_plausible(s, n))
		return -1;
	if (kind == T_PATH && (n == 0 || s[0] != '/'))
		return -1;
	*pos = off + n + 1;
	return 0;
}

/* Users and groups are both a record table in name order plus an index in
 * id order: one description serves the checks and the lookups of both. */
struct table {
	uint32_t recs, n, size, ix; /* records at recs, n of size bytes; index at ix */
	uint32_t id_field;          /* where a record's uid or gid is */
};

static struct table
users_of(const struct nss_dpk_cache *c)
{
	return (struct table){c->users, c->n_users, NSS_DPK_CACHE_USER_SIZE, c->uid_index, U_UID};
}

static struct table
groups_of(const struct nss_dpk_cache *c)
{
	return (struct table){c->groups, c->n_groups, NSS_DPK_CACHE_GROUP_SIZE, c->gid_index, G_GID};
}

static const uint8_t *
rec_at(const struct nss_dpk_cache *c, const struct table *t, uint32_t i)
{
	return c->p + t->recs + (size_t)i * t->size;
}

/* the record at place i of the id index */
static const uint8_t *
rec_by_ix(const struct nss_dpk_cache *c, const struct table *t, uint32_t i)
{
	return rec_at(c, t, nss_dpk_le32(c->p + t->ix + 4 * (size_t)i));
}

/* Names strictly ascending (every name once); the index a permutation in
 * strictly ascending id order (every id once). Names must be checked
 * before (a record's name field is its first). */
static int
check_order(const struct nss_dpk_cache *c, const struct table *t)
{
	for (uint32_t i = 1; i < t->n; i++) {
		struct nss_dpk_cache_text a = text_at(c, rec_at(c, t, i - 1)), b = text_at(c, rec_at(c, t, i));

		if (cmp_text(a.p, a.n, b.p, b.n) >= 0)
			return -1;
	}
	for (uint32_t i = 0; i < t->n; i++) {
		if (nss_dpk_le32(c->p + t->ix + 4 * (size_t)i) >= t->n)
			return -1;
		if (i > 0 && nss_dpk_le32(rec_by_ix(c, t, i - 1) + t->id_field) >= nss_dpk_le32(rec_by_ix(c, t, i) + t->id_field))
			return -1;
	}
	return 0;
}

static int
check_users(const struct nss_dpk_cache *c, uint32_t *pos)
{
	struct table t = users_of(c);

	for (uint32_t i = 0; i < c->n_users; i++) {
		const uint8_t *r = user_rec(c, i);

		if (check_text(c, r + U_NAME, pos, T_NAME) != 0 || check_text(c, r + U_GECOS, pos, T_GECOS) != 0 ||
		    check_text(c, r + U_DIR, pos, T_PATH) != 0 || check_text(c, r + U_SHELL, pos, T_PATH) != 0 ||
		    nss_dpk_reserved_id(nss_dpk_le32(r + U_UID)) || nss_dpk_reserved_id(nss_dpk_le32(r + U_GID)))
			return -1;
	}
	return check_order(c, &t);
}

static int
check_groups(const struct nss_dpk_cache *c, uint32_t *pos)
{
	struct table t = groups_of(c);

	for (uint32_t i = 0; i < c->n_groups; i++) {
		const uint8_t *r = group_rec(c, i);

		if (check_text(c, r + G_NAME, pos, T_NAME) != 0 || nss_dpk_le32(r + G_RESERVED) != 0 ||
		    nss_dpk_reserved_id(nss_dpk_le32(r + G_GID)))
			return -1;
	}
	return check_order(c, &t);
}

int
nss_dpk_cache_open(struct nss_dpk_cache *c, const uint8_t *p, size_t n)
{
	uint64_t at;
	uint32_t pos = 0;

	memset(c, 0, sizeof(*c));
	if (p == NULL || n < NSS_DPK_CACHE_HEADER_SIZE || n > NSS_DPK_CACHE_MAX_SIZE ||
	    memcmp(p, NSS_DPK_CACHE_MAGIC, 8) != 0)
		return -1;
	if (nss_dpk_le32(p + NSS_DPK_CACHE_OFF_VERSION) != NSS_DPK_CACHE_VERSION)
		return 1;
	c->p = p;
	c->size = n;
	c->generation = nss_dpk_le64(p + NSS_DPK_CACHE_OFF_GENERATION);
	c->n_users = nss_dpk_le32(p + NSS_DPK_CACHE_OFF_N_USERS);
	c->n_groups = nss_dpk_le32(p + NSS_DPK_CACHE_OFF_N_GROUPS);
	c->users = nss_dpk_le32(p + NSS_DPK_CACHE_OFF_USERS);
	c->uid_index = nss_dpk_le32(p + NSS_DPK_CACHE_OFF_UID_INDEX);
	c->groups = nss_dpk_le32(p + NSS_DPK_CACHE_OFF_GROUPS);
	c->gid_index = nss_dpk_le32(p + NSS_DPK_CACHE_OFF_GID_INDEX);
	c->strings = nss_dpk_le32(p + NSS_DPK_CACHE_OFF_STRINGS);
	c->strings_len = nss_dpk_le32(p + NSS_DPK_CACHE_OFF_STRINGS_LEN);
	if (nss_dpk_le32(p + NSS_DPK_CACHE_OFF_HEADER_SIZE) != NSS_DPK_CACHE_HEADER_SIZE ||
	    nss_dpk_le64(p + NSS_DPK_CACHE_OFF_FILE_SIZE) != n || nss_dpk_le64(p + NSS_DPK_CACHE_OFF_RESERVED) != 0 ||
	    c->n_users > NSS_DPK_CACHE_MAX_ENTRIES || c->n_groups > NSS_DPK_CACHE_MAX_ENTRIES)
		goto bad;
	/* the canonical layout, computed in 64 bits: no gap, no overlap, no
	 * byte outside the sections */
	at = NSS_DPK_CACHE_HEADER_SIZE;
	if (c->users != at)
		goto bad;
	at += (uint64_t)c->n_users * NSS_DPK_CACHE_USER_SIZE;
	if (c->uid_index != at)
		goto bad;
	at += (uint64_t)c->n_users * 4;
	if (c->groups != at)
		goto bad;
	at += (uint64_t)c->n_groups * NSS_DPK_CACHE_GROUP_SIZE;
	if (c->gid_index != at)
		goto bad;
	at += (uint64_t)c->n_groups * 4;
	if (c->strings != at || at + c->strings_len != n)
		goto bad;
	if (nss_dpk_le64(p + NSS_DPK_CACHE_OFF_CHECKSUM) != nss_dpk_cache_checksum(p, n))
		goto bad;
	if (check_users(c, &pos) != 0 || check_groups(c, &pos) != 0 || pos != c->strings_len)
		goto bad;
	return 0;
bad:
	memset(c, 0, sizeof(*c));
	return -1;
}

/* Binary searches: the record's number, or -1. */
static long
find_name(const struct nss_dpk_cache *c, const struct table *t, const char *name, size_t n)
{
	uint32_t lo = 0, hi = t->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		struct nss_dpk_cache_text x = text_at(c, rec_at(c, t, mid));
		int r = cmp_text(name, n, x.p, x.n);

		if (r == 0)
			return mid;
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static long
find_id(const struct nss_dpk_cache *c, const struct table *t, uint32_t id)
{
	uint32_t lo = 0, hi = t->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2, v = nss_dpk_le32(rec_by_ix(c, t, mid) + t->id_field);

		if (v == id)
			return nss_dpk_le32(c->p + t->ix + 4 * (size_t)mid);
		if (id < v)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

int
nss_dpk_cache_user_by_name(const struct nss_dpk_cache *c, const char *name, size_t n, struct nss_dpk_cache_user *u)
{
	struct table t = users_of(c);
	long i = find_name(c, &t, name, n);

	if (i < 0)
		return 1;
	nss_dpk_cache_user_at(c, (uint32_t)i, u);
	return 0;
}

int
nss_dpk_cache_user_by_uid(const struct nss_dpk_cache *c, uint32_t uid, struct nss_dpk_cache_user *u)
{
	struct table t = users_of(c);
	long i = find_id(c, &t, uid);

	if (i < 0)
		return 1;
	nss_dpk_cache_user_at(c, (uint32_t)i, u);
	return 0;
}

int
nss_dpk_cache_group_by_name(const struct nss_dpk_cache *c, const char *name, size_t n, struct nss_dpk_cache_group *g)
{
	struct table t = groups_of(c);
	long i = find_name(c, &t, name, n);

	if (i < 0)
		return 1;
	nss_dpk_cache_group_at(c, (uint32_t)i, g);
	return 0;
}

int
nss_dpk_cache_group_by_gid(const struct nss_dpk_cache *c, uint32_t gid, struct nss_dpk_cache_group *g)
{
	struct table t = groups_of(c);
	long i = find_id(c, &t, gid);

	if (i < 0)
		return 1;
	nss_dpk_cache_group_at(c, (uint32_t)i, g);
	return 0;
}
