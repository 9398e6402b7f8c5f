/* RLP: the ethereum/tests vectors (tests/data/rlp/, see SOURCES) in both
 * directions, and the decoder's answer to truncated, oversized, too deep,
 * trailing, wrong-type and embedded-NUL input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "base/err.h"
#include "harness.h"
#include "base/hex.h"
#include "eth/rlp.h"
#include "eth/u256.h"

#define BIG_MAX 64 /* bytes; the largest vector integer is 2^256 (33 bytes) */

/* cJSON strings are NUL-terminated, so the vector "\u0000" would read back as
 * an empty string. Before parsing, that escape is rewritten to U+0100, which
 * no vector uses, and json_bytes() maps it back to a 0x00 byte. */
#define NUL_ESCAPE "\\u0000"
#define NUL_STANDIN "\\u0100"
#define NUL_STANDIN_UTF8 "\xc4\x80"

static cJSON *
load_vectors(const char *rel)
{
	struct dpk_buf raw;
	cJSON *root;
	char *p;

	dpk_test_read_data(rel, &raw);
	for (p = (char *)raw.data; (p = strstr(p, NUL_ESCAPE)) != NULL; p += 6)
		memcpy(p, NUL_STANDIN, 6);
	root = cJSON_ParseWithLength((const char *)raw.data, raw.len);
	assert_non_null(root);
	dpk_buf_free(&raw);
	return root;
}

/* Hex text (optional 0x) to bytes; *out is malloc'd, caller frees. */
static size_t
hex_bytes(const char *s, uint8_t **out)
{
	size_t n = strlen(s), got;

	*out = malloc(n / 2 + 1);
	assert_non_null(*out);
	assert_int_equal(dpk_hex_decode(s, n, *out, n / 2 + 1, &got), 0);
	return got;
}

/* A JSON string "in" value as the bytes it stands for. */
static size_t
json_bytes(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	while (*s != '\0') {
		assert_true(n < max);
		if (strncmp(s, NUL_STANDIN_UTF8, 2) == 0) {
			out[n++] = 0;
			s += 2;
		} else {
			out[n++] = (uint8_t)*s++;
		}
	}
	return n;
}

/* "#<decimal>" to minimal big-endian bytes of any size up to BIG_MAX, so the
 * test can also state what a 257-bit vector encodes to. */
static size_t
dec_to_be(const char *dec, uint8_t out[BIG_MAX])
{
	uint8_t acc[BIG_MAX] = {0};
	size_t start = 0;

	assert_true(*dec != '\0');
	for (; *dec != '\0'; dec++) {
		unsigned carry;

		assert_true(*dec >= '0' && *dec <= '9');
		carry = (unsigned)(*dec - '0');
		for (size_t i = BIG_MAX; i-- > 0;) {
			unsigned v = acc[i] * 10u + carry;

			acc[i] = (uint8_t)v;
			carry = v >> 8;
		}
		assert_int_equal(carry, 0);
	}
	while (start < BIG_MAX && acc[start] == 0)
		start++;
	memcpy(out, acc + start, BIG_MAX - start);
	return BIG_MAX - start;
}

static int
is_integral(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9007199254740992.0 &&
	    (double)(uint64_t)v->valuedouble == v->valuedouble;
}

