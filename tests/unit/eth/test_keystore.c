/* Keystore v3: published vectors, round trips, cross-checks with Foundry's
 * cast in both directions, hostile and malformed files, atomic 0600 writes.
 * Passwords given to cast on its command line are throwaway test values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "base/err.h"
#include "harness.h"
#include "base/hex.h"
#include "eth/keystore.h"
#include "eth/wallet.h"

#define PW "correct horse"
#define PWLEN (sizeof(PW) - 1)

/* Cheap parameters for tests that are not about the KDF. */
static const struct dpk_keystore_opts light = {.scrypt_n = 16, .scrypt_r = 8, .scrypt_p = 1};

static int
decrypt_str(const char *json, struct dpk_wallet *w, const char **why)
{
	return dpk_keystore_decrypt(json, strlen(json), (const uint8_t *)PW, PWLEN, NULL, w, why);
}

/* A fresh light keystore for a new random key, as a NUL-terminated string
 * the caller frees. */
static char *
make_light(struct dpk_wallet *w)
{
	struct dpk_buf b;
	char *s;

	assert_int_equal(dpk_wallet_generate(w), 0);
	dpk_buf_init(&b, DPK_KEYSTORE_MAX_FILE);
	assert_int_equal(dpk_keystore_encrypt(w, (const uint8_t *)PW, PWLEN, &light, &b), 0);
	assert_int_equal(dpk_buf_cstr(&b), 0);
	s = strdup((char *)b.data);
	assert_non_null(s);
	dpk_buf_free(&b);
	return s;
}

/* Follow a dotted path ("crypto.kdfparams.n") to the parent object and the
 * last key. */
static cJSON *
walk(cJSON *root, const char *path, char *last, size_t lastsz)
{
	char buf[128];
	char *p = buf, *dot;
	cJSON *o = root;

	assert_true(strlen(path) < sizeof(buf));
	memcpy(buf, path, strlen(path) + 1);
	while ((dot = strchr(p, '.')) != NULL) {
		*dot = '\0';
		o = cJSON_GetObjectItemCaseSensitive(o, p);
		assert_non_null(o);
		p = dot + 1;
	}
	assert_true(strlen(p) < lastsz);
	memcpy(last, p, strlen(p) + 1);
	return o;
}

/* The keystore text with path replaced by the JSON text val (NULL deletes
 * it); caller frees. */
static char *
mutate(const char *json, const char *path, const char *val)
{
	cJSON *root = cJSON_Parse(json), *parent, *nv;
	char last[64], *out;

	assert_non_null(root);
	parent = walk(root, path, last, sizeof(last));
	if (val == NULL) {
		cJSON_DeleteItemFromObjectCaseSensitive(parent, last);
	} else {
		nv = cJSON_Parse(val);
		assert_non_null(nv);
		if (cJSON_GetObjectItemCaseSensitive(parent, last) != NULL)
			assert_true(cJSON_ReplaceItemInObjectCaseSensitive(parent, last, nv));
		else
			assert_true(cJSON_AddItemToObject(parent, last, nv));
	}
	out = cJSON_PrintUnformatted(root);
	assert_non_null(out);
	cJSON_Delete(root);
	return out;
}

static void
expect_mutation(const char *json, const char *path, const char *val, int want)
{
	struct dpk_wallet w;
	const char *why = NULL;
	char *m = mutate(json, path, val);
	int r = decrypt_str(m, &w, &why);

	if (r != want)
		fail_msg("%s = %s: got %d (%s), want %d", path, val ? val : "(deleted)", r,
		    why ? why : "", want);
	assert_non_null(why);
	if (want != 0) {
		assert_true(why[0] != '\0');
		assert_memory_equal(&w, (uint8_t[sizeof(w)]){0}, sizeof(w));
	}
	dpk_wallet_clear(&w);
	cJSON_free(m);
}

/* Entries of a published vector file: each json must decrypt with its
 * password to priv (left-padded to 32 bytes), unless listed in refuse. */
struct refusal {
	const char *name;
	int err;
};

static void
run_vector_file(const char *rel, const struct refusal *refuse, size_t nrefuse, int want_ok)
{
	struct dpk_buf b;
	cJSON *root, *t;
	int ok = 0;

	dpk_test_read_data(rel, &b);
	root = cJSON_Parse((char *)b.data);
	assert_non_null(root);
	cJSON_ArrayForEach(t, root) {
		cJSON *json = cJSON_GetObjectItemCaseSensitive(t, "json");
		const char *pw = cJSON_GetObjectItemCaseSensitive(t, "password")->valuestring;
		const char *priv = cJSON_GetObjectItemCaseSensitive(t, "priv")->valuestring;
		char *text = cJSON_PrintUnformatted(json);
		struct dpk_wallet w;
		uint8_t want[32];
		size_t n;
		const char *why;
		int expect = 0, r;

		memset(want, 0, sizeof(want));
		assert_int_equal(dpk_hex_decode(priv, strlen(priv), want, 32, &n), 0);
		memmove(want + 32 - n, want, n);
		memset(want, 0, 32 - n);
		for (size_t i = 0; i < nrefuse; i++)
			if (strcmp(refuse[i].name, t->string) == 0)
				expect = refuse[i].err;
		r = dpk_keystore_decrypt(text, strlen(text), (const uint8_t *)pw, strlen(pw), NULL, &w, &why);
		if (r != expect)
			fail_msg("%s %s: got %d (%s), want %d", rel, t->string, r, why, expect);
		if (expect == 0) {
			assert_memory_equal(w.priv, want, 32);
			dpk_wallet_clear(&w);
			ok++;
			/* The same file with a wrong password. */
			r = dpk_keystore_decrypt(text, strlen(text), (const uint8_t *)"wrong", 5, NULL, &w, &why);
			assert_int_equal(r, DPK_ERR_BADMAC);
		}
		cJSON_free(text);
	}
	assert_int_equal(ok, want_ok);
	cJSON_Delete(root);
	dpk_buf_free(&b);
}

