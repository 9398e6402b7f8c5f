/* libFuzzer target for the Merkle-Patricia proof verifier and the header
 * decoder. Input: u8 key length, the key, then nodes as u16 (big-endian)
 * length + bytes; the root is the hash of the first node, so mutations reach
 * the walk instead of failing the first hash check. Invariants: a found
 * value lies inside one of the nodes; the answer does not depend on the
 * nodes' order (they are looked up by hash); the whole input given to the
 * header decoder never crashes it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "eth/header.h"
#include "eth/keccak.h"
#include "eth/mpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpk_mpt_node nodes[DPK_MPT_MAX_NODES + 1], rev[DPK_MPT_MAX_NODES + 1];
	struct dpk_header h;
	struct dpk_cursor c;
	const uint8_t *key, *v1, *v2;
	uint8_t klen, root[32];
	size_t n = 0, l1, l2;
	int r1, r2;

	(void)dpk_header_decode(data, size, &h);
	dpk_cursor_init(&c, data, size);
	if (dpk_cursor_get_u8(&c, &klen) != 0 || dpk_cursor_take(&c, klen, &key) != 0)
		return 0;
	while (c.len > 0 && n < DPK_MPT_MAX_NODES + 1) {
		uint16_t len;
		const uint8_t *p;

		if (dpk_cursor_get_be16(&c, &len) != 0 || dpk_cursor_take(&c, len, &p) != 0)
			break;
		nodes[n].p = p;
		nodes[n].len = len;
		n++;
	}
	if (n == 0)
		return 0;
	dpk_keccak256(nodes[0].p, nodes[0].len, root);
	r1 = dpk_mpt_verify(root, key, klen, nodes, n, &v1, &l1);
	for (size_t i = 0; i < n; i++)
		rev[i] = nodes[n - 1 - i];
	r2 = dpk_mpt_verify(root, key, klen, rev, n, &v2, &l2);
	if (r1 != r2)
		abort();
	if (r1 == 0) {
		int inside = v1 == NULL;

		if ((v1 == NULL) != (v2 == NULL) || l1 != l2 || (l1 > 0 && memcmp(v1, v2, l1) != 0))
			abort();
		for (size_t i = 0; v1 != NULL && i < n; i++)
			if (v1 >= nodes[i].p && v1 + l1 <= nodes[i].p + nodes[i].len)
				inside = 1;
		if (!inside)
			abort();
	}
	return 0;
}
