//! The driver of issue 25's chaos schedule, shared by its variants
//! (`tests/netns/chaos_schedule.rs`): a namespace LAN of nodes (ours, and
//! Zyre and pyre peers in the mixed variant) goes through a seeded random
//! schedule of SIGKILL and restart (same endpoint for ours and Zyre, new
//! UUID), SIGSTOP/SIGCONT, link down/up, address changes, a consumer that
//! stops reading a node's `--json` output, and partitions (a node cut off
//! from about half of the others, both ways), while every node SHOUTs and
//! WHISPERs numbered messages and joins and leaves a second group; in the
//! CURVE variant also allow-list edits (`support/chaos_allow.rs`). Then
//! the network heals and [`super::chaos_check`] reads every node
//! instance's event log; membership and elected leaders must agree, and
//! our nodes' RSS and open files stay bounded.
//!
//! The seed is printed; `CHAOS_SEED=<n>` replays a schedule, `CHAOS_SECS=<n>`
//! makes it longer; our nodes log at `RUST_LOG` (default info);
//! `CHAOS_KEEP=1` keeps every instance's log (as a failure does).

use super::chaos_allow::AllowLists;
use super::chaos_check::{LeaderView, Log, check, check_leaders};
pub use super::chaos_plan::seed_and_secs;
use super::chaos_plan::{Fault, Rng, plan};
use super::netns::{self, JsonPeer, Lab, WAIT};
use super::peers;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

/// The expired timeout of every node that has one to set (seconds).
pub const EXPIRED: u64 = 4;
/// The group every node is in and SHOUTs to.
const ALL: &str = "g";
/// The group nodes join and leave during the schedule (no numbered
/// traffic: the checker compares everyone's view of it at the end).
pub const CHURN: &str = "h";
/// Bounds for every live node of ours at the end: resident memory and open
/// files (a node with 11 peers holds ~40 descriptors and ~10 MiB).
const MAX_RSS_KIB: u64 = 96 * 1024;
const MAX_FDS: usize = 256;
/// How long after membership converged the leaders may take to agree: a
/// stalled election is retried after 3 s, then 6 s, 12 s (a membership
/// change resets that).
const LEADER_WAIT: Duration = Duration::from_secs(30);

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Our `zre --json`; `contests`: with `--contest` for every group of
    /// [`Chaos::contested`].
    Ours { contests: bool },
    /// Zyre 2.0.1 through `tests/interop/zyre_peer.c`.
    Zyre,
    /// pyre 0.3.4 through `tests/interop/pyre_peer.py`.
    Pyre,
}

impl Kind {
    /// Whether the schedule gives this kind of node `fault`. Skipped, as
    /// their own bugs that no peer can make up for:
    /// - an address change for Zyre 2.0.1 and pyre 0.3.4: they bind their
    ///   inbox to the address they found at start and never rebind
    ///   (zyre#614), so a renumbered one is a ghost for good;
    /// - a link down for pyre 0.3.4: its beacon actor ends for good when a
    ///   broadcast fails with anything but ENETDOWN/ENETUNREACH
    ///   (`zbeacon.py` `send_beacon`: "Network seems gone, exiting
    ///   zbeacon", seen with seed 1796487726799933553), and then neither
    ///   beacons nor hears beacons, so it never meets a peer that starts
    ///   later, nor one that starts later it.
    ///
    /// Allow-list edits are for ours only (the CURVE variant).
    pub(super) fn takes(self, fault: Fault) -> bool {
        !matches!(
            (self, fault),
            (Kind::Zyre | Kind::Pyre, Fault::Renumber | Fault::AllowEdit(_)) | (Kind::Pyre, Fault::LinkDown)
        )
    }

    fn prefix(self) -> &'static str {
        match self {
            Kind::Ours { .. } => "n",
            Kind::Zyre => "z",
            Kind::Pyre => "p",
        }
    }
}

