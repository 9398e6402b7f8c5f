/* Bounded byte buffers. All untrusted bytes are read through a dpk_cursor
 * (every read is length-checked) and all output is built in a dpk_buf, which
 * grows on demand but never beyond the maximum given at init. */
#ifndef DPK_BUF_H
#define DPK_BUF_H

#include <stddef.h>
#include <stdint.h>

struct dpk_buf {
	uint8_t *data; /* owned; NULL until the first write */
	size_t len;    /* bytes written */
	size_t cap;    /* bytes allocated */
	size_t max;    /* hard cap on len; a write past it fails with DPK_ERR_TOOBIG */
};

/* Initialise an empty buffer that may grow to at most max bytes. */
void dpk_buf_init(struct dpk_buf *b, size_t max);
/* Wipe the contents (they may be secret) and free; the buffer is empty after. */
void dpk_buf_free(struct dpk_buf *b);
/* Forget the contents (wiped) but keep the allocation. */
void dpk_buf_reset(struct dpk_buf *b);
/* Append n bytes. 0, DPK_ERR_TOOBIG or DPK_ERR_NOMEM; on error b is unchanged. */
int dpk_buf_put(struct dpk_buf *b, const void *p, size_t n);
int dpk_buf_put_u8(struct dpk_buf *b, uint8_t v);
/* Append n zero bytes and return a pointer to them in *out (valid until the next write). */
int dpk_buf_reserve(struct dpk_buf *b, size_t n, uint8_t **out);
/* Insert n bytes at offset off (<= len), moving the tail up. */
int dpk_buf_insert(struct dpk_buf *b, size_t off, const void *p, size_t n);
/* Append a NUL that is not counted in len, so data can be used as a C string. */
int dpk_buf_cstr(struct dpk_buf *b);

/* A read-only view over untrusted bytes. */
struct dpk_cursor {
	const uint8_t *p;
	size_t len; /* bytes left */
};

void dpk_cursor_init(struct dpk_cursor *c, const void *p, size_t len);
/* Take n bytes: *out points into the input. DPK_ERR_TRUNCATED if fewer are left. */
int dpk_cursor_take(struct dpk_cursor *c, size_t n, const uint8_t **out);
int dpk_cursor_get_u8(struct dpk_cursor *c, uint8_t *v);
int dpk_cursor_get_be16(struct dpk_cursor *c, uint16_t *v);
int dpk_cursor_get_be32(struct dpk_cursor *c, uint32_t *v);
int dpk_cursor_get_be64(struct dpk_cursor *c, uint64_t *v);
/* 0 if every byte was consumed, DPK_ERR_TRAILING otherwise. */
int dpk_cursor_done(const struct dpk_cursor *c);

#endif
