"""``PyreEvent``: one event of a :class:`zre_rs.pyre.Pyre`, parsed from its
frames as pyre's class of the same name does (same attributes)."""

from __future__ import annotations

import json
import uuid
from typing import Any, Dict, List, Optional


class PyreEvent(object):
    """Receives one event from ``node`` (``node.recv()``) and unpacks it.

    Attributes, as pyre's: ``type`` (``"ENTER"``, ``"SHOUT"``, ...),
    ``peer_uuid_bytes``, ``peer_uuid`` (:class:`uuid.UUID`), ``peer_name``,
    ``headers`` (dict, ENTER only), ``peer_addr`` (ENTER only), ``group``
    (JOIN, LEAVE, SHOUT, LEADER) and ``msg`` (the content frames of WHISPER
    and SHOUT); the others are ``None``.
    """

    def __init__(self, node: Any) -> None:
        frames: List[bytes] = node.recv()
        self.type: str = frames[0].decode("utf-8")
        self.peer_uuid_bytes: bytes = frames[1]
        self.peer_name: str = frames[2].decode("utf-8")
        self.headers: Optional[Dict[str, str]] = None
        self.peer_addr: Optional[str] = None
        self.group: Optional[str] = None
        self.msg: Optional[List[bytes]] = None
        rest = frames[3:]
        if self.type == "ENTER":
            self.headers = json.loads(rest[0].decode("utf-8"))
            self.peer_addr = rest[1].decode("utf-8")
        elif self.type in ("JOIN", "LEAVE", "LEADER"):
            self.group = rest[0].decode("utf-8")
        elif self.type == "WHISPER":
            self.msg = rest
        elif self.type == "SHOUT":
            self.group = rest[0].decode("utf-8")
            self.msg = rest[1:]

    def header(self, name: str) -> Optional[str]:
        """One header of an ENTER event, or ``None``."""
        if self.headers and name in self.headers:
            return self.headers[name]
        return None

    @property
    def peer_uuid(self) -> uuid.UUID:
        """The peer's UUID."""
        return uuid.UUID(bytes=self.peer_uuid_bytes)

    def __str__(self) -> str:
        return "<%s %s from %s>" % (__name__, self.type, self.peer_uuid.hex)
