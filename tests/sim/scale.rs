//! Bounded resources at scale (issue 24), in virtual time: no false EXIT
//! when we or a peer are slow, peer slots and links as budgets against
//! floods of announcements, liveness work that does not scan every peer,
//! and (ignored: run with `--release -- --ignored`) a 1 000-node mesh.
//!
//! The harness is a lean copy of tests/sim/node.rs's: each node's actions
//! move to the other nodes' inputs at once; time only moves between.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};
use uuid::Uuid;
use zre::core::{Action, CoreConfig, Event, NodeCore, Removal, peer_identity};
use zre::wire::{Beacon, Body, Hello, ZreMessage};

struct Node {
    core: NodeCore,
    ip: IpAddr,
    events: Vec<(Duration, Event)>,
    alive: bool,
}

struct Packet {
    from: usize,
    to: usize,
    header: Vec<u8>,
}

#[derive(Default)]
struct Work {
    /// Messages handed to a core.
    messages: u64,
    /// Beacons handed to a core.
    beacons: u64,
    /// Actions taken from a core.
    actions: u64,
    /// `handle_timeout` calls.
    timeouts: u64,
}

struct Sim {
    now: Instant,
    start: Instant,
    nodes: Vec<Node>,
    by_endpoint: HashMap<String, usize>,
    /// (node, peer) -> the node its link reaches.
    links: HashMap<(usize, Uuid), usize>,
    in_flight: VecDeque<Packet>,
    /// Beacons are neither sent nor heard.
    beacons_off: bool,
    /// Nodes whose process is gone: their port refuses.
    gone: HashSet<usize>,
    /// Every probe asked for: (node, peer).
    probes: Vec<(usize, Uuid)>,
    work: Work,
}

