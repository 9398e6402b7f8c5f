#!/bin/bash
# SSH login benchmark: the wall time of a stock `ssh user@host true` (p50,
# p99, max over N logins, client start to exit) against a stock sshd whose
# AuthorizedKeysCommand is dpk-authorized-keys and whose passwd goes through
# nss_dpk ("passwd: files dpk"):
#   - agent up: a DPK user logging in with the key of dpk-agent's ssh-agent
#     socket (SSH_AUTH_SOCK, no key files), and with the same key read from
#     the agent's key file (the difference is the ssh-agent socket's cost);
#     a local account by its key file;
#   - agent down (killed: its socket refuses connections; then the socket
#     gone): the DPK user refused, the local account accepted;
# and getpwnam() of the DPK user with the agent down (getpw-bench).
# A local anvil with the registry, a PKM and a real dpk-agent whose own
# identity is the DPK user (registered as a device registers: dpk-pkm enrol,
# dpkctl register). sshd runs in private mount and network namespaces
# (unshare -m -n) with a test nsswitch.conf and copies of /etc/passwd,
# shadow and group (plus one local account) bind-mounted over the
# machine's; the clients join its network namespace with nsenter. The
# machine is never changed. Needs root.
# Run from the repo after scripts/setup: [BUILD_DIR=build] [N=50] tests/bench/login-bench.sh
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build="$top/${BUILD_DIR:-build}"
n=${N:-50}
make -C "$build" -s all tests/bench/getpw-bench >/dev/null
anvil=$(ls "$top"/tools/node_modules/@foundry-rs/anvil-linux-*/bin/anvil | head -1)
work=$(mktemp -d /tmp/dpk-login-bench.XXXXXX)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
umask 077
chmod 0711 "$work" # sshd's AuthorizedKeysCommandUser (nobody) reaches the agent's socket
. "$top/tests/bench/bench-env.sh"

# the chain, the registry, a PKM that approves the agent's registration
bench_chain bench.example.org

sock="$work/agent.sock"
ssock="$work/ssh-agent.sock"
bench_agent login-bench <<CONF
ssh_agent_socket = $ssock
identity = bench.example.org
token_file = $work/tok
cache_ttl = 1h
nss_allow = bench.example.org
CONF

# sshd's world: nsswitch.conf, passwd/shadow/group with the local account
# dpklocal, whose authorized_keys is /run/dpk-keys/dpklocal in the namespace
printf 'passwd: files dpk\ngroup: files dpk\nshadow: files\nhosts: files\n' > "$work/nsswitch.conf"
{ cat /etc/passwd; echo 'dpklocal:x:4242:4242:DPK bench local account:/run:/bin/sh'; } > "$work/passwd"
{ cat /etc/shadow; echo 'dpklocal:*:19000:0:99999:7:::'; } > "$work/shadow"
{ cat /etc/group; echo 'dpklocal:x:4242:'; } > "$work/group"
chmod 644 "$work/nsswitch.conf" "$work/passwd" "$work/group"
ssh-keygen -q -t ed25519 -N '' -f "$work/host_ed25519"
ssh-keygen -q -t ed25519 -N '' -f "$work/local_ed25519"
cat > "$work/sshd_config" <<CONF
Port 2222
ListenAddress 127.0.0.1
HostKey $work/host_ed25519
PidFile none
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile /run/dpk-keys/%u
AuthorizedKeysCommand /run/dpk-build/ssh/dpk-authorized-keys -s $sock %u
AuthorizedKeysCommandUser nobody
LogLevel VERBOSE
CONF
unshare -m -n /bin/sh -c '
	ip link set lo up || exit 99
	for f in nsswitch.conf passwd shadow group; do mount --bind "$1/$f" /etc/$f || exit 99; done
	mount -t tmpfs -o mode=0755 tmpfs /run || exit 99
	mkdir -m 0755 /run/sshd /run/dpk-keys /run/dpk-build || exit 99
	mount --bind "$2" /run/dpk-build || exit 99
	install -m 0644 "$1/local_ed25519.pub" /run/dpk-keys/dpklocal || exit 99
	exec env LD_LIBRARY_PATH="$2/nss_dpk/.libs" DPK_AGENT_SOCKET="$3" /usr/sbin/sshd -D -e -f "$1/sshd_config"
