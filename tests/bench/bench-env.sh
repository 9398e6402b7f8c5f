# Sourced by the shell benchmarks (login-bench.sh, nss-bench.sh): a local
# chain with the registry, a PKM that approves registrations, and a real
# dpk-agent registered the way a device registers (dpk-pkm enrol, dpkctl
# register). Needs build, anvil, work (a private temporary directory) and
# pids (background processes the caller's cleanup kills).

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# dpk-admin as anvil's first dev account (a public test key)
admin() { "$build/admin/dpk-admin" --rpc "$rpc" --private-key-file "$work/owner.key" --quiet "$@"; }

# bench_chain IDENTITY [BLOCK_TIME]: anvil on a free port (rpc, anvil_pid;
# mining on every transaction, or every BLOCK_TIME seconds), the registry
# (contract), a PKM (its log $work/pkm.log, its wallet $pkm_wallet) that
# approves registrations, and an enrolment token for IDENTITY in $work/tok
bench_chain() {
	printf '%s\n' ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 > "$work/owner.key"
	port=$(free_port); rpc="http://127.0.0.1:$port"
	"$anvil" --host 127.0.0.1 --port "$port" --silent ${2:+--block-time "$2"} & anvil_pid=$!; pids="$pids $anvil_pid"
	until "$build/admin/dpk-admin" --rpc "$rpc" chain-id >/dev/null 2>&1; do sleep 0.1; done
	contract=$(admin --timeout 120 deploy)
	pport=$(free_port)
	cat > "$work/pkm.conf" <<CONF
rpc_url = $rpc
chain_id = 31337
contract = $contract
state_dir = $work/pkm
listen = 127.0.0.1:$pport
CONF
	pkm_wallet=$("$build/pkm/dpk-pkm" -c "$work/pkm.conf" init | sed -n 's/^wallet: \(0x[0-9a-fA-F]*\).*/\1/p')
	admin --timeout 120 fund "$pkm_wallet" 10000000000000000000
	admin --timeout 120 --contract "$contract" add-approver "$pkm_wallet"
	"$build/pkm/dpk-pkm" -c "$work/pkm.conf" serve 2>"$work/pkm.log" & pids="$pids $!"
	until (echo >"/dev/tcp/127.0.0.1/$pport") 2>/dev/null; do sleep 0.1; done
	"$build/pkm/dpk-pkm" -c "$work/pkm.conf" enrol "$1" --out "$work/tok" >/dev/null
}

# bench_agent NAME: $work/dpk.conf (the chain, state_dir $work/agent,
# socket $sock, then the lines on standard input), dpk-agent -c it (its log
# $work/agent.log, agent_pid) until its socket is there, then its identity
# registered with the token; NAME labels the error if it does not start
bench_agent() {
	{
		printf 'rpc_url = %s\nchain_id = 31337\ncontract = %s\nstate_dir = %s\nsocket = %s\n' \
			"$rpc" "$contract" "$work/agent" "$sock"
		cat
	} > "$work/dpk.conf"
	"$build/dpk-agent/dpk-agent" -c "$work/dpk.conf" 2>"$work/agent.log" & agent_pid=$!; pids="$pids $agent_pid"
	until [ -S "$sock" ]; do
		kill -0 "$agent_pid" 2>/dev/null || { echo "$1: dpk-agent did not start:" >&2; cat "$work/agent.log" >&2; exit 1; }
		sleep 0.05
	done
	"$build/dpkctl/dpkctl" --socket "$sock" --json register --wait 120 >/dev/null
}
