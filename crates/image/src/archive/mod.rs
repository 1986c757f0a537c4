//! Image archives: `docker save`/`docker load` tarballs (Docker image spec v1.2:
//! `manifest.json`, `<id>/layer.tar`, `repositories`) and OCI image layouts, as a tarball
//! (`oci-archive`) or a directory.
//!
//! Loading is built so that a bad archive changes nothing: every file is first spooled
//! into the store's `tmp/` (hashed on the way, never kept in memory, never written under
//! its archive name), then the metadata is checked end to end (digests, sizes, media
//! types, DiffIDs), then the layers are unpacked (several at once, each into a temp
//! directory, its DiffID hashed while it is extracted), then one `syncfs` makes all of it
//! durable, then the layers are renamed into place and the blobs moved into the blob
//! store, and only then are references written to the image index. A failure before the
//! last step removes the layers this load unpacked. Layers are unpacked under a per-chain
//! lock, so two loads sharing a layer unpack it once: the second waits and reuses it.

pub mod docker_archive;
pub mod load;
pub mod oci_layout;
pub mod save;

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::digest::{Digest, DigestingReader};
use crate::image::ImageId;
use crate::reference::Reference;
use crate::store::layers::ChainId;

pub use load::LoadedImage;

/// The archive formats berth writes (it reads both, and OCI layout directories).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `docker save`'s format: uncompressed layers, `manifest.json`, `repositories`.
    DockerArchive,
    /// An OCI image layout in a tarball: blobs as stored, so digests survive.
    OciArchive,
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("read archive {what}: {source}")]
    Read { what: String, source: io::Error },

    #[error("load archive: {0}")]
    Format(String),

    #[error("load {image}: {reason}")]
    Image { image: String, reason: String },

    #[error("load {image}: {what} {name:?} is not in the archive")]
    Missing {
        image: String,
        what: String,
        name: String,
    },

    #[error("load {image}: {what} {name:?}: expected {expected}, got {actual}")]
    Mismatch {
        image: String,
        what: String,
        name: String,
        expected: String,
        actual: String,
    },

    #[error("load {image}: layer {index} ({name}): {source}")]
    Layer {
        image: String,
        index: usize,
        name: String,
        source: Box<crate::Error>,
    },

    #[error("save {image}: {reason}")]
    Save { image: String, reason: String },

    #[error("write archive {what}: {source}")]
    Write { what: String, source: io::Error },

    #[error(transparent)]
    Store(#[from] crate::Error),
}

pub type Result<T, E = ArchiveError> = std::result::Result<T, E>;

/// A file of the archive, spooled into the store's tmp directory and hashed.
#[derive(Debug, Clone)]
pub(crate) struct Staged {
    pub path: PathBuf,
    pub digest: Digest,
    pub size: u64,
}

impl Staged {
    pub fn open(&self) -> Result<File> {
        File::open(&self.path).map_err(|source| ArchiveError::Read {
            what: format!("spooled {}", self.path.display()),
            source,
        })
    }

    pub fn read_all(&self) -> Result<Vec<u8>> {
        let mut v = Vec::new();
        self.open()?
            .read_to_end(&mut v)
            .map_err(|source| ArchiveError::Read {
                what: format!("spooled {}", self.path.display()),
                source,
            })?;
        Ok(v)
    }

    /// The first bytes, for sniffing the compression.
    pub fn head(&self) -> Result<Vec<u8>> {
        let mut v = Vec::with_capacity(4);
        self.open()?
            .take(4)
            .read_to_end(&mut v)
            .map_err(|source| ArchiveError::Read {
                what: format!("spooled {}", self.path.display()),
                source,
            })?;
        Ok(v)
    }
}

/// The archive's files by their (normalized) names: spooled as the tarball is read, or
/// copied on demand from a layout directory.
pub(crate) struct Staging {
    dir: tempfile::TempDir,
    entries: HashMap<String, Staged>,
    /// Symbolic and hard links of the tarball: name → target name.
    links: HashMap<String, String>,
    /// A layout directory to copy files from when they are first asked for.
    source_dir: Option<PathBuf>,
    next: u64,
}

impl Staging {
    pub fn new(tmp: &Path, source_dir: Option<PathBuf>) -> Result<Staging> {
        let dir = tempfile::Builder::new()
            .prefix("load-")
            .tempdir_in(tmp)
            .map_err(|source| ArchiveError::Write {
                what: format!("staging directory in {}", tmp.display()),
                source,
            })?;
        Ok(Staging {
            dir,
            entries: HashMap::new(),
            links: HashMap::new(),
            source_dir,
            next: 0,
        })
    }

