//! [`Frame`]: one frame of message content, bytes the application reads
//! as a slice. It either owns a `Vec<u8>` (what an application builds,
//! and what small received frames are read into) or holds a buffer
//! somebody else allocated, unchanged: a large frame received stays in
//! the libzmq message it arrived in, so a 64 KiB WHISPER reaches the
//! application without a copy, as it reaches a raw libzmq receiver.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

/// One frame of message content: opaque bytes, one ZeroMQ message part.
///
/// Read it as `&[u8]` (it derefs to a slice); make one with `Frame::from`
/// or `.into()` from a `Vec<u8>`, `String` or `Box<[u8]>` (moved, not
/// copied), or from a `&[u8]`, `&str`, `&Vec<u8>`, `&String`, `[u8; N]`,
/// `&[u8; N]` or `Cow` (copied). It compares, hashes and prints (`{:?}`)
/// as its bytes, so `content == vec![b"hi".to_vec()]` holds for a
/// `Vec<Frame>`. [`Frame::into_vec`] gives the bytes as a `Vec<u8>`
/// without a copy when the frame owns them (`to_vec()`, through the
/// slice, always copies).
///
/// The send methods take a `Vec` of any one of these types
/// (`node.whisper(peer, vec![b"hi".to_vec()])`); to mix types in one
/// message, make each a `Frame`:
/// `vec![Frame::from("text"), Frame::from(bytes)]`. An empty message is
/// `Vec::<Frame>::new()` (a bare `vec![]` leaves the type open).
///
/// A frame received may hold libzmq's buffer instead of a copy of it
/// (frames of [`Frame::HELD_FROM`] bytes or more): cloning such a frame
/// shares that buffer, and `into_vec` copies it once.
#[derive(Clone)]
pub struct Frame(Repr);

#[derive(Clone)]
enum Repr {
    Owned(Vec<u8>),
    Held(Arc<dyn AsRef<[u8]> + Send + Sync>),
}

impl Frame {
    /// The size from which a received frame is kept in the buffer it
    /// arrived in rather than copied, in bytes. Below it, copying into a
    /// reused `Vec` costs less than keeping the buffer, and a small frame
    /// may share a buffer with other messages (libzmq reads up to 8 KiB at
    /// a time), which holding it would keep allocated.
    pub const HELD_FROM: usize = 8192;

    /// An empty frame.
    pub const fn new() -> Frame {
        Frame(Repr::Owned(Vec::new()))
    }

    /// A frame holding `owner`'s bytes without copying them; `owner` is
    /// dropped when the frame and its clones are.
    pub(crate) fn held(owner: impl AsRef<[u8]> + Send + Sync + 'static) -> Frame {
        Frame(Repr::Held(Arc::new(owner)))
    }

    /// The bytes as a `Vec<u8>`: moved out when the frame owns them,
    /// copied when it holds a buffer.
    pub fn into_vec(self) -> Vec<u8> {
        match self.0 {
            Repr::Owned(bytes) => bytes,
            Repr::Held(owner) => (*owner).as_ref().to_vec(),
        }
    }

    /// The bytes as a slice (also what `*frame` and `&frame[..]` give).
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Owned(bytes) => bytes,
            Repr::Held(owner) => (**owner).as_ref(),
        }
    }

    /// Makes the frame a copy of `bytes`, reusing its `Vec` when it owns
    /// one (a held buffer is let go).
    #[inline]
    pub(crate) fn refill(&mut self, bytes: &[u8]) {
        match &mut self.0 {
            Repr::Owned(vec) => {
                vec.clear();
                vec.extend_from_slice(bytes);
            }
            Repr::Held(_) => self.replace_held(bytes),
        }
    }

    #[cold]
    fn replace_held(&mut self, bytes: &[u8]) {
        self.0 = Repr::Owned(bytes.to_vec());
    }

    /// The frame's own `Vec`, to move out (`std::mem::take`); `None` when
    /// it holds a buffer.
    pub(crate) fn owned_mut(&mut self) -> Option<&mut Vec<u8>> {
        match &mut self.0 {
            Repr::Owned(bytes) => Some(bytes),
            Repr::Held(_) => None,
        }
    }

    /// Whether the frame holds a buffer (rather than owning a `Vec`).
    #[cfg(test)]
    pub(crate) fn is_held(&self) -> bool {
        matches!(self.0, Repr::Held(_))
    }

    /// Lets a held buffer go (it becomes an empty frame); keeps an owned
    /// `Vec` as it is.
    pub(crate) fn release_held(&mut self) {
        if let Repr::Held(_) = self.0 {
            self.0 = Repr::Owned(Vec::new());
        }
    }
}

/// A message's frames from what the application gave: `Vec<Frame>` as it
/// is, `Vec<Vec<u8>>` (or of `String`s) converted in place, with no
/// allocation (a `Frame` is the size of a `Vec<u8>`).
pub(crate) fn into_frames<F: Into<Frame>>(content: Vec<F>) -> Vec<Frame> {
    content.into_iter().map(Into::into).collect()
}

impl Default for Frame {
    fn default() -> Frame {
        Frame::new()
    }
}

