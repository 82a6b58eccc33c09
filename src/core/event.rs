//! What a node tells its application: [`Event`]s, named and shaped as
//! Zyre's `zyre_event` (ENTER, EXIT, JOIN, LEAVE, WHISPER, SHOUT, EVASIVE,
//! SILENT, LEADER, STOP).

use std::fmt;
use std::sync::Arc;
use uuid::Uuid;

pub use super::frame::Frame;

/// A peer's header properties (HELLO's `headers`), `(key, value)` in the
/// order the peer sent them. A list, not a map: a key may repeat on the
/// wire, and the first one wins in lookups.
pub type Headers = Vec<(String, String)>;

/// Something that happened to the node or one of its peers.
///
/// Every variant but `Stop` names the peer by UUID and by the name it gave
/// in HELLO. Names and groups are `Arc<str>` shared with the node's tables,
/// so an event costs no copy of them. Events about one peer come in the
/// order its messages arrived: `Enter` first, `Exit` last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A peer said HELLO and we know our link reaches it (its PING-OK, or
    /// in CURVE mode our link's handshake): it is now known and can be
    /// whispered to. The `Join`s for the groups its HELLO lists follow it.
    Enter {
        /// The peer's UUID.
        peer: Uuid,
        /// The peer's name from HELLO.
        name: Arc<str>,
        /// The peer's header properties from HELLO.
        headers: Headers,
        /// The endpoint the peer's HELLO advertised, `tcp://ip:port`.
        endpoint: String,
    },
    /// A peer the application knew (it had an `Enter`) is gone: it said
    /// GOODBYE, its port-0 beacon was followed by silence, it expired, its
    /// sequence numbers showed lost messages, it could not keep up, or a
    /// message to it was lost (libzmq failed the send). No `Leave`s
    /// precede it: its groups go with it.
    Exit {
        /// The peer's UUID.
        peer: Uuid,
        /// The peer's name from HELLO.
        name: Arc<str>,
    },
    /// A peer joined a group (a JOIN, or a group listed in its HELLO).
    /// Once per peer and group, however often it repeats the JOIN; not at
    /// all for groups beyond [`NodeBuilder::max_peer_groups`](crate::NodeBuilder::max_peer_groups).
    Join {
        /// The peer's UUID.
        peer: Uuid,
        /// The peer's name from HELLO.
        name: Arc<str>,
        /// The group it joined.
        group: Arc<str>,
    },
    /// A peer left a group it had joined.
    Leave {
        /// The peer's UUID.
        peer: Uuid,
        /// The peer's name from HELLO.
        name: Arc<str>,
        /// The group it left.
        group: Arc<str>,
    },
    /// A peer sent us a message (WHISPER).
    Whisper {
        /// The sender's UUID.
        peer: Uuid,
        /// The sender's name from HELLO.
        name: Arc<str>,
        /// The message's frames as sent; RFC 36 allows none.
        content: Vec<Frame>,
    },
    /// A peer sent a message to a group (SHOUT). Not checked against our
    /// own groups: a sender shouts to the peers it believes are members,
    /// and may not have seen our LEAVE yet.
    Shout {
        /// The sender's UUID.
        peer: Uuid,
        /// The sender's name from HELLO.
        name: Arc<str>,
        /// The group it was sent to.
        group: Arc<str>,
        /// The message's frames as sent; RFC 36 allows none.
        content: Vec<Frame>,
    },
    /// A peer has sent nothing for the evasive timeout
    /// ([`NodeBuilder::evasive_timeout`](crate::NodeBuilder::evasive_timeout), 5 s by
    /// default); it is being pinged. Once per silence: any message from
    /// the peer ends it.
    ///
    /// Zyre's meaning (zyre_node.c, `zyre_node_ping_peer`): the event comes
    /// when the silence reaches the timeout, before the ping could be
    /// answered, so an idle but healthy peer gets it too; it is a hint, not
    /// a fault. [`Event::Silent`] is the one that says the ping went
    /// unanswered. (Zyre repeats EVASIVE at every reap, once a second, while
    /// the silence lasts; this library says it once per silence.) The
    /// `zre` tools print it for people only together with SILENT, and keep
    /// every one in `--json`.
    Evasive {
        /// The peer's UUID.
        peer: Uuid,
        /// The peer's name from HELLO.
        name: Arc<str>,
    },
    /// An evasive peer has still sent nothing one check later (at most
    /// 1 s): it did not answer the ping. Once per silence; it gets an
    /// `Exit` at the expired timeout unless it speaks first.
    Silent {
        /// The peer's UUID.
        peer: Uuid,
        /// The peer's name from HELLO.
        name: Arc<str>,
    },
    /// A peer (possibly ourselves) was elected leader of a group: the
    /// election Zyre runs with ELECT and LEADER among a group's members
    /// when one of them contests it ([`NodeBuilder::contest`](crate::NodeBuilder::contest),
    /// Zyre's DRAFT `zyre_set_contest_in_group`). Every member gets it, the
    /// winner included; the contester with the smallest UUID wins, as in
    /// Zyre. A new election follows when the leader leaves the group,
    /// stops or expires (README, "Leader election").
    Leader {
        /// The leader's UUID.
        peer: Uuid,
        /// The leader's name.
        name: Arc<str>,
        /// The group it leads.
        group: Arc<str>,
    },
    /// The node has stopped; no further events follow. Peers still known
    /// get no `Exit`.
    Stop,
}

