//! Secure groups among our own nodes (issue 19), live on namespace LANs:
//! CURVE mode (`--curve-cert`), the allow-list (`--curve-allow DIR`),
//! intruders that never get in, captures that hold no plaintext, and
//! gossip across two subnets over a CURVE link to our
//! `zgossip_server --curve-cert`.
//!
//! Needs root (network namespaces), tcpdump for the captures and python3
//! with pyzmq for the hand-driven rogue peer; `.ci/run` installs them.
//! LANs 10.99.190.0/24 to 10.99.196.0/24.

use crate::support::curve::{Capture, Cert, Scratch, allow_dir, keygen_ours, s};
use crate::support::events::{about, carrying, expect, header, meet, message, talk_both_ways};
use crate::support::netns::{JsonPeer, Lab, WAIT};
use crate::support::peers::{gossip_server, ours};
use crate::support::rogue::{endpoint_port, listen_trap, received, rogue, trapped};
use std::thread;
use std::time::Duration;

/// Our node in CURVE mode with this certificate and allow-list.
fn secure(lab: &Lab, host: &str, lan: &str, name: &str, cert: &Cert, allow: &std::path::Path) -> JsonPeer {
    ours(
        lab,
        host,
        lan,
        name,
        &["--curve-cert", s(&cert.secret), "--curve-allow", s(allow)],
    )
}

/// Each saw the other ENTER with its key as `X-PUBLICKEY`.
fn meet_with_keys(a: &mut JsonPeer, a_key: &str, b: &mut JsonPeer, b_key: &str) {
    let (of_b, of_a) = meet(a, b);
    assert_eq!(header(&of_b, "X-PUBLICKEY"), Some(b_key), "{} saw {of_b}", a.name);
    assert_eq!(header(&of_a, "X-PUBLICKEY"), Some(a_key), "{} saw {of_a}", b.name);
}

/// Two of our nodes in CURVE mode, each allowing the other: they meet with
/// each other's key as `X-PUBLICKEY`, and SHOUT and WHISPER both ways.
#[test]
fn curve_ours_with_ours() {
    let Some(mut lab) = Lab::new("curveours") else {
        return;
    };
    lab.numbered_lan("lan", 190, &["a", "b"]);
    let scratch = Scratch::new("curve_ours_with_ours");
    let a_cert = keygen_ours(&scratch.path("a.cert"));
    let b_cert = keygen_ours(&scratch.path("b.cert"));
    assert_ne!(a_cert.key, b_cert.key, "two key generations gave one key");
    let allow = allow_dir(&scratch, "allow", &[&a_cert, &b_cert]);
    let mut a = secure(&lab, "a", "lan", "secure-a", &a_cert, &allow);
    let mut b = secure(&lab, "b", "lan", "secure-b", &b_cert, &allow);
    meet_with_keys(&mut a, &a_cert.key, &mut b, &b_cert.key);
    talk_both_ways(&mut a, &mut b, "chat", "ours curve");
    for (x, y) in [(&a, &b), (&b, &a)] {
        assert_eq!(x.count(about("ENTER", y)), 1, "{}", x.report());
        assert_eq!(x.count(about("EXIT", y)), 0, "{}", x.report());
    }
    lab.show();
}

