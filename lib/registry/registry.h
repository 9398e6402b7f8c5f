/* C bindings of the DPK registry contract (contracts/DPK.sol): calldata
 * encoders for every function, decoders for results, events and custom
 * errors, the EIP-712 registration digest and signature, and the read calls
 * over JSON-RPC. Writes are sent with lib/eth/txsend.h (to = the contract).
 *
 * Everything the chain returns is untrusted: decoders are bounded and check
 * that the data is exactly the ABI encoding of the expected types. */
#ifndef DPK_REGISTRY_H
#define DPK_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "registry/identity.h"
#include "eth/rpc.h"
#include "eth/u256.h"
#include "eth/wallet.h"

/* Key algorithms and record states, as in DPK.sol. */
#define DPK_REGISTRY_ALG_P256 1
#define DPK_REGISTRY_ALG_RSA 2
enum dpk_registry_status {
	DPK_REGISTRY_NONE = 0,
	DPK_REGISTRY_ACTIVE = 1,
	DPK_REGISTRY_REVOKED = 2,
};

/* --- calldata: each appends selector + arguments to out ---
 * Returns 0; DPK_ERR_INVALID (NULL argument), DPK_ERR_NONCANONICAL /
 * DPK_ERR_UNSUPPORTED (identity not in its canonical form: the contract would
 * refuse it), DPK_ERR_TOOBIG / DPK_ERR_NOMEM from out (whose contents after
 * its original length are then unspecified). Key rules (algorithm, length)
 * are left to the contract. */
int dpk_registry_encode_add_client(struct dpk_buf *out, const struct dpk_identity *id, uint8_t alg,
    const uint8_t *pub, size_t publen, const uint8_t token_hash[32]);
int dpk_registry_encode_approve_client(struct dpk_buf *out, const uint8_t client[20],
    const uint8_t record_hash[32]);
/* sig: r || s || v with v 27 or 28, as dpk_registry_sign_registration makes it */
int dpk_registry_encode_register(struct dpk_buf *out, const struct dpk_identity *id, uint8_t alg,
    const uint8_t *pub, size_t publen, uint64_t expiry, const struct dpk_u256 *nonce, const uint8_t sig[65]);
/* registerRelayed: sent by the approver; controller signed sig with
 * dpk_registry_sign_relayed() */
int dpk_registry_encode_register_relayed(struct dpk_buf *out, const struct dpk_identity *id, uint8_t alg,
    const uint8_t *pub, size_t publen, const uint8_t controller[20], uint64_t expiry, const struct dpk_u256 *nonce,
    const uint8_t sig[65]);
int dpk_registry_encode_rotate(struct dpk_buf *out, const uint8_t id_hash[32], uint8_t alg,
    const uint8_t *pub, size_t publen);
int dpk_registry_encode_revoke(struct dpk_buf *out, const uint8_t id_hash[32]);
int dpk_registry_encode_add_approver(struct dpk_buf *out, const uint8_t approver[20]);
int dpk_registry_encode_remove_approver(struct dpk_buf *out, const uint8_t approver[20]);
int dpk_registry_encode_transfer_ownership(struct dpk_buf *out, const uint8_t new_owner[20]);
int dpk_registry_encode_accept_ownership(struct dpk_buf *out);
int dpk_registry_encode_store_pkm_key(struct dpk_buf *out, const uint8_t *key, size_t keylen);

/* --- pure helpers that must agree with the contract --- */
/* recordHash(idHash, algorithm, keccak256(publicKey), tokenHash, client)
 * into out. Returns 0, DPK_ERR_INVALID (NULL argument) or DPK_ERR_NOMEM (the
 * ABI encoder allocates); out is zeroed on error. */
int dpk_registry_record_hash(const uint8_t id_hash[32], uint8_t alg, const uint8_t *pub, size_t publen,
    const uint8_t token_hash[32], const uint8_t client[20], uint8_t out[32]);
/* The EIP-712 digest of Registration(identityHash, keyHash, algorithm,
 * controller, expiry, nonce) in the domain ("DPK", "1", chain_id, contract).
 * Returns 0, DPK_ERR_INVALID or DPK_ERR_NOMEM; digest is zeroed on error. */
int dpk_registry_registration_digest(uint64_t chain_id, const uint8_t contract[20],
    const uint8_t id_hash[32], const uint8_t *pub, size_t publen, uint8_t alg,
    const uint8_t controller[20], uint64_t expiry, const struct dpk_u256 *nonce, uint8_t digest[32]);
/* An approver's signature of that digest: r || s || v (v = 27 + recid). */
int dpk_registry_sign_registration(const struct dpk_wallet *approver, uint64_t chain_id,
    const uint8_t contract[20], const uint8_t id_hash[32], const uint8_t *pub, size_t publen,
    uint8_t alg, const uint8_t controller[20], uint64_t expiry, const struct dpk_u256 *nonce,
    uint8_t sig[65]);

