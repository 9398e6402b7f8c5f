#!/bin/sh
# Installation test of the Debian packages on a real Debian 12 image (slow,
# not part of make check; needs root, debootstrap and the network to the
# Debian mirror that apt uses):
#   1. debootstrap a bookworm tree into this test's own folder (once; kept
#      as a pristine copy in WORK/base and copied for every run);
#   2. apt install ./*.deb inside it (services are not started: policy-rc.d);
#   3. check the files, nsswitch.conf (dpk after files for passwd and group),
#      the PAM profile (off by default; on and off with pam-auth-update),
#      that getent passwd root still answers, the dpk-pkm system user, and
#      that dpk-agent checks a configuration, and the autopkgtest smoke test;
#   4. purge every package and check that nothing of DPK is left and that
#      nsswitch.conf and /etc/pam.d are as before.
# Usage: tests/pkg/install-test.sh [DIR_WITH_DEBS]   (default: the parent of
# the source tree, where dpkg-buildpackage puts them)
# Environment: DPK_PKG_TEST_DIR (default build-pkgtest/, outside the sources), DPK_PKG_MIRROR
# (default: the first Debian URI in /etc/apt/sources.list*).
set -eu
start=$(date +%s)
top=$(cd "$(dirname "$0")/../.." && pwd)
debs=$(cd "${1:-$top/..}" && pwd)
work=${DPK_PKG_TEST_DIR:-$top/build-pkgtest}
base=$work/base
root=$work/root
say() { printf 'install-test: %s\n' "$*"; }
fail() { printf 'install-test: FAIL: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run as root (debootstrap and chroot)"
command -v debootstrap >/dev/null || fail "debootstrap is not installed (apt-get install debootstrap)"
set -- "$debs"/*.deb
[ -e "$1" ] || fail "no .deb in $debs (build them: dpkg-buildpackage -us -uc -b)"

mirror=${DPK_PKG_MIRROR:-}
if [ -z "$mirror" ]; then
	mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
		sed -n -e 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)[[:space:]]*$/\1/p' \
		    -e 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]*\/debian\)[[:space:]]\{1,\}bookworm[[:space:]].*/\2/p' |
		head -1)
fi
[ -n "$mirror" ] || fail "no Debian mirror in /etc/apt/sources.list*: set DPK_PKG_MIRROR"

mounted=""
cleanup() {
	for m in $mounted; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }

mkdir -p "$work"
if [ ! -x "$base/usr/bin/apt-get" ]; then
	say "debootstrap bookworm from $mirror into $base (once)"
	rm -rf "$base"
	debootstrap --variant=minbase bookworm "$base" "$mirror" > "$work/debootstrap.log" 2>&1 ||
		{ tail -20 "$work/debootstrap.log" >&2; fail "debootstrap failed (log: $work/debootstrap.log)"; }
fi
say "fresh copy of the image in $root"
rm -rf "$root"
cp -a "$base" "$root"
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc" && mounted="$root/proc"

cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
mkdir -p "$root/tmp/debs"
for d in "$@"; do
	case "$d" in *-dbgsym_*) continue ;; esac
	cp "$d" "$root/tmp/debs/"
done
cp "$root/etc/nsswitch.conf" "$work/nsswitch.before"
rm -rf "$work/pam.before" && cp -a "$root/etc/pam.d" "$work/pam.before"
find "$root" -xdev \( -path "$root/proc" -o -path "$root/tmp" \) -prune -o -print 2>/dev/null |
	sed "s|^$root||" | sort > "$work/files.before"

say "apt install ./*.deb"
in_root apt-get update -qq > "$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; fail "apt-get update"; }
# shellcheck disable=SC2046
in_root sh -c 'apt-get install -y -q --no-install-recommends /tmp/debs/*.deb' >> "$work/apt.log" 2>&1 ||
	{ tail -30 "$work/apt.log" >&2; fail "apt install of the packages"; }

