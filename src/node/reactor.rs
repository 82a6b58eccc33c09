//! The thin reactor: one mio `Poll` owns the UDP beacon socket, the ROUTER
//! inbox, the DEALERs to peers and gossip servers, and the timer. It only
//! moves bytes between them and the sans-I/O cores.
//!
//! ZMQ_FD is edge-like: it signals when a socket's state may have changed,
//! not while a message waits. So after every wake and every send we drain
//! with DONTWAIT and re-check ZMQ_EVENTS before polling again; otherwise a
//! message that arrived while we were busy would sit unseen.
//!
//! Back-pressure: while the application has `max_events` events not yet
//! taken, the inbox is not read (its messages wait in libzmq, whose
//! receive high-water mark pushes back on the senders), but everything
//! else goes on: beacons, timers, PINGs we send, commands. `inbox_ready`
//! stays set meanwhile, so the first pass after the application took
//! events drains the inbox to EAGAIN: no ZMQ_FD edge is needed for the
//! messages that waited.

mod back_pressure;
mod commands;
mod gossip_bind;
mod queries;
mod rebind;
mod seeds;
#[cfg(test)]
mod send_failed_tests;

use super::beacon_socket::BeaconSocket;
use super::gossip_host::check_gossip_host;
use super::handshake_watch::{Handshake, HandshakeWatch};
use super::inbox_watch::{INBOUND_MARGIN, InboxOwner, InboxWatch};
use super::link::{DealerSetup, LinkId, Links, Outgoing, Payload, Sent, new_dealer};
use super::probe::{Finished, Probes, Verdict};
use super::receive_pool::ReceivePool;
use super::setup::Rebind;
use super::zmq_frame::{HeldFrame, ZmqFrame};
use crate::core::gossip_client::{ClientConfig, ClientOutput, GossipClient, ServerId};
use crate::core::{
    Action, Content, Event, Frame, HeaderFrame, Headers, NodeCore, Removal, SharedContent, ZyreUuid,
};
use crate::curve::zap::ZapHandler;
use crate::error::NodeError;
use crate::host::address_watch::AddressWatch;
use crate::host::interface::Interface;
use crate::wire::MessageId;
use crate::wire::curve_key::CurveKey;
use log::{debug, info, warn};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Tokens at and above this are the node's own; an application that
/// registers its own sources in [`Node::registry`] uses tokens below it.
pub const FIRST_RESERVED_TOKEN: usize = usize::MAX / 2;
const INBOX: Token = Token(FIRST_RESERVED_TOKEN);
const BEACON: Token = Token(FIRST_RESERVED_TOKEN + 1);
const WAKER: Token = Token(FIRST_RESERVED_TOKEN + 2);
const INBOX_WATCH: Token = Token(FIRST_RESERVED_TOKEN + 3);
const ZAP: Token = Token(FIRST_RESERVED_TOKEN + 4);
const RESOLVER: Token = Token(FIRST_RESERVED_TOKEN + 5);
const GOSSIP_SERVER: Token = Token(FIRST_RESERVED_TOKEN + 6);
const FIRST_PROBE_TOKEN: usize = FIRST_RESERVED_TOKEN + 16;
/// Probes in flight at most: one per peer is all the core asks for.
const MAX_PROBES: usize = 4096;
const FIRST_LINK_TOKEN: usize = FIRST_PROBE_TOKEN + MAX_PROBES;
/// CURVE handshakes watched at once, at the top of the token space (link
/// tokens count up from below and never get there).
const HANDSHAKE_TOKENS: usize = 1 << 24;
const FIRST_HANDSHAKE_TOKEN: usize = usize::MAX - HANDSHAKE_TOKENS;

/// Messages taken from the inbox before other sources get a turn, and
/// before the events they made are handed to the application (so that a
/// flood does not pile up events, and memory, faster than they are used).
const INBOX_BATCH: usize = 256;
/// A batch also ends after this many content bytes. The application frees
/// a batch's content soon after it is made; kept within malloc's top pad
/// (128 KiB), that memory is reused, where a larger swing is trimmed from
/// the heap and faulted in (and zeroed by the kernel) again by the next.
const INBOX_BATCH_BYTES: usize = 128 << 10;
/// The messages whose connection the inbox watch is told of (see
/// `Node::note_connection`), as a bit set of their ids.
const CONNECTION_NOTED: u32 =
    1 << MessageId::Hello as u32 | 1 << MessageId::Ping as u32 | 1 << MessageId::PingOk as u32;

pub(crate) struct ReactorSettings {
    pub send_hwm: i32,
    pub max_backlog: usize,
    /// Events queued for the application at which the inbox is no longer
    /// read (`NodeBuilder::max_events`).
    pub max_events: usize,
    pub linger: Duration,
    pub loopback_only: bool,
    /// The user named the interface's address (`-i 10.0.0.5`): when it
    /// goes, the node waits for it rather than take another.
    pub interface_pinned: bool,
    /// CURVE mode: our key pair, for the DEALERs to peers and to gossip
    /// servers whose key we know (the inbox was made a CURVE server when
    /// it was built).
    pub curve: Option<CurveKeys>,
    /// Seed peers (`NodeBuilder::peer`), checked by the builder.
    pub seeds: Vec<String>,
    /// Where our in-node gossip server listens (`NodeBuilder::gossip_bind`).
    pub gossip_bind: Option<String>,
}

/// Our CURVE key pair (32 bytes each).
#[derive(Clone, Copy)]
pub(crate) struct CurveKeys {
    pub public: CurveKey,
    pub secret: CurveKey,
}

