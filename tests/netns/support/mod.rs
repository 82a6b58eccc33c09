//! What the namespace tests share, compiled once for the whole binary.

#[macro_use]
pub mod netns;
pub mod cdrivers;
pub mod chaos_allow;
pub mod chaos_check;
pub mod chaos_plan;
pub mod chaos_run;
pub mod curve;
pub mod events;
pub mod exchange;
pub mod haskell;
pub mod peers;
pub mod refpeers;
pub mod rogue;
pub mod turns;
