//! The DEALER link table: one ZeroMQ DEALER per peer inbox (RFC 36 §3:
//! each node connects a DEALER to every peer's ROUTER) and per ZGossip
//! server, each with a queue of its own behind libzmq's high-water mark.
//!
//! A send goes straight into libzmq while the link has nothing queued;
//! when libzmq refuses (its queue holds `send_hwm` messages), the message
//! waits here and the link's ZMQ_FD is watched in the poll until there is
//! room. The table only moves messages: what to do with a sent message's
//! buffers (recycle them) and with a peer that fell too far behind (forget
//! it) is the caller's, told by [`Sent`].

use super::reactor::CurveKeys;
use super::zmq_frame::{ZmqFrame, send_copy};
use crate::core::sorted_table::SortedTable;
use crate::core::{Frame, HeaderFrame};
use crate::wire::curve_key::CurveKey;
use log::warn;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::io;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Content frames at least this large are handed to libzmq without a copy
/// (it takes the buffer over and frees it when sent); smaller ones cost
/// less to copy than libzmq's extra bookkeeping for a foreign buffer.
const ZERO_COPY_MIN: usize = 8192;

/// How a DEALER is set up. Every DEALER the crate opens (to a peer's
/// inbox, to a gossip server, from our gossip server to a remote one) is
/// made by [`new_dealer`], so that they differ only in these settings.
#[derive(Default)]
pub(crate) struct DealerSetup<'a> {
    /// The ZeroMQ identity the other side's ROUTER sees (ZRE: 1 and our
    /// UUID, RFC 36 §3; haskell-zre's ZGossip: our UUID).
    pub(crate) identity: Option<&'a [u8]>,
    /// Messages libzmq queues before a send is refused (libzmq's default
    /// when `None`).
    pub(crate) send_hwm: Option<i32>,
    /// How long closing the socket waits for what libzmq still holds.
    pub(crate) linger: Duration,
    /// CURVE: our key pair and the other side's public key.
    pub(crate) curve: Option<(&'a CurveKeys, &'a CurveKey)>,
}

/// Stops libzmq's monitor of `socket` (a CURVE link's handshake watch,
/// `handshake_watch.rs`), before the watch closes its reading end. libzmq
/// sends each monitor event from its I/O thread with a blocking send: an
/// event for a monitor whose reader is gone (the link's connection broke
/// and its next handshake succeeded or failed) would block that thread for
/// good, and with it every socket of the node: no handshake, no inbox.
/// Found by the CURVE chaos schedule (seed 1796491274301713771 with
/// `CHAOS_SECS=120`: after a 4 s link down, n8's peers never met it again).
pub(crate) fn stop_monitor(socket: &mut zmq::Socket) {
    // SAFETY: the socket pointer is live for the call (we hold the socket
    // mutably); a null endpoint is zmq_socket_monitor's documented way to
    // stop a monitor (nothing happens if there is none).
    unsafe {
        zmq_sys::zmq_socket_monitor(socket.as_mut_ptr(), std::ptr::null(), 0);
    }
}

/// A DEALER for `endpoint` (not connected yet: the caller connects, and
/// decides what a refused connect means).
pub(crate) fn new_dealer(
    context: &zmq::Context,
    endpoint: &str,
    setup: &DealerSetup<'_>,
) -> zmq::Result<zmq::Socket> {
    let socket = context.socket(zmq::DEALER)?;
    // IPv6 endpoints (`tcp://[fd00::1]:port`) connect only with this.
    socket.set_ipv6(endpoint.contains('['))?;
    if let Some(identity) = setup.identity {
        socket.set_identity(identity)?;
    }
    if let Some(hwm) = setup.send_hwm {
        socket.set_sndhwm(hwm)?;
    }
    // A full queue is EAGAIN at once; the link queues the message.
    socket.set_sndtimeo(0)?;
    socket.set_linger(setup.linger.as_millis().min(i32::MAX as u128) as i32)?;
    if let Some((keys, server)) = setup.curve {
        keys.client(&socket, server)?;
    }
    Ok(socket)
}

/// A message waiting for room in a DEALER's queue: the ZRE or ZGossip
/// header frame, then the content frames (WHISPER and SHOUT only).
pub(crate) struct Outgoing {
    pub header: HeaderFrame,
    pub content: Payload,
}

/// The content frames of an [`Outgoing`] message.
pub(crate) enum Payload {
    /// No content (every message but WHISPER and SHOUT).
    None,
    /// Frames of our own (a WHISPER's, moved from the application).
    Owned(Vec<Frame>),
    /// libzmq messages sharing a SHOUT's content with its other members.
    Zmq(Vec<ZmqFrame>),
}

