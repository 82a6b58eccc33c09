//! The one printer of every applet: node events, READY, ZGossip tuples
//! and zrecat's content, for people or as JSON ([`crate::json`]), to
//! stdout or above the shell's prompt.

use crate::json;
use crate::stdout_thread::StdoutThread;
use std::collections::HashSet;
use std::io::{self, Write};
use zre::{Event, GossipEvent, Node, ZyreUuid};

/// Which node events people see. EVASIVE comes for any peer silent for the
/// evasive timeout, healthy idle ones included (see `zre::Event::Evasive`):
/// on its own it reads as a fault. So it is held back, and shown only if
/// SILENT follows (the ping went unanswered), just before it; any other
/// event from the peer forgets it. JSON output shows every event.
#[derive(Debug, Default)]
pub struct HumanEvents {
    evasive: HashSet<uuid::Uuid>,
}

impl HumanEvents {
    /// The lines for people that `event` makes, in order (none for an
    /// EVASIVE held back).
    pub fn lines(&mut self, event: &Event) -> Vec<String> {
        match event {
            Event::Evasive { peer, .. } => {
                self.evasive.insert(*peer);
                Vec::new()
            }
            Event::Silent { peer, .. } if self.evasive.remove(peer) => {
                let name = printable(event.peer_name().unwrap_or(""));
                vec![format!("EVASIVE {name}"), human_event(event)]
            }
            other => {
                if let Some(peer) = other.peer() {
                    self.evasive.remove(&peer);
                }
                vec![human_event(other)]
            }
        }
    }
}

/// A line for people: the event, its peer's name, and what matters.
pub fn human_event(event: &Event) -> String {
    let name = printable(event.peer_name().unwrap_or(""));
    match event {
        Event::Enter {
            peer,
            headers,
            endpoint,
            ..
        } => {
            let mut line = format!("ENTER {name} {} {}", ZyreUuid(*peer), printable(endpoint));
            if !headers.is_empty() {
                let pairs: Vec<String> = headers
                    .iter()
                    .map(|(k, v)| format!("{}={}", printable(k), printable(v)))
                    .collect();
                line.push_str(&format!(" {{{}}}", pairs.join(", ")));
            }
            line
        }
        Event::Join { group, .. } | Event::Leave { group, .. } | Event::Leader { group, .. } => {
            format!("{} {name} {}", event.kind(), printable(group))
        }
        Event::Shout { group, content, .. } => {
            format!("SHOUT {name} {}: {}", printable(group), human_content(content))
        }
        Event::Whisper { content, .. } => format!("WHISPER {name}: {}", human_content(content)),
        Event::Exit { .. } | Event::Evasive { .. } | Event::Silent { .. } => {
            format!("{} {name}", event.kind())
        }
        Event::Stop => "STOP".into(),
    }
}

