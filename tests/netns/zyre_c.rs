//! Live interoperability with Zyre 2.0.1, the C reference, on a simulated
//! LAN: our `zre --json` and a Zyre peer driven by `tests/interop/zyre_peer.c`
//! (the same JSON-lines contract), each in a network namespace of its own.
//!
//! Needs root and a Zyre 2.0.1 build (`refpeers::zyre_prefix()`, made by
//! `.ci/run`); without Zyre a test fails with the install hint, unless
//! `ZRE_SKIP_INTEROP=1`. The driver is compiled with `cc` once per run.
//!
//! Each test has LANs of its own (10.99.110.0/24 to 10.99.119.0/24) and
//! short Zyre timeouts where expiry is the point, so the whole file runs in
//! well under a minute with its tests in parallel.

use crate::support::events::{about, expect, header, in_group, meet, message};
use crate::support::exchange::{
    endpoint_host, exchange_messages, exchange_multi_frame, hex, leave_and_rejoin,
};
use crate::support::netns::{Event, Json, JsonPeer, Lab, WAIT};
use crate::support::peers::{live_lab, ours, zyre};
use crate::support::refpeers::Family;
use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

// ---- peers ---------------------------------------------------------------

/// A lab for a test that needs Zyre: `None` to skip (no root outside CI,
/// or Zyre missing with `ZRE_SKIP_INTEROP=1`); a missing Zyre otherwise
/// fails the test with the install hint.
fn lab(test: &str, tag: &str) -> Option<Lab> {
    live_lab(test, tag, &[Family::ZyreC])
}

// ---- events --------------------------------------------------------------
/// Neither has seen the other EXIT, and each saw the other ENTER once.
fn still_one_peer(a: &JsonPeer, b: &JsonPeer, lab: &Lab) {
    for (who, other) in [(a, b), (b, a)] {
        assert_eq!(
            who.count(about("ENTER", other)),
            1,
            "{}: ENTER of {} more than once\n{}",
            who.name,
            other.name,
            lab.report()
        );
        assert_eq!(
            who.count(about("EXIT", other)),
            0,
            "{}: EXIT of {}\n{}",
            who.name,
            other.name,
            lab.report()
        );
    }
}

/// `f(a, b)`, then `f(b, a)`.
fn both_ways(a: &mut JsonPeer, b: &mut JsonPeer, mut f: impl FnMut(&mut JsonPeer, &mut JsonPeer)) {
    f(a, b);
    f(b, a);
}

// ---- the everyday exchange, both ways ------------------------------------

/// `from` (in group chat) sends SHOUT and WHISPER to `to`: UTF-8 text and
/// binary, then a multi-frame message each way of sending.
fn exchange_all(from: &mut JsonPeer, to: &mut JsonPeer) {
    exchange_messages(from, to);
    exchange_multi_frame(from, to);
}