impl Payload {
    fn len(&self) -> usize {
        match self {
            Payload::None => 0,
            Payload::Owned(frames) => frames.len(),
            Payload::Zmq(frames) => frames.len(),
        }
    }
}

/// One DEALER: to a peer's inbox or to a gossip server.
struct Link {
    socket: zmq::Socket,
    token: Token,
    /// Messages libzmq would not take yet (its high-water mark was hit).
    pending: VecDeque<Outgoing>,
    /// Registered in the poll while it has pending messages.
    registered: bool,
    /// A message failed partway (libzmq took its first frame, then
    /// refused one: a pipe that terminated between them). libzmq is left
    /// inside that message: the next one's frames would be dropped (its
    /// load balancer's "dropping" mode) or appended to it. Nothing is
    /// sent on the link again; it is only closed.
    broken: bool,
}

/// Which link: a peer's by its UUID, or a gossip server's by its index in
/// the gossip client. Every peer orders before every server, so the
/// servers are the range `LinkId::Gossip(0)..`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum LinkId {
    Peer(Uuid),
    Gossip(usize),
}

/// What became of a message given to [`Links::send`].
pub(crate) enum Sent {
    /// libzmq took it.
    Done,
    /// Queued behind earlier messages until libzmq has room.
    Queued,
    /// Queued, and the link now holds more than `max_backlog` messages:
    /// the other end does not keep up.
    Overflow,
    /// Not sent: there is no such link.
    Dropped,
    /// Lost: libzmq failed it (logged), or the link broke before (see
    /// `Link::broken`). The peer cannot be sent to in order any more.
    Failed,
}

/// What libzmq said to one send.
enum SendOutcome {
    Sent,
    Full,
    /// `partway`: after libzmq had taken the message's first frame.
    Failed {
        err: zmq::Error,
        partway: bool,
    },
}

/// The DEALERs with their queues, and the poll tokens they use.
pub(crate) struct Links {
    /// Looked up per message sent (see `SortedTable`).
    links: SortedTable<LinkId, Link>,
    tokens: HashMap<Token, LinkId>,
    first_token: usize,
    next_token: usize,
    /// Links with messages waiting for room.
    backlogged: BTreeSet<LinkId>,
    /// Messages queued on one link beyond which a send reports overflow.
    max_backlog: usize,
    /// What the flushes did and saw.
    seen: FlushSeen,
}

/// What the flushes of the queues did and saw, since asked.
#[derive(Default)]
struct FlushSeen {
    /// Messages that went from a queue into libzmq, ever (wraps).
    flushed: u64,
    /// A gossip link reported input while its queue was flushed: reading
    /// ZMQ_EVENTS took the edge that would have announced it.
    gossip_input: bool,
    /// Links whose queue [`Links::flush_backlog`] lost a message of to a
    /// failed send: by token (see [`Links::token_of`]), and the id it
    /// served then.
    failed: Vec<(Token, LinkId)>,
    /// Peers whose queue [`Links::flush_backlog`] moved into libzmq: it
    /// had no room for those messages, so the peer read what was ahead.
    drained: Vec<Uuid>,
}

impl FlushSeen {
    fn note(&mut self, id: LinkId, flush: &Flush) {
        self.flushed = self.flushed.wrapping_add(flush.sent);
        self.gossip_input |= flush.input && matches!(id, LinkId::Gossip(_));
    }
}

impl Links {
    /// An empty table whose links get poll tokens from `first_token` up
    /// (wrapping back to it after `usize::MAX`).
    pub(crate) fn new(first_token: usize, max_backlog: usize) -> Links {
        Links {
            links: SortedTable::new(),
            tokens: HashMap::new(),
            first_token,
            next_token: first_token,
            backlogged: BTreeSet::new(),
            max_backlog,
            seen: FlushSeen::default(),
        }
    }

    /// Adds a connected DEALER; `register` watches it in the poll from the
    /// start (gossip servers talk back; peers only while backlogged).
    pub(crate) fn add(
        &mut self,
        registry: &Registry,
        id: LinkId,
        socket: zmq::Socket,
        register: bool,
    ) -> io::Result<()> {
        let token = Token(self.next_token);
        self.next_token = if self.next_token == usize::MAX {
            self.first_token
        } else {
            self.next_token + 1
        };
        let mut link = Link {
            socket,
            token,
            pending: VecDeque::new(),
            registered: false,
            broken: false,
        };
        if register {
            register_link(registry, &mut link)?;
        }
        self.tokens.insert(token, id);
        self.links.insert(id, link);
        Ok(())
    }

