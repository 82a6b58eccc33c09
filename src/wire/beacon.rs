//! The UDP discovery beacon: `'Z' 'R' 'E'`, a version byte, the sender's
//! 16-byte UUID and its inbox port (network order). Version 1 is 22 bytes;
//! version 3 (CURVE) appends the sender's 32-byte public key, 54 bytes.
//! Port 0 announces that the sender is leaving.

use super::WireError;
use super::primitives::{bytes, number1, number2};
use uuid::Uuid;

pub const PROTOCOL: &[u8; 3] = b"ZRE";
pub const VERSION_PLAIN: u8 = 1;
pub const VERSION_CURVE: u8 = 3;
pub const LEN_PLAIN: usize = 22;
pub const LEN_CURVE: usize = 54;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Beacon {
    pub uuid: Uuid,
    /// The sender's inbox TCP port; 0 means the sender is leaving.
    pub port: u16,
    /// The CURVE public key of a version-3 beacon.
    pub curve_key: Option<[u8; 32]>,
}

impl Beacon {
    pub fn new(uuid: Uuid, port: u16) -> Self {
        Beacon {
            uuid,
            port,
            curve_key: None,
        }
    }

    pub fn version(&self) -> u8 {
        if self.curve_key.is_some() {
            VERSION_CURVE
        } else {
            VERSION_PLAIN
        }
    }

    pub fn is_leaving(&self) -> bool {
        self.port == 0
    }

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

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(LEN_CURVE);
        self.emit(&mut out);
        out
    }
}
