//! A node that is its own gossip server (`--gossip-bind`,
//! [`crate::NodeBuilder::gossip_bind`], as Zyre's `zyre_gossip_bind`): a
//! [`GossipService`] beside the node's gossip client, in the node's poll
//! (the service's own epoll descriptor is registered there). Other nodes
//! `-g` to it; it publishes our tuple and relays theirs, and every tuple
//! it stores is a peer for our core, as a tuple from a remote server is.
//! In plain mode it also shares its tuples with the `-g` servers, as
//! servers do (chains).

use super::*;
use crate::core::gossip_server::ServerConfig;
use crate::gossip::{GossipEvent, GossipService};

/// The in-node server and when our tuple is due again.
pub(crate) struct InNodeGossip {
    service: GossipService,
    key: String,
    value: String,
    ttl: Duration,
    next_publish: Instant,
}

impl InNodeGossip {
    /// The endpoints it listens on, as bound.
    pub(crate) fn endpoints(&self) -> &[String] {
        self.service.endpoints()
    }

    /// When it must next run.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        [self.service.next_deadline(), Some(self.next_publish)]
            .into_iter()
            .flatten()
            .min()
    }
}

impl Node {
    /// Binds the in-node gossip server on `endpoint` and publishes our
    /// tuple on it; `remotes` are servers to share tuples with.
    pub(super) fn start_gossip_bind(&mut self, endpoint: &str, remotes: &[String]) -> Result<(), NodeError> {
        let endpoint = if endpoint.contains("://") {
            endpoint.to_owned()
        } else {
            format!("tcp://{endpoint}")
        };
        let secret = self.settings.curve.map(|keys| keys.secret);
        let mut service = GossipService::bind_with(&[endpoint], ServerConfig::default(), secret)?;
        self.poll.registry().register(
            &mut SourceFd(&service.as_raw_fd()),
            GOSSIP_SERVER,
            Interest::READABLE,
        )?;
        let ttl = self.core.config().expired;
        let key = ZyreUuid(self.core.uuid()).to_string();
        let value = self.core.gossip_value();
        service.publish(&key, &value, ttl)?;
        if self.settings.curve.is_none() {
            for remote in remotes {
                service.connect(remote)?;
            }
        }
        self.gossip_server = Some(InNodeGossip {
            service,
            key,
            value,
            ttl,
            next_publish: Instant::now() + ttl / 3,
        });
        self.gossip_server_ready = true;
        Ok(())
    }

    /// The endpoints our in-node gossip server listens on (none without
    /// [`crate::NodeBuilder::gossip_bind`]).
    pub fn gossip_bound(&self) -> Vec<String> {
        self.gossip_server
            .as_ref()
            .map(|g| g.endpoints().to_vec())
            .unwrap_or_default()
    }

    /// Runs the in-node server: its traffic, its timers, our re-publish;
    /// every tuple it delivers goes to the core.
    pub(super) fn service_gossip_server(&mut self, now: Instant) -> io::Result<()> {
        let Some(server) = self.gossip_server.as_mut() else {
            return Ok(());
        };
        let due = server.next_deadline().is_some_and(|t| t <= now);
        if !self.gossip_server_ready && !due {
            return Ok(());
        }
        self.gossip_server_ready = false;
        if server.next_publish <= now {
            server.next_publish = now + server.ttl / 3;
            if let Err(err) = server.service.publish(&server.key, &server.value, server.ttl) {
                warn!("gossip server: cannot publish our tuple: {err}");
            }
        }
        server.service.run_once(Some(Duration::ZERO))?;
        while let Some(event) = server.service.next_event() {
            match event {
                GossipEvent::Delivered { key, value } => {
                    if key != server.key {
                        debug!("gossip server: {key} = {value}");
                        self.core.handle_gossip_tuple(now, &key, &value);
                    }
                }
                GossipEvent::Expired { key } => debug!("gossip server: {key} expired"),
            }
        }
        Ok(())
    }
}

impl Node {
    /// On a clean stop: our tuple is published once more with a TTL of
    /// 1 ms on every gossip server we are a client of, which our servers
    /// take as its end (see `GossipClient::unpublish`); the gossip DEALERs
    /// linger for that last frame.
    pub(super) fn unpublish_gossip(&mut self) {
        let Some(mut gossip) = self.gossip.take() else {
            return;
        };
        gossip.unpublish();
        let linger = self.settings.linger.as_millis().clamp(0, i32::MAX as u128) as i32;
        for (_, socket) in self.links.gossip_sockets() {
            let _ = socket.set_linger(linger);
        }
        if let Err(err) = self.drive_gossip(&mut gossip, Instant::now()) {
            warn!("while unpublishing from the gossip servers: {err}");
        }
        self.gossip = Some(gossip);
    }
}
