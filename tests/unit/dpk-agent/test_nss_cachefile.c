/* The NSS cache file, version 3 (nss_dpk/cachefile.c, the reader;
 * dpk-agent/login/nss_cachebuild.c, the writer): files the writer makes
 * answer every lookup; the writer drops what the reader would refuse; the
 * header is refused on any damage (truncation at each length, each byte);
 * a damaged record fails the lookups that touch it (-1: UNAVAIL), never
 * answers wrongly and never reads outside the file (this test runs under
 * ASan in CI); in-place changes (add, replace, rename, remove) are seen at
 * once; files grow past 65,536 entries; and a process reading while
 * another changes the file never sees a torn record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "cachefile.h"
#include "base/err.h"
#include "login/nss_cache.h"

/* the block alice's record was proven at */
static const uint8_t alice_block[32] = {0xab, 0xcd, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
	20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 0xef};

static void
build3(struct dpk_buf *out)
{
	struct nss_cache_user_in u[] = {
		{"carol.example.org", "DPK carol.example.org", "/home/carol.example.org", "/bin/bash", 230003, 230003, 0,
		    0, NULL},
		{"alice.example.org", "DPK alice.example.org", "/home/alice.example.org", "/bin/bash", 230001, 230001,
		    4102444800000ull, 4242, alice_block},
		{"dpk-0123456789ab", "DPK 2001-db8--7", "/home/dpk-0123456789ab", "/bin/sh", 210000, 5000, 17, 0, NULL},
	};
	struct nss_cache_group_in g[] = {
		{"dpkusers", 5000, 0},
		{"alice.example.org", 230001, 99},
	};

	dpk_buf_init(out, NSS_DPK_CACHE_MAX_SIZE);
	assert_int_equal(agent_nss_cache_build(u, 3, g, 2, 7, out), 0);
}

static void
fix_checksum(uint8_t *p)
{
	nss_dpk_le64_put(p + NSS_DPK_CACHE_OFF_CHECKSUM, nss_dpk_cache_checksum(p, NSS_DPK_CACHE_FIXED_SIZE));
}

