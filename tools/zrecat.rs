//! zrecat GROUP: cat for a group. Lines of stdin are shouted to GROUP;
//! what peers shout to GROUP, and whisper to us, goes to stdout.

use crate::failure::{Failure, Outcome};
use crate::input::{Input, ReadMode, spawn_stdin_reader};
use crate::options::{
    HasNodeArgs, between_keys, bool_setting, duration_setting, load_settings, node_args, set_flag,
};
use crate::printer::{Printer, human_event};
use crate::runtime::{Started, start_node, stop_node, take_events_with};
use std::collections::HashMap;
use std::io;
use std::sync::mpsc::TryRecvError;
use std::time::{Duration, Instant};
use zre::config::Origin;
use zre::{Event, Frame, Uuid};

/// Size of a chunk of stdin in --raw mode.
const RAW_CHUNK: usize = 64 * 1024;
/// The longest line sent in line mode.
const MAX_LINE: usize = 16 * 1024 * 1024;
/// Messages queued for slow peers above which stdin is no longer read: in
/// line mode, and for 64 KiB chunks (the bound is on memory, not count).
const LINE_BACKLOG_LIMIT: usize = 1000;
const RAW_BACKLOG_LIMIT: usize = 16;
/// How often a full backlog is looked at again.
const BACKLOG_RECHECK: Duration = Duration::from_millis(20);
/// Items waiting between the stdin thread and the loop.
const INPUT_QUEUE: usize = 64;
/// libzmq's per-peer queue, in messages: with the backlog limit and the
/// input queue, this bounds the memory a large file can take.
const LINE_SEND_HWM: i32 = 10_000;
const RAW_SEND_HWM: i32 = 256;
/// Events the node reads ahead of a slow stdout in --raw mode (up to
/// 64 KiB each): 4 MiB, not the 256 MiB of the default 4 096. Beyond them
/// the node stops reading its inbox (the rest waits in libzmq and pushes
/// back on the sender) and PINGs its peers, which keeps it alive.
const RAW_MAX_EVENTS: usize = 64;

node_args! {
    /// Cat for a group: joins GROUP, shouts each line of stdin to it, and
    /// writes what peers shout to GROUP (or whisper to us) to stdout.
    #[argh(
        example = "zrecat test > received.txt\ncat /etc/os-release | zrecat test\nzrecat --raw files < image.png",
        note = "Before the first input is sent, zrecat waits (--wait) until a peer (--peers N: N peers) \
has joined GROUP; if none comes (fewer than N) it exits with status 1, sending nothing (with --wait 0 \
it sends at once to the peers met so far, and exits with status 1 if none of the input reached one). A line over 16 MiB is an error \
(use --raw). At the end of stdin it waits until every peer in GROUP has read everything sent to it \
(its receipt: the answer to a PING sent behind the data), leaves GROUP and exits 0; if a peer goes \
first, it says so and exits 1. Line mode sends a line without its newline and \
prints each message followed by a newline (unless it ends with one); --raw sends stdin in chunks of \
up to 64 KiB and prints messages exactly as received: use it on both sides for binary data."
    )]
    pub struct ZrecatArgs {
        /// the group to join, send to and print
        #[argh(positional, arg_name = "GROUP")]
        pub group: String,
        /// how long to wait for a peer in GROUP before sending: seconds or 500ms (default 10; 0 = do
        /// not wait)
        #[argh(option, short = 'w', arg_name = "DURATION")]
        pub wait: Option<String>,
        /// how many peers must be in GROUP before anything is sent (default 1): with fewer once
        /// --wait is over, nothing is sent and zrecat exits 1
        // No short form: haskell-zre's `-p` (--quiet-ping-rate) is read
        // for its scripts (see haskell_flags.rs).
        #[argh(option, arg_name = "N")]
        pub peers: Option<String>,
        /// binary mode: send stdin in chunks of up to 64 KiB, print messages exactly as received
        #[argh(switch, short = 'r')]
        pub raw: bool,
        /// only print what arrives; do not read stdin (runs until Ctrl-C)
        #[argh(switch, short = 'l')]
        pub listen: bool,
    }
}

