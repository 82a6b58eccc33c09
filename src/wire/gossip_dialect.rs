//! The two dialects of ZGossip spoken on TCP 31337, and the translation of
//! a tuple between them.
//!
//! Both use the frame of czmq's `src/zgossip_msg.xml` ([`GossipMessage`]):
//! signature `AA A0`, id, version 1, and for PUBLISH a `string` key, a
//! `longstr` value and a 4-byte TTL. They differ in what the fields mean
//! and in how frames travel (haskell-zre 0.1.5.2, `src/Data/ZGossip.hs`,
//! `src/Network/ZGossip.hs`, `src/Network/ZGossip/ZMQ.hs`):
//!
//! | | czmq / Zyre | haskell-zre |
//! |---|---|---|
//! | a ZRE node's key | its UUID as 32 upper-case hex digits | its UUID as 16 raw bytes |
//! | TTL | milliseconds, 0 = never expires | seconds, counted down once a second; the tuple goes at 0 |
//! | client to server | `[message]` | `[message]` |
//! | server to client | `[message]` | `[envelope, message]`: the envelope is the client's identity, the client ignores it but requires exactly two frames |
//! | client's ZMQ identity | libzmq's (5 bytes, first 0) | its raw UUID |
//! | server forwards a PUBLISH to | every other client | only clients whose identity equals a stored key |
//! | client pings | every second | never; re-publishes every 50 s with TTL 600 s |
//!
//! The parsers here never panic (the contract of [`crate::wire`]).

use std::borrow::Cow;
use std::time::Duration;

use super::primitives::{bytes, longstr, number1, number4, put_longstr, put_number1, put_number4, signature};
use super::{GossipMessage, GossipMessageId, WireError};
use crate::wire::gossip_msg::{SIGNATURE, VERSION};

/// Which ZGossip dialect a peer speaks; see the module docs for the
/// differences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GossipDialect {
    /// czmq's `zgossip` and every Zyre node: hex keys, TTL in milliseconds,
    /// one frame per message.
    Czmq,
    /// haskell-zre: raw 16-byte keys, TTL in seconds, an envelope frame
    /// before each message from the server.
    Haskell,
}

/// The longest TTL haskell-zre can hold (it reads the field as a signed
/// 32-bit number of seconds); we send it for "never expires", and read it
/// (or anything larger, negative to haskell-zre) as that.
pub const HASKELL_TTL_FOREVER: u32 = i32::MAX as u32;

impl GossipDialect {
    /// Its name in log lines: `czmq` or `haskell-zre`.
    pub fn name(self) -> &'static str {
        match self {
            GossipDialect::Czmq => "czmq",
            GossipDialect::Haskell => "haskell-zre",
        }
    }

    /// A key as this dialect puts it on the wire. haskell-zre: a key that
    /// is a UUID in hex (32 hex digits, either case) becomes its 16 raw
    /// bytes; any other key, and every key in czmq's dialect, goes as is.
    pub fn key_to_wire(self, key: &str) -> Cow<'_, [u8]> {
        match self {
            GossipDialect::Haskell => match uuid_from_hex(key) {
                Some(raw) => Cow::Owned(raw.to_vec()),
                None => Cow::Borrowed(key.as_bytes()),
            },
            GossipDialect::Czmq => Cow::Borrowed(key.as_bytes()),
        }
    }

    /// A key as received, in our form: haskell-zre's 16-byte keys become 32
    /// upper-case hex digits (Zyre's form of a UUID), so that one peer has
    /// one key whichever dialect published it.
    ///
    /// # Errors
    ///
    /// [`WireError::InvalidUtf8`] (`key`) for any other key that is not UTF-8.
    pub fn key_from_wire(self, key: &[u8]) -> Result<String, WireError> {
        if self == GossipDialect::Haskell && key.len() == 16 {
            return Ok(format!("{:X}", super::Hex(key)));
        }
        std::str::from_utf8(key)
            .map(str::to_owned)
            .map_err(|_| WireError::InvalidUtf8 { field: "key" })
    }

    /// A lifetime as this dialect's TTL field; `None` = never expires.
    /// Rounded up to whole units and at least 1, so that a short lifetime
    /// never reads as "forever" (czmq's 0) or "gone" (haskell-zre's 0).
    pub fn ttl_to_wire(self, ttl: Option<Duration>) -> u32 {
        match (self, ttl) {
            (GossipDialect::Czmq, None) => 0,
            (GossipDialect::Haskell, None) => HASKELL_TTL_FOREVER,
            (GossipDialect::Czmq, Some(ttl)) => ceil_units(ttl, 1_000_000).clamp(1, u32::MAX.into()) as u32,
            (GossipDialect::Haskell, Some(ttl)) => {
                ceil_units(ttl, 1_000_000_000).clamp(1, HASKELL_TTL_FOREVER.into()) as u32
            }
        }
    }

    /// A TTL field as a lifetime; `None` = never expires (czmq's 0,
    /// haskell-zre's [`HASKELL_TTL_FOREVER`] and above). haskell-zre's 0 is
    /// a tuple in its last second: `Some(0)`.
    pub fn ttl_from_wire(self, ttl: u32) -> Option<Duration> {
        match self {
            GossipDialect::Czmq if ttl == 0 => None,
            GossipDialect::Czmq => Some(Duration::from_millis(ttl.into())),
            GossipDialect::Haskell if ttl >= HASKELL_TTL_FOREVER => None,
            GossipDialect::Haskell => Some(Duration::from_secs(ttl.into())),
        }
    }

    /// A PUBLISH frame of this dialect.
    ///
    /// # Errors
    ///
    /// [`WireError::TooLong`] for a key over 255 bytes (on the wire).
    pub fn publish(self, key: &str, value: &str, ttl: Option<Duration>) -> Result<Vec<u8>, WireError> {
        RawGossip::Publish {
            key: &self.key_to_wire(key),
            value,
            ttl: self.ttl_to_wire(ttl),
        }
        .to_bytes()
    }

    /// Parses one message frame of this dialect into our terms.
    ///
    /// # Errors
    ///
    /// Those of [`RawGossip::parse`], and [`WireError::InvalidUtf8`] for a
    /// key neither UTF-8 nor (in haskell-zre's dialect) a raw UUID.
    pub fn decode(self, frame: &[u8]) -> Result<Decoded<'_>, WireError> {
        Ok(match RawGossip::parse(frame)? {
            RawGossip::Control(id) => Decoded::Control(id),
            RawGossip::Publish { key, value, ttl } => Decoded::Publish {
                key: self.key_from_wire(key)?,
                value,
                ttl: self.ttl_from_wire(ttl),
            },
        })
    }
}