/* an aligned copy of n bytes (the reader wants what mmap gives) */
static uint8_t *
copy_of(const uint8_t *p, size_t n)
{
	uint8_t *q = aligned_alloc(8, (n + 7) / 8 * 8 + 8);

	assert_non_null(q);
	memcpy(q, p, n);
	return q;
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
	assert_int_equal(c.generation, 7);
	assert_int_equal(nss_dpk_cache_user_by_name(&c, "alice.example.org", 17, &u), 0);
	assert_string_equal(u.name.p, "alice.example.org");
	assert_int_equal(u.name.n, 17);
	assert_string_equal(u.gecos.p, "DPK alice.example.org");
	assert_string_equal(u.dir.p, "/home/alice.example.org");
	assert_string_equal(u.shell.p, "/bin/bash");
	/* the proven block travels with the record */
	assert_int_equal(u.block_number, 4242);
	assert_memory_equal(u.block_hash, alice_block, 32);
	assert_int_equal(nss_dpk_cache_user_by_name(&c, "carol.example.org", 17, &u), 0);
	assert_int_equal(u.block_number, 0);
	assert_int_equal(nss_dpk_cache_user_by_name(&c, "alice.example.org", 17, &u), 0);
	assert_int_equal(u.uid, 230001);
	assert_int_equal(u.expiry_ms, 4102444800000ull);
	assert_int_equal(nss_dpk_cache_user_by_name(&c, "dpk-0123456789ab", 16, &u), 0);
	assert_int_equal(u.gid, 5000);
	assert_int_equal(u.expiry_ms, 17);
	assert_int_equal(nss_dpk_cache_user_by_uid(&c, 230003, &u), 0);
	assert_string_equal(u.name.p, "carol.example.org");
	assert_int_equal(nss_dpk_cache_user_by_uid(&c, 210000, &u), 0);
	assert_string_equal(u.shell.p, "/bin/sh");
	/* a prefix, an extension, another name, another id */
	assert_int_equal(nss_dpk_cache_user_by_name(&c, "alice.example.or", 16, &u), 1);
	assert_int_equal(nss_dpk_cache_user_by_name(&c, "alice.example.orgx", 18, &u), 1);
	assert_int_equal(nss_dpk_cache_user_by_name(&c, "zed", 3, &u), 1);
	assert_int_equal(nss_dpk_cache_user_by_uid(&c, 230002, &u), 1);
	assert_int_equal(nss_dpk_cache_user_by_uid(&c, 1, &u), 1);
	/* groups are their own kind: a user's name is no group unless listed */
	assert_int_equal(nss_dpk_cache_group_by_name(&c, "dpkusers", 8, &g), 0);
	assert_int_equal(g.gid, 5000);
	assert_int_equal(g.expiry_ms, 0);
	assert_int_equal(nss_dpk_cache_group_by_gid(&c, 230001, &g), 0);
	assert_string_equal(g.name.p, "alice.example.org");
	assert_int_equal(nss_dpk_cache_group_by_gid(&c, 230003, &g), 1);
	assert_int_equal(nss_dpk_cache_group_by_name(&c, "carol.example.org", 17, &g), 1);
	assert_int_equal(nss_dpk_cache_group_by_name(&c, "dpkuser", 7, &g), 1);
	dpk_buf_free(&f);

	/* empty */
	dpk_buf_init(&f, NSS_DPK_CACHE_MAX_SIZE);
	assert_int_equal(agent_nss_cache_build(NULL, 0, NULL, 0, 1, &f), 0);
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
		{"b.example.org", "", "/h", "/bin/sh", 1001, 1001, 0, 0, NULL},
		{"b.example.org", "", "/h2", "/bin/sh", 1002, 1002, 0, 0, NULL},    /* the same name again */
		{"a.example.org", "", "/h", "/bin/sh", 1001, 1001, 0, 0, NULL},     /* b's uid: a comes first by name */
		{"root", "", "/h", "/bin/sh", 1003, 1003, 0, 0, NULL},              /* never a DPK user */
		{"c.example.org", "x:y", "/h", "/bin/sh", 1004, 1004, 0, 0, NULL},  /* ':' would split a passwd line */
		{"d.example.org", "", "rel", "/bin/sh", 1005, 1005, 0, 0, NULL},    /* not an absolute path */
		{"e.example.org", "", "/h", "/bin/sh", 0, 1006, 0, 0, NULL},        /* uid 0 */
		{"f.example.org", "", "/h", "/bin/sh", 1007, 65534, 0, 0, NULL},    /* nobody's gid */
		{"g.example.org", "", "/h", "/bin/sh", 1008, 1008, 0, 0, NULL},
	};
	struct nss_cache_group_in g[] = {{"grp", 77, 0}, {"grp", 78, 0}, {"other", 77, 0}, {"-bad", 79, 0}};
	const char *refused[] = {"root", "c.example.org", "d.example.org", "e.example.org", "f.example.org", "b.example.org"};
	struct dpk_buf f;
	struct nss_dpk_cache c;
	struct nss_dpk_cache_user x;
	struct nss_dpk_cache_group y;

	(void)state;
	dpk_buf_init(&f, NSS_DPK_CACHE_MAX_SIZE);
	assert_int_equal(agent_nss_cache_build(u, 9, g, 4, 1, &f), 0);
	assert_int_equal(nss_dpk_cache_open(&c, f.data, f.len), 0);
	assert_int_equal(nss_dpk_cache_user_by_name(&c, "a.example.org", 13, &x), 0);
	assert_int_equal(x.uid, 1001);
	assert_int_equal(nss_dpk_cache_user_by_name(&c, "g.example.org", 13, &x), 0);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		assert_int_equal(nss_dpk_cache_user_by_name(&c, refused[i], strlen(refused[i]), &x), 1);
	assert_int_equal(nss_dpk_cache_group_by_gid(&c, 77, &y), 0);
	assert_string_equal(y.name.p, "grp");
	assert_int_equal(nss_dpk_cache_group_by_name(&c, "other", 5, &y), 1);
	assert_int_equal(nss_dpk_cache_group_by_gid(&c, 78, &y), 1);
	/* and in place: refused, nothing written */
	{
		struct nss_cache_user_in bad_u = {"root", "", "/h", "/bin/sh", 1003, 1003, 0, 0, NULL};
		struct nss_cache_group_in bad_g = {"-bad", 79, 0};

		assert_int_equal(agent_nss_cache_put_user(f.data, f.len, &bad_u), DPK_ERR_INVALID);
		assert_int_equal(agent_nss_cache_put_group(f.data, f.len, &bad_g), DPK_ERR_INVALID);
	}
	dpk_buf_free(&f);
}

/* Every byte past the header changed in turn: each lookup answers right,
 * answers "not there" (a slot emptied) or fails (-1), never wrongly, and
 * never reads outside the file. */
