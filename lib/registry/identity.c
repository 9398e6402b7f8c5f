/* DPK identities: text <-> canonical bytes, and the identity hash. The
 * canonical rules must stay identical to contracts/DPK.sol (isCanonical). */
#include <arpa/inet.h>
#include <string.h>

#include "base/err.h"
#include "registry/identity.h"
#include "eth/keccak.h"

#define LABEL_MAX 63
#define UUID_TEXT_LEN 36
#define URN_UUID "urn:uuid:"
#define IPV6_TEXT_MAX 45 /* "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" */
#define IPV4_TEXT_MAX 15

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char
ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* The contract's _isCanonicalDomain, byte for byte. Returns 0 or
 * DPK_ERR_NONCANONICAL. */
static int
check_domain(const uint8_t *v, size_t n)
{
	size_t label = 0;
	int all_digits = 1;
	uint8_t prev = 0;

	if (n == 0 || n > DPK_IDENTITY_VALUE_MAX)
		return DPK_ERR_NONCANONICAL;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = v[i];
		if (c == '.') {
			if (label == 0 || prev == '-')
				return DPK_ERR_NONCANONICAL;
			label = 0;
			all_digits = 1;
		} else {
			int digit = c >= '0' && c <= '9';
			if (!(digit || (c >= 'a' && c <= 'z') || c == '-'))
				return DPK_ERR_NONCANONICAL;
			if (c == '-' && label == 0)
				return DPK_ERR_NONCANONICAL;
			if (!digit)
				all_digits = 0;
			if (++label > LABEL_MAX)
				return DPK_ERR_NONCANONICAL;
		}
		prev = c;
	}
	if (label == 0 || prev == '-' || all_digits)
		return DPK_ERR_NONCANONICAL;
	return 0;
}

int
dpk_identity_from_bytes(uint8_t kind, const uint8_t *value, size_t len, struct dpk_identity *id)
{
	int r;

	if (value == NULL && len != 0)
		return DPK_ERR_INVALID;
	switch (kind) {
	case DPK_IDENTITY_DOMAIN:
		r = check_domain(value, len);
		break;
	case DPK_IDENTITY_IPV4:
		r = len == 4 ? 0 : DPK_ERR_NONCANONICAL;
		break;
	case DPK_IDENTITY_IPV6:
	case DPK_IDENTITY_UUID:
		r = len == 16 ? 0 : DPK_ERR_NONCANONICAL;
		break;
	default:
		return DPK_ERR_UNSUPPORTED;
	}
	if (r != 0 || id == NULL)
		return r;
	memset(id, 0, sizeof(*id));
	id->kind = kind;
	id->len = (uint8_t)len;
	if (len)
		memcpy(id->value, value, len);
	return 0;
}

/* Domain text: case folded, one final dot (the absolute form) dropped. */
static int
parse_domain(const char *t, size_t n, struct dpk_identity *id)
{
	uint8_t v[DPK_IDENTITY_VALUE_MAX];
	size_t label = 0;

	if (n > 0 && t[n - 1] == '.')
		n--;
	if (n == 0)
		return DPK_ERR_SYNTAX;
	if (n > DPK_IDENTITY_VALUE_MAX)
		return DPK_ERR_TOOBIG;
	for (size_t i = 0; i < n; i++) {
		char c = ascii_lower(t[i]);
		label = c == '.' ? 0 : label + 1;
		if (label > LABEL_MAX)
			return DPK_ERR_TOOBIG;
		v[i] = (uint8_t)c;
	}
	return dpk_identity_from_bytes(DPK_IDENTITY_DOMAIN, v, n, id) == 0 ? 0 : DPK_ERR_SYNTAX;
}

/* inet_pton wants a C string; the text is bounded and copied first. */
static int
parse_inet(int af, const char *t, size_t n, struct dpk_identity *id)
{
	char s[IPV6_TEXT_MAX + 1];
	uint8_t a[16];
	size_t max = af == AF_INET ? IPV4_TEXT_MAX : IPV6_TEXT_MAX;

	if (n == 0 || n > max || memchr(t, '\0', n) != NULL)
		return DPK_ERR_SYNTAX;
	memcpy(s, t, n);
	s[n] = '\0';
	if (inet_pton(af, s, a) != 1)
		return DPK_ERR_SYNTAX;
	return dpk_identity_from_bytes(af == AF_INET ? DPK_IDENTITY_IPV4 : DPK_IDENTITY_IPV6, a,
	    af == AF_INET ? 4 : 16, id);
}

static int
has_urn_prefix(const char *t, size_t n)
{
	size_t p = sizeof(URN_UUID) - 1;

	if (n < p)
		return 0;
	for (size_t i = 0; i < p; i++)
		if (ascii_lower(t[i]) != URN_UUID[i])
			return 0;
	return 1;
}

