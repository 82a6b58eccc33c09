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
}

// SAFETY: a `zmq_msg_t` is plain data that libzmq lets any one thread use
// at a time (only sockets are tied to a thread); the buffer of a shared
// message is reference-counted with atomic operations, so its copies may
// be closed on different threads (libzmq's I/O threads do that).
unsafe impl Send for ZmqFrame {}

impl ZmqFrame {
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
        // (closing it then is allowed and does nothing).
        let rc = unsafe { zmq_sys::zmq_msg_send(&mut self.msg, socket.as_mut_ptr(), flags as c_int) };
        if rc == -1 { Err(last_error()) } else { Ok(()) }
    }

    /// The message's size in bytes.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        // SAFETY: the message is initialised.
        unsafe { zmq_sys::zmq_msg_size(&self.msg) }
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
