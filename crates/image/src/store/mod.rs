//! The on-disk store under one root directory:
//!
//! ```text
//! <root>/blobs/sha256/<hex>      content-addressed blobs (layers, configs, manifests)
//! <root>/layers/<chain hex>/     unpacked layers: diff/ and layer.json
//! <root>/images.json             reference → manifest digest
//! <root>/tmp/                    work in progress, on the same filesystem for renames
//! ```

pub(crate) mod atomic;
pub mod blobs;
pub mod images;
pub mod layers;

use std::path::{Path, PathBuf};

use crate::error::Result;
use blobs::BlobStore;
use images::ImageIndex;
use layers::LayerStore;

#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    blobs: BlobStore,
    layers: LayerStore,
    images: ImageIndex,
}

impl Store {
    /// Opens the store at `root`, creating its directories if needed.
    pub fn open(root: &Path) -> Result<Store> {
        Ok(Store {
            root: root.to_owned(),
            blobs: BlobStore::open(root)?,
            layers: LayerStore::open(root)?,
            images: ImageIndex::open(root)?,
        })
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
