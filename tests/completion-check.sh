#!/bin/bash
# The bash completion files (completion/): each parses (bash -n); sourced
# with bash-completion, each completes a command name and an option of a
# command; and every command the built program's --help lists is offered
# (so a command added to a program's table without its completion fails).
set -u
top=$(cd "${srcdir:-$(dirname "$0")/..}" && pwd)
build=${DPK_TOP_BUILDDIR:-$top/build}
bc=/usr/share/bash-completion/bash_completion
fail=0

if [ ! -r "$bc" ]; then
	if [ "${DPK_TEST_ALLOW_SKIP:-0}" = 1 ]; then echo "SKIP: no $bc"; exit 77; fi
	echo "FAIL: $bc is missing (Debian package bash-completion; scripts/setup installs it)"; exit 1
fi
for f in dpkctl dpk-admin dpk-pkm; do
	bash -n "$top/completion/$f" || { echo "FAIL: completion/$f does not parse"; fail=1; }
done
# shellcheck source=/dev/null
. "$bc"

# complete FUNC WORD...: what FUNC offers for the last word, one per line, sorted
complete_line() {
	local fn=$1; shift
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sort
}

# expect WHAT WANT GOT
expect() {
	if [ "$2" != "$3" ]; then
		echo "FAIL: $1: expected [$(echo $2)], got [$(echo $3)]"
		fail=1
	else
		echo "ok: $1"
	fi
}

# shellcheck source=/dev/null
. "$top/completion/dpkctl"
. "$top/completion/dpk-admin"
. "$top/completion/dpk-pkm"

expect "dpkctl st<TAB>" "status" "$(complete_line _dpkctl dpkctl st)"
expect "dpkctl ps<TAB>" "$(printf 'psk\npsk-get')" "$(complete_line _dpkctl dpkctl ps)"
expect "dpkctl lookup --op<TAB>" "--openssh" "$(complete_line _dpkctl dpkctl lookup --op)"
expect "dpkctl --json status --js<TAB>" "--json" "$(complete_line _dpkctl dpkctl --json status --js)"
expect "dpkctl -s SOCK cache f<TAB>" "flush" "$(complete_line _dpkctl dpkctl -s /run/dpk/agent.sock cache f)"
expect "dpkctl ticket <TAB>" "$(printf 'issue\nredeem')" "$(complete_line _dpkctl dpkctl ticket '')"
expect "dpkctl register --w<TAB>" "--wait" "$(complete_line _dpkctl dpkctl register --w)"
expect "dpk-admin --rpc-file F lo<TAB>" "lookup" "$(complete_line _dpk_admin dpk-admin --rpc-file /etc/x lo)"
expect "dpk-admin lookup --rpc-f<TAB>" "--rpc-file" "$(complete_line _dpk_admin dpk-admin lookup --rpc-f)"
expect "dpk-pkm -c FILE en<TAB>" "enrol" "$(complete_line _dpk_pkm dpk-pkm -c /etc/dpk/pkm.conf en)"
expect "dpk-pkm enrol --va<TAB>" "--valid" "$(complete_line _dpk_pkm dpk-pkm enrol --va)"
expect "dpk-pkm list --va<TAB>" "" "$(complete_line _dpk_pkm dpk-pkm list --va)"

# every command of each built program's --help is offered at the command's place
check_all() {
	local prog=$1 fn=$2 listed offered
	[ -x "$build/$3" ] || { echo "FAIL: $build/$3 is not built"; fail=1; return; }
	listed=$("$build/$3" --help | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p' | sort -u)
	offered=$(complete_line "$fn" "$prog" '')
	expect "$prog <TAB> offers what $prog --help lists" "$listed" "$offered"
}
check_all dpkctl _dpkctl dpkctl/dpkctl
check_all dpk-admin _dpk_admin admin/dpk-admin
check_all dpk-pkm _dpk_pkm pkm/dpk-pkm

exit $fail
