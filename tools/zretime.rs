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

/// The time in RFC 3339, UTC, whole seconds: `2026-11-23T18:30:00Z`.
pub fn rfc3339(time: SystemTime) -> String {
    let seconds = match time.duration_since(UNIX_EPOCH) {
        Ok(since) => since.as_secs() as i64,
        Err(before) => -(before.duration().as_secs_f64().ceil() as i64),
    };
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let of_day = seconds.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Year, month, day of a count of days since 1970-01-01 (proleptic
/// Gregorian; Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
    }
}
