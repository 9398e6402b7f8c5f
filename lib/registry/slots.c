/* The registry's storage layout, from contracts/README.md. Words are 32
 * bytes big-endian, so "byte i from the low end" of the README's table is
 * w[31 - i] here; field(w, lo, n) reads bytes lo .. lo + n - 1. */
#include "registry/slots.h"
#include "base/err.h"
#include "crypto/idkey.h"
#include "eth/keccak.h"

#include <stdlib.h>
#include <string.h>

/* An unsigned field of n <= 8 bytes starting lo bytes from the low end. */
static uint64_t
field(const uint8_t w[32], size_t lo, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | w[31 - (lo + n - 1 - i)];
	return v;
}

/* The address in the low 20 bytes. */
static void
field_addr(const uint8_t w[32], uint8_t out[20])
{
	memcpy(out, w + 12, 20);
}

void
dpk_slots_add(const uint8_t slot[32], uint64_t k, uint8_t out[32])
{
	unsigned carry = 0;

	for (int i = 31; i >= 0; i--) {
		unsigned s = slot[i] + (unsigned)(k & 0xff) + carry;

		out[i] = (uint8_t)s;
		carry = s >> 8;
		k >>= 8;
	}
}

void
dpk_slots_record_base(const uint8_t id_hash[32], uint8_t base[32])
{
	uint8_t pre[64] = { 0 };

	memcpy(pre, id_hash, 32);
	pre[63] = DPK_SLOTS_RECORDS;
	dpk_keccak256(pre, sizeof(pre), base);
}

void
dpk_slots_key_data(const uint8_t base[32], uint8_t data[32])
{
	uint8_t s3[32];

	dpk_slots_add(base, 3, s3);
	dpk_keccak256(s3, 32, data);
}

size_t
dpk_slots_record_slots(const uint8_t id_hash[32], uint8_t (*slots)[32], size_t max)
{
	uint8_t base[32];

	if (max < DPK_SLOTS_RECORD_FIXED)
		return 0;
	dpk_slots_record_base(id_hash, base);
	for (uint64_t k = 0; k < DPK_SLOTS_RECORD_FIXED; k++)
		dpk_slots_add(base, k, slots[k]);
	return DPK_SLOTS_RECORD_FIXED;
}

int
dpk_slots_key_len(const uint8_t w[32], size_t *key_len, size_t *data_slots)
{
	if (w[31] & 1) {
		uint64_t v;

		/* long form: length * 2 + 1 in the whole word */
		for (size_t i = 0; i < 24; i++)
			if (w[i] != 0)
				return DPK_ERR_TOOBIG;
		v = field(w, 0, 8);
		if ((v - 1) / 2 > DPK_REGISTRY_KEY_MAX)
			return DPK_ERR_TOOBIG;
		*key_len = (size_t)((v - 1) / 2);
		if (*key_len < 32)
			return DPK_ERR_NONCANONICAL; /* solc stores these inline */
		*data_slots = (*key_len + 31) / 32;
		return 0;
	}
	/* short form: the bytes from the high end, length * 2 in the low byte */
	*key_len = w[31] / 2;
	if (*key_len > 31)
		return DPK_ERR_NONCANONICAL;
	for (size_t i = *key_len; i < 31; i++)
		if (w[i] != 0)
			return DPK_ERR_NONCANONICAL;
	*data_slots = 0;
	return 0;
}

int
dpk_slots_data_needed(const uint8_t (*words)[32], size_t *ndata)
{
	size_t klen;

	*ndata = 0;
	if (field(words[0], 21, 1) == DPK_REGISTRY_NONE || (field(words[0], 20, 1) & 0x7f) != DPK_REGISTRY_ALG_RSA)
		return 0;
	return dpk_slots_key_len(words[3], &klen, ndata);
}

static int
is_zero(const uint8_t w[32])
{
	uint8_t acc = 0;

	for (size_t i = 0; i < 32; i++)
		acc |= w[i];
	return acc == 0;
}

int
dpk_slots_decode_record(const uint8_t (*words)[32], size_t nwords, struct dpk_registry_record *rec)
{
	const uint8_t *w0, *w1, *x, *w3;
	size_t klen = 0, ndata = 0;
	uint64_t status, info;
	int r;

	if (rec == NULL)
		return DPK_ERR_INVALID;
	memset(rec, 0, sizeof(*rec));
	if (words == NULL || nwords < DPK_SLOTS_RECORD_FIXED)
		return DPK_ERR_INVALID;
	w0 = words[0];
	w1 = words[1];
	x = words[2];
	w3 = words[3];
	/* base + 0: controller 0..19, keyInfo 20 (algorithm in bits 0..6, y's
	 * parity in bit 7), status 21, validFrom 22..26, validUntil 27..31 */
	status = field(w0, 21, 1);
	if (status == DPK_REGISTRY_NONE)
		return DPK_ERR_NOTFOUND; /* getClient would revert NotFound */
	if (status != DPK_REGISTRY_ACTIVE && status != DPK_REGISTRY_REVOKED)
		return DPK_ERR_RANGE;
	/* base + 1: approver 0..19, serial 20..27, version 28..31 */
	if (field(w1, 20, 8) == 0)
		return DPK_ERR_RANGE;
	info = field(w0, 20, 1);
	switch (info & 0x7f) {
	case DPK_REGISTRY_ALG_P256:
		/* x in base + 2; the RSA slot is zero */
		if (!is_zero(w3))
			return DPK_ERR_NONCANONICAL;
		if ((rec->pubkey = malloc(65)) == NULL)
			return DPK_ERR_NOMEM;
		if ((r = dpk_idkey_p256_decompress(x, (info & 0x80) != 0, rec->pubkey)) != 0) {
			free(rec->pubkey);
			rec->pubkey = NULL;
			return r == DPK_ERR_NOMEM ? r : DPK_ERR_NONCANONICAL;
		}
		rec->publen = 65;
		break;
	case DPK_REGISTRY_ALG_RSA:
		/* the DER in base + 3 (always the long form) and from
		 * keccak256(base + 3) on; x and the parity bit are zero */
		if (!is_zero(x) || (info & 0x80) != 0)
			return DPK_ERR_NONCANONICAL;
		if ((r = dpk_slots_key_len(w3, &klen, &ndata)) != 0)
			return r;
		if (ndata == 0)
			return DPK_ERR_NONCANONICAL;
		if (nwords - DPK_SLOTS_RECORD_FIXED < ndata)
			return DPK_ERR_TRUNCATED;
		if ((rec->pubkey = malloc(klen)) == NULL)
			return DPK_ERR_NOMEM;
		for (size_t i = 0; i < ndata; i++) {
			size_t n = klen - 32 * i < 32 ? klen - 32 * i : 32;

			memcpy(rec->pubkey + 32 * i, words[DPK_SLOTS_RECORD_FIXED + i], n);
		}
		rec->publen = klen;
		break;
	default:
		return DPK_ERR_RANGE;
	}
	field_addr(w0, rec->controller);
	rec->alg = (uint8_t)(info & 0x7f);
	rec->status = (enum dpk_registry_status)status;
	rec->valid_from = field(w0, 22, 5);
	rec->valid_until = field(w0, 27, 5);
	field_addr(w1, rec->approver);
	rec->serial = field(w1, 20, 8);
	rec->version = (uint32_t)field(w1, 28, 4);
	return 0;
}