static void
test_ethereum_tests_vectors(void **state)
{
	/* test2 is scrypt n=262144 with r=1, outside RFC 7914's n < 2^(16 r):
	 * OpenSSL refuses it, libsodium derives it. */
	static const struct refusal v2[] = {{"test1", DPK_ERR_UNSUPPORTED}};

	run_vector_file("keystore/basic_tests.json", NULL, 0, 5);
	run_vector_file("keystore/pbkdf2_test.json", v2, 1, 0);
}

static void
test_geth_vectors(void **state)
{
	run_vector_file("keystore/v3_test_vector.json", NULL, 0, 4);
}

static void
test_roundtrip(void **state)
{
	static const struct dpk_keystore_opts pbkdf2 = {.kdf = DPK_KEYSTORE_PBKDF2, .pbkdf2_c = 1000};
	struct dpk_wallet w, back;
	struct dpk_buf a, b;
	cJSON *root;
	const char *s;
	char want[41];

	assert_int_equal(dpk_wallet_generate(&w), 0);
	dpk_buf_init(&a, DPK_KEYSTORE_MAX_FILE);
	dpk_buf_init(&b, DPK_KEYSTORE_MAX_FILE);
	assert_int_equal(dpk_keystore_encrypt(&w, (const uint8_t *)PW, PWLEN, &light, &a), 0);
	assert_int_equal(dpk_keystore_encrypt(&w, (const uint8_t *)PW, PWLEN, &light, &b), 0);
	/* Fresh salt, iv and id every time. */
	assert_false(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	assert_int_equal(dpk_keystore_decrypt((char *)a.data, a.len, (const uint8_t *)PW, PWLEN, NULL,
	    &back, NULL), 0);
	assert_memory_equal(back.priv, w.priv, 32);
	assert_memory_equal(back.addr, w.addr, 20);

	/* geth's layout: lower-case address without 0x, UUID v4, version 3. */
	assert_int_equal(dpk_buf_cstr(&a), 0);
	root = cJSON_Parse((char *)a.data);
	assert_non_null(root);
	assert_int_equal(dpk_hex_encode(w.addr, 20, 0, want, sizeof(want)), 0);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(root, "address")->valuestring, want);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(root, "version")->valuedouble, 3);
	s = cJSON_GetObjectItemCaseSensitive(root, "id")->valuestring;
	assert_int_equal(strlen(s), 36);
	assert_int_equal(s[14], '4');
	assert_non_null(strchr("89ab", s[19]));
	cJSON_Delete(root);

	/* PBKDF2 writing works too. */
	dpk_buf_reset(&a);
	assert_int_equal(dpk_keystore_encrypt(&w, (const uint8_t *)PW, PWLEN, &pbkdf2, &a), 0);
	assert_int_equal(dpk_keystore_decrypt((char *)a.data, a.len, (const uint8_t *)PW, PWLEN, NULL,
	    &back, NULL), 0);
	assert_memory_equal(back.priv, w.priv, 32);

	/* Passwords are bytes: an embedded NUL counts, the empty one works. */
	dpk_buf_reset(&a);
	assert_int_equal(dpk_keystore_encrypt(&w, (const uint8_t *)"a\0b", 3, &light, &a), 0);
	assert_int_equal(dpk_keystore_decrypt((char *)a.data, a.len, (const uint8_t *)"a", 1, NULL,
	    &back, NULL), DPK_ERR_BADMAC);
	assert_int_equal(dpk_keystore_decrypt((char *)a.data, a.len, (const uint8_t *)"a\0b", 3, NULL,
	    &back, NULL), 0);
	dpk_buf_reset(&a);
	assert_int_equal(dpk_keystore_encrypt(&w, NULL, 0, &light, &a), 0);
	assert_int_equal(dpk_keystore_decrypt((char *)a.data, a.len, (const uint8_t *)"", 0, NULL,
	    &back, NULL), 0);
	assert_memory_equal(back.priv, w.priv, 32);

	/* Writer refuses parameters its own reader would. */
	{
		struct dpk_keystore_opts bad = {.scrypt_n = 1000};

		dpk_buf_reset(&a);
		assert_int_equal(dpk_keystore_encrypt(&w, (const uint8_t *)PW, PWLEN, &bad, &a), DPK_ERR_INVALID);
		bad.scrypt_n = 1ull << 30;
		assert_int_equal(dpk_keystore_encrypt(&w, (const uint8_t *)PW, PWLEN, &bad, &a), DPK_ERR_INVALID);
		assert_int_equal(a.len, 0);
	}
	dpk_wallet_clear(&w);
	dpk_wallet_clear(&back);
	dpk_buf_free(&a);
	dpk_buf_free(&b);
}

