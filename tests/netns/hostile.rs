//! Hostile traffic on a real (namespaced) LAN: while two genuine nodes
//! exchange a steady, numbered SHOUT stream, a third host floods them with
//! junk (`tests/hostile/attacker.py`: random and malformed beacons, 10 000
//! fake UUIDs pointing at dead endpoints, random multipart messages with
//! identities of every length, HELLOs with huge counts, valid headers with
//! absurd sequence numbers, fake peers that HELLO and then fall silent).
//!
//! Asserted: neither node crashes; every genuine message arrives, once and
//! in order; the peer table (ready + pending, from `/stats`) never exceeds
//! `--max-peers` and the fake peers are gone within `--expired` (plus the
//! reap interval and slack) after the attack; the resident memory grows by
//! at most [`RSS_GROWTH_BOUND_KIB`] over the baseline. The figures are
//! printed (outside the test harness's capture) for the CI log.
//!
//! Needs root (network namespaces), python3 and pyzmq; skipped with a
//! message without them, unless `CI` is set (then it fails).

use crate::support::netns;
use crate::support::netns::{Event, JsonPeer, Lab, WAIT};
use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

const ATTACKER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hostile/attacker.py");

/// The peer-table limit of the genuine nodes: far below the 10 000 fake
/// UUIDs, so that it is hit.
const MAX_PEERS: usize = 64;
/// Short timers, so that fake peers expire within the test.
const EVASIVE_S: u64 = 1;
const EXPIRED_S: u64 = 5;
/// One message each way per this interval while the attack runs.
const STREAM_INTERVAL: Duration = Duration::from_millis(10);
/// Rounds of attack: the last shows whether memory keeps growing (a
/// leak) or stays where the earlier ones left it (the allocator keeping
/// it). Three, because how full the table gets in one round depends on
/// timing (the fresh-clone CI run saw beta at 37 of 64 peers in round 1
/// and 64 in round 2, 24 MiB more of legitimate peer state): the last
/// round is held against the largest earlier peak, which after two rounds
/// has almost always seen the table full.
const ROUNDS: usize = 3;
/// One round (attack and expiry) takes about 15 s; this is the bound.
const ROUND_LIMIT: Duration = Duration::from_secs(120);
/// How much higher the RSS peak of the last round may be than the largest
/// of the earlier rounds' peaks.
const REPEAT_GROWTH_BOUND_KIB: u64 = 16 * 1024;
/// The bound on resident-memory growth over the idle baseline, at any
/// sample during the attack and at its peak (VmHWM). What may legitimately
/// grow: the peer table (64 entries with their DEALERs, each with libzmq
/// pipes), the HELLO fields and group tables of fake peers until they
/// expire (the attacker's largest HELLO carries 2 000 groups and 200
/// headers), libzmq's receive buffers for up to a few hundred attacker
/// connections, and the malloc arenas of two threads. 64 MiB leaves room for
/// all of it; a leak per datagram or per message (tens of thousands of
/// them) or a table that ignores its limit would go through it.
///
/// Measured (7 Dec 2026, heaptrack on `zre` in this test, 3 rounds): peak
/// heap 61.7 MiB, of it libzmq's state for live connections ~54 MiB (the
/// pipes' 256-message chunks 32 MiB, decoder buffers 12 MiB, messages in
/// flight 6 MiB, encoder buffers 3 MiB) and our own under 3 MiB; the node
/// then had ~500 descriptors open, the attacker's connections nearly all
/// of them. So the growth follows how many of them are open at once, which
/// varies with timing (growth 40-49 MiB here, 55.7 MiB in one CI run).
/// Since the connections whose sender we refused (the attacker's junk and
/// fake peers beyond the table) are the first shed (8 Dec 2026), the
/// growth was 28-37 MiB in six runs, against 41-53 MiB in four runs of the
/// build before, in the same session.
const RSS_GROWTH_BOUND_KIB: u64 = 64 * 1024;

