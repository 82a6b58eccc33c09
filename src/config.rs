//! zre.conf: the INI configuration file shared by the tools.
//!
//! The tools (`zre`, `zrecat`, `zretime`, `zreworker`, `zgossip_server`) and
//! any application built on this library take their settings from, in
//! decreasing precedence:
//!
//! 1. a command-line flag (applied by the caller with [`Settings::set`]),
//! 2. the `ZRENAME` environment variable (for `name` only),
//! 3. the applet's own section of the file (`[zrecat]`, ...),
//! 4. the `[zre]` section of the file,
//! 5. the built-in default (see [`KeySpec::default`]; [`Settings`] only holds
//!    what was actually set, so the caller applies the default last).
//!
//! The file is the one named by `ZRECFG` (an error if it cannot be read),
//! else `/etc/zre.conf` if it exists, else `~/.zre.conf` if it exists; only
//! the first one found is read. See [`Sources`].
//!
//! # Format
//!
//! ```ini
//! [zre]
//! name = exampleZREApp
//! gossip = kvm-nixos:31337
//! expired = 30  # seconds
//!
//! [zrecat]
//! wait = 500ms
//! ```
//!
//! - `key = value`, whitespace around both trimmed. Keys are the long option
//!   names of the tools ([`NODE_KEYS`], [`applet_keys`]); the original
//!   Haskell zre's `quiet-period`, `dead-period` and `beacon-period` are
//!   accepted as aliases ([`ALIASES`]) and stored under the canonical name.
//! - Comments: a line whose first non-blank character is `#` or `;`, and
//!   the rest of a line from a `#` or `;` that follows whitespace. (So a
//!   value cannot contain ` #` or ` ;`.)
//! - An empty value (`interface =`) means unset, exactly as if the line were
//!   absent.
//! - `[zre]` applies to every applet; an applet section overrides it for
//!   that applet. Applet-only keys may appear in `[zre]` (they apply to the
//!   applet that knows them) or in their applet's section, not in another
//!   applet's section.
//! - `gossip`, `header` and `bind` may be repeated: the values of one section
//!   accumulate, in order; if an applet section sets one, its list replaces
//!   the `[zre]` list. Any other key given twice in one section is an error.
//! - Values are checked when the file is loaded, so a bad value fails
//!   early with `path:LINE: key 'KEY': message`. Nothing is silently ignored.
//! - Durations are seconds (`5`, `0.5`) or carry a unit (`500ms`, `2s`);
//!   booleans are `true/false`, `yes/no`, `on/off`, `1/0`, in any case.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// The applets, which are also the section names of the file. `zre` is both
/// an applet and the section that applies to every applet.
pub const APPLETS: &[&str] = &["zre", "zrecat", "zretime", "zreworker", "zgossip_server"];

/// The section whose keys apply to every applet.
pub const COMMON_SECTION: &str = "zre";

/// The node options: valid in every section, used by every applet.
pub const NODE_KEYS: &[&str] = &[
    "name",
    "interface",
    "gossip",
    "beacon-port",
    "beacon-interval",
    "evasive",
    "expired",
    "multicast-group",
    "header",
    "json",
    "verbose",
    "port-range",
    "endpoint",
    "max-peers",
    "beacon",
];

/// The keys of `[zrecat]` beyond the node options.
pub const ZRECAT_KEYS: &[&str] = &["wait", "raw"];
/// The keys of `[zretime]` beyond the node options.
pub const ZRETIME_KEYS: &[&str] = &["group", "interval"];
/// The keys of `[zgossip_server]` beyond the node options.
pub const ZGOSSIP_SERVER_KEYS: &[&str] = &["bind", "client-timeout", "tuple-ttl"];

/// Keys that may be given several times; their values accumulate.
pub const REPEATABLE_KEYS: &[&str] = &["gossip", "header", "bind"];

/// `(alias, canonical key)`: the names used by the original Haskell zre.
pub const ALIASES: &[(&str, &str)] = &[
    ("quiet-period", "evasive"),
    ("dead-period", "expired"),
    ("beacon-period", "beacon-interval"),
];

