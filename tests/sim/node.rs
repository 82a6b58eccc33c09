//! The ZRE protocol core in a simulated network: no sockets, virtual time.
//! A tiny harness moves each node's actions to the other nodes' inputs, so
//! dozens of nodes, lost packets and clock jumps run in milliseconds.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};
use uuid::Uuid;
use zre::core::{Action, CoreConfig, Event, Frame, IDENTITY_LEN, NodeCore, Removal, peer_identity};
use zre::wire::{Body, ZreMessage};

struct SimNode {
    core: NodeCore,
    ip: IpAddr,
    events: Vec<Event>,
    alive: bool,
}

struct Packet {
    from: usize,
    to: usize,
    identity: [u8; IDENTITY_LEN],
    header: Vec<u8>,
    content: Vec<Frame>,
}

/// Decides whether a packet is lost on the way.
type LossFilter = Box<dyn FnMut(&Packet) -> bool>;

struct Sim {
    now: Instant,
    start: Instant,
    nodes: Vec<SimNode>,
    by_endpoint: HashMap<String, usize>,
    /// (node, peer uuid) -> the node its DEALER is connected to.
    links: HashMap<(usize, Uuid), usize>,
    /// (node, peer uuid) -> the endpoint its DEALER connected to, where
    /// libzmq reconnects it (to whoever listens there by then).
    link_endpoints: HashMap<(usize, Uuid), String>,
    /// (receiving node, sending node) -> the sender's link (by the peer it
    /// is for) that the receiver's ROUTER routes: every link of one node
    /// has the same identity, and with ZMQ_ROUTER_HANDOVER (ours and
    /// Zyre's) the newest connection takes that identity over.
    routes: HashMap<(usize, usize), Uuid>,
    in_flight: VecDeque<Packet>,
    loss: Option<LossFilter>,
    /// Nodes whose beacons are neither sent nor received.
    beacons_blocked: HashSet<usize>,
    /// Nodes cut off from all traffic (a pulled cable).
    isolated: HashSet<usize>,
    /// How late each node's timers fire after their deadline, as a real
    /// loop wakes a little after its poll timeout (zero: on time).
    late: Duration,
    /// Nodes whose process is gone: their host refuses connections.
    gone: HashSet<usize>,
    /// Probes asked for and not answered yet: (node, peer, endpoint, probe).
    probes: VecDeque<(usize, Uuid, String, u64)>,
    /// Probes are kept in `probes` for the test to answer.
    hold_probes: bool,
    delivered: usize,
    /// When set (a xorshift state), each round delivers about half of the
    /// packets in flight, picked at random: links stay FIFO (TCP), but
    /// messages on different links overtake each other.
    reorder: Option<u64>,
    /// Rounds that delivered something: the causal depth of the traffic,
    /// in network hops.
    rounds: usize,
    /// Every `Connect`: (node, peer, CURVE server key).
    connects: Vec<(usize, Uuid, Option<[u8; 32]>)>,
    /// Every ELECT or LEADER sent: (elapsed, from, to), delivered or not.
    election_sends: Vec<(Duration, usize, usize)>,
    /// Nodes that do not read their inbox (back-pressure): what is sent
    /// to them waits in `unread`, in order, as in libzmq.
    reading_paused: HashSet<usize>,
    unread: VecDeque<Packet>,
    /// Nodes frozen (SIGSTOP) until thawed: what is sent to them waits in
    /// `unread`, as in their kernel's socket buffers.
    frozen: HashSet<usize>,
}

fn uuid_of(n: u128) -> Uuid {
    Uuid::from_u128(0x1000_0000_0000_0000_0000_0000_0000_0000 + n)
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
            link_endpoints: HashMap::new(),
            routes: HashMap::new(),
            in_flight: VecDeque::new(),
            loss: None,
            beacons_blocked: HashSet::new(),
            isolated: HashSet::new(),
            late: Duration::ZERO,
            gone: HashSet::new(),
            probes: VecDeque::new(),
            hold_probes: false,
            delivered: 0,
            reorder: None,
            rounds: 0,
            connects: Vec::new(),
            election_sends: Vec::new(),
            reading_paused: HashSet::new(),
            unread: VecDeque::new(),
            frozen: HashSet::new(),
        }
    }

    fn config(uuid: Uuid, name: &str, ip: IpAddr, port: u16) -> CoreConfig {
        let mut config = CoreConfig::new(uuid, name, format!("tcp://{ip}:{port}"), port);
        config.headers = vec![("X-HELLO".into(), format!("from {name}"))];
        config
    }

    fn add(&mut self, name: &str) -> usize {
        let index = self.nodes.len();
        self.add_with(Self::config(
            uuid_of(index as u128),
            name,
            IpAddr::V4(Ipv4Addr::new(10, 0, (index / 250) as u8, (index % 250 + 1) as u8)),
            41000,
        ))
    }

    fn add_with(&mut self, config: CoreConfig) -> usize {
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
            alive: true,
        });
        index
    }

    fn uuid(&self, node: usize) -> Uuid {
        self.nodes[node].core.uuid()
    }

    fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Moves every queued action and packet until the network is quiet.
    fn settle(&mut self) {
        for round in 0.. {
            assert!(round < 100_000, "the network never goes quiet: a message storm");
            let mut progressed = false;
            for i in 0..self.nodes.len() {
                while let Some(action) = self.nodes[i].core.poll_action() {
                    progressed = true;
                    self.apply(i, action);
                }
                while let Some(event) = self.nodes[i].core.poll_event() {
                    self.nodes[i].events.push(event);
                }
            }
            if !self.in_flight.is_empty() {
                progressed = true;
                self.rounds += 1;
            }
            if self.reorder.is_some() {
                for _ in 0..self.in_flight.len().div_ceil(2) {
                    let pick = self.random(self.in_flight.len());
                    let (from, to) = (self.in_flight[pick].from, self.in_flight[pick].to);
                    let first = self
                        .in_flight
                        .iter()
                        .position(|p| p.from == from && p.to == to)
                        .expect("the picked one at least");
                    let packet = self.in_flight.remove(first).expect("in range");
                    self.deliver(packet);
                }
            } else {
                while let Some(packet) = self.in_flight.pop_front() {
                    self.deliver(packet);
                }
            }
            while !self.hold_probes {
                let Some(probe) = self.probes.pop_front() else {
                    break;
                };
                progressed = true;
                self.answer_probe(probe);
            }
            if !progressed {
                break;
            }
        }
    }

    /// A number below `bound` from the reorder generator (xorshift64).
    fn random(&mut self, bound: usize) -> usize {
        let state = self.reorder.as_mut().expect("reordering is on");
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        (*state % bound as u64) as usize
    }

    fn apply(&mut self, from: usize, action: Action) {
        match action {
            Action::Connect {
                peer,
                endpoint,
                curve_server_key,
            } => {
                let endpoint = endpoint.to_string();
                self.connects.push((from, peer, curve_server_key));
                self.link_endpoints.insert((from, peer), endpoint.clone());
                // The CURVE handshake: a DEALER gets through only with the
                // server's own key, or none to a plain inbox (libzmq drops
                // a plain client at a CURVE server, and the other way round).
                let target = self.by_endpoint.get(&endpoint).copied();
                let handshake = |to: usize| self.nodes[to].core.config().curve_public_key == curve_server_key;
                if let Some(to) = target.filter(|&to| handshake(to)) {
                    self.links.insert((from, peer), to);
                    self.routes.insert((to, from), peer);
                    // The handshake got through (CURVE mode waits for it).
                    let now = self.now;
                    self.nodes[from].core.handle_link_up(now, peer);
                }
            }
            Action::Disconnect { peer } => {
                self.links.remove(&(from, peer));
                self.link_endpoints.remove(&(from, peer));
            }
            Action::Relink { from: old, to: new } => {
                // The connection stays; libzmq reconnects it to whoever
                // listens at its endpoint now.
                let endpoint = self.link_endpoints.remove(&(from, old));
                if let Some(endpoint) = &endpoint {
                    self.link_endpoints.insert((from, new), endpoint.clone());
                }
                if self.links.remove(&(from, old)).is_some() {
                    if let Some(&to) = endpoint.as_ref().and_then(|e| self.by_endpoint.get(e)) {
                        self.links.insert((from, new), to);
                        self.routes.insert((to, from), new);
                    }
                }
            }
            Action::Send {
                peer,
                header,
                content,
            } => {
                let Some(&to) = self.links.get(&(from, peer)) else {
                    return;
                };
                if self.routes.get(&(to, from)) != Some(&peer) {
                    // Another link of ours holds the identity there.
                    return;
                }
                let identity = peer_identity(&self.uuid(from));
                let content = content.map(|c| c.to_vec()).unwrap_or_default();
                if is_election(&header) {
                    self.election_sends.push((self.now - self.start, from, to));
                }
                self.in_flight.push_back(Packet {
                    from,
                    to,
                    identity,
                    header: header.to_vec(),
                    content,
                });
            }
            Action::Probe {
                peer,
                endpoint,
                probe,
            } => self.probes.push_back((from, peer, endpoint.to_string(), probe)),
            Action::Beacon(beacon) => {
                if self.beacons_blocked.contains(&from) || self.isolated.contains(&from) {
                    return;
                }
                let bytes = beacon.to_bytes();
                let ip = self.nodes[from].ip;
                for to in 0..self.nodes.len() {
                    if to != from
                        && self.nodes[to].alive
                        && !self.beacons_blocked.contains(&to)
                        && !self.isolated.contains(&to)
                    {
                        self.nodes[to].core.handle_beacon(self.now, ip, &bytes);
                    }
                }
                // Our own beacon comes back to us too on a real LAN.
                self.nodes[from].core.handle_beacon(self.now, ip, &bytes);
            }
        }
    }

    fn deliver(&mut self, packet: Packet) {
        if self.frozen.contains(&packet.to) {
            self.unread.push_back(packet);
            return;
        }
        if !self.nodes[packet.to].alive
            || self.isolated.contains(&packet.to)
            || self.isolated.contains(&packet.from)
        {
            return;
        }
        if let Some(loss) = self.loss.as_mut() {
            if loss(&packet) {
                return;
            }
        }
        if self.reading_paused.contains(&packet.to) {
            self.unread.push_back(packet);
            return;
        }
        self.delivered += 1;
        let now = self.now;
        self.nodes[packet.to]
            .core
            .handle_message(now, &packet.identity, &packet.header, packet.content);
    }

    /// Runs virtual time forward to `elapsed` since the start.
    fn run_until(&mut self, elapsed: Duration) {
        let target = self.start + elapsed;
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
                    self.now = self.now.max((next + self.late).min(target));
                    for node in self.nodes.iter_mut().filter(|n| n.alive) {
                        if node.core.poll_timeout().is_some_and(|t| t <= self.now) {
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

    fn run_for(&mut self, span: Duration) {
        let elapsed = self.elapsed() + span;
        self.run_until(elapsed);
    }

    fn events(&self, node: usize, kind: &str) -> Vec<&Event> {
        self.nodes[node]
            .events
            .iter()
            .filter(|e| e.kind() == kind)
            .collect()
    }

    fn count(&self, node: usize, kind: &str) -> usize {
        self.events(node, kind).len()
    }

    /// The kinds of `node`'s events about `peer`, in order, but EVASIVE
    /// (which an idle peer gets now and then, as from Zyre).
    fn kinds_about(&self, node: usize, peer: Uuid) -> Vec<&'static str> {
        self.nodes[node]
            .events
            .iter()
            .filter(|e| e.peer() == Some(peer))
            .map(|e| e.kind())
            .filter(|k| *k != "EVASIVE")
            .collect()
    }

    fn clear_events(&mut self) {
        for node in &mut self.nodes {
            node.events.clear();
        }
    }

    /// The node stops (`true`) or resumes reading its inbox; on resuming,
    /// what waited is read, in order, before anything else happens.
    fn pause_reading(&mut self, node: usize, paused: bool) {
        self.nodes[node].core.set_reading_paused(self.now, paused);
        if paused {
            self.reading_paused.insert(node);
            return;
        }
        self.reading_paused.remove(&node);
        let (waiting, others): (VecDeque<Packet>, VecDeque<Packet>) =
            self.unread.drain(..).partition(|p| p.to == node);
        self.unread = others;
        for packet in waiting {
            self.deliver(packet);
        }
        self.settle();
    }

    /// Freezes a node (SIGSTOP, a hung host): it neither sends nor
    /// answers, but its listening port still accepts connections.
    fn kill(&mut self, node: usize) {
        self.nodes[node].alive = false;
    }

    /// Stops a node's process (SIGSTOP): no timers, nothing sent; what is
    /// sent to it waits, in order, until [`Sim::thaw`] (SIGCONT) reads it.
    fn freeze(&mut self, node: usize) {
        self.nodes[node].alive = false;
        self.frozen.insert(node);
    }

    fn thaw(&mut self, node: usize) {
        self.nodes[node].alive = true;
        self.frozen.remove(&node);
        let (waiting, others): (VecDeque<Packet>, VecDeque<Packet>) =
            self.unread.drain(..).partition(|p| p.to == node);
        self.unread = others;
        for packet in waiting {
            self.deliver(packet);
        }
        self.settle();
    }

    /// Ends a node's process (SIGKILL): every node it had a link to sees
    /// that connection close, and its port refuses from now on.
    fn crash(&mut self, node: usize) {
        self.nodes[node].alive = false;
        self.gone.insert(node);
        let ip = self.nodes[node].ip;
        let now = self.now;
        let linked: Vec<usize> = self
            .routes
            .keys()
            .filter(|(to, from)| *from == node && *to != node)
            .map(|(to, _)| *to)
            .collect();
        for to in linked {
            if self.nodes[to].alive && !self.isolated.contains(&to) {
                self.nodes[to].core.handle_link_lost(now, ip);
            }
        }
    }

    /// A TCP connect from `node` to `endpoint`: refused where a process is
    /// gone (or none ever listened) or its node stopped (`Node::stop`
    /// unbinds the inbox); silent where it is frozen; unanswered across a
    /// pulled cable.
    fn answer_probe(&mut self, (node, peer, endpoint, probe): (usize, Uuid, String, u64)) {
        let now = self.now;
        let target = self.by_endpoint.get(&endpoint).copied();
        let cut = self.isolated.contains(&node) || target.is_some_and(|t| self.isolated.contains(&t));
        let closed = |t: usize| self.gone.contains(&t) || self.nodes[t].core.is_stopped();
        let refused = !cut && target.is_none_or(closed);
        // A frozen process's port accepts (in the kernel) and says nothing.
        let silent = !cut && !refused && target.is_some_and(|t| !self.nodes[t].alive);
        let core = &mut self.nodes[node].core;
        if refused {
            core.handle_link_refused(now, peer, probe);
        } else if silent {
            core.handle_link_silent(now, peer, probe);
        } else {
            core.handle_link_answered(now, peer, probe);
        }
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn text(s: &str) -> Vec<Frame> {
    vec![s.into()]
}

#[test]
fn twenty_five_nodes_discover_each_other() {
    let mut sim = Sim::new();
    let n = 25;
    for i in 0..n {
        sim.add(&format!("node-{i}"));
    }
    sim.run_until(Duration::from_millis(1500));
    for i in 0..n {
        let enters = sim.events(i, "ENTER");
        assert_eq!(enters.len(), n - 1, "node {i} saw {} ENTERs", enters.len());
        let seen: HashSet<Uuid> = enters.iter().filter_map(|e| e.peer()).collect();
        assert_eq!(seen.len(), n - 1);
        assert!(!seen.contains(&sim.uuid(i)), "a node must not discover itself");
        assert_eq!(sim.nodes[i].core.peers().len(), n - 1);
    }
    // ENTER carries the name, headers and endpoint from HELLO.
    let enter = sim
        .events(0, "ENTER")
        .into_iter()
        .find(|e| e.peer() == Some(sim.uuid(3)))
        .unwrap();
    let Event::Enter {
        name,
        headers,
        endpoint,
        ..
    } = enter
    else {
        unreachable!()
    };
    assert_eq!(&**name, "node-3");
    assert_eq!(headers, &vec![("X-HELLO".to_string(), "from node-3".to_string())]);
    assert_eq!(endpoint, "tcp://10.0.0.4:41000");
    assert_eq!(
        sim.nodes[0].core.peer_header_value(sim.uuid(3), "X-HELLO"),
        Some("from node-3")
    );
    assert_eq!(sim.nodes[0].core.peer_name(sim.uuid(3)), Some("node-3"));
    // Nothing else happened: no exits, no resets.
    for i in 0..n {
        assert_eq!(sim.count(i, "EXIT"), 0);
    }
}

#[test]
fn join_shout_and_leave_fan_out_to_group_members_only() {
    let mut sim = Sim::new();
    for i in 0..5 {
        sim.add(&format!("n{i}"));
    }
    sim.run_for(secs(2));
    sim.nodes[1].core.join("chat").unwrap();
    sim.nodes[2].core.join("chat").unwrap();
    sim.nodes[3].core.join("other").unwrap();
    sim.settle();
    // Every node learns who joined what.
    for i in 0..5 {
        let mut chat = sim.nodes[i].core.peers_by_group("chat");
        chat.sort();
        let expected: Vec<Uuid> = [1, 2].iter().filter(|&&m| m != i).map(|&m| sim.uuid(m)).collect();
        assert_eq!(chat, expected, "node {i} view of chat");
    }
    assert_eq!(sim.count(0, "JOIN"), 3);

    sim.clear_events();
    let reached = sim.nodes[1]
        .core
        .shout("chat", vec![b"hello".to_vec(), b"world".to_vec()])
        .unwrap();
    assert_eq!(reached, 1, "only node 2 is in chat besides node 1");
    sim.settle();
    let shouts = sim.events(2, "SHOUT");
    assert_eq!(shouts.len(), 1);
    assert_eq!(shouts[0].group(), Some("chat"));
    assert_eq!(
        shouts[0].content().unwrap(),
        &[b"hello".to_vec(), b"world".to_vec()]
    );
    assert_eq!(shouts[0].peer_name(), Some("n1"));
    for i in [0, 1, 3, 4] {
        assert_eq!(
            sim.count(i, "SHOUT"),
            0,
            "node {i} is not in chat or is the sender"
        );
    }

    sim.nodes[2].core.leave("chat").unwrap();
    sim.settle();
    assert!(sim.nodes[1].core.peers_by_group("chat").is_empty());
    assert_eq!(sim.count(1, "LEAVE"), 1);
    assert_eq!(sim.nodes[1].core.shout("chat", text("anyone?")).unwrap(), 0);
    // Re-join works and late joiners of the network learn groups from HELLO.
    sim.nodes[2].core.join("chat").unwrap();
    let late = sim.add("late");
    sim.run_for(secs(2));
    let mut chat = sim.nodes[late].core.peers_by_group("chat");
    chat.sort();
    assert_eq!(chat, vec![sim.uuid(1), sim.uuid(2)]);
    assert_eq!(sim.nodes[late].core.peer_groups(), vec!["chat", "other"]);
    for i in 0..sim.nodes.len() {
        assert_eq!(
            sim.count(i, "EXIT"),
            0,
            "status bookkeeping must never reset a peer"
        );
    }
}

#[test]
fn whisper_reaches_one_peer_and_unknown_peers_are_refused() {
    let mut sim = Sim::new();
    for i in 0..3 {
        sim.add(&format!("w{i}"));
    }
    sim.run_for(secs(2));
    let target = sim.uuid(2);
    sim.nodes[0].core.whisper(target, text("psst")).unwrap();
    sim.settle();
    let whispers = sim.events(2, "WHISPER");
    assert_eq!(whispers.len(), 1);
    assert_eq!(whispers[0].peer(), Some(sim.uuid(0)));
    assert_eq!(whispers[0].content().unwrap(), &text("psst")[..]);
    assert_eq!(sim.count(1, "WHISPER"), 0);
    let stranger = Uuid::from_u128(42);
    assert!(sim.nodes[0].core.whisper(stranger, text("x")).is_err());
    assert_eq!(sim.nodes[0].core.find_peer("w2"), Some(target));
    assert_eq!(
        sim.nodes[0]
            .core
            .find_peer(&target.simple().to_string().to_uppercase()),
        Some(target)
    );
}

/// Names need not be unique (RFC 36 has only UUIDs): a name two ready
/// peers share finds neither, so that a whisper by name cannot go to the
/// wrong one; their UUIDs still find each.
#[test]
fn a_name_two_peers_share_finds_neither() {
    let mut sim = Sim::new();
    sim.add("w0");
    sim.add("twin");
    sim.add("twin");
    sim.run_for(secs(2));
    assert_eq!(sim.count(0, "ENTER"), 2);
    let core = &sim.nodes[0].core;
    assert_eq!(core.find_peer("twin"), None);
    for i in [1, 2] {
        let uuid = sim.uuid(i);
        assert_eq!(core.find_peer(&uuid.to_string()), Some(uuid));
    }
    assert_eq!(sim.nodes[1].core.find_peer("w0"), Some(sim.uuid(0)));
}

/// What the I/O layer does before it asks for a header for lent content:
/// whatever the core queued goes out first, or the sequence breaks.
fn flush_actions(sim: &mut Sim, from: usize) {
    while let Some(action) = sim.nodes[from].core.poll_action() {
        sim.apply(from, action);
    }
}

/// Sends what the I/O layer sends for lent content: the header the core
/// gave, then the application's frames, at once.
fn send_lent(sim: &mut Sim, from: usize, peer: Uuid, header: &[u8], content: &str) {
    let to = sim.links[&(from, peer)];
    let identity = peer_identity(&sim.uuid(from));
    sim.in_flight.push_back(Packet {
        from,
        to,
        identity,
        header: header.to_vec(),
        content: text(content),
    });
}

#[test]
fn lent_and_owned_content_share_one_sequence() {
    let mut sim = Sim::new();
    for i in 0..3 {
        sim.add(&format!("l{i}"));
    }
    sim.run_for(secs(2));
    for node in 0..3 {
        sim.nodes[node].core.join("LENT").unwrap();
    }
    sim.settle();
    sim.clear_events();
    let target = sim.uuid(1);
    for round in 0..100 {
        sim.nodes[0]
            .core
            .whisper(target, text(&format!("owned {round}")))
            .unwrap();
        flush_actions(&mut sim, 0);
        let header = sim.nodes[0].core.whisper_header(target).unwrap();
        send_lent(&mut sim, 0, target, &header, &format!("lent {round}"));
        let mut headers = Vec::new();
        assert_eq!(sim.nodes[0].core.shout_headers("LENT", &mut headers).unwrap(), 2);
        assert_eq!(headers.len(), 2);
        for (peer, header) in headers {
            send_lent(&mut sim, 0, peer, &header, &format!("shout {round}"));
        }
        sim.settle();
    }
    let whispers: Vec<&[Frame]> = sim
        .events(1, "WHISPER")
        .iter()
        .filter_map(|e| e.content())
        .collect();
    assert_eq!(whispers.len(), 200, "every whisper arrived, none reset the link");
    assert_eq!(whispers[198], &text("owned 99")[..]);
    assert_eq!(whispers[199], &text("lent 99")[..]);
    for node in 1..3 {
        assert_eq!(sim.count(node, "SHOUT"), 100);
        assert_eq!(sim.count(node, "EXIT"), 0);
    }
    let stranger = Uuid::from_u128(42);
    assert!(sim.nodes[0].core.whisper_header(stranger).is_err());
    let mut headers = Vec::new();
    assert_eq!(sim.nodes[0].core.shout_headers("NOBODY", &mut headers), Ok(0));
    assert!(sim.nodes[0].core.shout_headers("", &mut headers).is_err());
    assert!(headers.is_empty());
}

#[test]
fn silent_peer_goes_evasive_then_silent_then_exits_on_time() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let b = sim.add("b");
    sim.run_for(secs(2));
    assert_eq!(sim.count(a, "ENTER"), 1);
    // b's last word, then its host freezes: it neither sends nor answers.
    // (Beacons alone do not refresh a peer, as in Zyre: only its TCP link.)
    let a_uuid = sim.uuid(a);
    sim.nodes[b].core.whisper(a_uuid, text("last words")).unwrap();
    sim.settle();
    let frozen_at = sim.elapsed();
    sim.kill(b);
    sim.run_for(Duration::from_millis(4500));
    assert_eq!(sim.count(a, "EVASIVE"), 0, "not evasive before 5 s of silence");
    sim.run_for(secs(2));
    assert_eq!(sim.count(a, "EVASIVE"), 1, "evasive after 5 s, reported once");
    sim.run_for(secs(2));
    assert_eq!(sim.count(a, "SILENT"), 1);
    assert_eq!(sim.count(a, "EXIT"), 0);
    // Expiry is 30 s after the last message.
    sim.run_until(frozen_at + secs(28));
    assert_eq!(sim.count(a, "EXIT"), 0, "not expired before 30 s");
    sim.run_until(frozen_at + secs(32));
    assert_eq!(sim.count(a, "EXIT"), 1);
    assert_eq!(sim.count(a, "EVASIVE"), 1);
    assert!(sim.nodes[a].core.peers().is_empty());
}

/// A peer heard from again after a SILENT spell is judged from its new
/// silence: frozen again, it goes EVASIVE an evasive timeout (and a tick)
/// after its last message. Its check had been put off to the expired
/// deadline of the first spell and stayed there (a user froze a peer 12 s,
/// then again 12 s later, and saw EVASIVE 9-11 s after the second stop).
#[test]
fn a_peer_frozen_again_after_a_silent_spell_is_judged_on_time() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let b = sim.add("b");
    sim.run_for(secs(2));
    assert_eq!(sim.count(a, "ENTER"), 1);
    sim.freeze(b);
    sim.run_for(secs(12));
    assert_eq!(sim.count(a, "SILENT"), 1);
    // b reads a's PING, answers: heard from again.
    sim.thaw(b);
    sim.run_for(secs(2));
    sim.clear_events();
    let frozen_at = sim.elapsed();
    sim.freeze(b);
    sim.run_until(frozen_at + Duration::from_millis(6500));
    assert_eq!(
        sim.count(a, "EVASIVE"),
        1,
        "EVASIVE 5 s (and a tick) after b's last message, at most {:?}",
        sim.nodes[a].events
    );
    sim.run_until(frozen_at + secs(9));
    assert_eq!(sim.count(a, "SILENT"), 1);
}

/// A peer that only reads (a `zrecat` at the end of a slow pipe) sends
/// nothing, and answers our PINGs only once it has read what was queued
/// before them. While our queue to it drains (the I/O layer moved queued
/// messages into libzmq, which had had no room), it is alive: it read
/// what was ahead. It goes an expired timeout after the last drain.
#[test]
fn a_peer_our_queue_drains_into_is_alive_though_it_says_nothing() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let b = sim.add("b");
    sim.run_for(secs(2));
    assert_eq!(sim.count(a, "ENTER"), 1);
    let b_uuid = sim.uuid(b);
    // b says nothing from now on (its answers wait behind our data).
    sim.freeze(b);
    for _ in 0..12 {
        sim.run_for(secs(5));
        let now = sim.now;
        sim.nodes[a].core.handle_link_drained(now, b_uuid);
    }
    assert!(
        sim.events(a, "EXIT").is_empty(),
        "a minute of drains keeps b: {:?}",
        sim.nodes[a].events
    );
    let last_drain = sim.elapsed();
    sim.run_until(last_drain + secs(28));
    assert!(
        sim.events(a, "EXIT").is_empty(),
        "not before 30 s after the last drain"
    );
    sim.run_until(last_drain + secs(32));
    assert_eq!(sim.count(a, "EXIT"), 1, "expired 30 s after the last drain");
}

