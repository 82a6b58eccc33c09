#!/usr/bin/env bash
# Removes leftovers of the test harness tests/netns/support/netns.rs: network
# namespaces named zrelab-<pid>-… whose test process <pid> is gone (a run
# that was killed before its Drop guards ran). Touches nothing else.
#
#   scripts/netns-cleanup.sh          delete namespaces of dead test runs
#   scripts/netns-cleanup.sh --all    also those of running test processes
#   scripts/netns-cleanup.sh --kill   first SIGKILL the processes still
#                                     running inside those namespaces
#   scripts/netns-cleanup.sh -n       only list what would be done
set -euo pipefail

all=0 kill=0 dry=0
for arg in "$@"; do
    case "$arg" in
        --all) all=1 ;;
        --kill) kill=1 ;;
        -n|--dry-run) dry=1 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done

ip netns list | awk '{print $1}' | grep -E '^zrelab-[0-9]+-' | while read -r ns; do
    pid=${ns#zrelab-}
    pid=${pid%%-*}
    if [ "$all" -eq 0 ] && [ -d "/proc/$pid" ]; then
        echo "keep $ns (test process $pid is running)"
        continue
    fi
    if [ "$kill" -eq 1 ]; then
        for p in $(ip netns pids "$ns" 2>/dev/null); do
            echo "kill $p in $ns"
            [ "$dry" -eq 1 ] || kill -KILL "$p" 2>/dev/null || true
        done
    fi
    echo "delete $ns"
    [ "$dry" -eq 1 ] || ip netns del "$ns" || true
done
