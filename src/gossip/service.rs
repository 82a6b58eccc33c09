//! A ZGossip server with its sockets: a ROUTER bound on one or more
//! endpoints (TCP 31337 by default) for clients, and a DEALER per remote
//! server it connects to. Like [`crate::Node`], a thin mio reactor around a
//! sans-I/O core ([`GossipServer`]).

use crate::core::gossip_server::{GossipServer, RemoteId, ServerConfig, ServerOutput};
use crate::error::{NodeError, SettingError};
use crate::node::inbox_watch::{InboxWatch, NoPeers};
use crate::node::{CurveKeys, DealerSetup, new_dealer};
use log::{info, warn};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::time::{Duration, Instant};

/// Where a gossip server listens unless told otherwise: every interface,
/// TCP port 31337, as haskell-zre's `zgossip_server` binds.
pub const DEFAULT_GOSSIP_ENDPOINT: &str = "tcp://*:31337";

const ROUTER: Token = Token(crate::node::FIRST_RESERVED_TOKEN);
const WATCH: Token = Token(crate::node::FIRST_RESERVED_TOKEN + 1);
const FIRST_REMOTE_TOKEN: usize = crate::node::FIRST_RESERVED_TOKEN + 16;

/// What the server tells its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GossipEvent {
    /// A new tuple, or a new value for a key (the host's own included).
    Delivered {
        /// The tuple's key; a ZRE node's UUID, 32 upper-case hex digits.
        key: String,
        /// The tuple's value; that node's inbox endpoint.
        value: String,
    },
    /// A tuple's TTL passed without a re-publish.
    Expired {
        /// The tuple's key.
        key: String,
    },
}

/// A ZGossip server (czmq `zgossip_msg.xml`; what `zgossip_server` runs):
/// stores the tuples its clients publish, hands them to every other
/// client, and shares them with the remote servers it connects to.
///
/// Single-threaded, like [`crate::Node`]: call [`GossipService::run_once`]
/// in a loop (or [`GossipService::poll`] to share the poll with sources
/// of your own), then take [`GossipService::next_event`] until `None`.
/// Dropping it closes every socket at once (linger 0).
pub struct GossipService {
    server: GossipServer,
    poll: Poll,
    own_events: Option<Events>,
    context: zmq::Context,
    router: zmq::Socket,
    /// The ROUTER's monitor: sheds connections when descriptors run low,
    /// so that a stranger holding connections open cannot take them all
    /// (libzmq then spins on `accept`; see `inbox_watch.rs`).
    watch: InboxWatch,
    remotes: HashMap<RemoteId, zmq::Socket>,
    /// The CURVE public key of each remote server reached over CURVE, by
    /// endpoint.
    remote_keys: HashMap<String, crate::wire::curve_key::CurveKey>,
    /// Our key pair for CURVE links to remote servers.
    curve_keys: Option<CurveKeys>,
    endpoints: Vec<String>,
    events: VecDeque<GossipEvent>,
}

impl GossipService {
    /// Binds the server on each endpoint (`tcp://*:31337`, `tcp://10.0.0.1:*`).
    ///
    /// # Errors
    ///
    /// [`SettingError::NoGossipEndpoint`](crate::SettingError::NoGossipEndpoint)
    /// (inside [`NodeError::Config`]) for an empty list;
    /// [`SettingError::BindEndpoint`](crate::SettingError::BindEndpoint)
    /// for an endpoint that is not `tcp://HOST:PORT` or `ipc://PATH`;
    /// [`NodeError::Interface`] for `tcp://NAME:PORT` when no interface is
    /// called NAME (an interface name is bound by its address: its first
    /// IPv4 one, else its first IPv6 one);
    /// [`NodeError::GossipBind`] naming the first endpoint that cannot be bound;
    /// [`NodeError::Zmq`] or [`NodeError::Io`] if libzmq or the poll cannot
    /// be set up; [`NodeError::Descriptors`] when too few file descriptors
    /// are free to start.
    pub fn bind<S: AsRef<str>>(endpoints: &[S], config: ServerConfig) -> Result<GossipService, NodeError> {
        Self::bind_with(endpoints, config, None)
    }

