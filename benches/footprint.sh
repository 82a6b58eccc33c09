#!/usr/bin/env bash
# Footprint of one node process on loopback (a private beacon port):
#   1. idle, alone, after IDLE_SECS (60): RSS, threads, wake-ups/s
#      (context switches of all its threads over SAMPLE_SECS, 10);
#   2. with 32 peers (another process running 32 nodes): RSS per peer and
#      wake-ups/s;
#   3. CPU per message: CPU time (all threads, /proc/PID/task/*/schedstat)
#      the node spends receiving WHISPERS (200000) 64-byte whispers.
#
#   benches/footprint.sh
#   IDLE_SECS=5 SAMPLE_SECS=3 benches/footprint.sh   # a quick look
#
# The measured process is the release build of examples/idle_node.rs: one
# node driven in its main thread, plus libzmq's I/O and reaper threads.
# Step 1 also measures the release `zre` binary (`zre --json -i lo`, its
# stdin a pipe kept open), idle beside it on another beacon port.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${BEACON_PORT:-55301}
IDLE_SECS=${IDLE_SECS:-60}
SAMPLE_SECS=${SAMPLE_SECS:-10}
WHISPERS=${WHISPERS:-200000}
PEERS=32

cargo build --release --example idle_node --bin zre >&2
BIN=target/release/examples/idle_node
ZRE=target/release/zre
OUT=$(mktemp -d)

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    rm -rf "$OUT"
}
trap cleanup EXIT

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
anon_kib() { awk '/^RssAnon/ {print $2}' "/proc/$1/status"; }
pss_kib() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
threads() { ls "/proc/$1/task" | wc -l; }
switches() {
    cat /proc/"$1"/task/*/status 2>/dev/null |
        awk '/^(non)?voluntary_ctxt_switches/ {s += $2} END {print s}'
}
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%d\n", s}'; }
wakeups() {
    local a b
    a=$(switches "$1")
    sleep "$SAMPLE_SECS"
    b=$(switches "$1")
    awk -v a="$a" -v b="$b" -v t="$SAMPLE_SECS" 'BEGIN {printf "%.1f\n", (b - a) / t}'
}
wait_for() { # file, line, seconds
    local i
    for i in $(seq $(($3 * 10))); do
        grep -qx "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "timed out waiting for '$2' in $1" >&2
    return 1
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" -i lo --beacon-port "$PORT" --timeout 900 >"$OUT/measured" &
node=$!
pids+=("$node")
mkfifo "$OUT/zre-in"
"$ZRE" --json -i lo --beacon-port $((PORT + 1)) --port-range 0 <"$OUT/zre-in" >"$OUT/zre-out" 2>/dev/null &
zre=$!
pids+=("$zre")
exec 3>"$OUT/zre-in" # its stdin stays open: it idles instead of leaving
echo "idle_node pid $node, zre pid $zre; waiting ${IDLE_SECS}s"
sleep "$IDLE_SECS"
rss0=$(rss_kib "$node")
echo "idle_node idle: RSS $rss0 KiB (anonymous $(anon_kib "$node") KiB, PSS $(pss_kib "$node") KiB), $(threads "$node") threads, $(wakeups "$node") wake-ups/s"
echo "zre --json idle: RSS $(rss_kib "$zre") KiB (anonymous $(anon_kib "$zre") KiB, PSS $(pss_kib "$zre") KiB), $(threads "$zre") threads, $(wakeups "$zre") wake-ups/s"
exec 3>&-
kill "$zre" 2>/dev/null || true

"$BIN" -i lo --beacon-port "$PORT" --nodes "$PEERS" --whispers "$WHISPERS" --size 64 \
    --target-peers "$PEERS" --delay $((SAMPLE_SECS + 5)) --timeout 900 >/dev/null &
pids+=($!)
wait_for "$OUT/measured" "peers $PEERS" 60
sleep 2
rss1=$(rss_kib "$node")
echo "with $PEERS peers: RSS $rss1 KiB ($(awk -v a="$rss0" -v b="$rss1" -v n="$PEERS" 'BEGIN {printf "%.1f", (b - a) / n}') KiB per peer), $(threads "$node") threads, $(wakeups "$node") wake-ups/s"

cpu0=$(cpu_ns "$node")
start=$(date +%s.%N)
wait_for "$OUT/measured" "whispers $WHISPERS" 120
end=$(date +%s.%N)
cpu1=$(cpu_ns "$node")
awk -v a="$cpu0" -v b="$cpu1" -v n="$WHISPERS" -v s="$start" -v e="$end" 'BEGIN {
    printf "CPU per received 64 B whisper: %.2f us (%d whispers, %.2f s CPU over %.2f s wall, includes the wait)\n",
        (b - a) / n / 1000, n, (b - a) / 1e9, e - s }'
echo "after the burst: RSS $(rss_kib "$node") KiB"
