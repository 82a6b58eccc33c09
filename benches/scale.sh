#!/usr/bin/env bash
# Issue 24's scale table: N of our nodes, then N Zyre 2.0.1 nodes (through
# tests/interop/zyre_peer.c), interleaved per N, each node in its own
# network namespace on one bridge that the test makes and removes (never a
# real interface). One row per run: full mesh after the last READY, idle
# CPU per node over ZRE_SCALE_IDLE_S (30), RSS and threads per node, EXITs
# of live peers, and how long until every survivor has the EXIT of the
# 10 % SIGKILLed. Ours runs as a release build with its defaults.
#
#   sudo benches/scale.sh                 # N = 16 64 128 256, ours and Zyre
#   ZRE_SCALE_SIZES="64" ZRE_SCALE_IMPLS=ours benches/scale.sh
#
# Needs root and, for Zyre, the reference peers (scripts/setup-refpeers).
# Rows go to stdout and to target/scale-rows.txt; paste them into
# BENCHMARKS.md ("Scale").
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${ZRE_SCALE_SIZES:-"16 64 128 256"}
impls=${ZRE_SCALE_IMPLS:-"ours zyre"}
cargo build --release --bin zre >/dev/null
cargo test --all-features --test netns --no-run >/dev/null 2>&1
out=target/scale-rows.txt
echo "| N | impl | full mesh | idle CPU / node | RSS / node | threads | EXIT of live peers | kill → EXIT |" | tee -a "$out"
for n in $sizes; do
    for impl in $impls; do
        ZRE_SCALE_NODES=$n ZRE_SCALE_IMPL=$impl ZRE_SCALE_BIN="$PWD/target/release/zre" \
            cargo test --all-features --test netns -- scale::measure_one_row --ignored --exact --nocapture 2>&1 |
            grep '^scale-row' | sed 's/^scale-row //' | tee -a "$out" || echo "| $n | $impl | failed: see cargo test --test netns scale::measure_one_row |" | tee -a "$out"
    done
done
