//! Live interop with haskell-zre 0.1.5.2, the implementation whose README
//! this project started from: its `zre`, `zrecat`, `zretime` and
//! `zreworker` with ours on one simulated LAN (see `support/haskell.rs` for
//! how they are driven and what they print).
//!
//! haskell-zre beacons to multicast 225.25.25.25:5670 and listens on UDP
//! 5670 for any beacon; we broadcast, and also hear 225.25.25.25 on our
//! beacon port. So discovery runs both ways round: whoever hears the other
//! first connects and says HELLO, and the other connects back. These tests
//! check what that gives: ENTER both ways (also where it hears none of our
//! beacons), JOIN, LEAVE, SHOUT and WHISPER both ways, the tools against
//! each other, and liveness by PING alone. Its ZGossip dialect is a later
//! issue's tests.
//!
//! Every peer runs in a namespace of its own with a route for 224.0.0.0/4
//! (haskell-zre's beacon thread dies silently without one). Needs root and
//! haskell-zre built into the reference cache (`.ci/run` does it); without
//! it each test fails with an install hint, unless `ZRE_SKIP_INTEROP=1`.

use crate::support::exchange::UNICODE_TEXT;
use crate::support::haskell::{HaskellTool, dashed};
use crate::support::netns::{Event, JsonPeer, Lab, WAIT};
use crate::support::refpeers::Family;
use crate::support::{netns, peers};
use std::thread;
use std::time::Duration;

/// Our node on the one LAN.
fn ours(lab: &Lab, host: &str, name: &str, extra: &[&str]) -> JsonPeer {
    peers::ours(lab, host, "lan", name, extra)
}

/// A lab for `test` (namespaces named after `tag`) when haskell-zre is
/// here (else the install hint, or a skip with `ZRE_SKIP_INTEROP=1`) and
/// namespaces can be made.
fn lab(test: &str, tag: &str) -> Option<Lab> {
    peers::live_lab(test, tag, &[Family::Haskell])
}

/// A LAN 10.99.`net`.0/24 named `lan` with these hosts, each with the
/// multicast route haskell-zre needs.
fn lan(lab: &mut Lab, net: u8, hosts: &[&str]) {
    lab.numbered_lan("lan", net, hosts);
    for host in hosts {
        lab.ip(host, &["route", "add", "224.0.0.0/4", "dev", "lan"]);
    }
}

/// One of our applets (`zrecat`, `zretime`, `zreworker`) on `host`.
fn our_applet(lab: &Lab, host: &str, applet: &str, args: &[&str]) -> netns::ChildGuard {
    let mut all = vec![applet, "-i", "lan", "--beacon-interval", "100ms"];
    all.extend_from_slice(args);
    lab.spawn(host, netns::ZRE, &all, &[("RUST_LOG", "debug")])
}

/// Our node's ENTER of the haskell-zre peer named `name`: its UUID.
fn enter_of(ours: &mut JsonPeer, lab: &Lab, name: &str, host: &str) -> String {
    let what = format!("ENTER of haskell {name} (seen by {})", ours.name);
    let want = name.to_owned();
    let enter = ours.wait_for(&what, move |e| e.is("ENTER") && e.name() == want, WAIT);
    let endpoint = enter.str("endpoint").unwrap_or("");
    let addr = lab.addr(host, "lan");
    assert!(
        endpoint.starts_with(&format!("tcp://{addr}:")),
        "haskell {name} should be at {addr}: {enter}"
    );
    enter.peer().to_owned()
}

fn from(kind: &'static str, peer: &str) -> impl Fn(&Event) -> bool + use<> {
    let peer = peer.to_owned();
    move |e| e.is(kind) && e.peer() == peer
}

fn message(kind: &'static str, peer: &str, content: &[&str]) -> impl Fn(&Event) -> bool + use<> {
    let peer = peer.to_owned();
    let content: Vec<String> = content.iter().map(|s| s.to_string()).collect();
    move |e| e.is(kind) && e.peer() == peer && e.content() == content
}

/// `YYYY-MM-DD` then `sep` then `HH:MM:SS` at the start of `s`.
fn date_time(s: &str, sep: u8) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.into_iter().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    b.len() >= 19
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == sep
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
}

