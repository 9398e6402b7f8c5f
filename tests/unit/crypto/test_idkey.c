/* Identity keys: generation, storage rules, on-chain and OpenSSH forms, with
 * ssh-keygen and openssl as independent cross-checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "base/err.h"
#include "harness.h"
#include "crypto/idkey.h"

static char dir[128];

static int
setup(void **state)
{
	dpk_test_tmpdir(dir, sizeof(dir));
	return 0;
}

static int
teardown(void **state)
{
	dpk_test_rmtree(dir);
	return 0;
}

static void
path_in(char *out, size_t outsz, const char *name)
{
	snprintf(out, outsz, "%s/%s", dir, name);
}

static void
write_text(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/* x and the parity of y (what the registry stores) give back the key; the
 * other parity gives the point's negation; an x with no point is refused */
static void
test_p256_decompress(void **state)
{
	uint8_t out[65], x[32];
	int refused = 0;
	(void)state;

	for (int i = 0; i < 8; i++) {
		struct dpk_idkey *k;
		struct dpk_buf b;

		assert_int_equal(dpk_idkey_generate(DPK_IDKEY_P256, 0, &k), 0);
		dpk_buf_init(&b, 4096);
		assert_int_equal(dpk_idkey_public_onchain(k, &b), 0);
		assert_int_equal(b.len, 65);
		assert_int_equal(dpk_idkey_p256_decompress(b.data + 1, b.data[64] & 1, out), 0);
		assert_memory_equal(out, b.data, 65);
		assert_int_equal(dpk_idkey_p256_decompress(b.data + 1, !(b.data[64] & 1), out), 0);
		assert_memory_equal(out, b.data, 33);
		assert_memory_not_equal(out + 33, b.data + 33, 32);
		assert_int_equal(out[64] & 1, !(b.data[64] & 1));
		dpk_buf_free(&b);
		dpk_idkey_free(k);
	}
	memset(x, 0xff, sizeof(x)); /* x >= p */
	assert_int_equal(dpk_idkey_p256_decompress(x, 0, out), DPK_ERR_INVALID);
	assert_true(out[0] == 0 && out[64] == 0);
	memset(x, 0, sizeof(x));
	for (int v = 1; v <= 32; v++) { /* about half of all x have no point */
		x[31] = (uint8_t)v;
		refused += dpk_idkey_p256_decompress(x, 0, out) == DPK_ERR_INVALID;
	}
	assert_true(refused > 0 && refused < 32);
	assert_int_equal(dpk_idkey_p256_decompress(NULL, 0, out), DPK_ERR_INVALID);
	assert_int_equal(dpk_idkey_p256_decompress(x, 0, NULL), DPK_ERR_INVALID);
}

static void
test_p256_store_and_load(void **state)
{
	struct dpk_idkey *k, *k2;
	struct dpk_buf a, b;
	char path[256];
	struct stat st;
	int created;

	path_in(path, sizeof(path), "p256.pem");
	assert_int_equal(dpk_idkey_load_or_create(path, DPK_IDKEY_P256, 0, &k, &created), 0);
	assert_true(created);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(dpk_idkey_alg(k), DPK_IDKEY_P256);

	/* never overwritten: saving again is refused and the file keeps the first key */
	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_P256, 0, &k2), 0);
	assert_int_equal(dpk_idkey_save(k2, path), DPK_ERR_EXISTS);
	dpk_idkey_free(k2);
	assert_int_equal(dpk_idkey_load_or_create(path, DPK_IDKEY_P256, 0, &k2, &created), 0);
	assert_false(created);
	dpk_buf_init(&a, 4096);
	dpk_buf_init(&b, 4096);
	assert_int_equal(dpk_idkey_public_onchain(k, &a), 0);
	assert_int_equal(dpk_idkey_public_onchain(k2, &b), 0);
	assert_int_equal(a.len, 65);
	assert_int_equal(a.data[0], 0x04);
	assert_memory_equal(a.data, b.data, 65);
	dpk_buf_free(&a);
	dpk_buf_free(&b);
	dpk_idkey_free(k);
	dpk_idkey_free(k2);

	/* no temporary files left behind */
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	assert_int_not_equal(access(tmp, F_OK), 0);
}