fn uuid_of(n: usize) -> Uuid {
    Uuid::from_u128(0x2000_0000_0000_0000_0000_0000_0000_0000 + n as u128)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

impl Sim {
    fn new() -> Sim {
        let now = Instant::now();
        Sim {
            now,
            start: now,
            nodes: Vec::new(),
            by_endpoint: HashMap::new(),
            links: HashMap::new(),
            in_flight: VecDeque::new(),
            beacons_off: false,
            gone: HashSet::new(),
            probes: Vec::new(),
            work: Work::default(),
        }
    }

    /// A node's config; `one_host` puts every node at one address (many
    /// processes on one host, containers behind one address).
    fn config(index: usize, one_host: bool) -> CoreConfig {
        let (ip, port) = if one_host {
            (Ipv4Addr::new(10, 0, 0, 1), 41000 + index as u16)
        } else {
            (
                Ipv4Addr::new(
                    10,
                    (index / 62500) as u8,
                    (index / 250 % 250) as u8,
                    (index % 250 + 1) as u8,
                ),
                41000,
            )
        };
        CoreConfig::new(
            uuid_of(index),
            format!("n{index}"),
            format!("tcp://{ip}:{port}"),
            port,
        )
    }

    fn add(&mut self, one_host: bool) -> usize {
        let index = self.nodes.len();
        self.add_with(Self::config(index, one_host))
    }

    fn add_with(&mut self, config: CoreConfig) -> usize {
        let index = self.nodes.len();
        let ip = config.endpoint[6..].rsplit_once(':').unwrap().0.parse().unwrap();
        self.by_endpoint.insert(config.endpoint.clone(), index);
        self.nodes.push(Node {
            core: NodeCore::new(config, self.now),
            ip,
            events: Vec::new(),
            alive: true,
        });
        index
    }

    fn uuid(&self, node: usize) -> Uuid {
        self.nodes[node].core.uuid()
    }

    fn settle(&mut self) {
        for round in 0.. {
            assert!(round < 100_000, "a message storm");
            let mut progressed = false;
            for i in 0..self.nodes.len() {
                while let Some(action) = self.nodes[i].core.poll_action() {
                    progressed = true;
                    self.work.actions += 1;
                    self.apply(i, action);
                }
                let elapsed = self.now - self.start;
                while let Some(event) = self.nodes[i].core.poll_event() {
                    self.nodes[i].events.push((elapsed, event));
                }
            }
            while let Some(packet) = self.in_flight.pop_front() {
                progressed = true;
                if self.nodes[packet.to].alive {
                    self.work.messages += 1;
                    let identity = peer_identity(&self.uuid(packet.from));
                    let now = self.now;
                    self.nodes[packet.to]
                        .core
                        .handle_message(now, &identity, &packet.header, Vec::new());
                }
            }
            if !progressed {
                break;
            }
        }
    }

    fn apply(&mut self, from: usize, action: Action) {
        match action {
            Action::Connect { peer, endpoint, .. } => {
                if let Some(&to) = self.by_endpoint.get(&endpoint.to_string()) {
                    self.links.insert((from, peer), to);
                }
            }
            Action::Disconnect { peer } => {
                self.links.remove(&(from, peer));
            }
            Action::Relink { from: old, to: new } => {
                if let Some(to) = self.links.remove(&(from, old)) {
                    self.links.insert((from, new), to);
                }
            }
            Action::Send { peer, header, .. } => {
                if let Some(&to) = self.links.get(&(from, peer)) {
                    self.in_flight.push_back(Packet {
                        from,
                        to,
                        header: header.to_vec(),
                    });
                }
            }
            Action::Probe {
                peer,
                endpoint,
                probe,
            } => {
                self.probes.push((from, peer));
                let target = self.by_endpoint.get(&endpoint.to_string()).copied();
                let refused = target.is_none_or(|t| self.gone.contains(&t));
                let now = self.now;
                let core = &mut self.nodes[from].core;
                if refused {
                    core.handle_link_refused(now, peer, probe);
                } else {
                    core.handle_link_answered(now, peer, probe);
                }
            }
            Action::Beacon(beacon) => {
                if self.beacons_off {
                    return;
                }
                let bytes = beacon.to_bytes();
                let ip = self.nodes[from].ip;
                let now = self.now;
                for to in 0..self.nodes.len() {
                    if to != from && self.nodes[to].alive {
                        self.work.beacons += 1;
                        self.nodes[to].core.handle_beacon(now, ip, &bytes);
                    }
                }
            }
        }
    }

    /// Runs virtual time forward by `span`; `late` nodes run their timers
    /// that much after they are due (a loaded process).
    fn run_for(&mut self, span: Duration) {
        let target = self.now + span;
        self.settle();
        loop {
            let next = self
                .nodes
                .iter()
                .filter(|n| n.alive)
                .filter_map(|n| n.core.poll_timeout())
                .min();
            match next {
                Some(next) if next <= target => {
                    self.now = self.now.max(next);
                    for i in 0..self.nodes.len() {
                        let node = &mut self.nodes[i];
                        if node.alive && node.core.poll_timeout().is_some_and(|t| t <= self.now) {
                            self.work.timeouts += 1;
                            node.core.handle_timeout(self.now);
                        }
                    }
                    self.settle();
                }
                _ => break,
            }
        }
        self.now = target;
    }

    fn count(&self, node: usize, kind: &str) -> usize {
        self.nodes[node]
            .events
            .iter()
            .filter(|(_, e)| e.kind() == kind)
            .count()
    }

    fn times(&self, node: usize, kind: &str) -> Vec<Duration> {
        self.nodes[node]
            .events
            .iter()
            .filter(|(_, e)| e.kind() == kind)
            .map(|(t, _)| *t)
            .collect()
    }

    /// A full mesh of `n` nodes, formed.
    fn mesh(n: usize, one_host: bool) -> Sim {
        let mut sim = Sim::new();
        for _ in 0..n {
            sim.add(one_host);
        }
        sim.run_for(secs(3));
        for i in 0..n {
            assert_eq!(sim.nodes[i].core.peers().len(), n - 1, "node {i} met everyone");
        }
        sim
    }
}

fn hello(endpoint: &str, name: &str) -> Vec<u8> {
    ZreMessage::new(
        1,
        Body::Hello(Box::new(Hello {
            endpoint,
            groups: vec![],
            status: 0,
            name,
            headers: vec![],
        })),
    )
    .to_bytes()
    .unwrap()
}

/// A PING-OK numbered `sequence`: the answer to the PING that went with
/// our HELLO, which a plain peer's ENTER waits for.
fn ping_ok(sequence: u16) -> Vec<u8> {
    ZreMessage::new(sequence, Body::PingOk).to_bytes().unwrap()
}

fn lone_core(max_peers: usize, now: Instant) -> NodeCore {
    let mut config = Sim::config(0, false);
    config.max_peers = max_peers;
    config.max_linking = 8;
    NodeCore::new(config, now)
}

fn drain(core: &mut NodeCore) -> (Vec<Action>, Vec<Event>) {
    let mut actions = Vec::new();
    while let Some(action) = core.poll_action() {
        actions.push(action);
    }
    let mut events = Vec::new();
    while let Some(event) = core.poll_event() {
        events.push(event);
    }
    (actions, events)
}

/// How many of `actions` open a link to `peer`.
fn connects_to(actions: &[Action], peer: Uuid) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::Connect { peer: p, .. } if *p == peer))
        .count()
}

