/* Verified reads of the registry: a record read with eth_getProof (EIP-1186)
 * at a block whose header the caller has checked, proven against that
 * header's stateRoot, instead of believed from eth_call. Slots and their
 * decoding come from lib/registry/slots.h. */
#ifndef DPK_VREAD_H
#define DPK_VREAD_H

#include <stddef.h>
#include <stdint.h>

#include "eth/header.h"
#include "eth/rpc.h"
#include "registry/registry.h"

struct dpk_vread_cost {
	unsigned requests; /* eth_getProof round trips */
	size_t proof_bytes; /* decoded proof node bytes */
};

/* Read id_hash's record from contract at the block of *at (number and
 * stateRoot; the caller checked that the header hashes to the block hash it
 * trusts). 0 with *rec filled (the caller frees it with
 * dpk_registry_record_free()); DPK_ERR_NOTFOUND when the proofs show the
 * identity was never approved; DPK_ERR_PROOF when the endpoint's answer
 * does not verify (the caller should bench it and ask another);
 * DPK_ERR_STATE when the proofs show no contract at that address at that
 * block (a wrong address or chain); transport and decoding errors of
 * lib/eth/rpc and lib/eth/proof; slot decoding errors of lib/registry/slots.
 * cost may be NULL. */
int dpk_vread_record(struct dpk_rpc *rpc, const uint8_t contract[20], const struct dpk_header *at,
    const uint8_t id_hash[32], struct dpk_registry_record *rec, struct dpk_vread_cost *cost);

#endif
