/* Registry set-up shared by the integration tests: anvil's public dev keys,
 * a deployed registry with an approver, and transactions that must succeed.
 * Every helper fails the test (with the node's or the contract's reason) on
 * any error. */
#ifndef DPK_TEST_CHAIN_H
#define DPK_TEST_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "crypto/idkey.h"
#include "eth/rpc.h"
#include "eth/wallet.h"

/* anvil's dev accounts 1 and 2 (mnemonic "test test ... junk"): public test keys */
#define DPK_TEST_APPROVER_KEY "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
#define DPK_TEST_DEVICE_KEY "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"

struct dpk_test_anvil;

/* A wallet from a 0x-prefixed hex private key. */
void dpk_test_wallet(const char *hex, struct dpk_wallet *w);
/* Send calldata to the contract from from; must be mined with status 1. data is reset. */
void dpk_test_send(struct dpk_rpc *rpc, const uint8_t contract[20], const struct dpk_wallet *from,
    struct dpk_buf *data);
/* Deploy the registry from owner and name approver; the address goes to contract. */
void dpk_test_deploy(struct dpk_rpc *rpc, const struct dpk_wallet *owner, const struct dpk_wallet *approver,
    uint8_t contract[20]);
/* Start anvil (no extra arguments), open rpc to it, make the owner (anvil's
 * first dev account), approver and device wallets, and deploy the registry
 * from owner with approver into contract. */
void dpk_test_chain_up(struct dpk_test_anvil *anvil, struct dpk_rpc **rpc, struct dpk_wallet *owner,
    struct dpk_wallet *approver, struct dpk_wallet *device, uint8_t contract[20]);
/* The same with the node's extra arguments (dpk_test_anvil_start), such as
 * "--instant" for a chain whose height the test controls. */
void dpk_test_chain_up_args(struct dpk_test_anvil *anvil, const char *const *args, struct dpk_rpc **rpc,
    struct dpk_wallet *owner, struct dpk_wallet *approver, struct dpk_wallet *device, uint8_t contract[20]);
/* Stop what dpk_test_chain_up started: free rpc, stop anvil. */
void dpk_test_chain_down(struct dpk_test_anvil *anvil, struct dpk_rpc *rpc);
/* A new identity key (RSA: 2048 bits) saved as PKCS#8 PEM (0600) at path;
 * its on-chain public key in pub (initialised here). */
void dpk_test_new_key(const char *path, enum dpk_idkey_alg alg, struct dpk_buf *pub);
/* One-transaction registration of the identity text with key pub (alg), approved
 * by approver's EIP-712 signature and sent by device. */
void dpk_test_register(struct dpk_rpc *rpc, const uint8_t contract[20], const struct dpk_wallet *approver,
    const struct dpk_wallet *device, const char *text, uint8_t alg, const uint8_t *pub, size_t publen);
/* The documented uid of identity text (nss_dpk(8)): uid_min + the serial
 * number the registry gave it (which must be set). */
uint32_t dpk_test_serial_uid(struct dpk_rpc *rpc, const uint8_t contract[20], uint32_t uid_min, const char *text);
/* Revoke the identity text, as the approver. */
void dpk_test_revoke(struct dpk_rpc *rpc, const uint8_t contract[20], const struct dpk_wallet *approver,
    const char *text);
/* A test-control method of anvil (anvil_snapshot, anvil_revert, anvil_mine,
 * anvil_setBalance, anvil_setCode, evm_setAutomine, ...) with params (a JSON
 * array, taken), translated for ganache under DPK_TEST_NODE=ganache; its
 * result (the caller frees it). Fails the test on an error; a method ganache
 * has no equivalent of skips the case there. */
struct cJSON *dpk_test_node_control(struct dpk_rpc *rpc, const char *method, struct cJSON *params);
/* A node method with one argument (NULL: none; "true" or "false": a JSON
 * boolean; else a string), such as evm_setAutomine or evm_mine. */
void dpk_test_node_call(struct dpk_rpc *rpc, const char *method, const char *arg);
/* A fee spike made as on a real network, by load, on any node: blocks
 * filled by one transaction each (a tip of 2 gwei, above the tests', so
 * that nothing else fits) are mined until the latest block's base fee is at least
 * at_least wei (EIP-1559: +12.5% a full block). Automining is off while it
 * runs, and on after it when automine_after. The base fee reached. */
uint64_t dpk_test_fee_spike(struct dpk_rpc *rpc, uint64_t at_least, int automine_after);
/* The figure in gwei that follows label in msg ("... base fee (5.2 gwei)"); -1 if none. */
double dpk_test_named_gwei(const char *msg, const char *label);
/* The fee falling: empty blocks (-12.5% each) until the latest block's
 * base fee is below below wei; the base fee reached. */
uint64_t dpk_test_fee_fall(struct dpk_rpc *rpc, uint64_t below);

/* Reorgs on anvil (tests/integration/test_reorg.c): a snapshot of the chain
 * (anvil_snapshot; its id), going back to it (anvil_revert: the blocks after
 * it are gone, and so are their transactions), and n new empty blocks
 * (anvil_mine). Each fails the test on an error. */
uint64_t dpk_test_chain_snapshot(struct dpk_rpc *rpc);
void dpk_test_chain_revert(struct dpk_rpc *rpc, uint64_t snapshot);
void dpk_test_chain_mine(struct dpk_rpc *rpc, unsigned n);

#endif
