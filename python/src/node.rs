//! `NativeNode`: a started node in a thread of its own (see `driver`),
//! with every call that waits made with the GIL released.

use crate::convert::{self, check_group, seconds};
use crate::driver::{Command, Driver, SIGNAL_CHECK, Taken};
use crate::{ConfigError, node_error, stopped};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};
use std::net::{Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Instant;
use uuid::Uuid;
use zre::{Frame, Node, NodeBuilder, NodeError, PortRange};

/// A running zre node (use `zre_rs.Node` or `zre_rs.pyre.Pyre`).
#[pyclass(module = "zre_rs._native", frozen)]
pub(crate) struct NativeNode {
    driver: Driver,
    uuid: Uuid,
    name: String,
    endpoint: String,
    /// The node's frame limit: `whisper` and `shout`, queued without
    /// waiting for the node, refuse a larger frame here, as it would.
    max_message_size: usize,
}

impl NativeNode {
    /// Runs a query on the node's thread, GIL released; `None` once the
    /// node has stopped.
    fn query<R: Send + 'static>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Node) -> R + Send + 'static,
    ) -> Option<R> {
        py.detach(|| self.driver.call(f))
    }

    fn command(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Node) -> Result<(), NodeError> + Send + 'static,
    ) -> PyResult<()> {
        match self.query(py, f) {
            Some(result) => result.map_err(node_error),
            None => Err(stopped()),
        }
    }

    fn send(&self, py: Python<'_>, command: Command) -> PyResult<()> {
        let sent = match self.driver.try_send(command) {
            Ok(sent) => sent,
            Err(command) => py.detach(|| self.driver.send_blocking(command)),
        };
        if sent { Ok(()) } else { Err(stopped()) }
    }

    /// Raises CommandError, with the node's message, for a frame over the
    /// node's limit: queued, it would be refused in the node's thread,
    /// where Python would never hear of it.
    fn check_sizes(&self, content: &[Frame]) -> PyResult<()> {
        let sizes = content.iter().map(|frame| frame.len());
        zre::CommandError::check_frame_sizes(sizes, self.max_message_size)
            .map_err(|err| node_error(err.into()))
    }
}

