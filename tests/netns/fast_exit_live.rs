//! Fast EXIT (issue 17) live against the other implementations, on a
//! namespaced LAN: a Zyre 2.0.1, pyre 0.3.4 or zyre.js 1.3.0 peer killed
//! with SIGKILL is reported EXIT by our observer within seconds, not at its
//! expired timeout (30 s, our default); one that stops cleanly is reported
//! EXIT no later than about a second after its port-0 beacon.
//!
//! Each kill test kills the reference [`kills`] times (10, or
//! `ZRE_CHAOS_KILLS`), starting a new one each round, and prints the
//! median and worst delay from the SIGKILL to our EXIT; each leaving test
//! does the same with a clean stop, measuring from the moment a watcher on
//! the LAN hears the port-0 beacon. The file takes about 10 s (pyre, which
//! beacons once a second, is the slowest to meet).
//!
//! Needs root and the references (a missing one fails the test with its
//! install hint, unless `ZRE_SKIP_INTEROP=1`). LANs 10.99.160.0/24 to
//! 10.99.165.0/24, one per test.

use crate::support::events::meet;
use crate::support::netns::{Event, JsonPeer, Lab, Stream, WAIT};
use crate::support::peers;
use crate::support::refpeers::Family;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::thread;
use std::time::{Duration, Instant};

/// Our observer's expired timeout: the default, what fast EXIT beats.
const EXPIRED_SECS: u64 = 30;
/// The bound asserted from a SIGKILL to our EXIT: a LAN answers the probe
/// within milliseconds; the rest is slack for a loaded 2-core machine.
const FAST_EXIT_BOUND: Duration = Duration::from_secs(5);
/// How long a peer that said it is leaving may stay silent before we
/// remove it (the core's LEAVE_GRACE).
const LEAVE_GRACE: Duration = Duration::from_secs(1);
/// What a busy machine may add to that: scheduling and the pipes to us.
const SCHEDULING_SLACK: Duration = Duration::from_secs(1);
/// Rounds per test unless `ZRE_CHAOS_KILLS` says otherwise.
const DEFAULT_KILLS: usize = 10;

/// How many kills (or clean stops) each test makes: `ZRE_CHAOS_KILLS`, else
/// [`DEFAULT_KILLS`]; a value that is not a positive number fails the test.
fn kills() -> usize {
    match std::env::var("ZRE_CHAOS_KILLS") {
        Err(_) => DEFAULT_KILLS,
        Ok(text) => match text.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => panic!("ZRE_CHAOS_KILLS={text:?}: expected a positive number of kills"),
        },
    }
}

/// The signal a segmentation fault ends a process with (Linux, every arch).
const SIGSEGV: i32 = 11;

// ---- the reference peers ---------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Impl {
    ZyreC,
    Pyre,
    ZyreJs,
}

impl Impl {
    fn family(self) -> Family {
        match self {
            Impl::ZyreC => Family::ZyreC,
            Impl::Pyre => Family::Pyre,
            Impl::ZyreJs => Family::ZyreJs,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Impl::ZyreC => "Zyre",
            Impl::Pyre => "pyre",
            Impl::ZyreJs => "zyre.js",
        }
    }

    /// A peer of this implementation on `host`, on `lan`, beaconing as
    /// fast as its driver lets it (pyre: every second, fixed).
    fn spawn(self, lab: &Lab, host: &str, lan: &str, name: &str) -> JsonPeer {
        match self {
            Impl::ZyreC => peers::zyre(lab, host, lan, name, &["--beacon-interval", "100"]),
            Impl::Pyre => peers::pyre(lab, host, name, &[]),
            Impl::ZyreJs => peers::zyrejs(lab, host, lan, name, &[]),
        }
    }
}

/// A lab with our observer's host `a` and the reference's host `b` on LAN
/// `lan` (10.99.`net`.0/24), plus `extra` hosts; `None` to skip.
fn lab(test: &str, tag: &str, which: Impl, net: u8, extra: &[&str]) -> Option<Lab> {
    let mut lab = peers::live_lab(test, tag, &[which.family()])?;
    let mut hosts = vec!["a", "b"];
    hosts.extend_from_slice(extra);
    lab.numbered_lan("lan", net, &hosts);
    Some(lab)
}

