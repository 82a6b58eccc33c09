//! zre: the interactive shell. Prints every event and takes commands
//! (/join, /shout, /whisper, ...). On a terminal it uses rustyline (line
//! editing, history, completion); otherwise it reads commands line by line,
//! so that it can be scripted, and quits at the end of input.

use crate::common::{
    Failure, HasNodeArgs, Outcome, Printer, Runtime, Sink, Started, drain, load_settings, node_args,
    printable, start_node, stop_node,
};
use crate::input::{Input, ReadMode, spawn_stdin_reader};
use crate::links;
use mio::Waker;
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Editor, Helper};
use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;
use zre::{Frame, Node, NodeError, ZyreUuid};

const PROMPT: &str = "> ";
/// How long the shell keeps running after /quit or the end of its input
/// (see `common::drain`).
const QUIT_GRACE: Duration = Duration::from_millis(300);
/// The longest command line read from a pipe.
const MAX_COMMAND_LINE: usize = 1024 * 1024;

node_args! {
    /// Interact with a ZRE network: prints every event (ENTER, JOIN, SHOUT,
    /// WHISPER, ...) and takes commands; /help lists them.
    #[argh(
        example = "zre -i lo\nzre --name alice --header X-ROLE=chat\nzre -g gossip.example.org:31337\n\
printf '/join chat\\n/sleep 3\\n/shout chat hello\\n' | zre --json",
        note = "Commands: /join GROUP, /leave GROUP, /shout GROUP TEXT, /whisper PEER TEXT (PEER is a \
name or a UUID), /shoutx GROUP HEX..., /whisperx PEER HEX... (binary frames, one per hex word), \
/peers, /groups, /name, /stats, /sleep DURATION, /help, /quit. With stdin not a terminal, commands are read \
line by line and the end of input quits. The other applets run as `zre APPLET ARGS...` or through a \
link named after them (see --install-links): zrecat, zretime, zreworker, zgossip_server."
    )]
    pub struct ZreArgs {
        /// create links zrecat, zretime, zreworker, zgossip_server to this program in DIR, then exit
        #[argh(option, arg_name = "DIR")]
        pub install_links: Option<String>,
    }
}

/// What the completion knows about the network; refreshed by the loop.
#[derive(Default)]
struct Known {
    groups: BTreeSet<String>,
    peers: BTreeSet<String>,
}

const COMMANDS: [&str; 13] = [
    "/join",
    "/leave",
    "/shout",
    "/whisper",
    "/shoutx",
    "/whisperx",
    "/peers",
    "/groups",
    "/name",
    "/stats",
    "/sleep",
    "/help",
    "/quit",
];

const HELP: &str = "\
/join GROUP           join a group
/leave GROUP          leave a group
/shout GROUP TEXT     send TEXT (the rest of the line) to every peer in GROUP
/whisper PEER TEXT    send TEXT to one peer, by name or UUID
/shoutx GROUP HEX...  send binary frames, one per hex word (multi-frame)
/whisperx PEER HEX... send binary frames to one peer, one per hex word
/peers                list the peers: name, UUID, endpoint, groups
/groups               list our groups and the peers' groups
/name                 our name, UUID and endpoint
/stats                peer table (ready and pending), backlog, memory
/sleep DURATION       wait (seconds, or 500ms) before the next command; events still show
/help                 this list
/quit                 leave the network and exit (also Ctrl-D, Ctrl-C)";

pub fn run(args: ZreArgs) -> Outcome {
    if let Some(dir) = &args.install_links {
        return links::install_links(Path::new(dir));
    }
    let settings = load_settings("zre", &args.node_args())?;
    let Started { mut runtime, json } = start_node(&settings, |builder| builder)?;
    // The prompt would pollute JSON on stdout: rustyline only for people.
    let interactive = !json && std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let known = Arc::new(Mutex::new(Known::default()));
    // Saved before rustyline's thread can make the terminal raw.
    let terminal = interactive.then(TerminalGuard::save);
    let (mut printer, commands) = if interactive {
        start_prompt(json, runtime.waker(), Arc::clone(&known))?
    } else {
        let lines = spawn_stdin_reader(
            ReadMode::Lines {
                max_len: MAX_COMMAND_LINE,
            },
            64,
            runtime.waker(),
        )?;
        (Printer::stdout(json), Commands { lines, resume: None })
    };
    printer.ready(&runtime.node)?;
    if interactive {
        printer.line("Type /help for the commands.")?;
    }
    printer.flush()?;

    let outcome = shell_loop(&mut runtime, &mut printer, &commands, &known, json);
    let interrupted = matches!(outcome, Ok(Exit::Signal));
    if let Ok(Exit::Quit | Exit::EndOfInput) = outcome {
        // A script's last /shout must not be overtaken by our goodbye.
        drain(&mut runtime, Some(&mut printer), QUIT_GRACE)?;
    }
    stop_node(&mut runtime.node, Some(&mut printer));
    // A signal may have come while rustyline had the terminal raw.
    if interrupted {
        if let Some(terminal) = terminal {
            terminal.restore();
        }
    }
    outcome.map(drop)
}

