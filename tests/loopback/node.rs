//! Real sockets on loopback: beacons to 127.255.255.255 (which stays on
//! `lo`), inboxes on 127.0.0.1. Each test has its own beacon port so that
//! tests running in parallel never see each other.

use std::collections::HashSet;
use std::time::{Duration, Instant};
use uuid::Uuid;
use zre::{Event, Frame, Node, PortRange};

/// Bounded waits: a condition that does not come true in this long fails.
const PATIENCE: Duration = Duration::from_secs(20);

fn node(name: &str, beacon_port: u16) -> Node {
    crate::loopback(name, beacon_port)
        .header("X-TEST", name)
        .build()
        .expect("node starts in loopback mode")
}

/// Polls every node, collecting events, until `done` says so.
fn run_until(nodes: &mut [Node], seen: &mut [Vec<Event>], mut done: impl FnMut(&[Vec<Event>]) -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done(seen) {
        assert!(
            Instant::now() < deadline,
            "condition not reached; events so far: {seen:#?}"
        );
        for (node, events) in nodes.iter_mut().zip(seen.iter_mut()) {
            node.run_once(Some(Duration::from_millis(5))).unwrap();
            while let Some(event) = node.next_event() {
                events.push(event);
            }
        }
    }
}

fn count(events: &[Event], kind: &str) -> usize {
    events.iter().filter(|e| e.kind() == kind).count()
}

/// The contents of `rounds` rounds of messages, one per shape (its frames'
/// lengths). Each frame's bytes count up from a seed of its own, so a
/// frame left over from another message, or a slot refilled short, shows.
fn contents(shapes: &[Vec<usize>], rounds: usize) -> Vec<Vec<Vec<u8>>> {
    let frame = |message: usize, part: usize, len: usize| -> Vec<u8> {
        (0..len).map(|i| (i + 7 * message + 13 * part) as u8).collect()
    };
    (0..rounds * shapes.len())
        .map(|message| {
            let shape = &shapes[message % shapes.len()];
            shape
                .iter()
                .enumerate()
                .map(|(part, &len)| frame(message, part, len))
                .collect()
        })
        .collect()
}

/// Nodes named `names` on beacon port `port`, run until each has seen
/// every other ENTER; with the events each has seen so far.
fn met(port: u16, names: &[&str]) -> (Vec<Node>, Vec<Vec<Event>>) {
    let mut nodes: Vec<Node> = names.iter().map(|name| node(name, port)).collect();
    let mut seen = vec![Vec::new(); names.len()];
    run_until(&mut nodes, &mut seen, |s| {
        s.iter().all(|e| count(e, "ENTER") == names.len() - 1)
    });
    (nodes, seen)
}

