//! Receipts: proof that a peer has read everything we sent it so far.
//!
//! ZRE has no acknowledgement, but every implementation (Zyre's
//! `zyre_node.c`, pyre, zyre.js, haskell-zre and ours) answers a PING with
//! a PING-OK when it reads it, and reads a peer's messages in the order
//! they came over its one connection. A PING sent behind our messages is
//! therefore answered only once the peer has read them all: its PING-OK
//! is their receipt. A sender that is about to stop (`zrecat` at the end
//! of its input) asks for receipts and waits for them, instead of stopping
//! while libzmq still holds data that its linger would then drop.
//!
//! A peer that never answers goes EVASIVE, SILENT and then EXIT by the
//! usual liveness rules (RFC 36, "Peer liveness"): a receipt is either
//! given or its peer reported gone.

use super::*;

impl NodeCore {
    /// Asks every entered peer for a receipt: a PING behind everything sent
    /// to it so far. Returns the peers asked; [`receipt_pending`] says
    /// whether each one's receipt has come.
    ///
    /// # Errors
    /// [`CommandError::Stopped`].
    ///
    /// [`receipt_pending`]: NodeCore::receipt_pending
    pub fn request_receipts(&mut self) -> Result<Vec<Uuid>, CommandError> {
        self.check_command()?;
        let asked: Vec<Uuid> = self
            .peers
            .values()
            .filter(|p| p.entered)
            .map(|p| p.uuid)
            .collect();
        for &uuid in &asked {
            self.send(uuid, &Body::Ping, None);
            if let Some(peer) = self.peers.get_mut(&uuid) {
                peer.receipt_at = Some(peer.pings_sent);
            }
        }
        Ok(asked)
    }

    /// Whether a receipt asked of `peer` ([`NodeCore::request_receipts`])
    /// has yet to come. `false` once it came, and for a peer that is gone
    /// (its EXIT says what became of what we sent it) or was never asked.
    pub fn receipt_pending(&self, peer: Uuid) -> bool {
        self.peers
            .get(&peer)
            .is_some_and(|p| p.entered && p.receipt_at.is_some())
    }

    /// Counts a PING-OK from `uuid`; the receipt asked of it is given once
    /// its PING is answered (the answers come in the PINGs' order), and so
    /// is the check of a port-0 beacon for it (see `leaving.rs`).
    pub(super) fn count_ping_ok(&mut self, now: Instant, uuid: Uuid) {
        let Some(peer) = self.peers.get_mut(&uuid) else {
            return;
        };
        peer.pings_answered = peer.pings_answered.wrapping_add(1);
        let answered = |at: u32| peer.pings_answered.wrapping_sub(at) < u32::MAX / 2;
        // Answered up to `at` (wrapping: a difference below half the range).
        if peer.receipt_at.is_some_and(answered) {
            peer.receipt_at = None;
        }
        if peer.leave_check.is_some_and(answered) {
            self.leave_refuted(now, uuid, "answered our PING");
        }
    }
}