/// A chaos run.
pub struct Chaos {
    /// The test's name, for the figures lines.
    pub title: &'static str,
    /// The LAN is 10.99.`net`.0/24.
    pub net: u8,
    /// One per node, in host order.
    pub kinds: Vec<Kind>,
    /// Groups our contesting nodes contest; each is checked for one leader
    /// at the end.
    pub contested: &'static [&'static str],
    /// Groups only our nodes join, at start (besides [`ALL`]).
    pub ours_only: &'static [&'static str],
    pub seed: u64,
    pub secs: u64,
    /// CURVE mode for every node (ours only): each with its own
    /// certificate and allow-list directory, and allow-list edits in the
    /// schedule (see `support/chaos_allow.rs`).
    pub curve: bool,
}

/// A node's host and its running instance; instances that ended keep
/// their logs in `done`.
struct Slot {
    kind: Kind,
    host: String,
    name: String,
    peer: Option<JsonPeer>,
    addr: String,
    /// The fault in progress and when it ends.
    busy_until: Option<(Instant, Fault)>,
    shouts: u64,
    whispers: HashMap<String, u64>,
    /// In group [`CHURN`] (a restarted node is not).
    in_churn: bool,
    /// The routes a partition added: (host, address it cannot reach).
    cut: Vec<(String, String)>,
}

impl Slot {
    fn contests(&self) -> bool {
        matches!(self.kind, Kind::Ours { contests: true })
    }

    /// Whether it is in `group` (as the test drove it).
    fn member(&self, group: &str, chaos: &Chaos) -> bool {
        group == ALL
            || (group == CHURN && self.in_churn)
            || (chaos.ours_only.contains(&group) && matches!(self.kind, Kind::Ours { .. }))
    }
}

/// Starts a node (in group [`ALL`] and, ours, in [`Chaos::ours_only`]),
/// ours with `extra` options.
fn start(lab: &Lab, chaos: &Chaos, kind: Kind, host: &str, name: &str, extra: &[String]) -> JsonPeer {
    let expired = EXPIRED.to_string();
    let mut peer = match kind {
        Kind::Ours { contests } => {
            let mut options = vec![
                "--evasive",
                "1",
                "--expired",
                &expired,
                "--port-range",
                "41000-41000",
            ];
            if contests {
                for group in chaos.contested {
                    options.extend(["--contest", group]);
                }
            }
            options.extend(extra.iter().map(String::as_str));
            let log = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
            JsonPeer::spawn_with_env(lab, host, "lan1", name, &options, &[("RUST_LOG", &log)])
        }
        Kind::Zyre => {
            let expired = (EXPIRED * 1000).to_string();
            let options = ["--evasive", "1000", "--expired", &expired, "--port", "41000"];
            peers::zyre(lab, host, "lan1", name, &options)
        }
        // Fixed timeouts (evasive 10 s, expired 30 s), a random port.
        Kind::Pyre => peers::pyre(lab, host, name, &[]),
    };
    peer.send_line(&format!("/join {ALL}"));
    if matches!(kind, Kind::Ours { .. }) {
        for group in chaos.ours_only {
            peer.send_line(&format!("/join {group}"));
        }
    }
    peer
}

fn log_of(peer: &JsonPeer) -> Log {
    Log {
        name: peer.name.clone(),
        uuid: peer.uuid.clone(),
        events: peer.events(),
    }
}

/// Ends a fault: a killed node starts again (same endpoint, new UUID), a
/// stopped one goes on, a link comes up; a new address stays; an
/// allow-list gets back every certificate it lacks.
fn heal(
    lab: &Lab,
    chaos: &Chaos,
    slots: &mut [Slot],
    index: usize,
    fault: Fault,
    allow: &mut Option<AllowLists>,
) {
    if let (Fault::AllowEdit(_), Some(allow)) = (fault, allow.as_mut()) {
        allow.restore(index, &mut running(slots));
        return;
    }
    let slot = &mut slots[index];
    match fault {
        Fault::Kill => {
            let extra = allow.as_ref().map_or_else(Vec::new, |a| a.options(index));
            let peer = start(lab, chaos, slot.kind, &slot.host, &slot.name, &extra);
            if let Some(allow) = allow {
                allow.started(index, &peer.uuid);
            }
            slot.peer = Some(peer);
            slot.in_churn = false;
        }
        Fault::AllowEdit(_) => {}
        Fault::Stop => slot.peer.as_mut().unwrap().child().signal("CONT"),
        Fault::LinkDown => {
            lab.ip(&slot.host, &["link", "set", "lan1", "up"]);
        }
        Fault::Renumber => {}
        Fault::SlowReader => slot.peer.as_mut().unwrap().child().stdout().set_paused(false),
        Fault::Partition(_) | Fault::Split(_) => {
            for (host, addr) in slot.cut.drain(..) {
                // Another partition may have removed a shared route.
                let _ = lab.try_exec(&host, "ip", &["route", "del", "prohibit", &format!("{addr}/32")]);
            }
        }
    }
}

