//! The node options: the flags every node applet takes ([`node_args!`]),
//! laid over zre.conf ([`load_settings`]), and the settings turned into a
//! [`NodeBuilder`]. Options left unset keep `NodeBuilder`'s defaults.

use crate::failure::Failure;
use crate::schema::TOOLS;
use std::path::Path;
use std::time::Duration;
use zre::NodeBuilder;
use zre::config::{self, ConfigError, Origin, PortRange, Settings};

/// The node options every node applet takes, borrowed from its argh struct
/// (argh has no flattening, so [`node_args!`] adds the fields to each).
pub struct NodeArgs<'a> {
    pub name: Option<&'a str>,
    pub interface: Option<&'a str>,
    pub gossip: &'a [String],
    pub beacon_port: Option<&'a str>,
    pub beacon_interval: Option<&'a str>,
    pub evasive: Option<&'a str>,
    pub expired: Option<&'a str>,
    pub multicast_group: Option<&'a str>,
    pub header: &'a [String],
    pub port_range: Option<&'a str>,
    pub endpoint: Option<&'a str>,
    pub max_peers: Option<&'a str>,
    pub fast_exit: Option<&'a str>,
    pub contest: &'a [String],
    // Issue 28 (peers beyond the broadcast domain).
    pub peer: &'a [String],
    pub gossip_bind: Option<&'a str>,
    pub no_beacon: bool,
    pub no_listen_multicast: bool,
    pub json: bool,
    pub verbose: bool,
    // Issue 18 (IPv6 mode).
    pub ipv6: bool,
    // Issue 19 (CURVE).
    pub curve_cert: Option<&'a str>,
    pub curve_allow: Option<&'a str>,
}

/// An applet's argh struct made by [`node_args!`].
pub trait HasNodeArgs {
    /// Its node options.
    fn node_args(&self) -> NodeArgs<'_>;
}

