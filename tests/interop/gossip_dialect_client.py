#!/usr/bin/env python3
"""A hand-made ZGossip client of either dialect, for live expiry tests.

Usage: gossip_dialect_client.py ENDPOINT DIALECT UUID_HEX VALUE TTL

DIALECT is `czmq` (key: the UUID as 32 upper-case hex digits, TTL in
milliseconds, one frame per message, libzmq's identity) or `haskell`
(haskell-zre 0.1.5.2: key and ZMQ identity the raw 16-byte UUID, TTL in
seconds, the server's messages come as [envelope, message]). It says
HELLO, publishes (KEY, VALUE, TTL) once and never again, so that the
tuple expires after TTL. Every 500 ms it says HELLO again, which both
servers answer with every tuple they hold, and pings. It prints, flushed:
  READY
  TUPLE <key as 32 upper-case hex> <value> <ttl as received>   (each PUBLISH)
  DUMP                                                          (each HELLO sent)
A VALUE of `-` publishes nothing (an observer).
"""
import struct
import sys
import time

import zmq

SIG = b"\xaa\xa0"


def control(msg_id):
    return SIG + bytes([msg_id, 1])


def publish(key, value, ttl):
    value = value.encode()
    return SIG + bytes([2, 1, len(key)]) + key + struct.pack(">I", len(value)) + value + struct.pack(">I", ttl)


def parse_publish(frame):
    if len(frame) < 5 or frame[:2] != SIG or frame[2] != 2 or frame[3] != 1:
        return None
    klen = frame[4]
    key = frame[5:5 + klen]
    pos = 5 + klen
    (vlen,) = struct.unpack(">I", frame[pos:pos + 4])
    value = frame[pos + 4:pos + 4 + vlen]
    (ttl,) = struct.unpack(">I", frame[pos + 4 + vlen:pos + 8 + vlen])
    return key, value.decode(), ttl


def main():
    endpoint, dialect, uuid_hex, value, ttl = sys.argv[1:6]
    raw = bytes.fromhex(uuid_hex)
    haskell = dialect == "haskell"
    key = raw if haskell else uuid_hex.upper().encode()
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    if haskell:
        sock.setsockopt(zmq.IDENTITY, raw)
    sock.connect(endpoint)
    sock.send(control(1))
    if value != "-":
        sock.send(publish(key, value, int(ttl)))
    print("READY", flush=True)
    next_hello = time.monotonic() + 0.5
    while True:
        if sock.poll(100):
            frames = sock.recv_multipart()
            frame = frames[-1]
            if len(frames) != (2 if haskell else 1):
                print("LAYOUT", len(frames), flush=True)
            tuple_ = parse_publish(frame)
            if tuple_:
                k, v, t = tuple_
                shown = k.hex().upper() if len(k) == 16 else k.decode(errors="replace")
                print("TUPLE", shown, v, t, flush=True)
        if time.monotonic() >= next_hello:
            next_hello += 0.5
            print("DUMP", flush=True)
            sock.send(control(1))
            if not haskell:
                sock.send(control(3))


if __name__ == "__main__":
    main()