/// Our zretime's shout: RFC 3339 UTC, `2026-11-29T20:13:04Z`.
fn is_rfc3339(s: &str) -> bool {
    s.len() == 20 && date_time(s, b'T') && s.ends_with('Z')
}

/// haskell-zre's zretime's shout: Haskell's `show` of a UTCTime,
/// `2026-11-29 20:13:03.802892347 UTC`.
fn is_haskell_time(s: &str) -> bool {
    date_time(s, b' ') && s.ends_with(" UTC") && !s[19..s.len() - 4].contains(' ')
}

/// Whether a zrecat line of haskell-zre (several messages may share one)
/// holds an RFC 3339 time.
fn holds_rfc3339(line: &str) -> bool {
    (0..line.len().saturating_sub(19))
        .filter(|&i| line.is_char_boundary(i) && line.is_char_boundary(i + 20))
        .any(|i| is_rfc3339(&line[i..i + 20]))
}

// ---- the zre shells ------------------------------------------------------

/// Our `zre` and haskell-zre's `zre`: ENTER both ways (name, endpoint),
/// JOIN, SHOUT and WHISPER both ways (UTF-8 from us, multi-frame from us),
/// LEAVE both ways; then our clean stop, which it notices by silence.
#[test]
fn haskell_zre_shell_talks_both_ways() {
    let Some(mut lab) = lab("haskell_zre_shell_talks_both_ways", "hzshell") else {
        return;
    };
    lan(&mut lab, 140, &["a", "b"]);
    let mut ours = ours(&lab, "a", "öurs-✓", &[]);
    let mut hask = HaskellTool::spawn(&lab, "b", "lan", "zre", "hask", &[]);
    let ours_id = dashed(&ours.uuid);

    // ENTER, both ways: ours from its HELLO, it from our beacon and HELLO.
    let hask_id = enter_of(&mut ours, &lab, "hask", "b");
    hask.wait_exact(&format!("New peer {ours_id} {}", ours.endpoint), WAIT);
    hask.wait_exact(&format!("Ready peer öurs-✓ {ours_id}"), WAIT);

    // JOIN, both ways.
    ours.send_line("/join chat");
    hask.send_line("/join chat");
    let joined = hask_id.clone();
    ours.wait_for(
        "JOIN chat of haskell",
        move |e| e.is("JOIN") && e.peer() == joined && e.group() == "chat",
        WAIT,
    );
    hask.wait_exact(&format!("Join group chat {ours_id}"), WAIT);

    // SHOUT, both ways (its shell sends one word of ASCII: it B.packs the
    // decoded line, so non-ASCII it reads arrives cut to 8 bits).
    ours.send_line(&format!("/shout chat {UNICODE_TEXT} (shout)"));
    hask.wait_exact(&format!("Shout for group chat > {UNICODE_TEXT} (shout)"), WAIT);
    hask.send_line("/shout chat hello-from-haskell");
    let shout = ours.wait_for(
        "SHOUT of haskell",
        message("SHOUT", &hask_id, &["hello-from-haskell"]),
        WAIT,
    );
    assert_eq!(shout.group(), "chat", "{shout}");

    // WHISPER, both ways.
    ours.send_line(&format!("/whisper {hask_id} {UNICODE_TEXT} (whisper)"));
    hask.wait_exact(&format!("Whisper from {ours_id} {UNICODE_TEXT} (whisper)"), WAIT);
    hask.send_line(&format!("/whisper {ours_id} psst-from-haskell"));
    ours.wait_for(
        "WHISPER of haskell",
        message("WHISPER", &hask_id, &["psst-from-haskell"]),
        WAIT,
    );

    // Multi-frame content: it takes every frame (and prints them joined).
    ours.send_line("/shoutx chat 6f6e65 - 74776f");
    hask.wait_exact("Shout for group chat > onetwo", WAIT);
    ours.send_line(&format!("/whisperx {hask_id} 74687265 65"));
    hask.wait_exact(&format!("Whisper from {ours_id} three"), WAIT);

    // LEAVE, both ways.
    hask.send_line("/leave chat");
    let leave = ours.wait_for("LEAVE chat of haskell", from("LEAVE", &hask_id), WAIT);
    assert_eq!(leave.group(), "chat", "{leave}");
    ours.send_line("/leave chat");
    hask.wait_exact(&format!("Leave group chat {ours_id}"), WAIT);
    assert_eq!(
        ours.count(from("EXIT", &hask_id)),
        0,
        "EXIT of haskell while talking\n{}",
        lab.report()
    );

    // We stop cleanly. It does not take our port-0 beacon as a goodbye: it
    // says "Peer quit" once its dead period (5 s) has passed without a
    // beacon from us. We send it no GOODBYE (it used to log that as
    // "Malformed message received: Unknown command": issue 13, fault 9).
    let status = ours.quit(WAIT);
    assert!(status.success(), "ours ended with {status}\n{}", ours.report());
    hask.wait_exact(&format!("Peer quit {ours_id}"), WAIT);
    let malformed = |line: &str| line.contains("Malformed");
    let complaints = hask.count(malformed) + hask.child().stderr().count(malformed);
    assert_eq!(complaints, 0, "our goodbye upset it\n{}", hask.report());
    hask.send_line("/quit");
    let status = hask.child().wait_exit(WAIT);
    assert!(
        status.is_some_and(|s| s.success()),
        "haskell zre after /quit: {status:?}\n{}",
        hask.report()
    );
    lab.show();
}