/// Declares an applet's argh struct: its own fields, then the node options.
/// Values stay strings here: [`Settings::set`] checks them exactly as it
/// checks the config file, with the same messages.
macro_rules! node_args {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($fields:tt)*
        }
    ) => {
        // The fields pass through as raw tokens: argh must see their types
        // as written (Option<..>, Vec<..>), not as opaque `ty` fragments.
        #[derive(argh::FromArgs)]
        $(#[$meta])*
        // Not argh's bare `help`: it is a fine group name for zrecat.
        #[argh(help_triggers("-h", "--help"))]
        pub struct $name {
            $($fields)*
            /// name announced to peers (default: $ZRENAME, or the first 6 hex digits of the UUID)
            #[argh(option, short = 'n', arg_name = "NAME")]
            pub name: Option<String>,
            /// network interface: a name (eth0), an IPv4 address, or lo for loopback mode
            /// (default: the first broadcast-capable interface that is up)
            #[argh(option, short = 'i', arg_name = "IFACE")]
            pub interface: Option<String>,
            /// ZGossip server HOST:PORT to discover peers through (repeatable); in CURVE
            /// mode HOST:PORT|KEY makes the link to it CURVE (KEY: its public key, Z85)
            #[argh(option, short = 'g', arg_name = "HOST:PORT")]
            pub gossip: Vec<String>,
            /// UDP port of the beacons (default 5670)
            #[argh(option, arg_name = "PORT")]
            pub beacon_port: Option<String>,
            /// time between beacons: seconds (1, 0.5) or 500ms (default 1)
            #[argh(option, arg_name = "DURATION")]
            pub beacon_interval: Option<String>,
            /// silence after which a peer is pinged (default 5)
            #[argh(option, arg_name = "DURATION")]
            pub evasive: Option<String>,
            /// silence after which a peer is dropped (default 30)
            #[argh(option, arg_name = "DURATION")]
            pub expired: Option<String>,
            /// send beacons to this multicast group IP:PORT instead of broadcasting
            #[argh(option, arg_name = "IP:PORT")]
            pub multicast_group: Option<String>,
            /// header sent to peers in HELLO, KEY=VALUE (repeatable)
            #[argh(option, arg_name = "KEY=VALUE")]
            pub header: Vec<String>,
            /// TCP ports for our endpoint, LOW-HIGH, or 0 for any (default 41000-41100)
            #[argh(option, arg_name = "LOW-HIGH")]
            pub port_range: Option<String>,
            /// endpoint advertised to peers instead of the bound one (NAT), tcp://HOST:PORT
            #[argh(option, arg_name = "tcp://HOST:PORT")]
            pub endpoint: Option<String>,
            /// most peers tracked at once (default 1024)
            #[argh(option, arg_name = "N")]
            pub max_peers: Option<String>,
            /// EXIT a peer at once when its inbox port refuses a reconnect, true or
            /// false (default true; false waits for the expired timeout)
            #[argh(option, arg_name = "BOOL")]
            pub fast_exit: Option<String>,
            /// contest the leadership of GROUP (repeatable; the node must also join it)
            #[argh(option, arg_name = "GROUP")]
            pub contest: Vec<String>,
            /// seed peer HOST:PORT to connect to without beacon or gossip (repeatable); a
            /// host name stands for every address it resolves to, looked up every 10 s;
            /// in CURVE mode HOST:PORT|KEY (KEY: its public key, Z85)
            #[argh(option, arg_name = "HOST:PORT")]
            pub peer: Vec<String>,
            /// be a ZGossip server too, as Zyre's zyre_gossip_bind: other nodes -g to it
            /// (e.g. tcp://*:31337)
            #[argh(option, arg_name = "ENDPOINT")]
            pub gossip_bind: Option<String>,
            /// no UDP beacons: discover peers through --gossip or --peer only
            #[argh(switch)]
            pub no_beacon: bool,
            /// hear broadcast beacons only, not also those sent to 225.25.25.25 (haskell-zre's)
            #[argh(switch)]
            pub no_listen_multicast: bool,
            /// print events as JSON, one object per line
            #[argh(switch)]
            pub json: bool,
            /// log protocol traffic (debug level) to stderr
            #[argh(switch, short = 'v')]
            pub verbose: bool,
            /// IPv6 mode, as Zyre's ZSYS_IPV6=1: beacons to ff02::1, endpoints tcp://[addr]:port
            #[argh(switch)]
            pub ipv6: bool,
            /// CURVE mode, as Zyre's zyre_set_zcert: our secret certificate (czmq zcert
            /// format, the PATH_secret file that zre --curve-keygen PATH writes)
            #[argh(option, arg_name = "SECRET_FILE")]
            pub curve_cert: Option<String>,
            /// CURVE mode: only peers whose public certificate is in DIR may connect
            /// (re-read at most once a second, on a handshake)
            #[argh(option, arg_name = "DIR")]
            pub curve_allow: Option<String>,
        }

        impl $crate::options::HasNodeArgs for $name {
            fn node_args(&self) -> $crate::options::NodeArgs<'_> {
                $crate::options::NodeArgs {
                    name: self.name.as_deref(),
                    interface: self.interface.as_deref(),
                    gossip: &self.gossip,
                    beacon_port: self.beacon_port.as_deref(),
                    beacon_interval: self.beacon_interval.as_deref(),
                    evasive: self.evasive.as_deref(),
                    expired: self.expired.as_deref(),
                    multicast_group: self.multicast_group.as_deref(),
                    header: &self.header,
                    port_range: self.port_range.as_deref(),
                    endpoint: self.endpoint.as_deref(),
                    max_peers: self.max_peers.as_deref(),
                    fast_exit: self.fast_exit.as_deref(),
                    contest: &self.contest,
                    peer: &self.peer,
                    gossip_bind: self.gossip_bind.as_deref(),
                    no_beacon: self.no_beacon,
                    no_listen_multicast: self.no_listen_multicast,
                    json: self.json,
                    verbose: self.verbose,
                    ipv6: self.ipv6,
                    curve_cert: self.curve_cert.as_deref(),
                    curve_allow: self.curve_allow.as_deref(),
                }
            }
        }
    };
}
pub(crate) use node_args;

/// Sets a flag's value over the file's, if the flag was given.
pub fn set_flag(settings: &mut Settings, key: &str, value: Option<&str>) -> Result<(), ConfigError> {
    match value {
        Some(value) => settings.set(key, value, Origin::CommandLine),
        None => Ok(()),
    }
}

/// An empty path given to a CURVE option (an unset `$CERT` in a script)
/// is an error: taken as "unset" it would leave the node unencrypted.
pub fn refuse_empty_path(flag: &str, value: Option<&str>) -> Result<(), Failure> {
    match value {
        Some(path) if path.trim().is_empty() => Err(Failure::usage(format!(
            "{flag} needs a path (an empty one would leave the node without CURVE)"
        ))),
        _ => Ok(()),
    }
}

