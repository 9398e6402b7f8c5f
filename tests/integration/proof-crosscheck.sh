#!/bin/sh
# EIP-1186 proofs from a real anvil, verified by two implementations that share
# no code: ours (lib/eth/mpt, lib/eth/header through tests/harness/dpk-proof-check)
# and @ethereumjs/mpt from npm (tests/integration/proof-crosscheck.mjs). The
# DPK registry is deployed and one identity approved; the proof asks for the
# contract's slot 0, the record's four slots and an absent record; then for an address with no account at all. Both verifiers
# must print the same facts, and ours must refuse the answer once one node is
# altered. With --save FILE the first answer is also written to FILE (how
# tests/data/mpt/anvil-proof.json was made).
set -eu
top=$(cd "${srcdir:-$(dirname "$0")/../..}" && pwd)
build=${DPK_TOP_BUILDDIR:-$top}
check="$build/tests/harness/dpk-proof-check"
idhash="$build/tests/harness/dpk-identity-hash"
for t in "$check" "$idhash"; do
	[ -x "$t" ] || { echo "proof-crosscheck: $t not built (make check builds it)" >&2; exit 1; }
done
save=""
[ "${1:-}" = "--save" ] && save=$2
. "$top/tests/integration/contract-common.sh"

fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

start_anvil
C=$(deploy "$K0" "$(cat "$top/contracts/DPK.bin")")
send "$K0" "$C" 'addApprover(address)' "$A1"
set -- $("$idhash" 'proof.example.org')
kind=$1 value=$2 idh=$3
# a real P-256 key: the contract stores x and y's parity, and refuses points off the curve
pub=0x$(openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl ec -pubout -conv_form uncompressed \
	-outform DER 2>/dev/null | tail -c 65 | od -An -v -tx1 | tr -d ' \n')
send "$K2" "$C" 'addClient(uint8,bytes,uint8,bytes,bytes32)' "$kind" "$value" 1 "$pub" "$("$CAST" keccak t)"
rh=$("$CAST" call --rpc-url "$RPC" "$C" 'pendingRecordHash(address)(bytes32)' "$A2")
send "$K1" "$C" 'approveClient(address,bytes32)' "$A2" "$rh"

add() { node -e 'console.log("0x"+(BigInt(process.argv[1])+BigInt(process.argv[2])).toString(16).padStart(64,"0"))' "$1" "$2"; }
# the layout of contracts/README.md: a record's four slots (P-256 x in the
# third, an RSA key's length word in the fourth), slot 0, an absent record
base=$("$CAST" index bytes32 "$idh" 4)
absent=$("$CAST" index bytes32 "$("$CAST" keccak nobody)" 4)
slots="\"0x$(printf '%064x' 0)\",\"$base\",\"$(add "$base" 1)\",\"$(add "$base" 2)\",\"$(add "$base" 3)\",\"$absent\""

rpc() { curl -s -H 'content-type: application/json' --data "$1" "$RPC"; }
for who in "$C" 0x000000000000000000000000000000000000dEaD; do
	block=$(rpc '{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["latest",false]}')
	num=$(printf '%s' "$block" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).result.number)')
	proof=$(rpc "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"eth_getProof\",\"params\":[\"$who\",[$slots],\"$num\"]}")
	doc=$(node -e 'const [b,p]=process.argv.slice(1,3).map(JSON.parse);
		console.log(JSON.stringify({block:b.result,proof:p.result,publicKey:process.argv[3]}))' "$block" "$proof" "$pub")
	[ -n "$save" ] && [ "$who" = "$C" ] && printf '%s\n' "$doc" >"$save"
	printf '%s' "$doc" >"$work/doc.json"
	ours=$("$check" <"$work/doc.json") || { bad "dpk-proof-check refused anvil's proof for $who"; continue; }
	theirs=$(node "$top/tests/integration/proof-crosscheck.mjs" <"$work/doc.json") ||
		{ bad "@ethereumjs/mpt refused anvil's proof for $who"; continue; }
	if [ "$ours" = "$theirs" ]; then
		ok "$who: both verifiers agree ($(printf '%s\n' "$ours" | wc -l) facts)"
	else
		bad "$who: verifiers disagree"; printf 'ours:\n%s\ntheirs:\n%s\n' "$ours" "$theirs" >&2
	fi
	printf '%s\n' "$ours" | sed 's/^/  /'
	# one altered nibble in the deepest node of a storage proof (the
	# contract) or in the root node of the account proof (no account: its
	# slots need no nodes)
	node -e 'const d=JSON.parse(require("fs").readFileSync(process.argv[1]));
		const flip=(a,k)=>{const n=a[k],i=n.length-3;a[k]=n.slice(0,i)+(n[i]==="0"?"1":"0")+n.slice(i+1);};
		const s=d.proof.storageProof[1].proof;
		if (d.proof.storageHash.startsWith("0x56e81f17")) flip(d.proof.accountProof, 0); else flip(s, s.length-1);
		console.log(JSON.stringify(d))' "$work/doc.json" >"$work/bad.json"
	if "$check" <"$work/bad.json" >/dev/null 2>&1; then bad "$who: an altered proof was accepted"
	else ok "$who: an altered proof is refused"; fi
done
[ "$fails" -eq 0 ] || { echo "proof-crosscheck: $fails failure(s)" >&2; exit 1; }
echo "proof-crosscheck: all passed"
