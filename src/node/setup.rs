//! What [`NodeBuilder::build`](super::NodeBuilder::build) opens once the
//! settings are valid: the ZeroMQ context, the ZAP handler (CURVE with an
//! allow-list), the ROUTER inbox bound to a port of the range, and the
//! beacon socket(s). The settings themselves and their checks live in
//! `builder.rs`; this file is the I/O.

use super::beacon_socket::BeaconSocket;
use super::reactor::{CurveKeys, NodeSockets};
use crate::config::PortRange;
use crate::curve::allow_list::AllowList;
use crate::curve::zap::ZapHandler;
use crate::error::NodeError;
use crate::host::interface::Interface;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Instant;
use uuid::Uuid;

/// The settings the sockets are opened with (from the builder).
pub(super) struct SocketSettings<'a> {
    pub(super) curve: Option<&'a CurveKeys>,
    pub(super) curve_allow: Option<&'a Path>,
    /// Bytes: the inbox drops a peer whose message is larger.
    pub(super) max_message_size: usize,
    /// Messages the inbox queues before libzmq pushes back on senders.
    pub(super) receive_hwm: i32,
    pub(super) port_range: &'a PortRange,
    /// `None`: no beacons (gossip only).
    pub(super) beacons: Option<BeaconTarget>,
}

/// Where beacons go and which ones are heard.
#[derive(Clone)]
pub(crate) struct BeaconTarget {
    pub(super) port: u16,
    pub(super) multicast_group: Option<SocketAddr>,
    pub(super) listen_multicast: bool,
    /// IPv6 mode: the multicast group and port beacons go to.
    pub(super) ipv6_target: SocketAddr,
}

impl NodeSockets {
    /// Opens and binds a node's sockets on `interface`; returns them and
    /// the inbox's port. `uuid` seeds the choice of port in a range.
    pub(super) fn open(
        interface: &Interface,
        uuid: Uuid,
        settings: &SocketSettings<'_>,
    ) -> Result<(NodeSockets, u16), NodeError> {
        let context = zmq::Context::new();
        context.set_io_threads(1)?;
        // The ZAP handler binds before the inbox: a handshake that finds no
        // handler is let through.
        // Every CURVE inbox has one: with no list it lets any key in, and
        // names each connection's key (see `ZapHandler`), which binds a
        // peer's UUID to the key it proved.
        let zap = match (settings.curve, settings.curve_allow) {
            (Some(_), Some(dir)) => Some(ZapHandler::bind(
                &context,
                Some(AllowList::load(dir, Instant::now())?),
            )?),
            (Some(_), None) => Some(ZapHandler::bind(&context, None)?),
            (None, _) => None,
        };
        let inbox = context.socket(zmq::ROUTER)?;
        if let Some(keys) = settings.curve {
            inbox.set_curve_server(true)?;
            inbox.set_curve_secretkey(&keys.secret)?;
            inbox.set_zap_domain("zre")?;
            // Peers need it in their allow-lists; nothing else shows a
            // node is in CURVE mode.
            log::info!(
                "CURVE mode: our public key {}",
                crate::wire::curve_key::encode_z85(&keys.public)
            );
        }
        // A peer that restarts with the same UUID takes its identity over.
        inbox.set_router_handover(true)?;
        inbox.set_maxmsgsize(settings.max_message_size as i64)?;
        inbox.set_rcvhwm(settings.receive_hwm)?;
        inbox.set_linger(0)?;
        inbox.set_ipv6(interface.is_ipv6())?;
        let port = bind_inbox(&inbox, interface, settings.port_range, uuid)?;
        let bound = inbox.get_last_endpoint()?.unwrap_or_default();

        let beacon = match &settings.beacons {
            None => None,
            Some(target) => Some(target.open(interface)?),
        };
        Ok((
            NodeSockets {
                context,
                inbox,
                beacon,
                zap,
                rebind: Rebind {
                    bound,
                    beacon: settings.beacons.clone(),
                    port_range: *settings.port_range,
                    failed_at: None,
                },
            },
            port,
        ))
    }
}

impl BeaconTarget {
    /// Opens the beacon socket(s) on `interface`.
    pub(crate) fn open(&self, interface: &Interface) -> Result<BeaconSocket, NodeError> {
        if interface.is_ipv6() {
            BeaconSocket::open_ipv6(interface, self.ipv6_target)
        } else {
            BeaconSocket::open(interface, self.port, self.multicast_group, self.listen_multicast)
        }
    }
}

/// What the reactor needs to bind the inbox and beacons again when the
/// interface's address changes (see `reactor/rebind.rs`).
pub(crate) struct Rebind {
    /// The inbox's bound endpoint (libzmq's last endpoint), to unbind.
    pub(crate) bound: String,
    pub(crate) beacon: Option<BeaconTarget>,
    pub(crate) port_range: PortRange,
    /// The address a rebind last failed at (said once).
    pub(crate) failed_at: Option<IpAddr>,
}

/// Binds the inbox to a random free port of the range (or any port) and
/// returns the port.
pub(super) fn bind_inbox(
    inbox: &zmq::Socket,
    interface: &Interface,
    range: &PortRange,
    seed: Uuid,
) -> Result<u16, NodeError> {
    let host = match interface.address {
        IpAddr::V4(ip) => ip.to_string(),
        // A link-local address is bound on our interface only (by index:
        // see `core::endpoint` on libzmq and interface names).
        IpAddr::V6(ip) if crate::core::endpoint::is_link_local(&ip) => {
            format!("[{ip}%{}]", interface.index)
        }
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    match range {
        PortRange::Any => {
            inbox
                .bind(&format!("tcp://{host}:*"))
                .map_err(|source| NodeError::Bind {
                    address: format!("{host}:*"),
                    source,
                })?;
            let last = inbox.get_last_endpoint()?.map_err(|bytes| NodeError::BoundPort {
                endpoint: String::from_utf8_lossy(&bytes).into_owned(),
            })?;
            last.rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .ok_or(NodeError::BoundPort { endpoint: last })
        }
        &PortRange::Range { low, high } => {
            let range = low..=high;
            let span = u32::from(high - low) + 1;
            // Start somewhere random so that nodes on one host spread out.
            let offset = (seed.as_u128() % u128::from(span)) as u32;
            // Replaced by the first bind's error: a range has at least one port.
            let mut last_error = zmq::Error::EADDRINUSE;
            for i in 0..span {
                let port = *range.start() + ((offset + i) % span) as u16;
                match inbox.bind(&format!("tcp://{host}:{port}")) {
                    Ok(()) => return Ok(port),
                    Err(err) => last_error = err,
                }
            }
            Err(NodeError::Bind {
                address: format!("{host}:{}-{}", range.start(), range.end()),
                source: last_error,
            })
        }
    }
}
