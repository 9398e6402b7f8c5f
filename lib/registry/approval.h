/* Which approver (PKM) stands behind an identity's current record: read
 * from the contract's events, since the record itself does not name its
 * approver. The answer is the approval in force: the last ClientApproved
 * event of the identity, followed only by KeyRotated events of the same
 * controller that bring its version up to the record's. Anything that does
 * not add up (an approval missing from the node's logs, a version gap, a
 * rotation by another address) is no approval, never a guess.
 *
 * Used by dpk-agent for nss_allow_pkm (nss_dpk(8)). Logs are untrusted:
 * every one is decoded by the registry's bounded decoder, checked to come
 * from the contract and to name the identity, and at most
 * DPK_APPROVAL_MAX_LOGS are considered. */
#ifndef DPK_APPROVAL_H
#define DPK_APPROVAL_H

#include <stddef.h>
#include <stdint.h>

#include "registry/registry.h"
#include "eth/rpc.h"

#define DPK_APPROVAL_MAX_LOGS 4096

struct dpk_approval {
	uint8_t approver[20];   /* who approved */
	uint8_t controller[20]; /* the client it approved */
	uint32_t version;       /* the record version the approval made */
	uint32_t rotations;     /* the controller's KeyRotated events since */
	uint64_t block;         /* where the approval is */
};

/* The approval in force from the logs of one identity (in any order; the
 * block number and log index order them). Removed (reorged) logs and logs
 * that are not the contract's ClientApproved / KeyRotated events of id_hash
 * are skipped. Returns 0 and *out; DPK_ERR_NOTFOUND when no approval
 * stands (none, or what follows it does not add up); DPK_ERR_TOOBIG for
 * more than DPK_APPROVAL_MAX_LOGS logs; DPK_ERR_INVALID for a NULL
 * argument, a log without its block number (pending) or two logs at one
 * position; the registry decoder's error for a malformed registry event
 * (it could be the approval that matters). */
int dpk_approval_from_logs(const uint8_t contract[20], const uint8_t id_hash[32], const struct dpk_rpc_log *logs,
    size_t n, struct dpk_approval *out);

/* 0 if approval a accounts for the record as it is now (active, the same
 * controller, version a->version + a->rotations), else DPK_ERR_NOTFOUND. */
int dpk_approval_matches(const struct dpk_approval *a, const struct dpk_registry_record *rec);

/* eth_getLogs over the whole chain for the contract's logs whose first
 * indexed topic is id_hash, then dpk_approval_from_logs(). Also the
 * errors of dpk_rpc_get_logs(). */
int dpk_approval_get(struct dpk_rpc *rpc, const uint8_t contract[20], const uint8_t id_hash[32],
    struct dpk_approval *out);

#endif
