//! `GET /containers/{id}/logs`: the shim's json-file log (with its rotated files, oldest
//! first) read back as Docker's frames, with tail, since/until, timestamps and follow.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use tokio::sync::{mpsc, watch};

use crate::clock;
use crate::container::Lifecycle;

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub stdout: bool,
    pub stderr: bool,
    pub follow: bool,
    pub since: Option<i128>,
    pub until: Option<i128>,
    pub tail: Option<usize>,
    pub timestamps: bool,
    pub tty: bool,
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    log: Cow<'a, str>,
    #[serde(borrow)]
    stream: Cow<'a, str>,
    #[serde(borrow)]
    time: Cow<'a, str>,
}

/// Docker's multiplexed frame: stream (1 stdout, 2 stderr), three zero bytes, length.
pub fn frame(stream: u8, payload: &[u8]) -> Bytes {
    let mut v = Vec::with_capacity(8 + payload.len());
    v.extend_from_slice(&[stream, 0, 0, 0]);
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    Bytes::from(v)
}

fn files(log: &Path) -> Vec<PathBuf> {
    let mut rotated: Vec<(u32, PathBuf)> = Vec::new();
    let name = log.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if let Some(dir) = log.parent() {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if let Some(k) = n.strip_prefix(&format!("{name}.")).and_then(|k| k.parse().ok()) {
                rotated.push((k, e.path()));
            }
        }
    }
    rotated.sort_by_key(|r| std::cmp::Reverse(r.0));
    let mut out: Vec<PathBuf> = rotated.into_iter().map(|(_, p)| p).collect();
    out.push(log.to_owned());
    out
}

struct Emitter<'a> {
    o: &'a Options,
    tx: &'a mpsc::Sender<Bytes>,
}

impl Emitter<'_> {
    /// Encodes one log line; `None` when it is filtered out.
    fn encode(&self, raw: &[u8]) -> Option<Bytes> {
        let line: Line<'_> = serde_json::from_slice(raw).ok()?;
        let stream = if line.stream == "stderr" { 2 } else { 1 };
        if (stream == 1 && !self.o.stdout) || (stream == 2 && !self.o.stderr) {
            return None;
        }
        if self.o.since.is_some() || self.o.until.is_some() {
            let t = clock::parse_nanos(&line.time)?;
            if self.o.since.is_some_and(|s| t < s) || self.o.until.is_some_and(|u| t > u) {
                return None;
            }
        }
        let payload: Cow<'_, str> = if self.o.timestamps {
            Cow::Owned(format!("{} {}", line.time, line.log))
        } else {
            line.log
        };
        Some(if self.o.tty { Bytes::from(payload.into_owned()) } else { frame(stream, payload.as_bytes()) })
    }

    fn send(&self, b: Bytes) -> bool {
        self.tx.blocking_send(b).is_ok()
    }
}

/// Streams the log into `tx` (from a blocking thread). Follows while `life` says the
/// container runs, and stops when the receiver goes away.
pub fn stream(log: PathBuf, o: Options, tx: mpsc::Sender<Bytes>, life: watch::Receiver<Lifecycle>) {
    let e = Emitter { o: &o, tx: &tx };
    let paths = files(&log);
    let mut buf = Vec::with_capacity(16 * 1024);
    if let Some(n) = o.tail {
        // From the end backwards: `logs --tail` on a large log reads only what it shows.
        let mut last: Vec<Bytes> = Vec::with_capacity(n.min(65536));
        for p in paths.iter().rev() {
            if last.len() >= n {
                break;
            }
            let Ok(f) = File::open(p) else { continue };
            for_each_line_reversed(f, |line| {
                if let Some(b) = e.encode(line) {
                    last.push(b);
                }
                last.len() < n
            });
        }
        for b in last.into_iter().rev() {
            if !e.send(b) {
                return;
            }
        }
    } else {
        for p in &paths {
            let Ok(f) = File::open(p) else { continue };
            let mut r = BufReader::with_capacity(256 * 1024, f);
            loop {
                buf.clear();
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if let Some(b) = e.encode(&buf) {
                            if !e.send(b) {
                                return;
                            }
                        }
                    }
                }
            }
        }
    }
    if !o.follow {
        return;
    }
    follow(&log, &e, life);
}

