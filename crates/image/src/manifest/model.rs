//! The JSON documents that tie an image together: descriptors, image manifests and indexes
//! (manifest lists). OCI and Docker schema 2 share one shape, so one model reads both; the
//! media type tells them apart. Parsing is strict where a wrong guess would load the wrong
//! thing (schema version, media types) and lenient elsewhere (unknown fields are ignored,
//! as both specs require). The bytes a manifest came from are what the store keeps: these
//! types are for reading them, and for writing manifests berth makes itself.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::media_type::{self, Flavor, Kind};
use crate::manifest::platform::Platform;

/// Points at a blob: what it is, its digest and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

impl Descriptor {
    pub fn new(media_type: &str, digest: Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.to_owned(),
            digest,
            size,
            urls: Vec::new(),
            annotations: BTreeMap::new(),
            platform: None,
            artifact_type: None,
        }
    }

    /// What the descriptor points at, if its media type is known.
    pub fn kind(&self) -> Option<Kind> {
        media_type::classify(&self.media_type)
    }
}

/// An image manifest: a config and layers, bottom first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    /// Required by Docker schema 2; optional (but recommended) in OCI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image index (OCI) or manifest list (Docker): manifests, usually one per platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A parsed manifest-like document.
// Parsed once per document and short-lived: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    Manifest(Flavor, Manifest),
    Index(Flavor, Index),
}

/// Only the fields that say what a document is.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    schema_version: Option<u32>,
    media_type: Option<String>,
    manifests: Option<serde::de::IgnoredAny>,
    config: Option<serde::de::IgnoredAny>,
}

fn decode(what: &'static str, bytes: &[u8], reason: impl ToString) -> Error {
    Error::Decode {
        what,
        digest: Digest::of(bytes),
        reason: reason.to_string(),
    }
}

impl Document {
    /// Parses a manifest or index. `declared` is the media type of the descriptor that
    /// named it, if any: it must agree with the document's own `mediaType` when both are
    /// given. Without either, the shape decides (an OCI document may omit its media type).
    pub fn parse(bytes: &[u8], declared: Option<&str>) -> Result<Document> {
        let what = "manifest";
        let probe: Probe = serde_json::from_slice(bytes).map_err(|e| decode(what, bytes, e))?;
        let media_type = match (declared, probe.media_type.as_deref()) {
            (Some(d), Some(own)) if d != own => {
                return Err(decode(
                    what,
                    bytes,
                    format!("descriptor says {d:?} but the document says {own:?}"),
                ))
            }
            (Some(m), _) | (None, Some(m)) => m.to_owned(),
            (None, None) if probe.manifests.is_some() => media_type::OCI_INDEX.to_owned(),
            (None, None) if probe.config.is_some() => media_type::OCI_MANIFEST.to_owned(),
            (None, None) => {
                return Err(decode(what, bytes, "neither a manifest nor an index"));
            }
        };
        if media_type == media_type::DOCKER_SCHEMA1
            || media_type == media_type::DOCKER_SCHEMA1_SIGNED
        {
            return Err(decode(
                what,
                bytes,
                format!("docker schema 1 ({media_type}) is deprecated and not supported"),
            ));
        }
        if probe.schema_version != Some(2) {
            return Err(decode(
                what,
                bytes,
                format!("schemaVersion {:?}, expected 2", probe.schema_version),
            ));
        }
        match media_type::classify(&media_type) {
            Some(Kind::Manifest(flavor)) => {
                let m: Manifest =
                    serde_json::from_slice(bytes).map_err(|e| decode(what, bytes, e))?;
                Ok(Document::Manifest(flavor, m))
            }
            Some(Kind::Index(flavor)) => {
                let i: Index = serde_json::from_slice(bytes).map_err(|e| decode(what, bytes, e))?;
                Ok(Document::Index(flavor, i))
            }
            _ => Err(decode(
                what,
                bytes,
                format!("unknown media type {media_type:?} for a manifest or index"),
            )),
        }
    }
}

impl Manifest {
    /// A manifest of `flavor` for a config and layers.
    pub fn new(flavor: Flavor, config: Descriptor, layers: Vec<Descriptor>) -> Manifest {
        Manifest {
            schema_version: 2,
            media_type: Some(
                match flavor {
                    Flavor::Oci => media_type::OCI_MANIFEST,
                    Flavor::Docker => media_type::DOCKER_MANIFEST,
                }
                .to_owned(),
            ),
            artifact_type: None,
            config,
            layers,
            subject: None,
            annotations: BTreeMap::new(),
        }
    }

    /// Checks that this manifest describes a container image berth can run: an image
    /// config and layers of known media types. Reason on failure.
    pub fn check_image(&self) -> std::result::Result<(), String> {
        match self.config.kind() {
            Some(Kind::Config(_)) => {}
            _ => {
                return Err(format!(
                    "config media type {:?} is not an image config",
                    self.config.media_type
                ))
            }
        }
        for (i, layer) in self.layers.iter().enumerate() {
            if !matches!(layer.kind(), Some(Kind::Layer { .. })) {
                return Err(format!(
                    "layer {i} ({}): unknown layer media type {:?}",
                    layer.digest, layer.media_type
                ));
            }
        }
        Ok(())
    }

