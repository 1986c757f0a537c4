//! Copying a hijacked attach/exec stream: the container's output to our stdout/stderr
//! (demultiplexed unless it has a TTY), and our stdin to it from a plain thread (a
//! blocking read that `exit` can abandon, which a runtime-owned reader could not be).
//! End of stdin half-closes the connection so the container's process sees EOF.

use std::io::{Read, Write};

use berth_api_client::stream::{Demuxer, StreamKind};
use berth_api_client::Hijacked;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Why copying stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The container's output ended.
    Output,
    /// The user typed the detach sequence.
    Detached,
}

/// docker's default detach sequence, ctrl-p ctrl-q.
const DEFAULT_DETACH: &[u8] = &[0x10, 0x11];

/// The bytes of a `--detach-keys` value (`ctrl-p,ctrl-q`, `ctrl-a,x`).
pub fn detach_sequence(keys: Option<&str>) -> Result<Vec<u8>, String> {
    let Some(keys) = keys.filter(|k| !k.is_empty()) else {
        return Ok(DEFAULT_DETACH.to_vec());
    };
    let mut out = Vec::new();
    for key in keys.split(',') {
        let b = if let Some(c) = key.strip_prefix("ctrl-") {
            match c.as_bytes() {
                [c @ b'a'..=b'z'] => c - b'a' + 1,
                [b'@'] => 0,
                [c @ (b'[' | b'\\' | b']' | b'^' | b'_')] => c - b'[' + 27,
                _ => {
                    return Err(format!(
                        "invalid detach keys ({keys}): unknown character: '{key}'"
                    ))
                }
            }
        } else if key.len() == 1 {
            key.as_bytes()[0]
        } else {
            return Err(format!(
                "invalid detach keys ({keys}): unknown character: '{key}'"
            ));
        };
        out.push(b);
    }
    Ok(out)
}

/// Finds the detach sequence in typed input, holding back a partial match until the
/// next bytes decide (so a lone ctrl-p is still delivered).
#[derive(Debug)]
pub struct DetachScanner {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachScanner {
    pub fn new(keys: Vec<u8>) -> DetachScanner {
        DetachScanner { keys, matched: 0 }
    }

    /// The bytes to forward, and whether the sequence completed.
    pub fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            if self.keys.is_empty() {
                out.push(b);
                continue;
            }
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return (out, true);
                }
            } else {
                out.extend_from_slice(&self.keys[..self.matched]);
                self.matched = 0;
                if b == self.keys[0] {
                    self.matched = 1;
                } else {
                    out.push(b);
                }
            }
        }
        (out, false)
    }
}

/// Copies until the container's output ends or the user detaches. With
/// `forward_stdin`, our stdin goes in (scanned for `detach_keys`).
pub async fn pump(
    io: Hijacked,
    tty: bool,
    forward_stdin: bool,
    detach_keys: Vec<u8>,
) -> std::io::Result<End> {
    let (mut rd, mut wr) = tokio::io::split(io);
    let (detach_tx, mut detach_rx) = mpsc::channel::<()>(1);
    let input = if forward_stdin {
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(4);
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin();
            let mut buf = vec![0u8; 16 * 1024];
            let mut scanner = DetachScanner::new(detach_keys);
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let (data, detached) = scanner.feed(&buf[..n]);
                        if !data.is_empty() && tx.blocking_send(data).is_err() {
                            break;
                        }
                        if detached {
                            let _ = detach_tx.blocking_send(());
                            return;
                        }
                    }
                }
            }
        });
        Some(tokio::spawn(async move {
            while let Some(chunk) = rx.recv().await {
                if wr.write_all(&chunk).await.is_err() || wr.flush().await.is_err() {
                    return;
                }
            }
            let _ = wr.shutdown().await;
        }))
    } else {
        drop(detach_tx);
        drop(wr);
        None
    };
    let result = tokio::select! {
        r = copy_output(&mut rd, tty) => r.map(|()| End::Output),
        Some(()) = detach_rx.recv() => Ok(End::Detached),
    };
    if let Some(task) = input {
        task.abort();
    }
    result
}

/// Our side of the output: raw bytes with a TTY, frames to stdout/stderr without.
pub async fn copy_output(
    rd: &mut (impl tokio::io::AsyncRead + Unpin),
    tty: bool,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 32 * 1024];
    let mut demux = Demuxer::new();
    loop {
        let n = match rd.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            // The daemon closing a hijacked socket abruptly is the end of the stream.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => return Err(e),
        };
        if tty {
            write_out(StreamKind::Stdout, &buf[..n])?;
            continue;
        }
        demux.push(&buf[..n]);
        while let Some((kind, data)) = demux
            .next_frame()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?
        {
            write_out(kind, &data)?;
        }
    }
    Ok(())
}

/// Writes to stdout or stderr and flushes (interactive output must not wait). A closed
/// pipe comes back as `BrokenPipe`: callers stop copying then, quietly.
pub fn write_out(kind: StreamKind, data: &[u8]) -> std::io::Result<()> {
    match kind {
        StreamKind::Stderr => {
            let mut e = std::io::stderr().lock();
            e.write_all(data).and_then(|()| e.flush())
        }
        _ => {
            let mut o = std::io::stdout().lock();
            o.write_all(data).and_then(|()| o.flush())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_parse() {
        assert_eq!(detach_sequence(None).unwrap(), vec![0x10, 0x11]);
        assert_eq!(detach_sequence(Some("ctrl-a,x")).unwrap(), vec![1, b'x']);
        assert_eq!(detach_sequence(Some("ctrl-@,ctrl-_")).unwrap(), vec![0, 31]);
        assert!(detach_sequence(Some("ctrl-1")).is_err());
        assert!(detach_sequence(Some("abc")).is_err());
    }

    #[test]
    fn scanner_holds_partial_matches() {
        let mut s = DetachScanner::new(vec![0x10, 0x11]);
        assert_eq!(s.feed(b"ab\x10"), (b"ab".to_vec(), false));
        assert_eq!(s.feed(b"c"), (b"\x10c".to_vec(), false));
        assert_eq!(s.feed(b"\x10\x10"), (b"\x10".to_vec(), false));
        assert_eq!(s.feed(b"\x11rest"), (Vec::new(), true));
    }
}