/// SILENT comes between EVASIVE and EXIT whatever the timeouts, as long
/// as the expired timeout leaves a tick for it: with an evasive timeout of
/// 1 s and an expired one of 3 s (a shell user's `--evasive 1 --expired
/// 3`), wherever in the tick the peer froze, and with timers that fire a
/// few milliseconds late, as a real loop's do.
#[test]
fn short_timeouts_still_report_silent_before_exit() {
    // Frozen at each 50 ms of the first two seconds after meeting (its
    // HELLO its last word, or PINGs, or a whisper), timers 3 ms late.
    let cases = (0..40u64).flat_map(|step| [(step * 50, false), (step * 50, true)]);
    for (offset_ms, last_words) in cases {
        let mut sim = Sim::new();
        sim.late = Duration::from_millis(3);
        let short = |name: &str, index: usize| {
            let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, index as u8 + 1));
            let mut config = Sim::config(uuid_of(index as u128), name, ip, 41000);
            config.evasive = secs(1);
            config.expired = secs(3);
            config
        };
        let a = sim.add_with(short("a", 0));
        let b = sim.add_with(short("b", 1));
        while sim.count(a, "ENTER") == 0 || sim.count(b, "ENTER") == 0 {
            assert!(sim.elapsed() < secs(2), "the nodes meet");
            sim.run_for(Duration::from_millis(10));
        }
        sim.run_for(Duration::from_millis(offset_ms));
        if last_words {
            let a_uuid = sim.uuid(a);
            sim.nodes[b].core.whisper(a_uuid, text("last words")).unwrap();
            sim.settle();
        }
        sim.kill(b);
        sim.run_for(secs(6));
        let kinds: Vec<&str> = sim.nodes[a]
            .events
            .iter()
            .map(|e| e.kind())
            .filter(|k| ["EVASIVE", "SILENT", "EXIT"].contains(k))
            .collect();
        let case = format!("frozen {offset_ms} ms after meeting, last words {last_words}");
        assert_eq!(kinds.last(), Some(&"EXIT"), "{case}: {kinds:?}");
        let exit = kinds.len() - 1;
        assert_eq!(
            kinds[exit.saturating_sub(2)..],
            ["EVASIVE", "SILENT", "EXIT"],
            "{case}: {kinds:?}"
        );
    }
}

#[test]
fn ping_keeps_a_quiet_peer_alive_without_beacons() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let b = sim.add("b");
    sim.run_for(secs(2));
    sim.beacons_blocked.extend([a, b]);
    sim.run_for(secs(120));
    assert_eq!(sim.count(a, "EXIT"), 0);
    assert_eq!(sim.count(b, "EXIT"), 0);
    assert!(sim.count(a, "EVASIVE") >= 1, "quiet peers are pinged");
    assert_eq!(sim.nodes[a].core.peers(), vec![sim.uuid(b)]);
}

#[test]
fn a_node_that_stops_reading_keeps_its_peers_and_they_keep_it() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let b = sim.add("b");
    let c = sim.add("c");
    sim.run_for(secs(2));
    assert_eq!(sim.count(a, "ENTER"), 2);
    // a's application stops taking events for twice the expired timeout;
    // b keeps talking to it, c dies meanwhile.
    sim.pause_reading(a, true);
    let a_uuid = sim.uuid(a);
    sim.kill(c);
    for _ in 0..60 {
        sim.nodes[b].core.whisper(a_uuid, text("still here")).unwrap();
        sim.run_for(secs(1));
    }
    assert_eq!(sim.count(a, "EXIT"), 0, "a judges no one while it does not read");
    assert_eq!(sim.count(a, "SILENT"), 0);
    let a_left_b = |sim: &Sim| sim.events(b, "EXIT").iter().any(|e| e.peer() == Some(a_uuid));
    assert!(
        !a_left_b(&sim),
        "a's PINGs keep it alive for b: {:?}",
        sim.nodes[b].events
    );
    assert_eq!(sim.count(a, "WHISPER"), 0);
    // a reads again: every whisper, in order, and b stays.
    let resumed = sim.elapsed();
    sim.pause_reading(a, false);
    assert_eq!(sim.count(a, "WHISPER"), 60);
    sim.run_until(resumed + secs(20));
    assert_eq!(
        sim.count(a, "EXIT"),
        0,
        "c's silence is counted without the pause"
    );
    // c, dead since the pause began, goes an expired timeout after it.
    sim.run_until(resumed + secs(32));
    let exits = sim.events(a, "EXIT");
    assert_eq!(exits.len(), 1);
    assert_eq!(exits[0].peer(), Some(sim.uuid(c)));
    assert!(!a_left_b(&sim));
    assert_eq!(sim.nodes[a].core.peers(), vec![sim.uuid(b)]);
}

/// A receipt (a PING behind what we sent; its PING-OK) comes only once
/// the peer has read everything sent before it: not while it does not
/// read (its own PINGs keep it alive meanwhile, so it never goes), and at
/// once when it reads again. A peer that freezes never gives one: its
/// receipt stops pending when it EXITs, which says what became of the
/// data. Other PINGs (the liveness check's) answered meanwhile are not
/// taken for it.
#[test]
fn a_receipt_comes_once_the_peer_has_read_everything_before_it() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let b = sim.add("b");
    let c = sim.add("c");
    sim.run_for(secs(2));
    assert_eq!(sim.count(a, "ENTER"), 2);
    let (b_uuid, c_uuid) = (sim.uuid(b), sim.uuid(c));
    assert!(!sim.nodes[a].core.receipt_pending(b_uuid), "none asked yet");

    // b's application stops reading; a sends it ten messages and asks.
    sim.pause_reading(b, true);
    for i in 0..10 {
        sim.nodes[a].core.whisper(b_uuid, text(&format!("m{i}"))).unwrap();
    }
    let mut asked = sim.nodes[a].core.request_receipts().unwrap();
    asked.sort();
    let mut both = vec![b_uuid, c_uuid];
    both.sort();
    assert_eq!(asked, both, "every entered peer is asked");
    sim.settle();
    assert!(
        !sim.nodes[a].core.receipt_pending(c_uuid),
        "c read everything: its receipt came"
    );
    // A minute without reading: a PINGs b (evasive) more than once, and b
    // never answers them; b's own PINGs keep it known to a.
    sim.run_for(secs(60));
    assert!(sim.nodes[a].core.receipt_pending(b_uuid), "b has read nothing");
    assert_eq!(sim.count(b, "WHISPER"), 0);
    assert!(sim.events(a, "EXIT").is_empty());
    // b reads again: the ten messages, then the PING, answered.
    sim.pause_reading(b, false);
    sim.settle();
    assert_eq!(sim.count(b, "WHISPER"), 10);
    assert!(
        !sim.nodes[a].core.receipt_pending(b_uuid),
        "b read all ten, then the PING"
    );

    // Asked twice, the receipt is the later PING's answer: b answers the
    // first PING alone (the message and the second PING stay unread).
    sim.pause_reading(b, true);
    sim.nodes[a].core.request_receipts().unwrap();
    sim.nodes[a].core.whisper(b_uuid, text("more")).unwrap();
    sim.nodes[a].core.request_receipts().unwrap();
    sim.settle();
    let i = sim.unread.iter().position(|p| p.to == b).unwrap();
    let first = sim.unread.remove(i).unwrap();
    assert_eq!(first.header[2], 6, "the first PING (RFC 36 message id 6)");
    sim.reading_paused.remove(&b);
    sim.deliver(first);
    sim.reading_paused.insert(b);
    sim.settle();
    assert!(
        sim.nodes[a].core.receipt_pending(b_uuid),
        "the first PING's answer is not the receipt asked last"
    );
    sim.pause_reading(b, false);
    sim.settle();
    assert_eq!(sim.count(b, "WHISPER"), 11);
    assert!(!sim.nodes[a].core.receipt_pending(b_uuid));

    // c freezes: its receipt pends until its EXIT, then no longer.
    sim.clear_events();
    sim.kill(c);
    sim.nodes[a].core.whisper(c_uuid, text("into the void")).unwrap();
    sim.nodes[a].core.request_receipts().unwrap();
    sim.run_for(secs(20));
    assert!(sim.nodes[a].core.receipt_pending(c_uuid));
    sim.run_for(secs(15));
    assert!(sim.events(a, "EXIT").iter().any(|e| e.peer() == Some(c_uuid)));
    assert!(
        !sim.nodes[a].core.receipt_pending(c_uuid),
        "gone: its EXIT says it"
    );
}

/// A plain peer's ENTER waits for its PING-OK, the proof that our link
/// reaches it. When our PING is lost (the link it went on closed under
/// it, as for a peer that moved onto a stale address), the peer, which
/// has our HELLO and ENTERed us, talks to us while we hold what it says:
/// its first message a tick (1 s) after our PING asks again, and it is
/// ENTERed with everything it said, in order. Without that it stayed held
/// until the bound on held events removed it.
#[test]
fn a_peer_whose_proof_was_lost_is_asked_again_when_it_talks() {
    let start = Instant::now();
    let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let mut core = NodeCore::new(Sim::config(uuid_of(0), "a", ip, 41000), start);
    let peer = Uuid::from_u128(0xB0B);
    let identity = peer_identity(&peer);
    let is_ping = |a: &Action| matches!(a, Action::Send { header, .. } if header.get(2) == Some(&6));
    let mut pings = 0;
    let mut events = Vec::new();
    let take = |core: &mut NodeCore, events: &mut Vec<(Duration, Event)>, at: Duration| {
        let mut asked = 0;
        while let Some(action) = core.poll_action() {
            asked += usize::from(is_ping(&action));
        }
        while let Some(event) = core.poll_event() {
            events.push((at, event));
        }
        asked
    };
    core.handle_message(start, &identity, &hello_from(peer, 5003, "b"), Vec::new());
    // Our HELLO and PING went on a link that reaches nobody: lost.
    pings += take(&mut core, &mut events, Duration::ZERO);
    assert_eq!(pings, 1);
    let mut sequence = 2;
    for i in 0..12u64 {
        let at = secs(1 + i);
        let now = start + at;
        core.handle_timeout(now);
        let whisper = ZreMessage::new(sequence, Body::Whisper).to_bytes().unwrap();
        sequence += 1;
        core.handle_message(now, &identity, &whisper, text(&format!("w{i}")));
        if take(&mut core, &mut events, at) > 0 {
            // Asked again, on a link that works now: it answers.
            pings += 1;
            let ping_ok = ZreMessage::new(sequence, Body::PingOk).to_bytes().unwrap();
            sequence += 1;
            core.handle_message(now, &identity, &ping_ok, Vec::new());
            take(&mut core, &mut events, at);
        }
    }
    assert_eq!(pings, 2, "asked once more, not at every message");
    let kinds: Vec<&str> = events.iter().map(|(_, e)| e.kind()).collect();
    assert_eq!(kinds[0], "ENTER", "{kinds:?}");
    // Its HELLO's JOIN, held with it; one ENTER, no EXIT.
    assert_eq!(kinds[1], "JOIN", "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k != "WHISPER").count(), 2, "{kinds:?}");
    assert_eq!(events[0].0, secs(1), "asked again at the first message a tick on");
    let got: Vec<String> = events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Whisper { content, .. } => {
                Some(String::from_utf8_lossy(content[0].as_slice()).into_owned())
            }
            _ => None,
        })
        .collect();
    let sent: Vec<String> = (0..12).map(|i| format!("w{i}")).collect();
    assert_eq!(got, sent);
    assert_eq!(core.peers(), vec![peer]);
}

