//! The image model: an image is a manifest naming a config and layer blobs; its id is the
//! config's digest (as Docker's is), because the config pins every layer by DiffID.

use std::fmt;

use oci_spec::image::{ImageConfiguration, ImageManifest};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::reference::Reference;
use crate::store::layers::ChainId;
use crate::store::Store;

/// An image's id: the digest of its config.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageId(pub Digest);

impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// An image of the store, resolved from a reference.
#[derive(Debug, Clone)]
pub struct Image {
    pub id: ImageId,
    pub manifest_digest: Digest,
    pub manifest: ImageManifest,
    pub config: ImageConfiguration,
}

impl Image {
    /// The chain IDs of the image's layers, bottom first: what a driver mounts.
    pub fn chain(&self) -> Result<Vec<ChainId>> {
        let diff_ids = self
            .config
            .rootfs()
            .diff_ids()
            .iter()
            .map(|d| d.parse())
            .collect::<Result<Vec<Digest>>>()?;
        Ok(ChainId::chain(&diff_ids))
    }
}

impl Store {
    /// Resolves a reference to its image, reading and verifying manifest and config.
    pub fn image(&self, reference: &Reference) -> Result<Option<Image>> {
        let Some(manifest_digest) = self.images().get(reference)? else {
            return Ok(None);
        };
        let decode = |what, digest: &Digest| {
            let digest = digest.clone();
            move |e: serde_json::Error| Error::Decode {
                what,
                digest,
                reason: e.to_string(),
            }
        };
        let manifest: ImageManifest = serde_json::from_slice(&self.blobs().read(&manifest_digest)?)
            .map_err(decode("image manifest", &manifest_digest))?;
        let config_digest: Digest = manifest.config().digest().to_string().parse()?;
        let config: ImageConfiguration =
            serde_json::from_slice(&self.blobs().read(&config_digest)?)
                .map_err(decode("image config", &config_digest))?;
        Ok(Some(Image {
            id: ImageId(config_digest),
            manifest_digest,
            manifest,
            config,
        }))
    }
}
