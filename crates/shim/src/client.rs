//! One connection to the control socket: its role in the protocol and its bounded,
//! non-blocking output queue (a slow client is dropped, never waited for).

use std::io::{self, IoSlice, Write};
use std::os::unix::net::UnixStream;

use crate::event_loop::READ_BUF;

/// What may be queued for one client before it is dropped as too slow.
pub const CLIENT_QUEUE_MAX: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The request line is not complete yet.
    Request,
    Attach {
        stdin: bool,
        stdout: bool,
        stderr: bool,
    },
    /// Waiting for the init to exit.
    Wait,
    /// Waiting for `runtime start`.
    Start,
    /// Replied; closed once the reply is written.
    Done,
}

pub struct Client {
    pub sock: UnixStream,
    pub role: Role,
    pub request: Vec<u8>,
    out: Vec<u8>,
    sent: usize,
    pub read_closed: bool,
    pub close_after_flush: bool,
    /// Its input EOF closes the container's stdin (`--stdin-once`).
    pub stdin_once_owner: bool,
    pub dead: bool,
}

impl Client {
    pub fn new(sock: UnixStream) -> Client {
        Client {
            sock,
            role: Role::Request,
            request: Vec::new(),
            out: Vec::new(),
            sent: 0,
            read_closed: false,
            close_after_flush: false,
            stdin_once_owner: false,
            dead: false,
        }
    }

    pub fn pending(&self) -> usize {
        self.out.len() - self.sent
    }

    /// Sends what it can now and queues the rest; drops the client if too much piles up.
    pub fn send(&mut self, parts: &[&[u8]]) {
        if self.dead {
            return;
        }
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let mut written = 0;
        if self.pending() == 0 {
            let slices: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
            match (&self.sock).write_vectored(&slices) {
                Ok(n) => written = n,
                Err(e) if retry_later(&e) => {}
                Err(_) => {
                    self.dead = true;
                    return;
                }
            }
        }
        if written == total {
            return;
        }
        if self.pending() + total - written > CLIENT_QUEUE_MAX {
            self.dead = true;
            return;
        }
        for part in parts {
            let skip = written.min(part.len());
            self.out.extend_from_slice(&part[skip..]);
            written -= skip;
        }
    }

    pub fn flush(&mut self) {
        while self.pending() > 0 {
            match (&self.sock).write(&self.out[self.sent..]) {
                Ok(n) => self.sent += n,
                Err(e) if retry_later(&e) => return,
                Err(_) => {
                    self.dead = true;
                    return;
                }
            }
        }
        self.out.clear();
        self.sent = 0;
        if self.out.capacity() > READ_BUF {
            self.out = Vec::new(); // don't keep a burst's buffer resident
        }
        if self.close_after_flush {
            self.dead = true;
        }
    }

    pub fn reply(&mut self, line: &[u8]) {
        self.send(&[line]);
        self.role = Role::Done;
        self.close_after_flush = true;
        self.flush();
    }
}

pub fn retry_later(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn queues_what_the_socket_does_not_take_and_drops_a_client_that_lags() {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let mut c = Client::new(ours);
        let chunk = vec![7u8; 64 * 1024];
        let mut sent = 0;
        // Nobody reads: the socket buffer fills, then the queue, then the client is cut.
        while !c.dead {
            c.send(&[b"hdr", &chunk]);
            sent += 3 + chunk.len();
            assert!(sent < 16 * 1024 * 1024, "never dropped");
        }
        assert!(c.pending() <= CLIENT_QUEUE_MAX);

        // A client that keeps up gets every byte, in order.
        let (ours, mut theirs2) = UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let mut c = Client::new(ours);
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            theirs2.read_to_end(&mut all).unwrap();
            all
        });
        let mut expected = Vec::new();
        for i in 0..200u32 {
            let part = i.to_be_bytes().repeat(1000);
            c.send(&[&part[..7], &part[7..]]);
            expected.extend_from_slice(&part);
            while c.pending() > CLIENT_QUEUE_MAX / 2 {
                c.flush();
            }
        }
        while c.pending() > 0 {
            c.flush();
        }
        assert!(!c.dead);
        drop(c);
        assert_eq!(reader.join().unwrap(), expected);
        let mut buf = [0u8; 1];
        let _ = theirs.read(&mut buf);
    }
}
