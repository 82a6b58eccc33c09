//! The one printer of every applet: node events, READY, ZGossip tuples
//! and zrecat's content, for people or as JSON ([`crate::json`]), to
//! stdout or above the shell's prompt.

use crate::json;
use std::io::{self, Write};
use zre::{Event, GossipEvent, Node, ZyreUuid};

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
            Err(_) => json::hex(frame),
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
    /// Buffered stdout.
    Stdout(io::BufWriter<io::Stdout>),
    /// Rustyline's printer, which keeps the prompt below the lines.
    Prompt(Box<dyn rustyline::ExternalPrinter + Send>),
}

/// Prints lines, readable or JSON.
pub struct Printer {
    /// Whether events are printed as JSON.
    pub json: bool,
    sink: Sink,
}

impl Printer {
    /// To stdout, with a buffer of the default size.
    pub fn stdout(json: bool) -> Printer {
        Printer::with_sink(json, Sink::Stdout(io::BufWriter::new(io::stdout())))
    }

    /// To stdout, with a buffer of `capacity` bytes (zrecat's bulk data).
    pub fn stdout_with_capacity(json: bool, capacity: usize) -> Printer {
        Printer::with_sink(
            json,
            Sink::Stdout(io::BufWriter::with_capacity(capacity, io::stdout())),
        )
    }

    /// To `sink`.
    pub fn with_sink(json: bool, sink: Sink) -> Printer {
        Printer { json, sink }
    }

    /// Writes one line (buffered: call [`Printer::flush`] after a batch).
    pub fn line(&mut self, line: &str) -> io::Result<()> {
        match &mut self.sink {
            Sink::Stdout(out) => {
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")
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
            Sink::Prompt(printer) => printer
                .print(String::from_utf8_lossy(bytes).into_owned())
                .map_err(|e| io::Error::other(e.to_string())),
        }
    }

    /// One node event.
    pub fn event(&mut self, event: &Event) -> io::Result<()> {
        if self.json {
            self.line(&json::event(event))
        } else {
            self.line(&human_event(event))
        }
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
            Sink::Prompt(_) => Ok(()),
        }
    }
}
