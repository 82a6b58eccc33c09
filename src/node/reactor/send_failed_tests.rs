//! A message that libzmq fails partway, end to end: the peer it was for
//! is reported EXIT at once (`Removal::SendFailed`), rather than kept with
//! the message lost and its link left inside that message.

use crate::core::peer_identity;
use crate::node::link::tests::cut_after_header;
use crate::{Event, Node, PortRange};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// A beacon port per test: tests run side by side, and nodes on one port
/// would find the other test's nodes.
const PORT: u16 = 53045;
const RESTART_PORT: u16 = 53046;
const RELINK_PORT: u16 = 53047;

fn node(name: &str, port: u16) -> Node {
    Node::builder()
        .name(name)
        .interface("lo")
        .beacon_port(port)
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
    let mut a = node("a", PORT);
    let mut b = node("b", PORT);
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

/// A loss is settled against the link it happened on, once the actions
/// queued with it are applied: here b restarted under its UUID (a HELLO
/// with a new name) in the same batch, so the core ended the old session
/// (its EXIT) and made a new one, with a new link, after the message for
/// the old one was queued. The message is lost with the old session; the
/// new one stays.
#[test]
fn a_loss_on_a_link_the_restart_closed_spares_the_new_session() {
    use crate::node::link::LinkId;
    use crate::wire::{Body, Hello, ZreMessage};

    let mut a = node("a", RESTART_PORT);
    let mut b = node("b", RESTART_PORT);
    let endpoint = enter(&mut a, &mut b);
    let old_link = a.links.token_of(LinkId::Peer(b.uuid())).unwrap();
    // Queued, not yet sent: its link breaks after the header.
    a.core.whisper(b.uuid(), vec![b"lost".to_vec()]).unwrap();
    cut_after_header(&endpoint);
    let hello = ZreMessage::new(
        1,
        Body::Hello(Box::new(Hello {
            endpoint: &endpoint,
            groups: vec![],
            status: 0,
            name: "b, restarted",
            headers: vec![],
        })),
    )
    .to_bytes()
    .unwrap();
    let identity = peer_identity(&b.uuid());
    a.core
        .handle_message(Instant::now(), &identity, &hello, Vec::new());
    // Its PING-OK to the PING that went with our HELLO on the new link:
    // the proof its ENTER waits for.
    let ping_ok = ZreMessage::new(2, Body::PingOk).to_bytes().unwrap();
    a.core
        .handle_message(Instant::now(), &identity, &ping_ok, Vec::new());
    assert_eq!(a.links.backlog(), 0, "the whisper goes into libzmq, to be cut");
    a.apply_core_actions().unwrap();
    assert_eq!(a.lost_links.len(), 1, "the whisper was lost on the old link");
    // Settled now, with the restart's actions applied.
    a.apply_actions().unwrap();
    assert!(a.lost_links.is_empty());

    let new_link = a.links.token_of(LinkId::Peer(b.uuid()));
    assert!(
        new_link.is_some_and(|link| link != old_link),
        "b's new session has its own link"
    );
    assert!(a.peers().contains(&b.uuid()), "b's new session is kept");
    let exits = std::iter::from_fn(|| a.next_event())
        .filter(|event| matches!(event, Event::Exit { peer, .. } if *peer == b.uuid()))
        .count();
    assert_eq!(exits, 1, "one EXIT: the old session's, for its restart");
}

/// A loss is not settled on a UUID that its link serves only since
/// (`Action::Relink`: a contest's winner takes the link after the
/// holder's EXIT): that session lost nothing while the link still works.
#[test]
fn a_loss_on_a_link_relinked_since_spares_the_peer_it_serves_now() {
    use crate::core::Removal;
    use crate::node::link::LinkId;

    let mut a = node("a", RELINK_PORT);
    let mut b = node("b", RELINK_PORT);
    let mut c = node("c", RELINK_PORT);
    enter(&mut a, &mut b);
    enter(&mut a, &mut c);
    let (b, c) = (b.uuid(), c.uuid());
    let link = a.links.token_of(LinkId::Peer(b)).unwrap();
    // b fell too far behind on its link, which does not break; the link
    // then moves to c, as a contest's Relink moves it.
    a.note_lost_link(link, LinkId::Peer(b), Removal::TooFarBehind);
    a.links
        .relink(a.poll.registry(), LinkId::Peer(b), LinkId::Peer(c));
    a.apply_actions().unwrap();
    assert!(a.lost_links.is_empty(), "the loss was settled");
    assert!(a.peers().contains(&c), "c, which lost nothing, stays");
    assert_eq!(a.links.token_of(LinkId::Peer(c)), Some(link));
    while a.next_event().is_some() {}
    // A loss for each UUID the link served in one batch: c's own goes.
    a.note_lost_link(link, LinkId::Peer(b), Removal::TooFarBehind);
    a.note_lost_link(link, LinkId::Peer(c), Removal::TooFarBehind);
    a.apply_actions().unwrap();
    assert!(!a.peers().contains(&c), "c, which lost a message, is removed");
    assert!(exit_of(a.next_event(), c), "with its EXIT");
}
