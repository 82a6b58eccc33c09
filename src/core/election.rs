//! Group leader election as Zyre 2.0.1 holds it (DRAFT API: `zyre_election.c`
//! and the ELECT/LEADER handling in `zyre_node.c`): an echo-wave over the
//! members of a group, one state machine per group we are in. No I/O, no
//! clock: the node feeds it membership changes, ELECT and LEADER messages
//! and the time, and carries out the [`Output`]s.
//!
//! The algorithm (a group is a complete graph of its members):
//! - A contesting member starts a wave: ELECT(own UUID) to every member.
//! - A member that gets ELECT(r) with r superior to its current active
//!   wave (CAW) — no wave yet, or r sorts before it — takes r as its CAW,
//!   the sender as its father, and forwards ELECT(r) to every member but
//!   the father. Inferior challengers are ignored.
//! - Each ELECT(CAW) received counts as an echo. Once every member has
//!   echoed, a member answers its father with ELECT(CAW); the challenger
//!   itself has won and sends LEADER(own UUID) to every member.
//! - A member forwards the first LEADER(r) it gets to every member; once
//!   LEADER(r) came from every member, r is the leader: LEADER event.
//!
//! Superior = smaller UUID: Zyre compares the 32-upper-case-hex strings
//! with `strcmp`, which orders as the UUID bytes, as [`Uuid`]'s `Ord` does.
//! So a group of our nodes and Zyre's agrees on the winner.
//!
//! Where we differ from Zyre, beyond never asserting: echoes are counted
//! per member (a duplicate does not count twice, so a restarted wave cannot
//! overshoot Zyre's exact count and hang); a member that leaves stops being
//! waited for (the election goes on without it, restarting only when it
//! was the challenger or our father); a member that joins during the echo
//! phase is sent the ELECT every other member got, instead of a restart
//! (see [`Elections::member_joined`]), and one that joins while the
//! leader is being decided gets the ELECT and LEADER of a wave we follow,
//! instead of our dropping it; a contester that gets the wave of a challenger it beats
//! challenges too (Zyre's would support it if no change had made it
//! challenge first: then the smallest contester need not win); a second
//! ELECT from a challenger itself is its wave restarted, joined afresh
//! (Zyre counts it into the old wave and may never answer), with the
//! members that took up the stalled or restarted wave still counted until
//! membership changes (a Zyre holding that wave never forwards it again,
//! see `GroupElection::stalled`); and a wave
//! that made no progress for a while is dropped
//! (follower) or restarted (challenger), and a contester that followed it
//! challenges unless an election completed since membership last changed,
//! so that an election caught in a race with a membership change still
//! completes.
//!
//! Living with Zyre's counts (see `election/zyre_model.rs`, which replays
//! them beside ours): a challenger whose wave an inferior contester took
//! part in and then dropped (its own ELECT follows: Zyre drops its wave
//! on every JOIN) challenges again at once; the leader's own ELECT after
//! an election is a new wave of it (Zyre's, on a JOIN that has not reached
//! us yet), never a late echo; another member's ELECT naming the leader
//! after an election is a late echo (Zyre's) or that new wave forwarded
//! ahead of the JOIN that started it, held until the JOIN comes (see
//! `GroupElection::held`); and after a fast EXIT (we drop a dead peer
//! before the others expire it) our wave is not repeated before they can
//! have expired it, since Zyre would count the repeat as the dead member's
//! echo and elect another leader than we do.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// A follower drops a wave that made no progress for this long. Messages
/// of one wave arrive within milliseconds; only a race with a membership
/// change stalls one.
pub(crate) const FOLLOWER_PATIENCE: Duration = Duration::from_secs(2);

/// A challenger restarts a stalled wave after this long, longer than
/// [`FOLLOWER_PATIENCE`] so that every follower has dropped the stale
/// wave by then; doubled on each restart in a row, up to
/// [`MAX_CHALLENGER_PATIENCE`] (a peer that never answers ELECT — pyre,
/// zyre.js, haskell-zre — must not get one every few seconds forever).
pub(crate) const CHALLENGER_PATIENCE: Duration = Duration::from_secs(3);
pub(crate) const MAX_CHALLENGER_PATIENCE: Duration = Duration::from_secs(48);

/// How long after a fast-exited peer would expire at the other members we
/// assume they have dropped it too: Zyre looks for expired peers once a
/// second (its REAP_INTERVAL), and a beacon may reach it a little later
/// than us.
pub(crate) const REAP_MARGIN: Duration = Duration::from_millis(1500);

/// What the node must do for the elections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Output {
    /// Send ELECT (group, challenger) to a peer.
    Elect {
        to: Uuid,
        group: Arc<str>,
        challenger: Uuid,
    },
    /// Send LEADER (group, leader) to a peer.
    Leader { to: Uuid, group: Arc<str>, leader: Uuid },
    /// The election in `group` is over: report `leader` (maybe us).
    Elected { group: Arc<str>, leader: Uuid },
}

/// Why an ELECT or LEADER was ignored (logged, rate-limited, by the node).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ignored {
    /// For a group we are not in.
    NotOurGroup,
    /// From a peer that is not in the group.
    NotAMember,
    /// The challenger or leader is not a UUID, or a peer we do not know.
    UnknownUuid,
    /// A LEADER for no wave of ours, or for another challenger than ours.
    OutOfOrder,
}

