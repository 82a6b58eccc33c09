//! The applets' run time: logging, the node's loop with SIGINT/SIGTERM
//! and a waker in its poll, and stopping (draining queued data first).

use crate::failure::{Failure, Outcome};
use crate::metrics::MetricsServer;
use crate::options::{bool_setting, node_builder};
use crate::printer::Printer;
use log::LevelFilter;
use mio::{Events, Interest, Token, Waker};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;
use std::io;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};
use zre::config::Settings;
use zre::{Event, Node, NodeBuilder};

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

/// Token of the signal source in the node's poll.
pub const SIGNAL_TOKEN: Token = Token(0);

/// SIGINT and SIGTERM as a mio source. The first one asks the loop to stop
/// cleanly; a second one, while stopping takes long (peers that do not read
/// what we flush), ends the process at once.
pub struct SignalSource {
    signals: Signals,
}

impl SignalSource {
    /// Installs the handlers and registers the source under
    /// [`SIGNAL_TOKEN`].
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
    /// The node; the applet drives it through [`Runtime::poll`].
    pub node: Node,
    events: Events,
    signals: SignalSource,
    waker: Arc<Waker>,
    metrics: Option<MetricsServer>,
}

/// What woke a [`Runtime::poll`].
#[derive(Debug, Default, Clone, Copy)]
pub struct Wakeup {
    /// SIGINT or SIGTERM: stop cleanly.
    pub signal: bool,
}

impl Runtime {
    /// Puts the signal source into the node's poll.
    pub fn new(node: Node) -> Result<Runtime, Failure> {
        let signals = SignalSource::register(node.registry())?;
        // The node's own: mio allows one waker per poll.
        let waker = node.waker();
        Ok(Runtime {
            node,
            events: Events::with_capacity(256),
            signals,
            waker,
            metrics: None,
        })
    }

    /// Answers the metrics endpoint's scrapes after each poll.
    pub fn serve_metrics(&mut self, metrics: MetricsServer) {
        self.metrics = Some(metrics);
    }

    /// For threads that hand data to the loop: wake it after each send.
    pub fn waker(&self) -> Arc<Waker> {
        Arc::clone(&self.waker)
    }

    /// Runs the node until something happens or `timeout` passes.
    pub fn poll(&mut self, timeout: Option<Duration>) -> Result<Wakeup, Failure> {
        self.node.poll(&mut self.events, timeout)?;
        if let Some(metrics) = &self.metrics {
            metrics.serve(&self.node);
        }
        let mut wakeup = Wakeup::default();
        for event in self.events.iter() {
            if event.token() == SIGNAL_TOKEN {
                wakeup.signal |= self.signals.take();
            }
        }
        Ok(wakeup)
    }
}

/// Prints the node's events while the printer has room, `each` after
/// each one; when it has none, the node holds the rest (`hold_events`:
/// they queue in the node up to its bound, then in libzmq) and the loop
/// is woken when the printer's writer makes room. A slow reader of our
/// stdout never blocks the node's loop and loses nothing.
pub fn take_events(
    node: &mut Node,
    printer: &mut Printer,
    mut each: impl FnMut(&mut Node, &Event) -> Outcome,
) -> Outcome {
    take_events_with(node, printer, |node, printer, event| {
        printer.event(event)?;
        each(node, event)
    })
}

/// [`take_events`] for an applet that prints events its own way (zrecat
/// prints content): `print` gets the printer and each event.
pub fn take_events_with(
    node: &mut Node,
    printer: &mut Printer,
    mut print: impl FnMut(&mut Node, &mut Printer, &Event) -> Outcome,
) -> Outcome {
    printer.flush()?;
    while printer.has_room() {
        let Some(event) = node.next_event() else {
            break;
        };
        print(node, printer, &event)?;
    }
    printer.flush()?;
    node.hold_events(!printer.has_room());
    Ok(())
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
        match printer.as_deref_mut() {
            Some(printer) => take_events(&mut runtime.node, printer, |_, _| Ok(()))?,
            None => while runtime.node.next_event().is_some() {},
        }
    }
    Ok(())
}

/// Stops the node (GOODBYE, queued data flushed within the linger time) and
/// prints the events that stopping produced (`STOP`), then everything
/// still buffered for stdout (waiting for its reader).
pub fn stop_node(node: &mut Node, printer: Option<&mut Printer>) {
    node.stop();
    let mut printer = printer;
    while let Some(event) = node.next_event() {
        if let Some(printer) = printer.as_deref_mut() {
            let _ = printer.event(&event);
        }
    }
    if let Some(printer) = printer {
        let _ = printer.finish();
    }
}

/// Common startup of a node applet: logging and the node, from settings
/// already merged with the flags ([`load_settings`] and the applet's own).
pub struct Started {
    /// The node in its loop.
    pub runtime: Runtime,
    /// Whether events are printed as JSON.
    pub json: bool,
}

/// Starts logging and the node; `tune` sets what the applet needs beyond
/// the settings (zrecat's high-water mark).
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
