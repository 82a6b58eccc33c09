//! A map ordered by key, that remembers where its last mutable lookup
//! found an entry. The peers (`NodeCore`) and the DEALERs to them (the
//! reactor's links) are each looked up once per message, and a stream of
//! messages goes to or comes from one peer: its entry is found again with
//! one compare of the key, where a `BTreeMap` search costs ~30
//! instructions (BENCHMARKS.md, "The 64 B stream: peers found by a
//! hint"). A table of up to 16 entries that misses the hint is scanned.
//!
//! The entries sit in a vector, each at a slot that a `BTreeMap` from key
//! to slot keeps in the keys' order. A removal moves the last entry into
//! the freed slot (and updates its one key), so inserts, removals and
//! lookups that miss the hint cost what a `BTreeMap`'s do, whatever the
//! keys: a crowd of peers or a crafted UUID makes nothing slower than a
//! B-tree search. Iteration is in the keys' order, as a `BTreeMap`'s.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

/// Up to this many entries, a lookup that misses the hint scans them.
const SCAN_UP_TO: usize = 16;

pub(crate) struct SortedTable<K, V> {
    /// The slot of each key, in the keys' order.
    order: BTreeMap<K, usize>,
    /// The entries, each with its key (for the hint's check), in no order.
    slots: Vec<(K, V)>,
    /// The slot where the last mutable lookup (the per-message one) found
    /// its entry. Only a hint: the key there is compared with the one asked
    /// for, so removals need not reset it.
    last: usize,
}

impl<K: Ord + Copy, V> SortedTable<K, V> {
    pub(crate) fn new() -> Self {
        SortedTable {
            order: BTreeMap::new(),
            slots: Vec::new(),
            last: 0,
        }
    }

    /// The slot of `key`: the hint's, if it holds `key`, else a search.
    #[inline]
    fn slot(&self, key: &K) -> Option<usize> {
        if self.hint_holds(key) {
            return Some(self.last);
        }
        self.find(key)
    }

    #[inline]
    fn hint_holds(&self, key: &K) -> bool {
        self.last < self.slots.len() && self.slots[self.last].0 == *key
    }

    /// A lookup that missed the hint: out of line, so that a hit costs no
    /// call. A small table is scanned, comparing keys for equality (a few
    /// instructions each), where the B-tree's search orders them (for a
    /// UUID, a call to compare bytes each): a node whispering to a few
    /// peers in turn misses the hint every time.
    #[inline(never)]
    fn find(&self, key: &K) -> Option<usize> {
        if self.slots.len() <= SCAN_UP_TO {
            self.slots.iter().position(|(k, _)| k == key)
        } else {
            self.order.get(key).copied()
        }
    }

