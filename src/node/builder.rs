//! Configuring and starting a node.

use super::reactor::{CurveKeys, Node, NodeSockets, ReactorSettings};
use super::setup::{BeaconTarget, SocketSettings};
pub use crate::config::PortRange;
use crate::core::{CoreConfig, Headers, NodeCore, ZyreUuid};
use crate::curve::cert::{CertError, Certificate};
use crate::defaults;
use crate::error::{NodeError, SettingError};
use crate::host::interface::{self, InterfaceSpec};
use crate::wire::curve_key::{CurveKey, decode_z85, is_usable_key, split_gossip_value};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use uuid::Uuid;

use crate::defaults::{DEFAULT_BEACON_PORT, DEFAULT_PORT_RANGE};

impl Node {
    /// A builder with every setting at its default.
    pub fn builder() -> NodeBuilder {
        NodeBuilder::new()
    }
}

/// Builds a [`Node`]: `Node::builder().name("a").interface("lo").build()?`.
#[derive(Debug, Clone)]
pub struct NodeBuilder {
    uuid: Option<Uuid>,
    name: Option<String>,
    headers: Headers,
    interface: InterfaceSpec,
    beacons: bool,
    beacon_port: u16,
    beacon_interval: Duration,
    multicast_group: Option<SocketAddr>,
    listen_multicast: bool,
    ipv6: bool,
    ipv6_group: Ipv6Addr,
    port_range: PortRange,
    advertised_endpoint: Option<String>,
    evasive: Duration,
    expired: Duration,
    max_peers: usize,
    max_peer_groups: usize,
    gossip: Vec<String>,
    peers: Vec<String>,
    gossip_bind: Option<String>,
    contest: Vec<String>,
    max_message_size: usize,
    send_hwm: i32,
    max_backlog: usize,
    max_events: usize,
    linger: Duration,
    fast_exit: bool,
    raise_fd_limit: bool,
    curve: Option<Certificate>,
    curve_allow: Option<PathBuf>,
}

impl Default for NodeBuilder {
    /// The defaults of [`crate::defaults`].
    fn default() -> Self {
        NodeBuilder {
            uuid: None,
            name: None,
            headers: Vec::new(),
            interface: InterfaceSpec::Auto,
            beacons: true,
            beacon_port: DEFAULT_BEACON_PORT,
            beacon_interval: defaults::BEACON_INTERVAL,
            multicast_group: None,
            listen_multicast: true,
            ipv6: false,
            ipv6_group: interface::DEFAULT_IPV6_GROUP,
            port_range: PortRange::Range {
                low: *DEFAULT_PORT_RANGE.start(),
                high: *DEFAULT_PORT_RANGE.end(),
            },
            advertised_endpoint: None,
            evasive: defaults::EVASIVE_TIMEOUT,
            expired: defaults::EXPIRED_TIMEOUT,
            max_peers: defaults::MAX_PEERS,
            max_peer_groups: defaults::MAX_PEER_GROUPS,
            gossip: Vec::new(),
            peers: Vec::new(),
            gossip_bind: None,
            max_message_size: defaults::MAX_MESSAGE_SIZE,
            send_hwm: defaults::SEND_HWM,
            max_backlog: defaults::MAX_BACKLOG,
            max_events: defaults::MAX_EVENTS,
            linger: defaults::LINGER,
            fast_exit: true,
            raise_fd_limit: false,
            contest: Vec::new(),
            curve: None,
            curve_allow: None,
        }
    }
}

impl NodeBuilder {
    /// A builder with every setting at its default (`src/defaults.rs`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Our UUID; random (v4) by default.
    pub fn uuid(mut self, uuid: Uuid) -> Self {
        self.uuid = Some(uuid);
        self
    }

    /// Our public name (at most 255 bytes); by default the first six hex
    /// digits of our UUID, as Zyre does.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A header sent in HELLO (repeatable; keys are case-sensitive, as in
    /// Zyre). Peers see it in their ENTER event.
    pub fn header(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((key.into(), value.into()));
        self
    }

    /// `lo` for loopback mode, an interface name, an IPv4 address (an IPv6
    /// one in IPv6 mode), or `auto`/empty for the first usable interface.
    pub fn interface(mut self, spec: impl AsRef<str>) -> Self {
        self.interface = spec.as_ref().parse().unwrap_or_default();
        self
    }

