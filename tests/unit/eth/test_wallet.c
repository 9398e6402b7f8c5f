/* Wallet keys: EIP-55 vectors, key -> address, sign/recover, and
 * cross-checks against Foundry's cast (addresses and EIP-191 signatures in
 * both directions). The keys given to cast on its command line are throwaway
 * test keys, never real secrets. */
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
#include "eth/wallet.h"

/* secp256k1 group order n, and n / 2 (the largest low s). */
static const uint8_t order_n[32] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
	0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
static const uint8_t half_n[32] = {
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

static void
to_hex(const uint8_t *p, size_t n, char *out, size_t outsz)
{
	assert_int_equal(dpk_hex_encode(p, n, 1, out, outsz), 0);
}

/* Run cast with argv[1..] and return its trimmed stdout in out; the exit
 * status is returned. */
static int
cast_run(const char *const *args, struct dpk_buf *out)
{
	char *argv[16];
	size_t i;
	int st;

	argv[0] = (char *)dpk_test_tool("DPK_CAST");
	for (i = 0; args[i] != NULL; i++) {
		assert_true(i + 2 < sizeof(argv) / sizeof(argv[0]));
		argv[i + 1] = (char *)args[i];
	}
	argv[i + 1] = NULL;
	st = dpk_test_run(argv, NULL, out);
	if (out != NULL)
		dpk_test_chomp(out);
	return st;
}

static void
test_eip55_vectors(void **state)
{
	struct dpk_buf b;
	char *line, *next;
	int count = 0;

	dpk_test_read_data("wallet/eip55.txt", &b);
	for (line = (char *)b.data; line != NULL && *line != '\0'; line = next) {
		uint8_t addr[20], again[20];
		char out[43], variant[43];

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		assert_int_equal(strlen(line), 42);
		assert_int_equal(dpk_wallet_address_parse(line, addr), 0);
		dpk_wallet_address_format(addr, out);
		assert_string_equal(out, line);

		/* Single-case spellings carry no checksum and are accepted. */
		memcpy(variant, line, 43);
		for (size_t i = 2; i < 42; i++)
			if (variant[i] >= 'A' && variant[i] <= 'F')
				variant[i] = (char)(variant[i] - 'A' + 'a');
		assert_int_equal(dpk_wallet_address_parse(variant, again), 0);
		assert_memory_equal(addr, again, 20);
		for (size_t i = 2; i < 42; i++)
			if (variant[i] >= 'a' && variant[i] <= 'f')
				variant[i] = (char)(variant[i] - 'a' + 'A');
		assert_int_equal(dpk_wallet_address_parse(variant, again), 0);
		assert_memory_equal(addr, again, 20);

		/* Flipping the case of any one letter breaks the checksum
		 * (the vectors all have upper and lower letters, so the
		 * result stays mixed). */
		for (size_t i = 2; i < 42; i++) {
			char c = line[i];

			if (!((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
				continue;
			memcpy(variant, line, 43);
			variant[i] = (char)(c ^ 0x20);
			assert_int_equal(dpk_wallet_address_parse(variant, again), DPK_ERR_CHECKSUM);
			assert_memory_equal(again, (uint8_t[20]){0}, 20);
		}
		count++;
	}
	assert_int_equal(count, 4);
	dpk_buf_free(&b);
}

static void
test_address_parse_bad(void **state)
{
	static const char good[] = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
	uint8_t addr[20];
	char s[64];

	assert_int_equal(dpk_wallet_address_parse(good, addr), 0);
	/* Wrong length: one digit short, one digit more, empty, "0x" only. */
	memcpy(s, good, 41);
	s[41] = '\0';
	assert_int_equal(dpk_wallet_address_parse(s, addr), DPK_ERR_TRUNCATED);
	memcpy(s, good, 42);
	s[42] = '0';
	s[43] = '\0';
	assert_int_equal(dpk_wallet_address_parse(s, addr), DPK_ERR_TRAILING);
	assert_int_equal(dpk_wallet_address_parse("", addr), DPK_ERR_TRUNCATED);
	assert_int_equal(dpk_wallet_address_parse("0x", addr), DPK_ERR_TRUNCATED);
	/* 40 digits without the prefix are too short; "0X" is not "0x". */
	assert_int_equal(dpk_wallet_address_parse(good + 2, addr), DPK_ERR_TRUNCATED);
	memcpy(s, good, 43);
	s[1] = 'X';
	assert_int_equal(dpk_wallet_address_parse(s, addr), DPK_ERR_SYNTAX);
	/* Non-hex digits and white space. */
	memcpy(s, good, 43);
	s[10] = 'g';
	assert_int_equal(dpk_wallet_address_parse(s, addr), DPK_ERR_SYNTAX);
	memcpy(s, good, 43);
	s[41] = ' ';
	assert_int_equal(dpk_wallet_address_parse(s, addr), DPK_ERR_SYNTAX);
	/* Embedded NUL: as a C string it is short; with an explicit length
	 * the NUL is a bad digit. */
	memcpy(s, good, 43);
	s[20] = '\0';
	assert_int_equal(dpk_wallet_address_parse(s, addr), DPK_ERR_TRUNCATED);
	assert_int_equal(dpk_wallet_address_parse_n(s, 42, addr), DPK_ERR_SYNTAX);
	assert_int_equal(dpk_wallet_address_parse_n(good, 42, addr), 0);
	assert_int_equal(dpk_wallet_address_parse(NULL, addr), DPK_ERR_INVALID);
}

static void
test_dev_key(void **state)
{
	struct dpk_wallet w;
	uint8_t priv[32], addr[20];
	char out[43];

	assert_int_equal(dpk_hex_decode_exact(DPK_TEST_DEV_KEY, priv, 32), 0);
	assert_int_equal(dpk_wallet_from_private(&w, priv), 0);
	dpk_wallet_address_format(w.addr, out);
	assert_string_equal(out, DPK_TEST_DEV_ADDR);
	assert_int_equal(dpk_wallet_address_parse(DPK_TEST_DEV_ADDR, addr), 0);
	assert_memory_equal(addr, w.addr, 20);
	/* The stored public key hashes to the address. */
	dpk_wallet_address_from_pubkey(w.pub, addr);
	assert_memory_equal(addr, w.addr, 20);
	dpk_wallet_clear(&w);
	assert_memory_equal(w.priv, (uint8_t[32]){0}, 32);
}

static void
test_bad_private_keys(void **state)
{
	struct dpk_wallet w;
	uint8_t k[32];
	struct dpk_u256 n, one, x;

	memset(k, 0, sizeof(k));
	assert_int_equal(dpk_wallet_from_private(&w, k), DPK_ERR_INVALID);
	assert_memory_equal(&w, (uint8_t[sizeof(w)]){0}, sizeof(w));
	assert_int_equal(dpk_wallet_from_private(&w, order_n), DPK_ERR_INVALID);
	memset(k, 0xff, sizeof(k));
	assert_int_equal(dpk_wallet_from_private(&w, k), DPK_ERR_INVALID);
	/* n + 1 is out of range, n - 1 and 1 are the extreme valid keys. */
	memcpy(n.be, order_n, 32);
	dpk_u256_from_u64(&one, 1);
	assert_int_equal(dpk_u256_add(&x, &n, &one), 0);
	assert_int_equal(dpk_wallet_from_private(&w, x.be), DPK_ERR_INVALID);
	assert_int_equal(dpk_u256_sub(&x, &n, &one), 0);
	assert_int_equal(dpk_wallet_from_private(&w, x.be), 0);
	assert_int_equal(dpk_wallet_from_private(&w, one.be), 0);
	dpk_wallet_clear(&w);
	assert_int_equal(dpk_wallet_from_private(NULL, one.be), DPK_ERR_INVALID);
}

/* Our key -> address agrees with cast's for random keys and the extremes. */
static void
test_cast_addresses(void **state)
{
	struct dpk_wallet w;
	struct dpk_u256 n, one, x;

	memcpy(n.be, order_n, 32);
	dpk_u256_from_u64(&one, 1);
	assert_int_equal(dpk_u256_sub(&x, &n, &one), 0);
	for (int i = 0; i < 8; i++) {
		struct dpk_buf out;
		char keyhex[67], ours[43];

		if (i == 0)
			assert_int_equal(dpk_wallet_from_private(&w, x.be), 0);
		else if (i == 1)
			assert_int_equal(dpk_wallet_from_private(&w, one.be), 0);
		else
			assert_int_equal(dpk_wallet_generate(&w), 0);
		to_hex(w.priv, 32, keyhex, sizeof(keyhex));
		dpk_wallet_address_format(w.addr, ours);
		const char *args[] = {"wallet", "address", "--private-key", keyhex, NULL};
		assert_int_equal(cast_run(args, &out), 0);
		assert_string_equal((char *)out.data, ours);
		dpk_buf_free(&out);
		dpk_wallet_clear(&w);
	}
}

static void
test_generate_distinct(void **state)
{
	struct dpk_wallet a, b;

	assert_int_equal(dpk_wallet_generate(&a), 0);
	assert_int_equal(dpk_wallet_generate(&b), 0);
	assert_memory_not_equal(a.priv, b.priv, 32);
	assert_memory_not_equal(a.addr, b.addr, 20);
	dpk_wallet_clear(&a);
	dpk_wallet_clear(&b);
	assert_int_equal(dpk_wallet_generate(NULL), DPK_ERR_INVALID);
}

static void
test_sign_recover(void **state)
{
	for (int i = 0; i < 32; i++) {
		struct dpk_wallet w;
		uint8_t hash[32], sig[65], sig2[65], addr[20];

		assert_int_equal(dpk_wallet_generate(&w), 0);
		dpk_keccak256(&i, sizeof(i), hash);
		assert_int_equal(dpk_wallet_sign(&w, hash, sig), 0);
		assert_true(sig[64] == 0 || sig[64] == 1);
		/* low s: s <= n/2 */
		assert_true(memcmp(sig + 32, half_n, 32) <= 0);
		/* RFC 6979: the same key and hash give the same signature. */
		assert_int_equal(dpk_wallet_sign(&w, hash, sig2), 0);
		assert_memory_equal(sig, sig2, 65);
		assert_int_equal(dpk_wallet_recover(hash, sig, addr), 0);
		assert_memory_equal(addr, w.addr, 20);
		/* Another hash recovers to someone else (or not at all). */
		hash[0] ^= 1;
		int r = dpk_wallet_recover(hash, sig, addr);
		assert_true(r == DPK_ERR_BADSIG || (r == 0 && memcmp(addr, w.addr, 20) != 0));
		dpk_wallet_clear(&w);
	}
}

static void
test_recover_rejects(void **state)
{
	struct dpk_wallet w;
	uint8_t priv[32], hash[32], sig[65], bad[65], addr[20];
	struct dpk_u256 n, s, hs;

	assert_int_equal(dpk_hex_decode_exact(DPK_TEST_DEV_KEY, priv, 32), 0);
	assert_int_equal(dpk_wallet_from_private(&w, priv), 0);
	dpk_keccak256("dpk", 3, hash);
	assert_int_equal(dpk_wallet_sign(&w, hash, sig), 0);

	/* (r, n - s, recid ^ 1) is the same point's other valid ECDSA
	 * signature: EIP-2 forbids it as malleable. */
	memcpy(n.be, order_n, 32);
	memcpy(s.be, sig + 32, 32);
	assert_int_equal(dpk_u256_sub(&hs, &n, &s), 0);
	memcpy(bad, sig, 65);
	memcpy(bad + 32, hs.be, 32);
	bad[64] ^= 1;
	assert_int_equal(dpk_wallet_recover(hash, bad, addr), DPK_ERR_BADSIG);
	assert_memory_equal(addr, (uint8_t[20]){0}, 20);

	/* recid must be 0 or 1 (27/28 is the caller's job to convert). */
	for (unsigned v = 2; v < 256; v++) {
		memcpy(bad, sig, 65);
		bad[64] = (uint8_t)v;
		assert_int_equal(dpk_wallet_recover(hash, bad, addr), DPK_ERR_BADSIG);
	}
	/* r or s zero, or >= n. */
	memcpy(bad, sig, 65);
	memset(bad, 0, 32);
	assert_int_equal(dpk_wallet_recover(hash, bad, addr), DPK_ERR_BADSIG);
	memcpy(bad, sig, 65);
	memset(bad + 32, 0, 32);
	assert_int_equal(dpk_wallet_recover(hash, bad, addr), DPK_ERR_BADSIG);
	memcpy(bad, sig, 65);
	memcpy(bad, order_n, 32);
	assert_int_equal(dpk_wallet_recover(hash, bad, addr), DPK_ERR_BADSIG);
	memcpy(bad, sig, 65);
	memcpy(bad + 32, order_n, 32);
	assert_int_equal(dpk_wallet_recover(hash, bad, addr), DPK_ERR_BADSIG);
	memcpy(bad, sig, 65);
	memset(bad + 32, 0xff, 32);
	assert_int_equal(dpk_wallet_recover(hash, bad, addr), DPK_ERR_BADSIG);

	assert_int_equal(dpk_wallet_recover(hash, sig, addr), 0);
	assert_memory_equal(addr, w.addr, 20);
	assert_int_equal(dpk_wallet_recover(NULL, sig, addr), DPK_ERR_INVALID);
	assert_int_equal(dpk_wallet_sign(NULL, hash, sig), DPK_ERR_INVALID);
	dpk_wallet_clear(&w);
}

/* EIP-191 hash matches `cast hash-message`. */
static void
test_hash_message_cast(void **state)
{
	static const char *const msgs[] = {"hello", "", "DPK: a distributed PKI on Ethereum"};

	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		uint8_t h[32];
		char hex[67];
		struct dpk_buf out;

		assert_int_equal(dpk_wallet_hash_message(msgs[i], strlen(msgs[i]), h), 0);
		to_hex(h, 32, hex, sizeof(hex));
		const char *args[] = {"hash-message", msgs[i], NULL};
		assert_int_equal(cast_run(args, &out), 0);
		assert_string_equal((char *)out.data, hex);
		dpk_buf_free(&out);
	}
}

/* Messages for the cross-checks: text, and bytes given to cast as 0x-hex
 * (which it decodes before hashing), 200 bytes so the length has 3 digits. */
static size_t
cast_message(int i, uint8_t *msg, size_t cap, char *arg, size_t argsz)
{
	size_t n;

	if (i % 2 == 0) {
		int len = snprintf(arg, argsz, "dpk cross-check message %d", i);

		assert_true(len > 0 && (size_t)len < argsz && (size_t)len <= cap);
		memcpy(msg, arg, (size_t)len);
		return (size_t)len;
	}
	n = 200;
	assert_true(n <= cap);
	for (size_t j = 0; j < n; j++)
		msg[j] = (uint8_t)(j * 7 + (size_t)i);
	msg[5] = 0; /* binary, with a NUL inside */
	to_hex(msg, n, arg, argsz);
	return n;
}

static void
test_cast_verifies_ours(void **state)
{
	for (int i = 0; i < 6; i++) {
		struct dpk_wallet w, other;
		struct dpk_buf out;
		uint8_t msg[256], hash[32], sig[65];
		char arg[600], sighex[133], addr[43], otheraddr[43];
		size_t n;

		assert_int_equal(dpk_wallet_generate(&w), 0);
		assert_int_equal(dpk_wallet_generate(&other), 0);
		n = cast_message(i, msg, sizeof(msg), arg, sizeof(arg));
		assert_int_equal(dpk_wallet_hash_message(msg, n, hash), 0);
		assert_int_equal(dpk_wallet_sign(&w, hash, sig), 0);
		sig[64] += 27; /* Ethereum's v */
		to_hex(sig, 65, sighex, sizeof(sighex));
		dpk_wallet_address_format(w.addr, addr);
		dpk_wallet_address_format(other.addr, otheraddr);
		/* cast 1.7.1 exits 0 even when validation fails (the error
		 * goes to stderr), so success is judged by its stdout. */
		const char *ok[] = {"wallet", "verify", "--address", addr, arg, sighex, NULL};
		assert_int_equal(cast_run(ok, &out), 0);
		assert_non_null(strstr((char *)out.data, "Validation succeeded"));
		assert_non_null(strstr((char *)out.data, addr));
		dpk_buf_free(&out);
		/* And cast is not just saying yes: another address fails. */
		const char *no[] = {"wallet", "verify", "--address", otheraddr, arg, sighex, NULL};
		(void)cast_run(no, &out);
		assert_null(strstr((char *)out.data, "Validation succeeded"));
		dpk_buf_free(&out);
		dpk_wallet_clear(&w);
		dpk_wallet_clear(&other);
	}
}

static void
test_recover_cast_signature(void **state)
{
	for (int i = 0; i < 6; i++) {
		struct dpk_wallet w;
		struct dpk_buf out;
		uint8_t msg[256], hash[32], sig[65], addr[20];
		char arg[600], keyhex[67];
		size_t n;

		assert_int_equal(dpk_wallet_generate(&w), 0);
		n = cast_message(i, msg, sizeof(msg), arg, sizeof(arg));
		to_hex(w.priv, 32, keyhex, sizeof(keyhex));
		const char *args[] = {"wallet", "sign", "--private-key", keyhex, arg, NULL};
		assert_int_equal(cast_run(args, &out), 0);
		assert_int_equal(dpk_hex_decode_exact((char *)out.data, sig, 65), 0);
		dpk_buf_free(&out);
		assert_true(sig[64] == 27 || sig[64] == 28);
		sig[64] -= 27;
		assert_int_equal(dpk_wallet_hash_message(msg, n, hash), 0);
		assert_int_equal(dpk_wallet_recover(hash, sig, addr), 0);
		assert_memory_equal(addr, w.addr, 20);
		/* cast signs deterministically too: our signature is identical. */
		{
			uint8_t ours[65];

			assert_int_equal(dpk_wallet_sign(&w, hash, ours), 0);
			assert_memory_equal(ours, sig, 65);
		}
		dpk_wallet_clear(&w);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eip55_vectors),
		cmocka_unit_test(test_address_parse_bad),
		cmocka_unit_test(test_dev_key),
		cmocka_unit_test(test_bad_private_keys),
		cmocka_unit_test(test_cast_addresses),
		cmocka_unit_test(test_generate_distinct),
		cmocka_unit_test(test_sign_recover),
		cmocka_unit_test(test_recover_rejects),
		cmocka_unit_test(test_hash_message_cast),
		cmocka_unit_test(test_cast_verifies_ours),
		cmocka_unit_test(test_recover_cast_signature),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
