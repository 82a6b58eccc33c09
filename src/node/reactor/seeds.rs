//! Seed peers in the shell: `--peer HOST:PORT` ([`Node::add_peer`],
//! [`crate::NodeBuilder::peer`]) and Zyre's `zyre_require_peer`
//! ([`Node::require_peer`]). An address goes straight to the core
//! ([`NodeCore::set_seed`]); a name goes to the resolver thread
//! ([`crate::node::resolver`]), whose answers come back through the poll.

use super::*;
use crate::core::endpoint::Endpoint;
use crate::error::SettingError;
use crate::node::resolver::Resolver;
use crate::wire::curve_key::{decode_z85, is_usable_key, split_gossip_value};
use std::collections::HashMap;
use std::net::SocketAddr;

/// The resolver (started with the first name) and each name's CURVE key.
#[derive(Default)]
pub(crate) struct SeedNames {
    resolver: Option<Resolver>,
    keys: HashMap<String, Option<CurveKey>>,
}

/// A seed as given: `HOST:PORT`, `tcp://HOST:PORT`, and in CURVE mode
/// `|KEY` after it.
pub(crate) struct PeerSpec {
    /// `HOST:PORT` as given (without `tcp://` and the key).
    pub origin: String,
    pub host: String,
    pub port: u16,
    pub key: Option<CurveKey>,
}

/// Parses a seed peer (see [`PeerSpec`]).
pub(crate) fn parse_peer(spec: &str) -> Result<PeerSpec, SettingError> {
    let bad = |why: &str| SettingError::PeerSpec {
        spec: spec.to_owned(),
        why: why.to_owned(),
    };
    let (address, key) = split_gossip_value(spec.trim());
    let key = match key {
        Some(text) => Some(
            decode_z85(text)
                .ok()
                .filter(is_usable_key)
                .ok_or_else(|| bad("the CURVE key after | must be 40 characters of Z85"))?,
        ),
        None => None,
    };
    let address = address.strip_prefix("tcp://").unwrap_or(address);
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| bad("expected HOST:PORT"))?;
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| bad("the port must be 1 to 65535"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad("expected HOST:PORT"));
    }
    Ok(PeerSpec {
        origin: address.to_owned(),
        host: host.to_owned(),
        port,
        key,
    })
}

impl Node {
    /// Adds a seed peer: `HOST:PORT` (or `tcp://HOST:PORT`), in CURVE mode
    /// `HOST:PORT|KEY` (the peer's public key, 40 characters of Z85). The
    /// node connects to that inbox without a beacon, a gossip server or
    /// its UUID, which it learns from the peer's HELLO. A host name stands
    /// for every address it resolves to, looked up again every 10 s, off
    /// the loop. A seed that does not answer is tried again with a backoff
    /// (1 s doubling to 30 s); a seed whose peer leaves is dialled again.
    ///
    /// # Errors
    /// [`NodeError::Config`] for a malformed spec, a key in plain mode or
    /// none in CURVE mode; [`NodeError::Command`] after [`Node::stop`];
    /// [`NodeError::Io`] if the resolver thread cannot start. (From a
    /// [`NodeHandle`](crate::NodeHandle): `handle.call(|node| node.add_peer(spec))`.)
    pub fn add_peer(&mut self, spec: &str) -> Result<(), NodeError> {
        let peer = parse_peer(spec)?;
        if self.core.is_stopped() {
            return Err(crate::core::CommandError::Stopped.into());
        }
        match (self.settings.curve.is_some(), peer.key.is_some()) {
            (false, true) => {
                return Err(SettingError::NeedsCurve {
                    what: "a peer's CURVE key",
                }
                .into());
            }
            (true, false) => {
                return Err(SettingError::PeerSpec {
                    spec: spec.to_owned(),
                    why: "CURVE mode needs the peer's key: HOST:PORT|KEY".to_owned(),
                }
                .into());
            }
            _ => {}
        }
        let now = Instant::now();
        match peer.host.parse::<std::net::IpAddr>() {
            Ok(ip) => {
                let address = SocketAddr::new(ip, peer.port);
                self.core.set_seed(now, &peer.origin, &[address], peer.key);
            }
            Err(_) => {
                self.seed_names.keys.insert(peer.origin.clone(), peer.key);
                if self.seed_names.resolver.is_none() {
                    let ipv6 = self.core.endpoint().contains('[');
                    let mut resolver = Resolver::start(ipv6)?;
                    self.poll
                        .registry()
                        .register(resolver.source(), RESOLVER, Interest::READABLE)?;
                    self.seed_names.resolver = Some(resolver);
                }
                if let Some(resolver) = &self.seed_names.resolver {
                    resolver.add(&peer.origin, &peer.host, peer.port);
                }
            }
        }
        self.settled = false;
        self.after_command()
    }

    /// Zyre's `zyre_require_peer`: connects to peer `uuid` at `endpoint`
    /// (`tcp://IP:PORT`), with its CURVE `public_key` (Z85) in CURVE mode,
    /// as if a beacon had announced it; unlike Zyre, it is dialled again
    /// (with a backoff) while it does not answer or after it left.
    ///
    /// # Errors
    /// [`NodeError::Config`] for a key that is not 40 characters of Z85,
    /// a key in plain mode or none in CURVE mode; [`NodeError::Command`]
    /// after [`Node::stop`].
    pub fn require_peer(
        &mut self,
        uuid: Uuid,
        endpoint: &str,
        public_key: Option<&str>,
    ) -> Result<(), NodeError> {
        let spec = match public_key {
            Some(key) => format!("{endpoint}|{key}"),
            None => endpoint.to_owned(),
        };
        let peer = parse_peer(&spec)?;
        if self.settings.curve.is_some() != peer.key.is_some() {
            return Err(SettingError::PeerSpec {
                spec,
                why: "a key is needed in CURVE mode and refused in plain mode".to_owned(),
            }
            .into());
        }
        // The text the core reads as the peer's endpoint (Zyre's
        // `zyre_require_peer` takes text): an address in the form we
        // write, or the host name as given.
        let endpoint = match peer.host.parse::<std::net::IpAddr>() {
            Ok(ip) => Endpoint::from_ip(ip, peer.port, None).to_string(),
            Err(_) => format!("tcp://{}", peer.origin),
        };
        self.core
            .require_seed_peer(Instant::now(), uuid, &endpoint, peer.key)?;
        self.settled = false;
        self.after_command()
    }

    /// Hands what the resolver found to the core.
    pub(super) fn service_resolver(&mut self, now: Instant) {
        let Some(resolver) = self.seed_names.resolver.as_mut() else {
            return;
        };
        for resolved in resolver.take() {
            let key = self.seed_names.keys.get(&resolved.origin).copied().flatten();
            debug!("seed {} resolves to {:?}", resolved.origin, resolved.addresses);
            self.core
                .set_seed(now, &resolved.origin, &resolved.addresses, key);
        }
    }
}
