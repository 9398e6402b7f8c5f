#include "eth/u256.h"
#include "base/err.h"
#include "base/hex.h"

#include <string.h>

void
dpk_u256_from_u64(struct dpk_u256 *x, uint64_t v)
{
	memset(x->be, 0, 32);
	for (int i = 0; i < 8; i++)
		x->be[31 - i] = (uint8_t)(v >> (8 * i));
}

int
dpk_u256_to_u64(const struct dpk_u256 *x, uint64_t *v)
{
	uint64_t r = 0;

	for (int i = 0; i < 24; i++)
		if (x->be[i] != 0)
			return DPK_ERR_RANGE;
	for (int i = 24; i < 32; i++)
		r = (r << 8) | x->be[i];
	*v = r;
	return 0;
}

int
dpk_u256_is_zero(const struct dpk_u256 *x)
{
	return dpk_u256_bytelen(x) == 0;
}

int
dpk_u256_cmp(const struct dpk_u256 *a, const struct dpk_u256 *b)
{
	int c = memcmp(a->be, b->be, 32);

	return (c > 0) - (c < 0);
}

int
dpk_u256_add(struct dpk_u256 *r, const struct dpk_u256 *a, const struct dpk_u256 *b)
{
	struct dpk_u256 t;
	unsigned carry = 0;

	for (int i = 31; i >= 0; i--) {
		unsigned s = (unsigned)a->be[i] + b->be[i] + carry;

		t.be[i] = (uint8_t)s;
		carry = s >> 8;
	}
	if (carry)
		return DPK_ERR_RANGE;
	*r = t;
	return 0;
}

int
dpk_u256_sub(struct dpk_u256 *r, const struct dpk_u256 *a, const struct dpk_u256 *b)
{
	struct dpk_u256 t;
	int borrow = 0;

	if (dpk_u256_cmp(a, b) < 0)
		return DPK_ERR_RANGE;
	for (int i = 31; i >= 0; i--) {
		int d = (int)a->be[i] - b->be[i] - borrow;

		borrow = d < 0;
		t.be[i] = (uint8_t)(d + (borrow ? 256 : 0));
	}
	*r = t;
	return 0;
}

int
dpk_u256_mul_u64(struct dpk_u256 *r, const struct dpk_u256 *a, uint64_t m)
{
	struct dpk_u256 t;
	unsigned __int128 carry = 0;

	for (int i = 31; i >= 0; i--) {
		unsigned __int128 p = (unsigned __int128)a->be[i] * m + carry;

		t.be[i] = (uint8_t)p;
		carry = p >> 8;
	}
	if (carry != 0)
		return DPK_ERR_RANGE;
	*r = t;
	return 0;
}

size_t
dpk_u256_bytelen(const struct dpk_u256 *x)
{
	size_t i = 0;

	while (i < 32 && x->be[i] == 0)
		i++;
	return 32 - i;
}

int
dpk_u256_from_be(struct dpk_u256 *x, const uint8_t *p, size_t n)
{
	if (n > 32)
		return DPK_ERR_RANGE;
	memset(x->be, 0, 32 - n);
	if (n > 0)
		memcpy(x->be + 32 - n, p, n);
	return 0;
}

int
dpk_u256_from_quantity(struct dpk_u256 *x, const char *s)
{
	char padded[65];
	size_t n, got;

	if (s == NULL || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return DPK_ERR_SYNTAX;
	s += 2;
	n = strlen(s);
	if (n == 0)
		return DPK_ERR_SYNTAX;
	if (n > 64)
		return DPK_ERR_RANGE;
	memset(padded, '0', 64 - n);
	memcpy(padded + 64 - n, s, n);
	return dpk_hex_decode(padded, 64, x->be, 32, &got);
}

void
dpk_u256_to_quantity(const struct dpk_u256 *x, char out[67])
{
	char full[65];
	size_t i = 0;

	dpk_hex_encode(x->be, 32, 0, full, sizeof(full));
	while (i < 63 && full[i] == '0')
		i++;
	out[0] = '0';
	out[1] = 'x';
	memcpy(out + 2, full + i, 65 - i); /* includes the NUL */
}

int
dpk_u256_from_dec(struct dpk_u256 *x, const char *s)
{
	struct dpk_u256 t, d;

	if (s == NULL || *s == '\0')
		return DPK_ERR_SYNTAX;
	dpk_u256_from_u64(&t, 0);
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return DPK_ERR_SYNTAX;
		dpk_u256_from_u64(&d, (uint64_t)(*s - '0'));
		if (dpk_u256_mul_u64(&t, &t, 10) != 0 || dpk_u256_add(&t, &t, &d) != 0)
			return DPK_ERR_RANGE;
	}
	*x = t;
	return 0;
}

void
dpk_u256_to_dec(const struct dpk_u256 *x, char out[79])
{
	struct dpk_u256 t = *x;
	char tmp[79];
	size_t n = 0;

	/* Repeated division by 10, most significant byte first. */
	do {
		unsigned rem = 0;

		for (int i = 0; i < 32; i++) {
			unsigned cur = (rem << 8) | t.be[i];

			t.be[i] = (uint8_t)(cur / 10);
			rem = cur % 10;
		}
		tmp[n++] = (char)('0' + rem);
	} while (!dpk_u256_is_zero(&t));
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
}
