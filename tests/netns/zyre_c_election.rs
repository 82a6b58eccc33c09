//! Live leader election with Zyre 2.0.1 (DRAFT API, `zyre_set_contest_in_group`):
//! our `zre --json --contest GROUP` and Zyre peers driven by
//! `tests/interop/zyre_peer.c --contest GROUP`, each in a network namespace
//! of its own, agree on one leader (the smallest UUID among the
//! contesters) and agree again after the leader is SIGKILLed.
//!
//! Needs root and a Zyre 2.0.1 build (see `support/refpeers.rs`); without
//! Zyre a test fails with the install hint, unless `ZRE_SKIP_INTEROP=1`.
//! Each test has a LAN of its own (10.99.120.0/24 to 10.99.124.0/24).

use crate::support::netns::{Event, JsonPeer, Lab, WAIT};
use crate::support::peers;
use crate::support::refpeers::Family;
use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

/// The group every test elects a leader of.
const GROUP: &str = "lead";
/// Short timeouts on every peer, so that Zyre drops a SIGKILLed peer soon:
/// ours in seconds, Zyre's in milliseconds.
const OUR_TIMEOUTS: [&str; 4] = ["--evasive", "1", "--expired", "3"];
const ZYRE_TIMEOUTS: [&str; 4] = ["--evasive", "1000", "--expired", "3000"];
const EXPIRED: Duration = Duration::from_secs(3);
/// How long a settled election is watched for a stray LEADER.
const SETTLE: Duration = Duration::from_secs(3);

// ---- peers ---------------------------------------------------------------

/// Our node on the one LAN.
fn ours(lab: &Lab, host: &str, name: &str, extra: &[&str]) -> JsonPeer {
    peers::ours(lab, host, "lan", name, extra)
}

/// A Zyre node on the one LAN, beaconing every 100 ms.
fn zyre(lab: &Lab, host: &str, name: &str, extra: &[&str]) -> JsonPeer {
    let mut args = vec!["--beacon-interval", "100"];
    args.extend_from_slice(extra);
    peers::zyre(lab, host, "lan", name, &args)
}

/// A lab for a test that needs Zyre: `None` to skip (no root outside CI,
/// or Zyre missing with `ZRE_SKIP_INTEROP=1`); a missing Zyre otherwise
/// fails the test with the install hint.
fn lab(test: &str, tag: &str) -> Option<Lab> {
    peers::live_lab(test, tag, &[Family::ZyreC])
}

/// Where the Zyre's UUID sorts among the UUIDs of our two.
#[derive(Debug, Clone, Copy)]
enum Rank {
    /// Before both of ours: Zyre is the superior challenger.
    First,
    /// Between ours-a and ours-b.
    Second,
    /// After both of ours.
    Last,
}

/// A peer `spawn` starts on `host` whose UUID `fits`: a peer draws its UUID
/// itself, so candidates are started with the host's beacons blocked
/// (nobody meets them) and ended until one fits.
fn drawn(lab: &Lab, host: &str, spawn: impl Fn() -> JsonPeer, fits: impl Fn(&str) -> bool) -> JsonPeer {
    lab.block_udp_port(host, 5670);
    for _ in 0..40 {
        let mut candidate = spawn();
        if fits(&candidate.uuid) {
            lab.unblock_all(host);
            return candidate;
        }
        candidate.quit(WAIT);
    }
    panic!("no UUID that fits on {host} in 40 tries");
}

/// The Zyre `zyre-z` and ours `ours-a`, `ours-b`, all contesting `GROUP`
/// (not yet in it), with the Zyre's UUID of this `rank`: the Zyre's is
/// drawn in the quarter or half of the UUIDs where the rank is likely,
/// then ours until they fit around it.
fn ranked(lab: &Lab, rank: Rank) -> Vec<JsonPeer> {
    let z = drawn(
        lab,
        "z",
        || zyre_contesting(lab, "z", "zyre-z"),
        |uuid| match rank {
            Rank::First => uuid < "4",
            Rank::Second => ("4".."C").contains(&uuid),
            Rank::Last => uuid >= "C",
        },
    );
    let zuuid = z.uuid.clone();
    let a_before = matches!(rank, Rank::Second | Rank::Last);
    let b_before = matches!(rank, Rank::Last);
    let a = drawn(
        lab,
        "a",
        || ours_contesting(lab, "a", "ours-a"),
        |uuid| (uuid < zuuid.as_str()) == a_before,
    );
    let b = drawn(
        lab,
        "b",
        || ours_contesting(lab, "b", "ours-b"),
        |uuid| (uuid < zuuid.as_str()) == b_before,
    );
    vec![z, a, b]
}

