/* nss_dpk's policy keys in dpk.conf and the naming rules of nss_dpk(8):
 * user names, uids (recomputed here from the documented formula, including
 * the counter on a collision), and every bad value with its message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/nss_map.h"
#include "base/err.h"
#include "base/hex.h"
#include "registry/identity.h"
#include "eth/keccak.h"

static const char base[] =
    "rpc_url = http://127.0.0.1:8545\nchain_id = 31337\n"
    "contract = 0x5FbDB2315678afecb367f032d93F642f64180aa3\n";

static int
parse(const char *extra, struct dpk_config *c, char *err, size_t errsz)
{
	char text[8192];

	snprintf(text, sizeof(text), "%s%s", base, extra);
	dpk_config_defaults(c);
	err[0] = '\0';
	return dpk_config_parse(c, "dpk.conf", text, strlen(text), err, errsz);
}

static void
test_defaults_and_keys(void **state)
{
	struct dpk_config c;
	char err[256];

	(void)state;
	assert_int_equal(parse("", &c, err, sizeof(err)), 0);
	assert_int_equal(c.nss_uid_min, 2001000000);
	assert_int_equal(c.nss_uid_max, 2099999999);
	assert_false(c.has_nss_gid);
	assert_string_equal(c.nss_group, "dpk-users");
	assert_string_equal(c.nss_home, "/home/%u");
	assert_string_equal(c.nss_shell, "/bin/bash");
	assert_int_equal(c.n_nss_allow, 0);
	dpk_config_free(&c);

	assert_int_equal(parse("nss_allow = Alice.Example.ORG.\nnss_allow = 2001:DB8::7\nnss_allow = alice.example.org\n"
	    "nss_allow_suffix = .Corp.Example\nnss_allow_suffix = .org\nnss_uid_min = 5000\nnss_uid_max = 5999\n"
	    "nss_gid = 4000\nnss_group = dpkusers\nnss_home = /srv/%u/%%\nnss_shell = /bin/zsh\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.n_nss_allow, 2); /* the same identity twice is one user */
	assert_int_equal(c.n_nss_allow_suffix, 2);
	assert_string_equal(c.nss_allow_suffix[0], ".corp.example");
	assert_int_equal(c.nss_uid_min, 5000);
	assert_int_equal(c.nss_uid_max, 5999);
	assert_true(c.has_nss_gid);
	assert_int_equal(c.nss_gid, 4000);
	assert_string_equal(c.nss_group, "dpkusers");
	assert_string_equal(c.nss_home, "/srv/%u/%%");
	assert_string_equal(c.nss_shell, "/bin/zsh");
	dpk_config_free(&c);
}

static void
test_bad_values(void **state)
{
	static const struct {
		const char *line, *msg;
	} bad[] = {
		{"nss_allow = not an identity\n", "dpk.conf:4: nss_allow: 'not an identity' is not a DPK identity"},
		{"nss_allow_suffix = example.org\n", "is not a domain suffix with its leading dot"},
		{"nss_allow_suffix = .\n", "is not a domain suffix"},
		{"nss_allow_suffix = .example.org.\n", "is not a domain suffix"},
		{"nss_allow_suffix = ..org\n", "is not a domain suffix"},
		{"nss_uid_min = 999\n", "is not an id from 1000 to 2147483646"},
		{"nss_uid_max = 2147483647\n", "is not an id from 1000"},
		{"nss_gid = 0\n", "is not an id from 1000"},
		{"nss_gid = -5\n", "is not an id from 1000"},
		{"nss_uid_min = 2100000000\n", "nss_uid_min (2100000000) is above nss_uid_max (2099999999)"},
		{"nss_group = Users\n", "is not a group name"},
		{"nss_group = 1users\n", "is not a group name"},
		{"nss_group = abcdefghijabcdefghijabcdefghijabc\n", "is not a group name"},
		{"nss_home = home/%u\n", "must be an absolute path"},
		{"nss_home = /home/a:b\n", "must be an absolute path without ':'"},
		{"nss_home = /home/%i\n", "has a '%' other than %u"},
		{"nss_home = /home/%\n", "has a '%' other than %u"},
		{"nss_shell = bash\n", "must be an absolute path"},
		{"nss_uid_min = 1000\nnss_uid_max = 1002\nnss_allow = a.example.org\nnss_allow = b.example.org\n",
		    "nss_uid_min..nss_uid_max (1000..1002) is too small for 2 nss_allow identities"},
		{"nss_gid = 5000\nnss_gid = 5001\n", "nss_gid"},
	};
	struct dpk_config c;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i].line, &c, err, sizeof(err));

		if (r == 0 || strstr(err, bad[i].msg) == NULL)
			fail_msg("%s: got %d '%s'", bad[i].line, r, err);
		dpk_config_free(&c);
	}
}

