//! Rate-limited log lines: input a peer can repeat at will (beacons from a
//! foreign subnet, a malformed gossip frame, a flood of fake peers) must
//! not turn into a flood of log lines. Each kind of line is said at most
//! once per period, with a count of the lines held back meanwhile.

use std::fmt;
use std::time::{Duration, Instant};

/// The period of ZGossip's "malformed frame" lines: a broken server or
/// client repeats its frame every second, for as long as it runs, and one
/// line in ten seconds says as much.
pub(crate) const MALFORMED_GOSSIP_PERIOD: Duration = Duration::from_secs(10);

/// One kind of rate-limited line.
#[derive(Debug)]
pub(crate) struct LogLimit {
    period: Duration,
    next: Option<Instant>,
    held_back: u64,
}

impl Default for LogLimit {
    /// Once a second: what a node's own lines use.
    fn default() -> Self {
        LogLimit::every(Duration::from_secs(1))
    }
}

impl LogLimit {
    /// At most one line per `period`.
    pub(crate) const fn every(period: Duration) -> LogLimit {
        LogLimit {
            period,
            next: None,
            held_back: 0,
        }
    }

    /// `Some` (how many were held back since the last line, to end the
    /// line with) if a line may be said at `now`; `None`, one more held
    /// back, otherwise.
    pub(crate) fn admit(&mut self, now: Instant) -> Option<HeldBack> {
        if self.next.is_some_and(|next| now < next) {
            self.held_back += 1;
            return None;
        }
        self.next = now.checked_add(self.period);
        Some(HeldBack(std::mem::take(&mut self.held_back)))
    }
}

/// The lines held back before this one: displays as `""` or
/// `" (N more log lines like it not shown)"`, the end of the line said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeldBack(pub(crate) u64);

impl fmt::Display for HeldBack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => Ok(()),
            n => write!(f, " ({n} more log lines like it not shown)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_period_then_the_count_held_back() {
        let t0 = Instant::now();
        let period = Duration::from_secs(10);
        let mut limit = LogLimit::every(period);
        assert_eq!(limit.admit(t0), Some(HeldBack(0)));
        assert_eq!(limit.admit(t0 + Duration::from_secs(1)), None);
        assert_eq!(limit.admit(t0 + Duration::from_secs(9)), None);
        let line = limit.admit(t0 + period).expect("a new period");
        assert_eq!(line.to_string(), " (2 more log lines like it not shown)");
        assert_eq!(limit.admit(t0 + period), None);
        assert_eq!(HeldBack(0).to_string(), "");
    }

    #[test]
    fn the_default_is_once_a_second() {
        let t0 = Instant::now();
        let mut limit = LogLimit::default();
        assert!(limit.admit(t0).is_some());
        assert!(limit.admit(t0 + Duration::from_millis(999)).is_none());
        assert!(limit.admit(t0 + Duration::from_secs(1)).is_some());
    }
}
