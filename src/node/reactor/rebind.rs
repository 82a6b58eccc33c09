//! The interface's address changed (see `host/address_watch.rs`): bind the
//! inbox at the new address (the same port when it is free), close the old
//! binding (and with it every connection accepted there), open the beacon
//! socket(s) again, and tell the core and the gossip servers the new
//! endpoint. A bind that fails (an IPv6 address still tentative, the port
//! taken) is tried again at the next check; the old state stays meanwhile.

use super::Node;
use crate::config::PortRange;
use crate::core::ZyreUuid;
use crate::host::address_watch::Change;
use crate::host::interface::Interface;
use crate::node::builder::endpoint_of;
use crate::node::setup::bind_inbox;
use log::{debug, info, warn};
use std::time::Instant;

impl Node {
    /// Checks, when due, that our address is still ours; follows a move.
    pub(super) fn watch_address(&mut self, now: Instant) {
        let Some(watch) = self.address_watch.as_mut() else {
            return;
        };
        if !watch.due(now) {
            return;
        }
        let Change::Moved(iface) = watch.check(now) else {
            return;
        };
        // Binding and unbinding make libzmq process the inbox's pending
        // commands, as a read of ZMQ_EVENTS does, and with them the edge
        // of ZMQ_FD for a message that came since the inbox was drained:
        // look at the inbox again, whether the bind worked or not.
        self.inbox_ready = true;
        if let Err(err) = self.rebind_at(now, &iface) {
            // Said once per address: the check comes back every second.
            if self.rebind.failed_at != Some(iface.address) {
                warn!(
                    "interface {}: our address {} is gone and {} came; cannot bind there yet ({err}): trying again each second",
                    iface.name, self.interface.address, iface.address
                );
                self.rebind.failed_at = Some(iface.address);
            }
        }
    }

    fn rebind_at(&mut self, now: Instant, iface: &Interface) -> Result<(), crate::error::NodeError> {
        let old_port = self.core.config().port;
        // Our port first, so that what peers and gossip servers know of us
        // changes only in the address; else any port of the range.
        let port = bind_inbox(
            &self.inbox,
            iface,
            &PortRange::Range {
                low: old_port,
                high: old_port,
            },
            self.core.uuid(),
        )
        .or_else(|_| bind_inbox(&self.inbox, iface, &self.rebind.port_range, self.core.uuid()))?;
        let bound = self.inbox.get_last_endpoint()?.unwrap_or_default();
        if let Err(err) = self.inbox.unbind(&self.rebind.bound) {
            debug!("unbinding {}: {err}", self.rebind.bound);
        }
        let old_bound = std::mem::replace(&mut self.rebind.bound, bound);
        if let Some(target) = &self.rebind.beacon {
            match target.open(iface) {
                Ok(mut socket) => {
                    if let Some(old) = self.beacon.as_mut() {
                        old.deregister(self.poll.registry());
                    }
                    socket.register(self.poll.registry(), super::BEACON)?;
                    self.beacon = Some(socket);
                    self.beacon_ready = true;
                }
                Err(err) => warn!(
                    "interface {}: cannot open the beacon socket again: {err}",
                    iface.name
                ),
            }
        }
        // An advertised --endpoint stays as the user gave it.
        let old_endpoint = endpoint_of(self.interface.address, old_port);
        let endpoint = if self.core.endpoint() == old_endpoint {
            endpoint_of(iface.address, port)
        } else {
            self.core.endpoint().to_owned()
        };
        info!(
            "interface {}: address {} replaced by {}: inbox moved from {old_bound} to {}",
            iface.name, self.interface.address, iface.address, self.rebind.bound
        );
        self.core
            .change_endpoint(now, &endpoint, port, Some(iface.subnet()));
        self.inbox_watch.moved_to(port);
        if let Some(gossip) = self.gossip.as_mut() {
            let key = ZyreUuid(self.core.uuid()).to_string();
            gossip.publish(now, &key, &self.core.gossip_value());
        }
        if let Some(watch) = self.address_watch.as_mut() {
            watch.moved(iface.clone());
        }
        self.rebind.failed_at = None;
        self.interface = iface.clone();
        Ok(())
    }
}
