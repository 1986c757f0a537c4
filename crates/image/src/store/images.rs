//! The image index, `<root>/images.json`: which manifest each reference names, every image
//! record (an image whose last tag moved elsewhere stays, dangling, until it is removed or
//! pruned), and which layers each holder (a container) keeps alive.
//!
//! It is the only mutable record of the store and the last thing an import writes, so an
//! image is visible exactly when all its blobs and layers are in place: an index opened by
//! [`crate::Store`] checks that before it publishes. Updates are read-modify-write under
//! an exclusive `flock` on `<root>/images.lock`, and the file is replaced atomically (temp,
//! fsync, rename). Garbage collection decides and deletes under the same lock.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::reference::Reference;
use crate::store::atomic;
use crate::store::blobs::BlobStore;
use crate::store::content::{self, Content};
use crate::store::layers::{ChainId, LayerStore};

#[derive(Debug, Clone)]
pub struct ImageIndex {
    path: PathBuf,
    lock: PathBuf,
    /// The store's content, to check an image is whole before publishing it.
    content: Option<(BlobStore, LayerStore)>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct IndexFile {
    /// Normalized reference → manifest digest.
    pub(crate) references: BTreeMap<String, Digest>,
    /// Every image, by manifest digest, tagged or not.
    #[serde(default)]
    pub(crate) images: BTreeMap<Digest, ImageRecord>,
    /// Owner (a container id) → the layers it keeps alive.
    #[serde(default)]
    pub(crate) holders: BTreeMap<String, BTreeSet<ChainId>>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ImageRecord {
    /// When a reference was last pointed at the image (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_tag_time: Option<String>,
}

impl IndexFile {
    /// The references naming `manifest`, sorted.
    pub(crate) fn references_of(&self, manifest: &Digest) -> Vec<String> {
        self.references
            .iter()
            .filter(|(_, d)| *d == manifest)
            .map(|(r, _)| r.clone())
            .collect()
    }
}

/// The index read under its lock: changes are written by [`Locked::commit`], and the lock
/// is held until this is dropped.
pub(crate) struct Locked<'a> {
    owner: &'a ImageIndex,
    _lock: Flock<File>,
    pub(crate) index: IndexFile,
}

impl Locked<'_> {
    pub(crate) fn commit(&self) -> Result<()> {
        self.owner.write(&self.index)
    }
}

impl ImageIndex {
    pub fn open(root: &Path) -> Result<ImageIndex> {
        atomic::create_dir(root)?;
        Ok(ImageIndex {
            path: root.join("images.json"),
            lock: root.join("images.lock"),
            content: None,
        })
    }

    /// Makes [`ImageIndex::set`] refuse images whose content is not all there.
    pub(crate) fn with_content(mut self, blobs: BlobStore, layers: LayerStore) -> ImageIndex {
        self.content = Some((blobs, layers));
        self
    }

    /// Writes an empty index and its lock file if there are none, so an empty store has
    /// the same files before and after use.
    pub(crate) fn init(&self) -> Result<()> {
        let tx = self.begin()?;
        if !self.path.exists() {
            tx.commit()?;
        }
        Ok(())
    }

    /// The manifest digest `reference` names, if any.
    pub fn get(&self, reference: &Reference) -> Result<Option<Digest>> {
        Ok(self.load()?.references.remove(&reference.to_string()))
    }

    /// Every reference and the manifest it names.
    pub fn list(&self) -> Result<BTreeMap<String, Digest>> {
        Ok(self.load()?.references)
    }

    /// Points `reference` at `manifest`, replacing what it named before (which stays as
    /// an image record, dangling if that was its last reference).
    pub fn set(&self, reference: &Reference, manifest: &Digest) -> Result<()> {
        let mut tx = self.begin()?;
        let published = self.check_whole(manifest)?;
        tx.index
            .references
            .insert(reference.to_string(), manifest.clone());
        tx.index
            .images
            .entry(manifest.clone())
            .or_default()
            .last_tag_time = Some(crate::image::rfc3339_now());
        tx.commit()?;
        if let (Some(content), Some((blobs, _))) = (published, &self.content) {
            blobs.pending().publish(&content);
        }
        Ok(())
    }

    /// Records an image under no name (`docker import` without a repository, a load of an
    /// untagged image): it is listed as `<none>:<none>` and found by id until pruned.
    pub fn add_untagged(&self, manifest: &Digest) -> Result<()> {
        let mut tx = self.begin()?;
        let published = self.check_whole(manifest)?;
        tx.index.images.entry(manifest.clone()).or_default();
        tx.commit()?;
        if let (Some(content), Some((blobs, _))) = (published, &self.content) {
            blobs.pending().publish(&content);
        }
        Ok(())
    }

    /// Forgets `reference`, returning the manifest it named. The image record stays.
    pub fn remove(&self, reference: &Reference) -> Result<Option<Digest>> {
        let mut tx = self.begin()?;
        let removed = tx.index.references.remove(&reference.to_string());
        tx.commit()?;
        Ok(removed)
    }

    /// With the store's content known: what `manifest` reaches, or an error naming the
    /// first thing the image needs and the store lacks.
    fn check_whole(&self, manifest: &Digest) -> Result<Option<Content>> {
        let Some((blobs, layers)) = &self.content else {
            return Ok(None);
        };
        let content = content::walk(blobs, layers, manifest)?;
        if let Some(missing) = content.missing.first() {
            return Err(Error::IncompleteImage {
                manifest: manifest.clone(),
                missing: missing.clone(),
            });
        }
        Ok(Some(content))
    }

    /// The index as it is now (unlocked: for reading).
    pub(crate) fn snapshot(&self) -> Result<IndexFile> {
        self.load()
    }

    /// The index, locked for a read-modify-write.
    pub(crate) fn begin(&self) -> Result<Locked<'_>> {
        let lock = self.lock()?;
        let index = self.load()?;
        Ok(Locked {
            owner: self,
            _lock: lock,
            index,
        })
    }

    fn write(&self, index: &IndexFile) -> Result<()> {
        let json = serde_json::to_vec_pretty(index).map_err(|e| Error::Encode {
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
        let mut index: IndexFile = match fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| Error::ParseMetadata {
                path: self.path.clone(),
                source,
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => IndexFile::default(),
            Err(source) => {
                return Err(Error::ReadMetadata {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        // Indexes written before image records existed: every named manifest is an image.
        for d in index.references.values() {
            index.images.entry(d.clone()).or_default();
        }
        Ok(index)
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
