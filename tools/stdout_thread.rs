//! Stdout written by a thread of its own, so that a reader who is slow,
//! or does not read at all for a while, never blocks the node's loop:
//! beacons, PING-OKs and timers go on. Lines are gathered into a chunk;
//! chunks go to the writer through a bounded channel. When the channel
//! is full and the chunk has reached [`ROOM`], [`StdoutThread::has_room`]
//! says no, and the applet's loop stops taking events from the node
//! (`Node::hold_events`): they queue in the node up to its bound, then
//! in libzmq, whose high-water mark pushes back on the senders. Nothing
//! is dropped and the order is kept; [`StdoutThread::finish`] (or drop)
//! writes everything before it returns.

use mio::Waker;
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

/// Chunks handed to the writer and not yet written, at most.
const CHUNKS: usize = 8;
/// Bytes gathered in one chunk before the loop stops taking events (a
/// chunk can be larger by the one event that crossed it).
const ROOM: usize = 64 << 10;
/// A chunk this large waits for the writer instead of growing, for a
/// loop that does not ask [`StdoutThread::has_room`] (as stdout did).
const HARD_LIMIT: usize = 4 << 20;

pub struct StdoutThread {
    chunk: Vec<u8>,
    chunks: Option<SyncSender<Vec<u8>>>,
    writer: Option<JoinHandle<io::Result<()>>>,
}

impl StdoutThread {
    /// Starts the writer; it wakes `waker` (the node's poll) after each
    /// chunk written, so that a loop waiting for room comes back.
    pub fn start(waker: Arc<Waker>) -> io::Result<StdoutThread> {
        let (chunks, received) = sync_channel(CHUNKS);
        let writer = std::thread::Builder::new()
            .name("zre-stdout".into())
            .spawn(move || write_chunks(&received, &waker))?;
        Ok(StdoutThread {
            chunk: Vec::with_capacity(ROOM),
            chunks: Some(chunks),
            writer: Some(writer),
        })
    }

    /// Appends bytes to the chunk being gathered.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.chunk.extend_from_slice(bytes);
        if self.chunk.len() >= HARD_LIMIT {
            self.hand_over(true)?;
        }
        Ok(())
    }

    /// Whether the applet may take more events: the chunk has room.
    pub fn has_room(&self) -> bool {
        self.chunk.len() < ROOM
    }

    /// Hands the chunk to the writer if it has room for it (never waits).
    pub fn flush(&mut self) -> io::Result<()> {
        self.hand_over(false)
    }

    /// Writes everything and waits for the writer to finish; the writer's
    /// error, if any (EPIPE from a reader that went away).
    pub fn finish(&mut self) -> io::Result<()> {
        let handed = self.hand_over(true);
        self.chunks = None;
        let written = match self.writer.take() {
            Some(writer) => writer
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the stdout writer panicked"))),
            None => Ok(()),
        };
        handed.and(written)
    }

    fn hand_over(&mut self, wait: bool) -> io::Result<()> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let Some(chunks) = &self.chunks else {
            return Err(io::Error::from(io::ErrorKind::BrokenPipe));
        };
        let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(ROOM));
        let result = if wait {
            chunks.send(chunk).map_err(|e| TrySendError::Disconnected(e.0))
        } else {
            chunks.try_send(chunk)
        };
        match result {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(chunk)) => {
                self.chunk = chunk;
                Ok(())
            }
            Err(TrySendError::Disconnected(_)) => {
                // The writer stopped on an error: that error.
                self.chunks = None;
                match self.writer.take().map(JoinHandle::join) {
                    Some(Ok(Err(err))) => Err(err),
                    _ => Err(io::Error::from(io::ErrorKind::BrokenPipe)),
                }
            }
        }
    }
}

impl Drop for StdoutThread {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

fn write_chunks(chunks: &Receiver<Vec<u8>>, waker: &Waker) -> io::Result<()> {
    let stdout = io::stdout();
    for chunk in chunks {
        let mut out = stdout.lock();
        out.write_all(&chunk)?;
        out.flush()?;
        drop(out);
        let _ = waker.wake();
    }
    Ok(())
}
