#!/bin/sh
# Socket flood benchmark (fair shares): uid nobody floods
# dpk-agent's socket while root resolves a DPK user and asks STATUS; prints
# root's success rate and latency (p50, p99) without and with the flood,
# beside the target (100% success, p99 < 50 ms). A local anvil and a real
# agent (tests/bench/flood-bench.c). Needs root (the flood runs as nobody).
# Run from the repo after scripts/setup: [BUILD_DIR=build] tests/bench/socket-flood.sh [SECONDS]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build="$top/${BUILD_DIR:-build}"
make -C "$build" -s all tests/bench/flood-bench >/dev/null
DPK_TOP_BUILDDIR="$build" DPK_TEST_DATA="$top/tests/data" \
DPK_ANVIL=$(ls "$top"/tools/node_modules/@foundry-rs/anvil-linux-*/bin/anvil | head -1) \
	"$build/tests/bench/flood-bench" "${1:-10}"
