//! Nodes for the footprint benchmark (`benches/footprint.sh`).
//!
//! Without `--nodes`, one node driven in the main thread (no thread of its
//! own besides libzmq's), that joins BENCH and prints a line on stdout when
//! its peer count changes (`peers N`) and every `--report` whispers
//! received (`whispers N`). It is the process whose RSS, threads and
//! wake-ups are measured.
//!
//! With `--nodes K`, K nodes each in a thread of their own (the 32 peers of
//! the measured node); with `--whispers N`, the first of them waits until
//! it sees the measured node (`--target-peers` peers in all), waits
//! `--delay` seconds more, then whispers N messages of `--size` bytes to it.
//!
//! ```text
//! idle_node -i lo --beacon-port 55301
//! idle_node -i lo --beacon-port 55301 --nodes 32 --whispers 200000 --target-peers 32
//! ```

use argh::FromArgs;
use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};
use zre::{Event, Node, PortRange};

#[derive(FromArgs)]
/// A node that idles (and counts what it gets), or a swarm of them.
struct Args {
    /// network interface (`lo` for loopback)
    #[argh(option, short = 'i', default = "String::from(\"lo\")")]
    interface: String,
    /// UDP beacon port
    #[argh(option, default = "5670")]
    beacon_port: u16,
    /// run this many peer nodes, each in a thread, instead of the measured one
    #[argh(option)]
    nodes: Option<usize>,
    /// whispers to send to the measured node (swarm)
    #[argh(option, default = "0")]
    whispers: usize,
    /// content size of each whisper in bytes (swarm)
    #[argh(option, default = "64")]
    size: usize,
    /// peers the sender waits for before sending (swarm)
    #[argh(option, default = "1")]
    target_peers: usize,
    /// seconds to wait after that before sending (swarm)
    #[argh(option, default = "3")]
    delay: u64,
    /// print a line every this many whispers (measured node)
    #[argh(option, default = "10000")]
    report: usize,
    /// exit after this many seconds
    #[argh(option, default = "600")]
    timeout: u64,
}

const ROLE: &str = "X-FOOTPRINT";

fn build(args: &Args, role: &str) -> Node {
    let mut node = Node::builder()
        .header(ROLE, role)
        .interface(&args.interface)
        .beacon_port(args.beacon_port)
        .port_range(PortRange::Any)
        .build()
        .unwrap_or_else(|err| {
            eprintln!("idle_node: cannot start a node: {err}");
            std::process::exit(1)
        });
    node.join("BENCH").expect("join");
    node
}

fn main() {
    let args: Args = argh::from_env();
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    match args.nodes {
        None => measured(&args, deadline),
        Some(k) => {
            let nodes: Vec<Node> = (0..k).map(|_| build(&args, "peer")).collect();
            let threads: Vec<_> = nodes
                .into_iter()
                .enumerate()
                .map(|(i, node)| {
                    let (whispers, size, peers, delay) =
                        (args.whispers, args.size, args.target_peers, args.delay);
                    thread::spawn(move || {
                        if i == 0 && whispers > 0 {
                            send(node, whispers, size, peers, Duration::from_secs(delay), deadline)
                        } else {
                            idle(node, deadline)
                        }
                    })
                })
                .collect();
            for thread in threads {
                let _ = thread.join();
            }
        }
    }
}

fn measured(args: &Args, deadline: Instant) {
    let mut node = build(args, "measured");
    let mut out = std::io::stdout();
    let (mut peers, mut whispers) = (0usize, 0usize);
    while Instant::now() < deadline {
        let Some(event) = node.recv_event(Some(Duration::from_secs(10))).expect("node runs") else {
            continue;
        };
        match event {
            Event::Enter { .. } => peers += 1,
            Event::Exit { .. } => peers -= 1,
            Event::Whisper { .. } => {
                whispers += 1;
                if whispers % args.report == 0 {
                    let _ = writeln!(out, "whispers {whispers}");
                    let _ = out.flush();
                }
                continue;
            }
            _ => continue,
        }
        let _ = writeln!(out, "peers {peers}");
        let _ = out.flush();
    }
}

fn idle(mut node: Node, deadline: Instant) {
    while Instant::now() < deadline {
        node.recv_event(Some(Duration::from_secs(10))).expect("node runs");
    }
}

fn send(mut node: Node, whispers: usize, size: usize, peers: usize, delay: Duration, deadline: Instant) {
    let mut target = None;
    let mut seen = 0;
    while (target.is_none() || seen < peers) && Instant::now() < deadline {
        if let Some(Event::Enter { peer, headers, .. }) =
            node.recv_event(Some(Duration::from_secs(1))).expect("node runs")
        {
            seen += 1;
            if headers.iter().any(|(k, v)| k == ROLE && v == "measured") {
                target = Some(peer);
            }
        }
    }
    let Some(target) = target else { return };
    let until = Instant::now() + delay;
    while Instant::now() < until {
        node.run_once(Some(until - Instant::now())).expect("node runs");
        while node.next_event().is_some() {}
    }
    let payload = vec![0x5a; size];
    for i in 0..whispers {
        node.whisper(target, vec![payload.clone()]).expect("whisper");
        if i % 1024 == 1023 {
            while node.backlog() > 0 {
                node.run_once(Some(Duration::from_millis(1))).expect("node runs");
                while node.next_event().is_some() {}
            }
        }
    }
    idle(node, deadline);
}
