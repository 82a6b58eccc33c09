//! The echo of `examples/zre_perf.rs` on raw libzmq: the same processes,
//! sockets and frames as ZRE (a ROUTER inbox per process, a DEALER to each
//! peer's inbox, a ZRE header frame and one content frame per message),
//! without discovery, sequence checks or events. It is the baseline the
//! echo of `zre_perf` is compared with in the same run
//! (`benches/echo.sh`, `benches/echo_zyre.sh`).
//!
//! ```text
//! cargo run --release --example raw_perf -- remote --local tcp://127.0.0.1:55401 --ip 127.0.0.1
//! cargo run --release --example raw_perf -- local --port 55401 --remotes 2
//! ```
//!
//! In place of discovery each remote connects a DEALER to the local inbox
//! (`--local`) and sends it the endpoint of its own inbox; the local
//! connects a DEALER to each and sends every remote the list, and the
//! remotes connect to each other, so that a SHOUT goes to every other
//! process as in ZRE. A remote greets the local with "R:HELLO", answers
//! "S:WHISPER" with a whisper "R:WHISPER" to the local, and "S:SHOUT" with
//! a shout "R:SHOUT" to every other process. The local whispers
//! round-robin, pipelined, then shouts messages/remotes times, as
//! `zre_perf` does, and prints the same lines.

use argh::FromArgs;
use std::time::{Duration, Instant};

#[derive(FromArgs)]
/// Raw-libzmq echo benchmark in the shape of zre_perf.
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
/// The measuring process: binds its inbox, waits for the remotes, then
/// whispers and shouts.
#[argh(subcommand, name = "local")]
struct Local {
    /// remote processes to wait for
    #[argh(option, default = "2")]
    remotes: usize,
    /// whispers to send (the shout phase sends messages/remotes shouts)
    #[argh(option, default = "200000")]
    messages: usize,
    /// TCP port of the inbox (bound on every address)
    #[argh(option, default = "55401")]
    port: u16,
}

#[derive(FromArgs)]
/// An echoing process.
#[argh(subcommand, name = "remote")]
struct Remote {
    /// the local process's inbox, tcp://IP:PORT
    #[argh(option)]
    local: String,
    /// the address this process's inbox binds and announces
    #[argh(option, default = "String::from(\"127.0.0.1\")")]
    ip: String,
    /// give up after this many seconds
    #[argh(option, default = "300")]
    timeout: u64,
}

/// ZRE headers (RFC 36): signature, id, version 2, sequence; a SHOUT's
/// then has the group.
const WHISPER: [u8; 6] = [0xAA, 0xA1, 2, 2, 0, 0];
const HELLO: [u8; 6] = [0xAA, 0xA1, 1, 2, 0, 1];
const SHOUT: [u8; 13] = [0xAA, 0xA1, 3, 2, 0, 0, 6, b'G', b'L', b'O', b'B', b'A', b'L'];

fn main() {
    let args: Args = argh::from_env();
    match args.part {
        Part::Local(local) => run_local(local),
        Part::Remote(remote) => run_remote(remote),
    }
}

/// A DEALER to a peer inbox, with the identity ZRE gives it.
struct Link {
    socket: zmq::Socket,
    sequence: u16,
}

impl Link {
    fn new(context: &zmq::Context, endpoint: &str) -> Link {
        let socket = context.socket(zmq::DEALER).expect("dealer");
        let mut identity = [1u8; 17];
        identity[1..].copy_from_slice(&std::process::id().to_be_bytes().repeat(4));
        socket.set_identity(&identity).expect("identity");
        socket.set_sndhwm(100_000).expect("hwm");
        socket.set_linger(1000).expect("linger");
        socket.connect(endpoint).expect("connect");
        Link { socket, sequence: 1 }
    }

    /// Sends a header (with the next sequence number stamped) and content.
    fn send(&mut self, header: &[u8], content: &[u8]) {
        let mut stamped = [0u8; 16];
        let stamped = &mut stamped[..header.len()];
        stamped.copy_from_slice(header);
        self.sequence = self.sequence.wrapping_add(1);
        stamped[4..6].copy_from_slice(&self.sequence.to_be_bytes());
        self.socket.send(&stamped[..], zmq::SNDMORE).expect("send");
        self.socket.send(content, 0).expect("send");
    }
}

/// A ROUTER inbox with reused receive messages.
struct Inbox {
    socket: zmq::Socket,
    parts: [zmq::Message; 3],
}

impl Inbox {
    fn bind(context: &zmq::Context, endpoint: &str) -> Inbox {
        let socket = context.socket(zmq::ROUTER).expect("router");
        socket.set_rcvhwm(100_000).expect("hwm");
        socket.set_linger(0).expect("linger");
        socket.bind(endpoint).expect("bind");
        Inbox {
            socket,
            parts: [zmq::Message::new(), zmq::Message::new(), zmq::Message::new()],
        }
    }

