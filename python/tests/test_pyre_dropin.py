"""zre_rs.pyre as pyre: pyre's own test cases (tests/test_pyre.py of
zeromq/pyre, replayed here in our words with only the import changed), then
every other call of pyre's API, the frame shapes of each event, socket() in
a zmq.Poller, PyreEvent and zhelper.zthread_fork as examples/chat.py uses
them. Nodes run in the test process's private network namespace (see
conftest.py) on its dummy interface, as pyre's tests run on a LAN."""

import json
import threading
import time
import uuid

import pytest
import zmq

import zre_rs.pyre as pyre
from zre_rs.pyre import Pyre, PyreEvent, zhelper

pytestmark = pytest.mark.usefixtures("isolated")


def recv_kind(node, kind, timeout=10.0):
    """The next event of ``kind``, skipping others."""
    sock = node.socket()
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if poller.poll(100):
            frames = node.recv()
            if frames[0] == kind:
                return frames
    raise AssertionError("no %r within %ss" % (kind, timeout))


@pytest.fixture
def pair():
    """pyre's setUp: node1 and node2 with header X-TEST=1, started, 1 s."""
    ctx = zmq.Context()
    node1 = pyre.Pyre("node1", ctx=ctx)
    node1.set_header("X-TEST", "1")
    node2 = pyre.Pyre("node2", ctx=ctx)
    node2.set_header("X-TEST", "1")
    node1.start()
    node2.start()
    time.sleep(1)
    yield node1, node2
    node1.stop()
    node2.stop()


def test_pyre_module_paths_import_the_same_class():
    # pyre users write `from pyre.pyre import Pyre` as often as `from pyre import Pyre`.
    from zre_rs.pyre.pyre import Pyre as FromModule

    assert FromModule is Pyre
    # pyre's __all__ has 'pyre': `from pyre import *` then `pyre.Pyre`.
    scope = {}
    exec("from zre_rs.pyre import *", scope)
    assert scope["pyre"].Pyre is Pyre


# ----- pyre's test cases ---------------------------------------------------


def test_names(pair):
    node1, node2 = pair
    assert node1.name() == "node1"
    assert node2.name() == "node2"


def test_peers_lists_the_other_node(pair):
    node1, node2 = pair
    peers = node2.peers()
    assert isinstance(peers, list)
    assert node1.uuid() in peers


def test_peers_by_group(pair):
    node1, node2 = pair
    node1.join("TEST")
    time.sleep(0.5)
    peers = node2.peers_by_group("TEST")
    node1.leave("TEST")
    assert isinstance(peers, list)
    assert node1.uuid() in peers


def test_peer_address_is_a_str(pair):
    node1, node2 = pair
    assert isinstance(node1.peer_address(node2.uuid()), str)
    assert isinstance(node2.peer_address(node1.uuid()), str)


def test_peer_header_value(pair):
    node1, node2 = pair
    assert node1.peer_header_value(node2.uuid(), "X-TEST") == "1"
    assert node2.peer_header_value(node1.uuid(), "X-TEST") == "1"


def test_own_groups(pair):
    node1, node2 = pair
    node1.join("TEST")
    node2.join("TEST")
    time.sleep(0.5)
    assert "TEST" in node1.own_groups()
    assert "TEST" in node2.own_groups()


def test_join_leave_messages(pair):
    node1, node2 = pair
    assert node1.recv()[0] == b"ENTER"
    assert node2.recv()[0] == b"ENTER"
    node1.join("TEST")
    node2.join("TEST")
    assert node1.recv()[0] == b"JOIN"
    assert node2.recv()[0] == b"JOIN"
    node1.leave("TEST")
    node2.leave("TEST")
    assert node1.recv()[0] == b"LEAVE"
    assert node2.recv()[0] == b"LEAVE"


def test_peer_groups(pair):
    node1, node2 = pair
    node1.join("TEST")
    node2.join("TEST")
    time.sleep(0.5)
    assert "TEST" in node1.peer_groups()
    assert "TEST" in node2.peer_groups()


def test_whispers(pair):
    node1, node2 = pair
    assert node1.recv()[0] == b"ENTER"
    assert node2.recv()[0] == b"ENTER"
    node1.whispers(node2.uuid(), "Hi")
    msg = node2.recv()
    assert msg == [b"WHISPER", node1.uuid().bytes, b"node1", b"Hi"]


