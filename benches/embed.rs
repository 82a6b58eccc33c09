//! Receiving a burst through each way of embedding a node, same run, same
//! burst: the plain loop (`Node::recv_event`), an external poller on the
//! node's fd (`next_timeout` + `run_once`), a spawned node
//! (`NodeHandle::recv_event`) and the async adapter (`AsyncNode::events`,
//! a tokio current-thread runtime). Each run: a fresh pair of nodes in
//! loopback mode (beacons to 127.255.255.255 stay on `lo`), the sender
//! shouts BURST 16-byte messages in one call on its thread, the receiver
//! counts them; the rate is BURST over the time from the first to the
//! last. Median of REPEAT runs per way, the ways interleaved.
//!
//!     cargo bench --bench embed --features async
//!
//! ZRE_BENCH_BURST and ZRE_BENCH_REPEAT override the sizes.

use futures::StreamExt;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};
use zre::{Event, Node, NodeHandle, PortRange, Uuid};

const PATIENCE: Duration = Duration::from_secs(60);
const FIRST_PORT: u16 = 55_500;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn node(name: &str, port: u16) -> Node {
    Node::builder()
        .name(name)
        .interface("lo")
        .beacon_port(port)
        .beacon_interval(Duration::from_millis(100))
        .port_range(PortRange::Any)
        .build()
        .expect("node starts in loopback mode")
}

/// Starts the sender; once it sees `receiver` join "b", it shouts the
/// burst. Returns the sender's handle (stop it after the run).
fn sender(port: u16, receiver: Uuid, burst: usize) -> std::thread::JoinHandle<NodeHandle> {
    let handle = node("sender", port).spawn().unwrap();
    std::thread::spawn(move || {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match handle.recv_event(Some(deadline.saturating_duration_since(Instant::now()))) {
                Some(Event::Join { peer, .. }) if peer == receiver => break,
                Some(_) => {}
                None => panic!("the receiver did not join"),
            }
        }
        let payload = [b'x'; 16];
        handle
            .call(move |node| {
                for _ in 0..burst {
                    node.shout_slices("b", &[&payload]).unwrap();
                }
            })
            .unwrap();
        handle
    })
}

/// Counts shouts; returns the time from the first to the last.
struct Counter {
    burst: usize,
    got: usize,
    first: Option<Instant>,
}

impl Counter {
    fn new(burst: usize) -> Counter {
        Counter {
            burst,
            got: 0,
            first: None,
        }
    }
    fn see(&mut self, event: &Event) {
        if let Event::Shout { .. } = event {
            self.first.get_or_insert_with(Instant::now);
            self.got += 1;
        }
    }
    fn done(&self) -> bool {
        self.got >= self.burst
    }
    fn rate(&self) -> f64 {
        let took = self.first.expect("a shout").elapsed().as_secs_f64();
        self.burst as f64 / took.max(1e-9)
    }
}

fn plain(port: u16, burst: usize) -> f64 {
    let mut receiver = node("receiver", port);
    receiver.join("b").unwrap();
    let sender = sender(port, receiver.uuid(), burst);
    let mut counter = Counter::new(burst);
    let deadline = Instant::now() + PATIENCE;
    while !counter.done() {
        assert!(
            Instant::now() < deadline,
            "plain loop: {} of {burst}",
            counter.got
        );
        if let Some(event) = receiver.recv_event(Some(Duration::from_millis(100))).unwrap() {
            counter.see(&event);
        }
    }
    let rate = counter.rate();
    sender.join().unwrap().stop();
    rate
}

fn fd_loop(port: u16, burst: usize) -> f64 {
    let mut receiver = node("receiver", port);
    receiver.join("b").unwrap();
    let sender = sender(port, receiver.uuid(), burst);
    let mut outer = Poll::new().unwrap();
    let fd = receiver.as_fd().as_raw_fd();
    outer
        .registry()
        .register(&mut SourceFd(&fd), Token(0), Interest::READABLE)
        .unwrap();
    let mut events = Events::with_capacity(8);
    let mut counter = Counter::new(burst);
    let deadline = Instant::now() + PATIENCE;
    while !counter.done() {
        assert!(Instant::now() < deadline, "fd loop: {} of {burst}", counter.got);
        outer.poll(&mut events, receiver.next_timeout()).unwrap();
        receiver.run_once(Some(Duration::ZERO)).unwrap();
        while let Some(event) = receiver.next_event() {
            counter.see(&event);
        }
    }
    let rate = counter.rate();
    sender.join().unwrap().stop();
    rate
}

fn handle(port: u16, burst: usize) -> f64 {
    let receiver = node("receiver", port).spawn().unwrap();
    receiver.join("b").unwrap();
    let sender = sender(port, receiver.uuid(), burst);
    let mut counter = Counter::new(burst);
    let deadline = Instant::now() + PATIENCE;
    while !counter.done() {
        assert!(Instant::now() < deadline, "handle: {} of {burst}", counter.got);
        if let Some(event) = receiver.recv_event(Some(Duration::from_millis(100))) {
            counter.see(&event);
        }
    }
    let rate = counter.rate();
    sender.join().unwrap().stop();
    receiver.stop();
    rate
}

fn async_adapter(port: u16, burst: usize) -> f64 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let receiver = node("receiver", port).spawn_async().unwrap();
        receiver.join("b").await.unwrap();
        let sender = sender(port, receiver.uuid(), burst);
        let mut counter = Counter::new(burst);
        let mut events = receiver.events();
        tokio::time::timeout(PATIENCE, async {
            while !counter.done() {
                counter.see(&events.next().await.expect("running"));
            }
        })
        .await
        .expect("async adapter: the burst arrives");
        let rate = counter.rate();
        tokio::task::spawn_blocking(move || sender.join().unwrap().stop())
            .await
            .unwrap();
        receiver.stop().await;
        rate
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let burst = env_or("ZRE_BENCH_BURST", 50_000);
    let repeat = env_or("ZRE_BENCH_REPEAT", 5);
    type Way = fn(u16, usize) -> f64;
    let ways: [(&str, Way); 4] = [
        ("plain loop (`Node::recv_event`)", plain),
        ("fd loop (poll the fd, `next_timeout`, `run_once`)", fd_loop),
        ("spawned (`NodeHandle::recv_event`)", handle),
        ("async adapter (`AsyncNode::events`, tokio)", async_adapter),
    ];
    let mut rates = vec![Vec::new(); ways.len()];
    let mut port = FIRST_PORT;
    for _ in 0..repeat {
        for (i, (_, way)) in ways.iter().enumerate() {
            rates[i].push(way(port, burst));
            port += 1;
        }
    }
    println!("\n## Receiving a burst of {burst} 16-byte shouts, median of {repeat}\n");
    println!("| way | msg/s | of the plain loop |");
    println!("|---|---|---|");
    let plain_rate = median(rates[0].clone());
    for ((name, _), rates) in ways.iter().zip(rates) {
        let rate = median(rates);
        println!("| {name} | {rate:.0} | {:.2} |", rate / plain_rate);
    }
}
