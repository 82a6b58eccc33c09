//! Interoperability: bytes produced by other ZRE implementations decode to
//! the expected values, and our encoder reproduces them exactly.
//!
//! The pyre frames were produced by `tests/captures/gen_pyre.py` with
//! pyre (zeromq-pyre) 0.3.4 and pyzmq 27.3.0, using pyre's own encoder
//! `pyre.zre_msg.ZreMsg.send` on a recording socket. Only frame 0 (the
//! header frame) is ours to parse; WHISPER and SHOUT content is in the
//! frames after it. pyre sends HELLO as a single frame.
//!
//! The Zyre beacon is built by hand from the `beacon_t` struct in Zyre's
//! `src/zyre_node.c`, the way Zyre fills it and sends its first
//! `BEACON_SIZE` bytes.

use std::mem::{offset_of, size_of};
use uuid::Uuid;
use zre::wire::{Beacon, Body, Header, Hello, WireError, ZreMessage};

// Output of `python3 tests/captures/gen_pyre.py` (pyre 0.3.4, pyzmq 27.3.0).
const PYRE_HELLO: &str = "aaa101020001187463703a2f2f3139322e3136382e312e32303a34393135320000000200000006474c4f42414c000000046368617403066131623263330000000207582d48454c4c4f00000005576f726c6406582d504f52540000000435363730";
const PYRE_SHOUT: &str = "aaa1030200020463686174";
const PYRE_SHOUT_CONTENT: &str = "68656c6c6f";
const PYRE_WHISPER: &str = "aaa102020003";
const PYRE_WHISPER_CONTENT: [&str; 2] = ["7061727431", "7061727432"];
const PYRE_JOIN: &str = "aaa104020004046368617404";
const PYRE_LEAVE: &str = "aaa105020005046368617405";
const PYRE_PING: &str = "aaa106020006";
const PYRE_PING_OK: &str = "aaa10702ffff";
/// pyre 0.3.4 SHOUT to group "Zürich-ノード": pyre writes the length in
/// characters (10) and cuts the 17 UTF-8 bytes to 10, ending mid-character.
const PYRE_SHOUT_NON_ASCII: &str = "aaa1030200080a5ac3bc726963682de383";

