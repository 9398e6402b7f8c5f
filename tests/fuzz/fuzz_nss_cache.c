/* nss_dpk's cache file reader (nss_dpk/cachefile.c): any bytes. Never a
 * crash or a read outside the file. The input is tried as it is, then with
 * its size field and header checksum made right (so the fuzzer reaches the
 * tables and records behind them); each record a slot refers to that
 * passes its checks must be a user or group the reader would answer, and
 * the lookups by its name and by its id must answer consistently (that
 * name, that id) or fail. Seeds in corpus/nss_cache are files the agent's
 * writer made. */
#include "cachefile.h"
#include "pack.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
inside(const uint8_t *rec, const struct nss_dpk_cache_text *t)
{
	const char *base = (const char *)rec;

	if (t->p < base || t->p + t->n >= base + NSS_DPK_CACHE_MAX_RECORD || t->p[t->n] != '\0' ||
	    strlen(t->p) != t->n)
		abort();
}

static struct nss_dpk_cache_user u, v;
static struct nss_dpk_cache_group g, h;

static void
walk(const uint8_t *p, size_t n)
{
	struct nss_dpk_cache c;
	uint32_t slots;

	if (nss_dpk_cache_open(&c, p, n) != 0)
		return;
	slots = c.slots < 4096 ? c.slots : 4096;
	for (uint32_t i = 0; i < slots; i++) {
		if (nss_dpk_cache_user_at(&c, i, &u) == 0) {
			inside(u.rec, &u.name);
			inside(u.rec, &u.gecos);
			inside(u.rec, &u.dir);
			inside(u.rec, &u.shell);
			if (!nss_dpk_plausible((const uint8_t *)u.name.p, u.name.n) || u.dir.p[0] != '/' ||
			    nss_dpk_reserved_id(u.uid) || nss_dpk_reserved_id(u.gid))
				abort();
			if (nss_dpk_cache_user_by_name(&c, u.name.p, u.name.n, &v) == 0 &&
			    (v.name.n != u.name.n || memcmp(v.name.p, u.name.p, u.name.n) != 0))
				abort();
			if (nss_dpk_cache_user_by_uid(&c, u.uid, &v) == 0 && v.uid != u.uid)
				abort();
		}
		if (nss_dpk_cache_group_at(&c, i, &g) == 0) {
			inside(g.rec, &g.name);
			if (nss_dpk_cache_group_by_name(&c, g.name.p, g.name.n, &h) == 0 &&
			    (h.name.n != g.name.n || memcmp(h.name.p, g.name.p, g.name.n) != 0))
				abort();
			if (nss_dpk_cache_group_by_gid(&c, g.gid, &h) == 0 && h.gid != g.gid)
				abort();
		}
	}
	/* misses must end too */
	(void)nss_dpk_cache_user_by_name(&c, "zz.example.org", 14, &u);
	(void)nss_dpk_cache_user_by_uid(&c, 123456, &u);
	(void)nss_dpk_cache_group_by_name(&c, "a", 1, &g);
	(void)nss_dpk_cache_group_by_gid(&c, 7, &g);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (size > 1 << 20)
		return 0;
	/* exactly the input's bytes, in a buffer of its size (8-aligned, as
	 * mmap gives) */
	copy = aligned_alloc(8, size ? (size + 7) / 8 * 8 : 8);
	if (copy == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	walk(copy, size);
	if (size >= NSS_DPK_CACHE_HEADER_SIZE) {
		nss_dpk_le64_put(copy + NSS_DPK_CACHE_OFF_FILE_SIZE, size);
		nss_dpk_le64_put(copy + NSS_DPK_CACHE_OFF_CHECKSUM, nss_dpk_cache_checksum(copy, NSS_DPK_CACHE_FIXED_SIZE));
		walk(copy, size);
	}
	free(copy);
	return 0;
}
