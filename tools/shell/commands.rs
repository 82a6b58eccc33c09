//! The shell's command language: parsing a line (`/join GROUP`,
//! `/shout GROUP TEXT`, ...) and running it on the node. Nothing here needs
//! a terminal.

use crate::failure::Failure;
use crate::printer::{Printer, printable};
use std::time::Duration;
use uuid::Uuid;
use zre::{Frame, Node, NodeError, ZyreUuid};

/// The commands, for completion.
pub(super) const COMMANDS: [&str; 14] = [
    "/join",
    "/leave",
    "/shout",
    "/whisper",
    "/shoutx",
    "/whisperx",
    "/peers",
    "/groups",
    "/leader",
    "/name",
    "/stats",
    "/sleep",
    "/help",
    "/quit",
];

const HELP: &str = "\
/join GROUP           join a group
/leave GROUP          leave a group
/shout GROUP TEXT     send TEXT (the rest of the line) to every peer in GROUP
/whisper PEER TEXT    send TEXT to one peer, by name or UUID
/shoutx GROUP HEX...  send binary frames, one per hex word (multi-frame)
/whisperx PEER HEX... send binary frames to one peer, one per hex word
/peers                list the peers: name, UUID, endpoint, groups
/groups               list our groups and the peers' groups
/leader GROUP         the leader elected in GROUP (see --contest), if any
/name                 our name, UUID and endpoint
/stats                peer table (ready and pending), backlog, memory
/sleep DURATION       wait (seconds, or 500ms) before the next command; events still show
/help                 this list
/quit                 leave the network and exit (also Ctrl-D, Ctrl-C)";

/// What the shell does after a command.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Flow {
    /// Read the next command.
    Continue,
    /// Wait this long before the next command; events keep showing.
    Sleep(Duration),
    /// Leave the network and exit.
    Quit,
}

/// What a command has to say. Where it goes depends on `--json` (see
/// [`print`]).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Output {
    /// A reply for people, control characters already escaped.
    Reply(String),
    /// A JSON object for stdout, where the events are.
    Json(String),
    /// A remark on stderr, such as a shout that reached nobody.
    Note(String),
    /// An error, on stderr as `error: ...`.
    Error(String),
}

