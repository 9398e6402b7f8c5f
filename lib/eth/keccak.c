#include "eth/keccak.h"

#include <string.h>

void
dpk_keccak_init(struct dpk_keccak *k)
{
	memset(k, 0, sizeof(*k));
}

static void
keccak_absorb(struct dpk_keccak *k)
{
	for (size_t i = 0; i < DPK_KECCAK256_RATE / 8; i++) {
		uint64_t lane = 0;

		for (size_t j = 0; j < 8; j++)
			lane |= (uint64_t)k->block[8 * i + j] << (8 * j);
		k->st.a[i] ^= lane;
	}
	sha3_permute(&k->st);
	k->fill = 0;
}

void
dpk_keccak_update(struct dpk_keccak *k, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		size_t take = DPK_KECCAK256_RATE - k->fill;

		if (take > n)
			take = n;
		memcpy(k->block + k->fill, b, take);
		k->fill += take;
		b += take;
		n -= take;
		if (k->fill == DPK_KECCAK256_RATE)
			keccak_absorb(k);
	}
}

void
dpk_keccak_final(struct dpk_keccak *k, uint8_t out[32])
{
	memset(k->block + k->fill, 0, DPK_KECCAK256_RATE - k->fill);
	k->block[k->fill] ^= 0x01;
	k->block[DPK_KECCAK256_RATE - 1] ^= 0x80;
	keccak_absorb(k);
	for (size_t i = 0; i < 32; i++)
		out[i] = (uint8_t)(k->st.a[i / 8] >> (8 * (i % 8)));
	explicit_bzero(k, sizeof(*k));
}

void
dpk_keccak256(const void *p, size_t n, uint8_t out[32])
{
	struct dpk_keccak k;

	dpk_keccak_init(&k);
	dpk_keccak_update(&k, p, n);
	dpk_keccak_final(&k, out);
}
