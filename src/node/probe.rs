//! TCP connect probes of peer inbox ports (`Action::Probe`): a refused
//! connection (ECONNREFUSED) means the peer's host answered and nothing
//! listens on that port any more; unreachable, or no answer within
//! `PROBE_TIMEOUT`, proves nothing. libzmq's reconnects do not tell these
//! apart, so the probe is a plain non-blocking connect.
//!
//! An accepted connection is not the end: a process being killed, or a
//! node stopping (zyre.js closes its peer links before its inbox, Zyre
//! sometimes too), closes its sockets one by one, and a probe sent on the
//! first close can reach the inbox before that closes too. So the probe
//! stays connected until its deadline: a reset or end of stream means the
//! inbox closed, its node is gone (as a refusal), whether it came before
//! or after the ZMTP greeting a live libzmq socket sends at once; a
//! connection still open at the deadline proves nothing: greeted, the
//! node is alive; silent, it is stopped, or still being torn down (its
//! listening socket can outlive its connections by seconds), which the
//! core finds out by probing again ([`Verdict::Silent`]). libzmq waits 30 s
//! (ZMQ_HANDSHAKE_IVL) for our half of the greeting, so it never closes
//! the probe first; no ZRE implementation shortens that.

use crate::core::endpoint::Endpoint;
use log::debug;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use std::io::{self, Read};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How long a probe lasts: for the SYN to be answered (a LAN answers in
/// milliseconds; silence means a lost route, which the timers handle),
/// then for the inbox of a node that is going to close.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What a probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Refused,
    /// Connected, and nothing came until the deadline: no greeting, no
    /// end of stream (a stopped process, or one still being torn down).
    Silent,
    /// Greeted, unreachable, timed out connecting, or could not be tried.
    NotRefused,
}

/// A finished probe: the peer, the core's probe number, the verdict.
pub(crate) type Finished = (Uuid, u64, Verdict);

struct Probe {
    stream: TcpStream,
    peer: Uuid,
    probe: u64,
    deadline: Instant,
    /// The connect succeeded: now watching the connection.
    connected: bool,
    /// The ZMTP greeting came: a live libzmq socket served the port.
    greeted: bool,
}

/// Probes in flight, each a poll token from a range of its own, and the
/// results not yet handed to the core.
///
/// The slots grow on demand and shrink back as the last ones finish: the
/// reactor asks for the next deadline and expiry on every pass of its loop,
/// so with no probe in flight both must cost nothing (a table of all 4096
/// slots cost ~150 000 instructions a pass and 220 KiB of resident memory).
pub(crate) struct Probes {
    first_token: usize,
    /// Most probes in flight at once: the size of the token range.
    capacity: usize,
    slots: Vec<Option<Probe>>,
    finished: Vec<Finished>,
}

impl Probes {
    /// A table using tokens `first_token..first_token + capacity`.
    pub(crate) fn new(first_token: usize, capacity: usize) -> Probes {
        Probes {
            first_token,
            capacity,
            slots: Vec::new(),
            finished: Vec::new(),
        }
    }

    /// Starts probing `endpoint` (`tcp://IP:PORT`) for the core's `probe`.
    pub(crate) fn start(
        &mut self,
        registry: &Registry,
        now: Instant,
        peer: Uuid,
        endpoint: &Endpoint,
        probe: u64,
    ) {
        let verdict = match self.connect(registry, now, peer, endpoint, probe) {
            Ok(None) => return,
            Ok(Some(verdict)) => verdict,
            Err(err) => {
                debug!("cannot probe {endpoint}: {err}");
                Verdict::NotRefused
            }
        };
        self.finished.push((peer, probe, verdict));
    }

    /// `None` while the connect is under way; the verdict when it is known.
    fn connect(
        &mut self,
        registry: &Registry,
        now: Instant,
        peer: Uuid,
        endpoint: &Endpoint,
        probe: u64,
    ) -> io::Result<Option<Verdict>> {
        let address = endpoint
            .socket_addr()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not tcp://IP:PORT"))?;
        let slot = match self.slots.iter().position(Option::is_none) {
            Some(free) => free,
            None if self.slots.len() < self.capacity => self.slots.len(),
            None => return Ok(Some(Verdict::NotRefused)),
        };
        let mut stream = match TcpStream::connect(address) {
            Ok(stream) => stream,
            Err(err) => {
                debug!("probe of {endpoint}: {err}");
                return Ok(Some(verdict_of(&err)));
            }
        };
        registry.register(&mut stream, Token(self.first_token + slot), Interest::WRITABLE)?;
        if slot == self.slots.len() {
            self.slots.push(None);
        }
        self.slots[slot] = Some(Probe {
            stream,
            peer,
            probe,
            deadline: now + PROBE_TIMEOUT,
            connected: false,
            greeted: false,
        });
        Ok(None)
    }

