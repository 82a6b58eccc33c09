//! ZGossip messages (czmq's `zgossip_msg.xml`): signature `AA A0`, message
//! id, version 1, then the fields. Only PUBLISH has fields: key (`string`),
//! value (`longstr`) and TTL in milliseconds (u32).

use super::WireError;
use super::primitives::{
    longstr, number1, number4, put_longstr, put_number1, put_number4, put_string, signature, string,
};

pub const SIGNATURE: &[u8; 2] = &[0xAA, 0xA0];
pub const VERSION: u8 = 1;

/// The message ids of `zgossip_msg.xml`, as ZRE's are [`super::MessageId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum GossipMessageId {
    /// A client (or a remote server) says hello; the server then sends it
    /// every tuple it holds.
    Hello = 1,
    /// A tuple: key, value and TTL.
    Publish = 2,
    /// Are you there?
    Ping = 3,
    /// The answer to PING.
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GossipMessage<'a> {
    Hello,
    Publish { key: &'a str, value: &'a str, ttl: u32 },
    Ping,
    Pong,
    Invalid,
}

impl<'a> GossipMessage<'a> {
    pub fn id(&self) -> GossipMessageId {
        match self {
            GossipMessage::Hello => GossipMessageId::Hello,
            GossipMessage::Publish { .. } => GossipMessageId::Publish,
            GossipMessage::Ping => GossipMessageId::Ping,
            GossipMessage::Pong => GossipMessageId::Pong,
            GossipMessage::Invalid => GossipMessageId::Invalid,
        }
    }

    pub fn name(&self) -> &'static str {
        self.id().name()
    }

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

    pub fn to_bytes(&self) -> Result<Vec<u8>, WireError> {
        let mut out = Vec::with_capacity(64);
        self.emit(&mut out)?;
        Ok(out)
    }
}
