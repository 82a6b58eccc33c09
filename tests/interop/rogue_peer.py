#!/usr/bin/env python3
"""A hand-driven ZRE peer for the hardening tests: it sends exactly what it
is told, including what real peers get wrong or what only Zyre sends.

Run it inside a test namespace only (it broadcasts on --iface). It binds a
ROUTER inbox on --ip (random port) and prints one JSON object per line:

  READY {peer, name, endpoint, port}      at start
  LISTENING {on, port}                    after /listen
  RECV {on, from, id, cmd, seq, ...}      every message a ROUTER receives
                                          (PING-OK only counted, see /stats);
                                          HELLO adds endpoint/name/groups/status
  SEQ {from, prev, seq}                   a sender's sequence did not step +1
                                          (a wrap to 0, or an error)
  FLOODED {last}                          /flood done and every PING answered
  STATS {pingok, pings}                   after /stats
  SENT {cmd, seq}                         after each ZRE message it sends
  ERROR {what}                            a command failed

Commands on stdin, one per line (EOF quits):
  /udp HEX                     broadcast a raw datagram to --bcast:--beacon-port
  /beacon VERSION PORT [UUID]  a well-formed beacon: version 1 (22 bytes) or
                               3 (54 bytes, with a 32-byte key); UUID is 32 hex
                               digits (default: ours)
  /listen NAME                 bind one more ROUTER (port printed as LISTENING)
  /connect ENDPOINT            our DEALER to a peer's inbox (identity 01+uuid)
  /hello ENDPOINT NAME STATUS [GROUP...]   ENDPOINT - = our own; sequence 1
  /join G STATUS, /leave G STATUS, /elect G CHALLENGER, /leader G LEADER,
  /goodbye, /ping, /pingok, /whisper TEXT, /shout G TEXT
  /wrap full|short             how our sequence steps past its top
                               (65535 -> 0, or 65534 -> 0 as pyre and zyre.js)
  /flood LAST                  PINGs until the last one sent has sequence
                               LAST, never more than 200 unanswered
  /stats                       print STATS
  /quit
"""

import argparse
import json
import os
import socket
import struct
import sys
import time
import uuid

import zmq

COMMANDS = {
    1: "HELLO", 2: "WHISPER", 3: "SHOUT", 4: "JOIN", 5: "LEAVE", 6: "PING",
    7: "PING-OK", 8: "ELECT", 9: "LEADER", 10: "GOODBYE",
}
IDS = {name: number for number, name in COMMANDS.items()}


def emit(obj):
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def string(text):
    data = text.encode("utf-8")
    return struct.pack(">B", len(data)) + data


def longstr(text):
    data = text.encode("utf-8")
    return struct.pack(">I", len(data)) + data


def strings(items):
    return struct.pack(">I", len(items)) + b"".join(longstr(s) for s in items)


def hash_(pairs):
    return struct.pack(">I", len(pairs)) + b"".join(string(k) + longstr(v) for k, v in pairs)


class Reader:
    def __init__(self, data):
        self.data = data
        self.at = 0

    def take(self, n):
        chunk = self.data[self.at:self.at + n]
        if len(chunk) != n:
            raise ValueError("truncated")
        self.at += n
        return chunk

    def n1(self):
        return self.take(1)[0]

    def n2(self):
        return struct.unpack(">H", self.take(2))[0]

    def n4(self):
        return struct.unpack(">I", self.take(4))[0]

    def string(self):
        return self.take(self.n1()).decode("utf-8", "replace")

    def longstr(self):
        return self.take(self.n4()).decode("utf-8", "replace")