static void
check_lookups_never_wrong(const uint8_t *p, size_t n)
{
	struct nss_dpk_cache c;
	struct nss_dpk_cache_user u;
	struct nss_dpk_cache_group g;
	int r;

	assert_int_equal(nss_dpk_cache_open(&c, p, n), 0);
	if ((r = nss_dpk_cache_user_by_name(&c, "alice.example.org", 17, &u)) == 0) {
		assert_string_equal(u.dir.p, "/home/alice.example.org");
		assert_int_equal(u.uid, 230001);
		assert_int_equal(u.expiry_ms, 4102444800000ull);
		assert_int_equal(u.block_number, 4242);
		assert_memory_equal(u.block_hash, alice_block, 32);
	}
	if ((r = nss_dpk_cache_user_by_uid(&c, 210000, &u)) == 0) {
		assert_string_equal(u.name.p, "dpk-0123456789ab");
		assert_string_equal(u.gecos.p, "DPK 2001-db8--7");
		assert_int_equal(u.gid, 5000);
	}
	if ((r = nss_dpk_cache_user_by_uid(&c, 230003, &u)) == 0)
		assert_string_equal(u.name.p, "carol.example.org");
	if ((r = nss_dpk_cache_group_by_name(&c, "dpkusers", 8, &g)) == 0)
		assert_int_equal(g.gid, 5000);
	if ((r = nss_dpk_cache_group_by_gid(&c, 230001, &g)) == 0)
		assert_string_equal(g.name.p, "alice.example.org");
	(void)nss_dpk_cache_user_by_name(&c, "zz.example.org", 14, &u);
	(void)nss_dpk_cache_group_by_gid(&c, 7, &g);
}

/* Version 3 carries the proven block: a file of version 2 (the layout
 * before, without it) is another version (1: ignored, the socket answers),
 * and a group record claiming a proven block is damaged. */
static void
test_proven_block(void **state)
{
	struct dpk_buf f;
	struct nss_dpk_cache c;
	struct nss_dpk_cache_group g;
	uint8_t *p;
	int done = 0;

	(void)state;
	build3(&f);
	p = copy_of(f.data, f.len);
	nss_dpk_le32_put(p + NSS_DPK_CACHE_OFF_VERSION, 2);
	fix_checksum(p);
	assert_int_equal(nss_dpk_cache_open(&c, p, f.len), 1);
	free(p);
	p = copy_of(f.data, f.len);
	assert_int_equal(nss_dpk_cache_open(&c, p, f.len), 0);
	for (uint32_t i = 0; i < c.slots && !done; i++)
		if (nss_dpk_cache_group_at(&c, i, &g) == 0 && strcmp(g.name.p, "dpkusers") == 0) {
			uint64_t off = (uint64_t)nss_dpk_le32(p + NSS_DPK_CACHE_HEADER_SIZE + 4 * (2 * c.slots + i)) * 8;
			uint32_t len = nss_dpk_le32(p + off);

			p[off + 40] = 1; /* block number 1 */
			nss_dpk_le32_put(p + off + 4, nss_dpk_cache_record_checksum(p + off + 8, len - 8));
			done = 1;
		}
	assert_true(done);
	assert_int_equal(nss_dpk_cache_group_by_name(&c, "dpkusers", 8, &g), -1);
	assert_int_equal(nss_dpk_cache_group_by_gid(&c, 230001, &g), 0);
	free(p);
	dpk_buf_free(&f);
}

