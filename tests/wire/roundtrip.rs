//! Property tests: every value the formats can carry survives
//! `parse(emit(x)) == x`, every strict prefix of a generated frame is
//! rejected, and a `string` field over 255 bytes is refused on emit.

use proptest::collection::vec;
use proptest::prelude::*;
use uuid::Uuid;
use zre::wire::{Beacon, Body, GossipMessage, Header, Hello, WireError, ZreMessage};

/// Builds a string of at most `max` UTF-8 bytes from `chars`, stopping
/// before the first char that would not fit.
fn fit(chars: Vec<char>, max: usize) -> String {
    let mut out = String::new();
    for c in chars {
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    out
}

/// Text for a `string` field: 0..=255 bytes, arbitrary unicode (any scalar
/// value, so 1 to 4 byte encodings), and often exactly at the limit.
fn short_text() -> impl Strategy<Value = String> {
    prop_oneof![
        vec(any::<char>(), 0..=255).prop_map(|cs| fit(cs, 255)),
        "[ -~]{0,255}",
        "[ -~]{255}",
        // 85 three-byte chars: exactly 255 bytes.
        "[ぁ-ゖ]{85}",
    ]
}

/// Text for a `longstr` field: arbitrary unicode, past the 255-byte limit
/// of `string` too.
fn long_text() -> impl Strategy<Value = String> {
    prop_oneof![
        vec(any::<char>(), 0..400).prop_map(|cs| cs.into_iter().collect()),
        "[ -~]{250,600}",
    ]
}

#[derive(Debug, Clone)]
enum OwnedBody {
    Hello {
        endpoint: String,
        groups: Vec<String>,
        status: u8,
        name: String,
        headers: Vec<(String, String)>,
    },
    Whisper,
    Shout(String),
    Join(String, u8),
    Leave(String, u8),
    Ping,
    PingOk,
    Elect(String, String),
    Leader(String, String),
    Goodbye,
}

impl OwnedBody {
    fn borrow(&self) -> Body<'_> {
        match self {
            OwnedBody::Hello {
                endpoint,
                groups,
                status,
                name,
                headers,
            } => Body::Hello(Box::new(Hello {
                endpoint,
                groups: groups.iter().map(String::as_str).collect(),
                status: *status,
                name,
                headers: headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
            })),
            OwnedBody::Whisper => Body::Whisper,
            OwnedBody::Shout(group) => Body::Shout { group },
            OwnedBody::Join(group, status) => Body::Join {
                group,
                status: *status,
            },
            OwnedBody::Leave(group, status) => Body::Leave {
                group,
                status: *status,
            },
            OwnedBody::Ping => Body::Ping,
            OwnedBody::PingOk => Body::PingOk,
            OwnedBody::Elect(group, challenger) => Body::Elect { group, challenger },
            OwnedBody::Leader(group, leader) => Body::Leader { group, leader },
            OwnedBody::Goodbye => Body::Goodbye,
        }
    }
}

fn hello() -> impl Strategy<Value = OwnedBody> {
    (
        short_text(),
        vec(long_text(), 0..6),
        any::<u8>(),
        short_text(),
        vec((short_text(), long_text()), 0..6),
    )
        .prop_map(|(endpoint, groups, status, name, headers)| OwnedBody::Hello {
            endpoint,
            groups,
            status,
            name,
            headers,
        })
}

fn body() -> impl Strategy<Value = OwnedBody> {
    prop_oneof![
        hello(),
        Just(OwnedBody::Whisper),
        short_text().prop_map(OwnedBody::Shout),
        (short_text(), any::<u8>()).prop_map(|(g, s)| OwnedBody::Join(g, s)),
        (short_text(), any::<u8>()).prop_map(|(g, s)| OwnedBody::Leave(g, s)),
        Just(OwnedBody::Ping),
        Just(OwnedBody::PingOk),
        (short_text(), short_text()).prop_map(|(g, c)| OwnedBody::Elect(g, c)),
        (short_text(), short_text()).prop_map(|(g, l)| OwnedBody::Leader(g, l)),
        Just(OwnedBody::Goodbye),
    ]
}

#[derive(Debug, Clone)]
enum OwnedGossip {
    Hello,
    Publish(String, String, u32),
    Ping,
    Pong,
    Invalid,
}