/* 8-4-4-4-12 hex digits, any case. */
static int
parse_uuid(const char *t, size_t n, struct dpk_identity *id)
{
	uint8_t u[16];
	size_t k = 0;

	if (has_urn_prefix(t, n)) {
		t += sizeof(URN_UUID) - 1;
		n -= sizeof(URN_UUID) - 1;
	}
	if (n != UUID_TEXT_LEN)
		return DPK_ERR_SYNTAX;
	for (size_t i = 0; i < n;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (t[i] != '-')
				return DPK_ERR_SYNTAX;
			i++;
			continue;
		}
		int hi = hex_val(t[i]), lo = hex_val(t[i + 1]);
		/* groups have even lengths, so a pair never spans a dash */
		if (hi < 0 || lo < 0)
			return DPK_ERR_SYNTAX;
		u[k++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return dpk_identity_from_bytes(DPK_IDENTITY_UUID, u, sizeof(u), id);
}

static int
looks_like_uuid(const char *t, size_t n)
{
	if (has_urn_prefix(t, n))
		return 1;
	if (n != UUID_TEXT_LEN)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? t[i] != '-' : hex_val(t[i]) < 0)
			return 0;
	}
	return 1;
}

static int
only_digits_and_dots(const char *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(t[i]) && t[i] != '.')
			return 0;
	return 1;
}

int
dpk_identity_parse_kind(uint8_t kind, const char *text, size_t len, struct dpk_identity *id)
{
	int r = DPK_ERR_SYNTAX;

	if (id == NULL || text == NULL)
		return DPK_ERR_INVALID;
	memset(id, 0, sizeof(*id));
	if (len > DPK_IDENTITY_TEXT_MAX)
		return DPK_ERR_TOOBIG;
	if (memchr(text, '\0', len) != NULL)
		return DPK_ERR_SYNTAX;
	switch (kind) {
	case DPK_IDENTITY_DOMAIN:
		r = parse_domain(text, len, id);
		break;
	case DPK_IDENTITY_IPV4:
		r = parse_inet(AF_INET, text, len, id);
		break;
	case DPK_IDENTITY_IPV6:
		r = parse_inet(AF_INET6, text, len, id);
		break;
	case DPK_IDENTITY_UUID:
		r = parse_uuid(text, len, id);
		break;
	default:
		r = DPK_ERR_UNSUPPORTED;
		break;
	}
	if (r != 0)
		memset(id, 0, sizeof(*id));
	return r;
}

int
dpk_identity_parse(const char *text, size_t len, struct dpk_identity *id)
{
	uint8_t kind;

	if (id == NULL || text == NULL)
		return DPK_ERR_INVALID;
	if (looks_like_uuid(text, len))
		kind = DPK_IDENTITY_UUID;
	else if (memchr(text, ':', len) != NULL)
		kind = DPK_IDENTITY_IPV6;
	else if (len > 0 && only_digits_and_dots(text, len))
		kind = DPK_IDENTITY_IPV4;
	else
		kind = DPK_IDENTITY_DOMAIN;
	return dpk_identity_parse_kind(kind, text, len, id);
}

int
dpk_identity_format(const struct dpk_identity *id, char *out, size_t outsz)
{
	static const char hexdig[] = "0123456789abcdef";
	char tmp[DPK_IDENTITY_FORMAT_SIZE];
	size_t n = 0;

	if (id == NULL || out == NULL || dpk_identity_from_bytes(id->kind, id->value, id->len, NULL) != 0)
		return DPK_ERR_INVALID;
	switch (id->kind) {
	case DPK_IDENTITY_DOMAIN:
		memcpy(tmp, id->value, id->len);
		n = id->len;
		/* a one-label domain shaped like a UUID would read back as that
		 * UUID: its absolute form (final dot) stays a domain */
		if (looks_like_uuid(tmp, n))
			tmp[n++] = '.';
		tmp[n] = '\0';
		break;
	case DPK_IDENTITY_IPV4:
	case DPK_IDENTITY_IPV6:
		if (inet_ntop(id->kind == DPK_IDENTITY_IPV4 ? AF_INET : AF_INET6, id->value, tmp,
		        sizeof(tmp)) == NULL)
			return DPK_ERR_INVALID;
		n = strlen(tmp);
		break;
	default: /* DPK_IDENTITY_UUID, checked above */
		for (size_t i = 0; i < 16; i++) {
			if (i == 4 || i == 6 || i == 8 || i == 10)
				tmp[n++] = '-';
			tmp[n++] = hexdig[id->value[i] >> 4];
			tmp[n++] = hexdig[id->value[i] & 15];
		}
		tmp[n] = '\0';
		break;
	}
	if (n + 1 > outsz)
		return DPK_ERR_TOOBIG;
	memcpy(out, tmp, n + 1);
	return 0;
}

int
dpk_identity_hash(const struct dpk_identity *id, uint8_t out[32])
{
	struct dpk_keccak k;

	if (id == NULL || out == NULL || dpk_identity_from_bytes(id->kind, id->value, id->len, NULL) != 0)
		return DPK_ERR_INVALID;
	dpk_keccak_init(&k);
	dpk_keccak_update(&k, &id->kind, 1);
	dpk_keccak_update(&k, id->value, id->len);
	dpk_keccak_final(&k, out);
	return 0;
}

const char *
dpk_identity_kind_name(uint8_t kind)
{
	switch (kind) {
	case DPK_IDENTITY_DOMAIN:
		return "domain";
	case DPK_IDENTITY_IPV4:
		return "ipv4";
	case DPK_IDENTITY_IPV6:
		return "ipv6";
	case DPK_IDENTITY_UUID:
		return "uuid";
	default:
		return "unknown";
	}
}
