//! A port-0 beacon: "this peer is leaving" (RFC 36, "Discovery"; Zyre's
//! `zyre_node_stop` sends it as it stops reading its inbox, and so do
//! pyre and we).
//!
//! A beacon proves nothing about its sender: anyone on the LAN can send
//! one with a live peer's UUID, from any address, or replay an old one.
//! Zyre removes the peer at once; we removed it after a second of silence,
//! and one forged beacon a second made every node of a LAN EXIT and
//! re-ENTER an idle live peer every few seconds, losing what was in
//! flight. So the beacon is a claim, checked with the peer itself: it
//! starts the peer's grace (`LEAVE_GRACE`, for the data the beacon may
//! have overtaken) and sends it a PING. A peer that is leaving no longer
//! reads us and never answers; it goes on its GOODBYE, or as soon as its
//! connection closes (fast EXIT), as before. A live peer answers within a
//! round trip, and its PING-OK ends the claim: it keeps the deadlines of
//! any peer heard from, and nothing is reported.
//!
//! A live peer can also be slow to answer: it reads what we sent before
//! the PING first, or its application takes no events and its inbox waits
//! unread (back-pressure). So a grace without an answer is not the end:
//! its inbox port is probed (as fast EXIT does). A refusal, or a port
//! open but served by no one, is the EXIT; a port that greets the probe,
//! or a host that does not answer it (no proof either way), drops the
//! claim, and the peer stays on its usual timers. With fast EXIT off, the grace's end is the EXIT,
//! as before.
//!
//! After a false claim, more claims for that peer are ignored for an
//! evasive period, so that a forger cannot make us PING at its rate; a
//! peer that then leaves for real goes by its closed connection or by the
//! usual liveness rules.

use super::*;

impl NodeCore {
    /// A port-0 beacon with `uuid` came from `from`.
    pub(super) fn leave_claimed(&mut self, now: Instant, uuid: Uuid, from: IpAddr) {
        let grace = LEAVE_GRACE.min(self.config.evasive);
        let hold = self.config.evasive;
        let challenger = self.is_challenger(uuid);
        let Some(peer) = self.peers.get_mut(&uuid) else {
            return;
        };
        if peer.leave_check.is_some() || peer.leave_refuted_at.is_some_and(|at| now < at + hold) {
            // Being checked, or just found false: a repeat changes nothing.
            return;
        }
        info!(
            "a beacon from {from} says peer {} is leaving: removed on its GOODBYE or after {grace:?} of \
             silence, unless it answers our PING",
            uuid.simple()
        );
        peer.leave(now, grace);
        // Only over a link of ours (a peer that waits for one, unseen by
        // the application, goes at the end of its grace if the claim was
        // true, and is announced again if not); never to a challenger of
        // an endpoint, which has no link while its contest runs.
        if peer.linked && !challenger {
            self.send(uuid, &Body::Ping, None);
            if let Some(peer) = self.peers.get_mut(&uuid) {
                peer.leave_check = Some(peer.pings_sent);
            }
        }
        // Removed at the end of its grace, not at the next tick.
        self.schedule(uuid);
    }

    /// `uuid` answered the PING of a leave claim (it reads us), or its
    /// port greeted our probe (its process lives): it is not leaving (see
    /// the module).
    pub(super) fn leave_refuted(&mut self, now: Instant, uuid: Uuid, how: &str) {
        let (evasive, expired) = (self.config.evasive, self.config.expired);
        let Some(peer) = self.peers.get_mut(&uuid) else {
            return;
        };
        peer.stay(now, evasive, expired);
        if let Some(also) = self.logs.forged_leave.admit(now) {
            warn!(
                "peer {} {how} after a beacon said it was leaving: that beacon was forged or stale, and \
                 the peer stays{also}",
                uuid.simple()
            );
        }
    }

    /// A probe's verdict on a peer whose leave claim is unanswered (see
    /// the module): true if it settled the claim.
    pub(super) fn leave_probed(&mut self, now: Instant, uuid: Uuid, gone: bool) -> bool {
        if self.peers.get(&uuid).is_none_or(|p| p.leave_check.is_none()) {
            return false;
        }
        if gone {
            info!(
                "peer {} said it was leaving, and its port is served by no one: removed",
                uuid.simple()
            );
            self.remove_peer(uuid, Removal::Left);
        } else {
            self.leave_refuted(
                now,
                uuid,
                "did not refuse our probe of its port, though slow to answer our PING,",
            );
        }
        true
    }
}

/// The grace of an unanswered claim ended at `at`: `peer`'s inbox port is
/// probed, unless a probe is under way already, and its verdict decides
/// ([`NodeCore::leave_probed`]); the peer expires only if none comes
/// within `wait`. A free function: the caller holds `peer` borrowed from
/// the table.
pub(super) fn check_port(
    stats: &mut CoreCounters,
    next_probe: &mut u64,
    actions: &mut VecDeque<Action>,
    peer: &mut Peer,
    at: Instant,
    wait: Duration,
) {
    if peer.probe.is_none() {
        debug!(
            "peer {} has not answered since a beacon said it was leaving: probing its port",
            peer.uuid.simple()
        );
        fast_exit::start_probe(stats, next_probe, actions, peer);
    }
    peer.expired_at = at + wait;
}
