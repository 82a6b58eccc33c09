//! Peer endpoints as a type: where a peer's inbox is, read once from the
//! text that comes in (a HELLO, a gossip tuple, a seed) or made from a
//! beacon's sender address and port, and written as `tcp://…` text only
//! where it leaves (our HELLO, libzmq's connect, logs and events).
//!
//! [`Endpoint`] is an IP address (with, for a link-local IPv6 address, the
//! scope of the interface we serve) or a host name, and a port. Anything
//! else a peer may advertise is refused ([`Endpoint::parse`]): ENTER means
//! we can send to the peer, and another transport (`ipc://`, `inproc://`)
//! from a stranger would make us connect to something on this host. Two
//! endpoints are equal exactly when their written forms are: the form is
//! one per endpoint, so that the endpoint a beacon gives and the one a
//! HELLO gives compare equal.
//!
//! Zyre 2.0.1 in IPv6 mode writes the endpoints it makes from beacons
//! without brackets (`tcp://fd00::3:41361`, czmq's zbeacon gives the bare
//! address) and advertises in HELLO what libzmq reports (`tcp://[fd00::3]:
//! 41361`); for a link-local address it cuts the `%iface` out of HELLO
//! (zyre_node.c, "must not send the interface name"), and the cut also
//! takes the closing bracket (`tcp://[fe80::1:41361`). All of these are
//! read here. The form we write is libzmq's: `tcp://[addr]:port`, with
//! `%scope` inside the brackets for a link-local address, where the scope
//! is the index of the interface the node serves: the libzmq that the zmq
//! crate builds has no `if_nametoindex` (HAVE_IF_NAMETOINDEX is unset), so
//! it refuses `%eth0` with EINVAL and takes only `%2`. A port is read as a
//! number (`tcp://10.0.0.1:05` is `tcp://10.0.0.1:5`, as an IPv6
//! endpoint's port always was); a host name is kept as written (names
//! compare as text, as they did).

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::num::NonZeroU32;
use std::sync::Arc;

/// The interface a node serves, as the scope of link-local addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkScope {
    /// The interface index (`if_nametoindex`): beacons from a link-local
    /// sender must have arrived with this scope id.
    pub index: u32,
    /// The interface name, for log lines (endpoints carry the index).
    pub name: String,
}

/// A peer's endpoint that we cannot link to: not `tcp://HOST:PORT`, or
/// one that looks like IPv6 (`tcp://[…` or more than one colon) but is
/// not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointError {
    /// The endpoint as received.
    pub endpoint: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid endpoint {:?}: {}", self.endpoint, self.reason)
    }
}

impl std::error::Error for EndpointError {}

/// Whether `ip` is a link-local unicast address (fe80::/10), which needs a
/// scope (the interface) to be reached.
pub(crate) fn is_link_local(ip: &Ipv6Addr) -> bool {
    ip.segments()[0] & 0xffc0 == 0xfe80
}

/// Where a peer's inbox is: `tcp://HOST:PORT`, the port from 1 to 65535.
/// Cheap to make from an address (no allocation) and to compare; written
/// as text by [`Display`](fmt::Display).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// An address or a host name.
    pub host: Host,
    /// The inbox port.
    pub port: u16,
}

/// The host part of a `tcp://` endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Host {
    /// An IP address; `scope` is the interface index of a link-local IPv6
    /// address (the interface we serve), `None` for every other address.
    Ip {
        /// The address.
        ip: IpAddr,
        /// The scope of a link-local IPv6 address.
        scope: Option<NonZeroU32>,
    },
    /// A host name (RFC 1123 labels, `_` allowed: see [`Endpoint::parse`]),
    /// as Zyre advertises in its `ZSYS_INTERFACE=*` mode
    /// (`tcp://HOSTNAME:PORT`).
    Name(Arc<str>),
}

