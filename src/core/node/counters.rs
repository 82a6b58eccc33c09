//! The core's counters: what it did since it started, for
//! [`NodeCore::counters`] (and through it `Node::stats`, `/stats`, the
//! `STATS` event and the metrics endpoint of the tools).

use super::*;

/// Every [`Removal`] cause, in the order of [`CoreCounters::exits`].
pub const REMOVALS: [Removal; 16] = [
    Removal::Expired,
    Removal::Left,
    Removal::Restarted,
    Removal::Relinked,
    Removal::Replaced { link_moves: false },
    Removal::Stale,
    Removal::MadeRoom,
    Removal::Refused,
    Removal::Unreachable,
    Removal::TooFarBehind,
    Removal::ConnectFailed,
    Removal::Renumbered,
    Removal::NotAllowed,
    Removal::HandshakeFailed,
    Removal::SendFailed,
    Removal::Unproven,
];

impl Removal {
    /// Its place in [`REMOVALS`] (and in [`CoreCounters::exits`]).
    pub fn index(self) -> usize {
        match self {
            Removal::Expired => 0,
            Removal::Left => 1,
            Removal::Restarted => 2,
            Removal::Relinked => 3,
            Removal::Replaced { .. } => 4,
            Removal::Stale => 5,
            Removal::MadeRoom => 6,
            Removal::Refused => 7,
            Removal::Unreachable => 8,
            Removal::TooFarBehind => 9,
            Removal::ConnectFailed => 10,
            Removal::Renumbered => 11,
            Removal::NotAllowed => 12,
            Removal::HandshakeFailed => 13,
            Removal::SendFailed => 14,
            Removal::Unproven => 15,
        }
    }

    /// A name for metrics and JSON: lower case, `_` between words.
    pub fn key(self) -> &'static str {
        match self {
            Removal::Expired => "expired",
            Removal::Left => "left",
            Removal::Restarted => "restarted",
            Removal::Relinked => "relinked",
            Removal::Replaced { .. } => "replaced",
            Removal::Stale => "stale",
            Removal::MadeRoom => "made_room",
            Removal::Refused => "refused",
            Removal::Unreachable => "unreachable",
            Removal::TooFarBehind => "too_far_behind",
            Removal::ConnectFailed => "connect_failed",
            Removal::Renumbered => "renumbered",
            Removal::NotAllowed => "not_allowed",
            Removal::HandshakeFailed => "handshake_failed",
            Removal::SendFailed => "send_failed",
            Removal::Unproven => "unproven",
        }
    }
}

/// What a [`NodeCore`] did since it started, and how full its tables are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoreCounters {
    /// Peers that said HELLO, their ENTER given or still to come (see
    /// [`CoreCounters::peers_unproven`]).
    pub peers_ready: usize,
    /// Of those, the ones whose ENTER still waits for the proof that our
    /// link reaches them (their PING-OK; in CURVE mode, our link's
    /// handshake): not in `peers()` yet. One that stays here has an
    /// endpoint we cannot reach (a wrong `--endpoint`, a firewall).
    pub peers_unproven: usize,
    /// Peers only announced (beacon, gossip tuple), waiting for HELLO.
    pub peers_pending: usize,
    /// Of those, how many have a link (the rest wait for one).
    pub peers_linked_pending: usize,
    /// The most peers the table holds.
    pub max_peers: usize,
    /// The most peers without HELLO it holds.
    pub max_pending: usize,
    /// The most of those with a link at once.
    pub max_linking: usize,
    /// HELLOs refused: no room, a conflict, a forbidden key.
    pub refused: u64,
    /// PINGs sent to evasive peers.
    pub pings_sent: u64,
    /// Probes of a peer's inbox port asked for (fast EXIT).
    pub probes: u64,
    /// Peers removed, by cause (see [`REMOVALS`]); only those that had
    /// their ENTER are EXITs, but every removal is counted.
    pub exits: [u64; REMOVALS.len()],
    /// Announcements (beacons, gossip tuples) of new peers dropped for
    /// lack of room; kept in [`CoreCounters::announcements_kept`] to be
    /// tried when room frees up.
    pub announcements_dropped: u64,
    /// Announcements waiting for room now.
    pub announcements_kept: usize,
    /// Links the I/O layer could not open for lack of file descriptors
    /// (tried again later).
    pub connects_deferred: u64,
    /// Peer liveness checks done (timer entries looked at).
    pub peer_checks: u64,
}

impl CoreCounters {
    /// Removals for `why`.
    pub fn exits_for(&self, why: Removal) -> u64 {
        self.exits[why.index()]
    }
}

impl NodeCore {
    /// The counters, with the table sizes as they are now.
    pub fn counters(&self) -> CoreCounters {
        let mut counters = self.stats;
        for peer in self.peers.values() {
            if peer.ready {
                counters.peers_ready += 1;
                counters.peers_unproven += usize::from(!peer.entered);
            } else {
                counters.peers_pending += 1;
                if peer.linked {
                    counters.peers_linked_pending += 1;
                }
            }
        }
        counters.max_peers = self.config.max_peers;
        counters.max_pending = self.max_pending();
        counters.max_linking = self.max_linking();
        counters.announcements_kept = self.budget.kept_len();
        counters.peer_checks = self.timers.checks;
        counters
    }
}
