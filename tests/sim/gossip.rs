//! The ZGossip server and client state machines wired together by a tiny
//! in-memory "network", in virtual time: no sockets, no clock, no sleeps.
//!
//! The network plays the caller's part: it moves every output to the input
//! it names (a ROUTER routing id maps back to the DEALER behind it), and
//! advances time from one deadline to the next.

use crate::lan_sim::XorShift;
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use zre::core::gossip_client::{ClientConfig, ClientOutput, GossipClient, ServerId};
use zre::core::gossip_server::{GossipServer, RemoteId, ServerConfig, ServerOutput};
use zre::wire::GossipMessage;

/// More frames than any of these scenarios needs to settle: hitting it
/// means a forwarding loop.
const MAX_FRAMES_PER_PUMP: usize = 10_000;

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn secs(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

/// A ZRE-style key: a UUID as 32 upper-case hex digits.
fn key(n: u8) -> String {
    format!("{:032X}", u128::from(n) * 0x0101_0101_0101)
}

fn inbox(n: u8) -> String {
    format!("tcp://10.0.0.{n}:41012")
}

fn endpoint(server: usize) -> String {
    format!("tcp://server-{server}:31337")
}

fn server_index(endpoint: &str) -> usize {
    endpoint
        .strip_prefix("tcp://server-")
        .and_then(|rest| rest.strip_suffix(":31337"))
        .and_then(|index| index.parse().ok())
        .expect("an endpoint made by endpoint()")
}

fn frame(message: GossipMessage<'_>) -> Vec<u8> {
    message.to_bytes().unwrap()
}

/// Who is behind a routing id on a server's ROUTER.
#[derive(Debug, Clone, Copy)]
enum Peer {
    Client(usize, ServerId),
    Remote(usize, RemoteId),
}

#[derive(Debug)]
enum Packet {
    /// A DEALER (client or remote link) to a server's ROUTER.
    Upstream {
        server: usize,
        routing_id: Vec<u8>,
        frame: Vec<u8>,
    },
    /// A server's ROUTER back to a client's DEALER.
    DownToClient {
        client: usize,
        via: ServerId,
        /// haskell-zre's dialect: the frame before the message.
        envelope: Option<Vec<u8>>,
        frame: Vec<u8>,
    },
    /// A server's ROUTER back to another server's remote DEALER.
    DownToRemote {
        server: usize,
        remote: RemoteId,
        frame: Vec<u8>,
    },
}

struct Net {
    now: Instant,
    server_configs: Vec<ServerConfig>,
    servers: Vec<GossipServer>,
    clients: Vec<GossipClient>,
    /// Per server: routing id -> the DEALER behind it.
    routes: Vec<HashMap<Vec<u8>, Peer>>,
    /// A client's DEALER for one of its servers -> (server, routing id).
    client_links: HashMap<(usize, ServerId), (usize, Vec<u8>)>,
    /// A server's DEALER to a remote -> (server, routing id).
    remote_links: HashMap<(usize, RemoteId), (usize, Vec<u8>)>,
    next_routing_id: u32,
    in_flight: VecDeque<Packet>,
    /// Clients cut off the network: frames to and from them are lost.
    muted: HashSet<usize>,
    frames_moved: usize,
    /// Per client: its `Deliver` outputs.
    delivered: Vec<Vec<(String, String)>>,
    /// Per client: every frame it received.
    received: Vec<Vec<Vec<u8>>>,
    /// Per client: how many `Connect` it asked for.
    connects: Vec<usize>,
    /// Per server: its `Delivered` and `Expired` outputs.
    events: Vec<Vec<ServerOutput>>,
}

impl Net {
    fn new(now: Instant) -> Self {
        Net {
            now,
            server_configs: Vec::new(),
            servers: Vec::new(),
            clients: Vec::new(),
            routes: Vec::new(),
            client_links: HashMap::new(),
            remote_links: HashMap::new(),
            next_routing_id: 0,
            in_flight: VecDeque::new(),
            muted: HashSet::new(),
            frames_moved: 0,
            delivered: Vec::new(),
            received: Vec::new(),
            connects: Vec::new(),
            events: Vec::new(),
        }
    }

    fn add_server(&mut self, config: ServerConfig) -> usize {
        self.servers.push(GossipServer::new(config.clone(), self.now));
        self.server_configs.push(config);
        self.routes.push(HashMap::new());
        self.events.push(Vec::new());
        self.servers.len() - 1
    }

    fn add_client(&mut self, config: ClientConfig) -> usize {
        self.clients.push(GossipClient::new(config, self.now));
        self.delivered.push(Vec::new());
        self.received.push(Vec::new());
        self.connects.push(0);
        self.clients.len() - 1
    }

    /// A client with the given servers, all settled.
    fn client_on(&mut self, config: ClientConfig, servers: &[usize]) -> usize {
        let client = self.add_client(config);
        for &server in servers {
            self.clients[client].add_server(self.now, &endpoint(server));
        }
        self.pump();
        client
    }

    fn connect_remote(&mut self, from: usize, to: usize) -> RemoteId {
        let remote = self.servers[from].connect_remote(self.now, &endpoint(to));
        self.pump();
        remote
    }

    fn publish(&mut self, client: usize, key: &str, value: &str) {
        self.clients[client].publish(self.now, key, value);
        self.pump();
    }

    /// The server process restarts: same endpoint, no state. Connected
    /// DEALERs reconnect by themselves, as ZeroMQ's do.
    fn restart_server(&mut self, server: usize) {
        self.servers[server] = GossipServer::new(self.server_configs[server].clone(), self.now);
        let old_links: Vec<_> = self
            .remote_links
            .keys()
            .filter(|(from, _)| *from == server)
            .copied()
            .collect();
        for link in old_links {
            if let Some((to, routing_id)) = self.remote_links.remove(&link) {
                self.routes[to].remove(&routing_id);
            }
        }
    }

    fn new_routing_id(&mut self) -> Vec<u8> {
        self.next_routing_id += 1;
        // Like a ZeroMQ ROUTER's generated ids: 5 bytes, a leading zero.
        let mut id = vec![0];
        id.extend_from_slice(&self.next_routing_id.to_be_bytes());
        id
    }

    /// Moves frames until every node is quiet.
    fn pump(&mut self) {
        let mut moved = 0;
        loop {
            self.collect_outputs();
            let Some(packet) = self.in_flight.pop_front() else {
                break;
            };
            self.deliver(packet);
            moved += 1;
            self.frames_moved += 1;
            assert!(moved < MAX_FRAMES_PER_PUMP, "the network never goes quiet");
        }
    }

    fn collect_outputs(&mut self) {
        for server in 0..self.servers.len() {
            while let Some(output) = self.servers[server].poll_output() {
                self.route_server_output(server, output);
            }
        }
        for client in 0..self.clients.len() {
            while let Some(output) = self.clients[client].poll_output() {
                self.route_client_output(client, output);
            }
        }
    }

    fn route_server_output(&mut self, server: usize, output: ServerOutput) {
        match output {
            ServerOutput::SendToClient {
                client,
                envelope,
                frame,
            } => match self.routes[server].get(&client) {
                Some(&Peer::Client(client, via)) => self.in_flight.push_back(Packet::DownToClient {
                    client,
                    via,
                    envelope,
                    frame,
                }),
                Some(&Peer::Remote(server, remote)) => self.in_flight.push_back(Packet::DownToRemote {
                    server,
                    remote,
                    frame,
                }),
                None => {} // a ROUTER drops frames for routing ids it does not have
            },
            ServerOutput::ConnectRemote { remote, endpoint } => {
                let to = server_index(&endpoint);
                let routing_id = self.new_routing_id();
                self.routes[to].insert(routing_id.clone(), Peer::Remote(server, remote));
                self.remote_links.insert((server, remote), (to, routing_id));
            }
            ServerOutput::SendToRemote { remote, frame } => {
                let (to, routing_id) = self.remote_links[&(server, remote)].clone();
                self.in_flight.push_back(Packet::Upstream {
                    server: to,
                    routing_id,
                    frame,
                });
            }
            event @ (ServerOutput::Delivered { .. } | ServerOutput::Expired { .. }) => {
                self.events[server].push(event)
            }
        }
    }

    fn route_client_output(&mut self, client: usize, output: ClientOutput) {
        match output {
            ClientOutput::Connect {
                server: via,
                endpoint,
                identity,
            } => {
                let to = server_index(&endpoint);
                // A ROUTER routes by the identity a DEALER presents.
                let routing_id = identity.unwrap_or_else(|| self.new_routing_id());
                self.routes[to].insert(routing_id.clone(), Peer::Client(client, via));
                assert!(
                    self.client_links
                        .insert((client, via), (to, routing_id))
                        .is_none()
                );
                self.connects[client] += 1;
            }
            ClientOutput::Disconnect { server: via } => {
                let (to, routing_id) = self.client_links.remove(&(client, via)).expect("connected");
                self.routes[to].remove(&routing_id);
            }
            ClientOutput::Send { server: via, frame } => {
                if self.muted.contains(&client) {
                    return;
                }
                let (to, routing_id) = self.client_links[&(client, via)].clone();
                self.in_flight.push_back(Packet::Upstream {
                    server: to,
                    routing_id,
                    frame,
                });
            }
            ClientOutput::Deliver { key, value } => self.delivered[client].push((key, value)),
        }
    }

    fn deliver(&mut self, packet: Packet) {
        let now = self.now;
        match packet {
            Packet::Upstream {
                server,
                routing_id,
                frame,
            } => self.servers[server].handle_client_frame(now, &routing_id, &frame),
            Packet::DownToClient {
                client,
                via,
                envelope,
                frame,
            } => {
                if self.muted.contains(&client) {
                    return;
                }
                match envelope {
                    Some(envelope) => {
                        self.clients[client].handle_message(now, via, &[envelope, frame.clone()])
                    }
                    None => self.clients[client].handle_frame(now, via, &frame),
                }
                self.received[client].push(frame);
            }
            Packet::DownToRemote {
                server,
                remote,
                frame,
            } => self.servers[server].handle_remote_frame(now, remote, &frame),
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let servers = self.servers.iter().filter_map(GossipServer::poll_timeout);
        let clients = self.clients.iter().filter_map(GossipClient::poll_timeout);
        servers.chain(clients).min()
    }

    /// Runs every timer due up to `until`, in order, settling the network
    /// after each.
    fn run_until(&mut self, until: Instant) {
        self.pump();
        for _ in 0..1_000_000 {
            match self.next_deadline() {
                Some(at) if at <= until => {
                    self.now = self.now.max(at);
                    let now = self.now;
                    self.servers
                        .iter_mut()
                        .for_each(|server| server.handle_timeout(now));
                    self.clients
                        .iter_mut()
                        .for_each(|client| client.handle_timeout(now));
                    self.pump();
                }
                _ => {
                    self.now = self.now.max(until);
                    return;
                }
            }
        }
        panic!("timers keep firing without time moving on");
    }

    fn run_for(&mut self, duration: Duration) {
        self.run_until(self.now + duration);
    }

    fn has_tuple(&self, server: usize, key: &str) -> bool {
        self.servers[server].tuples().any(|(k, _)| k == key)
    }

    fn deliveries(&self, client: usize, key: &str) -> usize {
        self.delivered[client].iter().filter(|(k, _)| k == key).count()
    }

    /// PUBLISH frames for `key` that reached `client`.
    fn publishes_received(&self, client: usize, key: &str) -> usize {
        self.received[client]
            .iter()
            .filter(|frame| matches!(GossipMessage::parse(frame), Ok(GossipMessage::Publish { key: k, .. }) if k == key))
            .count()
    }

    fn invalids_received(&self, client: usize) -> usize {
        self.received[client]
            .iter()
            .filter(|frame| GossipMessage::parse(frame) == Ok(GossipMessage::Invalid))
            .count()
    }

    fn expired(&self, server: usize, key: &str) -> usize {
        self.events[server]
            .iter()
            .filter(|event| matches!(event, ServerOutput::Expired { key: k } if k == key))
            .count()
    }

    fn pending_outputs(&mut self) -> usize {
        self.in_flight.len()
    }
}

fn drain(server: &mut GossipServer) -> Vec<ServerOutput> {
    std::iter::from_fn(|| server.poll_output()).collect()
}

/// The messages `outputs` send to routing id `to`.
fn sent_to<'a>(outputs: &'a [ServerOutput], to: &[u8]) -> Vec<GossipMessage<'a>> {
    outputs
        .iter()
        .filter_map(|output| match output {
            ServerOutput::SendToClient { client, frame, .. } if client == to => {
                Some(GossipMessage::parse(frame).expect("the server sends valid frames"))
            }
            _ => None,
        })
        .collect()
}

