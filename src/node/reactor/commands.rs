//! What a [`Node`] can be told: join, leave, contest, whisper, shout,
//! stop. Each command goes to the core, then its actions go out at once
//! (`after_command`), so a message is on its way when the call returns.

use super::*;
use crate::node::zmq_frame::MAX_INLINE;

impl Node {
    /// Joins `group` (1 to 255 bytes): peers are told at once. RFC 36
    /// puts no other rule on a name: any text goes, spaces and control
    /// characters too (the tools escape those when they print a name).
    ///
    /// # Errors
    /// [`NodeError::Command`] for an invalid name or a stopped node.
    pub fn join(&mut self, group: &str) -> Result<(), NodeError> {
        self.core.join(group)?;
        self.after_command()
    }

    /// Leaves `group`: peers are told at once.
    ///
    /// # Errors
    /// [`NodeError::Command`] for an invalid name or a stopped node.
    pub fn leave(&mut self, group: &str) -> Result<(), NodeError> {
        self.core.leave(group)?;
        self.after_command()
    }

    /// Contests the leadership of `group` (Zyre's DRAFT
    /// `zyre_set_contest_in_group`): in the group with other members, we
    /// challenge them now and whenever a member joins or the leader goes;
    /// every member then gets [`Event::Leader`](crate::core::Event::Leader).
    /// The smallest UUID among the contesters wins, as in Zyre. Joining is
    /// separate. Errors: a group name not 1 to 255 bytes; a stopped node.
    pub fn contest(&mut self, group: &str) -> Result<(), NodeError> {
        self.core.contest(group)?;
        self.after_command()
    }

    /// The leader of `group` that the last completed election chose
    /// (maybe us); `None` before any completes, once the leader has gone,
    /// or when we are not in the group.
    pub fn leader(&self, group: &str) -> Option<Uuid> {
        self.core.leader(group)
    }

    /// Sends a message to one peer: its frames (none, one or more) as a
    /// `Vec` of [`Frame`]s or of anything a `Frame` is made from (`Vec<u8>`,
    /// `String`, `&str`, `&[u8]`, …; see [`Frame`]). Owned frames move
    /// into the node; one of 8 KiB or more goes to libzmq without a copy.
    pub fn whisper<F: Into<Frame>>(&mut self, peer: Uuid, content: Vec<F>) -> Result<(), NodeError> {
        self.core.whisper(peer, content)?;
        self.after_command()
    }

    /// Sends a message to every peer in `group`, its content as for
    /// [`Node::whisper`] (shared by the members, not copied per member);
    /// returns how many peers it went to.
    pub fn shout<F: Into<Frame>>(&mut self, group: &str, content: Vec<F>) -> Result<usize, NodeError> {
        let reached = self.core.shout(group, content)?;
        self.after_command()?;
        Ok(reached)
    }

    /// Sends a message to one peer from borrowed frames: each is copied
    /// straight into libzmq, as a raw socket send would, so the caller
    /// allocates nothing. Only when the peer's queue is full is a copy
    /// kept here until there is room.
    pub fn whisper_slices(&mut self, peer: Uuid, content: &[&[u8]]) -> Result<(), NodeError> {
        self.core.check_content(content.iter().map(|frame| frame.len()))?;
        // Whatever the core still wants sent goes first (normally nothing).
        self.apply_actions()?;
        let header = self.core.whisper_header(peer)?;
        self.send_lent(LinkId::Peer(peer), &header, content);
        self.after_command()
    }

    /// Sends a message to every peer in `group` from borrowed frames, as
    /// [`Node::whisper_slices`]; returns how many peers it went to.
    pub fn shout_slices(&mut self, group: &str, content: &[&[u8]]) -> Result<usize, NodeError> {
        self.core.check_content(content.iter().map(|frame| frame.len()))?;
        self.apply_actions()?;
        let mut headers = std::mem::take(&mut self.shout_headers);
        let reached = self.core.shout_headers(group, &mut headers);
        // To several members, content that libzmq keeps out of line goes
        // into libzmq once and every member's send shares it. To one, or
        // when every frame fits inside a libzmq message (no allocation),
        // it is copied straight into each send: sharing would cost one
        // more copy and a reference per member (BENCHMARKS.md, "SHOUT:
        // the header kept and small content lent").
        let out_of_line = content.iter().any(|frame| frame.len() > MAX_INLINE);
        if headers.len() > 1 && out_of_line && self.share(content.iter().copied()) {
            for (peer, header) in headers.drain(..) {
                let id = LinkId::Peer(peer);
                let sent = self
                    .links
                    .send_shared(self.poll.registry(), id, &header, &mut self.shared_frames);
                self.after_send(id, sent);
            }
            self.shared_frames.clear();
        } else {
            for (peer, header) in headers.drain(..) {
                self.send_lent(LinkId::Peer(peer), &header, content);
            }
        }
        self.shout_headers = headers;
        let reached = reached?;
        self.after_command()?;
        Ok(reached)
    }