#[test]
fn three_nodes_discover_whisper_shout_and_see_exit() {
    let (mut nodes, mut seen) = met(53011, &["alpha", "beta", "gamma"]);

    // ENTER carries name, headers and the endpoint the peer bound.
    let beta = nodes[1].uuid();
    let enter = seen[0]
        .iter()
        .find(|e| e.peer() == Some(beta) && e.kind() == "ENTER")
        .unwrap();
    let Event::Enter {
        name,
        headers,
        endpoint,
        ..
    } = enter
    else {
        unreachable!()
    };
    assert_eq!(&**name, "beta");
    assert_eq!(headers, &vec![("X-TEST".to_string(), "beta".to_string())]);
    assert_eq!(endpoint, nodes[1].endpoint());
    assert!(endpoint.starts_with("tcp://127.0.0.1:"), "{endpoint}");
    assert_eq!(nodes[0].peer_header_value(beta, "X-TEST"), Some("beta"));

    // Groups.
    nodes[1].join("chat").unwrap();
    nodes[2].join("chat").unwrap();
    run_until(&mut nodes, &mut seen, |s| {
        count(&s[0], "JOIN") == 2 && count(&s[1], "JOIN") == 1
    });
    assert_eq!(nodes[0].peers_by_group("chat").len(), 2);

    // A multi-frame shout from alpha (not in the group) reaches both members.
    let frames = vec![
        b"part one".to_vec(),
        vec![0, 159, 146, 150, 255],
        "ünïcødé".as_bytes().to_vec(),
    ];
    assert_eq!(nodes[0].shout("chat", frames.clone()).unwrap(), 2);
    run_until(&mut nodes, &mut seen, |s| {
        count(&s[1], "SHOUT") == 1 && count(&s[2], "SHOUT") == 1
    });
    for events in &seen[1..] {
        let shout = events.iter().find(|e| e.kind() == "SHOUT").unwrap();
        assert_eq!(shout.content().unwrap(), &frames[..]);
        assert_eq!(shout.group(), Some("chat"));
        assert_eq!(shout.peer_name(), Some("alpha"));
    }
    assert_eq!(
        count(&seen[0], "SHOUT"),
        0,
        "our own shouts are not delivered to us"
    );

    // Whisper by name lookup.
    let gamma = nodes[0].find_peer("gamma").unwrap();
    nodes[0].whisper_str(gamma, "just for you").unwrap();
    run_until(&mut nodes, &mut seen, |s| count(&s[2], "WHISPER") == 1);
    assert_eq!(count(&seen[1], "WHISPER"), 0);
    let whisper = seen[2].iter().find(|e| e.kind() == "WHISPER").unwrap();
    assert_eq!(whisper.content().unwrap(), &[b"just for you".to_vec()]);

    // Stopping gamma: the others see EXIT about a second after its port-0
    // beacon (its last data may still be on the way until then).
    let mut gamma_node = nodes.pop().unwrap();
    let mut gamma_seen = seen.pop().unwrap();
    let stopped_at = Instant::now();
    gamma_node.stop();
    while let Some(event) = gamma_node.next_event() {
        gamma_seen.push(event);
    }
    assert_eq!(count(&gamma_seen, "STOP"), 1);
    run_until(&mut nodes, &mut seen, |s| s.iter().all(|e| count(e, "EXIT") == 1));
    assert!(
        stopped_at.elapsed() < Duration::from_secs(5),
        "EXIT came from the leaving beacon, not a timeout"
    );
    assert!(
        nodes[0]
            .peers_by_group("chat")
            .iter()
            .all(|p| *p != gamma_node.uuid())
    );
}

#[test]
fn many_whispers_arrive_complete_and_in_order() {
    let port = 53012;
    let mut nodes = vec![
        Node::builder()
            .name("sender")
            .interface("lo")
            .beacon_port(port)
            .beacon_interval(Duration::from_millis(100))
            .port_range(PortRange::Any)
            .send_hwm(100) // small, so that our own backlog is exercised
            .build()
            .unwrap(),
        node("receiver", port),
    ];
    let mut seen = vec![Vec::new(), Vec::new()];
    run_until(&mut nodes, &mut seen, |s| {
        s.iter().all(|e| count(e, "ENTER") == 1)
    });
    let receiver = nodes[1].uuid();
    let total = 20_000u32;
    let payload = vec![7u8; 1024];
    let mut most_held = 0;
    for i in 0..total {
        // Owned and lent content in turn: both share one queue and one
        // sequence; lent frames are copied when they have to wait.
        if i % 2 == 0 {
            let mut frame = i.to_be_bytes().to_vec();
            frame.extend_from_slice(&payload);
            nodes[0].whisper(receiver, vec![frame]).unwrap();
        } else {
            nodes[0]
                .whisper_slices(receiver, &[&i.to_be_bytes(), &payload])
                .unwrap();
        }
        most_held = most_held.max(nodes[0].backlog());
    }
    assert!(most_held > 0, "the sender's backlog was exercised");
    run_until(&mut nodes, &mut seen, |s| {
        count(&s[1], "WHISPER") == total as usize
    });
    let contents: Vec<&[Frame]> = seen[1].iter().filter_map(|e| e.content()).collect();
    let order: Vec<u32> = contents
        .iter()
        .map(|c| u32::from_be_bytes(c[0][..4].try_into().unwrap()))
        .collect();
    assert_eq!(order, (0..total).collect::<Vec<_>>());
    for (i, content) in contents.iter().enumerate() {
        let body: Vec<u8> = content.concat();
        assert_eq!(&body[4..], &payload[..], "message {i} intact");
        assert_eq!(content.len(), 1 + i % 2, "message {i} keeps its frames");
    }
    assert_eq!(nodes[0].backlog(), 0);
    assert_eq!(count(&seen[1], "EXIT"), 0);
}

