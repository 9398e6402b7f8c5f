/* Merkle-Patricia proofs: the published ethereum/tests TrieTests (roots
 * published there; proofs made by @ethereumjs/mpt, see tests/data/mpt/SOURCES),
 * EIP-1186 proofs answered by anvil for the DPK registry (present and absent
 * slots, absent account), and the verifier's answer to truncated, corrupted,
 * missing, oversized, reordered and looping proofs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/hex.h"
#include "eth/keccak.h"
#include "eth/mpt.h"
#include "eth/proof.h"
#include "harness.h"

#define MAXN DPK_MPT_MAX_NODES

struct proof {
	uint8_t *buf[MAXN + 8];
	struct dpk_mpt_node n[MAXN + 8];
	size_t count;
};

static cJSON *
load(const char *rel)
{
	struct dpk_buf raw;
	cJSON *root;

	dpk_test_read_data(rel, &raw);
	root = cJSON_ParseWithLength((const char *)raw.data, raw.len);
	assert_non_null(root);
	dpk_buf_free(&raw);
	return root;
}

static size_t
unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	assert_int_equal(dpk_hex_decode(s, strlen(s), out, max, &n), 0);
	return n;
}

static void
proof_from_json(const cJSON *arr, struct proof *p)
{
	const cJSON *e;

	memset(p, 0, sizeof(*p));
	cJSON_ArrayForEach(e, arr) {
		const char *s = cJSON_GetStringValue(e);
		size_t cap;

		assert_non_null(s);
		assert_true(p->count < MAXN + 8);
		cap = strlen(s) / 2 + 1;
		p->buf[p->count] = malloc(cap);
		assert_non_null(p->buf[p->count]);
		p->n[p->count].len = unhex(s, p->buf[p->count], cap);
		p->n[p->count].p = p->buf[p->count];
		p->count++;
	}
}

static void
proof_free(struct proof *p)
{
	for (size_t i = 0; i < p->count; i++)
		free(p->buf[i]);
	p->count = 0;
}

/* Every proof of tests/data/mpt/proofs.json gives the vector's value (or
 * absence) for its key; then each proof with one node dropped, or one byte
 * flipped in a node the walk uses, is refused (or, for a node the walk does
 * not use, still gives the same answer: never a different value). */
static void
test_trie_vectors(void **state)
{
	cJSON *all = load("mpt/proofs.json");
	const cJSON *t;
	size_t count = 0, absent = 0;

	(void)state;
	cJSON_ArrayForEach(t, all) {
		uint8_t root[32], key[DPK_MPT_MAX_KEY], want[512];
		const char *vs = cJSON_GetStringValue(cJSON_GetObjectItem(t, "value"));
		const uint8_t *v;
		size_t klen, wlen = 0, vlen;
		struct proof p;
		int r;

		assert_int_equal(dpk_hex_decode_exact(cJSON_GetStringValue(cJSON_GetObjectItem(t, "root")), root, 32), 0);
		klen = unhex(cJSON_GetStringValue(cJSON_GetObjectItem(t, "key")), key, sizeof(key));
		if (vs != NULL)
			wlen = unhex(vs, want, sizeof(want));
		proof_from_json(cJSON_GetObjectItem(t, "proof"), &p);
		r = dpk_mpt_verify(root, key, klen, p.n, p.count, &v, &vlen);
		if (r != 0)
			fail_msg("%s key %s: %s", cJSON_GetStringValue(cJSON_GetObjectItem(t, "name")),
			    cJSON_GetStringValue(cJSON_GetObjectItem(t, "key")), dpk_strerror(r));
		if (vs == NULL) {
			assert_null(v);
			absent++;
		} else {
			assert_int_equal(vlen, wlen);
			assert_memory_equal(v, want, wlen);
		}
		/* Corruptions: a flipped byte anywhere never yields a different answer. */
		for (size_t i = 0; i < p.count; i++) {
			for (size_t off = 0; off < p.n[i].len; off += 7) {
				const uint8_t *v2;
				size_t v2len;
				int r2;

				p.buf[i][off] ^= 0x01;
				r2 = dpk_mpt_verify(root, key, klen, p.n, p.count, &v2, &v2len);
				p.buf[i][off] ^= 0x01;
				if (r2 == 0) {
					/* only a node the walk never reached can change harmlessly */
					assert_true((v2 == NULL) == (v == NULL));
					if (v != NULL) {
						assert_int_equal(v2len, vlen);
						assert_memory_equal(v2, v, vlen);
					}
				}
			}
		}
		/* Dropping the first (root) node always fails. */
		if (p.count > 0 && memcmp(root, dpk_mpt_empty_root, 32) != 0)
			assert_int_equal(dpk_mpt_verify(root, key, klen, p.n + 1, p.count - 1, &v, &vlen),
			    DPK_ERR_PROOF);
		/* Reversed order gives the same answer: nodes are found by hash. */
		if (p.count > 1) {
			struct dpk_mpt_node rev[MAXN];
			const uint8_t *v3;
			size_t v3len;

			for (size_t i = 0; i < p.count; i++)
				rev[i] = p.n[p.count - 1 - i];
			assert_int_equal(dpk_mpt_verify(root, key, klen, rev, p.count, &v3, &v3len), 0);
			assert_true((v3 == NULL) == (vs == NULL));
		}
		proof_free(&p);
		count++;
	}
	assert_true(count > 200);
	assert_true(absent > 20);
	cJSON_Delete(all);
}

