/* Bounded buffers, hex, 256-bit integers and Keccak-256. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "harness.h"
#include "base/hex.h"
#include "eth/keccak.h"
#include "eth/u256.h"

static void
test_buf_cap(void **state)
{
	struct dpk_buf b;
	uint8_t *p;

	dpk_buf_init(&b, 10);
	assert_int_equal(dpk_buf_put(&b, "0123456789", 10), 0);
	assert_int_equal(dpk_buf_put_u8(&b, 'x'), DPK_ERR_TOOBIG);
	assert_int_equal(b.len, 10);
	assert_int_equal(dpk_buf_reserve(&b, 1, &p), DPK_ERR_TOOBIG);
	assert_int_equal(dpk_buf_cstr(&b), 0);
	assert_string_equal((char *)b.data, "0123456789");
	dpk_buf_reset(&b);
	assert_int_equal(dpk_buf_put(&b, "ab", 2), 0);
	assert_int_equal(dpk_buf_insert(&b, 1, "XY", 2), 0);
	assert_memory_equal(b.data, "aXYb", 4);
	assert_int_equal(dpk_buf_insert(&b, 5, "Z", 1), DPK_ERR_INVALID);
	dpk_buf_free(&b);
	assert_null(b.data);
}

static void
test_cursor(void **state)
{
	static const uint8_t in[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
	struct dpk_cursor c;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	dpk_cursor_init(&c, in, sizeof(in));
	assert_int_equal(dpk_cursor_get_u8(&c, &u8), 0);
	assert_int_equal(u8, 1);
	assert_int_equal(dpk_cursor_get_be16(&c, &u16), 0);
	assert_int_equal(u16, 0x0203);
	assert_int_equal(dpk_cursor_get_be32(&c, &u32), 0);
	assert_int_equal(u32, 0x04050607);
	assert_int_equal(dpk_cursor_done(&c), DPK_ERR_TRAILING);
	const uint8_t *p;
	assert_int_equal(dpk_cursor_take(&c, 9, &p), DPK_ERR_TRUNCATED);
	assert_int_equal(c.len, 8); /* a failed read consumes nothing */
	assert_int_equal(dpk_cursor_get_be64(&c, &u64), 0);
	assert_true(u64 == 0x08090a0b0c0d0e0fULL);
	assert_int_equal(dpk_cursor_done(&c), 0);
}

