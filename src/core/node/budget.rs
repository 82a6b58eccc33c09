//! Peer slots and links as budgets. Anyone can announce a peer (a beacon,
//! a gossip tuple), so announced peers get bounded room:
//!
//! - peers that said HELLO never lose their slot to announced ones; an
//!   announced peer takes at most [`NodeCore::max_pending`] slots;
//! - when those are full, a new announcement replaces the oldest announced
//!   peer, so a flood cannot keep a real peer out: its next beacon, or the
//!   next tuple, comes in again;
//! - but a host that holds a large share of the announced peers (a
//!   [`GREEDY_SHARE`]) replaces its own oldest, and a newcomer from another
//!   host replaces the oldest of such a host's: one host flooding forged
//!   UUIDs from its address cannot push out a real peer of another host
//!   before that peer had time to answer our HELLO;
//! - the announcements that found no room (or were replaced) are kept, a
//!   bounded number, and tried again when room frees up (stale tuples
//!   expire; a gossip server sends each tuple once);
//! - at most [`NodeCore::max_linking`] announced peers have a link (a
//!   DEALER: file descriptors) at once; the others wait, and the newest
//!   announcement gets the next turn. A link that had [`LINK_TURN`]
//!   without an answer gives its place to a newer announcement;
//! - a link the I/O layer could not open (no file descriptor left) is
//!   "not now": the peer waits, and no new link is tried for a tick.

use super::*;
use crate::core::endpoint::Host;
use crate::wire::CurveKey;
use std::collections::HashMap;

/// How long a link to an announced peer is kept before a newer
/// announcement may take its place: a peer on a LAN answers our HELLO in
/// milliseconds, one on a loaded host well within this.
pub const LINK_TURN: Duration = Duration::from_secs(1);

/// The part of the announced peers' slots (1/GREEDY_SHARE of them) from
/// which a host counts as greedy: when the slots are full, a greedy host's
/// own oldest announced peer makes room, before anyone else's.
pub(super) const GREEDY_SHARE: usize = 4;

/// The announced peers of one host (the address part of their endpoints).
#[derive(Debug, Default)]
struct HostShare {
    /// How many announced peers (not yet HELLO) the host has in the table.
    count: usize,
    /// Its announced peers, oldest first; entries of peers that left the
    /// announced state are skipped when met.
    order: VecDeque<Uuid>,
}

/// The host of an endpoint, as announced peers are counted by it: its
/// address (with the scope of a link-local one) or name. No allocation for
/// an address.
fn host_of(endpoint: &Endpoint) -> Host {
    endpoint.host.clone()
}

/// An announcement set aside for lack of room.
#[derive(Debug)]
struct Kept {
    uuid: Uuid,
    endpoint: Endpoint,
    key: Option<CurveKey>,
}

/// The queues of the budget. Entries are not removed when a peer leaves
/// a queue by another way: they are skipped when met.
#[derive(Debug, Default)]
pub(super) struct Budget {
    /// Announced peers in the order they came (oldest first).
    arrived: VecDeque<Uuid>,
    /// Announced peers with a link, in the order they got it.
    linking: VecDeque<(Instant, Uuid)>,
    /// Announced peers waiting for a link, newest last.
    waiting: Vec<Uuid>,
    /// Those of them from hosts that were not greedy when they came to
    /// wait, newest last: they get a link place before any of `waiting`.
    waiting_modest: Vec<Uuid>,
    /// Announcements waiting for room, newest last.
    kept: VecDeque<Kept>,
    /// After a link could not be opened, none is tried before this.
    pause_until: Option<Instant>,
    /// Announced peers (not yet HELLO) by host.
    hosts: HashMap<Host, HostShare>,
    /// The host each announced peer was counted under.
    host_by_peer: HashMap<Uuid, Host>,
}

impl Budget {
    pub(super) fn kept_len(&self) -> usize {
        self.kept.len()
    }

    pub(super) fn clear(&mut self) {
        *self = Budget::default();
    }

