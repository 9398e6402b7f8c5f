/* Solidity contract ABI: type parser, encoder, bounded decoder, selectors,
 * events and revert data. See abi.h for the contract of each function.
 *
 * Recursion everywhere follows the parsed type, never the data, so its depth
 * is bounded by DPK_ABI_MAX_DEPTH; what the data can grow (number of values,
 * bytes copied) is charged against DPK_ABI_MAX_NODES / DPK_ABI_MAX_ALLOC. */
#include "eth/abi.h"
#include "base/err.h"
#include "base/hex.h"
#include "eth/keccak.h"
#include "eth/wallet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum tkind {
	T_UINT = 1,
	T_INT,
	T_ADDRESS,
	T_BOOL,
	T_FBYTES,
	T_BYTES,
	T_STRING,
	T_ARRAY,  /* T[] */
	T_FARRAY, /* T[k] */
	T_TUPLE,
};

struct dpk_abi_type {
	enum tkind kind;
	unsigned bits;                 /* T_UINT, T_INT */
	size_t n;                      /* T_FBYTES: N; T_FARRAY: k; T_TUPLE: fields */
	struct dpk_abi_type *elem;     /* T_ARRAY, T_FARRAY */
	struct dpk_abi_type **fields;  /* T_TUPLE */
	uint8_t *indexed;              /* event parameter lists only: one flag per field */
	int dynamic;
	size_t head;                   /* bytes taken in the enclosing head: 32 if dynamic */
};

/* ------------------------------------------------------------------ */
/* constructors */

struct dpk_abi_value
dpk_abi_uint64(uint64_t v)
{
	struct dpk_abi_value x;

	memset(&x, 0, sizeof(x));
	x.kind = DPK_ABI_UINT;
	dpk_u256_from_u64(&x.u.num, v);
	return x;
}

struct dpk_abi_value
dpk_abi_uint256(const struct dpk_u256 *v)
{
	struct dpk_abi_value x;

	memset(&x, 0, sizeof(x));
	x.kind = DPK_ABI_UINT;
	x.u.num = *v;
	return x;
}

struct dpk_abi_value
dpk_abi_int64(int64_t v)
{
	struct dpk_abi_value x;

	memset(&x, 0, sizeof(x));
	x.kind = DPK_ABI_INT;
	dpk_u256_from_u64(&x.u.num, (uint64_t)v);
	if (v < 0)
		memset(x.u.num.be, 0xff, 24);
	return x;
}

struct dpk_abi_value
dpk_abi_int256(const struct dpk_u256 *v)
{
	struct dpk_abi_value x;

	memset(&x, 0, sizeof(x));
	x.kind = DPK_ABI_INT;
	x.u.num = *v;
	return x;
}

struct dpk_abi_value
dpk_abi_address(const uint8_t addr[20])
{
	struct dpk_abi_value x;

	memset(&x, 0, sizeof(x));
	x.kind = DPK_ABI_ADDRESS;
	memcpy(x.u.addr, addr, 20);
	return x;
}

struct dpk_abi_value
dpk_abi_bool(int b)
{
	struct dpk_abi_value x;

	memset(&x, 0, sizeof(x));
	x.kind = DPK_ABI_BOOL;
	x.u.boolean = b != 0;
	return x;
}

static struct dpk_abi_value
mk_bytes(enum dpk_abi_kind kind, const void *p, size_t n)
{
	struct dpk_abi_value x;

	memset(&x, 0, sizeof(x));
	x.kind = kind;
	x.u.bytes.p = p;
	x.u.bytes.len = n;
	return x;
}

struct dpk_abi_value
dpk_abi_fixed_bytes(const void *p, size_t n)
{
	return mk_bytes(DPK_ABI_FIXED_BYTES, p, n);
}

struct dpk_abi_value
dpk_abi_bytes(const void *p, size_t n)
{
	return mk_bytes(DPK_ABI_BYTES, p, n);
}

struct dpk_abi_value
dpk_abi_string(const char *s)
{
	return mk_bytes(DPK_ABI_STRING, s, strlen(s));
}

struct dpk_abi_value
dpk_abi_string_n(const char *s, size_t n)
{
	return mk_bytes(DPK_ABI_STRING, s, n);
}

static struct dpk_abi_value
mk_list(enum dpk_abi_kind kind, const struct dpk_abi_value *items, size_t n)
{
	struct dpk_abi_value x;

	memset(&x, 0, sizeof(x));
	x.kind = kind;
	x.u.list.v = items;
	x.u.list.n = n;
	return x;
}

struct dpk_abi_value
dpk_abi_array(const struct dpk_abi_value *items, size_t n)
{
	return mk_list(DPK_ABI_ARRAY, items, n);
}

struct dpk_abi_value
dpk_abi_tuple(const struct dpk_abi_value *items, size_t n)
{
	return mk_list(DPK_ABI_TUPLE, items, n);
}

/* ------------------------------------------------------------------ */
/* type parser */

struct parser {
	const char *s;
	size_t len;
	size_t pos;
	size_t nodes;
};

void
dpk_abi_type_free(struct dpk_abi_type *t)
{
	if (t == NULL)
		return;
	dpk_abi_type_free(t->elem);
	if (t->fields != NULL) {
		for (size_t i = 0; i < t->n; i++)
			dpk_abi_type_free(t->fields[i]);
		free(t->fields);
	}
	free(t->indexed);
	free(t);
}

