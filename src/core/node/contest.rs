//! Two live UUIDs say HELLO for one endpoint (a copied `--endpoint`, or a
//! node restarted under a new UUID before we saw the old one go): which of
//! them does our link to that endpoint reach? Only that one may be
//! ENTERed, because ENTER means both ways work.
//!
//! A HELLO proves only that its sender reaches us. What proves that we
//! reach it is its PING-OK: a peer answers a PING only if it came on a
//! link that carried our HELLO, and the answer comes under its own UUID.
//! So when a challenger's HELLO claims the endpoint a peer holds, we PING
//! the holder on our one link to that endpoint, and hold the challenger's
//! ENTER (and every event of it) meanwhile, without a link of its own:
//! a second connection with our identity would make the node there hand
//! our identity from one connection to the other and mix up our sequence
//! numbers.
//!
//! - The holder's PING-OK: it is there; the challenger is refused (never
//!   ENTERed), and its HELLO stays refused while the holder lives.
//! - The challenger's PING-OK (the node at the endpoint answered our PING
//!   for the holder under the challenger's UUID): the challenger is there;
//!   the holder EXITs and the challenger takes the link, ENTERed at once.
//! - Neither within [`CONTEST_WAIT`]: the holder is not there (it died,
//!   and a new process took its endpoint): the holder EXITs, the link
//!   moves to the challenger with our HELLO and a PING, and its ENTER
//!   waits for its PING-OK.
//!
//! An endpoint that was contested stays disputed (bounded, see
//! [`Overruled::dispute`](super::super::overruled)): whoever says HELLO for
//! it later is ENTERed only on its PING-OK. On a real LAN a claimant our
//! link does not reach expires us and says HELLO again, a new session each
//! time; without this each of those HELLOs ENTERed a peer we could not
//! reach, and the two claimants took turns at the observer for ever
//! (issue 25, fault 4).

use super::*;

/// How long a holder has to answer the PING of a contest: a round trip,
/// milliseconds on a LAN, with room for a loaded host.
pub(super) const CONTEST_WAIT: Duration = Duration::from_secs(1);

/// Contests under way at once at most; a claim beyond is refused for now
/// (its sender says HELLO again when its session with us restarts).
const MAX_CONTESTS: usize = 16;

/// A contest for `endpoint` between the peer that holds it and a
/// challenger whose HELLO claims it.
#[derive(Debug, Clone)]
pub(super) struct Contest {
    endpoint: Endpoint,
    holder: Uuid,
    challenger: Uuid,
    until: Instant,
    /// The holder left the table (it moved, restarted, went): a later
    /// entry under its UUID is another session, at another endpoint (a
    /// renumbered node says HELLO from its new address), which this
    /// contest must neither remove nor take the link of.
    holder_left: bool,
}

/// Whether `uuid` is the challenger of one of `contests`: it has no link
/// yet, so nothing is sent to it.
pub(super) fn challenging(contests: &[Contest], uuid: Uuid) -> bool {
    contests.iter().any(|c| c.challenger == uuid)
}

impl NodeCore {
    /// Opens a contest for `endpoint`, held by `holder` (a peer that said
    /// HELLO), claimed by `challenger`'s HELLO: PINGs the holder. False
    /// when the challenger must be refused for now (a contest for that
    /// endpoint is under way, or too many are).
    pub(super) fn open_contest(
        &mut self,
        now: Instant,
        endpoint: &Endpoint,
        holder: Uuid,
        challenger: Uuid,
    ) -> bool {
        if self.contests.len() >= MAX_CONTESTS || self.contests.iter().any(|c| c.endpoint == *endpoint) {
            debug!(
                "{} claims {endpoint}, which is being contested: refused for now",
                challenger.simple()
            );
            return false;
        }
        info!(
            "peers {} and {} both claim {endpoint}: the one that answers our PING there keeps it",
            holder.simple(),
            challenger.simple()
        );
        self.overruled.dispute(endpoint);
        self.contests.push(Contest {
            endpoint: endpoint.clone(),
            holder,
            challenger,
            until: now + CONTEST_WAIT,
            holder_left: false,
        });
        self.send(holder, &Body::Ping, None);
        true
    }

    /// Whether `uuid` waits for the outcome of a contest without a link.
    pub(super) fn is_challenger(&self, uuid: Uuid) -> bool {
        challenging(&self.contests, uuid)
    }