// ---- events --------------------------------------------------------------

/// A peer's UUID and name, to match its events while the peer itself is
/// borrowed.
struct Id {
    uuid: String,
    name: String,
}

impl Id {
    fn of(peer: &JsonPeer) -> Id {
        Id {
            uuid: peer.uuid.clone(),
            name: peer.name.clone(),
        }
    }
}

/// How many lines `who` has printed so far.
fn printed(who: &JsonPeer) -> usize {
    who.events().len()
}

/// `who` waits for LEADER `leader` in `GROUP` printed after its first
/// `after` lines.
fn leader_after(who: &mut JsonPeer, after: usize, leader: &Id, timeout: Duration) -> Event {
    let what = format!(
        "LEADER {} ({}) in {GROUP} after line {after} (seen by {})",
        leader.name, leader.uuid, who.name
    );
    let mut line = 0;
    let raw = who.child().wait_stdout(
        &what,
        |l| {
            line += 1;
            let e = Event::parse(l);
            line > after && e.is("LEADER") && e.peer() == leader.uuid && e.group() == GROUP
        },
        timeout,
    );
    Event::parse(&raw)
}

/// The LEADER events of `who` in `GROUP` after its first `after` lines.
fn leaders_after(who: &JsonPeer, after: usize) -> Vec<Event> {
    who.events()
        .into_iter()
        .skip(after)
        .filter(|e| e.is("LEADER") && e.group() == GROUP)
        .collect()
}

/// Every one of `peers` has seen every other JOIN `GROUP`; returns, for
/// each, how many lines it had printed up to the last of them (an election
/// may complete at one member before another has seen every JOIN).
fn all_joined(peers: &mut [JsonPeer]) -> Vec<usize> {
    for i in 0..peers.len() {
        for j in 0..peers.len() {
            if i != j {
                let (uuid, name) = (peers[j].uuid.clone(), peers[j].name.clone());
                let what = format!("JOIN {GROUP} of {name} (seen by {})", peers[i].name);
                peers[i].wait_for(
                    &what,
                    |e| e.is("JOIN") && e.peer() == uuid && e.group() == GROUP,
                    WAIT,
                );
            }
        }
    }
    peers
        .iter()
        .map(|peer| {
            let events = peer.events();
            let last = events.iter().rposition(|e| e.is("JOIN") && e.group() == GROUP);
            last.map_or(0, |i| i + 1)
        })
        .collect()
}

/// The index of the peer Zyre's election makes leader among these
/// contesters: the smallest UUID (Zyre `strcmp`s the upper-case hex).
fn superior(contesters: &[JsonPeer]) -> usize {
    (0..contesters.len())
        .min_by(|&a, &b| contesters[a].uuid.cmp(&contesters[b].uuid))
        .expect("some contester")
}

/// Each of `peers` reports LEADER `expected` after its first `after[i]`
/// lines, and then, for [`SETTLE`], no other LEADER: one leader
/// everywhere, named as it calls itself.
fn one_leader_everywhere(peers: &mut [JsonPeer], after: &[usize], expected: usize, lab: &Lab) {
    let leader = Id::of(&peers[expected]);
    for (peer, &from) in peers.iter_mut().zip(after) {
        let event = leader_after(peer, from, &leader, WAIT);
        assert_eq!(
            event.name(),
            leader.name,
            "{}: LEADER with another name\n{}",
            peer.name,
            lab.report()
        );
    }
    thread::sleep(SETTLE);
    for (peer, &from) in peers.iter().zip(after) {
        let others: Vec<String> = leaders_after(peer, from)
            .into_iter()
            .filter(|e| e.peer() != leader.uuid)
            .map(|e| e.raw)
            .collect();
        assert!(
            others.is_empty(),
            "{}: LEADER of another peer than {} since the membership settled: {others:?}\n{}",
            peer.name,
            leader.name,
            lab.report()
        );
    }
}

