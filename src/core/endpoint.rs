//! Peer endpoints on IPv6 LANs: one written form, so that the endpoint a
//! beacon gives and the one a HELLO gives compare equal, and a scope for
//! link-local addresses.
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
//! it refuses `%eth0` with EINVAL and takes only `%2`.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

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

/// `tcp://[ip]:port`, with `%scope` for a link-local address when a scope
/// is given.
pub(crate) fn ipv6_endpoint(ip: &Ipv6Addr, port: u16, scope: Option<&LinkScope>) -> String {
    match scope {
        Some(scope) if is_link_local(ip) => format!("tcp://[{ip}%{}]:{port}", scope.index),
        _ => format!("tcp://[{ip}]:{port}"),
    }
}

/// A peer's endpoint in the one form we use: an IPv6 endpoint in any of
/// the forms above becomes `tcp://[addr]:port`, a link-local one with our
/// `%scope` (whatever scope the peer wrote: its interface names mean
/// nothing here). Anything else (IPv4, a host name, another transport) is
/// returned unchanged.
///
/// # Errors
///
/// [`EndpointError`] for an endpoint that looks like IPv6 and does not
/// parse: no port, a bad port, a bad address.
pub(crate) fn canonical<'a>(
    endpoint: &'a str,
    scope: Option<&LinkScope>,
) -> Result<Cow<'a, str>, EndpointError> {
    let Some(address) = endpoint.strip_prefix("tcp://") else {
        return Ok(Cow::Borrowed(endpoint));
    };
    if !address.starts_with('[') && address.matches(':').count() < 2 {
        return Ok(Cow::Borrowed(endpoint));
    }
    let fail = |reason| EndpointError {
        endpoint: endpoint.to_owned(),
        reason,
    };
    let (host, port) = address.rsplit_once(':').ok_or_else(|| fail("no port"))?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| fail("the port is not a number from 1 to 65535"))?;
    let host = match host.strip_prefix('[') {
        // Zyre's cut of the scope takes the `]` with it.
        Some(inner) => inner.strip_suffix(']').unwrap_or(inner),
        None if host.contains(['[', ']']) => return Err(fail("unbalanced brackets")),
        None => host,
    };
    let (ip, had_scope) = match host.split_once('%') {
        Some((ip, scope)) if !scope.is_empty() => (ip, true),
        Some(_) => return Err(fail("an empty scope after %")),
        None => (host, false),
    };
    let ip: Ipv6Addr = ip.parse().map_err(|_| fail("not an IPv6 address"))?;
    if had_scope && !is_link_local(&ip) {
        // A scope on a global address is legal but pointless; keep ours out.
        return Ok(Cow::Owned(ipv6_endpoint(&ip, port, None)));
    }
    let written = ipv6_endpoint(&ip, port, scope);
    Ok(if written == endpoint {
        Cow::Borrowed(endpoint)
    } else {
        Cow::Owned(written)
    })
}

/// Checks that a peer's endpoint (in the form [`canonical`] gives) is one
/// we can link to: `tcp://`, a port from 1 to 65535, and a host that is an
/// IP address or a host name (RFC 1123 labels of letters, digits, `-` and,
/// as container names have them, `_`; up to 63 bytes each, 253 in all;
/// the last not all digits, so that `999.1.1.1` is neither). Anything
/// else in a HELLO, a gossip tuple or a seed is refused: ENTER means we
/// can send to the peer, and another transport (`ipc://`, `inproc://`)
/// from a stranger would make us connect to something on this host.
///
/// # Errors
///
/// [`EndpointError`] naming what is wrong.
pub(crate) fn check_linkable(endpoint: &str) -> Result<(), EndpointError> {
    let fail = |reason| EndpointError {
        endpoint: endpoint.to_owned(),
        reason,
    };
    let address = endpoint
        .strip_prefix("tcp://")
        .ok_or_else(|| fail("not a tcp:// endpoint"))?;
    let (host, port) = address.rsplit_once(':').ok_or_else(|| fail("no port"))?;
    port.parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| fail("the port is not a number from 1 to 65535"))?;
    if host.starts_with('[') {
        // canonical() wrote it: an IPv6 address in brackets.
        return Ok(());
    }
    if host.parse::<IpAddr>().is_ok() || is_host_name(host) {
        Ok(())
    } else {
        Err(fail("the host is neither an IP address nor a host name"))
    }
}

/// Whether `host` is a syntactically valid host name (see
/// [`check_linkable`]); a trailing dot (a fully qualified name) is allowed.
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

/// The IP address of a `tcp://ADDR:PORT` endpoint in the form
/// [`canonical`] writes (an IPv6 one in brackets, maybe with `%scope`);
/// `None` for a host name or another transport.
pub(crate) fn ip_of(endpoint: &str) -> Option<IpAddr> {
    let (host, _port) = endpoint.strip_prefix("tcp://")?.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let host = host.split_once('%').map_or(host, |(ip, _)| ip);
    host.parse().ok()
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

    #[test]
    fn ipv4_and_host_names_pass_unchanged() {
        for e in [
            "tcp://10.0.0.1:41000",
            "tcp://host:1",
            "ipc:///tmp/x",
            "tcp://10.0.0.1",
        ] {
            assert!(matches!(canonical(e, Some(&eth0())), Ok(Cow::Borrowed(_))), "{e}");
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
            let err = canonical(e, Some(&eth0())).unwrap_err();
            assert!(err.to_string().contains(e), "{err}");
        }
    }

    #[test]
    fn only_tcp_endpoints_with_a_host_and_a_port_are_linkable() {
        for e in [
            "tcp://10.0.0.1:41000",
            "tcp://host:1",
            "tcp://my_container.lan.:65535",
            "tcp://[fd00::1]:5",
            "tcp://[fe80::1%2]:5",
            "tcp://a-b.example.org:41000",
        ] {
            assert_eq!(check_linkable(e), Ok(()), "{e}");
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
            "tcp://10.0.0.256:1",
            "tcp://-host:1",
            "tcp://ho st:1",
            "tcp://a..b:1",
            "tcp://*:5670",
            &long_label,
            &long_name,
        ] {
            let err = check_linkable(e).unwrap_err();
            assert!(err.to_string().contains(&format!("{e:?}")), "{err}");
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
