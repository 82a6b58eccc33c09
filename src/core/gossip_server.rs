//! ZGossip server state machine (sans-I/O).
//!
//! Behaves like czmq's `zgossip` server, which Zyre nodes talk to: a client
//! (a DEALER on the caller's ROUTER) says HELLO and receives every stored
//! tuple, then PUBLISHes its own; each new or changed tuple is stored and
//! forwarded to every other client and to every remote server this one
//! connected out to. PING gets PONG; anything unexpected gets INVALID, which
//! tells a czmq client to say HELLO again.
//!
//! Two things czmq does not do: tuples can expire (a PUBLISH carries a TTL
//! in milliseconds; czmq sends 0 and never expires anything), and state is
//! bounded (`max_tuples`, `max_clients`, silent clients are forgotten).
//!
//! The caller owns the sockets: it feeds frames in with the time they
//! arrived, calls [`GossipServer::handle_timeout`] at
//! [`GossipServer::poll_timeout`], and sends what [`GossipServer::poll_output`]
//! yields.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use log::{debug, info, warn};

use crate::wire::GossipMessage;

/// Tunables of a [`GossipServer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// A client that sends nothing for this long is forgotten; remotes are
    /// pinged every third of it so that they do not forget us.
    pub client_timeout: Duration,
    /// Lifetime of a tuple published with ttl 0 (what czmq sends); `None`
    /// keeps such tuples forever, as czmq does.
    pub default_ttl: Option<Duration>,
    /// At most this many tuples are stored; further new keys are dropped.
    pub max_tuples: usize,
    /// At most this many clients are connected; further HELLOs get INVALID.
    pub max_clients: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            client_timeout: Duration::from_secs(10),
            default_ttl: None,
            max_tuples: 65536,
            max_clients: 4096,
        }
    }
}

/// The ROUTER routing id of a client connection (opaque bytes).
pub type ClientId = Vec<u8>;

/// An outgoing connection from this server to another server: its index
/// in the order of [`GossipServer::connect_remote`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RemoteId(pub usize);

/// What the caller must do, or may want to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerOutput {
    /// Send `[client, frame]` on the ROUTER.
    SendToClient {
        /// The client's ROUTER routing id.
        client: ClientId,
        /// One ZGossip frame ([`GossipMessage`]), ready to send.
        frame: Vec<u8>,
    },
    /// Create a DEALER for `remote` and connect it to `endpoint`.
    ConnectRemote {
        /// The remote the DEALER is for.
        remote: RemoteId,
        /// The endpoint given to [`GossipServer::connect_remote`].
        endpoint: String,
    },
    /// Send `frame` on the DEALER of `remote`.
    SendToRemote {
        /// The remote whose DEALER it goes on.
        remote: RemoteId,
        /// One ZGossip frame, ready to send.
        frame: Vec<u8>,
    },
    /// A tuple is new or its value changed (including the host's own).
    Delivered {
        /// The tuple's key.
        key: String,
        /// Its new value.
        value: String,
    },
    /// A tuple was not re-published within its TTL and is gone.
    Expired {
        /// The tuple's key.
        key: String,
    },
}

/// One stored tuple.
#[derive(Debug)]
struct Tuple {
    value: String,
    /// The publisher sent ttl 0. We forward 0 too, so that every server
    /// applies its own `default_ttl` instead of ours.
    wire_ttl_zero: bool,
    /// Lifetime granted by the latest PUBLISH; `None` = never expires.
    ttl: Option<Duration>,
    expires_at: Option<Instant>,
    /// When we last sent this tuple on to clients and remotes; their copies
    /// were as fresh as ours then (see `GossipServer::accept`).
    forwarded_at: Instant,
}

impl Tuple {
    /// The ttl to put on the wire now: what is left of our copy, rounded up
    /// to whole milliseconds so that it never reads as 0 ("forever").
    fn wire_ttl(&self, now: Instant) -> u32 {
        if self.wire_ttl_zero {
            return 0;
        }
        match self.expires_at {
            Some(expires_at) => ceil_millis(expires_at.saturating_duration_since(now)).max(1),
            // Only when `now + ttl` overflowed an Instant: as long as we can say.
            None => u32::MAX,
        }
    }
}

