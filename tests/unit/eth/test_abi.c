/* Solidity ABI: the specification's worked examples, cross-checks against
 * Foundry's cast, value range checks both ways, hostile input to the decoder,
 * events and revert data as the user sees them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth/abi.h"
#include "base/buf.h"
#include "base/err.h"
#include "harness.h"
#include "base/hex.h"
#include "eth/keccak.h"
#include "eth/wallet.h"

/* ------------------------------------------------------------------ */
/* helpers */

/* Hex text (with or without 0x) into a fresh buffer; fails the test on bad hex. */
static void
unhex(const char *hex, struct dpk_buf *out)
{
	size_t n = strlen(hex), got;
	uint8_t *p;

	dpk_buf_init(out, 1u << 24);
	assert_int_equal(dpk_buf_reserve(out, n / 2, &p), 0);
	assert_int_equal(dpk_hex_decode(hex, n, out->data, n / 2, &got), 0);
	out->len = got;
}

static char *
tohex(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 3);

	assert_non_null(s);
	assert_int_equal(dpk_hex_encode(p, n, 1, s, 2 * n + 3), 0);
	return s;
}

/* The hex of the named line of a data file ("name 0x..."). */
static void
data_line(const char *file, const char *name, struct dpk_buf *out)
{
	struct dpk_buf f;
	size_t nl = strlen(name);
	const char *line;

	dpk_test_read_data(file, &f);
	for (line = (const char *)f.data; line != NULL && *line != '\0';) {
		const char *end = strchr(line, '\n');

		if (line[0] != '#' && strncmp(line, name, nl) == 0 && line[nl] == ' ') {
			char hex[8192];
			size_t hl = (end ? (size_t)(end - line) : strlen(line)) - nl - 1;

			assert_true(hl < sizeof(hex));
			memcpy(hex, line + nl + 1, hl);
			hex[hl] = '\0';
			unhex(hex, out);
			dpk_buf_free(&f);
			return;
		}
		line = end ? end + 1 : NULL;
	}
	dpk_buf_free(&f);
	fail_msg("no line %s in %s", name, file);
}

/* Format a value into a NUL-terminated string the caller frees. */
static char *
fmt(const struct dpk_abi_value *v)
{
	struct dpk_buf b;
	char *s;

	dpk_buf_init(&b, 1u << 20);
	assert_int_equal(dpk_abi_value_format(v, &b), 0);
	assert_int_equal(dpk_buf_cstr(&b), 0);
	s = strdup((const char *)b.data);
	assert_non_null(s);
	dpk_buf_free(&b);
	return s;
}

/* Run cast with the given arguments (NULL-terminated), expect exit 0, return
 * its chomped stdout in out. */
static void
cast(struct dpk_buf *out, ...)
{
	char *argv[32];
	size_t n = 0;
	va_list ap;

	argv[n++] = (char *)dpk_test_tool("DPK_CAST");
	va_start(ap, out);
	while ((argv[n] = va_arg(ap, char *)) != NULL) {
		n++;
		assert_true(n < 31);
	}
	va_end(ap);
	if (dpk_test_run(argv, NULL, out) != 0)
		fail_msg("cast %s %s failed", argv[1], argv[2] ? argv[2] : "");
	dpk_test_chomp(out);
}

/* cast abi-decode prints one value per line and appends " [1.844e19]" to big
 * numbers: turn that into our one-line "(a, b, ...)" form. */
static char *
cast_lines_as_tuple(const struct dpk_buf *o)
{
	const char *s = (const char *)o->data;
	size_t n = o->len, j = 0;
	char *t = malloc(2 * n + 3);

	assert_non_null(t);
	t[j++] = '(';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			t[j++] = ',';
			t[j++] = ' ';
			continue;
		}
		if (s[i] == ' ' && i + 2 < n && s[i + 1] == '[' &&
		    ((s[i + 2] >= '0' && s[i + 2] <= '9') || s[i + 2] == '-')) {
			size_t k = i + 2;

			while (k < n && s[k] != ']' && s[k] != '\n' && s[k] != ',')
				k++;
			if (k < n && s[k] == ']' && memchr(s + i, 'e', k - i) != NULL) {
				i = k;
				continue;
			}
		}
		t[j++] = s[i];
	}
	t[j++] = ')';
	t[j] = '\0';
	return t;
}

static struct dpk_abi_type *
type(const char *s)
{
	struct dpk_abi_type *t = NULL;

	assert_int_equal(dpk_abi_type_parse(s, strlen(s), &t), 0);
	return t;
}

static int
parse_err(const char *s)
{
	struct dpk_abi_type *t = (struct dpk_abi_type *)1;
	int r = dpk_abi_type_parse(s, strlen(s), &t);

	if (r == 0)
		dpk_abi_type_free(t);
	else
		assert_null(t);
	return r;
}

/* Decode hex as type text with flags; return the error (tree freed). */
static int
decode_err(const char *ty, const char *hex, unsigned flags)
{
	struct dpk_buf b;
	struct dpk_abi_value *v = (struct dpk_abi_value *)1;
	int r;

	unhex(hex, &b);
	r = dpk_abi_decode_text(ty, b.data, b.len, flags, &v);
	if (r != 0)
		assert_null(v);
	dpk_abi_value_free(v);
	dpk_buf_free(&b);
	return r;
}

#define W0 "0000000000000000000000000000000000000000000000000000000000000000"
#define W(x) "00000000000000000000000000000000000000000000000000000000000000" x
#define STRICT (DPK_ABI_STRICT | DPK_ABI_NO_TRAILING)

/* ------------------------------------------------------------------ */
/* the specification's examples */

/* Encode args as a call of sig, compare with the published hex, check the
 * selector, decode the arguments back strictly and re-encode them. */
