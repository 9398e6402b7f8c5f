/* dpk-agent/login/login_msg.c: login challenge and response texts. Round trips,
 * the documented byte layout (rebuilt here from doc/protocol.md), the signed
 * bytes' context string, and refusals: truncated, oversized, trailing
 * garbage, padding, wrong alphabet, embedded NUL, non-canonical identities,
 * another version, bad service names. LOGIN_RESPOND's request body (a
 * challenge string and a mode byte): strict, the same refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "crypto/idkey.h"
#include "login/login_msg.h"

static void
sample(struct dpk_login_challenge *ch)
{
	memset(ch, 0, sizeof(*ch));
	ch->expiry = 0x0102030405060708ull;
	for (int i = 0; i < DPK_LOGIN_NONCE_LEN; i++)
		ch->nonce[i] = (uint8_t)(0xa0 + i);
	snprintf(ch->host, sizeof(ch->host), "%s", "host.example.org");
	snprintf(ch->user, sizeof(ch->user), "%s", "alice.example.org");
	snprintf(ch->service, sizeof(ch->service), "%s", "sshd");
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url without padding, written out again from RFC 4648 section 5. */
static void
b64(const uint8_t *p, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);

		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		if (i + 1 < n)
			out[o++] = b64url[v >> 6 & 63];
		if (i + 2 < n)
			out[o++] = b64url[v & 63];
	}
	out[o] = '\0';
}

static size_t
layout(const struct dpk_login_challenge *ch, uint8_t *b)
{
	size_t n = 0;

	b[n++] = 1;
	for (int i = 7; i >= 0; i--)
		b[n++] = (uint8_t)(ch->expiry >> (8 * i));
	memcpy(b + n, ch->nonce, 16);
	n += 16;
	const char *f[3] = {ch->host, ch->user, ch->service};
	for (int i = 0; i < 3; i++) {
		b[n++] = (uint8_t)strlen(f[i]);
		memcpy(b + n, f[i], strlen(f[i]));
		n += strlen(f[i]);
	}
	return n;
}

static int
decode(const char *text, struct dpk_login_challenge *ch)
{
	return dpk_login_challenge_decode(text, strlen(text), ch);
}

/* The challenge text of raw body bytes. */
static void
text_of(const uint8_t *body, size_t n, char *out)
{
	memcpy(out, DPK_LOGIN_CHALLENGE_PREFIX, sizeof(DPK_LOGIN_CHALLENGE_PREFIX));
	b64(body, n, out + strlen(out));
}

static void
test_challenge_layout_and_round_trip(void **state)
{
	struct dpk_login_challenge ch, back;
	uint8_t body[400];
	char text[1200], want[1200];
	size_t n;

	(void)state;
	sample(&ch);
	assert_int_equal(dpk_login_challenge_encode(&ch, text, sizeof(text)), 0);
	n = layout(&ch, body);
	text_of(body, n, want);
	assert_string_equal(text, want);
	assert_int_equal(decode(text, &back), 0);
	assert_memory_equal(&back, &ch, sizeof(ch));

	/* the signed bytes: the context string and its NUL, then the body */
	struct dpk_buf sb;
	dpk_buf_init(&sb, 1024);
	assert_int_equal(dpk_login_signed_bytes(&ch, &sb), 0);
	assert_int_equal(sb.len, 13 + n);
	assert_memory_equal(sb.data, "DPK-LOGIN-v1\0", 13);
	assert_memory_equal(sb.data + 13, body, n);
	dpk_buf_free(&sb);

	/* IPv6 and UUID identities, canonical */
	snprintf(ch.host, sizeof(ch.host), "%s", "2001:db8::1");
	snprintf(ch.user, sizeof(ch.user), "%s", "123e4567-e89b-12d3-a456-426614174000");
	assert_int_equal(dpk_login_challenge_encode(&ch, text, sizeof(text)), 0);
	assert_int_equal(decode(text, &back), 0);
	assert_string_equal(back.host, "2001:db8::1");
}

