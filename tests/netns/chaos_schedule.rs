//! Issue 25's chaos test, short variant: twelve of our nodes on one
//! namespace LAN go through a seeded random schedule of SIGKILL and
//! restart (same endpoint, new UUID), SIGSTOP/SIGCONT, link down/up and
//! address changes, while every node SHOUTs and WHISPERs numbered
//! messages. The checker (`support/chaos_check.rs`) then reads every
//! node instance's `--json` event log: per sender no duplicate, no
//! reordering, no loss without an EXIT in between, no ENTER/EXIT storm;
//! after the network heals every live node sees every other one.
//!
//! Run: `cargo test --test netns chaos_schedule -- --ignored --nocapture`
//! (ignored for now, see the attribute). On a
//! failure the nodes that did not converge show their log lines.
//! The seed is printed; `CHAOS_SEED=<n>` replays a schedule,
//! `CHAOS_SECS=<n>` makes it longer (default 45 s). Not modelled yet:
//! partitions between subnets, allow-list edits, slow consumers, joins
//! and leaves, other implementations, RSS and fd bounds.

use crate::support::chaos_check::{Log, check};
use crate::support::netns::{JsonPeer, Lab, WAIT};
use std::collections::HashMap;
use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

const NODES: usize = 12;
const NET: u8 = 97;
const EXPIRED: u64 = 4;

/// splitmix64: a few lines, stable across versions, replayable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn millis(&mut self, from: u64, to: u64) -> Duration {
        Duration::from_millis(from + self.below(to - from))
    }
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    Kill,
    Stop,
    LinkDown,
    Renumber,
}

/// A node's host and its running instance; instances that ended keep
/// their logs in `done`.
struct Slot {
    host: String,
    name: String,
    peer: Option<JsonPeer>,
    addr: String,
    /// The fault in progress and when it ends.
    busy_until: Option<(Instant, Fault)>,
    shouts: u64,
    whispers: HashMap<String, u64>,
}

