//! Byte pipes between a plain thread and the runtime, for tar archives the `tar` crate
//! reads or writes synchronously while the HTTP body streams: [`ChannelWriter`] feeds a
//! request body from a thread, [`ChannelReader`] lets a thread read a response body.

use std::io::{self, Read, Write};
use std::sync::mpsc as std_mpsc;

use bytes::Bytes;
use tokio::sync::mpsc;

/// A `Write` whose bytes become chunks of a request body ([`berth_api_client::Body::channel`]).
pub struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
}

impl ChannelWriter {
    pub fn new(tx: mpsc::Sender<io::Result<Bytes>>) -> ChannelWriter {
        ChannelWriter { tx }
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "request body closed"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A `Read` over chunks sent from the runtime; ends when the sender is dropped.
pub struct ChannelReader {
    rx: std_mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl ChannelReader {
    pub fn new() -> (std_mpsc::SyncSender<Bytes>, ChannelReader) {
        let (tx, rx) = std_mpsc::sync_channel(8);
        (
            tx,
            ChannelReader {
                rx,
                current: Bytes::new(),
            },
        )
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.recv() {
                Ok(b) => self.current = b,
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_reassembles_chunks() {
        let (tx, mut r) = ChannelReader::new();
        std::thread::spawn(move || {
            tx.send(Bytes::from_static(b"hel")).unwrap();
            tx.send(Bytes::from_static(b"lo")).unwrap();
        });
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello");
    }
}
