/* The approval in force for an identity (approval.h). */
#include "registry/approval.h"

#include "base/err.h"

#include <stdlib.h>
#include <string.h>

/* Position of a log in the chain, for ordering. */
static int
before(const struct dpk_rpc_log *a, const struct dpk_rpc_log *b)
{
	return a->block_number < b->block_number || (a->block_number == b->block_number && a->log_index < b->log_index);
}

static int
cmp_pos(const void *x, const void *y)
{
	const struct dpk_rpc_log *a = *(const struct dpk_rpc_log *const *)x, *b = *(const struct dpk_rpc_log *const *)y;

	return before(a, b) ? -1 : before(b, a) ? 1 : 0;
}

int
dpk_approval_from_logs(const uint8_t contract[20], const uint8_t id_hash[32], const struct dpk_rpc_log *logs,
    size_t n, struct dpk_approval *out)
{
	const struct dpk_rpc_log **order = NULL;
	int have = 0, r = DPK_ERR_NOTFOUND;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (contract == NULL || id_hash == NULL || out == NULL || (logs == NULL && n > 0))
		return DPK_ERR_INVALID;
	if (n > DPK_APPROVAL_MAX_LOGS)
		return DPK_ERR_TOOBIG;
	if (n == 0)
		return DPK_ERR_NOTFOUND;
	if ((order = calloc(n, sizeof(*order))) == NULL)
		return DPK_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!logs[i].has_block) {
			r = DPK_ERR_INVALID;
			goto out;
		}
		order[i] = &logs[i];
	}
	qsort(order, n, sizeof(*order), cmp_pos);
	for (size_t i = 0; i < n; i++) {
		struct dpk_registry_event ev;

		/* two logs at one position: the node's answer is not a chain */
		if (i > 0 && !before(order[i - 1], order[i])) {
			r = DPK_ERR_INVALID;
			goto out;
		}
		if (order[i]->removed)
			continue;
		if ((r = dpk_registry_decode_contract_event(contract, order[i], &ev)) == DPK_ERR_NOTFOUND)
			continue; /* another contract's, or not one of the registry's events */
		if (r != 0)
			goto out; /* a malformed event could be the one that matters: no guess */
		r = DPK_ERR_NOTFOUND;
		if (memcmp(ev.id_hash, id_hash, 32) != 0)
			continue;
		if (ev.kind == DPK_REGISTRY_EV_CLIENT_APPROVED) {
			memcpy(out->approver, ev.addr2, 20);
			memcpy(out->controller, ev.addr, 20);
			out->version = ev.version;
			out->rotations = 0;
			out->block = order[i]->block_number;
			have = 1;
		} else if (ev.kind == DPK_REGISTRY_EV_KEY_ROTATED && have) {
			/* only the controller rotates, one version at a time */
			if (memcmp(ev.addr, out->controller, 20) != 0 ||
			    (uint64_t)ev.version != (uint64_t)out->version + out->rotations + 1) {
				have = 0;
				continue;
			}
			out->rotations++;
		}
	}
	r = have ? 0 : DPK_ERR_NOTFOUND;
out:
	free(order);
	if (r != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

int
dpk_approval_matches(const struct dpk_approval *a, const struct dpk_registry_record *rec)
{
	if (a == NULL || rec == NULL || rec->status != DPK_REGISTRY_ACTIVE || memcmp(a->controller, rec->controller, 20) != 0 ||
	    (uint64_t)a->version + a->rotations != rec->version)
		return DPK_ERR_NOTFOUND;
	return 0;
}

int
dpk_approval_get(struct dpk_rpc *rpc, const uint8_t contract[20], const uint8_t id_hash[32], struct dpk_approval *out)
{
	struct dpk_rpc_filter f = {.address = contract, .from_block = 0, .to_block = DPK_RPC_LATEST};
	struct dpk_rpc_log *logs = NULL;
	size_t n = 0;
	int r;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (rpc == NULL || contract == NULL || id_hash == NULL || out == NULL)
		return DPK_ERR_INVALID;
	/* topic 0 any event, topic 1 the identity: ClientAdded, ClientApproved,
	 * KeyRotated and ClientRevoked all index it there */
	f.topics[0] = NULL;
	f.topics[1] = id_hash;
	f.ntopics = 2;
	if ((r = dpk_rpc_get_logs(rpc, &f, &logs, &n)) != 0)
		return r;
	r = dpk_approval_from_logs(contract, id_hash, logs, n, out);
	dpk_rpc_logs_free(logs, n);
	return r;
}
