//! Chaos on a real (namespaced) LAN: peers killed with SIGKILL and
//! restarted, links taken down for less and for more than the expiry time.
//! The gossip case (server killed and restarted, clients reconnect and
//! re-publish, peers that joined meanwhile are found) is
//! `gossip_netns.rs::clients_recover_after_a_server_restart`.
//!
//! Every node is `zre --json` in a namespace of its own; the measured
//! delays are printed (outside the test harness's capture) for the CI log.
//! The bounds asserted are the protocol's (expired + one reap interval)
//! plus [`SCHEDULING_SLACK`] for a loaded CI machine; the waits for things
//! that must merely happen are the harness's generous [`WAIT`]. Needs root;
//! skipped with a message without it, unless `CI` is set (then it fails).

use crate::support::netns::{Event, JsonPeer, Lab, WAIT};
use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

/// What a busy 2-core CI machine may add to a protocol deadline: process
/// scheduling, the pipe to the test, the test thread's own wake-up.
const SCHEDULING_SLACK: Duration = Duration::from_secs(2);
/// A node checks its peers at most this far apart (Zyre's reap interval).
const REAP_INTERVAL: Duration = Duration::from_secs(1);

/// One LAN, 10.99.<net>.0/24, with a (.2), b (.3) and c (.4).
fn three_hosts(tag: &str, net: u8) -> Option<Lab> {
    let mut lab = Lab::new(tag)?;
    lab.numbered_lan("lan1", net, &["a", "b", "c"]);
    Some(lab)
}

fn timers(evasive: u64, expired: u64) -> [String; 4] {
    [
        "--evasive".into(),
        evasive.to_string(),
        "--expired".into(),
        expired.to_string(),
    ]
}

const FAST_EXIT_LOG: &str =
    "info,zre::node::inbox_watch=debug,zre::node::probe=debug,zre::core::node::fast_exit=debug";

fn spawn(lab: &Lab, host: &str, name: &str, extra: &[String]) -> JsonPeer {
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    // Fast EXIT's steps are logged by default: when a rare late EXIT fails
    // a run, the report shows which step was missed. RUST_LOG in the
    // test's environment replaces this.
    let log = std::env::var("RUST_LOG").unwrap_or_else(|_| FAST_EXIT_LOG.into());
    let mut peer = JsonPeer::spawn_with_env(lab, host, "lan1", name, &extra, &[("RUST_LOG", &log)]);
    peer.send_line("/join g");
    peer
}

fn is_event<'a>(kind: &'a str, uuid: &'a str) -> impl Fn(&Event) -> bool + 'a {
    move |e| e.is(kind) && e.peer() == uuid
}

/// Waits until each of `peers` has seen `kind` for `uuid`; returns how long
/// after `since` each one saw it (as the test observed it).
fn each_sees(peers: &mut [&mut JsonPeer], kind: &str, uuid: &str, since: Instant) -> Vec<Duration> {
    peers
        .iter_mut()
        .map(|peer| {
            peer.wait_for(&format!("{kind} of {uuid}"), is_event(kind, uuid), WAIT);
            since.elapsed()
        })
        .collect()
}

