//! Data integrity on a real (namespaced) LAN: `zrecat` carries 100 MB from
//! one node to two others, and both copies must be byte-identical to the
//! input, to the last byte before EOF. Random bytes in `--raw` mode, text
//! in line mode, and random bytes again with one receiver stopped
//! (SIGSTOP) for 5 s at 30 % of the input and, separately, at 90 %, and
//! for 12 s at 95 %: then the sender has handed the rest to libzmq while
//! the receiver still has the tail to read, and waits for its receipt (a
//! PING behind the data) before it leaves.
//!
//! What a slow receiver does to the sender (zrecat's high-water marks):
//! libzmq queues up to 256 messages of 64 KiB (raw; 10 000 lines in line
//! mode) per peer, then the node holds up to 16 (raw; 1 000) more in its
//! backlog, then zrecat stops reading its input. The group moves at the
//! pace of its slowest member, nothing is dropped and the sender says
//! nothing; the figure "fed while stopped" shows how far it got.
//!
//! The sender is `zrecat g --json`, fed from a file by the test once it has
//! seen both receivers join; the receivers are `zrecat g --listen` writing
//! to files. Files live in a temp dir of the test, never in memory. What
//! each run measured (sizes, times, throughput, RSS, what the sender said
//! on stderr) is printed past the test harness's capture for the CI log.
//!
//! `ZRE_INTEGRITY_MB` sets the size (default 100). Needs root; skipped
//! with a message without it, unless `CI` is set (then it fails).