static void
test_hex(void **state)
{
	uint8_t out[4];
	char txt[24];
	size_t n;
	uint64_t v;

	assert_int_equal(dpk_hex_decode("0xDEADbeef", 10, out, 4, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(dpk_hex_encode(out, 4, 1, txt, sizeof(txt)), 0);
	assert_string_equal(txt, "0xdeadbeef");
	assert_int_equal(dpk_hex_encode(out, 4, 1, txt, 10), DPK_ERR_TOOBIG);
	assert_int_equal(dpk_hex_decode("abc", 3, out, 4, &n), DPK_ERR_SYNTAX);
	assert_int_equal(dpk_hex_decode("zz", 2, out, 4, &n), DPK_ERR_SYNTAX);
	assert_int_equal(dpk_hex_decode("0011223344", 10, out, 4, &n), DPK_ERR_TOOBIG);
	assert_int_equal(dpk_hex_decode_exact("001122", out, 4), DPK_ERR_TRUNCATED);
	/* an embedded NUL ends a C string: the length given is what counts */
	assert_int_equal(dpk_hex_decode("00\0" "1", 4, out, 4, &n), DPK_ERR_SYNTAX);

	assert_int_equal(dpk_hex_quantity_u64("0x0", &v), 0);
	assert_true(v == 0);
	assert_int_equal(dpk_hex_quantity_u64("0xffffffffffffffff", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(dpk_hex_quantity_u64("0x10000000000000000", &v), DPK_ERR_RANGE);
	assert_int_equal(dpk_hex_quantity_u64("0x", &v), DPK_ERR_SYNTAX);
	assert_int_equal(dpk_hex_quantity_u64("12", &v), DPK_ERR_SYNTAX);
	assert_int_equal(dpk_hex_quantity_u64("0x1g", &v), DPK_ERR_SYNTAX);
	dpk_hex_from_u64(0, txt);
	assert_string_equal(txt, "0x0");
	dpk_hex_from_u64(0x7a69, txt);
	assert_string_equal(txt, "0x7a69");
}

static void
test_u256(void **state)
{
	struct dpk_u256 a, b, r;
	char dec[79], q[67];
	uint64_t v;

	assert_int_equal(dpk_u256_from_dec(&a, "1000000000000000000"), 0); /* 1 ether */
	assert_int_equal(dpk_u256_to_u64(&a, &v), 0);
	assert_true(v == 1000000000000000000ULL);
	dpk_u256_to_quantity(&a, q);
	assert_string_equal(q, "0xde0b6b3a7640000");
	assert_int_equal(dpk_u256_mul_u64(&r, &a, 1000000), 0);
	dpk_u256_to_dec(&r, dec);
	assert_string_equal(dec, "1000000000000000000000000");
	assert_int_equal(dpk_u256_to_u64(&r, &v), DPK_ERR_RANGE);
	assert_int_equal(dpk_u256_sub(&b, &r, &a), 0);
	dpk_u256_to_dec(&b, dec);
	assert_string_equal(dec, "999999000000000000000000");
	assert_int_equal(dpk_u256_sub(&b, &a, &r), DPK_ERR_RANGE);
	assert_int_equal(dpk_u256_cmp(&a, &r), -1);

	/* 2^256 - 1 */
	const char *max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
	assert_int_equal(dpk_u256_from_dec(&a, max), 0);
	dpk_u256_to_dec(&a, dec);
	assert_string_equal(dec, max);
	dpk_u256_to_quantity(&a, q);
	assert_int_equal(strlen(q), 66);
	dpk_u256_from_u64(&b, 1);
	assert_int_equal(dpk_u256_add(&r, &a, &b), DPK_ERR_RANGE);
	assert_int_equal(dpk_u256_from_dec(&a,
	    "115792089237316195423570985008687907853269984665640564039457584007913129639936"), DPK_ERR_RANGE);
	assert_int_equal(dpk_u256_from_dec(&a, "12a"), DPK_ERR_SYNTAX);
	assert_int_equal(dpk_u256_from_dec(&a, ""), DPK_ERR_SYNTAX);
	assert_int_equal(dpk_u256_from_quantity(&a, "0x0"), 0);
	assert_true(dpk_u256_is_zero(&a));
	dpk_u256_to_quantity(&a, q);
	assert_string_equal(q, "0x0");
	assert_int_equal(dpk_u256_from_quantity(&a, "0x1" "0000000000000000000000000000000000000000000000000000000000000000"),
	    DPK_ERR_RANGE);
	assert_int_equal(dpk_u256_from_quantity(&a, "0x"), DPK_ERR_SYNTAX);
}

static void
check_digest(const uint8_t *msg, size_t n, const char *want_hex)
{
	uint8_t got[32], want[32];
	struct dpk_keccak k;

	assert_int_equal(dpk_hex_decode_exact(want_hex, want, 32), 0);
	dpk_keccak256(msg, n, got);
	assert_memory_equal(got, want, 32);
	/* the same bytes fed in uneven pieces */
	dpk_keccak_init(&k);
	for (size_t off = 0, step = 1; off < n; off += step, step = step * 2 + 1)
		dpk_keccak_update(&k, msg + off, off + step > n ? n - off : step);
	dpk_keccak_final(&k, got);
	assert_memory_equal(got, want, 32);
}

static void
test_keccak_vectors(void **state)
{
	struct dpk_buf data;
	char *line, *save = NULL;
	int count = 0;

	dpk_test_read_data("keccak.txt", &data);
	for (line = strtok_r((char *)data.data, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char a[128], b[128], digest[128];
		uint8_t msg[512];
		size_t n;

		if (line[0] == '#')
			continue;
		/* three space-separated fields */
		char *f2 = strchr(line, ' '), *f3 = f2 ? strchr(f2 + 1, ' ') : NULL;
		assert_non_null(f3);
		snprintf(a, sizeof(a), "%.*s", (int)(f2 - line), line);
		snprintf(b, sizeof(b), "%.*s", (int)(f3 - f2 - 1), f2 + 1);
		snprintf(digest, sizeof(digest), "%s", f3 + 1);
		if (strcmp(a, "str") == 0) {
			n = strcmp(b, "-") == 0 ? 0 : strlen(b);
			for (size_t i = 0; i < n; i++)
				msg[i] = b[i] == '_' ? ' ' : (uint8_t)b[i];
		} else {
			uint8_t byte;
			char *end;

			n = strtoul(a, &end, 10);
			assert_true(*end == '\0' && n <= sizeof(msg));
			assert_int_equal(dpk_hex_decode_exact(b, &byte, 1), 0);
			memset(msg, byte, n);
		}
		check_digest(msg, n, digest);
		count++;
	}
	assert_int_equal(count, 8);
	dpk_buf_free(&data);
}

/* Cross-check against Foundry's cast for every length around two block sizes. */
static void
test_keccak_cast(void **state)
{
	char *cast = (char *)dpk_test_tool("DPK_CAST");
	uint8_t msg[300];

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 3);
	for (size_t n = 0; n <= 280; n += (n >= 130 && n < 140) || n >= 270 ? 1 : 17) {
		char hex[2 * sizeof(msg) + 3], want[80];
		uint8_t got[32];
		struct dpk_buf out;

		dpk_hex_encode(msg, n, 1, hex, sizeof(hex));
		char *argv[] = {cast, (char *)"keccak", hex, NULL};
		assert_int_equal(dpk_test_run(argv, NULL, &out), 0);
		dpk_test_chomp(&out);
		dpk_keccak256(msg, n, got);
		dpk_hex_encode(got, 32, 1, want, sizeof(want));
		assert_string_equal((char *)out.data, want);
		dpk_buf_free(&out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_cursor),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_u256),
		cmocka_unit_test(test_keccak_vectors),
		cmocka_unit_test(test_keccak_cast),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
