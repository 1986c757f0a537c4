//! Storage drivers: turning a stack of unpacked layers into a container's root filesystem.
//!
//! Overlay when the kernel has it (detected at run time), a full copy otherwise. Either way
//! the layers stay read-only and the container's writes land in its own directory.

pub mod copy;
pub mod overlay;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use nix::mount::{umount2, MntFlags};

use crate::error::{Error, Result};
use crate::store::atomic;
use crate::store::layers::{ChainId, LayerStore};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverKind {
    Overlay,
    Copy,
}

impl DriverKind {
    /// Overlay if this kernel can mount it, else copy.
    pub fn detect() -> DriverKind {
        if overlay::supported() {
            DriverKind::Overlay
        } else {
            DriverKind::Copy
        }
    }
}

/// A container's root filesystem, ready at [`MountedRoot::path`]. An overlay is unmounted
/// when this is dropped (lazily, so a busy mount cannot make a drop fail) or by
/// [`MountedRoot::unmount`], which reports errors.
#[derive(Debug)]
pub struct MountedRoot {
    kind: DriverKind,
    path: PathBuf,
    upper: PathBuf,
    mounted: bool,
}

impl MountedRoot {
    /// Where the merged root filesystem is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the container's own changes are: the overlay's upper directory, or the whole
    /// copied root for the copy driver.
    pub fn changes(&self) -> &Path {
        &self.upper
    }

    pub fn kind(&self) -> DriverKind {
        self.kind
    }

    /// Leaves the root mounted beyond this value's life (a daemon keeps a running
    /// container's root mounted across its own restarts) and returns where it is; the
    /// caller unmounts it by path.
    pub fn keep_mounted(mut self) -> PathBuf {
        self.mounted = false;
        std::mem::take(&mut self.path)
    }

    pub fn unmount(mut self) -> Result<()> {
        if self.mounted {
            self.mounted = false;
            umount2(&self.path, MntFlags::empty()).map_err(|e| Error::Unmount {
                target: self.path.clone(),
                source: e.into(),
            })?;
        }
        Ok(())
    }
}

impl Drop for MountedRoot {
    fn drop(&mut self) {
        if self.mounted {
            // Nothing to report to from a drop; a detach always succeeds on a mount point.
            let _ = umount2(&self.path, MntFlags::MNT_DETACH);
        }
    }
}

/// Builds the root filesystem of the layers `layers` (bottom first, the order of an
/// image's `rootfs.diff_ids`) in `container_dir`, with the driver this host supports.
pub fn mount_rootfs(
    store: &LayerStore,
    layers: &[ChainId],
    container_dir: &Path,
) -> Result<MountedRoot> {
    mount_rootfs_with(DriverKind::detect(), store, layers, container_dir)
}

