//! The image index, `<root>/images.json`: which manifest each reference names.
//!
//! It is the only mutable record of the store and the last thing an import writes, so an
//! image is visible exactly when all its blobs and layers are in place. Updates are
//! read-modify-write under an exclusive `flock` on `<root>/images.lock`, and the file is
//! replaced atomically (temp, fsync, rename).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::reference::Reference;
use crate::store::atomic;

#[derive(Debug, Clone)]
pub struct ImageIndex {
    path: PathBuf,
    lock: PathBuf,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct IndexFile {
    /// Normalized reference → manifest digest.
    references: BTreeMap<String, Digest>,
}

impl ImageIndex {
    pub fn open(root: &Path) -> Result<ImageIndex> {
        atomic::create_dir(root)?;
        Ok(ImageIndex {
            path: root.join("images.json"),
            lock: root.join("images.lock"),
        })
    }

    /// The manifest digest `reference` names, if any.
    pub fn get(&self, reference: &Reference) -> Result<Option<Digest>> {
        Ok(self.load()?.references.remove(&reference.to_string()))
    }

    /// Every reference and the manifest it names.
    pub fn list(&self) -> Result<BTreeMap<String, Digest>> {
        Ok(self.load()?.references)
    }

    /// Points `reference` at `manifest`, replacing what it named before.
    pub fn set(&self, reference: &Reference, manifest: &Digest) -> Result<()> {
        self.update(|index| {
            index
                .references
                .insert(reference.to_string(), manifest.clone());
        })
    }

    /// Forgets `reference`, returning the manifest it named.
    pub fn remove(&self, reference: &Reference) -> Result<Option<Digest>> {
        let mut removed = None;
        self.update(|index| removed = index.references.remove(&reference.to_string()))?;
        Ok(removed)
    }

    fn update(&self, change: impl FnOnce(&mut IndexFile)) -> Result<()> {
        let _lock = self.lock()?;
        let mut index = self.load()?;
        change(&mut index);
        let json = serde_json::to_vec_pretty(&index).map_err(|e| Error::Encode {
            what: "image index",
            reason: e.to_string(),
        })?;
        atomic::write_file(&self.path, &json).map_err(|source| Error::WriteMetadata {
            path: self.path.clone(),
            source,
        })
    }

    fn lock(&self) -> Result<Flock<File>> {
        let err = |source| Error::WriteMetadata {
            path: self.lock.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock)
            .map_err(err)?;
        Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| err(e.into()))
    }

    fn load(&self) -> Result<IndexFile> {
        match fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| Error::ParseMetadata {
                path: self.path.clone(),
                source,
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(IndexFile::default()),
            Err(source) => Err(Error::ReadMetadata {
                path: self.path.clone(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_remove_persist() {
        let dir = tempfile::tempdir().unwrap();
        let index = ImageIndex::open(dir.path()).unwrap();
        let r = Reference::parse("busybox").unwrap();
        assert_eq!(index.get(&r).unwrap(), None);
        let m = Digest::of(b"manifest");
        index.set(&r, &m).unwrap();
        let reopened = ImageIndex::open(dir.path()).unwrap();
        assert_eq!(
            reopened
                .get(&Reference::parse("docker.io/library/busybox:latest").unwrap())
                .unwrap(),
            Some(m.clone())
        );
        let json = fs::read_to_string(dir.path().join("images.json")).unwrap();
        assert!(json.contains("docker.io/library/busybox:latest"), "{json}");
        assert_eq!(reopened.remove(&r).unwrap(), Some(m));
        assert!(reopened.list().unwrap().is_empty());
    }

    #[test]
    fn concurrent_updates_are_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let index = ImageIndex::open(dir.path()).unwrap();
                std::thread::spawn(move || {
                    let r = Reference::parse(&format!("app{i}")).unwrap();
                    index
                        .set(&r, &Digest::of(format!("{i}").as_bytes()))
                        .unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(
            ImageIndex::open(dir.path()).unwrap().list().unwrap().len(),
            8
        );
    }
}
