//! The values of the keys: what each kind must look like, and the parsers
//! shared by the file loader and the command lines that set the same keys.
//! Every parser returns a one-line message naming the bad value.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

/// The largest duration accepted: `u32::MAX` seconds (the range of a
/// ZGossip TTL), far beyond any useful timeout and safe to add to an
/// `Instant`.
pub const MAX_DURATION: Duration = Duration::from_secs(u32::MAX as u64);

/// The longest text value: ZRE sends names, group names, header keys and
/// endpoints as `string`, with a one-byte length.
pub const MAX_TEXT_LEN: usize = 255;

/// What a key's value must look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// Free text of at most [`MAX_TEXT_LEN`] bytes.
    Text,
    /// A [`parse_duration`] duration, zero allowed.
    Duration,
    /// A [`parse_duration`] duration greater than zero.
    NonZeroDuration,
    /// A [`parse_bool`] boolean.
    Bool,
    /// A port number, 1-65535.
    Port,
    /// A count, at least 1.
    Count,
    /// `HOST:PORT` (see [`parse_host_port`]).
    HostPort,
    /// A ZGossip server for a node: `HOST:PORT`, or `HOST:PORT|KEY` with
    /// the server's CURVE public key (see [`parse_gossip_server`]).
    GossipServer,
    /// A multicast `IP:PORT` (see [`parse_multicast_group`]).
    MulticastGroup,
    /// `KEY=VALUE` (see [`parse_header`]).
    Header,
    /// `LOW-HIGH` or `0` (see [`PortRange`]).
    PortRange,
    /// A ZeroMQ endpoint to bind a ROUTER on: `tcp://HOST:PORT` or
    /// `ipc://PATH` (see [`parse_endpoint`]).
    Endpoint,
    /// A TCP endpoint `tcp://HOST:PORT` as peers connect to it (see
    /// [`parse_tcp_endpoint`]).
    TcpEndpoint,
}

/// Parses a duration: a number of seconds, integer or decimal (`5`, `0.5`,
/// `.5`), optionally followed by a unit `s` or `ms` (`2s`, `500ms`,
/// `1.5ms`). No sign, no exponent; precision beyond a nanosecond is
/// dropped; at most [`MAX_DURATION`].
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid duration \"{s}\" (expected seconds like 5 or 0.5, or 500ms, 2s)");
    let t = s.trim();
    let (number, nanos_per_unit) = if let Some(n) = t.strip_suffix("ms") {
        (n.trim_end(), 1_000_000u128)
    } else if let Some(n) = t.strip_suffix('s') {
        (n.trim_end(), 1_000_000_000u128)
    } else {
        (t, 1_000_000_000u128)
    };
    let (int, frac) = match number.split_once('.') {
        Some((int, frac)) if !frac.is_empty() => (int, frac),
        Some(_) => return Err(invalid()),
        None => (number, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return Err(invalid());
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let too_large = || {
        format!(
            "duration \"{s}\" is too large (at most {}s)",
            MAX_DURATION.as_secs()
        )
    };
    let mut nanos: u128 = 0;
    for digit in int.bytes() {
        nanos = nanos
            .checked_mul(10)
            .and_then(|n| n.checked_add(u128::from(digit - b'0')))
            .ok_or_else(too_large)?;
        if nanos > MAX_DURATION.as_nanos() {
            return Err(too_large());
        }
    }
    nanos *= nanos_per_unit;
    let mut scale = nanos_per_unit;
    for digit in frac.bytes() {
        scale /= 10;
        if scale == 0 {
            break;
        }
        nanos += u128::from(digit - b'0') * scale;
    }
    if nanos > MAX_DURATION.as_nanos() {
        return Err(too_large());
    }
    let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| too_large())?;
    let subsec = u32::try_from(nanos % 1_000_000_000).map_err(|_| too_large())?;
    Ok(Duration::new(secs, subsec))
}