fn seconds(durations: &[Duration]) -> String {
    durations
        .iter()
        .map(|d| format!("{:.2} s", d.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// alpha on a, beta on b and gamma on c (gamma with its own options), all
/// in group g, once each has seen the others join.
fn mesh(lab: &Lab, opts: &[String], gamma_opts: &[String]) -> [JsonPeer; 3] {
    let mut a = spawn(lab, "a", "alpha", opts);
    let mut b = spawn(lab, "b", "beta", opts);
    let mut c = spawn(lab, "c", "gamma", gamma_opts);
    wait_mesh(&mut [&mut a, &mut b, &mut c]);
    [a, b, c]
}

/// Everyone is in group g with everyone else.
fn wait_mesh(peers: &mut [&mut JsonPeer]) {
    let uuids: Vec<String> = peers.iter().map(|p| p.uuid.clone()).collect();
    for peer in peers.iter_mut() {
        for uuid in &uuids {
            if *uuid != peer.uuid {
                peer.wait_for(&format!("JOIN g of {uuid}"), is_event("JOIN", uuid), WAIT);
            }
        }
    }
}

/// A SHOUT from `from` reaches every one of `to`.
fn shout_reaches(from: &mut JsonPeer, to: &mut [&mut JsonPeer], text: &str) {
    from.send_line(&format!("/shout g {text}"));
    let uuid = from.uuid.clone();
    for peer in to.iter_mut() {
        peer.wait_for(
            &format!("SHOUT {text} from {uuid}"),
            |e| e.is("SHOUT") && e.peer() == uuid && e.content() == [text],
            WAIT,
        );
    }
}

#[test]
fn a_killed_peer_exits_in_time_and_enters_again_when_restarted() {
    const EXPIRED: u64 = 4;
    let Some(lab) = three_hosts("chaoskill", 41) else {
        return;
    };
    let opts = timers(1, EXPIRED);
    // c keeps one port, so that a quick restart comes back on the same
    // endpoint, as a restarted service would.
    let mut c_opts = opts.to_vec();
    c_opts.extend(["--port-range".into(), "41050-41050".into()]);
    let [mut a, mut b, mut c] = mesh(&lab, &opts, &c_opts);
    let bound = Duration::from_secs(EXPIRED) + REAP_INTERVAL;

    // 1. SIGKILL: no goodbye; the others find out by its refused port
    //    (fast EXIT), or by expiry at the latest.
    let old = c.uuid.clone();
    let killed = Instant::now();
    c.child().kill();
    let exits = each_sees(&mut [&mut a, &mut b], "EXIT", &old, killed);
    figure!(
        "chaos: SIGKILL gamma: EXIT seen by alpha, beta after {} (expired {EXPIRED} s + reap {} s = {} s)",
        seconds(&exits),
        REAP_INTERVAL.as_secs(),
        bound.as_secs()
    );
    for (who, after) in ["alpha", "beta"].iter().zip(&exits) {
        assert!(
            *after <= bound + SCHEDULING_SLACK,
            "{who} saw gamma's EXIT {after:?} after the kill: over expired + 1 s (+{SCHEDULING_SLACK:?} \
             slack)\n{}",
            lab.report()
        );
    }

    // 2. Restarted with the same name (a new UUID): ENTER again, and it works.
    let restarted = Instant::now();
    let mut c = spawn(&lab, "c", "gamma", &c_opts);
    assert_ne!(c.uuid, old, "a restarted zre has a new UUID");
    let enters = each_sees(&mut [&mut a, &mut b], "ENTER", &c.uuid.clone(), restarted);
    for peer in [&a, &b] {
        let enter = peer
            .events()
            .into_iter()
            .find(|e| is_event("ENTER", &c.uuid)(e))
            .unwrap();
        assert_eq!(enter.name(), "gamma", "{}: {enter}", peer.name);
    }
    wait_mesh(&mut [&mut a, &mut b, &mut c]);
    shout_reaches(&mut c, &mut [&mut a, &mut b], "back-again");
    shout_reaches(&mut a, &mut [&mut b, &mut c], "welcome-back");
    figure!(
        "chaos: gamma restarted (same name, new UUID): ENTER seen after {}",
        seconds(&enters)
    );

    // 3. Killed and restarted at once, before anyone noticed, on the same
    //    endpoint and under a new name: the newcomer replaces the dead peer
    //    (EXIT of the old UUID, ENTER of the new) without waiting for expiry.
    let old = c.uuid.clone();
    c.child().kill();
    let restarted = Instant::now();
    let mut c = spawn(&lab, "c", "delta", &c_opts);
    let enters = each_sees(&mut [&mut a, &mut b], "ENTER", &c.uuid.clone(), restarted);
    let exits = each_sees(&mut [&mut a, &mut b], "EXIT", &old, restarted);
    wait_mesh(&mut [&mut a, &mut b, &mut c]);
    shout_reaches(&mut c, &mut [&mut a, &mut b], "delta-here");
    shout_reaches(&mut b, &mut [&mut a, &mut c], "hello-delta");
    figure!(
        "chaos: gamma killed and at once restarted as delta on the same endpoint: ENTER of delta after {}, \
         EXIT of gamma after {}",
        seconds(&enters),
        seconds(&exits)
    );
    for (who, after) in ["alpha", "beta"].iter().zip(&exits) {
        assert!(
            *after <= bound + SCHEDULING_SLACK,
            "{who} saw the old gamma's EXIT {after:?} after the restart\n{}",
            lab.report()
        );
    }
    // Nobody else left meanwhile.
    for peer in [&a, &b] {
        let others: Vec<String> = peer
            .events()
            .into_iter()
            .filter(|e| e.is("EXIT") && e.name() != "gamma")
            .map(|e| e.raw)
            .collect();
        assert!(others.is_empty(), "{}: unexpected EXIT {others:?}", peer.name);
    }
    for peer in [&mut a, &mut b, &mut c] {
        peer.quit(WAIT);
    }
}

/// Sends `/shout g <prefix>-<n>` to a peer, numbering as it goes.
struct Stream {
    prefix: String,
    sent: usize,
}

impl Stream {
    fn new(prefix: &str) -> Stream {
        Stream {
            prefix: prefix.to_owned(),
            sent: 0,
        }
    }

    fn send(&mut self, peer: &mut JsonPeer) {
        peer.send_line(&format!("/shout g {}-{}", self.prefix, self.sent));
        self.sent += 1;
    }

    fn last(&self) -> String {
        format!("{}-{}", self.prefix, self.sent - 1)
    }

    /// Waits for the last message at `receiver`, then checks that all of
    /// them arrived once and in order; returns how many.
    fn check(&self, receiver: &mut JsonPeer, from: &str) -> usize {
        let last = self.last();
        receiver.wait_for(
            &format!("SHOUT {last}"),
            |e| e.is("SHOUT") && e.peer() == from && e.content() == [last.as_str()],
            WAIT,
        );
        let got: Vec<String> = receiver
            .events()
            .into_iter()
            .filter(|e| e.is("SHOUT") && e.peer() == from)
            .map(|e| e.content().join("|"))
            .collect();
        for (i, text) in got.iter().enumerate() {
            assert_eq!(
                text,
                &format!("{}-{i}", self.prefix),
                "{}: message {i} of {from} is {text:?} (lost, reordered or duplicated)",
                receiver.name
            );
        }
        assert_eq!(got.len(), self.sent, "{}: messages from {from}", receiver.name);
        got.len()
    }
}

#[test]
fn a_short_link_outage_is_evasive_and_loses_nothing() {
    const EXPIRED: u64 = 8;
    // Long enough for many probes of a closed connection, if there were
    // one; fast EXIT must not turn an outage into an EXIT.
    const OUTAGE: Duration = Duration::from_secs(3);
    let Some(lab) = three_hosts("chaosblip", 42) else {
        return;
    };
    let opts = timers(1, EXPIRED);
    let [mut a, mut b, mut c] = mesh(&lab, &opts, &opts);
    let c_uuid = c.uuid.clone();

    // Streams a -> {b, c} and c -> {a, b}, one message each per 50 ms,
    // before, during and after the outage.
    let (mut from_a, mut from_c) = (Stream::new("a"), Stream::new("c"));
    let mut down_at = None;
    let mut up_at = None;
    let started = Instant::now();
    let total = Duration::from_secs(1) + OUTAGE + Duration::from_secs(4);
    while started.elapsed() < total {
        from_a.send(&mut a);
        from_c.send(&mut c);
        let t = started.elapsed();
        if down_at.is_none() && t >= Duration::from_secs(1) {
            lab.ip("c", &["link", "set", "lan1", "down"]);
            down_at = Some(Instant::now());
        }
        if let (Some(down), None) = (down_at, up_at) {
            if down.elapsed() >= OUTAGE {
                lab.ip("c", &["link", "set", "lan1", "up"]);
                up_at = Some(Instant::now());
            }
        }
        thread::sleep(Duration::from_millis(50));
    }
    let (down_at, up_at) = (down_at.unwrap(), up_at.unwrap());

    // Everything sent, also during the outage, arrives once and in order.
    let a_uuid = a.uuid.clone();
    let counts = [
        from_a.check(&mut b, &a_uuid),
        from_a.check(&mut c, &a_uuid),
        from_c.check(&mut a, &c_uuid),
        from_c.check(&mut b, &c_uuid),
    ];
    // The outage was seen (EVASIVE) and nobody left.
    let evasive: Vec<usize> = [&a, &b]
        .iter()
        .map(|p| p.count(is_event("EVASIVE", &c_uuid)))
        .collect();
    let silent: Vec<usize> = [&a, &b]
        .iter()
        .map(|p| p.count(is_event("SILENT", &c_uuid)))
        .collect();
    figure!(
        "chaos: link of gamma down {:.1} s (expired {EXPIRED} s): EVASIVE of gamma at alpha {}x, beta {}x \
         (SILENT {}x, {}x); no EXIT; streams of {} messages (a->b, a->c, c->a, c->b: {counts:?}) all \
         delivered in order; recovery checked {:.1} s after the link came back",
        (up_at - down_at).as_secs_f64(),
        evasive[0],
        evasive[1],
        silent[0],
        silent[1],
        from_a.sent,
        up_at.elapsed().as_secs_f64()
    );
    for peer in [&a, &b, &c] {
        let exits: Vec<String> = peer
            .events()
            .into_iter()
            .filter(|e| e.is("EXIT"))
            .map(|e| e.raw)
            .collect();
        assert!(
            exits.is_empty(),
            "{}: EXIT during a {OUTAGE:?} outage: {exits:?}",
            peer.name
        );
    }
    for (who, n) in ["alpha", "beta"].iter().zip(&evasive) {
        assert!(*n > 0, "{who} never saw gamma EVASIVE during the outage");
    }
    for peer in [&mut a, &mut b, &mut c] {
        peer.quit(WAIT);
    }
}

#[test]
fn a_long_link_outage_is_an_exit_then_an_enter() {
    const EXPIRED: u64 = 4;
    const OUTAGE: Duration = Duration::from_secs(8);
    let Some(lab) = three_hosts("chaoscut", 43) else {
        return;
    };
    let opts = timers(1, EXPIRED);
    let [mut a, mut b, mut c] = mesh(&lab, &opts, &opts);
    let (a_uuid, b_uuid, c_uuid) = (a.uuid.clone(), b.uuid.clone(), c.uuid.clone());

    let down_at = Instant::now();
    lab.ip("c", &["link", "set", "lan1", "down"]);
    let exits = each_sees(&mut [&mut a, &mut b], "EXIT", &c_uuid, down_at);
    // gamma, cut off, sees the others go too.
    let exits_at_c = each_sees(&mut [&mut c], "EXIT", &a_uuid, down_at);
    c.wait_for("EXIT of beta", is_event("EXIT", &b_uuid), WAIT);
    let remaining = OUTAGE.saturating_sub(down_at.elapsed());
    thread::sleep(remaining);
    let up_at = Instant::now();
    lab.ip("c", &["link", "set", "lan1", "up"]);

    // Back on the LAN: everyone ENTERs again (same UUIDs), and talks.
    let enter_count = |p: &JsonPeer, uuid: &str| p.count(is_event("ENTER", uuid));
    let enters = {
        let deadline = Instant::now() + WAIT;
        let mut seen = Vec::new();
        for (peer, uuid) in [(&a, &c_uuid), (&b, &c_uuid), (&c, &a_uuid), (&c, &b_uuid)] {
            while enter_count(peer, uuid) < 2 {
                assert!(
                    Instant::now() < deadline,
                    "{}: no second ENTER of {uuid} {WAIT:?} after the link came back\n{}",
                    peer.name,
                    lab.report()
                );
                thread::sleep(Duration::from_millis(20));
            }
            seen.push(up_at.elapsed());
        }
        seen
    };
    wait_mesh_again(&mut [&mut a, &mut b, &mut c]);
    shout_reaches(&mut c, &mut [&mut a, &mut b], "gamma-is-back");
    shout_reaches(&mut a, &mut [&mut b, &mut c], "alpha-to-all");
    figure!(
        "chaos: link of gamma down {:.1} s (expired {EXPIRED} s): EXIT of gamma at alpha, beta after {}; \
         gamma saw alpha EXIT after {}; ENTER again {} after the link came back (alpha, beta of gamma; \
         gamma of alpha, beta)",
        (up_at - down_at).as_secs_f64(),
        seconds(&exits),
        seconds(&exits_at_c),
        seconds(&enters)
    );
    let bound = Duration::from_secs(EXPIRED) + REAP_INTERVAL + SCHEDULING_SLACK;
    for (who, after) in ["alpha", "beta"].iter().zip(&exits) {
        assert!(
            *after <= bound,
            "{who} saw gamma's EXIT {after:?} after the link went down, over {bound:?}"
        );
    }
    for peer in [&mut a, &mut b, &mut c] {
        peer.quit(WAIT);
    }
}

/// After a re-ENTER: everyone is (again) in g with everyone else — the
/// second JOIN of each pair.
fn wait_mesh_again(peers: &mut [&mut JsonPeer]) {
    let uuids: Vec<String> = peers.iter().map(|p| p.uuid.clone()).collect();
    let deadline = Instant::now() + WAIT;
    for peer in peers.iter() {
        for uuid in &uuids {
            if *uuid == peer.uuid {
                continue;
            }
            // Pairs that never broke (a and b) have one JOIN; the others two.
            let want = if peer.count(is_event("EXIT", uuid)) > 0 {
                2
            } else {
                1
            };
            while peer.count(is_event("JOIN", uuid)) < want {
                assert!(
                    Instant::now() < deadline,
                    "{}: JOIN g of {uuid} not seen again\n{}",
                    peer.name,
                    peer.report()
                );
                thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

// ----- fast EXIT (issue 17) ---------------------------------------------------

/// What fast EXIT must beat by far: the default expired timeout.
const DEFAULT_EXPIRED: u64 = 30;
/// The bound asserted on a fast EXIT: a LAN answers a probe within
/// milliseconds; the rest is slack for a loaded 2-core machine.
const FAST_EXIT_BOUND: Duration = Duration::from_secs(5);

fn median_and_worst(delays: &mut [Duration]) -> (Duration, Duration) {
    delays.sort();
    (delays[delays.len() / 2], delays[delays.len() - 1])
}

#[test]
fn a_killed_peer_of_ours_exits_at_once_not_at_expired() {
    const KILLS: usize = 10;
    let Some(lab) = three_hosts("fastkill", 43) else {
        return;
    };
    let opts = timers(5, DEFAULT_EXPIRED);
    let [mut a, mut b, mut c] = mesh(&lab, &opts, &opts);
    let mut delays = Vec::new();
    for round in 0..KILLS {
        let old = c.uuid.clone();
        let killed = Instant::now();
        c.child().kill();
        let exits = each_sees(&mut [&mut a, &mut b], "EXIT", &old, killed);
        for (who, after) in ["alpha", "beta"].iter().zip(&exits) {
            assert!(
                *after < FAST_EXIT_BOUND,
                "round {round}: {who} saw gamma's EXIT {after:?} after its SIGKILL (expired is \
                 {DEFAULT_EXPIRED} s)\n{}",
                lab.report()
            );
        }
        delays.extend(exits);
        c = spawn(&lab, "c", "gamma", &opts);
        wait_mesh(&mut [&mut a, &mut b, &mut c]);
    }
    // The survivors never lost each other.
    for peer in [&a, &b] {
        let others: Vec<String> = peer
            .events()
            .into_iter()
            .filter(|e| e.is("EXIT") && e.name() != "gamma")
            .map(|e| e.raw)
            .collect();
        assert!(others.is_empty(), "{}: unexpected EXIT {others:?}", peer.name);
    }
    shout_reaches(&mut c, &mut [&mut a, &mut b], "still-here");
    let (median, worst) = median_and_worst(&mut delays);
    figure!(
        "fast exit: {KILLS} SIGKILLs of gamma (ours), EXIT at alpha and beta: median {:.3} s, worst {:.3} s \
         (expired {DEFAULT_EXPIRED} s)",
        median.as_secs_f64(),
        worst.as_secs_f64()
    );
    for peer in [&mut a, &mut b, &mut c] {
        peer.quit(WAIT);
    }
}

/// Drops every packet in and out of a host: a crashed host, which neither
/// answers nor refuses. `Lab::unblock_all` lifts it.
fn crash_host(lab: &Lab, host: &str) {
    let table = "inet zrelab";
    let _ = lab.try_exec(host, "nft", &["add", "table", table]);
    for (chain, hook) in [("zin", "input"), ("zout", "output")] {
        lab.exec(
            host,
            "nft",
            &[&format!(
                "add chain {table} {chain} {{ type filter hook {hook} priority 0 ; policy drop ; }}"
            )],
        );
    }
}

/// Waits `span` and returns the EXITs of `uuid` seen by each peer meanwhile.
fn exits_within(peers: &[&JsonPeer], uuid: &str, span: Duration) -> Vec<usize> {
    thread::sleep(span);
    peers.iter().map(|p| p.count(is_event("EXIT", uuid))).collect()
}

#[test]
fn a_crashed_host_exits_at_expired() {
    const EXPIRED: u64 = 6;
    let Some(lab) = three_hosts("fastcrash", 44) else {
        return;
    };
    if std::process::Command::new("nft")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("this test needs nft: apt-get install nftables");
    }
    let opts = timers(1, EXPIRED);
    let [mut a, mut b, mut c] = mesh(&lab, &opts, &opts);
    let uuid = c.uuid.clone();
    let crashed = Instant::now();
    crash_host(&lab, "c");
    let early = Duration::from_secs(EXPIRED) - Duration::from_millis(500);
    let exits = exits_within(&[&a, &b], &uuid, early.saturating_sub(crashed.elapsed()));
    assert_eq!(
        exits,
        [0, 0],
        "EXIT before expired for a host that refuses nothing\n{}",
        lab.report()
    );
    for peer in [&mut a, &mut b] {
        peer.wait_for("EVASIVE of gamma", is_event("EVASIVE", &uuid), WAIT);
    }
    let exits = each_sees(&mut [&mut a, &mut b], "EXIT", &uuid, crashed);
    figure!(
        "fast exit: crashed host (everything dropped): EXIT of gamma after {} (expired {EXPIRED} s)",
        seconds(&exits)
    );
    let bound = Duration::from_secs(EXPIRED) + REAP_INTERVAL + SCHEDULING_SLACK;
    for after in &exits {
        assert!(*after <= bound, "EXIT {after:?} after the crash: over {bound:?}");
    }
    lab.unblock_all("c");
    c.child().kill();
    for peer in [&mut a, &mut b] {
        peer.quit(WAIT);
    }
}

#[test]
fn a_stopped_peer_is_evasive_then_silent_and_only_exits_at_expired() {
    const EXPIRED: u64 = 6;
    let Some(lab) = three_hosts("faststop", 45) else {
        return;
    };
    let opts = timers(1, EXPIRED);
    let [mut a, mut b, mut c] = mesh(&lab, &opts, &opts);
    let uuid = c.uuid.clone();
    let stopped = Instant::now();
    c.child().signal("STOP");
    for peer in [&mut a, &mut b] {
        peer.wait_for("EVASIVE of gamma", is_event("EVASIVE", &uuid), WAIT);
        peer.wait_for("SILENT of gamma", is_event("SILENT", &uuid), WAIT);
    }
    let early = Duration::from_secs(EXPIRED) - Duration::from_millis(500);
    let exits = exits_within(&[&a, &b], &uuid, early.saturating_sub(stopped.elapsed()));
    assert_eq!(
        exits,
        [0, 0],
        "EXIT before expired for a stopped process\n{}",
        lab.report()
    );
    let exits = each_sees(&mut [&mut a, &mut b], "EXIT", &uuid, stopped);
    figure!(
        "fast exit: SIGSTOPped gamma: EVASIVE, SILENT, EXIT after {} (expired {EXPIRED} s)",
        seconds(&exits)
    );
    c.child().signal("CONT");
    c.child().kill();
    for peer in [&mut a, &mut b] {
        peer.quit(WAIT);
    }
}
