/* The NSS cache file (nss_dpk/cachefile.c, the reader; dpk-agent/login/nss_cache.c,
 * the writer): files the writer makes are valid and answer every lookup;
 * the writer drops what the reader would refuse; and every kind of damage
 * to a file (truncation at each length, wrong magic, another version, a bad
 * checksum, huge counts, offsets out of range, overlapping or unterminated
 * strings, unsorted tables, impossible ids, trailing bytes) is refused
 * without reading outside it (this test runs under ASan in CI). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "cachefile.h"
#include "base/err.h"
#include "login/nss_cache.h"

static void
build3(struct dpk_buf *out)
{
	struct nss_cache_user_in u[] = {
		{"carol.example.org", "DPK carol.example.org", "/home/carol.example.org", "/bin/bash", 230003, 230003, 0},
		{"alice.example.org", "DPK alice.example.org", "/home/alice.example.org", "/bin/bash", 230001, 230001,
		    4102444800000ull},
		{"dpk-0123456789ab", "DPK 2001-db8--7", "/home/dpk-0123456789ab", "/bin/sh", 210000, 5000, 17},
	};
	struct nss_cache_group_in g[] = {
		{"dpkusers", 5000, 0},
		{"alice.example.org", 230001, 99},
	};

	dpk_buf_init(out, NSS_DPK_CACHE_MAX_SIZE);
	assert_int_equal(agent_nss_cache_build(u, 3, g, 2, 7, out), 0);
}

static void
fix_checksum(uint8_t *p, size_t n)
{
	nss_dpk_le64_put(p + NSS_DPK_CACHE_OFF_CHECKSUM, nss_dpk_cache_checksum(p, n));
}

static void
test_round_trip(void **state)
{
	struct dpk_buf f;
	struct nss_dpk_cache c;
	struct nss_dpk_cache_user u;
	struct nss_dpk_cache_group g;

	(void)state;
	build3(&f);
	assert_int_equal(nss_dpk_cache_open(&c, f.data, f.len), 0);
	assert_int_equal(c.n_users, 3);
	assert_int_equal(c.n_groups, 2);
	assert_int_equal(c.generation, 7);

	assert_int_equal(nss_dpk_cache_user_by_name(&c, "alice.example.org", 17, &u), 0);
	assert_string_equal(u.name.p, "alice.example.org");
	assert_int_equal(u.name.n, 17);
	assert_string_equal(u.gecos.p, "DPK alice.example.org");
	assert_string_equal(u.dir.p, "/home/alice.example.org");
	assert_string_equal(u.shell.p, "/bin/bash");
	assert_int_equal(u.uid, 230001);
	assert_int_equal(u.expiry_ms, 4102444800000ull);
	assert_int_equal(nss_dpk_cache_user_by_name(&c, "dpk-0123456789ab", 16, &u), 0);
	assert_int_equal(u.gid, 5000);
	assert_int_equal(u.expiry_ms, 17);
	assert_int_equal(nss_dpk_cache_user_by_uid(&c, 230003, &u), 0);
	assert_string_equal(u.name.p, "carol.example.org");
	assert_int_equal(nss_dpk_cache_user_by_uid(&c, 210000, &u), 0);
	assert_string_equal(u.name.p, "dpk-0123456789ab");
	/* misses: a prefix, a longer name, a neighbour's uid */
	assert_int_equal(nss_dpk_cache_user_by_name(&c, "alice.example.or", 16, &u), 1);
	assert_int_equal(nss_dpk_cache_user_by_name(&c, "alice.example.orgx", 18, &u), 1);
	assert_int_equal(nss_dpk_cache_user_by_name(&c, "zed", 3, &u), 1);
	assert_int_equal(nss_dpk_cache_user_by_uid(&c, 230002, &u), 1);
	assert_int_equal(nss_dpk_cache_user_by_uid(&c, 1, &u), 1);

	assert_int_equal(nss_dpk_cache_group_by_name(&c, "dpkusers", 8, &g), 0);
	assert_int_equal(g.gid, 5000);
	assert_int_equal(g.expiry_ms, 0);
	assert_int_equal(nss_dpk_cache_group_by_gid(&c, 230001, &g), 0);
	assert_string_equal(g.name.p, "alice.example.org");
	assert_int_equal(nss_dpk_cache_group_by_gid(&c, 230003, &g), 1);
	assert_int_equal(nss_dpk_cache_group_by_name(&c, "dpkuser", 7, &g), 1);

	/* name order for enumeration */
	nss_dpk_cache_user_at(&c, 0, &u);
	assert_string_equal(u.name.p, "alice.example.org");
	nss_dpk_cache_user_at(&c, 2, &u);
	assert_string_equal(u.name.p, "dpk-0123456789ab");
	dpk_buf_free(&f);

	/* an empty file is valid and finds nobody */
	dpk_buf_init(&f, NSS_DPK_CACHE_MAX_SIZE);
	assert_int_equal(agent_nss_cache_build(NULL, 0, NULL, 0, 1, &f), 0);
	assert_int_equal(f.len, NSS_DPK_CACHE_HEADER_SIZE);
	assert_int_equal(nss_dpk_cache_open(&c, f.data, f.len), 0);
	assert_int_equal(nss_dpk_cache_user_by_name(&c, "a", 1, &u), 1);
	assert_int_equal(nss_dpk_cache_group_by_gid(&c, 5, &g), 1);
	dpk_buf_free(&f);
}

