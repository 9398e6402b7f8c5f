/* Login challenge and response texts (login_msg.h). base64url is
 * libsodium's (URL-safe alphabet, no padding), whose decoder refuses
 * padding and non-zero spare bits; the alphabet is checked here first
 * (found by tests/fuzz/fuzz_login): one spelling each. */
#include "login/login_msg.h"

#include "base/err.h"
#include "wire.h"

#include <sodium.h>
#include <string.h>

int
dpk_login_service_ok(const char *s, size_t n)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";

	if (n == 0 || n > DPK_LOGIN_SERVICE_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(ok, s[i]) == NULL)
			return -1;
	return 0;
}

/* 0 if text (n bytes) is an identity in its canonical form. */
static int
canonical_identity(const char *text, size_t n)
{
	struct dpk_identity id;
	char f[DPK_IDENTITY_FORMAT_SIZE];

	if (n == 0 || dpk_identity_parse(text, n, &id) != 0 || dpk_identity_format(&id, f, sizeof(f)) != 0)
		return -1;
	return strlen(f) == n && memcmp(f, text, n) == 0 ? 0 : -1;
}

static void
put_field(uint8_t *out, size_t *off, const char *s)
{
	size_t n = strlen(s);

	out[(*off)++] = (uint8_t)n;
	memcpy(out + *off, s, n);
	*off += n;
}

int
dpk_login_challenge_body(const struct dpk_login_challenge *ch, uint8_t out[DPK_LOGIN_BODY_MAX], size_t *n)
{
	size_t hl = strnlen(ch->host, sizeof(ch->host)), ul = strnlen(ch->user, sizeof(ch->user)),
	    sl = strnlen(ch->service, sizeof(ch->service)), off = 0;

	*n = 0;
	if (hl == sizeof(ch->host) || ul == sizeof(ch->user) || canonical_identity(ch->host, hl) != 0 ||
	    canonical_identity(ch->user, ul) != 0 || dpk_login_service_ok(ch->service, sl) != 0)
		return DPK_ERR_INVALID;
	if (1 + 8 + DPK_LOGIN_NONCE_LEN + 3 + hl + ul + sl > DPK_LOGIN_BODY_MAX)
		return DPK_ERR_TOOBIG;
	out[off++] = 1;
	for (int i = 7; i >= 0; i--)
		out[off++] = (uint8_t)(ch->expiry >> (8 * i));
	memcpy(out + off, ch->nonce, DPK_LOGIN_NONCE_LEN);
	off += DPK_LOGIN_NONCE_LEN;
	put_field(out, &off, ch->host);
	put_field(out, &off, ch->user);
	put_field(out, &off, ch->service);
	*n = off;
	return 0;
}

/* prefix + base64url(bin) into out, NUL-terminated, at most max chars. */
static int
encode_text(const char *prefix, const uint8_t *bin, size_t n, size_t max, char *out, size_t outsz)
{
	size_t pl = strlen(prefix), need = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);

	if (pl + need - 1 > max)
		return DPK_ERR_TOOBIG;
	if (outsz < pl + need)
		return DPK_ERR_INVALID;
	memcpy(out, prefix, pl);
	sodium_bin2base64(out + pl, outsz - pl, bin, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return 0;
}

