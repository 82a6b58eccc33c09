//! A LAN of `NodeCore`s in virtual time, for the faults of issue 25 (what
//! the network does to a node: its address changes, a handshake fails, two
//! nodes claim one endpoint). Smaller than `core_sim.rs`'s harness, with
//! what that one lacks: a node can be renumbered (its inbox moves, links to
//! the old endpoint go nowhere), a DEALER's CURVE handshake can be made to
//! fail, a node can be stopped and resumed (SIGSTOP, SIGCONT; also right
//! after its next HELLO) and its link taken down and up.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};
use uuid::Uuid;
use zre::core::{Action, CoreConfig, Event, Frame, IDENTITY_LEN, NodeCore, peer_identity};
use zre::wire::MessageId;

pub struct SimNode {
    pub core: NodeCore,
    pub ip: IpAddr,
    pub events: Vec<Event>,
}

struct Packet {
    from: usize,
    /// The sender's link it went out on (named by the peer it is for).
    link: Uuid,
    to: usize,
    identity: [u8; IDENTITY_LEN],
    header: Vec<u8>,
    content: Vec<Frame>,
}

pub struct Lan {
    pub now: Instant,
    pub start: Instant,
    pub nodes: Vec<SimNode>,
    /// Who listens at an endpoint now.
    pub by_endpoint: HashMap<String, usize>,
    /// (node, peer uuid) -> where its DEALER is connected (the endpoint);
    /// the connection reaches whoever listens there, at each send.
    links: HashMap<(usize, Uuid), String>,
    /// (receiver, sender) -> the sender's link (by peer) the receiver's
    /// ROUTER routes (ZMQ_ROUTER_HANDOVER: the newest takes the identity).
    routes: HashMap<(usize, usize), Uuid>,
    in_flight: VecDeque<Packet>,
    /// DEALERs of `(node, to)` whose CURVE handshake fails.
    pub handshake_fails: HashSet<(usize, usize)>,
    /// Links `(node, peer)` whose handshake failed and is being retried.
    failed_links: HashSet<(usize, Uuid)>,
    /// What those links hold until then.
    queued: HashMap<(usize, Uuid), Vec<Packet>>,
    /// Every `Connect`, `(node, peer)`.
    pub connects: Vec<(usize, Uuid)>,
    /// Nodes stopped (SIGSTOP): they act on nothing, not even their
    /// timers, and what reaches them waits in `held` (the kernel's socket
    /// buffers) until they go on.
    frozen: HashSet<usize>,
    held: HashMap<usize, VecDeque<Held>>,
    /// Stop this node right after it sends its next HELLO, before it
    /// reads anything more: the peer may ENTER it while it has not read
    /// the peer's HELLO.
    pub stop_after_hello: Option<usize>,
    /// Nodes whose link is down: they run, but their beacons and those
    /// sent to them are lost, and TCP holds their messages either way
    /// (`delayed`) until the link is up again.
    down: HashSet<usize>,
    delayed: VecDeque<Packet>,
    /// Nodes out of file descriptors: every link they open fails
    /// (EMFILE), which their shell reports as `handle_connect_failed`.
    pub no_descriptors: HashSet<usize>,
}

/// What waits for a stopped node: a message at its inbox or a beacon.
enum Held {
    Message(Packet),
    Beacon(IpAddr, Vec<u8>),
}

pub fn uuid_of(n: u128) -> Uuid {
    Uuid::from_u128(0x2500_0000_0000_0000_0000_0000_0000_0000 + n)
}

pub fn ip_of(index: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 25, 0, index as u8 + 2))
}

pub fn text(s: &str) -> Vec<Frame> {
    vec![s.into()]
}

impl Lan {
    pub fn new() -> Lan {
        let now = Instant::now();
        Lan {
            now,
            start: now,
            nodes: Vec::new(),
            by_endpoint: HashMap::new(),
            links: HashMap::new(),
            routes: HashMap::new(),
            in_flight: VecDeque::new(),
            handshake_fails: HashSet::new(),
            failed_links: HashSet::new(),
            queued: HashMap::new(),
            connects: Vec::new(),
            frozen: HashSet::new(),
            held: HashMap::new(),
            stop_after_hello: None,
            down: HashSet::new(),
            delayed: VecDeque::new(),
            no_descriptors: HashSet::new(),
        }
    }