/// Why the shell loop ended.
enum Exit {
    Quit,
    EndOfInput,
    Signal,
}

/// Where command lines come from: the stdin reader, or rustyline's thread,
/// which waits for `resume` after each line (so that the command's output
/// comes before the next prompt, and no prompt follows /quit).
struct Commands {
    lines: Receiver<Input>,
    resume: Option<Sender<bool>>,
}

fn shell_loop(
    runtime: &mut Runtime,
    printer: &mut Printer,
    commands: &Commands,
    known: &Mutex<Known>,
    json: bool,
) -> Result<Exit, Failure> {
    // While a /sleep lasts, commands wait (events keep coming).
    let mut asleep_until: Option<Instant> = None;
    loop {
        let timeout = asleep_until.map(|t| t.saturating_duration_since(Instant::now()));
        if runtime.poll(timeout)?.signal {
            return Ok(Exit::Signal);
        }
        let node = &mut runtime.node;
        while let Some(event) = node.next_event() {
            printer.event(&event)?;
        }
        printer.flush()?;
        refresh_known(node, known);
        if let Some(until) = asleep_until {
            if Instant::now() < until {
                continue;
            }
            asleep_until = None;
            if let Some(resume) = &commands.resume {
                let _ = resume.send(true);
            }
        }
        while asleep_until.is_none() {
            let line = match commands.lines.try_recv() {
                Ok(Input::Data(line)) => String::from_utf8_lossy(&line).into_owned(),
                Ok(Input::End) | Err(TryRecvError::Disconnected) => return Ok(Exit::EndOfInput),
                Ok(Input::Failed(err)) => return Err(Failure::new(format!("cannot read commands: {err}"))),
                Err(TryRecvError::Empty) => break,
            };
            let flow = execute(node, printer, &line, json)?;
            printer.flush()?;
            match flow {
                Flow::Quit => return Ok(Exit::Quit),
                // The prompt comes back when the sleep is over.
                Flow::Sleep(duration) => asleep_until = Some(Instant::now() + duration),
                Flow::Continue => {
                    if let Some(resume) = &commands.resume {
                        let _ = resume.send(true);
                    }
                }
            }
        }
    }
}

/// Keeps the completion's view of groups and peer names current.
fn refresh_known(node: &Node, known: &Mutex<Known>) {
    let Ok(mut known) = known.lock() else {
        return;
    };
    known.groups = node
        .own_groups()
        .into_iter()
        .chain(node.peer_groups())
        .map(str::to_owned)
        .collect();
    known.peers = node
        .peers()
        .into_iter()
        .filter_map(|peer| node.peer_name(peer).map(str::to_owned))
        .collect();
}

enum Flow {
    Continue,
    Sleep(Duration),
    Quit,
}

