/* DPK identities: text forms in, canonical bytes and identity hashes out.
 * IPv6 and UUID texts come from RFC 5952 section 4 and RFC 9562 / RFC 4122
 * (tests/data/identity/SOURCES); hashes are cross-checked with cast keccak. */
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
#include "registry/identity.h"

static int
parse(const char *text, struct dpk_identity *id)
{
	return dpk_identity_parse(text, strlen(text), id);
}

/* Parses text, expects kind and canonical value hex, and that formatting
 * gives want_text back. */
static void
expect_identity(const char *text, uint8_t kind, const char *value_hex, const char *want_text)
{
	struct dpk_identity id;
	char hex[2 * DPK_IDENTITY_VALUE_MAX + 3];
	char out[DPK_IDENTITY_FORMAT_SIZE];

	assert_int_equal(parse(text, &id), 0);
	assert_int_equal(id.kind, kind);
	assert_int_equal(dpk_hex_encode(id.value, id.len, 0, hex, sizeof(hex)), 0);
	assert_string_equal(hex, value_hex);
	assert_int_equal(dpk_identity_format(&id, out, sizeof(out)), 0);
	assert_string_equal(out, want_text);

	struct dpk_identity again;
	assert_int_equal(parse(out, &again), 0);
	assert_int_equal(again.kind, id.kind);
	assert_int_equal(again.len, id.len);
	assert_memory_equal(again.value, id.value, id.len);
}

static void
expect_reject(const char *text, int err)
{
	struct dpk_identity id;

	memset(&id, 0xAA, sizeof(id));
	assert_int_equal(parse(text, &id), err);
	assert_int_equal(id.kind, 0); /* zeroed on error */
	assert_int_equal(id.len, 0);
}

static void
test_domain(void **state)
{
	/* "example.com" */
	expect_identity("Example.COM", DPK_IDENTITY_DOMAIN, "6578616d706c652e636f6d", "example.com");
	expect_identity("example.com.", DPK_IDENTITY_DOMAIN, "6578616d706c652e636f6d", "example.com");
	expect_identity("localhost", DPK_IDENTITY_DOMAIN, "6c6f63616c686f7374", "localhost");
	expect_identity("XN--Bcher-KVA.example", DPK_IDENTITY_DOMAIN,
	    "786e2d2d62636865722d6b76612e6578616d706c65", "xn--bcher-kva.example");
	/* a dotted name with a non-numeric last label is a domain, not an address */
	expect_identity("1.2.3.4a", DPK_IDENTITY_DOMAIN, "312e322e332e3461", "1.2.3.4a");
	expect_identity("a-b.c0", DPK_IDENTITY_DOMAIN, "612d622e6330", "a-b.c0");
}

static void
test_domain_limits(void **state)
{
	char name[300];
	struct dpk_identity id;

	/* a 63-byte label is the longest */
	memset(name, 'a', 63);
	memcpy(name + 63, ".io", 4);
	assert_int_equal(parse(name, &id), 0);
	assert_int_equal(id.len, 66);
	memset(name, 'a', 64);
	memcpy(name + 64, ".io", 4);
	expect_reject(name, DPK_ERR_TOOBIG);

	/* 253 bytes in all: 3 x (63 + '.') + 61 */
	for (int i = 0; i < 4; i++) {
		memset(name + 64 * i, 'b', 63);
		name[64 * i + 63] = '.';
	}
	name[253] = '\0';
	name[252] = 'z';
	assert_int_equal(parse(name, &id), 0);
	assert_int_equal(id.len, 253);
	name[253] = '.'; /* the absolute form of the same name */
	name[254] = '\0';
	assert_int_equal(parse(name, &id), 0);
	assert_int_equal(id.len, 253);
	name[253] = 'z'; /* 254 bytes of name */
	expect_reject(name, DPK_ERR_TOOBIG);
	memset(name, 'c', 299);
	name[299] = '\0';
	expect_reject(name, DPK_ERR_TOOBIG);
}

static void
test_domain_reject(void **state)
{
	static const char *const bad[] = {
		"", ".", "..", "a..b", ".example.com", "example.com..", "-a.com", "a-.com", "a.-b.com",
		"a_b.com", "exa mple.com", "example.com/", "b\xc3\xbc\x63her.de", "example.123", "1.2.3.04x.5",
		"*.example.com", "example.com\n", "a.b.c.d.e.f.1",
	};
	struct dpk_identity id;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* "1.2.3.04x.5" and friends end in a numeric label: never a domain */
		int r = parse(bad[i], &id);
		if (r != DPK_ERR_SYNTAX)
			fail_msg("\"%s\": got %d, want DPK_ERR_SYNTAX", bad[i], r);
	}
	/* an embedded NUL is never cut short into a shorter valid name */
	assert_int_equal(dpk_identity_parse("example.com\0evil", 16, &id), DPK_ERR_SYNTAX);
	assert_int_equal(dpk_identity_parse("example.com\0", 12, &id), DPK_ERR_SYNTAX);
	assert_int_equal(dpk_identity_parse_kind(DPK_IDENTITY_DOMAIN, "1.2.3.4", 7, &id), DPK_ERR_SYNTAX);
}