#[derive(Debug)]
struct Client {
    /// When the client is forgotten unless it sends something first.
    deadline: Option<Instant>,
}

#[derive(Debug)]
struct Remote {
    endpoint: String,
    next_ping: Instant,
}

/// Where a PUBLISH came from; it is not forwarded back there.
#[derive(Debug, Clone, Copy)]
enum Source<'a> {
    Host,
    Client(&'a [u8]),
    Remote(RemoteId),
}

/// A ZGossip server: a tuple store that forwards new tuples between its
/// clients and the remote servers it connects to.
#[derive(Debug)]
pub struct GossipServer {
    config: ServerConfig,
    tuples: BTreeMap<String, Tuple>,
    /// `(expires_at, key)` of every tuple that can expire, soonest first.
    expiries: BTreeSet<(Instant, String)>,
    /// Clients that said HELLO and have not been forgotten since.
    clients: BTreeMap<ClientId, Client>,
    /// `(deadline, client)` of every connected client, soonest first.
    client_deadlines: BTreeSet<(Instant, ClientId)>,
    remotes: Vec<Remote>,
    outputs: VecDeque<ServerOutput>,
}

impl GossipServer {
    /// A server with no client, remote or tuple. `now` is taken for
    /// symmetry with the other state machines and not used.
    pub fn new(config: ServerConfig, _now: Instant) -> Self {
        GossipServer {
            config,
            tuples: BTreeMap::new(),
            expiries: BTreeSet::new(),
            clients: BTreeMap::new(),
            client_deadlines: BTreeSet::new(),
            remotes: Vec::new(),
            outputs: VecDeque::new(),
        }
    }

    /// A frame arrived on the ROUTER from routing id `client`.
    pub fn handle_client_frame(&mut self, now: Instant, client: &[u8], frame: &[u8]) {
        // Catch up first, so that a late handle_timeout cannot make an
        // expired tuple or a forgotten client look alive.
        self.handle_timeout(now);
        let message = match GossipMessage::parse(frame) {
            Ok(message) => message,
            Err(error) => {
                warn!("zgossip: malformed frame from client {}: {error}", hex(client));
                self.reject_client(client);
                return;
            }
        };
        let known = self.clients.contains_key(client);
        if known {
            self.touch_client(now, client);
        }
        match message {
            GossipMessage::Hello => self.hello(now, client, known),
            GossipMessage::Publish { key, value, ttl } if known => {
                self.accept(now, Source::Client(client), key, value, ttl);
            }
            GossipMessage::Ping if known => {
                self.send_to_client(client, &GossipMessage::Pong);
            }
            // PING from a client we do not know is INVALID on purpose: that
            // is how a client we forgot, or whose server restarted, learns
            // that it must say HELLO again.
            other => {
                info!(
                    "zgossip: {} from {} client {}: INVALID",
                    other.name(),
                    if known { "connected" } else { "unknown" },
                    hex(client)
                );
                self.reject_client(client);
            }
        }
    }

    /// Connects out to another server, which will treat us as a client.
    /// An endpoint already connected is not connected twice: it is greeted
    /// again (HELLO and all tuples) and keeps its id.
    pub fn connect_remote(&mut self, now: Instant, endpoint: &str) -> RemoteId {
        if let Some(index) = self.remotes.iter().position(|remote| remote.endpoint == endpoint) {
            let remote = RemoteId(index);
            self.greet_remote(now, remote);
            return remote;
        }
        let remote = RemoteId(self.remotes.len());
        self.remotes.push(Remote {
            endpoint: endpoint.to_owned(),
            next_ping: later(now, self.remote_ping_interval()),
        });
        info!("zgossip: connecting to remote server {endpoint}");
        self.outputs.push_back(ServerOutput::ConnectRemote {
            remote,
            endpoint: endpoint.to_owned(),
        });
        self.greet_remote(now, remote);
        remote
    }

