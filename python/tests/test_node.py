"""zre_rs.Node, the pythonic API: options, typed events, errors with the
Rust messages, the GIL released while waiting, CURVE, elections, asyncio.
Nodes run in loopback mode inside the test process's private network
namespace (conftest.py)."""

import asyncio
import os
import select
import threading
import time
import uuid

import pytest

import zre_rs
from zre_rs import CommandError, ConfigError, Node, NodeStopped

FAST = dict(loopback=True, beacon_interval=0.1)


def expect(node, kind, timeout=10.0, **fields):
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        event = node.recv(timeout=max(left, 0))
        if event is None:
            raise AssertionError("no %s %s within %ss" % (kind.__name__, fields, timeout))
        if isinstance(event, kind) and all(getattr(event, k) == v for k, v in fields.items()):
            return event


# ----- errors: no network needed (no beacons, inbox on 127.0.0.1) -----------


def test_errors_name_an_importable_module_and_pickle():
    # multiprocessing and concurrent.futures pickle what a worker raises;
    # the classes lived in a module '_native' that cannot be imported.
    import pickle

    for cls in (zre_rs.ZreError, ConfigError, CommandError, NodeStopped):
        assert cls.__module__ == "zre_rs._native", cls
        err = pickle.loads(pickle.dumps(cls("why")))
        assert type(err) is cls and str(err) == "why"


def test_bad_settings_raise_with_the_rust_message():
    with pytest.raises(ConfigError, match=r"^name is 300 bytes; at most 255 fit in HELLO$"):
        Node("x" * 300, loopback=True, beacons=False)
    with pytest.raises(ConfigError, match=r"must not be shorter than the evasive timeout"):
        Node(loopback=True, beacons=False, evasive_timeout=10, expired_timeout=5)
    with pytest.raises(ConfigError, match="beacon interval must be more than 0"):
        Node(loopback=True, beacon_interval=0)
    with pytest.raises(ConfigError, match="max peers must be at least 1"):
        Node(loopback=True, beacons=False, max_peers=0)
    with pytest.raises(ConfigError, match="invalid gossip endpoint"):
        Node(loopback=True, beacons=False, gossip=["nowhere"])
    with pytest.raises(ConfigError, match="needs CURVE mode"):
        Node(loopback=True, beacons=False, curve_allow="/tmp")
    with pytest.raises(ConfigError, match="no interface is named no-such-if"):
        Node(interface="no-such-if", beacons=False)
    with pytest.raises(ConfigError, match="^/nonexistent/cert_secret: No such file or directory"):
        Node(loopback=True, beacons=False, curve_cert="/nonexistent/cert_secret")
    with pytest.raises(ConfigError, match="contested group"):
        Node(loopback=True, beacons=False, contest=[""])
    with pytest.raises(ConfigError, match="max message size 0 bytes is under 527"):
        Node(loopback=True, beacons=False, max_message_size=0)
    with pytest.raises(ConfigError, match="send high-water mark -1 is negative"):
        Node(loopback=True, beacons=False, send_hwm=-1)


def test_the_cores_log_lines_reach_stderr():
    # The core's warnings (a message dropped as too large, a failed send)
    # went nowhere: no logger was installed. They go to stderr now, warnings
    # and errors by default and more with RUST_LOG, as for the tools.
    import subprocess
    import sys

    script = (
        "import zre_rs\n"
        "n = zre_rs.Node('logs', loopback=True, beacons=False)\n"
        "n.join('g')\n"
        "n.stop()\n"
    )
    for log, shown in (("zre=info", True), ("", False)):
        env = dict(os.environ, RUST_LOG=log) if log else {k: v for k, v in os.environ.items() if k != "RUST_LOG"}
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert ("joining group g" in out.stderr) == shown, (log, out.stderr)