/// Frames from a few bytes to 100 000, around the size from which a
/// received frame stays in libzmq's buffer (`Frame::HELD_FROM`), alone and
/// mixed in one message; the receiver gives every other content back, so
/// held frames and reused buffers take turns in the same slots.
#[test]
fn large_and_small_frames_arrive_whole_in_or_out_of_libzmqs_buffer() {
    let (mut nodes, _) = met(53019, &["sender", "receiver"]);
    let receiver = nodes[1].uuid();
    let held = Frame::HELD_FROM;
    let shapes: Vec<Vec<usize>> = vec![
        vec![held - 1],
        vec![held],
        vec![held + 1],
        vec![5, 100_000, 0, held],
        vec![70_000],
        vec![64],
        vec![held, held - 1, 3],
    ];
    let sent = contents(&shapes, 3);
    for content in &sent {
        nodes[0].whisper(receiver, content.clone()).unwrap();
    }
    let mut got: Vec<Vec<Vec<u8>>> = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while got.len() < sent.len() {
        assert!(
            Instant::now() < deadline,
            "{} of {} arrived",
            got.len(),
            sent.len()
        );
        nodes[0].run_once(Some(Duration::from_millis(1))).unwrap();
        nodes[1].run_once(Some(Duration::from_millis(1))).unwrap();
        while let Some(event) = nodes[1].next_event() {
            if let Event::Whisper { content, .. } = event {
                // A clone shares or copies, and reads the same either way.
                let copy = content.clone();
                assert_eq!(copy, content);
                got.push(content.iter().map(|f| f.to_vec()).collect());
                if got.len() % 2 == 0 {
                    nodes[1].recycle(content);
                } else {
                    let _: Vec<Vec<u8>> = content.into_iter().map(Frame::into_vec).collect();
                }
            }
        }
    }
    for (i, (got, sent)) in got.iter().zip(&sent).enumerate() {
        let sizes: Vec<usize> = got.iter().map(Vec::len).collect();
        let want: Vec<usize> = sent.iter().map(Vec::len).collect();
        assert_eq!(sizes, want, "message {i}: frame sizes");
        assert!(got == sent, "message {i}: bytes differ");
    }
}

/// `shout_slices` to two members copies content that fits inside a
/// libzmq message into each send, and shares larger content between the
/// sends: messages of both kinds, interleaved, reach both members whole
/// and in order, with no sequence gap (which would remove the sender).
#[test]
fn shouts_of_small_and_large_content_reach_every_member_in_order() {
    let (mut nodes, mut seen) = met(53017, &["sender", "first", "second"]);
    nodes[1].join("mixed").unwrap();
    nodes[2].join("mixed").unwrap();
    run_until(&mut nodes, &mut seen, |s| count(&s[0], "JOIN") == 2);
    // 33 bytes is the most libzmq keeps inside a message on 64-bit.
    let shapes: Vec<Vec<usize>> = vec![
        vec![1],
        vec![33],
        vec![34],
        vec![33, 33],
        vec![5, 34],
        vec![20_000],
        vec![0],
    ];
    let sent = contents(&shapes, 20);
    for content in &sent {
        let slices: Vec<&[u8]> = content.iter().map(Vec::as_slice).collect();
        assert_eq!(nodes[0].shout_slices("mixed", &slices).unwrap(), 2);
    }
    let mut got: Vec<Vec<Vec<Vec<u8>>>> = vec![Vec::new(), Vec::new()];
    let deadline = Instant::now() + PATIENCE;
    while got.iter().any(|g| g.len() < sent.len()) {
        assert!(
            Instant::now() < deadline,
            "{} and {} of {} arrived",
            got[0].len(),
            got[1].len(),
            sent.len()
        );
        for (i, node) in nodes.iter_mut().enumerate() {
            node.run_once(Some(Duration::from_millis(1))).unwrap();
            while let Some(event) = node.next_event() {
                match event {
                    Event::Shout { content, .. } if i > 0 => {
                        got[i - 1].push(content.iter().map(|f| f.to_vec()).collect());
                        node.recycle(content);
                    }
                    Event::Exit { .. } => panic!("node {i} saw an EXIT"),
                    _ => {}
                }
            }
        }
    }
    for member in &got {
        for (i, (got, sent)) in member.iter().zip(&sent).enumerate() {
            assert!(got == sent, "message {i}: {:?} != {:?}", got.len(), sent.len());
        }
    }
}