    /// The poll reported `token`: if it is a probe's, its connect ended.
    /// Returns false for a token that is not a probe's.
    pub(crate) fn ready(&mut self, registry: &Registry, token: Token) -> bool {
        let Some(slot) = token
            .0
            .checked_sub(self.first_token)
            .filter(|s| *s < self.capacity)
        else {
            return false;
        };
        let Some(probe) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return true;
        };
        if !probe.connected {
            match probe.stream.take_error() {
                Ok(Some(err)) | Err(err) => {
                    let verdict = verdict_of(&err);
                    self.finish(registry, slot, verdict);
                    return true;
                }
                // Writable without an error: connected, or still connecting
                // (a spurious wake-up); only a known peer address says which.
                Ok(None) => match probe.stream.peer_addr() {
                    Ok(_) => {}
                    Err(err) if err.kind() == io::ErrorKind::NotConnected => return true,
                    Err(err) => {
                        let verdict = verdict_of(&err);
                        self.finish(registry, slot, verdict);
                        return true;
                    }
                },
            }
            probe.connected = true;
            if let Err(err) = registry.reregister(&mut probe.stream, token, Interest::READABLE) {
                debug!("cannot watch the probe's connection: {err}");
                self.finish(registry, slot, Verdict::NotRefused);
                return true;
            }
        }
        // Read to WouldBlock (mio's readiness is edge-triggered): the
        // greeting is dropped; the end of the stream is the verdict.
        let mut buf = [0u8; 64];
        let verdict = loop {
            match probe.stream.read(&mut buf) {
                Ok(0) => break Verdict::Refused,
                Ok(_) => probe.greeted = true,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return true,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => break verdict_of(&err),
            }
        };
        self.finish(registry, slot, verdict);
        true
    }

    /// Ends the probes whose deadline has come: no answer, or an inbox
    /// still open, is no refusal; a connection that stayed silent is said.
    pub(crate) fn expire(&mut self, registry: &Registry, now: Instant) {
        // Backwards: finishing a slot may drop it and the free ones after
        // it, and the free ones before it too when it was the last in use
        // (so a slot below may be gone: `get`).
        for slot in (0..self.slots.len()).rev() {
            let verdict = match self.slots.get(slot).and_then(Option::as_ref) {
                Some(p) if p.deadline <= now && p.connected && !p.greeted => Verdict::Silent,
                Some(p) if p.deadline <= now => Verdict::NotRefused,
                _ => continue,
            };
            self.finish(registry, slot, verdict);
        }
    }

    fn finish(&mut self, registry: &Registry, slot: usize, verdict: Verdict) {
        if let Some(mut probe) = self.slots[slot].take() {
            debug!(
                "probe of {} ({}): {verdict:?}",
                probe.peer.simple(),
                match (probe.connected, probe.greeted) {
                    (false, _) => "connecting",
                    (true, false) => "connected",
                    (true, true) => "greeted",
                }
            );
            let _ = registry.deregister(&mut probe.stream);
            self.finished.push((probe.peer, probe.probe, verdict));
        }
        while matches!(self.slots.last(), Some(None)) {
            self.slots.pop();
        }
    }

    /// The earliest probe deadline, if any probe is in flight.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.slots.iter().flatten().map(|p| p.deadline).min()
    }

    /// Takes the finished probes out.
    pub(crate) fn take_finished(&mut self, into: &mut Vec<Finished>) {
        into.append(&mut self.finished);
    }

    pub(crate) fn has_finished(&self) -> bool {
        !self.finished.is_empty()
    }
}

