"""The pythonic API: :class:`Node`."""

from __future__ import annotations

import os
import uuid as _uuid
from typing import (
    Any,
    AsyncIterator,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from . import _native
from ._events import AnyEvent, Stop, from_raw

Content = Union[bytes, bytearray, str, Sequence[Union[bytes, bytearray, str]]]
PeerId = Union[_uuid.UUID, bytes, str]
PathLike = Union[str, "os.PathLike[str]"]


def _peer_bytes(peer: PeerId) -> bytes:
    if isinstance(peer, _uuid.UUID):
        return peer.bytes
    if isinstance(peer, str):
        return _uuid.UUID(peer).bytes
    if isinstance(peer, (bytes, bytearray)):
        return bytes(peer)
    raise TypeError(f"a peer is a uuid.UUID, its 16 bytes or its hex string, not {type(peer).__name__}")


class Node:
    """A ZRE node (RFC 36), started on creation and running in a thread of
    its own (Rust, no GIL held). Every keyword option maps to the Rust
    ``NodeBuilder`` setting of the same name; unset ones keep Zyre's
    defaults.

    Use it as a context manager (``with Node(...) as node:``) so that it
    says GOODBYE when done; iterate it for events, or ``async for`` over
    :meth:`events` in asyncio.

    :param name: our public name (at most 255 bytes); default: the first
        six hex digits of our UUID.
    :param uuid: our UUID; random by default.
    :param headers: HELLO headers, a mapping or ``(key, value)`` pairs.
    :param groups: groups to join at once (their JOINs ride in HELLO).
    :param interface: an interface name, an IP address, ``"lo"`` for
        loopback mode, or ``None``/``"auto"`` for the first usable one.
    :param loopback: ``True`` is ``interface="lo"``: beacons to
        127.255.255.255, the node meets only nodes on this host.
    :param beacons: UDP beacons on (default) or off (gossip only).
    :param beacon_port: UDP port of the beacons (5670).
    :param beacon_interval: seconds between beacons (1.0).
    :param multicast_group: beacon to this IPv4 multicast ``"IP:PORT"``.
    :param listen_multicast: also hear beacons sent to 225.25.25.25.
    :param ipv6: IPv6 mode (beacons to ff02::1 unless
        ``ipv6_multicast_address`` says otherwise).
    :param port_range: ``(low, high)`` TCP ports for the inbox, or
        ``"any"`` (default 41000-41100).
    :param advertised_endpoint: ``tcp://host:port`` announced instead of
        the bound one (NAT).
    :param evasive_timeout: seconds of silence before EVASIVE (5.0).
    :param expired_timeout: seconds of silence before EXIT (30.0).
    :param gossip: ZGossip servers, ``"host:port"`` (in CURVE mode
        ``"tcp://host:port|KEY"``).
    :param seeds: peers to connect to without beacon or gossip,
        ``"host:port"`` (a DNS name: every address it resolves to; in CURVE
        mode ``"host:port|KEY"``).
    :param gossip_bind: be a ZGossip server too, listening here
        (``"tcp://*:31337"``); other nodes name it in ``gossip``.
    :param contest: groups whose leadership to contest (elections; LEADER
        events tell the winner).
    :param curve_cert: CURVE mode: path of our secret certificate (czmq's
        ``PATH_secret`` file, see :func:`generate_certificate`).
    :param curve_allow: CURVE mode: a directory of public certificates;
        only those keys may connect.
    :param fast_exit: EXIT at once for a peer whose process is gone.
    :param max_events: events received and not taken with ``recv`` (4096)
        at which the node stops reading peers' messages (back-pressure:
        they wait in the peers' queues, then the peers wait), so that a
        program that does not read holds its peers back, not its memory.
    :raises ConfigError: a setting that cannot work (the Rust message).
    :raises ZreError: the sockets could not be set up.
    """

    def __init__(
        self,
        name: Optional[str] = None,
        *,
        uuid: Optional[PeerId] = None,
        headers: Union[Mapping[str, str], Iterable[Tuple[str, str]], None] = None,
        groups: Iterable[str] = (),
        interface: Optional[str] = None,
        loopback: bool = False,
        beacons: bool = True,
        beacon_port: Optional[int] = None,
        beacon_interval: Optional[float] = None,
        multicast_group: Optional[str] = None,
        listen_multicast: Optional[bool] = None,
        ipv6: bool = False,
        ipv6_multicast_address: Optional[str] = None,
        port_range: Union[Tuple[int, int], str, None] = None,
        advertised_endpoint: Optional[str] = None,
        evasive_timeout: Optional[float] = None,
        expired_timeout: Optional[float] = None,
        max_peers: Optional[int] = None,
        max_peer_groups: Optional[int] = None,
        gossip: Iterable[str] = (),
        seeds: Iterable[str] = (),
        gossip_bind: Optional[str] = None,
        contest: Iterable[str] = (),
        max_message_size: Optional[int] = None,
        send_hwm: Optional[int] = None,
        max_backlog: Optional[int] = None,
        max_events: Optional[int] = None,
        linger: Optional[float] = None,
        fast_exit: bool = True,
        curve_cert: Optional[PathLike] = None,
        curve_allow: Optional[PathLike] = None,
    ) -> None:
        if loopback:
            if interface not in (None, "lo"):
                raise ValueError(f"loopback=True and interface={interface!r} contradict each other")
            interface = "lo"
        if isinstance(headers, Mapping):
            header_pairs = [(str(k), str(v)) for k, v in headers.items()]
        else:
            header_pairs = [(str(k), str(v)) for k, v in (headers or ())]
        if port_range == "any":
            ports: Optional[Tuple[int, int]] = (0, 0)
        elif port_range is None or isinstance(port_range, tuple):
            ports = port_range  # type: ignore[assignment]
        else:
            raise ValueError(f"port_range must be (low, high) or 'any', not {port_range!r}")
        self._native = _native.NativeNode(
            name=name,
            uuid=None if uuid is None else _peer_bytes(uuid),
            headers=header_pairs,
            interface=interface,
            beacons=beacons,
            beacon_port=beacon_port,
            beacon_interval=beacon_interval,
            multicast_group=multicast_group,
            listen_multicast=listen_multicast,
            ipv6=ipv6,
            ipv6_multicast_address=ipv6_multicast_address,
            port_range=ports,
            advertised_endpoint=advertised_endpoint,
            evasive_timeout=evasive_timeout,
            expired_timeout=expired_timeout,
            max_peers=max_peers,
            max_peer_groups=max_peer_groups,
            gossip=list(gossip),
            seeds=list(seeds),
            gossip_bind=gossip_bind,
            contest=list(contest),
            max_message_size=max_message_size,
            send_hwm=send_hwm,
            max_backlog=max_backlog,
            max_events=max_events,
            linger=linger,
            fast_exit=fast_exit,
            curve_cert=None if curve_cert is None else os.fspath(curve_cert),
            curve_allow=None if curve_allow is None else os.fspath(curve_allow),
            groups=list(groups),
        )
        self._uuid = _uuid.UUID(bytes=self._native.uuid)

    # ----- identity ------------------------------------------------------
    @property
    def uuid(self) -> _uuid.UUID:
        """Our UUID."""
        return self._uuid

    @property
    def name(self) -> str:
        """Our name as peers see it."""
        return self._native.name

    @property
    def endpoint(self) -> str:
        """Our inbox endpoint as HELLO advertises it, ``tcp://ip:port``."""
        return self._native.endpoint

    @property
    def running(self) -> bool:
        """Whether the node runs (not yet stopped)."""
        return self._native.running

    # ----- groups and messages ------------------------------------------
    def join(self, group: str) -> None:
        """Joins ``group`` (JOIN to every peer); joining again does nothing."""
        self._native.join(group)

    def leave(self, group: str) -> None:
        """Leaves ``group``; leaving a group we are not in does nothing."""
        self._native.leave(group)

    def contest(self, group: str) -> None:
        """Contests the leadership of ``group`` (join it as well)."""
        self._native.contest(group)

    def leader(self, group: str) -> Optional[_uuid.UUID]:
        """The elected leader of ``group``, if an election has ended."""
        leader = self._native.leader(group)
        return None if leader is None else _uuid.UUID(bytes=leader)

    def whisper(self, peer: PeerId, content: Content) -> None:
        """Sends a message to one peer: bytes/str (one frame) or a list of
        frames. Returns at once (the node's thread sends it).

        :raises CommandError: the peer is unknown (no ENTER, or it exited).
        """
        self._native.whisper(_peer_bytes(peer), content)

    def shout(self, group: str, content: Content) -> None:
        """Sends a message to every peer in ``group`` (none is no error)."""
        self._native.shout(group, content)

    # ----- what the node knows ------------------------------------------
    def peers(self) -> List[_uuid.UUID]:
        """Peers that had their ENTER: they said HELLO and answered our PING."""
        return [_uuid.UUID(bytes=p) for p in self._native.peers()]

    def peers_by_group(self, group: str) -> List[_uuid.UUID]:
        """Peers in ``group``."""
        return [_uuid.UUID(bytes=p) for p in self._native.peers_by_group(group)]

    def own_groups(self) -> List[str]:
        """Groups we are in."""
        return self._native.own_groups()

    def peer_groups(self) -> List[str]:
        """Groups our peers are in."""
        return self._native.peer_groups()

    def peer_endpoint(self, peer: PeerId) -> Optional[str]:
        """A peer's endpoint, ``tcp://ip:port``; ``None`` for an unknown peer."""
        return self._native.peer_endpoint(_peer_bytes(peer))

    def peer_name(self, peer: PeerId) -> Optional[str]:
        """A peer's name; ``None`` for an unknown peer."""
        return self._native.peer_name(_peer_bytes(peer))

    def peer_headers(self, peer: PeerId) -> Optional[Dict[str, str]]:
        """A peer's HELLO headers; ``None`` for an unknown peer."""
        pairs = self._native.peer_headers(_peer_bytes(peer))
        if pairs is None:
            return None
        out: Dict[str, str] = {}
        for key, value in pairs:
            out.setdefault(key, value)
        return out

    def peer_header_value(self, peer: PeerId, key: str) -> Optional[str]:
        """One HELLO header of a peer; ``None`` if the peer or key is unknown."""
        return self._native.peer_header_value(_peer_bytes(peer), key)

    # ----- events --------------------------------------------------------
    def recv(self, timeout: Optional[float] = None) -> Optional[AnyEvent]:
        """The next event, waiting up to ``timeout`` seconds (``None``:
        until one comes; the GIL is released meanwhile, Ctrl-C works).
        Returns ``None`` when the time is up.

        :raises NodeStopped: the node has stopped and every event was taken.
        """
        raw = self._native.recv(timeout)
        return None if raw is None else from_raw(raw)

    def try_recv(self) -> Optional[AnyEvent]:
        """The next event if one is waiting, else ``None``; never waits."""
        raw = self._native.try_recv()
        return None if raw is None else from_raw(raw)

    def __iter__(self) -> Iterator[AnyEvent]:
        """Events as they come, until (and including) STOP."""
        while True:
            try:
                event = self.recv()
            except _native.NodeStopped:
                return
            if event is None:  # pragma: no cover - recv(None) waits
                continue
            yield event
            if isinstance(event, Stop):
                return

    async def events(self) -> AsyncIterator[AnyEvent]:
        """Events for asyncio, ``async for event in node.events()``; driven
        by :meth:`fileno` through the loop's ``add_reader`` (no thread, no
        polling). Ends after STOP."""
        import asyncio  # here: importing it costs ~8 MiB of RSS

        loop = asyncio.get_running_loop()
        fd = self.fileno()
        while True:
            try:
                raw = self._native.try_recv()
            except _native.NodeStopped:
                return
            if raw is not None:
                event = from_raw(raw)
                yield event
                if isinstance(event, Stop):
                    return
                continue
            ready = loop.create_future()
            loop.add_reader(fd, _set_ready, ready)
            try:
                await ready
            finally:
                loop.remove_reader(fd)

    def pending(self) -> int:
        """Events received and not yet taken with :meth:`recv` (at most
        ``max_events``; more wait in the node, then unread)."""
        return self._native.pending()

    def fileno(self) -> int:
        """A file descriptor readable while an event waits (STOP is the
        last; once it is taken, no longer): for ``select``, ``selectors``,
        ``zmq.Poller``."""
        return self._native.fileno()

    # ----- lifetime ------------------------------------------------------
    def stop(self) -> None:
        """Stops the node: GOODBYE to peers, then a STOP event. Idempotent."""
        self._native.stop()

    close = stop

    def __enter__(self) -> "Node":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<zre_rs.Node {self.name!r} {self._uuid.hex} {self.endpoint} {state}>"


def _set_ready(future: Any) -> None:
    if not future.done():
        future.set_result(None)
