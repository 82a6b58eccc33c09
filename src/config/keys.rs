//! The keys: the node options every program reads ([`NODE_KEYS`]), their
//! aliases, and the [`Schema`] through which a program adds its own
//! sections and keys (the zre tools add one section per applet).

use super::error::{ConfigError, ErrorKind, Location};
use super::values::{PortRange, ValueKind, format_duration};
use crate::defaults;
use std::fmt;
use std::time::Duration;

/// A key's built-in default: what applies when no file, environment
/// variable or flag sets it. The node options' defaults are the constants
/// of [`crate::defaults`], which [`NodeBuilder`](crate::NodeBuilder) uses.
#[derive(Clone, Copy, Debug)]
pub enum DefaultValue {
    /// No default, or one computed when the node starts (`name`: the first
    /// 6 hex digits of the UUID; `interface`: chosen automatically).
    Unset,
    /// Text, as written in the file.
    Text(&'static str),
    /// A boolean, written `true` or `false`.
    Bool(bool),
    /// A port or a count.
    Number(u64),
    /// A duration, written as [`format_duration`] does.
    Duration(Duration),
    /// A port range, written `LOW-HIGH` or `0`.
    PortRange(PortRange),
    /// A value only known at run time, e.g. from a `Default` impl.
    Computed(fn() -> DefaultValue),
}

impl DefaultValue {
    /// The default as it would be written in the file; `None` for
    /// [`DefaultValue::Unset`].
    pub fn to_text(self) -> Option<String> {
        match self {
            DefaultValue::Unset => None,
            DefaultValue::Text(text) => Some(text.to_owned()),
            DefaultValue::Bool(value) => Some(value.to_string()),
            DefaultValue::Number(value) => Some(value.to_string()),
            DefaultValue::Duration(value) => Some(format_duration(value)),
            DefaultValue::PortRange(range) => Some(range.to_string()),
            DefaultValue::Computed(compute) => compute().to_text(),
        }
    }
}

/// The description of one key.
#[derive(Clone, Copy, Debug)]
pub struct KeySpec {
    /// The canonical name, which is also the tools' long option name.
    pub key: &'static str,
    /// What its value must look like.
    pub kind: ValueKind,
    /// Whether it may be given several times (its values accumulate).
    pub repeatable: bool,
    /// The built-in default.
    pub default: DefaultValue,
    /// One line for `--help` and the example file.
    pub help: &'static str,
}

impl KeySpec {
    /// A key given at most once.
    pub const fn new(
        key: &'static str,
        kind: ValueKind,
        default: DefaultValue,
        help: &'static str,
    ) -> KeySpec {
        KeySpec {
            key,
            kind,
            repeatable: false,
            default,
            help,
        }
    }

    /// The same key, repeatable.
    pub const fn repeatable(self) -> KeySpec {
        KeySpec {
            repeatable: true,
            ..self
        }
    }
}

/// The key's name, as written in the file.
impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key)
    }
}

