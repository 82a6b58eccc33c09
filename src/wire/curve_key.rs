//! CURVE public keys as Zyre's CURVE mode carries them (`zyre_node.c`,
//! Zyre 2.0.1; not in RFC 36): 32 raw bytes at the end of a version-3
//! [`Beacon`](super::Beacon); 40 characters of Z85 text (ZeroMQ RFC 32,
//! as `zcert_public_txt`) in the HELLO header [`PUBLIC_KEY_HEADER`] and
//! after the [`GOSSIP_KEY_SEPARATOR`] of a ZGossip value
//! (`tcp://10.0.0.5:41012|<40 chars>`).
//!
//! Everything here is fixed-size: decoding untrusted text allocates
//! nothing and never panics, as the rest of [`crate::wire`].

use super::WireError;

/// The length of a CURVE public key in bytes (Curve25519).
pub const KEY_LEN: usize = 32;
/// The length of a key in Z85 text: 5 characters per 4 bytes.
pub const Z85_KEY_LEN: usize = 40;
/// The HELLO header in which a node in CURVE mode gives its public key,
/// as Z85 text (`zyre_node.c`, "SET PUBLICKEY"). Zyre in CURVE mode
/// ignores a HELLO without it.
pub const PUBLIC_KEY_HEADER: &str = "X-PUBLICKEY";
/// What separates the endpoint from the Z85 key in a ZGossip value
/// published in CURVE mode (`zyre_node_start`, `zyre_node_recv_gossip`).
pub const GOSSIP_KEY_SEPARATOR: char = '|';

/// A CURVE public key, raw.
pub type CurveKey = [u8; KEY_LEN];

/// The Z85 alphabet (ZeroMQ RFC 32): 85 printable ASCII characters, no
/// quotes, backslash, comma or space.
const Z85_ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// The Curve25519 public keys of small order (the list libsodium refuses in
/// `crypto_scalarmult`): a Diffie-Hellman with any of them gives an
/// all-zero, publicly known secret, so libzmq's handshake with such a
/// "server key" can never succeed. The top bit of the last byte is ignored,
/// as X25519 does.
const SMALL_ORDER: [CurveKey; 7] = {
    let mut points = [[0u8; KEY_LEN]; 7];
    // 0 and 1.
    points[1][0] = 1;
    // The two points of order 8.
    points[2] = [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda,
        0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00,
    ];
    points[3] = [
        0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04,
        0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57,
    ];
    // p - 1, p and p + 1, with p = 2^255 - 19.
    let mut i = 4;
    while i < 7 {
        let mut j = 1;
        while j < 31 {
            points[i][j] = 0xff;
            j += 1;
        }
        points[i][0] = 0xec + (i as u8 - 4);
        points[i][31] = 0x7f;
        i += 1;
    }
    points
};

/// Whether `key` can be a peer's CURVE public key: false for the
/// Curve25519 points of small order (all zeros among them), with which no
/// CURVE handshake can complete. Any other 32 bytes may be a key: a public
/// key has no other structure that a receiver could check.
pub fn is_usable_key(key: &CurveKey) -> bool {
    !SMALL_ORDER
        .iter()
        .any(|bad| bad[..31] == key[..31] && bad[31] == key[31] & 0x7f)
}

/// Whether Zyre 2.0.1 in CURVE mode takes a version-3 beacon carrying
/// `key` for one without a key, and ignores it: it checks only the first
/// byte (`beacon.public_key[0] == 0`, `zyre_node_recv_beacon`). One key in
/// 256 starts with 0; a node with such a key is found by Zyre only when it
/// finds Zyre first, so key generation had better draw again.
pub fn zyre_reads_as_keyless(key: &CurveKey) -> bool {
    key[0] == 0
}

/// The Z85 text of a key (40 ASCII characters), as Zyre puts it in
/// [`PUBLIC_KEY_HEADER`] and gossip values.
pub fn encode_z85(key: &CurveKey) -> String {
    let mut text = String::with_capacity(Z85_KEY_LEN);
    for chunk in key.chunks_exact(4) {
        let mut value = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let mut digits = [0u8; 5];
        for digit in digits.iter_mut().rev() {
            *digit = Z85_ALPHABET[(value % 85) as usize];
            value /= 85;
        }
        text.extend(digits.iter().map(|&d| d as char));
    }
    text
}