/// Where `Sources::from_env` looks first when `ZRECFG` is not set.
pub const ETC_CONFIG_PATH: &str = "/etc/zre.conf";
/// The file name looked for in `$HOME`.
pub const HOME_CONFIG_NAME: &str = ".zre.conf";

/// The largest duration accepted: `u32::MAX` seconds (the range of a
/// ZGossip TTL), far beyond any useful timeout and safe to add to an
/// `Instant`.
pub const MAX_DURATION: Duration = Duration::from_secs(u32::MAX as u64);

/// The longest text value: ZRE sends names, group names, header keys and
/// endpoints as `string`, with a one-byte length.
pub const MAX_TEXT_LEN: usize = 255;

/// The applet's own keys, beyond [`NODE_KEYS`]; `None` for an unknown
/// applet. `zre` and `zreworker` have none.
pub fn applet_keys(applet: &str) -> Option<&'static [&'static str]> {
    match applet {
        "zre" | "zreworker" => Some(&[]),
        "zrecat" => Some(ZRECAT_KEYS),
        "zretime" => Some(ZRETIME_KEYS),
        "zgossip_server" => Some(ZGOSSIP_SERVER_KEYS),
        _ => None,
    }
}

/// Every key the applet reads: [`NODE_KEYS`] then its own keys; `None` for
/// an unknown applet.
pub fn keys_for(applet: &str) -> Option<Vec<&'static str>> {
    let own = applet_keys(applet)?;
    Some(NODE_KEYS.iter().chain(own).copied().collect())
}

/// The canonical name of a key or alias; `None` if no applet knows it.
pub fn canonical_key(key: &str) -> Option<&'static str> {
    let key = ALIASES
        .iter()
        .find(|(alias, _)| *alias == key)
        .map_or(key, |(_, canon)| canon);
    KEYS.iter().find(|spec| spec.key == key).map(|spec| spec.key)
}

/// Whether the key (or alias) may be given several times.
pub fn is_repeatable(key: &str) -> bool {
    key_spec(key).is_some_and(|spec| spec.repeatable)
}

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
    /// A multicast `IP:PORT` (see [`parse_multicast_group`]).
    MulticastGroup,
    /// `KEY=VALUE` (see [`parse_header`]).
    Header,
    /// `LOW-HIGH` or `0` (see [`PortRange`]).
    PortRange,
    /// A ZeroMQ endpoint `transport://address` (see [`parse_endpoint`]).
    Endpoint,
}

/// The description of one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpec {
    /// The canonical name, which is also the tools' long option name.
    pub key: &'static str,
    /// `None` for a node option (every applet), else the one applet using it.
    pub applet: Option<&'static str>,
    pub kind: ValueKind,
    pub repeatable: bool,
    /// The built-in default as it would be written in the file; `None` when
    /// there is none or it is computed (`name`: the first 6 hex characters
    /// of the node UUID; `interface`: chosen automatically).
    pub default: Option<&'static str>,
    /// One line for `--help` and the example file.
    pub help: &'static str,
}

const fn node(
    key: &'static str,
    kind: ValueKind,
    default: Option<&'static str>,
    help: &'static str,
) -> KeySpec {
    KeySpec {
        key,
        applet: None,
        kind,
        repeatable: false,
        default,
        help,
    }
}

const fn own(
    applet: &'static str,
    key: &'static str,
    kind: ValueKind,
    default: Option<&'static str>,
    help: &'static str,
) -> KeySpec {
    KeySpec {
        key,
        applet: Some(applet),
        kind,
        repeatable: false,
        default,
        help,
    }
}

const fn repeatable(spec: KeySpec) -> KeySpec {
    KeySpec {
        repeatable: true,
        ..spec
    }
}

