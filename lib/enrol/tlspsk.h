/* TLS with an external pre-shared key (TLS 1.2: only the ECDHE-PSK and
 * DHE-PSK suites of RFC 5489 / RFC 4279; TLS 1.3: psk_dhe_ke only), so every
 * session has forward secrecy, over TCP, with the agent protocol's
 * framing (u32 length | u8 type | body) on top. The device-to-PKM channel
 * uses it with the enrolment token's secret as the key.
 *
 * The TLS handshake has one deadline for the whole of it (a peer that
 * trickles its handshake byte by byte is dropped when it passes); after it,
 * blocking sockets with a time limit on every read and write. OpenSSL
 * writes with write(2): a program using this must ignore SIGPIPE. */
#ifndef DPK_TLSPSK_H
#define DPK_TLSPSK_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define DPK_TLSPSK_MAX_IDENTITY 128 /* RFC 4279: at most 128 bytes on the wire */
#define DPK_TLSPSK_MAX_KEY 64
#define DPK_TLSPSK_MAX_FRAME 65536

struct dpk_tlspsk_server;
struct dpk_tlspsk_conn;

/* The server asks for the key of a PSK identity (NUL-terminated, printable).
 * Write it to key (at most DPK_TLSPSK_MAX_KEY bytes) and return its length,
 * or 0 if the identity is unknown (the handshake then fails). */
typedef size_t (*dpk_tlspsk_lookup_fn)(void *arg, const char *identity, uint8_t *key);

int dpk_tlspsk_server_new(dpk_tlspsk_lookup_fn lookup, void *arg, struct dpk_tlspsk_server **out);
void dpk_tlspsk_server_free(struct dpk_tlspsk_server *s);

/* Handshake on an accepted TCP socket (taken over: closed by
 * dpk_tlspsk_close, or here on failure), all of it within handshake_ms;
 * then every read and write of the connection is limited to io_timeout_ms.
 * The client's PSK identity is written to identity. DPK_ERR_NET /
 * DPK_ERR_TIMEOUT / DPK_ERR_BADMAC (wrong key). */
int dpk_tlspsk_accept(struct dpk_tlspsk_server *s, int fd, int handshake_ms, int io_timeout_ms,
    struct dpk_tlspsk_conn **out, char identity[DPK_TLSPSK_MAX_IDENTITY + 1]);

/* Connect to host:port and handshake with identity and key: the connect
 * and the whole handshake within timeout_ms, then each read and write. */
int dpk_tlspsk_connect(const char *host, const char *port, const char *identity,
    const uint8_t *key, size_t keylen, int timeout_ms, struct dpk_tlspsk_conn **out);

/* One frame each way. recv: the body goes to body (its max caps it); a frame
 * over DPK_TLSPSK_MAX_FRAME or over body's max is DPK_ERR_TOOBIG, a peer that
 * hangs up mid-frame DPK_ERR_TRUNCATED, a clean hang-up before a frame
 * DPK_ERR_NOTFOUND. */
int dpk_tlspsk_send(struct dpk_tlspsk_conn *c, uint8_t type, const void *body, size_t len);
int dpk_tlspsk_recv(struct dpk_tlspsk_conn *c, uint8_t *type, struct dpk_buf *body);

/* "TLSv1.3" etc., for logs and tests. */
const char *dpk_tlspsk_version(const struct dpk_tlspsk_conn *c);
/* The ephemeral key exchange of the session, for logs and tests: the
 * (EC)DH group of a TLS 1.3 session ("x25519", "secp256r1", ...) or the
 * TLS 1.2 suite's exchange ("ECDHEPSK", "DHEPSK"); "none" if there was
 * none (never, with the suites offered here). */
const char *dpk_tlspsk_kx(const struct dpk_tlspsk_conn *c);
void dpk_tlspsk_close(struct dpk_tlspsk_conn *c);

#endif
