/* Ethereum transactions: legacy with EIP-155 replay protection and EIP-1559
 * (type 2, EIP-2718 envelope). The decoder re-encodes what it decoded to get
 * the signing hash; that is sound only because dpk_rlp_decode and the typed
 * getters accept nothing but canonical forms, so the re-encoding is the very
 * byte string that was signed. */
#include "eth/tx.h"
#include "base/err.h"
#include "eth/keccak.h"
#include "eth/rlp.h"

#include <string.h>

/* transaction list, access list, access-list entry, its storage keys */
#define TX_DECODE_DEPTH 4
#define TX_LEGACY_FIELDS 9
#define TX_EIP1559_FIELDS 12
/* v = recid + 35 + 2 * chain_id (EIP-155) */
#define TX_EIP155_V_BASE 35
#define TX_PRE155_V0 27
#define TX_PRE155_V1 28

/* secp256k1 group order n and n / 2 (EIP-2: s must not exceed n / 2). */
static const uint8_t secp256k1_n[32] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
	0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
};
static const uint8_t secp256k1_half_n[32] = {
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
};

static int
tx_check(const struct dpk_tx *tx)
{
	if (tx->type != DPK_TX_LEGACY && tx->type != DPK_TX_EIP1559)
		return DPK_ERR_INVALID;
	if (tx->data_len > 0 && tx->data == NULL)
		return DPK_ERR_INVALID;
	if (tx->data_len > DPK_TX_MAX_RAW)
		return DPK_ERR_TOOBIG;
	return 0;
}

/* r and s as minimal integers from a 65-byte r || s || recid signature. */
static int
tx_put_rs(struct dpk_buf *b, const uint8_t sig[65])
{
	struct dpk_u256 x;
	int r;

	dpk_u256_from_be(&x, sig, 32);
	if ((r = dpk_rlp_put_u256(b, &x)) != 0)
		return r;
	dpk_u256_from_be(&x, sig + 32, 32);
	return dpk_rlp_put_u256(b, &x);
}

/* Append the encoding of tx: the signing payload if sig is NULL, else the
 * signed transaction. On error b is left as it was. */
static int
tx_encode(const struct dpk_tx *tx, const uint8_t *sig, struct dpk_buf *b)
{
	size_t start = b->len, mark;
	int r;

	if ((r = tx_check(tx)) != 0)
		return r;
	if (sig != NULL && sig[64] > 1)
		return DPK_ERR_INVALID;
	/* v = recid + 35 + 2 * chain_id must fit in 64 bits */
	if (sig != NULL && tx->type == DPK_TX_LEGACY &&
	    tx->chain_id > (UINT64_MAX - TX_EIP155_V_BASE - sig[64]) / 2)
		return DPK_ERR_RANGE;
	if (tx->type == DPK_TX_EIP1559 && (r = dpk_buf_put_u8(b, DPK_TX_EIP1559)) != 0)
		goto out;
	if ((r = dpk_rlp_list_begin(b, &mark)) != 0)
		goto out;
	if (tx->type == DPK_TX_EIP1559) {
		if ((r = dpk_rlp_put_u64(b, tx->chain_id)) != 0 ||
		    (r = dpk_rlp_put_u64(b, tx->nonce)) != 0 ||
		    (r = dpk_rlp_put_u256(b, &tx->max_priority_fee)) != 0 ||
		    (r = dpk_rlp_put_u256(b, &tx->max_fee)) != 0)
			goto out;
	} else {
		if ((r = dpk_rlp_put_u64(b, tx->nonce)) != 0 ||
		    (r = dpk_rlp_put_u256(b, &tx->gas_price)) != 0)
			goto out;
	}
	if ((r = dpk_rlp_put_u64(b, tx->gas_limit)) != 0 ||
	    (r = dpk_rlp_put_bytes(b, tx->to, tx->has_to ? sizeof(tx->to) : 0)) != 0 ||
	    (r = dpk_rlp_put_u256(b, &tx->value)) != 0 ||
	    (r = dpk_rlp_put_bytes(b, tx->data, tx->data_len)) != 0)
		goto out;
	if (tx->type == DPK_TX_EIP1559) {
		/* empty access list */
		if ((r = dpk_rlp_put_raw(b, "\xc0", 1)) != 0)
			goto out;
		if (sig != NULL && ((r = dpk_rlp_put_u64(b, sig[64])) != 0 ||
		    (r = tx_put_rs(b, sig)) != 0))
			goto out;
	} else if (sig != NULL) {
		uint64_t v = sig[64] + TX_EIP155_V_BASE + 2 * tx->chain_id;

		if ((r = dpk_rlp_put_u64(b, v)) != 0 || (r = tx_put_rs(b, sig)) != 0)
			goto out;
	} else {
		/* EIP-155 signing payload: chain_id, 0, 0 in place of v, r, s */
		if ((r = dpk_rlp_put_u64(b, tx->chain_id)) != 0 ||
		    (r = dpk_rlp_put_u64(b, 0)) != 0 ||
		    (r = dpk_rlp_put_u64(b, 0)) != 0)
			goto out;
	}
	r = dpk_rlp_list_end(b, mark);
out:
	if (r != 0)
		b->len = start;
	return r;
}