static int
new_type(struct parser *p, enum tkind kind, struct dpk_abi_type **out)
{
	struct dpk_abi_type *t;

	if (++p->nodes > DPK_ABI_MAX_TYPE_NODES)
		return DPK_ERR_TOOBIG;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return DPK_ERR_NOMEM;
	t->kind = kind;
	t->head = 32;
	t->dynamic = kind == T_BYTES || kind == T_STRING || kind == T_ARRAY;
	*out = t;
	return 0;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_ident(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' || c == '$';
}

/* A decimal number without leading zeros (so the canonical text is unique),
 * at most max. DPK_ERR_SYNTAX if absent or with a leading zero,
 * DPK_ERR_TOOBIG above max. */
static int
parse_num(struct parser *p, size_t max, size_t *v)
{
	size_t start = p->pos, x = 0;

	while (p->pos < p->len && is_digit(p->s[p->pos])) {
		if (x > max)
			return DPK_ERR_TOOBIG;
		x = x * 10 + (size_t)(p->s[p->pos] - '0');
		p->pos++;
	}
	if (p->pos == start || (p->s[start] == '0' && p->pos - start > 1))
		return DPK_ERR_SYNTAX;
	if (x > max)
		return DPK_ERR_TOOBIG;
	*v = x;
	return 0;
}

/* Does the word at p->pos (of length wlen) start with prefix? */
static int
word_is(const char *w, size_t wlen, const char *name)
{
	return strlen(name) == wlen && memcmp(w, name, wlen) == 0;
}

static int
word_prefix(const char *w, size_t wlen, const char *prefix)
{
	size_t n = strlen(prefix);

	return wlen >= n && memcmp(w, prefix, n) == 0;
}

static int
parse_elementary(struct parser *p, struct dpk_abi_type **out)
{
	const char *w = p->s + p->pos;
	size_t wlen = 0, num;
	int r;

	while (p->pos + wlen < p->len && ((w[wlen] >= 'a' && w[wlen] <= 'z') || is_digit(w[wlen])))
		wlen++;
	if (wlen == 0)
		return DPK_ERR_SYNTAX;
	if (word_is(w, wlen, "address"))
		r = new_type(p, T_ADDRESS, out);
	else if (word_is(w, wlen, "bool"))
		r = new_type(p, T_BOOL, out);
	else if (word_is(w, wlen, "string"))
		r = new_type(p, T_STRING, out);
	else if (word_is(w, wlen, "bytes"))
		r = new_type(p, T_BYTES, out);
	else if (word_is(w, wlen, "uint") || word_is(w, wlen, "int")) {
		if ((r = new_type(p, w[0] == 'u' ? T_UINT : T_INT, out)) == 0)
			(*out)->bits = 256;
	} else if (word_prefix(w, wlen, "fixed") || word_prefix(w, wlen, "ufixed") ||
	    word_is(w, wlen, "function"))
		return DPK_ERR_UNSUPPORTED;
	else if (word_prefix(w, wlen, "uint") || word_prefix(w, wlen, "int") ||
	    word_prefix(w, wlen, "bytes")) {
		size_t plen = w[0] == 'u' ? 4 : w[0] == 'i' ? 3 : 5;
		struct parser q = {w, wlen, plen, 0};

		if ((r = parse_num(&q, 256, &num)) != 0)
			return r == DPK_ERR_TOOBIG ? DPK_ERR_SYNTAX : r;
		if (q.pos != wlen)
			return DPK_ERR_SYNTAX;
		if (w[0] == 'b') {
			if (num < 1 || num > 32)
				return DPK_ERR_SYNTAX;
			if ((r = new_type(p, T_FBYTES, out)) == 0)
				(*out)->n = num;
		} else {
			if (num < 8 || num > 256 || num % 8 != 0)
				return DPK_ERR_SYNTAX;
			if ((r = new_type(p, w[0] == 'u' ? T_UINT : T_INT, out)) == 0)
				(*out)->bits = (unsigned)num;
		}
	} else
		return DPK_ERR_SYNTAX;
	p->pos += wlen;
	return r;
}

static int parse_type(struct parser *p, size_t depth, int top, struct dpk_abi_type **out);

/* "(T1,...,Tn)" at p->pos. With indexed, each field may be followed by
 * " indexed" (an event parameter list). */
static int
parse_tuple(struct parser *p, size_t depth, int allow_empty, int indexed, struct dpk_abi_type **out)
{
	struct dpk_abi_type *t = NULL, **fields;
	size_t cap = 0;
	int r;

	*out = NULL;
	if (depth > DPK_ABI_MAX_DEPTH)
		return DPK_ERR_DEPTH;
	if (p->pos >= p->len || p->s[p->pos] != '(')
		return DPK_ERR_SYNTAX;
	p->pos++;
	if ((r = new_type(p, T_TUPLE, &t)) != 0)
		return r;
	if (p->pos < p->len && p->s[p->pos] == ')') {
		p->pos++;
		r = allow_empty ? 0 : DPK_ERR_UNSUPPORTED;
		goto out;
	}
	for (;;) {
		struct dpk_abi_type *f = NULL;

		if (t->n == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			uint8_t *ix;

			if ((fields = realloc(t->fields, ncap * sizeof(*fields))) == NULL) {
				r = DPK_ERR_NOMEM;
				goto out;
			}
			t->fields = fields;
			if (indexed) {
				if ((ix = realloc(t->indexed, ncap)) == NULL) {
					r = DPK_ERR_NOMEM;
					goto out;
				}
				t->indexed = ix;
			}
			cap = ncap;
		}
		if ((r = parse_type(p, depth + 1, 0, &f)) != 0)
			goto out;
		t->fields[t->n++] = f;
		if (indexed) {
			static const char kw[] = " indexed";

			t->indexed[t->n - 1] = 0;
			if (p->len - p->pos >= sizeof(kw) - 1 && memcmp(p->s + p->pos, kw, sizeof(kw) - 1) == 0) {
				t->indexed[t->n - 1] = 1;
				p->pos += sizeof(kw) - 1;
			}
		}
		if (p->pos >= p->len) {
			r = DPK_ERR_SYNTAX;
			goto out;
		}
		if (p->s[p->pos] == ')') {
			p->pos++;
			break;
		}
		if (p->s[p->pos] != ',') {
			r = DPK_ERR_SYNTAX;
			goto out;
		}
		p->pos++;
	}
	t->head = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (t->fields[i]->dynamic)
			t->dynamic = 1;
		t->head += t->fields[i]->head; /* each <= DPK_ABI_MAX_STATIC, n <= node cap */
	}
	if (t->dynamic)
		t->head = 32;
	else if (t->head > DPK_ABI_MAX_STATIC)
		r = DPK_ERR_TOOBIG;
out:
	if (r != 0)
		dpk_abi_type_free(t);
	else
		*out = t;
	return r;
}

