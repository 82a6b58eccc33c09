//! Who gets into the peer table, and how a peer leaves it: HELLO versus
//! announcements (beacons, gossip tuples), the one peer an endpoint has
//! (see [`Overruled`](super::super::overruled)), room in a bounded table, and
//! the EXIT of a peer that goes.

use super::curve::Via;
use super::*;
use crate::wire::CurveKey;

impl NodeCore {
    /// Handles the HELLO-specific bookkeeping: whether the HELLO enters a
    /// peer, continues its session, or is dropped. `endpoint` is the one
    /// the HELLO gives, read.
    pub(super) fn accept_hello(
        &mut self,
        now: Instant,
        uuid: Uuid,
        hello: &Hello<'_>,
        endpoint: &Endpoint,
    ) -> HelloVerdict {
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
            // Within the window this is its answer, whatever went either
            // way meanwhile. Under traffic, a rule that wanted only HELLOs
            // exchanged took each answer for a restart, and two peers then
            // restarted each other in turn, each restart's HELLO answered
            // by the other's next (a storm the chaos schedules found once
            // a peer could greet again, see greet_again). Nothing is lost
            // in silence: what we sent after our HELLO went on its link
            // after it, into the session it answers; what went before on
            // an older link was covered by the EXIT of our restart, or
            // arrives out of sequence and is refused with an EXIT. Not an
            // answer: a HELLO that says something new (a restart under the
            // same UUID: other groups, a new name; another endpoint: the
            // peer moved and must be linked to anew), or one after our
            // 65535 (pyre and zyre.js reset on it: the short wrap below).
            let same = same_key && same_hello(peer, &self.groups, hello, endpoint);
            if peer.ready && answer && same && !peer.reset_by_our_full_wrap() {
                debug!(
                    "peer {} ({}) answered our HELLO with its own again: same session",
                    peer.name,
                    uuid.simple()
                );
                return HelloVerdict::SameSession;
            }
            // (Not for a peer in a conflict over one endpoint: our link for
            // it may reach the other claimant.) A peer that had sent more
            // than its HELLO and greets us again dropped us meanwhile: what
            // it sent a group of ours since, and what we sent it, never
            // arrived. If that can have been anything the application saw
            // (a SHOUT or WHISPER went either way, or it is in one of our
            // groups), it is a restart, reported as EXIT and ENTER, never a
            // silent gap (issue 25's checker). Otherwise only PINGs were
            // lost: the same session, no EXIT (issue 24's crowds).
            let shares_group = hello.groups.iter().any(|g| self.groups.own().contains(g));
            let nothing_lost = peer.heard_only_greeting() || !(peer.talked || shares_group);
            if peer.ready && nothing_lost && same && !self.overruled.in_conflict(uuid) {
                // Nothing in it is new: the peer dropped us and found us
                // again (a beacon, a timer under load), or greets us once
                // more. Not a restart: no EXIT and ENTER, which would make
                // it drop us in turn. It gets our HELLO on the link we hold,
                // numbered 1 for its new view of us, unless this HELLO
                // answers ours.
                debug!(
                    "peer {} ({}) said HELLO again with nothing new: same session",
                    peer.name,
                    uuid.simple()
                );
                if !(answer && peer.only_greetings_exchanged()) {
                    // pyre and zyre.js reset a peer that sends them 65535
                    // and greet it again: wrap short towards it.
                    if peer.reset_by_our_full_wrap() {
                        peer.use_short_wrap();
                    }
                    peer.restart_sent_sequence();
                    peer.answered_hello_until = Some(now + self.config.evasive);
                    // With a PING if its ENTER still waits for one: the
                    // last may have gone with a link that closed under it.
                    self.greet(now, uuid);
                }
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
            } else if peer.endpoint != *endpoint || !same_key {
                // We connected to where (and with the key) a beacon or gossip
                // said; HELLO knows best.
                self.remove_peer(uuid, Removal::Relinked);
            }
        }
        // A peer made now gets our HELLO now, in answer to this one.
        let answering = !self.peers.contains_key(&uuid);
        if !self.require_peer(now, uuid, endpoint, Evidence::Hello, key) {
            return HelloVerdict::Refused;
        }
        let challenger = self.is_challenger(uuid);
        if let Some(peer) = self.peers.get_mut(&uuid) {
            let was_linked_pending = !peer.ready && peer.linked;
            self.peer_index.set_ready(peer, true);
            self.budget.forget_announced(uuid);
            if challenger {
                // No link while its contest runs (see contest.rs).
            } else if !peer.linked {
                // It waited for a link while its announcement had no turn.
                self.link(now, uuid);
            } else if was_linked_pending {
                // Its link no longer counts against the announced peers':
                // the next one waiting gets it now, not at the next tick.
                self.link_next_waiting(now);
            }
        }
        // Its HELLO says where it is: our link goes there now, with our
        // HELLO on it, so a PING on it proves what the ENTER needs (a
        // PING before, on a link to the announcement's endpoint, could be
        // answered from there, and prove nothing of this one).
        if !challenger
            && self
                .peers
                .get(&uuid)
                .is_some_and(|p| p.linked && p.proof_asked_at.is_none())
        {
            self.ask_proof(now, uuid);
        }
        if let Some(peer) = self.peers.get_mut(&uuid) {
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

    /// A peer we wait for the HELLO of checks our liveness (PING, or
    /// PING-OK to ours): it holds a session with us, so it took a HELLO of
    /// ours and sent its own, but its HELLO never reached this entry. That
    /// happens when we dropped it (expired) while it kept us: its HELLO
    /// went to the entry we dropped, and ours, on the link we opened
    /// since, to a session of its own that it ended meanwhile (one side
    /// stopped past the other's expired timeout, each then met the other
    /// anew in turn). Neither would greet again, and each would ENTER the
    /// other in turn, one way only, for ever (chaos seed
    /// 1796505080178254327). Our HELLO again, numbered 1, on the link we
    /// hold makes it answer with its own: as the same session if nothing
    /// was lost, else as a restart, with the EXIT that the messages we
    /// dropped call for. Once an evasive period at most per peer, so that
    /// nothing a stranger sends makes us say more.
    pub(super) fn greet_again(&mut self, now: Instant, uuid: Uuid) {
        let evasive = self.config.evasive;
        let Some(peer) = self.peers.get_mut(&uuid) else {
            return;
        };
        let due = peer.greeted_again_at.is_none_or(|at| now >= at + evasive);
        if peer.ready || !peer.linked || !due {
            return;
        }
        debug!(
            "{} checks on us before its HELLO: sending ours again",
            uuid.simple()
        );
        peer.greeted_again_at = Some(now);
        peer.restart_sent_sequence();
        self.greet(now, uuid);
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
    /// refused, so that the two never evict each other in turn. A known
    /// peer that never said HELLO and is announced at another endpoint
    /// moved: it is met afresh there.
    ///
    /// `curve_key` is the peer's CURVE public key in CURVE mode (checked by
    /// the caller with `admit_key`), `None` in plain mode. A DEALER is
    /// only handed on (relinked) to a peer with the key it was connected
    /// with: with another, its handshake could never have succeeded.
    pub(super) fn require_peer(
        &mut self,
        now: Instant,
        uuid: Uuid,
        endpoint: &Endpoint,
        evidence: Evidence,
        curve_key: Option<CurveKey>,
    ) -> bool {
        // Announced at another endpoint than the one where we wait for its
        // HELLO: it moved (its address changed; if ours changed too, each
        // met the other again at an endpoint that is dead now, and each
        // HELLO went there, while its beacons from where it is kept the
        // waiting entry alive). Met afresh where it is announced now. A
        // peer that said HELLO stays where its HELLO put it.
        let moved = evidence == Evidence::Announced
            && self
                .peers
                .get(&uuid)
                .is_some_and(|p| !p.ready && p.endpoint != *endpoint);
        if moved && !self.is_own_endpoint(endpoint) {
            debug!(
                "{} announced at {endpoint}, not where we wait for its HELLO: linking there",
                uuid.simple()
            );
            self.remove_peer(uuid, Removal::Stale);
        }
        if let Some(peer) = self.peers.get_mut(&uuid) {
            if evidence == Evidence::Announced && peer.link_failed {
                // Our link's handshake failed and libzmq gave it up: a
                // new one, paced by the announcements (see handshake.rs).
                peer.link_failed = false;
                self.link(now, uuid);
                return true;
            }
            if evidence == Evidence::Announced && !peer.ready {
                // Announced again while it waits for HELLO: it stays as
                // long as it is announced, and gets a turn for a link.
                peer.expired_at = peer.expired_at.max(now + self.config.expired);
                self.link_announced(now, uuid);
            }
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
            .peer_at(endpoint)
            .map(|p| (p.uuid, p.ready, p.curve_key == curve_key));
        let mut challenger = false;
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
                    self.peer_index.remove(&peer);
                    peer.uuid = uuid;
                    // A probe for the stale UUID says nothing about this one.
                    peer.probe = None;
                    peer.scheduled = None;
                    let linked = peer.linked;
                    self.peer_index.insert(&peer);
                    self.peers.insert(uuid, peer);
                    if linked {
                        self.actions.push_back(Action::Relink { from: old, to: uuid });
                    } else {
                        // It was waiting for a link: it has one now.
                        self.link(now, uuid);
                    }
                    self.schedule(uuid);
                    self.overruled.forget(uuid);
                    self.overruled.stale(old, endpoint, uuid);
                    return true;
                }
                Evidence::Hello if self.overruled.beaten_by(uuid, old) => {
                    self.refuse_conflict(now, uuid, old, endpoint);
                    return false;
                }
                Evidence::Hello => {
                    // Two live claimants, or a restart under a new UUID
                    // before the old one left: the one our link reaches
                    // keeps the endpoint (see contest.rs).
                    if !self.open_contest(now, endpoint, old, uuid) {
                        return false;
                    }
                    challenger = true;
                }
            }
        }
        let room = match evidence {
            Evidence::Announced => self.room_for_announcement(now, uuid, endpoint, curve_key),
            Evidence::Hello => self.make_room(),
        };
        if !room {
            if challenger {
                // No room for it: the contest ends with the holder.
                self.leave_contests(uuid, now);
            }
            if evidence == Evidence::Hello {
                self.stats.refused += 1;
                if let Some(also) = self.logs.peer_limit.admit(now) {
                    warn!(
                        "peer table full ({} peers said HELLO; --max-peers is {}): ignoring the HELLO of {} at {endpoint}{also}",
                        self.peers.len(),
                        self.config.max_peers,
                        uuid.simple()
                    );
                }
            }
            return false;
        }
        self.overruled.forget(uuid);
        debug!("new peer {} at {endpoint}", uuid.simple());
        // A peer only announced keeps its place for the expired time, as
        // in Zyre: on a loaded host its HELLO can take seconds.
        let mut peer = Peer::new(
            uuid,
            endpoint.clone(),
            now,
            self.config.evasive,
            self.config.expired,
        );
        peer.curve_key = curve_key;
        // A new link waits for its handshake (CURVE); a challenger has no
        // link until its contest ends.
        peer.link_up = !self.link_pending() && !challenger;
        // A HELLO proves only that the peer reaches us. Whether our link
        // reaches it: in CURVE mode its handshake says so, unless the
        // endpoint is disputed (our link may reach another node, see
        // contest.rs); in plain mode nothing does but its PING-OK (a wrong
        // `--endpoint` reaches nobody, see handshake.rs).
        peer.needs_proof = !self.is_curve() || self.overruled.is_disputed(endpoint);
        self.peer_index.insert(&peer);
        self.peers.insert(uuid, peer);
        self.schedule(uuid);
        if challenger {
            // Its HELLO is held; the contest links it, or refuses it.
        } else if evidence == Evidence::Announced {
            self.announced(now, uuid);
        } else {
            self.link(now, uuid);
        }
        true
    }

