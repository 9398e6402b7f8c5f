/* nss_dpk's cache file, the writer's side of the format (nss_cache.h,
 * nss_dpk/cachefile.h): laying out a file, and adding, replacing and
 * removing entries in place, apart from the agent's state so the tests,
 * the benchmark and the fuzzer link it alone.
 *
 * An entry is changed in three steps, so that a reader in another process
 * sees the old entry or the new one and never a part: the new record is
 * appended to the heap; each slot that should refer to it is swung to it
 * (one atomic store, release); the records no slot refers to any more are
 * zeroed. Nothing is ever written over a record a slot refers to. The heap
 * and the tables only fill up: when an entry does not fit, the caller
 * builds a new file (compaction) and renames it into place. */
#include "login/nss_cache.h"

#include "cachefile.h"
#include "base/err.h"
#include "pack.h"

#include <stdlib.h>
#include <string.h>

static int
text_ok(const char *s, size_t max, int path)
{
	size_t n = strlen(s);

	return n <= max && strpbrk(s, ":\n") == NULL && (!path || s[0] == '/');
}

static int
user_ok(const struct nss_cache_user_in *u)
{
	return nss_dpk_plausible((const uint8_t *)u->name, strlen(u->name)) && text_ok(u->name, 64, 0) &&
	    text_ok(u->gecos, 1024, 0) && text_ok(u->dir, 4096, 1) && text_ok(u->shell, 4096, 1) &&
	    !nss_dpk_reserved_id(u->uid) && !nss_dpk_reserved_id(u->gid);
}

static int
group_ok(const struct nss_cache_group_in *g)
{
	return nss_dpk_plausible((const uint8_t *)g->name, strlen(g->name)) && text_ok(g->name, 64, 0) &&
	    !nss_dpk_reserved_id(g->gid);
}

static size_t
pad8(size_t n)
{
	return (n + 7) / 8 * 8;
}

size_t
agent_nss_cache_user_bytes(const struct nss_cache_user_in *u)
{
	return pad8(NSS_DPK_CACHE_RECORD_HEAD + strlen(u->name) + strlen(u->gecos) + strlen(u->dir) +
	    strlen(u->shell) + 4);
}

size_t
agent_nss_cache_group_bytes(const struct nss_cache_group_in *g)
{
	return pad8(NSS_DPK_CACHE_RECORD_HEAD + strlen(g->name) + 1);
}

int
agent_nss_cache_layout(size_t room, uint64_t heap_bytes, uint32_t *slots, uint64_t *size)
{
	uint64_t s = 2 * (uint64_t)room + 64, n;

	if (s > NSS_DPK_CACHE_MAX_SLOTS)
		return DPK_ERR_TOOBIG;
	n = NSS_DPK_CACHE_HEADER_SIZE + 16 * s + pad8(heap_bytes);
	if (n > NSS_DPK_CACHE_MAX_SIZE)
		return DPK_ERR_TOOBIG;
	*slots = (uint32_t)s;
	*size = n;
	return 0;
}

void
agent_nss_cache_init(uint8_t *p, size_t size, uint32_t slots, uint32_t seed, uint64_t generation)
{
	memset(p, 0, NSS_DPK_CACHE_HEADER_SIZE);
	memcpy(p, NSS_DPK_CACHE_MAGIC, 8);
	nss_dpk_le32_put(p + NSS_DPK_CACHE_OFF_VERSION, NSS_DPK_CACHE_VERSION);
	nss_dpk_le32_put(p + NSS_DPK_CACHE_OFF_HEADER_SIZE, NSS_DPK_CACHE_HEADER_SIZE);
	nss_dpk_le64_put(p + NSS_DPK_CACHE_OFF_FILE_SIZE, size);
	nss_dpk_le64_put(p + NSS_DPK_CACHE_OFF_GENERATION, generation);
	nss_dpk_le32_put(p + NSS_DPK_CACHE_OFF_SLOTS, slots);
	nss_dpk_le32_put(p + NSS_DPK_CACHE_OFF_SEED, seed);
	nss_dpk_le64_put(p + NSS_DPK_CACHE_OFF_TABLES, NSS_DPK_CACHE_HEADER_SIZE);
	nss_dpk_le64_put(p + NSS_DPK_CACHE_OFF_HEAP, NSS_DPK_CACHE_HEADER_SIZE + 16 * (uint64_t)slots);
	nss_dpk_le64_put(p + NSS_DPK_CACHE_OFF_CHECKSUM, nss_dpk_cache_checksum(p, NSS_DPK_CACHE_FIXED_SIZE));
	nss_dpk_le64_put(p + NSS_DPK_CACHE_OFF_HEAP_END, NSS_DPK_CACHE_HEADER_SIZE + 16 * (uint64_t)slots);
	NSS_DPK_HG_RACY(p + NSS_DPK_CACHE_HEADER_SIZE, 16 * (size_t)slots); /* the slots: atomics */
}

