//! The ZRE node as a deterministic state machine.
//!
//! Inputs: beacons (with the sender's IP), ZRE messages (sender identity and
//! frames), gossip tuples, commands from the application, and the time.
//! Outputs: [`Action`]s for the I/O layer (connect/send/disconnect a peer,
//! send a beacon), [`Event`]s for the application, and the next deadline.
//! Behaviour follows Zyre 2.0 on the wire, minus its asserts.

mod admission;
mod budget;
mod contest;
mod counters;
mod curve;
mod elections;
mod fast_exit;
mod handshake;
mod leaving;
mod liveness;
mod membership;
mod peer_index;
mod queries;
mod receipts;
mod removal;
mod renumber;
mod seeds;
mod shout_template;

use super::log_limit::LogLimit;
pub use seeds::{SEED_RETRY_MAX, SEED_RETRY_MIN};

use super::action::{Action, Content, HeaderFrame};
use super::command_error::CommandError;
use super::config::CoreConfig;
use super::election::Elections;
use super::endpoint::{self, Endpoint};
use super::event::{Event, Frame, Headers};
use super::frame::into_frames;
use super::group::{self, Groups};
use super::overruled::Overruled;
use super::peer::{Peer, SequenceCheck};
use super::sorted_table::SortedTable;
use crate::wire::{Beacon, Body, HEADER_LEN, Header, Hello, MessageId, WireError, ZreMessage};
use admission::{Evidence, HelloVerdict};
pub use budget::LINK_TURN;
pub use counters::{CoreCounters, REMOVALS};
use curve::Via;
use log::{debug, info, warn};
use peer_index::PeerIndex;
pub use removal::Removal;
use shout_template::ShoutTemplate;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Zyre checks its peers at most once a second.
const MAX_REAP_INTERVAL: Duration = Duration::from_secs(1);

/// How long a peer that announced it is leaving (port-0 beacon) may stay
/// silent before it is removed. The beacon can overtake the last of its
/// data on TCP (a receiver that was slow, or stopped, still has it to
/// read); that data keeps coming, each message resets this, and our own
/// peers end it with GOODBYE after their data. Zyre, pyre and zyre.js send
/// no GOODBYE: they are removed this long after their last message.
const LEAVE_GRACE: Duration = Duration::from_secs(1);

/// The length of a DEALER identity: the byte 1, then the sender's UUID.
/// (libzmq reserves identities that start with a zero byte.)
pub const IDENTITY_LEN: usize = 17;

/// The routing id a peer's DEALER gives itself, which our ROUTER hands
/// [`NodeCore::handle_message`] as the message's first frame: the byte 1,
/// then the peer's 16 UUID bytes (RFC 36, "ZRE Protocol"; Zyre's
/// `zyre_peer_connect`). An I/O layer sets it on each DEALER it connects.
///
/// ```
/// let uuid = zre::Uuid::from_u128(0x2e);
/// let identity = zre::core::peer_identity(&uuid);
/// assert_eq!(identity.len(), zre::core::IDENTITY_LEN);
/// assert_eq!((identity[0], &identity[1..]), (1, &uuid.as_bytes()[..]));
/// ```
pub fn peer_identity(uuid: &Uuid) -> [u8; IDENTITY_LEN] {
    let mut identity = [1u8; IDENTITY_LEN];
    identity[1..].copy_from_slice(uuid.as_bytes());
    identity
}

