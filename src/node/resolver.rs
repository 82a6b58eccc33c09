//! Seed peers given by name (`--peer HOST:PORT` with a DNS name): a small
//! thread resolves each name, every [`RESOLVE_INTERVAL`], and wakes the
//! node's loop through a pipe registered in its poll. `getaddrinfo`
//! blocks, for seconds when a DNS server does not answer; the loop must
//! not, and the core has no async runtime.
//!
//! Why every 10 s: a name for a set of instances (a headless service in a
//! container network, several lines in a hosts file) changes as instances
//! come and go, and a new instance must be found without a beacon. Ten
//! seconds finds it well within the 30 s a silent peer takes to expire,
//! while costing one lookup per name per 10 s (container DNS answers from
//! memory; Kubernetes' CoreDNS caches for 30 s anyway). A name that does
//! not resolve is logged once, until it does again.

use log::{info, warn};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

/// How often each seed name is looked up again (see the module doc).
pub(crate) const RESOLVE_INTERVAL: Duration = Duration::from_secs(10);

/// What one lookup gave: the addresses a seed name stands for now.
pub(crate) struct Resolved {
    /// The name as given (`HOST:PORT`).
    pub origin: String,
    /// Every address of our family (may be empty), with the port.
    pub addresses: Vec<SocketAddr>,
}

/// A seed name to look up.
#[derive(Clone)]
struct Name {
    origin: String,
    host: String,
    port: u16,
}

#[derive(Default)]
struct Shared {
    names: Vec<Name>,
    /// Names added since the thread last looked: looked up at once.
    added: bool,
    stop: bool,
}

/// The lookup thread and the pipe it wakes the loop with.
pub(crate) struct Resolver {
    shared: Arc<(Mutex<Shared>, Condvar)>,
    results: mpsc::Receiver<Resolved>,
    wake: mio::unix::pipe::Receiver,
    thread: Option<thread::JoinHandle<()>>,
}

impl Resolver {
    /// Starts the thread; `ipv6` picks the addresses a node of that
    /// family can reach.
    pub(crate) fn start(ipv6: bool) -> io::Result<Resolver> {
        let (mut sender, wake) = mio::unix::pipe::new()?;
        let (results_tx, results) = mpsc::channel();
        let shared = Arc::new((Mutex::new(Shared::default()), Condvar::new()));
        let thread = thread::Builder::new().name("zre-resolver".into()).spawn({
            let shared = shared.clone();
            move || run(&shared, ipv6, &results_tx, &mut sender)
        })?;
        Ok(Resolver {
            shared,
            results,
            wake,
            thread: Some(thread),
        })
    }

    /// The pipe to register for reading in the node's poll.
    pub(crate) fn source(&mut self) -> &mut mio::unix::pipe::Receiver {
        &mut self.wake
    }

    /// Adds a name (`host`, `port`, as given in `origin`), looked up at once.
    pub(crate) fn add(&self, origin: &str, host: &str, port: u16) {
        let (lock, wakeup) = &*self.shared;
        let Ok(mut shared) = lock.lock() else {
            return;
        };
        if shared.names.iter().any(|n| n.origin == origin) {
            return;
        }
        shared.names.push(Name {
            origin: origin.to_owned(),
            host: host.to_owned(),
            port,
        });
        shared.added = true;
        wakeup.notify_one();
    }

    /// The lookups done since the last call (empties the wake pipe).
    pub(crate) fn take(&mut self) -> Vec<Resolved> {
        let mut buffer = [0u8; 64];
        while matches!(self.wake.read(&mut buffer), Ok(n) if n > 0) {}
        self.results.try_iter().collect()
    }
}

impl Drop for Resolver {
    fn drop(&mut self) {
        let (lock, wakeup) = &*self.shared;
        if let Ok(mut shared) = lock.lock() {
            shared.stop = true;
        }
        wakeup.notify_one();
        // Not joined: a lookup can block for seconds, and the thread ends
        // on its own once it sees `stop` (or finds the channel closed).
        drop(self.thread.take());
    }
}

fn run(
    shared: &(Mutex<Shared>, Condvar),
    ipv6: bool,
    results: &mpsc::Sender<Resolved>,
    wake: &mut mio::unix::pipe::Sender,
) {
    let (lock, wakeup) = shared;
    // Names that did not resolve last time: logged once until they do.
    let mut failing: Vec<String> = Vec::new();
    loop {
        let names = {
            let Ok(mut state) = lock.lock() else {
                return;
            };
            if state.stop {
                return;
            }
            state.added = false;
            state.names.clone()
        };
        for name in names {
            let addresses = match lookup(&name.host, name.port, ipv6) {
                Ok(addresses) if !addresses.is_empty() => {
                    if failing.contains(&name.origin) {
                        failing.retain(|o| *o != name.origin);
                        let list: Vec<String> = addresses.iter().map(SocketAddr::to_string).collect();
                        info!("seed {} resolves again: {}", name.origin, list.join(", "));
                    }
                    addresses
                }
                Ok(_) | Err(_) if failing.contains(&name.origin) => Vec::new(),
                Ok(_) => {
                    warn!(
                        "seed {}: no {} address; looking again every {RESOLVE_INTERVAL:?}",
                        name.origin,
                        if ipv6 { "IPv6" } else { "IPv4" }
                    );
                    failing.push(name.origin.clone());
                    Vec::new()
                }
                Err(err) => {
                    warn!(
                        "seed {}: host name does not resolve ({err}); looking again every {RESOLVE_INTERVAL:?}",
                        name.origin
                    );
                    failing.push(name.origin.clone());
                    Vec::new()
                }
            };
            let resolved = Resolved {
                origin: name.origin,
                addresses,
            };
            if results.send(resolved).is_err() {
                return;
            }
            // A full pipe already wakes the loop.
            let _ = wake.write(&[1]);
        }
        let Ok(state) = lock.lock() else {
            return;
        };
        let Ok((state, _)) = wakeup.wait_timeout_while(state, RESOLVE_INTERVAL, |s| !s.stop && !s.added)
        else {
            return;
        };
        if state.stop {
            return;
        }
    }
}

/// Every address of `host` in our family, with `port` (sorted, without
/// duplicates: getaddrinfo gives one per socket type; a scope it gives is
/// dropped, the core gives link-local addresses ours).
fn lookup(host: &str, port: u16, ipv6: bool) -> io::Result<Vec<SocketAddr>> {
    let mut addresses: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()?
        .filter(|addr| addr.is_ipv6() == ipv6)
        .map(|addr| SocketAddr::new(addr.ip(), addr.port()))
        .collect();
    addresses.sort();
    addresses.dedup();
    Ok(addresses)
}