/* Encode a vector's "in" value. */
static void
encode_json(struct dpk_buf *b, const cJSON *v)
{
	if (cJSON_IsNumber(v)) {
		assert_true(is_integral(v));
		assert_int_equal(dpk_rlp_put_u64(b, (uint64_t)v->valuedouble), 0);
	} else if (cJSON_IsString(v) && v->valuestring[0] == '#') {
		struct dpk_u256 u;
		uint8_t be[BIG_MAX];
		size_t n = dec_to_be(v->valuestring + 1, be);

		if (dpk_u256_from_dec(&u, v->valuestring + 1) == 0)
			assert_int_equal(dpk_rlp_put_u256(b, &u), 0);
		else /* wider than 256 bits: encode the integer's bytes directly */
			assert_int_equal(dpk_rlp_put_bytes(b, be, n), 0);
	} else if (cJSON_IsString(v) && strncmp(v->valuestring, "0x", 2) == 0) {
		uint8_t *bytes;
		size_t n = hex_bytes(v->valuestring, &bytes);

		assert_int_equal(dpk_rlp_put_bytes(b, bytes, n), 0);
		free(bytes);
	} else if (cJSON_IsString(v)) {
		uint8_t s[2048];
		size_t n = json_bytes(v->valuestring, s, sizeof(s));

		assert_int_equal(dpk_rlp_put_bytes(b, s, n), 0);
	} else {
		const cJSON *e;
		size_t mark;

		assert_true(cJSON_IsArray(v));
		assert_int_equal(dpk_rlp_list_begin(b, &mark), 0);
		cJSON_ArrayForEach(e, v)
			encode_json(b, e);
		assert_int_equal(dpk_rlp_list_end(b, mark), 0);
	}
}

/* Check a decoded item against a vector's "in" value. */
static void
compare_json(const struct dpk_rlp_item *it, const cJSON *v)
{
	if (cJSON_IsNumber(v)) {
		uint64_t x;

		assert_int_equal(dpk_rlp_get_u64(it, &x), 0);
		assert_true(x == (uint64_t)v->valuedouble);
	} else if (cJSON_IsString(v) && v->valuestring[0] == '#') {
		struct dpk_u256 got, want;
		uint8_t be[BIG_MAX];
		size_t n = dec_to_be(v->valuestring + 1, be);

		assert_false(it->is_list);
		assert_int_equal(it->len, n);
		assert_memory_equal(it->p, be, n);
		if (dpk_u256_from_dec(&want, v->valuestring + 1) == 0) {
			assert_int_equal(dpk_rlp_get_u256(it, &got), 0);
			assert_memory_equal(got.be, want.be, 32);
		} else {
			assert_int_equal(dpk_rlp_get_u256(it, &got), DPK_ERR_RANGE);
		}
	} else if (cJSON_IsString(v)) {
		uint8_t s[2048], *hex = NULL;
		size_t n;

		if (strncmp(v->valuestring, "0x", 2) == 0)
			n = hex_bytes(v->valuestring, &hex);
		else
			n = json_bytes(v->valuestring, s, sizeof(s));
		assert_false(it->is_list);
		assert_int_equal(it->len, n);
		if (n > 0)
			assert_memory_equal(it->p, hex != NULL ? hex : s, n);
		free(hex);
	} else {
		struct dpk_cursor c;
		struct dpk_rlp_item sub;
		const cJSON *e;

		assert_true(it->is_list);
		dpk_cursor_init(&c, it->p, it->len);
		cJSON_ArrayForEach(e, v) {
			assert_int_equal(dpk_rlp_next(&c, &sub), 0);
			compare_json(&sub, e);
		}
		assert_int_equal(dpk_cursor_done(&c), 0);
	}
}

/* At the stored commit "listofbinaries" has a list header (f8a7: 167 bytes)
 * that covers only its first four items; the other 153 items follow the list
 * in "out". So the honest assertions are: our encoding carries the very same
 * payload bytes under the correct header, and the decoder refuses "out". */
