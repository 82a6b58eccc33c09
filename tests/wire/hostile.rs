//! Frames a hostile or broken peer might send: absurd counts and lengths,
//! wrong signatures, ids and versions, invalid UTF-8, random bytes. Each
//! must be refused with the right error, at once, without a panic and
//! without an allocation sized by the attacker.

use proptest::prelude::*;
use zre::wire::{Beacon, Body, GossipMessage, Header, Hello, WireError, ZreMessage};

const ZRE_SIG: &[u8] = &[0xaa, 0xa1];
const GOSSIP_SIG: &[u8] = &[0xaa, 0xa0];

/// A ZRE header: signature, id, version 2, sequence.
fn zre_header(id: u8, sequence: u16) -> Vec<u8> {
    let mut out = vec![0xaa, 0xa1, id, 2];
    out.extend_from_slice(&sequence.to_be_bytes());
    out
}

/// `string`: u8 length and the bytes.
fn string(raw: &[u8]) -> Vec<u8> {
    [&[raw.len() as u8][..], raw].concat()
}

/// `longstr`: u32 length and the bytes.
fn longstr(raw: &[u8]) -> Vec<u8> {
    [&(raw.len() as u32).to_be_bytes()[..], raw].concat()
}

fn u32be(n: u32) -> Vec<u8> {
    n.to_be_bytes().to_vec()
}