/// On a LAN where it hears none of our beacons (nftables drops UDP to port
/// 5670 in its namespace), we hear its multicast beacon, connect and say
/// HELLO; it connects back, and both sides ENTER. A node of ours with
/// `--no-listen-multicast` on the same LAN never meets it, which shows the
/// block holds (and the nftables counter shows our beacons reached it).
#[test]
fn haskell_multicast_beacon_heard_where_it_hears_none_of_ours() {
    let Some(mut lab) = lab(
        "haskell_multicast_beacon_heard_where_it_hears_none_of_ours",
        "hzmcast",
    ) else {
        return;
    };
    lan(&mut lab, 150, &["a", "b", "c"]);
    lab.block_udp_input("b", 5670);
    let mut hask = HaskellTool::spawn(&lab, "b", "lan", "zre", "hask", &[]);
    let mut ours_node = ours(&lab, "a", "ours", &[]);
    let mut deaf = ours(&lab, "c", "deaf", &["--no-listen-multicast"]);
    let ours_id = dashed(&ours_node.uuid);

    let hask_id = enter_of(&mut ours_node, &lab, "hask", "b");
    hask.wait_exact(&format!("New peer {ours_id} {}", ours_node.endpoint), WAIT);
    hask.wait_exact(&format!("Ready peer ours {ours_id}"), WAIT);

    // The deaf node meets ours by broadcast, never haskell-zre.
    let ours_uuid = ours_node.uuid.clone();
    deaf.wait_for(
        "ENTER of ours",
        move |e| e.is("ENTER") && e.peer() == ours_uuid,
        WAIT,
    );
    thread::sleep(Duration::from_secs(3));
    assert_eq!(
        deaf.count(|e| e.peer() == hask_id),
        0,
        "the node deaf to multicast met haskell\n{}",
        lab.report()
    );
    let deaf_id = dashed(&deaf.uuid);
    assert_eq!(
        hask.count(|l| l.contains(&deaf_id)),
        0,
        "haskell heard a beacon through the block\n{}",
        lab.report()
    );
    assert!(
        lab.udp_input_dropped("b") > 0,
        "no beacon of ours reached haskell's host"
    );
    lab.show();
}