static void
test_load_refusals(void **state)
{
	struct dpk_idkey *k;
	char path[256], link[256];
	char *openssl = (char *)"/usr/bin/openssl";

	path_in(path, sizeof(path), "missing.pem");
	assert_int_equal(dpk_idkey_load(path, &k), DPK_ERR_NOTFOUND);

	/* readable by others */
	path_in(path, sizeof(path), "open.pem");
	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_P256, 0, &k), 0);
	assert_int_equal(dpk_idkey_save(k, path), 0);
	dpk_idkey_free(k);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(dpk_idkey_load(path, &k), DPK_ERR_IO);
	assert_null(k);

	/* a symlink to a good key */
	assert_int_equal(chmod(path, 0600), 0);
	path_in(link, sizeof(link), "link.pem");
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(dpk_idkey_load(link, &k), DPK_ERR_IO);

	path_in(path, sizeof(path), "garbage.pem");
	write_text(path, "-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n", 0600);
	assert_int_equal(dpk_idkey_load(path, &k), DPK_ERR_SYNTAX);
	path_in(path, sizeof(path), "empty.pem");
	write_text(path, "", 0600);
	assert_int_equal(dpk_idkey_load(path, &k), DPK_ERR_SYNTAX);

	path_in(path, sizeof(path), "huge.pem");
	{
		FILE *f = fopen(path, "w");
		for (int i = 0; i < 70000; i++)
			fputc('A', f);
		fclose(f);
		chmod(path, 0600);
	}
	assert_int_equal(dpk_idkey_load(path, &k), DPK_ERR_TOOBIG);

	/* keys of other kinds, made by openssl */
	path_in(path, sizeof(path), "p384.pem");
	char *p384[] = {openssl, (char *)"genpkey", (char *)"-algorithm", (char *)"EC", (char *)"-pkeyopt",
	    (char *)"ec_paramgen_curve:P-384", (char *)"-out", path, NULL};
	assert_int_equal(dpk_test_run(p384, NULL, NULL), 0);
	chmod(path, 0600);
	assert_int_equal(dpk_idkey_load(path, &k), DPK_ERR_UNSUPPORTED);
	path_in(path, sizeof(path), "rsa1024.pem");
	char *rsa1024[] = {openssl, (char *)"genpkey", (char *)"-algorithm", (char *)"RSA", (char *)"-pkeyopt",
	    (char *)"rsa_keygen_bits:1024", (char *)"-out", path, NULL};
	assert_int_equal(dpk_test_run(rsa1024, NULL, NULL), 0);
	chmod(path, 0600);
	assert_int_equal(dpk_idkey_load(path, &k), DPK_ERR_UNSUPPORTED);

	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_RSA, 1024, &k), DPK_ERR_INVALID);
	assert_int_equal(dpk_idkey_generate((enum dpk_idkey_alg)7, 0, &k), DPK_ERR_INVALID);
}

