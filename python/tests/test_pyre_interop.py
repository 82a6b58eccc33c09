"""Live: two of our nodes (zre_rs.Node and zre_rs.pyre.Pyre) and pyre 0.3.4
itself, each in a namespace of its own on one LAN, talking every way."""

import json


def pyre_lan_ours_and_pyre_talk_both_ways(lab, pyre_reference):
    lab.lan("lan", {"a": "10.99.201.2", "b": "10.99.201.3", "c": "10.99.201.4"})
    node = lab.agent("a", "node", "ours-node", "--header", "X-Who=node")
    compat = lab.agent("b", "compat", "ours-compat", "--header", "X-Who=compat")
    ref = lab.agent("c", "pyre", "pyre-ref", "--header", "X-Who=pyre")
    everyone = [node, compat, ref]
    who = {node: "node", compat: "compat", ref: "pyre"}
    ip = {node: "10.99.201.2", compat: "10.99.201.3", ref: "10.99.201.4"}

    # Discovery, HELLO headers and endpoints, every pair both ways.
    for me in everyone:
        for other in everyone:
            if other is me:
                continue
            enter = me.event("ENTER", timeout=30, peer=other.uuid)
            assert enter["name"] == other.name
            assert enter["headers"]["X-Who"] == who[other], enter
            assert enter["endpoint"].startswith("tcp://%s:" % ip[other]), enter

    for me in everyone:
        me.send(cmd="join", group="LAB")
    for me in everyone:
        for other in everyone:
            if other is not me:
                me.event("JOIN", peer=other.uuid, group="LAB")

    # SHOUT from each, two frames, one of them not UTF-8.
    for sender in everyone:
        frames = [("from " + sender.name).encode().hex(), "00ff0a"]
        sender.send(cmd="shout", group="LAB", frames=frames)
        for me in everyone:
            if me is not sender:
                me.event("SHOUT", peer=sender.uuid, group="LAB", frames=frames)

    # WHISPER from each to each.
    for sender in everyone:
        for me in everyone:
            if me is not sender:
                frames = [("%s->%s" % (sender.name, me.name)).encode().hex()]
                sender.send(cmd="whisper", peer=me.uuid, frames=frames)
                me.event("WHISPER", peer=sender.uuid, frames=frames)

    # LEAVE seen by all; then pyre stops and both of ours see it go.
    ref.send(cmd="leave", group="LAB")
    node.event("LEAVE", peer=ref.uuid, group="LAB")
    compat.event("LEAVE", peer=ref.uuid, group="LAB")
    ref.send(cmd="stop")
    node.event("EXIT", peer=ref.uuid, timeout=40)
    compat.event("EXIT", peer=ref.uuid, timeout=40)

    # And ours leaving is seen by the other of ours.
    compat.send(cmd="stop")
    node.event("EXIT", peer=compat.uuid, timeout=40)
    json.dumps(node.lines)  # every line the agent printed was JSON