/// One ZRE node as a deterministic state machine (sans-I/O, like
/// quinn-proto's `Connection`): it owns no socket and reads no clock.
///
/// # Call contract
/// Every input takes the current time (`now`, monotonic: it never goes
/// back between calls) where time matters. Inputs:
/// - network:
///   - [`handle_beacon`](Self::handle_beacon) /
///     [`handle_beacon_from`](Self::handle_beacon_from): a UDP datagram from
///     the beacon port and the sender's address (RFC 36 "Node Discovery and
///     Presence");
///   - [`handle_message`](Self::handle_message): a message from our ROUTER
///     inbox: identity frame, ZRE header frame, content frames (owned,
///     moved into the event they become);
///   - [`handle_gossip_tuple`](Self::handle_gossip_tuple): a tuple a
///     ZGossip server sent (key = UUID, value = endpoint);
/// - link events, from the I/O layer's watch of connections:
///   - [`handle_link_lost`](Self::handle_link_lost): a connection from a
///     host to our inbox closed;
///   - [`handle_link_refused`](Self::handle_link_refused) /
///     [`handle_link_silent`](Self::handle_link_silent) /
///     [`handle_link_answered`](Self::handle_link_answered): how an
///     [`Action::Probe`] ended;
/// - commands: [`join`](Self::join), [`leave`](Self::leave),
///   [`contest`](Self::contest), [`whisper`](Self::whisper),
///   [`shout`](Self::shout) (or the lent-content
///   [`whisper_header`](Self::whisper_header) /
///   [`shout_headers`](Self::shout_headers)), [`stop`](Self::stop),
///   [`remove_peer`](Self::remove_peer) (with a [`Removal`] cause);
/// - our own address: [`change_endpoint`](Self::change_endpoint) once the
///   I/O layer rebound the inbox elsewhere;
/// - time: [`handle_timeout`](Self::handle_timeout) once
///   [`poll_timeout`](Self::poll_timeout)'s instant has passed.
///
/// Outputs, after each input:
/// - [`poll_action`](Self::poll_action) until `None`, carried out in order
///   (the order is part of the protocol: a peer's sends follow its
///   connect, and sequence numbers are stamped in order):
///   [`Action::Connect`], [`Action::Send`], [`Action::Relink`],
///   [`Action::Disconnect`] a peer's DEALER, [`Action::Probe`] its inbox,
///   [`Action::Beacon`] to broadcast;
/// - [`poll_event`](Self::poll_event) until `None`: the application's
///   [`Event`]s (ENTER, EXIT, JOIN, LEAVE, WHISPER, SHOUT, EVASIVE, SILENT,
///   LEADER, STOP);
/// - [`poll_timeout`](Self::poll_timeout): the next deadline (`None`:
///   nothing is due until the next input).
///
/// [`has_actions`](Self::has_actions) and [`has_events`](Self::has_events)
/// say whether outputs wait; the queries (`peers`, `peer_groups`,
/// `leader`, …) change nothing.
///
/// Buffers: an [`Action::Send`] header is a value ([`HeaderFrame`],
/// inline up to 40 bytes), dropped by the I/O layer once sent: nothing is
/// handed back. Content frames are the application's until sent (owned in
/// a WHISPER, shared by every member of a SHOUT).
pub struct NodeCore {
    config: CoreConfig,
    name: Arc<str>,
    status: u8,
    peers: SortedTable<Uuid, Peer>,
    /// Counts and an index by endpoint of `peers` (see peer_index.rs).
    peer_index: PeerIndex,
    /// Our groups, and which peers are in which group as they told us.
    groups: Groups,
    actions: VecDeque<Action>,
    events: VecDeque<Event>,
    next_beacon_at: Instant,
    next_reap_at: Instant,
    reap_interval: Duration,
    stopped: bool,
    /// The rate-limited log lines.
    logs: NodeLogs,
    /// Announcements set aside because another peer holds their endpoint.
    overruled: Overruled,
    /// Where messages are emitted before they are copied into a
    /// [`HeaderFrame`]; kept so that emitting allocates nothing.
    emit_buffer: Vec<u8>,
    /// The SHOUT header of the group shouted to last.
    shout_template: ShoutTemplate,
    /// Kept between `shout` calls: its members' headers (see
    /// [`Self::shout_headers`]), so that a SHOUT allocates only its
    /// shared content.
    shout_headers: Vec<(Uuid, HeaderFrame)>,
    /// The last `Action::Probe` number handed out.
    next_probe: u64,
    /// Leader election in our groups (Zyre's DRAFT API).
    elections: Elections,
    /// CURVE mode: our public key as Z85 text, for HELLO.
    own_key_text: Option<String>,
    /// Each peer's next liveness check.
    timers: liveness::Timers,
    /// Room and links for peers that have not said HELLO.
    budget: budget::Budget,
    /// What the node did (see [`NodeCore::counters`]).
    stats: CoreCounters,
    /// Endpoints we dial without an announcement (`--peer`).
    seeds: seeds::Seeds,
    /// Since when the I/O layer has not been reading our inbox
    /// (back-pressure, see [`NodeCore::set_reading_paused`]).
    reading_paused_since: Option<Instant>,
    /// Two UUIDs' HELLOs for one endpoint, waiting for a PING-OK.
    contests: Vec<contest::Contest>,
    /// What every peer's held events cost, in bytes (see
    /// `node/handshake.rs`): bounded, so that peers that never answer
    /// cannot make us hold what they send without limit.
    held_bytes: usize,
    /// `config.endpoint` as a peer's endpoint would be read (`None` if it
    /// cannot be one), to tell a peer that claims it.
    own_endpoint: Option<Endpoint>,
}

/// A node's rate-limited log lines, one limit per kind of line: what a
/// peer (or a forger) can repeat at will is said once a second at most.
#[derive(Debug, Default)]
struct NodeLogs {
    /// "peer limit reached".
    peer_limit: LogLimit,
    /// A beacon from outside the subnet we serve (debug).
    foreign_beacon: LogLimit,
    /// A link-local beacon without our scope, an IPv6 endpoint that does
    /// not parse.
    bad_address: LogLimit,
    /// Two live peers claim one endpoint.
    conflict: LogLimit,
    /// An ELECT or LEADER ignored.
    election: LogLimit,
    /// CURVE: no key where one is needed, or a key in plain mode (debug:
    /// normal on a LAN with both kinds of node).
    curve_mismatch: LogLimit,
    /// CURVE: a key that can be no key, or another key for a peer we have.
    curve_bad: LogLimit,
    /// CURVE: our link to a peer failed its handshake.
    handshake: LogLimit,
    /// A port-0 beacon for a peer that then answered our PING.
    forged_leave: LogLimit,
    /// A peer removed for saying too much before its proof.
    unproven: LogLimit,
}

