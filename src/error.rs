//! What can go wrong when starting or commanding a node or a gossip
//! service. Each error keeps its cause as a typed source (`io::Error`,
//! `zmq::Error`, [`CommandError`], …) rather than a string; `Display` is
//! one line for users and already includes the cause's text.

use crate::core::CommandError;
use crate::host::interface::InterfaceError;
use std::io;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Why a [`crate::Node`] (or [`crate::GossipService`]) could not start, or
/// a command to it failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// No network interface matches the [`crate::InterfaceSpec`].
    #[error(transparent)]
    Interface(#[from] InterfaceError),
    /// The inbox could not bind: on every port of the range, the libzmq
    /// error of the last port tried.
    #[error("cannot bind inbox on {address}: {source}")]
    Bind {
        /// `HOST:PORT`, `HOST:LOW-HIGH`, `HOST:*` or the endpoint as given.
        address: String,
        /// Why libzmq refused (`EADDRINUSE`, `EADDRNOTAVAIL`, …).
        #[source]
        source: zmq::Error,
    },
    /// A gossip server's ROUTER ([`crate::GossipService`], or a node's
    /// [`crate::NodeBuilder::gossip_bind`]) could not bind this endpoint.
    #[error("cannot bind the gossip server on {endpoint}: {source}")]
    GossipBind {
        /// The endpoint as given.
        endpoint: String,
        /// Why libzmq refused (`EADDRINUSE`, `EADDRNOTAVAIL`, …).
        #[source]
        source: zmq::Error,
    },
    /// libzmq reported a bound endpoint whose port cannot be read.
    #[error("cannot read the bound port from {endpoint}")]
    BoundPort {
        /// The endpoint as libzmq reported it.
        endpoint: String,
    },
    /// The UDP beacon socket could not be opened, bound or set up.
    #[error("cannot open the beacon socket: {0}")]
    Beacon(#[source] io::Error),
    /// A libzmq call failed (context, socket, option).
    #[error("zeromq: {0}")]
    Zmq(#[from] zmq::Error),
    /// Too few file descriptors are free to start: `open` of the soft
    /// open-file limit `limit` are in use, and starting takes `needed`
    /// (libzmq's threads, the sockets; each peer then takes up to 3).
    #[error(
        "{}: raise it (ulimit -n, or NodeBuilder::raise_fd_limit to the hard limit)",
        NodeError::descriptors_short(*limit, *open, *needed)
    )]
    Descriptors {
        /// The soft open-file limit (`RLIMIT_NOFILE`).
        limit: u64,
        /// Descriptors the process had open.
        open: usize,
        /// Descriptors starting takes.
        needed: usize,
    },
    /// An I/O error of the poll or a thread.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A setting given to the builder is out of range; found before any
    /// socket opens.
    #[error(transparent)]
    Config(#[from] SettingError),
    /// The node refused a command (unknown peer, bad group name, stopped).
    #[error(transparent)]
    Command(#[from] CommandError),
    /// A CURVE certificate or the allow-list directory could not be read
    /// (the message names the file, and the line of a bad one).
    #[error(transparent)]
    Certificate(#[from] crate::curve::cert::CertError),
}

/// A setting of [`crate::NodeBuilder`] or [`crate::GossipService`] that
/// cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingError {
    /// The name is longer than HELLO's `string` field holds (255 bytes).
    #[error("name is {bytes} bytes; at most 255 fit in HELLO")]
    NameTooLong {
        /// The name's length in bytes.
        bytes: usize,
    },
    /// A header key is empty or longer than 255 bytes.
    #[error("header key {key:?} must be 1 to 255 bytes")]
    HeaderKey {
        /// The key as given.
        key: String,
    },
    /// The beacon interval is zero.
    #[error("beacon interval must be more than 0")]
    ZeroBeaconInterval,
    /// The evasive or the expired timeout is zero.
    #[error("evasive and expired timeouts must be more than 0")]
    ZeroTimeout,
    /// The expired timeout is shorter than the evasive one.
    #[error("expired timeout ({expired:?}) must not be shorter than the evasive timeout ({evasive:?})")]
    ExpiredBeforeEvasive {
        /// The evasive timeout.
        evasive: Duration,
        /// The expired timeout.
        expired: Duration,
    },
    /// `max_peers` is zero.
    #[error("max peers must be at least 1")]
    NoPeers,
    /// Beacons are on but their UDP port is 0.
    #[error("beacon port must not be 0")]
    ZeroBeaconPort,
    /// A group to contest is not 1 to 255 bytes.
    #[error("contested group {group:?} must be 1 to 255 bytes")]
    ContestGroup {
        /// The group as given.
        group: String,
    },
    /// The advertised endpoint is not `tcp://HOST:PORT` of at most 255 bytes.
    #[error("advertised endpoint {endpoint:?} must be tcp://HOST:PORT")]
    AdvertisedEndpoint {
        /// The endpoint as given.
        endpoint: String,
    },
    /// A gossip server is not `HOST:PORT` or `tcp://HOST:PORT` (port 1–65535).
    #[error("invalid gossip endpoint {spec:?}: expected HOST:PORT")]
    GossipEndpoint {
        /// The endpoint as given.
        spec: String,
    },
    /// An endpoint given to [`crate::GossipService::bind`] is not one a
    /// ROUTER can bind (`tcp://HOST:PORT` or `ipc://PATH`, see
    /// [`crate::config::parse_endpoint`]).
    #[error("{message}")]
    BindEndpoint {
        /// What is wrong with it, naming the endpoint and the accepted forms.
        message: String,
    },
    /// A gossip server's CURVE key (after `|`) is not 40 characters of Z85.
    #[error("invalid CURVE key in gossip server {spec:?}: expected HOST:PORT|KEY, KEY 40 characters of Z85")]
    GossipKey {
        /// The server as given.
        spec: String,
    },
    /// A seed peer (`--peer`, [`crate::NodeBuilder::peer`]) is not
    /// `HOST:PORT`, `tcp://HOST:PORT`, or in CURVE mode `HOST:PORT|KEY`.
    #[error("invalid peer {spec:?}: {why}")]
    PeerSpec {
        /// The peer as given.
        spec: String,
        /// What is wrong with it.
        why: String,
    },
    /// An allow-list, or a gossip server key, without CURVE mode (no
    /// certificate of our own).
    #[error("{what} needs CURVE mode: give a certificate (--curve-cert, NodeBuilder::curve)")]
    NeedsCurve {
        /// `--curve-allow` or the gossip server key.
        what: &'static str,
    },
    /// CURVE mode asked of a build whose libzmq has no CURVE (the `curve`
    /// cargo feature off).
    #[error(
        "CURVE mode needs a build with the `curve` feature (libzmq with libsodium); this one has no CURVE"
    )]
    CurveUnavailable,
    /// A gossip service was given no endpoint to bind.
    #[error("a gossip server needs at least one endpoint to bind")]
    NoGossipEndpoint,
    /// Multicast beacons with an IPv6 group or interface.
    #[error("multicast beacons need an IPv4 group and interface (an IPv6 group needs IPv6 mode)")]
    MulticastNotIpv4,
    /// IPv6 mode with an IPv4 multicast group, or an IPv6 group that is
    /// not a multicast address (ff00::/8).
    #[error("IPv6 mode needs an IPv6 multicast group (ff00::/8), not {group}")]
    NotIpv6Multicast {
        /// The group's address as given.
        group: std::net::IpAddr,
    },
    /// The multicast group is not a multicast address (224.0.0.0/4).
    #[error("{group} is not a multicast address")]
    NotMulticast {
        /// The group's address as given.
        group: Ipv4Addr,
    },
    /// A port range with port 0 in it, or its lowest port above its
    /// highest (`PortRange::Any` is the way to ask for any port).
    #[error("port range {low}-{high}: ports are 1 to 65535, the lowest first (any port: PortRange::Any)")]
    PortRange {
        /// The lowest port as given.
        low: u16,
        /// The highest port as given.
        high: u16,
    },
    /// A largest message size under [`crate::defaults::MIN_MESSAGE_SIZE`]
    /// bytes: the node would refuse peers' HELLOs.
    #[error(
        "max message size {bytes} bytes is under {min}, the size of a HELLO with the longest name and endpoint"
    )]
    MaxMessageSize {
        /// The size as given.
        bytes: usize,
        /// The least size allowed.
        min: usize,
    },
    /// A negative high-water mark (libzmq's 0 means no limit).
    #[error("send high-water mark {messages} is negative (0 means no limit)")]
    SendHwm {
        /// The mark as given.
        messages: i32,
    },
}