static void
check_example(const char *name, const char *sig, const char *argtype, const struct dpk_abi_value *args,
    size_t nargs, const char *expect_text)
{
	struct dpk_buf want, got, re;
	struct dpk_abi_type *t = type(argtype);
	struct dpk_abi_value *v = NULL;
	uint8_t sel[4];
	char *s;

	data_line("abi/spec_examples.txt", name, &want);
	dpk_buf_init(&got, 1 << 16);
	assert_int_equal(dpk_abi_encode_call(sig, args, nargs, &got), 0);
	if (got.len != want.len || memcmp(got.data, want.data, got.len) != 0) {
		char *a = tohex(got.data, got.len), *b = tohex(want.data, want.len);

		fail_msg("%s: encoded\n %s\nspecification\n %s", name, a, b);
	}
	assert_int_equal(dpk_abi_selector(sig, sel), 0);
	assert_memory_equal(sel, want.data, 4);

	assert_int_equal(dpk_abi_decode(t, want.data + 4, want.len - 4, STRICT, &v), 0);
	s = fmt(v);
	assert_string_equal(s, expect_text);
	free(s);
	dpk_buf_init(&re, 1 << 16);
	assert_int_equal(dpk_abi_encode(t, v, &re), 0);
	assert_int_equal(re.len, want.len - 4);
	assert_memory_equal(re.data, want.data + 4, re.len);

	dpk_abi_value_free(v);
	dpk_abi_type_free(t);
	dpk_buf_free(&want);
	dpk_buf_free(&got);
	dpk_buf_free(&re);
}

static void
test_spec_examples(void **state)
{
	/* baz(uint32,bool): 69, true */
	struct dpk_abi_value baz[] = {dpk_abi_uint64(69), dpk_abi_bool(1)};
	check_example("baz", "baz(uint32,bool)", "(uint32,bool)", baz, 2, "(69, true)");

	/* bar(bytes3[2]): ["abc", "def"] */
	struct dpk_abi_value b3[] = {dpk_abi_fixed_bytes("abc", 3), dpk_abi_fixed_bytes("def", 3)};
	struct dpk_abi_value bar[] = {dpk_abi_array(b3, 2)};
	check_example("bar", "bar(bytes3[2])", "(bytes3[2])", bar, 1, "([0x616263, 0x646566])");

	/* sam(bytes,bool,uint256[]) written with the "uint" alias: the selector
	 * is over the canonical form */
	struct dpk_abi_value nums[] = {dpk_abi_uint64(1), dpk_abi_uint64(2), dpk_abi_uint64(3)};
	struct dpk_abi_value sam[] = {dpk_abi_bytes("dave", 4), dpk_abi_bool(1), dpk_abi_array(nums, 3)};
	check_example("sam", "sam(bytes,bool,uint[])", "(bytes,bool,uint256[])", sam, 3,
	    "(0x64617665, true, [1, 2, 3])");

	/* f(uint256,uint32[],bytes10,bytes) */
	struct dpk_abi_value u32s[] = {dpk_abi_uint64(0x456), dpk_abi_uint64(0x789)};
	struct dpk_abi_value f[] = {dpk_abi_uint64(0x123), dpk_abi_array(u32s, 2),
	    dpk_abi_fixed_bytes("1234567890", 10), dpk_abi_bytes("Hello, world!", 13)};
	check_example("f", "f(uint,uint32[],bytes10,bytes)", "(uint256,uint32[],bytes10,bytes)", f, 4,
	    "(291, [1110, 1929], 0x31323334353637383930, 0x48656c6c6f2c20776f726c6421)");

	/* g(uint256[][],string[]) */
	struct dpk_abi_value a12[] = {dpk_abi_uint64(1), dpk_abi_uint64(2)};
	struct dpk_abi_value a3[] = {dpk_abi_uint64(3)};
	struct dpk_abi_value outer[] = {dpk_abi_array(a12, 2), dpk_abi_array(a3, 1)};
	struct dpk_abi_value strs[] = {dpk_abi_string("one"), dpk_abi_string("two"), dpk_abi_string("three")};
	struct dpk_abi_value g[] = {dpk_abi_array(outer, 2), dpk_abi_array(strs, 3)};
	check_example("g", "g(uint256[][],string[])", "(uint256[][],string[])", g, 2,
	    "([[1, 2], [3]], [\"one\", \"two\", \"three\"])");

	/* baz returning false: the single bool word */
	struct dpk_buf ret;
	struct dpk_abi_value *v = NULL;

	data_line("abi/spec_examples.txt", "baz_ret_false", &ret);
	assert_int_equal(dpk_abi_decode_text("(bool)", ret.data, ret.len, STRICT, &v), 0);
	assert_int_equal(dpk_abi_value_at(v, 0)->kind, DPK_ABI_BOOL);
	assert_int_equal(dpk_abi_value_at(v, 0)->u.boolean, 0);
	dpk_abi_value_free(v);
	dpk_buf_free(&ret);
}

/* ------------------------------------------------------------------ */
/* types */

