//! The exact bytes of every wire message, pinned with insta snapshots, and
//! what the parsers make of every strict prefix of them.
//!
//! Snapshots hold a hex dump, 16 bytes a line; the value that produced it is
//! in the snapshot's `description`. Each was checked by hand against the
//! formats: beacon `Z R E ver uuid[16] port(be) [key[32]]`, ZRE `AA A1 id 02
//! seq(be16) fields`, ZGossip `AA A0 id 01 fields`.

use uuid::Uuid;
use zre::wire::{Beacon, Body, GossipMessage, Header, Hello, WireError, ZreMessage};

const UUID: Uuid = Uuid::from_u128(0x0011_2233_4455_6677_8899_aabb_ccdd_eeff);
const PEER: &str = "00112233445566778899AABBCCDDEEFF";
const NODE: &str = "Zürich-ノード";

fn hex(bytes: &[u8]) -> String {
    bytes
        .chunks(16)
        .map(|line| {
            line.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn zre_messages() -> Vec<(&'static str, ZreMessage<'static>)> {
    vec![
        (
            "zre_01_hello",
            ZreMessage::new(
                1,
                Body::Hello(Box::new(Hello {
                    endpoint: "tcp://192.168.1.20:49152",
                    groups: vec!["GLOBAL", NODE],
                    status: 7,
                    name: NODE,
                    headers: vec![("X-HELLO", "World"), ("Ünïcode-キー", "värde ✓")],
                })),
            ),
        ),
        (
            "zre_01_hello_empty",
            ZreMessage::new(
                0,
                Body::Hello(Box::new(Hello {
                    endpoint: "tcp://10.0.0.1:5670",
                    groups: vec![],
                    status: 0,
                    name: "",
                    headers: vec![],
                })),
            ),
        ),
        ("zre_02_whisper", ZreMessage::new(2, Body::Whisper)),
        (
            "zre_03_shout",
            ZreMessage::new(0x0102, Body::Shout { group: NODE }),
        ),
        (
            "zre_04_join",
            ZreMessage::new(
                0xffff,
                Body::Join {
                    group: "chat",
                    status: 255,
                },
            ),
        ),
        (
            "zre_05_leave",
            ZreMessage::new(
                0x1234,
                Body::Leave {
                    group: "chat",
                    status: 0x80,
                },
            ),
        ),
        ("zre_06_ping", ZreMessage::new(0, Body::Ping)),
        ("zre_07_ping_ok", ZreMessage::new(0xabcd, Body::PingOk)),
        (
            "zre_08_elect",
            ZreMessage::new(
                8,
                Body::Elect {
                    group: "leaders",
                    challenger: PEER,
                },
            ),
        ),
        (
            "zre_09_leader",
            ZreMessage::new(
                9,
                Body::Leader {
                    group: "leaders",
                    leader: PEER,
                },
            ),
        ),
        ("zre_10_goodbye", ZreMessage::new(42, Body::Goodbye)),
    ]
}

fn gossip_messages() -> Vec<(&'static str, GossipMessage<'static>)> {
    vec![
        ("gossip_1_hello", GossipMessage::Hello),
        (
            "gossip_2_publish",
            GossipMessage::Publish {
                key: PEER,
                value: "tcp://192.168.1.20:49152",
                ttl: 30_000,
            },
        ),
        (
            "gossip_2_publish_unicode",
            GossipMessage::Publish {
                key: NODE,
                value: "värde ✓",
                ttl: 0xffff_ffff,
            },
        ),
        ("gossip_3_ping", GossipMessage::Ping),
        ("gossip_4_pong", GossipMessage::Pong),
        ("gossip_5_invalid", GossipMessage::Invalid),
    ]
}

fn curve_key() -> [u8; 32] {
    std::array::from_fn(|i| 0xa0 + i as u8)
}

fn beacons() -> Vec<(&'static str, Beacon)> {
    vec![
        ("beacon_v1", Beacon::new(UUID, 49152)),
        ("beacon_v1_leaving", Beacon::new(UUID, 0)),
        (
            "beacon_v3",
            Beacon {
                uuid: UUID,
                port: 5670,
                curve_key: Some(curve_key()),
            },
        ),
        (
            "beacon_v3_leaving",
            Beacon {
                uuid: UUID,
                port: 0,
                curve_key: Some(curve_key()),
            },
        ),
    ]
}

fn snapshot(name: &str, value: &dyn std::fmt::Debug, bytes: &[u8]) {
    insta::with_settings!({ description => format!("{value:?}"), omit_expression => true }, {
        insta::assert_snapshot!(name, hex(bytes));
    });
}

#[test]
fn zre_message_bytes() {
    for (name, msg) in zre_messages() {
        let bytes = msg.to_bytes().unwrap();
        snapshot(name, &msg, &bytes);
        assert_eq!(ZreMessage::parse(&bytes).unwrap(), msg, "{name} round-trip");
        let header = Header::parse(&bytes).unwrap();
        assert_eq!(
            (header.id, header.sequence),
            (msg.id() as u8, msg.sequence),
            "{name}"
        );
    }
}

#[test]
fn gossip_message_bytes() {
    for (name, msg) in gossip_messages() {
        let bytes = msg.to_bytes().unwrap();
        snapshot(name, &msg, &bytes);
        assert_eq!(GossipMessage::parse(&bytes).unwrap(), msg, "{name} round-trip");
    }
}

#[test]
fn beacon_bytes() {
    for (name, beacon) in beacons() {
        let bytes = beacon.to_bytes();
        snapshot(name, &beacon, &bytes);
        assert_eq!(Beacon::parse(&bytes).unwrap(), beacon, "{name} round-trip");
        assert_eq!(Beacon::parse(&bytes).unwrap().is_leaving(), beacon.port == 0);
    }
}

#[test]
fn emit_appends_to_what_is_already_in_the_buffer() {
    let mut out = b"xyz".to_vec();
    ZreMessage::new(6, Body::Ping).emit(&mut out).unwrap();
    assert_eq!(out, b"xyz\xaa\xa1\x06\x02\x00\x06");
    let mut out = b"x".to_vec();
    GossipMessage::Pong.emit(&mut out).unwrap();
    assert_eq!(out, b"x\xaa\xa0\x04\x01");
    let mut out = b"x".to_vec();
    Beacon::new(UUID, 1).emit(&mut out);
    assert_eq!(out.len(), 1 + 22);
    assert_eq!(&out[..5], b"xZRE\x01");
}

/// Non-ASCII text is written as its UTF-8 bytes, with a length prefix that
/// counts bytes (not characters), and reads back as exactly the same text.
#[test]
fn unicode_text_is_utf8_with_byte_lengths() {
    let utf8 = NODE.as_bytes();
    assert_eq!(utf8.len(), 17);
    assert_eq!(NODE.chars().count(), 10);

    let (_, hello) = &zre_messages()[0];
    let bytes = hello.to_bytes().unwrap();
    // name: a `string`, u8 byte length then the bytes.
    let mut name_field = vec![17u8];
    name_field.extend_from_slice(utf8);
    assert!(bytes.windows(name_field.len()).any(|w| w == name_field));
    // group: a `longstr`, u32 byte length then the bytes.
    let mut group_field = vec![0, 0, 0, 17];
    group_field.extend_from_slice(utf8);
    assert!(bytes.windows(group_field.len()).any(|w| w == group_field));

    let Body::Hello(parsed) = ZreMessage::parse(&bytes).unwrap().body else {
        panic!("not a HELLO");
    };
    assert_eq!(parsed.name.as_bytes(), utf8);
    assert_eq!(parsed.groups[1].as_bytes(), utf8);
    assert_eq!(parsed.headers[1].0, "Ünïcode-キー");
    assert_eq!(parsed.headers[1].1, "värde ✓");

    let shout = ZreMessage::new(3, Body::Shout { group: NODE })
        .to_bytes()
        .unwrap();
    assert_eq!(&shout[6..], [&[17u8][..], utf8].concat());
    assert_eq!(
        ZreMessage::parse(&shout).unwrap().body,
        Body::Shout { group: NODE }
    );
}

fn is_short_frame_error(err: &WireError) -> bool {
    matches!(err, WireError::Truncated { .. } | WireError::CountTooLarge { .. })
}

#[test]
fn every_strict_prefix_of_a_zre_message_is_rejected() {
    for (name, msg) in zre_messages() {
        let bytes = msg.to_bytes().unwrap();
        for n in 0..bytes.len() {
            match ZreMessage::parse(&bytes[..n]) {
                Err(err) => assert!(is_short_frame_error(&err), "{name}[..{n}]: {err:?}"),
                Ok(parsed) => panic!("{name}[..{n}] parsed as {parsed:?}"),
            }
            let header = Header::parse(&bytes[..n]);
            if n < 6 {
                assert!(
                    matches!(header, Err(WireError::Truncated { .. })),
                    "{name}[..{n}]: {header:?}"
                );
            } else {
                assert_eq!(header.unwrap().sequence, msg.sequence, "{name}[..{n}]");
            }
        }
    }
}

#[test]
fn every_strict_prefix_of_a_gossip_message_is_rejected() {
    for (name, msg) in gossip_messages() {
        let bytes = msg.to_bytes().unwrap();
        for n in 0..bytes.len() {
            match GossipMessage::parse(&bytes[..n]) {
                Err(err) => assert!(is_short_frame_error(&err), "{name}[..{n}]: {err:?}"),
                Ok(parsed) => panic!("{name}[..{n}] parsed as {parsed:?}"),
            }
        }
    }
}

#[test]
fn every_strict_prefix_of_a_beacon_is_rejected() {
    for (name, beacon) in beacons() {
        let bytes = beacon.to_bytes();
        for n in 0..bytes.len() {
            let err = Beacon::parse(&bytes[..n]).unwrap_err();
            if n == 22 {
                // A v3 beacon cut to the v1 length: right length, wrong version.
                assert_eq!(
                    err,
                    WireError::InvalidLength {
                        expected: "54 for version 3",
                        found: 22
                    },
                    "{name}"
                );
            } else {
                assert!(
                    matches!(err, WireError::InvalidLength { found, .. } if found == n),
                    "{name}[..{n}]"
                );
            }
        }
    }
}

#[test]
fn beacon_of_any_other_length_is_invalid_length() {
    let v1 = Beacon::new(UUID, 5670).to_bytes();
    for len in (0..=128).filter(|&len| len != 22 && len != 54) {
        // A plausible beacon, padded or cut to `len`.
        let mut datagram = v1.clone();
        datagram.resize(len, 0x5a);
        assert_eq!(
            Beacon::parse(&datagram),
            Err(WireError::InvalidLength {
                expected: "22 or 54",
                found: len
            }),
            "length {len}"
        );
    }
}

#[test]
fn beacon_with_wrong_protocol_bytes_is_bad_signature() {
    for len in [22, 54] {
        for (at, byte) in [(0, b'z'), (1, b'r'), (2, b'X'), (0, 0), (2, 0xff)] {
            let mut datagram = Beacon::new(UUID, 5670).to_bytes();
            datagram.resize(len, 0);
            datagram[3] = if len == 22 { 1 } else { 3 };
            datagram[at] = byte;
            let found = datagram[..3].to_vec();
            assert_eq!(
                Beacon::parse(&datagram),
                Err(WireError::BadSignature {
                    expected: b"ZRE",
                    found
                }),
                "len {len}, byte {at} = {byte:#x}"
            );
        }
    }
}

#[test]
fn beacon_with_unknown_version_is_unsupported() {
    for len in [22, 54] {
        for version in [0u8, 2, 4, 0x10, 0xff] {
            let mut datagram = Beacon::new(UUID, 5670).to_bytes();
            datagram.resize(len, 0);
            datagram[3] = version;
            assert_eq!(
                Beacon::parse(&datagram),
                Err(WireError::UnsupportedVersion { found: version }),
                "len {len}, version {version}"
            );
        }
    }
}

#[test]
fn beacon_version_must_match_its_length() {
    let mut v1_long = Beacon::new(UUID, 5670).to_bytes();
    v1_long.resize(54, 0);
    assert_eq!(
        Beacon::parse(&v1_long),
        Err(WireError::InvalidLength {
            expected: "22 for version 1",
            found: 54
        })
    );

    let v3 = Beacon {
        uuid: UUID,
        port: 5670,
        curve_key: Some(curve_key()),
    }
    .to_bytes();
    assert_eq!(
        Beacon::parse(&v3[..22]),
        Err(WireError::InvalidLength {
            expected: "54 for version 3",
            found: 22
        })
    );
}