/// Every key, node options first, then the applets' keys.
#[rustfmt::skip]
pub const KEYS: &[KeySpec] = &[
    node("name", ValueKind::Text, None, "node name (default: first 6 hex characters of the UUID)"),
    node("interface", ValueKind::Text, None,
         "network interface (default: first up, non-loopback, with broadcast; lo = loopback)"),
    repeatable(node("gossip", ValueKind::HostPort, None, "ZGossip server HOST:PORT (repeatable)")),
    node("beacon-port", ValueKind::Port, Some("5670"), "UDP port of the beacons"),
    node("beacon-interval", ValueKind::NonZeroDuration, Some("1"), "time between beacons"),
    node("evasive", ValueKind::NonZeroDuration, Some("5"), "silence after which a peer is pinged"),
    node("expired", ValueKind::NonZeroDuration, Some("30"), "silence after which a peer is dropped"),
    node("multicast-group", ValueKind::MulticastGroup, None, "send beacons to this multicast IP:PORT"),
    repeatable(node("header", ValueKind::Header, None, "HELLO header KEY=VALUE (repeatable)")),
    node("json", ValueKind::Bool, Some("false"), "print events as JSON"),
    node("verbose", ValueKind::Bool, Some("false"), "log protocol traffic"),
    node("port-range", ValueKind::PortRange, Some("41000-41100"),
         "TCP ports for the ZRE endpoint, LOW-HIGH or 0 for any"),
    node("endpoint", ValueKind::Endpoint, None, "advertise this endpoint instead of the bound one"),
    node("max-peers", ValueKind::Count, Some("1024"), "most peers tracked at once"),
    node("beacon", ValueKind::Bool, Some("true"), "send and receive UDP beacons (false = gossip only)"),
    own("zrecat", "wait", ValueKind::Duration, Some("10"), "time to wait for peers"),
    own("zrecat", "raw", ValueKind::Bool, Some("false"), "print message bodies only"),
    own("zretime", "group", ValueKind::Text, Some("time"), "group to shout the time to"),
    own("zretime", "interval", ValueKind::NonZeroDuration, Some("1"), "time between shouts"),
    repeatable(own("zgossip_server", "bind", ValueKind::Endpoint, Some("tcp://*:31337"),
                   "endpoint to listen on (repeatable)")),
    own("zgossip_server", "client-timeout", ValueKind::NonZeroDuration, Some("10"),
        "drop clients silent for this long"),
    own("zgossip_server", "tuple-ttl", ValueKind::Duration, Some("0"),
        "TTL of stored tuples (0 = the publisher's TTL)"),
];

/// The description of a key or alias; `None` if no applet knows it.
pub fn key_spec(key: &str) -> Option<&'static KeySpec> {
    let key = canonical_key(key)?;
    KEYS.iter().find(|spec| spec.key == key)
}

/// The built-in default of a key, as written in the file (see
/// [`KeySpec::default`]).
pub fn default_of(key: &str) -> Option<&'static str> {
    key_spec(key).and_then(|spec| spec.default)
}

fn applies_to(spec: &KeySpec, applet: &str) -> bool {
    spec.applet.is_none_or(|own| own == applet)
}

// ---------------------------------------------------------------------------
// Value parsers, shared with the command-line parsing.

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

/// Parses a boolean: `true/false`, `yes/no`, `on/off`, `1/0`, in any case.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(format!(
            "invalid boolean \"{s}\" (expected true/false, yes/no, on/off or 1/0)"
        )),
    }
}

