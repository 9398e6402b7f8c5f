/* dpk.conf: the agent's configuration (man page dpk.conf(5)).
 * "key = value" lines, '#' comments; unknown keys, repeated keys and bad
 * values are errors naming the file, line and key. */
#ifndef DPK_AGENT_CONFIG_H
#define DPK_AGENT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/nss_map.h"
#include "common/selector.h"
#include "registry/identity.h"

#define DPK_CONFIG_DEFAULT_PATH "/etc/dpk/dpk.conf"
#define DPK_CONFIG_MAX_RPC 8
#define DPK_CONFIG_MAX_NSS_ALLOW 1024
#define DPK_CONFIG_MAX_NSS_SUFFIX 64
#define DPK_CONFIG_MAX_NSS_PKM 16
#define DPK_CONFIG_MAX_USER_GROUPS 32
#define DPK_CONFIG_MAX_CONNECTIONS 256  /* the agent's connection slots (root_connections <= half) */
#define DPK_CONFIG_MAX_CHAIN_READS 1024 /* the most max_chain_reads may be */

enum dpk_config_keyalg {
	DPK_KEYALG_P256 = 1,
	DPK_KEYALG_RSA = 2,
};

/* registration = ...: the values are those of the registration journal's flow (chain/register.h) */
#define DPK_CONFIG_REG_EIP712 0 /* the device sends register() with the PKM's EIP-712 approval */
#define DPK_CONFIG_REG_PAPER 1  /* addClient, then the PKM's approveClient */
#define DPK_CONFIG_REG_RELAY 2  /* the PKM sends registerRelayed with the device's signature: one block */

