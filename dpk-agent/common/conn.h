/* A client of the agent's socket, and how a request is answered: one reply
 * frame (u32 length | u8 type | body, doc/protocol.md) written into the
 * connection's output buffer. A request that cannot be answered at once
 * "waits": its input stays in c->in until whoever it waits for answers it.
 *
 * A held connection costs about a kilobyte: requests and replies up to
 * AGENT_CONN_SMALL bytes (every NSS and most other messages) use buffers
 * inside struct conn; a bigger frame gets a buffer of its own size while it
 * is read or written, given back at once. Replies are built in one scratch
 * buffer of the largest frame (the agent answers one request at a time) and
 * copied out. */
#ifndef DPK_AGENT_CONN_H
#define DPK_AGENT_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define AGENT_IDLE_TIMEOUT_MS 30000
#define AGENT_FRAME_MAX 65536
#define AGENT_CONN_SMALL 512

struct agent;
struct conn;

/* Called when the chain read a waiting request asked for ended: failed is 0
 * when the read succeeded (the lookup cache holds the answer); otherwise
 * code and why say what went wrong (the cache may still hold a stale entry). */
typedef void (*agent_chain_waiter_fn)(struct agent *a, struct conn *c, int failed, int code, const char *why);

struct conn {
	int fd;
	uid_t uid;
	gid_t gid;
	int privileged;       /* root or a member of admin_group */
	uint8_t req_type;     /* the type of the request being answered (common/metrics.h counts its reply) */
	uint8_t *in;          /* small_in, or a buffer of the frame's size (agent_conn_in_room) */
	size_t incap, inlen;
	uint8_t *out;         /* the reply being written: small_out or its own buffer; NULL: none yet */
	size_t outlen, outoff;
	uint8_t small_in[AGENT_CONN_SMALL];
	uint8_t small_out[AGENT_CONN_SMALL];
	int64_t last_active_ms; /* accepted, or its last reply written: client_idle_timeout counts from here */
	int64_t io_start_ms;    /* 0, or when the request being read or the reply being written began:
	                         * client_io_timeout counts from here, however slowly the bytes trickle */
	/* a waiting request: for a chain read of wait_hash (chain/lookup.h, which
	 * calls on_chain), or for something else that answers it itself (token) */
	int waiting;
	uint8_t wait_hash[32];
	int64_t deadline_ms;
	agent_chain_waiter_fn on_chain;
	uint64_t wait_token;  /* non-zero while a request waits for something other than the chain */
};

/* Reply FAILURE: u32 error code (positive), string message. */
void agent_reply_failure(struct conn *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A success reply: the body writer over c->out, then the frame with the
 * reply type of req_type (FAILURE "does not fit" when the writer overflowed). */
struct dpk_wire_w;
void agent_reply_begin(struct conn *c, struct dpk_wire_w *w);
void agent_reply_end(struct conn *c, uint8_t req_type, struct dpk_wire_w *w);

/* Make c wait for an answer that is not a chain read (a PSK handshake, a
 * ticket's keys); the token tells the answer apart from a later request on
 * the same connection. */
void agent_conn_wait_other(struct conn *c, uint64_t *token);
/* c if it is still among conns[0..n) and still waits with token (a client
 * may hang up meanwhile), else NULL. */
struct conn *agent_conn_alive(struct conn *const *conns, size_t n, struct conn *c, uint64_t token);
/* c no longer waits; its request's input is wiped. */
void agent_conn_unwait(struct conn *c);
/* Make room for a frame of 4 + flen bytes in c->in (keeping what was
 * read): 0, or -1 without memory. */
int agent_conn_in_room(struct conn *c, size_t flen);
/* Wipe c's input, give back its buffer. */
void agent_conn_in_release(struct conn *c);
/* Wipe c's reply once written, give back its buffer. */
void agent_conn_out_release(struct conn *c);

#endif
