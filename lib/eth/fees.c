#include "eth/fees.h"

#include "base/err.h"
#include "base/hex.h"
#include "eth/abi.h"
#include "eth/keccak.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FEE_MAX_WEI (10ULL * DPK_GWEI * DPK_GWEI) /* 10 ether per gas: fits a uint64_t */

int
dpk_fee_parse(const char *text, uint64_t *wei, const char **why)
{
	uint64_t whole = 0, frac = 0, scale = DPK_GWEI, div = 1;
	const char *p = text, *unit;
	size_t ndigits = 0, nfrac = 0;

	for (; *p >= '0' && *p <= '9'; p++, ndigits++) {
		if (whole > (UINT64_MAX - 9) / 10)
			return *why = "is too large (at most 10 ether per gas)", DPK_ERR_RANGE;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, nfrac++) {
			if (nfrac >= 18)
				return *why = "has more decimals than a wei", DPK_ERR_SYNTAX;
			frac = frac * 10 + (uint64_t)(*p - '0');
			div *= 10;
		}
		if (nfrac == 0)
			return *why = "is not a fee (a number and a unit: 30 gwei, 1.5 gwei, 2000000000 wei)",
			    DPK_ERR_SYNTAX;
	}
	if (ndigits == 0)
		return *why = "is not a fee (a number and a unit: 30 gwei, 1.5 gwei, 2000000000 wei)", DPK_ERR_SYNTAX;
	unit = *p == ' ' ? p + 1 : p;
	if (*unit == '\0' || strcmp(unit, "gwei") == 0)
		scale = DPK_GWEI;
	else if (strcmp(unit, "wei") == 0)
		scale = 1;
	else if (strcmp(unit, "ether") == 0 || strcmp(unit, "eth") == 0)
		scale = DPK_GWEI * DPK_GWEI;
	else
		return *why = "has an unknown unit (wei, gwei or ether; no unit means gwei)", DPK_ERR_SYNTAX;
	if (whole > FEE_MAX_WEI / scale)
		return *why = "is too large (at most 10 ether per gas)", DPK_ERR_RANGE;
	if (div > scale && frac % (div / scale) != 0)
		return *why = "is not a whole number of wei", DPK_ERR_SYNTAX;
	*wei = whole * scale + (div > scale ? frac / (div / scale) : frac * (scale / div));
	if (*wei > FEE_MAX_WEI)
		return *why = "is too large (at most 10 ether per gas)", DPK_ERR_RANGE;
	return 0;
}

void
dpk_fee_format(uint64_t wei, char *out, size_t outsz)
{
	char frac[16];
	size_t n;

	snprintf(frac, sizeof(frac), "%09llu", (unsigned long long)(wei % DPK_GWEI));
	for (n = strlen(frac); n > 0 && frac[n - 1] == '0'; n--)
		frac[n - 1] = '\0';
	snprintf(out, outsz, "%llu%s%s gwei", (unsigned long long)(wei / DPK_GWEI), n ? "." : "", frac);
}

static int
to_u64(const struct dpk_u256 *x, uint64_t *v, const char *what, char *msg, size_t msgsz)
{
	if (dpk_u256_to_u64(x, v) != 0 || *v > FEE_MAX_WEI) {
		snprintf(msg, msgsz, "the node suggests a %s above 10 ether per gas: not sending", what);
		return DPK_ERR_RANGE;
	}
	return 0;
}

/* The node's suggestion, cut to the policy; DPK_ERR_RANGE if the base fee is above the cap. */
static int
suggest(struct dpk_rpc *rpc, const struct dpk_fee_policy *pol, struct dpk_fee_offer *out, char *msg, size_t msgsz)
{
	struct dpk_rpc_fees f;
	int r;

	if ((r = dpk_rpc_fee_data(rpc, &f)) != 0) {
		snprintf(msg, msgsz, "cannot read the network's fees: %s", dpk_rpc_last_error(rpc));
		return r;
	}
	if ((r = to_u64(&f.base_fee, &out->base_fee, "base fee", msg, msgsz)) != 0 ||
	    (r = to_u64(&f.priority_fee, &out->tip, "tip", msg, msgsz)) != 0 ||
	    (r = to_u64(&f.max_fee, &out->max_fee, "fee cap", msg, msgsz)) != 0)
		return r;
	if (pol->max_tip != 0 && out->tip > pol->max_tip)
		out->tip = pol->max_tip;
	out->max_fee = 2 * out->base_fee + out->tip;
	if (pol->max_fee != 0 && out->base_fee >= pol->max_fee) {
		char base[48], cap[48];

		dpk_fee_format(out->base_fee, base, sizeof(base));
		dpk_fee_format(pol->max_fee, cap, sizeof(cap));
		snprintf(msg, msgsz, "the network's base fee (%s) is at or above max_fee_per_gas (%s): "
		    "not sending until it falls or the cap is raised", base, cap);
		return DPK_ERR_RANGE;
	}
	if (pol->max_fee != 0 && out->max_fee > pol->max_fee)
		out->max_fee = pol->max_fee;
	if (out->tip > out->max_fee)
		out->tip = out->max_fee;
	return 0;
}

