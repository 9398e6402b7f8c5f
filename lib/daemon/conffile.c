#include "daemon/conffile.h"
#include "base/err.h"
#include "eth/rpc.h"
#include "eth/wallet.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int conffile_err(char *err, size_t errsz, const char *name, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
conffile_err(char *err, size_t errsz, const char *name, size_t line, const char *fmt, ...)
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

int
dpk_conffile_u64(const char *s, uint64_t max, uint64_t *out)
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

int
dpk_conffile_depth(const char *v, struct dpk_rpc_depth *d, const char **why)
{
	uint64_t u;

	memset(d, 0, sizeof(*d));
	if (strcmp(v, "finalized") == 0) {
		d->kind = DPK_RPC_DEPTH_FINALIZED;
	} else if (strcmp(v, "safe") == 0) {
		d->kind = DPK_RPC_DEPTH_SAFE;
	} else if (dpk_conffile_u64(v, 10000, &u) == 0) {
		d->kind = DPK_RPC_DEPTH_BLOCKS;
		d->confirmations = (uint32_t)u;
	} else {
		*why = "is not 'finalized', 'safe' or a number of blocks from 0 to 10000";
		return 1;
	}
	return 0;
}

int
dpk_conffile_log_range(const char *v, uint64_t *out, const char **why)
{
	if (dpk_conffile_u64(v, 1000000, out) != 0 || *out == 0) {
		*why = "is not a number of blocks from 1 to 1000000";
		return 1;
	}
	return 0;
}

int
dpk_conffile_duration(const char *s, uint32_t max_ms, uint32_t *ms)
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
	else if (strcmp(suffix, "d") == 0)
		unit = 24 * 3600 * 1000;
	else
		return -1;
	if (dpk_conffile_u64(num, max_ms, &v) != 0 || v * unit > max_ms)
		return -1;
	*ms = (uint32_t)(v * unit);
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
dpk_conffile_parse(const char *name, const char *text, size_t len,
    const struct dpk_conffile_key *keys, size_t nkeys, dpk_conffile_set_fn set, void *ctx,
    char *err, size_t errsz)
{
	size_t lineno = 0, off = 0, seen[64] = {0};

	if (nkeys > sizeof(seen) / sizeof(seen[0]))
		return DPK_ERR_INVALID;
	if (len > DPK_CONFFILE_MAX_BYTES) {
		snprintf(err, errsz, "%s: larger than %d bytes", name, DPK_CONFFILE_MAX_BYTES);
		return DPK_ERR_TOOBIG;
	}
	if (memchr(text, '\0', len) != NULL)
		return conffile_err(err, errsz, name, 1, "contains a NUL byte: not a text file");
	while (off < len) {
		char line[DPK_CONFFILE_MAX_LINE + 1], *s, *e, *eq, *ks, *ke, *vs, *ve;
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (text + off)) : len - off, k;
		const char *why = NULL;
		int r;

		lineno++;
		if (n > DPK_CONFFILE_MAX_LINE)
			return conffile_err(err, errsz, name, lineno, "line longer than %d bytes",
			    DPK_CONFFILE_MAX_LINE);
		memcpy(line, text + off, n);
		line[n] = '\0';
		off += n + (nl != NULL);

		s = line;
		e = line + n;
		trim(&s, &e);
		if (s == e || *s == '#')
			continue;
		if ((eq = memchr(s, '=', (size_t)(e - s))) == NULL)
			return conffile_err(err, errsz, name, lineno, "expected 'key = value'");
		ks = s;
		ke = eq;
		vs = eq + 1;
		ve = e;
		trim(&ks, &ke);
		trim(&vs, &ve);
		*ke = '\0';
		*ve = '\0';
		for (k = 0; k < nkeys; k++)
			if (strcmp(ks, keys[k].name) == 0)
				break;
		if (k == nkeys)
			return conffile_err(err, errsz, name, lineno, "unknown key '%.64s'", ks);
		for (const char *p = vs; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return conffile_err(err, errsz, name, lineno, "%s: value contains a control character",
				    keys[k].name);
		if (*vs == '\0')
			return conffile_err(err, errsz, name, lineno, "%s: empty value", keys[k].name);
		if (seen[k] && !keys[k].repeatable)
			return conffile_err(err, errsz, name, lineno, "%s: given twice (first on line %zu)",
			    keys[k].name, seen[k]);
		seen[k] = lineno;
		if ((r = set(ctx, k, vs, &why)) < 0)
			return r;
		if (r > 0)
			return conffile_err(err, errsz, name, lineno, "%s: '%.128s' %s", keys[k].name, vs, why);
	}
	return 0;
}