/// Two secure nodes (allow-list: each other) share a LAN with intruders:
/// one of our nodes in CURVE mode with a key not in the list, a plain
/// node, and a hand-driven rogue that forges version-1 beacons (with a
/// UUID of their own, and with a secure node's UUID, naming a trap port) and
/// connects to a secure node's inbox in the clear to say HELLO. The
/// secure nodes meet and hear each other's SHOUTs (so there was something
/// to hear), and the plain node takes the forged beacons (so they went
/// out); none of the intruders ever sees an ENTER of a secure node or
/// hears a SHOUT of theirs, the secure nodes see no ENTER of any intruder,
/// and neither sends the rogue anything, at the trap or at its inbox.
#[test]
fn curve_intruders_never_get_in() {
    let Some(mut lab) = Lab::new("curveintruders") else {
        return;
    };
    lab.numbered_lan("lan", 191, &["a", "b", "i", "p", "r"]);
    let scratch = Scratch::new("curve_intruders_never_get_in");
    let a_cert = keygen_ours(&scratch.path("a.cert"));
    let b_cert = keygen_ours(&scratch.path("b.cert"));
    let i_cert = keygen_ours(&scratch.path("intruder.cert"));
    let allow = allow_dir(&scratch, "allow", &[&a_cert, &b_cert]);
    let mut a = secure(&lab, "a", "lan", "secure-a", &a_cert, &allow);
    let mut b = secure(&lab, "b", "lan", "secure-b", &b_cert, &allow);
    // The intruder allows any key (no --curve-allow): it would take the
    // secure nodes in; they must not take it.
    let mut intruder = ours(&lab, "i", "lan", "intruder", &["--curve-cert", s(&i_cert.secret)]);
    let mut plain = ours(&lab, "p", "lan", "plain", &[]);
    let mut r = rogue(&lab, "r", "lan", lab.addr("r", "lan"), "rogue");
    let trap = listen_trap(&mut r);
    for peer in [&mut a, &mut b, &mut intruder, &mut plain] {
        peer.send_line("/join secret");
    }
    meet_with_keys(&mut a, &a_cert.key, &mut b, &b_cert.key);
    let inbox_port = endpoint_port(&r.endpoint).to_owned();

    // The trap is announced under a UUID of its own: under the rogue's,
    // which its inbox's beacon names too, the plain node would follow
    // each beacon to the latest endpoint (a peer that never said HELLO
    // and is announced elsewhere moved) and drop its link to the trap,
    // often before its HELLO got there.
    let trap_uuid = "7AB0000000000000000000000000CAFE";
    for round in 0..5 {
        r.send_line(&format!("/beacon 1 {trap} {trap_uuid}"));
        r.send_line(&format!("/beacon 1 {trap} {}", b.uuid));
        r.send_line(&format!("/beacon 1 {trap} {}", a.uuid));
        r.send_line(&format!("/beacon 1 {inbox_port}"));
        a.send_line(&format!("/shout secret from a, round {round}"));
        b.send_line(&format!("/shout secret from b, round {round}"));
        thread::sleep(Duration::from_millis(300));
    }
    // The rogue says HELLO on a connection of its own to each secure
    // node's inbox (in the clear: the CURVE handshake fails).
    for secure in [&a, &b] {
        r.send_line(&format!("/connect {}", secure.endpoint));
        r.send_line("/hello - rogue 1 secret");
        r.send_line("/shout secret rogue shout");
    }
    let last = "/shout secret from a, last".to_owned();
    a.send_line(&last);
    expect(
        &mut b,
        "the last SHOUT of a",
        message("SHOUT", &a, &["from a, last"]),
        WAIT,
    );
    expect(&mut a, "a SHOUT of b", carrying("from b, round 4"), WAIT);
    // The plain node did listen to the LAN: the rogue's well-formed v1
    // beacon for its inbox got its HELLO.
    expect(&mut r, "HELLO of the plain node", received("HELLO", &plain), WAIT);
    thread::sleep(Duration::from_secs(2));

    for outsider in [&intruder, &plain] {
        for secure in [&a, &b] {
            assert_eq!(
                outsider.count(about("ENTER", secure)),
                0,
                "{} saw an ENTER of {}\n{}",
                outsider.name,
                secure.name,
                lab.report()
            );
        }
        assert_eq!(
            outsider.count(carrying("from ")),
            0,
            "{} heard a secure node\n{}",
            outsider.name,
            lab.report()
        );
    }
    for secure in [&a, &b] {
        for outsider in [&intruder, &plain, &r] {
            assert_eq!(
                secure.count(about("ENTER", outsider)),
                0,
                "{} let {} in\n{}",
                secure.name,
                outsider.name,
                lab.report()
            );
        }
        assert_eq!(
            secure.count(carrying("rogue shout")),
            0,
            "{} took a SHOUT from the rogue\n{}",
            secure.name,
            lab.report()
        );
        let from_secure = r.count(|e| e.is("RECV") && e.str("from") == Some(secure.uuid.as_str()));
        assert_eq!(
            from_secure,
            0,
            "{} sent the rogue something (to the trap or its inbox)\n{}",
            secure.name,
            lab.report()
        );
    }
    // The forged beacons did go out: the plain node, which takes version-1
    // beacons, said HELLO to the trap (and nothing else ever reached it).
    let plain_id = plain.uuid.clone();
    let by_plain =
        r.count(|e| e.is("RECV") && e.str("on") == Some("trap") && e.str("from") == Some(plain_id.as_str()));
    assert!(
        by_plain > 0,
        "the plain node never took a forged beacon\n{}",
        lab.report()
    );
    assert_eq!(
        trapped(&r),
        by_plain,
        "something else reached the trap\n{}",
        lab.report()
    );
    assert_eq!(a.count(about("ENTER", &b)), 1, "{}", a.report());
    assert_eq!(b.count(about("ENTER", &a)), 1, "{}", b.report());
    lab.show();
}

