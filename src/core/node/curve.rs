//! CURVE mode (Zyre 2.0.1's, `zyre_node.c`; not in RFC 36): which key an
//! announcement or HELLO brings, and whether it may bring a peer in.
//!
//! Never a downgrade: in CURVE mode a beacon, gossip value or HELLO without
//! a key is ignored (Zyre tosses them too), and so is one whose key can be
//! no key (a Curve25519 point of small order, see
//! [`is_usable_key`](crate::wire::curve_key::is_usable_key)). In plain mode
//! anything that carries a key is a CURVE node's, which we could not talk
//! to in the clear: ignored too.
//!
//! A peer's key is bound to it while it is in the table: a beacon or
//! gossip value for its UUID with another key is ignored (anyone can send
//! those). Only a HELLO, which came through our CURVE inbox, replaces the
//! key, as it replaces the endpoint an announcement gave: the DEALER is
//! connected afresh with the new key. If a peer really got a new key under
//! its old UUID, it is met again once its old entry expires.

use super::*;
use crate::wire::CurveKey;
use crate::wire::curve_key::{self, PUBLIC_KEY_HEADER};

/// Where a key came from, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Via {
    Beacon(IpAddr),
    Gossip,
    Hello,
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Via::Beacon(from) => write!(f, "beacon from {from}"),
            Via::Gossip => write!(f, "gossip value"),
            Via::Hello => write!(f, "HELLO"),
        }
    }
}

/// The key an announcement or HELLO carried: none, one that decoded, or
/// text that is no Z85 key.
pub(super) type KeyIn = Option<Result<CurveKey, WireError>>;

impl NodeCore {
    /// Whether we are in CURVE mode.
    pub(super) fn is_curve(&self) -> bool {
        self.config.curve_public_key.is_some()
    }

    /// What `key`, carried by `via` for `uuid`, lets in: `Some(None)` a
    /// plain peer (plain mode, no key), `Some(Some(key))` a CURVE peer
    /// (CURVE mode, a usable key not conflicting with the one `uuid` has,
    /// unless `via` is a HELLO), `None` nothing: it was logged.
    pub(super) fn admit_key(
        &mut self,
        now: Instant,
        uuid: Uuid,
        via: Via,
        key: KeyIn,
    ) -> Option<Option<CurveKey>> {
        let key = match (self.is_curve(), key) {
            (false, None) => return Some(None),
            (false, Some(_)) => {
                if let Some(also) = self.logs.curve_mismatch.admit(now) {
                    debug!(
                        "ignoring {via} of {}: it carries a CURVE key and we are in plain mode{also}",
                        uuid.simple()
                    );
                }
                return None;
            }
            (true, None) => {
                if let Some(also) = self.logs.curve_mismatch.admit(now) {
                    debug!(
                        "ignoring {via} of {}: no CURVE key, and we do not downgrade to plain{also}",
                        uuid.simple()
                    );
                }
                return None;
            }
            (true, Some(Err(err))) => {
                if let Some(also) = self.logs.curve_bad.admit(now) {
                    warn!("ignoring {via} of {}: bad CURVE key: {err}{also}", uuid.simple());
                }
                return None;
            }
            (true, Some(Ok(key))) => key,
        };
        if !curve_key::is_usable_key(&key) {
            if let Some(also) = self.logs.curve_bad.admit(now) {
                warn!(
                    "ignoring {via} of {}: its CURVE key {} is a point of small order, no key{also}",
                    uuid.simple(),
                    curve_key::encode_z85(&key)
                );
            }
            return None;
        }
        if via != Via::Hello {
            if let Some(known) = self.peers.get(&uuid).and_then(|p| p.curve_key) {
                if known != key {
                    if let Some(also) = self.logs.curve_bad.admit(now) {
                        warn!(
                            "ignoring {via} of {}: it names CURVE key {}, the peer has {}{also}",
                            uuid.simple(),
                            curve_key::encode_z85(&key),
                            curve_key::encode_z85(&known)
                        );
                    }
                    return None;
                }
            }
        }
        Some(Some(key))
    }

    /// Whether `message` from `uuid` goes with the key its connection
    /// proved: a HELLO's `X-PUBLICKEY` (a HELLO without a usable key is
    /// refused by `admit_key` anyway), or the key of the peer `uuid` is.
    /// A mismatch is logged, once a second at most.
    pub(super) fn proven_key_matches(
        &mut self,
        now: Instant,
        uuid: Uuid,
        proven: &CurveKey,
        message: &Result<ZreMessage<'_>, WireError>,
    ) -> bool {
        if !self.is_curve() {
            return true;
        }
        let (claimed, what) = match message {
            Ok(ZreMessage {
                body: Body::Hello(hello),
                ..
            }) => match self.hello_key(hello) {
                Some(Ok(key)) => (Some(key), "its HELLO names"),
                _ => return true,
            },
            _ => (
                self.peers.get(&uuid).and_then(|p| p.curve_key),
                "the peer of that UUID has",
            ),
        };
        match claimed {
            Some(key) if key != *proven => {
                if let Some(also) = self.logs.curve_bad.admit(now) {
                    warn!(
                        "refusing a message from {}: {what} CURVE key {}, its connection proved {}{also}",
                        uuid.simple(),
                        curve_key::encode_z85(&key),
                        curve_key::encode_z85(proven)
                    );
                }
                false
            }
            _ => true,
        }
    }

    /// The key a HELLO gives in [`PUBLIC_KEY_HEADER`], looked at in CURVE
    /// mode only (plain Zyre ignores the header; it stays one of the
    /// peer's headers either way). If it repeats, the first counts.
    pub(super) fn hello_key(&self, hello: &Hello<'_>) -> KeyIn {
        if !self.is_curve() {
            return None;
        }
        hello
            .headers
            .iter()
            .find(|(name, _)| *name == PUBLIC_KEY_HEADER)
            .map(|(_, text)| curve_key::decode_z85(text))
    }
}

/// The headers of our HELLO: the configured ones, and in CURVE mode our
/// key (Z85 text) as [`PUBLIC_KEY_HEADER`], in place of any configured one.
pub(super) fn hello_headers<'a>(config: &'a CoreConfig, own_key: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let configured = config
        .headers
        .iter()
        .filter(|(name, _)| own_key.is_none() || name != PUBLIC_KEY_HEADER)
        .map(|(name, value)| (name.as_str(), value.as_str()));
    own_key
        .map(|text| (PUBLIC_KEY_HEADER, text))
        .into_iter()
        .chain(configured)
        .collect()
}
