//! The node's side of group leader election: it feeds membership changes,
//! ELECT and LEADER to [`Elections`](super::super::election) and carries out
//! what that asks for (sends, LEADER events). Zyre's DRAFT API:
//! `zyre_set_contest_in_group`, the LEADER event.

use super::*;
use crate::core::election::{Elections, Ignored, Output};
use std::collections::BTreeSet;

/// [`Elections::elect`] or [`Elections::leader_message`]: what an ELECT or
/// LEADER does to the election of its group.
type ElectionHandler = fn(
    &mut Elections,
    Uuid,
    &Arc<str>,
    Uuid,
    bool,
    Option<&BTreeSet<Uuid>>,
    &mut Vec<Output>,
) -> Result<(), Ignored>;
use crate::core::event::ZyreUuid;

impl NodeCore {
    /// Contests the leadership of `group` (Zyre's
    /// `zyre_set_contest_in_group`): when we are in it with other members
    /// we challenge at once, and again whenever a member joins or the
    /// leader goes. Joining is separate. Errors: a group name that is not
    /// 1 to 255 bytes, or a stopped node.
    pub fn contest(&mut self, group: &str) -> Result<(), CommandError> {
        self.check_command()?;
        group::check_name(group)?;
        let group = self.groups.intern(group);
        let mut out = Vec::new();
        self.elections
            .contest(group.clone(), self.groups.members(&group), &mut out);
        self.carry_out(out);
        Ok(())
    }

    /// The leader of `group` the last completed election chose (maybe
    /// us); `None` before one completes, after the leader left, or if we
    /// are not in the group.
    pub fn leader(&self, group: &str) -> Option<Uuid> {
        self.elections.leader(group)
    }

    /// Whether an election in `group` is under way at our end.
    pub fn election_in_progress(&self, group: &str) -> bool {
        self.elections.in_progress(group)
    }

    pub(super) fn elections_joined(&mut self, group: &Arc<str>) {
        let mut out = Vec::new();
        self.elections
            .joined(group.clone(), self.groups.members(group), &mut out);
        self.carry_out(out);
    }

    pub(super) fn elections_member_joined(&mut self, group: &Arc<str>, peer: Uuid) {
        let mut out = Vec::new();
        self.elections
            .member_joined(group, peer, self.groups.members(group), &mut out);
        self.carry_out(out);
    }

    /// `others_until`: see [`Elections::member_left`].
    pub(super) fn elections_member_left(
        &mut self,
        group: &Arc<str>,
        peer: Uuid,
        others_until: Option<Instant>,
    ) {
        let mut out = Vec::new();
        self.elections
            .member_left(group, peer, others_until, self.groups.members(group), &mut out);
        self.carry_out(out);
    }

    pub(super) fn elections_timeout(&mut self, now: Instant) {
        let mut out = Vec::new();
        let groups = &self.groups;
        self.elections
            .handle_timeout(now, |g| groups.members(g), &mut out);
        self.carry_out(out);
    }

    /// ELECT from `from` (a ready peer).
    pub(super) fn on_elect(&mut self, from: Uuid, group: &str, challenger: &str) {
        self.on_election_message("ELECT", Elections::elect, from, group, challenger);
    }

    /// LEADER from `from` (a ready peer).
    pub(super) fn on_leader(&mut self, from: Uuid, group: &str, leader: &str) {
        self.on_election_message("LEADER", Elections::leader_message, from, group, leader);
    }

    /// Hands an ELECT or LEADER naming `id` to the election of `group`,
    /// carries out what it says, and logs (rate-limited) one it ignored.
    fn on_election_message(
        &mut self,
        kind: &'static str,
        handle: ElectionHandler,
        from: Uuid,
        group: &str,
        id: &str,
    ) {
        let group = self.groups.intern(group);
        let uuid = self.known_uuid(id);
        let mut out = Vec::new();
        let result = handle(
            &mut self.elections,
            from,
            &group,
            uuid.unwrap_or_default(),
            uuid.is_some(),
            self.groups.members(&group),
            &mut out,
        );
        self.carry_out(out);
        if let Err(why) = result {
            let now = self.elections.clock();
            self.log_ignored(now, kind, from, &group, id, why);
        }
    }

    /// A challenger or leader id: us or a peer that said HELLO, entered
    /// or not yet (its ENTER may wait for its PING-OK while the wave
    /// names it; Zyre sends 32 upper-case hex digits; any UUID form is
    /// taken).
    fn known_uuid(&self, id: &str) -> Option<Uuid> {
        let uuid = Uuid::try_parse(id).ok()?;
        let known = uuid == self.config.uuid || self.peers.get(&uuid).is_some_and(|p| p.ready);
        known.then_some(uuid)
    }

    fn carry_out(&mut self, out: Vec<Output>) {
        for output in out {
            match output {
                Output::Elect {
                    to,
                    group,
                    challenger,
                } => {
                    let challenger = ZyreUuid(challenger).to_string();
                    self.send(
                        to,
                        &Body::Elect {
                            group: &group,
                            challenger: &challenger,
                        },
                        None,
                    );
                }
                Output::Leader { to, group, leader } => {
                    let leader = ZyreUuid(leader).to_string();
                    self.send(
                        to,
                        &Body::Leader {
                            group: &group,
                            leader: &leader,
                        },
                        None,
                    );
                }
                Output::Elected { group, leader } => {
                    let name = if leader == self.config.uuid {
                        self.name.clone()
                    } else {
                        self.peers
                            .get(&leader)
                            .map(|p| p.name.clone())
                            .unwrap_or_else(|| Arc::from(ZyreUuid(leader).to_string()))
                    };
                    info!("LEADER {name} ({}) of {group}", leader.simple());
                    let event = Event::Leader {
                        peer: leader,
                        name,
                        group,
                    };
                    // A leader whose ENTER waits for its PING-OK (a wave
                    // can name it within that round trip): the application
                    // hears of it after its ENTER, never before.
                    match self.peers.get_mut(&leader).filter(|p| !p.entered) {
                        Some(peer) => self.held_bytes += peer.hold(event),
                        None => self.events.push_back(event),
                    }
                }
            }
        }
    }
}

impl NodeCore {
    /// Says "ignoring ELECT/LEADER" at most once a second, with how many
    /// more were ignored meanwhile: a hostile peer must not flood the log.
    fn log_ignored(&mut self, now: Instant, kind: &str, from: Uuid, group: &str, id: &str, why: Ignored) {
        let Some(also) = self.logs.election.admit(now) else {
            return;
        };
        // Out of order is what a race with a membership change leaves
        // behind; the others are a confused or hostile peer.
        let level = match why {
            Ignored::OutOfOrder => log::Level::Debug,
            _ => log::Level::Warn,
        };
        log::log!(
            level,
            "ignoring {kind} from {} in {group:?} naming {id:?}: {}{also}",
            from.simple(),
            why.reason()
        );
    }
}
