//! Removing images and collecting what nothing uses, so the data root shrinks back when
//! images go (Docker's overlay2 directory that only ever grows is what this answers).
//!
//! A layer lives while any image record's chain reaches it or a holder (a container, via
//! [`Store::hold_layers`]) keeps it; a blob while an image record reaches it. Every
//! operation here changes the index first, durably, and then sweeps, all under the index
//! lock: a crash between the two leaves only unnamed content, which the next
//! [`Store::open`] sweeps. Content an import of this process has written but not yet
//! published is spared (see [`crate::store::PENDING_GRACE`]).

use std::collections::{BTreeMap, BTreeSet};

use crate::df::tree_size;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::ImageId;
use crate::store::content::{self, Item};
use crate::store::images::IndexFile;
use crate::store::layers::ChainId;
use crate::store::Store;

/// What a removal, a release or a prune did, for `Untagged:` / `Deleted:` lines and
/// "Total reclaimed space".
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Removal {
    /// Normalized references forgotten.
    pub untagged: Vec<String>,
    /// Images deleted.
    pub deleted: Vec<ImageId>,
    /// Unpacked layers deleted.
    pub layers: Vec<ChainId>,
    /// Blobs deleted.
    pub blobs: Vec<Digest>,
    /// Bytes freed: blob lengths plus the apparent size of the deleted layers' files.
    pub reclaimed: u64,
}

/// What is reachable from the index.
#[derive(Debug, Default)]
pub(crate) struct Live {
    pub(crate) blobs: BTreeSet<Digest>,
    pub(crate) layers: BTreeSet<ChainId>,
}

impl Store {
    /// Keeps `layers` (and the layers below them) alive for `owner`, a container id, until
    /// [`Store::release`]; adds to what the owner already holds. Fails, holding nothing
    /// new, when a layer is not in the store.
    pub fn hold_layers(&self, owner: &str, layers: &[ChainId]) -> Result<()> {
        let mut tx = self.images().begin()?;
        if let Some(missing) = layers.iter().find(|l| !self.layers().exists(l)) {
            return Err(Error::HoldMissingLayer {
                owner: owner.to_owned(),
                layer: missing.digest().clone(),
            });
        }
        tx.index
            .holders
            .entry(owner.to_owned())
            .or_default()
            .extend(layers.iter().cloned());
        tx.commit()
    }

    /// Drops what `owner` holds, deleting the layers no image or other holder uses (those
    /// of an image removed with `force` while the owner held it).
    pub fn release(&self, owner: &str) -> Result<Removal> {
        let mut tx = self.images().begin()?;
        if tx.index.holders.remove(owner).is_none() {
            return Ok(Removal::default());
        }
        tx.commit()?;
        self.sweep(&tx.index)
    }

    /// Every holder and the layers it holds.
    pub fn holders(&self) -> Result<BTreeMap<String, Vec<ChainId>>> {
        Ok(self
            .images()
            .snapshot()?
            .holders
            .into_iter()
            .map(|(o, l)| (o, l.into_iter().collect()))
            .collect())
    }

    /// `docker rmi`. A tag of an image that has other tags is only untagged; otherwise the
    /// image goes with all its references, and then whatever content nothing else uses.
    /// Refused, unless `force`, for an image a holder uses (a forced removal keeps the
    /// held layers until they are released) and for an id naming an image with several
    /// tags.
    pub fn remove_image(&self, ref_or_id: &str, force: bool) -> Result<Removal> {
        let mut tx = self.images().begin()?;
        let selected = self.select(&tx.index, ref_or_id)?;
        let conflict = |reason: String| Error::ImageConflict {
            reference: ref_or_id.to_owned(),
            reason,
        };
        let tags: Vec<String> = selected
            .manifests
            .iter()
            .flat_map(|m| tx.index.references_of(m))
            .filter(|r| !r.contains('@'))
            .collect();
        if let Some(key) = &selected.reference {
            if tags.iter().any(|t| t != key) {
                tx.index.references.remove(key);
                tx.commit()?;
                return Ok(Removal {
                    untagged: vec![key.clone()],
                    ..Removal::default()
                });
            }
        } else if tags.len() > 1 && !force {
            return Err(conflict(format!(
                "image is referenced by {} tags ({}): remove them by name, or force",
                tags.len(),
                tags.join(", ")
            )));
        }
        if !force {
            for manifest in &selected.manifests {
                let users = self.users_of(&tx.index, manifest)?;
                if !users.is_empty() {
                    return Err(conflict(format!(
                        "image is in use by {} (must force)",
                        users.join(", ")
                    )));
                }
            }
        }
        let mut removal = Removal::default();
        for manifest in &selected.manifests {
            self.forget_image(&mut tx.index, manifest, &mut removal)?;
        }
        tx.commit()?;
        let swept = self.sweep(&tx.index)?;
        Ok(removal.merge(swept))
    }

