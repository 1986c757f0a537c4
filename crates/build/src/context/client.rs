//! The client side: a directory into the tar the docker CLI would send as a build context.
//!
//! Everything is archived as owned by root with empty owner names, as the CLI does: the
//! builder applies `--chown` itself, and the client's uids mean nothing on the server.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::error::{Error, Result};
use super::glob::clean;
use super::ignore::Ignore;

/// Large enough that the writer sees few, big writes however small the files are.
const BUFFER: usize = 1 << 20;

/// Reads `dir/.dockerignore`; a missing file excludes nothing.
pub fn read_ignore(dir: &Path) -> Result<Ignore> {
    let path = dir.join(".dockerignore");
    match fs::read_to_string(&path) {
        Ok(text) => Ignore::parse(&text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Ignore::default()),
        Err(source) => Err(Error::ReadFile { path, source }),
    }
}

/// Writes an uncompressed tar of `dir` to `out`: entries in sorted walk order, paths
/// relative, modes and mtimes kept, symlinks as symlinks, further names of a file as hard
/// links to the first, sockets, fifos and devices left out. Paths `ignore` excludes are
/// left out too, except those in `always` (the Dockerfile and `.dockerignore`, which the
/// builder needs whatever the ignore file says). Returns the bytes written.
pub fn tar_dir(dir: &Path, ignore: &Ignore, always: &[&str], out: impl Write) -> Result<u64> {
    // Compared with walked paths as they are, so in the same clean relative form.
    let always: Vec<String> = always
        .iter()
        .map(|a| clean(a.trim_start_matches('/')))
        .collect();
    let mut walker = Walker {
        ignore,
        always: &always,
        abs: dir.to_path_buf(),
        rel: String::new(),
        links: HashMap::new(),
        buf: vec![0; BUFFER],
        builder: tar::Builder::new(Counting {
            inner: BufWriter::with_capacity(BUFFER, out),
            written: 0,
        }),
    };
    walker.dir()?;
    let write_err = |source| Error::WriteTar {
        path: dir.to_path_buf(),
        source,
    };
    let mut counting = walker.builder.into_inner().map_err(write_err)?;
    counting.inner.flush().map_err(write_err)?;
    Ok(counting.written)
}

struct Walker<'a, W: Write> {
    ignore: &'a Ignore,
    always: &'a [String],
    /// The directory being walked, absolute, and the same relative to the context root:
    /// both grow and shrink in place rather than being rebuilt per entry.
    abs: PathBuf,
    rel: String,
    /// First archived name of each multiply-linked inode, by (device, inode).
    links: HashMap<(u64, u64), String>,
    /// Reused for every file's content.
    buf: Vec<u8>,
    builder: tar::Builder<Counting<W>>,
}

