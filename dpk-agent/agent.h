/* dpk-agent's shared state: one struct agent, owned by main.c and handed to
 * every job. One thread runs the event loop (server.c); requests are
 * dispatched from it (requests.c) to the four jobs:
 *   the socket     server.c, requests.c, common/conn.h
 *   host login     login/  (NSS answers, the NSS cache file, login challenges, the ssh-agent socket)
 *   PSKs           peers/  (the peer listener, handshakes, the PSK store, tickets)
 *   the chain      chain/  (lookups, the cache, polling, registration)
 * This header holds types only; each job's functions are in its own header. */
#ifndef DPK_AGENT_H
#define DPK_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "chain/cache.h"
#include "chain/chain.h"
#include "chain/opsview.h"
#include "chain/register.h"
#include "common/config.h"
#include "crypto/idkey.h"
#include "eth/wallet.h"
#include "login/userdb.h"

#define AGENT_MAX_CONNECTIONS 256

struct conn;

struct agent {
	char *config_path;
	struct dpk_config cfg;
	int have_admin_gid;
	gid_t admin_gid;
	struct dpk_idkey *idkey;
	struct dpk_wallet wallet;
	int listen_fd;
	struct conn *conns[AGENT_MAX_CONNECTIONS];
	volatile int stop;
	int reload;
	struct chain chain;
	struct chain regchain;  /* a worker of its own: registration waits on the PKM */
	struct reg reg;
	int reg_in_flight;
	int64_t reg_next_ms;
	struct cache cache;
	struct agent_ops_view ops;  /* chain/ops.c: what dpkctl status shows of the chain */
	int64_t next_poll_ms;
	int poll_in_flight;
	/* chain/lookup.c: the identity reads queued or under way, one per identity
	 * however many wait for it, and whose quota each counts against */
	struct agent_chain_read {
		uint8_t hash[32];
		uid_t uid;      /* the first asker's (AGENT_READ_UID_* for askers without one) */
		int privileged; /* asked by root or admin_group: outside the per-uid quota */
	} reads[DPK_CONFIG_MAX_CHAIN_READS];
	size_t n_reads;
	/* Called by the chain job when an identity's record changed (hash) or
	 * when anything may have changed (NULL), so that what was derived from
	 * the cache is dropped; main.c points it at the NSS cache file's. */
	void (*on_record_changed)(struct agent *a, const uint8_t *hash);
	struct agent_userdb users;           /* login/userdb.h: the users met, by serial number */
	struct agent_sshagent *sshagent;     /* login/sshagent.c: the ssh-agent socket's thread */
	struct agent_nss_cache *nss_cache;   /* login/nss_cache.c: the cache file's users */
	struct agent_peer *peer; /* peers/peer.c: the PSK listener, handshakes, stored PSKs */
	struct agent_keyop *keyop; /* chain/rotate.c: rotation and revocation of this host's key */
};

#endif
