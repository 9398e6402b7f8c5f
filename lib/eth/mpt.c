/* Merkle-Patricia proof verification. The proof is untrusted: the walk looks
 * nodes up by hash among at most DPK_MPT_MAX_NODES nodes hashed once, every
 * step consumes at least one nibble of a bounded key (so there are at most
 * 2 * DPK_MPT_MAX_KEY + 1 steps and a cycle is impossible), and RLP is read
 * with the strict, iterative decoder. */
#include "eth/mpt.h"
#include "base/buf.h"
#include "base/err.h"
#include "eth/keccak.h"
#include "eth/rlp.h"

#include <string.h>

const uint8_t dpk_mpt_empty_root[32] = {
	0x56, 0xe8, 0x1f, 0x17, 0x1b, 0xcc, 0x55, 0xa6, 0xff, 0x83, 0x45, 0xe6, 0x92, 0xc0, 0xf8, 0x6e,
	0x5b, 0x48, 0xe0, 0x1b, 0x99, 0x6c, 0xad, 0xc0, 0x01, 0x62, 0x2f, 0xb5, 0xe3, 0x63, 0xb4, 0x21,
};

/* keccak256("") */
static const uint8_t mpt_empty_code[32] = {
	0xc5, 0xd2, 0x46, 0x01, 0x86, 0xf7, 0x23, 0x3c, 0x92, 0x7e, 0x7d, 0xb2, 0xdc, 0xc7, 0x03, 0xc0,
	0xe5, 0x00, 0xb6, 0x53, 0xca, 0x82, 0x27, 0x3b, 0x7b, 0xfa, 0xd8, 0x04, 0x5d, 0x85, 0xa4, 0x70,
};

#define MPT_BRANCH 17
#define MPT_HASH_LEN 32

/* The items of one node: 2 (leaf, extension) or 17 (branch). enc[i] is the
 * item's whole encoded length, which decides whether an inline child is
 * allowed (an inline node must encode to fewer than 32 bytes). */
struct mpt_node {
	struct dpk_rlp_item it[MPT_BRANCH];
	size_t enc[MPT_BRANCH];
	size_t n;
};

static int
mpt_split(const uint8_t *payload, size_t len, struct mpt_node *nd)
{
	struct dpk_cursor c;
	int r;

	dpk_cursor_init(&c, payload, len);
	nd->n = 0;
	while (c.len > 0) {
		const uint8_t *start = c.p;

		if (nd->n == MPT_BRANCH)
			return DPK_ERR_PROOF;
		if ((r = dpk_rlp_next(&c, &nd->it[nd->n])) != 0)
			return r;
		nd->enc[nd->n] = (size_t)(c.p - start);
		nd->n++;
	}
	if (nd->n != 2 && nd->n != MPT_BRANCH)
		return DPK_ERR_PROOF;
	return 0;
}

/* Find the proof node whose hash is h and split it into *nd. */
static int
mpt_fetch(const uint8_t h[32], const struct dpk_mpt_node *nodes, const uint8_t (*hashes)[32],
    size_t n, struct mpt_node *nd)
{
	struct dpk_rlp_item top;
	int r;

	for (size_t i = 0; i < n; i++) {
		if (memcmp(hashes[i], h, 32) != 0)
			continue;
		if ((r = dpk_rlp_decode(nodes[i].p, nodes[i].len, DPK_RLP_MAX_DEPTH, &top)) != 0)
			return r;
		if (!top.is_list)
			return DPK_ERR_PROOF;
		return mpt_split(top.p, top.len, nd);
	}
	return DPK_ERR_PROOF; /* the path needs a node the proof does not hold */
}

/* Follow a child reference: a 32-byte hash, or an inline node (a list that
 * encodes to fewer than 32 bytes). *empty is set for an empty reference. */