impl OwnedGossip {
    fn borrow(&self) -> GossipMessage<'_> {
        match self {
            OwnedGossip::Hello => GossipMessage::Hello,
            OwnedGossip::Publish(key, value, ttl) => GossipMessage::Publish {
                key,
                value,
                ttl: *ttl,
            },
            OwnedGossip::Ping => GossipMessage::Ping,
            OwnedGossip::Pong => GossipMessage::Pong,
            OwnedGossip::Invalid => GossipMessage::Invalid,
        }
    }
}

fn gossip() -> impl Strategy<Value = OwnedGossip> {
    prop_oneof![
        Just(OwnedGossip::Hello),
        (short_text(), long_text(), any::<u32>()).prop_map(|(k, v, t)| OwnedGossip::Publish(k, v, t)),
        Just(OwnedGossip::Ping),
        Just(OwnedGossip::Pong),
        Just(OwnedGossip::Invalid),
    ]
}

fn beacon() -> impl Strategy<Value = Beacon> {
    (any::<u128>(), any::<u16>(), any::<Option<[u8; 32]>>()).prop_map(|(uuid, port, curve_key)| Beacon {
        uuid: Uuid::from_u128(uuid),
        port,
        curve_key,
    })
}

/// A string of 256..=1000 bytes, too long for a `string` field.
fn overlong_text() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~]{256,1000}", "[ぁ-ゖ]{86,300}", "[a-z]{255}é"]
}

proptest! {
    #[test]
    fn zre_message_round_trips(sequence in any::<u16>(), body in body()) {
        let msg = ZreMessage::new(sequence, body.borrow());
        let bytes = msg.to_bytes().unwrap();
        prop_assert_eq!(&bytes[..2], &[0xaa, 0xa1]);
        prop_assert_eq!(bytes[2], msg.id() as u8);
        prop_assert_eq!(bytes[3], 2);
        prop_assert_eq!(&bytes[4..6], &sequence.to_be_bytes());
        prop_assert_eq!(ZreMessage::parse(&bytes), Ok(msg.clone()));
        prop_assert_eq!(Header::parse(&bytes), Ok(Header { id: msg.id() as u8, sequence }));

        // emit appends: a reused buffer gets the same bytes after what it held.
        let mut out = vec![0x55; 3];
        msg.emit(&mut out).unwrap();
        prop_assert_eq!(&out[3..], &bytes[..]);
    }

    #[test]
    fn gossip_message_round_trips(msg in gossip()) {
        let msg = msg.borrow();
        let bytes = msg.to_bytes().unwrap();
        prop_assert_eq!(&bytes[..4], &[0xaa, 0xa0, msg.id() as u8, 1]);
        prop_assert_eq!(GossipMessage::parse(&bytes), Ok(msg));
    }

    #[test]
    fn beacon_round_trips(beacon in beacon()) {
        let bytes = beacon.to_bytes();
        let (len, version) = if beacon.curve_key.is_some() { (54, 3) } else { (22, 1) };
        prop_assert_eq!(bytes.len(), len);
        prop_assert_eq!(&bytes[..4], &[b'Z', b'R', b'E', version]);
        prop_assert_eq!(&bytes[4..20], beacon.uuid.as_bytes());
        prop_assert_eq!(&bytes[20..22], &beacon.port.to_be_bytes());
        prop_assert_eq!(Beacon::parse(&bytes), Ok(beacon));
    }

    #[test]
    fn every_strict_prefix_of_a_generated_zre_message_is_rejected(
        sequence in any::<u16>(),
        body in body(),
    ) {
        let bytes = ZreMessage::new(sequence, body.borrow()).to_bytes().unwrap();
        for n in 0..bytes.len() {
            let result = ZreMessage::parse(&bytes[..n]);
            prop_assert!(
                matches!(result, Err(WireError::Truncated { .. } | WireError::CountTooLarge { .. })),
                "[..{}] of {} bytes: {:?}", n, bytes.len(), result
            );
        }
    }

    #[test]
    fn every_strict_prefix_of_a_generated_gossip_message_is_rejected(msg in gossip()) {
        let bytes = msg.borrow().to_bytes().unwrap();
        for n in 0..bytes.len() {
            let result = GossipMessage::parse(&bytes[..n]);
            prop_assert!(matches!(result, Err(WireError::Truncated { .. })), "[..{}]: {:?}", n, result);
        }
    }

    #[test]
    fn every_strict_prefix_of_a_generated_beacon_is_rejected(beacon in beacon()) {
        let bytes = beacon.to_bytes();
        for n in 0..bytes.len() {
            prop_assert!(
                matches!(Beacon::parse(&bytes[..n]), Err(WireError::InvalidLength { found, .. }) if found == n),
                "[..{}]", n
            );
        }
    }

    #[test]
    fn overlong_string_fields_are_refused_on_emit(text in overlong_text(), status in any::<u8>()) {
        let len = text.len();
        let t = text.as_str();
        let hello = |endpoint, name, key| Body::Hello(Box::new(Hello {
            endpoint,
            groups: vec![t],
            status,
            name,
            headers: vec![(key, t)],
        }));
        let cases = [
            (hello(t, "n", "k"), "endpoint"),
            (hello("tcp://h:1", t, "k"), "name"),
            (hello("tcp://h:1", "n", t), "headers"),
            (Body::Shout { group: t }, "group"),
            (Body::Join { group: t, status }, "group"),
            (Body::Leave { group: t, status }, "group"),
            (Body::Elect { group: t, challenger: "c" }, "group"),
            (Body::Elect { group: "g", challenger: t }, "challenger_id"),
            (Body::Leader { group: t, leader: "l" }, "group"),
            (Body::Leader { group: "g", leader: t }, "leader_id"),
        ];
        for (body, field) in cases {
            let expected = WireError::TooLong { field, len, max: 255 };
            let msg = ZreMessage::new(1, body);
            prop_assert_eq!(msg.to_bytes(), Err(expected.clone()), "{:?}", msg.id());
            prop_assert_eq!(msg.emit(&mut Vec::new()), Err(expected));
        }
        let publish = GossipMessage::Publish { key: t, value: "v", ttl: 1 };
        prop_assert_eq!(publish.to_bytes(), Err(WireError::TooLong { field: "key", len, max: 255 }));
        // The same text is fine where the field is a longstr.
        let publish = GossipMessage::Publish { key: "k", value: t, ttl: 1 };
        let bytes = publish.to_bytes().unwrap();
        prop_assert_eq!(GossipMessage::parse(&bytes), Ok(publish));
    }
}