/* ---- in place ---- */

/* The writer's view of its own file (it made it: the header is trusted). */
struct wfile {
	uint8_t *p;
	size_t size;
	uint32_t slots, seed;
	uint64_t heap, heap_end;
};

static struct wfile
wfile_of(uint8_t *p, size_t size)
{
	struct wfile f = {p, size, nss_dpk_le32(p + NSS_DPK_CACHE_OFF_SLOTS), nss_dpk_le32(p + NSS_DPK_CACHE_OFF_SEED),
		nss_dpk_le64(p + NSS_DPK_CACHE_OFF_HEAP), nss_dpk_le64(p + NSS_DPK_CACHE_OFF_HEAP_END)};

	return f;
}

static uint8_t *
wslot(const struct wfile *f, enum nss_dpk_cache_table t, uint32_t i)
{
	return f->p + NSS_DPK_CACHE_HEADER_SIZE + ((uint64_t)t * f->slots + i) * 4;
}

/* the record a slot value refers to, or NULL */
static uint8_t *
wrec(const struct wfile *f, uint32_t v)
{
	uint64_t off = (uint64_t)v * 8;

	if (v <= NSS_DPK_CACHE_SLOT_DELETED || off < f->heap || off + NSS_DPK_CACHE_RECORD_HEAD > f->heap_end)
		return NULL;
	return f->p + off;
}

/* What a probe found: the slot holding the key (hit), else the slot where
 * it would go (to, or UINT32_MAX when the window is full). */
struct probe {
	uint32_t hit, to;
	uint8_t *rec;
};

static int
rec_matches(const uint8_t *r, enum nss_dpk_cache_table t, const char *name, size_t n, uint32_t id)
{
	uint32_t kind = t <= NSS_DPK_CACHE_USER_UID ? NSS_DPK_CACHE_KIND_USER : NSS_DPK_CACHE_KIND_GROUP;

	if (nss_dpk_le32(r + 8) != kind)
		return 0;
	if (name != NULL)
		return nss_dpk_le16(r + 20) == n && memcmp(r + NSS_DPK_CACHE_RECORD_HEAD, name, n) == 0;
	return nss_dpk_le32(r + 12) == id;
}

/* Probe for a key (name, or id), or with exact != NULL for the slot that
 * refers to that record. */
static struct probe
probe(const struct wfile *f, enum nss_dpk_cache_table t, const char *name, uint32_t id, const uint8_t *exact)
{
	size_t n = name != NULL ? strlen(name) : 0;
	uint32_t h = name != NULL ? nss_dpk_cache_hash_name(f->seed, name, n) : nss_dpk_cache_hash_id(f->seed, id);
	uint32_t i = nss_dpk_cache_home(h, f->slots);
	uint32_t probes = f->slots < NSS_DPK_CACHE_MAX_PROBE ? f->slots : NSS_DPK_CACHE_MAX_PROBE;
	struct probe pr = {UINT32_MAX, UINT32_MAX, NULL};

	for (uint32_t k = 0; k < probes; k++, i = i + 1 == f->slots ? 0 : i + 1) {
		uint32_t v = nss_dpk_cache_slot_load(wslot(f, t, i));
		uint8_t *r;

		if (v == NSS_DPK_CACHE_SLOT_EMPTY) {
			if (pr.to == UINT32_MAX)
				pr.to = i;
			return pr;
		}
		if (v == NSS_DPK_CACHE_SLOT_DELETED) {
			if (pr.to == UINT32_MAX)
				pr.to = i;
			continue;
		}
		if ((r = wrec(f, v)) == NULL)
			continue;
		if (exact != NULL ? r == exact : rec_matches(r, t, name, n, id)) {
			pr.hit = i;
			pr.rec = r;
			return pr;
		}
	}
	return pr;
}