fn expired_keys(outputs: &[ServerOutput]) -> Vec<&str> {
    outputs
        .iter()
        .filter_map(|output| match output {
            ServerOutput::Expired { key } => Some(key.as_str()),
            _ => None,
        })
        .collect()
}

fn publish_frame(key: &str, value: &str, ttl: u32) -> Vec<u8> {
    frame(GossipMessage::Publish { key, value, ttl })
}

#[test]
fn publish_reaches_every_other_client_once_and_is_not_echoed() {
    let mut net = Net::new(Instant::now());
    let server = net.add_server(ServerConfig::default());
    let clients: Vec<usize> = (0..3)
        .map(|_| net.client_on(ClientConfig::default(), &[server]))
        .collect();

    net.publish(clients[0], &key(0), &inbox(0));
    for &other in &clients[1..] {
        assert_eq!(net.delivered[other], vec![(key(0), inbox(0))]);
        assert_eq!(net.publishes_received(other, &key(0)), 1);
    }
    assert_eq!(
        net.publishes_received(clients[0], &key(0)),
        0,
        "no echo to the publisher"
    );
    assert!(net.delivered[clients[0]].is_empty());

    net.publish(clients[1], &key(1), &inbox(1));
    // A latecomer's HELLO brings it everything stored so far.
    let late = net.client_on(ClientConfig::default(), &[server]);
    let mut got = net.delivered[late].clone();
    got.sort();
    assert_eq!(got, vec![(key(0), inbox(0)), (key(1), inbox(1))]);
    let publishes = net.received[late]
        .iter()
        .filter(|f| matches!(GossipMessage::parse(f), Ok(GossipMessage::Publish { .. })))
        .count();
    assert_eq!(publishes, 2, "exactly one PUBLISH per tuple");
}

