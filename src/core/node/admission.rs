//! Who gets into the peer table, and how a peer leaves it: HELLO versus
//! announcements (beacons, gossip tuples), the one peer an endpoint has
//! (see [`Overruled`](super::super::overruled)), room in a bounded table, and
//! the EXIT of a peer that goes.

use super::curve::Via;
use super::*;
use crate::wire::CurveKey;

impl NodeCore {
    /// Handles the HELLO-specific bookkeeping: whether the HELLO enters a
    /// peer, continues its session, or is dropped.
    pub(super) fn accept_hello(&mut self, now: Instant, uuid: Uuid, hello: &Hello<'_>) -> HelloVerdict {
        if uuid == self.config.uuid {
            return HelloVerdict::Refused;
        }
        // CURVE mode: a HELLO without a usable X-PUBLICKEY is ignored, as
        // Zyre ignores it (no downgrade); plain mode looks at no key.
        let key = self.hello_key(hello);
        let Some(key) = self.admit_key(now, uuid, Via::Hello, key) else {
            return HelloVerdict::Refused;
        };
        let mut short_wrap = false;
        if let Some(peer) = self.peers.get_mut(&uuid) {
            let answer = peer.answered_hello_until.take().is_some_and(|until| now < until);
            let same_key = peer.curve_key == key;
            // Any other traffic since, and this HELLO is a real restart (pyre
            // resets a peer on a sequence gap and says HELLO again).
            if peer.ready && answer && peer.only_hellos_exchanged() && same_key {
                debug!(
                    "peer {} ({}) answered our HELLO with its own again: same session",
                    peer.name,
                    uuid.simple()
                );
                return HelloVerdict::SameSession;
            }
            if peer.ready {
                // It restarted (or reconnected) with the same UUID.
                info!(
                    "peer {} ({}) said HELLO again: restarting it",
                    peer.name,
                    uuid.simple()
                );
                // pyre and zyre.js reset a peer that sends them 65535; if
                // that is what just happened, wrap short towards it.
                short_wrap = peer.reset_by_our_full_wrap();
                self.remove_peer(uuid, Removal::Restarted);
            } else if peer.endpoint != hello.endpoint || !same_key {
                // We connected to where (and with the key) a beacon or gossip
                // said; HELLO knows best.
                self.remove_peer(uuid, Removal::Relinked);
            }
        }
        // A peer made now gets our HELLO now, in answer to this one.
        let answering = !self.peers.contains_key(&uuid);
        if !self.require_peer(now, uuid, hello.endpoint, Evidence::Hello, key) {
            return HelloVerdict::Refused;
        }
        if let Some(peer) = self.peers.get_mut(&uuid) {
            peer.ready = true;
            if answering {
                peer.answered_hello_until = Some(now + self.config.evasive);
            }
            if short_wrap {
                info!(
                    "peer {} reset us at sequence 65535: sending it the short wrap",
                    uuid.simple()
                );
                peer.use_short_wrap();
            }
        }
        HelloVerdict::Enter
    }