/// Every node's running instance, for markers.
fn running(slots: &mut [Slot]) -> Vec<Option<&mut JsonPeer>> {
    slots.iter_mut().map(|s| s.peer.as_mut()).collect()
}

/// Starts a fault on `slots[index]`.
fn inject(
    lab: &Lab,
    slots: &mut [Slot],
    index: usize,
    fault: Fault,
    net: u8,
    renumbered: &mut u8,
    allow: &mut Option<AllowLists>,
) -> Option<Log> {
    // Which pairs are cut: the node from those in the mask, or, for a
    // split, its side (it and the mask) from every other node.
    let pairs: Vec<(usize, usize)> = match fault {
        Fault::Partition(mask) => (0..slots.len())
            .filter(|j| mask & (1 << j) != 0)
            .map(|j| (index, j))
            .collect(),
        Fault::Split(mask) => {
            let side = mask | (1 << index);
            let (near, far): (Vec<usize>, Vec<usize>) = (0..slots.len()).partition(|i| side & (1 << i) != 0);
            near.iter()
                .flat_map(|&i| far.iter().map(move |&j| (i, j)))
                .collect()
        }
        _ => Vec::new(),
    };
    let mut cut = Vec::new();
    for (i, j) in pairs {
        let (a_host, a_addr) = (slots[i].host.clone(), slots[i].addr.clone());
        let (b_host, b_addr) = (slots[j].host.clone(), slots[j].addr.clone());
        for (host, addr) in [(a_host, b_addr), (b_host, a_addr)] {
            lab.ip(&host, &["route", "replace", "prohibit", &format!("{addr}/32")]);
            cut.push((host, addr));
        }
    }
    if !cut.is_empty() {
        slots[index].cut = cut;
    }
    let slot = &mut slots[index];
    match fault {
        Fault::Kill => {
            let mut peer = slot.peer.take().unwrap();
            peer.child().kill();
            return Some(log_of(&peer));
        }
        Fault::Stop => slot.peer.as_mut().unwrap().child().signal("STOP"),
        Fault::SlowReader => slot.peer.as_mut().unwrap().child().stdout().set_paused(true),
        Fault::Partition(_) | Fault::Split(_) => {}
        Fault::AllowEdit(mask) => {
            if let Some(allow) = allow {
                allow.remove(index, mask, Instant::now());
            }
        }
        Fault::LinkDown => {
            lab.ip(&slot.host, &["link", "set", "lan1", "down"]);
        }
        Fault::Renumber => {
            *renumbered += 1;
            let new = format!("10.99.{net}.{}", 100 + *renumbered);
            let broadcast = format!("10.99.{net}.255");
            lab.ip(
                &slot.host,
                &["addr", "del", &format!("{}/24", slot.addr), "dev", "lan1"],
            );
            lab.ip(
                &slot.host,
                &[
                    "addr",
                    "add",
                    &format!("{new}/24"),
                    "brd",
                    &broadcast,
                    "dev",
                    "lan1",
                ],
            );
            slot.addr = new;
        }
    }
    None
}