' sh "$work" "$build" "$sock" 2>"$work/sshd.log" & sshd_pid=$!; pids="$pids $sshd_pid"
until grep -q "Server listening on 127.0.0.1" "$work/sshd.log" 2>/dev/null; do
	kill -0 "$sshd_pid" 2>/dev/null || { echo "login-bench: sshd did not start:" >&2; cat "$work/sshd.log" >&2; exit 1; }
	sleep 0.05
done

# ssh USER AGENT|KEYFILE: a stock client in sshd's network namespace
login() {
	local user=$1 how=$2 opts
	if [ "$how" = agent ]; then
		opts="-o IdentityFile=none -o IdentitiesOnly=no"
	else
		opts="-o IdentityFile=$how -o IdentitiesOnly=yes -o IdentityAgent=none"
	fi
	nsenter --net="/proc/$sshd_pid/ns/net" env SSH_AUTH_SOCK="$ssock" ssh -F /dev/null -p 2222 $opts \
		-o BatchMode=yes -o PreferredAuthentications=publickey -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 -o LogLevel=QUIET "$user@127.0.0.1" true
}

# measure LABEL EXPECTED_EXIT USER AGENT|KEYFILE: N logins, one at a time
measure() {
	local label=$1 expect=$2 ok=0 other=0 rc t0 t1
	: > "$work/times"
	for _ in $(seq "$n"); do
		t0=$(date +%s%N); rc=0
		login "$3" "$4" </dev/null >/dev/null 2>&1 || rc=$?
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000)) >> "$work/times"
		if [ "$rc" = "$expect" ]; then ok=$((ok + 1)); else other=$((other + 1)); fi
	done
	sort -n "$work/times" | awk -v l="$label" -v ok="$ok" -v other="$other" -v want="$expect" '
		{ a[NR] = $1 }
		END { i = int(NR * 0.99 + 0.999); if (i > NR) i = NR
		      printf "%-46s n=%-4d p50=%7.1f ms  p99=%7.1f ms  max=%7.1f ms  exit %s: %d, other: %d\n",
		             l, NR, a[int((NR + 1) / 2)] / 1000, a[i] / 1000, a[NR] / 1000, want, ok, other }'
}

# getpw-bench ARGS... in sshd's mount namespace (its nsswitch.conf, passwd)
nssrun() {
	nsenter --mount="/proc/$sshd_pid/ns/mnt" env LD_LIBRARY_PATH="$build/nss_dpk/.libs" DPK_AGENT_SOCKET="$sock" \
		"$build/tests/bench/getpw-bench" "$@"
}

echo "== ssh login wall time, stock ssh -> sshd (AuthorizedKeysCommand dpk-authorized-keys, passwd: files dpk)"
echo "   $(nproc) CPUs, $(uname -r), $(ssh -V 2>&1), $n logins each"
measure "agent up: DPK user, key in dpk-agent" 0 bench.example.org agent
# the same key read from its file: what the ssh-agent socket itself costs
measure "agent up: DPK user, same key as a file" 0 bench.example.org "$work/agent/identity.pem"
measure "agent up: local user, key file" 0 dpklocal "$work/local_ed25519"
nssrun -n 2000 -w 10 -l "getpwnam DPK user, agent up (cached)" bench.example.org
kill -KILL "$agent_pid"; wait "$agent_pid" 2>/dev/null || true
echo "== dpk-agent killed (its socket refuses connections)"
measure "agent down: DPK user refused" 255 bench.example.org "$work/local_ed25519"
measure "agent down: local user, key file" 0 dpklocal "$work/local_ed25519"
nssrun -n 2000 -w 10 -l "getpwnam DPK user, connect refused" bench.example.org
rm -f "$sock" "$ssock"
echo "== dpk-agent's socket gone"
measure "agent down, no socket: DPK user refused" 255 bench.example.org "$work/local_ed25519"
measure "agent down, no socket: local user" 0 dpklocal "$work/local_ed25519"
nssrun -n 2000 -w 10 -l "getpwnam DPK user, no socket" bench.example.org