impl CurveKeys {
    /// Makes `socket` a CURVE client of the server with public key `server`.
    pub(crate) fn client(&self, socket: &zmq::Socket, server: &CurveKey) -> zmq::Result<()> {
        socket.set_curve_serverkey(server)?;
        socket.set_curve_publickey(&self.public)?;
        socket.set_curve_secretkey(&self.secret)
    }
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
    /// Closed connections to our inbox (with fast EXIT on).
    inbox_watch: InboxWatch,
    /// The monitor may hold events (its ZMQ_FD fired).
    watch_ready: bool,
    /// Connect probes of peer ports (`Action::Probe`).
    probes: Probes,
    /// CURVE mode: the handshakes of new DEALERs to peers.
    handshakes: HandshakeWatch,
    handshake_results: Vec<Handshake>,
    /// Probe results waiting to be handed to the core: a refusal only
    /// after the inbox has been drained, so that a peer's last messages
    /// come before its EXIT.
    probe_results: Vec<Finished>,
    settings: ReactorSettings,
    interface: Interface,
    /// Whether the interface still has our address (not in loopback mode).
    address_watch: Option<AddressWatch>,
    /// What binding again at another address needs.
    rebind: Rebind,
    stopped: bool,
    /// The application takes no events for now (`Node::hold_events`).
    events_held: bool,
    /// What the core was last told: the inbox is not read (the events'
    /// bound), so peers' silence is not judged.
    reading_paused: bool,
    /// The inbox may hold messages: its ZMQ_FD fired, or the last drain
    /// stopped at the batch limit. Cleared when a drain ends in EAGAIN,
    /// after which only a new ZMQ_FD edge can bring more.
    inbox_ready: bool,
    /// The beacon socket may hold datagrams (mio is edge-triggered).
    beacon_ready: bool,
    /// The last `service` left nothing to do: the inbox drained, no timer
    /// due. Lets `poll` go straight to the wait instead of re-checking.
    settled: bool,
    /// Makes the poll's fd readable when a pass ends with work left (a
    /// full inbox batch) and the fd was lent (`fd_lent`), so that a caller
    /// polling that fd comes back (ZMQ_FD will not fire again for messages
    /// already queued). mio allows one waker per poll:
    /// [`crate::NodeHandle`] shares it.
    waker: std::sync::Arc<mio::Waker>,
    /// Whether the poll's fd has been handed out (`AsRawFd`, `AsFd`, or
    /// `registry()`, whose `Registry` has the same fd): only then may a
    /// caller wait on it without `next_timeout()`, and need the wake after
    /// a full batch. (A `Cell`: those take `&self`.)
    fd_lent: std::cell::Cell<bool>,
    /// CURVE allow-list: answers libzmq's ZAP requests for the inbox.
    zap: Option<ZapHandler>,
    /// The ZAP handler may hold requests (its ZMQ_FD fired).
    zap_ready: bool,
    /// The CURVE key of each gossip server, by `ServerId` (the order they
    /// were added in); `None` for a plain link.
    gossip_keys: Vec<Option<CurveKey>>,
    /// Reused receive buffers, so the hot path does not allocate for them.
    identity: ZmqFrame,
    header: ZmqFrame,
    frame: ZmqFrame,
    /// Frame buffers and frame lists given back (see [`Node::recycle`]) for
    /// the next messages received.
    receive_pool: ReceivePool,
    /// Kept between `shout_slices` calls: the per-member headers.
    shout_headers: Vec<(Uuid, HeaderFrame)>,
    /// Peer links a message was lost on: their peers are removed once the
    /// core's queued actions are applied (see `settle_lost_links`).
    lost_links: Vec<LostLink>,
    /// The content of the SHOUT being sent, as libzmq messages that every
    /// member's send shares (one copy of the content, not one per member);
    /// emptied once the SHOUT is out.
    shared_frames: Vec<ZmqFrame>,
    /// Whose content `shared_frames` holds, for a SHOUT of owned content
    /// (`Content::Shared`, the same `Arc` in every member's action).
    shared_of: Option<SharedContent>,
    /// Seed peers given by name, and the thread that resolves them.
    seed_names: seeds::SeedNames,
    /// The resolver woke us.
    resolver_ready: bool,
    /// Our own gossip server (`NodeBuilder::gossip_bind`).
    gossip_server: Option<gossip_bind::InNodeGossip>,
    /// Its poll fired.
    gossip_server_ready: bool,
}

/// The sockets [`crate::NodeBuilder`] made for a node, bound and set up.
pub(crate) struct NodeSockets {
    pub context: zmq::Context,
    pub inbox: zmq::Socket,
    pub beacon: Option<BeaconSocket>,
    /// The ZAP handler of a CURVE allow-list, bound before the inbox.
    pub zap: Option<ZapHandler>,
    pub rebind: Rebind,
}