    /// Closes a link, if there is one: with `flush_until`, first waits
    /// (blocking) until that deadline for its queue to go out; without,
    /// drops what libzmq still holds.
    pub(crate) fn close(&mut self, registry: &Registry, id: LinkId, flush_until: Option<Instant>) {
        let Some(mut link) = self.links.remove(&id) else {
            return;
        };
        // Before its handshake watch closes (see `stop_monitor`).
        stop_monitor(&mut link.socket);
        self.tokens.remove(&link.token);
        if link.registered {
            if let Ok(fd) = link.socket.get_fd() {
                let _ = registry.deregister(&mut SourceFd(&fd));
            }
        }
        match flush_until {
            // A broken link's queue would go into the message it broke in.
            Some(deadline) if !link.broken => {
                let unsent = flush_blocking(&mut link, deadline);
                if unsent > 0 {
                    warn!(
                        "{unsent} queued messages were not handed to libzmq before the linger time ran out or a send failed"
                    );
                }
            }
            _ => {
                let _ = link.socket.set_linger(0);
            }
        }
        // Dropping closes it; libzmq sends what it holds until linger ends.
    }

    /// The handshake watch of link `id` is done: its monitor stops (see
    /// [`stop_monitor`]).
    pub(crate) fn stop_monitor(&mut self, id: LinkId) {
        if let Some(link) = self.links.get_mut(&id) {
            stop_monitor(&mut link.socket);
        }
    }

    /// The link open as `from` serves `to` from now on, with its queue and
    /// poll token (see `Action::Relink`); a link `to` already had is closed.
    pub(crate) fn relink(&mut self, registry: &Registry, from: LinkId, to: LinkId) {
        let Some(link) = self.links.remove(&from) else {
            return;
        };
        self.close(registry, to, None);
        self.tokens.insert(link.token, to);
        if self.backlogged.remove(&from) {
            self.backlogged.insert(to);
        }
        self.links.insert(to, link);
    }

    /// Closes every link, flushing each until `deadline`.
    pub(crate) fn close_all(&mut self, registry: &Registry, deadline: Instant) {
        let ids: Vec<LinkId> = self.links.keys().copied().collect();
        for id in ids {
            self.close(registry, id, Some(deadline));
        }
    }

    /// The poll reported `token`: if it is a link's, flush it next time.
    pub(crate) fn mark_ready(&mut self, token: Token) {
        if let Some(&link) = self.tokens.get(&token) {
            self.backlogged.insert(link);
        }
    }

    /// How many queued messages have gone into libzmq so far (wrapping):
    /// a change means the backlog moved.
    pub(crate) fn flushed(&self) -> u64 {
        self.seen.flushed
    }

    /// A gossip link has input that its ZMQ_FD will not announce (seen by
    /// a flush); cleared by asking.
    pub(crate) fn take_gossip_input(&mut self) -> bool {
        std::mem::take(&mut self.seen.gossip_input)
    }

    /// Peers whose queued messages [`Links::flush_backlog`] moved into
    /// libzmq since asked (see `FlushSeen::drained`).
    pub(crate) fn take_drained(&mut self) -> Vec<Uuid> {
        std::mem::take(&mut self.seen.drained)
    }

    /// Links whose queued messages a flush lost to a failed send (each as
    /// [`Sent::Failed`]), by token and the id it served, taken by asking.
    pub(crate) fn take_failed(&mut self) -> Vec<(Token, LinkId)> {
        std::mem::take(&mut self.seen.failed)
    }

    /// The poll token of link `id`: it names that one link (a link made
    /// later for the same id gets another), and follows it through
    /// [`Links::relink`].
    pub(crate) fn token_of(&self, id: LinkId) -> Option<Token> {
        self.links.get(&id).map(|link| link.token)
    }

    /// Which id the link of `token` serves now, if it is still open.
    pub(crate) fn link_of(&self, token: Token) -> Option<LinkId> {
        self.tokens.get(&token).copied()
    }

    /// Link `id` failed a message partway (see `Link::broken`): it can
    /// carry nothing more in order.
    pub(crate) fn is_broken(&self, id: LinkId) -> bool {
        self.links.get(&id).is_some_and(|link| link.broken)
    }

