//! The ZGossip server with its sockets (what `zgossip_server` runs): the
//! shell around [`crate::core::gossip_server::GossipServer`].

mod service;

pub use service::{DEFAULT_GOSSIP_ENDPOINT, GossipEvent, GossipService};
