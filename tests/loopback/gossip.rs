//! ZGossip with real sockets on loopback: nodes with beacons switched off
//! find each other only through a gossip server.

use std::time::{Duration, Instant};
use zre::{Event, GossipEvent, GossipServerConfig, GossipService, Node, PortRange};

const PATIENCE: Duration = Duration::from_secs(20);

fn gossip_node(name: &str, server: &str) -> Node {
    Node::builder()
        .name(name)
        .interface("lo")
        .beacons(false)
        .port_range(PortRange::Any)
        .gossip(server)
        .build()
        .unwrap()
}

#[test]
fn beaconless_nodes_meet_through_a_gossip_server_and_exchange_messages() {
    let mut server = GossipService::bind(&["tcp://127.0.0.1:*"], GossipServerConfig::default()).unwrap();
    let endpoint = server.endpoints()[0].clone();
    let mut a = gossip_node("gossip-a", &endpoint);
    let mut b = gossip_node("gossip-b", &endpoint);
    let (mut seen_a, mut seen_b) = (Vec::new(), Vec::new());
    let mut delivered = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    let entered = |seen: &Vec<Event>| seen.iter().any(|e| e.kind() == "ENTER");
    while !(entered(&seen_a) && entered(&seen_b)) {
        assert!(
            Instant::now() < deadline,
            "no ENTER via gossip: {seen_a:?} {seen_b:?} {delivered:?}"
        );
        server.run_once(Some(Duration::from_millis(5))).unwrap();
        while let Some(event) = server.next_event() {
            delivered.push(event);
        }
        for (node, seen) in [(&mut a, &mut seen_a), (&mut b, &mut seen_b)] {
            node.run_once(Some(Duration::from_millis(5))).unwrap();
            seen.extend(std::iter::from_fn(|| node.next_event()));
        }
    }
    // The server holds both nodes' tuples: UUID (upper-case hex) -> endpoint.
    let tuples = server.tuples();
    assert_eq!(tuples.len(), 2, "{tuples:?}");
    let key_a = zre::ZyreUuid(a.uuid()).to_string();
    assert!(tuples.contains(&(key_a, a.endpoint().to_string())));
    assert!(
        delivered
            .iter()
            .all(|e| matches!(e, GossipEvent::Delivered { .. }))
    );

    a.join("over-gossip").unwrap();
    b.join("over-gossip").unwrap();
    let b_uuid = b.uuid();
    let deadline = Instant::now() + PATIENCE;
    let mut shouted = false;
    loop {
        assert!(Instant::now() < deadline, "{seen_a:?} {seen_b:?}");
        server.run_once(Some(Duration::from_millis(5))).unwrap();
        for (node, seen) in [(&mut a, &mut seen_a), (&mut b, &mut seen_b)] {
            node.run_once(Some(Duration::from_millis(5))).unwrap();
            seen.extend(std::iter::from_fn(|| node.next_event()));
        }
        if !shouted && !a.peers_by_group("over-gossip").is_empty() {
            a.shout_str("over-gossip", "hello via gossip").unwrap();
            a.whisper_str(b_uuid, "and privately").unwrap();
            shouted = true;
        }
        let got = |kind: &str| seen_b.iter().any(|e| e.kind() == kind);
        if got("SHOUT") && got("WHISPER") {
            break;
        }
    }
    // When a stops, b sees EXIT at once (GOODBYE; no beacons here).
    drop(a);
    let deadline = Instant::now() + PATIENCE;
    while !seen_b.iter().any(|e| e.kind() == "EXIT") {
        assert!(Instant::now() < deadline);
        b.run_once(Some(Duration::from_millis(10))).unwrap();
        seen_b.extend(std::iter::from_fn(|| b.next_event()));
    }
}

/// A gossip-only node says goodbye with GOODBYE (no beacon can): one that
/// stops after its peer left reads that GOODBYE in stop() and has no link
/// left to flush, so it does not wait out the linger time for nobody.
#[test]
fn stopping_hears_out_a_peer_that_already_said_goodbye() {
    let mut server = GossipService::bind(&["tcp://127.0.0.1:*"], GossipServerConfig::default()).unwrap();
    let endpoint = server.endpoints()[0].clone();
    let mut first = gossip_node("first", &endpoint);
    let mut second = gossip_node("second", &endpoint);
    let (mut seen_first, mut seen_second) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + PATIENCE;
    let entered = |seen: &Vec<Event>| seen.iter().any(|e| e.kind() == "ENTER");
    while !(entered(&seen_first) && entered(&seen_second)) {
        assert!(Instant::now() < deadline, "{seen_first:?} {seen_second:?}");
        server.run_once(Some(Duration::from_millis(5))).unwrap();
        while server.next_event().is_some() {}
        for (node, seen) in [(&mut first, &mut seen_first), (&mut second, &mut seen_second)] {
            node.run_once(Some(Duration::from_millis(5))).unwrap();
            seen.extend(std::iter::from_fn(|| node.next_event()));
        }
    }
    let first_uuid = first.uuid();
    // The first leaves while the second is not being polled at all.
    drop(first);
    // When drop returns, the first's GOODBYE has been written to TCP; the
    // second's libzmq I/O thread moves it into the inbox on its own time
    // (microseconds when idle, longer on a loaded CI machine). Give it
    // that time without polling the node, which would read the GOODBYE
    // the ordinary way instead of in stop().
    std::thread::sleep(Duration::from_millis(500));
    let stopping = Instant::now();
    second.stop();
    let events: Vec<Event> = std::iter::from_fn(|| second.next_event()).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind()).collect();
    assert_eq!(kinds, vec!["EXIT", "STOP"], "{events:?}");
    assert_eq!(events[0].peer(), Some(first_uuid));
    // Its GOODBYE was read during stop: no link was left to flush, which
    // would have waited out the linger (5 s) for nobody.
    assert!(
        stopping.elapsed() < Duration::from_secs(4),
        "{:?}",
        stopping.elapsed()
    );
}

#[test]
fn a_gossip_service_refuses_endpoints_a_router_cannot_bind_and_says_what_works() {
    for endpoint in [
        "udp://127.0.0.1:5",
        "pgm://eth0;239.1.1.1:5555",
        "127.0.0.1:31337",
        "tcp://x",
    ] {
        let err = GossipService::bind(&[endpoint], GossipServerConfig::default())
            .err()
            .unwrap_or_else(|| panic!("{endpoint} was bound"));
        let text = err.to_string();
        assert!(text.contains(endpoint), "{text}");
        assert!(
            text.contains("tcp://HOST:PORT") && text.contains("ipc://PATH"),
            "{text}"
        );
        assert!(!text.contains("not compatible"), "{text}");
    }
}

/// `tcp://IFACE:PORT`, as libzmq documents for bind: the interface's
/// address is bound (the libzmq the zmq crate builds has no getifaddrs
/// and would answer "No such device"); a name no interface has says so.
#[test]
fn a_gossip_service_binds_an_interface_by_name() {
    let server = GossipService::bind(&["tcp://lo:*"], GossipServerConfig::default()).unwrap();
    let bound = server.endpoints();
    assert_eq!(bound.len(), 1);
    assert!(bound[0].starts_with("tcp://127.0.0.1:"), "{bound:?}");
    let err = GossipService::bind(&["tcp://nosuch0:31337"], GossipServerConfig::default())
        .err()
        .expect("no such interface");
    let text = err.to_string();
    assert!(text.contains("no interface is named nosuch0"), "{text}");
}
