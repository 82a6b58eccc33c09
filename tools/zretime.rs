//! zretime: shouts the current UTC time to a group at an interval, and
//! prints the events it sees.

use crate::failure::Outcome;
use crate::options::{HasNodeArgs, duration_setting, load_settings, node_args, set_flag};
use crate::printer::Printer;
use crate::runtime::{Started, start_node, stop_node};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

node_args! {
    /// Shouts the current UTC time (RFC 3339, e.g. 2026-11-23T18:30:00Z) to
    /// a group every interval, and prints the events it sees.
    #[argh(example = "zretime\nzretime --group clock --interval 500ms")]
    pub struct ZretimeArgs {
        /// group to shout the time to (default time)
        #[argh(option, arg_name = "GROUP")]
        pub group: Option<String>,
        /// time between two shouts: seconds or 500ms (default 1)
        #[argh(option, arg_name = "DURATION")]
        pub interval: Option<String>,
    }
}

pub fn run(args: ZretimeArgs) -> Outcome {
    let mut settings = load_settings("zretime", &args.node_args())?;
    set_flag(&mut settings, "group", args.group.as_deref())?;
    set_flag(&mut settings, "interval", args.interval.as_deref())?;
    let interval = duration_setting(&settings, "interval")?;
    let group = settings
        .get_or_default("group")
        .ok_or_else(|| crate::failure::Failure::new("no value for 'group'"))?;
    let Started { mut runtime, json } = start_node(&settings, |builder| builder)?;
    runtime.node.join(&group)?;
    let mut printer = Printer::stdout(json);
    printer.ready(&runtime.node)?;
    printer.flush()?;

    let mut next_shout = Instant::now();
    loop {
        let now = Instant::now();
        if now >= next_shout {
            let time = rfc3339(SystemTime::now());
            let reached = runtime.node.shout_str(&group, &time)?;
            log::debug!("shouted {time} to {reached} peers in {group}");
            next_shout = next_tick(next_shout, interval, now);
        }
        let wakeup = runtime.poll(Some(next_shout.saturating_duration_since(Instant::now())))?;
        if wakeup.signal {
            break;
        }
        while let Some(event) = runtime.node.next_event() {
            printer.event(&event)?;
        }
        printer.flush()?;
    }
    stop_node(&mut runtime.node, Some(&mut printer));
    Ok(())
}

/// The next tick after `now`, keeping the phase; after a long stall it
/// does not catch up with a burst.
fn next_tick(previous: Instant, interval: Duration, now: Instant) -> Instant {
    let next = previous + interval;
    if next > now { next } else { now + interval }
}

/// The latest time RFC 3339 can write: 9999-12-31T23:59:59Z.
const LAST_RFC3339_SECOND: Duration = Duration::from_secs(253_402_300_799);

/// The time in RFC 3339, UTC, whole seconds: `2026-11-23T18:30:00Z`.
/// humantime writes it; a clock before 1970 or after 9999 (which humantime
/// refuses) is shown as the nearest end of that range.
pub fn rfc3339(time: SystemTime) -> String {
    let time = time.clamp(UNIX_EPOCH, UNIX_EPOCH + LAST_RFC3339_SECOND);
    humantime::format_rfc3339_seconds(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> String {
        rfc3339(UNIX_EPOCH + Duration::from_secs(seconds))
    }

    #[test]
    fn known_dates() {
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(at(1_798_043_400), "2026-12-23T16:30:00Z");
        assert_eq!(at(4_102_444_800), "2100-01-01T00:00:00Z");
        assert_eq!(at(300_000_000_000), "9999-12-31T23:59:59Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH - Duration::from_secs(1)),
            "1970-01-01T00:00:00Z"
        );
    }
}
