//! The on-disk store under one root directory:
//!
//! ```text
//! <root>/blobs/sha256/<hex>      content-addressed blobs (layers, configs, manifests)
//! <root>/layers/<chain hex>/     unpacked layers: diff/ and layer.json
//! <root>/images.json             reference → manifest digest, image records, holders
//! <root>/images.lock             serializes updates of images.json (and collection)
//! <root>/store.lock              shared by every open Store; exclusive while recovering
//! <root>/tmp/                    work in progress, on the same filesystem for renames
//! ```
//!
//! Recovery: a process killed at any point leaves only temp entries (in `tmp/`, or the
//! `.tmp-*` of an atomic write) and content no image names. The first `Store::open` on a
//! root that no other process has open removes both; published images are untouched
//! because every one of their files was renamed into place before the index named them.

pub(crate) mod atomic;
pub mod blobs;
pub(crate) mod content;
#[cfg(test)]
pub(crate) mod fixture;
pub mod images;
pub mod layers;

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::fcntl::{Flock, FlockArg};

use crate::digest::Digest;
use crate::error::{Error, Result};
use blobs::BlobStore;
use content::Pending;
use images::ImageIndex;
use layers::LayerStore;

pub use content::PENDING_GRACE;

#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    blobs: BlobStore,
    layers: LayerStore,
    images: ImageIndex,
    /// A shared lock on `store.lock` for as long as any clone lives: tells a later
    /// `open` that this root is in use and must not be recovered under our feet.
    _in_use: Arc<Flock<File>>,
}

impl Store {
    /// Opens the store at `root`, creating its directories if needed. When no other
    /// process has it open, first removes what an interrupted operation left behind.
    pub fn open(root: &Path) -> Result<Store> {
        atomic::create_dir(root)?;
        // Where loads take their per-layer locks (their files come and go; the dir stays).
        atomic::create_dir(&root.join("locks"))?;
        let pending = Pending::default();
        let blobs = BlobStore::open(root)?.with_pending(pending.clone());
        let layers = LayerStore::open(root)?.with_pending(pending);
        let images = ImageIndex::open(root)?.with_content(blobs.clone(), layers.clone());
        let lock_path = root.join("store.lock");
        let lock_err = |source| Error::WriteMetadata {
            path: lock_path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(lock_err)?;
        let (in_use, alone) = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => (lock, true),
            Err((file, _)) => (
                Flock::lock(file, FlockArg::LockShared).map_err(|(_, e)| lock_err(e.into()))?,
                false,
            ),
        };
        let store = Store {
            root: root.to_owned(),
            blobs,
            layers,
            images,
            _in_use: Arc::new(in_use),
        };
        store.images.init()?;
        if alone {
            store.recover()?;
            store
                ._in_use
                .relock(FlockArg::LockShared)
                .map_err(|e| lock_err(e.into()))?;
        }
        Ok(store)
    }

    /// Removes temp entries and content no image or holder names. Only while no other
    /// process has the store open: their work in progress looks exactly like debris.
    fn recover(&self) -> Result<()> {
        let tmp = self.root.join("tmp");
        for entry in read_dir(&tmp)? {
            remove_any(&entry)?;
        }
        // Lock files of a load that was killed before it could remove them (nobody else
        // has the store open, so nobody holds or waits on them).
        for entry in read_dir(&self.root.join("locks"))? {
            remove_any(&entry)?;
        }
        for entry in read_dir(&self.root)? {
            let is_temp = entry
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".tmp-"));
            if is_temp {
                remove_any(&entry)?;
            }
        }
        // A layer directory without its layer.json is not a layer (they are renamed into
        // place whole, so this is foreign debris), and nothing can use it.
        let layers_dir = self.root.join("layers");
        for entry in read_dir(&layers_dir)? {
            if !entry.join("layer.json").is_file() {
                remove_any(&entry)?;
            }
        }
        let tx = self.images.begin()?;
        self.sweep(&tx.index)?;
        Ok(())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    pub fn layers(&self) -> &LayerStore {
        &self.layers
    }

    pub fn images(&self) -> &ImageIndex {
        &self.images
    }
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let err = |source| Error::CleanUp {
        path: dir.to_owned(),
        source,
    };
    fs::read_dir(dir)
        .map_err(err)?
        .map(|e| e.map(|e| e.path()).map_err(err))
        .collect()
}

fn remove_any(path: &Path) -> Result<()> {
    let result = match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) => Err(e),
    };
    match result {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::CleanUp {
            path: path.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// The entries of `dir` named by a sha256 hex digest (blobs, layers), sorted. Other names
/// (nothing the store writes under those names) are skipped.
pub(crate) fn digests_in(dir: &Path) -> Result<Vec<Digest>> {
    let err = |source| Error::ReadMetadata {
        path: dir.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(err)? {
        let entry = entry.map_err(err)?;
        if let Some(d) = entry
            .file_name()
            .to_str()
            .and_then(|n| Digest::from_hex(n).ok())
        {
            out.push(d);
        }
    }
    out.sort();
    Ok(out)
}
