/* Merkle-Patricia trie proofs (Yellow Paper appendix D; EIP-1186).
 *
 * A proof is a set of trie nodes, each the RLP bytes of one node, that lead
 * from a root hash to the leaf holding a key's value, or to the point where
 * the key's path leaves the trie (a proof of absence). Every input here is
 * untrusted: node count, node size and key length are capped, nodes are
 * found by their Keccak-256 hash (so their order and any extra node do not
 * matter, and a node can never point back to itself: every step down the trie
 * consumes at least one nibble of the key), and the walk is a loop, never a
 * recursion.
 *
 * The generic verifier takes the key as it is stored in the trie. Ethereum's
 * state and storage tries are "secure": their keys are Keccak-256 of the
 * address or of the 32-byte slot, which dpk_mpt_verify_account() and
 * dpk_mpt_verify_storage() compute. */
#ifndef DPK_MPT_H
#define DPK_MPT_H

#include <stddef.h>
#include <stdint.h>

#include "eth/u256.h"

/* Caps on untrusted proofs. A real state proof is about 8-10 nodes for the
 * account and 3-7 for a slot; a node is at most 17 * 33 bytes plus a value. */
#define DPK_MPT_MAX_NODES 64
#define DPK_MPT_MAX_NODE_LEN 4096
#define DPK_MPT_MAX_KEY 128

/* keccak256(rlp("")): the root of an empty trie (and the storageRoot of an
 * account without storage). */
extern const uint8_t dpk_mpt_empty_root[32];

/* One proof node: RLP bytes, not owned. */
struct dpk_mpt_node {
	const uint8_t *p;
	size_t len;
};

/* Walk the trie under root along key[0..key_len) using the n proof nodes.
 * Returns 0 with *value / *value_len pointing into one of the nodes when the
 * key is present, and 0 with *value = NULL, *value_len = 0 when the proof
 * shows the key is absent. Errors: DPK_ERR_PROOF (a node the path needs is
 * missing from the proof, or the nodes do not form a valid trie path: wrong
 * node shape, bad path encoding, an inline node of 32 bytes or more, an
 * empty leaf value), DPK_ERR_TOOBIG (more than DPK_MPT_MAX_NODES nodes, a
 * node over DPK_MPT_MAX_NODE_LEN, a key over DPK_MPT_MAX_KEY), an RLP error
 * (DPK_ERR_TRUNCATED, DPK_ERR_NONCANONICAL, ...) for a node that the walk
 * uses and that does not decode, DPK_ERR_INVALID for NULL arguments. */
int dpk_mpt_verify(const uint8_t root[32], const uint8_t *key, size_t key_len,
    const struct dpk_mpt_node *nodes, size_t n, const uint8_t **value, size_t *value_len);

/* An account as the state trie stores it: rlp([nonce, balance, storageRoot,
 * codeHash]). An absent account reads as exists = 0, nonce 0, balance 0,
 * the empty storage root and keccak256("") as its code hash. */
struct dpk_mpt_account {
	int exists;
	uint64_t nonce;
	struct dpk_u256 balance;
	uint8_t storage_root[32];
	uint8_t code_hash[32];
};

/* Verify an EIP-1186 accountProof of address under a block's stateRoot and
 * decode the account. Same errors as dpk_mpt_verify(), plus DPK_ERR_PROOF for
 * a leaf that is not a well-formed account. */
int dpk_mpt_verify_account(const uint8_t state_root[32], const uint8_t address[20],
    const struct dpk_mpt_node *nodes, size_t n, struct dpk_mpt_account *out);

/* Verify an EIP-1186 storageProof of one 32-byte slot under an account's
 * storageRoot and write the slot's 32-byte word (zero when the slot is
 * absent). DPK_ERR_PROOF also for a leaf that is not the RLP of a minimal
 * integer of at most 32 bytes. */
int dpk_mpt_verify_storage(const uint8_t storage_root[32], const uint8_t slot[32],
    const struct dpk_mpt_node *nodes, size_t n, uint8_t word[32]);

#endif
