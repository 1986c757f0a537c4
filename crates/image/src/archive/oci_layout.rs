//! The OCI image layout (image-spec `image-layout.md`): `oci-layout` with the layout
//! version, `index.json` listing the images, every blob at `blobs/<alg>/<hex>`. Loading
//! verifies each blob against the descriptor that names it (digest and size) and keeps
//! manifests and configs byte for byte, so an image's digests survive a round trip.
//!
//! Names: `index.json` descriptors carry `io.containerd.image.name` (a full reference, as
//! Docker and containerd write it) and/or `org.opencontainers.image.ref.name`, which is a
//! full reference for some tools and just a tag for others; a bare tag names nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::archive::load::{config_diff_ids, layer_plan, Plan};
use crate::archive::{ArchiveError, Result, Staged, Staging};
use crate::digest::Digest;
use crate::manifest::{select, Descriptor, Document, Kind, Platform};
use crate::reference::Reference;

pub const LAYOUT_FILE: &str = "oci-layout";
pub const INDEX_FILE: &str = "index.json";
pub const LAYOUT_VERSION: &str = "1.0.0";
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
pub const ANNOTATION_CONTAINERD_NAME: &str = "io.containerd.image.name";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LayoutFile {
    pub image_layout_version: String,
}

/// The path of a blob inside a layout.
pub fn blob_path(digest: &Digest) -> String {
    format!("blobs/{}/{}", Digest::ALGORITHM, digest.hex())
}

/// The reference a descriptor of `index.json` names, if any.
pub fn name_of(d: &Descriptor) -> Option<Reference> {
    if let Some(n) = d.annotations.get(ANNOTATION_CONTAINERD_NAME) {
        if let Ok(r) = Reference::parse(n) {
            return Some(r);
        }
    }
    let n = d.annotations.get(ANNOTATION_REF_NAME)?;
    // "latest" or "v1" alone is a tag of no repository.
    if !n.contains(['/', ':', '@']) {
        return None;
    }
    Reference::parse(n).ok()
}

/// The annotations berth writes for `r` on an `index.json` descriptor.
pub fn annotations_for(r: &Reference) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert(ANNOTATION_CONTAINERD_NAME.to_owned(), r.to_string());
    if let Some(tag) = r.tag() {
        a.insert(ANNOTATION_REF_NAME.to_owned(), tag.to_owned());
    }
    a
}

/// Fetches a blob and checks it is what the descriptor says.
fn fetch(staging: &mut Staging, image: &str, what: &str, d: &Descriptor) -> Result<Staged> {
    let name = blob_path(&d.digest);
    let blob = staging.get(&name)?.ok_or_else(|| ArchiveError::Missing {
        image: image.to_owned(),
        what: format!("{what} {}", d.digest),
        name: name.clone(),
    })?;
    let mismatch = |expected: String, actual: String| ArchiveError::Mismatch {
        image: image.to_owned(),
        what: what.to_owned(),
        name: name.clone(),
        expected,
        actual,
    };
    if blob.digest != d.digest {
        return Err(mismatch(d.digest.to_string(), blob.digest.to_string()));
    }
    if blob.size != d.size {
        return Err(mismatch(
            format!("{} bytes", d.size),
            format!("{} bytes", blob.size),
        ));
    }
    Ok(blob)
}

