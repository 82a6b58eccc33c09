#!/usr/bin/env bash
# Echo benchmark in the manner of Zyre's perf_local/perf_remote: one local
# process and N remote processes (one node each) on loopback, with a private
# beacon port. Prints the local side's figures for each N.
#
#   benches/echo.sh              # N = 2 and 10, 200000 whispers
#   benches/echo.sh 2            # N = 2 only
#   MESSAGES=50000 benches/echo.sh 2 10
#
# Only loopback (-i lo) is used: beacons to 127.255.255.255 stay on lo.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${BEACON_PORT:-55201}
MESSAGES=${MESSAGES:-200000}
COUNTS=("$@")
[ ${#COUNTS[@]} -gt 0 ] || COUNTS=(2 10)

cargo build --release --example zre_perf >&2
BIN=target/release/examples/zre_perf

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
for n in "${COUNTS[@]}"; do
    echo "== $n remote processes, $MESSAGES whispers, beacon port $PORT"
    pids=()
    for _ in $(seq "$n"); do
        "$BIN" remote -i lo --beacon-port "$PORT" --beacon-interval-ms 100 --timeout 120 &
        pids+=($!)
    done
    "$BIN" local -i lo --beacon-port "$PORT" --beacon-interval-ms 100 \
        --remotes "$n" --messages "$MESSAGES"
    # The remotes leave when they see the local node go.
    for pid in "${pids[@]}"; do
        wait "$pid" || true
    done
    pids=()
    PORT=$((PORT + 1))
done