/* Our OpenSSH line must equal what ssh-keygen makes from the PEM public key. */
static void
check_openssh(enum dpk_idkey_alg alg, unsigned bits)
{
	char *sshkeygen = (char *)"/usr/bin/ssh-keygen";
	struct dpk_idkey *k;
	struct dpk_buf pem, onchain, line, theirs;
	char pub[256];

	assert_int_equal(dpk_idkey_generate(alg, bits, &k), 0);
	dpk_buf_init(&pem, 16384);
	dpk_buf_init(&onchain, 4096);
	dpk_buf_init(&line, 16384);
	assert_int_equal(dpk_idkey_public_pem(k, &pem), 0);
	assert_int_equal(dpk_idkey_public_onchain(k, &onchain), 0);
	assert_int_equal(dpk_idkey_onchain_to_openssh(alg, onchain.data, onchain.len, NULL, &line), 0);

	path_in(pub, sizeof(pub), "pub.pem");
	unlink(pub);
	write_text(pub, (char *)pem.data, 0600);
	char *argv[] = {sshkeygen, (char *)"-i", (char *)"-m", (char *)"PKCS8", (char *)"-f", pub, NULL};
	assert_int_equal(dpk_test_run(argv, NULL, &theirs), 0);
	dpk_test_chomp(&theirs);
	assert_string_equal((char *)line.data, (char *)theirs.data);

	/* with a comment, ssh-keygen reads it back */
	dpk_buf_reset(&line);
	line.len = 0;
	assert_int_equal(dpk_idkey_onchain_to_openssh(alg, onchain.data, onchain.len, "dpk:host.example.org", &line), 0);
	assert_non_null(strstr((char *)line.data, " dpk:host.example.org"));
	path_in(pub, sizeof(pub), "key.pub");
	unlink(pub);
	write_text(pub, (char *)line.data, 0600);
	char *fp[] = {sshkeygen, (char *)"-l", (char *)"-f", pub, NULL};
	struct dpk_buf fpout;
	assert_int_equal(dpk_test_run(fp, NULL, &fpout), 0);
	assert_non_null(strstr((char *)fpout.data, alg == DPK_IDKEY_P256 ? "(ECDSA)" : "(RSA)"));
	dpk_buf_free(&fpout);

	dpk_buf_free(&theirs);
	dpk_buf_free(&pem);
	dpk_buf_free(&onchain);
	dpk_buf_free(&line);
	dpk_idkey_free(k);
}

static void
test_openssh_p256(void **state)
{
	check_openssh(DPK_IDKEY_P256, 0);
}

static void
test_openssh_rsa(void **state)
{
	check_openssh(DPK_IDKEY_RSA, 2048);
}

static void
test_bad_onchain_keys(void **state)
{
	struct dpk_idkey *k;
	struct dpk_buf pt, der, out;
	uint8_t bad[600];

	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_P256, 0, &k), 0);
	dpk_buf_init(&pt, 4096);
	dpk_buf_init(&out, 16384);
	assert_int_equal(dpk_idkey_public_onchain(k, &pt), 0);
	dpk_idkey_free(k);

	assert_int_equal(dpk_idkey_onchain_to_openssh(DPK_IDKEY_P256, pt.data, 64, NULL, &out), DPK_ERR_INVALID);
	memcpy(bad, pt.data, 65);
	bad[0] = 0x02;
	assert_int_equal(dpk_idkey_onchain_to_openssh(DPK_IDKEY_P256, bad, 65, NULL, &out), DPK_ERR_INVALID);
	memcpy(bad, pt.data, 65);
	bad[64] ^= 1; /* off the curve */
	assert_int_equal(dpk_idkey_onchain_to_openssh(DPK_IDKEY_P256, bad, 65, NULL, &out), DPK_ERR_INVALID);
	assert_int_equal(dpk_idkey_onchain_to_openssh(DPK_IDKEY_P256, pt.data, 65, "a\nb", &out), DPK_ERR_INVALID);
	assert_int_equal(dpk_idkey_onchain_to_openssh((enum dpk_idkey_alg)9, pt.data, 65, NULL, &out), DPK_ERR_UNSUPPORTED);
	/* a P-256 point is not an RSA key */
	assert_int_equal(dpk_idkey_onchain_to_openssh(DPK_IDKEY_RSA, pt.data, 65, NULL, &out), DPK_ERR_INVALID);

	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_RSA, 2048, &k), 0);
	dpk_buf_init(&der, 4096);
	assert_int_equal(dpk_idkey_public_onchain(k, &der), 0);
	dpk_idkey_free(k);
	assert_true(der.len < sizeof(bad) - 1);
	memcpy(bad, der.data, der.len);
	bad[der.len] = 0;
	assert_int_equal(dpk_idkey_onchain_to_openssh(DPK_IDKEY_RSA, bad, der.len + 1, NULL, &out), DPK_ERR_TRAILING);
	assert_int_equal(dpk_idkey_onchain_to_openssh(DPK_IDKEY_RSA, bad, der.len - 1, NULL, &out), DPK_ERR_INVALID);
	assert_int_equal(dpk_idkey_onchain_to_openssh(DPK_IDKEY_RSA, bad, 0, NULL, &out), DPK_ERR_INVALID);
	assert_int_equal(out.len, 0); /* nothing written on any failure */
	dpk_buf_free(&der);
	dpk_buf_free(&pt);
	dpk_buf_free(&out);
}