/// Checks the layout's images and makes their plans (one per manifest, however many
/// names it has).
pub(crate) fn plans(staging: &mut Staging, platform: &Platform) -> Result<Vec<Plan>> {
    let layout = staging
        .get(LAYOUT_FILE)?
        .ok_or_else(|| ArchiveError::Format("no oci-layout".to_owned()))?;
    let layout: LayoutFile = serde_json::from_slice(&layout.read_all()?)
        .map_err(|e| ArchiveError::Format(format!("parse oci-layout: {e}")))?;
    if !layout.image_layout_version.starts_with("1.") {
        return Err(ArchiveError::Format(format!(
            "oci-layout version {:?} is not supported (1.x is)",
            layout.image_layout_version
        )));
    }
    let index = staging
        .get(INDEX_FILE)?
        .ok_or_else(|| ArchiveError::Format("no index.json".to_owned()))?;
    let index_bytes = index.read_all()?;
    let index = match Document::parse(&index_bytes, None) {
        Ok(Document::Index(_, i)) => i,
        Ok(Document::Manifest(..)) => {
            return Err(ArchiveError::Format(
                "index.json is a manifest, not an index".to_owned(),
            ))
        }
        Err(e) => return Err(ArchiveError::Format(format!("index.json: {e}"))),
    };
    if index.manifests.is_empty() {
        return Err(ArchiveError::Format("index.json lists no image".to_owned()));
    }
    let mut plans: Vec<Plan> = Vec::new();
    for (n, top) in index.manifests.iter().enumerate() {
        let names: Vec<Reference> = name_of(top).into_iter().collect();
        let image = match names.first() {
            Some(r) => r.to_string(),
            None => format!("image {n} of index.json ({})", top.digest),
        };
        let plan = plan_for(staging, &image, top, platform, 0)?;
        match plans
            .iter_mut()
            .find(|p| p.manifest_digest == plan.manifest_digest)
        {
            Some(p) => {
                for r in names {
                    if !p.names.contains(&r) {
                        p.names.push(r);
                    }
                }
            }
            None => plans.push(Plan { names, ..plan }),
        }
    }
    Ok(plans)
}

fn plan_for(
    staging: &mut Staging,
    image: &str,
    d: &Descriptor,
    platform: &Platform,
    depth: u32,
) -> Result<Plan> {
    let bad = |reason: String| ArchiveError::Image {
        image: image.to_owned(),
        reason,
    };
    match d.kind() {
        Some(Kind::Manifest(_) | Kind::Index(_)) => {}
        _ => {
            return Err(bad(format!(
                "{}: unknown media type {:?} for a manifest",
                d.digest, d.media_type
            )))
        }
    }
    let blob = fetch(staging, image, "manifest", d)?;
    let bytes = blob.read_all()?;
    match Document::parse(&bytes, Some(&d.media_type)).map_err(|e| bad(e.to_string()))? {
        Document::Index(_, index) => {
            if depth >= 4 {
                return Err(bad("indexes nested more than 4 deep".to_owned()));
            }
            let Some(chosen) = select(&index.manifests, platform) else {
                let have: Vec<String> = index
                    .manifests
                    .iter()
                    .filter_map(|m| m.platform.as_ref().map(|p| p.to_string()))
                    .collect();
                return Err(bad(format!(
                    "index {} has no manifest for {platform} (it has: {})",
                    d.digest,
                    have.join(", ")
                )));
            };
            let chosen = chosen.clone();
            plan_for(staging, image, &chosen, platform, depth + 1)
        }
        Document::Manifest(_, m) => {
            m.check_image()
                .map_err(|reason| bad(format!("manifest {}: {reason}", d.digest)))?;
            let config = fetch(staging, image, "config", &m.config)?;
            let diff_ids = config_diff_ids(image, &config, m.layers.len())?;
            let mut layers = Vec::with_capacity(m.layers.len());
            for (i, (l, diff_id)) in m.layers.iter().zip(diff_ids).enumerate() {
                let blob = fetch(staging, image, &format!("layer {i}"), l)?;
                layers.push(layer_plan(image, blob_path(&l.digest), blob, diff_id)?);
            }
            Ok(Plan {
                names: Vec::new(),
                label: image.to_owned(),
                manifest: bytes,
                manifest_digest: d.digest.clone(),
                config,
                layers,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_annotations() {
        let mut d = Descriptor::new(
            crate::manifest::media_type::OCI_MANIFEST,
            Digest::of(b""),
            0,
        );
        assert_eq!(name_of(&d), None);
        d.annotations
            .insert(ANNOTATION_REF_NAME.into(), "latest".into());
        assert_eq!(name_of(&d), None);
        d.annotations
            .insert(ANNOTATION_REF_NAME.into(), "localhost/app:1".into());
        assert_eq!(name_of(&d).unwrap().to_string(), "localhost/app:1");
        let r = Reference::parse("busybox:1").unwrap();
        d.annotations = annotations_for(&r);
        assert_eq!(name_of(&d), Some(r));
        assert_eq!(d.annotations[ANNOTATION_REF_NAME], "1");
    }
}
