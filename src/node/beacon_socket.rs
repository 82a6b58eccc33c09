//! The UDP sockets a node beacons on (RFC 36, "Discovery"), and which
//! beacons they let in.
//!
//! A node sends either to the interface's broadcast address or to a
//! configured multicast group. What it hears is chosen by what each socket
//! is bound to, so the kernel does the filtering by destination address:
//!
//! - broadcast (the default): one socket bound to `0.0.0.0:PORT` sends and
//!   hears broadcast (and unicast) beacons; a second, bound to
//!   `225.25.25.25:PORT` and a member of that group, hears haskell-zre's
//!   default group (pyre falls back to it too). The second is optional
//!   ([`crate::NodeBuilder::listen_multicast`]).
//! - multicast group `G:P`: one socket bound to `G:P`, a member of `G`,
//!   sends to `G:P` and hears only datagrams sent to `G`, never broadcast
//!   on the same port (unlike a socket bound to `0.0.0.0`: czmq PR#2326).
//!
//! Every socket sets `IP_MULTICAST_ALL` off: otherwise Linux hands a socket
//! the datagrams of every group any socket of the host joined on that port,
//! and nodes of two groups (or a default node and a group) would meet.

use crate::defaults::DEFAULT_MULTICAST_GROUP;
use crate::error::{NodeError, SettingError};
use crate::host::interface::Interface;
use log::debug;
use mio::net::UdpSocket;
use mio::{Interest, Registry, Token};
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

/// The beacon sockets of one node.
pub(crate) struct BeaconSocket {
    /// Sends our beacons to `target` (unless `sender` does); hears what
    /// its bind address lets in.
    socket: UdpSocket,
    /// Hears only the default multicast group (broadcast nodes only).
    group_listener: Option<UdpSocket>,
    /// IPv6 mode: beacons go out on this socket, bound to our address;
    /// `socket` only hears.
    sender: Option<UdpSocket>,
    /// Where our beacons go: the broadcast address or the group, and port.
    pub target: SocketAddr,
}