/// A message in our terms, whichever dialect it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// HELLO, PING, PONG or INVALID (never PUBLISH).
    Control(GossipMessageId),
    /// A tuple.
    Publish {
        /// Our form of the key (a UUID as 32 upper-case hex digits).
        key: String,
        /// The value (a ZRE node's inbox endpoint).
        value: &'a str,
        /// The lifetime it was published with; `None` = never expires.
        ttl: Option<Duration>,
    },
}

/// One ZGossip frame with PUBLISH's key left as bytes: haskell-zre's keys
/// (raw UUIDs) are no UTF-8 text, which [`GossipMessage`] requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawGossip<'a> {
    /// HELLO, PING, PONG or INVALID: no fields. (`Publish` here emits a
    /// PUBLISH without fields, which nobody parses: use the other variant.)
    Control(GossipMessageId),
    /// PUBLISH, the TTL in the dialect's unit.
    Publish {
        /// The key's bytes (`string`, at most 255).
        key: &'a [u8],
        /// The value (`longstr`, UTF-8).
        value: &'a str,
        /// The TTL field as sent.
        ttl: u32,
    },
}

impl<'a> RawGossip<'a> {
    /// Parses one frame, as [`GossipMessage::parse`] but for the key.
    ///
    /// # Errors
    ///
    /// [`WireError::Truncated`], [`WireError::BadSignature`],
    /// [`WireError::UnknownId`], [`WireError::UnsupportedVersion`], and
    /// [`WireError::InvalidUtf8`] for the value.
    pub fn parse(frame: &'a [u8]) -> Result<RawGossip<'a>, WireError> {
        let (rest, ()) = signature(frame, SIGNATURE)?;
        let (rest, id) = number1(rest, "id")?;
        let Some(id) = GossipMessageId::from_u8(id) else {
            return Err(WireError::UnknownId { id });
        };
        let (rest, version) = number1(rest, "version")?;
        if version != VERSION {
            return Err(WireError::UnsupportedVersion { found: version });
        }
        if id != GossipMessageId::Publish {
            return Ok(RawGossip::Control(id));
        }
        let (rest, len) = number1(rest, "key")?;
        let (rest, key) = bytes(rest, len.into(), "key")?;
        let (rest, value) = longstr(rest, "value")?;
        let (_, ttl) = number4(rest, "ttl")?;
        Ok(RawGossip::Publish { key, value, ttl })
    }

    /// Appends the frame to `out`.
    ///
    /// # Errors
    ///
    /// [`WireError::TooLong`] for a key over 255 bytes.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        match self {
            RawGossip::Control(id) => {
                out.extend_from_slice(SIGNATURE);
                put_number1(out, *id as u8);
                put_number1(out, VERSION);
            }
            RawGossip::Publish { key, value, ttl } => {
                let len = u8::try_from(key.len()).map_err(|_| WireError::TooLong {
                    field: "key",
                    len: key.len(),
                    max: u8::MAX.into(),
                })?;
                out.extend_from_slice(SIGNATURE);
                put_number1(out, GossipMessageId::Publish as u8);
                put_number1(out, VERSION);
                put_number1(out, len);
                out.extend_from_slice(key);
                put_longstr(out, value, "value")?;
                put_number4(out, *ttl);
            }
        }
        Ok(())
    }

    /// [`RawGossip::emit`] into a new buffer.
    ///
    /// # Errors
    ///
    /// As [`RawGossip::emit`].
    pub fn to_bytes(&self) -> Result<Vec<u8>, WireError> {
        let mut out = Vec::with_capacity(64);
        self.emit(&mut out)?;
        Ok(out)
    }
}

impl<'a> From<&GossipMessage<'a>> for RawGossip<'a> {
    fn from(message: &GossipMessage<'a>) -> Self {
        match *message {
            GossipMessage::Publish { key, value, ttl } => RawGossip::Publish {
                key: key.as_bytes(),
                value,
                ttl,
            },
            ref other => RawGossip::Control(other.id()),
        }
    }
}

/// The 16 bytes of a UUID written as exactly 32 hex digits (either case).
pub fn uuid_from_hex(text: &str) -> Option<[u8; 16]> {
    let digits = text.as_bytes();
    if digits.len() != 32 {
        return None;
    }
    let mut raw = [0u8; 16];
    for (byte, pair) in raw.iter_mut().zip(digits.chunks_exact(2)) {
        let high = char::from(pair[0]).to_digit(16)?;
        let low = char::from(pair[1]).to_digit(16)?;
        *byte = u8::try_from(high * 16 + low).ok()?;
    }
    Some(raw)
}

/// `duration` in whole units of `unit_nanos`, rounded up.
fn ceil_units(duration: Duration, unit_nanos: u128) -> u128 {
    duration.as_nanos().div_ceil(unit_nanos)
}
