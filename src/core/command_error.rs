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
    /// A frame of the content is `bytes` long, over `max`, the largest a
    /// frame may be ([`CoreConfig::max_message_size`](super::CoreConfig::max_message_size),
    /// in bytes). A zre peer's inbox, at the same limit, would drop the
    /// connection it came on (libzmq's `ZMQ_MAXMSGSIZE` counts each frame
    /// alone), and with it what we send next until the two greet again,
    /// so nothing of the message is sent.
    TooLarge {
        /// The frame's length, in bytes.
        bytes: usize,
        /// The limit, in bytes.
        max: usize,
    },
}

impl CommandError {
    /// [`CommandError::TooLarge`] for the first of `frames` (lengths in
    /// bytes) over `max`, the frame limit; what
    /// [`NodeCore::check_content`](super::NodeCore::check_content) checks,
    /// for a caller that holds the limit itself.
    pub fn check_frame_sizes(
        frames: impl IntoIterator<Item = usize>,
        max: usize,
    ) -> Result<(), CommandError> {
        match frames.into_iter().find(|&bytes| bytes > max) {
            Some(bytes) => Err(CommandError::TooLarge { bytes, max }),
            None => Ok(()),
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::UnknownPeer(uuid) => write!(f, "unknown peer {}", uuid.simple()),
            CommandError::InvalidGroup(group) => {
                write!(f, "invalid group name {group:?}: must be 1 to 255 bytes")
            }
            CommandError::Stopped => write!(f, "the node has stopped"),
            CommandError::TooLarge { bytes, max } => write!(
                f,
                "a frame of {bytes} bytes is over the limit of {max} (max_message_size): a peer with that limit would drop the connection, so nothing was sent; split the content, or raise max_message_size on every node"
            ),
        }
    }
}

impl std::error::Error for CommandError {}