    /// A frame arrived on the DEALER of `remote`.
    pub fn handle_remote_frame(&mut self, now: Instant, remote: RemoteId, frame: &[u8]) {
        self.handle_timeout(now);
        let Some(endpoint) = self.remotes.get(remote.0).map(|r| r.endpoint.clone()) else {
            warn!("zgossip: frame from unknown remote {}: ignored", remote.0);
            return;
        };
        match GossipMessage::parse(frame) {
            Ok(GossipMessage::Publish { key, value, ttl }) => {
                self.accept(now, Source::Remote(remote), key, value, ttl);
            }
            Ok(GossipMessage::Invalid) => {
                info!("zgossip: remote server {endpoint} forgot us: HELLO again");
                self.greet_remote(now, remote);
            }
            Ok(GossipMessage::Pong) => {}
            Ok(other) => debug!(
                "zgossip: unexpected {} from remote {endpoint}: ignored",
                other.name()
            ),
            Err(error) => warn!("zgossip: malformed frame from remote {endpoint}: {error}"),
        }
    }

    /// Publishes the host's own tuple, like a PUBLISH from a client; a zero
    /// `ttl` means ttl 0 on the wire (see [`ServerConfig::default_ttl`]).
    /// The host must re-publish within `ttl` to keep it alive.
    pub fn publish(&mut self, now: Instant, key: &str, value: &str, ttl: Duration) {
        self.handle_timeout(now);
        if key.len() > usize::from(u8::MAX) {
            warn!(
                "zgossip: key of {} bytes cannot be sent: not published",
                key.len()
            );
            return;
        }
        self.accept(now, Source::Host, key, value, ceil_millis(ttl));
    }

