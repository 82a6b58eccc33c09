//! What a [`Node`] can be asked: who it is, its peers and groups, and
//! what its links hold. Each answer is the core's or the link table's.

use super::*;

impl Node {
    /// Our UUID.
    pub fn uuid(&self) -> Uuid {
        self.core.uuid()
    }

    /// The name we announce.
    pub fn name(&self) -> &str {
        self.core.name()
    }

    /// Our inbox endpoint as advertised to peers.
    pub fn endpoint(&self) -> &str {
        self.core.endpoint()
    }

    /// The largest frame we accept, and send, in bytes
    /// ([`NodeBuilder::max_message_size`](crate::NodeBuilder::max_message_size)).
    pub fn max_message_size(&self) -> usize {
        self.core.config().max_message_size
    }

    /// The interface the node beacons on and binds its inbox to.
    pub fn interface(&self) -> &Interface {
        &self.interface
    }

    /// Peers that had their ENTER: they said HELLO and we know our link
    /// reaches them.
    pub fn peers(&self) -> Vec<Uuid> {
        self.core.peers()
    }

    /// Peers known by beacon or gossip whose HELLO has not arrived yet.
    /// With [`Node::peers`] and the peers whose ENTER waits for the proof
    /// that our link reaches them (`stats().core.peers_unproven`), the
    /// whole peer table (at most `max_peers`).
    pub fn pending_peer_count(&self) -> usize {
        self.core.pending_peer_count()
    }

    /// The peers in `group`, as they told us (sorted).
    pub fn peers_by_group(&self, group: &str) -> Vec<Uuid> {
        self.core.peers_by_group(group)
    }

    /// The groups we are in (sorted).
    pub fn own_groups(&self) -> Vec<&str> {
        self.core.own_groups()
    }

    /// Groups that at least one peer is in.
    pub fn peer_groups(&self) -> Vec<&str> {
        self.core.peer_groups()
    }

    /// A ready peer's inbox endpoint, `tcp://IP:PORT`, as its HELLO gave
    /// it (Zyre's `zyre_peer_address`).
    pub fn peer_endpoint(&self, peer: Uuid) -> Option<&str> {
        self.core.peer_endpoint(peer)
    }

    /// The name `peer` gave in HELLO; `None` for an unknown peer.
    pub fn peer_name(&self, peer: Uuid) -> Option<&str> {
        self.core.peer_name(peer)
    }

    /// The headers `peer` gave in HELLO.
    pub fn peer_headers(&self, peer: Uuid) -> Option<&Headers> {
        self.core.peer_headers(peer)
    }

    /// The value of one of `peer`'s HELLO headers.
    pub fn peer_header_value(&self, peer: Uuid, key: &str) -> Option<&str> {
        self.core.peer_header_value(peer, key)
    }

    /// A ready peer by UUID (any common format) or by name. Names need not
    /// be unique: a name that several entered peers share finds none
    /// (`None`), so look those up by UUID ([`Node::peers`] and
    /// [`Node::peer_name`] list them).
    pub fn find_peer(&self, uuid_or_name: &str) -> Option<Uuid> {
        self.core.find_peer(uuid_or_name)
    }

    /// Gives the content of a received WHISPER or SHOUT back once the
    /// application is done with it: the next messages are received into
    /// these buffers instead of new allocations. Optional; a node keeps at
    /// most a few hundred buffers (1 MiB) and drops the rest. A large
    /// frame still in libzmq's buffer is freed when the next one comes back
    /// (up to 1 MiB is held so), which spares the heap a trim and a refill
    /// per batch.
    #[inline]
    pub fn recycle(&mut self, content: Vec<Frame>) {
        self.receive_pool.keep(content);
    }

    /// Messages we hold because libzmq's queues were full, over all peers.
    /// An application producing faster than the network drains (a file
    /// piped into zrecat) waits while this is high instead of growing it.
    pub fn backlog(&self) -> usize {
        self.links.backlog()
    }

    /// The node's counters: peers ready, pending and refused, PINGs sent,
    /// probes, EXITs by cause, announcements dropped, descriptors in use,
    /// backlog. Cheap enough to ask once a second (it counts the peer
    /// table and, on Linux, the process's open descriptors).
    pub fn stats(&self) -> crate::NodeStats {
        crate::NodeStats {
            core: self.core.counters(),
            backlog: self.backlog(),
            fds_in_use: crate::node::fd_budget::fds_in_use(),
            inbound_shed: self.inbox_watch.shed(),
        }
    }
}