/* The registry on anvil: tests/data/mpt/anvil-proof.json is an
 * eth_getProof answer for the DPK contract (slot 0, a record's four slots,
 * an absent record) with the block it was read at. */
static void
test_anvil_proof(void **state)
{
	cJSON *doc = load("mpt/anvil-proof.json");
	const cJSON *pr = cJSON_GetObjectItem(doc, "proof");
	const cJSON *sp;
	uint8_t state_root[32], addr[20], want[32];
	struct dpk_mpt_account acct;
	struct proof p;
	size_t nslots = 0, nzero = 0;

	(void)state;
	assert_int_equal(dpk_hex_decode_exact(cJSON_GetStringValue(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(doc, "block"), "stateRoot")), state_root, 32), 0);
	assert_int_equal(dpk_hex_decode_exact(cJSON_GetStringValue(cJSON_GetObjectItem(pr, "address")), addr, 20), 0);
	proof_from_json(cJSON_GetObjectItem(pr, "accountProof"), &p);
	assert_int_equal(dpk_mpt_verify_account(state_root, addr, p.n, p.count, &acct), 0);
	assert_true(acct.exists);
	assert_int_equal(dpk_hex_decode_exact(cJSON_GetStringValue(cJSON_GetObjectItem(pr, "storageHash")), want, 32), 0);
	assert_memory_equal(acct.storage_root, want, 32);
	assert_int_equal(dpk_hex_decode_exact(cJSON_GetStringValue(cJSON_GetObjectItem(pr, "codeHash")), want, 32), 0);
	assert_memory_equal(acct.code_hash, want, 32);
	/* The account proof does not prove another address. */
	{
		uint8_t other[20];
		struct dpk_mpt_account o;
		int r;

		memcpy(other, addr, 20);
		other[19] ^= 1;
		r = dpk_mpt_verify_account(state_root, other, p.n, p.count, &o);
		assert_true(r == DPK_ERR_PROOF || (r == 0 && !o.exists));
	}
	/* A wrong state root refuses. */
	state_root[0] ^= 1;
	assert_int_equal(dpk_mpt_verify_account(state_root, addr, p.n, p.count, &acct), DPK_ERR_PROOF);
	state_root[0] ^= 1;
	assert_int_equal(dpk_mpt_verify_account(state_root, addr, p.n, p.count, &acct), 0);
	proof_free(&p);

	cJSON_ArrayForEach(sp, cJSON_GetObjectItem(pr, "storageProof")) {
		uint8_t slot[32], word[32], claimed[32] = { 0 };
		const char *val = cJSON_GetStringValue(cJSON_GetObjectItem(sp, "value"));
		struct dpk_u256 cv;

		assert_int_equal(dpk_hex_decode_exact(cJSON_GetStringValue(cJSON_GetObjectItem(sp, "key")), slot, 32), 0);
		assert_int_equal(dpk_u256_from_quantity(&cv, val), 0);
		memcpy(claimed, cv.be, 32);
		proof_from_json(cJSON_GetObjectItem(sp, "proof"), &p);
		assert_int_equal(dpk_mpt_verify_storage(acct.storage_root, slot, p.n, p.count, word), 0);
		assert_memory_equal(word, claimed, 32);
		if (dpk_u256_is_zero(&cv))
			nzero++;
		/* every node counts: dropping any node the walk needs fails */
		for (size_t i = 0; i < p.count; i++) {
			struct dpk_mpt_node less[MAXN];
			size_t k = 0;
			int r;

			for (size_t j = 0; j < p.count; j++)
				if (j != i)
					less[k++] = p.n[j];
			r = dpk_mpt_verify_storage(acct.storage_root, slot, less, k, word);
			assert_int_equal(r, DPK_ERR_PROOF);
		}
		/* truncated nodes are refused */
		for (size_t i = 0; i < p.count; i++) {
			p.n[i].len--;
			assert_int_not_equal(dpk_mpt_verify_storage(acct.storage_root, slot, p.n, p.count, word), 0);
			p.n[i].len++;
		}
		proof_free(&p);
		nslots++;
	}
	assert_true(nslots >= 5);
	assert_true(nzero >= 2); /* the absent record, and the RSA key slot of a P-256 record */
	cJSON_Delete(doc);
}

