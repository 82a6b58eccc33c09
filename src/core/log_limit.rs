//! At most one log line per period for input a peer can repeat at will
//! (a malformed gossip frame every second must not flood the log).

use std::time::{Duration, Instant};

/// How often a rate-limited warning may be logged.
pub(super) const LOG_PERIOD: Duration = Duration::from_secs(10);

/// One rate limit: [`LogLimit::allow`] says whether to log now and how
/// many lines were held back since the last one.
#[derive(Debug, Default)]
pub(super) struct LogLimit {
    next: Option<Instant>,
    suppressed: u64,
}

impl LogLimit {
    /// `Some(held_back)` if a line may be logged at `now` (then none
    /// until [`LOG_PERIOD`] later), else `None` and the line is counted.
    pub(super) fn allow(&mut self, now: Instant) -> Option<u64> {
        if self.next.is_some_and(|next| now < next) {
            self.suppressed += 1;
            return None;
        }
        self.next = now.checked_add(LOG_PERIOD);
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// `" (N more since the last)"` for a count of held-back lines, else `""`.
pub(super) fn held_back(count: u64) -> String {
    if count == 0 {
        String::new()
    } else {
        format!(" ({count} more like it held back)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_period_then_the_count_held_back() {
        let t0 = Instant::now();
        let mut limit = LogLimit::default();
        assert_eq!(limit.allow(t0), Some(0));
        assert_eq!(limit.allow(t0 + Duration::from_secs(1)), None);
        assert_eq!(limit.allow(t0 + Duration::from_secs(9)), None);
        assert_eq!(limit.allow(t0 + LOG_PERIOD), Some(2));
        assert_eq!(limit.allow(t0 + LOG_PERIOD), None);
    }
}