@pytest.mark.parametrize("send", ["shouts", "shout"])
def test_shout_and_shouts(pair, send):
    node1, node2 = pair
    assert node1.recv()[0] == b"ENTER"
    assert node2.recv()[0] == b"ENTER"
    node1.join("TEST")
    node2.join("TEST")
    assert node1.recv()[0] == b"JOIN"
    assert node2.recv()[0] == b"JOIN"
    if send == "shouts":
        node1.shouts("TEST", "Hi")
    else:
        node1.shout("TEST", b"Hi")
    msg = node2.recv()
    assert msg == [b"SHOUT", node1.uuid().bytes, b"node1", b"TEST", b"Hi"]


# ----- the rest of pyre's API ------------------------------------------------


def test_enter_frames_have_pyre_shape(pair):
    node1, node2 = pair
    frames = node1.recv()
    assert len(frames) == 5
    assert frames[:3] == [b"ENTER", node2.uuid().bytes, b"node2"]
    assert json.loads(frames[3]) == {"X-TEST": "1"}
    assert frames[3] == json.dumps({"X-TEST": "1"}).encode()
    assert frames[4].decode() == node1.peer_address(node2.uuid())
    assert frames[4].startswith(b"tcp://10.200.0.1:")
    assert node1.peer_headers(node2.uuid()) == {"X-TEST": "1"}


def test_whisper_frames_lists_and_unknown_peers(pair):
    node1, node2 = pair
    recv_kind(node2, b"ENTER")
    node1.whisper(uuid.uuid4(), b"to nobody")  # dropped, as pyre does
    # Whatever its size: the unknown peer comes first (a user's trial:
    # over the node's 64 MiB limit, this raised CommandError).
    node1.whisper(uuid.uuid4(), b"x" * ((64 << 20) + 1))
    node1.whisper(node2.uuid(), [b"one", b"", b"\x00\xff"])
    node1.whisper(node2.uuid(), b"single")
    assert node2.recv() == [b"WHISPER", node1.uuid().bytes, b"node1", b"one", b"", b"\x00\xff"]
    assert node2.recv() == [b"WHISPER", node1.uuid().bytes, b"node1", b"single"]


def test_a_peer_that_peers_lists_takes_a_whisper_at_once():
    # pyre's idiom `for p in n.peers(): n.whisper(p, msg)`. peers() is
    # answered by the node's thread, which can list a peer before its ENTER
    # has reached Python; a whisper to it then was taken for one to an
    # unknown peer and dropped in silence (a user's trial: 6 of 40).
    # Beacons every 100 ms, a new peer each round: each whisper is sent
    # as soon as peers() lists the peer, and must arrive.
    a = Pyre("A")
    a.set_interval(100)
    a.start()
    try:
        for round_ in range(100):
            b = Pyre("B%d" % round_)
            b.set_interval(100)
            b.start()
            try:
                deadline = time.monotonic() + 10
                while b.uuid() not in a.peers():
                    assert time.monotonic() < deadline, "round %d: B never listed" % round_
                a.whisper(b.uuid(), b"first")
                frames = recv_kind(b, b"WHISPER", timeout=5)
                assert frames[3:] == [b"first"], "round %d" % round_
            finally:
                b.stop()
            while a.socket().get(zmq.EVENTS) & zmq.POLLIN:
                a.recv()
    finally:
        a.stop()


def test_unknown_peers_answer_empty(pair):
    node1, _ = pair
    stranger = uuid.uuid4()
    assert node1.peer_address(stranger) == ""
    assert node1.peer_header_value(stranger, "X-TEST") == ""
    assert node1.peer_header_value(node1.peers()[0], "NO-SUCH") == ""
    assert node1.peer_headers(stranger) == ""
    assert node1.peers_by_group("NOBODY") == []


def test_exit_and_stop(pair):
    node1, node2 = pair
    recv_kind(node1, b"ENTER")
    recv_kind(node2, b"ENTER")
    node2.stop()
    assert recv_kind(node1, b"EXIT") == [b"EXIT", node2.uuid().bytes, b"node2"]
    assert recv_kind(node2, b"STOP") == [b"STOP", node2.uuid().bytes, b"node2"]
    with pytest.raises(zre_rs_stopped()):
        node2.recv()
    # Its socket is no longer readable once STOP was taken, as pyre's: a
    # poll loop that goes on would otherwise spin (or raise in recv).
    poller = zmq.Poller()
    poller.register(node2.inbox, zmq.POLLIN)
    assert dict(poller.poll(200)) == {}
    # pyre's node cannot be started again either: said, not ignored.
    with pytest.raises(zre_rs_stopped(), match="cannot start again"):
        node2.start()


def zre_rs_stopped():
    import zre_rs

    return zre_rs.NodeStopped