static int
parse_type(struct parser *p, size_t depth, int top, struct dpk_abi_type **out)
{
	struct dpk_abi_type *t = NULL, *a;
	int r;

	*out = NULL;
	if (depth > DPK_ABI_MAX_DEPTH)
		return DPK_ERR_DEPTH;
	if (p->pos < p->len && p->s[p->pos] == '(') {
		/* "()" only as a whole argument list: see abi.h */
		int whole = top && p->len - p->pos == 2 && p->s[p->pos + 1] == ')';

		r = parse_tuple(p, depth, whole, 0, &t);
	} else
		r = parse_elementary(p, &t);
	if (r != 0)
		return r;
	while (p->pos < p->len && p->s[p->pos] == '[') {
		size_t k = 0;

		if (++depth > DPK_ABI_MAX_DEPTH) {
			r = DPK_ERR_DEPTH;
			goto out;
		}
		p->pos++;
		if (p->pos < p->len && p->s[p->pos] == ']') {
			r = new_type(p, T_ARRAY, &a);
		} else {
			if ((r = parse_num(p, DPK_ABI_MAX_FIXED_ARRAY, &k)) != 0)
				goto out;
			if (k == 0) {
				r = DPK_ERR_UNSUPPORTED;
				goto out;
			}
			r = new_type(p, T_FARRAY, &a);
		}
		if (r != 0)
			goto out;
		a->elem = t;
		t = a;
		if (p->pos >= p->len || p->s[p->pos] != ']') {
			r = DPK_ERR_SYNTAX;
			goto out;
		}
		p->pos++;
		if (t->kind == T_FARRAY) {
			t->n = k;
			t->dynamic = t->elem->dynamic;
			if (!t->dynamic) {
				if (t->elem->head > DPK_ABI_MAX_STATIC / k) {
					r = DPK_ERR_TOOBIG;
					goto out;
				}
				t->head = k * t->elem->head;
			}
		}
	}
out:
	if (r != 0)
		dpk_abi_type_free(t);
	else
		*out = t;
	return r;
}

static int
check_text(const char *s, size_t len)
{
	if (len > DPK_ABI_MAX_SIG)
		return DPK_ERR_TOOBIG;
	if (memchr(s, '\0', len) != NULL)
		return DPK_ERR_SYNTAX;
	return 0;
}

int
dpk_abi_type_parse(const char *s, size_t len, struct dpk_abi_type **out)
{
	struct parser p = {s, len, 0, 0};
	struct dpk_abi_type *t = NULL;
	int r;

	if (out == NULL)
		return DPK_ERR_INVALID;
	*out = NULL;
	if (s == NULL)
		return DPK_ERR_INVALID;
	if ((r = check_text(s, len)) != 0)
		return r;
	if ((r = parse_type(&p, 1, 1, &t)) != 0)
		return r;
	if (p.pos != len) {
		dpk_abi_type_free(t);
		return DPK_ERR_SYNTAX;
	}
	*out = t;
	return 0;
}

/* "Name(T1,...)" -> the name's length and the argument tuple. */
static int
parse_signature(const char *sig, int indexed, size_t *namelen, struct dpk_abi_type **out)
{
	struct parser p;
	size_t len, n = 0;
	int r;

	*out = NULL;
	if (sig == NULL)
		return DPK_ERR_INVALID;
	len = strnlen(sig, DPK_ABI_MAX_SIG + 1);
	if ((r = check_text(sig, len)) != 0)
		return r;
	while (n < len && is_ident(sig[n]))
		n++;
	if (n == 0 || is_digit(sig[0]))
		return DPK_ERR_SYNTAX;
	p = (struct parser){sig, len, n, 0};
	if ((r = parse_tuple(&p, 1, 1, indexed, out)) != 0)
		return r;
	if (p.pos != len) {
		dpk_abi_type_free(*out);
		*out = NULL;
		return DPK_ERR_SYNTAX;
	}
	*namelen = n;
	return 0;
}

static int
put_str(struct dpk_buf *b, const char *s)
{
	return dpk_buf_put(b, s, strlen(s));
}

static int
format_type(const struct dpk_abi_type *t, struct dpk_buf *b)
{
	char num[32];
	int r = 0;

	switch (t->kind) {
	case T_UINT:
	case T_INT:
		snprintf(num, sizeof(num), "%sint%u", t->kind == T_UINT ? "u" : "", t->bits);
		return put_str(b, num);
	case T_ADDRESS:
		return put_str(b, "address");
	case T_BOOL:
		return put_str(b, "bool");
	case T_FBYTES:
		snprintf(num, sizeof(num), "bytes%zu", t->n);
		return put_str(b, num);
	case T_BYTES:
		return put_str(b, "bytes");
	case T_STRING:
		return put_str(b, "string");
	case T_ARRAY:
		if ((r = format_type(t->elem, b)) != 0)
			return r;
		return put_str(b, "[]");
	case T_FARRAY:
		if ((r = format_type(t->elem, b)) != 0)
			return r;
		snprintf(num, sizeof(num), "[%zu]", t->n);
		return put_str(b, num);
	case T_TUPLE:
		if ((r = dpk_buf_put_u8(b, '(')) != 0)
			return r;
		for (size_t i = 0; i < t->n; i++) {
			if (i > 0 && (r = dpk_buf_put_u8(b, ',')) != 0)
				return r;
			if ((r = format_type(t->fields[i], b)) != 0)
				return r;
		}
		return dpk_buf_put_u8(b, ')');
	}
	return DPK_ERR_INVALID;
}

int
dpk_abi_type_format(const struct dpk_abi_type *t, char *out, size_t outsz)
{
	struct dpk_buf b;
	int r;

	if (t == NULL || out == NULL || outsz == 0)
		return DPK_ERR_INVALID;
	dpk_buf_init(&b, outsz - 1);
	if ((r = format_type(t, &b)) == 0) {
		if (b.len > 0)
			memcpy(out, b.data, b.len);
		out[b.len] = '\0';
	}
	dpk_buf_free(&b);
	return r;
}

int
dpk_abi_type_is_dynamic(const struct dpk_abi_type *t)
{
	return t->dynamic;
}

/* keccak256 of "Name" + canonical argument tuple. */
static int
signature_hash(const char *sig, size_t namelen, const struct dpk_abi_type *args, uint8_t out[32])
{
	struct dpk_buf b;
	int r;

	dpk_buf_init(&b, 4 * DPK_ABI_MAX_SIG); /* "uint" grows to "uint256" */
	if ((r = dpk_buf_put(&b, sig, namelen)) == 0 && (r = format_type(args, &b)) == 0)
		dpk_keccak256(b.data, b.len, out);
	dpk_buf_free(&b);
	return r;
}

int
dpk_abi_selector(const char *sig, uint8_t out[4])
{
	struct dpk_abi_type *args = NULL;
	uint8_t h[32];
	size_t namelen = 0;
	int r;

	if ((r = parse_signature(sig, 0, &namelen, &args)) == 0 &&
	    (r = signature_hash(sig, namelen, args, h)) == 0)
		memcpy(out, h, 4);
	dpk_abi_type_free(args);
	return r;
}