#[test]
fn a_spawned_node_talks_to_a_driven_one() {
    let port = 53013;
    let handle = node("threaded", port).spawn().unwrap();
    let mut driven = node("driven", port);
    let mut entered = false;
    let deadline = Instant::now() + PATIENCE;
    while !entered {
        assert!(Instant::now() < deadline);
        if let Some(Event::Enter { peer, .. }) = driven.recv_event(Some(Duration::from_millis(50))).unwrap() {
            entered = peer == handle.uuid();
        }
    }
    // The handle sees the driven node too, and can whisper to it.
    let driven_uuid = driven.uuid();
    let deadline = Instant::now() + PATIENCE;
    while !handle.peers().contains(&driven_uuid) {
        assert!(Instant::now() < deadline);
        driven.run_once(Some(Duration::from_millis(20))).unwrap();
    }
    handle
        .whisper(driven_uuid, vec![b"from a thread".to_vec()])
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        assert!(Instant::now() < deadline);
        if let Some(Event::Whisper { content, .. }) =
            driven.recv_event(Some(Duration::from_millis(50))).unwrap()
        {
            assert_eq!(content, vec![b"from a thread".to_vec()]);
            break;
        }
    }
    // Queries run in the node's thread.
    let name = handle
        .call(move |n| n.peer_name(driven_uuid).map(str::to_owned))
        .unwrap();
    assert_eq!(name.as_deref(), Some("driven"));
    handle.stop();
    let deadline = Instant::now() + PATIENCE;
    loop {
        assert!(Instant::now() < deadline);
        if let Some(Event::Exit { peer, .. }) = driven.recv_event(Some(Duration::from_millis(50))).unwrap() {
            assert_ne!(peer, driven_uuid);
            break;
        }
    }
}

#[test]
fn the_callers_own_sources_share_the_loop() {
    use mio::{Events, Interest, Token};
    use std::io::Write;
    let mut node = node("host", 53014);
    let (mut writer, reader) = std::os::unix::net::UnixStream::pair().unwrap();
    reader.set_nonblocking(true).unwrap();
    let mut reader = mio::net::UnixStream::from_std(reader);
    let mine = Token(7);
    node.registry()
        .register(&mut reader, mine, Interest::READABLE)
        .unwrap();
    writer.write_all(b"x").unwrap();
    let mut events = Events::with_capacity(16);
    let deadline = Instant::now() + PATIENCE;
    let mut woke = false;
    while !woke {
        assert!(Instant::now() < deadline);
        node.poll(&mut events, Some(Duration::from_millis(100))).unwrap();
        woke = events.iter().any(|e| e.token() == mine);
        assert!(
            events
                .iter()
                .all(|e| e.token() == mine || e.token().0 >= zre::FIRST_RESERVED_TOKEN)
        );
    }
}

#[test]
fn nodes_with_different_beacon_ports_never_meet() {
    let mut nodes = vec![node("left", 53015), node("right", 53016)];
    let mut seen = vec![Vec::new(), Vec::new()];
    // Give them well over ten beacon intervals.
    let until = Instant::now() + Duration::from_millis(1500);
    run_until(&mut nodes, &mut seen, |_| Instant::now() >= until);
    assert!(seen.iter().all(|e| count(e, "ENTER") == 0), "{seen:?}");
    let ids: HashSet<Uuid> = nodes.iter().map(|n| n.uuid()).collect();
    assert_eq!(ids.len(), 2);
}

