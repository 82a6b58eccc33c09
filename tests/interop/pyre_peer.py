#!/usr/bin/env python3
"""A pyre (Python ZRE) peer driven like `zre --json`, for interop tests.

Reads commands on stdin, one per line:
  /join G, /leave G, /shout G text..., /whisper NAME|UUID text...,
  /shoutx G HEX [HEX...], /whisperx NAME|UUID HEX [HEX...]  (binary frames,
  one per word; - is an empty frame),
  /quit (EOF quits too).
Prints one JSON object per line on stdout, in the schema of `zre --json`:
READY first, then ENTER, EXIT, JOIN, LEAVE, SHOUT, WHISPER, STOP. Peer ids
are 32 upper-case hex digits; a content frame that is not UTF-8 is
{"hex": "..."}.

pyre 0.3.4 has no interface option (it takes the first non-loopback IPv4
interface: run it where that is the test LAN) and fixed timeouts (evasive
10 s, expired 30 s). Its beacon interval is fixed at 1 s: Pyre.set_interval
only stores the value, so --beacon-interval is accepted and ignored.
"""

import argparse
import json
import logging
import os
import sys
import uuid

import zmq
from pyre import Pyre


def frame_json(frame):
    try:
        return frame.decode("utf-8")
    except UnicodeDecodeError:
        return {"hex": frame.hex()}


def emit(obj):
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def peer_id(raw):
    return uuid.UUID(bytes=raw).hex.upper()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True)
    parser.add_argument("--header", action="append", default=[], help="KEY=VALUE")
    parser.add_argument("--beacon-port", type=int, default=5670)
    parser.add_argument("--beacon-interval", type=int, default=1000, help="milliseconds (ignored by pyre)")
    args = parser.parse_args()
    if os.environ.get("PYRE_DEBUG_BEACON"):
        # pyre's beacon actor logs why it stops only at debug level.
        logging.basicConfig(format="%(name)s: %(message)s")
        logging.getLogger("pyre.zbeacon").setLevel(logging.DEBUG)
    if os.environ.get("PYRE_DEBUG"):
        # Everything pyre logs: each message it takes or drops, and why.
        logging.basicConfig(format="%(asctime)s %(name)s: %(message)s")
        logging.getLogger("pyre").setLevel(logging.DEBUG)

    node = Pyre(args.name)
    for header in args.header:
        key, _, value = header.partition("=")
        node.set_header(key, value)
    node.set_port(str(args.beacon_port).encode())
    node.start()
    names = {}
    emit({"event": "READY", "peer": node.uuid().hex.upper(), "name": args.name, "endpoint": node.endpoint()})

    poller = zmq.Poller()
    poller.register(node.socket(), zmq.POLLIN)
    poller.register(sys.stdin.fileno(), zmq.POLLIN)
    stdin_buffer = b""
    running = True
    while running:
        for sock, _ in poller.poll():
            if sock == sys.stdin.fileno():
                chunk = os.read(sys.stdin.fileno(), 65536)
                if not chunk:
                    running = False
                    break
                stdin_buffer += chunk
                while b"\n" in stdin_buffer:
                    line, stdin_buffer = stdin_buffer.split(b"\n", 1)
                    running = run_command(node, names, line.decode("utf-8").strip()) and running
            else:
                handle_event(node.recv(), names)
    node.stop()
    emit({"event": "STOP"})


def unhex(word):
    return b"" if word == "-" else bytes.fromhex(word)


def resolve(names, target):
    for pid, name in names.items():
        if name == target:
            return uuid.UUID(hex=pid)
    return uuid.UUID(hex=target)


def run_command(node, names, line):
    if not line:
        return True
    cmd, _, rest = line.partition(" ")
    try:
        if cmd == "/quit":
            return False
        if cmd == "/join":
            node.join(rest)
        elif cmd == "/leave":
            node.leave(rest)
        elif cmd == "/shout":
            group, _, text = rest.partition(" ")
            node.shout(group, text.encode("utf-8"))
        elif cmd == "/whisper":
            target, _, text = rest.partition(" ")
            node.whisper(resolve(names, target), text.encode("utf-8"))
        elif cmd == "/shoutx":
            group, *frames = rest.split(" ")
            node.shout(group, [unhex(f) for f in frames])
        elif cmd == "/whisperx":
            target, *frames = rest.split(" ")
            node.whisper(resolve(names, target), [unhex(f) for f in frames])
        else:
            print(f"unknown command {cmd}", file=sys.stderr)
    except Exception as err:  # a bad command must not end the peer
        print(f"command {line!r} failed: {err}", file=sys.stderr)
    return True


def handle_event(parts, names):
    kind = parts[0].decode()
    pid = peer_id(parts[1])
    name = parts[2].decode("utf-8", "replace")
    event = {"event": kind, "peer": pid, "name": name}
    if kind == "ENTER":
        names[pid] = name
        event["headers"] = json.loads(parts[3].decode("utf-8"))
        event["endpoint"] = parts[4].decode()
    elif kind in ("JOIN", "LEAVE"):
        event["group"] = parts[3].decode("utf-8", "replace")
    elif kind == "SHOUT":
        event["group"] = parts[3].decode("utf-8", "replace")
        event["content"] = [frame_json(f) for f in parts[4:]]
    elif kind == "WHISPER":
        event["content"] = [frame_json(f) for f in parts[3:]]
    elif kind == "EXIT":
        names.pop(pid, None)
    emit(event)


if __name__ == "__main__":
    main()
