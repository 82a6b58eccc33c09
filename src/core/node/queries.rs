//! What a [`NodeCore`] can be asked: who it is, its peers and groups.

use super::*;

impl NodeCore {
    /// Our UUID.
    pub fn uuid(&self) -> Uuid {
        self.config.uuid
    }

    /// The name we announce in HELLO.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The endpoint we advertise in HELLO, e.g. `tcp://10.0.0.5:41012`.
    pub fn endpoint(&self) -> &str {
        &self.config.endpoint
    }

    /// The value to publish under our UUID on ZGossip servers: our endpoint,
    /// and in CURVE mode `|` and our public key in Z85 (40 characters), as
    /// Zyre's `zyre_node_start` publishes it.
    pub fn gossip_value(&self) -> String {
        crate::wire::curve_key::gossip_value(&self.config.endpoint, self.config.curve_public_key.as_ref())
    }

    /// The configuration the node was made with.
    pub fn config(&self) -> &CoreConfig {
        &self.config
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// CURVE mode: the public key we hold for `peer` (said HELLO or not),
    /// the CURVE server key its DEALER was connected with.
    pub fn peer_curve_key(&self, peer: Uuid) -> Option<[u8; 32]> {
        self.peers.get(&peer).and_then(|p| p.curve_key)
    }

    /// Peers that had their ENTER: they said HELLO and we know our link
    /// reaches them.
    pub fn peers(&self) -> Vec<Uuid> {
        self.peers
            .values()
            .filter(|p| p.entered)
            .map(|p| p.uuid)
            .collect()
    }

    /// The peers that told us they are in `group` (sorted); as
    /// [`NodeCore::peers`], only those the application had the ENTER of.
    pub fn peers_by_group(&self, group: &str) -> Vec<Uuid> {
        self.groups
            .members(group)
            .map(|m| {
                m.iter()
                    .copied()
                    .filter(|u| self.ready_peer(*u).is_some())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The groups we are in (sorted).
    pub fn own_groups(&self) -> Vec<&str> {
        self.groups.own()
    }

    /// Groups that at least one peer the application had the ENTER of is
    /// in.
    pub fn peer_groups(&self) -> Vec<&str> {
        self.groups.peer_groups(|u| self.ready_peer(*u).is_some())
    }

    /// Where our DEALER to `peer` is connected; `None` for an unknown peer.
    pub fn peer_endpoint(&self, peer: Uuid) -> Option<&str> {
        self.ready_peer(peer).map(|p| &*p.endpoint_text)
    }

    /// The name `peer` gave in HELLO; `None` for an unknown peer.
    pub fn peer_name(&self, peer: Uuid) -> Option<&str> {
        self.ready_peer(peer).map(|p| &*p.name)
    }

    /// The headers `peer` gave in HELLO, in its order.
    pub fn peer_headers(&self, peer: Uuid) -> Option<&Headers> {
        self.ready_peer(peer).map(|p| &p.headers)
    }

    /// The value of one of `peer`'s HELLO headers (keys compare exactly).
    pub fn peer_header_value(&self, peer: Uuid, key: &str) -> Option<&str> {
        self.ready_peer(peer).and_then(|p| p.header(key))
    }

    /// Peers with a link that the application never had the ENTER of:
    /// announced ones (a seed dialled, a beacon) that have not said HELLO,
    /// and those whose proof that our link reaches them has not come (a
    /// wrong `--endpoint`). A node that stops closes their links at once:
    /// nothing the application knows of is queued to them, and one that
    /// nobody serves would hold the stop for the linger time.
    pub fn unentered_peers(&self) -> Vec<Uuid> {
        self.peers
            .values()
            .filter(|p| p.linked && !p.entered)
            .map(|p| p.uuid)
            .collect()
    }

    /// Peers known by beacon or gossip whose HELLO has not arrived yet.
    pub fn pending_peer_count(&self) -> usize {
        self.peers.values().filter(|p| !p.ready).count()
    }

    /// Looks a ready peer up by UUID (any format) or by name; a name that
    /// several entered peers share finds none (names need not be unique,
    /// and a whisper by name must not reach the wrong one).
    pub fn find_peer(&self, uuid_or_name: &str) -> Option<Uuid> {
        if let Ok(uuid) = Uuid::try_parse(uuid_or_name) {
            if self.ready_peer(uuid).is_some() {
                return Some(uuid);
            }
        }
        let mut named = self
            .peers
            .values()
            .filter(|p| p.entered && &*p.name == uuid_or_name);
        let first = named.next()?;
        named.next().is_none().then_some(first.uuid)
    }
}