    /// [`GossipService::bind`] for CURVE clients only (czmq's zgossip
    /// server with `SET PUBLICKEY`/`SET SECRETKEY`, which Zyre's
    /// `zyre_gossip_connect_curve` talks to): the ROUTER is a CURVE server
    /// with `cert`'s secret key. Any client key is accepted (no
    /// allow-list). Errors as `bind`, and [`NodeError::Certificate`] for a
    /// certificate without its secret key.
    pub fn bind_curve<S: AsRef<str>>(
        endpoints: &[S],
        config: ServerConfig,
        cert: &crate::curve::cert::Certificate,
    ) -> Result<GossipService, NodeError> {
        if !crate::curve_available() {
            return Err(SettingError::CurveUnavailable.into());
        }
        let secret = cert
            .secret_key
            .ok_or_else(|| crate::curve::cert::CertError::Missing {
                path: "(certificate given to GossipService::bind_curve)".into(),
                key: "secret-key",
            })?;
        let mut service = Self::bind_with(endpoints, config, Some(secret))?;
        service.curve_keys = Some(CurveKeys {
            public: cert.public_key,
            secret,
        });
        Ok(service)
    }

    /// [`GossipService::bind`], for CURVE clients only when given our
    /// secret key (a node that is its own gossip server in CURVE mode).
    pub(crate) fn bind_with<S: AsRef<str>>(
        endpoints: &[S],
        config: ServerConfig,
        curve_secret: Option<crate::wire::curve_key::CurveKey>,
    ) -> Result<GossipService, NodeError> {
        if endpoints.is_empty() {
            return Err(SettingError::NoGossipEndpoint.into());
        }
        // libzmq's own words for `udp://` ("protocol not compatible with
        // the socket type") do not say what would work.
        for endpoint in endpoints {
            crate::config::parse_endpoint(endpoint.as_ref())
                .map_err(|message| SettingError::BindEndpoint { message })?;
        }
        // `tcp://eth0:31337`: bound by the interface's address (see
        // `bind_by_address`); the name stays in what we say.
        let addresses = endpoints
            .iter()
            .map(|endpoint| crate::host::interface::bind_by_address(endpoint.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        crate::node::fd_budget::check_room_to_start(crate::node::fd_budget::GOSSIP_SERVER_START_FDS)?;
        let context = zmq::Context::new();
        context.set_io_threads(1)?;
        let router = context.socket(zmq::ROUTER)?;
        router.set_linger(0)?;
        // A client that reconnects after a restart keeps its routing id.
        router.set_router_handover(true)?;
        router.set_maxmsgsize(1 << 20)?;
        if let Some(secret) = &curve_secret {
            router.set_curve_server(true)?;
            router.set_curve_secretkey(secret)?;
        }
        // IPv6 endpoints (`tcp://[fd00::1]:31337`, `tcp://[::]:31337`) bind
        // only with this. Off otherwise: with it, libzmq reports an IPv4
        // bind as `tcp://[::ffff:127.0.0.1]:…`.
        router.set_ipv6(addresses.iter().any(|e| e.contains('[')))?;
        let mut bound = Vec::new();
        for (endpoint, address) in endpoints.iter().zip(&addresses) {
            let endpoint = endpoint.as_ref();
            router.bind(address).map_err(|source| NodeError::GossipBind {
                endpoint: endpoint.to_owned(),
                source,
            })?;
            let last = router
                .get_last_endpoint()?
                .unwrap_or_else(|_| endpoint.to_owned());
            info!("gossip server listening on {last}");
            bound.push(last);
        }
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut SourceFd(&router.get_fd()?), ROUTER, Interest::READABLE)?;
        // No cap on clients: only the descriptors kept free.
        let ports = bound.iter().filter_map(|e| tcp_port(e)).collect();
        let watch = InboxWatch::new(&context, &router, "gossip", ports, usize::MAX)?;
        poll.registry()
            .register(&mut SourceFd(&watch.fd()?), WATCH, Interest::READABLE)?;
        Ok(GossipService {
            server: GossipServer::new(config, Instant::now()),
            poll,
            own_events: Some(Events::with_capacity(64)),
            context,
            router,
            watch,
            remotes: HashMap::new(),
            remote_keys: HashMap::new(),
            curve_keys: None,
            endpoints: bound,
            events: VecDeque::new(),
        })
    }

    /// When the server must next run (a tuple expires, a client is due to
    /// be forgotten, a remote to be pinged), for a host that embeds the
    /// service's poll in its own (see the `AsRawFd` impl).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.server.poll_timeout()
    }

