/* The registry contract's storage layout (contracts/README.md, "Storage
 * layout"): which slots hold a record, and how their 32-byte words decode.
 *
 * This is the only place in the project that knows slot numbers and packing:
 * storage proofs (lib/registry/vread.h) read these slots, and when the
 * contract's layout changes, this file and its test change with it. */
#ifndef DPK_SLOTS_H
#define DPK_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#include "registry/registry.h"

/* State variables' slots (declaration order). */
#define DPK_SLOTS_OWNER 0   /* owner, lastSerial */
#define DPK_SLOTS_RECORDS 4 /* mapping(bytes32 identityHash => Record) */

/* A record's fixed slots (base + 0, + 1) and its key's length word (+ 2). */
#define DPK_SLOTS_RECORD_FIXED 3
/* Most key data slots a record can have (DPK_REGISTRY_KEY_MAX / 32). */
#define DPK_SLOTS_KEY_DATA_MAX (DPK_REGISTRY_KEY_MAX / 32)
/* Key data slots read speculatively with the fixed ones, so that the usual
 * key (P-256, 65 bytes uncompressed) takes one proof request, not two. */
#define DPK_SLOTS_KEY_DATA_GUESS 3

/* slot + k as a 256-bit big-endian number (mod 2^256, as the EVM adds). */
void dpk_slots_add(const uint8_t slot[32], uint64_t k, uint8_t out[32]);
/* The first slot of id_hash's record: keccak256(id_hash . uint256(4)). */
void dpk_slots_record_base(const uint8_t id_hash[32], uint8_t base[32]);
/* Where a long key's bytes start: keccak256(base + 2). */
void dpk_slots_key_data(const uint8_t base[32], uint8_t data[32]);

/* The slots to prove for a record: its three fixed slots followed by the
 * first DPK_SLOTS_KEY_DATA_GUESS key data slots; writes 3 + guess slots. */
size_t dpk_slots_record_slots(const uint8_t id_hash[32], uint8_t (*slots)[32], size_t max);

/* From the key's length word (base + 2): how many data slots the key has
 * (0 for a key stored inline). DPK_ERR_NONCANONICAL for a long form of fewer
 * than 32 bytes or a short form with stray bytes, DPK_ERR_TOOBIG over
 * DPK_REGISTRY_KEY_MAX. */
int dpk_slots_key_len(const uint8_t word2[32], size_t *key_len, size_t *data_slots);

/* Decode a record from its words: words[0..3) the fixed slots, then
 * words[3 ..) the key's data slots in order (ndata of them, at least what
 * the length word needs). DPK_ERR_NOTFOUND for a record never approved
 * (status 0: every field zero), DPK_ERR_RANGE for a status or serial the
 * contract never writes, DPK_ERR_TRUNCATED for too few data words, the
 * errors of dpk_slots_key_len(). On success rec->pubkey is allocated (free
 * with dpk_registry_record_free()); on error *rec is zeroed. */
int dpk_slots_decode_record(const uint8_t (*words)[32], size_t nwords, struct dpk_registry_record *rec);

#endif