/// True when python3 can import zmq; otherwise skip (or fail in CI).
fn have_pyzmq() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import zmq"])
        .stdin(std::process::Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !netns::in_ci(),
            "python3 with pyzmq is needed for the attacker (pip install pyzmq); CI is set, so this fails"
        );
        eprintln!("SKIPPED hostile traffic: python3 with pyzmq is missing (pip install pyzmq)");
    }
    ok
}

#[derive(Debug, Clone, Copy, Default)]
struct Stats {
    peers: usize,
    pending: usize,
    backlog: usize,
    rss_kib: u64,
}

fn number(event: &Event, key: &str) -> usize {
    match event.json.get(key) {
        Some(netns::Json::Num(n)) => *n as usize,
        _ => panic!("STATS without {key}: {event}"),
    }
}

fn parse_stats(event: &Event) -> Stats {
    Stats {
        peers: number(event, "peers"),
        pending: number(event, "pending"),
        backlog: number(event, "backlog"),
        rss_kib: number(event, "rss_kib") as u64,
    }
}

/// Asks for `/stats` and waits for the answer (a STATS line on stdout).
fn stats(peer: &mut JsonPeer) -> Stats {
    let before = peer.count(|e| e.is("STATS"));
    peer.send_line("/stats");
    let deadline = Instant::now() + WAIT;
    loop {
        if peer.count(|e| e.is("STATS")) > before {
            let event = peer
                .events()
                .into_iter()
                .rev()
                .find(|e| e.is("STATS"))
                .expect("counted above");
            return parse_stats(&event);
        }
        assert!(
            Instant::now() < deadline,
            "{}: no STATS within {WAIT:?}\n{}",
            peer.name,
            peer.report()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// The SHOUT texts a node received from `from` in group `g`, in order.
fn stream_from(receiver: &JsonPeer, from: &JsonPeer) -> Vec<String> {
    receiver
        .events()
        .into_iter()
        .filter(|e| e.is("SHOUT") && e.peer() == from.uuid && e.group() == "g")
        .map(|e| e.content().join("|"))
        .collect()
}

/// Checks that `got` is exactly `prefix-0` … `prefix-(sent-1)`; panics
/// naming the first difference.
fn check_stream(what: &str, got: &[String], prefix: &str, sent: usize) {
    for (i, text) in got.iter().enumerate() {
        let want = format!("{prefix}-{i}");
        assert_eq!(
            text, &want,
            "{what}: message {i} is {text:?}, expected {want:?} (lost, reordered or duplicated)"
        );
    }
    assert_eq!(
        got.len(),
        sent,
        "{what}: {} of {sent} messages arrived",
        got.len()
    );
}

/// ENTER and EXIT events, and the EXITs of peers that had no ENTER first
/// (an application must never be told that a peer it never saw has left).
fn enters_and_exits(peer: &JsonPeer) -> (usize, usize, Vec<Event>) {
    let mut entered = std::collections::HashSet::new();
    let (mut enters, mut exits, mut unannounced) = (0, 0, Vec::new());
    for event in peer.events() {
        if event.is("ENTER") {
            enters += 1;
            entered.insert(event.peer().to_owned());
        } else if event.is("EXIT") {
            exits += 1;
            if !entered.remove(event.peer()) {
                unannounced.push(event);
            }
        }
    }
    (enters, exits, unannounced)
}

/// The latest STATS line of a node (searched in its recent output) and how
/// many STATS lines it has printed in all.
fn latest_stats(peer: &mut JsonPeer) -> (usize, Option<Stats>) {
    let is_stats = |l: &str| l.starts_with("{\"event\":\"STATS\"");
    let stdout = peer.child().stdout();
    let count = stdout.count(is_stats);
    let latest = stdout
        .tail(400)
        .lines()
        .rev()
        .find(|l| is_stats(l))
        .map(|l| parse_stats(&Event::parse(l)));
    (count, latest)
}

/// What one round of attack did to the two genuine nodes.
struct Round {
    summary: String,
    attack: Duration,
    /// From the attacker's end until both tables were back to the genuine
    /// peer alone.
    expiry: Duration,
    peak_rss: [u64; 2],
    rss_after: [u64; 2],
    /// STATS lines printed by each node before this round ended.
    stats_seen: [usize; 2],
}

#[test]
fn genuine_stream_survives_hostile_traffic() {
    if !have_pyzmq() {
        return;
    }
    let Some(mut lab) = Lab::new("hostile") else {
        return;
    };
    lab.lan(
        "lan1",
        "10.99.31.0/24",
        &[("a", "10.99.31.2"), ("b", "10.99.31.3"), ("m", "10.99.31.66")],
    );
    let max_peers = MAX_PEERS.to_string();
    let (evasive, expired) = (EVASIVE_S.to_string(), EXPIRED_S.to_string());
    let opts = [
        "--max-peers",
        &max_peers,
        "--evasive",
        &evasive,
        "--expired",
        &expired,
    ];
    // Warnings only: the flood would make debug logging the bottleneck.
    let env = [("RUST_LOG", "warn")];
    let mut a = JsonPeer::spawn_with_env(&lab, "a", "lan1", "alpha", &opts, &env);
    let mut b = JsonPeer::spawn_with_env(&lab, "b", "lan1", "beta", &opts, &env);
    let pids = [a.child().pid(), b.child().pid()];
    for (pid, name) in pids.iter().zip(["a", "b"]) {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        assert_eq!(
            comm.trim(),
            "zre",
            "pid {pid} of {name} is not the zre process itself"
        );
    }
    a.send_line("/join g");
    b.send_line("/join g");
    let (a_uuid, b_uuid) = (a.uuid.clone(), b.uuid.clone());
    a.wait_for("JOIN g of beta", |e| e.is("JOIN") && e.peer() == b_uuid, WAIT);
    b.wait_for("JOIN g of alpha", |e| e.is("JOIN") && e.peer() == a_uuid, WAIT);
    // Let both settle (first PINGs, allocator warm) before the baseline.
    thread::sleep(Duration::from_secs(2));
    let base = [stats(&mut a), stats(&mut b)];
    assert_eq!(
        (base[0].peers, base[0].pending),
        (1, 0),
        "alpha before the attack"
    );
    assert_eq!((base[1].peers, base[1].pending), (1, 0), "beta before the attack");

    // The steady stream, both ways, through every round: an attack, then
    // the fake peers' expiry. About every 250 ms each node is asked for
    // /stats (its answer is read from the output later: waiting for it
    // would slow the stream while a node is busy) and its RSS is read from
    // /proc.
    let inboxes = [a.endpoint.clone(), b.endpoint.clone()];
    let mut sent = 0usize;
    let mut rounds: Vec<Round> = Vec::new();
    for round in 0..ROUNDS {
        let seed = (0x0bad_5eed + round).to_string();
        let mut attacker = lab.spawn_as(
            &format!("attacker {}@m", round + 1),
            "m",
            "python3",
            &[
                ATTACKER,
                "--iface",
                "lan1",
                "--my-ip",
                "10.99.31.66",
                "--beacon-addr",
                "10.99.31.255",
                "--inbox",
                &inboxes[0],
                "--inbox",
                &inboxes[1],
                "--seed",
                &seed,
                "--max-seconds",
                "60",
                // Enough fake peers whose HELLOs are kept (not every kind
                // is: a bogus endpoint is refused, an absurd sequence
                // drops the peer) to fill the table beside the announced
                // ones, which take half of it at most: with the default
                // 60, 63 of 64 was the most since bogus endpoints are
                // refused, and the limit went untested.
                "--fake-hellos",
                "90",
            ],
            &[],
        );
        let started = Instant::now();
        let mut peak_rss = [0u64, 0u64];
        let mut attack_ended: Option<(Instant, [usize; 2])> = None;
        let mut next_sample = Instant::now();
        let done = loop {
            a.send_line(&format!("/shout g a-{sent}"));
            b.send_line(&format!("/shout g b-{sent}"));
            sent += 1;
            for peer in [&mut a, &mut b] {
                if let Some(status) = peer.child().try_status() {
                    panic!(
                        "{} ended during the attack: {status}\n{}",
                        peer.name,
                        lab.report()
                    );
                }
            }
            assert!(
                started.elapsed() < ROUND_LIMIT,
                "round {}: not over after {ROUND_LIMIT:?} (attacker ended: {})\n{}",
                round + 1,
                attack_ended.is_some(),
                lab.report()
            );
            if Instant::now() >= next_sample {
                next_sample = Instant::now() + Duration::from_millis(250);
                let mut latest = [(0, None), (0, None)];
                for (i, peer) in [&mut a, &mut b].into_iter().enumerate() {
                    let rss = netns::proc_status_kib(pids[i], "VmRSS").unwrap_or(0);
                    peak_rss[i] = peak_rss[i].max(rss);
                    latest[i] = latest_stats(peer);
                    peer.send_line("/stats");
                }
                match attack_ended {
                    None => {
                        if attacker.try_status().is_some() {
                            attack_ended = Some((Instant::now(), [latest[0].0, latest[1].0]));
                        }
                    }
                    // Over once both tables, in a STATS asked for after the
                    // attack, hold nothing but the genuine peer.
                    Some((ended, seen)) => {
                        let clean = latest.iter().zip(seen).all(|((count, s), before)| {
                            *count > before && s.is_some_and(|s| s.peers == 1 && s.pending == 0)
                        });
                        if clean {
                            break (ended, started, [latest[0].0, latest[1].0]);
                        }
                    }
                }
            }
            thread::sleep(STREAM_INTERVAL);
        };
        let (ended, started, stats_seen) = done;
        let status = attacker.try_status().expect("ended");
        let summary = attacker
            .stdout()
            .lines()
            .into_iter()
            .find(|l| l.starts_with("ATTACK-DONE "))
            .unwrap_or_else(|| panic!("the attacker did not finish ({status})\n{}", attacker.report()));
        assert!(status.success(), "attacker: {status}\n{}", attacker.report());
        rounds.push(Round {
            summary: summary.trim_start_matches("ATTACK-DONE ").to_owned(),
            attack: ended - started,
            expiry: ended.elapsed(),
            peak_rss,
            rss_after: pids.map(|pid| netns::proc_status_kib(pid, "VmRSS").unwrap_or(0)),
            stats_seen,
        });
    }

    // Every genuine message arrives, once, in order.
    let (last_a, last_b) = (format!("a-{}", sent - 1), format!("b-{}", sent - 1));
    b.wait_for(
        &format!("SHOUT {last_a}"),
        |e| e.is("SHOUT") && e.content() == [last_a.as_str()],
        WAIT,
    );
    a.wait_for(
        &format!("SHOUT {last_b}"),
        |e| e.is("SHOUT") && e.content() == [last_b.as_str()],
        WAIT,
    );
    check_stream("alpha -> beta", &stream_from(&b, &a), "a", sent);
    check_stream("beta -> alpha", &stream_from(&a, &b), "b", sent);
    for (peer, other) in [(&a, &b_uuid), (&b, &a_uuid)] {
        assert_eq!(
            peer.count(|e| e.is("EXIT") && e.peer() == other),
            0,
            "{} lost its genuine peer during the attack",
            peer.name
        );
    }

    // The table sizes the nodes reported, round by round.
    let mut max_table = [[0usize; 2]; ROUNDS];
    let mut max_backlog = [0usize; 2];
    for (i, peer) in [&a, &b].into_iter().enumerate() {
        let all: Vec<Stats> = peer
            .events()
            .iter()
            .filter(|e| e.is("STATS"))
            .map(parse_stats)
            .collect();
        for (n, s) in all.iter().enumerate() {
            let round = rounds
                .iter()
                .position(|r| n < r.stats_seen[i])
                .unwrap_or(ROUNDS - 1);
            max_table[round][i] = max_table[round][i].max(s.peers + s.pending);
            max_backlog[i] = max_backlog[i].max(s.backlog);
        }
    }
    // Since issue 24 a flood of announcements fills the unconfirmed half
    // of the table and the oldest gives way, logged as such; "peer table
    // full" is said only when peers that said HELLO fill it.
    let limit_warnings: Vec<usize> = [&mut a, &mut b]
        .into_iter()
        .map(|p| p.child().stderr().count(|l| l.contains("peer table full")))
        .collect();
    let hwm: Vec<u64> = pids
        .iter()
        .map(|pid| netns::proc_status_kib(*pid, "VmHWM").unwrap_or(0))
        .collect();
    let tallies: Vec<(usize, usize, Vec<Event>)> = [&a, &b].iter().map(|p| enters_and_exits(p)).collect();

    figure!(
        "hostile: genuine stream {sent} messages each way at {} ms intervals through {ROUNDS} rounds of \
         attack and expiry: all delivered once and in order, no EXIT of a genuine peer",
        STREAM_INTERVAL.as_millis()
    );
    for (n, r) in rounds.iter().enumerate() {
        figure!("hostile: round {}: attacker sent {}", n + 1, r.summary);
        figure!(
            "hostile: round {}: attack {:.1} s; fake peers gone from both tables {:.1} s after it \
             (expired = {EXPIRED_S} s); peer table max alpha {} / beta {} of {MAX_PEERS}; RSS peak \
             alpha {} KiB / beta {} KiB, after expiry {} KiB / {} KiB",
            n + 1,
            r.attack.as_secs_f64(),
            r.expiry.as_secs_f64(),
            max_table[n][0],
            max_table[n][1],
            r.peak_rss[0],
            r.peak_rss[1],
            r.rss_after[0],
            r.rss_after[1]
        );
    }
    for (i, name) in ["alpha", "beta"].into_iter().enumerate() {
        figure!(
            "hostile: {name}: RSS baseline {} KiB, VmHWM {} KiB (growth {} KiB, bound {} KiB); \
             \"peer table full\" warnings {}; fake ENTER {} / EXIT {} (EXIT without ENTER {}); \
             backlog max {}",
            base[i].rss_kib,
            hwm[i],
            hwm[i].saturating_sub(base[i].rss_kib),
            RSS_GROWTH_BOUND_KIB,
            limit_warnings[i],
            tallies[i].0 - 1,
            tallies[i].1,
            tallies[i].2.len(),
            max_backlog[i]
        );
    }

    for (i, name) in ["alpha", "beta"].into_iter().enumerate() {
        for (n, tables) in max_table.iter().enumerate() {
            assert!(
                tables[i] <= MAX_PEERS,
                "{name}: round {}: peer table reached {} entries, over the limit of {MAX_PEERS}",
                n + 1,
                tables[i]
            );
        }
        assert!(
            max_table.iter().any(|tables| tables[i] == MAX_PEERS),
            "{name}: the peer limit was never reached, so it was not tested"
        );
        assert!(
            tallies[i].2.is_empty(),
            "{name}: EXIT without an ENTER first: {:?}",
            tallies[i].2.iter().map(|e| e.raw.as_str()).collect::<Vec<_>>()
        );
        let peaks = rounds.iter().map(|r| r.peak_rss[i]).chain([hwm[i]]);
        for kib in peaks {
            assert!(
                kib <= base[i].rss_kib + RSS_GROWTH_BOUND_KIB,
                "{name}: RSS grew from {} KiB to {kib} KiB, over the bound of {RSS_GROWTH_BOUND_KIB} KiB",
                base[i].rss_kib
            );
        }
        // The same attack again costs (almost) nothing more: what the
        // earlier rounds left is reused, not leaked.
        let earlier = rounds[..ROUNDS - 1]
            .iter()
            .map(|r| r.peak_rss[i])
            .max()
            .unwrap_or(0);
        let last = rounds[ROUNDS - 1].peak_rss[i];
        assert!(
            last <= earlier + REPEAT_GROWTH_BOUND_KIB,
            "{name}: RSS peak grew from {earlier} KiB (largest of rounds 1-{}) to {last} KiB in round {ROUNDS}: a leak?",
            ROUNDS - 1
        );
    }
    a.quit(WAIT);
    b.quit(WAIT);
}

// ---- the same abuse against the core alone (no namespaces, no root) -------

mod core {
    use std::time::Instant;
    use uuid::Uuid;
    use zre::core::{CoreConfig, Event, NodeCore, peer_identity};
    use zre::wire::{Body, Hello, ZreMessage};

    fn target(now: Instant) -> NodeCore {
        let config = CoreConfig::new(Uuid::from_u128(1), "target", "tcp://10.99.0.1:41000", 41000);
        NodeCore::new(config, now)
    }

    fn hello(sequence: u16, groups: Vec<&str>) -> Vec<u8> {
        ZreMessage {
            sequence,
            body: Body::Hello(Box::new(Hello {
                endpoint: "tcp://10.99.0.66:20000",
                groups,
                status: 0,
                name: "fake",
                headers: Vec::new(),
            })),
        }
        .to_bytes()
        .unwrap()
    }

    fn events(core: &mut NodeCore) -> Vec<Event> {
        std::iter::from_fn(|| core.poll_event()).collect()
    }

    /// Regression: a HELLO whose sequence number is not 1 (the hostile test
    /// sends 65535) was accepted, marked ready and then dropped for the
    /// sequence gap: the application got an EXIT (with an empty name) for
    /// a peer it had never been told about.
    #[test]
    fn a_hello_with_a_bad_sequence_is_no_enter_and_no_exit() {
        let now = Instant::now();
        let mut core = target(now);
        let fake = Uuid::from_u128(0xfa4e);
        core.handle_message(now, &peer_identity(&fake), &hello(65535, vec!["g"]), Vec::new());
        let seen = events(&mut core);
        assert!(
            !seen
                .iter()
                .any(|e| matches!(e, Event::Enter { .. } | Event::Exit { .. } | Event::Join { .. })),
            "events for a HELLO with sequence 65535: {seen:?}"
        );
        assert!(core.peers().is_empty(), "the peer is ready: {:?}", core.peers());

        // A peer that did enter and then sends a HELLO with a bad sequence
        // leaves once: one EXIT, for the ENTER it had.
        core.handle_message(now, &peer_identity(&fake), &hello(1, vec!["g"]), Vec::new());
        // Its PING-OK to the PING that went with our HELLO: entered.
        let ping_ok = ZreMessage {
            sequence: 2,
            body: Body::PingOk,
        };
        core.handle_message(
            now,
            &peer_identity(&fake),
            &ping_ok.to_bytes().unwrap(),
            Vec::new(),
        );
        assert!(matches!(events(&mut core).first(), Some(Event::Enter { .. })));
        core.handle_message(now, &peer_identity(&fake), &hello(7, vec!["g"]), Vec::new());
        let exits = events(&mut core)
            .into_iter()
            .filter(|e| matches!(e, Event::Exit { .. }))
            .count();
        assert_eq!(exits, 1, "EXITs after a bad second HELLO");
    }

    /// One HELLO of 0.8 MB names 100 000 groups; each costs the node about
    /// 500 bytes (group table, membership, a JOIN event): +48 MiB of RSS
    /// for one message, measured with `zre --json` on loopback, and a HELLO
    /// (or a stream of JOINs) up to the 64 MiB message limit is gigabytes.
    /// Any fake peer can do it, `max_peers` of them at once. A per-peer
    /// group limit (with a warning) would bound it; which limit is the
    /// owner's call, so this only asks for one below 10 000.
    #[test]
    fn one_peer_cannot_fill_the_group_table() {
        let now = Instant::now();
        let mut core = target(now);
        let names: Vec<String> = (0..100_000).map(|n| format!("{n:x}")).collect();
        let groups: Vec<&str> = names.iter().map(String::as_str).collect();
        let fake = Uuid::from_u128(0xfa4e);
        core.handle_message(now, &peer_identity(&fake), &hello(1, groups), Vec::new());
        let joins = events(&mut core)
            .into_iter()
            .filter(|e| matches!(e, Event::Join { .. }))
            .count();
        assert!(
            core.peer_groups().len() < 10_000 && joins < 10_000,
            "one HELLO made {} groups and {joins} JOIN events",
            core.peer_groups().len()
        );
    }
}
