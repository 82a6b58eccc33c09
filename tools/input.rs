//! Reading stdin on a thread of its own. Stdin may be a regular file, which
//! epoll cannot watch, so a thread does blocking reads and hands the data to
//! the mio loop through a bounded channel, waking it with a `mio::Waker`.
//! The bound is the backpressure: when the loop stops taking (the network
//! is behind), the thread blocks and stops reading.

use mio::Waker;
use std::io::{self, BufRead, Read};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// What the reader thread hands over.
pub enum Input {
    /// A line without its `\n`, or a chunk of bytes as read.
    Data(Vec<u8>),
    /// A line longer than the limit was skipped (up to its `\n`); its
    /// length in bytes. Reading goes on (`ReadMode::Lines` with
    /// `skip_long`).
    Skipped(usize),
    /// End of input; nothing follows.
    End,
    /// Reading failed; nothing follows.
    Failed(io::Error),
}

#[derive(Clone, Copy, Debug)]
pub enum ReadMode {
    /// Lines, without the newline; a longer line is an error, or with
    /// `skip_long` skipped and reported as [`Input::Skipped`].
    Lines { max_len: usize, skip_long: bool },
    /// Chunks of at most this many bytes, as `read` returns them.
    Chunks { size: usize },
}

/// Starts the thread; `capacity` items at most wait in the channel.
pub fn spawn_stdin_reader(mode: ReadMode, capacity: usize, waker: Arc<Waker>) -> io::Result<Receiver<Input>> {
    let (sender, receiver) = sync_channel(capacity);
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || read_stdin(mode, &sender, &waker))?;
    Ok(receiver)
}

fn read_stdin(mode: ReadMode, sender: &SyncSender<Input>, waker: &Waker) {
    let stdin = io::stdin();
    let mut stdin = stdin.lock();
    loop {
        let item = match mode {
            ReadMode::Lines { max_len, skip_long } => match read_line(&mut stdin, max_len) {
                Ok(Some(line)) => Input::Data(line),
                Ok(None) => Input::End,
                Err(err) if skip_long && err.kind() == io::ErrorKind::InvalidData => {
                    match skip_line(&mut stdin) {
                        Ok(rest) => Input::Skipped(max_len + rest),
                        Err(err) => Input::Failed(err),
                    }
                }
                Err(err) => Input::Failed(err),
            },
            ReadMode::Chunks { size } => match read_chunk(&mut stdin, size) {
                Ok(chunk) if chunk.is_empty() => Input::End,
                Ok(chunk) => Input::Data(chunk),
                Err(err) => Input::Failed(err),
            },
        };
        let last = !matches!(item, Input::Data(_) | Input::Skipped(_));
        // The loop has gone: nobody wants the rest.
        if sender.send(item).is_err() {
            return;
        }
        let _ = waker.wake();
        if last {
            return;
        }
    }
}

/// One line without its `\n` (a `\r` before it is kept: it is data);
/// `None` at the end of input. A last line without `\n` counts as a line.
pub fn read_line(reader: &mut impl BufRead, max_len: usize) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    loop {
        let buffer = match reader.fill_buf() {
            Ok(buffer) => buffer,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if buffer.is_empty() {
            return Ok((!line.is_empty()).then_some(line));
        }
        let (taken, complete) = match buffer.iter().position(|&b| b == b'\n') {
            Some(end) => {
                line.extend_from_slice(&buffer[..end]);
                (end + 1, true)
            }
            None => {
                line.extend_from_slice(buffer);
                (buffer.len(), false)
            }
        };
        reader.consume(taken);
        if line.len() > max_len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a line of input is longer than {max_len} bytes (use --raw for binary data)"),
            ));
        }
        if complete {
            return Ok(Some(line));
        }
    }
}

/// Consumes the rest of a line, up to and with its `\n`; returns how many
/// bytes were in it (about: the part read before is not counted here).
fn skip_line(reader: &mut impl BufRead) -> io::Result<usize> {
    let mut skipped = 0;
    loop {
        let buffer = match reader.fill_buf() {
            Ok(buffer) => buffer,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if buffer.is_empty() {
            return Ok(skipped);
        }
        match buffer.iter().position(|&b| b == b'\n') {
            Some(end) => {
                reader.consume(end + 1);
                return Ok(skipped + end);
            }
            None => {
                let n = buffer.len();
                reader.consume(n);
                skipped += n;
            }
        }
    }
}

/// Up to `size` bytes, as one `read` returns them; empty at the end.
fn read_chunk(reader: &mut impl Read, size: usize) -> io::Result<Vec<u8>> {
    let mut chunk = vec![0u8; size];
    loop {
        match reader.read(&mut chunk) {
            Ok(n) => {
                chunk.truncate(n);
                return Ok(chunk);
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_empty_lines_and_carriage_returns() {
        let mut input = io::Cursor::new(b"a\n\nb\r\nlast".to_vec());
        let mut lines = Vec::new();
        while let Some(line) = read_line(&mut input, 100).unwrap() {
            lines.push(line);
        }
        assert_eq!(
            lines,
            vec![b"a".to_vec(), vec![], b"b\r".to_vec(), b"last".to_vec()]
        );
    }

    #[test]
    fn an_overlong_line_can_be_skipped_and_reading_goes_on() {
        let mut data = vec![b'x'; 64];
        data.extend_from_slice(b"\nnext\n");
        let mut input = io::BufReader::with_capacity(4, io::Cursor::new(data));
        assert!(read_line(&mut input, 10).is_err());
        assert!(skip_line(&mut input).unwrap() > 0);
        assert_eq!(read_line(&mut input, 10).unwrap(), Some(b"next".to_vec()));
    }

    #[test]
    fn an_overlong_line_is_an_error() {
        let mut input = io::BufReader::with_capacity(4, io::Cursor::new(vec![b'x'; 64]));
        assert!(read_line(&mut input, 10).is_err());
    }
}
