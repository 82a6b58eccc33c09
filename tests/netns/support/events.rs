//! Predicates and waits on the events of `zre --json` peers (ours or a
//! reference driver speaking the same contract), shared by the live tests
//! written since issue 19.

use std::time::Duration;

use super::netns::{Event, Json, JsonPeer, WAIT};

/// An event of `kind` about `peer`.
pub fn about(kind: &'static str, peer: &JsonPeer) -> impl Fn(&Event) -> bool + use<> {
    let uuid = peer.uuid.clone();
    move |e| e.is(kind) && e.peer() == uuid
}

/// An event of `kind` from `peer` with this group.
pub fn in_group(kind: &'static str, peer: &JsonPeer, group: &str) -> impl Fn(&Event) -> bool + use<> {
    let (uuid, group) = (peer.uuid.clone(), group.to_owned());
    move |e| e.is(kind) && e.peer() == uuid && e.group() == group
}

/// A SHOUT or WHISPER from `peer` with exactly this content.
pub fn message<S: AsRef<str>>(
    kind: &'static str,
    peer: &JsonPeer,
    content: &[S],
) -> impl Fn(&Event) -> bool + use<S> {
    let uuid = peer.uuid.clone();
    let content: Vec<String> = content.iter().map(|s| s.as_ref().to_owned()).collect();
    move |e| e.is(kind) && e.peer() == uuid && e.content() == content
}

/// A SHOUT or WHISPER (from anyone) one of whose frames contains `text`.
pub fn carrying(text: &str) -> impl Fn(&Event) -> bool + use<> {
    let text = text.to_owned();
    move |e| (e.is("SHOUT") || e.is("WHISPER")) && e.content().iter().any(|c| c.contains(&text))
}

/// A header of an ENTER event.
pub fn header<'a>(event: &'a Event, key: &str) -> Option<&'a str> {
    event
        .json
        .get("headers")
        .and_then(|h| h.get(key))
        .and_then(Json::as_str)
}

/// `who` waits for an event, naming itself on failure.
pub fn expect(who: &mut JsonPeer, what: &str, pred: impl Fn(&Event) -> bool, timeout: Duration) -> Event {
    let what = format!("{what} (seen by {})", who.name);
    who.wait_for(&what, pred, timeout)
}

/// The `n`th event (ever, counting from 1) that matches.
pub fn expect_nth(
    who: &mut JsonPeer,
    what: &str,
    n: usize,
    pred: impl Fn(&Event) -> bool,
    timeout: Duration,
) -> Event {
    let what = format!("{what} (seen by {})", who.name);
    let mut seen = 0;
    let line = who.child().wait_stdout(
        &what,
        |l| {
            if pred(&Event::parse(l)) {
                seen += 1;
            }
            seen == n
        },
        timeout,
    );
    Event::parse(&line)
}

/// Both have seen the other ENTER; the two ENTER events (a's of b, b's of a).
pub fn meet(a: &mut JsonPeer, b: &mut JsonPeer) -> (Event, Event) {
    let (b_name, a_name) = (b.name.clone(), a.name.clone());
    let of_b = expect(a, &format!("ENTER of {b_name}"), about("ENTER", b), WAIT);
    let of_a = expect(b, &format!("ENTER of {a_name}"), about("ENTER", a), WAIT);
    (of_b, of_a)
}

/// Both join `group` and each sees the other's JOIN.
pub fn join_both(a: &mut JsonPeer, b: &mut JsonPeer, group: &str) {
    a.send_line(&format!("/join {group}"));
    b.send_line(&format!("/join {group}"));
    let (a_name, b_name) = (a.name.clone(), b.name.clone());
    expect(
        a,
        &format!("JOIN {group} of {b_name}"),
        in_group("JOIN", b, group),
        WAIT,
    );
    expect(
        b,
        &format!("JOIN {group} of {a_name}"),
        in_group("JOIN", a, group),
        WAIT,
    );
}

/// `from` SHOUTs to `group` and WHISPERs to `to` (texts made unique by
/// `tag` and the sender's name); `to` gets both.
pub fn shout_and_whisper(from: &mut JsonPeer, to: &mut JsonPeer, group: &str, tag: &str) {
    let to_id = to.uuid.clone();
    let shout = format!("{tag}: shout from {} ✓", from.name);
    let whisper = format!("{tag}: whisper from {} ✓", from.name);
    from.send_line(&format!("/shout {group} {shout}"));
    from.send_line(&format!("/whisper {to_id} {whisper}"));
    let got = expect(to, "SHOUT", message("SHOUT", from, &[&shout]), WAIT);
    assert_eq!(got.group(), group, "{got}");
    expect(to, "WHISPER", message("WHISPER", from, &[&whisper]), WAIT);
}

/// Both join `group`, then SHOUT and WHISPER each way.
pub fn talk_both_ways(a: &mut JsonPeer, b: &mut JsonPeer, group: &str, tag: &str) {
    join_both(a, b, group);
    shout_and_whisper(a, b, group, tag);
    shout_and_whisper(b, a, group, tag);
}
