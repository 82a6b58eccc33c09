//! The async adapter (feature `async`): two nodes in one tokio runtime,
//! loopback mode (`interface("lo")`, beacons to 127.255.255.255 stay on
//! `lo`), exchange 20 000 shouts; all arrive, in order.

use futures::StreamExt;
use std::time::Duration;
use zre::{AsyncNode, Event};

const BURST: usize = 20_000;
/// Generous: the burst takes well under a second when nothing stalls.
const PATIENCE: Duration = Duration::from_secs(40);

fn node(name: &str, port: u16) -> AsyncNode {
    crate::loopback(name, port)
        .build()
        .expect("node starts in loopback mode")
        .spawn_async()
        .expect("node thread")
}

/// Waits on `node`'s stream for `peer` to join `group`.
async fn joined(node: &AsyncNode, peer: zre::Uuid, group: &str) {
    let mut events = node.events();
    while let Some(event) = events.next().await {
        if let Event::Join {
            peer: p, group: g, ..
        } = &event
        {
            if *p == peer && &**g == group {
                return;
            }
        }
    }
    panic!("{}'s events ended before {peer} joined {group}", node.name());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_async_nodes_exchange_a_burst_in_order() {
    let port = 53103;
    let alice = node("alice", port);
    let bob = node("bob", port);
    alice.join("burst").await.unwrap();
    bob.join("burst").await.unwrap();
    tokio::time::timeout(PATIENCE, async {
        joined(&alice, bob.uuid(), "burst").await;
        joined(&bob, alice.uuid(), "burst").await;
    })
    .await
    .expect("the nodes meet in loopback mode");
    // What a chat needs to whisper by name, without `call`.
    assert_eq!(alice.find_peer("bob").await, Some(bob.uuid()));
    assert_eq!(alice.peer_name(bob.uuid()).await.as_deref(), Some("bob"));
    assert_eq!(alice.peers_by_group("burst").await, vec![bob.uuid()]);
    assert_eq!(alice.own_groups().await, vec!["burst".to_owned()]);
    let handle = bob.handle();
    assert_eq!(handle.find_peer(&alice.uuid().to_string()), Some(alice.uuid()));
    assert_eq!(handle.peer_name(alice.uuid()).as_deref(), Some("alice"));
    assert_eq!(handle.peers_by_group("burst"), vec![alice.uuid()]);
    assert_eq!(handle.own_groups(), vec!["burst".to_owned()]);

    // Both ways at once: each side shouts from a task of its own and
    // reads the other's burst from its stream.
    let receive = |node: AsyncNode, from: zre::Uuid| async move {
        let mut events = node.events();
        let mut next = 0usize;
        while next < BURST {
            match events.next().await.expect("the node is running") {
                Event::Shout {
                    peer, group, content, ..
                } if peer == from => {
                    assert_eq!(&*group, "burst");
                    assert_eq!(content, vec![next.to_string().into_bytes()], "out of order");
                    next += 1;
                }
                _ => {}
            }
        }
        next
    };
    let send = |node: AsyncNode| async move {
        for i in 0..BURST {
            let members = node
                .shout("burst", vec![i.to_string().into_bytes()])
                .await
                .unwrap();
            assert_eq!(members, 1);
        }
    };
    let started = std::time::Instant::now();
    let (a_got, b_got, (), ()) = tokio::time::timeout(PATIENCE, async {
        tokio::join!(
            tokio::spawn(receive(alice.clone(), bob.uuid())),
            tokio::spawn(receive(bob.clone(), alice.uuid())),
            send(alice.clone()),
            send(bob.clone()),
        )
    })
    .await
    .map(|(a, b, c, d)| (a.unwrap(), b.unwrap(), c, d))
    .expect("every shout arrives in time");
    assert_eq!((a_got, b_got), (BURST, BURST));
    println!(
        "async adapter: 2 x {BURST} shouts both ways in {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );

    // Stopping is awaited, not blocking; a stopped node's stream ends.
    let events = alice.events();
    alice.stop().await;
    assert!(alice.handle().is_stopped());
    tokio::time::timeout(PATIENCE, events.collect::<Vec<_>>())
        .await
        .expect("the stream of a stopped node ends");
    assert!(
        alice.join("late").await.is_err(),
        "a stopped node takes no command"
    );
    bob.stop().await;
}
