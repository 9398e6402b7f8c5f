#include "enrol/token.h"

#include "base/err.h"
#include "base/hex.h"
#include "eth/keccak.h"
#include "eth/wallet.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKEN_MAGIC "dpk-token-v1"

static int
text_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return 0; /* no spaces either: both fields are single words */
	return 1;
}

int
dpk_token_new(struct dpk_token *t, const char *identity, uint64_t chain_id,
    const uint8_t contract[20], const uint8_t pkm_address[20], const char *pkm_endpoint,
    uint64_t expires)
{
	memset(t, 0, sizeof(*t));
	if (!text_ok(identity, sizeof(t->identity)) || !text_ok(pkm_endpoint, sizeof(t->pkm_endpoint)) ||
	    chain_id == 0)
		return DPK_ERR_INVALID;
	if (getrandom(t->id, sizeof(t->id), 0) != sizeof(t->id) ||
	    getrandom(t->secret, sizeof(t->secret), 0) != sizeof(t->secret)) {
		dpk_token_clear(t);
		return DPK_ERR_CRYPTO;
	}
	memcpy(t->identity, identity, strlen(identity) + 1);
	memcpy(t->pkm_endpoint, pkm_endpoint, strlen(pkm_endpoint) + 1);
	t->chain_id = chain_id;
	memcpy(t->contract, contract, 20);
	memcpy(t->pkm_address, pkm_address, 20);
	t->expires = expires;
	return 0;
}

void
dpk_token_hash(const struct dpk_token *t, uint8_t out[32])
{
	struct dpk_keccak k;

	dpk_keccak_init(&k);
	dpk_keccak_update(&k, TOKEN_MAGIC, strlen(TOKEN_MAGIC));
	dpk_keccak_update(&k, t->id, sizeof(t->id));
	dpk_keccak_update(&k, t->secret, sizeof(t->secret));
	dpk_keccak_final(&k, out);
}

void
dpk_token_psk_identity(const struct dpk_token *t, char out[43])
{
	memcpy(out, "dpk-enrol-", 10);
	dpk_hex_encode(t->id, sizeof(t->id), 0, out + 10, 33);
}

static int
put_u64(struct dpk_buf *b, uint64_t v)
{
	uint8_t be[8];

	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)(v >> (56 - 8 * i));
	return dpk_buf_put(b, be, 8);
}

/* Length-prefixed so that no two different tokens share a payload. */
static int
put_str(struct dpk_buf *b, const char *s)
{
	size_t n = strlen(s);
	int r;

	if ((r = put_u64(b, n)) != 0)
		return r;
	return dpk_buf_put(b, s, n);
}

int
dpk_token_signed_payload(const struct dpk_token *t, struct dpk_buf *out)
{
	uint8_t hash[32];
	int r;

	dpk_token_hash(t, hash);
	if ((r = put_str(out, TOKEN_MAGIC)) != 0 ||
	    (r = dpk_buf_put(out, t->id, sizeof(t->id))) != 0 ||
	    (r = put_str(out, t->identity)) != 0 ||
	    (r = put_u64(out, t->chain_id)) != 0 ||
	    (r = dpk_buf_put(out, t->contract, 20)) != 0 ||
	    (r = dpk_buf_put(out, t->pkm_address, 20)) != 0 ||
	    (r = put_str(out, t->pkm_endpoint)) != 0 ||
	    (r = put_u64(out, t->expires)) != 0)
		return r;
	return dpk_buf_put(out, hash, sizeof(hash));
}

int
dpk_token_sign(struct dpk_token *t, const struct dpk_idkey *pkm_key)
{
	struct dpk_buf payload, sig;
	int r;

	dpk_buf_init(&payload, 4096);
	dpk_buf_init(&sig, DPK_TOKEN_MAX_SIG);
	if ((r = dpk_token_signed_payload(t, &payload)) == 0 &&
	    (r = dpk_idkey_sign(pkm_key, payload.data, payload.len, &sig)) == 0) {
		memcpy(t->sig, sig.data, sig.len);
		t->siglen = sig.len;
	}
	dpk_buf_free(&payload);
	dpk_buf_free(&sig);
	return r;
}

int
dpk_token_verify(const struct dpk_token *t, enum dpk_idkey_alg alg, const uint8_t *pub,
    size_t publen, uint64_t now)
{
	struct dpk_buf payload;
	int r;

	dpk_buf_init(&payload, 4096);
	if ((r = dpk_token_signed_payload(t, &payload)) == 0)
		r = dpk_idkey_verify(alg, pub, publen, payload.data, payload.len, t->sig, t->siglen);
	dpk_buf_free(&payload);
	if (r == 0 && now >= t->expires)
		r = DPK_ERR_TIMEOUT;
	return r;
}