/// A newcomer gets the stored tuples heard of longest ago first, the
/// latest published or refreshed last, whatever their keys: a node keeps
/// the newest of a burst of announcements, and in key order a live peer's
/// tuple was dropped behind thousands of stale ones (netns::exhaustion's
/// victim, in a CI run, met the real node only at its next forward).
#[test]
fn a_newcomer_gets_the_tuples_heard_of_longest_ago_first() {
    let mut net = Net::new(Instant::now());
    let server = net.add_server(ServerConfig::default());
    let publishers: Vec<usize> = (0..3)
        .map(|_| net.client_on(ClientConfig::default(), &[server]))
        .collect();
    // Heard in the order 2, 3, 1, then 2 refreshed (key order: 1, 2, 3).
    for (publisher, n) in publishers.iter().zip([2u8, 3, 1]) {
        net.publish(*publisher, &key(n), &inbox(n));
        net.run_for(secs(1));
    }
    net.publish(publishers[0], &key(2), &inbox(2));
    let late = net.client_on(ClientConfig::default(), &[server]);
    let order: Vec<&str> = net.delivered[late].iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(order, [key(3), key(1), key(2)]);
}

#[test]
fn identical_republish_is_not_forwarded_but_a_changed_value_is() {
    let mut net = Net::new(Instant::now());
    let server = net.add_server(ServerConfig::default());
    let publisher = net.client_on(ClientConfig::default(), &[server]);
    let listener = net.client_on(ClientConfig::default(), &[server]);

    net.publish(publisher, &key(1), "v1");
    net.publish(publisher, &key(1), "v1");
    assert_eq!(net.publishes_received(listener, &key(1)), 1);

    net.publish(publisher, &key(1), "v2");
    assert_eq!(net.publishes_received(listener, &key(1)), 2);
    assert_eq!(
        net.delivered[listener],
        vec![(key(1), "v1".into()), (key(1), "v2".into())]
    );
    let delivered_on_server = net.events[server]
        .iter()
        .filter(|event| matches!(event, ServerOutput::Delivered { .. }))
        .count();
    assert_eq!(delivered_on_server, 2, "one per new or changed value");
    assert_eq!(
        net.servers[server].tuples().collect::<Vec<_>>(),
        vec![(key(1).as_str(), "v2")]
    );
}

#[test]
fn unrefreshed_tuple_expires_exactly_at_its_ttl() {
    let t0 = Instant::now();
    let mut server = GossipServer::new(ServerConfig::default(), t0);
    server.handle_client_frame(t0, b"a", &frame(GossipMessage::Hello));
    server.handle_client_frame(t0, b"a", &publish_frame(&key(1), &inbox(1), 5000));
    server.publish(t0 + ms(1000), &key(2), &inbox(2), secs(5));
    drain(&mut server);
    assert_eq!(server.poll_timeout(), Some(t0 + secs(5)));

    server.handle_timeout(t0 + ms(4999));
    assert!(expired_keys(&drain(&mut server)).is_empty());
    assert_eq!(server.tuples().count(), 2);

    server.handle_timeout(t0 + secs(5));
    assert_eq!(expired_keys(&drain(&mut server)), vec![key(1).as_str()]);
    assert_eq!(
        server.tuples().map(|(k, _)| k).collect::<Vec<_>>(),
        vec![key(2).as_str()]
    );

    server.handle_timeout(t0 + ms(5999));
    assert!(expired_keys(&drain(&mut server)).is_empty());
    server.handle_timeout(t0 + secs(6));
    assert_eq!(expired_keys(&drain(&mut server)), vec![key(2).as_str()]);
    assert_eq!(server.tuples().count(), 0);
}

#[test]
fn republished_tuple_never_expires() {
    let t0 = Instant::now();
    let mut net = Net::new(t0);
    let server = net.add_server(ServerConfig::default());
    let config = ClientConfig {
        ttl: secs(3),
        ..ClientConfig::default()
    };
    let publisher = net.client_on(config.clone(), &[server]);
    let listener = net.client_on(config, &[server]);
    net.publish(publisher, &key(1), &inbox(1));

    for step in 1..=120 {
        net.run_until(t0 + ms(250 * step));
        assert!(net.has_tuple(server, &key(1)), "gone at {:?}", net.now - t0);
    }
    assert_eq!(net.expired(server, &key(1)), 0);
    assert_eq!(net.deliveries(listener, &key(1)), 1);
}

#[test]
fn ttl_zero_never_expires_without_a_default_ttl() {
    let t0 = Instant::now();
    let mut server = GossipServer::new(ServerConfig::default(), t0);
    server.handle_client_frame(t0, b"a", &frame(GossipMessage::Hello));
    server.handle_client_frame(t0, b"a", &publish_frame(&key(1), &inbox(1), 0));
    server.handle_timeout(t0 + secs(365 * 24 * 3600));
    assert!(expired_keys(&drain(&mut server)).is_empty());
    assert_eq!(server.tuples().count(), 1);
    assert_eq!(
        server.poll_timeout(),
        None,
        "nothing left to time: client forgotten, tuple eternal"
    );
}

#[test]
fn ttl_zero_expires_after_the_default_ttl_when_set_and_is_forwarded_as_zero() {
    let t0 = Instant::now();
    let config = ServerConfig {
        default_ttl: Some(secs(2)),
        ..ServerConfig::default()
    };
    let mut server = GossipServer::new(config, t0);
    server.handle_client_frame(t0, b"a", &frame(GossipMessage::Hello));
    server.handle_client_frame(t0, b"b", &frame(GossipMessage::Hello));
    server.handle_client_frame(t0, b"a", &publish_frame(&key(1), &inbox(1), 0));
    let out = drain(&mut server);
    let forwarded = GossipMessage::Publish {
        key: &key(1),
        value: &inbox(1),
        ttl: 0,
    };
    assert_eq!(sent_to(&out, b"b"), vec![forwarded.clone()]);

    server.handle_timeout(t0 + ms(1999));
    assert_eq!(server.tuples().count(), 1);
    server.handle_timeout(t0 + secs(2));
    assert_eq!(expired_keys(&drain(&mut server)), vec![key(1).as_str()]);
    assert_eq!(server.tuples().count(), 0);
}

