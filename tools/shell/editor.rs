//! The shell on a terminal: rustyline's line editing, history and Tab
//! completion on a thread of its own, and the terminal put back after a
//! signal.

use super::Commands;
use super::commands::COMMANDS;
use crate::failure::Failure;
use crate::input::Input;
use crate::printer::{Printer, Sink};
use mio::Waker;
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Editor, Helper};
use std::collections::BTreeSet;
use std::io::Write;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use zre::Node;

const PROMPT: &str = "> ";

/// What the completion knows about the network; refreshed by the loop.
#[derive(Default)]
pub(super) struct Known {
    groups: BTreeSet<String>,
    peers: BTreeSet<String>,
}

/// Keeps the completion's view of groups and peer names current.
pub(super) fn refresh_known(node: &Node, known: &Mutex<Known>) {
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
pub(super) fn start_prompt(
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
pub(super) struct TerminalGuard {
    saved: Option<String>,
}

impl TerminalGuard {
    pub(super) fn save() -> TerminalGuard {
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

    pub(super) fn restore(self) {
        if let Some(saved) = self.saved {
            let _ = std::process::Command::new("stty")
                .arg(saved)
                .stdin(std::process::Stdio::inherit())
                .status();
            let _ = std::io::stdout().write_all(b"\n");
        }
    }
}
