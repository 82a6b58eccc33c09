//! The zre tools in one busybox-style binary. The applet is chosen by the
//! name the program was started under (`zrecat` is a link to `zre`), or by
//! the first argument (`zre zrecat test`); plain `zre` is the shell.

mod curve_keygen;
mod failure;
mod haskell_flags;
mod input;
mod json;
mod links;
mod metrics;
mod options;
mod printer;
mod runtime;
mod schema;
// The `zre` applet; not `mod zre`, which would shadow the library crate.
mod shell;
mod stdout_thread;
mod zgossip_server;
mod zrecat;
mod zretime;
mod zreworker;

use argh::FromArgs;
use failure::{Outcome, SUCCESS, USAGE_ERROR, exit_status};
use std::path::Path;

fn main() {
    let mut args = Vec::new();
    for arg in std::env::args_os() {
        match arg.into_string() {
            Ok(arg) => args.push(arg),
            Err(arg) => {
                eprintln!("zre: argument {arg:?} is not valid UTF-8");
                std::process::exit(USAGE_ERROR);
            }
        }
    }
    let invoked_as = args
        .first()
        .and_then(|arg0| Path::new(arg0).file_name())
        .and_then(|name| name.to_str())
        .unwrap_or("zre");
    // Every applet, by the name it is called with: the sections of zre.conf;
    // haskell-zre installs its gossip server as `zgossip-server`.
    let applet_named = |name: &str| {
        let name = if name == "zgossip-server" {
            "zgossip_server"
        } else {
            name
        };
        schema::TOOLS.applet_names().find(|a| *a == name)
    };
    let (applet, rest) = match applet_named(invoked_as) {
        Some(applet) if applet != "zre" => (applet, args.get(1..).unwrap_or_default()),
        // `zre`, or a name we do not know (a renamed copy): maybe `zre APPLET ...`.
        _ => match args.get(1).and_then(|first| applet_named(first)) {
            Some(applet) => (applet, &args[2..]),
            None => ("zre", args.get(1..).unwrap_or_default()),
        },
    };
    let rest = match haskell_flags::rewrite(applet, rest) {
        Ok((args, notes)) => {
            for note in notes {
                eprintln!("{applet}: {note}");
            }
            args
        }
        Err(err) => {
            eprintln!("{applet}: {err} (see {applet} --help)");
            std::process::exit(USAGE_ERROR);
        }
    };
    let rest = &rest[..];
    let status = match applet {
        "zrecat" => run_applet(applet, rest, zrecat::run),
        "zretime" => run_applet(applet, rest, zretime::run),
        "zreworker" => run_applet(applet, rest, zreworker::run),
        "zgossip_server" => run_applet(applet, rest, zgossip_server::run),
        _ => run_applet(applet, rest, shell::run),
    };
    std::process::exit(status);
}

/// Parses the arguments and runs the applet; returns the exit status. Every
/// error is one line on stderr, `APPLET: message`.
fn run_applet<T: FromArgs>(applet: &str, args: &[String], run: fn(T) -> Outcome) -> i32 {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let parsed = match T::from_args(&[applet], &args) {
        Ok(parsed) => parsed,
        Err(early) => {
            return match early.status {
                Ok(()) => {
                    print!("{}", early.output);
                    SUCCESS
                }
                Err(()) => {
                    let message: Vec<&str> = early.output.split_whitespace().collect();
                    eprintln!("{applet}: {} (see {applet} --help)", message.join(" "));
                    USAGE_ERROR
                }
            };
        }
    };
    // Everything the applet owns (the node, with its lingering sockets) is
    // dropped when it returns, before the process exits.
    exit_status(applet, run(parsed))
}