fn parse_port(s: &str) -> Result<u16, String> {
    match s.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
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

/// Parses a multicast group `IP:PORT` (IPv6 in brackets: `[ff02::1]:5670`).
pub fn parse_multicast_group(s: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = s
        .trim()
        .parse()
        .map_err(|_| format!("invalid multicast group \"{s}\" (expected IP:PORT, e.g. 239.0.0.1:5670)"))?;
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

/// Checks a ZeroMQ endpoint `transport://address`, e.g. `tcp://*:31337`
/// or `tcp://192.168.1.2:41000`, and returns it trimmed.
pub fn parse_endpoint(s: &str) -> Result<&str, String> {
    let t = s.trim();
    let invalid = || format!("invalid endpoint \"{s}\" (expected transport://address, e.g. tcp://*:31337)");
    let (transport, address) = t.split_once("://").ok_or_else(invalid)?;
    if transport.is_empty()
        || !transport.bytes().all(|b| b.is_ascii_alphanumeric())
        || address.is_empty()
        || address.contains(char::is_whitespace)
    {
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
    Any,
    Range { low: u16, high: u16 },
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

/// Checks a value for a key (or alias) as the file loader does; the
/// command-line parsing can use it to reject the same values with the same
/// messages. The value is trimmed first.
pub fn check_value(key: &str, value: &str) -> Result<(), String> {
    let spec = key_spec(key).ok_or_else(|| format!("unknown key '{key}'"))?;
    check_kind(spec.kind, value.trim())
}

fn check_kind(kind: ValueKind, v: &str) -> Result<(), String> {
    match kind {
        ValueKind::Text => check_text(v),
        ValueKind::Duration => parse_duration(v).map(drop),
        ValueKind::NonZeroDuration => match parse_duration(v)? {
            d if d.is_zero() => Err(format!("duration \"{v}\" must be greater than 0")),
            _ => Ok(()),
        },
        ValueKind::Bool => parse_bool(v).map(drop),
        ValueKind::Port => parse_port(v).map(drop),
        ValueKind::Count => match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(()),
            _ => Err(format!(
                "invalid count \"{v}\" (expected a whole number, at least 1)"
            )),
        },
        ValueKind::HostPort => parse_host_port(v).map(drop),
        ValueKind::MulticastGroup => parse_multicast_group(v).map(drop),
        ValueKind::Header => parse_header(v).map(drop),
        ValueKind::PortRange => v.parse::<PortRange>().map(drop),
        ValueKind::Endpoint => parse_endpoint(v).map(drop),
    }
}

// ---------------------------------------------------------------------------
// Origins and errors.

/// Where a setting came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A line of a configuration file (lines count from 1).
    File { path: PathBuf, line: usize },
    /// An environment variable, such as `ZRENAME`.
    Env(&'static str),
    /// A command-line flag.
    CommandLine,
}

impl Origin {
    /// The file, for a setting read from a file.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Origin::File { path, .. } => Some(path),
            _ => None,
        }
    }

    /// The line number, for a setting read from a file.
    pub fn line(&self) -> Option<usize> {
        match self {
            Origin::File { line, .. } => Some(*line),
            _ => None,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line } => write!(f, "{}:{line}", path.display()),
            Origin::Env(var) => f.write_str(var),
            Origin::CommandLine => f.write_str("command line"),
        }
    }
}

/// What went wrong, for callers that react to it (the message says it to
/// people).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be read (missing `ZRECFG` file, permissions...).
    Io,
    /// The file is not UTF-8.
    Encoding,
    /// A line that is neither `[section]` nor `key = value`.
    Malformed,
    /// A `key = value` line before any `[section]`.
    OutsideSection,
    /// A `[section]` that is not one of [`APPLETS`].
    UnknownSection,
    /// A key no applet knows.
    UnknownKey,
    /// An applet-only key in another applet's section (or set for an applet
    /// that does not use it).
    WrongSection,
    /// A non-repeatable key given twice in one section.
    DuplicateKey,
    /// A value of the wrong form.
    InvalidValue,
    /// An applet name that is not one of [`APPLETS`] (a programming error).
    UnknownApplet,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Location {
    Nowhere,
    Path(PathBuf),
    At(Origin),
}

/// A configuration error. Its `Display` is one line:
/// `path:LINE: key 'KEY': message` (or `ZRENAME: ...`, `command line: ...`,
/// `path: message` for a file that cannot be read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    kind: ErrorKind,
    location: Location,
    key: Option<String>,
    message: String,
}

impl ConfigError {
    fn new(kind: ErrorKind, location: Location, key: Option<&str>, message: impl Into<String>) -> Self {
        ConfigError {
            kind,
            location,
            key: key.map(str::to_owned),
            message: message.into(),
        }
    }

    fn at(kind: ErrorKind, origin: Origin, key: Option<&str>, message: impl Into<String>) -> Self {
        Self::new(kind, Location::At(origin), key, message)
    }

