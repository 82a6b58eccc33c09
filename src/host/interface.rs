//! Choosing the network interface a node beacons on and binds its inbox to.

use crate::core::endpoint::is_link_local;
use crate::core::{LinkScope, Subnet};
use log::{debug, warn};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Which interface to use, as a user names it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum InterfaceSpec {
    /// The first interface that is up, not loopback, and has an IPv4
    /// broadcast address.
    #[default]
    Auto,
    /// Loopback mode: beacons to 127.255.255.255, inbox on 127.0.0.1, so
    /// peers on one host work with no LAN at all.
    Loopback,
    /// An interface by name, e.g. `eth0`.
    Name(String),
    /// The interface that has this address (IPv4, or IPv6 in IPv6 mode).
    Address(IpAddr),
}

impl FromStr for InterfaceSpec {
    type Err = std::convert::Infallible;

    /// `""`/`auto` = Auto, `lo` = Loopback, an IPv4 or IPv6 address, or
    /// a name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Ok(match s {
            "" | "auto" | "*" => InterfaceSpec::Auto,
            "lo" | "loopback" => InterfaceSpec::Loopback,
            _ => match s.parse::<IpAddr>() {
                Ok(ip) if ip.is_loopback() => InterfaceSpec::Loopback,
                Ok(ip) => InterfaceSpec::Address(ip),
                Err(_) => InterfaceSpec::Name(s.to_owned()),
            },
        })
    }
}

impl fmt::Display for InterfaceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterfaceSpec::Auto => write!(f, "auto"),
            InterfaceSpec::Loopback => write!(f, "lo"),
            InterfaceSpec::Name(name) => write!(f, "{name}"),
            InterfaceSpec::Address(ip) => write!(f, "{ip}"),
        }
    }
}

/// The interface a node settled on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// The interface's name, e.g. `eth0`; `lo` in loopback mode.
    pub name: String,
    /// Its IPv4 address: the inbox binds here, and HELLO advertises it.
    pub address: IpAddr,
    /// Where beacons go (unless a multicast group is configured).
    pub broadcast: IpAddr,
    /// The length of the address's network prefix, in bits (`/24` is 24):
    /// beacons from outside this subnet are ignored.
    pub prefix_len: u8,
    /// The address is a loopback address (loopback mode, however it was
    /// named): the node then ignores beacons from any other address.
    pub loopback: bool,
    /// The interface index (`if_nametoindex`), the scope id of its IPv6
    /// link-local addresses; 0 when unknown.
    pub index: u32,
}

impl Interface {
    /// Loopback mode: `lo`, 127.0.0.1/8, beacons to 127.255.255.255. Needs
    /// no lookup, so it works where the interface list cannot be read.
    pub fn loopback() -> Interface {
        Interface {
            name: "lo".into(),
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            broadcast: IpAddr::V4(Ipv4Addr::new(127, 255, 255, 255)),
            prefix_len: 8,
            loopback: true,
            index: 0,
        }
    }

    /// Whether this is an IPv6 interface (an IPv6 node chose it).
    pub fn is_ipv6(&self) -> bool {
        self.address.is_ipv6()
    }

    /// In IPv6 mode, the interface as the scope of link-local addresses.
    pub fn link_scope(&self) -> Option<LinkScope> {
        self.is_ipv6().then(|| LinkScope {
            index: self.index,
            name: self.name.clone(),
        })
    }

    /// The subnet this interface serves.
    pub fn subnet(&self) -> Subnet {
        Subnet::new(self.address, self.prefix_len)
    }
}

/// No interface matches an [`InterfaceSpec`], or the machine's interfaces
/// cannot be listed. The text says which, for a user.
#[derive(Debug)]
pub struct InterfaceError(pub String);

impl fmt::Display for InterfaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InterfaceError {}

/// Resolves a spec against the machine's IPv4 interfaces; the first match
/// wins, in the system's order. An interface whose address is a loopback
/// address is [`Interface::loopback`], whatever its name.
///
/// # Errors
///
/// [`InterfaceError`] when the interfaces cannot be listed, or none
/// matches (for [`InterfaceSpec::Auto`]: none is up, not loopback, with a
/// broadcast address).
pub(crate) fn choose(spec: &InterfaceSpec) -> Result<Interface, InterfaceError> {
    if *spec == InterfaceSpec::Loopback {
        return Ok(Interface::loopback());
    }
    let chosen = choose_from(spec, &list()?)?;
    warn_if_down(&chosen);
    Ok(chosen)
}

