#include "base/buf.h"
#include "base/err.h"

#include <stdlib.h>
#include <string.h>

void
dpk_buf_init(struct dpk_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
dpk_buf_free(struct dpk_buf *b)
{
	if (b->data != NULL) {
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
dpk_buf_reset(struct dpk_buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	b->len = 0;
}

/* Make room for n more bytes plus a spare byte for dpk_buf_cstr(). */
static int
buf_grow(struct dpk_buf *b, size_t n)
{
	size_t need, ncap;
	uint8_t *nd;

	if (n > b->max || b->len > b->max - n)
		return DPK_ERR_TOOBIG;
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap < 64 ? 64 : b->cap;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	/* Not realloc: the old block may hold secrets and must be wiped. */
	if ((nd = malloc(ncap)) == NULL)
		return DPK_ERR_NOMEM;
	if (b->data != NULL) {
		memcpy(nd, b->data, b->len);
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	b->data = nd;
	b->cap = ncap;
	return 0;
}

int
dpk_buf_put(struct dpk_buf *b, const void *p, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	if ((r = buf_grow(b, n)) != 0)
		return r;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int
dpk_buf_put_u8(struct dpk_buf *b, uint8_t v)
{
	return dpk_buf_put(b, &v, 1);
}

int
dpk_buf_reserve(struct dpk_buf *b, size_t n, uint8_t **out)
{
	int r;

	if ((r = buf_grow(b, n)) != 0)
		return r;
	memset(b->data + b->len, 0, n);
	*out = b->data + b->len;
	b->len += n;
	return 0;
}

int
dpk_buf_insert(struct dpk_buf *b, size_t off, const void *p, size_t n)
{
	int r;

	if (off > b->len)
		return DPK_ERR_INVALID;
	if (n == 0)
		return 0;
	if ((r = buf_grow(b, n)) != 0)
		return r;
	memmove(b->data + off + n, b->data + off, b->len - off);
	memcpy(b->data + off, p, n);
	b->len += n;
	return 0;
}

int
dpk_buf_cstr(struct dpk_buf *b)
{
	int r;

	if (b->data == NULL && (r = buf_grow(b, 0)) != 0)
		return r;
	b->data[b->len] = '\0'; /* buf_grow always leaves one spare byte */
	return 0;
}

void
dpk_cursor_init(struct dpk_cursor *c, const void *p, size_t len)
{
	c->p = p;
	c->len = len;
}

int
dpk_cursor_take(struct dpk_cursor *c, size_t n, const uint8_t **out)
{
	if (n > c->len)
		return DPK_ERR_TRUNCATED;
	*out = c->p;
	c->p += n;
	c->len -= n;
	return 0;
}

int
dpk_cursor_get_u8(struct dpk_cursor *c, uint8_t *v)
{
	const uint8_t *p;
	int r;

	if ((r = dpk_cursor_take(c, 1, &p)) != 0)
		return r;
	*v = p[0];
	return 0;
}

static int
cursor_get_be(struct dpk_cursor *c, size_t n, uint64_t *v)
{
	const uint8_t *p;
	uint64_t x = 0;
	int r;

	if ((r = dpk_cursor_take(c, n, &p)) != 0)
		return r;
	for (size_t i = 0; i < n; i++)
		x = (x << 8) | p[i];
	*v = x;
	return 0;
}

int
dpk_cursor_get_be16(struct dpk_cursor *c, uint16_t *v)
{
	uint64_t x;
	int r = cursor_get_be(c, 2, &x);

	if (r == 0)
		*v = (uint16_t)x;
	return r;
}

int
dpk_cursor_get_be32(struct dpk_cursor *c, uint32_t *v)
{
	uint64_t x;
	int r = cursor_get_be(c, 4, &x);

	if (r == 0)
		*v = (uint32_t)x;
	return r;
}

int
dpk_cursor_get_be64(struct dpk_cursor *c, uint64_t *v)
{
	return cursor_get_be(c, 8, v);
}

int
dpk_cursor_done(const struct dpk_cursor *c)
{
	return c->len == 0 ? 0 : DPK_ERR_TRAILING;
}