    fn at_line(
        kind: ErrorKind,
        path: &Path,
        line: usize,
        key: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Self::at(
            kind,
            Origin::File {
                path: path.to_path_buf(),
                line,
            },
            key,
            message,
        )
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The file concerned, if any.
    pub fn path(&self) -> Option<&Path> {
        match &self.location {
            Location::Path(path) => Some(path),
            Location::At(origin) => origin.path(),
            Location::Nowhere => None,
        }
    }

    /// The line of the file, if the error is about one line.
    pub fn line(&self) -> Option<usize> {
        match &self.location {
            Location::At(origin) => origin.line(),
            _ => None,
        }
    }

    /// Where the faulty setting came from, if the error is about one.
    pub fn origin(&self) -> Option<&Origin> {
        match &self.location {
            Location::At(origin) => Some(origin),
            _ => None,
        }
    }

    /// The key as written, if the error is about one.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The message without the location and key.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Location::Nowhere => {}
            Location::Path(path) => write!(f, "{}: ", path.display())?,
            Location::At(origin) => write!(f, "{origin}: ")?,
        }
        if let Some(key) = &self.key {
            write!(f, "key '{key}': ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

// ---------------------------------------------------------------------------
// Where the file comes from.

/// The environment the configuration is looked up in. [`Sources::from_env`]
/// reads the real one; tests build their own (`Sources::default()` is: no
/// file, no `ZRENAME`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    /// `ZRECFG`: the file to read; an error if it cannot be read.
    pub zrecfg: Option<PathBuf>,
    /// `ZRENAME`: overrides `name`. Empty means unset.
    pub zrename: Option<String>,
    /// `HOME`: `$HOME/.zre.conf` is tried after the system file.
    pub home: Option<PathBuf>,
    /// The system file, normally [`ETC_CONFIG_PATH`]; tried first.
    pub etc_path: Option<PathBuf>,
}

impl Sources {
    /// The real environment: `ZRECFG`, `ZRENAME`, `HOME` (each ignored when
    /// empty) and `/etc/zre.conf`. A `ZRENAME` that is not UTF-8 is
    /// converted lossily.
    pub fn from_env() -> Sources {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        Sources {
            zrecfg: var("ZRECFG").map(PathBuf::from),
            zrename: var("ZRENAME").map(|v| v.to_string_lossy().into_owned()),
            home: var("HOME").map(PathBuf::from),
            etc_path: Some(PathBuf::from(ETC_CONFIG_PATH)),
        }
    }

    /// The file to read: `zrecfg` if set (whether or not it exists), else
    /// the first of `etc_path`, `home/.zre.conf` that exists, else `None`.
    /// A candidate whose existence cannot be checked (other than "not
    /// found") is an error rather than silently skipped.
    pub fn config_file(&self) -> Result<Option<PathBuf>, ConfigError> {
        if let Some(path) = &self.zrecfg {
            return Ok(Some(path.clone()));
        }
        let home = self.home.as_ref().map(|home| home.join(HOME_CONFIG_NAME));
        for candidate in self.etc_path.iter().chain(home.iter()) {
            match std::fs::metadata(candidate) {
                Ok(_) => return Ok(Some(candidate.clone())),
                Err(e) if e.kind() == io::ErrorKind::NotFound || e.kind() == io::ErrorKind::NotADirectory => {
                }
                Err(e) => {
                    return Err(ConfigError::new(
                        ErrorKind::Io,
                        Location::Path(candidate.clone()),
                        None,
                        format!("cannot access config file: {e}"),
                    ));
                }
            }
        }
        Ok(None)
    }
}

// ---------------------------------------------------------------------------
// The merged settings.

#[derive(Clone, Debug, PartialEq, Eq)]
struct Value {
    text: String,
    origin: Origin,
}

type Section = BTreeMap<&'static str, Vec<Value>>;

/// The settings of one applet, merged from the file's `[zre]` section, its
/// applet section and `ZRENAME` (and the command line, through
/// [`Settings::set`]). Holds only what was set: defaults are applied by the
/// caller ([`default_of`]). Keys are canonical; the getters also accept
/// aliases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    applet: &'static str,
    file: Option<PathBuf>,
    values: BTreeMap<&'static str, Vec<Value>>,
}

fn known_applet(applet: &str) -> Result<&'static str, ConfigError> {
    APPLETS.iter().copied().find(|a| *a == applet).ok_or_else(|| {
        ConfigError::new(
            ErrorKind::UnknownApplet,
            Location::Nowhere,
            None,
            format!(
                "unknown applet '{applet}' (expected one of {})",
                APPLETS.join(", ")
            ),
        )
    })
}