static void
check_listofbinaries(const cJSON *in, const uint8_t *out, size_t outlen, const struct dpk_buf *enc)
{
	struct dpk_cursor c;
	struct dpk_rlp_item top, sub;
	uint8_t hdr[3];
	size_t n = 0, items = (size_t)cJSON_GetArraySize(in);

	assert_int_equal(items, 157);
	assert_true(outlen == 2 + 167 + 153);
	assert_int_equal(dpk_rlp_decode(out, outlen, DPK_RLP_MAX_DEPTH, &top), DPK_ERR_TRAILING);
	/* ours: f9 0140 (320 bytes) followed by exactly the bytes after "out"'s header */
	hdr[0] = 0xf9;
	hdr[1] = 0x01;
	hdr[2] = 0x40;
	assert_int_equal(enc->len, 3 + 320);
	assert_memory_equal(enc->data, hdr, 3);
	assert_memory_equal(enc->data + 3, out + 2, 320);
	/* and what "out"'s own list holds is the first four "in" items */
	dpk_cursor_init(&c, out, outlen);
	assert_int_equal(dpk_rlp_next(&c, &top), 0);
	dpk_cursor_init(&c, top.p, top.len);
	while (c.len > 0) {
		assert_int_equal(dpk_rlp_next(&c, &sub), 0);
		compare_json(&sub, cJSON_GetArrayItem(in, (int)n++));
	}
	assert_int_equal(n, 4);
}

static void
test_vectors_valid(void **state)
{
	cJSON *root = load_vectors("rlp/rlptest.json"), *t;
	int count = 0;

	cJSON_ArrayForEach(t, root) {
		const cJSON *in = cJSON_GetObjectItemCaseSensitive(t, "in");
		const cJSON *out = cJSON_GetObjectItemCaseSensitive(t, "out");
		struct dpk_rlp_item item;
		struct dpk_buf enc;
		uint8_t *want;
		size_t n;

		assert_non_null(in);
		assert_true(cJSON_IsString(out));
		print_message("rlptest %s\n", t->string);
		n = hex_bytes(out->valuestring, &want);
		dpk_buf_init(&enc, 1 << 20);
		encode_json(&enc, in);
		if (strcmp(t->string, "listofbinaries") == 0) {
			check_listofbinaries(in, want, n, &enc);
		} else {
			assert_int_equal(enc.len, n);
			assert_memory_equal(enc.data, want, n);
			assert_int_equal(dpk_rlp_decode(want, n, DPK_RLP_MAX_DEPTH, &item), 0);
			compare_json(&item, in);
		}
		dpk_buf_free(&enc);
		free(want);
		count++;
	}
	assert_int_equal(count, 29);
	cJSON_Delete(root);
}

/* Every invalid vector, with the error a reader of the spec expects. */
static const struct {
	const char *name;
	int err;
} invalid_expect[] = {
	{"int32Overflow", DPK_ERR_TRUNCATED},      /* 8-byte length far past the input */
	{"int32Overflow2", DPK_ERR_TRUNCATED},
	{"wrongSizeList", DPK_ERR_NONCANONICAL},   /* long form (f8 01) for length 1 */
	{"wrongSizeList2", DPK_ERR_NONCANONICAL},
	{"incorrectLengthInArray", DPK_ERR_NONCANONICAL}, /* length 0x0021 */
	{"randomRLP", DPK_ERR_NONCANONICAL},       /* nested b9 0021 */
	{"bytesShouldBeSingleByte00", DPK_ERR_NONCANONICAL},
	{"bytesShouldBeSingleByte01", DPK_ERR_NONCANONICAL},
	{"bytesShouldBeSingleByte7F", DPK_ERR_NONCANONICAL},
	{"leadingZerosInLongLengthArray1", DPK_ERR_NONCANONICAL},
	{"leadingZerosInLongLengthArray2", DPK_ERR_NONCANONICAL},
	{"leadingZerosInLongLengthList1", DPK_ERR_NONCANONICAL},
	{"leadingZerosInLongLengthList2", DPK_ERR_NONCANONICAL},
	{"nonOptimalLongLengthArray1", DPK_ERR_NONCANONICAL},
	{"nonOptimalLongLengthArray2", DPK_ERR_NONCANONICAL},
	{"nonOptimalLongLengthList1", DPK_ERR_NONCANONICAL},
	{"nonOptimalLongLengthList2", DPK_ERR_NONCANONICAL},
};

