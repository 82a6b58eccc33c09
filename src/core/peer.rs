//! What a node knows about one remote peer: where it is, what it said in
//! HELLO, the two sequence counters of the link, and its liveness timers.

use super::endpoint::Endpoint;
use super::event::Headers;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How a sequence counter steps past its top. Zyre wraps 65535 -> 0; pyre
/// and zyre.js compute `(n + 1) % 65535`, so they wrap 65534 -> 0 and never
/// use 65535. We accept both from anyone, and once a peer has shown us the
/// short wrap we also send it the short wrap so that it does not reset us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wrap {
    Full,
    Short,
}

impl Wrap {
    fn next(self, sequence: u16) -> u16 {
        match (self, sequence) {
            (Wrap::Short, 65534) => 0,
            _ => sequence.wrapping_add(1),
        }
    }
}

/// The verdict on an incoming sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SequenceCheck {
    InOrder,
    /// Messages were lost (or duplicated): the link cannot be trusted.
    Gap {
        expected: u16,
        got: u16,
    },
}

#[derive(Debug)]
pub(crate) struct Peer {
    pub uuid: Uuid,
    /// Where our DEALER to this peer is connected.
    pub endpoint: Endpoint,
    /// `endpoint` as text, written once for the application (ENTER, the
    /// `peer_endpoint` query).
    pub endpoint_text: Arc<str>,
    /// True once the peer's HELLO arrived: only then does the app know it.
    pub ready: bool,
    pub name: Arc<str>,
    pub headers: Headers,
    /// The peer's group status byte, as we track it from JOIN/LEAVE.
    pub status: u8,
    sent_sequence: u16,
    want_sequence: u16,
    /// A SHOUT or WHISPER went either way in this session: a HELLO of the
    /// peer after that is a restart (see `NodeCore::accept_hello`).
    pub(super) talked: bool,
    /// PINGs and PING-OKs we sent it since our last HELLO: with the HELLO,
    /// the greeting that proves a link. Counted off the hot path (a
    /// WHISPER costs nothing here); `only_greetings_exchanged` compares
    /// them with the sequence numbers.
    sent_greetings: u16,
    /// PINGs and PING-OKs it sent us since its last HELLO.
    heard_greetings: u16,
    wrap: Wrap,
    pub evasive_at: Instant,
    pub expired_at: Instant,
    /// Its evasive deadline passed and we sent it a PING (and said
    /// EVASIVE if it is ready); any message from it clears this.
    pub evasive_reported: bool,
    /// Our PING went unanswered for the ping wait: SILENT said (if it is
    /// ready) and its inbox probed; any message from it clears this.
    pub silent_reported: bool,
    /// When we sent the PING that is still unanswered.
    pub ping_sent_at: Option<Instant>,
    /// PINGs sent to it and PING-OKs from it in this session, counted
    /// (wrapping): a peer answers PINGs in the order they came, each
    /// behind everything we sent before it (see `NodeCore::request_receipts`).
    pub(super) pings_sent: u32,
    pub(super) pings_answered: u32,
    /// The PING, by its count, whose answer is a receipt we asked for.
    pub(super) receipt_at: Option<u32>,
    /// While it is SILENT, when its check comes again although its expiry
    /// is further: a message from it moves its deadlines earlier, and this
    /// check (an evasive period at most after the last) puts its entry
    /// back at them (see `NodeCore::check_peer`).
    pub(super) silent_recheck_at: Option<Instant>,
    /// The time of its entry in the liveness timers (see `liveness`), if
    /// it has one.
    pub scheduled: Option<Instant>,
    /// We asked the I/O layer for a link to it (`Action::Connect`). A peer
    /// only announced may wait for one while the links of peers that never
    /// said HELLO are at their budget.
    pub linked: bool,
    /// Set by its port-0 beacon: from then on it expires after this much
    /// silence (its GOODBYE removes it at once).
    pub leaving: Option<Duration>,
    /// The PING, by its count, sent to check that port-0 beacon: its
    /// answer shows that the peer still reads us, so is not leaving (see
    /// `node/leaving.rs`).
    pub(super) leave_check: Option<u32>,
    /// When a port-0 beacon for it was last shown false by its answer:
    /// more such beacons are ignored for a while.
    pub(super) leave_refuted_at: Option<Instant>,
    /// We said once that it went over the group limit.
    pub warned_group_limit: bool,
    /// When it came into the table: the oldest peer still waiting for
    /// HELLO is the first to make room for one that said it.
    pub created_at: Instant,
    /// Until when a HELLO from it is its answer to ours, not a restart: we
    /// met it by its HELLO and answered with ours. If it took ours for a
    /// restart of us, one more HELLO comes back, and restarting it for that
    /// would make the two restart each other in turn for ever.
    pub answered_hello_until: Option<Instant>,
    /// When we last sent it our HELLO again because it checked our
    /// liveness before its HELLO (see `NodeCore::greet_again`).
    pub greeted_again_at: Option<Instant>,
    /// We have sent it sequence 65535 at least once.
    sent_top: bool,
    /// The `now` of the last `refresh`, whose deadlines are still set.
    refreshed_at: Option<Instant>,
    /// The probe of its inbox port in flight, if any (see `Action::Probe`):
    /// only that probe's refusal removes this peer.
    pub probe: Option<u64>,
    /// A probe found its port open but silent (a process being torn down,
    /// or a stopped one): it is probed again from then (see
    /// `NodeCore::handle_link_silent`).
    pub reprobe_at: Option<Instant>,
    /// Probes that found its port silent since its last message.
    pub silent_probes: u8,
    /// Met again after our endpoint moved: if it has not said HELLO by
    /// then, it is greeted again (see `NodeCore::regreet_after_move`).
    pub regreet_at: Option<Instant>,
    /// Greetings again still allowed after this one.
    pub regreets_left: u8,
    /// CURVE mode: its public key, the CURVE server key of our DEALER.
    pub curve_key: Option<[u8; 32]>,
    /// Our DEALER to it got through its handshake (CURVE mode: the I/O
    /// layer says so; plain mode: from the start).
    pub link_up: bool,
    /// Our DEALER to it failed its handshake, and libzmq will not try
    /// again: its next announcement links afresh.
    pub link_failed: bool,
    /// The application had its ENTER: it said HELLO and we can reach it.
    pub entered: bool,
    /// Its ENTER waits for its PING-OK, the proof that our link reaches
    /// it: in plain mode always (a HELLO proves only the other way), in
    /// CURVE mode at a disputed endpoint (see `node/contest.rs`).
    pub needs_proof: bool,
    /// When we last sent the PING whose PING-OK would be that proof.
    pub proof_asked_at: Option<Instant>,
    /// Its events since its HELLO, while our link waits for its handshake
    /// (ENTER first); handed on when the link is up (bounded).
    pub held: Vec<super::event::Event>,
    /// What `held` costs: its content bytes and a fixed cost per event
    /// (see `node/handshake.rs`).
    pub held_bytes: usize,
}