    /// The endpoints as bound (a `*` port resolved to the real one).
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// Connects to another server, so the two share their tuples: this one
    /// says HELLO to it as a client would, and sends it every tuple. An
    /// endpoint already connected is greeted again, not connected twice.
    ///
    /// # Errors
    ///
    /// [`NodeError::Io`] if sending what is due fails; a refused connect
    /// is logged, not returned (libzmq connects in the background).
    pub fn connect(&mut self, endpoint: &str) -> Result<(), NodeError> {
        self.server.connect_remote(Instant::now(), endpoint);
        self.service().map_err(NodeError::Io)
    }

    /// [`GossipService::connect`] to a CURVE server (czmq's zgossip with
    /// `SET PUBLICKEY`, our `zgossip_server --curve-cert`) whose public key
    /// is `server_key`. A server bound with [`GossipService::bind_curve`]
    /// connects with its own key pair; a plain one with a key pair made
    /// for the purpose.
    ///
    /// # Errors
    ///
    /// [`SettingError::CurveUnavailable`] without CURVE support; as
    /// `connect` otherwise.
    pub fn connect_curve(
        &mut self,
        endpoint: &str,
        server_key: crate::wire::curve_key::CurveKey,
    ) -> Result<(), NodeError> {
        if !crate::curve_available() {
            return Err(SettingError::CurveUnavailable.into());
        }
        if self.curve_keys.is_none() {
            let pair = zmq::CurveKeyPair::new()?;
            self.curve_keys = Some(CurveKeys {
                public: pair.public_key,
                secret: pair.secret_key,
            });
        }
        self.remote_keys.insert(endpoint.to_owned(), server_key);
        self.connect(endpoint)
    }

    /// Publishes a tuple of the host's own, as if a client had, with a TTL
    /// (whole milliseconds, rounded up, at most `u32::MAX` ms). A zero
    /// `ttl` publishes TTL 0: kept for
    /// [`GossipServerConfig::default_ttl`](crate::GossipServerConfig::default_ttl),
    /// forever by default. Otherwise the host must publish again within
    /// `ttl` or the tuple expires. A key over 255 bytes cannot be sent and
    /// is logged and dropped.
    ///
    /// # Errors
    ///
    /// [`NodeError::Io`] if sending what is due fails.
    pub fn publish(&mut self, key: &str, value: &str, ttl: Duration) -> Result<(), NodeError> {
        self.server.publish(Instant::now(), key, value, ttl);
        self.service().map_err(NodeError::Io)
    }