static void
test_challenge_refused(void **state)
{
	struct dpk_login_challenge ch;
	uint8_t body[600];
	char text[1200], bad[1200];
	size_t n, tl;

	(void)state;
	sample(&ch);
	n = layout(&ch, body);
	text_of(body, n, text);
	tl = strlen(text);

	/* truncated: every shorter text */
	for (size_t cut = 0; cut < tl; cut++)
		assert_int_not_equal(dpk_login_challenge_decode(text, cut, &ch), 0);
	/* the body one byte short, one byte over (trailing garbage) */
	text_of(body, n - 1, bad);
	assert_int_equal(decode(bad, &ch), DPK_ERR_TRUNCATED);
	body[n] = 0;
	text_of(body, n + 1, bad);
	assert_int_equal(decode(bad, &ch), DPK_ERR_TRAILING);
	/* padding, white space, the standard alphabet, an embedded NUL, no prefix */
	snprintf(bad, sizeof(bad), "%s=", text);
	assert_int_equal(decode(bad, &ch), DPK_ERR_SYNTAX);
	snprintf(bad, sizeof(bad), "%s\n", text);
	assert_int_equal(decode(bad, &ch), DPK_ERR_SYNTAX);
	snprintf(bad, sizeof(bad), "%s", text);
	bad[20] = '+';
	assert_int_equal(decode(bad, &ch), DPK_ERR_SYNTAX);
	/* a byte over 0x7f (libsodium alone would read some as letters) */
	for (int c = 0x80; c <= 0xff; c++) {
		snprintf(bad, sizeof(bad), "%s", text);
		bad[18] = (char)c;
		assert_int_equal(decode(bad, &ch), DPK_ERR_SYNTAX);
	}
	memcpy(bad, text, tl);
	bad[20] = '\0';
	assert_int_equal(dpk_login_challenge_decode(bad, tl, &ch), DPK_ERR_SYNTAX);
	assert_int_equal(decode(text + 1, &ch), DPK_ERR_SYNTAX);
	assert_int_equal(decode("DPK-LOGIN-v1.", &ch), DPK_ERR_SYNTAX);
	assert_int_equal(decode("DPK-RESPONSE-v1.AAAA", &ch), DPK_ERR_SYNTAX);
	/* non-zero spare bits in the last character: another spelling */
	text_of(body, n, bad);
	{
		char *last = bad + strlen(bad) - 1;
		const char *pos = strchr(b64url, *last);

		*last = b64url[(pos - b64url) | 1];
		assert_int_equal(decode(bad, &ch), DPK_ERR_SYNTAX);
	}
	/* another version */
	sample(&ch);
	n = layout(&ch, body);
	body[0] = 2;
	text_of(body, n, bad);
	assert_int_equal(decode(bad, &ch), DPK_ERR_UNSUPPORTED);
	/* a non-canonical user identity, a NUL in the host, a bad service */
	sample(&ch);
	snprintf(ch.user, sizeof(ch.user), "%s", "Alice.Example.org");
	n = layout(&ch, body);
	text_of(body, n, bad);
	assert_int_equal(decode(bad, &ch), DPK_ERR_SYNTAX);
	sample(&ch);
	n = layout(&ch, body);
	body[26] = 0; /* first byte of the host */
	text_of(body, n, bad);
	assert_int_equal(decode(bad, &ch), DPK_ERR_SYNTAX);
	sample(&ch);
	snprintf(ch.service, sizeof(ch.service), "%s", "ss hd");
	n = layout(&ch, body);
	text_of(body, n, bad);
	assert_int_equal(decode(bad, &ch), DPK_ERR_SYNTAX);
	assert_int_equal(dpk_login_challenge_encode(&ch, bad, sizeof(bad)), DPK_ERR_INVALID);
	/* oversized: identities too long for a prompt, and a long text */
	sample(&ch);
	for (int i = 0; i < 3; i++) { /* three 60-byte labels */
		memset(ch.host + 61 * i, 'a', 60);
		ch.host[61 * i + 60] = '.';
	}
	snprintf(ch.host + 183, sizeof(ch.host) - 183, "%s", "example.org");
	memset(ch.user, 'b', 60);
	snprintf(ch.user + 60, sizeof(ch.user) - 60, "%s", ".example.org");
	assert_int_equal(dpk_login_challenge_encode(&ch, bad, sizeof(bad)), DPK_ERR_TOOBIG);
	memset(bad, 'A', 500);
	memcpy(bad, DPK_LOGIN_CHALLENGE_PREFIX, 13);
	bad[500] = '\0';
	assert_int_equal(decode(bad, &ch), DPK_ERR_TOOBIG);
}

