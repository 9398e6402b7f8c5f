#!/bin/sh
# The units' sandbox holds: systemd-analyze security scores every unit the
# build makes at an exposure of at most 2.0 (doc/systemd.md says what is left
# and why), and each unit is Type=notify with a watchdog.
set -u
build=${DPK_TOP_BUILDDIR:-.}
if ! command -v systemd-analyze >/dev/null 2>&1; then
	if [ "${DPK_TEST_ALLOW_SKIP:-}" = 1 ]; then
		echo "SKIP: systemd-analyze not found (DPK_TEST_ALLOW_SKIP=1)"
		exit 77
	fi
	echo "FAIL: systemd-analyze not found (the Debian package systemd)"
	exit 1
fi
status=0
for unit in "$build/dpk-agent/dpk-agent.service" "$build/pkm/dpk-pkm.service"; do
	if [ ! -f "$unit" ]; then
		echo "FAIL: $unit not built"
		status=1
		continue
	fi
	out=$(systemd-analyze security --offline=true --threshold=20 "$unit" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep 'Overall exposure'
	if [ "$rc" -ne 0 ]; then
		printf '%s\n' "$out" | grep '^✗'
		echo "FAIL: $(basename "$unit") is exposed above 2.0"
		status=1
	fi
	for want in '^Type=notify$' '^WatchdogSec=' '^ExecStart=/'; do
		grep -q "$want" "$unit" || { echo "FAIL: $(basename "$unit") has no $want"; status=1; }
	done
done
exit $status
