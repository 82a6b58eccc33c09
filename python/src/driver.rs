//! The node's own thread and what it shares with Python: commands go in
//! through a bounded channel and one mio `Waker`; events come out through
//! a queue whose readiness a socket pair mirrors, so that Python can wait
//! on a file descriptor (selectors, `zmq.Poller`, asyncio's `add_reader`)
//! instead of polling.
//!
//! Nothing here touches Python: the thread runs without the GIL.

use log::warn;
use mio::{Events, Waker};
use std::collections::{HashSet, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use uuid::Uuid;
use zre::{Event, Frame, Node};

/// Commands queued before a sender waits (with the GIL released): a
/// Python loop of whispers cannot outrun the node without bound.
const COMMAND_QUEUE: usize = 4096;

/// Work for the node's thread.
pub(crate) enum Command {
    /// Fire and forget, as pyre's: an error is logged, not returned.
    Whisper(Uuid, Vec<Frame>),
    /// Fire and forget.
    Shout(String, Vec<Frame>),
    /// Anything else, with its reply sent back by the closure.
    Call(Box<dyn FnOnce(&mut Node) + Send>),
    Stop,
}

/// What Python takes from the queue.
pub(crate) enum Taken {
    Event(Event),
    /// Nothing yet.
    Empty,
    /// The node has stopped and every event was taken.
    Closed,
}

struct Queue {
    events: VecDeque<Event>,
    closed: bool,
    /// The STOP event was taken: the fd is no longer readable (as pyre's
    /// inbox after its STOP), where a poll loop would otherwise spin.
    stop_taken: bool,
    /// A byte sits in the socket pair: kept equal to `!events.is_empty()
    /// || (closed && !stop_taken)`, under the lock.
    signalled: bool,
    /// Threads waiting on `arrived` (a notify is a syscall: skipped when
    /// nobody waits).
    waiting: usize,
    /// The node's thread found the queue full and holds the node's events
    /// back: it is woken once Python has taken half.
    full: bool,
}

impl Queue {
    fn pop(&mut self) -> Option<Event> {
        let event = self.events.pop_front()?;
        self.stop_taken |= matches!(event, Event::Stop);
        Some(event)
    }
}

/// Room in Python's queue again, once the node's thread had found it full:
/// half its bound, so that the thread is woken once per half, not per event.
fn refill_due(queue: &Queue, bound: usize) -> bool {
    queue.full && queue.events.len() <= bound / 2
}

/// The state shared by Python's side and the node's thread.
pub(crate) struct Shared {
    queue: Mutex<Queue>,
    arrived: Condvar,
    signal_tx: UnixStream,
    signal_rx: UnixStream,
    /// Peers that have entered and not exited, as the thread saw the
    /// events go by: lets `whisper` refuse an unknown peer at once.
    peers: Mutex<HashSet<Uuid>>,
    /// Content of events Python has converted, for `Node::recycle` in the
    /// node's thread: the next messages are received into these buffers
    /// (no allocation there, no free of its memory in another thread).
    spare: Mutex<Vec<Vec<Frame>>>,
    /// The most events queued here: the node's `max_events`, so that
    /// back-pressure reaches its peers (see `run`).
    bound: usize,
    /// The node's own waker, to say that the queue has room again.
    waker: Arc<Waker>,
}

/// Content lists held for recycling at most (a node keeps a few hundred).
const MAX_SPARE: usize = 256;

impl Shared {
    fn new(bound: usize, waker: Arc<Waker>) -> std::io::Result<Shared> {
        let (signal_tx, signal_rx) = UnixStream::pair()?;
        signal_tx.set_nonblocking(true)?;
        signal_rx.set_nonblocking(true)?;
        Ok(Shared {
            queue: Mutex::new(Queue {
                events: VecDeque::new(),
                closed: false,
                stop_taken: false,
                signalled: false,
                waiting: 0,
                full: false,
            }),
            arrived: Condvar::new(),
            signal_tx,
            signal_rx,
            peers: Mutex::new(HashSet::new()),
            spare: Mutex::new(Vec::new()),
            bound,
            waker,
        })
    }

    /// Readable while an event waits, and once the node has stopped until
    /// its STOP is taken.
    pub(crate) fn fd(&self) -> RawFd {
        self.signal_rx.as_raw_fd()
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding this lock cannot leave the queue half
        // changed (push_back / pop_front), so poison is ignored.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sync_signal(&self, queue: &mut Queue) {
        let want = !queue.events.is_empty() || (queue.closed && !queue.stop_taken);
        if want && !queue.signalled {
            match (&self.signal_tx).write(&[1]) {
                Ok(1) => queue.signalled = true,
                Ok(_) => warn!("cannot signal the event fd: nothing written"),
                Err(err) => warn!("cannot signal the event fd: {err}"),
            }
        } else if !want && queue.signalled {
            let mut byte = [0u8; 8];
            match (&self.signal_rx).read(&mut byte) {
                Ok(_) => queue.signalled = false,
                Err(err) if err.kind() == ErrorKind::WouldBlock => queue.signalled = false,
                Err(err) => warn!("cannot clear the event fd: {err}"),
            }
        }
    }

    fn push(&self, events: &mut Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let mut queue = self.lock();
        queue.events.extend(events.drain(..));
        self.sync_signal(&mut queue);
        let waiting = queue.waiting > 0;
        drop(queue);
        if waiting {
            self.arrived.notify_all();
        }
    }

    fn close(&self) {
        let mut queue = self.lock();
        queue.closed = true;
        self.sync_signal(&mut queue);
        drop(queue);
        self.arrived.notify_all();
    }

    pub(crate) fn try_take(&self) -> Taken {
        let mut queue = self.lock();
        let taken = match queue.pop() {
            Some(event) => Taken::Event(event),
            None if queue.closed => Taken::Closed,
            None => Taken::Empty,
        };
        self.sync_signal(&mut queue);
        self.wake_if_room(&mut queue);
        taken
    }

    /// Wakes the node's thread if it waits for room (see [`refill_due`]).
    fn wake_if_room(&self, queue: &mut Queue) {
        if refill_due(queue, self.bound) {
            queue.full = false;
            if let Err(err) = self.waker.wake() {
                warn!("cannot wake the node thread: {err}");
            }
        }
    }

    /// Whether the queue is at its bound; if so, the thread is woken when
    /// Python has taken half.
    fn mark_if_full(&self) -> bool {
        let mut queue = self.lock();
        queue.full = queue.events.len() >= self.bound;
        queue.full
    }

    /// Waits until an event comes, the node closes, or `until` passes.
    pub(crate) fn take_until(&self, until: Instant) -> Taken {
        let mut queue = self.lock();
        loop {
            if let Some(event) = queue.pop() {
                self.sync_signal(&mut queue);
                self.wake_if_room(&mut queue);
                return Taken::Event(event);
            }
            if queue.closed {
                return Taken::Closed;
            }
            let now = Instant::now();
            if now >= until {
                return Taken::Empty;
            }
            queue.waiting += 1;
            queue = self
                .arrived
                .wait_timeout(queue, until - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            queue.waiting -= 1;
        }
    }

    /// Hands back an event's content once Python has copied it.
    pub(crate) fn recycle(&self, content: Vec<Frame>) {
        let mut spare = self.spare.lock().unwrap_or_else(|e| e.into_inner());
        if spare.len() < MAX_SPARE {
            spare.push(content);
        }
    }

    fn take_spare(&self) -> Vec<Vec<Frame>> {
        std::mem::take(&mut *self.spare.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn pending(&self) -> usize {
        self.lock().events.len()
    }

    pub(crate) fn knows_peer(&self, peer: &Uuid) -> bool {
        self.peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(peer)
    }

    fn track(&self, event: &Event) {
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::Enter { peer, .. } => {
                peers.insert(*peer);
            }
            Event::Exit { peer, .. } => {
                peers.remove(peer);
            }
            Event::Stop => peers.clear(),
            _ => {}
        }
    }
}

/// A node running in a thread of ours, as Python sees it.
pub(crate) struct Driver {
    pub shared: Arc<Shared>,
    commands: SyncSender<Command>,
    waker: Arc<Waker>,
    /// Set by the thread just before it may sleep in its poll (after it
    /// found no command waiting), cleared when it wakes. A sender wakes it
    /// only when it takes this flag from true to false: while the thread
    /// is busy, commands cost no system call.
    sleeping: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Driver {
    /// `pyre_only`: drop EVASIVE, SILENT and LEADER in the node's thread
    /// (pyre 0.3.4 has none), so that the event fd never signals an event
    /// that `recv` would then skip and block on.
    pub(crate) fn spawn(node: Node, pyre_only: bool) -> std::io::Result<Driver> {
        // The node's own waker: mio allows one per poll.
        let waker = node.waker();
        let shared = Arc::new(Shared::new(node.max_events(), Arc::clone(&waker))?);
        let (commands, rx) = mpsc::sync_channel(COMMAND_QUEUE);
        let sleeping = Arc::new(AtomicBool::new(false));
        let thread = {
            let shared = Arc::clone(&shared);
            let sleeping = Arc::clone(&sleeping);
            std::thread::Builder::new()
                .name(format!("zre-{}", node.name()))
                .spawn(move || run(node, &rx, &shared, &sleeping, pyre_only))?
        };
        Ok(Driver {
            shared,
            commands,
            waker,
            sleeping,
            thread: Mutex::new(Some(thread)),
        })
    }

    fn wake(&self) {
        if self.sleeping.swap(false, Ordering::SeqCst) {
            self.force_wake();
        }
    }

    fn force_wake(&self) {
        if let Err(err) = self.waker.wake() {
            warn!("cannot wake the node thread: {err}");
        }
    }

    /// Queues a command without waiting; `Err(command)` when the queue is
    /// full (the caller waits with [`Driver::send_blocking`], GIL
    /// released), `Ok(false)` once the node's thread is gone.
    pub(crate) fn try_send(&self, command: Command) -> Result<bool, Command> {
        match self.commands.try_send(command) {
            Ok(()) => {
                self.wake();
                Ok(true)
            }
            Err(TrySendError::Full(command)) => Err(command),
            Err(TrySendError::Disconnected(_)) => Ok(false),
        }
    }

    /// Queues a command, waiting for room; `false` once the thread is gone.
    pub(crate) fn send_blocking(&self, command: Command) -> bool {
        // Wake the thread unconditionally, before and after: it may sleep
        // with a full queue (a spurious wake-up costs nothing).
        self.force_wake();
        let sent = self.commands.send(command).is_ok();
        self.force_wake();
        sent
    }

    /// Runs `f` on the node in its thread and waits for its result (call
    /// with the GIL released); `None` once the node has stopped.
    pub(crate) fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Node) -> R + Send + 'static,
    ) -> Option<R> {
        let (reply_tx, reply_rx) = mpsc::channel();
        let command = Command::Call(Box::new(move |node| {
            let _ = reply_tx.send(f(node));
        }));
        if !self.send_blocking(command) {
            return None;
        }
        reply_rx.recv().ok()
    }

    /// Stops the node (GOODBYE to peers, as `Node::stop`) and waits for
    /// its thread. Safe to call more than once.
    pub(crate) fn stop(&self) {
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            self.send_blocking(Command::Stop);
            let _ = thread.join();
        }
    }

    pub(crate) fn is_running(&self) -> bool {
        self.thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|t| !t.is_finished())
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(
    mut node: Node,
    commands: &Receiver<Command>,
    shared: &Shared,
    sleeping: &AtomicBool,
    pyre_only: bool,
) {
    let mut io_events = Events::with_capacity(64);
    let mut batch = Vec::new();
    // Python's queue is bounded like the node's: a program that does not
    // call `recv` gets back-pressure (the node stops reading its inbox,
    // and libzmq then the peers' sockets), not a queue that grows
    // without end (a peer whispering 1 KiB messages took it past 1 GiB).
    // While it is full the node holds its events; Python's taking half of
    // them wakes this thread.
    let bound = shared.bound;
    loop {
        node.hold_events(shared.mark_if_full());
        // Say we may sleep, then look for a command once more: a sender
        // that queued one after this look finds the flag set and wakes us.
        sleeping.store(true, Ordering::SeqCst);
        let (first, timeout) = match commands.try_recv() {
            Ok(command) => (Some(command), Some(Duration::ZERO)),
            Err(TryRecvError::Empty) => (None, None),
            Err(TryRecvError::Disconnected) => (Some(Command::Stop), Some(Duration::ZERO)),
        };
        if first.is_some() {
            sleeping.store(false, Ordering::SeqCst);
        }
        if let Err(err) = node.poll(&mut io_events, timeout) {
            warn!("node loop failed: {err}");
            node.stop();
        }
        sleeping.store(false, Ordering::SeqCst);
        for content in shared.take_spare() {
            node.recycle(content);
        }
        if let Some(command) = first {
            execute(&mut node, command);
        }
        while !node.is_stopped() {
            match commands.try_recv() {
                Ok(command) => execute(&mut node, command),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => node.stop(),
            }
        }
        // Once stopped, every event left goes (STOP last): no more come.
        let room = bound.saturating_sub(shared.pending());
        while node.is_stopped() || batch.len() < room {
            let Some(event) = node.next_event() else {
                break;
            };
            shared.track(&event);
            let extra = matches!(
                event,
                Event::Evasive { .. } | Event::Silent { .. } | Event::Leader { .. }
            );
            if !(pyre_only && extra) {
                batch.push(event);
            }
        }
        shared.push(&mut batch);
        if node.is_stopped() {
            drop(node);
            shared.close();
            return;
        }
    }
}

fn execute(node: &mut Node, command: Command) {
    match command {
        Command::Whisper(peer, content) => {
            if let Err(err) = node.whisper(peer, content) {
                warn!("whisper to {}: {err}", peer.simple());
            }
        }
        Command::Shout(group, content) => {
            if let Err(err) = node.shout(&group, content) {
                warn!("shout to {group}: {err}");
            }
        }
        Command::Call(call) => call(node),
        Command::Stop => node.stop(),
    }
}

/// How long a blocking wait sleeps before it lets Python check signals
/// (Ctrl-C) again.
pub(crate) const SIGNAL_CHECK: Duration = Duration::from_millis(100);
