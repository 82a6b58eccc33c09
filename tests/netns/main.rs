//! The live tests in Linux network namespaces: our `zre` binary (so the
//! `tools` feature) and the reference implementations as processes on
//! LANs, routers and firewalls that each test makes itself and removes
//! afterwards (`support::netns`). One test binary, its support compiled
//! once; each file is one family of tests. Test names keep the family
//! prefixes of the live references (`zyre_c_`, `haskell_`, `czmq_`,
//! `pyre_`, `zyrejs_`): `cargo test --test netns zyre_c_` runs one family.
//!
//! Needs root (skipped with a message without it, unless `CI` is set).
//! Each test's LANs are numbered apart (10.99.N.0/24; see each file), and
//! every namespace carries this process's id and a lab number.

#[macro_use]
mod support;

mod beyond_lan;
mod chaos;
mod chaos_schedule;
mod curve;
mod czmq;
mod exhaustion;
mod fast_exit_live;
mod gossip;
mod haskell;
mod haskell_gossip;
mod hostile;
mod integrity;
mod interop;
mod ipv6;
mod multicast;
mod network_faults;
mod scale;
mod storms;
mod zyre_c;
mod zyre_c_curve;
mod zyre_c_election;