impl Node {
    pub(crate) fn start(
        core: NodeCore,
        sockets: NodeSockets,
        interface: Interface,
        settings: ReactorSettings,
        gossip_servers: Vec<(String, Option<CurveKey>)>,
    ) -> Result<Node, NodeError> {
        let NodeSockets {
            context,
            inbox,
            beacon,
            zap,
            rebind,
        } = sockets;
        let poll = Poll::new()?;
        let waker = std::sync::Arc::new(mio::Waker::new(poll.registry(), WAKER)?);
        poll.registry()
            .register(&mut SourceFd(&inbox.get_fd()?), INBOX, Interest::READABLE)?;
        if let Some(zap) = &zap {
            poll.registry()
                .register(&mut SourceFd(&zap.fd()?), ZAP, Interest::READABLE)?;
        }
        // Always: it keeps the connections to our inbox within the
        // table's descriptors; fast EXIT also uses what closes.
        let inbox_watch = InboxWatch::new(
            &context,
            &inbox,
            &core.uuid().simple().to_string(),
            vec![core.config().port],
            super::fd_budget::inbound_cap(core.config().max_peers, INBOUND_MARGIN),
        )?;
        poll.registry()
            .register(&mut SourceFd(&inbox_watch.fd()?), INBOX_WATCH, Interest::READABLE)?;
        let mut beacon = beacon;
        if let Some(beacon) = beacon.as_mut() {
            beacon.register(poll.registry(), BEACON)?;
        }
        info!(
            "node {} ({}) listening on {}, interface {}{}",
            core.name(),
            ZyreUuid(core.uuid()),
            core.endpoint(),
            interface.name,
            beacon
                .as_ref()
                .map(|b| format!(", {}", b.describe()))
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
            watch_ready: true,
            inbox_watch,
            probes: Probes::new(FIRST_PROBE_TOKEN, MAX_PROBES),
            handshakes: HandshakeWatch::new(FIRST_HANDSHAKE_TOKEN, HANDSHAKE_TOKENS),
            handshake_results: Vec::new(),
            probe_results: Vec::new(),
            address_watch: (!interface.loopback)
                .then(|| AddressWatch::new(interface.clone(), settings.interface_pinned, Instant::now())),
            rebind,
            settings,
            interface,
            stopped: false,
            events_held: false,
            reading_paused: false,
            inbox_ready: true,
            beacon_ready: true,
            settled: false,
            identity: ZmqFrame::new(),
            header: ZmqFrame::new(),
            frame: ZmqFrame::new(),
            receive_pool: ReceivePool::new(),
            shout_headers: Vec::new(),
            lost_links: Vec::new(),
            shared_frames: Vec::new(),
            shared_of: None,
            zap_ready: zap.is_some(),
            waker,
            fd_lent: std::cell::Cell::new(false),
            zap,
            gossip_keys: gossip_servers.iter().map(|(_, key)| *key).collect(),
            seed_names: seeds::SeedNames::default(),
            resolver_ready: false,
            gossip_server: None,
            gossip_server_ready: false,
        };
        if let Some(endpoint) = node.settings.gossip_bind.clone() {
            let remotes: Vec<String> = gossip_servers.iter().map(|(e, _)| e.clone()).collect();
            node.start_gossip_bind(&endpoint, &remotes)?;
        }
        for seed in std::mem::take(&mut node.settings.seeds) {
            node.add_peer(&seed)?;
        }
        if !gossip_servers.is_empty() {
            let now = Instant::now();
            let config = ClientConfig {
                ttl: node.core.config().expired,
                uuid: Some(*node.core.uuid().as_bytes()),
                ..ClientConfig::default()
            };
            let mut client = GossipClient::new(config, now);
            for (server, _) in &gossip_servers {
                client.add_server(now, server);
            }
            let key = ZyreUuid(node.core.uuid()).to_string();
            client.publish(now, &key, &node.core.gossip_value());
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
        let flushed = self.links.flushed();
        if !self.settled {
            self.service()?;
        }
        // Events to take: back at once, unless the caller lets them wait
        // at the bound (the inbox is paused), then only timers and I/O.
        // Back at once too while the inbox stopped at a batch with room
        // left (events held, say): ZMQ_FD will not fire for those
        // messages, and no wake is sent unless the fd was lent. And when
        // that pass moved the backlog: a caller waiting for room (as
        // `zrecat` with a file piped in) has it, and no edge will come.
        let timeout = if self.inbox_left()
            || self.links.flushed() != flushed
            || (self.core.has_events() && !self.inbox_paused() && !self.events_held)
        {
            Some(Duration::ZERO)
        } else {
            self.effective_timeout(timeout)
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
                INBOX_WATCH => self.watch_ready = true,
                ZAP => self.zap_ready = true,
                RESOLVER => self.resolver_ready = true,
                GOSSIP_SERVER => self.gossip_server_ready = true,
                token if self.handshakes.mark_ready(token) => {}
                token => {
                    if !self.probes.ready(self.poll.registry(), token) {
                        self.links.mark_ready(token)
                    }
                }
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

    /// Runs the node until an event arrives or `timeout` passes. A wake
    /// through [`Node::waker`] does not end the wait: a loop that also
    /// serves work of its own (a channel, stdin) drives the node with
    /// [`Node::run_once`], which returns on a wake, and takes events
    /// with [`Node::next_event`].
    #[inline]
    pub fn recv_event(&mut self, timeout: Option<Duration>) -> io::Result<Option<Event>> {
        // The common case under load, without reading the clock or the
        // stack frame of the wait below.
        if let Some(event) = self.core.poll_event() {
            return Ok(Some(event));
        }
        self.wait_event(timeout)
    }

    #[inline(never)]
    fn wait_event(&mut self, timeout: Option<Duration>) -> io::Result<Option<Event>> {
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
        // A `Registry` gives out the poll's fd (`AsRawFd`, `try_clone`).
        self.fd_lent.set(true);
        self.poll.registry()
    }

    /// How long the node may sleep before its next deadline: zero while
    /// work is pending (events not yet taken with [`Node::next_event`], or
    /// messages left in the inbox after a full batch), which no fd
    /// readiness would announce.
    pub fn next_timeout(&self) -> Option<Duration> {
        if self.has_pending_work() {
            return Some(Duration::ZERO);
        }
        self.effective_timeout(None)
    }

    /// Work that a wait on the fd would not announce: events to take, or
    /// inbox messages already past ZMQ_FD's edge.
    fn has_pending_work(&self) -> bool {
        (!self.stopped && self.core.has_events() && !self.events_held) || self.inbox_left()
    }

    /// The last pass stopped at a batch with room left in the event queue:
    /// inbox messages wait that ZMQ_FD will not announce again.
    fn inbox_left(&self) -> bool {
        !self.stopped && self.inbox_ready && !self.inbox_paused()
    }

    /// The waker of the node's poll: another thread wakes a loop that
    /// drives the node ([`Node::poll`], [`Node::run_once`]; not
    /// [`Node::recv_event`], which waits on for an event) with it, for
    /// example after handing it data through a channel. mio allows one
    /// `Waker` per `Poll` (a second one panics in a debug build), so this
    /// is the one to use; [`crate::NodeHandle`] uses it too.
    pub fn waker(&self) -> std::sync::Arc<mio::Waker> {
        self.waker.clone()
    }

    fn effective_timeout(&self, timeout: Option<Duration>) -> Option<Duration> {
        let core = self.core.poll_timeout();
        let gossip = self.gossip.as_ref().and_then(|g| g.poll_timeout());
        let probe = self.probes.next_deadline();
        let server = self.gossip_server.as_ref().and_then(|g| g.next_deadline());
        let deadline = [core, gossip, probe, server].into_iter().flatten().min();
        let until = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        [until, timeout].into_iter().flatten().min()
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
            if self.zap_ready {
                // Handshakes wait on these answers: give them first.
                self.zap_ready = false;
                if let Some(zap) = self.zap.as_mut() {
                    zap.serve(now).map_err(io::Error::other)?;
                }
            }
            self.sync_reading_pause(now);
            if self.inbox_ready && !self.inbox_paused() {
                self.inbox_ready = !self.drain_inbox(now)?;
                self.sync_reading_pause(now);
            }
            self.service_fast_exit(now)?;
            if self.handshakes.has_ready() {
                let links = &mut self.links;
                self.handshakes
                    .drain(self.poll.registry(), &mut self.handshake_results, |link| {
                        links.stop_monitor(link)
                    });
                for result in self.handshake_results.drain(..) {
                    match result {
                        Handshake::Up(LinkId::Peer(peer)) => self.core.handle_link_up(now, peer),
                        Handshake::Failed(LinkId::Peer(peer), _) => self.core.handle_link_failed(now, peer),
                        Handshake::Up(LinkId::Gossip(_)) => {}
                        Handshake::Failed(LinkId::Gossip(server), endpoint) => {
                            let key = self.gossip_keys.get(server).copied().flatten();
                            warn!(
                                "gossip server {endpoint}: the CURVE handshake failed: the key given for it ({}) is not the server's, or it does not accept ours",
                                key.map(|k| crate::wire::curve_key::encode_z85(&k))
                                    .unwrap_or_default()
                            );
                        }
                    }
                }
            }
            if self.beacon_ready {
                self.drain_beacons(now);
            }
            if self.core_timer_due(now) {
                self.core.handle_timeout(now);
            }
            self.watch_address(now);
            self.service_gossip(now)?;
            if self.resolver_ready {
                self.resolver_ready = false;
                self.service_resolver(now);
            }
            self.service_gossip_server(now)?;
            self.apply_actions().map_err(io::Error::other)?;
            if self.links.has_backlog() {
                self.links.flush_backlog(self.poll.registry());
                for peer in self.links.take_drained() {
                    self.core.handle_link_drained(now, peer);
                }
                self.forget_failed_links().map_err(io::Error::other)?;
            }
            if self.links.take_gossip_input() {
                // The flush read ZMQ_EVENTS and took the edge of a gossip
                // server's message: read it now, no edge will come.
                continue;
            }
            let paused = self.inbox_paused();
            if (self.probes.has_finished() || !self.probe_results.is_empty()) && !paused {
                // Refusals wait for a drained inbox: look at it once more.
                self.inbox_ready = true;
                continue;
            }
            // Paused, the inbox is no work until events are taken.
            let inbox_work = self.inbox_ready && !paused;
            if !inbox_work && !self.beacon_ready && !self.core_timer_due(Instant::now()) {
                // With messages left unread, the next pass looks again.
                self.settled = !self.links.has_backlog() && !self.inbox_ready;
                return Ok(());
            }
            if inbox_work && self.core.has_events() {
                // A full batch: let the application take its events first;
                // the next poll carries on without waiting. A caller that
                // waits on our fd instead is woken: ZMQ_FD has no new edge
                // for the messages still queued. Only if the fd was lent:
                // the wake is a system call per batch (per two 64 KiB
                // messages), which `poll`, `run_once` and `recv_event` do
                // without (they see `settled` and pending events).
                self.settled = false;
                if self.fd_lent.get() {
                    if let Err(err) = self.waker.wake() {
                        warn!("cannot wake the node's own poll: {err}");
                    }
                }
                return Ok(());
            }
        }
    }

    /// The core has a deadline (beacon, reap, …) or a probe has timed out.
    fn core_timer_due(&self, now: Instant) -> bool {
        self.core.poll_timeout().is_some_and(|t| t <= now)
            || self.probes.next_deadline().is_some_and(|t| t <= now)
    }

    /// Fast EXIT: closed inbox connections become `handle_link_lost`, and
    /// finished probes are handed back, refusals only once the inbox is
    /// drained (all the peer sent is read by then).
    fn service_fast_exit(&mut self, now: Instant) -> io::Result<()> {
        if self.watch_ready {
            self.watch_ready = false;
            self.drain_watch(now)?;
        }
        self.probes.expire(self.poll.registry(), now);
        self.probes.take_finished(&mut self.probe_results);
        if self.inbox_ready {
            return Ok(());
        }
        for (peer, probe, verdict) in self.probe_results.drain(..) {
            match verdict {
                Verdict::Refused => self.core.handle_link_refused(now, peer, probe),
                Verdict::Silent => self.core.handle_link_silent(now, peer, probe),
                Verdict::NotRefused => self.core.handle_link_answered(now, peer, probe),
            }
        }
        Ok(())
    }

    /// Returns true if the inbox was drained (rather than the batch ending).
    fn drain_inbox(&mut self, now: Instant) -> io::Result<bool> {
        let mut bytes = 0;
        for _ in 0..INBOX_BATCH {
            // At the events' bound the rest waits in libzmq (back-pressure).
            if bytes >= INBOX_BATCH_BYTES || self.inbox_paused() {
                break;
            }
            match self.identity.recv(&mut self.inbox, zmq::DONTWAIT) {
                Ok(_) => {}
                Err(zmq::Error::EAGAIN) => return Ok(true),
                Err(zmq::Error::EINTR) => continue,
                Err(err) => return Err(io::Error::other(err)),
            }
            // A message's frames arrive together: once the first is here,
            // the rest are, so the blocking receives below do not block.
            // The identity is not asked for its MORE flag: a ROUTER
            // prefixes every message, which has at least one frame, with
            // it. The later frames' flags are read from the frame
            // (zmq_msg_more), not with a getsockopt per frame.
            self.header.recv(&mut self.inbox, 0).map_err(io::Error::other)?;
            let mut more = self.header.more();
            let content = if more {
                let mut reader = self.receive_pool.reader();
                while more {
                    self.frame.recv(&mut self.inbox, 0).map_err(io::Error::other)?;
                    more = self.frame.more();
                    let part = self.frame.bytes();
                    bytes += part.len();
                    if part.len() < Frame::HELD_FROM {
                        reader.push(part, !more);
                    } else {
                        // Large: handed over in libzmq's buffer, no copy.
                        let frame = std::mem::replace(&mut self.frame, ZmqFrame::new());
                        match HeldFrame::new(frame) {
                            Ok(held) => reader.push_frame(Frame::held(held)),
                            // Never at HELD_FROM bytes; copied if it were.
                            Err(mut small) => reader.push(small.bytes(), !more),
                        }
                    }
                }
                reader.finish()
            } else {
                Vec::new()
            };
            // CURVE: the key the sender proved (our ZAP handler's user id).
            let proven = match self.settings.curve {
                Some(_) => self
                    .header
                    .property(c"User-Id")
                    .and_then(|text| crate::wire::curve_key::decode_z85(text).ok()),
                None => None,
            };
            // The header's bytes are asked of libzmq once per message
            // (zmq_msg_data costs ~30 instructions); again only after the
            // connection of a HELLO, PING or PING-OK was looked up.
            let mut header = self.header.bytes();
            // HELLO, PING and PING-OK: one test on the stream's path.
            let id = header.get(2).copied().unwrap_or(0);
            if id < 32 && CONNECTION_NOTED >> id & 1 == 1 {
                let hello = id == MessageId::Hello as u8;
                if !self.note_connection(now, hello)? {
                    debug!(
                        "a {} came over a connection to our inbox that we had shed: ignored",
                        if hello { "HELLO" } else { "PING or PING-OK" }
                    );
                    continue;
                }
                header = self.header.bytes();
            }
            let identity = self.identity.bytes();
            let kept = self
                .core
                .handle_message_proven(now, identity, proven.as_ref(), header, content);
            if !kept {
                self.note_refused();
            }
        }
        Ok(false)
    }

    /// The core keeps no place for the sender of the message just read (a
    /// stranger, a peer before its HELLO, a HELLO refused for a full
    /// table): its connection is the first the inbox watch sheds when it
    /// must shed one (see `InboxWatch::refused_over`). Never on the
    /// stream's path: a peer we keep is never refused.
    #[cold]
    fn note_refused(&mut self) {
        let (Some(fd), sender) = self.sender_connection() else {
            return;
        };
        let core = &self.core;
        self.inbox_watch
            .refused_over(fd, sender, |peer| holds(core, peer));
    }

    /// The connection the message just read came over (libzmq's `__fd`
    /// property of its header frame) and its sender's UUID (from the
    /// identity frame), where they can be read. Not on the stream's path:
    /// the property is a lookup by name in the message's metadata.
    fn sender_connection(&mut self) -> (Option<RawFd>, Option<Uuid>) {
        let fd = self.header.property(c"__fd").and_then(|text| text.parse().ok());
        let sender = self
            .identity
            .bytes()
            .get(1..)
            .and_then(|id| Uuid::from_slice(id).ok());
        (fd, sender)
    }

    /// A HELLO (`hello`), or a PING or PING-OK, was read: tells the inbox
    /// watch which connection its peer speaks to us over, so that it is
    /// never the one shed while we hold the peer (see `inbox_watch.rs`).
    /// libzmq names it by descriptor in each message's `__fd` property
    /// (behind the deprecated ZMQ_SRCFD). False if the watch had shed that
    /// connection before the message was read: it is then ignored. A HELLO
    /// so is as one refused for a full table (the peer is met later, by its
    /// next HELLO); a PING-OK so proves nothing, for what the peer sends us
    /// next is lost with that connection (ENTER means both ways work).
    ///
    /// A PING or PING-OK is read for this too: a HELLO read late from a
    /// connection we shed is taken for the connection that got its number
    /// since, and the peer's own connection is another; its PING or
    /// PING-OK (the round trip that ENTERs it) names that one. Without
    /// this, a node short of descriptors ENTERed such a peer on a PING-OK
    /// that came over a connection it had shed, and dropped it at the gap
    /// that followed (2 of 21 runs of the lowest-limit test, three at once).
    /// Neither is on the stream's path.
    ///
    /// A connection's ACCEPTED comes before any HELLO over it, but by
    /// another socket (the monitor's): a HELLO over a connection the watch
    /// has not seen open has the monitor read first, so that a new
    /// connection that got the number of one we shed is seen as the new
    /// one (under a stranger's churn of connections, a new peer's HELLO
    /// was taken for the shed one's, and it was met only at its next).
    fn note_connection(&mut self, now: Instant, hello: bool) -> io::Result<bool> {
        let (Some(fd), Some(peer)) = self.sender_connection() else {
            return Ok(true);
        };
        if !self.inbox_watch.is_open(fd) {
            self.drain_watch(now)?;
        }
        let core = &self.core;
        let holds = |p| holds(core, p);
        Ok(if hello {
            self.inbox_watch.greeted_over(fd, peer, holds)
        } else {
            self.inbox_watch.spoke_over(fd, peer, holds)
        })
    }

    /// Reads the inbox monitor's events (connections opened and closed).
    /// Closed ones become probes, whose verdicts wait for a drained inbox.
    fn drain_watch(&mut self, now: Instant) -> io::Result<()> {
        let mut owner = WatchOwner {
            core: &mut self.core,
            now,
        };
        self.inbox_watch.drain(&mut owner)
    }

    fn drain_beacons(&mut self, now: Instant) {
        let Some(beacon) = self.beacon.as_ref() else {
            self.beacon_ready = false;
            return;
        };
        let mut buf = [0u8; 512];
        loop {
            match beacon.recv_from(&mut buf) {
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
        // A send can take the ZMQ_FD edge of a reply that came meanwhile:
        // go round again while a server link still has input.
        while self.drive_gossip_once(gossip, now)? {}
        Ok(())
    }

    /// One round of [`Self::drive_gossip`]; true if a link has input left.
    fn drive_gossip_once(&mut self, gossip: &mut GossipClient, now: Instant) -> io::Result<bool> {
        // Drain every server link: gossip traffic is light.
        for (server, socket) in self.links.gossip_sockets() {
            loop {
                // haskell-zre's server sends two frames per message.
                match socket.recv_multipart(zmq::DONTWAIT) {
                    Ok(frames) => gossip.handle_message(now, ServerId(server), &frames),
                    Err(zmq::Error::EAGAIN) => break,
                    Err(zmq::Error::EINTR) => continue,
                    Err(err) => return Err(io::Error::other(err)),
                }
            }
        }
        if gossip.poll_timeout().is_some_and(|t| t <= now) {
            gossip.handle_timeout(now);
        }
        while let Some(output) = gossip.poll_output() {
            match output {
                ClientOutput::Connect {
                    server,
                    endpoint,
                    identity,
                } => {
                    let server_key = self.gossip_keys.get(server.0).copied().flatten();
                    let setup = DealerSetup {
                        identity: identity.as_deref(),
                        send_hwm: Some(self.settings.send_hwm),
                        linger: Duration::ZERO,
                        curve: self.settings.curve.as_ref().zip(server_key.as_ref()),
                    };
                    let socket = new_dealer(&self.context, &endpoint, &setup).map_err(io::Error::other)?;
                    if setup.curve.is_some() {
                        self.handshakes.watch(
                            &self.context,
                            self.poll.registry(),
                            &socket,
                            LinkId::Gossip(server.0),
                            &endpoint,
                        )?;
                    }
                    if let Err(err) = socket.connect(&endpoint) {
                        warn!("cannot connect to gossip server {endpoint}: {err}");
                        continue;
                    }
                    info!("connecting to gossip server {endpoint}");
                    // libzmq resolves the name itself, in silence, at every
                    // retry: say at once when it does not resolve.
                    check_gossip_host(&endpoint);
                    // Gossip DEALERs always stay registered: servers talk back.
                    self.links
                        .add(self.poll.registry(), LinkId::Gossip(server.0), socket, true)?;
                }
                ClientOutput::Disconnect { server } => {
                    // The link (and its monitor) first, then the watch.
                    self.links
                        .close(self.poll.registry(), LinkId::Gossip(server.0), None);
                    self.handshakes
                        .forget(self.poll.registry(), LinkId::Gossip(server.0));
                }
                ClientOutput::Send { server, frame } => {
                    self.send_on(
                        LinkId::Gossip(server.0),
                        Outgoing {
                            header: HeaderFrame::from(frame),
                            content: Payload::None,
                        },
                    );
                }
                ClientOutput::Deliver { key, value } => {
                    debug!("gossip: {key} = {value}");
                    self.core.handle_gossip_tuple(now, &key, &value);
                }
            }
        }
        // Reading ZMQ_EVENTS re-arms each link's edge before the next poll,
        // and says whether input came since its receive (a send above can
        // take its edge); a round that finds none reads every link.
        Ok(self
            .links
            .gossip_sockets()
            .any(|(_, socket)| socket.get_events().is_ok_and(|e| e.contains(zmq::POLLIN))))
    }

    /// Every command calls this before and after its work, so the common
    /// case (nothing queued) is checked inline, without the stack frame
    /// the loop over actions needs (~40 instructions per whisper).
    #[inline]
    fn apply_actions(&mut self) -> Result<(), NodeError> {
        if !self.core.has_actions() && self.lost_links.is_empty() {
            return Ok(());
        }
        self.apply_queued_actions()
    }

    /// Removes the peers whose links lost a message, now that the actions
    /// queued with the loss are applied: those actions may have ended the
    /// session it was lost to, and the peer's UUID may then name another.
    ///
    /// - The link still serves the same UUID: that session lost it.
    /// - The link was closed: its session was ended by the core, with its
    ///   EXIT (a restart under the same UUID, then a new link), or it had
    ///   not said HELLO and is greeted again on its next link. Removing by
    ///   UUID would end the new session, live, in its place.
    /// - The link serves another UUID now (`Action::Relink`: a contest's
    ///   winner after the holder's EXIT, or the UUID a stale
    ///   announcement's HELLO gave): a broken link serves no session, and
    ///   its peer goes. A message libzmq refused whole (none of it taken,
    ///   which a DEALER does only as its context ends) left the link
    ///   usable and is not settled: the winner lost nothing, and telling
    ///   it from a renamed announcement would take the core.
    fn settle_lost_links(&mut self) {
        for lost in std::mem::take(&mut self.lost_links) {
            let peer = match self.links.link_of(lost.token) {
                Some(LinkId::Peer(peer)) if peer == lost.peer => peer,
                Some(id @ LinkId::Peer(peer)) if self.links.is_broken(id) => peer,
                _ => {
                    debug!(
                        "a message for {} was lost with a session ended since",
                        lost.peer.simple()
                    );
                    continue;
                }
            };
            if self.core.remove_peer(peer, lost.removal) && lost.removal == Removal::TooFarBehind {
                warn!(
                    "peer {} fell more than {} messages behind: dropping it",
                    peer.simple(),
                    self.settings.max_backlog
                );
            }
        }
    }

    #[inline(never)]
    fn apply_queued_actions(&mut self) -> Result<(), NodeError> {
        loop {
            self.apply_core_actions()?;
            if self.lost_links.is_empty() {
                return Ok(());
            }
            self.settle_lost_links();
        }
    }

    /// Applies what the core has queued, in order.
    fn apply_core_actions(&mut self) -> Result<(), NodeError> {
        while let Some(action) = self.core.poll_action() {
            match action {
                Action::Connect {
                    peer,
                    endpoint,
                    curve_server_key,
                } => self.connect_peer(peer, &endpoint.to_string(), curve_server_key.as_ref())?,
                Action::Send {
                    peer,
                    header,
                    content,
                } => {
                    let content = match content {
                        Some(Content::Shared(content)) => {
                            self.send_shared(peer, &header, content);
                            continue;
                        }
                        Some(Content::Owned(frames)) => Payload::Owned(frames),
                        None => Payload::None,
                    };
                    self.send_on(LinkId::Peer(peer), Outgoing { header, content });
                }
                Action::Disconnect { peer } => {
                    // While stopping, GOODBYE and queued data still go out.
                    let deadline = self.stopped.then(|| Instant::now() + self.settings.linger);
                    // The link (and its monitor) first, then the watch.
                    self.links
                        .close(self.poll.registry(), LinkId::Peer(peer), deadline);
                    self.handshakes.forget(self.poll.registry(), LinkId::Peer(peer));
                }
                Action::Relink { from, to } => {
                    self.handshakes.relink(LinkId::Peer(from), LinkId::Peer(to));
                    self.links
                        .relink(self.poll.registry(), LinkId::Peer(from), LinkId::Peer(to))
                }
                Action::Probe {
                    peer,
                    endpoint,
                    probe,
                } => self
                    .probes
                    .start(self.poll.registry(), Instant::now(), peer, &endpoint, probe),
                Action::Beacon(beacon) => {
                    if let Some(socket) = &self.beacon {
                        if let Err(err) = socket.send(&beacon.to_bytes()) {
                            debug!("cannot send beacon to {}: {err}", socket.target);
                        }
                        // Our own beacon comes straight back on loopback or
                        // broadcast: read it now rather than wake for it.
                        self.beacon_ready = true;
                    }
                }
            }
        }
        // A shared content is not kept past its SHOUT.
        self.shared_of = None;
        self.shared_frames.clear();
        Ok(())
    }

    /// Sends one member's share of a SHOUT with owned content: the content
    /// goes into libzmq messages at its first member and is shared by the
    /// others (the core queues the members' sends one after the other).
    fn send_shared(&mut self, peer: Uuid, header: &HeaderFrame, content: SharedContent) {
        let id = LinkId::Peer(peer);
        if !self
            .shared_of
            .as_ref()
            .is_some_and(|kept| Arc::ptr_eq(kept, &content))
        {
            self.shared_of = None;
            if !self.share(content.iter().map(Frame::as_slice)) {
                let content = Payload::Owned(content.to_vec());
                self.send_on(
                    id,
                    Outgoing {
                        header: header.clone(),
                        content,
                    },
                );
                return;
            }
            // Held, so that its address cannot be another content's.
            self.shared_of = Some(content);
        }
        let sent = self
            .links
            .send_shared(self.poll.registry(), id, header, &mut self.shared_frames);
        self.after_send(id, sent);
    }

    /// Copies `content` into `shared_frames`, the libzmq messages that
    /// the members' sends share; false (logged) if libzmq cannot have them.
    fn share<'a>(&mut self, content: impl Iterator<Item = &'a [u8]>) -> bool {
        self.shared_frames.clear();
        for frame in content {
            match ZmqFrame::copy_of(frame) {
                Ok(frame) => self.shared_frames.push(frame),
                Err(err) => {
                    warn!("cannot share a SHOUT's content: {err}");
                    self.shared_frames.clear();
                    return false;
                }
            }
        }
        true
    }

    /// A DEALER to a peer's inbox; in CURVE mode a CURVE client of
    /// `server_key` (the core gives one only in CURVE mode, and always
    /// there: it never links to a peer without a key).
    fn connect_peer(
        &mut self,
        peer: Uuid,
        endpoint: &str,
        server_key: Option<&CurveKey>,
    ) -> Result<(), NodeError> {
        self.links.close(self.poll.registry(), LinkId::Peer(peer), None);
        if let (Some(_), Some(server), Some(zap)) = (&self.settings.curve, server_key, self.zap.as_mut()) {
            if !zap.may_link(peer, endpoint, server, Instant::now()) {
                // Not kept unlinked (a peer ENTERed that we never send
                // to): forgotten, so that its HELLO, once its key is in
                // the list, or its next announcement links afresh.
                self.core.remove_peer(peer, Removal::NotAllowed);
                return Ok(());
            }
        }
        let curve = match (&self.settings.curve, server_key) {
            (Some(keys), Some(server)) => Some((keys, server)),
            (None, None) => None,
            // Never a plain link in CURVE mode, nor a key we cannot use.
            (Some(_), None) | (None, Some(_)) => {
                warn!(
                    "not connecting to peer {} at {endpoint}: CURVE mode and peer key disagree",
                    peer.simple()
                );
                self.core.remove_peer(peer, Removal::Refused);
                return Ok(());
            }
        };
        // Not the last descriptors (see `fd_budget::KEEP_FREE`): a DEALER
        // takes two (its mailbox and its connection), and one more in
        // CURVE mode while its handshake is watched.
        let link_fds = if server_key.is_some() { 3 } else { 2 };
        if !super::fd_budget::room_for(link_fds) {
            warn!(
                "no descriptor to spare for a link to peer {} at {endpoint} (later)",
                peer.simple()
            );
            self.core.handle_connect_failed(Instant::now(), peer);
            return Ok(());
        }
        let identity = crate::core::peer_identity(&self.core.uuid());
        let setup = DealerSetup {
            identity: Some(&identity),
            send_hwm: Some(self.settings.send_hwm),
            linger: self.settings.linger,
            curve,
        };
        // No descriptor (EMFILE, ENFILE) or socket left is "not now" for
        // this peer, never the end of the node: the core tries again later.
        let socket = match new_dealer(&self.context, endpoint, &setup) {
            Ok(socket) => socket,
            Err(err) => {
                warn!(
                    "cannot open a link to peer {} at {endpoint}: {err} (later)",
                    peer.simple()
                );
                self.core.handle_connect_failed(Instant::now(), peer);
                return Ok(());
            }
        };
        if setup.curve.is_some() {
            let watched = self.handshakes.watch(
                &self.context,
                self.poll.registry(),
                &socket,
                LinkId::Peer(peer),
                endpoint,
            );
            if let Err(err) = watched {
                // Its monitor needs descriptors too: "not now" as above.
                warn!(
                    "cannot watch the link to peer {} at {endpoint}: {err} (later)",
                    peer.simple()
                );
                self.core.handle_connect_failed(Instant::now(), peer);
                return Ok(());
            }
        }
        if let Err(err) = socket.connect(endpoint) {
            // The core keeps the peer until it expires; nothing will arrive.
            warn!("cannot connect to peer {} at {endpoint}: {err}", peer.simple());
        }
        if let Err(err) = self
            .links
            .add(self.poll.registry(), LinkId::Peer(peer), socket, false)
        {
            warn!(
                "cannot watch the link to peer {} at {endpoint}: {err} (later)",
                peer.simple()
            );
            self.core.handle_connect_failed(Instant::now(), peer);
        }
        Ok(())
    }

    /// Sends a message on a link (or queues it there).
    fn send_on(&mut self, id: LinkId, message: Outgoing) {
        let sent = self.links.send(self.poll.registry(), id, message);
        self.after_send(id, sent);
    }

    /// Forgets a peer that fell more than `max_backlog` messages behind,
    /// or that a message accepted for it was lost to: the application
    /// hears EXIT rather than nothing, and its next beacon brings it back
    /// on a new link. Not at once: actions the core queued before may
    /// still close this link for a session it ended (`settle_lost_links`).
    #[inline]
    fn after_send(&mut self, id: LinkId, sent: Sent) {
        // Every message comes here: the common case stays inline.
        if matches!(sent, Sent::Failed | Sent::Overflow) {
            self.note_send_loss(id, sent);
        }
    }

    #[cold]
    #[inline(never)]
    fn note_send_loss(&mut self, id: LinkId, sent: Sent) {
        let removal = match sent {
            Sent::Overflow => Removal::TooFarBehind,
            Sent::Failed => Removal::SendFailed,
            Sent::Done | Sent::Queued | Sent::Dropped => return,
        };
        if let Some(token) = self.links.token_of(id) {
            self.note_lost_link(token, id, removal);
        }
    }

    /// A gossip server's link is the gossip client's to mend; a peer's is
    /// settled in `settle_lost_links`.
    fn note_lost_link(&mut self, token: Token, id: LinkId, removal: Removal) {
        let LinkId::Peer(peer) = id else {
            return;
        };
        // A broken link fails every later message too: one removal per
        // link and UUID (a relink in the batch makes it serve another).
        if !self
            .lost_links
            .iter()
            .any(|lost| lost.token == token && lost.peer == peer)
        {
            self.lost_links.push(LostLink { token, peer, removal });
        }
    }

    /// The peers whose queued messages a flush lost (see `after_send`),
    /// removed (see `settle_lost_links`).
    fn forget_failed_links(&mut self) -> Result<(), NodeError> {
        for (token, id) in self.links.take_failed() {
            self.note_lost_link(token, id, Removal::SendFailed);
        }
        self.apply_actions()
    }

    /// Sends a header and lent content frames on a link; if libzmq will
    /// not take them now, queues a copy behind earlier messages.
    fn send_lent(&mut self, id: LinkId, header: &[u8], content: &[&[u8]]) {
        if let Some(sent) = self.links.send_lent(id, header, content) {
            self.after_send(id, sent);
            return;
        }
        let message = Outgoing {
            header: HeaderFrame::from_slice(header),
            content: Payload::Owned(content.iter().map(|part| Frame::from(*part)).collect()),
        };
        self.send_on(id, message);
    }
}

/// A message lost on a peer's link (see `Node::settle_lost_links`).
struct LostLink {
    /// The link (see `Links::token_of`).
    token: Token,
    /// The UUID it served when the message was lost.
    peer: Uuid,
    removal: Removal,
}

impl AsRawFd for Node {
    /// The poll's file descriptor: readable when the node has work, so
    /// that another event loop can embed the node and call
    /// [`Node::run_once`] with a zero timeout when it fires.
    fn as_raw_fd(&self) -> RawFd {
        self.fd_lent.set(true);
        self.poll.as_raw_fd()
    }
}

impl std::os::fd::AsFd for Node {
    /// The poll's file descriptor, as [`AsRawFd`]: for pollers that take a
    /// borrowed fd (tokio's `AsyncFd`, `rustix`, ...).
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        // SAFETY: the fd is the epoll instance owned by `self.poll`, which
        // is opened in `Node::start` and closed only when the node is
        // dropped; the borrow cannot outlive `&self`, so it names an open
        // fd for as long as it exists.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(self.as_raw_fd()) }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The core, as the inbox watch's owner: a closed connection is fast
/// EXIT's news, and the peers it holds are those that said HELLO.
struct WatchOwner<'a> {
    core: &'a mut NodeCore,
    now: Instant,
}

impl InboxOwner for WatchOwner<'_> {
    fn connection_closed(&mut self, host: std::net::IpAddr) {
        self.core.handle_link_lost(self.now, host);
    }

    fn holds(&self, peer: Uuid) -> bool {
        holds(self.core, peer)
    }
}

/// Whether `peer` is one we hold, for the inbox watch: an ENTERed peer
/// (`peer_name` knows only those), whose connection is never shed.
fn holds(core: &NodeCore, peer: Uuid) -> bool {
    core.peer_name(peer).is_some()
}