    /// Whether the table can take one more peer that said HELLO: a full
    /// table makes room by dropping the oldest peer that did not, so fake
    /// beacons can never lock a genuine newcomer out.
    pub(super) fn make_room(&mut self) -> bool {
        if self.peers.len() < self.config.max_peers {
            return true;
        }
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

    /// Refuses `uuid`'s HELLO for `endpoint`, which `holder` holds and is
    /// alive: two live peers claim one endpoint. Said once a second at most.
    pub(super) fn refuse_conflict(&mut self, now: Instant, uuid: Uuid, holder: Uuid, endpoint: &Endpoint) {
        self.overruled.beaten(uuid, holder);
        if let Some(also) = self.logs.conflict.admit(now) {
            if holder == self.config.uuid {
                warn!(
                    "peer {} announces {endpoint}, the endpoint we advertise: not linking to it; it or we have a wrong --endpoint (peers reach whoever listens there){also}",
                    uuid.simple()
                );
                return;
            }
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

/// Whether a repeated HELLO says what we hold of `peer`: endpoint (the
/// HELLO's, read), name, headers, group status and groups.
fn same_hello(peer: &Peer, groups: &Groups, hello: &Hello<'_>, endpoint: &Endpoint) -> bool {
    peer.endpoint == *endpoint
        && *peer.name == *hello.name
        && peer.status == hello.status
        && peer.headers.len() == hello.headers.len()
        && peer
            .headers
            .iter()
            .zip(hello.headers.iter())
            .all(|((k, v), (hk, hv))| k == hk && v == hv)
        && groups.count_of(peer.uuid) == hello.groups.len()
        && hello.groups.iter().all(|g| groups.has_member(g, peer.uuid))
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