    /// The next message's content frame (identity and header read past);
    /// `None` if nothing came (`flags` = DONTWAIT) or within the receive
    /// timeout.
    fn recv(&mut self, flags: i32) -> Option<&[u8]> {
        match self.socket.recv(&mut self.parts[0], flags) {
            Ok(()) => {}
            Err(zmq::Error::EAGAIN) => return None,
            Err(err) => panic!("recv: {err}"),
        }
        let mut part = 1;
        while self.parts[part - 1].get_more() && part < 3 {
            self.socket.recv(&mut self.parts[part], 0).expect("recv");
            part += 1;
        }
        // A longer message than ours: read past the rest.
        while self.parts[part - 1].get_more() {
            self.socket.recv(&mut self.parts[part - 1], 0).expect("recv");
        }
        (part == 3).then(|| &self.parts[2][..])
    }
}

fn run_local(args: Local) {
    let n = args.remotes.max(1);
    let context = zmq::Context::new();
    let mut inbox = Inbox::bind(&context, &format!("tcp://*:{}", args.port));
    let start = Instant::now();
    // Each remote's inbox endpoint, then each one's greeting.
    let mut endpoints = Vec::new();
    while endpoints.len() < n {
        if let Some(endpoint) = inbox.recv(0) {
            endpoints.push(String::from_utf8_lossy(endpoint).into_owned());
        }
    }
    let mut links: Vec<Link> = endpoints.iter().map(|e| Link::new(&context, e)).collect();
    let list = endpoints.join(" ");
    for link in &mut links {
        link.send(&HELLO, list.as_bytes());
    }
    println!(
        "Took {} ms to coordinate with all remote",
        start.elapsed().as_millis()
    );
    let mut greetings = 0;
    while greetings < n {
        if inbox.recv(0).is_some_and(|c| c == b"R:HELLO") {
            greetings += 1;
        }
    }
    println!(
        "Took {} ms to get greeting from all remote",
        start.elapsed().as_millis()
    );

    let messages = args.messages;
    let elapsed = exchange(&mut inbox, messages, messages, b"R:WHISPER", |i| {
        links[i % n].send(&WHISPER, b"S:WHISPER")
    });
    println!(
        "Took {} ms to send/receive {messages} message. {:.2} msg/s",
        elapsed.as_millis(),
        messages as f64 / elapsed.as_secs_f64()
    );

    let shouts = messages / n;
    let expected = shouts * n;
    let elapsed = exchange(&mut inbox, shouts, expected, b"R:SHOUT", |_| {
        for link in &mut links {
            link.send(&SHOUT, b"S:SHOUT");
        }
    });
    println!(
        "Took {} ms to send {shouts}, recv {expected} GROUP message. {:.2} msg/s",
        elapsed.as_millis(),
        expected as f64 / elapsed.as_secs_f64()
    );
    for link in &mut links {
        link.send(&WHISPER, b"STOP");
    }
}

/// Sends `sends` messages, taking in what has arrived after each without
/// waiting, then waits for `expected` answers; returns the time taken.
fn exchange(
    inbox: &mut Inbox,
    sends: usize,
    expected: usize,
    answer: &[u8],
    mut send: impl FnMut(usize),
) -> Duration {
    let start = Instant::now();
    let mut answers = 0;
    for i in 0..sends {
        send(i);
        while let Some(content) = inbox.recv(zmq::DONTWAIT) {
            answers += usize::from(content == answer);
        }
    }
    inbox.socket.set_rcvtimeo(10_000).expect("timeout");
    while answers < expected {
        match inbox.recv(0) {
            Some(content) => answers += usize::from(content == answer),
            None => {
                eprintln!("raw_perf: {answers} of {expected} answers, then silence");
                std::process::exit(1);
            }
        }
    }
    inbox.socket.set_rcvtimeo(-1).expect("timeout");
    start.elapsed()
}

fn run_remote(args: Remote) {
    let context = zmq::Context::new();
    let mut inbox = Inbox::bind(&context, &format!("tcp://{}:*", args.ip));
    inbox
        .socket
        .set_rcvtimeo(args.timeout.saturating_mul(1000).min(i32::MAX as u64) as i32)
        .expect("timeout");
    let own = inbox
        .socket
        .get_last_endpoint()
        .expect("endpoint")
        .expect("utf-8");
    let mut local = Link::new(&context, &args.local);
    local.send(&HELLO, own.as_bytes());
    // The other remotes, from the local's list.
    let Some(list) = inbox.recv(0).map(|c| String::from_utf8_lossy(c).into_owned()) else {
        eprintln!("raw_perf: the local process never answered");
        std::process::exit(1);
    };
    let mut others: Vec<Link> = list
        .split(' ')
        .filter(|e| *e != own)
        .map(|e| Link::new(&context, e))
        .collect();
    local.send(&WHISPER, b"R:HELLO");
    while let Some(content) = inbox.recv(0) {
        match content {
            b"S:WHISPER" => local.send(&WHISPER, b"R:WHISPER"),
            b"S:SHOUT" => {
                local.send(&SHOUT, b"R:SHOUT");
                for other in &mut others {
                    other.send(&SHOUT, b"R:SHOUT");
                }
            }
            b"STOP" => break,
            _ => {}
        }
    }
}