/* The EIP-712 digest of RelayedRegistration(identityHash, keyHash,
 * algorithm, controller, approver, expiry, nonce): what a device signs for
 * the one-block flow (the approver sends it in registerRelayed). nonce must
 * be the record's current version (0 for an identity never approved).
 * Returns as dpk_registry_registration_digest(). */
int dpk_registry_relayed_digest(uint64_t chain_id, const uint8_t contract[20], const uint8_t id_hash[32],
    const uint8_t *pub, size_t publen, uint8_t alg, const uint8_t controller[20], const uint8_t approver[20],
    uint64_t expiry, const struct dpk_u256 *nonce, uint8_t digest[32]);
/* The controller's signature of that digest (controller = its wallet's
 * address): r || s || v (v = 27 + recid). sig is zeroed on error. */
int dpk_registry_sign_relayed(const struct dpk_wallet *controller, uint64_t chain_id, const uint8_t contract[20],
    const uint8_t id_hash[32], const uint8_t *pub, size_t publen, uint8_t alg, const uint8_t approver[20],
    uint64_t expiry, const struct dpk_u256 *nonce, uint8_t sig[65]);

/* --- results --- */
struct dpk_registry_record {
	uint8_t *pubkey;       /* owned: dpk_registry_record_free() */
	size_t publen;
	uint8_t alg;
	uint8_t controller[20];
	enum dpk_registry_status status;
	uint32_t version;
	uint64_t valid_from;   /* when the current key became valid (block time) */
	uint64_t valid_until;  /* revocation time; 0 while active */
	uint8_t approver[20];  /* who approved the record in force (a PKM, or the owner): only it or
	                        * the owner may revoke or re-approve the identity */
	uint64_t serial;       /* the identity's permanent number, 1, 2, ... in order of first approval;
	                        * never changes (rotation, revocation, re-approval keep it) */
};
void dpk_registry_record_free(struct dpk_registry_record *rec);
/* Decode getClient / getClientByHash return data: exactly the encoding of
 * (bytes,uint8,address,uint8,uint32,uint64,uint64,address,uint64) (key,
 * algorithm, controller, status, version, validFrom, validUntil, approver,
 * serial), zero padding included.
 * 0, or DPK_ERR_TRUNCATED / DPK_ERR_TRAILING / DPK_ERR_NONCANONICAL (dirty
 * padding, or offsets other than the canonical ones: a gap, overlap or
 * reordering the contract never produces) / DPK_ERR_RANGE (a value outside
 * its type, status not 1 or 2, serial 0) /
 * DPK_ERR_TOOBIG (key over DPK_REGISTRY_KEY_MAX) / DPK_ERR_NOMEM. On success
 * rec->pubkey is allocated; on error *rec is zeroed and owns nothing. */
int dpk_registry_decode_record(const uint8_t *data, size_t len, struct dpk_registry_record *rec);

struct dpk_registry_pending {
	uint8_t id_hash[32];
	uint8_t alg;
	uint8_t *pubkey;       /* owned: dpk_registry_pending_free() */
	size_t publen;
	uint8_t token_hash[32];
	uint8_t record_hash[32];
};
void dpk_registry_pending_free(struct dpk_registry_pending *p);
/* Decode getPending return data, (bytes32,uint8,bytes,bytes32,bytes32);
 * errors and ownership as dpk_registry_decode_record(). */
int dpk_registry_decode_pending(const uint8_t *data, size_t len, struct dpk_registry_pending *p);

/* --- custom errors --- */
/* Revert data as text: "NotApprover(0xAbC...)", the reason of Error(string),
 * "panic 0x11 (...)", knowing all custom errors of DPK.sol. Returns and
 * writes as dpk_abi_decode_revert() (0; DPK_ERR_NOTFOUND for an error that
 * is not the contract's, text "unknown error 0x..."; a decoder error for
 * malformed arguments; DPK_ERR_INVALID for out == NULL or outsz == 0). */
int dpk_registry_revert_text(const uint8_t *data, size_t len, char *out, size_t outsz);
/* The custom error's name if data is one of the contract's errors, else NULL. */
const char *dpk_registry_error_name(const uint8_t *data, size_t len);

/* --- events --- */
enum dpk_registry_event_kind {
	DPK_REGISTRY_EV_CLIENT_ADDED = 1,
	DPK_REGISTRY_EV_CLIENT_APPROVED,
	DPK_REGISTRY_EV_KEY_ROTATED,
	DPK_REGISTRY_EV_CLIENT_REVOKED,
	DPK_REGISTRY_EV_APPROVER_ADDED,
	DPK_REGISTRY_EV_APPROVER_REMOVED,
	DPK_REGISTRY_EV_PKM_KEY_STORED,
	DPK_REGISTRY_EV_OWNERSHIP_TRANSFER_STARTED,
	DPK_REGISTRY_EV_OWNERSHIP_TRANSFERRED,
};