    /// SIGSTOP: the node does nothing until [`Lan::resume`]; what is sent
    /// to it waits, as it would in its sockets' buffers.
    pub fn stop(&mut self, node: usize) {
        self.settle();
        self.frozen.insert(node);
    }

    /// `ip link set down`: see `down`.
    pub fn link_down(&mut self, node: usize) {
        self.settle();
        self.down.insert(node);
    }

    /// The link is up again: what TCP held goes on, in order.
    pub fn link_up(&mut self, node: usize) {
        self.down.remove(&node);
        let (go, stay) = std::mem::take(&mut self.delayed)
            .into_iter()
            .partition(|p| !self.down.contains(&p.from) && !self.down.contains(&p.to));
        self.delayed = stay;
        self.in_flight.extend::<VecDeque<Packet>>(go);
        self.settle();
    }

    pub fn is_stopped(&self, node: usize) -> bool {
        self.frozen.contains(&node)
    }

    /// SIGCONT: the node reads what waited, as its reactor does after a
    /// wake (the inbox, then the beacons, then its timers).
    pub fn resume(&mut self, node: usize) {
        self.frozen.remove(&node);
        let now = self.now;
        let core = &mut self.nodes[node].core;
        for held in self.held.remove(&node).unwrap_or_default() {
            match held {
                Held::Message(p) => {
                    core.handle_message(now, &p.identity, &p.header, p.content);
                }
                Held::Beacon(ip, bytes) => core.handle_beacon(now, ip, &bytes),
            }
        }
        if core.poll_timeout().is_some_and(|t| t <= now) {
            core.handle_timeout(now);
        }
        self.settle();
    }

    pub fn config(index: usize, name: &str) -> CoreConfig {
        let ip = ip_of(index);
        CoreConfig::new(uuid_of(index as u128), name, format!("tcp://{ip}:41000"), 41000)
    }

    pub fn add(&mut self, name: &str) -> usize {
        let config = Self::config(self.nodes.len(), name);
        self.add_with(config)
    }

    pub fn add_with(&mut self, config: CoreConfig) -> usize {
        let index = self.nodes.len();
        let ip = config
            .endpoint
            .trim_start_matches("tcp://")
            .rsplit_once(':')
            .unwrap()
            .0
            .parse()
            .unwrap();
        self.by_endpoint.insert(config.endpoint.clone(), index);
        self.nodes.push(SimNode {
            core: NodeCore::new(config, self.now),
            ip,
            events: Vec::new(),
        });
        index
    }

    /// A node bound at its own address that advertises `endpoint` in HELLO
    /// (a misconfigured `--endpoint`).
    pub fn add_advertising(&mut self, name: &str, endpoint: &str) -> usize {
        let index = self.nodes.len();
        let ip = ip_of(index);
        let mut config = Self::config(index, name);
        config.endpoint = endpoint.to_owned();
        self.by_endpoint.insert(format!("tcp://{ip}:41000"), index);
        self.nodes.push(SimNode {
            core: NodeCore::new(config, self.now),
            ip,
            events: Vec::new(),
        });
        index
    }

    pub fn uuid(&self, node: usize) -> Uuid {
        self.nodes[node].core.uuid()
    }

    /// `ip addr del` + `ip addr add`: the node's beacons come from `ip`,
    /// nobody listens at its old endpoint any more, and its connections
    /// from the old address are dead. With `tell`, the shell noticed and
    /// rebound (`change_endpoint`); without, the node goes on unaware.
    pub fn renumber(&mut self, node: usize, ip: IpAddr, tell: bool) {
        let old = self.nodes[node].core.endpoint().to_owned();
        // (Unless another node took that address already: a swap.)
        if self.by_endpoint.get(&old) == Some(&node) {
            self.by_endpoint.remove(&old);
        }
        self.nodes[node].ip = ip;
        // Connections from the old address go nowhere.
        self.routes.retain(|(_, from), _| *from != node);
        if tell {
            let endpoint = format!("tcp://{ip}:41000");
            self.by_endpoint.insert(endpoint.clone(), node);
            let now = self.now;
            self.nodes[node].core.change_endpoint(now, &endpoint, 41000, None);
        }
    }