/// The machine's interfaces and their addresses, as `getifaddrs(3)` lists
/// them (one entry per address).
pub(crate) fn list() -> Result<Vec<if_addrs::Interface>, InterfaceError> {
    if_addrs::get_if_addrs().map_err(|err| InterfaceError(format!("cannot list network interfaces: {err}")))
}

/// [`choose`] against a listing already made.
pub(crate) fn choose_from(
    spec: &InterfaceSpec,
    all: &[if_addrs::Interface],
) -> Result<Interface, InterfaceError> {
    if *spec == InterfaceSpec::Loopback {
        return Ok(Interface::loopback());
    }
    let candidates = all.iter().filter_map(|iface| match &iface.addr {
        if_addrs::IfAddr::V4(v4) => Some((iface, v4)),
        _ => None,
    });
    let mut chosen = None;
    for (iface, v4) in candidates {
        let matches = match spec {
            InterfaceSpec::Auto => {
                !v4.ip.is_loopback()
                    && v4.broadcast.is_some()
                    && iface.oper_status != if_addrs::IfOperStatus::Down
            }
            InterfaceSpec::Name(name) => iface.name == *name,
            InterfaceSpec::Address(ip) => IpAddr::V4(v4.ip) == *ip,
            InterfaceSpec::Loopback => unreachable!("handled above"),
        };
        if matches {
            chosen = Some((iface, v4));
            break;
        }
    }
    let Some((iface, v4)) = chosen else {
        return Err(InterfaceError(match spec {
            InterfaceSpec::Auto => {
                "no usable interface: none is up with an IPv4 broadcast address (name one, or lo for loopback mode)"
                    .into()
            }
            InterfaceSpec::Address(IpAddr::V6(ip)) => {
                format!("{ip} is an IPv6 address: IPv6 mode (--ipv6) is needed for it")
            }
            other => unmatched(other, all, "IPv4", "for its IPv6 address, use IPv6 mode: --ipv6"),
        }));
    };
    if v4.ip.is_loopback() {
        return Ok(Interface::loopback());
    }
    Ok(Interface {
        name: iface.name.clone(),
        address: IpAddr::V4(v4.ip),
        broadcast: IpAddr::V4(broadcast_of(v4.ip, v4.netmask, v4.broadcast)),
        prefix_len: u32::from(v4.netmask).leading_ones() as u8,
        loopback: false,
        index: iface.index.unwrap_or(0),
    })
}

/// The multicast group Zyre's IPv6 beacons go to by default (czmq's
/// `ZSYS_IPV6_MCAST_ADDRESS`): all nodes on the link.
pub(crate) const DEFAULT_IPV6_GROUP: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// IPv6 mode: resolves a spec against the machine's IPv6 addresses. The
/// interface must be up and not loopback; of its addresses a global or
/// unique-local one is taken before a link-local one (for
/// [`InterfaceSpec::Auto`]: the first interface, in the system's order,
/// with a global or ULA address, else the first with a link-local one).
/// `broadcast` is [`DEFAULT_IPV6_GROUP`]; `index` is the scope id.
///
/// # Errors
///
/// [`InterfaceError`] when the interfaces cannot be listed, none matches,
/// the spec is loopback mode (IPv4 only: `lo` has no multicast), or the
/// interface has no index.
pub(crate) fn choose_ipv6(spec: &InterfaceSpec) -> Result<Interface, InterfaceError> {
    if *spec == InterfaceSpec::Loopback {
        return Err(InterfaceError(
            "loopback mode (-i lo) is IPv4 only: in IPv6 mode name a LAN interface".into(),
        ));
    }
    let chosen = choose_ipv6_from(spec, &list()?)?;
    warn_if_down(&chosen);
    Ok(chosen)
}