impl<W: Write> Walker<'_, W> {
    fn dir(&mut self) -> Result<()> {
        let walk_err = |path: &Path, source| Error::Walk {
            path: path.to_path_buf(),
            source,
        };
        let mut names: Vec<OsString> = fs::read_dir(&self.abs)
            .map_err(|e| walk_err(&self.abs, e))?
            .map(|d| d.map(|d| d.file_name()))
            .collect::<io::Result<_>>()
            .map_err(|e| walk_err(&self.abs, e))?;
        // Byte order, as Go's filepath.Walk gives the CLI: the tar is reproducible.
        names.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));

        for name in names {
            let Some(name) = name.to_str() else {
                // The context index keys paths as UTF-8; fail here, naming the file, rather
                // than send a context the builder will refuse.
                let mut path = self.abs.clone();
                path.push(&name);
                return Err(walk_err(
                    &path,
                    io::Error::new(io::ErrorKind::InvalidData, "file name is not UTF-8"),
                ));
            };
            let rel_len = self.rel.len();
            if !self.rel.is_empty() {
                self.rel.push('/');
            }
            self.rel.push_str(name);
            self.abs.push(name);
            let result = self.entry();
            self.abs.pop();
            self.rel.truncate(rel_len);
            result?;
        }
        Ok(())
    }

    fn entry(&mut self) -> Result<()> {
        let walk_err = |path: &Path, source| Error::Walk {
            path: path.to_path_buf(),
            source,
        };
        let meta = fs::symlink_metadata(&self.abs).map_err(|e| walk_err(&self.abs, e))?;
        let always = self.always.contains(&self.rel);
        let excluded = !always && self.ignore.is_excluded(&self.rel);
        let kind = meta.file_type();

        if kind.is_dir() {
            if !excluded {
                let mut header = self.header(&meta, tar::EntryType::Directory);
                self.append(&mut header, io::empty())?;
            }
            // An excluded directory may still hold something an exception re-includes, or
            // one of the files sent regardless; otherwise nothing beneath it goes.
            let descend = !excluded
                || self.ignore.has_exceptions()
                || self.always.iter().any(|a| {
                    a.len() > self.rel.len()
                        && a.starts_with(&self.rel)
                        && a.as_bytes()[self.rel.len()] == b'/'
                });
            return if descend { self.dir() } else { Ok(()) };
        }
        if excluded {
            return Ok(());
        }
        if kind.is_symlink() {
            let target = fs::read_link(&self.abs).map_err(|e| walk_err(&self.abs, e))?;
            let mut header = self.header(&meta, tar::EntryType::Symlink);
            let rel = &self.rel;
            return self
                .builder
                .append_link(&mut header, rel, &target)
                .map_err(|e| self.write_err(e));
        }
        if kind.is_file() {
            if meta.nlink() > 1 {
                let key = (meta.dev(), meta.ino());
                if let Some(first) = self.links.get(&key) {
                    let mut header = self.header(&meta, tar::EntryType::Link);
                    return self
                        .builder
                        .append_link(&mut header, &self.rel, first)
                        .map_err(|e| self.write_err(e));
                }
                self.links.insert(key, self.rel.clone());
            }
            let file = File::open(&self.abs).map_err(|e| self.read_err(e))?;
            let mut header = self.header(&meta, tar::EntryType::Regular);
            header.set_size(meta.len());
            // The builder writes the header (and any long-name entry) and, given no data, no
            // padding either; the content goes through our own large buffer instead of the
            // builder's 8 KiB copy loop, in as few reads as the file's size allows.
            self.append(&mut header, io::empty())?;
            return self.content(file, meta.len());
        }
        // Sockets, fifos and devices cannot be copied into an image meaningfully; the CLI
        // skips them too.
        debug_assert!(
            kind.is_socket() || kind.is_fifo() || kind.is_block_device() || kind.is_char_device()
        );
        Ok(())
    }

    fn content(&mut self, mut file: File, size: u64) -> Result<()> {
        let abs = &self.abs;
        let read_err = |source| Error::ReadFile {
            path: abs.clone(),
            source,
        };
        let write_err = |source| Error::WriteTar {
            path: abs.clone(),
            source,
        };
        let out = self.builder.get_mut();
        let mut left = size;
        while left > 0 {
            let want = self
                .buf
                .len()
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = match file.read(&mut self.buf[..want]) {
                // A file that shrinks while archived would leave the header promising bytes
                // that never come, and the rest of the tar misread: fail instead.
                Ok(0) => {
                    return Err(read_err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "file shrank while being archived",
                    )))
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_err(e)),
            };
            out.write_all(&self.buf[..n]).map_err(write_err)?;
            left -= n as u64;
        }
        let pad = (512 - size % 512) % 512;
        out.write_all(&[0u8; 512][..pad as usize])
            .map_err(write_err)
    }

    fn read_err(&self, source: io::Error) -> Error {
        Error::ReadFile {
            path: self.abs.clone(),
            source,
        }
    }

    fn write_err(&self, source: io::Error) -> Error {
        Error::WriteTar {
            path: self.abs.clone(),
            source,
        }
    }

    fn header(&self, meta: &fs::Metadata, kind: tar::EntryType) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(meta.mode() & 0o7777);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(u64::try_from(meta.mtime()).unwrap_or(0));
        header.set_size(0);
        header
    }

    fn append(&mut self, header: &mut tar::Header, data: impl Read) -> Result<()> {
        let rel = &self.rel;
        self.builder
            .append_data(header, rel, data)
            .map_err(|e| self.write_err(e))
    }
}

