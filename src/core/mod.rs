//! The protocol as sans-I/O state machines: each takes inputs (bytes that
//! arrived, commands, the time) and yields outputs (bytes to send, events,
//! the next deadline). None of them touches a socket or reads the clock.

mod claims;
pub mod event;
pub mod gossip_client;
pub mod gossip_server;
mod group;
pub mod node;
mod peer;
pub mod subnet;

pub use event::{Event, Frame, Headers, ZyreUuid};
pub use node::{Action, CommandError, Content, CoreConfig, NodeCore, SharedContent};
pub use subnet::Subnet;
