//! The sans-I/O state machines (`zre::core`) in virtual time: no sockets,
//! no clock, no sleeps. One test binary.
//!
//! - `node`: `NodeCore`, many nodes on a simulated network.
//! - `gossip`: the ZGossip server and client wired together.

mod gossip;
mod node;