def test_socket_works_in_a_zmq_poller_and_with_events(pair):
    node1, node2 = pair
    sock = node1.socket()
    assert node1.socket() is sock
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    items = dict(poller.poll(5000))
    assert items.get(sock) == zmq.POLLIN
    assert sock.get(zmq.EVENTS) & zmq.POLLIN
    events = list(node1.recent_events())
    assert [e.type for e in events][:1] == ["ENTER"]
    assert not sock.get(zmq.EVENTS) & zmq.POLLIN
    assert dict(poller.poll(200)) == {}
    node2.whisper(node1.uuid(), b"wake")
    assert dict(poller.poll(5000)).get(sock) == zmq.POLLIN
    assert sock.recv_multipart()[3] == b"wake"


def test_inbox_is_the_socket_as_in_pyre(pair):
    node1, _ = pair
    assert node1.inbox is node1.socket()
    poller = zmq.Poller()
    poller.register(node1.inbox, zmq.POLLIN)
    assert dict(poller.poll(5000)).get(node1.inbox) == zmq.POLLIN


def test_settings_of_the_wrong_type_raise_at_the_call():
    # pyre's setters send them at once (send_unicode raises TypeError);
    # before, ours raised only at start(), naming no argument.
    with pytest.raises(TypeError, match="name must be str, not int"):
        Pyre(5)
    node = Pyre("typed")
    with pytest.raises(TypeError, match="header value must be str, not int"):
        node.set_header("k", 5)
    with pytest.raises(TypeError, match="interface must be str, not int"):
        node.set_interface(5)
    node.stop()


def test_a_socket_registered_before_start_keeps_working():
    # pyre's inbox exists from its constructor, so a pyre program may
    # register it in a Poller before start(). The socket's fd (and hash)
    # used to change at start(): the Poller then missed events and
    # unregister() raised KeyError.
    node1, node2 = Pyre("early1"), Pyre("early2")
    sock = node1.socket()
    fd, key = sock.fileno(), hash(sock)
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    assert dict(poller.poll(100)) == {}, "nothing to read before start()"
    node1.start()
    node2.start()
    try:
        assert (sock.fileno(), hash(sock)) == (fd, key)
        items = dict(poller.poll(10000))
        assert items.get(sock) == zmq.POLLIN
        assert node1.recv()[0] == b"ENTER"
        poller.unregister(sock)
    finally:
        node1.stop()
        node2.stop()
    # A STOP before start() makes it readable too.
    lone = Pyre("lone")
    poller.register(lone.socket(), zmq.POLLIN)
    lone.stop()
    assert dict(poller.poll(1000)).get(lone.socket()) == zmq.POLLIN
    assert lone.recv()[0] == b"STOP"


def test_pyre_event_attributes(pair):
    node1, node2 = pair
    enter = PyreEvent(node1)
    assert enter.type == "ENTER"
    assert enter.peer_uuid == node2.uuid()
    assert enter.peer_uuid_bytes == node2.uuid().bytes
    assert enter.peer_name == "node2"
    assert enter.headers == {"X-TEST": "1"}
    assert enter.header("X-TEST") == "1" and enter.header("nope") is None
    assert enter.peer_addr.startswith("tcp://")
    assert enter.group is None and enter.msg is None
    node2.join("G")
    join = PyreEvent(node1)
    assert (join.type, join.group, join.msg) == ("JOIN", "G", None)
    node1.join("G")
    recv_kind(node2, b"JOIN")
    node2.shout("G", [b"a", b"b"])
    shout = PyreEvent(node1)
    assert (shout.type, shout.group, shout.msg) == ("SHOUT", "G", [b"a", b"b"])
    node2.whisper(node1.uuid(), b"w")
    whisper = PyreEvent(node1)
    assert (whisper.type, whisper.group, whisper.msg) == ("WHISPER", None, [b"w"])
    assert "WHISPER" in str(whisper)


def test_identity_and_settings_before_start():
    node = Pyre()
    assert isinstance(node.uuid(), uuid.UUID)
    assert node.name() == str(node.uuid())[:6]
    node.set_name("renamed")
    assert node.name() == "renamed"
    node.join("EARLY")
    assert node.own_groups() == ["EARLY"]
    assert node.peers() == [] and node.peer_groups() == [] and node.endpoint() == ""
    node.set_verbose()
    node.set_interval("100")
    with pytest.raises(ValueError):
        node.set_port("not a port")
    with pytest.raises(ValueError):
        node.set_port(70000)
    assert Pyre.version() == (0, 3, 4)
    node.stop()  # not started: STOP all the same, as pyre
    assert node.recv() == [b"STOP", node.uuid().bytes, b"renamed"]