/// Cuts a comment off a line: from a `#` or `;` that starts the line (after
/// blanks) or follows whitespace.
fn strip_comment(line: &str) -> &str {
    let mut previous_blank = true;
    for (i, c) in line.char_indices() {
        if (c == '#' || c == ';') && previous_blank {
            return &line[..i];
        }
        previous_blank = c.is_whitespace();
    }
    line
}

impl Settings {
    /// No settings at all (everything default), for `applet`.
    pub fn new(applet: &str) -> Result<Settings, ConfigError> {
        Ok(Settings {
            applet: known_applet(applet)?,
            file: None,
            values: BTreeMap::new(),
        })
    }

    /// Loads the settings of `applet` from the real environment (see
    /// [`Sources::from_env`]).
    pub fn load(applet: &str) -> Result<Settings, ConfigError> {
        Self::load_with(applet, &Sources::from_env())
    }

    /// Loads the settings of `applet` from the file chosen by `sources`
    /// ([`Sources::config_file`]), then applies `ZRENAME`.
    pub fn load_with(applet: &str, sources: &Sources) -> Result<Settings, ConfigError> {
        let mut settings = Settings::new(applet)?;
        if let Some(path) = sources.config_file()? {
            settings = Self::read(&path, applet, sources.zrecfg.is_some())?;
        }
        if let Some(name) = sources.zrename.as_deref().filter(|n| !n.is_empty()) {
            settings.set("name", name, Origin::Env("ZRENAME"))?;
        }
        Ok(settings)
    }

    /// Reads and parses one file, with no environment.
    pub fn load_file(path: &Path, applet: &str) -> Result<Settings, ConfigError> {
        Self::read(path, applet, false)
    }

    fn read(path: &Path, applet: &str, from_zrecfg: bool) -> Result<Settings, ConfigError> {
        known_applet(applet)?;
        let bytes = std::fs::read(path).map_err(|e| {
            let named = if from_zrecfg { " (named by ZRECFG)" } else { "" };
            ConfigError::new(
                ErrorKind::Io,
                Location::Path(path.to_path_buf()),
                None,
                format!("cannot read config file{named}: {e}"),
            )
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = 1 + valid.iter().filter(|b| **b == b'\n').count();
            ConfigError::at_line(ErrorKind::Encoding, path, line, None, "not valid UTF-8")
        })?;
        Self::parse(&text, path, applet)
    }