static uint32_t
used(const struct wfile *f, enum nss_dpk_cache_table t)
{
	return nss_dpk_le32(f->p + NSS_DPK_CACHE_OFF_USED + 4 * t);
}

/* Would filling slot i of t keep the table at most 3/5 used? */
static int
room_for(const struct wfile *f, enum nss_dpk_cache_table t, uint32_t i, uint32_t extra)
{
	uint32_t v = nss_dpk_cache_slot_load(wslot(f, t, i));

	return v != NSS_DPK_CACHE_SLOT_EMPTY || (uint64_t)used(f, t) + extra + 1 <= (uint64_t)f->slots * 3 / 5;
}

static void
set_slot(struct wfile *f, enum nss_dpk_cache_table t, uint32_t i, uint32_t v)
{
	uint8_t *s = wslot(f, t, i);

	if (nss_dpk_cache_slot_load(s) == NSS_DPK_CACHE_SLOT_EMPTY)
		nss_dpk_le32_put(f->p + NSS_DPK_CACHE_OFF_USED + 4 * t, used(f, t) + 1);
	nss_dpk_cache_slot_store(s, v);
}

static void
wipe(uint8_t *r)
{
	if (r != NULL) {
		NSS_DPK_HG_RACY(r, nss_dpk_le32(r)); /* readers may be copying it: they re-check the slot */
		memset(r, 0, nss_dpk_le32(r));
	}
}

static void
bump(struct wfile *f)
{
	nss_dpk_le64_put(f->p + NSS_DPK_CACHE_OFF_HEAP_END, f->heap_end);
	nss_dpk_le64_put(f->p + NSS_DPK_CACHE_OFF_UPDATES, nss_dpk_le64(f->p + NSS_DPK_CACHE_OFF_UPDATES) + 1);
}

/* Lay out a record (user when gecos != NULL) in rec[len]. */
static void
put_record(uint8_t *r, size_t len, uint32_t kind, const char *name, uint32_t id, uint32_t gid, const char *gecos,
    const char *dir, const char *shell, uint64_t expiry, uint64_t block, const uint8_t *block_hash)
{
	const char *t[4] = {name, gecos, dir, shell};
	size_t pos = NSS_DPK_CACHE_RECORD_HEAD;

	memset(r, 0, len);
	nss_dpk_le32_put(r, (uint32_t)len);
	nss_dpk_le32_put(r + 8, kind);
	nss_dpk_le32_put(r + 12, id);
	nss_dpk_le32_put(r + 16, gid);
	nss_dpk_le64_put(r + 32, expiry);
	if (block_hash != NULL) {
		nss_dpk_le64_put(r + 40, block);
		memcpy(r + 48, block_hash, 32);
	}
	for (int k = 0; k < 4 && t[k] != NULL; k++) {
		size_t n = strlen(t[k]);

		nss_dpk_le16_put(r + 20 + 2 * k, (uint16_t)n);
		memcpy(r + pos, t[k], n + 1);
		pos += n + 1;
	}
	nss_dpk_le32_put(r + 4, nss_dpk_cache_record_checksum(r + 8, len - 8));
}

/* Add or replace the entry (name, id) whose record is rec[len], in the
 * name table tn and the id table ti. The entry that held the name and the
 * one that held the id (if another) are replaced whole. */
