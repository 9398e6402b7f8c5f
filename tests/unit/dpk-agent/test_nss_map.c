/* nss_dpk's policy keys in dpk.conf and the naming rules of nss_dpk(8):
 * user names, uids (nss_uid_min + serial), the login_allow and user_group
 * rules, and every bad value with its message. */
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
		{"login_allow =   \n", "empty value"},
		{"login_allow = Not_An_Identity\n", "is not '*', an identity, a .suffix or approver:0xADDRESS"},
		{"login_allow = .Example.org\n", "is not a lower-case domain with its leading dot"},
		{"login_allow = approver:0x1234\n", "login_allow"},
		{"user_group = sudo\n", "names no one"},
		{"user_group = Sudo alice.example.org\n", "does not start with a group name"},
		{"user_group = sudo a.example.org\nuser_group = sudo b.example.org\n", "names a group that an earlier"},
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

/* The documented uid rule: nss_uid_min + serial, inside the range. */
static void
test_uids_from_serials(void **state)
{
	uint32_t uid;
	uint64_t serial;

	(void)state;
	assert_int_equal(agent_nss_serial_uid(2001000000, 2099999999, 1, &uid), 0);
	assert_int_equal(uid, 2001000001);
	assert_int_equal(agent_nss_serial_uid(2001000000, 2099999999, 98999999, &uid), 0);
	assert_int_equal(uid, 2099999999);
	assert_int_equal(agent_nss_serial_uid(2001000000, 2099999999, 99000000, &uid), -1); /* past the range */
	assert_int_equal(agent_nss_serial_uid(2001000000, 2099999999, 0, &uid), -1);        /* no serial yet */
	assert_int_equal(agent_nss_serial_uid(2001000000, 2099999999, UINT64_MAX, &uid), -1);
	assert_int_equal(agent_nss_uid_serial(2001000000, 2099999999, 2001000001, &serial), 0);
	assert_int_equal(serial, 1);
	assert_int_equal(agent_nss_uid_serial(2001000000, 2099999999, 2001000000, &serial), -1);
	assert_int_equal(agent_nss_uid_serial(2001000000, 2099999999, 2100000000, &serial), -1);
	assert_int_equal(agent_nss_uid_serial(2001000000, 2099999999, 1000, &serial), -1);
}

/* login_allow and user_group: selectors of every kind. */
static void
test_rule_keys(void **state)
{
	struct dpk_config c;
	char err[256];

	(void)state;
	assert_int_equal(parse("login_allow = alice.example.org .ops.example.org\nlogin_allow = "
	    "approver:0x70997970C51812dc3A010C7d01b50e0d17dc79C8 10.0.0.1\n"
	    "user_group = sudo .admins.example.org\nuser_group = docker *\n", &c, err, sizeof(err)), 0);
	assert_true(c.has_login_allow);
	assert_int_equal(c.login_allow.n, 4);
	assert_int_equal(c.login_allow.v[0].kind, AGENT_SEL_IDENTITY);
	assert_int_equal(c.login_allow.v[1].kind, AGENT_SEL_SUFFIX);
	assert_string_equal(c.login_allow.v[1].suffix, ".ops.example.org");
	assert_int_equal(c.login_allow.v[2].kind, AGENT_SEL_APPROVER);
	assert_int_equal(c.login_allow.v[2].approver[0], 0x70);
	assert_int_equal(c.login_allow.v[3].kind, AGENT_SEL_IDENTITY);
	assert_int_equal(c.n_user_group, 2);
	assert_string_equal(c.user_group[0].name, "sudo");
	assert_int_equal(c.user_group[0].who.n, 1);
	assert_string_equal(c.user_group[1].name, "docker");
	assert_int_equal(c.user_group[1].who.v[0].kind, AGENT_SEL_ALL);
	dpk_config_free(&c);
	assert_int_equal(parse("", &c, err, sizeof(err)), 0);
	assert_false(c.has_login_allow); /* none given: every user may log in */
	dpk_config_free(&c);
	/* a group no source has: refused at start, naming it */
	assert_int_equal(parse("user_group = no-such-group-here *\n", &c, err, sizeof(err)), 0);
	assert_int_equal(dpk_config_resolve_groups(&c, "dpk.conf", err, sizeof(err)), DPK_ERR_INVALID);
	assert_non_null(strstr(err, "there is no group 'no-such-group-here'"));
	dpk_config_free(&c);
	assert_int_equal(parse("user_group = root *\n", &c, err, sizeof(err)), 0);
	assert_int_equal(dpk_config_resolve_groups(&c, "dpk.conf", err, sizeof(err)), DPK_ERR_INVALID);
	assert_non_null(strstr(err, "root's group"));
	dpk_config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_keys),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_uids_from_serials),
		cmocka_unit_test(test_rule_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
