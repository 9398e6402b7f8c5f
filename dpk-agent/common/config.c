#include "common/config.h"
#include "common/psk_listen.h"

#include "daemon/conffile.h"
#include "base/err.h"
#include "base/hex.h"
#include "eth/rpc.h"
#include "eth/fees.h"
#include "eth/wallet.h"
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONFIG_MAX_DURATION_MS (24u * 3600 * 1000)

void
dpk_config_defaults(struct dpk_config *c)
{
	memset(c, 0, sizeof(*c));
	c->key_algorithm = DPK_KEYALG_P256;
	c->rsa_bits = 3072;
	c->cache_ttl_ms = 300 * 1000;
	c->negative_cache_ttl_ms = 30 * 1000;
	c->login_challenge_ttl_ms = 120 * 1000;
	c->poll_interval_ms = 5 * 1000;
	c->registration = DPK_CONFIG_REG_RELAY;
	c->rpc_timeout_ms = 5 * 1000;
	c->verify_reads = 1;
	c->replace_after_ms = 120 * 1000;
	c->rpc_quorum = 0; /* a majority of the rpc_url */
	c->request_timeout_ms = 2 * 1000;
	c->nss_uid_min = DPK_NSS_UID_MIN_DEFAULT;
	c->nss_uid_max = DPK_NSS_UID_MAX_DEFAULT;
	c->psk_port = 7443;
	c->psk_lifetime_ms = 3600 * 1000;
	c->psk_handshake_timeout_ms = 10 * 1000;
	c->psk_max_handshakes = 64;
	c->psk_max_outbound = 16;
	c->psk_max_per_source = 0; /* a quarter of psk_max_handshakes */
	c->max_connections_per_uid = 32;
	c->root_connections = 32;
	c->client_idle_timeout_ms = 30 * 1000;
	c->client_io_timeout_ms = 10 * 1000;
	c->max_chain_reads = 256;
	c->max_chain_reads_per_uid = 16;
	c->log_range = 10000;
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
	free(c->ssh_agent_socket);
	free(c->nss_allow);
	agent_selset_free(&c->login_allow);
	for (size_t i = 0; i < c->n_user_group; i++)
		agent_selset_free(&c->user_group[i].who);
	for (size_t i = 0; i < c->n_nss_allow_suffix; i++)
		free(c->nss_allow_suffix[i]);
	free(c->nss_group);
	free(c->nss_home);
	free(c->nss_shell);
	free(c->nss_cache_file);
	free(c->psk_listen);
	free(c->psk_group);
	memset(c, 0, sizeof(*c));
}

enum key_id {
	K_RPC_URL, K_CHAIN_ID, K_CONTRACT, K_IDENTITY, K_KEY_ALGORITHM, K_PKM_ADDRESS,
	K_PKM_ENDPOINT, K_TOKEN_FILE, K_STATE_DIR, K_SOCKET, K_ADMIN_GROUP, K_CACHE_TTL,
	K_NEGATIVE_CACHE_TTL, K_POLL_INTERVAL, K_RPC_TIMEOUT, K_REQUEST_TIMEOUT, K_REGISTRATION,
	K_NSS_ALLOW, K_NSS_ALLOW_SUFFIX, K_NSS_UID_MIN, K_NSS_UID_MAX, K_NSS_GID, K_NSS_GROUP, K_NSS_HOME,
	K_NSS_SHELL, K_SSH_AGENT_SOCKET, K_NSS_CACHE_FILE, K_NSS_ALLOW_PKM, K_NSS_ENUMERATE, K_LOGIN_CHALLENGE_TTL, K_OFFLINE_LOGIN_MAX_AGE,
	K_LOGIN_ALLOW, K_USER_GROUP,
	K_PSK_LISTEN, K_PSK_PORT, K_PSK_LIFETIME, K_PSK_HANDSHAKE_TIMEOUT, K_PSK_MAX_HANDSHAKES,
	K_PSK_GROUP,
	K_PSK_MAX_OUTBOUND, K_PSK_MAX_PER_SOURCE,
	K_MAX_CONNECTIONS_PER_UID, K_ROOT_CONNECTIONS, K_CLIENT_IDLE_TIMEOUT, K_CLIENT_IO_TIMEOUT, K_MAX_CHAIN_READS,
	K_MAX_CHAIN_READS_PER_UID, K_VERIFY_READS, K_RPC_QUORUM, K_CONFIRMATIONS,
	K_CHECKPOINT, K_MAX_PROOF_AGE, K_DEPLOY_BLOCK, K_LOG_RANGE,
	K_MAX_FEE_PER_GAS, K_MAX_PRIORITY_FEE_PER_GAS, K_REPLACE_AFTER, K_COUNT
};