static int
put_line(struct dpk_buf *b, const char *name, const char *value)
{
	int r;

	if ((r = dpk_buf_put(b, name, strlen(name))) != 0 || (r = dpk_buf_put(b, ": ", 2)) != 0 ||
	    (r = dpk_buf_put(b, value, strlen(value))) != 0)
		return r;
	return dpk_buf_put_u8(b, '\n');
}

int
dpk_token_format(const struct dpk_token *t, struct dpk_buf *out)
{
	char id[33], num[24], contract[43], pkm[43], secret[65], sig[2 * DPK_TOKEN_MAX_SIG + 1];
	int r;

	dpk_hex_encode(t->id, sizeof(t->id), 0, id, sizeof(id));
	dpk_hex_encode(t->secret, sizeof(t->secret), 0, secret, sizeof(secret));
	dpk_hex_encode(t->sig, t->siglen, 0, sig, sizeof(sig));
	dpk_wallet_address_format(t->contract, contract);
	dpk_wallet_address_format(t->pkm_address, pkm);
	if ((r = dpk_buf_put(out, TOKEN_MAGIC "\n", strlen(TOKEN_MAGIC) + 1)) != 0 ||
	    (r = put_line(out, "id", id)) != 0 ||
	    (r = put_line(out, "identity", t->identity)) != 0)
		goto out;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)t->chain_id);
	if ((r = put_line(out, "chain-id", num)) != 0 ||
	    (r = put_line(out, "contract", contract)) != 0 ||
	    (r = put_line(out, "pkm-address", pkm)) != 0 ||
	    (r = put_line(out, "pkm-endpoint", t->pkm_endpoint)) != 0)
		goto out;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)t->expires);
	if ((r = put_line(out, "expires", num)) != 0 ||
	    (r = put_line(out, "secret", secret)) != 0 ||
	    (r = put_line(out, "signature", sig)) != 0)
		goto out;
	r = dpk_buf_cstr(out);
out:
	explicit_bzero(secret, sizeof(secret));
	return r;
}

