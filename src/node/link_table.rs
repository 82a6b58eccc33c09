//! The DEALERs by [`LinkId`]: a vector sorted by id, looked up once per
//! message sent. A stream of messages to one peer finds its link again
//! with one compare (`last`), where a B-tree search costs ~35 instructions
//! (BENCHMARKS.md, "The 64 B stream, per instruction"). Links come and go
//! with peers, rarely next to the messages sent on them, so keeping the
//! vector sorted on insert and remove costs little; no crafted UUID can
//! make a lookup slower than a binary search.

use super::link::LinkId;

pub(super) struct LinkTable<T> {
    entries: Vec<(LinkId, T)>,
    /// Where the last lookup found its link. Only a hint: it is checked
    /// against the id asked for, so inserts and removals that shift the
    /// entries need not reset it.
    last: usize,
}

impl<T> LinkTable<T> {
    pub(super) fn new() -> Self {
        LinkTable {
            entries: Vec::new(),
            last: 0,
        }
    }

    fn position(&self, id: &LinkId) -> Result<usize, usize> {
        self.entries.binary_search_by(|(key, _)| key.cmp(id))
    }

    pub(super) fn get(&self, id: &LinkId) -> Option<&T> {
        let at = self.position(id).ok()?;
        Some(&self.entries[at].1)
    }

    #[inline]
    pub(super) fn get_mut(&mut self, id: &LinkId) -> Option<&mut T> {
        let hit = matches!(self.entries.get(self.last), Some((key, _)) if key == id);
        let at = if hit { self.last } else { self.find(id)? };
        self.entries.get_mut(at).map(|(_, value)| value)
    }

    /// A lookup that missed the hint: out of line, so that a hit costs no
    /// call.
    #[inline(never)]
    fn find(&mut self, id: &LinkId) -> Option<usize> {
        let at = self.position(id).ok()?;
        self.last = at;
        Some(at)
    }

    /// Adds or replaces the entry of `id`; returns the one replaced.
    pub(super) fn insert(&mut self, id: LinkId, value: T) -> Option<T> {
        match self.position(&id) {
            Ok(at) => Some(std::mem::replace(&mut self.entries[at].1, value)),
            Err(at) => {
                self.entries.insert(at, (id, value));
                None
            }
        }
    }

    pub(super) fn remove(&mut self, id: &LinkId) -> Option<T> {
        let at = self.position(id).ok()?;
        Some(self.entries.remove(at).1)
    }

    /// Every id, in order.
    pub(super) fn ids(&self) -> impl Iterator<Item = LinkId> + '_ {
        self.entries.iter().map(|(id, _)| *id)
    }

    /// The entries from `first` on, in order.
    pub(super) fn from(&self, first: &LinkId) -> impl Iterator<Item = (&LinkId, &T)> {
        let start = self.entries.partition_point(|(key, _)| key < first);
        self.entries[start..].iter().map(|(id, value)| (id, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn peer(n: u128) -> LinkId {
        LinkId::Peer(Uuid::from_u128(n))
    }

    #[test]
    fn lookups_find_what_was_inserted_whatever_the_hint() {
        let mut table = LinkTable::new();
        for n in [5, 1, 9, 3] {
            assert!(table.insert(peer(n), n).is_none());
        }
        table.insert(LinkId::Gossip(0), 100);
        assert_eq!(table.get_mut(&peer(9)).copied(), Some(9));
        // The hint now points at 9's place; removals and inserts before it
        // shift the entries under it.
        assert_eq!(table.remove(&peer(1)), Some(1));
        assert_eq!(table.get_mut(&peer(9)).copied(), Some(9));
        table.insert(peer(0), 0);
        table.insert(peer(2), 2);
        for n in [0, 2, 3, 5, 9] {
            assert_eq!(table.get_mut(&peer(n)).copied(), Some(n));
            assert_eq!(table.get(&peer(n)).copied(), Some(n));
        }
        assert_eq!(table.get_mut(&peer(1)), None);
        assert_eq!(table.get_mut(&peer(7)), None);
        assert_eq!(table.insert(peer(5), 50), Some(5), "replaced in place");
        assert_eq!(table.get(&peer(5)), Some(&50));
        let ids: Vec<LinkId> = table.ids().collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "in order");
        let servers: Vec<u128> = table.from(&LinkId::Gossip(0)).map(|(_, v)| *v).collect();
        assert_eq!(servers, vec![100], "every peer orders before every server");
        assert_eq!(table.remove(&peer(9)), Some(9));
        assert_eq!(table.get_mut(&peer(9)), None, "a stale hint finds nothing");
    }
}
