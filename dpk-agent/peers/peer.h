/* The PSK exchange inside dpk-agent (doc/psk-protocol.md, doc/protocol.md):
 * peer.c runs handshakes with other agents over TCP inside the event loop
 * (non-blocking sockets, one framed message at a time, a deadline and a cap
 * on concurrent handshakes); psk.c answers the local PSK and ticket
 * requests; psk_store.c keeps the PSKs. Peer keys are read through the
 * lookup cache and the chain worker, never on the loop thread. */
#ifndef DPK_AGENT_PEER_H
#define DPK_AGENT_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "psk/handshake.h"
#include "registry/identity.h"
#include "peers/psk_store.h"
#include "registry/registry.h"

struct agent;
struct conn;
struct pollfd;

/* A peer key being read: from the cache while fresh, else from the chain. */
struct agent_keywait {
	uint8_t hash[32];
	int64_t asked_ms;
	int64_t deadline_ms;
};
void agent_keywait_start(struct agent *a, struct agent_keywait *w, const struct dpk_identity *id, int64_t deadline_ms);
/* 1: *rec is the active record (valid until the loop runs again); 0: not
 * yet; < 0: refused (DPK_ERR_NOTFOUND, DPK_ERR_REVOKED, DPK_ERR_TIMEOUT)
 * with a sentence in why. */
int agent_keywait_poll(struct agent *a, struct agent_keywait *w, int64_t now,
    const struct dpk_registry_record **rec, char *why, size_t whysz);

/* The agent's PSK state (struct agent's peer). */
struct agent_peer;

/* Set up after the configuration is loaded: parse the identity, open the
 * psk_listen socket if configured. 0, or an error with a message in err. */
int agent_peer_start(struct agent *a, char *err, size_t errsz);
/* Close every session and the listener; wipe the stored PSKs. */
void agent_peer_stop(struct agent *a);
/* The event loop's hooks: timers (returns the new wait), pollfds (appends
 * from pfd[n], returns the new count), and events on those pollfds. */
int agent_peer_timers(struct agent *a, int64_t now, int wait_ms);
size_t agent_peer_pollfds(struct agent *a, struct pollfd *pfd, size_t n, size_t cap);
void agent_peer_events(struct agent *a, const struct pollfd *pfd, size_t n);

/* Start a handshake with peer for the waiting connection c (psk.c). host
 * and port may be NULL (the peer identity's address and psk_port). The reply
 * goes to c when it ends. Returns 0, or an error already replied to c. */
int agent_peer_initiate(struct agent *a, struct conn *c, const struct dpk_identity *peer, const char *host,
    const char *port, int want_key);

/* psk.c */
struct psk_store *agent_psk_store(struct agent *a);
struct ticket_seen *agent_ticket_seen(struct agent *a);
const struct dpk_identity *agent_self_identity(struct agent *a);
/* Make c wait for an answer from the PSK code; agent_psk_conn_alive tells
 * whether it still waits (a client may hang up meanwhile). */
void agent_psk_wait(struct conn *c, uint64_t *token);
struct conn *agent_psk_conn_alive(struct agent *a, struct conn *c, uint64_t token);
void agent_psk_unwait(struct conn *c);
/* Reply with the PSK entry e (the key only if want_key). */
void agent_psk_reply_entry(struct agent *a, struct conn *c, uint8_t req_type, const struct psk_entry *e, int want_key);
/* Ticket requests waiting for keys. */
void agent_psk_timers(struct agent *a, int64_t now);
/* PSK_HANDSHAKE, PSK_GET, TICKET_ISSUE, TICKET_REDEEM. */
void agent_psk_request(struct agent *a, struct conn *c, uint8_t type, const uint8_t *body, size_t len);

#endif
