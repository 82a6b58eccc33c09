//! zgossip_server: a ZGossip key-value-TTL server, so that nodes on
//! networks that beacons do not cross can find each other.

use crate::failure::{Failure, Outcome};
use crate::options::{bool_setting, duration_setting, set_flag, set_list};
use crate::printer::Printer;
use crate::runtime::{SIGNAL_TOKEN, SignalSource, init_logging};
use crate::schema::TOOLS;
use argh::FromArgs;
use log::LevelFilter;
use mio::Events;
use zre::config::{Origin, Settings};
use zre::{GossipServerConfig, GossipService};

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
    /// endpoint to listen on: tcp://HOST:PORT or ipc://PATH (repeatable; default tcp://*:31337;
    /// tcp://127.0.0.1:* picks a free port)
    #[argh(option, short = 'b', arg_name = "ENDPOINT")]
    pub bind: Vec<String>,
    /// another server to share tuples with, HOST:PORT or tcp://HOST:PORT, with `|KEY` (its
    /// CURVE public key, Z85) for a CURVE server (repeatable)
    #[argh(option, short = 'c', arg_name = "ENDPOINT")]
    pub connect: Vec<String>,
    /// clients silent for this long are dropped: seconds or 500ms (default 10)
    #[argh(option, arg_name = "DURATION")]
    pub client_timeout: Option<String>,
    /// lifetime of tuples published with TTL 0 (default 0: kept as long as the publisher said)
    #[argh(option, arg_name = "DURATION")]
    pub tuple_ttl: Option<String>,
    /// serve CURVE clients only (Zyre's zyre_gossip_connect_curve) with this secret
    /// certificate (czmq zcert format, the PATH_secret file of zre --curve-keygen PATH)
    #[argh(option, arg_name = "SECRET_FILE")]
    pub curve_cert: Option<String>,
    /// print tuples as JSON, one object per line
    #[argh(switch)]
    pub json: bool,
    /// log protocol traffic (debug level) to stderr
    #[argh(switch, short = 'v')]
    pub verbose: bool,
}

pub fn run(args: ZgossipServerArgs) -> Outcome {
    let mut settings = Settings::load(&TOOLS, "zgossip_server")?;
    set_list(&mut settings, "bind", &args.bind)?;
    set_list(&mut settings, "connect", &args.connect)?;
    set_flag(&mut settings, "client-timeout", args.client_timeout.as_deref())?;
    set_flag(&mut settings, "tuple-ttl", args.tuple_ttl.as_deref())?;
    crate::options::refuse_empty_path("--curve-cert", args.curve_cert.as_deref())?;
    set_flag(&mut settings, "curve-cert", args.curve_cert.as_deref())?;
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
        binds.extend(settings.default_of("bind"));
    }
    let tuple_ttl = duration_setting(&settings, "tuple-ttl")?;
    let config = GossipServerConfig {
        client_timeout: duration_setting(&settings, "client-timeout")?,
        default_ttl: (!tuple_ttl.is_zero()).then_some(tuple_ttl),
        ..GossipServerConfig::default()
    };
    let mut service = match settings.get("curve-cert") {
        Some(path) => {
            let cert = crate::options::load_curve_cert(&settings, path)?;
            let service = GossipService::bind_curve(&binds, config, &cert)?;
            // Clients need it: `-g HOST:PORT|KEY`.
            log::info!(
                "serving CURVE clients only; public key {}",
                zre::wire::curve_key::encode_z85(&cert.public_key)
            );
            service
        }
        None => GossipService::bind(&binds, config)?,
    };
    for remote in settings.get_all("connect") {
        // `HOST:PORT|KEY`: a CURVE server with that public key (Z85).
        let (remote, key) = zre::wire::curve_key::split_gossip_value(remote);
        let endpoint = zre::gossip_endpoint(remote).map_err(|e| Failure::new(format!("connect: {e}")))?;
        match key {
            Some(key) => {
                let key = zre::wire::curve_key::decode_z85(key)
                    .map_err(|e| Failure::new(format!("connect {remote}: the server key after `|`: {e}")))?;
                service.connect_curve(&endpoint, key)?;
            }
            None => service.connect(&endpoint)?,
        }
    }
    let mut signals = SignalSource::register(service.registry())?;

    let mut out = Printer::stdout(json);
    out.gossip_ready(service.endpoints())?;
    out.flush()?;
    let mut events = Events::with_capacity(64);
    loop {
        service.poll(&mut events, None)?;
        if events.iter().any(|e| e.token() == SIGNAL_TOKEN) && signals.take() {
            log::info!("stopping");
            return Ok(());
        }
        while let Some(event) = service.next_event() {
            out.gossip_event(&event)?;
        }
        out.flush()?;
    }
}
