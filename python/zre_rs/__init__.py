"""zre_rs: ZRE (ZeroMQ Realtime Exchange, RFC 36) for Python on a Rust core.

Peer discovery on a LAN (UDP beacons, or ZGossip), groups, SHOUT and
WHISPER, wire-compatible with Zyre, pyre and zyre.js; with CURVE
encryption, leader elections, IPv6, loopback mode and fast EXIT.

Two APIs:

- :class:`Node`, the pythonic one::

      with zre_rs.Node("alice", loopback=True, groups=["chat"]) as node:
          for event in node:
              if isinstance(event, zre_rs.Enter):
                  node.whisper(event.peer, b"hello")

- :mod:`zre_rs.pyre`, pyre's API (``from zre_rs.pyre import Pyre``).
"""

from ._native import (
    CommandError,
    ConfigError,
    NodeStopped,
    ZreError,
    certificate_public_key,
    curve_available,
    generate_certificate,
)
from ._events import (
    Enter,
    Event,
    Evasive,
    Exit,
    Join,
    Leader,
    Leave,
    Shout,
    Silent,
    Stop,
    Whisper,
)
from ._node import Node

__version__ = "0.1.0"

__all__ = [
    "Node",
    "Event",
    "Enter",
    "Exit",
    "Join",
    "Leave",
    "Whisper",
    "Shout",
    "Evasive",
    "Silent",
    "Leader",
    "Stop",
    "ZreError",
    "ConfigError",
    "CommandError",
    "NodeStopped",
    "curve_available",
    "generate_certificate",
    "certificate_public_key",
]
