/* The ssh-agent messages of dpk-agent (dpk-agent/login/sshagent_msg.c): the one
 * identity listed, user-authentication requests signed (signatures checked
 * with OpenSSL, independently of the signer), and everything else refused:
 * truncated, oversized, trailing bytes, another key, data that is not a
 * user-authentication request, message types not served. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "base/err.h"
#include "crypto/idkey.h"
#include "login/sshagent_msg.h"

struct fixture {
	struct dpk_idkey *p256, *rsa, *other;
	struct dpk_sshagent_key kp, kr, ko;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_P256, 0, &f->p256), 0);
	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_RSA, 2048, &f->rsa), 0);
	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_P256, 0, &f->other), 0);
	assert_int_equal(dpk_sshagent_key_init(&f->kp, f->p256, "host.example.org"), 0);
	assert_int_equal(dpk_sshagent_key_init(&f->kr, f->rsa, "rsa.example.org"), 0);
	assert_int_equal(dpk_sshagent_key_init(&f->ko, f->other, NULL), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	dpk_sshagent_key_free(&f->kp);
	dpk_sshagent_key_free(&f->kr);
	dpk_sshagent_key_free(&f->ko);
	dpk_idkey_free(f->p256);
	dpk_idkey_free(f->rsa);
	dpk_idkey_free(f->other);
	free(f);
	return 0;
}

static void
put_u32(struct dpk_buf *b, uint32_t v)
{
	uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	assert_int_equal(dpk_buf_put(b, be, 4), 0);
}

static void
put_str(struct dpk_buf *b, const void *p, size_t n)
{
	put_u32(b, (uint32_t)n);
	assert_int_equal(dpk_buf_put(b, p, n), 0);
}

static void
put_cstr(struct dpk_buf *b, const char *s)
{
	put_str(b, s, strlen(s));
}

/* The to-be-signed part of a user-authentication request, as ssh builds it. */
struct ua_spec {
	size_t sidlen;
	uint8_t msg;
	const char *user, *service, *method;
	uint8_t sig;
	const char *alg;
	const struct dpk_buf *key;
};

static void
build_userauth(struct dpk_buf *b, const struct ua_spec *u)
{
	uint8_t sid[80];

	memset(sid, 0xa5, sizeof(sid));
	dpk_buf_init(b, 1 << 20);
	put_str(b, sid, u->sidlen);
	assert_int_equal(dpk_buf_put_u8(b, u->msg), 0);
	put_cstr(b, u->user);
	put_cstr(b, u->service);
	put_cstr(b, u->method);
	assert_int_equal(dpk_buf_put_u8(b, u->sig), 0);
	put_cstr(b, u->alg);
	put_str(b, u->key->data, u->key->len);
	if (strcmp(u->method, "publickey-hostbound-v00@openssh.com") == 0)
		put_str(b, "hostkeyblob", 11);
}

static struct ua_spec
good_ua(const struct dpk_sshagent_key *k, const char *alg)
{
	return (struct ua_spec){32, 50, "alice.example.org", "ssh-connection", "publickey", 1, alg, &k->blob};
}

static void
build_sign(struct dpk_buf *m, const struct dpk_buf *keyblob, const struct dpk_buf *data, uint32_t flags)
{
	dpk_buf_init(m, 1 << 20);
	assert_int_equal(dpk_buf_put_u8(m, DPK_SSH_AGENTC_SIGN_REQUEST), 0);
	put_str(m, keyblob->data, keyblob->len);
	put_str(m, data->data, data->len);
	put_u32(m, flags);
}

/* The reply's type, and the reply in *out (freed by the caller). */
static uint8_t
ask(const struct dpk_sshagent_key *k, const uint8_t *msg, size_t len, struct dpk_buf *out)
{
	const char *why = "unset";

	dpk_buf_init(out, DPK_SSHAGENT_REPLY_MAX);
	assert_int_equal(dpk_sshagent_answer(k, msg, len, out, &why), 0);
	assert_true(out->len >= 1);
	if (out->data[0] == DPK_SSH_AGENT_FAILURE) {
		assert_int_equal(out->len, 1);
		assert_non_null(why);
	} else {
		assert_null(why);
	}
	return out->data[0];
}