struct dpk_config {
	char *rpc_url[DPK_CONFIG_MAX_RPC]; /* tried in order; at least one */
	size_t n_rpc;
	uint64_t chain_id;                 /* required */
	uint8_t contract[20];              /* required */
	char *identity;                    /* this host's identity, text form; NULL if none */
	enum dpk_config_keyalg key_algorithm;
	unsigned rsa_bits;                 /* 2048..8192 when key_algorithm is RSA */
	int has_pkm_address;
	uint8_t pkm_address[20];           /* the PKM's (approver's) wallet */
	char *pkm_endpoint;                /* host:port of the PKM's TLS-PSK channel */
	char *token_file;
	char *state_dir;
	char *socket_path;
	char *ssh_agent_socket;            /* sshagent.c; NULL: beside socket_path; "none": off */
	char *admin_group;                 /* may register, sign, read secrets; NULL: root only */
	uint32_t cache_ttl_ms;
	uint32_t negative_cache_ttl_ms;
	uint32_t poll_interval_ms;
	uint32_t rpc_timeout_ms;
	uint32_t request_timeout_ms;
	int registration;                  /* DPK_CONFIG_REG_*: how this host registers */
	/* nss_dpk's policy (nss.c, nss_dpk(8)) */
	struct dpk_config_nss_user *nss_allow; /* sorted by identity hash */
	size_t n_nss_allow;
	char *nss_allow_suffix[DPK_CONFIG_MAX_NSS_SUFFIX]; /* ".example.org", lower case */
	size_t n_nss_allow_suffix;
	uint32_t nss_uid_min, nss_uid_max;
	int has_nss_gid;                   /* 0: each user's primary group is its own, gid = uid */
	uint32_t nss_gid;
	char *nss_group;                   /* the name of nss_gid */
	char *nss_home;                    /* "%u" is the user name */
	char *nss_shell;
	char *nss_cache_file;              /* NULL: no cache file (nss_dpk(8)) */
	uint8_t nss_allow_pkm[DPK_CONFIG_MAX_NSS_PKM][20]; /* identities these approvers approved */
	size_t n_nss_allow_pkm;
	int nss_enumerate;                 /* getent passwd lists the known users */
	/* who of the users may log in (admit.c); none given: every user */
	int has_login_allow;
	struct agent_selset login_allow;
	/* supplementary groups of DPK users: another source's group (e.g.
	 * sudo) and who is in it; gid is looked up at start */
	struct dpk_config_group {
		char name[33];
		uint32_t gid;
		struct agent_selset who;
	} user_group[DPK_CONFIG_MAX_USER_GROUPS];
	size_t n_user_group;
	uint32_t login_challenge_ttl_ms;   /* pam_dpk challenges (login.c) */
	uint32_t offline_login_max_age_ms; /* a login may use a record this old while the chain is unreachable; 0: never */
	/* PSK exchange (peer.c, psk.c; dpk.conf(5)) */
	char *psk_listen;                  /* "host:port" or "port" for peers; NULL: no listener */
	uint16_t psk_port;                 /* the port of peers when PSK_HANDSHAKE names none */
	uint32_t psk_lifetime_ms;          /* how long an established PSK is kept */
	uint32_t psk_handshake_timeout_ms; /* a whole handshake, either role */
	uint32_t psk_max_handshakes;       /* inbound (peers connecting here) in flight at once */
	char *psk_group;                   /* may read PSKs besides root and admin_group */
	uint32_t psk_max_outbound;         /* handshakes this host starts, in flight at once (a budget of their own) */
	uint32_t psk_max_per_source;       /* inbound from one source (IPv4 address, IPv6 /64); 0: psk_max_handshakes / 4 */
	/* fair shares (server.c, chain/lookup.c; dpk.conf(5)) */
	uint32_t max_connections_per_uid;  /* socket connections one uid other than root may hold */
	uint32_t root_connections;         /* connection slots only root may use */
	uint32_t client_idle_timeout_ms;   /* a connection with no request under way is closed after this */
	uint32_t client_io_timeout_ms;     /* reading one request and writing its reply, in all */
	uint32_t max_chain_reads;          /* chain reads queued or under way at once */
	uint32_t max_chain_reads_per_uid;  /* of them, started for one uid other than root (peers count as one) */
	/* verified reads (chain/chain.c, doc/trust-model.md) */
	int verify_reads;                  /* 1 (default): records are proven (eth_getProof) at a checked header */
	uint32_t rpc_quorum;               /* endpoints that must agree on the header's hash; <= n_rpc; 0: a majority */
	uint32_t confirmations;            /* read this many blocks below the head */
	int anchor_finalized;              /* 1: read at the "finalized" block, 2: at "safe" (confirmations = TAG) */
	int has_checkpoint;                /* checkpoint = NUMBER:HASH: every anchor descends from this block */
	uint64_t checkpoint_number;
	uint8_t checkpoint_hash[32];
	uint32_t max_proof_age_ms;         /* refuse answers proven at a block made longer ago; 0: off */
	/* the event poll (chain/chain.c) */
	uint64_t deploy_block;             /* the registry's deployment block: no log is read below it */
	uint64_t log_range;                /* blocks per eth_getLogs request (halved when a node refuses it) */
	/* this host's own transactions (chain/register.c, lib/eth/fees.h) */
	uint64_t max_fee_per_gas;          /* wei; 0: no cap */
	uint64_t max_priority_fee_per_gas; /* wei; 0: no cap */
	uint32_t replace_after_ms;         /* a pending transaction is replaced after this; default 2 min */
};

/* Look up the gid of each user_group in the host's other sources (files,
 * LDAP, ...): 0, or DPK_ERR_INVALID naming the file (name) and the group
 * that does not exist in err. */
int dpk_config_resolve_groups(struct dpk_config *c, const char *name, char *err, size_t errsz);

/* Fill c with the defaults (all optional keys set, required ones empty). */
void dpk_config_defaults(struct dpk_config *c);

/* Parse text (len bytes, named name in messages) into c, which must hold the
 * defaults. On error returns a negative DPK_ERR_* and writes a message such as
 * "/etc/dpk/dpk.conf:12: chain_id: 'x' is not a number" into err. c must be
 * freed with dpk_config_free() whatever the result. */
int dpk_config_parse(struct dpk_config *c, const char *name, const char *text, size_t len,
    char *err, size_t errsz);

/* Read and parse a file (at most 64 KiB). Missing required keys are errors. */
int dpk_config_load(struct dpk_config *c, const char *path, char *err, size_t errsz);

void dpk_config_free(struct dpk_config *c);

#endif