pub fn run(args: ZrecatArgs) -> Outcome {
    let mut settings = load_settings("zrecat", &args.node_args())?;
    set_flag(&mut settings, "wait", args.wait.as_deref())?;
    set_flag(&mut settings, "peers", args.peers.as_deref())?;
    if args.raw {
        settings.set("raw", "true", Origin::CommandLine)?;
    }
    if args.listen {
        settings.set("listen", "true", Origin::CommandLine)?;
    }
    let raw = bool_setting(&settings, "raw");
    let listen = bool_setting(&settings, "listen");
    let group = args.group;
    // A group name the node would refuse is a bad argument: say so before
    // the node starts, with the usage status.
    if let Err(err) = zre::config::ValueKind::Text.check(&group) {
        return Err(Failure::usage(format!("GROUP: {err}")));
    }
    if group.is_empty() {
        return Err(Failure::usage("GROUP: empty group name"));
    }
    let wait = duration_setting(&settings, "wait")?;
    // Checked as a count (at least 1) when it was set, as every key is.
    let need = settings
        .parsed::<usize>("peers")?
        .unwrap_or(crate::schema::ZRECAT_PEERS);
    // A node tracks at most max-peers peers: a count above it would only
    // wait out --wait and fail, so it is a bad argument.
    let most = settings
        .parsed::<usize>("max-peers")?
        .unwrap_or(zre::defaults::MAX_PEERS);
    if need > most {
        let message = format!("peers ({need}) can never be met: the node tracks at most {most} peers");
        return Err(between_keys(&settings, &["peers", "max-peers"], &message));
    }
    let Started { mut runtime, json } = start_node(&settings, |builder| {
        if raw {
            builder.send_hwm(RAW_SEND_HWM).max_events(RAW_MAX_EVENTS)
        } else {
            builder.send_hwm(LINE_SEND_HWM)
        }
    })?;
    // Logging starts with the node.
    if listen && stdin_has_input() {
        // haskell-zre's `zrecat -l` is --bufbyline, which still sends.
        log::warn!(
            "--listen (-l): standard input is not read and nothing is sent; leave -l out to send it \
             (lines are zrecat's default, as haskell-zre's -l/--bufbyline)"
        );
    }
    if wait.is_zero() && need > 1 {
        log::warn!(
            "--peers {need} has no effect with --wait 0: the input is sent at once, to the peers met so far"
        );
    }
    runtime.node.join(&group)?;

    // Stdout is written by a thread of its own: a slow reader of ours (a
    // pipe into a slow program) held the loop in write(), which froze the
    // node (no PING-OK, no beacon) until its peers dropped it, and the
    // input a sender still had queued for it was lost. Now the loop takes
    // events only while the writer has room (the rest waits in the node,
    // then in libzmq), and the node keeps answering.
    let mut out = Printer::stdout_thread(json, runtime.waker())?;
    // For people, stdout carries the content only.
    if json {
        out.ready(&runtime.node)?;
        out.flush()?;
    }
    let mode = if raw {
        ReadMode::Chunks { size: RAW_CHUNK }
    } else {
        ReadMode::Lines {
            max_len: MAX_LINE,
            skip_long: false,
        }
    };
    let input = if listen {
        None
    } else {
        Some(spawn_stdin_reader(mode, INPUT_QUEUE, runtime.waker())?)
    };
    let backlog_limit = if raw {
        RAW_BACKLOG_LIMIT
    } else {
        LINE_BACKLOG_LIMIT
    };
    let mut input_done = input.is_none();
    // A message read before any peer was in the group; it waits for one.
    let mut held: Option<Vec<u8>> = None;
    let mut peer_seen = wait.is_zero();
    let mut wait_until: Option<Instant> = None;
    // At the end of the input: the peers in GROUP whose receipt (see
    // `Node::request_receipts`) is still to come, and those that went
    // before it came.
    let mut receipts: Option<Vec<Uuid>> = None;
    // The peers in GROUP whose receipt has not come, each with how much
    // of the input had been sent when it joined: a member that EXITs with
    // input sent since it joined may have lost some of it (its node
    // dropped it, or it stopped reading), and is named at the end. (A
    // receipt and an EXIT in one pass count as lost.)
    let mut members: HashMap<Uuid, u64> = HashMap::new();
    let mut unconfirmed: Vec<String> = Vec::new();
    let mut bytes_sent: u64 = 0;
    // Messages shouted while nobody was in the group (`--wait 0`, or all
    // members gone): said at the end, never lost in silence.
    let (mut heard, mut unheard) = (0u64, 0u64);

    loop {
        let backlogged =
            runtime.node.backlog() >= backlog_limit || (input_done && runtime.node.backlog() > 0);
        let timeout = if backlogged {
            Some(BACKLOG_RECHECK)
        } else {
            wait_until.map(|t| t.saturating_duration_since(Instant::now()))
        };
        if runtime.poll(timeout)?.signal {
            break;
        }
        take_events_with(&mut runtime.node, &mut out, |_, out, event| {
            match event {
                Event::Join { peer, group: g, .. } if **g == *group => {
                    members.entry(*peer).or_insert(bytes_sent);
                }
                Event::Leave { peer, group: g, .. } if **g == *group => {
                    members.remove(peer);
                }
                Event::Exit { peer, name } => {
                    let sent_since_join = members.remove(peer).is_some_and(|at| bytes_sent > at);
                    if sent_since_join {
                        unconfirmed.push(format!("{name} ({})", peer.simple()));
                    }
                }
                _ => {}
            }
            print_event(out, event, json, &group, raw)?;
            Ok(())
        })?;

        if let (Some(receiver), false) = (&input, input_done) {
            while runtime.node.backlog() < backlog_limit {
                let data = match held.take() {
                    Some(data) => data,
                    None => match receiver.try_recv() {
                        Ok(Input::Data(data)) => data,
                        Ok(Input::End) | Err(TryRecvError::Disconnected) => {
                            input_done = true;
                            break;
                        }
                        Ok(Input::Failed(err)) => {
                            stop_node(&mut runtime.node, None);
                            return Err(Failure::new(format!("cannot read stdin: {err}")));
                        }
                        // Not asked for (`skip_long: false`).
                        Ok(Input::Skipped(len)) => {
                            stop_node(&mut runtime.node, None);
                            return Err(Failure::new(format!("a line of {len} bytes is too long")));
                        }
                        Err(TryRecvError::Empty) => break,
                    },
                };
                if !peer_seen {
                    let present = runtime.node.peers_by_group(&group).len();
                    if present < need {
                        let now = Instant::now();
                        let deadline = *wait_until.get_or_insert(now + wait);
                        if now >= deadline {
                            stop_node(&mut runtime.node, None);
                            let who = match present {
                                0 => "nobody".to_owned(),
                                n => format!("only {n} of {need} peers"),
                            };
                            return Err(Failure::new(format!(
                                "{who} joined group '{group}' within {}; nothing was sent",
                                seconds(wait)
                            )));
                        }
                        held = Some(data);
                        break;
                    }
                    peer_seen = true;
                    wait_until = None;
                }
                bytes_sent += data.len() as u64;
                match runtime.node.shout(&group, vec![data])? {
                    0 => unheard += 1,
                    _ => heard += 1,
                }
            }
        }
        // Everything read is sent or queued. What libzmq still holds would
        // get only the linger time once we stop, and a slow receiver can
        // need longer: each peer in GROUP is asked for its receipt (a PING
        // behind the data, answered once it has read all of it), and
        // zrecat leaves when all came. A peer that goes first (EXIT: it
        // left, or stopped answering and expired) is named at the end.
        // --listen has no input to finish: it runs until a signal.
        if !listen && input_done && held.is_none() && runtime.node.backlog() == 0 {
            if !peer_seen || bytes_sent == 0 && heard == 0 {
                break;
            }
            let waiting = match receipts.as_mut() {
                Some(waiting) => waiting,
                None => {
                    let in_group = runtime.node.peers_by_group(&group);
                    let asked = runtime.node.request_receipts()?;
                    receipts.insert(asked.into_iter().filter(|p| in_group.contains(p)).collect())
                }
            };
            let node = &runtime.node;
            waiting.retain(|&peer| {
                if node.receipt_pending(peer) {
                    return true;
                }
                // No longer pending: it came (then its EXIT, if any, loses
                // nothing), or the peer is gone (named by its EXIT above).
                if node.peer_name(peer).is_some() {
                    members.remove(&peer);
                }
                false
            });
            if waiting.is_empty() {
                break;
            }
        }
    }
    if let Some(waiting) = receipts.as_ref().filter(|w| !w.is_empty()) {
        // Interrupted while receipts were still to come.
        log::warn!(
            "stopped before {} peer(s) in '{group}' said they had read everything: the end of the input may not reach them",
            waiting.len()
        );
    }
    // What the node has taken in is printed before we go, a signal or
    // not: a sender may hold our receipt for it already (the loop takes
    // events only while stdout's writer has room, so some can be left).
    while let Some(event) = runtime.node.next_event() {
        print_event(&mut out, &event, json, &group, raw)?;
    }
    if let Err(err) = runtime.node.leave(&group) {
        log::warn!("cannot leave {group}: {err}");
    }
    if unheard > 0 && heard == 0 {
        stop_node(&mut runtime.node, None);
        // Without a wait, the likely cause; with one, the peers seen left.
        let why = if wait.is_zero() {
            " (--wait 0 does not wait to meet peers)"
        } else {
            ""
        };
        return Err(Failure::new(format!(
            "no peer in group '{group}' was met when the input came: nothing was sent{why}"
        )));
    }
    if unheard > 0 {
        log::warn!(
            "{unheard} of {} messages reached nobody: no peer in group '{group}' was met then",
            heard + unheard
        );
    }
    // In JSON mode, what stopping produced (STOP) is printed too.
    stop_node(&mut runtime.node, json.then_some(&mut out));
    // Everything written before the exit (a reader gone is no failure:
    // see Failure's broken pipe).
    out.finish()?;
    if !unconfirmed.is_empty() {
        return Err(Failure::new(format!(
            "{} peer(s) left '{group}' before saying they had read everything sent to them ({}): \
             some of the input may not have reached them",
            unconfirmed.len(),
            unconfirmed.join(", ")
        )));
    }
    Ok(())
}