    /// `docker image prune [-a]`: removes the dangling images (no reference at all) or,
    /// with `all`, every image no holder uses; then the content nothing uses. Returns what
    /// went, `reclaimed` counting the bytes freed.
    pub fn prune(&self, all: bool) -> Result<Removal> {
        let mut tx = self.images().begin()?;
        let mut removal = Removal::default();
        let records: Vec<Digest> = tx.index.images.keys().cloned().collect();
        // Parents of other images (a build's steps: its cache) are not dangling, as in
        // Docker; `all` removes them with the rest.
        let parents = if all { Vec::new() } else { self.intermediate(&tx.index)? };
        for manifest in records {
            let dangling = tx.index.references_of(&manifest).is_empty() && !parents.contains(&manifest);
            if (all || dangling) && self.users_of(&tx.index, &manifest)?.is_empty() {
                self.forget_image(&mut tx.index, &manifest, &mut removal)?;
            }
        }
        tx.commit()?;
        let swept = self.sweep(&tx.index)?;
        Ok(removal.merge(swept))
    }

    /// Drops the image record and its references from `index` (not yet committed).
    fn forget_image(
        &self,
        index: &mut IndexFile,
        manifest: &Digest,
        removal: &mut Removal,
    ) -> Result<()> {
        for r in index.references_of(manifest) {
            index.references.remove(&r);
            removal.untagged.push(r);
        }
        index.images.remove(manifest);
        let id = self.id_of(manifest)?;
        if !removal.deleted.contains(&id) {
            removal.deleted.push(id);
        }
        Ok(())
    }

    /// The holders using the image: those holding its top layer.
    pub(crate) fn users_of(&self, index: &IndexFile, manifest: &Digest) -> Result<Vec<String>> {
        let chain = content::walk(self.blobs(), self.layers(), manifest)?.layers;
        let Some(top) = chain.last() else {
            return Ok(Vec::new());
        };
        Ok(index
            .holders
            .iter()
            .filter(|(_, held)| held.contains(top))
            .map(|(owner, _)| owner.clone())
            .collect())
    }

    /// Everything the index reaches: each record's content, each holder's layers and the
    /// layers below them.
    pub(crate) fn mark(&self, index: &IndexFile) -> Result<Live> {
        let mut live = Live::default();
        for manifest in index.images.keys() {
            let content = content::walk(self.blobs(), self.layers(), manifest)?;
            live.blobs.extend(content.blobs);
            live.layers.extend(content.layers);
        }
        for held in index.holders.values() {
            for layer in held {
                let mut next = Some(layer.clone());
                while let Some(l) = next.take() {
                    if !live.layers.insert(l.clone()) || !self.layers().exists(&l) {
                        break;
                    }
                    next = self.layers().info(&l)?.parent;
                }
            }
        }
        Ok(live)
    }

