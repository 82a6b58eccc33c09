"""Typed events of a :class:`zre_rs.Node`, named as Zyre's (ENTER, EXIT, ...)."""

from __future__ import annotations

import uuid as _uuid
from typing import Dict, List, Optional, Tuple, Union


class Event:
    """Something that happened to the node or one of its peers.

    ``kind`` is Zyre's name (``"ENTER"``, ``"SHOUT"``, ...). Every event but
    :class:`Stop` has ``peer`` (a :class:`uuid.UUID`) and ``name`` (the name
    the peer gave in HELLO).
    """

    __slots__ = ("peer", "name")
    kind = "?"

    def __init__(self, peer: Optional[_uuid.UUID], name: Optional[str]) -> None:
        self.peer = peer
        self.name = name

    def _fields(self) -> str:
        return f"peer={self.peer} name={self.name!r}"

    def __repr__(self) -> str:
        fields = self._fields()
        return f"<{type(self).__name__} {fields}>" if fields else f"<{type(self).__name__}>"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, s) == getattr(other, s) for s in _all_slots(type(self)))

    __hash__ = None  # type: ignore[assignment]


def _all_slots(cls: type) -> List[str]:
    slots: List[str] = []
    for klass in reversed(cls.__mro__):
        slots.extend(getattr(klass, "__slots__", ()))
    return slots


class Enter(Event):
    """A peer said HELLO and answered our PING (both ways work): it can now
    be whispered to."""

    __slots__ = ("headers", "endpoint")
    kind = "ENTER"

    def __init__(self, peer: _uuid.UUID, name: str, headers: Dict[str, str], endpoint: str) -> None:
        super().__init__(peer, name)
        #: The peer's HELLO headers (the first value of a repeated key).
        self.headers = headers
        #: The endpoint its HELLO advertised, ``tcp://ip:port``.
        self.endpoint = endpoint

    def _fields(self) -> str:
        return f"{super()._fields()} endpoint={self.endpoint!r} headers={self.headers!r}"


class Exit(Event):
    """A peer is gone (GOODBYE, silence, or it could not keep up)."""

    __slots__ = ()
    kind = "EXIT"


class Join(Event):
    """A peer joined a group."""

    __slots__ = ("group",)
    kind = "JOIN"

    def __init__(self, peer: _uuid.UUID, name: str, group: str) -> None:
        super().__init__(peer, name)
        self.group = group

    def _fields(self) -> str:
        return f"{super()._fields()} group={self.group!r}"


class Leave(Join):
    """A peer left a group."""

    __slots__ = ()
    kind = "LEAVE"


class Whisper(Event):
    """A message to us alone: ``content`` is its list of frames."""

    __slots__ = ("content",)
    kind = "WHISPER"

    def __init__(self, peer: _uuid.UUID, name: str, content: List[bytes]) -> None:
        super().__init__(peer, name)
        self.content = content

    @property
    def data(self) -> bytes:
        """The frames joined: the whole message for a one-frame message."""
        return b"".join(self.content)

    def _fields(self) -> str:
        return f"{super()._fields()} content={self.content!r}"


class Shout(Whisper):
    """A message to a group we are in."""

    __slots__ = ("group",)
    kind = "SHOUT"

    def __init__(self, peer: _uuid.UUID, name: str, group: str, content: List[bytes]) -> None:
        super().__init__(peer, name, content)
        self.group = group

    def _fields(self) -> str:
        return f"{super()._fields()} group={self.group!r}"


class Evasive(Event):
    """A peer has been silent for the evasive timeout; it is being pinged."""

    __slots__ = ()
    kind = "EVASIVE"


class Silent(Event):
    """An evasive peer did not answer the ping either."""

    __slots__ = ()
    kind = "SILENT"


class Leader(Join):
    """A peer (possibly this node) won the election of a group."""

    __slots__ = ()
    kind = "LEADER"


class Stop(Event):
    """The node has stopped; no event follows."""

    __slots__ = ()
    kind = "STOP"

    def __init__(self) -> None:
        super().__init__(None, None)

    def _fields(self) -> str:
        return ""


AnyEvent = Union[Enter, Exit, Join, Leave, Whisper, Shout, Evasive, Silent, Leader, Stop]

_Raw = Tuple[str, Optional[bytes], Optional[str], Optional[str], Optional[List[bytes]], Optional[List[Tuple[str, str]]], Optional[str]]


def headers_dict(pairs: List[Tuple[str, str]]) -> Dict[str, str]:
    """HELLO's header list as a dict; the first of a repeated key wins, as in the Rust API."""
    out: Dict[str, str] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


def from_raw(raw: _Raw) -> AnyEvent:
    """The typed event of a tuple from the native node."""
    kind, peer_bytes, name, group, content, headers, endpoint = raw
    if kind == "STOP":
        return Stop()
    peer = _uuid.UUID(bytes=peer_bytes)  # type: ignore[arg-type]
    assert name is not None
    if kind == "SHOUT":
        return Shout(peer, name, group, content)  # type: ignore[arg-type]
    if kind == "WHISPER":
        return Whisper(peer, name, content)  # type: ignore[arg-type]
    if kind == "ENTER":
        return Enter(peer, name, headers_dict(headers or []), endpoint or "")
    if kind == "EXIT":
        return Exit(peer, name)
    if kind == "JOIN":
        return Join(peer, name, group)  # type: ignore[arg-type]
    if kind == "LEAVE":
        return Leave(peer, name, group)  # type: ignore[arg-type]
    if kind == "EVASIVE":
        return Evasive(peer, name)
    if kind == "SILENT":
        return Silent(peer, name)
    if kind == "LEADER":
        return Leader(peer, name, group)  # type: ignore[arg-type]
    raise ValueError(f"unknown event kind {kind!r}")
