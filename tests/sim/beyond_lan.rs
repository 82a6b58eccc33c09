//! Issue 28 in the sans-I/O cores, in virtual time: seed peers (`--peer`,
//! Zyre's `zyre_require_peer`) in `NodeCore`, and the unpublish of a
//! stopping node's tuple in `GossipServer` / `GossipClient`.
//!
//! The seed harness is a small network of cores without beacons: a DEALER
//! (a `Connect`) is a link to an endpoint, which delivers only while a node
//! listens there and keeps what is sent meanwhile (libzmq queues on a
//! connecting DEALER and reconnects by itself).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use uuid::Uuid;
use zre::core::gossip_client::{ClientConfig, ClientOutput, GossipClient, ServerId, UNPUBLISH_TTL};
use zre::core::gossip_server::{GossipServer, ServerConfig, ServerOutput};
use zre::core::{Action, CoreConfig, Event, NodeCore, SEED_RETRY_MAX, peer_identity};
use zre::wire::GossipMessage;

struct Link {
    from: usize,
    endpoint: String,
    queue: Vec<Vec<u8>>,
}

struct Net {
    start: Instant,
    now: Instant,
    nodes: Vec<Option<NodeCore>>,
    endpoints: Vec<String>,
    events: Vec<Vec<Event>>,
    /// (node, peer uuid as the core names the link) -> link.
    links: HashMap<(usize, Uuid), Link>,
    /// Every `Connect`: (node, peer, endpoint).
    connects: Vec<(usize, Uuid, String)>,
    relinks: Vec<(usize, Uuid, Uuid)>,
}

impl Net {
    fn new() -> Net {
        let now = Instant::now();
        Net {
            start: now,
            now,
            nodes: Vec::new(),
            endpoints: Vec::new(),
            events: Vec::new(),
            links: HashMap::new(),
            connects: Vec::new(),
            relinks: Vec::new(),
        }
    }

    /// A node slot at 10.0.N.1 (another subnet each: no beacon between
    /// them anyway), not started.
    fn slot(&mut self) -> usize {
        let index = self.nodes.len();
        self.nodes.push(None);
        self.endpoints.push(format!("tcp://10.0.{}.1:41000", index + 1));
        self.events.push(Vec::new());
        index
    }

    /// Starts (or restarts, with a new UUID) the node in `slot`.
    fn start_node(&mut self, slot: usize, uuid: u128) {
        let mut config = CoreConfig::new(
            Uuid::from_u128(uuid),
            format!("node{slot}"),
            self.endpoints[slot].clone(),
            41000,
        );
        config.beacons = false;
        self.nodes[slot] = Some(NodeCore::new(config, self.now));
    }

    fn add(&mut self, uuid: u128) -> usize {
        let slot = self.slot();
        self.start_node(slot, uuid);
        slot
    }

    fn core(&mut self, node: usize) -> &mut NodeCore {
        self.nodes[node].as_mut().expect("started")
    }

    fn uuid(&self, node: usize) -> Uuid {
        self.nodes[node].as_ref().expect("started").uuid()
    }

    /// A node stops cleanly (GOODBYE) and its process ends.
    fn stop(&mut self, node: usize) {
        self.core(node).stop();
        self.settle();
        self.nodes[node] = None;
        self.links.retain(|(from, _), _| *from != node);
    }

    fn settle(&mut self) {
        for _ in 0..10_000 {
            let mut progressed = false;
            for i in 0..self.nodes.len() {
                let Some(core) = self.nodes[i].as_mut() else {
                    continue;
                };
                let mut actions = Vec::new();
                while let Some(action) = core.poll_action() {
                    actions.push(action);
                }
                while let Some(event) = core.poll_event() {
                    self.events[i].push(event);
                }
                for action in actions {
                    progressed = true;
                    self.apply(i, action);
                }
            }
            // Deliver what every link holds to a node listening there.
            let keys: Vec<(usize, Uuid)> = self.links.keys().copied().collect();
            for key in keys {
                let (from, endpoint) = {
                    let link = &self.links[&key];
                    (link.from, link.endpoint.clone())
                };
                let Some(to) = self.endpoints.iter().position(|e| *e == endpoint) else {
                    continue;
                };
                if self.nodes[to].is_none() || self.links[&key].queue.is_empty() {
                    continue;
                }
                let queue = std::mem::take(&mut self.links.get_mut(&key).unwrap().queue);
                let identity = peer_identity(&self.uuid(from));
                let now = self.now;
                for header in queue {
                    progressed = true;
                    self.core(to).handle_message(now, &identity, &header, Vec::new());
                }
            }
            if !progressed {
                return;
            }
        }
        panic!("the network never goes quiet");
    }

