/* Ethereum RLP (Yellow Paper appendix B).
 *
 * The decoder is the strict one: every item must be in the unique canonical
 * form, because transaction hashes and signatures are computed over the exact
 * bytes, and a lenient decoder would let two different byte strings decode to
 * the same transaction. Validation of nested lists is iterative with a fixed
 * array of list ends, so untrusted depth costs no stack. */
#include "eth/rlp.h"
#include "base/err.h"

#include <string.h>

/* Prefix offsets for the two item kinds. */
#define RLP_STRING 0x80
#define RLP_LIST 0xc0
/* Payloads shorter than this carry their length in the prefix byte. */
#define RLP_SHORT_MAX 55

/* Header for a payload of n bytes: base + n, or base + 55 + k followed by the
 * k-byte big-endian length. Writes at most 9 bytes into h; returns the count. */
static size_t
rlp_header(uint8_t base, size_t n, uint8_t h[9])
{
	uint8_t be[sizeof(size_t)];
	size_t k = 0;

	if (n <= RLP_SHORT_MAX) {
		h[0] = (uint8_t)(base + n);
		return 1;
	}
	for (size_t v = n; v != 0; v >>= 8)
		be[sizeof(be) - 1 - k++] = (uint8_t)v;
	h[0] = (uint8_t)(base + RLP_SHORT_MAX + k);
	memcpy(h + 1, be + sizeof(be) - k, k);
	return 1 + k;
}

int
dpk_rlp_put_bytes(struct dpk_buf *b, const void *p, size_t n)
{
	uint8_t h[9];
	size_t hl, saved = b->len;
	int r;

	/* A single byte below 0x80 is its own encoding. */
	if (n == 1 && ((const uint8_t *)p)[0] < RLP_STRING)
		return dpk_buf_put(b, p, 1);
	hl = rlp_header(RLP_STRING, n, h);
	if ((r = dpk_buf_put(b, h, hl)) != 0)
		return r;
	if ((r = dpk_buf_put(b, p, n)) != 0)
		b->len = saved; /* leave b as it was */
	return r;
}

int
dpk_rlp_put_u64(struct dpk_buf *b, uint64_t v)
{
	uint8_t be[8];
	size_t k = 0;

	for (uint64_t x = v; x != 0; x >>= 8)
		be[sizeof(be) - 1 - k++] = (uint8_t)x;
	return dpk_rlp_put_bytes(b, be + sizeof(be) - k, k);
}

int
dpk_rlp_put_u256(struct dpk_buf *b, const struct dpk_u256 *v)
{
	size_t k = dpk_u256_bytelen(v);

	return dpk_rlp_put_bytes(b, v->be + sizeof(v->be) - k, k);
}

int
dpk_rlp_put_raw(struct dpk_buf *b, const void *p, size_t n)
{
	return dpk_buf_put(b, p, n);
}

int
dpk_rlp_list_begin(struct dpk_buf *b, size_t *mark)
{
	*mark = b->len;
	return 0;
}

int
dpk_rlp_list_end(struct dpk_buf *b, size_t mark)
{
	uint8_t h[9];
	size_t hl;

	if (mark > b->len)
		return DPK_ERR_INVALID;
	hl = rlp_header(RLP_LIST, b->len - mark, h);
	return dpk_buf_insert(b, mark, h, hl);
}

