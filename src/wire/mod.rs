//! Wire formats: the exact bytes of every beacon, ZRE message and ZGossip
//! message. Each format has a typed representation with `parse` and `emit`
//! and nothing else: no sockets, no state, no policy.
//!
//! Every parser takes untrusted bytes. It never panics, and it never sizes
//! an allocation from a length or count before checking that the bytes are
//! actually there.

pub mod beacon;
pub mod gossip_msg;
pub mod zre_msg;

mod primitives;

pub use beacon::Beacon;
pub use gossip_msg::{GossipMessage, GossipMessageId};
pub use zre_msg::{Body, HEADER_LEN, Header, Hello, MessageId, ZreMessage};

use std::fmt;

/// What was wrong with a frame, or with a value that cannot be emitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The leading signature bytes are not those of this format.
    BadSignature { expected: &'static [u8], found: Vec<u8> },
    /// The message id is not one this format defines.
    UnknownId { id: u8 },
    /// The version byte is not one we speak.
    UnsupportedVersion { found: u8 },
    /// The frame ended in the middle of a field.
    Truncated { field: &'static str },
    /// A count announces more items than the remaining bytes could hold.
    CountTooLarge {
        field: &'static str,
        count: u32,
        remaining: usize,
    },
    /// The frame has a length this format never has.
    InvalidLength { expected: &'static str, found: usize },
    /// A text field is not valid UTF-8.
    InvalidUtf8 { field: &'static str },
    /// A value is too long for its length prefix (emit side).
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::BadSignature { expected, found } => {
                write!(f, "bad signature: expected {expected:02x?}, found {found:02x?}")
            }
            WireError::UnknownId { id } => write!(f, "unknown message id {id}"),
            WireError::UnsupportedVersion { found } => write!(f, "unsupported version {found}"),
            WireError::Truncated { field } => write!(f, "truncated frame: field `{field}` incomplete"),
            WireError::CountTooLarge {
                field,
                count,
                remaining,
            } => write!(
                f,
                "count {count} in `{field}` is larger than the {remaining} bytes left could hold"
            ),
            WireError::InvalidLength { expected, found } => {
                write!(f, "invalid length {found} bytes, expected {expected}")
            }
            WireError::InvalidUtf8 { field } => write!(f, "field `{field}` is not valid UTF-8"),
            WireError::TooLong { field, len, max } => {
                write!(f, "field `{field}` is {len} bytes, at most {max} fit")
            }
        }
    }
}

impl std::error::Error for WireError {}
