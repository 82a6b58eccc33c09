//! ZGossip client state machine (sans-I/O): what a ZRE node embeds to find
//! peers through one or more gossip servers.
//!
//! For each server the caller keeps a DEALER. We say HELLO, PUBLISH our
//! tuples (a ZRE node publishes its UUID and inbox endpoint), re-publish
//! them every third of their TTL so they never expire on the servers, and
//! PING so that the server does not forget us. Tuples arriving from the
//! servers are delivered once each (and again when their value changes).
//!
//! Dialects ([`GossipDialect`]): a server speaks czmq's or haskell-zre's,
//! and we learn which from its first reply: our HELLO goes with a PING,
//! which every server answers (PONG), czmq's in one frame, haskell-zre's in
//! two (an envelope, then the message). Our tuples are published once the
//! dialect is known, in that dialect: the key as hex or raw UUID bytes, the
//! TTL in milliseconds or seconds. haskell-zre's server forwards a tuple
//! only to clients whose ZMQ identity equals a stored key, so our DEALER
//! presents our raw UUID as identity ([`ClientConfig::uuid`]); libzmq
//! reserves identities starting with a zero byte, so a UUID starting with
//! 0 presents none, and against haskell-zre each PING then goes with a
//! HELLO, whose answer is every tuple the server holds.
//!
//! Recovery: INVALID means the server does not know us (it timed us out or
//! restarted), so we say HELLO and publish everything again, as czmq does;
//! a server silent for `server_timeout` is reconnected from scratch.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use log::{debug, info, warn};

use super::gossip_server::{encode, later};
use super::log_limit::{LogLimit, MALFORMED_GOSSIP_PERIOD};
use crate::wire::gossip_dialect::Decoded;
use crate::wire::{GossipDialect, GossipMessage, GossipMessageId};

/// The TTL our tuples are published with by [`GossipClient::unpublish`]:
/// the shortest the wire can say (1 ms; haskell-zre's dialect rounds it
/// up to 1 s, as its 0 would be read as "gone" only by haskell-zre).
pub const UNPUBLISH_TTL: Duration = Duration::from_millis(1);

/// Tunables of a [`GossipClient`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// TTL of the tuples we publish; we re-publish every third of it. Zero
    /// publishes ttl 0 (never expire, like czmq) and never re-publishes.
    pub ttl: Duration,
    /// How often each server is pinged.
    pub ping_interval: Duration,
    /// A server we hear nothing from for this long is reconnected.
    pub server_timeout: Duration,
    /// At most this many tuples from the network are remembered; further
    /// new keys are dropped (a bound against a hostile server).
    pub max_tuples: usize,
    /// Our node's UUID (16 bytes), presented as the DEALER's ZMQ identity
    /// so that haskell-zre's server forwards tuples to us; `None`, or a
    /// UUID whose first byte is 0 (libzmq reserves those), presents none.
    pub uuid: Option<[u8; 16]>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            ttl: Duration::from_secs(30),
            ping_interval: Duration::from_secs(1),
            server_timeout: Duration::from_secs(5),
            max_tuples: 65536,
            uuid: None,
        }
    }
}

/// One gossip server we are connected to: its index in the order of
/// [`GossipClient::add_server`], stable across reconnections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerId(pub usize);

/// What the caller must do, or must know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientOutput {
    /// Create a DEALER for `server`, set its identity, connect it to
    /// `endpoint`.
    Connect {
        /// The server the DEALER is for.
        server: ServerId,
        /// The server's endpoint as given to [`GossipClient::add_server`].
        endpoint: String,
        /// The DEALER's ZMQ identity (`ZMQ_ROUTING_ID`): our raw UUID;
        /// `None` leaves libzmq's.
        identity: Option<Vec<u8>>,
    },
    /// Close the DEALER of `server`; a `Connect` for the same id may follow.
    Disconnect {
        /// The server whose DEALER to close.
        server: ServerId,
    },
    /// Send `frame` on the DEALER of `server`.
    Send {
        /// The server whose DEALER it goes on.
        server: ServerId,
        /// One ZGossip frame ([`GossipMessage`]), ready to send.
        frame: Vec<u8>,
    },
    /// A tuple from the network: a key new to us, or a changed value.
    /// Our own keys, echoed back by a server, are never delivered.
    Deliver {
        /// The tuple's key; for a ZRE node, a peer's UUID in Zyre's text
        /// form ([`ZyreUuid`](super::ZyreUuid)).
        key: String,
        /// The tuple's value; for a ZRE node, that peer's inbox endpoint.
        value: String,
    },
}

