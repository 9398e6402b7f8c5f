#!/bin/sh
# Smoke test of contracts/DPK.sol on a real anvil, through cast: deploy, name
# an approver, addClient + approveClient, getClient (with its approver and
# serial), refusals decoded, approvers scoped to their own records; and
# lib/registry/identity.c (tests/harness/dpk-identity-hash) agrees with the contract's
# identityHash and isCanonical on a list of identities. The chain runs the
# London hardfork: the bytecode must deploy and run without Shanghai's PUSH0
# or Cancun's MCOPY/TSTORE (contracts/compile.js compiles for london).
set -eu
top=$(cd "${srcdir:-$(dirname "$0")/../..}" && pwd)
build=${DPK_TOP_BUILDDIR:-$top}
idhash="$build/tests/harness/dpk-identity-hash"
[ -x "$idhash" ] || { echo "contract-smoke: $idhash not built (make check builds it)" >&2; exit 1; }
. "$top/tests/integration/contract-common.sh"

fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
check_eq() { # what got want
	if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi
}

start_anvil --hardfork london
C=$(deploy "$K0" "$(cat "$top/contracts/DPK.bin")")
ok "deployed at $C (London: no PUSH0)"
check_eq "dpkVersion(): the DPK tag and interface 1" \
	"$("$CAST" call --rpc-url "$RPC" "$C" 'dpkVersion()(bytes4,uint32)' | tr '\n' ' ')" "0x44504b00 1 "
check_eq "owner is the deployer" "$("$CAST" call --rpc-url "$RPC" "$C" 'owner()(address)')" "$A0"

# Roles: the owner names an approver (PKM); nobody else can.
got=$(expect_revert 'NotOwner(address)' send --rpc-url "$RPC" --private-key "$K3" "$C" 'addApprover(address)' "$A3") &&
	check_eq "a stranger cannot add an approver (NotOwner)" "$got" "$A3" || bad "NotOwner not raised"
send "$K0" "$C" 'addApprover(address)' "$A1"
check_eq "approver added" "$("$CAST" call --rpc-url "$RPC" "$C" 'isApprover(address)(bool)' "$A1")" true

# The device (A2) asks for its identity; the token stays off chain, only its hash goes on.
set -- $("$idhash" 'Device.Example.ORG')
kind=$1 value=$2 idh=$3
pub=$(p256_pub 7)
token_hash=$("$CAST" keccak "dpk-demo-token")
send "$K2" "$C" 'addClient(uint8,bytes,uint8,bytes,bytes32)' "$kind" "$value" 1 "$pub" "$token_hash"
rh=$("$CAST" call --rpc-url "$RPC" "$C" 'pendingRecordHash(address)(bytes32)' "$A2")
want_rh=$("$CAST" keccak "$("$CAST" abi-encode 'f(bytes32,uint8,bytes32,bytes32,address)' \
	"$idh" 1 "$("$CAST" keccak "$pub")" "$token_hash" "$A2")")
check_eq "pendingRecordHash is the documented hash" "$rh" "$want_rh"

# Refusals before approval: a stranger approving, a wrong record hash, a miss.
got=$(expect_revert 'NotApprover(address)' send --rpc-url "$RPC" --private-key "$K3" "$C" \
	'approveClient(address,bytes32)' "$A2" "$rh") && check_eq "non-approver cannot approve" "$got" "$A3" ||
	bad "NotApprover not raised"
expect_revert 'RecordChanged(address,bytes32,bytes32)' send --rpc-url "$RPC" --private-key "$K1" "$C" \
	'approveClient(address,bytes32)' "$A2" "$token_hash" >/dev/null &&
	ok "approving a record other than the pending one is refused (RecordChanged)" || bad "RecordChanged not raised"
got=$(expect_revert 'NotFound(bytes32)' call --rpc-url "$RPC" "$C" 'getClient(uint8,bytes)' "$kind" "$value") &&
	check_eq "unknown identity is NotFound(identity hash)" "$got" "$idh" || bad "NotFound not raised"

send "$K1" "$C" 'approveClient(address,bytes32)' "$A2" "$rh"
ok "approveClient ($(cat "$work/gas") gas)"
# one value a line; cast appends "[1.7e9]"-style hints to big numbers: keep the first word
out=$("$CAST" call --rpc-url "$RPC" "$C" \
	'getClient(uint8,bytes)(bytes,uint8,address,uint8,uint32,uint64,uint64,address,uint64)' "$kind" "$value" |
	cut -d' ' -f1)
set -- $out
check_eq "getClient key" "$1" "$pub"
check_eq "getClient algorithm, controller, status, version" "$2 $3 $4 $5" "1 $A2 1 1"
check_eq "getClient validUntil while active" "$7" 0
check_eq "getClient approver, serial" "$8 $9" "$A1 1"

