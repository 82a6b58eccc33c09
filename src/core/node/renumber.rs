//! Our own address changed (a DHCP renumbering, an address moved to
//! another interface): the I/O layer has bound the inbox at the new
//! address and tells the core with [`NodeCore::change_endpoint`].
//!
//! Every peer learned our old endpoint from our HELLO and links to it;
//! that link is dead now, and a HELLO of ours that still named the old
//! endpoint would make the peer link there again (the flapping ghost of
//! zyre#614). So each peer is met afresh: its link closed (EXIT if it had
//! its ENTER), a new one opened to the same endpoint, and our HELLO with
//! the new endpoint sent on it. A peer of ours takes a HELLO from a UUID
//! it has as a new session: one EXIT and one ENTER of us at its end, then
//! its DEALER links to where we are now. Our next beacon goes at once.

use super::*;
use crate::core::subnet::Subnet;

impl NodeCore {
    /// Our inbox is now at `endpoint` (port `port`, the interface's subnet
    /// `subnet`). The same endpoint as before (an advertised `--endpoint`
    /// that did not move) changes only the port and subnet; another one
    /// relinks every peer, as the module says.
    pub fn change_endpoint(&mut self, now: Instant, endpoint: &str, port: u16, subnet: Option<Subnet>) {
        if self.stopped {
            return;
        }
        if self.config.beacon_subnet.is_some() {
            self.config.beacon_subnet = subnet;
        }
        // The text we advertise, or ours as a peer's endpoint is written.
        let same = endpoint == self.config.endpoint
            || self
                .own_endpoint
                .as_ref()
                .is_some_and(|own| own.to_string() == endpoint);
        let moved = self.config.port != port || !same;
        self.config.port = port;
        if !moved {
            return;
        }
        info!(
            "our endpoint moved from {} to {endpoint}: meeting our {} peers again there",
            self.config.endpoint,
            self.peers.len()
        );
        self.config.endpoint = endpoint.to_owned();
        self.own_endpoint = Endpoint::parse(endpoint, self.config.link_scope.as_ref()).ok();
        let peers: Vec<(Uuid, Endpoint, Option<crate::wire::CurveKey>)> = self
            .peers
            .values()
            .map(|p| (p.uuid, p.endpoint.clone(), p.curve_key))
            .collect();
        for (uuid, endpoint, key) in peers {
            self.remove_peer(uuid, Removal::Renumbered);
            // A peer whose (stale) endpoint is ours now is no peer.
            if !self.is_own_endpoint(&endpoint) {
                self.require_peer(now, uuid, &endpoint, Evidence::Announced, key);
            }
        }
        if self.config.beacons {
            self.next_beacon_at = now;
        }
    }
}
