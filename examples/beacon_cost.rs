//! What a beacon from a peer we know costs the core, for callgrind: two
//! `NodeCore`s (one in IPv4 mode, one in IPv6 mode serving interface 2)
//! each meet a peer by its HELLO, then take `N` (default 100 000) of its
//! beacons, the path every peer's beacon takes every second. No socket:
//! the cores are sans-I/O, so the count is the core's work alone.
//!
//! ```text
//! cargo build --release --example beacon_cost
//! valgrind --tool=callgrind --toggle-collect='*handle_beacon_from*' \
//!   target/release/examples/beacon_cost 100000
//! ```
//!
//! Instructions per beacon = the total callgrind reports / (2 × N).

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::{Duration, Instant};
use zre::Uuid;
use zre::core::{CoreConfig, LinkScope, NodeCore};
use zre::wire::{Beacon, Body, Hello, ZreMessage};

/// A core that knows `peer` (its HELLO came, with `endpoint`), its
/// outputs drained.
fn core_with_peer(config: CoreConfig, now: Instant, peer: Uuid, endpoint: &str) -> NodeCore {
    let mut core = NodeCore::new(config, now);
    let identity = zre::core::peer_identity(&peer);
    let hello = ZreMessage::new(
        1,
        Body::Hello(Box::new(Hello {
            endpoint,
            groups: vec![],
            status: 0,
            name: "peer",
            headers: vec![],
        })),
    )
    .to_bytes()
    .expect("a HELLO");
    core.handle_message(now, &identity, &hello, Vec::new());
    // Its PING-OK to our PING: the proof its ENTER waits for.
    let ping_ok = ZreMessage::new(2, Body::PingOk).to_bytes().expect("a PING-OK");
    core.handle_message(now, &identity, &ping_ok, Vec::new());
    assert!(core.peers().contains(&peer), "the peer said HELLO and answered");
    while core.poll_action().is_some() {}
    while core.poll_event().is_some() {}
    core
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let now = Instant::now();
    let peer = Uuid::from_u128(0x3c5b_7e12_9a01_4f2b_8d6e_00ff_1020_3040);
    let beacon = Beacon::new(peer, 41001).to_bytes();

    let v4 = CoreConfig::new(Uuid::from_u128(1), "us", "tcp://10.0.0.1:41000", 41000);
    let mut v4 = core_with_peer(v4, now, peer, "tcp://10.0.0.2:41001");
    let from_v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 5670);

    let mut v6 = CoreConfig::new(Uuid::from_u128(1), "us", "tcp://[fe80::1]:41000", 41000);
    v6.link_scope = Some(LinkScope {
        index: 2,
        name: "eth0".into(),
    });
    let mut v6 = core_with_peer(v6, now, peer, "tcp://[fe80::2]:41001");
    let ip6: Ipv6Addr = "fe80::2".parse().expect("an address");
    let from_v6 = SocketAddr::V6(SocketAddrV6::new(ip6, 5670, 0, 2));

    // One beacon a microsecond: no peer expires meanwhile.
    for i in 0..n {
        let at = now + Duration::from_micros(i as u64);
        v4.handle_beacon_from(at, from_v4, black_box(&beacon));
        v6.handle_beacon_from(at, from_v6, black_box(&beacon));
    }
    assert_eq!(v4.peers(), vec![peer]);
    assert_eq!(v6.peers(), vec![peer]);
    assert!(
        !v4.has_actions() && !v6.has_actions(),
        "a known peer's beacon asks for nothing"
    );
    println!("{n} beacons to each of 2 cores");
}
