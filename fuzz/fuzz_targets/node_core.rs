//! Arbitrary traffic into the protocol core: beacons, inbox messages with
//! identities of any length, gossip tuples, commands and time jumps, in any
//! order. The core never panics and never holds more peers than its limit.
//! The first byte picks plain or CURVE mode; CURVE inputs (v3 beacons,
//! HELLOs with X-PUBLICKEY, `endpoint|key` gossip values) come both well
//! formed around fuzzed keys and as raw bytes. In CURVE mode every Connect
//! carries a usable key, in plain mode none.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};
use uuid::Uuid;
use zre::core::{Action, CoreConfig, NodeCore};
use zre::wire::curve_key::{encode_z85, is_usable_key};
use zre::wire::{Beacon, Body, Hello, ZreMessage};

const MAX_PEERS: usize = 8;

/// Takes `len` bytes (or what is left) off the front of the input.
fn take<'a>(data: &mut &'a [u8], len: usize) -> &'a [u8] {
    let len = len.min(data.len());
    let (head, tail) = data.split_at(len);
    *data = tail;
    head
}

fn byte(data: &mut &[u8]) -> u8 {
    take(data, 1).first().copied().unwrap_or(0)
}

/// A 32-byte key from the input, zero-padded.
fn key(data: &mut &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    let bytes = take(data, 32);
    key[..bytes.len()].copy_from_slice(bytes);
    key
}

/// Z85 text of a fuzzed key, sometimes with one byte changed (which may
/// make it no key text at all, or another key).
fn key_text(data: &mut &[u8]) -> String {
    let mut text = encode_z85(&key(data)).into_bytes();
    let at = byte(data) as usize;
    if at < text.len() {
        text[at] = byte(data);
    }
    String::from_utf8_lossy(&text).into_owned()
}

fuzz_target!(|input: &[u8]| {
    let start = Instant::now();
    let mut now = start;
    let mut data = input;
    let curve = byte(&mut data) % 2 == 1;
    let mut config = CoreConfig::new(Uuid::from_u128(1), "fuzz", "tcp://10.0.0.1:41000", 41000);
    config.max_peers = MAX_PEERS;
    config.curve_public_key = curve.then_some([0x55; 32]);
    let mut core = NodeCore::new(config, now);
    while !data.is_empty() {
        match byte(&mut data) % 11 {
            0 => {
                let len = byte(&mut data) as usize % 64;
                let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, byte(&mut data)));
                core.handle_beacon(now, ip, take(&mut data, len));
            }
            1 | 2 => {
                let identity_len = byte(&mut data) as usize % 24;
                let identity = take(&mut data, identity_len).to_vec();
                let header_len = byte(&mut data) as usize;
                let header = take(&mut data, header_len).to_vec();
                let frames = byte(&mut data) % 3;
                let content = (0..frames).map(|_| take(&mut data, 8).to_vec()).collect();
                core.handle_message(now, &identity, &header, content);
            }
            3 => {
                now += Duration::from_millis(u64::from(byte(&mut data)) * 250);
                core.handle_timeout(now);
            }
            4 => {
                let key = String::from_utf8_lossy(take(&mut data, 32)).into_owned();
                let value = String::from_utf8_lossy(take(&mut data, 72)).into_owned();
                core.handle_gossip_tuple(now, &key, &value);
            }
            5 => {
                let group = String::from_utf8_lossy(take(&mut data, 4)).into_owned();
                let _ = match byte(&mut data) % 3 {
                    0 => core.join(&group),
                    1 => core.leave(&group),
                    // Contesting makes the core send and answer ELECT and
                    // LEADER (which arrive through `handle_message`).
                    _ => core.contest(&group),
                };
                let _ = core.leader(&group);
                if byte(&mut data) % 2 == 0 {
                    let _ = core.shout(&group, vec![b"x".to_vec()]);
                } else {
                    // Lent content: the I/O layer sends these headers itself.
                    let mut headers = Vec::new();
                    let _ = core.shout_headers(&group, &mut headers);
                }
            }
            6 => {
                if let Some(peer) = core.peers().first().copied() {
                    if byte(&mut data) % 2 == 0 {
                        let _ = core.whisper(peer, vec![take(&mut data, 4).to_vec()]);
                    } else {
                        let _ = core.whisper_header(peer);
                    }
                }
            }
            7 => {
                // A well-formed beacon of either version, key fuzzed.
                let uuid = Uuid::from_u128(u128::from(byte(&mut data) % 16));
                let port = u16::from(byte(&mut data) % 4) * 1000;
                let curve_key = (byte(&mut data) % 2 == 0).then(|| key(&mut data));
                let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, byte(&mut data)));
                core.handle_beacon(
                    now,
                    ip,
                    &Beacon {
                        uuid,
                        port,
                        curve_key,
                    }
                    .to_bytes(),
                );
            }
            8 => {
                // A HELLO with zero, one or two X-PUBLICKEY headers.
                let uuid = Uuid::from_u128(u128::from(byte(&mut data) % 16));
                let mut identity = vec![1u8];
                identity.extend_from_slice(uuid.as_bytes());
                let endpoint = format!("tcp://10.0.0.{}:{}", byte(&mut data), byte(&mut data));
                let texts: Vec<String> = (0..byte(&mut data) % 3).map(|_| key_text(&mut data)).collect();
                let headers = texts.iter().map(|t| ("X-PUBLICKEY", t.as_str())).collect();
                let hello = Body::Hello(Box::new(Hello {
                    endpoint: &endpoint,
                    groups: vec![],
                    status: 0,
                    name: "h",
                    headers,
                }));
                if let Ok(header) = ZreMessage::new(1, hello).to_bytes() {
                    core.handle_message(now, &identity, &header, Vec::new());
                }
            }
            9 => {
                // A gossip value as Zyre's CURVE mode publishes it.
                let key = Uuid::from_u128(u128::from(byte(&mut data) % 16))
                    .simple()
                    .to_string();
                let value = format!(
                    "tcp://10.0.0.{}:{}|{}",
                    byte(&mut data),
                    byte(&mut data),
                    key_text(&mut data)
                );
                core.handle_gossip_tuple(now, &key, &value);
            }
            _ => {
                if byte(&mut data) == 0xFF {
                    core.stop();
                }
            }
        }
        while let Some(action) = core.poll_action() {
            if let Action::Connect { curve_server_key, .. } = action {
                assert_eq!(curve_server_key.is_some(), curve);
                assert!(curve_server_key.is_none_or(|k| is_usable_key(&k)));
            }
        }
        while core.poll_event().is_some() {}
        assert!(core.peers().len() + core.pending_peer_count() <= MAX_PEERS);
    }
});