fn is_ping(header: &[u8]) -> bool {
    matches!(ZreMessage::parse(header), Ok(ZreMessage { body: Body::Ping, .. }))
}

// ----- no false EXIT --------------------------------------------------------

/// Issue 24: every EVASIVE opened a TCP probe (12 248 probes in 30 s at 64
/// idle nodes). A peer that answers our PING is alive: no probe.
#[test]
fn idle_peers_that_answer_their_pings_are_never_probed() {
    let mut sim = Sim::mesh(8, true);
    sim.run_for(secs(60));
    let evasive: usize = (0..8).map(|i| sim.count(i, "EVASIVE")).sum();
    assert!(evasive > 8 * 7 * 5, "idle peers are pinged: {evasive} EVASIVE");
    assert_eq!(sim.probes.len(), 0, "no probe of a peer that answers");
    for i in 0..8 {
        assert_eq!(sim.count(i, "SILENT"), 0, "node {i}: every PING was answered");
        assert_eq!(sim.count(i, "EXIT"), 0);
        let counters = sim.nodes[i].core.counters();
        assert_eq!(counters.probes, 0);
        assert!(counters.pings_sent > 0);
    }
}

/// SILENT means "our PING went unanswered": never at the pass that sent
/// the PING, even when the node runs its timers late (a loaded host).
#[test]
fn silent_comes_only_after_an_unanswered_ping_even_when_the_timers_run_late() {
    let start = Instant::now();
    let mut core = lone_core(64, start);
    let peer = Uuid::from_u128(0xBEEF);
    core.handle_message(
        start,
        &peer_identity(&peer),
        &hello("tcp://10.9.9.9:41000", "b"),
        Vec::new(),
    );
    core.handle_message(start, &peer_identity(&peer), &ping_ok(2), Vec::new());
    drain(&mut core);
    // The loop was busy: the first timer pass comes 1.5 s after the peer
    // went evasive (5 s).
    core.handle_timeout(start + Duration::from_millis(6500));
    let (actions, events) = drain(&mut core);
    let kinds: Vec<&str> = events.iter().map(|e| e.kind()).collect();
    assert_eq!(kinds, ["EVASIVE"], "the PING goes out; nothing is silent yet");
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::Send { header, .. } if is_ping(header)))
    );
    assert!(!actions.iter().any(|a| matches!(a, Action::Probe { .. })));
    // Unanswered a tick later: SILENT, and (fast EXIT) its port is probed.
    core.handle_timeout(start + Duration::from_millis(7000));
    let (_, events) = drain(&mut core);
    assert!(events.is_empty(), "the PING has had half a tick");
    let next = core.poll_timeout().unwrap();
    assert!(next <= start + secs(8));
    core.handle_timeout(start + secs(8));
    let (actions, events) = drain(&mut core);
    let kinds: Vec<&str> = events.iter().map(|e| e.kind()).collect();
    assert_eq!(kinds, ["SILENT"]);
    assert!(actions.iter().any(|a| matches!(a, Action::Probe { .. })));
}

/// A process that is gone without its close being seen: its PING goes
/// unanswered, its port refuses, and it EXITs then, not at expiry.
#[test]
fn a_dead_peer_whose_close_went_unseen_exits_once_its_ping_goes_unanswered() {
    let mut sim = Sim::mesh(3, true);
    let dead = 2;
    sim.nodes[dead].alive = false;
    sim.gone.insert(dead);
    let at = sim.now - sim.start;
    sim.run_for(secs(8));
    for i in 0..2 {
        let exits = sim.times(i, "EXIT");
        assert_eq!(exits.len(), 1, "node {i}");
        assert!(
            exits[0] - at <= secs(8),
            "fast EXIT, not expiry: {:?}",
            exits[0] - at
        );
        assert_eq!(sim.nodes[i].core.counters().exits_for(Removal::Unreachable), 1);
    }
}