    /// When the earliest contest runs out.
    pub(super) fn contests_deadline(&self) -> Option<Instant> {
        self.contests.iter().map(|c| c.until).min()
    }

    /// Contests whose holder did not answer in time: the challenger wins.
    pub(super) fn contests_timeout(&mut self, now: Instant) {
        while let Some(i) = self.contests.iter().position(|c| now >= c.until) {
            let contest = self.contests.swap_remove(i);
            debug!(
                "{} did not answer at {} within {CONTEST_WAIT:?}: {} takes it",
                contest.holder.simple(),
                contest.endpoint,
                contest.challenger.simple()
            );
            self.challenger_wins(now, contest, false);
        }
    }

    /// A PING-OK from `uuid`: it decides a contest it is in; a peer that
    /// waits for proof that our link reaches it is ENTERed.
    pub(super) fn on_ping_ok(&mut self, now: Instant, uuid: Uuid) {
        if let Some(i) = self
            .contests
            .iter()
            .position(|c| c.holder == uuid && !c.holder_left)
        {
            let contest = self.contests.swap_remove(i);
            self.remove_peer(contest.challenger, Removal::Refused);
            self.refuse_conflict(now, contest.challenger, contest.holder, &contest.endpoint);
        } else if let Some(i) = self.contests.iter().position(|c| c.challenger == uuid) {
            let contest = self.contests.swap_remove(i);
            self.challenger_wins(now, contest, true);
            return;
        }
        self.proven(uuid);
    }

    /// Our link reaches `uuid` (its PING-OK came): ENTER if it waited.
    fn proven(&mut self, uuid: Uuid) {
        let Some(peer) = self.peers.get_mut(&uuid).filter(|p| p.needs_proof) else {
            return;
        };
        peer.needs_proof = false;
        debug!(
            "peer {} answered our PING at {}: entering it",
            uuid.simple(),
            peer.endpoint
        );
        self.enter_if_reachable(uuid);
    }

    /// The holder is not at the endpoint: it EXITs, the challenger takes
    /// the link (`answered`: its PING-OK came over it already).
    fn challenger_wins(&mut self, now: Instant, contest: Contest, answered: bool) {
        let Contest {
            endpoint,
            holder,
            challenger,
            holder_left,
            ..
        } = contest;
        let Some(key) = self.peers.get(&challenger).map(|p| p.curve_key) else {
            return;
        };
        let holder_link = self
            .peers
            .get(&holder)
            .filter(|_| !holder_left)
            .map(|p| (p.curve_key == key, p.link_up));
        if let Some((same_key, _)) = holder_link {
            info!(
                "peer {} replaced at {endpoint} by {}",
                holder.simple(),
                challenger.simple()
            );
            self.remove_peer(holder, Removal::Replaced { link_moves: same_key });
            self.overruled.beaten(holder, challenger);
        }
        let link_pending = self.link_pending();
        let Some(peer) = self.peers.get_mut(&challenger) else {
            return;
        };
        if answered {
            // Its PING-OK came over the link it takes: no PING owed.
            peer.needs_proof = false;
        }
        match holder_link {
            Some((true, link_up)) => {
                // The link moves; it carried our HELLO for the holder,
                // which the challenger has not seen: HELLO again (and a
                // PING, if its ENTER waits for one).
                self.peer_index.set_linked(peer, true);
                peer.link_up = link_up;
                peer.restart_sent_sequence();
                self.actions.push_back(Action::Relink {
                    from: holder,
                    to: challenger,
                });
                self.greet(now, challenger);
            }
            _ => {
                peer.link_up = !link_pending;
                self.link(now, challenger);
            }
        }
        self.enter_if_reachable(challenger);
    }

    /// `uuid` leaves the table: a contest it is in ends. A challenger
    /// whose holder left wins at the next timeout (`due`, a time already
    /// past), with a link of its own, ENTERed on its PING-OK.
    pub(super) fn leave_contests(&mut self, uuid: Uuid, due: Instant) {
        if let Some(i) = self.contests.iter().position(|c| c.challenger == uuid) {
            self.contests.swap_remove(i);
        } else if let Some(contest) = self.contests.iter_mut().find(|c| c.holder == uuid) {
            contest.until = due;
            contest.holder_left = true;
        }
    }
}
