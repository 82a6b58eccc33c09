//! Rate-limited log lines: hostile or broken input must not turn into a
//! flood of warnings, so each kind is said at most once a second, with a
//! count of what was held back.

use std::time::{Duration, Instant};

/// Whether a rate-limited log line may be said at `now`: at most once a
/// second, counting from the last one said (which `last` then records).
pub(super) fn once_a_second(last: &mut Option<Instant>, now: Instant) -> bool {
    if last.is_some_and(|at| now < at + Duration::from_secs(1)) {
        return false;
    }
    *last = Some(now);
    true
}

/// A warning said at most once a second, with how many more were held
/// back meanwhile, so that a flood of bad input is not a flood of lines.
#[derive(Debug, Default)]
pub(super) struct HeldBackLog {
    last: Option<Instant>,
    held_back: usize,
}

impl HeldBackLog {
    /// `Some(" (and N more since the last warning)")`, or `Some("")`, when
    /// a line may be said at `now`; `None` (one more held back) otherwise.
    pub(super) fn admit(&mut self, now: Instant) -> Option<String> {
        if !once_a_second(&mut self.last, now) {
            self.held_back += 1;
            return None;
        }
        Some(match std::mem::take(&mut self.held_back) {
            0 => String::new(),
            more => format!(" (and {more} more since the last warning)"),
        })
    }
}