    /// The interface, as an already parsed [`InterfaceSpec`].
    pub fn interface_spec(mut self, spec: InterfaceSpec) -> Self {
        self.interface = spec;
        self
    }

    /// UDP beacons on or off (off = discovery by gossip only).
    pub fn beacons(mut self, on: bool) -> Self {
        self.beacons = on;
        self
    }

    /// The UDP port beacons go to and are heard on (default 5670).
    pub fn beacon_port(mut self, port: u16) -> Self {
        self.beacon_port = port;
        self
    }

    /// Time between two beacons (default 1 s; Zyre's default too).
    pub fn beacon_interval(mut self, interval: Duration) -> Self {
        self.beacon_interval = interval;
        self
    }

    /// Beacon to a multicast group `IP:PORT` (IPv4, 224.0.0.0/4) instead
    /// of the broadcast address; the node then hears only beacons sent to
    /// that group, on its port (so with 225.25.25.25 it meets broadcast
    /// nodes, which hear that group too; with any other group it does not).
    /// [`NodeBuilder::build`] fails with [`SettingError::MulticastNotIpv4`]
    /// or [`SettingError::NotMulticast`] otherwise.
    pub fn multicast_group(mut self, group: SocketAddr) -> Self {
        self.multicast_group = Some(group);
        self
    }

    /// Whether a broadcast node also hears beacons sent to the multicast
    /// group 225.25.25.25 on its beacon port ([`defaults::DEFAULT_MULTICAST_GROUP`]:
    /// haskell-zre's default, pyre's fallback). On by default; off, the
    /// node hears broadcast (and unicast) beacons only. A node with a
    /// [`NodeBuilder::multicast_group`] hears only its group either way.
    pub fn listen_multicast(mut self, on: bool) -> Self {
        self.listen_multicast = on;
        self
    }

    /// IPv6 mode, as Zyre's `ZSYS_IPV6=1`: the interface is chosen by its
    /// IPv6 address (global/ULA before link-local),
    /// beacons go to an IPv6 multicast group (ff02::1 unless set) on that
    /// interface, the inbox binds its IPv6 address and HELLO advertises
    /// `tcp://[addr]:port` (no `%scope` for a link-local address: peers
    /// add their own). An IPv4-mode node and an IPv6-mode node on one LAN
    /// do not hear each other. Off by default; loopback mode is IPv4 only.
    pub fn ipv6(mut self, on: bool) -> Self {
        self.ipv6 = on;
        self
    }

    /// IPv6 mode: the multicast group beacons go to, at the beacon port
    /// (default ff02::1, Zyre's; `ZSYS_IPV6_MCAST_ADDRESS` in Zyre). A
    /// [`NodeBuilder::multicast_group`] with an IPv6 group and its own port
    /// takes precedence.
    pub fn ipv6_multicast_address(mut self, group: Ipv6Addr) -> Self {
        self.ipv6_group = group;
        self
    }

    /// TCP ports the inbox may bind (default 41000–41100); `PortRange::Any`
    /// takes any free port. [`NodeBuilder::build`] fails with
    /// [`SettingError::PortRange`] for a range with port 0 or its lowest
    /// port above its highest, as parsing `"41100-41000"` does.
    pub fn port_range(mut self, range: PortRange) -> Self {
        self.port_range = range;
        self
    }

