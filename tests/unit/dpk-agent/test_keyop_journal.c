/* The key-operation journal (dpk-agent/chain/rotate.c) as the agent reads
 * it at start: good journals give their operation and step; truncated,
 * oversized, trailing-garbage, embedded-NUL and malformed ones are refused
 * (the agent then refuses to start rather than guess what was sent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "chain/rotate.h"

#define HASH "abababababababababababababababababababababababababababababababab"
#define PUB "021111111111111111111111111111111111111111111111111111111111111111"
#define SENT "dpk-key-operation-v1\nop: rotate\nstep: 2\nnew-alg: 1\nnew-pub: " PUB "\ntx-nonce: 3\n" \
	"mined-block: 0\ntx-hash: " HASH "\ntx-raw: 02f870\ndetail: sending rotate()\n"

static int
check(const char *text, size_t len, int *kind, int *step)
{
	return agent_keyop_journal_check((const uint8_t *)text, len, kind, step);
}

static void
test_good(void **state)
{
	int kind, step;

	(void)state;
	assert_int_equal(check(SENT, strlen(SENT), &kind, &step), 0);
	assert_int_equal(kind, KEYOP_ROTATE);
	assert_int_equal(step, KEYOP_SENT);
	const char *rev = "dpk-key-operation-v1\nop: revoke\nstep: 5\ndetail: revoked: it signs nothing\n";
	assert_int_equal(check(rev, strlen(rev), &kind, &step), 0);
	assert_int_equal(kind, KEYOP_REVOKE);
	assert_int_equal(step, KEYOP_REVOKED);
	const char *prep = "dpk-key-operation-v1\nop: rotate\nstep: 1\n";
	assert_int_equal(check(prep, strlen(prep), &kind, &step), 0);
	assert_int_equal(step, KEYOP_PREPARING);
}

static void
test_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"dpk-key-operation-v1\n",                                  /* no operation */
		"dpk-key-operation-v2\nop: rotate\nstep: 1\n",             /* another format */
		"dpk-key-operation-v1\nop: rotate\nstep: 7\n",             /* step out of range */
		"dpk-key-operation-v1\nop: rotate\nstep: -1\n",
		"dpk-key-operation-v1\nop: rotate\nstep: 1x\n",
		"dpk-key-operation-v1\nop: rotate\nstep: 99999999999999999999999\n",
		"dpk-key-operation-v1\nop: rename\nstep: 1\n",             /* no such operation */
		"dpk-key-operation-v1\nop: rotate\nstep: 1\ncolour: blue\n", /* unknown line */
		"dpk-key-operation-v1\nop: rotate\nstep: 1\nno colon here\n",
		"dpk-key-operation-v1\nop: rotate\nstep: 1\nnew-alg: 3\n",
		"dpk-key-operation-v1\nop: rotate\nstep: 1\nnew-alg: 0\n",
		"dpk-key-operation-v1\nop: rotate\nstep: 1\nnew-pub: 0\n",   /* odd hex */
		"dpk-key-operation-v1\nop: rotate\nstep: 1\nnew-pub: zz\n",
		"dpk-key-operation-v1\nop: rotate\nstep: 2\ntx-hash: " HASH "\ntx-raw: 02f870\n", /* a sent rotation without its key */
		"dpk-key-operation-v1\nop: revoke\nstep: 2\ntx-hash: abab\n", /* short hash */
		"dpk-key-operation-v1\nop: revoke\nstep: 2\ntx-raw: \n",
		"dpk-key-operation-v1\nop: revoke\nstep: 2\ntx-nonce: 18446744073709551616\n",
		"dpk-key-operation-v1\nop: revoke\nstep: 5", /* truncated: no final newline */
	};
	int kind, step;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (check(bad[i], strlen(bad[i]), &kind, &step) != DPK_ERR_SYNTAX)
			fail_msg("accepted: %s", bad[i]);
}

static void
test_truncated_nul_trailing_oversized(void **state)
{
	char buf[sizeof(SENT) + 32];
	int kind, step;

	(void)state;
	/* every proper prefix that does not end a line, and those that end inside the hex */
	for (size_t n = 1; n < strlen(SENT); n++)
		if (SENT[n - 1] != '\n')
			assert_int_equal(check(SENT, n, &kind, &step), DPK_ERR_SYNTAX);
	/* an embedded NUL */
	memcpy(buf, SENT, strlen(SENT));
	buf[30] = '\0';
	assert_int_equal(check(buf, strlen(SENT), &kind, &step), DPK_ERR_SYNTAX);
	/* trailing garbage after the last line */
	snprintf(buf, sizeof(buf), "%sgarbage\n", SENT);
	assert_int_equal(check(buf, strlen(buf), &kind, &step), DPK_ERR_SYNTAX);
	/* oversized: a detail line past the cap */
	size_t big = 70 * 1024;
	char *p = malloc(big + 64);

	assert_non_null(p);
	int h = snprintf(p, big + 64, "dpk-key-operation-v1\nop: revoke\nstep: 5\ndetail: ");
	memset(p + h, 'x', big);
	p[h + big] = '\n';
	assert_int_equal(check(p, (size_t)h + big + 1, &kind, &step), DPK_ERR_SYNTAX);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_truncated_nul_trailing_oversized),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
