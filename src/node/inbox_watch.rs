//! Which connections to our inbox closed, by the remote host: libzmq's
//! socket monitor on the ROUTER, read through one PAIR socket.
//!
//! A peer's DEALER connection to our inbox carries everything it sends
//! us, so its close means that all of it is in our inbox already (libzmq
//! reads a TCP stream to its end before it reports the close). The
//! monitor names connections by file descriptor: ACCEPTED gives the
//! descriptor, whose remote address we read then; DISCONNECTED gives it
//! back. A connection that never finished the ZMTP handshake (another
//! node's probe of our port) is announced by HANDSHAKE_FAILED_* just
//! before its DISCONNECTED, and is no peer's: it is ignored, or each
//! probe would make the probed node probe in turn.
//!
//! One monitor serves every peer: two sockets and one descriptor for the
//! node, none per peer.

use log::debug;
use socket2::SockRef;
use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::os::fd::{BorrowedFd, RawFd};

const ACCEPTED: u16 = zmq::SocketEvent::ACCEPTED as u16;
const DISCONNECTED: u16 = zmq::SocketEvent::DISCONNECTED as u16;
const FAILED_NO_DETAIL: u16 = zmq::SocketEvent::HANDSHAKE_FAILED_NO_DETAIL as u16;
const FAILED_PROTOCOL: u16 = zmq::SocketEvent::HANDSHAKE_FAILED_PROTOCOL as u16;
const FAILED_AUTH: u16 = zmq::SocketEvent::HANDSHAKE_FAILED_AUTH as u16;

const WATCHED: i32 = zmq::SocketEvent::ACCEPTED as i32
    | zmq::SocketEvent::DISCONNECTED as i32
    | zmq::SocketEvent::HANDSHAKE_FAILED_NO_DETAIL as i32
    | zmq::SocketEvent::HANDSHAKE_FAILED_PROTOCOL as i32
    | zmq::SocketEvent::HANDSHAKE_FAILED_AUTH as i32;

pub(crate) struct InboxWatch {
    /// The reading end of the monitor.
    pair: zmq::Socket,
    /// Accepted connections still open: descriptor -> remote host.
    open: HashMap<RawFd, IpAddr>,
    /// The last event was a failed handshake: the next DISCONNECTED is
    /// that connection's.
    handshake_failed: bool,
    event: zmq::Message,
    address: zmq::Message,
}

impl InboxWatch {
    /// Starts monitoring `inbox`; `name` makes the inproc address unique.
    pub(crate) fn new(context: &zmq::Context, inbox: &zmq::Socket, name: &str) -> zmq::Result<InboxWatch> {
        let endpoint = format!("inproc://zre-inbox-watch-{name}");
        inbox.monitor(&endpoint, WATCHED)?;
        let pair = context.socket(zmq::PAIR)?;
        pair.set_linger(0)?;
        pair.connect(&endpoint)?;
        Ok(InboxWatch {
            pair,
            open: HashMap::new(),
            handshake_failed: false,
            event: zmq::Message::new(),
            address: zmq::Message::new(),
        })
    }

    /// The PAIR's ZMQ_FD, to poll (edge-like, as every ZMQ_FD).
    pub(crate) fn fd(&self) -> zmq::Result<RawFd> {
        self.pair.get_fd()
    }

    /// Reads every monitor event waiting (until EAGAIN, which re-arms the
    /// ZMQ_FD edge) and appends the host of each closed peer connection.
    pub(crate) fn drain(&mut self, closed: &mut Vec<IpAddr>) -> io::Result<()> {
        loop {
            match self.pair.recv(&mut self.event, zmq::DONTWAIT) {
                Ok(()) => {}
                Err(zmq::Error::EAGAIN) => return Ok(()),
                Err(zmq::Error::EINTR) => continue,
                Err(err) => return Err(io::Error::other(err)),
            }
            // Frame 1: event (u16) and value (u32), native byte order;
            // frame 2: the endpoint, unused here.
            if self.event.get_more() {
                self.pair.recv(&mut self.address, 0).map_err(io::Error::other)?;
            }
            let Some((event, value)) = parse_event(&self.event) else {
                continue;
            };
            let failed = std::mem::take(&mut self.handshake_failed);
            // Compared as numbers: the crate's `from_raw` panics on an
            // event it does not know.
            match event {
                ACCEPTED => {
                    let fd = value as RawFd;
                    match remote_host(fd) {
                        Some(host) => {
                            self.open.insert(fd, host);
                        }
                        None => debug!("an inbox connection (fd {fd}) closed before we saw it open"),
                    }
                }
                FAILED_NO_DETAIL | FAILED_PROTOCOL | FAILED_AUTH => self.handshake_failed = true,
                DISCONNECTED => {
                    let host = self.open.remove(&(value as RawFd));
                    match host {
                        Some(host) if !failed => {
                            debug!("a connection from {host} to our inbox closed");
                            closed.push(host);
                        }
                        Some(host) => debug!("a connection from {host} that failed its handshake closed"),
                        None => debug!("an inbox connection we did not see open (fd {value}) closed"),
                    }
                }
                _ => {}
            }
        }
    }
}

fn parse_event(frame: &[u8]) -> Option<(u16, u32)> {
    let event = u16::from_ne_bytes(frame.get(0..2)?.try_into().ok()?);
    let value = u32::from_ne_bytes(frame.get(2..6)?.try_into().ok()?);
    Some((event, value))
}

/// The remote host of an accepted connection, read while libzmq holds it
/// open. (Should it have closed already and the number been reused, the
/// host may be wrong: that costs one probe which finds nothing.)
fn remote_host(fd: RawFd) -> Option<IpAddr> {
    // SAFETY: the descriptor is only borrowed for one getpeername(2) call;
    // it is never closed or kept here. At worst it is no longer open, and
    // the call fails with EBADF.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let address = SockRef::from(&borrowed).peer_addr().ok()?;
    address.as_socket().map(|a| a.ip().to_canonical())
}
