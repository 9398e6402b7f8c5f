/* Block headers: decode from RLP, or rebuild the RLP from a JSON-RPC block
 * and check it hashes to the block hash the node named. */
#include "eth/header.h"
#include "base/err.h"
#include "base/hex.h"
#include "eth/keccak.h"
#include "eth/rlp.h"

#include <string.h>

/* Field kinds, for the JSON encoder: fixed-size byte strings, integers
 * (JSON quantities, minimal RLP), and variable byte strings. */
enum hf_kind { HF_FIXED, HF_QUANTITY, HF_BYTES };

static const struct {
	const char *name;
	enum hf_kind kind;
	size_t len; /* for HF_FIXED */
} header_fields[] = {
	{ "parentHash", HF_FIXED, 32 },
	{ "sha3Uncles", HF_FIXED, 32 },
	{ "miner", HF_FIXED, 20 },
	{ "stateRoot", HF_FIXED, 32 },
	{ "transactionsRoot", HF_FIXED, 32 },
	{ "receiptsRoot", HF_FIXED, 32 },
	{ "logsBloom", HF_FIXED, 256 },
	{ "difficulty", HF_QUANTITY, 0 },
	{ "number", HF_QUANTITY, 0 },
	{ "gasLimit", HF_QUANTITY, 0 },
	{ "gasUsed", HF_QUANTITY, 0 },
	{ "timestamp", HF_QUANTITY, 0 },
	{ "extraData", HF_BYTES, 0 },
	{ "mixHash", HF_FIXED, 32 },
	{ "nonce", HF_FIXED, 8 },
	/* London, Shanghai, Cancun (three), Prague */
	{ "baseFeePerGas", HF_QUANTITY, 0 },
	{ "withdrawalsRoot", HF_FIXED, 32 },
	{ "blobGasUsed", HF_QUANTITY, 0 },
	{ "excessBlobGas", HF_QUANTITY, 0 },
	{ "parentBeaconBlockRoot", HF_FIXED, 32 },
	{ "requestsHash", HF_FIXED, 32 },
};
#define HF_COUNT (sizeof(header_fields) / sizeof(header_fields[0]))

int
dpk_header_decode(const uint8_t *rlp, size_t len, struct dpk_header *out)
{
	struct dpk_header h;
	struct dpk_rlp_item top, f;
	struct dpk_cursor c;
	int r;

	if (rlp == NULL || out == NULL)
		return DPK_ERR_INVALID;
	if (len > DPK_HEADER_MAX_LEN)
		return DPK_ERR_TOOBIG;
	if ((r = dpk_rlp_decode(rlp, len, 1, &top)) != 0)
		return r;
	if (!top.is_list)
		return DPK_ERR_TYPE;
	memset(&h, 0, sizeof(h));
	dpk_cursor_init(&c, top.p, top.len);
	while (c.len > 0) {
		if (h.nfields == DPK_HEADER_MAX_FIELDS)
			return DPK_ERR_TOOBIG;
		if ((r = dpk_rlp_next(&c, &f)) != 0)
			return r;
		if (f.is_list)
			return DPK_ERR_TYPE;
		switch (h.nfields) {
		case 0: r = dpk_rlp_get_fixed(&f, h.parent_hash, 32); break;
		case 3: r = dpk_rlp_get_fixed(&f, h.state_root, 32); break;
		case 8: r = dpk_rlp_get_u64(&f, &h.number); break;
		case 11: r = dpk_rlp_get_u64(&f, &h.timestamp); break;
		default:
			/* sizes of the classic fields; later ones vary by fork and are
			 * carried as they are (the hash covers them) */
			if (h.nfields < DPK_HEADER_MIN_FIELDS && header_fields[h.nfields].kind == HF_FIXED &&
			    f.len != header_fields[h.nfields].len)
				r = DPK_ERR_INVALID;
			break;
		}
		if (r != 0)
			return r;
		h.nfields++;
	}
	if (h.nfields < DPK_HEADER_MIN_FIELDS)
		return DPK_ERR_INVALID;
	dpk_keccak256(rlp, len, h.hash);
	*out = h;
	return 0;
}

/* One field of the JSON block as RLP. */
static int
header_put_field(struct dpk_buf *b, const char *s, enum hf_kind kind, size_t want)
{
	uint8_t tmp[DPK_HEADER_MAX_LEN];
	size_t n;
	int r;

	if (kind == HF_QUANTITY) {
		struct dpk_u256 v;

		if ((r = dpk_u256_from_quantity(&v, s)) != 0)
			return r;
		return dpk_rlp_put_u256(b, &v);
	}
	if (strncmp(s, "0x", 2) != 0)
		return DPK_ERR_SYNTAX;
	if ((r = dpk_hex_decode(s, strlen(s), tmp, sizeof(tmp), &n)) != 0)
		return r;
	if (kind == HF_FIXED && n != want)
		return DPK_ERR_INVALID;
	return dpk_rlp_put_bytes(b, tmp, n);
}

int
dpk_header_from_json(const cJSON *block, struct dpk_buf *rlp_out, struct dpk_header *out)
{
	struct dpk_buf b;
	struct dpk_header h;
	uint8_t claimed[32];
	const char *hs;
	size_t mark, i, missing_at = HF_COUNT;
	int r;

	if (block == NULL || out == NULL)
		return DPK_ERR_INVALID;
	if (!cJSON_IsObject(block))
		return DPK_ERR_TYPE;
	hs = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(block, "hash"));
	if (hs == NULL)
		return DPK_ERR_TYPE;
	if ((r = dpk_hex_decode_exact(hs, claimed, 32)) != 0)
		return r;
	dpk_buf_init(&b, DPK_HEADER_MAX_LEN);
	if ((r = dpk_rlp_list_begin(&b, &mark)) != 0)
		goto out;
	for (i = 0; i < HF_COUNT; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(block, header_fields[i].name);
		const char *s = cJSON_GetStringValue(v);

		if (v == NULL || cJSON_IsNull(v)) {
			r = DPK_ERR_TYPE;
			if (i < DPK_HEADER_MIN_FIELDS)
				goto out;
			if (missing_at == HF_COUNT)
				missing_at = i;
			continue;
		}
		if (s == NULL) {
			r = DPK_ERR_TYPE;
			goto out;
		}
		if (missing_at != HF_COUNT) {
			r = DPK_ERR_INVALID; /* a later fork's field without an earlier one */
			goto out;
		}
		if ((r = header_put_field(&b, s, header_fields[i].kind, header_fields[i].len)) != 0)
			goto out;
	}
	if ((r = dpk_rlp_list_end(&b, mark)) != 0)
		goto out;
	if ((r = dpk_header_decode(b.data, b.len, &h)) != 0)
		goto out;
	if (memcmp(h.hash, claimed, 32) != 0) {
		r = DPK_ERR_PROOF;
		goto out;
	}
	if (rlp_out != NULL && (r = dpk_buf_put(rlp_out, b.data, b.len)) != 0)
		goto out;
	*out = h;
	r = 0;
out:
	dpk_buf_free(&b);
	return r;
}
