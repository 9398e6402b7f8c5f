#!/bin/sh
# Model-check the PSK message flow with spin (see tests/model/README.md):
#   dpk-paper.pml  the paper's flow: spin must find Lowe's attack (agreement
#                  and secrecy both fail); the attack's message sequence is
#                  printed here, from the trail, with spin -t;
#   dpk-nsl.pml    DPK's flow: spin must find no error in a complete search,
#                  and must find one again when the NSL identity check is
#                  taken out (so the clean result is not the model's blindness).
# spin missing is a failure, not a skip: scripts/setup installs it.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
models=$top/tests/model
cc=$(command -v gcc || command -v cc)
if ! command -v spin >/dev/null 2>&1; then
	echo "FAIL: spin not found; install the Debian package spin (scripts/setup does)"
	exit 1
fi
if [ -z "$cc" ]; then
	echo "FAIL: no C compiler for spin's pan.c"
	exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/dpk-spin.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM
status=0

fail() {
	echo "FAIL: $*"
	status=1
}

# verify NAME MODEL "SPIN -D FLAGS" [PAN FLAGS]: generate, compile and run
# pan (safety: assertions and invalid end states) in its own directory.
verify() {
	name=$1 model=$2 defs=$3 panflags=${4:-}
	dir=$work/$name
	mkdir "$dir" && cp "$models/$model" "$dir/" || return 1
	# shellcheck disable=SC2086
	(cd "$dir" && spin $defs -a "$model" > spin.log 2>&1) || { cat "$dir/spin.log"; fail "$name: spin -a"; return 1; }
	(cd "$dir" && "$cc" -O2 -DSAFETY -DREACH -DCOLLAPSE -o pan pan.c > cc.log 2>&1) || { cat "$dir/cc.log"; fail "$name: cc pan.c"; return 1; }
	# shellcheck disable=SC2086
	(cd "$dir" && ./pan -m100000 $panflags > pan.log 2>&1)
	errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$dir/pan.log" | tail -1)
	if [ -z "$errors" ]; then
		cat "$dir/pan.log"
		fail "$name: pan printed no result"
		return 1
	fi
	return 0
}

# expect_attack NAME MODEL "FLAGS" "ASSERTION TEXT": pan must report an
# assertion violation containing the text; print the trail's messages.
expect_attack() {
	verify "$1" "$2" "$3" -i || return
	dir=$work/$1
	if [ "$errors" -eq 0 ] || ! grep -q "assertion violated" "$dir/pan.log"; then
		fail "$1: spin found no attack on $2 ($3)"
		grep -E "errors|states, stored" "$dir/pan.log"
		return
	fi
	if ! grep "assertion violated" "$dir/pan.log" | grep -qF "$4"; then
		grep "assertion violated" "$dir/pan.log"
		fail "$1: the violated property is not the expected one ($4)"
		return
	fi
	echo "ok: $1: spin finds an attack on $2 ($3): $(grep 'assertion violated' "$dir/pan.log" | tail -1)"
	echo "    the attack, shortest trail (columns: 1 = A, 2 = B, 3 = intruder; 'net!M,X,...' = send message M encrypted to X):"
	# shellcheck disable=SC2086
	(cd "$dir" && spin $3 -t -c "$2" 2>&1) | sed -n '/^q\\p/,$p' |
	    grep -vE '^ *[0-9]+:[[:space:]]+proc|processes|^-+$|final state:' |
	    awk '!/^[[:space:]]+[A-Za-z0-9]+ = / || /^[[:space:]]+(partner[AB]|done[AB]|keyB|kNa|kNb|kKsA) = /' |
	    sed 's/^/    /'
}

# expect_clean NAME MODEL "FLAGS": 0 errors from a complete search.
expect_clean() {
	verify "$1" "$2" "$3" || return
	dir=$work/$1
	if [ "$errors" -ne 0 ]; then
		# shellcheck disable=SC2086
		(cd "$dir" && spin $3 -t -c "$2" 2>&1) | sed 's/^/    /'
		fail "$1: spin finds an error in $2 ($3)"
		return
	fi
	if grep -qE "Search not completed|max search depth too small|BITSTATE|out of memory" "$dir/pan.log" ||
	    ! grep -q "Full statespace search" "$dir/pan.log"; then
		cat "$dir/pan.log"
		fail "$1: the search of $2 was not complete"
		return
	fi
	echo "ok: $1: no error in $2 ($3), complete search:" \
	    "$(grep -E 'states, stored' "$dir/pan.log" | sed 's/^ *//'), $(grep -o 'depth reached [0-9]*' "$dir/pan.log")"
}

expect_attack paper-agreement dpk-paper.pml "-DCHECK_AGREEMENT" "partnerA"
expect_attack paper-secrecy dpk-paper.pml "-DCHECK_SECRECY" "kNb"
expect_clean nsl-all dpk-nsl.pml "-DCHECK_AGREEMENT -DCHECK_SECRECY"
expect_attack nsl-without-identity-check dpk-nsl.pml "-DMUTANT_NO_NSL_CHECK" "kNb"
exit $status