/* The DER of a 2048-bit RSA public key with modulus n (hex) and e = 65537,
 * made without any check, into der. */
static void
rsa_der(const char *nhex, struct dpk_buf *der)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = NULL, *e = BN_new();
	unsigned char *p = NULL;
	int len;

	assert_true(BN_hex2bn(&n, nhex) > 0);
	assert_int_equal(BN_set_word(e, 65537), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e), 1);
	assert_non_null(params = OSSL_PARAM_BLD_to_param(bld));
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
	assert_true((len = i2d_PUBKEY(pkey, &p)) > 0);
	dpk_buf_reset(der);
	assert_int_equal(dpk_buf_put(der, p, (size_t)len), 0);
	OPENSSL_free(p);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
}

/* RSA keys get OpenSSL's full public-key check once per process: a key that
 * fails it is refused every time (failures are not remembered), one that
 * passed is accepted again, and passing never vouches for another key. */
static void
test_rsa_check_once(void **state)
{
	char even[513], small_factor[513];
	struct dpk_idkey *k;
	struct dpk_buf der, bad;
	EVP_PKEY *pkey = NULL;

	/* 2^2047 + 2: 2048 bits, even; 2^2047 + 1 is divisible by 3 */
	memset(even, '0', 512);
	even[0] = '8';
	even[511] = '2';
	even[512] = '\0';
	memcpy(small_factor, even, sizeof(even));
	small_factor[511] = '1';
	dpk_buf_init(&der, 4096);
	dpk_buf_init(&bad, 4096);
	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_RSA, 2048, &k), 0);
	assert_int_equal(dpk_idkey_public_onchain(k, &der), 0);
	dpk_idkey_free(k);
	for (int round = 0; round < 3; round++) {
		assert_int_equal(dpk_idkey_onchain_evp(DPK_IDKEY_RSA, der.data, der.len, &pkey), 0);
		assert_int_equal(EVP_PKEY_get_bits(pkey), 2048);
		EVP_PKEY_free(pkey);
		pkey = NULL;
		rsa_der(even, &bad);
		assert_int_equal(dpk_idkey_onchain_evp(DPK_IDKEY_RSA, bad.data, bad.len, &pkey), DPK_ERR_INVALID);
		assert_null(pkey);
		rsa_der(small_factor, &bad);
		assert_int_equal(dpk_idkey_onchain_evp(DPK_IDKEY_RSA, bad.data, bad.len, &pkey), DPK_ERR_INVALID);
		assert_int_equal(dpk_idkey_verify(DPK_IDKEY_RSA, bad.data, bad.len, "m", 1, (const uint8_t *)"s", 1),
		    DPK_ERR_INVALID);
	}
	dpk_buf_free(&der);
	dpk_buf_free(&bad);
}