struct dpk_registry_event {
	enum dpk_registry_event_kind kind;
	uint8_t id_hash[32];   /* identity events */
	uint8_t addr[20];      /* client / controller / approver / pkm / previous owner */
	uint8_t addr2[20];     /* approver of ClientApproved, revoker of ClientRevoked, new owner */
	uint8_t alg;
	uint32_t version;
	uint8_t record_hash[32]; /* ClientAdded */
	uint8_t token_hash[32];  /* ClientAdded */
	uint64_t block_number;
};
/* topic0 of an event kind, for eth_getLogs filters. */
void dpk_registry_event_topic(enum dpk_registry_event_kind kind, uint8_t out[32]);
/* Decode one log of the contract. DPK_ERR_NOTFOUND for a log that is none of
 * the contract's events; the usual decoder errors for a malformed one. */
int dpk_registry_decode_event(const struct dpk_rpc_log *log, struct dpk_registry_event *ev);

/* --- reads over JSON-RPC (eth_call at the settled block: dpk_rpc_set_depth) --- */
/* DPK_ERR_NOTFOUND when the identity was never registered (NotFound); a
 * revoked identity is returned with status DPK_REGISTRY_REVOKED. */
int dpk_registry_get_client(struct dpk_rpc *rpc, const uint8_t contract[20],
    const struct dpk_identity *id, struct dpk_registry_record *rec);
int dpk_registry_get_client_by_hash(struct dpk_rpc *rpc, const uint8_t contract[20],
    const uint8_t id_hash[32], struct dpk_registry_record *rec);
/* DPK_ERR_NOTFOUND if no pending request (NoPendingRecord). */
int dpk_registry_get_pending(struct dpk_rpc *rpc, const uint8_t contract[20],
    const uint8_t client[20], struct dpk_registry_pending *p);
/* DPK_ERR_NOTFOUND if the PKM has stored no key (PKMKeyNotSet); key appended to out. */
int dpk_registry_get_pkm_key(struct dpk_rpc *rpc, const uint8_t contract[20],
    const uint8_t pkm[20], struct dpk_buf *out);
int dpk_registry_is_approver(struct dpk_rpc *rpc, const uint8_t contract[20],
    const uint8_t addr[20], int *yes);
int dpk_registry_owner(struct dpk_rpc *rpc, const uint8_t contract[20], uint8_t owner[20]);

/* Deploy the contract built into this library (contracts/dpk_contract.c)
 * from w; the new contract's address goes to contract. */
int dpk_registry_deploy(struct dpk_rpc *rpc, const struct dpk_wallet *w, uint64_t chain_id,
    uint64_t timeout_ms, dpk_rpc_progress_fn progress, void *ctx, uint8_t contract[20]);
/* The same, also writing the number of the block the registry was created
 * in to *block: the first block whose logs matter (deploy_block). */
int dpk_registry_deploy_at(struct dpk_rpc *rpc, const struct dpk_wallet *w, uint64_t chain_id,
    uint64_t timeout_ms, dpk_rpc_progress_fn progress, void *ctx, uint8_t contract[20], uint64_t *block);

/* After a DPK_ERR_REVERT from rpc (a call or a gas estimate): the contract's
 * reason as text, e.g. "IdentityTaken(0x12..., 0xAb...)". */
int dpk_registry_last_revert(const struct dpk_rpc *rpc, char *out, size_t outsz);

/* --- additions --- */

/* Longest key the contract stores (RSA_KEY_MAX, PKM_KEY_MAX): decoders refuse
 * longer ones with DPK_ERR_TOOBIG. */
#define DPK_REGISTRY_KEY_MAX 2048

/* The EIP-712 domain separator of the contract at contract on chain_id, as
 * its DOMAIN_SEPARATOR() view returns it. 0, DPK_ERR_INVALID, DPK_ERR_NOMEM. */
int dpk_registry_domain_separator(uint64_t chain_id, const uint8_t contract[20], uint8_t out[32]);

/* The custom errors of DPK.sol: how many, and the signature of error i
 * ("RecordChanged(address,bytes32,bytes32)"), or NULL if i is out of range.
 * Static storage. */
size_t dpk_registry_error_count(void);
const char *dpk_registry_error_signature(size_t i);

/* dpk_registry_decode_event() for a log that must come from contract:
 * DPK_ERR_NOTFOUND for a log of any other address (another contract can emit
 * the same event topics). Use this one on logs not already filtered by address. */
int dpk_registry_decode_contract_event(const uint8_t contract[20], const struct dpk_rpc_log *log,
    struct dpk_registry_event *ev);

#endif
