//! `docker image inspect` and `docker history`. Inspect is a JSON value shaped like the
//! Docker Engine API's (field names, `null` for what the image does not set) so the API
//! server can pass it on and scripts using `--format '{{.Config.Env}}'` keep working.

use serde_json::{json, Map, Value};

use crate::error::Result;
use crate::image::{parse_rfc3339, ImageId};
use crate::list::familiar;
use crate::reference::Reference;
use crate::store::Store;

/// Docker prints this for images never tagged (Go's zero time).
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// A row of `docker history`, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    /// The image's id on the top row; `None` (`<missing>`) below, as Docker shows for
    /// steps that are not images of this store.
    pub id: Option<ImageId>,
    pub created: Option<String>,
    pub created_unix: Option<i64>,
    pub created_by: String,
    /// Uncompressed size of the layer the step made; 0 for an empty layer.
    pub size: u64,
    pub comment: String,
    pub empty_layer: bool,
}

impl Store {
    /// `docker image inspect` of what `ref_or_id` selects.
    pub fn inspect(&self, ref_or_id: &str) -> Result<Value> {
        let index = self.images().snapshot()?;
        let selected = self.select(&index, ref_or_id)?;
        let manifest = &selected.manifests[0];
        let image = self.load_image(manifest)?;
        let refs: Vec<Reference> = selected
            .manifests
            .iter()
            .flat_map(|m| index.references_of(m))
            .filter_map(|r| Reference::parse(&r).ok())
            .collect();
        let repo_tags: Vec<String> = refs
            .iter()
            .filter(|r| r.digest().is_none())
            .map(familiar)
            .collect();
        let repo_digests: Vec<String> = refs
            .iter()
            .filter(|r| r.digest().is_some())
            .map(familiar)
            .collect();
        let config = &image.config;
        let c = config.config().clone().unwrap_or_default();
        let as_map = |keys: &Option<Vec<String>>| {
            keys.as_ref().map(|keys| {
                Value::Object(
                    keys.iter()
                        .map(|k| (k.clone(), Value::Object(Map::new())))
                        .collect(),
                )
            })
        };
        let labels = c.labels().as_ref().map(|l| {
            Value::Object(
                l.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect::<Map<_, _>>(),
            )
        });
        let comment = config
            .history()
            .as_ref()
            .and_then(|h| h.last())
            .and_then(|h| h.comment().clone())
            .unwrap_or_default();
        let last_tag_time = index
            .images
            .get(manifest)
            .and_then(|r| r.last_tag_time.clone())
            .unwrap_or_else(|| ZERO_TIME.to_owned());
        let layers: Vec<&String> = config.rootfs().diff_ids().iter().collect();
        let mut out = json!({
            "Id": image.id.to_string(),
            "RepoTags": repo_tags,
            "RepoDigests": repo_digests,
            "Parent": "",
            "Comment": comment,
            "Created": config.created().clone().unwrap_or_else(|| ZERO_TIME.to_owned()),
            "DockerVersion": "",
            "Author": config.author().clone().unwrap_or_default(),
            "Config": {
                "User": c.user().clone().unwrap_or_default(),
                "ExposedPorts": as_map(c.exposed_ports()),
                "Env": c.env(),
                "Cmd": c.cmd(),
                "Entrypoint": c.entrypoint(),
                "Volumes": as_map(c.volumes()),
                "WorkingDir": c.working_dir().clone().unwrap_or_default(),
                "Labels": labels,
                "StopSignal": c.stop_signal(),
            },
            "Architecture": config.architecture().to_string(),
            "Os": config.os().to_string(),
            "Size": self.image_size(&image)?,
            "RootFS": { "Type": "layers", "Layers": layers },
            "Metadata": { "LastTagTime": last_tag_time },
            "Descriptor": {
                "mediaType": image.manifest.media_type().as_ref().map(|m| m.to_string()),
                "digest": image.manifest_digest.to_string(),
                "size": self.blobs().size(&image.manifest_digest)?,
            },
        });
        if let Some(variant) = config.variant() {
            out["Variant"] = Value::String(variant.clone());
        }
        // Docker's config keys the OCI model does not have, read from the config as stored.
        if let Ok(raw) = self.blobs().read(&image.id.0) {
            if let Ok(raw) = serde_json::from_slice::<Value>(&raw) {
                for key in ["Healthcheck", "OnBuild", "Shell"] {
                    if let Some(v) = raw.pointer(&format!("/config/{key}")).filter(|v| !v.is_null()) {
                        out["Config"][key] = v.clone();
                    }
                }
            }
        }
        if c.stop_signal().is_none() {
            if let Some(cfg) = out["Config"].as_object_mut() {
                cfg.remove("StopSignal");
            }
        }
        Ok(out)
    }