int
dpk_abi_event_topic(const char *sig, uint8_t out[32])
{
	struct dpk_abi_type *args = NULL;
	size_t namelen = 0;
	int r;

	if ((r = parse_signature(sig, 1, &namelen, &args)) == 0)
		r = signature_hash(sig, namelen, args, out);
	dpk_abi_type_free(args);
	return r;
}

/* ------------------------------------------------------------------ */
/* value checks shared by encoder and decoder */

/* Is the 256-bit two's complement / unsigned number w representable in the
 * integer type t? signed_value says how w is to be read. */
static int
int_fits(const struct dpk_abi_type *t, const uint8_t w[32], int signed_value)
{
	size_t top = 32 - t->bits / 8; /* bytes above the type's width */
	int neg = signed_value && (w[0] & 0x80);

	if (t->kind == T_UINT) {
		if (neg)
			return 0;
		for (size_t i = 0; i < top; i++)
			if (w[i] != 0)
				return 0;
		return 1;
	}
	/* int<N>: everything above bit N-1 repeats the sign bit */
	if (!signed_value && (w[0] & 0x80))
		return 0;
	{
		uint8_t fill = (w[top] & 0x80) ? 0xff : 0x00;

		for (size_t i = 0; i < top; i++)
			if (w[i] != fill)
				return 0;
	}
	return 1;
}

/* A decoded word of a static elementary type. */
static int
check_word(const struct dpk_abi_type *t, const uint8_t w[32])
{
	switch (t->kind) {
	case T_UINT:
		return int_fits(t, w, 0) ? 0 : DPK_ERR_RANGE;
	case T_INT:
		return int_fits(t, w, 1) ? 0 : DPK_ERR_RANGE;
	case T_ADDRESS:
		for (size_t i = 0; i < 12; i++)
			if (w[i] != 0)
				return DPK_ERR_RANGE;
		return 0;
	case T_BOOL:
		for (size_t i = 0; i < 31; i++)
			if (w[i] != 0)
				return DPK_ERR_RANGE;
		return w[31] <= 1 ? 0 : DPK_ERR_RANGE;
	case T_FBYTES:
		for (size_t i = t->n; i < 32; i++)
			if (w[i] != 0)
				return DPK_ERR_NONCANONICAL;
		return 0;
	default:
		return DPK_ERR_INVALID;
	}
}

/* ------------------------------------------------------------------ */
/* encoder */

static const struct dpk_abi_type *
seq_type(const struct dpk_abi_type *t, size_t i)
{
	return t->kind == T_TUPLE ? t->fields[i] : t->elem;
}

static int encode_value(const struct dpk_abi_type *t, const struct dpk_abi_value *v, struct dpk_buf *b);

static int
put_word_u64(uint8_t *w, uint64_t x)
{
	memset(w, 0, 24);
	for (int i = 0; i < 8; i++)
		w[31 - i] = (uint8_t)(x >> (8 * i));
	return 0;
}

/* enc((v_1, ..., v_n)): heads in order, then the tails of the dynamic ones,
 * each head of a dynamic item holding its tail's offset from the start. */
static int
encode_seq(const struct dpk_abi_type *t, const struct dpk_abi_value *items, size_t n, struct dpk_buf *b)
{
	size_t base = b->len, head = 0;
	uint8_t *slot;
	int r;

	for (size_t i = 0; i < n; i++) {
		const struct dpk_abi_type *ti = seq_type(t, i);

		if (ti->dynamic)
			r = dpk_buf_reserve(b, 32, &slot);
		else
			r = encode_value(ti, &items[i], b);
		if (r != 0)
			return r;
	}
	for (size_t i = 0; i < n; i++) {
		const struct dpk_abi_type *ti = seq_type(t, i);

		if (ti->dynamic) {
			put_word_u64(b->data + base + head, (uint64_t)(b->len - base));
			if ((r = encode_value(ti, &items[i], b)) != 0)
				return r;
		}
		head += ti->head;
	}
	return 0;
}

static int
encode_value(const struct dpk_abi_type *t, const struct dpk_abi_value *v, struct dpk_buf *b)
{
	uint8_t *w;
	int r;

	switch (t->kind) {
	case T_UINT:
	case T_INT:
		if (v->kind != DPK_ABI_UINT && v->kind != DPK_ABI_INT)
			return DPK_ERR_TYPE;
		if (!int_fits(t, v->u.num.be, v->kind == DPK_ABI_INT))
			return DPK_ERR_RANGE;
		return dpk_buf_put(b, v->u.num.be, 32);
	case T_ADDRESS:
		if (v->kind != DPK_ABI_ADDRESS)
			return DPK_ERR_TYPE;
		if ((r = dpk_buf_reserve(b, 32, &w)) == 0)
			memcpy(w + 12, v->u.addr, 20);
		return r;
	case T_BOOL:
		if (v->kind != DPK_ABI_BOOL)
			return DPK_ERR_TYPE;
		if ((r = dpk_buf_reserve(b, 32, &w)) == 0)
			w[31] = v->u.boolean != 0;
		return r;
	case T_FBYTES:
		if (v->kind != DPK_ABI_FIXED_BYTES && v->kind != DPK_ABI_BYTES)
			return DPK_ERR_TYPE;
		if (v->u.bytes.len != t->n)
			return DPK_ERR_TYPE;
		if ((r = dpk_buf_reserve(b, 32, &w)) == 0)
			memcpy(w, v->u.bytes.p, t->n);
		return r;
	case T_BYTES:
	case T_STRING: {
		size_t pad;

		if (v->kind != DPK_ABI_BYTES && v->kind != DPK_ABI_STRING)
			return DPK_ERR_TYPE;
		if (v->u.bytes.len > SIZE_MAX - 64)
			return DPK_ERR_TOOBIG;
		pad = (32 - v->u.bytes.len % 32) % 32;
		if ((r = dpk_buf_reserve(b, 32, &w)) != 0)
			return r;
		put_word_u64(w, (uint64_t)v->u.bytes.len);
		if (v->u.bytes.len > 0 && (r = dpk_buf_put(b, v->u.bytes.p, v->u.bytes.len)) != 0)
			return r;
		return dpk_buf_reserve(b, pad, &w);
	}
	case T_ARRAY:
		if (v->kind != DPK_ABI_ARRAY)
			return DPK_ERR_TYPE;
		if ((r = dpk_buf_reserve(b, 32, &w)) != 0)
			return r;
		put_word_u64(w, (uint64_t)v->u.list.n);
		return encode_seq(t, v->u.list.v, v->u.list.n, b);
	case T_FARRAY:
		if (v->kind != DPK_ABI_ARRAY || v->u.list.n != t->n)
			return DPK_ERR_TYPE;
		return encode_seq(t, v->u.list.v, t->n, b);
	case T_TUPLE:
		if (v->kind != DPK_ABI_TUPLE || v->u.list.n != t->n)
			return DPK_ERR_TYPE;
		return encode_seq(t, v->u.list.v, t->n, b);
	}
	return DPK_ERR_INVALID;
}

