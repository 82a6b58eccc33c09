//! A receiver that does not take its events: the node stops reading its
//! inbox at `max_events`, libzmq's high-water mark pushes back on the
//! sender over TCP, liveness goes on meanwhile (no EXIT either way, over
//! a pause well past the expired timeout), and
//! once the events are taken every message arrives, once and in order.

use std::time::{Duration, Instant};
use zre::Event;

const BOUND: usize = 64;
const TOTAL: u32 = 6_000;
/// Well past both nodes' expired timeout: PINGs go unanswered meanwhile.
const PAUSE: Duration = Duration::from_secs(8);

/// A loopback node with short liveness timeouts (1 s evasive, 3 s expired).
fn node(name: &str, port: u16) -> zre::NodeBuilder {
    crate::loopback(name, port)
        .evasive_timeout(Duration::from_secs(1))
        .expired_timeout(Duration::from_secs(3))
}

fn exits(events: &[Event]) -> usize {
    events.iter().filter(|e| e.kind() == "EXIT").count()
}

#[test]
fn a_receiver_that_takes_no_events_pushes_back_and_loses_nothing() {
    let port = 53041;
    let mut sender = node("sender", port).send_hwm(100).build().unwrap();
    let mut receiver = node("receiver", port)
        .send_hwm(100) // also the inbox's receive high-water mark
        .max_events(BOUND)
        .build()
        .unwrap();
    let mut sent_seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    // The receiver takes no event from the start.
    while !sent_seen.iter().any(|e: &Event| e.kind() == "ENTER") {
        assert!(Instant::now() < deadline, "the sender never saw the receiver");
        sender.run_once(Some(Duration::from_millis(5))).unwrap();
        receiver.run_once(Some(Duration::from_millis(5))).unwrap();
        sent_seen.extend(std::iter::from_fn(|| sender.next_event()));
    }
    let payload = vec![7u8; 8 << 10];
    for i in 0..TOTAL {
        sender
            .whisper_slices(receiver.uuid(), &[&i.to_be_bytes(), &payload])
            .unwrap();
    }
    let paused = Instant::now();
    let mut most_queued = 0;
    while paused.elapsed() < PAUSE {
        sender.run_once(Some(Duration::from_millis(5))).unwrap();
        receiver.run_once(Some(Duration::from_millis(5))).unwrap();
        sent_seen.extend(std::iter::from_fn(|| sender.next_event()));
        most_queued = most_queued.max(receiver.queued_events());
    }
    // Still held by the sender after the pause: libzmq pushed back.
    let held = sender.backlog();
    println!("paused {PAUSE:?}: receiver queued at most {most_queued} events, sender still holds {held}");
    // At the bound, plus at most a few events that are not messages
    // (EVASIVE, SILENT of the sender, whose messages wait unread).
    assert!(
        (BOUND..=BOUND + 4).contains(&most_queued),
        "the receiver's queue stayed at its bound of {BOUND}: {most_queued}"
    );
    assert!(held > 0, "libzmq pushed back on the sender");
    assert!(
        receiver.peers().contains(&sender.uuid()),
        "the receiver kept the sender whose messages it did not read"
    );
    assert_eq!(
        exits(&sent_seen),
        0,
        "the sender kept the receiver: {sent_seen:?}"
    );
    // Now the receiver takes its events: everything arrives, in order.
    let mut got = Vec::new();
    let mut received = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.len() < TOTAL as usize {
        assert!(
            Instant::now() < deadline,
            "only {} of {TOTAL} whispers arrived",
            got.len()
        );
        sender.run_once(Some(Duration::from_millis(5))).unwrap();
        receiver.run_once(Some(Duration::from_millis(5))).unwrap();
        sent_seen.extend(std::iter::from_fn(|| sender.next_event()));
        while let Some(event) = receiver.next_event() {
            if let Event::Whisper { content, .. } = &event {
                assert_eq!(&content[1][..], &payload[..]);
                got.push(u32::from_be_bytes(content[0][..4].try_into().unwrap()));
            }
            received.push(event);
        }
    }
    assert_eq!(
        got,
        (0..TOTAL).collect::<Vec<_>>(),
        "every message once, in order"
    );
    assert_eq!(sender.backlog(), 0);
    assert_eq!(exits(&sent_seen), 0);
    assert_eq!(exits(&received), 0, "the receiver kept the sender");
}

