#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each and prints the
# executions and findings of each. Usage: fuzz/run.sh SECONDS [TARGET...]
# Needs cargo-fuzz (cargo install cargo-fuzz); the stable toolchain works with
# RUSTC_BOOTSTRAP=1 for the sanitizer flags. A crash leaves its input under
# fuzz/artifacts/TARGET/ and makes this script exit non-zero.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(beacon zre_msg gossip_msg gossip_dialect config node_core)
python3 make_corpus.py >/dev/null
export RUSTC_BOOTSTRAP=1
status=0
for target in "${targets[@]}"; do
    log=$(mktemp)
    # Seeds are read from corpus/TARGET; new finds go to a scratch copy so the
    # repository keeps only its seeds.
    scratch=$(mktemp -d)
    cp corpus/"$target"/* "$scratch"/
    if cargo fuzz run --release "$target" "$scratch" -- -max_total_time="$seconds" -print_final_stats=1 \
        >"$log" 2>&1; then
        result=ok
    else
        result=CRASH
        status=1
    fi
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    printf '%-11s %-6s %s executions in %ss\n' "$target" "$result" "$execs" "$seconds"
    [ "$result" = ok ] || tail -40 "$log"
    rm -rf "$scratch" "$log"
done
exit "$status"
