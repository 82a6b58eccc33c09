//! Issue 25 in virtual time: what the network does to a node (its address
//! changes, a CURVE handshake fails, two nodes claim one endpoint) must
//! never leave a peer ENTERed that cannot be reached both ways, nor make
//! peers flap, nor leave a member of a contested group without the
//! leader the others agree on. The namespace versions are in
//! `tests/netns/network_faults.rs`.

use crate::lan_sim::{Lan, XorShift, text};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use zre::core::Frame;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A is renumbered (DHCP: `ip addr del` + `ip addr add`); its shell
/// rebinds and tells the core. B sees at most one EXIT and one ENTER of A,
/// then links to the new endpoint, and WHISPERs go both ways again.
#[test]
fn a_renumbered_node_is_met_again_at_its_new_endpoint_once() {
    let mut lan = Lan::new();
    let a = lan.add("a");
    let b = lan.add("b");
    lan.run_for(secs(3));
    let (ua, ub) = (lan.uuid(a), lan.uuid(b));
    assert_eq!(lan.count(b, "ENTER", ua), 1);
    assert_eq!(lan.count(a, "ENTER", ub), 1);
    lan.clear_events();

    let new_ip = IpAddr::V4(Ipv4Addr::new(10, 25, 0, 99));
    lan.renumber(a, new_ip, true);
    lan.run_for(secs(40));

    // One EXIT and one ENTER at most, at either end; none after.
    for (node, peer) in [(b, ua), (a, ub)] {
        let exits = lan.count(node, "EXIT", peer);
        let enters = lan.count(node, "ENTER", peer);
        assert!(
            exits <= 1 && enters <= 1 && enters == exits,
            "node {node}: {exits} EXIT, {enters} ENTER"
        );
    }
    assert_eq!(
        lan.nodes[b].core.peer_endpoint(ua),
        Some("tcp://10.25.0.99:41000"),
        "B links to A's new endpoint"
    );
    lan.clear_events();
    lan.run_for(secs(30));
    assert_eq!(
        lan.count(b, "EXIT", ua) + lan.count(b, "ENTER", ua),
        0,
        "B: {:?}",
        lan.nodes[b].events
    );
    lan.whispers_go_both_ways(a, b);
}

/// A and B are renumbered at once (both shells rebind before either
/// HELLO for the new endpoints arrives): each meets the other again at
/// the endpoint it knew, which is dead now, and waits there for a HELLO
/// that went to the other's old endpoint too, while the other's beacons
/// from its new address kept the waiting entry alive. Found by the CURVE
/// chaos schedule (seed 1796490671294937263: n1 and n3, renumbered 0.6 s
/// apart, never met again). An announcement of a peer that never said
/// HELLO at another endpoint than the one we wait at is where it is now:
/// both meet again, once, and WHISPERs go both ways, in plain and in
/// CURVE mode.
#[test]
fn two_nodes_renumbered_at_once_meet_again() {
    for curve in [false, true] {
        let mut lan = Lan::new();
        let (mut config_a, mut config_b) = (Lan::config(0, "a"), Lan::config(1, "b"));
        if curve {
            config_a.curve_public_key = Some([0x41; 32]);
            config_b.curve_public_key = Some([0x42; 32]);
        }
        let a = lan.add_with(config_a);
        let b = lan.add_with(config_b);
        lan.run_for(secs(3));
        let (ua, ub) = (lan.uuid(a), lan.uuid(b));
        assert_eq!(lan.count(b, "ENTER", ua), 1, "curve {curve}");
        assert_eq!(lan.count(a, "ENTER", ub), 1, "curve {curve}");
        lan.clear_events();

        lan.renumber(a, IpAddr::V4(Ipv4Addr::new(10, 25, 0, 98)), true);
        lan.renumber(b, IpAddr::V4(Ipv4Addr::new(10, 25, 0, 99)), true);
        lan.run_for(secs(20));
        for (node, peer) in [(b, ua), (a, ub)] {
            let (exits, enters) = (lan.count(node, "EXIT", peer), lan.count(node, "ENTER", peer));
            assert!(
                exits == 1 && enters == 1,
                "curve {curve}: node {node}: {exits} EXIT, {enters} ENTER of the other: {:?}",
                lan.nodes[node].events
            );
        }
        assert_eq!(
            lan.nodes[a].core.peer_endpoint(ub),
            Some("tcp://10.25.0.99:41000")
        );
        assert_eq!(
            lan.nodes[b].core.peer_endpoint(ua),
            Some("tcp://10.25.0.98:41000")
        );
        lan.clear_events();
        lan.run_for(secs(20));
        for (node, peer) in [(b, ua), (a, ub)] {
            assert_eq!(lan.count(node, "EXIT", peer) + lan.count(node, "ENTER", peer), 0);
        }
        lan.nodes[a].core.whisper(ub, text("a-to-b")).unwrap();
        lan.nodes[b].core.whisper(ua, text("b-to-a")).unwrap();
        lan.run_for(secs(1));
        assert_eq!(lan.whispers(b, ua), ["a-to-b"], "curve {curve}");
        assert_eq!(lan.whispers(a, ub), ["b-to-a"], "curve {curve}");
    }
}

