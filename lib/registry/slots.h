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

/* A record's slots: two of fixed fields (base + 0, + 1), a P-256 key's x
 * (+ 2), an RSA key's length word (+ 3). A P-256 record is all in these, so
 * it takes one proof request; an RSA key's data words take a second. */
#define DPK_SLOTS_RECORD_FIXED 4
/* Most key data slots a record can have (DPK_REGISTRY_KEY_MAX / 32). */
#define DPK_SLOTS_KEY_DATA_MAX (DPK_REGISTRY_KEY_MAX / 32)

/* slot + k as a 256-bit big-endian number (mod 2^256, as the EVM adds). */
void dpk_slots_add(const uint8_t slot[32], uint64_t k, uint8_t out[32]);
/* The first slot of id_hash's record: keccak256(id_hash . uint256(4)). */
void dpk_slots_record_base(const uint8_t id_hash[32], uint8_t base[32]);
/* Where an RSA key's bytes start: keccak256(base + 3). */
void dpk_slots_key_data(const uint8_t base[32], uint8_t data[32]);

/* The slots to prove for a record: its DPK_SLOTS_RECORD_FIXED slots (0 if
 * max is smaller). */
size_t dpk_slots_record_slots(const uint8_t id_hash[32], uint8_t (*slots)[32], size_t max);

/* From a bytes length word (the RSA key's, base + 3): how many data slots it has
 * (0 for a key stored inline). DPK_ERR_NONCANONICAL for a long form of fewer
 * than 32 bytes or a short form with stray bytes, DPK_ERR_TOOBIG over
 * DPK_REGISTRY_KEY_MAX. */
int dpk_slots_key_len(const uint8_t word2[32], size_t *key_len, size_t *data_slots);

/* From a record's DPK_SLOTS_RECORD_FIXED words: how many key data slots
 * follow (an RSA key's; 0 for a P-256 key or no record). Errors of
 * dpk_slots_key_len() for an RSA length word the contract never writes. */
int dpk_slots_data_needed(const uint8_t (*words)[32], size_t *ndata);

/* Decode a record from its words: words[0..4) the record's slots, then
 * words[4 ..) an RSA key's data slots in order (at least what its length
 * word needs). A P-256 key is rebuilt from x and the parity bit into the
 * 65-byte form getClient returns (0x04 || x || y). DPK_ERR_NOTFOUND for a
 * record never approved (status 0), DPK_ERR_RANGE for a status, serial or
 * algorithm the contract never writes, DPK_ERR_NONCANONICAL for a key slot
 * of the other algorithm that is not zero or an x that is no point's,
 * DPK_ERR_TRUNCATED for too few data words, the errors of
 * dpk_slots_key_len(). On success rec->pubkey is allocated (free with
 * dpk_registry_record_free()); on error *rec is zeroed. */
int dpk_slots_decode_record(const uint8_t (*words)[32], size_t nwords, struct dpk_registry_record *rec);

#endif
