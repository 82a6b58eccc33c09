//! `--metrics ADDR`: the node's counters ([`zre::NodeStats`]) served at
//! `GET /metrics` in the Prometheus text format (version 0.0.4).
//!
//! The HTTP side runs on threads of its own, never on the node's loop: an
//! accepting thread, and one thread per connection, at most
//! [`MAX_CONNECTIONS`] at once (more are closed at once), each given
//! [`REQUEST_DEADLINE`] in all to send its request (parsed by httparse),
//! as long again to take the answer. So a slow or hostile HTTP client holds neither the
//! node's loop nor more than a few of the process's file descriptors,
//! which the node needs for its peers. On each scrape the connection's
//! thread asks the loop for fresh figures (a channel and the node's
//! waker); the loop answers in [`MetricsServer::serve`] without blocking
//! (it only copies `Node::stats()` into atomics). If the loop does not
//! answer within [`REFRESH_WAIT`] (it is stopping, or busy), the scrape
//! gets the figures of the last refresh.

use crate::failure::Failure;
use mio::Waker;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::time::{Duration, Instant};
use zre::config::{Origin, Settings};
use zre::{Node, NodeStats};

/// How long a scrape waits for the node's loop to refresh the figures.
const REFRESH_WAIT: Duration = Duration::from_secs(1);
/// Scrapes waiting for a refresh at once; more are served the last figures.
const PENDING_REFRESHES: usize = MAX_CONNECTIONS;
/// HTTP connections served at once; more are closed as they come.
const MAX_CONNECTIONS: usize = 4;
/// The time a connection has, from its accept, to send its request; and
/// then to take the answer.
const REQUEST_DEADLINE: Duration = Duration::from_secs(2);
/// The longest request read (request line and headers).
const MAX_REQUEST: usize = 8 * 1024;

/// The `cause` label of `zre_peer_removals_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Cause {
    cause: &'static str,
}

/// The metrics, registered once; the loop stores into them, the HTTP
/// thread encodes them.
#[derive(Default)]
struct Metrics {
    registry: Registry,
    peers: Gauge,
    peers_unproven: Gauge,
    peers_pending: Gauge,
    peers_pending_linked: Gauge,
    max_peers: Gauge,
    announcements_kept: Gauge,
    backlog: Gauge,
    open_fds: Gauge,
    hellos_refused: Counter,
    pings: Counter,
    probes: Counter,
    announcements_dropped: Counter,
    connects_deferred: Counter,
    inbound_shed: Counter,
    peer_checks: Counter,
    removals: Family<Cause, Counter>,
}

impl Metrics {
    fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("zre"),
            ..Metrics::default()
        };
        let r = &mut m.registry;
        r.register(
            "peers",
            "Peers that said HELLO (their ENTER given or waiting for its proof), now",
            m.peers.clone(),
        );
        r.register(
            "peers_unproven",
            "Of those, the ones whose ENTER waits for the proof that our link reaches them (PING-OK), now",
            m.peers_unproven.clone(),
        );
        r.register(
            "peers_pending",
            "Peers only announced by beacon or gossip, waiting for their HELLO, now",
            m.peers_pending.clone(),
        );
        r.register(
            "peers_pending_linked",
            "Of the pending peers, those we have opened a link to",
            m.peers_pending_linked.clone(),
        );
        r.register(
            "max_peers",
            "The most peers the peer table holds (--max-peers, or the file-descriptor budget)",
            m.max_peers.clone(),
        );
        r.register(
            "announcements_kept",
            "Announcements of new peers kept for when the peer table has room, now",
            m.announcements_kept.clone(),
        );
        r.register(
            "backlog_messages",
            "Messages held because libzmq's queue to a slow peer was full, over all peers",
            m.backlog.clone(),
        );
        r.register(
            "open_fds",
            "File descriptors the process has open (Linux; 0 elsewhere)",
            m.open_fds.clone(),
        );
        r.register(
            "hellos_refused",
            "HELLOs refused: no room in the peer table, a conflict, or a forbidden key",
            m.hellos_refused.clone(),
        );
        r.register("pings", "PINGs sent to evasive peers", m.pings.clone());
        r.register(
            "probes",
            "TCP probes of a peer's inbox port (fast EXIT of a peer whose process is gone)",
            m.probes.clone(),
        );
        r.register(
            "announcements_dropped",
            "Announcements (beacons, gossip tuples) of new peers that found the peer table full",
            m.announcements_dropped.clone(),
        );
        r.register(
            "connects_deferred",
            "Links to peers not opened for lack of file descriptors (tried again later)",
            m.connects_deferred.clone(),
        );
        r.register(
            "inbound_connections_shed",
            "Connections to our inbox shut down because there were more than the peer table needs",
            m.inbound_shed.clone(),
        );
        r.register(
            "peer_checks",
            "Peer liveness checks done (timer entries looked at)",
            m.peer_checks.clone(),
        );
        r.register(
            "peer_removals",
            "Peers removed from the peer table, by cause; those that had their ENTER got an EXIT",
            m.removals.clone(),
        );
        // Every cause from the start, at 0, so that rate() sees the first one.
        let stats = NodeStats {
            core: Default::default(),
            backlog: 0,
            fds_in_use: None,
            inbound_shed: 0,
        };
        for (cause, _) in stats.exits() {
            let _ = m.removals.get_or_create(&Cause { cause });
        }
        m
    }

    /// Copies the node's figures in. The counters are the node's own
    /// totals since it started, stored as they are.
    fn update(&self, stats: &NodeStats) {
        let gauge = |g: &Gauge, v: usize| {
            g.set(i64::try_from(v).unwrap_or(i64::MAX));
        };
        let counter = |c: &Counter, v: u64| c.inner().store(v, Ordering::Relaxed);
        let core = &stats.core;
        gauge(&self.peers, core.peers_ready);
        gauge(&self.peers_unproven, core.peers_unproven);
        gauge(&self.peers_pending, core.peers_pending);
        gauge(&self.peers_pending_linked, core.peers_linked_pending);
        gauge(&self.max_peers, core.max_peers);
        gauge(&self.announcements_kept, core.announcements_kept);
        gauge(&self.backlog, stats.backlog);
        // Unreadable (no descriptor left to list them with): the last
        // reading stands rather than a false 0.
        if let Some(fds) = stats.fds_in_use {
            gauge(&self.open_fds, fds);
        }
        counter(&self.hellos_refused, core.refused);
        counter(&self.pings, core.pings_sent);
        counter(&self.probes, core.probes);
        counter(&self.announcements_dropped, core.announcements_dropped);
        counter(&self.connects_deferred, core.connects_deferred);
        counter(&self.inbound_shed, stats.inbound_shed);
        counter(&self.peer_checks, core.peer_checks);
        for (cause, n) in stats.exits() {
            counter(&self.removals.get_or_create(&Cause { cause }), n);
        }
    }

    fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_text::encode(&mut text, &self.registry);
        text
    }
}