/// Between every two of `nodes`: at most one EXIT and one ENTER of the
/// other (a renumbered peer is a new session, once; a newcomer is only
/// ENTERed), each ends linked to
/// where the other is, and WHISPERs go both ways.
fn met_again_once(lan: &mut Lan, nodes: &[usize], case: &str) {
    for &node in nodes {
        for &other in nodes.iter().filter(|&&o| o != node) {
            let peer = lan.uuid(other);
            let (exits, enters) = (lan.count(node, "EXIT", peer), lan.count(node, "ENTER", peer));
            // (A newcomer: one ENTER, no EXIT.)
            assert!(
                exits <= 1 && enters <= 1 && enters >= exits,
                "{case}: node {node}: {exits} EXIT, {enters} ENTER of node {other}: {:?}",
                lan.nodes[node].events
            );
            let endpoint = lan.nodes[other].core.endpoint().to_owned();
            assert_eq!(
                lan.nodes[node].core.peer_endpoint(peer),
                Some(endpoint.as_str()),
                "{case}: node {node} links to node {other} where it is: {:?}",
                lan.nodes[node].events
            );
        }
    }
    for (i, &a) in nodes.iter().enumerate() {
        for &b in &nodes[i + 1..] {
            lan.whispers_go_both_ways(a, b);
        }
    }
}

/// Two nodes on one fixed port swap addresses (DHCP leases, a field
/// trial's `ip addr` swap), each noticing at its own time. An observer
/// saw B's HELLO claim A's old endpoint and opened a contest there, A's
/// HELLO from B's old endpoint made A a new session (EXIT and ENTER), and
/// then the contest, run out, took A's *new* entry for the holder it had
/// opened with: A EXITed again ("replaced", although A was where it said)
/// and B got the link to A's new address, so neither was reached until
/// they expired (55-60 s in the trial). A contest's holder that leaves
/// the table is gone from that contest: a later entry under its UUID is
/// another session, at another endpoint.
#[test]
fn two_nodes_that_swap_addresses_are_met_again_once() {
    for (first, second) in [(0, 1), (1, 0)] {
        let mut lan = Lan::new();
        let a = lan.add("a");
        let b = lan.add("b");
        let c = lan.add("c");
        lan.run_for(secs(3));
        lan.clear_events();
        let (ip_a, ip_b) = (lan.nodes[a].ip, lan.nodes[b].ip);
        let moves = [(a, ip_b), (b, ip_a)];
        lan.renumber(moves[first].0, moves[first].1, true);
        lan.settle();
        lan.renumber(moves[second].0, moves[second].1, true);
        // Met again within two ticks: no liveness timer (an evasive
        // period) stands between the move and the ENTER.
        lan.run_for(secs(2));
        met_again_once(&mut lan, &[a, b, c], &format!("node {first} first"));
        lan.clear_events();
        lan.run_for(secs(60));
        for node in [a, b, c] {
            assert!(
                lan.nodes[node]
                    .events
                    .iter()
                    .all(|e| !matches!(e, zre::core::Event::Enter { .. } | zre::core::Event::Exit { .. })),
                "node {node} after: {:?}",
                lan.nodes[node].events
            );
        }
    }
}

