//! Who may hold an endpoint: the announcements a node chose not to act on.
//!
//! Beacons and gossip tuples only announce a peer (a UUID at an endpoint);
//! a HELLO confirms one. When an announcement names a UUID at an endpoint
//! where another peer already is, or a peer that was only announced turns
//! out to answer with another UUID, the loser is remembered here so that
//! the same stale announcement (a gossip server keeps a dead peer's tuple
//! until its TTL runs out, and re-sends it) neither evicts the live peer
//! nor makes us connect again. Without this two UUIDs claiming one
//! endpoint evict each other in turn for ever (the kind of zyre#542).
//!
//! An entry lives while the peer that holds the endpoint does: when the
//! holder leaves, every announcement it had overruled may be tried again.

use super::endpoint::Endpoint;
use std::collections::{BTreeMap, VecDeque};
use uuid::Uuid;

/// Why a UUID was set aside.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Loss {
    /// It was announced at `endpoint`, where `holder` is (or answered).
    /// Another announcement of it at another endpoint may be tried.
    Stale { endpoint: Endpoint },
    /// It had said HELLO and `holder`'s HELLO for its endpoint displaced
    /// it (a restart under a new UUID), or its HELLO claimed the endpoint
    /// `holder` holds: both alive would mean two peers with one endpoint
    /// (a misconfigured `--endpoint`). Nothing it announces is acted on,
    /// and its HELLO for that endpoint is refused, while the holder lives.
    Beaten,
}

#[derive(Debug, Clone)]
struct Entry {
    holder: Uuid,
    loss: Loss,
}

/// UUIDs set aside because another peer holds the endpoint they named,
/// bounded so that a flood of fake announcements cannot grow it.
#[derive(Debug)]
pub(crate) struct Overruled {
    set_aside: BTreeMap<Uuid, Entry>,
    capacity: usize,
    /// Endpoints two UUIDs said HELLO for, oldest first (bounded like
    /// `set_aside`): a peer there is ENTERed only when it answers a PING
    /// (see `node/contest.rs`).
    disputed: VecDeque<Endpoint>,
}

impl Overruled {
    /// A table of at most `capacity` entries (the oldest-keyed make room).
    pub(super) fn new(capacity: usize) -> Overruled {
        Overruled {
            set_aside: BTreeMap::new(),
            capacity: capacity.max(1),
            disputed: VecDeque::new(),
        }
    }

    /// `uuid`, announced at `endpoint`, lost it to `holder`.
    pub(super) fn stale(&mut self, uuid: Uuid, endpoint: &Endpoint, holder: Uuid) {
        self.insert(
            uuid,
            Entry {
                holder,
                loss: Loss::Stale {
                    endpoint: endpoint.clone(),
                },
            },
        );
    }

    /// `uuid` had said HELLO for the endpoint `holder` said HELLO for since.
    pub(super) fn beaten(&mut self, uuid: Uuid, holder: Uuid) {
        self.insert(
            uuid,
            Entry {
                holder,
                loss: Loss::Beaten,
            },
        );
    }

    fn insert(&mut self, uuid: Uuid, entry: Entry) {
        if self.set_aside.len() >= self.capacity && !self.set_aside.contains_key(&uuid) {
            self.set_aside.pop_first();
        }
        self.set_aside.insert(uuid, entry);
    }

    /// The peer that overruled an announcement of `uuid` at `endpoint`, if
    /// the announcement is one we already set aside.
    pub(super) fn overruled_by(&self, uuid: Uuid, endpoint: &Endpoint) -> Option<Uuid> {
        let entry = self.set_aside.get(&uuid)?;
        match &entry.loss {
            Loss::Stale { endpoint: stale } if stale != endpoint => None,
            _ => Some(entry.holder),
        }
    }

    /// Whether `uuid`'s HELLO lost the endpoint to `holder`'s before: a
    /// new claim from it is two live peers at one endpoint, not a restart.
    pub(super) fn beaten_by(&self, uuid: Uuid, holder: Uuid) -> bool {
        self.set_aside
            .get(&uuid)
            .is_some_and(|e| e.holder == holder && e.loss == Loss::Beaten)
    }

    /// Whether `uuid` took part in a claim of one endpoint by two live
    /// peers (it lost one, or holds one another lost).
    pub(super) fn in_conflict(&self, uuid: Uuid) -> bool {
        self.set_aside
            .iter()
            .any(|(loser, e)| e.loss == Loss::Beaten && (*loser == uuid || e.holder == uuid))
    }

    /// Two UUIDs said HELLO for `endpoint`: it stays disputed (the oldest
    /// dispute makes room when the table is full).
    pub(super) fn dispute(&mut self, endpoint: &Endpoint) {
        if self.is_disputed(endpoint) {
            return;
        }
        if self.disputed.len() >= self.capacity {
            self.disputed.pop_front();
        }
        self.disputed.push_back(endpoint.clone());
    }

    /// Whether two UUIDs said HELLO for `endpoint`.
    pub(super) fn is_disputed(&self, endpoint: &Endpoint) -> bool {
        self.disputed.iter().any(|e| e == endpoint)
    }

    /// `uuid` is a peer now (its own HELLO was accepted).
    pub(super) fn forget(&mut self, uuid: Uuid) {
        self.set_aside.remove(&uuid);
    }

    /// `holder` left: what it overruled may be tried again.
    pub(super) fn holder_left(&mut self, holder: Uuid) {
        self.set_aside.retain(|_, entry| entry.holder != holder);
    }

    /// How many UUIDs are set aside.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.set_aside.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// `tcp://10.0.0.{host}:{port}`.
    fn at(host: u8, port: u16) -> Endpoint {
        Endpoint::from_ip([10, 0, 0, host].into(), port, None)
    }

    #[test]
    fn a_stale_announcement_is_overruled_at_its_endpoint_only() {
        let mut claims = Overruled::new(8);
        claims.stale(u(1), &at(1, 5), u(2));
        assert_eq!(claims.overruled_by(u(1), &at(1, 5)), Some(u(2)));
        assert_eq!(claims.overruled_by(u(1), &at(1, 6)), None);
        assert!(!claims.beaten_by(u(1), u(2)), "an announcement lost no HELLO");
        claims.holder_left(u(2));
        assert_eq!(claims.overruled_by(u(1), &at(1, 5)), None);
    }

    #[test]
    fn a_dispute_stays_and_the_oldest_makes_room() {
        let mut claims = Overruled::new(2);
        claims.dispute(&at(1, 5));
        claims.dispute(&at(1, 5));
        claims.dispute(&at(2, 5));
        assert!(claims.is_disputed(&at(1, 5)));
        claims.dispute(&at(3, 5));
        assert!(!claims.is_disputed(&at(1, 5)));
        assert!(claims.is_disputed(&at(2, 5)) && claims.is_disputed(&at(3, 5)));
    }

    #[test]
    fn a_beaten_peer_is_overruled_at_every_endpoint_until_forgotten() {
        let mut claims = Overruled::new(8);
        claims.beaten(u(1), u(2));
        assert_eq!(claims.overruled_by(u(1), &at(9, 1)), Some(u(2)));
        assert!(claims.beaten_by(u(1), u(2)));
        claims.forget(u(1));
        assert_eq!(claims.len(), 0);
    }

    #[test]
    fn the_table_is_bounded() {
        let mut claims = Overruled::new(4);
        for n in 0..100 {
            claims.stale(u(n), &at(1, 5), u(1000));
        }
        assert_eq!(claims.len(), 4);
    }
}
