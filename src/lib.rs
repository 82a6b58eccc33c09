//! zre: ZRE (ZeroMQ Realtime Exchange, RFC 36) for Rust — peer-to-peer
//! networking on a LAN with automatic peer discovery (UDP beacons, or a
//! ZGossip server across subnets) and reliable group messaging (SHOUT to a
//! group, WHISPER to one peer), wire-compatible with Zyre, pyre and zyre.js.
//!
//! Layers, bottom up:
//! - [`wire`]: the exact bytes of beacons, ZRE and ZGossip messages.
//! - [`core`]: the protocol as deterministic state machines (no sockets, no
//!   clock): they take inputs and the time, and yield frames, events and the
//!   next deadline.

pub mod config;
pub mod core;
pub mod wire;
