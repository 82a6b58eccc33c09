//! Message contents given back by the application (see `Node::recycle`),
//! kept whole, frames and all, for the next messages received: a message
//! of the same shape is then read into them with one pop and a copy, and
//! the hot path does not allocate. Bounded: enough for a batch of small
//! messages, not a heap's worth after a burst of large ones.

use crate::core::Frame;

/// At most this many contents are kept ...
const MAX_CONTENTS: usize = 512;
/// ... holding at most this many bytes of frame capacity.
const MAX_BYTES: usize = 1 << 20;
/// A held buffer up to this size given back is let go only when the next
/// one is (see `ReceivePool::last_held`). Larger ones are freed at once:
/// glibc maps those on their own, so freeing them trims no heap.
const DEFER_HELD_UP_TO: usize = 1 << 20;

pub(crate) struct ReceivePool {
    /// Each kept content with its frame capacity, counted once when it
    /// came back rather than again when it is taken.
    contents: Vec<(Vec<Frame>, usize)>,
    /// Total frame capacity of `contents`.
    bytes: usize,
    /// The last held buffer (a large frame still in libzmq's message)
    /// given back, or an empty frame. libzmq's I/O thread allocates each
    /// large message's buffer on its heap, one after the other. Freed as
    /// soon as they come back, a batch's buffers leave the top of that
    /// heap free, and glibc hands the pages back to the kernel
    /// (`madvise`, with a TLB shootdown across the process's threads)
    /// only to fault them in again for the next messages. Raw libzmq's
    /// receiver, which closes a message when it receives the next one,
    /// always keeps the newest buffer allocated; so does this.
    last_held: Frame,
}

impl ReceivePool {
    pub(crate) fn new() -> Self {
        ReceivePool {
            // Its whole size at once: growing it would allocate on the hot
            // path (untouched, the pages cost no memory).
            contents: Vec::with_capacity(MAX_CONTENTS),
            bytes: 0,
            last_held: Frame::new(),
        }
    }

    /// Keeps a message's content for reuse, or drops it when full.
    // Always inlined: called once per message received, and small once
    // the held buffers' case is out of line.
    #[inline(always)]
    pub(crate) fn keep(&mut self, mut content: Vec<Frame>) {
        // One pass: a held libzmq buffer cannot be refilled, so it is let
        // go now rather than kept allocated, uncounted, until reuse; the
        // one before it, that is (see `last_held`).
        let mut bytes = 0;
        for frame in content.iter_mut() {
            match frame.owned_mut() {
                Some(vec) => bytes += vec.capacity(),
                None => self.let_go(frame),
            }
        }
        if content.capacity() > 0 && self.contents.len() < MAX_CONTENTS && self.bytes + bytes <= MAX_BYTES {
            self.bytes += bytes;
            self.contents.push((content, bytes));
        }
    }

    /// Leaves an empty frame in place of a held one, keeping back the
    /// buffer (up to `DEFER_HELD_UP_TO`) and letting the one kept before go.
    /// Out of line: every large message takes it, but it is no small
    /// message's cost.
    #[inline(never)]
    fn let_go(&mut self, frame: &mut Frame) {
        if frame.len() <= DEFER_HELD_UP_TO {
            std::mem::swap(&mut self.last_held, frame);
        }
        frame.release_held();
    }

    /// A content to read a message into with [`Reader`]: a kept one when
    /// there is one, its frames still allocated.
    #[inline]
    pub(crate) fn reader(&mut self) -> Reader {
        let content = match self.contents.pop() {
            Some((content, bytes)) => {
                self.bytes -= bytes;
                content
            }
            None => Vec::new(),
        };
        Reader { content, filled: 0 }
    }
}

/// Fills a content frame by frame, reusing the buffers it already holds.
pub(crate) struct Reader {
    content: Vec<Frame>,
    filled: usize,
}

impl Reader {
    /// Appends a copy of the next frame; `last` says no frame follows, so
    /// that a new list is sized exactly.
    #[inline]
    pub(crate) fn push(&mut self, bytes: &[u8], last: bool) {
        match self.content.get_mut(self.filled) {
            Some(frame) => frame.refill(bytes),
            None => self.append(bytes, last),
        }
        self.filled += 1;
    }

