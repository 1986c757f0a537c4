//! The docker-archive format (Docker image spec v1.2, what `docker save` writes and
//! `podman save --format docker-archive` too): `manifest.json`, a list of
//! `{Config, RepoTags, Layers}` naming files of the tarball; the config as
//! `<id>.json` (or `blobs/sha256/<hex>` since Docker 25); each layer an uncompressed tar,
//! `<layer id>/layer.tar`; and the legacy `repositories` map. There is no registry
//! manifest in it, so loading makes an OCI manifest for the config and layers found.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::archive::load::{config_diff_ids, layer_plan, Plan};
use crate::archive::{label, ArchiveError, Result, Staging};
use crate::digest::Digest;
use crate::manifest::media_type::{layer_media_type, OCI_CONFIG};
use crate::manifest::{Descriptor, Flavor, Manifest};
use crate::reference::Reference;

/// One image of `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestEntry {
    #[serde(rename = "Config")]
    pub config: String,
    /// `null` for an untagged image.
    #[serde(rename = "RepoTags", default)]
    pub repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    pub layers: Vec<String>,
}

/// `repositories`: familiar repository name → tag → top layer id.
pub type Repositories = BTreeMap<String, BTreeMap<String, String>>;

/// The digest a file name states, when it is named by one: `<hex>.json`, `<hex>.tar`,
/// `blobs/sha256/<hex>`.
fn digest_in_name(name: &str) -> Option<Digest> {
    let base = name.rsplit('/').next()?;
    let hex = base
        .strip_suffix(".json")
        .or_else(|| base.strip_suffix(".tar"))
        .unwrap_or(base);
    Digest::from_hex(hex).ok()
}

/// Checks the archive's images and makes their plans.
pub(crate) fn plans(staging: &mut Staging) -> Result<Vec<Plan>> {
    let manifest = staging
        .get("manifest.json")?
        .ok_or_else(|| ArchiveError::Format("no manifest.json".to_owned()))?;
    let entries: Vec<ManifestEntry> = serde_json::from_slice(&manifest.read_all()?)
        .map_err(|e| ArchiveError::Format(format!("parse manifest.json: {e}")))?;
    if entries.is_empty() {
        return Err(ArchiveError::Format(
            "manifest.json lists no image".to_owned(),
        ));
    }
    let mut plans = Vec::with_capacity(entries.len());
    for (n, entry) in entries.iter().enumerate() {
        let names = entry
            .repo_tags
            .iter()
            .flatten()
            .map(|t| {
                Reference::parse(t).map_err(|e| {
                    ArchiveError::Format(format!("manifest.json image {n}: repo tag {t:?}: {e}"))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let fallback = format!("image {n} of manifest.json ({})", entry.config);
        let image = label(&names, None, &fallback);
        let missing = |what: &str, name: &str| ArchiveError::Missing {
            image: image.clone(),
            what: what.to_owned(),
            name: name.to_owned(),
        };
        let config = staging
            .get(&entry.config)?
            .ok_or_else(|| missing("config", &entry.config))?;
        if let Some(named) = digest_in_name(&entry.config) {
            if named != config.digest {
                return Err(ArchiveError::Mismatch {
                    image,
                    what: "config".to_owned(),
                    name: entry.config.clone(),
                    expected: named.to_string(),
                    actual: config.digest.to_string(),
                });
            }
        }
        let image = label(
            &names,
            Some(&crate::ImageId(config.digest.clone())),
            &fallback,
        );
        let diff_ids = config_diff_ids(&image, &config, entry.layers.len())?;
        let mut layers = Vec::with_capacity(entry.layers.len());
        for (name, diff_id) in entry.layers.iter().zip(diff_ids) {
            let blob = staging.get(name)?.ok_or_else(|| ArchiveError::Missing {
                image: image.clone(),
                what: "layer".to_owned(),
                name: name.clone(),
            })?;
            // Only a blob path names the content; `<hex>.tar` names the DiffID, which
            // `layer_plan` checks for an uncompressed layer.
            if name.starts_with("blobs/") {
                if let Some(named) = digest_in_name(name).filter(|d| d != &blob.digest) {
                    return Err(ArchiveError::Mismatch {
                        image,
                        what: "layer".to_owned(),
                        name: name.clone(),
                        expected: named.to_string(),
                        actual: blob.digest.to_string(),
                    });
                }
            }
            layers.push(layer_plan(&image, name.clone(), blob, diff_id)?);
        }
        let manifest = synthesize(&config, &layers)?;
        plans.push(Plan {
            names,
            label: image,
            manifest_digest: Digest::of(&manifest),
            manifest,
            config,
            layers,
        });
    }
    Ok(plans)
}

/// The OCI manifest of an image loaded from a docker archive: deterministic, so loading
/// the same archive twice (or a re-save of it) gives the same manifest digest.
fn synthesize(
    config: &crate::archive::Staged,
    layers: &[crate::archive::load::LayerPlan],
) -> Result<Vec<u8>> {
    let m = Manifest::new(
        Flavor::Oci,
        Descriptor::new(OCI_CONFIG, config.digest.clone(), config.size),
        layers
            .iter()
            .map(|l| {
                Descriptor::new(
                    layer_media_type(Flavor::Oci, l.compression),
                    l.blob.digest.clone(),
                    l.blob.size,
                )
            })
            .collect(),
    );
    Ok(m.to_json()?)
}

/// A reference as Docker writes it in `RepoTags`: `busybox:latest`, `quay.io/x/y:1`.
pub fn familiar_name(r: &Reference) -> String {
    if r.domain() == "docker.io" {
        match r.path().strip_prefix("library/") {
            Some(p) if !p.contains('/') => p.to_owned(),
            _ => r.path().to_owned(),
        }
    } else {
        r.name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn familiar_names_drop_docker_hub_defaults() {
        let f = |s| familiar_name(&Reference::parse(s).unwrap());
        assert_eq!(f("busybox"), "busybox");
        assert_eq!(f("docker.io/user/app:1"), "user/app");
        assert_eq!(f("localhost/busybox:latest"), "localhost/busybox");
        assert_eq!(f("quay.io/a/b"), "quay.io/a/b");
    }

    #[test]
    fn digests_in_names() {
        let d = Digest::of(b"x");
        assert_eq!(
            digest_in_name(&format!("{}.json", d.hex())),
            Some(d.clone())
        );
        assert_eq!(
            digest_in_name(&format!("blobs/sha256/{}", d.hex())),
            Some(d)
        );
        assert_eq!(digest_in_name("abc/layer.tar"), None);
    }
}
