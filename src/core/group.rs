//! The group table (RFC 36 §3, "Group Messaging"; Zyre's `zyre_group.c`):
//! the groups we are in, and which peers are in which group as they told
//! us by HELLO, JOIN and LEAVE. A group exists while someone is in it; a
//! group's name is stored once and shared (`Arc<str>`) by the table and by
//! the events that name it.
//!
//! Only the table: the status counters, the per-peer group limit and the
//! events are the node's ([`super::NodeCore`]).

use super::command_error::CommandError;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use uuid::Uuid;

/// Our groups and our peers' groups.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    /// The groups we joined, in the order HELLO lists them.
    own: BTreeSet<Arc<str>>,
    /// The members of each group that at least one peer is in.
    members: BTreeMap<Arc<str>, BTreeSet<Uuid>>,
}

impl Groups {
    /// The shared name of a group, so that events and tables do not
    /// allocate a new string per message.
    pub(crate) fn intern(&self, group: &str) -> Arc<str> {
        self.members
            .get_key_value(group)
            .map(|(g, _)| g.clone())
            .or_else(|| self.own.get(group).cloned())
            .unwrap_or_else(|| Arc::from(group))
    }

    // ----- our own groups --------------------------------------------------

    /// Joins `group`; its shared name, or `None` if we were in it already.
    pub(crate) fn join(&mut self, group: &str) -> Option<Arc<str>> {
        if self.own.contains(group) {
            return None;
        }
        let group = self.intern(group);
        self.own.insert(group.clone());
        Some(group)
    }

    /// Leaves `group`; its name, or `None` if we were not in it.
    pub(crate) fn leave(&mut self, group: &str) -> Option<Arc<str>> {
        self.own.take(group)
    }

    /// The groups we are in, in order.
    pub(crate) fn own(&self) -> Vec<&str> {
        self.own.iter().map(|g| &**g).collect()
    }

    // ----- our peers' groups -----------------------------------------------

    /// The peers in `group`, if any peer is.
    pub(crate) fn members(&self, group: &str) -> Option<&BTreeSet<Uuid>> {
        self.members.get(group)
    }

    /// Whether `peer` is in `group`.
    pub(crate) fn has_member(&self, group: &str, peer: Uuid) -> bool {
        self.members.get(group).is_some_and(|m| m.contains(&peer))
    }

    /// The groups at least one peer is in, in order.
    pub(crate) fn peer_groups(&self) -> Vec<&str> {
        self.members
            .iter()
            .filter(|(_, m)| !m.is_empty())
            .map(|(g, _)| &**g)
            .collect()
    }

    /// Puts `peer` in `group`; false if it was there already.
    pub(crate) fn add_member(&mut self, group: Arc<str>, peer: Uuid) -> bool {
        self.members.entry(group).or_default().insert(peer)
    }

    /// Takes `peer` out of `group`; false if it was not in it. A group
    /// nobody is left in goes.
    pub(crate) fn remove_member(&mut self, group: &str, peer: Uuid) -> bool {
        let Some(members) = self.members.get_mut(group) else {
            return false;
        };
        if !members.remove(&peer) {
            return false;
        }
        if members.is_empty() {
            self.members.remove(group);
        }
        true
    }

    /// Takes a departed peer out of every group; returns those of ours it
    /// was in (their elections must know). Groups nobody is left in go
    /// too: names a departed (or fake) peer brought must not pile up.
    pub(crate) fn remove_peer(&mut self, peer: Uuid) -> Vec<Arc<str>> {
        let mut ours = Vec::new();
        self.members.retain(|group, members| {
            if members.remove(&peer) && self.own.contains(group) {
                ours.push(group.clone());
            }
            !members.is_empty()
        });
        ours
    }

    /// Forgets every peer's groups (we stopped); ours stay.
    pub(crate) fn clear_peers(&mut self) {
        self.members.clear();
    }
}

/// A group name must be 1 to 255 bytes: it travels as a ZRE `string`.
pub(crate) fn check_name(group: &str) -> Result<(), CommandError> {
    if group.is_empty() || group.len() > u8::MAX as usize {
        return Err(CommandError::InvalidGroup(group.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_goes_when_its_last_member_leaves() {
        let mut groups = Groups::default();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert!(groups.add_member(groups.intern("chat"), a));
        assert!(!groups.add_member(groups.intern("chat"), a));
        assert!(groups.add_member(groups.intern("chat"), b));
        assert!(groups.remove_member("chat", a));
        assert!(!groups.remove_member("chat", a));
        assert_eq!(groups.peer_groups(), ["chat"]);
        groups.remove_peer(b);
        assert!(groups.peer_groups().is_empty());
        assert!(groups.members("chat").is_none());
    }

    #[test]
    fn a_name_is_shared_by_our_table_and_our_peers() {
        let mut groups = Groups::default();
        let ours = groups.join("chat").expect("not in it yet");
        assert!(groups.join("chat").is_none());
        let theirs = groups.intern("chat");
        assert!(Arc::ptr_eq(&ours, &theirs));
        groups.add_member(theirs, Uuid::from_u128(1));
        groups.clear_peers();
        assert_eq!(groups.own(), ["chat"]);
        assert_eq!(groups.leave("chat").as_deref(), Some("chat"));
        assert!(groups.own().is_empty());
    }

    #[test]
    fn group_names_are_1_to_255_bytes() {
        assert!(check_name("g").is_ok());
        assert!(check_name(&"g".repeat(255)).is_ok());
        assert!(check_name("").is_err());
        assert!(check_name(&"g".repeat(256)).is_err());
    }
}
