//! Running a node in a thread of its own: commands go in through a channel
//! and a mio `Waker`, events come out through a channel. The handle is
//! `Clone + Send + Sync`: every clone sends commands to the same node and
//! takes events from the same queue (each event goes to one taker).

use super::reactor::Node;
use crate::core::frame::into_frames;
use crate::core::{Event, Frame};
use crate::error::NodeError;
use log::warn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use uuid::Uuid;

impl Node {
    /// Runs the node in a thread of its own; the handle sends it commands
    /// and receives its events.
    pub fn spawn(self) -> Result<NodeHandle, NodeError> {
        NodeHandle::spawn(self)
    }
}

type Call = Box<dyn FnOnce(&mut Node) + Send>;

pub(crate) enum Command {
    Call(Call),
    Stop,
}

/// A node running in its own thread.
///
/// Clone it to share the node between threads (it is `Send + Sync`): each
/// clone sends commands to the same node, and events come from one queue
/// shared by all clones, each event to whichever clone takes it first.
/// The node stops on [`NodeHandle::stop`] (from any clone) or when the
/// last clone is dropped, which waits for the node's thread (GOODBYE and
/// queued messages go out, up to the linger time).
///
/// Each command is a round trip to that thread (a channel send, a wake-up
/// and a reply): it returns once the node has done it, with what the
/// [`Node`] method of the same name returns. Once the node has stopped,
/// commands fail with [`CommandError::Stopped`](crate::CommandError::Stopped)
/// inside [`NodeError::Command`], and queries answer empty.
#[derive(Clone)]
pub struct NodeHandle {
    shared: Arc<Shared>,
}

/// What every clone of a handle shares; dropping the last one stops the
/// node.
pub(crate) struct Shared {
    commands: flume::Sender<Command>,
    waker: Arc<mio::Waker>,
    events: flume::Receiver<Event>,
    /// Disconnected (its sender dropped) when the node's thread ends.
    done: flume::Receiver<()>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Dropping the last clone does not wait for the thread (an async
    /// program must not block; the thread finishes on its own).
    pub(crate) detach_on_drop: AtomicBool,
    uuid: Uuid,
    name: String,
    endpoint: String,
}

impl NodeHandle {
    pub(crate) fn spawn(mut node: Node) -> Result<NodeHandle, NodeError> {
        let waker = node.waker();
        let (commands, command_rx) = flume::unbounded::<Command>();
        let (event_tx, events) = flume::unbounded();
        let (done_tx, done) = flume::bounded::<()>(0);
        let (uuid, name, endpoint) = (node.uuid(), node.name().to_owned(), node.endpoint().to_owned());
        let thread = std::thread::Builder::new()
            .name(format!("zre-{name}"))
            .spawn(move || {
                run(&mut node, &command_rx, &event_tx);
                // The node (its sockets and context) goes before `done`
                // says so.
                drop(node);
                drop(done_tx);
            })?;
        Ok(NodeHandle {
            shared: Arc::new(Shared {
                commands,
                waker,
                events,
                done,
                thread: Mutex::new(Some(thread)),
                detach_on_drop: AtomicBool::new(false),
                uuid,
                name,
                endpoint,
            }),
        })
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The node's UUID (kept here: no round trip).
    pub fn uuid(&self) -> Uuid {
        self.shared.uuid
    }

    /// The node's name (kept here: no round trip).
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The node's inbox endpoint as advertised in HELLO, `tcp://ip:port`
    /// (kept here: no round trip).
    pub fn endpoint(&self) -> &str {
        &self.shared.endpoint
    }

    /// Runs `f` on the node in its thread and returns what it returns;
    /// `None` if the node has stopped. Every query and command goes this
    /// way, so nothing in the API is out of reach of a spawned node.
    pub fn call<R: Send + 'static>(&self, f: impl FnOnce(&mut Node) -> R + Send + 'static) -> Option<R> {
        let (reply_tx, reply_rx) = flume::bounded(1);
        self.shared()
            .send(Command::Call(Box::new(move |node| {
                let _ = reply_tx.send(f(node));
            })))
            .ok()?;
        reply_rx.recv().ok()
    }