#[test]
fn forwarded_ttl_is_what_remains_rounded_up_to_milliseconds() {
    let t0 = Instant::now();
    let mut server = GossipServer::new(ServerConfig::default(), t0);
    server.handle_client_frame(t0, b"a", &frame(GossipMessage::Hello));
    server.handle_client_frame(t0, b"b", &frame(GossipMessage::Hello));
    server.handle_client_frame(t0, b"a", &publish_frame(&key(1), &inbox(1), 5000));
    let out = drain(&mut server);
    assert!(matches!(
        sent_to(&out, b"b")[..],
        [GossipMessage::Publish { ttl: 5000, .. }]
    ));

    let later = t0 + ms(1500) + Duration::from_micros(300);
    server.handle_client_frame(later, b"c", &frame(GossipMessage::Hello));
    let out = drain(&mut server);
    assert!(
        matches!(
            sent_to(&out, b"c")[..],
            [GossipMessage::Publish { ttl: 3500, .. }]
        ),
        "3499.7 ms left rounds up to 3500: {out:?}"
    );
}

#[test]
fn silent_client_is_forgotten_then_recovers_through_invalid() {
    let t0 = Instant::now();
    let mut net = Net::new(t0);
    let server = net.add_server(ServerConfig {
        client_timeout: secs(2),
        ..ServerConfig::default()
    });
    // Pings less often than the server's timeout: it is forgotten between them.
    let config = ClientConfig {
        ping_interval: secs(3),
        server_timeout: secs(10),
        ..ClientConfig::default()
    };
    let a = net.client_on(config.clone(), &[server]);
    let b = net.client_on(config, &[server]);
    net.publish(a, &key(1), &inbox(1));
    net.publish(b, &key(2), &inbox(2));
    assert_eq!(net.publishes_received(a, &key(2)), 1);

    net.run_until(t0 + ms(1999));
    assert_eq!(net.servers[server].client_count(), 2);
    net.run_until(t0 + secs(2));
    assert_eq!(
        net.servers[server].client_count(),
        0,
        "both silent for client_timeout"
    );
    assert_eq!(net.servers[server].tuples().count(), 2, "their tuples stay");

    net.run_until(t0 + secs(3));
    assert_eq!(net.invalids_received(a), 1, "its PING got INVALID");
    assert_eq!(net.invalids_received(b), 1);
    assert_eq!(net.servers[server].client_count(), 2, "both said HELLO again");
    assert_eq!(net.publishes_received(a, &key(2)), 2, "a got every tuple again");
    assert_eq!(net.publishes_received(b, &key(1)), 2);
    assert_eq!(net.deliveries(a, &key(2)), 1, "but delivered it once");
    assert_eq!(net.deliveries(b, &key(1)), 1);
    assert_eq!(
        net.publishes_received(a, &key(1)),
        1,
        "the HELLO reply had a's own tuple"
    );
    assert_eq!(net.deliveries(a, &key(1)), 0, "which is not delivered back");
}

#[test]
fn clients_recover_after_a_server_restart() {
    let t0 = Instant::now();
    let mut net = Net::new(t0);
    let server = net.add_server(ServerConfig::default());
    let a = net.client_on(ClientConfig::default(), &[server]);
    let b = net.client_on(ClientConfig::default(), &[server]);
    net.publish(a, &key(1), &inbox(1));
    net.publish(b, &key(2), &inbox(2));

    net.run_until(t0 + ms(1500));
    net.restart_server(server);
    assert_eq!(net.servers[server].tuples().count(), 0);

    // The next PINGs (at 2 s) get INVALID; HELLO and re-publishing follow.
    net.run_until(t0 + secs(2));
    assert_eq!(net.invalids_received(a), 1);
    assert_eq!(net.invalids_received(b), 1);
    let tuples: Vec<_> = net.servers[server].tuples().collect();
    assert_eq!(
        tuples,
        vec![
            (key(1).as_str(), inbox(1).as_str()),
            (key(2).as_str(), inbox(2).as_str())
        ]
    );
    assert_eq!(net.servers[server].client_count(), 2);
    assert_eq!(
        net.publishes_received(a, &key(2)),
        2,
        "b's tuple reached a through the new server"
    );
    assert_eq!(net.publishes_received(b, &key(1)), 2, "and a's reached b");
    assert_eq!(net.deliveries(a, &key(2)), 1);
    assert_eq!(net.deliveries(b, &key(1)), 1);
    assert!(
        net.deliveries(a, &key(1)) + net.deliveries(b, &key(2)) == 0,
        "own tuples never delivered"
    );
}

#[test]
fn a_silent_server_is_reconnected() {
    let t0 = Instant::now();
    let mut net = Net::new(t0);
    let server = net.add_server(ServerConfig::default());
    let a = net.client_on(ClientConfig::default(), &[server]);
    let b = net.client_on(ClientConfig::default(), &[server]);
    net.publish(a, &key(1), &inbox(1));

    net.muted.insert(a);
    net.run_until(t0 + ms(4999));
    assert_eq!(net.connects[a], 1);
    net.run_until(t0 + secs(5));
    assert_eq!(net.connects[a], 2, "Disconnect + Connect after server_timeout");

    net.muted.remove(&a);
    net.publish(b, &key(2), &inbox(2));
    net.run_for(secs(2));
    assert_eq!(net.deliveries(a, &key(2)), 1, "back in touch");
}

#[test]
fn tuples_cross_two_servers_exactly_once() {
    let t0 = Instant::now();
    let mut net = Net::new(t0);
    let server_a = net.add_server(ServerConfig::default());
    let server_b = net.add_server(ServerConfig::default());
    net.connect_remote(server_b, server_a);
    let on_a = net.client_on(ClientConfig::default(), &[server_a]);
    let on_b = net.client_on(ClientConfig::default(), &[server_b]);

    net.publish(on_a, &key(1), &inbox(1));
    assert_eq!(net.deliveries(on_b, &key(1)), 1);
    assert_eq!(net.publishes_received(on_b, &key(1)), 1);
    net.publish(on_b, &key(2), &inbox(2));
    assert_eq!(net.deliveries(on_a, &key(2)), 1);
    assert_eq!(net.publishes_received(on_a, &key(2)), 1);
    assert_eq!(net.publishes_received(on_a, &key(1)), 0, "no echo across servers");
    assert_eq!(net.publishes_received(on_b, &key(2)), 0);

    // Several TTLs later (30 s, re-published every 10 s) nothing has been
    // delivered twice, both servers still hold both tuples, and server B's
    // pings kept server A from forgetting it.
    net.run_for(secs(100));
    assert_eq!(net.deliveries(on_a, &key(2)), 1);
    assert_eq!(net.deliveries(on_b, &key(1)), 1);
    for server in [server_a, server_b] {
        assert!(net.has_tuple(server, &key(1)) && net.has_tuple(server, &key(2)));
    }
    assert_eq!(net.servers[server_a].client_count(), 2, "on_a and server B");
    assert_eq!(net.invalids_received(on_a) + net.invalids_received(on_b), 0);
}