int
dpk_abi_encode(const struct dpk_abi_type *t, const struct dpk_abi_value *v, struct dpk_buf *out)
{
	if (t == NULL || v == NULL || out == NULL)
		return DPK_ERR_INVALID;
	return encode_value(t, v, out);
}

int
dpk_abi_encode_call(const char *sig, const struct dpk_abi_value *args, size_t nargs,
    struct dpk_buf *out)
{
	struct dpk_abi_type *t = NULL;
	struct dpk_abi_value tuple;
	uint8_t h[32];
	size_t namelen = 0;
	int r;

	if (out == NULL || (args == NULL && nargs > 0))
		return DPK_ERR_INVALID;
	if ((r = parse_signature(sig, 0, &namelen, &t)) != 0)
		goto out;
	if ((r = signature_hash(sig, namelen, t, h)) != 0)
		goto out;
	if ((r = dpk_buf_put(out, h, 4)) != 0)
		goto out;
	tuple = dpk_abi_tuple(args, nargs);
	r = encode_value(t, &tuple, out);
out:
	dpk_abi_type_free(t);
	return r;
}

/* ------------------------------------------------------------------ */
/* decoder */

struct dec {
	const uint8_t *d;
	size_t len;
	unsigned flags;
	size_t nodes;
	size_t alloc;
	size_t end; /* furthest byte read, for DPK_ABI_NO_TRAILING */
};

static int
charge(struct dec *c, size_t nodes, size_t bytes)
{
	if (nodes > DPK_ABI_MAX_NODES - c->nodes)
		return DPK_ERR_TOOBIG;
	c->nodes += nodes;
	/* nodes <= DPK_ABI_MAX_NODES, so the product cannot overflow */
	if (bytes > DPK_ABI_MAX_ALLOC || nodes * sizeof(struct dpk_abi_value) > DPK_ABI_MAX_ALLOC - bytes ||
	    nodes * sizeof(struct dpk_abi_value) + bytes > DPK_ABI_MAX_ALLOC - c->alloc)
		return DPK_ERR_TOOBIG;
	c->alloc += nodes * sizeof(struct dpk_abi_value) + bytes;
	return 0;
}

/* The 32-byte word at pos, or DPK_ERR_TRUNCATED. */
static int
word_at(struct dec *c, size_t pos, const uint8_t **w)
{
	if (pos > c->len || c->len - pos < 32)
		return DPK_ERR_TRUNCATED;
	*w = c->d + pos;
	if (pos + 32 > c->end)
		c->end = pos + 32;
	return 0;
}

/* A length or offset word as a size_t: 0, or 1 when it is larger than max
 * (the callers turn that into their own error). */
static int
word_size(const uint8_t w[32], size_t max, size_t *out)
{
	uint64_t x = 0;

	for (size_t i = 0; i < 24; i++)
		if (w[i] != 0)
			return 1;
	for (size_t i = 24; i < 32; i++)
		x = (x << 8) | w[i];
	if (x > max)
		return 1;
	*out = (size_t)x;
	return 0;
}

static int decode_at(struct dec *c, const struct dpk_abi_type *t, size_t pos, struct dpk_abi_value *out);

/* n items of t (its elements or fields) whose heads start at start; offsets
 * in the heads are relative to start. */
static int
decode_seq(struct dec *c, const struct dpk_abi_type *t, size_t n, size_t start, struct dpk_abi_value *out)
{
	struct dpk_abi_value *items;
	size_t head = 0;
	int r;

	if ((r = charge(c, n, 0)) != 0)
		return r;
	out->kind = t->kind == T_TUPLE ? DPK_ABI_TUPLE : DPK_ABI_ARRAY;
	if (n == 0)
		return 0;
	if ((items = calloc(n, sizeof(*items))) == NULL)
		return DPK_ERR_NOMEM;
	out->u.list.v = items;
	out->u.list.n = n;
	for (size_t i = 0; i < n; i++) {
		const struct dpk_abi_type *ti = seq_type(t, i);
		size_t hpos = start + head; /* head <= len, checked below */

		if (ti->dynamic) {
			const uint8_t *w;
			size_t off;

			if ((r = word_at(c, hpos, &w)) != 0)
				return r;
			if (word_size(w, c->len - start, &off) != 0)
				return DPK_ERR_RANGE;
			r = decode_at(c, ti, start + off, &items[i]);
		} else
			r = decode_at(c, ti, hpos, &items[i]);
		if (r != 0)
			return r;
		if (ti->head > c->len - start - head)
			return DPK_ERR_TRUNCATED;
		head += ti->head;
	}
	return 0;
}