#[derive(Debug)]
struct Server {
    endpoint: String,
    /// When we are due to give up on a silent server and reconnect.
    silent_deadline: Instant,
    next_ping: Instant,
    /// Its dialect, from its first reply; `None` until then, and our
    /// tuples wait.
    dialect: Option<GossipDialect>,
}

/// A tuple we delivered, remembered so that copies are not delivered again.
#[derive(Debug)]
struct Known {
    value: String,
    /// Forgotten after its ttl with no copy arriving, so that memory does
    /// not grow with every peer that ever came and went; `None` (ttl 0) is
    /// kept forever, as czmq keeps such tuples.
    expires_at: Option<Instant>,
}

/// The client half of ZGossip, one instance per node, for any number of
/// servers.
#[derive(Debug)]
pub struct GossipClient {
    config: ClientConfig,
    servers: Vec<Server>,
    /// Our own tuples, key to value.
    own: BTreeMap<String, String>,
    next_republish: Option<Instant>,
    known: BTreeMap<String, Known>,
    /// `(expires_at, key)` of every known tuple that can expire.
    known_expiries: BTreeSet<(Instant, String)>,
    outputs: VecDeque<ClientOutput>,
    /// Malformed frames are logged at most once a period.
    malformed_log: LogLimit,
}

impl GossipClient {
    /// A client with no server and no tuple: nothing happens until
    /// [`add_server`](Self::add_server). `now` is taken for symmetry with
    /// the other state machines and not used.
    pub fn new(config: ClientConfig, _now: Instant) -> Self {
        GossipClient {
            config,
            servers: Vec::new(),
            own: BTreeMap::new(),
            next_republish: None,
            known: BTreeMap::new(),
            known_expiries: BTreeSet::new(),
            outputs: VecDeque::new(),
            malformed_log: LogLimit::every(MALFORMED_GOSSIP_PERIOD),
        }
    }

    /// Connects to a server: `Connect`, then HELLO and our tuples.
    pub fn add_server(&mut self, now: Instant, endpoint: &str) -> ServerId {
        let server = ServerId(self.servers.len());
        self.servers.push(Server {
            endpoint: endpoint.to_owned(),
            silent_deadline: later(now, self.server_timeout()),
            next_ping: later(now, self.ping_interval()),
            dialect: None,
        });
        info!("zgossip: connecting to server {endpoint}");
        self.outputs.push_back(ClientOutput::Connect {
            server,
            endpoint: endpoint.to_owned(),
            identity: self.identity(),
        });
        self.greet(server);
        server
    }

    /// Publishes (or changes) one of our tuples on every server; it is
    /// re-published every `ttl / 3` from then on.
    /// A key over 255 bytes cannot be sent: it is logged and dropped.
    pub fn publish(&mut self, now: Instant, key: &str, value: &str) {
        if key.len() > usize::from(u8::MAX) {
            warn!(
                "zgossip: key of {} bytes cannot be sent: not published",
                key.len()
            );
            return;
        }
        info!("zgossip: publishing {key} = {value}");
        self.own.insert(key.to_owned(), value.to_owned());
        // Ours now: copies arriving from the network are not delivered.
        self.forget_known(key);
        for index in 0..self.servers.len() {
            // A server whose dialect is not known yet gets it with the rest
            // once it is.
            if let Some(dialect) = self.servers[index].dialect {
                self.send_tuple(ServerId(index), dialect, key, value);
            }
        }
        if self.next_republish.is_none() {
            self.next_republish = self.republish_interval().map(|interval| later(now, interval));
        }
    }

    /// Unpublishes our tuples on every server before a clean stop (an
    /// extension; ZGossip has no delete): each is published once more with
    /// [`UNPUBLISH_TTL`]. Our server ([`GossipServer`](super::gossip_server::GossipServer))
    /// lets the client that published a tuple shorten its TTL, so the
    /// tuple expires there at once; czmq's server ignores a re-publish of
    /// the same value (it keeps the tuple until its own TTL, forever by
    /// default). Nothing is re-published after this.
    pub fn unpublish(&mut self) {
        let own: Vec<(String, String)> = std::mem::take(&mut self.own).into_iter().collect();
        self.next_republish = None;
        for index in 0..self.servers.len() {
            let Some(dialect) = self.servers[index].dialect else {
                continue;
            };
            for (key, value) in &own {
                match dialect.publish(key, value, Some(UNPUBLISH_TTL)) {
                    Ok(frame) => self.outputs.push_back(ClientOutput::Send {
                        server: ServerId(index),
                        frame,
                    }),
                    Err(error) => warn!("zgossip: cannot encode PUBLISH {key}: {error}"),
                }
            }
        }
    }