/// On one host, a closed connection named its peer: only that peer is
/// probed, not the whole host's (N - 1 probes per close at 256 nodes).
#[test]
fn a_closed_link_probes_its_own_peer_only() {
    let mut sim = Sim::mesh(6, true);
    let now = sim.now;
    let gone = sim.uuid(5);
    sim.nodes[5].alive = false;
    sim.gone.insert(5);
    sim.nodes[0].core.handle_peer_link_lost(now, gone);
    sim.settle();
    assert_eq!(sim.probes, vec![(0, gone)]);
    assert_eq!(sim.count(0, "EXIT"), 1);
    // The per-host report (the I/O layer could not tell whose) is left
    // for when nothing better is known.
    assert_eq!(sim.nodes[0].core.peers().len(), 4);
}

/// A peer found by beacon that has not answered our HELLO keeps its
/// place for the expired time, as in Zyre (it was dropped after 5 s,
/// then found again, which fed the EXIT storms of a loaded host).
#[test]
fn an_announced_peer_keeps_its_place_for_the_expired_time() {
    let start = Instant::now();
    let mut core = lone_core(64, start);
    let peer = Uuid::from_u128(0xCAFE);
    let ip: IpAddr = "10.9.9.8".parse().unwrap();
    core.handle_beacon(start, ip, &Beacon::new(peer, 41000).to_bytes());
    for s in 1..=25 {
        core.handle_timeout(start + secs(s));
    }
    assert_eq!(
        core.pending_peer_count(),
        1,
        "still waiting for its HELLO after 25 s"
    );
    let (actions, _) = drain(&mut core);
    let connects = actions
        .iter()
        .filter(|a| matches!(a, Action::Connect { .. }))
        .count();
    assert_eq!(connects, 1, "one link, not one per re-discovery");
    assert_eq!(core.counters().exits_for(Removal::Expired), 0);
    core.handle_timeout(start + secs(31));
    assert_eq!(core.pending_peer_count(), 0, "gone after the expired time");
}

/// After our endpoint moved, a peer that has not said HELLO an evasive
/// time later is greeted again on a new link, up to three times (Zyre and
/// pyre can ENTER us at the endpoint of our old beacon and send their
/// HELLO there for good: see `renumber.rs`); before, it waited for the
/// expired time (30 s). A peer that answers is not greeted again.
#[test]
fn after_our_move_a_peer_that_does_not_answer_is_greeted_again() {
    let start = Instant::now();
    let mut core = lone_core(64, start);
    let peer = Uuid::from_u128(0xCAFE);
    let ip: IpAddr = "10.9.9.8".parse().unwrap();
    let beacon = Beacon::new(peer, 41000).to_bytes();
    core.handle_beacon(start, ip, &beacon);
    let (actions, _) = drain(&mut core);
    assert_eq!(connects_to(&actions, peer), 1);
    core.change_endpoint(start + secs(1), "tcp://10.0.0.99:41000", 41000, None);
    let (actions, _) = drain(&mut core);
    assert_eq!(connects_to(&actions, peer), 1, "met again from the new endpoint");
    // Its beacons go on; its HELLO never comes.
    let mut regreeted = Vec::new();
    for s in 2..=28 {
        let now = start + secs(s);
        core.handle_beacon(now, ip, &beacon);
        core.handle_timeout(now);
        let (actions, _) = drain(&mut core);
        if connects_to(&actions, peer) > 0 {
            regreeted.push(s);
        }
    }
    // Every evasive time (5 s) after the move, three times.
    assert_eq!(regreeted, [6, 11, 16]);
    assert_eq!(core.pending_peer_count(), 1);
}

/// A peer that dropped us (a false expiry under load) finds us again and
/// says HELLO on a new link: for us that is the session we hold, not a
/// restart: no EXIT and ENTER (which would make it drop us in turn).
#[test]
fn a_repeated_hello_of_the_session_we_hold_is_no_restart() {
    let mut sim = Sim::mesh(2, true);
    let (a, b) = (0, 1);
    let b_uuid = sim.uuid(b);
    assert!(sim.nodes[a].core.remove_peer(b_uuid, Removal::Expired));
    sim.run_for(secs(3));
    assert_eq!(sim.count(a, "EXIT"), 1, "a dropped b");
    assert_eq!(sim.count(a, "ENTER"), 2, "and met it again");
    assert_eq!(sim.count(b, "EXIT"), 0, "b kept a: same session");
    assert_eq!(sim.count(b, "ENTER"), 1);
    assert_eq!(sim.nodes[b].core.counters().exits_for(Removal::Restarted), 0);
    // Both ways work afterwards, and stay working.
    let a_uuid = sim.uuid(a);
    sim.nodes[b].core.whisper(a_uuid, vec![b"hi".to_vec()]).unwrap();
    sim.nodes[a].core.whisper(b_uuid, vec![b"hi".to_vec()]).unwrap();
    sim.run_for(secs(60));
    assert_eq!(sim.count(a, "WHISPER"), 1);
    assert_eq!(sim.count(b, "WHISPER"), 1);
    assert_eq!(sim.count(a, "EXIT") + sim.count(b, "EXIT"), 1);
}

