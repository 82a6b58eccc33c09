//! ZRE messages (RFC 36, and Zyre's `zre_msg.xml`). A ZRE message is one
//! ZeroMQ multipart message; this module owns frame 0, the header frame:
//! signature `AA A1`, message id, version 2, sequence (u16), then the
//! fields of that id. WHISPER and SHOUT carry their content in the frames
//! after it, which are opaque bytes and never pass through here.

use super::WireError;
use super::primitives::{
    hash, number1, number2, put_hash, put_number1, put_string, put_strings, signature, string, strings,
};

pub const SIGNATURE: &[u8; 2] = &[0xAA, 0xA1];
pub const VERSION: u8 = 2;
/// Signature, id, version and sequence.
pub const HEADER_LEN: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageId {
    Hello = 1,
    Whisper = 2,
    Shout = 3,
    Join = 4,
    Leave = 5,
    Ping = 6,
    PingOk = 7,
    Elect = 8,
    Leader = 9,
    Goodbye = 10,
}

impl MessageId {
    pub fn from_u8(id: u8) -> Option<MessageId> {
        use MessageId::*;
        Some(match id {
            1 => Hello,
            2 => Whisper,
            3 => Shout,
            4 => Join,
            5 => Leave,
            6 => Ping,
            7 => PingOk,
            8 => Elect,
            9 => Leader,
            10 => Goodbye,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        use MessageId::*;
        match self {
            Hello => "HELLO",
            Whisper => "WHISPER",
            Shout => "SHOUT",
            Join => "JOIN",
            Leave => "LEAVE",
            Ping => "PING",
            PingOk => "PING-OK",
            Elect => "ELECT",
            Leader => "LEADER",
            Goodbye => "GOODBYE",
        }
    }
}

/// The part every ZRE message shares. Parsed on its own so that a message
/// with an id we do not know still tells us its sequence number: a peer must
/// not be reset because it speaks a newer dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub id: u8,
    pub sequence: u16,
}

impl Header {
    pub fn parse(frame: &[u8]) -> Result<Header, WireError> {
        let (rest, ()) = signature(frame, SIGNATURE)?;
        let (rest, id) = number1(rest, "id")?;
        let (rest, version) = number1(rest, "version")?;
        if version != VERSION {
            return Err(WireError::UnsupportedVersion { found: version });
        }
        let (_, sequence) = number2(rest, "sequence")?;
        Ok(Header { id, sequence })
    }

