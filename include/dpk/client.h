/* libdpkclient: the client side of the dpk-agent socket protocol
 * (doc/protocol.md). libc only, so the PAM and NSS modules can link it.
 *
 * Thread safety: a struct dpk_client is used by one thread at a time; open
 * one per thread. Every function returns 0 or a negative DPK_CLIENT_E* code;
 * dpk_client_strerror() turns it into text. No function blocks longer than
 * the timeout given to dpk_client_open(); none raises SIGPIPE. */
#ifndef DPK_CLIENT_H
#define DPK_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DPK_CLIENT_DEFAULT_SOCKET "/run/dpk/agent.sock"
#define DPK_CLIENT_DEFAULT_CONFIG "/etc/dpk/dpk.conf"
#define DPK_CLIENT_PROTOCOL_VERSION 1
#define DPK_CLIENT_MAX_FRAME 65536

enum dpk_client_err {
	DPK_CLIENT_OK = 0,
	DPK_CLIENT_EUNAVAIL = -1,  /* no agent: socket missing, refused, or wrong owner */
	DPK_CLIENT_ETIMEOUT = -2,  /* the agent did not answer in time */
	DPK_CLIENT_EPROTO = -3,    /* malformed or unexpected reply; the connection is closed */
	DPK_CLIENT_ETOOBIG = -4,   /* request or reply over the frame cap */
	DPK_CLIENT_EAGENT = -5,    /* the agent answered FAILURE: see dpk_client_agent_error() */
	DPK_CLIENT_ENOMEM = -6,
	DPK_CLIENT_EINVAL = -7,    /* bad argument */
};

struct dpk_client;

/* Connect to the agent at path (NULL: DPK_CLIENT_DEFAULT_SOCKET, or
 * $DPK_AGENT_SOCKET when set and the process is not setuid). timeout_ms bounds
 * every later call too. If require_root_owner, the socket must be owned by
 * root (checked on the connected peer with SO_PEERCRED), else EUNAVAIL.
 * On success *out is a new client that dpk_client_close() frees. */
int dpk_client_open(const char *path, int timeout_ms, int require_root_owner,
    struct dpk_client **out);
void dpk_client_close(struct dpk_client *c);
/* The uid of the process serving the socket (SO_PEERCRED, as it was when
 * dpk_client_open connected), into *uid. Ask before sending anything that
 * must reach only the real agent: a socket whose server is not root (or, for
 * a CLI, the caller itself) may be anyone's. 0 or EUNAVAIL. */
int dpk_client_peer_uid(const struct dpk_client *c, unsigned long *uid);

/* Send one request frame and wait for its reply. The reply body is copied into
 * reply (at most replycap bytes; ETOOBIG if larger, and the connection is
 * closed), its length into *replylen and its type into *rtype. A FAILURE reply
 * returns EAGENT. */
int dpk_client_call(struct dpk_client *c, uint8_t type, const void *req, size_t reqlen,
    uint8_t *rtype, void *reply, size_t replycap, size_t *replylen);

/* After EAGENT: the agent's error number and message (valid until the next call). */
int dpk_client_agent_error(const struct dpk_client *c, const char **message);

/* HELLO: the agent's protocol version and software version (copied into version). */
int dpk_client_hello(struct dpk_client *c, uint32_t *proto, char *version, size_t versionsz);

struct dpk_client_status {
	uint64_t chain_id;
	uint8_t contract[20];
	uint8_t wallet[20];      /* the agent's wallet address */
	char identity[254];      /* this host's identity ("" if none configured) */
	uint8_t key_algorithm;   /* 1 ECDSA P-256, 2 RSA */
	int caller_privileged;   /* the caller may register, sign and read secrets */
};

/* STATUS: the agent's configuration and keys, as far as anyone may know them. */
int dpk_client_status(struct dpk_client *c, struct dpk_client_status *st);
/* After a successful dpk_client_status(): whether the agent proves its
 * reads (*verify_reads), and 1 with the block it last proved reads at (the
 * header rpc_quorum endpoints agreed on), 0 if none yet. Outputs may be NULL. */
int dpk_client_status_anchor(const struct dpk_client *c, int *verify_reads, uint64_t *block, uint8_t hash[32]);
/* Its endpoint i: display form (scheme://host:port; valid until the next
 * STATUS), state (0 not checked yet, 1 in service, 2 on another chain: not
 * used, 3 put aside after a bad answer) and bad answers so far. 0, or -1 for
 * i out of range. Outputs may be NULL. */