/// The `metrics` setting (`--metrics` or zre.conf), checked: an IP
/// address and port. `None` when unset.
pub fn metrics_addr(settings: &Settings) -> Result<Option<SocketAddr>, Failure> {
    let Some(value) = settings.get("metrics") else {
        return Ok(None);
    };
    value.parse::<SocketAddr>().map(Some).map_err(|_| {
        let what =
            format!("invalid address \"{value}\": expected IP:PORT, e.g. 127.0.0.1:9100 or [::1]:9100");
        match settings.origin("metrics") {
            Some(origin @ Origin::File { .. }) => Failure::new(format!("{origin}: metrics = {what}")),
            _ => Failure::usage(format!("--metrics: {what}")),
        }
    })
}

/// The endpoint's socket, bound before the node starts so that a port in
/// use stops the applet before it announces itself.
pub struct BoundMetrics {
    listener: TcpListener,
    addr: SocketAddr,
}

impl BoundMetrics {
    /// Binds `addr` (port 0: any free port; see [`BoundMetrics::addr`]).
    pub fn bind(addr: SocketAddr) -> Result<BoundMetrics, Failure> {
        let listener = TcpListener::bind(addr).map_err(|e| Failure::new(format!("--metrics {addr}: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Failure::new(format!("--metrics {addr}: {e}")))?;
        Ok(BoundMetrics { listener, addr })
    }

    /// The address bound (with the port the system chose for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts serving on threads of their own; `waker` wakes the node's
    /// loop, which must call [`MetricsServer::serve`] after each poll.
    pub fn start(self, waker: Arc<Waker>) -> Result<MetricsServer, Failure> {
        let (refresh, requests) = sync_channel(PENDING_REFRESHES);
        let shared = Arc::new(Shared {
            metrics: Metrics::new(),
            refresh,
            waker,
        });
        let http = Arc::clone(&shared);
        let listener = self.listener;
        std::thread::Builder::new()
            .name("zre-metrics".into())
            .spawn(move || accept_loop(&listener, &http))
            .map_err(|e| Failure::new(format!("--metrics: cannot start its thread: {e}")))?;
        Ok(MetricsServer { shared, requests })
    }
}

/// What the HTTP threads share with the loop's end.
struct Shared {
    metrics: Metrics,
    /// A scrape's request for fresh figures, with where to say "done".
    refresh: SyncSender<SyncSender<()>>,
    waker: Arc<Waker>,
}

/// The node loop's end of the endpoint.
pub struct MetricsServer {
    shared: Arc<Shared>,
    requests: Receiver<SyncSender<()>>,
}

impl MetricsServer {
    /// Answers the scrapes waiting for fresh figures (one `Node::stats()`
    /// for all of them). Never blocks.
    pub fn serve(&self, node: &Node) {
        let mut refreshed = false;
        loop {
            match self.requests.try_recv() {
                Ok(done) => {
                    if !refreshed {
                        self.shared.metrics.update(&node.stats());
                        refreshed = true;
                    }
                    // The scrape may have given up waiting: nothing to do.
                    let _ = done.try_send(());
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return,
            }
        }
    }
}

/// Accepts connections, each to a thread of its own while fewer than
/// [`MAX_CONNECTIONS`] are open; closes the others at once.
fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    let open = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(stream) => stream,
            Err(err) => {
                // Out of descriptors, say: the node needs them more.
                log::debug!("metrics: accept: {err}");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        if open.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
            open.fetch_sub(1, Ordering::AcqRel);
            log::debug!("metrics: {MAX_CONNECTIONS} connections open, closing a new one");
            continue;
        }
        let slot = Slot(Arc::clone(&open));
        let shared = Arc::clone(shared);
        let spawned = std::thread::Builder::new()
            .name("zre-metrics-http".into())
            .spawn(move || {
                let _slot = slot;
                if let Err(err) = serve_connection(stream, &shared) {
                    log::debug!("metrics: {err}");
                }
            });
        if let Err(err) = spawned {
            // The closure (and the slot in it) is dropped with the error.
            log::debug!("metrics: cannot start a thread: {err}");
        }
    }
}

/// One of the [`MAX_CONNECTIONS`], given back when dropped.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Reads one request within [`REQUEST_DEADLINE`] and answers it: `GET
/// /metrics` (or HEAD) the figures, another path 404, another method 405,
/// a malformed or oversized request 400; then closes.
fn serve_connection(mut stream: TcpStream, shared: &Shared) -> io::Result<()> {
    let deadline = Instant::now() + REQUEST_DEADLINE;
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "request not complete in time"))
    };
    let mut buffer = vec![0u8; MAX_REQUEST];
    let mut len = 0;
    let (status, body, head_only) = loop {
        stream.set_read_timeout(Some(left()?))?;
        let n = stream.read(&mut buffer[len..])?;
        if n == 0 {
            return Ok(());
        }
        len += n;
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&buffer[..len]) {
            Ok(httparse::Status::Complete(_)) => {
                let path = request.path.unwrap_or("").split('?').next().unwrap_or("");
                let method = request.method.unwrap_or("");
                let head_only = method == "HEAD";
                break if path != "/metrics" {
                    (
                        "404 Not Found",
                        "not found: the metrics are at /metrics\n".to_owned(),
                        head_only,
                    )
                } else if method != "GET" && !head_only {
                    ("405 Method Not Allowed", "only GET\n".to_owned(), false)
                } else {
                    ("200 OK", scrape(shared), head_only)
                };
            }
            Ok(httparse::Status::Partial) if len < buffer.len() => {}
            Ok(httparse::Status::Partial) | Err(_) => {
                break ("400 Bad Request", "bad request\n".to_owned(), false);
            }
        }
    };
    let content_type = if status.starts_with("200") {
        prometheus_text::CONTENT_TYPE
    } else {
        "text/plain; charset=utf-8"
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if !head_only {
        response.push_str(&body);
    }
    // Its own deadline: the scrape may have waited for the loop.
    stream.set_write_timeout(Some(REQUEST_DEADLINE))?;
    stream.write_all(response.as_bytes())?;
    stream.flush()
}