static void
test_type_parse(void **state)
{
	struct dpk_abi_type *t;
	char out[256], deep[256];
	size_t n = 0;

	t = type("(uint,int,bytes32[],(address,bool)[2],string,uint8[3][])");
	assert_int_equal(dpk_abi_type_format(t, out, sizeof(out)), 0);
	assert_string_equal(out, "(uint256,int256,bytes32[],(address,bool)[2],string,uint8[3][])");
	assert_true(dpk_abi_type_is_dynamic(t));
	assert_int_equal(dpk_abi_type_format(t, out, 10), DPK_ERR_TOOBIG);
	dpk_abi_type_free(t);
	t = type("(address,bool)[2]");
	assert_false(dpk_abi_type_is_dynamic(t));
	dpk_abi_type_free(t);
	t = type("()");
	dpk_abi_type_free(t);

	assert_int_equal(parse_err("uint7"), DPK_ERR_SYNTAX);
	assert_int_equal(parse_err("uint264"), DPK_ERR_SYNTAX);
	assert_int_equal(parse_err("uint0"), DPK_ERR_SYNTAX);
	assert_int_equal(parse_err("uint08"), DPK_ERR_SYNTAX);
	assert_int_equal(parse_err("int99999999999999999999999"), DPK_ERR_SYNTAX);
	assert_int_equal(parse_err("bytes0"), DPK_ERR_SYNTAX);
	assert_int_equal(parse_err("bytes33"), DPK_ERR_SYNTAX);
	assert_int_equal(parse_err("Uint256"), DPK_ERR_SYNTAX);
	assert_int_equal(parse_err("uint256 "), DPK_ERR_SYNTAX);
	assert_int_equal(parse_err("(uint256, bool)"), DPK_ERR_SYNTAX);
	assert_int_equal(parse_err("(uint256"), DPK_ERR_SYNTAX);
	assert_int_equal(parse_err("(uint256,)"), DPK_ERR_SYNTAX);
	assert_int_equal(parse_err("(,)"), DPK_ERR_SYNTAX);
	assert_int_equal(parse_err("uint256[01]"), DPK_ERR_SYNTAX);
	assert_int_equal(parse_err("uint256[2"), DPK_ERR_SYNTAX);
	assert_int_equal(parse_err("uint256]"), DPK_ERR_SYNTAX);
	assert_int_equal(parse_err(""), DPK_ERR_SYNTAX);
	assert_int_equal(parse_err("fixed128x18"), DPK_ERR_UNSUPPORTED);
	assert_int_equal(parse_err("ufixed"), DPK_ERR_UNSUPPORTED);
	assert_int_equal(parse_err("function"), DPK_ERR_UNSUPPORTED);
	assert_int_equal(parse_err("uint256[0]"), DPK_ERR_UNSUPPORTED);
	assert_int_equal(parse_err("(uint256,())"), DPK_ERR_UNSUPPORTED);
	assert_int_equal(parse_err("()[]"), DPK_ERR_UNSUPPORTED);
	assert_int_equal(parse_err("uint256[4097]"), DPK_ERR_TOOBIG);
	assert_int_equal(parse_err("uint256[4096][4096]"), DPK_ERR_TOOBIG); /* 512 MiB of head */
	assert_int_equal(parse_err("uint256[4096][8]"), 0);                 /* exactly 1 MiB */

	/* embedded NUL: the length given counts, the NUL is not a type character */
	t = (struct dpk_abi_type *)1;
	assert_int_equal(dpk_abi_type_parse("uint256\0[]", 10, &t), DPK_ERR_SYNTAX);
	assert_null(t);

	/* nesting: 32 levels are fine, 33 are not, as arrays or as tuples */
	memcpy(deep, "bool", 4);
	n = 4;
	for (int i = 0; i < 31; i++, n += 2)
		memcpy(deep + n, "[]", 2);
	deep[n] = '\0';
	assert_int_equal(parse_err(deep), 0);
	memcpy(deep + n, "[]", 3);
	assert_int_equal(parse_err(deep), DPK_ERR_DEPTH);
	for (int levels = 31; levels <= 32; levels++) {
		n = 0;
		for (int i = 0; i < levels; i++)
			deep[n++] = '(';
		memcpy(deep + n, "bool", 4);
		n += 4;
		for (int i = 0; i < levels; i++)
			deep[n++] = ')';
		deep[n] = '\0';
		assert_int_equal(parse_err(deep), levels == 31 ? 0 : DPK_ERR_DEPTH);
	}
}

static void
test_type_caps(void **state)
{
	char *s = malloc(DPK_ABI_MAX_SIG + 100);
	size_t n = 0;

	assert_non_null(s);
	/* more type nodes than the cap, in a short text */
	s[n++] = '(';
	for (int i = 0; i < DPK_ABI_MAX_TYPE_NODES; i++) {
		memcpy(s + n, "bool,", 5);
		n += 5;
	}
	s[n - 1] = ')';
	s[n] = '\0';
	assert_true(n <= DPK_ABI_MAX_SIG);
	assert_int_equal(parse_err(s), DPK_ERR_TOOBIG);
	/* longer than the text cap */
	memset(s, 'x', DPK_ABI_MAX_SIG + 1);
	s[DPK_ABI_MAX_SIG + 1] = '\0';
	assert_int_equal(parse_err(s), DPK_ERR_TOOBIG);
	free(s);
}

/* ------------------------------------------------------------------ */
/* value ranges, both ways */

static int
enc1(const char *ty, struct dpk_abi_value v)
{
	struct dpk_abi_type *t = type(ty);
	struct dpk_buf b;
	int r;

	dpk_buf_init(&b, 4096);
	r = dpk_abi_encode(t, &v, &b);
	dpk_buf_free(&b);
	dpk_abi_type_free(t);
	return r;
}