    /// Expires tuples, forgets silent clients and pings remotes that are due.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((expires_at, key)) = self.expiries.first().cloned() {
            if expires_at > now {
                break;
            }
            self.expiries.remove(&(expires_at, key.clone()));
            self.tuples.remove(&key);
            info!("zgossip: tuple {key} expired");
            self.outputs.push_back(ServerOutput::Expired { key });
        }
        while let Some((deadline, client)) = self.client_deadlines.first().cloned() {
            if deadline > now {
                break;
            }
            self.client_deadlines.remove(&(deadline, client.clone()));
            self.clients.remove(&client);
            info!(
                "zgossip: client {} silent for {:?}: forgotten",
                hex(&client),
                self.config.client_timeout
            );
        }
        let interval = self.remote_ping_interval();
        let ping = encode(&GossipMessage::Ping);
        for (index, remote) in self.remotes.iter_mut().enumerate() {
            if remote.next_ping <= now {
                // From now, not from the missed deadline: no burst after a stall.
                remote.next_ping = later(now, interval);
                if let Some(frame) = &ping {
                    self.outputs.push_back(ServerOutput::SendToRemote {
                        remote: RemoteId(index),
                        frame: frame.clone(),
                    });
                }
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let tuple = self.expiries.first().map(|(at, _)| *at);
        let client = self.client_deadlines.first().map(|(at, _)| *at);
        let remote = self.remotes.iter().map(|remote| remote.next_ping).min();
        [tuple, client, remote].into_iter().flatten().min()
    }

    /// The next thing to do, oldest first; call until `None` after every
    /// `handle_*`, `connect_remote` and `publish`.
    pub fn poll_output(&mut self) -> Option<ServerOutput> {
        self.outputs.pop_front()
    }

    /// The stored tuples as `(key, value)`, in key order.
    pub fn tuples(&self) -> impl Iterator<Item = (&str, &str)> {
        self.tuples
            .iter()
            .map(|(key, tuple)| (key.as_str(), tuple.value.as_str()))
    }

    /// Clients that said HELLO and have not been forgotten.
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    fn remote_ping_interval(&self) -> Duration {
        (self.config.client_timeout / 3).max(Duration::from_millis(1))
    }

    fn hello(&mut self, now: Instant, client: &[u8], known: bool) {
        if !known && self.clients.len() >= self.config.max_clients {
            warn!(
                "zgossip: HELLO from client {}: already {} clients: INVALID",
                hex(client),
                self.clients.len()
            );
            self.send_to_client(client, &GossipMessage::Invalid);
            return;
        }
        info!("zgossip: HELLO from client {}", hex(client));
        self.touch_client(now, client);
        // A repeated HELLO means the client lost its state: send it all again.
        for (key, tuple) in &self.tuples {
            if let Some(frame) = publish_frame(key, tuple, now) {
                self.outputs.push_back(ServerOutput::SendToClient {
                    client: client.to_vec(),
                    frame,
                });
            }
        }
    }

    fn greet_remote(&mut self, now: Instant, remote: RemoteId) {
        let frames = encode(&GossipMessage::Hello).into_iter().chain(
            self.tuples
                .iter()
                .filter_map(|(key, tuple)| publish_frame(key, tuple, now)),
        );
        for frame in frames {
            self.outputs
                .push_back(ServerOutput::SendToRemote { remote, frame });
        }
    }

    /// Stores a published tuple and forwards it if it is news.
    ///
    /// An identical re-publish (same key and value) only refreshes the
    /// expiry and is normally not forwarded: that is what ends loops between
    /// servers. But our clients' and remotes' copies were last refreshed when
    /// we last forwarded the tuple, not when we last heard it, and they would
    /// expire if we never passed refreshes on. So once more than half the
    /// TTL has passed since we last forwarded it, an identical re-publish is
    /// forwarded too. A copy echoing straight back around a loop finds the
    /// tuple just forwarded, so it stops there and the loop still ends.
    fn accept(&mut self, now: Instant, source: Source<'_>, key: &str, value: &str, wire_ttl: u32) {
        let wire_ttl_zero = wire_ttl == 0;
        let ttl = if wire_ttl_zero {
            self.config.default_ttl
        } else {
            Some(Duration::from_millis(u64::from(wire_ttl)))
        };
        let fresh_expiry = ttl.and_then(|ttl| now.checked_add(ttl));
        let store_full = self.tuples.len() >= self.config.max_tuples;

        let forward = match self.tuples.get_mut(key) {
            Some(tuple) if tuple.value == value => {
                // A stale copy (a smaller remaining ttl) never shortens ours.
                let expires_at = match (fresh_expiry, tuple.expires_at) {
                    (Some(fresh), Some(old)) => Some(fresh.max(old)),
                    (fresh, _) => fresh,
                };
                reindex(&mut self.expiries, key, tuple.expires_at, expires_at);
                tuple.expires_at = expires_at;
                tuple.ttl = ttl;
                tuple.wire_ttl_zero = wire_ttl_zero;
                let forward =
                    ttl.is_some_and(|ttl| now.saturating_duration_since(tuple.forwarded_at) > ttl / 2);
                debug!("zgossip: tuple {key} refreshed (ttl {wire_ttl} ms), forwarded: {forward}");
                forward
            }
            None if store_full => {
                warn!(
                    "zgossip: PUBLISH {key} dropped: already {} tuples stored",
                    self.tuples.len()
                );
                false
            }
            // A new key, or a new value for a known one.
            existing => {
                let changed = if existing.is_some() { ", value changed" } else { "" };
                let old_expiry = existing.and_then(|tuple| tuple.expires_at);
                info!("zgossip: PUBLISH {key} = {value} (ttl {wire_ttl} ms){changed}");
                reindex(&mut self.expiries, key, old_expiry, fresh_expiry);
                let tuple = Tuple {
                    value: value.to_owned(),
                    wire_ttl_zero,
                    ttl,
                    expires_at: fresh_expiry,
                    forwarded_at: now,
                };
                self.tuples.insert(key.to_owned(), tuple);
                self.delivered(key, value);
                true
            }
        };
        if forward {
            self.forward(now, source, key);
        }
    }

    fn delivered(&mut self, key: &str, value: &str) {
        self.outputs.push_back(ServerOutput::Delivered {
            key: key.to_owned(),
            value: value.to_owned(),
        });
    }

    /// Sends a stored tuple to every client and remote but its source.
    fn forward(&mut self, now: Instant, source: Source<'_>, key: &str) {
        let Some(tuple) = self.tuples.get_mut(key) else {
            return;
        };
        tuple.forwarded_at = now;
        let Some(frame) = publish_frame(key, tuple, now) else {
            return;
        };
        for client in self.clients.keys() {
            if matches!(source, Source::Client(from) if from == client.as_slice()) {
                continue;
            }
            self.outputs.push_back(ServerOutput::SendToClient {
                client: client.clone(),
                frame: frame.clone(),
            });
        }
        for index in 0..self.remotes.len() {
            let remote = RemoteId(index);
            if matches!(source, Source::Remote(from) if from == remote) {
                continue;
            }
            self.outputs.push_back(ServerOutput::SendToRemote {
                remote,
                frame: frame.clone(),
            });
        }
    }

    /// Moves a connected client's deadline, or connects it.
    fn touch_client(&mut self, now: Instant, client: &[u8]) {
        let deadline = now.checked_add(self.config.client_timeout);
        let entry = self
            .clients
            .entry(client.to_vec())
            .or_insert(Client { deadline: None });
        if let Some(old) = entry.deadline.take() {
            self.client_deadlines.remove(&(old, client.to_vec()));
        }
        if let Some(deadline) = deadline {
            self.client_deadlines.insert((deadline, client.to_vec()));
        }
        entry.deadline = deadline;
    }

    /// Sends INVALID and forgets the client, as czmq does.
    fn reject_client(&mut self, client: &[u8]) {
        if let Some(Client {
            deadline: Some(deadline),
        }) = self.clients.remove(client)
        {
            self.client_deadlines.remove(&(deadline, client.to_vec()));
        }
        self.send_to_client(client, &GossipMessage::Invalid);
    }

    fn send_to_client(&mut self, client: &[u8], message: &GossipMessage<'_>) {
        if let Some(frame) = encode(message) {
            self.outputs.push_back(ServerOutput::SendToClient {
                client: client.to_vec(),
                frame,
            });
        }
    }
}