/// Sets a repeatable flag's values over the file's, if it was given.
pub fn set_list(settings: &mut Settings, key: &str, values: &[String]) -> Result<(), ConfigError> {
    if values.is_empty() {
        return Ok(());
    }
    settings.set_all(key, values, Origin::CommandLine)
}

/// Loads zre.conf (`ZRECFG`, `ZRENAME`) for `applet` and puts the node
/// flags over it.
pub fn load_settings(applet: &str, args: &NodeArgs) -> Result<Settings, Failure> {
    let mut settings = Settings::load(&TOOLS, applet)?;
    set_flag(&mut settings, "name", args.name)?;
    set_flag(&mut settings, "interface", args.interface)?;
    set_list(&mut settings, "gossip", args.gossip)?;
    set_flag(&mut settings, "beacon-port", args.beacon_port)?;
    set_flag(&mut settings, "beacon-interval", args.beacon_interval)?;
    set_flag(&mut settings, "evasive", args.evasive)?;
    set_flag(&mut settings, "expired", args.expired)?;
    set_flag(&mut settings, "multicast-group", args.multicast_group)?;
    set_list(&mut settings, "header", args.header)?;
    set_flag(&mut settings, "port-range", args.port_range)?;
    set_flag(&mut settings, "endpoint", args.endpoint)?;
    set_flag(&mut settings, "max-peers", args.max_peers)?;
    set_flag(&mut settings, "fast-exit", args.fast_exit)?;
    set_list(&mut settings, "contest", args.contest)?;
    set_list(&mut settings, "peer", args.peer)?;
    set_flag(&mut settings, "gossip-bind", args.gossip_bind)?;
    refuse_empty_path("--curve-cert", args.curve_cert)?;
    refuse_empty_path("--curve-allow", args.curve_allow)?;
    set_flag(&mut settings, "curve-cert", args.curve_cert)?;
    set_flag(&mut settings, "curve-allow", args.curve_allow)?;
    if args.no_beacon {
        settings.set("beacon", "false", Origin::CommandLine)?;
    }
    if args.no_listen_multicast {
        settings.set("listen-multicast", "false", Origin::CommandLine)?;
    }
    if args.json {
        settings.set("json", "true", Origin::CommandLine)?;
    }
    if args.verbose {
        settings.set("verbose", "true", Origin::CommandLine)?;
    }
    if args.ipv6 {
        settings.set("ipv6", "true", Origin::CommandLine)?;
    }
    Ok(settings)
}

/// A duration key's value, or its built-in default.
pub fn duration_setting(settings: &Settings, key: &str) -> Result<Duration, Failure> {
    let value = settings
        .get_or_default(key)
        .ok_or_else(|| Failure::new(format!("no value for '{key}'")))?;
    config::parse_duration(&value).map_err(|e| Failure::new(format!("{key}: {e}")))
}

/// A boolean key's value, or its built-in default (false if it has none).
pub fn bool_setting(settings: &Settings, key: &str) -> bool {
    settings
        .get_or_default(key)
        .and_then(|v| config::parse_bool(&v).ok())
        .unwrap_or(false)
}

/// The one check between two keys: `expired` must not be shorter than
/// `evasive` (`NodeBuilder` would refuse it without saying where the values
/// came from). A usage error if a flag set either, else the file's error
/// with file and line.
fn check_timeouts(settings: &Settings) -> Result<(), Failure> {
    let value = |key: &str| {
        settings
            .duration(key)
            .or_else(|| {
                settings
                    .default_of(key)
                    .and_then(|d| config::parse_duration(&d).ok())
            })
            .unwrap_or_default()
    };
    let (evasive, expired) = (value("evasive"), value("expired"));
    if expired >= evasive {
        return Ok(());
    }
    let message = format!(
        "expired ({}) must not be shorter than evasive ({})",
        config::format_duration(expired),
        config::format_duration(evasive)
    );
    Err(between_keys(settings, &["expired", "evasive"], &message))
}

/// The failure of a check between `keys`: a usage error named by their
/// flags if a flag set one of them, else the file's error with file and
/// line.
pub fn between_keys(settings: &Settings, keys: &[&str], message: &str) -> Failure {
    let origins: Vec<&Origin> = keys.iter().filter_map(|key| settings.origin(key)).collect();
    if origins.contains(&&Origin::CommandLine) {
        let flags: Vec<String> = keys.iter().map(|key| format!("--{key}")).collect();
        return Failure::usage(format!("{}: {message}", flags.join("/")));
    }
    let at = origins
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    Failure::new(format!("{at}: {message}"))
}

