//! Liveness of peers (RFC 36 "Peer Liveness"), per peer and without a
//! scan: each peer has one entry in a heap of deadlines, so a tick costs
//! the peers that are due, not all of them.
//!
//! A peer silent for the evasive timeout gets a PING (and the application
//! EVASIVE); if the PING is still unanswered after the ping wait, SILENT,
//! and with fast EXIT its inbox port is probed: only a peer that did not
//! answer is probed, never one that merely had nothing to say. Silent for
//! the expired timeout, it is removed (EXIT).
//!
//! Deadlines are rounded up to the node's tick grid (the reap interval,
//! one second by default, in phase with the beacons), so an idle node
//! wakes at most once a tick however many peers it has. A leaving peer's
//! end of grace is kept exact: it goes when its grace ends, not a tick
//! later. Entries are not removed when a peer is refreshed: an entry that
//! comes due early is looked at and put back at the peer's new deadline,
//! which costs one heap operation per peer per evasive period at most.

use super::*;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The heap of peer deadlines.
#[derive(Debug, Default)]
pub(super) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, Uuid)>>,
    /// The tick grid's origin (the node's start).
    origin: Option<Instant>,
    /// Peer checks done (entries popped), for the node's counters.
    pub(super) checks: u64,
}

impl Timers {
    pub(super) fn new(origin: Instant) -> Timers {
        Timers {
            origin: Some(origin),
            ..Timers::default()
        }
    }

    /// `at` rounded up to the grid of `interval`.
    fn round_up(&self, at: Instant, interval: Duration) -> Instant {
        let Some(origin) = self.origin.filter(|o| at > *o) else {
            return at;
        };
        let step = interval.as_nanos().max(1);
        let since = (at - origin).as_nanos();
        let ticks = since.div_ceil(step);
        let rounded = ticks.saturating_mul(step);
        origin + Duration::from_nanos(u64::try_from(rounded).unwrap_or(u64::MAX))
    }

    /// The earliest entry.
    pub(super) fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    pub(super) fn clear(&mut self) {
        self.heap.clear();
    }
}

impl NodeCore {
    /// Makes sure `uuid` is looked at by `at` (rounded up to the tick
    /// grid, or exactly for a leaving peer).
    pub(super) fn schedule(&mut self, uuid: Uuid) {
        let Some(peer) = self.peers.get_mut(&uuid) else {
            return;
        };
        let paused = self.reading_paused_since.map(|_| self.config.evasive);
        let at = peer.next_check(self.reap_interval, paused);
        let key = if peer.leaving.is_some() {
            at
        } else {
            self.timers.round_up(at, self.reap_interval)
        };
        if peer.scheduled.is_some_and(|s| s <= key) {
            return;
        }
        peer.scheduled = Some(key);
        self.timers.heap.push(Reverse((key, uuid)));
        // Entries of removed or rescheduled peers are skipped when they
        // come due; a flood of short-lived entries is swept away here.
        if self.timers.heap.len() > 2 * self.peers.len() + 1024 {
            let live = self
                .peers
                .values()
                .filter_map(|p| p.scheduled.map(|s| Reverse((s, p.uuid))));
            self.timers.heap = live.collect();
        }
    }

    /// The I/O layer stops (`true`) or resumes reading our inbox: the
    /// application has not taken its events (back-pressure). Meanwhile
    /// peers' messages wait unread, so no peer is reported SILENT or
    /// EXITed for silence: an evasive peer is PINGed once per evasive
    /// period instead, which keeps us alive in its eyes although its
    /// PINGs to us wait unanswered. On resuming after a pause of a tick
    /// or more, every peer's deadlines move on by the pause, and a PING
    /// in flight counts as sent now: what it sent meanwhile is read
    /// before its silence is judged. A peer that went away during the
    /// pause is EXITed an expired timeout (less what it was already
    /// silent) after the resume, or at once by fast EXIT.
    pub fn set_reading_paused(&mut self, now: Instant, paused: bool) {
        match (self.reading_paused_since, paused) {
            (None, true) => self.reading_paused_since = Some(now),
            (Some(since), false) => {
                self.reading_paused_since = None;
                let pause = now.saturating_duration_since(since);
                // A shorter pause (the queue at its bound under load, for
                // a moment) changes nothing: reading goes on at once.
                if pause < self.reap_interval {
                    return;
                }
                let uuids: Vec<Uuid> = self.peers.keys().copied().collect();
                for uuid in uuids {
                    if let Some(peer) = self.peers.get_mut(&uuid) {
                        peer.resume_after(now, pause);
                        // Looked at anew: the paused rule's next check may
                        // lie beyond the normal one.
                        peer.scheduled = None;
                    }
                    self.schedule(uuid);
                }
            }
            _ => {}
        }
    }

    /// Our queue to `peer` moved (the I/O layer's backlog went into
    /// libzmq, which had had no room for it): the peer's process read what
    /// was ahead of it, which proves it alive as a message from it would.
    /// A peer that only reads (a `zrecat` at the end of a slow pipe) sends
    /// nothing, and answers our PINGs only once it has read the data
    /// queued before them: without this it expired while reading, and
    /// what was queued for it was lost (a receiver at 1 MB/s behind 16 MiB
    /// of queue, against the expired timeout of 30 s).
    pub fn handle_link_drained(&mut self, now: Instant, peer: Uuid) {
        let (evasive, expired) = (self.config.evasive, self.config.expired);
        if let Some(peer) = self.peers.get_mut(&peer).filter(|p| p.ready) {
            peer.refresh(now, evasive, expired);
        }
    }