    /// Some link has messages waiting for room.
    pub(crate) fn has_backlog(&self) -> bool {
        !self.backlogged.is_empty()
    }

    /// Messages waiting for room, over all links.
    pub(crate) fn backlog(&self) -> usize {
        self.backlogged
            .iter()
            .filter_map(|id| self.links.get(id))
            .map(|l| l.pending.len())
            .sum()
    }

    /// The gossip servers' DEALERs by server index, to read from.
    pub(crate) fn gossip_sockets(&self) -> impl Iterator<Item = (usize, &zmq::Socket)> {
        // LinkId orders every peer before every server, so this range is
        // the servers alone, walked without collecting them on each pass.
        self.links
            .from(&LinkId::Gossip(0))
            .filter_map(|(id, link)| match *id {
                LinkId::Gossip(server) => Some((server, &link.socket)),
                LinkId::Peer(_) => None,
            })
    }

    /// Sends a message on a link, or queues it behind earlier ones.
    pub(crate) fn send(&mut self, registry: &Registry, id: LinkId, mut message: Outgoing) -> Sent {
        let link = match usable(&mut self.links, id) {
            Ok(link) => link,
            Err(sent) => return sent,
        };
        if link.pending.is_empty() {
            match try_send(&mut link.socket, &mut message, false) {
                SendOutcome::Sent => return Sent::Done,
                SendOutcome::Failed { err, partway } => return link.failed(id, err, partway),
                SendOutcome::Full => {}
            }
        }
        link.pending.push_back(message);
        if !link.registered {
            if let Err(err) = register_link(registry, link) {
                warn!("cannot watch {id:?} for room: {err}");
            }
            // Arm the edge (ZMQ_FD only fires again after ZMQ_EVENTS is
            // read), and send at once if that read finds room.
            let flush = flush_link(id, link);
            self.seen.note(id, &flush);
            if flush.failed {
                return Sent::Failed;
            }
        }
        self.backlogged.insert(id);
        match link.pending.len() {
            0 => Sent::Done,
            n if n > self.max_backlog => Sent::Overflow,
            _ => Sent::Queued,
        }
    }

    /// Sends a header and lent content frames on a link if libzmq takes
    /// them now, without queueing; `None` when the caller must queue a
    /// copy with [`Links::send`] (the link is full or already has a queue).
    pub(crate) fn send_lent(&mut self, id: LinkId, header: &[u8], content: &[&[u8]]) -> Option<Sent> {
        let link = match usable(&mut self.links, id) {
            Ok(link) => link,
            Err(sent) => return Some(sent),
        };
        if !link.pending.is_empty() {
            return None;
        }
        match try_send_lent(&mut link.socket, header, content) {
            SendOutcome::Sent => Some(Sent::Done),
            SendOutcome::Failed { err, partway } => Some(link.failed(id, err, partway)),
            SendOutcome::Full => None,
        }
    }

    /// Sends a header and content frames shared with other sends (a
    /// SHOUT's, see [`ZmqFrame::share`]) on a link, or queues them behind
    /// earlier messages, still shared: the content is never copied per
    /// member.
    pub(crate) fn send_shared(
        &mut self,
        registry: &Registry,
        id: LinkId,
        header: &HeaderFrame,
        content: &mut [ZmqFrame],
    ) -> Sent {
        let link = match usable(&mut self.links, id) {
            Ok(link) => link,
            Err(sent) => return sent,
        };
        if link.pending.is_empty() {
            match try_send_shared(&mut link.socket, header, content) {
                SendOutcome::Sent => return Sent::Done,
                SendOutcome::Failed { err, partway } => return link.failed(id, err, partway),
                SendOutcome::Full => {}
            }
        }
        match content.iter_mut().map(ZmqFrame::share).collect() {
            Ok(frames) => self.send(
                registry,
                id,
                Outgoing {
                    header: header.clone(),
                    content: Payload::Zmq(frames),
                },
            ),
            Err(err) => {
                // libzmq could not share the content: this member's copy is
                // lost as a failed send's would be.
                warn!("send to {id:?} failed: {err}");
                Sent::Failed
            }
        }
    }