    /// Finds or creates a peer; a new peer gets a DEALER and our HELLO.
    ///
    /// An endpoint has one peer at a time. An announcement (beacon, gossip
    /// tuple) never evicts the peer at its endpoint: it is set aside (see
    /// [`Overruled`]). A HELLO from another UUID at that endpoint takes it
    /// over: from a peer that was only announced without an event (it was
    /// a stale announcement; the link we opened for it reached this peer),
    /// from a peer that had said HELLO with its EXIT (it restarted under a
    /// new UUID) — unless this UUID lost that endpoint to it before, which
    /// means both are alive and claim one endpoint: then the HELLO is
    /// refused, so that the two never evict each other in turn.
    ///
    /// `curve_key` is the peer's CURVE public key in CURVE mode (checked by
    /// the caller with `admit_key`), `None` in plain mode. A DEALER is
    /// only handed on (relinked) to a peer with the key it was connected
    /// with: with another, its handshake could never have succeeded.
    pub(super) fn require_peer(
        &mut self,
        now: Instant,
        uuid: Uuid,
        endpoint: &str,
        evidence: Evidence,
        curve_key: Option<CurveKey>,
    ) -> bool {
        if self.peers.contains_key(&uuid) {
            return true;
        }
        if evidence == Evidence::Announced && self.overruled.overruled_by(uuid, endpoint).is_some() {
            return false;
        }
        if self.is_own_endpoint(endpoint) {
            // Another node says it is where we are: a link to it would be
            // a link to ourselves.
            let own = self.config.uuid;
            self.refuse_conflict(now, uuid, own, endpoint);
            return false;
        }
        let holder = self
            .peers
            .values()
            .find(|p| p.endpoint == endpoint)
            .map(|p| (p.uuid, p.ready, p.curve_key == curve_key));
        let mut relinked = false;
        if let Some((old, ready, same_key)) = holder {
            match evidence {
                Evidence::Announced if !ready && !same_key => {
                    // CURVE mode, two keys for one endpoint and no HELLO
                    // yet: no link can reach the endpoint with both, and
                    // ours for the holder may never get through its
                    // handshake (a stale tuple, a forged beacon), when
                    // nothing would hand it on. The newer announcement
                    // gets its chance; the older one stays set aside while
                    // the newer lives, so the two do not take turns.
                    debug!(
                        "{} announced at {endpoint} with another CURVE key than {}, which never said HELLO: trying it instead",
                        uuid.simple(),
                        old.simple()
                    );
                    self.remove_peer(old, Removal::Stale);
                    self.overruled.stale(old, endpoint, uuid);
                }
                Evidence::Announced => {
                    debug!(
                        "{} announced at {endpoint}, where peer {} is: set aside",
                        uuid.simple(),
                        old.simple()
                    );
                    self.overruled.stale(uuid, endpoint, old);
                    return false;
                }
                Evidence::Hello if !ready && !same_key => {
                    // The link we opened for the announcement was for
                    // another key: it cannot be this peer's.
                    debug!(
                        "{} at {endpoint} answered as {} with another CURVE key: connecting afresh",
                        old.simple(),
                        uuid.simple()
                    );
                    self.remove_peer(old, Removal::Stale);
                    self.overruled.stale(old, endpoint, uuid);
                }
                Evidence::Hello if !ready => {
                    // The link we opened for an announcement reached this
                    // peer: it is the one at that endpoint. Our HELLO went
                    // out on that link already.
                    debug!(
                        "{} at {endpoint} answered as {}: the announcement was stale",
                        old.simple(),
                        uuid.simple()
                    );
                    let mut peer = self.peers.remove(&old).expect("found above");
                    peer.uuid = uuid;
                    // A probe for the stale UUID says nothing about this one.
                    peer.probe = None;
                    self.peers.insert(uuid, peer);
                    self.actions.push_back(Action::Relink { from: old, to: uuid });
                    self.overruled.forget(uuid);
                    self.overruled.stale(old, endpoint, uuid);
                    return true;
                }
                Evidence::Hello if self.overruled.beaten_by(uuid, old) => {
                    self.refuse_conflict(now, uuid, old, endpoint);
                    return false;
                }
                Evidence::Hello => {
                    info!(
                        "peer {} replaced at {endpoint} by {}",
                        old.simple(),
                        uuid.simple()
                    );
                    if same_key {
                        self.remove_peer(old, Removal::Replaced { link_moves: true });
                        self.actions.push_back(Action::Relink { from: old, to: uuid });
                        relinked = true;
                    } else {
                        self.remove_peer(old, Removal::Replaced { link_moves: false });
                    }
                    self.overruled.beaten(old, uuid);
                }
            }
        }
        if !relinked && !self.make_room(evidence) {
            if let Some(also) = self.logs.peer_limit.admit(now) {
                warn!(
                    "peer limit {} reached: ignoring {} at {endpoint}{also}",
                    self.config.max_peers,
                    uuid.simple()
                );
            }
            return false;
        }
        self.overruled.forget(uuid);
        debug!("connecting to peer {} at {endpoint}", uuid.simple());
        let mut peer = Peer::new(
            uuid,
            endpoint.to_owned(),
            now,
            self.config.evasive,
            self.config.expired,
        );
        peer.curve_key = curve_key;
        if evidence == Evidence::Announced {
            // A genuine peer answers our HELLO with its own within
            // milliseconds; one that has not by the evasive timeout is most
            // likely a beacon with nobody behind it.
            peer.expired_at = now + self.config.evasive.min(self.config.expired);
        }
        self.peers.insert(uuid, peer);
        if !relinked {
            self.actions.push_back(Action::Connect {
                peer: uuid,
                endpoint: endpoint.to_owned(),
                curve_server_key: curve_key,
            });
        }
        let groups = self.groups.own();
        let headers = super::curve::hello_headers(&self.config, self.own_key_text.as_deref());
        let hello = Body::Hello(Hello {
            endpoint: &self.config.endpoint,
            groups,
            status: self.status,
            name: &self.name,
            headers,
        });
        let peer = self.peers.get_mut(&uuid).expect("inserted above");
        if let Some(header) = emit_for(peer, &hello, &mut self.emit_buffer) {
            self.actions.push_back(Action::Send {
                peer: uuid,
                header,
                content: None,
            });
        }
        true
    }

    /// Whether the table can take one more peer. Peers that have not said
    /// HELLO may fill half of it; a HELLO may push out the oldest of them,
    /// so fake beacons can never lock a genuine newcomer out.
    pub(super) fn make_room(&mut self, evidence: Evidence) -> bool {
        let max = self.config.max_peers;
        if self.peers.len() < max / 2 {
            return true;
        }
        let pending = self.peers.values().filter(|p| !p.ready).count();
        match evidence {
            Evidence::Announced => self.peers.len() < max && pending < (max / 2).max(1),
            Evidence::Hello if self.peers.len() < max => true,
            Evidence::Hello => {
                let oldest = self
                    .peers
                    .values()
                    .filter(|p| !p.ready)
                    .min_by_key(|p| p.created_at)
                    .map(|p| p.uuid);
                match oldest {
                    Some(victim) => {
                        debug!("peer table full: {} (no HELLO yet) makes room", victim.simple());
                        self.remove_peer(victim, Removal::MadeRoom);
                        true
                    }
                    None => false,
                }
            }
        }
    }

    /// Refuses `uuid`'s HELLO for `endpoint`, which `holder` holds and is
    /// alive: two live peers claim one endpoint. Said once a second at most.
    pub(super) fn refuse_conflict(&mut self, now: Instant, uuid: Uuid, holder: Uuid, endpoint: &str) {
        self.overruled.beaten(uuid, holder);
        if let Some(also) = self.logs.conflict.admit(now) {
            warn!(
                "peers {} and {} both claim {endpoint}: keeping {}, ignoring {} (check their --endpoint){also}",
                holder.simple(),
                uuid.simple(),
                holder.simple(),
                uuid.simple()
            );
        }
    }
}

/// What a HELLO does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HelloVerdict {
    /// A new peer, or a new session of a known one: ENTER.
    Enter,
    /// Its answer to the HELLO we sent in answer to its last one.
    SameSession,
    /// Dropped.
    Refused,
}

/// How we learned of a peer we do not know yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Evidence {
    /// A beacon or gossip tuple: anyone can send those.
    Announced,
    /// It connected to us and said HELLO.
    Hello,
}