fn options() -> Vec<String> {
    [
        "--evasive",
        "1",
        "--expired",
        &EXPIRED.to_string(),
        "--port-range",
        "41000-41000",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn start(lab: &Lab, host: &str, name: &str) -> JsonPeer {
    let opts = options();
    let extra: Vec<&str> = opts.iter().map(String::as_str).collect();
    let mut peer = JsonPeer::spawn_with_env(lab, host, "lan1", name, &extra, &[("RUST_LOG", "info")]);
    peer.send_line("/join g");
    peer
}

fn log_of(peer: &JsonPeer) -> Log {
    Log {
        name: peer.name.clone(),
        uuid: peer.uuid.clone(),
        events: peer.events(),
    }
}

/// The schedule, from the seed alone (so that a seed replays it): at
/// which offset which node gets which fault for how long. Every 0.5–3 s
/// one fault on a node that has none, while fewer than a third have one;
/// spans from 0.3 s to twice the expiry time (so some end in an EXIT).
fn plan(rng: &mut Rng, length: Duration) -> Vec<(Duration, usize, Fault, Duration)> {
    let mut plan = Vec::new();
    let mut busy_until = [Duration::ZERO; NODES];
    let mut at = rng.millis(1000, 3000);
    while at < length {
        let index = rng.below(NODES as u64) as usize;
        let fault = [Fault::Kill, Fault::Stop, Fault::LinkDown, Fault::Renumber][rng.below(4) as usize];
        let span = rng.millis(300, 2 * EXPIRED * 1000);
        let busy = busy_until.iter().filter(|&&until| until > at).count();
        if busy_until[index] <= at && busy < NODES / 3 {
            plan.push((at, index, fault, span));
            busy_until[index] = at + span;
        }
        at += rng.millis(500, 3000);
    }
    plan
}

/// Ends a fault: a killed node starts again (same endpoint, new UUID), a
/// stopped one goes on, a link comes up; a new address stays.
fn heal(lab: &Lab, slot: &mut Slot, fault: Fault) {
    match fault {
        Fault::Kill => slot.peer = Some(start(lab, &slot.host, &slot.name)),
        Fault::Stop => slot.peer.as_mut().unwrap().child().signal("CONT"),
        Fault::LinkDown => {
            lab.ip(&slot.host, &["link", "set", "lan1", "up"]);
        }
        Fault::Renumber => {}
    }
}

#[test]
#[ignore = "issue 25: since a peer's HELLO after it dropped us is a restart (EXIT, ENTER), 7 of 7 runs \
            pass here (the 3 failing seeds replayed, 4 new: 0 violations, ~5 100 messages each); \
            out of CI's run until it has passed beside the other namespace tests; --ignored runs it"]
fn a_seeded_chaos_schedule_loses_nothing_without_an_exit() {
    let seed = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(25, |d| d.as_nanos() as u64)
        });
    let secs: u64 = std::env::var("CHAOS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(45);
    figure!("chaos schedule: seed {seed} ({secs} s; replay with CHAOS_SEED={seed})");
    let Some(mut lab) = Lab::new("chaossched") else {
        return;
    };
    let hosts: Vec<String> = (0..NODES).map(|i| format!("h{i}")).collect();
    let host_refs: Vec<&str> = hosts.iter().map(String::as_str).collect();
    lab.numbered_lan("lan1", NET, &host_refs);
    let mut rng = Rng(seed);
    let mut slots: Vec<Slot> = hosts
        .iter()
        .enumerate()
        .map(|(i, host)| Slot {
            host: host.clone(),
            name: format!("n{i}"),
            peer: Some(start(&lab, host, &format!("n{i}"))),
            addr: format!("10.99.{NET}.{}", i + 2),
            busy_until: None,
            shouts: 0,
            whispers: HashMap::new(),
        })
        .collect();
    let mut done: Vec<Log> = Vec::new();
    let mut disrupted: HashMap<String, usize> = HashMap::new();
    let mut injected: Vec<String> = Vec::new();

    // Everyone meets everyone before the schedule starts.
    let uuids: Vec<String> = slots
        .iter()
        .map(|s| s.peer.as_ref().unwrap().uuid.clone())
        .collect();
    for slot in &mut slots {
        let peer = slot.peer.as_mut().unwrap();
        for uuid in &uuids {
            if *uuid != peer.uuid {
                peer.wait_for(
                    &format!("JOIN of {uuid}"),
                    |e| e.is("JOIN") && e.peer() == uuid,
                    WAIT,
                );
            }
        }
    }

    let plan = plan(&mut rng, Duration::from_secs(secs));
    let mut traffic = Rng(seed ^ 0x7A11_C0DE);
    let begin = Instant::now();
    let end = begin + Duration::from_secs(secs);
    let mut planned = plan.iter().peekable();
    let mut renumbered = 0u8;
    while Instant::now() < end {
        let now = Instant::now();
        // Faults that end now.
        for slot in &mut slots {
            match slot.busy_until {
                Some((until, fault)) if now >= until => {
                    slot.busy_until = None;
                    heal(&lab, slot, fault);
                }
                _ => {}
            }
        }
        // Faults that start now.
        while let Some(&&(at, index, fault, span)) = planned.peek() {
            if begin + at > now {
                break;
            }
            planned.next();
            let slot = &mut slots[index];
            injected.push(format!(
                "{:.1}s {fault:?} {} for {span:?}",
                at.as_secs_f64(),
                slot.name
            ));
            *disrupted.entry(slot.name.clone()).or_default() += 1;
            match fault {
                Fault::Kill => {
                    let mut peer = slot.peer.take().unwrap();
                    peer.child().kill();
                    done.push(log_of(&peer));
                }
                Fault::Stop => slot.peer.as_mut().unwrap().child().signal("STOP"),
                Fault::LinkDown => {
                    lab.ip(&slot.host, &["link", "set", "lan1", "down"]);
                }
                Fault::Renumber => {
                    renumbered += 1;
                    let new = format!("10.99.{NET}.{}", 100 + renumbered);
                    let broadcast = format!("10.99.{NET}.255");
                    lab.ip(
                        &slot.host,
                        &["addr", "del", &format!("{}/24", slot.addr), "dev", "lan1"],
                    );
                    lab.ip(
                        &slot.host,
                        &[
                            "addr",
                            "add",
                            &format!("{new}/24"),
                            "brd",
                            &broadcast,
                            "dev",
                            "lan1",
                        ],
                    );
                    slot.addr = new;
                }
            }
            slot.busy_until = Some((now + span, fault));
        }
        // Numbered traffic from every running node.
        for i in 0..NODES {
            let target = slots[(i + 1 + traffic.below(NODES as u64 - 1) as usize) % NODES]
                .name
                .clone();
            let slot = &mut slots[i];
            let Some(peer) = slot.peer.as_mut() else {
                continue;
            };
            slot.shouts += 1;
            let w = slot.whispers.entry(target.clone()).or_default();
            *w += 1;
            peer.send_line(&format!("/shout g c-{}", slot.shouts));
            peer.send_line(&format!("/whisper {target} w-{w}"));
        }
        thread::sleep(Duration::from_millis(200));
    }

    // Heal: every fault ends, then the LAN settles.
    for slot in &mut slots {
        if let Some((_, fault)) = slot.busy_until.take() {
            heal(&lab, slot, fault);
        }
    }
    // Membership converges: each node has every other live one ENTERed
    // (its last ENTER/EXIT of it is an ENTER).
    let live: Vec<String> = slots
        .iter()
        .map(|s| s.peer.as_ref().unwrap().uuid.clone())
        .collect();
    let deadline = Instant::now() + WAIT;
    let missing = loop {
        let mut missing = Vec::new();
        for slot in &slots {
            let peer = slot.peer.as_ref().unwrap();
            let events = peer.events();
            for uuid in live.iter().filter(|u| **u != peer.uuid) {
                let last = events
                    .iter()
                    .rev()
                    .find(|e| (e.is("ENTER") || e.is("EXIT")) && e.peer() == uuid);
                if !last.is_some_and(|e| e.is("ENTER")) {
                    missing.push(format!("{} lacks {uuid}", slot.name));
                }
            }
        }
        if missing.is_empty() || Instant::now() >= deadline {
            break missing;
        }
        thread::sleep(Duration::from_millis(200));
    };
    // What the nodes that did not converge said (their log lines, without
    // the shell's complaints about whispers to peers it does not know).
    let mut said = String::new();
    for slot in &mut slots {
        if missing.iter().any(|m| m.starts_with(&format!("{} ", slot.name))) {
            let peer = slot.peer.as_mut().unwrap();
            said.push_str(&format!("===== {} ({}) said:\n", slot.name, peer.uuid));
            for line in peer.child().stderr().lines() {
                if !line.starts_with("error: no peer named") && !line.starts_with("(no peer is in group") {
                    said.push_str(&line);
                    said.push('\n');
                }
            }
        }
    }
    // Let the last messages arrive, then read every log.
    thread::sleep(Duration::from_secs(2));
    for slot in &mut slots {
        let peer = slot.peer.as_mut().unwrap();
        done.push(log_of(peer));
    }
    let (mut violations, tally) = check(&done, &disrupted);
    violations.extend(missing);
    let sent: u64 = slots
        .iter()
        .map(|s| s.shouts + s.whispers.values().sum::<u64>())
        .sum();
    figure!(
        "chaos schedule: seed {seed}, {secs} s, {} faults injected, {} instances, {sent} messages sent, \
         {} delivered, {} lost with an EXIT between, {} ENTER / {} EXIT, {} violations",
        injected.len(),
        done.len(),
        tally.delivered,
        tally.lost_with_exit,
        tally.enters,
        tally.exits,
        violations.len()
    );
    assert!(
        violations.is_empty(),
        "seed {seed} (replay: CHAOS_SEED={seed}): {} violations:\n{}\nschedule:\n{}\n{said}",
        violations.len(),
        violations.iter().take(40).cloned().collect::<Vec<_>>().join("\n"),
        injected.join("\n")
    );
    for slot in &mut slots {
        slot.peer.as_mut().unwrap().quit(WAIT);
    }
}