static int
decode_at(struct dec *c, const struct dpk_abi_type *t, size_t pos, struct dpk_abi_value *out)
{
	const uint8_t *w;
	uint8_t *copy;
	size_t n, avail;
	int r;

	switch (t->kind) {
	case T_UINT:
	case T_INT:
	case T_ADDRESS:
	case T_BOOL:
	case T_FBYTES:
		if ((r = word_at(c, pos, &w)) != 0)
			return r;
		if ((r = check_word(t, w)) != 0)
			return r;
		if (t->kind == T_UINT || t->kind == T_INT) {
			out->kind = t->kind == T_UINT ? DPK_ABI_UINT : DPK_ABI_INT;
			memcpy(out->u.num.be, w, 32);
		} else if (t->kind == T_ADDRESS) {
			out->kind = DPK_ABI_ADDRESS;
			memcpy(out->u.addr, w + 12, 20);
		} else if (t->kind == T_BOOL) {
			out->kind = DPK_ABI_BOOL;
			out->u.boolean = w[31];
		} else {
			if ((r = charge(c, 0, t->n + 1)) != 0)
				return r;
			if ((copy = malloc(t->n + 1)) == NULL)
				return DPK_ERR_NOMEM;
			memcpy(copy, w, t->n);
			copy[t->n] = '\0';
			out->kind = DPK_ABI_FIXED_BYTES;
			out->u.bytes.p = copy;
			out->u.bytes.len = t->n;
		}
		return 0;
	case T_BYTES:
	case T_STRING:
		if ((r = word_at(c, pos, &w)) != 0)
			return r;
		avail = c->len - pos - 32;
		if (word_size(w, avail, &n) != 0)
			return DPK_ERR_TRUNCATED;
		{
			size_t pad = 0;

			if (c->flags & DPK_ABI_STRICT) {
				pad = (32 - n % 32) % 32;
				if (pad > avail - n)
					return DPK_ERR_TRUNCATED;
				for (size_t i = 0; i < pad; i++)
					if (c->d[pos + 32 + n + i] != 0)
						return DPK_ERR_NONCANONICAL;
			}
			if (pos + 32 + n + pad > c->end)
				c->end = pos + 32 + n + pad;
		}
		if ((r = charge(c, 0, n + 1)) != 0)
			return r;
		if ((copy = malloc(n + 1)) == NULL)
			return DPK_ERR_NOMEM;
		if (n > 0)
			memcpy(copy, c->d + pos + 32, n);
		copy[n] = '\0';
		out->kind = t->kind == T_BYTES ? DPK_ABI_BYTES : DPK_ABI_STRING;
		out->u.bytes.p = copy;
		out->u.bytes.len = n;
		return 0;
	case T_ARRAY:
		if ((r = word_at(c, pos, &w)) != 0)
			return r;
		/* every element takes at least one word of head: "()" elements are refused by the parser */
		avail = (c->len - pos - 32) / 32;
		if (word_size(w, avail, &n) != 0)
			return DPK_ERR_TRUNCATED;
		return decode_seq(c, t, n, pos + 32, out);
	case T_FARRAY:
	case T_TUPLE:
		if (pos > c->len)
			return DPK_ERR_TRUNCATED;
		return decode_seq(c, t, t->n, pos, out);
	}
	return DPK_ERR_INVALID;
}

static void
value_free_inner(struct dpk_abi_value *v)
{
	switch (v->kind) {
	case DPK_ABI_FIXED_BYTES:
	case DPK_ABI_BYTES:
	case DPK_ABI_STRING:
		free((void *)v->u.bytes.p);
		break;
	case DPK_ABI_ARRAY:
	case DPK_ABI_TUPLE: {
		struct dpk_abi_value *items = (struct dpk_abi_value *)v->u.list.v;

		for (size_t i = 0; i < v->u.list.n; i++)
			value_free_inner(&items[i]);
		free(items);
		break;
	}
	default:
		break;
	}
	memset(v, 0, sizeof(*v));
}

void
dpk_abi_value_free(struct dpk_abi_value *v)
{
	if (v == NULL)
		return;
	value_free_inner(v);
	free(v);
}

static int
decode_root(const struct dpk_abi_type *t, const uint8_t *data, size_t len, unsigned flags,
    struct dpk_abi_value **out)
{
	struct dec c = {data, len, flags, 0, 0, 0};
	struct dpk_abi_value *v;
	int r;

	if ((r = charge(&c, 1, 0)) != 0)
		return r;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return DPK_ERR_NOMEM;
	r = decode_at(&c, t, 0, v);
	if (r == 0 && (flags & DPK_ABI_NO_TRAILING) && c.end < len)
		r = DPK_ERR_TRAILING;
	if (r != 0) {
		dpk_abi_value_free(v);
		return r;
	}
	*out = v;
	return 0;
}

int
dpk_abi_decode(const struct dpk_abi_type *t, const uint8_t *data, size_t len, unsigned flags,
    struct dpk_abi_value **out)
{
	if (out == NULL)
		return DPK_ERR_INVALID;
	*out = NULL;
	if (t == NULL || (data == NULL && len > 0))
		return DPK_ERR_INVALID;
	if (data == NULL)
		data = (const uint8_t *)"";
	return decode_root(t, data, len, flags, out);
}

int
dpk_abi_decode_text(const char *type, const uint8_t *data, size_t len, unsigned flags,
    struct dpk_abi_value **out)
{
	struct dpk_abi_type *t = NULL;
	int r;

	if (out == NULL)
		return DPK_ERR_INVALID;
	*out = NULL;
	if (type == NULL)
		return DPK_ERR_INVALID;
	if ((r = dpk_abi_type_parse(type, strnlen(type, DPK_ABI_MAX_SIG + 1), &t)) != 0)
		return r;
	r = dpk_abi_decode(t, data, len, flags, out);
	dpk_abi_type_free(t);
	return r;
}

const struct dpk_abi_value *
dpk_abi_value_at(const struct dpk_abi_value *v, size_t i)
{
	if (v == NULL || (v->kind != DPK_ABI_ARRAY && v->kind != DPK_ABI_TUPLE) || i >= v->u.list.n)
		return NULL;
	return &v->u.list.v[i];
}

int
dpk_abi_value_u64(const struct dpk_abi_value *v, uint64_t *out)
{
	if (v == NULL || out == NULL)
		return DPK_ERR_INVALID;
	if (v->kind != DPK_ABI_UINT && v->kind != DPK_ABI_INT)
		return DPK_ERR_TYPE;
	return dpk_u256_to_u64(&v->u.num, out);
}

/* ------------------------------------------------------------------ */
/* events */

static int
is_value_type(const struct dpk_abi_type *t)
{
	return t->kind == T_UINT || t->kind == T_INT || t->kind == T_ADDRESS || t->kind == T_BOOL ||
	    t->kind == T_FBYTES;
}