static void
test_int_ranges(void **state)
{
	struct dpk_u256 big;

	assert_int_equal(enc1("uint8", dpk_abi_uint64(255)), 0);
	assert_int_equal(enc1("uint8", dpk_abi_uint64(256)), DPK_ERR_RANGE);
	assert_int_equal(enc1("uint8", dpk_abi_int64(-1)), DPK_ERR_RANGE);
	assert_int_equal(enc1("uint64", dpk_abi_uint64(UINT64_MAX)), 0);
	assert_int_equal(enc1("uint24", dpk_abi_uint64(1u << 24)), DPK_ERR_RANGE);
	assert_int_equal(enc1("int8", dpk_abi_int64(-128)), 0);
	assert_int_equal(enc1("int8", dpk_abi_int64(-129)), DPK_ERR_RANGE);
	assert_int_equal(enc1("int8", dpk_abi_int64(127)), 0);
	assert_int_equal(enc1("int8", dpk_abi_int64(128)), DPK_ERR_RANGE);
	assert_int_equal(enc1("int8", dpk_abi_uint64(128)), DPK_ERR_RANGE);
	assert_int_equal(enc1("int8", dpk_abi_uint64(127)), 0);
	assert_int_equal(enc1("int64", dpk_abi_int64(INT64_MIN)), 0);
	assert_int_equal(enc1("int256", dpk_abi_int64(-1)), 0);
	assert_int_equal(enc1("uint256", dpk_abi_int64(-1)), DPK_ERR_RANGE);
	memset(big.be, 0, 32);
	big.be[0] = 0x80; /* 2^255: fits uint256, not int256 */
	assert_int_equal(enc1("uint256", dpk_abi_uint256(&big)), 0);
	assert_int_equal(enc1("int256", dpk_abi_uint256(&big)), DPK_ERR_RANGE);
	assert_int_equal(enc1("int256", dpk_abi_int256(&big)), 0); /* -2^255 */

	/* wrong shapes */
	assert_int_equal(enc1("uint256", dpk_abi_string("1")), DPK_ERR_TYPE);
	assert_int_equal(enc1("bytes3", dpk_abi_fixed_bytes("abcd", 4)), DPK_ERR_TYPE);
	assert_int_equal(enc1("address", dpk_abi_uint64(1)), DPK_ERR_TYPE);
	assert_int_equal(enc1("bool", dpk_abi_uint64(1)), DPK_ERR_TYPE);
	{
		struct dpk_abi_value three[] = {dpk_abi_bool(1), dpk_abi_bool(0), dpk_abi_bool(1)};

		assert_int_equal(enc1("bool[2]", dpk_abi_array(three, 3)), DPK_ERR_TYPE);
		assert_int_equal(enc1("bool[3]", dpk_abi_array(three, 3)), 0);
		assert_int_equal(enc1("(bool,bool)", dpk_abi_tuple(three, 3)), DPK_ERR_TYPE);
		assert_int_equal(enc1("(bool,bool,bool)", dpk_abi_array(three, 3)), DPK_ERR_TYPE);
	}

	/* decoding: dirty high bits, inexact sign extension, bool > 1 */
	assert_int_equal(decode_err("uint8", W("ff"), STRICT), 0);
	assert_int_equal(decode_err("uint8", "00000000000000000000000000000000000000000000000000000000000001ff", STRICT),
	    DPK_ERR_RANGE);
	assert_int_equal(decode_err("uint8", "80000000000000000000000000000000000000000000000000000000000000ff", 0),
	    DPK_ERR_RANGE);
	assert_int_equal(decode_err("int8", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff80", STRICT),
	    0);
	assert_int_equal(decode_err("int8", W("80"), STRICT), DPK_ERR_RANGE); /* +128 */
	assert_int_equal(decode_err("int8", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", STRICT),
	    DPK_ERR_RANGE); /* -129 */
	assert_int_equal(decode_err("int16", "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe8000", STRICT),
	    DPK_ERR_RANGE);
	assert_int_equal(decode_err("bool", W("01"), STRICT), 0);
	assert_int_equal(decode_err("bool", W("02"), STRICT), DPK_ERR_RANGE);
	assert_int_equal(decode_err("bool", "0100000000000000000000000000000000000000000000000000000000000001", STRICT),
	    DPK_ERR_RANGE);
	assert_int_equal(decode_err("address", "000000000000000000000001f39fd6e51aad88f6f4ce6ab8827279cfffb92266", STRICT),
	    DPK_ERR_RANGE);
	assert_int_equal(decode_err("bytes3", "6162630000000000000000000000000000000000000000000000000000000000", STRICT),
	    0);
	assert_int_equal(decode_err("bytes3", "6162630100000000000000000000000000000000000000000000000000000000", STRICT),
	    DPK_ERR_NONCANONICAL);
	assert_int_equal(decode_err("bytes3", "6162630000000000000000000000000000000000000000000000000000000001", 0),
	    DPK_ERR_NONCANONICAL);

	/* the extremes format exactly */
	{
		struct dpk_buf b;
		struct dpk_abi_value *v = NULL;
		char *s;

		unhex("8000000000000000000000000000000000000000000000000000000000000000"
		      "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff80"
		      "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		    &b);
		assert_int_equal(dpk_abi_decode_text("(int256,int8,uint256)", b.data, b.len, STRICT, &v), 0);
		s = fmt(v);
		assert_string_equal(s, "(-57896044618658097711785492504343953926634992332820282019728792003956564819968, -128, "
		                       "115792089237316195423570985008687907853269984665640564039457584007913129639935)");
		free(s);
		dpk_abi_value_free(v);
		dpk_buf_free(&b);
	}
}

/* ------------------------------------------------------------------ */
/* hostile input */

static void
test_malformed(void **state)
{
	/* truncated */
	assert_int_equal(decode_err("(uint256)", "00000000000000000000000000000000000000000000000000000000000000", 0),
	    DPK_ERR_TRUNCATED);
	assert_int_equal(decode_err("(uint256,bool)", W("01"), 0), DPK_ERR_TRUNCATED);
	assert_int_equal(decode_err("(bytes)", W("20"), 0), DPK_ERR_TRUNCATED); /* no length word */
	assert_int_equal(decode_err("(uint8[3])", W("01") W("02"), 0), DPK_ERR_TRUNCATED);
	/* offset pointing outside the data, or at its very end */
	assert_int_equal(decode_err("(bytes)", W("60") W0, 0), DPK_ERR_RANGE);
	assert_int_equal(decode_err("(bytes)", W("40") W0, 0), DPK_ERR_TRUNCATED);
	assert_int_equal(decode_err("(bytes)",
	                     "8000000000000000000000000000000000000000000000000000000000000020" W0, 0),
	    DPK_ERR_RANGE);
	assert_int_equal(decode_err("(string)",
	                     "0000000000000000000000000000000000000000000000010000000000000020" W0, 0),
	    DPK_ERR_RANGE);
	/* length overflow: 2^256-1, 2^64, and one more than the data */
	assert_int_equal(decode_err("(bytes)",
	                     W("20") "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff" W0, 0),
	    DPK_ERR_TRUNCATED);
	assert_int_equal(decode_err("(bytes)",
	                     W("20") "0000000000000000000000000000000000000000000000010000000000000000" W0, 0),
	    DPK_ERR_TRUNCATED);
	assert_int_equal(decode_err("(bytes)", W("20") W("21") W0, 0), DPK_ERR_TRUNCATED);
	assert_int_equal(decode_err("(bytes)", W("20") W("20") W0, STRICT), 0);
	/* padding after bytes: dirty or missing only matters in strict mode */
	assert_int_equal(decode_err("(bytes)",
	                     W("20") W("01") "6100000000000000000000000000000000000000000000000000000000000001", STRICT),
	    DPK_ERR_NONCANONICAL);
	assert_int_equal(decode_err("(bytes)",
	                     W("20") W("01") "6100000000000000000000000000000000000000000000000000000000000001", 0),
	    0);
	assert_int_equal(decode_err("(string)", W("20") W("01") "61", DPK_ABI_STRICT), DPK_ERR_TRUNCATED);
	assert_int_equal(decode_err("(string)", W("20") W("01") "61", 0), 0);
	/* array counts: larger than the data can hold, or than 64 bits */
	assert_int_equal(decode_err("(uint256[])", W("20") W("03") W("01") W("02"), 0), DPK_ERR_TRUNCATED);
	assert_int_equal(decode_err("(uint256[])",
	                     W("20") "0000000000000000000000000000000000000000000000010000000000000000", 0),
	    DPK_ERR_TRUNCATED);
	assert_int_equal(decode_err("(uint256[])", W("20") W("02") W("01") W("02"), STRICT), 0);
	/* trailing data */
	assert_int_equal(decode_err("(uint256)", W("01") "00", DPK_ABI_NO_TRAILING), DPK_ERR_TRAILING);
	assert_int_equal(decode_err("(uint256)", W("01") "00", DPK_ABI_STRICT), 0);
	assert_int_equal(decode_err("(uint256)", W("01") W0, DPK_ABI_NO_TRAILING), DPK_ERR_TRAILING);
	assert_int_equal(decode_err("()", "00", DPK_ABI_NO_TRAILING), DPK_ERR_TRAILING);
	assert_int_equal(decode_err("()", "", DPK_ABI_NO_TRAILING), 0);
	/* embedded NUL: kept, counted, and still NUL-terminated */
	{
		struct dpk_buf b;
		struct dpk_abi_value *v = NULL;
		const struct dpk_abi_value *s;
		char *txt;

		unhex(W("20") W("03") "610062" "0000000000000000000000000000000000000000000000000000000000", &b);
		assert_int_equal(b.len, 96);
		assert_int_equal(dpk_abi_decode_text("(string)", b.data, b.len, STRICT, &v), 0);
		s = dpk_abi_value_at(v, 0);
		assert_int_equal(s->kind, DPK_ABI_STRING);
		assert_int_equal(s->u.bytes.len, 3);
		assert_memory_equal(s->u.bytes.p, "a\0b", 4);
		txt = fmt(v);
		assert_string_equal(txt, "(\"a\\x00b\")");
		free(txt);
		dpk_abi_value_free(v);
		dpk_buf_free(&b);
	}
	/* every proper prefix of a valid encoding fails, and nothing leaks */
	{
		struct dpk_buf f;
		struct dpk_abi_type *t = type("(uint256,uint32[],bytes10,bytes)");

		data_line("abi/spec_examples.txt", "f", &f);
		for (size_t n = 4; n < f.len; n++) {
			struct dpk_abi_value *v = NULL;
			int r = dpk_abi_decode(t, f.data + 4, n - 4, DPK_ABI_STRICT, &v);

			if (r != DPK_ERR_TRUNCATED && r != DPK_ERR_RANGE)
				fail_msg("prefix of %zu bytes: %d", n - 4, r);
			assert_null(v);
		}
		dpk_abi_type_free(t);
		dpk_buf_free(&f);
	}
	/* NULL arguments */
	{
		struct dpk_abi_value *v = NULL;

		assert_int_equal(dpk_abi_decode_text("(uint256)", NULL, 32, 0, &v), DPK_ERR_INVALID);
		assert_int_equal(dpk_abi_decode_text(NULL, NULL, 0, 0, &v), DPK_ERR_INVALID);
		assert_int_equal(dpk_abi_decode_text("(uint256)", NULL, 0, 0, NULL), DPK_ERR_INVALID);
	}
}

static void
put_word(struct dpk_buf *b, uint64_t x)
{
	uint8_t w[32] = {0};

	for (int i = 0; i < 8; i++)
		w[31 - i] = (uint8_t)(x >> (8 * i));
	assert_int_equal(dpk_buf_put(b, w, 32), 0);
}

/* Overlapping offsets: K heads all pointing at the same child. */
static void
test_amplification(void **state)
{
	struct dpk_buf b;
	struct dpk_abi_value *v = NULL;
	const size_t K = 50;

	/* uint256[][][] where every level shares one child: 4.9 KB of input
	 * would describe K^3 = 125000 values */
	dpk_buf_init(&b, 1 << 20);
	put_word(&b, 0x20); /* offset of the outer array */
	for (int level = 0; level < 3; level++) {
		put_word(&b, K);
		for (size_t i = 0; i < K; i++)
			put_word(&b, level < 2 ? 32 * K : 0); /* children right after the heads */
	}
	assert_true(b.len < 5000);
	assert_int_equal(dpk_abi_decode_text("(uint256[][][])", b.data, b.len, 0, &v), DPK_ERR_TOOBIG);
	assert_null(v);
	/* the same input read one level shallower is K^2 = 2500 values: fine */
	assert_int_equal(dpk_abi_decode_text("(uint256[][])", b.data, b.len, 0, &v), 0);
	assert_int_equal(dpk_abi_value_at(v, 0)->u.list.n, K);
	dpk_abi_value_free(v);
	dpk_buf_free(&b);

	/* bytes[]: 300 offsets to one 32000-byte string = 9.6 MB of copies from 42 KB */
	dpk_buf_init(&b, 1 << 20);
	put_word(&b, 0x20);
	put_word(&b, 300);
	for (size_t i = 0; i < 300; i++)
		put_word(&b, 32 * 300);
	put_word(&b, 32000);
	{
		uint8_t *p;

		assert_int_equal(dpk_buf_reserve(&b, 32000, &p), 0);
		memset(p, 'A', 32000);
	}
	v = (struct dpk_abi_value *)1;
	assert_int_equal(dpk_abi_decode_text("(bytes[])", b.data, b.len, DPK_ABI_STRICT, &v), DPK_ERR_TOOBIG);
	assert_null(v);
	dpk_buf_free(&b);

	/* an array with more elements than the node cap, all present */
	dpk_buf_init(&b, 4 << 20);
	put_word(&b, 0x20);
	put_word(&b, DPK_ABI_MAX_NODES + 1);
	{
		uint8_t *p;

		assert_int_equal(dpk_buf_reserve(&b, 32 * (DPK_ABI_MAX_NODES + 1), &p), 0);
	}
	v = (struct dpk_abi_value *)1;
	assert_int_equal(dpk_abi_decode_text("(uint8[])", b.data, b.len, STRICT, &v), DPK_ERR_TOOBIG);
	assert_null(v);
	dpk_buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* cross-checks with cast */

struct xcase {
	const char *sig;         /* function signature */
	const char *cast_args[8];
	const struct dpk_abi_value *args;
	size_t nargs;
};

static void
check_with_cast(const struct xcase *c)
{
	struct dpk_buf ours, theirs, out;
	struct dpk_abi_type *t;
	struct dpk_abi_value *v = NULL;
	const char *paren = strchr(c->sig, '(');
	char sig_out[512], *hex, *ours_txt, *cast_txt;
	uint8_t sel[4];
	char *argv[12];
	size_t n = 0;

	/* cast calldata sig args... == dpk_abi_encode_call */
	dpk_buf_init(&ours, 1 << 16);
	assert_int_equal(dpk_abi_encode_call(c->sig, c->args, c->nargs, &ours), 0);
	argv[n++] = (char *)dpk_test_tool("DPK_CAST");
	argv[n++] = (char *)"calldata";
	argv[n++] = (char *)"--";
	argv[n++] = (char *)c->sig;
	for (size_t i = 0; i < 8 && c->cast_args[i] != NULL; i++)
		argv[n++] = (char *)c->cast_args[i];
	argv[n] = NULL;
	if (dpk_test_run(argv, NULL, &theirs) != 0)
		fail_msg("cast calldata %s failed", c->sig);
	dpk_test_chomp(&theirs);
	hex = tohex(ours.data, ours.len);
	assert_string_equal(hex, (const char *)theirs.data);
	free(hex);
	dpk_buf_free(&theirs);

	/* cast sig == dpk_abi_selector */
	assert_int_equal(dpk_abi_selector(c->sig, sel), 0);
	cast(&out, "sig", c->sig, NULL);
	hex = tohex(sel, 4);
	assert_string_equal(hex, (const char *)out.data);
	free(hex);
	dpk_buf_free(&out);

	/* cast abi-encode of the same arguments == our tuple encoding */
	argv[1] = (char *)"abi-encode";
	if (dpk_test_run(argv, NULL, &theirs) != 0)
		fail_msg("cast abi-encode %s failed", c->sig);
	dpk_test_chomp(&theirs);
	hex = tohex(ours.data + 4, ours.len - 4);
	assert_string_equal(hex, (const char *)theirs.data);
	dpk_buf_free(&theirs);

	/* cast abi-decode of our encoding reads back what our decoder reads
	 * (it refuses empty data, so a call without arguments stops here) */
	t = type(paren);
	if (c->nargs == 0) {
		free(hex);
		dpk_abi_type_free(t);
		dpk_buf_free(&ours);
		return;
	}
	assert_int_equal(dpk_abi_decode(t, ours.data + 4, ours.len - 4, STRICT, &v), 0);
	ours_txt = fmt(v);
	snprintf(sig_out, sizeof(sig_out), "x()%s", paren);
	cast(&out, "abi-decode", sig_out, hex, NULL);
	cast_txt = cast_lines_as_tuple(&out);
	assert_string_equal(ours_txt, cast_txt);

	free(hex);
	free(ours_txt);
	free(cast_txt);
	dpk_buf_free(&out);
	dpk_abi_value_free(v);
	dpk_abi_type_free(t);
	dpk_buf_free(&ours);
}

static void
test_cast_crosscheck(void **state)
{
	uint8_t dev[20], id[32], key[65];
	struct dpk_u256 max, wei;

	assert_int_equal(dpk_wallet_address_parse(DPK_TEST_DEV_ADDR, dev), 0);
	for (int i = 0; i < 32; i++)
		id[i] = (uint8_t)(0xa0 + i);
	for (int i = 0; i < 65; i++)
		key[i] = (uint8_t)(i * 7);
	memset(max.be, 0xff, 32);
	assert_int_equal(dpk_u256_from_dec(&wei, "1000000000000000000"), 0);

	struct dpk_abi_value a1[] = {dpk_abi_address(dev), dpk_abi_fixed_bytes(id, 32)};
	struct xcase c1 = {"approveClient(address,bytes32)",
	    {DPK_TEST_DEV_ADDR, "0xa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"}, a1, 2};
	check_with_cast(&c1);

	struct dpk_abi_value pair[] = {dpk_abi_address(dev), dpk_abi_bool(1)};
	struct dpk_abi_value pair2[] = {dpk_abi_address(id), dpk_abi_bool(0)};
	struct dpk_abi_value pairs[] = {dpk_abi_tuple(pair, 2), dpk_abi_tuple(pair2, 2)};
	struct dpk_abi_value a2[] = {dpk_abi_uint256(&wei), dpk_abi_string("h\xc3\xa9llo \"q\" \\"),
	    dpk_abi_array(pairs, 2), dpk_abi_int64(-3), dpk_abi_bytes(key, 65)};
	struct xcase c2 = {"f(uint256,string,(address,bool)[2],int8,bytes)",
	    {"1000000000000000000", "h\xc3\xa9llo \"q\" \\",
	        "[(" DPK_TEST_DEV_ADDR ",true),(0xa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3,false)]", "-3",
	        "0x00070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9e0e7eef5fc030a11181f262d343b424"
	        "950575e656c737a81888f969da4abb2b9c0"},
	    a2, 5};
	(void)c2; /* the string has a non-ASCII byte: cast prints it raw, we escape it; encode-only below */
	{
		/* same encoding check without the formatted comparison */
		struct dpk_buf ours, theirs;
		char *argv[12] = {(char *)dpk_test_tool("DPK_CAST"), (char *)"calldata", (char *)"--",
		    (char *)c2.sig};
		char *hex;
		size_t n = 4;

		for (size_t i = 0; i < 5; i++)
			argv[n++] = (char *)c2.cast_args[i];
		argv[n] = NULL;
		dpk_buf_init(&ours, 1 << 16);
		assert_int_equal(dpk_abi_encode_call(c2.sig, a2, 5, &ours), 0);
		assert_int_equal(dpk_test_run(argv, NULL, &theirs), 0);
		dpk_test_chomp(&theirs);
		hex = tohex(ours.data, ours.len);
		assert_string_equal(hex, (const char *)theirs.data);
		free(hex);
		dpk_buf_free(&ours);
		dpk_buf_free(&theirs);
	}

	struct dpk_abi_value rec1[] = {dpk_abi_uint64(1), dpk_abi_int64(-2)};
	struct dpk_abi_value rec2[] = {dpk_abi_uint64(UINT64_MAX), dpk_abi_int64(INT64_MIN)};
	struct dpk_abi_value recs[] = {dpk_abi_tuple(rec1, 2), dpk_abi_tuple(rec2, 2)};
	struct dpk_abi_value names[] = {dpk_abi_string("a.example"), dpk_abi_string(""),
	    dpk_abi_string("2001:db8::1")};
	struct dpk_abi_value a3[] = {dpk_abi_fixed_bytes(id, 32), dpk_abi_uint64(2), dpk_abi_bytes("", 0),
	    dpk_abi_array(names, 3), dpk_abi_array(recs, 2)};
	struct xcase c3 = {"register(bytes32,uint8,bytes,string[],(uint64,int256)[])",
	    {"0xa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf", "2", "0x",
	        "[\"a.example\",\"\",\"2001:db8::1\"]", "[(1,-2),(18446744073709551615,-9223372036854775808)]"},
	    a3, 5};
	check_with_cast(&c3);

	struct dpk_abi_value b1s[] = {dpk_abi_fixed_bytes("\x01", 1), dpk_abi_fixed_bytes("\xff", 1)};
	struct dpk_abi_value bools[] = {dpk_abi_bool(1), dpk_abi_bool(0), dpk_abi_bool(1)};
	struct dpk_abi_value a4[] = {dpk_abi_uint256(&max), dpk_abi_int64(-8388608), dpk_abi_array(b1s, 2),
	    dpk_abi_array(bools, 3)};
	struct xcase c4 = {"h(uint256,int24,bytes1[],bool[3])",
	    {"115792089237316195423570985008687907853269984665640564039457584007913129639935", "-8388608",
	        "[0x01,0xff]", "[true,false,true]"},
	    a4, 4};
	check_with_cast(&c4);

	struct xcase c5 = {"ping()", {NULL}, NULL, 0};
	check_with_cast(&c5);

	/* nested dynamic tuples */
	struct dpk_abi_value in1[] = {dpk_abi_string("x"), dpk_abi_uint64(7)};
	struct dpk_abi_value in2[] = {dpk_abi_tuple(in1, 2), dpk_abi_bytes("\xde\xad", 2)};
	struct dpk_abi_value in2s[] = {dpk_abi_tuple(in2, 2)};
	struct dpk_abi_value a6[] = {dpk_abi_array(in2s, 1), dpk_abi_tuple(in2, 2)};
	struct xcase c6 = {"n(((string,uint16),bytes)[],((string,uint16),bytes))",
	    {"[((\"x\",7),0xdead)]", "((\"x\",7),0xdead)"}, a6, 2};
	check_with_cast(&c6);
}

/* ------------------------------------------------------------------ */
/* events */

static void
test_events(void **state)
{
	static const char sig[] = "ClientApproved(bytes32 indexed,address indexed,uint64)";
	uint8_t topics[4][32] = {{0}}, dev[20];
	struct dpk_buf out, data;
	struct dpk_abi_value *v = NULL;
	struct dpk_abi_value one = dpk_abi_uint64(1234);
	struct dpk_abi_type *t = type("uint64");
	char *hex, *txt;

	assert_int_equal(dpk_wallet_address_parse(DPK_TEST_DEV_ADDR, dev), 0);
	assert_int_equal(dpk_abi_event_topic(sig, topics[0]), 0);
	cast(&out, "keccak", "ClientApproved(bytes32,address,uint64)", NULL);
	hex = tohex(topics[0], 32);
	assert_string_equal(hex, (const char *)out.data);
	free(hex);
	dpk_buf_free(&out);
	/* ERC-20 Transfer, a topic every explorer shows */
	{
		uint8_t tt[32];

		assert_int_equal(dpk_abi_event_topic("Transfer(address indexed,address indexed,uint256)", tt), 0);
		cast(&out, "sig-event", "Transfer(address indexed from,address indexed to,uint256 value)", NULL);
		hex = tohex(tt, 32);
		assert_string_equal(hex, (const char *)out.data);
		free(hex);
		dpk_buf_free(&out);
	}

	for (int i = 0; i < 32; i++)
		topics[1][i] = (uint8_t)i;
	memset(topics[2], 0, 12);
	memcpy(topics[2] + 12, dev, 20);
	dpk_buf_init(&data, 1024);
	assert_int_equal(dpk_abi_encode(t, &one, &data), 0);
	assert_int_equal(dpk_abi_decode_event(sig, (const uint8_t(*)[32])topics, 3, data.data, data.len, STRICT, &v),
	    0);
	txt = fmt(v);
	assert_string_equal(txt,
	    "(0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f, " DPK_TEST_DEV_ADDR ", 1234)");
	free(txt);
	dpk_abi_value_free(v);

	/* not this event, wrong topic count, dirty address topic, bad data */
	topics[3][0] = 1;
	v = (struct dpk_abi_value *)1;
	assert_int_equal(dpk_abi_decode_event(sig, (const uint8_t(*)[32])topics + 1, 2, data.data, data.len, 0, &v),
	    DPK_ERR_NOTFOUND);
	assert_null(v);
	assert_int_equal(dpk_abi_decode_event(sig, (const uint8_t(*)[32])topics, 2, data.data, data.len, 0, &v),
	    DPK_ERR_TYPE);
	assert_int_equal(dpk_abi_decode_event(sig, (const uint8_t(*)[32])topics, 4, data.data, data.len, 0, &v),
	    DPK_ERR_TYPE);
	topics[2][0] = 1;
	assert_int_equal(dpk_abi_decode_event(sig, (const uint8_t(*)[32])topics, 3, data.data, data.len, 0, &v),
	    DPK_ERR_RANGE);
	topics[2][0] = 0;
	assert_int_equal(dpk_abi_decode_event(sig, (const uint8_t(*)[32])topics, 3, data.data, data.len - 1, 0, &v),
	    DPK_ERR_TRUNCATED);
	{
		static const char bad[] = "Bad(uint256 indexed,uint256 indexed,uint256 indexed,uint256 indexed)";
		uint8_t tb[5][32] = {{0}};

		assert_int_equal(dpk_abi_event_topic(bad, tb[0]), 0);
		assert_int_equal(dpk_abi_decode_event(bad, (const uint8_t(*)[32])tb, 5, NULL, 0, 0, &v),
		    DPK_ERR_INVALID);
	}
	assert_int_equal(dpk_abi_decode_event("NoSpace(uint256  indexed)", (const uint8_t(*)[32])topics, 1, NULL, 0, 0, &v),
	    DPK_ERR_SYNTAX);

	/* an indexed string is only its hash; the data holds the rest */
	{
		static const char s2[] = "Named(string indexed,string,bool)";
		struct dpk_abi_type *t2 = type("(string,bool)");
		struct dpk_abi_value nv[] = {dpk_abi_string("host.example"), dpk_abi_bool(1)};
		struct dpk_abi_value tup = dpk_abi_tuple(nv, 2);
		uint8_t tp[2][32];

		assert_int_equal(dpk_abi_event_topic(s2, tp[0]), 0);
		dpk_keccak256("host.example", 12, tp[1]);
		dpk_buf_reset(&data);
		assert_int_equal(dpk_abi_encode(t2, &tup, &data), 0);
		assert_int_equal(dpk_abi_decode_event(s2, (const uint8_t(*)[32])tp, 2, data.data, data.len, STRICT, &v), 0);
		assert_int_equal(dpk_abi_value_at(v, 0)->kind, DPK_ABI_FIXED_BYTES);
		assert_int_equal(dpk_abi_value_at(v, 0)->u.bytes.len, 32);
		assert_memory_equal(dpk_abi_value_at(v, 0)->u.bytes.p, tp[1], 32);
		assert_int_equal(dpk_abi_value_at(v, 1)->kind, DPK_ABI_STRING);
		assert_string_equal((const char *)dpk_abi_value_at(v, 1)->u.bytes.p, "host.example");
		assert_int_equal(dpk_abi_value_at(v, 2)->u.boolean, 1);
		dpk_abi_value_free(v);
		dpk_abi_type_free(t2);
	}
	dpk_abi_type_free(t);
	dpk_buf_free(&data);
}

/* ------------------------------------------------------------------ */
/* revert data */

static int
revert_hex(const char *hex, const char *const *custom, size_t n, char *out, size_t outsz)
{
	struct dpk_buf b;
	int r;

	unhex(hex, &b);
	r = dpk_abi_decode_revert(b.data, b.len, custom, n, out, outsz);
	dpk_buf_free(&b);
	return r;
}

static void
test_revert(void **state)
{
	static const char *const custom[] = {"NotApproved(bytes32,address)", "TooMany(uint8,int16,string)"};
	struct dpk_buf b, c;
	char out[256];

	/* the Solidity documentation's example */
	data_line("abi/revert_examples.txt", "not_enough_ether", &b);
	assert_int_equal(dpk_abi_decode_revert(b.data, b.len, NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "Not enough Ether provided.");
	/* cut to fit, always terminated */
	assert_int_equal(dpk_abi_decode_revert(b.data, b.len, NULL, 0, out, 11), 0);
	assert_string_equal(out, "Not eno...");
	assert_int_equal(dpk_abi_decode_revert(b.data, b.len, NULL, 0, out, 3), 0);
	assert_string_equal(out, "..");
	assert_int_equal(dpk_abi_decode_revert(b.data, b.len, NULL, 0, out, 0), DPK_ERR_INVALID);
	/* truncated Error(string) */
	assert_int_equal(dpk_abi_decode_revert(b.data, b.len - 32, NULL, 0, out, sizeof(out)), DPK_ERR_TRUNCATED);
	assert_string_equal(out, "malformed Error(string): input is truncated (68 bytes)");
	dpk_buf_free(&b);

	/* a hostile reason cannot reach the terminal as control characters */
	cast(&c, "calldata", "Error(string)", "\x1b]0;owned\x07\x1b[2J\nfake prompt $ \\", NULL);
	assert_int_equal(revert_hex((const char *)c.data, NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "\\x1b]0;owned\\x07\\x1b[2J\\x0afake prompt $ \\\\");
	dpk_buf_free(&c);

	/* panics, built by cast */
	cast(&c, "calldata", "Panic(uint256)", "17", NULL);
	assert_int_equal(revert_hex((const char *)c.data, NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "panic 0x11 (arithmetic overflow)");
	dpk_buf_free(&c);
	cast(&c, "calldata", "Panic(uint256)", "0x32", NULL);
	assert_int_equal(revert_hex((const char *)c.data, NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "panic 0x32 (array index out of bounds)");
	dpk_buf_free(&c);
	cast(&c, "calldata", "Panic(uint256)", "1", NULL);
	assert_int_equal(revert_hex((const char *)c.data, NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "panic 0x01 (assertion failed)");
	dpk_buf_free(&c);
	cast(&c, "calldata", "Panic(uint256)", "0x1000000000000000000", NULL);
	assert_int_equal(revert_hex((const char *)c.data, NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "panic 0x1000000000000000000 (unknown panic code)");
	dpk_buf_free(&c);

	/* custom errors with their arguments */
	cast(&c, "calldata", "NotApproved(bytes32,address)",
	    "0x00000000000000000000000000000000000000000000000000000000000000ab", DPK_TEST_DEV_ADDR, NULL);
	assert_int_equal(revert_hex((const char *)c.data, custom, 2, out, sizeof(out)), 0);
	assert_string_equal(out, "NotApproved(0x00000000000000000000000000000000000000000000000000000000000000ab, "
	                         DPK_TEST_DEV_ADDR ")");
	dpk_buf_free(&c);
	cast(&c, "calldata", "--", "TooMany(uint8,int16,string)", "200", "-300", "a\tb", NULL);
	assert_int_equal(revert_hex((const char *)c.data, custom, 2, out, sizeof(out)), 0);
	assert_string_equal(out, "TooMany(200, -300, \"a\\x09b\")");
	/* ... whose arguments do not decode */
	{
		struct dpk_buf d;

		unhex((const char *)c.data, &d);
		d.len -= 40;
		assert_int_equal(dpk_abi_decode_revert(d.data, d.len, custom, 2, out, sizeof(out)), DPK_ERR_TRUNCATED);
		assert_string_equal(out, "malformed TooMany: input is truncated (124 bytes)");
		dpk_buf_free(&d);
	}
	dpk_buf_free(&c);

	/* unknown, empty, short, bad custom list */
	assert_int_equal(revert_hex("0x12345678" W("01"), custom, 2, out, sizeof(out)), DPK_ERR_NOTFOUND);
	assert_string_equal(out, "unknown error 0x12345678 (36 bytes)");
	assert_int_equal(revert_hex("", NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "reverted without a reason");
	assert_int_equal(revert_hex("0x0102", NULL, 0, out, sizeof(out)), DPK_ERR_TRUNCATED);
	assert_string_equal(out, "malformed revert data (2 bytes)");
	{
		static const char *const bad[] = {"NotASig"};

		assert_int_equal(revert_hex("0x12345678", bad, 1, out, sizeof(out)), DPK_ERR_INVALID);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_examples),
		cmocka_unit_test(test_type_parse),
		cmocka_unit_test(test_type_caps),
		cmocka_unit_test(test_int_ranges),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_amplification),
		cmocka_unit_test(test_cast_crosscheck),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_revert),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
