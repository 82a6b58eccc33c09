//! What the applets share: the node options, turning them (over zre.conf)
//! into a node, logging, signals, the event loop's extra sources, and
//! printing events.

use crate::json;
use log::LevelFilter;
use mio::{Events, Interest, Token, Waker};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;
use std::fmt;
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};
use zre::config::{self, ConfigError, Origin, PortRange, Settings};
use zre::{Event, Node, NodeBuilder, ZyreUuid};

/// An applet's failure: printed as `APPLET: message`, exit status 1. A
/// broken pipe on stdout (`zrecat time | head -1`) is not one: the reader
/// went away, so the applet stops quietly with status 0.
#[derive(Debug)]
pub struct Failure {
    message: String,
    broken_pipe: bool,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            broken_pipe: false,
        }
    }

    pub fn is_broken_pipe(&self) -> bool {
        self.broken_pipe
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::new(message)
    }
}

impl From<io::Error> for Failure {
    fn from(err: io::Error) -> Self {
        Failure {
            message: err.to_string(),
            broken_pipe: err.kind() == io::ErrorKind::BrokenPipe,
        }
    }
}

impl From<zre::NodeError> for Failure {
    fn from(err: zre::NodeError) -> Self {
        match err {
            zre::NodeError::Io(err) => err.into(),
            other => Failure::new(other.to_string()),
        }
    }
}

impl From<ConfigError> for Failure {
    fn from(err: ConfigError) -> Self {
        // A flag's error names the flag rather than "command line: key".
        match (err.origin(), err.key()) {
            (Some(Origin::CommandLine), Some(key)) => Failure::new(format!("--{key}: {}", err.message())),
            _ => Failure::new(err.to_string()),
        }
    }
}

pub type Outcome = Result<(), Failure>;

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
    pub no_beacon: bool,
    pub json: bool,
    pub verbose: bool,
}

pub trait HasNodeArgs {
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
            /// ZGossip server HOST:PORT to discover peers through (repeatable)
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
            /// no UDP beacons: discover peers through --gossip only
            #[argh(switch)]
            pub no_beacon: bool,
            /// print events as JSON, one object per line
            #[argh(switch)]
            pub json: bool,
            /// log protocol traffic (debug level) to stderr
            #[argh(switch, short = 'v')]
            pub verbose: bool,
        }

        impl $crate::common::HasNodeArgs for $name {
            fn node_args(&self) -> $crate::common::NodeArgs<'_> {
                $crate::common::NodeArgs {
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
                    no_beacon: self.no_beacon,
                    json: self.json,
                    verbose: self.verbose,
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
    let mut settings = Settings::load(applet)?;
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
    if args.no_beacon {
        settings.set("beacon", "false", Origin::CommandLine)?;
    }
    if args.json {
        settings.set("json", "true", Origin::CommandLine)?;
    }
    if args.verbose {
        settings.set("verbose", "true", Origin::CommandLine)?;
    }
    Ok(settings)
}

/// The value of a key, or its built-in default.
pub fn value_or_default<'a>(settings: &'a Settings, key: &str) -> Option<&'a str> {
    settings.get(key).or_else(|| config::default_of(key))
}

pub fn duration_setting(settings: &Settings, key: &str) -> Result<Duration, Failure> {
    let value =
        value_or_default(settings, key).ok_or_else(|| Failure::new(format!("no value for '{key}'")))?;
    config::parse_duration(value).map_err(|e| Failure::new(format!("{key}: {e}")))
}

pub fn bool_setting(settings: &Settings, key: &str) -> bool {
    value_or_default(settings, key)
        .and_then(|v| config::parse_bool(v).ok())
        .unwrap_or(false)
}

fn parsed_setting<T>(settings: &Settings, key: &str) -> Result<T, Failure>
where
    T: std::str::FromStr,
    T::Err: fmt::Display,
{
    if let Some(value) = settings.parsed::<T>(key)? {
        return Ok(value);
    }
    let default = config::default_of(key).ok_or_else(|| Failure::new(format!("no value for '{key}'")))?;
    default
        .parse()
        .map_err(|e| Failure::new(format!("bad default for '{key}': {e}")))
}

/// A node builder from the merged settings (flags, file, defaults).
pub fn node_builder(settings: &Settings) -> Result<NodeBuilder, Failure> {
    let mut builder = Node::builder()
        .beacons(bool_setting(settings, "beacon"))
        .beacon_port(parsed_setting::<u16>(settings, "beacon-port")?)
        .beacon_interval(duration_setting(settings, "beacon-interval")?)
        .evasive_timeout(duration_setting(settings, "evasive")?)
        .expired_timeout(duration_setting(settings, "expired")?)
        .port_range(parsed_setting::<PortRange>(settings, "port-range")?)
        .max_peers(parsed_setting::<usize>(settings, "max-peers")?);
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
    Ok(builder)
}