static void
test_ipv4(void **state)
{
	expect_identity("192.0.2.1", DPK_IDENTITY_IPV4, "c0000201", "192.0.2.1");
	expect_identity("0.0.0.0", DPK_IDENTITY_IPV4, "00000000", "0.0.0.0");
	expect_identity("255.255.255.255", DPK_IDENTITY_IPV4, "ffffffff", "255.255.255.255");
	/* truncated, oversized, leading zeros (octal on some systems), trailing garbage */
	expect_reject("192.0.2", DPK_ERR_SYNTAX);
	expect_reject("192.0.2.256", DPK_ERR_SYNTAX);
	expect_reject("192.0.02.1", DPK_ERR_SYNTAX);
	expect_reject("192.0.2.1.", DPK_ERR_SYNTAX);
	expect_reject("1.2.3.4.5", DPK_ERR_SYNTAX);
	expect_reject("1234", DPK_ERR_SYNTAX);
	expect_reject("1..2.3", DPK_ERR_SYNTAX);
	expect_reject("192.000000000.2.1", DPK_ERR_SYNTAX);
	struct dpk_identity id;
	assert_int_equal(dpk_identity_parse("192.0.2.1\0", 10, &id), DPK_ERR_SYNTAX);
	assert_int_equal(dpk_identity_parse_kind(DPK_IDENTITY_IPV4, " 192.0.2.1", 10, &id), DPK_ERR_SYNTAX);
	assert_int_equal(dpk_identity_parse_kind(DPK_IDENTITY_IPV4, "::1", 3, &id), DPK_ERR_SYNTAX);
}

static void
test_ipv6(void **state)
{
	/* RFC 5952 section 4: every accepted text form, one canonical text */
	expect_identity("2001:0db8::0001", DPK_IDENTITY_IPV6, "20010db8000000000000000000000001", "2001:db8::1");
	expect_identity("2001:db8:0:0:0:0:2:1", DPK_IDENTITY_IPV6, "20010db8000000000000000000020001",
	    "2001:db8::2:1");
	expect_identity("2001:db8:0:1:1:1:1:1", DPK_IDENTITY_IPV6, "20010db8000000010001000100010001",
	    "2001:db8:0:1:1:1:1:1");
	expect_identity("2001:0:0:1:0:0:0:1", DPK_IDENTITY_IPV6, "20010000000000010000000000000001",
	    "2001:0:0:1::1");
	expect_identity("2001:db8:0:0:1:0:0:1", DPK_IDENTITY_IPV6, "20010db8000000000001000000000001",
	    "2001:db8::1:0:0:1");
	expect_identity("2001:DB8::AAAA", DPK_IDENTITY_IPV6, "20010db800000000000000000000aaaa", "2001:db8::aaaa");
	expect_identity("::", DPK_IDENTITY_IPV6, "00000000000000000000000000000000", "::");
	expect_identity("::1", DPK_IDENTITY_IPV6, "00000000000000000000000000000001", "::1");
	/* RFC 5952 section 5: IPv4-mapped addresses keep their dotted tail */
	expect_identity("::FFFF:192.0.2.1", DPK_IDENTITY_IPV6, "00000000000000000000ffffc0000201",
	    "::ffff:192.0.2.1");

	expect_reject("2001:db8::1::1", DPK_ERR_SYNTAX);
	expect_reject("2001:db8:::1", DPK_ERR_SYNTAX);
	expect_reject("1:2:3:4:5:6:7:8:9", DPK_ERR_SYNTAX);
	expect_reject("1:2:3:4:5:6:7", DPK_ERR_SYNTAX);
	expect_reject("2001:db8::g", DPK_ERR_SYNTAX);
	expect_reject("2001:db8::12345", DPK_ERR_SYNTAX);
	expect_reject("fe80::1%eth0", DPK_ERR_SYNTAX);
	expect_reject("[2001:db8::1]", DPK_ERR_SYNTAX);
	expect_reject("2001:db8::1 ", DPK_ERR_SYNTAX);
	expect_reject("0000:0000:0000:0000:0000:0000:0000:0000:0", DPK_ERR_SYNTAX);
	expect_reject("0000:0000:0000:0000:0000:0000:0000:0000:0000:0", DPK_ERR_SYNTAX); /* > 45 chars */
	struct dpk_identity id;
	assert_int_equal(dpk_identity_parse("::1\0", 4, &id), DPK_ERR_SYNTAX);
}

