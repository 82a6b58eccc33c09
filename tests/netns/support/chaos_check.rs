//! The checker of the chaos schedule (issue 25): reads the `zre --json`
//! event log of every node instance and says what broke the invariant
//! "a message is delivered once, in order, or its sender is reported
//! EXIT", and whether peers flapped.
//!
//! Messages are numbered per sender instance: SHOUTs `c-<n>` (one
//! sequence) and WHISPERs `w-<n>` (one sequence per target name). A
//! receiver instance must see each sender's numbers strictly rising (no
//! duplicate, no reordering); a gap between two numbers it received is a
//! loss unless the receiver saw the sender EXIT (or ENTER again) between
//! the two.

#![allow(dead_code)]

use super::netns::Event;
use std::collections::HashMap;

/// One node instance's log: who it was (name and uuid) and its events.
pub struct Log {
    pub name: String,
    pub uuid: String,
    pub events: Vec<Event>,
}

/// What the checker counted, for the figures line.
#[derive(Debug, Default)]
pub struct Tally {
    pub delivered: usize,
    /// Numbers missing inside a run of one sender at one receiver with an
    /// EXIT or ENTER between (allowed).
    pub lost_with_exit: usize,
    pub enters: usize,
    pub exits: usize,
}

/// The stream a numbered message belongs to and its number.
fn numbered(event: &Event) -> Option<(&'static str, u64)> {
    let stream = match event.kind() {
        "SHOUT" => "c-",
        "WHISPER" => "w-",
        _ => return None,
    };
    let content = event.content();
    let text = content.first()?;
    let n = text.strip_prefix(stream)?.parse().ok()?;
    Some((if stream == "c-" { "SHOUT" } else { "WHISPER" }, n))
}

/// Checks every log; returns the violations (empty: all good) and the
/// tally. `disrupted` counts, per node name, the faults the schedule
/// injected into it (kill, stop, link, address); ENTERs of one sender
/// instance at one receiver instance may number at most one plus the
/// faults of both (else: an ENTER/EXIT storm).
pub fn check(logs: &[Log], disrupted: &HashMap<String, usize>) -> (Vec<String>, Tally) {
    let mut violations = Vec::new();
    let mut tally = Tally::default();
    let name_of: HashMap<&str, &str> = logs.iter().map(|l| (l.uuid.as_str(), l.name.as_str())).collect();
    for log in logs {
        let receiver = format!("{}/{}", log.name, &log.uuid[..8.min(log.uuid.len())]);
        // (sender uuid, stream) -> (last number, index of its event)
        let mut last: HashMap<(&str, &str), (u64, usize)> = HashMap::new();
        // sender uuid -> indexes of its ENTER/EXIT events at this receiver
        let mut membership: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut enters: HashMap<&str, usize> = HashMap::new();
        for (index, event) in log.events.iter().enumerate() {
            let sender = event.peer();
            match event.kind() {
                "ENTER" => {
                    tally.enters += 1;
                    *enters.entry(sender).or_default() += 1;
                    membership.entry(sender).or_default().push(index);
                }
                "EXIT" => {
                    tally.exits += 1;
                    membership.entry(sender).or_default().push(index);
                }
                _ => {}
            }
            let Some((stream, n)) = numbered(event) else {
                continue;
            };
            tally.delivered += 1;
            if let Some(&(previous, at)) = last.get(&(sender, stream)) {
                if n <= previous {
                    violations.push(format!(
                        "{receiver}: {stream} {n} from {sender} after {previous}: {}",
                        if n == previous { "duplicate" } else { "reordered" }
                    ));
                } else if n > previous + 1 {
                    let justified = membership
                        .get(sender)
                        .is_some_and(|marks| marks.iter().any(|&m| m > at && m < index));
                    if justified {
                        tally.lost_with_exit += (n - previous - 1) as usize;
                    } else {
                        violations.push(format!(
                            "{receiver}: {stream}s {}..={} from {sender} lost without an EXIT (got {previous}, then {n})",
                            previous + 1,
                            n - 1
                        ));
                    }
                }
            }
            last.insert((sender, stream), (n, index));
        }
        for (sender, count) in enters {
            let sender_name = name_of.get(sender).copied().unwrap_or("?");
            let bound = 1
                + disrupted.get(&log.name).copied().unwrap_or(0)
                + disrupted.get(sender_name).copied().unwrap_or(0);
            if count > bound {
                violations.push(format!(
                    "{receiver}: {count} ENTERs of {sender_name}/{sender} (bound {bound}: a storm)"
                ));
            }
        }
    }
    (violations, tally)
}

/// CURVE allow-lists: from a point of one node instance's event log on,
/// the peers (by name: every instance of the node) barred to it, its
/// allow-list lacking theirs or theirs its certificate, until the next
/// such record for the instance.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub uuid: String,
    /// After this many `STATS` lines of the log (0: from its start). The
    /// driver sends `/stats` as a marker, which the node prints in order
    /// with its events.
    pub after_stats: usize,
    pub refused: Vec<String>,
}

