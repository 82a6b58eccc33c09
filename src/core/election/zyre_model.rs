//! Our [`Elections`] beside a model of Zyre 2.0.1's election (the ELECT
//! and LEADER handling of `zyre_node.c` and the counters of
//! `zyre_election.c`, rewritten from their behaviour): plain counts of
//! ELECT and LEADER against the group's size, a wave dropped and started
//! afresh on every membership change a contester sees, LEADER forwarded
//! with the wave's own challenger, and Zyre's asserts as panics. Each
//! member has its own view of the group, so the races of a live LAN (a
//! peer dropped at one end and not yet at another) can be replayed.

use super::*;
use std::collections::VecDeque;

/// A Zyre member of the group.
struct Zyre {
    me: Uuid,
    contest: bool,
    /// The group's other members, as Zyre sees them.
    members: BTreeSet<Uuid>,
    /// Every peer Zyre knows (its `self->peers`).
    peers: BTreeSet<Uuid>,
    /// `zyre_election_t`: caw, father, erec, lrec.
    wave: Option<(Option<Uuid>, Option<Uuid>, usize, usize)>,
    /// `zyre_group_leader`: set when a peer (not Zyre itself) won.
    group_leader: Option<Uuid>,
    /// Zyre itself joined the group (it challenges on a JOIN only then).
    joined: bool,
}

enum Node {
    Ours(Elections, BTreeSet<Uuid>),
    Zyre(Zyre),
}

#[derive(Clone, Copy)]
enum Msg {
    Join,
    Elect(Uuid),
    Leader(Uuid),
}

struct Lan {
    now: Instant,
    nodes: BTreeMap<Uuid, Node>,
    /// In flight, FIFO (so FIFO per link, as on TCP).
    wire: VecDeque<(Uuid, Uuid, Msg)>,
    /// LEADER events: (when, reporter, leader).
    reports: Vec<(Instant, Uuid, Uuid)>,
    /// Picks the next message in flight at random (xorshift state), FIFO
    /// per link; `None`: in order.
    reorder: Option<u64>,
    /// Per node, how many reports there were when it had seen every
    /// other node's JOIN.
    all_joined_at: BTreeMap<Uuid, usize>,
}

fn group() -> Arc<str> {
    "g".into()
}

impl Zyre {
    fn send_all(&self, msg: Msg, but: Option<Uuid>, wire: &mut VecDeque<(Uuid, Uuid, Msg)>) {
        for &to in self.members.iter().filter(|&&m| Some(m) != but) {
            wire.push_back((self.me, to, msg));
        }
    }

    /// Zyre's "start challenge for leadership" (on a JOIN while in the
    /// group, or the leader's EXIT): any wave is dropped.
    fn challenge(&mut self, wire: &mut VecDeque<(Uuid, Uuid, Msg)>) {
        self.wave = Some((Some(self.me), None, 0, 0));
        self.send_all(Msg::Elect(self.me), None, wire);
    }

    fn on_elect(&mut self, from: Uuid, r: Uuid, wire: &mut VecDeque<(Uuid, Uuid, Msg)>) {
        let (caw, ..) = *self.wave.get_or_insert((None, None, 0, 0));
        if caw.is_none_or(|caw| r < caw) {
            self.wave = Some((Some(r), Some(from), 0, 0));
            self.send_all(Msg::Elect(r), Some(from), wire);
        }
        let wave = self.wave.as_mut().unwrap();
        if wave.0 == Some(r) {
            wave.2 += 1;
            if wave.2 == self.members.len() {
                if r == self.me {
                    self.send_all(Msg::Leader(r), None, wire);
                } else {
                    wire.push_back((self.me, wave.1.unwrap(), Msg::Elect(r)));
                }
            }
        }
    }

    fn on_leader(&mut self, r: Uuid, wire: &mut VecDeque<(Uuid, Uuid, Msg)>) -> Option<Uuid> {
        let (caw, _, _, lrec) = *self.wave.get_or_insert((None, None, 0, 0));
        if r != self.me && lrec == 0 {
            let caw = caw.expect("Zyre aborts: assert (self->caw) in build_leader_msg");
            self.send_all(Msg::Leader(caw), None, wire);
        }
        let wave = self.wave.as_mut().unwrap();
        wave.3 += 1;
        if wave.3 != self.members.len() {
            return None;
        }
        self.wave = None;
        if r != self.me {
            assert!(self.peers.contains(&r), "Zyre aborts: assert (leader_peer)");
            self.group_leader = Some(r);
        }
        Some(r)
    }

