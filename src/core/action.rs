//! What the core asks its I/O layer to do: [`Action`]s, and the message
//! content they carry.

use super::event::Frame;
use crate::wire::Beacon;
use std::sync::Arc;
use uuid::Uuid;

/// Message content shared by every peer a SHOUT goes to.
pub type SharedContent = Arc<[Frame]>;

/// The content frames of a message to send: a WHISPER's are owned, moved
/// from the application to the socket without a copy or an allocation; a
/// SHOUT's are shared by every member of the group it goes to. Either way
/// it derefs to the frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A WHISPER's frames, or a SHOUT's to a group of one.
    Owned(Vec<Frame>),
    /// A SHOUT's frames, one reference per member it goes to.
    Shared(SharedContent),
}

impl std::ops::Deref for Content {
    type Target = [Frame];

    fn deref(&self) -> &[Frame] {
        match self {
            Content::Owned(frames) => frames,
            Content::Shared(frames) => frames,
        }
    }
}

/// What the I/O layer must do, in the order [`NodeCore::poll_action`]
/// yields them: a `Send` to a peer comes after that peer's `Connect`, and
/// reordering two `Send`s to one peer breaks its sequence numbers.
///
/// [`NodeCore::poll_action`]: super::NodeCore::poll_action
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create a DEALER with identity `[1] + our uuid` (17 bytes, RFC 36,
    /// "Interconnection Model") and connect it.
    Connect {
        /// The peer the DEALER is for; later actions name it by this.
        peer: Uuid,
        /// The peer's inbox, `tcp://ip:port`.
        endpoint: String,
        /// CURVE mode only: the peer's 32-byte public key, which the
        /// DEALER must use as its CURVE server key (`ZMQ_CURVE_SERVERKEY`,
        /// as Zyre's `zyre_peer_connect`), with our own key pair as client
        /// keys. `None` in plain mode: connect without security.
        curve_server_key: Option<[u8; 32]>,
    },
    /// Send `header` then each content frame on the peer's DEALER, as one
    /// multipart message.
    Send {
        /// The peer whose DEALER it goes on.
        peer: Uuid,
        /// The ZRE header frame, ready to send. Give the buffer back with
        /// [`NodeCore::recycle_header`](super::NodeCore::recycle_header)
        /// once sent, and the next message is emitted into it.
        header: Vec<u8>,
        /// The content frames of a WHISPER or SHOUT; `None` for every
        /// other message.
        content: Option<Content>,
    },
    /// Close the peer's DEALER (after it has flushed what it holds).
    Disconnect {
        /// The peer whose DEALER to close.
        peer: Uuid,
    },
    /// The DEALER connected for `from` now serves peer `to`: the peer at
    /// that endpoint answered with another UUID (`from` was a stale
    /// announcement, or `to` restarted at `from`'s endpoint). Keeping the
    /// one connection means the remote never sees a second link with our
    /// identity, so neither side restarts the other.
    Relink {
        /// The UUID the DEALER was connected for.
        from: Uuid,
        /// The UUID it serves from now on.
        to: Uuid,
    },
    /// Find out whether anything still listens at the peer's inbox: a TCP
    /// connect to `endpoint` (`tcp://IP:PORT`), closed at once. A refusal
    /// (ECONNREFUSED) goes back as [`NodeCore::handle_link_refused`] with
    /// this `probe`; an answer, a timeout or an unreachable network go
    /// back as [`NodeCore::handle_link_answered`] (or not at all).
    ///
    /// [`NodeCore::handle_link_refused`]: super::NodeCore::handle_link_refused
    /// [`NodeCore::handle_link_answered`]: super::NodeCore::handle_link_answered
    Probe {
        /// The peer whose inbox is probed.
        peer: Uuid,
        /// Its inbox, `tcp://IP:PORT`.
        endpoint: String,
        /// Which probe this is, to match the answer to it.
        probe: u64,
    },
    /// Broadcast this beacon (or send it to the multicast group) on the
    /// beacon port. After [`NodeCore::stop`](super::NodeCore::stop) a
    /// port-0 beacon, if beacons are on, is the last action.
    Beacon(Beacon),
}