say "files"
multiarch=$(in_root dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || in_root gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
for f in /usr/sbin/dpk-agent /usr/bin/dpkctl /usr/sbin/dpk-pkm /usr/sbin/dpk-admin /usr/sbin/dpk-authorized-keys \
	"/lib/$multiarch/libnss_dpk.so.2" "/lib/$multiarch/security/pam_dpk.so" \
	"/usr/lib/$multiarch/libdpkclient.so.0" /usr/include/dpk/client.h "/usr/lib/$multiarch/pkgconfig/dpkclient.pc" \
	/usr/share/pam-configs/dpk /lib/systemd/system/dpk-agent.service /lib/systemd/system/dpk-pkm.service \
	/usr/lib/sysusers.d/dpk-pkm.conf /usr/lib/tmpfiles.d/dpk-agent.conf /etc/dpk/dpk.conf.example \
	/etc/dpk/pkm.conf.example /usr/share/doc/dpk-ssh/examples/sshd_config.d-dpk.conf \
	/usr/share/bash-completion/completions/dpkctl /usr/share/bash-completion/completions/dpk-admin \
	/usr/share/bash-completion/completions/dpk-pkm; do
	[ -e "$root$f" ] || fail "$f is missing"
done
[ ! -e "$root/etc/dpk/dpk.conf" ] || fail "/etc/dpk/dpk.conf exists before the administrator wrote it"
[ ! -e "$root/etc/ssh/sshd_config.d/dpk.conf" ] || fail "the sshd drop-in is enabled by default"
find "$root/usr/lib" "$root/lib" -name '*.la' | grep . && fail "a libtool .la file is installed"
grep -q "ExecStart=/usr/sbin/dpk-agent" "$root/lib/systemd/system/dpk-agent.service" || fail "dpk-agent.service ExecStart"

say "nsswitch.conf"
grep -Eq '^passwd:[[:space:]]+files([[:space:]].*)?[[:space:]]dpk$' "$root/etc/nsswitch.conf" || fail "passwd: no dpk after files: $(grep ^passwd "$root/etc/nsswitch.conf")"
grep -Eq '^group:[[:space:]]+files([[:space:]].*)?[[:space:]]dpk$' "$root/etc/nsswitch.conf" || fail "group: no dpk after files: $(grep ^group "$root/etc/nsswitch.conf")"
in_root getent passwd root | grep -q '^root:x:0:0:' || fail "getent passwd root with dpk in nsswitch.conf (no agent running)"
in_root getent group root >/dev/null || fail "getent group root"
in_root getent passwd dpk-pkm | grep -q nologin || fail "the dpk-pkm system user is missing or has a login shell"

say "autopkgtest smoke (debian/tests/smoke, with its Depends)"
in_root apt-get install -y -q --no-install-recommends gcc libc6-dev pkg-config >> "$work/apt.log" 2>&1 ||
	{ tail -30 "$work/apt.log" >&2; fail "apt install of the smoke test's Depends"; }
cp "$top/debian/tests/smoke" "$root/tmp/smoke"
in_root sh /tmp/smoke > "$work/smoke.log" 2>&1 || { cat "$work/smoke.log" >&2; fail "debian/tests/smoke"; }

say "PAM profile"
grep -rq pam_dpk "$root/etc/pam.d" && fail "pam_dpk is in the PAM stack by default"
in_root pam-auth-update --enable dpk
grep -q 'pam_dpk.so' "$root/etc/pam.d/common-auth" || fail "pam-auth-update --enable dpk did not add pam_dpk"
grep -q 'pam_unix.so' "$root/etc/pam.d/common-auth" || fail "pam_unix left common-auth"
grep -E 'pam_dpk.so' "$root/etc/pam.d/common-auth" | grep -q 'user_unknown=ignore' || fail "pam_dpk does not ignore unknown (local) users"

say "dpk-agent --check-config"
cat > "$root/tmp/dpk.conf" <<'CONF'
rpc_url = http://127.0.0.1:8545
chain_id = 31337
contract = 0x5FbDB2315678afecb367f032d93F642f64180aa3
identity = install-test.example.org
CONF
# --offline: the file alone (no chain runs in the chroot; without it, exit 3 names the unreachable rpc_url)
in_root dpk-agent -c /tmp/dpk.conf --check-config --offline >/dev/null || fail "dpk-agent rejects a valid configuration"
printf 'rpc_url = nope\n' > "$root/tmp/bad.conf"
in_root dpk-agent -c /tmp/bad.conf --check-config --offline 2>/dev/null && fail "dpk-agent accepts a bad configuration"
# what an administrator would make: purge must take it too
cp "$root/tmp/dpk.conf" "$root/etc/dpk/dpk.conf"
mkdir -p "$root/var/lib/dpk" "$root/run/dpk"
: > "$root/var/lib/dpk/users"

say "purge"
pkgs=$(in_root dpkg-query -W -f '${Package}\n' | grep -E '^(dpk-|libnss-dpk|libpam-dpk|libdpkclient)' | tr '\n' ' ')
# shellcheck disable=SC2086
in_root apt-get purge -y -q $pkgs >> "$work/apt.log" 2>&1 || { tail -30 "$work/apt.log" >&2; fail "apt purge"; }
left=$(in_root dpkg-query -W -f '${Package} ${db:Status-Abbrev}\n' 2>/dev/null | grep -E '^(dpk-|libnss-dpk|libpam-dpk|libdpkclient)' || true)
[ -z "$left" ] || fail "packages left after purge: $left"
cmp -s "$work/nsswitch.before" "$root/etc/nsswitch.conf" || { diff -u "$work/nsswitch.before" "$root/etc/nsswitch.conf" >&2; fail "nsswitch.conf differs after purge"; }
diff -r "$work/pam.before" "$root/etc/pam.d" >&2 || fail "/etc/pam.d differs after purge"
# every path with dpk in its name that was not there before (the user entry
# in /etc/passwd stays, as Debian keeps system users; it is not a path)
find "$root" -xdev \( -path "$root/proc" -o -path "$root/tmp" \) -prune -o -print 2>/dev/null |
	sed "s|^$root||" | sort > "$work/files.after"
new=$(comm -13 "$work/files.before" "$work/files.after" | grep -E 'dpk([-_./]|$)' || true)
[ -z "$new" ] || fail "left after purge: $new"
in_root getent passwd root >/dev/null || fail "getent passwd root after purge"

say "PASS in $(( $(date +%s) - start )) s"