    /// Zyre expires `peer` (or it sent LEAVE): a contester challenges if
    /// it was the leader; the wave stays otherwise.
    fn remove(&mut self, peer: Uuid, wire: &mut VecDeque<(Uuid, Uuid, Msg)>) {
        if self.group_leader == Some(peer) {
            self.wave = None;
            if self.contest {
                self.challenge(wire);
            }
        }
        self.members.remove(&peer);
        self.peers.remove(&peer);
    }
}

impl Lan {
    /// Nodes (UUID, contests); with `joined` all are in the group (and
    /// see each other's JOIN only through [`Lan::join_seen`]).
    fn new(ours: &[(u128, bool)], zyres: &[(u128, bool)], joined: bool) -> Lan {
        let now = Instant::now();
        let all: BTreeSet<Uuid> = ours
            .iter()
            .chain(zyres)
            .map(|&(i, _)| Uuid::from_u128(i))
            .collect();
        let others = |me: Uuid| all.iter().copied().filter(|&m| m != me).collect::<BTreeSet<_>>();
        let mut nodes = BTreeMap::new();
        for &(i, contest) in ours {
            let me = Uuid::from_u128(i);
            let mut e = Elections::new(me, now);
            if contest {
                e.contest(group(), None, &mut Vec::new());
            }
            if joined {
                e.joined(group(), None, &mut Vec::new());
            }
            nodes.insert(me, Node::Ours(e, BTreeSet::new()));
        }
        for &(i, contest) in zyres {
            let me = Uuid::from_u128(i);
            nodes.insert(
                me,
                Node::Zyre(Zyre {
                    me,
                    contest,
                    members: BTreeSet::new(),
                    peers: others(me),
                    wave: None,
                    group_leader: None,
                    joined,
                }),
            );
        }
        Lan {
            now,
            nodes,
            wire: VecDeque::new(),
            reports: Vec::new(),
            reorder: None,
            all_joined_at: BTreeMap::new(),
        }
    }

    /// `at` joins the group: JOIN to every node, then (ours) its
    /// challenge; Zyre does not challenge on its own join.
    fn join(&mut self, at: Uuid) {
        for &to in self.nodes.keys().filter(|&&n| n != at) {
            self.wire.push_back((at, to, Msg::Join));
        }
        let mut out = Vec::new();
        match self.nodes.get_mut(&at).unwrap() {
            Node::Ours(e, members) => e.joined(group(), Some(members), &mut out),
            Node::Zyre(z) => z.joined = true,
        }
        self.carry_out(at, out);
    }

    /// Every node's election state, for a failure message.
    fn dump(&self) -> String {
        let mut text = String::new();
        for (id, node) in &self.nodes {
            match node {
                Node::Ours(e, members) => {
                    text += &format!(
                        "\nours {} members {members:?}: {:?}",
                        id.as_u128(),
                        e.groups.get("g")
                    )
                }
                Node::Zyre(z) => {
                    text += &format!(
                        "\nZyre {} members {:?} wave {:?} leader {:?}",
                        id.as_u128(),
                        z.members,
                        z.wave,
                        z.group_leader
                    )
                }
            }
        }
        text
    }

    fn in_group(&self, at: Uuid) -> bool {
        match &self.nodes[&at] {
            Node::Ours(e, _) => e.groups.contains_key("g"),
            Node::Zyre(z) => z.joined,
        }
    }

    fn members_seen(&self, at: Uuid) -> usize {
        match &self.nodes[&at] {
            Node::Ours(_, members) => members.len(),
            Node::Zyre(z) => z.members.len(),
        }
    }

    /// `at` sees `peer` join the group (all are in the group from the
    /// start; JOINs arrive one by one).
    fn join_seen(&mut self, at: u128, peer: u128) {
        self.join_seen_by(Uuid::from_u128(at), Uuid::from_u128(peer));
    }

    fn join_seen_by(&mut self, at: Uuid, peer: Uuid) {
        let mut out = Vec::new();
        match self.nodes.get_mut(&at).unwrap() {
            Node::Ours(e, members) => {
                members.insert(peer);
                e.member_joined(&group(), peer, Some(members), &mut out);
            }
            Node::Zyre(z) => {
                z.members.insert(peer);
                if z.contest && z.joined {
                    z.challenge(&mut self.wire);
                }
            }
        }
        self.carry_out(at, out);
        if self.members_seen(at) + 1 == self.nodes.len() {
            self.all_joined_at.insert(at, self.reports.len());
        }
    }