/* The writer never writes what the reader would refuse. */
static void
test_writer_drops(void **state)
{
	struct nss_cache_user_in u[] = {
		{"b.example.org", "", "/h", "/bin/sh", 1001, 1001, 0},
		{"b.example.org", "", "/h2", "/bin/sh", 1002, 1002, 0},    /* the same name again */
		{"a.example.org", "", "/h", "/bin/sh", 1001, 1001, 0},     /* b's uid: a comes first by name */
		{"root", "", "/h", "/bin/sh", 1003, 1003, 0},              /* never a DPK user */
		{"c.example.org", "x:y", "/h", "/bin/sh", 1004, 1004, 0},  /* ':' would split a passwd line */
		{"d.example.org", "", "rel", "/bin/sh", 1005, 1005, 0},    /* not an absolute path */
		{"e.example.org", "", "/h", "/bin/sh", 0, 1006, 0},        /* uid 0 */
		{"f.example.org", "", "/h", "/bin/sh", 1007, 65534, 0},    /* nobody's gid */
		{"g.example.org", "", "/h", "/bin/sh", 1008, 1008, 0},
	};
	struct nss_cache_group_in g[] = {{"grp", 77, 0}, {"grp", 78, 0}, {"other", 77, 0}, {"-bad", 79, 0}};
	struct dpk_buf f;
	struct nss_dpk_cache c;
	struct nss_dpk_cache_user x;
	struct nss_dpk_cache_group y;

	(void)state;
	dpk_buf_init(&f, NSS_DPK_CACHE_MAX_SIZE);
	assert_int_equal(agent_nss_cache_build(u, 9, g, 4, 1, &f), 0);
	assert_int_equal(nss_dpk_cache_open(&c, f.data, f.len), 0);
	assert_int_equal(c.n_users, 2);
	assert_int_equal(nss_dpk_cache_user_by_name(&c, "a.example.org", 13, &x), 0);
	assert_int_equal(x.uid, 1001);
	assert_int_equal(nss_dpk_cache_user_by_name(&c, "g.example.org", 13, &x), 0);
	assert_int_equal(nss_dpk_cache_user_by_name(&c, "b.example.org", 13, &x), 1);
	assert_int_equal(c.n_groups, 1);
	assert_int_equal(nss_dpk_cache_group_by_gid(&c, 77, &y), 0);
	assert_string_equal(y.name.p, "grp");
	dpk_buf_free(&f);
}

