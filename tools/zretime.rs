//! zretime: shouts the current UTC time to a group at an interval, and
//! prints the events it sees.

use crate::failure::Outcome;
use crate::options::{HasNodeArgs, duration_setting, load_settings, node_args, set_flag};
use crate::printer::Printer;
use crate::runtime::{Started, start_node, stop_node, take_events};
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
    // An empty value would mean "unset" (the default group) in the file;
    // on the command line it is a mistake, as zrecat's empty GROUP is.
    if args.group.as_deref() == Some("") {
        return Err(crate::failure::Failure::usage("--group: empty group name"));
    }
    set_flag(&mut settings, "group", args.group.as_deref())?;
    set_flag(&mut settings, "interval", args.interval.as_deref())?;
    let interval = duration_setting(&settings, "interval")?;
    let group = settings
        .get_or_default("group")
        .ok_or_else(|| crate::failure::Failure::new("no value for 'group'"))?;
    let Started { mut runtime, json } = start_node(&settings, |builder| builder)?;
    runtime.node.join(&group)?;
    let mut printer = Printer::stdout_thread(json, runtime.waker())?;
    printer.ready(&runtime.node)?;
    printer.flush()?;

    let mut ticks = Ticks::new(SystemTime::now(), Instant::now(), interval);
    loop {
        // Each shout says the tick it is for, not the clock at wake-up: a
        // late wake-up neither repeats nor skips a tick.
        for time in ticks.due(Instant::now()) {
            let text = tick_text(time, interval);
            let reached = runtime.node.shout_str(&group, &text)?;
            log::debug!("shouted {text} to {reached} peers in {group}");
        }
        let wakeup = runtime.poll(Some(
            ticks.next_instant().saturating_duration_since(Instant::now()),
        ))?;
        if wakeup.signal {
            break;
        }
        take_events(&mut runtime.node, &mut printer, |_, _| Ok(()))?;
    }
    stop_node(&mut runtime.node, Some(&mut printer));
    Ok(())
}

/// Ticks later than this are not shouted one by one after a stall (a
/// suspended process, a stopped terminal): zretime goes on from the
/// current tick and says how many it left out.
const MAX_CATCH_UP: u64 = 10;

/// The schedule: tick `n` is the wall-clock time `first + n * interval`,
/// due at the monotonic instant that corresponds to it. The first tick is
/// the first multiple of the interval since 1970 at or after the start, so
/// with 1 s the shouts fall on whole seconds.
struct Ticks {
    first_wall: SystemTime,
    first_instant: Instant,
    interval: Duration,
    next: u64,
}

impl Ticks {
    fn new(now_wall: SystemTime, now: Instant, interval: Duration) -> Ticks {
        let since_epoch = now_wall.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
        let step = interval.as_nanos().max(1);
        let first = since_epoch.div_ceil(step) * step;
        let wait = u64::try_from(first - since_epoch).unwrap_or(u64::MAX);
        let wait = Duration::from_nanos(wait);
        Ticks {
            first_wall: now_wall + wait,
            first_instant: now + wait,
            interval,
            next: 0,
        }
    }