    /// The endpoint advertised to peers instead of the bound one (NAT).
    pub fn advertised_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.advertised_endpoint = Some(endpoint.into());
        self
    }

    /// Silence after which a peer is pinged and reported EVASIVE (default
    /// 5 s, as Zyre).
    pub fn evasive_timeout(mut self, timeout: Duration) -> Self {
        self.evasive = timeout;
        self
    }

    /// Silence after which a peer is dropped with EXIT (default 30 s, as
    /// Zyre).
    pub fn expired_timeout(mut self, timeout: Duration) -> Self {
        self.expired = timeout;
        self
    }

    /// Most peers tracked at once (default 1024); beacons beyond it are
    /// ignored, and peers that have not said HELLO may fill only half.
    pub fn max_peers(mut self, max: usize) -> Self {
        self.max_peers = max;
        self
    }

    /// Raise this process's soft open-file limit (RLIMIT_NOFILE) to its
    /// hard limit when the node is built, and say so in the log (default
    /// off: a library does not change its host program's limits unasked;
    /// the `zre` tools turn it on). Either way the peer table is sized to
    /// what the limit allows, each peer costing up to three descriptors.
    pub fn raise_fd_limit(mut self, on: bool) -> Self {
        self.raise_fd_limit = on;
        self
    }

    /// Groups tracked per peer; a peer's JOINs beyond this are ignored (with
    /// a warning), so one hostile HELLO cannot fill memory.
    pub fn max_peer_groups(mut self, max: usize) -> Self {
        self.max_peer_groups = max;
        self
    }

    /// A ZGossip server to publish to and learn peers from, `host:port`
    /// or `tcp://host:port`; may be called several times. In CURVE mode,
    /// `tcp://host:port|KEY` (KEY: the server's public key, 40 characters
    /// of Z85) makes the link to it CURVE, as Zyre's
    /// `zyre_gossip_connect_curve`.
    pub fn gossip(mut self, endpoint: impl Into<String>) -> Self {
        self.gossip.push(endpoint.into());
        self
    }

    /// A seed peer to connect to without a beacon or a gossip server, as
    /// `--peer`: `HOST:PORT` or `tcp://HOST:PORT`, in CURVE mode
    /// `HOST:PORT|KEY` (the peer's public key, Z85); may be called several
    /// times. HOST may be a DNS name: each address it resolves to is a
    /// peer (see [`Node::add_peer`]).
    pub fn peer(mut self, spec: impl Into<String>) -> Self {
        self.peers.push(spec.into());
        self
    }

    /// Makes the node its own ZGossip server, listening on `endpoint`
    /// (`tcp://*:31337`, `HOST:PORT`), as Zyre's `zyre_gossip_bind`: other
    /// nodes give it as their gossip server; it publishes our tuple and
    /// relays theirs (and, in plain mode, shares them with the
    /// [`gossip`](Self::gossip) servers). In CURVE mode it serves CURVE
    /// clients with our key pair.
    pub fn gossip_bind(mut self, endpoint: impl Into<String>) -> Self {
        self.gossip_bind = Some(endpoint.into());
        self
    }

    /// Frames larger than this, in bytes, are refused by the inbox
    /// (libzmq drops the connection that sent one; default 64 MiB), and
    /// by [`Node::whisper`], [`Node::shout`] and the like with
    /// [`CommandError::TooLarge`](crate::CommandError::TooLarge), since a
    /// zre peer at the same limit would drop ours. A
    /// peer whose HELLO is larger (its groups and headers) is never heard
    /// while it hears us, so keep it well above the HELLOs on your LAN.
    /// [`NodeBuilder::build`] fails with [`SettingError::MaxMessageSize`]
    /// under [`defaults::MIN_MESSAGE_SIZE`] (527 bytes).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Messages queued in libzmq per peer before our own queue takes over,
    /// and the inbox's receive high-water mark (default 100 000; 0 means
    /// no limit; [`NodeBuilder::build`] fails with
    /// [`SettingError::SendHwm`] for a negative one).
    pub fn send_hwm(mut self, messages: i32) -> Self {
        self.send_hwm = messages;
        self
    }

    /// Messages queued by us for one peer beyond libzmq's high-water mark;
    /// a peer that falls further behind than this is dropped (EXIT).
    pub fn max_backlog(mut self, messages: usize) -> Self {
        self.max_backlog = messages;
        self
    }

    /// Events queued for the application, not yet taken with
    /// [`Node::next_event`](crate::Node::next_event), at which the node
    /// stops reading its inbox (default 4096 events; 0 counts as 1). The
    /// node's loop goes on meanwhile (beacons, timers, PINGs it sends,
    /// commands); peers' messages wait in libzmq, whose receive
    /// high-water mark ([`NodeBuilder::send_hwm`] messages per peer) then
    /// makes TCP push back on the senders: nothing is dropped, and
    /// reading resumes once the application takes events. Events that
    /// are not messages (EVASIVE, ...) still queue, at most a few per
    /// peer. While reading waits, so do peers' PINGs and PING-OKs (one
    /// ROUTER carries everything): no peer is then reported SILENT or
    /// EXITed for silence, and each evasive peer is PINGed once per
    /// evasive timeout, which keeps us alive in its eyes (it may report
    /// us SILENT). After the pause, a peer's silence is counted without
    /// it: one that went away meanwhile is EXITed an expired timeout
    /// ([`NodeBuilder::expired_timeout`], 30 s by default) after reading
    /// resumes, or at once by fast EXIT.
    pub fn max_events(mut self, events: usize) -> Self {
        self.max_events = events.max(1);
        self
    }

    /// How long stopping may wait for queued messages to leave.
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    /// Fast EXIT (default on): a peer whose connection to us closed and
    /// whose inbox port then refuses a TCP connection (ECONNREFUSED: its
    /// process is gone) is reported EXIT at once, after everything it
    /// sent. Silence without refusal (a pulled cable, a crashed host, a
    /// stopped process) still goes EVASIVE, SILENT, then EXIT after the
    /// expired timeout. Off: only the timers, as Zyre does.
    pub fn fast_exit(mut self, on: bool) -> Self {
        self.fast_exit = on;
        self
    }

    /// Contests the leadership of `group` (repeatable), as Zyre's
    /// `zyre_set_contest_in_group`: once the node is in the group (join
    /// it separately) it challenges the other members, and
    /// [`Event::Leader`](crate::core::Event::Leader) tells every member the
    /// winner. See [`Node::contest`].
    pub fn contest(mut self, group: impl Into<String>) -> Self {
        self.contest.push(group.into());
        self
    }

    /// CURVE mode (RFC 26), as Zyre's `zyre_set_zcert`: `cert` (a secret
    /// certificate, [`Certificate::load_secret`]) is our key pair. The
    /// inbox is a CURVE server, links to peers are CURVE clients with each
    /// peer's announced key, beacons are version 3 with our public key,
    /// and peers without a key are ignored. A certificate without its
    /// secret key makes [`NodeBuilder::build`] fail.
    pub fn curve(mut self, cert: Certificate) -> Self {
        self.curve = Some(cert);
        self
    }

    /// CURVE mode only: only clients whose public key is in a certificate
    /// (czmq zcert format) in `dir` get through the handshake; the
    /// directory is re-read at most once a second, on a handshake
    /// (a file that is no certificate is skipped with a warning). Without it any key may connect
    /// (encryption without authentication, as Zyre).
    pub fn curve_allow(mut self, dir: impl Into<PathBuf>) -> Self {
        self.curve_allow = Some(dir.into());
        self
    }

    /// Binds the sockets and starts discovery; the node runs as the caller
    /// polls it (or in its own thread after [`Node::spawn`]). Fails with
    /// [`NodeError::Descriptors`] when too few file descriptors are free
    /// to start and serve two peers (66, 2 more in CURVE mode, 2 per seed
    /// peer and gossip server, and 14 more with [`Self::gossip_bind`]).
    pub fn build(self) -> Result<Node, NodeError> {
        self.validate()?;
        let interface = if self.ipv6 {
            interface::choose_ipv6(&self.interface)?
        } else {
            interface::choose(&self.interface)?
        };
        let uuid = self.uuid.unwrap_or_else(Uuid::new_v4);
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| ZyreUuid(uuid).to_string()[..6].to_owned());

        let gossip = self
            .gossip
            .iter()
            .map(|g| gossip_server(g))
            .collect::<Result<Vec<_>, _>>()?;
        if self.curve.is_some() && !crate::curve_available() {
            return Err(SettingError::CurveUnavailable.into());
        }
        let curve = match &self.curve {
            Some(cert) => Some(CurveKeys {
                public: cert.public_key,
                secret: cert.secret_key.ok_or_else(|| CertError::Missing {
                    path: PathBuf::from("(certificate given to NodeBuilder::curve)"),
                    key: "secret-key",
                })?,
            }),
            None => None,
        };
        if curve.is_none() {
            if self.curve_allow.is_some() {
                return Err(SettingError::NeedsCurve {
                    what: "a CURVE allow-list",
                }
                .into());
            }
            if gossip.iter().any(|(_, key)| key.is_some()) {
                return Err(SettingError::NeedsCurve {
                    what: "a gossip server's CURVE key",
                }
                .into());
            }
        }

        // Raised first (when asked), so that the check below sees it.
        let fd_limit = super::fd_budget::open_file_limit(self.raise_fd_limit);
        let mut needed = super::fd_budget::NODE_START_FDS;
        if curve.is_some() {
            needed += super::fd_budget::CURVE_START_FDS;
        }
        if self.gossip_bind.is_some() {
            needed += super::fd_budget::GOSSIP_SERVER_OWN_FDS;
        }
        needed += super::fd_budget::LINK_START_FDS * (self.peers.len() + gossip.len());
        super::fd_budget::check_room_to_start(needed)?;
        let (sockets, port) = NodeSockets::open(
            &interface,
            uuid,
            &SocketSettings {
                curve: curve.as_ref(),
                curve_allow: self.curve_allow.as_deref(),
                max_message_size: self.max_message_size,
                receive_hwm: self.send_hwm,
                port_range: &self.port_range,
                beacons: self.beacons.then(|| BeaconTarget {
                    port: self.beacon_port,
                    multicast_group: self.multicast_group,
                    listen_multicast: self.listen_multicast,
                    ipv6_target: self.ipv6_target(),
                }),
            },
        )?;
        let endpoint = self
            .advertised_endpoint
            .clone()
            .unwrap_or_else(|| endpoint_of(interface.address, port));

        let mut config = CoreConfig::new(uuid, name, endpoint, port);
        config.headers = self.headers.clone();
        config.beacons = self.beacons;
        config.beacon_interval = self.beacon_interval;
        config.evasive = self.evasive;
        config.expired = self.expired;
        config.max_peers = super::fd_budget::size_peer_table(self.max_peers, fd_limit);
        config.max_peer_groups = self.max_peer_groups;
        config.fast_exit = self.fast_exit;
        config.beacon_subnet = Some(interface.subnet());
        config.link_scope = interface.link_scope();
        config.curve_public_key = curve.as_ref().map(|keys| keys.public);
        config.max_message_size = self.max_message_size;
        let mut core = NodeCore::new(config, Instant::now());
        for group in &self.contest {
            core.contest(group)?;
        }
        let settings = ReactorSettings {
            send_hwm: self.send_hwm,
            max_backlog: self.max_backlog,
            max_events: self.max_events,
            linger: self.linger,
            loopback_only: interface.loopback,
            interface_pinned: matches!(self.interface, InterfaceSpec::Address(_)),
            curve,
            seeds: self.peers.clone(),
            gossip_bind: self.gossip_bind.clone(),
        };
        Node::start(core, sockets, interface, settings, gossip)
    }

    /// IPv6 mode: where beacons go.
    fn ipv6_target(&self) -> SocketAddr {
        self.multicast_group
            .unwrap_or_else(|| SocketAddr::new(IpAddr::V6(self.ipv6_group), self.beacon_port))
    }

    fn validate(&self) -> Result<(), SettingError> {
        if let Some(name) = &self.name {
            if name.len() > 255 {
                return Err(SettingError::NameTooLong { bytes: name.len() });
            }
        }
        for (key, _) in &self.headers {
            if key.is_empty() || key.len() > 255 {
                return Err(SettingError::HeaderKey { key: key.clone() });
            }
        }
        if self.beacon_interval.is_zero() {
            return Err(SettingError::ZeroBeaconInterval);
        }
        if self.evasive.is_zero() || self.expired.is_zero() {
            return Err(SettingError::ZeroTimeout);
        }
        if self.expired < self.evasive {
            return Err(SettingError::ExpiredBeforeEvasive {
                evasive: self.evasive,
                expired: self.expired,
            });
        }
        if self.max_peers == 0 {
            return Err(SettingError::NoPeers);
        }
        if let PortRange::Range { low, high } = self.port_range {
            if low == 0 || low > high {
                return Err(SettingError::PortRange { low, high });
            }
        }
        if self.max_message_size < defaults::MIN_MESSAGE_SIZE {
            return Err(SettingError::MaxMessageSize {
                bytes: self.max_message_size,
                min: defaults::MIN_MESSAGE_SIZE,
            });
        }
        if self.send_hwm < 0 {
            return Err(SettingError::SendHwm {
                messages: self.send_hwm,
            });
        }
        if self.beacons && self.beacon_port == 0 {
            return Err(SettingError::ZeroBeaconPort);
        }
        if let Some(group) = self.contest.iter().find(|g| g.is_empty() || g.len() > 255) {
            return Err(SettingError::ContestGroup { group: group.clone() });
        }
        if self.ipv6 && self.beacons {
            let group = self.ipv6_target().ip();
            if !(group.is_ipv6() && group.is_multicast()) {
                return Err(SettingError::NotIpv6Multicast { group });
            }
        }
        if let Some(endpoint) = &self.advertised_endpoint {
            if !endpoint.starts_with("tcp://")
                || endpoint.len() > 255
                || crate::core::endpoint::Endpoint::parse(endpoint, None).is_err()
            {
                return Err(SettingError::AdvertisedEndpoint {
                    endpoint: endpoint.clone(),
                });
            }
        }
        Ok(())
    }
}