/* The header: every shorter length, each byte changed. */
static void
test_header(void **state)
{
	struct dpk_buf f;
	struct nss_dpk_cache c;

	(void)state;
	build3(&f);
	for (size_t n = 0; n < f.len; n += n < 512 ? 1 : 509) {
		uint8_t *p = copy_of(f.data, n);

		assert_int_equal(nss_dpk_cache_open(&c, p, n), -1);
		/* with the header's size and checksum made to agree: refused if
		 * the tables are cut, else the records cut off are not there */
		if (n >= NSS_DPK_CACHE_HEADER_SIZE) {
			nss_dpk_le64_put(p + NSS_DPK_CACHE_OFF_FILE_SIZE, n);
			fix_checksum(p);
			if (n < nss_dpk_le64(f.data + NSS_DPK_CACHE_OFF_HEAP)) {
				assert_int_equal(nss_dpk_cache_open(&c, p, n), -1);
			} else {
				assert_int_equal(nss_dpk_cache_open(&c, p, n), 0);
				check_lookups_never_wrong(p, n);
			}
		}
		free(p);
	}
	assert_int_equal(nss_dpk_cache_open(&c, NULL, 0), -1);
	for (size_t i = 0; i < NSS_DPK_CACHE_HEADER_SIZE; i++) {
		uint8_t *p = copy_of(f.data, f.len);
		int want = i < NSS_DPK_CACHE_FIXED_SIZE + 8 ? -1 : 0; /* the writer's area is not the reader's */

		if (i >= NSS_DPK_CACHE_OFF_VERSION && i < NSS_DPK_CACHE_OFF_VERSION + 4)
			want = 1; /* another version: ignored, the socket answers */
		p[i] ^= 0x20;
		if (nss_dpk_cache_open(&c, p, f.len) != want)
			fail_msg("header byte %zu changed: opened %d", i, nss_dpk_cache_open(&c, p, f.len));
		free(p);
	}
	/* well-formed fields that lie, with the checksum made right */
	{
		const struct {
			const char *what;
			size_t off;
			int width;
			uint64_t value;
		} d[] = {
			{"header size", NSS_DPK_CACHE_OFF_HEADER_SIZE, 4, 64},
			{"file size", NSS_DPK_CACHE_OFF_FILE_SIZE, 8, (uint64_t)f.len + 1},
			{"no slots", NSS_DPK_CACHE_OFF_SLOTS, 4, 0},
			{"slots past the file", NSS_DPK_CACHE_OFF_SLOTS, 4, 0x10000000u},
			{"slots over the cap", NSS_DPK_CACHE_OFF_SLOTS, 4, 0xffffffffu},
			{"tables elsewhere", NSS_DPK_CACHE_OFF_TABLES, 8, 136},
			{"heap elsewhere", NSS_DPK_CACHE_OFF_HEAP, 8, 128},
		};
		for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
			uint8_t *p = copy_of(f.data, f.len);

			if (d[i].width == 4)
				nss_dpk_le32_put(p + d[i].off, (uint32_t)d[i].value);
			else
				nss_dpk_le64_put(p + d[i].off, d[i].value);
			fix_checksum(p);
			if (nss_dpk_cache_open(&c, p, f.len) != -1)
				fail_msg("%s: not refused", d[i].what);
			free(p);
		}
	}
	dpk_buf_free(&f);
}

static void
test_damaged_records(void **state)
{
	struct dpk_buf f;
	struct nss_dpk_cache c;
	struct nss_dpk_cache_user u;
	uint64_t heap, end;
	int failed = 0;

	(void)state;
	build3(&f);
	heap = nss_dpk_le64(f.data + NSS_DPK_CACHE_OFF_HEAP);
	end = nss_dpk_le64(f.data + NSS_DPK_CACHE_OFF_HEAP_END);
	/* the records */
	for (size_t i = heap; i < end; i++) {
		uint8_t *p = copy_of(f.data, f.len);

		p[i] ^= 0x01;
		check_lookups_never_wrong(p, f.len);
		assert_int_equal(nss_dpk_cache_open(&c, p, f.len), 0);
		free(p);
	}
	/* the tables: slots pointing anywhere */
	for (size_t i = NSS_DPK_CACHE_HEADER_SIZE; i < heap; i += 4) {
		static const uint32_t v[] = {2, 15, 16, 0x7fffffffu, 0xffffffffu};

		if (nss_dpk_le32(f.data + i) == 0)
			continue;
		for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
			uint8_t *p = copy_of(f.data, f.len);

			nss_dpk_le32_put(p + i, v[k] + (k == 1 ? (uint32_t)(heap / 8) : 0));
			check_lookups_never_wrong(p, f.len);
			free(p);
		}
	}
	/* a record damaged is UNAVAIL for its own lookups */
	{
		uint8_t *p = copy_of(f.data, f.len);

		assert_int_equal(nss_dpk_cache_open(&c, p, f.len), 0);
		for (uint32_t i = 0; i < c.slots && !failed; i++)
			if (nss_dpk_cache_user_at(&c, i, &u) == 0 && strcmp(u.name.p, "alice.example.org") == 0) {
				uint64_t off = (uint64_t)nss_dpk_le32(p + NSS_DPK_CACHE_HEADER_SIZE + 4 * i) * 8;

				p[off + NSS_DPK_CACHE_RECORD_HEAD + 1] = 'x';
				failed = 1;
			}
		assert_true(failed);
		assert_int_equal(nss_dpk_cache_user_by_name(&c, "alice.example.org", 17, &u), -1);
		assert_int_equal(nss_dpk_cache_user_by_uid(&c, 230001, &u), -1);
		free(p);
	}
	dpk_buf_free(&f);
}