    /// [`whisper_slices`](Self::whisper_slices) with one UTF-8 frame.
    pub fn whisper_str(&mut self, peer: Uuid, text: &str) -> Result<(), NodeError> {
        self.whisper_slices(peer, &[text.as_bytes()])
    }

    /// [`shout_slices`](Self::shout_slices) with one UTF-8 frame; returns
    /// how many peers it went to.
    pub fn shout_str(&mut self, group: &str, text: &str) -> Result<usize, NodeError> {
        self.shout_slices(group, &[text.as_bytes()])
    }

    /// Leaves the network cleanly: a port-0 beacon and GOODBYE to every
    /// peer, then waits (up to the linger time) until everything queued has
    /// been handed to the network. Dropping a node stops it too.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        // Hear out peers that already said goodbye, so that we do not wait
        // the linger time for links nobody is listening on any more. No
        // poll told us about their messages yet, so look regardless.
        self.inbox_ready = true;
        self.beacon_ready = true;
        if let Err(err) = self.service() {
            warn!("while stopping: {err}");
        }
        self.stopped = true;
        // Nothing to flush to a peer never entered: a seed that never
        // answered, a peer whose PING-OK never came (see there).
        for peer in self.core.unentered_peers() {
            self.links.close(self.poll.registry(), LinkId::Peer(peer), None);
        }
        self.core.stop();
        if let Err(err) = self.apply_actions() {
            warn!("while stopping: {err}");
        }
        // Our tuple goes from the gossip servers at once (see
        // `GossipClient::unpublish`); our own server closes.
        self.unpublish_gossip();
        self.gossip_server = None;
        let deadline = Instant::now() + self.settings.linger;
        self.links.close_all(self.poll.registry(), deadline);
        // A stopped node reads its inbox no more: unbound (which also
        // closes the connections accepted on it), so that peers' probes
        // are refused and they see it go at once, however long the
        // application keeps the node. A port-0 beacon alone is no proof
        // to them: anyone can send one (see `core/node/leaving.rs`).
        if let Err(err) = self.inbox.unbind(&self.rebind.bound) {
            debug!("unbinding {} at stop: {err}", self.rebind.bound);
        }
    }

    /// Whether [`stop`](Self::stop) has run.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Asks every entered peer for a receipt: a PING sent behind
    /// everything sent to it so far (what libzmq and our backlog still
    /// hold included), which the peer answers (PING-OK, as every ZRE
    /// implementation does) only once it has read all of it. Returns the
    /// peers asked; [`Node::receipt_pending`] says whose receipt is still
    /// to come. Before stopping, a sender that waits for its receipts
    /// knows its data was read, rather than trusting the linger time
    /// (`zrecat` does this at the end of its input). A peer that never
    /// answers goes EVASIVE, SILENT and EXIT by the liveness rules.
    ///
    /// # Errors
    /// [`NodeError::Command`] for a stopped node.
    pub fn request_receipts(&mut self) -> Result<Vec<Uuid>, NodeError> {
        let asked = self.core.request_receipts()?;
        self.after_command()?;
        Ok(asked)
    }

    /// Whether the receipt asked of `peer` ([`Node::request_receipts`]) is
    /// still to come: `false` once it came, for a peer never asked, and
    /// for one that is gone (its [`Event::Exit`](crate::core::Event::Exit)
    /// came instead: what was sent to it may not have been read).
    pub fn receipt_pending(&self, peer: Uuid) -> bool {
        self.core.receipt_pending(peer)
    }

    pub(super) fn after_command(&mut self) -> Result<(), NodeError> {
        self.apply_actions()?;
        if self.links.has_backlog() {
            // A link just filled up: its room events come through the poll.
            self.settled = false;
        }
        Ok(())
    }
}