#[test]
fn a_lost_message_resets_the_peer_and_it_recovers() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let b = sim.add("b");
    sim.run_for(secs(2));
    // Lose exactly one WHISPER from a to b.
    let mut lost = 0;
    sim.loss = Some(Box::new(move |p: &Packet| {
        let is_whisper = matches!(
            ZreMessage::parse(&p.header),
            Ok(ZreMessage {
                body: Body::Whisper,
                ..
            })
        );
        if p.from == 0 && is_whisper && lost == 0 {
            lost += 1;
            return true;
        }
        false
    }));
    let target = sim.uuid(b);
    sim.nodes[a].core.whisper(target, text("one")).unwrap();
    sim.nodes[a].core.whisper(target, text("two")).unwrap();
    sim.settle();
    assert_eq!(
        sim.count(b, "WHISPER"),
        0,
        "a message after a gap is not delivered"
    );
    assert_eq!(sim.count(b, "EXIT"), 1, "the gap resets the peer");
    // The next beacon brings it back and traffic flows again.
    sim.run_for(secs(3));
    assert_eq!(sim.count(b, "ENTER"), 2);
    assert_eq!(sim.nodes[b].core.peers(), vec![sim.uuid(a)]);
    // a also saw b restart its link (HELLO again) and re-entered it.
    let a_peer = sim.uuid(b);
    sim.nodes[a].core.whisper(a_peer, text("three")).unwrap();
    sim.settle();
    let whispers = sim.events(b, "WHISPER");
    assert_eq!(whispers.len(), 1);
    assert_eq!(whispers[0].content().unwrap(), &text("three")[..]);
}

#[test]
fn two_hundred_thousand_messages_pass_the_sequence_wrap() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let b = sim.add("b");
    sim.run_for(secs(2));
    let target = sim.uuid(b);
    for i in 0u32..200_000 {
        sim.nodes[a]
            .core
            .whisper(target, vec![i.to_be_bytes().to_vec()])
            .unwrap();
        if i % 1000 == 999 {
            sim.settle();
        }
    }
    sim.settle();
    let whispers = sim.events(b, "WHISPER");
    assert_eq!(whispers.len(), 200_000);
    for (i, event) in whispers.iter().enumerate() {
        assert_eq!(
            event.content().unwrap()[0],
            (i as u32).to_be_bytes().to_vec(),
            "order kept"
        );
    }
    assert_eq!(sim.count(b, "EXIT"), 0);
    assert_eq!(sim.count(a, "EXIT"), 0);
}

#[test]
fn a_restarted_peer_with_the_same_uuid_on_a_new_port_re_enters() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let b = sim.add("b");
    sim.run_for(secs(2));
    let b_uuid = sim.uuid(b);
    // b crashes and comes back with the same UUID on a new port.
    sim.kill(b);
    let mut config = Sim::config(b_uuid, "b-again", sim.nodes[b].ip, 41077);
    config.headers.clear();
    let b2 = sim.add_with(config);
    sim.run_for(secs(2));
    // a saw b leave and come back, now at the new endpoint.
    assert_eq!(sim.count(a, "EXIT"), 1);
    assert_eq!(sim.count(a, "ENTER"), 2);
    assert_eq!(
        sim.nodes[a].core.peer_endpoint(b_uuid),
        Some("tcp://10.0.0.2:41077")
    );
    assert_eq!(sim.nodes[a].core.peer_name(b_uuid), Some("b-again"));
    sim.nodes[a].core.whisper(b_uuid, text("welcome back")).unwrap();
    sim.settle();
    assert_eq!(sim.count(b2, "WHISPER"), 1);
}

#[test]
fn a_new_peer_at_an_old_endpoint_replaces_it() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let b = sim.add("b");
    sim.run_for(secs(2));
    let old = sim.uuid(b);
    sim.kill(b);
    // Same address and port, new UUID (a restart that lost its identity).
    let config = Sim::config(Uuid::from_u128(0xBEEF), "b-new", sim.nodes[b].ip, 41000);
    sim.add_with(config);
    sim.run_for(secs(2));
    assert_eq!(sim.nodes[a].core.peers(), vec![Uuid::from_u128(0xBEEF)]);
    let exits = sim.events(a, "EXIT");
    assert_eq!(exits.len(), 1);
    assert_eq!(exits[0].peer(), Some(old));
}

#[test]
fn port_zero_beacon_and_stop_remove_the_peer_after_a_second_of_silence() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let b = sim.add("b");
    let c = sim.add("c");
    sim.run_for(secs(2));
    sim.nodes[b].core.stop();
    sim.settle();
    // Its port-0 beacon may overtake the last of its data on TCP: it is
    // kept while that data may still come.
    assert_eq!(sim.count(a, "EXIT"), 0);
    sim.run_for(secs(2));
    assert_eq!(sim.count(a, "EXIT"), 1);
    assert_eq!(sim.count(c, "EXIT"), 1);
    assert_eq!(sim.count(b, "STOP"), 1);
    assert!(
        sim.nodes[b].core.poll_timeout().is_none(),
        "a stopped node has nothing to do"
    );
    assert!(sim.nodes[b].core.join("x").is_err());
    // A bare port-0 beacon (no GOODBYE after it, as from Zyre) removes the
    // peer once it has been silent for a second: the beacon may have
    // overtaken its last data on TCP.
    let leaving = zre::wire::Beacon::new(sim.uuid(c), 0).to_bytes();
    let now = sim.now;
    let ip = sim.nodes[c].ip;
    sim.nodes[c].alive = false;
    sim.nodes[a].core.handle_beacon(now, ip, &leaving);
    sim.settle();
    assert_eq!(sim.count(a, "EXIT"), 1, "not at once");
    sim.run_for(secs(3));
    assert_eq!(sim.count(a, "EXIT"), 2);
    assert!(sim.nodes[a].core.peers().is_empty());
}

/// A peer that announced it is leaving is not reported EVASIVE or SILENT
/// in its grace: it goes with EXIT alone, as from Zyre (which removes it
/// at once). Its evasive deadline may have passed just before, with the
/// tick that would report it still to come: the grace's exact deadline
/// must not report it then.
#[test]
fn a_leaving_peer_goes_with_exit_alone() {
    let mut evaluated = 0;
    for offset_ms in [100, 300, 500, 700, 900] {
        let mut sim = Sim::new();
        let a = sim.add("a");
        // b never pings a (its own timeouts are long): a hears from b only
        // what b sends, and b's last word falls between a's ticks.
        let mut config = Sim::config(uuid_of(1), "b", "10.0.0.2".parse().unwrap(), 41000);
        config.evasive = secs(60);
        config.expired = secs(120);
        let b = sim.add_with(config);
        sim.run_for(secs(2) + Duration::from_millis(offset_ms));
        let a_uuid = sim.uuid(a);
        sim.nodes[b].core.whisper(a_uuid, text("last words")).unwrap();
        sim.settle();
        // Quiet just past a's evasive timeout for it, then b stops.
        sim.run_for(secs(5) + Duration::from_millis(50));
        if sim.count(a, "EVASIVE") > 0 {
            // The tick came first: a true EVASIVE, not this case.
            continue;
        }
        evaluated += 1;
        let before = sim.nodes[a].events.len();
        // Its port-0 beacon comes first (UDP overtakes the GOODBYE on TCP),
        // and a loop runs what is then due at once, before reading on.
        let leaving = zre::wire::Beacon::new(sim.uuid(b), 0).to_bytes();
        let (now, ip) = (sim.now, sim.nodes[b].ip);
        sim.nodes[a].core.handle_beacon(now, ip, &leaving);
        if sim.nodes[a].core.poll_timeout().is_some_and(|t| t <= now) {
            sim.nodes[a].core.handle_timeout(now);
        }
        sim.nodes[b].core.stop();
        sim.settle();
        sim.run_for(secs(3));
        let after: Vec<&str> = sim.nodes[a].events[before..].iter().map(|e| e.kind()).collect();
        assert_eq!(after, ["EXIT"], "offset {offset_ms} ms");
    }
    assert!(evaluated > 0, "no offset fell between the deadline and its tick");
}

#[test]
fn goodbye_alone_removes_the_peer() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    // Gossip only: no beacons, so it says goodbye with GOODBYE.
    let mut config = Sim::config(uuid_of(1), "b", "10.0.0.2".parse().unwrap(), 41000);
    config.beacons = false;
    let b = sim.add_with(config);
    sim.beacons_blocked.insert(b);
    // Gossip-style discovery: a learns b's endpoint from a tuple.
    let (b_uuid, b_endpoint) = (sim.uuid(b), sim.nodes[b].core.endpoint().to_string());
    let now = sim.now;
    sim.nodes[a]
        .core
        .handle_gossip_tuple(now, &b_uuid.simple().to_string().to_uppercase(), &b_endpoint);
    sim.settle();
    assert_eq!(sim.count(a, "ENTER"), 1);
    assert_eq!(sim.count(b, "ENTER"), 1);
    sim.nodes[b].core.stop();
    sim.settle();
    assert_eq!(sim.count(a, "EXIT"), 1, "at once");
}

#[test]
fn gossip_tuples_for_ourselves_or_garbage_are_ignored() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let now = sim.now;
    let own = sim.uuid(a).simple().to_string();
    let own_endpoint = sim.nodes[a].core.endpoint().to_string();
    sim.nodes[a]
        .core
        .handle_gossip_tuple(now, &own, "tcp://10.9.9.9:1");
    sim.nodes[a]
        .core
        .handle_gossip_tuple(now, &Uuid::from_u128(7).simple().to_string(), &own_endpoint);
    sim.nodes[a]
        .core
        .handle_gossip_tuple(now, "not-a-uuid", "tcp://10.9.9.9:1");
    sim.nodes[a]
        .core
        .handle_gossip_tuple(now, &Uuid::from_u128(8).simple().to_string(), "ipc:///tmp/x");
    assert_eq!(sim.nodes[a].core.pending_peer_count(), 0);
    assert!(sim.nodes[a].core.poll_action().is_none());
}

/// A HELLO whose endpoint we cannot link to (another transport, no port,
/// a host that is neither an address nor a name) is refused: no ENTER, no
/// link. Before, `ipc:///tmp/x` or `tcp://999.1.1.1:1` from a stranger was
/// ENTERed (a peer we could never send to) and connected to.
#[test]
fn a_hello_with_an_endpoint_we_cannot_link_to_is_refused() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let bogus = [
        "",
        "tcp://",
        "ipc:///tmp/x",
        "tcp://999.1.1.1:1",
        "tcp://10.7.7.7:0",
        &"x".repeat(255),
    ];
    for (i, endpoint) in bogus.iter().enumerate() {
        let hello = ZreMessage::new(
            1,
            Body::Hello(Box::new(zre::wire::Hello {
                endpoint,
                groups: vec!["g"],
                status: 1,
                name: "bogus",
                headers: vec![],
            })),
        )
        .to_bytes()
        .unwrap();
        inject(&mut sim, Uuid::from_u128(0xB0605 + i as u128), a, hello);
    }
    assert_eq!(sim.count(a, "ENTER"), 0, "{:?}", sim.nodes[a].events);
    assert_eq!(sim.nodes[a].core.peers(), Vec::<Uuid>::new());
    assert_eq!(sim.nodes[a].core.pending_peer_count(), 0);
    // A well-formed one from the same kind of stranger still gets in.
    inject(
        &mut sim,
        Uuid::from_u128(0xB0600),
        a,
        hello_from(Uuid::from_u128(0xB0600), 5, "fine"),
    );
    answer_ping(&mut sim, Uuid::from_u128(0xB0600), a, 2);
    assert_eq!(sim.count(a, "ENTER"), 1);
}

#[test]
fn clock_jump_expires_peers_which_then_come_back() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let b = sim.add("b");
    sim.run_for(secs(2));
    // The host sleeps for ten minutes: no timers ran, then time leaps.
    sim.now += secs(600);
    sim.start += Duration::ZERO;
    let now = sim.now;
    for node in &mut sim.nodes {
        node.core.handle_timeout(now);
    }
    sim.settle();
    assert_eq!(sim.count(a, "EXIT"), 1);
    assert_eq!(sim.count(b, "EXIT"), 1);
    // One catch-up tick, not six hundred.
    let next = sim.nodes[a].core.poll_timeout().unwrap();
    assert!(next > now && next <= now + secs(1));
    sim.run_for(secs(3));
    assert_eq!(sim.count(a, "ENTER"), 2);
    assert_eq!(sim.nodes[a].core.peers(), vec![sim.uuid(b)]);
}

/// Sends one hand-made message from `from` to `to`, in `from`'s sequence.
fn inject(sim: &mut Sim, from: Uuid, to: usize, header: Vec<u8>) {
    let identity = peer_identity(&from);
    let now = sim.now;
    sim.nodes[to]
        .core
        .handle_message(now, &identity, &header, Vec::new());
    sim.settle();
}

/// `from`'s PING-OK (its `sequence`th message) to the PING that came
/// with our HELLO: a hand-made peer answers it as a real one does, since a
/// plain peer's ENTER waits for this proof that our link reaches it.
fn answer_ping(sim: &mut Sim, from: Uuid, to: usize, sequence: u16) {
    inject(
        sim,
        from,
        to,
        ZreMessage::new(sequence, Body::PingOk).to_bytes().unwrap(),
    );
}

fn hello_from(uuid: Uuid, port: u16, name: &str) -> Vec<u8> {
    let endpoint = format!("tcp://10.7.7.7:{port}");
    let _ = uuid;
    ZreMessage::new(
        1,
        Body::Hello(Box::new(zre::wire::Hello {
            endpoint: &endpoint,
            groups: vec!["g"],
            status: 1,
            name,
            headers: vec![],
        })),
    )
    .to_bytes()
    .unwrap()
}

#[test]
fn hand_made_peer_quirks_are_tolerated() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let fake = Uuid::from_u128(0xF00D);
    // Anything before HELLO is ignored.
    inject(
        &mut sim,
        fake,
        a,
        ZreMessage::new(1, Body::Whisper).to_bytes().unwrap(),
    );
    assert_eq!(sim.count(a, "WHISPER"), 0);
    inject(&mut sim, fake, a, hello_from(fake, 5000, "fake"));
    answer_ping(&mut sim, fake, a, 2);
    assert_eq!(sim.count(a, "ENTER"), 1);
    assert_eq!(sim.count(a, "JOIN"), 1);
    // Status mismatch on JOIN: logged, never fatal.
    inject(
        &mut sim,
        fake,
        a,
        ZreMessage::new(
            3,
            Body::Join {
                group: "h",
                status: 77,
            },
        )
        .to_bytes()
        .unwrap(),
    );
    assert_eq!(sim.count(a, "JOIN"), 2);
    // ELECT and LEADER as Zyre sends them: no reset.
    let elect = ZreMessage::new(
        4,
        Body::Elect {
            group: "h",
            challenger: "ABC",
        },
    )
    .to_bytes()
    .unwrap();
    inject(&mut sim, fake, a, elect);
    let leader = ZreMessage::new(
        5,
        Body::Leader {
            group: "h",
            leader: "ABC",
        },
    )
    .to_bytes()
    .unwrap();
    inject(&mut sim, fake, a, leader);
    // A message id from a future protocol: ignored, but its sequence counts.
    let mut unknown = ZreMessage::new(6, Body::Ping).to_bytes().unwrap();
    unknown[2] = 42;
    inject(&mut sim, fake, a, unknown);
    // A message with a valid header but a broken body: ignored, counted.
    inject(&mut sim, fake, a, vec![0xAA, 0xA1, 3, 2, 0, 7, 200]);
    inject(
        &mut sim,
        fake,
        a,
        ZreMessage::new(8, Body::Whisper).to_bytes().unwrap(),
    );
    assert_eq!(sim.count(a, "WHISPER"), 1);
    assert_eq!(sim.count(a, "EXIT"), 0);
    // pyre's wrap: 65534 -> 0 is accepted; so is Zyre's 65535 -> 0.
    let mut seq = 9u16;
    while seq != 65535 {
        inject(
            &mut sim,
            fake,
            a,
            ZreMessage::new(seq, Body::PingOk).to_bytes().unwrap(),
        );
        seq += 1;
    }
    let before = sim.count(a, "EXIT");
    inject(
        &mut sim,
        fake,
        a,
        ZreMessage::new(0, Body::Whisper).to_bytes().unwrap(),
    );
    assert_eq!(
        sim.count(a, "EXIT"),
        before,
        "65534 -> 0 is pyre's wrap, not a gap"
    );
    assert_eq!(sim.count(a, "WHISPER"), 2);
    // Wrong identity lengths are dropped without effect.
    let now = sim.now;
    sim.nodes[a].core.handle_message(
        now,
        &[1, 2, 3],
        &ZreMessage::new(1, Body::Whisper).to_bytes().unwrap(),
        vec![],
    );
    sim.nodes[a].core.handle_message(now, &[], b"garbage", vec![]);
    sim.settle();
    assert_eq!(sim.count(a, "WHISPER"), 2);
    // GOODBYE removes it at once.
    inject(
        &mut sim,
        fake,
        a,
        ZreMessage::new(1, Body::Goodbye).to_bytes().unwrap(),
    );
    assert_eq!(sim.count(a, "EXIT"), 1);
}