/// A HELLO that says something new (a restart under the same UUID, with
/// other groups) still restarts the peer.
#[test]
fn a_repeated_hello_that_says_something_new_is_a_restart() {
    let start = Instant::now();
    let mut core = lone_core(64, start);
    let peer = Uuid::from_u128(0xD00D);
    core.handle_message(
        start,
        &peer_identity(&peer),
        &hello("tcp://10.9.9.9:41000", "b"),
        Vec::new(),
    );
    core.handle_message(start, &peer_identity(&peer), &ping_ok(2), Vec::new());
    let ping = ZreMessage::new(3, Body::Ping).to_bytes().unwrap();
    core.handle_message(start, &peer_identity(&peer), &ping, Vec::new());
    core.handle_message(
        start,
        &peer_identity(&peer),
        &hello("tcp://10.9.9.9:41000", "b2"),
        Vec::new(),
    );
    core.handle_message(start, &peer_identity(&peer), &ping_ok(2), Vec::new());
    let (_, events) = drain(&mut core);
    let kinds: Vec<&str> = events.iter().map(|e| e.kind()).collect();
    assert_eq!(kinds, ["ENTER", "EXIT", "ENTER"]);
    assert_eq!(core.counters().exits_for(Removal::Restarted), 1);
}

// ----- budgets --------------------------------------------------------------

fn fake_beacon(core: &mut NodeCore, now: Instant, i: u32) {
    let beacon = Beacon::new(Uuid::from_u128(0xFACE_0000 + i as u128), 40000).to_bytes();
    let ip = IpAddr::V4(Ipv4Addr::new(10, 66, (i / 250) as u8, (i % 250) as u8 + 1));
    core.handle_beacon(now, ip, &beacon);
}

/// Links open: Connect minus Disconnect, by peer.
fn track_links(open: &mut HashSet<Uuid>, actions: &[Action]) {
    for action in actions {
        match action {
            Action::Connect { peer, .. } => {
                open.insert(*peer);
            }
            Action::Disconnect { peer } => {
                open.remove(peer);
            }
            _ => {}
        }
    }
}

/// 10 000 forged beacons over 1.5 s: the peer that said HELLO keeps its
/// slot, announced peers take at most half the table and at most
/// `max_linking` links (file descriptors) at once, and a real peer that
/// beacons after the flood gets a link within a few seconds.
#[test]
fn a_beacon_flood_is_bounded_in_slots_and_links_and_never_locks_a_real_peer_out() {
    let start = Instant::now();
    let mut core = lone_core(64, start);
    let confirmed = Uuid::from_u128(0xC0FF_EE00);
    core.handle_message(
        start,
        &peer_identity(&confirmed),
        &hello("tcp://10.9.9.1:41000", "c"),
        Vec::new(),
    );
    core.handle_message(start, &peer_identity(&confirmed), &ping_ok(2), Vec::new());
    let mut open = HashSet::new();
    let mut most_open = 0;
    let mut now = start;
    for i in 0..10_000u32 {
        now = start + Duration::from_micros(150 * i as u64);
        fake_beacon(&mut core, now, i);
        if i % 100 == 0 {
            core.handle_timeout(now);
        }
        let (actions, events) = drain(&mut core);
        track_links(&mut open, &actions);
        most_open = most_open.max(open.len());
        assert!(
            events.iter().all(|e| e.kind() != "EXIT"),
            "the confirmed peer stays"
        );
    }
    assert!(core.pending_peer_count() <= 32);
    assert!(
        most_open <= 8 + 1,
        "{most_open} links at once (8 announced + 1 confirmed)"
    );
    assert_eq!(core.peers(), vec![confirmed]);
    let counters = core.counters();
    assert!(counters.announcements_dropped > 9_000);
    assert_eq!(counters.max_pending, 32);
    // A real peer beacons once a second from now on.
    let real = Uuid::from_u128(0x4EA1);
    let mut linked_at = None;
    for s in 0..6u64 {
        let t = now + secs(s);
        core.handle_beacon(
            t,
            "10.9.9.2".parse().unwrap(),
            &Beacon::new(real, 41000).to_bytes(),
        );
        core.handle_timeout(t);
        let (actions, _) = drain(&mut core);
        if connects_to(&actions, real) > 0 {
            linked_at = Some(s);
            break;
        }
    }
    assert!(
        linked_at.is_some_and(|s| s <= 2),
        "the real peer got a link: {linked_at:?}"
    );
}

