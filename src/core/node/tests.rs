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

/// `peer`'s HELLO (sequence 1) advertising `endpoint`; whether the core
/// keeps it.
fn hello_from(core: &mut NodeCore, now: Instant, peer: Uuid, endpoint: &str) -> bool {
    let identity = peer_identity(&peer);
    let hello = Body::Hello(Box::new(Hello {
        endpoint,
        groups: vec![],
        status: 0,
        name: "peer",
        headers: vec![],
    }));
    let header = ZreMessage {
        sequence: 1,
        body: hello,
    }
    .to_bytes()
    .unwrap();
    core.handle_message(now, &identity, &header, Vec::new())
}

/// `peer`'s PING-OK (sequence 2, after its HELLO): in plain mode, the
/// proof that our link reaches it, which its ENTER waits for.
fn ping_ok_from(core: &mut NodeCore, now: Instant, peer: Uuid) -> bool {
    let identity = peer_identity(&peer);
    let header = ZreMessage {
        sequence: 2,
        body: Body::PingOk,
    }
    .to_bytes()
    .unwrap();
    core.handle_message(now, &identity, &header, Vec::new())
}

/// The core says whose messages it keeps, for an I/O layer short of
/// descriptors to shed the connections of the others first (see
/// `inbox_watch.rs`): not a message before its sender's HELLO, a HELLO
/// refused for a full table, or a stranger's; yes a peer that said HELLO,
/// waiting for its PING-OK or ENTERed.
#[test]
fn the_core_says_whether_it_keeps_a_messages_sender() {
    let now = Instant::now();
    let mut config = CoreConfig::new(Uuid::from_u128(1), "us", "tcp://10.0.0.1:41000", 41000);
    config.max_peers = 1;
    let mut core = NodeCore::new(config, now);
    let (kept, refused) = (Uuid::from_u128(2), Uuid::from_u128(3));
    let whisper = |sequence| ZreMessage::new(sequence, Body::Whisper).to_bytes().unwrap();
    assert!(
        !core.handle_message(now, &peer_identity(&kept), &whisper(2), Vec::new()),
        "before its HELLO"
    );
    assert!(
        hello_from(&mut core, now, kept, "tcp://10.0.0.2:41001"),
        "its HELLO"
    );
    assert!(ping_ok_from(&mut core, now, kept), "its PING-OK");
    assert!(
        !hello_from(&mut core, now, refused, "tcp://10.0.0.3:41001"),
        "a HELLO beyond --max-peers"
    );
    assert!(
        !core.handle_message(now, b"not a peer", &whisper(1), Vec::new()),
        "a stranger's identity"
    );
    assert!(core.handle_message(now, &peer_identity(&kept), &whisper(3), Vec::new()));
    let (_, events) = drain(&mut core);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Whisper { peer, .. } if *peer == kept))
    );
}

/// The actions and events waiting, taken.
fn drain(core: &mut NodeCore) -> (Vec<Action>, Vec<Event>) {
    let actions = std::iter::from_fn(|| core.poll_action()).collect();
    let events = std::iter::from_fn(|| core.poll_event()).collect();
    (actions, events)
}

#[test]
fn a_zyre_hello_names_the_endpoint_its_beacon_gave() {
    let now = Instant::now();
    let mut core = ipv6_core(now);
    let peer = Uuid::from_u128(2);
    let from = SocketAddr::V6(std::net::SocketAddrV6::new(
        "fe80::2".parse().unwrap(),
        5670,
        0,
        2,
    ));
    core.handle_beacon_from(now, from, &Beacon::new(peer, 41001).to_bytes());
    let (actions, _) = drain(&mut core);
    assert!(
        matches!(actions.first(), Some(Action::Connect { .. })),
        "{actions:?}"
    );
    // Zyre cuts `%iface]` out of a link-local HELLO: the same endpoint.
    hello_from(&mut core, now, peer, "tcp://[fe80::2:41001");
    ping_ok_from(&mut core, now, peer);
    let (actions, events) = drain(&mut core);
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::Connect { .. } | Action::Disconnect { .. })),
        "no new link: {actions:?}"
    );
    match events.as_slice() {
        [Event::Enter { endpoint, .. }] => assert_eq!(endpoint, "tcp://[fe80::2%2]:41001"),
        other => panic!("expected ENTER, got {other:?}"),
    }
    assert_eq!(core.peer_endpoint(peer), Some("tcp://[fe80::2%2]:41001"));
}

#[test]
fn a_host_name_endpoint_is_linked_by_name() {
    let now = Instant::now();
    let config = CoreConfig::new(Uuid::from_u128(1), "us", "tcp://10.0.0.1:41000", 41000);
    let mut core = NodeCore::new(config, now);
    let peer = Uuid::from_u128(3);
    // Zyre with ZSYS_INTERFACE=* advertises its host name.
    hello_from(&mut core, now, peer, "tcp://zyre-host:41001");
    ping_ok_from(&mut core, now, peer);
    let (actions, events) = drain(&mut core);
    match actions.first() {
        Some(Action::Connect { endpoint, .. }) => {
            assert!(
                matches!(endpoint, Endpoint { host: endpoint::Host::Name(name), port: 41001 } if &**name == "zyre-host")
            );
            assert_eq!(endpoint.to_string(), "tcp://zyre-host:41001");
        }
        other => panic!("expected a Connect, got {other:?}"),
    }
    assert!(
        matches!(events.as_slice(), [Event::Enter { endpoint, .. }] if endpoint == "tcp://zyre-host:41001")
    );
    // Its beacons (from its address) change nothing: it is known.
    let from = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3));
    core.handle_beacon(now, from, &Beacon::new(peer, 41001).to_bytes());
    assert_eq!(drain(&mut core), (vec![], vec![]));
    assert_eq!(core.peer_endpoint(peer), Some("tcp://zyre-host:41001"));
}

/// Between a peer's HELLO and its PING-OK the counters say where it is:
/// said HELLO (`peers_ready`) and waiting for its ENTER (`peers_unproven`),
/// while `peers()` and `pending_peer_count()` leave it out (a user's trial
/// saw `/peers` empty and `/stats` say "peers 1 (pending 0)").
#[test]
fn a_peer_waiting_for_its_ping_ok_is_counted_as_unproven() {
    let now = Instant::now();
    let config = CoreConfig::new(Uuid::from_u128(1), "us", "tcp://10.0.0.1:41000", 41000);
    let mut core = NodeCore::new(config, now);
    let peer = Uuid::from_u128(4);
    hello_from(&mut core, now, peer, "tcp://10.0.0.4:41001");
    let counters = core.counters();
    assert_eq!(
        (
            counters.peers_ready,
            counters.peers_unproven,
            counters.peers_pending
        ),
        (1, 1, 0)
    );
    assert!(core.peers().is_empty());
    assert_eq!(core.pending_peer_count(), 0);
    ping_ok_from(&mut core, now, peer);
    let counters = core.counters();
    assert_eq!(
        (
            counters.peers_ready,
            counters.peers_unproven,
            counters.peers_pending
        ),
        (1, 0, 0)
    );
    assert_eq!(core.peers(), vec![peer]);
}