impl NodeError {
    /// What [`NodeError::Descriptors`] says of its numbers, without the
    /// advice (which a binding for another language words in its terms).
    pub fn descriptors_short(limit: u64, open: usize, needed: usize) -> String {
        format!(
            "the open-file limit {limit} leaves {} free ({open} open), and starting takes {needed}",
            limit.saturating_sub(open as u64)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    #[test]
    fn a_bind_error_keeps_the_zmq_error_as_its_source() {
        let err = NodeError::Bind {
            address: "127.0.0.1:41000-41100".into(),
            source: zmq::Error::EADDRINUSE,
        };
        assert_eq!(
            err.to_string(),
            format!(
                "cannot bind inbox on 127.0.0.1:41000-41100: {}",
                zmq::Error::EADDRINUSE
            )
        );
        let source = err.source().and_then(|s| s.downcast_ref::<zmq::Error>());
        assert_eq!(source, Some(&zmq::Error::EADDRINUSE));
    }

    #[test]
    fn wrapped_errors_read_as_their_cause() {
        let err = NodeError::from(SettingError::NoPeers);
        assert_eq!(err.to_string(), "max peers must be at least 1");
        let err = NodeError::from(CommandError::Stopped);
        assert_eq!(err.to_string(), "the node has stopped");
        let err = NodeError::Beacon(io::Error::from(io::ErrorKind::AddrInUse));
        assert!(err.to_string().starts_with("cannot open the beacon socket: "));
        assert!(err.source().is_some_and(|s| s.is::<io::Error>()));
    }
}