static int
put(uint8_t *p, size_t size, enum nss_dpk_cache_table tn, enum nss_dpk_cache_table ti, const char *name, uint32_t id,
    const uint8_t *rec, size_t len)
{
	struct wfile f = wfile_of(p, size);
	struct probe a, b, a_id = {UINT32_MAX, UINT32_MAX, NULL}, b_name = {UINT32_MAX, UINT32_MAX, NULL};
	uint32_t v, s_name, s_id;
	uint8_t *r;

	a = probe(&f, tn, name, 0, NULL);
	b = probe(&f, ti, NULL, id, NULL);
	if (a.rec != NULL && nss_dpk_le32(a.rec) == len && memcmp(a.rec, rec, len) == 0 && b.rec == a.rec)
		return 0; /* nothing new */
	if (a.rec != NULL && b.rec != a.rec) /* the name's old id */
		a_id = probe(&f, ti, NULL, nss_dpk_le32(a.rec + 12), a.rec);
	if (b.rec != NULL && b.rec != a.rec) /* the id's old name */
		b_name = probe(&f, tn, (const char *)b.rec + NSS_DPK_CACHE_RECORD_HEAD, 0, b.rec);
	s_name = a.hit != UINT32_MAX ? a.hit : a.to;
	s_id = b.hit != UINT32_MAX ? b.hit : b.to;
	if (s_name == UINT32_MAX || s_id == UINT32_MAX || !room_for(&f, tn, s_name, 0) || !room_for(&f, ti, s_id, 0) ||
	    len > f.size - f.heap_end)
		return DPK_ERR_TOOBIG;
	r = p + f.heap_end;
	memcpy(r, rec, len);
	v = (uint32_t)(f.heap_end / 8);
	f.heap_end += len;
	set_slot(&f, tn, s_name, v);
	set_slot(&f, ti, s_id, v);
	if (a_id.hit != UINT32_MAX)
		set_slot(&f, ti, a_id.hit, NSS_DPK_CACHE_SLOT_DELETED);
	if (b_name.hit != UINT32_MAX)
		set_slot(&f, tn, b_name.hit, NSS_DPK_CACHE_SLOT_DELETED);
	wipe(a.rec);
	if (b.rec != a.rec)
		wipe(b.rec);
	bump(&f);
	return 0;
}

int
agent_nss_cache_put_user(uint8_t *p, size_t size, const struct nss_cache_user_in *u)
{
	uint8_t rec[NSS_DPK_CACHE_MAX_RECORD];
	size_t len;

	if (!user_ok(u))
		return DPK_ERR_INVALID;
	len = agent_nss_cache_user_bytes(u);
	put_record(rec, len, NSS_DPK_CACHE_KIND_USER, u->name, u->uid, u->gid, u->gecos, u->dir, u->shell, u->expiry_ms,
	    u->block_number, u->block_hash);
	return put(p, size, NSS_DPK_CACHE_USER_NAME, NSS_DPK_CACHE_USER_UID, u->name, u->uid, rec, len);
}

int
agent_nss_cache_put_group(uint8_t *p, size_t size, const struct nss_cache_group_in *g)
{
	uint8_t rec[NSS_DPK_CACHE_RECORD_HEAD + 72];
	size_t len;

	if (!group_ok(g))
		return DPK_ERR_INVALID;
	len = agent_nss_cache_group_bytes(g);
	put_record(rec, len, NSS_DPK_CACHE_KIND_GROUP, g->name, g->gid, 0, NULL, NULL, NULL, g->expiry_ms, 0, NULL);
	return put(p, size, NSS_DPK_CACHE_GROUP_NAME, NSS_DPK_CACHE_GROUP_GID, g->name, g->gid, rec, len);
}

static int
del(uint8_t *p, size_t size, enum nss_dpk_cache_table tn, enum nss_dpk_cache_table ti, const char *name)
{
	struct wfile f = wfile_of(p, size);
	struct probe a = probe(&f, tn, name, 0, NULL), a_id;

	if (a.rec == NULL)
		return 1;
	a_id = probe(&f, ti, NULL, nss_dpk_le32(a.rec + 12), a.rec);
	set_slot(&f, tn, a.hit, NSS_DPK_CACHE_SLOT_DELETED);
	if (a_id.hit != UINT32_MAX)
		set_slot(&f, ti, a_id.hit, NSS_DPK_CACHE_SLOT_DELETED);
	wipe(a.rec);
	bump(&f);
	return 0;
}

int
agent_nss_cache_del_user(uint8_t *p, size_t size, const char *name)
{
	return del(p, size, NSS_DPK_CACHE_USER_NAME, NSS_DPK_CACHE_USER_UID, name);
}

int
agent_nss_cache_del_group(uint8_t *p, size_t size, const char *name)
{
	return del(p, size, NSS_DPK_CACHE_GROUP_NAME, NSS_DPK_CACHE_GROUP_GID, name);
}

/* ---- a whole file from a list (tests, the fuzzer's seeds, the benchmark) ---- */

/* the reader's order: bytes, a prefix first (strcmp on names without NUL) */
static int
cmp_user_name(const void *x, const void *y)
{
	return strcmp(((const struct nss_cache_user_in *)x)->name, ((const struct nss_cache_user_in *)y)->name);
}

