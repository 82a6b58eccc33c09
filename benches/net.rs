//! Networked benchmarks on loopback, each next to raw libzmq doing the same
//! traffic in the same run, with the same threading (one thread and one
//! libzmq context per side):
//!
//! - `stream`: node A whispers to node B as fast as it can (64 B, 1 KiB,
//!   64 KiB); messages/s and MB/s at B, and the ratio to a raw DEALER to
//!   ROUTER pair sending the same two frames (6-byte header + content).
//! - `latency`: whisper round trip between two nodes, p50/p99, next to a
//!   raw DEALER/ROUTER ping-pong in the same topology (each side a ROUTER
//!   inbox and a DEALER to the other).
//! - `fanout`: one node shouts to ten; messages/s delivered to all.
//! - `discovery`: N nodes started together, time from the last start until
//!   every node has seen N-1 ENTERs, with 1 s and 100 ms beacons.
//!
//! `cargo bench --bench net` runs them all; `cargo bench --bench net --
//! stream` (or `latency`, `fanout`, `discovery`) runs one. `ZRE_BENCH_SCALE`
//! (default 1.0) scales the message counts. Every node is on `lo` with a
//! private beacon port, so nothing leaves the host.
//!
//! `ZRE_BENCH_CURVE=1`: every node in CURVE mode (a fresh key pair each)
//! and every raw pair CURVE too (ROUTER a CURVE server, DEALER a client),
//! so the ratio is encryption against encryption.
//!
//! `ZRE_BENCH_EACH=1`: the stream also prints every run to stderr, with
//! its rate, CPU per message and the CPUs it kept busy (CPU time over the
//! run's wall time, start-up left out), to tell a slower message from
//! idle cores.
//!
//! `ZRE_BENCH_HWM=N`: the stream's high-water mark on both sides (both
//! nodes' `send_hwm`, the raw DEALER's and ROUTER's), instead of about
//! 64 MiB of messages per size: a small one (libzmq's default, 1 000)
//! keeps the sender waiting for room most of the time.
//!
//! `ZRE_BENCH_ORDER=zre|alternate`: which side of each stream pair runs
//! first (raw by default), to see whether the order weighs on the ratio.
//!
//! `ZRE_BENCH_RAW_READS=1`: the raw stream's receiver copies each content
//! out (into one reused buffer) and reads the header, as a node does;
//! by default it never touches a byte it receives.

use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};
use uuid::Uuid;
use zre::{Event, Node, NodeHandle, PortRange};

const STREAM_PORT: u16 = 55101;
const LATENCY_PORT: u16 = 55102;
const FANOUT_PORT: u16 = 55103;
const DISCOVERY_PORT: u16 = 55110;
const PATIENCE: Duration = Duration::from_secs(30);
/// The whisper header a ZRE node sends: signature, id 2, version 2, sequence.
const WHISPER_HEADER: [u8; 6] = [0xAA, 0xA1, 2, 2, 0, 1];

fn main() {
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wanted = |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    let scale: f64 = std::env::var("ZRE_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let scaled = |n: usize| ((n as f64 * scale) as usize).max(10);
    if wanted("stream") {
        stream(scaled);
    }
    if wanted("latency") {
        latency(scaled(25_000));
    }
    if wanted("fanout") {
        fanout(scaled(100_000));
    }
    if wanted("discovery") {
        discovery();
    }
}

/// `ZRE_BENCH_CURVE=1`: nodes and raw pairs in CURVE mode.
fn curve() -> bool {
    std::env::var("ZRE_BENCH_CURVE").is_ok_and(|v| v == "1")
}

/// The raw ROUTERs' CURVE key pair (one for the run).
fn raw_server_keys() -> &'static zmq::CurveKeyPair {
    static KEYS: OnceLock<zmq::CurveKeyPair> = OnceLock::new();
    KEYS.get_or_init(|| zmq::CurveKeyPair::new().expect("libzmq with CURVE"))
}

/// `ZRE_BENCH_SIDE=zre` (or `raw`) runs one side only, for profiling.
fn side(name: &str) -> bool {
    std::env::var("ZRE_BENCH_SIDE").map_or(true, |s| s == name)
}