/// Moves `key` in an expiry index from `old` to `new`.
fn reindex(index: &mut BTreeSet<(Instant, String)>, key: &str, old: Option<Instant>, new: Option<Instant>) {
    if old == new {
        return;
    }
    if let Some(old) = old {
        index.remove(&(old, key.to_owned()));
    }
    if let Some(new) = new {
        index.insert((new, key.to_owned()));
    }
}

fn publish_frame(key: &str, tuple: &Tuple, now: Instant) -> Option<Vec<u8>> {
    encode(&GossipMessage::Publish {
        key,
        value: &tuple.value,
        ttl: tuple.wire_ttl(now),
    })
}

/// Encodes a message; a failure (a key over 255 bytes) is logged, and the
/// message is not sent.
pub(crate) fn encode(message: &GossipMessage<'_>) -> Option<Vec<u8>> {
    match message.to_bytes() {
        Ok(frame) => Some(frame),
        Err(error) => {
            warn!("zgossip: cannot encode {}: {error}", message.name());
            None
        }
    }
}

/// Whole milliseconds, rounded up, saturating at `u32::MAX` (the wire field).
pub(crate) fn ceil_millis(duration: Duration) -> u32 {
    let millis = duration.as_millis() + u128::from(duration.subsec_nanos() % 1_000_000 != 0);
    u32::try_from(millis).unwrap_or(u32::MAX)
}

