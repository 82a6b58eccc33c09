//! File descriptors as a budget. Each peer costs up to three: the
//! mailbox of its DEALER, the DEALER's TCP connection, and its own
//! connection to our inbox. Under the common soft limit of 1 024 open
//! files a table of 1 024 peers cannot be met, and libzmq's first socket
//! that finds no descriptor was the end of the node ("Too many open
//! files"). So the table is sized from the limit, a failed link is "not
//! now" for that peer (`NodeCore::handle_connect_failed`), and the tools
//! raise the soft limit to the hard one at start (a library does that
//! only when asked: [`crate::NodeBuilder::raise_fd_limit`]).

use log::{info, warn};
use rlimit::Resource;

/// Descriptors one peer may hold.
pub(crate) const FDS_PER_PEER: u64 = 3;
/// Descriptors kept for the node's own sockets (inbox, beacon, monitor,
/// libzmq's I/O thread, gossip links), probes and the application.
pub(crate) const RESERVED_FDS: u64 = 96;
/// libzmq's default ZMQ_MAX_SOCKETS (1 023), less our own sockets: one
/// DEALER per peer.
pub(crate) const ZMQ_SOCKET_ROOM: usize = 1016;

/// The soft open-file limit, raised to the hard limit when `raise`.
pub(crate) fn open_file_limit(raise: bool) -> Option<u64> {
    let (soft, hard) = Resource::NOFILE.get().ok()?;
    if !raise || soft >= hard {
        return Some(soft);
    }
    match rlimit::increase_nofile_limit(hard) {
        Ok(raised) => {
            info!("open-file limit raised from {soft} to {raised} (the hard limit {hard})");
            Some(raised)
        }
        Err(err) => {
            warn!("cannot raise the open-file limit from {soft} to {hard}: {err}");
            Some(soft)
        }
    }
}

/// The most peers `limit` open files allow.
pub(crate) fn peers_for(limit: u64) -> usize {
    let peers = limit.saturating_sub(RESERVED_FDS) / FDS_PER_PEER;
    usize::try_from(peers)
        .unwrap_or(usize::MAX)
        .clamp(2, ZMQ_SOCKET_ROOM)
}

/// `wanted` peers, or fewer if the descriptors (or libzmq's sockets)
/// cannot hold them, said in the log with the real cap.
pub(crate) fn size_peer_table(wanted: usize, limit: Option<u64>) -> usize {
    let room = limit.map_or(ZMQ_SOCKET_ROOM, peers_for);
    if wanted > room && limit.is_none_or(|l| peers_for(l) >= ZMQ_SOCKET_ROOM) {
        info!("peer table: {wanted} peers asked for, {room} fit (libzmq's socket limit): using {room}");
        return room;
    }
    if wanted > room {
        let limit = limit.unwrap_or_default();
        // The table never goes below two peers; under this limit even
        // those may find no descriptor, and links fail ("later").
        let least = RESERVED_FDS + 2 * FDS_PER_PEER;
        if limit < least {
            warn!(
                "peer table: the open-file limit {limit} leaves no room for peers ({RESERVED_FDS} kept, {FDS_PER_PEER} per peer): \
                 using {room} anyway, whose links may fail; raise it with ulimit -n (at least {least})"
            );
        } else {
            warn!(
                "peer table: {wanted} peers asked for, {room} fit (open-file limit {limit}, {FDS_PER_PEER} per peer and {RESERVED_FDS} kept; raise it with ulimit -n): using {room}"
            );
        }
        return room;
    }
    wanted
}

/// Descriptors always left free. Once none is left, libzmq spins on
/// `accept` for a connection waiting at the inbox (a core at 100 %, until
/// a descriptor frees up), and probes and the application need some too:
/// a link is not opened, and a connection to the inbox is shed, rather
/// than take these (see `inbox_watch.rs`).
pub(crate) const KEEP_FREE: u64 = 32;