/// Beacons every 100 ms, or every `ZRE_BENCH_BEACON_MS`: under callgrind,
/// which runs the benchmark some fifty times slower, a long interval keeps
/// the beacons' work (which grows with the run's wall-clock time) out of
/// the instruction counts per message. A node beacons the moment it
/// starts, so discovery does not wait for it.
fn node(name: &str, beacon_port: u16, hwm: i32) -> Node {
    let interval = std::env::var("ZRE_BENCH_BEACON_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(100);
    node_with(name, beacon_port, hwm, Duration::from_millis(interval))
}

fn node_with(name: &str, beacon_port: u16, hwm: i32, beacon_interval: Duration) -> Node {
    let mut builder = Node::builder()
        .name(name)
        .interface("lo")
        .beacon_port(beacon_port)
        .beacon_interval(beacon_interval)
        .port_range(PortRange::Any)
        .send_hwm(hwm);
    if curve() {
        builder = builder.curve(zre::Certificate::generate().expect("libzmq with CURVE"));
    }
    builder.build().expect("node starts on lo")
}

/// Drives all nodes in this thread until each has seen every other one
/// (and, with a group, every other one's JOIN).
fn discover(nodes: &mut [Node], group: Option<&str>) {
    let n = nodes.len();
    let mut enters = vec![0usize; n];
    let mut joins = vec![0usize; n];
    let deadline = Instant::now() + PATIENCE;
    let done = |e: &[usize], j: &[usize]| {
        e.iter().all(|&c| c == n - 1) && (group.is_none() || j.iter().all(|&c| c == n - 1))
    };
    while !done(&enters, &joins) {
        assert!(Instant::now() < deadline, "discovery did not finish");
        for (i, node) in nodes.iter_mut().enumerate() {
            node.run_once(Some(Duration::from_millis(2))).unwrap();
            while let Some(event) = node.next_event() {
                match event {
                    Event::Enter { .. } => enters[i] += 1,
                    Event::Join { group: g, .. } if Some(&*g) == group => joins[i] += 1,
                    _ => {}
                }
            }
        }
    }
}

/// Serves the node until `done` (or the patience runs out).
fn serve_until(node: &mut Node, done: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() && Instant::now() < deadline {
        node.run_once(Some(Duration::from_millis(1))).unwrap();
        while node.next_event().is_some() {}
    }
}

/// Sends whatever the node holds back before more is queued. The node's
/// poll wakes when a link has room again, as raw's blocking `zmq_send`
/// does; the timeout is only a safety net (polling every millisecond made
/// the sender spin: BENCHMARKS.md, "the heap trims behind the gap").
fn wait_for_room(node: &mut Node, limit: usize) {
    while node.backlog() > limit {
        node.run_once(Some(Duration::from_millis(100))).unwrap();
        while node.next_event().is_some() {}
    }
}

fn raw_context() -> zmq::Context {
    let ctx = zmq::Context::new();
    ctx.set_io_threads(1).unwrap();
    ctx
}

fn raw_router(ctx: &zmq::Context, hwm: i32) -> (zmq::Socket, String) {
    let router = ctx.socket(zmq::ROUTER).unwrap();
    router.set_rcvhwm(hwm).unwrap();
    router.set_linger(0).unwrap();
    if curve() {
        router.set_curve_server(true).unwrap();
        router.set_curve_secretkey(&raw_server_keys().secret_key).unwrap();
    }
    router.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = router.get_last_endpoint().unwrap().unwrap();
    (router, endpoint)
}

fn raw_dealer(ctx: &zmq::Context, hwm: i32, endpoint: &str) -> zmq::Socket {
    let dealer = ctx.socket(zmq::DEALER).unwrap();
    dealer
        .set_identity(&zre::core::peer_identity(&Uuid::new_v4()))
        .unwrap();
    dealer.set_sndhwm(hwm).unwrap();
    dealer.set_linger(0).unwrap();
    if curve() {
        let client = zmq::CurveKeyPair::new().unwrap();
        dealer.set_curve_serverkey(&raw_server_keys().public_key).unwrap();
        dealer.set_curve_publickey(&client.public_key).unwrap();
        dealer.set_curve_secretkey(&client.secret_key).unwrap();
    }
    dealer.connect(endpoint).unwrap();
    dealer
}

/// Receives one message of identity + header + content on a ROUTER into
/// reused buffers; returns the content size.
fn raw_recv(router: &zmq::Socket, msgs: &mut [zmq::Message; 3]) -> usize {
    router.recv(&mut msgs[0], 0).unwrap();
    router.recv(&mut msgs[1], 0).unwrap();
    router.recv(&mut msgs[2], 0).unwrap();
    msgs[2].len()
}

fn raw_send(dealer: &zmq::Socket, header: &[u8], content: &[u8]) {
    dealer.send(header, zmq::SNDMORE).unwrap();
    dealer.send(content, 0).unwrap();
}

/// Runs per figure (`ZRE_BENCH_REPEAT`, default 5); the median is shown.
fn repeat() -> usize {
    std::env::var("ZRE_BENCH_REPEAT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
        .max(1)
}

fn median(mut rates: Vec<Rate>) -> Rate {
    if rates.is_empty() {
        return Rate::none();
    }
    rates.sort_by(|a, b| a.per_sec().total_cmp(&b.per_sec()));
    rates.swap_remove(rates.len() / 2)
}

struct Rate {
    messages: usize,
    bytes: usize,
    elapsed: Duration,
    /// CPU time of the whole process (every thread) over the run.
    cpu: Duration,
}

/// User + system CPU time of this process so far, all threads, from
/// /proc/self/stat (in clock ticks, 10 ms: runs last long enough).
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 11 and 12 here
    // (the state, field 3, comes first).
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    let ticks = field(11) + field(12);
    Duration::from_millis(ticks * 10)
}

impl Rate {
    fn none() -> Rate {
        Rate {
            messages: 0,
            bytes: 0,
            elapsed: Duration::from_secs(1),
            cpu: Duration::ZERO,
        }
    }
    /// CPU microseconds per message, all threads of both sides.
    fn cpu_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.messages.max(1) as f64
    }
    fn per_sec(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64()
    }
    fn mb_per_sec(&self) -> f64 {
        self.bytes as f64 / self.elapsed.as_secs_f64() / 1e6
    }
    /// CPUs kept busy over the run: CPU time over wall time.
    fn cpus_busy(&self) -> f64 {
        self.cpu.as_secs_f64() / self.elapsed.as_secs_f64()
    }
}