/// Starts logging to stderr: warnings by default (`default_level`), the zre
/// crate at debug with `verbose`; RUST_LOG, when set, is applied last and
/// so has the final word.
pub fn init_logging(verbose: bool, default_level: LevelFilter) {
    let mut builder = env_logger::Builder::new();
    builder.filter_level(default_level);
    if verbose {
        builder.filter_module("zre", LevelFilter::Debug);
    }
    if let Ok(filters) = std::env::var("RUST_LOG") {
        builder.parse_filters(&filters);
    }
    builder.target(env_logger::Target::Stderr);
    // A second call (never made) would fail harmlessly.
    let _ = builder.try_init();
}

/// Tokens of the applets' own sources in the node's poll.
pub const SIGNAL_TOKEN: Token = Token(0);
pub const WAKE_TOKEN: Token = Token(1);

/// SIGINT and SIGTERM as a mio source. The first one asks the loop to stop
/// cleanly; a second one, while stopping takes long (peers that do not read
/// what we flush), ends the process at once.
pub struct SignalSource {
    signals: Signals,
}

impl SignalSource {
    pub fn register(registry: &mio::Registry) -> io::Result<SignalSource> {
        let first_seen = Arc::new(AtomicBool::new(false));
        for signal in [SIGINT, SIGTERM] {
            // Registered before the flag is set: acts from the second signal on.
            signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(&first_seen))?;
            signal_hook::flag::register(signal, Arc::clone(&first_seen))?;
        }
        let mut signals = Signals::new([SIGINT, SIGTERM])?;
        registry.register(&mut signals, SIGNAL_TOKEN, Interest::READABLE)?;
        Ok(SignalSource { signals })
    }

    /// Whether a signal arrived since the last call.
    pub fn take(&mut self) -> bool {
        self.signals.pending().next().is_some()
    }
}

/// The node, with the applet's signal source and a waker for its input
/// threads, all in the node's poll.
pub struct Runtime {
    pub node: Node,
    events: Events,
    signals: SignalSource,
    waker: Arc<Waker>,
}

/// What woke a [`Runtime::poll`].
#[derive(Debug, Default, Clone, Copy)]
pub struct Wakeup {
    /// SIGINT or SIGTERM: stop cleanly.
    pub signal: bool,
}

impl Runtime {
    pub fn new(node: Node) -> Result<Runtime, Failure> {
        let signals = SignalSource::register(node.registry())?;
        let waker = Arc::new(Waker::new(node.registry(), WAKE_TOKEN)?);
        Ok(Runtime {
            node,
            events: Events::with_capacity(256),
            signals,
            waker,
        })
    }

    /// For threads that hand data to the loop: wake it after each send.
    pub fn waker(&self) -> Arc<Waker> {
        Arc::clone(&self.waker)
    }

    /// Runs the node until something happens or `timeout` passes.
    pub fn poll(&mut self, timeout: Option<Duration>) -> Result<Wakeup, Failure> {
        self.node.poll(&mut self.events, timeout)?;
        let mut wakeup = Wakeup::default();
        for event in self.events.iter() {
            if event.token() == SIGNAL_TOKEN {
                wakeup.signal |= self.signals.take();
            }
        }
        Ok(wakeup)
    }
}

/// A line for people: the event, its peer's name, and what matters.
pub fn human_event(event: &Event) -> String {
    let name = printable(event.peer_name().unwrap_or(""));
    match event {
        Event::Enter {
            peer,
            headers,
            endpoint,
            ..
        } => {
            let mut line = format!("ENTER {name} {} {}", ZyreUuid(*peer), printable(endpoint));
            if !headers.is_empty() {
                let pairs: Vec<String> = headers
                    .iter()
                    .map(|(k, v)| format!("{}={}", printable(k), printable(v)))
                    .collect();
                line.push_str(&format!(" {{{}}}", pairs.join(", ")));
            }
            line
        }
        Event::Join { group, .. } | Event::Leave { group, .. } | Event::Leader { group, .. } => {
            format!("{} {name} {}", event.kind(), printable(group))
        }
        Event::Shout { group, content, .. } => {
            format!("SHOUT {name} {}: {}", printable(group), human_content(content))
        }
        Event::Whisper { content, .. } => format!("WHISPER {name}: {}", human_content(content)),
        Event::Exit { .. } | Event::Evasive { .. } | Event::Silent { .. } => {
            format!("{} {name}", event.kind())
        }
        Event::Stop => "STOP".into(),
    }
}

