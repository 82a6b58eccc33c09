//! Unit tests of the ZGossip server that need its private parts.

use super::*;

fn frame(message: GossipMessage<'_>) -> Vec<u8> {
    message.to_bytes().unwrap()
}

fn drain(server: &mut GossipServer) -> Vec<ServerOutput> {
    std::iter::from_fn(|| server.poll_output()).collect()
}

fn sent_to<'a>(outputs: &'a [ServerOutput], who: &[u8]) -> Vec<GossipMessage<'a>> {
    outputs
        .iter()
        .filter_map(|output| match output {
            ServerOutput::SendToClient { client, frame, .. } if client == who => {
                Some(GossipMessage::parse(frame).unwrap())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn ceil_millis_rounds_up_and_saturates() {
    assert_eq!(ceil_millis(Duration::ZERO), 0);
    assert_eq!(ceil_millis(Duration::from_nanos(1)), 1);
    assert_eq!(ceil_millis(Duration::from_millis(1500)), 1500);
    assert_eq!(ceil_millis(Duration::from_micros(1_500_001)), 1501);
    assert_eq!(ceil_millis(Duration::from_secs(u64::MAX)), u32::MAX);
}

#[test]
fn hello_then_ping_gets_pong_and_unknown_ping_gets_invalid() {
    let t0 = Instant::now();
    let mut server = GossipServer::new(ServerConfig::default(), t0);
    server.handle_client_frame(t0, b"a", &frame(GossipMessage::Ping));
    let out = drain(&mut server);
    assert_eq!(sent_to(&out, b"a"), vec![GossipMessage::Invalid]);

    server.handle_client_frame(t0, b"a", &frame(GossipMessage::Hello));
    server.handle_client_frame(t0, b"a", &frame(GossipMessage::Ping));
    let out = drain(&mut server);
    assert_eq!(sent_to(&out, b"a"), vec![GossipMessage::Pong]);
    assert_eq!(server.client_count(), 1);
}

#[test]
fn pong_from_a_client_gets_invalid_and_forgets_it() {
    let t0 = Instant::now();
    let mut server = GossipServer::new(ServerConfig::default(), t0);
    server.handle_client_frame(t0, b"a", &frame(GossipMessage::Hello));
    server.handle_client_frame(t0, b"a", &frame(GossipMessage::Pong));
    let out = drain(&mut server);
    assert_eq!(sent_to(&out, b"a"), vec![GossipMessage::Invalid]);
    assert_eq!(server.client_count(), 0);
    assert_eq!(server.poll_timeout(), None, "its deadline went with it");
}

#[test]
fn identical_republish_is_forwarded_once_half_the_ttl_has_passed() {
    let t0 = Instant::now();
    let mut server = GossipServer::new(ServerConfig::default(), t0);
    server.handle_client_frame(t0, b"a", &frame(GossipMessage::Hello));
    server.handle_client_frame(t0, b"b", &frame(GossipMessage::Hello));
    let publish = frame(GossipMessage::Publish {
        key: "k",
        value: "v",
        ttl: 3000,
    });
    let mut forwarded_at = Vec::new();
    // The publisher refreshes every ttl/3; b hears about it whenever its
    // copy is more than half used.
    for step in 0..=6u32 {
        let now = t0 + Duration::from_secs(step.into());
        server.handle_client_frame(now, b"a", &publish);
        server.handle_client_frame(now, b"b", &frame(GossipMessage::Ping));
        let out = drain(&mut server);
        if sent_to(&out, b"b")
            .iter()
            .any(|m| matches!(m, GossipMessage::Publish { .. }))
        {
            forwarded_at.push(step);
        }
    }
    assert_eq!(forwarded_at, vec![0, 2, 4, 6]);
}

#[test]
fn a_stale_copy_does_not_shorten_the_expiry() {
    let t0 = Instant::now();
    let mut server = GossipServer::new(ServerConfig::default(), t0);
    server.handle_client_frame(t0, b"a", &frame(GossipMessage::Hello));
    let publish = |ttl| {
        frame(GossipMessage::Publish {
            key: "k",
            value: "v",
            ttl,
        })
    };
    server.handle_client_frame(t0, b"a", &publish(5000));
    server.handle_client_frame(t0, b"a", &publish(1000));
    assert_eq!(
        server.expiries.first().map(|(at, _)| *at),
        Some(t0 + Duration::from_secs(5))
    );
}

#[test]
fn host_publish_with_an_unsendable_key_is_dropped() {
    let t0 = Instant::now();
    let mut server = GossipServer::new(ServerConfig::default(), t0);
    server.publish(t0, &"k".repeat(256), "v", Duration::ZERO);
    assert_eq!(server.tuples().count(), 0);
    assert!(drain(&mut server).is_empty());
}
