//! The chaos schedule's plan: the seeded random numbers, the faults, and
//! which node gets which fault when (`chaos_run.rs` carries it out). The
//! plan comes from the seed alone, so that a seed replays it.

use super::chaos_run::{EXPIRED, Kind};
use std::time::Duration;

/// The seed (`CHAOS_SEED`, else the clock) and the schedule's length in
/// seconds (`CHAOS_SECS`, else `default_secs`).
pub fn seed_and_secs(default_secs: u64) -> (u64, u64) {
    let seed = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(25, |d| d.as_nanos() as u64)
        });
    let secs = std::env::var("CHAOS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_secs);
    (seed, secs)
}

/// splitmix64: a few lines, stable across versions, replayable.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn millis(&mut self, from: u64, to: u64) -> Duration {
        Duration::from_millis(from + self.below(to - from))
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Fault {
    Kill,
    Stop,
    LinkDown,
    Renumber,
    /// Its `--json` output is not read (back-pressure).
    SlowReader,
    /// Cut off from the nodes in the mask (bit per node) both ways
    /// (`ip route add prohibit` on each side).
    Partition(u32),
    /// The LAN splits in two: this node and those in the mask on one
    /// side, every other node on the other; every pair across is cut both
    /// ways, as between two subnets whose router fails.
    Split(u32),
    /// CURVE: the certificates of the nodes in the mask leave its
    /// allow-list directory; the heal puts every one it lacks back.
    AllowEdit(u32),
}

/// The schedule, from the seed alone (so that a seed replays it): at
/// which offset which node gets which fault for how long. Every 0.5–3 s
/// one fault on a node that has none, while fewer than a third have one;
/// spans from 0.3 s to twice the expiry time (so some end in an EXIT). A
/// fault a node's kind does not take is drawn and skipped, so that the
/// same seed gives our nodes the same faults in every variant. With
/// `allow_edits` (the CURVE variant) an eighth kind, allow-list edits, is
/// drawn too.
pub fn plan(
    rng: &mut Rng,
    kinds: &[Kind],
    length: Duration,
    allow_edits: bool,
) -> Vec<(Duration, usize, Fault, Duration)> {
    let nodes = kinds.len();
    let mut plan = Vec::new();
    let mut busy_until = vec![Duration::ZERO; nodes];
    let mut at = rng.millis(1000, 3000);
    while at < length {
        let index = rng.below(nodes as u64) as usize;
        let fault = match rng.below(if allow_edits { 8 } else { 7 }) {
            0 => Fault::Kill,
            1 => Fault::Stop,
            2 => Fault::LinkDown,
            3 => Fault::Renumber,
            4 => Fault::SlowReader,
            // About half of the others, never itself.
            5 => Fault::Partition(rng.next() as u32 & ((1 << nodes) - 1) & !(1 << index)),
            6 => Fault::Split(rng.next() as u32 & ((1 << nodes) - 1) & !(1 << index)),
            // About a quarter of the others (at least one), never itself.
            _ => {
                let others = ((1u64 << nodes) - 1) as u32 & !(1 << index);
                let mask = (rng.next() & rng.next()) as u32 & others;
                let one = (index + 1 + rng.below(nodes as u64 - 1) as usize) % nodes;
                Fault::AllowEdit(if mask == 0 { 1 << one } else { mask })
            }
        };
        let span = rng.millis(300, 2 * EXPIRED * 1000);
        let busy = busy_until.iter().filter(|&&until| until > at).count();
        if busy_until[index] <= at && busy < nodes / 3 && kinds[index].takes(fault) {
            plan.push((at, index, fault, span));
            busy_until[index] = at + span;
        }
        at += rng.millis(500, 3000);
    }
    plan
}
