/* libFuzzer target for the RLP decoder. Anything it accepts must be in the
 * unique canonical form, so re-encoding the decoded tree must give back the
 * input byte for byte; a difference aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "eth/rlp.h"
#include "eth/u256.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Depth is bounded by the decode call below (DPK_RLP_MAX_DEPTH). */
static void
reencode(struct dpk_buf *b, const struct dpk_rlp_item *it)
{
	struct dpk_cursor c;
	struct dpk_rlp_item sub;
	struct dpk_u256 u;
	uint64_t v;
	size_t mark;

	if (!it->is_list) {
		/* the getters must agree with each other on every string */
		int r64 = dpk_rlp_get_u64(it, &v), r256 = dpk_rlp_get_u256(it, &u);

		if (r64 == 0 && (r256 != 0 || dpk_u256_to_u64(&u, &v) != 0))
			abort();
		if (dpk_rlp_put_bytes(b, it->p, it->len) != 0)
			abort();
		return;
	}
	if (dpk_rlp_list_begin(b, &mark) != 0)
		abort();
	dpk_cursor_init(&c, it->p, it->len);
	while (c.len > 0) {
		if (dpk_rlp_next(&c, &sub) != 0)
			abort(); /* dpk_rlp_decode validated every nested item */
		reencode(b, &sub);
	}
	if (dpk_rlp_list_end(b, mark) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpk_rlp_item it;
	struct dpk_cursor c;
	struct dpk_buf b;

	/* the item-by-item reader must stop cleanly wherever the input ends */
	dpk_cursor_init(&c, data, size);
	while (dpk_rlp_next(&c, &it) == 0)
		if (it.len > size)
			abort();

	if (dpk_rlp_decode(data, size, DPK_RLP_MAX_DEPTH, &it) != 0)
		return 0;
	dpk_buf_init(&b, size);
	reencode(&b, &it);
	if (b.len != size || (size > 0 && memcmp(b.data, data, size) != 0))
		abort();
	dpk_buf_free(&b);
	return 0;
}