class Rogue:
    def __init__(self, args):
        self.args = args
        self.uuid = uuid.UUID(hex=args.uuid) if args.uuid else uuid.uuid4()
        self.ctx = zmq.Context()
        self.routers = {}
        self.poller = zmq.Poller()  # the ROUTERs only
        self.main_poller = zmq.Poller()  # the ROUTERs and stdin
        self.main_poller.register(sys.stdin.fileno(), zmq.POLLIN)
        self.dealer = None
        self.seq = 0
        self.wrap = "full"
        self.last_seen = {}
        self.pingok = 0
        self.pings = 0
        self.pings_sent = 0
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, args.iface.encode())
        self.port = self.listen("main")
        self.endpoint = "tcp://%s:%d" % (args.ip, self.port)

    def listen(self, name):
        router = self.ctx.socket(zmq.ROUTER)
        router.setsockopt(zmq.LINGER, 0)
        router.setsockopt(zmq.RCVHWM, 0)
        # As Zyre, pyre and zyre.js do: a reconnecting peer takes its identity over.
        router.setsockopt(zmq.ROUTER_HANDOVER, 1)
        port = router.bind_to_random_port("tcp://%s" % self.args.ip)
        self.routers[router] = name
        self.poller.register(router, zmq.POLLIN)
        self.main_poller.register(router, zmq.POLLIN)
        return port

    # ----- receiving ------------------------------------------------------

    def pump(self, timeout_ms):
        """Handles whatever the ROUTERs hold, waiting up to timeout_ms."""
        for sock, _ in self.poller.poll(timeout_ms):
            if sock in self.routers:
                while True:
                    try:
                        frames = sock.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    self.received(self.routers[sock], frames)

    def received(self, on, frames):
        identity, header, content = frames[0], frames[1] if len(frames) > 1 else b"", frames[2:]
        sender = identity[1:].hex().upper() if len(identity) == 17 else identity.hex()
        event = {"event": "RECV", "on": on, "from": sender}
        try:
            r = Reader(header)
            if r.take(2) != b"\xaa\xa1":
                raise ValueError("bad signature")
            msg_id = r.n1()
            r.n1()
            seq = r.n2()
        except ValueError as err:
            event["error"] = str(err)
            emit(event)
            return
        cmd = COMMANDS.get(msg_id, str(msg_id))
        prev = self.last_seen.get(sender)
        # Every step that is not +1 is reported, wraps included.
        if cmd != "HELLO" and prev is not None and seq != prev + 1:
            emit({"event": "SEQ", "from": sender, "prev": prev, "seq": seq})
        self.last_seen[sender] = seq
        if cmd == "PING-OK":
            self.pingok += 1
            return
        event.update({"id": msg_id, "cmd": cmd, "seq": seq})
        try:
            if cmd == "HELLO":
                event["endpoint"] = r.string()
                event["groups"] = [r.longstr() for _ in range(r.n4())]
                event["status"] = r.n1()
                event["name"] = r.string()
            elif cmd in ("SHOUT", "JOIN", "LEAVE"):
                event["group"] = r.string()
                if cmd != "SHOUT":
                    event["status"] = r.n1()
        except ValueError as err:
            event["error"] = str(err)
        if content:
            event["content"] = [c.hex() for c in content]
        emit(event)
        if cmd == "PING" and on == "main" and self.dealer is not None:
            self.pings += 1
            self.send("PING-OK", b"", quiet=True)

    # ----- sending --------------------------------------------------------

    def next_seq(self):
        top = 65535 if self.wrap == "full" else 65534
        self.seq = 0 if self.seq == top else self.seq + 1
        return self.seq

    def send(self, cmd, body, content=(), quiet=False):
        if self.dealer is None:
            raise RuntimeError("no /connect yet")
        if cmd == "HELLO":
            self.seq = 0
        seq = self.next_seq()
        header = b"\xaa\xa1" + struct.pack(">BBH", IDS[cmd], 2, seq) + body
        self.dealer.send_multipart([header] + list(content))
        if not quiet:
            emit({"event": "SENT", "cmd": cmd, "seq": seq})

    def beacon(self, data):
        self.udp.sendto(data, (self.args.bcast, self.args.beacon_port))

    def flood(self, last):
        while True:
            unanswered = self.pings_sent - self.pingok
            if unanswered > 200:
                self.pump(5000)
                continue
            self.send("PING", b"", quiet=True)
            self.pings_sent += 1
            if self.seq == last:
                break
            self.pump(0)
        deadline = time.time() + 30
        while self.pingok < self.pings_sent and time.time() < deadline:
            self.pump(500)
        emit({"event": "FLOODED", "last": self.seq, "sent": self.pings_sent, "pingok": self.pingok})

    def command(self, line):
        cmd, _, rest = line.partition(" ")
        words = rest.split()
        if cmd == "/quit":
            return False
        if cmd == "/udp":
            self.beacon(bytes.fromhex(rest.strip()))
        elif cmd == "/beacon":
            version, port = int(words[0]), int(words[1])
            who = uuid.UUID(hex=words[2]) if len(words) > 2 else self.uuid
            data = b"ZRE" + bytes([version]) + who.bytes + struct.pack(">H", port)
            if version == 3:
                data += bytes(range(1, 33))
            self.beacon(data)
        elif cmd == "/listen":
            emit({"event": "LISTENING", "on": words[0], "port": self.listen(words[0])})
        elif cmd == "/connect":
            if self.dealer is not None:
                self.dealer.close()
            self.dealer = self.ctx.socket(zmq.DEALER)
            self.dealer.setsockopt(zmq.LINGER, 0)
            self.dealer.setsockopt(zmq.SNDHWM, 0)
            self.dealer.setsockopt(zmq.IDENTITY, b"\x01" + self.uuid.bytes)
            self.dealer.connect(words[0])
        elif cmd == "/hello":
            endpoint = self.endpoint if words[0] == "-" else words[0]
            body = string(endpoint) + strings(words[3:]) + struct.pack(">B", int(words[2]))
            body += string(words[1]) + hash_([("X-ROGUE", "1")])
            self.send("HELLO", body)
        elif cmd in ("/join", "/leave"):
            self.send(cmd[1:].upper(), string(words[0]) + struct.pack(">B", int(words[1])))
        elif cmd in ("/elect", "/leader"):
            self.send(cmd[1:].upper(), string(words[0]) + string(words[1]))
        elif cmd in ("/goodbye", "/ping", "/pingok"):
            self.send({"/goodbye": "GOODBYE", "/ping": "PING", "/pingok": "PING-OK"}[cmd], b"")
        elif cmd == "/whisper":
            self.send("WHISPER", b"", [rest.encode("utf-8")])
        elif cmd == "/shout":
            group, _, text = rest.partition(" ")
            self.send("SHOUT", string(group), [text.encode("utf-8")])
        elif cmd == "/wrap":
            self.wrap = words[0]
        elif cmd == "/flood":
            self.flood(int(words[0]))
        elif cmd == "/stats":
            emit({"event": "STATS", "pingok": self.pingok, "pings": self.pings})
        else:
            raise ValueError("unknown command %s" % cmd)
        return True


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iface", required=True)
    parser.add_argument("--ip", required=True)
    parser.add_argument("--bcast", required=True)
    parser.add_argument("--beacon-port", type=int, default=5670)
    parser.add_argument("--name", default="rogue")
    parser.add_argument("--uuid")
    args = parser.parse_args()
    rogue = Rogue(args)
    emit({"event": "READY", "peer": rogue.uuid.hex.upper(), "name": args.name,
          "endpoint": rogue.endpoint, "port": rogue.port})
    stdin = sys.stdin.fileno()
    buffer = b""
    running = True
    while running:
        ready = dict(rogue.main_poller.poll(1000))
        rogue.pump(0)
        if stdin in ready:
            chunk = os.read(stdin, 65536)
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer and running:
                line, buffer = buffer.split(b"\n", 1)
                line = line.decode("utf-8").strip()
                if not line:
                    continue
                try:
                    running = rogue.command(line)
                except Exception as err:  # a bad command must not end the peer
                    emit({"event": "ERROR", "what": "%s: %s" % (line, err)})


if __name__ == "__main__":
    main()