/// Descriptors a link of ours takes at most (its DEALER's mailbox and
/// connection, and in CURVE mode its handshake watch): connections to
/// our inbox are shed before they leave less than this beyond
/// [`KEEP_FREE`], or at a low limit they took the room our links needed
/// and the node met nobody.
pub(crate) const LINK_FDS_MOST: u64 = 3;
/// Descriptors a node opens as it starts, at most, with some room: libzmq's
/// context (the epoll and mailbox of its I/O and reaper threads), the
/// inbox, its monitor, the beacon socket, the poll and its waker; a few
/// for the application (the tools' signal pipe, waker and metrics
/// listener); and, to be of use, two peers' links and [`KEEP_FREE`].
pub(crate) const NODE_START_FDS: usize = 24 + 4 + 2 * FDS_PER_PEER as usize + KEEP_FREE as usize;
/// More for CURVE mode: the ZAP handler's sockets.
pub(crate) const CURVE_START_FDS: usize = 2;
/// More for each link opened at start: a seed peer, a gossip server.
pub(crate) const LINK_START_FDS: usize = 2;
/// More for a gossip server of the node's own: its context, listener and
/// sockets.
pub(crate) const GOSSIP_SERVER_OWN_FDS: usize = 14;
/// A [`crate::GossipService`] alone: its own, a few clients, [`KEEP_FREE`].
pub(crate) const GOSSIP_SERVER_START_FDS: usize = GOSSIP_SERVER_OWN_FDS + 4 + KEEP_FREE as usize;

/// Refuses to start what needs `needed` descriptors when fewer are free
/// under the soft open-file limit: libzmq aborts the whole process when
/// its context finds none for its threads' epoll (`epoll.cpp`, at limits
/// of 8-10 for a node, 30-32 with a gossip server), and fails elsewhere
/// with errors that name nothing. Unknown counts (no /proc) pass.
pub(crate) fn check_room_to_start(needed: usize) -> Result<(), crate::NodeError> {
    let (Some(limit), Some(open)) = (open_file_limit(false), fds_in_use()) else {
        return Ok(());
    };
    log::debug!("open-file limit {limit}: {open} open, {needed} needed to start");
    if limit.saturating_sub(open as u64) < needed as u64 {
        return Err(crate::NodeError::Descriptors { limit, open, needed });
    }
    Ok(())
}

/// Whether `n` more descriptors can be opened and still leave
/// [`KEEP_FREE`] under the soft open-file limit; false when none is left
/// to count them with, true when unknown (no /proc).
pub(crate) fn room_for(n: u64) -> bool {
    free_now().is_none_or(|free| free >= n + KEEP_FREE)
}

/// Descriptors free now under the soft open-file limit: 0 when none is
/// left to list them with (EMFILE, ENFILE), `None` when unknown (no
/// /proc, no limit).
fn free_now() -> Option<u64> {
    let limit = open_file_limit(false)?;
    match count_open() {
        Ok(open) => Some(limit.saturating_sub(open as u64)),
        Err(err) if matches!(err.raw_os_error(), Some(code) if code == EMFILE || code == ENFILE) => Some(0),
        Err(_) => None,
    }
}

/// `EMFILE` and `ENFILE` (Linux): out of descriptors, for the process and
/// for the system.
const EMFILE: i32 = 24;
const ENFILE: i32 = 23;

/// The most connections to the inbox that leave, under the soft limit,
/// room for `max_peers` links of ours (2 descriptors each) and
/// [`KEEP_FREE`]: at most one per peer and `margin` more, at least one.
/// Under a low limit a crowd's links to us would otherwise take the
/// descriptors our own links need.
pub(crate) fn inbound_cap(max_peers: usize, margin: usize) -> usize {
    let most = max_peers + margin;
    let Some(free) = free_now() else {
        return most;
    };
    let room = free.saturating_sub(2 * max_peers as u64 + KEEP_FREE);
    usize::try_from(room).unwrap_or(usize::MAX).clamp(1, most)
}

/// Descriptors this process has open now (Linux: /proc/self/fd).
pub(crate) fn fds_in_use() -> Option<usize> {
    count_open().ok()
}

/// /proc/self/fd's entries, less the one its own listing holds open.
fn count_open() -> std::io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/fd")?.count().saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_fits_the_limit() {
        assert_eq!(peers_for(1024), (1024 - 96) / 3);
        assert_eq!(size_peer_table(1024, Some(1024)), 309);
        assert_eq!(size_peer_table(100, Some(1024)), 100);
        assert_eq!(size_peer_table(1024, Some(1 << 20)), ZMQ_SOCKET_ROOM);
        assert_eq!(peers_for(10), 2);
    }
}
