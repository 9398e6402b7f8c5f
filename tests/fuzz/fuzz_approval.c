/* lib/registry/approval.c over any logs: never a crash, and an approval found is
 * one of the input's ClientApproved events for the identity. Input: a
 * sequence of logs, each u8 flags (bit 0 removed, bit 1 pending, bit 2
 * another contract), u8 block, u8 index, u8 event (0 ClientApproved,
 * 1 KeyRotated, 2 ClientRevoked, else topic0 from the input), u8 identity
 * (0 ours), u8 controller, u8 approver, u8 data length, data. */
#include "eth/abi.h"
#include "registry/approval.h"
#include "base/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t contract[20] = {0xc0};
static const uint8_t id[32] = {0x1d};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const sigs[] = {"ClientApproved(bytes32,address,address,uint8,bytes,uint32)",
	    "KeyRotated(bytes32,address,uint8,bytes,uint32)", "ClientRevoked(bytes32,address,uint32)"};
	struct dpk_rpc_log logs[64];
	struct dpk_approval a;
	size_t n = 0, off = 0;

	memset(logs, 0, sizeof(logs));
	while (n < 64 && size - off >= 8) {
		const uint8_t *h = data + off;
		struct dpk_rpc_log *l = &logs[n++];
		size_t dlen = h[7];

		off += 8;
		if (dlen > size - off)
			dlen = size - off;
		memcpy(l->address, contract, 20);
		if (h[0] & 4)
			l->address[19] = 1;
		l->removed = h[0] & 1;
		l->has_block = !(h[0] & 2);
		l->block_number = h[1];
		l->log_index = h[2];
		if (h[3] < 3)
			dpk_abi_event_topic(sigs[h[3]], l->topics[0]);
		else
			memset(l->topics[0], h[3], 32);
		memcpy(l->topics[1], id, 32);
		l->topics[1][31] = h[4];
		l->topics[2][31] = h[5];
		l->topics[3][31] = h[6];
		l->ntopics = h[3] == 0 ? 4 : 3;
		if (dlen > 0) {
			l->data = malloc(dlen);
			memcpy(l->data, data + off, dlen);
			l->data_len = dlen;
		}
		off += dlen;
	}
	if (dpk_approval_from_logs(contract, id, logs, n, &a) == 0) {
		/* it came from the input: an approver byte that some log carried */
		int seen = 0;

		for (size_t i = 0; i < n; i++)
			if (memcmp(logs[i].topics[3] + 12, a.approver, 20) == 0)
				seen = 1;
		if (!seen)
			abort();
	}
	for (size_t i = 0; i < n; i++)
		free(logs[i].data);
	return 0;
}