static void
test_truncated(void **state)
{
	struct dpk_buf f;
	struct nss_dpk_cache c;

	(void)state;
	build3(&f);
	/* every shorter length, in a buffer of exactly that size (ASan sees
	 * any read past it) */
	for (size_t n = 0; n < f.len; n++) {
		uint8_t *p = malloc(n ? n : 1);

		memcpy(p, f.data, n);
		assert_int_equal(nss_dpk_cache_open(&c, p, n), -1);
		/* even with the header's size and checksum made to agree */
		if (n >= NSS_DPK_CACHE_HEADER_SIZE) {
			nss_dpk_le64_put(p + NSS_DPK_CACHE_OFF_FILE_SIZE, n);
			fix_checksum(p, n);
			assert_int_equal(nss_dpk_cache_open(&c, p, n), -1);
		}
		free(p);
	}
	assert_int_equal(nss_dpk_cache_open(&c, NULL, 0), -1);
	dpk_buf_free(&f);
}

/* Damage one field (with the checksum made right again, so the structural
 * check is what refuses it). */
struct damage {
	const char *what;
	size_t off;
	int width; /* 4 or 8 */
	uint64_t value;
	int expect;
};

static void
test_damaged_fields(void **state)
{
	struct dpk_buf f;
	struct nss_dpk_cache c;
	uint32_t strings;

	(void)state;
	build3(&f);
	assert_int_equal(nss_dpk_cache_open(&c, f.data, f.len), 0);
	strings = c.strings;
	/* users in name order: alice (0), carol (1), dpk-... (2); their
	 * strings from offset 0: "alice.example.org" (17+1), ... */
	const struct damage d[] = {
		{"another version", NSS_DPK_CACHE_OFF_VERSION, 4, 2, 1},
		{"header size", NSS_DPK_CACHE_OFF_HEADER_SIZE, 4, 64, -1},
		{"file size", NSS_DPK_CACHE_OFF_FILE_SIZE, 8, (uint64_t)f.len + 1, -1},
		{"huge user count", NSS_DPK_CACHE_OFF_N_USERS, 4, 0xffffffffu, -1},
		{"user count one more", NSS_DPK_CACHE_OFF_N_USERS, 4, 4, -1},
		{"user count one less", NSS_DPK_CACHE_OFF_N_USERS, 4, 2, -1},
		{"huge group count", NSS_DPK_CACHE_OFF_N_GROUPS, 4, 0x7fffffffu, -1},
		{"users elsewhere", NSS_DPK_CACHE_OFF_USERS, 4, 84, -1},
		{"uid index elsewhere", NSS_DPK_CACHE_OFF_UID_INDEX, 4, 80, -1},
		{"groups elsewhere", NSS_DPK_CACHE_OFF_GROUPS, 4, 0xfffffff0u, -1},
		{"gid index elsewhere", NSS_DPK_CACHE_OFF_GID_INDEX, 4, 0, -1},
		{"strings elsewhere", NSS_DPK_CACHE_OFF_STRINGS, 4, (uint64_t)strings + 1, -1},
		{"strings too long", NSS_DPK_CACHE_OFF_STRINGS_LEN, 4, 0xffffffffu, -1},
		{"reserved not zero", NSS_DPK_CACHE_OFF_RESERVED, 8, 1, -1},
		{"name offset out of range", 80, 4, 0xfffffff0u, -1},
		{"name overlapping the next", 80 + 8, 4, 0, -1},
		{"name too long to be terminated", 80 + 4, 4, 18, -1},
		{"name one byte short", 80 + 4, 4, 16, -1},
		{"name empty", 80 + 4, 4, 0, -1},
		{"uid 0", 80 + 32, 4, 0, -1},
		{"gid 65534", 80 + 36, 4, 65534, -1},
		{"uid index out of range", 80 + 3 * 48, 4, 3, -1},
		{"uid index repeated", 80 + 3 * 48, 4, 1, -1},
		{"group reserved field", 80 + 3 * 52 + 12, 4, 1, -1},
		{"gid index out of range", 80 + 3 * 52 + 2 * 24, 4, 9, -1},
	};
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		uint8_t *p = malloc(f.len);

		memcpy(p, f.data, f.len);
		if (d[i].width == 4)
			nss_dpk_le32_put(p + d[i].off, (uint32_t)d[i].value);
		else
			nss_dpk_le64_put(p + d[i].off, d[i].value);
		fix_checksum(p, f.len);
		if (nss_dpk_cache_open(&c, p, f.len) != d[i].expect)
			fail_msg("%s: not refused", d[i].what);
		free(p);
	}
	dpk_buf_free(&f);
}