#[test]
fn after_the_short_wrap_we_send_the_short_wrap() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let fake = Uuid::from_u128(0xCAFE);
    inject(&mut sim, fake, a, hello_from(fake, 5001, "pyre-like"));
    // Drive the fake peer's sequence to pyre's wrap.
    let mut seq = 2u16;
    while seq != 65535 {
        inject(
            &mut sim,
            fake,
            a,
            ZreMessage::new(seq, Body::PingOk).to_bytes().unwrap(),
        );
        seq += 1;
    }
    inject(
        &mut sim,
        fake,
        a,
        ZreMessage::new(0, Body::PingOk).to_bytes().unwrap(),
    );
    // Now make a send 65536 messages to it and watch the sequence numbers.
    let mut seen = Vec::new();
    for _ in 0..65536 {
        sim.nodes[a].core.whisper(fake, text("x")).unwrap();
        while let Some(action) = sim.nodes[a].core.poll_action() {
            if let Action::Send { header, .. } = action {
                seen.push(zre::wire::Header::parse(&header).unwrap().sequence);
            }
        }
    }
    assert!(!seen.contains(&65535), "a pyre-style peer never gets 65535");
    let wrap = seen.iter().position(|&s| s == 0).unwrap();
    assert_eq!(seen[wrap - 1], 65534);
}

#[test]
fn the_peer_limit_holds_against_a_flood_of_fake_beacons() {
    let mut sim = Sim::new();
    let mut config = Sim::config(uuid_of(0), "a", IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 41000);
    config.max_peers = 16;
    let a = sim.add_with(config);
    let now = sim.now;
    flood_with_fake_beacons(&mut sim, a, 10_000);
    // Peers known only from a beacon may take half the table.
    assert_eq!(sim.nodes[a].core.pending_peer_count(), 8);
    // The fakes never say HELLO and expire after the expired timeout, as
    // in Zyre (issue 24: a real peer on a loaded host may take seconds to
    // answer); the app never heard of them.
    sim.run_for(Duration::from_millis(29_900));
    assert_eq!(sim.nodes[a].core.pending_peer_count(), 8);
    // The announcements that found no room were kept (half a table of
    // them) and get their try when the first ones expire; then none.
    sim.run_for(secs(2));
    assert_eq!(sim.nodes[a].core.counters().announcements_kept, 0);
    sim.run_for(secs(32));
    assert_eq!(sim.nodes[a].core.pending_peer_count(), 0);
    assert_eq!(
        sim.count(a, "ENTER") + sim.count(a, "EXIT") + sim.count(a, "EVASIVE"),
        0
    );
    // Garbage on the beacon port is ignored.
    for junk in [
        &b"ZRE"[..],
        &[0u8; 22],
        &[0xFF; 54],
        b"ZRE\x01short",
        &[b'Z', b'R', b'E', 9],
    ] {
        sim.nodes[a]
            .core
            .handle_beacon(now, IpAddr::V4(Ipv4Addr::LOCALHOST), junk);
    }
    assert_eq!(sim.nodes[a].core.pending_peer_count(), 0);
}

fn flood_with_fake_beacons(sim: &mut Sim, node: usize, count: u32) {
    let now = sim.now;
    for i in 0..count {
        let beacon = zre::wire::Beacon::new(Uuid::from_u128(0xFACE_0000 + i as u128), 40000).to_bytes();
        let ip = IpAddr::V4(Ipv4Addr::new(10, 66, (i / 250) as u8, (i % 250) as u8 + 1));
        sim.nodes[node].core.handle_beacon(now, ip, &beacon);
    }
}

#[test]
fn fake_beacons_never_lock_out_a_peer_that_says_hello() {
    let mut sim = Sim::new();
    let mut config = Sim::config(uuid_of(0), "a", IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 41000);
    config.max_peers = 16;
    let a = sim.add_with(config);
    flood_with_fake_beacons(&mut sim, a, 1000);
    // Genuine peers fill the other half, then one more arrives while the
    // flood goes on: its HELLO pushes out the oldest fake.
    for i in 1..=9u128 {
        let genuine = Uuid::from_u128(0x6000 + i);
        inject(
            &mut sim,
            genuine,
            a,
            hello_from(genuine, 6000 + i as u16, &format!("g{i}")),
        );
        answer_ping(&mut sim, genuine, a, 2);
        flood_with_fake_beacons(&mut sim, a, 1000);
    }
    assert_eq!(
        sim.nodes[a].core.peers().len(),
        9,
        "every peer that said HELLO got in"
    );
    assert_eq!(sim.nodes[a].core.pending_peer_count(), 7);
    assert_eq!(sim.count(a, "ENTER"), 9);
    // A full table of peers that all said HELLO refuses the next one.
    let mut sim = Sim::new();
    let mut config = Sim::config(uuid_of(0), "a", IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 41000);
    config.max_peers = 4;
    let a = sim.add_with(config);
    for i in 1..=5u128 {
        let genuine = Uuid::from_u128(0x7000 + i);
        inject(&mut sim, genuine, a, hello_from(genuine, 7000 + i as u16, "g"));
        answer_ping(&mut sim, genuine, a, 2);
    }
    assert_eq!(sim.nodes[a].core.peers().len(), 4);
}

#[test]
fn one_peer_cannot_track_more_groups_than_the_limit() {
    let mut sim = Sim::new();
    let mut config = Sim::config(uuid_of(0), "a", IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 41000);
    config.max_peer_groups = 3;
    let a = sim.add_with(config);
    let fake = Uuid::from_u128(0x9000);
    inject(&mut sim, fake, a, hello_from(fake, 9000, "greedy"));
    answer_ping(&mut sim, fake, a, 2);
    // HELLO put it in "g"; three more JOINs, of which two fit.
    for (seq, group) in [(3u16, "h"), (4, "i"), (5, "j")] {
        let join = ZreMessage::new(
            seq,
            Body::Join {
                group,
                status: seq as u8,
            },
        )
        .to_bytes()
        .unwrap();
        inject(&mut sim, fake, a, join);
    }
    assert_eq!(sim.nodes[a].core.peer_groups(), vec!["g", "h", "i"]);
    // Leaving one makes room again; nothing reset the peer.
    let leave = ZreMessage::new(
        6,
        Body::Leave {
            group: "g",
            status: 5,
        },
    )
    .to_bytes()
    .unwrap();
    inject(&mut sim, fake, a, leave);
    let join = ZreMessage::new(
        7,
        Body::Join {
            group: "k",
            status: 6,
        },
    )
    .to_bytes()
    .unwrap();
    inject(&mut sim, fake, a, join);
    assert_eq!(sim.nodes[a].core.peer_groups(), vec!["h", "i", "k"]);
    assert_eq!(sim.count(a, "EXIT"), 0);
    // When it goes, so do the groups it alone was in.
    inject(
        &mut sim,
        fake,
        a,
        ZreMessage::new(8, Body::Goodbye).to_bytes().unwrap(),
    );
    assert!(sim.nodes[a].core.peer_groups().is_empty());
}

#[test]
fn a_peer_that_resets_us_at_65535_gets_the_short_wrap() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let fake = Uuid::from_u128(0xA11CE);
    inject(&mut sim, fake, a, hello_from(fake, 5002, "pyre-like"));
    answer_ping(&mut sim, fake, a, 2);
    let sequences = |sim: &mut Sim, count: usize| -> Vec<u16> {
        let mut seen = Vec::new();
        for _ in 0..count {
            sim.nodes[a].core.whisper(fake, text("x")).unwrap();
            while let Some(action) = sim.nodes[a].core.poll_action() {
                if let Action::Send { header, .. } = action {
                    seen.push(zre::wire::Header::parse(&header).unwrap().sequence);
                }
            }
        }
        seen
    };
    // Our HELLO was 1 and our PING 2; the 65533rd whisper carries 65535,
    // the Zyre wrap.
    let seen = sequences(&mut sim, 65533);
    assert_eq!(*seen.last().unwrap(), 65535);
    // It resets us (as pyre does on 65535) and says HELLO again at once:
    // the same session for us (issue 24: no EXIT and ENTER), answered
    // with our HELLO.
    inject(&mut sim, fake, a, hello_from(fake, 5002, "pyre-like"));
    assert_eq!(sim.count(a, "ENTER"), 1);
    let seen = sequences(&mut sim, 65535);
    assert!(!seen.contains(&65535), "after that reset it gets the short wrap");
    let wrap = seen.iter().position(|&s| s == 0).expect("it wrapped");
    assert_eq!(seen[wrap - 1], 65534);
}

#[test]
fn invalid_group_names_are_refused() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    assert!(sim.nodes[a].core.join("").is_err());
    assert!(sim.nodes[a].core.join(&"g".repeat(256)).is_err());
    assert!(sim.nodes[a].core.shout(&"g".repeat(256), text("x")).is_err());
    assert!(
        sim.nodes[a].core.join(&"é".repeat(127)).is_ok(),
        "254 bytes of UTF-8 fit"
    );
    assert_eq!(sim.nodes[a].core.own_groups().len(), 1);
}

#[test]
fn idle_node_wakes_at_most_once_per_beacon_interval() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    sim.add("b");
    sim.run_for(secs(2));
    let mut wakes = 0;
    let end = sim.now + secs(60);
    while let Some(next) = sim.nodes[a].core.poll_timeout() {
        if next > end {
            break;
        }
        sim.now = next;
        let now = sim.now;
        sim.nodes[a].core.handle_timeout(now);
        sim.nodes[1].core.handle_timeout(now);
        sim.settle();
        wakes += 1;
    }
    assert!(wakes <= 61, "{wakes} wake-ups in 60 s");
    assert!(wakes >= 59, "beacons keep going: {wakes}");
}

fn goodbyes_in(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|action| match action {
            Action::Send { header, .. } => matches!(
                ZreMessage::parse(header),
                Ok(ZreMessage {
                    body: Body::Goodbye,
                    ..
                })
            ),
            _ => false,
        })
        .count()
}

/// With beacons, a node says goodbye as Zyre, pyre and zyre.js do: with a
/// port-0 beacon, the last thing it sends, after every link is closed (and
/// flushed). No GOODBYE: pyre 0.3.4 takes it for lost messages and
/// haskell-zre logs it as malformed (issue 13, fault 9).
#[test]
fn stopping_with_beacons_closes_every_link_then_sends_the_leaving_beacon() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    sim.add("b");
    sim.add("c");
    sim.run_for(secs(2));
    let target = sim.uuid(1);
    sim.nodes[a].core.whisper(target, text("last data")).unwrap();
    sim.nodes[a].core.stop();
    let actions: Vec<Action> = std::iter::from_fn(|| sim.nodes[a].core.poll_action()).collect();
    let beacon_at = actions
        .iter()
        .position(|action| matches!(action, Action::Beacon(b) if b.port == 0))
        .expect("a leaving beacon");
    assert_eq!(
        beacon_at,
        actions.len() - 1,
        "the leaving beacon is the last thing sent: {actions:?}"
    );
    assert_eq!(goodbyes_in(&actions), 0, "{actions:?}");
    let disconnects = actions[..beacon_at]
        .iter()
        .filter(|a| matches!(a, Action::Disconnect { .. }))
        .count();
    assert_eq!(
        disconnects, 2,
        "every link is closed (and flushed) before the beacon"
    );
}

/// Without beacons (gossip only) no port-0 beacon can go out: GOODBYE goes
/// behind our data on every link, as in Zyre's gossip mode.
#[test]
fn stopping_without_beacons_says_goodbye_on_every_link() {
    let mut sim = Sim::new();
    let mut config = Sim::config(uuid_of(0), "a", "10.0.0.1".parse().unwrap(), 41000);
    config.beacons = false;
    let a = sim.add_with(config);
    sim.add("b");
    sim.add("c");
    sim.run_for(secs(2));
    assert_eq!(sim.nodes[a].core.peers().len(), 2);
    sim.nodes[a].core.stop();
    let actions: Vec<Action> = std::iter::from_fn(|| sim.nodes[a].core.poll_action()).collect();
    assert_eq!(goodbyes_in(&actions), 2, "{actions:?}");
    assert!(!actions.iter().any(|a| matches!(a, Action::Beacon(_))));
    let last_goodbye = actions
        .iter()
        .rposition(|a| matches!(a, Action::Send { .. }))
        .unwrap();
    let first_disconnect = actions
        .iter()
        .position(|a| matches!(a, Action::Disconnect { .. }))
        .unwrap();
    assert!(
        last_goodbye < first_disconnect,
        "GOODBYE before the link closes: {actions:?}"
    );
}

/// With beacons on, a peer our port-0 beacon cannot reach (met through
/// gossip, outside the subnet we serve) still gets GOODBYE, as Zyre sends
/// it in gossip mode; the peers on our subnet get only the beacon.
#[test]
fn stopping_says_goodbye_to_the_peers_our_beacon_cannot_reach() {
    let mut sim = Sim::new();
    let mut config = Sim::config(uuid_of(0), "a", "10.0.0.1".parse().unwrap(), 41000);
    config.beacon_subnet = Some(zre::core::Subnet::new("10.0.0.1".parse().unwrap(), 24));
    let a = sim.add_with(config);
    let near = sim.add_with(Sim::config(
        uuid_of(1),
        "near",
        "10.0.0.2".parse().unwrap(),
        41000,
    ));
    let far = sim.add_with(Sim::config(uuid_of(2), "far", "10.0.1.2".parse().unwrap(), 41000));
    sim.beacons_blocked.insert(far);
    let far_endpoint = sim.nodes[far].core.endpoint().to_string();
    let far_uuid = sim.uuid(far);
    tuple(&mut sim, a, far_uuid, &far_endpoint);
    sim.run_for(secs(2));
    assert_eq!(sim.nodes[a].core.peers().len(), 2);
    sim.nodes[a].core.stop();
    let actions: Vec<Action> = std::iter::from_fn(|| sim.nodes[a].core.poll_action()).collect();
    let goodbye_to: Vec<Uuid> = actions
        .iter()
        .filter_map(|action| match action {
            Action::Send { peer, header, .. } if goodbyes_in(std::slice::from_ref(action)) == 1 => {
                let _ = header;
                Some(*peer)
            }
            _ => None,
        })
        .collect();
    assert_eq!(goodbye_to, vec![far_uuid], "{actions:?}");
    assert_ne!(sim.uuid(near), far_uuid);
    assert!(matches!(actions.last(), Some(Action::Beacon(b)) if b.port == 0));
}

// ----- one endpoint, two UUIDs (issue 13, fault 1) ------------------------

/// `a`, `b`, then `a` dies and `a2` (a new UUID) starts on `a`'s endpoint;
/// beacons off, so that only what the test announces is heard.
fn restarted_on_the_same_endpoint() -> (Sim, usize, Uuid, usize) {
    let mut sim = Sim::new();
    let a1 = sim.add("a1");
    let b = sim.add("b");
    let a1_uuid = sim.uuid(a1);
    let config = Sim::config(Uuid::from_u128(0xA2), "a2", sim.nodes[a1].ip, 41000);
    sim.kill(a1);
    let a2 = sim.add_with(config);
    for node in [a1, b, a2] {
        sim.beacons_blocked.insert(node);
    }
    (sim, b, a1_uuid, a2)
}

fn tuple(sim: &mut Sim, to: usize, uuid: Uuid, endpoint: &str) {
    let now = sim.now;
    let key = uuid.simple().to_string().to_uppercase();
    sim.nodes[to].core.handle_gossip_tuple(now, &key, endpoint);
    sim.settle();
}

fn check_one_clean_enter(sim: &Sim, node: usize, peer: Uuid) {
    let enters = sim.events(node, "ENTER");
    assert_eq!(enters.len(), 1, "{:?}", sim.nodes[node].events);
    assert_eq!(enters[0].peer(), Some(peer));
    assert_eq!(sim.count(node, "EXIT"), 0, "{:?}", sim.nodes[node].events);
    assert_eq!(sim.nodes[node].core.peers(), vec![peer]);
}

#[test]
fn a_stale_tuple_then_the_live_one_enters_the_live_peer_once() {
    let (mut sim, b, a1_uuid, a2) = restarted_on_the_same_endpoint();
    let endpoint = sim.nodes[a2].core.endpoint().to_string();
    let a2_uuid = sim.uuid(a2);
    // The server still has a1's tuple and gives it first.
    tuple(&mut sim, b, a1_uuid, &endpoint);
    tuple(&mut sim, b, a2_uuid, &endpoint);
    // It goes on re-sending both, in both orders, for a minute.
    for round in 0..60 {
        if round % 2 == 0 {
            tuple(&mut sim, b, a1_uuid, &endpoint);
            tuple(&mut sim, b, a2_uuid, &endpoint);
        } else {
            tuple(&mut sim, b, a2_uuid, &endpoint);
            tuple(&mut sim, b, a1_uuid, &endpoint);
        }
        sim.run_for(secs(1));
    }
    check_one_clean_enter(&sim, b, a2_uuid);
    // And a2 saw b once, never restarted by a second link or HELLO.
    check_one_clean_enter(&sim, a2, sim.uuid(b));
    assert_eq!(sim.nodes[b].core.pending_peer_count(), 0, "a1 is not tried again");
}

#[test]
fn the_live_tuple_then_a_stale_one_changes_nothing() {
    let (mut sim, b, a1_uuid, a2) = restarted_on_the_same_endpoint();
    let endpoint = sim.nodes[a2].core.endpoint().to_string();
    let a2_uuid = sim.uuid(a2);
    tuple(&mut sim, b, a2_uuid, &endpoint);
    for _ in 0..60 {
        tuple(&mut sim, b, a1_uuid, &endpoint);
        sim.run_for(secs(1));
    }
    check_one_clean_enter(&sim, b, a2_uuid);
    check_one_clean_enter(&sim, a2, sim.uuid(b));
}

#[test]
fn a_stale_beacon_at_a_live_peers_endpoint_changes_nothing() {
    let (mut sim, b, a1_uuid, a2) = restarted_on_the_same_endpoint();
    sim.beacons_blocked.remove(&a2);
    sim.beacons_blocked.remove(&b);
    sim.run_for(secs(3));
    let a2_uuid = sim.uuid(a2);
    check_one_clean_enter(&sim, b, a2_uuid);
    // Someone replays a1's beacon (its address and port) for a minute.
    let stale = zre::wire::Beacon::new(a1_uuid, 41000).to_bytes();
    let ip = sim.nodes[a2].ip;
    for _ in 0..60 {
        let now = sim.now;
        sim.nodes[b].core.handle_beacon(now, ip, &stale);
        sim.run_for(secs(1));
    }
    check_one_clean_enter(&sim, b, a2_uuid);
    check_one_clean_enter(&sim, a2, sim.uuid(b));
}