/// What holding an event costs beyond its content, in bytes, as counted
/// against the bound on what is held (about its size in memory: the
/// event, its place in the queue, a share of its frames' allocations).
const HELD_EVENT_COST: usize = 128;

impl Peer {
    pub(super) fn new(
        uuid: Uuid,
        endpoint: Endpoint,
        now: Instant,
        evasive: Duration,
        expired: Duration,
    ) -> Self {
        Peer {
            uuid,
            endpoint_text: Arc::from(endpoint.to_string()),
            endpoint,
            ready: false,
            answered_hello_until: None,
            greeted_again_at: None,
            name: Arc::from(""),
            headers: Vec::new(),
            status: 0,
            sent_sequence: 0,
            want_sequence: 0,
            talked: false,
            sent_greetings: 0,
            heard_greetings: 0,
            wrap: Wrap::Full,
            evasive_at: now + evasive,
            expired_at: now + expired,
            evasive_reported: false,
            silent_reported: false,
            ping_sent_at: None,
            pings_sent: 0,
            pings_answered: 0,
            receipt_at: None,
            silent_recheck_at: None,
            scheduled: None,
            linked: false,
            leaving: None,
            leave_check: None,
            leave_refuted_at: None,
            warned_group_limit: false,
            created_at: now,
            sent_top: false,
            refreshed_at: None,
            probe: None,
            reprobe_at: None,
            silent_probes: 0,
            regreet_at: None,
            regreets_left: 0,
            curve_key: None,
            link_up: true,
            link_failed: false,
            entered: false,
            needs_proof: false,
            proof_asked_at: None,
            held: Vec::new(),
            held_bytes: 0,
        }
    }

    /// Whether we know our link reaches it: its handshake is through
    /// (CURVE) and, at a disputed endpoint, its PING-OK came. Its ENTER
    /// waits for this.
    pub(super) fn reachable(&self) -> bool {
        self.link_up && !self.needs_proof
    }