impl Ignored {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Ignored::NotOurGroup => "a group we are not in",
            Ignored::NotAMember => "a peer not in the group",
            Ignored::UnknownUuid => "an unknown UUID",
            Ignored::OutOfOrder => "out of order",
        }
    }
}

/// One wave we take part in: Zyre's `zyre_election_t`.
#[derive(Debug)]
struct Wave {
    /// The current active wave: its challenger.
    caw: Uuid,
    /// Who brought the wave to us; `None` when it is ours.
    father: Option<Uuid>,
    /// Members whose ELECT(caw) we counted.
    echoes: BTreeSet<Uuid>,
    /// We answered our father (or, as challenger, sent LEADER).
    echoed: bool,
    /// Members whose LEADER(caw) we counted.
    leaders: BTreeSet<Uuid>,
    /// We sent or forwarded LEADER.
    leader_sent: bool,
    /// Dropped (follower) or restarted (challenger) when this passes.
    deadline: Instant,
}

#[derive(Debug, Default)]
struct GroupElection {
    wave: Option<Wave>,
    /// The winner of the last election that completed here.
    leader: Option<Uuid>,
    /// That election completed and membership has not changed since: an
    /// ELECT naming its winner is a late echo (Zyre can echo after it
    /// forwarded LEADER), not a new election.
    settled: bool,
    /// Restarts of our stalled wave in a row (for the back-off).
    restarts: u32,
    /// A member we dropped early (fast EXIT) may still be a member at the
    /// others (Zyre) until then: a wave of ours waits for its echo there,
    /// and an ELECT of ours repeated before then is counted as an echo.
    /// So our wave is not restarted before this.
    others_until: Option<Instant>,
    /// ELECTs naming the settled leader that looked like late echoes:
    /// (sender, when). Each member sends ELECT(c) to each other member once
    /// per wave, and only each link is FIFO: the leader's new wave (on a
    /// JOIN that has not reached us yet) can come to us forwarded by a
    /// member that saw the JOIN first. Such a forward is the one ELECT that
    /// member sends us in the new wave, so it is held, not forgotten: when
    /// the JOIN arrives it is handled as if it came after it, and a new
    /// wave of the leader counts it as that member's echo. A real late
    /// echo (Zyre's) is dropped after [`FOLLOWER_PATIENCE`].
    held: Vec<(Uuid, Instant)>,
    /// The challenger of the last wave we followed that stalled, and the
    /// members whose ELECT for it we had counted. A Zyre forwards ELECT(c)
    /// once per wave of c it takes up, and keeps that wave (with its
    /// count) until it sees a membership change or a superior challenger:
    /// when c restarts, a Zyre already holding c sends us nothing again,
    /// and waiting for it would stall every restart. So those members
    /// stay counted in c's next wave until membership changes.
    stalled: Option<(Uuid, BTreeSet<Uuid>)>,
}

impl GroupElection {
    /// A member joined or left: no election has completed since, the
    /// back-off starts over, and a stalled wave's members count no more
    /// (a Zyre drops its wave on the change).
    fn membership_changed(&mut self) {
        self.restarts = 0;
        self.settled = false;
        self.stalled = None;
    }
}

/// The elections of every group we are in.
#[derive(Debug)]
pub(crate) struct Elections {
    me: Uuid,
    now: Instant,
    /// Groups we contest (`zyre_set_contest_in_group`); kept across a
    /// leave and a re-join, as in Zyre.
    contested: BTreeSet<Arc<str>>,
    /// One entry per group we are in.
    groups: BTreeMap<Arc<str>, GroupElection>,
}

static NOBODY: BTreeSet<Uuid> = BTreeSet::new();

impl Elections {
    pub(crate) fn new(me: Uuid, now: Instant) -> Self {
        Elections {
            me,
            now,
            contested: BTreeSet::new(),
            groups: BTreeMap::new(),
        }
    }

    /// The time of the input being handled (commands carry none: they use
    /// the last one seen).
    #[inline]
    pub(crate) fn set_clock(&mut self, now: Instant) {
        // A batch of messages is read at one time: an equal one, the
        // common case, is settled with one compare.
        if now > self.now {
            self.now = now;
        }
    }

    /// The latest time seen.
    pub(crate) fn clock(&self) -> Instant {
        self.now
    }

    /// The leader the last completed election in `group` chose.
    pub(crate) fn leader(&self, group: &str) -> Option<Uuid> {
        self.groups.get(group).and_then(|g| g.leader)
    }

    /// Whether an election is under way in `group` at our end.
    pub(crate) fn in_progress(&self, group: &str) -> bool {
        self.groups.get(group).is_some_and(|g| g.wave.is_some())
    }

    /// Whether any group has an election's state (a cheap test before
    /// [`Elections::next_deadline`] walks them).
    pub(crate) fn has_groups(&self) -> bool {
        !self.groups.is_empty()
    }