    /// Deletes the layers and blobs `index` does not reach, sparing pending content.
    /// Called with the index lock held, after `index` was committed.
    pub(crate) fn sweep(&self, index: &IndexFile) -> Result<Removal> {
        let live = self.mark(index)?;
        let pending = self.blobs().pending();
        let mut removal = Removal::default();
        // Top layers first: a crash midway never leaves a layer whose parent is gone.
        let mut layers = self.layers().list()?;
        layers.sort_by_cached_key(|l| {
            std::cmp::Reverse(self.layers().info(l).map_or(0, |i| depth(self, &i.parent)))
        });
        for layer in layers {
            if live.layers.contains(&layer) || pending.spares(&Item::Layer(layer.clone())) {
                continue;
            }
            removal.reclaimed += tree_size(&self.layers().path(&layer))?;
            self.layers().remove(&layer)?;
            removal.layers.push(layer);
        }
        for blob in self.blobs().list()? {
            if live.blobs.contains(&blob) || pending.spares(&Item::Blob(blob.clone())) {
                continue;
            }
            removal.reclaimed += self.blobs().size(&blob)?;
            self.blobs().remove(&blob)?;
            removal.blobs.push(blob);
        }
        Ok(removal)
    }
}

/// How many layers are below a layer whose parent is `parent`.
fn depth(store: &Store, parent: &Option<ChainId>) -> usize {
    let mut n = 0;
    let mut next = parent.clone();
    while let Some(p) = next {
        n += 1;
        next = store.layers().info(&p).ok().and_then(|i| i.parent);
    }
    n
}