def test_bad_arguments_raise_python_errors_not_crashes():
    with pytest.raises(ValueError):
        Node(loopback=True, beacons=False, evasive_timeout=float("nan"))
    with pytest.raises(ValueError):
        Node(loopback=True, beacons=False, linger=-1)
    with pytest.raises(ValueError):
        Node(loopback=True, beacons=False, port_range=(5, 1))
    with pytest.raises(ValueError):
        Node(loopback=True, beacons=False, multicast_group="not an address")
    with pytest.raises(ValueError):
        Node(uuid=b"short", loopback=True, beacons=False)
    with pytest.raises(ValueError):
        Node(interface="eth0", loopback=True)
    with pytest.raises(TypeError):
        Node(loopback=True, beacons=False, beacon_port="5670")
    with pytest.raises(OverflowError):
        Node(loopback=True, beacons=False, beacon_port=70000)
    with Node(loopback=True, beacons=False) as node:
        with pytest.raises(TypeError, match="must be bytes, bytearray or str"):
            node.shout("g", [b"ok", 5])
        with pytest.raises(TypeError):
            node.whisper(12345, b"x")
        with pytest.raises(ValueError):
            node.whisper(b"\x00" * 15, b"x")
        with pytest.raises(CommandError, match=r"^invalid group name \"\": must be 1 to 255 bytes$"):
            node.join("")
        with pytest.raises(CommandError, match="invalid group name"):
            node.shout("g" * 256, b"x")
        stranger = uuid.uuid4()
        with pytest.raises(CommandError, match="^unknown peer %s$" % stranger.hex):
            node.whisper(stranger, b"x")
        with pytest.raises(ValueError):
            node.recv(timeout=-1)
        assert node.recv(timeout=0.05) is None


def test_identity_options_and_queries_without_peers():
    me = uuid.uuid4()
    with Node("solo", uuid=me, loopback=True, beacons=False, headers={"K": "v"},
              groups=["a", "b"], port_range="any") as node:
        assert node.uuid == me and node.name == "solo"
        assert node.endpoint.startswith("tcp://127.0.0.1:")
        assert sorted(node.own_groups()) == ["a", "b"]
        node.leave("a")
        assert node.own_groups() == ["b"]
        assert node.peers() == [] and node.peer_groups() == []
        assert node.peer_endpoint(me) is None and node.peer_headers(me) is None
        assert node.running and "solo" in repr(node)
    assert not node.running


def test_stop_gives_stop_then_node_stopped():
    node = Node(loopback=True, beacons=False)
    r, _, _ = select.select([node], [], [], 0)
    assert r == []
    node.stop()
    node.stop()  # idempotent
    assert select.select([node], [], [], 1)[0] == [node]  # readable once stopped
    stop = node.recv(timeout=1)
    assert isinstance(stop, zre_rs.Stop)
    assert repr(stop) == "<Stop>"
    with pytest.raises(NodeStopped, match="the node has stopped"):
        node.recv()
    with pytest.raises(NodeStopped):
        node.join("g")
    assert node.peers() == []
    assert list(node) == []


def test_generate_certificate(tmp_path):
    assert zre_rs.curve_available()
    key = zre_rs.generate_certificate(tmp_path / "me.cert")
    assert len(key) == 40
    assert (tmp_path / "me.cert_secret").exists()
    assert zre_rs.certificate_public_key(tmp_path / "me.cert") == key
    assert oct(os.stat(tmp_path / "me.cert_secret").st_mode & 0o777) == "0o600"


# ----- two nodes in the private namespace -----------------------------------


@pytest.fixture
def two(isolated):
    a = Node("alice", headers={"X-Role": "a"}, **FAST)
    b = Node("bob", headers=[("X-Role", "b")], **FAST)
    yield a, b
    a.stop()
    b.stop()


def test_enter_whisper_shout_join_leave_exit(two):
    a, b = two
    enter = expect(a, zre_rs.Enter, peer=b.uuid)
    assert enter.name == "bob" and enter.headers == {"X-Role": "b"}
    assert enter.endpoint == b.endpoint == a.peer_endpoint(b.uuid)
    expect(b, zre_rs.Enter, peer=a.uuid)
    assert a.peers() == [b.uuid]
    assert a.peer_name(b.uuid) == "bob"
    assert a.peer_headers(b.uuid) == {"X-Role": "b"}
    assert a.peer_header_value(b.uuid, "X-Role") == "b"
    assert a.peer_header_value(b.uuid, "nope") is None

    b.whisper(a.uuid, [b"one", "two", bytearray(b"\x00")])
    w = expect(a, zre_rs.Whisper)
    assert (w.peer, w.name, w.content, w.data) == (b.uuid, "bob", [b"one", b"two", b"\x00"], b"onetwo\x00")

    a.join("g")
    expect(b, zre_rs.Join, peer=a.uuid, group="g")
    assert b.peers_by_group("g") == [a.uuid] and b.peer_groups() == ["g"]
    b.shout("g", b"to the group")
    a.shout("g", b"nobody else is in g")  # no error
    s = expect(a, zre_rs.Shout, group="g")
    assert s.content == [b"to the group"] and s.peer == b.uuid
    a.leave("g")
    expect(b, zre_rs.Leave, peer=a.uuid, group="g")

    b.stop()
    expect(a, zre_rs.Exit, peer=b.uuid)
    with pytest.raises(CommandError, match="unknown peer"):
        a.whisper(b.uuid, b"gone")