    /// Moves queued messages into libzmq as room appears.
    pub(crate) fn flush_backlog(&mut self, registry: &Registry) {
        let ids: Vec<LinkId> = self.backlogged.iter().copied().collect();
        for id in ids {
            let Some(link) = self.links.get_mut(&id) else {
                self.backlogged.remove(&id);
                continue;
            };
            let flush = flush_link(id, link);
            self.seen.note(id, &flush);
            if let (LinkId::Peer(peer), true) = (id, flush.sent > 0) {
                self.seen.drained.push(peer);
            }
            if flush.failed && !self.seen.failed.contains(&(link.token, id)) {
                self.seen.failed.push((link.token, id));
            }
            if link.pending.is_empty() {
                self.backlogged.remove(&id);
                // Peer DEALERs only need watching while they hold a backlog.
                if let (LinkId::Peer(_), true) = (id, link.registered) {
                    if let Ok(fd) = link.socket.get_fd() {
                        let _ = registry.deregister(&mut SourceFd(&fd));
                    }
                    link.registered = false;
                }
            }
        }
    }
}

/// Sends a link's queued messages until libzmq refuses one or none is
/// left, then reads ZMQ_EVENTS, which re-arms the edge of the link's
/// ZMQ_FD before the poll sleeps on it. That read also takes in room
/// that came meanwhile (libzmq's "activate write" command, once the other
/// end has read enough) and consumes the edge that announced it: when it
/// reports room (POLLOUT), send again, for no edge will say so a second
/// time. Once a pass sends nothing although libzmq reported room, stop
/// rather than spin: the next edge or pass tries again. The same read can
/// take the edge of input (a gossip server's message): that is reported
/// too, for the caller to read.
fn flush_link(id: LinkId, link: &mut Link) -> Flush {
    let mut first_pass = true;
    let mut total = 0;
    let mut failed = false;
    loop {
        let mut sent = 0u64;
        while let Some(message) = link.pending.front_mut() {
            match try_send(&mut link.socket, message, false) {
                SendOutcome::Sent => {
                    link.pending.pop_front();
                    sent += 1;
                }
                SendOutcome::Full => break,
                SendOutcome::Failed { err, partway } => {
                    link.pending.pop_front();
                    link.failed(id, err, partway);
                    failed = true;
                    if link.broken {
                        // The rest is lost with it: reported once, as the
                        // link's failure.
                        link.pending.clear();
                    }
                }
            }
        }
        total += sent;
        let events = link.socket.get_events().unwrap_or(zmq::PollEvents::empty());
        let room = events.contains(zmq::POLLOUT);
        if link.pending.is_empty() || !room || (sent == 0 && !first_pass) {
            return Flush {
                sent: total,
                input: events.contains(zmq::POLLIN),
                failed,
            };
        }
        first_pass = false;
    }
}

/// Link `id`, if a message can go on it: [`Sent::Dropped`] without one,
/// [`Sent::Failed`] once it broke (see `Link::broken`).
fn usable(links: &mut SortedTable<LinkId, Link>, id: LinkId) -> Result<&mut Link, Sent> {
    match links.get_mut(&id) {
        None => Err(Sent::Dropped),
        Some(link) if link.broken => Err(Sent::Failed),
        Some(link) => Ok(link),
    }
}

impl Link {
    /// Logs a failed send and marks the link broken if it failed partway.
    fn failed(&mut self, id: LinkId, err: zmq::Error, partway: bool) -> Sent {
        if partway {
            warn!("send to {id:?} failed partway through a message: {err}; the link is broken");
            self.broken = true;
        } else {
            warn!("send to {id:?} failed: {err}");
        }
        Sent::Failed
    }
}

/// What [`flush_link`] did and saw.
struct Flush {
    /// Queued messages that went into libzmq.
    sent: u64,
    /// The link has input to read.
    input: bool,
    /// A queued message was lost to a failed send.
    failed: bool,
}

/// Watches a link's ZMQ_FD in the poll, once.
fn register_link(registry: &Registry, link: &mut Link) -> io::Result<()> {
    if !link.registered {
        let fd = link.socket.get_fd().map_err(io::Error::other)?;
        registry.register(&mut SourceFd(&fd), link.token, Interest::READABLE)?;
        link.registered = true;
    }
    Ok(())
}