#[test]
fn a_spawned_node_whose_events_are_not_taken_stays_bounded_too() {
    let port = 53042;
    let mut sender = node("sender", port).send_hwm(100).build().unwrap();
    let receiver = node("receiver", port)
        .send_hwm(100)
        .max_events(BOUND)
        .build()
        .unwrap()
        .spawn()
        .unwrap();
    let mut sent_seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !sent_seen.iter().any(|e: &Event| e.kind() == "ENTER") {
        assert!(Instant::now() < deadline, "the sender never saw the receiver");
        sender.run_once(Some(Duration::from_millis(5))).unwrap();
        sent_seen.extend(std::iter::from_fn(|| sender.next_event()));
    }
    let payload = vec![7u8; 8 << 10];
    for i in 0..TOTAL {
        sender
            .whisper_slices(receiver.uuid(), &[&i.to_be_bytes(), &payload])
            .unwrap();
    }
    let paused = Instant::now();
    while paused.elapsed() < Duration::from_secs(4) {
        sender.run_once(Some(Duration::from_millis(5))).unwrap();
        sent_seen.extend(std::iter::from_fn(|| sender.next_event()));
    }
    // The handle's queue and the node's own, each at its bound.
    let in_handle = receiver.events().len();
    let in_node = receiver.call(|node| node.queued_events()).unwrap();
    println!(
        "handle queue {in_handle}, node queue {in_node}, sender holds {}",
        sender.backlog()
    );
    assert!(in_handle <= BOUND, "the handle's queue is bounded: {in_handle}");
    assert!(
        (BOUND..=BOUND + 4).contains(&in_node),
        "the node's queue: {in_node}"
    );
    assert!(sender.backlog() > 0, "libzmq pushed back on the sender");
    assert_eq!(exits(&sent_seen), 0);
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.len() < TOTAL as usize {
        assert!(Instant::now() < deadline, "only {} of {TOTAL} arrived", got.len());
        sender.run_once(Some(Duration::from_millis(5))).unwrap();
        sent_seen.extend(std::iter::from_fn(|| sender.next_event()));
        while let Ok(event) = receiver.events().try_recv() {
            assert_ne!(event.kind(), "EXIT", "the receiver kept the sender");
            if let Event::Whisper { content, .. } = &event {
                got.push(u32::from_be_bytes(content[0][..4].try_into().unwrap()));
            }
        }
    }
    assert_eq!(
        got,
        (0..TOTAL).collect::<Vec<_>>(),
        "every message once, in order"
    );
    assert_eq!(exits(&sent_seen), 0);
}

/// An application that holds its events (`hold_events(true)`, as the
/// spawned node's thread does while its handle's queue is full) and
/// drives the node with `run_once(None)` gets its queue filled to the
/// bound at once: a pass stops at each batch (256 messages), and the
/// next `poll` must not sleep on the messages left in the inbox, which
/// ZMQ_FD will not announce again. Sleeping, it would read a batch or
/// two per beacon or timer (both nodes beacon once a second here), and
/// take about ten seconds to reach the bound.
#[test]
fn held_events_fill_the_queue_to_its_bound_without_waiting_for_a_timer() {
    const HELD_BOUND: usize = 8_192;
    const WHISPERS: u32 = 20_000;
    let port = 53043;
    let second = Duration::from_secs(1);
    let sender = crate::loopback("sender", port)
        .beacon_interval(second)
        .build()
        .unwrap()
        .spawn()
        .unwrap();
    let mut receiver = crate::loopback("receiver", port)
        .beacon_interval(second)
        .max_events(HELD_BOUND)
        .build()
        .unwrap();
    let to = receiver.uuid();
    let burst = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match sender.recv_event(Some(left)) {
                Some(Event::Enter { peer, .. }) if peer == to => break,
                Some(_) => {}
                None => panic!("the sender never saw the receiver"),
            }
        }
        sender
            .call(move |node| {
                for i in 0..WHISPERS {
                    node.whisper_slices(to, &[&i.to_be_bytes()]).unwrap();
                }
            })
            .expect("sender running");
        sender
    });
    // Take events until the burst starts, then hold them.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = Vec::new();
    while got.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        match receiver.recv_event(Some(left)).unwrap() {
            Some(Event::Whisper { content, .. }) => {
                got.push(u32::from_be_bytes(content[0][..4].try_into().unwrap()))
            }
            Some(_) => {}
            None => panic!("no whisper came"),
        }
    }
    receiver.hold_events(true);
    let held_at = Instant::now();
    while receiver.queued_events() < HELD_BOUND {
        assert!(
            held_at.elapsed() < Duration::from_secs(4),
            "{} events queued of {HELD_BOUND} after {:?} held",
            receiver.queued_events(),
            held_at.elapsed()
        );
        receiver.run_once(None).unwrap();
    }
    println!("held: {HELD_BOUND} events queued in {:?}", held_at.elapsed());
    // Nothing lost meanwhile.
    receiver.hold_events(false);
    while got.len() < WHISPERS as usize {
        assert!(
            Instant::now() < deadline + Duration::from_secs(40),
            "only {} of {WHISPERS} arrived",
            got.len()
        );
        if let Some(Event::Whisper { content, .. }) = receiver.recv_event(Some(second)).unwrap() {
            got.push(u32::from_be_bytes(content[0][..4].try_into().unwrap()));
        }
    }
    assert_eq!(
        got,
        (0..WHISPERS).collect::<Vec<_>>(),
        "every message once, in order"
    );
    burst.join().expect("sender thread").stop();
}