#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* Strip prefix and decode: the bytes into bin (cap bytes), *n their number. */
static int
decode_text(const char *prefix, const char *text, size_t len, size_t max, uint8_t *bin, size_t cap, size_t *n)
{
	size_t pl = strlen(prefix);

	*n = 0;
	if (len > max)
		return DPK_ERR_TOOBIG;
	if (len < pl || memcmp(text, prefix, pl) != 0)
		return DPK_ERR_SYNTAX;
	/* the alphabet checked here: libsodium's decoder takes some bytes over
	 * 0x7f for letters, which would give one message a second spelling */
	if (len == pl)
		return DPK_ERR_SYNTAX;
	for (size_t i = pl; i < len; i++) /* text is not NUL-terminated */
		if (text[i] == '\0' || strchr(B64URL, text[i]) == NULL)
			return DPK_ERR_SYNTAX;
	if (sodium_base642bin(bin, cap, text + pl, len - pl, NULL, n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return DPK_ERR_SYNTAX;
	return 0;
}

int
dpk_login_challenge_encode(const struct dpk_login_challenge *ch, char *out, size_t outsz)
{
	uint8_t body[DPK_LOGIN_BODY_MAX];
	size_t n;
	int r;

	if ((r = dpk_login_challenge_body(ch, body, &n)) != 0)
		return r;
	return encode_text(DPK_LOGIN_CHALLENGE_PREFIX, body, n, DPK_LOGIN_CHALLENGE_TEXT_MAX, out, outsz);
}

/* A u8-length text field into out (outsz > 255), NUL-terminated. */
static int
get_field(struct dpk_cursor *c, char *out, size_t outsz)
{
	const uint8_t *p;
	uint8_t n;
	int r;

	if ((r = dpk_cursor_get_u8(c, &n)) != 0 || (r = dpk_cursor_take(c, n, &p)) != 0)
		return r;
	if (n >= outsz)
		return DPK_ERR_TOOBIG;
	memcpy(out, p, n);
	out[n] = '\0';
	return memchr(p, '\0', n) != NULL ? DPK_ERR_SYNTAX : 0;
}

int
dpk_login_challenge_decode(const char *text, size_t len, struct dpk_login_challenge *ch)
{
	uint8_t body[DPK_LOGIN_BODY_MAX], version;
	struct dpk_cursor c;
	const uint8_t *nonce;
	size_t n;
	int r;

	memset(ch, 0, sizeof(*ch));
	if ((r = decode_text(DPK_LOGIN_CHALLENGE_PREFIX, text, len, DPK_LOGIN_CHALLENGE_TEXT_MAX, body,
	    sizeof(body), &n)) != 0)
		return r;
	dpk_cursor_init(&c, body, n);
	if ((r = dpk_cursor_get_u8(&c, &version)) != 0)
		goto out;
	if (version != 1) {
		r = DPK_ERR_UNSUPPORTED;
		goto out;
	}
	if ((r = dpk_cursor_get_be64(&c, &ch->expiry)) != 0 ||
	    (r = dpk_cursor_take(&c, DPK_LOGIN_NONCE_LEN, &nonce)) != 0)
		goto out;
	memcpy(ch->nonce, nonce, DPK_LOGIN_NONCE_LEN);
	if ((r = get_field(&c, ch->host, sizeof(ch->host))) != 0 ||
	    (r = get_field(&c, ch->user, sizeof(ch->user))) != 0 ||
	    (r = get_field(&c, ch->service, sizeof(ch->service))) != 0 || (r = dpk_cursor_done(&c)) != 0)
		goto out;
	if (canonical_identity(ch->host, strlen(ch->host)) != 0 || canonical_identity(ch->user, strlen(ch->user)) != 0 ||
	    dpk_login_service_ok(ch->service, strlen(ch->service)) != 0)
		r = DPK_ERR_SYNTAX;
out:
	if (r != 0)
		memset(ch, 0, sizeof(*ch));
	return r;
}

int
dpk_login_signed_bytes(const struct dpk_login_challenge *ch, struct dpk_buf *out)
{
	uint8_t body[DPK_LOGIN_BODY_MAX];
	size_t n;
	int r;

	if ((r = dpk_login_challenge_body(ch, body, &n)) != 0)
		return r;
	if ((r = dpk_buf_put(out, DPK_LOGIN_CONTEXT, sizeof(DPK_LOGIN_CONTEXT))) != 0) /* with its NUL */
		return r;
	return dpk_buf_put(out, body, n);
}

int
dpk_login_response_encode(const uint8_t *sig, size_t siglen, char *out, size_t outsz)
{
	if (siglen == 0)
		return DPK_ERR_INVALID;
	if (siglen > DPK_LOGIN_SIG_MAX)
		return DPK_ERR_TOOBIG;
	return encode_text(DPK_LOGIN_RESPONSE_PREFIX, sig, siglen, DPK_LOGIN_RESPONSE_TEXT_MAX, out, outsz);
}

int
dpk_login_response_decode(const char *text, size_t len, uint8_t sig[DPK_LOGIN_SIG_MAX], size_t *n)
{
	return decode_text(DPK_LOGIN_RESPONSE_PREFIX, text, len, DPK_LOGIN_RESPONSE_TEXT_MAX, sig, DPK_LOGIN_SIG_MAX, n);
}

int
dpk_login_respond_parse(const uint8_t *body, size_t len, const char **text, size_t *textlen, int *mode)
{
	struct dpk_wire_r rd;
	const uint8_t *t;
	size_t n;
	uint8_t m;

	*text = NULL;
	*textlen = 0;
	*mode = -1;
	dpk_wire_r_init(&rd, body, len);
	t = dpk_wire_get_string(&rd, &n);
	m = dpk_wire_get_u8(&rd);
	if (t == NULL || dpk_wire_r_done(&rd) != 0 || (m != DPK_LOGIN_DESCRIBE && m != DPK_LOGIN_SIGN))
		return DPK_ERR_SYNTAX;
	*text = (const char *)t;
	*textlen = n;
	*mode = m;
	return 0;
}