/// Sends one message: the header frame, then the content frames. Without
/// `wait`, a full queue refuses the header and nothing is sent; libzmq
/// applies the high-water mark to a message's first frame only, so once it
/// is taken the rest is refused only by a pipe that terminated meanwhile
/// (`partway`, see `Link::broken`). Owned frames of `ZERO_COPY_MIN` bytes
/// or more are moved into libzmq rather than copied, shared ones go as
/// they are.
fn try_send(socket: &mut zmq::Socket, message: &mut Outgoing, wait: bool) -> SendOutcome {
    let count = message.content.len();
    if let Some(refused) = send_header(socket, &message.header, count, wait) {
        return refused;
    }
    let result = match &mut message.content {
        Payload::None => Ok(()),
        Payload::Owned(frames) => frames.iter_mut().enumerate().try_for_each(|(i, frame)| {
            let flags = more_after(i, count);
            match frame.owned_mut() {
                Some(bytes) if bytes.len() >= ZERO_COPY_MIN && bytes.len() == bytes.capacity() => {
                    socket.send(zmq::Message::from(std::mem::take(bytes)), flags)
                }
                _ => send_copy(socket, frame, flags),
            }
        }),
        Payload::Zmq(frames) => std::mem::take(frames)
            .into_iter()
            .enumerate()
            .try_for_each(|(i, frame)| frame.send(socket, more_after(i, count))),
    };
    outcome(result)
}

/// As [`try_send`], never waiting, with content shared with other sends.
fn try_send_shared(socket: &mut zmq::Socket, header: &[u8], content: &mut [ZmqFrame]) -> SendOutcome {
    let count = content.len();
    if let Some(refused) = send_header(socket, header, count, false) {
        return refused;
    }
    outcome(
        content
            .iter_mut()
            .enumerate()
            .try_for_each(|(i, frame)| frame.share()?.send(socket, more_after(i, count))),
    )
}

/// As [`try_send`], never waiting, with content the application lends.
fn try_send_lent(socket: &mut zmq::Socket, header: &[u8], content: &[&[u8]]) -> SendOutcome {
    let count = content.len();
    if let Some(refused) = send_header(socket, header, count, false) {
        return refused;
    }
    outcome(send_copies(socket, content.iter().copied(), count))
}

/// Sends the `count` content frames after a header, each copied into libzmq.
fn send_copies<'a>(
    socket: &mut zmq::Socket,
    frames: impl Iterator<Item = &'a [u8]>,
    count: usize,
) -> zmq::Result<()> {
    frames
        .enumerate()
        .try_for_each(|(i, frame)| send_copy(socket, frame, more_after(i, count)))
}

/// The send flags of content frame `i` of `count`: MORE but on the last.
fn more_after(i: usize, count: usize) -> i32 {
    if i + 1 < count { zmq::SNDMORE } else { 0 }
}

/// The outcome of a message's content frames, sent after its header.
fn outcome(result: zmq::Result<()>) -> SendOutcome {
    match result {
        Ok(()) => SendOutcome::Sent,
        Err(err) => SendOutcome::Failed { err, partway: true },
    }
}

/// Sends the header frame of a message with `count` content frames to
/// follow; `None` when it was taken.
fn send_header(socket: &mut zmq::Socket, header: &[u8], count: usize, wait: bool) -> Option<SendOutcome> {
    let dontwait = if wait { 0 } else { zmq::DONTWAIT };
    let more = if count == 0 { 0 } else { zmq::SNDMORE };
    match send_copy(socket, header, more | dontwait) {
        Ok(()) => {
            #[cfg(test)]
            if more != 0 {
                tests::cut_if_asked(socket);
            }
            None
        }
        Err(zmq::Error::EAGAIN) => Some(SendOutcome::Full),
        Err(err) => Some(SendOutcome::Failed { err, partway: false }),
    }
}

