// A JSON-RPC endpoint for the tests that forwards to a real node (anvil) and
// lies in the way the file MODEFILE names (read on every request, so a test
// switches modes without restarting it; no file: honest, a plain forwarding
// proxy, which is how one anvil serves as two honest endpoints):
//   honest   forward untouched
//   call     eth_call answers a forged getClient record (an active P-256 key)
//   proof    eth_getProof: every storage word claimed 0x...01 and one byte of
//            each storage proof's last node altered
//   header   eth_getBlockByNumber: a self-consistent forged header (another
//            stateRoot, its hash recomputed), so only a quorum can tell
//   chain    eth_chainId answers chain 1
//   garbage  HTTP 200 with a body that is not JSON
//   big      HTTP 200 with a 5 MiB body (over the agent's 4 MiB cap)
//   id       the right answer under the wrong id
//   count    honest, and each request's method appended to MODEFILE.methods
//   receipt  eth_sendRawTransaction is swallowed (answered with the hash, never
//            sent); its eth_getTransactionReceipt: a forged "success" without logs
//   slow:MS  honest, each answer MS milliseconds late (a far or loaded provider)
//   range:N  eth_getLogs over more than N blocks refused the way providers do
//            (-32005 "block range too large"); every eth_getLogs span asked
//            is appended to MODEFILE.log as "FROM TO ok|refused"
// Usage: node hostile-rpc.mjs PORT UPSTREAM_URL MODEFILE
import { createServer } from 'node:http';
import { readFileSync, appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(new URL('../../tools/package.json', import.meta.url));
const { RLP } = require('@ethereumjs/rlp');
const { keccak_256 } = require('@noble/hashes/sha3.js');

const [port, upstream, modefile] = process.argv.slice(2);
const mode = () => { try { return readFileSync(modefile, 'utf8').trim(); } catch { return 'honest'; } };
const hex = (u) => '0x' + Buffer.from(u).toString('hex');
const b = (h) => { h = h.replace(/^0x/, ''); return Buffer.from(h.length % 2 ? '0' + h : h, 'hex'); };
const q = (h) => { const x = b(h); let i = 0; while (i < x.length && x[i] === 0) i++; return x.subarray(i); };
const word = (n) => n.toString(16).padStart(64, '0');

// getClient's return: (bytes,uint8,address,uint8,uint32,uint64,uint64,address,uint64)
const forgedRecord = '0x' + word(0x120) + word(1) + word(0xbad) + word(1) + word(1) + word(1) + word(0) +
	word(0xbad) + word(1) + word(65) + '04' + '11'.repeat(64) + '00'.repeat(31);

const fields = [['parentHash', 'b'], ['sha3Uncles', 'b'], ['miner', 'b'], ['stateRoot', 'b'],
	['transactionsRoot', 'b'], ['receiptsRoot', 'b'], ['logsBloom', 'b'], ['difficulty', 'q'], ['number', 'q'],
	['gasLimit', 'q'], ['gasUsed', 'q'], ['timestamp', 'q'], ['extraData', 'b'], ['mixHash', 'b'], ['nonce', 'b'],
	['baseFeePerGas', 'q'], ['withdrawalsRoot', 'b'], ['blobGasUsed', 'q'], ['excessBlobGas', 'q'],
	['parentBeaconBlockRoot', 'b'], ['requestsHash', 'b']];
function forgeHeader(blk) {
	if (!blk) return blk;
	blk.stateRoot = '0x' + '5a'.repeat(32);
	const list = [];
	for (const [k, t] of fields) if (blk[k] !== undefined && blk[k] !== null) list.push(t === 'b' ? b(blk[k]) : q(blk[k]));
	blk.hash = hex(keccak_256(RLP.encode(list)));
	return blk;
}

const swallowed = new Set();

function lie(m, req, res) {
	if (m === 'call' && req.method === 'eth_call') res.result = forgedRecord;
	if (m === 'chain' && req.method === 'eth_chainId') res.result = '0x1';
	if (m === 'header' && req.method === 'eth_getBlockByNumber') res.result = forgeHeader(res.result);
	if (m === 'proof' && req.method === 'eth_getProof' && res.result) {
		for (const s of res.result.storageProof) {
			s.value = '0x1';
			const n = s.proof.length - 1;
			if (n >= 0) { const x = s.proof[n], i = x.length - 5; s.proof[n] = x.slice(0, i) + (x[i] === 'a' ? 'b' : 'a') + x.slice(i + 1); }
		}
	}
	if (m === 'id') res.id = (typeof res.id === 'number' ? res.id : 0) + 1000;
	if (m === 'receipt' && req.method === 'eth_getTransactionReceipt' && swallowed.has(req.params[0]))
		res.result = { transactionHash: req.params[0], blockHash: '0x' + '77'.repeat(32), blockNumber: '0x1',
			gasUsed: '0x5208', status: '0x1', effectiveGasPrice: '0x1', logs: [] };
	return res;
}

createServer((inc, out) => {
	const chunks = [];
	inc.on('data', (c) => chunks.push(c));
	inc.on('end', async () => {
		const body = Buffer.concat(chunks).toString();
		const m = mode();
		if (m === 'count') {
			const req = JSON.parse(body);
			appendFileSync(modefile + '.methods', (Array.isArray(req) ? req : [req]).map((x) => x.method + '\n').join(''));
		}
		if (m.startsWith('range:')) {
			const req = JSON.parse(body), max = Number(m.slice(6));
			if (req.method === 'eth_getLogs') {
				const from = Number(req.params[0].fromBlock), to = Number(req.params[0].toBlock);
				const refuse = to - from + 1 > max;
				appendFileSync(modefile + '.log', `${from} ${to} ${refuse ? 'refused' : 'ok'}\n`);
				if (refuse) {
					out.writeHead(200, { 'content-type': 'application/json' });
					out.end(JSON.stringify({ jsonrpc: '2.0', id: req.id,
						error: { code: -32005, message: `block range too large: at most ${max} blocks` } }));
					return;
				}
			}
		}
		if (m.startsWith('slow:')) await new Promise((done) => setTimeout(done, Number(m.slice(5))));
		if (m === 'garbage') { out.writeHead(200, { 'content-type': 'application/json' }); out.end('garbage'); return; }
		if (m === 'big') { out.writeHead(200, { 'content-type': 'application/json' }); out.end(' '.repeat(5 << 20)); return; }
		if (m === 'receipt') {
			const req = JSON.parse(body);
			if (!Array.isArray(req) && req.method === 'eth_sendRawTransaction') {
				const h = hex(keccak_256(b(req.params[0])));
				swallowed.add(h);
				out.writeHead(200, { 'content-type': 'application/json' });
				out.end(JSON.stringify({ jsonrpc: '2.0', id: req.id, result: h }));
				return;
			}
		}
		try {
			const r = await fetch(upstream, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
			const text = await r.text();
			let send = text;
			if (m !== 'honest' && m !== 'count' && !m.startsWith('range:') && !m.startsWith('slow:')) {
				const req = JSON.parse(body), res = JSON.parse(text);
				send = JSON.stringify(Array.isArray(req) ? res.map((x, i) => lie(m, req[i], x)) : lie(m, req, res));
			}
			out.writeHead(r.status, { 'content-type': 'application/json' });
			out.end(send);
		} catch (e) {
			out.writeHead(502); out.end(String(e));
		}
	});
}).listen(Number(port), '127.0.0.1', () => console.log(`hostile-rpc on ${port} -> ${upstream}`));
