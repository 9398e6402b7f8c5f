// Verify an eth_getProof answer (EIP-1186) with an independent implementation,
// @ethereumjs/mpt (pinned in tools/package.json), against the stateRoot of the
// block it was read at. Input on stdin: {"block": eth_getBlockByNumber result,
// "proof": eth_getProof result}. Prints one line per fact, in the same form as
// tests/harness/dpk-proof-check, so the two can be compared line by line:
//   account <address> <exists 0|1> <nonce> <balance> <storageRoot> <codeHash>
//   slot <key> <value as 32-byte hex>
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const require = createRequire(new URL('../../tools/package.json', import.meta.url));
const { verifyMerkleProof } = require('@ethereumjs/mpt');
const { RLP } = require('@ethereumjs/rlp');
const { keccak_256 } = require('@noble/hashes/sha3.js');

const b = (h) => Buffer.from(h.replace(/^0x/, '').padStart(h.length % 2 ? h.length - 1 : 0, '0'), 'hex');
const hex = (u) => '0x' + Buffer.from(u).toString('hex');
const word = (u) => '0x' + Buffer.from(u).toString('hex').padStart(64, '0');
const big = (u) => (u.length === 0 ? 0n : BigInt(hex(u)));

const doc = JSON.parse(readFileSync(0, 'utf8'));
const root = b(doc.block.stateRoot);
const p = doc.proof;
const proofOf = (nodes) => nodes.map(b);

const verify = async (rootHash, key, nodes) => {
	if (hex(rootHash) === '0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421') return null;
	return verifyMerkleProof(Buffer.from(keccak_256(key)), proofOf(nodes), { root: rootHash, useKeyHashing: false });
};

const acct = await verify(root, b(p.address), p.accountProof);
let storageRoot = b('0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421');
if (acct === null) {
	console.log(`account ${p.address.toLowerCase()} 0`);
} else {
	const [nonce, balance, sr, ch] = RLP.decode(acct);
	storageRoot = sr;
	console.log(`account ${p.address.toLowerCase()} 1 ${big(nonce)} ${big(balance)} ${hex(sr)} ${hex(ch)}`);
}
for (const s of p.storageProof) {
	const key = b(s.key.length === 66 ? s.key : '0x' + s.key.slice(2).padStart(64, '0'));
	const v = await verify(storageRoot, key, s.proof);
	console.log(`slot ${word(key)} ${v === null ? word(new Uint8Array()) : word(RLP.decode(v))}`);
}