    /// The offset of tick `n` from the first.
    fn offset(&self, n: u64) -> Duration {
        let nanos = self.interval.as_nanos().saturating_mul(u128::from(n));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// When the next tick is due.
    fn next_instant(&self) -> Instant {
        self.first_instant + self.offset(self.next)
    }

    /// The wall-clock times of the ticks due by `now`, each once, in order.
    fn due(&mut self, now: Instant) -> Vec<SystemTime> {
        let Some(elapsed) = now.checked_duration_since(self.first_instant) else {
            return Vec::new();
        };
        let last = u64::try_from(elapsed.as_nanos() / self.interval.as_nanos().max(1)).unwrap_or(u64::MAX);
        if last < self.next {
            return Vec::new();
        }
        if last - self.next >= MAX_CATCH_UP {
            log::warn!(
                "woke up {} ticks late: leaving out the ticks before the current one",
                last - self.next
            );
            self.next = last;
        }
        let due = (self.next..=last)
            .map(|n| self.first_wall + self.offset(n))
            .collect();
        self.next = last + 1;
        due
    }
}

/// The latest time RFC 3339 can write: 9999-12-31T23:59:59Z.
const LAST_RFC3339_SECOND: Duration = Duration::from_secs(253_402_300_799);

/// A tick in RFC 3339, UTC, as humantime writes it (a clock before 1970
/// or after 9999, which it refuses, is shown as the nearest end of that
/// range): whole seconds when the interval is whole
/// seconds (`2026-11-23T18:30:00Z`), else with as many decimals as the
/// interval needs (`…:00.500Z` for 500ms, micro- or nanoseconds beyond).
pub fn tick_text(time: SystemTime, interval: Duration) -> String {
    let nanos = interval.subsec_nanos();
    let time = time.clamp(UNIX_EPOCH, UNIX_EPOCH + LAST_RFC3339_SECOND);
    if nanos == 0 {
        humantime::format_rfc3339_seconds(time).to_string()
    } else if nanos % 1_000_000 == 0 {
        humantime::format_rfc3339_millis(time).to_string()
    } else if nanos % 1_000 == 0 {
        humantime::format_rfc3339_micros(time).to_string()
    } else {
        humantime::format_rfc3339_nanos(time).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc3339(time: SystemTime) -> String {
        tick_text(time, Duration::from_secs(1))
    }

    fn at(seconds: u64) -> String {
        rfc3339(UNIX_EPOCH + Duration::from_secs(seconds))
    }

    #[test]
    fn ticks_carry_the_fraction_the_interval_needs() {
        let t = UNIX_EPOCH + Duration::from_millis(1_798_043_400_500);
        assert_eq!(tick_text(t, Duration::from_secs(2)), "2026-12-23T16:30:00Z");
        assert_eq!(
            tick_text(t, Duration::from_millis(500)),
            "2026-12-23T16:30:00.500Z"
        );
        assert_eq!(
            tick_text(t, Duration::from_millis(1500)),
            "2026-12-23T16:30:00.500Z"
        );
        assert_eq!(
            tick_text(t, Duration::from_micros(250)),
            "2026-12-23T16:30:00.500000Z"
        );
        assert_eq!(
            tick_text(t, Duration::from_nanos(1)),
            "2026-12-23T16:30:00.500000000Z"
        );
    }

    #[test]
    fn ticks_fall_on_the_interval_grid_and_follow_each_other_by_one_interval() {
        let start_wall = UNIX_EPOCH + Duration::from_millis(1_798_043_400_300);
        let start = Instant::now();
        for interval in [
            Duration::from_secs(1),
            Duration::from_millis(250),
            Duration::from_secs(3),
        ] {
            let mut ticks = Ticks::new(start_wall, start, interval);
            // Nothing before the first tick; it is the next multiple of the interval.
            assert!(ticks.due(start).is_empty());
            let first_due = ticks.next_instant();
            let first = ticks.due(first_due);
            assert_eq!(first.len(), 1);
            let since_epoch = first[0].duration_since(UNIX_EPOCH).unwrap().as_nanos();
            assert_eq!(since_epoch % interval.as_nanos(), 0, "{interval:?}");
            assert!(first[0] >= start_wall && first[0] < start_wall + interval);
            // Wake-ups late by up to almost an interval, or several
            // intervals: every tick exactly once, one interval apart.
            let mut all = first;
            let mut now = first_due;
            for late in [0.1, 0.99, 0.0, 2.5, 0.5, 1.0, 0.3] {
                now = ticks.next_instant() + interval.mul_f64(late);
                all.extend(ticks.due(now));
                // Called again at once: nothing is repeated.
                assert!(ticks.due(now).is_empty());
            }
            for pair in all.windows(2) {
                assert_eq!(pair[1].duration_since(pair[0]).unwrap(), interval, "{interval:?}");
            }
            let texts: Vec<String> = all.iter().map(|t| tick_text(*t, interval)).collect();
            let mut unique = texts.clone();
            unique.dedup();
            assert_eq!(unique, texts);
            assert!(ticks.next_instant() > now);
        }
    }

    #[test]
    fn a_long_stall_goes_on_from_the_current_tick() {
        let interval = Duration::from_secs(1);
        let start = Instant::now();
        let mut ticks = Ticks::new(UNIX_EPOCH + Duration::from_secs(100), start, interval);
        assert_eq!(ticks.due(start).len(), 1);
        let due = ticks.due(start + Duration::from_secs(60));
        assert_eq!(due, vec![UNIX_EPOCH + Duration::from_secs(160)]);
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