    /// Joins `group` ([`Node::join`]): JOIN to every peer. Joining a group
    /// we are in does nothing.
    ///
    /// # Errors
    ///
    /// [`NodeError::Command`]: a group name that is empty or over 255
    /// bytes, or a stopped node; [`NodeError::Io`] or [`NodeError::Zmq`]
    /// if the node's sockets fail.
    pub fn join(&self, group: &str) -> Result<(), NodeError> {
        let group = group.to_owned();
        self.call(move |node| node.join(&group)).unwrap_or_else(stopped)
    }

    /// Leaves `group` ([`Node::leave`]): LEAVE to every peer. Leaving a
    /// group we are not in does nothing.
    ///
    /// # Errors
    ///
    /// As [`NodeHandle::join`].
    pub fn leave(&self, group: &str) -> Result<(), NodeError> {
        let group = group.to_owned();
        self.call(move |node| node.leave(&group)).unwrap_or_else(stopped)
    }

    /// See [`Node::contest`].
    pub fn contest(&self, group: &str) -> Result<(), NodeError> {
        let group = group.to_owned();
        self.call(move |node| node.contest(&group))
            .unwrap_or_else(stopped)
    }

    /// See [`Node::leader`]; `None` also once the node has stopped.
    pub fn leader(&self, group: &str) -> Option<Uuid> {
        let group = group.to_owned();
        self.call(move |node| node.leader(&group)).flatten()
    }

    /// Sends a message (its frames as for [`Node::whisper`]) to one peer.
    /// The frames move to the node's thread without a copy.
    ///
    /// # Errors
    ///
    /// [`NodeError::Command`]: a peer that has not said HELLO (or is gone),
    /// or a stopped node; [`NodeError::Io`] or [`NodeError::Zmq`] if the
    /// node's sockets fail.
    pub fn whisper<F: Into<Frame>>(&self, peer: Uuid, content: Vec<F>) -> Result<(), NodeError> {
        let content = into_frames(content);
        self.call(move |node| node.whisper(peer, content))
            .unwrap_or_else(stopped)
    }

    /// Sends a message (as for [`Node::whisper`]) to every peer in `group`
    /// ([`Node::shout`]); returns how many peers that is, 0 when no peer
    /// is in the group (not an error).
    ///
    /// # Errors
    ///
    /// [`NodeError::Command`]: a group name that is empty or over 255
    /// bytes, or a stopped node; [`NodeError::Io`] or [`NodeError::Zmq`]
    /// if the node's sockets fail.
    pub fn shout<F: Into<Frame>>(&self, group: &str, content: Vec<F>) -> Result<usize, NodeError> {
        let content = into_frames(content);
        let group = group.to_owned();
        self.call(move |node| node.shout(&group, content))
            .unwrap_or_else(stopped)
    }

    /// Peers that had their ENTER ([`Node::peers`]); empty once the node
    /// has stopped.
    pub fn peers(&self) -> Vec<Uuid> {
        self.call(|node| node.peers()).unwrap_or_default()
    }

    /// [`Node::find_peer`]: a peer by UUID or by a name no other peer
    /// has; `None` also once the node has stopped.
    pub fn find_peer(&self, uuid_or_name: &str) -> Option<Uuid> {
        let key = uuid_or_name.to_owned();
        self.call(move |node| node.find_peer(&key)).flatten()
    }

    /// [`Node::peer_name`], owned; `None` also once the node has stopped.
    pub fn peer_name(&self, peer: Uuid) -> Option<String> {
        self.call(move |node| node.peer_name(peer).map(str::to_owned))
            .flatten()
    }

