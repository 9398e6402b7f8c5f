// Turn the published trie vectors (ethereum/tests TrieTests, copied beside
// this file) into proofs made by an independent implementation, @ethereumjs/mpt
// (pinned in tools/package.json): each trie is built with it, its root must be
// the vector's published root, and a proof is made for every key inserted and
// for a few keys that are not in the trie. tests/unit/eth/test_mpt checks our
// verifier against every proof. Run from the top of the tree:
//   node tests/data/mpt/mpt-proofs.mjs > tests/data/mpt/proofs.json
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const require = createRequire(new URL('../../../tools/package.json', import.meta.url));
const { createMPT, createMerkleProof } = require('@ethereumjs/mpt');
const { keccak_256: keccak256 } = require('@noble/hashes/sha3.js');

const dir = new URL('.', import.meta.url);
const hex = (b) => '0x' + Buffer.from(b).toString('hex');
const bytes = (s) => (s === null ? null : s.startsWith('0x') ? Buffer.from(s.slice(2), 'hex') : Buffer.from(s, 'utf8'));

const files = ['trietest', 'trieanyorder', 'hex_encoded_securetrie_test', 'trietest_secureTrie', 'trieanyorder_secureTrie'];
const out = [];
for (const f of files) {
	const secure = /secure/i.test(f);
	const tests = JSON.parse(readFileSync(new URL(f + '.json', dir)));
	for (const [name, t] of Object.entries(tests)) {
		const ins = Array.isArray(t.in) ? t.in : Object.entries(t.in);
		const trie = await createMPT({ useKeyHashing: false });
		const final = new Map();
		const tk = (k) => (secure ? Buffer.from(keccak256(k)) : k);
		for (const [k, v] of ins) {
			const key = tk(bytes(k));
			const val = bytes(v);
			if (val === null || val.length === 0) { await trie.del(key); final.delete(hex(key)); }
			else { await trie.put(key, val); final.set(hex(key), val); }
		}
		if (hex(trie.root()) !== t.root) throw new Error(`${f}/${name}: root ${hex(trie.root())} != ${t.root}`);
		const keys = new Set([...final.keys()]);
		for (const [k] of ins) keys.add(hex(tk(bytes(k)))); // deleted ones are absent
		for (const extra of ['0x', '0x00', '0x64', '0x646f67', '0x646f6767', 'ff'.repeat(32)]) keys.add(extra.startsWith('0x') ? extra : '0x' + extra);
		for (const k of keys) {
			const key = bytes(k);
			const proof = await createMerkleProof(trie, key);
			const v = final.get(k);
			out.push({ name: `${f}/${name}`, root: t.root, key: k, value: v ? hex(v) : null, proof: proof.map(hex) });
		}
	}
}
process.stdout.write(JSON.stringify(out, null, 0).replace(/\},\{/g, '},\n{') + '\n');