/// The same kind with a newcomer: A is renumbered, and a new node D
/// starts at A's old address on the same fixed port at once. Its HELLO
/// contested A's old endpoint; A's from its new address restarted A; the
/// contest then took A's new entry for its holder: A EXITed twice and D
/// waited for an expiry (42 s in the trial). Now A is met again once, D
/// once, and both are reached.
#[test]
fn a_newcomer_at_a_renumbered_nodes_old_address_takes_it_without_a_flap() {
    // A's shell notices its new address within a second or so of the
    // move (it checks once a second), and D starts as A moves: D's HELLO
    // opens the contest at B, and A's comes before the contest runs out
    // (1 s after it opened) or after. Before the fix, 10 of the first 20
    // failed (1.0-1.9 s).
    let new_ip = IpAddr::V4(Ipv4Addr::new(10, 25, 0, 99));
    for delay in (0..=40).map(|tenths| Duration::from_millis(100 * tenths)) {
        let mut lan = Lan::new();
        let a = lan.add("a");
        let b = lan.add("b");
        lan.run_for(secs(3));
        lan.clear_events();
        let old = lan.nodes[a].core.endpoint().to_owned();
        lan.renumber(a, new_ip, false);
        let mut config = Lan::config(2, "d");
        config.endpoint = old;
        let d = lan.add_with(config);
        lan.run_for(delay);
        lan.renumber(a, new_ip, true);
        // Within the contest's wait (1 s) and two ticks.
        lan.run_for(secs(3));
        met_again_once(
            &mut lan,
            &[a, b, d],
            &format!("A renumbered {delay:?} after D started"),
        );
    }
}

/// The fault's kind in the simulation: a node whose address changed and
/// that goes on unaware keeps reaching its peers (its DEALERs reconnect
/// from the new address) while they reach it no more: their WHISPERs are
/// lost without an EXIT. This is what `change_endpoint` is for.
#[test]
fn an_unnoticed_renumbering_loses_whispers_to_the_node_without_exit() {
    let mut lan = Lan::new();
    let a = lan.add("a");
    let b = lan.add("b");
    lan.run_for(secs(3));
    let (ua, ub) = (lan.uuid(a), lan.uuid(b));
    lan.clear_events();
    lan.renumber(a, IpAddr::V4(Ipv4Addr::new(10, 25, 0, 99)), false);
    lan.run_for(secs(10));
    lan.nodes[b].core.whisper(ua, text("b-to-a")).unwrap();
    lan.run_for(secs(1));
    assert!(lan.whispers(a, ub).is_empty());
    assert_eq!(lan.count(b, "EXIT", ua), 0, "B never learns A is unreachable");
}

/// Two CURVE nodes where B's inbox refuses A's key (its allow-list), while
/// B's link to A works: A gets B's HELLO, but our DEALER to B fails its
/// handshake. A must not ENTER B (WHISPERs to it would pile up unsent);
/// once B lets A in, both ENTER and WHISPERs go both ways.
#[test]
fn a_curve_peer_we_cannot_handshake_with_is_not_entered() {
    let mut lan = Lan::new();
    let mut config_a = Lan::config(0, "a");
    config_a.curve_public_key = Some([0x41; 32]);
    let mut config_b = Lan::config(1, "b");
    config_b.curve_public_key = Some([0x42; 32]);
    let a = lan.add_with(config_a);
    let b = lan.add_with(config_b);
    let (ua, ub) = (lan.uuid(a), lan.uuid(b));
    lan.handshake_fails.insert((a, b));
    lan.run_for(secs(12));
    assert_eq!(lan.count(a, "ENTER", ub), 0, "A: {:?}", lan.nodes[a].events);
    assert_eq!(lan.count(b, "ENTER", ua), 0, "B: {:?}", lan.nodes[b].events);
    assert!(
        lan.nodes[a].core.whisper(ub, text("lost")).is_err(),
        "A accepts WHISPERs for B"
    );
    assert!(lan.nodes[a].core.peers().is_empty());

    // B's allow-list takes A's key: libzmq's next try gets through (here:
    // the next send on that link).

    lan.handshake_fails.clear();
    lan.run_for(secs(12));
    // Both entered now. (Not yet asserted: the sessions settle with up to
    // two more EXIT/ENTER pairs at A after the healing, HELLOs B repeated
    // while A could not answer; see the report of issue 25.)
    for (node, peer) in [(a, ub), (b, ua)] {
        let enters = lan.count(node, "ENTER", peer);
        let exits = lan.count(node, "EXIT", peer);
        assert!(
            enters >= 1 && enters == exits + 1,
            "node {node}: {:?}",
            lan.nodes[node].events
        );
    }
    lan.whispers_go_both_ways(a, b);
}

/// A link that got through its handshake and later fails it on a
/// reconnect (the peer's inbox now refuses our key) is a peer we cannot
/// send to any more: EXIT, said once.
#[test]
fn a_peer_whose_handshake_fails_after_it_entered_exits() {
    let mut lan = Lan::new();
    let mut config_a = Lan::config(0, "a");
    config_a.curve_public_key = Some([0x41; 32]);
    let mut config_b = Lan::config(1, "b");
    config_b.curve_public_key = Some([0x42; 32]);
    let a = lan.add_with(config_a);
    let b = lan.add_with(config_b);
    lan.run_for(secs(3));
    let ub = lan.uuid(b);
    assert_eq!(lan.count(a, "ENTER", ub), 1);
    let now = lan.now;
    lan.nodes[a].core.handle_link_failed(now, ub);
    lan.settle();
    assert_eq!(lan.count(a, "EXIT", ub), 1);
    assert!(lan.nodes[a].core.whisper(ub, text("x")).is_err());
}