    fn apply(&mut self, from: usize, action: Action) {
        match action {
            Action::Connect { peer, endpoint, .. } => {
                let endpoint = endpoint.to_string();
                self.connects.push((from, peer, endpoint.clone()));
                self.links.insert(
                    (from, peer),
                    Link {
                        from,
                        endpoint,
                        queue: Vec::new(),
                    },
                );
            }
            Action::Send { peer, header, .. } => {
                if let Some(link) = self.links.get_mut(&(from, peer)) {
                    link.queue.push(header.to_vec());
                }
            }
            Action::Disconnect { peer } => {
                // Closed after what it holds is flushed (the linger).
                if let Some(link) = self.links.remove(&(from, peer)) {
                    let to = self.endpoints.iter().position(|e| *e == link.endpoint);
                    if let Some(to) = to.filter(|&to| self.nodes[to].is_some()) {
                        let identity = peer_identity(&self.uuid(from));
                        let now = self.now;
                        for header in link.queue {
                            self.core(to).handle_message(now, &identity, &header, Vec::new());
                        }
                    }
                }
            }
            Action::Relink { from: old, to } => {
                self.relinks.push((from, old, to));
                if let Some(link) = self.links.remove(&(from, old)) {
                    self.links.insert((from, to), link);
                }
            }
            Action::Probe { .. } | Action::Beacon(_) => {}
        }
    }