/// Frames as UTF-8 text where they are, else as hex; ` | ` between frames.
pub fn human_content(content: &[zre::Frame]) -> String {
    content
        .iter()
        .map(|frame| match std::str::from_utf8(frame) {
            Ok(text) => printable(text),
            Err(_) => zre::wire::Hex(frame).to_string(),
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Text with control characters escaped, so that one event stays one line
/// and a peer cannot send escape sequences to our terminal.
pub fn printable(text: &str) -> String {
    if !text.contains(char::is_control) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push('\t'),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// The READY line for people.
fn human_ready(node: &Node) -> String {
    format!(
        "READY {} {} {}",
        node.name(),
        ZyreUuid(node.uuid()),
        node.endpoint()
    )
}

/// Where lines go: stdout, or (in the interactive shell) above the prompt
/// through rustyline.
pub enum Sink {
    /// Buffered stdout, written on the caller's thread.
    Stdout(io::BufWriter<io::Stdout>),
    /// Stdout written by a thread of its own (see [`StdoutThread`]).
    Thread(StdoutThread),
    /// Rustyline's printer, which keeps the prompt below the lines.
    Prompt(Box<dyn rustyline::ExternalPrinter + Send>),
}

/// Prints lines, readable or JSON.
pub struct Printer {
    /// Whether events are printed as JSON.
    pub json: bool,
    sink: Sink,
    human: HumanEvents,
}

impl Printer {
    /// To stdout, with a buffer of the default size.
    pub fn stdout(json: bool) -> Printer {
        Printer::with_sink(json, Sink::Stdout(io::BufWriter::new(io::stdout())))
    }

    /// To stdout through a writer thread, which wakes `waker` (the node's)
    /// as it makes room: the loop takes events only while
    /// [`Printer::has_room`].
    pub fn stdout_thread(json: bool, waker: std::sync::Arc<mio::Waker>) -> io::Result<Printer> {
        Ok(Printer::with_sink(
            json,
            Sink::Thread(StdoutThread::start(waker)?),
        ))
    }

    /// Whether the applet may take more events from the node now (false
    /// while a writer thread's reader is behind).
    pub fn has_room(&self) -> bool {
        match &self.sink {
            Sink::Thread(out) => out.has_room(),
            Sink::Stdout(_) | Sink::Prompt(_) => true,
        }
    }

    /// Everything written out, the writer thread ended (at quit).
    pub fn finish(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Thread(out) => out.finish(),
            Sink::Stdout(_) | Sink::Prompt(_) => self.flush(),
        }
    }

    /// To `sink`.
    pub fn with_sink(json: bool, sink: Sink) -> Printer {
        Printer {
            json,
            sink,
            human: HumanEvents::default(),
        }
    }

    /// Writes one line (buffered: call [`Printer::flush`] after a batch).
    pub fn line(&mut self, line: &str) -> io::Result<()> {
        match &mut self.sink {
            Sink::Stdout(out) => {
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")
            }
            Sink::Thread(out) => {
                out.write(line.as_bytes())?;
                out.write(b"\n")
            }
            Sink::Prompt(printer) => printer
                .print(format!("{line}\n"))
                .map_err(|e| io::Error::other(e.to_string())),
        }
    }

    /// Writes bytes as they are, no newline added (zrecat's content).
    pub fn bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.sink {
            Sink::Stdout(out) => out.write_all(bytes),
            Sink::Thread(out) => out.write(bytes),
            Sink::Prompt(printer) => printer
                .print(String::from_utf8_lossy(bytes).into_owned())
                .map_err(|e| io::Error::other(e.to_string())),
        }
    }

    /// One node event: every one in JSON; for people, EVASIVE only with
    /// the SILENT that follows it ([`HumanEvents`]).
    pub fn event(&mut self, event: &Event) -> io::Result<()> {
        if self.json {
            return self.line(&json::event(event));
        }
        for line in self.human.lines(event) {
            self.line(&line)?;
        }
        Ok(())
    }

    /// READY, with our UUID, name and endpoint.
    pub fn ready(&mut self, node: &Node) -> io::Result<()> {
        if self.json {
            self.line(&json::ready(node.uuid(), node.name(), node.endpoint()))
        } else {
            self.line(&human_ready(node))
        }
    }

    /// zgossip_server's READY with the endpoints it listens on; JSON only
    /// (people read the log).
    pub fn gossip_ready(&mut self, endpoints: &[String]) -> io::Result<()> {
        if !self.json {
            return Ok(());
        }
        let ready = json::Object::new()
            .string("event", "READY")
            .strings("endpoints", endpoints.iter().map(String::as_str))
            .finish();
        self.line(&ready)
    }

    /// A tuple zgossip_server delivered or expired: `DELIVER KEY VALUE`,
    /// `EXPIRED KEY`, or their JSON objects.
    pub fn gossip_event(&mut self, event: &GossipEvent) -> io::Result<()> {
        let line = match (event, self.json) {
            (GossipEvent::Delivered { key, value }, false) => format!("DELIVER {key} {value}"),
            (GossipEvent::Expired { key }, false) => format!("EXPIRED {key}"),
            (GossipEvent::Delivered { key, value }, true) => json::Object::new()
                .string("event", "DELIVER")
                .string("key", key)
                .string("value", value)
                .finish(),
            (GossipEvent::Expired { key }, true) => json::Object::new()
                .string("event", "EXPIRED")
                .string("key", key)
                .finish(),
        };
        self.line(&line)
    }

    /// Hands what is buffered to stdout.
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Stdout(out) => out.flush(),
            Sink::Thread(out) => out.flush(),
            Sink::Prompt(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn peer(n: u8) -> (uuid::Uuid, Arc<str>) {
        (uuid::Uuid::from_bytes([n; 16]), Arc::from(format!("p{n}")))
    }

    #[test]
    fn evasive_is_shown_only_when_silent_follows() {
        let (a, a_name) = peer(1);
        let (b, b_name) = peer(2);
        let evasive = |peer, name: &Arc<str>| Event::Evasive {
            peer,
            name: name.clone(),
        };
        let silent = |peer, name: &Arc<str>| Event::Silent {
            peer,
            name: name.clone(),
        };
        let mut human = HumanEvents::default();
        // A healthy idle peer: EVASIVE, then it answers the ping (no event)
        // and speaks again: no EVASIVE line ever.
        assert!(human.lines(&evasive(a, &a_name)).is_empty());
        let shout = Event::Shout {
            peer: a,
            name: a_name.clone(),
            group: Arc::from("g"),
            content: vec![b"hi".into()],
        };
        assert_eq!(human.lines(&shout), ["SHOUT p1 g: hi"]);
        // ... and a SILENT after that silence ended (a later one, under
        // load) is shown as today, without an EVASIVE of its own.
        assert_eq!(human.lines(&silent(a, &a_name)), ["SILENT p1"]);
        // A peer that does not answer: EVASIVE shown with its SILENT.
        assert!(human.lines(&evasive(b, &b_name)).is_empty());
        assert_eq!(human.lines(&silent(b, &b_name)), ["EVASIVE p2", "SILENT p2"]);
        // Once: the next SILENT needs a new EVASIVE.
        assert_eq!(human.lines(&silent(b, &b_name)), ["SILENT p2"]);
        // A peer that goes: nothing is left held.
        assert!(human.lines(&evasive(b, &b_name)).is_empty());
        let exit = Event::Exit {
            peer: b,
            name: b_name.clone(),
        };
        assert_eq!(human.lines(&exit), ["EXIT p2"]);
        assert!(human.evasive.is_empty());
    }
}
