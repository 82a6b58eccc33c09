//! A node embedded in another event loop through its file descriptor, as
//! the README documents: the loop waits on the node's fd (here with a mio
//! poll of its own, as tokio's `AsyncFd` or any poller would) for at most
//! `next_timeout()`, then calls `run_once(Some(ZERO))` and takes the
//! events. Nothing else drives the node. A burst of 20 000 shouts must
//! arrive complete and in order: the node reads its inbox in batches, and
//! ZMQ_FD does not fire again for messages already queued, so the node
//! must say "work pending" through its fd or `next_timeout()`.
//!
//! Loopback mode (`interface("lo")`): beacons to 127.255.255.255 stay on
//! `lo`; beacon ports of their own keep parallel tests apart.

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};
use zre::{Event, Node};

const BURST: usize = 20_000;
/// A generous bound for discovery.
const PATIENCE: Duration = Duration::from_secs(40);
/// A generous bound for the burst, from its first message: it takes well
/// under a second when nothing stalls. With both nodes at the default 1 s
/// beacon interval, a stalled loop reads one batch (256) per wake-up, the
/// timer's or a beacon's, two a second: about half the burst in this
/// time.
const BURST_PATIENCE: Duration = Duration::from_secs(20);

#[test]
fn a_node_driven_only_through_its_fd_receives_a_whole_burst() {
    let (sender, mut receiver) = sender_and_receiver(53101);
    let burst = shout_burst_when_joined(sender, receiver.uuid(), BURST, |i| i.to_string().into_bytes());

    // The external loop.
    let mut outer = watching(receiver.as_fd().as_raw_fd());
    let mut events = Events::with_capacity(8);
    let discovery_deadline = Instant::now() + PATIENCE;
    let mut next = 0usize;
    let mut first_at: Option<Instant> = None;
    while next < BURST {
        let deadline = first_at.map_or(discovery_deadline, |t| t + BURST_PATIENCE);
        assert!(
            Instant::now() < deadline,
            "only {next} of {BURST} shouts arrived through the fd loop"
        );
        let timeout = receiver.next_timeout().map(|t| t.min(Duration::from_secs(1)));
        outer.poll(&mut events, timeout).unwrap();
        receiver.run_once(Some(Duration::ZERO)).unwrap();
        while let Some(event) = receiver.next_event() {
            if let Event::Shout { group, content, .. } = &event {
                assert_eq!(&**group, "burst");
                assert_eq!(content.len(), 1);
                assert_eq!(
                    std::str::from_utf8(&content[0]).unwrap(),
                    next.to_string(),
                    "shouts out of order"
                );
                first_at.get_or_insert_with(Instant::now);
                next += 1;
            }
        }
    }
    let took = first_at.map(|t| t.elapsed()).unwrap_or_default();
    println!(
        "fd loop: {BURST} shouts in {:.1} ms ({:.0} msg/s)",
        took.as_secs_f64() * 1e3,
        BURST as f64 / took.as_secs_f64().max(1e-9)
    );
    burst.join().expect("sender thread").stop();
}

/// `next_timeout()` is zero while events wait to be taken (a loop that
/// sleeps for it does not sleep on them), and not once they are taken (a
/// loop that sleeps for it does not spin).
#[test]
fn next_timeout_is_zero_exactly_while_events_wait() {
    let port = 53102;
    let other = crate::loopback("other", port)
        .build()
        .expect("node starts in loopback mode")
        .spawn()
        .expect("node thread");
    // The default 1 s: its own timers are rarely due at the checks.
    let mut node = on_lo("watcher", port)
        .build()
        .expect("node starts in loopback mode");
    let idle = node.next_timeout().expect("a beacon deadline");
    assert!(idle > Duration::ZERO, "a node with nothing to do: {idle:?}");
    // Run without taking events until the node says it has work.
    let deadline = Instant::now() + PATIENCE;
    while node.next_timeout() != Some(Duration::ZERO) {
        assert!(
            Instant::now() < deadline,
            "no event came (the other node's ENTER)"
        );
        node.run_once(Some(Duration::from_millis(20))).unwrap();
    }
    let mut taken = Vec::new();
    while let Some(event) = node.next_event() {
        taken.push(event);
    }
    assert!(
        taken
            .iter()
            .any(|e| matches!(e, Event::Enter { peer, .. } if *peer == other.uuid())),
        "{taken:?}"
    );
    let after = node.next_timeout().expect("a beacon deadline");
    assert!(after > Duration::ZERO, "every event taken, yet {after:?}");
    other.stop();
}

/// A loop that waits on the fd alone, ignoring `next_timeout()`, still
/// receives a burst at full rate: a pass that stops at a batch makes the
/// fd readable again (the node wakes its own poll), as the README says.
/// Without that wake it would read a batch or two per beacon or timer
/// wake-up (about one a second) and miss `BURST_PATIENCE`. The fd is
/// asked for through `AsFd`, which lends it as `AsRawFd` does.
#[test]
fn a_loop_that_waits_on_the_fd_alone_receives_a_whole_burst() {
    let (sender, mut receiver) = sender_and_receiver(53107);
    let burst = shout_burst_when_joined(sender, receiver.uuid(), BURST, |_| b"x".to_vec());
    let mut outer = watching(receiver.as_fd().as_raw_fd());
    let mut events = Events::with_capacity(8);
    let discovery_deadline = Instant::now() + PATIENCE;
    let (mut got, mut first_at) = (0usize, None::<Instant>);
    while got < BURST {
        let deadline = first_at.map_or(discovery_deadline, |t| t + BURST_PATIENCE);
        assert!(
            Instant::now() < deadline,
            "only {got} of {BURST} shouts arrived to a loop waiting on the fd alone"
        );
        // Never `next_timeout()`: only the fd, or a second at most.
        outer.poll(&mut events, Some(Duration::from_secs(1))).unwrap();
        receiver.run_once(Some(Duration::ZERO)).unwrap();
        while let Some(event) = receiver.next_event() {
            if matches!(event, Event::Shout { .. }) {
                first_at.get_or_insert_with(Instant::now);
                got += 1;
            }
        }
    }
    burst.join().expect("sender thread").stop();
}

