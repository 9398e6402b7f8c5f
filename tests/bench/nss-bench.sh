#!/bin/bash
# nss_dpk benchmark: getpwnam() latency (p50, p99) for a cached DPK user
# through libnss_dpk.so.2, answered from the agent's memory-mapped cache file
# and, for comparison, over the agent's socket (no cache file), and for a
# local user through nss_files, all in the same run; and how long a DPK lookup takes when it cannot be answered: the agent
# alive but the chain paused (anvil stopped, a user not cached), and the
# agent down (socket refusing, socket gone). A local anvil with the
# registry, a PKM and a real dpk-agent whose policy admits the user; the
# user is registered the way a device registers (dpk-pkm enrol, dpkctl
# register). The lookups run in a private mount namespace with a test
# nsswitch.conf ("passwd: files dpk") bind-mounted over /etc/nsswitch.conf,
# so the machine is never changed; glibc finds the built module through
# LD_LIBRARY_PATH. Needs root (unshare -m, mount --bind).
# Run from the repo after scripts/setup: [BUILD_DIR=build] tests/bench/nss-bench.sh
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build="$top/${BUILD_DIR:-build}"
make -C "$build" -s all tests/bench/getpw-bench >/dev/null
anvil=$(ls "$top"/tools/node_modules/@foundry-rs/anvil-linux-*/bin/anvil | head -1)
work=$(mktemp -d /tmp/dpk-nss-bench.XXXXXX)
pids=""
cleanup() {
	for p in $pids; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
umask 077
. "$top/tests/bench/bench-env.sh"

# the chain, the registry, a PKM that approves the user's registration
bench_chain bench.example.org

# the agent: its own identity is the DPK user; names under .paused.example
# are admitted but never registered, so each is a chain read when first asked
sock="$work/agent.sock"
bench_agent nss-bench <<CONF
identity = bench.example.org
token_file = $work/tok
cache_ttl = 1h
negative_cache_ttl = 1h
nss_allow = bench.example.org
nss_allow_suffix = .paused.example
nss_cache_file = $work/nss.cache
CONF

printf 'passwd: files dpk\ngroup: files dpk\nshadow: files\nhosts: files\n' > "$work/nsswitch.conf"
printf 'passwd: dpk\ngroup: dpk\nshadow: files\nhosts: files\n' > "$work/nsswitch-dpk.conf"
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n' > "$work/nsswitch-files.conf"
chmod 644 "$work"/nsswitch*.conf
# the local user on the last line of /etc/passwd: nss_files reads the whole
# file for it, as it does for every DPK user before asking the module
local_user=$(awk -F: 'END {print $1}' /etc/passwd)

# getpw-bench ARGS... in a private namespace, through the nsswitch.conf in
# $conf, with the cache file in $cache (a missing path: the socket answers)
conf="$work/nsswitch.conf"
cache="$work/nss.cache"
nssrun() {
	unshare -m /bin/sh -c 'mount --bind "$1" /etc/nsswitch.conf || exit 99; shift; exec "$@"' sh \
		"$conf" env LD_LIBRARY_PATH="$build/nss_dpk/.libs" DPK_AGENT_SOCKET="$sock" DPK_NSS_CACHE="$cache" \
		"$build/tests/bench/getpw-bench" "$@"
}

# the first answer puts the user into the cache file
nssrun -n 1 -w 0 -l "DPK user, first call (loads module)" bench.example.org
for _ in $(seq 50); do [ -s "$work/nss.cache" ] && break; sleep 0.1; done
[ -s "$work/nss.cache" ] || { echo "nss-bench: the agent wrote no cache file" >&2; exit 1; }

echo "== getpwnam() latency, each source alone ($(nproc) CPUs, $(uname -r))"
conf="$work/nsswitch-dpk.conf"
nssrun -n 20000 -w 200 -l "DPK user, nss_dpk mmap cache" bench.example.org
conf="$work/nsswitch-files.conf"
nssrun -n 20000 -w 200 -l "local user $local_user, nss_files" "$local_user"
conf="$work/nsswitch-dpk.conf"
cache="$work/no-such-file"
nssrun -n 5000 -w 100 -l "DPK user, nss_dpk socket (no file)" bench.example.org
cache="$work/nss.cache"
nssrun -n 20000 -w 200 -l "DPK user, nss_dpk mmap cache again" bench.example.org

echo "== getpwnam() latency, passwd: files dpk (what a host sees)"
conf="$work/nsswitch.conf"
nssrun -n 20000 -w 200 -l "DPK user, files then dpk (mmap)" bench.example.org
nssrun -n 20000 -w 200 -l "local user $local_user (nss_files)" "$local_user"
cache="$work/no-such-file"
nssrun -n 5000 -w 100 -l "DPK user, files then dpk (socket)" bench.example.org
nssrun -n 2000 -w 10 -l "DPK name, negative-cached (socket)" nobody-here.paused.example
cache="$work/nss.cache"

echo "== DPK lookups that cannot be answered"
kill -STOP "$anvil_pid"
nssrun -n 1 -w 3 -W bench.example.org -l "chain paused, uncached user" u1.paused.example u2.paused.example \
	u3.paused.example u4.paused.example u5.paused.example
nssrun -n 200 -w 10 -l "chain paused, cached user" bench.example.org
kill -CONT "$anvil_pid"
kill -KILL "$agent_pid"; wait "$agent_pid" 2>/dev/null || true
cache="$work/no-such-file" # a killed agent leaves its file: its users stay until they expire
nssrun -n 1000 -w 10 -l "agent down, connect refused" bench.example.org
rm -f "$sock"
nssrun -n 1000 -w 10 -l "agent down, no socket" bench.example.org
nssrun -n 1000 -w 10 -l "local user, agent down (nss_files)" "$local_user"
echo "targets: cached DPK lookup (nss_dpk mmap cache) no slower than nss_files; SSSD ~4 us (mmap cache), ~400 us (socket)"
