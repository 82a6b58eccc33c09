//! [`Node::stats`](super::Node::stats): the core's counters (peers, PINGs, probes, EXITs by
//! cause, announcements dropped) with what only the I/O layer knows:
//! messages held for slow peers and descriptors in use.

use crate::core::{CoreCounters, REMOVALS, Removal};

/// A node's counters and table sizes at one moment (see
/// [`Node::stats`](crate::Node::stats)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeStats {
    /// What the protocol core counted.
    pub core: CoreCounters,
    /// Messages held because libzmq's queues were full, over all links.
    pub backlog: usize,
    /// File descriptors the process has open (Linux; `None` elsewhere).
    pub fds_in_use: Option<usize>,
    /// Connections to our inbox shut down since start because there were
    /// more than the peer table needs (one per peer, and a margin): a
    /// host holding many had its newest closed.
    pub inbound_shed: u64,
}

impl NodeStats {
    /// EXITs (removals) by cause, with their metric names.
    pub fn exits(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        REMOVALS
            .iter()
            .map(|why: &Removal| (why.key(), self.core.exits_for(*why)))
    }
}