static void
assert_refused(const struct dpk_sshagent_key *k, const uint8_t *msg, size_t len)
{
	struct dpk_buf out;

	assert_int_equal(ask(k, msg, len, &out), DPK_SSH_AGENT_FAILURE);
	dpk_buf_free(&out);
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Read a string at *p (within end); advance. */
static const uint8_t *
get_str(const uint8_t **p, const uint8_t *end, size_t *n)
{
	const uint8_t *s;

	assert_true(end - *p >= 4);
	*n = get_u32(*p);
	assert_true((size_t)(end - *p - 4) >= *n);
	s = *p + 4;
	*p = s + *n;
	return s;
}

static void
test_identities(void **state)
{
	struct fixture *f = *state;
	uint8_t req = DPK_SSH_AGENTC_REQUEST_IDENTITIES;
	struct dpk_buf out, pub, line;
	const uint8_t *p, *end, *s;
	unsigned char b64[512];
	size_t n;

	assert_int_equal(ask(&f->kp, &req, 1, &out), DPK_SSH_AGENT_IDENTITIES_ANSWER);
	p = out.data + 1;
	end = out.data + out.len;
	assert_int_equal(get_u32(p), 1);
	p += 4;
	s = get_str(&p, end, &n);
	/* the blob is the one of the OpenSSH line that dpkctl pubkey --openssh prints */
	dpk_buf_init(&pub, 4096);
	dpk_buf_init(&line, 4096);
	assert_int_equal(dpk_idkey_public_onchain(f->p256, &pub), 0);
	assert_int_equal(dpk_idkey_onchain_to_openssh(DPK_IDKEY_P256, pub.data, pub.len, NULL, &line), 0);
	EVP_EncodeBlock(b64, s, (int)n);
	assert_string_equal((const char *)line.data + strlen("ecdsa-sha2-nistp256 "), (const char *)b64);
	s = get_str(&p, end, &n);
	assert_int_equal(n, strlen("host.example.org"));
	assert_memory_equal(s, "host.example.org", n);
	assert_ptr_equal(p, end);
	dpk_buf_free(&out);
	dpk_buf_free(&pub);
	dpk_buf_free(&line);
}

/* Verify a SIGN_RESPONSE over data with OpenSSL: sigalg expected. */
static void
verify_response(const struct dpk_buf *out, struct dpk_idkey *key, const char *sigalg, const struct dpk_buf *data)
{
	const uint8_t *p = out->data + 1, *end = out->data + out->len, *blob, *q, *qend, *name, *sig;
	size_t bloblen, namelen, siglen;

	assert_int_equal(out->data[0], DPK_SSH_AGENT_SIGN_RESPONSE);
	blob = get_str(&p, end, &bloblen);
	assert_ptr_equal(p, end);
	q = blob;
	qend = blob + bloblen;
	name = get_str(&q, qend, &namelen);
	assert_int_equal(namelen, strlen(sigalg));
	assert_memory_equal(name, sigalg, namelen);
	sig = get_str(&q, qend, &siglen);
	assert_ptr_equal(q, qend);
	if (dpk_idkey_alg(key) == DPK_IDKEY_P256) {
		/* string(mpint r, mpint s) -> DER, checked by dpk_idkey_verify (ECDSA-SHA256) */
		const uint8_t *m = sig, *mend = sig + siglen, *r, *s;
		size_t rl, sl;
		ECDSA_SIG *es = ECDSA_SIG_new();
		unsigned char *der = NULL;
		struct dpk_buf pub;
		int derlen;

		r = get_str(&m, mend, &rl);
		s = get_str(&m, mend, &sl);
		assert_ptr_equal(m, mend);
		assert_true(rl >= 1 && rl <= 33 && sl >= 1 && sl <= 33);
		assert_int_equal(r[0] & 0x80, 0); /* positive mpints */
		assert_int_equal(s[0] & 0x80, 0);
		assert_int_equal(ECDSA_SIG_set0(es, BN_bin2bn(r, (int)rl, NULL), BN_bin2bn(s, (int)sl, NULL)), 1);
		assert_true((derlen = i2d_ECDSA_SIG(es, &der)) > 0);
		dpk_buf_init(&pub, 4096);
		assert_int_equal(dpk_idkey_public_onchain(key, &pub), 0);
		assert_int_equal(dpk_idkey_verify(DPK_IDKEY_P256, pub.data, pub.len, data->data, data->len, der,
		    (size_t)derlen), 0);
		/* and not over other data */
		assert_int_equal(dpk_idkey_verify(DPK_IDKEY_P256, pub.data, pub.len, data->data, data->len - 1, der,
		    (size_t)derlen), DPK_ERR_BADSIG);
		OPENSSL_free(der);
		ECDSA_SIG_free(es);
		dpk_buf_free(&pub);
	} else {
		struct dpk_buf pem;
		BIO *bio;
		EVP_PKEY *pk;
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		EVP_PKEY_CTX *pctx = NULL;

		dpk_buf_init(&pem, 16384);
		assert_int_equal(dpk_idkey_public_pem(key, &pem), 0);
		bio = BIO_new_mem_buf(pem.data, (int)pem.len);
		assert_non_null(pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL));
		assert_int_equal(siglen, (size_t)EVP_PKEY_get_size(pk));
		assert_int_equal(EVP_DigestVerifyInit_ex(md, &pctx, strcmp(sigalg, "rsa-sha2-512") == 0 ? "SHA512" : "SHA256",
		    NULL, NULL, pk, NULL), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING), 1);
		assert_int_equal(EVP_DigestVerify(md, sig, siglen, data->data, data->len), 1);
		EVP_MD_CTX_free(md);
		EVP_PKEY_free(pk);
		BIO_free(bio);
		dpk_buf_free(&pem);
	}
}

