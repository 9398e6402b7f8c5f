#include "base/hex.h"
#include "base/err.h"

#include <stdint.h>
#include <string.h>

/* a digit's value + 1; 0 for anything else. A table, not comparisons: the
 * agent decodes tens of kilobytes of hex per proven read (eth_getProof) */
static const uint8_t hex_table[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

static int
hex_val(char c)
{
	return (int)hex_table[(uint8_t)c] - 1;
}

int
dpk_hex_encode(const void *p, size_t n, int with_0x, char *out, size_t outsz)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = p;
	size_t pre = with_0x ? 2 : 0;

	if (n > (SIZE_MAX - 3) / 2 || outsz < pre + 2 * n + 1)
		return DPK_ERR_TOOBIG;
	if (with_0x) {
		out[0] = '0';
		out[1] = 'x';
	}
	for (size_t i = 0; i < n; i++) {
		out[pre + 2 * i] = digits[b[i] >> 4];
		out[pre + 2 * i + 1] = digits[b[i] & 0xf];
	}
	out[pre + 2 * n] = '\0';
	return 0;
}

int
dpk_hex_decode(const char *s, size_t slen, uint8_t *out, size_t outmax, size_t *outlen)
{
	if (slen >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		slen -= 2;
	}
	if (slen % 2 != 0)
		return DPK_ERR_SYNTAX;
	if (slen / 2 > outmax)
		return DPK_ERR_TOOBIG;
	for (size_t i = 0; i < slen / 2; i++) {
		int hi = hex_val(s[2 * i]), lo = hex_val(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return DPK_ERR_SYNTAX;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*outlen = slen / 2;
	return 0;
}

int
dpk_hex_decode_exact(const char *s, uint8_t *out, size_t n)
{
	size_t got;
	int r;

	if ((r = dpk_hex_decode(s, strlen(s), out, n, &got)) != 0)
		return r;
	return got == n ? 0 : DPK_ERR_TRUNCATED;
}

int
dpk_hex_quantity_u64(const char *s, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (s == NULL || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || s[2] == '\0')
		return DPK_ERR_SYNTAX;
	for (i = 2; s[i] != '\0'; i++) {
		int d = hex_val(s[i]);

		if (d < 0)
			return DPK_ERR_SYNTAX;
		if (x >> 60)
			return DPK_ERR_RANGE;
		x = (x << 4) | (uint64_t)d;
	}
	*v = x;
	return 0;
}

void
dpk_hex_from_u64(uint64_t v, char out[19])
{
	static const char digits[] = "0123456789abcdef";
	char tmp[16];
	size_t n = 0;

	do {
		tmp[n++] = digits[v & 0xf];
		v >>= 4;
	} while (v != 0);
	out[0] = '0';
	out[1] = 'x';
	for (size_t i = 0; i < n; i++)
		out[2 + i] = tmp[n - 1 - i];
	out[2 + n] = '\0';
}