/* Caps: too many nodes, a node over the size cap, a key over the key cap. */
static void
test_oversized(void **state)
{
	static uint8_t big[DPK_MPT_MAX_NODE_LEN + 1];
	struct dpk_mpt_node nodes[MAXN + 1];
	uint8_t root[32] = { 1 }, key[DPK_MPT_MAX_KEY + 1] = { 0 };
	const uint8_t *v;
	size_t vlen;

	(void)state;
	for (size_t i = 0; i <= MAXN; i++) {
		nodes[i].p = big;
		nodes[i].len = 1;
	}
	assert_int_equal(dpk_mpt_verify(root, key, 32, nodes, MAXN + 1, &v, &vlen), DPK_ERR_TOOBIG);
	nodes[0].len = sizeof(big);
	assert_int_equal(dpk_mpt_verify(root, key, 32, nodes, 1, &v, &vlen), DPK_ERR_TOOBIG);
	nodes[0].len = 1;
	assert_int_equal(dpk_mpt_verify(root, key, sizeof(key), nodes, 1, &v, &vlen), DPK_ERR_TOOBIG);
	assert_int_equal(dpk_mpt_verify(root, NULL, 1, nodes, 1, &v, &vlen), DPK_ERR_INVALID);
	/* A node the root does not hash to: missing, whatever the count. */
	assert_int_equal(dpk_mpt_verify(root, key, 32, nodes, MAXN, &v, &vlen), DPK_ERR_PROOF);
}

/* Hand-built nodes: the walk's refusals of malformed shapes, and a "loop":
 * an extension whose child hash is its own hash cannot be built, but an
 * extension pointing at a node that points back at the extension would need
 * a hash cycle; the nearest thing an attacker can send is a node listed many
 * times, or an extension that leads to a leaf (non-canonical), or to another
 * extension. Each step consumes a nibble, so walks end. */