/* Signatures verify with the on-chain key, and with openssl as a cross-check. */
static void
check_sign(enum dpk_idkey_alg alg, unsigned bits)
{
	static const char msg[] = "dpk challenge: host=a.example service=sshd user=b nonce=00";
	char *openssl = (char *)"/usr/bin/openssl";
	struct dpk_idkey *k;
	struct dpk_buf pub, sig, pem;
	char pempath[256], sigpath[256], msgpath[256];

	assert_int_equal(dpk_idkey_generate(alg, bits, &k), 0);
	dpk_buf_init(&pub, 4096);
	dpk_buf_init(&sig, 4096);
	dpk_buf_init(&pem, 16384);
	assert_int_equal(dpk_idkey_public_onchain(k, &pub), 0);
	assert_int_equal(dpk_idkey_public_pem(k, &pem), 0);
	assert_int_equal(dpk_idkey_sign(k, msg, strlen(msg), &sig), 0);
	assert_int_equal(dpk_idkey_verify(alg, pub.data, pub.len, msg, strlen(msg), sig.data, sig.len), 0);
	/* another message, a flipped signature bit, a truncated signature */
	assert_int_equal(dpk_idkey_verify(alg, pub.data, pub.len, msg, strlen(msg) - 1, sig.data, sig.len),
	    DPK_ERR_BADSIG);
	sig.data[sig.len / 2] ^= 0x10;
	assert_int_equal(dpk_idkey_verify(alg, pub.data, pub.len, msg, strlen(msg), sig.data, sig.len),
	    DPK_ERR_BADSIG);
	sig.data[sig.len / 2] ^= 0x10;
	assert_int_equal(dpk_idkey_verify(alg, pub.data, pub.len, msg, strlen(msg), sig.data, sig.len - 1),
	    DPK_ERR_BADSIG);
	assert_int_equal(dpk_idkey_verify(alg, pub.data, pub.len, msg, strlen(msg), sig.data, 0),
	    DPK_ERR_BADSIG);

	/* openssl pkeyutl verifies our signature */
	path_in(pempath, sizeof(pempath), "sig-pub.pem");
	path_in(sigpath, sizeof(sigpath), "sig.bin");
	path_in(msgpath, sizeof(msgpath), "msg.txt");
	unlink(pempath);
	write_text(pempath, (char *)pem.data, 0600);
	write_text(msgpath, msg, 0600);
	FILE *f = fopen(sigpath, "wb");
	fwrite(sig.data, 1, sig.len, f);
	fclose(f);
	char *ec[] = {openssl, (char *)"dgst", (char *)"-sha256", (char *)"-verify", pempath,
	    (char *)"-signature", sigpath, msgpath, NULL};
	char *rsa[] = {openssl, (char *)"dgst", (char *)"-sha256", (char *)"-verify", pempath,
	    (char *)"-sigopt", (char *)"rsa_padding_mode:pss", (char *)"-sigopt", (char *)"rsa_pss_saltlen:32",
	    (char *)"-signature", sigpath, msgpath, NULL};
	struct dpk_buf out;
	assert_int_equal(dpk_test_run(alg == DPK_IDKEY_RSA ? rsa : ec, NULL, &out), 0);
	assert_non_null(strstr((char *)out.data, "Verified OK"));
	dpk_buf_free(&out);

	dpk_buf_free(&pub);
	dpk_buf_free(&sig);
	dpk_buf_free(&pem);
	dpk_idkey_free(k);
}

static void
test_sign_p256(void **state)
{
	check_sign(DPK_IDKEY_P256, 0);
}

static void
test_sign_rsa(void **state)
{
	check_sign(DPK_IDKEY_RSA, 2048);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_p256_decompress),
		cmocka_unit_test(test_p256_store_and_load),
		cmocka_unit_test(test_load_refusals),
		cmocka_unit_test(test_openssh_p256),
		cmocka_unit_test(test_openssh_rsa),
		cmocka_unit_test(test_bad_onchain_keys),
		cmocka_unit_test(test_rsa_check_once),
		cmocka_unit_test(test_sign_p256),
		cmocka_unit_test(test_sign_rsa),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