/// The node options: valid in every section, read by every program that
/// starts a node from the file. Their defaults are [`crate::defaults`].
#[rustfmt::skip]
pub const NODE_KEYS: &[KeySpec] = {
    use DefaultValue as D;
    use ValueKind as V;
    let range = PortRange::Range {
        low: *defaults::DEFAULT_PORT_RANGE.start(),
        high: *defaults::DEFAULT_PORT_RANGE.end(),
    };
    &[
        KeySpec::new("name", V::Text, D::Unset, "node name (default: first 6 hex characters of the UUID)"),
        KeySpec::new("interface", V::Text, D::Unset,
            "network interface (default: first up, non-loopback, with broadcast; lo = loopback)"),
        KeySpec::new("gossip", V::GossipServer, D::Unset,
            "ZGossip server HOST:PORT, or HOST:PORT|KEY for CURVE to it (repeatable)").repeatable(),
        KeySpec::new("beacon-port", V::Port, D::Number(defaults::DEFAULT_BEACON_PORT as u64),
            "UDP port of the beacons"),
        KeySpec::new("beacon-interval", V::NonZeroDuration, D::Duration(defaults::BEACON_INTERVAL),
            "time between beacons"),
        KeySpec::new("evasive", V::NonZeroDuration, D::Duration(defaults::EVASIVE_TIMEOUT),
            "silence after which a peer is pinged"),
        KeySpec::new("expired", V::NonZeroDuration, D::Duration(defaults::EXPIRED_TIMEOUT),
            "silence after which a peer is dropped"),
        KeySpec::new("multicast-group", V::MulticastGroup, D::Unset, "send beacons to this multicast IP:PORT"),
        KeySpec::new("listen-multicast", V::Bool, D::Bool(true),
            "also hear beacons sent to 225.25.25.25 on the beacon port (haskell-zre's)"),
        KeySpec::new("header", V::Header, D::Unset, "HELLO header KEY=VALUE (repeatable)").repeatable(),
        KeySpec::new("json", V::Bool, D::Bool(false), "print events as JSON"),
        KeySpec::new("verbose", V::Bool, D::Bool(false), "log protocol traffic"),
        KeySpec::new("port-range", V::PortRange, D::PortRange(range),
            "TCP ports for the ZRE endpoint, LOW-HIGH or 0 for any"),
        KeySpec::new("endpoint", V::TcpEndpoint, D::Unset, "advertise this endpoint instead of the bound one"),
        KeySpec::new("max-peers", V::Count, D::Number(defaults::MAX_PEERS as u64), "most peers tracked at once"),
        KeySpec::new("beacon", V::Bool, D::Bool(true), "send and receive UDP beacons (false = gossip only)"),
        // Issue 18: IPv6 mode (unset: ZSYS_IPV6 from the environment decides).
        KeySpec::new("ipv6", V::Bool, D::Bool(false), "IPv6 mode, as Zyre's ZSYS_IPV6=1"),
        // Issue 28: peers beyond the broadcast domain.
        KeySpec::new("peer", V::GossipServer, D::Unset,
            "seed peer HOST:PORT (a name: every address it resolves to), HOST:PORT|KEY in CURVE mode (repeatable)").repeatable(),
        KeySpec::new("gossip-bind", V::Endpoint, D::Unset,
            "be a ZGossip server too, listening on this endpoint (tcp://*:31337)"),
        KeySpec::new("contest", V::Text, D::Unset,
            "contest the leadership of this group (repeatable; the node must also join it)").repeatable(),
        KeySpec::new("fast-exit", V::Bool, D::Bool(true),
            "EXIT a peer at once when its inbox port refuses a reconnect (false = wait for expired)"),
        // Issue 19: CURVE mode.
        KeySpec::new("curve-cert", V::Text, D::Unset,
            "CURVE mode with this secret certificate (czmq zcert format, the PATH_secret file)"),
        KeySpec::new("curve-allow", V::Text, D::Unset,
            "CURVE mode: only peers with a public certificate in this directory may connect"),
        KeySpec::new("quiet-ping-rate", V::Duration, D::Unset,
            "the original Haskell zre's ping interval; read, but pings follow Zyre (once a second)"),
    ]
};

/// `(alias, canonical key)`: the names used by the original Haskell zre
/// (its `Network.ZRE.Options`), whose durations are seconds as ours are.
pub const ALIASES: &[(&str, &str)] = &[
    ("quiet-period", "evasive"),
    ("dead-period", "expired"),
    ("beacon-period", "beacon-interval"),
    ("debug", "verbose"),
];

/// A program's own section of the file, with the keys only it reads
/// (beyond [`NODE_KEYS`]).
#[derive(Clone, Copy, Debug)]
pub struct Applet {
    /// The section name, also the name the program is known by.
    pub name: &'static str,
    /// Its own keys.
    pub keys: &'static [KeySpec],
}

/// The sections a file may have, given by the programs that read it: a
/// common section whose keys apply to every applet, and one section per
/// applet. Every section is checked whichever applet loads the file, so
/// one file serves them all. The zre tools' schema has the common section
/// `[zre]` and the sections `[zre]`, `[zrecat]`, `[zretime]`,
/// `[zreworker]`, `[zgossip_server]`.
#[derive(Clone, Copy, Debug)]
pub struct Schema {
    /// The section that applies to every applet; it may also be an applet's
    /// own name (`zre` is both).
    pub common_section: &'static str,
    /// The applets, each its own section.
    pub applets: &'static [Applet],
}