    /// Runs the liveness checks that are due at `now`.
    pub(super) fn reap(&mut self, now: Instant) {
        while let Some(Reverse((key, uuid))) = self.timers.heap.peek().copied() {
            if key > now {
                break;
            }
            self.timers.heap.pop();
            let Some(peer) = self.peers.get_mut(&uuid).filter(|p| p.scheduled == Some(key)) else {
                continue;
            };
            self.timers.checks += 1;
            peer.scheduled = None;
            self.check_peer(now, key, uuid);
            self.schedule(uuid);
        }
    }

    /// One peer's liveness at `now`: PING when evasive, SILENT and a probe
    /// when the PING went unanswered, EXIT when expired. `due` is the
    /// tick the check was due at (`now` or a little before: a loop wakes
    /// late). The deadlines are judged at that tick, and a PING counts
    /// from it, so that EVASIVE, SILENT and EXIT fall on the ticks they
    /// were rounded up to: judged at `now`, a wake a millisecond late
    /// found a deadline just after the tick already passed, and a short
    /// expired timeout (`--evasive 1 --expired 3`) took the peer in the
    /// pass meant for its SILENT. A wake later than half a tick is judged
    /// at `now`: a PING's answer gets at least half a tick, never a
    /// judgement in the pass that sent it.
    fn check_peer(&mut self, now: Instant, due: Instant, uuid: Uuid) {
        let at = if now.saturating_duration_since(due) <= self.reap_interval / 2 {
            due.min(now)
        } else {
            now
        };
        let regreet_due = self
            .peers
            .get(&uuid)
            .and_then(|p| p.regreet_at)
            .is_some_and(|at| now >= at);
        if regreet_due && self.regreet_after_move(now, uuid) {
            // A new entry, with deadlines of its own.
            return;
        }
        let Some(peer) = self.peers.get_mut(&uuid) else {
            return;
        };
        // A SILENT peer's entry waits for its expiry (`Peer::next_check`),
        // and a message from it, which moves its deadlines earlier, does
        // not touch the heap (the message path stays lean). So it is
        // looked at every evasive period while SILENT: one heard from
        // meanwhile is checked before its new evasive deadline (a peer
        // frozen 12 s, thawed, then frozen again 12 s later went EVASIVE
        // 9-11 s after its last message, at the old expiry's entry).
        peer.silent_recheck_at = peer.silent_reported.then(|| at + self.config.evasive);
        if peer.reprobe_at.is_some_and(|at| now >= at) {
            // Its port was open but silent (see `handle_link_silent`).
            peer.reprobe_at = None;
            if self.config.fast_exit && peer.ready && peer.probe.is_none() {
                fast_exit::start_probe(&mut self.stats, &mut self.next_probe, &mut self.actions, peer);
            }
        }
        if self.reading_paused_since.is_some() {
            // Its messages, the answer to our PING among them, may wait
            // unread in our inbox: neither SILENT nor EXIT can be judged.
            // A PING every evasive period keeps us alive in its eyes.
            let due = match peer.ping_sent_at {
                None => at >= peer.evasive_at,
                Some(sent) => at >= sent + self.config.evasive,
            };
            if !due {
                return;
            }
            if !peer.evasive_reported && peer.entered {
                self.events.push_back(Event::Evasive {
                    peer: uuid,
                    name: peer.name.clone(),
                });
            }
            peer.evasive_reported = true;
            peer.ping_sent_at = Some(at);
            self.stats.pings_sent += 1;
            self.send(uuid, &Body::Ping, None);
            return;
        }
        if at >= peer.expired_at {
            if peer.leave_check.is_some() && self.config.fast_exit {
                // A port-0 beacon's PING went unanswered for its grace: the
                // peer's port says whether it is gone (see `leaving.rs`).
                leaving::check_port(
                    &mut self.stats,
                    &mut self.next_probe,
                    &mut self.actions,
                    peer,
                    at,
                    self.config.evasive,
                );
                return;
            }
            info!("peer {} expired", uuid.simple());
            self.remove_peer(uuid, Removal::Expired);
            return;
        }
        if peer.leaving.is_some() {
            // It said it is leaving (a port-0 beacon): it goes on its
            // GOODBYE or at the end of its grace, with EXIT alone, as
            // Zyre's peers go at once; neither EVASIVE nor SILENT, which
            // the grace's exact deadline would otherwise report when its
            // evasive one had just passed.
            return;
        }
        if peer.ping_sent_at.is_none() && at >= peer.evasive_at {
            peer.ping_sent_at = Some(at);
            peer.evasive_reported = true;
            if peer.entered {
                self.events.push_back(Event::Evasive {
                    peer: uuid,
                    name: peer.name.clone(),
                });
            }
            self.stats.pings_sent += 1;
            self.send(uuid, &Body::Ping, None);
            return;
        }
        let unanswered = peer
            .ping_sent_at
            .is_some_and(|sent| at >= sent + self.reap_interval);
        if unanswered && !peer.silent_reported {
            peer.silent_reported = true;
            peer.silent_recheck_at = Some(at + self.config.evasive);
            if !peer.entered {
                return;
            }
            self.events.push_back(Event::Silent {
                peer: uuid,
                name: peer.name.clone(),
            });
            // Fast EXIT's second chance: a closed connection that went
            // unseen, or a probe that raced the dying process, would
            // otherwise leave a dead peer to its expiry. Only a peer that
            // did not answer our PING is probed.
            if self.config.fast_exit && peer.probe.is_none() {
                fast_exit::start_probe(&mut self.stats, &mut self.next_probe, &mut self.actions, peer);
            }
        }
    }
}