    /// Counts `uuid`, announced at `endpoint`, under its host.
    fn count_announced(&mut self, uuid: Uuid, endpoint: &Endpoint) {
        self.forget_announced(uuid);
        let host = host_of(endpoint);
        let share = self.hosts.entry(host.clone()).or_default();
        share.count += 1;
        share.order.push_back(uuid);
        if share.order.len() > 2 * share.count + 16 {
            let by_peer = &self.host_by_peer;
            share
                .order
                .retain(|u| by_peer.get(u).is_some_and(|h| *h == host) || *u == uuid);
        }
        self.host_by_peer.insert(uuid, host);
    }

    /// `uuid` is no longer an announced peer (it said HELLO, or left).
    pub(super) fn forget_announced(&mut self, uuid: Uuid) {
        let Some(host) = self.host_by_peer.remove(&uuid) else {
            return;
        };
        if let Some(share) = self.hosts.get_mut(&host) {
            share.count -= 1;
            if share.count == 0 {
                self.hosts.remove(&host);
            }
        }
    }

    /// How many announced peers `host` has.
    fn host_count(&self, host: &Host) -> usize {
        self.hosts.get(host).map_or(0, |s| s.count)
    }

    /// The oldest announced peer of `host`, taken out of its order.
    fn oldest_of(&mut self, host: &Host) -> Option<Uuid> {
        let share = self.hosts.get_mut(host)?;
        while let Some(uuid) = share.order.pop_front() {
            if self.host_by_peer.get(&uuid).is_some_and(|h| h == host) {
                return Some(uuid);
            }
        }
        None
    }
}

impl NodeCore {
    /// Whether announced peers wait for a link.
    pub(super) fn has_waiting(&self) -> bool {
        !self.budget.waiting.is_empty()
    }

    /// The most peers without HELLO the table holds: half of it.
    pub fn max_pending(&self) -> usize {
        (self.config.max_peers / 2).max(1)
    }

    /// The most peers without HELLO with a link at once.
    pub fn max_linking(&self) -> usize {
        self.config.max_linking.clamp(1, self.max_pending())
    }

    /// The I/O layer could not open the link [`Action::Connect`] asked
    /// for `peer` (no file descriptor left, EMFILE/ENFILE): not now. A
    /// peer that has not said HELLO waits for another turn; one that has
    /// cannot be answered, so it is removed (its next beacon or HELLO
    /// brings it back). No new link is tried for a tick.
    pub fn handle_connect_failed(&mut self, now: Instant, peer: Uuid) {
        self.stats.connects_deferred += 1;
        self.budget.pause_until = Some(now + self.reap_interval);
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        if p.ready {
            // The I/O layer opens a link as it carries out the actions of
            // the message that made the peer ready, before the
            // application takes the events: an ENTER still queued was
            // never seen. It is taken back, with what the peer said after
            // it, so that the application never sees a peer ENTER that we
            // could not send to, and EXIT at once. Forgotten quietly, it
            // is met again from its next announcement once a link opens
            // (and greets us again, see greet_again).
            let unseen = self
                .events
                .iter()
                .any(|e| matches!(e, Event::Enter { peer: p, .. } if *p == peer));
            if unseen {
                self.events.retain(|e| e.peer() != Some(peer));
                p.entered = false;
            }
            warn!(
                "cannot open a link to {} ({}): {}",
                p.name,
                peer.simple(),
                if unseen {
                    "not entering it now"
                } else {
                    "removing it"
                }
            );
            self.remove_peer(peer, Removal::ConnectFailed);
            return;
        }
        if p.linked {
            self.peer_index.set_linked(p, false);
            self.actions.push_back(Action::Disconnect { peer });
            // First in line again, on the lists it waited on before: on
            // `waiting` alone a peer of a modest host would go behind
            // every other modest one, a turn each.
            self.queue_waiting(peer);
        }
    }

