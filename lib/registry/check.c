/* The start-up check of an endpoint and the registry behind it (check.h). */
#include "registry/check.h"

#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/hex.h"
#include "eth/abi.h"
#include "eth/wallet.h"

/* A registry's creation code is about 13 KB; the runtime code a bit less.
 * Anything up to EIP-170's 24 KiB limit counts as code; the check only needs
 * to know that some is there. */
#define CODE_HEX_MAX (2 * 24576 + 2)

/* eth_getCode(contract, "latest"): 1 code present, 0 none, or an error. */
static int
has_code(struct dpk_rpc *rpc, const uint8_t contract[20])
{
	char addr[43];
	cJSON *params = cJSON_CreateArray(), *res = NULL;
	int r = DPK_ERR_NOMEM;

	dpk_wallet_address_format(contract, addr);
	if (params == NULL || !cJSON_AddItemToArray(params, cJSON_CreateString(addr)) ||
	    !cJSON_AddItemToArray(params, cJSON_CreateString("latest")))
		goto out;
	if ((r = dpk_rpc_request(rpc, "eth_getCode", params, &res)) != 0)
		goto out;
	if (!cJSON_IsString(res) || strncmp(res->valuestring, "0x", 2) != 0 ||
	    strlen(res->valuestring) > CODE_HEX_MAX) {
		r = DPK_ERR_SYNTAX;
		goto out;
	}
	r = res->valuestring[2] != '\0';
out:
	cJSON_Delete(res);
	cJSON_Delete(params);
	return r;
}

/* dpkVersion(): the tag and version, or the call's error. */
static int
interface_version(struct dpk_rpc *rpc, const uint8_t contract[20], uint32_t *tag, uint64_t *version)
{
	struct dpk_buf cd, ret;
	struct dpk_abi_value *v = NULL;
	const struct dpk_abi_value *t;
	struct dpk_rpc_callmsg m = {.to = contract};
	int r;

	dpk_buf_init(&cd, 4);
	dpk_buf_init(&ret, 4096);
	if ((r = dpk_abi_encode_call("dpkVersion()", NULL, 0, &cd)) != 0)
		goto out;
	m.data = cd.data;
	m.data_len = cd.len;
	if ((r = dpk_rpc_call(rpc, &m, DPK_RPC_LATEST, &ret)) != 0)
		goto out;
	if ((r = dpk_abi_decode_text("(bytes4,uint32)", ret.data, ret.len, DPK_ABI_NO_TRAILING, &v)) != 0)
		goto out;
	t = dpk_abi_value_at(v, 0);
	if (t == NULL || t->u.bytes.len != 4 || (r = dpk_abi_value_u64(dpk_abi_value_at(v, 1), version)) != 0) {
		r = DPK_ERR_TYPE;
		goto out;
	}
	*tag = (uint32_t)t->u.bytes.p[0] << 24 | (uint32_t)t->u.bytes.p[1] << 16 | (uint32_t)t->u.bytes.p[2] << 8 |
	    t->u.bytes.p[3];
out:
	dpk_abi_value_free(v);
	dpk_buf_free(&cd);
	dpk_buf_free(&ret);
	return r;
}

int
dpk_registry_check(struct dpk_rpc *rpc, uint64_t chain_id, const uint8_t contract[20], char *err, size_t errsz)
{
	char addr[43];
	uint64_t id, version = 0;
	uint32_t tag = 0;
	int r;

	if (rpc == NULL || contract == NULL || err == NULL || errsz == 0)
		return DPK_ERR_INVALID;
	dpk_wallet_address_format(contract, addr);
	if ((r = dpk_rpc_chain_id(rpc, &id)) != 0) {
		snprintf(err, errsz, "cannot ask the node for its chain id: %s", dpk_rpc_last_error(rpc));
		return r;
	}
	if (id != chain_id) {
		snprintf(err, errsz, "%s is on chain %llu, not chain_id %llu (is rpc_url a node of this chain, "
		    "or chain_id its id?)", dpk_rpc_endpoint(rpc), (unsigned long long)id, (unsigned long long)chain_id);
		return DPK_ERR_STATE;
	}
	if ((r = has_code(rpc, contract)) < 0) {
		snprintf(err, errsz, "contract %s: cannot read its code on chain %llu: %s", addr,
		    (unsigned long long)chain_id, r == DPK_ERR_SYNTAX ? "the node's answer is not hex code" :
		    dpk_rpc_last_error(rpc));
		return r;
	}
	if (r == 0) {
		snprintf(err, errsz, "contract %s: no code on chain %llu (is `contract` the registry's address on "
		    "this chain?)", addr, (unsigned long long)chain_id);
		return DPK_ERR_NOTFOUND;
	}
	if ((r = interface_version(rpc, contract, &tag, &version)) != 0 || tag != DPK_REGISTRY_INTERFACE) {
		if (r == DPK_ERR_NET || r == DPK_ERR_TIMEOUT) {
			snprintf(err, errsz, "contract %s on chain %llu: %s", addr, (unsigned long long)chain_id,
			    dpk_rpc_last_error(rpc));
			return r;
		}
		snprintf(err, errsz, "contract %s on chain %llu is not a DPK registry (dpkVersion() %s; is `contract` "
		    "the registry's address?)", addr, (unsigned long long)chain_id,
		    r == DPK_ERR_REVERT ? "reverted" : r != 0 ? "gave no DPK answer" : "answered another tag");
		return DPK_ERR_UNSUPPORTED;
	}
	if (version != DPK_REGISTRY_INTERFACE_VERSION) {
		snprintf(err, errsz, "contract %s on chain %llu speaks DPK interface version %llu; this program speaks "
		    "version %u", addr, (unsigned long long)chain_id, (unsigned long long)version,
		    DPK_REGISTRY_INTERFACE_VERSION);
		return DPK_ERR_UNSUPPORTED;
	}
	return 0;
}