/// Frames as UTF-8 text where they are, else as hex; ` | ` between frames.
pub fn human_content(content: &[zre::Frame]) -> String {
    content
        .iter()
        .map(|frame| match std::str::from_utf8(frame) {
            Ok(text) => printable(text),
            Err(_) => json::hex(frame),
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Text with control characters escaped, so that one event stays one line
/// and a peer cannot send escape sequences to our terminal.
pub fn printable(text: &str) -> String {
    if !text.contains(char::is_control) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push('\t'),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// The READY line for people.
pub fn human_ready(node: &Node) -> String {
    format!(
        "READY {} {} {}",
        node.name(),
        ZyreUuid(node.uuid()),
        node.endpoint()
    )
}

/// Where event lines go: stdout, or (in the interactive shell) above the
/// prompt through rustyline.
pub enum Sink {
    Stdout(io::BufWriter<io::Stdout>),
    Prompt(Box<dyn rustyline::ExternalPrinter + Send>),
}

/// Prints events as lines, readable or JSON.
pub struct Printer {
    pub json: bool,
    sink: Sink,
}

impl Printer {
    pub fn stdout(json: bool) -> Printer {
        Printer {
            json,
            sink: Sink::Stdout(io::BufWriter::new(io::stdout())),
        }
    }

    pub fn with_sink(json: bool, sink: Sink) -> Printer {
        Printer { json, sink }
    }

    /// Writes one line (buffered: call [`Printer::flush`] after a batch).
    pub fn line(&mut self, line: &str) -> io::Result<()> {
        match &mut self.sink {
            Sink::Stdout(out) => {
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")
            }
            Sink::Prompt(printer) => printer
                .print(format!("{line}\n"))
                .map_err(|e| io::Error::other(e.to_string())),
        }
    }

    pub fn event(&mut self, event: &Event) -> io::Result<()> {
        if self.json {
            self.line(&json::event(event))
        } else {
            self.line(&human_event(event))
        }
    }

    pub fn ready(&mut self, node: &Node) -> io::Result<()> {
        if self.json {
            self.line(&json::ready(node.uuid(), node.name(), node.endpoint()))
        } else {
            self.line(&human_ready(node))
        }
    }

    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Stdout(out) => out.flush(),
            Sink::Prompt(_) => Ok(()),
        }
    }
}

/// Keeps the node running until its own queue is empty, then for `grace`
/// more (at most `DRAIN_LIMIT` in all), printing events, before it is
/// stopped. Our own peers keep a leaving peer until its GOODBYE, which
/// follows the data; Zyre, pyre and zyre.js drop it on its port-0 beacon at
/// once, and the beacon can overtake the last messages still on TCP: the
/// grace lets those arrive first. Skipped when there is no peer; a signal
/// cuts it short.
pub fn drain(runtime: &mut Runtime, mut printer: Option<&mut Printer>, grace: Duration) -> Outcome {
    const DRAIN_LIMIT: Duration = Duration::from_secs(10);
    let started = Instant::now();
    let mut quiet_since: Option<Instant> = None;
    while !runtime.node.peers().is_empty() && started.elapsed() < DRAIN_LIMIT {
        if runtime.node.backlog() > 0 {
            quiet_since = None;
        } else if quiet_since.get_or_insert_with(Instant::now).elapsed() >= grace {
            return Ok(());
        }
        let left = match quiet_since {
            Some(since) => grace.saturating_sub(since.elapsed()),
            None => Duration::from_millis(20),
        };
        if runtime.poll(Some(left))?.signal {
            return Ok(());
        }
        while let Some(event) = runtime.node.next_event() {
            if let Some(printer) = printer.as_deref_mut() {
                printer.event(&event)?;
            }
        }
        if let Some(printer) = printer.as_deref_mut() {
            printer.flush()?;
        }
    }
    Ok(())
}

/// Stops the node (GOODBYE, queued data flushed within the linger time) and
/// prints the events that stopping produced (`STOP`).
pub fn stop_node(node: &mut Node, printer: Option<&mut Printer>) {
    node.stop();
    let mut printer = printer;
    while let Some(event) = node.next_event() {
        if let Some(printer) = printer.as_deref_mut() {
            let _ = printer.event(&event);
        }
    }
    if let Some(printer) = printer {
        let _ = printer.flush();
    }
}

/// Common startup of a node applet: logging and the node, from settings
/// already merged with the flags ([`load_settings`] and the applet's own).
pub struct Started {
    pub runtime: Runtime,
    pub json: bool,
}

pub fn start_node(
    settings: &Settings,
    tune: impl FnOnce(NodeBuilder) -> NodeBuilder,
) -> Result<Started, Failure> {
    init_logging(bool_setting(settings, "verbose"), LevelFilter::Warn);
    let builder = tune(node_builder(settings)?);
    let node = builder.build()?;
    let runtime = Runtime::new(node)?;
    Ok(Started {
        runtime,
        json: bool_setting(settings, "json"),
    })
}