/// [`choose_ipv6`] against a listing already made.
pub(crate) fn choose_ipv6_from(
    spec: &InterfaceSpec,
    all: &[if_addrs::Interface],
) -> Result<Interface, InterfaceError> {
    if *spec == InterfaceSpec::Loopback {
        return Err(InterfaceError(
            "loopback mode (-i lo) is IPv4 only: in IPv6 mode name a LAN interface".into(),
        ));
    }
    let candidates: Vec<_> = all
        .iter()
        .filter_map(|iface| match &iface.addr {
            if_addrs::IfAddr::V6(v6) => Some((iface, v6)),
            _ => None,
        })
        .filter(|(iface, v6)| match spec {
            InterfaceSpec::Auto => !v6.ip.is_loopback() && iface.oper_status != if_addrs::IfOperStatus::Down,
            InterfaceSpec::Name(name) => iface.name == *name,
            InterfaceSpec::Address(ip) => IpAddr::V6(v6.ip) == *ip,
            InterfaceSpec::Loopback => unreachable!("handled above"),
        })
        .filter(|(_, v6)| !v6.ip.is_unspecified() && !v6.ip.is_multicast())
        .collect();
    let chosen = candidates
        .iter()
        .find(|(_, v6)| !is_link_local(&v6.ip))
        .or_else(|| candidates.first());
    let Some((iface, v6)) = chosen else {
        return Err(InterfaceError(match spec {
            InterfaceSpec::Auto => "no usable interface: none is up with an IPv6 address".into(),
            other => unmatched(other, all, "IPv6", "for its IPv4 address, leave IPv6 mode off"),
        }));
    };
    if v6.ip.is_loopback() {
        return Err(InterfaceError(format!(
            "{} is loopback: IPv6 mode needs a LAN interface (loopback mode is IPv4 only)",
            iface.name
        )));
    }
    let index = iface
        .index
        .ok_or_else(|| InterfaceError(format!("interface {} has no index (scope id)", iface.name)))?;
    Ok(Interface {
        name: iface.name.clone(),
        address: IpAddr::V6(v6.ip),
        broadcast: IpAddr::V6(DEFAULT_IPV6_GROUP),
        prefix_len: u128::from(v6.netmask).leading_ones() as u8,
        loopback: false,
        index,
    })
}

/// The broadcast address of `ip` in the subnet `netmask`. The system's
/// figure is used only when it is a broadcast address of that subnet: an
/// address configured without one (`ip addr add 10.88.0.3/24 dev eth0`)
/// is reported with the address itself, and beacons sent there reach
/// nobody.
fn broadcast_of(ip: Ipv4Addr, netmask: Ipv4Addr, reported: Option<Ipv4Addr>) -> Ipv4Addr {
    let mask = u32::from(netmask);
    let derived = Ipv4Addr::from(u32::from(ip) | !mask);
    match reported {
        Some(b) if b != ip && u32::from(b) & mask == u32::from(ip) & mask => b,
        Some(b) => {
            debug!(
                "interface reports broadcast {b} for {ip}/{}: using {derived}",
                mask.leading_ones()
            );
            derived
        }
        None => derived,
    }
}

/// A named interface that is down is used (it may come up), but said,
/// once, when the node is built: nothing is heard on it until then.
fn warn_if_down(chosen: &Interface) {
    if !chosen.loopback && is_down(&chosen.name) {
        warn!(
            "interface {} is down: no peer is heard on it until it comes up",
            chosen.name
        );
    }
}

/// Whether Linux says the interface is down (`operstate`: set down, or
/// no carrier below it). if-addrs reports only up or unknown there, from
/// IFF_RUNNING, so it is read from sysfs; elsewhere nothing is said.
fn is_down(name: &str) -> bool {
    let state = std::fs::read_to_string(sys_class_net(name).join("operstate"));
    operstate_is_down(state.as_deref().unwrap_or(""))
}

fn operstate_is_down(state: &str) -> bool {
    matches!(state.trim(), "down" | "lowerlayerdown")
}

/// A bind endpoint `tcp://NAME:PORT` with the address of the interface
/// called NAME in its place (its first IPv4 address, else its first IPv6
/// one in brackets), as libzmq documents for bind: the libzmq the `zmq`
/// crate builds lacks getifaddrs (`ZMQ_HAVE_IFADDRS`) and answers "No
/// such device" for any name. An address, `*` or another transport comes
/// back as it is.
///
/// # Errors
///
/// [`InterfaceError`] when the interfaces cannot be listed or none is
/// called NAME, or it has no address.
pub(crate) fn bind_by_address(endpoint: &str) -> Result<String, InterfaceError> {
    let Some(name) = interface_in_bind(endpoint) else {
        return Ok(endpoint.to_owned());
    };
    bind_by_address_from(endpoint, name, &list()?)
}

/// The interface name in a `tcp://NAME:PORT` bind endpoint, if it has one
/// there rather than an address or `*`.
fn interface_in_bind(endpoint: &str) -> Option<&str> {
    let address = endpoint.trim().strip_prefix("tcp://")?;
    let (host, _port) = address.rsplit_once(':')?;
    let is_address = host == "*" || host.starts_with('[') || host.parse::<IpAddr>().is_ok();
    (!is_address && !host.is_empty()).then_some(host)
}

