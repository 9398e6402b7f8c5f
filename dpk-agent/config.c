#include "config.h"

#include "err.h"
#include "wallet.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONFIG_MAX_BYTES (64 * 1024)
#define CONFIG_MAX_LINE 1024
#define CONFIG_MAX_DURATION_MS (24u * 3600 * 1000)

void
dpk_config_defaults(struct dpk_config *c)
{
	memset(c, 0, sizeof(*c));
	c->key_algorithm = DPK_KEYALG_P256;
	c->rsa_bits = 3072;
	c->cache_ttl_ms = 300 * 1000;
	c->negative_cache_ttl_ms = 30 * 1000;
	c->poll_interval_ms = 5 * 1000;
	c->rpc_timeout_ms = 5 * 1000;
	c->request_timeout_ms = 2 * 1000;
}

void
dpk_config_free(struct dpk_config *c)
{
	for (size_t i = 0; i < c->n_rpc; i++)
		free(c->rpc_url[i]);
	free(c->identity);
	free(c->pkm_endpoint);
	free(c->token_file);
	free(c->state_dir);
	free(c->socket_path);
	free(c->admin_group);
	memset(c, 0, sizeof(*c));
}

static int config_err(char *err, size_t errsz, const char *name, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
config_err(char *err, size_t errsz, const char *name, size_t line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errsz, "%s:%zu: ", name, line);

	if (n >= 0 && (size_t)n < errsz) {
		va_start(ap, fmt);
		vsnprintf(err + n, errsz - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return DPK_ERR_SYNTAX;
}

static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* "300", "300s", "500ms", "5m", "1h": a duration in milliseconds up to 24 h. */
static int
parse_duration(const char *s, uint32_t *ms)
{
	char num[32];
	size_t n = strspn(s, "0123456789");
	uint64_t v, unit;
	const char *suffix = s + n;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n);
	num[n] = '\0';
	if (strcmp(suffix, "") == 0 || strcmp(suffix, "s") == 0)
		unit = 1000;
	else if (strcmp(suffix, "ms") == 0)
		unit = 1;
	else if (strcmp(suffix, "m") == 0 || strcmp(suffix, "min") == 0)
		unit = 60 * 1000;
	else if (strcmp(suffix, "h") == 0)
		unit = 3600 * 1000;
	else
		return -1;
	if (parse_u64(num, CONFIG_MAX_DURATION_MS, &v) != 0 || v * unit > CONFIG_MAX_DURATION_MS)
		return -1;
	*ms = (uint32_t)(v * unit);
	return 0;
}

static int
set_string(char **dst, const char *v)
{
	char *d = strdup(v);

	if (d == NULL)
		return DPK_ERR_NOMEM;
	free(*dst);
	*dst = d;
	return 0;
}

enum key_id {
	K_RPC_URL, K_CHAIN_ID, K_CONTRACT, K_IDENTITY, K_KEY_ALGORITHM, K_PKM_ADDRESS,
	K_PKM_ENDPOINT, K_TOKEN_FILE, K_STATE_DIR, K_SOCKET, K_ADMIN_GROUP, K_CACHE_TTL,
	K_NEGATIVE_CACHE_TTL, K_POLL_INTERVAL, K_RPC_TIMEOUT, K_REQUEST_TIMEOUT, K_COUNT
};

static const char *const key_names[K_COUNT] = {
	"rpc_url", "chain_id", "contract", "identity", "key_algorithm", "pkm_address",
	"pkm_endpoint", "token_file", "state_dir", "socket", "admin_group", "cache_ttl",
	"negative_cache_ttl", "poll_interval", "rpc_timeout", "request_timeout",
};

static int
addr_is_zero(const uint8_t a[20])
{
	uint8_t acc = 0;

	for (int i = 0; i < 20; i++)
		acc |= a[i];
	return acc == 0;
}

static int
is_absolute_path(const char *v)
{
	return v[0] == '/' && strlen(v) < 4096;
}

/* Apply one key; returns 0, DPK_ERR_NOMEM, or 1 with a reason in why. */
static int
config_set(struct dpk_config *c, enum key_id k, const char *v, const char **why)
{
	uint64_t u;
	uint32_t *dur = NULL;

	switch (k) {
	case K_RPC_URL:
		if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
			return *why = "must start with http:// or https://", 1;
		if (c->n_rpc == DPK_CONFIG_MAX_RPC)
			return *why = "too many endpoints (at most 8)", 1;
		c->rpc_url[c->n_rpc] = NULL;
		if (set_string(&c->rpc_url[c->n_rpc], v) != 0)
			return DPK_ERR_NOMEM;
		c->n_rpc++;
		return 0;
	case K_CHAIN_ID:
		if (parse_u64(v, UINT64_MAX / 2, &u) != 0 || u == 0)
			return *why = "is not a chain id (a positive decimal number)", 1;
		c->chain_id = u;
		return 0;
	case K_CONTRACT:
	case K_PKM_ADDRESS: {
		uint8_t *dst = k == K_CONTRACT ? c->contract : c->pkm_address;
		int r = dpk_wallet_address_parse(v, dst);

		if (r == DPK_ERR_CHECKSUM)
			return *why = "has a wrong EIP-55 checksum (mixed case)", 1;
		if (r != 0)
			return *why = "is not an address (0x and 40 hex digits)", 1;
		if (k == K_PKM_ADDRESS)
			c->has_pkm_address = 1;
		return 0;
	}
	case K_IDENTITY:
		if (strlen(v) > 253)
			return *why = "is too long for an identity", 1;
		return set_string(&c->identity, v);
	case K_KEY_ALGORITHM:
		if (strcmp(v, "p256") == 0 || strcmp(v, "ecdsa-p256") == 0) {
			c->key_algorithm = DPK_KEYALG_P256;
		} else if (strcmp(v, "rsa2048") == 0 || strcmp(v, "rsa3072") == 0 ||
		    strcmp(v, "rsa4096") == 0) {
			c->key_algorithm = DPK_KEYALG_RSA;
			c->rsa_bits = (unsigned)strtoul(v + 3, NULL, 10);
		} else {
			return *why = "is not one of p256, rsa2048, rsa3072, rsa4096", 1;
		}
		return 0;
	case K_PKM_ENDPOINT: {
		const char *colon = strrchr(v, ':');

		if (colon == NULL || colon == v || parse_u64(colon + 1, 65535, &u) != 0 || u == 0)
			return *why = "is not host:port", 1;
		return set_string(&c->pkm_endpoint, v);
	}
	case K_TOKEN_FILE:
	case K_STATE_DIR:
	case K_SOCKET: {
		char **dst = k == K_TOKEN_FILE ? &c->token_file :
		    k == K_STATE_DIR ? &c->state_dir : &c->socket_path;

		if (!is_absolute_path(v))
			return *why = "must be an absolute path", 1;
		if (k == K_SOCKET && strlen(v) >= 108)
			return *why = "is too long for a Unix socket path (107 bytes at most)", 1;
		return set_string(dst, v);
	}
	case K_ADMIN_GROUP:
		if (strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(v) ||
		    strlen(v) > 32 || v[0] == '-')
			return *why = "is not a group name", 1;
		return set_string(&c->admin_group, v);
	case K_CACHE_TTL: dur = &c->cache_ttl_ms; break;
	case K_NEGATIVE_CACHE_TTL: dur = &c->negative_cache_ttl_ms; break;
	case K_POLL_INTERVAL: dur = &c->poll_interval_ms; break;
	case K_RPC_TIMEOUT: dur = &c->rpc_timeout_ms; break;
	case K_REQUEST_TIMEOUT: dur = &c->request_timeout_ms; break;
	case K_COUNT: break;
	}
	if (dur == NULL || parse_duration(v, dur) != 0)
		return *why = "is not a duration (e.g. 30, 30s, 500ms, 5m; at most 24h)", 1;
	if ((k == K_POLL_INTERVAL || k == K_RPC_TIMEOUT || k == K_REQUEST_TIMEOUT) && *dur < 10)
		return *why = "is too short (at least 10ms)", 1;
	return 0;
}

static void
trim(char **s, char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
		(*e)--;
}

int
dpk_config_parse(struct dpk_config *c, const char *name, const char *text, size_t len,
    char *err, size_t errsz)
{
	int seen[K_COUNT] = {0};
	size_t lineno = 0, off = 0;

	if (len > CONFIG_MAX_BYTES)
		return snprintf(err, errsz, "%s: larger than %d bytes", name, CONFIG_MAX_BYTES),
		    DPK_ERR_TOOBIG;
	if (memchr(text, '\0', len) != NULL)
		return config_err(err, errsz, name, 1, "contains a NUL byte: not a text file");
	while (off < len) {
		char line[CONFIG_MAX_LINE + 1], *s, *e, *eq, *ks, *ke, *vs, *ve;
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
		const char *why = NULL;
		int k, r;

		lineno++;
		if (n > CONFIG_MAX_LINE)
			return config_err(err, errsz, name, lineno, "line longer than %d bytes", CONFIG_MAX_LINE);
		memcpy(line, text + off, n);
		line[n] = '\0';
		off += n + (nl != NULL);

		s = line;
		e = line + n;
		trim(&s, &e);
		if (s == e || *s == '#')
			continue;
		if ((eq = memchr(s, '=', (size_t)(e - s))) == NULL)
			return config_err(err, errsz, name, lineno, "expected 'key = value'");
		ks = s;
		ke = eq;
		vs = eq + 1;
		ve = e;
		trim(&ks, &ke);
		trim(&vs, &ve);
		*ke = '\0';
		*ve = '\0';
		for (k = 0; k < K_COUNT; k++)
			if (strcmp(ks, key_names[k]) == 0)
				break;
		if (k == K_COUNT)
			return config_err(err, errsz, name, lineno, "unknown key '%.64s'", ks);
		for (const char *p = vs; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return config_err(err, errsz, name, lineno, "%s: value contains a control character",
				    key_names[k]);
		if (*vs == '\0')
			return config_err(err, errsz, name, lineno, "%s: empty value", key_names[k]);
		if (seen[k] && k != K_RPC_URL)
			return config_err(err, errsz, name, lineno, "%s: given twice (first on line %d)",
			    key_names[k], seen[k]);
		seen[k] = (int)lineno;
		if ((r = config_set(c, (enum key_id)k, vs, &why)) < 0)
			return r;
		if (r > 0)
			return config_err(err, errsz, name, lineno, "%s: '%.128s' %s", key_names[k], vs, why);
	}
	return 0;
}

int
dpk_config_load(struct dpk_config *c, const char *path, char *err, size_t errsz)
{
	char *text = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		snprintf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
		return DPK_ERR_IO;
	}
	if ((text = malloc(CONFIG_MAX_BYTES + 1)) == NULL) {
		close(fd);
		return DPK_ERR_NOMEM;
	}
	while ((n = read(fd, text + len, CONFIG_MAX_BYTES + 1 - len)) > 0 && len < CONFIG_MAX_BYTES + 1)
		len += (size_t)n;
	close(fd);
	if (n < 0) {
		snprintf(err, errsz, "%s: cannot read: %s", path, strerror(errno));
		free(text);
		return DPK_ERR_IO;
	}
	r = dpk_config_parse(c, path, text, len, err, errsz);
	free(text);
	if (r != 0)
		return r;
	if (c->n_rpc == 0 || c->chain_id == 0 || addr_is_zero(c->contract)) {
		snprintf(err, errsz, "%s: missing required key %s", path,
		    c->n_rpc == 0 ? "rpc_url" : c->chain_id == 0 ? "chain_id" : "contract");
		return DPK_ERR_INVALID;
	}
	return 0;
}