static int
mpt_follow(const struct dpk_rlp_item *ref, size_t enc, const struct dpk_mpt_node *nodes,
    const uint8_t (*hashes)[32], size_t n, struct mpt_node *nd, int *empty)
{
	const struct dpk_rlp_item r = *ref; /* ref may point into *nd */

	ref = &r;
	*empty = 0;
	if (!ref->is_list && ref->len == 0) {
		*empty = 1;
		return 0;
	}
	if (!ref->is_list && ref->len == MPT_HASH_LEN)
		return mpt_fetch(ref->p, nodes, hashes, n, nd);
	if (ref->is_list && enc < MPT_HASH_LEN)
		return mpt_split(ref->p, ref->len, nd);
	return DPK_ERR_PROOF;
}

/* Hex-prefix (compact) path of a leaf or extension: writes its nibbles into
 * path (at most 2 * DPK_MPT_MAX_NODE_LEN), *plen and *leaf. */
static int
mpt_path(const struct dpk_rlp_item *it, uint8_t *path, size_t pathmax, size_t *plen, int *leaf)
{
	uint8_t flag;
	size_t k = 0;

	if (it->is_list || it->len == 0)
		return DPK_ERR_PROOF;
	flag = it->p[0] >> 4;
	if (flag > 3)
		return DPK_ERR_PROOF;
	*leaf = (flag & 2) != 0;
	if (flag & 1)
		path[k++] = it->p[0] & 0x0f;
	else if ((it->p[0] & 0x0f) != 0)
		return DPK_ERR_PROOF;
	if (2 * (it->len - 1) + k > pathmax)
		return DPK_ERR_PROOF;
	for (size_t i = 1; i < it->len; i++) {
		path[k++] = it->p[i] >> 4;
		path[k++] = it->p[i] & 0x0f;
	}
	*plen = k;
	return 0;
}

int
dpk_mpt_verify(const uint8_t root[32], const uint8_t *key, size_t key_len,
    const struct dpk_mpt_node *nodes, size_t n, const uint8_t **value, size_t *value_len)
{
	uint8_t nib[2 * DPK_MPT_MAX_KEY], path[2 * DPK_MPT_MAX_KEY + 1];
	uint8_t h[DPK_MPT_MAX_NODES][32]; /* each node's hash, computed once */
	struct mpt_node nd;
	size_t nk, pos = 0;
	int r, empty;

	if (root == NULL || (key == NULL && key_len > 0) || (nodes == NULL && n > 0) ||
	    value == NULL || value_len == NULL)
		return DPK_ERR_INVALID;
	*value = NULL;
	*value_len = 0;
	if (n > DPK_MPT_MAX_NODES || key_len > DPK_MPT_MAX_KEY)
		return DPK_ERR_TOOBIG;
	for (size_t i = 0; i < n; i++) {
		if (nodes[i].p == NULL || nodes[i].len > DPK_MPT_MAX_NODE_LEN)
			return nodes[i].p == NULL ? DPK_ERR_INVALID : DPK_ERR_TOOBIG;
		dpk_keccak256(nodes[i].p, nodes[i].len, h[i]);
	}
	if (memcmp(root, dpk_mpt_empty_root, 32) == 0)
		return 0; /* nothing is in an empty trie */
	nk = 2 * key_len;
	for (size_t i = 0; i < key_len; i++) {
		nib[2 * i] = key[i] >> 4;
		nib[2 * i + 1] = key[i] & 0x0f;
	}
	if ((r = mpt_fetch(root, nodes, (const uint8_t (*)[32])h, n, &nd)) != 0)
		return r;
	/* Each pass consumes at least one nibble or returns. */
	for (size_t step = 0; step <= nk + 1; step++) {
		if (nd.n == MPT_BRANCH) {
			const struct dpk_rlp_item *v = &nd.it[16];

			if (v->is_list)
				return DPK_ERR_PROOF;
			if (pos == nk) {
				if (v->len > 0) {
					*value = v->p;
					*value_len = v->len;
				}
				return 0;
			}
			r = mpt_follow(&nd.it[nib[pos]], nd.enc[nib[pos]], nodes,
			    (const uint8_t (*)[32])h, n, &nd, &empty);
			pos++;
			if (r != 0 || empty)
				return r;
			continue;
		} else {
			size_t plen;
			int leaf;

			if ((r = mpt_path(&nd.it[0], path, sizeof(path), &plen, &leaf)) != 0)
				return r;
			if (leaf) {
				if (nd.it[1].is_list || nd.it[1].len == 0)
					return DPK_ERR_PROOF;
				if (plen == nk - pos && memcmp(path, nib + pos, plen) == 0) {
					*value = nd.it[1].p;
					*value_len = nd.it[1].len;
				}
				return 0; /* a different leaf: the key is absent */
			}
			if (plen == 0)
				return DPK_ERR_PROOF;
			if (plen > nk - pos || memcmp(path, nib + pos, plen) != 0)
				return 0; /* the path leaves the trie here: absent */
			pos += plen;
			if ((r = mpt_follow(&nd.it[1], nd.enc[1], nodes, (const uint8_t (*)[32])h, n,
			    &nd, &empty)) != 0)
				return r;
			/* An extension always leads to a branch. */
			if (empty || nd.n != MPT_BRANCH)
				return DPK_ERR_PROOF;
		}
	}
	return DPK_ERR_PROOF;
}

