/* Key operations on this host's own record: rotation of the identity key and
 * revocation of the identity (dpkctl rotate / dpkctl revoke, doc/protocol.md
 * "Key rotation and revocation"). One operation at a time, run on a thread of
 * its own with its own RPC client; the key swap itself happens on the event
 * loop (agent_keyop_timers), the only thread that reads a->idkey.
 *
 * Restart safety (state_dir/key-operation, replaced atomically, fsynced):
 *   - the new key is written to identity.pem.new before anything names it;
 *   - the signed transaction is journalled before it is ever sent, and sent
 *     again (the same bytes) after a restart;
 *   - a journal without a transaction means nothing was sent: the new key is
 *     deleted and the old one stays;
 *   - once a transaction may have been sent, identity.pem.new is never
 *     deleted: it becomes identity.pem (the old key kept as
 *     identity.pem.before-rotation until the rotation has its
 *     confirmations) or, if the chain refuses it, identity.pem.rotation-failed.
 * So a key on chain always has its private half in the state directory. */
#ifndef DPK_AGENT_ROTATE_H
#define DPK_AGENT_ROTATE_H

#include <stddef.h>
#include <stdint.h>

struct agent;
struct conn;

enum keyop_kind { KEYOP_NONE = 0, KEYOP_ROTATE = 1, KEYOP_REVOKE = 2 };

enum keyop_step {
	KEYOP_IDLE = 0,       /* nothing asked */
	KEYOP_PREPARING,      /* checking the record, making the key, signing the transaction */
	KEYOP_SENT,           /* transaction journalled; sending, waiting for the receipt */
	KEYOP_CONFIRMING,     /* rotation mined, new key in use; waiting for confirmations */
	KEYOP_DONE,           /* rotated */
	KEYOP_REVOKED,        /* this host's identity is revoked (for good) */
	KEYOP_FAILED,         /* stopped; detail says why; the key in use is the one on chain */
};

/* Set up from state_dir/key-operation, before the agent serves: finishes
 * what a crash interrupted (a rotation whose transaction was never sent is
 * dropped; one that may have been sent resumes). Returns 0, or an error
 * with a sentence in err (a damaged journal: the agent refuses to guess). */
int agent_keyop_init(struct agent *a, char *err, size_t errsz);
/* Stop the operation's thread (it resumes at the next start). */
void agent_keyop_stop(struct agent *a);

/* ROTATE / REVOKE (root only): start, or report. */
void agent_keyop_request(struct agent *a, struct conn *c, uint8_t type, const uint8_t *body, size_t len);
/* On the event loop: swap to the new key once the thread asks for it.
 * Returns when to look again (monotonic ms). */
int64_t agent_keyop_timers(struct agent *a, int64_t now);
/* This host's identity is revoked: it signs nothing and makes no handshakes. */
int agent_keyop_revoked(const struct agent *a);

const char *agent_keyop_step_name(enum keyop_step s);

/* Parse the bytes of a key-operation journal as the agent does at start:
 * 0 and the operation and step it records, or DPK_ERR_SYNTAX (the agent
 * then refuses to start), DPK_ERR_NOMEM. For the tests and the fuzzer. */
int agent_keyop_journal_check(const uint8_t *data, size_t len, int *kind, int *step);

#endif
