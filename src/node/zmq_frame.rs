//! Content frames held as libzmq messages of our own, so that one buffer
//! goes to many sockets: `zmq_msg_copy` shares a message's buffer by
//! reference count instead of copying it, which is how a SHOUT reaches N
//! members with one copy of its content instead of N. The `zmq` crate
//! exposes neither message sharing nor its message's C pointer, so this
//! goes through zmq-sys; every `unsafe` block below says why it holds.

use std::mem::MaybeUninit;
use std::os::raw::c_int;

/// One libzmq message (`zmq_msg_t`), initialised, closed when dropped.
pub(crate) struct ZmqFrame {
    msg: zmq_sys::zmq_msg_t,
    /// The message's size, kept from the call that made or received it
    /// (one call into libzmq fewer per frame read).
    len: usize,
}

// SAFETY: a `zmq_msg_t` is plain data that libzmq lets any one thread use
// at a time (only sockets are tied to a thread); the buffer of a shared
// message is reference-counted with atomic operations, so its copies may
// be closed on different threads (libzmq's I/O threads do that).
unsafe impl Send for ZmqFrame {}

impl ZmqFrame {
    /// An empty message, to receive into.
    pub(crate) fn new() -> ZmqFrame {
        let mut msg = MaybeUninit::<zmq_sys::zmq_msg_t>::uninit();
        // SAFETY: `zmq_msg_init` initialises the message and cannot fail
        // (it returns 0 unconditionally in every libzmq release).
        unsafe {
            zmq_sys::zmq_msg_init(msg.as_mut_ptr());
            ZmqFrame {
                msg: msg.assume_init(),
                len: 0,
            }
        }
    }

    /// Receives the next frame from `socket` into this message (what it
    /// held is closed first by libzmq), with `flags` (`zmq::DONTWAIT`);
    /// returns its size in bytes.
    pub(crate) fn recv(&mut self, socket: &mut zmq::Socket, flags: i32) -> zmq::Result<usize> {
        // SAFETY: as in `send`: a live socket, an initialised message.
        let rc = unsafe { zmq_sys::zmq_msg_recv(&mut self.msg, socket.as_mut_ptr(), flags as c_int) };
        // -1 on failure, else the size. A failed receive may leave the
        // message emptied (libzmq's fair queue closes and re-inits it on
        // EAGAIN): read as empty then, never past what it holds.
        self.len = usize::try_from(rc).unwrap_or(0);
        if rc == -1 { Err(last_error()) } else { Ok(self.len) }
    }

    /// The text of a metadata property of a received message (`User-Id`:
    /// what our ZAP handler answered for the sender's connection), if it
    /// has one that is UTF-8.
    pub(crate) fn property(&self, name: &std::ffi::CStr) -> Option<&str> {
        // SAFETY: an initialised message and a NUL-terminated name; the
        // value libzmq returns (or null) lives in the message's metadata,
        // which lives as long as the message, borrowed here.
        unsafe {
            let value = zmq_sys::zmq_msg_gets(&self.msg, name.as_ptr());
            if value.is_null() {
                return None;
            }
            std::ffi::CStr::from_ptr(value).to_str().ok()
        }
    }

    /// Whether another frame of the same message follows.
    pub(crate) fn more(&self) -> bool {
        // SAFETY: the message is initialised; libzmq only reads it.
        unsafe { zmq_sys::zmq_msg_more(&self.msg) != 0 }
    }

    /// The message's bytes.
    pub(crate) fn bytes(&mut self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: the message is initialised; its data is `len` readable
        // bytes (`len` is its size: every call that changes the message
        // sets it), valid while the message is neither changed nor closed,
        // which the borrow of `self` ensures. `zmq_msg_data` takes a
        // mutable pointer but reads.
        unsafe { std::slice::from_raw_parts(zmq_sys::zmq_msg_data(&mut self.msg).cast::<u8>(), self.len) }
    }

    /// A message holding a copy of `bytes` (libzmq allocates it).
    pub(crate) fn copy_of(bytes: &[u8]) -> zmq::Result<ZmqFrame> {
        let mut msg = MaybeUninit::<zmq_sys::zmq_msg_t>::uninit();
        // SAFETY: `zmq_msg_init_size` initialises the message it is given
        // (or fails and leaves nothing to close).
        if unsafe { zmq_sys::zmq_msg_init_size(msg.as_mut_ptr(), bytes.len()) } == -1 {
            return Err(last_error());
        }
        // SAFETY: initialised above.
        let mut frame = ZmqFrame {
            msg: unsafe { msg.assume_init() },
            len: bytes.len(),
        };
        if !bytes.is_empty() {
            // SAFETY: the message's data is `bytes.len()` writable bytes,
            // its own allocation, which cannot overlap `bytes`.
            unsafe {
                let data = zmq_sys::zmq_msg_data(&mut frame.msg).cast::<u8>();
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len());
            }
        }
        Ok(frame)
    }

    /// Another message with the same buffer: small messages (libzmq keeps
    /// up to 33 bytes inside the message) are copied, larger ones shared
    /// by reference count. Neither can be written afterwards (we never do).
    pub(crate) fn share(&mut self) -> zmq::Result<ZmqFrame> {
        let mut msg = MaybeUninit::<zmq_sys::zmq_msg_t>::uninit();
        // SAFETY: `zmq_msg_copy` needs an initialised destination; it
        // closes it before making it a copy of `self.msg`, which is
        // initialised (and marked shared by the call: hence `&mut`).
        unsafe {
            if zmq_sys::zmq_msg_init(msg.as_mut_ptr()) == -1 {
                return Err(last_error());
            }
            let mut copy = ZmqFrame {
                msg: msg.assume_init(),
                len: self.len,
            };
            if zmq_sys::zmq_msg_copy(&mut copy.msg, &mut self.msg) == -1 {
                return Err(last_error());
            }
            Ok(copy)
        }
    }

    /// Sends the message on `socket` with `flags` (`zmq::SNDMORE`,
    /// `zmq::DONTWAIT`); on failure it is dropped (closed).
    pub(crate) fn send(mut self, socket: &mut zmq::Socket, flags: i32) -> zmq::Result<()> {
        // SAFETY: the socket pointer is live for the call (we hold the
        // socket mutably), and the message is initialised. On success
        // libzmq has taken the message's content and left `self.msg` empty
        // (closing it then is allowed and does nothing); on failure the
        // message is as it was.
        sent_unless_interrupted(|| unsafe {
            zmq_sys::zmq_msg_send(&mut self.msg, socket.as_mut_ptr(), flags as c_int)
        })
    }

    /// The message's size in bytes.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        // SAFETY: the message is initialised.
        unsafe { zmq_sys::zmq_msg_size(&self.msg) }
    }
}

