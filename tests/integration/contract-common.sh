# Shared by contract-smoke.sh and tests/bench/contract-gas.sh (sourced, POSIX sh):
# finds cast/anvil/node, starts anvil on a free loopback port and stops it on
# exit (trap, also on failure), deploys contracts, and decodes reverts.
# Expects: top (source tree). Sets: CAST ANVIL RPC; defines the functions below.

# The npm launcher of cast (tools/node_modules/.bin/cast -> bin.mjs) always
# exits 0, so a revert would look like success; use the native binary beside it.
native_tool() { # $1 = path from the environment or tools/, $2 = tool name
	real=$(readlink -f "$1" 2>/dev/null || printf '%s' "$1")
	case "$real" in
	*.mjs | *.js)
		for b in "$(dirname "$real")"/../"$2"-linux-*/bin/"$2"; do
			[ -x "$b" ] && { printf '%s\n' "$b"; return 0; }
		done
		echo "contract tests: no native $2 beside $real" >&2
		return 1
		;;
	esac
	printf '%s\n' "$1"
}

# A Debian build has no Foundry: DPK_TEST_ALLOW_SKIP=1 (debian/rules) turns a
# missing tool into automake's SKIP (77); everywhere else it is a failure.
if [ "${DPK_TEST_ALLOW_SKIP:-}" = 1 ]; then
	for t in "${DPK_CAST:-$top/tools/node_modules/.bin/cast}" "${DPK_ANVIL:-$top/tools/node_modules/.bin/anvil}"; do
		[ -x "$t" ] || { echo "SKIP: $t not found (DPK_TEST_ALLOW_SKIP=1)" >&2; exit 77; }
	done
fi
CAST=$(native_tool "${DPK_CAST:-$top/tools/node_modules/.bin/cast}" cast) || exit 1
ANVIL=$(native_tool "${DPK_ANVIL:-$top/tools/node_modules/.bin/anvil}" anvil) || exit 1
[ -x "$CAST" ] || { echo "contract tests: cast not found (set DPK_CAST or run scripts/setup)" >&2; exit 1; }
[ -x "$ANVIL" ] || { echo "contract tests: anvil not found (set DPK_ANVIL or run scripts/setup)" >&2; exit 1; }
command -v node >/dev/null 2>&1 || { echo "contract tests: node not found" >&2; exit 1; }

# anvil's default dev accounts (mnemonic "test test ... junk"): public test keys.
K0=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
A0=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
K1=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
A1=0x70997970C51812dc3A010C7d01b50e0d17dc79C8
K2=0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
A2=0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC
K3=0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6
A3=0x90F79bf6EB2c4f870365E785982E1f101E93b906

work=$(mktemp -d)
anvil_pid=""
cleanup() {
	if [ -n "$anvil_pid" ]; then
		kill "$anvil_pid" 2>/dev/null
		wait "$anvil_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# p256_pub N: the uncompressed P-256 public key (0x04 || X || Y) of the
# private key N, a real point of the curve: the contract refuses any other.
p256_pub() {
	node -e 'const c = require("crypto").createECDH("prime256v1");
		c.setPrivateKey(Buffer.from(BigInt(process.argv[1]).toString(16).padStart(64, "0"), "hex"));
		console.log("0x" + c.getPublicKey("hex"));' "$1"
}

free_port() {
	node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

start_anvil() { # extra anvil arguments
	port=$(free_port)
	"$ANVIL" --host 127.0.0.1 --port "$port" --silent "$@" &
	anvil_pid=$!
	RPC="http://127.0.0.1:$port"
	i=0
	until "$CAST" chain-id --rpc-url "$RPC" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt 300 ] || { echo "contract tests: anvil did not start on $RPC" >&2; exit 1; }
		kill -0 "$anvil_pid" 2>/dev/null || { echo "contract tests: anvil exited" >&2; exit 1; }
		sleep 0.1
	done
}

# deploy KEY BYTECODE_HEX -> prints the contract address
deploy() {
	tx=$("$CAST" send --rpc-url "$RPC" --private-key "$1" --async --create "$2") || return 1
	"$CAST" receipt --rpc-url "$RPC" "$tx" contractAddress
}

# send KEY CONTRACT SIG ARGS... ; the receipt's gasUsed goes to $work/gas
send() {
	k=$1; shift
	"$CAST" send --rpc-url "$RPC" --private-key "$k" --json "$@" >"$work/receipt" 2>"$work/err" || {
		cat "$work/err" >&2; return 1; }
	node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
		if (r.status!=="0x1"&&r.status!==1) process.exit(1);
		process.stdout.write(String(BigInt(r.gasUsed))+"\n")' "$work/receipt" >"$work/gas"
}

# revert_data FILE: the 0x revert data cast printed on stderr
revert_data() {
	sed -n 's/.*data: "\(0x[0-9a-fA-F]*\)".*/\1/p' "$1" | head -n 1
}

# expect_revert 'Error(types)' CAST-ARGS... : the call/send must revert with
# exactly that custom error; prints the decoded arguments, one per line.
expect_revert() {
	sig=$1; shift
	if "$CAST" "$@" >"$work/out" 2>"$work/err"; then
		echo "expected $sig, but it succeeded: cast $*" >&2
		return 1
	fi
	data=$(revert_data "$work/err")
	want=$("$CAST" sig "$sig")
	case "$data" in
	"$want"*) "$CAST" decode-error --sig "$sig" "$data" ;;
	*)
		echo "expected $sig ($want), got revert data '${data:-none}':" >&2
		cat "$work/err" >&2
		return 1
		;;
	esac
}