    /// The next message in flight: the first, or (reordering) the first
    /// on the link of one picked at random.
    fn next_message(&mut self) -> Option<(Uuid, Uuid, Msg)> {
        let Some(state) = self.reorder.as_mut() else {
            return self.wire.pop_front();
        };
        if self.wire.is_empty() {
            return None;
        }
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        let (from, to, _) = self.wire[(*state % self.wire.len() as u64) as usize];
        let first = self.wire.iter().position(|m| m.0 == from && m.1 == to)?;
        self.wire.remove(first)
    }

    /// A coin toss from the reorder generator.
    fn coin(&mut self) -> bool {
        let state = self.reorder.as_mut().expect("reordering is on");
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state & 1 == 0
    }

    /// `at` drops `peer`: ours with `others_until` (a fast EXIT) or not.
    fn left_seen(&mut self, at: u128, peer: u128, others_until: Option<Instant>) {
        let (at, peer) = (Uuid::from_u128(at), Uuid::from_u128(peer));
        let mut out = Vec::new();
        match self.nodes.get_mut(&at).unwrap() {
            Node::Ours(e, members) => {
                members.remove(&peer);
                e.member_left(&group(), peer, others_until, Some(members), &mut out);
            }
            Node::Zyre(z) => z.remove(peer, &mut self.wire),
        }
        self.carry_out(at, out);
    }

    fn carry_out(&mut self, from: Uuid, out: Vec<Output>) {
        for o in out {
            match o {
                Output::Elect { to, challenger, .. } => {
                    self.wire.push_back((from, to, Msg::Elect(challenger)))
                }
                Output::Leader { to, leader, .. } => self.wire.push_back((from, to, Msg::Leader(leader))),
                Output::Elected { leader, .. } => self.reports.push((self.now, from, leader)),
            }
        }
    }

    /// Delivers until quiet; messages to a node no longer here are lost.
    fn settle(&mut self) {
        while let Some((from, to, msg)) = self.next_message() {
            self.deliver(from, to, msg);
        }
    }

    fn deliver(&mut self, from: Uuid, to: Uuid, msg: Msg) {
        if std::env::var_os("ZYRE_MODEL_TRACE").is_some() {
            let what = match msg {
                Msg::Join => "JOIN".to_string(),
                Msg::Elect(r) => format!("ELECT({})", r.as_u128()),
                Msg::Leader(r) => format!("LEADER({})", r.as_u128()),
            };
            eprintln!("{:?} {} -> {}: {what}", self.now, from.as_u128(), to.as_u128());
        }
        if let Msg::Join = msg {
            if self.nodes.contains_key(&to) {
                self.join_seen_by(to, from);
            }
            return;
        }
        {
            let mut out = Vec::new();
            match self.nodes.get_mut(&to) {
                None => {}
                Some(Node::Ours(e, members)) => {
                    e.set_clock(self.now);
                    let _ = match msg {
                        Msg::Elect(r) => e.elect(from, &group(), r, true, Some(members), &mut out),
                        Msg::Leader(r) => e.leader_message(from, &group(), r, true, Some(members), &mut out),
                        Msg::Join => unreachable!(),
                    };
                }
                Some(Node::Zyre(z)) => match msg {
                    Msg::Elect(r) => z.on_elect(from, r, &mut self.wire),
                    Msg::Leader(r) => {
                        if let Some(leader) = z.on_leader(r, &mut self.wire) {
                            self.reports.push((self.now, to, leader));
                        }
                    }
                    Msg::Join => unreachable!(),
                },
            }
            self.carry_out(to, out);
        }
    }

    /// Runs the clock on in steps of 100 ms to `to`, with our timers.
    fn run_to(&mut self, to: Instant) {
        while self.now < to {
            self.now = (self.now + Duration::from_millis(100)).min(to);
            let now = self.now;
            let ids: Vec<Uuid> = self.nodes.keys().copied().collect();
            for id in ids {
                let mut out = Vec::new();
                if let Some(Node::Ours(e, members)) = self.nodes.get_mut(&id) {
                    let members = &*members;
                    e.handle_timeout(now, |_| Some(members), &mut out);
                }
                self.carry_out(id, out);
            }
            self.settle();
        }
    }

