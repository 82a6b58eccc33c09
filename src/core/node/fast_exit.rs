//! Fast EXIT: a peer whose process is gone is removed as soon as that is
//! certain, not when it expires. The I/O layer reports that a peer's
//! connection to our inbox closed (all it sent has been read by then);
//! we ask it to probe the inbox port of each ready peer on that host, and
//! a refused connection (ECONNREFUSED: the host answered, nothing listens
//! there any more) is the EXIT. Silence without refusal (a pulled cable,
//! a crashed host, a stopped process) is left to the evasive and expired
//! timers, so a short outage never costs a peer. Zyre has no such path.

use super::*;
use crate::core::endpoint::Host;

impl NodeCore {
    /// A connection from `host` to our inbox closed after its handshake:
    /// each ready peer at that host whose port is not being probed already
    /// gets an [`Action::Probe`]. Nothing happens with `fast_exit` off.
    pub fn handle_link_lost(&mut self, _now: Instant, host: IpAddr) {
        if self.stopped || !self.config.fast_exit {
            return;
        }
        let host = host.to_canonical();
        // In the UUIDs' order, so that the probes are too.
        let (stats, next_probe, actions) = (&mut self.stats, &mut self.next_probe, &mut self.actions);
        self.peers.for_each_mut(|_, peer| {
            if !peer.ready || peer.probe.is_some() || endpoint_host(&peer.endpoint) != Some(host) {
                return;
            }
            debug!(
                "a connection from {host} closed: probing {} at {}",
                peer.uuid.simple(),
                peer.endpoint
            );
            start_probe(stats, next_probe, actions, peer);
        });
    }

    /// The connection from `peer` to our inbox closed after its handshake
    /// (the I/O layer knew whose it was): that peer, if ready and not
    /// being probed already, gets an [`Action::Probe`]. Other peers at its
    /// host are left alone: on one host (containers behind one address, a
    /// test bench) those are all of them.
    pub fn handle_peer_link_lost(&mut self, _now: Instant, peer: Uuid) {
        if self.stopped || !self.config.fast_exit {
            return;
        }
        let Some(peer) = self.peers.get_mut(&peer).filter(|p| p.ready && p.probe.is_none()) else {
            return;
        };
        debug!(
            "the connection from {} closed: probing {}",
            peer.uuid.simple(),
            peer.endpoint
        );
        start_probe(&mut self.stats, &mut self.next_probe, &mut self.actions, peer);
    }

    /// `probe` of `peer`'s inbox port was refused: its process is gone,
    /// so it is removed now (EXIT). A probe the peer no longer has (it
    /// restarted, or another UUID took its endpoint over) changes nothing.
    pub fn handle_link_refused(&mut self, _now: Instant, peer: Uuid, probe: u64) {
        let Some(gone) = self.peers.get(&peer).filter(|p| p.probe == Some(probe)) else {
            return;
        };
        info!(
            "peer {} ({}) refuses connections at {}: its process is gone",
            gone.name,
            peer.simple(),
            gone.endpoint
        );
        self.remove_peer(peer, Removal::Unreachable);
    }

    /// `probe` of `peer`'s inbox port connected but nothing came on it
    /// before the probe's end: neither the greeting a live libzmq inbox
    /// sends at once nor a reset or end of stream. The port is still
    /// open, served by no one: a stopped process, or one being torn down
    /// (its connections can close before its listening socket does, and a
    /// probe that came in between stayed silent for the whole probe: in 2
    /// of 213 runs of ten SIGKILLs under load, each then gone only at the
    /// probe after SILENT, ~8 s). So it is probed again at the next tick,
    /// up to `SILENT_REPROBES` (3) times until it sends something: a
    /// dying process refuses by then, a stopped one stays on its timers.
    pub fn handle_link_silent(&mut self, now: Instant, peer: Uuid, probe: u64) {
        let Some(silent) = self.peers.get_mut(&peer).filter(|p| p.probe == Some(probe)) else {
            return;
        };
        silent.probe = None;
        // It said it was leaving and did not answer: it is.
        if self.leave_probed(now, peer, true) {
            return;
        }
        let Some(silent) = self.peers.get_mut(&peer) else {
            return;
        };
        if silent.silent_probes >= SILENT_REPROBES {
            return;
        }
        silent.silent_probes += 1;
        silent.reprobe_at = Some(now);
        debug!(
            "peer {} ({}): its port at {} is open but silent: probing it again",
            silent.name,
            peer.simple(),
            silent.endpoint
        );
        self.schedule(peer);
    }

    /// `probe` of `peer`'s inbox port was answered, timed out or found no
    /// route: the peer stays, on its timers, and may be probed again.
    pub fn handle_link_answered(&mut self, now: Instant, peer: Uuid, probe: u64) {
        let Some(answered) = self.peers.get_mut(&peer).filter(|p| p.probe == Some(probe)) else {
            return;
        };
        answered.probe = None;
        // Not refused: a claim that it was leaving is dropped (a live
        // inbox, slow to read us, or no answer: no proof); it stays on
        // its timers.
        self.leave_probed(now, peer, false);
    }
}

/// Probes again after a silent one, per silence (see
/// [`NodeCore::handle_link_silent`]): a stopped peer costs this many
/// connections to its backlog, then waits for its timers.
const SILENT_REPROBES: u8 = 3;

/// Numbers a new probe of `peer`'s inbox port, marks it in flight and asks
/// the I/O layer for it, and counts it. A free function: callers hold
/// `peer` borrowed from the peer table while they walk it.
pub(super) fn start_probe(
    stats: &mut CoreCounters,
    next_probe: &mut u64,
    actions: &mut VecDeque<Action>,
    peer: &mut Peer,
) {
    stats.probes += 1;
    *next_probe += 1;
    peer.probe = Some(*next_probe);
    actions.push_back(Action::Probe {
        peer: peer.uuid,
        endpoint: peer.endpoint.clone(),
        probe: *next_probe,
    });
}

/// The IP address of a `tcp://IP:PORT` endpoint, an IPv4-mapped one as
/// IPv4; `None` for a host name, and for a link-local address with a
/// scope (`tcp://[fe80::1%2]:…`), which the text this was read from
/// before did not parse either.
fn endpoint_host(endpoint: &Endpoint) -> Option<IpAddr> {
    match endpoint.host {
        Host::Ip { ip, scope: None } => Some(ip.to_canonical()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::endpoint::LinkScope;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn endpoint_hosts_parse() {
        let host = |text: &str| {
            let scope = LinkScope {
                index: 2,
                name: "eth0".into(),
            };
            endpoint_host(&Endpoint::parse(text, Some(&scope)).unwrap())
        };
        let v4 = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(host("tcp://10.0.0.2:41000"), Some(v4));
        assert_eq!(host("tcp://[::1]:41000"), Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert_eq!(host("tcp://[::ffff:10.0.0.2]:41000"), Some(v4));
        assert_eq!(host("tcp://example.org:41000"), None);
        assert_eq!(host("tcp://[fe80::1]:41000"), None);
    }
}
