//! Live CURVE interoperability with Zyre 2.0.1 (issue 19): Zyre in CURVE
//! mode (`zyre_set_zcert`, DRAFT API; driven by `tests/interop/zyre_peer.c`)
//! and our `zre --json --curve-cert`, on namespace LANs and across two
//! subnets by gossip.
//!
//! Keys come from either side: `zre --curve-keygen` and czmq's
//! `zcert_new`/`zcert_save` (the driver's `--curve-keygen`), each used by
//! the other implementation too, so both read the other's certificate
//! files.
//!
//! Gossip: Debian's czmq 4.2.1 is built without its DRAFT API, and only
//! the DRAFT zgossip speaks CURVE (`SET PUBLICKEY`/`SET SECRETKEY`, the
//! server key of `CONNECT`): there `zyre_gossip_connect_curve` connects in
//! the clear. So Zyre's gossip link is plain here (czmq's server on the
//! router), while the tuples are CURVE ones (`endpoint|publickey`) and the
//! links between the nodes are CURVE. The CURVE gossip link itself (our
//! `zgossip_server --curve-cert`) is tested between our nodes in
//! `curve_netns.rs`.
//!
//! Needs root, a Zyre build and libczmq-dev; without them a test fails with
//! the install hint, unless `ZRE_SKIP_INTEROP=1`. LANs 10.99.180.0/24 to
//! 10.99.185.0/24.

use crate::support::curve::{Capture, Cert, Scratch, allow_dir, keygen_ours, s};
use crate::support::events::{about, carrying, expect, header, in_group, meet, talk_both_ways};
use crate::support::netns::{JsonPeer, WAIT};
use crate::support::peers::{czmq_server, delivered, live_lab, ours, zyre};
use crate::support::refpeers::Family;
use std::thread;
use std::time::Duration;

/// The public key a Zyre peer in CURVE mode reported in its READY.
fn zyre_key(peer: &mut JsonPeer) -> String {
    let what = format!("READY with a publickey (seen by {})", peer.name);
    let ready = peer.wait_for(&what, |e| e.is("READY"), WAIT);
    let key = ready
        .str("publickey")
        .unwrap_or_else(|| panic!("no publickey in {ready}"));
    assert_eq!(key.len(), 40, "{ready}");
    key.to_owned()
}

/// Each saw the other ENTER with its CURVE key as `X-PUBLICKEY` (Zyre in
/// CURVE mode ignores a HELLO without it).
fn meet_with_keys(a: &mut JsonPeer, a_key: &str, b: &mut JsonPeer, b_key: &str) {
    let (of_b, of_a) = meet(a, b);
    assert_eq!(header(&of_b, "X-PUBLICKEY"), Some(b_key), "{} saw {of_b}", a.name);
    assert_eq!(header(&of_a, "X-PUBLICKEY"), Some(a_key), "{} saw {of_a}", b.name);
}

/// Proves the driver: two Zyre nodes in CURVE mode (keys from czmq's
/// `zcert_save`, one node loading its certificate from the files) meet
/// with each other's key as `X-PUBLICKEY` and talk both ways, and a
/// capture of one's traffic holds none of it in the clear; a plain Zyre
/// node on the same LAN meets neither and hears nothing.
#[test]
fn zyre_c_curve_zyre_with_zyre() {
    let Some(mut lab) = live_lab("zyre_c_curve_zyre_with_zyre", "zcurvezz", &[Family::ZyreC]) else {
        return;
    };
    lab.numbered_lan("lan", 180, &["a", "b", "p"]);
    let scratch = Scratch::new("zyre_c_curve_zyre_with_zyre");
    let a_file = scratch.path("zyre-a.cert");
    let capture = Capture::start(&lab, "a", "lan", &scratch.path("a.pcap"));
    let mut a = zyre(&lab, "a", "lan", "zyre-a", &["--curve-keygen", s(&a_file)]);
    let a_key = zyre_key(&mut a);
    let a_cert = Cert::at(&a_file);
    assert_eq!(a_cert.key, a_key, "the driver saved a different key than it uses");
    let b_cert = {
        // czmq writes b's certificate in a node that stops at once; b
        // loads it from its files.
        let b_file = scratch.path("zyre-b.cert");
        let mut maker = zyre(&lab, "p", "lan", "keymaker", &["--curve-keygen", s(&b_file)]);
        let status = maker.quit(WAIT);
        assert!(status.success(), "{}", maker.report());
        Cert::at(&b_file)
    };
    let mut b = zyre(&lab, "b", "lan", "zyre-b", &["--curve-cert", s(&b_cert.public)]);
    assert_eq!(zyre_key(&mut b), b_cert.key);
    let mut plain = zyre(&lab, "p", "lan", "zyre-plain", &[]);

    meet_with_keys(&mut a, &a_key, &mut b, &b_cert.key);
    talk_both_ways(&mut a, &mut b, "chat", "zyre curve");
    plain.send_line("/join chat");
    a.send_line("/shout chat after the plain one joined");
    expect(
        &mut b,
        "SHOUT after the plain one joined",
        carrying("after the plain one joined"),
        WAIT,
    );
    thread::sleep(Duration::from_secs(2));
    for secure in [&a, &b] {
        assert_eq!(
            plain.count(about("ENTER", secure)),
            0,
            "the plain Zyre met {}\n{}",
            secure.name,
            lab.report()
        );
        assert_eq!(
            secure.count(about("ENTER", &plain)),
            0,
            "{} met the plain Zyre\n{}",
            secure.name,
            lab.report()
        );
    }
    assert_eq!(plain.count(carrying("shout from")), 0, "{}", plain.report());
    let pcap = capture.stop();
    assert!(
        pcap.tcp_payload_bytes() > 500,
        "the capture on a holds {} bytes of TCP payload: it saw no traffic",
        pcap.tcp_payload_bytes()
    );
    for clear in ["shout from", "whisper from", "chat", "zyre-a"] {
        assert!(
            !pcap.contains(clear.as_bytes()) && !pcap.payloads_contain(clear.as_bytes()),
            "the capture on a holds {clear:?} in the clear"
        );
    }
    lab.show();
}