/// [`bind_by_address`] against a listing already made.
fn bind_by_address_from(
    endpoint: &str,
    name: &str,
    all: &[if_addrs::Interface],
) -> Result<String, InterfaceError> {
    let named = || all.iter().filter(|iface| iface.name == name);
    let iface = named()
        .find(|iface| matches!(iface.addr, if_addrs::IfAddr::V4(_)))
        .or_else(|| named().next())
        .ok_or_else(|| InterfaceError(not_listed(name)))?;
    let port = endpoint.trim().rsplit_once(':').map_or("", |(_, port)| port);
    Ok(match iface.addr.ip() {
        IpAddr::V4(ip) => format!("tcp://{ip}:{port}"),
        // A link-local address binds only with its scope, which this
        // libzmq takes as a number (it has no if_nametoindex either).
        IpAddr::V6(ip) if is_link_local(&ip) => match iface.index {
            Some(index) => format!("tcp://[{ip}%{index}]:{port}"),
            None => format!("tcp://[{ip}]:{port}"),
        },
        IpAddr::V6(ip) => format!("tcp://[{ip}]:{port}"),
    })
}

/// Why no interface of `all` matched `spec` in the `family` wanted: a
/// name that is there with other addresses only (`other`: what to do
/// instead), one that is not listed (see [`not_listed`]), or an address
/// no interface has.
fn unmatched(spec: &InterfaceSpec, all: &[if_addrs::Interface], family: &str, other: &str) -> String {
    let InterfaceSpec::Name(name) = spec else {
        return format!("no {family} interface matches {spec}");
    };
    if all.iter().any(|iface| iface.name == *name) {
        format!("interface {name} has no {family} address ({other})")
    } else {
        not_listed(name)
    }
}

/// Why an interface name has no address listed: it is there without any
/// (down or unconfigured), or not there at all.
fn not_listed(name: &str) -> String {
    if sys_class_net(name).exists() {
        format!("interface {name} has no IP address (is it up and configured?)")
    } else {
        format!("no interface is named {name}")
    }
}

