"""``Pyre``: pyre 0.3.4's node API on the Rust node."""

from __future__ import annotations

import logging
import os
import uuid as _uuid
from collections import deque
from typing import Any, Deque, Dict, Iterator, List, Optional, Tuple, Union

from .. import _native
from .pyre_event import PyreEvent

logger = logging.getLogger(__name__)

__version__ = "0.3.4"
__version_info__ = (0, 3, 4)

#: What pyre 0.3.4 emits; the others (EVASIVE, SILENT, LEADER) only when asked.
PYRE_EVENTS = frozenset({"ENTER", "EXIT", "JOIN", "LEAVE", "WHISPER", "SHOUT", "STOP"})

#: pyzmq's constants, so that ``socket().get(zmq.EVENTS)`` works without
#: importing pyzmq here.
_ZMQ_EVENTS = 15
_ZMQ_POLLIN = 1
_ZMQ_POLLOUT = 2

Message = Union[bytes, str, List[Union[bytes, str]]]


def _to_int(value: Union[int, str, bytes], what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError("%s must be an integer, not %r" % (what, value)) from None


def _text(value: Any, what: str) -> str:
    # At the call, as pyre's send_unicode raises, not at start().
    if not isinstance(value, str):
        raise TypeError("%s must be str, not %s" % (what, type(value).__name__))
    return value


class PyreSocket(object):
    """What :meth:`Pyre.socket` returns: usable in a ``zmq.Poller`` (and
    ``select``) through :meth:`fileno`, readable while an event waits; also
    ``get(zmq.EVENTS)`` and ``recv_multipart()`` as pyre's inbox socket."""

    def __init__(self, node: "Pyre") -> None:
        self._node = node

    def fileno(self) -> int:
        """The event file descriptor: the same number from ``Pyre()`` on
        (pyre's inbox exists from its constructor), never readable before
        ``start()`` but for a STOP, then the node's."""
        return self._node._fd

    def get(self, option: int) -> int:
        """``zmq.EVENTS``: POLLIN while an event waits (POLLOUT always)."""
        if option != _ZMQ_EVENTS:
            raise ValueError("only zmq.EVENTS can be read from a Pyre socket")
        return _ZMQ_POLLOUT | (_ZMQ_POLLIN if self._node._has_event() else 0)

    getsockopt = get

    # zmq.Poller.poll() reports a non-pyzmq socket by its fd (an int), so
    # ``n.socket() in dict(poller.poll())`` — pyre's idiom — needs the
    # socket to equal, and hash as, its fd. The fd is fixed from the
    # constructor on (see `Pyre._fd`), so the hash never changes while the
    # socket sits in a dict (a Poller registered before start()).
    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        return isinstance(other, int) and not isinstance(other, bool) and other == self._node._fd

    def __hash__(self) -> int:
        return hash(self._node._fd)

    def recv_multipart(self) -> List[bytes]:
        """The next event's frames, as :meth:`Pyre.recv`."""
        return self._node.recv()

    @property
    def closed(self) -> bool:
        return self._node._native is None or not self._node._native.running

    def __repr__(self) -> str:
        return "<zre_rs.pyre socket of %s>" % self._node.name()


class Pyre(object):
    """A ZRE node with pyre's API: construct, set options, ``start()``,
    then ``join``/``shout``/``whisper`` and ``recv()`` frame lists.

    ``Pyre(name, ctx=None)``: ``ctx`` (a pyzmq context) is accepted and not
    used; the node has its own libzmq. ``extra_events=True`` also delivers
    EVASIVE, SILENT and LEADER, which pyre never emits. The interface comes
    from :meth:`set_interface`, else ``ZSYS_INTERFACE`` as in Zyre, else
    the first usable one.
    """

    def __init__(self, name: Optional[str] = None, ctx: Any = None, *args: Any, **kwargs: Any) -> None:
        self._ctx = ctx if ctx is not None else kwargs.pop("ctx", None)
        self._extra_events = bool(kwargs.pop("extra_events", False))
        if args or kwargs:
            raise TypeError("Pyre() got unexpected arguments %r %r" % (args, kwargs))
        self._uuid = _uuid.uuid4()
        self._name = _text(name, "name") if name else str(self._uuid)[:6]
        self._headers: Dict[str, str] = {}
        self._groups: List[str] = []
        self._beacon_port: Optional[int] = None
        self._interval: Optional[float] = None
        self._interface: Optional[str] = os.environ.get("ZSYS_INTERFACE") or None
        self._verbose = False
        self._native: Optional[_native.NativeNode] = None
        self._local: Deque[List[bytes]] = deque()
        # The socket's fd, fixed for the object's life: a pipe until
        # start(), then the node's event fd put in its place (dup2), so a
        # Poller registered before start() goes on working after it.
        self._fd, self._fd_w = os.pipe()
        self._socket = PyreSocket(self)
        self.verbose = False

    def __bool__(self) -> bool:
        return True

    # ----- identity and settings ------------------------------------------
    def uuid(self) -> _uuid.UUID:
        """Our UUID (a :class:`uuid.UUID`), known before ``start()``."""
        return self._uuid

    def name(self) -> str:
        """Our name (default: the first 6 characters of the UUID)."""
        return self._name

    def set_name(self, name: str) -> None:
        """Sets our name; before ``start()`` (deprecated in pyre too)."""
        logger.warning("DEPRECATED: set name in constructor, this method will be removed!")
        if self._native is not None:
            logger.warning("set_name after start() has no effect")
            return
        self._name = _text(name, "name")

    def set_header(self, key: str, value: str) -> None:
        """A HELLO header, sent in every ENTER; before ``start()``."""
        _text(key, "header key")
        _text(value, "header value")
        if self._native is not None:
            logger.warning("set_header(%r) after start() has no effect", key)
            return
        self._headers[key] = value

    def set_verbose(self) -> None:
        """Logs every event (logger ``zre_rs.pyre._pyre``, DEBUG)."""
        self._verbose = True
        self.verbose = True

    def set_port(self, port_nbr: Union[int, str, bytes]) -> None:
        """The UDP beacon port (default 5670); before ``start()``."""
        port = _to_int(port_nbr, "port")
        if not 0 < port < 65536:
            raise ValueError("port must be 1 to 65535, not %d" % port)
        self._beacon_port = port

    def set_interval(self, interval: Union[int, str, bytes]) -> None:
        """The beacon interval in milliseconds (pyre accepts and ignores
        it; here it applies); before ``start()``."""
        ms = _to_int(interval, "interval")
        if ms < 0:
            raise ValueError("interval must not be negative, not %d" % ms)
        self._interval = ms / 1000.0 if ms else None

    def set_interface(self, value: str) -> None:
        """The network interface (a name, an address, or ``lo`` for
        loopback mode; pyre ignores it, here it applies); before ``start()``."""
        self._interface = _text(value, "interface") or None

    def set_endpoint(self, format: str, *args: Any) -> None:
        """Accepted and ignored, as in pyre 0.3.4 (gossip is not in pyre)."""
        logger.warning("set_endpoint is not supported (pyre ignores it too)")

    # ----- lifetime --------------------------------------------------------
    def start(self) -> None:
        """Starts discovery and connection. Raises ``ConfigError`` or
        ``ZreError`` (with the Rust message) if the node cannot start."""
        if self._native is not None:
            if self._native.running:
                return
            # pyre's node thread is gone once stopped, too.
            raise _native.NodeStopped("this node has stopped and cannot start again: make a new Pyre")
        self._native = _native.NativeNode(
            name=self._name,
            uuid=self._uuid.bytes,
            headers=list(self._headers.items()),
            interface=self._interface,
            beacon_port=self._beacon_port,
            beacon_interval=self._interval,
            groups=list(self._groups),
            pyre_events_only=not self._extra_events,
        )
        os.dup2(self._native.fileno(), self._fd, inheritable=False)
        self._close_fd_w()

    def stop(self) -> None:
        """Stops the node: GOODBYE to peers, then a STOP event."""
        if self._native is None:
            self._local.append([b"STOP", self._uuid.bytes, self._name.encode("utf-8")])
            if self._fd_w is not None:
                os.write(self._fd_w, b"\0")  # readable: the STOP waits
            return
        self._native.stop()

    def _close_fd_w(self) -> None:
        if self._fd_w is not None:
            os.close(self._fd_w)
            self._fd_w = None

    def __del__(self) -> None:
        # The fds are ours alone (the node's own is a separate one).
        try:
            self._close_fd_w()
            os.close(self._fd)
        except (AttributeError, OSError):
            pass

    # ----- groups and messages -------------------------------------------
    def join(self, group: str) -> None:
        """Joins a group (before or after ``start()``)."""
        if self._native is None:
            _native_check_group(group)
            if group not in self._groups:
                self._groups.append(group)
            return
        self._native.join(group)

    def leave(self, group: str) -> None:
        """Leaves a group."""
        if self._native is None:
            if group in self._groups:
                self._groups.remove(group)
            return
        self._native.leave(group)

    def whisper(self, peer: _uuid.UUID, msg_p: Message) -> None:
        """Sends a message (bytes, or a list of frames) to one peer; as in
        pyre, a message to an unknown peer is dropped."""
        if self._native is not None:
            self._native.whisper(peer.bytes, msg_p, False)

    def shout(self, group: str, msg_p: Message) -> None:
        """Sends a message (bytes, or a list of frames) to a group."""
        if self._native is not None:
            self._native.shout(group, msg_p)

    def whispers(self, peer: _uuid.UUID, format: str, *args: Any) -> None:
        """Sends a string to one peer (``format % args`` if args are given)."""
        self.whisper(peer, (format % args) if args else format)

    def shouts(self, group: str, format: str, *args: Any) -> None:
        """Sends a string to a group (``format % args`` if args are given)."""
        self.shout(group, (format % args) if args else format)

    # ----- what the node knows -------------------------------------------
    def peers(self) -> List[_uuid.UUID]:
        """Peers that had their ENTER (said HELLO, answered our PING), as
        :class:`uuid.UUID`."""
        if self._native is None:
            return []
        return [_uuid.UUID(bytes=p) for p in self._native.peers()]

    def peers_by_group(self, group: str) -> List[_uuid.UUID]:
        """Peers in a group."""
        if self._native is None:
            return []
        return [_uuid.UUID(bytes=p) for p in self._native.peers_by_group(group)]

    def endpoint(self) -> str:
        """Our inbox endpoint (``""`` before ``start()``)."""
        return "" if self._native is None else self._native.endpoint

    def get_peer_name(self, peer: _uuid.UUID) -> str:
        """A peer's name, ``""`` if unknown (deprecated in pyre too)."""
        logger.warning("get_peer_name() is deprecated, will be removed")
        if self._native is None:
            return ""
        return self._native.peer_name(peer.bytes) or ""

    def peer_address(self, peer: _uuid.UUID) -> str:
        """A peer's endpoint, ``""`` if unknown."""
        if self._native is None:
            return ""
        return self._native.peer_endpoint(peer.bytes) or ""

    def peer_header_value(self, peer: _uuid.UUID, name: str) -> str:
        """One header of a peer, ``""`` if the peer or the key is unknown."""
        if self._native is None:
            return ""
        return self._native.peer_header_value(peer.bytes, name) or ""

    def peer_headers(self, peer: _uuid.UUID) -> Union[Dict[str, str], str]:
        """A peer's headers as a dict (``""`` for an unknown peer, as pyre)."""
        pairs = None if self._native is None else self._native.peer_headers(peer.bytes)
        if pairs is None:
            return ""
        out: Dict[str, str] = {}
        for key, value in pairs:
            out.setdefault(key, value)
        return out

    def own_groups(self) -> List[str]:
        """Groups we are in."""
        if self._native is None:
            return list(self._groups)
        return self._native.own_groups()

    def peer_groups(self) -> List[str]:
        """Groups our peers are in."""
        if self._native is None:
            return []
        return self._native.peer_groups()

    # ----- events ----------------------------------------------------------
    def recv(self) -> List[bytes]:
        """The next event as pyre's frame list, waiting until one comes
        (GIL released):

        - ``[b"ENTER", uuid, name, headers_json, endpoint]``
        - ``[b"EXIT", uuid, name]``, ``[b"JOIN"|b"LEAVE", uuid, name, group]``
        - ``[b"WHISPER", uuid, name, *content]``
        - ``[b"SHOUT", uuid, name, group, *content]``
        - ``[b"STOP", our uuid, our name]`` after :meth:`stop`

        Raises ``NodeStopped`` once the node has stopped and every event
        was taken (pyre would block for ever), and before ``start()``.
        """
        if self._local:
            return self._local.popleft()
        frames = self._started().recv_pyre(self._extra_events)
        if self._verbose:
            logger.debug("event %s", frames[:3])
        return frames

    def _started(self) -> _native.NativeNode:
        if self._native is None:
            raise _native.NodeStopped("the node has not started: call start() first")
        return self._native

    def _has_event(self) -> bool:
        if self._local:
            return True
        return self._native is not None and self._native.pending() > 0

    def recent_events(self) -> Iterator[PyreEvent]:
        """The events already waiting, as :class:`PyreEvent`."""
        while self._has_event():
            yield PyreEvent(self)

    def events(self) -> Iterator[PyreEvent]:
        """Events as :class:`PyreEvent`, for ever (until the node stops)."""
        while True:
            yield PyreEvent(self)

    @property
    def inbox(self) -> PyreSocket:
        """pyre's attribute for :meth:`socket`'s object (programs poll
        ``node.inbox`` as often as ``node.socket()``)."""
        return self._socket

    def socket(self) -> PyreSocket:
        """The object to poll (``zmq.Poller``, ``select``): readable while
        an event waits. The same object on every call."""
        return self._socket

    @staticmethod
    def version() -> Tuple[int, int, int]:
        """The pyre version whose API this is."""
        return __version_info__


def _native_check_group(group: str) -> None:
    encoded = group.encode("utf-8")
    if not 0 < len(encoded) <= 255:
        raise _native.CommandError('invalid group name "%s": must be 1 to 255 bytes' % group)
