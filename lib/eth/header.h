/* Ethereum block headers: the RLP list whose Keccak-256 is the block hash.
 *
 * A proof is only as good as the stateRoot it is checked against, and the
 * stateRoot is only as good as the hash that names its header. This module
 * decodes a header from its RLP (any fork: the 15 fields of Frontier, plus
 * baseFeePerGas (London), withdrawalsRoot (Shanghai), blobGasUsed,
 * excessBlobGas and parentBeaconBlockRoot (Cancun), requestsHash (Prague),
 * and up to DPK_HEADER_MAX_FIELDS in all, so a later fork's extra fields are
 * carried, not refused), and rebuilds the RLP from a JSON-RPC block object,
 * checking that its Keccak-256 is the "hash" the node claims. */
#ifndef DPK_HEADER_H
#define DPK_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/buf.h"

#define DPK_HEADER_MIN_FIELDS 15
#define DPK_HEADER_MAX_FIELDS 32
#define DPK_HEADER_MAX_LEN 8192 /* RLP bytes; extraData is at most 32 on mainnet */

struct dpk_header {
	uint8_t hash[32]; /* keccak256 of the RLP */
	uint8_t parent_hash[32];
	uint8_t state_root[32];
	uint64_t number;
	uint64_t timestamp;
	size_t nfields;
};

/* Decode one header from rlp[0..len) (untrusted) and hash it. DPK_ERR_TOOBIG
 * over DPK_HEADER_MAX_LEN or DPK_HEADER_MAX_FIELDS fields, DPK_ERR_TYPE if it
 * is not a list of byte strings (fields are never lists), DPK_ERR_INVALID for
 * fewer than 15 fields or a field of the wrong size, RLP errors otherwise. */
int dpk_header_decode(const uint8_t *rlp, size_t len, struct dpk_header *out);

/* Rebuild the header's RLP from an eth_getBlockByNumber / eth_getBlockByHash
 * result (untrusted JSON) into rlp_out (appended; may be NULL), decode it into
 * *out and check that its hash is the object's "hash". Fields after the 15
 * classic ones are included while present, in fork order; one missing before
 * a present later one is DPK_ERR_INVALID. DPK_ERR_PROOF when the rebuilt hash
 * is not the claimed one (a forged header, or a fork this code does not know:
 * refused either way), DPK_ERR_SYNTAX / DPK_ERR_TYPE for a malformed field. */
int dpk_header_from_json(const cJSON *block, struct dpk_buf *rlp_out, struct dpk_header *out);

#endif