static void
test_vectors_invalid(void **state)
{
	cJSON *root = load_vectors("rlp/invalidRLPTest.json"), *t;
	int count = 0;

	cJSON_ArrayForEach(t, root) {
		const cJSON *out = cJSON_GetObjectItemCaseSensitive(t, "out");
		struct dpk_rlp_item item;
		uint8_t *bytes;
		size_t n, i;
		int found = 0;

		assert_true(cJSON_IsString(out));
		print_message("invalidRLPTest %s\n", t->string);
		n = hex_bytes(out->valuestring, &bytes);
		for (i = 0; i < sizeof(invalid_expect) / sizeof(invalid_expect[0]); i++) {
			if (strcmp(invalid_expect[i].name, t->string) == 0) {
				assert_int_equal(dpk_rlp_decode(bytes, n, DPK_RLP_MAX_DEPTH, &item),
				    invalid_expect[i].err);
				found = 1;
			}
		}
		assert_true(found); /* a new vector needs its expected error here */
		free(bytes);
		count++;
	}
	assert_int_equal(count, 17);
	cJSON_Delete(root);
}


/* Decode hex text; the bytes stay in a static buffer so that the item, which
 * points into them, stays valid until the next call. */
static int
decode_hex(const char *hex, size_t max_depth, struct dpk_rlp_item *it)
{
	static uint8_t in[512];
	size_t n;

	assert_int_equal(dpk_hex_decode(hex, strlen(hex), in, sizeof(in), &n), 0);
	return dpk_rlp_decode(in, n, max_depth, it);
}

static void
expect_hex(const struct dpk_buf *b, const char *hex)
{
	uint8_t *want;
	size_t n = hex_bytes(hex, &want);

	assert_int_equal(b->len, n);
	assert_memory_equal(b->data, want, n);
	free(want);
}

static void
test_encode_boundaries(void **state)
{
	static const uint8_t b00 = 0x00, b7f = 0x7f, b80 = 0x80;
	uint8_t s[300];
	struct dpk_buf b;
	struct dpk_u256 u;
	size_t m1, m2;

	memset(s, 'x', sizeof(s));
	dpk_buf_init(&b, 1024);
	assert_int_equal(dpk_rlp_put_bytes(&b, s, 55), 0);
	assert_int_equal(b.len, 56);
	assert_int_equal(b.data[0], 0xb7);
	dpk_buf_reset(&b);
	assert_int_equal(dpk_rlp_put_bytes(&b, s, 56), 0);
	assert_int_equal(b.len, 58);
	assert_int_equal(b.data[0], 0xb8);
	assert_int_equal(b.data[1], 56);
	dpk_buf_reset(&b);
	assert_int_equal(dpk_rlp_put_bytes(&b, s, 256), 0);
	assert_int_equal(b.len, 259);
	assert_int_equal(b.data[0], 0xb9);
	assert_int_equal(b.data[1], 0x01);
	assert_int_equal(b.data[2], 0x00);

	dpk_buf_reset(&b);
	assert_int_equal(dpk_rlp_put_bytes(&b, NULL, 0), 0);
	assert_int_equal(dpk_rlp_put_bytes(&b, &b00, 1), 0);
	assert_int_equal(dpk_rlp_put_bytes(&b, &b7f, 1), 0);
	assert_int_equal(dpk_rlp_put_bytes(&b, &b80, 1), 0);
	expect_hex(&b, "80007f8180");

	dpk_buf_reset(&b);
	assert_int_equal(dpk_rlp_put_u64(&b, 0), 0);
	assert_int_equal(dpk_rlp_put_u64(&b, 127), 0);
	assert_int_equal(dpk_rlp_put_u64(&b, 128), 0);
	assert_int_equal(dpk_rlp_put_u64(&b, 0x0100), 0);
	assert_int_equal(dpk_rlp_put_u64(&b, UINT64_MAX), 0);
	dpk_u256_from_u64(&u, 0);
	assert_int_equal(dpk_rlp_put_u256(&b, &u), 0);
	dpk_u256_from_u64(&u, 0x0400);
	assert_int_equal(dpk_rlp_put_u256(&b, &u), 0);
	expect_hex(&b, "807f8180820100" "88ffffffffffffffff" "80" "820400");

	/* list payloads of 55 and 56 bytes, and nesting */
	dpk_buf_reset(&b);
	assert_int_equal(dpk_rlp_list_begin(&b, &m1), 0);
	assert_int_equal(dpk_rlp_put_bytes(&b, s, 53), 0);
	assert_int_equal(dpk_rlp_put_raw(&b, "\xc0", 1), 0);
	assert_int_equal(dpk_rlp_list_end(&b, m1), 0);
	assert_int_equal(b.len, 56);
	assert_int_equal(b.data[0], 0xf7);
	dpk_buf_reset(&b);
	assert_int_equal(dpk_rlp_list_begin(&b, &m1), 0);
	assert_int_equal(dpk_rlp_put_bytes(&b, s, 53), 0);
	assert_int_equal(dpk_rlp_list_begin(&b, &m2), 0);
	assert_int_equal(dpk_rlp_put_u64(&b, 1), 0);
	assert_int_equal(dpk_rlp_list_end(&b, m2), 0);
	assert_int_equal(dpk_rlp_list_end(&b, m1), 0);
	assert_int_equal(b.len, 58);
	assert_int_equal(b.data[0], 0xf8);
	assert_int_equal(b.data[1], 56);
	assert_int_equal(b.data[56], 0xc1);
	assert_int_equal(b.data[57], 0x01);
	assert_int_equal(dpk_rlp_list_end(&b, b.len + 1), DPK_ERR_INVALID);
	dpk_buf_free(&b);
}

