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
}

enum Node {
    Ours(Elections, BTreeSet<Uuid>),
    Zyre(Zyre),
}

#[derive(Clone, Copy)]
enum Msg {
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
    fn new(ours: &[(u128, bool)], zyres: &[(u128, bool)]) -> Lan {
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
            e.joined(group(), None, &mut Vec::new());
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
                }),
            );
        }
        Lan {
            now,
            nodes,
            wire: VecDeque::new(),
            reports: Vec::new(),
        }
    }

    /// `at` sees `peer` join the group (all are in the group from the
    /// start; JOINs arrive one by one).
    fn join_seen(&mut self, at: u128, peer: u128) {
        let (at, peer) = (Uuid::from_u128(at), Uuid::from_u128(peer));
        let mut out = Vec::new();
        match self.nodes.get_mut(&at).unwrap() {
            Node::Ours(e, members) => {
                members.insert(peer);
                e.member_joined(&group(), peer, Some(members), &mut out);
            }
            Node::Zyre(z) => {
                z.members.insert(peer);
                if z.contest {
                    z.challenge(&mut self.wire);
                }
            }
        }
        self.carry_out(at, out);
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
        while let Some((from, to, msg)) = self.wire.pop_front() {
            let mut out = Vec::new();
            match self.nodes.get_mut(&to) {
                None => {}
                Some(Node::Ours(e, members)) => {
                    e.set_clock(self.now);
                    let _ = match msg {
                        Msg::Elect(r) => e.elect(from, &group(), r, true, Some(members), &mut out),
                        Msg::Leader(r) => e.leader_message(from, &group(), r, true, Some(members), &mut out),
                    };
                }
                Some(Node::Zyre(z)) => match msg {
                    Msg::Elect(r) => z.on_elect(from, r, &mut self.wire),
                    Msg::Leader(r) => {
                        if let Some(leader) = z.on_leader(r, &mut self.wire) {
                            self.reports.push((self.now, to, leader));
                        }
                    }
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
        let mut lan = Lan::new(&[(a, true), (b, true)], &[(z, true)]);
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