/// A burst of stale announcements (a gossip server's dump on HELLO) takes
/// every link place at once, then nothing new comes: a real peer announced
/// just after the burst waits, and gets a link once the dead links had
/// their turn (it waited until they expired: 30 s, and `netns::exhaustion`
/// met no peer within 30 s now and then).
#[test]
fn links_that_had_their_turn_give_way_to_a_waiting_peer_without_new_announcements() {
    let start = Instant::now();
    let mut core = lone_core(64, start);
    for i in 0..200u32 {
        fake_beacon(&mut core, start, i);
    }
    let real = Uuid::from_u128(0x4EA1);
    let now = start + Duration::from_millis(10);
    core.handle_beacon(
        now,
        "10.9.9.2".parse().unwrap(),
        &Beacon::new(real, 41000).to_bytes(),
    );
    let (actions, _) = drain(&mut core);
    assert_eq!(
        connects_to(&actions, real),
        0,
        "every link place is taken: the real peer waits"
    );
    let mut linked_at = None;
    for ms in (100..=3000u64).step_by(100) {
        let t = start + Duration::from_millis(ms);
        core.handle_timeout(t);
        let (actions, _) = drain(&mut core);
        if connects_to(&actions, real) > 0 {
            linked_at = Some(ms);
            break;
        }
    }
    assert!(
        linked_at.is_some_and(|ms| ms <= 2000),
        "the real peer got a link within 2 s of the burst: {linked_at:?} ms"
    );
}

/// The same burst, and the real peer's link, when its turn comes, cannot
/// be opened (no descriptor left: EMFILE, seen in a loaded CI run; why
/// the descriptors ran out there is not known): "not now" must keep its place at the head
/// of the line. It went to the back of the stale peers of other hosts,
/// each one a turn of its own, and `netns::exhaustion`'s victim met the
/// real node after more than 10 s under a full CI run.
#[test]
fn a_real_peer_whose_link_could_not_be_opened_is_next_in_line() {
    let start = Instant::now();
    let mut core = lone_core(64, start);
    for i in 0..200u32 {
        fake_beacon(&mut core, start, i);
    }
    let real = Uuid::from_u128(0x4EA1);
    core.handle_beacon(
        start + Duration::from_millis(10),
        "10.9.9.2".parse().unwrap(),
        &Beacon::new(real, 41000).to_bytes(),
    );
    drain(&mut core);
    let mut failed_at = None;
    let mut linked_again_at = None;
    for ms in (100..=10_000u64).step_by(100) {
        let t = start + Duration::from_millis(ms);
        core.handle_timeout(t);
        let (actions, _) = drain(&mut core);
        if connects_to(&actions, real) == 0 {
            continue;
        }
        if failed_at.is_none() {
            core.handle_connect_failed(t, real);
            drain(&mut core);
            failed_at = Some(ms);
        } else {
            linked_again_at = Some(ms);
            break;
        }
    }
    let failed_at = failed_at.expect("the real peer never got a link place");
    assert!(
        linked_again_at.is_some_and(|ms| ms <= failed_at + 2000),
        "its link failed at {failed_at} ms; tried again at {linked_again_at:?} ms, \
         not within 2 s"
    );
    assert_eq!(core.counters().connects_deferred, 1);
}

/// Stale gossip tuples that fill the announced half: the real peer's
/// tuple, given its place up to newer ones, is kept and tried again once
/// the stale ones expire (it was dropped for good).
#[test]
fn an_announcement_that_found_no_room_is_tried_when_room_frees_up() {
    let mut sim = Sim::new();
    let mut config = Sim::config(0, false);
    config.max_peers = 16;
    let a = sim.add_with(config);
    let real = sim.add(false);
    sim.beacons_off = true;
    let now = sim.now;
    let real_endpoint = sim.nodes[real].core.endpoint().to_owned();
    let real_uuid = sim.uuid(real);
    // The real tuple came first, then ten stale ones (no process behind).
    sim.nodes[a]
        .core
        .handle_gossip_tuple(now, &real_uuid.simple().to_string(), &real_endpoint);
    sim.nodes[real].alive = false; // busy: it answers nothing yet
    for i in 0..10u32 {
        let uuid = Uuid::from_u128(0x57A1E + i as u128);
        sim.nodes[a].core.handle_gossip_tuple(
            now,
            &uuid.simple().to_string(),
            &format!("tcp://10.77.0.{}:41000", i + 1),
        );
    }
    sim.settle();
    assert_eq!(sim.nodes[a].core.pending_peer_count(), 8);
    assert!(sim.nodes[a].core.counters().announcements_kept >= 1);
    sim.nodes[real].alive = true;
    sim.run_for(secs(40));
    assert_eq!(
        sim.nodes[a].core.peers(),
        vec![real_uuid],
        "met once the stale ones expired"
    );
}