    /// A one-frame message arrived on the DEALER of `server` (czmq's
    /// layout); see [`handle_message`](Self::handle_message).
    pub fn handle_frame(&mut self, now: Instant, server: ServerId, frame: &[u8]) {
        self.handle_message(now, server, &[frame]);
    }

    /// A message arrived on the DEALER of `server`, all its frames: one
    /// from a czmq server, two (an envelope, then the message) from
    /// haskell-zre's. The first reply tells the server's dialect; a
    /// message in the other layout after that is dropped.
    pub fn handle_message<F: AsRef<[u8]>>(&mut self, now: Instant, server: ServerId, frames: &[F]) {
        let server_timeout = self.server_timeout();
        let Some(state) = self.servers.get_mut(server.0) else {
            warn!("zgossip: frame from unknown server {}: ignored", server.0);
            return;
        };
        // Any traffic proves the connection alive, even a frame we reject.
        state.silent_deadline = later(now, server_timeout);
        self.handle_timeout(now);
        let endpoint = self.servers[server.0].endpoint.clone();
        let (layout, frame) = match frames {
            [frame] => (GossipDialect::Czmq, frame.as_ref()),
            [_envelope, frame] => (GossipDialect::Haskell, frame.as_ref()),
            _ => {
                let why = format!("{} frames, neither dialect sends that", frames.len());
                self.malformed(now, &endpoint, &why);
                return;
            }
        };
        let dialect = match self.servers[server.0].dialect {
            Some(dialect) if dialect != layout => {
                let why = format!("a {} message from a {} server", layout.name(), dialect.name());
                self.malformed(now, &endpoint, &why);
                return;
            }
            Some(dialect) => dialect,
            None => {
                // Check before settling: garbage tells nothing.
                if let Err(error) = layout.decode(frame) {
                    self.malformed(now, &endpoint, &error.to_string());
                    return;
                }
                info!("zgossip: server {endpoint} speaks {}", layout.name());
                self.servers[server.0].dialect = Some(layout);
                self.send_own_tuples(server);
                layout
            }
        };
        match dialect.decode(frame) {
            Ok(Decoded::Publish { key, value, ttl }) => self.receive_tuple(now, &key, value, ttl),
            Ok(Decoded::Control(GossipMessageId::Invalid)) => {
                info!("zgossip: server {endpoint} does not know us: HELLO again");
                self.greet(server);
            }
            Ok(Decoded::Control(GossipMessageId::Pong)) => {}
            Ok(Decoded::Control(other)) => debug!(
                "zgossip: unexpected {} from server {endpoint}: ignored",
                other.name()
            ),
            Err(error) => self.malformed(now, &endpoint, &error.to_string()),
        }
    }

