/* EIP-1559 fees under an operator's cap: what to offer for a new
 * transaction, what to offer when one is stuck and must be replaced (same
 * nonce), and what registering costs on a chain (gas x fee, plus the L1 data
 * fee of OP-stack chains). Fee figures are wei per gas in a uint64_t: 2^64 wei
 * is 18 ether per gas, far above any fee a chain has charged. */
#ifndef DPK_FEES_H
#define DPK_FEES_H

#include <stddef.h>
#include <stdint.h>

#include "eth/rpc.h"
#include "eth/u256.h"

#define DPK_GWEI 1000000000ULL

/* Each replacement offers prev + prev / DPK_FEES_BUMP_DIV + 1 wei (+12.5%) on
 * both fields: geth's and Nethermind's pools want at least +10% on both the
 * fee cap and the tip (txpool.pricebump), anvil a strictly higher fee cap. */
#define DPK_FEES_BUMP_DIV 8

struct dpk_fee_policy {
	uint64_t max_fee;      /* cap on maxFeePerGas in wei; 0: no cap */
	uint64_t max_tip;      /* cap on maxPriorityFeePerGas in wei; 0: no cap */
};

struct dpk_fee_offer {
	uint64_t base_fee;     /* the latest block's, for messages */
	uint64_t tip;          /* maxPriorityFeePerGas */
	uint64_t max_fee;      /* maxFeePerGas */
};

/* Parse a fee setting: a decimal number with an optional unit "wei", "gwei"
 * or "ether" (a space between is allowed; no unit means gwei), e.g. "30",
 * "2.5 gwei", "1500000000 wei". At most 10 ether per gas; fractions of a wei
 * are refused. DPK_ERR_SYNTAX or DPK_ERR_RANGE with *why set to a reason. */
int dpk_fee_parse(const char *text, uint64_t *wei, const char **why);

/* wei as "12.5 gwei" (gwei with up to 9 decimals, trailing zeros dropped). */
void dpk_fee_format(uint64_t wei, char *out, size_t outsz);

/* The offer for a new transaction: the node's suggestion (base fee of the
 * latest block x 2 + the node's tip), the tip cut to max_tip and the fee cap
 * cut to max_fee. DPK_ERR_RANGE when the network's base fee is above
 * max_fee: msg then says so with both figures and nothing should be sent. */
int dpk_fees_offer(struct dpk_rpc *rpc, const struct dpk_fee_policy *pol, struct dpk_fee_offer *out,
    char *msg, size_t msgsz);

/* The offer that replaces a stuck transaction that offered prev: both fields
 * at least 12.5% above prev, and at least what the network
 * asks now (dpk_fees_offer), within the policy's caps. DPK_ERR_RANGE when the
 * caps leave no room for the bump (msg names the figures): the transaction
 * then waits as it is. */
int dpk_fees_bump(struct dpk_rpc *rpc, const struct dpk_fee_policy *pol, const struct dpk_fee_offer *prev,
    struct dpk_fee_offer *out, char *msg, size_t msgsz);

/* The pure part of dpk_fees_bump, for tests: prev bumped, raised to at least
 * now, within pol. */
int dpk_fees_bump_from(const struct dpk_fee_policy *pol, const struct dpk_fee_offer *prev,
    const struct dpk_fee_offer *now, struct dpk_fee_offer *out, char *msg, size_t msgsz);

/* OP-stack chains charge an L1 data fee on top of gas, which the
 * GasPriceOracle predeploy computes. If there is code at that address, *fee
 * is an upper bound for a transaction of tx_len bytes:
 * getL1FeeUpperBound(tx_len) (Fjord and later), else getL1Fee of tx_len
 * incompressible bytes with no zero byte; with no code there, 0. */
#define DPK_OP_GAS_PRICE_ORACLE "0x420000000000000000000000000000000000000F"
int dpk_fees_l1_fee(struct dpk_rpc *rpc, size_t tx_len, struct dpk_u256 *fee);

/* What a transaction of gas units and about tx_len bytes costs at most under
 * the current fees: gas x the offer's maxFeePerGas + the L1 data fee, then
 * + margin_percent. Written to *cost; *l1 (may be NULL) gets the L1 part. */
int dpk_fees_cost(struct dpk_rpc *rpc, const struct dpk_fee_policy *pol, uint64_t gas, size_t tx_len,
    unsigned margin_percent, struct dpk_u256 *cost, struct dpk_u256 *l1, char *msg, size_t msgsz);

#endif
