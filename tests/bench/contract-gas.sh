#!/bin/sh
# Gas of every operation of contracts/DPK.sol, and of a lookup at n = 1, 100
# and 10,000 registered identities, next to the paper's appendix A contract
# (tests/bench/paper/PaperDPK.sol, ported to 0.8), in one run on a fresh
# anvil (started on a free loopback port, stopped on exit).
#
# Operations run on the real DPK.sol bytecode (contracts/DPK.bin). Lookups run
# on bench-only subclasses (tests/bench/Seeders.sol: DPKBench, PaperDPKBench)
# that add seed(start, count): it stores `count` approved identities in one
# transaction exactly as approval leaves them, in batches of 1,000, so 10,000
# identities take 10 transactions per contract instead of 20,000. The lookup
# code is the unchanged inherited getClient. Identity i is "node<i>.example";
# "first" is node0 (registered first: the paper's loop walks all n records),
# "last" is the newest, "miss" is an identity nobody registered. Our first and
# last differ only by the longer name's calldata and canonical-form check.
# Lookup gas is eth_estimateGas; a call that reverts has no estimate, so its
# gas is taken from debug_traceCall and the revert is named.
#
# usage: tests/bench/contract-gas.sh   (needs scripts/setup's tools/node_modules)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/integration/contract-common.sh"

CAP=1000000000 # block gas limit, also the cap of eth_estimateGas / eth_call
node "$top/tests/bench/compile-bench.js" "$top" "$work/bin"
start_anvil --gas-limit "$CAP"

# thousands separators on the leading number of $1
fmt() {
	num=${1%% *} rest=${1#"${1%% *}"}
	case "$num" in *[!0-9]* | '') printf '%s' "$1"; return ;; esac
	printf '%s%s' "$(printf '%s' "$num" | sed ':a;s/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/;ta')" "$rest"
}
row() { printf '%-34s %16s %18s\n' "$1" "$(fmt "$2")" "$(fmt "$3")"; }
gas() { cat "$work/gas"; }
deploy_gas() { # KEY BINFILE -> sets D (address) and G (gas)
	tx=$("$CAST" send --rpc-url "$RPC" --private-key "$1" --async --create "$(cat "$2")")
	D=$("$CAST" receipt --rpc-url "$RPC" "$tx" contractAddress)
	G=$("$CAST" receipt --rpc-url "$RPC" "$tx" gasUsed)
}
name_hex() { "$CAST" from-utf8 "node$1.example"; }

# lookup CONTRACT SIG ARGS... -> "gas" or "gas (reverts: why)"
lookup() {
	c=$1; shift
	if g=$("$CAST" estimate --rpc-url "$RPC" "$c" "$@" 2>"$work/err"); then
		printf '%s' "$g"
		return
	fi
	data=$("$CAST" calldata "$@")
	"$CAST" rpc --rpc-url "$RPC" debug_traceCall "{\"to\":\"$c\",\"data\":\"$data\",\"gas\":\"$(printf '0x%x' "$CAP")\"}" \
		latest '{"tracer":"callTracer"}' >"$work/trace" 2>&1 || true
	node -e '
		const t = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
		const g = BigInt(t.gasUsed).toString();
		const nf = "0x5a480896"; // NotFound(bytes32)
		let why = t.error || "reverted";
		if (t.output && t.output.startsWith(nf)) why = "NotFound(0x" + t.output.slice(10, 18) + "...)";
		else if (/out of gas/i.test(why)) why = "out of gas at the " + process.argv[2] + " cap";
		process.stdout.write(g + " FAILS: " + why);' "$work/trace" "$(fmt "$CAP")"
}

echo "DPK contract gas (solc 0.8.37, optimizer 200 runs, EVM london; anvil $("$ANVIL" --version | head -n 1 | cut -d' ' -f3))"
echo
printf '%-34s %16s %18s\n' "operation" "DPK.sol (ours)" "paper, appendix A"
printf '%-34s %16s %18s\n' "---------" "--------------" "-----------------"

# ---- ours: every operation on the real bytecode
deploy_gas "$K0" "$top/contracts/DPK.bin"; C=$D; ours_deploy=$G
deploy_gas "$K0" "$work/bin/PaperDPK.bin"; P=$D; paper_deploy=$G
row "deploy" "$ours_deploy" "$paper_deploy"

send "$K0" "$C" 'addApprover(address)' "$A1"; row "addApprover" "$(gas)" "- (owner only)"

pkm_key=0x04$(printf '%0128x' 99)
send "$K1" "$C" 'storePKMKey(bytes)' "$pkm_key"; ours=$(gas)
send "$K0" "$P" 'storePKMKey(string)' "${pkm_key#0x}"; row "storePKMKey (65-byte key)" "$ours" "$(gas)"

dev=$("$CAST" from-utf8 device.example.org)
pub=$(p256_pub 7)
token_hash=$("$CAST" keccak dpk-bench-token)
send "$K2" "$C" 'addClient(uint8,bytes,uint8,bytes,bytes32)' 1 "$dev" 1 "$pub" "$token_hash"; ours=$(gas)
send "$K2" "$P" 'addClient(string,string,string)' device.example.org "${pub#0x}" dpk-bench-token
row "addClient" "$ours" "$(gas)"
rh=$("$CAST" call --rpc-url "$RPC" "$C" 'pendingRecordHash(address)(bytes32)' "$A2")
send "$K1" "$C" 'approveClient(address,bytes32)' "$A2" "$rh"; ours=$(gas)
send "$K0" "$P" 'approveClient(string)' dpk-bench-token; row "approveClient" "$ours" "$(gas)"

