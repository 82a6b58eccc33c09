//! Announcements cannot exhaust a node (issue 24): a node whose open-file
//! limit is 1 024 (set on its own process with `prlimit`, not on the test:
//! this machine's limit is higher) is flooded with
//!
//! - 10 000 spoofed beacons of random UUIDs (`tests/hostile/attacker.py
//!   --only beacons`), each pointing at a dead port of the attacker's host;
//! - 5 000 stale gossip tuples (`attacker.py --only gossip`) held by a
//!   `zre zgossip_server` in the lab, half at dead ports, half at absent
//!   hosts (connections that hang until they time out), before the node
//!   and its real peer start, gossip-only;
//! - 1 500 connections to its inbox, each through the ZMTP handshake,
//!   held open by one stranger (`attacker.py --only connections`); here
//!   the node must also not spin (libzmq's `accept` once out of
//!   descriptors) and must stay within its descriptors.
//!
//! Asserted each time: the node stays up (no `Too many open files`, it
//! answers `/stats`), its real peer stays ENTERed (no EXIT either way), and
//! a new real peer started during or after the flood is met (ENTER at the
//! node) within [`MEET_WITHIN`] of that peer's READY.
//!
//! `ZRE_EXHAUSTION_BIN=/path/to/zre` runs every node (and the gossip
//! server) from another build, e.g. one from before the fix, to see the
//! test fail there. Needs root (network namespaces), python3 with pyzmq
//! and util-linux's `prlimit`; skipped with a message without them, unless
//! `CI` is set (then it fails).

use crate::support::netns;
use crate::support::netns::{ChildGuard, Event, JsonPeer, Lab, WAIT};
use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

const ATTACKER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hostile/attacker.py");
/// The open-file limit (soft and hard) of the flooded node.
const NOFILE: &str = "1024";
/// A new real peer must be met within this of its READY.
const MEET_WITHIN: Duration = Duration::from_secs(5);
/// How long two gossip-only nodes may take to meet behind 5 000 stale tuples.
const PAIR_WITHIN: Duration = Duration::from_secs(10);
/// How long the pair is watched for a false EXIT after the flood.
const WATCH_AFTER: Duration = Duration::from_secs(10);

/// The `zre` binary every process runs.
fn zre_bin() -> String {
    std::env::var("ZRE_EXHAUSTION_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_zre").to_owned())
}

/// True when python3 can import zmq and `prlimit` runs; otherwise skip (or
/// fail in CI).
fn have_tools() -> bool {
    let runs = |cmd: &str, args: &[&str]| {
        std::process::Command::new(cmd)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let missing: Vec<&str> = [
        (
            "python3 with pyzmq (pip install pyzmq)",
            runs("python3", &["-c", "import zmq"]),
        ),
        ("prlimit (util-linux)", runs("prlimit", &["--version"])),
    ]
    .into_iter()
    .filter(|(_, ok)| !ok)
    .map(|(what, _)| what)
    .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(!netns::in_ci(), "needed: {missing:?}; CI is set, so this fails");
    eprintln!("SKIPPED exhaustion tests: missing {missing:?}");
    false
}

/// The lab of one test, once the tools are there (`None`: skip): `hosts`
/// on one LAN `NET.0/24`, each named with the last byte of its address.
fn lab_of(name: &str, net: &str, hosts: &[(&str, u8)]) -> Option<Lab> {
    if !have_tools() {
        return None;
    }
    let mut lab = Lab::new(name)?;
    let addresses: Vec<(&str, String)> = hosts
        .iter()
        .map(|(host, last)| (*host, format!("{net}.{last}")))
        .collect();
    let addresses: Vec<(&str, &str)> = addresses.iter().map(|(host, ip)| (*host, ip.as_str())).collect();
    lab.lan("lan1", &format!("{net}.0/24"), &addresses);
    Some(lab)
}

/// The seed of the attacker's randomness: `ZRE_SEED` to replay one run.
fn seed() -> u64 {
    let seed = std::env::var("ZRE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand_seed() ^ u64::from(std::process::id()));
    figure!("exhaustion: seed {seed} (replay with ZRE_SEED={seed})");
    seed
}

fn rand_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64 & 0xffff_ffff)
}