    /// The handshakes that failed get through now (the other side's
    /// allow-list took our key; libzmq retries every 100 ms): each such
    /// link is up, and what it held goes out.
    pub fn heal_handshakes(&mut self) {
        self.handshake_fails.clear();
        let now = self.now;
        for (from, peer) in std::mem::take(&mut self.failed_links) {
            self.nodes[from].core.handle_link_up(now, peer);
            if let Some(queued) = self.queued.remove(&(from, peer)) {
                self.in_flight.extend(queued);
            }
        }
        self.settle();
    }

    pub fn settle(&mut self) {
        for round in 0.. {
            assert!(round < 100_000, "the network never goes quiet: a message storm");
            let mut progressed = false;
            for i in 0..self.nodes.len() {
                // (A node stopped by its own send acts on nothing more.)
                while !self.frozen.contains(&i) {
                    let Some(action) = self.nodes[i].core.poll_action() else {
                        break;
                    };
                    progressed = true;
                    self.apply(i, action);
                }
                while let Some(event) = self.nodes[i].core.poll_event() {
                    self.nodes[i].events.push(event);
                }
            }
            while let Some(packet) = self.in_flight.pop_front() {
                progressed = true;
                if self.down.contains(&packet.to) || self.down.contains(&packet.from) {
                    self.delayed.push_back(packet);
                    continue;
                }
                if self.frozen.contains(&packet.to) {
                    self.held
                        .entry(packet.to)
                        .or_default()
                        .push_back(Held::Message(packet));
                    continue;
                }
                let now = self.now;
                self.nodes[packet.to].core.handle_message(
                    now,
                    &packet.identity,
                    &packet.header,
                    packet.content,
                );
            }
            if !progressed {
                break;
            }
        }
    }

    fn apply(&mut self, from: usize, action: Action) {
        match action {
            Action::Connect { peer, endpoint, .. } => {
                let endpoint = endpoint.to_string();
                self.connects.push((from, peer));
                if self.no_descriptors.contains(&from) {
                    let now = self.now;
                    self.nodes[from].core.handle_connect_failed(now, peer);
                    return;
                }
                if let Some(&to) = self.by_endpoint.get(&endpoint) {
                    self.routes.insert((to, from), peer);
                    // The DEALER's handshake (reported in CURVE mode).
                    let now = self.now;
                    if self.handshake_fails.contains(&(from, to)) {
                        self.failed_links.insert((from, peer));
                        self.nodes[from].core.handle_link_failed(now, peer);
                    } else {
                        self.nodes[from].core.handle_link_up(now, peer);
                    }
                }
                self.links.insert((from, peer), endpoint);
            }
            Action::Disconnect { peer } => {
                // What it sent a stopped node and that waits unread goes
                // with the connection: libzmq ends the inbox's pipe when
                // it sees the close (the inbox lingers 0).
                for held in self.held.values_mut() {
                    held.retain(|h| !matches!(h, Held::Message(p) if p.from == from && p.link == peer));
                }
                self.delayed.retain(|p| !(p.from == from && p.link == peer));
                self.links.remove(&(from, peer));
                self.queued.remove(&(from, peer));
                self.failed_links.remove(&(from, peer));
            }
            Action::Relink { from: old, to: new } => {
                if let Some(endpoint) = self.links.remove(&(from, old)) {
                    self.links.insert((from, new), endpoint);
                }
                // The same DEALER and connection, named anew: the node at
                // the other end routes it as before.
                for ((_, sender), link) in self.routes.iter_mut() {
                    if *sender == from && *link == old {
                        *link = new;
                    }
                }
            }
            Action::Send {
                peer,
                header,
                content,
            } => {
                let Some(endpoint) = self.links.get(&(from, peer)) else {
                    return;
                };
                let Some(&to) = self.by_endpoint.get(endpoint) else {
                    // Nobody listens there: libzmq queues and retries.
                    return;
                };
                let identity = peer_identity(&self.uuid(from));
                let content = content.map(|c| c.to_vec()).unwrap_or_default();
                let packet = Packet {
                    from,
                    link: peer,
                    to,
                    identity,
                    header: header.to_vec(),
                    content,
                };
                if self.handshake_fails.contains(&(from, to)) {
                    // libzmq keeps it queued while it tries again.
                    self.queued.entry((from, peer)).or_default().push(packet);
                    return;
                }
                if self.failed_links.remove(&(from, peer)) {
                    // libzmq's retry got through at last.
                    let now = self.now;
                    self.nodes[from].core.handle_link_up(now, peer);
                }
                // A connection (re)made to `to` takes the identity over
                // (a DEALER reconnecting after its old one died does too).
                if *self.routes.entry((to, from)).or_insert(peer) != peer {
                    return;
                }
                let hello = packet.header.get(2) == Some(&(MessageId::Hello as u8));
                let queued = self.queued.remove(&(from, peer)).unwrap_or_default();
                self.in_flight.extend(queued);
                self.in_flight.push_back(packet);
                if hello && self.stop_after_hello == Some(from) {
                    self.stop_after_hello = None;
                    self.frozen.insert(from);
                }
            }
            Action::Probe {
                peer,
                endpoint,
                probe,
            } => {
                let endpoint = endpoint.to_string();
                let now = self.now;
                // An endpoint nobody listens at on this LAN: the address is
                // gone, the connect times out unanswered (no refusal). So
                // does one across a link that is down.
                let cut = |to: &usize| self.down.contains(&from) || self.down.contains(to);
                if self.by_endpoint.get(&endpoint).is_some_and(|to| !cut(to)) {
                    self.nodes[from].core.handle_link_answered(now, peer, probe);
                }
            }
            Action::Beacon(beacon) => {
                let bytes = beacon.to_bytes();
                let ip = self.nodes[from].ip;
                let now = self.now;
                if self.down.contains(&from) {
                    return;
                }
                for (i, node) in self.nodes.iter_mut().enumerate() {
                    if self.down.contains(&i) {
                        continue;
                    }
                    if self.frozen.contains(&i) {
                        let held = self.held.entry(i).or_default();
                        held.push_back(Held::Beacon(ip, bytes.clone()));
                    } else {
                        node.core.handle_beacon(now, ip, &bytes);
                    }
                }
            }
        }
    }

