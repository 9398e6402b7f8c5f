/* Unsigned 256-bit integers as 32 big-endian bytes: Ether amounts, fees,
 * ABI uint256. Only the few operations the project needs. */
#ifndef DPK_U256_H
#define DPK_U256_H

#include <stddef.h>
#include <stdint.h>

struct dpk_u256 {
	uint8_t be[32];
};

void dpk_u256_from_u64(struct dpk_u256 *x, uint64_t v);
/* DPK_ERR_RANGE if x does not fit in 64 bits. */
int dpk_u256_to_u64(const struct dpk_u256 *x, uint64_t *v);
int dpk_u256_is_zero(const struct dpk_u256 *x);
/* -1, 0 or 1 as a <, ==, > b. */
int dpk_u256_cmp(const struct dpk_u256 *a, const struct dpk_u256 *b);
/* r = a + b; DPK_ERR_RANGE on overflow (r unchanged). r may alias a or b. */
int dpk_u256_add(struct dpk_u256 *r, const struct dpk_u256 *a, const struct dpk_u256 *b);
/* r = a - b; DPK_ERR_RANGE if b > a. */
int dpk_u256_sub(struct dpk_u256 *r, const struct dpk_u256 *a, const struct dpk_u256 *b);
/* r = a * m; DPK_ERR_RANGE on overflow. */
int dpk_u256_mul_u64(struct dpk_u256 *r, const struct dpk_u256 *a, uint64_t m);
/* Number of significant bytes (0 for zero); the minimal big-endian form is
 * x->be + 32 - dpk_u256_bytelen(x). */
size_t dpk_u256_bytelen(const struct dpk_u256 *x);
/* From up to 32 big-endian bytes. DPK_ERR_RANGE if n > 32. */
int dpk_u256_from_be(struct dpk_u256 *x, const uint8_t *p, size_t n);

/* JSON-RPC quantity "0x..." (1 to 64 hex digits) <-> u256. */
int dpk_u256_from_quantity(struct dpk_u256 *x, const char *s);
void dpk_u256_to_quantity(const struct dpk_u256 *x, char out[67]);
/* Decimal text (digits only, at most 78) <-> u256. */
int dpk_u256_from_dec(struct dpk_u256 *x, const char *s);
void dpk_u256_to_dec(const struct dpk_u256 *x, char out[79]);

#endif
