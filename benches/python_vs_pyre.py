#!/usr/bin/env python3
"""Messages per second: zre_rs.pyre (our package) against pyre 0.3.4, in the
same run, with the same code (pyre's API, only the import differs).

    python3 benches/python_vs_pyre.py [--n-ours N] [--n-pyre N] [--receivers K] [--rounds R]

Runs itself in a private network namespace (``unshare --net``; root), with
``lo`` and a veth ``d0`` 10.201.0.1/24: no beacon leaves it. Each receiver
is a process of its own; the sender is this process. Cases: a WHISPER
stream to one receiver and a SHOUT fan-out to K receivers, 64 B and
1 KiB messages. Flow control by credit: a receiver whispers an ack every
ACK_EVERY messages and the sender keeps at most WINDOW unacked (pyre drops
a peer whose socket is full). Beside msg/s (which the machine's load
swings), the CPU time per message of all processes (sender and receivers,
every thread, os.times()), which depends less on the load. Then idle RSS and threads of a Python
process with one node, ours and pyre's.

Needs zre_rs installed (pip install ./python) and pyre 0.3.4 with pyzmq.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid

ACK_EVERY = 500
WINDOW = 2000
PRIVATE = "ZRE_BENCH_PRIVATE_NETNS"


def impl_module(name):
    if name == "ours":
        from zre_rs.pyre import Pyre
    else:
        from pyre import Pyre
    return Pyre


def node(impl, name):
    n = impl_module(impl)(name)
    n.set_interval("100")
    n.join("BENCH")
    n.start()
    return n


def receiver(impl, n_msgs):
    me = node(impl, "recv-%d" % os.getpid())
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    count = 0
    data = (b"WHISPER", b"SHOUT")
    cpu0 = sum(os.times()[:2])
    while True:
        frames = me.recv()
        if frames[0] in data:
            count += 1
            if count % ACK_EVERY == 0:
                me.whisper(uuid.UUID(bytes=frames[1]), b"ack")
            if count == n_msgs:
                me.whisper(uuid.UUID(bytes=frames[1]), b"done")
                break
    cpu = os.times()
    sys.stdout.write("cpu %f\n" % (cpu.user + cpu.system - cpu0))
    sys.stdout.flush()
    sys.stdin.readline()  # until the sender is done with us
    me.stop()
    os._exit(0)


def run_case(impl, mode, size, n_msgs, n_receivers):
    me = node(impl, "sender")
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--role", "recv", "--impl", impl, "--n", str(n_msgs)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(n_receivers)
    ]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    peers, joined = set(), set()
    deadline = time.monotonic() + 30
    while len(peers) < n_receivers or len(joined) < n_receivers:
        assert time.monotonic() < deadline, "receivers not seen"
        frames = me.recv()
        if frames[0] == b"ENTER":
            peers.add(frames[1])
        elif frames[0] == b"JOIN":
            joined.add(frames[1])
    time.sleep(0.2)
    payload = os.urandom(size)
    acks = {p: 0 for p in peers}
    done = set()
    sent = 0
    target = [uuid.UUID(bytes=p) for p in peers][0]
    send = (lambda: me.whisper(target, payload)) if mode == "whisper" else (lambda: me.shout("BENCH", payload))
    limit = min(WINDOW, n_msgs)  # send up to here before waiting for acks
    cpu0 = sum(os.times()[:2])
    t0 = time.perf_counter()
    while len(done) < n_receivers:
        while sent < limit:
            send()
            sent += 1
        frames = me.recv()
        if frames[0] == b"WHISPER":
            if frames[-1] == b"ack":
                acks[frames[1]] += 1
                limit = min(n_msgs, min(acks.values()) * ACK_EVERY + WINDOW)
            elif frames[-1] == b"done":
                done.add(frames[1])
    elapsed = time.perf_counter() - t0
    cpu = sum(os.times()[:2]) - cpu0
    for p in procs:
        cpu += float(p.stdout.readline().split()[1])
        p.stdin.write("\n")
        p.stdin.flush()
    for p in procs:
        p.wait(30)
    me.stop()
    # msg/s, and CPU µs per message (sender and receivers, all threads)
    return n_msgs / elapsed, cpu / n_msgs * 1e6


def idle(impl):
    n = node(impl, "idle")
    time.sleep(3)
    with open("/proc/self/status") as f:
        status = dict(line.split(":", 1) for line in f)
    print(status["VmRSS"].split()[0], status["Threads"].strip(), flush=True)
    n.stop()
    os._exit(0)


def idle_footprint(impl):
    argv = [sys.executable, __file__, "--role", "idle", "--impl", impl]
    out = subprocess.run(argv, capture_output=True, text=True, check=True)
    rss_kib, threads = out.stdout.split()
    return int(rss_kib) / 1024.0, int(threads)




def enter_private_netns():
    if os.environ.get(PRIVATE) == "1":
        return
    env = dict(os.environ, **{PRIVATE: "1"})
    setup = (
        "ip link set lo up && ip link add d0 type veth peer name d1 && "
        "ip addr add 10.201.0.1/24 brd + dev d0 && ip link set d1 up && ip link set d0 up && "
        'exec "$0" "$@"'
    )
    os.execvpe("unshare", ["unshare", "--net", "sh", "-c", setup, sys.executable] + sys.argv, env)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--role", default="send")
    parser.add_argument("--impl", default="ours")
    parser.add_argument("--n", type=int, default=0)
    parser.add_argument("--n-ours", type=int, default=100000)
    parser.add_argument("--n-pyre", type=int, default=10000)
    parser.add_argument("--receivers", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.role == "recv":
        receiver(args.impl, args.n)
        return
    if args.role == "idle":
        idle(args.impl)
        return
    enter_private_netns()
    import pyre  # noqa: F401  (fail early with the import error)
    import zre_rs  # noqa: F401

    print("median of %d rounds, ours and pyre alternating; load %.1f" % (args.rounds, os.getloadavg()[0]))
    print()
    print("| case | zre_rs.pyre msg/s | pyre 0.3.4 msg/s | ratio | zre_rs.pyre CPU µs/msg | pyre CPU µs/msg | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for mode in ("whisper", "shout"):
        for size in (64, 1024):
            k = 1 if mode == "whisper" else args.receivers
            ours, theirs = [], []
            for _ in range(args.rounds):
                ours.append(run_case("ours", mode, size, args.n_ours, k))
                theirs.append(run_case("pyre", mode, size, args.n_pyre, k))
            o = statistics.median(r for r, _ in ours)
            t = statistics.median(r for r, _ in theirs)
            oc = statistics.median(c for _, c in ours)
            tc = statistics.median(c for _, c in theirs)
            label = "%s %d B%s" % (mode, size, "" if k == 1 else " to %d peers" % k)
            print("| %s | %.0f | %.0f | %.1fx | %.1f | %.1f | %.1fx |" % (label, o, t, o / t, oc, tc, tc / oc), flush=True)
    print()
    print("| idle, one node | RSS MiB | threads |")
    print("|---|---:|---:|")
    for impl, label in (("ours", "zre_rs.pyre"), ("pyre", "pyre 0.3.4")):
        rss, threads = idle_footprint(impl)
        print("| %s | %.1f | %d |" % (label, rss, threads), flush=True)


if __name__ == "__main__":
    main()