#[test]
fn a_peer_restarted_under_a_new_uuid_is_one_exit_then_one_enter_and_the_old_tuple_is_ignored() {
    let mut sim = Sim::new();
    let a1 = sim.add("a1");
    let b = sim.add("b");
    sim.run_for(secs(2));
    let a1_uuid = sim.uuid(a1);
    let endpoint = sim.nodes[a1].core.endpoint().to_string();
    sim.kill(a1);
    let config = Sim::config(Uuid::from_u128(0xA2), "a2", sim.nodes[a1].ip, 41000);
    let a2 = sim.add_with(config);
    sim.run_for(secs(3));
    let a2_uuid = sim.uuid(a2);
    let kinds: Vec<(&str, Option<Uuid>)> = sim.nodes[b]
        .events
        .iter()
        .filter(|e| matches!(e.kind(), "ENTER" | "EXIT"))
        .map(|e| (e.kind(), e.peer()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("ENTER", Some(a1_uuid)),
            ("EXIT", Some(a1_uuid)),
            ("ENTER", Some(a2_uuid))
        ]
    );
    sim.clear_events();
    for _ in 0..30 {
        tuple(&mut sim, b, a1_uuid, &endpoint);
        sim.run_for(secs(1));
    }
    assert!(
        sim.nodes[b]
            .events
            .iter()
            .all(|e| !matches!(e.kind(), "ENTER" | "EXIT")),
        "{:?}",
        sim.nodes[b].events
    );
    assert_eq!(sim.nodes[b].core.peers(), vec![a2_uuid]);
}

#[test]
fn two_live_peers_claiming_one_endpoint_never_ping_pong() {
    let mut sim = Sim::new();
    let observer = sim.add("observer");
    // x and y are both alive and both advertise x's endpoint in HELLO
    // (a misconfigured --endpoint); their beacons carry their real ports.
    let x = sim.add("x");
    let mut config = Sim::config(Uuid::from_u128(0x77), "y", "10.0.0.9".parse().unwrap(), 41000);
    config.endpoint = sim.nodes[x].core.endpoint().to_string();
    let y = sim.nodes.len();
    sim.by_endpoint.insert("tcp://10.0.0.9:41000".into(), y);
    sim.nodes.push(SimNode {
        core: NodeCore::new(config, sim.now),
        ip: "10.0.0.9".parse().unwrap(),
        events: Vec::new(),
        alive: true,
    });
    // settle() fails on a storm that never goes quiet. The endpoint may
    // change hands while the first expired timeout runs (messages for y
    // reach x, so y cannot stay healthy), then it stays put for good.
    let mut per_span = Vec::new();
    for _ in 0..20 {
        let before = sim.nodes[observer].events.len();
        sim.run_for(secs(30));
        let flips = sim.nodes[observer].events[before..]
            .iter()
            .filter(|e| matches!(e.kind(), "ENTER" | "EXIT"))
            .count();
        per_span.push(flips);
    }
    assert!(per_span[0] <= 8, "{per_span:?}");
    assert!(per_span[2..].iter().all(|&n| n == 0), "{per_span:?}");
    assert!(sim.nodes[observer].core.peers().len() <= 1);
    for node in [x, y] {
        let flips = sim.nodes[node]
            .events
            .iter()
            .filter(|e| matches!(e.kind(), "ENTER" | "EXIT"))
            .count();
        assert!(flips <= 2 * 20 + 2, "node {node}: {flips}");
    }
}

/// `a` drops `b` without `b` knowing (as after a one-sided expiry).
fn drops_unknown_to_it(sim: &mut Sim, a: usize, b: usize) {
    let b_uuid = sim.uuid(b);
    sim.nodes[a].core.remove_peer(b_uuid, Removal::TooFarBehind);
    sim.settle();
}

/// Nodes `a` and `b` met `met_for` ago; then `a` dropped `b` without
/// `b` knowing, and a minute passed: asserts that `b` kept `a` (one
/// ENTER, no EXIT). Returns the simulation and the two nodes.
fn b_keeps_a_after_a_one_sided_drop(met_for: Duration) -> (Sim, usize, usize) {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let b = sim.add("b");
    sim.run_for(met_for);
    drops_unknown_to_it(&mut sim, a, b);
    sim.run_for(secs(60));
    assert_eq!(sim.count(b, "EXIT"), 0, "{:?}", sim.nodes[b].events);
    assert_eq!(sim.count(b, "ENTER"), 1, "{:?}", sim.nodes[b].events);
    (sim, a, b)
}

#[test]
fn a_repeated_hello_restarts_once_not_back_and_forth() {
    // a drops b without b knowing (as after a one-sided expiry): b's next
    // beacon brings it back, and a's new HELLO reaches b, which has a.
    // b keeps a: the HELLO says nothing new, the same session (issue
    // 24); a entered b again once; then quiet.
    let (sim, a, _) = b_keeps_a_after_a_one_sided_drop(secs(2));
    assert_eq!(sim.count(a, "ENTER"), 2, "{:?}", sim.nodes[a].events);
    assert_eq!(sim.count(a, "EXIT"), 1, "{:?}", sim.nodes[a].events);
}

/// The chaos checker's kind (issue 25): a peer that had talked with us,
/// dropped us without our knowing (a one-sided expiry: we were stopped,
/// or its timers ran late), SHOUTed to our group meanwhile and then found
/// us again. What it sent while we were out of its table never reached
/// us, so its new HELLO is a restart: EXIT then ENTER, and JOIN again.
/// Taken as "nothing new, same session" (issue 24) the SHOUT was lost with
/// no EXIT in between.
#[test]
fn a_peer_that_dropped_us_after_talking_and_greets_us_again_is_exit_and_enter() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let b = sim.add("b");
    sim.run_for(secs(2));
    sim.nodes[a].core.join("g").unwrap();
    sim.nodes[b].core.join("g").unwrap();
    sim.settle();
    sim.nodes[a].core.shout("g", text("1")).unwrap();
    sim.settle();
    assert_eq!(sim.count(b, "SHOUT"), 1);
    let a_uuid = sim.uuid(a);
    drops_unknown_to_it(&mut sim, a, b);
    assert_eq!(
        sim.nodes[a].core.shout("g", text("2")).unwrap(),
        0,
        "b is not in a's table"
    );
    sim.settle();
    sim.run_for(secs(10));
    assert_eq!(sim.count(b, "SHOUT"), 1, "b never got \"2\"");
    assert_eq!(
        sim.count(b, "EXIT"),
        1,
        "b must be told that a dropped it (a SHOUT was lost): {:?}",
        sim.nodes[b].events
    );
    assert_eq!(sim.count(b, "ENTER"), 2, "{:?}", sim.nodes[b].events);
    assert!(
        sim.nodes[b].core.peers_by_group("g").contains(&a_uuid),
        "a is in g again at b"
    );
    // Once: no back and forth.
    sim.clear_events();
    sim.run_for(secs(60));
    for n in [a, b] {
        assert_eq!(
            sim.count(n, "EXIT") + sim.count(n, "ENTER"),
            0,
            "node {n}: {:?}",
            sim.nodes[n].events
        );
    }
}

/// The other side of the rule above: a peer that shares no group with us
/// and never SHOUTed or WHISPERed either way, only PINGed (idle peers do,
/// every evasive period), loses nothing the application could see when it
/// drops us and greets us again: no EXIT (a crowd of 128 idle nodes under
/// load got EXIT and ENTER pairs of live peers when every such HELLO
/// counted as a restart).
#[test]
fn an_idle_peer_that_dropped_us_and_greets_us_again_is_no_exit() {
    // Past the evasive timeout: PINGs have gone both ways.
    b_keeps_a_after_a_one_sided_drop(secs(12));
}

// ----- beacons from a LAN we do not serve (issue 13, fault 2) -------------

#[test]
fn beacons_from_outside_the_served_subnet_are_ignored() {
    let mut sim = Sim::new();
    let mut config = Sim::config(uuid_of(0), "a", "10.0.0.1".parse().unwrap(), 41000);
    config.beacon_subnet = Some(zre::core::Subnet::new("10.0.0.1".parse().unwrap(), 24));
    let a = sim.add_with(config);
    let now = sim.now;
    // A LAN on another interface (or another subnet on this one): its
    // peers could not reach the endpoint we advertise.
    for n in 0..50u128 {
        let far = zre::wire::Beacon::new(Uuid::from_u128(0xF00 + n), 41000).to_bytes();
        sim.nodes[a]
            .core
            .handle_beacon(now, "10.0.1.2".parse().unwrap(), &far);
    }
    assert_eq!(sim.nodes[a].core.pending_peer_count(), 0);
    assert!(sim.nodes[a].core.poll_action().is_none());
    let near = zre::wire::Beacon::new(Uuid::from_u128(0xBEE), 41000).to_bytes();
    sim.nodes[a]
        .core
        .handle_beacon(now, "10.0.0.2".parse().unwrap(), &near);
    assert_eq!(sim.nodes[a].core.pending_peer_count(), 1);
}

// ----- fast EXIT: a refused reconnect (issue 17) ---------------------------

fn exits_of(sim: &Sim, node: usize) -> Vec<Option<Uuid>> {
    sim.events(node, "EXIT").iter().map(|e| e.peer()).collect()
}

#[test]
fn a_crashed_peer_exits_at_once_after_its_last_message() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let b = sim.add("b");
    let c = sim.add("c");
    sim.run_for(secs(2));
    let (a_uuid, c_uuid) = (sim.uuid(a), sim.uuid(c));
    sim.nodes[c].core.whisper(a_uuid, text("last words")).unwrap();
    sim.settle();
    let crashed_at = sim.elapsed();
    sim.crash(c);
    sim.settle();
    assert_eq!(sim.elapsed(), crashed_at, "no time passed");
    assert_eq!(exits_of(&sim, a), vec![Some(c_uuid)]);
    assert_eq!(exits_of(&sim, b), vec![Some(c_uuid)]);
    // Its data came first, then the EXIT.
    let kinds: Vec<&str> = sim.nodes[a].events.iter().map(|e| e.kind()).collect();
    let whisper = kinds.iter().position(|k| *k == "WHISPER").unwrap();
    let exit = kinds.iter().position(|k| *k == "EXIT").unwrap();
    assert!(whisper < exit, "{kinds:?}");
    // The others stay: their ports answered nobody, nothing else changed.
    assert_eq!(sim.nodes[a].core.peers(), vec![sim.uuid(b)]);
    sim.run_for(secs(40));
    assert_eq!(sim.count(a, "EXIT"), 1);
    assert_eq!(sim.count(b, "EXIT"), 1);
}

#[test]
fn a_lost_link_whose_port_answers_or_is_unreachable_keeps_the_timers() {
    for unreachable in [false, true] {
        let mut sim = Sim::new();
        let a = sim.add("a");
        let b = sim.add("b");
        sim.run_for(secs(2));
        let a_uuid = sim.uuid(a);
        sim.nodes[b].core.whisper(a_uuid, text("last words")).unwrap();
        sim.settle();
        let b_ip = sim.nodes[b].ip;
        // Stopped (its port still accepts) or cut off (nothing answers).
        if unreachable {
            sim.isolated.insert(b);
        } else {
            sim.kill(b);
        }
        let lost_at = sim.elapsed();
        let now = sim.now;
        sim.nodes[a].core.handle_link_lost(now, b_ip);
        sim.settle();
        assert_eq!(sim.count(a, "EXIT"), 0);
        sim.run_until(lost_at + secs(7));
        assert_eq!(sim.count(a, "EVASIVE"), 1, "unreachable: {unreachable}");
        assert_eq!(sim.count(a, "SILENT"), 1);
        // A second loss is probed again, and answered the same way.
        let now = sim.now;
        sim.nodes[a].core.handle_link_lost(now, b_ip);
        sim.settle();
        sim.run_until(lost_at + secs(28));
        assert_eq!(sim.count(a, "EXIT"), 0, "unreachable: {unreachable}");
        sim.run_until(lost_at + secs(32));
        assert_eq!(sim.count(a, "EXIT"), 1, "unreachable: {unreachable}");
    }
}

/// A peer whose process ended while its closed connection went unseen (a
/// race of the live tests under load: the probe met the dying listener)
/// is probed again when it turns evasive, and its refusing port is its
/// EXIT then, not 30 s later when it would expire.
#[test]
fn a_dead_peer_missed_at_its_close_exits_when_it_turns_evasive() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let b = sim.add("b");
    sim.run_for(secs(2));
    let b_uuid = sim.uuid(b);
    // Gone, its port refusing, but no link-lost report reaches a.
    sim.nodes[b].alive = false;
    sim.gone.insert(b);
    sim.run_for(secs(1));
    assert_eq!(exits_of(&sim, a), vec![], "no EXIT without a probe");
    // Evasive 5 s after b's last message, then one probe, refused.
    sim.run_for(secs(6));
    assert_eq!(
        exits_of(&sim, a),
        vec![Some(b_uuid)],
        "EXIT when evasive, not at expiry (30 s)"
    );
}

#[test]
fn with_fast_exit_off_a_crashed_peer_expires_on_the_timers() {
    let mut sim = Sim::new();
    let mut config = Sim::config(uuid_of(0), "a", IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 41000);
    config.fast_exit = false;
    let a = sim.add_with(config);
    let b = sim.add("b");
    sim.run_for(secs(2));
    let a_uuid = sim.uuid(a);
    sim.nodes[b].core.whisper(a_uuid, text("last words")).unwrap();
    sim.settle();
    let crashed_at = sim.elapsed();
    sim.crash(b);
    sim.settle();
    assert!(sim.probes.is_empty(), "no probe with fast EXIT off");
    sim.run_until(crashed_at + secs(28));
    assert_eq!(sim.count(a, "EXIT"), 0);
    sim.run_until(crashed_at + secs(32));
    assert_eq!(sim.count(a, "EXIT"), 1);
}

#[test]
fn a_leaving_peer_exits_when_its_port_refuses_and_never_after_its_grace() {
    for crashes in [true, false] {
        let mut sim = Sim::new();
        let a = sim.add("a");
        let b = sim.add("b");
        sim.run_for(Duration::from_millis(2300));
        let leaving = zre::wire::Beacon::new(sim.uuid(b), 0).to_bytes();
        let (now, ip) = (sim.now, sim.nodes[b].ip);
        sim.nodes[a].core.handle_beacon(now, ip, &leaving);
        // It reads us no more (as Zyre, pyre and we stop): our PING, which
        // checks the claim, goes unanswered.
        sim.kill(b);
        sim.run_for(Duration::from_millis(100));
        assert_eq!(sim.count(a, "EXIT"), 0, "its data may still be coming");
        if crashes {
            // It closes its links after its data: its port refuses.
            sim.crash(b);
            sim.settle();
            assert_eq!(sim.count(a, "EXIT"), 1, "at once");
        } else {
            // It hangs: the grace of 1 s, to the millisecond, not the next tick.
            sim.run_for(Duration::from_millis(899));
            assert_eq!(sim.count(a, "EXIT"), 0);
            sim.run_for(Duration::from_millis(2));
            assert_eq!(sim.count(a, "EXIT"), 1);
        }
    }
}

/// A port-0 beacon proves nothing about its sender: anyone on the LAN can
/// send one with a live peer's UUID, from its own address or forging the
/// peer's, or replay one. One such beacon made an idle live peer EXIT and
/// re-ENTER everywhere; one a second made it flap for as long as it came.
/// The claim brings a PING, which a live peer answers: it stays, both
/// ways, however often the claim comes, and one that really stops still
/// goes at the end of its grace (the tests above).
#[test]
fn a_forged_leaving_beacon_evicts_no_live_peer() {
    let stranger: IpAddr = Ipv4Addr::new(10, 0, 0, 99).into();
    for (from_peer, claims) in [(false, 1), (true, 1), (false, 40), (true, 40)] {
        let case = format!("from the peer's address: {from_peer}, claims: {claims}");
        let mut sim = Sim::new();
        let a = sim.add("a");
        let b = sim.add("b");
        sim.run_for(secs(2));
        let (ua, ub) = (sim.uuid(a), sim.uuid(b));
        let forged = zre::wire::Beacon::new(ub, 0).to_bytes();
        let from = if from_peer { sim.nodes[b].ip } else { stranger };
        // Every 250 ms for 10 s, and then idle past the evasive timeout:
        // b sends nothing of its own all along.
        for _ in 0..claims {
            let now = sim.now;
            sim.nodes[a].core.handle_beacon(now, from, &forged);
            sim.run_for(Duration::from_millis(250));
        }
        sim.run_for(secs(8));
        for (at, of) in [(a, ub), (b, ua)] {
            let kinds = sim.kinds_about(at, of);
            assert_eq!(kinds, ["ENTER"], "{case}: node {at}'s events of its peer");
        }
        sim.nodes[a].core.whisper(ub, text("to b")).unwrap();
        sim.nodes[b].core.whisper(ua, text("to a")).unwrap();
        sim.settle();
        assert_eq!(
            (sim.count(a, "WHISPER"), sim.count(b, "WHISPER")),
            (1, 1),
            "{case}"
        );
    }
}

/// A live peer can be slow to answer the claim's PING: its application
/// takes no events, so its inbox waits unread (back-pressure; a reader
/// behind a full pipe, a Python program that does not call recv), or it
/// reads what we sent before the PING first. Its grace without an answer
/// brought its EXIT before (a user trial lost 98 000 of 200 000 whispers
/// to it); now its port is probed, greets, and the peer stays.
#[test]
fn a_forged_leaving_beacon_evicts_no_peer_that_is_slow_to_answer() {
    let stranger: IpAddr = Ipv4Addr::new(10, 0, 0, 99).into();
    let mut sim = Sim::new();
    let a = sim.add("a");
    let b = sim.add("b");
    sim.run_for(secs(2));
    let (ua, ub) = (sim.uuid(a), sim.uuid(b));
    sim.pause_reading(b, true);
    let forged = zre::wire::Beacon::new(ub, 0).to_bytes();
    for _ in 0..8 {
        let now = sim.now;
        sim.nodes[a].core.handle_beacon(now, stranger, &forged);
        sim.run_for(Duration::from_millis(250));
    }
    sim.run_for(secs(8));
    assert_eq!(sim.kinds_about(a, ub), ["ENTER"]);
    sim.pause_reading(b, false);
    sim.run_for(secs(2));
    assert_eq!(sim.kinds_about(a, ub), ["ENTER"]);
    assert_eq!(sim.count(b, "EXIT"), 0);
    sim.nodes[a].core.whisper(ub, text("to b")).unwrap();
    sim.nodes[b].core.whisper(ua, text("to a")).unwrap();
    sim.settle();
    assert_eq!((sim.count(a, "WHISPER"), sim.count(b, "WHISPER")), (1, 1));
}