/* keccak256(kind || value), as identity.h defines it, then "dpk-" + 12 hex. */
static void
hashed(uint8_t kind, const void *value, size_t n, uint8_t h[32], char name[17])
{
	uint8_t in[300];

	in[0] = kind;
	memcpy(in + 1, value, n);
	dpk_keccak256(in, n + 1, h);
	memcpy(name, "dpk-", 4);
	assert_int_equal(dpk_hex_encode(h, 6, 0, name + 4, 13), 0);
}

static void
check_name(const char *text, const char *want)
{
	struct dpk_identity id;
	uint8_t h[32], h2[32];
	char out[33], hn[17];

	assert_int_equal(dpk_identity_parse(text, strlen(text), &id), 0);
	assert_int_equal(dpk_identity_hash(&id, h), 0);
	agent_nss_map_name(&id, h, out);
	if (want != NULL) {
		assert_string_equal(out, want);
	} else {
		hashed(id.kind, id.value, id.len, h2, hn);
		assert_memory_equal(h, h2, 32);
		assert_string_equal(out, hn);
	}
}

static void
test_names(void **state)
{
	(void)state;
	check_name("alice.example.org", "alice.example.org");
	check_name("a-b.c", "a-b.c");
	check_name("abcdefghijklmnopqrstuvwxyz.a2345", "abcdefghijklmnopqrstuvwxyz.a2345"); /* 32 */
	check_name("abcdefghijklmnopqrstuvwxyz.a23456", NULL); /* 33: too long for a user name */
	check_name("1password.example.org", NULL); /* starts with a digit */
	check_name("root", NULL);                  /* no dot: never a local-looking name */
	check_name("localhost", NULL);
	check_name("10.9.8.7", NULL);
	check_name("2001:db8::7", NULL);
	check_name("123e4567-e89b-12d3-a456-426614174000", NULL);
}

/* The documented uid rule, written out again: identities in hash order,
 * each takes the first counter whose uid no earlier one has. */
static uint32_t
formula_uid(const uint8_t h[32], uint32_t counter, uint32_t min, uint32_t max)
{
	uint8_t in[36], d[32];
	uint64_t v = 0;

	memcpy(in, h, 32);
	in[32] = (uint8_t)(counter >> 24);
	in[33] = (uint8_t)(counter >> 16);
	in[34] = (uint8_t)(counter >> 8);
	in[35] = (uint8_t)counter;
	dpk_keccak256(in, 36, d);
	for (int i = 0; i < 8; i++)
		v = v << 8 | d[i];
	return min + (uint32_t)(v % ((uint64_t)max - min + 1));
}

static void
test_uids_and_collisions(void **state)
{
	static const char *const ids[] = {"a.example.org", "b.example.org", "c.example.org", "d.example.org",
	    "e.example.org", "10.0.0.1", "10.0.0.2", "2001:db8::1"};
	const size_t n = sizeof(ids) / sizeof(ids[0]);
	struct dpk_config c;
	char text[2048], err[256];
	size_t len = 0;
	int bumped = 0;

	(void)state;
	/* 16 uids for 8 identities: collisions are all but certain */
	len += (size_t)snprintf(text + len, sizeof(text) - len, "nss_uid_min = 1000\nnss_uid_max = 1015\n");
	for (size_t i = n; i-- > 0;) /* listed in another order than the hashes */
		len += (size_t)snprintf(text + len, sizeof(text) - len, "nss_allow = %s\n", ids[i]);
	assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
	assert_int_equal(c.n_nss_allow, n);
	for (size_t i = 0; i < n; i++) {
		const struct dpk_config_nss_user *u = &c.nss_allow[i];
		uint32_t counter = 0, want;
		size_t j;

		if (i > 0)
			assert_true(memcmp(c.nss_allow[i - 1].hash, u->hash, 32) < 0);
		do {
			want = formula_uid(u->hash, counter++, 1000, 1015);
			for (j = 0; j < i && c.nss_allow[j].uid != want; j++)
				;
		} while (j < i);
		bumped |= counter > 1;
		assert_int_equal(u->uid, want);
		assert_true(u->uid >= 1000 && u->uid <= 1015);
		for (j = 0; j < i; j++)
			assert_int_not_equal(c.nss_allow[j].uid, u->uid);
	}
	assert_true(bumped); /* the collision path ran */
	dpk_config_free(&c);

	/* the same list in the default range: the same uids on every host */
	assert_int_equal(parse("nss_allow = b.example.org\nnss_allow = a.example.org\n", &c, err, sizeof(err)), 0);
	for (size_t i = 0; i < c.n_nss_allow; i++)
		assert_int_equal(c.nss_allow[i].uid, formula_uid(c.nss_allow[i].hash, 0, 2001000000, 2099999999));
	dpk_config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_keys),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_uids_and_collisions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