    /// The sequence number for a SHOUT or WHISPER we send: the session
    /// now carries application data (see `talked`).
    pub(super) fn next_talk_sequence(&mut self) -> u16 {
        self.talked = true;
        self.next_sent_sequence()
    }

    /// The sequence number for the next message we send on this link.
    pub(super) fn next_sent_sequence(&mut self) -> u16 {
        self.sent_sequence = self.wrap.next(self.sent_sequence);
        self.sent_top |= self.sent_sequence == u16::MAX;
        self.sent_sequence
    }

    /// True if this link's restart looks caused by our 65535: pyre and
    /// zyre.js reset a peer that sends it, and say HELLO again at once.
    /// (We sent 65535 and at most a few messages since.)
    pub(super) fn reset_by_our_full_wrap(&self) -> bool {
        self.wrap == Wrap::Full
            && self.sent_top
            && (self.sent_sequence == u16::MAX || self.sent_sequence < 64)
    }

    /// From now on, send this peer the short wrap (65534 -> 0).
    pub(super) fn use_short_wrap(&mut self) {
        self.wrap = Wrap::Short;
    }

    /// Checks the sequence number of a message from the peer. HELLO always
    /// carries 1 and restarts the count.
    // Always inlined: once per message received, and a few compares.
    #[inline(always)]
    pub(super) fn check_sequence(&mut self, is_hello: bool, got: u16) -> SequenceCheck {
        let expected = if is_hello {
            self.heard_greetings = 0;
            1
        } else {
            Wrap::Full.next(self.want_sequence)
        };
        if got == expected {
            self.want_sequence = got;
            return SequenceCheck::InOrder;
        }
        if !is_hello && self.want_sequence == 65534 && got == 0 {
            self.want_sequence = 0;
            self.wrap = Wrap::Short;
            return SequenceCheck::InOrder;
        }
        SequenceCheck::Gap { expected, got }
    }

    /// Our next message to it is numbered 1, as a HELLO must be: it
    /// greeted us afresh, and our HELLO answers on the link we hold.
    pub(super) fn restart_sent_sequence(&mut self) {
        self.sent_sequence = 0;
        self.sent_top = false;
        self.sent_greetings = 0;
    }

    /// When its liveness must next be looked at: its evasive deadline
    /// until we PING it, then the end of the PING's wait, then its expiry.
    /// While our reading is paused: its evasive deadline, then the next
    /// PING, `repeat` after the last one (see `NodeCore::set_reading_paused`).
    pub(super) fn next_check(&self, ping_wait: Duration, paused: Option<Duration>) -> Instant {
        if let Some(repeat) = paused {
            return match self.ping_sent_at {
                None => self.evasive_at,
                Some(sent) => sent + repeat,
            };
        }
        let liveness = match self.ping_sent_at {
            // Announced: only the end of its grace is left to judge.
            _ if self.leaving.is_some() => self.expired_at,
            None => self.evasive_at.min(self.expired_at),
            Some(sent) if !self.silent_reported => (sent + ping_wait).min(self.expired_at),
            Some(_) => self.expired_at,
        };
        [self.reprobe_at, self.regreet_at, self.silent_recheck_at]
            .into_iter()
            .flatten()
            .fold(liveness, Instant::min)
    }

    /// Nothing but greetings (HELLO, and the PING and PING-OK that prove
    /// a link) has passed either way on this link since the last HELLOs.
    pub(super) fn only_greetings_exchanged(&self) -> bool {
        // Our HELLO was 1, each greeting after it one more (wrapping as
        // the sequence does); 0: nothing sent yet.
        let sent = self.sent_sequence;
        (sent == 0 || sent.wrapping_sub(1) == self.sent_greetings) && self.heard_only_greeting()
    }

    /// A PING or PING-OK we send it (part of a greeting, see
    /// `only_greetings_exchanged`).
    pub(super) fn note_sent_greeting(&mut self) {
        self.sent_greetings = self.sent_greetings.wrapping_add(1);
    }

    /// A PING or PING-OK it sent us.
    pub(super) fn note_heard_greeting(&mut self) {
        self.heard_greetings = self.heard_greetings.wrapping_add(1);
    }

