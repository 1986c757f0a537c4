//! Docker's json-file log format: one JSON object per message,
//! `{"log":"hello\n","stream":"stdout","time":"2026-12-01T20:04:09.123456789Z"}`.
//!
//! A message is a line with its `\n`; a line longer than [`MAX_MESSAGE`] is cut into
//! partial messages of that size (without a `\n`), and what is left at EOF is emitted as
//! it is. The encoder escapes `"`, `\` and control characters, and writes each invalid
//! UTF-8 sequence as `\ufffd` (a JSON string must be valid Unicode).

use crate::time::Timestamp;

/// The largest message: Docker's 16 KiB.
pub const MAX_MESSAGE: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }

    /// The stream byte of Docker's multiplexed attach frames.
    pub fn frame_id(self) -> u8 {
        match self {
            Stream::Stdout => 1,
            Stream::Stderr => 2,
        }
    }
}

/// Cuts one stream's bytes into messages. Holds at most one unfinished line.
#[derive(Debug, Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    /// Feeds `data`, calling `emit` with every complete message.
    pub fn feed(&mut self, mut data: &[u8], mut emit: impl FnMut(&[u8])) {
        while !data.is_empty() {
            let room = MAX_MESSAGE - self.pending.len();
            let window = &data[..data.len().min(room)];
            let cut = match window.iter().position(|&b| b == b'\n') {
                Some(newline) => newline + 1,
                None if window.len() == room => room, // a full partial message
                None => {
                    self.pending.extend_from_slice(data);
                    return;
                }
            };
            let (message, rest) = data.split_at(cut);
            if self.pending.is_empty() {
                emit(message);
            } else {
                self.pending.extend_from_slice(message);
                emit(&self.pending);
                self.clear();
            }
            data = rest;
        }
    }

    /// At EOF: emits the unfinished line, if any.
    pub fn finish(&mut self, mut emit: impl FnMut(&[u8])) {
        if !self.pending.is_empty() {
            emit(&self.pending);
            self.clear();
        }
    }

    fn clear(&mut self) {
        self.pending.clear();
        // An idle shim should not keep a 16 KiB buffer resident for one long line.
        if self.pending.capacity() > 1024 {
            self.pending = Vec::new();
        }
    }
}

/// Appends the record of one message, with its trailing `\n`.
pub fn encode(out: &mut Vec<u8>, message: &[u8], stream: Stream, time: &Timestamp) {
    out.reserve(message.len() + 80);
    out.extend_from_slice(b"{\"log\":\"");
    escape(out, message);
    out.extend_from_slice(b"\",\"stream\":\"");
    out.extend_from_slice(stream.name().as_bytes());
    out.extend_from_slice(b"\",\"time\":\"");
    time.write_rfc3339(out);
    out.extend_from_slice(b"\"}\n");
}

/// JSON string escaping of arbitrary bytes.
fn escape(out: &mut Vec<u8>, mut bytes: &[u8]) {
    loop {
        match std::str::from_utf8(bytes) {
            Ok(valid) => {
                escape_valid(out, valid.as_bytes());
                return;
            }
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                escape_valid(out, valid);
                out.extend_from_slice(b"\\ufffd");
                // `None`: the input ends inside a sequence, which is invalid too.
                bytes = &rest[e.error_len().unwrap_or(rest.len())..];
            }
        }
    }
}

/// Escaping of valid UTF-8: only ASCII needs it, multi-byte sequences are copied.
fn escape_valid(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timestamp = Timestamp {
        secs: 1_796_155_449,
        nanos: 123_456_789,
    };

    fn record(message: &[u8], stream: Stream) -> String {
        let mut out = Vec::new();
        encode(&mut out, message, stream, &T);
        String::from_utf8(out).expect("records are UTF-8")
    }

    fn split(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut splitter = LineSplitter::default();
        let mut messages = Vec::new();
        for chunk in chunks {
            splitter.feed(chunk, |m| messages.push(m.to_vec()));
        }
        splitter.finish(|m| messages.push(m.to_vec()));
        messages
    }

    #[test]
    fn record_shape() {
        assert_eq!(
            record(b"hello\n", Stream::Stdout),
            "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2026-12-01T20:04:09.123456789Z\"}\n"
        );
        assert!(record(b"x", Stream::Stderr).contains("\"stream\":\"stderr\""));
    }

    #[test]
    fn escaping() {
        let r = record(b"a\"b\\c\td\re\x01f\x1b[0m\x7f\n", Stream::Stdout);
        assert!(
            r.starts_with("{\"log\":\"a\\\"b\\\\c\\td\\re\\u0001f\\u001b[0m\x7f\\n\""),
            "{r}"
        );
    }

    #[test]
    fn utf8_is_kept_and_invalid_bytes_become_replacement_characters() {
        let r = record("héllo ✓ 🦀\n".as_bytes(), Stream::Stdout);
        assert!(r.starts_with("{\"log\":\"héllo ✓ 🦀\\n\""), "{r}");
        // a lone continuation byte, an invalid lead byte, a truncated sequence at the end
        let r = record(b"a\x80b\xffc\xe2\x9c", Stream::Stdout);
        assert!(
            r.starts_with("{\"log\":\"a\\ufffdb\\ufffdc\\ufffd\""),
            "{r}"
        );
    }

    #[test]
    fn splits_at_every_newline() {
        assert_eq!(
            split(&[b"one\ntwo\n\nthr", b"ee\nfour"]),
            [&b"one\n"[..], b"two\n", b"\n", b"three\n", b"four"]
        );
    }

    #[test]
    fn nothing_is_emitted_for_an_empty_stream() {
        assert!(split(&[]).is_empty());
        assert!(split(&[b""]).is_empty());
    }

    #[test]
    fn long_lines_are_cut_into_16k_partials() {
        let long = vec![b'x'; MAX_MESSAGE * 2 + 10];
        let mut input = long.clone();
        input.push(b'\n');
        input.extend_from_slice(b"next\n");
        // fed in odd-sized chunks, so partials are assembled across reads
        let chunks: Vec<&[u8]> = input.chunks(7000).collect();
        let messages = split(&chunks);
        assert_eq!(messages.len(), 4);
        assert_eq!(messages[0], vec![b'x'; MAX_MESSAGE]);
        assert_eq!(messages[1], vec![b'x'; MAX_MESSAGE]);
        assert_eq!(messages[2], [&[b'x'; 10][..], b"\n"].concat());
        assert_eq!(messages[3], b"next\n");
    }

    #[test]
    fn a_line_of_exactly_16k_with_its_newline_is_one_message() {
        let mut line = vec![b'y'; MAX_MESSAGE - 1];
        line.push(b'\n');
        assert_eq!(split(&[&line]), [line.clone()]);
        let mut longer = vec![b'y'; MAX_MESSAGE];
        longer.push(b'\n');
        assert_eq!(split(&[&longer]), [vec![b'y'; MAX_MESSAGE], b"\n".to_vec()]);
    }
}
