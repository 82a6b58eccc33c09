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
    /// The groups of each peer that is in one: the other way round, so
    /// that a peer's departure touches its own groups, not every group
    /// known. A flood of announcements evicts a peer per beacon; with a
    /// scan of every group (fake peers bring up to 256 names each) that
    /// cost seconds of CPU under a hostile flood, and the node's genuine
    /// peers expired meanwhile.
    of_peer: BTreeMap<Uuid, BTreeSet<Arc<str>>>,
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

    /// How many groups `peer` is in, as we track them.
    pub(crate) fn count_of(&self, peer: Uuid) -> usize {
        self.of_peer.get(&peer).map_or(0, BTreeSet::len)
    }

    /// Whether `peer` is in `group`.
    pub(crate) fn has_member(&self, group: &str, peer: Uuid) -> bool {
        self.members.get(group).is_some_and(|m| m.contains(&peer))
    }

    /// The groups at least one peer that `counts` is in, in order.
    pub(crate) fn peer_groups(&self, counts: impl Fn(&Uuid) -> bool) -> Vec<&str> {
        self.members
            .iter()
            .filter(|(_, m)| m.iter().any(&counts))
            .map(|(g, _)| &**g)
            .collect()
    }

    /// Puts `peer` in `group`; false if it was there already.
    pub(crate) fn add_member(&mut self, group: Arc<str>, peer: Uuid) -> bool {
        if !self.members.entry(group.clone()).or_default().insert(peer) {
            return false;
        }
        self.of_peer.entry(peer).or_default().insert(group);
        true
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
        if let Some(groups) = self.of_peer.get_mut(&peer) {
            groups.remove(group);
            if groups.is_empty() {
                self.of_peer.remove(&peer);
            }
        }
        true
    }

    /// Takes a departed peer out of every group; returns those of ours it
    /// was in (their elections must know). Groups nobody is left in go
    /// too: names a departed (or fake) peer brought must not pile up.
    pub(crate) fn remove_peer(&mut self, peer: Uuid) -> Vec<Arc<str>> {
        let mut ours = Vec::new();
        for group in self.of_peer.remove(&peer).unwrap_or_default() {
            if let Some(members) = self.members.get_mut(&group) {
                members.remove(&peer);
                if members.is_empty() {
                    self.members.remove(&group);
                }
            }
            if self.own.contains(&group) {
                ours.push(group);
            }
        }
        ours
    }

    /// Forgets every peer's groups (we stopped); ours stay.
    pub(crate) fn clear_peers(&mut self) {
        self.members.clear();
        self.of_peer.clear();
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
        assert_eq!(groups.peer_groups(|_| true), ["chat"]);
        groups.remove_peer(b);
        assert!(groups.peer_groups(|_| true).is_empty());
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

    /// The table against a plain model (a set of (group, peer) pairs) over
    /// a seeded random run of joins, leaves and departures: the index by
    /// peer never disagrees with the members of each group, a departed
    /// peer is in no group, and its departure names exactly the groups of
    /// ours it was in. Replays with `GROUPS_SEED`.
    #[test]
    fn the_index_by_peer_agrees_with_the_members_of_each_group() {
        let seed = crate::core::test_rng::seed("GROUPS_SEED");
        let mut next = crate::core::test_rng::below(seed);
        let mut groups = Groups::default();
        let mut model: BTreeSet<(String, u128)> = BTreeSet::new();
        for g in 0..3 {
            groups.join(&format!("g{g}"));
        }
        for step in 0..5_000 {
            let (group, peer) = (format!("g{}", next(12)), next(8) as u128);
            match next(10) {
                0..=4 => {
                    let added = groups.add_member(groups.intern(&group), Uuid::from_u128(peer));
                    assert_eq!(added, model.insert((group, peer)), "seed {seed} step {step}");
                }
                5..=7 => {
                    let removed = groups.remove_member(&group, Uuid::from_u128(peer));
                    assert_eq!(removed, model.remove(&(group, peer)), "seed {seed} step {step}");
                }
                _ => {
                    let ours: Vec<String> = groups
                        .remove_peer(Uuid::from_u128(peer))
                        .iter()
                        .map(|g| g.to_string())
                        .collect();
                    let was_in: Vec<String> = model
                        .iter()
                        .filter(|(g, p)| *p == peer && groups.own.contains(g.as_str()))
                        .map(|(g, _)| g.clone())
                        .collect();
                    assert_eq!(ours, was_in, "seed {seed} step {step}");
                    model.retain(|(_, p)| *p != peer);
                }
            }
            for g in 0..12 {
                let name = format!("g{g}");
                let want: BTreeSet<Uuid> = model
                    .iter()
                    .filter(|(m, _)| *m == name)
                    .map(|(_, p)| Uuid::from_u128(*p))
                    .collect();
                let got = groups.members(&name).cloned().unwrap_or_default();
                assert_eq!(got, want, "seed {seed} step {step}: members of {name}");
            }
            let indexed: usize = groups.of_peer.values().map(BTreeSet::len).sum();
            assert_eq!(indexed, model.len(), "seed {seed} step {step}: index by peer");
            assert!(groups.of_peer.values().all(|g| !g.is_empty()), "seed {seed}");
        }
    }

    #[test]
    fn group_names_are_1_to_255_bytes() {
        assert!(check_name("g").is_ok());
        assert!(check_name(&"g".repeat(255)).is_ok());
        assert!(check_name("").is_err());
        assert!(check_name(&"g".repeat(256)).is_err());
    }
}
