//! How an applet fails: [`Failure`], one line `APPLET: message` on stderr,
//! and the exit statuses.

use std::fmt;
use std::io;
use zre::config::{ConfigError, Origin};

/// Exit status of a run that went well (also after a broken pipe).
pub const SUCCESS: i32 = 0;
/// Exit status of an applet that failed.
pub const FAILED: i32 = 1;
/// Exit status of a command line the applet refuses.
pub const USAGE_ERROR: i32 = 2;

/// An applet's failure: printed as `APPLET: message`, exit status 1, or
/// 2 for a usage error (a flag or argument with a bad value: the same
/// status argh gives a malformed command line). A broken pipe on stdout
/// (`zrecat time | head -1`) is not one: the reader went away, so the
/// applet stops quietly with status 0.
#[derive(Debug)]
pub struct Failure {
    message: String,
    broken_pipe: bool,
    usage: bool,
}

impl Failure {
    /// A failure with this one-line message (exit status 1).
    pub fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            broken_pipe: false,
            usage: false,
        }
    }

    /// A usage error: the command line asked for something invalid (exit
    /// status 2).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            usage: true,
            ..Failure::new(message)
        }
    }

    /// Whether this is a usage error (exit status 2).
    pub fn is_usage(&self) -> bool {
        self.usage
    }

    /// Whether stdout's reader went away (not a failure of the applet).
    pub fn is_broken_pipe(&self) -> bool {
        self.broken_pipe
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::new(message)
    }
}

impl From<io::Error> for Failure {
    fn from(err: io::Error) -> Self {
        Failure {
            message: err.to_string(),
            broken_pipe: err.kind() == io::ErrorKind::BrokenPipe,
            usage: false,
        }
    }
}

/// Out of descriptors (EMFILE, from libzmq or the OS) says what to do:
/// the bare "Too many open files" names neither the limit nor its remedy.
/// Only a node's applets have `--max-peers` (not `zgossip_server`).
fn with_fd_hint(applet: &str, message: &str) -> String {
    if !message.contains("Too many open files") {
        return message.to_owned();
    }
    let fewer_peers = if applet == "zgossip_server" {
        ""
    } else {
        " or lower --max-peers"
    };
    format!(
        "{message}: raise the open-file limit (ulimit -n; the tools raise the soft limit to the hard one){fewer_peers}"
    )
}

impl From<zre::NodeError> for Failure {
    fn from(err: zre::NodeError) -> Self {
        match err {
            zre::NodeError::Io(err) => err.into(),
            // A setting out of range: a bad value, as argh's are (the
            // file's values were checked, with file and line, on loading).
            zre::NodeError::Config(err) => Failure::usage(err.to_string()),
            // The library's own words for too few free descriptors name
            // its builder's remedy; the tools took it already.
            zre::NodeError::Descriptors { limit, open, needed } => Failure::new(format!(
                "the open-file limit {limit} leaves {} free ({open} open), and starting takes {needed}: raise it (ulimit -n; the tools raise the soft limit to the hard one)",
                limit.saturating_sub(open as u64)
            )),
            other => Failure::new(other.to_string()),
        }
    }
}

impl From<ConfigError> for Failure {
    fn from(err: ConfigError) -> Self {
        // A flag's error names the flag rather than "command line: key",
        // and is a usage error; a file's names the file and line (status 1).
        match (err.origin(), err.key()) {
            (Some(Origin::CommandLine), Some(key)) => Failure::usage(format!("--{key}: {}", err.message())),
            (Some(Origin::CommandLine), None) => Failure::usage(err.message().to_owned()),
            _ => Failure::new(err.to_string()),
        }
    }
}

/// What an applet returns.
pub type Outcome = Result<(), Failure>;

/// The exit status of an applet's outcome; a failure is said on stderr as
/// `APPLET: message` (a usage error adds where to find the usage).
pub fn exit_status(applet: &str, outcome: Outcome) -> i32 {
    match outcome {
        Ok(()) => SUCCESS,
        Err(failure) if failure.is_broken_pipe() => SUCCESS,
        Err(failure) if failure.is_usage() => {
            eprintln!("{applet}: {failure} (see {applet} --help)");
            USAGE_ERROR
        }
        Err(failure) => {
            eprintln!("{applet}: {}", with_fd_hint(applet, &failure.message));
            FAILED
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_descriptors_says_what_to_raise() {
        let emfile: Failure = io::Error::from_raw_os_error(24).into();
        let said = with_fd_hint("zrecat", &emfile.message);
        assert!(said.starts_with("Too many open files (os error 24): raise the open-file limit (ulimit -n"));
        assert!(said.ends_with("or lower --max-peers"), "{said}");
        // The gossip server has no peer table to shrink.
        let said = with_fd_hint("zgossip_server", &emfile.message);
        assert!(said.ends_with("the hard one)"), "{said}");
        let other: Failure = io::Error::from_raw_os_error(2).into();
        assert_eq!(
            with_fd_hint("zre", &other.message),
            "No such file or directory (os error 2)"
        );
    }
}