    /// Spools `reader` under `name`. `expected_len` (from a tar header) catches an archive
    /// cut short in the middle of a file.
    pub fn add(&mut self, name: &str, reader: impl Read, expected_len: Option<u64>) -> Result<()> {
        let path = self.dir.path().join(format!("f{}", self.next));
        self.next += 1;
        let read_err = |source| ArchiveError::Read {
            what: format!("entry {name:?}"),
            source,
        };
        let mut file = File::create(&path).map_err(|source| ArchiveError::Write {
            what: format!("spooled {}", path.display()),
            source,
        })?;
        let mut r = DigestingReader::new(reader);
        // Layers are most of an archive: copy them in large writes, not io::copy's 8 KiB.
        let mut buf = vec![0u8; 1 << 20];
        crate::layer::apply::copy_with(&mut buf, &mut r, &mut file).map_err(read_err)?;
        crate::store::atomic::start_writeback(&file);
        let (digest, size) = r.finish();
        if let Some(len) = expected_len {
            if len != size {
                return Err(read_err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("truncated: {size} of {len} bytes"),
                )));
            }
        }
        self.entries
            .insert(name.to_owned(), Staged { path, digest, size });
        Ok(())
    }

    pub fn link(&mut self, name: &str, target: String) {
        self.links.insert(name.to_owned(), target);
    }

    /// The file called `name`, following links; `None` if the archive has no such file.
    pub fn get(&mut self, name: &str) -> Result<Option<Staged>> {
        let mut name = normalize(name)
            .ok_or_else(|| ArchiveError::Format(format!("name {name:?} leaves the archive")))?;
        for _ in 0..16 {
            if let Some(s) = self.entries.get(&name) {
                return Ok(Some(s.clone()));
            }
            match self.links.get(&name) {
                Some(t) => name = t.clone(),
                None => break,
            }
        }
        let Some(dir) = self.source_dir.clone() else {
            return Ok(None);
        };
        if self.entries.contains_key(&name) {
            return Ok(self.entries.get(&name).cloned());
        }
        match File::open(dir.join(&name)) {
            Ok(f) => {
                self.add(&name, f, None)?;
                Ok(self.entries.get(&name).cloned())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ArchiveError::Read {
                what: format!("{}", dir.join(&name).display()),
                source,
            }),
        }
    }

    pub fn contains(&mut self, name: &str) -> bool {
        matches!(self.get(name), Ok(Some(_)))
    }
}

/// An archive name in one canonical form: no `.`, no empty or leading `/` components,
/// `..` resolved; `None` if it climbs out of the archive.
pub(crate) fn normalize(name: &str) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            c => out.push(c),
        }
    }
    Some(out.join("/"))
}

/// `target` of a symlink found at `name`, as an archive name.
pub(crate) fn resolve_link(name: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return normalize(target);
    }
    let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
    normalize(&format!("{dir}/{target}"))
}

/// Exclusive locks on layers being unpacked, `<root>/locks/layer-<hex>`, taken in sorted
/// order (so two loads never wait on each other in a cycle) and held until the load has
/// registered its images or undone its layers. The lock files are removed when released,
/// so the data root does not grow with every load: a waiter that wakes up holding a file
/// someone unlinked meanwhile notices (the path no longer names its inode) and retries.
pub(crate) struct ChainLocks {
    held: Vec<(PathBuf, Flock<File>)>,
}

impl ChainLocks {
    pub fn acquire(root: &Path, chains: &[ChainId]) -> Result<ChainLocks> {
        use std::os::unix::fs::MetadataExt;
        let dir = root.join("locks");
        crate::store::atomic::create_dir(&dir)?;
        let mut sorted: Vec<&ChainId> = chains.iter().collect();
        sorted.sort();
        sorted.dedup();
        let mut held = Vec::with_capacity(sorted.len());
        for c in sorted {
            let path = dir.join(format!("layer-{}", c.digest().hex()));
            let err = |source| ArchiveError::Write {
                what: format!("lock {}", path.display()),
                source,
            };
            loop {
                let f = OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .map_err(err)?;
                let lock =
                    Flock::lock(f, FlockArg::LockExclusive).map_err(|(_, e)| err(e.into()))?;
                let mine = lock.metadata().map_err(err)?;
                match std::fs::metadata(&path) {
                    Ok(now) if now.ino() == mine.ino() && now.dev() == mine.dev() => {
                        held.push((path.clone(), lock));
                        break;
                    }
                    // Unlinked (or replaced) by the previous holder: lock the new file.
                    _ => continue,
                }
            }
        }
        Ok(ChainLocks { held })
    }
}

impl Drop for ChainLocks {
    fn drop(&mut self) {
        // Unlink while still holding each lock, then release it (by dropping the Flock).
        for (path, _lock) in self.held.drain(..) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// How an image is named in messages: its first reference, or its id.
pub(crate) fn label(names: &[Reference], id: Option<&ImageId>, fallback: &str) -> String {
    match (names.first(), id) {
        (Some(r), _) => r.to_string(),
        (None, Some(id)) => id.to_string(),
        (None, None) => fallback.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalized_and_confined() {
        assert_eq!(normalize("./a//b/./c").as_deref(), Some("a/b/c"));
        assert_eq!(
            normalize("/manifest.json").as_deref(),
            Some("manifest.json")
        );
        assert_eq!(normalize("a/../b").as_deref(), Some("b"));
        assert_eq!(normalize("../b"), None);
        assert_eq!(
            resolve_link("x/layer.tar", "../y/layer.tar").as_deref(),
            Some("y/layer.tar")
        );
        assert_eq!(resolve_link("x/layer.tar", "../../etc/passwd"), None);
    }
}

#[cfg(test)]
mod load_save_tests;