/// Waits for room for each queued message until the deadline; returns how
/// many were left.
fn flush_blocking(link: &mut Link, deadline: Instant) -> usize {
    while let Some(message) = link.pending.front_mut() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let _ = link
            .socket
            .set_sndtimeo(left.as_millis().clamp(1, i32::MAX as u128) as i32);
        // Waiting, libzmq does not report a pipe that terminated between
        // two frames: it drops the rest of that message and says it was
        // sent. At close nothing is left to tell: the link goes anyway.
        // It reports other failures; nothing more follows one partway.
        match try_send(&mut link.socket, message, true) {
            SendOutcome::Full => break,
            SendOutcome::Sent => {}
            SendOutcome::Failed { partway: true, .. } => {
                link.pending.pop_front();
                break;
            }
            SendOutcome::Failed { partway: false, .. } => {}
        }
        link.pending.pop_front();
    }
    link.pending.len()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::cell::RefCell;

    thread_local! {
        /// An endpoint to disconnect the DEALER of the next message with
        /// content from, once its header is taken: its pipe then
        /// terminates between two frames of one message (libzmq does that
        /// synchronously on a disconnect), as a link's pipe does when
        /// libzmq takes in a termination at a later frame's send.
        static CUT_AFTER_HEADER: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    /// Asks for the cut of [`CUT_AFTER_HEADER`] on this thread.
    pub(crate) fn cut_after_header(endpoint: &str) {
        CUT_AFTER_HEADER.set(Some(endpoint.to_owned()));
    }

    pub(super) fn cut_if_asked(socket: &zmq::Socket) {
        if let Some(endpoint) = CUT_AFTER_HEADER.take() {
            socket.disconnect(&endpoint).unwrap();
        }
    }

    /// A message that libzmq takes partway (its header, not its content)
    /// is lost, and libzmq is left inside it: the next message's frames
    /// would be dropped (its load balancer's "dropping" mode) or appended
    /// to it. Neither may be reported sent.
    #[test]
    fn a_message_failed_partway_is_never_followed_by_one_reported_sent() {
        let ctx = zmq::Context::new();
        let router = ctx.socket(zmq::ROUTER).unwrap();
        router.bind("inproc://cut").unwrap();
        let poll = mio::Poll::new().unwrap();
        let mut links = Links::new(100, 1_000);
        let owned = |i: u8| Outgoing {
            header: HeaderFrame::from_slice(&[i]),
            content: Payload::Owned(vec![Frame::from(&[i, 1][..]), Frame::from(&[i, 2][..])]),
        };
        for (n, lent) in [false, true].into_iter().enumerate() {
            let id = LinkId::Peer(Uuid::from_u128(n as u128 + 1));
            let dealer = ctx.socket(zmq::DEALER).unwrap();
            // As `new_dealer`: libzmq never waits in a send.
            dealer.set_sndtimeo(0).unwrap();
            dealer.connect("inproc://cut").unwrap();
            links.add(poll.registry(), id, dealer, false).unwrap();
            let mut send = |i: u8| -> Sent {
                if lent {
                    match links.send_lent(id, &[i], &[&[i, 1], &[i, 2]]) {
                        Some(sent) => sent,
                        None => links.send(poll.registry(), id, owned(i)),
                    }
                } else {
                    links.send(poll.registry(), id, owned(i))
                }
            };
            assert!(matches!(send(1), Sent::Done));
            let first = router.recv_multipart(0).unwrap();
            assert_eq!(first[1..], [vec![1], vec![1, 1], vec![1, 2]]);
            cut_after_header("inproc://cut");
            let failed = send(2);
            assert!(
                !matches!(failed, Sent::Done | Sent::Queued),
                "lent {lent}: the message cut after its header is not sent"
            );
            let next = send(3);
            assert!(
                !matches!(next, Sent::Done),
                "lent {lent}: the message after it is not reported sent"
            );
            assert_eq!(
                router.recv_multipart(zmq::DONTWAIT),
                Err(zmq::Error::EAGAIN),
                "lent {lent}: nothing of either reached the other end"
            );
        }
    }

    /// A peer's link over inproc to a ROUTER bound at `endpoint`, each with
    /// a high-water mark of 4 messages (libzmq's queue fills at once), the
    /// DEALER set up as `new_dealer` does (a send never waits).
    fn small_link(endpoint: &str) -> (zmq::Socket, mio::Poll, Links, LinkId) {
        let ctx = zmq::Context::new();
        let router = ctx.socket(zmq::ROUTER).unwrap();
        router.set_rcvhwm(4).unwrap();
        router.bind(endpoint).unwrap();
        let dealer = ctx.socket(zmq::DEALER).unwrap();
        dealer.set_sndhwm(4).unwrap();
        dealer.set_sndtimeo(0).unwrap();
        dealer.connect(endpoint).unwrap();
        let poll = mio::Poll::new().unwrap();
        let mut links = Links::new(100, 1_000);
        let id = LinkId::Peer(Uuid::nil());
        links.add(poll.registry(), id, dealer, false).unwrap();
        (router, poll, links, id)
    }

    /// The same for a message that waited in the link's queue: the flush
    /// that sends it at last finds the link cut after its header, reports
    /// the link failed, and nothing is sent on it after that.
    #[test]
    fn a_queued_message_failed_partway_fails_the_link() {
        let (router, poll, mut links, id) = small_link("inproc://cut-queued");
        let message = |i: u8| Outgoing {
            header: HeaderFrame::from_slice(&[i]),
            content: Payload::Owned(vec![Frame::from(&[i, 1][..]), Frame::from(&[i, 2][..])]),
        };
        let mut next = 0;
        while matches!(links.send(poll.registry(), id, message(next)), Sent::Done) {
            next += 1;
        }
        assert_eq!(links.backlog(), 1, "message {next} waits in the queue");
        let mut read = 0;
        while router.recv_multipart(zmq::DONTWAIT).is_ok() {
            read += 1;
        }
        assert_eq!(read, next, "the other end read what libzmq held");
        cut_after_header("inproc://cut-queued");
        links.flush_backlog(poll.registry());
        let failed: Vec<_> = links
            .take_failed()
            .into_iter()
            .map(|(token, served)| (links.link_of(token), served))
            .collect();
        assert_eq!(failed, [(Some(id), id)], "the flush reports the link");
        assert!(links.is_broken(id));
        assert_eq!(links.backlog(), 0);
        assert!(
            !matches!(links.send(poll.registry(), id, message(next + 1)), Sent::Done),
            "the message after it is not reported sent"
        );
        assert_eq!(router.recv_multipart(zmq::DONTWAIT), Err(zmq::Error::EAGAIN));
    }

    /// Room that comes while nobody looks (the other end read what libzmq
    /// held; its "activate write" command waits in the DEALER's mailbox)
    /// is taken in by the next read of ZMQ_EVENTS, which also consumes the
    /// edge that announced it: the flush that reads it must use it.
    #[test]
    fn room_taken_in_by_reading_zmq_events_is_used_at_once() {
        let (router, poll, mut links, id) = small_link("inproc://room");
        let message = |i: u32| Outgoing {
            header: HeaderFrame::from_slice(&i.to_be_bytes()),
            content: Payload::None,
        };
        // libzmq's queue full, then 100 more queued here.
        let mut next = 0;
        while matches!(links.send(poll.registry(), id, message(next)), Sent::Done) {
            next += 1;
        }
        for _ in 0..100 {
            next += 1;
            assert!(matches!(
                links.send(poll.registry(), id, message(next)),
                Sent::Queued
            ));
        }
        let queued = links.backlog();
        let mut read = 0;
        while router.recv_multipart(zmq::DONTWAIT).is_ok() {
            read += 1;
        }
        assert!(read > 0, "the other end read what libzmq held");
        links.flush_backlog(poll.registry());
        assert!(
            links.backlog() < queued,
            "the flush used the room: {} of {queued} still queued",
            links.backlog()
        );
    }

    /// A gossip server's message that arrives while a flush reads the
    /// link's ZMQ_EVENTS loses its edge to that read: the flush says so,
    /// for the reactor to read it.
    #[test]
    fn input_taken_in_by_a_flush_is_reported() {
        let ctx = zmq::Context::new();
        let server = ctx.socket(zmq::ROUTER).unwrap();
        server.bind("inproc://server").unwrap();
        let dealer = ctx.socket(zmq::DEALER).unwrap();
        dealer.set_identity(b"client").unwrap();
        dealer.connect("inproc://server").unwrap();
        let poll = mio::Poll::new().unwrap();
        let mut links = Links::new(100, 1_000);
        let id = LinkId::Gossip(0);
        links.add(poll.registry(), id, dealer, true).unwrap();
        let hello = Outgoing {
            header: HeaderFrame::from_slice(b"hello"),
            content: Payload::None,
        };
        assert!(matches!(links.send(poll.registry(), id, hello), Sent::Done));
        assert_eq!(
            server.recv_multipart(0).unwrap(),
            [b"client".to_vec(), b"hello".to_vec()]
        );
        server.send_multipart([&b"client"[..], b"welcome"], 0).unwrap();
        // The poll reported the link (readable): the reactor flushes it.
        links.mark_ready(Token(100));
        links.flush_backlog(poll.registry());
        assert!(
            links.take_gossip_input(),
            "the flush reported the server's message"
        );
        assert!(!links.take_gossip_input(), "once");
    }

    #[test]
    fn every_peer_link_orders_before_every_gossip_link() {
        // gossip_sockets walks the links from `LinkId::Gossip(0)` on for
        // the servers.
        assert!(LinkId::Peer(Uuid::max()) < LinkId::Gossip(0));
        let mut links = SortedTable::new();
        for (i, id) in [LinkId::Gossip(3), LinkId::Peer(Uuid::max()), LinkId::Gossip(0)]
            .into_iter()
            .enumerate()
        {
            links.insert(id, i);
        }
        let servers: Vec<LinkId> = links.from(&LinkId::Gossip(0)).map(|(id, _)| *id).collect();
        assert_eq!(servers, [LinkId::Gossip(0), LinkId::Gossip(3)]);
    }
}