/// A sender whose messages wait in its own backlog (libzmq's queue to the
/// peer at its high-water mark) hands them to libzmq as soon as the peer
/// makes room, not at its next timer. Room is announced once, by an edge
/// on the link's ZMQ_FD; a pass that reads ZMQ_EVENTS consumes that edge,
/// so whatever it finds there must be acted on before the poll sleeps.
///
/// Beacons a minute apart (the first ones, at start, are what the two
/// find each other by) and liveness timeouts of minutes: nothing but the
/// link can wake the sender, and a wait that misses the room sleeps the
/// full 30 s it is given, where the whole stream takes about a second.
#[test]
fn a_backlog_drains_when_room_appears_not_at_the_next_timer() {
    const HWM: i32 = 1_000;
    const WHISPERS: u32 = 100_000;
    const WAIT: Duration = Duration::from_secs(30);
    let quiet = |name: &str| {
        crate::loopback(name, 53044)
            .beacon_interval(Duration::from_secs(60))
            .evasive_timeout(Duration::from_secs(300))
            .expired_timeout(Duration::from_secs(600))
            .send_hwm(HWM) // also the inbox's receive high-water mark
    };
    let mut receiver = quiet("receiver").build().unwrap();
    let mut sender = quiet("sender").build().unwrap();
    let to = receiver.uuid();
    let reader = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut next = 0u32;
        while next < WHISPERS && Instant::now() < deadline {
            if let Some(Event::Whisper { content, .. }) =
                receiver.recv_event(Some(Duration::from_secs(1))).unwrap()
            {
                assert_eq!(
                    u32::from_be_bytes(content[0][..4].try_into().unwrap()),
                    next,
                    "in order"
                );
                next += 1;
                receiver.recycle(content);
            }
        }
        (next, receiver)
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "the sender never saw the receiver");
        sender.run_once(Some(Duration::from_millis(10))).unwrap();
        if std::iter::from_fn(|| sender.next_event()).any(|e| e.kind() == "ENTER" && e.peer() == Some(to)) {
            break;
        }
    }
    // As `zrecat` does with a file piped in: send, and wait while the
    // backlog is high.
    let (mut waits, mut longest) = (0usize, Duration::ZERO);
    for i in 0..WHISPERS {
        sender.whisper_slices(to, &[&i.to_be_bytes()]).unwrap();
        if i % 1_000 == 999 {
            while sender.backlog() > 0 {
                let started = Instant::now();
                sender.run_once(Some(WAIT)).unwrap();
                let slept = started.elapsed();
                assert!(
                    slept < WAIT / 2,
                    "at whisper {i}, a wait for room slept {slept:?} with {} to send: the edge that announced the room was lost",
                    sender.backlog()
                );
                longest = longest.max(slept);
                waits += 1;
                while sender.next_event().is_some() {}
            }
        }
    }
    while !reader.is_finished() {
        sender.run_once(Some(Duration::from_millis(10))).unwrap();
        while sender.next_event().is_some() {}
    }
    let (got, receiver) = reader.join().expect("reader thread");
    println!("{waits} waits for room, the longest {longest:?}");
    assert_eq!(got, WHISPERS, "every whisper arrived");
    sender.stop();
    drop(receiver);
}