static void
test_malformed(void **state)
{
	uint8_t key[1] = { 0x12 };
	uint8_t root[32];
	const uint8_t *v;
	size_t vlen;
	struct dpk_mpt_node nd[MAXN];

	(void)state;
	/* leaf with key 0x12 and value "a": rlp([0x20 0x12, "a"]) */
	{
		static const uint8_t leaf[] = { 0xc4, 0x82, 0x20, 0x12, 0x61 };
		nd[0].p = leaf;
		nd[0].len = sizeof(leaf);
		dpk_keccak256(leaf, sizeof(leaf), root);
		assert_int_equal(dpk_mpt_verify(root, key, 1, nd, 1, &v, &vlen), 0);
		assert_non_null(v);
		assert_int_equal(vlen, 1);
		assert_int_equal(v[0], 'a');
		/* another key: absent */
		key[0] = 0x13;
		assert_int_equal(dpk_mpt_verify(root, key, 1, nd, 1, &v, &vlen), 0);
		assert_null(v);
		key[0] = 0x12;
		/* the same node many times changes nothing */
		for (size_t i = 1; i < MAXN; i++)
			nd[i] = nd[0];
		assert_int_equal(dpk_mpt_verify(root, key, 1, nd, MAXN, &v, &vlen), 0);
		assert_non_null(v);
	}
	/* bad hex-prefix flags (4), odd padding nibble, empty value, 3 items */
	{
		static const uint8_t badflag[] = { 0xc4, 0x82, 0x40, 0x12, 0x61 };
		static const uint8_t badpad[] = { 0xc4, 0x82, 0x21, 0x12, 0x61 };
		static const uint8_t emptyval[] = { 0xc4, 0x82, 0x20, 0x12, 0x80 };
		static const uint8_t three[] = { 0xc5, 0x82, 0x20, 0x12, 0x61, 0x61 };
		static const uint8_t notlist[] = { 0x83, 0x20, 0x12, 0x61 };
		const uint8_t *bad[] = { badflag, badpad, emptyval, three, notlist };
		size_t lens[] = { sizeof(badflag), sizeof(badpad), sizeof(emptyval), sizeof(three), sizeof(notlist) };

		for (size_t i = 0; i < 5; i++) {
			nd[0].p = bad[i];
			nd[0].len = lens[i];
			dpk_keccak256(bad[i], lens[i], root);
			assert_int_equal(dpk_mpt_verify(root, key, 1, nd, 1, &v, &vlen), DPK_ERR_PROOF);
		}
	}
	/* extension (path 1) -> leaf (not a branch): refused */
	{
		static const uint8_t leaf[] = { 0xc2, 0x20 | 0x10 | 0x02, 0x61 }; /* odd leaf, nibble 2 */
		uint8_t ext[2 + 1 + 33], h[32];

		/* rlp([0x11, hash(leaf)]) */
		dpk_keccak256(leaf, sizeof(leaf), h);
		ext[0] = 0xe2;
		ext[1] = 0x11;
		ext[2] = 0xa0;
		memcpy(ext + 3, h, 32);
		nd[0].p = ext;
		nd[0].len = 35;
		nd[1].p = leaf;
		nd[1].len = sizeof(leaf);
		dpk_keccak256(ext, 35, root);
		assert_int_equal(dpk_mpt_verify(root, key, 1, nd, 2, &v, &vlen), DPK_ERR_PROOF);
		/* and without the child: missing node */
		assert_int_equal(dpk_mpt_verify(root, key, 1, nd, 1, &v, &vlen), DPK_ERR_PROOF);
	}
	/* the empty trie proves every key absent, with or without nodes */
	{
		static const uint8_t empty[] = { 0x80 };
		nd[0].p = empty;
		nd[0].len = 1;
		assert_int_equal(dpk_mpt_verify(dpk_mpt_empty_root, key, 1, nd, 1, &v, &vlen), 0);
		assert_null(v);
		assert_int_equal(dpk_mpt_verify(dpk_mpt_empty_root, key, 1, NULL, 0, &v, &vlen), 0);
		assert_null(v);
	}
}

/* eth_getProof answers that are not well formed: every one refused by the
 * decoder (before any proof is walked), and the real answer with a claim
 * changed refused by the verifier. */
