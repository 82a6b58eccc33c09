//! The wire formats (`zre::wire`) without sockets: pinned bytes, captures
//! of other implementations, hostile frames, property round trips. One
//! test binary; each file is one family of tests.

mod captures;
mod frames;
mod hostile;
mod roundtrip;