/// `zre --json -n NAME -i lan1 EXTRA…` on `host`, under `prlimit
/// --nofile=LIMIT:LIMIT` when a `limit` is given; waits for its READY.
fn node(lab: &Lab, host: &str, name: &str, extra: &[&str], limit: Option<&str>) -> JsonPeer {
    let bin = zre_bin();
    let limited = limit.is_some();
    let limit = limit.unwrap_or(NOFILE);
    let nofile = format!("--nofile={limit}:{limit}");
    let mut args: Vec<&str> = Vec::new();
    if limited {
        args.extend([nofile.as_str(), "--", bin.as_str()]);
    }
    args.extend(["--json", "-n", name, "-i", "lan1", "--beacon-port", "5670"]);
    args.extend_from_slice(extra);
    let cmd = if limited { "prlimit" } else { bin.as_str() };
    // Warnings only (unless ZRE_EXHAUSTION_LOG says otherwise): the flood
    // would make debug logging the bottleneck.
    let log = std::env::var("ZRE_EXHAUSTION_LOG").unwrap_or_else(|_| "warn".into());
    let child = lab.spawn_as(
        &format!("zre {name}@{host}"),
        host,
        cmd,
        &args,
        &[("RUST_LOG", &log)],
    );
    let mut peer = JsonPeer::adopt(child);
    if limited {
        let pid = peer.child().pid();
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        assert_eq!(
            comm.trim(),
            "zre",
            "pid {pid} of {name} is not the zre process itself"
        );
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .unwrap_or_default()
            .to_owned();
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            words.get(3..5),
            Some(&[limit, limit][..]),
            "{name}: open-file limit is not {limit}: {line:?}"
        );
    }
    peer
}

/// The node under attack ("victim", limited, on host `a`) and its real
/// peer ("real", on `b`), each ENTERed by the other.
fn victim_and_real_peer(lab: &Lab) -> (JsonPeer, JsonPeer) {
    let mut a = node(lab, "a", "victim", &[], Some(NOFILE));
    let mut b = node(lab, "b", "real", &[], None);
    let (a_uuid, b_uuid) = (a.uuid.clone(), b.uuid.clone());
    a.wait_for("ENTER of real", enter_of(&b_uuid), WAIT);
    b.wait_for("ENTER of victim", enter_of(&a_uuid), WAIT);
    (a, b)
}

fn enter_of(uuid: &str) -> impl Fn(&Event) -> bool + '_ {
    move |e| e.is("ENTER") && e.peer() == uuid
}

fn exits_of(at: &JsonPeer, of: &JsonPeer) -> usize {
    at.count(|e| e.is("EXIT") && e.peer() == of.uuid)
}

