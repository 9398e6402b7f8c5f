#!/bin/bash
# dpk-agent benchmark: lookup latency through the socket (cold: read from a
# local anvil; warm: from the cache), the agent's resident memory idle and
# after 10,000 lookups, and one-transaction registration wall time with
# anvil mining a block every 1 s and every 12 s. Prints figures beside the
# paper's (0.5 s per lookup, 11 to 30 s to register). Run from the repo after
# scripts/setup: tests/bench/agent-bench.sh
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build="$top/${BUILD_DIR:-build}"
make -C "$build" -s tests/bench/lookup-bench >/dev/null
anvil=$(ls "$top"/tools/node_modules/@foundry-rs/anvil-linux-*/bin/anvil | head -1)
work=$(mktemp -d /tmp/dpk-bench.XXXXXX)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
umask 077
printf '%s\n' ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 > "$work/owner.key"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

setup_chain() { # block_time
	port=$(free_port); rpc="http://127.0.0.1:$port"
	if [ "$1" = 0 ]; then "$anvil" --host 127.0.0.1 --port "$port" --silent & else
		"$anvil" --host 127.0.0.1 --port "$port" --silent --block-time "$1" & fi
	anvil_pid=$!; pids="$pids $anvil_pid"
	until "$build/admin/dpk-admin" --rpc "$rpc" chain-id >/dev/null 2>&1; do sleep 0.1; done
	contract=$("$build/admin/dpk-admin" --rpc "$rpc" --private-key-file "$work/owner.key" --quiet --timeout 120 deploy)
}

start_agent() { # name [identity token]
	cat > "$work/$1.conf" <<CONF
rpc_url = $rpc
chain_id = 31337
contract = $contract
state_dir = $work/$1
socket = $work/$1.sock
ssh_agent_socket = $work/$1-ssh.sock
${2:+identity = $2}
${3:+token_file = $3}
CONF
	"$build/dpk-agent/dpk-agent" -c "$work/$1.conf" 2>"$work/$1.log" &
	agent_pid=$!; pids="$pids $agent_pid"
	until [ -S "$work/$1.sock" ]; do
		kill -0 "$agent_pid" 2>/dev/null || { echo "bench: dpk-agent $1 did not start:" >&2; cat "$work/$1.log" >&2; exit 1; }
		sleep 0.05
	done
}

echo "== lookups (auto-mining anvil on loopback)"
setup_chain 0
start_agent lk
sleep 0.5
echo "agent RSS idle: $(rss_kb "$agent_pid") kB"
"$build/tests/bench/lookup-bench" "$work/lk.sock" cold 500
"$build/tests/bench/lookup-bench" "$work/lk.sock" warm 10000
echo "agent RSS after 10,500 lookups: $(rss_kb "$agent_pid") kB"
"$build/tests/bench/lookup-bench" "$work/lk.sock" warm 10000 >/dev/null
echo "agent RSS after 20,500 lookups: $(rss_kb "$agent_pid") kB"
echo "paper: 0.5 s per lookup (Ropsten, web3j)"

for bt in 1 12; do
	echo "== registration, one transaction, anvil mining every $bt s"
	setup_chain "$bt"
	pport=$(free_port)
	cat > "$work/pkm$bt.conf" <<CONF
rpc_url = $rpc
chain_id = 31337
contract = $contract
state_dir = $work/pkm$bt
listen = 127.0.0.1:$pport
CONF
	w=$("$build/pkm/dpk-pkm" -c "$work/pkm$bt.conf" init | sed -n 's/^wallet: \(0x[0-9a-fA-F]*\).*/\1/p')
	"$build/admin/dpk-admin" --rpc "$rpc" --private-key-file "$work/owner.key" --quiet fund "$w" 10000000000000000000
	"$build/admin/dpk-admin" --rpc "$rpc" --private-key-file "$work/owner.key" --quiet --contract "$contract" add-approver "$w"
	"$build/pkm/dpk-pkm" -c "$work/pkm$bt.conf" serve 2>"$work/pkm$bt.log" & pids="$pids $!"
	until (echo >"/dev/tcp/127.0.0.1/$pport") 2>/dev/null; do sleep 0.1; done
	"$build/pkm/dpk-pkm" -c "$work/pkm$bt.conf" enrol "bench$bt.example.org" --out "$work/tok$bt" >/dev/null
	start_agent "reg$bt" "bench$bt.example.org" "$work/tok$bt"
	t0=$(date +%s%3N)
	"$build/dpkctl/dpkctl" --socket "$work/reg$bt.sock" --json register --wait 120 >/dev/null
	t1=$(date +%s%3N)
	echo "registration wall time: $(( t1 - t0 )) ms (PKM funding transaction + approval + register(); block time $bt s)"
	# the same with a wallet funded beforehand: one transaction, register()
	"$build/pkm/dpk-pkm" -c "$work/pkm$bt.conf" enrol "pre$bt.example.org" --out "$work/pre$bt.tok" >/dev/null
	start_agent "pre$bt" "pre$bt.example.org" "$work/pre$bt.tok"
	wallet=$("$build/dpkctl/dpkctl" --socket "$work/pre$bt.sock" --json status | sed -n 's/.*"wallet":[^"]*"\(0x[0-9a-fA-F]*\)".*/\1/p')
	"$build/admin/dpk-admin" --rpc "$rpc" --private-key-file "$work/owner.key" --quiet fund "$wallet" 100000000000000000
	t0=$(date +%s%3N)
	"$build/dpkctl/dpkctl" --socket "$work/pre$bt.sock" --json register --wait 120 >/dev/null
	t1=$(date +%s%3N)
	echo "registration wall time, wallet already funded: $(( t1 - t0 )) ms (approval + one register() transaction)"
done
echo "paper: 11 to 30 s to store a key (Ropsten)"