def test_a_frame_over_the_size_limit_raises_and_what_follows_arrives(isolated):
    # A peer at the same limit would drop the link such a frame came on,
    # and what we sent after it: the call refuses it, nothing is sent.
    limit = 4096
    a = Node("alice", max_message_size=limit, **FAST)
    b = Node("bob", max_message_size=limit, **FAST)
    try:
        expect(a, zre_rs.Enter, peer=b.uuid)
        expect(b, zre_rs.Enter, peer=a.uuid)
        b.join("g")
        expect(a, zre_rs.Join, peer=b.uuid, group="g")
        with pytest.raises(CommandError, match="4097 bytes is over the limit of 4096"):
            a.whisper(b.uuid, [b"x", b"o" * (limit + 1)])
        with pytest.raises(CommandError, match="max_message_size"):
            a.shout("g", b"o" * (limit + 1))
        a.whisper(b.uuid, b"m" * limit)
        a.whisper(b.uuid, b"after")
        assert expect(b, zre_rs.Whisper, peer=a.uuid).content == [b"m" * limit]
        assert expect(b, zre_rs.Whisper, peer=a.uuid).content == [b"after"]
    finally:
        a.stop()
        b.stop()


def test_iteration_and_context_manager(isolated):
    with Node("it", **FAST) as a, Node("other", **FAST) as b:
        seen = []
        for event in a:
            seen.append(event.kind)
            if isinstance(event, zre_rs.Enter):
                b.stop()
            if isinstance(event, zre_rs.Exit):
                a.stop()
        assert seen == ["ENTER", "EXIT", "STOP"]


def test_recv_releases_the_gil(isolated):
    with Node(**FAST) as node:
        count = 0
        done = threading.Event()

        def spin():
            nonlocal count
            while not done.is_set():
                count += 1

        t = threading.Thread(target=spin)
        t.start()
        time.sleep(0.05)
        before = count
        node.recv(timeout=0.5)  # nothing comes: waits with the GIL released
        during = count - before
        done.set()
        t.join()
        assert during > 10000, during


def test_curve_nodes_meet_and_plain_ones_do_not(isolated, tmp_path):
    zre_rs.generate_certificate(tmp_path / "a")
    zre_rs.generate_certificate(tmp_path / "b")
    with Node("ca", curve_cert=tmp_path / "a_secret", **FAST) as a, \
            Node("cb", curve_cert=tmp_path / "b_secret", **FAST) as b, \
            Node("plain", **FAST) as plain:
        expect(a, zre_rs.Enter, peer=b.uuid)
        # b may whisper once it has a's ENTER: in CURVE mode that waits
        # for its own link's handshake, which can come after a's.
        expect(b, zre_rs.Enter, peer=a.uuid)
        b.whisper(a.uuid, b"secret")
        assert expect(a, zre_rs.Whisper).content == [b"secret"]
        time.sleep(0.5)
        assert plain.uuid not in a.peers() and plain.peers() == []


def test_elections_pick_one_leader(isolated):
    with Node("e1", contest=["vote"], groups=["vote"], **FAST) as a, \
            Node("e2", contest=["vote"], groups=["vote"], **FAST) as b:
        la = expect(a, zre_rs.Leader, group="vote", timeout=15)
        lb = expect(b, zre_rs.Leader, group="vote", timeout=15)
        assert la.peer == lb.peer and la.peer in (a.uuid, b.uuid)
        assert a.leader("vote") == b.leader("vote") == la.peer


