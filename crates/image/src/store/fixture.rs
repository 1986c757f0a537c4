//! Builds multi-layer images in tests the way a pull would store them (blobs, unpacked
//! chain, config, manifest, then the index), so tests can share layers between images
//! and choose created times, labels and history.

use serde_json::{json, Value};

use crate::digest::Digest;
use crate::image::ImageId;
use crate::layer::fixture::TarFixture;
use crate::reference::Reference;
use crate::store::Store;

pub(crate) struct ImageSpec<'a> {
    /// Layer archives, bottom first; each is stored gzip-free as its own blob.
    pub layers: Vec<Vec<u8>>,
    pub created: &'a str,
    pub labels: &'a [(&'a str, &'a str)],
    /// References to set; empty leaves the image unnamed (dangling).
    pub tags: &'a [&'a str],
}

/// A layer archive with one file, `name`, holding `content`.
pub(crate) fn layer(name: &str, content: &[u8]) -> Vec<u8> {
    TarFixture::new().file(name, content).finish()
}

/// Stores the image and returns (id, manifest digest).
pub(crate) fn build(store: &Store, spec: &ImageSpec<'_>) -> (ImageId, Digest) {
    let mut parent = None;
    let mut diff_ids = Vec::new();
    let mut descriptors = Vec::new();
    let mut history = Vec::new();
    for (i, tar) in spec.layers.iter().enumerate() {
        let blob = store.blobs().put_bytes(tar).unwrap();
        let diff_id = Digest::of(tar);
        let info = store
            .layers()
            .unpack(parent.as_ref(), Some(&diff_id), &tar[..])
            .unwrap();
        parent = Some(info.chain_id);
        diff_ids.push(diff_id.to_string());
        descriptors.push(json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": blob.to_string(),
            "size": tar.len(),
        }));
        history.push(json!({
            "created": spec.created,
            "created_by": format!("/bin/sh -c #(nop) ADD layer{i}"),
            "comment": format!("layer {i}"),
        }));
        history.push(json!({
            "created": spec.created,
            "created_by": "/bin/sh -c #(nop) ENV X=1",
            "empty_layer": true,
        }));
    }
    let labels: serde_json::Map<String, Value> = spec
        .labels
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    let config = json!({
        "created": spec.created,
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/bin:/bin"],
            "Cmd": ["/bin/sh"],
            "WorkingDir": "/srv",
            "ExposedPorts": {"80/tcp": {}},
            "Labels": labels,
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    });
    let config_json = serde_json::to_vec(&config).unwrap();
    let config_digest = store.blobs().put_bytes(&config_json).unwrap();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest.to_string(),
            "size": config_json.len(),
        },
        "layers": descriptors,
    });
    let manifest_digest = store
        .blobs()
        .put_bytes(&serde_json::to_vec(&manifest).unwrap())
        .unwrap();
    if spec.tags.is_empty() {
        // An unnamed image: a reference set and forgotten leaves its record.
        let scratch = Reference::parse("berth-fixture-scratch:x").unwrap();
        store.images().set(&scratch, &manifest_digest).unwrap();
        store.images().remove(&scratch).unwrap();
    }
    for t in spec.tags {
        store
            .images()
            .set(&Reference::parse(t).unwrap(), &manifest_digest)
            .unwrap();
    }
    (ImageId(config_digest), manifest_digest)
}
