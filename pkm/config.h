/* pkm.conf: the Public Key Manager's configuration (man page dpk-pkm(8)). */
#ifndef DPK_PKM_CONFIG_H
#define DPK_PKM_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "eth/rpc.h"
#include "eth/u256.h"

#define PKM_CONFIG_DEFAULT_PATH "/etc/dpk/pkm.conf"
#define PKM_CONFIG_MAX_RPC 8
#define PKM_CONFIG_MAX_OPERATORS 32

struct pkm_config {
	char *rpc_url[PKM_CONFIG_MAX_RPC];
	size_t n_rpc;
	uint64_t chain_id;
	uint8_t contract[20];
	char *state_dir;          /* default /var/lib/dpk-pkm */
	char *listen;             /* host:port; default 0.0.0.0:7443 */
	char *public_endpoint;    /* host:port written into tokens; default: listen */
	struct dpk_u256 fund_amount; /* wei given to each device, once; zero with fund_auto */
	int fund_auto;            /* fund_amount = auto (the default): fund_gas at the network's fees */
	uint64_t fund_gas;        /* gas a device's registration may use; default 400000 */
	unsigned fund_margin;     /* percent added to the estimate; default 50 */
	uint64_t max_fee_per_gas; /* wei; 0: no cap */
	uint64_t max_priority_fee_per_gas; /* wei; 0: no cap */
	uint32_t replace_after_ms; /* a pending transaction is replaced after this; default 2 min */
	uint32_t token_validity_ms;  /* default 7 days */
	uint32_t approval_validity_ms; /* EIP-712 approvals expire after this; default 1 h */
	uint32_t rpc_timeout_ms;
	uint32_t request_timeout_ms;   /* each read and write of a connection, after the handshake */
	unsigned max_connections;
	uint32_t handshake_timeout_ms; /* the whole TLS handshake of a connection; default 10 s */
	unsigned max_connections_per_address; /* from one source (IPv4 address, IPv6 /64); default 4 */
	/* the operator interface (pkm/web.c); off unless web_listen is set */
	char *web_listen;         /* loopback host:port only: a TLS proxy goes in front */
	char *web_identity;       /* this host's DPK identity, the host of login challenges */
	char *operators[PKM_CONFIG_MAX_OPERATORS]; /* canonical DPK identities that may log in */
	size_t n_operators;
	uint32_t web_session_ms;  /* a session's lifetime; default 15 min */
	unsigned web_rate_limit;  /* logins and enrolments per source per minute; default 10 */
	uint32_t dcv_deadline_ms; /* how long domain control validation keeps trying; default 30 s */
	char *web_client_header;  /* the proxy's header naming the client (X-Real-IP); unset: the peer */
	struct dpk_rpc_depth depth; /* confirmations: reads and receipts count at this depth; default latest */
};

void pkm_config_defaults(struct pkm_config *c);
int pkm_config_parse(struct pkm_config *c, const char *name, const char *text, size_t len,
    char *err, size_t errsz);
/* Read, parse, fill defaults, check required keys. */
int pkm_config_load(struct pkm_config *c, const char *path, char *err, size_t errsz);
void pkm_config_free(struct pkm_config *c);

#endif