/// The endpoint we advertise in HELLO for our inbox at `ip`, `port`:
/// `tcp://10.0.0.5:41012`, `tcp://[fd00::5]:41012`; a link-local address
/// without a scope (our interface's index means nothing to a peer).
pub(super) fn endpoint_of(ip: IpAddr, port: u16) -> String {
    crate::core::endpoint::Endpoint::from_ip(ip, port, None).to_string()
}

/// A gossip server as given to [`NodeBuilder::gossip`]: its endpoint
/// ([`gossip_endpoint`]) and, after a `|`, its CURVE public key (Z85).
fn gossip_server(spec: &str) -> Result<(String, Option<CurveKey>), NodeError> {
    let (endpoint, key) = split_gossip_value(spec);
    let key = match key {
        Some(text) => {
            Some(
                decode_z85(text)
                    .ok()
                    .filter(is_usable_key)
                    .ok_or_else(|| SettingError::GossipKey {
                        spec: spec.to_owned(),
                    })?,
            )
        }
        None => None,
    };
    Ok((gossip_endpoint(endpoint)?, key))
}

/// `host:port` or `tcp://host:port` to a ZeroMQ endpoint; an IPv6 host
/// in brackets, `[fd00::1]:31337` (a link-local one with `%iface`).
pub fn gossip_endpoint(spec: &str) -> Result<String, NodeError> {
    let address = spec.strip_prefix("tcp://").unwrap_or(spec);
    let bad = || {
        NodeError::from(SettingError::GossipEndpoint {
            spec: spec.to_owned(),
        })
    };
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() || !port.parse::<u16>().is_ok_and(|p| p != 0) {
        return Err(bad());
    }
    if host.contains([':', '[', ']']) {
        // IPv6: bracketed, and an address (libzmq takes no host name there).
        let inner = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .ok_or_else(bad)?;
        let ip = inner.split_once('%').map_or(inner, |(ip, _)| ip);
        if ip.parse::<Ipv6Addr>().is_err() || inner.ends_with('%') {
            return Err(bad());
        }
    }
    Ok(format!("tcp://{address}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In this repository libzmq has CURVE (vendor/zmq-sys), unless it
    /// was built with ZRE_LIBZMQ_CURVE=0; without CURVE, CURVE mode is
    /// refused with its own error, before any socket exists. (A dependent
    /// gets the crates.io zmq-sys, without CURVE: scripts/check-dependent
    /// checks the refusal there.)
    #[test]
    fn curve_mode_needs_a_libzmq_with_curve() {
        let built_without = option_env!("ZRE_LIBZMQ_CURVE") == Some("0");
        assert_eq!(crate::curve_available(), !built_without);
        if !built_without {
            return;
        }
        let cert = Certificate {
            public_key: [9; 32],
            secret_key: Some([7; 32]),
            metadata: Vec::new(),
        };
        let result = NodeBuilder::new()
            .interface("lo")
            .beacons(false)
            .curve(cert)
            .build();
        assert!(
            matches!(result, Err(NodeError::Config(SettingError::CurveUnavailable))),
            "{:?}",
            result.err()
        );
        assert!(matches!(Certificate::generate(), Err(CertError::Keygen(_))));
    }

    #[test]
    fn gossip_endpoints_normalise() {
        assert_eq!(gossip_endpoint("10.0.0.1:31337").unwrap(), "tcp://10.0.0.1:31337");
        assert_eq!(gossip_endpoint("tcp://host:1").unwrap(), "tcp://host:1");
        assert!(gossip_endpoint("host").is_err());
        assert!(gossip_endpoint(":1").is_err());
        assert!(gossip_endpoint("h:0").is_err());
        assert_eq!(
            gossip_endpoint("[fd00::1]:31337").unwrap(),
            "tcp://[fd00::1]:31337"
        );
        assert_eq!(
            gossip_endpoint("tcp://[fe80::1%eth0]:31337").unwrap(),
            "tcp://[fe80::1%eth0]:31337"
        );
        for bad in [
            "fd00::1:31337",
            "[fd00::1:31337",
            "[zz::1]:1",
            "[fe80::1%]:1",
            "[]:1",
            "fd00::1]:5",
        ] {
            assert!(gossip_endpoint(bad).is_err(), "{bad}");
        }
    }

    /// Every setting a builder takes is checked at `build`, however it
    /// was made: a `PortRange` written out bypasses its `FromStr`, and a
    /// size or a high-water mark comes straight from the caller.
    #[test]
    fn settings_made_by_hand_are_checked_as_parsed_ones_are() {
        let built = |b: NodeBuilder| b.interface("lo").beacons(false).build().err();
        for (low, high) in [(41100, 41000), (0, 0), (0, 41000)] {
            assert!(format!("{low}-{high}").parse::<PortRange>().is_err());
            let err = built(NodeBuilder::new().port_range(PortRange::Range { low, high }));
            assert!(
                matches!(err, Some(NodeError::Config(SettingError::PortRange { .. }))),
                "{low}-{high}: {err:?}"
            );
        }
        for bytes in [0, defaults::MIN_MESSAGE_SIZE - 1] {
            let err = built(NodeBuilder::new().max_message_size(bytes));
            assert!(
                matches!(err, Some(NodeError::Config(SettingError::MaxMessageSize { .. }))),
                "{bytes}: {err:?}"
            );
        }
        let err = built(NodeBuilder::new().send_hwm(-1));
        assert!(
            matches!(
                err,
                Some(NodeError::Config(SettingError::SendHwm { messages: -1 }))
            ),
            "{err:?}"
        );
        // The bounds themselves are fine.
        for b in [
            NodeBuilder::new().port_range(PortRange::Range { low: 1, high: 1 }),
            NodeBuilder::new().max_message_size(defaults::MIN_MESSAGE_SIZE),
            NodeBuilder::new().send_hwm(0),
        ] {
            let b = b.interface("lo").beacons(false);
            assert!(b.validate().is_ok());
        }
    }

    /// The smallest message size a node may take: a HELLO with the
    /// longest name and endpoint and no groups or headers.
    #[test]
    fn the_least_message_size_fits_a_hello_of_the_longest_name_and_endpoint() {
        use crate::wire::zre_msg::{Body, Hello, ZreMessage};
        let name = "n".repeat(255);
        let endpoint = format!("tcp://{}:1", "h".repeat(255 - "tcp://:1".len()));
        let hello = ZreMessage {
            sequence: 1,
            body: Body::Hello(Box::new(Hello {
                endpoint: &endpoint,
                groups: Vec::new(),
                status: 0,
                name: &name,
                headers: Vec::new(),
            })),
        };
        let mut frame = Vec::new();
        hello.emit(&mut frame).unwrap();
        assert_eq!(frame.len(), defaults::MIN_MESSAGE_SIZE);
    }

    #[test]
    fn bad_settings_are_refused_before_any_socket_opens() {
        let long = "x".repeat(256);
        assert!(matches!(
            NodeBuilder::new().name(long).build(),
            Err(NodeError::Config(_))
        ));
        let b = NodeBuilder::new()
            .evasive_timeout(Duration::from_secs(10))
            .expired_timeout(Duration::from_secs(5));
        assert!(matches!(b.build(), Err(NodeError::Config(_))));
    }
}