    pub fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| Error::Encode {
            what: "image manifest",
            reason: e.to_string(),
        })
    }
}

impl Index {
    pub fn new(flavor: Flavor, manifests: Vec<Descriptor>) -> Index {
        Index {
            schema_version: 2,
            media_type: Some(
                match flavor {
                    Flavor::Oci => media_type::OCI_INDEX,
                    Flavor::Docker => media_type::DOCKER_MANIFEST_LIST,
                }
                .to_owned(),
            ),
            artifact_type: None,
            manifests,
            subject: None,
            annotations: BTreeMap::new(),
        }
    }

    pub fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| Error::Encode {
            what: "image index",
            reason: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::media_type::*;

    const DOCKER: &str = r#"{
       "schemaVersion": 2,
       "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
       "config": {
          "mediaType": "application/vnd.docker.container.image.v1+json",
          "size": 1469,
          "digest": "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
       },
       "layers": [
          {
             "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
             "size": 2479,
             "digest": "sha256:2db29710123e3e53a794f2694094b9b4338aa9ee5c40b930cb8063a1be392c54"
          }
       ]
    }"#;

    const LIST: &str = r#"{
      "schemaVersion": 2,
      "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
      "manifests": [
        {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 527,
         "digest": "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "platform": {"architecture": "arm", "os": "linux", "variant": "v7"}},
        {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 527,
         "digest": "sha256:2db29710123e3e53a794f2694094b9b4338aa9ee5c40b930cb8063a1be392c54",
         "platform": {"architecture": "amd64", "os": "linux", "os.features": ["x"]}}
      ]
    }"#;

    #[test]
    fn reads_docker_schema2_and_lists() {
        let Document::Manifest(Flavor::Docker, m) =
            Document::parse(DOCKER.as_bytes(), None).unwrap()
        else {
            panic!("not a docker manifest")
        };
        m.check_image().unwrap();
        assert_eq!(m.config.media_type, DOCKER_CONFIG);
        assert_eq!(m.layers[0].size, 2479);
        let Document::Index(Flavor::Docker, i) =
            Document::parse(LIST.as_bytes(), Some(DOCKER_MANIFEST_LIST)).unwrap()
        else {
            panic!("not a list")
        };
        assert_eq!(i.manifests.len(), 2);
        let p = i.manifests[1].platform.as_ref().unwrap();
        assert_eq!(p.os_features, vec!["x".to_owned()]);
    }

    #[test]
    fn writes_and_rereads_oci() {
        let config = Descriptor::new(OCI_CONFIG, Digest::of(b"c"), 1);
        let layer = Descriptor::new(OCI_LAYER_ZSTD, Digest::of(b"l"), 1);
        let m = Manifest::new(Flavor::Oci, config, vec![layer]);
        let json = m.to_json().unwrap();
        assert_eq!(
            Document::parse(&json, Some(OCI_MANIFEST)).unwrap(),
            Document::Manifest(Flavor::Oci, m.clone())
        );
        let mut d = Descriptor::new(OCI_MANIFEST, Digest::of(&json), json.len() as u64);
        d.platform = Some(Platform::new("linux", "arm64", Some("v8")));
        let index = Index::new(Flavor::Oci, vec![d]);
        let json = index.to_json().unwrap();
        assert!(String::from_utf8_lossy(&json).contains(r#""variant":"v8""#));
        assert_eq!(
            Document::parse(&json, None).unwrap(),
            Document::Index(Flavor::Oci, index)
        );
    }

    #[test]
    fn refuses_what_it_cannot_load() {
        let e = Document::parse(DOCKER.as_bytes(), Some(OCI_MANIFEST)).unwrap_err();
        assert!(e.to_string().contains("descriptor says"), "{e}");
        let schema1 = r#"{"schemaVersion":1,"mediaType":"application/vnd.docker.distribution.manifest.v1+prettyjws"}"#;
        let e = Document::parse(schema1.as_bytes(), None).unwrap_err();
        assert!(e.to_string().contains("schema 1"), "{e}");
        let odd = r#"{"schemaVersion":2,"mediaType":"application/x-odd","config":{}}"#;
        let e = Document::parse(odd.as_bytes(), None).unwrap_err();
        assert!(e.to_string().contains("application/x-odd"), "{e}");
        let bad_layer = DOCKER.replace(DOCKER_LAYER_GZIP, "application/x-layer");
        let Document::Manifest(_, m) = Document::parse(bad_layer.as_bytes(), None).unwrap() else {
            panic!()
        };
        assert!(m.check_image().unwrap_err().contains("application/x-layer"));
        let bad_digest = DOCKER.replace("sha256:e3b0", "sha256:E3B0");
        assert!(Document::parse(bad_digest.as_bytes(), None).is_err());
    }
}