    pub fn run_for(&mut self, span: Duration) {
        let target = self.now + span;
        self.settle();
        loop {
            let frozen = &self.frozen;
            let running = || {
                let nodes = self.nodes.iter().enumerate();
                nodes.filter(|(i, _)| !frozen.contains(i)).map(|(_, n)| n)
            };
            let next = running().filter_map(|n| n.core.poll_timeout()).min();
            match next {
                Some(next) if next <= target => {
                    self.now = self.now.max(next);
                    for (i, node) in self.nodes.iter_mut().enumerate() {
                        if !self.frozen.contains(&i)
                            && node.core.poll_timeout().is_some_and(|t| t <= self.now)
                        {
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

    pub fn count(&self, node: usize, kind: &str, peer: Uuid) -> usize {
        self.nodes[node]
            .events
            .iter()
            .filter(|e| e.kind() == kind && e.peer() == Some(peer))
            .count()
    }

    pub fn whispers(&self, node: usize, from: Uuid) -> Vec<String> {
        self.nodes[node]
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Whisper { peer, content, .. } if *peer == from => {
                    Some(String::from_utf8_lossy(&content[0]).into_owned())
                }
                _ => None,
            })
            .collect()
    }

    /// A WHISPER each way between `a` and `b` arrives within a second,
    /// and is the only one each has from the other since its events were
    /// last cleared.
    pub fn whispers_go_both_ways(&mut self, a: usize, b: usize) {
        let (ua, ub) = (self.uuid(a), self.uuid(b));
        self.nodes[a].core.whisper(ub, text("a-to-b")).unwrap();
        self.nodes[b].core.whisper(ua, text("b-to-a")).unwrap();
        self.run_for(Duration::from_secs(1));
        assert_eq!(self.whispers(b, ua), ["a-to-b"]);
        assert_eq!(self.whispers(a, ub), ["b-to-a"]);
    }

    pub fn clear_events(&mut self) {
        for node in &mut self.nodes {
            node.events.clear();
        }
    }
}

/// A small deterministic generator (xorshift64), so that seeded runs need
/// no crate and replay exactly.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
