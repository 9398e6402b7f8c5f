/* Ethereum RLP (Yellow Paper appendix B). The encoder appends to a bounded
 * dpk_buf; the decoder reads untrusted bytes through a dpk_cursor, bounded in
 * length and nesting depth, and rejects every non-canonical form. */
#ifndef DPK_RLP_H
#define DPK_RLP_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "eth/u256.h"

#define DPK_RLP_MAX_DEPTH 16
/* Largest max_depth dpk_rlp_decode() accepts (DPK_ERR_INVALID above): it keeps
 * the end of every open list in a fixed array rather than recursing, so a
 * deep input can never exhaust the stack. The outermost list is level 1;
 * max_depth 0 accepts a byte string only. */
#define DPK_RLP_DEPTH_LIMIT 256

/* --- encoding: each returns 0, DPK_ERR_TOOBIG or DPK_ERR_NOMEM --- */

/* A byte string item. */
int dpk_rlp_put_bytes(struct dpk_buf *b, const void *p, size_t n);
/* An unsigned integer as its minimal big-endian byte string (0 -> 0x80). */
int dpk_rlp_put_u64(struct dpk_buf *b, uint64_t v);
int dpk_rlp_put_u256(struct dpk_buf *b, const struct dpk_u256 *v);
/* Bytes that are already a complete RLP item. */
int dpk_rlp_put_raw(struct dpk_buf *b, const void *p, size_t n);
/* Lists: begin records where the payload starts in *mark; end inserts the
 * list header in front of everything appended since. Lists nest. */
int dpk_rlp_list_begin(struct dpk_buf *b, size_t *mark);
int dpk_rlp_list_end(struct dpk_buf *b, size_t mark);

/* --- decoding --- */

struct dpk_rlp_item {
	int is_list;      /* 1 for a list, 0 for a byte string */
	const uint8_t *p; /* payload (the list's encoded items, or the string bytes); points into the input */
	size_t len;       /* payload length */
};

/* Read the next item from c (header checked, payload not descended into).
 * DPK_ERR_TRUNCATED, DPK_ERR_NONCANONICAL (single byte < 0x80 in a 0x81
 * header, long form for a length < 56, length with leading zero bytes),
 * DPK_ERR_TOOBIG (length does not fit size_t). */
int dpk_rlp_next(struct dpk_cursor *c, struct dpk_rlp_item *item);

/* Decode in[0..len) as exactly one item and validate every nested item down to
 * max_depth levels of lists (DPK_ERR_DEPTH beyond). DPK_ERR_TRAILING if bytes
 * follow the item. */
int dpk_rlp_decode(const uint8_t *in, size_t len, size_t max_depth, struct dpk_rlp_item *item);

/* Typed getters. DPK_ERR_TYPE for a list; for integers DPK_ERR_NONCANONICAL on
 * a leading zero byte, DPK_ERR_RANGE if too wide. */
int dpk_rlp_get_u64(const struct dpk_rlp_item *it, uint64_t *v);
int dpk_rlp_get_u256(const struct dpk_rlp_item *it, struct dpk_u256 *v);
/* A string of exactly n bytes (DPK_ERR_TYPE / DPK_ERR_INVALID otherwise). */
int dpk_rlp_get_fixed(const struct dpk_rlp_item *it, uint8_t *out, size_t n);

#endif
