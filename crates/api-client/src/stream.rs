//! The streams the daemon answers with: newline-separated JSON (events, pull and load
//! progress, stats) and Docker's multiplexed frames (logs and attach without a TTY:
//! an 8-byte header `[stream, 0, 0, 0, length as big-endian u32]`, then the payload).
//! Both are incremental: feed whatever bytes arrived, take out what is complete.

use bytes::{Buf, Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use crate::error::{Error, Result};

/// Which stream a frame belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    Stdin,
    Stdout,
    Stderr,
}

/// Splits multiplexed frames out of a byte stream.
#[derive(Debug, Default)]
pub struct Demuxer {
    buf: BytesMut,
}

impl Demuxer {
    pub fn new() -> Demuxer {
        Demuxer::default()
    }

    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, if one has arrived.
    pub fn next_frame(&mut self) -> Result<Option<(StreamKind, Bytes)>> {
        if self.buf.len() < 8 {
            return Ok(None);
        }
        let kind = match self.buf[0] {
            0 => StreamKind::Stdin,
            1 => StreamKind::Stdout,
            2 => StreamKind::Stderr,
            k => {
                return Err(Error::Protocol(format!(
                    "bad stream type {k} in frame header"
                )))
            }
        };
        let len = u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize;
        if self.buf.len() < 8 + len {
            return Ok(None);
        }
        self.buf.advance(8);
        Ok(Some((kind, self.buf.split_to(len).freeze())))
    }

    /// Bytes of an unfinished frame left at the end of the stream.
    pub fn leftover(&self) -> usize {
        self.buf.len()
    }
}

/// Splits newline-separated JSON values out of a byte stream.
#[derive(Debug, Default)]
pub struct JsonLines {
    buf: BytesMut,
}

impl JsonLines {
    pub fn new() -> JsonLines {
        JsonLines::default()
    }

    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete value; blank lines are skipped.
    pub fn next_value(&mut self) -> Result<Option<serde_json::Value>> {
        while let Some(nl) = self.buf.iter().position(|b| *b == b'\n') {
            let line = self.buf.split_to(nl + 1);
            let line = &line[..nl];
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return serde_json::from_slice(line)
                .map(Some)
                .map_err(|source| Error::Decode {
                    what: "stream",
                    source,
                });
        }
        Ok(None)
    }

    /// A last value not followed by a newline.
    pub fn finish(&mut self) -> Result<Option<serde_json::Value>> {
        if self.buf.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let rest = self.buf.split();
        serde_json::from_slice(&rest)
            .map(Some)
            .map_err(|source| Error::Decode {
                what: "stream",
                source,
            })
    }
}

/// The next data chunk of a response body (trailers skipped), `None` at its end.
pub async fn next_chunk(body: &mut Incoming) -> Result<Option<Bytes>> {
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            return Ok(Some(data));
        }
    }
    Ok(None)
}

/// Calls `each` with every JSON value of a streamed body until it ends or `each` says
/// stop (returns `false`).
pub async fn for_each_json(
    body: &mut Incoming,
    mut each: impl FnMut(serde_json::Value) -> Result<bool>,
) -> Result<()> {
    let mut lines = JsonLines::new();
    while let Some(chunk) = next_chunk(body).await? {
        lines.push(&chunk);
        while let Some(v) = lines.next_value()? {
            if !each(v)? {
                return Ok(());
            }
        }
    }
    if let Some(v) = lines.finish()? {
        each(v)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![kind, 0, 0, 0];
        v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn demuxes_frames_split_anywhere() {
        let mut all = frame(1, b"hello\n");
        all.extend(frame(2, b"oops"));
        all.extend(frame(1, b""));
        for cut in 0..all.len() {
            let mut d = Demuxer::new();
            let mut got = Vec::new();
            d.push(&all[..cut]);
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
            d.push(&all[cut..]);
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
            assert_eq!(
                got,
                vec![
                    (StreamKind::Stdout, Bytes::from_static(b"hello\n")),
                    (StreamKind::Stderr, Bytes::from_static(b"oops")),
                    (StreamKind::Stdout, Bytes::new()),
                ],
                "cut at {cut}"
            );
            assert_eq!(d.leftover(), 0);
        }
    }

    #[test]
    fn bad_header_is_an_error() {
        let mut d = Demuxer::new();
        d.push(&[7, 0, 0, 0, 0, 0, 0, 1, b'x']);
        assert!(d.next_frame().is_err());
    }

    #[test]
    fn json_lines_split_and_tail() {
        let mut j = JsonLines::new();
        j.push(b"{\"status\":\"a\"}\n\n{\"sta");
        assert_eq!(j.next_value().unwrap().unwrap()["status"], "a");
        assert!(j.next_value().unwrap().is_none());
        j.push(b"tus\":\"b\"}");
        assert!(j.next_value().unwrap().is_none());
        assert_eq!(j.finish().unwrap().unwrap()["status"], "b");
        assert!(j.finish().unwrap().is_none());
    }
}
