//! The container's log: Docker's json-file format ([`json_file`]) in a size-rotated file
//! ([`rotate`]).

pub mod json_file;
pub mod rotate;

use std::io;
use std::path::Path;

use crate::time::Timestamp;
pub use json_file::{LineSplitter, Stream};
use rotate::RotatingFile;

/// Turns the bytes of the container's streams into json-file records on disk.
pub struct Logger {
    file: RotatingFile,
    /// One record, reused.
    record: Vec<u8>,
}

impl Logger {
    pub fn open(path: &Path, max_size: u64, max_files: u32) -> io::Result<Logger> {
        Ok(Logger {
            file: RotatingFile::open(path, max_size, max_files)?,
            record: Vec::new(),
        })
    }

    /// Adds one message (a line with its `\n`, or a partial line); it is on disk after
    /// the next [`Logger::flush`]. A failing write (disk full...) loses records, never
    /// the container's output to attached clients.
    pub fn message(&mut self, stream: Stream, message: &[u8], time: &Timestamp) {
        self.record.clear();
        json_file::encode(&mut self.record, message, stream, time);
        let _ = self.file.append(&self.record);
        // A 16 KiB line leaves a large buffer behind; don't keep it resident while idle.
        if self.record.capacity() > 4096 {
            self.record = Vec::new();
        }
    }

    /// Writes what was logged so far (after each read of container output).
    pub fn flush(&mut self) {
        let _ = self.file.flush();
    }
}