    /// [`Node::peers_by_group`]; empty once the node has stopped.
    pub fn peers_by_group(&self, group: &str) -> Vec<Uuid> {
        let group = group.to_owned();
        self.call(move |node| node.peers_by_group(&group))
            .unwrap_or_default()
    }

    /// [`Node::own_groups`], owned; empty once the node has stopped.
    pub fn own_groups(&self) -> Vec<String> {
        self.call(|node| node.own_groups().into_iter().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// The event queue shared by every clone (a [`flume`] MPMC channel:
    /// `recv`, `try_recv`, `recv_timeout`, `iter`; cloning the receiver
    /// shares the queue too). `recv` returns `Err` once the node has
    /// stopped and every event was taken.
    pub fn events(&self) -> &flume::Receiver<Event> {
        &self.shared.events
    }

    /// The next event, waiting up to `timeout` (`None`: until one comes),
    /// as [`Node::recv_event`]; `None` when the time is up or the node has
    /// stopped and every event was taken.
    pub fn recv_event(&self, timeout: Option<Duration>) -> Option<Event> {
        match timeout {
            Some(timeout) => self.shared.events.recv_timeout(timeout).ok(),
            None => self.shared.events.recv().ok(),
        }
    }

    /// Whether the node's thread has ended.
    pub fn is_stopped(&self) -> bool {
        self.shared.done().is_disconnected()
    }

    /// Stops the node cleanly (for every clone) and waits for its thread.
    pub fn stop(self) {
        self.shared.stop_and_wait();
    }
}

impl Shared {
    pub(crate) fn send(&self, command: Command) -> Result<(), ()> {
        self.commands.send(command).map_err(|_| ())?;
        self.waker
            .wake()
            .map_err(|err| warn!("cannot wake the node thread: {err}"))
    }

    /// Asks the node to stop; returns at once.
    pub(crate) fn request_stop(&self) {
        let _ = self.send(Command::Stop);
    }

    /// Disconnected once the node's thread has ended.
    pub(crate) fn done(&self) -> &flume::Receiver<()> {
        &self.done
    }

    fn stop_and_wait(&self) {
        self.request_stop();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        } else {
            // Another clone is joining it: wait for the end all the same.
            let _ = self.done.recv();
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if self.detach_on_drop.load(Ordering::Relaxed) {
            self.request_stop();
        } else {
            self.stop_and_wait();
        }
    }
}

fn stopped<T>() -> Result<T, NodeError> {
    Err(NodeError::Command(crate::core::CommandError::Stopped))
}

/// While the handle's queue holds `max_events` events not taken, the
/// node's thread looks again this often (a channel cannot wake it when
/// room comes); meanwhile events queue in the node, up to its own bound.
const FULL_QUEUE_RECHECK: Duration = Duration::from_millis(10);

fn run(node: &mut Node, commands: &flume::Receiver<Command>, events: &flume::Sender<Event>) {
    // The handle's queue is bounded like the node's: an application that
    // does not take events gets back-pressure (the node stops reading its
    // inbox at its own bound), not a queue that grows without end.
    let bound = node.max_events();
    loop {
        let full = events.len() >= bound;
        node.hold_events(full);
        if let Err(err) = node.run_once(full.then_some(FULL_QUEUE_RECHECK)) {
            warn!("node loop failed: {err}");
            node.stop();
        }
        loop {
            match commands.try_recv() {
                Ok(Command::Call(call)) => call(node),
                Ok(Command::Stop) | Err(flume::TryRecvError::Disconnected) => node.stop(),
                Err(flume::TryRecvError::Empty) => break,
            }
            if node.is_stopped() {
                break;
            }
        }
        // Once stopped, every event left goes (STOP last): no more come.
        while node.is_stopped() || events.len() < bound {
            let Some(event) = node.next_event() else {
                break;
            };
            // A handle that stopped listening does not stop the node.
            let _ = events.send(event);
        }
        if node.is_stopped() {
            return;
        }
    }
}