/// ENTER (name, headers, endpoint), JOIN, SHOUT and WHISPER with UTF-8,
/// binary and multi-frame content, LEAVE and re-JOIN, all both ways; then
/// EXIT at once when either side stops cleanly (Zyre says so with a port-0
/// beacon, we with GOODBYE and a port-0 beacon).
#[test]
fn zyre_c_talks_both_ways() {
    let Some(mut lab) = lab("zyre_c_talks_both_ways", "zyretalk") else {
        return;
    };
    lab.numbered_lan("lan", 110, &["a", "b"]);
    // Long timeouts on both sides: an EXIT within the wait can only come
    // from the other's goodbye.
    let mut ours = ours(
        &lab,
        "a",
        "lan",
        "öurs-✓",
        &[
            "--header",
            "X-OURS=ÿes ✓",
            "--header",
            "X-EMPTY=",
            "--evasive",
            "120",
            "--expired",
            "300",
        ],
    );
    let long_expiry = ["--expired", "300000"];
    let mut extra = vec!["--header", "X-THEIRS=théirs"];
    extra.extend_from_slice(&long_expiry);
    let mut theirs = zyre(&lab, "b", "lan", "zyré-c", &extra);

    let enter = expect(&mut ours, "ENTER of Zyre", about("ENTER", &theirs), WAIT);
    assert_eq!(enter.name(), "zyré-c", "{enter}");
    assert_eq!(header(&enter, "X-THEIRS"), Some("théirs"), "{enter}");
    assert_eq!(enter.str("endpoint"), Some(theirs.endpoint.as_str()), "{enter}");
    assert_eq!(endpoint_host(&theirs.endpoint), lab.addr("b", "lan"), "{enter}");
    let enter = expect(&mut theirs, "ENTER of ours", about("ENTER", &ours), WAIT);
    assert_eq!(enter.name(), "öurs-✓", "{enter}");
    assert_eq!(header(&enter, "X-OURS"), Some("ÿes ✓"), "{enter}");
    assert_eq!(header(&enter, "X-EMPTY"), Some(""), "{enter}");
    assert_eq!(enter.str("endpoint"), Some(ours.endpoint.as_str()), "{enter}");

    ours.send_line("/join chat");
    theirs.send_line("/join chat");
    expect(
        &mut theirs,
        "JOIN chat of ours",
        in_group("JOIN", &ours, "chat"),
        WAIT,
    );
    expect(
        &mut ours,
        "JOIN chat of Zyre",
        in_group("JOIN", &theirs, "chat"),
        WAIT,
    );

    exchange_all(&mut ours, &mut theirs);
    exchange_all(&mut theirs, &mut ours);
    leave_and_rejoin(&mut ours, &mut theirs);
    leave_and_rejoin(&mut theirs, &mut ours);
    still_one_peer(&ours, &theirs, &lab);

    // Zyre stops cleanly: EXIT at once (our evasive timeout is 120 s).
    let status = theirs.quit(WAIT);
    assert!(status.success(), "Zyre ended with {status}\n{}", theirs.report());
    expect(
        &mut ours,
        "EXIT of Zyre after its clean stop",
        about("EXIT", &theirs),
        WAIT,
    );

    // We stop cleanly: EXIT at once (Zyre's expired timeout is 300 s).
    let mut theirs = zyre(&lab, "b", "lan", "second", &long_expiry);
    meet(&mut ours, &mut theirs);
    let status = ours.quit(WAIT);
    assert!(status.success(), "ours ended with {status}\n{}", ours.report());
    expect(
        &mut theirs,
        "EXIT of ours after our clean stop",
        about("EXIT", &ours),
        WAIT,
    );
    lab.show();
}

// ---- liveness --------------------------------------------------------------

