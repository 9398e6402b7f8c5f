/* nss_dpk's cache file reader (nss_dpk/cachefile.c): any bytes. Never a
 * crash or a read outside the file. The input is tried as it is, then with
 * its size field and checksum made right (so the fuzzer reaches the
 * structural checks behind the checksum); a file that passes must answer
 * every lookup consistently: each user and group found by name and by id is
 * the entry enumerated at that place, and its strings end inside the file.
 * Seeds in corpus/nss_cache are files the agent's writer made. */
#include "cachefile.h"
#include "pack.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
inside(const struct nss_dpk_cache *c, const struct nss_dpk_cache_text *t)
{
	const char *base = (const char *)c->p;

	if (t->p < base || t->p + t->n >= base + c->size || t->p[t->n] != '\0' || strlen(t->p) != t->n)
		abort();
}

static void
walk(const uint8_t *p, size_t n)
{
	struct nss_dpk_cache c;

	if (nss_dpk_cache_open(&c, p, n) != 0)
		return;
	for (uint32_t i = 0; i < c.n_users; i++) {
		struct nss_dpk_cache_user u, v, w;

		nss_dpk_cache_user_at(&c, i, &u);
		inside(&c, &u.name);
		inside(&c, &u.gecos);
		inside(&c, &u.dir);
		inside(&c, &u.shell);
		if (nss_dpk_cache_user_by_name(&c, u.name.p, u.name.n, &v) != 0 || v.name.p != u.name.p ||
		    nss_dpk_cache_user_by_uid(&c, u.uid, &w) != 0 || w.name.p != u.name.p)
			abort();
		if (!nss_dpk_plausible((const uint8_t *)u.name.p, u.name.n) || u.dir.p[0] != '/' || nss_dpk_reserved_id(u.uid))
			abort();
	}
	for (uint32_t i = 0; i < c.n_groups; i++) {
		struct nss_dpk_cache_group g, h, k;

		nss_dpk_cache_group_at(&c, i, &g);
		inside(&c, &g.name);
		if (nss_dpk_cache_group_by_name(&c, g.name.p, g.name.n, &h) != 0 || h.name.p != g.name.p ||
		    nss_dpk_cache_group_by_gid(&c, g.gid, &k) != 0 || k.name.p != g.name.p)
			abort();
	}
	/* misses must end too */
	{
		struct nss_dpk_cache_user u;
		struct nss_dpk_cache_group g;

		(void)nss_dpk_cache_user_by_name(&c, "zz.example.org", 14, &u);
		(void)nss_dpk_cache_user_by_uid(&c, 123456, &u);
		(void)nss_dpk_cache_group_by_name(&c, "a", 1, &g);
		(void)nss_dpk_cache_group_by_gid(&c, 7, &g);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (size > 1 << 20)
		return 0;
	/* exactly the input's bytes, in a buffer of its size */
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	walk(copy, size);
	if (size >= NSS_DPK_CACHE_HEADER_SIZE) {
		nss_dpk_le64_put(copy + NSS_DPK_CACHE_OFF_FILE_SIZE, size);
		nss_dpk_le64_put(copy + NSS_DPK_CACHE_OFF_CHECKSUM, nss_dpk_cache_checksum(copy, size));
		walk(copy, size);
	}
	free(copy);
	return 0;
}
