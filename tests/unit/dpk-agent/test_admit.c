/* The admission decision (login/admit.h), alone: each rule, in its order,
 * with the record and the other NSS sources given by the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "common/config.h"
#include "login/admit.h"
#include "registry/identity.h"
#include "registry/registry.h"

static const char base[] =
    "rpc_url = http://127.0.0.1:8545\nchain_id = 31337\n"
    "contract = 0x5FbDB2315678afecb367f032d93F642f64180aa3\n";

static const uint8_t pkm_a[20] = {0x70, 0x99, 0x79, 0x70, 0xC5, 0x18, 0x12, 0xdc, 0x3A, 0x01,
    0x0C, 0x7d, 0x01, 0xb5, 0x0e, 0x0d, 0x17, 0xdc, 0x79, 0xC8};
static const uint8_t pkm_b[20] = {0x3C, 0x44, 0xCd, 0xDd, 0xB6, 0xa9, 0x00, 0xfa, 0x2b, 0x58,
    0x5d, 0xd2, 0x99, 0xe0, 0x3d, 0x12, 0xFA, 0x42, 0x93, 0xBC};

static void
conf(struct dpk_config *c, const char *extra)
{
	char text[4096], err[256];

	snprintf(text, sizeof(text), "%s%s", base, extra);
	dpk_config_defaults(c);
	if (dpk_config_parse(c, "dpk.conf", text, strlen(text), err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

static struct agent_admit_rec
active(uint64_t serial, const uint8_t approver[20])
{
	struct agent_admit_rec r;

	memset(&r, 0, sizeof(r));
	r.known = r.found = r.fresh = 1;
	r.status = DPK_REGISTRY_ACTIVE;
	r.serial = serial;
	memcpy(r.approver, approver, 20);
	return r;
}

/* The other sources of the test: a local account "taken.example.org" and uid 2001000009. */
static int
others(void *ctx, const char *name, uint32_t uid)
{
	int *asked = ctx;

	(*asked)++;
	return strcmp(name, "taken.example.org") == 0 || uid == 2001000009;
}

static void
decide(const struct dpk_config *c, const char *ident, const struct agent_admit_rec *r, struct agent_admission *ad)
{
	struct dpk_identity id;
	uint8_t h[32];
	int asked = 0;

	assert_int_equal(dpk_identity_parse(ident, strlen(ident), &id), 0);
	assert_int_equal(dpk_identity_hash(&id, h), 0);
	agent_admit_decide(c, &id, h, r, others, &asked, ad, NULL);
	/* the other sources are asked only once rules 1-3 pass */
	assert_int_equal(asked > 0, ad->result == AGENT_ADMIT_USER || ad->result == AGENT_ADMIT_SHADOWED);
}

static void
test_policy(void **state)
{
	struct dpk_config c;
	struct agent_admission ad;
	struct agent_admit_rec r = active(5, pkm_a);

	(void)state;
	conf(&c, "nss_allow = alice.example.org\nnss_allow_suffix = .staff.example.org\n");
	decide(&c, "alice.example.org", &r, &ad);
	assert_int_equal(ad.result, AGENT_ADMIT_USER);
	assert_string_equal(ad.name, "alice.example.org");
	assert_int_equal(ad.uid, 2001000005);
	assert_int_equal(ad.gid, 2001000005);
	assert_true(ad.login);
	assert_int_equal(ad.stale_ms, 0);
	decide(&c, "bob.staff.example.org", &r, &ad);
	assert_int_equal(ad.result, AGENT_ADMIT_USER);
	decide(&c, "staff.example.org", &r, &ad); /* the suffix itself is not under it */
	assert_int_equal(ad.result, AGENT_ADMIT_POLICY);
	decide(&c, "mallory.example.org", &r, &ad);
	assert_int_equal(ad.result, AGENT_ADMIT_POLICY);
	assert_non_null(strstr(ad.why, "not a DPK user of this host"));
	assert_false(agent_admit_policy_may(&c, &(struct dpk_identity){0}, (uint8_t[32]){0}));
	dpk_config_free(&c);

	/* nss_allow_pkm: the approver in force, from the record */
	conf(&c, "nss_allow_pkm = 0x70997970C51812dc3A010C7d01b50e0d17dc79C8\n");
	decide(&c, "carol.example.net", &r, &ad);
	assert_int_equal(ad.result, AGENT_ADMIT_USER);
	r = active(6, pkm_b);
	decide(&c, "carol.example.net", &r, &ad);
	assert_int_equal(ad.result, AGENT_ADMIT_POLICY);
	assert_non_null(strstr(ad.why, "approver that nss_allow_pkm does not name"));
	decide(&c, "carol.example.net", NULL, &ad); /* the approver is not known before the record */
	assert_int_equal(ad.result, AGENT_ADMIT_UNKNOWN);
	dpk_config_free(&c);
}