/// On three LANs at once:
/// - lan1: our node is killed with SIGKILL: Zyre reports EXIT once its
///   expired timeout (3 s) has passed.
/// - lan2: beacons are blocked on both hosts for 10 s, longer than either
///   expired timeout; our evasive timeout (1 s) is the shorter, so our
///   PINGs and Zyre's PING-OKs keep both sides alive. Then Zyre is stopped
///   with SIGSTOP: we report EVASIVE, then EXIT at our expired timeout.
/// - lan3: the same block, but Zyre's evasive timeout (1 s) is the
///   shorter: its PINGs and our PING-OKs keep both alive (we never find
///   Zyre evasive).
#[test]
fn zyre_c_liveness() {
    let Some(mut lab) = lab("zyre_c_liveness", "zyrelive") else {
        return;
    };
    for i in 0..3u8 {
        lab.numbered_lan(
            &format!("lan{}", i + 1),
            111 + i,
            &[&format!("a{}", i + 1), &format!("b{}", i + 1)],
        );
    }
    let block = Duration::from_secs(10);
    let mut a1 = ours(&lab, "a1", "lan1", "ours1", &[]);
    let mut b1 = zyre(
        &lab,
        "b1",
        "lan1",
        "zyre1",
        &["--evasive", "1000", "--expired", "3000"],
    );
    let mut a2 = ours(&lab, "a2", "lan2", "ours2", &["--evasive", "1", "--expired", "3"]);
    let mut b2 = zyre(
        &lab,
        "b2",
        "lan2",
        "zyre2",
        &["--evasive", "5000", "--expired", "8000"],
    );
    let mut a3 = ours(&lab, "a3", "lan3", "ours3", &["--evasive", "4", "--expired", "6"]);
    let mut b3 = zyre(
        &lab,
        "b3",
        "lan3",
        "zyre3",
        &["--evasive", "1000", "--expired", "3000"],
    );
    for (o, t) in [(&mut a1, &mut b1), (&mut a2, &mut b2), (&mut a3, &mut b3)] {
        meet(o, t);
    }

    let start = Instant::now();
    a1.child().kill();
    for host in ["a2", "b2", "a3", "b3"] {
        lab.block_udp_port(host, 5670);
    }
    expect(
        &mut b1,
        "EXIT of ours after SIGKILL",
        about("EXIT", &a1),
        Duration::from_secs(60),
    );

    let end = start + block;
    if let Some(left) = end.checked_duration_since(Instant::now()) {
        thread::sleep(left);
    }
    for (o, t) in [(&a2, &b2), (&a3, &b3)] {
        still_one_peer(o, t, &lab);
    }
    expect(
        &mut a2,
        "EVASIVE of Zyre (else its PINGs were not what kept the link)",
        about("EVASIVE", &b2),
        WAIT,
    );
    assert_eq!(
        a3.count(about("EVASIVE", &b3)),
        0,
        "ours3 found Zyre evasive: Zyre did not PING us\n{}",
        lab.report()
    );
    expect(
        &mut b3,
        "EVASIVE of ours (else its PINGs were not what kept the link)",
        about("EVASIVE", &a3),
        WAIT,
    );
    for host in ["a2", "b2", "a3", "b3"] {
        lab.unblock_all(host);
    }
    for (o, t) in [(&mut a2, &mut b2), (&mut a3, &mut b3)] {
        let (o_id, t_id) = (o.uuid.clone(), t.uuid.clone());
        o.send_line(&format!("/whisper {t_id} still here"));
        t.send_line(&format!("/whisper {o_id} still here too"));
        expect(
            t,
            "WHISPER after the block",
            message("WHISPER", o, &["still here"]),
            WAIT,
        );
        expect(
            o,
            "WHISPER after the block",
            message("WHISPER", t, &["still here too"]),
            WAIT,
        );
    }

    // Zyre is stopped (SIGSTOP): EVASIVE (our evasive timeout passed), then
    // EXIT at expired. (Killed, it would be EXIT at once: fast EXIT, see
    // fast_exit_live_netns.rs.)
    let evasive_before = a2.count(about("EVASIVE", &b2));
    b2.child().signal("STOP");
    expect(&mut a2, "EXIT of Zyre after SIGSTOP", about("EXIT", &b2), WAIT);
    assert!(
        a2.count(about("EVASIVE", &b2)) > evasive_before,
        "EXIT of Zyre without EVASIVE first\n{}",
        a2.report()
    );
    lab.show();
}

// ---- groups ----------------------------------------------------------------

/// Two of ours and two Zyres in one group (every three of them a
/// three-way group with Zyre in it): each sees the three others JOIN, each
/// one's SHOUT reaches the three others; after a Zyre LEAVEs, a SHOUT
/// reaches only those still in the group.
#[test]
fn zyre_c_mixed_group() {
    let Some(mut lab) = lab("zyre_c_mixed_group", "zyregroup") else {
        return;
    };
    lab.numbered_lan("lan", 114, &["a", "b", "y", "z"]);
    let mut peers = [
        ours(&lab, "a", "lan", "ours-a", &[]),
        ours(&lab, "b", "lan", "ours-b", &[]),
        zyre(&lab, "y", "lan", "zyre-y", &[]),
        zyre(&lab, "z", "lan", "zyre-z", &[]),
    ];
    for peer in peers.iter_mut() {
        peer.send_line("/join all");
    }
    let n = peers.len();
    for i in 0..n {
        for j in 0..n {
            if i != j {
                let joined = in_group("JOIN", &peers[j], "all");
                expect(&mut peers[i], "JOIN all", joined, WAIT);
            }
        }
    }
    for peer in peers.iter_mut() {
        let text = format!("/shout all from {} ✓", peer.name);
        peer.send_line(&text);
    }
    for i in 0..n {
        for j in 0..n {
            if i != j {
                let text = format!("from {} ✓", peers[j].name);
                let heard = message("SHOUT", &peers[j], &[&text]);
                expect(&mut peers[i], "SHOUT to all", heard, WAIT);
            }
        }
    }
    // zyre-z leaves; then every one shouts again: zyre-z hears nobody's
    // second SHOUT (checked after the others got theirs).
    peers[3].send_line("/leave all");
    for i in 0..3 {
        let left = in_group("LEAVE", &peers[3], "all");
        expect(&mut peers[i], "LEAVE all of zyre-z", left, WAIT);
    }
    for peer in peers.iter_mut().take(3) {
        let text = format!("/shout all again from {}", peer.name);
        peer.send_line(&text);
    }
    for i in 0..3 {
        for j in 0..3 {
            if i != j {
                let text = format!("again from {}", peers[j].name);
                let heard = message("SHOUT", &peers[j], &[&text]);
                expect(&mut peers[i], "second SHOUT to all", heard, WAIT);
            }
        }
    }
    let stray = peers[3].count(|e| e.is("SHOUT") && e.content().iter().any(|c| c.starts_with("again")));
    assert_eq!(
        stray,
        0,
        "zyre-z heard SHOUTs after its LEAVE\n{}",
        peers[3].report()
    );
    lab.show();
}

