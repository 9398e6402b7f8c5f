/* Verified record reads: one eth_getProof for the record's fixed slots and
 * the usual key's data slots, a second only for a longer key; every word
 * proven against the caller's checked stateRoot before it is decoded. */
#include "registry/vread.h"
#include "base/err.h"
#include "base/hex.h"
#include "eth/proof.h"
#include "registry/slots.h"

#include <stdlib.h>
#include <string.h>

#define VREAD_MAX_WORDS (DPK_SLOTS_RECORD_FIXED + DPK_SLOTS_KEY_DATA_MAX)

/* keccak256(""): the code hash of an account without code */
static const uint8_t vread_no_code[32] = {
	0xc5, 0xd2, 0x46, 0x01, 0x86, 0xf7, 0x23, 0x3c, 0x92, 0x7e, 0x7d, 0xb2, 0xdc, 0xc7, 0x03, 0xc0,
	0xe5, 0x00, 0xb6, 0x53, 0xca, 0x82, 0x27, 0x3b, 0x7b, 0xfa, 0xd8, 0x04, 0x5d, 0x85, 0xa4, 0x70,
};

/* Prove slots[0..n) at *at into words. */
static int
vread_words(struct dpk_rpc *rpc, const uint8_t contract[20], const struct dpk_header *at,
    const uint8_t (*slots)[32], size_t n, uint8_t (*words)[32], struct dpk_vread_cost *cost)
{
	struct dpk_proof *p;
	struct dpk_mpt_account acct;
	char block[19];
	int r;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return DPK_ERR_NOMEM;
	dpk_hex_from_u64(at->number, block);
	if ((r = dpk_proof_fetch(rpc, contract, slots, n, block, p)) != 0) {
		free(p);
		return r == DPK_ERR_SYNTAX || r == DPK_ERR_TYPE || r == DPK_ERR_TOOBIG ||
		    r == DPK_ERR_RANGE ? DPK_ERR_PROOF : r;
	}
	cost->requests++;
	cost->proof_bytes += p->wire_bytes;
	r = dpk_proof_verify(p, at->state_root, contract, slots, n, &acct, words);
	if (r == 0 && (!acct.exists || memcmp(acct.code_hash, vread_no_code, 32) == 0))
		r = DPK_ERR_STATE; /* no contract there at that block */
	if (r != 0 && r != DPK_ERR_STATE)
		r = DPK_ERR_PROOF; /* any malformed node is a failed proof too */
	dpk_proof_free(p);
	free(p);
	return r;
}

int
dpk_vread_record(struct dpk_rpc *rpc, const uint8_t contract[20], const struct dpk_header *at,
    const uint8_t id_hash[32], struct dpk_registry_record *rec, struct dpk_vread_cost *cost)
{
	uint8_t (*slots)[32] = NULL, (*words)[32] = NULL;
	struct dpk_vread_cost dummy = { 0, 0 };
	size_t n, ndata;
	int r;

	if (rpc == NULL || contract == NULL || at == NULL || id_hash == NULL || rec == NULL)
		return DPK_ERR_INVALID;
	memset(rec, 0, sizeof(*rec));
	if (cost == NULL)
		cost = &dummy;
	slots = calloc(VREAD_MAX_WORDS, 32);
	words = calloc(VREAD_MAX_WORDS, 32);
	r = DPK_ERR_NOMEM;
	if (slots == NULL || words == NULL)
		goto out;
	n = dpk_slots_record_slots(id_hash, slots, VREAD_MAX_WORDS);
	if ((r = vread_words(rpc, contract, at, (const uint8_t (*)[32])slots, n, words, cost)) != 0)
		goto out;
	/* an RSA key: its data words, in a second request */
	{
		if ((r = dpk_slots_data_needed((const uint8_t (*)[32])words, &ndata)) != 0) {
			/* a proven word the contract never writes: the layout is not the
			 * one this agent knows, or the address is not the registry */
			r = DPK_ERR_STATE;
			goto out;
		}
		if (ndata > 0) {
			uint8_t data[32], base[32];

			dpk_slots_record_base(id_hash, base);
			dpk_slots_key_data(base, data);
			for (size_t i = 0; i < ndata; i++)
				dpk_slots_add(data, i, slots[n + i]);
			if ((r = vread_words(rpc, contract, at, (const uint8_t (*)[32])(slots + n), ndata, words + n,
			    cost)) != 0)
				goto out;
			n += ndata;
		}
	}
	r = dpk_slots_decode_record((const uint8_t (*)[32])words, n, rec);
	if (r != 0 && r != DPK_ERR_NOTFOUND && r != DPK_ERR_NOMEM)
		r = DPK_ERR_STATE;
out:
	free(slots);
	free(words);
	return r;
}