int dpk_client_status_endpoint(const struct dpk_client *c, size_t i, const char **display, int *state,
    unsigned *bad_answers);
/* Its endpoint i's chain id and latest block as it last said them (0: not
 * asked yet). 0, or -1 for i out of range. Outputs may be NULL. */
int dpk_client_status_endpoint_chain(const struct dpk_client *c, size_t i, uint64_t *chain_id, uint64_t *head);
/* The timestamp (unix seconds) of the block dpk_client_status_anchor()
 * names; 0 when there is none. */
uint64_t dpk_client_status_anchor_time(const struct dpk_client *c);

/* After a successful dpk_client_status(): the operations block (what
 * dpkctl status shows of the chain, the registration, the wallet and the
 * cache). 1 and *out filled when the agent sent it, 0 when not. */
struct dpk_client_status_ops {
	uint8_t chain;            /* 0 not polled yet, 1 reachable, 2 the last poll failed */
	uint64_t head_block;      /* the head the last good poll saw (0: none yet) */
	uint32_t head_age_s;      /* seconds since then */
	char chain_error[200];    /* why the last poll failed ("" if it did not) */
	uint8_t reg_step;         /* this host's registration (DPK_CLIENT_REG_DONE, ...; 0 none asked) */
	char reg_step_name[64];
	int has_balance;          /* the wallet's balance was read (every 30 s at most) */
	uint8_t balance_wei[32];  /* big-endian */
	uint32_t cache_entries;   /* records and "not registered" answers cached */
	uint64_t cache_hits;      /* LOOKUPs answered from the cache */
	uint64_t cache_misses;    /* records read from the chain (for any request) */
};
int dpk_client_status_ops(const struct dpk_client *c, struct dpk_client_status_ops *out);
/* CACHE_FLUSH (root only; else EAGENT, code 23): the agent drops its cached
 * records, "not registered" answers and NSS cache file entries, so the next
 * lookups read the chain; how many records went into *dropped. */
int dpk_client_cache_flush(struct dpk_client *c, uint32_t *dropped);

/* PUBKEY: the host's identity public key. The three texts are malloc()ed,
 * NUL-terminated; free them with dpk_client_pubkey_free(). */
struct dpk_client_pubkey {
	uint8_t algorithm;
	uint8_t *onchain;   /* the bytes registered on chain */
	size_t onchain_len;
	char *pem;          /* SubjectPublicKeyInfo PEM */
	char *openssh;      /* authorized_keys line */
};
int dpk_client_pubkey(struct dpk_client *c, struct dpk_client_pubkey *pk);
void dpk_client_pubkey_free(struct dpk_client_pubkey *pk);

/* LOOKUP: an identity's record as the chain has it, through the agent's cache. */
struct dpk_client_record {
	uint8_t status;         /* 0 not registered, 1 active, 2 revoked */
	uint8_t kind;           /* 1 domain, 2 IPv4, 3 IPv6, 4 UUID */
	char identity[254];     /* canonical text form */
	uint8_t algorithm;      /* 1 ECDSA P-256, 2 RSA (0 when not registered) */
	uint8_t *pubkey;        /* malloc()ed; only for an active record, else NULL */
	size_t publen;
	int has_controller;
	uint8_t controller[20];
	uint32_t version;
	uint64_t valid_from, valid_until;
	int stale;              /* served from the cache past its TTL: the chain is unreachable */
	uint32_t age_ms;        /* how old the chain read is */
};
/* EAGENT for an identity that does not parse, or when the chain cannot be
 * reached and nothing is cached. Free with dpk_client_record_free(). */
int dpk_client_lookup(struct dpk_client *c, const char *identity, struct dpk_client_record *rec);
/* After a successful dpk_client_lookup(): 1 if the agent proved that answer
 * (verify_reads) and then the block number and hash it was proven at; 0 if it
 * was read without proof. block and hash may be NULL. */
int dpk_client_lookup_proof(const struct dpk_client *c, uint64_t *block, uint8_t hash[32]);
void dpk_client_record_free(struct dpk_client_record *rec);

/* REGISTER (root or admin_group only): with start, begin this host's
 * registration if it is neither under way nor done (a failed one starts
 * over); without, only report. Call it again (start = 0) to follow it:
 * step 7 is done, 8 failed (detail says why). */
struct dpk_client_registration {
	uint8_t step;
	char step_name[64];
	char detail[320];
	uint64_t elapsed_ms;
	uint64_t blocks;    /* blocks mined since it started */
};
#define DPK_CLIENT_REG_DONE 7
#define DPK_CLIENT_REG_FAILED 8
int dpk_client_register(struct dpk_client *c, int start, struct dpk_client_registration *reg);

