//! Wire formats: the exact bytes of every beacon, ZRE message and ZGossip
//! message. Each format has one typed representation with `parse` and
//! `emit` and nothing else: no sockets, no state, no policy.
//!
//! | Format | Carried in | Starts with | Source |
//! |---|---|---|---|
//! | [`Beacon`] | one UDP datagram (port 5670) | `ZRE`, version 1 or 3 | RFC 36, "Node Discovery and Interconnection" |
//! | [`ZreMessage`] | frame 0 of a ZeroMQ message, DEALER to ROUTER | `AA A1`, id, version 2 | RFC 36, "ZRE Commands"; Zyre `src/zre_msg.xml` |
//! | [`GossipMessage`] | one ZeroMQ frame, DEALER to ROUTER (TCP 31337) | `AA A0`, id, version 1 | czmq `src/zgossip_msg.xml` |
//! | [`CurveKey`] | 32 bytes in a version-3 beacon; 40 chars of Z85 in HELLO's `X-PUBLICKEY` and in gossip values | — | Zyre `src/zyre_node.c` (CURVE mode); ZeroMQ RFC 32 (Z85) |
//! | [`RawGossip`] | the same frame, PUBLISH's key as bytes; [`GossipDialect`] translates haskell-zre's dialect | `AA A0`, id, version 1 | haskell-zre `src/Data/ZGossip.hs` |
//!
//! The two zproto codecs share their field encodings: numbers are
//! big-endian; `string` is a u8 length then UTF-8 (so at most 255 bytes);
//! `longstr` a u32 length then UTF-8; `strings` a u32 count of `longstr`;
//! `hash` a u32 count of (`string` key, `longstr` value).
//!
//! # No panics, no allocation sized by the sender
//!
//! Every `parse` takes untrusted bytes: a datagram from anyone on the LAN,
//! a frame from any TCP client. For every input it returns the value or a
//! [`WireError`] naming the field at fault. It never panics, and it never
//! sizes an allocation from a length or count before checking that the
//! bytes are actually there: a `strings` or `hash` count is checked against
//! the bytes left, given the smallest encoding of one item, so an 11-byte
//! HELLO announcing four billion groups fails with
//! [`WireError::CountTooLarge`] having allocated nothing. Text is borrowed
//! from the frame (`&str`), never copied.
//!
//! Parsing is as lenient as the zproto codecs of Zyre and czmq, on
//! purpose: bytes after the last field are ignored, so that a later
//! revision of a protocol may append fields. It is strict about what those
//! codecs reject: signature, version, UTF-8 and every length.
//!
//! `emit` appends to a caller's `Vec<u8>` (so one buffer can be reused for
//! every message) and fails only with [`WireError::TooLong`], when a value
//! does not fit its length prefix; `out` may then hold a partial frame.

pub mod beacon;
pub mod curve_key;
pub mod gossip_dialect;
pub mod gossip_msg;
mod hex;
pub mod zre_msg;

mod primitives;

pub use beacon::Beacon;
pub use curve_key::CurveKey;
pub use gossip_dialect::{GossipDialect, RawGossip};
pub use gossip_msg::{GossipMessage, GossipMessageId};
pub use hex::Hex;
pub use zre_msg::{Body, HEADER_LEN, Header, Hello, MessageId, ZreMessage};

use std::fmt;

/// What was wrong with a frame, or with a value that cannot be emitted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// The leading signature bytes are not those of this format.
    BadSignature {
        /// The signature of the format being parsed (`ZRE`, `AA A1`, `AA A0`).
        expected: &'static [u8],
        /// The bytes found in its place (2 or 3 bytes, never more).
        found: Vec<u8>,
    },
    /// The message id is not one this format defines.
    UnknownId {
        /// The id byte as received.
        id: u8,
    },
    /// The version byte is not one we speak.
    UnsupportedVersion {
        /// The version byte as received.
        found: u8,
    },
    /// The frame ended in the middle of a field.
    Truncated {
        /// The field's name (`groups`, `key`, `uuid`, …).
        field: &'static str,
    },
    /// A count announces more items than the remaining bytes could hold.
    CountTooLarge {
        /// The `strings` or `hash` field.
        field: &'static str,
        /// The number of items it announced.
        count: u32,
        /// The bytes left in the frame after the count.
        remaining: usize,
    },
    /// The frame has a length this format never has.
    InvalidLength {
        /// The lengths the format allows, in words (`"22 or 54"`).
        expected: &'static str,
        /// The length received, in bytes.
        found: usize,
    },
    /// A text field is not valid UTF-8.
    InvalidUtf8 {
        /// The field's name (`groups`, `key`, `uuid`, …).
        field: &'static str,
    },
    /// A value is too long for its length prefix (emit side).
    TooLong {
        /// The field's name (`groups`, `key`, `uuid`, …).
        field: &'static str,
        /// The value's length in bytes, or its number of items.
        len: usize,
        /// The most its prefix can announce: 255 for `string`, `u32::MAX`
        /// for the others.
        max: usize,
    },
    /// Text that should be a Z85 CURVE key (40 characters, ZeroMQ RFC 32)
    /// has a character outside the Z85 alphabet, or a 5-character group
    /// worth more than four bytes.
    BadKeyText,
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
            WireError::BadKeyText => write!(f, "not a Z85 CURVE key"),
        }
    }
}

impl std::error::Error for WireError {}