#[pymethods]
impl NativeNode {
    /// Builds and starts a node; see `zre_rs.Node` for the options.
    #[new]
    #[pyo3(signature = (
        *, name=None, uuid=None, headers=Vec::new(), interface=None, beacons=true,
        beacon_port=None, beacon_interval=None, multicast_group=None, listen_multicast=None,
        ipv6=false, ipv6_multicast_address=None, port_range=None, advertised_endpoint=None,
        evasive_timeout=None, expired_timeout=None, max_peers=None, max_peer_groups=None,
        gossip=Vec::new(), contest=Vec::new(), max_message_size=None, send_hwm=None,
        max_backlog=None, max_events=None, linger=None, fast_exit=true, curve_cert=None, curve_allow=None,
        groups=Vec::new(), pyre_events_only=false, seeds=Vec::new(), gossip_bind=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        name: Option<String>,
        uuid: Option<Vec<u8>>,
        headers: Vec<(String, String)>,
        interface: Option<String>,
        beacons: bool,
        beacon_port: Option<u16>,
        beacon_interval: Option<f64>,
        multicast_group: Option<String>,
        listen_multicast: Option<bool>,
        ipv6: bool,
        ipv6_multicast_address: Option<String>,
        port_range: Option<(u16, u16)>,
        advertised_endpoint: Option<String>,
        evasive_timeout: Option<f64>,
        expired_timeout: Option<f64>,
        max_peers: Option<usize>,
        max_peer_groups: Option<usize>,
        gossip: Vec<String>,
        contest: Vec<String>,
        max_message_size: Option<usize>,
        send_hwm: Option<i32>,
        max_backlog: Option<usize>,
        max_events: Option<usize>,
        linger: Option<f64>,
        fast_exit: bool,
        curve_cert: Option<PathBuf>,
        curve_allow: Option<PathBuf>,
        groups: Vec<String>,
        pyre_events_only: bool,
        seeds: Vec<String>,
        gossip_bind: Option<String>,
    ) -> PyResult<NativeNode> {
        let mut b = NodeBuilder::new()
            .beacons(beacons)
            .ipv6(ipv6)
            .fast_exit(fast_exit);
        if let Some(name) = name {
            b = b.name(name);
        }
        if let Some(uuid) = uuid {
            b = b.uuid(convert::peer(&uuid)?);
        }
        for (key, value) in headers {
            b = b.header(key, value);
        }
        if let Some(interface) = interface {
            b = b.interface(interface);
        }
        if let Some(port) = beacon_port {
            b = b.beacon_port(port);
        }
        if let Some(interval) = beacon_interval {
            b = b.beacon_interval(seconds("beacon_interval", interval)?);
        }
        if let Some(group) = multicast_group {
            let addr: SocketAddr = group
                .parse()
                .map_err(|_| PyValueError::new_err(format!("multicast_group {group:?}: expected IP:PORT")))?;
            b = b.multicast_group(addr);
        }
        if let Some(on) = listen_multicast {
            b = b.listen_multicast(on);
        }
        if let Some(group) = ipv6_multicast_address {
            let addr: Ipv6Addr = group.parse().map_err(|_| {
                PyValueError::new_err(format!(
                    "ipv6_multicast_address {group:?}: expected an IPv6 address"
                ))
            })?;
            b = b.ipv6_multicast_address(addr);
        }
        if let Some((low, high)) = port_range {
            b = b.port_range(match (low, high) {
                (0, 0) => PortRange::Any,
                (low, high) if low > 0 && low <= high => PortRange::Range { low, high },
                _ => {
                    return Err(PyValueError::new_err(format!(
                        "port_range ({low}, {high}): expected 1 <= low <= high, or (0, 0) for any port"
                    )));
                }
            });
        }
        if let Some(endpoint) = advertised_endpoint {
            b = b.advertised_endpoint(endpoint);
        }
        if let Some(t) = evasive_timeout {
            b = b.evasive_timeout(seconds("evasive_timeout", t)?);
        }
        if let Some(t) = expired_timeout {
            b = b.expired_timeout(seconds("expired_timeout", t)?);
        }
        if let Some(n) = max_peers {
            b = b.max_peers(n);
        }
        if let Some(n) = max_peer_groups {
            b = b.max_peer_groups(n);
        }
        for server in gossip {
            b = b.gossip(server);
        }
        for group in contest {
            b = b.contest(group);
        }
        for seed in seeds {
            b = b.peer(seed);
        }
        if let Some(endpoint) = gossip_bind {
            b = b.gossip_bind(endpoint);
        }
        if let Some(n) = max_message_size {
            b = b.max_message_size(n);
        }
        if let Some(n) = send_hwm {
            b = b.send_hwm(n);
        }
        if let Some(n) = max_backlog {
            b = b.max_backlog(n);
        }
        if let Some(n) = max_events {
            b = b.max_events(n);
        }
        if let Some(t) = linger {
            b = b.linger(seconds("linger", t)?);
        }
        if let Some(path) = curve_cert {
            let cert =
                zre::Certificate::load_secret(&path).map_err(|err| ConfigError::new_err(err.to_string()))?;
            b = b.curve(cert);
        }
        if let Some(dir) = curve_allow {
            b = b.curve_allow(dir);
        }
        for group in &groups {
            check_group(group)?;
        }
        py.detach(move || {
            let mut node = b.build()?;
            for group in &groups {
                node.join(group)?;
            }
            let (uuid, name, endpoint) = (node.uuid(), node.name().to_owned(), node.endpoint().to_owned());
            let max_message_size = node.max_message_size();
            let driver = Driver::spawn(node, pyre_events_only)?;
            Ok(NativeNode {
                driver,
                uuid,
                name,
                endpoint,
                max_message_size,
            })
        })
        .map_err(node_error)
    }

    /// Our UUID, 16 bytes.
    #[getter]
    fn uuid<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.uuid.as_bytes())
    }

    /// Our name as peers see it.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// Our inbox endpoint as HELLO advertises it, `tcp://ip:port`.
    #[getter]
    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Whether the node's thread is still running.
    #[getter]
    fn running(&self) -> bool {
        self.driver.is_running()
    }

    /// A file descriptor readable while an event waits (STOP is the last;
    /// once it is taken, no longer); for select, poll, zmq.Poller or asyncio.
    fn fileno(&self) -> i32 {
        self.driver.shared.fd()
    }

    /// Events waiting to be taken.
    fn pending(&self) -> usize {
        self.driver.shared.pending()
    }

    fn join(&self, py: Python<'_>, group: String) -> PyResult<()> {
        self.command(py, move |node| node.join(&group))
    }

    fn leave(&self, py: Python<'_>, group: String) -> PyResult<()> {
        self.command(py, move |node| node.leave(&group))
    }

    fn contest(&self, py: Python<'_>, group: String) -> PyResult<()> {
        self.command(py, move |node| node.contest(&group))
    }

    fn leader<'py>(&self, py: Python<'py>, group: String) -> Option<Bound<'py, PyBytes>> {
        let leader = self.query(py, move |node| node.leader(&group)).flatten()?;
        Some(PyBytes::new(py, leader.as_bytes()))
    }

    /// Queues a message to one peer. `strict`: an unknown peer raises
    /// CommandError; otherwise the message is dropped, as pyre does.
    #[pyo3(signature = (peer, content, strict=true))]
    fn whisper(&self, py: Python<'_>, peer: &[u8], content: &Bound<'_, PyAny>, strict: bool) -> PyResult<()> {
        let peer = convert::peer(peer)?;
        let content = convert::frames(content)?;
        if self.driver.shared.knows_peer(&peer) {
            // Its ENTER reached Python: queued, without waiting.
            self.check_sizes(&content)?;
            return self.send(py, Command::Whisper(peer, content));
        }
        // Whether a peer is known is the node's to say, behind the
        // commands before this one: `peers()` is answered by the node's
        // thread, and lists a peer before its ENTER reaches Python, so a
        // peer it listed may not be in the set above yet. The node takes
        // the whisper or names the peer unknown; an unknown peer first,
        // so that pyre's callers (not `strict`) never hear of a message
        // to a peer that is gone, whatever its size.
        let sent = self.query(py, move |node| {
            if node.peer_name(peer).is_none() {
                return Err(zre::CommandError::UnknownPeer(peer).into());
            }
            node.whisper(peer, content)
        });
        match sent {
            None => Err(stopped()),
            Some(Ok(())) => Ok(()),
            Some(Err(zre::NodeError::Command(zre::CommandError::UnknownPeer(_)))) if !strict => Ok(()),
            Some(Err(err)) => Err(node_error(err)),
        }
    }

    /// Queues a message to every peer in `group`.
    fn shout(&self, py: Python<'_>, group: String, content: &Bound<'_, PyAny>) -> PyResult<()> {
        check_group(&group)?;
        let content = convert::frames(content)?;
        self.check_sizes(&content)?;
        self.send(py, Command::Shout(group, content))
    }

    fn peers<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyBytes>> {
        let peers = self.query(py, |node| node.peers()).unwrap_or_default();
        peers.iter().map(|p| PyBytes::new(py, p.as_bytes())).collect()
    }

    fn peers_by_group<'py>(&self, py: Python<'py>, group: String) -> Vec<Bound<'py, PyBytes>> {
        let peers = self
            .query(py, move |node| node.peers_by_group(&group))
            .unwrap_or_default();
        peers.iter().map(|p| PyBytes::new(py, p.as_bytes())).collect()
    }

    fn own_groups(&self, py: Python<'_>) -> Vec<String> {
        self.query(py, |node| {
            node.own_groups().into_iter().map(str::to_owned).collect()
        })
        .unwrap_or_default()
    }

    fn peer_groups(&self, py: Python<'_>) -> Vec<String> {
        self.query(py, |node| {
            node.peer_groups().into_iter().map(str::to_owned).collect()
        })
        .unwrap_or_default()
    }

    fn peer_endpoint(&self, py: Python<'_>, peer: &[u8]) -> PyResult<Option<String>> {
        let peer = convert::peer(peer)?;
        Ok(self
            .query(py, move |node| node.peer_endpoint(peer).map(str::to_owned))
            .flatten())
    }

    fn peer_name(&self, py: Python<'_>, peer: &[u8]) -> PyResult<Option<String>> {
        let peer = convert::peer(peer)?;
        Ok(self
            .query(py, move |node| node.peer_name(peer).map(str::to_owned))
            .flatten())
    }

    fn peer_headers(&self, py: Python<'_>, peer: &[u8]) -> PyResult<Option<Vec<(String, String)>>> {
        let peer = convert::peer(peer)?;
        Ok(self
            .query(py, move |node| node.peer_headers(peer).cloned())
            .flatten())
    }

    fn peer_header_value(&self, py: Python<'_>, peer: &[u8], key: String) -> PyResult<Option<String>> {
        let peer = convert::peer(peer)?;
        Ok(self
            .query(py, move |node| {
                node.peer_header_value(peer, &key).map(str::to_owned)
            })
            .flatten())
    }

    /// The next event as a tuple `(kind, peer, name, group, content,
    /// headers, endpoint)`, waiting up to `timeout` seconds (`None`: until
    /// one comes); `None` when the time is up. Raises NodeStopped once the
    /// node has stopped and every event was taken.
    #[pyo3(signature = (timeout=None))]
    fn recv<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let deadline = match timeout {
            Some(t) => Some(Instant::now() + seconds("timeout", t)?),
            None => None,
        };
        let shared = &self.driver.shared;
        let mut taken = shared.try_take();
        while let Taken::Empty = taken {
            let now = Instant::now();
            if deadline.is_some_and(|d| d <= now) {
                return Ok(None);
            }
            let slice = now + SIGNAL_CHECK;
            let until = deadline.map_or(slice, |d| d.min(slice));
            taken = py.detach(|| shared.take_until(until));
            if let Taken::Empty = taken {
                py.check_signals()?;
            }
        }
        match taken {
            Taken::Event(event) => convert::event(py, event, |c| shared.recycle(c)).map(Some),
            Taken::Closed => Err(stopped()),
            Taken::Empty => Ok(None),
        }
    }

    /// The next event as pyre's frame list, waiting until one comes;
    /// EVASIVE, SILENT and LEADER are skipped unless `extra_events`.
    /// Raises NodeStopped as `recv`.
    #[pyo3(signature = (extra_events=false))]
    fn recv_pyre<'py>(&self, py: Python<'py>, extra_events: bool) -> PyResult<Bound<'py, PyList>> {
        let shared = &self.driver.shared;
        loop {
            let taken = match shared.try_take() {
                Taken::Empty => py.detach(|| shared.take_until(Instant::now() + SIGNAL_CHECK)),
                taken => taken,
            };
            match taken {
                Taken::Event(event) => {
                    let us = (&self.uuid, self.name.as_str());
                    if let Some(frames) =
                        convert::pyre_frames(py, event, us, extra_events, |c| shared.recycle(c))?
                    {
                        return Ok(frames);
                    }
                }
                Taken::Closed => return Err(stopped()),
                Taken::Empty => py.check_signals()?,
            }
        }
    }

    /// The next event if one waits (never waits), else `None`; raises
    /// NodeStopped as `recv`.
    fn try_recv<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let shared = &self.driver.shared;
        match shared.try_take() {
            Taken::Event(event) => convert::event(py, event, |c| shared.recycle(c)).map(Some),
            Taken::Closed => Err(stopped()),
            Taken::Empty => Ok(None),
        }
    }

    /// Stops the node: GOODBYE to peers (a port-0 beacon), a STOP event,
    /// and waits for its thread. Calling it again does nothing.
    fn stop(&self, py: Python<'_>) {
        py.detach(|| self.driver.stop());
    }
}