/* The encoder respects the buffer's cap and leaves it unchanged on failure. */
static void
test_encode_cap(void **state)
{
	uint8_t s[64];
	struct dpk_buf b;
	size_t mark;

	memset(s, 'y', sizeof(s));
	dpk_buf_init(&b, 3);
	assert_int_equal(dpk_rlp_put_bytes(&b, "dog", 3), DPK_ERR_TOOBIG);
	assert_int_equal(b.len, 0);
	dpk_buf_free(&b);

	dpk_buf_init(&b, 57); /* room for the 2-byte header, not the 56-byte payload */
	assert_int_equal(dpk_rlp_put_bytes(&b, s, 56), DPK_ERR_TOOBIG);
	assert_int_equal(b.len, 0);
	assert_int_equal(dpk_rlp_list_begin(&b, &mark), 0);
	assert_int_equal(dpk_rlp_put_bytes(&b, s, 54), 0); /* b6 + 54 bytes */
	assert_int_equal(b.len, 55);
	assert_int_equal(dpk_rlp_list_end(&b, mark), 0); /* f7 in front: 56 */
	assert_int_equal(b.len, 56);
	assert_int_equal(b.data[0], 0xf7);
	assert_int_equal(dpk_rlp_list_begin(&b, &mark), 0);
	assert_int_equal(dpk_rlp_put_u64(&b, 1), 0); /* 57: full */
	assert_int_equal(dpk_rlp_list_end(&b, mark), DPK_ERR_TOOBIG);
	assert_int_equal(b.len, 57);
	assert_int_equal(dpk_rlp_put_u64(&b, 1), DPK_ERR_TOOBIG);
	assert_int_equal(b.len, 57);
	dpk_buf_free(&b);
}

