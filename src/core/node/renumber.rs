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
//!
//! A peer that has not said HELLO an evasive time later is greeted again
//! on a new link, up to `REGREETS` times. Zyre 2.0.1 and pyre 0.3.4 keep
//! the endpoint of a peer they made from a beacon and never take the one
//! in its HELLO: one that had our old beacon (or got our HELLOs from
//! before and after the move in the wrong order) ENTERs us at the old
//! endpoint and sends its HELLO there for good, while our messages reach
//! it. They take the new endpoint only from a HELLO that finds us ready,
//! which drops and remakes us (the mixed chaos seed 1796532157185537371:
//! n8 never met p3 again; pyre's log showed the ENTER at the old endpoint).

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
        // A node that announced our old endpoint was refused as a claim of
        // ours (a wrong --endpoint, we thought); it is no longer ours: a
        // newcomer that took our old address is met like any other.
        let own = self.config.uuid;
        self.overruled.holder_left(own);
        let peers: Vec<(Uuid, Endpoint, Option<crate::wire::CurveKey>)> = self
            .peers
            .values()
            .map(|p| (p.uuid, p.endpoint.clone(), p.curve_key))
            .collect();
        for (uuid, endpoint, key) in peers {
            self.meet_afresh(now, uuid, &endpoint, key, REGREETS);
        }
        if self.config.beacons {
            self.next_beacon_at = now;
        }
    }

    /// Drops `uuid` and makes it again at `endpoint`: a new link and our
    /// HELLO. If it has not said HELLO an evasive time from `now`, it is
    /// greeted again, `left` times more at most.
    fn meet_afresh(
        &mut self,
        now: Instant,
        uuid: Uuid,
        endpoint: &Endpoint,
        key: Option<crate::wire::CurveKey>,
        left: u8,
    ) {
        self.remove_peer(uuid, Removal::Renumbered);
        // A peer whose (stale) endpoint is ours now is no peer.
        if self.is_own_endpoint(endpoint) {
            return;
        }
        self.require_peer(now, uuid, endpoint, Evidence::Announced, key);
        if left == 0 {
            return;
        }
        let Some(peer) = self.peers.get_mut(&uuid) else {
            return;
        };
        peer.regreet_at = Some(now + self.config.evasive);
        peer.regreets_left = left - 1;
        self.schedule(uuid);
    }

    /// The evasive time after our move (or after our last greeting) is
    /// over for `uuid`: if it has not said HELLO yet, it is met afresh (a
    /// new link and our HELLO). Returns whether it was.
    pub(super) fn regreet_after_move(&mut self, now: Instant, uuid: Uuid) -> bool {
        let Some(peer) = self.peers.get_mut(&uuid) else {
            return false;
        };
        peer.regreet_at = None;
        if peer.ready {
            return false;
        }
        let (endpoint, key, left) = (peer.endpoint.clone(), peer.curve_key, peer.regreets_left);
        debug!(
            "{} at {endpoint} has not answered since our endpoint moved: greeting it again",
            uuid.simple()
        );
        self.meet_afresh(now, uuid, &endpoint, key, left);
        true
    }
}

/// Greetings again after our move, each an evasive time after the last,
/// for a peer that has not said HELLO (see the module's doc).
const REGREETS: u8 = 3;
