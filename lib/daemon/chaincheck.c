/* Each rpc_url endpoint checked on its own (chaincheck.h). */
#include "daemon/chaincheck.h"

#include "base/err.h"
#include "daemon/conffile.h"
#include "eth/rpc.h"
#include "eth/wallet.h"
#include "registry/check.h"

int
dpk_chaincheck_endpoints(char *const *urls, size_t n, uint32_t timeout_ms, uint64_t chain_id,
    const uint8_t contract[20], const char *prog, FILE *out)
{
	int failed = 0;

	for (size_t i = 0; i < n; i++) {
		struct dpk_rpc *rpc = NULL;
		char why[512], addr[43];
		int r;

		if ((r = dpk_conffile_rpc_client(&rpc, &urls[i], 1, timeout_ms)) != 0)
			return r;
		if (dpk_registry_check(rpc, chain_id, contract, why, sizeof(why)) != 0) {
			fprintf(out, "%s: rpc_url %s: %s\n", prog, dpk_rpc_endpoint(rpc), why);
			failed++;
		} else {
			dpk_wallet_address_format(contract, addr);
			fprintf(out, "%s: rpc_url %s: chain %llu, DPK registry %s (interface %u)\n", prog,
			    dpk_rpc_endpoint(rpc), (unsigned long long)chain_id, addr, DPK_REGISTRY_INTERFACE_VERSION);
		}
		dpk_rpc_free(rpc);
	}
	return failed;
}
