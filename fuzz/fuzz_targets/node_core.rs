//! Arbitrary traffic into the protocol core: beacons, inbox messages with
//! identities of any length, gossip tuples, commands and time jumps, in any
//! order. The core never panics and never holds more peers than its limit.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};
use uuid::Uuid;
use zre::core::{CoreConfig, NodeCore};

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

fuzz_target!(|input: &[u8]| {
    let start = Instant::now();
    let mut now = start;
    let mut config = CoreConfig::new(Uuid::from_u128(1), "fuzz", "tcp://10.0.0.1:41000", 41000);
    config.max_peers = MAX_PEERS;
    let mut core = NodeCore::new(config, now);
    let mut data = input;
    while !data.is_empty() {
        match byte(&mut data) % 8 {
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
                let value = String::from_utf8_lossy(take(&mut data, 24)).into_owned();
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
            _ => {
                if byte(&mut data) == 0xFF {
                    core.stop();
                }
            }
        }
        while core.poll_action().is_some() {}
        while core.poll_event().is_some() {}
        assert!(core.peers().len() + core.pending_peer_count() <= MAX_PEERS);
    }
});