/// A node builder from the merged settings (flags, file); what they leave
/// unset keeps the builder's default.
pub fn node_builder(settings: &Settings) -> Result<NodeBuilder, Failure> {
    // The tools raise the soft open-file limit to the hard one (and say so
    // in the log): a node sized for 1 024 peers needs more than the common
    // 1 024 descriptors (issue 24).
    let mut builder = NodeBuilder::new().raise_fd_limit(true);
    if let Some(beacons) = settings.bool("beacon") {
        builder = builder.beacons(beacons);
    }
    if let Some(listen) = settings.bool("listen-multicast") {
        builder = builder.listen_multicast(listen);
    }
    if let Some(port) = settings.parsed::<u16>("beacon-port")? {
        builder = builder.beacon_port(port);
    }
    if let Some(interval) = settings.duration("beacon-interval") {
        builder = builder.beacon_interval(interval);
    }
    check_timeouts(settings)?;
    if let Some(timeout) = settings.duration("evasive") {
        builder = builder.evasive_timeout(timeout);
    }
    if let Some(timeout) = settings.duration("expired") {
        builder = builder.expired_timeout(timeout);
    }
    if let Some(rate) = settings.get("quiet-ping-rate") {
        log::debug!(
            "quiet-ping-rate = {rate} ({}) does not apply: like Zyre, we ping a silent peer once a \
             second from the evasive timeout on",
            settings
                .origin("quiet-ping-rate")
                .map_or(String::new(), ToString::to_string)
        );
    }
    if let Some(range) = settings.parsed::<PortRange>("port-range")? {
        builder = builder.port_range(range);
    }
    for group in settings.get_all("contest") {
        builder = builder.contest(group);
    }
    for peer in settings.get_all("peer") {
        builder = builder.peer(peer);
    }
    if let Some(endpoint) = settings.get("gossip-bind") {
        builder = builder.gossip_bind(endpoint);
    }
    if let Some(fast) = settings.bool("fast-exit") {
        builder = builder.fast_exit(fast);
    }
    if let Some(max) = settings.parsed::<usize>("max-peers")? {
        builder = builder.max_peers(max);
    }
    if let Some(name) = settings.get("name") {
        builder = builder.name(name);
    }
    if let Some(interface) = settings.get("interface") {
        builder = builder.interface(interface);
    }
    for (key, value) in settings.headers() {
        builder = builder.header(key, value);
    }
    if let Some(group) = settings.get("multicast-group") {
        builder = builder.multicast_group(config::parse_multicast_group(group)?);
    }
    if let Some(endpoint) = settings.get("endpoint") {
        builder = builder.advertised_endpoint(endpoint);
    }
    for server in settings.get_all("gossip") {
        builder = builder.gossip(server);
    }
    if let Some(path) = settings.get("curve-cert") {
        let cert = load_curve_cert(settings, path)?;
        builder = builder.curve(cert);
    }
    if let Some(dir) = settings.get("curve-allow") {
        builder = builder.curve_allow(dir);
    }
    zyre_env(settings, builder)
}

/// The secret certificate `curve-cert` names; an error says where the
/// setting came from when a configuration file named it (its path and
/// line), since the path in the message alone does not say which file
/// to fix.
pub fn load_curve_cert(settings: &Settings, path: &str) -> Result<zre::Certificate, Failure> {
    zre::Certificate::load_secret(Path::new(path)).map_err(|err| match settings.origin("curve-cert") {
        Some(origin @ Origin::File { .. }) => Failure::new(format!("{origin}: curve-cert = {path}: {err}")),
        _ => Failure::new(err.to_string()),
    })
}

/// Issue 18: Zyre's environment (`ZSYS_IPV6`, `ZSYS_IPV6_MCAST_ADDRESS`,
/// `ZSYS_INTERFACE`) for what neither a flag nor zre.conf sets.
fn zyre_env(settings: &Settings, mut builder: NodeBuilder) -> Result<NodeBuilder, Failure> {
    let env = zre::ZyreEnv::read().map_err(Failure::new)?;
    if let Some(ipv6) = settings.bool("ipv6").or(env.ipv6) {
        builder = builder.ipv6(ipv6);
    }
    if let (None, Some(group)) = (settings.get("multicast-group"), env.ipv6_group) {
        builder = builder.ipv6_multicast_address(group);
    }
    if let (None, Some(interface)) = (settings.get("interface"), env.interface) {
        builder = builder.interface(interface);
    }
    Ok(builder)
}
