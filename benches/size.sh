#!/usr/bin/env bash
# Size of the stripped release `zre` binary (every applet in one binary;
# the release profile has LTO and one codegen unit), next to the libzmq
# inside it: the libzmq.a the zmq-sys build produced, and the sum of the
# zmq symbols (`zmq::*`, `zmq_*`) that the linker kept in the binary.
#
#   benches/size.sh
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --bin zre >&2
BIN=target/release/zre
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cp "$BIN" "$TMP/zre"
strip "$TMP/zre"

kib() { awk -v b="$1" 'BEGIN {printf "%.0f KiB", b / 1024}'; }
size_of() { stat -c %s "$1"; }

echo "zre (release, unstripped): $(kib "$(size_of "$BIN")")"
echo "zre (release, stripped):   $(kib "$(size_of "$TMP/zre")")"
size -A "$TMP/zre" | awk '$1 == ".text" || $1 == ".rodata" || $1 == ".data.rel.ro" {printf "  %-13s %s\n", $1, $2}'

lib=$(ls -t target/release/build/zmq-sys-*/out/lib/libzmq.a 2>/dev/null | head -1 || true)
if [ -n "$lib" ]; then
    echo "libzmq.a (zmq-sys build, static archive): $(kib "$(size_of "$lib")")"
    size -t "$lib" 2>/dev/null | awk 'END {printf "  its text+data+bss: %.0f KiB\n", $4 / 1024}'
fi
nm -C -S -t d --size-sort "$BIN" 2>/dev/null |
    awk '{name = ""; for (i = 4; i <= NF; i++) name = name " " $i}
         name ~ /^ (zmq::|zmq_)/ {s += $2 + 0; n++}
         END {printf "zmq symbols kept in zre: %d, %.0f KiB\n", n, s / 1024}'
nm -C -S -t d --size-sort "$BIN" 2>/dev/null |
    awk '{s += $2 + 0} END {printf "all sized symbols in zre: %.0f KiB\n", s / 1024}'
echo "dynamic libraries: $(ldd "$BIN" | awk '{print $1}' | xargs)"