// ---- limits of the strings and frames --------------------------------------

/// 60 small headers and a 20 001-byte one (61 in all) each way; group names
/// of 200 and 255 bytes (the most a ZRE string holds) joined and shouted
/// to each way.
#[test]
fn zyre_c_many_headers_and_long_group_names() {
    let Some(mut lab) = lab("zyre_c_many_headers_and_long_group_names", "zyrelimits") else {
        return;
    };
    lab.numbered_lan("lan", 115, &["a", "b"]);
    // 20 001 bytes, UTF-8 all along.
    let big = format!("x{}", "é".repeat(10_000));
    assert_eq!(big.len(), 20_001);
    let mut headers: Vec<String> = (0..60).map(|i| format!("X-H{i:02}=value {i} ✓")).collect();
    headers.push(format!("X-BIG={big}"));
    let mut args: Vec<&str> = Vec::new();
    for h in &headers {
        args.extend_from_slice(&["--header", h]);
    }
    let mut ours = ours(&lab, "a", "lan", "ours", &args);
    let mut theirs = zyre(&lab, "b", "lan", "zyre", &args);
    both_ways(&mut ours, &mut theirs, |who, other| {
        let enter = expect(who, "ENTER with 61 headers", about("ENTER", other), WAIT);
        let Some(Json::Obj(fields)) = enter.json.get("headers") else {
            panic!("no headers in {}", &enter.raw[..enter.raw.len().min(400)]);
        };
        assert_eq!(fields.len(), 61, "{} got {} headers", who.name, fields.len());
        for i in 0..60 {
            let value = format!("value {i} ✓");
            assert_eq!(header(&enter, &format!("X-H{i:02}")), Some(value.as_str()));
        }
        assert!(
            header(&enter, "X-BIG") == Some(big.as_str()),
            "{} got a different X-BIG",
            who.name
        );
    });

    let g200 = format!("g{}", "2".repeat(199));
    let g255 = format!("é{}", "5".repeat(253));
    assert_eq!((g200.len(), g255.len()), (200, 255));
    for group in [&g200, &g255] {
        ours.send_line(&format!("/join {group}"));
        theirs.send_line(&format!("/join {group}"));
    }
    for group in [&g200, &g255] {
        expect(
            &mut ours,
            "JOIN of a long group",
            in_group("JOIN", &theirs, group),
            WAIT,
        );
        expect(
            &mut theirs,
            "JOIN of a long group",
            in_group("JOIN", &ours, group),
            WAIT,
        );
        ours.send_line(&format!("/shout {group} ours to {}", group.len()));
        theirs.send_line(&format!("/shout {group} zyre to {}", group.len()));
    }
    for group in [&g200, &g255] {
        let text = format!("zyre to {}", group.len());
        let shout = expect(
            &mut ours,
            "SHOUT to a long group",
            message("SHOUT", &theirs, &[&text]),
            WAIT,
        );
        assert_eq!(shout.group(), group.as_str());
        let text = format!("ours to {}", group.len());
        let shout = expect(
            &mut theirs,
            "SHOUT to a long group",
            message("SHOUT", &ours, &[&text]),
            WAIT,
        );
        assert_eq!(shout.group(), group.as_str());
    }
    still_one_peer(&ours, &theirs, &lab);
    lab.show();
}

