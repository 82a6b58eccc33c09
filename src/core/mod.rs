//! The protocol as sans-I/O state machines: each takes inputs (bytes that
//! arrived, commands, the time) and yields outputs (bytes to send, events,
//! the next deadline). None of them touches a socket or reads the clock,
//! so the same code runs under [`crate::Node`]'s reactor and in tests in
//! virtual time.
//!
//! | Machine | Protocol | Inputs | Outputs |
//! |---|---|---|---|
//! | [`NodeCore`] | ZRE (RFC 36): one node, its peers and groups | `handle_beacon`, `handle_message`, `handle_gossip_tuple`, commands (`join`, `whisper`, `shout`, `stop`, …) | [`Action`] (connect, send, disconnect, relink a peer; send a beacon) and [`Event`] |
//! | [`GossipClient`](gossip_client::GossipClient) | ZGossip client, to any number of servers | `add_server`, `publish`, `handle_frame` | [`ClientOutput`](gossip_client::ClientOutput) (connect, send, disconnect; a tuple delivered) |
//! | [`GossipServer`](gossip_server::GossipServer) | ZGossip server (czmq's `zgossip`) | `handle_client_frame`, `handle_remote_frame`, `connect_remote`, `publish` | [`ServerOutput`](gossip_server::ServerOutput) (send to a client or remote, connect a remote; a tuple delivered or expired) |
//!
//! All three are driven the same way:
//!
//! 1. Feed each input with `now`, the time it arrived (monotonic: it
//!    never goes back between calls). No machine sleeps or waits.
//! 2. Then take the outputs until `None` (`poll_action` and `poll_event`,
//!    or `poll_output`) and carry them out in that order: the order is
//!    part of the protocol (a peer's sends follow its connect, and ZRE
//!    sequence numbers are stamped in order).
//! 3. Call `handle_timeout(now)` once `now` reaches `poll_timeout()`
//!    (`None`: nothing is due until the next input), then take the outputs
//!    again.
//!
//! Buffers: input bytes are borrowed for the call (`&[u8]`), and what is
//! kept is copied; output frames are owned `Vec<u8>`s moved to the caller.
//! A ZRE message's content frames are moved in and out without a copy;
//! its header frame is a value ([`HeaderFrame`], inline up to 40 bytes)
//! that the I/O layer drops once sent: no buffer goes back to the core.
//!
//! A ZRE node that finds peers through a gossip server runs a
//! `GossipClient` beside its `NodeCore` and hands each delivered tuple (a
//! peer's UUID and inbox endpoint) to [`NodeCore::handle_gossip_tuple`];
//! what it publishes under our UUID is [`NodeCore::gossip_value`].
//!
//! CURVE mode (Zyre 2.0.1's, `zyre_node.c`) is [`CoreConfig::curve_public_key`]:
//! the core then sends version-3 beacons with that key, gives it in HELLO
//! (`X-PUBLICKEY`) and in its gossip value (`endpoint|key`), hands each
//! peer's key to the I/O layer in [`Action::Connect`] (the DEALER's CURVE
//! server key), and ignores every beacon, HELLO and gossip value without a
//! usable key: no downgrade. The I/O layer holds the secret key and makes
//! the inbox a CURVE server.

pub mod action;
mod command_error;
pub mod config;
mod election;
pub mod endpoint;
pub mod event;
pub(crate) mod frame;
pub mod gossip_client;
pub mod gossip_server;
mod group;
pub(crate) mod log_limit;
pub mod node;
mod overruled;
mod peer;
pub(crate) mod sorted_table;
pub mod subnet;
#[cfg(test)]
pub(crate) mod test_rng;

pub use action::{Action, Content, HeaderFrame, SharedContent};
pub use command_error::CommandError;
pub use config::CoreConfig;
pub use endpoint::{Endpoint, EndpointError, Host, LinkScope};
pub use event::{Event, Frame, Headers, ZyreUuid};
pub use node::{
    CoreCounters, IDENTITY_LEN, NodeCore, REMOVALS, Removal, SEED_RETRY_MAX, SEED_RETRY_MIN, peer_identity,
};
pub use subnet::Subnet;