/// Beacons do not refresh a known peer (as in Zyre), so only our PINGs and
/// its PING-OKs keep it alive for us: with our timeouts short (evasive 1 s, expired 4 s) it
/// stays (EVASIVE, never EXIT) for 10 s of silence, a WHISPER still gets
/// through, and after SIGKILL it expires.
#[test]
fn haskell_peer_lives_on_pings_and_expires_after_sigkill() {
    let Some(mut lab) = lab("haskell_peer_lives_on_pings_and_expires_after_sigkill", "hzlive") else {
        return;
    };
    lan(&mut lab, 141, &["a", "b"]);
    let mut ours = ours(&lab, "a", "ours", &["--evasive", "1", "--expired", "4"]);
    let mut hask = HaskellTool::spawn(&lab, "b", "lan", "zre", "hask", &[]);
    let hask_id = enter_of(&mut ours, &lab, "hask", "b");
    let ours_id = dashed(&ours.uuid);
    hask.wait_exact(&format!("Ready peer ours {ours_id}"), WAIT);

    thread::sleep(Duration::from_secs(10));
    assert_eq!(
        ours.count(from("EXIT", &hask_id)),
        0,
        "haskell expired though it was alive: our PINGs went unanswered\n{}",
        lab.report()
    );
    // Our EVASIVE of it is long due (evasive 1 s): a line to wait for,
    // not to judge at this instant.
    ours.wait_for(
        "EVASIVE of haskell (else something but PING-OK refreshed it)",
        from("EVASIVE", &hask_id),
        WAIT,
    );
    assert_eq!(
        hask.count(|l| l.starts_with("Peer quit")),
        0,
        "haskell dropped us though we beacon\n{}",
        lab.report()
    );
    hask.send_line(&format!("/whisper {ours_id} still-here"));
    ours.wait_for(
        "WHISPER after 10 s",
        message("WHISPER", &hask_id, &["still-here"]),
        WAIT,
    );

    hask.child().kill();
    ours.wait_for("EXIT of haskell after SIGKILL", from("EXIT", &hask_id), WAIT);
    lab.show();
}

// ---- the applets ---------------------------------------------------------

/// Its `zretime` heard by our `zrecat time`, ours by its `zrecat time`; its
/// `zretime` sees our zretime's HELLO (name, group, header) and shouts.
#[test]
fn haskell_zretime_and_ours_heard_by_each_others_zrecat() {
    let Some(mut lab) = lab("haskell_zretime_and_ours_heard_by_each_others_zrecat", "hztime") else {
        return;
    };
    lan(&mut lab, 142, &["ht", "oc", "ot", "hc"]);
    let mut their_time = HaskellTool::spawn(&lab, "ht", "lan", "zretime", "htime", &[]);
    let mut our_cat = our_applet(&lab, "oc", "zrecat", &["--listen", "-n", "ocat", "time"]);
    let our_time = our_applet(
        &lab,
        "ot",
        "zretime",
        &["--json", "-n", "otime", "--header", "X-ROLE=clock"],
    );
    let mut our_time = JsonPeer::adopt(our_time);
    let mut their_cat = HaskellTool::spawn(&lab, "hc", "lan", "zrecat", "hcat", &["time"]);

    let line = our_cat.wait_stdout("a haskell-zre time", is_haskell_time, WAIT);
    assert!(is_haskell_time(&line), "{line}");
    let line = their_cat.wait_line("an RFC 3339 time of ours", holds_rfc3339, WAIT);
    assert!(holds_rfc3339(&line), "{line}");

    // Its zretime prints our HELLO as it read it, then our shouts.
    let otime = dashed(&our_time.uuid);
    let ready = their_time.wait_line(
        "Ready of our zretime",
        |l| l.starts_with(&format!("Ready {otime} ")),
        WAIT,
    );
    assert!(
        ready.starts_with(&format!(
            "Ready {otime} \"otime\" (fromList [Group \"time\"]) (fromList [(\"X-ROLE\",\"clock\")]) (Endpoint TCP \"{}\"",
            lab.addr("ot", "lan")
        )),
        "{ready}"
    );
    let prefix = format!("Shout {otime} (Group \"time\") [\"");
    let shout = their_time.wait_line("a Shout of our zretime", |l| l.starts_with(&prefix), WAIT);
    assert!(is_rfc3339(&shout[prefix.len()..prefix.len() + 20]), "{shout}");

    // Our zretime sees its zretime join and shout.
    let htime = our_time.wait_for(
        "ENTER of haskell zretime",
        |e| e.is("ENTER") && e.name() == "htime",
        WAIT,
    );
    let htime = htime.peer().to_owned();
    our_time.wait_for(
        "JOIN time of haskell",
        |e| e.is("JOIN") && e.group() == "time",
        WAIT,
    );
    let shout = our_time.wait_for("SHOUT of haskell zretime", from("SHOUT", &htime), WAIT);
    assert!(
        shout.content().len() == 1 && is_haskell_time(&shout.content()[0]),
        "{shout}"
    );
    lab.show();
}

