/* Enrolment tokens: sign, format, parse, verify; tampering and malformed
 * files; loading a token file only when its owner and mode keep it secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#include "base/err.h"
#include "crypto/idkey.h"
#include "eth/keccak.h"
#include "enrol/token.h"

static const uint8_t contract[20] = {0x5f, 0xbd, 0xb2, 0x31, 0x56, 0x78, 0xaf, 0xec, 0xb3, 0x67,
	0xf0, 0x32, 0xd9, 0x3f, 0x64, 0x2f, 0x64, 0x18, 0x0a, 0xa3};
static const uint8_t pkm[20] = {0x70, 0x99, 0x79, 0x70, 0xc5, 0x18, 0x12, 0xdc, 0x3a, 0x01,
	0x0c, 0x7d, 0x01, 0xb5, 0x0e, 0x0d, 0x17, 0xdc, 0x79, 0xc8};

static void
make_signed(struct dpk_token *t, struct dpk_idkey **key, struct dpk_buf *pub, enum dpk_idkey_alg alg)
{
	assert_int_equal(dpk_idkey_generate(alg, 2048, key), 0);
	dpk_buf_init(pub, 4096);
	assert_int_equal(dpk_idkey_public_onchain(*key, pub), 0);
	assert_int_equal(dpk_token_new(t, "device1.example.org", 31337, contract, pkm, "127.0.0.1:7443",
	    2000000000), 0);
	assert_int_equal(dpk_token_sign(t, *key), 0);
}

static void
round_trip(enum dpk_idkey_alg alg)
{
	struct dpk_token t, u;
	struct dpk_idkey *key;
	struct dpk_buf pub, text;
	uint8_t h1[32], h2[32];
	char err[128], psk_id[43];

	make_signed(&t, &key, &pub, alg);
	assert_int_equal(dpk_token_verify(&t, alg, pub.data, pub.len, 1900000000), 0);
	dpk_buf_init(&text, DPK_TOKEN_MAX_FILE);
	assert_int_equal(dpk_token_format(&t, &text), 0);
	assert_non_null(strstr((char *)text.data, "contract: 0x5FbDB2315678afecb367f032d93F642f64180aa3\n"));
	assert_int_equal(dpk_token_parse((char *)text.data, text.len, &u, err, sizeof(err)), 0);
	assert_memory_equal(&t, &u, sizeof(t));
	assert_int_equal(dpk_token_verify(&u, alg, pub.data, pub.len, 1900000000), 0);

	/* expired */
	assert_int_equal(dpk_token_verify(&u, alg, pub.data, pub.len, 2000000000), DPK_ERR_TIMEOUT);

	/* the hash binds the secret; the psk identity is the id */
	dpk_token_hash(&t, h1);
	u.secret[0] ^= 1;
	dpk_token_hash(&u, h2);
	assert_memory_not_equal(h1, h2, 32);
	assert_int_equal(dpk_token_verify(&u, alg, pub.data, pub.len, 1900000000), DPK_ERR_BADSIG);
	u.secret[0] ^= 1;
	dpk_token_psk_identity(&t, psk_id);
	assert_int_equal(strlen(psk_id), 42);
	assert_memory_equal(psk_id, "dpk-enrol-", 10);

	/* any signed field changed: the signature fails */
	u.identity[0] = 'e';
	assert_int_equal(dpk_token_verify(&u, alg, pub.data, pub.len, 1900000000), DPK_ERR_BADSIG);
	u = t;
	u.expires++;
	assert_int_equal(dpk_token_verify(&u, alg, pub.data, pub.len, 1900000000), DPK_ERR_BADSIG);
	u = t;
	u.pkm_address[19] ^= 1;
	assert_int_equal(dpk_token_verify(&u, alg, pub.data, pub.len, 1900000000), DPK_ERR_BADSIG);

	/* another PKM's key */
	struct dpk_idkey *other;
	struct dpk_buf opub;
	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_P256, 0, &other), 0);
	dpk_buf_init(&opub, 4096);
	assert_int_equal(dpk_idkey_public_onchain(other, &opub), 0);
	assert_int_equal(dpk_token_verify(&t, DPK_IDKEY_P256, opub.data, opub.len, 1900000000), DPK_ERR_BADSIG);
	dpk_idkey_free(other);
	dpk_buf_free(&opub);

	dpk_token_clear(&t);
	dpk_token_clear(&u);
	dpk_buf_free(&text);
	dpk_buf_free(&pub);
	dpk_idkey_free(key);
}

