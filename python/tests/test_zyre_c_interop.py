"""Live: our Python node (zre_rs.Node) and Zyre 2.0.1 (tests/interop/
zyre_peer.c) on a namespace LAN, in CURVE mode, electing a leader: what
pyre cannot do."""

import json


def content_hex(zyre_content):
    """zyre_peer.c's content (strings, or {"hex": ...}) as hex frames."""
    out = []
    for frame in zyre_content:
        out.append(frame["hex"] if isinstance(frame, dict) else frame.encode().hex())
    return out


def zyre_c_curve_and_election_with_python(lab, zyre_reference, zyre_peer_driver, tmp_path):
    import zre_rs

    lab.lan("lan", {"a": "10.99.202.2", "z": "10.99.202.3", "p": "10.99.202.4"})
    zre_rs.generate_certificate(tmp_path / "ours.cert")
    ours = lab.agent(
        "a", "node", "py-curve", "--interval", "100",
        "--curve-cert", str(tmp_path / "ours.cert_secret"), "--contest", "ELECT",
        "--header", "X-Lang=python",
    )
    zyre = lab.spawn(
        "z", "zyre",
        [zyre_peer_driver, "--name", "zyre-curve", "--iface", "lan", "--beacon-interval", "100",
         "--curve-keygen", str(tmp_path / "zyre.cert"), "--contest", "ELECT", "--header", "X-Lang=c"],
        ready=lambda m: m.get("event") == "READY",
    )
    # A plain node (no CURVE) on the same LAN: neither may meet it.
    plain = lab.agent("p", "node", "py-plain", "--interval", "100")
    assert len(zyre.ready.get("publickey", "")) == 40

    enter = ours.event("ENTER", timeout=20, peer=zyre.uuid)
    assert enter["name"] == "zyre-curve" and enter["headers"]["X-Lang"] == "c"
    assert enter["endpoint"].startswith("tcp://10.99.202.3:")
    z_enter = zyre.wait(lambda m: m.get("event") == "ENTER" and m["peer"].lower() == ours.uuid, 20)
    assert z_enter["headers"]["X-Lang"] == "python"

    # Both join and contest: one leader, the same for both.
    ours.send(cmd="join", group="ELECT")
    zyre.send_line("/join ELECT")
    ours.event("JOIN", peer=zyre.uuid, group="ELECT")
    lead_ours = ours.event("LEADER", timeout=20, group="ELECT")
    lead_zyre = zyre.wait(lambda m: m.get("event") == "LEADER" and m.get("group") == "ELECT", 20)
    assert lead_ours["peer"] == lead_zyre["peer"].lower()
    assert lead_ours["peer"] in (ours.uuid, zyre.uuid)

    # Messages both ways over CURVE, one frame not UTF-8.
    ours.send(cmd="shout", group="ELECT", frames=[b"from python".hex(), "00ff0a"])
    shout = zyre.wait(lambda m: m.get("event") == "SHOUT" and m["peer"].lower() == ours.uuid, 15)
    assert content_hex(shout["content"]) == [b"from python".hex(), "00ff0a"]
    ours.send(cmd="whisper", peer=zyre.uuid, frames=[b"psst".hex()])
    whisper = zyre.wait(lambda m: m.get("event") == "WHISPER", 15)
    assert content_hex(whisper["content"]) == [b"psst".hex()]
    zyre.send_line("/whisper %s from zyre" % ours.uuid.upper())
    ours.event("WHISPER", peer=zyre.uuid, frames=[b"from zyre".hex()])
    zyre.send_line("/shoutx ELECT 0102 -")
    ours.event("SHOUT", peer=zyre.uuid, group="ELECT", frames=["0102", ""])

    # The plain node met neither, and neither met it.
    plain.send(cmd="peers")
    assert plain.wait(lambda m: "peers" in m)["peers"] == []
    assert not any(m.get("event") == "ENTER" and m.get("peer") == plain.uuid for m in ours.lines)
    assert not any(m.get("event") == "ENTER" and m["peer"].lower() == plain.uuid for m in zyre.lines)

    zyre.send_line("/quit")
    ours.event("EXIT", peer=zyre.uuid, timeout=40)
    json.dumps(ours.lines)