#[test]
fn servers_connected_both_ways_go_quiet() {
    let t0 = Instant::now();
    let mut net = Net::new(t0);
    let server_a = net.add_server(ServerConfig::default());
    let server_b = net.add_server(ServerConfig::default());
    net.connect_remote(server_a, server_b);
    net.connect_remote(server_b, server_a);
    let config = ClientConfig {
        ttl: secs(3),
        ..ClientConfig::default()
    };
    let on_a = net.client_on(config.clone(), &[server_a]);
    let on_b = net.client_on(config, &[server_b]);

    let before = net.frames_moved;
    net.publish(on_a, &key(1), &inbox(1));
    // PUBLISH to A; A to B twice (B's DEALER is A's client, and A's remote);
    // B to its client and back to A once, where it stops.
    assert_eq!(net.frames_moved - before, 5);
    assert_eq!(net.pending_outputs(), 0);
    assert_eq!(net.deliveries(on_b, &key(1)), 1);

    // Re-published every second for 10 TTLs: the loop ends every time.
    net.run_for(secs(30));
    assert_eq!(net.deliveries(on_b, &key(1)), 1);
    assert!(net.has_tuple(server_b, &key(1)));
    assert_eq!(net.expired(server_b, &key(1)), 0);
    // Per second: 2 clients ping + pong, 2 remotes ping + pong every 10/3 s,
    // one re-publish, and its forwards every other second: far below 30.
    assert!(
        net.frames_moved - before < 30 * 30,
        "{} frames",
        net.frames_moved - before
    );
}

#[test]
fn three_server_chain_keeps_a_ttl_alive_and_lets_it_expire() {
    let t0 = Instant::now();
    let mut net = Net::new(t0);
    let servers: Vec<usize> = (0..3).map(|_| net.add_server(ServerConfig::default())).collect();
    net.connect_remote(servers[1], servers[0]);
    net.connect_remote(servers[2], servers[1]);
    let ttl = secs(3);
    let config = ClientConfig {
        ttl,
        ..ClientConfig::default()
    };
    let publisher = net.client_on(config.clone(), &[servers[0]]);
    let far = net.client_on(config, &[servers[2]]);
    net.publish(publisher, &key(1), &inbox(1));

    for step in 1..=300 {
        net.run_until(t0 + ms(100 * step));
        assert!(net.has_tuple(servers[2], &key(1)), "gone at {:?}", net.now - t0);
    }
    assert_eq!(net.now - t0, ttl * 10);
    for &server in &servers {
        assert_eq!(net.expired(server, &key(1)), 0);
    }
    assert_eq!(net.deliveries(far, &key(1)), 1);

    // The publisher goes away: within one TTL the tuple is gone everywhere.
    net.muted.insert(publisher);
    net.run_for(ttl);
    for &server in &servers {
        assert!(!net.has_tuple(server, &key(1)), "server {server} still has it");
        assert_eq!(net.expired(server, &key(1)), 1);
    }
}

#[test]
fn a_remote_that_restarts_gets_our_tuples_again() {
    let t0 = Instant::now();
    let mut net = Net::new(t0);
    let server_a = net.add_server(ServerConfig::default());
    let server_b = net.add_server(ServerConfig::default());
    net.connect_remote(server_b, server_a);
    let on_b = net.client_on(ClientConfig::default(), &[server_b]);
    net.publish(on_b, &key(2), &inbox(2));
    assert!(net.has_tuple(server_a, &key(2)));

    net.restart_server(server_a);
    // B pings A every client_timeout / 3; the first PING gets INVALID.
    net.run_for(ms(3334));
    assert!(net.has_tuple(server_a, &key(2)));
    assert_eq!(net.servers[server_a].client_count(), 1);
}

#[test]
fn a_client_on_two_servers_gets_each_tuple_once() {
    let mut net = Net::new(Instant::now());
    let servers = [
        net.add_server(ServerConfig::default()),
        net.add_server(ServerConfig::default()),
    ];
    let listener = net.client_on(ClientConfig::default(), &servers);
    let publisher = net.client_on(ClientConfig::default(), &servers);
    net.publish(publisher, &key(1), &inbox(1));
    assert_eq!(net.publishes_received(listener, &key(1)), 2);
    assert_eq!(net.deliveries(listener, &key(1)), 1);
}

#[test]
fn hostile_frames_get_invalid_and_change_nothing() {
    let t0 = Instant::now();
    let mut server = GossipServer::new(ServerConfig::default(), t0);
    let mut truncated_publish = publish_frame(&key(1), &inbox(1), 1000);
    truncated_publish.truncate(truncated_publish.len() - 2);
    let hostile: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xAA],
        b"garbage".to_vec(),
        vec![0xAA, 0xA0, 0x09, 0x01],             // unknown id
        vec![0xAA, 0xA0, 0x00, 0x01],             // id 0
        vec![0xAA, 0xA0, 0x01, 0x02],             // HELLO, version 2
        vec![0xAA, 0xA0, 0x02, 0x01, 0xFF, b'k'], // key says 255 bytes, has 1
        vec![0xAA, 0xA0, 0x02, 0x01, 0x01, b'k', 0xFF, 0xFF, 0xFF, 0xFF, b'v'], // value says 4 GiB
        vec![0xAA, 0xA0, 0x02, 0x01, 0x02, 0xC3, 0x28, 0, 0, 0, 0, 0, 0, 0, 0], // key not UTF-8
        truncated_publish,
        frame(GossipMessage::Pong),
        frame(GossipMessage::Invalid),
    ];
    for (n, bad) in hostile.iter().enumerate() {
        // From a stranger, and from a client that said HELLO first.
        for hello_first in [false, true] {
            let client = format!("client-{n}-{hello_first}").into_bytes();
            if hello_first {
                server.handle_client_frame(t0, &client, &frame(GossipMessage::Hello));
            }
            drain(&mut server);
            server.handle_client_frame(t0, &client, bad);
            let out = drain(&mut server);
            assert_eq!(out.len(), 1, "frame {n}: {out:?}");
            assert_eq!(sent_to(&out, &client), vec![GossipMessage::Invalid], "frame {n}");
            assert_eq!(server.client_count(), 0, "frame {n}: client forgotten");
        }
    }
    assert_eq!(server.tuples().count(), 0);

    // PUBLISH before HELLO is not stored.
    server.handle_client_frame(t0, b"x", &publish_frame(&key(1), &inbox(1), 0));
    assert_eq!(sent_to(&drain(&mut server), b"x"), vec![GossipMessage::Invalid]);
    assert_eq!(server.tuples().count(), 0);

    // The longest key the wire allows is fine; a longer one cannot be
    // published by the host nor by a client, and nothing panics.
    server.handle_client_frame(t0, b"x", &frame(GossipMessage::Hello));
    server.handle_client_frame(t0, b"x", &publish_frame(&"K".repeat(255), "v", 0));
    assert_eq!(server.tuples().count(), 1);
    server.publish(t0, &"K".repeat(256), "v", secs(1));
    assert_eq!(server.tuples().count(), 1);
    let mut client = GossipClient::new(ClientConfig::default(), t0);
    client.add_server(t0, "tcp://server:31337");
    std::iter::from_fn(|| client.poll_output()).for_each(drop);
    client.publish(t0, &"K".repeat(256), "v");
    assert_eq!(client.poll_output(), None);

    // Frames on a remote link or from unknown remotes are ignored, never answered.
    let remote = server.connect_remote(t0, "tcp://other:31337");
    drain(&mut server);
    for bad in &hostile {
        server.handle_remote_frame(t0, remote, bad);
        server.handle_remote_frame(t0, RemoteId(99), bad);
    }
    let answers: Vec<_> = drain(&mut server)
        .into_iter()
        .filter(|output| !matches!(output, ServerOutput::SendToRemote { .. }))
        .collect();
    assert!(answers.is_empty(), "{answers:?}");
}

