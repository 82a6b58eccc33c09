//! The `--json` output: one object per line, written by hand (no serde) so
//! that the field order is fixed and the escaping is exactly JSON's.

use std::fmt::Write as _;
use zre::{Event, Frame, ZyreUuid};

/// Builds one JSON object, keys in the order they are added.
pub struct Object {
    text: String,
}

impl Object {
    pub fn new() -> Object {
        Object {
            text: String::from("{"),
        }
    }

    fn key(&mut self, key: &str) {
        if self.text.len() > 1 {
            self.text.push(',');
        }
        push_string(&mut self.text, key);
        self.text.push(':');
    }

    pub fn string(mut self, key: &str, value: &str) -> Object {
        self.key(key);
        push_string(&mut self.text, value);
        self
    }

    pub fn strings<'a>(mut self, key: &str, values: impl IntoIterator<Item = &'a str>) -> Object {
        self.key(key);
        self.text.push('[');
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push(',');
            }
            push_string(&mut self.text, value);
        }
        self.text.push(']');
        self
    }

    /// An object of string values, e.g. a peer's headers.
    pub fn map<'a>(mut self, key: &str, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Object {
        self.key(key);
        self.text.push('{');
        for (i, (k, v)) in pairs.into_iter().enumerate() {
            if i > 0 {
                self.text.push(',');
            }
            push_string(&mut self.text, k);
            self.text.push(':');
            push_string(&mut self.text, v);
        }
        self.text.push('}');
        self
    }

    /// Message frames: a UTF-8 frame as a string, any other as `{"hex":…}`.
    pub fn frames(mut self, key: &str, frames: &[Frame]) -> Object {
        self.key(key);
        self.text.push('[');
        for (i, frame) in frames.iter().enumerate() {
            if i > 0 {
                self.text.push(',');
            }
            match std::str::from_utf8(frame) {
                Ok(text) => push_string(&mut self.text, text),
                Err(_) => {
                    self.text.push_str("{\"hex\":\"");
                    let _ = write!(self.text, "{}", zre::wire::Hex(frame));
                    self.text.push_str("\"}");
                }
            }
        }
        self.text.push(']');
        self
    }

    pub fn finish(mut self) -> String {
        self.text.push('}');
        self.text
    }
}

/// Appends `value` as a JSON string literal.
pub fn push_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            // U+2028 and U+2029 are valid JSON but break JavaScript parsers
            // that read a line as code.
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `{"event":"READY",...}`: printed once, when the node is up (and, for
/// the applets that join a group at start, after joining it).
pub fn ready(uuid: uuid::Uuid, name: &str, endpoint: &str) -> String {
    Object::new()
        .string("event", "READY")
        .string("peer", &ZyreUuid(uuid).to_string())
        .string("name", name)
        .string("endpoint", endpoint)
        .finish()
}

/// One node event as a JSON object.
pub fn event(event: &Event) -> String {
    let mut object = Object::new().string("event", event.kind());
    if let (Some(peer), Some(name)) = (event.peer(), event.peer_name()) {
        object = object
            .string("peer", &ZyreUuid(peer).to_string())
            .string("name", name);
    }
    match event {
        Event::Enter {
            headers, endpoint, ..
        } => object
            .string("endpoint", endpoint)
            .map("headers", headers.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .finish(),
        Event::Join { group, .. } | Event::Leave { group, .. } | Event::Leader { group, .. } => {
            object.string("group", group).finish()
        }
        Event::Shout { group, content, .. } => {
            object.string("group", group).frames("content", content).finish()
        }
        Event::Whisper { content, .. } => object.frames("content", content).finish(),
        Event::Exit { .. } | Event::Evasive { .. } | Event::Silent { .. } | Event::Stop => object.finish(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        push_string(&mut out, "a\"b\\c\nd\u{1}\u{7f}é\u{2028}");
        assert_eq!(out, r#""a\"b\\c\nd\u0001\u007fé\u2028""#);
    }

    #[test]
    fn events_have_the_documented_shape() {
        let peer = uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        let shout = Event::Shout {
            peer,
            name: Arc::from("alpha"),
            group: Arc::from("chat"),
            content: vec![b"hi there".into(), vec![0xff, 0x0a].into()],
        };
        assert_eq!(
            event(&shout),
            r#"{"event":"SHOUT","peer":"0123456789ABCDEF0123456789ABCDEF","name":"alpha","group":"chat","content":["hi there",{"hex":"ff0a"}]}"#
        );
        let enter = Event::Enter {
            peer,
            name: Arc::from("a"),
            headers: vec![("X-K".into(), "v".into())],
            endpoint: "tcp://127.0.0.1:1".into(),
        };
        assert_eq!(
            event(&enter),
            r#"{"event":"ENTER","peer":"0123456789ABCDEF0123456789ABCDEF","name":"a","endpoint":"tcp://127.0.0.1:1","headers":{"X-K":"v"}}"#
        );
        assert_eq!(event(&Event::Stop), r#"{"event":"STOP"}"#);
    }
}