/// Two live nodes advertise one endpoint (a copied `--endpoint`) that
/// reaches neither, or only one of them: on a real LAN, as here, our link
/// to that endpoint does not carry our HELLO to the other, so it expires
/// us after its evasive timeout and says HELLO again, a new session each
/// time. Each such restart removed the holder of the endpoint, which
/// forgot whom it had beaten, so the other claimant took the endpoint at
/// its next HELLO: ENTER E1, EXIT E1, ENTER E2, EXIT E2 … for ever (the
/// simulation's two claimants never restarted their sessions).
///
/// The kind is an ENTER for a peer our link does not reach: now the two
/// HELLOs for one endpoint open a contest that a PING on our link decides
/// (`src/core/node/contest.rs`), and the endpoint stays disputed, so a
/// claimant is ENTERed only once it answers there. After the first minute
/// nothing flaps; where e1 listens at the endpoint, e1 is the one entered,
/// and a WHISPER to it arrives; where nobody listens, nobody is entered.
#[test]
fn two_claimants_of_one_endpoint_that_restart_their_sessions_do_not_take_turns() {
    // Nobody's address, then e1's own endpoint.
    for advertised in ["tcp://10.25.0.200:41000", "tcp://10.25.0.3:41000"] {
        let mut lan = Lan::new();
        let o = lan.add("observer");
        let e1 = lan.add_advertising("e1", advertised);
        let e2 = lan.add_advertising("e2", advertised);
        lan.run_for(secs(60));
        lan.clear_events();
        lan.run_for(secs(120));
        let entered: Vec<usize> = [e1, e2]
            .into_iter()
            .filter(|&e| lan.count(o, "ENTER", lan.uuid(e)) > 0)
            .collect();
        assert!(
            entered.len() <= 1,
            "{advertised}: both claimants ENTERed the observer in turn: {:?}",
            lan.nodes[o].events
        );
        let flips = lan.nodes[o]
            .events
            .iter()
            .filter(|e| matches!(e.kind(), "ENTER" | "EXIT"))
            .count();
        assert_eq!(flips, 0, "{advertised}: {:?}", lan.nodes[o].events);
        if advertised == "tcp://10.25.0.3:41000" {
            // e1 listens there: it holds the endpoint, both ways work.
            let u1 = lan.uuid(e1);
            assert_eq!(lan.nodes[o].core.peers(), vec![u1], "{advertised}");
            lan.nodes[o].core.whisper(u1, text("to e1")).unwrap();
            lan.run_for(secs(1));
            assert_eq!(lan.whispers(e1, lan.uuid(o)), ["to e1"]);
        } else {
            // Nobody listens there: nobody to ENTER.
            assert!(lan.nodes[o].core.peers().is_empty(), "{advertised}");
        }
    }
}

/// A LAN of `nodes` with the chaos schedules' timeouts (evasive 1 s,
/// expired 4 s), every node in group `g`.
fn chaos_lan(nodes: usize) -> Lan {
    let mut lan = Lan::new();
    for i in 0..nodes {
        let mut config = Lan::config(i, &format!("n{i}"));
        config.evasive = secs(1);
        config.expired = secs(4);
        lan.add_with(config);
        lan.nodes[i].core.join("g").unwrap();
    }
    lan
}

/// The seeds of a seeded test and a generator for each: `{PREFIX}_SEED`
/// (else `first`) and the `{PREFIX}_RUNS - 1` (else `runs - 1`) after it,
/// printed so that a failure can be replayed.
fn seeds(title: &str, prefix: &str, first: u64, runs: u64) -> impl Iterator<Item = (u64, XorShift)> {
    let var = |name: &str, default: u64| {
        std::env::var(format!("{prefix}_{name}"))
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (first, runs) = (var("SEED", first), var("RUNS", runs).max(1));
    println!("{title}: {prefix}_SEED={first} and the {} after it", runs - 1);
    (first..first + runs).map(|seed| (seed, XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)))
}

/// Starts a fault at `node`: a stop (SIGSTOP) or, if not `stopped`, its
/// link down.
fn strike(lan: &mut Lan, node: usize, stopped: bool) {
    if stopped {
        lan.stop(node);
    } else {
        lan.link_down(node);
    }
}

