#!/bin/sh
# PSK handshake and ticket costs in memory (tests/bench/hs-bench.c): CPU per
# side per handshake for P-256 and RSA-2048 keys, message sizes, ticket
# issue and redeem. Run from the repo after scripts/setup:
#   [BUILD_DIR=build] tests/bench/hs-bench.sh [runs]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build="$top/${BUILD_DIR:-build}"
make -C "$build" -s tests/bench/hs-bench >/dev/null
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
"$build/tests/bench/hs-bench" "${1:-200}"
