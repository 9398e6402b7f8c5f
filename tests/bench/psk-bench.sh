#!/bin/sh
# PSK exchange between two dpk-agents on loopback (tests/bench/psk-bench.c):
# handshake latency p50/p99, CPU per handshake and handshakes per second per
# core, beside openssl s_time full TLS 1.3 handshakes (P-256 certificate) in
# the same run, and the responder's memory per in-flight handshake.
# Run from the repo after scripts/setup:
#   [BUILD_DIR=build] tests/bench/psk-bench.sh [runs]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build="$top/${BUILD_DIR:-build}"
make -C "$build" -s dpk-agent/dpk-agent tests/bench/psk-bench >/dev/null
DPK_ANVIL=$(sed -n 's/^ANVIL = //p' "$build/Makefile")
DPK_CAST=$(sed -n 's/^CAST = //p' "$build/Makefile")
DPK_TOP_BUILDDIR=$build
DPK_TEST_DATA=$top/tests/data
export DPK_ANVIL DPK_CAST DPK_TOP_BUILDDIR DPK_TEST_DATA
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
echo "openssl: $(openssl version)"
"$build/tests/bench/psk-bench" "${1:-300}" | grep -v '^\[' || true
