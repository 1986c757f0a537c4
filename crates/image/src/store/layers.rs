//! Unpacked layers, keyed by chain ID: `<root>/layers/<chain hex>/{diff,layer.json}`.
//!
//! A layer's content depends on the layers below it (a whiteout only means something on
//! top of its parent), so the key is the chain ID of the OCI image spec, not the DiffID:
//! chainID(L0) = diffID(L0), chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)).
//! Each chain is unpacked once, into a temp directory renamed into place when complete, so
//! a layer that exists is whole.

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::layer::apply::{apply_layer, LayerStats};
use crate::store::atomic;
use crate::store::content::{Item, Pending};

/// Identifies a layer together with every layer below it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChainId(Digest);

impl ChainId {
    /// The chain ID of a layer on top of `parent` (or of a bottom layer).
    pub fn new(parent: Option<&ChainId>, diff_id: &Digest) -> ChainId {
        match parent {
            None => ChainId(diff_id.clone()),
            Some(p) => ChainId(Digest::of(format!("{} {}", p.0, diff_id).as_bytes())),
        }
    }

    /// The chain IDs of an image's layers, bottom first, from its `rootfs.diff_ids`.
    pub fn chain(diff_ids: &[Digest]) -> Vec<ChainId> {
        let mut out: Vec<ChainId> = Vec::with_capacity(diff_ids.len());
        for d in diff_ids {
            let next = ChainId::new(out.last(), d);
            out.push(next);
        }
        out
    }

    pub fn digest(&self) -> &Digest {
        &self.0
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// What the store records about an unpacked layer (`layer.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInfo {
    pub chain_id: ChainId,
    pub diff_id: Digest,
    pub parent: Option<ChainId>,
    /// Length of the uncompressed archive.
    pub tar_size: u64,
}

#[derive(Debug, Clone)]
pub struct LayerStore {
    dir: PathBuf,
    tmp: PathBuf,
    /// Layers unpacked (or found) and not yet named by the index: spared by collection.
    pending: Pending,
}

/// A layer unpacked into the store's temp directory, not yet visible: made by
/// [`LayerStore::prepare`] (which needs no parent, so several run at once), published by
/// [`LayerStore::publish`] after one [`LayerStore::sync`]. Dropped, it leaves nothing.
#[derive(Debug)]
pub struct Prepared {
    tmp: tempfile::TempDir,
    pub diff_id: Digest,
    tar_size: u64,
}

impl Prepared {
    /// Refuses a layer whose content is not the DiffID its image config names.
    pub fn check(&self, expected: &Digest) -> Result<()> {
        if expected != &self.diff_id {
            return Err(Error::DigestMismatch {
                expected: expected.clone(),
                actual: self.diff_id.clone(),
            });
        }
        Ok(())
    }
}

fn unpack_err(path: &Path) -> impl FnOnce(io::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::UnpackLayer { path, source }
}

const DIFF: &str = "diff";
const INFO: &str = "layer.json";

impl LayerStore {
    pub fn open(root: &Path) -> Result<LayerStore> {
        let dir = root.join("layers");
        let tmp = root.join("tmp");
        atomic::create_dir(&dir)?;
        atomic::create_dir(&tmp)?;
        Ok(LayerStore {
            dir,
            tmp,
            pending: Pending::default(),
        })
    }

    pub(crate) fn with_pending(mut self, pending: Pending) -> LayerStore {
        self.pending = pending;
        self
    }

    /// Every whole layer in the store (a directory with its `layer.json`).
    pub fn list(&self) -> Result<Vec<ChainId>> {
        Ok(super::digests_in(&self.dir)?
            .into_iter()
            .map(ChainId)
            .filter(|id| self.exists(id))
            .collect())
    }

    /// `<root>/layers/<hex>`: hex only, because `:` separates overlay's lowerdirs.
    pub fn path(&self, id: &ChainId) -> PathBuf {
        self.dir.join(id.0.hex())
    }

    /// The directory holding the layer's files.
    pub fn diff_path(&self, id: &ChainId) -> PathBuf {
        self.path(id).join(DIFF)
    }

    pub fn exists(&self, id: &ChainId) -> bool {
        self.path(id).join(INFO).is_file()
    }

    pub fn info(&self, id: &ChainId) -> Result<LayerInfo> {
        let path = self.path(id).join(INFO);
        let bytes = fs::read(&path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => Error::LayerNotFound(id.0.clone()),
            _ => Error::ReadMetadata {
                path: path.clone(),
                source,
            },
        })?;
        serde_json::from_slice(&bytes).map_err(|source| Error::ParseMetadata { path, source })
    }