impl Deref for Frame {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Frame {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for Frame {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for Frame {
    /// As a `Vec<u8>` prints: the list of byte values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

impl From<Vec<u8>> for Frame {
    fn from(bytes: Vec<u8>) -> Frame {
        Frame(Repr::Owned(bytes))
    }
}

impl From<String> for Frame {
    fn from(text: String) -> Frame {
        Frame(Repr::Owned(text.into_bytes()))
    }
}

impl From<Box<[u8]>> for Frame {
    fn from(bytes: Box<[u8]>) -> Frame {
        Frame(Repr::Owned(bytes.into_vec()))
    }
}

impl From<&Vec<u8>> for Frame {
    fn from(bytes: &Vec<u8>) -> Frame {
        Frame(Repr::Owned(bytes.clone()))
    }
}

impl From<&String> for Frame {
    fn from(text: &String) -> Frame {
        Frame(Repr::Owned(text.as_bytes().to_vec()))
    }
}

impl From<std::borrow::Cow<'_, [u8]>> for Frame {
    fn from(bytes: std::borrow::Cow<'_, [u8]>) -> Frame {
        Frame(Repr::Owned(bytes.into_owned()))
    }
}

impl From<std::borrow::Cow<'_, str>> for Frame {
    fn from(text: std::borrow::Cow<'_, str>) -> Frame {
        Frame(Repr::Owned(text.into_owned().into_bytes()))
    }
}

impl From<&[u8]> for Frame {
    fn from(bytes: &[u8]) -> Frame {
        Frame(Repr::Owned(bytes.to_vec()))
    }
}

impl<const N: usize> From<&[u8; N]> for Frame {
    fn from(bytes: &[u8; N]) -> Frame {
        Frame(Repr::Owned(bytes.to_vec()))
    }
}

impl<const N: usize> From<[u8; N]> for Frame {
    fn from(bytes: [u8; N]) -> Frame {
        Frame(Repr::Owned(bytes.to_vec()))
    }
}

impl From<&str> for Frame {
    fn from(text: &str) -> Frame {
        Frame(Repr::Owned(text.as_bytes().to_vec()))
    }
}

impl From<Frame> for Vec<u8> {
    fn from(frame: Frame) -> Vec<u8> {
        frame.into_vec()
    }
}

impl PartialEq for Frame {
    fn eq(&self, other: &Frame) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Frame {}

impl PartialOrd for Frame {
    fn partial_cmp(&self, other: &Frame) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Frame {
    fn cmp(&self, other: &Frame) -> Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl Hash for Frame {
    /// As the bytes hash, which [`Borrow<[u8]>`](Borrow) requires.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

/// `frame == other` for the byte types a test or an application compares
/// content with, both ways round.
macro_rules! eq_bytes {
    ($($other:ty),* $(,)?) => {$(
        impl PartialEq<$other> for Frame {
            fn eq(&self, other: &$other) -> bool {
                self.as_slice() == AsRef::<[u8]>::as_ref(other)
            }
        }
        impl PartialEq<Frame> for $other {
            fn eq(&self, other: &Frame) -> bool {
                AsRef::<[u8]>::as_ref(self) == other.as_slice()
            }
        }
    )*};
}

eq_bytes!(Vec<u8>, [u8], &[u8], str, &str, String);

impl<const N: usize> PartialEq<[u8; N]> for Frame {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.as_slice() == other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Frame {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_slice() == *other
    }
}

impl<const N: usize> PartialEq<Frame> for [u8; N] {
    fn eq(&self, other: &Frame) -> bool {
        self[..] == *other.as_slice()
    }
}

impl<const N: usize> PartialEq<Frame> for &[u8; N] {
    fn eq(&self, other: &Frame) -> bool {
        self[..] == *other.as_slice()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owned_frame_moves_its_vec_in_and_out() {
        let bytes = b"hello".to_vec();
        let address = bytes.as_ptr();
        let frame = Frame::from(bytes);
        assert_eq!(frame.as_ptr(), address);
        assert_eq!(frame, b"hello");
        assert_eq!(frame, *b"hello");
        assert_eq!(frame, "hello");
        assert_eq!(b"hello".to_vec(), frame);
        assert_eq!(b"hello", frame, "compared either way round");
        assert_eq!(*b"hello", frame);
        assert_eq!("hello", frame);
        assert_eq!(format!("{frame:?}"), format!("{:?}", b"hello".to_vec()));
        let back = frame.into_vec();
        assert_eq!(back.as_ptr(), address, "moved back out, not copied");
    }

    #[test]
    fn a_held_frame_reads_compares_and_clones_without_a_copy() {
        let frame = Frame::held(vec![7u8; 10_000]);
        let address = frame.as_ptr();
        let clone = frame.clone();
        assert_eq!(clone.as_ptr(), address, "a clone shares the held buffer");
        assert_eq!(frame, Frame::from(vec![7u8; 10_000]));
        assert!(frame.is_held());
        let mut set = std::collections::HashSet::new();
        set.insert(clone);
        assert!(set.contains(&[7u8; 10_000][..]), "hashes as its bytes");
        assert_eq!(frame.into_vec(), vec![7u8; 10_000]);
    }

    #[test]
    fn refilling_reuses_an_owned_vec_and_lets_a_held_buffer_go() {
        let mut frame = Frame::from(Vec::with_capacity(64));
        let address = frame.as_ptr();
        frame.refill(b"abc");
        assert_eq!((frame.as_ptr(), &frame[..]), (address, &b"abc"[..]));
        let mut held = Frame::held(vec![1u8; 9000]);
        held.refill(b"xy");
        assert_eq!(held, b"xy");
        assert!(!held.is_held(), "an owned copy now");
        let mut held = Frame::held(vec![1u8; 9000]);
        held.release_held();
        assert!(held.is_empty());
    }
}
