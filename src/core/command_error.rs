//! Why a command (join, whisper, shout, …) was refused: shared by the
//! node's state machine and the group table it checks names with.

use std::fmt;
use uuid::Uuid;

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// No peer with this UUID has said HELLO (or it has left).
    UnknownPeer(Uuid),
    /// A group name must be 1 to 255 bytes.
    InvalidGroup(String),
    /// [`NodeCore::stop`](super::NodeCore::stop) was called: the node takes no more commands.
    Stopped,
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::UnknownPeer(uuid) => write!(f, "unknown peer {}", uuid.simple()),
            CommandError::InvalidGroup(group) => {
                write!(f, "invalid group name {group:?}: must be 1 to 255 bytes")
            }
            CommandError::Stopped => write!(f, "the node has stopped"),
        }
    }
}

impl std::error::Error for CommandError {}
