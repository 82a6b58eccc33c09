//! What the core asks its I/O layer to do: [`Action`]s, and the message
//! content they carry.

use super::endpoint::Endpoint;
use super::event::Frame;
use crate::wire::{Beacon, Header};
use smallvec::SmallVec;
use std::fmt;
use std::sync::Arc;
use uuid::Uuid;

/// Header frames of up to this many bytes are held inline: a WHISPER's
/// (6 bytes), a SHOUT's to a group name of up to 33 bytes, PING, JOIN and
/// LEAVE to such groups. Longer ones (HELLO, long group names) are on the
/// heap.
pub const INLINE_HEADER: usize = 40;

/// A header frame to send, by value: held inline up to
/// [`INLINE_HEADER`] bytes, so that queueing a message allocates nothing
/// and the I/O layer just drops it once libzmq has copied it. No buffer
/// goes back to the core. Derefs to the bytes.
#[derive(Default, PartialEq, Eq)]
pub struct HeaderFrame(SmallVec<[u8; INLINE_HEADER]>);

impl Clone for HeaderFrame {
    /// One copy of the bytes: smallvec's own `clone` goes through an
    /// iterator, about 150 instructions for a SHOUT header (callgrind).
    fn clone(&self) -> Self {
        HeaderFrame::from_slice(&self.0)
    }
}

impl HeaderFrame {
    /// A header frame holding a copy of `bytes`.
    pub fn from_slice(bytes: &[u8]) -> Self {
        HeaderFrame(SmallVec::from_slice(bytes))
    }

    /// Stamps another sequence number on a ZRE header frame (see
    /// [`Header::restamp`]), so that one SHOUT header serves every member.
    pub fn restamp(&mut self, sequence: u16) {
        Header::restamp(&mut self.0, sequence);
    }
}

impl std::ops::Deref for HeaderFrame {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for HeaderFrame {
    /// Takes the vector over (inline when it is short enough).
    fn from(bytes: Vec<u8>) -> Self {
        HeaderFrame(SmallVec::from_vec(bytes))
    }
}

impl fmt::Debug for HeaderFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0[..], f)
    }
}

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
        /// The peer's inbox: its text (`tcp://ip:port`) is what to connect
        /// to.
        endpoint: Endpoint,
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
        /// The ZRE header frame, ready to send (by value: nothing to give
        /// back).
        header: HeaderFrame,
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
    /// connect to `endpoint` (`tcp://IP:PORT`), then a watch of that
    /// connection for a while (ours: 2 s). A refusal (ECONNREFUSED), or a
    /// reset or end of stream on the connection, goes back as
    /// [`NodeCore::handle_link_refused`] with this `probe`; a
    /// connection on which nothing came (no ZMTP greeting) as
    /// [`NodeCore::handle_link_silent`]; a greeting, a timeout or an
    /// unreachable network as [`NodeCore::handle_link_answered`] (or not
    /// at all).
    ///
    /// [`NodeCore::handle_link_refused`]: super::NodeCore::handle_link_refused
    /// [`NodeCore::handle_link_silent`]: super::NodeCore::handle_link_silent
    /// [`NodeCore::handle_link_answered`]: super::NodeCore::handle_link_answered
    Probe {
        /// The peer whose inbox is probed.
        peer: Uuid,
        /// Its inbox ([`Endpoint::socket_addr`] is where to connect; the
        /// probe cannot be made for a host name).
        endpoint: Endpoint,
        /// Which probe this is, to match the answer to it.
        probe: u64,
    },
    /// Broadcast this beacon (or send it to the multicast group) on the
    /// beacon port. After [`NodeCore::stop`](super::NodeCore::stop) a
    /// port-0 beacon, if beacons are on, is the last action.
    Beacon(Beacon),
}