impl Removal {
    fn merge(mut self, other: Removal) -> Removal {
        self.untagged.extend(other.untagged);
        self.deleted.extend(other.deleted);
        self.layers.extend(other.layers);
        self.blobs.extend(other.blobs);
        self.reclaimed += other.reclaimed;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{mount_rootfs, DriverKind};
    use crate::layer::fixture::TarFixture;
    use crate::reference::Reference;
    use crate::store::fixture::{build, layer, ImageSpec};
    use std::fs;
    use std::path::Path;

    fn is_root() -> bool {
        nix::unistd::geteuid().is_root()
    }

    /// (entries, bytes of files and symlinks) under `root`, recursively.
    fn measure(root: &Path) -> (usize, u64) {
        let mut entries = 0;
        let mut bytes = 0;
        let mut stack = vec![root.to_owned()];
        while let Some(dir) = stack.pop() {
            for e in fs::read_dir(&dir).unwrap() {
                let e = e.unwrap();
                let m = fs::symlink_metadata(e.path()).unwrap();
                entries += 1;
                if m.is_dir() {
                    stack.push(e.path());
                } else {
                    bytes += m.len();
                }
            }
        }
        (entries, bytes)
    }

    fn spec<'a>(layers: Vec<Vec<u8>>, created: &'a str, tags: &'a [&'a str]) -> ImageSpec<'a> {
        ImageSpec {
            layers,
            created,
            labels: &[],
            tags,
        }
    }

    fn base() -> Vec<u8> {
        layer("etc/os-release", &[b'x'; 5000])
    }

    #[test]
    fn store_returns_to_empty_after_remove_and_prune() {
        if !is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let store = Store::open(&root).unwrap();
        let empty = measure(&root);

        // Three images over one base layer, one of them two layers deep, plus imports.
        build(
            &store,
            &spec(vec![base()], "2024-01-01T00:00:00Z", &["base:1"]),
        );
        build(
            &store,
            &spec(
                vec![base(), layer("app/a", b"aaaa")],
                "2024-01-02T00:00:00Z",
                &["app:a", "app:latest"],
            ),
        );
        build(
            &store,
            &spec(
                vec![base(), layer("app/b", b"bbbb")],
                "2024-01-03T00:00:00Z",
                &["app:b"],
            ),
        );
        let tar = TarFixture::new().file("bin/sh", b"#!").finish();
        store
            .import_rootfs_tar(&tar[..], &Reference::parse("imported").unwrap())
            .unwrap();
        store
            .import_rootfs_tar(&tar[..], &Reference::parse("imported:again").unwrap())
            .unwrap();
        // A rebuild moves a tag: the old image becomes dangling.
        build(
            &store,
            &spec(
                vec![base(), layer("app/b", b"b2")],
                "2024-01-04T00:00:00Z",
                &["app:b"],
            ),
        );
        store
            .tag("app:a", &Reference::parse("mine/app:v1").unwrap())
            .unwrap();
        assert_eq!(fs::read_dir(root.join("layers")).unwrap().count(), 5);
        let usage = store.disk_usage().unwrap();
        // The two imports are one image when made within the same second.
        assert!(matches!(usage.images, 5 | 6), "{usage:?}");
        assert_eq!(usage.reclaimable, usage.size);

        let untag = store.remove_image("app:latest", false).unwrap();
        assert_eq!(untag.untagged, vec!["docker.io/library/app:latest"]);
        assert!(untag.deleted.is_empty() && untag.layers.is_empty());

        let dangling = store.prune(false).unwrap();
        assert_eq!(dangling.deleted.len(), 1, "{dangling:?}");
        assert_eq!(dangling.layers.len(), 1, "only the old app:b layer goes");
        assert!(store.resolve("app:b").is_ok());

        let base_gone = store.remove_image("base:1", false).unwrap();
        assert_eq!(base_gone.deleted.len(), 1);
        assert!(
            base_gone.layers.is_empty(),
            "the base layer is shared: kept"
        );

        let before = store.disk_usage().unwrap();
        let all = store.prune(true).unwrap();
        assert_eq!(all.reclaimed, before.reclaimable);
        assert!(store.list(&Default::default()).unwrap().is_empty());
        assert_eq!(measure(&root), empty);
        drop(store);
        Store::open(&root).unwrap();
        assert_eq!(measure(&root), empty);
    }

    #[test]
    fn holders_keep_layers_until_released() {
        if !is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let store = Store::open(&root).unwrap();
        let empty = measure(&root);
        let (id, _) = build(
            &store,
            &spec(
                vec![base(), layer("a", b"a")],
                "2024-01-01T00:00:00Z",
                &["app"],
            ),
        );
        let image = store.resolve("app").unwrap();
        let chain = image.chain().unwrap();
        store.hold_layers("c1", &chain).unwrap();
        assert!(matches!(
            store.hold_layers("c2", &[ChainId::new(None, &Digest::of(b"none"))]),
            Err(Error::HoldMissingLayer { .. })
        ));
        assert_eq!(store.holders().unwrap()["c1"].len(), 2);

        let err = store.remove_image("app", false).unwrap_err();
        assert!(err.to_string().contains("in use by c1"), "{err}");
        assert!(store.prune(true).unwrap().deleted.is_empty());
        let usage = store.disk_usage().unwrap();
        assert_eq!((usage.active_images, usage.reclaimable), (1, 0));

        let forced = store.remove_image(&id.0.hex()[..12], true).unwrap();
        assert_eq!(forced.deleted, vec![id]);
        assert!(forced.layers.is_empty(), "held layers stay");
        assert!(store.resolve("app").is_err());
        // The container can still mount what it holds.
        let mounted = mount_rootfs(store.layers(), &chain, &dir.path().join("c1")).unwrap();
        assert_eq!(fs::read(mounted.path().join("a")).unwrap(), b"a");
        if mounted.kind() == DriverKind::Overlay {
            mounted.unmount().unwrap();
        }

        let released = store.release("c1").unwrap();
        assert_eq!(released.layers.len(), 2);
        assert_eq!(store.release("c1").unwrap(), Removal::default());
        assert_eq!(measure(&root), empty);
    }

    #[test]
    fn remove_by_id_of_an_image_with_several_tags_needs_force() {
        if !is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (id, _) = build(
            &store,
            &spec(vec![base()], "2024-01-01T00:00:00Z", &["a:1", "b:1"]),
        );
        let err = store.remove_image(&id.to_string(), false).unwrap_err();
        assert!(matches!(err, Error::ImageConflict { .. }), "{err}");
        let removal = store.remove_image(&id.to_string(), true).unwrap();
        assert_eq!(removal.untagged.len(), 2);
        assert_eq!(removal.blobs.len(), 3, "manifest, config, layer");
        assert!(matches!(
            store.remove_image("a:1", false),
            Err(Error::ImageNotFound { .. })
        ));
    }

    #[test]
    fn recovery_removes_debris_and_keeps_every_image() {
        if !is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let store = Store::open(&root).unwrap();
        let empty = measure(&root);
        build(
            &store,
            &spec(
                vec![base(), layer("a", b"a")],
                "2024-01-01T00:00:00Z",
                &["app"],
            ),
        );
        let before = measure(&root);
        // An import that failed midway: its blob stays, spared while the process lives.
        let hostile = TarFixture::new().file("../x", b"y").finish();
        assert!(store
            .import_rootfs_tar(&hostile[..], &Reference::parse("evil").unwrap())
            .is_err());
        assert!(store.prune(false).unwrap().blobs.is_empty());
        drop(store);

        // What a daemon killed at any point can leave behind.
        fs::write(root.join("tmp/blob-half"), b"partial").unwrap();
        fs::create_dir_all(root.join("tmp/layer-abc/diff/usr")).unwrap();
        fs::write(root.join("tmp/layer-abc/diff/usr/f"), b"f").unwrap();
        fs::create_dir_all(root.join("tmp/removing-x/layer/diff")).unwrap();
        fs::write(root.join(".tmp-index"), b"{\"refer").unwrap();
        let torn = root.join("layers").join(Digest::of(b"torn").hex());
        fs::create_dir_all(torn.join("diff")).unwrap();
        // A whole layer and a blob that no image names (removal interrupted).
        let orphan = layer("orphan", b"o");
        let info = LayerStoreHandle::open(&root)
            .unwrap()
            .unpack(None, None, &orphan[..])
            .unwrap();
        fs::write(
            root.join("blobs/sha256").join(Digest::of(&orphan).hex()),
            &orphan,
        )
        .unwrap();

        let store = Store::open(&root).unwrap();
        assert_eq!(fs::read_dir(root.join("tmp")).unwrap().count(), 0);
        assert!(!root.join(".tmp-index").exists() && !torn.exists());
        assert!(!store.layers().exists(&info.chain_id));
        assert_eq!(measure(&root), before);
        let image = store.resolve("app").unwrap();
        let mounted = mount_rootfs(
            store.layers(),
            &image.chain().unwrap(),
            &dir.path().join("c"),
        )
        .unwrap();
        assert_eq!(fs::read(mounted.path().join("a")).unwrap(), b"a");
        if mounted.kind() == DriverKind::Overlay {
            mounted.unmount().unwrap();
        }
        // While one Store has the root open, another open recovers nothing: the debris
        // could be the first one's work in progress.
        fs::write(root.join("tmp/blob-in-progress"), b"partial").unwrap();
        drop(Store::open(&root).unwrap());
        assert!(root.join("tmp/blob-in-progress").exists());
        drop(store);
        let store = Store::open(&root).unwrap();
        assert!(!root.join("tmp/blob-in-progress").exists());
        store.remove_image("app", false).unwrap();
        assert_eq!(measure(&root), empty);
    }

    type LayerStoreHandle = crate::store::layers::LayerStore;

    #[test]
    fn index_refuses_an_image_whose_content_was_collected() {
        if !is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (_, manifest) = build(&store, &spec(vec![base()], "2024-01-01T00:00:00Z", &["x"]));
        let chain = store.resolve("x").unwrap().chain().unwrap();
        store.untag(&Reference::parse("x").unwrap()).unwrap();
        // As if a collection by another process ran between an import's writes and its
        // publish: the layer is gone.
        store.layers().remove(&chain[0]).unwrap();
        let err = store
            .images()
            .set(&Reference::parse("x").unwrap(), &manifest)
            .unwrap_err();
        assert!(matches!(err, Error::IncompleteImage { .. }), "{err}");
        assert!(err.to_string().contains("layer"), "{err}");
    }

    #[test]
    fn pending_content_is_spared_until_published() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let d = store.blobs().put_bytes(b"being imported").unwrap();
        assert!(store.prune(true).unwrap().blobs.is_empty());
        assert!(store.blobs().exists(&d));
        assert_eq!(store.disk_usage().unwrap().reclaimable, 0);
        // Another process (no shared pending set) reopening after us collects it.
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert!(!store.blobs().exists(&d));
    }
}