static void
sign_ok(const struct dpk_sshagent_key *k, struct dpk_idkey *key, const struct ua_spec *u, uint32_t flags,
    const char *sigalg)
{
	struct dpk_buf data, msg, out;

	build_userauth(&data, u);
	build_sign(&msg, &k->blob, &data, flags);
	assert_int_equal(ask(k, msg.data, msg.len, &out), DPK_SSH_AGENT_SIGN_RESPONSE);
	verify_response(&out, key, sigalg, &data);
	dpk_buf_free(&data);
	dpk_buf_free(&msg);
	dpk_buf_free(&out);
}

static void
sign_refused(const struct dpk_sshagent_key *k, const struct ua_spec *u, uint32_t flags)
{
	struct dpk_buf data, msg;

	build_userauth(&data, u);
	build_sign(&msg, &k->blob, &data, flags);
	assert_refused(k, msg.data, msg.len);
	dpk_buf_free(&data);
	dpk_buf_free(&msg);
}

static void
test_sign_p256(void **state)
{
	struct fixture *f = *state;
	struct ua_spec u = good_ua(&f->kp, "ecdsa-sha2-nistp256");

	sign_ok(&f->kp, f->p256, &u, 0, "ecdsa-sha2-nistp256");
	u.method = "publickey-hostbound-v00@openssh.com";
	sign_ok(&f->kp, f->p256, &u, 0, "ecdsa-sha2-nistp256");
	u.method = "publickey";
	u.sidlen = 20;
	sign_ok(&f->kp, f->p256, &u, 0, "ecdsa-sha2-nistp256");
	u.sidlen = 64;
	sign_ok(&f->kp, f->p256, &u, 0, "ecdsa-sha2-nistp256");
}

static void
test_sign_rsa(void **state)
{
	struct fixture *f = *state;
	struct ua_spec u = good_ua(&f->kr, "rsa-sha2-256");

	sign_ok(&f->kr, f->rsa, &u, DPK_SSH_AGENT_RSA_SHA2_256, "rsa-sha2-256");
	u.alg = "rsa-sha2-512";
	sign_ok(&f->kr, f->rsa, &u, DPK_SSH_AGENT_RSA_SHA2_512, "rsa-sha2-512");
	sign_ok(&f->kr, f->rsa, &u, DPK_SSH_AGENT_RSA_SHA2_512 | DPK_SSH_AGENT_RSA_SHA2_256, "rsa-sha2-512");
	/* SHA-1 ssh-rsa is never made */
	u.alg = "ssh-rsa";
	sign_refused(&f->kr, &u, 0);
	/* the flags and the request's algorithm must agree */
	u.alg = "rsa-sha2-512";
	sign_refused(&f->kr, &u, DPK_SSH_AGENT_RSA_SHA2_256);
	u.alg = "rsa-sha2-256";
	sign_refused(&f->kr, &u, DPK_SSH_AGENT_RSA_SHA2_512);
}

