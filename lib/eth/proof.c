/* EIP-1186 answers: bounded decoding, then verification against a checked
 * stateRoot; claims beside the proofs must match what the proofs prove. */
#include "eth/proof.h"
#include "base/err.h"
#include "base/hex.h"

#include <stdlib.h>
#include <string.h>

static const cJSON *
member(const cJSON *o, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(o, name);
}

static int
fixed_member(const cJSON *o, const char *name, uint8_t *out, size_t n)
{
	const char *s = cJSON_GetStringValue(member(o, name));

	if (s == NULL)
		return DPK_ERR_TYPE;
	return dpk_hex_decode_exact(s, out, n);
}

/* A quantity or a hex word of up to 32 bytes (nodes differ: "0x0", "0x00..."). */
static int
word_member(const cJSON *o, const char *name, uint8_t out[32])
{
	const char *s = cJSON_GetStringValue(member(o, name));
	uint8_t tmp[32];
	size_t n, len;

	if (s == NULL)
		return DPK_ERR_TYPE;
	len = strlen(s);
	if (len < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || len > 66)
		return DPK_ERR_SYNTAX;
	memset(out, 0, 32);
	if (len % 2 == 1) {
		struct dpk_u256 v;
		int r;

		if ((r = dpk_u256_from_quantity(&v, s)) != 0)
			return r;
		memcpy(out, v.be, 32);
		return 0;
	}
	if (dpk_hex_decode(s, len, tmp, sizeof(tmp), &n) != 0)
		return DPK_ERR_SYNTAX;
	memcpy(out + 32 - n, tmp, n);
	return 0;
}

/* Append the nodes of one JSON proof array; node offsets go to offs. */
static int
nodes_from_json(const cJSON *arr, struct dpk_proof *p, size_t *offs, size_t *count)
{
	const cJSON *e;
	size_t k = 0;

	if (!cJSON_IsArray(arr))
		return DPK_ERR_TYPE;
	cJSON_ArrayForEach(e, arr) {
		const char *s = cJSON_GetStringValue(e);
		uint8_t *dst;
		size_t slen, n;
		int r;

		if (s == NULL)
			return DPK_ERR_TYPE;
		if (k == DPK_MPT_MAX_NODES || p->nnodes == sizeof(p->nodes) / sizeof(p->nodes[0]))
			return DPK_ERR_TOOBIG;
		slen = strlen(s);
		if (slen < 2 || slen / 2 - 1 > DPK_MPT_MAX_NODE_LEN)
			return slen < 2 ? DPK_ERR_SYNTAX : DPK_ERR_TOOBIG;
		offs[p->nnodes] = p->bytes.len;
		if ((r = dpk_buf_reserve(&p->bytes, slen / 2, &dst)) != 0)
			return r;
		if ((r = dpk_hex_decode(s, slen, dst, slen / 2, &n)) != 0)
			return r;
		p->bytes.len -= slen / 2 - n;
		p->nodes[p->nnodes].len = n;
		p->nnodes++;
		k++;
	}
	*count = k;
	return 0;
}

void
dpk_proof_free(struct dpk_proof *p)
{
	if (p == NULL)
		return;
	dpk_buf_free(&p->bytes);
	p->nnodes = 0;
	p->nslots = 0;
}

