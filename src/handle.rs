//! Running a node in a thread of its own: commands go in through a channel
//! and a mio `Waker`, events come out through a channel.

use crate::core::{Event, Frame};
use crate::error::NodeError;
use crate::reactor::Node;
use log::warn;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
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

enum Command {
    Call(Call),
    Stop,
}

/// A node running in its own thread. Dropping the handle stops the node
/// and waits for its thread.
///
/// Each command is a round trip to that thread (a channel send, a wake-up
/// and a reply): it returns once the node has done it, with what the
/// [`Node`] method of the same name returns. Once the node has stopped,
/// commands fail with [`CommandError::Stopped`](crate::CommandError::Stopped)
/// inside [`NodeError::Command`], and queries answer empty.
pub struct NodeHandle {
    commands: Sender<Command>,
    waker: Arc<mio::Waker>,
    events: Receiver<Event>,
    thread: Option<JoinHandle<()>>,
    uuid: Uuid,
    name: String,
    endpoint: String,
}

impl NodeHandle {
    pub(crate) fn spawn(mut node: Node) -> Result<NodeHandle, NodeError> {
        let waker = node.waker();
        let (commands, command_rx) = mpsc::channel::<Command>();
        let (event_tx, events) = mpsc::channel();
        let (uuid, name, endpoint) = (node.uuid(), node.name().to_owned(), node.endpoint().to_owned());
        let thread = std::thread::Builder::new()
            .name(format!("zre-{name}"))
            .spawn(move || {
                run(&mut node, &command_rx, &event_tx);
            })?;
        Ok(NodeHandle {
            commands,
            waker,
            events,
            thread: Some(thread),
            uuid,
            name,
            endpoint,
        })
    }

    /// The node's UUID (kept here: no round trip).
    pub fn uuid(&self) -> Uuid {
        self.uuid
    }

    /// The node's name (kept here: no round trip).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The node's inbox endpoint as advertised in HELLO, `tcp://ip:port`
    /// (kept here: no round trip).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Runs `f` on the node in its thread and returns what it returns;
    /// `None` if the node has stopped. Every query and command goes this
    /// way, so nothing in the API is out of reach of a spawned node.
    pub fn call<R: Send + 'static>(&self, f: impl FnOnce(&mut Node) -> R + Send + 'static) -> Option<R> {
        let (reply_tx, reply_rx) = mpsc::channel();
        self.send(Command::Call(Box::new(move |node| {
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

    /// Sends a message of one or more frames to one peer ([`Node::whisper`]).
    /// The frames move to the node's thread without a copy.
    ///
    /// # Errors
    ///
    /// [`NodeError::Command`]: a peer that has not said HELLO (or is gone),
    /// or a stopped node; [`NodeError::Io`] or [`NodeError::Zmq`] if the
    /// node's sockets fail.
    pub fn whisper(&self, peer: Uuid, content: Vec<Frame>) -> Result<(), NodeError> {
        self.call(move |node| node.whisper(peer, content))
            .unwrap_or_else(stopped)
    }

    /// Sends a message of one or more frames to every peer in `group`
    /// ([`Node::shout`]); returns how many peers that is, 0 when no peer
    /// is in the group (not an error).
    ///
    /// # Errors
    ///
    /// [`NodeError::Command`]: a group name that is empty or over 255
    /// bytes, or a stopped node; [`NodeError::Io`] or [`NodeError::Zmq`]
    /// if the node's sockets fail.
    pub fn shout(&self, group: &str, content: Vec<Frame>) -> Result<usize, NodeError> {
        let group = group.to_owned();
        self.call(move |node| node.shout(&group, content))
            .unwrap_or_else(stopped)
    }

    /// Peers that have said HELLO ([`Node::peers`]); empty once the node
    /// has stopped.
    pub fn peers(&self) -> Vec<Uuid> {
        self.call(|node| node.peers()).unwrap_or_default()
    }

    /// The event channel; `recv` returns `Err` once the node has stopped.
    pub fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    /// The next event, waiting up to `timeout` (`None`: until one comes),
    /// as [`Node::recv_event`]; `None` when the time is up or the node has
    /// stopped and every event was taken.
    pub fn recv_event(&self, timeout: Option<Duration>) -> Option<Event> {
        match timeout {
            Some(timeout) => self.events.recv_timeout(timeout).ok(),
            None => self.events.recv().ok(),
        }
    }

    /// Stops the node cleanly and waits for its thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn send(&self, command: Command) -> Result<(), ()> {
        self.commands.send(command).map_err(|_| ())?;
        self.waker
            .wake()
            .map_err(|err| warn!("cannot wake the node thread: {err}"))
    }

    fn shutdown(&mut self) {
        let _ = self.send(Command::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for NodeHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn stopped<T>() -> Result<T, NodeError> {
    Err(NodeError::Command(crate::core::CommandError::Stopped))
}

fn run(node: &mut Node, commands: &Receiver<Command>, events: &Sender<Event>) {
    loop {
        if let Err(err) = node.run_once(None) {
            warn!("node loop failed: {err}");
            node.stop();
        }
        loop {
            match commands.try_recv() {
                Ok(Command::Call(call)) => call(node),
                Ok(Command::Stop) | Err(mpsc::TryRecvError::Disconnected) => node.stop(),
                Err(mpsc::TryRecvError::Empty) => break,
            }
            if node.is_stopped() {
                break;
            }
        }
        while let Some(event) = node.next_event() {
            // A handle that stopped listening does not stop the node.
            let _ = events.send(event);
        }
        if node.is_stopped() {
            return;
        }
    }
}
