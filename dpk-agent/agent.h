/* dpk-agent's shared state. One thread runs the event loop (server.c);
 * requests are answered from it (requests.c). */
#ifndef DPK_AGENT_H
#define DPK_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "chain/cache.h"
#include "chain/chain.h"
#include "config.h"
#include "chain/register.h"
#include "peers/peer.h"
#include "crypto/idkey.h"
#include "eth/wallet.h"

#define AGENT_MAX_CONNECTIONS 256
#define AGENT_IDLE_TIMEOUT_MS 30000
#define AGENT_FRAME_MAX 65536
#define AGENT_PEER_MAX_POLLFDS 4097 /* peer.c: the listener and psk_max_handshakes (at most 4096) */

struct conn {
	int fd;
	uid_t uid;
	gid_t gid;
	int privileged;       /* root or a member of admin_group */
	uint8_t in[4 + AGENT_FRAME_MAX];
	size_t inlen;
	uint8_t out[4 + AGENT_FRAME_MAX];
	size_t outlen, outoff;
	int64_t last_active_ms;
	/* a request waiting for the chain worker */
	int waiting;
	uint8_t wait_hash[32];
	int64_t deadline_ms;
	uint64_t psk_token;   /* psk.c: non-zero while a PSK or ticket request waits */
};

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
	int64_t next_poll_ms;
	int poll_in_flight;
	/* nss.c: users admitted by nss_allow_suffix or nss_allow_pkm seen since the start, so
	 * that their uid and "dpk-" name can be looked up (a ring) */
	struct agent_nss_seen {
		uint8_t hash[32];
		char name[33];
		uint32_t uid;
		uint8_t via_pkm; /* admitted by nss_allow_pkm: its approver is checked at each answer */
	} nss_seen[1024];
	size_t n_nss_seen, nss_seen_next;
	uint32_t nss_seen_min, nss_seen_max; /* the uid range they were given in */
	struct agent_sshagent *sshagent;     /* sshagent.c: the ssh-agent socket's thread */
	struct agent_nss_cache *nss_cache;   /* nss_cache.c: the cache file's users */
	struct agent_peer *peer; /* peer.c: the PSK listener, handshakes, stored PSKs */
};

/* Logging: to stderr, or syslog after agent_log_to_syslog(). */
void agent_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void agent_log_to_syslog(void);

/* server.c */
int agent_server_listen(struct agent *a, char *err, size_t errsz);
int agent_server_run(struct agent *a);
void agent_server_close(struct agent *a);
int64_t agent_now_ms(void);
/* Listen on a Unix socket at path (mode 0666: callers are checked per
 * connection), replacing a socket left by an earlier run. */
int agent_listen_unix(const char *path, int *fd, char *err, size_t errsz);
/* Root, or in admin_group (have_admin_gid, admin_gid) as primary or
 * supplementary group (SO_PEERGROUPS: the groups the peer had when it
 * connected; no NSS lookup, so no recursion). */
struct ucred;
int agent_peer_privileged(int fd, const struct ucred *cred, int have_admin_gid, gid_t admin_gid);

/* requests.c: answer the request in c->in (type + body of len bytes) by
 * writing one reply frame into c->out, or mark c waiting for the chain. */
void agent_handle_request(struct agent *a, struct conn *c, uint8_t type, const uint8_t *body, size_t len);
void agent_reply_failure(struct conn *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
struct dpk_wire_w;
void agent_reply_begin(struct conn *c, struct dpk_wire_w *w);
void agent_reply_end(struct conn *c, uint8_t req_type, struct dpk_wire_w *w);

/* lookup.c: LOOKUP requests, the cache, and the chain worker's results. */
void agent_lookup_request(struct agent *a, struct conn *c, const uint8_t *body, size_t len);
void agent_chain_done(struct agent *a);
/* Make c wait (at most timeout_ms) for a chain read of identity hash h,
 * starting one unless one is under way; its request stays in c->in. */
void agent_lookup_wait(struct agent *a, struct conn *c, const uint8_t h[32], uint32_t timeout_ms);
/* Start a chain read of identity hash h that nobody waits for (its result
 * fills the cache). */
void agent_lookup_prefetch(struct agent *a, const uint8_t h[32]);
/* nss.c: GETPWNAM, GETPWUID, GETGRNAM, GETGRGID, INITGROUPS, PWENT, GRENT for nss_dpk. */
void agent_nss_request(struct agent *a, struct conn *c, uint8_t type, const uint8_t *body, size_t len);
/* Answer a waiting NSS request once its chain read is done or its deadline
 * passed: from the cache, else FAILURE with code and why. */
void agent_nss_answer_waiting(struct agent *a, struct conn *c, int code, const char *why);
/* login.c: LOGIN_CHALLENGE, LOGIN_RESPOND, LOGIN_VERIFY, LOGIN_ACCOUNT for
 * pam_dpk and dpkctl respond; and the answer to a waiting VERIFY or ACCOUNT. */
void agent_login_request(struct agent *a, struct conn *c, uint8_t type, const uint8_t *body, size_t len);
void agent_login_answer_waiting(struct agent *a, struct conn *c, int code, const char *why);
/* nss.c: the identity (canonical text into ident, hash into hash) of a user
 * name the NSS policy admits; DPK_ERR_NOTFOUND when it admits none. */
int agent_nss_user_identity(struct agent *a, const char *name, size_t n, char ident[DPK_IDENTITY_FORMAT_SIZE],
    uint8_t hash[32]);
/* register.c's driver (requests.c): REGISTER requests, step scheduling. */
void agent_register_request(struct agent *a, struct conn *c, const uint8_t *body, size_t len);
void agent_register_done(struct agent *a);
/* Timers: answer requests past their deadline, start the event poll. Returns
 * the milliseconds until the next timer is due. */
int agent_timers(struct agent *a, int64_t now);

#endif