static void
test_truncated(void **state)
{
	struct dpk_rlp_item it;
	struct dpk_buf b;
	size_t m1, m2;

	assert_int_equal(dpk_rlp_decode(NULL, 0, DPK_RLP_MAX_DEPTH, &it), DPK_ERR_TRUNCATED);
	assert_int_equal(decode_hex("83646f", DPK_RLP_MAX_DEPTH, &it), DPK_ERR_TRUNCATED);
	assert_int_equal(decode_hex("b8", DPK_RLP_MAX_DEPTH, &it), DPK_ERR_TRUNCATED);
	assert_int_equal(decode_hex("b901", DPK_RLP_MAX_DEPTH, &it), DPK_ERR_TRUNCATED);
	assert_int_equal(decode_hex("b90100ff", DPK_RLP_MAX_DEPTH, &it), DPK_ERR_TRUNCATED);
	assert_int_equal(decode_hex("c201", DPK_RLP_MAX_DEPTH, &it), DPK_ERR_TRUNCATED);
	assert_int_equal(decode_hex("81", DPK_RLP_MAX_DEPTH, &it), DPK_ERR_TRUNCATED);
	/* a child that runs past the end of its list, though not past the input */
	assert_int_equal(decode_hex("c1820102", DPK_RLP_MAX_DEPTH, &it), DPK_ERR_TRUNCATED);
	assert_int_equal(decode_hex("c2c20102", DPK_RLP_MAX_DEPTH, &it), DPK_ERR_TRUNCATED);
	assert_int_equal(decode_hex("c3c2010203", DPK_RLP_MAX_DEPTH, &it), DPK_ERR_TRAILING);

	/* every proper prefix of a valid nested encoding */
	dpk_buf_init(&b, 4096);
	assert_int_equal(dpk_rlp_list_begin(&b, &m1), 0);
	assert_int_equal(dpk_rlp_put_bytes(&b, "a longer string of more than 55 bytes, to use the long form", 59), 0);
	assert_int_equal(dpk_rlp_list_begin(&b, &m2), 0);
	assert_int_equal(dpk_rlp_put_u64(&b, 1000), 0);
	assert_int_equal(dpk_rlp_put_bytes(&b, "", 0), 0);
	assert_int_equal(dpk_rlp_list_end(&b, m2), 0);
	assert_int_equal(dpk_rlp_list_end(&b, m1), 0);
	assert_int_equal(dpk_rlp_decode(b.data, b.len, DPK_RLP_MAX_DEPTH, &it), 0);
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(dpk_rlp_decode(b.data, n, DPK_RLP_MAX_DEPTH, &it), DPK_ERR_TRUNCATED);
	dpk_buf_free(&b);
}

/* Lengths that no input can back: the check is against the bytes left, so
 * nothing is read or added out of range. */
static void
test_oversized(void **state)
{
	struct dpk_rlp_item it;

	assert_int_equal(decode_hex("bfffffffffffffffff", DPK_RLP_MAX_DEPTH, &it), DPK_ERR_TRUNCATED);
	assert_int_equal(decode_hex("ffffffffffffffffff00", DPK_RLP_MAX_DEPTH, &it), DPK_ERR_TRUNCATED);
	assert_int_equal(decode_hex("bf80000000000000000000", DPK_RLP_MAX_DEPTH, &it), DPK_ERR_TRUNCATED);
	/* inside a list: the child's huge length is checked against the list */
	assert_int_equal(decode_hex("ca" "bfffffffffffffffff" "00", DPK_RLP_MAX_DEPTH, &it),
	    DPK_ERR_TRUNCATED);
#if SIZE_MAX < UINT64_MAX
	assert_int_equal(decode_hex("bf0100000000000000", DPK_RLP_MAX_DEPTH, &it), DPK_ERR_TOOBIG);
#endif
}

/* k lists nested in one another around an empty list (k + 1 levels). */
static void
nested_lists(struct dpk_buf *b, size_t k)
{
	size_t *marks = calloc(k + 1, sizeof(*marks));

	assert_non_null(marks);
	for (size_t i = 0; i <= k; i++)
		assert_int_equal(dpk_rlp_list_begin(b, &marks[i]), 0);
	for (size_t i = k + 1; i-- > 0;)
		assert_int_equal(dpk_rlp_list_end(b, marks[i]), 0);
	free(marks);
}