    /// Parses the text of a file named `path` (used in messages and
    /// origins) for `applet`, with no environment. Every section is
    /// checked, not only those `applet` reads.
    pub fn parse(text: &str, path: &Path, applet: &str) -> Result<Settings, ConfigError> {
        let applet = known_applet(applet)?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut sections: BTreeMap<&'static str, Section> = BTreeMap::new();
        let mut current: Option<&'static str> = None;
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = strip_comment(raw).trim();
            if line.is_empty() {
                continue;
            }
            if let Some(header) = line.strip_prefix('[') {
                let name = header.strip_suffix(']').map(str::trim).ok_or_else(|| {
                    ConfigError::at_line(
                        ErrorKind::Malformed,
                        path,
                        line_no,
                        None,
                        format!("malformed section header \"{line}\" (expected [name])"),
                    )
                })?;
                let section = APPLETS.iter().copied().find(|a| *a == name).ok_or_else(|| {
                    ConfigError::at_line(
                        ErrorKind::UnknownSection,
                        path,
                        line_no,
                        None,
                        format!(
                            "unknown section [{name}] (expected one of [{}])",
                            APPLETS.join("], [")
                        ),
                    )
                })?;
                current = Some(section);
                sections.entry(section).or_default();
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(ConfigError::at_line(
                    ErrorKind::Malformed,
                    path,
                    line_no,
                    None,
                    format!("malformed line \"{line}\" (expected key = value or [section])"),
                ));
            };
            let (key, value) = (key.trim(), value.trim());
            if key.is_empty() {
                return Err(ConfigError::at_line(
                    ErrorKind::Malformed,
                    path,
                    line_no,
                    None,
                    format!("malformed line \"{line}\": no key before '='"),
                ));
            }
            let error = |kind, message: String| ConfigError::at_line(kind, path, line_no, Some(key), message);
            let Some(section) = current else {
                return Err(error(
                    ErrorKind::OutsideSection,
                    "key outside any section (start the file with [zre])".into(),
                ));
            };
            let Some(spec) = key_spec(key) else {
                return Err(error(ErrorKind::UnknownKey, "unknown key".into()));
            };
            if section != COMMON_SECTION && !applies_to(spec, section) {
                let owner = spec.applet.unwrap_or(COMMON_SECTION);
                return Err(error(
                    ErrorKind::WrongSection,
                    format!("not a key of [{section}] (it belongs in [{owner}] or [zre])"),
                ));
            }
            if value.is_empty() {
                continue;
            }
            check_kind(spec.kind, value).map_err(|m| error(ErrorKind::InvalidValue, m))?;
            let values = sections.entry(section).or_default().entry(spec.key).or_default();
            if let (false, Some(first)) = (spec.repeatable, values.first()) {
                let at = first
                    .origin
                    .line()
                    .map_or(String::new(), |l| format!(" at line {l}"));
                return Err(error(
                    ErrorKind::DuplicateKey,
                    format!("duplicate key ('{}' already set{at} in [{section}])", spec.key),
                ));
            }
            values.push(Value {
                text: value.to_owned(),
                origin: Origin::File {
                    path: path.to_path_buf(),
                    line: line_no,
                },
            });
        }
        let mut values: BTreeMap<&'static str, Vec<Value>> = BTreeMap::new();
        if let Some(common) = sections.remove(COMMON_SECTION) {
            values.extend(
                common
                    .into_iter()
                    .filter(|(key, _)| key_spec(key).is_some_and(|s| applies_to(s, applet))),
            );
        }
        if let Some(own) = sections.remove(applet) {
            values.extend(own);
        }
        Ok(Settings {
            applet,
            file: Some(path.to_path_buf()),
            values,
        })
    }

    /// Sets a key (or alias) to one value, replacing what the file said;
    /// for command-line flags (`Origin::CommandLine`). An empty value
    /// unsets the key. The value is checked like the file's.
    pub fn set(&mut self, key: &str, value: &str, origin: Origin) -> Result<(), ConfigError> {
        self.set_all(key, [value], origin)
    }

    /// Replaces the whole list of a key (or alias), as a repeatable flag
    /// would; empty values are skipped, and an empty list unsets the key.
    /// More than one value for a non-repeatable key is an error.
    pub fn set_all<I, S>(&mut self, key: &str, values: I, origin: Origin) -> Result<(), ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let error = |kind, message: String| ConfigError::at(kind, origin.clone(), Some(key), message);
        let spec = key_spec(key).ok_or_else(|| error(ErrorKind::UnknownKey, "unknown key".into()))?;
        if !applies_to(spec, self.applet) {
            return Err(error(
                ErrorKind::WrongSection,
                format!("not a setting of {}", self.applet),
            ));
        }
        let mut list = Vec::new();
        for value in values {
            let value = value.as_ref().trim();
            if value.is_empty() {
                continue;
            }
            check_kind(spec.kind, value).map_err(|m| error(ErrorKind::InvalidValue, m))?;
            list.push(Value {
                text: value.to_owned(),
                origin: origin.clone(),
            });
        }
        if !spec.repeatable && list.len() > 1 {
            return Err(error(ErrorKind::DuplicateKey, "given more than once".into()));
        }
        if list.is_empty() {
            self.values.remove(spec.key);
        } else {
            self.values.insert(spec.key, list);
        }
        Ok(())
    }

    /// Unsets a key (or alias), so that its default applies.
    pub fn unset(&mut self, key: &str) {
        if let Some(key) = canonical_key(key) {
            self.values.remove(key);
        }
    }

    /// The applet these settings are for.
    pub fn applet(&self) -> &str {
        self.applet
    }

    /// The file the settings were read from, if any.
    pub fn source_file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    fn entries(&self, key: &str) -> &[Value] {
        canonical_key(key)
            .and_then(|key| self.values.get(key))
            .map_or(&[], Vec::as_slice)
    }

    /// The value of a key (or alias): the last one for a repeatable key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries(key).last().map(|v| v.text.as_str())
    }

    /// All values of a key, in order (one at most for a non-repeatable key).
    pub fn get_all(&self, key: &str) -> Vec<&str> {
        self.entries(key).iter().map(|v| v.text.as_str()).collect()
    }

    /// Where the value returned by [`get`](Self::get) came from.
    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.entries(key).last().map(|v| &v.origin)
    }

    /// Every value of a key with its origin, in order.
    pub fn get_all_with_origin(&self, key: &str) -> Vec<(&str, &Origin)> {
        self.entries(key)
            .iter()
            .map(|v| (v.text.as_str(), &v.origin))
            .collect()
    }

    /// Whether the key (or alias) is set.
    pub fn is_set(&self, key: &str) -> bool {
        !self.entries(key).is_empty()
    }

    /// The canonical keys that are set, in alphabetical order.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.values.keys().copied()
    }

    /// A duration key's value; `None` if unset (or not a duration).
    pub fn duration(&self, key: &str) -> Option<Duration> {
        self.get(key).and_then(|v| parse_duration(v).ok())
    }

    /// A boolean key's value; `None` if unset (or not a boolean).
    pub fn bool(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(|v| parse_bool(v).ok())
    }

    /// The value parsed as `T`; an error names the origin and the key.
    pub fn parsed<T>(&self, key: &str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.entries(key)
            .last()
            .map(|v| Self::parse_value(key, v))
            .transpose()
    }

    /// Every value parsed as `T`, in order; an error names the origin of
    /// the bad value and the key.
    pub fn parsed_all<T>(&self, key: &str) -> Result<Vec<T>, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.entries(key)
            .iter()
            .map(|v| Self::parse_value(key, v))
            .collect()
    }

    fn parse_value<T>(key: &str, value: &Value) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        value.text.parse::<T>().map_err(|e| {
            ConfigError::at(
                ErrorKind::InvalidValue,
                value.origin.clone(),
                Some(key),
                format!("invalid value \"{}\": {e}", value.text),
            )
        })
    }

    /// The `header` values as `(key, value)` pairs, in order.
    pub fn headers(&self) -> Vec<(&str, &str)> {
        self.get_all("header")
            .into_iter()
            .filter_map(|h| parse_header(h).ok())
            .collect()
    }
}