/// One parsed command line.
#[derive(Debug, PartialEq, Eq)]
enum Command<'a> {
    Nothing,
    Join(&'a str),
    Leave(&'a str),
    Shout(&'a str, &'a str),
    Whisper(&'a str, &'a str),
    /// Binary content: one frame per hex word.
    ShoutFrames(&'a str, Vec<Frame>),
    WhisperFrames(&'a str, Vec<Frame>),
    Peers,
    Groups,
    Leader(&'a str),
    Name,
    Stats,
    Sleep(Duration),
    Help,
    Quit,
}

/// The first word and the rest of the line after the blanks that follow it.
fn split_word(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    match text.find(char::is_whitespace) {
        Some(end) => (&text[..end], text[end..].trim_start()),
        None => (text, ""),
    }
}

/// A target word, then one or more frames, each a word of hex digits (an
/// empty frame is written `-`).
fn target_and_frames<'a>(rest: &'a str, usage: &str) -> Result<(&'a str, Vec<Frame>), String> {
    let (target, hex) = split_word(rest);
    let frames = hex
        .split_whitespace()
        .map(|word| {
            if word == "-" {
                Some(Frame::new())
            } else {
                unhex(word).map(Frame::from)
            }
        })
        .collect::<Option<Vec<Frame>>>();
    match frames {
        Some(frames) if !target.is_empty() && !frames.is_empty() => Ok((target, frames)),
        _ => Err(format!(
            "usage: {usage} (each frame an even number of hex digits, or - for empty)"
        )),
    }
}

fn unhex(word: &str) -> Option<Vec<u8>> {
    if word.len() % 2 != 0 {
        return None;
    }
    (0..word.len())
        .step_by(2)
        .map(|i| {
            word.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

fn parse_command(line: &str) -> Result<Command<'_>, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    let (word, rest) = split_word(line);
    let one_argument = |usage: &str| {
        let (argument, extra) = split_word(rest);
        if argument.is_empty() || !extra.trim().is_empty() {
            Err(format!("usage: {usage}"))
        } else {
            Ok(argument)
        }
    };
    let target_and_text = |usage: &str| {
        let (target, text) = split_word(rest);
        if target.is_empty() || text.is_empty() {
            Err(format!("usage: {usage}"))
        } else {
            Ok((target, text))
        }
    };
    let no_argument = |command: Command<'static>| {
        if rest.trim().is_empty() {
            Ok(command)
        } else {
            Err(format!("{word} takes no arguments"))
        }
    };
    match word {
        "" => Ok(Command::Nothing),
        "/join" => one_argument("/join GROUP").map(Command::Join),
        "/leave" => one_argument("/leave GROUP").map(Command::Leave),
        "/shout" => target_and_text("/shout GROUP TEXT").map(|(g, t)| Command::Shout(g, t)),
        "/whisper" => target_and_text("/whisper PEER TEXT").map(|(p, t)| Command::Whisper(p, t)),
        "/shoutx" => target_and_frames(rest, "/shoutx GROUP HEX...").map(|(g, f)| Command::ShoutFrames(g, f)),
        "/whisperx" => {
            target_and_frames(rest, "/whisperx PEER HEX...").map(|(p, f)| Command::WhisperFrames(p, f))
        }
        "/peers" => no_argument(Command::Peers),
        "/groups" => no_argument(Command::Groups),
        "/leader" => one_argument("/leader GROUP").map(Command::Leader),
        "/name" => no_argument(Command::Name),
        "/stats" => no_argument(Command::Stats),
        "/sleep" => one_argument("/sleep DURATION (seconds, or 500ms)")
            .and_then(|d| zre::config::parse_duration(d).map(Command::Sleep)),
        "/help" => no_argument(Command::Help),
        "/quit" | "/exit" => no_argument(Command::Quit),
        other if other.starts_with('/') => Err(format!("unknown command {other} (try /help)")),
        _ => Err("commands start with / (try /help)".into()),
    }
}

/// A shout's outcome for the shell: reaching nobody is said, not an error.
fn shouted(group: &str, result: Result<usize, NodeError>, output: &mut Vec<Output>) -> Result<(), String> {
    match result {
        Ok(0) => {
            output.push(Output::Note(format!("(no peer is in group {group})")));
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(err) => Err(err.to_string()),
    }
}

/// The peer a whisper command names, by name or UUID; a name several
/// peers share is refused, naming them.
fn target_peer(node: &Node, target: &str) -> Result<Uuid, String> {
    if let Some(peer) = node.find_peer(target) {
        return Ok(peer);
    }
    let mut named: Vec<String> = node
        .peers()
        .into_iter()
        .filter(|&peer| node.peer_name(peer) == Some(target))
        .map(|peer| ZyreUuid(peer).to_string())
        .collect();
    named.sort();
    if named.len() > 1 {
        return Err(format!(
            "{} peers are named {target}: give one's UUID ({})",
            named.len(),
            named.join(", ")
        ));
    }
    Err(format!("no peer named or with UUID {target} (see /peers)"))
}

/// Runs one command line on the node and says what to print; no
/// terminal needed.
pub(super) fn execute(node: &mut Node, line: &str, json: bool) -> (Flow, Vec<Output>) {
    let mut output = Vec::new();
    // Names and groups come from peers: keep their control characters off
    // our terminal.
    let mut reply = |text: String| output.push(Output::Reply(printable(&text)));
    let result: Result<(), String> =
        match parse_command(line) {
            Err(err) => Err(err),
            Ok(Command::Nothing) => Ok(()),
            Ok(Command::Quit) => return (Flow::Quit, output),
            Ok(Command::Sleep(duration)) => return (Flow::Sleep(duration), output),
            Ok(Command::Help) => {
                HELP.lines().for_each(|help| reply(help.to_owned()));
                Ok(())
            }
            Ok(Command::Join(group)) => node.join(group).map_err(|e| e.to_string()),
            Ok(Command::Leave(group)) => {
                if node.own_groups().contains(&group) {
                    node.leave(group).map_err(|e| e.to_string())
                } else {
                    Err(format!("not in group {group}"))
                }
            }
            Ok(Command::Shout(group, text)) => shouted(group, node.shout_str(group, text), &mut output),
            Ok(Command::Whisper(target, text)) => target_peer(node, target)
                .and_then(|peer| node.whisper_str(peer, text).map_err(|e| e.to_string())),
            Ok(Command::ShoutFrames(group, frames)) => shouted(group, node.shout(group, frames), &mut output),
            Ok(Command::WhisperFrames(target, frames)) => target_peer(node, target)
                .and_then(|peer| node.whisper(peer, frames).map_err(|e| e.to_string())),
            Ok(Command::Peers) => {
                peers(node).into_iter().for_each(&mut reply);
                Ok(())
            }
            Ok(Command::Groups) => {
                groups(node).into_iter().for_each(&mut reply);
                Ok(())
            }
            Ok(Command::Leader(group)) => {
                reply(match node.leader(group) {
                    Some(leader) if leader == node.uuid() => {
                        format!("leader of {group}: {} {} (us)", node.name(), ZyreUuid(leader))
                    }
                    Some(leader) => format!(
                        "leader of {group}: {} {}",
                        node.peer_name(leader).unwrap_or("?"),
                        ZyreUuid(leader)
                    ),
                    None => format!("no leader in {group} (yet)"),
                });
                Ok(())
            }
            Ok(Command::Name) => {
                reply(format!(
                    "{} {} {}",
                    node.name(),
                    ZyreUuid(node.uuid()),
                    node.endpoint()
                ));
                Ok(())
            }
            Ok(Command::Stats) => {
                let stats = Stats::of(node);
                if json {
                    // Like READY, a line of its own on stdout, where the events are.
                    output.push(Output::Json(stats.json()));
                } else {
                    reply(stats.human());
                }
                Ok(())
            }
        };
    if let Err(err) = result {
        output.push(Output::Error(printable(&err)));
    }
    (Flow::Continue, output)
}

/// `/peers`: one line per peer, name, UUID, endpoint and groups.
fn peers(node: &Node) -> Vec<String> {
    let peers = node.peers();
    if peers.is_empty() {
        return vec!["no peers".into()];
    }
    peers
        .into_iter()
        .map(|peer| {
            let groups: Vec<&str> = node
                .peer_groups()
                .into_iter()
                .filter(|g| node.peers_by_group(g).contains(&peer))
                .collect();
            format!(
                "{} {} {} groups: {}",
                node.peer_name(peer).unwrap_or("?"),
                ZyreUuid(peer),
                node.peer_endpoint(peer).unwrap_or("?"),
                if groups.is_empty() {
                    "-".into()
                } else {
                    groups.join(", ")
                }
            )
        })
        .collect()
}

/// `/groups`: our groups, then each group's peers.
fn groups(node: &Node) -> Vec<String> {
    let own = node.own_groups();
    let mut lines = vec![format!(
        "own: {}",
        if own.is_empty() {
            "-".into()
        } else {
            own.join(", ")
        }
    )];
    for group in node.peer_groups() {
        let names: Vec<&str> = node
            .peers_by_group(group)
            .into_iter()
            .filter_map(|peer| node.peer_name(peer))
            .collect();
        lines.push(format!("{group}: {}", names.join(", ")));
    }
    lines
}

/// Prints what a command said: replies to the printer for people, and to
/// stderr in JSON mode (stdout carries nothing but events and JSON then);
/// notes and errors always to stderr.
pub(super) fn print(printer: &mut Printer, output: &[Output], json: bool) -> Result<(), Failure> {
    for item in output {
        match item {
            Output::Reply(text) if json => eprintln!("{text}"),
            Output::Reply(text) | Output::Json(text) => printer.line(text)?,
            Output::Note(text) => eprintln!("{text}"),
            Output::Error(text) => eprintln!("error: {text}"),
        }
    }
    Ok(())
}

/// What /stats reports: the size of the peer table (HELLO received, and
/// known only by beacon or gossip), messages held for slow peers, our
/// resident memory (Linux; unknown where /proc is missing, or when no
/// descriptor is left to read it with), and the node's counters
/// ([`zre::NodeStats`]).
struct Stats {
    peers: usize,
    pending: usize,
    unproven: usize,
    backlog: usize,
    rss_kib: Option<u64>,
    node: Option<zre::NodeStats>,
}

impl Stats {
    fn of(node: &Node) -> Stats {
        let stats = node.stats();
        Stats {
            peers: stats.core.peers_ready,
            pending: stats.core.peers_pending,
            unproven: stats.core.peers_unproven,
            backlog: stats.backlog,
            rss_kib: rss_kib(),
            node: Some(stats),
        }
    }

    fn json(&self) -> String {
        // A figure that cannot be read (out of descriptors, no /proc) is
        // left out, as the --json contract says, rather than shown as 0.
        let mut json = format!(
            "{{\"event\":\"STATS\",\"peers\":{},\"pending\":{},\"unproven\":{},\"backlog\":{}",
            self.peers, self.pending, self.unproven, self.backlog
        );
        if let Some(rss) = self.rss_kib {
            json.push_str(&format!(",\"rss_kib\":{rss}"));
        }
        if let Some(stats) = &self.node {
            let c = &stats.core;
            json.push_str(&format!(
                ",\"max_peers\":{},\"refused\":{},\"pings\":{},\"probes\":{},\"announcements_dropped\":{},\"announcements_kept\":{},\"connects_deferred\":{},\"inbound_shed\":{}",
                c.max_peers,
                c.refused,
                c.pings_sent,
                c.probes,
                c.announcements_dropped,
                c.announcements_kept,
                c.connects_deferred,
                stats.inbound_shed,
            ));
            if let Some(fds) = stats.fds_in_use {
                json.push_str(&format!(",\"fds\":{fds}"));
            }
            json.push_str(",\"exits\":{");
            let exits: Vec<String> = stats.exits().map(|(why, n)| format!("\"{why}\":{n}")).collect();
            json.push_str(&exits.join(","));
            json.push('}');
        }
        json.push('}');
        json
    }

    fn human(&self) -> String {
        let unknown = || "unknown".to_owned();
        let mut text = format!(
            "peers {} (pending {}, unproven {}), backlog {} messages, RSS {}",
            self.peers,
            self.pending,
            self.unproven,
            self.backlog,
            self.rss_kib.map_or_else(unknown, |kib| format!("{kib} KiB"))
        );
        if let Some(stats) = &self.node {
            let c = &stats.core;
            let exits: Vec<String> = stats
                .exits()
                .filter(|(_, n)| *n > 0)
                .map(|(why, n)| format!("{why} {n}"))
                .collect();
            text.push_str(&format!(
                "; max peers {}, refused {}, PINGs {}, probes {}, announcements dropped {} (kept {}), links deferred {}, inbound connections shed {}, fds {}; EXITs: {}",
                c.max_peers,
                c.refused,
                c.pings_sent,
                c.probes,
                c.announcements_dropped,
                c.announcements_kept,
                c.connects_deferred,
                stats.inbound_shed,
                stats.fds_in_use.map_or_else(unknown, |n| n.to_string()),
                if exits.is_empty() { "none".to_owned() } else { exits.join(", ") }
            ));
        }
        text
    }
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line["VmRSS:".len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_are_one_json_object() {
        let stats = Stats {
            peers: 2,
            pending: 61,
            unproven: 1,
            backlog: 0,
            rss_kib: Some(12345),
            node: None,
        };
        assert_eq!(
            stats.json(),
            r#"{"event":"STATS","peers":2,"pending":61,"unproven":1,"backlog":0,"rss_kib":12345}"#
        );
        // Out of descriptors, /proc cannot be read: left out, not 0.
        let starved = Stats {
            rss_kib: None,
            ..stats
        };
        assert_eq!(
            starved.json(),
            r#"{"event":"STATS","peers":2,"pending":61,"unproven":1,"backlog":0}"#
        );
        assert!(starved.human().contains("RSS unknown"), "{}", starved.human());
    }

    #[test]
    fn commands_parse() {
        assert_eq!(parse_command("/join chat"), Ok(Command::Join("chat")));
        assert_eq!(
            parse_command("/shout chat  hello   world \r\n"),
            Ok(Command::Shout("chat", "hello   world "))
        );
        assert_eq!(
            parse_command("/whisper bob hi there"),
            Ok(Command::Whisper("bob", "hi there"))
        );
        assert_eq!(parse_command("   "), Ok(Command::Nothing));
        assert!(parse_command("/join").is_err());
        assert!(parse_command("/join a b").is_err());
        assert!(parse_command("/shout chat").is_err());
        assert!(parse_command("/peers x").is_err());
        assert!(parse_command("/nope").is_err());
        assert_eq!(
            parse_command("/sleep 500ms"),
            Ok(Command::Sleep(Duration::from_millis(500)))
        );
        assert!(parse_command("/sleep soon").is_err());
        assert!(parse_command("hello").is_err());
        assert_eq!(parse_command("/stats"), Ok(Command::Stats));
        assert_eq!(parse_command("/leader g"), Ok(Command::Leader("g")));
        assert!(parse_command("/leader").is_err());
        assert!(parse_command("/stats now").is_err());
        assert_eq!(
            parse_command("/shoutx chat 00ff - 6869"),
            Ok(Command::ShoutFrames(
                "chat",
                vec![vec![0, 0xff].into(), Frame::new(), b"hi".into()]
            ))
        );
        assert_eq!(
            parse_command("/whisperx bob C3A9"),
            Ok(Command::WhisperFrames("bob", vec![vec![0xc3, 0xa9].into()]))
        );
        assert!(parse_command("/shoutx chat").is_err());
        assert!(parse_command("/shoutx chat 0").is_err());
        assert!(parse_command("/whisperx bob zz").is_err());
    }

    #[test]
    fn commands_run_without_a_terminal() {
        // Loopback mode without beacons: nothing leaves this host.
        let mut node = Node::builder()
            .interface("lo")
            .beacons(false)
            .port_range(zre::config::PortRange::Any)
            .build()
            .expect("node");
        assert_eq!(execute(&mut node, "/join chat", false), (Flow::Continue, vec![]));
        assert_eq!(
            execute(&mut node, "/groups", false),
            (Flow::Continue, vec![Output::Reply("own: chat".into())])
        );
        assert_eq!(
            execute(&mut node, "/shout chat hi", false),
            (
                Flow::Continue,
                vec![Output::Note("(no peer is in group chat)".into())]
            )
        );
        let (flow, output) = execute(&mut node, "/whisper nobody hi", false);
        assert_eq!(flow, Flow::Continue);
        assert!(
            matches!(output.as_slice(), [Output::Error(e)] if e.contains("no peer named")),
            "{output:?}"
        );
        let (_, output) = execute(&mut node, "/stats", true);
        assert!(
            matches!(output.as_slice(), [Output::Json(j)] if j.starts_with(r#"{"event":"STATS","peers":0,"#)),
            "{output:?}"
        );
        assert_eq!(
            execute(&mut node, "/leave nope", false),
            (Flow::Continue, vec![Output::Error("not in group nope".into())])
        );
        assert_eq!(execute(&mut node, "/quit", false), (Flow::Quit, vec![]));
        node.stop();
    }

    /// Two peers named alike: `/whisper NAME` names both instead of
    /// picking one, and each is still reached by UUID.
    #[test]
    fn a_whisper_to_a_name_two_peers_share_is_refused() {
        // Loopback mode without beacons, peers added by endpoint.
        let loopback = |name: &str| {
            Node::builder()
                .name(name)
                .interface("lo")
                .beacons(false)
                .port_range(zre::config::PortRange::Any)
                .build()
                .expect("node")
        };
        let mut nodes = [loopback("me"), loopback("twin"), loopback("twin")];
        for i in 1..3 {
            let endpoint = nodes[i].endpoint().to_owned();
            nodes[0].add_peer(&endpoint).unwrap();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while nodes[0].peers().len() < 2 {
            assert!(std::time::Instant::now() < deadline, "peers did not meet");
            for node in &mut nodes {
                node.run_once(Some(Duration::from_millis(10))).unwrap();
                while node.next_event().is_some() {}
            }
        }
        let (_, output) = execute(&mut nodes[0], "/whisper twin hi", false);
        let mut twins = [
            ZyreUuid(nodes[1].uuid()).to_string(),
            ZyreUuid(nodes[2].uuid()).to_string(),
        ];
        twins.sort();
        let expected = format!(
            "2 peers are named twin: give one's UUID ({}, {})",
            twins[0], twins[1]
        );
        assert_eq!(output, vec![Output::Error(expected)]);
        let (_, output) = execute(&mut nodes[0], &format!("/whisper {} hi", twins[0]), false);
        assert_eq!(output, vec![]);
        for node in &mut nodes {
            node.stop();
        }
    }
}
