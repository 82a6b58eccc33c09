//! Issue 25, fault 5, in the core: a CURVE peer's UUID, the key it proved
//! in the handshake (libzmq's `User-Id`, which our ZAP handler sets to the
//! client key) and its HELLO's `X-PUBLICKEY` go together. A HELLO naming
//! another key than the proven one, or a message under the UUID of a peer
//! that has another key, is refused with a log line, once a second at
//! most. The live check is in `network_faults_netns.rs`.

use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;
use zre::core::{Action, CoreConfig, Event, NodeCore, peer_identity};
use zre::wire::{Body, Hello, ZreMessage, curve_key};

/// Every log line of this test binary (the tests filter by the keys they
/// use, which no other test names).
static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        LINES
            .lock()
            .unwrap()
            .push(format!("{} {}", record.level(), record.args()));
    }
    fn flush(&self) {}
}

fn capture_logs() {
    // Each test calls it; the first wins.
    let _ = log::set_logger(&Capture);
    log::set_max_level(log::LevelFilter::Trace);
}

fn lines_naming(text: &str) -> Vec<String> {
    LINES
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains(text))
        .cloned()
        .collect()
}

fn key(n: u8) -> [u8; 32] {
    let mut key = [n; 32];
    key[0] = 0x25;
    key
}

fn curve_node(own: u8) -> NodeCore {
    let mut config = CoreConfig::new(Uuid::from_u128(1), "a", "tcp://10.25.0.2:41000", 41000);
    config.curve_public_key = Some(key(own));
    NodeCore::new(config, Instant::now())
}

fn hello(claimed: &[u8; 32]) -> Vec<u8> {
    let z85 = curve_key::encode_z85(claimed);
    ZreMessage::new(
        1,
        Body::Hello(Box::new(Hello {
            endpoint: "tcp://10.25.0.3:41000",
            groups: vec![],
            status: 0,
            name: "m",
            headers: vec![("X-PUBLICKEY", z85.as_str())],
        })),
    )
    .to_bytes()
    .unwrap()
}

fn whisper(sequence: u16) -> Vec<u8> {
    ZreMessage::new(sequence, Body::Whisper).to_bytes().unwrap()
}

fn drain(core: &mut NodeCore) -> (Vec<Action>, Vec<Event>) {
    let mut actions = Vec::new();
    while let Some(action) = core.poll_action() {
        actions.push(action);
    }
    let mut events = Vec::new();
    while let Some(event) = core.poll_event() {
        events.push(event);
    }
    (actions, events)
}

fn connects(actions: &[Action]) -> Vec<(Uuid, Option<[u8; 32]>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Connect {
                peer,
                curve_server_key,
                ..
            } => Some((*peer, *curve_server_key)),
            _ => None,
        })
        .collect()
}

/// M proved key 0x4d… in its handshake but its HELLO names 0x41… (another
/// node's key, which M does not hold): no peer, no link to it, a warning
/// naming both keys, and the warning rate-limited. The same HELLO proved
/// with the key it names is taken.
#[test]
fn a_hello_naming_another_key_than_the_proven_one_is_refused_with_a_log_line() {
    capture_logs();
    let mut a = curve_node(0x11);
    let m = Uuid::from_u128(0x4d);
    let (claimed, proven) = (key(0x41), key(0x4d));
    let t0 = Instant::now();
    for i in 0..3 {
        a.handle_message_proven(
            t0,
            &peer_identity(&m),
            Some(&proven),
            &hello(&claimed),
            Vec::new(),
        );
        let (actions, events) = drain(&mut a);
        assert!(connects(&actions).is_empty(), "try {i}: linked to {actions:?}");
        assert!(events.is_empty(), "try {i}: {events:?}");
        assert!(a.peers().is_empty(), "try {i}: a peer was made");
    }
    let said = lines_naming(&curve_key::encode_z85(&proven));
    assert_eq!(
        said.len(),
        1,
        "one line for three refusals in one second: {said:?}"
    );
    assert!(said[0].starts_with("WARN "), "{said:?}");
    assert!(said[0].contains(&curve_key::encode_z85(&claimed)), "{said:?}");
    assert!(said[0].contains(&m.simple().to_string()), "{said:?}");
    // A second later the next one is said, with the count held back.
    a.handle_message_proven(
        t0 + Duration::from_secs(1),
        &peer_identity(&m),
        Some(&proven),
        &hello(&claimed),
        Vec::new(),
    );
    let said = lines_naming(&curve_key::encode_z85(&proven));
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(said[1].contains("2 more log lines like it not shown"), "{said:?}");

    // The HELLO its handshake proves is taken: we link back with that key.
    a.handle_message_proven(
        t0,
        &peer_identity(&m),
        Some(&claimed),
        &hello(&claimed),
        Vec::new(),
    );
    let (actions, _) = drain(&mut a);
    assert_eq!(connects(&actions), vec![(m, Some(claimed))]);
}

/// P entered with key 0x51…; a message under P's UUID over a connection
/// that proved 0x52… (someone else claiming P's UUID) is not P's: no
/// event, and P's own messages still arrive in order.
#[test]
fn a_message_under_a_known_uuid_from_another_key_is_refused() {
    capture_logs();
    let mut a = curve_node(0x12);
    let p = Uuid::from_u128(0x51);
    let (own, other) = (key(0x51), key(0x52));
    let t0 = Instant::now();
    a.handle_message_proven(t0, &peer_identity(&p), Some(&own), &hello(&own), Vec::new());
    a.handle_link_up(t0, p);
    let (_, events) = drain(&mut a);
    assert_eq!(
        events.iter().filter(|e| e.kind() == "ENTER").count(),
        1,
        "{events:?}"
    );

    a.handle_message_proven(
        t0,
        &peer_identity(&p),
        Some(&other),
        &whisper(2),
        vec![b"forged".into()],
    );
    let (_, events) = drain(&mut a);
    assert!(events.is_empty(), "{events:?}");
    let said = lines_naming(&curve_key::encode_z85(&other));
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].contains(&curve_key::encode_z85(&own)), "{said:?}");

    a.handle_message_proven(
        t0,
        &peer_identity(&p),
        Some(&own),
        &whisper(2),
        vec![b"real".into()],
    );
    let (_, events) = drain(&mut a);
    let whispers: Vec<&[u8]> = events
        .iter()
        .filter_map(|e| match e {
            Event::Whisper { content, .. } => Some(content[0].as_slice()),
            _ => None,
        })
        .collect();
    assert_eq!(whispers, [b"real".as_slice()], "{events:?}");
    assert!(events.iter().all(|e| e.kind() != "EXIT"), "{events:?}");
}