/// No file descriptor for a link: "not now" for that peer, never fatal;
/// it gets another turn a tick later.
#[test]
fn a_link_that_cannot_be_opened_is_tried_again_later() {
    let start = Instant::now();
    let mut core = lone_core(64, start);
    let peer = Uuid::from_u128(0xFD);
    core.handle_beacon(
        start,
        "10.9.9.3".parse().unwrap(),
        &Beacon::new(peer, 41000).to_bytes(),
    );
    let (actions, _) = drain(&mut core);
    assert!(actions.iter().any(|a| matches!(a, Action::Connect { .. })));
    core.handle_connect_failed(start, peer);
    let (actions, _) = drain(&mut core);
    assert!(actions.iter().any(|a| matches!(a, Action::Disconnect { .. })));
    assert_eq!(core.pending_peer_count(), 1, "it stays, waiting");
    core.handle_timeout(start + Duration::from_millis(500));
    let (actions, _) = drain(&mut core);
    assert!(
        !actions.iter().any(|a| matches!(a, Action::Connect { .. })),
        "not within the pause"
    );
    core.handle_timeout(start + secs(2));
    let (actions, _) = drain(&mut core);
    let connects: Vec<_> = actions
        .iter()
        .filter(|a| matches!(a, Action::Connect { .. }))
        .collect();
    assert_eq!(connects.len(), 1, "tried again");
    assert_eq!(core.counters().connects_deferred, 1);
}

// ----- work per peer --------------------------------------------------------

/// Liveness checks come from a heap: an idle node with N peers looks at a
/// peer about twice per evasive period (its PING, the PING's wait), not
/// at every peer every tick; and it wakes once a tick at most.
#[test]
fn idle_liveness_work_per_peer_is_flat_and_wakes_once_a_tick() {
    for n in [32usize, 128] {
        let mut sim = Sim::mesh(n, true);
        sim.beacons_off = true;
        let checks0: u64 = sim.nodes.iter().map(|x| x.core.counters().peer_checks).sum();
        let timeouts0 = sim.work.timeouts;
        sim.run_for(secs(60));
        let checks: u64 = sim
            .nodes
            .iter()
            .map(|x| x.core.counters().peer_checks)
            .sum::<u64>()
            - checks0;
        let per_peer_second = checks as f64 / (n * (n - 1)) as f64 / 60.0;
        let wakes = (sim.work.timeouts - timeouts0) as f64 / n as f64 / 60.0;
        println!(
            "N={n}: {per_peer_second:.3} checks per peer per second, {wakes:.2} wake-ups per node per second"
        );
        assert!(per_peer_second < 0.5, "a scan would be 1 per peer per tick");
        assert!(wakes <= 1.05, "{wakes}");
        for i in 0..n {
            assert_eq!(sim.count(i, "EXIT"), 0);
        }
    }
}

