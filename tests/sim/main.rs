//! The sans-I/O state machines (`zre::core`) in virtual time: no sockets,
//! no clock, no sleeps. One test binary.
//!
//! - `node`: `NodeCore`, many nodes on a simulated network.
//! - `gossip`: the ZGossip server and client wired together.
//! - `beyond_lan`: seed peers and the unpublish of a clean stop (issue 28).

mod beyond_lan;
mod gossip;
mod lan_sim;
mod network_faults;
mod node;
mod proven_key;
mod scale;