int
dpk_abi_decode_event(const char *sig, const uint8_t (*topics)[32], size_t ntopics,
    const uint8_t *data, size_t len, unsigned flags, struct dpk_abi_value **out)
{
	struct dpk_abi_type *args = NULL, plain;
	struct dpk_abi_type **pf = NULL;
	struct dpk_abi_value *dv = NULL, *res = NULL, *items = NULL;
	uint8_t topic0[32];
	size_t namelen = 0, nidx = 0, np = 0, ti = 1, di = 0;
	int r;

	if (out == NULL)
		return DPK_ERR_INVALID;
	*out = NULL;
	if ((topics == NULL && ntopics > 0) || (data == NULL && len > 0))
		return DPK_ERR_INVALID;
	if ((r = parse_signature(sig, 1, &namelen, &args)) != 0)
		goto out;
	if ((r = signature_hash(sig, namelen, args, topic0)) != 0)
		goto out;
	if (ntopics < 1 || memcmp(topics[0], topic0, 32) != 0) {
		r = DPK_ERR_NOTFOUND;
		goto out;
	}
	for (size_t i = 0; i < args->n; i++)
		nidx += args->indexed[i];
	if (nidx > 3) {
		r = DPK_ERR_INVALID;
		goto out;
	}
	if (ntopics != 1 + nidx) {
		r = DPK_ERR_TYPE;
		goto out;
	}
	/* the data is the tuple of the non-indexed parameters */
	if (args->n > 0 && (pf = calloc(args->n, sizeof(*pf))) == NULL) {
		r = DPK_ERR_NOMEM;
		goto out;
	}
	memset(&plain, 0, sizeof(plain));
	plain.kind = T_TUPLE;
	for (size_t i = 0; i < args->n; i++) {
		if (!args->indexed[i]) {
			pf[np++] = args->fields[i];
			if (args->fields[i]->dynamic)
				plain.dynamic = 1;
		}
	}
	plain.n = np;
	plain.fields = pf;
	if ((r = decode_root(&plain, data != NULL ? data : (const uint8_t *)"", len, flags, &dv)) != 0)
		goto out;
	if ((res = calloc(1, sizeof(*res))) == NULL) {
		r = DPK_ERR_NOMEM;
		goto out;
	}
	res->kind = DPK_ABI_TUPLE;
	if (args->n > 0) {
		if ((items = calloc(args->n, sizeof(*items))) == NULL) {
			r = DPK_ERR_NOMEM;
			goto out;
		}
		res->u.list.v = items;
		res->u.list.n = args->n;
	}
	for (size_t i = 0; i < args->n; i++) {
		const struct dpk_abi_type *f = args->fields[i];

		if (!args->indexed[i]) {
			/* move the item out of the data tuple */
			items[i] = dv->u.list.v[di];
			memset((void *)&dv->u.list.v[di], 0, sizeof(items[i]));
			di++;
		} else if (is_value_type(f)) {
			struct dec c = {topics[ti], 32, 0, 0, 0, 0};

			if ((r = decode_at(&c, f, 0, &items[i])) != 0)
				goto out;
			ti++;
		} else {
			uint8_t *h = malloc(33);

			if (h == NULL) {
				r = DPK_ERR_NOMEM;
				goto out;
			}
			memcpy(h, topics[ti++], 32);
			h[32] = '\0';
			items[i].kind = DPK_ABI_FIXED_BYTES;
			items[i].u.bytes.p = h;
			items[i].u.bytes.len = 32;
		}
	}
	*out = res;
	res = NULL;
	r = 0;
out:
	dpk_abi_value_free(res);
	dpk_abi_value_free(dv);
	free(pf);
	dpk_abi_type_free(args);
	return r;
}

/* ------------------------------------------------------------------ */
/* text */

/* Bytes as text a terminal shows literally: printable ASCII as is, '\\' (and
 * '"' when quoting) escaped, every other byte as \xNN, so a hostile contract
 * cannot smuggle escape sequences or fake line breaks onto the screen. */
static int
put_escaped(struct dpk_buf *b, const uint8_t *p, size_t n, int quote)
{
	static const char hexd[] = "0123456789abcdef";
	int r;

	for (size_t i = 0; i < n; i++) {
		uint8_t ch = p[i];

		if (ch == '\\' || (quote && ch == '"')) {
			char e[2] = {'\\', (char)ch};

			r = dpk_buf_put(b, e, 2);
		} else if (ch >= 0x20 && ch < 0x7f)
			r = dpk_buf_put_u8(b, ch);
		else {
			char e[4] = {'\\', 'x', hexd[ch >> 4], hexd[ch & 15]};

			r = dpk_buf_put(b, e, 4);
		}
		if (r != 0)
			return r;
	}
	return 0;
}

static int
put_hex(struct dpk_buf *b, const uint8_t *p, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	int r;

	if ((r = put_str(b, "0x")) != 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		char e[2] = {hexd[p[i] >> 4], hexd[p[i] & 15]};

		if ((r = dpk_buf_put(b, e, 2)) != 0)
			return r;
	}
	return 0;
}

static int
format_value(const struct dpk_abi_value *v, struct dpk_buf *b, size_t depth)
{
	char dec[80];
	int r = 0;

	if (depth > DPK_ABI_MAX_DEPTH + 1)
		return DPK_ERR_DEPTH;
	switch (v->kind) {
	case DPK_ABI_UINT:
		dpk_u256_to_dec(&v->u.num, dec);
		return put_str(b, dec);
	case DPK_ABI_INT:
		if (v->u.num.be[0] & 0x80) {
			struct dpk_u256 m;
			unsigned carry = 1;

			/* magnitude = ~x + 1 (2^255 for the most negative value) */
			for (int i = 31; i >= 0; i--) {
				unsigned s = (unsigned)(uint8_t)~v->u.num.be[i] + carry;

				m.be[i] = (uint8_t)s;
				carry = s >> 8;
			}
			dec[0] = '-';
			dpk_u256_to_dec(&m, dec + 1);
		} else
			dpk_u256_to_dec(&v->u.num, dec);
		return put_str(b, dec);
	case DPK_ABI_ADDRESS: {
		char a[43];

		dpk_wallet_address_format(v->u.addr, a);
		return put_str(b, a);
	}
	case DPK_ABI_BOOL:
		return put_str(b, v->u.boolean ? "true" : "false");
	case DPK_ABI_FIXED_BYTES:
	case DPK_ABI_BYTES:
		return put_hex(b, v->u.bytes.p, v->u.bytes.len);
	case DPK_ABI_STRING:
		if ((r = dpk_buf_put_u8(b, '"')) != 0 ||
		    (r = put_escaped(b, v->u.bytes.p, v->u.bytes.len, 1)) != 0)
			return r;
		return dpk_buf_put_u8(b, '"');
	case DPK_ABI_ARRAY:
	case DPK_ABI_TUPLE:
		if ((r = dpk_buf_put_u8(b, v->kind == DPK_ABI_ARRAY ? '[' : '(')) != 0)
			return r;
		for (size_t i = 0; i < v->u.list.n; i++) {
			if (i > 0 && (r = put_str(b, ", ")) != 0)
				return r;
			if ((r = format_value(&v->u.list.v[i], b, depth + 1)) != 0)
				return r;
		}
		return dpk_buf_put_u8(b, v->kind == DPK_ABI_ARRAY ? ']' : ')');
	}
	return DPK_ERR_INVALID;
}