/// A peer barred to a node is not ENTERed there while barred: the owner of
/// the allow-list neither lets its key through the handshake nor links to
/// it (README), so neither side can send to the other, and ENTER means
/// both ways work. Violations, and how many ENTERs of other peers fell
/// inside a record that barred some (what was looked at).
pub fn check_refusals(logs: &[Log], refusals: &[Refusal]) -> (Vec<String>, usize) {
    let mut violations = Vec::new();
    let mut looked_at = 0;
    for log in logs {
        let mine: Vec<&Refusal> = refusals.iter().filter(|r| r.uuid == log.uuid).collect();
        if mine.is_empty() {
            continue;
        }
        let receiver = format!("{}/{}", log.name, &log.uuid[..8.min(log.uuid.len())]);
        let mut stats = 0;
        for event in &log.events {
            if event.is("STATS") {
                stats += 1;
                continue;
            }
            if !event.is("ENTER") {
                continue;
            }
            let Some(now) = mine.iter().rev().find(|r| r.after_stats <= stats) else {
                continue;
            };
            if now.refused.is_empty() {
                continue;
            }
            if now.refused.iter().any(|name| name == event.name()) {
                violations.push(format!(
                    "{receiver}: ENTER of {}/{} while barred by an allow-list (barred: {}; after STATS line {stats})",
                    event.name(),
                    event.peer(),
                    now.refused.join(", ")
                ));
            } else {
                looked_at += 1;
            }
        }
    }
    (violations, looked_at)
}

/// One live node's view of a contested group once the network healed.
pub struct LeaderView {
    pub name: String,
    pub uuid: String,
    /// It is in the group (as the test drove it).
    pub member: bool,
    /// It contests the group.
    pub contests: bool,
    /// The leader it reports now (`/leader GROUP`, or for a peer that
    /// cannot be asked its latest LEADER event); `None`: no leader.
    pub leader: Option<String>,
    /// The leader its latest LEADER event for the group names, if any.
    pub last_event: Option<String>,
}

