//! A message that libzmq fails partway, end to end: the peer it was for
//! is reported EXIT at once (`Removal::SendFailed`), rather than kept with
//! the message lost and its link left inside that message.

use crate::node::link::tests::cut_after_header;
use crate::{Event, Node, PortRange};
use std::time::{Duration, Instant};
use uuid::Uuid;

const PORT: u16 = 53045;

fn node(name: &str) -> Node {
    Node::builder()
        .name(name)
        .interface("lo")
        .beacon_port(PORT)
        .beacon_interval(Duration::from_millis(100))
        .port_range(PortRange::Any)
        .build()
        .unwrap()
}

/// Runs both nodes until `a` has seen `b` ENTER; returns the endpoint it
/// links to.
fn enter(a: &mut Node, b: &mut Node) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "the nodes never met");
        a.run_once(Some(Duration::from_millis(5))).unwrap();
        b.run_once(Some(Duration::from_millis(5))).unwrap();
        while b.next_event().is_some() {}
        while let Some(event) = a.next_event() {
            if let Event::Enter { peer, endpoint, .. } = event {
                if peer == b.uuid() {
                    return endpoint;
                }
            }
        }
    }
}

fn exit_of(event: Option<Event>, uuid: Uuid) -> bool {
    matches!(event, Some(Event::Exit { peer, .. }) if peer == uuid)
}

#[test]
fn a_message_lost_partway_is_followed_by_exit_at_once() {
    let mut a = node("a");
    let mut b = node("b");
    let endpoint = enter(&mut a, &mut b);
    a.whisper_slices(b.uuid(), &[b"before"]).unwrap();
    // The link to b breaks between this message's header and content.
    cut_after_header(&endpoint);
    a.whisper_slices(b.uuid(), &[b"one", b"two"]).unwrap();
    assert!(
        exit_of(a.next_event(), b.uuid()),
        "the peer a message was lost to is reported EXIT at once"
    );
    // b's next beacon brings it back on a new link, which carries the
    // next message; b gets the messages before and after, nothing of the
    // lost one.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = Vec::new();
    let mut sent_after = false;
    while got.len() < 2 && Instant::now() < deadline {
        a.run_once(Some(Duration::from_millis(5))).unwrap();
        b.run_once(Some(Duration::from_millis(5))).unwrap();
        while let Some(event) = a.next_event() {
            if matches!(event, Event::Enter { peer, .. } if peer == b.uuid()) && !sent_after {
                a.whisper_slices(b.uuid(), &[b"after"]).unwrap();
                sent_after = true;
            }
        }
        while let Some(event) = b.next_event() {
            if let Event::Whisper { content, .. } = event {
                got.push(content.iter().map(|f| f.as_slice().to_vec()).collect::<Vec<_>>());
            }
        }
    }
    assert!(sent_after, "b came back (ENTER) after its EXIT");
    assert_eq!(got, [vec![b"before".to_vec()], vec![b"after".to_vec()]]);
}