/// Calls `f` with each line of `file`, last line first, until it returns false. Reads
/// 64 KiB blocks from the end.
fn for_each_line_reversed(mut file: File, mut f: impl FnMut(&[u8]) -> bool) {
    const BLOCK: u64 = 64 * 1024;
    let Ok(mut pos) = file.seek(SeekFrom::End(0)) else { return };
    // Bytes after the last newline seen so far (the start of a line cut by a block).
    let mut carry: Vec<u8> = Vec::new();
    while pos > 0 {
        let start = pos.saturating_sub(BLOCK);
        let mut block = vec![0u8; (pos - start) as usize];
        if file.seek(SeekFrom::Start(start)).is_err() || std::io::Read::read_exact(&mut file, &mut block).is_err() {
            return;
        }
        block.extend_from_slice(&carry);
        let mut end = block.len();
        // Skip the newline that ends the block's last line.
        while let Some(nl) = block[..end].iter().rposition(|&b| b == b'\n') {
            let line = &block[nl + 1..end];
            if !line.is_empty() && !f(line) {
                return;
            }
            end = nl;
        }
        carry = block[..end].to_vec();
        pos = start;
    }
    if !carry.is_empty() {
        f(&carry);
    }
}

fn follow(log: &Path, e: &Emitter<'_>, life: watch::Receiver<Lifecycle>) {
    let open = |p: &Path| -> Option<(File, u64)> {
        let f = File::open(p).ok()?;
        let ino = f.metadata().ok()?.ino();
        Some((f, ino))
    };
    let Some((mut f, mut ino)) = open(log) else { return };
    let _ = f.seek(SeekFrom::End(0));
    let mut r = BufReader::new(f);
    let mut pending: Vec<u8> = Vec::new();
    let mut idle_after_exit = 0;
    loop {
        let mut got = false;
        loop {
            match r.read_until(b'\n', &mut pending) {
                Ok(0) | Err(_) => break,
                Ok(_) if pending.ends_with(b"\n") => {
                    got = true;
                    if let Some(b) = e.encode(&pending) {
                        if !e.send(b) {
                            return;
                        }
                    }
                    pending.clear();
                }
                Ok(_) => break,
            }
        }
        // Rotated: read what is left of the old file (done above), then the new one.
        if let Ok(m) = std::fs::metadata(log) {
            if m.ino() != ino {
                if let Some((nf, ni)) = open(log) {
                    r = BufReader::new(nf);
                    ino = ni;
                    continue;
                }
            }
        }
        if !life.borrow().running {
            // The shim flushes the last lines as the process exits; give it a moment.
            idle_after_exit += 1;
            if idle_after_exit > 2 && !got {
                return;
            }
        }
        if e.tx.is_closed() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_from_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l");
        let mut text = String::new();
        for i in 0..20000 {
            text.push_str(&format!("line {i}\n"));
        }
        std::fs::write(&p, &text).unwrap();
        let mut got = Vec::new();
        for_each_line_reversed(File::open(&p).unwrap(), |l| {
            got.push(String::from_utf8(l.to_vec()).unwrap());
            got.len() < 19999
        });
        assert_eq!(got.len(), 19999);
        assert_eq!(got[0], "line 19999");
        assert_eq!(got[19998], "line 1");
        let mut all = 0;
        for_each_line_reversed(File::open(&p).unwrap(), |_| {
            all += 1;
            true
        });
        assert_eq!(all, 20000);
    }

    #[test]
    fn frames_and_filters() {
        assert_eq!(&frame(2, b"hi")[..], &[2, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
        let (tx, _rx) = mpsc::channel(1);
        let o = Options { stdout: true, stderr: false, ..Default::default() };
        let e = Emitter { o: &o, tx: &tx };
        let out = br#"{"log":"a\n","stream":"stdout","time":"2026-12-01T00:00:00.5Z"}"#;
        let err = br#"{"log":"b\n","stream":"stderr","time":"2026-12-01T00:00:00.5Z"}"#;
        assert_eq!(&e.encode(out).unwrap()[8..], b"a\n");
        assert!(e.encode(err).is_none());
        let o = Options { stdout: true, stderr: true, timestamps: true, tty: true, ..Default::default() };
        let e = Emitter { o: &o, tx: &tx };
        assert_eq!(&e.encode(err).unwrap()[..], b"2026-12-01T00:00:00.5Z b\n");
    }
}