/* checkpoint = NUMBER:0xBLOCKHASH (a block the operator checked elsewhere,
 * e.g. on a block explorer); 1 with a reason in why when malformed. */
static int
agent_config_checkpoint(struct dpk_config *c, const char *v, const char **why)
{
	const char *colon = strchr(v, ':');
	char num[24];
	uint64_t u;

	*why = "is not NUMBER:0xBLOCKHASH (a block number, a colon, and that block's 32-byte hash in hex)";
	if (colon == NULL || colon == v || (size_t)(colon - v) >= sizeof(num))
		return 1;
	memcpy(num, v, (size_t)(colon - v));
	num[colon - v] = '\0';
	if (dpk_conffile_u64(num, UINT64_MAX, &u) != 0 || strncmp(colon + 1, "0x", 2) != 0 ||
	    strlen(colon + 1) != 66 || dpk_hex_decode_exact(colon + 1, c->checkpoint_hash, 32) != 0)
		return 1;
	c->checkpoint_number = u;
	c->has_checkpoint = 1;
	return 0;
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
		return dpk_conffile_rpc_url(c->rpc_url, &c->n_rpc, DPK_CONFIG_MAX_RPC, v, why);
	case K_CHAIN_ID:
		return dpk_conffile_chain_id(v, &c->chain_id, why);
	case K_CONTRACT:
		return dpk_conffile_address(v, c->contract, why);
	case K_PKM_ADDRESS: {
		int r = dpk_conffile_address(v, c->pkm_address, why);

		c->has_pkm_address = r == 0;
		return r;
	}
	case K_IDENTITY:
		if (strlen(v) > 253)
			return *why = "is too long for an identity", 1;
		return dpk_conffile_string(&c->identity, v);
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
	case K_PKM_ENDPOINT:
		return dpk_conffile_host_port(v, &c->pkm_endpoint, why);
	case K_TOKEN_FILE:
	case K_STATE_DIR:
	case K_SOCKET: {
		char **dst = k == K_TOKEN_FILE ? &c->token_file :
		    k == K_STATE_DIR ? &c->state_dir : &c->socket_path;

		if (!is_absolute_path(v))
			return *why = "must be an absolute path", 1;
		if (k == K_SOCKET && strlen(v) >= 108)
			return *why = "is too long for a Unix socket path (107 bytes at most)", 1;
		return dpk_conffile_string(dst, v);
	}
	case K_SSH_AGENT_SOCKET:
		if (strcmp(v, "none") != 0 && !is_absolute_path(v))
			return *why = "must be an absolute path, or none", 1;
		if (strlen(v) >= 108)
			return *why = "is too long for a Unix socket path (107 bytes at most)", 1;
		return dpk_conffile_string(&c->ssh_agent_socket, v);
	case K_ADMIN_GROUP:
		if (strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(v) ||
		    strlen(v) > 32 || v[0] == '-')
			return *why = "is not a group name", 1;
		return dpk_conffile_string(&c->admin_group, v);
	case K_REGISTRATION:
		if (strcmp(v, "relay") == 0)
			c->registration = DPK_CONFIG_REG_RELAY;
		else if (strcmp(v, "eip712") == 0)
			c->registration = DPK_CONFIG_REG_EIP712;
		else if (strcmp(v, "paper") == 0)
			c->registration = DPK_CONFIG_REG_PAPER;
		else
			return *why = "is not 'relay' (the PKM sends one transaction), 'eip712' (this host sends one "
			    "transaction) or 'paper' (addClient, then the PKM approves)", 1;
		return 0;
	case K_NSS_ALLOW: {
		struct dpk_config_nss_user *n;
		struct dpk_identity id;

		if (dpk_identity_parse(v, strlen(v), &id) != 0)
			return *why = "is not a DPK identity (a domain name, an IPv4 or IPv6 address, or a UUID)", 1;
		if (c->n_nss_allow == DPK_CONFIG_MAX_NSS_ALLOW)
			return *why = "is one identity too many (at most 1024 nss_allow lines)", 1;
		if ((n = realloc(c->nss_allow, (c->n_nss_allow + 1) * sizeof(*n))) == NULL)
			return DPK_ERR_NOMEM;
		c->nss_allow = n;
		memset(&n[c->n_nss_allow], 0, sizeof(*n));
		n[c->n_nss_allow].id = id;
		if (dpk_identity_hash(&id, n[c->n_nss_allow].hash) != 0)
			return *why = "is not a DPK identity", 1;
		c->n_nss_allow++;
		return 0;
	}
	case K_NSS_ALLOW_SUFFIX: {
		struct dpk_identity id;
		char *d;

		/* the suffix without its dot must itself be a domain: ".org" and ".example.org" */
		if (v[0] != '.' || dpk_identity_parse_kind(DPK_IDENTITY_DOMAIN, v + 1, strlen(v + 1), &id) != 0 ||
		    v[strlen(v) - 1] == '.')
			return *why = "is not a domain suffix with its leading dot (e.g. .example.org)", 1;
		if (c->n_nss_allow_suffix == DPK_CONFIG_MAX_NSS_SUFFIX)
			return *why = "is one suffix too many (at most 64)", 1;
		if ((d = malloc((size_t)id.len + 2)) == NULL)
			return DPK_ERR_NOMEM;
		d[0] = '.';
		memcpy(d + 1, id.value, id.len);
		d[id.len + 1] = '\0';
		c->nss_allow_suffix[c->n_nss_allow_suffix++] = d;
		return 0;
	}
	case K_NSS_UID_MIN:
	case K_NSS_UID_MAX:
	case K_NSS_GID:
		/* below 1000 are the system's own ids; 2^31 and up break too many programs */
		if (dpk_conffile_u64(v, 2147483646u, &u) != 0 || u < 1000)
			return *why = "is not an id from 1000 to 2147483646", 1;
		if (k == K_NSS_UID_MIN)
			c->nss_uid_min = (uint32_t)u;
		else if (k == K_NSS_UID_MAX)
			c->nss_uid_max = (uint32_t)u;
		else
			c->nss_gid = (uint32_t)u, c->has_nss_gid = 1;
		return 0;
	case K_NSS_GROUP:
		if (strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != strlen(v) || strlen(v) > 32 ||
		    !(v[0] >= 'a' && v[0] <= 'z'))
			return *why = "is not a group name (lower case, at most 32 characters, starting with a letter)", 1;
		return dpk_conffile_string(&c->nss_group, v);
	case K_NSS_HOME:
	case K_NSS_SHELL:
		/* passwd fields: a ':' or a newline would corrupt every getent line */
		if (!is_absolute_path(v) || strlen(v) > 1024 || strpbrk(v, ":\n") != NULL)
			return *why = "must be an absolute path without ':'", 1;
		if (k == K_NSS_HOME) {
			const char *pc;

			for (pc = strchr(v, '%'); pc != NULL; pc = strchr(pc + 2, '%'))
				if (pc[1] != 'u' && pc[1] != '%')
					return *why = "has a '%' other than %u (the user name) or %%", 1;
		}
		return dpk_conffile_string(k == K_NSS_HOME ? &c->nss_home : &c->nss_shell, v);
	case K_NSS_CACHE_FILE:
		if (!is_absolute_path(v))
			return *why = "must be an absolute path", 1;
		return dpk_conffile_string(&c->nss_cache_file, v);
	case K_NSS_ALLOW_PKM:
		if (c->n_nss_allow_pkm == DPK_CONFIG_MAX_NSS_PKM)
			return *why = "is one approver too many (at most 16 nss_allow_pkm lines)", 1;
		if (dpk_conffile_address(v, c->nss_allow_pkm[c->n_nss_allow_pkm], why) != 0)
			return 1;
		c->n_nss_allow_pkm++;
		return 0;
	case K_NSS_ENUMERATE:
		if (strcmp(v, "yes") == 0)
			c->nss_enumerate = 1;
		else if (strcmp(v, "no") == 0)
			c->nss_enumerate = 0;
		else
			return *why = "is not 'yes' or 'no'", 1;
		return 0;
	case K_VERIFY_READS:
		if (strcmp(v, "yes") == 0)
			c->verify_reads = 1;
		else if (strcmp(v, "no") == 0)
			c->verify_reads = 0;
		else
			return *why = "is not 'yes' or 'no'", 1;
		return 0;
	case K_RPC_QUORUM:
		if (dpk_conffile_u64(v, DPK_CONFIG_MAX_RPC, &u) != 0 || u == 0)
			return *why = "is not a number of endpoints (1 to the number of rpc_url)", 1;
		c->rpc_quorum = (uint32_t)u;
		return 0;
	case K_CONFIRMATIONS: {
		struct dpk_rpc_depth d;

		if (dpk_conffile_depth(v, &d, why) != 0)
			return 1;
		c->anchor_finalized = d.kind == DPK_RPC_DEPTH_FINALIZED ? 1 : d.kind == DPK_RPC_DEPTH_SAFE ? 2 : 0;
		c->confirmations = d.confirmations;
		return 0;
	}
	case K_CHECKPOINT:
		return agent_config_checkpoint(c, v, why);
	case K_MAX_PROOF_AGE: dur = &c->max_proof_age_ms; break;
	case K_DEPLOY_BLOCK:
		if (dpk_conffile_u64(v, UINT64_MAX / 2, &c->deploy_block) != 0)
			return *why = "is not a block number", 1;
		return 0;
	case K_LOG_RANGE:
		return dpk_conffile_log_range(v, &c->log_range, why);
	case K_MAX_FEE_PER_GAS:
		return dpk_fee_parse(v, &c->max_fee_per_gas, why) != 0;
	case K_MAX_PRIORITY_FEE_PER_GAS:
		return dpk_fee_parse(v, &c->max_priority_fee_per_gas, why) != 0;
	case K_REPLACE_AFTER:
		if (dpk_conffile_duration(v, CONFIG_MAX_DURATION_MS, &c->replace_after_ms) != 0 || c->replace_after_ms < 1000)
			return *why = "is not a duration from 1s to 24h", 1;
		return 0;
	case K_LOGIN_ALLOW:
		c->has_login_allow = 1;
		return agent_selset_add(&c->login_allow, v, why);
	case K_USER_GROUP: {
		struct dpk_config_group *g;
		size_t n = strcspn(v, " \t");

		if (c->n_user_group == DPK_CONFIG_MAX_USER_GROUPS)
			return *why = "is one group too many (at most 32 user_group lines)", 1;
		if (n == 0 || n > 32 || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_.-") < n || v[0] == '-')
			return *why = "does not start with a group name (lower case, at most 32 characters), then selectors", 1;
		g = &c->user_group[c->n_user_group];
		memset(g, 0, sizeof(*g));
		memcpy(g->name, v, n);
		for (size_t i = 0; i < c->n_user_group; i++)
			if (strcmp(c->user_group[i].name, g->name) == 0)
				return *why = "names a group that an earlier user_group line names: put its selectors on one line", 1;
		c->n_user_group++;
		return agent_selset_add(&g->who, v + n, why);
	}
	case K_PSK_LISTEN:
		if (agent_psk_listen_check(v) != 0)
			return *why = "is not PORT, IPv4:PORT or [IPv6]:PORT (a numeric address; port 1-65535)", 1;
		return dpk_conffile_string(&c->psk_listen, v);
	case K_PSK_PORT:
		if (dpk_conffile_u64(v, 65535, &u) != 0 || u == 0)
			return *why = "is not a port number (1-65535)", 1;
		c->psk_port = (uint16_t)u;
		return 0;
	case K_PSK_MAX_HANDSHAKES:
		if (dpk_conffile_u64(v, 4096, &u) != 0 || u == 0)
			return *why = "is not a number from 1 to 4096", 1;
		c->psk_max_handshakes = (uint32_t)u;
		return 0;
	case K_PSK_GROUP:
		if (strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(v) ||
		    strlen(v) > 32 || v[0] == '-')
			return *why = "is not a group name", 1;
		return dpk_conffile_string(&c->psk_group, v);
	case K_PSK_MAX_OUTBOUND:
		if (dpk_conffile_u64(v, 1024, &u) != 0 || u == 0)
			return *why = "is not a number from 1 to 1024", 1;
		c->psk_max_outbound = (uint32_t)u;
		return 0;
	case K_PSK_MAX_PER_SOURCE:
		if (dpk_conffile_u64(v, 4096, &u) != 0 || u == 0)
			return *why = "is not a number from 1 to 4096", 1;
		c->psk_max_per_source = (uint32_t)u;
		return 0;
	case K_PSK_LIFETIME: dur = &c->psk_lifetime_ms; break;
	case K_PSK_HANDSHAKE_TIMEOUT: dur = &c->psk_handshake_timeout_ms; break;
	case K_CACHE_TTL: dur = &c->cache_ttl_ms; break;
	case K_NEGATIVE_CACHE_TTL: dur = &c->negative_cache_ttl_ms; break;
	case K_POLL_INTERVAL: dur = &c->poll_interval_ms; break;
	case K_RPC_TIMEOUT: dur = &c->rpc_timeout_ms; break;
	case K_REQUEST_TIMEOUT: dur = &c->request_timeout_ms; break;
	case K_LOGIN_CHALLENGE_TTL: dur = &c->login_challenge_ttl_ms; break;
	case K_OFFLINE_LOGIN_MAX_AGE: dur = &c->offline_login_max_age_ms; break;
	case K_MAX_CONNECTIONS_PER_UID:
		if (dpk_conffile_u64(v, DPK_CONFIG_MAX_CONNECTIONS, &u) != 0 || u == 0)
			return *why = "is not a number from 1 to 256", 1;
		c->max_connections_per_uid = (uint32_t)u;
		return 0;
	case K_ROOT_CONNECTIONS:
		if (dpk_conffile_u64(v, DPK_CONFIG_MAX_CONNECTIONS / 2, &u) != 0)
			return *why = "is not a number from 0 to 128", 1;
		c->root_connections = (uint32_t)u;
		return 0;
	case K_MAX_CHAIN_READS:
	case K_MAX_CHAIN_READS_PER_UID:
		if (dpk_conffile_u64(v, DPK_CONFIG_MAX_CHAIN_READS, &u) != 0 || u == 0)
			return *why = "is not a number from 1 to 1024", 1;
		*(k == K_MAX_CHAIN_READS ? &c->max_chain_reads : &c->max_chain_reads_per_uid) = (uint32_t)u;
		return 0;
	case K_CLIENT_IDLE_TIMEOUT: dur = &c->client_idle_timeout_ms; break;
	case K_CLIENT_IO_TIMEOUT: dur = &c->client_io_timeout_ms; break;
	case K_COUNT: break;
	}
	if (dur == NULL || dpk_conffile_duration(v, CONFIG_MAX_DURATION_MS, dur) != 0)
		return *why = "is not a duration (e.g. 30, 30s, 500ms, 5m; at most 24h)", 1;
	if ((k == K_POLL_INTERVAL || k == K_RPC_TIMEOUT || k == K_REQUEST_TIMEOUT) && *dur < 10)
		return *why = "is too short (at least 10ms)", 1;
	if (k == K_LOGIN_CHALLENGE_TTL && (*dur < 1000 || *dur > 3600 * 1000))
		return *why = "must be between 1s and 1h", 1;
	if ((k == K_CLIENT_IDLE_TIMEOUT || k == K_CLIENT_IO_TIMEOUT) && *dur < 100)
		return *why = "is too short (at least 100ms)", 1;
	if ((k == K_PSK_LIFETIME || k == K_PSK_HANDSHAKE_TIMEOUT) && *dur < 1000)
		return *why = "is too short (at least 1s)", 1;
	return 0;
}

