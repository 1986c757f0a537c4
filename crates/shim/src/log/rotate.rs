//! A log file rotated by size, like Docker's json-file `max-size`/`max-file`.
//!
//! Before a record would take `FILE` past `max_size` bytes, `FILE.(N-2)` is renamed to
//! `FILE.(N-1)`, …, `FILE` to `FILE.1`, and a new `FILE` is started, so at most
//! `max_files` files exist in all. With `max_files == 1` the file is truncated in place.
//! A record is never split across files; one larger than `max_size` gets a file to itself.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub struct RotatingFile {
    path: PathBuf,
    file: File,
    /// Bytes in `file` (not counting `batch`).
    size: u64,
    max_size: u64,
    max_files: u32,
    /// Whole records not written yet: one write(2) per batch, not per line.
    batch: Vec<u8>,
}

/// A batch is written once it is this large (and at every [`RotatingFile::flush`]).
const BATCH: usize = 64 * 1024;

impl RotatingFile {
    /// Opens (or creates) `path` for appending: a restarted container adds to its log.
    pub fn open(path: &Path, max_size: u64, max_files: u32) -> io::Result<RotatingFile> {
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        Ok(RotatingFile {
            path: path.to_owned(),
            file,
            size,
            max_size,
            max_files: max_files.max(1),
            batch: Vec::new(),
        })
    }

    /// Appends one whole record; it reaches the file at the latest at the next
    /// [`RotatingFile::flush`]. A record never straddles a rotation.
    pub fn append(&mut self, record: &[u8]) -> io::Result<()> {
        let used = self.size + self.batch.len() as u64;
        if used > 0 && used + record.len() as u64 > self.max_size {
            self.flush()?;
            self.rotate()?;
        }
        self.batch.extend_from_slice(record);
        if self.batch.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the batch (whole records, so a reader sees no half line unless the disk is
    /// full).
    pub fn flush(&mut self) -> io::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let written = self.file.write_all(&self.batch);
        // On a short write the size is unknown; the file's own length is the truth.
        self.size = match written {
            Ok(()) => self.size + self.batch.len() as u64,
            Err(_) => self.file.metadata().map(|m| m.len()).unwrap_or(self.size),
        };
        self.batch.clear();
        // Don't keep a burst's buffer for an idle container.
        if self.batch.capacity() > BATCH * 2 {
            self.batch = Vec::new();
        }
        written
    }

    fn rotate(&mut self) -> io::Result<()> {
        if self.max_files == 1 {
            // O_APPEND: the next write lands at the new end, 0.
            self.file.set_len(0)?;
            self.size = 0;
            return Ok(());
        }
        for n in (1..self.max_files - 1).rev() {
            rename_if_exists(&self.numbered(n), &self.numbered(n + 1))?;
        }
        rename_if_exists(&self.path, &self.numbered(1))?;
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
    }

    fn numbered(&self, n: u32) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }
}

impl Drop for RotatingFile {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
}

fn rename_if_exists(from: &Path, to: &Path) -> io::Result<()> {
    match fs::rename(from, to) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn rotates_before_a_record_would_exceed_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        let mut f = RotatingFile::open(&path, 10, 3).unwrap();
        f.append(b"aaaa\n").unwrap(); // 5
        f.append(b"bbbb\n").unwrap(); // 10: exactly the limit, no rotation
        f.flush().unwrap();
        assert_eq!(names(dir.path()), ["c.log"]);
        f.append(b"cccc\n").unwrap(); // would be 15: rotate first
        f.flush().unwrap();
        assert_eq!(names(dir.path()), ["c.log", "c.log.1"]);
        assert_eq!(read(&path.with_extension("log.1")), "aaaa\nbbbb\n");
        assert_eq!(read(&path), "cccc\n");
        for r in ["dddd\n", "eeee\n", "ffff\n", "gggg\n", "hhhh\n"] {
            f.append(r.as_bytes()).unwrap();
        }
        f.flush().unwrap();
        // three files in all, the oldest dropped
        assert_eq!(names(dir.path()), ["c.log", "c.log.1", "c.log.2"]);
        assert_eq!(read(&path), "gggg\nhhhh\n");
        assert_eq!(read(&dir.path().join("c.log.1")), "eeee\nffff\n");
        assert_eq!(read(&dir.path().join("c.log.2")), "cccc\ndddd\n");
    }

    #[test]
    fn one_file_means_truncate_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        let mut f = RotatingFile::open(&path, 8, 1).unwrap();
        f.append(b"1234567\n").unwrap();
        f.append(b"abc\n").unwrap();
        f.append(b"def\n").unwrap();
        f.flush().unwrap();
        assert_eq!(names(dir.path()), ["c.log"]);
        assert_eq!(read(&path), "abc\ndef\n");
    }

    #[test]
    fn an_oversized_record_gets_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        let mut f = RotatingFile::open(&path, 4, 2).unwrap();
        f.append(b"0123456789\n").unwrap(); // empty file: written, not rotated away
        f.append(b"x\n").unwrap();
        f.flush().unwrap();
        assert_eq!(read(&dir.path().join("c.log.1")), "0123456789\n");
        assert_eq!(read(&path), "x\n");
    }

    #[test]
    fn reopening_appends_and_counts_the_existing_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        fs::write(&path, "old-line\n").unwrap(); // 9 bytes
        let mut f = RotatingFile::open(&path, 12, 2).unwrap();
        f.append(b"new\n").unwrap(); // 13 > 12: rotates
        f.flush().unwrap();
        assert_eq!(read(&dir.path().join("c.log.1")), "old-line\n");
        assert_eq!(read(&path), "new\n");
        drop(f);
        let mut f = RotatingFile::open(&path, 100, 2).unwrap();
        f.append(b"more\n").unwrap();
        drop(f); // flushes
        assert_eq!(read(&path), "new\nmore\n");
    }

    #[test]
    fn records_are_batched_until_flush_and_rotation_still_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        let mut f = RotatingFile::open(&path, 12, 2).unwrap();
        f.append(b"12345\n").unwrap();
        assert_eq!(read(&path), "", "written before flush");
        f.append(b"abcde\n").unwrap(); // 12: fits
        f.append(b"z\n").unwrap(); // 14: the batch is flushed, then rotated
        f.flush().unwrap();
        assert_eq!(read(&dir.path().join("c.log.1")), "12345\nabcde\n");
        assert_eq!(read(&path), "z\n");
    }
}