/// Writes a duration the way [`parse_duration`] reads it back: whole
/// seconds as a number (`5`), whole milliseconds with `ms` (`500ms`), else
/// decimal seconds (`0.000001`).
pub fn format_duration(duration: Duration) -> String {
    let nanos = duration.subsec_nanos();
    if nanos == 0 {
        duration.as_secs().to_string()
    } else if nanos % 1_000_000 == 0 {
        format!("{}ms", duration.as_millis())
    } else {
        let fraction = format!("{nanos:09}");
        format!("{}.{}", duration.as_secs(), fraction.trim_end_matches('0'))
    }
}

/// Parses a boolean: `true/false`, `yes/no`, `on/off`, `1/0`, and the
/// original Haskell zre's `t/f`, `y/n`, in any case.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" | "t" | "y" => Ok(true),
        "false" | "no" | "off" | "0" | "f" | "n" => Ok(false),
        _ => Err(format!(
            "invalid boolean \"{s}\" (expected true/false, yes/no, on/off or 1/0)"
        )),
    }
}

/// A whole number written in digits only: Rust's integer parsing also
/// takes a leading `+`, which no other ZRE tool does.
fn unsigned<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

pub(crate) fn parse_port(s: &str) -> Result<u16, String> {
    match unsigned::<u16>(s.trim()) {
        Some(port) if port > 0 => Ok(port),
        _ => Err(format!("invalid port \"{s}\" (expected 1-65535)")),
    }
}

/// Parses a ZGossip server address `HOST:PORT` (an IPv6 host in brackets:
/// `[::1]:31337`); a leading `tcp://` is accepted and dropped. Returns the
/// host (brackets kept) and the port.
pub fn parse_host_port(s: &str) -> Result<(&str, u16), String> {
    let invalid = |why: &str| format!("invalid address \"{s}\": {why} (expected HOST:PORT)");
    let t = s.trim();
    let t = t.strip_prefix("tcp://").unwrap_or(t);
    let (host, port) = t.rsplit_once(':').ok_or_else(|| invalid("no port"))?;
    if host.is_empty() {
        return Err(invalid("no host"));
    }
    if host.contains(|c: char| c.is_whitespace() || c == '/') {
        return Err(invalid("bad host"));
    }
    let bracketed = host.starts_with('[') && host.ends_with(']') && host.len() > 2;
    if host.contains(':') && !bracketed || !host.contains(':') && (host.contains('[') || host.contains(']')) {
        return Err(invalid("an IPv6 host must be in brackets, e.g. [::1]:31337"));
    }
    let port = parse_port(port).map_err(|_| invalid("bad port"))?;
    Ok((host, port))
}

/// Parses a node's gossip server: `HOST:PORT` ([`parse_host_port`]),
/// optionally followed by `|KEY`, the server's CURVE public key in Z85
/// (40 characters), the form of Zyre's CURVE gossip values. Returns the
/// address part and the key text.
pub fn parse_gossip_server(s: &str) -> Result<(&str, Option<&str>), String> {
    let (address, key) = crate::wire::curve_key::split_gossip_value(s.trim());
    parse_host_port(address)?;
    if let Some(key) = key {
        crate::wire::curve_key::decode_z85(key)
            .ok()
            .filter(crate::wire::curve_key::is_usable_key)
            .ok_or_else(|| {
                format!(
                    "invalid CURVE key \"{key}\" of gossip server {address} (expected 40 characters of Z85)"
                )
            })?;
    }
    Ok((address, key))
}

/// Parses a multicast group `IPV4:PORT`, e.g. `239.0.0.1:5670` (beacons
/// are IPv4: an IPv6 group is refused here rather than when the node
/// starts).
pub fn parse_multicast_group(s: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = s
        .trim()
        .parse()
        .map_err(|_| format!("invalid multicast group \"{s}\" (expected IP:PORT, e.g. 239.0.0.1:5670)"))?;
    if addr.is_ipv6() {
        return Err(format!(
            "invalid multicast group \"{s}\": multicast beacons need an IPv4 group"
        ));
    }
    if !addr.ip().is_multicast() {
        return Err(format!(
            "invalid multicast group \"{s}\": {} is not a multicast address",
            addr.ip()
        ));
    }
    if addr.port() == 0 {
        return Err(format!("invalid multicast group \"{s}\": port 0"));
    }
    Ok(addr)
}

