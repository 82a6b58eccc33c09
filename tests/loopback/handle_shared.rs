//! `NodeHandle` shared by a multithreaded program: clones in several
//! threads, each event taken once (by whichever clone takes it), and the
//! node stops on `stop()` from any clone or when the last clone goes.
//! Loopback mode (`interface("lo")`): beacons stay on `lo`.

use std::collections::HashSet;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use zre::{Event, NodeHandle};

const PATIENCE: Duration = Duration::from_secs(30);

fn spawn(name: &str, port: u16) -> NodeHandle {
    crate::loopback(name, port)
        .build()
        .expect("node starts in loopback mode")
        .spawn()
        .expect("node thread")
}

fn wait_join(handle: &NodeHandle, peer: zre::Uuid, group: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match handle.recv_event(Some(left)) {
            Some(Event::Join {
                peer: p, group: g, ..
            }) if p == peer && &*g == group => return,
            Some(_) => {}
            None => panic!("{peer} did not join {group}"),
        }
    }
}

#[test]
fn a_handle_is_clone_send_and_sync() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<NodeHandle>();
}

/// Four threads take events from clones of one handle: every shout is
/// taken exactly once, none twice, none lost.
#[test]
fn clones_in_threads_take_each_event_once() {
    const SHOUTS: usize = 4_000;
    const TAKERS: usize = 4;
    let port = 53104;
    let sender = spawn("sender", port);
    let receiver = spawn("receiver", port);
    receiver.join("g").unwrap();
    wait_join(&sender, receiver.uuid(), "g");

    let start = Arc::new(Barrier::new(TAKERS + 1));
    let takers: Vec<_> = (0..TAKERS)
        .map(|_| {
            let handle = receiver.clone();
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                let mut got = Vec::new();
                // Until the whole burst is taken by someone: a quiet
                // second after the first shout means the rest went to
                // other clones.
                while let Some(event) = handle.recv_event(Some(Duration::from_secs(3))) {
                    if let Event::Shout { content, .. } = event {
                        got.push(
                            String::from_utf8(content[0].to_vec())
                                .unwrap()
                                .parse::<usize>()
                                .unwrap(),
                        );
                    }
                }
                got
            })
        })
        .collect();
    start.wait();
    sender
        .call(|node| {
            for i in 0..SHOUTS {
                node.shout_slices("g", &[i.to_string().as_bytes()]).unwrap();
            }
        })
        .unwrap();
    let mut all = Vec::new();
    let mut takers_with_some = 0;
    for taker in takers {
        let got = taker.join().unwrap();
        takers_with_some += usize::from(!got.is_empty());
        // Each clone sees its share in the node's order.
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "a clone saw shouts out of order"
        );
        all.extend(got);
    }
    let distinct: HashSet<_> = all.iter().copied().collect();
    assert_eq!(
        all.len(),
        SHOUTS,
        "{} taken, {} distinct",
        all.len(),
        distinct.len()
    );
    assert_eq!(distinct.len(), SHOUTS, "an event was taken twice");
    println!("{SHOUTS} shouts taken by {takers_with_some} of {TAKERS} clones");
    sender.stop();
}

/// The node runs while any clone is left, and stops when the last one
/// goes: its event queue then ends (the node's thread has finished).
#[test]
fn the_node_stops_with_its_last_clone() {
    let handle = spawn("last", 53105);
    let events = handle.events().clone();
    let clone = handle.clone();
    let other_thread = std::thread::spawn(move || {
        // Still running with one clone gone (in the test thread, below).
        std::thread::sleep(Duration::from_millis(200));
        assert!(!clone.is_stopped());
        clone
            .join("still-here")
            .expect("the node runs while a clone is left");
        drop(clone);
    });
    drop(handle);
    other_thread.join().unwrap();
    // The last clone dropped: the thread ends and the queue disconnects.
    let deadline = Instant::now() + PATIENCE;
    loop {
        match events.recv_timeout(Duration::from_millis(100)) {
            Err(zre::flume::RecvTimeoutError::Disconnected) => break,
            _ => assert!(
                Instant::now() < deadline,
                "the node did not stop with its last clone"
            ),
        }
    }
}

/// `stop()` on one clone stops the node for all of them.
#[test]
fn stop_from_one_clone_stops_the_node_for_all() {
    let handle = spawn("stopper", 53106);
    let clone = handle.clone();
    handle.stop();
    assert!(clone.is_stopped());
    assert!(clone.join("g").is_err(), "a stopped node takes no command");
    assert!(clone.peers().is_empty());
}