    /// The next deadline of a wave, if any.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.groups
            .values()
            .filter_map(|g| g.wave.as_ref().map(|w| w.deadline))
            .min()
    }

    // ----- membership --------------------------------------------------------

    /// We contest `group` from now on; if we are in it with peers, we
    /// challenge at once.
    pub(crate) fn contest(
        &mut self,
        group: Arc<str>,
        members: Option<&BTreeSet<Uuid>>,
        out: &mut Vec<Output>,
    ) {
        if !self.contested.insert(group.clone()) {
            return;
        }
        if self.groups.contains_key(&group) {
            self.challenge(&group, members.unwrap_or(&NOBODY), out);
        }
    }

    /// We joined `group`: a contesting node challenges its members.
    pub(crate) fn joined(
        &mut self,
        group: Arc<str>,
        members: Option<&BTreeSet<Uuid>>,
        out: &mut Vec<Output>,
    ) {
        self.groups.entry(group.clone()).or_default();
        if self.contested.contains(&group) {
            self.challenge(&group, members.unwrap_or(&NOBODY), out);
        }
    }

    /// We left `group`: its election is no business of ours any more.
    pub(crate) fn left(&mut self, group: &str) {
        self.groups.remove(group);
    }

    /// We stopped: every peer is gone.
    pub(crate) fn clear(&mut self) {
        self.groups.clear();
    }

    /// `peer` joined `group` (by JOIN or in its HELLO). A contester with
    /// no wave, or one it beats, challenges (as in Zyre). A wave in its
    /// echo phase takes the newcomer in: we send it the ELECT we sent every
    /// other member (Zyre restarts the wave instead; a restart with the
    /// same challenger cannot be told from the old wave by members that
    /// missed the join, and stalls). A wave already deciding its leader
    /// is restarted by its challenger; a member that follows it sends the
    /// newcomer the ELECT and the LEADER every other member got and goes
    /// on: the newcomer is often a member that only we lost and met again
    /// (a link outage or a stop between the two of us), so the challenger
    /// saw no change and will not restart, and a wave dropped here would
    /// leave us with no leader while every other member has one. A
    /// newcomer that is new to the group gets the challenger's restart.
    pub(crate) fn member_joined(
        &mut self,
        group: &Arc<str>,
        peer: Uuid,
        members: Option<&BTreeSet<Uuid>>,
        out: &mut Vec<Output>,
    ) {
        let members = members.unwrap_or(&NOBODY);
        let contest = self.contested.contains(group);
        let me = self.me;
        let Some(state) = self.groups.get_mut(group) else {
            return;
        };
        state.membership_changed();
        let held = std::mem::take(&mut state.held);
        let leader = state.leader;
        match state.wave.as_ref() {
            // A wave in its echo phase that we follow or is ours, or one
            // deciding its leader that we follow (a follower's wave is
            // never ours): the newcomer gets what every member got.
            Some(wave) if (wave.caw <= me || !contest) && (!wave.leader_sent || wave.father.is_some()) => {
                out.push(Output::Elect {
                    to: peer,
                    group: group.clone(),
                    challenger: wave.caw,
                });
                if wave.leader_sent {
                    out.push(Output::Leader {
                        to: peer,
                        group: group.clone(),
                        leader: wave.caw,
                    });
                }
            }
            _ if contest => self.challenge(group, members, out),
            _ => state.wave = None,
        }
        // ELECTs of the leader's new wave that came before this JOIN: now
        // in the order a member that saw the JOIN first had them.
        if let Some(leader) = leader {
            let now = self.now;
            for (from, _) in held.into_iter().filter(|&(_, at)| now < at + FOLLOWER_PATIENCE) {
                // `from` is a member (checked when held) unless it left
                // since: then `check` refuses it.
                let _ = self.elect(from, group, leader, true, Some(members), out);
            }
        }
    }

    /// `peer` left `group` (LEAVE, EXIT, expired). `others_until`: we
    /// dropped it before the other members can have (a fast EXIT, see
    /// `core/node/fast_exit.rs`): they may count it as a member until
    /// then, so a wave of ours is not restarted before.
    pub(crate) fn member_left(
        &mut self,
        group: &Arc<str>,
        peer: Uuid,
        others_until: Option<Instant>,
        members: Option<&BTreeSet<Uuid>>,
        out: &mut Vec<Output>,
    ) {
        let members = members.unwrap_or(&NOBODY);
        let contest = self.contested.contains(group);
        let Some(state) = self.groups.get_mut(group) else {
            return;
        };
        state.membership_changed();
        if let Some(until) = others_until {
            state.others_until = state.others_until.max(Some(until));
        }
        let leader_left = state.leader == Some(peer);
        if leader_left {
            state.leader = None;
        }
        let wave_lost = state
            .wave
            .as_ref()
            .is_some_and(|w| w.caw == peer || w.father == Some(peer));
        if wave_lost || members.is_empty() {
            state.wave = None;
        }
        if (leader_left || wave_lost) && contest {
            self.challenge(group, members, out);
        } else if state.wave.is_some() {
            // The wave goes on without it: it may be complete now.
            self.progress(group, members, out);
        }
    }

    // ----- messages ----------------------------------------------------------

    /// ELECT from `from` in `group` naming `challenger`; `known` says
    /// whether the challenger is us or a peer we know.
    pub(crate) fn elect(
        &mut self,
        from: Uuid,
        group: &Arc<str>,
        challenger: Uuid,
        known: bool,
        members: Option<&BTreeSet<Uuid>>,
        out: &mut Vec<Output>,
    ) -> Result<(), Ignored> {
        let members = self.check(from, group, known, members)?;
        let now = self.now;
        let me = self.me;
        let state = self.groups.get_mut(group).ok_or(Ignored::NotOurGroup)?;
        if challenger == me && state.wave.as_ref().is_none_or(|w| w.caw != me) {
            // An echo of a wave of ours that was overtaken or dropped.
            return Ok(());
        }
        // A late echo comes from a follower; the leader's own ELECT is a
        // new wave of it (Zyre's, on a JOIN that has not reached us yet).
        if state.settled && state.wave.is_none() && state.leader == Some(challenger) && from != challenger {
            log::debug!(
                "election in {group}: ELECT for the leader from {}: a late echo or a new wave \
                 ahead of its JOIN, held",
                from.simple()
            );
            state
                .held
                .retain(|&(f, at)| f != from && now < at + FOLLOWER_PATIENCE);
            state.held.push((from, now));
            return Ok(());
        }
        // A challenger's own ELECT starts its wave. If it took part in
        // ours before (its ELECT for us came first), or may have dropped a
        // member we dropped early (a fast EXIT), that wave is gone at its
        // end: Zyre drops it on every membership change it sees.
        let dropped_ours = from == challenger
            && state.wave.as_ref().is_some_and(|w| {
                w.caw == me && (w.echoes.contains(&from) || state.others_until.is_some_and(|u| u > now))
            });
        if me < challenger
            && self.contested.contains(group)
            && (dropped_ours || state.wave.as_ref().is_none_or(|w| me < w.caw))
        {
            // We contest and beat this challenger, but saw no reason to
            // challenge (the change that started its wave did not reach
            // us, or we already had a leader), or it dropped our wave
            // (Zyre never takes part in it again: it would wait for echoes
            // the other members sent before, or count our repeated ELECT
            // as one): challenge now, so that the smallest contester
            // always wins. Its wave dies here.
            self.challenge(group, members, out);
            return Ok(());
        }
        let state = self.groups.get_mut(group).ok_or(Ignored::NotOurGroup)?;
        // A challenger sends its ELECT to each member once per wave: a
        // second one from it is its wave restarted (Zyre restarts on every
        // join), which we must join afresh or it waits for our echo forever
        // (forwarding it again; the members that took up the old wave stay
        // counted).
        let restarted = from == challenger
            && state
                .wave
                .as_ref()
                .is_some_and(|w| w.caw == challenger && w.echoes.contains(&from));
        let superior = restarted || state.wave.as_ref().is_none_or(|w| challenger < w.caw);
        if superior {
            // Zyre's "initiate or re-initiate leader election". A new wave
            // of the settled leader: the ELECTs of it we held were its
            // forwards (see `GroupElection::held`).
            let mut echoes: BTreeSet<Uuid> = if state.leader == Some(challenger) {
                std::mem::take(&mut state.held)
                    .into_iter()
                    .filter(|&(_, at)| now < at + FOLLOWER_PATIENCE)
                    .map(|(f, _)| f)
                    .collect()
            } else {
                BTreeSet::new()
            };
            // The members that took up this challenger's wave before it
            // stalled or restarted here (see `GroupElection::stalled`).
            let before = match state.wave.take() {
                Some(w) if restarted => Some(w.echoes),
                _ => state
                    .stalled
                    .take()
                    .filter(|(c, _)| *c == challenger)
                    .map(|(_, e)| e),
            };
            echoes.extend(
                before
                    .into_iter()
                    .flatten()
                    .filter(|m| members.contains(m) && *m != challenger),
            );
            state.wave = Some(Wave {
                caw: challenger,
                father: Some(from),
                echoes,
                echoed: false,
                leaders: BTreeSet::new(),
                leader_sent: false,
                deadline: now + FOLLOWER_PATIENCE,
            });
            for &to in members.iter().filter(|&&m| m != from) {
                out.push(Output::Elect {
                    to,
                    group: group.clone(),
                    challenger,
                });
            }
        }
        let Some(wave) = state.wave.as_mut().filter(|w| w.caw == challenger) else {
            // An inferior challenger: its wave dies here, as in Zyre.
            return Ok(());
        };
        if wave.echoes.insert(from) {
            wave.deadline = wave.deadline.max(now + FOLLOWER_PATIENCE);
        }
        self.progress(group, members, out);
        Ok(())
    }

    /// LEADER from `from` in `group` naming `leader`.
    pub(crate) fn leader_message(
        &mut self,
        from: Uuid,
        group: &Arc<str>,
        leader: Uuid,
        known: bool,
        members: Option<&BTreeSet<Uuid>>,
        out: &mut Vec<Output>,
    ) -> Result<(), Ignored> {
        let members = self.check(from, group, known, members)?;
        let now = self.now;
        let me = self.me;
        let state = self.groups.get_mut(group).ok_or(Ignored::NotOurGroup)?;
        let Some(wave) = state.wave.as_mut().filter(|w| w.caw == leader) else {
            return Err(Ignored::OutOfOrder);
        };
        if leader == me && !wave.leader_sent {
            // We have not won yet: nobody can know we did.
            return Err(Ignored::OutOfOrder);
        }
        if !wave.leader_sent {
            // Forward once, to every member. Our echo is moot now: sent
            // after this, it could reach our father after its election
            // ended and start another.
            wave.leader_sent = true;
            wave.echoed = true;
            for &to in members {
                out.push(Output::Leader {
                    to,
                    group: group.clone(),
                    leader,
                });
            }
        }
        if wave.leaders.insert(from) {
            wave.deadline = wave.deadline.max(now + FOLLOWER_PATIENCE);
        }
        self.progress(group, members, out);
        Ok(())
    }

    // ----- time --------------------------------------------------------------

    /// Drops or restarts stalled waves; `members` gives a group's members.
    pub(crate) fn handle_timeout<'m>(
        &mut self,
        now: Instant,
        members: impl Fn(&str) -> Option<&'m BTreeSet<Uuid>>,
        out: &mut Vec<Output>,
    ) {
        self.set_clock(now);
        let due: Vec<Arc<str>> = self
            .groups
            .iter()
            .filter(|(_, g)| g.wave.as_ref().is_some_and(|w| w.deadline <= now))
            .map(|(name, _)| name.clone())
            .collect();
        for group in due {
            let Some(state) = self.groups.get_mut(&group) else {
                continue;
            };
            let ours = state.wave.as_ref().is_some_and(|w| w.caw == self.me);
            // The winner's own LEADER came: it sends one only once every
            // member it knew had echoed. What we still wait for are the
            // LEADERs of members we met again while it was decided (see
            // `member_joined`); one that had decided already ignores ours
            // and never answers, and dropping the wave would leave us the
            // one member with no leader.
            let won = state
                .wave
                .as_ref()
                .filter(|w| !ours && w.leader_sent && w.leaders.contains(&w.caw))
                .map(|w| w.caw);
            // A wave we followed that stalls before its LEADER: who took
            // it up is remembered for its restart (`GroupElection::stalled`).
            state.stalled = state
                .wave
                .take()
                .filter(|w| !ours && !w.leader_sent)
                .map(|w| (w.caw, w.echoes));
            if let Some(leader) = won {
                log::debug!("election in {group}: members met again never answered LEADER; {leader} won");
                state.leader = Some(leader);
                state.settled = true;
                state.restarts = 0;
                out.push(Output::Elected { group, leader });
            } else if ours {
                state.restarts = state.restarts.saturating_add(1);
                log::debug!("election in {group}: our wave stalled, restarting it");
                self.challenge(&group, members(&group).unwrap_or(&NOBODY), out);
            } else if (state.leader.is_none() || !state.settled) && self.contested.contains(&group) {
                // Its challenger may be gone: one that left the group just
                // after it challenged has its ELECT forwarded by members
                // that had not seen it leave (or, across a link outage,
                // had them held for seconds), and we may have given up our
                // own wave for it. Nobody would restart it, so no election
                // would complete until the next membership change. So a
                // contester challenges whenever a wave it followed stalls
                // with no election completed since membership changed:
                // keeping a leader from before the change is not enough,
                // the members that came since may have none.
                log::debug!(
                    "election in {group}: a wave stalled and membership changed since the last leader: challenging"
                );
                self.challenge(&group, members(&group).unwrap_or(&NOBODY), out);
            } else {
                log::debug!("election in {group}: a wave stalled, dropping it");
            }
        }
    }

    // ----- internals ---------------------------------------------------------

    fn check<'m>(
        &self,
        from: Uuid,
        group: &str,
        known: bool,
        members: Option<&'m BTreeSet<Uuid>>,
    ) -> Result<&'m BTreeSet<Uuid>, Ignored> {
        if !self.groups.contains_key(group) {
            return Err(Ignored::NotOurGroup);
        }
        let members = members.filter(|m| m.contains(&from)).ok_or(Ignored::NotAMember)?;
        if !known {
            return Err(Ignored::UnknownUuid);
        }
        Ok(members)
    }

    /// Starts (or restarts) our own wave: ELECT(us) to every member.
    fn challenge(&mut self, group: &Arc<str>, members: &BTreeSet<Uuid>, out: &mut Vec<Output>) {
        let Some(state) = self.groups.get_mut(group) else {
            return;
        };
        if members.is_empty() {
            // Alone, as in Zyre: no election.
            state.wave = None;
            return;
        }
        let patience = CHALLENGER_PATIENCE
            .saturating_mul(1 << state.restarts.min(8))
            .min(MAX_CHALLENGER_PATIENCE);
        let mut deadline = self.now + patience;
        match state.others_until {
            Some(until) if until > self.now => deadline = deadline.max(until),
            _ => state.others_until = None,
        }
        state.wave = Some(Wave {
            caw: self.me,
            father: None,
            echoes: BTreeSet::new(),
            echoed: false,
            leaders: BTreeSet::new(),
            leader_sent: false,
            deadline,
        });
        for &to in members {
            out.push(Output::Elect {
                to,
                group: group.clone(),
                challenger: self.me,
            });
        }
    }

    /// Acts on a wave that may be complete: echoes from every member, then
    /// LEADER from every member.
    fn progress(&mut self, group: &Arc<str>, members: &BTreeSet<Uuid>, out: &mut Vec<Output>) {
        let Some(state) = self.groups.get_mut(group) else {
            return;
        };
        let Some(wave) = state.wave.as_mut() else {
            return;
        };
        if members.is_empty() {
            state.wave = None;
            return;
        }
        let echoed_by_all = members.iter().all(|m| wave.echoes.contains(m));
        if echoed_by_all && !wave.echoed {
            wave.echoed = true;
            match wave.father {
                // Every member supports us: we won.
                None => {
                    wave.leader_sent = true;
                    for &to in members {
                        out.push(Output::Leader {
                            to,
                            group: group.clone(),
                            leader: self.me,
                        });
                    }
                }
                Some(father) => out.push(Output::Elect {
                    to: father,
                    group: group.clone(),
                    challenger: wave.caw,
                }),
            }
        }
        if wave.leader_sent && members.iter().all(|m| wave.leaders.contains(m)) {
            let leader = wave.caw;
            state.wave = None;
            state.stalled = None;
            state.leader = Some(leader);
            state.settled = true;
            state.restarts = 0;
            out.push(Output::Elected {
                group: group.clone(),
                leader,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[u128]) -> BTreeSet<Uuid> {
        ids.iter().map(|&i| Uuid::from_u128(i)).collect()
    }

    #[test]
    fn a_lone_contester_holds_no_election() {
        let now = Instant::now();
        let mut e = Elections::new(Uuid::from_u128(1), now);
        let mut out = Vec::new();
        e.contest("g".into(), None, &mut out);
        e.joined("g".into(), None, &mut out);
        assert!(out.is_empty());
        assert!(!e.in_progress("g"));
    }

    #[test]
    fn two_members_elect_the_smaller_uuid() {
        let now = Instant::now();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let g: Arc<str> = "g".into();
        let mut ea = Elections::new(a, now);
        let mut eb = Elections::new(b, now);
        let mut out = Vec::new();
        ea.joined(g.clone(), None, &mut out);
        eb.contest(g.clone(), None, &mut out);
        eb.joined(g.clone(), Some(&set(&[1])), &mut out);
        assert_eq!(
            out,
            [Output::Elect {
                to: a,
                group: g.clone(),
                challenger: b
            }]
        );
        out.clear();
        // a does not contest: it supports b, its only neighbour.
        ea.elect(b, &g, b, true, Some(&set(&[2])), &mut out).unwrap();
        assert_eq!(
            out,
            [Output::Elect {
                to: b,
                group: g.clone(),
                challenger: b
            }]
        );
        out.clear();
        eb.elect(a, &g, b, true, Some(&set(&[1])), &mut out).unwrap();
        assert_eq!(
            out,
            [Output::Leader {
                to: a,
                group: g.clone(),
                leader: b
            }]
        );
        out.clear();
        ea.leader_message(b, &g, b, true, Some(&set(&[2])), &mut out)
            .unwrap();
        assert_eq!(
            out,
            [
                Output::Leader {
                    to: b,
                    group: g.clone(),
                    leader: b
                },
                Output::Elected {
                    group: g.clone(),
                    leader: b
                }
            ]
        );
        out.clear();
        eb.leader_message(a, &g, b, true, Some(&set(&[1])), &mut out)
            .unwrap();
        assert_eq!(
            out,
            [Output::Elected {
                group: g.clone(),
                leader: b
            }]
        );
        assert_eq!(ea.leader("g"), Some(b));
        assert_eq!(eb.leader("g"), Some(b));
        // A repeated LEADER after the end is out of order, not a new result.
        out.clear();
        assert_eq!(
            ea.leader_message(b, &g, b, true, Some(&set(&[2])), &mut out),
            Err(Ignored::OutOfOrder)
        );
        assert!(out.is_empty());
    }

    #[test]
    fn bad_messages_are_refused_without_changing_anything() {
        let now = Instant::now();
        let me = Uuid::from_u128(5);
        let g: Arc<str> = "g".into();
        let mut e = Elections::new(me, now);
        let mut out = Vec::new();
        let members = set(&[1, 2]);
        let stranger = Uuid::from_u128(9);
        assert_eq!(
            e.elect(Uuid::from_u128(1), &g, stranger, true, Some(&members), &mut out),
            Err(Ignored::NotOurGroup)
        );
        e.joined(g.clone(), Some(&members), &mut out);
        assert_eq!(
            e.elect(stranger, &g, stranger, true, Some(&members), &mut out),
            Err(Ignored::NotAMember)
        );
        assert_eq!(
            e.elect(Uuid::from_u128(1), &g, stranger, false, Some(&members), &mut out),
            Err(Ignored::UnknownUuid)
        );
        assert_eq!(
            e.leader_message(
                Uuid::from_u128(1),
                &g,
                Uuid::from_u128(1),
                true,
                Some(&members),
                &mut out
            ),
            Err(Ignored::OutOfOrder)
        );
        // Our own id, never challenged: a stale echo, dropped quietly.
        assert_eq!(
            e.elect(Uuid::from_u128(1), &g, me, true, Some(&members), &mut out),
            Ok(())
        );
        assert!(out.is_empty());
        assert!(!e.in_progress("g"));
    }

    #[test]
    fn a_stalled_wave_is_dropped_by_a_follower_and_restarted_by_its_challenger() {
        let start = Instant::now();
        let g: Arc<str> = "g".into();
        let members = set(&[1, 2]);
        let mut challenger = Elections::new(Uuid::from_u128(0), start);
        let mut out = Vec::new();
        challenger.contest(g.clone(), None, &mut out);
        challenger.joined(g.clone(), Some(&members), &mut out);
        assert_eq!(out.len(), 2);
        let mut follower = Elections::new(Uuid::from_u128(3), start);
        follower.joined(g.clone(), Some(&members), &mut out);
        follower
            .elect(
                Uuid::from_u128(1),
                &g,
                Uuid::from_u128(1),
                true,
                Some(&members),
                &mut out,
            )
            .unwrap();
        assert!(follower.in_progress("g"));
        out.clear();
        follower.handle_timeout(start + FOLLOWER_PATIENCE, |_| Some(&members), &mut out);
        assert!(!follower.in_progress("g"));
        assert!(out.is_empty());
        challenger.handle_timeout(start + FOLLOWER_PATIENCE, |_| Some(&members), &mut out);
        assert!(out.is_empty(), "not yet");
        challenger.handle_timeout(start + CHALLENGER_PATIENCE, |_| Some(&members), &mut out);
        assert_eq!(out.len(), 2, "ELECT to both members again");
        // The next restart waits twice as long.
        assert_eq!(
            challenger.next_deadline(),
            Some(start + CHALLENGER_PATIENCE + CHALLENGER_PATIENCE * 2)
        );
    }

    /// Member 1 following the wave of c (0) in a group of c and x (2),
    /// both echoed: the follower, the group, c, x and a newcomer (3), and
    /// the members.
    fn follower_of_c(start: Instant) -> (Elections, Arc<str>, [Uuid; 3], BTreeSet<Uuid>) {
        let g: Arc<str> = "g".into();
        let (c, x, newcomer) = (Uuid::from_u128(0), Uuid::from_u128(2), Uuid::from_u128(3));
        let mut follower = Elections::new(Uuid::from_u128(1), start);
        let mut out = Vec::new();
        let before = set(&[0, 2]);
        follower.joined(g.clone(), Some(&before), &mut out);
        follower.elect(c, &g, c, true, Some(&before), &mut out).unwrap();
        follower.elect(x, &g, c, true, Some(&before), &mut out).unwrap();
        (follower, g, [c, x, newcomer], before)
    }

    /// A follower that has forwarded LEADER and then meets a member again
    /// (only the two of them lost each other: the challenger sees no
    /// change) keeps the wave: it sends the newcomer the ELECT and LEADER
    /// every other member got and completes on the newcomer's LEADER.
    /// It used to drop the wave and stay with no leader.
    #[test]
    fn a_member_met_again_while_the_leader_is_decided_gets_the_wave() {
        let start = Instant::now();
        let (mut follower, g, [c, x, newcomer], before) = follower_of_c(start);
        let mut out = Vec::new();
        follower
            .leader_message(c, &g, c, true, Some(&before), &mut out)
            .unwrap();
        out.clear();
        let after = set(&[0, 2, 3]);
        follower.member_joined(&g, newcomer, Some(&after), &mut out);
        assert_eq!(
            out,
            [
                Output::Elect {
                    to: newcomer,
                    group: g.clone(),
                    challenger: c
                },
                Output::Leader {
                    to: newcomer,
                    group: g.clone(),
                    leader: c
                },
            ]
        );
        assert!(follower.in_progress("g"));
        out.clear();
        follower
            .leader_message(x, &g, c, true, Some(&after), &mut out)
            .unwrap();
        assert!(out.is_empty(), "the newcomer's LEADER is still to come: {out:?}");
        follower
            .leader_message(newcomer, &g, c, true, Some(&after), &mut out)
            .unwrap();
        assert_eq!(
            out,
            [Output::Elected {
                group: g.clone(),
                leader: c
            }]
        );
        assert_eq!(follower.leader("g"), Some(c));
    }

    /// As above, but the member met again had decided the leader already
    /// (only we had lost it): it ignores the LEADER we send it and never
    /// answers. The winner's own LEADER came, so the follower takes it as
    /// leader when its patience ends; it used to drop the wave and stay
    /// the one member with no leader (network_faults' seeded elections,
    /// seed 3790340142, once a plain peer's ENTER waited for its PING-OK).
    #[test]
    fn a_member_met_again_that_decided_already_does_not_leave_us_leaderless() {
        let start = Instant::now();
        let (mut follower, g, [c, x, newcomer], before) = follower_of_c(start);
        let mut out = Vec::new();
        let after = set(&[0, 2, 3]);
        // The winner's LEADER, the newcomer (which never answers), x's.
        follower
            .leader_message(c, &g, c, true, Some(&before), &mut out)
            .unwrap();
        follower.member_joined(&g, newcomer, Some(&after), &mut out);
        follower
            .leader_message(x, &g, c, true, Some(&after), &mut out)
            .unwrap();
        out.clear();
        assert!(follower.in_progress("g"));
        follower.handle_timeout(start + FOLLOWER_PATIENCE, |_| Some(&after), &mut out);
        assert_eq!(
            out,
            [Output::Elected {
                group: g.clone(),
                leader: c
            }]
        );
        assert_eq!(follower.leader("g"), Some(c));
        assert!(!follower.in_progress("g"));
        // Without the winner's own LEADER, a stalled wave is still dropped.
        let mut other = Elections::new(Uuid::from_u128(1), start);
        other.joined(g.clone(), Some(&before), &mut out);
        other.elect(x, &g, c, true, Some(&before), &mut out).unwrap();
        other
            .leader_message(x, &g, c, true, Some(&before), &mut out)
            .unwrap();
        out.clear();
        assert!(other.in_progress("g"));
        other.handle_timeout(start + FOLLOWER_PATIENCE, |_| Some(&before), &mut out);
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(other.leader("g"), None);
    }

    /// A contester that keeps a leader from before a membership change and
    /// then follows a wave that stalls (its challenger left) challenges:
    /// the members that came since may have no leader, and nobody else
    /// would start an election. It used to drop the wave and keep quiet.
    #[test]
    fn a_contester_whose_followed_wave_stalls_after_a_change_challenges() {
        let start = Instant::now();
        let g: Arc<str> = "g".into();
        let (me, gone, other) = (Uuid::from_u128(2), Uuid::from_u128(0), Uuid::from_u128(3));
        let mut contester = Elections::new(me, start);
        let mut out = Vec::new();
        contester.contest(g.clone(), None, &mut out);
        // It led a group of two.
        let two = set(&[3]);
        contester.joined(g.clone(), Some(&two), &mut out);
        contester
            .elect(other, &g, me, true, Some(&two), &mut out)
            .unwrap();
        contester
            .leader_message(other, &g, me, true, Some(&two), &mut out)
            .unwrap();
        assert_eq!(contester.leader("g"), Some(me));
        // The other member leaves and joins again; before our new wave is
        // answered, it forwards a wave of a departed challenger we know.
        contester.member_left(&g, other, None, Some(&BTreeSet::new()), &mut out);
        contester.member_joined(&g, other, Some(&two), &mut out);
        contester
            .elect(other, &g, gone, true, Some(&two), &mut out)
            .unwrap();
        assert!(contester.in_progress("g"));
        out.clear();
        contester.handle_timeout(start + FOLLOWER_PATIENCE, |_| Some(&two), &mut out);
        assert_eq!(
            out,
            [Output::Elect {
                to: other,
                group: g.clone(),
                challenger: me
            }]
        );
    }

    /// Ours (2) follows the wave of 1 with a Zyre (3): every member's
    /// ELECT(1) came and we echoed, but the Zyre had counted our forward
    /// into a wave it dropped on a JOIN, so it never echoes and 1 stalls
    /// (the live `zyre_c_leader_agreed_by_all_contesters`, 8 Dec 2026).
    /// When 1 restarts, the Zyre, still holding 1's wave, forwards nothing
    /// again: we count it from the stalled wave and echo at once.
    #[test]
    fn a_restarted_wave_counts_the_members_that_took_up_the_stalled_one() {
        let start = Instant::now();
        let (c, me, zyre) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let g: Arc<str> = "g".into();
        let members = set(&[1, 3]);
        let mut e = Elections::new(me, start);
        let mut out = Vec::new();
        e.contest(g.clone(), None, &mut out);
        e.joined(g.clone(), Some(&members), &mut out);
        e.elect(c, &g, c, true, Some(&members), &mut out).unwrap();
        e.elect(zyre, &g, c, true, Some(&members), &mut out).unwrap();
        let echo = Output::Elect {
            to: c,
            group: g.clone(),
            challenger: c,
        };
        assert!(out.contains(&echo), "{out:?}");
        // Nothing more: the wave stalls here; a contester with no leader
        // yet challenges (and loses to 1).
        e.handle_timeout(start + FOLLOWER_PATIENCE, |_| Some(&members), &mut out);
        out.clear();
        // 1 restarts; the Zyre says nothing more.
        e.set_clock(start + CHALLENGER_PATIENCE);
        e.elect(c, &g, c, true, Some(&members), &mut out).unwrap();
        assert_eq!(
            out,
            [
                Output::Elect {
                    to: zyre,
                    group: g.clone(),
                    challenger: c
                },
                echo
            ]
        );
        // A membership change since means the Zyre's wave is gone too:
        // then its ELECT is waited for again.
        e.handle_timeout(
            start + CHALLENGER_PATIENCE + FOLLOWER_PATIENCE,
            |_| Some(&members),
            &mut out,
        );
        e.member_left(&g, zyre, None, Some(&set(&[1])), &mut out);
        e.member_joined(&g, zyre, Some(&members), &mut out);
        out.clear();
        e.set_clock(start + CHALLENGER_PATIENCE * 3);
        e.elect(c, &g, c, true, Some(&members), &mut out).unwrap();
        assert_eq!(
            out,
            [Output::Elect {
                to: zyre,
                group: g.clone(),
                challenger: c
            }]
        );
    }
}

#[cfg(test)]
mod zyre_model;