static void
test_depth(void **state)
{
	struct dpk_rlp_item it;
	struct dpk_buf b;

	dpk_buf_init(&b, 1 << 20);
	nested_lists(&b, DPK_RLP_MAX_DEPTH - 1); /* exactly DPK_RLP_MAX_DEPTH levels */
	assert_int_equal(dpk_rlp_decode(b.data, b.len, DPK_RLP_MAX_DEPTH, &it), 0);
	assert_int_equal(dpk_rlp_decode(b.data, b.len, DPK_RLP_MAX_DEPTH - 1, &it), DPK_ERR_DEPTH);
	dpk_buf_reset(&b);
	nested_lists(&b, DPK_RLP_MAX_DEPTH);
	assert_int_equal(dpk_rlp_decode(b.data, b.len, DPK_RLP_MAX_DEPTH, &it), DPK_ERR_DEPTH);
	assert_int_equal(dpk_rlp_decode(b.data, b.len, DPK_RLP_MAX_DEPTH + 1, &it), 0);

	/* strings do not count as a level */
	assert_int_equal(decode_hex("c3c28080", 2, &it), 0);
	assert_int_equal(decode_hex("c3c28080", 1, &it), DPK_ERR_DEPTH);
	assert_int_equal(decode_hex("c0", 0, &it), DPK_ERR_DEPTH);
	assert_int_equal(decode_hex("80", 0, &it), 0);
	assert_int_equal(decode_hex("c0", DPK_RLP_DEPTH_LIMIT + 1, &it), DPK_ERR_INVALID);

	/* far deeper than any limit: refused without recursion */
	dpk_buf_reset(&b);
	nested_lists(&b, 5000);
	assert_int_equal(dpk_rlp_decode(b.data, b.len, DPK_RLP_DEPTH_LIMIT, &it), DPK_ERR_DEPTH);
	dpk_buf_free(&b);
}

static void
test_trailing(void **state)
{
	struct dpk_rlp_item it = {0};

	assert_int_equal(decode_hex("8000", DPK_RLP_MAX_DEPTH, &it), DPK_ERR_TRAILING);
	assert_int_equal(decode_hex("c0c0", DPK_RLP_MAX_DEPTH, &it), DPK_ERR_TRAILING);
	assert_int_equal(decode_hex("0102", DPK_RLP_MAX_DEPTH, &it), DPK_ERR_TRAILING);
	assert_int_equal(decode_hex("83646f6700", DPK_RLP_MAX_DEPTH, &it), DPK_ERR_TRAILING);
	assert_null(it.p); /* nothing written on failure */
}