/// 4- and 5-frame messages with empty frames and 70 000-byte frames (one
/// binary, one UTF-8), SHOUT and WHISPER, each way, in order.
#[test]
fn zyre_c_large_multi_frame_messages() {
    let Some(mut lab) = lab("zyre_c_large_multi_frame_messages", "zyreframes") else {
        return;
    };
    lab.numbered_lan("lan", 116, &["a", "b"]);
    let mut ours = ours(&lab, "a", "lan", "ours", &[]);
    let mut theirs = zyre(&lab, "b", "lan", "zyre", &[]);
    meet(&mut ours, &mut theirs);
    ours.send_line("/join big");
    theirs.send_line("/join big");
    expect(&mut ours, "JOIN big", in_group("JOIN", &theirs, "big"), WAIT);
    expect(&mut theirs, "JOIN big", in_group("JOIN", &ours, "big"), WAIT);

    let binary: Vec<u8> = (0..70_000u32).map(|i| (i * 7 + 0x80) as u8).collect();
    assert!(std::str::from_utf8(&binary).is_err());
    let text = "ü".repeat(35_000);
    // (words to send, what arrives)
    let four = (
        format!("- {} - {}", hex(&binary), hex("end".as_bytes())),
        vec![
            String::new(),
            format!("hex:{}", hex(&binary)),
            String::new(),
            "end".into(),
        ],
    );
    let five = (
        format!("{} - {} - -", hex(text.as_bytes()), hex(&binary)),
        vec![
            text.clone(),
            String::new(),
            format!("hex:{}", hex(&binary)),
            String::new(),
            String::new(),
        ],
    );
    both_ways(&mut ours, &mut theirs, |from, to| {
        let to_id = to.uuid.clone();
        for (words, _) in [&four, &five] {
            from.send_line(&format!("/shoutx big {words}"));
            from.send_line(&format!("/whisperx {to_id} {words}"));
        }
        from.send_line(&format!("/whisper {to_id} after the big ones"));
        expect(
            to,
            "WHISPER after the big ones",
            message("WHISPER", from, &["after the big ones"]),
            WAIT,
        );
        let uuid = from.uuid.clone();
        let got: Vec<Vec<String>> = to
            .events()
            .iter()
            .filter(|e| (e.is("SHOUT") || e.is("WHISPER")) && e.peer() == uuid)
            .map(Event::content)
            .collect();
        let want = vec![four.1.clone(), four.1.clone(), five.1.clone(), five.1.clone()];
        let sizes = |v: &[Vec<String>]| -> Vec<Vec<usize>> {
            v.iter().map(|m| m.iter().map(String::len).collect()).collect()
        };
        assert!(
            got.len() == 5 && got[..4] == want[..],
            "{} got frames of sizes {:?}, wanted {:?} then the WHISPER",
            to.name,
            sizes(&got),
            sizes(&want)
        );
    });
    still_one_peer(&ours, &theirs, &lab);
    lab.show();
}

// ---- beacons and endpoints -------------------------------------------------

/// Zyre beaconing every 100 ms (and we too): each sees the other ENTER once
/// and stays one peer over 40 beacons each way, and messages flow.
#[test]
fn zyre_c_fast_beacons() {
    let Some(mut lab) = lab("zyre_c_fast_beacons", "zyrefast") else {
        return;
    };
    lab.numbered_lan("lan", 117, &["a", "b"]);
    let mut ours = ours(&lab, "a", "lan", "ours", &[]);
    let mut theirs = zyre(&lab, "b", "lan", "zyre", &["--beacon-interval", "100"]);
    meet(&mut ours, &mut theirs);
    let (ours_id, theirs_id) = (ours.uuid.clone(), theirs.uuid.clone());
    thread::sleep(Duration::from_secs(4));
    ours.send_line(&format!("/whisper {theirs_id} after 4 s of fast beacons"));
    theirs.send_line(&format!("/whisper {ours_id} after 4 s of fast beacons too"));
    expect(
        &mut theirs,
        "WHISPER",
        message("WHISPER", &ours, &["after 4 s of fast beacons"]),
        WAIT,
    );
    expect(
        &mut ours,
        "WHISPER",
        message("WHISPER", &theirs, &["after 4 s of fast beacons too"]),
        WAIT,
    );
    still_one_peer(&ours, &theirs, &lab);
    lab.show();
}

