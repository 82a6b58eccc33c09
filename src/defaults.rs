//! The built-in defaults of a node, written once: `NodeBuilder::default()`
//! ([`NodeBuilder`](crate::NodeBuilder)),
//! [`CoreConfig::new`](crate::core::CoreConfig::new) and the configuration
//! keys ([`crate::config::NODE_KEYS`]) all read them, so that a default
//! changes in one place.

use std::ops::RangeInclusive;
use std::time::Duration;

/// UDP port of the beacons (RFC 36, "Discovery": the IANA-assigned ZRE
/// port).
pub const DEFAULT_BEACON_PORT: u16 = 5670;

/// TCP ports the inbox may bind, inclusive; one is picked at random. The
/// README documents this range for firewall rules.
pub const DEFAULT_PORT_RANGE: RangeInclusive<u16> = 41000..=41100;

/// Time between two beacons (Zyre's `beacon_interval`, 1 s).
pub const BEACON_INTERVAL: Duration = Duration::from_secs(1);

/// Silence after which a peer is pinged and reported EVASIVE (Zyre's
/// `evasive_timeout`, 5 s).
pub const EVASIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Silence after which a peer is dropped with EXIT (Zyre's
/// `expired_timeout`, 30 s).
pub const EXPIRED_TIMEOUT: Duration = Duration::from_secs(30);

/// Peers tracked at once.
pub const MAX_PEERS: usize = 1024;
/// Peers without HELLO linked at once (`CoreConfig::max_linking`).
pub const MAX_LINKING: usize = 64;

/// Groups tracked per peer; a peer's JOINs beyond them are counted but not
/// stored.
pub const MAX_PEER_GROUPS: usize = 256;

/// Largest message the inbox accepts, in bytes (64 MiB).
pub const MAX_MESSAGE_SIZE: usize = 64 << 20;

/// The least [`MAX_MESSAGE_SIZE`] a node may be given, in bytes: a HELLO
/// with the longest name and endpoint (255 bytes each) and no groups or
/// headers (`zre_msg.xml`: the 6-byte header, `string` endpoint,
/// `strings` groups, `number1` status, `string` name, `hash` headers).
/// Below it, a node refuses every HELLO, so that peers would ENTER it
/// while it never hears them.
pub const MIN_MESSAGE_SIZE: usize = 6 + (1 + 255) + 4 + 1 + (1 + 255) + 4;

/// Messages libzmq queues per peer (its send high-water mark) before the
/// node's own backlog takes over.
pub const SEND_HWM: i32 = 100_000;

/// Messages the node queues for one peer beyond libzmq's; a peer further
/// behind is dropped (EXIT).
pub const MAX_BACKLOG: usize = 1_000_000;

/// Events the node queues for the application (taken with
/// `Node::next_event`) before it stops reading its inbox: messages then
/// wait in libzmq (up to its receive high-water mark, [`SEND_HWM`]
/// messages per peer), and TCP pushes back on the senders. A count of
/// events, not bytes.
pub const MAX_EVENTS: usize = 4096;

/// How long stopping may wait for queued messages to leave.
pub const LINGER: Duration = Duration::from_secs(5);

/// The multicast group a broadcast node also hears beacons on (on its
/// beacon port): haskell-zre beacons to 225.25.25.25:5670 by default, and
/// pyre falls back to it where it finds no broadcast address.
pub const DEFAULT_MULTICAST_GROUP: std::net::Ipv4Addr = std::net::Ipv4Addr::new(225, 25, 25, 25);