    /// Pings, re-publishes, reconnects silent servers and forgets expired
    /// tuples, as far as they are due.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((expires_at, key)) = self.known_expiries.first().cloned() {
            if expires_at > now {
                break;
            }
            self.known_expiries.remove(&(expires_at, key.clone()));
            self.known.remove(&key);
            debug!("zgossip: tuple {key} not heard of for its ttl: forgotten");
        }

        let ping_interval = self.ping_interval();
        let server_timeout = self.server_timeout();
        for index in 0..self.servers.len() {
            let server = ServerId(index);
            let state = &mut self.servers[index];
            if state.silent_deadline <= now {
                warn!(
                    "zgossip: server {} silent for {server_timeout:?}: reconnecting",
                    state.endpoint
                );
                state.silent_deadline = later(now, server_timeout);
                state.next_ping = later(now, ping_interval);
                // Perhaps another server now: learn its dialect again.
                state.dialect = None;
                let endpoint = state.endpoint.clone();
                let identity = self.identity();
                self.outputs.push_back(ClientOutput::Disconnect { server });
                self.outputs.push_back(ClientOutput::Connect {
                    server,
                    endpoint,
                    identity,
                });
                self.greet(server);
            } else if state.next_ping <= now {
                // From now, not from the missed deadline: no burst after a stall.
                state.next_ping = later(now, ping_interval);
                if state.dialect == Some(GossipDialect::Haskell) && self.identity().is_none() {
                    // haskell-zre forwards nothing to a client without our
                    // UUID as identity: ask for every tuple instead.
                    self.send(server, &GossipMessage::Hello);
                }
                self.send(server, &GossipMessage::Ping);
            }
        }

        if self.next_republish.is_some_and(|at| at <= now) {
            self.next_republish = if self.own.is_empty() {
                None
            } else {
                self.republish_interval().map(|interval| later(now, interval))
            };
            for index in 0..self.servers.len() {
                self.send_own_tuples(ServerId(index));
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let servers = self
            .servers
            .iter()
            .map(|server| server.next_ping.min(server.silent_deadline))
            .min();
        let known = self.known_expiries.first().map(|(at, _)| *at);
        [servers, self.next_republish, known].into_iter().flatten().min()
    }

    /// The next thing to do, oldest first; call until `None` after every
    /// `handle_*`, `add_server` and `publish`.
    pub fn poll_output(&mut self) -> Option<ClientOutput> {
        self.outputs.pop_front()
    }

    /// The tuples from the network we currently know, in key order.
    pub fn tuples(&self) -> impl Iterator<Item = (&str, &str)> {
        self.known
            .iter()
            .map(|(key, known)| (key.as_str(), known.value.as_str()))
    }

    /// A tuple from a server; `ttl` in real time, `None` = never expires.
    fn receive_tuple(&mut self, now: Instant, key: &str, value: &str, ttl: Option<Duration>) {
        if self.own.contains_key(key) {
            debug!("zgossip: our own tuple {key} came back: ignored");
            return;
        }
        let fresh_expiry = ttl.and_then(|ttl| now.checked_add(ttl));
        let full = self.known.len() >= self.config.max_tuples;
        let (old_expiry, new_expiry) = match self.known.get_mut(key) {
            Some(known) if known.value == value => {
                // A copy from another server, or a refresh; a stale copy (a
                // smaller remaining ttl) never shortens what we know.
                let old = known.expires_at;
                known.expires_at = match (fresh_expiry, old) {
                    (Some(fresh), Some(old)) => Some(fresh.max(old)),
                    (fresh, _) => fresh,
                };
                (old, known.expires_at)
            }
            Some(known) => {
                let old = known.expires_at;
                known.value = value.to_owned();
                known.expires_at = fresh_expiry;
                self.deliver(key, value);
                (old, fresh_expiry)
            }
            None if full => {
                warn!(
                    "zgossip: tuple {key} dropped: already {} tuples known",
                    self.known.len()
                );
                return;
            }
            None => {
                self.known.insert(
                    key.to_owned(),
                    Known {
                        value: value.to_owned(),
                        expires_at: fresh_expiry,
                    },
                );
                self.deliver(key, value);
                (None, fresh_expiry)
            }
        };
        if old_expiry != new_expiry {
            if let Some(old) = old_expiry {
                self.known_expiries.remove(&(old, key.to_owned()));
            }
            if let Some(new) = new_expiry {
                self.known_expiries.insert((new, key.to_owned()));
            }
        }
    }

    fn deliver(&mut self, key: &str, value: &str) {
        info!("zgossip: delivering {key} = {value}");
        self.outputs.push_back(ClientOutput::Deliver {
            key: key.to_owned(),
            value: value.to_owned(),
        });
    }

    fn forget_known(&mut self, key: &str) {
        if let Some(Known {
            expires_at: Some(at), ..
        }) = self.known.remove(key)
        {
            self.known_expiries.remove(&(at, key.to_owned()));
        }
    }

    /// HELLO and all our tuples: a first contact, or the server forgot
    /// us. While the server's dialect is unknown, a PING goes instead of
    /// the tuples: its answer tells the dialect, and the tuples follow.
    fn greet(&mut self, server: ServerId) {
        self.send(server, &GossipMessage::Hello);
        if self.servers[server.0].dialect.is_some() {
            self.send_own_tuples(server);
        } else {
            self.send(server, &GossipMessage::Ping);
        }
    }

    /// Our tuples, in the server's dialect (nothing while it is unknown).
    fn send_own_tuples(&mut self, server: ServerId) {
        let Some(dialect) = self.servers[server.0].dialect else {
            return;
        };
        let own: Vec<(String, String)> = self.own.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        for (key, value) in &own {
            self.send_tuple(server, dialect, key, value);
        }
    }

    fn send_tuple(&mut self, server: ServerId, dialect: GossipDialect, key: &str, value: &str) {
        let ttl = (!self.config.ttl.is_zero()).then_some(self.config.ttl);
        match dialect.publish(key, value, ttl) {
            Ok(frame) => self.outputs.push_back(ClientOutput::Send { server, frame }),
            Err(error) => warn!("zgossip: cannot encode PUBLISH {key}: {error}"),
        }
    }

    /// The DEALER identity to present: our raw UUID unless it starts with
    /// 0 (reserved by libzmq).
    fn identity(&self) -> Option<Vec<u8>> {
        self.config
            .uuid
            .filter(|uuid| uuid[0] != 0)
            .map(|uuid| uuid.to_vec())
    }

    /// Logs a dropped frame, at most once per period.
    fn malformed(&mut self, now: Instant, endpoint: &str, why: &str) {
        if let Some(also) = self.malformed_log.admit(now) {
            warn!("zgossip: malformed message from server {endpoint}: {why}: dropped{also}");
        }
    }

    fn send(&mut self, server: ServerId, message: &GossipMessage<'_>) {
        if let Some(frame) = encode(message) {
            self.outputs.push_back(ClientOutput::Send { server, frame });
        }
    }

    fn republish_interval(&self) -> Option<Duration> {
        (!self.config.ttl.is_zero()).then(|| (self.config.ttl / 3).max(Duration::from_millis(1)))
    }

    // Zero intervals would make every call due at once: clamp to 1 ms.
    fn ping_interval(&self) -> Duration {
        self.config.ping_interval.max(Duration::from_millis(1))
    }

    fn server_timeout(&self) -> Duration {
        self.config.server_timeout.max(Duration::from_millis(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(client: &mut GossipClient) -> Vec<ClientOutput> {
        std::iter::from_fn(|| client.poll_output()).collect()
    }

    fn messages(outputs: &[ClientOutput]) -> Vec<GossipMessage<'_>> {
        outputs
            .iter()
            .filter_map(|output| match output {
                ClientOutput::Send { frame, .. } => Some(GossipMessage::parse(frame).unwrap()),
                _ => None,
            })
            .collect()
    }

    fn publish(key: &str, value: &str, ttl: u32) -> Vec<u8> {
        GossipMessage::Publish { key, value, ttl }.to_bytes().unwrap()
    }

    fn pong() -> Vec<u8> {
        GossipMessage::Pong.to_bytes().unwrap()
    }

    #[test]
    fn add_server_connects_says_hello_and_publishes_once_the_server_answers() {
        let t0 = Instant::now();
        let mut uuid = [0x42; 16];
        let config = ClientConfig {
            uuid: Some(uuid),
            ..ClientConfig::default()
        };
        let mut client = GossipClient::new(config.clone(), t0);
        client.publish(t0, "me", "tcp://1.2.3.4:5");
        assert!(drain(&mut client).is_empty(), "no server yet");
        let server = client.add_server(t0, "tcp://gossip:31337");
        let out = drain(&mut client);
        assert_eq!(
            out[0],
            ClientOutput::Connect {
                server,
                endpoint: "tcp://gossip:31337".into(),
                identity: Some(uuid.to_vec()),
            }
        );
        assert_eq!(messages(&out), vec![GossipMessage::Hello, GossipMessage::Ping]);
        client.handle_frame(t0, server, &pong());
        assert_eq!(
            messages(&drain(&mut client)),
            vec![GossipMessage::Publish {
                key: "me",
                value: "tcp://1.2.3.4:5",
                ttl: 30_000
            }]
        );

        // libzmq reserves identities starting with 0: none is presented.
        uuid[0] = 0;
        let mut client = GossipClient::new(
            ClientConfig {
                uuid: Some(uuid),
                ..config
            },
            t0,
        );
        client.add_server(t0, "a");
        assert!(matches!(
            drain(&mut client)[0],
            ClientOutput::Connect { identity: None, .. }
        ));
    }

    #[test]
    fn own_key_is_not_delivered_back_and_copies_are_delivered_once() {
        let t0 = Instant::now();
        let mut client = GossipClient::new(ClientConfig::default(), t0);
        let a = client.add_server(t0, "a");
        let b = client.add_server(t0, "b");
        client.publish(t0, "me", "x");
        drain(&mut client);
        client.handle_frame(t0, a, &publish("me", "x", 0));
        client.handle_frame(t0, a, &publish("peer", "y", 1000));
        client.handle_frame(t0, b, &publish("peer", "y", 1000));
        client.handle_frame(t0, b, &publish("peer", "z", 1000));
        let delivered: Vec<_> = drain(&mut client)
            .into_iter()
            .filter(|o| matches!(o, ClientOutput::Deliver { .. }))
            .collect();
        assert_eq!(
            delivered,
            vec![
                ClientOutput::Deliver {
                    key: "peer".into(),
                    value: "y".into()
                },
                ClientOutput::Deliver {
                    key: "peer".into(),
                    value: "z".into()
                },
            ]
        );
    }

    #[test]
    fn known_tuple_is_forgotten_after_its_ttl_and_delivered_again_if_it_returns() {
        let t0 = Instant::now();
        let config = ClientConfig {
            server_timeout: Duration::from_secs(60),
            ..ClientConfig::default()
        };
        let mut client = GossipClient::new(config, t0);
        let a = client.add_server(t0, "a");
        client.handle_frame(t0, a, &publish("peer", "y", 2000));
        client.handle_timeout(t0 + Duration::from_millis(1999));
        assert_eq!(client.tuples().count(), 1);
        client.handle_timeout(t0 + Duration::from_secs(2));
        assert_eq!(client.tuples().count(), 0);
        drain(&mut client);
        client.handle_frame(t0 + Duration::from_secs(3), a, &publish("peer", "y", 2000));
        assert!(
            drain(&mut client)
                .iter()
                .any(|o| matches!(o, ClientOutput::Deliver { .. }))
        );
    }

    #[test]
    fn pings_every_interval_and_republishes_every_third_of_the_ttl() {
        let t0 = Instant::now();
        let config = ClientConfig {
            ttl: Duration::from_secs(3),
            ping_interval: Duration::from_millis(400),
            server_timeout: Duration::from_secs(60),
            ..ClientConfig::default()
        };
        let mut client = GossipClient::new(config, t0);
        let a = client.add_server(t0, "a");
        client.publish(t0, "me", "x");
        client.handle_frame(t0, a, &pong());
        drain(&mut client);
        let (mut pings, mut publishes) = (Vec::new(), Vec::new());
        while let Some(at) = client.poll_timeout() {
            if at > t0 + Duration::from_secs(3) {
                break;
            }
            client.handle_timeout(at);
            for message in messages(&drain(&mut client)) {
                match message {
                    GossipMessage::Ping => pings.push(at - t0),
                    GossipMessage::Publish { .. } => publishes.push(at - t0),
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        let ms = Duration::from_millis;
        assert_eq!(pings, (1..=7).map(|i| ms(400 * i)).collect::<Vec<_>>());
        assert_eq!(publishes, vec![ms(1000), ms(2000), ms(3000)]);
    }

    #[test]
    fn silent_server_is_reconnected_and_greeted() {
        let t0 = Instant::now();
        let mut client = GossipClient::new(ClientConfig::default(), t0);
        let a = client.add_server(t0, "a");
        client.publish(t0, "me", "x");
        drain(&mut client);
        client.handle_frame(t0 + Duration::from_secs(2), a, &pong());
        assert_eq!(
            client.poll_timeout(),
            Some(t0 + Duration::from_secs(3)),
            "next ping"
        );
        client.handle_timeout(t0 + Duration::from_millis(6999));
        assert!(!drain(&mut client).contains(&ClientOutput::Disconnect { server: a }));
        client.handle_timeout(t0 + Duration::from_secs(7));
        let out = drain(&mut client);
        assert_eq!(out[0], ClientOutput::Disconnect { server: a });
        assert_eq!(
            out[1],
            ClientOutput::Connect {
                server: a,
                endpoint: "a".into(),
                identity: None,
            }
        );
        // Perhaps another server now: its dialect is learnt again first.
        assert_eq!(messages(&out), vec![GossipMessage::Hello, GossipMessage::Ping]);
        client.handle_frame(t0 + Duration::from_secs(8), a, &pong());
        assert!(
            messages(&drain(&mut client))
                .iter()
                .any(|m| matches!(m, GossipMessage::Publish { key: "me", .. }))
        );
    }

    #[test]
    fn garbage_and_unknown_servers_are_ignored() {
        let t0 = Instant::now();
        let mut client = GossipClient::new(ClientConfig::default(), t0);
        let a = client.add_server(t0, "a");
        drain(&mut client);
        for frame in [
            &b""[..],
            b"\xaa",
            b"\xaa\xa0\x02\x01\x05ab",
            b"\xaa\xa0\x09\x01",
            b"junk",
        ] {
            client.handle_frame(t0, a, frame);
            client.handle_frame(t0, ServerId(7), frame);
        }
        assert!(drain(&mut client).is_empty());
    }
}