/// Parses a header `KEY=VALUE` (split at the first `=`, both sides
/// trimmed; the key non-empty and at most [`MAX_TEXT_LEN`] bytes, the value
/// may be empty).
pub fn parse_header(s: &str) -> Result<(&str, &str), String> {
    let (key, value) = s
        .split_once('=')
        .ok_or_else(|| format!("invalid header \"{s}\" (expected KEY=VALUE)"))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(format!("invalid header \"{s}\": empty key (expected KEY=VALUE)"));
    }
    if key.len() > MAX_TEXT_LEN {
        return Err(format!(
            "invalid header \"{s}\": key longer than {MAX_TEXT_LEN} bytes"
        ));
    }
    Ok((key, value.trim()))
}

/// The endpoints a ZeroMQ ROUTER of ours binds, as a message says them.
pub const ACCEPTED_ENDPOINTS: &str = "tcp://HOST:PORT (tcp://*:31337, tcp://127.0.0.1:*) or ipc://PATH";

/// Checks an endpoint to bind a ROUTER on (a gossip server's): `tcp://HOST:PORT`
/// (PORT a number or `*`, HOST an address, `*` or an interface name) or
/// `ipc://PATH`, at most [`MAX_TEXT_LEN`] bytes; returns it trimmed. Other
/// transports (`udp://`, `pgm://`, ...) do not work with a ROUTER socket
/// and are refused with a message that lists what does.
pub fn parse_endpoint(s: &str) -> Result<&str, String> {
    let t = s.trim();
    let expected = || format!("invalid endpoint \"{s}\" (expected {ACCEPTED_ENDPOINTS})");
    let (transport, address) = t.split_once("://").ok_or_else(expected)?;
    if address.is_empty() || address.contains(char::is_whitespace) {
        return Err(expected());
    }
    match transport {
        "tcp" => {
            let (host, port) = address.rsplit_once(':').ok_or_else(expected)?;
            if host.is_empty() || !(port == "*" || parse_port(port).is_ok()) {
                return Err(expected());
            }
        }
        "ipc" => {}
        other => {
            return Err(format!(
                "invalid endpoint \"{s}\": transport {other}:// is not supported (expected {ACCEPTED_ENDPOINTS})"
            ));
        }
    }
    if t.len() > MAX_TEXT_LEN {
        return Err(format!(
            "invalid endpoint \"{s}\": longer than {MAX_TEXT_LEN} bytes"
        ));
    }
    Ok(t)
}

/// Checks a TCP endpoint as peers connect to it, `tcp://HOST:PORT` (port
/// 1-65535, at most [`MAX_TEXT_LEN`] bytes: it travels in HELLO); returns
/// it trimmed.
pub fn parse_tcp_endpoint(s: &str) -> Result<&str, String> {
    let t = s.trim();
    let invalid =
        || format!("invalid endpoint \"{s}\" (expected tcp://HOST:PORT, e.g. tcp://192.0.2.7:41000)");
    let address = t.strip_prefix("tcp://").ok_or_else(invalid)?;
    let (host, port) = address.rsplit_once(':').ok_or_else(invalid)?;
    if host.is_empty() || host.contains(char::is_whitespace) || parse_port(port).is_err() {
        return Err(invalid());
    }
    if t.len() > MAX_TEXT_LEN {
        return Err(format!(
            "invalid endpoint \"{s}\": longer than {MAX_TEXT_LEN} bytes"
        ));
    }
    Ok(t)
}

