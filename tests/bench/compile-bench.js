#!/usr/bin/env node
// Compiles the bench contracts (paper/PaperDPK.sol, Seeders.sol, and
// contracts/DPK.sol they import) with the same solc settings as
// contracts/compile.js, and writes NAME.bin (creation bytecode hex) into DIR.
// usage: node compile-bench.js TOP_SRCDIR DIR
'use strict';
const fs = require('fs');
const path = require('path');

const [top, out] = process.argv.slice(2);
if (!top || !out) {
	process.stderr.write('usage: node compile-bench.js TOP_SRCDIR DIR\n');
	process.exit(2);
}
const solc = require(fs.realpathSync(path.join(top, 'tools', 'node_modules', 'solc')));
const files = ['contracts/DPK.sol', 'tests/bench/paper/PaperDPK.sol', 'tests/bench/Seeders.sol'];
const sources = {};
for (const f of files) sources[f] = { content: fs.readFileSync(path.join(top, f), 'utf8') };
const input = {
	language: 'Solidity',
	sources,
	settings: {
		optimizer: { enabled: true, runs: 200 },
		evmVersion: 'london', // as contracts/compile.js
		outputSelection: { '*': { '*': ['evm.bytecode.object'] } },
	},
};
const res = JSON.parse(solc.compile(JSON.stringify(input)));
let failed = false;
for (const e of res.errors || []) {
	if (e.severity === 'error') failed = true;
	if (e.severity === 'error') process.stderr.write(e.formattedMessage);
}
if (failed) process.exit(1);
fs.mkdirSync(out, { recursive: true });
for (const [file, contracts] of Object.entries(res.contracts)) {
	for (const [name, c] of Object.entries(contracts)) {
		if (c.evm.bytecode.object.length) fs.writeFileSync(path.join(out, `${name}.bin`), c.evm.bytecode.object + '\n');
	}
}