/// Our node contesting `GROUP` (not yet in it).
fn ours_contesting(lab: &Lab, host: &str, name: &str) -> JsonPeer {
    let mut args = vec!["--contest", GROUP];
    args.extend_from_slice(&OUR_TIMEOUTS);
    ours(lab, host, name, &args)
}

/// A Zyre peer contesting `GROUP` (not yet in it).
fn zyre_contesting(lab: &Lab, host: &str, name: &str) -> JsonPeer {
    let mut args = vec!["--contest", GROUP];
    args.extend_from_slice(&ZYRE_TIMEOUTS);
    zyre(lab, host, name, &args)
}

/// Every one of `peers` has seen every other ENTER; then `peers[0]` (the
/// Zyre) joins `GROUP`, and the others join one by one, each once it saw
/// every earlier JOIN and the election the previous JOIN started is over
/// (every member reported a LEADER); returns what [`all_joined`] does.
///
/// The order avoids races that are Zyre's own, not ours:
/// - Zyre asserts (and aborts, `zyre_node.c` `assert (leader_peer)`) on
///   a LEADER naming a peer it has not met: a member that knows both
///   forwards the LEADER of a challenger the Zyre never heard of. Zyre's
///   own members forward it the same way.
/// - Zyre counts ELECT and LEADER per wave with no wave number and drops
///   its wave on every JOIN it sees (as a contester), so JOINs that cross
///   a wave leave counts that never match: three Zyres alone then
///   disagree or abort in about a quarter of the orders of a model of
///   them (`src/core/election/zyre_model.rs`).
fn meet_then_join(peers: &mut [JsonPeer]) -> Vec<usize> {
    for i in 0..peers.len() {
        for j in 0..peers.len() {
            if i != j {
                let (uuid, name) = (peers[j].uuid.clone(), peers[j].name.clone());
                let what = format!("ENTER of {name} (seen by {})", peers[i].name);
                peers[i].wait_for(&what, |e| e.is("ENTER") && e.peer() == uuid, WAIT);
            }
        }
    }
    peers[0].send_line(&format!("/join {GROUP}"));
    for i in 1..peers.len() {
        for j in 0..i {
            let (uuid, name) = (peers[j].uuid.clone(), peers[j].name.clone());
            let what = format!("JOIN {GROUP} of {name} (seen by {})", peers[i].name);
            peers[i].wait_for(
                &what,
                |e| e.is("JOIN") && e.peer() == uuid && e.group() == GROUP,
                WAIT,
            );
        }
        let marks: Vec<usize> = peers[..=i].iter().map(printed).collect();
        peers[i].send_line(&format!("/join {GROUP}"));
        if i + 1 < peers.len() {
            for (peer, &from) in peers[..=i].iter_mut().zip(&marks) {
                any_leader_after(peer, from);
            }
        }
    }
    all_joined(peers)
}

/// `who` waits for a LEADER in `GROUP` printed after its first `after`
/// lines.
fn any_leader_after(who: &mut JsonPeer, after: usize) {
    let what = format!("a LEADER in {GROUP} after line {after} (seen by {})", who.name);
    let mut line = 0;
    who.child().wait_stdout(
        &what,
        |l| {
            line += 1;
            let e = Event::parse(l);
            line > after && e.is("LEADER") && e.group() == GROUP
        },
        WAIT,
    );
}

// ---- the tests -------------------------------------------------------------