#[test]
fn random_frames_never_panic_and_replies_stay_valid() {
    let t0 = Instant::now();
    let config = ServerConfig {
        max_tuples: 16,
        max_clients: 4,
        client_timeout: secs(1),
        ..ServerConfig::default()
    };
    let mut server = GossipServer::new(config, t0);
    let remote = server.connect_remote(t0, "tcp://other:31337");
    let mut client = GossipClient::new(ClientConfig::default(), t0);
    let via = client.add_server(t0, "tcp://server:31337");
    let valid = [
        frame(GossipMessage::Hello),
        frame(GossipMessage::Ping),
        frame(GossipMessage::Pong),
        frame(GossipMessage::Invalid),
        publish_frame(&key(1), &inbox(1), 10),
        publish_frame("", "", u32::MAX),
    ];
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut now = t0;
    for _ in 0..20_000 {
        now += ms(rng.below(50) as u64);
        let mut bytes = valid[rng.below(valid.len())].clone();
        match rng.below(4) {
            0 => {
                let len = rng.below(bytes.len() + 1);
                bytes.truncate(len);
            }
            1 if !bytes.is_empty() => {
                let at = rng.below(bytes.len());
                bytes[at] = rng.next() as u8;
            }
            2 => bytes.extend((0..rng.below(8)).map(|_| rng.next() as u8)),
            _ => {}
        }
        let who = [rng.below(8) as u8];
        server.handle_client_frame(now, &who, &bytes);
        server.handle_remote_frame(now, remote, &bytes);
        client.handle_frame(now, via, &bytes);
        server.handle_timeout(now);
        client.handle_timeout(now);
        while let Some(output) = server.poll_output() {
            if let ServerOutput::SendToClient { frame, .. } | ServerOutput::SendToRemote { frame, .. } =
                output
            {
                assert!(GossipMessage::parse(&frame).is_ok());
            }
        }
        while let Some(output) = client.poll_output() {
            if let ClientOutput::Send { frame, .. } = output {
                assert!(GossipMessage::parse(&frame).is_ok());
            }
        }
        assert!(server.tuples().count() <= 16);
        assert!(server.client_count() <= 4);
    }
}

#[test]
fn max_tuples_drops_new_keys_but_updates_existing_ones() {
    let t0 = Instant::now();
    let config = ServerConfig {
        max_tuples: 3,
        ..ServerConfig::default()
    };
    let mut server = GossipServer::new(config, t0);
    server.handle_client_frame(t0, b"a", &frame(GossipMessage::Hello));
    server.handle_client_frame(t0, b"b", &frame(GossipMessage::Hello));
    for n in 0..5 {
        server.handle_client_frame(t0, b"a", &publish_frame(&key(n), "v1", 0));
    }
    let out = drain(&mut server);
    assert_eq!(sent_to(&out, b"b").len(), 3, "dropped keys are not forwarded");
    let keys: Vec<_> = server.tuples().map(|(k, _)| k.to_owned()).collect();
    assert_eq!(keys, vec![key(0), key(1), key(2)]);

    server.handle_client_frame(t0, b"a", &publish_frame(&key(1), "v2", 0));
    assert_eq!(sent_to(&drain(&mut server), b"b").len(), 1);
    assert!(server.tuples().any(|(k, v)| k == key(1) && v == "v2"));
    assert_eq!(server.tuples().count(), 3);
}

#[test]
fn max_clients_turns_away_extra_hellos() {
    let t0 = Instant::now();
    let config = ServerConfig {
        max_clients: 2,
        client_timeout: secs(10),
        ..ServerConfig::default()
    };
    let mut server = GossipServer::new(config, t0);
    server.handle_client_frame(t0, b"a", &frame(GossipMessage::Hello));
    server.handle_client_frame(t0, b"b", &frame(GossipMessage::Hello));
    server.handle_client_frame(t0, b"a", &publish_frame(&key(1), &inbox(1), 0));
    drain(&mut server);

    server.handle_client_frame(t0, b"c", &frame(GossipMessage::Hello));
    assert_eq!(sent_to(&drain(&mut server), b"c"), vec![GossipMessage::Invalid]);
    assert_eq!(server.client_count(), 2);

    // A known client's repeated HELLO is not a new client.
    server.handle_client_frame(t0 + secs(5), b"a", &frame(GossipMessage::Hello));
    assert!(matches!(
        sent_to(&drain(&mut server), b"a")[..],
        [GossipMessage::Publish { .. }]
    ));

    // Once b is forgotten there is room for c.
    server.handle_client_frame(t0 + secs(10), b"c", &frame(GossipMessage::Hello));
    assert!(matches!(
        sent_to(&drain(&mut server), b"c")[..],
        [GossipMessage::Publish { .. }]
    ));
    assert_eq!(server.client_count(), 2);
}

// ----- the two dialects: czmq's and haskell-zre's --------------------------

use zre::wire::gossip_dialect::{Decoded, HASKELL_TTL_FOREVER};
use zre::wire::{GossipDialect, GossipMessageId, RawGossip};

/// A raw UUID, as haskell-zre's client publishes it and uses as identity.
fn raw_uuid(n: u8) -> [u8; 16] {
    let mut raw = [0x5A; 16];
    raw[15] = n;
    raw
}

fn hex_of(raw: &[u8]) -> String {
    raw.iter().map(|b| format!("{b:02X}")).collect()
}

fn haskell_publish(key: &[u8], value: &str, ttl_secs: u32) -> Vec<u8> {
    RawGossip::Publish {
        key,
        value,
        ttl: ttl_secs,
    }
    .to_bytes()
    .unwrap()
}

