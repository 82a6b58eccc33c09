//! A `zre --json` whose stdout nobody reads for a while: its loop does not
//! block on the pipe, so it goes on beaconing and PINGing (a peer with a
//! 6 s expired timeout keeps it over 12 s), the messages wait (in its
//! printer, its event queue up to the bound, then libzmq), and once its
//! stdout is read every message is there, once, in order.

use super::*;
use std::process::ChildStdout;

const WHISPERS: usize = 8_000;
/// Twice the expired timeout: a blocked loop (before) is EXITed by then.
const UNREAD_FOR: Duration = Duration::from_secs(12);

/// The talker's EXIT lines for `name` among `lines`.
fn exits_of<'a>(lines: &'a [String], name: &str) -> Vec<&'a String> {
    let name = format!(r#""name":"{name}""#);
    lines
        .iter()
        .filter(|l| l.contains(r#""event":"EXIT""#) && l.contains(&name))
        .collect()
}

/// Every stdout line `proc` printed so far, without waiting.
fn lines_so_far(proc: &mut Proc) -> &[String] {
    if let Some(lines) = &proc.lines {
        proc.seen.extend(lines.try_iter());
    }
    &proc.seen
}

#[test]
fn a_zre_whose_stdout_is_not_read_keeps_its_peers_and_loses_nothing() {
    let bin = Bin::new("slow-reader");
    let node = lo(private_beacon_port());
    let short_timeouts = ["--evasive", "2", "--expired", "6"];
    let mut slow_command = bin.command(
        "zre",
        &with(&node, &[&["--json", "-n", "slow"][..], &short_timeouts].concat()),
    );
    slow_command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = slow_command.spawn().expect("start slow");
    let unread: ChildStdout = child.stdout.take().expect("slow's stdout");
    // Its stdout is not read until later: a Proc without lines.
    let mut slow = Proc {
        name: "slow".into(),
        stdin: child.stdin.take(),
        child,
        lines: None,
        seen: Vec::new(),
        stderr: Arc::new(Mutex::new(String::new())),
    };
    let mut talker = Proc::start(
        "talker",
        bin.command(
            "zre",
            &with(
                &node,
                &[&["--json", "-n", "talker"][..], &short_timeouts].concat(),
            ),
        ),
        true,
    );
    talker.wait_json(&[r#""event":"ENTER""#, r#""name":"slow""#]);
    let filler = "x".repeat(1000);
    let started = Instant::now();
    let mut script = String::new();
    for i in 0..WHISPERS {
        script.push_str(&format!("/whisper slow m{i:05} {filler}\n"));
    }
    talker.send(&script);
    while started.elapsed() < UNREAD_FOR {
        std::thread::sleep(Duration::from_millis(100));
        let exits = exits_of(lines_so_far(&mut talker), "slow");
        assert!(
            exits.is_empty(),
            "slow, its stdout unread for {:?}, was dropped by its peer: {exits:?}",
            started.elapsed()
        );
    }
    assert!(
        slow.child.try_wait().expect("try_wait").is_none(),
        "slow is still running"
    );

    // Now slow's stdout is read: every whisper, once, in order.
    let (sender, lines) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(unread).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    slow.lines = Some(lines);
    let mut got = Vec::new();
    while got.len() < WHISPERS {
        let line = slow.wait_json(&[r#""event":"WHISPER""#, r#""name":"talker""#]);
        let text = line
            .split(r#""content":[""#)
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or_else(|| panic!("a WHISPER line with content: {line}"));
        got.push(text.to_owned());
    }
    let expected: Vec<String> = (0..WHISPERS).map(|i| format!("m{i:05}")).collect();
    if let Some(first) = (0..WHISPERS).find(|&i| got[i] != expected[i]) {
        let around = &got[first.saturating_sub(2)..(first + 3).min(WHISPERS)];
        let others: Vec<&String> = slow.seen.iter().filter(|l| !l.contains("WHISPER")).collect();
        panic!("every whisper once, in order: first wrong at {first}: {around:?}; other lines: {others:?}");
    }
    assert!(exits_of(lines_so_far(&mut talker), "slow").is_empty());
    assert!(
        !slow.seen.iter().any(|l| l.contains(r#""event":"EXIT""#)),
        "slow kept the talker"
    );
    // Quitting prints what is left: STOP last.
    slow.close_stdin();
    let status = slow.wait_exit(SHORT);
    assert!(status.success(), "slow: {status}");
    let rest = slow.remaining_lines();
    assert_eq!(rest.last().map(String::as_str), Some(r#"{"event":"STOP"}"#));
}