use crate::support::netns;
use crate::support::netns::{ChildGuard, Event, Lab, WAIT, ZRE};
use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The bound on one transfer, from the first byte fed to both copies
/// complete: generous, for a debug build on a busy 2-core machine.
const TRANSFER_LIMIT: Duration = Duration::from_secs(300);
/// How long a receiver is stopped (`ZRE_INTEGRITY_STOP_MS` overrides it,
/// for experiments).
fn stopped_for() -> Duration {
    let ms = std::env::var("ZRE_INTEGRITY_STOP_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    Duration::from_millis(ms)
}

fn size_bytes() -> u64 {
    let mb: u64 = std::env::var("ZRE_INTEGRITY_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    mb * 1_000_000
}

/// A directory of the test's own, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("zre-integrity-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// xorshift64*: fast, seeded, good enough to defeat any compression or
/// pattern the transport might accidentally rely on.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn random_file(path: &Path, size: u64, seed: u64) {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    let mut rng = Rng(seed | 1);
    let mut left = size;
    while left > 0 {
        let word = rng.next().to_le_bytes();
        let n = left.min(8) as usize;
        out.write_all(&word[..n]).unwrap();
        left -= n as u64;
    }
    out.flush().unwrap();
}

/// Lines of 0 to 300 bytes (ASCII, some UTF-8, some blank lines), each
/// ending in `\n`, about `size` bytes in all; the last line is long, so
/// that a lost tail shows.
fn text_file(path: &Path, size: u64, seed: u64) -> u64 {
    const WORDS: [&str; 12] = [
        "zre",
        "peer",
        "SHOUT",
        "whisper",
        "beacon",
        "élan",
        "naïve",
        "日本語",
        "0123456789",
        "\t",
        "--",
        "~",
    ];
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    let mut rng = Rng(seed | 1);
    let mut written = 0u64;
    let mut line = String::new();
    while written < size {
        line.clear();
        let target = (rng.next() % 301) as usize;
        while line.len() < target {
            if rng.next() % 4 == 0 {
                line.push_str(WORDS[(rng.next() % WORDS.len() as u64) as usize]);
            } else {
                line.push(char::from(b' ' + (rng.next() % 95) as u8));
            }
        }
        line.push('\n');
        out.write_all(line.as_bytes()).unwrap();
        written += line.len() as u64;
    }
    let tail = format!("{}the last line before EOF\n", "x".repeat(1000));
    out.write_all(tail.as_bytes()).unwrap();
    written += tail.len() as u64;
    out.flush().unwrap();
    written
}

/// `Ok(bytes)` when identical; otherwise where they first differ.
fn compare(expected: &Path, got: &Path) -> Result<u64, String> {
    let (len_e, len_g) = (
        fs::metadata(expected).unwrap().len(),
        fs::metadata(got).map(|m| m.len()).unwrap_or(0),
    );
    let mut e = BufReader::with_capacity(1 << 20, File::open(expected).unwrap());
    let mut g = BufReader::with_capacity(1 << 20, File::open(got).map_err(|e| e.to_string())?);
    let (mut be, mut bg) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    let mut offset = 0u64;
    loop {
        let n = read_full(&mut e, &mut be);
        let m = read_full(&mut g, &mut bg);
        let common = n.min(m);
        if let Some(i) = (0..common).find(|&i| be[i] != bg[i]) {
            return Err(format!(
                "first difference at byte {} of {len_e} (received {len_g} bytes)",
                offset + i as u64
            ));
        }
        if n != m {
            return Err(format!(
                "received {len_g} bytes of {len_e}: identical up to byte {}, then {}",
                offset + common as u64,
                if m < n { "missing" } else { "extra bytes" }
            ));
        }
        if n == 0 {
            return Ok(offset);
        }
        offset += n as u64;
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> usize {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!("read: {e}"),
        }
    }
    filled
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// The sender s and receivers r1, r2 on one LAN.
fn lan(tag: &str, net: u8) -> Option<Lab> {
    let mut lab = Lab::new(tag)?;
    lab.numbered_lan("lan1", net, &["s", "r1", "r2"]);
    Some(lab)
}

/// The processes' environment: no config file; `RUST_LOG` is info, and
/// debug for the core (which then says when it drops a message from a peer
/// it no longer knows, but logs nothing per message delivered), unless
/// `ZRE_INTEGRITY_LOG` says otherwise.
fn env() -> [(&'static str, String); 2] {
    let log = std::env::var("ZRE_INTEGRITY_LOG").unwrap_or_else(|_| "info,zre::core::node=debug".into());
    [("ZRECFG", "/dev/null".into()), ("RUST_LOG", log)]
}

fn env_refs<'a>(env: &'a [(&'static str, String); 2]) -> [(&'static str, &'a str); 2] {
    [(env[0].0, env[0].1.as_str()), (env[1].0, env[1].1.as_str())]
}

/// `zrecat g --listen` on `host`, its stdout to `out`.
fn receiver(lab: &Lab, host: &str, out: &Path, raw: bool) -> ChildGuard {
    let script = format!(
        "exec \"$0\" zrecat g --listen {} -n {host} -i lan1 --beacon-port 5670 > '{}'",
        if raw { "--raw" } else { "" },
        out.display()
    );
    let env = env();
    let mut child = lab.spawn_as(
        &format!("zrecat {host}"),
        host,
        "sh",
        &["-c", &script, ZRE],
        &env_refs(&env),
    );
    // The pid must be zrecat itself (sh execs it), for SIGSTOP to stop it.
    let deadline = Instant::now() + WAIT;
    loop {
        let exe = fs::read_link(format!("/proc/{}/exe", child.pid())).unwrap_or_default();
        if exe.file_name().is_some_and(|n| n == "zre") {
            break;
        }
        assert!(
            child.try_status().is_none(),
            "{host}: zrecat ended\n{}",
            child.report()
        );
        assert!(Instant::now() < deadline, "{host}: sh did not exec zrecat");
        thread::sleep(Duration::from_millis(10));
    }
    child
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stop {
    /// Nobody is stopped.
    Never,
    /// r2 is stopped once this share of the input has been fed.
    AtFraction(u8),
    /// The same, for this many seconds instead of `stopped_for()`.
    AtFractionFor(u8, u64),
}

struct Outcome {
    bytes: u64,
    seconds: f64,
    sender_status: String,
    sender_warnings: Vec<String>,
    sender_rss_kib: u64,
    receiver_rss_kib: [u64; 2],
    results: [Result<u64, String>; 2],
    /// When r2 was stopped (bytes fed by then), for how long, and how many
    /// bytes the sender took in while it was.
    stopped: Option<(u64, f64, u64)>,
    /// Messages each receiver dropped as coming from a peer it did not
    /// know (any more): data lost on arrival.
    dropped: [usize; 2],
}

fn transfer(tag: &str, net: u8, raw: bool, stop: Stop) -> Option<Outcome> {
    let lab = lan(tag, net)?;
    let dir = TempDir::new(tag);
    let input = dir.join("input");
    let size = if raw {
        random_file(&input, size_bytes(), 0x5eed_0000 + u64::from(net));
        size_bytes()
    } else {
        text_file(&input, size_bytes(), 0x7e47_0000 + u64::from(net))
    };
    let outs = [dir.join("r1.out"), dir.join("r2.out")];
    let mut receivers = [
        receiver(&lab, "r1", &outs[0], raw),
        receiver(&lab, "r2", &outs[1], raw),
    ];
    let mut args = vec![
        "zrecat",
        "g",
        "--json",
        "-n",
        "src",
        "-i",
        "lan1",
        "--beacon-port",
        "5670",
        "--wait",
        "60",
    ];
    if raw {
        args.push("--raw");
    }
    let env = env();
    let mut sender = lab.spawn_as("zrecat src@s", "s", ZRE, &args, &env_refs(&env));
    for name in ["r1", "r2"] {
        sender.wait_stdout(
            &format!("JOIN of {name}"),
            |l| {
                let e = Event::parse(l);
                e.is("JOIN") && e.name() == name
            },
            WAIT,
        );
    }

    // Feed the input from a thread; the test thread watches and signals.
    let fed = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let mut stdin = sender.take_stdin().expect("stdin");
    let feeder = {
        let (fed, done, input) = (fed.clone(), done.clone(), input.clone());
        thread::spawn(move || {
            let mut file = File::open(&input).unwrap();
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = read_full(&mut file, &mut buf);
                if n == 0 {
                    break;
                }
                if stdin.write_all(&buf[..n]).is_err() {
                    break;
                }
                fed.fetch_add(n as u64, Ordering::Relaxed);
            }
            drop(stdin);
            done.store(true, Ordering::Release);
        })
    };
    let started = Instant::now();
    let mut stopped_at: Option<Instant> = None;
    let mut stopped: Option<(u64, f64, u64)> = None;
    let mut resumed = false;
    let mut sender_rss = 0u64;
    let mut receiver_rss = [0u64; 2];
    let complete = |outs: &[PathBuf; 2]| outs.iter().all(|o| file_len(o) >= size);
    loop {
        let (should_stop, stop_for) = match stop {
            Stop::Never => (false, stopped_for()),
            Stop::AtFraction(pct) => (
                fed.load(Ordering::Relaxed) >= size * u64::from(pct) / 100,
                stopped_for(),
            ),
            Stop::AtFractionFor(pct, secs) => (
                fed.load(Ordering::Relaxed) >= size * u64::from(pct) / 100,
                Duration::from_secs(secs),
            ),
        };
        if should_stop && stopped_at.is_none() {
            receivers[1].signal("STOP");
            stopped_at = Some(Instant::now());
            stopped = Some((fed.load(Ordering::Relaxed), 0.0, 0));
        }
        if let (Some(at), false) = (stopped_at, resumed) {
            if at.elapsed() >= stop_for {
                receivers[1].signal("CONT");
                resumed = true;
                if let Some((at_stop, secs, taken)) = stopped.as_mut() {
                    *secs = at.elapsed().as_secs_f64();
                    *taken = fed.load(Ordering::Relaxed) - *at_stop;
                }
            }
        }
        sender_rss = sender_rss.max(netns::proc_status_kib(sender.pid(), "VmRSS").unwrap_or(0));
        for (i, r) in receivers.iter().enumerate() {
            receiver_rss[i] = receiver_rss[i].max(netns::proc_status_kib(r.pid(), "VmRSS").unwrap_or(0));
        }
        let sender_done = sender.try_status().is_some();
        if sender_done && (stopped_at.is_none() || resumed) {
            // The sender has left: whatever is still on its way arrives now
            // or never. Give it a moment once the files stop growing.
            let mut last = (file_len(&outs[0]), file_len(&outs[1]));
            let mut still = Instant::now();
            while !complete(&outs) && still.elapsed() < Duration::from_secs(5) {
                thread::sleep(Duration::from_millis(100));
                let now = (file_len(&outs[0]), file_len(&outs[1]));
                if now != last {
                    last = now;
                    still = Instant::now();
                }
            }
            break;
        }
        assert!(
            started.elapsed() < TRANSFER_LIMIT,
            "{tag}: transfer not finished after {TRANSFER_LIMIT:?}: fed {} of {size}, received {} and {}\n{}",
            fed.load(Ordering::Relaxed),
            file_len(&outs[0]),
            file_len(&outs[1]),
            lab.report()
        );
        thread::sleep(Duration::from_millis(20));
    }
    let seconds = started.elapsed().as_secs_f64();
    feeder.join().unwrap();
    let sender_status = sender
        .wait_exit(WAIT)
        .map_or("still running".into(), |s| s.to_string());
    // A clean stop flushes what the receivers buffered.
    for r in receivers.iter_mut() {
        r.terminate();
    }
    for r in receivers.iter_mut() {
        if r.wait_exit(WAIT).is_none() {
            r.kill();
        }
    }
    let results = [compare(&input, &outs[0]), compare(&input, &outs[1])];
    let dropped = [0, 1].map(|i| receivers[i].stderr().count(|l| l.contains("before its HELLO")));
    let sender_warnings = sender
        .stderr()
        .lines()
        .into_iter()
        .filter(|l| l.contains("WARN") || l.contains("ERROR") || l.starts_with("zrecat:"))
        .collect();
    if results.iter().any(Result::is_err) {
        eprintln!("{tag}: output of the processes:\n{}", lab.report());
    }
    Some(Outcome {
        bytes: size,
        seconds,
        sender_status,
        sender_warnings,
        sender_rss_kib: sender_rss,
        receiver_rss_kib: receiver_rss,
        results,
        stopped,
        dropped,
    })
}

fn report_and_check(tag: &str, what: &str, outcome: &Outcome) {
    if let Some((fed, secs, taken)) = outcome.stopped {
        figure!(
            "integrity: {what}: r2 stopped (SIGSTOP) for {secs:.1} s when {fed} bytes had been fed; \
             fed while stopped: {taken} bytes (then the sender stopped reading)"
        );
    }
    figure!(
        "integrity: {what}: {} bytes to two receivers in {:.1} s ({:.1} MB/s); sender {}, peak RSS \
         {} KiB; receivers peak RSS {} KiB, {} KiB; r1 {:?}, r2 {:?}; messages dropped on arrival as \
         from an unknown peer: r1 {}, r2 {}",
        outcome.bytes,
        outcome.seconds,
        outcome.bytes as f64 / 1e6 / outcome.seconds,
        outcome.sender_status,
        outcome.sender_rss_kib,
        outcome.receiver_rss_kib[0],
        outcome.receiver_rss_kib[1],
        outcome.results[0],
        outcome.results[1],
        outcome.dropped[0],
        outcome.dropped[1]
    );
    for line in &outcome.sender_warnings {
        figure!("integrity: {what}: sender said: {line}");
    }
    for (name, result) in ["r1", "r2"].iter().zip(&outcome.results) {
        if let Err(err) = result {
            panic!("{tag}: {what}: {name}'s copy differs from the input: {err}");
        }
    }
    assert_eq!(
        outcome.sender_status, "exit status: 0",
        "{tag}: the sender failed"
    );
}

#[test]
fn raw_random_bytes_arrive_identical_at_both_receivers() {
    let Some(outcome) = transfer("intraw", 51, true, Stop::Never) else {
        return;
    };
    report_and_check("intraw", "raw random bytes", &outcome);
}

#[test]
fn text_lines_arrive_identical_at_both_receivers() {
    let Some(outcome) = transfer("intline", 52, false, Stop::Never) else {
        return;
    };
    report_and_check("intline", "text lines", &outcome);
}

#[test]
fn a_receiver_stopped_mid_transfer_loses_nothing() {
    let Some(outcome) = transfer("intslow", 53, true, Stop::AtFraction(30)) else {
        return;
    };
    report_and_check("intslow", "raw, r2 stopped at 30%", &outcome);
}

/// Stopped near the end, the receiver still holds the tail when the sender
/// has handed all of it to libzmq; the sender waits for its receipt, then
/// leaves (port-0 beacon, then GOODBYE after the data).
#[test]
fn a_receiver_stopped_near_the_end_loses_nothing() {
    let Some(outcome) = transfer("intslowend", 54, true, Stop::AtFraction(90)) else {
        return;
    };
    report_and_check("intslowend", "raw, r2 stopped at 90%", &outcome);
}

/// Stopped near the end for longer than the sender's linger (5 s) and its
/// old grace (1.5 s) together: the sender has handed all of its input to
/// libzmq long before r2 reads again. It waits for every receiver's
/// receipt (a PING behind the data) and leaves only then. Before, it left
/// after the grace and libzmq dropped what it still held for r2 when the
/// linger ran out: r2's copy lacked its tail, and the sender exited 0.
#[test]
fn a_receiver_stopped_at_the_end_for_longer_than_the_linger_loses_nothing() {
    let Some(outcome) = transfer("intlate", 55, true, Stop::AtFractionFor(95, 12)) else {
        return;
    };
    report_and_check("intlate", "raw, r2 stopped at 95% for 12 s", &outcome);
}
