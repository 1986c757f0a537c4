//! What an image record keeps alive, and what is in flight.
//!
//! Garbage collection is mark and sweep: everything reachable from an image record (its
//! manifest, config, layer blobs and unpacked chain) or held by a container is live, the
//! rest is deleted. Two things make that safe while the daemon works:
//! - content an import has written but not yet published in the index is *pending*: the
//!   sweep spares it, until the index names it or it has waited [`PENDING_GRACE`] (a failed
//!   import's leftovers are then collected);
//! - the index refuses to publish an image whose manifest, config or layers are gone (see
//!   [`walk`]), so a sweep by another process can make an import fail, never leave a broken
//!   image behind.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::store::blobs::BlobStore;
use crate::store::layers::{ChainId, LayerStore};

/// How long written content that no image names is spared by the sweep.
pub const PENDING_GRACE: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Item {
    Blob(Digest),
    Layer(ChainId),
}

/// Content written (or found already there) by an operation of this process that has not
/// been published yet. Shared by the clones of one [`crate::Store`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Pending(Arc<Mutex<HashMap<Item, Instant>>>);

impl Pending {
    pub(crate) fn add(&self, item: Item) {
        self.lock().insert(item, Instant::now());
    }

    pub(crate) fn publish(&self, content: &Content) {
        let mut map = self.lock();
        for d in &content.blobs {
            map.remove(&Item::Blob(d.clone()));
        }
        for l in &content.layers {
            map.remove(&Item::Layer(l.clone()));
        }
    }

    /// Whether the sweep must spare `item`; forgets entries past the grace period.
    pub(crate) fn spares(&self, item: &Item) -> bool {
        let mut map = self.lock();
        match map.get(item) {
            Some(at) if at.elapsed() < PENDING_GRACE => true,
            Some(_) => {
                map.remove(item);
                false
            }
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Item, Instant>> {
        // A panic while holding this map cannot leave it inconsistent: take it anyway.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Everything one image record reaches.
#[derive(Debug, Default, Clone)]
pub(crate) struct Content {
    /// Manifest (or index), config and layer blobs present in the store.
    pub blobs: BTreeSet<Digest>,
    /// The chain, bottom first.
    pub layers: Vec<ChainId>,
    /// What the image needs and the store lacks: the manifest, config or an unpacked layer
    /// (compressed layer blobs are not needed to run an image).
    pub missing: Vec<String>,
}

/// Follows a manifest (or an image index, into the children present) to its content.
pub(crate) fn walk(blobs: &BlobStore, layers: &LayerStore, manifest: &Digest) -> Result<Content> {
    let mut content = Content::default();
    walk_into(blobs, layers, manifest, &mut content, true)?;
    Ok(content)
}

fn walk_into(
    blobs: &BlobStore,
    layers: &LayerStore,
    manifest: &Digest,
    out: &mut Content,
    required: bool,
) -> Result<()> {
    if !blobs.exists(manifest) {
        if required {
            out.missing.push(format!("manifest {manifest}"));
        }
        return Ok(());
    }
    out.blobs.insert(manifest.clone());
    let doc = parse(blobs, manifest, "image manifest")?;
    if let Some(children) = doc.get("manifests").and_then(Value::as_array) {
        for child in children {
            if let Some(d) = digest_field(child, manifest, "image index")? {
                walk_into(blobs, layers, &d, out, false)?;
            }
        }
    }
    for layer in doc
        .get("layers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(d) = digest_field(layer, manifest, "image manifest")? {
            if blobs.exists(&d) {
                out.blobs.insert(d);
            }
        }
    }
    let Some(config) = doc
        .get("config")
        .map(|c| digest_field(c, manifest, "image manifest"))
        .transpose()?
        .flatten()
    else {
        return Ok(());
    };
    if !blobs.exists(&config) {
        out.missing.push(format!("config {config}"));
        return Ok(());
    }
    out.blobs.insert(config.clone());
    let config_doc = parse(blobs, &config, "image config")?;
    let diff_ids = config_doc
        .pointer("/rootfs/diff_ids")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|d| {
            d.as_str()
                .ok_or_else(|| decode_err("image config", &config, "diff id is not a string"))?
                .parse()
        })
        .collect::<Result<Vec<Digest>>>()?;
    for chain_id in ChainId::chain(&diff_ids) {
        if !layers.exists(&chain_id) {
            out.missing.push(format!("layer {chain_id}"));
        }
        out.layers.push(chain_id);
    }
    Ok(())
}

fn parse(blobs: &BlobStore, digest: &Digest, what: &'static str) -> Result<Value> {
    serde_json::from_slice(&blobs.read(digest)?)
        .map_err(|e| decode_err(what, digest, &e.to_string()))
}

fn digest_field(descriptor: &Value, parent: &Digest, what: &'static str) -> Result<Option<Digest>> {
    match descriptor.get("digest") {
        None => Ok(None),
        Some(Value::String(s)) => s.parse().map(Some),
        Some(_) => Err(decode_err(
            what,
            parent,
            "descriptor digest is not a string",
        )),
    }
}

fn decode_err(what: &'static str, digest: &Digest, reason: &str) -> Error {
    Error::Decode {
        what,
        digest: digest.clone(),
        reason: reason.to_owned(),
    }
}
