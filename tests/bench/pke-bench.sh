#!/bin/sh
# Public-key encryption costs (tests/bench/pke-bench.c): seal and open per
# message for P-256 (HPKE) and RSA (OAEP + AES-256-GCM). Run from the repo
# after scripts/setup:
#   [BUILD_DIR=build] tests/bench/pke-bench.sh [runs]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build="$top/${BUILD_DIR:-build}"
make -C "$build" -s tests/bench/pke-bench >/dev/null
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
"$build/tests/bench/pke-bench" "${1:-500}"