/// Linux's directory of the interface `name` (sysfs).
fn sys_class_net(name: &str) -> std::path::PathBuf {
    std::path::Path::new("/sys/class/net").join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bind_endpoint_takes_its_interface_address_for_its_name() {
        let iface = |name: &str, addr: if_addrs::IfAddr| if_addrs::Interface {
            name: name.into(),
            addr,
            index: Some(3),
            oper_status: if_addrs::IfOperStatus::Up,
            is_p2p: false,
        };
        let v6 = |ip: &str| {
            if_addrs::IfAddr::V6(if_addrs::Ifv6Addr {
                ip: ip.parse().unwrap(),
                netmask: "ffff:ffff:ffff:ffff::".parse().unwrap(),
                prefixlen: 64,
                broadcast: None,
            })
        };
        let v4 = if_addrs::IfAddr::V4(if_addrs::Ifv4Addr {
            ip: Ipv4Addr::new(10, 78, 0, 3),
            netmask: Ipv4Addr::new(255, 255, 255, 0),
            prefixlen: 24,
            broadcast: Some(Ipv4Addr::new(10, 78, 0, 255)),
        });
        let all = [
            iface("eth1", v6("fd00::3")),
            iface("eth1", v4),
            iface("v6only", v6("fd00::9")),
            iface("ll", v6("fe80::7")),
        ];
        let bind = |endpoint: &str| {
            let name = interface_in_bind(endpoint).expect("a name");
            bind_by_address_from(endpoint, name, &all)
        };
        assert_eq!(bind("tcp://eth1:31337").unwrap(), "tcp://10.78.0.3:31337");
        assert_eq!(bind("tcp://eth1:*").unwrap(), "tcp://10.78.0.3:*");
        assert_eq!(bind("tcp://v6only:1").unwrap(), "tcp://[fd00::9]:1");
        assert_eq!(bind("tcp://ll:1").unwrap(), "tcp://[fe80::7%3]:1");
        assert_eq!(bind("tcp://eth9:1").unwrap_err().0, "no interface is named eth9");
        for as_is in [
            "tcp://*:31337",
            "tcp://10.0.0.1:*",
            "tcp://[::1]:5",
            "ipc:///tmp/x",
            "tcp://x",
        ] {
            assert_eq!(interface_in_bind(as_is), None, "{as_is}");
        }
    }

    #[test]
    fn an_interface_is_down_as_sysfs_says() {
        assert!(operstate_is_down("down\n"));
        assert!(operstate_is_down("lowerlayerdown\n"));
        for up in ["up\n", "unknown\n", "dormant\n", ""] {
            assert!(!operstate_is_down(up), "{up:?}");
        }
        // `lo` is "unknown" (no carrier to speak of); no such interface, no word.
        assert!(!is_down("lo"));
        assert!(!is_down("nosuch0"));
    }

    #[test]
    fn an_unmatched_name_says_what_the_interface_lacks() {
        let v6_only = if_addrs::Interface {
            name: "eth9".into(),
            addr: if_addrs::IfAddr::V6(if_addrs::Ifv6Addr {
                ip: "fe80::1".parse().unwrap(),
                netmask: "ffff:ffff:ffff:ffff::".parse().unwrap(),
                prefixlen: 64,
                broadcast: None,
            }),
            index: Some(9),
            oper_status: if_addrs::IfOperStatus::Up,
            is_p2p: false,
        };
        let all = [v6_only];
        let err = |name: &str| {
            choose_from(&InterfaceSpec::Name(name.into()), &all)
                .unwrap_err()
                .0
        };
        assert_eq!(
            err("eth9"),
            "interface eth9 has no IPv4 address (for its IPv6 address, use IPv6 mode: --ipv6)"
        );
        assert_eq!(err("nosuch0"), "no interface is named nosuch0");
        // `lo` is always there, and not in this listing: as an interface
        // that is down or has no address.
        assert_eq!(
            unmatched(&InterfaceSpec::Name("lo".into()), &[], "IPv4", "-"),
            "interface lo has no IP address (is it up and configured?)"
        );
        assert_eq!(
            not_listed("lo"),
            "interface lo has no IP address (is it up and configured?)"
        );
        let address = InterfaceSpec::Address(IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9)));
        assert_eq!(
            choose_from(&address, &all).unwrap_err().0,
            "no IPv4 interface matches 10.9.9.9"
        );
    }

    #[test]
    fn specs_parse_as_users_write_them() {
        assert_eq!("".parse::<InterfaceSpec>().unwrap(), InterfaceSpec::Auto);
        assert_eq!("lo".parse::<InterfaceSpec>().unwrap(), InterfaceSpec::Loopback);
        assert_eq!(
            "127.0.0.1".parse::<InterfaceSpec>().unwrap(),
            InterfaceSpec::Loopback
        );
        assert_eq!(
            "10.1.2.3".parse::<InterfaceSpec>().unwrap(),
            InterfaceSpec::Address(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)))
        );
        assert_eq!(
            "fd00:68::2".parse::<InterfaceSpec>().unwrap(),
            InterfaceSpec::Address("fd00:68::2".parse().unwrap())
        );
        assert_eq!("::1".parse::<InterfaceSpec>().unwrap(), InterfaceSpec::Loopback);
        assert_eq!(
            "eth0".parse::<InterfaceSpec>().unwrap(),
            InterfaceSpec::Name("eth0".into())
        );
    }

    #[test]
    fn loopback_mode_needs_no_lookup() {
        let lo = choose(&InterfaceSpec::Loopback).unwrap();
        assert!(lo.loopback);
        assert_eq!(lo.broadcast, IpAddr::V4(Ipv4Addr::new(127, 255, 255, 255)));
    }

    #[test]
    fn the_broadcast_address_is_derived_when_the_system_reports_a_wrong_one() {
        let ip = Ipv4Addr::new(10, 88, 0, 3);
        let mask = Ipv4Addr::new(255, 255, 255, 0);
        let right = Ipv4Addr::new(10, 88, 0, 255);
        assert_eq!(broadcast_of(ip, mask, Some(right)), right);
        // No `brd`: the system reports the address itself.
        assert_eq!(broadcast_of(ip, mask, Some(ip)), right);
        assert_eq!(broadcast_of(ip, mask, None), right);
        // Outside the subnet.
        assert_eq!(broadcast_of(ip, mask, Some(Ipv4Addr::new(10, 99, 0, 255))), right);
        // A point-to-point /32 has no other address to reach.
        let host = Ipv4Addr::new(255, 255, 255, 255);
        assert_eq!(broadcast_of(ip, host, None), ip);
    }

    #[test]
    fn a_missing_interface_is_a_clear_error() {
        let err = choose(&InterfaceSpec::Name("no-such-if0".into())).unwrap_err();
        assert!(err.to_string().contains("no-such-if0"), "{err}");
        let err = choose_ipv6(&InterfaceSpec::Name("no-such-if0".into())).unwrap_err();
        assert!(err.to_string().contains("no-such-if0"), "{err}");
    }

    #[test]
    fn ipv6_mode_refuses_loopback() {
        let err = choose_ipv6(&InterfaceSpec::Loopback).unwrap_err();
        assert!(err.to_string().contains("IPv4 only"), "{err}");
    }
}
