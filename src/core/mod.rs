//! The protocol as sans-I/O state machines: each takes inputs (bytes that
//! arrived, commands, the time) and yields outputs (bytes to send, events,
//! the next deadline). None of them touches a socket or reads the clock.

pub mod action;
mod claims;
pub mod config;
mod election;
pub mod event;
pub mod gossip_client;
pub mod gossip_server;
mod group;
pub mod node;
mod peer;
pub mod subnet;

pub use action::{Action, Content, SharedContent};
pub use config::CoreConfig;
pub use event::{Event, Frame, Headers, ZyreUuid};
pub use node::{CommandError, NodeCore};
pub use subnet::Subnet;
