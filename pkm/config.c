#include "config.h"

#include "daemon/conffile.h"
#include "base/err.h"
#include "eth/wallet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 ether: a PKM gives gas money, and a typo must not empty its wallet */
#define PKM_MAX_FUND "1000000000000000000"
#define PKM_MAX_VALIDITY_MS (30u * 24 * 3600 * 1000)

void
pkm_config_defaults(struct pkm_config *c)
{
	memset(c, 0, sizeof(*c));
	dpk_u256_from_u64(&c->fund_amount, 10000000000000000ULL); /* 0.01 ether */
	c->token_validity_ms = 7u * 24 * 3600 * 1000;
	c->approval_validity_ms = 3600 * 1000;
	c->rpc_timeout_ms = 5000;
	c->request_timeout_ms = 30000;
	c->max_connections = 32;
	c->handshake_timeout_ms = 10000;
	c->max_connections_per_address = 4;
}

void
pkm_config_free(struct pkm_config *c)
{
	for (size_t i = 0; i < c->n_rpc; i++)
		free(c->rpc_url[i]);
	free(c->state_dir);
	free(c->listen);
	free(c->public_endpoint);
	memset(c, 0, sizeof(*c));
}

enum { K_RPC_URL, K_CHAIN_ID, K_CONTRACT, K_STATE_DIR, K_LISTEN, K_PUBLIC_ENDPOINT, K_FUND_AMOUNT,
	K_TOKEN_VALIDITY, K_APPROVAL_VALIDITY, K_RPC_TIMEOUT, K_REQUEST_TIMEOUT, K_MAX_CONNECTIONS,
	K_HANDSHAKE_TIMEOUT, K_MAX_CONNECTIONS_PER_ADDRESS, K_COUNT };

static const struct dpk_conffile_key keys[K_COUNT] = {
	{"rpc_url", 1}, {"chain_id", 0}, {"contract", 0}, {"state_dir", 0}, {"listen", 0},
	{"public_endpoint", 0}, {"fund_amount", 0}, {"token_validity", 0}, {"approval_validity", 0},
	{"rpc_timeout", 0}, {"request_timeout", 0}, {"max_connections", 0},
	{"handshake_timeout", 0}, {"max_connections_per_address", 0},
};

static int
pkm_set(void *ctx, size_t k, const char *v, const char **why)
{
	struct pkm_config *c = ctx;
	uint64_t u;

	switch (k) {
	case K_RPC_URL:
		return dpk_conffile_rpc_url(c->rpc_url, &c->n_rpc, PKM_CONFIG_MAX_RPC, v, why);
	case K_CHAIN_ID:
		return dpk_conffile_chain_id(v, &c->chain_id, why);
	case K_CONTRACT:
		return dpk_conffile_address(v, c->contract, why);
	case K_STATE_DIR:
		if (v[0] != '/' || strlen(v) > 1024)
			return *why = "must be an absolute path", 1;
		return dpk_conffile_string(&c->state_dir, v);
	case K_LISTEN:
	case K_PUBLIC_ENDPOINT:
		return dpk_conffile_host_port(v, k == K_LISTEN ? &c->listen : &c->public_endpoint, why);
	case K_FUND_AMOUNT: {
		struct dpk_u256 max;

		dpk_u256_from_dec(&max, PKM_MAX_FUND);
		if (dpk_u256_from_dec(&c->fund_amount, v) != 0 || dpk_u256_cmp(&c->fund_amount, &max) > 0)
			return *why = "is not an amount in wei from 0 to 1 ether (1000000000000000000)", 1;
		return 0;
	}
	case K_TOKEN_VALIDITY:
	case K_APPROVAL_VALIDITY: {
		uint32_t *dst = k == K_TOKEN_VALIDITY ? &c->token_validity_ms : &c->approval_validity_ms;

		if (dpk_conffile_duration(v, PKM_MAX_VALIDITY_MS, dst) != 0 || *dst < 1000)
			return *why = "is not a duration from 1s to 30d (e.g. 7d, 12h, 90m)", 1;
		return 0;
	}
	case K_RPC_TIMEOUT:
	case K_REQUEST_TIMEOUT: {
		uint32_t *dst = k == K_RPC_TIMEOUT ? &c->rpc_timeout_ms : &c->request_timeout_ms;

		if (dpk_conffile_duration(v, 3600 * 1000, dst) != 0 || *dst < 10)
			return *why = "is not a duration from 10ms to 1h", 1;
		return 0;
	}
	case K_MAX_CONNECTIONS:
		if (dpk_conffile_u64(v, 1024, &u) != 0 || u == 0)
			return *why = "is not a number from 1 to 1024", 1;
		c->max_connections = (unsigned)u;
		return 0;
	case K_HANDSHAKE_TIMEOUT:
		if (dpk_conffile_duration(v, 300 * 1000, &c->handshake_timeout_ms) != 0 || c->handshake_timeout_ms < 100)
			return *why = "is not a duration from 100ms to 5m", 1;
		return 0;
	case K_MAX_CONNECTIONS_PER_ADDRESS:
		if (dpk_conffile_u64(v, 1024, &u) != 0 || u == 0)
			return *why = "is not a number from 1 to 1024", 1;
		c->max_connections_per_address = (unsigned)u;
		return 0;
	}
	return DPK_ERR_INVALID;
}

int
pkm_config_parse(struct pkm_config *c, const char *name, const char *text, size_t len,
    char *err, size_t errsz)
{
	return dpk_conffile_parse(name, text, len, keys, K_COUNT, pkm_set, c, err, errsz);
}

static int
parse_cb(void *ctx, const char *name, const char *text, size_t len, char *err, size_t errsz)
{
	return pkm_config_parse(ctx, name, text, len, err, errsz);
}

int
pkm_config_load(struct pkm_config *c, const char *path, char *err, size_t errsz)
{
	int r;

	if ((r = dpk_conffile_load(path, parse_cb, c, err, errsz)) != 0 ||
	    (r = dpk_conffile_require_chain(path, c->n_rpc, c->chain_id, NULL, err, errsz)) != 0)
		return r;
	if ((c->state_dir == NULL && (c->state_dir = strdup("/var/lib/dpk-pkm")) == NULL) ||
	    (c->listen == NULL && (c->listen = strdup("0.0.0.0:7443")) == NULL) ||
	    (c->public_endpoint == NULL && (c->public_endpoint = strdup(c->listen)) == NULL))
		return DPK_ERR_NOMEM;
	return 0;
}