/// What the server sent `to`: (envelope, parsed frame), in order.
fn sent_raw(outputs: &[ServerOutput], to: &[u8]) -> Vec<(Option<Vec<u8>>, Vec<u8>)> {
    outputs
        .iter()
        .filter_map(|output| match output {
            ServerOutput::SendToClient {
                client,
                envelope,
                frame,
            } if client == to => Some((envelope.clone(), frame.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn dialects_round_trip_keys_and_ttls() {
    let raw = raw_uuid(7);
    let hex = hex_of(&raw);
    for dialect in [GossipDialect::Czmq, GossipDialect::Haskell] {
        for ttl in [None, Some(secs(30)), Some(secs(600))] {
            let frame = dialect.publish(&hex, "tcp://10.0.0.1:5", ttl).unwrap();
            assert_eq!(
                dialect.decode(&frame).unwrap(),
                Decoded::Publish {
                    key: hex.clone(),
                    value: "tcp://10.0.0.1:5",
                    ttl
                },
                "{dialect:?} {ttl:?}"
            );
        }
        let hello = GossipMessage::Hello.to_bytes().unwrap();
        assert_eq!(
            dialect.decode(&hello).unwrap(),
            Decoded::Control(GossipMessageId::Hello)
        );
    }
    // On the wire: czmq's key is the hex text and its TTL milliseconds;
    // haskell-zre's key the 16 bytes and its TTL seconds.
    let czmq = GossipDialect::Czmq.publish(&hex, "v", Some(secs(30))).unwrap();
    assert_eq!(
        GossipMessage::parse(&czmq).unwrap(),
        GossipMessage::Publish {
            key: &hex,
            value: "v",
            ttl: 30_000
        }
    );
    let haskell = GossipDialect::Haskell.publish(&hex, "v", Some(secs(30))).unwrap();
    assert_eq!(
        RawGossip::parse(&haskell).unwrap(),
        RawGossip::Publish {
            key: &raw,
            value: "v",
            ttl: 30
        }
    );
    // Lower-case hex is a UUID too; a key that is none goes as is.
    assert_eq!(
        &GossipDialect::Haskell.key_to_wire(&hex.to_lowercase())[..],
        &raw[..]
    );
    assert_eq!(&GossipDialect::Haskell.key_to_wire("service")[..], b"service");
    // Short lifetimes never read as "forever" (czmq 0) or "gone" (haskell 0).
    assert_eq!(GossipDialect::Czmq.ttl_to_wire(Some(Duration::from_nanos(1))), 1);
    assert_eq!(GossipDialect::Haskell.ttl_to_wire(Some(ms(1))), 1);
    assert_eq!(GossipDialect::Haskell.ttl_to_wire(Some(ms(1001))), 2);
    assert_eq!(GossipDialect::Haskell.ttl_to_wire(None), HASKELL_TTL_FOREVER);
    assert_eq!(GossipDialect::Haskell.ttl_from_wire(u32::MAX), None);
    assert_eq!(GossipDialect::Czmq.ttl_from_wire(0), None);
}

#[test]
fn server_translates_each_tuple_into_each_clients_dialect_keeping_real_time_ttls() {
    let t0 = Instant::now();
    let mut server = GossipServer::new(ServerConfig::default(), t0);
    let czmq = vec![0, 0, 0, 0, 1];
    let raw = raw_uuid(2);
    let haskell = raw.to_vec();

    server.handle_client_frame(t0, &czmq, &frame(GossipMessage::Hello));
    server.handle_client_frame(t0, &czmq, &publish_frame(&key(1), &inbox(1), 30_000));
    // haskell-zre: HELLO then PUBLISH of its raw UUID, TTL 600 s. Its HELLO
    // alone does not tell its dialect: nothing is sent until the PUBLISH.
    server.handle_client_frame(t0, &haskell, &frame(GossipMessage::Hello));
    assert!(sent_raw(&drain(&mut server), &haskell).is_empty());
    let t1 = t0 + secs(10) - ms(1);
    server.handle_client_frame(t1, &czmq, &frame(GossipMessage::Ping));
    drain(&mut server);
    server.handle_client_frame(t1, &haskell, &haskell_publish(&raw, &inbox(2), 600));
    let out = drain(&mut server);

    // To haskell-zre: two frames, the raw key, what is left of 30 s, in s.
    let to_haskell = sent_raw(&out, &haskell);
    assert_eq!(to_haskell.len(), 1);
    assert_eq!(
        to_haskell[0].0.as_deref(),
        Some(&haskell[..]),
        "its identity as envelope"
    );
    let want_raw = zre::wire::gossip_dialect::uuid_from_hex(&key(1)).unwrap();
    assert_eq!(
        RawGossip::parse(&to_haskell[0].1).unwrap(),
        RawGossip::Publish {
            key: &want_raw,
            value: &inbox(1),
            // 20.001 s left, rounded up
            ttl: 21
        }
    );
    // To czmq: one frame, upper-case hex, 600 s in ms.
    let to_czmq = sent_raw(&out, &czmq);
    assert_eq!(to_czmq.len(), 1);
    assert_eq!(to_czmq[0].0, None);
    assert_eq!(
        GossipMessage::parse(&to_czmq[0].1).unwrap(),
        GossipMessage::Publish {
            key: &hex_of(&raw),
            value: &inbox(2),
            ttl: 600_000
        }
    );
    assert!(server.tuples().any(|(k, _)| k == hex_of(&raw)));

    // Each expires at its own TTL in real time: 30 s and 600 s.
    server.handle_timeout(t0 + secs(30));
    assert_eq!(expired_keys(&drain(&mut server)), vec![key(1).as_str()]);
    server.handle_timeout(t1 + secs(600) - ms(1));
    let out = drain(&mut server);
    assert!(expired_keys(&out).is_empty());
    // Never pinging, it was kept for its TTL, not the 10 s client timeout.
    server.handle_client_frame(t1 + secs(599), &czmq, &frame(GossipMessage::Hello));
    server.handle_client_frame(t1 + secs(599), &czmq, &publish_frame(&key(3), &inbox(3), 5000));
    let out = drain(&mut server);
    assert_eq!(
        sent_raw(&out, &haskell).len(),
        1,
        "still served after 589 s of silence"
    );
    server.handle_timeout(t1 + secs(600));
    assert_eq!(expired_keys(&drain(&mut server)), vec![hex_of(&raw).as_str()]);
}

#[test]
fn a_forgotten_haskell_client_is_taken_back_by_its_publish() {
    let t0 = Instant::now();
    let config = ServerConfig {
        client_timeout: secs(10),
        ..ServerConfig::default()
    };
    let mut server = GossipServer::new(config, t0);
    let raw = raw_uuid(4);
    // TTL 5 s: kept for the 10 s client timeout, then forgotten.
    server.handle_client_frame(t0, &raw, &frame(GossipMessage::Hello));
    server.handle_client_frame(t0, &raw, &haskell_publish(&raw, &inbox(4), 5));
    server.handle_timeout(t0 + secs(11));
    assert_eq!(server.client_count(), 0);
    drain(&mut server);
    // It ignores INVALID and never says HELLO again: its PUBLISH does.
    server.publish(t0 + secs(12), &key(9), &inbox(9), secs(60));
    server.handle_client_frame(t0 + secs(12), &raw, &haskell_publish(&raw, &inbox(4), 5));
    assert_eq!(server.client_count(), 1);
    let out = drain(&mut server);
    let sent = sent_raw(&out, &raw);
    assert!(
        sent.iter().all(|(envelope, frame)| envelope.is_some()
            && matches!(RawGossip::parse(frame), Ok(RawGossip::Publish { .. }))),
        "the HELLO answer, in its dialect: {sent:?}"
    );
    assert_eq!(sent.len(), 1);
}

#[test]
fn our_client_learns_a_haskell_server_from_its_replies_and_speaks_its_dialect() {
    let t0 = Instant::now();
    let uuid = raw_uuid(1);
    let config = ClientConfig {
        uuid: Some(uuid),
        ttl: secs(30),
        ..ClientConfig::default()
    };
    let mut client = GossipClient::new(config, t0);
    let server = client.add_server(t0, "tcp://h:31337");
    client.publish(t0, &hex_of(&uuid), &inbox(1));
    let out: Vec<_> = std::iter::from_fn(|| client.poll_output()).collect();
    assert!(matches!(&out[0], ClientOutput::Connect { identity: Some(id), .. } if id[..] == uuid[..]));
    let sent: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            ClientOutput::Send { frame, .. } => Some(GossipMessage::parse(frame).unwrap()),
            _ => None,
        })
        .collect();
    assert_eq!(
        sent,
        vec![GossipMessage::Hello, GossipMessage::Ping],
        "no tuple before the dialect is known"
    );

    // haskell-zre's server: an envelope frame, then PINGOK.
    let pong = GossipMessage::Pong.to_bytes().unwrap();
    client.handle_message(t0, server, &[&uuid[..], &pong]);
    let published: Vec<_> = std::iter::from_fn(|| client.poll_output())
        .filter_map(|o| match o {
            ClientOutput::Send { frame, .. } => Some(frame),
            _ => None,
        })
        .collect();
    assert_eq!(published.len(), 1);
    assert_eq!(
        RawGossip::parse(&published[0]).unwrap(),
        RawGossip::Publish {
            key: &uuid,
            value: &inbox(1),
            ttl: 30
        },
        "raw key, TTL in seconds"
    );

    // A haskell-zre peer's tuple: raw key to hex, TTL 600 s.
    let peer = raw_uuid(2);
    client.handle_message(
        t0,
        server,
        &[&uuid[..], &haskell_publish(&peer, &inbox(2), 600)[..]],
    );
    let delivered: Vec<_> = std::iter::from_fn(|| client.poll_output())
        .filter(|o| matches!(o, ClientOutput::Deliver { .. }))
        .collect();
    assert_eq!(
        delivered,
        vec![ClientOutput::Deliver {
            key: hex_of(&peer),
            value: inbox(2)
        }]
    );
    // Kept for 600 s, not 600 ms.
    client.handle_timeout(t0 + secs(599));
    assert_eq!(client.tuples().count(), 1);
    client.handle_timeout(t0 + secs(600));
    assert_eq!(client.tuples().count(), 0);
}

#[test]
fn our_client_with_its_uuid_as_identity_still_gets_czmq_from_our_server() {
    let mut net = Net::new(Instant::now());
    let server = net.add_server(ServerConfig::default());
    let with_uuid = |n| ClientConfig {
        uuid: Some(raw_uuid(n)),
        ..ClientConfig::default()
    };
    let a = net.client_on(with_uuid(1), &[server]);
    let b = net.client_on(with_uuid(2), &[server]);
    net.publish(a, &hex_of(&raw_uuid(1)), &inbox(1));
    assert_eq!(net.delivered[b], vec![(hex_of(&raw_uuid(1)), inbox(1))]);
    assert!(
        net.received[b].iter().all(|f| GossipMessage::parse(f).is_ok()),
        "czmq's frames: PING told the server"
    );
}

#[test]
fn malformed_input_in_either_dialect_gets_invalid_or_is_dropped() {
    let t0 = Instant::now();
    let mut server = GossipServer::new(ServerConfig::default(), t0);
    let raw = raw_uuid(3);
    server.handle_client_frame(t0, &raw, &frame(GossipMessage::Hello));
    // A key of 5 bytes that is no UTF-8: neither a raw UUID nor text.
    server.handle_client_frame(t0, &raw, &haskell_publish(b"\xff\xfe\xfd\xfc\xfb", "v", 600));
    let out = drain(&mut server);
    let sent = sent_raw(&out, &raw);
    assert_eq!(sent.len(), 1);
    assert_eq!(GossipMessage::parse(&sent[0].1), Ok(GossipMessage::Invalid));
    assert_eq!(server.tuples().count(), 0);
    // A truncated haskell-zre PUBLISH.
    let mut truncated = haskell_publish(&raw, "v", 600);
    truncated.truncate(truncated.len() - 2);
    server.handle_client_frame(t0, &raw, &truncated);
    assert_eq!(
        GossipMessage::parse(&sent_raw(&drain(&mut server), &raw)[0].1),
        Ok(GossipMessage::Invalid)
    );

    // The client: wrong frame counts, a layout that changes, garbage.
    let mut client = GossipClient::new(ClientConfig::default(), t0);
    let s = client.add_server(t0, "a");
    std::iter::from_fn(|| client.poll_output()).for_each(drop);
    let pong = GossipMessage::Pong.to_bytes().unwrap();
    let none: [&[u8]; 0] = [];
    client.handle_message(t0, s, &none);
    client.handle_message(t0, s, &[&b"a"[..], b"b", &pong]);
    client.handle_message(t0, s, &[&b"x"[..], b"junk"]);
    assert!(std::iter::from_fn(|| client.poll_output()).next().is_none());
    client.handle_frame(t0, s, &pong); // czmq: settled
    std::iter::from_fn(|| client.poll_output()).for_each(drop);
    client.handle_message(t0, s, &[&raw[..], &haskell_publish(&raw, "v", 600)[..]]);
    assert_eq!(
        client.tuples().count(),
        0,
        "a haskell-zre frame from a czmq server is dropped"
    );
}

#[test]
fn a_curve_value_crosses_two_servers_unchanged() {
    // Zyre's CURVE mode publishes `endpoint|<Z85 key>`; the servers store
    // and forward the value as it is, '|' and Z85 punctuation included.
    let key_text = zre::wire::curve_key::encode_z85(&[0xa5; 32]);
    let value = format!("{}|{key_text}", inbox(1));
    let mut net = Net::new(Instant::now());
    let server_a = net.add_server(ServerConfig::default());
    let server_b = net.add_server(ServerConfig::default());
    net.connect_remote(server_b, server_a);
    let on_a = net.client_on(ClientConfig::default(), &[server_a]);
    let on_b = net.client_on(ClientConfig::default(), &[server_b]);
    net.publish(on_a, &key(1), &value);
    assert_eq!(net.delivered[on_b], vec![(key(1), value.clone())]);
    let late = net.client_on(ClientConfig::default(), &[server_a]);
    assert_eq!(net.delivered[late], vec![(key(1), value)]);
}
