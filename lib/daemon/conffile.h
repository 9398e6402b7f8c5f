/* "key = value" configuration files (dpk.conf, pkm.conf): '#' comments,
 * white space trimmed, at most 64 KiB and 1024-byte lines, no control
 * characters. Every error names the file, the line and the key. */
#ifndef DPK_CONFFILE_H
#define DPK_CONFFILE_H

#include <stddef.h>
#include <stdint.h>

struct dpk_rpc_depth;

#define DPK_CONFFILE_MAX_BYTES (64 * 1024)
#define DPK_CONFFILE_MAX_LINE 1024

struct dpk_conffile_key {
	const char *name;
	int repeatable; /* may appear more than once */
};

/* Apply value to key number k. Return 0, a negative DPK_ERR_* to stop with
 * that error, or 1 with *why set to the end of the sentence
 * "FILE:LINE: KEY: 'VALUE' <why>". */
typedef int (*dpk_conffile_set_fn)(void *ctx, size_t k, const char *value, const char **why);

/* Parse text (len bytes, named name in messages). On an error returns
 * DPK_ERR_SYNTAX / DPK_ERR_TOOBIG (or set's own code) with the message in err. */
int dpk_conffile_parse(const char *name, const char *text, size_t len,
    const struct dpk_conffile_key *keys, size_t nkeys, dpk_conffile_set_fn set, void *ctx,
    char *err, size_t errsz);

/* Read a configuration file (at most DPK_CONFFILE_MAX_BYTES + 1 bytes are
 * read, so the parser can report it too large). *text is malloc()ed. */
int dpk_conffile_read(const char *path, char **text, size_t *len, char *err, size_t errsz);

/* Value helpers: 0 or -1. */
int dpk_conffile_u64(const char *s, uint64_t max, uint64_t *out);
/* "300", "300s", "500ms", "5m", "1h" in milliseconds, at most max_ms. */
int dpk_conffile_duration(const char *s, uint32_t max_ms, uint32_t *ms);

/* Values both dpk.conf and pkm.conf have. Each returns 0, DPK_ERR_NOMEM, or
 * 1 with *why set, as a dpk_conffile_set_fn does. */
/* Append an http:// or https:// URL to urls[*n] (at most max). */
int dpk_conffile_rpc_url(char **urls, size_t *n, size_t max, const char *v, const char **why);
int dpk_conffile_chain_id(const char *v, uint64_t *out, const char **why);
/* "0x" + 40 hex digits; mixed case must carry the EIP-55 checksum. */
int dpk_conffile_address(const char *v, uint8_t out[20], const char **why);
/* "HOST:PORT" (port 1 to 65535, at most 255 bytes in all), copied to *dst. */
int dpk_conffile_host_port(const char *v, char **dst, const char **why);
/* confirmations: "finalized", "safe" or a number of blocks (0 to 10000). */
int dpk_conffile_depth(const char *v, struct dpk_rpc_depth *d, const char **why);
/* log_range: blocks per eth_getLogs request (1 to 1000000). */
int dpk_conffile_log_range(const char *v, uint64_t *out, const char **why);
/* A copy of v in *dst (replacing and freeing the old one): 0 or DPK_ERR_NOMEM. */
int dpk_conffile_string(char **dst, const char *v);

/* Read path and hand its text to parse (which applies the keys to ctx). */
typedef int (*dpk_conffile_parse_fn)(void *ctx, const char *name, const char *text, size_t len, char *err,
    size_t errsz);
int dpk_conffile_load(const char *path, dpk_conffile_parse_fn parse, void *ctx, char *err, size_t errsz);
/* The keys every daemon needs to reach the registry: rpc_url, chain_id and,
 * unless contract is NULL, contract. 0, or DPK_ERR_INVALID naming the first
 * missing key of file name in err. */
int dpk_conffile_require_chain(const char *name, size_t n_rpc, uint64_t chain_id, const uint8_t *contract,
    char *err, size_t errsz);

/* The JSON-RPC client of rpc_url and rpc_timeout as both daemons use them:
 * each call within timeout_ms, a connection within the lesser of that and 2 s. */
struct dpk_rpc;
int dpk_conffile_rpc_client(struct dpk_rpc **out, char *const *urls, size_t n, uint32_t timeout_ms);

#endif