struct Counting<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf)?;
        self.written += buf.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{Context, EntryKind};
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn write(root: &Path, rel: &str, data: &[u8]) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, data).unwrap();
    }

    fn sample_dir() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(root, "Dockerfile", b"FROM scratch\n");
        write(
            root,
            ".dockerignore",
            b"Dockerfile\n.dockerignore\nvendor\n!vendor/keep\n*.log\nsecret\n",
        );
        write(root, "src/main.rs", b"fn main() {}\n");
        write(root, "vendor/x", b"x");
        write(root, "vendor/keep/y", b"y");
        write(root, "a.log", b"log");
        write(root, "src/a.log", b"nested log");
        write(root, "secret/key", b"k");
        fs::create_dir(root.join("empty")).unwrap();
        symlink("src/main.rs", root.join("link")).unwrap();
        symlink("/nonexistent/target", root.join("dangling")).unwrap();
        fs::hard_link(root.join("src/main.rs"), root.join("src/hard")).unwrap();
        fs::set_permissions(root.join("src/main.rs"), fs::Permissions::from_mode(0o750)).unwrap();
        nix::unistd::mkfifo(
            &root.join("fifo"),
            nix::sys::stat::Mode::from_bits_truncate(0o644),
        )
        .unwrap();
        tmp
    }

    #[test]
    fn round_trip_through_context() {
        let dir = sample_dir();
        let ignore = read_ignore(dir.path()).unwrap();
        let mut tar = Vec::new();
        let n = tar_dir(
            dir.path(),
            &ignore,
            &["Dockerfile", ".dockerignore"],
            &mut tar,
        )
        .unwrap();
        assert_eq!(n, tar.len() as u64);

        let spool = tempfile::tempdir().unwrap();
        let c = Context::from_reader(&tar[..], spool.path()).unwrap();
        // Sent despite the ignore file, because the builder needs them.
        assert_eq!(
            c.read_file("Dockerfile").unwrap().unwrap(),
            b"FROM scratch\n"
        );
        assert!(c.get(".dockerignore").is_some());

        // `hard` sorts first, so it is the name archived as the file.
        let first = c.get("src/hard").unwrap();
        assert_eq!(
            (first.kind.clone(), first.mode, first.uid, first.gid),
            (EntryKind::File, 0o750, 0, 0)
        );
        let mtime = fs::metadata(dir.path().join("src/main.rs"))
            .unwrap()
            .mtime();
        assert_eq!(first.mtime, mtime as u64);
        assert_eq!(
            c.get("src/main.rs").unwrap().kind,
            EntryKind::Hardlink("src/hard".into())
        );
        assert_eq!(
            c.read_file("src/main.rs").unwrap().unwrap(),
            b"fn main() {}\n"
        );
        assert_eq!(
            c.get("link").unwrap().kind,
            EntryKind::Symlink("src/main.rs".into())
        );
        assert_eq!(
            c.get("dangling").unwrap().kind,
            EntryKind::Symlink("/nonexistent/target".into())
        );
        assert!(c.get("empty").unwrap().is_dir());
        assert!(!c.get("empty").unwrap().implied);
        assert!(c.get("fifo").is_none());

        assert!(c.get("a.log").is_none());
        assert!(
            c.get("src/a.log").is_some(),
            "*.log only matches at the top"
        );
        assert!(c.get("secret").is_none() && c.get("secret/key").is_none());
        assert!(c.get("vendor/x").is_none());
        assert_eq!(c.read_file("vendor/keep/y").unwrap().unwrap(), b"y");
        // The excluded directory itself was not sent, only implied by what it holds.
        assert!(c.get("vendor").unwrap().implied);

        // Owner names are empty and entries come in walk order.
        let mut archive = tar::Archive::new(&tar[..]);
        let mut names = Vec::new();
        for e in archive.entries().unwrap() {
            let e = e.unwrap();
            assert_eq!(e.header().username_bytes(), Some(&b""[..]));
            assert_eq!(e.header().groupname_bytes(), Some(&b""[..]));
            names.push(String::from_utf8(e.path_bytes().into_owned()).unwrap());
        }
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(names.first().map(String::as_str), Some(".dockerignore"));
    }

    #[test]
    fn always_paths_inside_excluded_directories() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "build/Dockerfile", b"FROM x\n");
        write(tmp.path(), "build/other", b"o");
        let ignore = Ignore::parse("build").unwrap();
        let mut tar = Vec::new();
        tar_dir(tmp.path(), &ignore, &["./build/Dockerfile"], &mut tar).unwrap();
        let spool = tempfile::tempdir().unwrap();
        let c = Context::from_reader(&tar[..], spool.path()).unwrap();
        assert!(c.get("build/Dockerfile").is_some());
        assert!(c.get("build/other").is_none());
    }

    #[test]
    fn long_names_and_missing_ignore() {
        let tmp = tempfile::tempdir().unwrap();
        let long = format!("{}/{}", "d".repeat(120), "f".repeat(150));
        write(tmp.path(), &long, b"deep");
        symlink("t".repeat(200), tmp.path().join("longlink")).unwrap();
        let ignore = read_ignore(tmp.path()).unwrap();
        assert!(ignore.is_empty());
        let mut tar = Vec::new();
        tar_dir(tmp.path(), &ignore, &[], &mut tar).unwrap();
        let spool = tempfile::tempdir().unwrap();
        let c = Context::from_reader(&tar[..], spool.path()).unwrap();
        assert_eq!(c.read_file(&long).unwrap().unwrap(), b"deep");
        assert_eq!(
            c.get("longlink").unwrap().kind,
            EntryKind::Symlink("t".repeat(200))
        );
    }

    #[test]
    fn checksum_ignores_mtime_of_client_files() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "a/b", b"same");
        let sum = || {
            let mut tar = Vec::new();
            tar_dir(tmp.path(), &Ignore::default(), &[], &mut tar).unwrap();
            let spool = tempfile::tempdir().unwrap();
            Context::from_reader(&tar[..], spool.path())
                .unwrap()
                .checksum("a")
                .unwrap()
        };
        let before = sum();
        let f = File::options()
            .write(true)
            .open(tmp.path().join("a/b"))
            .unwrap();
        f.set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(12345))
            .unwrap();
        assert_eq!(before, sum());
        fs::write(tmp.path().join("a/b"), b"diff").unwrap();
        assert_ne!(before, sum());
    }

    /// Timing, not correctness: `cargo test -p berth-build -- --ignored --nocapture tar_speed`.
    #[test]
    #[ignore]
    fn tar_speed() {
        let tmp = tempfile::tempdir().unwrap();
        let data = vec![7u8; 10_000];
        for i in 0..5000 {
            write(tmp.path(), &format!("d{}/f{i}", i % 50), &data);
        }
        let ignore = Ignore::parse("*.tmp\n**/node_modules\n!keep").unwrap();
        for _ in 0..3 {
            let start = std::time::Instant::now();
            let n = tar_dir(tmp.path(), &ignore, &[], io::sink()).unwrap();
            eprintln!("{n} bytes in {:?}", start.elapsed());
        }
    }
}