impl Event {
    /// The bytes of content it carries (SHOUT, WHISPER): what holding it
    /// costs beyond its fixed size.
    pub(crate) fn content_bytes(&self) -> usize {
        match self {
            Event::Whisper { content, .. } | Event::Shout { content, .. } => {
                content.iter().map(|f| f.as_slice().len()).sum()
            }
            _ => 0,
        }
    }

    /// The event type as Zyre names it (`ENTER`, `SHOUT`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Enter { .. } => "ENTER",
            Event::Exit { .. } => "EXIT",
            Event::Join { .. } => "JOIN",
            Event::Leave { .. } => "LEAVE",
            Event::Whisper { .. } => "WHISPER",
            Event::Shout { .. } => "SHOUT",
            Event::Evasive { .. } => "EVASIVE",
            Event::Silent { .. } => "SILENT",
            Event::Leader { .. } => "LEADER",
            Event::Stop => "STOP",
        }
    }

    /// The peer the event is about, if any.
    pub fn peer(&self) -> Option<Uuid> {
        match self {
            Event::Enter { peer, .. }
            | Event::Exit { peer, .. }
            | Event::Join { peer, .. }
            | Event::Leave { peer, .. }
            | Event::Whisper { peer, .. }
            | Event::Shout { peer, .. }
            | Event::Evasive { peer, .. }
            | Event::Silent { peer, .. }
            | Event::Leader { peer, .. } => Some(*peer),
            Event::Stop => None,
        }
    }

    /// The name of the peer the event is about, if any.
    pub fn peer_name(&self) -> Option<&str> {
        match self {
            Event::Enter { name, .. }
            | Event::Exit { name, .. }
            | Event::Join { name, .. }
            | Event::Leave { name, .. }
            | Event::Whisper { name, .. }
            | Event::Shout { name, .. }
            | Event::Evasive { name, .. }
            | Event::Silent { name, .. }
            | Event::Leader { name, .. } => Some(name),
            Event::Stop => None,
        }
    }

    /// The group the event is about, if any.
    pub fn group(&self) -> Option<&str> {
        match self {
            Event::Join { group, .. }
            | Event::Leave { group, .. }
            | Event::Shout { group, .. }
            | Event::Leader { group, .. } => Some(group),
            _ => None,
        }
    }

    /// The message content of a WHISPER or SHOUT.
    pub fn content(&self) -> Option<&[Frame]> {
        match self {
            Event::Whisper { content, .. } | Event::Shout { content, .. } => Some(content),
            _ => None,
        }
    }
}

/// A UUID as Zyre prints it: 32 upper-case hex digits, no dashes (what
/// `zuuid_str` gives, and the key a node publishes over ZGossip).
pub struct ZyreUuid(pub Uuid);

impl fmt::Display for ZyreUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}", crate::wire::Hex(self.0.as_bytes()))
    }
}
