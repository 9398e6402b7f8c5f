/* Is this endpoint on the configured chain, and is there a DPK registry at
 * the configured address? Asked by every program before it relies on a
 * registry (dpk-agent at start and with --check-config, dpk-pkm, dpk-admin),
 * so that a wrong rpc_url, chain_id or contract is named as such instead of
 * surfacing later as an undecodable answer. */
#ifndef DPK_REGISTRY_CHECK_H
#define DPK_REGISTRY_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "eth/rpc.h"

/* What dpkVersion() of contracts/DPK.sol answers: the tag "DPK\0" and the
 * interface version this code speaks. */
#define DPK_REGISTRY_INTERFACE 0x44504b00u
#define DPK_REGISTRY_INTERFACE_VERSION 1u

/* Check, through rpc (its endpoints in their usual order), that:
 * eth_chainId is chain_id; the contract has code at the latest block; its
 * dpkVersion() answers with the DPK tag and DPK_REGISTRY_INTERFACE_VERSION.
 * 0 when all hold. Otherwise one line into err naming what failed, the
 * endpoint, the address and the chain, e.g. "contract 0x...: no code on chain
 * 31337 (is `contract` the registry's address on this chain?)", and:
 * the transport's error (DPK_ERR_NET, DPK_ERR_TIMEOUT, DPK_ERR_RPC, ...) when
 * the node cannot be asked; DPK_ERR_STATE for another chain; DPK_ERR_NOTFOUND
 * for no code; DPK_ERR_UNSUPPORTED for code that is not a DPK registry or
 * speaks another interface version. */
int dpk_registry_check(struct dpk_rpc *rpc, uint64_t chain_id, const uint8_t contract[20], char *err,
    size_t errsz);

#endif
