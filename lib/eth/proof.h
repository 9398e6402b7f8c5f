/* EIP-1186 (eth_getProof): an account and some of its storage slots, read at
 * a block, with the Merkle proofs that tie them to the block's stateRoot.
 *
 * The node's answer is untrusted: dpk_proof_from_json() only copies and
 * bounds it; dpk_proof_verify() checks every proof with lib/eth/mpt against a
 * stateRoot the caller has itself checked (lib/eth/header), and returns the
 * proven values. What the node claims beside the proofs (balance, nonce,
 * storageHash, codeHash, each slot's "value") must equal the proven values:
 * a node that claims one thing and proves another is lying, and is refused. */
#ifndef DPK_PROOF_H
#define DPK_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "eth/mpt.h"
#include "eth/rpc.h"

#define DPK_PROOF_MAX_SLOTS 72 /* 3 record slots + 64 key data slots (2048-byte RSA key) + spare */
/* All node bytes of one answer; a record with an RSA key is ~200 KiB. */
#define DPK_PROOF_MAX_BYTES (1024 * 1024)

struct dpk_proof_slot {
	uint8_t key[32];
	uint8_t claimed[32];    /* the node's "value", left-padded */
	size_t first, count;    /* its nodes: nodes[first .. first + count) */
};

struct dpk_proof {
	uint8_t address[20];
	uint64_t nonce;             /* claimed */
	struct dpk_u256 balance;    /* claimed */
	uint8_t storage_hash[32];   /* claimed */
	uint8_t code_hash[32];      /* claimed */
	size_t account_count;       /* account proof: nodes[0 .. account_count) */
	struct dpk_proof_slot slots[DPK_PROOF_MAX_SLOTS];
	size_t nslots;
	struct dpk_mpt_node nodes[DPK_MPT_MAX_NODES * (DPK_PROOF_MAX_SLOTS + 1)];
	size_t nnodes;
	struct dpk_buf bytes; /* owns the node bytes the nodes point into */
	size_t wire_bytes;    /* decoded proof bytes, for cost figures */
};

/* Decode an eth_getProof result (untrusted) into *out (which the caller frees
 * with dpk_proof_free() on success). DPK_ERR_TYPE / DPK_ERR_SYNTAX for a
 * malformed member, DPK_ERR_TOOBIG over the caps (DPK_MPT_MAX_NODES per proof,
 * DPK_PROOF_MAX_SLOTS slots, DPK_PROOF_MAX_BYTES in all). */
int dpk_proof_from_json(const cJSON *res, struct dpk_proof *out);
void dpk_proof_free(struct dpk_proof *p);

/* Check p against state_root for address and exactly the slots asked for, in
 * order, and write the proven account and the 32-byte word of each slot
 * (words[nslots]). DPK_ERR_PROOF if any proof fails, the answer is for
 * another address or other slots, or a claimed value differs from the proven
 * one. */
int dpk_proof_verify(const struct dpk_proof *p, const uint8_t state_root[32],
    const uint8_t address[20], const uint8_t (*slots)[32], size_t nslots,
    struct dpk_mpt_account *acct, uint8_t (*words)[32]);

/* eth_getProof(address, slots, block) on rpc. block is a number or a tag
 * string ("latest", "finalized", a 0x-quantity); on success *out is decoded
 * (not yet verified) and the caller frees it with dpk_proof_free(). */
int dpk_proof_fetch(struct dpk_rpc *rpc, const uint8_t address[20], const uint8_t (*slots)[32],
    size_t nslots, const char *block, struct dpk_proof *out);

#endif