/// A claim can come while the peer is still being met (its HELLO not yet
/// here): it is met all the same, once, and stays.
#[test]
fn a_forged_leaving_beacon_during_the_handshake_does_not_stop_the_meeting() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let b = sim.add("b");
    sim.beacons_blocked.insert(b);
    let ub = sim.uuid(b);
    let port: u16 = sim.nodes[b]
        .core
        .endpoint()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let (now, b_ip) = (sim.now, sim.nodes[b].ip);
    sim.nodes[a]
        .core
        .handle_beacon(now, b_ip, &zre::wire::Beacon::new(ub, port).to_bytes());
    let stranger: IpAddr = Ipv4Addr::new(10, 0, 0, 99).into();
    sim.nodes[a]
        .core
        .handle_beacon(now, stranger, &zre::wire::Beacon::new(ub, 0).to_bytes());
    sim.settle();
    sim.run_for(secs(10));
    assert_eq!(sim.kinds_about(a, ub), ["ENTER"]);
    assert_eq!(sim.count(b, "EXIT"), 0);
}

/// Nodes a (0) and b (1) met; then b crashed, and a's probe of its port
/// is held for the test to answer. Returns the sim, a, b's UUID and the
/// probe's number.
fn crashed_with_its_probe_held() -> (Sim, usize, Uuid, u64) {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let b = sim.add("b");
    sim.run_for(secs(2));
    let b_uuid = sim.uuid(b);
    sim.hold_probes = true;
    sim.crash(b);
    sim.settle();
    let (node, probed, _, probe) = sim.probes.pop_front().unwrap();
    assert_eq!((node, probed), (a, b_uuid));
    (sim, a, b_uuid, probe)
}

/// A process being torn down can close its connections before its
/// listening socket: a probe sent on the first close connects and hears
/// nothing (no greeting, no reset) while the port lingers. It is probed
/// again at the next tick, and that refusal is the EXIT, seconds before
/// the probe that follows SILENT (the namespace test
/// `a_killed_peer_of_ours_exits_at_once_not_at_expired` saw ~8 s, 2 in 213
/// runs under load).
#[test]
fn a_dying_peer_whose_port_lingers_silent_is_probed_again_and_exits() {
    let (mut sim, a, b_uuid, probe) = crashed_with_its_probe_held();
    // The I/O layer's probe lasts 2 s: connected, and nothing came.
    sim.run_for(secs(2));
    let now = sim.now;
    sim.nodes[a].core.handle_link_silent(now, b_uuid, probe);
    sim.hold_probes = false;
    sim.run_for(secs(2));
    assert_eq!(sim.count(a, "EXIT"), 1, "gone within 4 s of its end");
    assert_eq!(sim.count(a, "SILENT"), 0, "before its silence was judged");
    assert_eq!(sim.nodes[a].core.counters().exits_for(Removal::Unreachable), 1);
}

/// A stopped process's port is open and silent too: it is probed again a
/// few times, then left to its timers, and EXITs only when it expires.
#[test]
fn a_stopped_peer_is_probed_again_a_few_times_then_expires() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let b = sim.add("b");
    sim.run_for(secs(2));
    let b_uuid = sim.uuid(b);
    let before = sim.nodes[a].core.counters().probes;
    sim.kill(b);
    let now = sim.now;
    sim.nodes[a].core.handle_peer_link_lost(now, b_uuid);
    sim.run_for(secs(20));
    assert_eq!(sim.count(a, "EXIT"), 0, "a stopped peer stays until it expires");
    // The probe on the closed link, three more after it was silent, and
    // the one after SILENT (silent as well: no more after it).
    assert_eq!(sim.nodes[a].core.counters().probes - before, 5);
    sim.run_for(secs(15));
    assert_eq!(sim.count(a, "EXIT"), 1);
    assert_eq!(sim.nodes[a].core.counters().exits_for(Removal::Expired), 1);
    assert_eq!(sim.nodes[a].core.counters().probes - before, 5);
}

#[test]
fn a_late_refusal_never_removes_the_peer_that_took_the_endpoint_over() {
    let mut sim = Sim::new();
    let a1 = sim.add("a1");
    let b = sim.add("b");
    sim.run_for(secs(2));
    let a1_uuid = sim.uuid(a1);
    // a1 dies; b's probe of its port is slow to come back.
    sim.hold_probes = true;
    sim.crash(a1);
    sim.settle();
    assert_eq!(sim.probes.len(), 1);
    let (_, probed, _, probe) = sim.probes[0].clone();
    assert_eq!(probed, a1_uuid);
    // Meanwhile a2 starts on a1's endpoint under a new UUID.
    let config = Sim::config(Uuid::from_u128(0xA2), "a2", sim.nodes[a1].ip, 41000);
    let a2 = sim.add_with(config);
    sim.run_for(secs(2));
    let a2_uuid = sim.uuid(a2);
    let kinds: Vec<(&str, Option<Uuid>)> = sim.nodes[b]
        .events
        .iter()
        .filter(|e| matches!(e.kind(), "ENTER" | "EXIT"))
        .map(|e| (e.kind(), e.peer()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("ENTER", Some(a1_uuid)),
            ("EXIT", Some(a1_uuid)),
            ("ENTER", Some(a2_uuid))
        ]
    );
    // The refusal (a1's process was gone) finally arrives, for either UUID.
    let now = sim.now;
    sim.nodes[b].core.handle_link_refused(now, a1_uuid, probe);
    sim.nodes[b].core.handle_link_refused(now, a2_uuid, probe);
    sim.hold_probes = false;
    sim.run_for(secs(2));
    assert_eq!(sim.count(b, "EXIT"), 1);
    assert_eq!(sim.nodes[b].core.peers(), vec![a2_uuid]);
}

#[test]
fn a_late_refusal_never_removes_a_peer_restarted_with_the_same_uuid() {
    let (mut sim, a, b_uuid, probe) = crashed_with_its_probe_held();
    // b comes back with its UUID, on another port, and says HELLO.
    let config = Sim::config(b_uuid, "b", sim.nodes[1].ip, 41001);
    sim.add_with(config);
    sim.run_for(secs(2));
    assert_eq!(sim.count(a, "ENTER"), 2);
    let now = sim.now;
    sim.nodes[a].core.handle_link_refused(now, b_uuid, probe);
    sim.settle();
    assert_eq!(sim.nodes[a].core.peers(), vec![b_uuid]);
}

// ----- leader election (Zyre's echo-wave, ELECT/LEADER) -----------------------

const GROUP: &str = "g";

fn is_election(header: &[u8]) -> bool {
    // ZRE header: signature (2 bytes), message id, version.
    header.get(2).is_some_and(|&id| id == 8 || id == 9)
}

/// `n` nodes, all in GROUP before discovery; `contests(i)` says who
/// contests. Runs until every node has seen every other.
fn election_sim(n: usize, contests: impl Fn(usize) -> bool) -> Sim {
    let mut sim = Sim::new();
    for i in 0..n {
        let node = sim.add(&format!("e{i}"));
        if contests(i) {
            sim.nodes[node].core.contest(GROUP).unwrap();
        }
        sim.nodes[node].core.join(GROUP).unwrap();
    }
    sim
}

fn leader_events(sim: &Sim, node: usize) -> Vec<Uuid> {
    sim.events(node, "LEADER")
        .into_iter()
        .filter(|e| e.group() == Some(GROUP))
        .filter_map(|e| e.peer())
        .collect()
}

/// Every node in `members` agrees that `expected` leads GROUP: by
/// `leader()` and by its last LEADER event; no election is under way;
/// and for the next minute, membership unchanged, nobody reports another.
fn check_one_leader(sim: &mut Sim, members: &[usize], expected: usize) {
    let want = sim.uuid(expected);
    for &i in members {
        assert_eq!(
            sim.nodes[i].core.leader(GROUP),
            Some(want),
            "node {i}: leader() after {:?}",
            sim.elapsed()
        );
        assert_eq!(
            leader_events(sim, i).last(),
            Some(&want),
            "node {i}: last LEADER event"
        );
        assert!(!sim.nodes[i].core.election_in_progress(GROUP), "node {i}");
        let name = sim
            .events(i, "LEADER")
            .last()
            .and_then(|e| e.peer_name())
            .map(str::to_owned);
        assert_eq!(
            name.as_deref(),
            Some(&*format!("e{expected}")),
            "node {i}: the leader's name"
        );
    }
    sim.clear_events();
    sim.run_for(secs(60));
    for &i in members {
        assert_eq!(
            sim.count(i, "LEADER"),
            0,
            "node {i}: a LEADER with nothing changed"
        );
        assert_eq!(sim.nodes[i].core.leader(GROUP), Some(want), "node {i}");
    }
}

#[test]
fn all_contesting_2_5_and_50_nodes_elect_the_smallest_uuid() {
    for n in [2, 5, 50] {
        let mut sim = election_sim(n, |_| true);
        sim.run_for(secs(3));
        let all: Vec<usize> = (0..n).collect();
        // uuid_of(i) grows with i: node 0 has the smallest UUID.
        check_one_leader(&mut sim, &all, 0);
    }
}

#[test]
fn mixed_groups_elect_the_smallest_contester_and_plain_members_agree() {
    for n in [2, 5, 50] {
        // Only the upper half contests (and at 2 nodes, only node 1).
        let mut sim = election_sim(n, |i| i >= n / 2);
        sim.run_for(secs(3));
        let all: Vec<usize> = (0..n).collect();
        check_one_leader(&mut sim, &all, n / 2);
    }
}

#[test]
fn without_a_contester_no_elect_or_leader_is_ever_sent() {
    let mut sim = election_sim(5, |_| false);
    let seen = std::rc::Rc::new(std::cell::Cell::new(0));
    let counter = seen.clone();
    sim.loss = Some(Box::new(move |p: &Packet| {
        if is_election(&p.header) {
            counter.set(counter.get() + 1);
        }
        false
    }));
    sim.run_for(secs(5));
    sim.nodes[3].core.leave(GROUP).unwrap();
    sim.run_for(secs(5));
    assert_eq!(seen.get(), 0);
    for i in 0..5 {
        assert_eq!(sim.count(i, "LEADER"), 0);
        assert_eq!(sim.nodes[i].core.leader(GROUP), None);
    }
}

#[test]
fn elections_complete_despite_reordered_messages() {
    // SEEDS=k adds k more runs with other seeds and sizes (a soak).
    let extra: u64 = std::env::var("SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut runs = vec![(0x9E37_79B9_7F4A_7C15u64, 5), (0xD1B5_4A32_D192_ED03, 20)];
    runs.extend((1..=extra).map(|k| (k.wrapping_mul(0x9E37_79B9_7F4A_7C15), 5 + (k as usize % 12))));
    for (seed, n) in runs {
        // All contesting, then mixed.
        for contests in [&(|_| true) as &dyn Fn(usize) -> bool, &|i| i % 3 == 2] {
            let mut sim = election_sim(n, contests);
            sim.reorder = Some(seed);
            sim.run_for(secs(3));
            // Races with membership changes may stall a wave for a while.
            sim.run_for(secs(20));
            let all: Vec<usize> = (0..n).collect();
            let expected = (0..n).find(|&i| contests(i)).unwrap();
            check_one_leader(&mut sim, &all, expected);
        }
    }
}

/// A peer says HELLO again while both sides are met and talking (its
/// group is contested: every ENTER sets off an ELECT, so traffic follows
/// each HELLO). At most one restart, then quiet. Before, the answer to a
/// restart's HELLO was taken for a restart in turn whenever anything had
/// been sent since, and the two restarted each other for ever (the chaos
/// schedules' storm, 1 984 ENTERs in 45 s).
#[test]
fn a_hello_again_under_traffic_restarts_at_most_once() {
    let mut sim = election_sim(2, |_| true);
    let tapped = std::rc::Rc::new(std::cell::RefCell::new(None::<Vec<u8>>));
    let tap = tapped.clone();
    sim.loss = Some(Box::new(move |p: &Packet| {
        let hello = p.header.get(2) == Some(&(zre::wire::MessageId::Hello as u8));
        if p.from == 1 && p.to == 0 && hello && tap.borrow().is_none() {
            *tap.borrow_mut() = Some(p.header.clone());
        }
        false
    }));
    sim.run_for(secs(3));
    let hello = tapped.borrow().clone().expect("node 1's HELLO went out");
    let (u0, u1) = (sim.uuid(0), sim.uuid(1));
    inject(&mut sim, u1, 0, hello);
    sim.run_for(secs(10));
    for (node, peer) in [(0, u1), (1, u0)] {
        assert!(
            sim.count(node, "EXIT") <= 1,
            "node {node}: {:?}",
            sim.nodes[node].events
        );
        assert!(sim.nodes[node].core.peers().contains(&peer));
    }
    check_one_leader(&mut sim, &[0, 1], 0);
}

#[test]
fn elections_complete_despite_lost_messages() {
    let n = 5;
    let mut sim = election_sim(n, |_| true);
    // Lose every 4th ELECT or LEADER for the first few seconds: each loss
    // is a sequence gap, so the receiver resets that peer (EXIT), which
    // comes back with its next beacon (ENTER, JOIN): a re-election.
    let lost = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let (counter, mut seen) = (lost.clone(), 0usize);
    sim.loss = Some(Box::new(move |p: &Packet| {
        if !is_election(&p.header) || counter.get() >= 6 {
            return false;
        }
        seen += 1;
        if seen % 4 == 0 {
            counter.set(counter.get() + 1);
            return true;
        }
        false
    }));
    sim.run_for(secs(3));
    sim.run_for(secs(20));
    assert!(lost.get() > 0, "the test must lose something");
    let exits: usize = (0..n).map(|i| sim.count(i, "EXIT")).sum();
    assert!(exits > 0, "a loss resets a peer");
    let all: Vec<usize> = (0..n).collect();
    check_one_leader(&mut sim, &all, 0);
}

#[test]
fn joins_and_leaves_during_an_election_restart_it() {
    let n = 8;
    // Nodes 1..=7 contest; node 0 stays out of the group for now.
    let mut sim = Sim::new();
    for i in 0..n {
        let node = sim.add(&format!("e{i}"));
        if i > 0 {
            sim.nodes[node].core.contest(GROUP).unwrap();
        }
        if i > 1 {
            sim.nodes[node].core.join(GROUP).unwrap();
        }
    }
    sim.run_for(secs(3));
    check_one_leader(&mut sim, &(2..n).collect::<Vec<_>>(), 2);
    // Node 1 (the smallest contester) joins: an election starts. Mid-way
    // node 4 leaves and node 0 (plain member) joins.
    sim.reorder = Some(0x2545_F491_4F6C_DD1D);
    sim.nodes[1].core.join(GROUP).unwrap();
    for step in 0..6 {
        // One round of traffic at a time.
        for i in 0..n {
            while let Some(action) = sim.nodes[i].core.poll_action() {
                sim.apply(i, action);
            }
        }
        if let Some(packet) = sim.in_flight.pop_front() {
            sim.deliver(packet);
        }
        if step == 2 {
            sim.nodes[4].core.leave(GROUP).unwrap();
        }
        if step == 4 {
            sim.nodes[0].core.join(GROUP).unwrap();
        }
    }
    assert!(
        (0..n).any(|i| sim.nodes[i].core.election_in_progress(GROUP)),
        "the changes came during the election"
    );
    sim.run_for(secs(20));
    let members: Vec<usize> = (0..n).filter(|&i| i != 4).collect();
    check_one_leader(&mut sim, &members, 1);
    assert_eq!(sim.nodes[4].core.leader(GROUP), None, "it left the group");
}

#[test]
fn the_leader_leaving_stopping_or_dying_brings_a_new_leader_everywhere() {
    let n = 5;
    let mut sim = election_sim(n, |_| true);
    sim.run_for(secs(3));
    check_one_leader(&mut sim, &(0..n).collect::<Vec<_>>(), 0);
    // Leaves the group: at once.
    sim.nodes[0].core.leave(GROUP).unwrap();
    sim.settle();
    check_one_leader(&mut sim, &(1..n).collect::<Vec<_>>(), 1);
    // Stops (its port-0 beacon): a second later, once no data of its can
    // still be on the way.
    sim.nodes[1].core.stop();
    sim.run_for(secs(2));
    check_one_leader(&mut sim, &(2..n).collect::<Vec<_>>(), 2);
    // Dies: when it expires (30 s), then a new leader.
    sim.kill(2);
    sim.run_for(secs(31));
    let rest: Vec<usize> = (3..n).collect();
    for &i in &rest {
        assert_eq!(sim.count(i, "EXIT"), 1);
    }
    check_one_leader(&mut sim, &rest, 3);
}

/// A peer in as many groups as we track (`max_peer_groups`) says HELLO:
/// its ENTER and every JOIN wait for its PING-OK, and the bound on what
/// a peer may say before it (against a flood from a peer we cannot
/// reach) leaves room for them all.
#[test]
fn a_peer_in_the_most_groups_is_entered_with_all_its_joins() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let most = Sim::config(uuid_of(9), "x", IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)), 1).max_peer_groups;
    let names: Vec<String> = (0..most).map(|i| format!("g{i}")).collect();
    let fake = Uuid::from_u128(0x6A0);
    let hello = ZreMessage::new(
        1,
        Body::Hello(Box::new(zre::wire::Hello {
            endpoint: "tcp://10.7.7.7:5006",
            groups: names.iter().map(String::as_str).collect(),
            status: 1,
            name: "member",
            headers: vec![],
        })),
    )
    .to_bytes()
    .unwrap();
    inject(&mut sim, fake, a, hello);
    answer_ping(&mut sim, fake, a, 2);
    assert_eq!(sim.count(a, "ENTER"), 1);
    assert_eq!(sim.count(a, "JOIN"), most);
    assert_eq!(sim.count(a, "EXIT"), 0);
    assert_eq!(sim.nodes[a].core.peers(), vec![fake]);
}

/// What a peer says before we know our link reaches it is held for it,
/// so a peer that never answers our PING (a bogus endpoint) could make us
/// hold whatever it sends: 256 WHISPERs of the largest message each. What
/// is held is bounded in bytes, one largest message per peer and two in
/// all; a peer beyond is removed (it never had its ENTER, so no EXIT),
/// and a genuine newcomer is entered after it.
#[test]
fn what_a_peer_says_before_its_ping_ok_is_bounded_in_bytes() {
    let mut sim = Sim::new();
    let mut config = Sim::config(uuid_of(0), "a", IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 41000);
    config.max_message_size = 100_000;
    let a = sim.add_with(config);
    let talk = |sim: &mut Sim, fake: Uuid, sequence: u16, bytes: usize| {
        let identity = peer_identity(&fake);
        let header = ZreMessage::new(sequence, Body::Whisper).to_bytes().unwrap();
        let now = sim.now;
        sim.nodes[a]
            .core
            .handle_message(now, &identity, &header, vec![Frame::from(vec![7u8; bytes])]);
        sim.settle();
    };
    // One peer: 30 000 bytes at a time; the fourth is one too many.
    let one = Uuid::from_u128(0xB16);
    inject(&mut sim, one, a, hello_from(one, 5007, "one"));
    for sequence in 2..=4 {
        talk(&mut sim, one, sequence, 30_000);
    }
    assert_eq!(sim.nodes[a].core.counters().exits_for(Removal::Unproven), 0);
    talk(&mut sim, one, 5, 30_000);
    assert_eq!(sim.nodes[a].core.counters().exits_for(Removal::Unproven), 1);
    // Three peers under the bound each: the third goes over the total.
    for (i, fake) in [0xB17u128, 0xB18, 0xB19].into_iter().enumerate() {
        let fake = Uuid::from_u128(fake);
        inject(&mut sim, fake, a, hello_from(fake, 5008 + i as u16, "many"));
        talk(&mut sim, fake, 2, 90_000);
    }
    assert_eq!(sim.nodes[a].core.counters().exits_for(Removal::Unproven), 2);
    assert!(sim.nodes[a].events.is_empty(), "{:?}", sim.nodes[a].events);
    // A genuine newcomer that answers is entered with what it said.
    let genuine = Uuid::from_u128(0x6E);
    inject(&mut sim, genuine, a, hello_from(genuine, 5011, "genuine"));
    talk(&mut sim, genuine, 2, 1_000);
    answer_ping(&mut sim, genuine, a, 3);
    assert_eq!(sim.count(a, "ENTER"), 1);
    assert_eq!(sim.count(a, "WHISPER"), 1);
    assert_eq!(sim.count(a, "EXIT"), 0);
}

