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
use std::time::Instant;

/// The endpoint libzmq sends ZAP requests to (RFC 27).
pub(crate) const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

/// Answers ZAP requests for the sockets of one context.
pub(crate) struct ZapHandler {
    socket: zmq::Socket,
    allow: AllowList,
}

impl ZapHandler {
    /// Binds the handler in `context`; `allow` decides.
    pub(crate) fn bind(context: &zmq::Context, allow: AllowList) -> zmq::Result<ZapHandler> {
        let socket = context.socket(zmq::REP)?;
        socket.set_linger(0)?;
        socket.bind(ZAP_ENDPOINT)?;
        Ok(ZapHandler { socket, allow })
    }

    /// Whether the allow-list holds `key` (re-read as
    /// [`AllowList::allows`] does): the reactor asks before linking to a
    /// peer, so that a secure node neither lets an unknown key in nor says
    /// HELLO to it.
    pub(crate) fn allows(&mut self, key: &[u8; 32], now: Instant) -> bool {
        self.allow.allows(key, now)
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
                Err(zmq::Error::EAGAIN) => break,
                Err(zmq::Error::EINTR) => continue,
                Err(err) => return Err(err),
            };
            let reply = self.answer(&request, now);
            self.socket.send_multipart(reply, 0)?;
        }
        self.socket.get_events()?;
        Ok(())
    }

    /// The reply to one request (RFC 27 frames: version, request id,
    /// domain, address, identity, mechanism, credentials…): 200 for a
    /// CURVE client whose key is allowed, 400 for anything else.
    fn answer(&mut self, request: &[Vec<u8>], now: Instant) -> Vec<Vec<u8>> {
        let request_id = request.get(1).cloned().unwrap_or_default();
        let (status, text): (&[u8], &[u8]) = match request {
            [version, _id, _domain, address, _identity, mechanism, key, ..]
                if version.as_slice() == b"1.0" && mechanism.as_slice() == b"CURVE" =>
            {
                let address = String::from_utf8_lossy(address);
                match <[u8; 32]>::try_from(key.as_slice()) {
                    Ok(key) if self.allow.allows(&key, now) => {
                        debug!("CURVE: {address} allowed");
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
            Vec::new(), // user id
            Vec::new(), // metadata
        ]
    }
}
