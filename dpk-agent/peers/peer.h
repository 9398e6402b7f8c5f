/* The PSK exchange inside dpk-agent (doc/psk-protocol.md, doc/protocol.md):
 * peer.c runs handshakes with other agents over TCP inside the event loop
 * (non-blocking sockets, one framed message at a time, a deadline, and caps
 * on concurrent handshakes: inbound, outbound and per source apart); psk.c answers the local PSK and ticket
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

/* How a handshake a local client started ended: err 0 and the new PSK e, or
 * an error and why. c is the client's connection as it was handed to
 * agent_peer_initiate, with its wait token: check that it still waits
 * (agent_conn_alive) before answering. */
typedef void (*agent_peer_done_fn)(struct agent *a, struct conn *c, uint64_t token, const struct dpk_identity *peer,
    int want_key, int err, const char *why, const struct psk_entry *e);
/* Start a handshake with peer for connection c (psk.c). host and port may be
 * NULL (the peer identity's address and psk_port). c is made to wait, and
 * done is called when the handshake ends. Returns 0, or an error already
 * replied to c. */
int agent_peer_initiate(struct agent *a, struct conn *c, const struct dpk_identity *peer, const char *host,
    const char *port, int want_key, agent_peer_done_fn done);
/* The PSK store, the ticket replay cache and this host's identity (for psk.c). */
struct psk_store *agent_psk_store(struct agent *a);
struct ticket_seen *agent_ticket_seen(struct agent *a);
const struct dpk_identity *agent_self_identity(struct agent *a);
/* The listener, at most psk_max_handshakes (4096) inbound and
 * psk_max_outbound (1024) outbound sessions. */
#define AGENT_PEER_MAX_POLLFDS (1 + 4096 + 1024)

#endif
