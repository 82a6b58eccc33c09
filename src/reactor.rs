//! The thin reactor: one mio `Poll` owns the UDP beacon socket, the ROUTER
//! inbox, the DEALERs to peers and gossip servers, and the timer. It only
//! moves bytes between them and the sans-I/O cores.
//!
//! ZMQ_FD is edge-like: it signals when a socket's state may have changed,
//! not while a message waits. So after every wake and every send we drain
//! with DONTWAIT and re-check ZMQ_EVENTS before polling again; otherwise a
//! message that arrived while we were busy would sit unseen.

use crate::core::gossip_client::{ClientConfig, ClientOutput, GossipClient, ServerId};
use crate::core::{Action, Content, Event, Frame, Headers, NodeCore, ZyreUuid};
use crate::error::NodeError;
use crate::iface::Interface;
use crate::link::{LinkId, Links, Outgoing, Sent};
use crate::spare::SpareBuffers;
use log::{debug, info, warn};
use mio::net::UdpSocket;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Tokens at and above this are the node's own; an application that
/// registers its own sources in [`Node::registry`] uses tokens below it.
pub const FIRST_RESERVED_TOKEN: usize = usize::MAX / 2;
const INBOX: Token = Token(FIRST_RESERVED_TOKEN);
const BEACON: Token = Token(FIRST_RESERVED_TOKEN + 1);
pub(crate) const WAKER: Token = Token(FIRST_RESERVED_TOKEN + 2);
const FIRST_LINK_TOKEN: usize = FIRST_RESERVED_TOKEN + 16;

/// Messages taken from the inbox before other sources get a turn, and
/// before the events they made are handed to the application (so that a
/// flood does not pile up events, and memory, faster than they are used).
const INBOX_BATCH: usize = 256;
/// A batch also ends after this many content bytes. The application frees
/// a batch's content soon after it is made; kept within malloc's top pad
/// (128 KiB), that memory is reused, where a larger swing is trimmed from
/// the heap and faulted in (and zeroed by the kernel) again by the next.
const INBOX_BATCH_BYTES: usize = 128 << 10;

pub(crate) struct BeaconSocket {
    pub socket: UdpSocket,
    pub target: SocketAddr,
    /// IPv6 mode: beacons go out on this socket (bound to our address),
    /// `socket` only hears them. `None`: `socket` does both.
    pub sender: Option<UdpSocket>,
}

pub(crate) struct ReactorSettings {
    pub send_hwm: i32,
    pub max_backlog: usize,
    pub linger: Duration,
    pub loopback_only: bool,
}

/// A ZRE node. Build one with [`Node::builder`]; then either drive it
/// from your own loop ([`Node::poll`], [`Node::next_event`]) or hand it to
/// a thread of its own with [`Node::spawn`].
pub struct Node {
    core: NodeCore,
    gossip: Option<GossipClient>,
    poll: Poll,
    own_events: Option<Events>,
    context: zmq::Context,
    inbox: zmq::Socket,
    beacon: Option<BeaconSocket>,
    /// The DEALERs to peers and gossip servers, with their queues.
    links: Links,
    settings: ReactorSettings,
    interface: Interface,
    stopped: bool,
    /// The inbox may hold messages: its ZMQ_FD fired, or the last drain
    /// stopped at the batch limit. Cleared when a drain ends in EAGAIN,
    /// after which only a new ZMQ_FD edge can bring more.
    inbox_ready: bool,
    /// The beacon socket may hold datagrams (mio is edge-triggered).
    beacon_ready: bool,
    /// The last `service` left nothing to do: the inbox drained, no timer
    /// due. Lets `poll` go straight to the wait instead of re-checking.
    settled: bool,
    /// Reused receive buffers, so the hot path does not allocate for them.
    identity: zmq::Message,
    header: zmq::Message,
    frame: zmq::Message,
    /// Frame buffers and frame lists given back (see [`Node::recycle`]) for
    /// the next messages received.
    spare: SpareBuffers,
    /// Kept between `shout_slices` calls: the per-member headers.
    shout_headers: Vec<(Uuid, Vec<u8>)>,
}