static const struct dpk_conffile_key keys[K_COUNT] = {
	{"rpc_url", 1}, {"chain_id", 0}, {"contract", 0}, {"identity", 0}, {"key_algorithm", 0},
	{"pkm_address", 0}, {"pkm_endpoint", 0}, {"token_file", 0}, {"state_dir", 0}, {"socket", 0},
	{"admin_group", 0}, {"cache_ttl", 0}, {"negative_cache_ttl", 0}, {"poll_interval", 0},
	{"rpc_timeout", 0}, {"request_timeout", 0}, {"registration", 0},
	{"nss_allow", 1}, {"nss_allow_suffix", 1}, {"nss_uid_min", 0}, {"nss_uid_max", 0}, {"nss_gid", 0},
	{"nss_group", 0}, {"nss_home", 0}, {"nss_shell", 0},
	{"ssh_agent_socket", 0},
	{"nss_cache_file", 0}, {"nss_allow_pkm", 1}, {"nss_enumerate", 0},
	{"login_challenge_ttl", 0},
	{"offline_login_max_age", 0}, {"login_allow", 1}, {"user_group", 1},
	{"psk_listen", 0}, {"psk_port", 0}, {"psk_lifetime", 0}, {"psk_handshake_timeout", 0},
	{"psk_max_handshakes", 0}, {"psk_group", 0},
	{"psk_max_outbound", 0}, {"psk_max_per_source", 0},
	{"max_connections_per_uid", 0}, {"root_connections", 0}, {"client_idle_timeout", 0}, {"client_io_timeout", 0},
	{"max_chain_reads", 0}, {"max_chain_reads_per_uid", 0},
	{"verify_reads", 0}, {"rpc_quorum", 0}, {"confirmations", 0},
	{"checkpoint", 0}, {"max_proof_age", 0},
	{"deploy_block", 0}, {"log_range", 0},
	{"max_fee_per_gas", 0}, {"max_priority_fee_per_gas", 0}, {"replace_after", 0},
};