    fn run_until(&mut self, elapsed: Duration) {
        let target = self.start + elapsed;
        self.settle();
        loop {
            let next = self.nodes.iter().flatten().filter_map(|n| n.poll_timeout()).min();
            match next {
                Some(next) if next <= target => {
                    self.now = self.now.max(next);
                    let now = self.now;
                    for node in self.nodes.iter_mut().flatten() {
                        if node.poll_timeout().is_some_and(|t| t <= now) {
                            node.handle_timeout(now);
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
        let elapsed = (self.now - self.start) + span;
        self.run_until(elapsed);
    }

    /// (kind, peer) of node's ENTER and EXIT events, in order.
    fn comings_and_goings(&self, node: usize) -> Vec<(&'static str, Uuid)> {
        self.events[node]
            .iter()
            .filter_map(|e| match e {
                Event::Enter { peer, .. } => Some(("ENTER", *peer)),
                Event::Exit { peer, .. } => Some(("EXIT", *peer)),
                _ => None,
            })
            .collect()
    }

    fn enters(&self, node: usize) -> usize {
        self.events[node]
            .iter()
            .filter(|e| matches!(e, Event::Enter { .. }))
            .count()
    }

    fn seed(&mut self, node: usize, origin: &str, targets: &[usize]) {
        let addresses: Vec<SocketAddr> = targets.iter().map(|&t| address(&self.endpoints[t])).collect();
        let now = self.now;
        self.core(node).set_seed(now, origin, &addresses, None);
        self.settle();
    }

    fn connects_from(&self, node: usize, endpoint: &str) -> usize {
        self.connects
            .iter()
            .filter(|(n, _, e)| *n == node && e == endpoint)
            .count()
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn a_seed_by_address_enters_under_the_uuid_its_hello_gives() {
    let mut net = Net::new();
    let a = net.add(0xA);
    let b = net.add(0xB);
    net.seed(a, "10.0.2.1:41000", &[b]);
    let (ua, ub) = (net.uuid(a), net.uuid(b));
    assert_eq!(net.comings_and_goings(a), vec![("ENTER", ub)]);
    assert_eq!(net.comings_and_goings(b), vec![("ENTER", ua)]);
    // The DEALER dialled under a placeholder now serves B's real UUID.
    assert_eq!(net.relinks.len(), 1, "{:?}", net.relinks);
    let (node, placeholder, to) = net.relinks[0];
    assert_eq!((node, to), (a, ub));
    assert_ne!(placeholder, ub);
    assert_eq!(net.core(a).peers(), vec![ub]);
    let eb = net.endpoints[b].clone();
    assert_eq!(net.core(a).peer_endpoint(ub), Some(eb.as_str()));
    // Quiet from then on: no second dial while B is there.
    net.run_for(secs(60));
    assert_eq!(net.connects_from(a, &net.endpoints[b].clone()), 1);
    assert_eq!(net.comings_and_goings(a), vec![("ENTER", ub)]);
}

#[test]
fn two_nodes_seeding_each_other_enter_once_each() {
    let mut net = Net::new();
    let a = net.add(0xA);
    let b = net.add(0xB);
    let (ea, eb) = (net.endpoints[a].clone(), net.endpoints[b].clone());
    let now = net.now;
    net.core(a).set_seed(now, "b", &[address(&eb)], None);
    net.core(b).set_seed(now, "a", &[address(&ea)], None);
    net.run_for(secs(60));
    let (ua, ub) = (net.uuid(a), net.uuid(b));
    assert_eq!(net.comings_and_goings(a), vec![("ENTER", ub)]);
    assert_eq!(net.comings_and_goings(b), vec![("ENTER", ua)]);
}

#[test]
fn a_seed_that_starts_late_is_retried_with_backoff_and_found() {
    let mut net = Net::new();
    let a = net.add(0xA);
    let b = net.slot();
    let eb = net.endpoints[b].clone();
    net.seed(a, "late", &[b]);
    assert_eq!(net.core(a).unanswered_seeds().len(), 1, "dialled at once");
    net.run_until(secs(120));
    // Attempts: each lives an evasive timeout (5 s, libzmq reconnecting
    // meanwhile), then a pause of 1, 2, 4, ... 30 s.
    let attempts = net.connects_from(a, &eb);
    assert!((5..=9).contains(&attempts), "{attempts} attempts in 120 s");
    assert_eq!(net.enters(a), 0);
    net.start_node(b, 0xB);
    let started = net.now;
    let ub = net.uuid(b);
    loop {
        net.run_for(Duration::from_millis(100));
        if net.enters(a) > 0 {
            break;
        }
        assert!(
            net.now - started <= SEED_RETRY_MAX + secs(1),
            "a late seed not found within the longest backoff"
        );
    }
    assert_eq!(net.comings_and_goings(a), vec![("ENTER", ub)]);
    assert!(net.core(a).unanswered_seeds().is_empty(), "it answered");
    // And the backoff starts over after an answer.
    net.stop(b);
    assert_eq!(net.comings_and_goings(a), vec![("ENTER", ub), ("EXIT", ub)]);
}

#[test]
fn a_seed_whose_peer_restarts_under_a_new_uuid_is_dialled_again_at_once() {
    let mut net = Net::new();
    let a = net.add(0xA);
    let b = net.add(0xB);
    let ub = net.uuid(b);
    net.seed(a, "b", &[b]);
    net.run_for(secs(10));
    net.stop(b);
    assert_eq!(net.comings_and_goings(a), vec![("ENTER", ub), ("EXIT", ub)]);
    net.run_for(secs(1));
    net.start_node(b, 0xB2);
    let ub2 = net.uuid(b);
    net.run_for(secs(2));
    assert_eq!(
        net.comings_and_goings(a),
        vec![("ENTER", ub), ("EXIT", ub), ("ENTER", ub2)],
        "the new instance at the seed's address is found within a second"
    );
}

#[test]
fn a_name_for_three_instances_enters_each_and_drops_what_it_no_longer_lists() {
    let mut net = Net::new();
    let a = net.add(0xA);
    let peers: Vec<usize> = (0..3).map(|i| net.add(0xB0 + i)).collect();
    // The name also resolves to ourselves, as a headless service does.
    let mut all = peers.clone();
    all.push(a);
    net.seed(a, "svc:41000", &all);
    net.run_for(secs(1));
    let mut entered: Vec<Uuid> = net.comings_and_goings(a).iter().map(|(_, u)| *u).collect();
    entered.sort();
    let mut expected: Vec<Uuid> = peers.iter().map(|&p| net.uuid(p)).collect();
    expected.sort();
    assert_eq!(entered, expected);
    let own = net.endpoints[a].clone();
    assert_eq!(net.connects_from(a, &own), 0, "never dials itself");
    assert_eq!(net.core(a).seed_endpoints().len(), 3);

    // One instance goes from the name: no more dialling it once it leaves.
    net.seed(a, "svc:41000", &peers[..2]);
    assert_eq!(net.core(a).seed_endpoints().len(), 2);
    let gone = peers[2];
    let gone_endpoint = net.endpoints[gone].clone();
    net.stop(gone);
    net.run_for(secs(120));
    assert_eq!(net.connects_from(a, &gone_endpoint), 1);
}

#[test]
fn zyres_require_peer_form_dials_the_known_uuid() {
    let mut net = Net::new();
    let a = net.add(0xA);
    let b = net.add(0xB);
    let ub = net.uuid(b);
    let eb = net.endpoints[b].clone();
    let now = net.now;
    net.core(a).require_seed_peer(now, ub, &eb, None).unwrap();
    net.run_for(secs(5));
    assert_eq!(net.connects[0], (a, ub, eb.clone()), "dialled as the known UUID");
    assert!(net.relinks.is_empty(), "no placeholder: the UUID was known");
    assert_eq!(net.comings_and_goings(a), vec![("ENTER", ub)]);
    assert_eq!(net.comings_and_goings(b), vec![("ENTER", net.uuid(a))]);
}

#[test]
fn a_seed_already_known_through_gossip_is_not_dialled_twice() {
    let mut net = Net::new();
    let a = net.add(0xA);
    let b = net.add(0xB);
    let ub = net.uuid(b);
    let eb = net.endpoints[b].clone();
    let now = net.now;
    net.core(a)
        .handle_gossip_tuple(now, &ub.simple().to_string(), &eb);
    net.settle();
    net.seed(a, "b", &[b]);
    net.run_for(secs(30));
    assert_eq!(net.connects_from(a, &eb), 1);
    assert_eq!(net.comings_and_goings(a), vec![("ENTER", ub)]);
}

// ----- unpublish on leave (GossipServer / GossipClient) --------------------

fn drain(server: &mut GossipServer) -> Vec<ServerOutput> {
    std::iter::from_fn(|| server.poll_output()).collect()
}

fn client_frames(client: &mut GossipClient) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| client.poll_output())
        .filter_map(|o| match o {
            ClientOutput::Send { frame, .. } => Some(frame),
            _ => None,
        })
        .collect()
}

/// The address of a node's `tcp://IP:PORT` endpoint, as a seed gives it.
fn address(endpoint: &str) -> SocketAddr {
    endpoint
        .strip_prefix("tcp://")
        .and_then(|a| a.parse().ok())
        .expect("tcp://IP:PORT")
}

/// A client with our identity scheme (the raw UUID) connected to `server`,
/// its tuple published; returns the client and its routing id.
fn connected_client(server: &mut GossipServer, now: Instant, n: u8) -> (GossipClient, Vec<u8>, String) {
    let uuid = [n; 16];
    let mut client = GossipClient::new(
        ClientConfig {
            uuid: Some(uuid),
            ..ClientConfig::default()
        },
        now,
    );
    client.add_server(now, "tcp://server:31337");
    let key = format!("{:032X}", u128::from_be_bytes(uuid));
    client.publish(now, &key, &format!("tcp://10.0.0.{n}:41000"));
    for frame in client_frames(&mut client) {
        server.handle_client_frame(now, &uuid, &frame);
    }
    // The PONG tells the client the server's dialect; then it publishes.
    client.handle_frame(now, ServerId(0), &GossipMessage::Pong.to_bytes().unwrap());
    for frame in client_frames(&mut client) {
        server.handle_client_frame(now, &uuid, &frame);
    }
    (client, uuid.to_vec(), key)
}

#[test]
fn a_clean_stop_unpublishes_at_once_on_our_server() {
    let t0 = Instant::now();
    let mut server = GossipServer::new(ServerConfig::default(), t0);
    let (mut leaving, id, key) = connected_client(&mut server, t0, 7);
    let (_staying, _, other) = connected_client(&mut server, t0, 8);
    drain(&mut server);
    assert_eq!(server.tuples().count(), 2);

    let t1 = t0 + secs(2);
    leaving.unpublish();
    let frames = client_frames(&mut leaving);
    assert_eq!(frames.len(), 1);
    match GossipMessage::parse(&frames[0]).unwrap() {
        GossipMessage::Publish { ttl, .. } => assert_eq!(u128::from(ttl), UNPUBLISH_TTL.as_millis()),
        other => panic!("{other:?}"),
    }
    server.handle_client_frame(t1, &id, &frames[0]);
    let deadline = server.poll_timeout().expect("the tuple's end");
    assert!(
        deadline <= t1 + UNPUBLISH_TTL,
        "expires at once, not after the TTL"
    );
    server.handle_timeout(deadline);
    let expired: Vec<String> = drain(&mut server)
        .into_iter()
        .filter_map(|o| match o {
            ServerOutput::Expired { key } => Some(key),
            _ => None,
        })
        .collect();
    assert_eq!(expired, vec![key]);
    assert_eq!(
        server.tuples().map(|(k, _)| k.to_owned()).collect::<Vec<_>>(),
        vec![other]
    );
    // Nothing is re-published after the unpublish.
    leaving.handle_timeout(t1 + secs(60));
    let republished = client_frames(&mut leaving)
        .iter()
        .filter(|f| matches!(GossipMessage::parse(f), Ok(GossipMessage::Publish { .. })))
        .count();
    assert_eq!(republished, 0);
}

#[test]
fn only_its_own_client_can_shorten_a_tuple() {
    let t0 = Instant::now();
    let mut server = GossipServer::new(ServerConfig::default(), t0);
    let (_owner, _, key) = connected_client(&mut server, t0, 7);
    let value = "tcp://10.0.0.7:41000";
    // Another client repeats the tuple with a 1 ms TTL: a stale copy.
    server.handle_client_frame(t0, b"other", &GossipMessage::Hello.to_bytes().unwrap());
    let short = GossipMessage::Publish {
        key: &key,
        value,
        ttl: 1,
    }
    .to_bytes()
    .unwrap();
    server.handle_client_frame(t0 + secs(1), b"other", &short);
    drain(&mut server);
    server.handle_timeout(t0 + secs(2));
    assert_eq!(server.tuples().count(), 1, "a stale copy never shortens it");
}

#[test]
fn the_publishing_client_unpublishes_with_a_1_ms_ttl_whatever_its_routing_id() {
    let t0 = Instant::now();
    let mut server = GossipServer::new(ServerConfig::default(), t0);
    let publish = |ttl| {
        GossipMessage::Publish {
            key: "k",
            value: "v",
            ttl,
        }
        .to_bytes()
        .unwrap()
    };
    server.handle_client_frame(t0, b"\0abcd", &GossipMessage::Hello.to_bytes().unwrap());
    server.handle_client_frame(t0, b"\0abcd", &publish(30_000));
    // A shorter copy from it that is no unpublish changes nothing...
    server.handle_client_frame(t0 + secs(1), b"\0abcd", &publish(2_000));
    server.handle_timeout(t0 + secs(10));
    assert_eq!(server.tuples().count(), 1);
    // ...its 1 ms TTL ends the tuple.
    server.handle_client_frame(t0 + secs(10), b"\0abcd", &publish(1));
    server.handle_timeout(t0 + secs(10) + Duration::from_millis(1));
    assert_eq!(server.tuples().count(), 0);
}