fn frame(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn hello_with_huge_groups_count_fails_at_once() {
    let hello = frame(&[&zre_header(1, 1), &string(b"tcp:"), &u32be(u32::MAX), &[0; 5]]);
    assert_eq!(hello.len(), 20);
    assert_eq!(
        ZreMessage::parse(&hello),
        Err(WireError::CountTooLarge {
            field: "groups",
            count: u32::MAX,
            remaining: 5
        })
    );
}

#[test]
fn hello_with_huge_headers_count_fails_at_once() {
    let hello = frame(&[
        &zre_header(1, 1),
        &string(b""),
        &u32be(0), // groups
        &[7],      // status
        &string(b""),
        &u32be(u32::MAX), // headers
        &[0; 3],
    ]);
    assert_eq!(hello.len(), 20);
    assert_eq!(
        ZreMessage::parse(&hello),
        Err(WireError::CountTooLarge {
            field: "headers",
            count: u32::MAX,
            remaining: 3
        })
    );
}

/// The count check uses the smallest encoding of one item (4 bytes for an
/// empty longstr, 5 for an empty key and value): a count that just fits is
/// read item by item, one more is refused up front.
#[test]
fn count_check_is_exact_at_the_boundary() {
    let empty_groups = |count: u32| frame(&[&zre_header(1, 1), &string(b""), &u32be(count), &[0; 8]]);
    // Two empty groups fit in 8 bytes; then `status` is missing.
    assert_eq!(
        ZreMessage::parse(&empty_groups(2)),
        Err(WireError::Truncated { field: "status" })
    );
    assert_eq!(
        ZreMessage::parse(&empty_groups(3)),
        Err(WireError::CountTooLarge {
            field: "groups",
            count: 3,
            remaining: 8
        })
    );

    let empty_headers = |count: u32| {
        frame(&[
            &zre_header(1, 1),
            &string(b""),
            &u32be(0),
            &[0],
            &string(b""),
            &u32be(count),
            &[0; 10],
        ])
    };
    assert_eq!(
        ZreMessage::parse(&empty_headers(2)),
        Ok(ZreMessage::new(
            1,
            Body::Hello(Box::new(Hello {
                endpoint: "",
                groups: vec![],
                status: 0,
                name: "",
                headers: vec![("", ""), ("", "")],
            }))
        ))
    );
    assert_eq!(
        ZreMessage::parse(&empty_headers(3)),
        Err(WireError::CountTooLarge {
            field: "headers",
            count: 3,
            remaining: 10
        })
    );
}

#[test]
fn length_larger_than_the_rest_of_the_frame_is_truncated() {
    // A group longstr claiming 4 GB with 4 bytes behind it.
    let hello = frame(&[
        &zre_header(1, 1),
        &string(b""),
        &u32be(1),
        &u32be(0xffff_fff0),
        b"abcd",
    ]);
    assert_eq!(
        ZreMessage::parse(&hello),
        Err(WireError::Truncated { field: "groups" })
    );

    // A header value claiming 1000 bytes with 2 behind it.
    let hello = frame(&[
        &zre_header(1, 1),
        &string(b""),
        &u32be(0),
        &[0],
        &string(b""),
        &u32be(1),
        &string(b"k"),
        &u32be(1000),
        b"vv",
    ]);
    assert_eq!(
        ZreMessage::parse(&hello),
        Err(WireError::Truncated { field: "headers" })
    );

    // A `string` length byte past the end.
    let shout = frame(&[&zre_header(3, 1), &[0x10], b"abc"]);
    assert_eq!(
        ZreMessage::parse(&shout),
        Err(WireError::Truncated { field: "group" })
    );

    // A gossip value claiming u32::MAX bytes.
    let publish = frame(&[GOSSIP_SIG, &[2, 1], &string(b"key"), &u32be(u32::MAX), b"value"]);
    assert_eq!(
        GossipMessage::parse(&publish),
        Err(WireError::Truncated { field: "value" })
    );
}

#[test]
fn bad_signature() {
    for sig in [[0xaa, 0xa0], [0xa1, 0xaa], [0, 0], [0xff, 0xff], [0xaa, 0xa2]] {
        let mut ping = zre_header(6, 1);
        ping[..2].copy_from_slice(&sig);
        let expected = WireError::BadSignature {
            expected: ZRE_SIG,
            found: sig.to_vec(),
        };
        assert_eq!(ZreMessage::parse(&ping), Err(expected.clone()));
        assert_eq!(Header::parse(&ping), Err(expected));
    }
    for sig in [[0xaa, 0xa1], [0xa0, 0xaa], [0, 0]] {
        assert_eq!(
            GossipMessage::parse(&[sig[0], sig[1], 3, 1]),
            Err(WireError::BadSignature {
                expected: GOSSIP_SIG,
                found: sig.to_vec()
            })
        );
    }
    // A beacon is not a ZRE message.
    let beacon = Beacon::new(uuid::Uuid::nil(), 1).to_bytes();
    assert_eq!(
        ZreMessage::parse(&beacon),
        Err(WireError::BadSignature {
            expected: ZRE_SIG,
            found: b"ZR".to_vec()
        })
    );
}

#[test]
fn unknown_id() {
    for id in [0u8, 11, 12, 0x7f, 255] {
        // Padded so that a parser reading fields would find some.
        let msg = frame(&[&zre_header(id, 0x1234), &[0; 16]]);
        assert_eq!(
            ZreMessage::parse(&msg),
            Err(WireError::UnknownId { id }),
            "id {id}"
        );
    }
    for id in [0u8, 6, 255] {
        assert_eq!(
            GossipMessage::parse(&[0xaa, 0xa0, id, 1, 0, 0, 0, 0]),
            Err(WireError::UnknownId { id }),
            "gossip id {id}"
        );
    }
}

/// A message from a newer dialect still tells the node its sequence number,
/// so that the peer is not reset for speaking it.
#[test]
fn header_of_an_unknown_id_still_gives_id_and_sequence() {
    for id in [0u8, 11, 255] {
        let msg = frame(&[&zre_header(id, 0xbeef), b"future fields"]);
        assert_eq!(Header::parse(&msg), Ok(Header { id, sequence: 0xbeef }));
        assert_eq!(Header::parse(&msg[..6]), Ok(Header { id, sequence: 0xbeef }));
        assert_eq!(ZreMessage::parse(&msg), Err(WireError::UnknownId { id }));
    }
    assert_eq!(
        Header::parse(&zre_header(11, 7)[..5]),
        Err(WireError::Truncated { field: "sequence" })
    );
}

#[test]
fn unsupported_version() {
    for version in [0u8, 1, 3, 255] {
        let mut join = frame(&[&zre_header(4, 9), &string(b"chat"), &[1]]);
        join[3] = version;
        let expected = WireError::UnsupportedVersion { found: version };
        assert_eq!(
            ZreMessage::parse(&join),
            Err(expected.clone()),
            "version {version}"
        );
        assert_eq!(Header::parse(&join), Err(expected));
    }
    for version in [0u8, 2, 255] {
        assert_eq!(
            GossipMessage::parse(&[0xaa, 0xa0, 1, version]),
            Err(WireError::UnsupportedVersion { found: version }),
            "gossip version {version}"
        );
    }
}

/// Byte sequences that are not UTF-8: a stray continuation byte, 0xFF, an
/// overlong NUL, a UTF-16 surrogate, a code point past U+10FFFF, and "ü"
/// cut in half.
const NOT_UTF8: [&[u8]; 6] = [
    b"\x80",
    b"a\xffb",
    b"\xc0\x80",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"Z\xc3",
];

#[test]
fn invalid_utf8_in_any_text_field() {
    for bad in NOT_UTF8 {
        let hello = |endpoint: &[u8], group: &[u8], name: &[u8], key: &[u8], value: &[u8]| {
            frame(&[
                &zre_header(1, 1),
                &string(endpoint),
                &u32be(1),
                &longstr(group),
                &[0],
                &string(name),
                &u32be(1),
                &string(key),
                &longstr(value),
            ])
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (hello(bad, b"g", b"n", b"k", b"v"), "endpoint"),
            (hello(b"e", bad, b"n", b"k", b"v"), "groups"),
            (hello(b"e", b"g", bad, b"k", b"v"), "name"),
            (hello(b"e", b"g", b"n", bad, b"v"), "headers"),
            (hello(b"e", b"g", b"n", b"k", bad), "headers"),
            (frame(&[&zre_header(3, 1), &string(bad)]), "group"),
            (frame(&[&zre_header(4, 1), &string(bad), &[0]]), "group"),
            (frame(&[&zre_header(5, 1), &string(bad), &[0]]), "group"),
            (frame(&[&zre_header(8, 1), &string(bad), &string(b"c")]), "group"),
            (
                frame(&[&zre_header(8, 1), &string(b"g"), &string(bad)]),
                "challenger_id",
            ),
            (
                frame(&[&zre_header(9, 1), &string(b"g"), &string(bad)]),
                "leader_id",
            ),
        ];
        for (msg, field) in cases {
            assert_eq!(
                ZreMessage::parse(&msg),
                Err(WireError::InvalidUtf8 { field }),
                "{bad:02x?} in {field}"
            );
        }
        let publish = |key: &[u8], value: &[u8]| {
            frame(&[GOSSIP_SIG, &[2, 1], &string(key), &longstr(value), &u32be(1)])
        };
        assert_eq!(
            GossipMessage::parse(&publish(bad, b"v")),
            Err(WireError::InvalidUtf8 { field: "key" })
        );
        assert_eq!(
            GossipMessage::parse(&publish(b"k", bad)),
            Err(WireError::InvalidUtf8 { field: "value" })
        );
    }
}

/// zproto codecs ignore bytes after the last field, so that a later
/// revision may append fields.
#[test]
fn bytes_after_the_last_field_are_ignored() {
    let join = frame(&[&zre_header(4, 9), &string(b"chat"), &[1], b"extra"]);
    assert_eq!(
        ZreMessage::parse(&join),
        Ok(ZreMessage::new(
            9,
            Body::Join {
                group: "chat",
                status: 1
            }
        ))
    );
    let ping = frame(&[GOSSIP_SIG, &[3, 1], b"\x00\x01"]);
    assert_eq!(GossipMessage::parse(&ping), Ok(GossipMessage::Ping));
}

proptest! {
    /// Random bytes never panic a parser; when they do parse, they start
    /// with the canonical encoding of what was parsed.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(msg) = ZreMessage::parse(&bytes) {
            prop_assert!(bytes.starts_with(&msg.to_bytes().unwrap()));
        }
        if let Ok(msg) = GossipMessage::parse(&bytes) {
            prop_assert!(bytes.starts_with(&msg.to_bytes().unwrap()));
        }
        if let Ok(beacon) = Beacon::parse(&bytes) {
            prop_assert_eq!(beacon.to_bytes(), bytes);
        }
    }

    /// The same, behind a valid ZRE header of every id, so the field
    /// parsers (counts, lengths, UTF-8) see the random bytes.
    #[test]
    fn random_fields_never_panic(
        id in 0u8..=11,
        sequence in any::<u16>(),
        fields in proptest::collection::vec(any::<u8>(), 0..96),
    ) {
        let msg = frame(&[&zre_header(id, sequence), &fields]);
        prop_assert_eq!(Header::parse(&msg), Ok(Header { id, sequence }));
        if let Ok(parsed) = ZreMessage::parse(&msg) {
            prop_assert!(msg.starts_with(&parsed.to_bytes().unwrap()));
        }
    }

    /// Random bytes behind a gossip PUBLISH header.
    #[test]
    fn random_publish_fields_never_panic(fields in proptest::collection::vec(any::<u8>(), 0..64)) {
        let msg = frame(&[GOSSIP_SIG, &[2, 1], &fields]);
        if let Ok(parsed) = GossipMessage::parse(&msg) {
            prop_assert!(msg.starts_with(&parsed.to_bytes().unwrap()));
        }
    }

    /// Any text where a Z85 key should be (X-PUBLICKEY, after a gossip
    /// value's `|`): an error or a key, never a panic; a key comes only
    /// from the one text that encodes it.
    #[test]
    fn random_key_text_never_panics(text in ".{0,48}", z85 in "[0-9a-zA-Z.:+=^!/*?&<>()@%$#\\[\\]{}-]{40}") {
        use zre::wire::curve_key::{decode_z85, encode_z85};
        for text in [text.as_str(), z85.as_str()] {
            if let Ok(key) = decode_z85(text) {
                prop_assert_eq!(encode_z85(&key), text);
            }
        }
    }

    /// Big-endian beacons: any 22 or 54 bytes after "ZRE" and the matching
    /// version parse, and the port and UUID are where the layout says.
    #[test]
    fn any_well_formed_beacon_parses(curve in any::<bool>(), rest in proptest::collection::vec(any::<u8>(), 50)) {
        let (version, len) = if curve { (3, 54) } else { (1, 22) };
        let datagram = frame(&[b"ZRE", &[version], &rest[..len - 4]]);
        let beacon = Beacon::parse(&datagram).unwrap();
        prop_assert_eq!(beacon.uuid.as_bytes(), &datagram[4..20]);
        prop_assert_eq!(beacon.port, u16::from_be_bytes([datagram[20], datagram[21]]));
        prop_assert_eq!(beacon.curve_key.map(|k| k.to_vec()), curve.then(|| datagram[22..].to_vec()));
    }
}