    /// Queues an announced peer for a link place, newest (next) on
    /// `waiting`, and on `waiting_modest` too unless its host is greedy.
    fn queue_waiting(&mut self, uuid: Uuid) {
        let bound = 2 * self.max_pending() + 64;
        if !self.is_greedy_peer(uuid) {
            push_waiting(&mut self.budget.waiting_modest, uuid, bound, &self.peers);
        }
        push_waiting(&mut self.budget.waiting, uuid, bound, &self.peers);
    }

    /// Room for one more announced peer: when the announced ones fill
    /// their share (or the table is full), the oldest of them makes room
    /// and is kept for later. False when there is none to replace.
    pub(super) fn room_for_announcement(
        &mut self,
        now: Instant,
        uuid: Uuid,
        endpoint: &Endpoint,
        key: Option<CurveKey>,
    ) -> bool {
        let pending = self.peers.len() - self.ready_count();
        if pending < self.max_pending() && self.peers.len() < self.config.max_peers {
            return true;
        }
        if let Some(oldest) = self.announced_to_replace(endpoint) {
            let Some(peer) = self.peers.get(&oldest) else {
                return true;
            };
            debug!(
                "no room for another peer without HELLO: {} at {} gives its place to {}",
                oldest.simple(),
                peer.endpoint,
                uuid.simple()
            );
            let (endpoint, key) = (peer.endpoint.clone(), peer.curve_key);
            self.keep(oldest, endpoint, key);
            self.remove_peer(oldest, Removal::MadeRoom);
            return true;
        }
        if let Some(also) = self.logs.peer_limit.admit(now) {
            warn!(
                "peer table full ({} peers, all said HELLO; --max-peers is {}): keeping {} at {endpoint} for later{also}",
                self.peers.len(),
                self.config.max_peers,
                uuid.simple()
            );
        }
        self.keep(uuid, endpoint.clone(), key);
        false
    }

    /// Which announced peer makes room for a new announcement at
    /// `endpoint`: a greedy host's own oldest if the newcomer's host is
    /// greedy; else the oldest of any greedy host; else the oldest.
    fn announced_to_replace(&mut self, endpoint: &Endpoint) -> Option<Uuid> {
        let host = host_of(endpoint);
        if self.is_greedy_host(&host) {
            if let Some(own) = self.budget.oldest_of(&host) {
                return Some(own);
            }
        }
        // The oldest of a greedy host: a scan of the arrivals, which only
        // a newcomer from a host with a small share makes.
        let greedy_at = self.budget.arrived.iter().position(|u| {
            self.budget
                .host_by_peer
                .get(u)
                .is_some_and(|h| self.is_greedy_host(h))
        });
        if let Some(at) = greedy_at {
            return self.budget.arrived.remove(at);
        }
        while let Some(oldest) = self.budget.arrived.pop_front() {
            if self.peers.get(&oldest).is_some_and(|p| !p.ready) {
                return Some(oldest);
            }
        }
        None
    }

    /// Sets an announcement aside, the newest kept, the oldest forgotten
    /// past the bound.
    fn keep(&mut self, uuid: Uuid, endpoint: Endpoint, key: Option<CurveKey>) {
        self.stats.announcements_dropped += 1;
        if self.budget.kept.back().is_some_and(|k| k.uuid == uuid) {
            return;
        }
        if self.budget.kept.len() >= self.max_pending() {
            self.budget.kept.pop_front();
        }
        self.budget.kept.push_back(Kept { uuid, endpoint, key });
    }

    /// A new announced peer came into the table.
    pub(super) fn announced(&mut self, now: Instant, uuid: Uuid) {
        if let Some(peer) = self.peers.get(&uuid) {
            self.budget.count_announced(uuid, &peer.endpoint);
        }
        self.budget.arrived.push_back(uuid);
        if self.budget.arrived.len() > 2 * self.max_pending() + 64 {
            let peers = &self.peers;
            self.budget
                .arrived
                .retain(|u| peers.get(u).is_some_and(|p| !p.ready));
        }
        self.link_announced(now, uuid);
    }