/// What the secure node sends must not show on the wire: a capture of its
/// TCP traffic while it SHOUTs and WHISPERs a marker (and joins a group
/// and says HELLO with a name that are markers too) holds TCP payload but
/// none of them. The same exchange between two plain nodes on another LAN,
/// captured the same way, does show the marker: the search can fail.
#[test]
fn curve_capture_holds_no_plaintext() {
    let Some(mut lab) = Lab::new("curvecapture") else {
        return;
    };
    lab.numbered_lan("lan1", 192, &["a", "b"]);
    lab.numbered_lan("lan2", 193, &["c", "d"]);
    let scratch = Scratch::new("curve_capture_holds_no_plaintext");
    let a_cert = keygen_ours(&scratch.path("a.cert"));
    let b_cert = keygen_ours(&scratch.path("b.cert"));
    let allow = allow_dir(&scratch, "allow", &[&a_cert, &b_cert]);
    let marker = "MARKER-9c41e7-plaintext-of-the-secure-node";
    let name = "NAME-5be203-secure";
    let group = "GROUP-d8a611";

    let secure_capture = Capture::start(&lab, "a", "lan1", &scratch.path("secure.pcap"));
    let plain_capture = Capture::start(&lab, "c", "lan2", &scratch.path("plain.pcap"));
    let mut a = secure(&lab, "a", "lan1", name, &a_cert, &allow);
    let mut b = secure(&lab, "b", "lan1", "secure-b", &b_cert, &allow);
    let mut c = ours(&lab, "c", "lan2", name, &[]);
    let mut d = ours(&lab, "d", "lan2", "plain-d", &[]);
    for (x, y) in [(&mut a, &mut b), (&mut c, &mut d)] {
        meet(x, y);
        x.send_line(&format!("/join {group}"));
        y.send_line(&format!("/join {group}"));
        expect(y, "JOIN", about("JOIN", x), WAIT);
        expect(x, "JOIN", about("JOIN", y), WAIT);
        let to = y.uuid.clone();
        x.send_line(&format!("/shout {group} {marker} (shout)"));
        x.send_line(&format!("/whisper {to} {marker} (whisper)"));
        expect(
            y,
            "the marker SHOUT",
            message("SHOUT", x, &[format!("{marker} (shout)")]),
            WAIT,
        );
        expect(
            y,
            "the marker WHISPER",
            message("WHISPER", x, &[format!("{marker} (whisper)")]),
            WAIT,
        );
    }
    // Past a PING or two, so that the capture also holds traffic of the
    // established link.
    thread::sleep(Duration::from_secs(1));
    let secure_pcap = secure_capture.stop();
    let plain_pcap = plain_capture.stop();

    assert!(
        plain_pcap.contains(marker.as_bytes()) && plain_pcap.payloads_contain(group.as_bytes()),
        "the capture of the plain nodes does not show the marker: the search is broken \
         ({} packets, {} bytes of TCP payload)",
        plain_pcap.packets,
        plain_pcap.tcp_payload_bytes()
    );
    // HELLO, JOIN, SHOUT, WHISPER, PINGs each way: well over 500 bytes.
    assert!(
        secure_pcap.tcp_payload_bytes() > 500,
        "the capture of the secure node holds {} bytes of TCP payload in {} packets: it saw no traffic",
        secure_pcap.tcp_payload_bytes(),
        secure_pcap.packets
    );
    for secret in [marker, name, group, "X-PUBLICKEY"] {
        assert!(
            !secure_pcap.contains(secret.as_bytes()) && !secure_pcap.payloads_contain(secret.as_bytes()),
            "the capture of the secure node holds {secret:?} in the clear"
        );
    }
    lab.show();
}