/// `zrecat test` both ways: a line on its stdin reaches our zrecat, and a
/// line on ours reaches it. Ours runs in `--raw` mode, so the newline goes
/// along: its zrecat prints some messages without adding one, and GHC
/// holds a line on a terminal until its newline.
#[test]
fn haskell_zrecat_and_ours_cat_lines_to_each_other() {
    let Some(mut lab) = lab("haskell_zrecat_and_ours_cat_lines_to_each_other", "hzcat") else {
        return;
    };
    lan(&mut lab, 143, &["a", "b"]);
    let mut their_cat = HaskellTool::spawn(&lab, "b", "lan", "zrecat", "hcat", &["test"]);
    // Ours waits (up to 60 s) for a peer in the group before it sends.
    let mut our_cat = our_applet(
        &lab,
        "a",
        "zrecat",
        &["-n", "ocat", "--raw", "--wait", "60", "test"],
    );
    let want = format!("from ours: {UNICODE_TEXT}");
    our_cat.send_line(&want);
    their_cat.wait_line("our line", |l| l.contains(&want), WAIT);

    // It reads stdin a second after it starts, in chunks (newline and
    // all), and shouts each.
    their_cat.send_line("from haskell zrecat");
    our_cat.wait_stdout("its line", |l| l == "from haskell zrecat", WAIT);
    lab.show();
}

/// Its `zreworker` takes a job from our `zre` (it joins the whispered group
/// and shouts "woooork" to group `work` every second); our `zreworker`
/// takes a job from its `zre` (job output shouted to the group, then
/// "done GROUP" whispered back).
#[test]
fn haskell_zreworker_and_ours_take_each_others_jobs() {
    let Some(mut lab) = lab("haskell_zreworker_and_ours_take_each_others_jobs", "hzworker") else {
        return;
    };
    lan(&mut lab, 144, &["hw", "oz", "ow", "hz"]);

    // Its worker, our client.
    let _their_worker = HaskellTool::spawn(&lab, "hw", "lan", "zreworker", "hwork", &[]);
    let mut client = ours(&lab, "oz", "client", &[]);
    let hwork = enter_of(&mut client, &lab, "hwork", "hw");
    client.send_line("/join work");
    client.send_line("/whisper hwork jobs");
    let joined = hwork.clone();
    client.wait_for(
        "JOIN jobs of haskell zreworker",
        move |e| e.is("JOIN") && e.peer() == joined && e.group() == "jobs",
        WAIT,
    );
    let work = "woooork".repeat(10);
    let shout = client.wait_for("its job output", message("SHOUT", &hwork, &[&work]), WAIT);
    assert_eq!(shout.group(), "work", "{shout}");

    // Our worker, its client.
    let our_worker = our_applet(&lab, "ow", "zreworker", &["--json", "-n", "owork"]);
    let mut our_worker = JsonPeer::adopt(our_worker);
    let owork = dashed(&our_worker.uuid);
    let mut hz = HaskellTool::spawn(&lab, "hz", "lan", "zre", "hz", &[]);
    hz.wait_exact(&format!("Ready peer owork {owork}"), WAIT);
    hz.send_line("/join jobs");
    hz.send_line(&format!("/whisper {owork} jobs"));
    let hz_id = enter_of(&mut our_worker, &lab, "hz", "hz");
    our_worker.wait_for("the job, whispered", message("WHISPER", &hz_id, &["jobs"]), WAIT);
    hz.wait_exact(&format!("Join group jobs {owork}"), WAIT);
    for step in 1..=5 {
        let prefix = format!("Shout for group jobs > job 1 step {step}/5 ");
        hz.wait_line(&format!("job step {step}"), |l| l.starts_with(&prefix), WAIT);
    }
    hz.wait_exact("Shout for group jobs > done", WAIT);
    hz.wait_exact(&format!("Whisper from {owork} done jobs"), WAIT);
    lab.show();
}
