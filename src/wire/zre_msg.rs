//! ZRE messages (RFC 36, "TCP Protocol Grammar" and "ZRE Commands"; Zyre's
//! `src/zre_msg.xml`). A ZRE message is one ZeroMQ multipart message; this
//! module owns frame 0, the header frame: signature `AA A1`, message id,
//! version 2, sequence (u16, big-endian), then the fields of that id.
//! WHISPER and SHOUT carry their content in the frames after it, which are
//! opaque bytes and never pass through here.
//!
//! RFC 36 defines ids 1 to 7; ELECT (8), LEADER (9) and GOODBYE (10) come
//! from Zyre 2.0's `zre_msg.xml`, which peers of that generation send.
//! The no-panic contract of [`crate::wire`] holds for every `parse` here.

use super::WireError;
use super::primitives::{
    hash, number1, number2, put_hash, put_number1, put_string, put_strings, signature, string, strings,
};

/// The two bytes every ZRE header frame starts with (RFC 36, "Protocol
/// Signature"): zproto's `AA A0` with ZRE's signature number 1.
pub const SIGNATURE: &[u8; 2] = &[0xAA, 0xA1];
/// The protocol version byte (RFC 36, "Versioning"). A frame with any other
/// is refused: "there is no mechanism for backwards interoperability".
pub const VERSION: u8 = 2;
/// Signature, id, version and sequence.
pub const HEADER_LEN: usize = 6;

/// The message ids of `zre_msg.xml`; the discriminant is the id byte
/// (`MessageId::Shout as u8 == 3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageId {
    /// Greets a peer so it can connect back; the first message on a link.
    Hello = 1,
    /// A message to one peer.
    Whisper = 2,
    /// A message to every peer in a group.
    Shout = 3,
    /// The sender joined a group.
    Join = 4,
    /// The sender left a group.
    Leave = 5,
    /// Are you there? Sent to a peer that has gone silent.
    Ping = 6,
    /// The answer to PING.
    PingOk = 7,
    /// A leader election in a group: the sender's challenger (Zyre only).
    Elect = 8,
    /// A leader election in a group: its outcome (Zyre only).
    Leader = 9,
    /// The sender is leaving (Zyre only).
    Goodbye = 10,
}

impl MessageId {
    /// The id of a known message; `None` for any other byte.
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

    /// The message's name as RFC 36 and `zre_msg.xml` spell it (`PING-OK`).
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
    /// The message id byte, not checked against [`MessageId`].
    pub id: u8,
    /// The sender's cyclic sequence number on this link: HELLO is 1 and
    /// each later message one more (RFC 36, "ZRE Commands"). Zyre wraps
    /// 65535 to 0; pyre and zyre.js wrap 65534 to 0.
    pub sequence: u16,
}

impl Header {
    /// Reads the six header bytes of `frame` and ignores the rest.
    ///
    /// # Errors
    ///
    /// [`WireError::Truncated`] for a frame under [`HEADER_LEN`] bytes,
    /// [`WireError::BadSignature`], [`WireError::UnsupportedVersion`]. An
    /// unknown id is not an error here.
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

    /// Writes `sequence` over the sequence number of an emitted message
    /// (bytes 4 and 5, as [`Header::to_bytes`] puts them); a frame shorter
    /// than [`HEADER_LEN`] is left as it is.
    pub fn restamp(frame: &mut [u8], sequence: u16) {
        if let Some(field) = frame.get_mut(4..HEADER_LEN) {
            field.copy_from_slice(&sequence.to_be_bytes());
        }
    }
}

/// The fields of HELLO (RFC 36, "The HELLO Command"), borrowed from the
/// frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello<'a> {
    /// The endpoint the sender's inbox can be reached on, `tcp://ip:port`
    /// (`string`, at most 255 bytes).
    pub endpoint: &'a str,
    /// The groups the sender is in (`strings`), in its order.
    pub groups: Vec<&'a str>,
    /// The sender's group status: a counter it increments, wrapping, on
    /// each JOIN and LEAVE it sends, so a receiver can check that it has
    /// seen them all.
    pub status: u8,
    /// The sender's public name (`string`).
    pub name: &'a str,
    /// The sender's header properties (`hash`: `string` key, `longstr`
    /// value), in its order; keys may repeat on the wire.
    pub headers: Vec<(&'a str, &'a str)>,
}

