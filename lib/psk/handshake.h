/* The DPK PSK handshake between two devices (doc/psk-protocol.md): the
 * paper's section 3.2 exchange fixed (NSL, tagged
 * messages, a signature over both identities, both nonces and the
 * transcript, ephemeral Diffie-Hellman, HKDF over the transcript).
 *
 * A state machine without I/O: the caller moves whole messages (the
 * transport frames them) and answers key look-ups, so the same code runs in
 * dpk-agent's peer listener, in tests that play a malicious device, and in
 * the fuzz targets. One object per handshake; not shared between threads.
 *
 * Use:
 *   hs = dpk_hs_new(role, self key, self identity, NULL)
 *   initiator: dpk_hs_set_peer(hs, peer identity) and dpk_hs_set_peer_key(...)
 *   loop: st = dpk_hs_step(hs, in, inlen, out)   (in = NULL on the first
 *         initiator step)
 *     DPK_HS_SEND:     send out's bytes as one message, call step again with
 *                      in = NULL
 *     DPK_HS_RECV:     receive one message, call step with it
 *     DPK_HS_NEED_KEY: look up dpk_hs_peer_identity(hs) on chain (refuse
 *                      unknown and revoked), call dpk_hs_set_peer_key, then
 *                      step again with in = NULL
 *     DPK_HS_DONE:     dpk_hs_result(hs, &res)
 *     < 0:             a dpk_err; the handshake is dead (dpk_hs_free it).
 *                      out may then hold an error message to send the peer
 *                      (out->len > 0), as the document describes. */
#ifndef DPK_HANDSHAKE_H
#define DPK_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "registry/identity.h"
#include "crypto/idkey.h"

#define DPK_HS_VERSION 1
#define DPK_HS_MSG_MAX 4096       /* largest message either side accepts */
#define DPK_HS_PSK_LEN 32         /* PSK bytes (RFC 4279: any length up to 64 kB; OpenSSL -psk hex) */
#define DPK_HS_PSK_ID_MAX 128     /* PSK identity text, printable ASCII, no NUL */

enum dpk_hs_role {
	DPK_HS_INITIATOR = 1,
	DPK_HS_RESPONDER = 2,
};

enum dpk_hs_state {
	DPK_HS_SEND = 1,
	DPK_HS_RECV = 2,
	DPK_HS_NEED_KEY = 3,
	DPK_HS_DONE = 4,
};

struct dpk_hs_result {
	uint8_t psk[DPK_HS_PSK_LEN];                /* secret: wipe after use */
	char psk_identity[DPK_HS_PSK_ID_MAX + 1];   /* NUL-terminated */
	struct dpk_identity self, peer;
	enum dpk_hs_role role;
	uint8_t transcript_hash[32];
};

/* Fixed randomness for the document's test vectors: every random value the
 * handshake would draw (nonces, ephemeral keys, Ks, HPKE ephemerals) is taken
 * in order from these bytes instead of the OS. NULL for real use. */
struct dpk_hs_rand {
	const uint8_t *bytes;
	size_t len;
	size_t used;
};

/* A new handshake for self (the private key stays the caller's and must
 * outlive hs, as must rand if not NULL). NULL on allocation failure or bad
 * arguments. */
struct dpk_hs *dpk_hs_new(enum dpk_hs_role role, const struct dpk_idkey *self, const struct dpk_identity *self_id,
    struct dpk_hs_rand *rand);
/* Initiator: who to talk to. Returns 0 or DPK_ERR_INVALID / DPK_ERR_STATE. */
int dpk_hs_set_peer(struct dpk_hs *hs, const struct dpk_identity *peer);
/* The peer's on-chain key (alg as on chain). Returns 0, DPK_ERR_INVALID,
 * DPK_ERR_UNSUPPORTED (bad key) or DPK_ERR_STATE. */
int dpk_hs_set_peer_key(struct dpk_hs *hs, uint8_t alg, const uint8_t *pub, size_t publen);
/* The identity the peer claims (responder: known after the first message);
 * NULL before. */
const struct dpk_identity *dpk_hs_peer_identity(const struct dpk_hs *hs);
/* Advance; see the header comment. out is reset first and then holds the
 * message to send, if any; in must not point into out (DPK_ERR_INVALID). */
int dpk_hs_step(struct dpk_hs *hs, const uint8_t *in, size_t inlen, struct dpk_buf *out);
/* After DPK_HS_DONE: copy the result. Returns 0 or DPK_ERR_STATE. */
int dpk_hs_result(const struct dpk_hs *hs, struct dpk_hs_result *res);
/* Wipe all secrets and free; NULL is fine. */
void dpk_hs_free(struct dpk_hs *hs);

/* Added by the implementation (doc/psk-protocol.md). */

/* Message types (second byte of every message). */
#define DPK_HS_M1 0x01
#define DPK_HS_M2 0x02
#define DPK_HS_M3 0x03
#define DPK_HS_M4 0x04
#define DPK_HS_ERROR 0x0f

/* Kill hs for a reason of the caller's (DPK_ERR_TIMEOUT, DPK_ERR_REVOKED,
 * DPK_ERR_NOTFOUND for a peer unknown on chain, DPK_ERR_BUSY, ...) and put
 * the ERROR message to send the peer in out (reset first). Returns err. */
int dpk_hs_fail(struct dpk_hs *hs, int err, struct dpk_buf *out);
/* After dpk_hs_step returned DPK_ERR_PEER: the (negative) code the peer's
 * ERROR message carried; 0 otherwise. */
int dpk_hs_peer_error(const struct dpk_hs *hs);

/* Shared with lib/psk/ticket.c. */
/* n random bytes from rand (NULL: the OS). DPK_ERR_INVALID if fixed bytes
 * run out, DPK_ERR_CRYPTO if the OS generator fails. */
int dpk_hs_random(struct dpk_hs_rand *rand, uint8_t *out, size_t n);
/* An identity on the wire: u8 kind | u8 len | value. */
int dpk_hs_put_identity(struct dpk_buf *b, const struct dpk_identity *id);
/* Read one; it must be canonical (DPK_ERR_SYNTAX otherwise). */
int dpk_hs_get_identity(struct dpk_cursor *c, struct dpk_identity *id);
/* 1 if a and b are the same identity. */
int dpk_hs_identity_equal(const struct dpk_identity *a, const struct dpk_identity *b);

#endif
