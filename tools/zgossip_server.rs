//! zgossip_server: a ZGossip key-value-TTL server, so that nodes on
//! networks that beacons do not cross can find each other.

use crate::common::{
    Failure, Outcome, SIGNAL_TOKEN, SignalSource, bool_setting, duration_setting, init_logging, set_flag,
    set_list, value_or_default,
};
use crate::json;
use argh::FromArgs;
use log::LevelFilter;
use mio::Events;
use std::io::{self, BufWriter, Write};
use zre::config::{Origin, Settings};
use zre::{GossipEvent, GossipServerConfig, GossipService};

/// ZGossip server: stores the tuples (key, value, TTL) that nodes publish
/// and passes them on to every other node, and to other servers.
#[derive(FromArgs)]
#[argh(help_triggers("-h", "--help"))]
#[argh(
    example = "zgossip_server\nzgossip_server --bind tcp://*:31337 --connect tcp://other-site:31337\n\
zre -g <this host>:31337",
    note = "Prints DELIVER KEY VALUE for each new or changed tuple and EXPIRED KEY for each that \
was not republished in time; with --json, {{\"event\":\"READY\",\"endpoints\":[...]}} once, then \
{{\"event\":\"DELIVER\",\"key\":...,\"value\":...}} and {{\"event\":\"EXPIRED\",\"key\":...}}. Logs \
client traffic at info level to stderr."
)]
pub struct ZgossipServerArgs {
    /// endpoint to listen on (repeatable; default tcp://*:31337; tcp://127.0.0.1:* picks a free port)
    #[argh(option, short = 'b', arg_name = "ENDPOINT")]
    pub bind: Vec<String>,
    /// another server to share tuples with, HOST:PORT or tcp://HOST:PORT (repeatable)
    #[argh(option, short = 'c', arg_name = "ENDPOINT")]
    pub connect: Vec<String>,
    /// clients silent for this long are dropped: seconds or 500ms (default 10)
    #[argh(option, arg_name = "DURATION")]
    pub client_timeout: Option<String>,
    /// lifetime of tuples published with TTL 0 (default 0: kept as long as the publisher said)
    #[argh(option, arg_name = "DURATION")]
    pub tuple_ttl: Option<String>,
    /// print tuples as JSON, one object per line
    #[argh(switch)]
    pub json: bool,
    /// log protocol traffic (debug level) to stderr
    #[argh(switch, short = 'v')]
    pub verbose: bool,
}

pub fn run(args: ZgossipServerArgs) -> Outcome {
    let mut settings = Settings::load("zgossip_server")?;
    set_list(&mut settings, "bind", &args.bind)?;
    set_flag(&mut settings, "client-timeout", args.client_timeout.as_deref())?;
    set_flag(&mut settings, "tuple-ttl", args.tuple_ttl.as_deref())?;
    if args.json {
        settings.set("json", "true", Origin::CommandLine)?;
    }
    if args.verbose {
        settings.set("verbose", "true", Origin::CommandLine)?;
    }
    // A server operator wants to see HELLO, PUBLISH and expiry by default.
    init_logging(bool_setting(&settings, "verbose"), LevelFilter::Info);
    let json = bool_setting(&settings, "json");

    let mut binds: Vec<String> = settings.get_all("bind").into_iter().map(str::to_owned).collect();
    if binds.is_empty() {
        binds.extend(value_or_default(&settings, "bind").map(str::to_owned));
    }
    let tuple_ttl = duration_setting(&settings, "tuple-ttl")?;
    let config = GossipServerConfig {
        client_timeout: duration_setting(&settings, "client-timeout")?,
        default_ttl: (!tuple_ttl.is_zero()).then_some(tuple_ttl),
        ..GossipServerConfig::default()
    };
    let mut service = GossipService::bind(&binds, config)?;
    for remote in &args.connect {
        let endpoint = zre::gossip_endpoint(remote).map_err(|e| Failure::new(format!("--connect: {e}")))?;
        service.connect(&endpoint)?;
    }
    let mut signals = SignalSource::register(service.registry())?;

    let mut out = BufWriter::new(io::stdout());
    if json {
        let ready = json::Object::new()
            .string("event", "READY")
            .strings("endpoints", service.endpoints().iter().map(String::as_str))
            .finish();
        writeln!(out, "{ready}")?;
        out.flush()?;
    }
    let mut events = Events::with_capacity(64);
    loop {
        service.poll(&mut events, None)?;
        if events.iter().any(|e| e.token() == SIGNAL_TOKEN) && signals.take() {
            log::info!("stopping");
            return Ok(());
        }
        while let Some(event) = service.next_event() {
            let line = if json {
                json_line(&event)
            } else {
                human_line(&event)
            };
            writeln!(out, "{line}")?;
        }
        out.flush()?;
    }
}

fn human_line(event: &GossipEvent) -> String {
    match event {
        GossipEvent::Delivered { key, value } => format!("DELIVER {key} {value}"),
        GossipEvent::Expired { key } => format!("EXPIRED {key}"),
    }
}

fn json_line(event: &GossipEvent) -> String {
    match event {
        GossipEvent::Delivered { key, value } => json::Object::new()
            .string("event", "DELIVER")
            .string("key", key)
            .string("value", value)
            .finish(),
        GossipEvent::Expired { key } => json::Object::new()
            .string("event", "EXPIRED")
            .string("key", key)
            .finish(),
    }
}