/// Whether stdin is a pipe or a file, something given to be sent (not a
/// terminal, nor /dev/null).
fn stdin_has_input() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::FileTypeExt;
    let Ok(fd) = io::stdin().as_fd().try_clone_to_owned() else {
        return false;
    };
    std::fs::File::from(fd)
        .metadata()
        .is_ok_and(|m| m.file_type().is_fifo() || (m.is_file() && m.len() > 0))
}

/// Writes the content of a SHOUT to our group, or of a WHISPER; other
/// events are only logged.
/// An event as zrecat prints it: all of it in JSON, else the content of
/// what came to GROUP or to us.
fn print_event(out: &mut Printer, event: &Event, json: bool, group: &str, raw: bool) -> io::Result<()> {
    if json {
        out.event(event)
    } else {
        print_content(out, event, group, raw)
    }
}

fn print_content(out: &mut Printer, event: &Event, group: &str, raw: bool) -> io::Result<()> {
    match event {
        Event::Shout {
            group: to, content, ..
        } if &**to == group => write_content(out, content, raw),
        Event::Whisper { content, .. } => write_content(out, content, raw),
        other => {
            log::info!("{}", human_event(other));
            Ok(())
        }
    }
}

/// All frames, concatenated; in line mode a newline follows unless the
/// content already ends with one.
fn write_content(out: &mut impl ContentSink, content: &[Frame], raw: bool) -> io::Result<()> {
    for frame in content {
        out.write_all(frame)?;
    }
    let ends_with_newline = content
        .iter()
        .rev()
        .find(|frame| !frame.is_empty())
        .is_some_and(|frame| frame.ends_with(b"\n"));
    if !raw && !ends_with_newline {
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Where content goes: the printer, or a buffer in the tests.
trait ContentSink {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;
}

impl ContentSink for Printer {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.bytes(bytes)
    }
}

#[cfg(test)]
impl ContentSink for Vec<u8> {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}

fn seconds(duration: Duration) -> String {
    format!("{}s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_mode_adds_a_newline_only_when_missing() {
        let mut out = Vec::new();
        write_content(&mut out, &[b"a".into(), b"b".into()], false).unwrap();
        write_content(&mut out, &[b"c\n".into(), Frame::new()], false).unwrap();
        write_content(&mut out, &[], false).unwrap();
        write_content(&mut out, &[b"raw".into()], true).unwrap();
        assert_eq!(out, b"ab\nc\n\nraw");
    }
}
