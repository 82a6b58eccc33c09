//! What a [`NodeCore`](super::NodeCore) is told when it is made: who it
//! is, where it can be reached, and its timers and limits.

use super::endpoint::LinkScope;
use super::event::Headers;
use super::subnet::Subnet;
use std::time::Duration;
use uuid::Uuid;

/// A [`NodeCore`](super::NodeCore)'s identity, timers and limits. Build
/// it with [`CoreConfig::new`] and change fields as needed. The core does
/// not validate it; [`NodeBuilder`](crate::NodeBuilder) does.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// Our UUID: sent in beacons, as our DEALER identity, and over ZGossip.
    pub uuid: Uuid,
    /// Our name, sent in HELLO: at most 255 bytes, or HELLO cannot be
    /// emitted.
    pub name: String,
    /// Our header properties, sent in HELLO: keys of 1 to 255 bytes.
    pub headers: Headers,
    /// The endpoint we advertise in HELLO, e.g. `tcp://10.0.0.5:41012`.
    pub endpoint: String,
    /// Our inbox port, carried in beacons.
    pub port: u16,
    /// Send UDP beacons (false in gossip-only mode).
    pub beacons: bool,
    /// Time between two beacons (default 1 s, as Zyre's `zbeacon`).
    pub beacon_interval: Duration,
    /// A peer that sends nothing for this long is evasive: it is pinged
    /// and reported once (default 5 s, as Zyre's `evasive_timeout`). Also
    /// how long a peer known only by beacon or gossip has to say HELLO.
    pub evasive: Duration,
    /// A peer that sends nothing for this long is expired: removed, with
    /// an EXIT (default 30 s, as Zyre's `expired_timeout`). Should not be
    /// less than `evasive`.
    pub expired: Duration,
    /// Peers tracked at once, with or without HELLO (default 1024). Those
    /// without HELLO may fill half; a HELLO may push out the oldest of
    /// them; beyond that new peers are ignored, with a rate-limited log.
    pub max_peers: usize,
    /// Peers without HELLO that have a link (a DEALER, one or two file
    /// descriptors) at once (default 64): the others wait for a turn,
    /// newest announcement first. Bounds what a flood of forged beacons
    /// or stale gossip tuples costs in descriptors.
    pub max_linking: usize,
    /// Groups one peer may be in, as far as we track it (default 256); its
    /// JOINs beyond this are counted (status) but not stored. One hostile HELLO could
    /// otherwise name a hundred thousand groups.
    pub max_peer_groups: usize,
    /// The subnet of the interface we serve: beacons from outside it are
    /// ignored (a node with two interfaces hears the other LAN's beacons,
    /// and a peer there could not reach the endpoint we advertise).
    /// `None` acts on beacons from anywhere.
    pub beacon_subnet: Option<Subnet>,
    /// Report EXIT as soon as a peer's connection closed and its inbox
    /// port refuses a new one (its process is gone), instead of only when
    /// it expires. False keeps the timers alone (Zyre's behaviour).
    pub fast_exit: bool,
    /// IPv6 mode: the interface we serve, as the scope of link-local
    /// addresses. Beacons from a link-local sender count only if they came
    /// in with this scope; link-local endpoints (from beacons, HELLO,
    /// gossip) get its name as `%scope`. `None` in IPv4 mode.
    pub link_scope: Option<LinkScope>,
    /// CURVE mode (Zyre's `zyre_set_curve_keypair`, `zyre_node.c`): our
    /// 32-byte CURVE public key. `Some` makes the core send version-3
    /// beacons carrying it, put it in HELLO as the `X-PUBLICKEY` header
    /// and in gossip values (`endpoint|key`), and deal only with peers
    /// that announce a key likewise. `None` (the default) is plain RFC 36.
    /// The secret key never reaches the core: the I/O layer holds it.
    pub curve_public_key: Option<[u8; 32]>,
    /// The largest frame of a WHISPER's or SHOUT's content we send, in
    /// bytes (default 64 MiB, the inbox limit of every zre node): a
    /// larger one is refused with [`CommandError::TooLarge`](super::CommandError::TooLarge),
    /// since a peer's inbox at that limit drops the connection that
    /// brings it, and with it what follows. The I/O layer gives its
    /// inbox's own limit.
    pub max_message_size: usize,
}

impl CoreConfig {
    /// A config with the defaults above: beacons on, no headers, every
    /// subnet heard. `endpoint` is what HELLO advertises and `port` what
    /// beacons carry; they should name the same inbox.
    pub fn new(uuid: Uuid, name: impl Into<String>, endpoint: impl Into<String>, port: u16) -> Self {
        CoreConfig {
            uuid,
            name: name.into(),
            headers: Vec::new(),
            endpoint: endpoint.into(),
            port,
            beacons: true,
            beacon_interval: crate::defaults::BEACON_INTERVAL,
            evasive: crate::defaults::EVASIVE_TIMEOUT,
            expired: crate::defaults::EXPIRED_TIMEOUT,
            max_peers: crate::defaults::MAX_PEERS,
            max_linking: crate::defaults::MAX_LINKING,
            max_peer_groups: crate::defaults::MAX_PEER_GROUPS,
            beacon_subnet: None,
            fast_exit: true,
            link_scope: None,
            curve_public_key: None,
            max_message_size: crate::defaults::MAX_MESSAGE_SIZE,
        }
    }
}