static void
test_damaged_bytes(void **state)
{
	struct dpk_buf f;
	struct nss_dpk_cache c;
	uint8_t *p;
	size_t s;

	(void)state;
	build3(&f);
	assert_int_equal(nss_dpk_cache_open(&c, f.data, f.len), 0);
	s = c.strings;
	p = malloc(f.len + 8);

	/* the magic, and any byte changed without the checksum following */
	memcpy(p, f.data, f.len);
	p[0] = 'X';
	fix_checksum(p, f.len);
	assert_int_equal(nss_dpk_cache_open(&c, p, f.len), -1);
	for (size_t i = 8; i < f.len; i++) {
		if (i >= NSS_DPK_CACHE_OFF_CHECKSUM && i < NSS_DPK_CACHE_OFF_RESERVED)
			continue;
		memcpy(p, f.data, f.len);
		p[i] ^= 0x20;
		/* the version field: "another version", which the caller ignores */
		if (nss_dpk_cache_open(&c, p, f.len) != (i >= 8 && i < 12 ? 1 : -1))
			fail_msg("byte %zu changed: not refused", i);
	}
	/* a string's NUL replaced: unterminated */
	memcpy(p, f.data, f.len);
	p[s + 17] = 'x';
	fix_checksum(p, f.len);
	assert_int_equal(nss_dpk_cache_open(&c, p, f.len), -1);
	/* a NUL inside a name, a ':' in a name, a newline in a gecos */
	memcpy(p, f.data, f.len);
	p[s + 3] = '\0';
	fix_checksum(p, f.len);
	assert_int_equal(nss_dpk_cache_open(&c, p, f.len), -1);
	memcpy(p, f.data, f.len);
	p[s + 3] = ':';
	fix_checksum(p, f.len);
	assert_int_equal(nss_dpk_cache_open(&c, p, f.len), -1);
	memcpy(p, f.data, f.len);
	p[s + 18 + 2] = '\n';
	fix_checksum(p, f.len);
	assert_int_equal(nss_dpk_cache_open(&c, p, f.len), -1);
	/* names out of order: alice renamed to "zlice" */
	memcpy(p, f.data, f.len);
	p[s] = 'z';
	fix_checksum(p, f.len);
	assert_int_equal(nss_dpk_cache_open(&c, p, f.len), -1);
	/* trailing garbage, with the sizes made to agree */
	memcpy(p, f.data, f.len);
	memset(p + f.len, 'g', 8);
	nss_dpk_le64_put(p + NSS_DPK_CACHE_OFF_FILE_SIZE, f.len + 8);
	fix_checksum(p, f.len + 8);
	assert_int_equal(nss_dpk_cache_open(&c, p, f.len + 8), -1);
	nss_dpk_le32_put(p + NSS_DPK_CACHE_OFF_STRINGS_LEN, nss_dpk_le32(f.data + NSS_DPK_CACHE_OFF_STRINGS_LEN) + 8);
	fix_checksum(p, f.len + 8);
	assert_int_equal(nss_dpk_cache_open(&c, p, f.len + 8), -1);
	free(p);
	dpk_buf_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_writer_drops),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_damaged_fields),
		cmocka_unit_test(test_damaged_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