impl BeaconSocket {
    /// Opens the sockets for beacons on `port` of `interface` (sent to its
    /// broadcast address), or to and from `multicast` when given.
    /// `listen_multicast` adds the default group (225.25.25.25 on `port`)
    /// to a broadcast node's hearing; a failure to join it is logged and
    /// the node carries on broadcast only. Errors: the socket calls', an
    /// IPv6 or non-multicast group.
    pub(crate) fn open(
        interface: &Interface,
        port: u16,
        multicast: Option<SocketAddr>,
        listen_multicast: bool,
    ) -> Result<BeaconSocket, NodeError> {
        match multicast {
            Some(group) => {
                let (IpAddr::V4(group_ip), IpAddr::V4(iface_ip)) = (group.ip(), interface.address) else {
                    return Err(SettingError::MulticastNotIpv4.into());
                };
                if !group_ip.is_multicast() {
                    return Err(SettingError::NotMulticast { group: group_ip }.into());
                }
                let socket = group_socket(group_ip, group.port(), iface_ip).map_err(NodeError::Beacon)?;
                Ok(BeaconSocket {
                    socket,
                    group_listener: None,
                    sender: None,
                    target: group,
                })
            }
            None => {
                let socket = udp_socket(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port))
                    .map_err(NodeError::Beacon)?;
                let group_listener = match interface.address {
                    IpAddr::V4(iface_ip) if listen_multicast => {
                        match group_socket(DEFAULT_MULTICAST_GROUP, port, iface_ip) {
                            Ok(listener) => Some(listener),
                            Err(err) => {
                                debug!(
                                    "not hearing beacons to {DEFAULT_MULTICAST_GROUP}:{port} on {}: {err}",
                                    interface.name
                                );
                                None
                            }
                        }
                    }
                    _ => None,
                };
                Ok(BeaconSocket {
                    socket,
                    group_listener,
                    sender: None,
                    target: SocketAddr::new(interface.broadcast, port),
                })
            }
        }
    }

    /// IPv6 mode, as czmq's zbeacon does it: one socket hears `group` on
    /// `[::]:port` (IPv6 only: IPv4 broadcasts are another mode's), joined
    /// on our interface; another, bound to our interface's address, sends
    /// to the group through that interface, so that beacons come from the
    /// address the inbox is bound on (the kernel would pick a link-local
    /// source for ff02::1, where a ULA node's inbox is not). Errors: the
    /// socket calls', a group or interface address that is not IPv6.
    pub(crate) fn open_ipv6(interface: &Interface, group: SocketAddr) -> Result<BeaconSocket, NodeError> {
        let IpAddr::V6(group_ip) = group.ip() else {
            return Err(SettingError::NotIpv6Multicast { group: group.ip() }.into());
        };
        let IpAddr::V6(own) = interface.address else {
            return Err(SettingError::NotIpv6Multicast { group: group.ip() }.into());
        };
        let new_socket = || -> io::Result<Socket> {
            let socket = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
            socket.set_only_v6(true)?;
            socket.set_reuse_address(true)?;
            socket.set_reuse_port(true)?;
            socket.set_nonblocking(true)?;
            Ok(socket)
        };
        let listen = new_socket().map_err(NodeError::Beacon)?;
        let any = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), group.port());
        listen.bind(&any.into()).map_err(NodeError::Beacon)?;
        listen
            .join_multicast_v6(&group_ip, interface.index)
            .map_err(NodeError::Beacon)?;
        let send = new_socket().map_err(NodeError::Beacon)?;
        send.set_multicast_if_v6(interface.index)
            .map_err(NodeError::Beacon)?;
        // Nodes on the same host must hear each other too.
        send.set_multicast_loop_v6(true).map_err(NodeError::Beacon)?;
        send.set_multicast_hops_v6(1).map_err(NodeError::Beacon)?;
        let scope = if crate::core::endpoint::is_link_local(&own) {
            interface.index
        } else {
            0
        };
        let from = SocketAddr::V6(SocketAddrV6::new(own, 0, 0, scope));
        send.bind(&from.into()).map_err(NodeError::Beacon)?;
        Ok(BeaconSocket {
            socket: into_mio(listen),
            group_listener: None,
            sender: Some(into_mio(send)),
            target: group,
        })
    }

    /// Registers every socket for reading under `token`.
    pub(crate) fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(&mut self.socket, token, Interest::READABLE)?;
        if let Some(listener) = self.group_listener.as_mut() {
            registry.register(listener, token, Interest::READABLE)?;
        }
        Ok(())
    }

    /// Takes every socket out of the poll (before they are replaced).
    pub(crate) fn deregister(&mut self, registry: &Registry) {
        let _ = registry.deregister(&mut self.socket);
        if let Some(listener) = self.group_listener.as_mut() {
            let _ = registry.deregister(listener);
        }
    }

    /// The next datagram of any socket and its sender; `WouldBlock` once
    /// all are empty (drain until then: mio is edge-triggered).
    pub(crate) fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        match self.socket.recv_from(buf) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => match &self.group_listener {
                Some(listener) => listener.recv_from(buf),
                None => Err(err),
            },
            other => other,
        }
    }

    /// Sends one beacon to `target`.
    pub(crate) fn send(&self, beacon: &[u8]) -> io::Result<usize> {
        self.sender
            .as_ref()
            .unwrap_or(&self.socket)
            .send_to(beacon, self.target)
    }

    /// For the start-up log: `beacons to T` and, when listening, `, hears G`.
    pub(crate) fn describe(&self) -> String {
        match &self.group_listener {
            Some(listener) => match listener.local_addr() {
                Ok(group) => format!("beacons to {}, also hears {group}", self.target),
                Err(_) => format!("beacons to {}", self.target),
            },
            None => format!("beacons to {}", self.target),
        }
    }
}

/// A non-blocking UDP socket bound to `bind`, sharing the port with the
/// host's other nodes (as Zyre's do), allowed to broadcast, and deaf to
/// groups it has not joined itself.
fn udp_socket(bind: SocketAddr) -> io::Result<UdpSocket> {
    Ok(into_mio(bound_socket(bind)?))
}

fn bound_socket(bind: SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_broadcast(true)?;
    socket.set_multicast_all_v4(false)?;
    socket.set_nonblocking(true)?;
    socket.bind(&bind.into())?;
    Ok(socket)
}

fn into_mio(socket: Socket) -> UdpSocket {
    let std_socket: std::net::UdpSocket = socket.into();
    UdpSocket::from_std(std_socket)
}

/// A socket bound to `group:port` and a member of `group` on the interface
/// with address `iface`: it hears only datagrams sent to the group there,
/// and what it sends goes out that interface, one hop (TTL 1).
fn group_socket(group: Ipv4Addr, port: u16, iface: Ipv4Addr) -> io::Result<UdpSocket> {
    let socket = bound_socket(SocketAddr::new(group.into(), port))?;
    socket.join_multicast_v4(&group, &iface)?;
    socket.set_multicast_if_v4(&iface)?;
    // Nodes on the same host must hear each other too.
    socket.set_multicast_loop_v4(true)?;
    socket.set_multicast_ttl_v4(1)?;
    Ok(into_mio(socket))
}