int
dpk_proof_from_json(const cJSON *res, struct dpk_proof *out)
{
	const cJSON *sp, *e;
	size_t *offs = NULL;
	int r;

	if (res == NULL || out == NULL)
		return DPK_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	dpk_buf_init(&out->bytes, DPK_PROOF_MAX_BYTES);
	if (!cJSON_IsObject(res)) {
		r = DPK_ERR_TYPE;
		goto out;
	}
	offs = calloc(sizeof(out->nodes) / sizeof(out->nodes[0]), sizeof(*offs));
	if (offs == NULL) {
		r = DPK_ERR_NOMEM;
		goto out;
	}
	{
		uint8_t w[32];

		if ((r = fixed_member(res, "address", out->address, 20)) != 0 ||
		    (r = word_member(res, "balance", out->balance.be)) != 0 ||
		    (r = word_member(res, "nonce", w)) != 0 ||
		    (r = fixed_member(res, "storageHash", out->storage_hash, 32)) != 0 ||
		    (r = fixed_member(res, "codeHash", out->code_hash, 32)) != 0)
			goto out;
		for (size_t i = 0; i < 24; i++)
			if (w[i] != 0) {
				r = DPK_ERR_RANGE;
				goto out;
			}
		out->nonce = 0;
		for (size_t i = 24; i < 32; i++)
			out->nonce = out->nonce << 8 | w[i];
	}
	if ((r = nodes_from_json(member(res, "accountProof"), out, offs, &out->account_count)) != 0)
		goto out;
	sp = member(res, "storageProof");
	if (!cJSON_IsArray(sp)) {
		r = DPK_ERR_TYPE;
		goto out;
	}
	cJSON_ArrayForEach(e, sp) {
		struct dpk_proof_slot *s;

		if (out->nslots == DPK_PROOF_MAX_SLOTS) {
			r = DPK_ERR_TOOBIG;
			goto out;
		}
		s = &out->slots[out->nslots];
		if (!cJSON_IsObject(e)) {
			r = DPK_ERR_TYPE;
			goto out;
		}
		if ((r = word_member(e, "key", s->key)) != 0 || (r = word_member(e, "value", s->claimed)) != 0)
			goto out;
		s->first = out->nnodes;
		if ((r = nodes_from_json(member(e, "proof"), out, offs, &s->count)) != 0)
			goto out;
		out->nslots++;
	}
	/* The buffer is complete: point the nodes into it. */
	for (size_t i = 0; i < out->nnodes; i++)
		out->nodes[i].p = out->bytes.data + offs[i];
	out->wire_bytes = out->bytes.len;
	r = 0;
out:
	free(offs);
	if (r != 0)
		dpk_proof_free(out);
	return r;
}

int
dpk_proof_verify(const struct dpk_proof *p, const uint8_t state_root[32],
    const uint8_t address[20], const uint8_t (*slots)[32], size_t nslots,
    struct dpk_mpt_account *acct, uint8_t (*words)[32])
{
	struct dpk_mpt_account a;
	int r;

	if (p == NULL || state_root == NULL || address == NULL || (slots == NULL && nslots > 0) ||
	    acct == NULL || (words == NULL && nslots > 0))
		return DPK_ERR_INVALID;
	if (memcmp(p->address, address, 20) != 0 || p->nslots != nslots)
		return DPK_ERR_PROOF;
	if ((r = dpk_mpt_verify_account(state_root, address, p->nodes, p->account_count, &a)) != 0)
		return r;
	if (memcmp(a.storage_root, p->storage_hash, 32) != 0 || a.nonce != p->nonce ||
	    dpk_u256_cmp(&a.balance, &p->balance) != 0 ||
	    (a.exists && memcmp(a.code_hash, p->code_hash, 32) != 0))
		return DPK_ERR_PROOF;
	for (size_t i = 0; i < nslots; i++) {
		const struct dpk_proof_slot *s = &p->slots[i];

		if (memcmp(s->key, slots[i], 32) != 0)
			return DPK_ERR_PROOF;
		if ((r = dpk_mpt_verify_storage(a.storage_root, s->key, p->nodes + s->first, s->count,
		    words[i])) != 0)
			return r;
		if (memcmp(words[i], s->claimed, 32) != 0)
			return DPK_ERR_PROOF;
	}
	*acct = a;
	return 0;
}

int
dpk_proof_fetch(struct dpk_rpc *rpc, const uint8_t address[20], const uint8_t (*slots)[32],
    size_t nslots, const char *block, struct dpk_proof *out)
{
	cJSON *params = NULL, *keys, *res = NULL;
	char hex[67];
	int r = DPK_ERR_NOMEM;

	if (rpc == NULL || address == NULL || (slots == NULL && nslots > 0) || block == NULL ||
	    out == NULL || nslots > DPK_PROOF_MAX_SLOTS)
		return DPK_ERR_INVALID;
	if ((params = cJSON_CreateArray()) == NULL || (keys = cJSON_CreateArray()) == NULL)
		goto out;
	dpk_hex_encode(address, 20, 1, hex, sizeof(hex));
	if (!cJSON_AddItemToArray(params, cJSON_CreateString(hex))) {
		cJSON_Delete(keys);
		goto out;
	}
	if (!cJSON_AddItemToArray(params, keys)) {
		cJSON_Delete(keys);
		goto out;
	}
	for (size_t i = 0; i < nslots; i++) {
		dpk_hex_encode(slots[i], 32, 1, hex, sizeof(hex));
		if (!cJSON_AddItemToArray(keys, cJSON_CreateString(hex)))
			goto out;
	}
	if (!cJSON_AddItemToArray(params, cJSON_CreateString(block)))
		goto out;
	if ((r = dpk_rpc_request(rpc, "eth_getProof", params, &res)) != 0)
		goto out;
	r = dpk_proof_from_json(res, out);
out:
	cJSON_Delete(res);
	cJSON_Delete(params);
	return r;
}