    /// `docker history` of what `ref_or_id` selects, newest step first. Steps marked
    /// `empty_layer` made no layer; the others take the image's layers in order.
    pub fn history(&self, ref_or_id: &str) -> Result<Vec<HistoryRow>> {
        let image = self.resolve(ref_or_id)?;
        let sizes: Vec<u64> = image
            .chain()?
            .iter()
            .map(|l| self.layers().info(l).map_or(0, |i| i.tar_size))
            .collect();
        let mut sizes = sizes.into_iter();
        let mut rows: Vec<HistoryRow> = match image.config.history() {
            Some(history) if !history.is_empty() => history
                .iter()
                .map(|h| {
                    let empty_layer = h.empty_layer().unwrap_or(false);
                    HistoryRow {
                        id: None,
                        created_unix: h.created().as_deref().and_then(parse_rfc3339),
                        created: h.created().clone(),
                        created_by: h.created_by().clone().unwrap_or_default(),
                        size: if empty_layer {
                            0
                        } else {
                            sizes.next().unwrap_or(0)
                        },
                        comment: h.comment().clone().unwrap_or_default(),
                        empty_layer,
                    }
                })
                .collect(),
            // No history: one anonymous step per layer, as Docker shows.
            _ => sizes
                .map(|size| HistoryRow {
                    id: None,
                    created: image.config.created().clone(),
                    created_unix: image.config.created().as_deref().and_then(parse_rfc3339),
                    created_by: String::new(),
                    size,
                    comment: String::new(),
                    empty_layer: false,
                })
                .collect(),
        };
        rows.reverse();
        if let Some(top) = rows.first_mut() {
            top.id = Some(image.id.clone());
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixture::{build, layer, ImageSpec};

    #[test]
    fn inspect_and_history_like_docker() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (l0, l1) = (layer("a", &[b'a'; 700]), layer("b", b"b"));
        let (id, manifest) = build(
            &store,
            &ImageSpec {
                layers: vec![l0.clone(), l1.clone()],
                created: "2024-02-01T00:00:00Z",
                labels: &[("k", "v")],
                tags: &["app:1"],
            },
        );
        let v = store.inspect("app:1").unwrap();
        assert_eq!(v["Id"], id.to_string());
        assert_eq!(v["RepoTags"], json!(["app:1"]));
        assert_eq!(v["RepoDigests"], json!([]));
        assert_eq!(v["Created"], "2024-02-01T00:00:00Z");
        assert_eq!(v["Config"]["Env"], json!(["PATH=/usr/bin:/bin"]));
        assert_eq!(v["Config"]["Cmd"], json!(["/bin/sh"]));
        assert_eq!(v["Config"]["Entrypoint"], Value::Null);
        assert_eq!(v["Config"]["WorkingDir"], "/srv");
        assert_eq!(v["Config"]["User"], "");
        assert_eq!(v["Config"]["Labels"], json!({"k": "v"}));
        assert_eq!(v["Config"]["ExposedPorts"], json!({"80/tcp": {}}));
        assert_eq!(v["Config"]["Volumes"], Value::Null);
        assert_eq!(
            (v["Architecture"].as_str(), v["Os"].as_str()),
            (Some("amd64"), Some("linux"))
        );
        assert_eq!(v["Size"], (l0.len() + l1.len()) as u64);
        assert_eq!(v["RootFS"]["Type"], "layers");
        assert_eq!(
            v["RootFS"]["Layers"],
            json!([
                crate::Digest::of(&l0).to_string(),
                crate::Digest::of(&l1).to_string()
            ])
        );
        assert_eq!(v["Descriptor"]["digest"], manifest.to_string());
        let tagged = v["Metadata"]["LastTagTime"].as_str().unwrap();
        assert!(parse_rfc3339(tagged).unwrap() > 1_700_000_000, "{tagged}");
        assert_eq!(store.inspect(&id.0.hex()[..8]).unwrap()["Id"], v["Id"]);
        assert!(store.inspect("missing").is_err());

        let rows = store.history("app:1").unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].id, Some(id));
        assert!(rows[1..].iter().all(|r| r.id.is_none()));
        // Newest first: ENV (empty), ADD layer1, ENV (empty), ADD layer0.
        assert!(rows[0].empty_layer && rows[0].size == 0);
        assert_eq!(rows[1].created_by, "/bin/sh -c #(nop) ADD layer1");
        assert_eq!(rows[1].size, l1.len() as u64);
        assert_eq!(rows[3].size, l0.len() as u64);
        assert_eq!(rows[3].comment, "layer 0");
        assert_eq!(rows[3].created_unix, Some(1_706_745_600));
    }

    #[test]
    fn imported_image_without_tags_inspects_with_zero_tag_time() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let tar = crate::layer::fixture::TarFixture::new()
            .file("x", b"1")
            .finish();
        let r = Reference::parse("imp").unwrap();
        let id = store.import_rootfs_tar(&tar[..], &r).unwrap();
        store.untag(&r).unwrap();
        let v = store.inspect(&id.to_string()).unwrap();
        assert_eq!(v["RepoTags"], json!([]));
        assert_eq!(v["Comment"], "imported from tarball");
        let rows = store.history(&id.to_string()).unwrap();
        assert_eq!(
            (rows.len(), rows[0].created_by.as_str()),
            (1, "berth import")
        );
    }
}