/// 1 000 nodes, full mesh, 10 virtual minutes idle: 0 EXIT, and the
/// core's work per peer per virtual second (messages, actions, checks)
/// flat from 100 to 1 000 nodes. `ZRE_SIM_NODES=100,300` picks sizes.
/// Beacons stop once the mesh has formed: at 1 000 nodes they alone are
/// a million datagrams a virtual second to move; liveness is PING.
#[test]
#[ignore = "minutes in release: cargo test --release --test sim a_thousand_nodes -- --ignored"]
fn a_thousand_nodes_stay_meshed_for_ten_virtual_minutes() {
    let sizes: Vec<usize> = std::env::var("ZRE_SIM_NODES")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100, 1000]);
    let minutes: u64 = std::env::var("ZRE_SIM_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(10);
    for n in sizes {
        let wall = Instant::now();
        let mut sim = Sim::new();
        for _ in 0..n {
            sim.add(false);
        }
        sim.run_for(secs(2));
        sim.beacons_off = true;
        let formed = wall.elapsed();
        for i in 0..n {
            assert_eq!(sim.nodes[i].core.peers().len(), n - 1, "node {i} met everyone");
        }
        let work0 = (sim.work.messages, sim.work.actions);
        let checks0: u64 = sim.nodes.iter().map(|x| x.core.counters().peer_checks).sum();
        sim.run_for(secs(60 * minutes));
        let exits: usize = (0..n).map(|i| sim.count(i, "EXIT")).sum();
        let checks: u64 = sim
            .nodes
            .iter()
            .map(|x| x.core.counters().peer_checks)
            .sum::<u64>()
            - checks0;
        let links = (n * (n - 1)) as f64;
        let seconds = (60 * minutes) as f64;
        let per = |x: u64| x as f64 / links / seconds;
        println!(
            "N={n}: mesh formed in 2 virtual s ({formed:.1?} wall); {minutes} virtual min: {exits} EXIT; per peer per virtual second: {:.3} messages, {:.3} actions, {:.3} checks ({:.1?} wall)",
            per(sim.work.messages - work0.0),
            per(sim.work.actions - work0.1),
            per(checks),
            wall.elapsed()
        );
        assert_eq!(exits, 0);
        assert!(per(checks) < 0.5);
    }
}

/// One host floods beacons of ever new UUIDs (7 000 a second, from its own
/// address and a thousand ports, as `tests/hostile/attacker.py` does) while a real peer on
/// another host starts beaconing: the real peer gets a slot, a link and,
/// once it answers, stays, though the flood goes on. Before per-host
/// shares, each forged beacon pushed out the oldest announced peer, which
/// soon was the real one, before its HELLO came (`netns::exhaustion` met a
/// peer started during a flood within 5 s in 4 of 7 runs).
#[test]
fn a_flood_from_one_host_does_not_push_out_a_real_peer_that_beacons_meanwhile() {
    let start = Instant::now();
    let mut core = lone_core(64, start);
    let attacker = IpAddr::V4(Ipv4Addr::new(10, 66, 0, 1));
    let real = Uuid::from_u128(0x4EA1);
    let real_endpoint = "tcp://10.9.9.2:41000";
    let mut hello_due: Option<Instant> = None;
    let mut entered_at = None;
    // 10 s of flood; the real peer beacons once a second from 2 s on and
    // answers a link with its HELLO 50 ms later (a loaded host).
    for i in 0..70_000u32 {
        let now = start + Duration::from_micros(143 * i as u64);
        let port = 40000 + (i % 1000) as u16;
        let beacon = Beacon::new(Uuid::from_u128(0xFACE_0000 + i as u128), port).to_bytes();
        core.handle_beacon(now, attacker, &beacon);
        if i % 7_000 == 0 && now >= start + secs(2) {
            core.handle_beacon(
                now,
                "10.9.9.2".parse().unwrap(),
                &Beacon::new(real, 41000).to_bytes(),
            );
        }
        if i % 100 == 0 {
            core.handle_timeout(now);
        }
        if hello_due.is_some_and(|due| now >= due) {
            hello_due = None;
            core.handle_message(
                now,
                &peer_identity(&real),
                &hello(real_endpoint, "real"),
                Vec::new(),
            );
            core.handle_message(now, &peer_identity(&real), &ping_ok(2), Vec::new());
        }
        let (actions, events) = drain(&mut core);
        if hello_due.is_none()
            && actions
                .iter()
                .any(|a| matches!(a, Action::Connect { peer, .. } if *peer == real))
        {
            hello_due = Some(now + Duration::from_millis(50));
        }
        for event in &events {
            match event {
                Event::Enter { peer, .. } if *peer == real => entered_at = Some(now - start),
                Event::Exit { peer, .. } if *peer == real => panic!("the real peer EXITed during the flood"),
                _ => {}
            }
        }
    }
    println!(
        "flood from one host: {} announcements dropped, real peer ENTERed at {entered_at:?}",
        core.counters().announcements_dropped
    );
    assert!(
        entered_at.is_some_and(|t| t <= Duration::from_millis(2500)),
        "the real peer, beaconing from 2 s on, ENTERed at {entered_at:?}: its first beacon should do"
    );
    assert!(core.peers().contains(&real), "and it stays");
    assert!(
        core.pending_peer_count() <= 32,
        "the flood keeps to the announced half"
    );
}
