//! Echo benchmark in the manner of Zyre's perf_local/perf_remote, as one
//! program with two parts that may run in separate processes (or network
//! namespaces):
//!
//! ```text
//! cargo run --release --example zre_perf -- remote -i lo --beacon-port 55201 --nodes 2
//! cargo run --release --example zre_perf -- local -i lo --beacon-port 55201 --remotes 2
//! ```
//!
//! Every node joins GLOBAL. A remote node greets each peer that enters with
//! a whisper "R:HELLO", answers each whisper "S:WHISPER" with a whisper
//! "R:WHISPER", and each shout "S:SHOUT" with a shout "R:SHOUT" to the
//! group. The local node waits for every remote's ENTER and greeting, then
//! whispers "S:WHISPER" round-robin, pipelined (taking in answers between
//! sends without waiting), until every answer is in; then shouts
//! "S:SHOUT" messages/remotes times and waits for every remote's answer
//! to each. It prints the time to coordinate, whisper msg/s and group
//! msg/s. Remotes exit when the local node leaves (or after --timeout).

use argh::FromArgs;
use std::thread;
use std::time::{Duration, Instant};
use uuid::Uuid;
use zre::{Event, Frame, Node, NodeError, PortRange};

#[derive(FromArgs)]
/// ZRE echo benchmark (Zyre's perf_local/perf_remote).
struct Args {
    #[argh(subcommand)]
    part: Part,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum Part {
    Local(Local),
    Remote(Remote),
}

#[derive(FromArgs)]
/// The measuring node: waits for the remotes, then whispers and shouts.
#[argh(subcommand, name = "local")]
struct Local {
    /// remote nodes to wait for (over all remote processes)
    #[argh(option, default = "2")]
    remotes: usize,
    /// whispers to send (the shout phase sends messages/remotes shouts)
    #[argh(option, default = "200000")]
    messages: usize,
    /// network interface (`lo` for loopback)
    #[argh(option, short = 'i', default = "String::from(\"lo\")")]
    interface: String,
    /// UDP beacon port
    #[argh(option, default = "5670")]
    beacon_port: u16,
    /// beacon interval in milliseconds
    #[argh(option, default = "1000")]
    beacon_interval_ms: u64,
}

#[derive(FromArgs)]
/// Echoing nodes, each in a thread of its own.
#[argh(subcommand, name = "remote")]
struct Remote {
    /// nodes to run in this process
    #[argh(option, default = "1")]
    nodes: usize,
    /// network interface (`lo` for loopback)
    #[argh(option, short = 'i', default = "String::from(\"lo\")")]
    interface: String,
    /// UDP beacon port
    #[argh(option, default = "5670")]
    beacon_port: u16,
    /// beacon interval in milliseconds
    #[argh(option, default = "1000")]
    beacon_interval_ms: u64,
    /// give up after this many seconds
    #[argh(option, default = "300")]
    timeout: u64,
}

const GROUP: &str = "GLOBAL";
const ROLE: &str = "X-PERF";

fn build(name: &str, role: &str, interface: &str, beacon_port: u16, interval_ms: u64) -> Node {
    let node = Node::builder()
        .name(name)
        .header(ROLE, role)
        .interface(interface)
        .beacon_port(beacon_port)
        .beacon_interval(Duration::from_millis(interval_ms))
        .port_range(PortRange::Any)
        .build();
    let mut node = node.unwrap_or_else(|err| {
        eprintln!("zre_perf: cannot start a node: {err}");
        std::process::exit(1)
    });
    node.join(GROUP).expect("join");
    node
}

fn main() {
    let args: Args = argh::from_env();
    match args.part {
        Part::Local(local) => run_local(local),
        Part::Remote(remote) => run_remote(remote),
    }
}

fn is(content: &[Frame], cookie: &[u8]) -> bool {
    content.first().is_some_and(|f| &f[..] == cookie)
}

/// Gives a message's content back to the node ([`Node::recycle`]), as
/// raw_perf reuses its zmq messages: without it each message costs a
/// `malloc` and a `free` for its frame list and one of each per frame
/// (BENCHMARKS.md, "Echo: giving the content back").
fn done_with(node: &mut Node, event: Event) {
    if let Event::Whisper { content, .. } | Event::Shout { content, .. } = event {
        node.recycle(content);
    }
}

/// Sends `sends` messages, taking in whatever has arrived after each
/// without waiting (pipelined), then waits until `expected` answers are in;
/// returns the time it all took. Exits the process if the answers stop.
fn exchange(
    node: &mut Node,
    sends: usize,
    expected: usize,
    mut send: impl FnMut(&mut Node, usize) -> Result<(), NodeError>,
    is_answer: impl Fn(&Event) -> bool,
    what: &str,
) -> Duration {
    let mut answers = 0;
    let start = Instant::now();
    for i in 0..sends {
        send(node, i).expect(what);
        node.run_once(Some(Duration::ZERO)).expect("node runs");
        while let Some(event) = node.next_event() {
            answers += usize::from(is_answer(&event));
            done_with(node, event);
        }
    }
    while answers < expected {
        match node.recv_event(Some(Duration::from_secs(10))).expect("node runs") {
            Some(event) => {
                answers += usize::from(is_answer(&event));
                done_with(node, event);
            }
            None => {
                eprintln!("zre_perf: {answers} of {expected} {what} answers, then silence");
                std::process::exit(1);
            }
        }
    }
    start.elapsed()
}

fn run_local(args: Local) {
    let n = args.remotes.max(1);
    let start = Instant::now();
    let mut node = build(
        "perf-local",
        "local",
        &args.interface,
        args.beacon_port,
        args.beacon_interval_ms,
    );
    let mut peers: Vec<Uuid> = Vec::new();
    let mut greetings = 0;
    let mut coordinated = None;
    let deadline = start + Duration::from_secs(120);
    while peers.len() < n || greetings < n {
        if Instant::now() > deadline {
            eprintln!(
                "zre_perf: only {} of {n} remotes entered and {greetings} greeted",
                peers.len()
            );
            std::process::exit(1);
        }
        match node
            .recv_event(Some(Duration::from_millis(100)))
            .expect("node runs")
        {
            Some(Event::Enter { peer, headers, .. })
                if headers.iter().any(|(k, v)| k == ROLE && v == "remote") && peers.len() < n =>
            {
                peers.push(peer);
                if peers.len() == n {
                    coordinated = Some(start.elapsed());
                }
            }
            Some(Event::Whisper { content, .. }) if is(&content, b"R:HELLO") => greetings += 1,
            _ => {}
        }
    }
    let coordinated = coordinated.unwrap_or_default();
    println!(
        "Took {} ms to coordinate with all remote",
        coordinated.as_millis()
    );
    println!(
        "Took {} ms to get greeting from all remote",
        start.elapsed().as_millis()
    );

    // WHISPER: pipelined round-robin, taking in answers between sends.
    let messages = args.messages;
    let elapsed = exchange(
        &mut node,
        messages,
        messages,
        |node, i| node.whisper_slices(peers[i % n], &[b"S:WHISPER"]).map(drop),
        |event| matches!(event, Event::Whisper { content, .. } if is(content, b"R:WHISPER")),
        "whisper",
    );
    println!(
        "Took {} ms to send/receive {messages} message. {:.2} msg/s",
        elapsed.as_millis(),
        messages as f64 / elapsed.as_secs_f64()
    );

    // SHOUT: every remote answers every shout with a shout.
    let shouts = messages / n;
    let expected = shouts * n;
    let elapsed = exchange(
        &mut node,
        shouts,
        expected,
        |node, _| node.shout_slices(GROUP, &[b"S:SHOUT"]).map(drop),
        |event| matches!(event, Event::Shout { content, .. } if is(content, b"R:SHOUT")),
        "shout",
    );
    println!(
        "Took {} ms to send {shouts}, recv {expected} GROUP message. {:.2} msg/s",
        elapsed.as_millis(),
        expected as f64 / elapsed.as_secs_f64()
    );
    node.stop();
}

fn run_remote(args: Remote) {
    let threads: Vec<_> = (0..args.nodes)
        .map(|i| {
            let node = build(
                &format!("perf-remote-{}-{i}", std::process::id()),
                "remote",
                &args.interface,
                args.beacon_port,
                args.beacon_interval_ms,
            );
            let timeout = Duration::from_secs(args.timeout);
            thread::spawn(move || echo(node, timeout))
        })
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
}

/// Answers until the local node has come and gone.
fn echo(mut node: Node, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let mut local = None;
    while Instant::now() < deadline {
        let Some(event) = node.recv_event(Some(Duration::from_secs(1))).expect("node runs") else {
            continue;
        };
        match &event {
            Event::Enter { peer, headers, .. } => {
                if headers.iter().any(|(k, v)| k == ROLE && v == "local") {
                    local = Some(*peer);
                }
                let _ = node.whisper_slices(*peer, &[b"R:HELLO"]);
            }
            Event::Exit { peer, .. } if Some(*peer) == local => break,
            Event::Whisper { peer, content, .. } if is(content, b"S:WHISPER") => {
                let _ = node.whisper_slices(*peer, &[b"R:WHISPER"]);
            }
            Event::Shout { group, content, .. } if is(content, b"S:SHOUT") => {
                let _ = node.shout_slices(group, &[b"R:SHOUT"]);
            }
            _ => {}
        }
        done_with(&mut node, event);
    }
    node.stop();
}