int
dpk_tx_encode_unsigned(const struct dpk_tx *tx, struct dpk_buf *out)
{
	if (tx == NULL || out == NULL)
		return DPK_ERR_INVALID;
	return tx_encode(tx, NULL, out);
}

int
dpk_tx_encode_signed(const struct dpk_tx *tx, const uint8_t sig[65], struct dpk_buf *out)
{
	if (tx == NULL || sig == NULL || out == NULL)
		return DPK_ERR_INVALID;
	return tx_encode(tx, sig, out);
}

int
dpk_tx_signing_hash(const struct dpk_tx *tx, uint8_t hash[32])
{
	struct dpk_buf b;
	int r = DPK_ERR_INVALID;

	dpk_buf_init(&b, DPK_TX_MAX_RAW);
	if (tx == NULL || hash == NULL)
		goto out;
	if ((r = tx_encode(tx, NULL, &b)) != 0)
		goto out;
	dpk_keccak256(b.data, b.len, hash);
out:
	dpk_buf_free(&b);
	return r;
}

int
dpk_tx_sign(const struct dpk_tx *tx, const struct dpk_wallet *w,
    struct dpk_buf *raw, uint8_t txhash[32])
{
	uint8_t hash[32], sig[65];
	size_t start = 0;
	int r = DPK_ERR_INVALID;

	if (tx == NULL || w == NULL || raw == NULL)
		goto out;
	start = raw->len;
	/* chain 0 means the caller forgot it, and a tip above the fee cap is
	 * refused by every node: fail here rather than after broadcasting */
	if (tx->chain_id == 0)
		goto out;
	if (tx->type == DPK_TX_EIP1559 && dpk_u256_cmp(&tx->max_priority_fee, &tx->max_fee) > 0)
		goto out;
	if ((r = dpk_tx_signing_hash(tx, hash)) != 0)
		goto out;
	if ((r = dpk_wallet_sign(w, hash, sig)) != 0)
		goto out;
	if ((r = tx_encode(tx, sig, raw)) != 0)
		goto out;
	/* the signed form is larger than the payload, whose cap was checked */
	if (raw->len - start > DPK_TX_MAX_RAW) {
		raw->len = start;
		r = DPK_ERR_TOOBIG;
		goto out;
	}
	if (txhash != NULL)
		dpk_keccak256(raw->data + start, raw->len - start, txhash);
out:
	return r;
}

static int
tx_get_to(const struct dpk_rlp_item *it, struct dpk_tx *tx)
{
	if (it->is_list)
		return DPK_ERR_TYPE;
	if (it->len == 0) {
		tx->has_to = 0;
		return 0;
	}
	tx->has_to = 1;
	return dpk_rlp_get_fixed(it, tx->to, sizeof(tx->to));
}

/* r and s into sig[0..64): nonzero, r < n, s <= n / 2 (EIP-2). */
static int
tx_get_rs(const struct dpk_rlp_item *ri, const struct dpk_rlp_item *si, uint8_t sig[65])
{
	struct dpk_u256 rv, sv, n, half;
	int r;

	if ((r = dpk_rlp_get_u256(ri, &rv)) != 0 || (r = dpk_rlp_get_u256(si, &sv)) != 0)
		return r;
	memcpy(n.be, secp256k1_n, 32);
	memcpy(half.be, secp256k1_half_n, 32);
	if (dpk_u256_is_zero(&rv) || dpk_u256_is_zero(&sv) ||
	    dpk_u256_cmp(&rv, &n) >= 0 || dpk_u256_cmp(&sv, &half) > 0)
		return DPK_ERR_BADSIG;
	memcpy(sig, rv.be, 32);
	memcpy(sig + 32, sv.be, 32);
	return 0;
}

