//! The async adapter (cargo feature `async`): a spawned node seen from
//! async code. Events are a [`futures_core::Stream`], commands are `async`
//! calls, stopping awaits the node's thread instead of blocking on it.
//!
//! It is runtime-agnostic: the node runs in its own thread (as
//! [`NodeHandle`]), and the channels between that thread and async code
//! wake the awaiting task ([`flume`]'s async side), so no poller of the
//! runtime has to watch the node's fd and nothing blocks an executor
//! thread.

use super::handle::{Command, NodeHandle};
use super::reactor::Node;
use crate::core::frame::into_frames;
use crate::core::{Event, Frame};
use crate::error::NodeError;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use uuid::Uuid;

impl Node {
    /// Runs the node in a thread of its own, driven from async code:
    /// [`AsyncNode`]. Call it from anywhere (it does not need a runtime).
    pub fn spawn_async(self) -> Result<AsyncNode, NodeError> {
        Ok(AsyncNode::from(self.spawn()?))
    }
}

/// A node in a thread of its own, for async programs: `Clone + Send +
/// Sync`, every method `async` or non-blocking.
///
/// Events: [`AsyncNode::events`] is a `Stream` (or [`AsyncNode::recv`]);
/// as with [`NodeHandle`], every clone takes from one queue, each event
/// once. Commands ([`AsyncNode::join`], [`AsyncNode::shout`], ...) are a
/// round trip to the node's thread whose reply is awaited.
///
/// [`AsyncNode::stop`] stops the node and awaits its end. Dropping the
/// last clone without it asks the node to stop and returns at once: the
/// node's thread still sends GOODBYE and its queued messages (up to the
/// linger time) before it ends, unless the process exits first.
#[derive(Clone)]
pub struct AsyncNode {
    handle: NodeHandle,
}

impl From<NodeHandle> for AsyncNode {
    /// Drives a spawned node from async code. From then on, dropping the
    /// last clone of either no longer waits for the node's thread.
    fn from(handle: NodeHandle) -> AsyncNode {
        handle.shared().detach_on_drop.store(true, Ordering::Relaxed);
        AsyncNode { handle }
    }
}

impl AsyncNode {
    /// The blocking handle of the same node (for threads without a
    /// runtime).
    pub fn handle(&self) -> &NodeHandle {
        &self.handle
    }

    /// The node's UUID (no round trip).
    pub fn uuid(&self) -> Uuid {
        self.handle.uuid()
    }

    /// The node's name (no round trip).
    pub fn name(&self) -> &str {
        self.handle.name()
    }

    /// The node's inbox endpoint, `tcp://ip:port` (no round trip).
    pub fn endpoint(&self) -> &str {
        self.handle.endpoint()
    }

    /// Runs `f` on the node in its thread and awaits what it returns;
    /// `None` if the node has stopped. Every [`Node`] method is reachable
    /// this way.
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Node) -> R + Send + 'static,
    ) -> Option<R> {
        let (reply_tx, reply_rx) = flume::bounded(1);
        self.handle
            .shared()
            .send(Command::Call(Box::new(move |node| {
                let _ = reply_tx.send(f(node));
            })))
            .ok()?;
        reply_rx.recv_async().await.ok()
    }

    /// [`Node::join`], awaited.
    pub async fn join(&self, group: &str) -> Result<(), NodeError> {
        let group = group.to_owned();
        self.call(move |node| node.join(&group))
            .await
            .unwrap_or_else(stopped)
    }

    /// [`Node::leave`], awaited.
    pub async fn leave(&self, group: &str) -> Result<(), NodeError> {
        let group = group.to_owned();
        self.call(move |node| node.leave(&group))
            .await
            .unwrap_or_else(stopped)
    }

    /// [`Node::shout`], awaited: how many peers are in the group.
    pub async fn shout<F: Into<Frame>>(&self, group: &str, content: Vec<F>) -> Result<usize, NodeError> {
        let content = into_frames(content);
        let group = group.to_owned();
        self.call(move |node| node.shout(&group, content))
            .await
            .unwrap_or_else(stopped)
    }

    /// [`Node::whisper`], awaited.
    pub async fn whisper<F: Into<Frame>>(&self, peer: Uuid, content: Vec<F>) -> Result<(), NodeError> {
        let content = into_frames(content);
        self.call(move |node| node.whisper(peer, content))
            .await
            .unwrap_or_else(stopped)
    }

    /// [`Node::peers`], awaited; empty once the node has stopped.
    pub async fn peers(&self) -> Vec<Uuid> {
        self.call(|node| node.peers()).await.unwrap_or_default()
    }

    /// [`Node::find_peer`], awaited: a peer by UUID or by a name no other
    /// peer has; `None` also once the node has stopped.
    pub async fn find_peer(&self, uuid_or_name: &str) -> Option<Uuid> {
        let key = uuid_or_name.to_owned();
        self.call(move |node| node.find_peer(&key)).await.flatten()
    }

    /// [`Node::peer_name`], awaited and owned; `None` also once the node
    /// has stopped.
    pub async fn peer_name(&self, peer: Uuid) -> Option<String> {
        self.call(move |node| node.peer_name(peer).map(str::to_owned))
            .await
            .flatten()
    }

    /// [`Node::peers_by_group`], awaited; empty once the node has stopped.
    pub async fn peers_by_group(&self, group: &str) -> Vec<Uuid> {
        let group = group.to_owned();
        self.call(move |node| node.peers_by_group(&group))
            .await
            .unwrap_or_default()
    }

    /// [`Node::own_groups`], awaited and owned; empty once the node has
    /// stopped.
    pub async fn own_groups(&self) -> Vec<String> {
        self.call(|node| node.own_groups().into_iter().map(str::to_owned).collect())
            .await
            .unwrap_or_default()
    }

    /// The next event; `None` once the node has stopped and every event
    /// was taken.
    pub async fn recv(&self) -> Option<Event> {
        self.handle.events().recv_async().await.ok()
    }

    /// The events as a `Stream`, ending once the node has stopped and
    /// every event was taken. Streams of several clones share one queue.
    pub fn events(&self) -> EventStream {
        EventStream {
            inner: self.handle.events().clone().into_stream(),
        }
    }

    /// Stops the node (for every clone) and awaits the end of its thread,
    /// without blocking the executor.
    pub async fn stop(&self) {
        let shared = self.handle.shared();
        shared.request_stop();
        // Disconnected (an error) once the thread has ended.
        let _ = shared.done().recv_async().await;
    }
}

/// The events of an [`AsyncNode`] as a `futures::Stream`.
pub struct EventStream {
    inner: flume::r#async::RecvStream<'static, Event>,
}

impl futures_core::Stream for EventStream {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

fn stopped<T>() -> Result<T, NodeError> {
    Err(NodeError::Command(crate::core::CommandError::Stopped))
}
