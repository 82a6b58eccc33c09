//! The SHOUT header (RFC 36, `zre_msg.xml`: SHOUT = sequence + group) of
//! the group shouted to last, with sequence number 0: a node mostly
//! shouts to one group over and over, and emitting the header each time
//! cost ~180 instructions a SHOUT (BENCHMARKS.md, "SHOUT: the header kept
//! and small content lent"). Each member's copy is stamped with its own
//! sequence number ([`HeaderFrame::restamp`]).

use super::emit_header;
use crate::core::action::HeaderFrame;
use crate::wire::Body;
use log::warn;

#[derive(Debug, Default)]
pub(super) struct ShoutTemplate {
    group: String,
    header: Option<HeaderFrame>,
}

impl ShoutTemplate {
    /// The header for `group` (already checked: 1 to 255 bytes), emitted
    /// into `buffer` unless it is the group of the last call; `None` only
    /// if it cannot be emitted, which the name check rules out (logged).
    pub(super) fn for_group(&mut self, group: &str, buffer: &mut Vec<u8>) -> Option<&HeaderFrame> {
        if self.header.is_none() || self.group != group {
            self.header = None;
            match emit_header(0, &Body::Shout { group }, buffer) {
                Ok(header) => {
                    self.group.clear();
                    self.group.push_str(group);
                    self.header = Some(header);
                }
                Err(err) => {
                    warn!("cannot emit SHOUT to {group}: {err}");
                    return None;
                }
            }
        }
        self.header.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Header, ZreMessage};

    fn group_of(header: &HeaderFrame) -> String {
        let message = ZreMessage::parse_body(Header::parse(header).unwrap(), header).unwrap();
        match message.body {
            Body::Shout { group } => group.to_owned(),
            other => panic!("not a SHOUT: {other:?}"),
        }
    }

    #[test]
    fn the_header_follows_the_group_asked_for() {
        let mut template = ShoutTemplate::default();
        let mut buffer = Vec::new();
        for group in ["chat", "chat", "chatter", "c", "chat", "\u{e9}t\u{e9}"] {
            let header = template.for_group(group, &mut buffer).expect("a header").clone();
            assert_eq!(group_of(&header), group);
            assert_eq!(Header::parse(&header).unwrap().sequence, 0);
        }
    }
}