/// Zyre contests, our node is a plain member (in the group, not
/// contesting): it takes part in Zyre's wave and both report Zyre as the
/// leader.
#[test]
fn zyre_c_leader_zyre_contests_ours_member() {
    let Some(mut lab) = lab("zyre_c_leader_zyre_contests_ours_member", "zyrelead1") else {
        return;
    };
    lab.numbered_lan("lan", 120, &["z", "a"]);
    let mut peers = [
        zyre_contesting(&lab, "z", "zyre-z"),
        ours(&lab, "a", "ours-a", &[]),
    ];
    let after = meet_then_join(&mut peers);
    one_leader_everywhere(&mut peers, &after, 0, &lab);
    lab.show();
}

/// Zyre and two of ours, all contesting: every member reports the same
/// LEADER, the smallest UUID.
#[test]
fn zyre_c_leader_agreed_by_all_contesters() {
    let Some(mut lab) = lab("zyre_c_leader_agreed_by_all_contesters", "zyrelead2") else {
        return;
    };
    lab.numbered_lan("lan", 121, &["z", "a", "b"]);
    let mut peers = [
        zyre_contesting(&lab, "z", "zyre-z"),
        ours_contesting(&lab, "a", "ours-a"),
        ours_contesting(&lab, "b", "ours-b"),
    ];
    let after = meet_then_join(&mut peers);
    let expected = superior(&peers);
    one_leader_everywhere(&mut peers, &after, expected, &lab);
    lab.show();
}

/// Two of ours and a Zyre whose UUID has `rank` among theirs, all
/// contesting, agree on a leader; it is SIGKILLed; within the expired
/// timeout + 1 s (Zyre looks for expired peers once a second) both
/// survivors report the same new leader, and no other.
fn leader_killed(test: &str, tag: &str, net: u8, rank: Rank) {
    let Some(mut lab) = lab(test, tag) else {
        return;
    };
    lab.numbered_lan("lan", net, &["a", "b", "z"]);
    let mut peers = ranked(&lab, rank);
    let after = meet_then_join(&mut peers);
    let leader = superior(&peers);
    one_leader_everywhere(&mut peers, &after, leader, &lab);

    let mut victim = peers.remove(leader);
    let marks: Vec<usize> = peers.iter().map(printed).collect();
    let killed = Instant::now();
    victim.child().kill();
    let next = Id::of(&peers[superior(&peers)]);
    let bound = EXPIRED + Duration::from_secs(1);
    for (peer, &from) in peers.iter_mut().zip(&marks) {
        leader_after(peer, from, &next, WAIT);
        let took = killed.elapsed();
        figure!(
            "{test}: {} killed, {} reports LEADER {} after {took:?}",
            victim.name,
            peer.name,
            next.name
        );
        assert!(
            took <= bound,
            "{}: new LEADER {} only {took:?} after the kill of {} (bound {bound:?})\n{}",
            peer.name,
            next.name,
            victim.name,
            lab.report()
        );
    }
    let next = superior(&peers);
    one_leader_everywhere(&mut peers, &marks, next, &lab);
    lab.show();
}

/// The Zyre leads and is killed: our two drop it at once (fast exit) and
/// elect the smaller of them.
#[test]
fn zyre_c_leader_killed_zyre() {
    leader_killed("zyre_c_leader_killed_zyre", "zyrelead3", 122, Rank::First);
}

/// Ours leads and is killed, and the Zyre sorts between our two: our
/// survivor drops the dead leader at once (fast exit) and challenges; the
/// Zyre, which counts the dead leader as a member until it expires it,
/// supports that wave and waits for the dead leader's echo. Our survivor
/// does not repeat its ELECT before the Zyre can have expired the dead
/// leader (Zyre would count it as the missing echo and the two would
/// disagree); the Zyre challenges when it expires it, and wins.
#[test]
fn zyre_c_leader_killed_ours_zyre_next() {
    leader_killed(
        "zyre_c_leader_killed_ours_zyre_next",
        "zyrelead4",
        123,
        Rank::Second,
    );
}

/// Ours leads and is killed, and the Zyre sorts last: our survivor must
/// win over the Zyre, whose wave starts only once it expires the dead
/// leader.
#[test]
fn zyre_c_leader_killed_ours_ours_next() {
    leader_killed(
        "zyre_c_leader_killed_ours_ours_next",
        "zyrelead5",
        124,
        Rank::Last,
    );
}