static void
test_response(void **state)
{
	uint8_t sig[DPK_LOGIN_SIG_MAX + 10], back[DPK_LOGIN_SIG_MAX];
	char text[700], want[700];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(sig); i++)
		sig[i] = (uint8_t)(i * 7);
	assert_int_equal(dpk_login_response_encode(sig, 72, text, sizeof(text)), 0);
	snprintf(want, sizeof(want), "%s", DPK_LOGIN_RESPONSE_PREFIX);
	b64(sig, 72, want + strlen(want));
	assert_string_equal(text, want);
	assert_int_equal(dpk_login_response_decode(text, strlen(text), back, &n), 0);
	assert_int_equal(n, 72);
	assert_memory_equal(back, sig, 72);
	/* RSA-2048 fits a PAM response; RSA-3072 does not */
	assert_int_equal(dpk_login_response_encode(sig, 256, text, sizeof(text)), 0);
	assert_true(strlen(text) <= 511);
	assert_int_equal(dpk_login_response_encode(sig, DPK_LOGIN_SIG_MAX, text, sizeof(text)), 0);
	assert_int_equal(strlen(text), 511);
	assert_int_equal(dpk_login_response_decode(text, strlen(text), back, &n), 0);
	assert_int_equal(dpk_login_response_encode(sig, 384, text, sizeof(text)), DPK_ERR_TOOBIG);
	assert_int_equal(dpk_login_response_encode(sig, 0, text, sizeof(text)), DPK_ERR_INVALID);
	/* refused: over 511 characters, no prefix, empty, padding, a NUL */
	snprintf(want, sizeof(want), "%s", DPK_LOGIN_RESPONSE_PREFIX);
	b64(sig, DPK_LOGIN_SIG_MAX + 1, want + strlen(want));
	assert_int_equal(dpk_login_response_decode(want, strlen(want), back, &n), DPK_ERR_TOOBIG);
	assert_int_equal(dpk_login_response_decode("AAAA", 4, back, &n), DPK_ERR_SYNTAX);
	assert_int_equal(dpk_login_response_decode("DPK-RESPONSE-v1.", 16, back, &n), DPK_ERR_SYNTAX);
	assert_int_equal(dpk_login_response_decode("DPK-RESPONSE-v1.AA==", 20, back, &n), DPK_ERR_SYNTAX);
	assert_int_equal(dpk_login_response_decode("DPK-RESPONSE-v1.A\0AA", 20, back, &n), DPK_ERR_SYNTAX);
	assert_int_equal(dpk_login_response_decode("DPK-RESPONSE-v1.A", 17, back, &n), DPK_ERR_SYNTAX);
}

/* A login signature cannot pass for the same key's signature of the bare
 * body (or of any other protocol's bytes): the context string is signed. */
static void
test_domain_separation(void **state)
{
	struct dpk_login_challenge ch;
	struct dpk_idkey *k;
	struct dpk_buf pub, msg, sig;
	uint8_t body[DPK_LOGIN_BODY_MAX];
	size_t n;

	(void)state;
	sample(&ch);
	assert_int_equal(dpk_idkey_generate(DPK_IDKEY_P256, 0, &k), 0);
	dpk_buf_init(&pub, 1024);
	dpk_buf_init(&msg, 1024);
	dpk_buf_init(&sig, 1024);
	assert_int_equal(dpk_idkey_public_onchain(k, &pub), 0);
	assert_int_equal(dpk_login_challenge_body(&ch, body, &n), 0);
	assert_int_equal(dpk_idkey_sign(k, body, n, &sig), 0);
	assert_int_equal(dpk_login_signed_bytes(&ch, &msg), 0);
	assert_int_equal(dpk_idkey_verify(DPK_IDKEY_P256, pub.data, pub.len, msg.data, msg.len, sig.data, sig.len),
	    DPK_ERR_BADSIG);
	dpk_buf_reset(&sig);
	assert_int_equal(dpk_idkey_sign(k, msg.data, msg.len, &sig), 0);
	assert_int_equal(dpk_idkey_verify(DPK_IDKEY_P256, pub.data, pub.len, msg.data, msg.len, sig.data, sig.len), 0);
	dpk_buf_free(&pub);
	dpk_buf_free(&msg);
	dpk_buf_free(&sig);
	dpk_idkey_free(k);
}

