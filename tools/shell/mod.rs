//! zre: the interactive shell. Prints every event and takes commands
//! (/join, /shout, /whisper, ...): the command language is in
//! [`commands`], the terminal's line editing in [`editor`]. On a terminal
//! it uses rustyline (line editing, history, completion); otherwise it
//! reads commands line by line, so that it can be scripted, and quits at
//! the end of input.

mod commands;
mod editor;

use crate::failure::{Failure, Outcome};
use crate::input::{Input, ReadMode, spawn_stdin_reader};
use crate::links;
use crate::metrics::{BoundMetrics, metrics_addr};
use crate::options::{HasNodeArgs, load_settings, node_args, set_flag};
use crate::printer::Printer;
use crate::runtime::{Runtime, Started, drain, start_node, stop_node, take_events};
use commands::Flow;
use editor::{Known, TerminalGuard, refresh_known, start_prompt};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the shell keeps running after /quit or the end of its input
/// (see `runtime::drain`).
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
/peers, /groups, /leader GROUP, /name, /stats, /sleep DURATION, /help, /quit. With stdin not a terminal, commands are read \
line by line and the end of input quits. The other applets run as `zre APPLET ARGS...` or through a \
link named after them (see --install-links): zrecat, zretime, zreworker, zgossip_server."
    )]
    pub struct ZreArgs {
        /// create links zrecat, zretime, zreworker, zgossip_server to this program in DIR, then exit
        #[argh(option, arg_name = "DIR")]
        pub install_links: Option<String>,
        /// write a new CURVE certificate (czmq zcert format): public key to PATH, both keys
        /// to PATH_secret (mode 0600), then exit
        #[argh(option, arg_name = "PATH")]
        pub curve_keygen: Option<String>,
        /// serve the node's counters at http://ADDR/metrics in the Prometheus text format;
        /// ADDR is IP:PORT (127.0.0.1:9100, [::1]:9100; port 0: any free port, printed)
        #[argh(option, arg_name = "ADDR")]
        pub metrics: Option<String>,
    }
}

pub fn run(args: ZreArgs) -> Outcome {
    if let Some(dir) = &args.install_links {
        return links::install_links(Path::new(dir));
    }
    if let Some(path) = &args.curve_keygen {
        return crate::curve_keygen::run(Path::new(path));
    }
    let mut settings = load_settings("zre", &args.node_args())?;
    set_flag(&mut settings, "metrics", args.metrics.as_deref())?;
    // Bound before the node starts: a port in use stops us unannounced.
    let metrics = metrics_addr(&settings)?.map(BoundMetrics::bind).transpose()?;
    let Started { mut runtime, json } = start_node(&settings, |builder| builder)?;
    if let Some(metrics) = metrics {
        // On stderr: stdout is the events' (JSON with --json).
        eprintln!("zre: metrics at http://{}/metrics", metrics.addr());
        runtime.serve_metrics(metrics.start(runtime.waker())?);
    }
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
                skip_long: true,
            },
            64,
            runtime.waker(),
        )?;
        let printer = Printer::stdout_thread(json, runtime.waker())?;
        (printer, Commands { lines, resume: None })
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
pub(crate) struct Commands {
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
        take_events(node, printer, |_, _| Ok(()))?;
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
                Ok(Input::Data(line)) => match String::from_utf8(line) {
                    Ok(line) => line,
                    // Replacing the bytes would send what was not typed.
                    Err(_) => {
                        eprintln!(
                            "zre: ignored a command line that is not UTF-8 text; \
                             /shoutx and /whisperx send bytes (in hex); going on"
                        );
                        continue;
                    }
                },
                Ok(Input::End) | Err(TryRecvError::Disconnected) => return Ok(Exit::EndOfInput),
                Ok(Input::Failed(err)) => return Err(Failure::new(format!("cannot read commands: {err}"))),
                Ok(Input::Skipped(len)) => {
                    eprintln!(
                        "zre: ignored a command line of about {len} bytes: a command is at most {} MiB; \
                         to send a larger file use `zre zrecat GROUP < FILE` (`--raw` for binary data); going on",
                        MAX_COMMAND_LINE >> 20
                    );
                    continue;
                }
                Err(TryRecvError::Empty) => break,
            };
            let (flow, output) = commands::execute(node, &line, json);
            commands::print(printer, &output, json)?;
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
