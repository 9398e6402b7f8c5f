/* `dpk-agent --check-config`: what each rpc_url says now (chain id, head,
 * the checkpoint block), so an operator sees a wrong chain or checkpoint
 * before the agent refuses every read. Runs before the agent starts: no
 * worker thread, one request after another. */
#include "chain/endpoints_check.h"

#include "base/err.h"
#include "base/hex.h"
#include "chain/chain.h"
#include "daemon/conffile.h"
#include "eth/rpc.h"

#include <string.h>

/* One endpoint's line; 1 when it contradicts the configuration (another
 * chain, or a checkpoint block with another hash), else 0. */
static int
check_one(const struct dpk_config *c, char *url, FILE *out)
{
	struct dpk_rpc *rpc = NULL;
	struct dpk_header h;
	uint64_t id, head;
	char why[256], tag[19], hx[67];
	int bad = 0;

	if (dpk_conffile_rpc_client(&rpc, &url, 1, c->rpc_timeout_ms) != 0) {
		fprintf(out, "rpc_url %s: cannot be used\n", url);
		return 1;
	}
	if (dpk_rpc_chain_id(rpc, &id) != 0) {
		fprintf(out, "rpc_url %s: unreachable now (%s)\n", url, dpk_rpc_last_error(rpc));
		goto out;
	}
	if (dpk_rpc_block_number(rpc, &head) != 0) {
		fprintf(out, "rpc_url %s: chain id %llu, head unknown (%s)\n", url, (unsigned long long)id,
		    dpk_rpc_last_error(rpc));
	} else {
		fprintf(out, "rpc_url %s: chain id %llu, head %llu\n", url, (unsigned long long)id,
		    (unsigned long long)head);
	}
	if (id != c->chain_id) {
		fprintf(out, "rpc_url %s: on chain %llu, not chain_id %llu: the agent will not use it\n", url,
		    (unsigned long long)id, (unsigned long long)c->chain_id);
		bad = 1;
		goto out;
	}
	if (!c->has_checkpoint || !c->verify_reads)
		goto out;
	dpk_hex_from_u64(c->checkpoint_number, tag);
	if (chain_fetch_header(rpc, tag, &h, why, sizeof(why)) != 0) {
		fprintf(out, "rpc_url %s: checkpoint block %llu not checked: %s\n", url,
		    (unsigned long long)c->checkpoint_number, why);
	} else if (memcmp(h.hash, c->checkpoint_hash, 32) != 0) {
		dpk_hex_encode(h.hash, 32, 1, hx, sizeof(hx));
		fprintf(out, "rpc_url %s: block %llu is %s, not the checkpoint's hash: every verified read would be "
		    "refused\n", url, (unsigned long long)c->checkpoint_number, hx);
		bad = 1;
	} else {
		fprintf(out, "rpc_url %s: has the checkpoint block %llu\n", url, (unsigned long long)c->checkpoint_number);
	}
out:
	dpk_rpc_free(rpc);
	return bad;
}

int
agent_check_endpoints(const struct dpk_config *c, FILE *out)
{
	int bad = 0;

	for (size_t i = 0; i < c->n_rpc; i++)
		bad |= check_one(c, c->rpc_url[i], out);
	return bad ? -1 : 0;
}