/* Data that is not an SSH user-authentication request for our key. */
static void
test_not_userauth(void **state)
{
	struct fixture *f = *state;
	struct ua_spec u;
	struct dpk_buf data, msg;
	static const char *const others[] = {
		"DPK-LOGIN-v1 challenge", "DPK-PSK-v1 transcript", "DPK-TICKET-v1 ticket",
		"SSHSIG\0\0\0\4file\0\0\0\0\0\0\0\6sha512\0\0\0\x40", "",
	};

	u = good_ua(&f->kp, "ecdsa-sha2-nistp256");
	u.msg = 51; /* not SSH_MSG_USERAUTH_REQUEST */
	sign_refused(&f->kp, &u, 0);
	u = good_ua(&f->kp, "ecdsa-sha2-nistp256");
	u.service = "ssh-userauth";
	sign_refused(&f->kp, &u, 0);
	u = good_ua(&f->kp, "ecdsa-sha2-nistp256");
	u.method = "hostbased";
	sign_refused(&f->kp, &u, 0);
	u = good_ua(&f->kp, "ecdsa-sha2-nistp256");
	u.sig = 0; /* a query without signature is never signed */
	sign_refused(&f->kp, &u, 0);
	u.sig = 2;
	sign_refused(&f->kp, &u, 0);
	u = good_ua(&f->kp, "ecdsa-sha2-nistp256");
	u.sidlen = 19;
	sign_refused(&f->kp, &u, 0);
	u.sidlen = 65;
	sign_refused(&f->kp, &u, 0);
	u = good_ua(&f->kp, "ecdsa-sha2-nistp256");
	u.user = "";
	sign_refused(&f->kp, &u, 0);
	u = good_ua(&f->kp, "ssh-ed25519");
	sign_refused(&f->kp, &u, 0);
	/* the request names another key (the sign request names ours) */
	u = good_ua(&f->ko, "ecdsa-sha2-nistp256");
	sign_refused(&f->kp, &u, 0);
	/* other protocols' data, sshsig included */
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		dpk_buf_init(&data, 4096);
		assert_int_equal(dpk_buf_put(&data, others[i], strlen(others[i])), 0);
		build_sign(&msg, &f->kp.blob, &data, 0);
		assert_refused(&f->kp, msg.data, msg.len);
		dpk_buf_free(&data);
		dpk_buf_free(&msg);
	}
}

static void
test_user_with_nul(void **state)
{
	struct fixture *f = *state;
	struct dpk_sshagent_userauth ua;
	struct ua_spec u = good_ua(&f->kp, "ecdsa-sha2-nistp256");
	struct dpk_buf data;
	const char *why;
	size_t off = 4 + 32 + 1 + 4; /* the user name's first byte */

	build_userauth(&data, &u);
	assert_int_equal(dpk_sshagent_parse_userauth(data.data, data.len, &ua, &why), 0);
	assert_int_equal(ua.userlen, strlen("alice.example.org"));
	assert_memory_equal(ua.user, "alice.example.org", ua.userlen);
	assert_false(ua.hostbound);
	data.data[off + 5] = 0;
	assert_int_equal(dpk_sshagent_parse_userauth(data.data, data.len, &ua, &why), DPK_ERR_SYNTAX);
	assert_non_null(why);
	dpk_buf_free(&data);
}

static void
test_wrong_key(void **state)
{
	struct fixture *f = *state;
	struct ua_spec u = good_ua(&f->ko, "ecdsa-sha2-nistp256");
	struct dpk_buf data, msg;

	/* a valid request for another key: this agent does not hold it */
	build_userauth(&data, &u);
	build_sign(&msg, &f->ko.blob, &data, 0);
	assert_refused(&f->kp, msg.data, msg.len);
	dpk_buf_free(&msg);
	/* the RSA key's blob at the P-256 agent */
	build_sign(&msg, &f->kr.blob, &data, DPK_SSH_AGENT_RSA_SHA2_256);
	assert_refused(&f->kp, msg.data, msg.len);
	dpk_buf_free(&msg);
	dpk_buf_free(&data);
}