/// Runs the schedule on a lab of its own and checks the logs; panics with
/// every violation, the seed and the schedule.
pub fn run(lab: &mut Lab, chaos: &Chaos) {
    let (seed, secs) = (chaos.seed, chaos.secs);
    let nodes = chaos.kinds.len();
    let hosts: Vec<String> = (0..nodes).map(|i| format!("h{i}")).collect();
    let host_refs: Vec<&str> = hosts.iter().map(String::as_str).collect();
    lab.numbered_lan("lan1", chaos.net, &host_refs);
    let mut rng = Rng(seed);
    let names: Vec<String> = (0..nodes)
        .map(|i| format!("{}{i}", chaos.kinds[i].prefix()))
        .collect();
    // CURVE: a few pairs refused at start (owner lacks peer), drawn apart
    // from the plan so that it stays the plain variant's.
    let mut allow = chaos.curve.then(|| {
        let mut draw = Rng(seed ^ 0xA110_0ED1);
        let mut missing = Vec::new();
        while missing.len() < 2 {
            let owner = draw.below(nodes as u64) as usize;
            let peer = (owner + 1 + draw.below(nodes as u64 - 1) as usize) % nodes;
            if !missing.contains(&(owner, peer)) {
                missing.push((owner, peer));
            }
        }
        AllowLists::new(&format!("chaos-{seed}"), &names, &missing)
    });
    let mut slots: Vec<Slot> = Vec::new();
    for (i, (host, &kind)) in hosts.iter().zip(&chaos.kinds).enumerate() {
        let name = names[i].clone();
        let extra = allow.as_ref().map_or_else(Vec::new, |a| a.options(i));
        let peer = start(lab, chaos, kind, host, &name, &extra);
        if let Some(allow) = allow.as_mut() {
            allow.started(i, &peer.uuid);
        }
        slots.push(Slot {
            kind,
            host: host.clone(),
            peer: Some(peer),
            name,
            addr: format!("10.99.{}.{}", chaos.net, i + 2),
            busy_until: None,
            shouts: 0,
            whispers: HashMap::new(),
            in_churn: false,
            cut: Vec::new(),
        });
    }
    let mut done: Vec<Log> = Vec::new();
    let mut disrupted: HashMap<String, usize> = HashMap::new();
    let mut injected: Vec<String> = Vec::new();

    // Everyone meets everyone before the schedule starts (but the pairs
    // an allow-list refuses).
    let uuids: Vec<String> = slots
        .iter()
        .map(|s| s.peer.as_ref().unwrap().uuid.clone())
        .collect();
    for (i, slot) in slots.iter_mut().enumerate() {
        let peer = slot.peer.as_mut().unwrap();
        for (j, uuid) in uuids.iter().enumerate() {
            if *uuid != peer.uuid && allow.as_ref().is_none_or(|a| a.may_meet(i, j)) {
                peer.wait_for(
                    &format!("JOIN of {uuid}"),
                    |e| e.is("JOIN") && e.peer() == uuid,
                    WAIT,
                );
            }
        }
    }

    let plan = plan(&mut rng, &chaos.kinds, Duration::from_secs(secs), chaos.curve);
    let mut traffic = Rng(seed ^ 0x7A11_C0DE);
    let begin = Instant::now();
    let end = begin + Duration::from_secs(secs);
    let mut planned = plan.iter().peekable();
    let mut renumbered = 0u8;
    let mut churned = 0usize;
    while Instant::now() < end {
        let now = Instant::now();
        // Faults that end now.
        for index in 0..nodes {
            match slots[index].busy_until {
                Some((until, fault)) if now >= until => {
                    slots[index].busy_until = None;
                    heal(lab, chaos, &mut slots, index, fault, &mut allow);
                }
                _ => {}
            }
        }
        // Allow-list removals that took effect.
        if let Some(allow) = allow.as_mut() {
            allow.due(now, &mut running(&mut slots));
        }
        // Faults that start now.
        while let Some(&&(at, index, fault, span)) = planned.peek() {
            if begin + at > now {
                break;
            }
            planned.next();
            match fault {
                Fault::Partition(mask) | Fault::AllowEdit(mask) => {
                    for j in (0..nodes).filter(|j| mask & (1 << j) != 0) {
                        *disrupted.entry(slots[j].name.clone()).or_default() += 1;
                    }
                }
                // Every node is on one side or the other.
                Fault::Split(_) => {
                    for j in (0..nodes).filter(|&j| j != index) {
                        *disrupted.entry(slots[j].name.clone()).or_default() += 1;
                    }
                }
                _ => {}
            }
            injected.push(format!(
                "{:.1}s {fault:?} {} for {span:?}",
                at.as_secs_f64(),
                slots[index].name
            ));
            *disrupted.entry(slots[index].name.clone()).or_default() += 1;
            // The plan has the node's previous fault end before this one
            // starts; one that began late may still be on: end it first
            // (else its heal, a partition's routes, would be lost).
            if let Some((_, previous)) = slots[index].busy_until.take() {
                heal(lab, chaos, &mut slots, index, previous, &mut allow);
            }
            done.extend(inject(
                lab,
                &mut slots,
                index,
                fault,
                chaos.net,
                &mut renumbered,
                &mut allow,
            ));
            // It ends when the plan says, however late it began.
            slots[index].busy_until = Some((begin + at + span, fault));
        }
        // Numbered traffic from every running node: a SHOUT to ALL and a
        // WHISPER to the running instance of another node (by UUID: a
        // name is ambiguous while a killed instance is still known).
        for i in 0..nodes {
            let target = (i + 1 + traffic.below(nodes as u64 - 1) as usize) % nodes;
            let target_uuid = slots[target].peer.as_ref().map(|p| p.uuid.clone());
            let target_name = slots[target].name.clone();
            let slot = &mut slots[i];
            let Some(peer) = slot.peer.as_mut() else {
                continue;
            };
            slot.shouts += 1;
            peer.send_line(&format!("/shout {ALL} c-{}", slot.shouts));
            if let Some(uuid) = target_uuid {
                let w = slot.whispers.entry(target_name).or_default();
                *w += 1;
                peer.send_line(&format!("/whisper {uuid} w-{w}"));
            }
            // Now and then a node joins or leaves the churn group.
            if traffic.below(25) == 0 {
                slot.in_churn = !slot.in_churn;
                let verb = if slot.in_churn { "join" } else { "leave" };
                peer.send_line(&format!("/{verb} {CHURN}"));
                churned += 1;
            }
        }
        thread::sleep(Duration::from_millis(200));
    }

    // Heal: every fault ends (every allow-list whole again), then the LAN
    // settles.
    for index in 0..nodes {
        if let Some((_, fault)) = slots[index].busy_until.take() {
            heal(lab, chaos, &mut slots, index, fault, &mut allow);
        }
    }
    if let Some(allow) = allow.as_mut() {
        allow.restore_all(&mut running(&mut slots));
    }
    let missing = converge(&slots);
    let asked = Instant::now();
    let (disagree, leaders) = leaders_agree(&mut slots, chaos);
    let leaders_after = asked.elapsed();
    let mut said = said(&mut slots, &missing);
    // Routes a partition left behind (there should be none).
    for slot in &slots {
        let left = lab.ip(&slot.host, &["route", "show", "type", "prohibit"]);
        if !left.trim().is_empty() {
            said.push_str(&format!("===== {} still has: {left}\n", slot.host));
        }
    }
    // Let the last messages arrive, then read every log.
    thread::sleep(Duration::from_secs(2));
    for slot in &mut slots {
        done.push(log_of(slot.peer.as_ref().unwrap()));
    }
    let (mut violations, tally) = check(&done, &disrupted);
    violations.extend(missing);
    let allow_figures = allow.as_ref().map_or_else(String::new, |allow| {
        let (refusal_violations, figures) = allow.check(&done, &mut running(&mut slots));
        violations.extend(refusal_violations);
        figures
    });
    violations.extend(disagree);
    // Bounded resources at every live node of ours.
    let (mut max_rss, mut max_fds) = (0u64, 0usize);
    for slot in slots.iter_mut().filter(|s| matches!(s.kind, Kind::Ours { .. })) {
        let pid = slot.peer.as_mut().unwrap().child().pid();
        let rss = netns::proc_status_kib(pid, "VmRSS").unwrap_or(0);
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
        max_rss = max_rss.max(rss);
        max_fds = max_fds.max(fds);
        if rss > MAX_RSS_KIB || fds > MAX_FDS {
            violations.push(format!("{}: RSS {rss} KiB, {fds} open files", slot.name));
        }
    }
    let sent: u64 = slots
        .iter()
        .map(|s| s.shouts + s.whispers.values().sum::<u64>())
        .sum();
    // Faults by kind ("12.5s Partition(1234) n3 for …" counts as Partition).
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for line in &injected {
        let kind = line.split(' ').nth(1).unwrap_or("?");
        *kinds.entry(kind.split('(').next().unwrap_or(kind)).or_default() += 1;
    }
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    // Every log on a failure, or when asked (`CHAOS_KEEP=1`).
    let kept = if violations.is_empty() && std::env::var_os("CHAOS_KEEP").is_none() {
        String::from("(not kept)")
    } else {
        let dir = keep_logs(seed, &done, &mut slots);
        let _ = std::fs::write(format!("{dir}/schedule"), injected.join("\n") + "\n");
        dir
    };
    figure!(
        "{}: seed {seed}, {secs} s, {} faults injected ({}), {churned} joins/leaves, {} instances, {sent} messages sent, \
         {} delivered, {} lost with an EXIT between, {} ENTER / {} EXIT, leaders ({}) agreed {:.1} s after membership, \
         {allow_figures}max RSS {max_rss} KiB, max {max_fds} open files, {} violations",
        chaos.title,
        injected.len(),
        kinds.join(", "),
        done.len(),
        tally.delivered,
        tally.lost_with_exit,
        tally.enters,
        tally.exits,
        leaders.join(", "),
        leaders_after.as_secs_f64(),
        violations.len()
    );
    assert!(
        violations.is_empty(),
        "seed {seed} (replay: CHAOS_SEED={seed}): {} violations (every instance's events in {kept}):\n{}\nschedule:\n{}\n{said}",
        violations.len(),
        violations.iter().take(40).cloned().collect::<Vec<_>>().join("\n"),
        injected.join("\n")
    );
    for slot in &mut slots {
        slot.peer.as_mut().unwrap().quit(WAIT);
    }
}