    /// Unpacks a layer archive on top of `parent`. With `expected_diff_id` (from an image
    /// config), a chain already unpacked is returned without reading the stream, and a
    /// stream whose content does not match is refused.
    pub fn unpack(
        &self,
        parent: Option<&ChainId>,
        expected_diff_id: Option<&Digest>,
        stream: impl Read,
    ) -> Result<LayerInfo> {
        if let Some(p) = parent {
            if !self.exists(p) {
                return Err(Error::LayerNotFound(p.0.clone()));
            }
        }
        if let Some(d) = expected_diff_id {
            let id = ChainId::new(parent, d);
            // Pending before the check: a sweep must not take it between check and use.
            self.pending.add(Item::Layer(id.clone()));
            if self.exists(&id) {
                return self.info(&id);
            }
        }
        let prepared = self.prepare(stream)?;
        if let Some(expected) = expected_diff_id {
            prepared.check(expected)?;
        }
        self.sync()?;
        self.publish(prepared, parent)
    }

    /// Unpacks a layer archive into a temp directory of the store, out of sight: the
    /// first half of [`LayerStore::unpack`], which a load runs for several layers at once
    /// (a layer's files do not depend on its parent's; only their meaning does).
    pub fn prepare(&self, stream: impl Read) -> Result<Prepared> {
        // Dropped on any error below: a failed unpack leaves nothing.
        let tmp = tempfile::Builder::new()
            .prefix("layer-")
            .tempdir_in(&self.tmp)
            .map_err(unpack_err(&self.tmp))?;
        let diff = tmp.path().join(DIFF);
        fs::create_dir(&diff).map_err(unpack_err(&diff))?;
        // The container's "/" unless the archive has a "./" entry: 0755 whatever our umask.
        fs::set_permissions(&diff, fs::Permissions::from_mode(0o755)).map_err(unpack_err(&diff))?;
        let LayerStats {
            diff_id, tar_size, ..
        } = apply_layer(stream, &diff)?;
        Ok(Prepared {
            tmp,
            diff_id,
            tar_size,
        })
    }

    /// Takes a directory that already holds a layer's files in the store's form (a
    /// container's overlay upper directory, unmounted, whose tar is `diff_id`) by renaming
    /// it into place on top of `parent`, instead of unpacking the tar again: a build step's
    /// files are then written once, and nothing is left to delete. Fails (and leaves `dir`
    /// where it was) when `dir` is on another file system; the caller unpacks then.
    pub fn adopt(&self, parent: Option<&ChainId>, dir: &Path, diff_id: &Digest, tar_size: u64) -> Result<LayerInfo> {
        if let Some(p) = parent {
            if !self.exists(p) {
                return Err(Error::LayerNotFound(p.0.clone()));
            }
        }
        let id = ChainId::new(parent, diff_id);
        self.pending.add(Item::Layer(id.clone()));
        if self.exists(&id) {
            return self.info(&id);
        }
        let tmp = tempfile::Builder::new()
            .prefix("layer-")
            .tempdir_in(&self.tmp)
            .map_err(unpack_err(&self.tmp))?;
        fs::rename(dir, tmp.path().join(DIFF)).map_err(unpack_err(dir))?;
        self.sync()?;
        self.publish(Prepared { tmp, diff_id: diff_id.clone(), tar_size }, parent)
    }

    /// Makes everything written to the store's filesystem durable, in one call: unpacking
    /// writes no file with fsync (thousands of them would each wait for the disk), so this
    /// runs once before prepared layers are published by rename.
    pub fn sync(&self) -> Result<()> {
        let dir = fs::File::open(&self.tmp).map_err(unpack_err(&self.tmp))?;
        nix::unistd::syncfs(&dir).map_err(|e| Error::UnpackLayer {
            path: self.tmp.clone(),
            source: e.into(),
        })
    }

    /// Publishes a prepared layer on top of `parent` by renaming it into place. The caller
    /// has run [`LayerStore::sync`] since it was prepared, so what the rename makes visible
    /// is on disk.
    pub fn publish(
        &self,
        prepared: Prepared,
        parent: Option<&ChainId>,
    ) -> Result<LayerInfo> {
        let Prepared {
            mut tmp,
            diff_id,
            tar_size,
        } = prepared;
        let id = ChainId::new(parent, &diff_id);
        self.pending.add(Item::Layer(id.clone()));
        let info = LayerInfo {
            chain_id: id.clone(),
            diff_id,
            parent: parent.cloned(),
            tar_size,
        };
        let json = serde_json::to_vec_pretty(&info).map_err(|e| Error::Encode {
            what: "layer info",
            reason: e.to_string(),
        })?;
        atomic::write_file(&tmp.path().join(INFO), &json).map_err(unpack_err(tmp.path()))?;
        let target = self.path(&id);
        match fs::rename(tmp.path(), &target) {
            Ok(()) => {
                // Renamed away: nothing is left at the temp path to clean up.
                tmp.disable_cleanup(true);
                atomic::sync_dir(&self.dir).map_err(unpack_err(&target))?;
                Ok(info)
            }
            // Someone unpacked the same chain meanwhile: theirs is as good as ours.
            Err(_) if self.exists(&id) => Ok(info),
            Err(source) => Err(Error::UnpackLayer {
                path: target,
                source,
            }),
        }
    }