#[test]
fn string_of_exactly_255_bytes_is_accepted_and_256_is_not() {
    let max = "é".repeat(127) + "x"; // 255 bytes
    assert_eq!(max.len(), 255);
    let msg = ZreMessage::new(1, Body::Shout { group: &max });
    let bytes = msg.to_bytes().unwrap();
    assert_eq!(bytes[6], 255);
    assert_eq!(ZreMessage::parse(&bytes), Ok(msg));

    let over = max + "y";
    assert_eq!(
        ZreMessage::new(1, Body::Shout { group: &over }).to_bytes(),
        Err(WireError::TooLong {
            field: "group",
            len: 256,
            max: 255
        })
    );
}

proptest! {
    /// Our Z85 key text is libzmq's (`zmq_z85_encode`, which Zyre uses for
    /// beacon keys and czmq's `zcert_public_txt` for X-PUBLICKEY), both
    /// ways.
    #[test]
    fn z85_keys_agree_with_libzmq(key in any::<[u8; 32]>()) {
        let ours = zre::wire::curve_key::encode_z85(&key);
        let theirs = zmq::z85_encode(&key).unwrap();
        prop_assert_eq!(&ours, &theirs);
        prop_assert_eq!(zre::wire::curve_key::decode_z85(&theirs), Ok(key));
        prop_assert_eq!(zmq::z85_decode(&ours).unwrap(), key.to_vec());
    }

    /// A gossip value in CURVE mode splits back into its endpoint and key.
    #[test]
    fn curve_gossip_values_round_trip(port in any::<u16>(), key in any::<[u8; 32]>()) {
        use zre::wire::curve_key::{decode_z85, gossip_value, split_gossip_value};
        let endpoint = format!("tcp://10.0.0.1:{port}");
        let value = gossip_value(&endpoint, Some(&key));
        let (split, text) = split_gossip_value(&value);
        prop_assert_eq!(split, endpoint.as_str());
        prop_assert_eq!(decode_z85(text.unwrap()), Ok(key));
    }
}
