/* Established PSKs, in memory only: keyed by the peer's identity (the newest
 * one wins) and by PSK identity, each with an expiry; a cap on how many are
 * kept (the oldest goes first); keys wiped when they expire, are replaced or
 * the store is cleared. A redeemed ticket's PSK lives under its ticket PSK
 * identity ("dpk1t-...") only: it is never the answer to a lookup by peer,
 * since the device it names never proved anything to this host. The
 * replay cache of redeemed tickets is in ticket_seen.h. Only the event-loop
 * thread touches them (no lock). */
#ifndef DPK_AGENT_PSK_STORE_H
#define DPK_AGENT_PSK_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "psk/handshake.h"
#include "registry/identity.h"
#include "peers/ticket_seen.h"

enum psk_origin {
	PSK_ORIGIN_INITIATOR = 1, /* this agent started the handshake */
	PSK_ORIGIN_RESPONDER = 2, /* the peer started it */
	PSK_ORIGIN_TICKET = 3,    /* redeemed from a gateway's ticket (the peer is the device) */
};

struct psk_entry {
	struct dpk_identity peer;
	char identity[DPK_HS_PSK_ID_MAX + 1];
	uint8_t key[DPK_HS_PSK_LEN];
	uint8_t origin;
	int64_t created_ms, expires_ms; /* monotonic */
	uint64_t expires_unix;          /* for callers */
};

#define PSK_STORE_TICKET_PREFIX "dpk1t-" /* lib/psk/ticket.c names ticket PSKs so */
#define PSK_STORE_PER_PEER 8 /* PSKs kept per peer; its oldest goes first */

struct psk_store {
	struct psk_entry *e;
	size_t n, max;
};

void psk_store_init(struct psk_store *s, size_t max);
/* Wipe and free everything. */
void psk_store_clear(struct psk_store *s);
/* Keep key for peer under identity for lifetime_ms from now_ms; an entry
 * with the same PSK identity is replaced; at the cap (for the store, or
 * PSK_STORE_PER_PEER for this peer and kind: handshake or ticket) the
 * oldest goes. A ticket's PSK (origin PSK_ORIGIN_TICKET) must have a
 * PSK_STORE_TICKET_PREFIX identity and nothing else may: DPK_ERR_INVALID.
 * 0, DPK_ERR_INVALID or DPK_ERR_NOMEM. */
int psk_store_put(struct psk_store *s, const struct dpk_identity *peer, const char *identity,
    const uint8_t key[DPK_HS_PSK_LEN], uint8_t origin, uint32_t lifetime_ms, int64_t now_ms);
/* The newest unexpired PSK that peer itself agreed in a handshake, or NULL
 * (never a redeemed ticket's). */
const struct psk_entry *psk_store_by_peer(struct psk_store *s, const struct dpk_identity *peer, int64_t now_ms);
/* The unexpired PSK named identity, or NULL. */
const struct psk_entry *psk_store_by_identity(struct psk_store *s, const char *identity, int64_t now_ms);
/* Drop (wiping) every entry past its expiry. */
void psk_store_expire(struct psk_store *s, int64_t now_ms);


#endif
