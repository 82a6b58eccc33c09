//! The tools as processes: zre, zrecat, zretime, zreworker and
//! zgossip_server, started through symlinks to the one binary.
//!
//! Loopback only: every node runs with `-i lo`, a beacon port of its test's
//! own (a free UDP port the system hands out, so that two runs of this
//! suite on one host never hear each other), `--port-range 0` and short
//! beacon intervals. Waits are bounded
//! by generous deadlines and never assert on timing. Every child is killed
//! and reaped by its guard, so a failing test leaves no process behind.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// A `zre --json` whose stdout is not read for a while.
mod slow_reader;

const APPLETS: [&str; 5] = ["zre", "zrecat", "zretime", "zreworker", "zgossip_server"];
const SHORT: Duration = Duration::from_secs(30);
const LONG: Duration = Duration::from_secs(120);

/// A directory of the test's own, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("zre-tools-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A temp dir with a link per applet to the binary under test, and an empty
/// config file so that no /etc/zre.conf or ~/.zre.conf leaks in.
struct Bin {
    dir: TempDir,
}

impl Bin {
    fn new(test: &str) -> Bin {
        let dir = TempDir::new(test);
        for applet in APPLETS {
            std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_zre"), dir.path().join(applet)).expect("symlink");
        }
        fs::write(dir.path().join("empty.conf"), "").expect("write empty.conf");
        Bin { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The applet through its link, in a clean environment.
    fn command(&self, applet: &str, args: &[&str]) -> Command {
        let mut command = Command::new(self.path(applet));
        command
            .args(args)
            .env("ZRECFG", self.path("empty.conf"))
            .env_remove("ZRENAME")
            .env_remove("RUST_LOG");
        command
    }
}

/// A beacon port for one test: a UDP port the system just handed out as
/// free, so no other test, and no concurrent run of this suite, uses it.
fn private_beacon_port() -> u16 {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind an ephemeral UDP port");
    socket.local_addr().expect("local address").port()
}

/// Node options for the loopback, with the test's own beacon port.
fn lo(beacon_port: u16) -> Vec<String> {
    [
        "-i",
        "lo",
        "--beacon-port",
        &beacon_port.to_string(),
        "--port-range",
        "0",
        "--beacon-interval",
        "100ms",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn with<'a>(base: &'a [String], more: &[&'a str]) -> Vec<&'a str> {
    base.iter()
        .map(String::as_str)
        .chain(more.iter().copied())
        .collect()
}

/// A child process, killed and reaped when dropped. Its stdout lines (when
/// piped) arrive through a channel; its stderr is collected.
struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Option<Receiver<String>>,
    seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Proc {
    /// Starts `command` with stdin piped, stderr collected, and stdout
    /// piped into lines unless the command set it already (`stdout_lines`).
    fn start(name: &str, mut command: Command, stdout_lines: bool) -> Proc {
        command.stdin(Stdio::piped()).stderr(Stdio::piped());
        if stdout_lines {
            command.stdout(Stdio::piped());
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let stderr = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut text = String::new();
                let mut buffer = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    text.push_str(&String::from_utf8_lossy(&buffer[..n]));
                    if let Ok(mut shared) = stderr.lock() {
                        shared.clone_from(&text);
                    }
                }
            });
        }
        // A stdout the caller piped itself (not `stdout_lines`) stays in
        // `child` for it to read.
        let piped = if stdout_lines { child.stdout.take() } else { None };
        let lines = piped.map(|pipe| {
            let (sender, receiver) = channel();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            });
            receiver
        });
        Proc {
            name: name.to_owned(),
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn context(&self) -> String {
        format!(
            "{}: stdout so far:\n{}\nstderr:\n{}",
            self.name,
            self.seen.join("\n"),
            self.stderr()
        )
    }

    /// The first stdout line (from now on) that satisfies `wanted`.
    fn wait_line(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + SHORT;
        let lines = self.lines.as_ref().expect("stdout is not piped");
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!("no {what} within {SHORT:?}; {}", self.context()),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("{} closed stdout before {what}; {}", self.name, self.context())
                }
            }
        }
    }

    /// A JSON event line with every one of `parts` in it.
    fn wait_json(&mut self, parts: &[&str]) -> String {
        let what = parts.join(" ");
        self.wait_line(&what, |line| {
            line.starts_with('{') && line.ends_with('}') && parts.iter().all(|p| line.contains(p))
        })
    }

    fn send(&mut self, text: &str) {
        self.send_bytes(text.as_bytes());
    }

    fn send_bytes(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin already closed");
        stdin
            .write_all(bytes)
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| panic!("cannot write to {}: {e}", self.name));
    }

    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for the process to exit on its own.
    fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() >= deadline {
                panic!("{} did not exit within {within:?}; {}", self.name, self.context());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The rest of stdout after the process exited.
    fn remaining_lines(&mut self) -> Vec<String> {
        let mut rest = Vec::new();
        if let Some(lines) = &self.lines {
            while let Ok(line) = lines.recv_timeout(Duration::from_secs(5)) {
                rest.push(line);
            }
        }
        self.seen.extend(rest.iter().cloned());
        rest
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {}", self.child.id());
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command to its end (bounded), stdin at its end at once; status,
/// stdout, stderr.
fn run_to_end(name: &str, command: Command) -> (ExitStatus, String, String) {
    let mut proc = Proc::start(name, command, true);
    proc.close_stdin();
    let status = proc.wait_exit(SHORT);
    let stdout: String = proc
        .remaining_lines()
        .iter()
        .map(|line| format!("{line}\n"))
        .collect();
    // The stderr thread may still be copying the last bytes.
    std::thread::sleep(Duration::from_millis(50));
    (status, stdout, proc.stderr())
}

/// The value of a JSON string field in one of our event lines (no escapes
/// in the values these tests look at).
fn json_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let end = line[start..].find('"')? + start;
    Some(&line[start..end])
}

/// The milliseconds of the day of `HH:MM:SS.mmmZ` at the end of an RFC 3339
/// time with milliseconds.
fn millis_of_day(text: &str) -> Option<u64> {
    let time = text.get(11..)?.strip_suffix('Z')?;
    let (hms, millis) = time.split_once('.')?;
    let mut parts = hms.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
    (millis.len() == 3).then_some(())?;
    Some(((h * 60 + m) * 60 + s) * 1000 + millis.parse::<u64>().ok()?)
}

/// `2026-11-23T18:30:00Z`, or with a fraction (`…:00.200Z`).
fn is_rfc3339_utc(text: &str) -> bool {
    let text = match text.split_once('.') {
        Some((whole, fraction)) => {
            let Some(digits) = fraction.strip_suffix('Z') else {
                return false;
            };
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return false;
            }
            format!("{whole}Z")
        }
        None => text.to_owned(),
    };
    let bytes = text.as_bytes();
    bytes.len() == 20
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            19 => *b == b'Z',
            _ => b.is_ascii_digit(),
        })
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
fn pseudo_random(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.extend_from_slice(&seed.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// About `len` bytes of text lines of varied length, empty lines included.
fn text_lines(len: usize) -> Vec<u8> {
    let noise = pseudo_random(len / 8 + 64, 0x5eed);
    let mut out = Vec::with_capacity(len + 200);
    let mut n = 0usize;
    while out.len() < len {
        let width = usize::from(noise[n % noise.len()]) % 150;
        out.extend((0..width).map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789 .,;:-"[(n + i * 7) % 42]));
        out.push(b'\n');
        n += 1;
    }
    out
}

/// `zrecat GROUP > file` first, then `zrecat GROUP < input`; the file must
/// end up byte-identical to the input.
fn transfer(test: &str, beacon_port: u16, input: &[u8], extra: &[&str]) {
    let bin = Bin::new(test);
    let node = lo(beacon_port);
    let input_path = bin.path("input");
    let output_path = bin.path("output");
    fs::write(&input_path, input).expect("write input");
    let output = fs::File::create(&output_path).expect("create output");

    let mut receive = bin.command("zrecat", &with(&node, extra));
    receive.arg("t").stdout(output);
    let receiver = Proc::start("receiving zrecat", receive, false);

    let mut send = bin.command("zrecat", &with(&node, extra));
    send.args(["--wait", "60", "t"])
        .stdin(fs::File::open(&input_path).expect("open input"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut sender = send.spawn().expect("start sending zrecat");
    let sender_guard = ChildGuard(&mut sender);
    let deadline = Instant::now() + LONG;
    let status = loop {
        if let Some(status) = sender_guard.0.try_wait().expect("try_wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the sending zrecat did not finish");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut sender_stderr = String::new();
    if let Some(mut pipe) = sender_guard.0.stderr.take() {
        let _ = pipe.read_to_string(&mut sender_stderr);
    }
    assert!(
        status.success(),
        "sending zrecat: {status}; stderr: {sender_stderr}"
    );

    // The receiver writes as it receives: wait until all of it is there.
    let deadline = Instant::now() + LONG;
    loop {
        let size = fs::metadata(&output_path).map(|m| m.len()).unwrap_or(0);
        if size >= input.len() as u64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "received {size} of {} bytes; receiver stderr: {}",
            input.len(),
            receiver.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let received = fs::read(&output_path).expect("read output");
    assert_eq!(received.len(), input.len(), "sizes differ");
    let first_difference = received.iter().zip(input).position(|(a, b)| a != b);
    assert_eq!(first_difference, None, "contents differ");
    drop(receiver);
}

/// Kills and reaps a child started with a plain `Command::spawn`.
struct ChildGuard<'a>(&'a mut Child);

impl Drop for ChildGuard<'_> {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// ----- the tests ---------------------------------------------------------

#[test]
fn zrecat_time_hears_zretime() {
    let bin = Bin::new("time");
    let node = lo(private_beacon_port());
    let mut cat = Proc::start(
        "zrecat time",
        bin.command("zrecat", &with(&node, &["time"])),
        true,
    );
    let _time = Proc::start(
        "zretime",
        bin.command("zretime", &with(&node, &["--interval", "200ms"])),
        true,
    );
    let line = cat.wait_line("an RFC 3339 time", is_rfc3339_utc);
    assert!(is_rfc3339_utc(&line));

    // --listen reads no stdin: at the end of it, it keeps printing.
    let mut listener = Proc::start(
        "zrecat --listen time",
        bin.command("zrecat", &with(&node, &["--listen", "time"])),
        true,
    );
    // A pipe on stdin (a haskell-zre user's `-l` is --bufbyline): warned.
    let deadline = Instant::now() + SHORT;
    while !listener
        .stderr()
        .contains("--listen (-l): standard input is not read")
    {
        assert!(Instant::now() < deadline, "no warning: {}", listener.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    listener.close_stdin();
    // Each shout is the tick it is for: with 200ms, milliseconds, and two
    // shouts in a row are exactly one interval apart, whatever the delays.
    let first = listener.wait_line("an RFC 3339 time", is_rfc3339_utc);
    let second = listener.wait_line("another RFC 3339 time", is_rfc3339_utc);
    let (a, b) = (millis_of_day(&first), millis_of_day(&second));
    assert!(a.is_some() && b.is_some(), "{first} {second}");
    let (a, b) = (a.unwrap_or(0), b.unwrap_or(0));
    assert_eq!((b + 86_400_000 - a) % 86_400_000, 200, "{first} then {second}");
    assert_eq!(a % 200, 0, "ticks fall on multiples of the interval: {first}");
}

/// `--wait 0` sends at once, to whoever is in the group: with nobody
/// there, the input reached nobody, and zrecat says so (status 1) as it
/// does when nobody joins within the wait.
#[test]
fn zrecat_without_a_wait_says_when_its_input_reached_nobody() {
    let bin = Bin::new("nowait");
    let node = lo(private_beacon_port());
    let mut cat = Proc::start(
        "zrecat --wait 0",
        bin.command("zrecat", &with(&node, &["--wait", "0", "lonely"])),
        true,
    );
    cat.send("hello\nworld\n");
    cat.close_stdin();
    let status = cat.wait_exit(SHORT);
    std::thread::sleep(Duration::from_millis(50));
    let stderr = cat.stderr();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no peer in group 'lonely' was met when the input came: nothing was sent"),
        "{stderr}"
    );
}

/// `--peers N` holds the input until N peers are in the group: with one
/// listener of the two it names, nothing is sent and zrecat says how many
/// came; with both, each gets every line. (Without it, a sender sends on
/// the first peer met, and a crowd's later members missed the start.)
#[test]
fn zrecat_peers_waits_for_that_many_listeners_or_sends_nothing() {
    let bin = Bin::new("peers");
    let node = lo(private_beacon_port());
    let listener = |name: &str| {
        Proc::start(
            &format!("zrecat --listen -n {name}"),
            bin.command("zrecat", &with(&node, &["--listen", "-n", name, "g"])),
            true,
        )
    };
    let mut first = listener("first");
    let mut early = Proc::start(
        "zrecat --peers 2 --wait 5",
        bin.command("zrecat", &with(&node, &["--peers", "2", "--wait", "5", "g"])),
        true,
    );
    early.send("too early\n");
    early.close_stdin();
    let status = early.wait_exit(SHORT);
    let stderr = early.stderr();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("only 1 of 2 peers joined group 'g' within 5s; nothing was sent"),
        "{stderr}"
    );
    let mut second = listener("second");
    let mut sender = Proc::start(
        "zrecat --peers 2",
        bin.command("zrecat", &with(&node, &["--peers", "2", "--wait", "30", "g"])),
        true,
    );
    sender.send("one\ntwo\n");
    sender.close_stdin();
    let status = sender.wait_exit(LONG);
    assert!(status.success(), "{status}: {}", sender.stderr());
    for listener in [&mut first, &mut second] {
        assert_eq!(
            listener.wait_line("the first line", |l| l == "one" || l == "too early"),
            "one"
        );
        assert_eq!(listener.wait_line("the second line", |l| l == "two"), "two");
    }
}

/// At the end of its input zrecat waits for each receiver's receipt (a
/// PING behind the data, answered once all of it was read) before it
/// leaves. A receiver that freezes (SIGSTOP) never gives it: once the
/// sender's liveness check drops it (EXIT after `--expired`), zrecat says
/// the end of the input may not have reached it, and exits 1 instead of 0.
#[test]
fn zrecat_names_a_receiver_that_went_before_reading_everything() {
    let bin = Bin::new("receipt");
    let node = lo(private_beacon_port());
    let receiver = Proc::start(
        "zrecat --listen",
        bin.command("zrecat", &with(&node, &["--listen", "-n", "frozen", "g"])),
        true,
    );
    let mut sender = Proc::start(
        "zrecat --json",
        bin.command(
            "zrecat",
            &with(&node, &["--json", "--evasive", "500ms", "--expired", "2", "g"]),
        ),
        true,
    );
    sender.wait_json(&[r#""event":"JOIN""#, r#""name":"frozen""#]);
    receiver.signal("STOP");
    sender.send("hello\n");
    sender.close_stdin();
    let status = sender.wait_exit(SHORT);
    std::thread::sleep(Duration::from_millis(50));
    let stderr = sender.stderr();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("1 peer(s) left 'g' before saying they had read everything sent to them"),
        "{stderr}"
    );
    receiver.signal("CONT");
}

/// A receiver whose stdout nobody reads for a while (a pipe into a busy
/// program) keeps its node alive: stdout has a writer thread, the loop
/// stops taking events instead of blocking in write(), and the paused
/// node PINGs its peers. Before, the loop blocked in write() and froze the
/// node: a sender with `--expired 3` dropped it, and exited 1.
#[test]
fn zrecat_keeps_its_node_alive_while_nobody_reads_its_stdout() {
    let bin = Bin::new("stall");
    let node = lo(private_beacon_port());
    let mut receive = bin.command(
        "zrecat",
        &with(
            &node,
            &["--listen", "--raw", "--evasive", "1", "-n", "stalled", "g"],
        ),
    );
    receive.stdout(Stdio::piped());
    let mut receiver = Proc::start("stalled zrecat", receive, false);
    let mut stdout = receiver.child.stdout.take().expect("piped stdout");
    // More than the stalled receiver holds: 64 events of 64 KiB and the
    // writer's chunks in the process, 256 messages in its libzmq queue.
    let input = pseudo_random(24 << 20, 0x057a_11ed);
    let mut sender = Proc::start(
        "zrecat --json",
        bin.command(
            "zrecat",
            &with(
                &node,
                &["--json", "--raw", "--evasive", "1", "--expired", "3", "g"],
            ),
        ),
        true,
    );
    sender.wait_json(&[r#""event":"JOIN""#, r#""name":"stalled""#]);
    sender.send_bytes(&input);
    sender.close_stdin();
    // Twice the sender's expired timeout without a byte read.
    std::thread::sleep(Duration::from_secs(6));
    assert!(
        sender.child.try_wait().expect("try_wait").is_none(),
        "the sender waits for the stalled receiver: {}",
        sender.stderr()
    );
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        let _ = stdout.read_to_end(&mut got);
        got
    });
    let status = sender.wait_exit(SHORT);
    assert!(status.success(), "{status}: {}", sender.stderr());
    receiver.signal("TERM");
    let got = reader.join().expect("reader");
    assert!(
        got == input,
        "{} of {} bytes, or not the same",
        got.len(),
        input.len()
    );
}

#[test]
fn ten_megabytes_of_text_arrive_identical() {
    transfer("text", private_beacon_port(), &text_lines(10 << 20), &[]);
}

#[test]
fn ten_megabytes_of_binary_arrive_identical_in_raw_mode() {
    transfer(
        "raw",
        private_beacon_port(),
        &pseudo_random(10 << 20, 0xb1_0b),
        &["--raw"],
    );
}

#[test]
fn a_scripted_zre_session_joins_shouts_and_whispers() {
    let bin = Bin::new("script");
    let node = lo(private_beacon_port());
    let mut bob = Proc::start(
        "bob",
        bin.command("zre", &with(&node, &["--json", "-n", "bob"])),
        true,
    );
    bob.wait_json(&[r#""event":"READY""#, r#""name":"bob""#]);
    bob.send("/join chat\n");
    let mut alice = Proc::start(
        "alice",
        bin.command("zre", &with(&node, &["--json", "-n", "alice"])),
        true,
    );
    let ready = alice.wait_json(&[r#""event":"READY""#]);
    let alice_uuid = json_field(&ready, "peer").expect("READY has a peer").to_owned();
    assert_eq!(alice_uuid.len(), 32);
    assert!(
        alice_uuid
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    );
    alice.wait_json(&[r#""event":"ENTER""#, r#""name":"bob""#]);
    // Alice's shout reaches bob once she knows he is in the group.
    alice.wait_json(&[r#""event":"JOIN""#, r#""name":"bob""#, r#""group":"chat""#]);
    alice.send(
        "/join chat\n/shout chat hello there,   multi word world\n/whisper bob a secret word\n/nonsense\n",
    );

    bob.wait_json(&[r#""event":"JOIN""#, r#""name":"alice""#, r#""group":"chat""#]);
    let shout = bob.wait_json(&[r#""event":"SHOUT""#]);
    assert_eq!(
        shout,
        format!(
            r#"{{"event":"SHOUT","peer":"{alice_uuid}","name":"alice","group":"chat","content":["hello there,   multi word world"]}}"#
        )
    );
    let whisper = bob.wait_json(&[r#""event":"WHISPER""#]);
    assert_eq!(
        whisper,
        format!(r#"{{"event":"WHISPER","peer":"{alice_uuid}","name":"alice","content":["a secret word"]}}"#)
    );

    // A line that is not UTF-8 is refused, not sent with its bytes
    // replaced; the session goes on.
    alice.send_bytes(b"/shout chat \xff\xfeabc\n");
    // A shout just before the end of input still arrives; then the end of
    // input quits cleanly: STOP, status 0, the peer sees us go.
    alice.send("/shout chat last words\n");
    alice.close_stdin();
    let status = alice.wait_exit(SHORT);
    assert!(status.success(), "alice: {status}; {}", alice.context());
    let rest = alice.remaining_lines();
    assert_eq!(
        rest.last().map(String::as_str),
        Some(r#"{"event":"STOP"}"#),
        "{rest:?}"
    );
    // Only JSON on stdout; the bad command's error went to stderr.
    assert!(
        alice.seen.iter().all(|l| l.starts_with("{\"event\":\"")),
        "{:?}",
        alice.seen
    );
    assert!(
        alice.stderr().contains("unknown command /nonsense"),
        "{}",
        alice.stderr()
    );
    assert!(
        alice
            .stderr()
            .contains("ignored a command line that is not UTF-8 text"),
        "{}",
        alice.stderr()
    );
    bob.wait_json(&[r#""event":"SHOUT""#, r#""content":["last words"]"#]);
    assert!(
        !bob.seen.iter().any(|l| l.contains("abc")),
        "the line that is not UTF-8 was sent: {:?}",
        bob.seen
    );
    bob.wait_json(&[r#""event":"EXIT""#, r#""name":"alice""#]);

    // SIGTERM stops cleanly too.
    bob.signal("TERM");
    let status = bob.wait_exit(SHORT);
    assert!(status.success(), "bob after SIGTERM: {status}; {}", bob.context());
    let rest = bob.remaining_lines();
    assert_eq!(
        rest.last().map(String::as_str),
        Some(r#"{"event":"STOP"}"#),
        "{rest:?}"
    );
}

#[test]
fn zreworker_answers_a_whispered_group_with_job_output() {
    let bin = Bin::new("worker");
    let node = lo(private_beacon_port());
    let _worker = Proc::start(
        "zreworker",
        bin.command("zreworker", &with(&node, &["-n", "worker"])),
        true,
    );
    let mut client = Proc::start(
        "client",
        bin.command("zre", &with(&node, &["--json", "-n", "client"])),
        true,
    );
    client.wait_json(&[r#""event":"ENTER""#, r#""name":"worker""#]);
    client.send("/join jobs\n/whisper worker jobs\n");
    for step in 1..=5 {
        client.wait_json(&[
            r#""event":"SHOUT""#,
            r#""group":"jobs""#,
            &format!("step {step}/5"),
        ]);
    }
    client.wait_json(&[r#""event":"SHOUT""#, r#""group":"jobs""#, r#""content":["done"]"#]);
    client.wait_json(&[r#""event":"WHISPER""#, r#""content":["done jobs"]"#]);

    let too_long = "g".repeat(256);
    client.send(&format!("/whisper worker {too_long}\n"));
    client.wait_json(&[r#""event":"WHISPER""#, r#""content":["error: invalid group name"#]);
}

#[test]
fn config_file_zrename_and_flags_apply_in_order() {
    let bin = Bin::new("config");
    let node = lo(private_beacon_port());
    let config = bin.path("zre.conf");
    fs::write(&config, "[zre]\nname = fromfile\n\n[zrecat]\nname = fromapplet\n").expect("write config");
    let ready_name = |applet: &str, args: &[&str], zrename: Option<&str>| -> String {
        let mut command = bin.command(applet, &with(&node, args));
        command.env("ZRECFG", &config);
        if let Some(name) = zrename {
            command.env("ZRENAME", name);
        }
        let (status, stdout, stderr) = run_to_end(applet, command);
        assert!(status.success(), "{applet} {args:?}: {status}; {stderr}");
        let ready = stdout
            .lines()
            .find(|l| l.contains(r#""event":"READY""#))
            .unwrap_or_else(|| panic!("no READY from {applet}: {stdout}"));
        json_field(ready, "name").expect("READY has a name").to_owned()
    };
    assert_eq!(ready_name("zre", &["--json"], None), "fromfile");
    assert_eq!(ready_name("zrecat", &["--json", "t"], None), "fromapplet");
    assert_eq!(ready_name("zrecat", &["--json", "t"], Some("fromenv")), "fromenv");
    assert_eq!(
        ready_name("zrecat", &["--json", "--name", "fromflag", "t"], Some("fromenv")),
        "fromflag"
    );
    assert_eq!(
        ready_name("zre", &["--json", "-n", "short"], Some("fromenv")),
        "short"
    );

    let broken = bin.path("broken.conf");
    fs::write(&broken, "[zre]\nname = ok\nthis line is wrong\n").expect("write broken config");
    let mut command = bin.command("zrecat", &with(&node, &["t"]));
    command.env("ZRECFG", &broken);
    let (status, stdout, stderr) = run_to_end("zrecat", command);
    assert!(!status.success(), "a broken config must fail");
    assert!(stdout.is_empty(), "{stdout}");
    let expected = format!("{}:3", broken.display());
    assert!(stderr.starts_with("zrecat: "), "{stderr}");
    assert!(stderr.contains(&expected), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");

    let mut command = bin.command("zre", &with(&node, &["--evasive", "soon"]));
    command.env("ZRECFG", &config);
    let (status, _, stderr) = run_to_end("zre", command);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("zre: --evasive: invalid duration"), "{stderr}");
}

#[test]
fn usage_errors_exit_2_whoever_finds_them() {
    let bin = Bin::new("usage");
    let long_group = "g".repeat(256);
    // (applet, arguments, what stderr must say)
    let cases: &[(&str, &[&str], &str)] = &[
        // argh's own findings
        ("zre", &["--bogus"], "Unrecognized argument: --bogus"),
        ("zre", &["--port-range"], "--port-range"),
        ("zrecat", &[], "GROUP"),
        ("zretime", &["extra"], "extra"),
        // every kind of value the settings check
        (
            "zretime",
            &["--interval", "abc"],
            "--interval: invalid duration \"abc\"",
        ),
        (
            "zretime",
            &["--interval", "0"],
            "--interval: duration \"0\" must be greater than 0",
        ),
        (
            "zre",
            &["--port-range", "5-1"],
            "--port-range: invalid port range \"5-1\"",
        ),
        (
            "zre",
            &["--beacon-port", "99999"],
            "--beacon-port: invalid port \"99999\"",
        ),
        ("zre", &["--fast-exit", "maybe"], "--fast-exit"),
        ("zretime", &["--group", ""], "--group: empty group name"),
        (
            "zre",
            &["--beacon-interval", "-1"],
            "--beacon-interval: invalid duration",
        ),
        ("zre", &["--max-peers", "0"], "--max-peers: invalid count"),
        ("zre", &["-g", "nohost"], "--gossip: invalid address \"nohost\""),
        (
            "zre",
            &["--multicast-group", "10.0.0.1:5670"],
            "not a multicast address",
        ),
        ("zre", &["--multicast-group", "[ff02::1]:5670"], "IPv4"),
        ("zre", &["--header", "nokey"], "--header: invalid header"),
        (
            "zre",
            &["--endpoint", "udp://1.2.3.4:5"],
            "--endpoint: invalid endpoint",
        ),
        ("zre", &["-n", &long_group], "--name: value longer than 255 bytes"),
        ("zrecat", &["--wait", "soon", "g"], "--wait: invalid duration"),
        (
            "zrecat",
            // Loopback: were the check gone, no node may start on a LAN.
            &["-i", "lo", "--peers", "3", "--max-peers", "2", "--wait", "1", "g"],
            "--peers/--max-peers: peers (3) can never be met: the node tracks at most 2 peers",
        ),
        (
            "zrecat",
            &["-i", "lo", "--peers", "1025", "--wait", "1", "g"],
            "at most 1024 peers",
        ),
        ("zrecat", &[&long_group], "GROUP: value longer than 255 bytes"),
        ("zgossip_server", &["--client-timeout", "0"], "--client-timeout"),
        (
            "zgossip_server",
            &["--tuple-ttl", "x"],
            "--tuple-ttl: invalid duration",
        ),
        (
            "zgossip_server",
            &["-c", "nope"],
            "--connect: invalid address \"nope\"",
        ),
        ("zgossip_server", &["-b", "udp://x"], "tcp://HOST:PORT"),
        // our check between two values
        (
            "zre",
            &["--evasive", "10", "--expired", "2"],
            "must not be shorter than evasive",
        ),
        // the same, in haskell-zre's flags
        (
            "zre",
            &["-q", "10", "-d", "2"],
            "must not be shorter than evasive",
        ),
        (
            "zrecat",
            &["--quiet-ping-rate", "often", "g"],
            "--quiet-ping-rate: invalid number",
        ),
    ];
    for (applet, args, needle) in cases {
        let (status, stdout, stderr) = run_to_end(applet, bin.command(applet, args));
        assert_eq!(status.code(), Some(2), "{applet} {args:?}: {stderr}");
        assert!(stdout.is_empty(), "{applet} {args:?}: {stdout}");
        assert!(stderr.starts_with(&format!("{applet}: ")), "{stderr}");
        assert!(stderr.contains(needle), "{applet} {args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }

    // A file that cannot be read or parsed is not a usage error: status 1,
    // with the file (and the line).
    let bad = bin.path("bad.conf");
    fs::write(&bad, "[zre]\nname = ok\nbeacon-port = 99999\n").expect("write bad.conf");
    let missing = bin.path("missing.conf");
    for (config, needle) in [
        (&bad, format!("{}:3: key 'beacon-port'", bad.display())),
        (
            &missing,
            format!("{}: cannot read config file", missing.display()),
        ),
    ] {
        let mut command = bin.command("zretime", &[]);
        command.env("ZRECFG", config);
        let (status, _, stderr) = run_to_end("zretime", command);
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(&needle), "{stderr}");
    }
    // The check between two values names the file's lines when the file
    // set them.
    fs::write(&bad, "[zre]\nevasive = 10\nexpired = 2\n").expect("write bad.conf");
    let mut command = bin.command("zre", &[]);
    command.env("ZRECFG", &bad);
    let (status, _, stderr) = run_to_end("zre", command);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("{}:3", bad.display())), "{stderr}");
    assert!(stderr.contains(&format!("{}:2", bad.display())), "{stderr}");
}

#[test]
fn every_applet_has_help_and_dispatch_works() {
    let bin = Bin::new("help");
    let expected: [(&str, &[&str]); 5] = [
        (
            "zre",
            &["--name", "--interface", "--gossip", "--json", "--install-links"],
        ),
        (
            "zrecat",
            &["--wait", "--raw", "--beacon-port", "--port-range", "GROUP"],
        ),
        ("zretime", &["--group", "--interval", "--header"]),
        ("zreworker", &["--no-beacon", "--endpoint", "--max-peers"]),
        (
            "zgossip_server",
            &["--bind", "--connect", "--client-timeout", "--tuple-ttl"],
        ),
    ];
    for (applet, options) in expected {
        let (status, stdout, stderr) = run_to_end(applet, bin.command(applet, &["--help"]));
        assert!(status.success(), "{applet} --help: {status}; {stderr}");
        assert!(stdout.starts_with(&format!("Usage: {applet}")), "{stdout}");
        for option in options {
            assert!(
                stdout.contains(option),
                "{applet} --help lacks {option}:\n{stdout}"
            );
        }
    }
    // `zre APPLET ...` runs the applet.
    let (status, stdout, _) = run_to_end("zre zrecat", bin.command("zre", &["zrecat", "--help"]));
    assert!(status.success());
    assert!(stdout.starts_with("Usage: zrecat"), "{stdout}");
    // A usage error is one line on stderr and a non-zero status.
    let (status, stdout, stderr) = run_to_end("zrecat", bin.command("zrecat", &[]));
    assert!(!status.success());
    assert!(stdout.is_empty());
    assert!(stderr.starts_with("zrecat: "), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[test]
fn install_links_creates_working_links() {
    let bin = Bin::new("links");
    let target = bin.path("bin");
    fs::create_dir(&target).expect("mkdir");
    let install = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_zre"));
        command.arg("--install-links").arg(&target);
        run_to_end("zre --install-links", command)
    };
    let (status, _, stderr) = install();
    assert!(status.success(), "{stderr}");
    let exe = fs::canonicalize(env!("CARGO_BIN_EXE_zre")).expect("canonicalize");
    for applet in ["zrecat", "zretime", "zreworker", "zgossip_server"] {
        let link = target.join(applet);
        assert!(
            fs::symlink_metadata(&link)
                .expect("link")
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::canonicalize(&link).expect("resolve"), exe);
    }
    let mut linked = Command::new(target.join("zretime"));
    linked.arg("--help");
    let (status, stdout, _) = run_to_end("linked zretime", linked);
    assert!(status.success());
    assert!(stdout.starts_with("Usage: zretime"), "{stdout}");
    // haskell-zre's name for the gossip server, as a link a user makes.
    std::os::unix::fs::symlink(&exe, target.join("zgossip-server")).expect("link");
    let mut linked = Command::new(target.join("zgossip-server"));
    linked.arg("--help");
    let (status, stdout, _) = run_to_end("linked zgossip-server", linked);
    assert!(status.success());
    assert!(stdout.starts_with("Usage: zgossip_server"), "{stdout}");
    // Again: fine. A stale link is replaced, a real file is not touched.
    fs::remove_file(target.join("zrecat")).ok();
    std::os::unix::fs::symlink("/nonexistent", target.join("zrecat")).expect("stale link");
    let (status, _, stderr) = install();
    assert!(status.success(), "{stderr}");
    assert_eq!(fs::canonicalize(target.join("zrecat")).expect("resolve"), exe);
    // Real files in the way of two links (the first and a middle one):
    // every other link is still made, each refusal is reported, status 1.
    for applet in ["zrecat", "zreworker"] {
        fs::remove_file(target.join(applet)).expect("rm");
        fs::write(target.join(applet), "not a link").expect("write");
    }
    fs::remove_file(target.join("zretime")).expect("rm");
    fs::remove_file(target.join("zgossip_server")).expect("rm");
    let (status, stdout, stderr) = install();
    assert_eq!(status.code(), Some(1), "{stderr}");
    for applet in ["zrecat", "zreworker"] {
        assert!(
            stderr.contains(&format!(
                "refusing to overwrite {}",
                target.join(applet).display()
            )),
            "{stderr}"
        );
        assert_eq!(
            fs::read_to_string(target.join(applet)).expect("read"),
            "not a link"
        );
    }
    assert!(
        stderr.contains("2 of 4 links not made: zrecat, zreworker"),
        "{stderr}"
    );
    for applet in ["zretime", "zgossip_server"] {
        assert_eq!(fs::canonicalize(target.join(applet)).expect("resolve"), exe);
        assert!(
            stdout.contains(&target.join(applet).display().to_string()),
            "{stdout}"
        );
    }
}

#[test]
fn nodes_find_each_other_through_zgossip_server() {
    let bin = Bin::new("gossip");
    let mut server = Proc::start(
        "zgossip_server",
        bin.command("zgossip_server", &["--json", "--bind", "tcp://127.0.0.1:*"]),
        true,
    );
    let ready = server.wait_json(&[r#""event":"READY""#]);
    let start = ready.find("tcp://127.0.0.1:").expect("bound endpoint") + "tcp://".len();
    let end = ready[start..].find('"').expect("endpoint end") + start;
    let server_address = ready[start..end].to_owned();
    // A gossip-only node on loopback, with options of its own.
    let node = |label: &str, extra: &[&str]| {
        let mut args = vec!["--json", "--no-beacon", "-i", "lo", "--port-range", "0", "-g"];
        args.push(&server_address);
        args.extend_from_slice(extra);
        Proc::start(label, bin.command("zre", &args), true)
    };
    let mut one = node("one", &["-n", "one"]);
    let mut two = node("two", &["-n", "two"]);
    one.wait_json(&[r#""event":"ENTER""#, r#""name":"two""#]);
    two.wait_json(&[r#""event":"ENTER""#, r#""name":"one""#]);
    server.wait_json(&[r#""event":"DELIVER""#]);

    // A node that publishes with a 1 s TTL and goes: its tuple expires.
    let mut brief = node("brief", &["--evasive", "500ms", "--expired", "1"]);
    let ready = brief.wait_json(&[r#""event":"READY""#]);
    let brief_uuid = json_field(&ready, "peer").expect("READY has a peer").to_owned();
    server.wait_json(&[r#""event":"DELIVER""#, &brief_uuid]);
    brief.close_stdin();
    assert!(brief.wait_exit(SHORT).success());
    server.wait_json(&[&format!(r#"{{"event":"EXPIRED","key":"{brief_uuid}"}}"#)]);

    server.signal("INT");
    let status = server.wait_exit(SHORT);
    assert!(status.success(), "zgossip_server after SIGINT: {status}");
}

#[test]
fn shell_shows_evasive_to_people_only_with_silent_and_keeps_it_in_json() {
    let bin = Bin::new("evasive");
    let node = lo(private_beacon_port());
    let watch = ["--evasive", "500ms", "--expired", "30"];
    let mut people = Proc::start(
        "zre (people)",
        bin.command("zre", &with(&node, &[&["-n", "people"][..], &watch].concat())),
        true,
    );
    let mut machine = Proc::start(
        "zre --json",
        bin.command(
            "zre",
            &with(&node, &[&["--json", "-n", "machine"][..], &watch].concat()),
        ),
        true,
    );
    let quiet = Proc::start(
        "zre quiet",
        bin.command("zre", &with(&node, &["-n", "quiet"])),
        true,
    );
    people.wait_line("ENTER quiet", |l| l.starts_with("ENTER quiet "));
    machine.wait_json(&[r#""event":"ENTER""#, r#""name":"quiet""#]);
    // The quiet peer stops answering: neither beacons nor PING-OK.
    quiet.signal("STOP");
    machine.wait_json(&[r#""event":"EVASIVE""#, r#""name":"quiet""#]);
    machine.wait_json(&[r#""event":"SILENT""#, r#""name":"quiet""#]);
    // For people, EVASIVE comes only now, right before its SILENT.
    let line = people.wait_line("EVASIVE quiet", |l| {
        l.contains("quiet") && !l.starts_with("ENTER")
    });
    assert_eq!(line, "EVASIVE quiet", "{}", people.context());
    let next = people.wait_line("SILENT quiet", |_| true);
    assert_eq!(next, "SILENT quiet", "{}", people.context());
    quiet.signal("CONT");
}

/// `command` run in a network namespace of its own with only `lo` up
/// (`unshare -n`): a name lookup there cannot leave the machine. `None`
/// (the test is skipped, with the reason) where that cannot be made, such
/// as without root; with `CI` set, that fails the test instead.
fn in_private_netns(command: &Command) -> Option<Command> {
    let probe = Command::new("unshare")
        .args(["-n", "ip", "link", "set", "lo", "up"])
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "unshare -n (root) is needed for this test"
        );
        eprintln!("skipped: unshare -n (root) is needed for this test");
        return None;
    }
    let mut wrapped = Command::new("unshare");
    wrapped
        .args(["-n", "sh", "-c", r#"ip link set lo up && exec "$0" "$@""#])
        .arg(command.get_program())
        .args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    Some(wrapped)
}

#[test]
fn an_unresolvable_gossip_host_is_named_at_once_and_retried() {
    let bin = Bin::new("nohost");
    let zre = bin.command(
        "zre",
        &[
            "-i",
            "lo",
            "--no-beacon",
            "--port-range",
            "0",
            "-g",
            "nohost.invalid:31337",
        ],
    );
    let Some(command) = in_private_netns(&zre) else {
        return;
    };
    let node = Proc::start("zre -g nohost.invalid:31337", command, true);
    let deadline = Instant::now() + SHORT;
    let said = |stderr: &str| {
        stderr.contains("host name 'nohost.invalid' does not resolve") && stderr.contains("still retrying")
    };
    while !said(&node.stderr()) {
        assert!(
            Instant::now() < deadline,
            "no word of the host; {}",
            node.context()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // And it keeps going (retrying), rather than giving up.
    let mut node = node;
    assert!(
        node.child.try_wait().expect("try_wait").is_none(),
        "{}",
        node.context()
    );
    node.close_stdin();
    let status = node.wait_exit(SHORT);
    assert!(status.success(), "{status}; {}", node.context());
}

#[test]
fn every_long_option_is_a_key_of_its_applets_section() {
    let bin = Bin::new("keys");
    // Not settings: --help, --install-links (an action); --no-beacon and
    // --no-listen-multicast are the keys `beacon` and `listen-multicast`
    // (= false). The README says so.
    let not_keys = [
        "help",
        "install-links",
        "curve-keygen",
        "no-beacon",
        "no-listen-multicast",
    ];
    for applet in APPLETS {
        let (status, usage, _) = run_to_end(applet, bin.command(applet, &["--help"]));
        assert!(status.success());
        // The lines of the Options: list start with `-x, --name` or `--name`.
        let mut options: Vec<&str> = usage
            .lines()
            .filter(|line| line.trim_start().starts_with('-'))
            .filter_map(|line| {
                line.split_whitespace()
                    .take(2)
                    .find_map(|word| word.strip_prefix("--"))
            })
            .map(|option| option.trim_end_matches(','))
            .filter(|option| !not_keys.contains(option))
            .collect();
        options.sort_unstable();
        options.dedup();
        assert!(options.len() >= 5, "{applet}: {options:?}");
        // Each option as a key of the applet's section (an empty value is
        // checked as a key, and sets nothing); a malformed last line shows
        // that every line before it was accepted.
        let mut text = format!("[{applet}]\n");
        for option in &options {
            text.push_str(&format!("{option} =\n"));
        }
        text.push_str("this line is wrong\n");
        let last_line = options.len() + 2;
        let config = bin.path(&format!("{applet}.conf"));
        fs::write(&config, &text).expect("write config");
        let mut command = bin.command(applet, if applet == "zrecat" { &["g"] } else { &[] });
        command.env("ZRECFG", &config);
        let (status, _, stderr) = run_to_end(applet, command);
        assert_eq!(status.code(), Some(1), "{applet}: {stderr}");
        assert!(
            stderr.contains(&format!("{}:{last_line}: malformed line", config.display())),
            "{applet} refused one of {options:?}:\n{stderr}"
        );
    }
    // The one users tripped over: [zrecat] listen = yes.
    let config = bin.path("listen.conf");
    fs::write(&config, "[zrecat]\nlisten = yes\n").expect("write config");
    let node = lo(private_beacon_port());
    let mut command = bin.command("zrecat", &with(&node, &["--json", "t"]));
    command.env("ZRECFG", &config);
    let mut listener = Proc::start("zrecat (listen from the file)", command, true);
    listener.wait_json(&[r#""event":"READY""#]);
    // It reads no stdin: at its end, a listener keeps running.
    listener.close_stdin();
    let mut talker = Proc::start("zrecat talker", bin.command("zrecat", &with(&node, &["t"])), true);
    talker.send("still here\n");
    listener.wait_json(&[r#""event":"SHOUT""#, r#""content":["still here"]"#]);
    assert!(listener.child.try_wait().expect("try_wait").is_none());
}

/// The original Haskell zre's zre.conf, verbatim.
const SEED_CONF: &str = include_str!("../seed/haskell-zre.conf");

#[test]
fn haskell_seed_conf_verbatim_with_debug_starts_every_applet_under_its_name() {
    let bin = Bin::new("seed");
    let config = bin.path("seed.conf");
    fs::write(&config, format!("{SEED_CONF}debug = true\n")).expect("write seed.conf");
    // Its gossip server, kvm-nixos:31337, is not ours to reach: a flag puts
    // a local server of ours in its place (flags win over the file).
    let mut server = Proc::start(
        "zgossip_server",
        bin.command("zgossip_server", &["--json", "--bind", "tcp://127.0.0.1:*"]),
        true,
    );
    let ready = server.wait_json(&[r#""event":"READY""#]);
    let start = ready.find("tcp://127.0.0.1:").expect("bound endpoint") + "tcp://".len();
    let end = ready[start..].find('"').expect("endpoint end") + start;
    let server_address = ready[start..end].to_owned();

    let node = lo(private_beacon_port());
    let mut observer = Proc::start(
        "observer",
        bin.command("zre", &with(&node, &["--json", "-n", "observer"])),
        true,
    );
    observer.wait_json(&[r#""event":"READY""#]);
    let seeded: [(&str, &[&str]); 4] = [
        ("zre", &[]),
        ("zrecat", &["--listen", "t"]),
        ("zretime", &[]),
        ("zreworker", &[]),
    ];
    let mut running = Vec::new();
    for (applet, args) in seeded {
        let mut command = bin.command(
            applet,
            &with(&node, &[&["-g", &server_address][..], args].concat()),
        );
        command.env("ZRECFG", &config);
        running.push(Proc::start(applet, command, true));
    }
    let mut seen = Vec::new();
    while seen.len() < seeded.len() {
        let enter = observer.wait_json(&[r#""event":"ENTER""#, r#""name":"exampleZREApp""#]);
        let peer = json_field(&enter, "peer").expect("ENTER has a peer").to_owned();
        assert!(!seen.contains(&peer), "ENTER twice: {enter}");
        seen.push(peer);
    }
    // Each also published itself through the (replacement) gossip server.
    let mut delivered = Vec::new();
    while !seen.iter().all(|peer| delivered.contains(peer)) {
        let line = server.wait_json(&[r#""event":"DELIVER""#]);
        delivered.push(json_field(&line, "key").expect("DELIVER has a key").to_owned());
    }
    // debug = true is verbose: the zre crate logs at debug level.
    for proc in &running {
        assert!(proc.child.id() > 0);
        let deadline = Instant::now() + SHORT;
        while !proc.stderr().contains("DEBUG") {
            assert!(Instant::now() < deadline, "no debug log; {}", proc.context());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Issue 25, fault 6: a `curve-cert` that zre.conf names and that is not
/// there is reported with the file and line that named it (the path
/// alone does not say which configuration to fix), and the node does not
/// start. The same path given as a flag is named without a file.
#[test]
fn a_missing_curve_cert_named_in_zre_conf_is_reported_with_file_and_line() {
    let bin = Bin::new("curvecert");
    let node = lo(private_beacon_port());
    let missing = bin.path("no-such.cert");
    let config = bin.path("zre.conf");
    fs::write(
        &config,
        format!("[zre]\nname = certless\n\ncurve-cert = {}\n", missing.display()),
    )
    .expect("write config");
    let mut command = bin.command("zre", &with(&node, &["--json"]));
    command.env("ZRECFG", &config);
    let (status, stdout, stderr) = run_to_end("zre", command);
    assert!(!status.success(), "started without its certificate: {stdout}");
    assert!(!stdout.contains("READY"), "{stdout}");
    let place = format!("{}:4", config.display());
    assert!(stderr.starts_with("zre: "), "{stderr}");
    assert!(stderr.contains(&place), "no {place} in: {stderr}");
    assert!(stderr.contains("curve-cert"), "{stderr}");
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");

    let missing_text = missing.display().to_string();
    let command = bin.command("zre", &with(&node, &["--json", "--curve-cert", &missing_text]));
    let (status, _, stderr) = run_to_end("zre", command);
    assert!(!status.success());
    assert!(stderr.contains(&missing_text), "{stderr}");
    assert!(!stderr.contains("zre.conf"), "{stderr}");
}

/// Issue 25, fault 6: a command line over the shell's 1 MiB limit is
/// skipped with a line that says what to use instead, and the shell goes
/// on with the next command (it used to exit, pointing at `--raw`).
#[test]
fn the_shell_skips_a_line_over_one_mib_and_goes_on() {
    let bin = Bin::new("longline");
    let node = lo(private_beacon_port());
    let mut shell = Proc::start(
        "shell",
        bin.command("zre", &with(&node, &["--json", "-n", "long"])),
        true,
    );
    shell.wait_json(&[r#""event":"READY""#]);
    let mut long = String::from("/shout g ");
    long.push_str(&"x".repeat(1 << 21));
    long.push('\n');
    shell.send(&long);
    shell.send("/join after\n/groups\n");
    shell.close_stdin();
    let status = shell.wait_exit(SHORT);
    assert!(status.success(), "{status}; {}", shell.context());
    let rest = shell.remaining_lines();
    assert_eq!(
        rest.last().map(String::as_str),
        Some(r#"{"event":"STOP"}"#),
        "{rest:?}"
    );
    // In JSON mode replies go to stderr: /groups lists the group joined
    // after the long line.
    std::thread::sleep(Duration::from_millis(50));
    let stderr = shell.stderr();
    assert!(
        stderr.contains("own: after"),
        "the commands after the long line did not run: {}",
        shell.context()
    );
    assert!(stderr.contains("ignored a command line"), "{stderr}");
    assert!(stderr.contains("going on"), "{stderr}");
    assert!(stderr.contains("zrecat"), "{stderr}");
}

// `zre --metrics`: in a file of its own, with the helpers above.
mod metrics;

/// Under an open-file limit too low to start and serve, an applet says so
/// and exits 1: libzmq aborted the whole process (SIGABRT, "Too many open
/// files (epoll.cpp:65)") when its context found no descriptor for its
/// threads, at limits of 8-10 for a node and up to 32 with a gossip
/// server, and elsewhere failed with errors that named nothing ("Bad
/// address").
#[test]
fn too_few_descriptors_to_start_is_said_never_an_abort() {
    let bin = Bin::new("fdlimit");
    let node = ["-i", "lo", "--no-beacon", "--port-range", "0"];
    let with_server = [&node[..], &["--gossip-bind", "tcp://127.0.0.1:*"]].concat();
    let server = ["-b", "tcp://127.0.0.1:*"];
    // And limits where they started but could not work: a node at 27-48
    // among peers, or a gossip server at 17 with two clients, ran out of
    // descriptors and spun at 100 % (a user's trial).
    let cases: [(&str, &[&str], &[u64]); 3] = [
        ("zre", &node, &[8, 10, 16, 24, 27, 40, 48]),
        ("zre", &with_server, &[8, 10, 30, 32, 60]),
        ("zgossip_server", &server, &[8, 10, 16, 17, 19]),
    ];
    for (applet, args, limits) in cases {
        for &limit in limits {
            let mut command = Command::new("prlimit");
            command
                .arg(format!("--nofile={limit}:{limit}"))
                .arg("--")
                .arg(bin.path(applet))
                .args(args)
                .env("ZRECFG", bin.path("empty.conf"))
                .env_remove("ZRENAME")
                .env_remove("RUST_LOG");
            let Some(mut command) = in_private_netns(&command) else {
                return;
            };
            let out = command.stdin(Stdio::null()).output().expect("run prlimit");
            let stderr = String::from_utf8_lossy(&out.stderr);
            let what = format!("{applet} {args:?} under a limit of {limit}");
            assert_eq!(
                out.status.code(),
                Some(1),
                "{what}: {}; stderr: {stderr}",
                out.status
            );
            assert!(
                stderr.contains(&format!("{applet}: the open-file limit {limit} leaves "))
                    && stderr.contains("starting takes")
                    && stderr.contains("ulimit -n"),
                "{what}: {stderr}"
            );
        }
    }
}