static void
test_round_trip_p256(void **state)
{
	round_trip(DPK_IDKEY_P256);
}

static void
test_round_trip_rsa(void **state)
{
	round_trip(DPK_IDKEY_RSA);
}

static void
test_new_refusals(void **state)
{
	struct dpk_token t;

	assert_int_equal(dpk_token_new(&t, "", 1, contract, pkm, "h:1", 1), DPK_ERR_INVALID);
	assert_int_equal(dpk_token_new(&t, "a b", 1, contract, pkm, "h:1", 1), DPK_ERR_INVALID);
	assert_int_equal(dpk_token_new(&t, "a\nsecret: 00", 1, contract, pkm, "h:1", 1), DPK_ERR_INVALID);
	assert_int_equal(dpk_token_new(&t, "a", 0, contract, pkm, "h:1", 1), DPK_ERR_INVALID);
	assert_int_equal(dpk_token_new(&t, "a", 1, contract, pkm, "", 1), DPK_ERR_INVALID);
}

/* Change one line of a good file and expect a parse error naming that line. */
static void
expect_bad(const char *good, const char *from, const char *to, int code, const char *msg)
{
	char text[DPK_TOKEN_MAX_FILE + 64], err[160];
	const char *at = strstr(good, from);
	struct dpk_token t;
	int r;

	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
	r = dpk_token_parse(text, strlen(text), &t, err, sizeof(err));
	if (r != code || strstr(err, msg) == NULL)
		fail_msg("replacing '%s' by '%s': got %d '%s', want %d '%s'", from, to, r, err, code, msg);
	/* nothing of a refused file is kept */
	static const struct dpk_token zero;
	assert_memory_equal(&t, &zero, sizeof(t));
}

static void
test_malformed(void **state)
{
	struct dpk_token t;
	struct dpk_idkey *key;
	struct dpk_buf pub, text;
	char good[DPK_TOKEN_MAX_FILE], err[160];

	make_signed(&t, &key, &pub, DPK_IDKEY_P256);
	dpk_buf_init(&text, DPK_TOKEN_MAX_FILE);
	assert_int_equal(dpk_token_format(&t, &text), 0);
	snprintf(good, sizeof(good), "%s", (char *)text.data);

	expect_bad(good, "dpk-token-v1", "dpk-token-v2", DPK_ERR_SYNTAX, "line 1: not a DPK token file");
	expect_bad(good, "id: ", "id:  ", DPK_ERR_SYNTAX, "line 2: id: bad value");
	expect_bad(good, "identity: device1.example.org", "identity: device1 example.org", DPK_ERR_SYNTAX,
	    "line 3: identity: bad value");
	expect_bad(good, "chain-id: 31337", "chain-id: 031337", DPK_ERR_SYNTAX, "line 4: chain-id: bad value");
	expect_bad(good, "chain-id: 31337", "chain-id: 99999999999999999999", DPK_ERR_SYNTAX, "line 4");
	expect_bad(good, "contract: 0x5FbDB", "contract: 0x5fbDB", DPK_ERR_CHECKSUM, "line 5: contract");
	expect_bad(good, "pkm-address", "pkm-adress", DPK_ERR_SYNTAX, "line 6: expected 'pkm-address: ...'");
	expect_bad(good, "expires: 2000000000", "expires: -1", DPK_ERR_SYNTAX, "line 8: expires");
	expect_bad(good, "secret: ", "secret: 00", DPK_ERR_SYNTAX, "line 9: secret: bad value");
	expect_bad(good, "signature: ", "signature: z", DPK_ERR_SYNTAX, "line 10: signature: bad value");
	expect_bad(good, "\nsignature", "\nextra: 1\nsignature", DPK_ERR_SYNTAX, "line 10: expected 'signature");
	expect_bad(good, "id: ", "expires: 1\nid: ", DPK_ERR_SYNTAX, "line 2: expected 'id: ...'");

	/* truncated anywhere, including the final newline */
	for (size_t n = 0; n < strlen(good); n += 7) {
		assert_int_equal(dpk_token_parse(good, n, &t, err, sizeof(err)), DPK_ERR_SYNTAX);
		assert_true(err[0] != '\0');
	}
	assert_int_equal(dpk_token_parse(good, strlen(good) - 1, &t, err, sizeof(err)), DPK_ERR_SYNTAX);
	/* trailing garbage, NUL, oversize */
	char more[DPK_TOKEN_MAX_FILE + 16];
	snprintf(more, sizeof(more), "%sx\n", good);
	assert_int_equal(dpk_token_parse(more, strlen(more), &t, err, sizeof(err)), DPK_ERR_TRAILING);
	assert_string_equal(err, "line 11: unexpected text after the signature");
	snprintf(more, sizeof(more), "%s", good);
	more[20] = '\0';
	assert_int_equal(dpk_token_parse(more, strlen(good), &t, err, sizeof(err)), DPK_ERR_SYNTAX);
	assert_int_equal(dpk_token_parse(good, DPK_TOKEN_MAX_FILE + 1, &t, err, sizeof(err)), DPK_ERR_TOOBIG);

	dpk_token_clear(&t);
	dpk_buf_free(&text);
	dpk_buf_free(&pub);
	dpk_idkey_free(key);
}