/// Zyre ENTERs us on our HELLO and its application may send at once (its
/// perf_remote does): thousands of messages can come before its PING-OK,
/// a round trip after its HELLO. They are held and delivered after its
/// ENTER, all of them; what bounds holding is memory, not a count.
#[test]
fn a_peer_that_sends_at_once_is_entered_with_everything_it_sent() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let zyre = Uuid::from_u128(0x2E);
    inject(&mut sim, zyre, a, hello_from(zyre, 5013, "zyre"));
    let identity = peer_identity(&zyre);
    let now = sim.now;
    for sequence in 2..=5001u16 {
        let whisper = ZreMessage::new(sequence, Body::Whisper).to_bytes().unwrap();
        sim.nodes[a]
            .core
            .handle_message(now, &identity, &whisper, text(&sequence.to_string()));
    }
    sim.settle();
    assert_eq!(sim.count(a, "WHISPER"), 0, "held until its ENTER");
    answer_ping(&mut sim, zyre, a, 5002);
    assert_eq!(sim.count(a, "ENTER"), 1);
    let got: Vec<u16> = sim
        .events(a, "WHISPER")
        .iter()
        .map(|e| match e {
            Event::Whisper { content, .. } => String::from_utf8_lossy(content[0].as_slice()).parse().unwrap(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(got, (2..=5001).collect::<Vec<u16>>());
}

/// A peer whose ENTER waits for its PING-OK is in no group the queries
/// show: the application meets it in `peers_by_group` and `peer_groups`
/// only after its ENTER, as in `peers`.
#[test]
fn a_peer_waiting_for_its_proof_is_in_no_group_yet() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let fake = Uuid::from_u128(0x6A1);
    inject(&mut sim, fake, a, hello_from(fake, 5012, "waiting"));
    let core = &sim.nodes[a].core;
    assert!(core.peers_by_group("g").is_empty());
    assert!(core.peer_groups().is_empty());
    answer_ping(&mut sim, fake, a, 2);
    let core = &sim.nodes[a].core;
    assert_eq!(core.peers_by_group("g"), vec![fake]);
    assert_eq!(core.peer_groups(), vec!["g"]);
}

/// A wave can name a peer whose ENTER still waits for its PING-OK, and
/// the message that completes it can come from another member: the
/// leader's LEADER event still comes after its ENTER, never before.
#[test]
fn a_leader_is_announced_after_its_enter() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    sim.nodes[a].core.join(GROUP).unwrap();
    let (x, y) = (Uuid::from_u128(0xF), Uuid::from_u128(0xC));
    let y_id = y.simple().to_string().to_uppercase();
    // y's ENTER waits; x's came.
    inject(&mut sim, y, a, hello_from(y, 5004, "y"));
    inject(&mut sim, x, a, hello_from(x, 5005, "x"));
    answer_ping(&mut sim, x, a, 2);
    let elect = |sequence| {
        ZreMessage::new(
            sequence,
            Body::Elect {
                group: GROUP,
                challenger: &y_id,
            },
        )
        .to_bytes()
        .unwrap()
    };
    let leader = |sequence| {
        ZreMessage::new(
            sequence,
            Body::Leader {
                group: GROUP,
                leader: &y_id,
            },
        )
        .to_bytes()
        .unwrap()
    };
    inject(&mut sim, y, a, elect(2));
    inject(&mut sim, x, a, elect(3));
    inject(&mut sim, y, a, leader(3));
    // x's LEADER completes the election.
    inject(&mut sim, x, a, leader(4));
    assert_eq!(sim.nodes[a].core.leader(GROUP), Some(y), "elected");
    assert_eq!(sim.count(a, "LEADER"), 0, "not before y's ENTER");
    answer_ping(&mut sim, y, a, 4);
    let of_y: Vec<&str> = sim.nodes[a]
        .events
        .iter()
        .filter(|e| e.peer() == Some(y))
        .map(|e| e.kind())
        .collect();
    assert_eq!(of_y, ["ENTER", "JOIN", "LEADER"]);
}

#[test]
fn bad_elect_and_leader_are_ignored_without_a_reset() {
    let mut sim = election_sim(2, |_| true);
    sim.run_for(secs(3));
    check_one_leader(&mut sim, &[0, 1], 0);
    let a = 1;
    let fake = Uuid::from_u128(0xFA4E);
    inject(&mut sim, fake, a, hello_from(fake, 5000, "fake"));
    answer_ping(&mut sim, fake, a, 2);
    assert_eq!(sim.count(a, "ENTER"), 1);
    let zyre_id = |u: Uuid| u.simple().to_string().to_uppercase();
    let stranger = zyre_id(Uuid::from_u128(0x5757));
    let bad = [
        // A group we are not in.
        Body::Elect {
            group: "other",
            challenger: "00000000000000000000000000000001",
        },
        // From a peer not in the group.
        Body::Elect {
            group: GROUP,
            challenger: &stranger,
        },
        Body::Leader {
            group: GROUP,
            leader: &stranger,
        },
    ];
    let mut sequence = 3;
    for body in bad {
        inject(
            &mut sim,
            fake,
            a,
            ZreMessage::new(sequence, body).to_bytes().unwrap(),
        );
        sequence += 1;
    }
    // Now in the group: an unknown UUID, garbage, and LEADER out of order.
    // (Its JOIN restarts the election, as in Zyre; it never answers.)
    let join = Body::Join {
        group: GROUP,
        status: 2,
    };
    inject(
        &mut sim,
        fake,
        a,
        ZreMessage::new(sequence, join).to_bytes().unwrap(),
    );
    sequence += 1;
    let fake_id = zyre_id(fake);
    let us = zyre_id(sim.uuid(a));
    for body in [
        Body::Elect {
            group: GROUP,
            challenger: &stranger,
        },
        Body::Elect {
            group: GROUP,
            challenger: "not a uuid",
        },
        Body::Leader {
            group: GROUP,
            leader: &fake_id,
        },
        Body::Leader {
            group: GROUP,
            leader: &us,
        },
    ] {
        inject(
            &mut sim,
            fake,
            a,
            ZreMessage::new(sequence, body).to_bytes().unwrap(),
        );
        sequence += 1;
    }
    assert_eq!(sim.count(a, "EXIT"), 0, "never a reset");
    assert_eq!(sim.count(a, "LEADER"), 0, "no new result from bad input");
    // The real members carry on: the fake one goes (it expires: never
    // answering), then the two agree again.
    sim.run_for(secs(40));
    assert_eq!(sim.nodes[a].core.peers(), vec![sim.uuid(0)]);
    assert_eq!(sim.nodes[0].core.leader(GROUP), Some(sim.uuid(0)));
    assert_eq!(sim.nodes[a].core.leader(GROUP), Some(sim.uuid(0)));
}

impl Sim {
    /// Hands every queued action of every node to the network, without
    /// delivering anything.
    fn poll_all(&mut self) {
        for i in 0..self.nodes.len() {
            while let Some(action) = self.nodes[i].core.poll_action() {
                self.apply(i, action);
            }
        }
    }

    /// Delivers what is in flight from `from` to `to` (in order), and
    /// nothing else.
    fn deliver_link(&mut self, from: usize, to: usize) {
        self.poll_all();
        let (on_link, rest): (VecDeque<Packet>, VecDeque<Packet>) = std::mem::take(&mut self.in_flight)
            .into_iter()
            .partition(|p| p.from == from && p.to == to);
        self.in_flight = rest;
        for packet in on_link {
            self.deliver(packet);
        }
        self.poll_all();
    }
}

#[test]
fn a_wave_forwarded_before_the_join_that_started_it_does_not_stall() {
    // Nodes 0..4 have elected node 0; node 4 (the largest UUID) joins.
    // Its JOIN reaches the leader first, the leader's new ELECT reaches
    // node 1, and node 1's forward reaches node 2, all before node 4's
    // JOIN does: node 2 still sees the old election settled. That forward
    // is the only ELECT(0) node 1 sends node 2 in the new wave: node 2
    // must count it once the JOIN arrives, or it waits for it until the
    // leader re-sends its wave (3 s).
    let n = 5;
    let mut sim = Sim::new();
    for i in 0..n {
        let node = sim.add(&format!("e{i}"));
        sim.nodes[node].core.contest(GROUP).unwrap();
        if i < n - 1 {
            sim.nodes[node].core.join(GROUP).unwrap();
        }
    }
    sim.run_for(secs(10));
    check_one_leader(&mut sim, &(0..n - 1).collect::<Vec<_>>(), 0);
    let joiner = n - 1;
    sim.nodes[joiner].core.join(GROUP).unwrap();
    sim.deliver_link(joiner, 0);
    sim.deliver_link(0, 1);
    sim.deliver_link(1, 2);
    sim.settle();
    for i in 0..n {
        assert!(
            !sim.nodes[i].core.election_in_progress(GROUP),
            "node {i}: the wave stalled"
        );
        assert_eq!(
            leader_events(&sim, i).last(),
            Some(&sim.uuid(0)),
            "node {i}: LEADER without waiting for a re-sent wave"
        );
    }
    check_one_leader(&mut sim, &(0..n).collect::<Vec<_>>(), 0);
}

/// Election cost for N = 2 … 32 (printed; BENCHMARKS.md has the table):
/// a group of N-1 members has elected its leader; the smallest contester
/// joins. Hops = rounds of network traffic until quiet (times the LAN's
/// one-way latency gives the time), messages = ELECT + LEADER sent. Also
/// the messages of a cold start (all join before discovery).
#[test]
fn election_cost_for_2_to_32_nodes() {
    println!("election after a join: N, hops, ELECT+LEADER messages; ELECT+LEADER of a cold start");
    for n in [2usize, 4, 8, 16, 32] {
        // Cold start: everyone joins and contests before discovery, so
        // each HELLO is a join (the sim has no latency: all at t = 0).
        let mut cold = election_sim(n, |_| true);
        let cold_count = std::rc::Rc::new(std::cell::Cell::new(0usize));
        let counter = cold_count.clone();
        cold.loss = Some(Box::new(move |p: &Packet| {
            if is_election(&p.header) {
                counter.set(counter.get() + 1);
            }
            false
        }));
        cold.run_until(Duration::ZERO);
        check_one_leader(&mut cold, &(0..n).collect::<Vec<_>>(), 0);
        // Warm: N-1 members have a leader; the node with the smallest
        // UUID joins last.
        let mut sim = Sim::new();
        for i in 0..n {
            let node = sim.add(&format!("e{i}"));
            sim.nodes[node].core.contest(GROUP).unwrap();
            if i > 0 {
                sim.nodes[node].core.join(GROUP).unwrap();
            }
        }
        sim.run_for(secs(3));
        let count = std::rc::Rc::new(std::cell::Cell::new(0usize));
        let counter = count.clone();
        sim.loss = Some(Box::new(move |p: &Packet| {
            if is_election(&p.header) {
                counter.set(counter.get() + 1);
            }
            false
        }));
        let rounds = sim.rounds;
        sim.nodes[0].core.join(GROUP).unwrap();
        sim.settle();
        let hops = sim.rounds - rounds;
        check_one_leader(&mut sim, &(0..n).collect::<Vec<_>>(), 0);
        println!(
            "N={n:2}: {hops} hops (JOIN included), {} messages; cold start {} messages",
            count.get(),
            cold_count.get()
        );
        assert!(hops <= 8, "the echo-wave is a constant number of hops deep");
    }
}

// ----- CURVE mode (Zyre 2.0.1's, zyre_node.c) ------------------------------

/// A test public key: 32 bytes that are no point of small order.
fn curve_key(n: u8) -> [u8; 32] {
    std::array::from_fn(|i| n.wrapping_mul(31).wrapping_add(i as u8) | 0x40)
}

impl Sim {
    /// A node in CURVE mode with `curve_key(index)`.
    fn add_curve(&mut self, name: &str) -> usize {
        let index = self.nodes.len();
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, index as u8 + 1));
        let mut config = Self::config(uuid_of(index as u128), name, ip, 41000);
        config.curve_public_key = Some(curve_key(index as u8));
        self.add_with(config)
    }

    /// The CURVE server keys `node` connected with, in order, for `peer`.
    fn connect_keys(&self, node: usize, peer: Uuid) -> Vec<Option<[u8; 32]>> {
        self.connects
            .iter()
            .filter(|(from, to, _)| *from == node && *to == peer)
            .map(|(_, _, key)| *key)
            .collect()
    }
}

fn z85(key: &[u8; 32]) -> String {
    zre::wire::curve_key::encode_z85(key)
}

#[test]
fn curve_nodes_meet_by_v3_beacons_and_connect_with_the_beacons_key() {
    let mut sim = Sim::new();
    let a = sim.add_curve("a");
    let b = sim.add_curve("b");
    let c = sim.add_curve("c");
    sim.run_for(secs(2));
    for node in [a, b, c] {
        assert_eq!(sim.count(node, "ENTER"), 2, "{:?}", sim.nodes[node].events);
    }
    // Each DEALER used its peer's key as CURVE server key, once.
    let (ua, ub) = (sim.uuid(a), sim.uuid(b));
    assert_eq!(sim.connect_keys(a, ub), vec![Some(curve_key(b as u8))]);
    assert_eq!(sim.connect_keys(b, ua), vec![Some(curve_key(a as u8))]);
    assert_eq!(sim.nodes[a].core.peer_curve_key(ub), Some(curve_key(b as u8)));
    // Our HELLO carries the key in Z85 as X-PUBLICKEY, beside our headers.
    let key_b = z85(&curve_key(b as u8));
    assert_eq!(
        sim.nodes[a].core.peer_header_value(ub, "X-PUBLICKEY"),
        Some(key_b.as_str())
    );
    assert_eq!(sim.nodes[a].core.peer_header_value(ub, "X-HELLO"), Some("from b"));
    sim.nodes[a].core.join("g").unwrap();
    sim.nodes[b].core.join("g").unwrap();
    sim.settle();
    sim.nodes[a].core.shout("g", text("secret")).unwrap();
    sim.nodes[b].core.whisper(ua, text("psst")).unwrap();
    sim.settle();
    assert_eq!(sim.count(b, "SHOUT"), 1);
    assert_eq!(sim.count(a, "WHISPER"), 1);
}

#[test]
fn curve_beacons_are_version_3_with_our_key_and_so_is_the_leaving_one() {
    let mut sim = Sim::new();
    let a = sim.add_curve("a");
    let now = sim.now;
    let core = &mut sim.nodes[a].core;
    core.handle_timeout(now);
    let Some(Action::Beacon(beacon)) = core.poll_action() else {
        panic!("a beacon first");
    };
    let bytes = beacon.to_bytes();
    assert_eq!(bytes.len(), 54);
    assert_eq!(&bytes[..4], b"ZRE\x03");
    assert_eq!(&bytes[22..], &curve_key(a as u8));
    core.stop();
    let last = std::iter::from_fn(|| core.poll_action()).last();
    let Some(Action::Beacon(leaving)) = last else {
        panic!("the leaving beacon last: {last:?}");
    };
    assert_eq!((leaving.port, leaving.curve_key), (0, Some(curve_key(a as u8))));
}

#[test]
fn curve_and_plain_nodes_on_one_lan_never_meet() {
    let mut sim = Sim::new();
    let secure = [sim.add_curve("s0"), sim.add_curve("s1")];
    let plain = [sim.add("p2"), sim.add("p3")];
    sim.run_for(secs(40));
    for node in secure {
        let peers = sim.nodes[node].core.peers();
        assert_eq!(peers.len(), 1, "{peers:?}");
        assert!(secure.iter().any(|&s| sim.uuid(s) == peers[0]));
        // Nothing connected to a plain node, not even pending.
        assert_eq!(sim.nodes[node].core.pending_peer_count(), 0);
    }
    for node in plain {
        let peers = sim.nodes[node].core.peers();
        assert_eq!(peers.len(), 1, "{peers:?}");
        assert!(plain.iter().any(|&p| sim.uuid(p) == peers[0]));
        assert_eq!(sim.nodes[node].core.pending_peer_count(), 0);
    }
    // No connection attempt crossed the line either way.
    for &(from, peer, key) in &sim.connects {
        let to = sim.nodes.iter().position(|n| n.core.uuid() == peer).unwrap();
        assert_eq!(secure.contains(&from), secure.contains(&to), "{from} -> {to}");
        assert_eq!(key.is_some(), secure.contains(&from));
    }
}

/// Feeds `node` one beacon from 10.0.0.99 and says whether it made the node
/// do anything.
fn beacon_acts(sim: &mut Sim, node: usize, beacon: zre::wire::Beacon) -> bool {
    let now = sim.now;
    let core = &mut sim.nodes[node].core;
    core.handle_beacon(now, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 99)), &beacon.to_bytes());
    let acted = core.has_actions();
    sim.settle();
    acted
}

#[test]
fn a_curve_node_ignores_v1_beacons_and_keys_that_can_be_no_key() {
    let mut sim = Sim::new();
    let a = sim.add_curve("a");
    let uuid = Uuid::from_u128(0xBAD);
    let beacon = |key| zre::wire::Beacon {
        uuid,
        port: 5000,
        curve_key: key,
    };
    // A forged plain beacon: no downgrade.
    assert!(!beacon_acts(&mut sim, a, beacon(None)));
    // All zeros, one, and a point of order 8 with the ignored top bit set.
    let mut one = [0u8; 32];
    one[0] = 1;
    let mut order8 = [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda,
        0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00,
    ];
    order8[31] |= 0x80;
    for garbage in [[0u8; 32], one, order8] {
        assert!(!beacon_acts(&mut sim, a, beacon(Some(garbage))), "{garbage:02x?}");
    }
    assert_eq!(sim.nodes[a].core.pending_peer_count(), 0);
    assert!(sim.connects.is_empty());
    // A key whose first byte is 0 is a key (Zyre drops such beacons).
    let mut zero_first = curve_key(9);
    zero_first[0] = 0;
    assert!(beacon_acts(&mut sim, a, beacon(Some(zero_first))));
    assert_eq!(sim.connect_keys(a, uuid), vec![Some(zero_first)]);
}