impl Endpoint {
    /// `tcp://ip:port`; a link-local IPv6 address gets `scope` (the
    /// interface we serve), any other address no scope.
    pub fn from_ip(ip: IpAddr, port: u16, scope: Option<&LinkScope>) -> Endpoint {
        let scope = match ip {
            IpAddr::V6(v6) if is_link_local(&v6) => scope.and_then(|s| NonZeroU32::new(s.index)),
            _ => None,
        };
        Endpoint {
            host: Host::Ip { ip, scope },
            port,
        }
    }

    /// Reads a peer's endpoint: `tcp://`, then an IPv6 address in any of
    /// the forms the module names (a link-local one gets our `scope`,
    /// whatever scope the peer wrote: its interface names mean nothing
    /// here; a global one loses any scope), an IPv4 address or a host name
    /// (RFC 1123 labels of letters, digits, `-` and, as container names
    /// have them, `_`; up to 63 bytes each, 253 in all; the last not all
    /// digits, so that `999.1.1.1` is neither), then `:` and a port from 1
    /// to 65535.
    ///
    /// # Errors
    ///
    /// [`EndpointError`] naming what is wrong: another transport, no port,
    /// a bad port, a host that is neither an address nor a name, a broken
    /// IPv6 address.
    pub fn parse(text: &str, scope: Option<&LinkScope>) -> Result<Endpoint, EndpointError> {
        let fail = |reason| EndpointError {
            endpoint: text.to_owned(),
            reason,
        };
        let address = text
            .strip_prefix("tcp://")
            .ok_or_else(|| fail("not a tcp:// endpoint"))?;
        let ipv6 = address.starts_with('[') || address.matches(':').count() >= 2;
        let (host, port) = address.rsplit_once(':').ok_or_else(|| fail("no port"))?;
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| fail("the port is not a number from 1 to 65535"))?;
        if !ipv6 {
            let host = match host.parse::<IpAddr>() {
                Ok(ip) => Host::Ip { ip, scope: None },
                Err(_) if is_host_name(host) => Host::Name(Arc::from(host)),
                Err(_) => return Err(fail("the host is neither an IP address nor a host name")),
            };
            return Ok(Endpoint { host, port });
        }
        let host = match host.strip_prefix('[') {
            // Zyre's cut of the scope takes the `]` with it.
            Some(inner) => inner.strip_suffix(']').unwrap_or(inner),
            None if host.contains(['[', ']']) => return Err(fail("unbalanced brackets")),
            None => host,
        };
        let ip = match host.split_once('%') {
            Some((_, "")) => return Err(fail("an empty scope after %")),
            Some((ip, _)) => ip,
            None => host,
        };
        let ip: Ipv6Addr = ip.parse().map_err(|_| fail("not an IPv6 address"))?;
        Ok(Endpoint::from_ip(IpAddr::V6(ip), port, scope))
    }

    /// The IP address of a `tcp://IP:PORT` endpoint; `None` for a host
    /// name.
    pub fn ip(&self) -> Option<IpAddr> {
        match self.host {
            Host::Ip { ip, .. } => Some(ip),
            Host::Name(_) => None,
        }
    }

    /// The socket address of a `tcp://IP:PORT` endpoint, with the scope
    /// of a link-local one; `None` for a host name.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match self.host {
            Host::Ip {
                ip: IpAddr::V6(ip),
                scope,
            } => Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                self.port,
                0,
                scope.map_or(0, NonZeroU32::get),
            ))),
            Host::Ip { ip, .. } => Some(SocketAddr::new(ip, self.port)),
            Host::Name(_) => None,
        }
    }
}

/// Whether `host` is a syntactically valid host name (see
/// [`Endpoint::parse`]); a trailing dot (a fully qualified name) is
/// allowed.
fn is_host_name(host: &str) -> bool {
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    name.split('.').all(label_ok)
        && !name
            .rsplit('.')
            .next()
            .is_some_and(|last| last.bytes().all(|b| b.is_ascii_digit()))
}

impl fmt::Display for Endpoint {
    /// `tcp://10.0.0.1:5`, `tcp://[fd00::1]:5`, `tcp://[fe80::1%2]:5`,
    /// `tcp://host:5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tcp://{}:{}", self.host, self.port)
    }
}