/* A LOGIN_RESPOND body as doc/protocol.md writes it: u32 length, the
 * challenge text, u8 mode. */
static size_t
respond_body(const char *text, size_t tl, int mode, uint8_t *b)
{
	size_t n = 0;

	b[n++] = (uint8_t)(tl >> 24);
	b[n++] = (uint8_t)(tl >> 16);
	b[n++] = (uint8_t)(tl >> 8);
	b[n++] = (uint8_t)tl;
	memcpy(b + n, text, tl);
	n += tl;
	b[n++] = (uint8_t)mode;
	return n;
}

static void
test_respond_request(void **state)
{
	struct dpk_login_challenge ch;
	uint8_t body[1200];
	char text[600];
	const char *t;
	size_t n, tl;
	int mode;

	(void)state;
	sample(&ch);
	assert_int_equal(dpk_login_challenge_encode(&ch, text, sizeof(text)), 0);
	/* both modes; the text is handed back as it came, to be decoded */
	for (int m = 0; m <= 1; m++) {
		n = respond_body(text, strlen(text), m, body);
		assert_int_equal(dpk_login_respond_parse(body, n, &t, &tl, &mode), 0);
		assert_int_equal(mode, m);
		assert_int_equal(tl, strlen(text));
		assert_ptr_equal(t, (const char *)body + 4);
	}
	assert_int_equal(DPK_LOGIN_DESCRIBE, 0);
	assert_int_equal(DPK_LOGIN_SIGN, 1);
	/* another mode */
	for (int m = 2; m <= 255; m++) {
		n = respond_body(text, strlen(text), m, body);
		assert_int_equal(dpk_login_respond_parse(body, n, &t, &tl, &mode), DPK_ERR_SYNTAX);
		assert_null(t);
		assert_int_equal(mode, -1);
	}
	/* truncated: every shorter body, including the old one-string body */
	n = respond_body(text, strlen(text), 1, body);
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(dpk_login_respond_parse(body, cut, &t, &tl, &mode), DPK_ERR_SYNTAX);
	/* trailing garbage */
	body[n] = 0;
	assert_int_equal(dpk_login_respond_parse(body, n + 1, &t, &tl, &mode), DPK_ERR_SYNTAX);
	/* a length past the end (oversized) */
	n = respond_body(text, strlen(text), 1, body);
	body[0] = 0xff;
	assert_int_equal(dpk_login_respond_parse(body, n, &t, &tl, &mode), DPK_ERR_SYNTAX);
	/* an empty challenge parses here and is refused by the decoder */
	n = respond_body("", 0, 0, body);
	assert_int_equal(dpk_login_respond_parse(body, n, &t, &tl, &mode), 0);
	assert_int_equal(tl, 0);
	assert_int_not_equal(dpk_login_challenge_decode(t, tl, &ch), 0);
	/* an embedded NUL in the challenge: the decoder refuses it */
	sample(&ch);
	assert_int_equal(dpk_login_challenge_encode(&ch, text, sizeof(text)), 0);
	text[20] = '\0';
	n = respond_body(text, strlen(text + 21) + 21, 1, body);
	assert_int_equal(dpk_login_respond_parse(body, n, &t, &tl, &mode), 0);
	assert_int_equal(dpk_login_challenge_decode(t, tl, &ch), DPK_ERR_SYNTAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_challenge_layout_and_round_trip),
		cmocka_unit_test(test_challenge_refused),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_domain_separation),
		cmocka_unit_test(test_respond_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