/* dpk_token_load reads a token file only when nobody else can: mode 0600
 * (or stricter), owned by us or root, a regular file; every refusal says
 * what is wrong and what to do. */
static void
test_load_modes(void **state)
{
	struct dpk_token t, u;
	struct dpk_idkey *key;
	struct dpk_buf pub, text;
	char dir[64], path[128], link[128], err[1024];

	(void)state;
	make_signed(&t, &key, &pub, DPK_IDKEY_P256);
	dpk_buf_init(&text, DPK_TOKEN_MAX_FILE);
	assert_int_equal(dpk_token_format(&t, &text), 0);
	dpk_test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/token", dir);
	dpk_test_write_file(path, (const char *)text.data, 0600);
	assert_int_equal(dpk_token_load(path, &u, err, sizeof(err)), 0);
	assert_memory_equal(&t, &u, sizeof(t));
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(dpk_token_load(path, &u, err, sizeof(err)), 0);

	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(dpk_token_load(path, &u, err, sizeof(err)), DPK_ERR_PERM);
	assert_non_null(strstr(err, "mode 0640, open to its group"));
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(path, 0604), 0);
	assert_int_equal(dpk_token_load(path, &u, err, sizeof(err)), DPK_ERR_PERM);
	assert_non_null(strstr(err, "open to everyone"));
	assert_int_equal(chmod(path, 0600), 0);
	if (geteuid() == 0) {
		/* root reads a token owned by root or itself only */
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(dpk_token_load(path, &u, err, sizeof(err)), DPK_ERR_PERM);
		assert_non_null(strstr(err, "owned by uid 65534"));
		assert_int_equal(chown(path, 0, 0), 0);
	}
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(dpk_token_load(link, &u, err, sizeof(err)), DPK_ERR_IO);
	assert_non_null(strstr(err, "symbolic link"));
	snprintf(link, sizeof(link), "%s/missing", dir);
	assert_int_equal(dpk_token_load(link, &u, err, sizeof(err)), DPK_ERR_IO);
	assert_non_null(strstr(err, "missing"));
	/* too big, and not a token */
	char big[DPK_TOKEN_MAX_FILE + 2];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	dpk_test_write_file(path, big, 0600);
	assert_int_equal(dpk_token_load(path, &u, err, sizeof(err)), DPK_ERR_TOOBIG);
	dpk_test_write_file(path, "dpk-token-v1\nid: 00\n", 0600);
	assert_int_equal(dpk_token_load(path, &u, err, sizeof(err)), DPK_ERR_SYNTAX);
	assert_non_null(strstr(err, "not a valid token"));
	dpk_test_rmtree(dir);
	dpk_buf_free(&text);
	dpk_buf_free(&pub);
	dpk_idkey_free(key);
	dpk_token_clear(&t);
	dpk_token_clear(&u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_p256),
		cmocka_unit_test(test_round_trip_rsa),
		cmocka_unit_test(test_new_refusals),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_load_modes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