static int
tx_decode_legacy(const struct dpk_rlp_item *f, struct dpk_tx_signed *d)
{
	uint64_t v;
	int r;

	d->tx.type = DPK_TX_LEGACY;
	if ((r = dpk_rlp_get_u64(&f[0], &d->tx.nonce)) != 0 ||
	    (r = dpk_rlp_get_u256(&f[1], &d->tx.gas_price)) != 0 ||
	    (r = dpk_rlp_get_u64(&f[2], &d->tx.gas_limit)) != 0 ||
	    (r = tx_get_to(&f[3], &d->tx)) != 0 ||
	    (r = dpk_rlp_get_u256(&f[4], &d->tx.value)) != 0)
		return r;
	if (f[5].is_list)
		return DPK_ERR_TYPE;
	d->tx.data = f[5].p;
	d->tx.data_len = f[5].len;
	if ((r = dpk_rlp_get_u64(&f[6], &v)) != 0)
		return r;
	if (v == TX_PRE155_V0 || v == TX_PRE155_V1)
		return DPK_ERR_UNSUPPORTED; /* no chain id: replayable on any chain */
	if (v < TX_EIP155_V_BASE)
		return DPK_ERR_BADSIG;
	d->tx.chain_id = (v - TX_EIP155_V_BASE) / 2;
	d->sig[64] = (uint8_t)((v - TX_EIP155_V_BASE) % 2);
	return tx_get_rs(&f[7], &f[8], d->sig);
}

static int
tx_decode_eip1559(const struct dpk_rlp_item *f, struct dpk_tx_signed *d)
{
	uint64_t y;
	int r;

	d->tx.type = DPK_TX_EIP1559;
	if ((r = dpk_rlp_get_u64(&f[0], &d->tx.chain_id)) != 0 ||
	    (r = dpk_rlp_get_u64(&f[1], &d->tx.nonce)) != 0 ||
	    (r = dpk_rlp_get_u256(&f[2], &d->tx.max_priority_fee)) != 0 ||
	    (r = dpk_rlp_get_u256(&f[3], &d->tx.max_fee)) != 0 ||
	    (r = dpk_rlp_get_u64(&f[4], &d->tx.gas_limit)) != 0 ||
	    (r = tx_get_to(&f[5], &d->tx)) != 0 ||
	    (r = dpk_rlp_get_u256(&f[6], &d->tx.value)) != 0)
		return r;
	if (f[7].is_list)
		return DPK_ERR_TYPE;
	d->tx.data = f[7].p;
	d->tx.data_len = f[7].len;
	if (!f[8].is_list)
		return DPK_ERR_TYPE;
	if (f[8].len != 0)
		return DPK_ERR_UNSUPPORTED; /* struct dpk_tx has no access list */
	if ((r = dpk_rlp_get_u64(&f[9], &y)) != 0)
		return r;
	if (y > 1)
		return DPK_ERR_BADSIG;
	d->sig[64] = (uint8_t)y;
	return tx_get_rs(&f[10], &f[11], d->sig);
}

int
dpk_tx_decode(const uint8_t *raw, size_t len, struct dpk_tx_signed *out)
{
	struct dpk_rlp_item list, f[TX_EIP1559_FIELDS];
	struct dpk_tx_signed d;
	struct dpk_cursor c;
	const uint8_t *body = raw;
	size_t blen = len, want, n = 0;
	uint8_t sighash[32];
	int r = DPK_ERR_INVALID;

	memset(&d, 0, sizeof(d));
	if ((raw == NULL && len > 0) || out == NULL)
		goto out;
	r = DPK_ERR_TRUNCATED;
	if (len == 0)
		goto out;
	r = DPK_ERR_TOOBIG;
	if (len > DPK_TX_MAX_RAW)
		goto out;
	/* EIP-2718: a first byte >= 0xc0 is a legacy RLP list, < 0x80 a type */
	if (raw[0] >= 0xc0) {
		want = TX_LEGACY_FIELDS;
	} else if (raw[0] == DPK_TX_EIP1559) {
		want = TX_EIP1559_FIELDS;
		body++;
		blen--;
	} else {
		r = raw[0] < 0x80 ? DPK_ERR_UNSUPPORTED : DPK_ERR_TYPE;
		goto out;
	}
	if ((r = dpk_rlp_decode(body, blen, TX_DECODE_DEPTH, &list)) != 0)
		goto out;
	r = DPK_ERR_TYPE;
	if (!list.is_list)
		goto out;
	dpk_cursor_init(&c, list.p, list.len);
	while (c.len > 0) {
		r = DPK_ERR_TRAILING;
		if (n == want)
			goto out;
		if ((r = dpk_rlp_next(&c, &f[n++])) != 0)
			goto out;
	}
	r = DPK_ERR_TRUNCATED;
	if (n < want)
		goto out;
	r = want == TX_LEGACY_FIELDS ? tx_decode_legacy(f, &d) : tx_decode_eip1559(f, &d);
	if (r != 0)
		goto out;
	if ((r = dpk_tx_signing_hash(&d.tx, sighash)) != 0)
		goto out;
	if ((r = dpk_wallet_recover(sighash, d.sig, d.from)) != 0)
		goto out;
	dpk_keccak256(raw, len, d.hash);
	*out = d;
	r = 0;
out:
	return r;
}
