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
    /// watching a link whose handshake got through: `stop_monitor` is
    /// called for it first (the link's DEALER must stop its monitor before
    /// we close the reading end: see `link::stop_monitor`).
    pub(crate) fn drain(
        &mut self,
        registry: &Registry,
        results: &mut Vec<Handshake>,
        mut stop_monitor: impl FnMut(LinkId),
    ) {
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
                    stop_monitor(link);
                    self.by_link.remove(&link);
                    self.close(registry, token);
                }
            }
        }
        self.ready = ready;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::link::stop_monitor;
    use mio::{Events, Poll};
    use std::time::{Duration, Instant};

    /// A CURVE ROUTER at `endpoint` (retried while the port is still
    /// being released).
    fn server(context: &zmq::Context, secret: &[u8], endpoint: &str) -> zmq::Socket {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let socket = context.socket(zmq::ROUTER).unwrap();
            socket.set_linger(0).unwrap();
            socket.set_curve_server(true).unwrap();
            socket.set_curve_secretkey(secret).unwrap();
            match socket.bind(endpoint) {
                Ok(()) => return socket,
                Err(err) if Instant::now() < deadline => {
                    let _ = err;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(err) => panic!("cannot bind {endpoint}: {err}"),
            }
        }
    }

    /// A link's handshake got through and its watch closed; then its
    /// connection breaks (the server restarts at the same endpoint) and
    /// libzmq's next handshake on it succeeds again. That event must not
    /// block libzmq's I/O thread: a message still goes through, and a new
    /// link gets through its handshake. Before the monitor was stopped
    /// with the watch, the event's blocking send to a monitor nobody read
    /// wedged the I/O thread for good (the CURVE chaos schedule, seed
    /// 1796491274301713771 with `CHAOS_SECS=120`).
    #[test]
    fn a_watched_link_that_handshakes_again_does_not_block_libzmq() {
        if !zmq::has("curve").unwrap_or(false) {
            eprintln!("SKIPPED: libzmq has no CURVE");
            return;
        }
        let context = zmq::Context::new();
        let server_keys = zmq::CurveKeyPair::new().unwrap();
        let client_keys = zmq::CurveKeyPair::new().unwrap();
        let first = server(&context, &server_keys.secret_key, "tcp://127.0.0.1:*");
        let endpoint = first.get_last_endpoint().unwrap().unwrap();
        let dealer = |context: &zmq::Context| {
            let socket = context.socket(zmq::DEALER).unwrap();
            socket.set_linger(0).unwrap();
            socket.set_reconnect_ivl(20).unwrap();
            socket.set_curve_serverkey(&server_keys.public_key).unwrap();
            socket.set_curve_publickey(&client_keys.public_key).unwrap();
            socket.set_curve_secretkey(&client_keys.secret_key).unwrap();
            socket
        };
        let mut poll = Poll::new().unwrap();
        let mut events = Events::with_capacity(16);
        let mut watch = HandshakeWatch::new(1000, 16);
        let mut handshake = |watch: &mut HandshakeWatch, socket: &mut zmq::Socket, link: LinkId| {
            watch
                .watch(&context, poll.registry(), socket, link, &endpoint)
                .unwrap();
            socket.connect(&endpoint).unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut results = Vec::new();
            while results.is_empty() && Instant::now() < deadline {
                watch.drain(poll.registry(), &mut results, |_| stop_monitor(socket));
                poll.poll(&mut events, Some(Duration::from_millis(20))).unwrap();
                for event in events.iter() {
                    watch.mark_ready(event.token());
                }
            }
            results
        };
        let mut a = dealer(&context);
        let link_a = LinkId::Gossip(1);
        assert_eq!(handshake(&mut watch, &mut a, link_a), [Handshake::Up(link_a)]);

        drop(first);
        let second = server(&context, &server_keys.secret_key, &endpoint);
        // Sent again until one arrives: the first ones may still go into
        // the connection the old server is closing.
        second.set_rcvtimeo(100).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut arrived = false;
        while !arrived && Instant::now() < deadline {
            let _ = a.send("after the restart", zmq::DONTWAIT);
            arrived = second.recv_multipart(0).is_ok_and(|frames| {
                frames.last().map(Vec::as_slice) == Some(b"after the restart".as_slice())
            });
        }
        assert!(arrived, "no message got through the reconnected link in 10 s");
        let mut b = dealer(&context);
        let link_b = LinkId::Gossip(2);
        assert_eq!(handshake(&mut watch, &mut b, link_b), [Handshake::Up(link_b)]);
    }
}
