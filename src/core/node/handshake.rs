//! ENTER means both ways work. A peer's HELLO proves it can reach us, not
//! that we reach it: its advertised endpoint may be wrong (a copied or
//! mistyped `--endpoint`, a NAT), and everything we sent it would be lost
//! while it expired us and greeted us again, an EXIT and an ENTER each
//! time. So a plain peer's ENTER, and every event of it after, waits for
//! its PING-OK: a peer answers a PING only on a link that carried our
//! HELLO, so the PING goes after our HELLO ([`NodeCore::greet`]) once the
//! peer's HELLO said where it is (a link made from an announcement may go
//! elsewhere, and its answer would prove nothing of the link the HELLO
//! makes): one round trip after its HELLO. A PING lost with a link that
//! closed under it is asked again when the peer talks to us a tick (a
//! second by default) later ([`NodeCore::hold_events`]); a quiet one gets
//! the liveness PING.
//!
//! In CURVE mode our DEALER to its inbox must get through its handshake
//! (its allow-list may refuse our key, its inbox may hold another key than
//! the one it announced), or every WHISPER to it would pile up unsent; the
//! handshake is the proof there, so a peer's ENTER is held until the I/O
//! layer reports the handshake of our link
//! ([`NodeCore::handle_link_up`]); a failed one
//! ([`NodeCore::handle_link_failed`]) is said in the log; libzmq does not
//! reconnect a session that ended in a failed handshake, so the peer's
//! next announcement (a beacon a second, a gossip tuple) links to it
//! afresh, with our HELLO again, or it is removed, with EXIT, if it had
//! entered.
//! At a disputed endpoint its ENTER waits for its PING-OK in either mode
//! (see `contest.rs`).
//!
//! What a peer says meanwhile is held, in order, and handed on after its
//! ENTER. Holding is bounded by memory, not by a count (a peer whose
//! application sends at its ENTER of us can send thousands in a round
//! trip): one largest message's worth per peer, two in all, each event
//! costing its content and a fixed 128 bytes (`Peer::hold`). A peer beyond is removed
//! (`Removal::Unproven`; it had no ENTER, so no EXIT).

use super::*;

impl NodeCore {
    /// Our DEALER to `peer` got through its handshake: a peer that said
    /// HELLO is entered now, with the events it caused since.
    pub fn handle_link_up(&mut self, _now: Instant, peer: Uuid) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        p.link_up = true;
        p.link_failed = false;
        self.enter_if_reachable(peer);
    }

    /// A peer that said HELLO and waited until we knew our link reaches
    /// it is ENTERed now, with the events it caused since.
    pub(super) fn enter_if_reachable(&mut self, uuid: Uuid) {
        let Some(p) = self.peers.get_mut(&uuid) else {
            return;
        };
        if p.ready && !p.entered && p.reachable() {
            info!("ENTER {} ({}) at {}", p.name, uuid.simple(), p.endpoint);
            p.entered = true;
            self.held_bytes -= std::mem::take(&mut p.held_bytes);
            self.events.extend(p.held.drain(..));
        }
    }

    /// Our DEALER to `peer` failed its handshake (CURVE: its inbox
    /// refused our key, or holds another key than it announced): we cannot
    /// send to it, and libzmq 4.3 does not reconnect a session that ended
    /// in a protocol error, so the link is dead for good. A peer that had
    /// entered is removed (EXIT). One that has not keeps its place (its
    /// HELLO, which it will not repeat, with it), and its next
    /// announcement links to it afresh: a new handshake, which gets
    /// through once its allow-list takes our key; announcements pace the
    /// tries. Said at the default level, once a second at most.
    pub fn handle_link_failed(&mut self, now: Instant, peer: Uuid) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        p.link_up = false;
        let entered = p.entered;
        if let Some(also) = self.logs.handshake.admit(now) {
            warn!(
                "cannot complete the CURVE handshake with peer {} ({}) at {}: its inbox refuses our key, or its key is not the one it announced; {}{also}",
                p.name,
                peer.simple(),
                p.endpoint,
                if entered {
                    "removing it"
                } else {
                    "not entering it until it does (linking afresh on its next announcement)"
                }
            );
        }
        if entered {
            self.remove_peer(peer, Removal::HandshakeFailed);
        } else if let Some(p) = self.peers.get_mut(&peer) {
            p.link_failed = true;
        }
    }

    /// After a message from `uuid` was acted on: the events it made since
    /// `mark` are held if the peer said HELLO but is not reachable yet
    /// (see the module), or it is entered now if it is.
    pub(super) fn hold_events(&mut self, now: Instant, uuid: Uuid, mark: usize) {
        let retry = self.reap_interval;
        let Some(peer) = self.peers.get_mut(&uuid) else {
            return;
        };
        if !peer.ready || peer.entered {
            return;
        }
        if peer.reachable() {
            peer.entered = true;
            return;
        }
        let mut i = mark;
        while i < self.events.len() {
            if self.events[i].peer() == Some(uuid) {
                if let Some(event) = self.events.remove(i) {
                    self.held_bytes += peer.hold(event);
                }
            } else {
                i += 1;
            }
        }
        // A peer that never answers could make us hold whatever it sends:
        // one largest message's worth each, two in all. Not a count: a
        // peer whose application sends at its ENTER of us (Zyre's does)
        // can send thousands in the round trip its PING-OK takes.
        let most_bytes = self.config.max_message_size;
        if peer.held_bytes > most_bytes || self.held_bytes > 2 * most_bytes {
            // Once a second at most: a stranger can repeat it at will.
            if let Some(also) = self.logs.unproven.admit(now) {
                warn!(
                    "peer {} ({}) said {} things ({} bytes) before we knew our link to it at {} reaches it: removing it{also}",
                    peer.name,
                    uuid.simple(),
                    peer.held.len(),
                    peer.held_bytes,
                    peer.endpoint
                );
            }
            self.remove_peer(uuid, Removal::Unproven);
            return;
        }
        // It talks to us, so it holds our HELLO, yet its PING-OK has not
        // come: our PING may have gone with a link that closed under it
        // (a peer that moved, a stale ARP entry). A round trip is
        // milliseconds on a LAN: asked again once a tick (a second by
        // default) at most while it talks; a quiet peer gets the liveness
        // PING.
        let asked_long_ago = peer.proof_asked_at.is_none_or(|at| now >= at + retry);
        if peer.needs_proof && peer.link_up && peer.linked && asked_long_ago {
            debug!(
                "peer {} ({}) talks before its PING-OK: asking again",
                peer.name,
                uuid.simple()
            );
            self.ask_proof(now, uuid);
        }
    }

    /// A peer made now (CURVE mode) waits for its link's handshake.
    pub(super) fn link_pending(&self) -> bool {
        self.is_curve()
    }
}