/// A node driven by `recv_event` (its fd never asked for) does not wake
/// its own poll after each batch: that wake is an `eventfd` write, a
/// system call per batch (per two messages of 64 KiB), for a waiter on
/// the fd that does not exist. Counted on this thread, the one that
/// drives the node: `syscw` in /proc/thread-self/io counts its write
/// system calls (libzmq's signals to its I/O thread would be among them;
/// reading the inbox sends one only every 50 000 messages here, half the
/// receive high-water mark).
#[test]
fn a_node_whose_fd_is_not_lent_does_not_wake_itself_per_batch() {
    const LARGE: usize = 64 << 10;
    let (sender, mut receiver) = sender_and_receiver(53108);
    let burst = shout_burst_when_joined(sender, receiver.uuid(), LARGE_BURST, |_| vec![0x5a; LARGE]);
    // Counted from the first shout: discovery is not the point.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match receiver.recv_event(Some(left)).unwrap() {
            Some(Event::Shout { .. }) => break,
            Some(_) => {}
            None => panic!("no shout came"),
        }
    }
    let burst_sent = Instant::now();
    // The count must move for a write this thread makes, or the test
    // would pass without counting anything (a kernel without I/O
    // accounting of system calls shows 0).
    let before_probe = thread_write_syscalls();
    std::io::Write::write_all(&mut std::fs::File::create("/dev/null").unwrap(), b"x").unwrap();
    assert_eq!(
        thread_write_syscalls(),
        before_probe + 1,
        "syscw counts this thread's writes"
    );
    let writes_before = thread_write_syscalls();
    let mut got = 1usize;
    while got < LARGE_BURST {
        assert!(
            burst_sent.elapsed() < BURST_PATIENCE,
            "only {got} of {LARGE_BURST} large shouts arrived"
        );
        if let Some(Event::Shout { content, .. }) = receiver.recv_event(Some(Duration::from_secs(1))).unwrap()
        {
            assert_eq!(content[0].len(), LARGE);
            got += 1;
        }
    }
    let writes = thread_write_syscalls() - writes_before;
    println!("{writes} write system calls on the node's thread for {LARGE_BURST} shouts of 64 KiB");
    assert!(
        writes * 20 < LARGE_BURST,
        "{writes} write system calls for {LARGE_BURST} shouts (batches of two): the node woke itself"
    );
    burst.join().expect("sender thread").stop();
}

/// How many large shouts `a_node_whose_fd_is_not_lent_…` receives.
const LARGE_BURST: usize = 2_000;

/// This thread's write system calls so far (Linux task I/O accounting).
fn thread_write_syscalls() -> usize {
    let io = std::fs::read_to_string("/proc/thread-self/io").expect("/proc/thread-self/io (Linux)");
    io.lines()
        .find_map(|line| line.strip_prefix("syscw: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("a syscw line")
}

/// A spawned sender and a receiver in group "burst", both in loopback
/// mode on beacon `port`. Both keep the default beacon interval (1 s):
/// the longest `next_timeout()` an idle node gives, and the fewest
/// wake-ups by beacons, which would hide a loop that stalls.
fn sender_and_receiver(port: u16) -> (zre::NodeHandle, Node) {
    let sender = on_lo("sender", port)
        .build()
        .expect("sender starts in loopback mode")
        .spawn()
        .expect("sender thread");
    let mut receiver = on_lo("receiver", port)
        .build()
        .expect("receiver starts in loopback mode");
    receiver.join("burst").unwrap();
    (sender, receiver)
}

/// An outer poll (as another event loop's) watching `fd` for reading.
fn watching(fd: std::os::fd::RawFd) -> Poll {
    let outer = Poll::new().unwrap();
    outer
        .registry()
        .register(&mut SourceFd(&fd), Token(0), Interest::READABLE)
        .unwrap();
    outer
}

/// A node named `name` in loopback mode on beacon `port`, at the default
/// beacon interval (1 s).
fn on_lo(name: &str, port: u16) -> zre::NodeBuilder {
    crate::loopback(name, port).beacon_interval(Duration::from_secs(1))
}

/// On a thread of its own: waits for `receiver`'s JOIN, then shouts
/// `count` messages of one frame, `content(i)` for the i-th, to "burst"
/// in one call on the node's thread; returns the sender.
fn shout_burst_when_joined(
    sender: zre::NodeHandle,
    receiver: uuid::Uuid,
    count: usize,
    content: fn(usize) -> Vec<u8>,
) -> std::thread::JoinHandle<zre::NodeHandle> {
    std::thread::spawn(move || {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match sender.recv_event(Some(left)) {
                Some(Event::Join { peer, group, .. }) if peer == receiver && &*group == "burst" => break,
                Some(_) => {}
                None => panic!("the receiver's JOIN did not reach the sender"),
            }
        }
        let shouted = sender
            .call(move |node| {
                (0..count)
                    .map(|i| node.shout_slices("burst", &[&content(i)]).unwrap())
                    .sum::<usize>()
            })
            .expect("sender running");
        assert_eq!(shouted, count, "one member per shout");
        sender
    })
}
