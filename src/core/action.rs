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
    Owned(Vec<Frame>),
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

/// What the I/O layer must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create a DEALER with identity `[1] + our uuid` and connect it.
    Connect { peer: Uuid, endpoint: String },
    /// Send `header` then each content frame on the peer's DEALER.
    Send {
        peer: Uuid,
        header: Vec<u8>,
        content: Option<Content>,
    },
    /// Close the peer's DEALER (after it has flushed what it holds).
    Disconnect { peer: Uuid },
    /// The DEALER connected for `from` now serves peer `to`: the peer at
    /// that endpoint answered with another UUID (`from` was a stale
    /// announcement, or `to` restarted at `from`'s endpoint). Keeping the
    /// one connection means the remote never sees a second link with our
    /// identity, so neither side restarts the other.
    Relink { from: Uuid, to: Uuid },
    /// Find out whether anything still listens at the peer's inbox: a TCP
    /// connect to `endpoint` (`tcp://IP:PORT`), closed at once. A refusal
    /// (ECONNREFUSED) goes back as [`NodeCore::handle_link_refused`] with
    /// this `probe`; an answer, a timeout or an unreachable network go
    /// back as [`NodeCore::handle_link_answered`] (or not at all).
    ///
    /// [`NodeCore::handle_link_refused`]: super::NodeCore::handle_link_refused
    /// [`NodeCore::handle_link_answered`]: super::NodeCore::handle_link_answered
    Probe {
        peer: Uuid,
        endpoint: String,
        probe: u64,
    },
    /// Broadcast this beacon.
    Beacon(Beacon),
}
