//! The core under an announcement flood (the hostile test's fake-beacon
//! phase): a full peer table, where every beacon from a new UUID evicts
//! the oldest announced peer. What one beacon costs must not grow with
//! how many groups the table knows: fake peers that said HELLO bring up
//! to 256 group names each, and a departure that scanned every group made
//! a flood of 20 000 beacons cost seconds of CPU, during which the node's
//! genuine peers expired (issue 25's hostile regression).
//!
//! Nor must it grow with the size of the table: admitting an announcement
//! counted the peers that said HELLO and the linked ones, and looked for
//! the peer at its endpoint, each a walk of the whole table; with 1 016
//! peers three quarters of the time went there.
//!
//! Sans-I/O: only the core, virtual time, no socket. Each case runs
//! `BEACONS` beacons and prints the time per beacon; the figures are two
//! ratios measured in the same run (1.0 = independent): the many-groups
//! case to the no-groups case, and a table of 1 016 to the base table.
//! `cargo bench --bench flood`; `ZRE_BENCH_SCALE` scales the beacon count,
//! `ZRE_FLOOD_TABLE` sets the base table size (default 64, the hostile
//! test's). For instruction counts: `valgrind --tool=callgrind
//! target/release/deps/flood-* <case>` with case `groups0`, `groups4096`
//! or `table1016`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};
use uuid::Uuid;
use zre::core::NodeCore;
use zre::core::config::CoreConfig;
use zre::wire::{Beacon, Body, Hello, ZreMessage};

/// The table, as the hostile test sets it (`ZRE_FLOOD_TABLE` for another).
const MAX_PEERS: usize = 64;
/// The large table of the size case.
const LARGE_TABLE: usize = 1016;
/// Peers that said HELLO, each in `groups / HELLOED` groups of its own.
const HELLOED: usize = 16;
const BEACONS: usize = 20_000;

/// A core with `HELLOED` peers that said HELLO, `groups` group names
/// among them (none shared), and a table filled by announcements.
fn loaded(groups: usize, table: usize, now: Instant) -> NodeCore {
    let mut config = CoreConfig::new(Uuid::from_u128(1), "victim", "tcp://10.0.0.1:41000", 41000);
    config.max_peers = table;
    config.max_peer_groups = 256;
    let mut core = NodeCore::new(config, now);
    let per_peer = groups / HELLOED;
    for p in 0..HELLOED {
        let names: Vec<String> = (0..per_peer).map(|g| format!("grp-{p}-{g}")).collect();
        let endpoint = format!("tcp://10.0.1.{}:40000", p + 1);
        let hello = ZreMessage::new(
            1,
            Body::Hello(Box::new(Hello {
                endpoint: &endpoint,
                groups: names.iter().map(String::as_str).collect(),
                status: 0,
                name: "many",
                headers: vec![],
            })),
        )
        .to_bytes()
        .expect("a HELLO within bounds");
        let identity = zre::core::peer_identity(&Uuid::from_u128(0x1000 + p as u128));
        core.handle_message(now, &identity, &hello, Vec::new());
        // Its PING-OK to our PING: ENTERed, as a live peer is.
        let ping_ok = ZreMessage::new(2, Body::PingOk).to_bytes().expect("a PING-OK");
        core.handle_message(now, &identity, &ping_ok, Vec::new());
    }
    drain(&mut core);
    core
}

fn drain(core: &mut NodeCore) {
    while core.poll_action().is_some() {}
    while core.poll_event().is_some() {}
}

/// Time per beacon of `beacons` beacons from new UUIDs (each evicts one
/// announced peer once the table is full).
fn flood(groups: usize, table: usize, beacons: usize) -> Duration {
    let now = Instant::now();
    let mut core = loaded(groups, table, now);
    let from = IpAddr::V4(Ipv4Addr::new(10, 0, 2, 66));
    let datagrams: Vec<[u8; 22]> = (0..beacons)
        .map(|i| {
            let bytes =
                Beacon::new(Uuid::from_u128(0x10_0000 + i as u128), 20_000 + (i % 1000) as u16).to_bytes();
            bytes.as_slice().try_into().expect("a v1 beacon is 22 bytes")
        })
        .collect();
    let started = Instant::now();
    for (i, datagram) in datagrams.iter().enumerate() {
        core.handle_beacon(now, from, black_box(datagram));
        if i % 64 == 0 {
            drain(&mut core);
        }
    }
    drain(&mut core);
    started.elapsed() / beacons as u32
}

fn main() {
    let scale: f64 = std::env::var("ZRE_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let beacons = ((BEACONS as f64 * scale) as usize).max(100);
    let table: usize = std::env::var("ZRE_FLOOD_TABLE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(MAX_PEERS);
    let many = HELLOED * 256;
    // (groups known, table size)
    let cases: Vec<(usize, usize)> = match std::env::args()
        .skip(1)
        .find(|a| a.starts_with("groups") || a.starts_with("table"))
    {
        Some(case) if case.starts_with("table") => {
            vec![(0, case.trim_start_matches("table").parse().expect("tableN"))]
        }
        Some(case) => vec![(case.trim_start_matches("groups").parse().expect("groupsN"), table)],
        None => vec![(0, table), (many, table), (0, LARGE_TABLE)],
    };
    let mut results = Vec::new();
    for (groups, table) in cases {
        // One warm-up run, then the best of three.
        flood(groups, table, beacons / 10);
        let best = (0..3)
            .map(|_| flood(groups, table, beacons))
            .min()
            .expect("three runs");
        println!(
            "flood: {groups:>5} groups known, table of {table:>4}, {beacons} beacons evicting: {:>8.2} µs per beacon",
            best.as_secs_f64() * 1e6
        );
        results.push(best);
    }
    if let [base, with_groups, large] = results[..] {
        println!(
            "flood: per-beacon cost with {many} groups / with none: {:.2} (1.0 = independent of the groups)",
            with_groups.as_secs_f64() / base.as_secs_f64()
        );
        println!(
            "flood: per-beacon cost with a table of {LARGE_TABLE} / of {table}: {:.2} (1.0 = independent of the table's size)",
            large.as_secs_f64() / base.as_secs_f64()
        );
    }
}
