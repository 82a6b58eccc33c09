//! The node: the I/O shell around [`crate::core::NodeCore`]. A mio reactor
//! owns the sockets (UDP beacons, the ROUTER inbox, a DEALER per peer and
//! per gossip server, TCP probes, the inbox's monitor, the ZAP handler)
//! and moves bytes between them and the sans-I/O cores; nothing here
//! decides protocol.
//!
//! | file | job |
//! |---|---|
//! | `reactor.rs` | [`Node`]: the poll loop, carrying out the core's actions |
//! | `reactor/commands.rs`, `reactor/queries.rs` | `Node`'s commands (join, whisper, …) and questions (peers, groups, …) |
//! | `reactor/back_pressure.rs` | the bound on events not taken, at which the inbox waits unread |
//! | `builder.rs` | [`NodeBuilder`]: settings and their validation |
//! | `setup.rs` | what `NodeBuilder::build` opens: context, inbox, ZAP, beacon sockets |
//! | `handle.rs` | [`NodeHandle`]: a node in a thread of its own |
//! | `async_node.rs` | `AsyncNode` (feature `async`): a spawned node driven from async code |
//! | `link.rs` | the DEALERs: creating them, sending, the backlog |
//! | `probe.rs` | TCP probes of a peer's inbox (fast EXIT) |
//! | `inbox_watch.rs` | the inbox's monitor: which hosts closed a connection; connections beyond the peer table's shed |
//! | `beacon_socket.rs` | the UDP beacon socket(s) and which beacons they let in |
//! | `receive_pool.rs` | received contents given back (`Node::recycle`), read into again |
//! | `gossip_host.rs` | checks a gossip server's host before connecting |
//! | `zmq_frame.rs` | libzmq messages of our own, shared by many sends (a SHOUT's content) |
//! | `resolver.rs` | the thread that looks up seed names (`--peer HOST:PORT`) and wakes the loop |
//! | `reactor/seeds.rs` | `Node::add_peer`, `Node::require_peer`: seeds to the core or the resolver |
//! | `reactor/gossip_bind.rs` | the in-node gossip server (`--gossip-bind`), unpublish on a clean stop |

#[cfg(feature = "async")]
mod async_node;
mod beacon_socket;
mod builder;
pub(crate) mod fd_budget;
mod gossip_host;
mod handle;
mod handshake_watch;
pub(crate) mod inbox_watch;
mod link;
mod probe;
mod reactor;
mod receive_pool;
mod resolver;
mod setup;
mod stats;
mod zmq_frame;

#[cfg(feature = "async")]
pub use async_node::{AsyncNode, EventStream};
pub use builder::{NodeBuilder, PortRange, gossip_endpoint};
pub use handle::NodeHandle;
pub(crate) use link::{DealerSetup, new_dealer};
pub(crate) use reactor::CurveKeys;
pub use reactor::{FIRST_RESERVED_TOKEN, Node};
pub use stats::NodeStats;