/// One parsed command line.
#[derive(Debug, PartialEq, Eq)]
enum Command<'a> {
    Nothing,
    Join(&'a str),
    Leave(&'a str),
    Shout(&'a str, &'a str),
    Whisper(&'a str, &'a str),
    /// Binary content: one frame per hex word.
    ShoutFrames(&'a str, Vec<Frame>),
    WhisperFrames(&'a str, Vec<Frame>),
    Peers,
    Groups,
    Name,
    Stats,
    Sleep(Duration),
    Help,
    Quit,
}

/// The first word and the rest of the line after the blanks that follow it.
fn split_word(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    match text.find(char::is_whitespace) {
        Some(end) => (&text[..end], text[end..].trim_start()),
        None => (text, ""),
    }
}

/// A target word, then one or more frames, each a word of hex digits (an
/// empty frame is written `-`).
fn target_and_frames<'a>(rest: &'a str, usage: &str) -> Result<(&'a str, Vec<Frame>), String> {
    let (target, hex) = split_word(rest);
    let frames = hex
        .split_whitespace()
        .map(|word| {
            if word == "-" {
                Some(Vec::new())
            } else {
                unhex(word)
            }
        })
        .collect::<Option<Vec<Frame>>>();
    match frames {
        Some(frames) if !target.is_empty() && !frames.is_empty() => Ok((target, frames)),
        _ => Err(format!(
            "usage: {usage} (each frame an even number of hex digits, or - for empty)"
        )),
    }
}

fn unhex(word: &str) -> Option<Vec<u8>> {
    if word.len() % 2 != 0 {
        return None;
    }
    (0..word.len())
        .step_by(2)
        .map(|i| {
            word.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

fn parse_command(line: &str) -> Result<Command<'_>, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    let (word, rest) = split_word(line);
    let one_argument = |usage: &str| {
        let (argument, extra) = split_word(rest);
        if argument.is_empty() || !extra.trim().is_empty() {
            Err(format!("usage: {usage}"))
        } else {
            Ok(argument)
        }
    };
    let target_and_text = |usage: &str| {
        let (target, text) = split_word(rest);
        if target.is_empty() || text.is_empty() {
            Err(format!("usage: {usage}"))
        } else {
            Ok((target, text))
        }
    };
    let no_argument = |command: Command<'static>| {
        if rest.trim().is_empty() {
            Ok(command)
        } else {
            Err(format!("{word} takes no arguments"))
        }
    };
    match word {
        "" => Ok(Command::Nothing),
        "/join" => one_argument("/join GROUP").map(Command::Join),
        "/leave" => one_argument("/leave GROUP").map(Command::Leave),
        "/shout" => target_and_text("/shout GROUP TEXT").map(|(g, t)| Command::Shout(g, t)),
        "/whisper" => target_and_text("/whisper PEER TEXT").map(|(p, t)| Command::Whisper(p, t)),
        "/shoutx" => target_and_frames(rest, "/shoutx GROUP HEX...").map(|(g, f)| Command::ShoutFrames(g, f)),
        "/whisperx" => {
            target_and_frames(rest, "/whisperx PEER HEX...").map(|(p, f)| Command::WhisperFrames(p, f))
        }
        "/peers" => no_argument(Command::Peers),
        "/groups" => no_argument(Command::Groups),
        "/name" => no_argument(Command::Name),
        "/stats" => no_argument(Command::Stats),
        "/sleep" => one_argument("/sleep DURATION (seconds, or 500ms)")
            .and_then(|d| zre::config::parse_duration(d).map(Command::Sleep)),
        "/help" => no_argument(Command::Help),
        "/quit" | "/exit" => no_argument(Command::Quit),
        other if other.starts_with('/') => Err(format!("unknown command {other} (try /help)")),
        _ => Err("commands start with / (try /help)".into()),
    }
}

/// A shout's outcome for the shell: reaching nobody is said, not an error.
fn shouted(group: &str, result: Result<usize, NodeError>) -> Result<(), String> {
    match result {
        Ok(0) => {
            eprintln!("(no peer is in group {group})");
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(err) => Err(err.to_string()),
    }
}

/// The peer a whisper command names, by name or UUID.
fn target_peer(node: &Node, target: &str) -> Result<Uuid, String> {
    node.find_peer(target)
        .ok_or_else(|| format!("no peer named or with UUID {target} (see /peers)"))
}

/// Runs one command line. Replies go to the printer for people, and to
/// stderr in JSON mode (stdout carries nothing but events then); errors
/// always go to stderr.
fn execute(node: &mut Node, printer: &mut Printer, line: &str, json: bool) -> Result<Flow, Failure> {
    // Names and groups come from peers: keep their control characters off
    // our terminal.
    let mut reply = |text: String| -> Result<(), Failure> {
        let text = printable(&text);
        if json {
            eprintln!("{text}");
        } else {
            printer.line(&text)?;
        }
        Ok(())
    };
    let result: Result<(), String> =
        match parse_command(line) {
            Err(err) => Err(err),
            Ok(Command::Nothing) => Ok(()),
            Ok(Command::Quit) => return Ok(Flow::Quit),
            Ok(Command::Sleep(duration)) => return Ok(Flow::Sleep(duration)),
            Ok(Command::Help) => {
                for help in HELP.lines() {
                    reply(help.to_owned())?;
                }
                Ok(())
            }
            Ok(Command::Join(group)) => node.join(group).map_err(|e| e.to_string()),
            Ok(Command::Leave(group)) => {
                if node.own_groups().contains(&group) {
                    node.leave(group).map_err(|e| e.to_string())
                } else {
                    Err(format!("not in group {group}"))
                }
            }
            Ok(Command::Shout(group, text)) => shouted(group, node.shout_str(group, text)),
            Ok(Command::Whisper(target, text)) => target_peer(node, target)
                .and_then(|peer| node.whisper_str(peer, text).map_err(|e| e.to_string())),
            Ok(Command::ShoutFrames(group, frames)) => shouted(group, node.shout(group, frames)),
            Ok(Command::WhisperFrames(target, frames)) => target_peer(node, target)
                .and_then(|peer| node.whisper(peer, frames).map_err(|e| e.to_string())),
            Ok(Command::Peers) => {
                let peers = node.peers();
                if peers.is_empty() {
                    reply("no peers".into())?;
                }
                for peer in peers {
                    let groups: Vec<&str> = node
                        .peer_groups()
                        .into_iter()
                        .filter(|g| node.peers_by_group(g).contains(&peer))
                        .collect();
                    reply(format!(
                        "{} {} {} groups: {}",
                        node.peer_name(peer).unwrap_or("?"),
                        ZyreUuid(peer),
                        node.peer_endpoint(peer).unwrap_or("?"),
                        if groups.is_empty() {
                            "-".into()
                        } else {
                            groups.join(", ")
                        }
                    ))?;
                }
                Ok(())
            }
            Ok(Command::Groups) => {
                let own = node.own_groups();
                reply(format!(
                    "own: {}",
                    if own.is_empty() {
                        "-".into()
                    } else {
                        own.join(", ")
                    }
                ))?;
                for group in node.peer_groups() {
                    let names: Vec<&str> = node
                        .peers_by_group(group)
                        .into_iter()
                        .filter_map(|peer| node.peer_name(peer))
                        .collect();
                    reply(format!("{group}: {}", names.join(", ")))?;
                }
                Ok(())
            }
            Ok(Command::Name) => {
                reply(format!(
                    "{} {} {}",
                    node.name(),
                    ZyreUuid(node.uuid()),
                    node.endpoint()
                ))?;
                Ok(())
            }
            Ok(Command::Stats) => {
                let stats = Stats::of(node);
                if json {
                    // Like READY, a line of its own on stdout, where the events are.
                    printer.line(&stats.json())?;
                } else {
                    reply(stats.human())?;
                }
                Ok(())
            }
        };
    if let Err(err) = result {
        eprintln!("error: {}", printable(&err));
    }
    Ok(Flow::Continue)
}

/// What /stats reports: the size of the peer table (HELLO received, and
/// known only by beacon or gossip), messages held for slow peers, and our
/// resident memory (Linux; 0 where /proc is missing).
struct Stats {
    peers: usize,
    pending: usize,
    backlog: usize,
    rss_kib: u64,
}

impl Stats {
    fn of(node: &Node) -> Stats {
        Stats {
            peers: node.peers().len(),
            pending: node.pending_peer_count(),
            backlog: node.backlog(),
            rss_kib: rss_kib().unwrap_or(0),
        }
    }

    fn json(&self) -> String {
        format!(
            "{{\"event\":\"STATS\",\"peers\":{},\"pending\":{},\"backlog\":{},\"rss_kib\":{}}}",
            self.peers, self.pending, self.backlog, self.rss_kib
        )
    }

    fn human(&self) -> String {
        format!(
            "peers {} (pending {}), backlog {} messages, RSS {} KiB",
            self.peers, self.pending, self.backlog, self.rss_kib
        )
    }
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line["VmRSS:".len()..].split_whitespace().next()?.parse().ok()
}

// ----- the terminal ---------------------------------------------------------

/// Completes commands, then group names (/join, /leave, /shout) or peer
/// names (/whisper).
struct ShellHelper {
    known: Arc<Mutex<Known>>,
}

impl Completer for ShellHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _context: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let before = &line[..pos];
        let start = before.rfind([' ', '\t']).map_or(0, |i| i + 1);
        let word = &before[start..];
        let previous: Vec<&str> = before[..start].split_whitespace().collect();
        let matching = |names: &BTreeSet<String>| -> Vec<String> {
            names
                .iter()
                .filter(|name| name.starts_with(word) && !name.contains(char::is_whitespace))
                .map(|name| format!("{name} "))
                .collect()
        };
        let candidates = match previous.as_slice() {
            [] => COMMANDS
                .iter()
                .filter(|command| command.starts_with(word))
                .map(|command| format!("{command} "))
                .collect(),
            [command] => match self.known.lock() {
                Ok(known) => match *command {
                    "/join" | "/leave" | "/shout" | "/shoutx" => matching(&known.groups),
                    "/whisper" | "/whisperx" => matching(&known.peers),
                    _ => Vec::new(),
                },
                Err(_) => Vec::new(),
            },
            _ => Vec::new(),
        };
        Ok((start, candidates))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

/// Starts rustyline on its own thread (its readline blocks); events are
/// printed above the prompt through its external printer.
fn start_prompt(
    json: bool,
    waker: Arc<Waker>,
    known: Arc<Mutex<Known>>,
) -> Result<(Printer, Commands), Failure> {
    let mut editor: Editor<ShellHelper, DefaultHistory> =
        Editor::new().map_err(|e| Failure::new(format!("cannot use the terminal: {e}")))?;
    editor.set_helper(Some(ShellHelper { known }));
    let external = editor
        .create_external_printer()
        .map_err(|e| Failure::new(format!("cannot use the terminal: {e}")))?;
    let (line_sender, lines) = channel();
    let (resume, resume_receiver) = channel();
    std::thread::Builder::new()
        .name("prompt".into())
        .spawn(move || read_prompt(editor, &line_sender, &resume_receiver, &waker))?;
    let printer = Printer::with_sink(json, Sink::Prompt(Box::new(external)));
    Ok((
        printer,
        Commands {
            lines,
            resume: Some(resume),
        },
    ))
}

fn read_prompt(
    mut editor: Editor<ShellHelper, DefaultHistory>,
    lines: &Sender<Input>,
    resume: &Receiver<bool>,
    waker: &Waker,
) {
    loop {
        let input = match editor.readline(PROMPT) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                Input::Data(line.into_bytes())
            }
            // Ctrl-C and Ctrl-D at the prompt both leave the shell.
            Err(ReadlineError::Interrupted | ReadlineError::Eof) => Input::End,
            Err(err) => Input::Failed(std::io::Error::other(err.to_string())),
        };
        let more = matches!(input, Input::Data(_));
        if lines.send(input).is_err() {
            return;
        }
        let _ = waker.wake();
        // Wait until the command has run: its output comes before the
        // next prompt, and after /quit no prompt comes at all.
        if !more || !matches!(resume.recv(), Ok(true)) {
            return;
        }
    }
}

/// The terminal settings from before rustyline, put back if we exit while
/// its readline has the terminal in raw mode (a SIGTERM at the prompt).
struct TerminalGuard {
    saved: Option<String>,
}

impl TerminalGuard {
    fn save() -> TerminalGuard {
        let saved = std::process::Command::new("stty")
            .arg("-g")
            .stdin(std::process::Stdio::inherit())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .map(|s| s.trim().to_owned());
        TerminalGuard { saved }
    }

    fn restore(self) {
        if let Some(saved) = self.saved {
            let _ = std::process::Command::new("stty")
                .arg(saved)
                .stdin(std::process::Stdio::inherit())
                .status();
            let _ = std::io::stdout().write_all(b"\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_are_one_json_object() {
        let stats = Stats {
            peers: 2,
            pending: 61,
            backlog: 0,
            rss_kib: 12345,
        };
        assert_eq!(
            stats.json(),
            r#"{"event":"STATS","peers":2,"pending":61,"backlog":0,"rss_kib":12345}"#
        );
    }

    #[test]
    fn commands_parse() {
        assert_eq!(parse_command("/join chat"), Ok(Command::Join("chat")));
        assert_eq!(
            parse_command("/shout chat  hello   world \r\n"),
            Ok(Command::Shout("chat", "hello   world "))
        );
        assert_eq!(
            parse_command("/whisper bob hi there"),
            Ok(Command::Whisper("bob", "hi there"))
        );
        assert_eq!(parse_command("   "), Ok(Command::Nothing));
        assert!(parse_command("/join").is_err());
        assert!(parse_command("/join a b").is_err());
        assert!(parse_command("/shout chat").is_err());
        assert!(parse_command("/peers x").is_err());
        assert!(parse_command("/nope").is_err());
        assert_eq!(
            parse_command("/sleep 500ms"),
            Ok(Command::Sleep(Duration::from_millis(500)))
        );
        assert!(parse_command("/sleep soon").is_err());
        assert!(parse_command("hello").is_err());
        assert_eq!(parse_command("/stats"), Ok(Command::Stats));
        assert!(parse_command("/stats now").is_err());
        assert_eq!(
            parse_command("/shoutx chat 00ff - 6869"),
            Ok(Command::ShoutFrames(
                "chat",
                vec![vec![0, 0xff], vec![], b"hi".to_vec()]
            ))
        );
        assert_eq!(
            parse_command("/whisperx bob C3A9"),
            Ok(Command::WhisperFrames("bob", vec![vec![0xc3, 0xa9]]))
        );
        assert!(parse_command("/shoutx chat").is_err());
        assert!(parse_command("/shoutx chat 0").is_err());
        assert!(parse_command("/whisperx bob zz").is_err());
    }
}