/// The figures, fresh from the node's loop if it answers in time.
fn scrape(shared: &Shared) -> String {
    let (done, refreshed) = sync_channel(1);
    // Full (as many scrapes waiting as there can be) or the loop gone: the
    // last figures.
    if shared.refresh.try_send(done).is_ok() && shared.waker.wake().is_ok() {
        let _ = refreshed.recv_timeout(REFRESH_WAIT);
    }
    shared.metrics.encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_every_metric_with_its_type_and_the_causes() {
        let metrics = Metrics::new();
        let mut stats = NodeStats {
            core: Default::default(),
            backlog: 3,
            fds_in_use: Some(17),
            inbound_shed: 0,
        };
        stats.core.peers_ready = 2;
        stats.core.peers_unproven = 1;
        stats.core.pings_sent = 5;
        stats.core.exits[zre::core::Removal::Unreachable.index()] = 4;
        metrics.update(&stats);
        let text = metrics.encode();
        for line in [
            "# TYPE zre_peers gauge",
            "zre_peers 2",
            "zre_peers_unproven 1",
            "# TYPE zre_pings_total counter",
            "zre_pings_total 5",
            "zre_backlog_messages 3",
            "zre_open_fds 17",
            "zre_peer_removals_total{cause=\"unreachable\"} 4",
            "zre_peer_removals_total{cause=\"expired\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "no line {line:?} in\n{text}");
        }
    }
}