int
dpk_mpt_verify_account(const uint8_t state_root[32], const uint8_t address[20],
    const struct dpk_mpt_node *nodes, size_t n, struct dpk_mpt_account *out)
{
	struct dpk_mpt_account a;
	struct dpk_rlp_item top, f;
	struct dpk_cursor c;
	uint8_t key[32];
	const uint8_t *v;
	size_t vlen;
	int r;

	if (address == NULL || out == NULL)
		return DPK_ERR_INVALID;
	dpk_keccak256(address, 20, key);
	if ((r = dpk_mpt_verify(state_root, key, sizeof(key), nodes, n, &v, &vlen)) != 0)
		return r;
	memset(&a, 0, sizeof(a));
	if (v == NULL) {
		memcpy(a.storage_root, dpk_mpt_empty_root, 32);
		memcpy(a.code_hash, mpt_empty_code, 32);
		*out = a;
		return 0;
	}
	if (dpk_rlp_decode(v, vlen, 1, &top) != 0 || !top.is_list)
		return DPK_ERR_PROOF;
	dpk_cursor_init(&c, top.p, top.len);
	if (dpk_rlp_next(&c, &f) != 0 || dpk_rlp_get_u64(&f, &a.nonce) != 0 ||
	    dpk_rlp_next(&c, &f) != 0 || dpk_rlp_get_u256(&f, &a.balance) != 0 ||
	    dpk_rlp_next(&c, &f) != 0 || dpk_rlp_get_fixed(&f, a.storage_root, 32) != 0 ||
	    dpk_rlp_next(&c, &f) != 0 || dpk_rlp_get_fixed(&f, a.code_hash, 32) != 0 ||
	    dpk_cursor_done(&c) != 0)
		return DPK_ERR_PROOF;
	a.exists = 1;
	*out = a;
	return 0;
}

int
dpk_mpt_verify_storage(const uint8_t storage_root[32], const uint8_t slot[32],
    const struct dpk_mpt_node *nodes, size_t n, uint8_t word[32])
{
	struct dpk_rlp_item it;
	struct dpk_u256 w;
	uint8_t key[32];
	const uint8_t *v;
	size_t vlen;
	int r;

	if (slot == NULL || word == NULL)
		return DPK_ERR_INVALID;
	dpk_keccak256(slot, 32, key);
	if ((r = dpk_mpt_verify(storage_root, key, sizeof(key), nodes, n, &v, &vlen)) != 0)
		return r;
	if (v == NULL) {
		memset(word, 0, 32);
		return 0;
	}
	/* The leaf holds rlp(minimal big-endian word). Mainnet clients delete a
	 * slot set to zero, but anvil keeps rlp(0) leaves: the trie's content is
	 * what the root commits to, so a proven zero reads as zero. */
	if (dpk_rlp_decode(v, vlen, 0, &it) != 0 || dpk_rlp_get_u256(&it, &w) != 0)
		return DPK_ERR_PROOF;
	memcpy(word, w.be, 32);
	return 0;
}