int
dpk_conffile_read(const char *path, char **text, size_t *len, char *err, size_t errsz)
{
	ssize_t n = 0;
	int fd;

	*text = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		snprintf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
		return DPK_ERR_IO;
	}
	if ((*text = malloc(DPK_CONFFILE_MAX_BYTES + 1)) == NULL) {
		close(fd);
		return DPK_ERR_NOMEM;
	}
	while (*len < DPK_CONFFILE_MAX_BYTES + 1 &&
	    (n = read(fd, *text + *len, DPK_CONFFILE_MAX_BYTES + 1 - *len)) > 0)
		*len += (size_t)n;
	close(fd);
	if (n < 0) {
		snprintf(err, errsz, "%s: cannot read: %s", path, strerror(errno));
		free(*text);
		*text = NULL;
		return DPK_ERR_IO;
	}
	return 0;
}

int
dpk_conffile_rpc_url(char **urls, size_t *n, size_t max, const char *v, const char **why)
{
	if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
		return *why = "must start with http:// or https://", 1;
	if (*n == max)
		return *why = "too many endpoints (at most 8)", 1;
	if ((urls[*n] = strdup(v)) == NULL)
		return DPK_ERR_NOMEM;
	(*n)++;
	return 0;
}

int
dpk_conffile_chain_id(const char *v, uint64_t *out, const char **why)
{
	uint64_t u;

	if (dpk_conffile_u64(v, UINT64_MAX / 2, &u) != 0 || u == 0)
		return *why = "is not a chain id (a positive decimal number)", 1;
	*out = u;
	return 0;
}

int
dpk_conffile_address(const char *v, uint8_t out[20], const char **why)
{
	int r = dpk_wallet_address_parse(v, out);

	if (r == DPK_ERR_CHECKSUM)
		return *why = "has a wrong EIP-55 checksum (mixed case)", 1;
	if (r != 0)
		return *why = "is not an address (0x and 40 hex digits)", 1;
	return 0;
}

int
dpk_conffile_string(char **dst, const char *v)
{
	char *d = strdup(v);

	if (d == NULL)
		return DPK_ERR_NOMEM;
	free(*dst);
	*dst = d;
	return 0;
}

int
dpk_conffile_host_port(const char *v, char **dst, const char **why)
{
	const char *colon = strrchr(v, ':');
	uint64_t port;

	if (colon == NULL || colon == v || strlen(v) > 255 || dpk_conffile_u64(colon + 1, 65535, &port) != 0 || port == 0)
		return *why = "is not host:port", 1;
	return dpk_conffile_string(dst, v);
}

int
dpk_conffile_load(const char *path, dpk_conffile_parse_fn parse, void *ctx, char *err, size_t errsz)
{
	char *text;
	size_t len;
	int r;

	if ((r = dpk_conffile_read(path, &text, &len, err, errsz)) != 0)
		return r;
	r = parse(ctx, path, text, len, err, errsz);
	free(text);
	return r;
}

int
dpk_conffile_require_chain(const char *name, size_t n_rpc, uint64_t chain_id, const uint8_t *contract,
    char *err, size_t errsz)
{
	uint8_t acc = 0;

	for (int i = 0; contract != NULL && i < 20; i++)
		acc |= contract[i];
	if (n_rpc != 0 && chain_id != 0 && (contract == NULL || acc != 0))
		return 0;
	snprintf(err, errsz, "%s: missing required key %s", name,
	    n_rpc == 0 ? "rpc_url" : chain_id == 0 ? "chain_id" : "contract");
	return DPK_ERR_INVALID;
}

int
dpk_conffile_rpc_client(struct dpk_rpc **out, char *const *urls, size_t n, uint32_t timeout_ms)
{
	struct dpk_rpc_opts o = {
		.connect_timeout_ms = timeout_ms < 2000 ? (long)timeout_ms : 2000,
		.timeout_ms = (long)timeout_ms,
	};

	return dpk_rpc_new(out, (const char *const *)urls, n, &o);
}