/// [`mount_rootfs`] with a chosen driver.
///
/// Overlay: `<container_dir>/{upper,work,merged}`, mounted on `merged`; an existing upper
/// directory is reused, so a container's changes survive a remount.
/// Copy: `<container_dir>/rootfs`, built afresh unless it already exists.
pub fn mount_rootfs_with(
    kind: DriverKind,
    store: &LayerStore,
    layers: &[ChainId],
    container_dir: &Path,
) -> Result<MountedRoot> {
    let mut diffs = Vec::with_capacity(layers.len());
    for id in layers {
        if !store.exists(id) {
            return Err(Error::LayerNotFound(id.digest().clone()));
        }
        diffs.push(store.diff_path(id));
    }
    match kind {
        DriverKind::Overlay => {
            let upper = container_dir.join("upper");
            let work = container_dir.join("work");
            let merged = container_dir.join("merged");
            for d in [&upper, &work, &merged] {
                atomic::create_dir(d)?;
            }
            // overlayfs needs at least one lower layer; an image with none gets an empty one.
            if diffs.is_empty() {
                let empty = container_dir.join("empty");
                atomic::create_dir(&empty)?;
                diffs.push(empty);
            }
            diffs.reverse();
            overlay::mount_overlay(&diffs, &upper, &work, &merged).map_err(|source| {
                Error::Mount {
                    target: merged.clone(),
                    source,
                }
            })?;
            Ok(MountedRoot {
                kind,
                path: merged,
                upper,
                mounted: true,
            })
        }
        DriverKind::Copy => {
            let rootfs = container_dir.join("rootfs");
            if !rootfs.exists() {
                // Built beside and renamed, so an interrupted copy is never taken as done.
                let partial = container_dir.join("rootfs.partial");
                let copy_err = |source: io::Error| Error::CopyLayer {
                    path: partial.clone(),
                    source,
                };
                if partial.exists() {
                    fs::remove_dir_all(&partial).map_err(copy_err)?;
                }
                atomic::create_dir(&partial)?;
                copy::build(&diffs, &partial).map_err(copy_err)?;
                fs::rename(&partial, &rootfs).map_err(copy_err)?;
            }
            Ok(MountedRoot {
                kind,
                upper: rootfs.clone(),
                path: rootfs,
                mounted: false,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::fixture::{self, Entry, TarFixture};
    use crate::layer::whiteout;

    fn is_root() -> bool {
        nix::unistd::geteuid().is_root()
    }

    fn mounted(path: &Path) -> bool {
        let mounts = fs::read_to_string("/proc/self/mounts").unwrap();
        let p = path.to_str().unwrap();
        mounts.lines().any(|l| l.split(' ').nth(1) == Some(p))
    }

    /// Layer 1 has etc/{keep,gone} and opt/old; layer 2 deletes etc/gone; layer 3 makes opt
    /// opaque and adds opt/new.
    fn three_layers(store: &LayerStore) -> Vec<ChainId> {
        let tars = [
            TarFixture::new()
                .dir("etc/")
                .file("etc/keep", b"keep")
                .file("etc/gone", b"gone")
                .dir("opt/")
                .file("opt/old", b"old")
                .hardlink("etc/keep-link", "etc/keep")
                .entry(Entry {
                    path: "bin/ping",
                    mode: 0o755,
                    xattrs: &[("security.capability", &fixture::cap_net_bind())],
                    ..Entry::default()
                })
                .finish(),
            TarFixture::new()
                .dir("etc/")
                .file("etc/.wh.gone", b"")
                .finish(),
            TarFixture::new()
                .dir("opt/")
                .file("opt/.wh..wh..opq", b"")
                .file("opt/new", b"new")
                .finish(),
        ];
        let mut chain: Vec<ChainId> = Vec::new();
        for t in &tars {
            let info = store.unpack(chain.last(), None, &t[..]).unwrap();
            chain.push(info.chain_id);
        }
        chain
    }

    fn assert_merged_view(root: &Path) {
        assert_eq!(fs::read(root.join("etc/keep")).unwrap(), b"keep");
        assert!(
            !root.join("etc/gone").exists(),
            "whiteout of layer 2 ignored"
        );
        assert!(
            !root.join("opt/old").exists(),
            "opaque dir of layer 3 shows layer 1"
        );
        assert_eq!(fs::read(root.join("opt/new")).unwrap(), b"new");
        assert_eq!(fs::read(root.join("etc/keep-link")).unwrap(), b"keep");
        // No whiteout devices or markers leak into the container's view.
        let names: Vec<_> = fs::read_dir(root.join("etc"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn overlay_merges_whiteouts_and_opaque_dirs_and_writes_go_up() {
        if !is_root() || !overlay::supported() {
            eprintln!("skipped: needs root and overlayfs");
            return;
        }
        // Declared first so it is dropped last, after the mount guard has unmounted.
        let dir = tempfile::tempdir().unwrap();
        let store = LayerStore::open(&dir.path().join("store")).unwrap();
        let chain = three_layers(&store);
        let container = dir.path().join("c1");
        let root = mount_rootfs_with(DriverKind::Overlay, &store, &chain, &container).unwrap();
        assert_eq!(root.kind(), DriverKind::Overlay);
        assert!(mounted(root.path()));
        assert_merged_view(root.path());

        fs::write(root.path().join("etc/written"), b"w").unwrap();
        fs::remove_file(root.path().join("etc/keep")).unwrap();
        assert_eq!(fs::read(container.join("upper/etc/written")).unwrap(), b"w");
        assert!(whiteout::is_whiteout(
            &fs::symlink_metadata(container.join("upper/etc/keep")).unwrap()
        ));
        for id in &chain {
            assert!(
                !store.diff_path(id).join("etc/written").exists(),
                "write reached a layer"
            );
        }
        assert_eq!(
            fs::read(store.diff_path(&chain[0]).join("etc/keep")).unwrap(),
            b"keep"
        );

        let path = root.path().to_owned();
        root.unmount().unwrap();
        assert!(!mounted(&path));
    }

    #[test]
    fn overlay_unmounts_on_drop() {
        if !is_root() || !overlay::supported() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let store = LayerStore::open(&dir.path().join("store")).unwrap();
        let chain = three_layers(&store);
        let path = {
            let root = mount_rootfs(&store, &chain, &dir.path().join("c")).unwrap();
            root.path().to_owned()
        };
        assert!(!mounted(&path));
    }

    #[test]
    fn overlay_mounts_more_layers_than_mount_options_can_name() {
        if !is_root() || !overlay::supported() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let store = LayerStore::open(&dir.path().join("store")).unwrap();
        let mut chain: Vec<ChainId> = Vec::new();
        for i in 0..120 {
            let t = TarFixture::new()
                .file(&format!("f{i}"), format!("{i}").as_bytes())
                .finish();
            chain.push(store.unpack(chain.last(), None, &t[..]).unwrap().chain_id);
        }
        let total: usize = chain
            .iter()
            .map(|c| store.diff_path(c).as_os_str().len() + 1)
            .sum();
        assert!(
            total > 4096,
            "the test must exceed a page of lowerdir paths"
        );
        let root =
            mount_rootfs_with(DriverKind::Overlay, &store, &chain, &dir.path().join("c")).unwrap();
        assert_eq!(fs::read(root.path().join("f0")).unwrap(), b"0");
        assert_eq!(fs::read(root.path().join("f119")).unwrap(), b"119");
        root.unmount().unwrap();
    }

    #[test]
    fn copy_driver_gives_the_same_view() {
        if !is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let store = LayerStore::open(&dir.path().join("store")).unwrap();
        let chain = three_layers(&store);
        let container = dir.path().join("c");
        let root = mount_rootfs_with(DriverKind::Copy, &store, &chain, &container).unwrap();
        assert_eq!(root.path(), container.join("rootfs"));
        assert_merged_view(root.path());
        assert!(!whiteout::is_opaque(&root.path().join("opt")).unwrap());
        // File capabilities survive the copy (a chown after setting them would drop them).
        let cap = fixture::getxattr(&root.path().join("bin/ping"), "security.capability");
        assert_eq!(cap, Some(fixture::cap_net_bind()));
        fs::write(root.path().join("etc/keep"), b"changed").unwrap();
        assert_eq!(
            fs::read(store.diff_path(&chain[0]).join("etc/keep")).unwrap(),
            b"keep"
        );
        root.unmount().unwrap();
    }

    #[test]
    fn missing_layer_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = LayerStore::open(dir.path()).unwrap();
        let ghost = ChainId::new(None, &crate::Digest::of(b"ghost"));
        let err = mount_rootfs(&store, &[ghost], &dir.path().join("c")).unwrap_err();
        assert!(matches!(err, Error::LayerNotFound(_)));
    }
}