    /// Deletes an unpacked layer. The caller knows no image or container uses it.
    pub fn remove(&self, id: &ChainId) -> Result<()> {
        let path = self.path(id);
        if !path.exists() {
            return Err(Error::LayerNotFound(id.0.clone()));
        }
        // Move it out of sight first, so a half-deleted layer is never taken for a whole one;
        // what a crash leaves in tmp/ is removed by the next `Store::open`.
        let remove_err = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::RemoveLayer { path, source }
        };
        let trash = tempfile::Builder::new()
            .prefix("removing-")
            .tempdir_in(&self.tmp)
            .map_err(remove_err(&self.tmp))?;
        fs::rename(&path, trash.path().join("layer")).map_err(remove_err(&path))?;
        atomic::sync_dir(&self.dir).map_err(remove_err(&self.dir))?;
        let trash_path = trash.path().to_owned();
        trash.close().map_err(remove_err(&trash_path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::fixture::TarFixture;

    #[test]
    fn chain_ids_follow_the_image_spec() {
        let a = Digest::of(b"a");
        let b = Digest::of(b"b");
        let c = Digest::of(b"c");
        let chain = ChainId::chain(&[a.clone(), b.clone(), c.clone()]);
        assert_eq!(chain[0].digest(), &a);
        let ab = Digest::of(format!("{a} {b}").as_bytes());
        assert_eq!(chain[1].digest(), &ab);
        assert_eq!(
            chain[2].digest(),
            &Digest::of(format!("{ab} {c}").as_bytes())
        );
        assert!(ChainId::chain(&[]).is_empty());
    }

    fn is_root() -> bool {
        nix::unistd::geteuid().is_root()
    }

    #[test]
    fn unpacks_once_and_keys_by_chain() {
        if !is_root() {
            return;
        }
        let root = tempfile::tempdir().unwrap();
        let store = LayerStore::open(root.path()).unwrap();
        let l0 = TarFixture::new().file("a", b"1").finish();
        let l1 = TarFixture::new().file("b", b"2").finish();
        let i0 = store.unpack(None, None, &l0[..]).unwrap();
        assert_eq!(i0.diff_id, Digest::of(&l0));
        assert_eq!(i0.chain_id.digest(), &i0.diff_id);
        let i1 = store.unpack(Some(&i0.chain_id), None, &l1[..]).unwrap();
        assert_eq!(
            i1.chain_id,
            ChainId::new(Some(&i0.chain_id), &Digest::of(&l1))
        );
        assert_eq!(
            fs::read(store.diff_path(&i1.chain_id).join("b")).unwrap(),
            b"2"
        );
        assert_eq!(store.info(&i1.chain_id).unwrap(), i1);

        // Known chain: the stream is not even read.
        struct Unread;
        impl Read for Unread {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                panic!("stream of an unpacked layer was read")
            }
        }
        assert_eq!(
            store
                .unpack(Some(&i0.chain_id), Some(&i1.diff_id), Unread)
                .unwrap(),
            i1
        );

        store.remove(&i1.chain_id).unwrap();
        assert!(!store.exists(&i1.chain_id));
        assert_eq!(fs::read_dir(root.path().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn failed_unpacks_leave_nothing() {
        let root = tempfile::tempdir().unwrap();
        let store = LayerStore::open(root.path()).unwrap();
        let hostile = TarFixture::new()
            .file("ok", b"x")
            .file("../x", b"y")
            .finish();
        assert!(store.unpack(None, None, &hostile[..]).is_err());
        let good = TarFixture::new().file("ok", b"x").finish();
        let wrong = Digest::of(b"not this");
        assert!(matches!(
            store.unpack(None, Some(&wrong), &good[..]),
            Err(Error::DigestMismatch { .. })
        ));
        assert!(matches!(
            store.unpack(Some(&ChainId::new(None, &wrong)), None, &good[..]),
            Err(Error::LayerNotFound(_))
        ));
        assert_eq!(fs::read_dir(root.path().join("layers")).unwrap().count(), 0);
        assert_eq!(fs::read_dir(root.path().join("tmp")).unwrap().count(), 0);
    }
}