/// Ends the fault [`strike`] started.
fn heal(lan: &mut Lan, node: usize, stopped: bool) {
    if stopped {
        lan.resume(node);
    } else {
        lan.link_up(node);
    }
}

/// The pairs not met both ways, or with an ENTER or EXIT since the events
/// were last cleared: one line each, after `case`.
fn unsettled_pairs(lan: &Lan, case: &str) -> Vec<String> {
    pairs_wrong(lan, case, true)
}

/// The pairs not met both ways (and, `with_flaps`, those with an ENTER or
/// EXIT since the events were last cleared): one line each.
fn pairs_wrong(lan: &Lan, case: &str, with_flaps: bool) -> Vec<String> {
    let nodes = lan.nodes.len();
    let mut lines = Vec::new();
    for a in 0..nodes {
        for b in (0..nodes).filter(|&b| b != a) {
            let ub = lan.uuid(b);
            let flaps = lan.count(a, "ENTER", ub) + lan.count(a, "EXIT", ub);
            let entered = lan.nodes[a].core.peers().contains(&ub);
            if (with_flaps && flaps > 0) || !entered {
                lines.push(format!(
                    "{case}: n{a} about n{b}: {flaps} ENTER/EXIT since the faults, entered now: {entered}"
                ));
            }
        }
    }
    lines
}

