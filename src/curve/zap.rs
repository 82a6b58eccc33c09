//! The node's own ZAP handler (ZeroMQ RFC 27, ZAP 1.0): libzmq asks it,
//! during each CURVE handshake on our inbox, whether the client's public
//! key may connect; it answers from the [`AllowList`]. This is what czmq's
//! zauth actor does for Zyre, inside the node's reactor instead of a
//! thread of its own.
//!
//! The handler is a REP socket bound to `inproc://zeromq.zap.01` in the
//! node's context, before the inbox binds (a handshake that finds no
//! handler is let through). The reactor polls its ZMQ_FD like any other
//! socket and calls [`ZapHandler::serve`]; each request is answered at
//! once, so the REP socket never holds one across polls.

use crate::curve::allow_list::AllowList;
use log::{debug, info, warn};
use std::collections::HashSet;
use std::time::Instant;

/// The endpoint libzmq sends ZAP requests to (RFC 27).
pub(crate) const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

/// Answers ZAP requests for the sockets of one context.
pub(crate) struct ZapHandler {
    socket: zmq::Socket,
    /// `None`: every key may connect (no `--curve-allow`); the handler
    /// still runs, to name each connection's proven key (its user id).
    allow: Option<AllowList>,
    /// Keys we said we do not link to (each said once while refused).
    said_not_linking: HashSet<[u8; 32]>,
}

/// Refused keys remembered for the log, at most (then it starts over).
const SAID_NOT_LINKING: usize = 1024;

impl ZapHandler {
    /// Binds the handler in `context`; `allow` decides (`None`: any key).
    pub(crate) fn bind(context: &zmq::Context, allow: Option<AllowList>) -> zmq::Result<ZapHandler> {
        let socket = context.socket(zmq::REP)?;
        socket.set_linger(0)?;
        socket.bind(ZAP_ENDPOINT)?;
        Ok(ZapHandler {
            socket,
            allow,
            said_not_linking: HashSet::new(),
        })
    }

    /// Whether the allow-list holds `key` (re-read as
    /// [`AllowList::allows`] does): the reactor asks before linking to
    /// `peer` at `endpoint`, so that a secure node neither lets an unknown
    /// key in nor says HELLO to it. A refusal is logged once per key while
    /// it stays refused (a refused peer's every beacon asks again).
    pub(crate) fn may_link(
        &mut self,
        peer: uuid::Uuid,
        endpoint: &str,
        key: &[u8; 32],
        now: Instant,
    ) -> bool {
        if self.allows(key, now) {
            self.said_not_linking.remove(key);
            return true;
        }
        if self.said_not_linking.len() >= SAID_NOT_LINKING {
            self.said_not_linking.clear();
        }
        if self.said_not_linking.insert(*key) {
            info!(
                "not linking to peer {} at {endpoint}: its key {} is not in the allow-list",
                peer.simple(),
                crate::wire::curve_key::encode_z85(key)
            );
        }
        false
    }

    fn allows(&mut self, key: &[u8; 32], now: Instant) -> bool {
        self.allow.as_mut().is_none_or(|list| list.allows(key, now))
    }

    /// The socket's ZMQ_FD, for the reactor's poll.
    pub(crate) fn fd(&self) -> zmq::Result<std::os::fd::RawFd> {
        self.socket.get_fd()
    }

    /// Answers every waiting request; re-arms the edge-like ZMQ_FD.
    pub(crate) fn serve(&mut self, now: Instant) -> zmq::Result<()> {
        loop {
            let request = match self.socket.recv_multipart(zmq::DONTWAIT) {
                Ok(frames) => frames,
                Err(zmq::Error::EAGAIN) => {
                    // Reading ZMQ_EVENTS re-arms the edge, and takes the
                    // edge of a request that came since the receive: if
                    // it reports one, answer it now, no edge will come.
                    if self.socket.get_events()?.contains(zmq::POLLIN) {
                        continue;
                    }
                    return Ok(());
                }
                Err(zmq::Error::EINTR) => continue,
                Err(err) => return Err(err),
            };
            let reply = self.answer(&request, now);
            self.socket.send_multipart(reply, 0)?;
        }
    }

    /// The reply to one request (RFC 27 frames: version, request id,
    /// domain, address, identity, mechanism, credentials…): 200 for a
    /// CURVE client whose key is allowed, with the key (Z85) as the user
    /// id, which libzmq then gives each message of that connection as its
    /// `User-Id` property; 400 for anything else.
    fn answer(&mut self, request: &[Vec<u8>], now: Instant) -> Vec<Vec<u8>> {
        let request_id = request.get(1).cloned().unwrap_or_default();
        let mut user_id = Vec::new();
        let (status, text): (&[u8], &[u8]) = match request {
            [version, _id, _domain, address, _identity, mechanism, key, ..]
                if version.as_slice() == b"1.0" && mechanism.as_slice() == b"CURVE" =>
            {
                let address = String::from_utf8_lossy(address);
                match <[u8; 32]>::try_from(key.as_slice()) {
                    Ok(key) if self.allows(&key, now) => {
                        debug!("CURVE: {address} allowed");
                        user_id = crate::wire::curve_key::encode_z85(&key).into_bytes();
                        (b"200", b"OK")
                    }
                    Ok(key) => {
                        info!(
                            "CURVE: refused {address}: key {} is not in the allow-list",
                            crate::wire::curve_key::encode_z85(&key)
                        );
                        (b"400", b"key not allowed")
                    }
                    Err(_) => (b"400", b"bad credentials"),
                }
            }
            _ => {
                warn!("ZAP: refused a request that is not ZAP 1.0 CURVE");
                (b"400", b"CURVE only")
            }
        };
        vec![
            b"1.0".to_vec(),
            request_id,
            status.to_vec(),
            text.to_vec(),
            user_id,
            Vec::new(), // metadata
        ]
    }
}
