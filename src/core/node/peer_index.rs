//! What the admission of an announcement asks of the whole peer table,
//! kept beside it: how many peers said HELLO, how many announced ones have
//! a link, and which peers are at an endpoint. Each was a walk of every
//! peer, once or twice per announcement: under a flood of new UUIDs, with
//! a table of 1 016, three quarters of the core's time went into those
//! walks (callgrind, `benches/flood.rs`). The walks scale with the table;
//! these lookups do not.
//!
//! Every change of a peer's `ready` or `linked` flag goes through
//! [`PeerIndex::set_ready`] or [`PeerIndex::set_linked`], and every
//! insertion into or removal from the table through [`PeerIndex::insert`]
//! and [`PeerIndex::remove`]. Debug builds check each lookup against the
//! walk it replaces (the cost the release build no longer pays), so every
//! simulation and live test checks those calls too.

use super::*;
use std::collections::BTreeSet;

#[derive(Debug, Default)]
pub(super) struct PeerIndex {
    ready: usize,
    linked_pending: usize,
    /// Each peer by its endpoint: ordered, so that the first peer at an
    /// endpoint is the one with the smallest UUID, as a walk of the table
    /// (a `BTreeMap` by UUID) found it. Two peers may share an endpoint
    /// while a contest runs (see contest.rs).
    by_endpoint: BTreeSet<(Endpoint, Uuid)>,
}

impl PeerIndex {
    /// Sets `peer.ready`, keeping the counts.
    pub(super) fn set_ready(&mut self, peer: &mut Peer, ready: bool) {
        self.uncount(peer);
        peer.ready = ready;
        self.count(peer);
    }

    /// Sets `peer.linked`, keeping the counts.
    pub(super) fn set_linked(&mut self, peer: &mut Peer, linked: bool) {
        self.uncount(peer);
        peer.linked = linked;
        self.count(peer);
    }

    /// Counts a peer in: after its flags changed, or as it joins.
    fn count(&mut self, peer: &Peer) {
        self.ready += usize::from(peer.ready);
        self.linked_pending += usize::from(peer.linked && !peer.ready);
    }

    /// Counts a peer out: before its flags change, or as it leaves.
    fn uncount(&mut self, peer: &Peer) {
        self.ready -= usize::from(peer.ready);
        self.linked_pending -= usize::from(peer.linked && !peer.ready);
    }

    pub(super) fn insert(&mut self, peer: &Peer) {
        self.count(peer);
        self.by_endpoint.insert((peer.endpoint.clone(), peer.uuid));
    }

    pub(super) fn remove(&mut self, peer: &Peer) {
        self.uncount(peer);
        self.by_endpoint.remove(&(peer.endpoint.clone(), peer.uuid));
    }

    pub(super) fn len(&self) -> usize {
        self.by_endpoint.len()
    }

    pub(super) fn clear(&mut self) {
        *self = PeerIndex::default();
    }

    /// Peers that said HELLO.
    pub(super) fn ready(&self) -> usize {
        self.ready
    }

    /// Peers without HELLO that have a link.
    pub(super) fn linked_pending(&self) -> usize {
        self.linked_pending
    }

    /// The peers at `endpoint`, smallest UUID first.
    pub(super) fn at<'a>(&'a self, endpoint: &'a Endpoint) -> impl Iterator<Item = Uuid> + 'a {
        self.by_endpoint
            .range((endpoint.clone(), Uuid::nil())..)
            .take_while(move |(at, _)| at == endpoint)
            .map(|&(_, uuid)| uuid)
    }
}

impl NodeCore {
    /// Peers that said HELLO.
    pub(super) fn ready_count(&self) -> usize {
        debug_assert_eq!(
            self.peer_index.ready(),
            self.peers.values().filter(|p| p.ready).count(),
            "peer index: ready"
        );
        self.peer_index.ready()
    }

    /// Peers without HELLO that have a link (file descriptors).
    pub(super) fn linked_pending(&self) -> usize {
        debug_assert_eq!(
            self.peer_index.linked_pending(),
            self.peers.values().filter(|p| p.linked && !p.ready).count(),
            "peer index: linked without HELLO"
        );
        self.peer_index.linked_pending()
    }

    /// The first peer (smallest UUID) at `endpoint`.
    pub(super) fn peer_at(&self, endpoint: &Endpoint) -> Option<&Peer> {
        let found = self
            .peer_index
            .at(endpoint)
            .find_map(|uuid| self.peers.get(&uuid));
        debug_assert_eq!(
            found.map(|p| p.uuid),
            self.peers
                .values()
                .find(|p| p.endpoint == *endpoint)
                .map(|p| p.uuid),
            "peer index: at {endpoint}"
        );
        debug_assert_eq!(self.peer_index.len(), self.peers.len(), "peer index: size");
        found
    }
}
