/* libFuzzer target for the JSON side of verified reads: an eth_getProof
 * answer (lib/eth/proof.c) and a block object (lib/eth/header.c), both
 * untrusted JSON from an endpoint. Input: a JSON document {"block": ...,
 * "proof": ...}. Invariants: whatever decodes verifies or is refused without
 * a crash; a header rebuilt from JSON decodes again from its own RLP to the
 * same hash. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "eth/header.h"
#include "eth/proof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dpk_proof p;
	static uint8_t slots[DPK_PROOF_MAX_SLOTS][32], words[DPK_PROOF_MAX_SLOTS][32];
	struct dpk_mpt_account a;
	struct dpk_header h, h2;
	struct dpk_buf rlp;
	cJSON *doc;
	int have_header;

	if (size > 1 << 20 || (doc = cJSON_ParseWithLength((const char *)data, size)) == NULL)
		return 0;
	dpk_buf_init(&rlp, DPK_HEADER_MAX_LEN);
	have_header = dpk_header_from_json(cJSON_GetObjectItem(doc, "block"), &rlp, &h) == 0;
	if (have_header) {
		if (dpk_header_decode(rlp.data, rlp.len, &h2) != 0 || memcmp(h.hash, h2.hash, 32) != 0)
			abort();
	}
	if (dpk_proof_from_json(cJSON_GetObjectItem(doc, "proof"), &p) == 0) {
		static const uint8_t zero[32];

		for (size_t i = 0; i < p.nslots; i++)
			memcpy(slots[i], p.slots[i].key, 32);
		(void)dpk_proof_verify(&p, have_header ? h.state_root : zero, p.address,
		    (const uint8_t (*)[32])slots, p.nslots, &a, words);
		dpk_proof_free(&p);
	}
	dpk_buf_free(&rlp);
	cJSON_Delete(doc);
	return 0;
}
