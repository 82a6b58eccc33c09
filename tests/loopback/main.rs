//! Nodes with real sockets on loopback only: beacons to 127.255.255.255
//! (which stays on `lo`), inboxes on 127.0.0.1. Every test has a beacon
//! port of its own (53011-53020 in `node`, 53041-53044 in `back_pressure`, 53031-53034 in `curve`,
//! 53101-53108 in `fd_loop`, `async_node` and `handle_shared`) so that
//! tests running in parallel in this one binary never see each other.

// It also runs the `zre` binary (`CARGO_BIN_EXE_zre`), which only the
// `tools` feature builds.
#[cfg(feature = "tools")]
mod curve;
// Two nodes in one tokio runtime (the `async` feature's adapter).
#[cfg(feature = "async")]
mod async_node;
// A receiver that takes no events: back-pressure, nothing lost.
mod back_pressure;
// A node driven only through its fd and next_timeout(), as an external
// event loop drives it.
mod fd_loop;
mod gossip;
// NodeHandle shared between threads.
mod handle_shared;
mod node;

use std::time::Duration;

/// A loopback node's builder: beacons every 100 ms on `port` (private to
/// one test), the inbox on any free port.
fn loopback(name: &str, port: u16) -> zre::NodeBuilder {
    zre::Node::builder()
        .name(name)
        .interface("lo")
        .beacon_port(port)
        .beacon_interval(Duration::from_millis(100))
        .port_range(zre::PortRange::Any)
}
