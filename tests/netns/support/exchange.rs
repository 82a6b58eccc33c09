//! The everyday exchange between two `zre --json` peers (ours or a
//! reference's driver), shared by the families that test it both ways:
//! UTF-8, binary and multi-frame SHOUTs and WHISPERs, LEAVE and re-JOIN.

use super::events::{expect, expect_nth, in_group, message};
use super::netns::{JsonPeer, WAIT};

/// Text that is not ASCII: 2-, 3- and 4-byte UTF-8 sequences.
pub const UNICODE_TEXT: &str = "héllo wörld ✓ 日本語 🚀";
/// Binary content that is not UTF-8 (and holds a newline byte).
pub const BINARY_HEX: &str = "00ff80fe0ac3";
/// A multi-frame message as `/shoutx` takes it (` - ` is an empty frame)
/// and as the events show it.
pub const MULTI_FRAME_HEX: &str = "6f6e65 - c3a9 00ff0a";
pub const MULTI_FRAME: [&str; 4] = ["one", "", "é", "hex:00ff0a"];

/// The host part of `tcp://host:port`.
pub fn endpoint_host(endpoint: &str) -> &str {
    endpoint
        .strip_prefix("tcp://")
        .and_then(|rest| rest.rsplit_once(':'))
        .map_or("", |(host, _)| host)
}

/// Lower-case hex of `bytes`, as the `zre --json` contract writes binary.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `from` (in group chat) sends SHOUT and WHISPER to `to`: UTF-8 text and
/// binary.
pub fn exchange_messages(from: &mut JsonPeer, to: &mut JsonPeer) {
    let to_id = to.uuid.clone();
    from.send_line(&format!("/shout chat {UNICODE_TEXT} (shout)"));
    from.send_line(&format!("/whisper {to_id} {UNICODE_TEXT} (whisper)"));
    from.send_line(&format!("/shoutx chat {BINARY_HEX}"));
    from.send_line(&format!("/whisperx {to_id} {BINARY_HEX}"));
    let text = |suffix: &str| format!("{UNICODE_TEXT} ({suffix})");
    let binary = format!("hex:{BINARY_HEX}");
    let shout = expect(to, "UTF-8 SHOUT", message("SHOUT", from, &[&text("shout")]), WAIT);
    assert_eq!(shout.group(), "chat", "{shout}");
    expect(
        to,
        "UTF-8 WHISPER",
        message("WHISPER", from, &[&text("whisper")]),
        WAIT,
    );
    let shout = expect(to, "binary SHOUT", message("SHOUT", from, &[&binary]), WAIT);
    assert_eq!(shout.group(), "chat", "{shout}");
    expect(to, "binary WHISPER", message("WHISPER", from, &[&binary]), WAIT);
}

/// `from` (in group chat) sends a multi-frame SHOUT and WHISPER to `to`
/// (an empty frame, UTF-8 and binary ones).
pub fn exchange_multi_frame(from: &mut JsonPeer, to: &mut JsonPeer) {
    let to_id = to.uuid.clone();
    from.send_line(&format!("/shoutx chat {MULTI_FRAME_HEX}"));
    from.send_line(&format!("/whisperx {to_id} {MULTI_FRAME_HEX}"));
    expect(
        to,
        "multi-frame SHOUT",
        message("SHOUT", from, &MULTI_FRAME),
        WAIT,
    );
    expect(
        to,
        "multi-frame WHISPER",
        message("WHISPER", from, &MULTI_FRAME),
        WAIT,
    );
}

/// `from` leaves chat and joins again; `to` sees both and gets a SHOUT
/// sent after the re-join.
pub fn leave_and_rejoin(from: &mut JsonPeer, to: &mut JsonPeer) {
    from.send_line("/leave chat");
    expect(to, "LEAVE chat", in_group("LEAVE", from, "chat"), WAIT);
    from.send_line("/join chat");
    expect_nth(to, "a second JOIN chat", 2, in_group("JOIN", from, "chat"), WAIT);
    from.send_line("/shout chat after the re-join");
    expect(
        to,
        "SHOUT after re-JOIN",
        message("SHOUT", from, &["after the re-join"]),
        WAIT,
    );
}