static void
test_truncated_and_trailing(void **state)
{
	struct fixture *f = *state;
	struct ua_spec u = good_ua(&f->kp, "ecdsa-sha2-nistp256");
	struct dpk_buf data, msg, out;
	uint8_t ids[2] = {DPK_SSH_AGENTC_REQUEST_IDENTITIES, 0};

	build_userauth(&data, &u);
	build_sign(&msg, &f->kp.blob, &data, 0);
	for (size_t n = 0; n < msg.len; n++)
		assert_refused(&f->kp, msg.data, n);
	/* the whole message signs; one byte more does not */
	assert_int_equal(ask(&f->kp, msg.data, msg.len, &out), DPK_SSH_AGENT_SIGN_RESPONSE);
	dpk_buf_free(&out);
	assert_int_equal(dpk_buf_put_u8(&msg, 0), 0);
	assert_refused(&f->kp, msg.data, msg.len);
	dpk_buf_free(&msg);
	/* a byte after the user-authentication request inside the data */
	assert_int_equal(dpk_buf_put_u8(&data, 0), 0);
	build_sign(&msg, &f->kp.blob, &data, 0);
	assert_refused(&f->kp, msg.data, msg.len);
	dpk_buf_free(&msg);
	/* truncated inside the data (the outer lengths consistent) */
	data.len -= 2;
	build_sign(&msg, &f->kp.blob, &data, 0);
	assert_refused(&f->kp, msg.data, msg.len);
	dpk_buf_free(&msg);
	dpk_buf_free(&data);
	assert_refused(&f->kp, ids, 2); /* REQUEST_IDENTITIES has no body */
}

static void
test_oversized(void **state)
{
	struct fixture *f = *state;
	struct dpk_buf msg, data;
	uint8_t hdr[] = {DPK_SSH_AGENTC_SIGN_REQUEST, 0xff, 0xff, 0xff, 0xff};

	/* a string length past the end of the message */
	assert_refused(&f->kp, hdr, sizeof(hdr));
	/* a key blob field longer than any key */
	dpk_buf_init(&msg, 1 << 20);
	assert_int_equal(dpk_buf_put_u8(&msg, DPK_SSH_AGENTC_SIGN_REQUEST), 0);
	put_u32(&msg, 20000);
	for (int i = 0; i < 20000; i++)
		assert_int_equal(dpk_buf_put_u8(&msg, 0), 0);
	put_str(&msg, "x", 1);
	put_u32(&msg, 0);
	assert_refused(&f->kp, msg.data, msg.len);
	dpk_buf_free(&msg);
	/* data of a user name longer than 1024 bytes */
	{
		char user[1100];
		struct ua_spec u = good_ua(&f->kp, "ecdsa-sha2-nistp256");

		memset(user, 'a', sizeof(user) - 1);
		user[sizeof(user) - 1] = '\0';
		u.user = user;
		build_userauth(&data, &u);
		build_sign(&msg, &f->kp.blob, &data, 0);
		assert_refused(&f->kp, msg.data, msg.len);
		dpk_buf_free(&msg);
		dpk_buf_free(&data);
	}
}

static void
test_not_served(void **state)
{
	struct fixture *f = *state;
	/* add, remove, remove all, smartcard add/remove, lock, unlock, constrained adds, extension */
	static const uint8_t types[] = {0, 1, 5, 6, 9, 12, 14, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 255};
	uint8_t msg[16] = {0};

	assert_refused(&f->kp, msg, 0);
	for (size_t i = 0; i < sizeof(types); i++) {
		memset(msg, 0, sizeof(msg));
		msg[0] = types[i];
		assert_refused(&f->kp, msg, 1);
		assert_refused(&f->kp, msg, sizeof(msg));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identities),
		cmocka_unit_test(test_sign_p256),
		cmocka_unit_test(test_sign_rsa),
		cmocka_unit_test(test_not_userauth),
		cmocka_unit_test(test_user_with_nul),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_truncated_and_trailing),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_not_served),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
