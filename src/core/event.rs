//! What a node tells its application.

use std::fmt;
use std::sync::Arc;
use uuid::Uuid;

/// One frame of message content: opaque bytes.
pub type Frame = Vec<u8>;

/// A peer's header properties, in the order the peer sent them.
pub type Headers = Vec<(String, String)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A peer said HELLO: it is now known and can be whispered to.
    Enter {
        peer: Uuid,
        name: Arc<str>,
        headers: Headers,
        endpoint: String,
    },
    /// A peer left, was lost, or timed out.
    Exit { peer: Uuid, name: Arc<str> },
    Join {
        peer: Uuid,
        name: Arc<str>,
        group: Arc<str>,
    },
    Leave {
        peer: Uuid,
        name: Arc<str>,
        group: Arc<str>,
    },
    Whisper {
        peer: Uuid,
        name: Arc<str>,
        content: Vec<Frame>,
    },
    Shout {
        peer: Uuid,
        name: Arc<str>,
        group: Arc<str>,
        content: Vec<Frame>,
    },
    /// A peer has been silent for the evasive timeout; it is being pinged.
    Evasive { peer: Uuid, name: Arc<str> },
    /// A peer has not answered a ping for a further reap interval.
    Silent { peer: Uuid, name: Arc<str> },
    /// A peer (possibly ourselves) was elected leader of a group.
    Leader {
        peer: Uuid,
        name: Arc<str>,
        group: Arc<str>,
    },
    /// The node has stopped; no further events follow.
    Stop,
}

impl Event {
    /// The event type as Zyre names it (`ENTER`, `SHOUT`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Enter { .. } => "ENTER",
            Event::Exit { .. } => "EXIT",
            Event::Join { .. } => "JOIN",
            Event::Leave { .. } => "LEAVE",
            Event::Whisper { .. } => "WHISPER",
            Event::Shout { .. } => "SHOUT",
            Event::Evasive { .. } => "EVASIVE",
            Event::Silent { .. } => "SILENT",
            Event::Leader { .. } => "LEADER",
            Event::Stop => "STOP",
        }
    }

    /// The peer the event is about, if any.
    pub fn peer(&self) -> Option<Uuid> {
        match self {
            Event::Enter { peer, .. }
            | Event::Exit { peer, .. }
            | Event::Join { peer, .. }
            | Event::Leave { peer, .. }
            | Event::Whisper { peer, .. }
            | Event::Shout { peer, .. }
            | Event::Evasive { peer, .. }
            | Event::Silent { peer, .. }
            | Event::Leader { peer, .. } => Some(*peer),
            Event::Stop => None,
        }
    }

    /// The name of the peer the event is about, if any.
    pub fn peer_name(&self) -> Option<&str> {
        match self {
            Event::Enter { name, .. }
            | Event::Exit { name, .. }
            | Event::Join { name, .. }
            | Event::Leave { name, .. }
            | Event::Whisper { name, .. }
            | Event::Shout { name, .. }
            | Event::Evasive { name, .. }
            | Event::Silent { name, .. }
            | Event::Leader { name, .. } => Some(name),
            Event::Stop => None,
        }
    }

    /// The group the event is about, if any.
    pub fn group(&self) -> Option<&str> {
        match self {
            Event::Join { group, .. }
            | Event::Leave { group, .. }
            | Event::Shout { group, .. }
            | Event::Leader { group, .. } => Some(group),
            _ => None,
        }
    }

    /// The message content of a WHISPER or SHOUT.
    pub fn content(&self) -> Option<&[Frame]> {
        match self {
            Event::Whisper { content, .. } | Event::Shout { content, .. } => Some(content),
            _ => None,
        }
    }
}

/// A UUID as Zyre prints it: 32 upper-case hex digits, no dashes.
pub struct ZyreUuid(pub Uuid);

impl fmt::Display for ZyreUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0.as_bytes() {
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}
