#!/usr/bin/env bash
# Echo benchmark in the manner of Zyre's perf_local/perf_remote: one local
# process and N remote processes (one node each) on loopback, with a private
# beacon port. Prints the local side's figures for each N, then those of
# the same echo on raw libzmq (examples/raw_perf.rs: the same sockets and
# frames, no ZRE) and the ratio ours/raw of the two.
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

cargo build --release --example zre_perf --example raw_perf >&2
BIN=target/release/examples/zre_perf
RAW=target/release/examples/raw_perf
out=$(mktemp -d)

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
}
trap 'cleanup; rm -rf "$out"' EXIT

# "... N msg/s" of the line matching $2 in file $1.
rate() { grep -- "$2" "$1" | grep -o '[0-9.]* msg/s' | cut -d' ' -f1; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
for n in "${COUNTS[@]}"; do
    echo "== $n remote processes, $MESSAGES whispers, beacon port $PORT"
    pids=()
    for _ in $(seq "$n"); do
        "$BIN" remote -i lo --beacon-port "$PORT" --beacon-interval-ms 100 --timeout 120 &
        pids+=($!)
    done
    "$BIN" local -i lo --beacon-port "$PORT" --beacon-interval-ms 100 \
        --remotes "$n" --messages "$MESSAGES" | tee "$out/ours.log"
    # The remotes leave when they see the local node go.
    for pid in "${pids[@]}"; do
        wait "$pid" || true
    done
    pids=()
    echo "-- raw libzmq, the same echo (examples/raw_perf), inbox port $((PORT + 200))"
    for _ in $(seq "$n"); do
        "$RAW" remote --local "tcp://127.0.0.1:$((PORT + 200))" --ip 127.0.0.1 --timeout 120 &
        pids+=($!)
    done
    "$RAW" local --port "$((PORT + 200))" --remotes "$n" --messages "$MESSAGES" | tee "$out/raw.log"
    for pid in "${pids[@]}"; do
        wait "$pid" || true
    done
    pids=()
    for what in "send/receive:WHISPER" "GROUP message:SHOUT"; do
        pattern=${what%%:*}
        o=$(rate "$out/ours.log" "$pattern")
        r=$(rate "$out/raw.log" "$pattern")
        awk -v l="${what##*:}" -v o="$o" -v r="$r" \
            'BEGIN { printf "%-8s ours %10.0f msg/s   raw %10.0f msg/s   ours/raw %.2f\n", l, o, r, o / r }'
    done
    PORT=$((PORT + 1))
done
