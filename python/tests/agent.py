"""A node driven by JSON lines, for tests across namespaces.

    agent.py IMPL NAME [--header K=V] [--interval MS] [--interface IFACE]
             [--curve-cert PATH_secret] [--contest GROUP]   (the last two: node)

IMPL: ``node`` (zre_rs.Node), ``compat`` (zre_rs.pyre.Pyre) or ``pyre``
(pyre 0.3.4 itself). Prints ``{"ready": uuid_hex, "name": NAME}``, then one
line per event ``{"event": KIND, "peer": hex, "name", "group", "frames":
[hex...], "headers", "endpoint"}``. Commands on stdin: ``{"cmd": "join" |
"leave", "group"}``, ``{"cmd": "shout", "group", "frames": [hex...]}``,
``{"cmd": "whisper", "peer": hex, "frames"}``, ``{"cmd": "peers"}`` (prints
``{"peers": [hex...]}``), ``{"cmd": "stop"}``. Both pyre flavours are
polled through ``node.socket()`` in a ``zmq.Poller``, as pyre code does.
"""

import argparse
import json
import os
import sys
import uuid

import zmq


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("impl", choices=["node", "compat", "pyre"])
    parser.add_argument("name")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--interval", type=int)
    parser.add_argument("--interface")
    parser.add_argument("--curve-cert")
    parser.add_argument("--contest", action="append", default=[])
    args = parser.parse_args()
    headers = dict(h.split("=", 1) for h in args.header)

    if args.impl == "node":
        import zre_rs

        node = zre_rs.Node(
            args.name,
            headers=headers,
            interface=args.interface,
            beacon_interval=None if args.interval is None else args.interval / 1000,
            curve_cert=args.curve_cert,
            contest=args.contest,
        )
        uid, fd = node.uuid, node.fileno()
    else:
        if args.impl == "compat":
            from zre_rs.pyre import Pyre
        else:
            from pyre import Pyre
        node = Pyre(args.name)
        for k, v in headers.items():
            node.set_header(k, v)
        if args.interval is not None:
            node.set_interval(str(args.interval))
        if args.interface:
            node.set_interface(args.interface)
        node.start()
        uid, fd = node.uuid(), node.socket()

    out = sys.stdout

    def emit(**msg) -> None:
        out.write(json.dumps(msg) + "\n")
        out.flush()

    emit(ready=uid.hex, name=args.name)
    poller = zmq.Poller()
    poller.register(sys.stdin.fileno(), zmq.POLLIN)
    poller.register(fd, zmq.POLLIN)
    stdin = os.fdopen(sys.stdin.fileno(), "r", buffering=1)
    running = True
    while running:
        items = dict(poller.poll(1000))
        if fd in items:
            if args.impl == "node":
                ev = node.try_recv()
                if ev is not None:
                    emit(
                        event=ev.kind,
                        peer=ev.peer.hex if ev.peer else None,
                        name=ev.name,
                        group=getattr(ev, "group", None),
                        frames=[f.hex() for f in getattr(ev, "content", None) or []],
                        headers=getattr(ev, "headers", None),
                        endpoint=getattr(ev, "endpoint", None),
                    )
            else:
                frames = node.recv()
                kind = frames[0].decode()
                msg = {"event": kind, "peer": uuid.UUID(bytes=frames[1]).hex, "name": frames[2].decode()}
                rest = frames[3:]
                if kind == "ENTER":
                    msg["headers"] = json.loads(rest[0])
                    msg["endpoint"] = rest[1].decode()
                elif kind in ("JOIN", "LEAVE"):
                    msg["group"] = rest[0].decode()
                elif kind == "SHOUT":
                    msg["group"] = rest[0].decode()
                    msg["frames"] = [f.hex() for f in rest[1:]]
                elif kind == "WHISPER":
                    msg["frames"] = [f.hex() for f in rest]
                emit(**msg)
                if kind == "STOP":
                    running = False
        if sys.stdin.fileno() in items:
            line = stdin.readline()
            if not line:
                break
            cmd = json.loads(line)
            op = cmd["cmd"]
            frames = [bytes.fromhex(f) for f in cmd.get("frames", [])]
            if op == "join":
                node.join(cmd["group"])
            elif op == "leave":
                node.leave(cmd["group"])
            elif op == "shout":
                node.shout(cmd["group"], frames)
            elif op == "whisper":
                node.whisper(uuid.UUID(cmd["peer"]), frames)
            elif op == "peers":
                emit(peers=sorted(p.hex for p in node.peers()))
            elif op == "stop":
                node.stop()
                if args.impl == "node":
                    emit(event="STOP")
                    running = False
                elif args.impl == "pyre":
                    running = False
                    emit(event="STOP")
    if args.impl == "pyre":
        os._exit(0)


if __name__ == "__main__":
    main()