/// Ours and Zyre in CURVE mode on two LANs, the keys crossing over: on
/// lan1 ours uses a key from `zre --curve-keygen` and Zyre one from czmq's
/// `zcert_save`; on lan2 ours uses czmq's certificate and Zyre ours (and
/// ours there also has an allow-list holding Zyre's public certificate).
/// On each: ENTER both ways with the key as `X-PUBLICKEY`, JOIN, SHOUT and
/// WHISPER both ways.
#[test]
fn zyre_c_curve_talks_both_ways() {
    let Some(mut lab) = live_lab("zyre_c_curve_talks_both_ways", "zcurvetalk", &[Family::ZyreC]) else {
        return;
    };
    lab.numbered_lan("lan1", 181, &["a1", "z1"]);
    lab.numbered_lan("lan2", 182, &["a2", "z2"]);
    let scratch = Scratch::new("zyre_c_curve_talks_both_ways");
    let ours_cert = keygen_ours(&scratch.path("ours.cert"));
    let czmq_file = scratch.path("czmq.cert");
    let mut z1 = zyre(&lab, "z1", "lan1", "zyre-1", &["--curve-keygen", s(&czmq_file)]);
    let czmq_cert = Cert::at(&czmq_file);
    assert_eq!(zyre_key(&mut z1), czmq_cert.key);
    let mut a1 = ours(
        &lab,
        "a1",
        "lan1",
        "ours-1",
        &["--curve-cert", s(&ours_cert.secret)],
    );

    let allowed = allow_dir(&scratch, "allow2", &[&ours_cert]);
    let mut a2 = ours(
        &lab,
        "a2",
        "lan2",
        "ours-2",
        &["--curve-cert", s(&czmq_cert.secret), "--curve-allow", s(&allowed)],
    );
    let mut z2 = zyre(
        &lab,
        "z2",
        "lan2",
        "zyre-2",
        &["--curve-cert", s(&ours_cert.public)],
    );
    assert_eq!(zyre_key(&mut z2), ours_cert.key);

    meet_with_keys(&mut a1, &ours_cert.key, &mut z1, &czmq_cert.key);
    meet_with_keys(&mut a2, &czmq_cert.key, &mut z2, &ours_cert.key);
    talk_both_ways(&mut a1, &mut z1, "chat", "lan1");
    talk_both_ways(&mut a2, &mut z2, "chat", "lan2");
    for (o, z) in [(&a1, &z1), (&a2, &z2)] {
        assert_eq!(o.count(about("ENTER", z)), 1, "{}", o.report());
        assert_eq!(z.count(about("ENTER", o)), 1, "{}", z.report());
    }
    lab.show();
}