fn unhex(hex: &str) -> Vec<u8> {
    assert_eq!(hex.len() % 2, 0);
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// Parses a pyre header frame, checks it against `expected`, and checks
/// that our encoder gives back the very same bytes.
fn check(hex: &str, expected: ZreMessage<'_>) {
    let bytes = unhex(hex);
    let parsed = ZreMessage::parse(&bytes).unwrap();
    assert_eq!(parsed, expected);
    assert_eq!(
        Header::parse(&bytes).unwrap(),
        Header {
            id: expected.id() as u8,
            sequence: expected.sequence
        }
    );
    assert_eq!(expected.to_bytes().unwrap(), bytes, "{:?}", expected.id());
}

#[test]
fn pyre_hello() {
    check(
        PYRE_HELLO,
        ZreMessage::new(
            1,
            Body::Hello(Box::new(Hello {
                endpoint: "tcp://192.168.1.20:49152",
                groups: vec!["GLOBAL", "chat"],
                status: 3,
                name: "a1b2c3",
                headers: vec![("X-HELLO", "World"), ("X-PORT", "5670")],
            })),
        ),
    );
}

#[test]
fn pyre_shout() {
    check(PYRE_SHOUT, ZreMessage::new(2, Body::Shout { group: "chat" }));
    // The content frame is not a ZRE header frame.
    assert!(ZreMessage::parse(&unhex(PYRE_SHOUT_CONTENT)).is_err());
}

/// pyre's non-ASCII `string` is not valid UTF-8; we refuse it rather than
/// pass on a cut group name. What we send for the same group is correct
/// UTF-8 with a byte length (17).
#[test]
fn pyre_non_ascii_group_is_refused() {
    let bytes = unhex(PYRE_SHOUT_NON_ASCII);
    assert_eq!(bytes[6], 10);
    assert_eq!(
        ZreMessage::parse(&bytes),
        Err(WireError::InvalidUtf8 { field: "group" })
    );
    assert_eq!(Header::parse(&bytes), Ok(Header { id: 3, sequence: 8 }));
    let ours = ZreMessage::new(
        8,
        Body::Shout {
            group: "Zürich-ノード",
        },
    )
    .to_bytes()
    .unwrap();
    assert_eq!(ours[6], 17);
    assert_eq!(&ours[..6], &bytes[..6]);
    assert_eq!(&ours[7..17], &bytes[7..]);
}

#[test]
fn pyre_whisper() {
    check(PYRE_WHISPER, ZreMessage::new(3, Body::Whisper));
    for content in PYRE_WHISPER_CONTENT {
        assert!(ZreMessage::parse(&unhex(content)).is_err());
    }
}

#[test]
fn pyre_join_and_leave() {
    check(
        PYRE_JOIN,
        ZreMessage::new(
            4,
            Body::Join {
                group: "chat",
                status: 4,
            },
        ),
    );
    check(
        PYRE_LEAVE,
        ZreMessage::new(
            5,
            Body::Leave {
                group: "chat",
                status: 5,
            },
        ),
    );
}

#[test]
fn pyre_ping_and_ping_ok() {
    check(PYRE_PING, ZreMessage::new(6, Body::Ping));
    check(PYRE_PING_OK, ZreMessage::new(0xffff, Body::PingOk));
}

/// Zyre's `beacon_t`, field for field (`byte` and `uint8_t` are u8,
/// `ZUUID_LEN` is 16). Only its layout is used here.
#[repr(C)]
#[allow(dead_code)]
struct ZyreBeaconT {
    protocol: [u8; 3],
    version: u8,
    uuid: [u8; 16],
    port: u16,
    public_key: [u8; 32],
}

/// The bytes of a `beacon_t` in memory: fields in order, no padding (the
/// layout assertions below check that), `port` set with `htons` so stored
/// big-endian on any host. Zyre sends the first 22 (version 1) or 54
/// (version 3) of them.
fn zyre_beacon(version: u8, uuid: [u8; 16], port: u16, public_key: [u8; 32]) -> Vec<u8> {
    let htons = port.to_be();
    let mut memory = Vec::with_capacity(size_of::<ZyreBeaconT>());
    memory.extend_from_slice(b"ZRE");
    memory.push(version);
    memory.extend_from_slice(&uuid);
    memory.extend_from_slice(&htons.to_ne_bytes());
    memory.extend_from_slice(&public_key);
    let size = if version == 1 { 22 } else { 54 };
    memory.truncate(size);
    memory
}

#[test]
fn zyre_beacon_t_has_the_wire_layout() {
    assert_eq!(offset_of!(ZyreBeaconT, version), 3);
    assert_eq!(offset_of!(ZyreBeaconT, uuid), 4);
    assert_eq!(offset_of!(ZyreBeaconT, port), 20);
    assert_eq!(offset_of!(ZyreBeaconT, public_key), 22);
    assert_eq!(size_of::<ZyreBeaconT>(), 54);
}

#[test]
fn zyre_beacons() {
    let uuid = [
        0x3c, 0x5b, 0x7e, 0x12, 0x9a, 0x01, 0x4f, 0x2b, 0x8d, 0x6e, 0x00, 0xff, 0x10, 0x20, 0x30, 0x40,
    ];
    let key: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0x5a);

    // Version 1, port 49153 (0xC001): high byte first on the wire.
    let datagram = zyre_beacon(1, uuid, 49153, [0; 32]);
    assert_eq!(datagram.len(), 22);
    assert_eq!(&datagram[20..], &[0xc0, 0x01]);
    let beacon = Beacon::parse(&datagram).unwrap();
    assert_eq!(beacon, Beacon::new(Uuid::from_bytes(uuid), 49153));
    assert_eq!(beacon.to_bytes(), datagram);

    // Version 3 with a CURVE key.
    let datagram = zyre_beacon(3, uuid, 5670, key);
    let beacon = Beacon::parse(&datagram).unwrap();
    assert_eq!(
        beacon,
        Beacon {
            uuid: Uuid::from_bytes(uuid),
            port: 5670,
            curve_key: Some(key),
        }
    );
    assert_eq!(beacon.to_bytes(), datagram);

    // Leaving: Zyre sets `port = 0` when it stops.
    for (version, key) in [(1, [0; 32]), (3, key)] {
        let datagram = zyre_beacon(version, uuid, 0, key);
        let beacon = Beacon::parse(&datagram).unwrap();
        assert!(beacon.is_leaving());
        assert_eq!(beacon.version(), version);
        assert_eq!(beacon.to_bytes(), datagram);
    }
}