static void
test_status_and_range(void **state)
{
	struct dpk_config c;
	struct agent_admission ad;
	struct agent_admit_rec r = active(5, pkm_a);

	(void)state;
	conf(&c, "nss_allow = alice.example.org\nnss_uid_min = 5000\nnss_uid_max = 5009\n");
	r.status = DPK_REGISTRY_REVOKED;
	decide(&c, "alice.example.org", &r, &ad);
	assert_int_equal(ad.result, AGENT_ADMIT_INACTIVE);
	assert_non_null(strstr(ad.why, "revoked"));
	r = active(5, pkm_a);
	r.found = 0;
	decide(&c, "alice.example.org", &r, &ad);
	assert_int_equal(ad.result, AGENT_ADMIT_INACTIVE);
	assert_non_null(strstr(ad.why, "not registered"));
	r = active(9, pkm_a);
	decide(&c, "alice.example.org", &r, &ad);
	assert_int_equal(ad.result, AGENT_ADMIT_USER);
	assert_int_equal(ad.uid, 5009);
	r = active(10, pkm_a); /* 5010: past nss_uid_max */
	decide(&c, "alice.example.org", &r, &ad);
	assert_int_equal(ad.result, AGENT_ADMIT_RANGE);
	r = active(0, pkm_a); /* a record without a serial is no user */
	decide(&c, "alice.example.org", &r, &ad);
	assert_int_equal(ad.result, AGENT_ADMIT_RANGE);
	dpk_config_free(&c);
}

/* A DPK user never shadows another source's account, by name or by uid;
 * and an identity's plain text is not a login name unless it is its user name. */
static void
test_no_shadowing(void **state)
{
	struct dpk_config c;
	struct agent_admission ad;
	struct agent_admit_rec r = active(3, pkm_a);

	(void)state;
	conf(&c, "nss_allow = taken.example.org\nnss_allow = postgres\nnss_allow = alice.example.org\n");
	decide(&c, "taken.example.org", &r, &ad);
	assert_int_equal(ad.result, AGENT_ADMIT_SHADOWED);
	assert_non_null(strstr(ad.why, "another source"));
	r = active(9, pkm_a); /* uid 2001000009 is a local account's */
	decide(&c, "alice.example.org", &r, &ad);
	assert_int_equal(ad.result, AGENT_ADMIT_SHADOWED);
	r = active(4, pkm_a);
	decide(&c, "postgres", &r, &ad); /* a single-label identity is never named as itself */
	assert_int_equal(ad.result, AGENT_ADMIT_USER);
	assert_memory_equal(ad.name, "dpk-", 4);
	assert_int_equal(strlen(ad.name), 16);
	dpk_config_free(&c);
}

static void
test_login_rights_and_groups(void **state)
{
	struct dpk_config c;
	struct agent_admission ad;
	struct agent_admit_rec r = active(7, pkm_a);

	(void)state;
	conf(&c, "nss_allow_suffix = .example.org\nlogin_allow = .ops.example.org approver:0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC\n"
	    "user_group = sudo .admins.ops.example.org\nuser_group = docker *\n");
	c.user_group[0].gid = 27;
	c.user_group[1].gid = 999;
	decide(&c, "dev.example.org", &r, &ad); /* a user, but not one who may log in */
	assert_int_equal(ad.result, AGENT_ADMIT_USER);
	assert_false(ad.login);
	assert_non_null(strstr(ad.why, "login_allow"));
	assert_int_equal(ad.n_groups, 1);
	assert_int_equal(ad.groups[0], 999);
	decide(&c, "eve.admins.ops.example.org", &r, &ad);
	assert_true(ad.login);
	assert_int_equal(ad.n_groups, 2);
	assert_int_equal(ad.groups[0], 27);
	assert_int_equal(ad.groups[1], 999);
	r = active(8, pkm_b);
	decide(&c, "dev.example.org", &r, &ad); /* the approver selector */
	assert_true(ad.login);
	dpk_config_free(&c);
}

