//! The protocol as sans-I/O state machines.
