/* nss_dpk's cache file: the bytes of one file from a list of entries
 * (nss_cache.h), apart from the agent's state so the tests and the fuzzer
 * link it alone. */
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

/* Keep the valid entries with a new name and a new id, in name order;
 * *ix receives the id order. Returns the count kept, or -1 (no memory). */
#define DEDUPE(type, ok, cmp_name, idfield)                                                              \
	static long dedupe_##type(struct type *v, size_t n, struct id_ix **ix)                           \
	{                                                                                                  \
		size_t k = 0, m = 0;                                                                       \
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
		qsort(t, k, sizeof(*t), cmp_id);                                                           \
		/* a repeated id: the entry first in name order keeps it */                               \
		for (size_t i = 0; i < k; i++)                                                             \
			if (m == 0 || t[m - 1].id != t[i].id)                                              \
				t[m++] = t[i];                                                             \
			else                                                                               \
				v[t[i].ix].name = NULL;                                                    \
		if (m != k) { /* compact and renumber */                                                   \
			size_t j = 0;                                                                      \
			for (size_t i = 0; i < k; i++)                                                     \
				if (v[i].name != NULL)                                                     \
					v[j++] = v[i];                                                     \
			k = j;                                                                             \
			for (size_t i = 0; i < k; i++)                                                     \
				t[i] = (struct id_ix){v[i].idfield, (uint32_t)i};                          \
			qsort(t, k, sizeof(*t), cmp_id);                                                   \
		}                                                                                          \
		*ix = t;                                                                                   \
		return (long)k;                                                                            \
	}
DEDUPE(nss_cache_user_in, user_ok, cmp_user_name, uid)
DEDUPE(nss_cache_group_in, group_ok, cmp_group_name, gid)

/* Append a string to the pool at *pos; its reference into ref. */
static void
put_text(uint8_t *pool, uint32_t *pos, uint8_t *ref, const char *s)
{
	uint32_t n = (uint32_t)strlen(s);

	nss_dpk_le32_put(ref, *pos);
	nss_dpk_le32_put(ref + 4, n);
	memcpy(pool + *pos, s, n + 1);
	*pos += n + 1;
}

int
agent_nss_cache_build(struct nss_cache_user_in *users, size_t n_users, struct nss_cache_group_in *groups,
    size_t n_groups, uint64_t generation, struct dpk_buf *out)
{
	struct id_ix *uix = NULL, *gix = NULL;
	long nu, ng;
	uint64_t strings = 0, size;
	uint32_t o_users = NSS_DPK_CACHE_HEADER_SIZE, o_uidix, o_groups, o_gidix, o_strings, pos = 0;
	uint8_t *p;
	int r = DPK_ERR_NOMEM;

	if ((nu = dedupe_nss_cache_user_in(users, n_users, &uix)) < 0 ||
	    (ng = dedupe_nss_cache_group_in(groups, n_groups, &gix)) < 0)
		goto out;
	r = DPK_ERR_TOOBIG;
	if (nu > NSS_DPK_CACHE_MAX_ENTRIES || ng > NSS_DPK_CACHE_MAX_ENTRIES)
		goto out;
	for (long i = 0; i < nu; i++)
		strings += strlen(users[i].name) + strlen(users[i].gecos) + strlen(users[i].dir) +
		    strlen(users[i].shell) + 4;
	for (long i = 0; i < ng; i++)
		strings += strlen(groups[i].name) + 1;
	o_uidix = o_users + (uint32_t)nu * NSS_DPK_CACHE_USER_SIZE;
	o_groups = o_uidix + (uint32_t)nu * 4;
	o_gidix = o_groups + (uint32_t)ng * NSS_DPK_CACHE_GROUP_SIZE;
	o_strings = o_gidix + (uint32_t)ng * 4;
	size = o_strings + strings;
	if (size > NSS_DPK_CACHE_MAX_SIZE)
		goto out;
	if ((r = dpk_buf_reserve(out, (size_t)size, &p)) != 0)
		goto out;
	memset(p, 0, (size_t)size);
	memcpy(p, NSS_DPK_CACHE_MAGIC, 8);
	nss_dpk_le32_put(p + NSS_DPK_CACHE_OFF_VERSION, NSS_DPK_CACHE_VERSION);
	nss_dpk_le32_put(p + NSS_DPK_CACHE_OFF_HEADER_SIZE, NSS_DPK_CACHE_HEADER_SIZE);
	nss_dpk_le64_put(p + NSS_DPK_CACHE_OFF_FILE_SIZE, size);
	nss_dpk_le64_put(p + NSS_DPK_CACHE_OFF_GENERATION, generation);
	nss_dpk_le32_put(p + NSS_DPK_CACHE_OFF_N_USERS, (uint32_t)nu);
	nss_dpk_le32_put(p + NSS_DPK_CACHE_OFF_N_GROUPS, (uint32_t)ng);
	nss_dpk_le32_put(p + NSS_DPK_CACHE_OFF_USERS, o_users);
	nss_dpk_le32_put(p + NSS_DPK_CACHE_OFF_UID_INDEX, o_uidix);
	nss_dpk_le32_put(p + NSS_DPK_CACHE_OFF_GROUPS, o_groups);
	nss_dpk_le32_put(p + NSS_DPK_CACHE_OFF_GID_INDEX, o_gidix);
	nss_dpk_le32_put(p + NSS_DPK_CACHE_OFF_STRINGS, o_strings);
	nss_dpk_le32_put(p + NSS_DPK_CACHE_OFF_STRINGS_LEN, (uint32_t)strings);
	for (long i = 0; i < nu; i++) {
		uint8_t *rec = p + o_users + (size_t)i * NSS_DPK_CACHE_USER_SIZE;

		put_text(p + o_strings, &pos, rec, users[i].name);
		put_text(p + o_strings, &pos, rec + 8, users[i].gecos);
		put_text(p + o_strings, &pos, rec + 16, users[i].dir);
		put_text(p + o_strings, &pos, rec + 24, users[i].shell);
		nss_dpk_le32_put(rec + 32, users[i].uid);
		nss_dpk_le32_put(rec + 36, users[i].gid);
		nss_dpk_le64_put(rec + 40, users[i].expiry_ms);
		nss_dpk_le32_put(p + o_uidix + 4 * (size_t)i, uix[i].ix);
	}
	for (long i = 0; i < ng; i++) {
		uint8_t *rec = p + o_groups + (size_t)i * NSS_DPK_CACHE_GROUP_SIZE;

		put_text(p + o_strings, &pos, rec, groups[i].name);
		nss_dpk_le32_put(rec + 8, groups[i].gid);
		nss_dpk_le64_put(rec + 16, groups[i].expiry_ms);
		nss_dpk_le32_put(p + o_gidix + 4 * (size_t)i, gix[i].ix);
	}
	nss_dpk_le64_put(p + NSS_DPK_CACHE_OFF_CHECKSUM, nss_dpk_cache_checksum(p, (size_t)size));
	r = 0;
out:
	free(uix);
	free(gix);
	return r;
}