    /// A copy of the stored tuples, `(key, value)` in key order.
    pub fn tuples(&self) -> Vec<(String, String)> {
        self.server
            .tuples()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    /// Clients that said HELLO and have not been forgotten (a client is
    /// forgotten after [`GossipServerConfig::client_timeout`](crate::GossipServerConfig::client_timeout)
    /// of silence).
    pub fn client_count(&self) -> usize {
        self.server.client_count()
    }

    /// The registry of the service's poll, to add the caller's own sources
    /// for [`GossipService::poll`]. Their tokens must be below
    /// [`crate::FIRST_RESERVED_TOKEN`]: those from there up are the
    /// service's.
    pub fn registry(&self) -> &Registry {
        self.poll.registry()
    }

    /// The next event already produced, oldest first (does not wait).
    pub fn next_event(&mut self) -> Option<GossipEvent> {
        self.events.pop_front()
    }

    /// Waits for traffic or the next deadline (at most `timeout`) and
    /// handles it; events of the caller's own sources stay in `events`.
    pub fn poll(&mut self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        self.service()?;
        let until = self
            .server
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()));
        let timeout = [until, timeout].into_iter().flatten().min();
        match self.poll.poll(events, timeout) {
            Err(err) if err.kind() != io::ErrorKind::Interrupted => return Err(err),
            _ => {}
        }
        self.service()
    }

    /// [`GossipService::poll`] for callers with no sources of their own:
    /// waits for traffic or the next deadline, at most `timeout` (`None`:
    /// until something happens), and handles it.
    ///
    /// # Errors
    ///
    /// A failure of the poll or of a libzmq receive, as `io::Error`; an
    /// interrupted poll (`EINTR`) is not an error.
    pub fn run_once(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let mut events = self
            .own_events
            .take()
            .unwrap_or_else(|| Events::with_capacity(64));
        let result = self.poll(&mut events, timeout);
        self.own_events = Some(events);
        result
    }

    /// Drains every socket until libzmq reports nothing more to read
    /// (ZMQ_FD is edge-like), handling deadlines and outputs on the way.
    fn service(&mut self) -> io::Result<()> {
        loop {
            // Which clients closed a connection does not matter here.
            self.watch.drain(&mut NoPeers)?;
            let now = Instant::now();
            let mut received = 0usize;
            loop {
                let parts = match self.router.recv_multipart(zmq::DONTWAIT) {
                    Ok(parts) => parts,
                    Err(zmq::Error::EAGAIN) => break,
                    Err(zmq::Error::EINTR) => continue,
                    Err(err) => return Err(io::Error::other(err)),
                };
                received += 1;
                if let [client, frame, ..] = parts.as_slice() {
                    self.server.handle_client_frame(now, client, frame);
                }
            }
            for (remote, socket) in &self.remotes {
                loop {
                    match socket.recv_bytes(zmq::DONTWAIT) {
                        Ok(frame) => {
                            received += 1;
                            self.server.handle_remote_frame(now, *remote, &frame);
                        }
                        Err(zmq::Error::EAGAIN) => break,
                        Err(zmq::Error::EINTR) => continue,
                        Err(err) => return Err(io::Error::other(err)),
                    }
                }
            }
            if self.server.poll_timeout().is_some_and(|t| t <= now) {
                self.server.handle_timeout(now);
            }
            self.apply_outputs()?;
            // Re-arm every edge before sleeping.
            let mut readable = self
                .router
                .get_events()
                .map_err(io::Error::other)?
                .contains(zmq::POLLIN);
            for socket in self.remotes.values() {
                readable |= socket
                    .get_events()
                    .map_err(io::Error::other)?
                    .contains(zmq::POLLIN);
            }
            if received == 0 && !readable {
                return Ok(());
            }
        }
    }

    fn apply_outputs(&mut self) -> io::Result<()> {
        while let Some(output) = self.server.poll_output() {
            match output {
                ServerOutput::SendToClient {
                    client,
                    envelope,
                    frame,
                } => {
                    // A ROUTER drops what it cannot deliver; the client's
                    // next PING or HELLO repairs its view.
                    let sent = self
                        .router
                        .send(&client[..], zmq::SNDMORE | zmq::DONTWAIT)
                        .and_then(|()| match &envelope {
                            Some(envelope) => self.router.send(&envelope[..], zmq::SNDMORE | zmq::DONTWAIT),
                            None => Ok(()),
                        })
                        .and_then(|()| self.router.send(&frame[..], zmq::DONTWAIT));
                    if let Err(err) = sent {
                        warn!("cannot send to gossip client: {err}");
                    }
                }
                ServerOutput::ConnectRemote { remote, endpoint } => {
                    let server_key = self.remote_keys.get(&endpoint);
                    let setup = DealerSetup {
                        curve: self.curve_keys.as_ref().zip(server_key),
                        ..DealerSetup::default()
                    };
                    let socket = new_dealer(&self.context, &endpoint, &setup).map_err(io::Error::other)?;
                    if let Err(err) = socket.connect(&endpoint) {
                        warn!("cannot connect to gossip server {endpoint}: {err}");
                        continue;
                    }
                    let token = Token(FIRST_REMOTE_TOKEN + remote.0);
                    let fd = socket.get_fd().map_err(io::Error::other)?;
                    self.poll
                        .registry()
                        .register(&mut SourceFd(&fd), token, Interest::READABLE)?;
                    info!("connected to remote gossip server {endpoint}");
                    self.remotes.insert(remote, socket);
                }
                ServerOutput::SendToRemote { remote, frame } => {
                    if let Some(socket) = self.remotes.get(&remote) {
                        if let Err(err) = socket.send(&frame[..], zmq::DONTWAIT) {
                            warn!("cannot send to remote gossip server: {err}");
                        }
                    }
                }
                ServerOutput::Delivered { key, value } => {
                    self.events.push_back(GossipEvent::Delivered { key, value })
                }
                ServerOutput::Expired { key } => self.events.push_back(GossipEvent::Expired { key }),
            }
        }
        Ok(())
    }
}

impl std::os::fd::AsRawFd for GossipService {
    /// The service's poll: readable when it has work, so that another
    /// loop (a node with `gossip_bind`) can embed it and call
    /// [`GossipService::run_once`] with a zero timeout when it fires.
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.poll.as_raw_fd()
    }
}

/// The port of a bound `tcp://HOST:PORT` endpoint; `None` for `ipc://`.
fn tcp_port(endpoint: &str) -> Option<u16> {
    let rest = endpoint.strip_prefix("tcp://")?;
    rest.rsplit_once(':')?.1.parse().ok()
}
