//! ZGossip messages (czmq's `src/zgossip_msg.xml`): signature `AA A0`,
//! message id, version 1, then the fields. Only PUBLISH has fields: key
//! (`string`), value (`longstr`) and TTL in milliseconds (u32, big-endian).
//! Each message is one ZeroMQ frame, from a client's DEALER to a server's
//! ROUTER and back.
//!
//! The no-panic contract of [`crate::wire`] holds for [`GossipMessage::parse`].

use super::WireError;
use super::primitives::{
    longstr, number1, number4, put_longstr, put_number1, put_number4, put_string, signature, string,
};

/// The two bytes every ZGossip frame starts with: zproto's signature with
/// ZGossip's number 0.
pub const SIGNATURE: &[u8; 2] = &[0xAA, 0xA0];
/// The protocol version byte; a frame with any other is refused.
pub const VERSION: u8 = 1;

/// The message ids of `zgossip_msg.xml`, as ZRE's are [`super::MessageId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum GossipMessageId {
    /// A client (or a remote server) says hello; the server then sends it
    /// every tuple it holds.
    Hello = 1,
    /// A tuple: key, value and TTL. Either side sends it.
    Publish = 2,
    /// Are you there? A client sends it to keep the server from
    /// forgetting it.
    Ping = 3,
    /// The answer to PING. czmq does not correlate it with the PING: any
    /// traffic from the server proves it alive.
    Pong = 4,
    /// The server did not expect that message (no HELLO first).
    Invalid = 5,
}

impl GossipMessageId {
    /// The id of a known message; `None` for any other byte.
    pub fn from_u8(id: u8) -> Option<GossipMessageId> {
        use GossipMessageId::*;
        Some(match id {
            1 => Hello,
            2 => Publish,
            3 => Ping,
            4 => Pong,
            5 => Invalid,
            _ => return None,
        })
    }

    /// The message's name as `zgossip_msg.xml` spells it.
    pub fn name(self) -> &'static str {
        use GossipMessageId::*;
        match self {
            Hello => "HELLO",
            Publish => "PUBLISH",
            Ping => "PING",
            Pong => "PONG",
            Invalid => "INVALID",
        }
    }
}

/// One ZGossip frame, borrowing its text from the frame. See
/// [`GossipMessageId`] for what each message means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GossipMessage<'a> {
    /// HELLO: no fields.
    Hello,
    /// PUBLISH: one tuple.
    Publish {
        /// The tuple's key, globally unique (`string`, at most 255 bytes).
        /// A ZRE node publishes its UUID as 32 upper-case hex digits.
        key: &'a str,
        /// The tuple's value (`longstr`). A ZRE node publishes its inbox
        /// endpoint, `tcp://ip:port`.
        value: &'a str,
        /// Time to live in milliseconds; 0 means it never expires (czmq
        /// sends 0 and keeps every tuple forever).
        ttl: u32,
    },
    /// PING: no fields.
    Ping,
    /// PONG: no fields.
    Pong,
    /// INVALID: no fields.
    Invalid,
}

impl<'a> GossipMessage<'a> {
    /// The message's id.
    pub fn id(&self) -> GossipMessageId {
        match self {
            GossipMessage::Hello => GossipMessageId::Hello,
            GossipMessage::Publish { .. } => GossipMessageId::Publish,
            GossipMessage::Ping => GossipMessageId::Ping,
            GossipMessage::Pong => GossipMessageId::Pong,
            GossipMessage::Invalid => GossipMessageId::Invalid,
        }
    }

    /// The message's name as `zgossip_msg.xml` spells it (`PUBLISH`).
    pub fn name(&self) -> &'static str {
        self.id().name()
    }

    /// Parses one frame. Bytes after the last field are ignored, as zproto
    /// codecs do.
    ///
    /// # Errors
    ///
    /// [`WireError::Truncated`], [`WireError::BadSignature`],
    /// [`WireError::UnknownId`] (checked before the version, as czmq reads
    /// them), [`WireError::UnsupportedVersion`], and for PUBLISH's text
    /// [`WireError::InvalidUtf8`].
    pub fn parse(frame: &'a [u8]) -> Result<GossipMessage<'a>, WireError> {
        let (rest, ()) = signature(frame, SIGNATURE)?;
        let (rest, id) = number1(rest, "id")?;
        let Some(id) = GossipMessageId::from_u8(id) else {
            return Err(WireError::UnknownId { id });
        };
        let (rest, version) = number1(rest, "version")?;
        if version != VERSION {
            return Err(WireError::UnsupportedVersion { found: version });
        }
        Ok(match id {
            GossipMessageId::Hello => GossipMessage::Hello,
            GossipMessageId::Publish => {
                let (rest, key) = string(rest, "key")?;
                let (rest, value) = longstr(rest, "value")?;
                let (_, ttl) = number4(rest, "ttl")?;
                GossipMessage::Publish { key, value, ttl }
            }
            GossipMessageId::Ping => GossipMessage::Ping,
            GossipMessageId::Pong => GossipMessage::Pong,
            GossipMessageId::Invalid => GossipMessage::Invalid,
        })
    }

    /// Appends the frame to `out`; fails if the key is over 255 bytes.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        out.extend_from_slice(SIGNATURE);
        put_number1(out, self.id() as u8);
        put_number1(out, VERSION);
        if let GossipMessage::Publish { key, value, ttl } = self {
            put_string(out, key, "key")?;
            put_longstr(out, value, "value")?;
            put_number4(out, *ttl);
        }
        Ok(())
    }

    /// [`GossipMessage::emit`] into a new buffer.
    pub fn to_bytes(&self) -> Result<Vec<u8>, WireError> {
        let mut out = Vec::with_capacity(64);
        self.emit(&mut out)?;
        Ok(out)
    }
}