/* Host login (pam_dpk(8), doc/protocol.md "Host login"); root or
 * admin_group only. Texts are NUL-terminated and at most
 * DPK_CLIENT_LOGIN_TEXT_MAX bytes (PAM's 512-byte prompt and response caps). */
#define DPK_CLIENT_LOGIN_TEXT_MAX 511
struct dpk_client_login_challenge {
	char challenge[DPK_CLIENT_LOGIN_TEXT_MAX + 1]; /* "DPK-LOGIN-v1.<base64url>" */
	char identity[254];                          /* the user's DPK identity */
	uint64_t expiry;                             /* Unix time, seconds */
	char host[254];                              /* this host's DPK identity, which the challenge names */
};
/* LOGIN_CHALLENGE: a single-use challenge for user logging in to service on
 * this host. EAGENT code 19 (not found): user is not a DPK user here. */
int dpk_client_login_challenge(struct dpk_client *c, const char *user, const char *service,
    struct dpk_client_login_challenge *out);
/* The same, naming the remote host the user logs in from (PAM_RHOST; NULL
 * or "" when none, and then the same as dpk_client_login_challenge). The
 * agent shares its challenge slots out per service and remote host, so that
 * a flood of made-up logins from one host does not crowd out the others'.
 * A host name longer than DPK_CLIENT_RHOST_MAX or with spaces or control
 * characters counts as none. */
#define DPK_CLIENT_RHOST_MAX 255
int dpk_client_login_challenge_from(struct dpk_client *c, const char *user, const char *service, const char *rhost,
    struct dpk_client_login_challenge *out);
/* LOGIN_RESPOND (on the user's own device). The agent answers only a
 * challenge for this device's identity, unexpired, whose host it reads as
 * registered and active on chain; EAGENT codes: 23 another identity's,
 * 24 expired, 19 host not registered, 26 host revoked, 15/16 chain
 * unreachable, 10 not a challenge.
 * dpk_client_login_describe: what challenge asks (host, user, service,
 * expiry), without signing it; response is left empty. Show it to the user
 * before dpk_client_login_respond: a host can show another host's challenge.
 * dpk_client_login_respond: sign challenge with this device's identity
 * key; the response and what the challenge asks. */
struct dpk_client_login_response {
	char response[DPK_CLIENT_LOGIN_TEXT_MAX + 1]; /* "DPK-RESPONSE-v1.<base64url>"; "" from describe */
	char host[254], user[254], service[33];
	uint64_t expiry;
};
int dpk_client_login_describe(struct dpk_client *c, const char *challenge, struct dpk_client_login_response *out);
int dpk_client_login_respond(struct dpk_client *c, const char *challenge, struct dpk_client_login_response *out);
/* LOGIN_VERIFY: 0 if response is the challenged user's signature of the
 * challenge (consumed either way); the user's identity into identity
 * (identitysz >= 254). EAGENT codes: 12 bad signature, 19 unknown challenge
 * or identity, 24 expired, 25 replayed, 26 revoked, 15/16 chain unreachable. */
int dpk_client_login_verify(struct dpk_client *c, const char *challenge, const char *response,
    char *identity, size_t identitysz);
/* USER_CHECK: the admission decision for user, rule by rule (what
 * `dpkctl user-check` prints). Open to any caller. */
#define DPK_CLIENT_USER_CHECK_STEPS 8
struct dpk_client_user_check {
	uint8_t result; /* 0 a user; 1 not admitted by the policy; 2 record not read; 3 not registered or
	                 * revoked; 4 no uid in range; 5 another source has its name or uid */
	uint8_t login;  /* 1: may log in here now */
	char identity[254]; /* "" when user is no identity's user name */
	uint32_t uid;
	size_t n;
	struct {
		uint8_t ok;
		char rule[16];
		char detail[300];
	} step[DPK_CLIENT_USER_CHECK_STEPS];
};
int dpk_client_user_check(struct dpk_client *c, const char *user, struct dpk_client_user_check *out);

/* LOGIN_ACCOUNT: 0 and *status 1 (active) when the agent's admission
 * decision lets user log in here; identity as above. EAGENT codes: 19 no
 * user of this host, 23 not allowed to log in (login_allow), 26 revoked,
 * 15/16 chain unreachable (and no record within offline_login_max_age).
 * Open to any caller. */
int dpk_client_login_account(struct dpk_client *c, const char *user, uint8_t *status, char *identity,
    size_t identitysz);