impl Node {
    pub(crate) fn start(
        core: NodeCore,
        context: zmq::Context,
        inbox: zmq::Socket,
        beacon: Option<BeaconSocket>,
        interface: Interface,
        settings: ReactorSettings,
        gossip_servers: Vec<String>,
    ) -> Result<Node, NodeError> {
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut SourceFd(&inbox.get_fd()?), INBOX, Interest::READABLE)?;
        let mut beacon = beacon;
        if let Some(beacon) = beacon.as_mut() {
            poll.registry()
                .register(&mut beacon.socket, BEACON, Interest::READABLE)?;
        }
        info!(
            "node {} ({}) listening on {}, interface {}{}",
            core.name(),
            ZyreUuid(core.uuid()),
            core.endpoint(),
            interface.name,
            beacon
                .as_ref()
                .map(|b| format!(", beacons to {}", b.target))
                .unwrap_or_default()
        );
        let mut node = Node {
            core,
            gossip: None,
            poll,
            own_events: Some(Events::with_capacity(256)),
            context,
            inbox,
            beacon,
            links: Links::new(FIRST_LINK_TOKEN, settings.max_backlog),
            settings,
            interface,
            stopped: false,
            inbox_ready: true,
            beacon_ready: true,
            settled: false,
            identity: zmq::Message::new(),
            header: zmq::Message::new(),
            frame: zmq::Message::new(),
            spare: SpareBuffers::new(),
            shout_headers: Vec::new(),
        };
        if !gossip_servers.is_empty() {
            let now = Instant::now();
            let config = ClientConfig {
                ttl: node.core.config().expired,
                ..ClientConfig::default()
            };
            let mut client = GossipClient::new(config, now);
            for server in &gossip_servers {
                client.add_server(now, server);
            }
            let key = ZyreUuid(node.core.uuid()).to_string();
            client.publish(now, &key, node.core.endpoint());
            node.gossip = Some(client);
        }
        node.service()?;
        Ok(node)
    }

    // ----- driving the loop ------------------------------------------------

    /// Waits for I/O or the next deadline (at most `timeout`), then does all
    /// the node's work. Events for sources the caller registered in
    /// [`Node::registry`] are left in `events`; skip tokens at or above
    /// [`FIRST_RESERVED_TOKEN`].
    pub fn poll(&mut self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        if !self.settled {
            self.service()?;
        }
        let timeout = if !self.core.has_events() {
            self.effective_timeout(timeout)
        } else {
            Some(Duration::ZERO)
        };
        match self.poll.poll(events, timeout) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(err) => return Err(err),
        }
        for event in events.iter() {
            match event.token() {
                INBOX => self.inbox_ready = true,
                BEACON => self.beacon_ready = true,
                WAKER => {}
                token => self.links.mark_ready(token),
            }
        }
        self.service()
    }

    /// [`Node::poll`] for callers with no sources of their own.
    pub fn run_once(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let mut events = self
            .own_events
            .take()
            .unwrap_or_else(|| Events::with_capacity(256));
        let result = self.poll(&mut events, timeout);
        self.own_events = Some(events);
        result
    }

    /// The next event already received, if any (does not wait).
    pub fn next_event(&mut self) -> Option<Event> {
        self.core.poll_event()
    }

    /// Runs the node until an event arrives or `timeout` passes.
    pub fn recv_event(&mut self, timeout: Option<Duration>) -> io::Result<Option<Event>> {
        // The common case under load, without reading the clock.
        if let Some(event) = self.core.poll_event() {
            return Ok(Some(event));
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if let Some(event) = self.core.poll_event() {
                return Ok(Some(event));
            }
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if remaining == Some(Duration::ZERO) || (self.stopped && !self.core.has_events()) {
                return Ok(None);
            }
            self.run_once(remaining)?;
        }
    }

    /// The registry of the node's poll, to add the caller's own sources.
    pub fn registry(&self) -> &Registry {
        self.poll.registry()
    }

    /// How long the node may sleep before its next deadline.
    pub fn next_timeout(&self) -> Option<Duration> {
        self.effective_timeout(None)
    }

    fn effective_timeout(&self, timeout: Option<Duration>) -> Option<Duration> {
        let core = self.core.poll_timeout();
        let gossip = self.gossip.as_ref().and_then(|g| g.poll_timeout());
        let deadline = [core, gossip].into_iter().flatten().min();
        let until = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        [until, timeout].into_iter().flatten().min()
    }

    // ----- commands ----------------------------------------------------------

    /// Joins `group` (1 to 255 bytes): peers are told at once.
    ///
    /// # Errors
    /// [`NodeError::Command`] for an invalid name or a stopped node.
    pub fn join(&mut self, group: &str) -> Result<(), NodeError> {
        self.core.join(group)?;
        self.after_command()
    }

    /// Leaves `group`: peers are told at once.
    ///
    /// # Errors
    /// [`NodeError::Command`] for an invalid name or a stopped node.
    pub fn leave(&mut self, group: &str) -> Result<(), NodeError> {
        self.core.leave(group)?;
        self.after_command()
    }

    /// Sends a message of one or more frames to one peer.
    pub fn whisper(&mut self, peer: Uuid, content: Vec<Frame>) -> Result<(), NodeError> {
        self.core.whisper(peer, content)?;
        self.after_command()
    }

    /// Sends a message of one or more frames to every peer in `group`;
    /// returns how many peers it went to.
    pub fn shout(&mut self, group: &str, content: Vec<Frame>) -> Result<usize, NodeError> {
        let reached = self.core.shout(group, content)?;
        self.after_command()?;
        Ok(reached)
    }

    /// Sends a message to one peer from borrowed frames: each is copied
    /// straight into libzmq, as a raw socket send would, so the caller
    /// allocates nothing. Only when the peer's queue is full is a copy
    /// kept here until there is room.
    pub fn whisper_slices(&mut self, peer: Uuid, content: &[&[u8]]) -> Result<(), NodeError> {
        // Whatever the core still wants sent goes first (normally nothing).
        self.apply_actions()?;
        let header = self.core.whisper_header(peer)?;
        self.send_lent(LinkId::Peer(peer), &header, content);
        self.after_command()
    }

    /// Sends a message to every peer in `group` from borrowed frames, as
    /// [`Node::whisper_slices`]; returns how many peers it went to.
    pub fn shout_slices(&mut self, group: &str, content: &[&[u8]]) -> Result<usize, NodeError> {
        self.apply_actions()?;
        let mut headers = std::mem::take(&mut self.shout_headers);
        let reached = self.core.shout_headers(group, &mut headers);
        for (peer, header) in headers.drain(..) {
            self.send_lent(LinkId::Peer(peer), &header, content);
            self.core.recycle_header(header);
        }
        self.shout_headers = headers;
        let reached = reached?;
        self.after_command()?;
        Ok(reached)
    }

    /// [`whisper_slices`](Self::whisper_slices) with one UTF-8 frame.
    pub fn whisper_str(&mut self, peer: Uuid, text: &str) -> Result<(), NodeError> {
        self.whisper_slices(peer, &[text.as_bytes()])
    }

    /// [`shout_slices`](Self::shout_slices) with one UTF-8 frame; returns
    /// how many peers it went to.
    pub fn shout_str(&mut self, group: &str, text: &str) -> Result<usize, NodeError> {
        self.shout_slices(group, &[text.as_bytes()])
    }

    /// Leaves the network cleanly: a port-0 beacon and GOODBYE to every
    /// peer, then waits (up to the linger time) until everything queued has
    /// been handed to the network. Dropping a node stops it too.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        // Hear out peers that already said goodbye, so that we do not wait
        // the linger time for links nobody is listening on any more. No
        // poll told us about their messages yet, so look regardless.
        self.inbox_ready = true;
        self.beacon_ready = true;
        if let Err(err) = self.service() {
            warn!("while stopping: {err}");
        }
        self.stopped = true;
        self.core.stop();
        if let Err(err) = self.apply_actions() {
            warn!("while stopping: {err}");
        }
        let deadline = Instant::now() + self.settings.linger;
        self.links.close_all(self.poll.registry(), deadline);
    }

    /// Whether [`stop`](Self::stop) has run.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    fn after_command(&mut self) -> Result<(), NodeError> {
        self.apply_actions()?;
        if self.links.has_backlog() {
            // A link just filled up: its room events come through the poll.
            self.settled = false;
        }
        Ok(())
    }

    // ----- queries -----------------------------------------------------------

    /// Our UUID.
    pub fn uuid(&self) -> Uuid {
        self.core.uuid()
    }

    /// The name we announce.
    pub fn name(&self) -> &str {
        self.core.name()
    }

    /// Our inbox endpoint as advertised to peers.
    pub fn endpoint(&self) -> &str {
        self.core.endpoint()
    }

    /// The interface the node beacons on and binds its inbox to.
    pub fn interface(&self) -> &Interface {
        &self.interface
    }

    /// Peers that have said HELLO.
    pub fn peers(&self) -> Vec<Uuid> {
        self.core.peers()
    }

    /// Peers known by beacon or gossip whose HELLO has not arrived yet:
    /// with [`Node::peers`], the whole peer table (at most `max_peers`).
    pub fn pending_peer_count(&self) -> usize {
        self.core.pending_peer_count()
    }

    /// The peers in `group`, as they told us (sorted).
    pub fn peers_by_group(&self, group: &str) -> Vec<Uuid> {
        self.core.peers_by_group(group)
    }

    /// The groups we are in (sorted).
    pub fn own_groups(&self) -> Vec<&str> {
        self.core.own_groups()
    }

    /// Groups that at least one peer is in.
    pub fn peer_groups(&self) -> Vec<&str> {
        self.core.peer_groups()
    }

    /// A ready peer's inbox endpoint, `tcp://IP:PORT`, as its HELLO gave
    /// it (Zyre's `zyre_peer_address`).
    pub fn peer_endpoint(&self, peer: Uuid) -> Option<&str> {
        self.core.peer_endpoint(peer)
    }

    /// The name `peer` gave in HELLO; `None` for an unknown peer.
    pub fn peer_name(&self, peer: Uuid) -> Option<&str> {
        self.core.peer_name(peer)
    }

    /// The headers `peer` gave in HELLO.
    pub fn peer_headers(&self, peer: Uuid) -> Option<&Headers> {
        self.core.peer_headers(peer)
    }

    /// The value of one of `peer`'s HELLO headers.
    pub fn peer_header_value(&self, peer: Uuid, key: &str) -> Option<&str> {
        self.core.peer_header_value(peer, key)
    }

    /// A ready peer by UUID (any common format) or by name.
    pub fn find_peer(&self, uuid_or_name: &str) -> Option<Uuid> {
        self.core.find_peer(uuid_or_name)
    }

    /// Gives the content of a received WHISPER or SHOUT back once the
    /// application is done with it: the next messages are received into
    /// these buffers instead of new allocations. Optional; a node keeps at
    /// most a few hundred buffers (1 MiB) and drops the rest.
    pub fn recycle(&mut self, content: Vec<Frame>) {
        self.spare.keep(content);
    }

    /// Messages we hold because libzmq's queues were full, over all peers.
    /// An application producing faster than the network drains (a file
    /// piped into zrecat) waits while this is high instead of growing it.
    pub fn backlog(&self) -> usize {
        self.links.backlog()
    }

    // ----- the work ----------------------------------------------------------

    /// Does everything that can be done without waiting, until the inbox
    /// reports no more input (the edge-triggered contract of ZMQ_FD).
    ///
    /// A receive that ends in EAGAIN has made libzmq process the inbox's
    /// pending commands and reset its ZMQ_FD, so from then on a new message
    /// raises a new edge: neither a ZMQ_EVENTS check nor another drain is
    /// needed before the next wait. Each of those costs a poll(2) inside
    /// libzmq, and a wasted recvfrom(2) on the beacon socket costs one too.
    fn service(&mut self) -> io::Result<()> {
        if self.stopped {
            return Ok(());
        }
        loop {
            let now = Instant::now();
            if self.inbox_ready {
                self.inbox_ready = !self.drain_inbox(now)?;
            }
            if self.beacon_ready {
                self.drain_beacons(now);
            }
            if self.core_timer_due(now) {
                self.core.handle_timeout(now);
            }
            self.service_gossip(now)?;
            self.apply_actions().map_err(io::Error::other)?;
            if self.links.has_backlog() {
                let core = &mut self.core;
                self.links
                    .flush_backlog(self.poll.registry(), |header| core.recycle_header(header));
            }
            if !self.inbox_ready && !self.beacon_ready && !self.core_timer_due(Instant::now()) {
                self.settled = !self.links.has_backlog();
                return Ok(());
            }
            if self.inbox_ready && self.core.has_events() {
                // A full batch: let the application take its events first;
                // the next poll carries on without waiting.
                self.settled = false;
                return Ok(());
            }
        }
    }

    /// The core has a deadline (beacon, reap, …) that has come.
    fn core_timer_due(&self, now: Instant) -> bool {
        self.core.poll_timeout().is_some_and(|t| t <= now)
    }

    /// Returns true if the inbox was drained (rather than the batch ending).
    fn drain_inbox(&mut self, now: Instant) -> io::Result<bool> {
        let mut bytes = 0;
        for _ in 0..INBOX_BATCH {
            if bytes >= INBOX_BATCH_BYTES {
                break;
            }
            match self.inbox.recv(&mut self.identity, zmq::DONTWAIT) {
                Ok(()) => {}
                Err(zmq::Error::EAGAIN) => return Ok(true),
                Err(zmq::Error::EINTR) => continue,
                Err(err) => return Err(io::Error::other(err)),
            }
            // A message's frames arrive together: once the first is here,
            // the rest are, so the blocking receives below do not block.
            // The MORE flag is read from the frame (zmq_msg_more), not with
            // a getsockopt per frame.
            if !self.identity.get_more() {
                continue;
            }
            self.inbox.recv(&mut self.header, 0).map_err(io::Error::other)?;
            let mut more = self.header.get_more();
            let content = if more {
                let mut reader = self.spare.reader();
                while more {
                    self.inbox.recv(&mut self.frame, 0).map_err(io::Error::other)?;
                    more = self.frame.get_more();
                    // One deref: each is two calls into libzmq.
                    let part: &[u8] = &self.frame;
                    bytes += part.len();
                    reader.push(part, !more);
                }
                reader.finish()
            } else {
                Vec::new()
            };
            self.core
                .handle_message(now, &self.identity, &self.header, content);
        }
        Ok(false)
    }

    fn drain_beacons(&mut self, now: Instant) {
        let Some(beacon) = self.beacon.as_ref() else {
            self.beacon_ready = false;
            return;
        };
        let mut buf = [0u8; 512];
        loop {
            match beacon.socket.recv_from(&mut buf) {
                Ok((len, from)) => {
                    // In loopback mode, beacons from a real LAN are not ours.
                    if self.settings.loopback_only && !from.ip().is_loopback() {
                        continue;
                    }
                    self.core.handle_beacon_from(now, from, &buf[..len]);
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.beacon_ready = false;
                    return;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    debug!("beacon socket: {err}");
                    self.beacon_ready = false;
                    return;
                }
            }
        }
    }

    fn service_gossip(&mut self, now: Instant) -> io::Result<()> {
        // Taken out for the duration, so links can be changed meanwhile.
        let Some(mut gossip) = self.gossip.take() else {
            return Ok(());
        };
        let result = self.drive_gossip(&mut gossip, now);
        self.gossip = Some(gossip);
        result
    }

    fn drive_gossip(&mut self, gossip: &mut GossipClient, now: Instant) -> io::Result<()> {
        // Drain every server link: gossip traffic is light.
        for (server, socket) in self.links.gossip_sockets() {
            loop {
                match socket.recv_bytes(zmq::DONTWAIT) {
                    Ok(frame) => gossip.handle_frame(now, ServerId(server), &frame),
                    Err(zmq::Error::EAGAIN) => break,
                    Err(zmq::Error::EINTR) => continue,
                    Err(err) => return Err(io::Error::other(err)),
                }
            }
            // Re-arm the edge-like ZMQ_FD before the next poll.
            let _ = socket.get_events();
        }
        if gossip.poll_timeout().is_some_and(|t| t <= now) {
            gossip.handle_timeout(now);
        }
        while let Some(output) = gossip.poll_output() {
            match output {
                ClientOutput::Connect { server, endpoint } => {
                    // Gossip DEALERs always stay registered: servers talk back.
                    let socket = self.context.socket(zmq::DEALER).map_err(io::Error::other)?;
                    socket.set_linger(0).map_err(io::Error::other)?;
                    // IPv6 gossip servers (`[fd00::1]:31337`) need this.
                    socket
                        .set_ipv6(endpoint.contains('['))
                        .map_err(io::Error::other)?;
                    socket
                        .set_sndhwm(self.settings.send_hwm)
                        .map_err(io::Error::other)?;
                    if let Err(err) = socket.connect(&endpoint) {
                        warn!("cannot connect to gossip server {endpoint}: {err}");
                        continue;
                    }
                    info!("connecting to gossip server {endpoint}");
                    self.links
                        .add(self.poll.registry(), LinkId::Gossip(server.0), socket, true)?;
                }
                ClientOutput::Disconnect { server } => {
                    self.links
                        .close(self.poll.registry(), LinkId::Gossip(server.0), None);
                }
                ClientOutput::Send { server, frame } => {
                    self.send_on(
                        LinkId::Gossip(server.0),
                        Outgoing {
                            header: frame,
                            content: None,
                        },
                    );
                }
                ClientOutput::Deliver { key, value } => {
                    debug!("gossip: {key} = {value}");
                    self.core.handle_gossip_tuple(now, &key, &value);
                }
            }
        }
        Ok(())
    }

    fn apply_actions(&mut self) -> Result<(), NodeError> {
        if !self.core.has_actions() {
            // The common case, checked without moving an empty Action out.
            return Ok(());
        }
        while let Some(action) = self.core.poll_action() {
            match action {
                Action::Connect { peer, endpoint } => self.connect_peer(peer, &endpoint)?,
                Action::Send {
                    peer,
                    header,
                    content,
                } => self.send_on(LinkId::Peer(peer), Outgoing { header, content }),
                Action::Disconnect { peer } => {
                    // While stopping, GOODBYE and queued data still go out.
                    let deadline = self.stopped.then(|| Instant::now() + self.settings.linger);
                    self.links
                        .close(self.poll.registry(), LinkId::Peer(peer), deadline);
                }
                Action::Relink { from, to } => {
                    self.links
                        .relink(self.poll.registry(), LinkId::Peer(from), LinkId::Peer(to))
                }
                Action::Beacon(beacon) => {
                    if let Some(socket) = &self.beacon {
                        let out = socket.sender.as_ref().unwrap_or(&socket.socket);
                        if let Err(err) = out.send_to(&beacon.to_bytes(), socket.target) {
                            debug!("cannot send beacon to {}: {err}", socket.target);
                        }
                        // Our own beacon comes straight back on loopback or
                        // broadcast: read it now rather than wake for it.
                        self.beacon_ready = true;
                    }
                }
            }
        }
        Ok(())
    }

    fn connect_peer(&mut self, peer: Uuid, endpoint: &str) -> Result<(), NodeError> {
        self.links.close(self.poll.registry(), LinkId::Peer(peer), None);
        let socket = self.context.socket(zmq::DEALER)?;
        // IPv6 peer endpoints (`tcp://[…]:port`) connect only with this.
        socket.set_ipv6(endpoint.contains('['))?;
        let mut identity = [1u8; 17];
        identity[1..].copy_from_slice(self.core.uuid().as_bytes());
        socket.set_identity(&identity)?;
        socket.set_sndhwm(self.settings.send_hwm)?;
        socket.set_sndtimeo(0)?;
        socket.set_linger(self.settings.linger.as_millis().min(i32::MAX as u128) as i32)?;
        if let Err(err) = socket.connect(endpoint) {
            // The core keeps the peer until it expires; nothing will arrive.
            warn!("cannot connect to peer {} at {endpoint}: {err}", peer.simple());
        }
        self.links
            .add(self.poll.registry(), LinkId::Peer(peer), socket, false)?;
        Ok(())
    }

    /// Sends a message on a link (or queues it there); gives its buffers
    /// back to the core and the spare pool once sent, and forgets a peer
    /// that fell more than `max_backlog` messages behind.
    fn send_on(&mut self, id: LinkId, message: Outgoing) {
        match self.links.send(self.poll.registry(), id, message) {
            Sent::Done(message) => {
                self.core.recycle_header(message.header);
                // Frames copied into libzmq are free again: keep them for
                // what we receive next.
                if let Some(Content::Owned(frames)) = message.content {
                    self.recycle(frames);
                }
            }
            Sent::Overflow => {
                if let LinkId::Peer(peer) = id {
                    warn!(
                        "peer {} fell more than {} messages behind: dropping it",
                        peer.simple(),
                        self.settings.max_backlog
                    );
                    self.core.forget_peer(peer);
                }
            }
            Sent::Queued | Sent::Dropped => {}
        }
    }

    /// Sends a header and lent content frames on a link; if libzmq will
    /// not take them now, queues a copy behind earlier messages.
    fn send_lent(&mut self, id: LinkId, header: &[u8], content: &[&[u8]]) {
        if self.links.send_lent(id, header, content) {
            return;
        }
        let message = Outgoing {
            header: self.core.header_buffer(header),
            content: Some(Content::Owned(content.iter().map(|part| part.to_vec()).collect())),
        };
        self.send_on(id, message);
    }
}

impl AsRawFd for Node {
    /// The poll's file descriptor: readable when the node has work, so
    /// that another event loop can embed the node and call
    /// [`Node::run_once`] with a zero timeout when it fires.
    fn as_raw_fd(&self) -> RawFd {
        self.poll.as_raw_fd()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop();
    }
}