/// Our `zgossip_server --curve-cert` on the router between two subnets:
/// secure nodes on each side, given the server's key, meet through it and
/// talk both ways; a capture on one of them holds no endpoint in the clear
/// (the gossip link and the node links are all CURVE). A plain node that
/// tries the same server (no key) never meets them.
#[test]
fn curve_gossip_across_subnets() {
    let Some(mut lab) = Lab::new("curvegossip") else {
        return;
    };
    lab.numbered_lan("lan1", 194, &["a"]);
    lab.numbered_lan("lan2", 195, &["b", "p"]);
    lab.router("r", &[("lan1", "10.99.194.1"), ("lan2", "10.99.195.1")]);
    let scratch = Scratch::new("curve_gossip_across_subnets");
    let server_cert = keygen_ours(&scratch.path("server.cert"));
    let a_cert = keygen_ours(&scratch.path("a.cert"));
    let b_cert = keygen_ours(&scratch.path("b.cert"));
    let allow = allow_dir(&scratch, "allow", &[&a_cert, &b_cert]);
    let _server = gossip_server(
        &lab,
        "r",
        &["--bind", "tcp://*:31337", "--curve-cert", s(&server_cert.secret)],
    );
    let capture = Capture::start(&lab, "b", "lan2", &scratch.path("b.pcap"));
    // HOST:PORT|KEY: the server's key makes the link a CURVE one.
    let server = format!("10.99.194.1:31337|{}", server_cert.key);
    let gossip = |cert: &Cert| -> Vec<String> {
        [
            "--no-beacon",
            "-g",
            &server,
            "--curve-cert",
            s(&cert.secret),
            "--curve-allow",
            s(&allow),
        ]
        .iter()
        .map(|a| a.to_string())
        .collect()
    };
    let a_args = gossip(&a_cert);
    let b_args = gossip(&b_cert);
    let mut a = JsonPeer::spawn(&lab, "a", "lan1", "secure-a", &refs(&a_args));
    let mut b = JsonPeer::spawn(&lab, "b", "lan2", "secure-b", &refs(&b_args));
    let plain = JsonPeer::spawn(
        &lab,
        "p",
        "lan2",
        "plain",
        &["--no-beacon", "-g", "10.99.195.1:31337"],
    );
    meet_with_keys(&mut a, &a_cert.key, &mut b, &b_cert.key);
    talk_both_ways(&mut a, &mut b, "chat", "across");
    thread::sleep(Duration::from_secs(1));
    let pcap = capture.stop();
    assert!(
        pcap.tcp_payload_bytes() > 500,
        "the capture on b holds {} bytes of TCP payload: it saw no traffic",
        pcap.tcp_payload_bytes()
    );
    for clear in ["tcp://10.99.", "across: shout", "secure-a", "secure-b"] {
        assert!(
            !pcap.contains(clear.as_bytes()) && !pcap.payloads_contain(clear.as_bytes()),
            "the capture on b holds {clear:?} in the clear"
        );
    }
    for secure in [&a, &b] {
        assert_eq!(
            plain.count(about("ENTER", secure)),
            0,
            "the plain node met {} through the CURVE gossip server\n{}",
            secure.name,
            lab.report()
        );
    }
    lab.show();
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}