/// A peer killed with SIGKILL and started again with a new UUID on the same
/// endpoint, both ways. When Zyre restarts, we report ENTER of the new UUID
/// and EXIT of the old at once (our expired timeout is 300 s). When we
/// restart, Zyre reports ENTER of the new UUID at once and talks to it,
/// but of the old one it only drops the connection: its EXIT comes at
/// Zyre's expired timeout (5 s here), with EVASIVE and SILENT for it
/// until then (Zyre 2.0.1's `zyre_node_purge_peer` disconnects and keeps
/// the peer).
#[test]
fn zyre_c_restart_with_new_uuid_on_same_endpoint() {
    let Some(mut lab) = lab("zyre_c_restart_with_new_uuid_on_same_endpoint", "zyrerestart") else {
        return;
    };
    lab.numbered_lan("lan", 118, &["a", "b"]);
    let zyre_args = ["--port", "47017", "--evasive", "2000", "--expired", "5000"];
    let ours_args = ["--port-range", "41077-41077", "--expired", "300"];

    // Zyre restarts.
    let mut ours = ours(&lab, "a", "lan", "ours", &ours_args);
    let mut old = zyre(&lab, "b", "lan", "zyre", &zyre_args);
    meet(&mut ours, &mut old);
    old.child().kill();
    let mut new = zyre(&lab, "b", "lan", "zyre", &zyre_args);
    assert_ne!(new.uuid, old.uuid);
    assert_eq!(new.endpoint, old.endpoint);
    let enter = expect(
        &mut ours,
        "ENTER of the restarted Zyre",
        about("ENTER", &new),
        WAIT,
    );
    assert_eq!(enter.str("endpoint"), Some(old.endpoint.as_str()), "{enter}");
    expect(&mut ours, "EXIT of the old Zyre", about("EXIT", &old), WAIT);
    expect(&mut new, "ENTER of ours", about("ENTER", &ours), WAIT);
    talk(&mut ours, &mut new, "after Zyre restarted");

    // We restart.
    let mut old_ours = ours;
    old_ours.child().kill();
    let mut ours = self::ours(&lab, "a", "lan", "ours", &ours_args);
    assert_ne!(ours.uuid, old_ours.uuid);
    assert_eq!(ours.endpoint, old_ours.endpoint);
    let enter = expect(
        &mut new,
        "ENTER of our restarted node",
        about("ENTER", &ours),
        WAIT,
    );
    assert_eq!(enter.str("endpoint"), Some(ours.endpoint.as_str()), "{enter}");
    expect(&mut ours, "ENTER of Zyre", about("ENTER", &new), WAIT);
    talk(&mut ours, &mut new, "after we restarted");
    expect(
        &mut new,
        "EXIT of our old node at expiry",
        about("EXIT", &old_ours),
        WAIT,
    );
    // The new one stays.
    talk(&mut ours, &mut new, "after the old one's expiry");
    still_one_peer(&ours, &new, &lab);
    lab.show();
}

/// A WHISPER each way arrives (`when` makes the text unique).
fn talk(a: &mut JsonPeer, b: &mut JsonPeer, when: &str) {
    let (a_id, b_id) = (a.uuid.clone(), b.uuid.clone());
    let to_b = format!("hello {b_id} {when}");
    let to_a = format!("hello {a_id} {when}");
    a.send_line(&format!("/whisper {b_id} {to_b}"));
    b.send_line(&format!("/whisper {a_id} {to_a}"));
    expect(b, "WHISPER", message("WHISPER", a, &[&to_b]), WAIT);
    expect(a, "WHISPER", message("WHISPER", b, &[&to_a]), WAIT);
}

// ---- the sequence wrap -----------------------------------------------------

/// How many messages each side sends: past 65535 → 0 twice.
const FLOOD: usize = 140_000;

