//! ZGossip server state machine (sans-I/O).
//!
//! Behaves like czmq's `zgossip` server, which Zyre nodes talk to: a client
//! (a DEALER on the caller's ROUTER) says HELLO and receives every stored
//! tuple, then PUBLISHes its own; each new or changed tuple is stored and
//! forwarded to every other client and to every remote server this one
//! connected out to. PING gets PONG; anything unexpected gets INVALID, which
//! tells a czmq client to say HELLO again.
//!
//! Clients of both ZGossip dialects are served at once
//! ([`GossipDialect`]): czmq's (Zyre) and haskell-zre's. Nothing is
//! configured; each client's dialect is recognised from what it sends:
//! - PING: czmq (haskell-zre's client never pings);
//! - PUBLISH whose key is 16 bytes and either equals the client's ZMQ
//!   identity or is no UTF-8: haskell-zre (its client's identity is its
//!   raw UUID, which it also publishes as key); any other PUBLISH: czmq;
//! - HELLO alone does not tell: from a client whose identity is 16 bytes
//!   not starting with 0 (a raw UUID: haskell-zre's client, or ours) the
//!   tuples HELLO asks for are held back until its PING or PUBLISH says
//!   which dialect to send them in; from any other client (libzmq's own
//!   5-byte identities) they go at once, in czmq's dialect.
//!
//! Every tuple is stored in our terms (the key a UUID in upper-case hex,
//! the lifetime a duration) and each client receives it in its own
//! dialect: keys as hex or raw bytes, TTLs as what is left of the lifetime
//! in milliseconds or seconds, and for haskell-zre an envelope frame (the
//! client's identity) before each message. A haskell-zre client never
//! pings and re-publishes only every 50 s: it is kept for as long as the
//! TTL it published, and a PUBLISH of its after we forgot it says HELLO
//! for it (it ignores INVALID and would otherwise never hear from us).
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
use std::time::{Duration, Instant};

use log::{debug, info, warn};

use super::log_limit::{LogLimit, MALFORMED_GOSSIP_PERIOD};
use crate::wire::{GossipDialect, GossipMessage, GossipMessageId, Hex, RawGossip};

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

/// A PUBLISH with a TTL this short, from the client that published the
/// tuple, is an unpublish (see `GossipClient::unpublish`), whatever its
/// routing id; a longer one from it is a stale copy (a relay's).
const UNPUBLISH_MAX_TTL: Duration = Duration::from_millis(10);

/// A tuple whose own client shortens it to expire within this is logged
/// as unpublished.
const UNPUBLISHED_WITHIN: Duration = Duration::from_secs(1);

/// The ROUTER routing id of a client connection (opaque bytes).
pub type ClientId = Vec<u8>;

/// An outgoing connection from this server to another server: its index
/// in the order of [`GossipServer::connect_remote`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RemoteId(pub usize);

/// What the caller must do, or may want to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerOutput {
    /// Send `[client, frame]` on the ROUTER, or `[client, envelope,
    /// frame]` when there is an envelope (haskell-zre's dialect).
    SendToClient {
        /// The client's ROUTER routing id.
        client: ClientId,
        /// The frame before the message that haskell-zre's client requires
        /// (its own identity, as haskell-zre's server sends); `None` for
        /// czmq's dialect.
        envelope: Option<Vec<u8>>,
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
    /// When a PUBLISH of it last came (made, changed or refreshed): a
    /// newcomer gets the tuples in this order, see `GossipServer::dump`.
    heard_at: Instant,
    /// The client whose PUBLISH made or last changed it (`None`: the host
    /// or a remote server). Only it may shorten the tuple's lifetime.
    publisher: Option<ClientId>,
}