impl NodeCore {
    /// A node that knows no peer yet; its first beacon is due at `now`.
    pub fn new(config: CoreConfig, now: Instant) -> Self {
        let reap_interval = config
            .evasive
            .min(config.expired)
            .min(MAX_REAP_INTERVAL)
            .max(Duration::from_millis(1));
        let config_max_peers = config.max_peers;
        let config_uuid = config.uuid;
        let config_key = config.curve_public_key;
        if config_key.is_some_and(|key| crate::wire::curve_key::zyre_reads_as_keyless(&key)) {
            warn!(
                "our CURVE public key starts with byte 0: Zyre takes our beacons for key-less and ignores them \
                 (it still answers when we find it first); a new key avoids this"
            );
        }
        NodeCore {
            own_endpoint: Endpoint::parse(&config.endpoint, config.link_scope.as_ref()).ok(),
            name: Arc::from(config.name.as_str()),
            config,
            status: 0,
            peers: SortedTable::new(),
            peer_index: PeerIndex::default(),
            groups: Groups::default(),
            actions: VecDeque::new(),
            events: VecDeque::new(),
            next_beacon_at: now,
            next_reap_at: now + reap_interval,
            reap_interval,
            stopped: false,
            emit_buffer: Vec::with_capacity(64),
            shout_template: ShoutTemplate::default(),
            shout_headers: Vec::new(),
            logs: NodeLogs::default(),
            overruled: Overruled::new(config_max_peers),
            next_probe: 0,
            elections: Elections::new(config_uuid, now),
            own_key_text: config_key.as_ref().map(crate::wire::curve_key::encode_z85),
            timers: liveness::Timers::new(now),
            budget: budget::Budget::default(),
            reading_paused_since: None,
            stats: CoreCounters::default(),
            seeds: seeds::Seeds::default(),
            contests: Vec::new(),
            held_bytes: 0,
        }
    }

    // ----- outputs -------------------------------------------------------

    /// The next thing the I/O layer must do, in order; `None` when done.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next event for the application, in order; `None` when done.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Whether [`poll_action`](Self::poll_action) would return something.
    pub fn has_actions(&self) -> bool {
        !self.actions.is_empty()
    }

    /// Whether [`poll_event`](Self::poll_event) would return something.
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// Events waiting to be taken with [`poll_event`](Self::poll_event).
    pub fn queued_events(&self) -> usize {
        self.events.len()
    }

