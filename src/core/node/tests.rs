//! Unit tests of the node core that need its private parts.

use super::*;
use std::net::Ipv4Addr;

#[test]
fn a_plain_node_ignores_a_curve_beacon() {
    let now = Instant::now();
    let config = CoreConfig::new(Uuid::from_u128(1), "us", "tcp://10.0.0.1:41000", 41000);
    let mut core = NodeCore::new(config, now);
    let from = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
    let curve = Beacon {
        uuid: Uuid::from_u128(2),
        port: 41001,
        curve_key: Some([7; 32]),
    };
    core.handle_beacon(now, from, &curve.to_bytes());
    assert_eq!(core.poll_action(), None);
    assert_eq!(core.pending_peer_count(), 0);
    // The same peer's plain beacon is a peer.
    core.handle_beacon(now, from, &Beacon::new(Uuid::from_u128(2), 41001).to_bytes());
    assert!(matches!(core.poll_action(), Some(Action::Connect { .. })));
}

/// IPv6 mode on interface index 2 (`six`), our address link-local.
fn ipv6_core(now: Instant) -> NodeCore {
    let mut config = CoreConfig::new(Uuid::from_u128(1), "us", "tcp://[fe80::1]:41000", 41000);
    config.link_scope = Some(super::endpoint::LinkScope {
        index: 2,
        name: "six".into(),
    });
    config.beacon_subnet = Some(crate::core::Subnet::new("fe80::1".parse().unwrap(), 64));
    NodeCore::new(config, now)
}

#[test]
fn link_local_beacons_need_our_scope() {
    let now = Instant::now();
    let mut core = ipv6_core(now);
    let beacon = Beacon::new(Uuid::from_u128(2), 41001).to_bytes();
    let from = |scope| {
        SocketAddr::V6(std::net::SocketAddrV6::new(
            "fe80::2".parse().unwrap(),
            5670,
            0,
            scope,
        ))
    };
    // No scope, or another interface's: dropped.
    core.handle_beacon_from(now, from(0), &beacon);
    core.handle_beacon_from(now, from(3), &beacon);
    core.handle_beacon(now, "fe80::2".parse().unwrap(), &beacon);
    assert_eq!(core.poll_action(), None);
    assert_eq!(core.pending_peer_count(), 0);
    // Ours: the endpoint carries the scope, by index.
    core.handle_beacon_from(now, from(2), &beacon);
    match core.poll_action() {
        Some(Action::Connect { endpoint, .. }) => assert_eq!(endpoint.to_string(), "tcp://[fe80::2%2]:41001"),
        other => panic!("expected a Connect, got {other:?}"),
    }
}

#[test]
fn ipv4_mode_drops_link_local_beacons() {
    let now = Instant::now();
    let config = CoreConfig::new(Uuid::from_u128(1), "us", "tcp://10.0.0.1:41000", 41000);
    let mut core = NodeCore::new(config, now);
    let from = SocketAddr::V6(std::net::SocketAddrV6::new(
        "fe80::2".parse().unwrap(),
        5670,
        0,
        2,
    ));
    core.handle_beacon_from(now, from, &Beacon::new(Uuid::from_u128(2), 41001).to_bytes());
    assert_eq!(core.poll_action(), None);
}
