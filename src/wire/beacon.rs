//! The UDP discovery beacon (RFC 36, "Node Discovery and Presence"):
//! `'Z' 'R' 'E'`, a version byte, the sender's 16-byte UUID and its inbox
//! port (u16, network order), one datagram to UDP port 5670. Version 1 is
//! 22 bytes; version 3, Zyre's CURVE extension (`zyre_node.c`), appends the
//! sender's 32-byte public key, 54 bytes. Port 0 announces that the sender
//! is leaving.
//!
//! The sender's IP address is not in the beacon: the receiver takes it
//! from the datagram's source. The no-panic contract of [`crate::wire`]
//! holds for [`Beacon::parse`].

use super::WireError;
use super::primitives::{bytes, number1, number2};
use uuid::Uuid;

/// The three bytes every beacon starts with.
pub const PROTOCOL: &[u8; 3] = b"ZRE";
/// The version byte of RFC 36's beacon.
pub const VERSION_PLAIN: u8 = 1;
/// The version byte of Zyre's CURVE beacon, which carries a public key.
pub const VERSION_CURVE: u8 = 3;
/// The length of a version-1 beacon in bytes: 3 + 1 + 16 + 2.
pub const LEN_PLAIN: usize = 22;
/// The length of a version-3 beacon in bytes: [`LEN_PLAIN`] + 32.
pub const LEN_CURVE: usize = 54;

/// One beacon, either version. The version is not stored: it follows from
/// [`Beacon::curve_key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Beacon {
    /// The sender's UUID, its identity for the whole session.
    pub uuid: Uuid,
    /// The sender's inbox TCP port; 0 means the sender is leaving.
    pub port: u16,
    /// The CURVE public key of a version-3 beacon.
    pub curve_key: Option<[u8; 32]>,
}

impl Beacon {
    /// A version-1 beacon (no CURVE key).
    pub fn new(uuid: Uuid, port: u16) -> Self {
        Beacon {
            uuid,
            port,
            curve_key: None,
        }
    }

    /// The version byte it is emitted with: [`VERSION_CURVE`] when it has
    /// a key, else [`VERSION_PLAIN`].
    pub fn version(&self) -> u8 {
        if self.curve_key.is_some() {
            VERSION_CURVE
        } else {
            VERSION_PLAIN
        }
    }

    /// Port 0: the sender is leaving the network, and RFC 36 has the
    /// receiver disconnect from it rather than wait for it to expire.
    pub fn is_leaving(&self) -> bool {
        self.port == 0
    }

    /// Parses one whole datagram. Unlike the zproto codecs, no trailing
    /// bytes are allowed: the length must be exactly that of the version.
    ///
    /// # Errors
    ///
    /// [`WireError::InvalidLength`] for a datagram that is not 22 or 54
    /// bytes, or whose length does not match its version;
    /// [`WireError::BadSignature`] if it does not start with `ZRE`;
    /// [`WireError::UnsupportedVersion`] for a version other than 1 or 3.
    pub fn parse(datagram: &[u8]) -> Result<Beacon, WireError> {
        if datagram.len() != LEN_PLAIN && datagram.len() != LEN_CURVE {
            return Err(WireError::InvalidLength {
                expected: "22 or 54",
                found: datagram.len(),
            });
        }
        let (rest, protocol) = bytes(datagram, 3, "protocol")?;
        if protocol != PROTOCOL {
            return Err(WireError::BadSignature {
                expected: PROTOCOL,
                found: protocol.to_vec(),
            });
        }
        let (rest, version) = number1(rest, "version")?;
        let expected_len = match version {
            VERSION_PLAIN => LEN_PLAIN,
            VERSION_CURVE => LEN_CURVE,
            found => return Err(WireError::UnsupportedVersion { found }),
        };
        if datagram.len() != expected_len {
            let expected = if version == VERSION_PLAIN {
                "22 for version 1"
            } else {
                "54 for version 3"
            };
            return Err(WireError::InvalidLength {
                expected,
                found: datagram.len(),
            });
        }
        let (rest, uuid) = bytes(rest, 16, "uuid")?;
        let (rest, port) = number2(rest, "port")?;
        let curve_key = if version == VERSION_CURVE {
            let (_, key) = bytes(rest, 32, "curve_key")?;
            let mut buf = [0u8; 32];
            buf.copy_from_slice(key);
            Some(buf)
        } else {
            None
        };
        let uuid = Uuid::from_slice(uuid).map_err(|_| WireError::Truncated { field: "uuid" })?;
        Ok(Beacon {
            uuid,
            port,
            curve_key,
        })
    }

    /// Appends the beacon's bytes to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(PROTOCOL);
        out.push(self.version());
        out.extend_from_slice(self.uuid.as_bytes());
        out.extend_from_slice(&self.port.to_be_bytes());
        if let Some(key) = &self.curve_key {
            out.extend_from_slice(key);
        }
    }

    /// [`Beacon::emit`] into a new buffer of 22 or 54 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(LEN_CURVE);
        self.emit(&mut out);
        out
    }
}
