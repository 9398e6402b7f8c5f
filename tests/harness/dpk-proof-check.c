/* dpk-proof-check: lib/eth/header + lib/eth/proof on the command line, so a
 * shell test can compare our verifier with another implementation.
 *
 * Reads {"block": <eth_getBlockByNumber result>, "proof": <eth_getProof
 * result>} on stdin; checks the header hashes to its "hash", then every proof
 * against its stateRoot, and prints what is proven:
 *   account <address> 0                                   (no account)
 *   account <address> 1 <nonce> <balance> <storageRoot> <codeHash>
 *   slot <key> <32-byte word>
 * Exit 0 if everything verifies, 1 (reason on stderr) otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/hex.h"
#include "eth/header.h"
#include "eth/proof.h"

static void
put_hex(const uint8_t *p, size_t n)
{
	char s[2 * 32 + 3];

	dpk_hex_encode(p, n, 1, s, sizeof(s));
	fputs(s, stdout);
}

int
main(void)
{
	static uint8_t in[4 << 20];
	static struct dpk_proof pr;
	uint8_t slots[DPK_PROOF_MAX_SLOTS][32], words[DPK_PROOF_MAX_SLOTS][32];
	struct dpk_mpt_account a;
	struct dpk_header h;
	cJSON *doc;
	size_t n;
	int r;

	n = fread(in, 1, sizeof(in) - 1, stdin);
	if ((doc = cJSON_ParseWithLength((const char *)in, n)) == NULL) {
		fputs("dpk-proof-check: input is not JSON\n", stderr);
		return 1;
	}
	if ((r = dpk_header_from_json(cJSON_GetObjectItem(doc, "block"), NULL, &h)) != 0) {
		fprintf(stderr, "dpk-proof-check: header: %s\n", dpk_strerror(r));
		return 1;
	}
	if ((r = dpk_proof_from_json(cJSON_GetObjectItem(doc, "proof"), &pr)) != 0) {
		fprintf(stderr, "dpk-proof-check: proof: %s\n", dpk_strerror(r));
		return 1;
	}
	for (size_t i = 0; i < pr.nslots; i++)
		memcpy(slots[i], pr.slots[i].key, 32);
	if ((r = dpk_proof_verify(&pr, h.state_root, pr.address, (const uint8_t (*)[32])slots, pr.nslots,
	    &a, words)) != 0) {
		fprintf(stderr, "dpk-proof-check: block %llu: %s\n", (unsigned long long)h.number, dpk_strerror(r));
		return 1;
	}
	fputs("account ", stdout);
	put_hex(pr.address, 20);
	if (!a.exists) {
		fputs(" 0\n", stdout);
	} else {
		char dec[79];

		dpk_u256_to_dec(&a.balance, dec);
		printf(" 1 %llu %s ", (unsigned long long)a.nonce, dec);
		put_hex(a.storage_root, 32);
		fputc(' ', stdout);
		put_hex(a.code_hash, 32);
		fputc('\n', stdout);
	}
	for (size_t i = 0; i < pr.nslots; i++) {
		fputs("slot ", stdout);
		put_hex(slots[i], 32);
		fputc(' ', stdout);
		put_hex(words[i], 32);
		fputc('\n', stdout);
	}
	dpk_proof_free(&pr);
	cJSON_Delete(doc);
	return 0;
}