    /// An announced peer (new, or announced again while it waits) gets a
    /// link if there is room, or the place of a link that had its turn;
    /// else it waits, first in line.
    pub(super) fn link_announced(&mut self, now: Instant, uuid: Uuid) {
        if self.peers.get(&uuid).is_none_or(|p| p.linked || p.ready) {
            return;
        }
        let paused = self.budget.pause_until.is_some_and(|until| now < until);
        if !paused && self.linked_pending() >= self.max_linking() {
            self.end_oldest_turn(now);
        }
        if paused || self.linked_pending() >= self.max_linking() {
            self.queue_waiting(uuid);
            return;
        }
        // A place for a greedy host's newcomer goes to a peer of another
        // host that waits, if one does: a flood's newest announcements
        // take every place that frees up, and would keep it waiting.
        if self.is_greedy_peer(uuid) {
            if let Some(modest) = self.next_modest() {
                self.budget.waiting.push(uuid);
                self.link(now, modest);
                return;
            }
        }
        self.link(now, uuid);
    }

    /// Whether `host` holds a greedy share of the announced peers.
    fn is_greedy_host(&self, host: &Host) -> bool {
        self.budget.host_count(host) >= (self.max_pending() / GREEDY_SHARE).max(1)
    }

    /// Whether `uuid` is an announced peer of a greedy host.
    fn is_greedy_peer(&self, uuid: Uuid) -> bool {
        self.budget
            .host_by_peer
            .get(&uuid)
            .is_some_and(|host| self.is_greedy_host(host))
    }

    /// The newest waiting peer of a modest host (newest, as in `waiting`:
    /// a stale announcement is older than a live one's latest).
    fn next_modest(&mut self) -> Option<Uuid> {
        pop_waiting(&mut self.budget.waiting_modest, &self.peers)
    }

    /// The next waiting peer to get a link place: a modest host's first.
    fn next_waiting(&mut self) -> Option<Uuid> {
        self.next_modest()
            .or_else(|| pop_waiting(&mut self.budget.waiting, &self.peers))
    }

    /// One announced peer took up a link's place and no longer does: the
    /// newest waiting peer gets the place.
    pub(super) fn link_next_waiting(&mut self, now: Instant) {
        if self.budget.pause_until.is_some_and(|until| now < until) {
            return;
        }
        if let Some(uuid) = self.next_waiting() {
            self.link(now, uuid);
        }
    }

    /// Unlinks the announced peer linked longest, if it had its turn;
    /// true if one was.
    fn end_oldest_turn(&mut self, now: Instant) -> bool {
        while let Some(&(since, uuid)) = self.budget.linking.front() {
            let Some(peer) = self.peers.get_mut(&uuid).filter(|p| p.linked && !p.ready) else {
                self.budget.linking.pop_front();
                continue;
            };
            if now < since + LINK_TURN {
                return false;
            }
            self.budget.linking.pop_front();
            self.peer_index.set_linked(peer, false);
            self.budget.waiting.insert(0, uuid);
            self.actions.push_back(Action::Disconnect { peer: uuid });
            return true;
        }
        false
    }

    /// Each tick: links for waiting peers while there is room, then
    /// announcements kept for later while announced peers have room.
    pub(super) fn fill_budget(&mut self, now: Instant) {
        if self.budget.pause_until.is_some_and(|until| now < until) {
            return;
        }
        if !self.budget.waiting.is_empty() {
            let mut linked = self.linked_pending();
            // Links that had their turn give way to waiting peers here too,
            // not only when a new announcement comes: after a burst (a
            // gossip server's stale tuples) none may come, and dead links
            // would hold every place until they expire.
            while linked >= self.max_linking() && self.end_oldest_turn(now) {
                linked -= 1;
            }
            while linked < self.max_linking() {
                let Some(uuid) = self.next_waiting() else {
                    break;
                };
                self.link(now, uuid);
                linked += 1;
            }
        }
        while !self.budget.kept.is_empty() {
            let pending = self.peers.len() - self.ready_count();
            if pending >= self.max_pending() || self.peers.len() >= self.config.max_peers {
                break;
            }
            let Some(kept) = self.budget.kept.pop_back() else {
                break;
            };
            if !self.peers.contains_key(&kept.uuid) {
                self.require_peer(now, kept.uuid, &kept.endpoint, Evidence::Announced, kept.key);
            }
        }
    }