/// Decodes a key from its Z85 text.
///
/// # Errors
///
/// [`WireError::InvalidLength`] unless `text` is exactly 40 bytes;
/// [`WireError::BadKeyText`] for a character outside the Z85 alphabet or a
/// 5-character group worth more than `u32::MAX` (text no encoder writes).
pub fn decode_z85(text: &str) -> Result<CurveKey, WireError> {
    let text = text.as_bytes();
    if text.len() != Z85_KEY_LEN {
        return Err(WireError::InvalidLength {
            expected: "40 (a Z85 CURVE key)",
            found: text.len(),
        });
    }
    let mut key = [0u8; KEY_LEN];
    for (group, out) in text.chunks_exact(5).zip(key.chunks_exact_mut(4)) {
        let mut value: u64 = 0;
        for &c in group {
            let digit = Z85_ALPHABET
                .iter()
                .position(|&a| a == c)
                .ok_or(WireError::BadKeyText)?;
            value = value * 85 + digit as u64;
        }
        let value = u32::try_from(value).map_err(|_| WireError::BadKeyText)?;
        out.copy_from_slice(&value.to_be_bytes());
    }
    Ok(key)
}

/// Splits a ZGossip value into the endpoint and, if there is a
/// [`GOSSIP_KEY_SEPARATOR`], the text after the first one (the Z85 key,
/// not checked here), as `zyre_node_recv_gossip` does.
pub fn split_gossip_value(value: &str) -> (&str, Option<&str>) {
    match value.split_once(GOSSIP_KEY_SEPARATOR) {
        Some((endpoint, key)) => (endpoint, Some(key)),
        None => (value, None),
    }
}

/// The ZGossip value a node publishes: its endpoint, then in CURVE mode
/// `|` and its Z85 public key (`zyre_node_start`).
pub fn gossip_value(endpoint: &str, key: Option<&CurveKey>) -> String {
    match key {
        Some(key) => format!("{endpoint}{GOSSIP_KEY_SEPARATOR}{}", encode_z85(key)),
        None => endpoint.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ZeroMQ RFC 32's test vector (8 bytes to "HelloWorld") at the start
    /// of a key: it pins the alphabet and the byte order.
    #[test]
    fn rfc32_vector() {
        let mut key = [0u8; KEY_LEN];
        key[..8].copy_from_slice(&[0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]);
        let text = encode_z85(&key);
        assert!(text.starts_with("HelloWorld"), "{text}");
        assert_eq!(text.len(), Z85_KEY_LEN);
        assert_eq!(decode_z85(&text), Ok(key));
    }

    #[test]
    fn round_trip_and_extremes() {
        for key in [[0u8; 32], [0xff; 32], core::array::from_fn(|i| i as u8 * 7)] {
            assert_eq!(decode_z85(&encode_z85(&key)), Ok(key));
        }
        assert_eq!(encode_z85(&[0xff; 32]), "%nSc0".repeat(8));
    }

    #[test]
    fn bad_text_is_an_error() {
        assert!(matches!(
            decode_z85("short"),
            Err(WireError::InvalidLength { found: 5, .. })
        ));
        let with_space = format!(" {}", "0".repeat(39));
        assert_eq!(decode_z85(&with_space), Err(WireError::BadKeyText));
        // "%nSc1" is 2^32: one more than four bytes hold.
        let overflow = format!("%nSc1{}", "0".repeat(35));
        assert_eq!(decode_z85(&overflow), Err(WireError::BadKeyText));
        // 40 bytes, but not 40 ASCII characters.
        let multibyte = format!("é{}", "0".repeat(38));
        assert_eq!(decode_z85(&multibyte), Err(WireError::BadKeyText));
    }

    #[test]
    fn small_order_points_are_not_keys() {
        assert!(!is_usable_key(&[0; 32]));
        let mut one = [0; 32];
        one[0] = 1;
        assert!(!is_usable_key(&one));
        // p + 1 with the ignored top bit set.
        let mut p1 = [0xff; 32];
        p1[0] = 0xee;
        assert!(!is_usable_key(&p1));
        p1[31] = 0x7f;
        assert!(!is_usable_key(&p1));
        // Zyre drops a beacon whose key starts with 0; such a key is fine.
        let mut fine = [0x42; 32];
        fine[0] = 0;
        assert!(is_usable_key(&fine));
        assert!(zyre_reads_as_keyless(&fine));
        assert!(!zyre_reads_as_keyless(&[0x42; 32]));
        assert!(is_usable_key(&[0xff; 32]));
    }

    #[test]
    fn gossip_values() {
        assert_eq!(split_gossip_value("tcp://10.0.0.1:5"), ("tcp://10.0.0.1:5", None));
        assert_eq!(
            split_gossip_value("tcp://10.0.0.1:5|k|x"),
            ("tcp://10.0.0.1:5", Some("k|x"))
        );
        assert_eq!(gossip_value("tcp://a:1", None), "tcp://a:1");
        let value = gossip_value("tcp://a:1", Some(&[0xff; 32]));
        assert_eq!(value, format!("tcp://a:1|{}", "%nSc0".repeat(8)));
        let (_, key) = split_gossip_value(&value);
        assert_eq!(decode_z85(key.unwrap()), Ok([0xff; 32]));
    }
}