static void
test_proof_json(void **state)
{
	cJSON *doc = load("mpt/anvil-proof.json");
	cJSON *good = cJSON_GetObjectItem(doc, "proof");
	static struct dpk_proof p;
	uint8_t root[32], slots[DPK_PROOF_MAX_SLOTS][32], words[DPK_PROOF_MAX_SLOTS][32];
	struct dpk_mpt_account a;
	static const char *const bad[] = {
		"[]", "{}", "{\"address\":\"0x01\"}",
		/* node hex odd, non-hex, empty, embedded NUL escape */
		"{\"address\":\"0x5fbdb2315678afecb367f032d93f642f64180aa3\",\"balance\":\"0x0\",\"nonce\":\"0x1\",\"storageHash\":\"0x7edcd99be7c83c08252564528f0677446a89d365aba0d95e0a0af968ad5eba2f\",\"codeHash\":\"0x6dcd2bafa5199034961483bcf8ccdfa0b082b309ca07b02a9bef6667243f3267\",\"accountProof\":[\"0xabc\"],\"storageProof\":[]}",
		"{\"address\":\"0x5fbdb2315678afecb367f032d93f642f64180aa3\",\"balance\":\"0x0\",\"nonce\":\"0x1\",\"storageHash\":\"0x7edcd99be7c83c08252564528f0677446a89d365aba0d95e0a0af968ad5eba2f\",\"codeHash\":\"0x6dcd2bafa5199034961483bcf8ccdfa0b082b309ca07b02a9bef6667243f3267\",\"accountProof\":[\"0xzz\"],\"storageProof\":[]}",
		"{\"address\":\"0x5fbdb2315678afecb367f032d93f642f64180aa3\",\"balance\":\"0x0\",\"nonce\":\"0x1\",\"storageHash\":\"0x7edcd99be7c83c08252564528f0677446a89d365aba0d95e0a0af968ad5eba2f\",\"codeHash\":\"0x6dcd2bafa5199034961483bcf8ccdfa0b082b309ca07b02a9bef6667243f3267\",\"accountProof\":[1],\"storageProof\":[]}",
		"{\"address\":\"0x5fbdb2315678afecb367f032d93f642f64180aa3\",\"balance\":\"0x0\",\"nonce\":\"0x10000000000000000\",\"storageHash\":\"0x7edcd99be7c83c08252564528f0677446a89d365aba0d95e0a0af968ad5eba2f\",\"codeHash\":\"0x6dcd2bafa5199034961483bcf8ccdfa0b082b309ca07b02a9bef6667243f3267\",\"accountProof\":[],\"storageProof\":[]}",
		"{\"address\":\"0x5fbdb2315678afecb367f032d93f642f64180aa3\",\"balance\":\"0x0\",\"nonce\":\"0x1\",\"storageHash\":\"0x7edcd99be7c83c08252564528f0677446a89d365aba0d95e0a0af968ad5eba2f\",\"codeHash\":\"0x6dcd2bafa5199034961483bcf8ccdfa0b082b309ca07b02a9bef6667243f3267\",\"accountProof\":[],\"storageProof\":[{\"key\":\"0x00\"}]}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *j = cJSON_Parse(bad[i]);

		assert_non_null(j);
		assert_int_not_equal(dpk_proof_from_json(j, &p), 0);
		cJSON_Delete(j);
	}
	/* more nodes than the cap in one proof */
	{
		cJSON *j = cJSON_Duplicate(good, 1), *ap = cJSON_GetObjectItem(j, "accountProof");

		while (cJSON_GetArraySize(ap) <= DPK_MPT_MAX_NODES)
			cJSON_AddItemToArray(ap, cJSON_CreateString("0x80"));
		assert_int_equal(dpk_proof_from_json(j, &p), DPK_ERR_TOOBIG);
		cJSON_Delete(j);
	}
	/* the real answer, and the same with one claimed value changed */
	assert_int_equal(dpk_hex_decode_exact(cJSON_GetStringValue(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(doc, "block"), "stateRoot")), root, 32), 0);
	assert_int_equal(dpk_proof_from_json(good, &p), 0);
	for (size_t i = 0; i < p.nslots; i++)
		memcpy(slots[i], p.slots[i].key, 32);
	assert_int_equal(dpk_proof_verify(&p, root, p.address, (const uint8_t (*)[32])slots, p.nslots, &a, words), 0);
	p.slots[1].claimed[31] ^= 1;
	assert_int_equal(dpk_proof_verify(&p, root, p.address, (const uint8_t (*)[32])slots, p.nslots, &a, words),
	    DPK_ERR_PROOF);
	p.slots[1].claimed[31] ^= 1;
	/* asking for other slots than those answered */
	slots[2][0] ^= 1;
	assert_int_equal(dpk_proof_verify(&p, root, p.address, (const uint8_t (*)[32])slots, p.nslots, &a, words),
	    DPK_ERR_PROOF);
	dpk_proof_free(&p);
	cJSON_Delete(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trie_vectors),
		cmocka_unit_test(test_anvil_proof),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_proof_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
