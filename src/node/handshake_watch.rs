//! CURVE mode: whether each new DEALER to a peer's inbox got through its
//! handshake, so that the core enters a peer only when we can send to it
//! (see `core/node/handshake.rs`). libzmq's socket monitor on the DEALER
//! reports HANDSHAKE_SUCCEEDED or HANDSHAKE_FAILED_*; it is read through a
//! PAIR socket (as `inbox_watch.rs` reads the inbox's), registered in the
//! poll until a handshake gets through, then closed: a link costs the two
//! sockets only while its handshake is under way (libzmq keeps its end of the
//! monitor, which drops what nobody reads, until the DEALER closes).
//! Plain mode watches nothing: there is no key to refuse. A gossip
//! server's link is watched too, so that a wrong server key is named as
//! such rather than only as a server that stays silent.

use super::link::LinkId;
use log::debug;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use std::collections::HashMap;
use std::io;

const SUCCEEDED: u16 = zmq::SocketEvent::HANDSHAKE_SUCCEEDED as u16;
const FAILED_NO_DETAIL: u16 = zmq::SocketEvent::HANDSHAKE_FAILED_NO_DETAIL as u16;
const FAILED_PROTOCOL: u16 = zmq::SocketEvent::HANDSHAKE_FAILED_PROTOCOL as u16;
const FAILED_AUTH: u16 = zmq::SocketEvent::HANDSHAKE_FAILED_AUTH as u16;

const WATCHED: i32 = zmq::SocketEvent::HANDSHAKE_SUCCEEDED as i32
    | zmq::SocketEvent::HANDSHAKE_FAILED_NO_DETAIL as i32
    | zmq::SocketEvent::HANDSHAKE_FAILED_PROTOCOL as i32
    | zmq::SocketEvent::HANDSHAKE_FAILED_AUTH as i32;

/// How a link's handshake ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Handshake {
    Up(LinkId),
    /// The link and the endpoint it was connected to.
    Failed(LinkId, String),
}

struct Watch {
    link: LinkId,
    endpoint: String,
    pair: zmq::Socket,
}

/// The handshakes under way, by poll token.
pub(crate) struct HandshakeWatch {
    watches: HashMap<Token, Watch>,
    by_link: HashMap<LinkId, Token>,
    /// Tokens whose ZMQ_FD fired (or that are new): to read.
    ready: Vec<Token>,
    first_token: usize,
    span: usize,
    /// Numbers the tokens and inproc endpoints.
    count: u64,
    event: zmq::Message,
}

impl HandshakeWatch {
    /// Watches use tokens `first_token .. first_token + span`.
    pub(crate) fn new(first_token: usize, span: usize) -> HandshakeWatch {
        HandshakeWatch {
            watches: HashMap::new(),
            by_link: HashMap::new(),
            ready: Vec::new(),
            first_token,
            span: span.max(1),
            count: 0,
            event: zmq::Message::new(),
        }
    }

    /// Starts watching `socket`, the new DEALER of `link` to `endpoint`,
    /// before it connects (a result that comes first would be missed).
    pub(crate) fn watch(
        &mut self,
        context: &zmq::Context,
        registry: &Registry,
        socket: &zmq::Socket,
        link: LinkId,
        endpoint: &str,
    ) -> io::Result<()> {
        self.forget(registry, link);
        let mut token = Token(self.first_token + (self.count % self.span as u64) as usize);
        while self.watches.contains_key(&token) {
            self.count += 1;
            token = Token(self.first_token + (self.count % self.span as u64) as usize);
        }
        let inproc = format!("inproc://zre-handshake-{}", self.count);
        self.count += 1;
        socket.monitor(&inproc, WATCHED).map_err(io::Error::other)?;
        let pair = context.socket(zmq::PAIR).map_err(io::Error::other)?;
        pair.set_linger(0).map_err(io::Error::other)?;
        pair.connect(&inproc).map_err(io::Error::other)?;
        let fd = pair.get_fd().map_err(io::Error::other)?;
        registry.register(&mut SourceFd(&fd), token, Interest::READABLE)?;
        self.watches.insert(
            token,
            Watch {
                link,
                endpoint: endpoint.to_owned(),
                pair,
            },
        );
        self.by_link.insert(link, token);
        self.ready.push(token);
        Ok(())
    }

    /// Whether `token` is one of ours (then marked to be read).
    pub(crate) fn mark_ready(&mut self, token: Token) -> bool {
        if self.watches.contains_key(&token) {
            self.ready.push(token);
            true
        } else {
            false
        }
    }

    pub(crate) fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// The link closed: its handshake no longer matters.
    pub(crate) fn forget(&mut self, registry: &Registry, link: LinkId) {
        if let Some(token) = self.by_link.remove(&link) {
            self.close(registry, token);
        }
    }

    /// `from`'s link is `to`'s now (the core's `Relink`).
    pub(crate) fn relink(&mut self, from: LinkId, to: LinkId) {
        if let Some(token) = self.by_link.remove(&from) {
            self.by_link.insert(to, token);
            if let Some(watch) = self.watches.get_mut(&token) {
                watch.link = to;
            }
        }
    }

    fn close(&mut self, registry: &Registry, token: Token) {
        if let Some(watch) = self.watches.remove(&token) {
            if let Ok(fd) = watch.pair.get_fd() {
                let _ = registry.deregister(&mut SourceFd(&fd));
            }
        }
    }

    /// Reads the watches that fired; appends each first result, and stops
    /// watching that link.
    pub(crate) fn drain(&mut self, registry: &Registry, results: &mut Vec<Handshake>) {
        let mut ready = std::mem::take(&mut self.ready);
        for token in ready.drain(..) {
            let Some(watch) = self.watches.get(&token) else {
                continue;
            };
            let link = watch.link;
            let mut result = None;
            loop {
                match watch.pair.recv(&mut self.event, zmq::DONTWAIT) {
                    Ok(()) => {}
                    Err(zmq::Error::EINTR) => continue,
                    Err(_) => break,
                }
                // Frame 1: event (u16) and value (u32); frame 2: endpoint.
                let event = self.event.get(0..2).map(|b| u16::from_ne_bytes([b[0], b[1]]));
                if self.event.get_more() {
                    let _ = watch.pair.recv(&mut self.event, 0);
                }
                // Read to EAGAIN (which re-arms the edge); a success among
                // them wins.
                match event {
                    Some(SUCCEEDED) => result = Some(Handshake::Up(link)),
                    Some(FAILED_NO_DETAIL | FAILED_PROTOCOL | FAILED_AUTH)
                        if !matches!(result, Some(Handshake::Up(_))) =>
                    {
                        result = Some(Handshake::Failed(link, watch.endpoint.clone()))
                    }
                    _ => {}
                }
            }
            if let Some(result) = result {
                debug!("link {link:?}: handshake {result:?}");
                // libzmq tries again after a failure: watched until one
                // gets through (or the link closes).
                let up = matches!(result, Handshake::Up(_));
                results.push(result);
                if up {
                    self.by_link.remove(&link);
                    self.close(registry, token);
                }
            }
        }
        self.ready = ready;
    }
}