/// Our observer on `a`: fast beacons, default timers (evasive 5 s,
/// expired 30 s), info log (which says why a peer was removed).
fn observer(lab: &Lab) -> JsonPeer {
    let expired = EXPIRED_SECS.to_string();
    let args = ["--beacon-interval", "100ms", "--expired", &expired];
    JsonPeer::spawn_with_env(lab, "a", "lan", "observer", &args, &[("RUST_LOG", "info")])
}

fn about(kind: &'static str, uuid: &str) -> impl Fn(&Event) -> bool + use<> {
    let uuid = uuid.to_owned();
    move |e| e.is(kind) && e.peer() == uuid
}

/// Whether our log says `uuid`'s process is gone (its port refused),
/// waiting for the line: stderr is read apart from the events.
fn refused(ours: &mut JsonPeer, uuid: &str) -> bool {
    let simple = uuid.to_ascii_lowercase();
    ours.child()
        .stderr()
        .wait_for(|l| l.contains(&simple) && l.contains("its process is gone"), WAIT)
        .is_some()
}

/// (median, worst) of some delays in seconds.
fn median_and_worst(delays: &mut [f64]) -> (f64, f64) {
    delays.sort_by(f64::total_cmp);
    (delays[delays.len() / 2], delays[delays.len() - 1])
}

// ---- SIGKILL ---------------------------------------------------------------

/// The reference is killed [`kills`] times (a new one started each round):
/// our observer reports EXIT within [`FAST_EXIT_BOUND`] of each SIGKILL,
/// because the peer's port refused (our log says so), and never loses track
/// of the next one.
fn killed_reference_exits_at_once(which: Impl, test: &str, tag: &str, net: u8) {
    let Some(lab) = lab(test, tag, which, net, &[]) else {
        return;
    };
    let label = which.label();
    let rounds = kills();
    let mut ours = observer(&lab);
    let mut delays = Vec::new();
    for round in 0..rounds {
        let mut theirs = which.spawn(&lab, "b", "lan", &format!("theirs{round}"));
        meet(&mut ours, &mut theirs);
        let killed = Instant::now();
        theirs.child().kill();
        ours.wait_for(
            &format!("EXIT of {label} after its SIGKILL (round {round})"),
            about("EXIT", &theirs.uuid),
            WAIT,
        );
        let after = killed.elapsed();
        assert!(
            after < FAST_EXIT_BOUND,
            "round {round}: EXIT of {label} {after:?} after its SIGKILL, over {FAST_EXIT_BOUND:?} \
             (expired is {EXPIRED_SECS} s)\n{}",
            lab.report()
        );
        assert!(
            refused(&mut ours, &theirs.uuid),
            "round {round}: the EXIT of {label} was not for a refused port\n{}",
            lab.report()
        );
        delays.push(after.as_secs_f64());
    }
    let exits = ours.count(|e| e.is("EXIT"));
    assert_eq!(exits, rounds, "EXITs at the observer\n{}", ours.report());
    let (median, worst) = median_and_worst(&mut delays);
    figure!(
        "fast exit: {rounds} SIGKILLs of {label}: EXIT at ours after median {median:.3} s, \
         worst {worst:.3} s (expired {EXPIRED_SECS} s)"
    );
    ours.quit(WAIT);
}

#[test]
fn zyre_c_killed_peer_exits_at_once() {
    killed_reference_exits_at_once(Impl::ZyreC, "zyre_c_killed_peer_exits_at_once", "fxzyrekill", 160);
}

#[test]
fn pyre_killed_peer_exits_at_once() {
    killed_reference_exits_at_once(Impl::Pyre, "pyre_killed_peer_exits_at_once", "fxpyrekill", 161);
}

#[test]
fn zyrejs_killed_peer_exits_at_once() {
    killed_reference_exits_at_once(Impl::ZyreJs, "zyrejs_killed_peer_exits_at_once", "fxjskill", 162);
}

// ---- clean stop --------------------------------------------------------------

/// A port-0 beacon watcher on `host`: prints `READY`, then the UUID (32
/// upper-case hex digits) of each ZRE beacon with port 0 it hears on UDP
/// 5670. It only listens.
const WATCHER: &str = r#"
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 5670))
print("READY", flush=True)
while True:
    data, _ = s.recvfrom(64)
    if len(data) == 22 and data[:3] == b"ZRE" and data[20:22] == b"\0\0":
        print(data[4:20].hex().upper(), flush=True)
"#;