/* After a successful LOGIN_VERIFY or LOGIN_ACCOUNT: 0 when the agent read
 * the user's record from the chain within its cache TTL; else how old (ms)
 * the record was that it used because the chain was unreachable (dpk.conf
 * offline_login_max_age). */
uint32_t dpk_client_login_stale_ms(const struct dpk_client *c);
/* After a successful LOGIN_VERIFY or LOGIN_ACCOUNT: 1 when the agent proved
 * the user's record (verify_reads), writing the block number and hash it
 * was proven at (either may be NULL); 0 when it did not. */
int dpk_client_login_proof(const struct dpk_client *c, uint64_t *block, uint8_t hash[32]);
/* PSKs negotiated with peers (doc/protocol.md, "PSK exchange"). The key is
 * returned only when asked for (want_key) and only to root, admin_group and
 * psk_group; others get the PSK identity alone (EAGENT, code 23, if they
 * ask for the key). Wipe a struct holding a key with dpk_client_psk_clear(). */
#define DPK_CLIENT_PSK_ID_MAX 128
#define DPK_CLIENT_PSK_KEY_MAX 64
struct dpk_client_psk {
	char identity[DPK_CLIENT_PSK_ID_MAX + 1]; /* the PSK identity, as TLS sends it */
	char peer[254];                            /* the peer's DPK identity */
	uint8_t origin;                            /* 1 we started, 2 the peer started, 3 from a ticket */
	uint64_t expires;                          /* unix seconds */
	int has_key;
	uint8_t key[DPK_CLIENT_PSK_KEY_MAX];       /* secret */
	size_t keylen;
};
/* PSK_HANDSHAKE: run the handshake with peer (a DPK identity) at endpoint
 * ("HOST:PORT", "[IPv6]:PORT"; NULL: the identity's own address and the
 * agent's psk_port). Takes up to the agent's psk_handshake_timeout (10 s by
 * default): open the client with a timeout above that. */
int dpk_client_psk_handshake(struct dpk_client *c, const char *peer, const char *endpoint, int want_key,
    struct dpk_client_psk *psk);
/* PSK_GET: the newest unexpired PSK with peer (a DPK identity). */
int dpk_client_psk_get(struct dpk_client *c, const char *peer, int want_key, struct dpk_client_psk *psk);
/* PSK_GET: the unexpired PSK named identity (what a TLS server's PSK
 * callback receives). */
int dpk_client_psk_get_by_identity(struct dpk_client *c, const char *identity, int want_key,
    struct dpk_client_psk *psk);
void dpk_client_psk_clear(struct dpk_client_psk *psk);

/* TICKET_ISSUE (a gateway; root, admin_group, psk_group): a ticket that lets
 * server derive the PSK returned in psk (always with its key) for device,
 * valid lifetime seconds (1..86400). The ticket is malloc()ed into *ticket
 * (free() it). */
int dpk_client_ticket_issue(struct dpk_client *c, const char *device, const char *server, uint32_t lifetime,
    uint8_t **ticket, size_t *ticketlen, struct dpk_client_psk *psk);
/* TICKET_REDEEM (a server; root, admin_group, psk_group): check the ticket
 * against its gateway's key on chain, once (across agent restarts); the PSK
 * is then kept by the agent under its ticket PSK identity only (psk->peer
 * is the device, but PSK_GET by peer never returns it). */
int dpk_client_ticket_redeem(struct dpk_client *c, const uint8_t *ticket, size_t ticketlen, int want_key,
    struct dpk_client_psk *psk);

/* Whether a passwd entry is a DPK user's, decided without the agent (for
 * PAM modules and sshd helpers, so that local users never wait on DPK): its
 * uid is inside this host's DPK range (nss_uid_min..nss_uid_max of dpk.conf
 * at config, NULL: DPK_CLIENT_DEFAULT_CONFIG) and its GECOS starts "DPK ".
 * The agent refuses to start while a local account has an id in that
 * range. 1 or 0 (also 0 when dpk.conf cannot be read: no DPK users then). */
int dpk_client_passwd_is_dpk(const char *config, uint32_t uid, const char *gecos);
/* The DPK uid range of dpk.conf at config (NULL: the default path), or the
 * defaults: 0, EUNAVAIL (cannot read it; defaults given), EPROTO (a bad or
 * inverted value or a file over 64 KiB; defaults given). */
int dpk_client_host_uid_range(const char *config, uint32_t *min, uint32_t *max);
const char *dpk_client_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