/// Waits until membership converged: each node has every other live one
/// ENTERed (its last ENTER/EXIT of it is an ENTER) and sees it in
/// [`CHURN`] exactly when it is. What is still wrong after [`WAIT`].
fn converge(slots: &[Slot]) -> Vec<String> {
    let live: Vec<(String, bool)> = slots
        .iter()
        .map(|s| (s.peer.as_ref().unwrap().uuid.clone(), s.in_churn))
        .collect();
    let deadline = Instant::now() + WAIT;
    loop {
        let mut missing = Vec::new();
        for slot in slots {
            let peer = slot.peer.as_ref().unwrap();
            let events = peer.events();
            for (uuid, in_churn) in live.iter().filter(|(u, _)| *u != peer.uuid) {
                let last = events
                    .iter()
                    .rposition(|e| (e.is("ENTER") || e.is("EXIT")) && e.peer() == uuid);
                if !last.is_some_and(|i| events[i].is("ENTER")) {
                    missing.push(format!("{} lacks {uuid}", slot.name));
                    continue;
                }
                // Its membership of the churn group, as this node saw it
                // since that ENTER (whose JOINs come right after it).
                let seen = events[last.unwrap_or(0)..]
                    .iter()
                    .rev()
                    .find(|e| {
                        (e.is("JOIN") || e.is("LEAVE")) && e.peer() == uuid && e.str("group") == Some(CHURN)
                    })
                    .is_some_and(|e| e.is("JOIN"));
                if seen != *in_churn {
                    missing.push(format!(
                        "{} sees {uuid} {} {CHURN}, which it is {}",
                        slot.name,
                        if seen { "in" } else { "out of" },
                        if *in_churn { "in" } else { "not" }
                    ));
                }
            }
        }
        if missing.is_empty() || Instant::now() >= deadline {
            return missing;
        }
        thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until the leaders of every contested group agree (see
/// [`check_leaders`]): what is still wrong after [`LEADER_WAIT`], and per
/// group the leader's name.
fn leaders_agree(slots: &mut [Slot], chaos: &Chaos) -> (Vec<String>, Vec<String>) {
    let deadline = Instant::now() + LEADER_WAIT;
    loop {
        let mut disagree = Vec::new();
        let mut leaders = Vec::new();
        for &group in chaos.contested {
            let mut views = Vec::new();
            for slot in slots.iter_mut() {
                match leader_view(slot, group, chaos) {
                    Ok(view) => views.push(view),
                    Err(why) => disagree.push(why),
                }
            }
            disagree.extend(check_leaders(group, &views));
            let leader = views.iter().find(|v| v.member).and_then(|v| v.leader.as_deref());
            let name = leader.map_or("none", |l| {
                slots
                    .iter()
                    .find(|s| s.peer.as_ref().is_some_and(|p| p.uuid == l))
                    .map_or("?", |s| s.name.as_str())
            });
            leaders.push(format!("{group}: {name}"));
        }
        if disagree.is_empty() || Instant::now() >= deadline {
            return (disagree, leaders);
        }
        thread::sleep(Duration::from_millis(500));
    }
}

/// Asks a node of ours `/leader GROUP` (the answer is on its stderr in
/// JSON mode): `Some(uuid)` or `None` for no leader; an error when it does
/// not answer.
fn ask_leader(peer: &mut JsonPeer, group: &str) -> Result<Option<String>, String> {
    let from = peer.child().stderr().lines().len();
    peer.send_line(&format!("/leader {group}"));
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        for line in peer.child().stderr().lines_from(from) {
            if line.starts_with(&format!("no leader in {group} ")) {
                return Ok(None);
            }
            if let Some(rest) = line.strip_prefix(&format!("leader of {group}: ")) {
                let uuid = rest
                    .split_whitespace()
                    .find(|w| w.len() == 32 && w.bytes().all(|b| b.is_ascii_hexdigit()));
                return uuid
                    .map(|u| Some(u.to_owned()))
                    .ok_or_else(|| format!("{}: a /leader answer without a UUID: {line}", peer.name));
            }
        }
        if Instant::now() >= deadline {
            return Err(format!("{}: no answer to /leader {group}", peer.name));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// A live node's view of `group`'s leader: what it answers (ours; a
/// reference peer cannot be asked: its latest LEADER event stands for
/// that) and what its latest LEADER event for the group says.
fn leader_view(slot: &mut Slot, group: &str, chaos: &Chaos) -> Result<LeaderView, String> {
    let member = slot.member(group, chaos);
    let contests = slot.contests();
    let ours = matches!(slot.kind, Kind::Ours { .. });
    let peer = slot.peer.as_mut().unwrap();
    let last_event = peer
        .events()
        .iter()
        .rev()
        .find(|e| e.is("LEADER") && e.group() == group)
        .map(|e| e.peer().to_owned());
    let leader = if ours {
        ask_leader(peer, group)?
    } else {
        last_event.clone()
    };
    Ok(LeaderView {
        name: slot.name.clone(),
        uuid: peer.uuid.clone(),
        member,
        contests,
        leader,
        last_event,
    })
}

/// What the nodes that did not converge said (their log lines, without
/// the shell's complaints about whispers to peers it does not know).
fn said(slots: &mut [Slot], missing: &[String]) -> String {
    let mut said = String::new();
    for slot in slots {
        if missing.iter().any(|m| m.starts_with(&format!("{} ", slot.name))) {
            let peer = slot.peer.as_mut().unwrap();
            said.push_str(&format!("===== {} ({}) said:\n", slot.name, peer.uuid));
            for line in peer.child().stderr().lines() {
                if !line.starts_with("error: no peer named") && !line.starts_with("(no peer is in group") {
                    said.push_str(&line);
                    said.push('\n');
                }
            }
        }
    }
    said
}

/// Writes every instance's events (and each live one's stderr) into
/// `CARGO_TARGET_TMPDIR/chaos/<seed>/`, one file per instance, for a
/// failure to be read at leisure: the directory.
fn keep_logs(seed: u64, logs: &[Log], slots: &mut [Slot]) -> String {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("chaos/{seed}"));
    let _ = std::fs::create_dir_all(&dir);
    for log in logs {
        let lines: Vec<&str> = log.events.iter().map(|e| e.raw.as_str()).collect();
        let file = dir.join(format!(
            "{}-{}.jsonl",
            log.name,
            &log.uuid[..8.min(log.uuid.len())]
        ));
        let _ = std::fs::write(file, lines.join("\n") + "\n");
    }
    for slot in slots {
        let peer = slot.peer.as_mut().unwrap();
        let file = dir.join(format!("{}-{}.stderr", slot.name, &peer.uuid[..8]));
        let _ = std::fs::write(file, peer.child().stderr().lines().join("\n") + "\n");
    }
    dir.display().to_string()
}