/// With `ZRE_BENCH_EACH=1`, one line per run on stderr.
fn report_run(side: &str, size: usize, rate: &Rate) {
    if std::env::var("ZRE_BENCH_EACH").is_ok_and(|v| v == "1") {
        eprintln!(
            "{side} {}: {:.0} msg/s, {:.3} CPU µs/msg, {:.2} CPUs busy",
            human_size(size),
            rate.per_sec(),
            rate.cpu_us(),
            rate.cpus_busy()
        );
    }
}

// ----- stream ----------------------------------------------------------------

fn stream(scaled: impl Fn(usize) -> usize) {
    println!(
        "\n## WHISPER stream, A -> B on loopback (two threads, one context each){}\n",
        if curve() { ", CURVE on both sides" } else { "" }
    );
    println!(
        "| content | zre msg/s | zre MB/s | raw libzmq msg/s | raw MB/s | ours/raw, median of paired runs (each run) | zre CPU µs/msg | raw CPU µs/msg |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    // `ZRE_BENCH_SIZES=64,1024` runs some sizes only.
    let sizes: Vec<usize> = std::env::var("ZRE_BENCH_SIZES")
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    for (size, count) in [
        (64, scaled(1_000_000)),
        (1024, scaled(400_000)),
        (65536, scaled(20_000)),
    ] {
        if !sizes.is_empty() && !sizes.contains(&size) {
            continue;
        }
        // Queues bounded to about 64 MiB per side, the same for both.
        let hwm = (64 << 20) / size.max(1);
        let hwm = hwm.clamp(1000, 100_000) as i32;
        let hwm = std::env::var("ZRE_BENCH_HWM")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(hwm);
        // Alternate the two, several times, and keep each one's median:
        // the machine is shared and a single run swings widely.
        let (mut raws, mut ours) = (Vec::new(), Vec::new());
        // One short unmeasured run of each first: the first run of a
        // process pays for its heap and page faults.
        if side("raw") {
            stream_raw(size, count / 10, hwm);
        }
        if side("zre") {
            stream_zre(size, count / 10, hwm);
        }
        for i in 0..repeat() {
            let zre_first = match std::env::var("ZRE_BENCH_ORDER").as_deref() {
                Ok("zre") => true,
                Ok("alternate") => i % 2 == 1,
                _ => false,
            };
            for which in if zre_first { ["zre", "raw"] } else { ["raw", "zre"] } {
                if !side(which) {
                    continue;
                }
                if which == "raw" {
                    let rate = stream_raw(size, count, hwm);
                    report_run("raw", size, &rate);
                    raws.push(rate);
                } else {
                    let rate = stream_zre(size, count, hwm);
                    report_run("zre", size, &rate);
                    ours.push(rate);
                }
            }
        }
        // The ratio of each zre run to the raw run just before it, so that
        // a slow spell of the shared machine weighs on both sides alike;
        // its median is the figure, the others show the spread.
        let mut ratios: Vec<f64> = ours
            .iter()
            .zip(&raws)
            .map(|(ours, raw)| ours.per_sec() / raw.per_sec())
            .collect();
        ratios.sort_by(f64::total_cmp);
        let ratio = ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN);
        let spread: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        let (raw, ours) = (median(raws), median(ours));
        println!(
            "| {} | {:.0} | {:.1} | {:.0} | {:.1} | {:.2} ({}) | {:.2} | {:.2} |",
            human_size(size),
            ours.per_sec(),
            ours.mb_per_sec(),
            raw.per_sec(),
            raw.mb_per_sec(),
            ratio,
            spread.join(" "),
            ours.cpu_us(),
            raw.cpu_us()
        );
    }
}

