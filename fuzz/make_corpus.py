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
(core / "seed-beacon-hello-tick").write_bytes(ops)
print("corpus written under", here / "corpus")