# The storage layout contracts/README.md documents (what storage proofs will
# read): records at mapping slot 4; slot 0 of a record packs validUntil,
# validFrom (uint40), status, keyInfo (algorithm, and the parity of y in bit
# 7), controller (high to low bytes); slot 1 version, serial, approver; slot 2
# a P-256 key's x; slot 3 an RSA key's bytes (empty here); slot 0 of the
# contract lastSerial and owner.
lc() { tr 'A-F' 'a-f'; }
rs=$("$CAST" index bytes32 "$idh" 4)
slot_plus() { node -e 'console.log("0x"+(BigInt(process.argv[1])+BigInt(process.argv[2])).toString(16).padStart(64,"0"))' "$1" "$2"; }
w0=$("$CAST" storage --rpc-url "$RPC" "$C" "$rs" | lc)
w1=$("$CAST" storage --rpc-url "$RPC" "$C" "$(slot_plus "$rs" 1)" | lc)
w2=$("$CAST" storage --rpc-url "$RPC" "$C" "$(slot_plus "$rs" 2)" | lc)
w3=$("$CAST" storage --rpc-url "$RPC" "$C" "$(slot_plus "$rs" 3)" | lc)
g0=$("$CAST" storage --rpc-url "$RPC" "$C" 0 | lc)
low() { printf '%s' "$1" | lc | sed 's/^0x//'; }
x=$(printf '%s' "$pub" | cut -c5-68)
ylast=$(printf '%s' "$pub" | cut -c132)
case $ylast in [13579bdf]) info=81 ;; *) info=01 ;; esac
check_eq "record slot 0: validUntil 0, status 1, keyInfo (algorithm 1, y parity), controller" \
	"$(printf '%s' "$w0" | cut -c3-12) $(printf '%s' "$w0" | cut -c23-66)" "0000000000 01$info$(low "$A2")"
check_eq "record slot 0: validFrom is getClient's" "$((0x$(printf '%s' "$w0" | cut -c13-22)))" "$6"
check_eq "record slot 1: version 1, serial 1, approver" "$w1" "0x000000010000000000000001$(low "$A1")"
check_eq "record slot 2: the key's x-coordinate" "$w2" "0x$x"
check_eq "record slot 3: no RSA key" "$((w3))" 0
check_eq "contract slot 0: lastSerial 1, owner" "$g0" "0x000000000000000000000001$(low "$A0")"

# A key off the curve is refused: the record keeps only x and a parity bit,
# so it could not serve the (x, y) it was given.
off=0x04${x}$(printf '%064x' 5)
got=$(expect_revert 'NotOnCurve(bytes32)' send --rpc-url "$RPC" --private-key "$K3" "$C" \
	'addClient(uint8,bytes,uint8,bytes,bytes32)' 1 "$("$CAST" from-utf8 off.example)" 1 "$off" "$token_hash") &&
	check_eq "a P-256 key off the curve is refused (NotOnCurve)" "$got" "0x$x" || bad "NotOnCurve not raised"

# Both parities round-trip: keys whose y is odd and even, each served back whole.
for pk in 1 2 3 4; do
	kp=$(p256_pub "$pk")
	send "$K3" "$C" 'addClient(uint8,bytes,uint8,bytes,bytes32)' 1 "$("$CAST" from-utf8 "k$pk.example")" 1 "$kp" \
		"$("$CAST" keccak "token-k$pk")"
	krh=$("$CAST" call --rpc-url "$RPC" "$C" 'pendingRecordHash(address)(bytes32)' "$A3")
	send "$K1" "$C" 'approveClient(address,bytes32)' "$A3" "$krh"
	got=$("$CAST" call --rpc-url "$RPC" "$C" \
		'getClient(uint8,bytes)(bytes,uint8,address,uint8,uint32,uint64,uint64,address,uint64)' 1 \
		"$("$CAST" from-utf8 "k$pk.example")" | head -n 1)
	check_eq "P-256 key $pk (y ends in $(printf '%s' "$kp" | cut -c132)) served back whole" "$got" "$kp"
done

# Rotating to an RSA key moves the key to slot 3 (long bytes: 2 * length + 1
# there, the data from keccak256(slot)) and clears slot 2; and back again.
k4h=$("$CAST" call --rpc-url "$RPC" "$C" 'identityHash(uint8,bytes)(bytes32)' 1 "$("$CAST" from-utf8 k4.example)")
k4=$("$CAST" index bytes32 "$k4h" 4)
rsa=0x30$(printf '%0196x' 1234567)
send "$K3" "$C" 'rotate(bytes32,uint8,bytes)' "$k4h" 2 "$rsa"
check_eq "after rotation to RSA: slot 2 cleared, slot 3 the key's length (2 * 99 + 1)" \
	"$(($("$CAST" storage --rpc-url "$RPC" "$C" "$(slot_plus "$k4" 2)"))) $(($("$CAST" storage --rpc-url "$RPC" "$C" "$(slot_plus "$k4" 3)")))" "0 199"