static void
test_uuid(void **state)
{
	/* RFC 4122 section 3 / RFC 9562 section 4: the URN example */
	expect_identity("f81d4fae-7dec-11d0-a765-00a0c91e6bf6", DPK_IDENTITY_UUID,
	    "f81d4fae7dec11d0a76500a0c91e6bf6", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
	expect_identity("urn:uuid:F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6", DPK_IDENTITY_UUID,
	    "f81d4fae7dec11d0a76500a0c91e6bf6", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
	expect_identity("URN:UUID:f81d4fae-7dec-11d0-a765-00a0c91e6bf6", DPK_IDENTITY_UUID,
	    "f81d4fae7dec11d0a76500a0c91e6bf6", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
	/* RFC 9562 appendix A.6 (UUIDv7 example) */
	expect_identity("017F22E2-79B0-7CC3-98C4-DC0C0C07398F", DPK_IDENTITY_UUID,
	    "017f22e279b07cc398c4dc0c0c07398f", "017f22e2-79b0-7cc3-98c4-dc0c0c07398f");

	expect_reject("urn:uuid:", DPK_ERR_SYNTAX);
	expect_reject("urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf", DPK_ERR_SYNTAX);   /* truncated */
	expect_reject("urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6a", DPK_ERR_SYNTAX); /* trailing */
	expect_reject("urn:uuid:f81d4fae7dec-11d0-a765-00a0c91e6bf6-", DPK_ERR_SYNTAX);
	expect_reject("urn:uuid:{f81d4fae-7dec-11d0-a765-00a0c91e6bf6}", DPK_ERR_SYNTAX);
	expect_reject("urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bfg", DPK_ERR_SYNTAX);

	struct dpk_identity id;
	const char *k = "f81d4fae-7dec-11d0-a765-00a0c91e6bfg"; /* a valid domain label, not a UUID */
	assert_int_equal(dpk_identity_parse_kind(DPK_IDENTITY_UUID, k, strlen(k), &id), DPK_ERR_SYNTAX);
	assert_int_equal(parse(k, &id), 0);
	assert_int_equal(id.kind, DPK_IDENTITY_DOMAIN);
	/* a domain shaped like a UUID is printed in its absolute form, so it
	 * reads back as the domain, not as the UUID */
	k = "f81d4fae-7dec-11d0-a765-00a0c91e6bf6";
	char out[DPK_IDENTITY_FORMAT_SIZE];
	assert_int_equal(dpk_identity_parse_kind(DPK_IDENTITY_DOMAIN, k, strlen(k), &id), 0);
	assert_int_equal(dpk_identity_format(&id, out, sizeof(out)), 0);
	assert_string_equal(out, "f81d4fae-7dec-11d0-a765-00a0c91e6bf6.");
	assert_int_equal(parse(out, &id), 0);
	assert_int_equal(id.kind, DPK_IDENTITY_DOMAIN);
	k = "f81d4fae-7dec-11d0-a765-00a0c91e6bf6";
	assert_int_equal(dpk_identity_parse_kind(DPK_IDENTITY_UUID, k, 35, &id), DPK_ERR_SYNTAX);
	assert_int_equal(dpk_identity_parse("urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf\0", 45, &id),
	    DPK_ERR_SYNTAX);
}

static void
test_from_bytes(void **state)
{
	struct dpk_identity id;
	static const uint8_t v16[16] = {0x20, 0x01, 0x0d, 0xb8};

	assert_int_equal(dpk_identity_from_bytes(DPK_IDENTITY_IPV6, v16, 16, &id), 0);
	assert_int_equal(id.len, 16);
	assert_int_equal(dpk_identity_from_bytes(DPK_IDENTITY_UUID, v16, 16, NULL), 0);
	assert_int_equal(dpk_identity_from_bytes(DPK_IDENTITY_IPV4, v16, 4, NULL), 0);
	assert_int_equal(dpk_identity_from_bytes(DPK_IDENTITY_IPV4, v16, 3, NULL), DPK_ERR_NONCANONICAL);
	assert_int_equal(dpk_identity_from_bytes(DPK_IDENTITY_IPV4, v16, 16, NULL), DPK_ERR_NONCANONICAL);
	assert_int_equal(dpk_identity_from_bytes(DPK_IDENTITY_IPV6, v16, 15, NULL), DPK_ERR_NONCANONICAL);
	assert_int_equal(dpk_identity_from_bytes(DPK_IDENTITY_UUID, v16, 0, NULL), DPK_ERR_NONCANONICAL);
	assert_int_equal(dpk_identity_from_bytes(DPK_IDENTITY_DOMAIN, (const uint8_t *)"Example.com", 11, NULL),
	    DPK_ERR_NONCANONICAL);
	assert_int_equal(dpk_identity_from_bytes(DPK_IDENTITY_DOMAIN, (const uint8_t *)"example.com.", 12, NULL),
	    DPK_ERR_NONCANONICAL);
	assert_int_equal(dpk_identity_from_bytes(DPK_IDENTITY_DOMAIN, (const uint8_t *)"a\0b", 3, NULL),
	    DPK_ERR_NONCANONICAL);
	assert_int_equal(dpk_identity_from_bytes(DPK_IDENTITY_DOMAIN, (const uint8_t *)"", 0, NULL),
	    DPK_ERR_NONCANONICAL);
	assert_int_equal(dpk_identity_from_bytes(DPK_IDENTITY_DOMAIN, (const uint8_t *)"x.y", 3, NULL), 0);
	assert_int_equal(dpk_identity_from_bytes(0, v16, 4, NULL), DPK_ERR_UNSUPPORTED);
	assert_int_equal(dpk_identity_from_bytes(5, v16, 16, NULL), DPK_ERR_UNSUPPORTED);
	assert_int_equal(dpk_identity_parse_kind(9, "x", 1, &id), DPK_ERR_UNSUPPORTED);
	assert_string_equal(dpk_identity_kind_name(DPK_IDENTITY_IPV6), "ipv6");
	assert_string_equal(dpk_identity_kind_name(0), "unknown");
}

static void
test_format_and_args(void **state)
{
	struct dpk_identity id;
	char out[DPK_IDENTITY_FORMAT_SIZE];
	uint8_t h[32];

	assert_int_equal(parse("example.com", &id), 0);
	assert_int_equal(dpk_identity_format(&id, out, 11), DPK_ERR_TOOBIG);
	assert_int_equal(dpk_identity_format(&id, out, 12), 0);
	assert_string_equal(out, "example.com");
	assert_int_equal(parse("f81d4fae-7dec-11d0-a765-00a0c91e6bf6", &id), 0);
	assert_int_equal(dpk_identity_format(&id, out, 36), DPK_ERR_TOOBIG);
	/* a hand-built identity that is not canonical is neither printed nor hashed */
	id.kind = DPK_IDENTITY_IPV4;
	assert_int_equal(dpk_identity_format(&id, out, sizeof(out)), DPK_ERR_INVALID);
	assert_int_equal(dpk_identity_hash(&id, h), DPK_ERR_INVALID);
	assert_int_equal(dpk_identity_parse(NULL, 0, &id), DPK_ERR_INVALID);
	assert_int_equal(dpk_identity_parse("a", 1, NULL), DPK_ERR_INVALID);
	assert_int_equal(dpk_identity_hash(NULL, h), DPK_ERR_INVALID);
}

/* The identity hash against an independent Keccak-256 (cast keccak) over
 * kind || value, the bytes Solidity's abi.encodePacked(uint8, bytes) makes. */
static void
test_hash_matches_cast(void **state)
{
	static const char *const texts[] = {
		"example.com", "192.0.2.1", "2001:db8::1", "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
	};
	const char *cast = dpk_test_tool("DPK_CAST");

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct dpk_identity id;
		uint8_t packed[1 + DPK_IDENTITY_VALUE_MAX], h[32];
		char arg[2 * sizeof(packed) + 3], want[67];
		struct dpk_buf out;

		assert_int_equal(parse(texts[i], &id), 0);
		packed[0] = id.kind;
		memcpy(packed + 1, id.value, id.len);
		assert_int_equal(dpk_hex_encode(packed, 1 + id.len, 1, arg, sizeof(arg)), 0);
		char verb[] = "keccak";
		char *argv[] = {(char *)cast, verb, arg, NULL};
		dpk_buf_init(&out, 4096);
		assert_int_equal(dpk_test_run(argv, NULL, &out), 0);
		dpk_test_chomp(&out);
		assert_int_equal(dpk_identity_hash(&id, h), 0);
		assert_int_equal(dpk_hex_encode(h, 32, 1, want, sizeof(want)), 0);
		assert_string_equal((const char *)out.data, want);
		dpk_buf_free(&out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domain),
		cmocka_unit_test(test_domain_limits),
		cmocka_unit_test(test_domain_reject),
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_from_bytes),
		cmocka_unit_test(test_format_and_args),
		cmocka_unit_test(test_hash_matches_cast),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