# register: one transaction with the approver's EIP-712 signature
reg=$("$CAST" from-utf8 laptop.example.org)
reg_pub=$(p256_pub 8)
idh=$("$CAST" call --rpc-url "$RPC" "$C" 'identityHash(uint8,bytes)(bytes32)' 1 "$reg")
expiry=$(( $(date +%s) + 3600 ))
digest=$("$CAST" call --rpc-url "$RPC" "$C" \
	'registrationDigest(bytes32,bytes32,uint8,address,uint64,uint256)(bytes32)' \
	"$idh" "$("$CAST" keccak "$reg_pub")" 1 "$A3" "$expiry" 1)
sig=$("$CAST" wallet sign --no-hash --private-key "$K1" "$digest")
send "$K3" "$C" 'register(uint8,bytes,uint8,bytes,uint64,uint256,bytes)' 1 "$reg" 1 "$reg_pub" "$expiry" 1 "$sig"
row "register (EIP-712, 1 tx)" "$(gas)" "-"

# registerRelayed: the PKM (A1) sends the request its device signed; the
# device's wallet (private key 1) holds no ether. nonce = the record's version, 0.
rel=$("$CAST" from-utf8 relayed.example.org)
rel_pub=$(p256_pub 10)
rel_dev_key=0x0000000000000000000000000000000000000000000000000000000000000001
rel_dev=$("$CAST" wallet address --private-key "$rel_dev_key")
rel_idh=$("$CAST" call --rpc-url "$RPC" "$C" 'identityHash(uint8,bytes)(bytes32)' 1 "$rel")
digest=$("$CAST" call --rpc-url "$RPC" "$C" \
	'relayedRegistrationDigest(bytes32,bytes32,uint8,address,address,uint64,uint256)(bytes32)' \
	"$rel_idh" "$("$CAST" keccak "$rel_pub")" 1 "$rel_dev" "$A1" "$expiry" 0)
sig=$("$CAST" wallet sign --no-hash --private-key "$rel_dev_key" "$digest")
send "$K1" "$C" 'registerRelayed(uint8,bytes,uint8,bytes,address,uint64,uint256,bytes)' 1 "$rel" 1 "$rel_pub" \
	"$rel_dev" "$expiry" 0 "$sig"
row "registerRelayed (PKM relays, 1 tx)" "$(gas)" "-"

dev_h=$("$CAST" call --rpc-url "$RPC" "$C" 'identityHash(uint8,bytes)(bytes32)' 1 "$dev")
send "$K2" "$C" 'rotate(bytes32,uint8,bytes)' "$dev_h" 1 "$(p256_pub 9)"; row "rotate (controller)" "$(gas)" "-"
send "$K2" "$C" 'revoke(bytes32)' "$dev_h"; row "revoke (controller)" "$(gas)" "-"
send "$K1" "$C" 'revoke(bytes32)' "$idh"; row "revoke (approver)" "$(gas)" "-"
send "$K0" "$C" 'transferOwnership(address)' "$A3"; row "transferOwnership" "$(gas)" "-"
send "$K3" "$C" 'acceptOwnership()'; row "acceptOwnership" "$(gas)" "-"
row "getClient, this deployment (hit)" \
	"$(lookup "$C" 'getClient(uint8,bytes)' 1 "$reg")" "$(lookup "$P" 'getClient(string)' device.example.org)"
row "getPKMKey" "$(lookup "$C" 'getPKMKey(address)' "$A1")" "$(lookup "$P" 'getPKMKey()')"

# ---- lookups at n = 1, 100, 10,000
deploy_gas "$K0" "$work/bin/DPKBench.bin"; CB=$D
deploy_gas "$K0" "$work/bin/PaperDPKBench.bin"; PB=$D
miss=$("$CAST" from-utf8 nobody.example)
echo
echo "lookup gas: eth_estimateGas of getClient (seeded with tests/bench/Seeders.sol)"
printf '%-7s %-9s %-52s %s\n' "n" "contract" "first (node0)  /  last" "miss"
have=0
for n in 1 100 10000; do
	while [ "$have" -lt "$n" ]; do
		count=$((n - have)); [ "$count" -le 1000 ] || count=1000
		send "$K0" "$CB" 'seed(uint256,uint256)' "$have" "$count"
		send "$K0" "$PB" 'seed(uint256,uint256)' "$have" "$count"
		have=$((have + count))
	done
	last=$((n - 1))
	o_first=$(lookup "$CB" 'getClient(uint8,bytes)' 1 "$(name_hex 0)")
	o_last=$(lookup "$CB" 'getClient(uint8,bytes)' 1 "$(name_hex "$last")")
	o_miss=$(lookup "$CB" 'getClient(uint8,bytes)' 1 "$miss")
	p_first=$(lookup "$PB" 'getClient(string)' node0.example)
	p_last=$(lookup "$PB" 'getClient(string)' "node$last.example")
	p_miss=$(lookup "$PB" 'getClient(string)' nobody.example)
	printf '%-7s %-9s %-52s %s\n' "$(fmt "$n")" ours "$(fmt "$o_first")  /  $(fmt "$o_last")" "$(fmt "$o_miss")"
	printf '%-7s %-9s %-52s %s\n' "" paper "$(fmt "$p_first")  /  $(fmt "$p_last")" "$(fmt "$p_miss")"
done