    /// When `handle_timeout` must next be called; `None` when nothing is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.stopped {
            return None;
        }
        // The reactor asks for this two or three times per wake-up: a
        // plain fold, where an iterator over the six options cost ~70
        // instructions a call (BENCHMARKS.md, "Echo: giving the content
        // back"); the empty tables are skipped before any B-tree walk.
        let mut next = self.timers.next();
        if self.config.beacons {
            next = earliest(next, Some(self.next_beacon_at));
        }
        if self.budget.kept_len() > 0 || self.has_waiting() {
            next = earliest(next, Some(self.next_reap_at));
        }
        if self.elections.has_groups() {
            next = earliest(next, self.elections.next_deadline());
        }
        if self.seeds.has_entries() {
            next = earliest(next, self.seeds.next_deadline());
        }
        if !self.contests.is_empty() {
            next = earliest(next, self.contests_deadline());
        }
        next
    }

    // ----- inputs --------------------------------------------------------

    /// Runs what is due at `now`: the next beacon, and the check of every
    /// peer's liveness (PING to an evasive peer, EVASIVE/SILENT events,
    /// EXIT of an expired one). Late calls catch up with one tick, not many.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.stopped {
            return;
        }
        if self.config.beacons && now >= self.next_beacon_at {
            self.actions
                .push_back(Action::Beacon(self.own_beacon(self.config.port)));
            self.next_beacon_at = next_tick(self.next_beacon_at, self.config.beacon_interval, now);
        }
        self.reap(now);
        if now >= self.next_reap_at {
            self.fill_budget(now);
            self.next_reap_at = next_tick(self.next_reap_at, self.reap_interval, now);
        }
        self.elections_timeout(now);
        self.seeds_timeout(now);
        self.contests_timeout(now);
    }

    /// A UDP datagram arrived on the beacon port from `from`. Without the
    /// sender's scope id, a beacon from a link-local IPv6 address is
    /// dropped: use [`NodeCore::handle_beacon_from`].
    pub fn handle_beacon(&mut self, now: Instant, from: IpAddr, datagram: &[u8]) {
        self.handle_beacon_from(now, SocketAddr::new(from, 0), datagram);
    }

    /// A UDP datagram arrived on the beacon port from `from` (the port is
    /// not used; an IPv6 address's scope id is). In IPv6 mode a beacon from
    /// a link-local address counts only if it came in on our interface
    /// ([`CoreConfig::link_scope`]); others are dropped with a log line at
    /// most once a second.
    pub fn handle_beacon_from(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        if self.stopped {
            return;
        }
        let scope_id = match from {
            SocketAddr::V6(v6) => v6.scope_id(),
            SocketAddr::V4(_) => 0,
        };
        let from = from.ip();
        let link_local = matches!(from, IpAddr::V6(ip) if endpoint::is_link_local(&ip));
        let beacon = match Beacon::parse(datagram) {
            Ok(beacon) => beacon,
            Err(err) => {
                debug!("ignoring datagram from {from}: {err}");
                return;
            }
        };
        if beacon.uuid == self.config.uuid {
            return;
        }
        if link_local {
            let expected = self.config.link_scope.as_ref().map(|s| s.index);
            if expected.is_none() || scope_id != expected.unwrap_or(0) {
                let why = match (expected, scope_id) {
                    (None, _) => "link-local senders are heard in IPv6 mode only".to_owned(),
                    (Some(_), 0) => "it came without a scope id".to_owned(),
                    (Some(ours), theirs) => {
                        format!("it came in on interface {theirs}, we serve {ours}")
                    }
                };
                self.log_bad_address(
                    now,
                    format_args!("ignoring beacon of {} from {from}: {why}", beacon.uuid.simple()),
                );
                return;
            }
        } else if let Some(subnet) = self.config.beacon_subnet.filter(|s| !s.contains(from)) {
            // Once a second at most: every beacon of that LAN lands here.
            if let Some(also) = self.logs.foreign_beacon.admit(now) {
                debug!(
                    "ignoring beacon of {} from {from}: outside {subnet}, the subnet we serve{also}",
                    beacon.uuid.simple()
                );
            }
            return;
        }
        // Plain mode takes version 1 only, CURVE mode version 3 with a key
        // that can be one, bound to the peer (see `curve`).
        let Some(key) = self.admit_key(now, beacon.uuid, Via::Beacon(from), beacon.curve_key.map(Ok)) else {
            return;
        };
        if beacon.is_leaving() {
            self.leave_claimed(now, beacon.uuid, from);
            return;
        }
        // No text: a beacon of a peer we know allocates nothing.
        let endpoint = Endpoint::from_ip(from, beacon.port, self.config.link_scope.as_ref());
        self.require_peer(now, beacon.uuid, &endpoint, Evidence::Announced, key);
    }

    /// Our beacon: version 3 with our key in CURVE mode, else version 1.
    fn own_beacon(&self, port: u16) -> Beacon {
        Beacon {
            uuid: self.config.uuid,
            port,
            curve_key: self.config.curve_public_key,
        }
    }

    /// A gossip tuple arrived: key = a peer's UUID (hex), value = its
    /// endpoint, in CURVE mode followed by `|` and its public key in Z85
    /// (40 characters), as Zyre publishes it (`zyre_node.c`). In CURVE
    /// mode a value without a usable key is ignored; in plain mode one
    /// with a key (a CURVE node's, which plain Zyre would try to reach in
    /// the clear, in vain).
    pub fn handle_gossip_tuple(&mut self, now: Instant, key: &str, value: &str) {
        if self.stopped {
            return;
        }
        let Ok(uuid) = Uuid::try_parse(key) else {
            debug!("ignoring gossip tuple with non-UUID key {key:?}");
            return;
        };
        let (endpoint, curve_key) = crate::wire::curve_key::split_gossip_value(value);
        if uuid == self.config.uuid || endpoint == self.config.endpoint {
            return;
        }
        let curve_key = curve_key.map(crate::wire::curve_key::decode_z85);
        let Some(curve_key) = self.admit_key(now, uuid, Via::Gossip, curve_key) else {
            return;
        };
        if !endpoint.starts_with("tcp://") {
            debug!("ignoring gossip tuple for {key} with endpoint {endpoint:?}");
            return;
        }
        let Some(endpoint) = self.peer_endpoint_of(now, endpoint) else {
            return;
        };
        self.require_peer(now, uuid, &endpoint, Evidence::Announced, curve_key);
    }

    /// A ZRE message arrived on our inbox: the ROUTER's identity frame, the
    /// header frame and the content frames.
    ///
    /// Returns whether its sender is a peer we keep: one that said HELLO
    /// and has its place in our table. False for a stranger's message, one
    /// before its sender's HELLO, a HELLO we refused (a full table, a
    /// disputed endpoint), and a gap that removed the sender. An I/O layer
    /// short of descriptors sheds the connections that carry such senders
    /// first (see `inbox_watch.rs`): they hold a descriptor for nothing.
    pub fn handle_message(
        &mut self,
        now: Instant,
        identity: &[u8],
        header: &[u8],
        content: Vec<Frame>,
    ) -> bool {
        self.handle_message_proven(now, identity, None, header, content)
    }

    /// [`handle_message`](Self::handle_message) with, in CURVE mode, the
    /// public key the sender proved in its connection's handshake (what
    /// our ZAP handler returned as the user id, libzmq's `User-Id`
    /// property): a HELLO whose `X-PUBLICKEY` is another key, or a message
    /// under the UUID of a peer that has another key, is refused with a
    /// log line (once a second at most). UUID, key and link go together.
    /// Returns whether the sender is a peer we keep, as `handle_message`.
    pub fn handle_message_proven(
        &mut self,
        now: Instant,
        identity: &[u8],
        proven: Option<&crate::wire::CurveKey>,
        header: &[u8],
        content: Vec<Frame>,
    ) -> bool {
        if self.stopped {
            // Nothing is kept or refused any more.
            return true;
        }
        self.elections.set_clock(now);
        if identity.len() != IDENTITY_LEN {
            debug!("dropping message with a {}-byte identity", identity.len());
            return false;
        }
        let Ok(uuid) = Uuid::from_slice(&identity[1..]) else {
            return false;
        };
        let head = match Header::parse(header) {
            Ok(head) => head,
            Err(err) => {
                debug!("dropping frame from {}: {err}", uuid.simple());
                return self.peers.get(&uuid).is_some_and(|p| p.ready);
            }
        };
        let message = ZreMessage::parse_body(head, header);
        if let Some(proven) = proven {
            if !self.proven_key_matches(now, uuid, proven, &message) {
                return false;
            }
        }
        let mut same_session = false;
        if let Ok(ZreMessage {
            body: Body::Hello(hello),
            ..
        }) = &message
        {
            // Zyre's IPv6 HELLO has its own forms: see `endpoint`.
            let Some(endpoint) = self.peer_endpoint_of(now, hello.endpoint) else {
                return false;
            };
            match self.accept_hello(now, uuid, hello, &endpoint) {
                HelloVerdict::Enter => {}
                HelloVerdict::Refused => return false,
                HelloVerdict::SameSession => same_session = true,
            }
        }
        let Some(peer) = self.peers.get_mut(&uuid).filter(|p| p.ready) else {
            debug!(
                "ignoring message id {} from {} before its HELLO",
                head.id,
                uuid.simple()
            );
            // Its liveness check: it holds a session with us (see
            // greet_again). Other messages can be a session's last ones
            // in flight; a PING comes only after an evasive silence.
            if head.id == MessageId::PingOk as u8 {
                self.count_ping_ok(now, uuid);
            }
            if head.id == MessageId::Ping as u8 || head.id == MessageId::PingOk as u8 {
                self.greet_again(now, uuid);
            }
            return false;
        };
        let is_hello = head.id == MessageId::Hello as u8;
        if let SequenceCheck::Gap { expected, got } = peer.check_sequence(is_hello, head.sequence) {
            warn!(
                "messages lost from {} ({}): expected sequence {expected}, got {got}",
                peer.name,
                uuid.simple()
            );
            if is_hello && !same_session {
                // Made ready by this HELLO, which is refused: the
                // application never heard of it, so no EXIT either. (A
                // HELLO of the same session found it ready: it had its
                // ENTER, so it gets its EXIT.)
                self.peer_index.set_ready(peer, false);
            }
            self.remove_peer(uuid, Removal::Refused);
            return false;
        }
        peer.refresh(now, self.config.evasive, self.config.expired);
        if head.id == MessageId::Shout as u8 || head.id == MessageId::Whisper as u8 {
            peer.talked = true;
        }
        if same_session {
            // Its sequence started over (checked above); nothing else is new.
            return true;
        }
        match message {
            // The stream's own case, without `dispatch`'s frame: an entered
            // peer's events are never held.
            Ok(ZreMessage {
                body: Body::Whisper, ..
            }) if peer.entered => self.events.push_back(Event::Whisper {
                peer: uuid,
                name: peer.name.clone(),
                content,
            }),
            // The peer's name is taken here, in the one lookup per message.
            Ok(message) => {
                let name = peer.name.clone();
                // An entered peer stays so until it is removed: its events
                // are never held, and the second lookup is saved.
                let entered = peer.entered;
                let mark = self.events.len();
                self.dispatch(now, uuid, name, message.body, content);
                if !entered {
                    self.hold_events(now, uuid, mark);
                }
            }
            // The sequence still counted: a newer dialect must not reset us.
            Err(WireError::UnknownId { id }) => {
                debug!("ignoring unknown message id {id} from {}", uuid.simple())
            }
            Err(err) => warn!("ignoring malformed message from {}: {err}", uuid.simple()),
        }
        true
    }

    // ----- commands ------------------------------------------------------

    /// Joins `group` (1 to 255 bytes) and tells every peer (JOIN); joining a
    /// group we are in does nothing.
    ///
    /// # Errors
    /// [`CommandError::InvalidGroup`], [`CommandError::Stopped`].
    pub fn join(&mut self, group: &str) -> Result<(), CommandError> {
        self.check_command()?;
        group::check_name(group)?;
        let Some(group) = self.groups.join(group) else {
            return Ok(());
        };
        self.status = self.status.wrapping_add(1);
        let status = self.status;
        info!("joining group {group}");
        self.send_to_all(&Body::Join {
            group: &group,
            status,
        });
        // After our JOIN, so that members know us when our ELECT comes.
        self.elections_joined(&group);
        Ok(())
    }

    /// Leaves `group` and tells every peer (LEAVE); leaving a group we are
    /// not in does nothing.
    ///
    /// # Errors
    /// [`CommandError::InvalidGroup`], [`CommandError::Stopped`].
    pub fn leave(&mut self, group: &str) -> Result<(), CommandError> {
        self.check_command()?;
        group::check_name(group)?;
        let Some(group) = self.groups.leave(group) else {
            return Ok(());
        };
        self.status = self.status.wrapping_add(1);
        let status = self.status;
        info!("leaving group {group}");
        self.elections.left(&group);
        self.send_to_all(&Body::Leave {
            group: &group,
            status,
        });
        Ok(())
    }

    /// Sends `content` (zero or more frames, each `Into<Frame>`) to one peer (WHISPER).
    ///
    /// # Errors
    /// [`CommandError::UnknownPeer`] if it has not said HELLO,
    /// [`CommandError::TooLarge`] for a frame over
    /// [`CoreConfig::max_message_size`], [`CommandError::Stopped`].
    pub fn whisper<F: Into<Frame>>(&mut self, peer: Uuid, content: Vec<F>) -> Result<(), CommandError> {
        let content = into_frames(content);
        self.check_content(content.iter().map(|frame| frame.len()))?;
        let header = HeaderFrame::from_slice(&self.whisper_header(peer)?);
        self.actions.push_back(Action::Send {
            peer,
            header,
            content: Some(Content::Owned(content)),
        });
        Ok(())
    }

    /// Refuses content with a frame over [`CoreConfig::max_message_size`]
    /// ([`CommandError::TooLarge`]), given its frames' lengths in bytes.
    /// [`Self::whisper`] and [`Self::shout`] check their own; an I/O layer
    /// that sends lent content after [`Self::whisper_header`] or
    /// [`Self::shout_headers`] calls this first, since a header once made
    /// has counted a sequence number that the peer must then receive.
    pub fn check_content(&self, frames: impl IntoIterator<Item = usize>) -> Result<(), CommandError> {
        CommandError::check_frame_sizes(frames, self.config.max_message_size)
    }

    /// A WHISPER to `peer` without its content: the header frame, with the
    /// peer's next sequence number counted. For an I/O layer that sends
    /// content the application only lends it (`Node::whisper_slices`): it
    /// must first carry out the actions already queued, then send this
    /// header and that content before anything else goes to the peer.
    pub fn whisper_header(&mut self, peer: Uuid) -> Result<[u8; HEADER_LEN], CommandError> {
        self.check_command()?;
        let Some(target) = self.peers.get_mut(&peer).filter(|p| p.entered) else {
            return Err(CommandError::UnknownPeer(peer));
        };
        let header = Header {
            id: MessageId::Whisper as u8,
            sequence: target.next_talk_sequence(),
        };
        Ok(header.to_bytes())
    }

    /// Sends to every peer in `group`; returns how many peers that is.
    /// The header is emitted once and stamped with each member's sequence
    /// number; the content is shared by every member (or moved, to one).
    ///
    /// # Errors
    /// [`CommandError::InvalidGroup`], [`CommandError::TooLarge`] (as for
    /// [`Self::whisper`]), [`CommandError::Stopped`].
    pub fn shout<F: Into<Frame>>(&mut self, group: &str, content: Vec<F>) -> Result<usize, CommandError> {
        let content = into_frames(content);
        self.check_content(content.iter().map(|frame| frame.len()))?;
        let mut headers = std::mem::take(&mut self.shout_headers);
        let reached = self.shout_headers(group, &mut headers);
        let mut content = Some(match headers.len() {
            // One member: nothing to share, so no copy into an Arc.
            0 | 1 => Content::Owned(content),
            _ => Content::Shared(content.into()),
        });
        let mut left = headers.len();
        for (peer, header) in headers.drain(..) {
            left -= 1;
            // Shared content is cloned by reference count; the last (or
            // only) member takes it.
            let frames = if left == 0 {
                content.take()
            } else {
                content.clone()
            };
            self.actions.push_back(Action::Send {
                peer,
                header,
                content: frames,
            });
        }
        self.shout_headers = headers;
        reached
    }

    /// A SHOUT to `group` without its content, as [`Self::whisper_header`]:
    /// appends one header frame per member to `headers` (emitted once,
    /// stamped with each member's sequence number), and returns how many
    /// members the group has.
    pub fn shout_headers(
        &mut self,
        group: &str,
        headers: &mut Vec<(Uuid, HeaderFrame)>,
    ) -> Result<usize, CommandError> {
        self.check_command()?;
        group::check_name(group)?;
        let Some(members) = self.groups.members(group) else {
            return Ok(0);
        };
        let Some(template) = self.shout_template.for_group(group, &mut self.emit_buffer) else {
            return Ok(0);
        };
        for uuid in members {
            if contest::challenging(&self.contests, *uuid) {
                continue;
            }
            if let Some(peer) = self.peers.get_mut(uuid) {
                let mut header = template.clone();
                header.restamp(peer.next_talk_sequence());
                headers.push((*uuid, header));
            }
        }
        Ok(members.len())
    }

    /// Says goodbye: a port-0 beacon, GOODBYE to every peer, then every link
    /// is closed. Queued data is still flushed by the I/O layer.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        // A peer our port-0 beacon reaches is told by it, as Zyre, pyre and
        // zyre.js tell theirs: it goes last, after the links are flushed, so
        // that a peer which drops us on the beacon alone (Zyre does) has
        // our data by then, and ours keep a leaving peer while its data
        // still comes. Every other peer (beacons off, or a peer met through
        // gossip outside our subnet) gets GOODBYE behind our data, as Zyre
        // sends it in gossip mode; never to the others, since pyre 0.3.4
        // takes the unknown id for lost messages and haskell-zre logs it
        // as malformed.
        let uuids: Vec<Uuid> = self.peers.keys().copied().collect();
        for uuid in &uuids {
            if !self.hears_our_beacon(*uuid) {
                self.send(*uuid, &Body::Goodbye, None);
            }
        }
        for uuid in uuids {
            self.actions.push_back(Action::Disconnect { peer: uuid });
        }
        if self.config.beacons {
            self.actions.push_back(Action::Beacon(self.own_beacon(0)));
        }
        self.peers.clear();
        self.held_bytes = 0;
        self.peer_index.clear();
        self.timers.clear();
        self.budget.clear();
        self.groups.clear_peers();
        self.elections.clear();
        self.seeds = seeds::Seeds::default();
        self.stopped = true;
        self.events.push_back(Event::Stop);
    }

    /// Whether our port-0 beacon reaches `peer`: beacons are on and its
    /// address is in the subnet we serve (or we serve any: no subnet).
    fn hears_our_beacon(&self, peer: Uuid) -> bool {
        if !self.config.beacons {
            return false;
        }
        let Some(subnet) = self.config.beacon_subnet else {
            return true;
        };
        self.peers
            .get(&peer)
            .and_then(|p| p.endpoint.ip())
            .is_some_and(|ip| subnet.contains(ip))
    }

    // ----- internals -----------------------------------------------------

    /// A peer the application knows: it had its ENTER.
    fn ready_peer(&self, peer: Uuid) -> Option<&Peer> {
        self.peers.get(&peer).filter(|p| p.entered)
    }

    /// A peer's endpoint, read from text (see [`Endpoint::parse`]);
    /// `None`, with a log line at most once a second, when it is not one we
    /// can link to.
    fn peer_endpoint_of(&mut self, now: Instant, written: &str) -> Option<Endpoint> {
        match Endpoint::parse(written, self.config.link_scope.as_ref()) {
            Ok(endpoint) => Some(endpoint),
            Err(err) => {
                self.log_bad_address(now, format_args!("ignoring a peer's endpoint: {err}"));
                None
            }
        }
    }

    /// Whether a peer's endpoint is the one we advertise (read as a
    /// peer's would be: for a link-local address we advertise no scope).
    fn is_own_endpoint(&self, endpoint: &Endpoint) -> bool {
        self.own_endpoint.as_ref() == Some(endpoint)
    }

    /// Logs a dropped beacon or endpoint, once a second at most: a LAN
    /// can send many.
    fn log_bad_address(&mut self, now: Instant, what: fmt::Arguments<'_>) {
        if let Some(also) = self.logs.bad_address.admit(now) {
            warn!("{what}{also}");
        }
    }

    fn check_command(&self) -> Result<(), CommandError> {
        if self.stopped {
            Err(CommandError::Stopped)
        } else {
            Ok(())
        }
    }

    /// Acts on a message from `uuid`, a ready peer called `name`.
    fn dispatch(&mut self, now: Instant, uuid: Uuid, name: Arc<str>, body: Body<'_>, content: Vec<Frame>) {
        if matches!(body, Body::Ping | Body::PingOk) {
            if let Some(peer) = self.peers.get_mut(&uuid) {
                peer.note_heard_greeting();
            }
        }
        match body {
            Body::Hello(hello) => {
                let Some(peer) = self.peers.get_mut(&uuid) else {
                    return;
                };
                peer.name = Arc::from(hello.name);
                peer.headers = hello
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                let name = peer.name.clone();
                // The endpoint as read (a link-local one with our scope),
                // not necessarily as written.
                if peer.reachable() {
                    info!("ENTER {name} ({}) at {}", uuid.simple(), peer.endpoint);
                } else {
                    debug!(
                        "HELLO from {name} ({}) at {}: its ENTER waits until we know our link reaches it",
                        uuid.simple(),
                        peer.endpoint
                    );
                }
                self.events.push_back(Event::Enter {
                    peer: uuid,
                    name,
                    headers: peer.headers.clone(),
                    endpoint: peer.endpoint_text.to_string(),
                });
                for group in &hello.groups {
                    self.join_peer_group(uuid, group);
                }
                // Zyre takes the status from HELLO after joining its groups.
                if let Some(peer) = self.peers.get_mut(&uuid) {
                    peer.status = hello.status;
                }
            }
            Body::Whisper => self.events.push_back(Event::Whisper {
                peer: uuid,
                name,
                content,
            }),
            Body::Shout { group } => {
                let group = self.groups.intern(group);
                self.events.push_back(Event::Shout {
                    peer: uuid,
                    name,
                    group,
                    content,
                });
            }
            Body::Join { group, status } => {
                self.join_peer_group(uuid, group);
                self.check_status(uuid, status);
            }
            Body::Leave { group, status } => {
                self.leave_peer_group(uuid, group);
                self.check_status(uuid, status);
            }
            Body::Ping => self.send(uuid, &Body::PingOk, None),
            Body::PingOk => {
                self.count_ping_ok(now, uuid);
                self.on_ping_ok(now, uuid)
            }
            Body::Elect { group, challenger } => self.on_elect(uuid, group, challenger),
            Body::Leader { group, leader } => self.on_leader(uuid, group, leader),
            Body::Goodbye => {
                info!("peer {name} ({}) said GOODBYE", uuid.simple());
                self.remove_peer(uuid, Removal::Left);
            }
        }
    }

    fn send_to_all(&mut self, body: &Body<'_>) {
        let uuids: Vec<Uuid> = self.peers.keys().copied().collect();
        for uuid in uuids {
            self.send(uuid, body, None);
        }
    }

    fn send(&mut self, uuid: Uuid, body: &Body<'_>, content: Option<Content>) {
        if self.is_challenger(uuid) {
            // No link of its own while its contest runs (see contest.rs).
            return;
        }
        let Some(peer) = self.peers.get_mut(&uuid) else {
            return;
        };
        if let Some(header) = emit_for(peer, body, &mut self.emit_buffer) {
            if matches!(body, Body::Ping) {
                peer.pings_sent = peer.pings_sent.wrapping_add(1);
            }
            self.actions.push_back(Action::Send {
                peer: uuid,
                header,
                content,
            });
        }
    }
}