/// One `key = value  # origin` line per value: what `--show-config`
/// prints.
impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (key, values) in &self.values {
            for value in values {
                writeln!(f, "{key} = {}  # {}", value.text, value.origin)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_tables_agree_with_the_specs() {
        let node: Vec<&str> = KEYS
            .iter()
            .filter(|s| s.applet.is_none())
            .map(|s| s.key)
            .collect();
        assert_eq!(node, NODE_KEYS);
        for applet in APPLETS {
            let own: Vec<&str> = KEYS
                .iter()
                .filter(|s| s.applet == Some(applet))
                .map(|s| s.key)
                .collect();
            assert_eq!(Some(own.as_slice()), applet_keys(applet), "{applet}");
        }
        let repeatable: Vec<&str> = KEYS.iter().filter(|s| s.repeatable).map(|s| s.key).collect();
        assert_eq!(repeatable, REPEATABLE_KEYS);
        for (alias, canonical) in ALIASES {
            assert_eq!(canonical_key(alias), Some(*canonical));
            assert!(canonical_key(canonical).is_some());
        }
        assert_eq!(applet_keys("nope"), None);
    }

    #[test]
    fn every_default_is_a_valid_value() {
        for spec in KEYS {
            if let Some(default) = spec.default {
                assert_eq!(check_kind(spec.kind, default), Ok(()), "{}", spec.key);
            }
        }
    }

    #[test]
    fn comments_need_whitespace_before_them() {
        assert_eq!(strip_comment("# all"), "");
        assert_eq!(strip_comment("  ; all"), "  ");
        assert_eq!(strip_comment("a = 30  # seconds"), "a = 30  ");
        assert_eq!(strip_comment("a = b\t;c"), "a = b\t");
        assert_eq!(strip_comment("a = b#c;d"), "a = b#c;d");
        assert_eq!(strip_comment("a = #"), "a = ");
    }

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
}
