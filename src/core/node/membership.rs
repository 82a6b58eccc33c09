//! What peers tell us of their groups (JOIN, LEAVE, and the status byte
//! that counts them), kept in the group table with its per-peer limit.

use super::*;

impl NodeCore {
    pub(super) fn join_peer_group(&mut self, uuid: Uuid, group: &str) {
        if group.is_empty() {
            return;
        }
        let group = self.groups.intern(group);
        let Some(peer) = self.peers.get_mut(&uuid) else {
            return;
        };
        peer.status = peer.status.wrapping_add(1);
        let name = peer.name.clone();
        if self.groups.has_member(&group, uuid) {
            return;
        }
        if self.groups.count_of(uuid) >= self.config.max_peer_groups {
            if !peer.warned_group_limit {
                peer.warned_group_limit = true;
                warn!(
                    "{name} ({}) is in more than {} groups: not tracking the rest",
                    uuid.simple(),
                    self.config.max_peer_groups
                );
            }
            return;
        }
        if self.groups.add_member(group.clone(), uuid) {
            debug!("JOIN {name} -> {group}");
            self.events.push_back(Event::Join {
                peer: uuid,
                name,
                group: group.clone(),
            });
            self.elections_member_joined(&group, uuid);
        }
    }

    pub(super) fn leave_peer_group(&mut self, uuid: Uuid, group: &str) {
        let Some(peer) = self.peers.get_mut(&uuid) else {
            return;
        };
        peer.status = peer.status.wrapping_add(1);
        let name = peer.name.clone();
        let group = self.groups.intern(group);
        if self.groups.remove_member(&group, uuid) {
            debug!("LEAVE {name} <- {group}");
            self.events.push_back(Event::Leave {
                peer: uuid,
                name,
                group: group.clone(),
            });
            self.elections_member_left(&group, uuid, None);
        }
    }

    /// Zyre and pyre abort on a mismatch; we log it and resynchronise.
    pub(super) fn check_status(&mut self, uuid: Uuid, status: u8) {
        let Some(peer) = self.peers.get_mut(&uuid) else {
            return;
        };
        if peer.status != status {
            warn!(
                "group status of {} ({}) is {status}, we counted {}: resynchronising",
                peer.name,
                uuid.simple(),
                peer.status
            );
            peer.status = status;
        }
    }
}