/// Sends a copy of `bytes` as one frame on `socket` with `flags`
/// (`zmq::SNDMORE`, `zmq::DONTWAIT`): libzmq's `zmq_send`, which makes,
/// fills, sends and closes the message in one call, where the `zmq`
/// crate's `send(&[u8])` makes four calls into libzmq for it.
pub(crate) fn send_copy(socket: &mut zmq::Socket, bytes: &[u8], flags: i32) -> zmq::Result<()> {
    // SAFETY: a live socket (held mutably for the call) and `bytes.len()`
    // readable bytes, which libzmq copies before it returns.
    sent_unless_interrupted(|| unsafe {
        zmq_sys::zmq_send(
            socket.as_mut_ptr(),
            bytes.as_ptr().cast(),
            bytes.len(),
            flags as c_int,
        )
    })
}

/// Makes a libzmq send call (`-1` on failure) until it is not interrupted
/// by a signal: EINTR comes from the poll of the socket's mailbox before
/// the message is looked at, so nothing was taken and the same call is
/// right again.
fn sent_unless_interrupted(mut send: impl FnMut() -> c_int) -> zmq::Result<()> {
    loop {
        if send() != -1 {
            return Ok(());
        }
        match last_error() {
            zmq::Error::EINTR => continue,
            err => return Err(err),
        }
    }
}

/// A received frame's buffer, kept as it is for the application (see
/// [`Frame::HELD_FROM`](crate::Frame::HELD_FROM)): the message is never
/// changed again, only read and finally closed.
pub(crate) struct HeldFrame {
    frame: ZmqFrame,
    data: *const u8,
    len: usize,
}

// SAFETY: `ZmqFrame` is `Send` (above). Shared references only read the
// buffer through `data`, which nothing writes once the message is held:
// the message is closed only on drop, with the last reference gone.
unsafe impl Send for HeldFrame {}
unsafe impl Sync for HeldFrame {}

impl HeldFrame {
    /// Holds a received message of more than 33 bytes (libzmq keeps those
    /// out of the `zmq_msg_t`, so the bytes do not move with it; smaller
    /// ones live inside it and are given back).
    pub(crate) fn new(mut frame: ZmqFrame) -> Result<HeldFrame, ZmqFrame> {
        let bytes = frame.bytes();
        let (data, len) = (bytes.as_ptr(), bytes.len());
        if len > MAX_INLINE {
            Ok(HeldFrame { frame, data, len })
        } else {
            Err(frame)
        }
    }
}

/// libzmq's `ZMQ_MAX_VSM_SIZE` on 64-bit targets (`max_vsm_size` in
/// libzmq's `msg.hpp`): messages up to this size are stored inside the
/// `zmq_msg_t` itself, with no allocation.
pub(crate) const MAX_INLINE: usize = 33;

impl AsRef<[u8]> for HeldFrame {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `data` is the held message's buffer of `len` bytes, out
        // of line (`new`), alive and unchanged until `self.frame` drops.
        let _ = &self.frame;
        unsafe { std::slice::from_raw_parts(self.data, self.len) }
    }
}

impl Drop for ZmqFrame {
    fn drop(&mut self) {
        // SAFETY: initialised since construction; closed once, here.
        unsafe {
            zmq_sys::zmq_msg_close(&mut self.msg);
        }
    }
}

fn last_error() -> zmq::Error {
    // SAFETY: reads libzmq's errno for this thread.
    zmq::Error::from_raw(unsafe { zmq_sys::zmq_errno() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_message_reaches_every_socket_whole() {
        let context = zmq::Context::new();
        let mut pull = context.socket(zmq::PULL).unwrap();
        pull.bind("inproc://zmq-frame-test").unwrap();
        let mut push = context.socket(zmq::PUSH).unwrap();
        push.connect("inproc://zmq-frame-test").unwrap();
        let _ = &mut pull;
        // One short (kept inside the message), one long (shared buffer).
        for bytes in [vec![7u8; 20], (0..5000u32).map(|i| i as u8).collect::<Vec<u8>>()] {
            let mut original = ZmqFrame::copy_of(&bytes).unwrap();
            assert_eq!(original.len(), bytes.len());
            for _ in 0..3 {
                original.share().unwrap().send(&mut push, 0).unwrap();
            }
            drop(original);
            for _ in 0..3 {
                assert_eq!(pull.recv_bytes(0).unwrap(), bytes);
            }
        }
    }
}