    /// Opens a peer's link: Connect, then our HELLO (numbered 1: a new
    /// link, a new session at the other end).
    pub(super) fn link(&mut self, now: Instant, uuid: Uuid) {
        let Some(peer) = self.peers.get_mut(&uuid) else {
            return;
        };
        self.peer_index.set_linked(peer, true);
        peer.restart_sent_sequence();
        if !peer.ready {
            self.budget.linking.push_back((now, uuid));
            if self.budget.linking.len() > 2 * self.max_linking() + 64 {
                let peers = &self.peers;
                self.budget
                    .linking
                    .retain(|(_, u)| peers.get(u).is_some_and(|p| p.linked && !p.ready));
            }
        }
        let Some(peer) = self.peers.get(&uuid) else {
            return;
        };
        self.actions.push_back(Action::Connect {
            peer: uuid,
            endpoint: peer.endpoint.clone(),
            curve_server_key: peer.curve_key,
        });
        self.greet(now, uuid);
    }

    /// Our HELLO on `uuid`'s link, then, if it said HELLO (so the link
    /// goes where it says it is) and its ENTER waits for proof that the
    /// link reaches it, a PING: its PING-OK is that proof (handshake.rs).
    /// A peer answers a PING only on a link that carried our HELLO, so the
    /// two go together.
    pub(super) fn greet(&mut self, now: Instant, uuid: Uuid) {
        self.send_hello(uuid);
        if self.peers.get(&uuid).is_some_and(|p| p.ready) {
            self.ask_proof(now, uuid);
        }
    }

    /// A PING to `uuid` if its ENTER waits for its PING-OK.
    pub(super) fn ask_proof(&mut self, now: Instant, uuid: Uuid) {
        let Some(peer) = self.peers.get_mut(&uuid).filter(|p| p.needs_proof) else {
            return;
        };
        peer.proof_asked_at = Some(now);
        self.send(uuid, &Body::Ping, None);
    }

    /// Our HELLO to `uuid`, on its link.
    pub(super) fn send_hello(&mut self, uuid: Uuid) {
        let groups = self.groups.own();
        let headers = super::curve::hello_headers(&self.config, self.own_key_text.as_deref());
        let hello = Body::Hello(Box::new(Hello {
            endpoint: &self.config.endpoint,
            groups,
            status: self.status,
            name: &self.name,
            headers,
        }));
        let Some(peer) = self.peers.get_mut(&uuid) else {
            return;
        };
        if let Some(header) = emit_for(peer, &hello, &mut self.emit_buffer) {
            self.actions.push_back(Action::Send {
                peer: uuid,
                header,
                content: None,
            });
        }
    }
}

/// Whether `uuid` is an announced peer that still waits for a link.
fn still_waiting(peers: &SortedTable<Uuid, Peer>, uuid: &Uuid) -> bool {
    peers.get(uuid).is_some_and(|p| !p.linked && !p.ready)
}

/// Queues `uuid` (newest last) on a waiting list; past `bound` entries the
/// list drops those that no longer wait.
fn push_waiting(list: &mut Vec<Uuid>, uuid: Uuid, bound: usize, peers: &SortedTable<Uuid, Peer>) {
    list.push(uuid);
    if list.len() > bound {
        list.retain(|u| still_waiting(peers, u));
    }
}

/// The newest entry of a waiting list that still waits.
fn pop_waiting(list: &mut Vec<Uuid>, peers: &SortedTable<Uuid, Peer>) -> Option<Uuid> {
    while let Some(uuid) = list.pop() {
        if still_waiting(peers, &uuid) {
            return Some(uuid);
        }
    }
    None
}
