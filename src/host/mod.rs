//! What a node reads from its host: network interfaces and their addresses
//! (`interface.rs`), and the environment variables Zyre and czmq read
//! (`zyre_env.rs`).

pub(crate) mod address_watch;
pub(crate) mod interface;
pub(crate) mod zyre_env;
