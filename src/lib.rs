#![deny(missing_docs)]
//! zre: ZRE (ZeroMQ Realtime Exchange, RFC 36) for Rust — peer-to-peer
//! networking on a LAN with automatic peer discovery (UDP beacons, or a
//! ZGossip server across subnets) and reliable group messaging (SHOUT to a
//! group, WHISPER to one peer), wire-compatible with Zyre, pyre and zyre.js.
//!
//! ```no_run
//! use std::time::Duration;
//! let mut node = zre::Node::builder().name("demo").interface("lo").build()?;
//! node.join("chat")?;
//! while let Some(event) = node.recv_event(Some(Duration::from_secs(5)))? {
//!     if let zre::Event::Enter { peer, .. } = event {
//!         node.whisper_str(peer, "hello")?;
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Layers, bottom up:
//! - [`wire`]: the exact bytes of beacons, ZRE and ZGossip messages.
//! - [`core`]: the protocol as deterministic state machines (no sockets, no
//!   clock): they take inputs and the time, and yield frames, events and the
//!   next deadline.
//! - [`Node`]: a single-threaded mio reactor that owns the sockets and moves
//!   bytes between them and the core; [`NodeHandle`] runs one in a thread.
//! - [`GossipService`]: a ZGossip server (what `zgossip_server` runs).

mod beacon_socket;
mod builder;
pub mod cert;
pub mod config;
pub mod core;
pub mod curve_allow;
pub mod defaults;
mod error;
mod gossip_service;
mod handle;
#[cfg(feature = "async")]
#[path = "node/async_node.rs"]
mod async_node;
pub mod iface;
mod inbox_watch;
mod link;
mod probe;
mod reactor;
mod spare;
pub mod wire;
mod zap;
mod zyre_env;

pub use builder::{DEFAULT_BEACON_PORT, DEFAULT_PORT_RANGE, NodeBuilder, PortRange, gossip_endpoint};
pub use cert::{CertError, Certificate};
pub use core::gossip_server::ServerConfig as GossipServerConfig;
pub use core::{CommandError, Event, Frame, Headers, ZyreUuid};
pub use error::{NodeError, SettingError};
pub use gossip_service::{DEFAULT_GOSSIP_ENDPOINT, GossipEvent, GossipService};
pub use handle::NodeHandle;
#[cfg(feature = "async")]
pub use async_node::{AsyncNode, EventStream};
// Crates whose types are in zre's public signatures: `Uuid` (peers),
// `mio` (`Node::poll`, `Node::registry`), `flume` (`NodeHandle::events`).
pub use flume;
pub use mio;
pub use uuid::{self, Uuid};
pub use iface::{Interface, InterfaceSpec};
pub use reactor::{FIRST_RESERVED_TOKEN, Node};
pub use zyre_env::ZyreEnv;

/// Whether this build can speak CURVE (RFC 26): libzmq built with
/// libsodium, the `curve` cargo feature (on by default). Without it
/// [`NodeBuilder::curve`] and [`GossipService::bind_curve`] fail with
/// [`SettingError::CurveUnavailable`] and [`Certificate::generate`] with
/// [`CertError::Keygen`].
pub fn curve_available() -> bool {
    zmq::has("curve").unwrap_or(false)
}
