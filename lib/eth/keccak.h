/* Keccak-256 as Ethereum uses it: the original Keccak padding (0x01), not the
 * FIPS 202 SHA3-256 padding (0x06). The permutation is nettle's. */
#ifndef DPK_KECCAK_H
#define DPK_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#include <nettle/sha3.h>

#define DPK_KECCAK256_RATE 136

struct dpk_keccak {
	struct sha3_state st;
	uint8_t block[DPK_KECCAK256_RATE];
	size_t fill;
};

void dpk_keccak_init(struct dpk_keccak *k);
void dpk_keccak_update(struct dpk_keccak *k, const void *p, size_t n);
/* Write the digest and wipe the context. */
void dpk_keccak_final(struct dpk_keccak *k, uint8_t out[32]);

/* One-shot Keccak-256 of n bytes. */
void dpk_keccak256(const void *p, size_t n, uint8_t out[32]);

#endif