int
dpk_rlp_next(struct dpk_cursor *c, struct dpk_rlp_item *item)
{
	struct dpk_cursor t = *c; /* committed to *c only on success */
	const uint8_t *lenp, *payload;
	uint8_t pfx, base;
	uint64_t len = 0;
	size_t ll;
	int r, is_list;

	if ((r = dpk_cursor_get_u8(&t, &pfx)) != 0)
		return r;
	if (pfx < RLP_STRING) {
		item->is_list = 0;
		item->p = c->p;
		item->len = 1;
		*c = t;
		return 0;
	}
	is_list = pfx >= RLP_LIST;
	base = is_list ? RLP_LIST : RLP_STRING;
	if (pfx - base <= RLP_SHORT_MAX) {
		len = (uint64_t)(pfx - base);
	} else {
		ll = (size_t)(pfx - base - RLP_SHORT_MAX); /* 1..8 */
		if ((r = dpk_cursor_take(&t, ll, &lenp)) != 0)
			return r;
		if (lenp[0] == 0)
			return DPK_ERR_NONCANONICAL;
		for (size_t i = 0; i < ll; i++)
			len = (len << 8) | lenp[i];
		if (len <= RLP_SHORT_MAX)
			return DPK_ERR_NONCANONICAL;
#if SIZE_MAX < UINT64_MAX
		if (len > SIZE_MAX)
			return DPK_ERR_TOOBIG;
#endif
	}
	if ((r = dpk_cursor_take(&t, (size_t)len, &payload)) != 0)
		return r;
	if (!is_list && len == 1 && payload[0] < RLP_STRING)
		return DPK_ERR_NONCANONICAL;
	item->is_list = is_list;
	item->p = payload;
	item->len = (size_t)len;
	*c = t;
	return 0;
}

int
dpk_rlp_decode(const uint8_t *in, size_t len, size_t max_depth, struct dpk_rlp_item *item)
{
	const uint8_t *ends[DPK_RLP_DEPTH_LIMIT];
	struct dpk_cursor c, sub;
	struct dpk_rlp_item top, it;
	const uint8_t *pos;
	size_t depth = 0;
	int r;

	if (max_depth > DPK_RLP_DEPTH_LIMIT || (in == NULL && len != 0))
		return DPK_ERR_INVALID;
	dpk_cursor_init(&c, in, len);
	if ((r = dpk_rlp_next(&c, &top)) != 0)
		return r;
	if (top.is_list) {
		if (max_depth == 0)
			return DPK_ERR_DEPTH;
		ends[depth++] = top.p + top.len;
	}
	pos = top.p;
	/* Walk every item in order; each must end inside its enclosing list,
	 * which dpk_rlp_next checks because sub only spans up to that end. */
	while (depth > 0) {
		if (pos == ends[depth - 1]) {
			depth--;
			continue;
		}
		dpk_cursor_init(&sub, pos, (size_t)(ends[depth - 1] - pos));
		if ((r = dpk_rlp_next(&sub, &it)) != 0)
			return r;
		pos = sub.p;
		if (it.is_list) {
			if (depth == max_depth)
				return DPK_ERR_DEPTH;
			ends[depth++] = it.p + it.len;
			pos = it.p;
		}
	}
	if ((r = dpk_cursor_done(&c)) != 0)
		return r;
	*item = top;
	return 0;
}

/* Canonical unsigned integer payload of at most max bytes. */
static int
rlp_uint_payload(const struct dpk_rlp_item *it, size_t max)
{
	if (it->is_list)
		return DPK_ERR_TYPE;
	if (it->len > 0 && it->p[0] == 0)
		return DPK_ERR_NONCANONICAL;
	if (it->len > max)
		return DPK_ERR_RANGE;
	return 0;
}

int
dpk_rlp_get_u64(const struct dpk_rlp_item *it, uint64_t *v)
{
	uint64_t x = 0;
	int r;

	if ((r = rlp_uint_payload(it, sizeof(x))) != 0)
		return r;
	for (size_t i = 0; i < it->len; i++)
		x = (x << 8) | it->p[i];
	*v = x;
	return 0;
}

int
dpk_rlp_get_u256(const struct dpk_rlp_item *it, struct dpk_u256 *v)
{
	int r;

	if ((r = rlp_uint_payload(it, sizeof(v->be))) != 0)
		return r;
	return dpk_u256_from_be(v, it->p, it->len);
}

int
dpk_rlp_get_fixed(const struct dpk_rlp_item *it, uint8_t *out, size_t n)
{
	if (it->is_list)
		return DPK_ERR_TYPE;
	if (it->len != n)
		return DPK_ERR_INVALID;
	memcpy(out, it->p, n);
	return 0;
}