int
dpk_fees_offer(struct dpk_rpc *rpc, const struct dpk_fee_policy *pol, struct dpk_fee_offer *out, char *msg,
    size_t msgsz)
{
	return suggest(rpc, pol, out, msg, msgsz);
}

int
dpk_fees_bump_from(const struct dpk_fee_policy *pol, const struct dpk_fee_offer *prev,
    const struct dpk_fee_offer *now, struct dpk_fee_offer *out, char *msg, size_t msgsz)
{
	uint64_t tip = prev->tip + prev->tip / DPK_FEES_BUMP_DIV + 1;
	uint64_t max = prev->max_fee + prev->max_fee / DPK_FEES_BUMP_DIV + 1;
	char want[48], cap[48];

	if (prev->max_fee > FEE_MAX_WEI || prev->tip > prev->max_fee) {
		snprintf(msg, msgsz, "the transaction to replace has fees out of range");
		return DPK_ERR_RANGE;
	}
	if (now->tip > tip)
		tip = now->tip;
	if (now->max_fee > max)
		max = now->max_fee;
	if (pol->max_tip != 0 && tip > pol->max_tip) {
		dpk_fee_format(tip, want, sizeof(want));
		dpk_fee_format(pol->max_tip, cap, sizeof(cap));
		snprintf(msg, msgsz, "replacing the stuck transaction needs a tip of %s, above max_priority_fee_per_gas "
		    "(%s): it waits as it is", want, cap);
		return DPK_ERR_RANGE;
	}
	if (pol->max_fee != 0 && max > pol->max_fee) {
		if (pol->max_fee < prev->max_fee + prev->max_fee / DPK_FEES_BUMP_DIV + 1 || pol->max_fee < tip) {
			dpk_fee_format(max, want, sizeof(want));
			dpk_fee_format(pol->max_fee, cap, sizeof(cap));
			snprintf(msg, msgsz, "replacing the stuck transaction needs a fee cap of %s, above max_fee_per_gas "
			    "(%s): it waits as it is", want, cap);
			return DPK_ERR_RANGE;
		}
		max = pol->max_fee; /* a full bump, short of what the network asks now: the best the cap allows */
	}
	if (tip > max)
		tip = max;
	out->base_fee = now->base_fee;
	out->tip = tip;
	out->max_fee = max;
	return 0;
}

int
dpk_fees_bump(struct dpk_rpc *rpc, const struct dpk_fee_policy *pol, const struct dpk_fee_offer *prev,
    struct dpk_fee_offer *out, char *msg, size_t msgsz)
{
	struct dpk_fee_policy open = {0, pol->max_tip};
	struct dpk_fee_offer now;
	int r;

	/* the network's figure without the cap: the cap is applied to the bump */
	if ((r = suggest(rpc, &open, &now, msg, msgsz)) != 0)
		return r;
	if (pol->max_fee != 0 && now.base_fee >= pol->max_fee) {
		char base[48], cap[48];

		dpk_fee_format(now.base_fee, base, sizeof(base));
		dpk_fee_format(pol->max_fee, cap, sizeof(cap));
		snprintf(msg, msgsz, "the network's base fee (%s) is at or above max_fee_per_gas (%s): the stuck "
		    "transaction waits as it is", base, cap);
		return DPK_ERR_RANGE;
	}
	return dpk_fees_bump_from(pol, prev, &now, out, msg, msgsz);
}

/* One eth_call of sig(arg) at the oracle; its uint256 answer into *fee. */
static int
oracle_call(struct dpk_rpc *rpc, const uint8_t oracle[20], const char *sig, const struct dpk_abi_value *arg,
    struct dpk_u256 *fee)
{
	struct dpk_buf call, ret;
	int r;

	dpk_buf_init(&call, 256 * 1024);
	dpk_buf_init(&ret, 4096);
	if ((r = dpk_abi_encode_call(sig, arg, 1, &call)) == 0) {
		struct dpk_rpc_callmsg m = {.to = oracle, .data = call.data, .data_len = call.len};

		r = dpk_rpc_call(rpc, &m, DPK_RPC_LATEST, &ret);
	}
	if (r == 0)
		r = ret.len == 32 ? dpk_u256_from_be(fee, ret.data, 32) : DPK_ERR_SYNTAX;
	dpk_buf_free(&call);
	dpk_buf_free(&ret);
	return r;
}