/// 140 000 WHISPERs each way at once, across the 65535 → 0 sequence wrap
/// (twice): all arrive, in order, and neither side drops or resets the
/// other; a WHISPER after the flood still arrives.
#[test]
fn zyre_c_sequence_wraps() {
    let Some(mut lab) = lab("zyre_c_sequence_wraps", "zyrewrap") else {
        return;
    };
    lab.numbered_lan("lan", 119, &["a", "b"]);
    // Debug logging of 140 000 messages would be most of the work.
    let mut ours = JsonPeer::spawn_with_env(
        &lab,
        "a",
        "lan",
        "ours",
        &["--beacon-interval", "100ms"],
        &[("RUST_LOG", "warn")],
    );
    let mut theirs = zyre(&lab, "b", "lan", "zyre", &[]);
    meet(&mut ours, &mut theirs);
    let (ours_id, theirs_id) = (ours.uuid.clone(), theirs.uuid.clone());
    let writers: Vec<_> = [(&mut ours, theirs_id.clone()), (&mut theirs, ours_id.clone())]
        .into_iter()
        .map(|(from, to)| {
            let mut stdin = from.child().take_stdin().expect("stdin");
            thread::spawn(move || {
                let mut text = String::with_capacity(FLOOD * 48);
                for i in 0..FLOOD {
                    text += &format!("/whisper {to} {i}\n");
                }
                text += &format!("/whisper {to} done\n");
                stdin.write_all(text.as_bytes()).map(|_| stdin)
            })
        })
        .collect();
    // Waits for the last message before joining the writers: a peer that
    // stops reading its commands fails the test instead of hanging it.
    let flood_wait = Duration::from_secs(300);
    expect(
        &mut ours,
        "the last WHISPER",
        message("WHISPER", &theirs, &["done"]),
        flood_wait,
    );
    expect(
        &mut theirs,
        "the last WHISPER",
        message("WHISPER", &ours, &["done"]),
        flood_wait,
    );
    let mut stdins = Vec::new();
    for writer in writers {
        stdins.push(writer.join().expect("writer").expect("write the flood"));
    }
    for (to, from) in [(&ours, &theirs), (&theirs, &ours)] {
        let uuid = from.uuid.clone();
        let mut next = 0usize;
        for event in to.events() {
            if !(event.is("WHISPER") && event.peer() == uuid) {
                continue;
            }
            let content = event.content();
            if content == ["done"] {
                break;
            }
            assert_eq!(
                content,
                [next.to_string()],
                "{} got WHISPER {content:?} where {next} was due",
                to.name
            );
            next += 1;
        }
        assert_eq!(next, FLOOD, "{} got {next} of {FLOOD} WHISPERs", to.name);
    }
    still_one_peer(&ours, &theirs, &lab);
    lab.show();
    drop(stdins);
}

// ---- a Zyre application that sends the moment it meets us ------------------

/// How many WHISPERs Zyre sends at its ENTER of us.
const BURST: usize = 5_000;

/// A Zyre application that whispers the moment it sees us ENTER (as
/// Zyre's perf_remote greets a peer): Zyre ENTERs us on our HELLO, while
/// we ENTER it only on its PING-OK, so much of the burst reaches us
/// before Zyre has proven our link to it. All of it is delivered, after
/// our ENTER of Zyre, in order, and neither side sees the other EXIT.
#[test]
fn zyre_c_whispers_sent_at_its_enter_all_arrive() {
    let Some(mut lab) = lab("zyre_c_whispers_sent_at_its_enter_all_arrive", "zyreburst") else {
        return;
    };
    lab.numbered_lan("lan", 230, &["a", "b"]);
    // Debug logging of every held and delivered message would be most of
    // the work.
    let mut ours = JsonPeer::spawn_with_env(&lab, "a", "lan", "ours", &[], &[("RUST_LOG", "warn")]);
    let burst = BURST.to_string();
    let mut theirs = zyre(&lab, "b", "lan", "zyre", &["--burst-at-enter", &burst]);
    meet(&mut ours, &mut theirs);
    let last = format!("burst {}", BURST - 1);
    expect(
        &mut ours,
        "the burst's last WHISPER",
        message("WHISPER", &theirs, &[last.as_str()]),
        Duration::from_secs(60),
    );
    let uuid = theirs.uuid.clone();
    let mut entered = false;
    let mut next = 0usize;
    for event in ours.events() {
        if event.peer() != uuid {
            continue;
        }
        if event.is("ENTER") {
            entered = true;
        } else if event.is("WHISPER") {
            assert!(entered, "a WHISPER of Zyre before its ENTER: {event}");
            assert_eq!(
                event.content(),
                [format!("burst {next}")],
                "WHISPER {next} was due\n{}",
                lab.report()
            );
            next += 1;
        }
    }
    assert_eq!(
        next,
        BURST,
        "ours got {next} of {BURST} WHISPERs\n{}",
        lab.report()
    );
    still_one_peer(&ours, &theirs, &lab);
    lab.show();
}