def test_asyncio_events_driven_by_the_fd(isolated):
    async def main():
        with Node("async-a", **FAST) as a, Node("async-b", **FAST) as b:
            seen = []

            async def consume():
                async for event in a.events():
                    seen.append(event.kind)
                    if isinstance(event, zre_rs.Enter):
                        b.whisper(a.uuid, b"hi async")
                    elif isinstance(event, zre_rs.Whisper):
                        assert event.content == [b"hi async"]
                        a.stop()
                return seen

            threads = threading.active_count()
            result = await asyncio.wait_for(consume(), 10)
            assert threading.active_count() <= threads  # no polling thread
            return result

    assert asyncio.run(main()) == ["ENTER", "WHISPER", "STOP"]


def test_concurrent_senders_lose_nothing(isolated):
    """Four threads whisper at once (the command queue fills and senders
    wait, GIL released): every message arrives, in order per thread."""
    with Node("tx", **FAST) as a, Node("rx", **FAST) as b:
        expect(a, zre_rs.Enter, peer=b.uuid)
        expect(b, zre_rs.Enter, peer=a.uuid)
        per_thread, threads = 5000, 4

        def send(t):
            for i in range(per_thread):
                a.whisper(b.uuid, [b"%d" % t, b"%d" % i])

        workers = [threading.Thread(target=send, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        last = {t: -1 for t in range(threads)}
        for _ in range(per_thread * threads):
            w = expect(b, zre_rs.Whisper, timeout=20)
            t, i = int(w.content[0]), int(w.content[1])
            assert i == last[t] + 1, (t, i, last[t])
            last[t] = i
        for w in workers:
            w.join()
        assert all(v == per_thread - 1 for v in last.values())


def test_events_not_taken_hold_the_peers_back_not_the_memory(isolated):
    """A program that does not call recv: its queue stops at max_events
    (before, everything peers sent piled up in it: past 1 GiB for a
    million whispers of 1 KiB), the rest waits in the node and then in
    libzmq, and once it reads, every message comes, in order."""
    bound, count = 64, 1000
    with Node("tx", **FAST) as a, Node("rx", max_events=bound, **FAST) as b:
        expect(a, zre_rs.Enter, peer=b.uuid)
        expect(b, zre_rs.Enter, peer=a.uuid)
        for i in range(count):
            a.whisper(b.uuid, b"%d" % i)
        deadline = time.monotonic() + 2.0
        most = 0
        while time.monotonic() < deadline:
            most = max(most, b.pending())
            time.sleep(0.01)
        assert bound // 2 <= most <= bound, most
        got = [int(expect(b, zre_rs.Whisper, peer=a.uuid, timeout=20).content[0]) for _ in range(count)]
        assert got == list(range(count))


def test_blocking_recv_is_interruptible(isolated):
    """Ctrl-C (SIGINT) ends a recv() that waits with no timeout."""
    import signal

    # Python's own Ctrl-C handler, whatever this process inherited: a
    # process started in the background by a shell without job control
    # (as a CI runner may start it) inherits SIGINT ignored, Python then
    # leaves it ignored, and the recv() below would wait for good.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with Node(**FAST) as node:
            timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
            timer.start()
            start = time.monotonic()
            with pytest.raises(KeyboardInterrupt):
                node.recv()
            timer.join()
            assert time.monotonic() - start < 5
    finally:
        signal.signal(signal.SIGINT, previous)


def test_seeds_and_gossip_bind_without_beacons(isolated):
    """Discovery beyond beacons: a seed peer by address, and a node that is
    its own ZGossip server for another."""
    with Node("seeded", loopback=True, beacons=False, port_range=(47000, 47000)) as a, \
            Node("seeder", loopback=True, beacons=False, seeds=["127.0.0.1:47000"]) as b:
        expect(a, zre_rs.Enter, peer=b.uuid)
        expect(b, zre_rs.Enter, peer=a.uuid)
    with Node("server", loopback=True, beacons=False, gossip_bind="tcp://127.0.0.1:47311") as s, \
            Node("client", loopback=True, beacons=False, gossip=["127.0.0.1:47311"]) as c:
        expect(c, zre_rs.Enter, peer=s.uuid, timeout=15)
        expect(s, zre_rs.Enter, peer=c.uuid, timeout=15)
    with pytest.raises(ConfigError):
        Node(loopback=True, beacons=False, seeds=["no port"])