#[test]
fn a_plain_node_still_ignores_v3_beacons() {
    let mut sim = Sim::new();
    let a = sim.add("a");
    let beacon = zre::wire::Beacon {
        uuid: Uuid::from_u128(0xC0),
        port: 5000,
        curve_key: Some(curve_key(3)),
    };
    assert!(!beacon_acts(&mut sim, a, beacon));
    assert_eq!(sim.nodes[a].core.pending_peer_count(), 0);
}

fn curve_hello(port: u16, headers: Vec<(&str, &str)>) -> Vec<u8> {
    let endpoint = format!("tcp://10.7.7.7:{port}");
    ZreMessage::new(
        1,
        Body::Hello(Box::new(zre::wire::Hello {
            endpoint: &endpoint,
            groups: vec![],
            status: 0,
            name: "hand-made",
            headers,
        })),
    )
    .to_bytes()
    .unwrap()
}

#[test]
fn a_curve_node_ignores_a_hello_without_a_usable_x_publickey() {
    let mut sim = Sim::new();
    let a = sim.add_curve("a");
    let fake = Uuid::from_u128(0xF00D);
    let zeros = z85(&[0; 32]);
    let good = z85(&curve_key(7));
    let overflow = format!("%nSc1{}", &good[5..]);
    for headers in [
        vec![],
        vec![("X-PUBLICKEY", "")],
        vec![("X-PUBLICKEY", &good[..39])],
        vec![("X-PUBLICKEY", overflow.as_str())],
        vec![("X-PUBLICKEY", zeros.as_str())],
        vec![("x-publickey", good.as_str())],
    ] {
        inject(&mut sim, fake, a, curve_hello(5000, headers.clone()));
        assert_eq!(sim.count(a, "ENTER"), 0, "{headers:?}");
        assert!(sim.connects.is_empty(), "{headers:?}");
    }
    // Then a good one enters once our link to it got through its
    // handshake, and we connect back with its key.
    inject(&mut sim, fake, a, curve_hello(5000, vec![("X-PUBLICKEY", &good)]));
    assert_eq!(sim.count(a, "ENTER"), 0, "entered before our link is up");
    let now = sim.now;
    sim.nodes[a].core.handle_link_up(now, fake);
    sim.settle();
    assert_eq!(sim.count(a, "ENTER"), 1);
    assert_eq!(sim.connect_keys(a, fake), vec![Some(curve_key(7))]);
}

#[test]
fn a_plain_node_takes_a_hello_with_x_publickey_as_a_plain_one() {
    // Plain Zyre ignores the header; the HELLO came in the clear, so the
    // sender speaks plain ZRE on this link.
    let mut sim = Sim::new();
    let a = sim.add("a");
    let fake = Uuid::from_u128(0xF00D);
    let good = z85(&curve_key(7));
    inject(&mut sim, fake, a, curve_hello(5000, vec![("X-PUBLICKEY", &good)]));
    answer_ping(&mut sim, fake, a, 2);
    assert_eq!(sim.count(a, "ENTER"), 1);
    assert_eq!(sim.connect_keys(a, fake), vec![None]);
}

#[test]
fn an_announcement_with_another_key_for_a_known_peer_is_ignored() {
    let mut sim = Sim::new();
    let a = sim.add_curve("a");
    let b = sim.add_curve("b");
    sim.run_for(secs(2));
    let ub = sim.uuid(b);
    assert_eq!(sim.nodes[a].core.peers(), vec![ub]);
    sim.clear_events();
    let b_ip = sim.nodes[b].ip;
    let forged = |port| zre::wire::Beacon {
        uuid: ub,
        port,
        curve_key: Some(curve_key(99)),
    };
    // Same UUID and endpoint, another key; and a leaving beacon likewise.
    let now = sim.now;
    for port in [41000, 0] {
        sim.nodes[a]
            .core
            .handle_beacon(now, b_ip, &forged(port).to_bytes());
        assert!(!sim.nodes[a].core.has_actions());
    }
    let value = format!("{}|{}", sim.nodes[b].core.endpoint(), z85(&curve_key(99)));
    tuple(&mut sim, a, ub, &value);
    sim.run_for(secs(40));
    assert_eq!(sim.connect_keys(a, ub), vec![Some(curve_key(b as u8))]);
    assert_eq!(sim.count(a, "EXIT"), 0, "{:?}", sim.nodes[a].events);
    assert_eq!(sim.nodes[a].core.peers(), vec![ub]);
}

#[test]
fn a_forged_key_announced_first_gives_way_to_the_peers_hello() {
    // A forger beacons b's UUID and endpoint with its own key before b is
    // heard: our DEALER to b cannot get through the handshake, but b's
    // HELLO comes through our inbox with b's key, and wins.
    let mut sim = Sim::new();
    let a = sim.add_curve("a");
    let b = sim.add_curve("b");
    sim.beacons_blocked.insert(b);
    let ub = sim.uuid(b);
    let forged = zre::wire::Beacon {
        uuid: ub,
        port: 41000,
        curve_key: Some(curve_key(99)),
    };
    let now = sim.now;
    let b_ip = sim.nodes[b].ip;
    sim.nodes[a].core.handle_beacon(now, b_ip, &forged.to_bytes());
    sim.settle();
    assert_eq!(sim.count(b, "ENTER"), 0);
    assert_eq!(sim.nodes[a].core.pending_peer_count(), 1);
    // b hears a's beacon and says HELLO.
    sim.beacons_blocked.remove(&b);
    sim.run_for(secs(2));
    assert_eq!(
        sim.connect_keys(a, ub),
        vec![Some(curve_key(99)), Some(curve_key(b as u8))]
    );
    check_one_clean_enter(&sim, a, ub);
    assert_eq!(sim.nodes[a].core.peer_curve_key(ub), Some(curve_key(b as u8)));
    sim.nodes[a].core.whisper(ub, text("hi")).unwrap();
    sim.settle();
    assert_eq!(sim.count(b, "WHISPER"), 1);
}

#[test]
fn curve_gossip_values_carry_the_key_and_connect_with_it() {
    let mut sim = Sim::new();
    let a = sim.add_curve("a");
    let b = sim.add_curve("b");
    let p = sim.add("p");
    for node in [a, b, p] {
        sim.beacons_blocked.insert(node);
    }
    let value_b = sim.nodes[b].core.gossip_value();
    assert_eq!(
        value_b,
        format!("{}|{}", sim.nodes[b].core.endpoint(), z85(&curve_key(b as u8)))
    );
    // A plain node publishes its endpoint alone, and ignores a keyed value.
    let value_p = sim.nodes[p].core.gossip_value();
    assert_eq!(value_p, sim.nodes[p].core.endpoint());
    let (ua, ub, up) = (sim.uuid(a), sim.uuid(b), sim.uuid(p));
    tuple(&mut sim, p, ub, &value_b);
    assert_eq!(sim.nodes[p].core.pending_peer_count(), 0);
    // A CURVE node ignores values without a key, or with a bad one.
    tuple(&mut sim, a, up, &value_p);
    let endpoint_b = sim.nodes[b].core.endpoint().to_owned();
    for bad in ["", "x", &z85(&[0; 32])[..]] {
        tuple(&mut sim, a, ub, &format!("{endpoint_b}|{bad}"));
    }
    assert_eq!(sim.nodes[a].core.pending_peer_count(), 0);
    assert!(sim.connects.is_empty());
    // The good value: a connects with b's key and they meet.
    tuple(&mut sim, a, ub, &value_b);
    assert_eq!(sim.connect_keys(a, ub), vec![Some(curve_key(b as u8))]);
    check_one_clean_enter(&sim, a, ub);
    check_one_clean_enter(&sim, b, ua);
}

/// `restarted_on_the_same_endpoint` in CURVE mode: a1 (key 0) is gone, a2
/// (key 2) listens at its endpoint, b (key 1) has heard of neither.
fn curve_restarted_on_the_same_endpoint() -> (Sim, usize, Uuid, usize) {
    let mut sim = Sim::new();
    let a1 = sim.add_curve("a1");
    let b = sim.add_curve("b");
    let a1_uuid = sim.uuid(a1);
    let mut config = Sim::config(Uuid::from_u128(0xA2), "a2", sim.nodes[a1].ip, 41000);
    config.curve_public_key = Some(curve_key(2));
    sim.kill(a1);
    let a2 = sim.add_with(config);
    for node in [a1, b, a2] {
        sim.beacons_blocked.insert(node);
    }
    (sim, b, a1_uuid, a2)
}

#[test]
fn a_stale_curve_tuple_gives_way_to_the_live_one_once_it_expires() {
    // The DEALER opened for a1's key never gets through a2's handshake, so
    // it is not handed on to a2 (no Relink): a1 expires unanswered, then
    // a2's tuple is taken, with a2's key.
    let (mut sim, b, a1_uuid, a2) = curve_restarted_on_the_same_endpoint();
    let endpoint = sim.nodes[a2].core.endpoint().to_string();
    let a2_uuid = sim.uuid(a2);
    let stale = format!("{endpoint}|{}", z85(&curve_key(0)));
    let live = sim.nodes[a2].core.gossip_value();
    for _ in 0..20 {
        tuple(&mut sim, b, a1_uuid, &stale);
        tuple(&mut sim, b, a2_uuid, &live);
        sim.run_for(secs(1));
    }
    assert_eq!(sim.connect_keys(b, a1_uuid), vec![Some(curve_key(0))]);
    assert_eq!(sim.connect_keys(b, a2_uuid), vec![Some(curve_key(2))]);
    check_one_clean_enter(&sim, b, a2_uuid);
    check_one_clean_enter(&sim, a2, sim.uuid(b));
}

#[test]
fn a_hello_with_another_key_at_an_announced_endpoint_connects_afresh() {
    let (mut sim, b, a1_uuid, a2) = curve_restarted_on_the_same_endpoint();
    let endpoint = sim.nodes[a2].core.endpoint().to_string();
    let a2_uuid = sim.uuid(a2);
    let b_uuid = sim.uuid(b);
    tuple(
        &mut sim,
        b,
        a1_uuid,
        &format!("{endpoint}|{}", z85(&curve_key(0))),
    );
    assert_eq!(sim.nodes[b].core.pending_peer_count(), 1);
    // a2 hears of b and says HELLO from a1's endpoint, with its own key.
    let value_b = sim.nodes[b].core.gossip_value();
    tuple(&mut sim, a2, b_uuid, &value_b);
    check_one_clean_enter(&sim, b, a2_uuid);
    assert_eq!(sim.connect_keys(b, a2_uuid), vec![Some(curve_key(2))]);
    assert_eq!(sim.nodes[b].core.pending_peer_count(), 0);
    sim.nodes[b].core.whisper(a2_uuid, text("hi")).unwrap();
    sim.settle();
    assert_eq!(sim.count(a2, "WHISPER"), 1);
}

#[test]
fn our_key_replaces_a_configured_x_publickey_header() {
    let mut sim = Sim::new();
    let a = sim.add_curve("a");
    let mut config = Sim::config(uuid_of(1), "b", IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 41000);
    config.curve_public_key = Some(curve_key(1));
    config.headers.push(("X-PUBLICKEY".into(), z85(&curve_key(50))));
    let b = sim.add_with(config);
    sim.run_for(secs(2));
    let ub = sim.uuid(b);
    let headers = sim.nodes[a].core.peer_headers(ub).unwrap();
    let keys: Vec<&str> = headers
        .iter()
        .filter(|(name, _)| name == "X-PUBLICKEY")
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(keys, vec![z85(&curve_key(1))]);
    assert_eq!(sim.nodes[a].core.peer_header_value(ub, "X-HELLO"), Some("from b"));
}

/// The leader crashes (its port refuses: fast EXIT at once) while another
/// member hangs (SIGSTOP: it answers nothing, its port still accepts, as a
/// Zyre that still counts the dead leader answers nothing). The survivor
/// challenges at once, but does not repeat its ELECT before the others
/// could have expired the dead leader (its expired timeout + 1.5 s): Zyre
/// would count a repeat as the dead member's echo.
#[test]
fn after_a_fast_exit_a_stalled_wave_waits_for_the_others_to_expire_the_dead() {
    let mut sim = election_sim(3, |_| true);
    sim.run_for(secs(3));
    check_one_leader(&mut sim, &[0, 1, 2], 0);
    sim.kill(2);
    let crashed = sim.elapsed();
    sim.election_sends.clear();
    sim.crash(0);
    sim.settle();
    assert_eq!(exits_of(&sim, 1), vec![Some(sim.uuid(0))], "fast EXIT");
    assert_eq!(
        sim.election_sends,
        vec![(crashed, 1, 2)],
        "the survivor challenges at once"
    );
    // Default expired timeout 30 s; the hung member expires at about 29 s.
    // (Before: repeated at 3, 9 and 21 s.)
    sim.run_for(secs(25));
    assert_eq!(sim.election_sends.len(), 1, "no ELECT repeated at 3 s, 9 s, …");
    assert!(sim.nodes[1].core.election_in_progress(GROUP));
}

/// A second JOIN while the first one's election is under way, in many
/// orders (links FIFO, messages on different links overtaking each
/// other): every election should complete without a re-sent wave.
/// Known to fail in 7 of the 1 800 orders (all at N = 5; the same 7
/// before and after the held-ELECT fix). In the one traced (seed 13, N = 5,
/// joiners 4 then 3, gap 4) the leader decides its new wave (LEADER sent),
/// then sees the second JOIN and restarts the wave with the same
/// challenger; the second joiner, still in the decided wave (it got it
/// from another member, not from the leader), counts the leader's
/// restarted ELECT as the leader's echo of that wave and never joins the
/// new one, so the election waits for the leader's re-send (3 s).
#[test]
#[ignore = "known stall, see the comment; run with --ignored"]
fn a_join_during_an_election_does_not_stall_it() {
    let mut stalls = Vec::new();
    let mut runs = 0;
    for seed in 1..=40u64 {
        for n in [5usize, 8, 12] {
            for (a, b) in [(n - 1, n - 2), (0, n - 1), (n / 2, 0)] {
                for gap in [1usize, 2, 3, 4, 6] {
                    runs += 1;
                    let mut sim = Sim::new();
                    for i in 0..n {
                        let node = sim.add(&format!("e{i}"));
                        sim.nodes[node].core.contest(GROUP).unwrap();
                        if i != a && i != b {
                            sim.nodes[node].core.join(GROUP).unwrap();
                        }
                    }
                    sim.run_for(secs(10));
                    sim.clear_events();
                    sim.reorder = Some(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                    sim.nodes[a].core.join(GROUP).unwrap();
                    // `gap` rounds of traffic, about half of what is in
                    // flight each, before the second JOIN.
                    sim.deliver_about_half(gap);
                    sim.nodes[b].core.join(GROUP).unwrap();
                    // No time passes: no wave can be re-sent.
                    sim.settle();
                    let stuck: Vec<usize> = (0..n)
                        .filter(|&i| sim.nodes[i].core.election_in_progress(GROUP))
                        .collect();
                    let leaders: std::collections::BTreeSet<_> =
                        (0..n).map(|i| sim.nodes[i].core.leader(GROUP)).collect();
                    if !stuck.is_empty() || leaders.len() != 1 {
                        stalls.push((seed, n, a, b, gap, stuck));
                    }
                }
            }
        }
    }
    assert!(
        stalls.is_empty(),
        "{} of {runs} stalled (seed, N, first joiner, second, gap, stuck): {stalls:?}",
        stalls.len()
    );
}

/// Found by the chaos schedule (issue 25, `tests/netns/chaos_schedule.rs`
/// seed 1796488776429254620: no leader in group h at any of its nine
/// members for 30 s after the heal, its one contester among them): the
/// leader leaves the group just after it challenged (on a member's JOIN).
/// A member that forwards its ELECT before it sees the LEAVE hands the
/// departed leader's wave to members that saw the LEAVE already, and the
/// contester that challenged on that LEAVE gives its own wave up for the
/// superior one. Nobody collects that wave's echoes, nobody challenges
/// when it is dropped, so no election completes until the next
/// membership change.
#[test]
fn a_leader_that_leaves_during_its_wave_leaves_no_ghost_wave() {
    let mut stalls = Vec::new();
    let mut runs = 0;
    for seed in 1..=40u64 {
        for n in [4usize, 6, 9] {
            for gap in [1usize, 2, 3, 4] {
                runs += 1;
                let joiner = n - 1;
                let mut sim = Sim::new();
                for i in 0..n {
                    let node = sim.add(&format!("e{i}"));
                    if i < 2 {
                        sim.nodes[node].core.contest(GROUP).unwrap();
                    }
                    if i != joiner {
                        sim.nodes[node].core.join(GROUP).unwrap();
                    }
                }
                sim.run_for(secs(10));
                sim.clear_events();
                sim.reorder = Some(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                sim.nodes[joiner].core.join(GROUP).unwrap();
                // `gap` rounds of traffic, about half of what is in flight
                // each: the leader's new wave is on its way.
                sim.deliver_about_half(gap);
                sim.nodes[0].core.leave(GROUP).unwrap();
                // Longer than a challenger's patience twice over (3 s, 6 s).
                sim.run_for(secs(20));
                let want = Some(sim.uuid(1));
                let wrong: Vec<usize> = (1..n)
                    .filter(|&i| sim.nodes[i].core.leader(GROUP) != want)
                    .collect();
                if !wrong.is_empty() {
                    stalls.push((seed, n, gap, wrong));
                }
            }
        }
    }
    assert!(
        stalls.is_empty(),
        "{} of {runs} without node 1 as leader (seed, N, gap, nodes): {stalls:?}",
        stalls.len()
    );
}

impl Sim {
    /// Delivers the first packet in flight from `from` to `to`.
    fn deliver_link_first(&mut self, from: usize, to: usize) {
        if let Some(first) = self.in_flight.iter().position(|p| p.from == from && p.to == to) {
            let packet = self.in_flight.remove(first).expect("in range");
            self.deliver(packet);
        }
    }

    /// `rounds` rounds of traffic, each delivering about half of what is
    /// in flight then, picked at random (each link's first packet, so a
    /// link stays in order): a wave is on its way, not done.
    fn deliver_about_half(&mut self, rounds: usize) {
        for _ in 0..rounds {
            self.poll_all();
            for _ in 0..self.in_flight.len().div_ceil(2) {
                let pick = self.random(self.in_flight.len());
                let (from, to) = (self.in_flight[pick].from, self.in_flight[pick].to);
                self.deliver_link_first(from, to);
            }
        }
    }
}