impl Schema {
    /// The applet called `name`; an [`ErrorKind::UnknownApplet`] error
    /// otherwise.
    pub fn applet(&self, name: &str) -> Result<&'static Applet, ConfigError> {
        self.applets.iter().find(|a| a.name == name).ok_or_else(|| {
            ConfigError::new(
                ErrorKind::UnknownApplet,
                Location::Nowhere,
                None,
                format!(
                    "unknown applet '{name}' (expected one of {})",
                    self.applet_names().collect::<Vec<_>>().join(", ")
                ),
            )
        })
    }

    /// The applets' names, which are the section names.
    pub fn applet_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.applets.iter().map(|a| a.name)
    }

    /// Whether `name` is a section of the file: the common one or an
    /// applet's.
    pub fn section(&self, name: &str) -> Option<&'static str> {
        if name == self.common_section {
            return Some(self.common_section);
        }
        self.applet_names().find(|a| *a == name)
    }

    /// Every key, node options first, then each applet's.
    pub fn keys(&self) -> impl Iterator<Item = &'static KeySpec> + '_ {
        NODE_KEYS.iter().chain(self.applets.iter().flat_map(|a| a.keys))
    }

    /// The applet's own keys, beyond [`NODE_KEYS`]; `None` for an unknown
    /// applet.
    pub fn applet_keys(&self, applet: &str) -> Option<&'static [KeySpec]> {
        self.applet(applet).ok().map(|a| a.keys)
    }

    /// Every key the applet reads: [`NODE_KEYS`] then its own; `None` for
    /// an unknown applet.
    pub fn keys_for(&self, applet: &str) -> Option<Vec<&'static str>> {
        let own = self.applet_keys(applet)?;
        Some(NODE_KEYS.iter().chain(own).map(|spec| spec.key).collect())
    }

    /// The description of a key or alias, with the applet that owns it
    /// (`None` for a node option); `None` if no applet knows it.
    pub fn key_spec(&self, key: &str) -> Option<(&'static KeySpec, Option<&'static Applet>)> {
        let key = ALIASES
            .iter()
            .find(|(alias, _)| *alias == key)
            .map_or(key, |(_, canonical)| canonical);
        if let Some(spec) = NODE_KEYS.iter().find(|spec| spec.key == key) {
            return Some((spec, None));
        }
        self.applets.iter().find_map(|applet| {
            applet
                .keys
                .iter()
                .find(|spec| spec.key == key)
                .map(|spec| (spec, Some(applet)))
        })
    }

    /// The canonical name of a key or alias; `None` if no applet knows it.
    pub fn canonical_key(&self, key: &str) -> Option<&'static str> {
        self.key_spec(key).map(|(spec, _)| spec.key)
    }

    /// The built-in default of a key (or alias), as written in the file.
    pub fn default_of(&self, key: &str) -> Option<String> {
        self.key_spec(key).and_then(|(spec, _)| spec.default.to_text())
    }

    /// Checks a value for a key (or alias) as the file loader does; a
    /// command line can use it to reject the same values with the same
    /// messages. The value is trimmed first.
    pub fn check_value(&self, key: &str, value: &str) -> Result<(), String> {
        let (spec, _) = self.key_spec(key).ok_or_else(|| format!("unknown key '{key}'"))?;
        spec.kind.check(value.trim())
    }

    /// Whether a key owned by `owner` (`None`: a node option) may be read
    /// by, or written in the section of, `applet`.
    pub(crate) fn applies_to(owner: Option<&Applet>, applet: &str) -> bool {
        owner.is_none_or(|owner| owner.name == applet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: &[KeySpec] = &[KeySpec::new("wait", ValueKind::Duration, DefaultValue::Unset, "")];
    const SCHEMA: Schema = Schema {
        common_section: "all",
        applets: &[
            Applet {
                name: "all",
                keys: &[],
            },
            Applet {
                name: "cat",
                keys: OWN,
            },
        ],
    };

    #[test]
    fn every_default_is_a_valid_value() {
        for spec in NODE_KEYS {
            if let Some(default) = spec.default.to_text() {
                assert_eq!(spec.kind.check(&default), Ok(()), "{}", spec.key);
            }
        }
    }

    #[test]
    fn lookups_know_aliases_and_owners() {
        for (alias, canonical) in ALIASES {
            assert_eq!(SCHEMA.canonical_key(alias), Some(*canonical));
            assert!(SCHEMA.canonical_key(canonical).is_some());
        }
        assert!(
            SCHEMA
                .key_spec("wait")
                .is_some_and(|(_, owner)| owner.is_some_and(|a| a.name == "cat"))
        );
        assert_eq!(SCHEMA.applet_keys("nope").map(<[_]>::len), None);
        assert_eq!(SCHEMA.keys().count(), NODE_KEYS.len() + 1);
        assert_eq!(SCHEMA.section("all"), Some("all"));
        assert_eq!(SCHEMA.section("dog"), None);
        assert_eq!(SCHEMA.default_of("expired").as_deref(), Some("30"));
        assert_eq!(SCHEMA.default_of("port-range").as_deref(), Some("41000-41100"));
        assert_eq!(SCHEMA.default_of("name"), None);
    }
}