/// When `stream` first has a line matching `pred` (as this process saw
/// it), waiting up to [`WAIT`]; `None` when none came.
fn seen_at(stream: &Stream, pred: impl FnMut(&str) -> bool) -> Option<Instant> {
    stream.wait_for(pred, WAIT).map(|_| Instant::now())
}

/// The reference stops cleanly [`kills`] times (a new one each round): our
/// observer reports EXIT no later than [`LEAVE_GRACE`] (plus slack) after
/// the port-0 beacon is on the LAN, as heard by a watcher on host `w`.
fn leaving_reference_exits_within_a_second(which: Impl, test: &str, tag: &str, net: u8) {
    let Some(lab) = lab(test, tag, which, net, &["w"]) else {
        return;
    };
    let label = which.label();
    let rounds = kills();
    let mut watcher = lab.spawn_as("beacon watcher@w", "w", "python3", &["-u", "-c", WATCHER], &[]);
    watcher.wait_stdout("READY", |l| l == "READY", WAIT);
    let mut ours = observer(&lab);
    let mut delays = Vec::new();
    let mut crashes = 0;
    for round in 0..rounds {
        let mut theirs = which.spawn(&lab, "b", "lan", &format!("theirs{round}"));
        meet(&mut ours, &mut theirs);
        let uuid = theirs.uuid.clone();
        let (beacon, exit) = thread::scope(|s| {
            let beacons = watcher.stdout();
            let beacon = s.spawn(|| seen_at(beacons, |l| l == uuid));
            let events = ours.child().stdout();
            let exit = s.spawn(|| seen_at(events, |l| about("EXIT", &uuid)(&Event::parse(l))));
            let status = theirs.quit(WAIT);
            let beacon = beacon.join().unwrap();
            // zyre.js (zeromq.js 5 on libzmq 4.3) now and then dies of
            // SIGSEGV while it unbinds its ROUTER, after its port-0 beacon
            // went out: its own defect, in the last step of its stop, after
            // everything this test measures. Any other end, or a crash
            // before the beacon, fails.
            let crashed_after_goodbye =
                which == Impl::ZyreJs && status.signal() == Some(SIGSEGV) && beacon.is_some();
            assert!(
                status.success() || crashed_after_goodbye,
                "{label} ended with {status}\n{}",
                theirs.report()
            );
            if crashed_after_goodbye {
                crashes += 1;
            }
            (beacon, exit.join().unwrap())
        });
        let beacon =
            beacon.unwrap_or_else(|| panic!("round {round}: no port-0 beacon of {label}\n{}", lab.report()));
        let exit = exit.unwrap_or_else(|| {
            panic!(
                "round {round}: no EXIT of {label} after its clean stop\n{}",
                lab.report()
            )
        });
        // Signed: the EXIT may come first, when the refused port is seen
        // before the beacon.
        let after = match exit.checked_duration_since(beacon) {
            Some(late) => late.as_secs_f64(),
            None => -beacon.duration_since(exit).as_secs_f64(),
        };
        let bound = LEAVE_GRACE + SCHEDULING_SLACK;
        assert!(
            after < bound.as_secs_f64(),
            "round {round}: EXIT of {label} {after:.3} s after its port-0 beacon, over {bound:?}\n{}",
            lab.report()
        );
        delays.push(after);
    }
    let (median, worst) = median_and_worst(&mut delays);
    figure!(
        "fast exit: {rounds} clean stops of {label}: EXIT at ours after its port-0 beacon: \
         median {median:.3} s, worst {worst:.3} s{}",
        if crashes > 0 {
            format!(" ({label} died of SIGSEGV after its port-0 beacon in {crashes} of them)")
        } else {
            String::new()
        }
    );
    ours.quit(WAIT);
}

#[test]
fn zyre_c_leaving_peer_exits_within_a_second() {
    leaving_reference_exits_within_a_second(
        Impl::ZyreC,
        "zyre_c_leaving_peer_exits_within_a_second",
        "fxzyreleave",
        163,
    );
}

#[test]
fn pyre_leaving_peer_exits_within_a_second() {
    leaving_reference_exits_within_a_second(
        Impl::Pyre,
        "pyre_leaving_peer_exits_within_a_second",
        "fxpyreleave",
        164,
    );
}

#[test]
fn zyrejs_leaving_peer_exits_within_a_second() {
    leaving_reference_exits_within_a_second(
        Impl::ZyreJs,
        "zyrejs_leaving_peer_exits_within_a_second",
        "fxjsleave",
        165,
    );
}
