//! What a [`NodeCore`](super::NodeCore) is told when it is made: who it
//! is, where it can be reached, and its timers and limits.

use super::event::Headers;
use super::subnet::Subnet;
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct CoreConfig {
    pub uuid: Uuid,
    pub name: String,
    pub headers: Headers,
    /// The endpoint we advertise in HELLO, e.g. `tcp://10.0.0.5:41012`.
    pub endpoint: String,
    /// Our inbox port, carried in beacons.
    pub port: u16,
    /// Send UDP beacons (false in gossip-only mode).
    pub beacons: bool,
    pub beacon_interval: Duration,
    pub evasive: Duration,
    pub expired: Duration,
    pub max_peers: usize,
    /// Groups one peer may be in, as far as we track it; its JOINs beyond
    /// this are counted (status) but not stored. One hostile HELLO could
    /// otherwise name a hundred thousand groups.
    pub max_peer_groups: usize,
    /// The subnet of the interface we serve: beacons from outside it are
    /// ignored (a node with two interfaces hears the other LAN's beacons,
    /// and a peer there could not reach the endpoint we advertise).
    /// `None` acts on beacons from anywhere.
    pub beacon_subnet: Option<Subnet>,
    /// Report EXIT as soon as a peer's connection closed and its inbox
    /// port refuses a new one (its process is gone), instead of only when
    /// it expires. False keeps the timers alone (Zyre's behaviour).
    pub fast_exit: bool,
}

impl CoreConfig {
    pub fn new(uuid: Uuid, name: impl Into<String>, endpoint: impl Into<String>, port: u16) -> Self {
        CoreConfig {
            uuid,
            name: name.into(),
            headers: Vec::new(),
            endpoint: endpoint.into(),
            port,
            beacons: true,
            beacon_interval: Duration::from_secs(1),
            evasive: Duration::from_secs(5),
            expired: Duration::from_secs(30),
            max_peers: 1024,
            max_peer_groups: 256,
            beacon_subnet: None,
            fast_exit: true,
        }
    }
}
