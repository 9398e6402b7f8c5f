#!/bin/sh
# The architecture, checked: every #include in lib/ and the programs resolves
# (as the compiler would) to a file its folder may use (the table below, which
# each folder's README says in words), and the modules of lib/, dpk-agent/,
# dpkctl/ and pkm/ include each other without a cycle (a module is x.c with
# x.h; tsort finds the loops). Prints every violation; exits 1 on any.
#   check-layers.sh         check the source tree, then the self-test (make check)
#   check-layers.sh TOP     check the tree at TOP only
#   check-layers.sh --self-test
#                           copy the tree, plant layer violations and cycles,
#                           and fail unless each is caught
set -u
top=$(cd "${srcdir:-$(dirname "$0")/..}" && pwd)
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

# folder: what its files may include besides their own folder ("libc" alone:
# nothing of the project). A folder not listed is not checked by this table.
# In dpk-agent/, agent.h is the shared state (types only, no functions): the
# jobs may see it; they reach each other only downwards (login/ and peers/
# use chain/, everything uses common/), and the top level (main, server,
# requests, timers) wires them together.
rules() {
	cat <<'EOF'
lib/base: libc
lib/eth: lib/base
lib/crypto: lib/base
lib/registry: lib/base lib/eth lib/crypto/idkey.h contracts/dpk_contract.h
lib/psk: lib/base lib/crypto lib/registry/identity.h
lib/enrol: lib/base lib/eth lib/crypto
lib/daemon: lib/base lib/eth lib/crypto lib/registry
client: include/dpk
nss_dpk: include/dpk client
pam_dpk: include/dpk client
dpkctl: lib include/dpk client
dpk-agent/common: lib client
dpk-agent/chain: lib dpk-agent/common dpk-agent/agent.h client contracts
dpk-agent/login: lib dpk-agent/common dpk-agent/chain dpk-agent/agent.h client nss_dpk/cachefile.h nss_dpk/pack.h
dpk-agent/peers: lib dpk-agent/common dpk-agent/chain dpk-agent/agent.h client
dpk-agent: lib dpk-agent client include/dpk nss_dpk/cachefile.h nss_dpk/pack.h
pkm: lib client dpk-agent/login/login_msg.h
admin: lib contracts
ssh: lib include/dpk client
EOF
}

# Where a quoted include is looked for: the including file's folder, then the
# -I folders the build gives (Makefile.am and the folders' local.mk).
search_dirs() {
	case $1 in
	dpk-agent/*) echo "lib dpk-agent client include nss_dpk contracts" ;;
	pkm/*) echo "lib client include nss_dpk contracts dpk-agent" ;;
	*) echo "lib client include nss_dpk contracts" ;;
	esac
}

check_tree() (
	t=$1
	cd "$t" || exit 2
	bad=0
	edges=$(mktemp)
	files=$(find lib client nss_dpk pam_dpk dpkctl dpk-agent pkm admin ssh -name '*.[ch]' 2>/dev/null | sort)
	for f in $files; do
		d=$(dirname "$f")
		# the most specific folder with a rule
		rule=""; folder=$d
		while [ -n "$folder" ] && [ "$folder" != . ]; do
			rule=$(rules | sed -n "s|^$folder: ||p")
			[ -n "$rule" ] && break
			folder=$(dirname "$folder")
		done
		grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | sed 's/^\([0-9]*\):.*"\([^"]*\)".*/\1 \2/' |
		while read -r line inc; do
			[ "$inc" = autoconfig.h ] && continue
			res=""
			for s in "$d" $(search_dirs "$f"); do
				if [ -f "$s/$inc" ]; then res=$(realpath --relative-to=. "$s/$inc"); break; fi
			done
			if [ -z "$res" ]; then
				echo "$f:$line: #include \"$inc\" is not in the tree (generated, or a typo)"
				continue
			fi
			case $res in dpk-agent/*|dpkctl/*|lib/*|pkm/*)
				echo "${f%.[ch]} ${res%.[ch]}" >> "$edges" ;;
			esac
			[ -n "$rule" ] || continue
			case $res in "$folder"/*) continue ;; esac
			ok=0
			for allow in $rule; do
				case $res in "$allow"|"$allow"/*) ok=1 ;; esac
			done
			[ $ok -eq 1 ] || echo "$f:$line: $folder/ may not include $res (it may use: $rule)"
		done
	done > "$t/.layer-violations" 2>&1
	if [ -s "$t/.layer-violations" ]; then
		cat "$t/.layer-violations"
		bad=1
	fi
	rm -f "$t/.layer-violations"
	# modules: drop a module's edges to itself
	loops=$(awk '$1 != $2' "$edges" | sort -u | tsort 2>&1 >/dev/null)
	if [ -n "$loops" ]; then
		echo "include cycle among modules (x.c and x.h are one module):"
		printf '%s\n' "$loops" | grep -v 'input contains a loop' | sed 's/^tsort: /  /'
		bad=1
	fi
	rm -f "$edges"
	exit $bad
)

if [ "${1:-}" = --self-test ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	fails=0
	copy() {
		rm -rf "$tmp/t"; mkdir "$tmp/t"
		(cd "$top" && tar cf - lib client include nss_dpk pam_dpk dpkctl dpk-agent pkm admin ssh contracts) | (cd "$tmp/t" && tar xf -)
	}
	copy
	if out=$(check_tree "$tmp/t"); then echo "ok: the tree as it is passes"; else
		echo "FAIL: the tree as it is fails:"; printf '%s\n' "$out"; fails=1; fi
	copy
	sed -i '1i #include "eth/rpc.h"' "$tmp/t/lib/crypto/hkdf.c"
	if out=$(check_tree "$tmp/t"); then echo "FAIL: lib/crypto including eth/rpc.h was not caught"; fails=1
	else echo "ok: a layer violation is caught: $out"; fi
	copy
	sed -i '1i #include "login/nss.h"' "$tmp/t/dpk-agent/chain/lookup.c"
	if out=$(check_tree "$tmp/t"); then echo "FAIL: chain/ including login/ was not caught"; fails=1
	else echo "ok: an upward include in the agent is caught: $(printf '%s' "$out" | head -1)"; fi
	copy
	sed -i '1i #include "psk/ticket.h"' "$tmp/t/lib/psk/handshake.h"
	if out=$(check_tree "$tmp/t"); then echo "FAIL: a cycle between handshake and ticket was not caught"; fails=1
	else echo "ok: a module cycle in lib/ is caught:"; printf '%s\n' "$out"; fi
	copy
	sed -i '1i #include "login/nss.h"' "$tmp/t/dpk-agent/login/nss_cache.c"
	if out=$(check_tree "$tmp/t"); then echo "FAIL: a cycle between login/nss and login/nss_cache was not caught"; fails=1
	else echo "ok: a module cycle in the agent is caught:"; printf '%s\n' "$out"; fi
	exit $fails
fi

if check_tree "${1:-$top}"; then
	echo "check-layers: every include is allowed and the modules have no cycle"
else
	exit 1
fi
[ $# -eq 0 ] || exit 0
exec "$self" --self-test