check_eq "RSA key and algorithm served as stored" "$("$CAST" call --rpc-url "$RPC" "$C" \
	'getClientByHash(bytes32)(bytes,uint8,address,uint8,uint32,uint64,uint64,address,uint64)' "$k4h" | head -n 2 | tr '\n' ' ')" "$rsa 2 "
send "$K3" "$C" 'rotate(bytes32,uint8,bytes)' "$k4h" 1 "$(p256_pub 5)"
check_eq "after rotation back to P-256: slot 3 cleared, key served" \
	"$(($("$CAST" storage --rpc-url "$RPC" "$C" "$(slot_plus "$k4" 3)"))) $("$CAST" call --rpc-url "$RPC" "$C" \
	'getClientByHash(bytes32)(bytes,uint8,address,uint8,uint32,uint64,uint64,address,uint64)' "$k4h" | head -n 1)" "0 $(p256_pub 5)"

# Another approver (A3) can neither revoke nor re-approve A1's identity.
send "$K0" "$C" 'addApprover(address)' "$A3"
got=$(expect_revert 'NotRecordApprover(bytes32,address,address)' send --rpc-url "$RPC" --private-key "$K3" "$C" \
	'revoke(bytes32)' "$idh" | tr '\n' ' ') &&
	check_eq "another approver cannot revoke (NotRecordApprover)" "$got" "$idh $A1 $A3 " ||
	bad "NotRecordApprover not raised"

# A second claim on an approved identity from someone else fails.
expect_revert 'IdentityTaken(bytes32,address)' send --rpc-url "$RPC" --private-key "$K3" "$C" \
	'addClient(uint8,bytes,uint8,bytes,bytes32)' "$kind" "$value" 1 "$pub" "$("$CAST" keccak other)" >/dev/null &&
	ok "duplicate identity refused (IdentityTaken)" || bad "IdentityTaken not raised"
got=$(expect_revert 'NonCanonicalIdentity(uint8,bytes)' call --rpc-url "$RPC" "$C" 'getClient(uint8,bytes)' 1 \
	"$("$CAST" from-utf8 Device.Example.org)" | tr '\n' ' ') &&
	ok "non-canonical identity refused (NonCanonicalIdentity $got)" || bad "NonCanonicalIdentity not raised"

# lib/registry/identity.c and the contract agree on canonical values and hashes.
for text in example.com EXAMPLE.com. xn--bcher-kva.example a-b.c0 localhost 192.0.2.1 0.0.0.0 \
	255.255.255.255 2001:db8::1 ::ffff:192.0.2.1 :: f81d4fae-7dec-11d0-a765-00a0c91e6bf6 \
	urn:uuid:F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6 \
	"$(printf 'a%.0s' $(seq 63)).$(printf 'b%.0s' $(seq 63)).$(printf 'c%.0s' $(seq 63)).$(printf 'd%.0s' $(seq 61))"; do
	set -- $("$idhash" "$text")
	c=$("$CAST" call --rpc-url "$RPC" "$C" 'isCanonical(uint8,bytes)(bool)' "$1" "$2")
	h=$("$CAST" call --rpc-url "$RPC" "$C" 'identityHash(uint8,bytes)(bytes32)' "$1" "$2")
	if [ "$c" = true ] && [ "$h" = "$3" ]; then ok "identity agrees: $text"; else bad "identity $text: C $3, contract $c $h"; fi
done
# ... and on values that are not canonical (kind, hex bytes).
for kv in 1:$("$CAST" from-utf8 Example.com) 1:$("$CAST" from-utf8 example.com.) 1:$("$CAST" from-utf8 -- -a.com) \
	1:$("$CAST" from-utf8 a-.com) 1:$("$CAST" from-utf8 a..b) 1:$("$CAST" from-utf8 1.2.3.4) \
	1:$("$CAST" from-utf8 a_b.com) 1:0x 1:$("$CAST" from-utf8 "$(printf 'x%.0s' $(seq 64)).com") \
	2:0xc00002 2:0xc000020100 3:0x20010db8 4:0x 0:0x01020304 5:0x00112233445566778899aabbccddeeff \
	1:0x6100 1:0x61c3; do
	k=${kv%%:*} v=${kv#*:}
	c_lib=$("$idhash" --check "$k" "$v")
	c_sol=$("$CAST" call --rpc-url "$RPC" "$C" 'isCanonical(uint8,bytes)(bool)' "$k" "$v")
	if [ "$c_lib" = false ] && [ "$c_sol" = false ]; then ok "both refuse $k:$v"; else
		bad "$k:$v: lib/registry/identity.c $c_lib, contract $c_sol"; fi
done

if [ "$fails" -ne 0 ]; then
	echo "contract-smoke: $fails check(s) failed" >&2
	exit 1
fi
echo "contract-smoke: all checks passed"