    /// Holds `event` until its ENTER (see `node/handshake.rs`); returns
    /// what holding it costs, in bytes, added to `held_bytes`.
    pub(super) fn hold(&mut self, event: super::event::Event) -> usize {
        let cost = event.content_bytes() + HELD_EVENT_COST;
        self.held_bytes += cost;
        self.held.push(event);
        cost
    }

    /// Our reading was paused for `pause` until `now`: its silence is
    /// counted from `pause` later, and a PING in flight as sent `now`.
    pub(super) fn resume_after(&mut self, now: Instant, pause: Duration) {
        self.evasive_at += pause;
        self.expired_at += pause;
        if self.ping_sent_at.is_some() {
            self.ping_sent_at = Some(now);
        }
        // Worked out afresh by the next refresh.
        self.refreshed_at = None;
    }

    /// Nothing but its greeting has come from the peer in this session (a
    /// HELLO again then loses nothing of what it sent).
    pub(super) fn heard_only_greeting(&self) -> bool {
        let heard = self.want_sequence;
        heard == 0 || heard.wrapping_sub(1) == self.heard_greetings
    }

    /// Any message from the peer proves it alive.
    // Always inlined: once per message received, and a few stores.
    #[inline(always)]
    pub(super) fn refresh(&mut self, now: Instant, evasive: Duration, expired: Duration) {
        self.evasive_reported = false;
        self.silent_reported = false;
        self.ping_sent_at = None;
        self.reprobe_at = None;
        self.silent_probes = 0;
        // A batch of messages is read at one `now`: the deadlines would come
        // out the same for each, so they are worked out once.
        if self.refreshed_at == Some(now) {
            return;
        }
        self.refreshed_at = Some(now);
        self.expired_at = now + self.leaving.unwrap_or(expired);
        self.evasive_at = (now + evasive).min(self.expired_at);
    }

    /// It announced that it is leaving: it expires after `grace` without a
    /// message (never later than it would have anyway).
    pub(super) fn leave(&mut self, now: Instant, grace: Duration) {
        self.refreshed_at = None;
        self.leaving = Some(grace);
        self.expired_at = self.expired_at.min(now + grace);
        self.evasive_at = self.evasive_at.min(self.expired_at);
    }

    /// Its port-0 beacon was false (see `node/leaving.rs`): it keeps the
    /// deadlines of a peer heard from `now`.
    pub(super) fn stay(&mut self, now: Instant, evasive: Duration, expired: Duration) {
        self.leaving = None;
        self.leave_check = None;
        self.leave_refuted_at = Some(now);
        self.refreshed_at = None;
        self.refresh(now, evasive, expired);
    }

    pub(super) fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> Peer {
        let now = Instant::now();
        Peer::new(
            Uuid::nil(),
            Endpoint::from_ip([127, 0, 0, 1].into(), 1, None),
            now,
            Duration::from_secs(5),
            Duration::from_secs(30),
        )
    }

    #[test]
    fn full_wrap_passes_65535_then_zero() {
        let mut p = peer();
        assert_eq!(p.check_sequence(true, 1), SequenceCheck::InOrder);
        p.want_sequence = 65534;
        assert_eq!(p.check_sequence(false, 65535), SequenceCheck::InOrder);
        assert_eq!(p.check_sequence(false, 0), SequenceCheck::InOrder);
        assert_eq!(p.check_sequence(false, 1), SequenceCheck::InOrder);
        assert_eq!(p.wrap, Wrap::Full);
    }

    #[test]
    fn short_wrap_is_accepted_and_learned() {
        let mut p = peer();
        p.want_sequence = 65534;
        assert_eq!(p.check_sequence(false, 0), SequenceCheck::InOrder);
        assert_eq!(p.wrap, Wrap::Short);
        p.sent_sequence = 65533;
        assert_eq!(p.next_sent_sequence(), 65534);
        assert_eq!(p.next_sent_sequence(), 0);
    }

    #[test]
    fn gap_and_duplicate_are_reported() {
        let mut p = peer();
        p.check_sequence(true, 1);
        assert_eq!(
            p.check_sequence(false, 3),
            SequenceCheck::Gap { expected: 2, got: 3 }
        );
        let mut p = peer();
        p.check_sequence(true, 1);
        p.check_sequence(false, 2);
        assert_eq!(
            p.check_sequence(false, 2),
            SequenceCheck::Gap { expected: 3, got: 2 }
        );
        assert_eq!(
            peer().check_sequence(true, 7),
            SequenceCheck::Gap { expected: 1, got: 7 }
        );
    }
}