fn human_size(size: usize) -> String {
    if size >= 1024 {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

fn stream_zre(size: usize, count: usize, hwm: i32) -> Rate {
    let mut nodes = vec![
        node("stream-a", STREAM_PORT, hwm),
        node("stream-b", STREAM_PORT, hwm),
    ];
    discover(&mut nodes, None);
    let mut b = nodes.pop().unwrap();
    let mut a = nodes.pop().unwrap();
    let to = b.uuid();
    let receiver = thread::spawn(move || {
        let (mut got, mut bytes) = (0usize, 0usize);
        let deadline = Instant::now() + PATIENCE;
        // The clock is read only when waiting, as the raw receiver never does.
        while got < count {
            match b.recv_event(Some(Duration::from_secs(1))).unwrap() {
                Some(Event::Whisper { content, .. }) => {
                    got += 1;
                    bytes += content[0].len();
                    // Buffers go back for the next messages, as the raw
                    // receiver reuses its zmq::Messages.
                    b.recycle(content);
                }
                Some(_) => {}
                None if Instant::now() > deadline => break,
                None => {}
            }
        }
        (Instant::now(), got, bytes, b)
    });
    let payload = vec![0x5a; size];
    let cpu = process_cpu();
    let start = Instant::now();
    // Lent frames are copied into libzmq as the raw sender's are;
    // `ZRE_BENCH_API=owned` measures `whisper(Vec<Frame>)` instead.
    let owned = std::env::var("ZRE_BENCH_API").is_ok_and(|api| api == "owned");
    for i in 0..count {
        if owned {
            a.whisper(to, vec![payload.clone()]).unwrap();
        } else {
            a.whisper_slices(to, &[&payload]).unwrap();
        }
        if i % 1024 == 1023 {
            wait_for_room(&mut a, 0);
        }
    }
    serve_until(&mut a, || receiver.is_finished());
    let (end, got, bytes, _b) = receiver.join().unwrap();
    assert_eq!(got, count, "the receiver got every message");
    Rate {
        messages: got,
        bytes,
        elapsed: end - start,
        cpu: process_cpu() - cpu,
    }
}

fn stream_raw(size: usize, count: usize, hwm: i32) -> Rate {
    let (ctx_a, ctx_b) = (raw_context(), raw_context());
    let (router, endpoint) = raw_router(&ctx_b, hwm);
    let dealer = raw_dealer(&ctx_a, hwm, &endpoint);
    // Connected both ways before the clock starts.
    raw_send(&dealer, &WHISPER_HEADER, b"hello");
    let mut msgs = [zmq::Message::new(), zmq::Message::new(), zmq::Message::new()];
    raw_recv(&router, &mut msgs);
    // `ZRE_BENCH_RAW_READS=1`: the content is copied out, into one reused
    // buffer, as a node copies it into a pooled one; the header is read.
    let reads = std::env::var("ZRE_BENCH_RAW_READS").is_ok_and(|v| v == "1");
    let receiver = thread::spawn(move || {
        let (mut bytes, mut copy) = (0, Vec::with_capacity(size));
        for _ in 0..count {
            bytes += raw_recv(&router, &mut msgs);
            if reads {
                copy.clear();
                copy.extend_from_slice(&msgs[2]);
                std::hint::black_box((&copy, msgs[1].first()));
            }
        }
        (Instant::now(), bytes)
    });
    let payload = vec![0x5a; size];
    let mut header = WHISPER_HEADER;
    let cpu = process_cpu();
    let start = Instant::now();
    for i in 0..count {
        header[4..6].copy_from_slice(&(i as u16).wrapping_add(2).to_be_bytes());
        raw_send(&dealer, &header, &payload);
    }
    let (end, bytes) = receiver.join().unwrap();
    Rate {
        messages: count,
        bytes,
        elapsed: end - start,
        cpu: process_cpu() - cpu,
    }
}

// ----- latency ---------------------------------------------------------------

fn latency(count: usize) {
    println!("\n## WHISPER round trip A -> B -> A, 64 B, one at a time\n");
    println!("| | p50 µs | p99 µs | mean µs |");
    println!("|---|---|---|---|");
    // Alternating runs, samples pooled: a burst of load on the shared
    // machine then hits both sides alike.
    let (mut raw, mut ours) = (Vec::new(), Vec::new());
    let runs = repeat();
    for _ in 0..runs {
        raw.extend(latency_raw(count / runs));
        ours.extend(latency_zre(count / runs));
    }
    for (name, mut samples) in [("zre", ours), ("raw libzmq", raw)] {
        samples.sort();
        let pct = |p: f64| samples[((samples.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6;
        let mean = samples.iter().sum::<Duration>().as_secs_f64() * 1e6 / samples.len() as f64;
        println!("| {name} | {:.1} | {:.1} | {:.1} |", pct(0.5), pct(0.99), mean);
    }
}

fn latency_zre(count: usize) -> Vec<Duration> {
    let mut nodes = vec![node("ping", LATENCY_PORT, 1000), node("pong", LATENCY_PORT, 1000)];
    discover(&mut nodes, None);
    let mut b = nodes.pop().unwrap();
    let mut a = nodes.pop().unwrap();
    let to = b.uuid();
    let echo = thread::spawn(move || {
        let mut echoed = 0;
        let deadline = Instant::now() + PATIENCE;
        while echoed < count && Instant::now() < deadline {
            if let Some(Event::Whisper { peer, content, .. }) =
                b.recv_event(Some(Duration::from_secs(1))).unwrap()
            {
                b.whisper(peer, content).unwrap();
                echoed += 1;
            }
        }
        // Stay up until A has had the last answer and left.
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Some(Event::Exit { .. }) = b.recv_event(Some(Duration::from_millis(100))).unwrap() {
                break;
            }
        }
    });
    let payload = vec![0x5a; 64];
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let sent = Instant::now();
        a.whisper_slices(to, &[&payload]).unwrap();
        loop {
            match a.recv_event(Some(PATIENCE)).unwrap() {
                Some(Event::Whisper { .. }) => break,
                Some(_) => {}
                None => panic!("no answer"),
            }
        }
        samples.push(sent.elapsed());
    }
    drop(a);
    echo.join().unwrap();
    samples
}

fn latency_raw(count: usize) -> Vec<Duration> {
    let (ctx_a, ctx_b) = (raw_context(), raw_context());
    let (router_a, endpoint_a) = raw_router(&ctx_a, 1000);
    let (router_b, endpoint_b) = raw_router(&ctx_b, 1000);
    let dealer_a = raw_dealer(&ctx_a, 1000, &endpoint_b);
    let dealer_b = raw_dealer(&ctx_b, 1000, &endpoint_a);
    let echo = thread::spawn(move || {
        let mut msgs = [zmq::Message::new(), zmq::Message::new(), zmq::Message::new()];
        for _ in 0..count + 1 {
            raw_recv(&router_b, &mut msgs);
            dealer_b.send(&msgs[1][..], zmq::SNDMORE).unwrap();
            dealer_b.send(&msgs[2][..], 0).unwrap();
        }
    });
    let payload = vec![0x5a; 64];
    let mut msgs = [zmq::Message::new(), zmq::Message::new(), zmq::Message::new()];
    // One round trip to connect.
    raw_send(&dealer_a, &WHISPER_HEADER, &payload);
    raw_recv(&router_a, &mut msgs);
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let sent = Instant::now();
        raw_send(&dealer_a, &WHISPER_HEADER, &payload);
        raw_recv(&router_a, &mut msgs);
        samples.push(sent.elapsed());
    }
    echo.join().unwrap();
    samples
}

// ----- fan-out ---------------------------------------------------------------

fn fanout(count: usize) {
    const RECEIVERS: usize = 10;
    println!("\n## SHOUT fan-out: one sender, {RECEIVERS} receivers, 64 B\n");
    println!("| | shouts/s sent | messages/s delivered (all receivers) | CPU µs per delivered message |");
    println!("|---|---|---|---|");
    let hwm = 100_000;
    let raw = if side("raw") {
        fanout_raw(RECEIVERS, count, hwm)
    } else {
        Rate::none()
    };
    let ours = if side("zre") {
        fanout_zre(RECEIVERS, count, hwm)
    } else {
        Rate::none()
    };
    for (name, rate) in [("zre", ours), ("raw libzmq (10 DEALERs)", raw)] {
        println!(
            "| {name} | {:.0} | {:.0} | {:.2} |",
            rate.per_sec() / RECEIVERS as f64,
            rate.per_sec(),
            rate.cpu_us()
        );
    }
}

fn fanout_zre(receivers: usize, count: usize, hwm: i32) -> Rate {
    let mut nodes: Vec<Node> = (0..=receivers)
        .map(|i| node(&format!("fan{i}"), FANOUT_PORT, hwm))
        .collect();
    for node in &mut nodes {
        node.join("FANOUT").unwrap();
    }
    discover(&mut nodes, Some("FANOUT"));
    let mut sender = nodes.remove(0);
    let threads: Vec<_> = nodes
        .into_iter()
        .map(|mut node| {
            thread::spawn(move || {
                let mut got = 0;
                let deadline = Instant::now() + PATIENCE;
                while got < count {
                    match node.recv_event(Some(Duration::from_secs(1))).unwrap() {
                        Some(Event::Shout { content, .. }) => {
                            got += 1;
                            node.recycle(content);
                        }
                        Some(_) => {}
                        None if Instant::now() > deadline => break,
                        None => {}
                    }
                }
                (Instant::now(), got, node)
            })
        })
        .collect();
    let payload = vec![0x5a; 64];
    let cpu = process_cpu();
    let start = Instant::now();
    for i in 0..count {
        sender.shout_slices("FANOUT", &[&payload]).unwrap();
        if i % 256 == 255 {
            wait_for_room(&mut sender, 0);
        }
    }
    serve_until(&mut sender, || threads.iter().all(|t| t.is_finished()));
    let mut end = start;
    let mut total = 0;
    let mut rest = Vec::new();
    for thread in threads {
        let (at, got, node) = thread.join().unwrap();
        end = end.max(at);
        total += got;
        rest.push(node);
    }
    assert_eq!(total, count * receivers, "every receiver got every shout");
    Rate {
        messages: total,
        bytes: total * 64,
        elapsed: end - start,
        cpu: process_cpu() - cpu,
    }
}

fn fanout_raw(receivers: usize, count: usize, hwm: i32) -> Rate {
    let ctx = raw_context();
    let mut dealers = Vec::new();
    let mut threads = Vec::new();
    for _ in 0..receivers {
        let rctx = raw_context();
        let (router, endpoint) = raw_router(&rctx, hwm);
        let dealer = raw_dealer(&ctx, hwm, &endpoint);
        raw_send(&dealer, &WHISPER_HEADER, b"hello");
        let mut msgs = [zmq::Message::new(), zmq::Message::new(), zmq::Message::new()];
        raw_recv(&router, &mut msgs);
        dealers.push(dealer);
        threads.push(thread::spawn(move || {
            let _ctx = rctx;
            for _ in 0..count {
                raw_recv(&router, &mut msgs);
            }
            Instant::now()
        }));
    }
    // A SHOUT header: the whisper one with id 3 and the group appended.
    let mut header = vec![0xAA, 0xA1, 3, 2, 0, 1, 6];
    header.extend_from_slice(b"FANOUT");
    let payload = vec![0x5a; 64];
    let cpu = process_cpu();
    let start = Instant::now();
    for _ in 0..count {
        for dealer in &dealers {
            raw_send(dealer, &header, &payload);
        }
    }
    let end = threads.into_iter().map(|t| t.join().unwrap()).max().unwrap();
    Rate {
        messages: count * receivers,
        bytes: count * receivers * 64,
        elapsed: end - start,
        cpu: process_cpu() - cpu,
    }
}

// ----- discovery -------------------------------------------------------------

fn discovery() {
    println!("\n## Discovery: N nodes started together (one thread each, Node::spawn)\n");
    println!("| N | beacon interval | start of all N | last start -> all N-1 ENTERs |");
    println!("|---|---|---|---|");
    let mut port = DISCOVERY_PORT;
    for interval in [Duration::from_secs(1), Duration::from_millis(100)] {
        for n in [2, 8, 32] {
            let (starting, found) = discovery_run(n, interval, port);
            port += 1;
            println!(
                "| {n} | {} ms | {:.1} ms | {:.1} ms |",
                interval.as_millis(),
                starting.as_secs_f64() * 1e3,
                found.as_secs_f64() * 1e3
            );
        }
    }
}

fn discovery_run(n: usize, interval: Duration, port: u16) -> (Duration, Duration) {
    let first = Instant::now();
    let handles: Vec<NodeHandle> = (0..n)
        .map(|i| node_with(&format!("d{i}"), port, 1000, interval).spawn().unwrap())
        .collect();
    let last_start = Instant::now();
    let mut enters = vec![0usize; n];
    let deadline = last_start + PATIENCE;
    while enters.iter().any(|&c| c < n - 1) {
        assert!(
            Instant::now() < deadline,
            "discovery of {n} nodes did not finish: {enters:?}"
        );
        let mut idle = true;
        for (handle, seen) in handles.iter().zip(enters.iter_mut()) {
            while let Ok(event) = handle.events().try_recv() {
                idle = false;
                if let Event::Enter { .. } = event {
                    *seen += 1;
                }
            }
        }
        if idle {
            thread::sleep(Duration::from_micros(200));
        }
    }
    let found = last_start.elapsed();
    // Stop them all in parallel: each stop waits for its own thread.
    thread::scope(|s| {
        for handle in handles {
            s.spawn(move || handle.stop());
        }
    });
    (last_start - first, found)
}
