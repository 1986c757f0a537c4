//! A step's root filesystem: the layers so far mounted with a fresh, empty upper layer
//! (what RUN writes into and COPY unpacks into), removed with everything in it when the
//! step is done, also when it fails.

use std::fs;
use std::path::{Path, PathBuf};

use berth_image::{mount_rootfs, Image, MountedRoot, Store};

use crate::error::{Error, Result};

#[derive(Debug)]
pub struct StepRoot {
    dir: PathBuf,
    upper: PathBuf,
    merged: PathBuf,
    mounted: Option<MountedRoot>,
}

/// Twelve random hex digits: a step container's id, as Docker's short ids look.
pub fn random_id() -> String {
    let mut b = [0u8; 6];
    if let Ok(mut f) = fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut b);
    }
    hex::encode(b)
}

impl StepRoot {
    /// Mounts `image`'s layers (none for scratch) in a new directory under `work_dir`.
    pub fn mount(store: &Store, image: Option<&Image>, work_dir: &Path, id: &str) -> Result<StepRoot> {
        let dir = work_dir.join(id);
        fs::create_dir_all(&dir).map_err(Error::io("create step directory", &dir))?;
        let chain = match image {
            Some(i) => i.chain()?,
            None => Vec::new(),
        };
        let mut root = StepRoot { upper: PathBuf::new(), merged: PathBuf::new(), dir, mounted: None };
        let m = mount_rootfs(store.layers(), &chain, &root.dir)?;
        root.upper = m.changes().to_owned();
        root.merged = m.path().to_owned();
        root.mounted = Some(m);
        Ok(root)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The merged root, as a container sees it.
    pub fn merged(&self) -> &Path {
        &self.merged
    }

    /// The step's changes (valid to read once [`StepRoot::unmount`] returned).
    pub fn upper(&self) -> &Path {
        &self.upper
    }

    pub fn unmount(&mut self) -> Result<()> {
        match self.mounted.take() {
            Some(m) => Ok(m.unmount()?),
            None => Ok(()),
        }
    }
}

impl Drop for StepRoot {
    fn drop(&mut self) {
        // A lazy unmount first (MountedRoot's drop), then the directory: a step that
        // failed halfway leaves nothing behind.
        drop(self.mounted.take());
        let _ = fs::remove_dir_all(&self.dir);
    }
}
