//! ZGossip messages (czmq's `zgossip_msg.xml`): signature `AA A0`, message
//! id, version 1, then the fields. Only PUBLISH has fields: key (`string`),
//! value (`longstr`) and TTL in milliseconds (u32).

use super::WireError;
use super::primitives::{
    longstr, number1, number4, put_longstr, put_number1, put_number4, put_string, signature, string,
};

pub const SIGNATURE: &[u8; 2] = &[0xAA, 0xA0];
pub const VERSION: u8 = 1;

pub const ID_HELLO: u8 = 1;
pub const ID_PUBLISH: u8 = 2;
pub const ID_PING: u8 = 3;
pub const ID_PONG: u8 = 4;
pub const ID_INVALID: u8 = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GossipMessage<'a> {
    Hello,
    Publish { key: &'a str, value: &'a str, ttl: u32 },
    Ping,
    Pong,
    Invalid,
}

impl<'a> GossipMessage<'a> {
    pub fn id(&self) -> u8 {
        match self {
            GossipMessage::Hello => ID_HELLO,
            GossipMessage::Publish { .. } => ID_PUBLISH,
            GossipMessage::Ping => ID_PING,
            GossipMessage::Pong => ID_PONG,
            GossipMessage::Invalid => ID_INVALID,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            GossipMessage::Hello => "HELLO",
            GossipMessage::Publish { .. } => "PUBLISH",
            GossipMessage::Ping => "PING",
            GossipMessage::Pong => "PONG",
            GossipMessage::Invalid => "INVALID",
        }
    }

    pub fn parse(frame: &'a [u8]) -> Result<GossipMessage<'a>, WireError> {
        let (rest, ()) = signature(frame, SIGNATURE)?;
        let (rest, id) = number1(rest, "id")?;
        if !(ID_HELLO..=ID_INVALID).contains(&id) {
            return Err(WireError::UnknownId { id });
        }
        let (rest, version) = number1(rest, "version")?;
        if version != VERSION {
            return Err(WireError::UnsupportedVersion { found: version });
        }
        Ok(match id {
            ID_HELLO => GossipMessage::Hello,
            ID_PUBLISH => {
                let (rest, key) = string(rest, "key")?;
                let (rest, value) = longstr(rest, "value")?;
                let (_, ttl) = number4(rest, "ttl")?;
                GossipMessage::Publish { key, value, ttl }
            }
            ID_PING => GossipMessage::Ping,
            ID_PONG => GossipMessage::Pong,
            _ => GossipMessage::Invalid,
        })
    }

    /// Appends the frame to `out`; fails if the key is over 255 bytes.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        out.extend_from_slice(SIGNATURE);
        put_number1(out, self.id());
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