int
dpk_fees_l1_fee(struct dpk_rpc *rpc, size_t tx_len, struct dpk_u256 *fee)
{
	uint8_t oracle[20], *bytes;
	cJSON *params, *code = NULL;
	struct dpk_abi_value arg;
	int r;

	dpk_u256_from_u64(fee, 0);
	if (tx_len > 128 * 1024)
		return DPK_ERR_TOOBIG;
	if ((params = cJSON_CreateArray()) == NULL)
		return DPK_ERR_NOMEM;
	cJSON_AddItemToArray(params, cJSON_CreateString(DPK_OP_GAS_PRICE_ORACLE));
	cJSON_AddItemToArray(params, cJSON_CreateString("latest"));
	r = dpk_rpc_request(rpc, "eth_getCode", params, &code);
	cJSON_Delete(params);
	if (r != 0)
		return r;
	/* no code: not an OP-stack chain, no L1 fee */
	r = !cJSON_IsString(code) || strcmp(code->valuestring, "0x") == 0 || strcmp(code->valuestring, "0x0") == 0;
	cJSON_Delete(code);
	if (r)
		return 0;
	dpk_hex_decode_exact(DPK_OP_GAS_PRICE_ORACLE + 2, oracle, 20);
	/* Fjord and later: the oracle's own upper bound for a transaction of that size */
	memset(&arg, 0, sizeof(arg));
	arg.kind = DPK_ABI_UINT;
	dpk_u256_from_u64(&arg.u.num, tx_len);
	if (oracle_call(rpc, oracle, "getL1FeeUpperBound(uint256)", &arg, fee) == 0)
		return 0;
	/* before Fjord: getL1Fee of tx_len bytes that neither compress nor
	 * hold a zero byte (a zero byte costs L1 gas 4, a non-zero one 16) */
	if ((bytes = malloc(tx_len + 32)) == NULL)
		return DPK_ERR_NOMEM;
	dpk_keccak256("dpk-l1-fee", 10, bytes);
	for (size_t i = 32; i < tx_len; i += 32)
		dpk_keccak256(bytes + i - 32, 32, bytes + i);
	for (size_t i = 0; i < tx_len; i++)
		bytes[i] |= bytes[i] == 0;
	arg.kind = DPK_ABI_BYTES;
	arg.u.bytes.p = bytes;
	arg.u.bytes.len = tx_len;
	r = oracle_call(rpc, oracle, "getL1Fee(bytes)", &arg, fee);
	free(bytes);
	return r;
}

int
dpk_fees_cost(struct dpk_rpc *rpc, const struct dpk_fee_policy *pol, uint64_t gas, size_t tx_len,
    unsigned margin_percent, struct dpk_u256 *cost, struct dpk_u256 *l1, char *msg, size_t msgsz)
{
	struct dpk_fee_offer o;
	struct dpk_u256 l1fee, c, extra;
	int r;

	if ((r = suggest(rpc, pol, &o, msg, msgsz)) != 0)
		return r;
	if ((r = dpk_fees_l1_fee(rpc, tx_len, &l1fee)) != 0) {
		snprintf(msg, msgsz, "cannot read the L1 data fee from the GasPriceOracle at %s: %s", DPK_OP_GAS_PRICE_ORACLE,
		    dpk_rpc_last_error(rpc));
		return r;
	}
	dpk_u256_from_u64(&c, o.max_fee);
	if ((r = dpk_u256_mul_u64(&c, &c, gas)) != 0 || (r = dpk_u256_add(&c, &c, &l1fee)) != 0 ||
	    (r = dpk_u256_mul_u64(&extra, &c, margin_percent)) != 0) {
		snprintf(msg, msgsz, "the cost of a transaction overflows");
		return DPK_ERR_RANGE;
	}
	/* + c * margin / 100, rounded up (long division of the big-endian bytes) */
	{
		struct dpk_u256 q;
		uint64_t rem = 0;

		for (int i = 0; i < 32; i++) {
			uint64_t cur = (rem << 8) | extra.be[i];

			q.be[i] = (uint8_t)(cur / 100);
			rem = cur % 100;
		}
		if (rem != 0) {
			struct dpk_u256 one;

			dpk_u256_from_u64(&one, 1);
			dpk_u256_add(&q, &q, &one);
		}
		if ((r = dpk_u256_add(&c, &c, &q)) != 0) {
			snprintf(msg, msgsz, "the cost of a transaction overflows");
			return DPK_ERR_RANGE;
		}
	}
	*cost = c;
	if (l1 != NULL)
		*l1 = l1fee;
	return 0;
}