static int
cmp_group_name(const void *x, const void *y)
{
	return strcmp(((const struct nss_cache_group_in *)x)->name, ((const struct nss_cache_group_in *)y)->name);
}

/* qsort over an index array needs the ids: kept beside the index */
struct id_ix {
	uint32_t id, ix;
};

static int
cmp_id(const void *x, const void *y)
{
	const struct id_ix *a = x, *b = y;

	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return a->ix < b->ix ? -1 : a->ix > b->ix;
}

/* Keep the valid entries with a new name and a new id (the first in name
 * order keeps a repeated id). Returns the count kept, or -1 (no memory). */
#define DEDUPE(type, ok, cmp_name, idfield)                                                              \
	static long dedupe_##type(struct type *v, size_t n)                                              \
	{                                                                                                  \
		size_t k = 0, j = 0;                                                                       \
		struct id_ix *t;                                                                           \
		if (n > 0) /* qsort(NULL, 0, ...) is undefined */                                         \
			qsort(v, n, sizeof(*v), cmp_name);                                                 \
		for (size_t i = 0; i < n; i++)                                                             \
			if (ok(&v[i]) && (k == 0 || strcmp(v[k - 1].name, v[i].name) != 0))               \
				v[k++] = v[i];                                                             \
		if ((t = calloc(k + 1, sizeof(*t))) == NULL)                                               \
			return -1;                                                                         \
		for (size_t i = 0; i < k; i++)                                                             \
			t[i] = (struct id_ix){v[i].idfield, (uint32_t)i};                                  \
		if (k > 0)                                                                                 \
			qsort(t, k, sizeof(*t), cmp_id);                                                   \
		for (size_t i = 1; i < k; i++)                                                             \
			if (t[i - 1].id == t[i].id)                                                        \
				v[t[i].ix].name = NULL;                                                    \
		free(t);                                                                                   \
		for (size_t i = 0; i < k; i++)                                                             \
			if (v[i].name != NULL)                                                             \
				v[j++] = v[i];                                                             \
		return (long)j;                                                                            \
	}
DEDUPE(nss_cache_user_in, user_ok, cmp_user_name, uid)
DEDUPE(nss_cache_group_in, group_ok, cmp_group_name, gid)

int
agent_nss_cache_fill(uint8_t *p, size_t size, const struct nss_cache_user_in *users, size_t n_users,
    const struct nss_cache_group_in *groups, size_t n_groups)
{
	int r;

	for (size_t i = 0; i < n_users; i++)
		if ((r = agent_nss_cache_put_user(p, size, &users[i])) == DPK_ERR_TOOBIG)
			return r;
	for (size_t i = 0; i < n_groups; i++)
		if ((r = agent_nss_cache_put_group(p, size, &groups[i])) == DPK_ERR_TOOBIG)
			return r;
	return 0;
}

int
agent_nss_cache_build(struct nss_cache_user_in *users, size_t n_users, struct nss_cache_group_in *groups,
    size_t n_groups, uint64_t generation, struct dpk_buf *out)
{
	long nu, ng;
	uint64_t heap = 0, size;
	uint32_t slots;
	uint8_t *p;
	int r;

	if ((nu = dedupe_nss_cache_user_in(users, n_users)) < 0 || (ng = dedupe_nss_cache_group_in(groups, n_groups)) < 0)
		return DPK_ERR_NOMEM;
	for (long i = 0; i < nu; i++)
		heap += agent_nss_cache_user_bytes(&users[i]);
	for (long i = 0; i < ng; i++)
		heap += agent_nss_cache_group_bytes(&groups[i]);
	/* room to grow by half before the next build */
	if ((r = agent_nss_cache_layout((size_t)(nu > ng ? nu : ng) * 3 / 2, heap + heap / 2 + 4096, &slots, &size)) != 0)
		return r;
	if (size > SIZE_MAX || (r = dpk_buf_reserve(out, (size_t)size, &p)) != 0)
		return r != 0 ? r : DPK_ERR_TOOBIG;
	memset(p, 0, (size_t)size);
	/* a fixed seed: one set of entries makes one file (the tests compare) */
	agent_nss_cache_init(p, (size_t)size, slots, (uint32_t)generation * 0x9e3779b9u, generation);
	return agent_nss_cache_fill(p, (size_t)size, users, (size_t)nu, groups, (size_t)ng);
}