/// Waits until `at` has an ENTER of `new` and returns how long that took
/// from now, or, after `limit`, what went wrong (the test goes on, so that
/// one run shows every failure).
fn met_within(lab: &Lab, at: &mut JsonPeer, new: &JsonPeer, limit: Duration) -> Result<Duration, String> {
    let start = Instant::now();
    loop {
        if at.count(enter_of(&new.uuid)) > 0 {
            return Ok(start.elapsed());
        }
        check_alive(lab, at);
        if start.elapsed() >= limit {
            return Err(format!(
                "{} did not meet the new peer {} within {limit:?}",
                at.name, new.name
            ));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Panics with every failure (and every output) if there is one.
fn check_all(lab: &Lab, what: &str, results: &[&Result<Duration, String>]) {
    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failures.is_empty(), "{what}: {failures:?}\n{}", lab.report());
}

/// Panics (with every output) if the node has ended or said it ran out of
/// descriptors.
fn check_alive(lab: &Lab, peer: &mut JsonPeer) {
    if let Some(status) = peer.child().try_status() {
        panic!(
            "{} ended during the flood ({status})\n{}",
            peer.name,
            lab.report()
        );
    }
    let fatal = peer
        .child()
        .stderr()
        .count(|l| l.starts_with("zre:") && l.contains("Too many open files"));
    assert_eq!(
        fatal,
        0,
        "{} reports running out of descriptors\n{}",
        peer.name,
        lab.report()
    );
}

/// Asks for `/stats` and returns the STATS line (proof that the loop runs).
fn stats_line(lab: &Lab, peer: &mut JsonPeer) -> String {
    let before = peer.count(|e| e.is("STATS"));
    peer.send_line("/stats");
    let deadline = Instant::now() + WAIT;
    while peer.count(|e| e.is("STATS")) <= before {
        check_alive(lab, peer);
        assert!(
            Instant::now() < deadline,
            "{}: no STATS within {WAIT:?}\n{}",
            peer.name,
            lab.report()
        );
        thread::sleep(Duration::from_millis(20));
    }
    let stdout = peer.child().stdout();
    stdout
        .tail(200)
        .lines()
        .rev()
        .find(|l| l.starts_with("{\"event\":\"STATS\""))
        .unwrap_or_default()
        .to_owned()
}

/// Watches the victim and its real peer for `period`, sampling the victim's
/// open descriptors; returns the highest count seen.
fn watch(
    lab: &Lab,
    victim: &mut JsonPeer,
    real: &JsonPeer,
    period: Duration,
    until: impl Fn() -> bool,
) -> usize {
    let start = Instant::now();
    let mut fds_peak = 0;
    while start.elapsed() < period && !until() {
        check_alive(lab, victim);
        if let Some(n) = fd_count(victim.child().pid()) {
            fds_peak = fds_peak.max(n);
        }
        let (at_victim, at_real) = (exits_of(victim, real), exits_of(real, victim));
        assert_eq!(
            (at_victim, at_real),
            (0, 0),
            "false EXIT of a live peer ({} at {}, {} at {})\n{}",
            at_victim,
            victim.name,
            at_real,
            real.name,
            lab.report()
        );
        thread::sleep(Duration::from_millis(100));
    }
    fds_peak
}

/// How many descriptors a process has open.
fn fd_count(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// `attacker.py --only connections` on host `m` (lab address `my_ip`
/// on `net`.0/24): 1 500 connections to `inbox`, held 20 s; returns once
/// they are open (`PHASE holding`).
fn hold_connections(lab: &Lab, net: &str, my_ip: &str, inbox: &str) -> ChildGuard {
    let seed = seed().to_string();
    let broadcast = format!("{net}.255");
    let attacker = lab.spawn(
        "m",
        "python3",
        &[
            ATTACKER,
            "--only",
            "connections",
            "--iface",
            "lan1",
            "--my-ip",
            my_ip,
            "--beacon-addr",
            &broadcast,
            "--inbox",
            inbox,
            "--connections",
            "1500",
            "--hold-seconds",
            "20",
            "--seed",
            &seed,
        ],
        &[],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while attacker.stdout().count(|l| l.starts_with("PHASE holding")) == 0 {
        assert!(
            Instant::now() < deadline,
            "the attacker did not open its connections within 30 s\n{}",
            lab.report()
        );
        thread::sleep(Duration::from_millis(100));
    }
    attacker
}

/// The CPUs `pid` used over `period` (a core spinning on `accept` shows
/// as one), and the most descriptors it had open meanwhile; `during`
/// runs every 100 ms (checks of the node's health).
fn busy_and_fds(pid: u32, period: Duration, mut during: impl FnMut()) -> (f64, usize) {
    let (ticks, start) = (netns::cpu_ticks(pid), Instant::now());
    let mut fds_peak = 0;
    while start.elapsed() < period {
        during();
        fds_peak = fds_peak.max(fd_count(pid).unwrap_or(0));
        thread::sleep(Duration::from_millis(100));
    }
    let busy = (netns::cpu_ticks(pid) - ticks) as f64 / 100.0 / start.elapsed().as_secs_f64();
    (busy, fds_peak)
}

fn attack_done(attacker: &ChildGuard) -> bool {
    attacker.stdout().count(|l| l.starts_with("ATTACK-DONE")) > 0
}

/// The attacker's last line: what it sent, counted (empty until it ends).
fn attack_summary(attacker: &ChildGuard) -> String {
    attacker
        .stdout()
        .lines()
        .into_iter()
        .find(|l| l.starts_with("ATTACK-DONE"))
        .unwrap_or_default()
}

#[test]
fn spoofed_beacons_do_not_exhaust_a_node_with_1024_files() {
    let Some(lab) = lab_of(
        "exhaustb",
        "10.99.41",
        &[("a", 2), ("b", 3), ("c", 4), ("d", 5), ("m", 66)],
    ) else {
        return;
    };
    let seed = seed().to_string();
    let (mut a, b) = victim_and_real_peer(&lab);

    let flood_start = Instant::now();
    let attacker = lab.spawn(
        "m",
        "python3",
        &[
            ATTACKER,
            "--only",
            "beacons",
            "--iface",
            "lan1",
            "--my-ip",
            "10.99.41.66",
            "--beacon-addr",
            "10.99.41.255",
            "--fake-uuids",
            "10000",
            "--beacon-seconds",
            "6",
            "--seed",
            &seed,
        ],
        &[],
    );
    // Two seconds into the flood (thousands of fake peers announced), a new
    // real peer starts.
    let mut fds_peak = watch(&lab, &mut a, &b, Duration::from_secs(2), || false);
    let c = node(&lab, "c", "during", &[], None);
    let during = met_within(&lab, &mut a, &c, MEET_WITHIN);
    fds_peak = fds_peak.max(watch(&lab, &mut a, &b, Duration::from_secs(60), || {
        attack_done(&attacker)
    }));
    assert!(
        attack_done(&attacker),
        "attacker did not finish within 60 s\n{}",
        lab.report()
    );
    let flood = flood_start.elapsed();
    let d = node(&lab, "d", "after", &[], None);
    let after = met_within(&lab, &mut a, &d, MEET_WITHIN);
    fds_peak = fds_peak.max(watch(&lab, &mut a, &b, WATCH_AFTER, || false));
    check_alive(&lab, &mut a);
    let stats = stats_line(&lab, &mut a);
    let done = attack_summary(&attacker);
    figure!(
        "exhaustion/beacons: flood {flood:.1?} ({done}); new peer met: during {during:.2?}, \
         after {after:.2?}; victim's descriptors peak {fds_peak} of {NOFILE}; {stats}"
    );
    check_all(&lab, "spoofed beacons", &[&during, &after]);
}

#[test]
fn stale_gossip_tuples_do_not_exhaust_a_node_with_1024_files() {
    let Some(lab) = lab_of("exhaustg", "10.99.42", &[("a", 2), ("b", 3), ("c", 4), ("m", 66)]) else {
        return;
    };
    let seed = seed().to_string();
    let bin = zre_bin();
    let mut server = lab.spawn(
        "m",
        &bin,
        &["zgossip_server", "--json", "--bind", "tcp://*:31337"],
        &[("RUST_LOG", "warn")],
    );
    server.wait_stdout("its READY", |l| l.contains("\"READY\""), WAIT);
    let attacker = lab.spawn(
        "m",
        "python3",
        &[
            ATTACKER,
            "--only",
            "gossip",
            "--iface",
            "lan1",
            "--my-ip",
            "10.99.42.66",
            "--beacon-addr",
            "10.99.42.255",
            "--gossip-server",
            "tcp://10.99.42.66:31337",
            "--gossip-tuples",
            "5000",
            "--seed",
            &seed,
        ],
        &[],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let delivered = |s: &ChildGuard| s.stdout().count(|l| l.contains("\"DELIVER\""));
    while delivered(&server) < 5000 {
        assert!(
            Instant::now() < deadline,
            "the gossip server holds {} of 5000 tuples after 60 s\n{}",
            delivered(&server),
            lab.report()
        );
        thread::sleep(Duration::from_millis(100));
    }
    figure!(
        "exhaustion/gossip: the server holds {} stale tuples",
        delivered(&server)
    );

    let gossip = ["--no-beacon", "--gossip", "10.99.42.66:31337"];
    let start = Instant::now();
    let mut a = node(&lab, "a", "victim", &gossip, Some(NOFILE));
    let mut b = node(&lab, "b", "real", &gossip, None);
    let (a_uuid, b_uuid) = (a.uuid.clone(), b.uuid.clone());
    // Both fill their tables with stale tuples first; they met within 3 s
    // here (none within 30 s before the fix, or while dead links held every
    // place until they expired).
    a.wait_for("ENTER of real", enter_of(&b_uuid), PAIR_WITHIN);
    b.wait_for("ENTER of victim", enter_of(&a_uuid), PAIR_WITHIN);
    let pair = start.elapsed();
    let mut fds_peak = watch(&lab, &mut a, &b, Duration::from_secs(3), || false);
    let c = node(&lab, "c", "new", &gossip, None);
    let new = met_within(&lab, &mut a, &c, MEET_WITHIN);
    fds_peak = fds_peak.max(watch(&lab, &mut a, &b, WATCH_AFTER, || false));
    let stats = stats_line(&lab, &mut a);
    assert!(
        attack_done(&attacker),
        "attacker did not finish\n{}",
        lab.report()
    );
    figure!(
        "exhaustion/gossip: pair met in {pair:.2?} (both READY included), new peer met: {new:.2?}; \
         victim's descriptors peak {fds_peak} of {NOFILE}; {stats}"
    );
    check_all(&lab, "stale gossip tuples", &[&new]);
}

/// A stranger opens 1 500 connections to the node's inbox, each through
/// the ZMTP handshake as a DEALER's, and holds them: more than the 1 024
/// descriptors the node has. Before, libzmq accepted until none was left
/// and then spun on `accept` (a core at 100 %), and the node could open
/// no link and accept no connection from a new real peer. The node must
/// keep descriptors for its peers: not spin, keep its real peer, and
/// meet a new one within [`MEET_WITHIN`].
#[test]
fn held_inbound_connections_do_not_exhaust_a_node_with_1024_files() {
    let Some(lab) = lab_of("exhaustc", "10.99.43", &[("a", 2), ("b", 3), ("c", 4), ("m", 66)]) else {
        return;
    };
    let (mut a, b) = victim_and_real_peer(&lab);
    let attacker = hold_connections(&lab, "10.99.43", "10.99.43.66", &a.endpoint);
    let mut fds_peak = watch(&lab, &mut a, &b, Duration::from_secs(1), || false);
    let (busy, peak) = busy_and_fds(a.child().pid(), Duration::from_secs(3), || {
        check_alive(&lab, &mut a);
        assert_eq!((exits_of(&a, &b), exits_of(&b, &a)), (0, 0), "{}", lab.report());
    });
    fds_peak = fds_peak.max(peak);
    let c = node(&lab, "c", "during", &[], None);
    let during = met_within(&lab, &mut a, &c, MEET_WITHIN);
    fds_peak = fds_peak.max(watch(&lab, &mut a, &b, Duration::from_secs(30), || {
        attack_done(&attacker)
    }));
    check_alive(&lab, &mut a);
    let stats = stats_line(&lab, &mut a);
    let done = attack_summary(&attacker);
    figure!(
        "exhaustion/connections: {done}; victim busy {busy:.2} CPUs while they were held; \
         new peer met: {during:.2?}; victim's descriptors peak {fds_peak} of {NOFILE}; {stats}"
    );
    check_all(&lab, "held inbound connections", &[&during]);
    assert!(
        busy < 0.5,
        "the victim used {busy:.2} CPUs while the connections were held (a spin on accept?)\n{}",
        lab.report()
    );
    assert!(
        fds_peak < NOFILE.parse().unwrap(),
        "the victim ran out of descriptors ({fds_peak})\n{}",
        lab.report()
    );
}

/// A node started under the lowest limit it accepts (75), among 30 peers
/// on one host that SHOUT to it: its peer table holds two, and the
/// others' links to its inbox are more than its descriptors. Before, they
/// took the last descriptors and libzmq spun on `accept` (a core at
/// 100 %, 40 of 40 descriptors in a user's trial); now links and
/// connections leave `KEEP_FREE` descriptors free: the node must not
/// spin, must stay under its limit, and must still meet peers, and keep
/// them. Keeping them failed in 5 of 10 runs until a HELLO read after we
/// had shed its connection (the burst of the crowd's connections as the
/// node starts) stopped being taken: the peer's next messages were lost
/// with that connection, and the node dropped it at the gap.
#[test]
fn a_node_at_the_lowest_limit_among_a_crowd_does_not_spin() {
    low_limit_among_a_crowd("exhaustl", "10.99.44", "75", 30, Duration::from_secs(3), true);
}

/// A node whose limit (200) holds 34 of the 45 peers on one host: the
/// crowd's connections to its inbox are shed all along (the descriptors
/// would not leave `KEEP_FREE`), and that host is always the busiest.
/// Before, the newest connection of it was shed whoever's it was, a peer
/// the node had ENTERed among them: its messages were lost, and it and
/// the node each saw the other EXIT (two of 45 in 15 s here; a user's
/// trial of 90 nodes on 10 hosts under `ulimit -n 300` saw the same).
/// Now the connection a held peer greeted us over is never shed.
#[test]
fn a_node_short_of_descriptors_keeps_the_peers_it_holds() {
    low_limit_among_a_crowd("exhaustk", "10.99.47", "200", 45, Duration::from_secs(15), true);
}

/// `crowd` nodes on one host, then one under the open-file limit `low` on
/// another; once it met a peer, `observe` of the crowd linking to it (and,
/// with `talk`, SHOUTing to it 4 times a second), then 3 s measured.
/// Asserted: no spin, under its limit, no EXIT at it of a peer it met,
/// and no EXIT of it at a peer it never met.
fn low_limit_among_a_crowd(name: &str, net: &str, low: &str, crowd: usize, observe: Duration, talk: bool) {
    let Some(lab) = lab_of(name, net, &[("a", 2), ("b", 3)]) else {
        return;
    };
    let mut crowd: Vec<JsonPeer> = (0..crowd)
        .map(|i| node(&lab, "b", &format!("crowd{i}"), &[], None))
        .collect();
    let mut a = node(&lab, "a", "low", &[], Some(low));
    // Traffic to it: every member SHOUTs to a group it is in, so that a
    // connection shed under a peer it holds loses messages (a gap in that
    // peer's sequence: its EXIT), as an idle crowd's would not.
    if talk {
        a.send_line("/join g");
        for peer in &mut crowd {
            peer.send_line("/join g");
        }
    }
    let met = |a: &JsonPeer| a.count(|e| e.is("ENTER"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while met(&a) == 0 {
        check_alive(&lab, &mut a);
        assert!(
            Instant::now() < deadline,
            "the low node met nobody in 20 s\n{}",
            lab.report()
        );
        thread::sleep(Duration::from_millis(100));
    }
    // The crowd keeps linking to it meanwhile (each beacon), and talking.
    let until = Instant::now() + observe;
    let mut tick = 0;
    while Instant::now() < until {
        tick += 1;
        for peer in crowd.iter_mut().filter(|_| talk) {
            peer.send_line(&format!("/shout g tick {tick}"));
        }
        thread::sleep(Duration::from_millis(250));
    }
    let (busy, fds_peak) = busy_and_fds(a.child().pid(), Duration::from_secs(3), || {
        check_alive(&lab, &mut a)
    });
    let stats = stats_line(&lab, &mut a);
    figure!(
        "exhaustion/low limit: {low} descriptors among {} peers: busy {busy:.2} CPUs, \
         descriptors peak {fds_peak}, {} met; {stats}",
        crowd.len(),
        met(&a)
    );
    assert!(
        busy < 0.5,
        "the low node used {busy:.2} CPUs (a spin on accept?); {stats}\n{}",
        lab.report()
    );
    assert!(
        fds_peak < low.parse().unwrap(),
        "it ran out of descriptors ({fds_peak}); {stats}"
    );
    for peer in &mut crowd {
        check_alive(&lab, peer);
    }
    // The peers it could hold, it keeps: it EXITs none of those it
    // ENTERed (their connections to it are never shed, so it sees no gap
    // in their messages).
    let (held, not_held): (Vec<&JsonPeer>, Vec<&JsonPeer>) =
        crowd.iter().partition(|peer| a.count(enter_of(&peer.uuid)) > 0);
    let dropped: Vec<&str> = held
        .iter()
        .filter(|peer| exits_of(&a, peer) > 0)
        .map(|peer| peer.name.as_str())
        .collect();
    // A peer it never ENTERed never ENTERed it either, so sees no EXIT of
    // it: that peer ENTERs it on its PING-OK, sent over its link to the
    // peer, which carries its own PING as well, and the peer's answer
    // ENTERs the peer. (Before the ENTER waited
    // for the PING-OK, one that had its HELLO before a shortage cut its
    // link ENTERed it and then saw it EXIT: 7 of 28 in one of 5 runs.)
    // Not asserted (left undone, see the README): one it holds can lose
    // its messages when its link to that peer is re-made under the
    // shortage (a CI run: 1 of 33, twice).
    let saw_it_go = |peers: &[&JsonPeer]| peers.iter().filter(|peer| exits_of(peer, &a) > 0).count();
    let ghosts: Vec<&str> = not_held
        .iter()
        .filter(|peer| exits_of(peer, &a) > 0)
        .map(|peer| peer.name.as_str())
        .collect();
    figure!(
        "exhaustion/low limit {low}: it EXITed {} of the {} peers it held; {} of those and {} of the \
         {} not held saw it EXIT",
        dropped.len(),
        held.len(),
        saw_it_go(&held),
        saw_it_go(&not_held),
        not_held.len()
    );
    assert!(
        dropped.is_empty(),
        "it EXITed peers it held: {dropped:?}; {stats}\n{}",
        lab.report()
    );
    assert!(
        ghosts.is_empty(),
        "peers it never ENTERed saw it EXIT (so they had ENTERed it): {ghosts:?}; {stats}\n{}",
        lab.report()
    );
}

/// As [`held_inbound_connections_do_not_exhaust_a_node_with_1024_files`],
/// against a `zgossip_server` with 1 024 descriptors: before, libzmq took
/// every descriptor for the stranger's connections and spun on `accept`,
/// and two new gossip-only nodes could not reach the server to meet.
#[test]
fn held_connections_do_not_exhaust_a_gossip_server_with_1024_files() {
    let Some(lab) = lab_of("exhausts", "10.99.45", &[("s", 2), ("c", 4), ("d", 5), ("m", 66)]) else {
        return;
    };
    let bin = zre_bin();
    let nofile = format!("--nofile={NOFILE}:{NOFILE}");
    let mut server = lab.spawn(
        "s",
        "prlimit",
        &[
            &nofile,
            "--",
            &bin,
            "zgossip_server",
            "--json",
            "--bind",
            "tcp://*:31337",
        ],
        &[("RUST_LOG", "warn")],
    );
    server.wait_stdout("its READY", |l| l.contains("\"READY\""), WAIT);
    let attacker = hold_connections(&lab, "10.99.45", "10.99.45.66", "tcp://10.99.45.2:31337");
    thread::sleep(Duration::from_secs(1));
    let (busy, fds_peak) = busy_and_fds(server.pid(), Duration::from_secs(3), || {});
    let gossip = ["--no-beacon", "--gossip", "10.99.45.2:31337"];
    let mut c = node(&lab, "c", "c", &gossip, None);
    let d = node(&lab, "d", "d", &gossip, None);
    let met = met_within(&lab, &mut c, &d, PAIR_WITHIN);
    let done = attacker.stdout().tail(5);
    figure!(
        "exhaustion/gossip server: busy {busy:.2} CPUs while held; descriptors peak \
         {fds_peak} of {NOFILE}; two new nodes met through it: {met:.2?}; attacker: {done}"
    );
    check_all(&lab, "held connections to a gossip server", &[&met]);
    assert!(
        busy < 0.5,
        "the server used {busy:.2} CPUs (a spin on accept?)\n{}",
        lab.report()
    );
    assert!(
        fds_peak < NOFILE.parse().unwrap(),
        "the server ran out of descriptors ({fds_peak})"
    );
}

/// Forged goodbyes evict no live peer: a stranger listens for the LAN's
/// beacons and then sends, every 250 ms for 10 s, a port-0 ("leaving")
/// beacon with each UUID it heard (`attacker.py --only leaving`). Before
/// the fix one such beacon made every node EXIT and re-ENTER an idle live
/// peer, and a stream of them made the peers flap for as long as it came.
/// Three idle nodes: no EXIT of anyone, at anyone, during the forgery or
/// after it, and no second ENTER.
#[test]
fn forged_leaving_beacons_evict_no_live_peer() {
    let Some(lab) = lab_of("exhaustf", "10.99.46", &[("a", 2), ("b", 3), ("c", 4), ("m", 66)]) else {
        return;
    };
    let mut nodes: Vec<JsonPeer> = ["a", "b", "c"]
        .into_iter()
        .map(|host| node(&lab, host, host, &[], None))
        .collect();
    let uuids: Vec<String> = nodes.iter().map(|n| n.uuid.clone()).collect();
    for node in &mut nodes {
        let own = node.uuid.clone();
        for uuid in uuids.iter().filter(|u| **u != own) {
            node.wait_for("ENTER of a peer", enter_of(uuid), WAIT);
        }
    }
    let attacker = lab.spawn(
        "m",
        "python3",
        &[
            ATTACKER,
            "--only",
            "leaving",
            "--iface",
            "lan1",
            "--my-ip",
            "10.99.46.66",
            "--beacon-addr",
            "10.99.46.255",
            "--sniff-seconds",
            "3",
            "--beacon-seconds",
            "10",
        ],
        &[],
    );
    let deadline = Instant::now() + Duration::from_secs(40);
    while !attack_done(&attacker) && Instant::now() < deadline {
        for node in &mut nodes {
            check_alive(&lab, node);
        }
        thread::sleep(Duration::from_millis(200));
    }
    assert!(
        attack_done(&attacker),
        "attacker did not finish within 40 s\n{}",
        lab.report()
    );
    // Past the grace a claim gave (1 s) and a tick: a peer it evicted
    // would have had its EXIT by then.
    thread::sleep(Duration::from_secs(3));
    let done = attack_summary(&attacker);
    figure!("exhaustion/forged goodbyes: attacker: {done}");
    assert!(
        done.contains("\"uuids_heard\": 3"),
        "the attacker did not hear the three nodes: {done}"
    );
    let mut wrong = Vec::new();
    for at in &nodes {
        for of in nodes.iter().filter(|n| n.uuid != at.uuid) {
            let (enters, exits) = (at.count(enter_of(&of.uuid)), exits_of(at, of));
            if (enters, exits) != (1, 0) {
                wrong.push(format!(
                    "{} saw {} ENTER {enters}, EXIT {exits}",
                    at.name, of.name
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "live peers evicted: {wrong:?}\n{}",
        lab.report()
    );
}