/// The fields after the header, one variant per [`MessageId`]. Text
/// fields are `string`s (at most 255 bytes) borrowed from the frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body<'a> {
    /// HELLO: who the sender is and where to reach it. Boxed: its fields
    /// take several times the room of any other body's, and every message
    /// parsed (a WHISPER or SHOUT, mostly) would move that size around.
    Hello(Box<Hello<'a>>),
    /// WHISPER: no fields; the content is in the frames after the header.
    Whisper,
    /// SHOUT; the content is in the frames after the header.
    Shout {
        /// The group it was sent to.
        group: &'a str,
    },
    /// JOIN (RFC 36, "The JOIN Command").
    Join {
        /// The group joined; names are case-sensitive.
        group: &'a str,
        /// The sender's group status after joining (see [`Hello::status`]).
        status: u8,
    },
    /// LEAVE (RFC 36, "The LEAVE Command").
    Leave {
        /// The group left.
        group: &'a str,
        /// The sender's group status after leaving (see [`Hello::status`]).
        status: u8,
    },
    /// PING: no fields.
    Ping,
    /// PING-OK: no fields.
    PingOk,
    /// ELECT (`zre_msg.xml`, Zyre's leader election).
    Elect {
        /// The group holding the election.
        group: &'a str,
        /// The `challenger_id` field: the UUID, as text, of the candidate
        /// the sender supports (Zyre sends 32 hex digits).
        challenger: &'a str,
    },
    /// LEADER (`zre_msg.xml`, Zyre's leader election).
    Leader {
        /// The group that elected a leader.
        group: &'a str,
        /// The `leader_id` field: the UUID, as text, of the leader.
        leader: &'a str,
    },
    /// GOODBYE: no fields.
    Goodbye,
}

impl Body<'_> {
    /// The id this body is sent with.
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
    /// The sender's sequence number (see [`Header::sequence`]).
    pub sequence: u16,
    /// The id and its fields.
    pub body: Body<'a>,
}

impl<'a> ZreMessage<'a> {
    /// A message with this sequence number and body.
    pub fn new(sequence: u16, body: Body<'a>) -> Self {
        ZreMessage { sequence, body }
    }

    /// The message id, from the body.
    pub fn id(&self) -> MessageId {
        self.body.id()
    }

    /// Parses a header frame. Bytes after the last field are ignored, as
    /// zproto codecs do, so that a later protocol revision may append fields.
    ///
    /// # Errors
    ///
    /// Those of [`Header::parse`]; [`WireError::UnknownId`]; and for the
    /// fields [`WireError::Truncated`], [`WireError::InvalidUtf8`] or, for
    /// HELLO's `groups` and `headers`, [`WireError::CountTooLarge`].
    pub fn parse(frame: &'a [u8]) -> Result<ZreMessage<'a>, WireError> {
        Self::parse_body(Header::parse(frame)?, frame)
    }

    /// The rest of `parse`, for a frame whose [`Header`] the caller has
    /// already parsed (to read the sequence of any message, known or not).
    ///
    /// # Errors
    ///
    /// As [`ZreMessage::parse`], less the header's; a `frame` shorter than
    /// [`HEADER_LEN`] (not the one `header` was parsed from) is
    /// [`WireError::Truncated`].
    pub fn parse_body(header: Header, frame: &'a [u8]) -> Result<ZreMessage<'a>, WireError> {
        let id = MessageId::from_u8(header.id).ok_or(WireError::UnknownId { id: header.id })?;
        let rest = frame
            .get(HEADER_LEN..)
            .ok_or(WireError::Truncated { field: "header" })?;
        let body = match id {
            MessageId::Hello => {
                let (rest, endpoint) = string(rest, "endpoint")?;
                let (rest, groups) = strings(rest, "groups")?;
                let (rest, status) = number1(rest, "status")?;
                let (rest, name) = string(rest, "name")?;
                let (_, headers) = hash(rest, "headers")?;
                Body::Hello(Box::new(Hello {
                    endpoint,
                    groups,
                    status,
                    name,
                    headers,
                }))
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

    /// [`ZreMessage::emit`] into a new buffer.
    pub fn to_bytes(&self) -> Result<Vec<u8>, WireError> {
        let mut out = Vec::with_capacity(64);
        self.emit(&mut out)?;
        Ok(out)
    }
}