/// The TCP ports the ZRE endpoint may bind: `0` for any ephemeral port, or
/// `LOW-HIGH` (inclusive, `1 <= LOW <= HIGH`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortRange {
    /// Any free port (libzmq's `tcp://HOST:*`).
    Any,
    /// A port from `low` to `high`, both included.
    Range {
        /// The lowest port.
        low: u16,
        /// The highest port.
        high: u16,
    },
}

impl FromStr for PortRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let invalid =
            || format!("invalid port range \"{s}\" (expected LOW-HIGH, e.g. 41000-41100, or 0 for any)");
        let t = s.trim();
        if t == "0" {
            return Ok(PortRange::Any);
        }
        let (low, high) = t.split_once('-').ok_or_else(invalid)?;
        let low = parse_port(low).map_err(|_| invalid())?;
        let high = parse_port(high).map_err(|_| invalid())?;
        if low > high {
            return Err(format!("invalid port range \"{s}\": {low} is above {high}"));
        }
        Ok(PortRange::Range { low, high })
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortRange::Any => f.write_str("0"),
            PortRange::Range { low, high } => write!(f, "{low}-{high}"),
        }
    }
}

fn check_text(s: &str) -> Result<(), String> {
    if s.len() > MAX_TEXT_LEN {
        return Err(format!("value longer than {MAX_TEXT_LEN} bytes"));
    }
    if s.contains(char::is_control) {
        return Err(format!("value {s:?} contains a control character"));
    }
    Ok(())
}

impl ValueKind {
    /// Checks a value of this kind (already trimmed) as the file loader
    /// does, with the message the loader would give.
    pub fn check(self, v: &str) -> Result<(), String> {
        match self {
            ValueKind::Text => check_text(v),
            ValueKind::Duration => parse_duration(v).map(drop),
            ValueKind::NonZeroDuration => match parse_duration(v)? {
                d if d.is_zero() => Err(format!("duration \"{v}\" must be greater than 0")),
                _ => Ok(()),
            },
            ValueKind::Bool => parse_bool(v).map(drop),
            ValueKind::Port => parse_port(v).map(drop),
            ValueKind::Count => match unsigned::<usize>(v) {
                Some(n) if n > 0 => Ok(()),
                _ => Err(format!(
                    "invalid count \"{v}\" (expected a whole number, at least 1)"
                )),
            },
            ValueKind::HostPort => parse_host_port(v).map(drop),
            ValueKind::GossipServer => parse_gossip_server(v).map(drop),
            ValueKind::MulticastGroup => parse_multicast_group(v).map(drop),
            ValueKind::Header => parse_header(v).map(drop),
            ValueKind::PortRange => v.parse::<PortRange>().map(drop),
            ValueKind::Endpoint => parse_endpoint(v).map(drop),
            ValueKind::TcpEndpoint => parse_tcp_endpoint(v).map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_rounding_and_limits() {
        assert_eq!(parse_duration("1.0000000019"), Ok(Duration::new(1, 1)));
        assert_eq!(parse_duration("0.0000015ms"), Ok(Duration::from_nanos(1)));
        assert_eq!(parse_duration("4294967295"), Ok(MAX_DURATION));
        assert!(parse_duration("4294967295.1").is_err());
        assert_eq!(parse_duration("4294967295000ms"), Ok(MAX_DURATION));
        assert!(parse_duration("4294967295001ms").is_err());
        assert!(parse_duration(&"9".repeat(60)).is_err());
    }

    #[test]
    fn formatted_durations_read_back() {
        let cases = [
            (Duration::ZERO, "0"),
            (Duration::from_secs(30), "30"),
            (Duration::from_millis(500), "500ms"),
            (Duration::from_millis(1500), "1500ms"),
            (Duration::new(2, 1), "2.000000001"),
            (Duration::from_micros(1), "0.000001"),
            (MAX_DURATION, "4294967295"),
        ];
        for (duration, text) in cases {
            assert_eq!(format_duration(duration), text);
            assert_eq!(parse_duration(text), Ok(duration), "{text}");
        }
    }
}