impl fmt::Display for Host {
    /// `10.0.0.1`, `[fd00::1]`, `[fe80::1%2]`, `host`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip {
                ip: IpAddr::V4(ip), ..
            } => write!(f, "{ip}"),
            Host::Ip {
                ip: IpAddr::V6(ip),
                scope: None,
            } => write!(f, "[{ip}]"),
            Host::Ip {
                ip: IpAddr::V6(ip),
                scope: Some(scope),
            } => write!(f, "[{ip}%{scope}]"),
            Host::Name(name) => f.write_str(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth0() -> LinkScope {
        LinkScope {
            index: 2,
            name: "eth0".into(),
        }
    }

    /// The written form of `text` as read with `scope`.
    fn canonical(text: &str, scope: Option<&LinkScope>) -> Result<String, EndpointError> {
        Endpoint::parse(text, scope).map(|e| e.to_string())
    }

    #[test]
    fn ipv4_and_host_names_are_read_as_written() {
        let s = Some(eth0());
        for e in [
            "tcp://10.0.0.1:41000",
            "tcp://host:1",
            "tcp://my-host.example.org:65535",
            "tcp://my_container.lan.:65535",
            "tcp://Host:5",
        ] {
            assert_eq!(canonical(e, s.as_ref()).unwrap(), e);
        }
        assert_eq!(
            Endpoint::parse("tcp://10.0.0.1:41000", None).unwrap(),
            Endpoint::from_ip("10.0.0.1".parse().unwrap(), 41000, None)
        );
        assert!(matches!(
            Endpoint::parse("tcp://host:1", None).unwrap(),
            Endpoint {
                host: Host::Name(_),
                port: 1
            }
        ));
        // The port is a number, written one way.
        assert_eq!(canonical("tcp://10.0.0.1:05", None).unwrap(), "tcp://10.0.0.1:5");
    }

    #[test]
    fn only_tcp_endpoints_with_a_host_and_a_port_are_read() {
        for e in [
            "tcp://10.0.0.1:41000",
            "tcp://host:1",
            "tcp://my_container.lan.:65535",
            "tcp://[fd00::1]:5",
            "tcp://[fe80::1%2]:5",
            "tcp://a-b.example.org:41000",
        ] {
            assert!(Endpoint::parse(e, Some(&eth0())).is_ok(), "{e}");
        }
        let long_label = format!("tcp://{}:1", "x".repeat(64));
        let long_name = format!("tcp://{}:1", ["abc"; 64].join("."));
        for e in [
            "",
            "tcp://",
            "ipc:///tmp/x",
            "inproc://x",
            "tcp://10.0.0.1",
            "tcp://10.0.0.1:0",
            "tcp://10.0.0.1:65536",
            "tcp://:5670",
            "tcp://999.1.1.1:1",
            "tcp://010.0.0.1:1",
            "tcp://10.0.0.256:1",
            "tcp://-host:1",
            "tcp://ho st:1",
            "tcp://a..b:1",
            "tcp://*:5670",
            &long_label,
            &long_name,
        ] {
            let err = Endpoint::parse(e, Some(&eth0())).unwrap_err();
            assert!(err.to_string().contains(&format!("{e:?}")), "{err}");
        }
    }

    #[test]
    fn equal_exactly_when_written_alike() {
        let s = Some(eth0());
        let texts = [
            "tcp://10.0.0.1:5",
            "tcp://10.0.0.1:05",
            "tcp://10.0.0.1:6",
            "tcp://[fd00::1]:5",
            "tcp://fd00::1:5",
            "tcp://[fe80::1]:5",
            "tcp://[fe80::1%7]:5",
            "tcp://[::ffff:10.0.0.1]:5",
            "tcp://host:5",
            "tcp://Host:5",
            "tcp://host.:5",
        ];
        for a in texts {
            for b in texts {
                let (ea, eb) = (
                    Endpoint::parse(a, s.as_ref()).unwrap(),
                    Endpoint::parse(b, s.as_ref()).unwrap(),
                );
                assert_eq!(ea == eb, ea.to_string() == eb.to_string(), "{a} {b}");
            }
        }
    }

    #[test]
    fn zyre_forms_become_ours() {
        let s = Some(eth0());
        let s = s.as_ref();
        // Zyre's beacon-made endpoint, without brackets.
        assert_eq!(
            canonical("tcp://fd00:68::3:41361", s).unwrap(),
            "tcp://[fd00:68::3]:41361"
        );
        // libzmq's, as Zyre's HELLO carries it.
        assert_eq!(
            canonical("tcp://[fd00:68::3]:41361", s).unwrap(),
            "tcp://[fd00:68::3]:41361"
        );
        // A link-local HELLO: Zyre cut `%eth0]`; we add our scope.
        assert_eq!(
            canonical("tcp://[fe80::1:41361", s).unwrap(),
            "tcp://[fe80::1%2]:41361"
        );
        assert_eq!(
            canonical("tcp://[fe80::1]:41361", s).unwrap(),
            "tcp://[fe80::1%2]:41361"
        );
        // The peer's interface name is replaced by ours.
        assert_eq!(
            canonical("tcp://[fe80::1%veth7]:41361", s).unwrap(),
            "tcp://[fe80::1%2]:41361"
        );
        assert_eq!(
            canonical("tcp://fe80::1%br0:41361", s).unwrap(),
            "tcp://[fe80::1%2]:41361"
        );
        // A scope on a global address is dropped.
        assert_eq!(
            canonical("tcp://[fd00::1%eth9]:7", s).unwrap(),
            "tcp://[fd00::1]:7"
        );
        // Without a scope to give, link-local stays as written canonically.
        assert_eq!(canonical("tcp://[fe80::1]:7", None).unwrap(), "tcp://[fe80::1]:7");
        // A beacon's sender gives the same endpoint as the HELLO.
        assert_eq!(
            Endpoint::from_ip("fe80::1".parse().unwrap(), 41361, s),
            Endpoint::parse("tcp://[fe80::1:41361", s).unwrap()
        );
        assert_eq!(
            Endpoint::from_ip("fd00::1".parse().unwrap(), 7, s),
            Endpoint::parse("tcp://fd00::1:7", s).unwrap()
        );
    }

    #[test]
    fn addresses_of_endpoints() {
        let s = Some(eth0());
        let e = Endpoint::parse("tcp://[fe80::1]:7", s.as_ref()).unwrap();
        assert_eq!(e.ip(), Some("fe80::1".parse().unwrap()));
        assert_eq!(e.socket_addr(), Some("[fe80::1%2]:7".parse().unwrap()));
        let e = Endpoint::parse("tcp://10.0.0.2:41000", None).unwrap();
        assert_eq!(e.socket_addr(), Some("10.0.0.2:41000".parse().unwrap()));
        let e = Endpoint::parse("tcp://host:1", None).unwrap();
        assert_eq!((e.ip(), e.socket_addr()), (None, None));
    }

    #[test]
    fn broken_ipv6_endpoints_are_errors() {
        for e in [
            "tcp://[fd00::1]",
            "tcp://[fd00::1]:0",
            "tcp://[fd00::1]:99999",
            "tcp://[fd00::1]:x",
            "tcp://[zz::1]:5",
            "tcp://fd00::1]:5",
            "tcp://[fe80::1%]:5",
            "tcp://[]:5",
        ] {
            let err = Endpoint::parse(e, Some(&eth0())).unwrap_err();
            assert!(err.to_string().contains(e), "{err}");
        }
    }

    #[test]
    fn link_local_is_fe80_slash_10() {
        assert!(is_link_local(&"fe80::1".parse().unwrap()));
        assert!(is_link_local(&"febf::1".parse().unwrap()));
        assert!(!is_link_local(&"fec0::1".parse().unwrap()));
        assert!(!is_link_local(&"fd00::1".parse().unwrap()));
    }
}