static void
test_getters(void **state)
{
	struct dpk_rlp_item it;
	struct dpk_u256 u;
	uint64_t v;
	uint8_t out[4];

	assert_int_equal(decode_hex("c0", DPK_RLP_MAX_DEPTH, &it), 0);
	assert_int_equal(dpk_rlp_get_u64(&it, &v), DPK_ERR_TYPE);
	assert_int_equal(dpk_rlp_get_u256(&it, &u), DPK_ERR_TYPE);
	assert_int_equal(dpk_rlp_get_fixed(&it, out, 0), DPK_ERR_TYPE);

	assert_int_equal(decode_hex("83646f67", DPK_RLP_MAX_DEPTH, &it), 0);
	assert_int_equal(dpk_rlp_get_fixed(&it, out, 4), DPK_ERR_INVALID);
	assert_int_equal(dpk_rlp_get_fixed(&it, out, 2), DPK_ERR_INVALID);
	assert_int_equal(dpk_rlp_get_fixed(&it, out, 3), 0);
	assert_memory_equal(out, "dog", 3);

	/* integers: the empty string is zero; leading zero bytes are refused */
	assert_int_equal(decode_hex("80", DPK_RLP_MAX_DEPTH, &it), 0);
	assert_int_equal(dpk_rlp_get_u64(&it, &v), 0);
	assert_true(v == 0);
	assert_int_equal(decode_hex("00", DPK_RLP_MAX_DEPTH, &it), 0);
	assert_int_equal(dpk_rlp_get_u64(&it, &v), DPK_ERR_NONCANONICAL);
	assert_int_equal(dpk_rlp_get_u256(&it, &u), DPK_ERR_NONCANONICAL);
	assert_int_equal(decode_hex("820001", DPK_RLP_MAX_DEPTH, &it), 0);
	assert_int_equal(dpk_rlp_get_u64(&it, &v), DPK_ERR_NONCANONICAL);
	assert_int_equal(decode_hex("88ffffffffffffffff", DPK_RLP_MAX_DEPTH, &it), 0);
	assert_int_equal(dpk_rlp_get_u64(&it, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(decode_hex("89010000000000000000", DPK_RLP_MAX_DEPTH, &it), 0);
	assert_int_equal(dpk_rlp_get_u64(&it, &v), DPK_ERR_RANGE);
	assert_int_equal(dpk_rlp_get_u256(&it, &u), 0);
	assert_int_equal(u.be[23], 1);
	assert_int_equal(decode_hex("a0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	    DPK_RLP_MAX_DEPTH, &it), 0);
	assert_int_equal(dpk_rlp_get_u256(&it, &u), 0);
	assert_int_equal(u.be[0], 0xff);
	assert_int_equal(u.be[31], 0xff);
	assert_int_equal(decode_hex("a1010000000000000000000000000000000000000000000000000000000000000000",
	    DPK_RLP_MAX_DEPTH, &it), 0);
	assert_int_equal(dpk_rlp_get_u256(&it, &u), DPK_ERR_RANGE);
}

/* NUL is an ordinary byte in RLP: nothing stops at it. */
static void
test_embedded_nul(void **state)
{
	struct dpk_rlp_item it, sub;
	struct dpk_cursor c;
	struct dpk_buf b;

	dpk_buf_init(&b, 64);
	assert_int_equal(dpk_rlp_put_bytes(&b, "a\0b", 3), 0);
	expect_hex(&b, "83610062");
	assert_int_equal(dpk_rlp_decode(b.data, b.len, 0, &it), 0);
	assert_int_equal(it.len, 3);
	assert_memory_equal(it.p, "a\0b", 3);
	dpk_buf_free(&b);

	assert_int_equal(decode_hex("c400830000ff", DPK_RLP_MAX_DEPTH, &it), DPK_ERR_TRUNCATED);
	assert_int_equal(decode_hex("c50083000000", DPK_RLP_MAX_DEPTH, &it), 0);
	dpk_cursor_init(&c, it.p, it.len);
	assert_int_equal(dpk_rlp_next(&c, &sub), 0);
	assert_int_equal(sub.len, 1);
	assert_int_equal(sub.p[0], 0);
	assert_int_equal(dpk_rlp_next(&c, &sub), 0);
	assert_int_equal(sub.len, 3);
	assert_memory_equal(sub.p, "\0\0\0", 3);
	assert_int_equal(dpk_cursor_done(&c), 0);
}

/* dpk_rlp_next reads one item at a time and consumes nothing on failure. */
static void
test_next(void **state)
{
	static const uint8_t in[] = {0x83, 'd', 'o', 'g', 0xc0, 0x05, 0x81, 0x05};
	struct dpk_rlp_item it;
	struct dpk_cursor c;

	dpk_cursor_init(&c, in, sizeof(in));
	assert_int_equal(dpk_rlp_next(&c, &it), 0);
	assert_false(it.is_list);
	assert_int_equal(it.len, 3);
	assert_int_equal(dpk_rlp_next(&c, &it), 0);
	assert_true(it.is_list);
	assert_int_equal(it.len, 0);
	assert_int_equal(dpk_rlp_next(&c, &it), 0);
	assert_int_equal(it.len, 1);
	assert_int_equal(it.p[0], 5);
	assert_int_equal(dpk_rlp_next(&c, &it), DPK_ERR_NONCANONICAL);
	assert_int_equal(c.len, 2);
	assert_int_equal(dpk_cursor_done(&c), DPK_ERR_TRAILING);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_valid),
		cmocka_unit_test(test_vectors_invalid),
		cmocka_unit_test(test_encode_boundaries),
		cmocka_unit_test(test_encode_cap),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_getters),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_next),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
