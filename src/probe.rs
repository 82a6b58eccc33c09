//! TCP connect probes of peer inbox ports (`Action::Probe`): a refused
//! connection (ECONNREFUSED) means the peer's host answered and nothing
//! listens on that port any more; unreachable, or no answer within
//! `PROBE_TIMEOUT`, proves nothing. libzmq's reconnects do not tell these
//! apart, so the probe is a plain non-blocking connect.
//!
//! An accepted connection is not the end: a process being killed closes
//! its connections one by one, and a probe sent on the first close can
//! reach its listening socket before that closes too, which then resets
//! the connection. A live libzmq socket greets every connection at once
//! (the ZMTP signature), so the probe waits for a first byte: bytes mean
//! alive, a reset or end of stream without a byte means gone (as a
//! refusal), silence (a stopped process) proves nothing.

use log::debug;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use std::io::{self, Read};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How long a probe waits for the SYN to be answered. A LAN answers in
/// milliseconds; silence means a lost route, which the timers handle.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What a probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Refused,
    /// Accepted, unreachable, timed out, or could not be tried.
    NotRefused,
}

/// A finished probe: the peer, the core's probe number, the verdict.
pub(crate) type Finished = (Uuid, u64, Verdict);

struct Probe {
    stream: TcpStream,
    peer: Uuid,
    probe: u64,
    deadline: Instant,
    /// The connect succeeded: now waiting for the greeting.
    connected: bool,
}

/// Probes in flight, each a poll token from a range of its own, and the
/// results not yet handed to the core.
pub(crate) struct Probes {
    first_token: usize,
    slots: Vec<Option<Probe>>,
    finished: Vec<Finished>,
}

impl Probes {
    /// A table using tokens `first_token..first_token + capacity`.
    pub(crate) fn new(first_token: usize, capacity: usize) -> Probes {
        Probes {
            first_token,
            slots: (0..capacity).map(|_| None).collect(),
            finished: Vec::new(),
        }
    }

    /// Starts probing `endpoint` (`tcp://IP:PORT`) for the core's `probe`.
    pub(crate) fn start(
        &mut self,
        registry: &Registry,
        now: Instant,
        peer: Uuid,
        endpoint: &str,
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
        endpoint: &str,
        probe: u64,
    ) -> io::Result<Option<Verdict>> {
        let address: SocketAddr = endpoint
            .strip_prefix("tcp://")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not tcp://IP:PORT"))?;
        let Some(slot) = self.slots.iter().position(Option::is_none) else {
            return Ok(Some(Verdict::NotRefused));
        };
        let mut stream = match TcpStream::connect(address) {
            Ok(stream) => stream,
            Err(err) => {
                debug!("probe of {endpoint}: {err}");
                return Ok(Some(verdict_of(&err)));
            }
        };
        registry.register(&mut stream, Token(self.first_token + slot), Interest::WRITABLE)?;
        self.slots[slot] = Some(Probe {
            stream,
            peer,
            probe,
            deadline: now + PROBE_TIMEOUT,
            connected: false,
        });
        Ok(None)
    }

    /// The poll reported `token`: if it is a probe's, its connect ended.
    /// Returns false for a token that is not a probe's.
    pub(crate) fn ready(&mut self, registry: &Registry, token: Token) -> bool {
        let Some(slot) = token
            .0
            .checked_sub(self.first_token)
            .filter(|s| *s < self.slots.len())
        else {
            return false;
        };
        let Some(probe) = self.slots[slot].as_mut() else {
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
                debug!("cannot wait for a greeting: {err}");
                self.finish(registry, slot, Verdict::NotRefused);
                return true;
            }
        }
        let mut byte = [0u8; 1];
        let verdict = match probe.stream.read(&mut byte) {
            Ok(0) => Verdict::Refused,
            Ok(_) => Verdict::NotRefused,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return true,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => return true,
            Err(err) => verdict_of(&err),
        };
        self.finish(registry, slot, verdict);
        true
    }

    /// Ends the probes whose deadline has come: no answer is no refusal.
    pub(crate) fn expire(&mut self, registry: &Registry, now: Instant) {
        for slot in 0..self.slots.len() {
            if self.slots[slot].as_ref().is_some_and(|p| p.deadline <= now) {
                self.finish(registry, slot, Verdict::NotRefused);
            }
        }
    }

    fn finish(&mut self, registry: &Registry, slot: usize, verdict: Verdict) {
        if let Some(mut probe) = self.slots[slot].take() {
            debug!(
                "probe of {} ({}): {verdict:?}",
                probe.peer.simple(),
                if probe.connected {
                    "connected"
                } else {
                    "connecting"
                }
            );
            let _ = registry.deregister(&mut probe.stream);
            self.finished.push((probe.peer, probe.probe, verdict));
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

/// A refusal, or a reset before the first byte (see the module notes), is
/// a port nobody serves; any other error proves nothing.
fn verdict_of(err: &io::Error) -> Verdict {
    match err.kind() {
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset => Verdict::Refused,
        kind => {
            debug!("probe: {kind:?} ({err}) is no refusal");
            Verdict::NotRefused
        }
    }
}
