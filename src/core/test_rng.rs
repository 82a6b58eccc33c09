//! Seeded random numbers for the unit tests' randomised runs: the seed
//! comes from an environment variable (to replay a run) or the clock, and
//! is printed, so that a failure names the seed that replays it.

/// The seed: `var` if set to a number, else the clock; printed as
/// `VAR=seed`.
pub(crate) fn seed(var: &str) -> u64 {
    let seed = std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    println!("{var}={seed}");
    seed
}

/// xorshift64 from `seed`: each call gives a number below `n` (n > 0).
pub(crate) fn below(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut state = seed | 1;
    move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    }
}
