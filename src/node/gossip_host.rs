//! Saying at once when a gossip server's host name does not resolve:
//! libzmq only retries in silence.

use log::{debug, warn};

/// Host names of gossip servers being looked up right now, so that a slow
/// resolver does not pile up lookups (one per reconnect).
static GOSSIP_LOOKUPS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Looks up the host of a gossip server endpoint `tcp://HOST:PORT` on a
/// thread of its own (a lookup can block for seconds; the reactor must
/// not) and logs a warning naming the host if it does not resolve. An IP
/// address needs no lookup. libzmq keeps retrying the connection either
/// way.
pub(super) fn check_gossip_host(endpoint: &str) {
    let address = endpoint.strip_prefix("tcp://").unwrap_or(endpoint);
    let Some((host, port)) = address.rsplit_once(':') else {
        return;
    };
    if bare_host(host).parse::<std::net::IpAddr>().is_ok() {
        return;
    }
    let Ok(port) = port.parse::<u16>() else {
        return;
    };
    let host = host.to_owned();
    {
        let Ok(mut running) = GOSSIP_LOOKUPS.lock() else {
            return;
        };
        if running.contains(&host) {
            return;
        }
        running.push(host.clone());
    }
    let endpoint = endpoint.to_owned();
    let spawned = std::thread::Builder::new()
        .name("zre-gossip-lookup".into())
        .spawn({
            let host = host.clone();
            move || {
                use std::net::ToSocketAddrs;
                match (bare_host(&host), port)
                    .to_socket_addrs()
                    .map(|mut addrs| addrs.next().is_some())
                {
                    Ok(true) => {
                        debug!("gossip server {endpoint}: {host} resolves");
                    }
                    Ok(false) => warn!(
                        "gossip server {endpoint}: host name '{host}' resolves to no address; still retrying"
                    ),
                    Err(err) => warn!(
                        "gossip server {endpoint}: host name '{host}' does not resolve ({err}); still retrying"
                    ),
                }
                if let Ok(mut running) = GOSSIP_LOOKUPS.lock() {
                    running.retain(|h| *h != host);
                }
            }
        });
    if spawned.is_err() {
        if let Ok(mut running) = GOSSIP_LOOKUPS.lock() {
            running.retain(|h| *h != host);
        }
    }
}

/// A host without the brackets of an IPv6 literal.
fn bare_host(host: &str) -> &str {
    host.trim_start_matches('[').trim_end_matches(']')
}