/// Our secure node's allow-list holds one Zyre node's key and not the
/// other's: the allowed Zyre meets ours and hears its SHOUTs; the other
/// Zyre (CURVE mode too, which meets the first Zyre: Zyre has no
/// allow-list) never sees an ENTER of ours nor hears its SHOUTs, and ours
/// sees no ENTER of it.
#[test]
fn zyre_c_curve_key_not_allowed_stays_out() {
    let Some(mut lab) = live_lab(
        "zyre_c_curve_key_not_allowed_stays_out",
        "zcurveallow",
        &[Family::ZyreC],
    ) else {
        return;
    };
    lab.numbered_lan("lan", 185, &["a", "z", "x"]);
    let scratch = Scratch::new("zyre_c_curve_key_not_allowed_stays_out");
    let ours_cert = keygen_ours(&scratch.path("ours.cert"));
    let z_cert = keygen_ours(&scratch.path("allowed-zyre.cert"));
    let allow = allow_dir(&scratch, "allow", &[&z_cert]);
    let mut a = ours(
        &lab,
        "a",
        "lan",
        "ours",
        &["--curve-cert", s(&ours_cert.secret), "--curve-allow", s(&allow)],
    );
    let mut z = zyre(
        &lab,
        "z",
        "lan",
        "zyre-allowed",
        &["--curve-cert", s(&z_cert.public)],
    );
    let x_file = scratch.path("other-zyre.cert");
    let mut x = zyre(&lab, "x", "lan", "zyre-other", &["--curve-keygen", s(&x_file)]);
    let x_key = zyre_key(&mut x);
    for peer in [&mut a, &mut z, &mut x] {
        peer.send_line("/join chat");
    }
    meet_with_keys(&mut a, &ours_cert.key, &mut z, &z_cert.key);
    meet_with_keys(&mut z, &z_cert.key, &mut x, &x_key);
    expect(
        &mut a,
        "JOIN chat of the allowed Zyre",
        in_group("JOIN", &z, "chat"),
        WAIT,
    );
    for round in 0..5 {
        a.send_line(&format!("/shout chat from ours, round {round}"));
        thread::sleep(Duration::from_millis(300));
    }
    expect(
        &mut z,
        "the last SHOUT of ours",
        carrying("from ours, round 4"),
        WAIT,
    );
    thread::sleep(Duration::from_secs(1));
    assert_eq!(
        x.count(about("ENTER", &a)),
        0,
        "the other Zyre saw ours ENTER\n{}",
        lab.report()
    );
    assert_eq!(
        x.count(carrying("from ours")),
        0,
        "the other Zyre heard ours\n{}",
        lab.report()
    );
    assert_eq!(
        a.count(about("ENTER", &x)),
        0,
        "ours let the other Zyre in\n{}",
        lab.report()
    );
    lab.show();
}

/// Zyre nodes in CURVE mode on lan1 and lan2 and ours on lan2, discovery
/// by gossip only through czmq's server on the router (see the module doc
/// for why that link is plain; the lan2 Zyre asks for CURVE with
/// `zyre_gossip_connect_curve`, which this czmq ignores): the server holds
/// `endpoint|publickey` for each, all three meet with their keys, and ours
/// talks both ways with the Zyre across the router over CURVE links.
#[test]
fn zyre_c_curve_gossip_across_subnets() {
    let Some(mut lab) = live_lab(
        "zyre_c_curve_gossip_across_subnets",
        "zcurvegossip",
        &[Family::ZyreC, Family::Czmq],
    ) else {
        return;
    };
    lab.numbered_lan("lan1", 183, &["y"]);
    lab.numbered_lan("lan2", 184, &["b", "z"]);
    lab.router("r", &[("lan1", "10.99.183.1"), ("lan2", "10.99.184.1")]);
    let server = czmq_server(&lab, "r", "lan1", &[]);
    let scratch = Scratch::new("zyre_c_curve_gossip_across_subnets");
    let ours_cert = keygen_ours(&scratch.path("ours.cert"));
    // A key for the server that it does not have: czmq's stable zgossip
    // never uses it.
    let unused_server_key = keygen_ours(&scratch.path("unused-server.cert")).key;
    let gossip = "tcp://10.99.183.1:31337";
    let y_file = scratch.path("zyre-y.cert");
    let z_file = scratch.path("zyre-z.cert");
    let mut y = zyre(
        &lab,
        "y",
        "lan1",
        "zyre-y",
        &["--gossip", gossip, "--curve-keygen", s(&y_file)],
    );
    let mut z = zyre(
        &lab,
        "z",
        "lan2",
        "zyre-z",
        &[
            "--gossip",
            gossip,
            "--gossip-key",
            &unused_server_key,
            "--curve-keygen",
            s(&z_file),
        ],
    );
    let (y_key, z_key) = (zyre_key(&mut y), zyre_key(&mut z));
    let mut b = JsonPeer::spawn(
        &lab,
        "b",
        "lan2",
        "ours-b",
        &[
            "--no-beacon",
            "-g",
            "10.99.183.1:31337",
            "--curve-cert",
            s(&ours_cert.secret),
        ],
    );
    meet_with_keys(&mut y, &y_key, &mut b, &ours_cert.key);
    meet_with_keys(&mut z, &z_key, &mut b, &ours_cert.key);
    meet_with_keys(&mut y, &y_key, &mut z, &z_key);
    for (peer, key) in [(&y, &y_key), (&z, &z_key), (&b, &ours_cert.key)] {
        let value = format!("{}|{key}", peer.endpoint);
        assert!(
            delivered(&server, &peer.uuid, &value),
            "czmq's server has no tuple `{} {value}`\n{}",
            peer.uuid,
            lab.report()
        );
    }
    talk_both_ways(&mut y, &mut b, "chat", "gossip");
    lab.show();
}