    #[inline]
    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        let slot = self.slot(key)?;
        self.slots.get(slot).map(|(_, value)| value)
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        if !self.hint_holds(key) {
            self.last = self.find(key)?;
        }
        self.slots.get_mut(self.last).map(|(_, value)| value)
    }

    pub(crate) fn contains_key(&self, key: &K) -> bool {
        self.slot(key).is_some()
    }

    /// Adds or replaces the entry of `key`; returns the value replaced.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.order.entry(key) {
            Entry::Occupied(entry) => {
                let (_, old) = self.slots.get_mut(*entry.get())?;
                Some(std::mem::replace(old, value))
            }
            Entry::Vacant(entry) => {
                entry.insert(self.slots.len());
                self.slots.push((key, value));
                None
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        let slot = self.order.remove(key)?;
        if slot >= self.slots.len() {
            return None;
        }
        let (_, value) = self.slots.swap_remove(slot);
        // The last entry moved into the freed slot.
        if let Some((moved, _)) = self.slots.get(slot) {
            if let Some(at) = self.order.get_mut(moved) {
                *at = slot;
            }
        }
        Some(value)
    }

    pub(crate) fn clear(&mut self) {
        self.order.clear();
        self.slots.clear();
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Every key, in order.
    pub(crate) fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + '_ {
        self.order.keys()
    }

    /// Every value, in the keys' order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> + '_ {
        debug_assert_eq!(
            self.order.len(),
            self.slots.len(),
            "sorted table: order and slots"
        );
        self.order
            .values()
            .filter_map(|&slot| self.slots.get(slot).map(|(_, value)| value))
    }

    /// Calls `f` with every entry, in the keys' order, the value mutable.
    pub(crate) fn for_each_mut(&mut self, mut f: impl FnMut(&K, &mut V)) {
        for &slot in self.order.values() {
            if let Some((key, value)) = self.slots.get_mut(slot) {
                f(key, value);
            }
        }
    }

    /// The entries from `first` on, in the keys' order.
    pub(crate) fn from(&self, first: &K) -> impl Iterator<Item = (&K, &V)> {
        self.order
            .range(first..)
            .filter_map(|(key, &slot)| Some((key, &self.slots.get(slot)?.1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_find_what_was_inserted_whatever_the_hint() {
        let mut table = SortedTable::new();
        for n in [5u32, 1, 9, 3] {
            assert!(table.insert(n, n).is_none());
        }
        table.insert(1000, 100);
        assert_eq!(table.get_mut(&9).copied(), Some(9));
        // The hint now points at 9's slot; a removal moves the last entry
        // into the slot it frees, under the hint or not.
        assert_eq!(table.remove(&1), Some(1));
        assert_eq!(table.get_mut(&9).copied(), Some(9));
        table.insert(0, 0);
        table.insert(2, 2);
        for n in [0, 2, 3, 5, 9] {
            assert_eq!(table.get_mut(&n).copied(), Some(n));
            assert_eq!(table.get(&n).copied(), Some(n));
            assert!(table.contains_key(&n));
        }
        assert_eq!(table.get_mut(&1), None);
        assert_eq!(table.get(&7), None);
        assert!(!table.contains_key(&7));
        assert_eq!(table.insert(5, 50), Some(5), "replaced in place");
        assert_eq!(table.get(&5), Some(&50));
        let keys: Vec<u32> = table.keys().copied().collect();
        assert_eq!(keys, vec![0, 2, 3, 5, 9, 1000], "in order");
        let values: Vec<u32> = table.values().copied().collect();
        assert_eq!(values, vec![0, 2, 3, 50, 9, 100], "in the keys' order");
        let from: Vec<u32> = table.from(&6).map(|(_, v)| *v).collect();
        assert_eq!(from, vec![9, 100], "from the first key at or after");
        assert_eq!(table.len(), 6);
        assert_eq!(table.get(&9), Some(&9));
        assert_eq!(table.remove(&9), Some(9));
        assert_eq!(table.get_mut(&9), None, "a stale hint finds nothing");
        // 9's slot now holds another entry: the hint points at it.
        table.insert(4, 4);
        assert_eq!(table.get(&9), None);
        assert_eq!(table.get(&4), Some(&4));
        assert_eq!(table.remove(&9), None);
        table.clear();
        assert_eq!(table.len(), 0);
        assert_eq!(table.get(&4), None, "nor once emptied");
    }

    /// The table against a `BTreeMap` over a seeded random run of inserts,
    /// removals and lookups, with few keys so that the hint is hit, moved
    /// under and made stale often. The first half grows the table to ~38
    /// entries, the second shrinks it to ~13, so that lookups cross
    /// `SCAN_UP_TO` both ways. Replays with `TABLE_SEED`.
    #[test]
    fn the_table_agrees_with_a_btree_map() {
        let seed = crate::core::test_rng::seed("TABLE_SEED");
        let mut next = crate::core::test_rng::below(seed);
        let mut table = SortedTable::new();
        let mut model = BTreeMap::new();
        let (mut scanned, mut searched) = (0, 0);
        for step in 0..20_000u64 {
            let key = next(64);
            // Inserts against removals: 3 to 2 first, 1 to 4 after.
            let inserts = if step < 10_000 { 3 } else { 1 };
            if table.len() <= SCAN_UP_TO {
                scanned += 1;
            } else {
                searched += 1;
            }
            match next(10) {
                op if op < inserts => assert_eq!(
                    table.insert(key, step),
                    model.insert(key, step),
                    "seed {seed} step {step}"
                ),
                op if op < 5 => assert_eq!(table.remove(&key), model.remove(&key), "seed {seed} step {step}"),
                5..=6 => assert_eq!(table.get(&key), model.get(&key), "seed {seed} step {step}"),
                7..=8 => {
                    if let Some(value) = table.get_mut(&key) {
                        *value += 1;
                    }
                    if let Some(value) = model.get_mut(&key) {
                        *value += 1;
                    }
                }
                _ => {
                    let from = next(64);
                    let ours: Vec<(u64, u64)> = table.from(&from).map(|(k, v)| (*k, *v)).collect();
                    let want: Vec<(u64, u64)> = model.range(from..).map(|(k, v)| (*k, *v)).collect();
                    assert_eq!(ours, want, "seed {seed} step {step}");
                }
            }
            assert_eq!(table.len(), model.len(), "seed {seed} step {step}");
        }
        assert!(
            scanned > 1000 && searched > 1000,
            "both ways: {scanned} and {searched}"
        );
        let keys: Vec<u64> = table.keys().copied().collect();
        assert_eq!(keys, model.keys().copied().collect::<Vec<_>>(), "seed {seed}");
        let values: Vec<u64> = table.values().copied().collect();
        assert_eq!(values, model.values().copied().collect::<Vec<_>>(), "seed {seed}");
        let mut walked = Vec::new();
        table.for_each_mut(|key, value| {
            *value += 1;
            walked.push((*key, *value));
        });
        let want: Vec<(u64, u64)> = model.iter().map(|(k, v)| (*k, v + 1)).collect();
        assert_eq!(walked, want, "seed {seed}: in order, each value once");
    }
}