    /// Every node reported `leader`, and no other, in its reports from
    /// the `since`-th on.
    fn agree_on(&self, leader: u128, since: usize) {
        let leader = Uuid::from_u128(leader);
        for &id in self.nodes.keys() {
            let mine: Vec<Uuid> = self
                .reports
                .iter()
                .skip(since)
                .filter(|r| r.1 == id)
                .map(|r| r.2)
                .collect();
            assert!(!mine.is_empty(), "{id}: no LEADER since the change");
            assert!(
                mine.iter().all(|&l| l == leader),
                "{id}: LEADERs {mine:?}, want only {leader}"
            );
        }
    }
}

/// Ours A leads, Zyre Z and ours B follow, all contesting; A is SIGKILLed.
/// B drops it at once (fast EXIT) and challenges; Z keeps it until it
/// expires (3 s, found by its once-a-second reaper). Every survivor
/// reports the new leader, and only it, whether Z or B sorts first.
#[test]
fn after_a_fast_exit_ours_and_zyre_agree_on_the_next_leader() {
    let expired = Duration::from_secs(3);
    // (A, Z, B): Z between A and B, then Z last.
    for (a, z, b) in [(1, 2, 3), (1, 3, 2)] {
        let mut lan = Lan::new(&[(a, true), (b, true)], &[(z, true)], true);
        // Z and B are in the group, see each other, then A joins.
        lan.join_seen(z, b);
        lan.join_seen(b, z);
        lan.settle();
        let start = lan.reports.len();
        for (at, peer) in [(z, a), (b, a), (a, z), (a, b)] {
            lan.join_seen(at, peer);
        }
        lan.settle();
        lan.run_to(lan.now + Duration::from_secs(1));
        lan.agree_on(a, start);
        // A dies: B drops it at once, Z when it expires.
        let killed = lan.now;
        let since = lan.reports.len();
        lan.nodes.remove(&Uuid::from_u128(a));
        lan.left_seen(b, a, Some(killed + expired + REAP_MARGIN));
        lan.settle();
        lan.run_to(killed + expired + Duration::from_millis(700));
        lan.left_seen(z, a, None);
        lan.settle();
        lan.run_to(killed + Duration::from_secs(60));
        lan.agree_on(z.min(b), since);
        let last = lan.reports.iter().map(|r| r.0).max().unwrap();
        assert!(
            last <= killed + expired + Duration::from_secs(1),
            "the new leader only {:?} after the kill",
            last - killed
        );
    }
}