static struct nss_cache_user_in
user_n(char *name, size_t cap, uint32_t i, const char *gecos)
{
	snprintf(name, cap, "u%u.example.org", i);
	return (struct nss_cache_user_in){name, gecos, "/home/x", "/bin/sh", 100000 + i, 100000 + i, 0, 0, NULL};
}

/* Add, replace, rename and remove in place; a full file says so. */
static void
test_in_place(void **state)
{
	struct dpk_buf f;
	struct nss_dpk_cache c;
	struct nss_dpk_cache_user u;
	struct nss_dpk_cache_group g;
	char name[64];
	struct nss_cache_user_in in;
	struct nss_cache_group_in gin = {"team", 4000, 0};
	int r = 0;
	uint32_t i;

	(void)state;
	build3(&f);
	assert_int_equal(nss_dpk_cache_open(&c, f.data, f.len), 0);
	in = user_n(name, sizeof(name), 1, "first");
	assert_int_equal(agent_nss_cache_put_user(f.data, f.len, &in), 0);
	assert_int_equal(nss_dpk_cache_user_by_name(&c, "u1.example.org", 14, &u), 0);
	assert_string_equal(u.gecos.p, "first");
	/* replaced: the new one by name and by uid */
	in.gecos = "second";
	assert_int_equal(agent_nss_cache_put_user(f.data, f.len, &in), 0);
	assert_int_equal(nss_dpk_cache_user_by_uid(&c, 100001, &u), 0);
	assert_string_equal(u.gecos.p, "second");
	/* the same uid under a new name: the old name goes */
	in.name = "renamed.example.org";
	assert_int_equal(agent_nss_cache_put_user(f.data, f.len, &in), 0);
	assert_int_equal(nss_dpk_cache_user_by_name(&c, "u1.example.org", 14, &u), 1);
	assert_int_equal(nss_dpk_cache_user_by_uid(&c, 100001, &u), 0);
	assert_string_equal(u.name.p, "renamed.example.org");
	/* the same name with a new uid: the old uid goes */
	in.uid = 100002;
	assert_int_equal(agent_nss_cache_put_user(f.data, f.len, &in), 0);
	assert_int_equal(nss_dpk_cache_user_by_uid(&c, 100001, &u), 1);
	assert_int_equal(nss_dpk_cache_user_by_uid(&c, 100002, &u), 0);
	/* removed: gone both ways, and its bytes with it */
	assert_int_equal(agent_nss_cache_del_user(f.data, f.len, "renamed.example.org"), 0);
	assert_int_equal(agent_nss_cache_del_user(f.data, f.len, "renamed.example.org"), 1);
	assert_int_equal(nss_dpk_cache_user_by_name(&c, "renamed.example.org", 19, &u), 1);
	assert_int_equal(nss_dpk_cache_user_by_uid(&c, 100002, &u), 1);
	assert_null(memmem(f.data, f.len, "renamed", 7));
	assert_null(memmem(f.data, f.len, "first", 5));
	/* the others untouched */
	assert_int_equal(nss_dpk_cache_user_by_name(&c, "alice.example.org", 17, &u), 0);
	assert_int_equal(agent_nss_cache_put_group(f.data, f.len, &gin), 0);
	assert_int_equal(nss_dpk_cache_group_by_gid(&c, 4000, &g), 0);
	assert_int_equal(agent_nss_cache_del_group(f.data, f.len, "team"), 0);
	assert_int_equal(nss_dpk_cache_group_by_name(&c, "team", 4, &g), 1);
	/* filling up: DPK_ERR_TOOBIG, and everything put before still there */
	for (i = 10; i < 100000 && r == 0; i++) {
		in = user_n(name, sizeof(name), i, "");
		r = agent_nss_cache_put_user(f.data, f.len, &in);
	}
	assert_int_equal(r, DPK_ERR_TOOBIG);
	for (uint32_t k = 10; k + 1 < i; k++) {
		assert_int_equal(nss_dpk_cache_user_by_uid(&c, 100000 + k, &u), 0);
		snprintf(name, sizeof(name), "u%u.example.org", k);
		assert_string_equal(u.name.p, name);
	}
	dpk_buf_free(&f);
}

