//! Leader election time on loopback (BENCHMARKS.md): N nodes of ours in one
//! process, each in a thread of its own, on `lo` with a private beacon port
//! (127.255.255.255 stays on this machine), all contesting BENCH. N-1 of
//! them join and elect; then the last one joins, and the time from that
//! JOIN until every member has reported the LEADER of the new election is
//! measured. Each round uses a beacon port of its own.
//!
//! ```text
//! cargo run --release --example election_time -- --nodes 2,4,8,16 --rounds 5
//! ```

use argh::FromArgs;
use std::time::{Duration, Instant};
use zre::{Event, Node, NodeHandle, PortRange};

#[derive(FromArgs)]
/// Time from the last JOIN to LEADER at every member, on loopback.
struct Args {
    /// group sizes, comma-separated
    #[argh(option, default = "String::from(\"2,4,8,16\")")]
    nodes: String,
    /// elections measured per size
    #[argh(option, default = "5")]
    rounds: usize,
    /// first UDP beacon port (each round takes the next one)
    #[argh(option, default = "55370")]
    beacon_port: u16,
}

const GROUP: &str = "BENCH";
/// Any step that takes longer than this is a failure.
const PATIENCE: Duration = Duration::from_secs(30);
/// No event at any node for this long: the first election has settled.
/// Longer than Zyre's and our challenger patience (3 s), so a stalled wave
/// that is re-sent is waited for too.
const QUIET: Duration = Duration::from_millis(3500);

fn spawn(i: usize, port: u16) -> NodeHandle {
    Node::builder()
        .name(format!("bench-{i}"))
        .interface("lo")
        .beacon_port(port)
        .beacon_interval(Duration::from_millis(100))
        .port_range(PortRange::Any)
        .contest(GROUP)
        .build()
        .expect("node starts in loopback mode")
        .spawn()
        .expect("node thread starts")
}

/// Polls every node's events until `done(i, event)` was true for each of
/// `nodes` (indices) once; returns when the last one was seen.
fn wait_all(handles: &[NodeHandle], nodes: &[usize], mut done: impl FnMut(usize, &Event) -> bool) -> Instant {
    let deadline = Instant::now() + PATIENCE;
    let mut pending: Vec<usize> = nodes.to_vec();
    let mut last = Instant::now();
    while !pending.is_empty() {
        assert!(Instant::now() < deadline, "nodes {pending:?} never got there");
        let mut idle = true;
        for &i in nodes {
            while let Ok(event) = handles[i].events().try_recv() {
                idle = false;
                if pending.contains(&i) && done(i, &event) {
                    pending.retain(|&p| p != i);
                    last = Instant::now();
                }
            }
        }
        if idle {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    last
}

fn is_leader(event: &Event) -> bool {
    event.kind() == "LEADER" && event.group() == Some(GROUP)
}

/// One election among `n` nodes: the time from the last JOIN until every
/// member reported LEADER.
fn round(n: usize, port: u16) -> Duration {
    let handles: Vec<NodeHandle> = (0..n).map(|i| spawn(i, port)).collect();
    let all: Vec<usize> = (0..n).collect();
    let mut entered = vec![0usize; n];
    wait_all(&handles, &all, |i, e| {
        if e.kind() == "ENTER" {
            entered[i] += 1;
        }
        entered[i] == n - 1
    });
    // All but the last join, and (two or more) elect a leader.
    let (last, rest) = (n - 1, &all[..n - 1]);
    for &i in rest {
        handles[i].join(GROUP).unwrap();
    }
    if rest.len() > 1 {
        let mut joins = vec![0usize; n];
        wait_all(&handles, &all, |i, e| {
            if e.kind() == "JOIN" {
                joins[i] += 1;
            }
            joins[i] == n - 2
        });
        wait_all(&handles, rest, |_, e| is_leader(e));
    }
    // N-1 JOINs at once cross each other: elections restart and more
    // LEADERs follow the first. Wait until no event came for QUIET, so the
    // measured election does not overlap the tail of that one.
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < QUIET {
        for h in &handles {
            while h.events().try_recv().is_ok() {
                quiet_since = Instant::now();
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let start = Instant::now();
    handles[last].join(GROUP).unwrap();
    let done = wait_all(&handles, &all, |_, e| is_leader(e));
    done - start
}

fn main() {
    let args: Args = argh::from_env();
    let mut port = args.beacon_port;
    println!("N, rounds, election time from the last JOIN to LEADER at every member: median, min, max");
    for n in args
        .nodes
        .split(',')
        .map(|s| s.trim().parse::<usize>().expect("a number"))
    {
        assert!(n >= 2, "an election needs two members");
        let mut times: Vec<Duration> = (0..args.rounds)
            .map(|_| {
                port += 1;
                round(n, port)
            })
            .collect();
        times.sort();
        println!(
            "N={n:2}: median {:.1} ms, min {:.1} ms, max {:.1} ms",
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[0].as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3
        );
    }
}
