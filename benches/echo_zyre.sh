#!/usr/bin/env bash
# Zyre 2.0.1's own echo benchmark (perf_local / perf_remote, from the Zyre
# build in $ZRE_REFPEERS_CACHE/zyre) and ours (examples/zre_perf.rs) with
# the same shape, side by side on the same LAN, with the ratio of the two;
# then the same echo on raw libzmq (examples/raw_perf.rs: the same sockets
# and frames without ZRE), the ceiling for ours, with ours/raw and raw/Zyre.
#
#   sudo benches/echo_zyre.sh            # 2 remotes, 100000 messages
#   MESSAGES=50000 sudo benches/echo_zyre.sh 3
#
# Zyre's tools take no interface option and czmq skips loopback, so every
# process runs in a network namespace of its own (one local, one per
# remote) on a veth LAN this script makes (10.98.0.0/24, a bridge in a
# namespace of its own) and removes on exit, also on failure or Ctrl-C.
# Nothing is added to the root namespace; beacons stay on that LAN.
# Needs root and iproute2. Each remote process runs one node, as in
# benches/echo.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

REMOTES=${1:-2}
MESSAGES=${MESSAGES:-100000}
CACHE=${ZRE_REFPEERS_CACHE:-$HOME/.cache/zre-refpeers}
ZYRE_BIN=$CACHE/zyre/bin
[ -x "$ZYRE_BIN/perf_local" ] && [ -x "$ZYRE_BIN/perf_remote" ] || {
    echo "echo_zyre.sh: no Zyre build in $CACHE/zyre: run bash .ci/run or ../shared/refpeers/build-zyre.sh $CACHE/zyre" >&2
    exit 1
}
[ "$(id -u)" = 0 ] || { echo "echo_zyre.sh: needs root (network namespaces)" >&2; exit 1; }

cargo build --release --example zre_perf --example raw_perf >&2
OURS=$PWD/target/release/examples/zre_perf
RAW=$PWD/target/release/examples/raw_perf

NS=zreecho-$$
BRIDGE=$NS-br
hosts=(local)
for i in $(seq "$REMOTES"); do hosts+=("r$i"); done
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    for h in "${hosts[@]}"; do
        ip netns del "$NS-$h" 2>/dev/null || true
    done
    ip netns del "$BRIDGE" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The LAN: a bridge in its own namespace; each host's veth is created there
# and its other end moved straight into the host's namespace.
ip netns add "$BRIDGE"
ip -n "$BRIDGE" link add br0 type bridge
ip -n "$BRIDGE" link set br0 up
n=2
for h in "${hosts[@]}"; do
    ip netns add "$NS-$h"
    ip -n "$NS-$h" link set lo up
    ip -n "$BRIDGE" link add "p$h" type veth peer name lan netns "$NS-$h"
    ip -n "$BRIDGE" link set "p$h" master br0 up
    ip -n "$NS-$h" addr add "10.98.0.$n/24" brd + dev lan
    ip -n "$NS-$h" link set lan up
    n=$((n + 1))
done
# Runs a command on a host; `exec`, so that `on h cmd &` gives $! = the
# command's own pid (ip netns exec execs it too).
on() { local h=$1; shift; exec ip netns exec "$NS-$h" "$@"; }

# Runs the local side on host "local" in the background and waits for it,
# so that a signal to this script ends the run at once (bash runs traps only
# between commands, and `wait` is one it interrupts); then shows its output.
local_side() {
    local log=$1; shift
    (on local "$@" >"$log" 2>&1) &
    pids+=($!)
    wait $! || { cat "$log"; echo "echo_zyre.sh: the local side failed" >&2; exit 1; }
    cat "$log"
}

# "... N msg/s" of the line matching $2 in file $1.
rate() { grep -- "$2" "$1" | grep -o '[0-9.]* msg/s' | cut -d' ' -f1; }

out=$(mktemp -d)
trap 'cleanup; rm -rf "$out"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== Zyre 2.0.1 perf_local/perf_remote: $REMOTES remote processes (1 node each), $MESSAGES whispers, beacons every 1 s (Zyre's default)"
pids=()
for i in $(seq "$REMOTES"); do
    (on "r$i" env ZSYS_INTERFACE=lan "$ZYRE_BIN/perf_remote" 1 >"$out/zyre-r$i.log" 2>&1) &
    pids+=($!)
done
local_side "$out/zyre.log" env ZSYS_INTERFACE=lan "$ZYRE_BIN/perf_local" "$REMOTES" "$MESSAGES"
# perf_remote runs until SIGINT or SIGTERM (a background job of a script
# ignores SIGINT).
for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
done
for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
done
pids=()

echo "== ours, examples/zre_perf: the same, beacons every 100 ms"
for i in $(seq "$REMOTES"); do
    (on "r$i" "$OURS" remote -i lan --beacon-port 55301 --beacon-interval-ms 100 --timeout 300 \
        >"$out/ours-r$i.log" 2>&1) &
    pids+=($!)
done
local_side "$out/ours.log" "$OURS" local -i lan --beacon-port 55301 --beacon-interval-ms 100 \
    --remotes "$REMOTES" --messages "$MESSAGES"
for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
done
pids=()

echo "== raw libzmq, examples/raw_perf: the same echo without ZRE (inbox port 55401)"
n=3
for i in $(seq "$REMOTES"); do
    (on "r$i" "$RAW" remote --local tcp://10.98.0.2:55401 --ip "10.98.0.$n" --timeout 300 \
        >"$out/raw-r$i.log" 2>&1) &
    pids+=($!)
    n=$((n + 1))
done
local_side "$out/raw.log" "$RAW" local --port 55401 --remotes "$REMOTES" --messages "$MESSAGES"
for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
done
pids=()

echo "== ours / Zyre, raw / Zyre, ours / raw"
for what in "send/receive:WHISPER" "GROUP message:SHOUT"; do
    pattern=${what%%:*}
    label=${what##*:}
    z=$(rate "$out/zyre.log" "$pattern")
    o=$(rate "$out/ours.log" "$pattern")
    r=$(rate "$out/raw.log" "$pattern")
    awk -v l="$label" -v o="$o" -v z="$z" -v r="$r" \
        'BEGIN { printf "%-8s ours %10.0f  Zyre %8.0f  raw %10.0f msg/s   ours/Zyre %.1f  raw/Zyre %.1f  ours/raw %.2f\n", l, o, z, r, o / z, r / z, o / r }'
done