impl Tuple {
    /// The lifetime to send in `dialect` now (`None` = never expires):
    /// what is left of our copy. czmq's ttl 0 is passed on as 0 so that
    /// every czmq server applies its own default; haskell-zre has no such
    /// value (its 0 means "gone"), so it gets what is left of ours.
    fn lifetime(&self, dialect: GossipDialect, now: Instant) -> Option<Duration> {
        if self.wire_ttl_zero && dialect == GossipDialect::Czmq {
            return None;
        }
        match self.expires_at {
            Some(expires_at) => Some(expires_at.saturating_duration_since(now)),
            // Kept forever (ttl 0 and no default)
            None if self.wire_ttl_zero => None,
            // `now + ttl` overflowed an Instant: as long as we can say.
            None => Some(Duration::MAX),
        }
    }
}

#[derive(Debug)]
struct Client {
    /// When the client is forgotten unless it sends something first.
    deadline: Option<Instant>,
    /// Its dialect; `None` until its PING or PUBLISH tells.
    dialect: Option<GossipDialect>,
    /// It said HELLO before we knew its dialect: its tuples are due once
    /// we do.
    dump_pending: bool,
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
    /// Malformed input from clients and remotes is logged at most once a
    /// period: a peer can send it every second.
    malformed_log: LogLimit,
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
            malformed_log: LogLimit::every(MALFORMED_GOSSIP_PERIOD),
        }
    }

    /// A frame arrived on the ROUTER from routing id `client` (the frame
    /// after the routing id; both dialects send one).
    pub fn handle_client_frame(&mut self, now: Instant, client: &[u8], frame: &[u8]) {
        // Catch up first, so that a late handle_timeout cannot make an
        // expired tuple or a forgotten client look alive.
        self.handle_timeout(now);
        let raw = match RawGossip::parse(frame) {
            Ok(raw) => raw,
            Err(error) => {
                self.malformed(now, &format!("client {}", Hex(client)), &error);
                self.reject_client(client);
                return;
            }
        };
        let known = self.clients.contains_key(client);
        match raw {
            RawGossip::Control(GossipMessageId::Hello) => {
                self.hello(now, client, known);
            }
            RawGossip::Control(GossipMessageId::Ping) if known => {
                // haskell-zre's client never pings.
                self.settle(now, client, GossipDialect::Czmq);
                self.touch_client(now, client, None);
                self.send_to_client(client, &GossipMessage::Pong);
            }
            RawGossip::Publish { key, value, ttl } => {
                let dialect = self.publish_dialect(client, key);
                if !known {
                    if dialect == GossipDialect::Czmq {
                        info!("zgossip: PUBLISH from unknown client {}: INVALID", Hex(client));
                        self.reject_client(client);
                        return;
                    }
                    // haskell-zre's client ignores INVALID and never says
                    // HELLO again: its PUBLISH says it for it.
                    info!(
                        "zgossip: PUBLISH from unknown haskell-zre client {}: taken as HELLO",
                        Hex(client)
                    );
                    if !self.hello(now, client, false) {
                        return;
                    }
                }
                let key = match dialect.key_from_wire(key) {
                    Ok(key) => key,
                    Err(error) => {
                        self.malformed(now, &format!("{} client {}", dialect.name(), Hex(client)), &error);
                        self.reject_client(client);
                        return;
                    }
                };
                let lifetime = dialect.ttl_from_wire(ttl);
                self.settle(now, client, dialect);
                // A haskell-zre client is silent until it re-publishes,
                // well within the TTL it gave.
                let keep = (dialect == GossipDialect::Haskell).then(|| lifetime.unwrap_or(Duration::MAX));
                self.touch_client(now, client, keep);
                let wire = WireTtl { dialect, ttl };
                self.accept(now, Source::Client(client), &key, value, lifetime, wire);
            }
            // PING from a client we do not know is INVALID on purpose: that
            // is how a client we forgot, or whose server restarted, learns
            // that it must say HELLO again.
            RawGossip::Control(other) => {
                info!(
                    "zgossip: {} from {} client {}: INVALID",
                    other.name(),
                    if known { "connected" } else { "unknown" },
                    Hex(client)
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
                let dialect = GossipDialect::Czmq;
                let lifetime = dialect.ttl_from_wire(ttl);
                let wire = WireTtl { dialect, ttl };
                self.accept(now, Source::Remote(remote), key, value, lifetime, wire);
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
            Err(error) => self.malformed(now, &format!("remote {endpoint}"), &error),
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
        let lifetime = (!ttl.is_zero()).then_some(ttl);
        let wire = WireTtl {
            dialect: GossipDialect::Czmq,
            ttl: ceil_millis(ttl),
        };
        self.accept(now, Source::Host, key, value, lifetime, wire);
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
                Hex(&client),
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

    /// A client says HELLO (or its first PUBLISH does): it is connected
    /// and is due every tuple. Returns false if it was refused.
    fn hello(&mut self, now: Instant, client: &[u8], known: bool) -> bool {
        if !known && self.clients.len() >= self.config.max_clients {
            warn!(
                "zgossip: HELLO from client {}: already {} clients: INVALID",
                Hex(client),
                self.clients.len()
            );
            self.send_to_client(client, &GossipMessage::Invalid);
            return false;
        }
        info!("zgossip: HELLO from client {}", Hex(client));
        self.touch_client(now, client, None);
        let Some(state) = self.clients.get_mut(client) else {
            return false;
        };
        if state.dialect.is_none() && !is_raw_uuid(client) {
            // libzmq's own identity: no haskell-zre client.
            state.dialect = Some(GossipDialect::Czmq);
        }
        match state.dialect {
            // A repeated HELLO means the client lost its state: send it all again.
            Some(dialect) => self.dump(now, client, dialect),
            None => state.dump_pending = true,
        }
        true
    }

    /// Every stored tuple to one client, the one heard of longest ago
    /// first. A node holds only so many announced peers while it tries
    /// them, and makes room by dropping the oldest announcement: in key
    /// order a live peer's tuple lands anywhere among thousands of stale
    /// ones (a czmq server keeps every tuple it ever got) and was dropped
    /// before it had a turn. Last, it is the one a node keeps.
    fn dump(&mut self, now: Instant, client: &[u8], dialect: GossipDialect) {
        for (key, tuple) in by_age(&self.tuples) {
            if let Some(output) = client_publish(client, dialect, key, tuple, now) {
                self.outputs.push_back(output);
            }
        }
    }

    /// The client's dialect is now known; send the tuples its HELLO asked
    /// for if they were held back. The first dialect seen stays.
    fn settle(&mut self, now: Instant, client: &[u8], dialect: GossipDialect) {
        let Some(state) = self.clients.get_mut(client) else {
            return;
        };
        if state.dialect.is_none() {
            debug!("zgossip: client {} speaks {}", Hex(client), dialect.name());
            state.dialect = Some(dialect);
        }
        if std::mem::take(&mut state.dump_pending) {
            let dialect = state.dialect.unwrap_or(dialect);
            self.dump(now, client, dialect);
        }
    }

    /// The dialect a PUBLISH is in: the client's, once known; else
    /// haskell-zre's for a raw UUID key (the client's identity, or no
    /// text), czmq's for any other.
    fn publish_dialect(&self, client: &[u8], key: &[u8]) -> GossipDialect {
        if let Some(dialect) = self.clients.get(client).and_then(|state| state.dialect) {
            return dialect;
        }
        if key.len() == 16 && (key == client || std::str::from_utf8(key).is_err()) {
            GossipDialect::Haskell
        } else {
            GossipDialect::Czmq
        }
    }

    /// Logs malformed input, at most once per period.
    fn malformed(&mut self, now: Instant, from: &str, error: &crate::wire::WireError) {
        if let Some(also) = self.malformed_log.admit(now) {
            warn!("zgossip: malformed frame from {from}: {error}{also}");
        }
    }

    fn greet_remote(&mut self, now: Instant, remote: RemoteId) {
        // Oldest first, as to a client (see `dump`).
        let frames = encode(&GossipMessage::Hello).into_iter().chain(
            by_age(&self.tuples)
                .into_iter()
                .filter_map(|(key, tuple)| publish_frame(GossipDialect::Czmq, key, tuple, now)),
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
    ///
    /// `lifetime` is what the publisher asked for in real time (`None`:
    /// never expires, which czmq says as ttl 0 and which gets
    /// `default_ttl`); `wire` is the TTL field as sent, for the log.
    fn accept(
        &mut self,
        now: Instant,
        source: Source<'_>,
        key: &str,
        value: &str,
        lifetime: Option<Duration>,
        wire: WireTtl,
    ) {
        let wire_ttl_zero = lifetime.is_none();
        let ttl = lifetime.or(self.config.default_ttl);
        let fresh_expiry = ttl.and_then(|ttl| now.checked_add(ttl));
        let store_full = self.tuples.len() >= self.config.max_tuples;

        let forward = match self.tuples.get_mut(key) {
            Some(tuple) if tuple.value == value => {
                // A stale copy (a smaller remaining ttl) never shortens ours,
                // but the tuple's own client may: the client whose routing
                // id is the tuple's UUID (our nodes' clients), or with a
                // TTL of at most 10 ms the client that published it. That
                // is how one of our nodes unpublishes when it stops cleanly
                // (see `GossipClient::unpublish`; ZGossip has no delete).
                let unpublish = ttl.is_some_and(|ttl| ttl <= UNPUBLISH_MAX_TTL);
                let own = matches!(source, Source::Client(from)
                    if names_client(key, from) || (unpublish && tuple.publisher.as_deref() == Some(from)));
                let expires_at = match (fresh_expiry, tuple.expires_at) {
                    (Some(fresh), _) if own => Some(fresh),
                    (Some(fresh), Some(old)) => Some(fresh.max(old)),
                    (fresh, _) => fresh,
                };
                if own && expires_at.is_some_and(|at| at <= now + UNPUBLISHED_WITHIN) {
                    info!("zgossip: tuple {key} unpublished by its client: expires now");
                }
                reindex(&mut self.expiries, key, tuple.expires_at, expires_at);
                tuple.heard_at = now;
                tuple.expires_at = expires_at;
                tuple.ttl = ttl;
                tuple.wire_ttl_zero = wire_ttl_zero;
                let forward =
                    ttl.is_some_and(|ttl| now.saturating_duration_since(tuple.forwarded_at) > ttl / 2);
                debug!("zgossip: tuple {key} refreshed ({wire}), forwarded: {forward}");
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
                info!("zgossip: PUBLISH {key} = {value} ({wire}){changed}");
                reindex(&mut self.expiries, key, old_expiry, fresh_expiry);
                let tuple = Tuple {
                    value: value.to_owned(),
                    wire_ttl_zero,
                    ttl,
                    expires_at: fresh_expiry,
                    forwarded_at: now,
                    heard_at: now,
                    publisher: match source {
                        Source::Client(client) => Some(client.to_vec()),
                        Source::Host | Source::Remote(_) => None,
                    },
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
        let tuple = &*tuple;
        for (client, state) in &self.clients {
            if matches!(source, Source::Client(from) if from == client.as_slice()) {
                continue;
            }
            // A client whose dialect is not known yet gets every tuple
            // with its held-back HELLO answer.
            let Some(dialect) = state.dialect else {
                continue;
            };
            if let Some(output) = client_publish(client, dialect, key, tuple, now) {
                self.outputs.push_back(output);
            }
        }
        let Some(frame) = publish_frame(GossipDialect::Czmq, key, tuple, now) else {
            return;
        };
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

    /// Moves a connected client's deadline, or connects it: forgotten
    /// after `client_timeout` of silence, or `keep` if that is longer. A
    /// deadline never moves earlier.
    fn touch_client(&mut self, now: Instant, client: &[u8], keep: Option<Duration>) {
        let timeout = keep.map_or(self.config.client_timeout, |keep| {
            keep.max(self.config.client_timeout)
        });
        let entry = self.clients.entry(client.to_vec()).or_insert(Client {
            deadline: None,
            dialect: None,
            dump_pending: false,
        });
        let mut deadline = now.checked_add(timeout);
        if let Some(old) = entry.deadline.take() {
            self.client_deadlines.remove(&(old, client.to_vec()));
            deadline = deadline.map(|new| new.max(old));
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
            ..
        }) = self.clients.remove(client)
        {
            self.client_deadlines.remove(&(deadline, client.to_vec()));
        }
        self.send_to_client(client, &GossipMessage::Invalid);
    }

    /// A message without fields, in the client's dialect (czmq's while
    /// unknown: HELLO, PING and INVALID look the same in both but for
    /// haskell-zre's envelope).
    fn send_to_client(&mut self, client: &[u8], message: &GossipMessage<'_>) {
        let dialect = self.clients.get(client).and_then(|state| state.dialect);
        if let Some(frame) = encode(message) {
            self.outputs.push_back(ServerOutput::SendToClient {
                client: client.to_vec(),
                envelope: envelope(client, dialect.unwrap_or(GossipDialect::Czmq)),
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

/// The TTL field of a PUBLISH as received, for log lines.
#[derive(Debug, Clone, Copy)]
struct WireTtl {
    dialect: GossipDialect,
    ttl: u32,
}

impl std::fmt::Display for WireTtl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.dialect {
            GossipDialect::Czmq => write!(f, "ttl {} ms", self.ttl),
            GossipDialect::Haskell => write!(f, "haskell-zre ttl {} s", self.ttl),
        }
    }
}

/// A PUBLISH of a stored tuple in `dialect`; a failure (a key over 255
/// bytes) is logged, and nothing is sent.
fn publish_frame(dialect: GossipDialect, key: &str, tuple: &Tuple, now: Instant) -> Option<Vec<u8>> {
    match dialect.publish(key, &tuple.value, tuple.lifetime(dialect, now)) {
        Ok(frame) => Some(frame),
        Err(error) => {
            warn!("zgossip: cannot encode PUBLISH {key}: {error}");
            None
        }
    }
}

fn client_publish(
    client: &[u8],
    dialect: GossipDialect,
    key: &str,
    tuple: &Tuple,
    now: Instant,
) -> Option<ServerOutput> {
    Some(ServerOutput::SendToClient {
        client: client.to_vec(),
        envelope: envelope(client, dialect),
        frame: publish_frame(dialect, key, tuple, now)?,
    })
}

/// haskell-zre's client requires two frames: its server puts the client's
/// identity before the message, and so do we.
fn envelope(client: &[u8], dialect: GossipDialect) -> Option<Vec<u8>> {
    (dialect == GossipDialect::Haskell).then(|| client.to_vec())
}

/// Whether `key` is the UUID (hex) that the client presents as its routing
/// id (our nodes' gossip clients do, as haskell-zre's): its own tuple,
/// whoever relayed it here first.
fn names_client(key: &str, client: &[u8]) -> bool {
    is_raw_uuid(client) && key.len() == 32 && key.eq_ignore_ascii_case(&Hex(client).to_string())
}

/// A ZMQ identity that is a raw UUID: 16 bytes, not starting with 0
/// (libzmq's own identities start with 0 and are 5 bytes long).
fn is_raw_uuid(identity: &[u8]) -> bool {
    identity.len() == 16 && identity[0] != 0
}

/// The stored tuples, the one heard of longest ago first.
fn by_age(tuples: &BTreeMap<String, Tuple>) -> Vec<(&String, &Tuple)> {
    let mut tuples: Vec<(&String, &Tuple)> = tuples.iter().collect();
    tuples.sort_by_key(|(_, tuple)| tuple.heard_at);
    tuples
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

#[cfg(test)]
mod tests;
