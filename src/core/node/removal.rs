//! Removing a peer: one way in, the cause a value. Every removal drops the
//! peer from the tables and its groups, frees the endpoint claims it held,
//! tells the elections, says EXIT if the application had its ENTER, and
//! (unless the link moves to the peer that replaced it) closes its link.

use super::*;
use crate::core::election::REAP_MARGIN;
use std::fmt;

/// Why a peer is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Removal {
    /// Silent for the expired timeout (RFC 36: "expired").
    Expired,
    /// It said GOODBYE, or sent a beacon with port 0 (leaving).
    Left,
    /// It said HELLO again: a new session under the same UUID.
    Restarted,
    /// Its HELLO named another endpoint or key than the announcement we
    /// linked to: we link again to what HELLO says.
    Relinked,
    /// Another UUID's HELLO came from its endpoint (a restart under a new
    /// UUID); `link_moves`: the link is handed to the newcomer
    /// ([`Action::Relink`]) instead of closed.
    Replaced {
        /// The link goes to the peer that replaced it.
        link_moves: bool,
    },
    /// Only announced (no HELLO yet), and another announcement or answer
    /// for its endpoint showed the announcement stale.
    Stale,
    /// Only announced, and the peer table was full: it made room.
    MadeRoom,
    /// It sent what the protocol forbids (see the log line before).
    Refused,
    /// Its inbox refuses connections (fast EXIT): its process is gone.
    /// The other members keep it until it expires at their end, which the
    /// elections allow for.
    Unreachable,
    /// It fell more than the backlog limit behind (the I/O layer's call);
    /// its next beacon brings it back.
    TooFarBehind,
    /// It said HELLO, and the I/O layer could not open a link to it (no
    /// file descriptor left): it cannot be answered.
    ConnectFailed,
    /// Our own address changed: the peer is met again at our new
    /// endpoint (see [`NodeCore::change_endpoint`]).
    Renumbered,
    /// CURVE: its key is not in our allow-list, so we do not link to it
    /// (the I/O layer's call); its HELLO or announcement after the key is
    /// allowed brings it in afresh.
    NotAllowed,
    /// CURVE: our link to it failed its handshake: we cannot send to it.
    HandshakeFailed,
    /// libzmq failed a message accepted for it (the I/O layer's call): it
    /// is lost, and a message failed partway leaves the link unusable. Its
    /// next announcement brings it back on a new link.
    SendFailed,
    /// It said more before we knew our link reaches it (its PING-OK, or
    /// in CURVE mode our link's handshake) than we hold for a peer; see
    /// `core/node/handshake.rs`. It never had its ENTER.
    Unproven,
}

impl fmt::Display for Removal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Removal::Expired => "expired",
            Removal::Left => "left",
            Removal::Restarted => "restarted",
            Removal::Relinked => "relinked",
            Removal::Replaced { .. } => "replaced",
            Removal::Stale => "stale announcement",
            Removal::MadeRoom => "made room",
            Removal::Refused => "refused",
            Removal::Unreachable => "unreachable",
            Removal::TooFarBehind => "too far behind",
            Removal::ConnectFailed => "no link could be opened",
            Removal::Renumbered => "our address changed",
            Removal::NotAllowed => "its key is not in the allow-list",
            Removal::HandshakeFailed => "our link to it failed its CURVE handshake",
            Removal::SendFailed => "a message to it was lost: libzmq failed the send",
            Removal::Unproven => "it said too much before we knew our link reaches it",
        })
    }
}

impl NodeCore {
    /// Removes `uuid` for `why` (nothing if unknown): EXIT if the
    /// application had its ENTER, and its link closed unless it moves to
    /// the peer that replaced it. Returns whether it was known.
    pub fn remove_peer(&mut self, uuid: Uuid, why: Removal) -> bool {
        let Some(peer) = self.peers.remove(&uuid) else {
            return false;
        };
        self.peer_index.remove(&peer);
        self.held_bytes -= peer.held_bytes;
        self.stats.exits[why.index()] += 1;
        self.budget.forget_announced(uuid);
        // A fast EXIT comes before the other members can have expired it.
        let others_until = (why == Removal::Unreachable).then_some(peer.expired_at + REAP_MARGIN);
        let left = self.groups.remove_peer(uuid);
        self.overruled.holder_left(uuid);
        self.leave_contests(uuid, peer.created_at);
        if peer.entered {
            info!(
                "EXIT {} ({}) at {}: {why}",
                peer.name,
                uuid.simple(),
                peer.endpoint
            );
            self.events.push_back(Event::Exit {
                peer: uuid,
                name: peer.name,
            });
        }
        for group in left {
            self.elections_member_left(&group, uuid, others_until);
        }
        if why != (Removal::Replaced { link_moves: true }) {
            self.actions.push_back(Action::Disconnect { peer: uuid });
        }
        true
    }
}
