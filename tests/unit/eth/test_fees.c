/* Fee settings and replacement arithmetic (lib/eth/fees.h): the units an
 * operator may write and what is refused, the figures as messages show
 * them, and the bump a replacement makes within the caps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "base/err.h"
#include "eth/fees.h"

static void
test_parse_units(void **state)
{
	static const struct {
		const char *text;
		uint64_t wei;
	} ok[] = {
		{"30", 30 * DPK_GWEI}, {"30 gwei", 30 * DPK_GWEI}, {"30gwei", 30 * DPK_GWEI},
		{"1.5 gwei", 1500000000ULL}, {"0.000000001", 1}, {"2000000000 wei", 2 * DPK_GWEI}, {"0 wei", 0},
		{"0.001 ether", 1000000 * DPK_GWEI}, {"10 ether", 10ULL * DPK_GWEI * DPK_GWEI},
		{"0.25", 250000000ULL},
	};
	const char *why;
	uint64_t w;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		why = NULL;
		if (dpk_fee_parse(ok[i].text, &w, &why) != 0)
			fail_msg("'%s' refused: %s", ok[i].text, why);
		assert_int_equal(w, ok[i].wei);
	}
}

static void
test_parse_refusals(void **state)
{
	static const struct {
		const char *text;
		int r;
		const char *why;
	} bad[] = {
		{"", DPK_ERR_SYNTAX, "is not a fee"}, {"gwei", DPK_ERR_SYNTAX, "is not a fee"},
		{"1.", DPK_ERR_SYNTAX, "is not a fee"}, {".5", DPK_ERR_SYNTAX, "is not a fee"},
		{"-1", DPK_ERR_SYNTAX, "is not a fee"}, {"30 Gwei", DPK_ERR_SYNTAX, "unknown unit"},
		{"30  gwei", DPK_ERR_SYNTAX, "unknown unit"}, {"30 gwei x", DPK_ERR_SYNTAX, "unknown unit"},
		{"1.5 wei", DPK_ERR_SYNTAX, "whole number of wei"}, {"0.0000000001", DPK_ERR_SYNTAX, "whole number of wei"},
		{"11 ether", DPK_ERR_RANGE, "too large"}, {"99999999999999999999999", DPK_ERR_RANGE, "too large"},
		{"0.1234567890123456789 ether", DPK_ERR_SYNTAX, "decimals"},
	};
	const char *why;
	uint64_t w;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(dpk_fee_parse(bad[i].text, &w, &why), bad[i].r);
		assert_non_null(why);
		if (strstr(why, bad[i].why) == NULL)
			fail_msg("'%s': '%s' does not say '%s'", bad[i].text, why, bad[i].why);
	}
}

static void
test_format(void **state)
{
	char out[48];

	(void)state;
	dpk_fee_format(30 * DPK_GWEI, out, sizeof(out));
	assert_string_equal(out, "30 gwei");
	dpk_fee_format(1500000000ULL, out, sizeof(out));
	assert_string_equal(out, "1.5 gwei");
	dpk_fee_format(1, out, sizeof(out));
	assert_string_equal(out, "0.000000001 gwei");
	dpk_fee_format(0, out, sizeof(out));
	assert_string_equal(out, "0 gwei");
}

/* At least +10% on both fields (geth's rule), at least the network's ask,
 * never above a cap; refused when the cap leaves no room for the bump. */
static void
test_bump(void **state)
{
	struct dpk_fee_policy open = {0, 0}, capped = {.max_fee = 10 * DPK_GWEI}, tipcap = {0, DPK_GWEI};
	struct dpk_fee_offer prev = {.tip = DPK_GWEI, .max_fee = 3 * DPK_GWEI}, now = {.tip = DPK_GWEI,
		.max_fee = 2 * DPK_GWEI}, out;
	char msg[256];

	(void)state;
	assert_int_equal(dpk_fees_bump_from(&open, &prev, &now, &out, msg, sizeof(msg)), 0);
	assert_true(out.max_fee * 10 >= prev.max_fee * 11 && out.tip * 10 >= prev.tip * 11);
	assert_int_equal(out.max_fee, 3 * DPK_GWEI + 3 * DPK_GWEI / 8 + 1);
	/* the network asks more than the bump: its figure */
	now.max_fee = 40 * DPK_GWEI;
	assert_int_equal(dpk_fees_bump_from(&open, &prev, &now, &out, msg, sizeof(msg)), 0);
	assert_int_equal(out.max_fee, 40 * DPK_GWEI);
	/* ... above the cap: the cap, a full bump all the same */
	assert_int_equal(dpk_fees_bump_from(&capped, &prev, &now, &out, msg, sizeof(msg)), 0);
	assert_int_equal(out.max_fee, 10 * DPK_GWEI);
	/* the cap below a 12.5% bump: refused, the figures named */
	prev.max_fee = 9 * DPK_GWEI;
	assert_int_equal(dpk_fees_bump_from(&capped, &prev, &now, &out, msg, sizeof(msg)), DPK_ERR_RANGE);
	assert_non_null(strstr(msg, "max_fee_per_gas (10 gwei)"));
	/* the tip cap leaves no room for +12.5% on the tip */
	prev.max_fee = 3 * DPK_GWEI;
	assert_int_equal(dpk_fees_bump_from(&tipcap, &prev, &now, &out, msg, sizeof(msg)), DPK_ERR_RANGE);
	assert_non_null(strstr(msg, "max_priority_fee_per_gas (1 gwei)"));
	/* nonsense to replace */
	prev.tip = 5 * DPK_GWEI;
	assert_int_equal(dpk_fees_bump_from(&open, &prev, &now, &out, msg, sizeof(msg)), DPK_ERR_RANGE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_units),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_bump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
