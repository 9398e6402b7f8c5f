#include "config.h"

#include "daemon/conffile.h"
#include "eth/rpc.h"
#include "base/err.h"
#include "eth/fees.h"
#include "eth/wallet.h"
#include "registry/identity.h"

#include <arpa/inet.h>

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
	c->fund_auto = 1;
	c->fund_gas = 400000; /* addClient (218,419) or register (140,376) with a P-256 key, + 25% */
	c->fund_margin = 50;
	c->replace_after_ms = 120000;
	c->token_validity_ms = 7u * 24 * 3600 * 1000;
	c->approval_validity_ms = 3600 * 1000;
	c->rpc_timeout_ms = 5000;
	c->request_timeout_ms = 30000;
	c->max_connections = 32;
	c->handshake_timeout_ms = 10000;
	c->max_connections_per_address = 4;
	c->web_session_ms = 15 * 60 * 1000;
	c->web_rate_limit = 10;
	c->dcv_deadline_ms = 30000;
}

void
pkm_config_free(struct pkm_config *c)
{
	for (size_t i = 0; i < c->n_rpc; i++)
		free(c->rpc_url[i]);
	free(c->state_dir);
	free(c->listen);
	free(c->public_endpoint);
	free(c->web_listen);
	free(c->web_identity);
	free(c->web_client_header);
	for (size_t i = 0; i < c->n_operators; i++)
		free(c->operators[i]);
	memset(c, 0, sizeof(*c));
}

enum { K_RPC_URL, K_CHAIN_ID, K_CONTRACT, K_STATE_DIR, K_LISTEN, K_PUBLIC_ENDPOINT, K_FUND_AMOUNT,
	K_TOKEN_VALIDITY, K_APPROVAL_VALIDITY, K_RPC_TIMEOUT, K_REQUEST_TIMEOUT, K_MAX_CONNECTIONS,
	K_HANDSHAKE_TIMEOUT, K_MAX_CONNECTIONS_PER_ADDRESS, K_WEB_LISTEN, K_WEB_IDENTITY, K_OPERATOR,
	K_WEB_SESSION_LIFETIME, K_WEB_RATE_LIMIT, K_DCV_DEADLINE, K_WEB_CLIENT_HEADER,
	K_CONFIRMATIONS, K_MAX_FEE, K_MAX_TIP, K_REPLACE_AFTER, K_FUND_GAS, K_FUND_MARGIN,
	K_COUNT };

static const struct dpk_conffile_key keys[K_COUNT] = {
	{"rpc_url", 1}, {"chain_id", 0}, {"contract", 0}, {"state_dir", 0}, {"listen", 0},
	{"public_endpoint", 0}, {"fund_amount", 0}, {"token_validity", 0}, {"approval_validity", 0},
	{"rpc_timeout", 0}, {"request_timeout", 0}, {"max_connections", 0},
	{"handshake_timeout", 0}, {"max_connections_per_address", 0}, {"web_listen", 0}, {"web_identity", 0},
	{"operator", 1}, {"web_session_lifetime", 0}, {"web_rate_limit", 0}, {"dcv_deadline", 0},
	{"web_client_header", 0},
	{"confirmations", 0},
	{"max_fee_per_gas", 0}, {"max_priority_fee_per_gas", 0}, {"replace_after", 0}, {"fund_gas", 0},
	{"fund_margin", 0},
};

/* The canonical text of identity v into *dst (new string). */
static int
set_identity(char **dst, const char *v, const char **why)
{
	struct dpk_identity id;
	char canon[DPK_IDENTITY_FORMAT_SIZE];

	if (dpk_identity_parse(v, strlen(v), &id) != 0 || dpk_identity_format(&id, canon, sizeof(canon)) != 0)
		return *why = "is not a DPK identity (a domain name, IPv4 or IPv6 address, or UUID)", 1;
	return dpk_conffile_string(dst, canon);
}

/* web_listen: a loopback address only. The interface speaks plain HTTP and
 * its cookies are Secure: TLS is the job of a proxy on the same host. */
