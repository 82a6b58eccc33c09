//! A ZGossip server with its sockets: a ROUTER bound on one or more
//! endpoints (TCP 31337 by default) for clients, and a DEALER per remote
//! server it connects to. Like [`crate::Node`], a thin mio reactor around a
//! sans-I/O core ([`GossipServer`]).

use crate::core::gossip_server::{GossipServer, RemoteId, ServerConfig, ServerOutput};
use crate::error::{NodeError, SettingError};
use log::{info, warn};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::time::{Duration, Instant};

pub const DEFAULT_GOSSIP_ENDPOINT: &str = "tcp://*:31337";

const ROUTER: Token = Token(crate::reactor::FIRST_RESERVED_TOKEN);
const FIRST_REMOTE_TOKEN: usize = crate::reactor::FIRST_RESERVED_TOKEN + 16;

/// What the server tells its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GossipEvent {
    /// A new tuple, or a new value for a key.
    Delivered { key: String, value: String },
    /// A tuple's TTL passed without a re-publish.
    Expired { key: String },
}

pub struct GossipService {
    server: GossipServer,
    poll: Poll,
    own_events: Option<Events>,
    context: zmq::Context,
    router: zmq::Socket,
    remotes: HashMap<RemoteId, zmq::Socket>,
    endpoints: Vec<String>,
    events: VecDeque<GossipEvent>,
}

impl GossipService {
    /// Binds the server on each endpoint (`tcp://*:31337`, `tcp://10.0.0.1:*`).
    pub fn bind<S: AsRef<str>>(endpoints: &[S], config: ServerConfig) -> Result<GossipService, NodeError> {
        if endpoints.is_empty() {
            return Err(SettingError::NoGossipEndpoint.into());
        }
        let context = zmq::Context::new();
        context.set_io_threads(1)?;
        let router = context.socket(zmq::ROUTER)?;
        router.set_linger(0)?;
        // A client that reconnects after a restart keeps its routing id.
        router.set_router_handover(true)?;
        router.set_maxmsgsize(1 << 20)?;
        let mut bound = Vec::new();
        for endpoint in endpoints {
            let endpoint = endpoint.as_ref();
            router.bind(endpoint).map_err(|source| NodeError::Bind {
                address: endpoint.to_owned(),
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
        Ok(GossipService {
            server: GossipServer::new(config, Instant::now()),
            poll,
            own_events: Some(Events::with_capacity(64)),
            context,
            router,
            remotes: HashMap::new(),
            endpoints: bound,
            events: VecDeque::new(),
        })
    }

    /// The endpoints as bound (a `*` port resolved to the real one).
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// Connects to another server, so the two share their tuples.
    pub fn connect(&mut self, endpoint: &str) -> Result<(), NodeError> {
        self.server.connect_remote(Instant::now(), endpoint);
        self.service().map_err(NodeError::Io)
    }

    /// Publishes a tuple of the host's own.
    pub fn publish(&mut self, key: &str, value: &str, ttl: Duration) -> Result<(), NodeError> {
        self.server.publish(Instant::now(), key, value, ttl);
        self.service().map_err(NodeError::Io)
    }

    pub fn tuples(&self) -> Vec<(String, String)> {
        self.server
            .tuples()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    pub fn client_count(&self) -> usize {
        self.server.client_count()
    }

    pub fn registry(&self) -> &Registry {
        self.poll.registry()
    }

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
                ServerOutput::SendToClient { client, frame } => {
                    // A ROUTER drops what it cannot deliver; the client's
                    // next PING or HELLO repairs its view.
                    let sent = self
                        .router
                        .send(&client[..], zmq::SNDMORE | zmq::DONTWAIT)
                        .and_then(|()| self.router.send(&frame[..], zmq::DONTWAIT));
                    if let Err(err) = sent {
                        warn!("cannot send to gossip client: {err}");
                    }
                }
                ServerOutput::ConnectRemote { remote, endpoint } => {
                    let socket = self.context.socket(zmq::DEALER).map_err(io::Error::other)?;
                    socket.set_linger(0).map_err(io::Error::other)?;
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