static int
config_set_cb(void *ctx, size_t k, const char *value, const char **why)
{
	return config_set(ctx, (enum key_id)k, value, why);
}

int
dpk_config_parse(struct dpk_config *c, const char *name, const char *text, size_t len,
    char *err, size_t errsz)
{
	int r = dpk_conffile_parse(name, text, len, keys, K_COUNT, config_set_cb, c, err, errsz);

	if (r != 0)
		return r;
	if (c->nss_uid_min > c->nss_uid_max) {
		snprintf(err, errsz, "%s: nss_uid_min (%u) is above nss_uid_max (%u)", name, c->nss_uid_min, c->nss_uid_max);
		return DPK_ERR_INVALID;
	}
	if ((c->nss_group == NULL && dpk_conffile_string(&c->nss_group, "dpk-users") != 0) ||
	    (c->nss_home == NULL && dpk_conffile_string(&c->nss_home, "/home/%u") != 0) ||
	    (c->nss_shell == NULL && dpk_conffile_string(&c->nss_shell, "/bin/bash") != 0))
		return DPK_ERR_NOMEM;
	return agent_nss_assign(c->nss_allow, &c->n_nss_allow, name, err, errsz);
}

int
dpk_config_resolve_groups(struct dpk_config *c, const char *name, char *err, size_t errsz)
{
	for (size_t i = 0; i < c->n_user_group; i++) {
		struct group *g = getgrnam(c->user_group[i].name);

		if (g == NULL) {
			snprintf(err, errsz, "%s: user_group: there is no group '%s' on this host (create it with groupadd, "
			    "or in your directory, first)", name, c->user_group[i].name);
			return DPK_ERR_INVALID;
		}
		if (g->gr_gid == 0) {
			snprintf(err, errsz, "%s: user_group: the group '%s' is gid 0, root's group: DPK users never get it",
			    name, c->user_group[i].name);
			return DPK_ERR_INVALID;
		}
		if (g->gr_gid >= c->nss_uid_min && g->gr_gid <= c->nss_uid_max) {
			snprintf(err, errsz, "%s: user_group: the group '%s' has gid %lu, inside nss_uid_min..nss_uid_max",
			    name, c->user_group[i].name, (unsigned long)g->gr_gid);
			return DPK_ERR_INVALID;
		}
		c->user_group[i].gid = (uint32_t)g->gr_gid;
	}
	return 0;
}

static int
parse_cb(void *ctx, const char *name, const char *text, size_t len, char *err, size_t errsz)
{
	return dpk_config_parse(ctx, name, text, len, err, errsz);
}

int
dpk_config_load(struct dpk_config *c, const char *path, char *err, size_t errsz)
{
	int r;

	if ((r = dpk_conffile_load(path, parse_cb, c, err, errsz)) != 0)
		return r;
	if (c->n_rpc > 0 && c->rpc_quorum > c->n_rpc) {
		snprintf(err, errsz, "%s: rpc_quorum: %u endpoints must agree but only %zu rpc_url are given",
		    path, c->rpc_quorum, c->n_rpc);
		return DPK_ERR_INVALID;
	}
	return dpk_conffile_require_chain(path, c->n_rpc, c->chain_id, c->contract, err, errsz);
}
