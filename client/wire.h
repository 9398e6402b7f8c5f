/* Field encoding of the agent protocol (doc/protocol.md), header-only and
 * libc-only so both libdpkclient and dpk-agent use the same code. A writer
 * fails once its buffer is full; a reader fails once the body runs out;
 * both remember the failure, so callers may check once at the end. */
#ifndef DPK_WIRE_H
#define DPK_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct dpk_wire_w {
	uint8_t *p;
	size_t cap, len;
	int err; /* set on overflow */
};

struct dpk_wire_r {
	const uint8_t *p;
	size_t len; /* bytes left */
	int err;    /* set on a short read or a bad string */
};

static inline void
dpk_wire_w_init(struct dpk_wire_w *w, void *p, size_t cap)
{
	w->p = p;
	w->cap = cap;
	w->len = 0;
	w->err = 0;
}

static inline void
dpk_wire_put(struct dpk_wire_w *w, const void *p, size_t n)
{
	if (w->err || n > w->cap - w->len) {
		w->err = 1;
		return;
	}
	if (n > 0)
		memcpy(w->p + w->len, p, n);
	w->len += n;
}

static inline void
dpk_wire_put_u8(struct dpk_wire_w *w, uint8_t v)
{
	dpk_wire_put(w, &v, 1);
}

static inline void
dpk_wire_put_u32(struct dpk_wire_w *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	dpk_wire_put(w, b, 4);
}

static inline void
dpk_wire_put_u64(struct dpk_wire_w *w, uint64_t v)
{
	dpk_wire_put_u32(w, (uint32_t)(v >> 32));
	dpk_wire_put_u32(w, (uint32_t)v);
}

static inline void
dpk_wire_put_string(struct dpk_wire_w *w, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		w->err = 1;
		return;
	}
	dpk_wire_put_u32(w, (uint32_t)n);
	dpk_wire_put(w, p, n);
}

static inline void
dpk_wire_r_init(struct dpk_wire_r *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->err = 0;
}

static inline const uint8_t *
dpk_wire_take(struct dpk_wire_r *r, size_t n)
{
	const uint8_t *p;

	if (r->err || n > r->len) {
		r->err = 1;
		return NULL;
	}
	p = r->p;
	r->p += n;
	r->len -= n;
	return p;
}

static inline uint8_t
dpk_wire_get_u8(struct dpk_wire_r *r)
{
	const uint8_t *p = dpk_wire_take(r, 1);

	return p ? p[0] : 0;
}

static inline uint32_t
dpk_wire_get_u32(struct dpk_wire_r *r)
{
	const uint8_t *p = dpk_wire_take(r, 4);

	return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

static inline uint64_t
dpk_wire_get_u64(struct dpk_wire_r *r)
{
	uint64_t hi = dpk_wire_get_u32(r);

	return hi << 32 | dpk_wire_get_u32(r);
}

/* A string field; *n receives its length. NULL (and err set) if truncated. */
static inline const uint8_t *
dpk_wire_get_string(struct dpk_wire_r *r, size_t *n)
{
	uint32_t len = dpk_wire_get_u32(r);
	const uint8_t *p = dpk_wire_take(r, len);

	*n = p ? len : 0;
	return p;
}

/* A text field copied into out as a C string: no NUL inside, must fit. */
static inline int
dpk_wire_get_text(struct dpk_wire_r *r, char *out, size_t outsz)
{
	size_t n;
	const uint8_t *p = dpk_wire_get_string(r, &n);

	if (p == NULL || n >= outsz || memchr(p, '\0', n) != NULL) {
		r->err = 1;
		if (outsz > 0)
			out[0] = '\0';
		return -1;
	}
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* 0 if the body was read exactly and without error. */
static inline int
dpk_wire_r_done(const struct dpk_wire_r *r)
{
	return r->err || r->len != 0 ? -1 : 0;
}

#endif