/// A frame over the receiver's `max_message_size` makes its libzmq drop
/// the connection it came on, and with it what the sender sends next
/// until the two greet again. Whatever a send call accepts must arrive
/// (or the peer be reported EXIT): here every whisper and shout, of a
/// frame at the limit, over it, and small ones after, by each way of
/// sending; the receiver must get every message whose call returned
/// `Ok`, in order, and neither side may see the other go.
#[test]
fn a_frame_over_the_peers_size_limit_is_refused_and_nothing_after_it_is_lost() {
    const MAX: usize = 1 << 20;
    let mut nodes: Vec<Node> = ["sender", "receiver"]
        .iter()
        .map(|name| {
            crate::loopback(name, 53018)
                .max_message_size(MAX)
                .build()
                .expect("node starts in loopback mode")
        })
        .collect();
    let mut seen = vec![Vec::new(), Vec::new()];
    run_until(&mut nodes, &mut seen, |s| {
        s.iter().all(|e| count(e, "ENTER") == 1)
    });
    nodes[0].join("G").unwrap();
    nodes[1].join("G").unwrap();
    run_until(&mut nodes, &mut seen, |s| s.iter().all(|e| count(e, "JOIN") == 1));
    let receiver = nodes[1].uuid();
    let mut accepted: Vec<Vec<u8>> = Vec::new();
    let mut refused = 0;
    for round in 0..4u8 {
        for len in [MAX, MAX + 1, 10] {
            let mut frame = vec![round; len];
            frame[0] = round * 3 + (len % 7) as u8;
            let sender = &mut nodes[0];
            let result = match round {
                0 => sender.whisper(receiver, vec![b"x".to_vec(), frame.clone()]),
                1 => sender.whisper_slices(receiver, &[b"x", &frame]),
                2 => sender.shout("G", vec![b"x".to_vec(), frame.clone()]).map(drop),
                _ => sender.shout_slices("G", &[b"x", &frame]).map(drop),
            };
            match result {
                Ok(()) => accepted.push(frame),
                Err(zre::NodeError::Command(zre::CommandError::TooLarge { bytes, max })) => {
                    assert_eq!((bytes, max), (len, MAX), "round {round}");
                    refused += 1;
                }
                Err(err) => panic!("round {round}, {len} bytes: {err}"),
            }
        }
    }
    let mut got: Vec<Vec<u8>> = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while got.len() < accepted.len() {
        assert!(
            Instant::now() < deadline,
            "{} of the {} messages accepted arrived; events: {seen:#?}",
            got.len(),
            accepted.len()
        );
        for (node, events) in nodes.iter_mut().zip(seen.iter_mut()) {
            node.run_once(Some(Duration::from_millis(5))).unwrap();
            while let Some(event) = node.next_event() {
                match event {
                    Event::Whisper { content, .. } | Event::Shout { content, .. } => {
                        got.push(content[1].to_vec())
                    }
                    other => events.push(other),
                }
            }
        }
    }
    assert_eq!(refused, 4, "each frame over the limit is refused");
    assert_eq!(got.len(), accepted.len());
    for (i, (got, sent)) in got.iter().zip(&accepted).enumerate() {
        assert!(
            got == sent,
            "message {i} differs ({} bytes, {} sent)",
            got.len(),
            sent.len()
        );
    }
    assert!(seen.iter().all(|e| count(e, "EXIT") == 0), "{seen:#?}");
}

/// A peer whose endpoint nobody serves (a wrong `--endpoint`) says HELLO:
/// we link there, our HELLO and PING wait in libzmq, and it is never
/// ENTERed. Stopping (and dropping) the node does not wait the linger
/// time (5 s) to flush them:
/// nothing the application knows of is queued to a peer it never had.
#[test]
fn stopping_does_not_wait_for_a_peer_never_entered() {
    let mut node = node("stopper", 53020);
    // An endpoint nobody serves: a port bound and let go.
    let nobody = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let context = zmq::Context::new();
    let dealer = context.socket(zmq::DEALER).unwrap();
    let fake = Uuid::from_u128(0xBAD_E9D);
    let identity = zre::core::peer_identity(&fake);
    dealer.set_identity(&identity).unwrap();
    dealer.set_linger(0).unwrap();
    dealer.connect(node.endpoint()).unwrap();
    let endpoint = format!("tcp://{nobody}");
    let hello = zre::wire::ZreMessage::new(
        1,
        zre::wire::Body::Hello(Box::new(zre::wire::Hello {
            endpoint: &endpoint,
            groups: vec![],
            status: 0,
            name: "nowhere",
            headers: vec![],
        })),
    )
    .to_bytes()
    .unwrap();
    dealer.send(hello, 0).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while node.stats().core.peers_ready == 0 {
        assert!(Instant::now() < deadline, "its HELLO never came");
        node.run_once(Some(Duration::from_millis(10))).unwrap();
    }
    assert!(node.peers().is_empty(), "never ENTERed: we cannot reach it");
    // (libzmq holds a socket's queue for its linger when the context
    // ends: the drop is where a link left to linger would wait.)
    let stopping = Instant::now();
    node.stop();
    drop(node);
    assert!(
        stopping.elapsed() < Duration::from_secs(4),
        "stopping waited {:?} for a peer never entered",
        stopping.elapsed()
    );
}