/// (UUID, contests) of each of ours, and of the Zyre.
type Case = (&'static [(u128, bool)], (u128, bool));

/// The live tests' groups: Zyre contesting with our plain member, then
/// Zyre first, between and last among two contesters of ours, joining
/// smaller UUID first and (the random UUIDs of
/// `zyre_c_leader_agreed_by_all_contesters`) larger first. Ours join in
/// the order listed.
const LIVE_CASES: [Case; 7] = [
    (&[(1, false)], (2, true)),
    (&[(2, true), (3, true)], (1, true)),
    (&[(1, true), (3, true)], (2, true)),
    (&[(1, true), (2, true)], (3, true)),
    (&[(3, true), (2, true)], (1, true)),
    (&[(3, true), (1, true)], (2, true)),
    (&[(2, true), (1, true)], (3, true)),
];

/// The live tests' order (`tests/netns/zyre_c_election.rs`): everyone has
/// met, the Zyre joins, and each of ours joins once it saw that JOIN and
/// the election the previous JOIN started is over; messages on different
/// links overtake each other at random. Every member reports the
/// smallest contester once it saw every JOIN, and no other leader after
/// that; Zyre never aborts.
///
/// Joins at once are another matter: Zyre counts ELECT and LEADER per
/// wave with no wave number, and drops its wave on every JOIN, so JOINs
/// that cross a wave leave counts that never match; three Zyres alone
/// disagree or abort in about a quarter of such orders in this model
/// (see `zyre_alone_in_the_same_order`), a group with ours less often.
fn first_election(seed: u64, ours: &[(u128, bool)], zyre: (u128, bool)) -> Result<(), String> {
    first_election_with(seed, ours, &[zyre], true)
}

/// [`first_election`] with more Zyres; the first of them joins first.
/// With `one_by_one`, a node joins only when the network is quiet (the
/// election the last JOIN started is over).
fn first_election_with(
    seed: u64,
    ours: &[(u128, bool)],
    zyres: &[(u128, bool)],
    one_by_one: bool,
) -> Result<(), String> {
    let zyre = zyres[0];
    let mut lan = Lan::new(ours, zyres, false);
    if std::env::var_os("ZYRE_MODEL_TRACE").is_some() {
        eprintln!("CASE seed {seed} ours {ours:?} Zyre {zyre:?}");
    }
    lan.reorder = Some(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let z = Uuid::from_u128(zyre.0);
    lan.join(z);
    loop {
        // In the order the nodes are listed, as the live test joins them.
        let ready: Vec<Uuid> = ours
            .iter()
            .chain(zyres)
            .map(|&(n, _)| Uuid::from_u128(n))
            .filter(|&n| {
                !lan.in_group(n)
                    && match &lan.nodes[&n] {
                        Node::Ours(_, members) => members.contains(&z),
                        Node::Zyre(other) => other.members.contains(&z),
                    }
            })
            .collect();
        let now = lan.wire.is_empty() || (!one_by_one && lan.coin());
        if let Some(&n) = ready.first().filter(|_| now) {
            lan.join(n);
        } else if let Some((from, to, msg)) = lan.next_message() {
            lan.deliver(from, to, msg);
        } else {
            break;
        }
    }
    lan.run_to(lan.now + Duration::from_secs(60));
    let expected = ours
        .iter()
        .chain(zyres)
        .filter(|n| n.1)
        .map(|n| Uuid::from_u128(n.0))
        .min()
        .unwrap();
    for &id in lan.nodes.keys() {
        let from = lan.all_joined_at[&id];
        let mine: Vec<Uuid> = lan.reports[from..]
            .iter()
            .filter(|r| r.1 == id)
            .map(|r| r.2)
            .collect();
        if mine.is_empty() || mine.iter().any(|&l| l != expected) {
            return Err(format!(
                "{} reported {:?} after every JOIN, want {}; {}",
                id.as_u128(),
                mine.iter().map(|l| l.as_u128()).collect::<Vec<_>>(),
                expected.as_u128(),
                lan.dump()
            ));
        }
    }
    Ok(())
}

#[test]
fn the_first_election_with_zyre_agrees_in_any_order() {
    let seeds: u64 = std::env::var("SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let cases = LIVE_CASES;
    let mut failures = Vec::new();
    for (ours, zyre) in cases {
        let mut failed = 0;
        let mut first = None;
        for seed in 1..=seeds {
            let result = std::panic::catch_unwind(|| first_election(seed, ours, zyre)).unwrap_or_else(|e| {
                Err(e
                    .downcast_ref::<&str>()
                    .map_or("a panic".into(), |s| s.to_string()))
            });
            if let Err(why) = result {
                failed += 1;
                first.get_or_insert(format!("seed {seed}: {why}"));
            }
        }
        if failed > 0 {
            failures.push(format!(
                "ours {ours:?}, Zyre {zyre:?}: {failed} of {seeds} failed, first {}",
                first.unwrap()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Zyre alone (three Zyres, the same order): how often its own election
/// fails to agree. Not a test of ours: a yardstick for the one above.
#[test]
#[ignore = "a measurement of Zyre's own election in the model; run with --ignored --nocapture"]
fn zyre_alone_in_the_same_order() {
    let seeds = 1000;
    for (zyres, one_by_one) in [
        [(1, true), (2, true), (3, true)],
        [(2, true), (1, true), (3, true)],
        [(3, true), (1, true), (2, true)],
    ]
    .into_iter()
    .flat_map(|z| [(z, false), (z, true)])
    {
        let failed = (1..=seeds)
            .filter(|&seed| {
                std::panic::catch_unwind(|| first_election_with(seed, &[], &zyres, one_by_one))
                    .unwrap_or_else(|_| Err("a panic".into()))
                    .is_err()
            })
            .count();
        println!("Zyres {zyres:?}, one by one {one_by_one}: {failed} of {seeds} failed");
    }
    // Ours with one Zyre, joining at once (the test above: one by one).
    let cases = LIVE_CASES;
    for (ours, zyre) in cases {
        let failed = (1..=seeds)
            .filter(|&seed| {
                std::panic::catch_unwind(|| first_election_with(seed, ours, &[zyre], false))
                    .unwrap_or_else(|_| Err("a panic".into()))
                    .is_err()
            })
            .count();
        println!("ours {ours:?}, Zyre {zyre:?}, at once: {failed} of {seeds} failed");
    }
}
