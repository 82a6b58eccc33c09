#!/usr/bin/env python3
"""Generates the pyre captures pasted into tests/wire_captures.rs.

Uses pyre's own encoder, `pyre.zre_msg.ZreMsg.send`, against a stand-in
socket that records the frames it is given, so the bytes are exactly those
pyre would put on a DEALER socket (no ROUTER address frame). Frame 0 is the
ZRE header frame our `ZreMessage::parse` handles; WHISPER and SHOUT content
follows in later frames.

    pip install zeromq-pyre pyzmq
    python3 tests/captures/gen_pyre.py

pyre 0.3.4 writes `len(s)` in characters, not bytes, as the length of a
`string`/`longstr` and cuts the UTF-8 to that many bytes, so its non-ASCII
encodings are wrong. All cases use ASCII text except SHOUT_NON_ASCII, which
records that defect.
"""

from importlib.metadata import version

import zmq
from pyre.zre_msg import ZreMsg


class RecordingSocket:
    """Enough of a zmq socket for ZreMsg.send: records every frame."""

    type = zmq.DEALER

    def __init__(self):
        self.frames = []

    def send(self, data, flags=0):
        self.frames.append(bytes(data))

    def send_multipart(self, parts):
        self.frames.extend(bytes(p) for p in parts)


def encode(msg):
    sock = RecordingSocket()
    msg.send(sock)
    return sock.frames


def message(msg_id, sequence, **fields):
    msg = ZreMsg(msg_id)
    msg.sequence = sequence
    for key, value in fields.items():
        setattr(msg, key, value)
    return msg


CASES = [
    (
        "HELLO",
        message(
            ZreMsg.HELLO,
            1,
            endpoint="tcp://192.168.1.20:49152",
            groups=["GLOBAL", "chat"],
            status=3,
            name="a1b2c3",
            headers={"X-HELLO": "World", "X-PORT": "5670"},
        ),
    ),
    ("SHOUT", message(ZreMsg.SHOUT, 2, group="chat", content=b"hello")),
    ("WHISPER", message(ZreMsg.WHISPER, 3, content=[b"part1", b"part2"])),
    ("JOIN", message(ZreMsg.JOIN, 4, group="chat", status=4)),
    ("LEAVE", message(ZreMsg.LEAVE, 5, group="chat", status=5)),
    ("PING", message(ZreMsg.PING, 6)),
    ("PING_OK", message(ZreMsg.PING_OK, 65535)),
    ("SHOUT_NON_ASCII", message(ZreMsg.SHOUT, 8, group="Zürich-ノード", content=b"x")),
]


def main():
    print(f"# pyre (zeromq-pyre) {version('zeromq-pyre')}, pyzmq {version('pyzmq')}")
    for name, msg in CASES:
        for index, frame in enumerate(encode(msg)):
            print(f"{name} frame {index}: {frame.hex()}")


if __name__ == "__main__":
    main()
