#!/usr/bin/env bash
# Sizes of the stripped `zre` binary (every applet in one binary) and of
# `examples/idle_node` (a bare node: the library alone), with CURVE and
# without, in the release profile (LTO, one codegen unit) and in the
# `embedded` profile (Cargo.toml: opt-level "s", panic = "abort", LTO,
# stripped; libzmq and libsodium are compiled with -Os too); for the release
# builds, where the bytes go (sized symbols by origin: libzmq, libsodium,
# Rust's std, our code, each dependency); and the idle RSS of idle_node.
#
#   benches/size.sh                      # all four builds (each compiles libzmq once)
#   PROFILES=release FEATURES=default benches/size.sh
#   RSS_SECS=0 benches/size.sh           # no idle-RSS run
#
# The idle run uses loopback only (`-i lo`, a private beacon port).
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILES=${PROFILES:-"release embedded"}
FEATURES=${FEATURES:-"default nocurve"}
RSS_SECS=${RSS_SECS:-5}
PORT=${BEACON_PORT:-55311}
TMP=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

kib() { awk -v b="$1" 'BEGIN {printf "%.0f KiB", b / 1024}'; }
size_of() { stat -c %s "$1"; }

# Sized symbols of an unstripped binary, summed by where they come from.
breakdown() {
    nm -C -S -t d "$1" 2>/dev/null | awk '
        NF >= 4 {
          name = ""; for (i = 4; i <= NF; i++) name = name " " $i; sub(/^ /, "", name)
          size = $2 + 0; total += size
          o = "C runtime and unnamed"
          if (name ~ /^(zmq::|zmq_)/) o = "libzmq"
          # C++ (libstdc++, linked statically for libzmq): demangled C++
          # functions end in their parameter list, Rust ones do not.
          else if (name ~ /^(std::__|__gnu_cxx|operator new|operator delete|__cxa|__cxx|__gxx|typeinfo|vtable for |VTT for |guard variable)/ || (name ~ /\)( const)?$/ && name !~ /^</)) o = "libstdc++ (for libzmq)"
          else if (name ~ /^(crypto_|sodium_|randombytes|_sodium|escrypt)/) o = "libsodium"
          else if (name ~ /(gimli|addr2line|miniz_oxide|rustc_demangle|backtrace|symboliz|^<?object::|^<?adler2::)/) o = "Rust std: panic backtraces"
          else if (name ~ /^<?(std|core|alloc|hashbrown|memchr)::/ && name ~ /zre::/) o = "Rust std generics for zre types"
          else if (name ~ /^<?(std|core|alloc|hashbrown|memchr)::/ || name ~ /^<(&|\*|\[|\()/ || name ~ /^(__rust|rust_)/) o = "Rust std/core/alloc (other)"
          else if (name ~ /^<?zre::/) o = "zre (the library)"
          else if (name ~ /^<?(tools|main|zre_perf|idle_node)::/ || name ~ /^<?[a-z]+_applet/) o = "the program"
          else if (match(name, /^<?[a-z_0-9]+::/)) { o = substr(name, RSTART, RLENGTH); gsub(/[<:]/, "", o); o = "crate " o }
          by[o] += size }
        END { for (o in by) printf "%.0f\t%s\n", by[o] / 1024, o
              printf "%.0f\t%s\n", total / 1024, "(all sized symbols)" }' |
        sort -rn | awk -F'\t' '{printf "    %-30s %6s KiB\n", $2, $1}'
}

idle_rss() {
    local bin=$1 pid
    "$bin" -i lo --beacon-port "$PORT" >/dev/null 2>&1 &
    pid=$!
    pids+=("$pid")
    sleep "$RSS_SECS"
    awk '/^VmRSS/ {r = $2} /^RssAnon/ {a = $2} /^RssFile/ {f = $2}
         END {printf "%s KiB (file-backed %s, anonymous %s)", r, f, a}' "/proc/$pid/status"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    PORT=$((PORT + 1))
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(rustc --version)"
for profile in $PROFILES; do
    for features in $FEATURES; do
        # Without CURVE: libzmq built without libsodium (README, "CURVE").
        case $features in
        default) curve=1 ;;
        nocurve) curve=0 ;;
        *) echo "size.sh: FEATURES are default and nocurve" >&2; exit 1 ;;
        esac
        ZRE_LIBZMQ_CURVE=$curve cargo build --profile "$profile" --bin zre --example idle_node >&2
        dir=${CARGO_TARGET_DIR:-target}/$profile
        for bin in zre examples/idle_node; do
            cp "$dir/$bin" "$TMP/stripped"
            strip "$TMP/stripped"
            echo "== $profile, features $features: $bin stripped $(kib "$(size_of "$TMP/stripped")")"
            size -A "$TMP/stripped" | awk '$1 == ".text" || $1 == ".rodata" || $1 == ".eh_frame" || $1 == ".gcc_except_table" || $1 == ".data.rel.ro" {printf "    section %-18s %6.0f KiB\n", $1, $2 / 1024}'
            # The embedded profile strips at link time: no symbols to sort.
            if [ "$profile" != embedded ]; then
                breakdown "$dir/$bin"
            fi
        done
        if [ "$RSS_SECS" != 0 ]; then
            echo "   idle_node idle RSS after ${RSS_SECS}s: $(idle_rss "$dir/examples/idle_node")"
        fi
    done
done
echo "dynamic libraries: $(ldd ${CARGO_TARGET_DIR:-target}/release/zre 2>/dev/null | awk '{print $1}' | xargs)"