/// The elected leaders of `group` agree: when at least two live nodes are
/// in it and one of them contests, every member reports the same leader,
/// the member that contests with the smallest UUID (the order Zyre uses);
/// with no contesting member no member reports one; a member that reports
/// a leader had a LEADER event naming it last. Violations, empty if all
/// agree.
pub fn check_leaders(group: &str, views: &[LeaderView]) -> Vec<String> {
    let mut violations = Vec::new();
    let members: Vec<&LeaderView> = views.iter().filter(|v| v.member).collect();
    let expected = members
        .iter()
        .filter(|v| v.contests)
        .map(|v| v.uuid.as_str())
        .min()
        .filter(|_| members.len() >= 2);
    let contesting = |uuid: &str| members.iter().any(|v| v.contests && v.uuid == uuid);
    let name_of = |uuid: &str| {
        views
            .iter()
            .find(|v| v.uuid == uuid)
            .map_or("a node no longer live", |v| v.name.as_str())
            .to_owned()
    };
    for view in &members {
        let who = format!("{}/{}", view.name, &view.uuid[..8.min(view.uuid.len())]);
        match (&view.leader, expected) {
            (Some(leader), _) if !contesting(leader) => violations.push(format!(
                "{who}: leader of {group} is {leader} ({}), not a live member that contests",
                name_of(leader)
            )),
            (Some(leader), Some(expected)) if leader != expected => violations.push(format!(
                "{who}: leader of {group} is {leader} ({}), not {expected} ({}), the smallest contester",
                name_of(leader),
                name_of(expected)
            )),
            (None, Some(expected)) => violations.push(format!(
                "{who}: no leader of {group}, where {expected} ({}) contests",
                name_of(expected)
            )),
            _ => {}
        }
        if let Some(leader) = &view.leader
            && view.last_event.as_ref() != Some(leader)
        {
            violations.push(format!(
                "{who}: leader of {group} is {leader}, but its last LEADER event names {:?}",
                view.last_event
            ));
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, peer: &str, content: Option<&str>) -> Event {
        let content = content.map_or(String::new(), |c| format!(r#","content":["{c}"]"#));
        Event::parse(&format!(
            r#"{{"event":"{kind}","peer":"{peer}","name":"s"{content}}}"#
        ))
    }

    fn log(events: Vec<Event>) -> Vec<Log> {
        vec![Log {
            name: "r".into(),
            uuid: "R".repeat(32),
            events,
        }]
    }

    const S: &str = "SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS";

    #[test]
    fn the_checker_finds_duplicates_reorderings_gaps_and_storms() {
        let quiet = HashMap::new();
        let good = log(vec![
            event("ENTER", S, None),
            event("SHOUT", S, Some("c-1")),
            event("SHOUT", S, Some("c-2")),
            event("WHISPER", S, Some("w-7")),
            event("EXIT", S, None),
            event("ENTER", S, None),
            event("SHOUT", S, Some("c-5")),
        ]);
        let (violations, tally) = check(&good, &HashMap::from([("r".to_owned(), 1)]));
        assert!(violations.is_empty(), "{violations:?}");
        assert_eq!((tally.delivered, tally.lost_with_exit), (4, 2));

        for (events, what) in [
            (
                vec![event("SHOUT", S, Some("c-1")), event("SHOUT", S, Some("c-1"))],
                "duplicate",
            ),
            (
                vec![event("SHOUT", S, Some("c-2")), event("SHOUT", S, Some("c-1"))],
                "reordered",
            ),
            (
                vec![event("WHISPER", S, Some("w-1")), event("WHISPER", S, Some("w-3"))],
                "lost without an EXIT",
            ),
            (
                vec![
                    event("ENTER", S, None),
                    event("EXIT", S, None),
                    event("ENTER", S, None),
                ],
                "storm",
            ),
        ] {
            let (violations, _) = check(&log(events), &quiet);
            assert!(
                violations.len() == 1 && violations[0].contains(what),
                "{what}: {violations:?}"
            );
        }
    }
    #[test]
    fn the_refusal_check_finds_an_enter_of_a_refused_peer_between_markers() {
        let named = |kind: &str, name: &str| {
            Event::parse(&format!(r#"{{"event":"{kind}","peer":"{S}","name":"{name}"}}"#))
        };
        let stats = || Event::parse(r#"{"event":"STATS","peers":3}"#);
        let refusals = |refused: &[&str]| {
            vec![
                // Refused from the start of the log, then (after the first
                // STATS) also b, then (after the second) nobody.
                Refusal {
                    uuid: "R".repeat(32),
                    after_stats: 0,
                    refused: refused.iter().map(|s| s.to_string()).collect(),
                },
                Refusal {
                    uuid: "R".repeat(32),
                    after_stats: 1,
                    refused: vec!["a".into(), "b".into()],
                },
                Refusal {
                    uuid: "R".repeat(32),
                    after_stats: 2,
                    refused: Vec::new(),
                },
            ]
        };
        let events = vec![
            named("ENTER", "b"),
            stats(),
            named("ENTER", "c"),
            stats(),
            named("ENTER", "a"),
            named("ENTER", "b"),
        ];
        let (violations, looked_at) = check_refusals(&log(events.clone()), &refusals(&["a"]));
        assert!(violations.is_empty(), "{violations:?}");
        assert_eq!(looked_at, 2);
        // b refused from the start: its first ENTER breaks it.
        let (violations, _) = check_refusals(&log(events), &refusals(&["b"]));
        assert!(
            violations.len() == 1 && violations[0].contains("ENTER of b/"),
            "{violations:?}"
        );
        // An ENTER of a between the markers.
        let late = vec![stats(), named("ENTER", "a"), stats(), named("ENTER", "a")];
        let (violations, _) = check_refusals(&log(late), &refusals(&[]));
        assert!(
            violations.len() == 1 && violations[0].contains("after STATS line 1"),
            "{violations:?}"
        );
        // Another instance's records do not apply.
        let mut other = refusals(&["b"]);
        for r in &mut other {
            r.uuid = "Q".repeat(32);
        }
        let (violations, looked_at) = check_refusals(&log(vec![named("ENTER", "b")]), &other);
        assert!(violations.is_empty() && looked_at == 0, "{violations:?}");
    }

    #[test]
    fn the_leader_check_wants_one_leader_the_smallest_live_contester() {
        let view = |name: &str, uuid: &str, contests: bool, leader: Option<&str>| LeaderView {
            name: name.into(),
            uuid: uuid.into(),
            member: true,
            contests,
            leader: leader.map(Into::into),
            last_event: leader.map(Into::into),
        };
        let (a, b, c) = ("A".repeat(32), "B".repeat(32), "C".repeat(32));
        let agreed = [
            view("a", &a, true, Some(&a)),
            view("b", &b, true, Some(&a)),
            view("c", &c, false, Some(&a)),
        ];
        assert!(check_leaders("g", &agreed).is_empty());
        // No contester in the group: nobody leads.
        let none = [view("b", &b, false, None), view("c", &c, false, None)];
        assert!(check_leaders("g", &none).is_empty());

        let mut split = agreed;
        split[2].leader = Some(b.clone());
        split[2].last_event = Some(b.clone());
        let v = check_leaders("g", &split);
        assert!(v.len() == 1 && v[0].contains("smallest contester"), "{v:?}");

        let stale = [view("b", &b, true, Some(&a)), view("c", &c, false, Some(&a))];
        let v = check_leaders("g", &stale);
        assert!(
            v.len() == 2 && v[0].contains("not a live member that contests"),
            "{v:?}"
        );

        let missing = [view("a", &a, true, Some(&a)), view("c", &c, false, None)];
        let v = check_leaders("g", &missing);
        assert!(v.len() == 1 && v[0].contains("no leader of g"), "{v:?}");

        let mut unreported = [view("a", &a, true, Some(&a)), view("c", &c, false, Some(&a))];
        unreported[1].last_event = None;
        let v = check_leaders("g", &unreported);
        assert!(v.len() == 1 && v[0].contains("last LEADER event"), "{v:?}");

        // A node outside the group is not asked.
        let mut outside = [
            view("a", &a, true, Some(&a)),
            view("b", &b, true, Some(&a)),
            view("c", &c, false, None),
        ];
        outside[2].member = false;
        assert!(check_leaders("g", &outside).is_empty());
    }
}