/// Stamps the peer's next sequence number on a message and emits it.
fn emit_for(peer: &mut Peer, body: &Body<'_>, buffer: &mut Vec<u8>) -> Option<HeaderFrame> {
    let sequence = peer.next_sent_sequence();
    if matches!(body, Body::Ping | Body::PingOk) {
        peer.note_sent_greeting();
    }
    match emit_header(sequence, body, buffer) {
        Ok(header) => Some(header),
        Err(err) => {
            // Names and groups are validated before they get here: a bug.
            warn!(
                "cannot emit {} to {}: {err}",
                body.id().name(),
                peer.uuid.simple()
            );
            None
        }
    }
}

/// Emits a message with `sequence` through `buffer` (kept by the caller,
/// so that this allocates nothing) into a header frame.
fn emit_header(sequence: u16, body: &Body<'_>, buffer: &mut Vec<u8>) -> Result<HeaderFrame, WireError> {
    buffer.clear();
    ZreMessage {
        sequence,
        body: body.clone(),
    }
    .emit(buffer)?;
    Ok(HeaderFrame::from_slice(buffer))
}

/// The earlier of two deadlines, `None` being "nothing due".
#[inline]
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// The next periodic deadline after `now`, keeping the original phase; a
/// clock that jumped far ahead does not cause a burst of catch-up ticks.
fn next_tick(previous: Instant, interval: Duration, now: Instant) -> Instant {
    let next = previous + interval;
    if next > now { next } else { now + interval }
}

#[cfg(test)]
mod tests;