int
dpk_abi_value_format(const struct dpk_abi_value *v, struct dpk_buf *out)
{
	if (v == NULL || out == NULL)
		return DPK_ERR_INVALID;
	return format_value(v, out, 0);
}

/* Panic codes, from the Solidity documentation ("Panic via assert and Error
 * via require", docs/control-structures.rst). */
static const char *
panic_text(uint64_t code)
{
	switch (code) {
	case 0x00: return "generic compiler panic";
	case 0x01: return "assertion failed";
	case 0x11: return "arithmetic overflow";
	case 0x12: return "division or modulo by zero";
	case 0x21: return "invalid enum value";
	case 0x22: return "invalid storage byte array encoding";
	case 0x31: return "pop on empty array";
	case 0x32: return "array index out of bounds";
	case 0x41: return "out of memory";
	case 0x51: return "call to zero-initialized internal function";
	default: return "unknown panic code";
	}
}

/* Copy the text in b into out, cut with "..." when it does not fit (or when
 * building it stopped at the cap: cut != 0). */
static void
emit(const struct dpk_buf *b, int cut, char *out, size_t outsz)
{
	size_t n = b->len;

	if (!cut && n < outsz) {
		if (n > 0)
			memcpy(out, b->data, n);
		out[n] = '\0';
		return;
	}
	if (outsz <= 4) {
		memset(out, '.', outsz - 1);
		out[outsz - 1] = '\0';
		return;
	}
	n = n < outsz - 4 ? n : outsz - 4;
	if (n > 0)
		memcpy(out, b->data, n);
	memcpy(out + n, "...", 4);
}

int
dpk_abi_decode_revert(const uint8_t *data, size_t len, const char *const *custom, size_t ncustom,
    char *out, size_t outsz)
{
	static const uint8_t sel_error[4] = {0x08, 0xc3, 0x79, 0xa0}; /* Error(string) */
	static const uint8_t sel_panic[4] = {0x4e, 0x48, 0x7b, 0x71}; /* Panic(uint256) */
	struct dpk_abi_type *args = NULL;
	struct dpk_abi_value *v = NULL;
	struct dpk_buf b;
	char line[160];
	int r = 0, fr = 0;

	if (out == NULL || outsz == 0)
		return DPK_ERR_INVALID;
	out[0] = '\0';
	if (data == NULL && len > 0)
		return DPK_ERR_INVALID;
	/* one byte over the room in out tells us the text was cut */
	dpk_buf_init(&b, outsz);
	if (len == 0) {
		fr = put_str(&b, "reverted without a reason");
		goto done;
	}
	if (len < 4) {
		snprintf(line, sizeof(line), "malformed revert data (%zu bytes)", len);
		fr = put_str(&b, line);
		r = DPK_ERR_TRUNCATED;
		goto done;
	}
	if (memcmp(data, sel_error, 4) == 0) {
		if ((r = dpk_abi_decode_text("(string)", data + 4, len - 4, 0, &v)) == 0) {
			/* "(string)" decoded: v is a tuple of exactly one string */
			fr = put_escaped(&b, v->u.list.v[0].u.bytes.p, v->u.list.v[0].u.bytes.len, 0);
			goto done;
		}
		snprintf(line, sizeof(line), "malformed Error(string): %s (%zu bytes)", dpk_strerror(r), len);
		fr = put_str(&b, line);
		goto done;
	}
	if (memcmp(data, sel_panic, 4) == 0) {
		uint64_t code;

		if ((r = dpk_abi_decode_text("(uint256)", data + 4, len - 4, 0, &v)) != 0) {
			snprintf(line, sizeof(line), "malformed Panic(uint256): %s (%zu bytes)", dpk_strerror(r), len);
		} else if (dpk_abi_value_u64(&v->u.list.v[0], &code) == 0) {
			snprintf(line, sizeof(line), "panic 0x%02llx (%s)", (unsigned long long)code, panic_text(code));
		} else {
			char q[67];

			dpk_u256_to_quantity(&v->u.list.v[0].u.num, q);
			snprintf(line, sizeof(line), "panic %s (%s)", q, panic_text(UINT64_MAX));
		}
		fr = put_str(&b, line);
		goto done;
	}
	for (size_t i = 0; i < ncustom; i++) {
		uint8_t sel[4];
		size_t namelen = 0;

		if (custom == NULL || (r = parse_signature(custom[i], 0, &namelen, &args)) != 0) {
			r = DPK_ERR_INVALID;
			fr = put_str(&b, "invalid custom error signature");
			goto done;
		}
		{
			uint8_t h[32];

			if ((r = signature_hash(custom[i], namelen, args, h)) != 0)
				goto done;
			memcpy(sel, h, 4);
		}
		if (memcmp(sel, data, 4) != 0) {
			dpk_abi_type_free(args);
			args = NULL;
			continue;
		}
		if ((r = dpk_abi_decode(args, data + 4, len - 4, 0, &v)) != 0) {
			if ((fr = put_str(&b, "malformed ")) == 0 && (fr = dpk_buf_put(&b, custom[i], namelen)) == 0) {
				snprintf(line, sizeof(line), ": %s (%zu bytes)", dpk_strerror(r), len);
				fr = put_str(&b, line);
			}
			goto done;
		}
		if ((fr = dpk_buf_put(&b, custom[i], namelen)) == 0)
			fr = dpk_abi_value_format(v, &b);
		goto done;
	}
	snprintf(line, sizeof(line), "unknown error 0x%02x%02x%02x%02x (%zu bytes)", data[0], data[1], data[2],
	    data[3], len);
	fr = put_str(&b, line);
	r = DPK_ERR_NOTFOUND;
done:
	if (fr == DPK_ERR_NOMEM && r == 0)
		r = DPK_ERR_NOMEM;
	emit(&b, fr != 0, out, outsz);
	dpk_buf_free(&b);
	dpk_abi_value_free(v);
	dpk_abi_type_free(args);
	return r;
}
