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
//! Layers, bottom up (each a folder of `src/`):
//! - [`wire`]: the exact bytes of beacons, ZRE and ZGossip messages.
//! - `core`: the protocol as deterministic state machines (no sockets, no
//!   clock): they take inputs and the time, and yield frames, events and
//!   the next deadline.
//! - `node`: [`Node`], a single-threaded mio reactor that owns the sockets
//!   and moves bytes between them and the core; [`NodeHandle`] runs one
//!   in a thread; [`NodeBuilder`] sets one up.
//! - `gossip`: [`GossipService`], a ZGossip server (what `zgossip_server`
//!   runs).
//! - `curve`: [`Certificate`] files, the allow-list and the ZAP handler.
//! - `host`: the host's [`Interface`]s and Zyre's environment ([`ZyreEnv`]).
//! - [`config`]: the `zre.conf` loader the tools share.
//!
//! Everything a program uses is re-exported here, each item under one path.
#![warn(unreachable_pub)]

pub mod config;
// The sans-I/O core, public for the simulations in tests/ and the fuzz
// targets (`cfg(test)` is not set for them); not part of the API.
#[doc(hidden)]
pub mod core;
mod curve;
pub mod defaults;
mod error;
mod gossip;
mod host;
mod node;
pub mod wire;

// Old paths that tests, fuzz targets and tools reach into; not the API.
#[doc(hidden)]
pub use curve::cert;

pub use core::gossip_server::ServerConfig as GossipServerConfig;
pub use core::{CommandError, Event, Frame, Headers, ZyreUuid};
pub use curve::cert::{CertError, Certificate};
pub use error::{NodeError, SettingError};
pub use gossip::{DEFAULT_GOSSIP_ENDPOINT, GossipEvent, GossipService};
pub use host::interface::{Interface, InterfaceError, InterfaceSpec};
pub use host::zyre_env::ZyreEnv;
#[cfg(feature = "async")]
pub use node::{AsyncNode, EventStream};
pub use node::{FIRST_RESERVED_TOKEN, Node, NodeBuilder, NodeHandle, NodeStats, PortRange, gossip_endpoint};
// Crates whose types are in zre's public signatures: `Uuid` (peers),
// `mio` (`Node::poll`, `Node::registry`), `flume` (`NodeHandle::events`).
pub use flume;
pub use mio;
pub use uuid::{self, Uuid};

/// Whether this build can speak CURVE (RFC 26): whether the libzmq that
/// zmq-sys linked was built with libsodium (this repository's build is;
/// the crates.io zmq-sys's is not: see the README, "CURVE for a program
/// that depends on zre"). Without it
/// [`NodeBuilder::curve`] and [`GossipService::bind_curve`] fail with
/// [`SettingError::CurveUnavailable`] and [`Certificate::generate`] with
/// [`CertError::Keygen`].
pub fn curve_available() -> bool {
    zmq::has("curve").unwrap_or(false)
}
