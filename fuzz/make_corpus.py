#!/usr/bin/env python3
"""Writes the fuzz seed corpus from the wire snapshots (tests/snapshots/*.snap),
which hold the exact bytes of every beacon, ZRE and ZGossip frame as hex,
plus the shipped zre.conf for the config target."""
import pathlib
import shutil

here = pathlib.Path(__file__).resolve().parent
snapshots = here.parent / "tests" / "snapshots"
targets = {"beacon": "beacon", "zre": "zre_msg", "gossip": "gossip_msg"}

for snap in sorted(snapshots.glob("wire_frames__*.snap")):
    name = snap.stem.removeprefix("wire_frames__")
    target = targets.get(name.split("_")[0])
    if target is None:
        continue
    body = snap.read_text().split("---\n", 2)[2]
    data = bytes.fromhex("".join(body.split()))
    out = here / "corpus" / target
    out.mkdir(parents=True, exist_ok=True)
    (out / f"seed-{name}").write_bytes(data)

config = here / "corpus" / "config"
config.mkdir(parents=True, exist_ok=True)
shutil.copy(here.parent / "zre.conf", config / "seed-zre.conf")
(config / "seed-small.conf").write_text("[zre]\nname = fuzz # comment\nheader = A=b\n[zrecat]\nwait = 2s\n")

# The core target reads ops; seed it with a beacon, a HELLO and a tick.
zre_hello = (here / "corpus" / "zre_msg" / "seed-zre_01_hello").read_bytes()
identity = bytes([1]) + bytes(range(16))
core = here / "corpus" / "node_core"
core.mkdir(parents=True, exist_ok=True)
beacon = (here / "corpus" / "beacon" / "seed-beacon_v1").read_bytes()
ops = bytes([0, len(beacon), 2]) + beacon
ops += bytes([1, len(identity)]) + identity + bytes([len(zre_hello)]) + zre_hello + bytes([0])
ops += bytes([3, 40])
# The first byte is the mode: even plain, odd CURVE.
(core / "seed-beacon-hello-tick").write_bytes(bytes([0]) + ops)
# CURVE mode: a v3 beacon, a HELLO with one X-PUBLICKEY, a keyed gossip
# value (keys of 32 bytes, no byte changed), then a tick.
key = bytes(range(0x40, 0x60))
curve_ops = bytes([7, 2, 1, 0]) + key + bytes([2])
curve_ops += bytes([8, 3, 3, 200, 1]) + key + bytes([0xFF])
curve_ops += bytes([9, 4, 4, 200]) + key + bytes([0xFF])
curve_ops += bytes([3, 40])
(core / "seed-curve").write_bytes(bytes([1]) + curve_ops)
# The dialect target: the ZGossip seeds as they are, and a haskell-zre
# PUBLISH (raw 16-byte key, TTL 600 s) framed for its server half.
dialect = here / "corpus" / "gossip_dialect"
dialect.mkdir(parents=True, exist_ok=True)
for seed in (here / "corpus" / "gossip_msg").glob("seed-*"):
    shutil.copy(seed, dialect / seed.name)
endpoint = b"tcp://10.0.0.1:5670"
publish = bytes([0xAA, 0xA0, 2, 1, 16]) + bytes([0x5A] * 16)
publish += len(endpoint).to_bytes(4, "big") + endpoint + (600).to_bytes(4, "big")
hello = bytes([0xAA, 0xA0, 1, 1])
(dialect / "seed-haskell-publish").write_bytes(publish)
(dialect / "seed-two-clients").write_bytes(
    bytes([len(hello), 0]) + hello + bytes([len(hello), 1]) + hello + bytes([len(publish), 1]) + publish
)
print("corpus written under", here / "corpus")