/// `now + interval`, or far enough in the future if that overflows.
pub(crate) fn later(now: Instant, interval: Duration) -> Instant {
    now.checked_add(interval)
        .or_else(|| now.checked_add(Duration::from_secs(u32::MAX.into())))
        .unwrap_or(now)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(message: GossipMessage<'_>) -> Vec<u8> {
        message.to_bytes().unwrap()
    }

    fn drain(server: &mut GossipServer) -> Vec<ServerOutput> {
        std::iter::from_fn(|| server.poll_output()).collect()
    }

    fn sent_to<'a>(outputs: &'a [ServerOutput], who: &[u8]) -> Vec<GossipMessage<'a>> {
        outputs
            .iter()
            .filter_map(|output| match output {
                ServerOutput::SendToClient { client, frame } if client == who => {
                    Some(GossipMessage::parse(frame).unwrap())
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn ceil_millis_rounds_up_and_saturates() {
        assert_eq!(ceil_millis(Duration::ZERO), 0);
        assert_eq!(ceil_millis(Duration::from_nanos(1)), 1);
        assert_eq!(ceil_millis(Duration::from_millis(1500)), 1500);
        assert_eq!(ceil_millis(Duration::from_micros(1_500_001)), 1501);
        assert_eq!(ceil_millis(Duration::from_secs(u64::MAX)), u32::MAX);
    }

    #[test]
    fn hex_is_lower_case_pairs() {
        assert_eq!(hex(&[0x00, 0xab, 0x10]), "00ab10");
    }

    #[test]
    fn hello_then_ping_gets_pong_and_unknown_ping_gets_invalid() {
        let t0 = Instant::now();
        let mut server = GossipServer::new(ServerConfig::default(), t0);
        server.handle_client_frame(t0, b"a", &frame(GossipMessage::Ping));
        let out = drain(&mut server);
        assert_eq!(sent_to(&out, b"a"), vec![GossipMessage::Invalid]);

        server.handle_client_frame(t0, b"a", &frame(GossipMessage::Hello));
        server.handle_client_frame(t0, b"a", &frame(GossipMessage::Ping));
        let out = drain(&mut server);
        assert_eq!(sent_to(&out, b"a"), vec![GossipMessage::Pong]);
        assert_eq!(server.client_count(), 1);
    }

    #[test]
    fn pong_from_a_client_gets_invalid_and_forgets_it() {
        let t0 = Instant::now();
        let mut server = GossipServer::new(ServerConfig::default(), t0);
        server.handle_client_frame(t0, b"a", &frame(GossipMessage::Hello));
        server.handle_client_frame(t0, b"a", &frame(GossipMessage::Pong));
        let out = drain(&mut server);
        assert_eq!(sent_to(&out, b"a"), vec![GossipMessage::Invalid]);
        assert_eq!(server.client_count(), 0);
        assert_eq!(server.poll_timeout(), None, "its deadline went with it");
    }

    #[test]
    fn identical_republish_is_forwarded_once_half_the_ttl_has_passed() {
        let t0 = Instant::now();
        let mut server = GossipServer::new(ServerConfig::default(), t0);
        server.handle_client_frame(t0, b"a", &frame(GossipMessage::Hello));
        server.handle_client_frame(t0, b"b", &frame(GossipMessage::Hello));
        let publish = frame(GossipMessage::Publish {
            key: "k",
            value: "v",
            ttl: 3000,
        });
        let mut forwarded_at = Vec::new();
        // The publisher refreshes every ttl/3; b hears about it whenever its
        // copy is more than half used.
        for step in 0..=6u32 {
            let now = t0 + Duration::from_secs(step.into());
            server.handle_client_frame(now, b"a", &publish);
            server.handle_client_frame(now, b"b", &frame(GossipMessage::Ping));
            let out = drain(&mut server);
            if sent_to(&out, b"b")
                .iter()
                .any(|m| matches!(m, GossipMessage::Publish { .. }))
            {
                forwarded_at.push(step);
            }
        }
        assert_eq!(forwarded_at, vec![0, 2, 4, 6]);
    }

    #[test]
    fn a_stale_copy_does_not_shorten_the_expiry() {
        let t0 = Instant::now();
        let mut server = GossipServer::new(ServerConfig::default(), t0);
        server.handle_client_frame(t0, b"a", &frame(GossipMessage::Hello));
        let publish = |ttl| {
            frame(GossipMessage::Publish {
                key: "k",
                value: "v",
                ttl,
            })
        };
        server.handle_client_frame(t0, b"a", &publish(5000));
        server.handle_client_frame(t0, b"a", &publish(1000));
        assert_eq!(
            server.expiries.first().map(|(at, _)| *at),
            Some(t0 + Duration::from_secs(5))
        );
    }

    #[test]
    fn host_publish_with_an_unsendable_key_is_dropped() {
        let t0 = Instant::now();
        let mut server = GossipServer::new(ServerConfig::default(), t0);
        server.publish(t0, &"k".repeat(256), "v", Duration::ZERO);
        assert_eq!(server.tuples().count(), 0);
        assert!(drain(&mut server).is_empty());
    }
}
