//! `docker system df` for images: how much the store holds and how much a `prune -a`
//! would give back. Shared content is counted once, as it is stored once, so the figures
//! add up to what the data root really takes (and to what [`Store::prune`] reclaims).

use std::fs;
use std::path::Path;

use crate::error::{Error, Result};
use crate::store::content::{self, Item};
use crate::store::layers::ChainId;
use crate::store::Store;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskUsage {
    /// Image records, tagged or dangling.
    pub images: usize,
    /// Images a holder (a container) uses.
    pub active_images: usize,
    /// Bytes of every unpacked layer and blob in the store.
    pub size: u64,
    /// Bytes `prune(true)` would free now.
    pub reclaimable: u64,
    pub blobs: usize,
    pub blobs_size: u64,
    /// Every unpacked layer, bottom layers first.
    pub layers: Vec<LayerUsage>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerUsage {
    pub chain_id: ChainId,
    /// Apparent size of the layer's files.
    pub size: u64,
    /// How many image records' chains contain it.
    pub images: usize,
    /// Holders keeping it.
    pub held_by: Vec<String>,
}

impl Store {
    pub fn disk_usage(&self) -> Result<DiskUsage> {
        let tx = self.images().begin()?;
        let index = &tx.index;
        let mut kept = index.clone();
        kept.references.clear();
        let mut active_images = 0;
        let mut chains = Vec::new();
        for manifest in index.images.keys() {
            chains.push(content::walk(self.blobs(), self.layers(), manifest)?.layers);
            if self.users_of(index, manifest)?.is_empty() {
                kept.images.remove(manifest);
            } else {
                active_images += 1;
            }
        }
        let after_prune = self.mark(&kept)?;
        let pending = self.blobs().pending();

        let mut usage = DiskUsage {
            images: index.images.len(),
            active_images,
            size: 0,
            reclaimable: 0,
            blobs: 0,
            blobs_size: 0,
            layers: Vec::new(),
        };
        for chain_id in self.layers().list()? {
            let size = tree_size(&self.layers().path(&chain_id))?;
            usage.size += size;
            if !after_prune.layers.contains(&chain_id)
                && !pending.spares(&Item::Layer(chain_id.clone()))
            {
                usage.reclaimable += size;
            }
            usage.layers.push(LayerUsage {
                images: chains.iter().filter(|c| c.contains(&chain_id)).count(),
                held_by: index
                    .holders
                    .iter()
                    .filter(|(_, held)| held.contains(&chain_id))
                    .map(|(owner, _)| owner.clone())
                    .collect(),
                size,
                chain_id,
            });
        }
        // Bottom first: a layer's position in the longest chain that has it.
        usage.layers.sort_by_key(|l| {
            chains
                .iter()
                .filter_map(|c| c.iter().position(|x| x == &l.chain_id))
                .max()
        });
        for blob in self.blobs().list()? {
            let size = self.blobs().size(&blob)?;
            usage.blobs += 1;
            usage.blobs_size += size;
            usage.size += size;
            if !after_prune.blobs.contains(&blob) && !pending.spares(&Item::Blob(blob.clone())) {
                usage.reclaimable += size;
            }
        }
        Ok(usage)
    }
}

/// The apparent size of a tree: the lengths of its files and symlinks (directories'
/// own sizes are the filesystem's bookkeeping, and never shrink on ext4).
pub(crate) fn tree_size(path: &Path) -> Result<u64> {
    let err = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Measure { path, source }
    };
    let meta = fs::symlink_metadata(path).map_err(err(path))?;
    if !meta.is_dir() {
        return Ok(if meta.is_file() || meta.file_type().is_symlink() {
            meta.len()
        } else {
            0
        });
    }
    let mut total = 0;
    for entry in fs::read_dir(path).map_err(err(path))? {
        total += tree_size(&entry.map_err(err(path))?.path())?;
    }
    Ok(total)
}