    /// The six bytes every message starts with. A WHISPER's header frame
    /// is exactly these.
    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let [high, low] = self.sequence.to_be_bytes();
        [SIGNATURE[0], SIGNATURE[1], self.id, VERSION, high, low]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello<'a> {
    /// The endpoint the sender's inbox can be reached on, `tcp://ip:port`.
    pub endpoint: &'a str,
    pub groups: Vec<&'a str>,
    pub status: u8,
    pub name: &'a str,
    pub headers: Vec<(&'a str, &'a str)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body<'a> {
    Hello(Hello<'a>),
    Whisper,
    Shout { group: &'a str },
    Join { group: &'a str, status: u8 },
    Leave { group: &'a str, status: u8 },
    Ping,
    PingOk,
    Elect { group: &'a str, challenger: &'a str },
    Leader { group: &'a str, leader: &'a str },
    Goodbye,
}

impl Body<'_> {
    pub fn id(&self) -> MessageId {
        match self {
            Body::Hello(_) => MessageId::Hello,
            Body::Whisper => MessageId::Whisper,
            Body::Shout { .. } => MessageId::Shout,
            Body::Join { .. } => MessageId::Join,
            Body::Leave { .. } => MessageId::Leave,
            Body::Ping => MessageId::Ping,
            Body::PingOk => MessageId::PingOk,
            Body::Elect { .. } => MessageId::Elect,
            Body::Leader { .. } => MessageId::Leader,
            Body::Goodbye => MessageId::Goodbye,
        }
    }
}

/// The header frame of one ZRE message, borrowing its text from the frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZreMessage<'a> {
    pub sequence: u16,
    pub body: Body<'a>,
}

impl<'a> ZreMessage<'a> {
    pub fn new(sequence: u16, body: Body<'a>) -> Self {
        ZreMessage { sequence, body }
    }

    pub fn id(&self) -> MessageId {
        self.body.id()
    }

    /// Parses a header frame. Bytes after the last field are ignored, as
    /// zproto codecs do, so that a later protocol revision may append fields.
    pub fn parse(frame: &'a [u8]) -> Result<ZreMessage<'a>, WireError> {
        Self::parse_body(Header::parse(frame)?, frame)
    }

    /// The rest of `parse`, for a frame whose [`Header`] the caller has
    /// already parsed (to read the sequence of any message, known or not).
    pub fn parse_body(header: Header, frame: &'a [u8]) -> Result<ZreMessage<'a>, WireError> {
        let id = MessageId::from_u8(header.id).ok_or(WireError::UnknownId { id: header.id })?;
        let rest = &frame[HEADER_LEN..];
        let body = match id {
            MessageId::Hello => {
                let (rest, endpoint) = string(rest, "endpoint")?;
                let (rest, groups) = strings(rest, "groups")?;
                let (rest, status) = number1(rest, "status")?;
                let (rest, name) = string(rest, "name")?;
                let (_, headers) = hash(rest, "headers")?;
                Body::Hello(Hello {
                    endpoint,
                    groups,
                    status,
                    name,
                    headers,
                })
            }
            MessageId::Whisper => Body::Whisper,
            MessageId::Shout => Body::Shout {
                group: string(rest, "group")?.1,
            },
            MessageId::Join | MessageId::Leave => {
                let (rest, group) = string(rest, "group")?;
                let (_, status) = number1(rest, "status")?;
                if id == MessageId::Join {
                    Body::Join { group, status }
                } else {
                    Body::Leave { group, status }
                }
            }
            MessageId::Ping => Body::Ping,
            MessageId::PingOk => Body::PingOk,
            MessageId::Elect => {
                let (rest, group) = string(rest, "group")?;
                let (_, challenger) = string(rest, "challenger_id")?;
                Body::Elect { group, challenger }
            }
            MessageId::Leader => {
                let (rest, group) = string(rest, "group")?;
                let (_, leader) = string(rest, "leader_id")?;
                Body::Leader { group, leader }
            }
            MessageId::Goodbye => Body::Goodbye,
        };
        Ok(ZreMessage {
            sequence: header.sequence,
            body,
        })
    }

    /// Appends the header frame to `out`. Fails, writing a partial frame,
    /// if a `string` field is longer than 255 bytes: callers emit into a
    /// scratch buffer they clear on error.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        // The fixed part in one copy: WHISPER and SHOUT, the hot path, are
        // little more than this.
        let header = Header {
            id: self.id() as u8,
            sequence: self.sequence,
        };
        out.extend_from_slice(&header.to_bytes());
        match &self.body {
            Body::Hello(hello) => {
                put_string(out, hello.endpoint, "endpoint")?;
                put_strings(out, &hello.groups, "groups")?;
                put_number1(out, hello.status);
                put_string(out, hello.name, "name")?;
                put_hash(out, &hello.headers, "headers")?;
            }
            Body::Whisper | Body::Ping | Body::PingOk | Body::Goodbye => {}
            Body::Shout { group } => put_string(out, group, "group")?,
            Body::Join { group, status } | Body::Leave { group, status } => {
                put_string(out, group, "group")?;
                put_number1(out, *status);
            }
            Body::Elect { group, challenger } => {
                put_string(out, group, "group")?;
                put_string(out, challenger, "challenger_id")?;
            }
            Body::Leader { group, leader } => {
                put_string(out, group, "group")?;
                put_string(out, leader, "leader_id")?;
            }
        }
        Ok(())
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, WireError> {
        let mut out = Vec::with_capacity(64);
        self.emit(&mut out)?;
        Ok(out)
    }
}