static void
test_freshness(void **state)
{
	struct dpk_config c;
	struct agent_admission ad;
	struct agent_admit_rec r = active(7, pkm_a);

	(void)state;
	conf(&c, "nss_allow = alice.example.org\n");
	r.fresh = 0;
	r.age_ms = 30000;
	decide(&c, "alice.example.org", &r, &ad);
	assert_int_equal(ad.result, AGENT_ADMIT_USER); /* still a user (NSS serves it) */
	assert_false(ad.login);                         /* but no login on it: offline logins are off */
	assert_non_null(strstr(ad.why, "offline_login_max_age is off"));
	dpk_config_free(&c);
	conf(&c, "nss_allow = alice.example.org\noffline_login_max_age = 1m\n");
	decide(&c, "alice.example.org", &r, &ad);
	assert_true(ad.login);
	assert_int_equal(ad.stale_ms, 30000);
	r.age_ms = 61000;
	decide(&c, "alice.example.org", &r, &ad);
	assert_false(ad.login);
	assert_non_null(strstr(ad.why, "longer ago than offline_login_max_age (60 s)"));
	dpk_config_free(&c);
}

/* max_proof_age: a record proven at a block made longer ago counts as no
 * record read: no user (NSS answers UNAVAIL), no login, fresh or offline.
 * The decision carries the block its record was proven at. */
static void
test_proof_age(void **state)
{
	struct dpk_config c;
	struct agent_admission ad;
	struct agent_admit_rec r = active(7, pkm_a);

	(void)state;
	r.proven = 1;
	r.block_number = 77;
	r.block_hash[0] = 0xab;
	r.proof_age_ms = 90000;
	conf(&c, "nss_allow = alice.example.org\n");
	decide(&c, "alice.example.org", &r, &ad);
	assert_true(ad.login); /* no max_proof_age: any age */
	assert_int_equal(ad.proven, 1);
	assert_int_equal(ad.block_number, 77);
	assert_int_equal(ad.block_hash[0], 0xab);
	dpk_config_free(&c);
	conf(&c, "nss_allow = alice.example.org\nmax_proof_age = 1m\noffline_login_max_age = 1h\n");
	decide(&c, "alice.example.org", &r, &ad);
	assert_int_equal(ad.result, AGENT_ADMIT_UNKNOWN);
	assert_false(ad.login);
	assert_non_null(strstr(ad.why, "proven at block 77, made 90 s ago, longer ago than max_proof_age (60 s)"));
	r.fresh = 0; /* offline: offline_login_max_age would allow it, max_proof_age does not */
	r.age_ms = 1000;
	decide(&c, "alice.example.org", &r, &ad);
	assert_int_equal(ad.result, AGENT_ADMIT_UNKNOWN);
	assert_false(ad.login);
	assert_non_null(strstr(ad.why, "max_proof_age"));
	r.status = DPK_REGISTRY_REVOKED; /* an old "revoked" is no answer either */
	decide(&c, "alice.example.org", &r, &ad);
	assert_int_equal(ad.result, AGENT_ADMIT_UNKNOWN);
	r.status = DPK_REGISTRY_ACTIVE;
	/* the host's own record (agent_admit_fresh_enough alone) */
	{
		uint32_t stale;
		char why[200];

		assert_int_equal(agent_admit_fresh_enough(&c, 1, 0, 90000, &stale, why, sizeof(why)), -1);
		assert_non_null(strstr(why, "max_proof_age (60 s)"));
		assert_int_equal(agent_admit_fresh_enough(&c, 1, 0, 59000, &stale, why, sizeof(why)), 0);
	}
	r.proof_age_ms = 59000;
	decide(&c, "alice.example.org", &r, &ad);
	assert_true(ad.login);
	assert_int_equal(ad.stale_ms, 1000);
	dpk_config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_status_and_range),
		cmocka_unit_test(test_no_shadowing),
		cmocka_unit_test(test_login_rights_and_groups),
		cmocka_unit_test(test_freshness),
		cmocka_unit_test(test_proof_age),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