/// A refusal, or a reset of the probe's connection (see the module notes),
/// is a port nobody serves any more; any other error proves nothing.
fn verdict_of(err: &io::Error) -> Verdict {
    match err.kind() {
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset => Verdict::Refused,
        kind => {
            debug!("probe: {kind:?} ({err}) is no refusal");
            Verdict::NotRefused
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Poll};
    use std::io::Write;
    use std::net::{SocketAddr, TcpListener};

    /// A ZMTP 3 signature, what a libzmq socket sends first.
    const SIGNATURE: [u8; 10] = [0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f];

    /// Drives the probes until one finishes, for at most `limit`.
    fn run(poll: &mut Poll, probes: &mut Probes, limit: Duration) -> Option<Finished> {
        let mut events = Events::with_capacity(8);
        let end = Instant::now() + limit;
        while Instant::now() < end {
            poll.poll(&mut events, Some(Duration::from_millis(10))).unwrap();
            for event in events.iter() {
                assert!(probes.ready(poll.registry(), event.token()));
            }
            let mut done = Vec::new();
            probes.take_finished(&mut done);
            if let Some(finished) = done.pop() {
                return Some(finished);
            }
        }
        None
    }

    /// The endpoint of a local address.
    fn endpoint_of(address: SocketAddr) -> Endpoint {
        Endpoint::from_ip(address.ip(), address.port(), None)
    }

    /// A probe of a listening port, accepted: (poll, probes, connection).
    fn greeted(peer: Uuid) -> (Poll, Probes, std::net::TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = endpoint_of(listener.local_addr().unwrap());
        let mut poll = Poll::new().unwrap();
        let mut probes = Probes::new(0, 2);
        probes.start(poll.registry(), Instant::now(), peer, &endpoint, 7);
        let (mut inbox, _) = listener.accept().unwrap();
        inbox.write_all(&SIGNATURE).unwrap();
        // Greeted, the probe stays to watch the connection.
        assert_eq!(run(&mut poll, &mut probes, Duration::from_millis(200)), None);
        (poll, probes, inbox)
    }

    #[test]
    fn a_port_nobody_serves_is_refused() {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let mut poll = Poll::new().unwrap();
        let mut probes = Probes::new(0, 2);
        let peer = Uuid::from_u128(1);
        probes.start(poll.registry(), Instant::now(), peer, &endpoint_of(port), 3);
        let found = run(&mut poll, &mut probes, Duration::from_secs(2));
        assert_eq!(found, Some((peer, 3, Verdict::Refused)));
    }

    #[test]
    fn an_inbox_that_greets_then_closes_is_gone() {
        let peer = Uuid::from_u128(2);
        let (mut poll, mut probes, inbox) = greeted(peer);
        drop(inbox);
        let found = run(&mut poll, &mut probes, Duration::from_secs(2));
        assert_eq!(found, Some((peer, 7, Verdict::Refused)));
    }

    #[test]
    fn an_inbox_still_open_at_the_deadline_is_not_refused() {
        let peer = Uuid::from_u128(3);
        let (poll, mut probes, _inbox) = greeted(peer);
        probes.expire(poll.registry(), Instant::now() + PROBE_TIMEOUT);
        let mut done = Vec::new();
        probes.take_finished(&mut done);
        assert_eq!(done, [(peer, 7, Verdict::NotRefused)]);
        assert_eq!(probes.next_deadline(), None);
    }

    #[test]
    fn the_table_grows_to_its_capacity_and_empties_again() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = endpoint_of(listener.local_addr().unwrap());
        let poll = Poll::new().unwrap();
        let mut probes = Probes::new(0, 2);
        let now = Instant::now();
        for probe in 1..=3 {
            probes.start(
                poll.registry(),
                now,
                Uuid::from_u128(probe),
                &endpoint,
                probe as u64,
            );
        }
        // Two in flight; the third found no slot and proves nothing.
        assert_eq!(probes.slots.len(), 2);
        let mut done = Vec::new();
        probes.take_finished(&mut done);
        assert_eq!(done, [(Uuid::from_u128(3), 3, Verdict::NotRefused)]);
        assert_eq!(probes.next_deadline(), Some(now + PROBE_TIMEOUT));
        // At the deadline both end and the table holds nothing to scan.
        probes.expire(poll.registry(), now + PROBE_TIMEOUT);
        probes.take_finished(&mut done);
        assert_eq!(done.len(), 3);
        assert!(probes.slots.is_empty());
        assert_eq!(probes.next_deadline(), None);
        // A token of the range whose slot is gone is still the table's.
        assert!(probes.ready(poll.registry(), Token(1)));
    }

    #[test]
    fn the_last_probe_in_use_expiring_after_a_free_slot_ends_cleanly() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = endpoint_of(listener.local_addr().unwrap());
        let poll = Poll::new().unwrap();
        let mut probes = Probes::new(0, 2);
        let now = Instant::now();
        let later = now + Duration::from_secs(1);
        probes.start(poll.registry(), now, Uuid::from_u128(1), &endpoint, 1);
        probes.start(poll.registry(), later, Uuid::from_u128(2), &endpoint, 2);
        // Slot 0 ends first: the table is [free, in use].
        probes.expire(poll.registry(), now + PROBE_TIMEOUT);
        assert_eq!(probes.slots.len(), 2);
        // Slot 1 ends: both go, and slot 0 is not looked at any more
        // (this panicked with an index out of bounds).
        probes.expire(poll.registry(), later + PROBE_TIMEOUT);
        let mut done = Vec::new();
        probes.take_finished(&mut done);
        assert_eq!(done.len(), 2);
        assert!(probes.slots.is_empty());
    }
}
