//! The hand-driven ZRE peer `tests/interop/rogue_peer.py` (python3 with
//! pyzmq): it sends exactly what it is told (beacons of any version for any
//! UUID and port, HELLO and the rest on a DEALER), and reports in JSON lines
//! what its ROUTERs receive. For hardening tests: forged beacons, peers that
//! skip steps.

use super::netns::{Event, Json, JsonPeer, Lab, WAIT};

const ROGUE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/rogue_peer.py");

/// The rogue peer on `host` at `ip` (a /24 on `lan`, beacons to its .255),
/// READY.
/// A missing pyzmq fails the test with the install hint.
pub fn rogue(lab: &Lab, host: &str, lan: &str, ip: &str, name: &str) -> JsonPeer {
    let pyzmq = std::process::Command::new("python3")
        .args(["-c", "import zmq"])
        .stdin(std::process::Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        pyzmq,
        "the rogue peer needs python3 with pyzmq: pip install pyzmq==27.3.0"
    );
    let bcast = format!("{}.255", ip.rsplit_once('.').map_or(ip, |(net, _)| net));
    let child = lab.spawn_as(
        &format!("rogue {name}@{host}"),
        host,
        "python3",
        &[
            "-u", ROGUE, "--iface", lan, "--ip", ip, "--bcast", &bcast, "--name", name,
        ],
        &[("PYTHONDONTWRITEBYTECODE", "1")],
    );
    JsonPeer::adopt(child)
}

/// Binds one more ROUTER on the rogue, named `trap`: its port. Whatever
/// connects to it and speaks shows as RECV events with `"on":"trap"`
/// (see [`trapped`]).
pub fn listen_trap(r: &mut JsonPeer) -> u16 {
    r.send_line("/listen trap");
    let what = format!("LISTENING (seen by {})", r.name);
    let listening = r.wait_for(&what, |e| e.is("LISTENING"), WAIT);
    match listening.json.get("port") {
        Some(Json::Num(port)) => *port as u16,
        _ => panic!("no port in {listening}"),
    }
}

/// How many messages reached the rogue's trap.
pub fn trapped(r: &JsonPeer) -> usize {
    r.count(|e| e.is("RECV") && e.str("on") == Some("trap"))
}

/// The port of `tcp://host:port`.
pub fn endpoint_port(endpoint: &str) -> &str {
    endpoint.rsplit_once(':').map_or("", |(_, port)| port)
}

/// A message the rogue received from `peer`: `cmd` is HELLO, WHISPER, …
pub fn received(cmd: &'static str, peer: &JsonPeer) -> impl Fn(&Event) -> bool + use<> {
    let uuid = peer.uuid.clone();
    move |e| e.is("RECV") && e.str("cmd") == Some(cmd) && e.str("from") == Some(uuid.as_str())
}
