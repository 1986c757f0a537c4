//! The control socket `STATE/shim.sock`: binding it and the request lines spoken on it
//! (the protocol is described in the crate documentation).

use std::fmt;
use std::io;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use crate::log::Stream;

/// The longest request line we accept.
pub const MAX_REQUEST: usize = 256;

#[derive(Debug)]
pub struct Error {
    path: PathBuf,
    source: io::Error,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "listen on {}: {}", self.path.display(), self.source)
    }
}

/// Binds the control socket, non-blocking, mode 0600. A socket left by a dead shim is
/// replaced; one a live shim answers on is an error (two shims for one container).
pub fn listen(path: &Path) -> Result<UnixListener, Error> {
    let err = |source| Error {
        path: path.to_owned(),
        source,
    };
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "another shim is listening there",
        )));
    }
    bind_private(path).map_err(err)
}

/// Binds a non-blocking unix listener at `path` (replacing a stale socket) that only
/// root can connect to.
pub fn bind_private(path: &Path) -> io::Result<UnixListener> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    // The socket file is created with 0777 & ~umask; a chmod afterwards would leave a
    // window in which anyone could connect. The umask is process-wide, but we have one
    // thread and restore it at once (the runtime must not inherit 077).
    // SAFETY: umask cannot fail and takes no pointers.
    let old = unsafe { libc::umask(0o177) };
    let bound = UnixListener::bind(path);
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    let listener = bound?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Start,
    Attach {
        stdin: bool,
        stdout: bool,
        stderr: bool,
    },
    Resize {
        height: u16,
        width: u16,
    },
    Pid,
    Wait,
}

impl Request {
    /// Parses one request line (without its `\n`); the error is the reply's message.
    pub fn parse(line: &[u8]) -> Result<Request, &'static str> {
        let line = std::str::from_utf8(line).map_err(|_| "unknown request")?;
        let mut words = line.trim_end_matches('\r').split(' ');
        let verb = words.next().unwrap_or_default();
        let args: Vec<&str> = words.collect();
        match (verb, args.as_slice()) {
            ("start", []) => Ok(Request::Start),
            ("pid", []) => Ok(Request::Pid),
            ("wait", []) => Ok(Request::Wait),
            ("attach", [i, o, e]) => Ok(Request::Attach {
                stdin: flag(i)?,
                stdout: flag(o)?,
                stderr: flag(e)?,
            }),
            ("resize", [h, w]) => Ok(Request::Resize {
                height: h.parse().map_err(|_| "invalid size")?,
                width: w.parse().map_err(|_| "invalid size")?,
            }),
            _ => Err("unknown request"),
        }
    }
}

fn flag(word: &str) -> Result<bool, &'static str> {
    match word {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err("invalid attach flag, want 0 or 1"),
    }
}

/// The 8-byte header of one of Docker's multiplexed attach frames.
pub fn frame_header(stream: Stream, len: usize) -> [u8; 8] {
    let len = (len as u32).to_be_bytes();
    [stream.frame_id(), 0, 0, 0, len[0], len[1], len[2], len[3]]
}

/// A reply line: `error <message>\n`, the message kept to one line.
pub fn error_line(message: &str) -> Vec<u8> {
    let mut line = b"error ".to_vec();
    line.extend(
        message
            .trim()
            .bytes()
            .map(|b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
    );
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_request() {
        assert_eq!(Request::parse(b"start"), Ok(Request::Start));
        assert_eq!(Request::parse(b"pid"), Ok(Request::Pid));
        assert_eq!(Request::parse(b"wait\r"), Ok(Request::Wait));
        assert_eq!(
            Request::parse(b"attach 1 0 1"),
            Ok(Request::Attach {
                stdin: true,
                stdout: false,
                stderr: true
            })
        );
        assert_eq!(
            Request::parse(b"resize 40 120"),
            Ok(Request::Resize {
                height: 40,
                width: 120
            })
        );
    }

    #[test]
    fn rejects_malformed_requests() {
        for bad in [
            &b""[..],
            b"stop",
            b"start now",
            b"attach 1 1",
            b"attach 1 1 2",
            b"resize 40",
            b"resize x 1",
            b"resize 70000 1",
            b"\xff",
        ] {
            assert!(Request::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn frame_header_is_stream_then_big_endian_length() {
        assert_eq!(frame_header(Stream::Stdout, 5), [1, 0, 0, 0, 0, 0, 0, 5]);
        assert_eq!(
            frame_header(Stream::Stderr, 0x0102_0304),
            [2, 0, 0, 0, 1, 2, 3, 4]
        );
    }

    #[test]
    fn error_lines_are_one_line() {
        assert_eq!(error_line("a\nb\n"), b"error a b\n");
    }
}