/// A node stopped (SIGSTOP) for longer than its peers' expired timeout,
/// then resumed: each side removed the other (EXIT), and must meet the
/// other again once, for good. Found by the mixed chaos schedule (seed
/// 1796505080178254327: n2 stopped 7.8 s with expired 4 s; afterwards n2
/// and n10 ENTERed and EXITed each other in turn every 13 s, each ENTER
/// one-sided). Swept over how long the stop lasts and where it falls
/// against the beacons and ticks, with two and three nodes.
#[test]
fn a_node_stopped_past_its_peers_expiry_meets_them_again_for_good() {
    let mut failures = Vec::new();
    for nodes in [2, 3] {
        for phase_ms in (0..1000).step_by(100) {
            for stop_ms in (4_100..12_000).step_by(300) {
                let mut lan = chaos_lan(nodes);
                lan.run_for(secs(3) + Duration::from_millis(phase_ms));
                lan.stop(0);
                lan.run_for(Duration::from_millis(stop_ms));
                lan.resume(0);
                // Met again within a few beacons; then nothing changes.
                lan.run_for(secs(10));
                lan.clear_events();
                lan.run_for(secs(30));
                let case = format!("{nodes} nodes, phase {phase_ms} ms, stopped {stop_ms} ms");
                failures.extend(unsettled_pairs(&lan, &case));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 540 cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The chaos schedule's case exactly (seed 1796505080178254327): A is
/// stopped right after it sent B its HELLO, before it read B's, and
/// stays stopped past B's expired timeout while the group's SHOUTs go on.
/// B removes A, closing its link, and what it sent A there is lost with
/// it (libzmq ends the inbox's pipe). Each must then meet the other once
/// more and stay met, not take turns at an ENTER the other does not share:
/// each side's HELLO went to an entry the other has since dropped, and the
/// entry waiting for the other's HELLO is kept by its beacons, so neither
/// greeted again until a PING from a peer we wait for made us (it failed
/// in all 108 cases before).
#[test]
fn a_node_stopped_while_met_one_way_meets_again_for_good() {
    let mut failures = Vec::new();
    for nodes in [2, 3] {
        for stop_ms in (4_100..12_000).step_by(300) {
            for traffic in [false, true] {
                let mut lan = chaos_lan(nodes);
                lan.stop_after_hello = Some(1);
                let mut elapsed = Duration::ZERO;
                let mut resumed = false;
                let mut stopped_at = None;
                while elapsed < secs(60) {
                    let step = Duration::from_millis(100);
                    lan.run_for(step);
                    elapsed += step;
                    if stopped_at.is_none() && lan.is_stopped(1) {
                        stopped_at = Some(elapsed);
                    }
                    if let Some(at) = stopped_at.filter(|_| !resumed)
                        && elapsed >= at + Duration::from_millis(stop_ms)
                    {
                        lan.resume(1);
                        resumed = true;
                    }
                    if elapsed == secs(30) {
                        lan.clear_events();
                    }
                    if traffic && elapsed.as_millis() % 500 == 0 {
                        for i in 0..nodes {
                            if !lan.is_stopped(i) {
                                lan.nodes[i].core.shout("g", text("tick")).unwrap();
                            }
                        }
                    }
                }
                let case = format!("{nodes} nodes, stopped {stop_ms} ms, traffic {traffic}");
                if !resumed {
                    failures.push(format!("{case}: never stopped"));
                    continue;
                }
                failures.extend(unsettled_pairs(&lan, &case));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Seeded runs of four nodes SHOUTing to one group every 100 ms while
/// one node at a time is stopped or loses its link for 0.5 to 8 s
/// (expired 4 s). After 20 s of calm every pair is met both ways, and
/// nobody ENTERs or EXITs anybody in the last 15 s: no flap, no restart
/// storm. `FAULTS_SEED=n` replays one seed; `FAULTS_RUNS=k` runs k seeds.
#[test]
fn seeded_stops_and_link_outages_leave_no_flap() {
    let mut failures = Vec::new();
    for (seed, mut rng) in seeds("stops and outages", "FAULTS", 0x5EED_0001, 40) {
        let nodes = 4;
        let mut lan = chaos_lan(nodes);
        let step = Duration::from_millis(100);
        let mut elapsed = Duration::ZERO;
        // (node, stopped rather than cut off, until)
        let mut fault: Option<(usize, bool, Duration)> = None;
        let mut next_fault = secs(2);
        let mut armed: Option<(usize, Duration)> = None;
        let mut then_stop: Option<(usize, Duration)> = None;
        let (faults_end, end) = (secs(40), secs(75));
        while elapsed < end {
            lan.run_for(step);
            elapsed += step;
            if let Some((node, stopped, _)) = fault.filter(|f| elapsed >= f.2) {
                heal(&mut lan, node, stopped);
                fault = None;
                if let Some((then, span)) = then_stop.take().filter(|(then, _)| *then == node) {
                    lan.stop_after_hello = Some(then);
                    armed = Some((then, span));
                }
                next_fault = elapsed + Duration::from_millis(rng.below(3000) as u64);
            }
            // A stop armed to strike mid-exchange (right after the node's
            // next send to one peer) has struck.
            if let Some((node, span)) = armed.filter(|(node, _)| lan.is_stopped(*node)) {
                armed = None;
                fault = Some((node, true, elapsed + span));
            }
            if fault.is_none() && armed.is_none() && elapsed >= next_fault && elapsed < faults_end {
                let node = rng.below(nodes);
                let span = Duration::from_millis(500 + rng.below(7500) as u64);
                match rng.below(3) {
                    0 => {
                        lan.stop(node);
                        fault = Some((node, true, elapsed + span));
                    }
                    1 => {
                        lan.link_down(node);
                        fault = Some((node, false, elapsed + span));
                    }
                    _ => {
                        // Cut off long enough to be dropped, then stopped
                        // mid-meeting: right after its next HELLO.
                        lan.link_down(node);
                        fault = Some((node, false, elapsed + secs(5)));
                        then_stop = Some((node, span));
                    }
                }
            }
            if elapsed == end - secs(15) {
                lan.clear_events();
            }
            if elapsed.as_millis() % 100 == 0 {
                for i in 0..nodes {
                    if !lan.is_stopped(i) {
                        lan.nodes[i].core.shout("g", text("tick")).unwrap();
                    }
                }
            }
        }
        failures.extend(unsettled_pairs(&lan, &format!("FAULTS_SEED={seed}")));
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// What is wrong with the leaders of `group` at `lan`: every node in it
/// must report (by `leader()`) the smallest contesting UUID among them,
/// with no election under way (a lone member: none, or itself if it
/// contests, as the namespace checker allows); one line per node that
/// does not.
fn leaders_wrong(lan: &Lan, group: &str, contests: &[bool], case: &str) -> Vec<String> {
    let members: Vec<usize> = (0..lan.nodes.len())
        .filter(|&i| lan.nodes[i].core.own_groups().contains(&group))
        .collect();
    let expected = members
        .iter()
        .filter(|&&i| contests[i])
        .map(|&i| lan.uuid(i))
        .min()
        .filter(|_| members.len() >= 2);
    let mut lines = Vec::new();
    for &i in &members {
        let core = &lan.nodes[i].core;
        let (leader, busy) = (core.leader(group), core.election_in_progress(group));
        // A lone member may keep itself as leader if it contests.
        let alone_ok = expected.is_none() && leader.is_none_or(|l| contests[i] && l == lan.uuid(i));
        if (leader != expected && !alone_ok) || busy {
            lines.push(format!(
                "{case}: n{i} in {group}: leader {leader:?}, election under way: {busy}, expected {expected:?}"
            ));
        }
    }
    lines
}

/// Elections under the chaos schedules' faults, prompted by its namespace
/// run of seed 1796517932038083373 in CI, whose leaders had not agreed
/// 30 s after membership converged: six nodes, every other one contesting
/// `g` and `h`, go through seeded stops, link outages and joins and
/// leaves of `h`. Within `AGREE` of the last fault every member of each
/// group reports the smallest contester in it. Before the fixes 3 seeds in
/// 400 left a member with no leader: one that met a member again while
/// its wave was deciding the leader dropped the wave (the challenger saw
/// no change and never restarted; seed 3790340097, the first), or a
/// contester kept a leader from before a join after following a wave of
/// a challenger that had left (3790340147). `ELECT_SEED=n` replays one
/// seed; `ELECT_RUNS=k` runs k seeds.
#[test]
fn seeded_faults_and_churn_leave_one_leader_per_group() {
    const AGREE: Duration = Duration::from_secs(15);
    let mut failures = Vec::new();
    for (seed, mut rng) in seeds("elections under faults", "ELECT", 0xE1EC_0001, 160) {
        let nodes = 6;
        let contests: Vec<bool> = (0..nodes).map(|i| i % 2 == 0).collect();
        let mut lan = chaos_lan(nodes);
        for (node, &contest) in lan.nodes.iter_mut().zip(&contests) {
            if contest {
                node.core.contest("g").unwrap();
                node.core.contest("h").unwrap();
            }
            node.core.join("h").unwrap();
        }
        let step = Duration::from_millis(100);
        let mut elapsed = Duration::ZERO;
        // (node, stopped rather than cut off, until)
        let mut faults: Vec<(usize, bool, Duration)> = Vec::new();
        let faults_end = secs(45);
        while elapsed < faults_end {
            lan.run_for(step);
            elapsed += step;
            faults.retain(|&(node, stopped, until)| {
                if elapsed < until {
                    return true;
                }
                heal(&mut lan, node, stopped);
                false
            });
            match rng.below(40) {
                0 | 1 if faults.len() < 2 => {
                    let node = rng.below(nodes);
                    if faults.iter().all(|f| f.0 != node) {
                        let until = elapsed + Duration::from_millis(300 + rng.below(7000) as u64);
                        let stopped = rng.below(2) == 0;
                        strike(&mut lan, node, stopped);
                        faults.push((node, stopped, until));
                    }
                }
                2..=4 => {
                    let node = rng.below(nodes);
                    if !lan.is_stopped(node) {
                        let core = &mut lan.nodes[node].core;
                        if core.own_groups().contains(&"h") {
                            core.leave("h").unwrap();
                        } else {
                            core.join("h").unwrap();
                        }
                    }
                }
                _ => {}
            }
        }
        for (node, stopped, _) in faults.drain(..) {
            heal(&mut lan, node, stopped);
        }
        let case = format!("ELECT_SEED={seed}");
        let mut waited = Duration::ZERO;
        let wrong = loop {
            let wrong: Vec<String> = ["g", "h"]
                .iter()
                .flat_map(|g| leaders_wrong(&lan, g, &contests, &case))
                .chain(pairs_wrong(&lan, &case, false))
                .collect();
            if wrong.is_empty() || waited >= AGREE {
                break wrong;
            }
            lan.run_for(step);
            waited += step;
        };
        failures.extend(wrong);
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A peer's inbox drops the connection a frame over its size limit comes
/// on, and what follows on it: such a frame is refused before anything of
/// its message is counted or sent (no sequence number spent, which the
/// peer would see as a gap). A frame at the limit, and what comes after
/// the refused one, arrive; neither side sees the other go.
#[test]
fn a_frame_over_the_size_limit_is_refused_before_its_sequence_number_is_spent() {
    const MAX: usize = 1000;
    let mut lan = Lan::new();
    let mut nodes = Vec::new();
    for name in ["a", "b"] {
        let mut config = Lan::config(nodes.len(), name);
        config.max_message_size = MAX;
        nodes.push(lan.add_with(config));
    }
    let (a, b) = (nodes[0], nodes[1]);
    lan.run_for(secs(3));
    let (ua, ub) = (lan.uuid(a), lan.uuid(b));
    lan.nodes[b].core.join("G").unwrap();
    lan.run_for(secs(1));
    lan.clear_events();

    let at_limit = "m".repeat(MAX);
    let over: Vec<Frame> = vec![Frame::from(vec![b'o'; MAX + 1])];
    let refused =
        |err| matches!(err, zre::CommandError::TooLarge { bytes, max } if bytes == MAX + 1 && max == MAX);
    let core = &mut lan.nodes[a].core;
    core.whisper(ub, text("first")).unwrap();
    assert!(refused(core.whisper(ub, over.clone()).unwrap_err()));
    assert!(refused(
        core.whisper(ub, vec![Frame::from("x"), over[0].clone()])
            .unwrap_err()
    ));
    assert!(refused(core.shout("G", over.clone()).unwrap_err()));
    assert!(refused(core.check_content([3, MAX + 1]).unwrap_err()));
    core.check_content([MAX, 0]).unwrap();
    core.whisper(ub, text(&at_limit)).unwrap();
    assert_eq!(core.shout("G", text("shouted")).unwrap(), 1);
    core.whisper(ub, text("last")).unwrap();
    lan.run_for(secs(1));

    assert_eq!(lan.whispers(b, ua), ["first", at_limit.as_str(), "last"]);
    let shouts = lan.nodes[b].events.iter().filter(|e| e.kind() == "SHOUT").count();
    assert_eq!(shouts, 1);
    for (node, peer) in [(a, ub), (b, ua)] {
        assert_eq!(lan.count(node, "EXIT", peer), 0, "{:?}", lan.nodes[node].events);
    }
}

/// Out of file descriptors, a node cannot open the link to a peer whose
/// HELLO it just read: "not now" for that peer. Its application must not
/// see it ENTER and EXIT at once (a flap: it could never have sent to it),
/// and once descriptors free up the two meet, once, and talk both ways.
#[test]
fn a_peer_met_while_no_link_can_be_opened_is_met_later_without_a_flap() {
    let mut lan = Lan::new();
    let a = lan.add("a");
    let b = lan.add("b");
    lan.no_descriptors.insert(a);
    lan.run_for(secs(20));
    let (ua, ub) = (lan.uuid(a), lan.uuid(b));
    assert!(lan.nodes[a].core.counters().connects_deferred > 0);
    assert_eq!(
        (lan.count(a, "ENTER", ub), lan.count(a, "EXIT", ub)),
        (0, 0),
        "A without descriptors: {:?}",
        lan.nodes[a].events
    );
    lan.no_descriptors.clear();
    lan.run_for(secs(40));
    for (node, peer) in [(a, ub), (b, ua)] {
        assert_eq!(
            (lan.count(node, "ENTER", peer), lan.count(node, "EXIT", peer)),
            (1, 0),
            "node {node}: {:?}",
            lan.nodes[node].events
        );
    }
    lan.whispers_go_both_ways(a, b);
}

/// One node advertises an endpoint where nobody listens (a wrong
/// `--endpoint`): its HELLO reaches its neighbours, but nothing they send
/// reaches it, and it hears no HELLO from them. In plain mode they
/// ENTERed it on its HELLO; it expired them after its expired timeout and
/// said HELLO again, and each time they saw it EXIT and ENTER (the
/// README's known gap), with every WHISPER to it lost meanwhile.
///
/// The kind is the same as above, without a second claimant: an ENTER for
/// a peer our link does not reach. Now a plain peer's ENTER waits for its
/// PING-OK, which comes only over a link that reached it
/// (`src/core/node/handshake.rs`): the wrong node is never ENTERed, and
/// nothing flaps; the others meet each other as before, both ways.
#[test]
fn a_node_whose_endpoint_reaches_nobody_is_never_entered() {
    let mut lan = Lan::new();
    let o = lan.add("observer");
    let p = lan.add("other");
    let w = lan.add_advertising("wrong", "tcp://10.25.0.200:41000");
    lan.run_for(secs(180));
    let uw = lan.uuid(w);
    for node in [o, p] {
        let flips: Vec<String> = lan.nodes[node]
            .events
            .iter()
            .filter(|e| e.peer() == Some(uw))
            .map(|e| e.kind().to_owned())
            .collect();
        assert!(flips.is_empty(), "node {node} saw the wrong node: {flips:?}");
        assert!(lan.nodes[node].core.whisper(uw, text("lost")).is_err());
    }
    assert_eq!(lan.count(o, "ENTER", lan.uuid(p)), 1);
    assert_eq!(lan.count(p, "ENTER", lan.uuid(o)), 1);
    assert_eq!(lan.count(o, "EXIT", lan.uuid(p)), 0);
    lan.whispers_go_both_ways(o, p);
    // Nor does the wrong node ENTER anyone: it never hears a HELLO.
    assert!(lan.nodes[w].events.iter().all(|e| e.kind() != "ENTER"));
}
