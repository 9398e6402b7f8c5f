/* Delegated mode (paper section 3.3, Fig. 6; doc/psk-protocol.md): a
 * capillary gateway makes a session key Ks for a constrained device and a
 * ticket that lets one server derive the same PSK. The ticket binds gateway,
 * device, server, expiry and a nonce, carries Ks sealed to the server's key
 * (lib/crypto/pke.h), and is signed by the gateway's identity key. The server
 * redeems it once (the replay cache, keyed by dpk_ticket_info.id until the
 * expiry, is the caller's) and refuses it after expiry. */
#ifndef DPK_TICKET_H
#define DPK_TICKET_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "psk/handshake.h"
#include "registry/identity.h"
#include "crypto/idkey.h"

#define DPK_TICKET_MAX 4096
#define DPK_TICKET_LIFETIME_MAX 86400 /* seconds */

struct dpk_ticket_info {
	struct dpk_identity gateway, device, server;
	uint64_t expiry;   /* unix seconds */
	uint8_t nonce[16];
	uint8_t id[32];    /* hash of the signed part (all but the signature, which
	                    * ECDSA lets anyone vary): the replay-cache key */
};

/* What the gateway hands the device, and what the server derives. */
struct dpk_ticket_psk {
	uint8_t psk[DPK_HS_PSK_LEN];                /* secret: wipe after use */
	char psk_identity[DPK_HS_PSK_ID_MAX + 1];
};

/* Gateway: make a ticket for device to talk to server (whose on-chain key
 * is server_alg/server_pub), valid lifetime seconds from now. Appends the
 * ticket to out and writes the device's PSK. rand as in handshake.h (NULL:
 * the OS). Returns 0 or a dpk_err; on error psk is wiped. */
int dpk_ticket_issue(const struct dpk_idkey *gateway, const struct dpk_identity *gateway_id,
    const struct dpk_identity *device, const struct dpk_identity *server, uint8_t server_alg,
    const uint8_t *server_pub, size_t server_publen, uint64_t now, uint32_t lifetime, struct dpk_hs_rand *rand,
    struct dpk_buf *out, struct dpk_ticket_psk *psk);

/* Server, step 1: parse without any crypto, to learn whose key to look up.
 * Returns 0, DPK_ERR_TRUNCATED / DPK_ERR_SYNTAX / DPK_ERR_TRAILING /
 * DPK_ERR_TOOBIG / DPK_ERR_UNSUPPORTED (version). */
int dpk_ticket_parse(const uint8_t *t, size_t len, struct dpk_ticket_info *info);

/* Server, step 2: check the gateway's signature (gw_alg/gw_pub from chain),
 * that the ticket is for server_id, not expired at now, and open Ks with the
 * server's key; derive the PSK. Returns 0; DPK_ERR_BADSIG, DPK_ERR_EXPIRED,
 * DPK_ERR_RANGE (expiry further than DPK_TICKET_LIFETIME_MAX from now),
 * DPK_ERR_PERM (ticket for another server), DPK_ERR_BADMAC, or a parse
 * error. info is filled once the ticket parses, even on a later error.
 * The caller then checks and records info->id for replays. */
int dpk_ticket_redeem(const struct dpk_idkey *server, const struct dpk_identity *server_id, uint8_t gw_alg,
    const uint8_t *gw_pub, size_t gw_publen, const uint8_t *t, size_t len, uint64_t now,
    struct dpk_ticket_info *info, struct dpk_ticket_psk *psk);

#endif
