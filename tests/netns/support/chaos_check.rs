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
}
