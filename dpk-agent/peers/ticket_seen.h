/* The replay cache of redeemed tickets: each ticket's id until its expiry,
 * in memory and in the state directory (TICKET_SEEN_FILE), so that a ticket
 * redeemed before a restart is still refused after it. Only the event-loop
 * thread touches it (no lock).
 *
 * The file (version 1, big-endian, every byte accounted for):
 *
 *     byte[8]  magic "DPKSEEN1"
 *     u32      n, at most TICKET_SEEN_MAX
 *     n x (byte[32] ticket id, u64 expiry: unix seconds)
 *
 * and nothing after. It is written whole to a temporary file, synced and
 * renamed over the old one, so a crash leaves the old or the new one. */
#ifndef DPK_AGENT_TICKET_SEEN_H
#define DPK_AGENT_TICKET_SEEN_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define TICKET_SEEN_MAX 65536
#define TICKET_SEEN_FILE "tickets.seen"
#define TICKET_SEEN_MAGIC "DPKSEEN1"
#define TICKET_SEEN_HEADER 12
#define TICKET_SEEN_RECORD 40
#define TICKET_SEEN_FILE_MAX (TICKET_SEEN_HEADER + (size_t)TICKET_SEEN_MAX * TICKET_SEEN_RECORD)

struct ticket_seen {
	struct ticket_seen_entry {
		uint8_t id[32];
		uint64_t expiry;
	} *e;
	size_t n;
};

/* 1 if id was recorded and has not expired. */
int ticket_seen_has(struct ticket_seen *t, const uint8_t id[32], uint64_t now);
/* Record id until expiry; expired ids are dropped first. 0, DPK_ERR_BUSY
 * (full of unexpired ids: refusing is safer than forgetting one) or
 * DPK_ERR_NOMEM. */
int ticket_seen_add(struct ticket_seen *t, const uint8_t id[32], uint64_t expiry, uint64_t now);
/* Forget id again (a redemption whose record could not be saved). */
void ticket_seen_remove(struct ticket_seen *t, const uint8_t id[32]);
void ticket_seen_clear(struct ticket_seen *t);

/* The file's bytes for t's ids that have not expired at now, into out
 * (whose max must allow TICKET_SEEN_FILE_MAX). 0 or DPK_ERR_TOOBIG. */
int ticket_seen_encode(const struct ticket_seen *t, uint64_t now, struct dpk_buf *out);
/* Parse a file's bytes (untrusted) into t, which must be empty; ids expired
 * at now are left out. 0, or DPK_ERR_SYNTAX (not this format or version),
 * DPK_ERR_TRUNCATED, DPK_ERR_TOOBIG (over TICKET_SEEN_MAX, or bytes left
 * over), DPK_ERR_NOMEM; t is left empty on error. */
int ticket_seen_parse(struct ticket_seen *t, const uint8_t *p, size_t n, uint64_t now);

/* Load dir/TICKET_SEEN_FILE into t (empty): a missing file is an empty
 * cache. The file must be a regular file (not a link) owned by this
 * process's uid, with no group or other permissions. On error a sentence
 * naming the file and what to do goes to err. */
int ticket_seen_load(struct ticket_seen *t, const char *dir, uint64_t now, char *err, size_t errsz);
/* Write t (its unexpired ids) to dir/TICKET_SEEN_FILE atomically, mode 0600.
 * On error a sentence goes to err. */
int ticket_seen_save(const struct ticket_seen *t, const char *dir, uint64_t now, char *err, size_t errsz);

#endif