static int
set_web_listen(struct pkm_config *c, const char *v, const char **why)
{
	const char *colon = strrchr(v, ':');
	char host[64];
	struct in_addr a4;
	struct in6_addr a6;
	size_t hl;

	if (colon == NULL || (hl = (size_t)(colon - v)) == 0 || hl >= sizeof(host))
		return *why = "is not a loopback host:port (127.0.0.1:8080 or [::1]:8080)", 1;
	memcpy(host, v, hl);
	host[hl] = '\0';
	if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1 || !IN6_IS_ADDR_LOOPBACK(&a6))
			return *why = "must be a loopback address ([::1]:PORT): put a TLS proxy in front for other hosts", 1;
	} else if (inet_pton(AF_INET, host, &a4) != 1 || (ntohl(a4.s_addr) >> 24) != 127) {
		return *why = "must be a loopback address (127.0.0.1:PORT): put a TLS proxy in front for other hosts", 1;
	}
	return dpk_conffile_host_port(v, &c->web_listen, why);
}

static int
pkm_set(void *ctx, size_t k, const char *v, const char **why)
{
	struct pkm_config *c = ctx;
	uint64_t u;

	switch (k) {
	case K_CONFIRMATIONS:
		return dpk_conffile_depth(v, &c->depth, why);
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
		c->fund_auto = strcmp(v, "auto") == 0;
		if (c->fund_auto) {
			dpk_u256_from_u64(&c->fund_amount, 0);
			return 0;
		}
		if (dpk_u256_from_dec(&c->fund_amount, v) != 0 || dpk_u256_cmp(&c->fund_amount, &max) > 0)
			return *why = "is not 'auto' or an amount in wei from 0 to 1 ether (1000000000000000000)", 1;
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
	case K_WEB_LISTEN:
		return set_web_listen(c, v, why);
	case K_WEB_IDENTITY:
		return set_identity(&c->web_identity, v, why);
	case K_OPERATOR:
		if (c->n_operators >= PKM_CONFIG_MAX_OPERATORS)
			return *why = "is given more than 32 times", 1;
		if (set_identity(&c->operators[c->n_operators], v, why) != 0)
			return 1;
		c->n_operators++;
		return 0;
	case K_WEB_SESSION_LIFETIME:
		if (dpk_conffile_duration(v, 24 * 3600 * 1000, &c->web_session_ms) != 0 || c->web_session_ms < 1000)
			return *why = "is not a duration from 1s to 24h", 1;
		return 0;
	case K_WEB_RATE_LIMIT:
		if (dpk_conffile_u64(v, 10000, &u) != 0 || u == 0)
			return *why = "is not a number from 1 to 10000", 1;
		c->web_rate_limit = (unsigned)u;
		return 0;
	case K_WEB_CLIENT_HEADER:
		if (strlen(v) > 64 || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") != strlen(v) ||
		    v[0] == '\0')
			return *why = "is not an HTTP header name (such as X-Real-IP)", 1;
		return dpk_conffile_string(&c->web_client_header, v);
	case K_MAX_FEE:
	case K_MAX_TIP:
		return dpk_fee_parse(v, k == K_MAX_FEE ? &c->max_fee_per_gas : &c->max_priority_fee_per_gas, why) != 0;
	case K_REPLACE_AFTER:
		if (dpk_conffile_duration(v, 24 * 3600 * 1000, &c->replace_after_ms) != 0 || c->replace_after_ms < 1000)
			return *why = "is not a duration from 1s to 24h", 1;
		return 0;
	case K_FUND_GAS:
		if (dpk_conffile_u64(v, 30000000, &c->fund_gas) != 0 || c->fund_gas < 21000)
			return *why = "is not a gas figure from 21000 to 30000000", 1;
		return 0;
	case K_FUND_MARGIN:
		if (dpk_conffile_u64(v, 1000, &u) != 0)
			return *why = "is not a percentage from 0 to 1000", 1;
		c->fund_margin = (unsigned)u;
		return 0;
	case K_DCV_DEADLINE:
		if (dpk_conffile_duration(v, 600 * 1000, &c->dcv_deadline_ms) != 0 || c->dcv_deadline_ms < 100)
			return *why = "is not a duration from 100ms to 10m", 1;
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
	if (c->web_listen != NULL && (c->web_identity == NULL || c->n_operators == 0)) {
		snprintf(err, errsz, "%s: web_listen needs web_identity (this host's DPK identity) and at least one "
		    "operator (a DPK identity that may log in)", path);
		return DPK_ERR_INVALID;
	}
	return 0;
}