    /// A frame beyond those kept: a new `Vec`, out of the hot path.
    #[inline(never)]
    fn append(&mut self, bytes: &[u8], last: bool) {
        if last && self.content.capacity() == 0 {
            // The common case, one content frame: sized exactly.
            self.content.reserve_exact(1);
        }
        self.content.push(Frame::from(bytes));
    }

    /// Appends a frame as it is (a large one still in libzmq's buffer),
    /// in place of the kept frame at its position, if any.
    pub(crate) fn push_frame(&mut self, frame: Frame) {
        match self.content.get_mut(self.filled) {
            Some(slot) => *slot = frame,
            None => self.content.push(frame),
        }
        self.filled += 1;
    }

    /// The frames pushed, without the kept ones left over.
    #[inline]
    pub(crate) fn finish(mut self) -> Vec<Frame> {
        self.content.truncate(self.filled);
        self.content
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn read(pool: &mut ReceivePool, frames: &[&[u8]]) -> Vec<Frame> {
        let mut reader = pool.reader();
        for (i, frame) in frames.iter().enumerate() {
            reader.push(frame, i + 1 == frames.len());
        }
        reader.finish()
    }

    #[test]
    fn contents_are_reused_whatever_their_shape() {
        let mut pool = ReceivePool::new();
        let first = read(&mut pool, &[b"hello"]);
        assert_eq!(first, vec![b"hello".to_vec()]);
        let address = first[0].as_ptr();
        pool.keep(first);
        let again = read(&mut pool, &[b"world"]);
        assert_eq!(again, vec![b"world".to_vec()]);
        assert_eq!(again[0].as_ptr(), address, "the kept frame is used again");
        // More frames than kept, then fewer: the content is exactly what
        // was read each time.
        pool.keep(again);
        let three = read(&mut pool, &[b"a", b"bc", b""]);
        assert_eq!(three, vec![b"a".to_vec(), b"bc".to_vec(), Vec::new()]);
        pool.keep(three);
        assert_eq!(read(&mut pool, &[b"xyz"]), vec![b"xyz".to_vec()]);
        assert_eq!(pool.bytes, 0);
    }

    /// A held frame whose owner says when it is dropped.
    fn held(len: usize, dropped: &Arc<AtomicUsize>) -> Frame {
        struct Owner(Vec<u8>, Arc<AtomicUsize>);
        impl AsRef<[u8]> for Owner {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }
        impl Drop for Owner {
            fn drop(&mut self) {
                self.1.fetch_add(1, Ordering::SeqCst);
            }
        }
        Frame::held(Owner(vec![7; len], dropped.clone()))
    }

    #[test]
    fn a_held_buffer_given_back_is_freed_when_the_next_one_is() {
        let mut pool = ReceivePool::new();
        let dropped = Arc::new(AtomicUsize::new(0));
        pool.keep(vec![held(Frame::HELD_FROM, &dropped)]);
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            0,
            "the newest buffer stays allocated"
        );
        pool.keep(vec![
            held(Frame::HELD_FROM, &dropped),
            held(Frame::HELD_FROM, &dropped),
        ]);
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            2,
            "one kept back, whatever the count"
        );
        // A content read into later is never the kept-back buffer.
        let again = read(&mut pool, &[b"small"]);
        assert_eq!(again, vec![b"small".to_vec()]);
        assert!(!again[0].is_held());
        // Beyond the bound, freed at once (the one kept back stays).
        pool.keep(vec![held(DEFER_HELD_UP_TO + 1, &dropped)]);
        assert_eq!(dropped.load(Ordering::SeqCst), 3);
        drop(pool);
        assert_eq!(dropped.load(Ordering::SeqCst), 4, "nothing outlives the pool");
    }

    #[test]
    fn what_is_kept_is_bounded() {
        let mut pool = ReceivePool::new();
        pool.keep(vec![vec![0; MAX_BYTES].into()]);
        pool.keep(vec![vec![0; 1].into()]);
        assert_eq!(pool.contents.len(), 1, "over the byte bound, dropped");
        assert_eq!(pool.bytes, MAX_BYTES);
        let _ = pool.reader();
        assert_eq!(pool.bytes, 0);
        for _ in 0..MAX_CONTENTS + 10 {
            pool.keep(vec![Vec::with_capacity(1).into()]);
        }
        assert_eq!(pool.contents.len(), MAX_CONTENTS);
        // An empty list holds nothing worth keeping.
        let mut fresh = ReceivePool::new();
        fresh.keep(Vec::new());
        assert!(fresh.contents.is_empty());
    }
}