def test_groups_joined_before_start_reach_peers():
    a = Pyre("a")
    a.join("EARLY")
    b = Pyre("b")
    a.set_interval(100)
    b.set_interval(100)
    a.start()
    b.start()
    try:
        frames = recv_kind(b, b"JOIN")
        assert frames == [b"JOIN", a.uuid().bytes, b"a", b"EARLY"]
        assert b.peers_by_group("EARLY") == [a.uuid()]
    finally:
        a.stop()
        b.stop()


def test_set_port_separates_clusters():
    a, b, other = Pyre("a"), Pyre("b"), Pyre("other")
    a.set_port(b"5671")
    b.set_port(5671)
    for n in (a, b, other):
        n.set_interval("100")
        n.start()
    try:
        recv_kind(a, b"ENTER")
        time.sleep(0.5)
        assert a.peers() == [b.uuid()]
        assert other.peers() == []
    finally:
        for n in (a, b, other):
            n.stop()


def test_set_interface_loopback():
    node = Pyre("lo-node")
    node.set_interface("lo")
    node.start()
    try:
        assert node.endpoint().startswith("tcp://127.0.0.1:")
    finally:
        node.stop()


@pytest.mark.parametrize("extra", [False, True])
def test_leader_events_only_when_asked(extra):
    """Two zre_rs.Node contest a group a Pyre is in: the Pyre gets LEADER
    only with extra_events=True, and without it its socket never signals
    an event that recv() would skip (recent_events ends, never blocks)."""
    import zre_rs

    assert pyre.PYRE_EVENTS == {"ENTER", "EXIT", "JOIN", "LEAVE", "WHISPER", "SHOUT", "STOP"}
    fast = dict(interface="d0", beacon_interval=0.1, contest=["g"], groups=["g"])
    member = Pyre("member", extra_events=extra)
    member.set_interval(100)
    member.join("g")
    member.start()
    a, b = zre_rs.Node("a", **fast), zre_rs.Node("b", **fast)
    try:
        expect = zre_rs.Leader
        leader = None
        deadline = time.monotonic() + 10
        while leader is None and time.monotonic() < deadline:
            event = a.recv(timeout=0.5)
            if isinstance(event, expect):
                leader = event.peer
        assert leader is not None
        # The LEADER reaches the member too, after both ENTERs and JOINs:
        # waited for with extra_events (a loaded machine delays it), and
        # without, half a second more for one to show that should not.
        kinds = []

        def settled():
            return kinds.count("ENTER") == 2 and kinds.count("JOIN") == 2 and (
                "LEADER" in kinds or not extra
            )

        deadline = time.monotonic() + 10
        while not settled() and time.monotonic() < deadline:
            kinds += [e.type for e in member.recent_events()]  # must not block
            time.sleep(0.05)
        if not extra:
            time.sleep(0.5)
            kinds += [e.type for e in member.recent_events()]
        assert kinds.count("ENTER") == 2 and kinds.count("JOIN") == 2, kinds
        assert ("LEADER" in kinds) == extra, kinds
    finally:
        a.stop()
        b.stop()
        member.stop()


def test_zthread_fork_chat_example():
    """examples/chat.py: a forked thread runs a Pyre node and shouts what
    its pipe brings; a second node hears it."""
    ctx = zmq.Context()
    listener = Pyre("listener")
    listener.join("CHAT")
    listener.start()
    started = threading.Event()

    def chat_task(ctx, pipe):
        n = Pyre("CHAT")
        n.set_header("CHAT_Header1", "example header1")
        n.join("CHAT")
        n.start()
        poller = zmq.Poller()
        poller.register(pipe, zmq.POLLIN)
        poller.register(n.socket(), zmq.POLLIN)
        started.set()
        while True:
            items = dict(poller.poll())
            if pipe in items and items[pipe] == zmq.POLLIN:
                message = pipe.recv()
                if message.decode("utf-8") == "$$STOP":
                    break
                n.shouts("CHAT", message.decode("utf-8"))
            elif n.socket() in items:
                n.recv()
        n.stop()

    pipe = zhelper.zthread_fork(ctx, chat_task)
    try:
        assert started.wait(10)
        enter = recv_kind(listener, b"ENTER")
        assert json.loads(enter[3]) == {"CHAT_Header1": "example header1"}
        recv_kind(listener, b"JOIN")
        pipe.send("hello chat".encode("utf_8"))
        shout = recv_kind(listener, b"SHOUT")
        assert shout[2:] == [b"CHAT", b"CHAT", b"hello chat"]
    finally:
        pipe.send(b"$$STOP")
        listener.stop()