static int
token_err(char *err, size_t errsz, int line, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
token_err(char *err, size_t errsz, int line, int code, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errsz, "line %d: ", line);

	if (n >= 0 && (size_t)n < errsz) {
		va_start(ap, fmt);
		vsnprintf(err + n, errsz - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return code;
}

static int
parse_dec(const char *s, uint64_t *v)
{
	uint64_t x = 0;

	if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*v = x;
	return 0;
}

int
dpk_token_parse(const char *text, size_t len, struct dpk_token *t, char *err, size_t errsz)
{
	static const char *const names[] = {"id", "identity", "chain-id", "contract", "pkm-address",
	    "pkm-endpoint", "expires", "secret", "signature"};
	const size_t nfields = sizeof(names) / sizeof(names[0]);
	size_t off = 0;
	int line = 0, r = DPK_ERR_SYNTAX;

	memset(t, 0, sizeof(*t));
	err[0] = '\0';
	if (len > DPK_TOKEN_MAX_FILE)
		return token_err(err, errsz, 0, DPK_ERR_TOOBIG, "token file larger than %d bytes", DPK_TOKEN_MAX_FILE);
	if (memchr(text, '\0', len) != NULL)
		return token_err(err, errsz, 0, DPK_ERR_SYNTAX, "NUL byte: not a token file");
	for (size_t field = 0; field <= nfields; field++) {
		const char *nl = memchr(text + off, '\n', len - off), *value;
		size_t n = nl ? (size_t)(nl - (text + off)) : len - off, nlen;
		char v[2 * DPK_TOKEN_MAX_SIG + 8];

		line++;
		if (off >= len || nl == NULL) {
			r = token_err(err, errsz, line, DPK_ERR_SYNTAX, field == 0 ? "not a DPK token file" :
			    "missing '%s' line (or no final newline)", field ? names[field - 1] : "");
			goto fail;
		}
		if (field == 0) {
			if (n != strlen(TOKEN_MAGIC) || memcmp(text, TOKEN_MAGIC, n) != 0) {
				r = token_err(err, errsz, line, DPK_ERR_SYNTAX, "not a DPK token file (expected '%s')",
				    TOKEN_MAGIC);
				goto fail;
			}
			off += n + 1;
			continue;
		}
		nlen = strlen(names[field - 1]);
		if (n < nlen + 2 || memcmp(text + off, names[field - 1], nlen) != 0 ||
		    memcmp(text + off + nlen, ": ", 2) != 0) {
			r = token_err(err, errsz, line, DPK_ERR_SYNTAX, "expected '%s: ...'", names[field - 1]);
			goto fail;
		}
		value = text + off + nlen + 2;
		if (n - nlen - 2 >= sizeof(v)) {
			r = token_err(err, errsz, line, DPK_ERR_SYNTAX, "%s: value too long", names[field - 1]);
			goto fail;
		}
		memcpy(v, value, n - nlen - 2);
		v[n - nlen - 2] = '\0';
		off += n + 1;

		switch (field) {
		case 1: r = dpk_hex_decode_exact(v, t->id, sizeof(t->id)); break;
		case 2:
		case 6: {
			char *dst = field == 2 ? t->identity : t->pkm_endpoint;
			size_t cap = field == 2 ? sizeof(t->identity) : sizeof(t->pkm_endpoint);

			r = text_ok(v, cap) ? 0 : DPK_ERR_SYNTAX;
			if (r == 0)
				memcpy(dst, v, strlen(v) + 1);
			break;
		}
		case 3: r = parse_dec(v, &t->chain_id) == 0 && t->chain_id != 0 ? 0 : DPK_ERR_SYNTAX; break;
		case 4: r = dpk_wallet_address_parse(v, t->contract); break;
		case 5: r = dpk_wallet_address_parse(v, t->pkm_address); break;
		case 7: r = parse_dec(v, &t->expires) == 0 ? 0 : DPK_ERR_SYNTAX; break;
		case 8: r = dpk_hex_decode_exact(v, t->secret, sizeof(t->secret)); break;
		case 9: {
			size_t got = 0;

			r = dpk_hex_decode(v, strlen(v), t->sig, sizeof(t->sig), &got);
			t->siglen = got;
			if (r == 0 && got == 0)
				r = DPK_ERR_SYNTAX;
			break;
		}
		}
		explicit_bzero(v, sizeof(v));
		if (r != 0) {
			r = token_err(err, errsz, line, r == DPK_ERR_CHECKSUM ? r : DPK_ERR_SYNTAX,
			    "%s: bad value (%s)", names[field - 1], dpk_strerror(r));
			goto fail;
		}
		if (field == nfields)
			break;
	}
	if (off != len) {
		r = token_err(err, errsz, line + 1, DPK_ERR_TRAILING, "unexpected text after the signature");
		goto fail;
	}
	return 0;
fail:
	dpk_token_clear(t);
	return r;
}

void
dpk_token_clear(struct dpk_token *t)
{
	explicit_bzero(t, sizeof(*t));
}

int
dpk_token_load(const char *path, struct dpk_token *t, char *err, size_t errsz)
{
	char text[DPK_TOKEN_MAX_FILE + 1], perr[160];
	struct stat st;
	size_t got = 0;
	int fd, r = DPK_ERR_IO;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0) {
		snprintf(err, errsz, "cannot open the token file %s: %s%s", path, strerror(errno),
		    errno == ELOOP ? " (a symbolic link is not followed: name the file itself)" : "");
		return DPK_ERR_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "the token file %s is not a regular file", path);
		goto out;
	}
	/* the token's secret is the PSK of the PKM channel: whoever reads it can enrol in our place */
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, errsz, "the token file %s is owned by uid %ld, not by uid %ld (this process) or root: "
		    "it is not read; chown it", path, (long)st.st_uid, (long)geteuid());
		r = DPK_ERR_PERM;
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errsz, "the token file %s is mode %04o, open to %s: it holds a secret and is not read; "
		    "chmod 600 it (and ask the PKM for a new token if others may have read it)", path,
		    (unsigned)(st.st_mode & 07777), (st.st_mode & 007) != 0 ? "everyone" : "its group");
		r = DPK_ERR_PERM;
		goto out;
	}
	if (st.st_size > DPK_TOKEN_MAX_FILE) {
		snprintf(err, errsz, "the token file %s is %lld bytes, over the %d a token takes", path,
		    (long long)st.st_size, DPK_TOKEN_MAX_FILE);
		r = DPK_ERR_TOOBIG;
		goto out;
	}
	for (;;) {
		ssize_t k = read(fd, text + got, sizeof(text) - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(err, errsz, "cannot read the token file %s: %s", path, strerror(errno));
			goto out;
		}
		if (k == 0 || (got += (size_t)k) == sizeof(text))
			break;
	}
	if ((r = dpk_token_parse(text, got, t, perr, sizeof(perr))) != 0)
		snprintf(err, errsz, "the token file %s is not a valid token: %s", path, perr);
out:
	explicit_bzero(text, sizeof(text));
	close(fd);
	return r;
}