/* Past the old format's 65,536 entries. */
static void
test_large(void **state)
{
	enum { N = 70000 };
	struct nss_cache_user_in *u = calloc(N, sizeof(*u));
	char(*names)[32] = calloc(N, 32);
	struct dpk_buf f;
	struct nss_dpk_cache c;
	struct nss_dpk_cache_user x;

	(void)state;
	for (uint32_t i = 0; i < N; i++)
		u[i] = user_n(names[i], 32, i, "");
	dpk_buf_init(&f, NSS_DPK_CACHE_MAX_SIZE);
	assert_int_equal(agent_nss_cache_build(u, N, NULL, 0, 1, &f), 0);
	assert_int_equal(nss_dpk_cache_open(&c, f.data, f.len), 0);
	for (uint32_t i = 0; i < N; i++) {
		char name[32];

		snprintf(name, sizeof(name), "u%u.example.org", i);
		assert_int_equal(nss_dpk_cache_user_by_name(&c, name, strlen(name), &x), 0);
		assert_int_equal(x.uid, 100000 + i);
		assert_int_equal(nss_dpk_cache_user_by_uid(&c, 100000 + i, &x), 0);
		assert_string_equal(x.name.p, name);
	}
	assert_int_equal(nss_dpk_cache_user_by_uid(&c, 100000 + N, &x), 1);
	dpk_buf_free(&f);
	free(u);
	free(names);
}

/* One process changes a shared mapping while another reads it: the reader
 * sees each user as one of the versions written, whole, or (between a
 * removal and the next add) not at all; never a damaged record. */
static void
test_concurrent_reader(void **state)
{
	static const char *gecos[] = {"version one", "the second version, longer than the first", "3"};
	struct dpk_buf f;
	struct nss_dpk_cache c;
	uint8_t *p;
	char name[64];
	pid_t pid;
	int status;
	struct nss_cache_user_in in;

	(void)state;
	/* a heap big enough for the churn below without a new file */
	{
		uint32_t slots;
		uint64_t size;

		assert_int_equal(agent_nss_cache_layout(64, 64u << 20, &slots, &size), 0);
		dpk_buf_init(&f, NSS_DPK_CACHE_MAX_SIZE);
		assert_int_equal(dpk_buf_reserve(&f, (size_t)size, &p), 0);
		memset(p, 0, (size_t)size);
		agent_nss_cache_init(p, (size_t)size, slots, 99, 1);
	}
	p = mmap(NULL, f.len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	memcpy(p, f.data, f.len);
	for (uint32_t k = 0; k < 8; k++) {
		in = user_n(name, sizeof(name), k, gecos[0]);
		assert_int_equal(agent_nss_cache_put_user(p, f.len, &in), 0);
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct nss_dpk_cache_user u;
		long seen[3] = {0, 0, 0};

		if (nss_dpk_cache_open(&c, p, f.len) != 0)
			_exit(2);
		for (long n = 0; n < 300000; n++) {
			uint32_t k = (uint32_t)n % 8;
			int r = n & 1 ? nss_dpk_cache_user_by_uid(&c, 100000 + k, &u) :
			    (snprintf(name, sizeof(name), "u%u.example.org", k),
				nss_dpk_cache_user_by_name(&c, name, strlen(name), &u));

			if (r < 0)
				_exit(3); /* a torn record */
			if (r > 0)
				continue;
			if (u.uid != 100000 + k)
				_exit(4);
			for (int v = 0; v <= 3; v++)
				if (v == 3)
					_exit(5);
				else if (strcmp(u.gecos.p, gecos[v]) == 0) {
					seen[v]++;
					break;
				}
		}
		_exit(seen[0] > 0 && seen[1] + seen[2] > 0 ? 0 : 6);
	}
	/* churn until the reader is done, starting a fresh file copy when full */
	for (long n = 0; waitpid(pid, &status, WNOHANG) == 0; n++) {
		uint32_t k = (uint32_t)(n * 7) % 8;
		int r;

		in = user_n(name, sizeof(name), k, gecos[n % 3]);
		if (n % 5 == 4)
			r = agent_nss_cache_del_user(p, f.len, name) < 0;
		else
			r = agent_nss_cache_put_user(p, f.len, &in);
		if (r == DPK_ERR_TOOBIG) { /* the heap is full: let the reader finish */
			waitpid(pid, &status, 0);
			break;
		}
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	munmap(p, f.len);
	dpk_buf_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_proven_block),
		cmocka_unit_test(test_writer_drops),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_damaged_records),
		cmocka_unit_test(test_in_place),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_concurrent_reader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