/* The defaults are geth's standard scrypt parameters and still decrypt. */
static void
test_default_params(void **state)
{
	struct dpk_wallet w, back;
	struct dpk_buf a;
	cJSON *root, *kp;

	assert_int_equal(dpk_wallet_generate(&w), 0);
	dpk_buf_init(&a, DPK_KEYSTORE_MAX_FILE);
	assert_int_equal(dpk_keystore_encrypt(&w, (const uint8_t *)PW, PWLEN, NULL, &a), 0);
	assert_int_equal(dpk_buf_cstr(&a), 0);
	root = cJSON_Parse((char *)a.data);
	assert_non_null(root);
	kp = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "crypto"), "kdfparams");
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(kp, "n")->valuedouble, 262144);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(kp, "r")->valuedouble, 8);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(kp, "p")->valuedouble, 1);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(kp, "dklen")->valuedouble, 32);
	assert_int_equal(strlen(cJSON_GetObjectItemCaseSensitive(kp, "salt")->valuestring), 64);
	cJSON_Delete(root);
	assert_int_equal(dpk_keystore_decrypt((char *)a.data, a.len, (const uint8_t *)PW, PWLEN, NULL,
	    &back, NULL), 0);
	assert_memory_equal(back.priv, w.priv, 32);
	dpk_wallet_clear(&w);
	dpk_wallet_clear(&back);
	dpk_buf_free(&a);
}

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
write_text(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* A file we write (scrypt n=8192, cast's own setting) opens in cast. */
static void
test_cast_reads_ours(void **state)
{
	static const struct dpk_keystore_opts opts = {.scrypt_n = 8192};
	char dir[256], file[320], pwfile[320], addr[43], keyhex[67];
	struct dpk_wallet w;
	struct dpk_buf out;
	const char *p;

	dpk_test_tmpdir(dir, sizeof(dir));
	snprintf(file, sizeof(file), "%s/key.json", dir);
	snprintf(pwfile, sizeof(pwfile), "%s/pw.txt", dir);
	write_text(pwfile, PW, PWLEN);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(dpk_wallet_generate(&w), 0);
		assert_int_equal(dpk_keystore_write_file(file, &w, (const uint8_t *)PW, PWLEN,
		    &(struct dpk_keystore_opts){.scrypt_n = opts.scrypt_n, .overwrite = 1}), 0);
		dpk_wallet_address_format(w.addr, addr);
		const char *a1[] = {"wallet", "address", "--keystore", file, "--password-file", pwfile, NULL};
		assert_int_equal(cast_run(a1, &out), 0);
		assert_string_equal((char *)out.data, addr);
		dpk_buf_free(&out);
		/* And cast recovers the very key. */
		const char *a2[] = {"wallet", "decrypt-keystore", "-k", dir, "key.json",
		    "--unsafe-password", PW, NULL};
		assert_int_equal(cast_run(a2, &out), 0);
		assert_non_null(p = strstr((char *)out.data, "0x"));
		assert_int_equal(dpk_hex_encode(w.priv, 32, 1, keyhex, sizeof(keyhex)), 0);
		assert_string_equal(p, keyhex);
		dpk_buf_free(&out);
		dpk_wallet_clear(&w);
	}
	dpk_test_rmtree(dir);
}

/* A keystore cast wrote (no address field, its UUID as the file name). */
static void
test_we_read_casts(void **state)
{
	char dir[256], file[600], addr[43];
	struct dpk_wallet w;
	struct dpk_buf out;
	const char *p;
	DIR *d;
	struct dirent *e;

	for (int i = 0; i < 2; i++) {
		dpk_test_tmpdir(dir, sizeof(dir));
		const char *args[] = {"wallet", "new", dir, "--unsafe-password", PW, NULL};
		assert_int_equal(cast_run(args, &out), 0);
		assert_non_null(p = strstr((char *)out.data, "Address:"));
		p += strlen("Address:");
		while (*p == ' ')
			p++;
		assert_int_equal(strnlen(p, 42), 42);
		memcpy(addr, p, 42);
		addr[42] = '\0';
		dpk_buf_free(&out);

		file[0] = '\0';
		assert_non_null(d = opendir(dir));
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.')
				snprintf(file, sizeof(file), "%s/%s", dir, e->d_name);
		closedir(d);
		assert_true(file[0] != '\0');
		assert_int_equal(dpk_keystore_read_file(file, (const uint8_t *)PW, PWLEN, NULL, &w, NULL), 0);
		{
			char ours[43];

			dpk_wallet_address_format(w.addr, ours);
			assert_string_equal(ours, addr);
		}
		assert_int_equal(dpk_keystore_read_file(file, (const uint8_t *)"nope", 4, NULL, &w, NULL),
		    DPK_ERR_BADMAC);
		dpk_wallet_clear(&w);
		dpk_test_rmtree(dir);
	}
}

static void
test_truncated_and_size(void **state)
{
	struct dpk_wallet w, back;
	char *json = make_light(&w);
	size_t len = strlen(json);
	const char *why;
	char *big;

	/* Every proper prefix, including the empty one. */
	for (size_t i = 0; i < len; i++)
		assert_int_equal(dpk_keystore_decrypt(json, i, (const uint8_t *)PW, PWLEN, NULL, &back, &why),
		    DPK_ERR_TRUNCATED);
	assert_int_equal(dpk_keystore_decrypt("   \n", 4, (const uint8_t *)PW, PWLEN, NULL, &back, NULL),
	    DPK_ERR_TRUNCATED);

	/* Padded with white space to exactly the cap: fine; one more: too big. */
	big = malloc(DPK_KEYSTORE_MAX_FILE + 1);
	assert_non_null(big);
	memset(big, ' ', DPK_KEYSTORE_MAX_FILE + 1);
	memcpy(big, json, len);
	assert_int_equal(dpk_keystore_decrypt(big, DPK_KEYSTORE_MAX_FILE, (const uint8_t *)PW, PWLEN,
	    NULL, &back, NULL), 0);
	assert_memory_equal(back.priv, w.priv, 32);
	assert_int_equal(dpk_keystore_decrypt(big, DPK_KEYSTORE_MAX_FILE + 1, (const uint8_t *)PW, PWLEN,
	    NULL, &back, &why), DPK_ERR_TOOBIG);
	free(big);

	/* Trailing bytes. */
	{
		char buf[2048];

		assert_true(len + 8 < sizeof(buf));
		memcpy(buf, json, len);
		memcpy(buf + len, " x", 2);
		assert_int_equal(dpk_keystore_decrypt(buf, len + 2, (const uint8_t *)PW, PWLEN, NULL,
		    &back, NULL), DPK_ERR_TRAILING);
		memcpy(buf + len, "{}", 2);
		assert_int_equal(dpk_keystore_decrypt(buf, len + 2, (const uint8_t *)PW, PWLEN, NULL,
		    &back, NULL), DPK_ERR_TRAILING);
		memcpy(buf + len, "}", 1);
		assert_int_equal(dpk_keystore_decrypt(buf, len + 1, (const uint8_t *)PW, PWLEN, NULL,
		    &back, NULL), DPK_ERR_TRAILING);
		memcpy(buf + len, "\r\n", 2);
		assert_int_equal(dpk_keystore_decrypt(buf, len + 2, (const uint8_t *)PW, PWLEN, NULL,
		    &back, NULL), 0);

		/* A raw NUL: at the end, between tokens, inside a string. */
		buf[len] = '\0';
		assert_int_equal(dpk_keystore_decrypt(buf, len + 1, (const uint8_t *)PW, PWLEN, NULL,
		    &back, NULL), DPK_ERR_SYNTAX);
		memcpy(buf, json, len);
		buf[1] = '\0'; /* {"address" -> {\0address */
		assert_int_equal(dpk_keystore_decrypt(buf, len, (const uint8_t *)PW, PWLEN, NULL,
		    &back, NULL), DPK_ERR_SYNTAX);
		memcpy(buf, json, len);
		buf[5] = '\0';
		assert_int_equal(dpk_keystore_decrypt(buf, len, (const uint8_t *)PW, PWLEN, NULL,
		    &back, NULL), DPK_ERR_SYNTAX);
		/* Other raw control bytes too. */
		memcpy(buf, json, len);
		buf[5] = '\x01';
		assert_int_equal(dpk_keystore_decrypt(buf, len, (const uint8_t *)PW, PWLEN, NULL,
		    &back, NULL), DPK_ERR_SYNTAX);
	}
	dpk_wallet_clear(&w);
	dpk_wallet_clear(&back);
	free(json);
}

static void
test_malformed_fields(void **state)
{
	struct dpk_wallet w, tmp;
	char *json = make_light(&w);
	static const char *const required[] = {
		"version", "id", "crypto", "crypto.cipher", "crypto.cipherparams",
		"crypto.cipherparams.iv", "crypto.ciphertext", "crypto.kdf", "crypto.kdfparams",
		"crypto.mac", "crypto.kdfparams.dklen", "crypto.kdfparams.n", "crypto.kdfparams.r",
		"crypto.kdfparams.p", "crypto.kdfparams.salt",
	};

	/* Sanity: the untouched template decrypts. */
	expect_mutation(json, "version", "3", 0);
	/* Every required field, missing. The address is optional. */
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		expect_mutation(json, required[i], NULL, DPK_ERR_SYNTAX);
	expect_mutation(json, "address", NULL, 0);

	/* Wrong JSON types. */
	expect_mutation(json, "version", "\"3\"", DPK_ERR_TYPE);
	expect_mutation(json, "version", "3.5", DPK_ERR_TYPE);
	expect_mutation(json, "version", "null", DPK_ERR_TYPE);
	expect_mutation(json, "id", "7", DPK_ERR_TYPE);
	expect_mutation(json, "crypto", "[]", DPK_ERR_TYPE);
	expect_mutation(json, "crypto.cipher", "true", DPK_ERR_TYPE);
	expect_mutation(json, "crypto.cipherparams", "\"x\"", DPK_ERR_TYPE);
	expect_mutation(json, "crypto.cipherparams.iv", "12", DPK_ERR_TYPE);
	expect_mutation(json, "crypto.ciphertext", "{}", DPK_ERR_TYPE);
	expect_mutation(json, "crypto.kdfparams", "[16]", DPK_ERR_TYPE);
	expect_mutation(json, "crypto.kdfparams.n", "\"16\"", DPK_ERR_TYPE);
	expect_mutation(json, "crypto.kdfparams.n", "16.5", DPK_ERR_TYPE);
	expect_mutation(json, "crypto.kdfparams.salt", "[]", DPK_ERR_TYPE);
	expect_mutation(json, "crypto.mac", "false", DPK_ERR_TYPE);
	expect_mutation(json, "address", "1", DPK_ERR_TYPE);
	assert_int_equal(decrypt_str("[1,2]", &tmp, NULL), DPK_ERR_TYPE);
	assert_int_equal(decrypt_str("\"keystore\"", &tmp, NULL), DPK_ERR_TYPE);

	/* Bad hex: digits, lengths, a 0x prefix. */
	expect_mutation(json, "crypto.mac", "\"zz\"", DPK_ERR_SYNTAX);
	expect_mutation(json, "crypto.mac",
	    "\"0g00000000000000000000000000000000000000000000000000000000000000\"", DPK_ERR_SYNTAX);
	expect_mutation(json, "crypto.mac",
	    "\"0x000000000000000000000000000000000000000000000000000000000000\"", DPK_ERR_SYNTAX);
	expect_mutation(json, "crypto.cipherparams.iv", "\"000000000000000000000000000000\"", DPK_ERR_SYNTAX);
	expect_mutation(json, "crypto.cipherparams.iv", "\"0000000000000000000000000000000000\"", DPK_ERR_SYNTAX);
	expect_mutation(json, "crypto.cipherparams.iv", "\"000000000000000000000000000000000\"", DPK_ERR_SYNTAX);
	expect_mutation(json, "crypto.ciphertext",
	    "\"000000000000000000000000000000000000000000000000000000000000000000\"", DPK_ERR_SYNTAX);
	expect_mutation(json, "crypto.ciphertext", "\"00\"", DPK_ERR_SYNTAX);
	expect_mutation(json, "crypto.kdfparams.salt", "\"\"", DPK_ERR_SYNTAX);
	expect_mutation(json, "id", "\"not-a-uuid\"", DPK_ERR_SYNTAX);

	/* Versions, ciphers, KDFs we do not speak. */
	expect_mutation(json, "version", "1", DPK_ERR_UNSUPPORTED);
	expect_mutation(json, "version", "2", DPK_ERR_UNSUPPORTED);
	expect_mutation(json, "version", "4", DPK_ERR_UNSUPPORTED);
	expect_mutation(json, "crypto.cipher", "\"aes-128-cbc\"", DPK_ERR_UNSUPPORTED);
	expect_mutation(json, "crypto.kdf", "\"argon2id\"", DPK_ERR_UNSUPPORTED);
	expect_mutation(json, "crypto.kdfparams.dklen", "16", DPK_ERR_UNSUPPORTED);

	/* Wrong password, altered ciphertext or MAC: all just a MAC mismatch. */
	{
		struct dpk_wallet back;
		cJSON *root = cJSON_Parse(json);
		cJSON *crypto = cJSON_GetObjectItemCaseSensitive(root, "crypto");
		char ct[65], mac[65];

		memcpy(ct, cJSON_GetObjectItemCaseSensitive(crypto, "ciphertext")->valuestring, 65);
		memcpy(mac, cJSON_GetObjectItemCaseSensitive(crypto, "mac")->valuestring, 65);
		cJSON_Delete(root);
		ct[10] = ct[10] == '0' ? '1' : '0';
		mac[63] = mac[63] == '0' ? '1' : '0';
		char q[80];
		snprintf(q, sizeof(q), "\"%s\"", ct);
		expect_mutation(json, "crypto.ciphertext", q, DPK_ERR_BADMAC);
		snprintf(q, sizeof(q), "\"%s\"", mac);
		expect_mutation(json, "crypto.mac", q, DPK_ERR_BADMAC);
		assert_int_equal(dpk_keystore_decrypt(json, strlen(json), (const uint8_t *)"correct horsf",
		    PWLEN, NULL, &back, NULL), DPK_ERR_BADMAC);
	}

	/* The address, when present, must be the key's. */
	{
		char a[43], q[64];

		dpk_wallet_address_format(w.addr, a);
		snprintf(q, sizeof(q), "\"%s\"", a); /* with 0x and checksum */
		expect_mutation(json, "address", q, 0);
		for (char *c = a + 2; *c; c++)
			if (*c >= 'a' && *c <= 'f')
				*c = (char)(*c - 'a' + 'A');
		snprintf(q, sizeof(q), "\"%s\"", a + 2); /* upper case, no 0x */
		expect_mutation(json, "address", q, 0);
		expect_mutation(json, "address", "\"f39fd6e51aad88f6f4ce6ab8827279cfffb92266\"", DPK_ERR_INVALID);
		expect_mutation(json, "address", "\"f39Fd6e51aad88F6F4ce6aB8827279cffFb92267\"", DPK_ERR_CHECKSUM);
		expect_mutation(json, "address", "\"f39fd6e51aad88f6f4ce6ab8827279cfffb922\"", DPK_ERR_SYNTAX);
		expect_mutation(json, "address", "\"f39fd6e51aad88f6f4ce6ab8827279cfffb9226g\"", DPK_ERR_SYNTAX);
		{
			const char *why = NULL;
			char *m = mutate(json, "address", "\"f39fd6e51aad88f6f4ce6ab8827279cfffb92266\"");
			struct dpk_wallet back;

			assert_int_equal(decrypt_str(m, &back, &why), DPK_ERR_INVALID);
			assert_non_null(strstr(why, "does not match"));
			cJSON_free(m);
		}
	}
	dpk_wallet_clear(&w);
	free(json);
}

/* Text-level attacks cJSON would otherwise paper over. */
static void
test_malformed_text(void **state)
{
	struct dpk_wallet w, back;
	char *json = make_light(&w);
	size_t len = strlen(json);
	char buf[4096];
	const char *p;

	/* Duplicate keys: which one wins differs between parsers. */
	snprintf(buf, sizeof(buf), "{\"version\":3,%s", json + 1);
	assert_int_equal(decrypt_str(buf, &back, NULL), DPK_ERR_SYNTAX);
	snprintf(buf, sizeof(buf), "{\"address\":\"00\",%s", json + 1);
	assert_int_equal(decrypt_str(buf, &back, NULL), DPK_ERR_SYNTAX);

	/* "\u0000" escape inside a field: cJSON would cut the string there. */
	assert_non_null(p = strstr(json, "\"scrypt\""));
	snprintf(buf, sizeof(buf), "%.*s\"scrypt\\u0000x\"%s", (int)(p - json), json, p + 8);
	assert_int_equal(decrypt_str(buf, &back, NULL), DPK_ERR_SYNTAX);

	/* "Crypto" (old geth spelling) alone is accepted; with "crypto", not. */
	assert_non_null(p = strstr(json, "\"crypto\""));
	memcpy(buf, json, len + 1);
	buf[p - json + 1] = 'C';
	assert_int_equal(decrypt_str(buf, &back, NULL), 0);
	assert_memory_equal(back.priv, w.priv, 32);
	snprintf(buf + len - 1, sizeof(buf) - len + 1, ",\"crypto\":{}}");
	assert_int_equal(decrypt_str(buf, &back, NULL), DPK_ERR_SYNTAX);

	/* Unknown fields are ignored (ethers adds "x-ethers"), but nesting is capped. */
	snprintf(buf, sizeof(buf), "%.*s,\"x-ethers\":{\"client\":\"ethers\",\"path\":\"m/44'/60'/0'/0/0\"}}",
	    (int)(len - 1), json);
	assert_int_equal(decrypt_str(buf, &back, NULL), 0);
	snprintf(buf, sizeof(buf), "%.*s,\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", (int)(len - 1), json);
	assert_int_equal(decrypt_str(buf, &back, NULL), DPK_ERR_DEPTH);
	/* Not JSON at all. */
	assert_int_equal(decrypt_str("{\"version\":3,}", &back, NULL), DPK_ERR_SYNTAX);
	assert_int_equal(decrypt_str("{version:3}", &back, NULL), DPK_ERR_SYNTAX);

	dpk_wallet_clear(&w);
	dpk_wallet_clear(&back);
	free(json);
}

/* KDF parameters chosen to exhaust memory or time are refused before any
 * work; this test would take minutes or gigabytes otherwise. */
static void
test_hostile_kdf(void **state)
{
	struct dpk_wallet w, back;
	char *json = make_light(&w);
	char *pb;

	expect_mutation(json, "crypto.kdfparams.n", "2147483648", DPK_ERR_TOOBIG);       /* 256 GiB */
	expect_mutation(json, "crypto.kdfparams.n", "2097152", DPK_ERR_TOOBIG);          /* 2 GiB */
	expect_mutation(json, "crypto.kdfparams.n", "1e300", DPK_ERR_TOOBIG);
	expect_mutation(json, "crypto.kdfparams.n", "18446744073709551616", DPK_ERR_TOOBIG);
	expect_mutation(json, "crypto.kdfparams.n", "-16", DPK_ERR_RANGE);
	expect_mutation(json, "crypto.kdfparams.n", "0", DPK_ERR_INVALID);
	expect_mutation(json, "crypto.kdfparams.n", "1", DPK_ERR_INVALID);
	expect_mutation(json, "crypto.kdfparams.n", "24", DPK_ERR_INVALID);
	expect_mutation(json, "crypto.kdfparams.r", "0", DPK_ERR_INVALID);
	expect_mutation(json, "crypto.kdfparams.r", "4294967296", DPK_ERR_TOOBIG);
	expect_mutation(json, "crypto.kdfparams.r", "1073741824", DPK_ERR_TOOBIG);
	expect_mutation(json, "crypto.kdfparams.p", "0", DPK_ERR_INVALID);
	expect_mutation(json, "crypto.kdfparams.p", "17", DPK_ERR_TOOBIG);
	expect_mutation(json, "crypto.kdfparams.p", "4294967295", DPK_ERR_TOOBIG);
	/* 1 GiB of memory is allowed, but 16 passes over it is too much work. */
	{
		char *m = mutate(json, "crypto.kdfparams.n", "1048576");
		const char *why = NULL;

		expect_mutation(m, "crypto.kdfparams.p", "16", DPK_ERR_TOOBIG);
		{
			char *m2 = mutate(m, "crypto.kdfparams.p", "16");

			assert_int_equal(decrypt_str(m2, &back, &why), DPK_ERR_TOOBIG);
			assert_non_null(strstr(why, "work"));
			cJSON_free(m2);
		}
		cJSON_free(m);
		m = mutate(json, "crypto.kdfparams.n", "2097152");
		assert_int_equal(decrypt_str(m, &back, &why), DPK_ERR_TOOBIG);
		assert_non_null(strstr(why, "1 GiB"));
		cJSON_free(m);
	}
	/* outside RFC 7914's n < 2^(16 r): derived (by libsodium), so the MAC
	 * of a file altered this way does not match */
	{
		char *m = mutate(json, "crypto.kdfparams.r", "1");

		expect_mutation(m, "crypto.kdfparams.n", "65536", DPK_ERR_BADMAC);
		cJSON_free(m);
	}
	/* A caller's tighter limits apply. */
	{
		struct dpk_keystore_limits lim;

		dpk_keystore_limits_default(&lim);
		lim.scrypt_max_mem = 1024;
		assert_int_equal(dpk_keystore_decrypt(json, strlen(json), (const uint8_t *)PW, PWLEN, &lim,
		    &back, NULL), DPK_ERR_TOOBIG);
	}

	/* PBKDF2: prf, c bounds. */
	pb = mutate(json, "crypto.kdf", "\"pbkdf2\"");
	{
		char *m = mutate(pb, "crypto.kdfparams.prf", "\"hmac-sha256\"");
		char *m2;

		expect_mutation(m, "crypto.kdfparams.c", "0", DPK_ERR_INVALID);
		expect_mutation(m, "crypto.kdfparams.c", "10000001", DPK_ERR_TOOBIG);
		expect_mutation(m, "crypto.kdfparams.c", "1e18", DPK_ERR_TOOBIG);
		expect_mutation(m, "crypto.kdfparams.c", "\"1000\"", DPK_ERR_TYPE);
		expect_mutation(m, "crypto.kdfparams.prf", "\"hmac-sha512\"", DPK_ERR_UNSUPPORTED);
		expect_mutation(m, "crypto.kdfparams.prf", NULL, DPK_ERR_SYNTAX);
		expect_mutation(m, "crypto.kdfparams.c", NULL, DPK_ERR_SYNTAX);
		/* Valid parameters, but not this file's key: a MAC mismatch. */
		expect_mutation(m, "crypto.kdfparams.c", "1", DPK_ERR_BADMAC);
		m2 = mutate(m, "crypto.kdfparams.c", "1");
		cJSON_free(m);
		m = m2;
		expect_mutation(m, "crypto.kdfparams.dklen", "64", DPK_ERR_UNSUPPORTED);
		cJSON_free(m);
	}
	cJSON_free(pb);
	dpk_wallet_clear(&w);
	dpk_wallet_clear(&back);
	free(json);
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
read_all(const char *path, struct dpk_buf *b)
{
	char chunk[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	dpk_buf_init(b, 1u << 20);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		assert_int_equal(dpk_buf_put(b, chunk, (size_t)n), 0);
	close(fd);
}

static void
test_file_write(void **state)
{
	char dir[256], file[320], other[320];
	struct dpk_wallet a, b, back;
	struct dpk_buf before, after;
	struct stat st;
	mode_t old;
	struct dpk_keystore_opts ow = light;

	ow.overwrite = 1;
	dpk_test_tmpdir(dir, sizeof(dir));
	snprintf(file, sizeof(file), "%s/key.json", dir);
	assert_int_equal(dpk_wallet_generate(&a), 0);
	assert_int_equal(dpk_wallet_generate(&b), 0);

	/* Mode 0600 whatever the umask. */
	old = umask(0);
	assert_int_equal(dpk_keystore_write_file(file, &a, (const uint8_t *)PW, PWLEN, &light), 0);
	umask(old);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(count_entries(dir), 1); /* no temporary left behind */

	/* Refusing to overwrite leaves the old file byte for byte, no temp. */
	read_all(file, &before);
	assert_int_equal(dpk_keystore_write_file(file, &b, (const uint8_t *)PW, PWLEN, &light),
	    DPK_ERR_EXISTS);
	read_all(file, &after);
	assert_int_equal(before.len, after.len);
	assert_memory_equal(before.data, after.data, before.len);
	assert_int_equal(count_entries(dir), 1);
	assert_int_equal(dpk_keystore_read_file(file, (const uint8_t *)PW, PWLEN, NULL, &back, NULL), 0);
	assert_memory_equal(back.priv, a.priv, 32);
	dpk_buf_free(&after);

	/* Asked to overwrite, it does, atomically, still 0600. */
	assert_int_equal(dpk_keystore_write_file(file, &b, (const uint8_t *)PW, PWLEN, &ow), 0);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(count_entries(dir), 1);
	assert_int_equal(dpk_keystore_read_file(file, (const uint8_t *)PW, PWLEN, NULL, &back, NULL), 0);
	assert_memory_equal(back.priv, b.priv, 32);

	/* A dangling symlink at the target counts as existing: not followed. */
	snprintf(other, sizeof(other), "%s/link.json", dir);
	assert_int_equal(symlink("/nonexistent/dpk-target", other), 0);
	assert_int_equal(dpk_keystore_write_file(other, &a, (const uint8_t *)PW, PWLEN, &light),
	    DPK_ERR_EXISTS);
	assert_int_equal(unlink(other), 0);

	/* Missing directory: an I/O error and nothing created. */
	snprintf(other, sizeof(other), "%s/nodir/key.json", dir);
	assert_int_equal(dpk_keystore_write_file(other, &a, (const uint8_t *)PW, PWLEN, &light), DPK_ERR_IO);
	assert_int_equal(count_entries(dir), 1);
	assert_int_equal(dpk_keystore_write_file("", &a, (const uint8_t *)PW, PWLEN, &light), DPK_ERR_INVALID);
	assert_int_equal(dpk_keystore_write_file(dir, &a, (const uint8_t *)PW, PWLEN, &light), DPK_ERR_EXISTS);
	{
		char slash[300];

		snprintf(slash, sizeof(slash), "%s/", dir);
		assert_int_equal(dpk_keystore_write_file(slash, &a, (const uint8_t *)PW, PWLEN, &light),
		    DPK_ERR_INVALID);
	}

	/* Reading: missing file, a directory, an oversized file. */
	snprintf(other, sizeof(other), "%s/absent.json", dir);
	assert_int_equal(dpk_keystore_read_file(other, (const uint8_t *)PW, PWLEN, NULL, &back, NULL), DPK_ERR_IO);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(dpk_keystore_read_file(dir, (const uint8_t *)PW, PWLEN, NULL, &back, NULL),
	    DPK_ERR_INVALID);
	{
		char *pad = malloc(DPK_KEYSTORE_MAX_FILE + 1);

		assert_non_null(pad);
		memset(pad, ' ', DPK_KEYSTORE_MAX_FILE + 1);
		memcpy(pad, before.data, before.len);
		snprintf(other, sizeof(other), "%s/big.json", dir);
		write_text(other, pad, DPK_KEYSTORE_MAX_FILE + 1);
		assert_int_equal(dpk_keystore_read_file(other, (const uint8_t *)PW, PWLEN, NULL, &back, NULL),
		    DPK_ERR_TOOBIG);
		write_text(other, pad, DPK_KEYSTORE_MAX_FILE);
		assert_int_equal(dpk_keystore_read_file(other, (const uint8_t *)PW, PWLEN, NULL, &back, NULL), 0);
		assert_memory_equal(back.priv, a.priv, 32);
		free(pad);
	}
	dpk_buf_free(&before);
	dpk_wallet_clear(&a);
	dpk_wallet_clear(&b);
	dpk_wallet_clear(&back);
	dpk_test_rmtree(dir);
}

static void
test_bad_args(void **state)
{
	struct dpk_wallet w, zero;
	struct dpk_buf b;

	memset(&zero, 0, sizeof(zero));
	dpk_buf_init(&b, DPK_KEYSTORE_MAX_FILE);
	assert_int_equal(dpk_keystore_decrypt(NULL, 0, NULL, 0, NULL, &w, NULL), DPK_ERR_INVALID);
	assert_int_equal(dpk_keystore_decrypt("{}", 2, NULL, 5, NULL, &w, NULL), DPK_ERR_INVALID);
	assert_int_equal(dpk_keystore_decrypt("{}", 2, NULL, 0, NULL, NULL, NULL), DPK_ERR_INVALID);
	/* Not a valid key: nothing is written. */
	assert_int_equal(dpk_keystore_encrypt(&zero, (const uint8_t *)PW, PWLEN, &light, &b), DPK_ERR_INVALID);
	assert_int_equal(b.len, 0);
	assert_int_equal(dpk_keystore_encrypt(NULL, (const uint8_t *)PW, PWLEN, &light, &b), DPK_ERR_INVALID);
	dpk_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ethereum_tests_vectors),
		cmocka_unit_test(test_geth_vectors),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_default_params),
		cmocka_unit_test(test_cast_reads_ours),
		cmocka_unit_test(test_we_read_casts),
		cmocka_unit_test(test_truncated_and_size),
		cmocka_unit_test(test_malformed_fields),
		cmocka_unit_test(test_malformed_text),
		cmocka_unit_test(test_hostile_kdf),
		cmocka_unit_test(test_file_write),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
