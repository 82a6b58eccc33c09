//! haskell-zre 0.1.5.2's tools (`zre`, `zrecat`, `zretime`, `zreworker`)
//! as processes on a lab host, for live interop tests.
//!
//! They are GHC programs, which block-buffer stdout unless it is a
//! terminal, so each runs under `tests/interop/pty_run.py` (stdout on a
//! pty, stdin a plain pipe). They print text, not JSON; what they print
//! (from the sources in the tarball, `app/*.hs`):
//! - `zre`: `New peer UUID ENDPOINT`, `Ready peer NAME UUID`, `Join group
//!   G UUID`, `Leave group G UUID`, `Shout for group G > CONTENT` (no
//!   sender), `Whisper from UUID CONTENT`, `Peer quit UUID`; the frames of
//!   a message are concatenated. It reads `/join G`, `/leave G`, `/shout G
//!   WORD`, `/whisper UUID WORD`, `/quit` (one word of text: the rest of the
//!   line is dropped) and prints a `>>> ` prompt before each event that
//!   follows a command. UUIDs are 8-4-4-4-12 lower-case hex.
//! - `zretime`, `zreworker`: Haskell `show` of every event (`Ready UUID
//!   "name" (fromList [Group "g"]) (fromList [("K","v")]) (Endpoint …)`,
//!   `Shout UUID (Group "g") ["content"] TIME`, …).
//! - `zrecat GROUP`: the content of each SHOUT and WHISPER, some followed
//!   by a newline and some not (two threads race for each event), so a
//!   line may hold several messages, and a message without a newline of
//!   its own stays in GHC's line buffer until a later one brings one. On
//!   EOF of stdin it quits: keep its stdin open.
//!
//! It never prints its own UUID: tests learn it from our node's ENTER.

use super::netns::{ChildGuard, Lab};
use super::refpeers;
use std::time::Duration;

/// The pty wrapper every haskell-zre tool runs under.
pub const PTY_RUN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/pty_run.py");

/// A haskell-zre tool on a lab host.
pub struct HaskellTool {
    child: ChildGuard,
    /// The name it announces (`-n`).
    pub name: String,
}

impl HaskellTool {
    /// Runs haskell-zre's `tool -n NAME -i IFACE ARGS…` on `host` (whose
    /// namespace needs a route for 224.0.0.0/4: its beacon thread dies
    /// without one).
    pub fn spawn(lab: &Lab, host: &str, iface: &str, tool: &str, name: &str, args: &[&str]) -> HaskellTool {
        let program = refpeers::haskell_prefix().join("bin").join(tool);
        let program = program.to_str().expect("UTF-8 cache path");
        let mut all = vec!["-u", PTY_RUN, program, "-n", name, "-i", iface];
        all.extend_from_slice(args);
        let label = format!("haskell {tool} {name}@{host}");
        let child = lab.spawn_as(&label, host, "python3", &all, &[("PYTHONDONTWRITEBYTECODE", "1")]);
        HaskellTool {
            child,
            name: name.to_owned(),
        }
    }

    /// The first output line (ever; `>>> ` prompts removed) that matches,
    /// or a panic naming `what` with the tool's output.
    pub fn wait_line(&mut self, what: &str, pred: impl Fn(&str) -> bool, timeout: Duration) -> String {
        let what = format!("{what} (seen by haskell {})", self.name);
        let line = self.child.wait_stdout(&what, |l| pred(strip_prompts(l)), timeout);
        strip_prompts(&line).to_owned()
    }

    /// Waits for exactly this line (prompts removed).
    pub fn wait_exact(&mut self, line: &str, timeout: Duration) -> String {
        let want = line.to_owned();
        self.wait_line(&format!("{line:?}"), move |l| l == want, timeout)
    }

    /// How many output lines so far match (prompts removed).
    pub fn count(&self, pred: impl Fn(&str) -> bool) -> usize {
        self.child.stdout().count(|l| pred(strip_prompts(l)))
    }

    /// Sends one line to its stdin (a command for `zre`, data for `zrecat`).
    pub fn send_line(&mut self, line: &str) {
        self.child.send_line(line);
    }

    pub fn child(&mut self) -> &mut ChildGuard {
        &mut self.child
    }

    pub fn report(&self) -> String {
        self.child.report()
    }
}

/// A line without the `>>> ` prompts haskell-zre's `zre` puts before it.
pub fn strip_prompts(mut line: &str) -> &str {
    while let Some(rest) = line.strip_prefix(">>> ") {
        line = rest;
    }
    line
}

/// Our form of a UUID (32 upper-case hex digits) in haskell-zre's
/// (8-4-4-4-12, lower case).
pub fn dashed(uuid: &str) -> String {
    assert_eq!(uuid.len(), 32, "not a 32-digit UUID: {uuid:?}");
    let u = uuid.to_ascii_lowercase();
    format!(
        "{}-{}-{}-{}-{}",
        &u[..8],
        &u[8..12],
        &u[12..16],
        &u[16..20],
        &u[20..]
    )
}
