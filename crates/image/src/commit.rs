//! `docker commit` and a build's layer step: a new image made of a parent image's layers
//! plus one layer holding a container's changes (its overlay upper directory), with a new
//! config.
//!
//! Same order as an import, for the same reason: the layer blob, the unpacked layer, the
//! config and the manifest are each stored atomically (and protected from collection while
//! pending) before the reference is written to the index, so an interrupted commit leaves
//! only unreferenced content, never a visible half image.
//!
//! The new layer is stored uncompressed (`application/vnd.oci.image.layer.v1.tar`, or
//! Docker's `…rootfs.diff.tar`): its blob digest is then its DiffID, the tar is written
//! once and hashed once, and no CPU is spent on gzip for a layer that may never leave this
//! host (Docker keeps local layers uncompressed too; compressing is a push's business).
//!
//! The config is edited as JSON, not through a typed model: the parent's fields this crate
//! does not model (Docker's `Healthcheck`, `OnBuild`, `Shell`, vendor keys) must survive.

use std::fs::File;
use std::io::{Seek, Write};
use std::path::Path;

use serde_json::{json, Map, Value};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::{Image, ImageId};
use crate::reference::Reference;
use crate::store::Store;

/// What a commit records besides the layer.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// The `config` object of the new image (Docker's container config JSON: `Env`,
    /// `Cmd`, `Entrypoint`, `WorkingDir`, `User`, `Labels`, `ExposedPorts`, …).
    pub config: Value,
    pub author: Option<String>,
    pub comment: Option<String>,
    /// The history entry's `created_by` (`/bin/sh -c apt-get install …`).
    pub created_by: String,
    /// Tag for the new image; `None` records it untagged.
    pub reference: Option<Reference>,
    /// A metadata-only step: no new layer, a history entry with `empty_layer: true`.
    pub empty_layer: bool,
    /// The caller is done with `upper` (a build step's, unmounted): it may be moved into
    /// the layer store as the new layer instead of the layer being unpacked from its tar.
    pub adopt_upper: bool,
}

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";

fn encode(what: &'static str) -> impl Fn(String) -> Error {
    move |reason| Error::Encode { what, reason }
}

/// The commit operation of [`Store`]. A trait rather than an inherent method only because
/// `archive/load.rs` already has a private inherent `Store::commit` (publishing a load's
/// plans), and two inherent methods cannot share a name; with `use berth_image::Commit`
/// the call reads `store.commit(parent, upper, &opts)` all the same.
pub trait Commit {
    /// Commits the changes in `upper` (an overlay upper directory of a container created
    /// from `parent`, or from nothing for `FROM scratch`) as a new image, returning its id.
    /// With `opts.empty_layer`, `upper` is not read.
    fn commit(&self, parent: Option<&Image>, upper: &Path, opts: &CommitOptions)
        -> Result<ImageId>;
}

impl Commit for Store {
    /// Commits the changes in `upper` (an overlay upper directory of a container created
    /// from `parent`, or from nothing for `FROM scratch`) as a new image, returning its id.
    /// With `opts.empty_layer`, `upper` is not read.
    fn commit(
        &self,
        parent: Option<&Image>,
        upper: &Path,
        opts: &CommitOptions,
    ) -> Result<ImageId> {
        if let Some(reference) = opts.reference.as_ref().filter(|r| r.digest().is_some()) {
            return Err(Error::ParseReference {
                input: reference.to_string(),
                reason: "a commit is tagged, a digest cannot be chosen".to_owned(),
            });
        }
        if !opts.config.is_object() && !opts.config.is_null() {
            return Err(encode("image config")(
                "the container config is not a JSON object".to_owned(),
            ));
        }
        // The parent's documents as stored, so nothing they carry is lost in a round trip.
        let (mut config, parent_manifest) = match parent {
            Some(p) => (
                self.raw_json(&p.id.0, "image config")?,
                Some(self.raw_json(&p.manifest_digest, "image manifest")?),
            ),
            None => (scratch_config()?, None),
        };
        let docker = parent_manifest.as_ref().is_some_and(|m| {
            m.pointer("/config/mediaType").and_then(Value::as_str) == Some(DOCKER_CONFIG)
        });
        let mut layers: Vec<Value> = parent_manifest
            .as_ref()
            .and_then(|m| m.get("layers"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();

        let created = crate::image::rfc3339_now();
        let mut new_diff_id = None;
        if !opts.empty_layer {
            let chain = match parent {
                Some(p) => p.chain()?,
                None => Vec::new(),
            };
            // The tar goes to a temp file of the store (its tmp/ is emptied by recovery, so
            // a crash leaves nothing) and is then stored verified against the DiffID
            // computed while it was written.
            let tmp_dir = self.root().join("tmp");
            let write_err = |source| Error::WriteBlob {
                path: tmp_dir.clone(),
                source,
            };
            let mut tmp = tempfile::Builder::new()
                .prefix("commit-")
                .tempfile_in(&tmp_dir)
                .map_err(write_err)?;
            let diff_id = {
                let mut out = std::io::BufWriter::with_capacity(256 << 10, tmp.as_file_mut());
                let d = crate::export::export_changes(upper, &mut out)?;
                out.flush().map_err(write_err)?;
                d
            };
            tmp.as_file_mut().rewind().map_err(write_err)?;
            let blob = self.blobs().put_stream(tmp.as_file_mut(), Some(&diff_id))?;
            let size = self.blobs().size(&blob)?;
            drop(tmp);
            let tar_size = size;
            let adopted = opts.adopt_upper
                && adoptable()
                && self.layers().adopt(chain.last(), upper, &diff_id, tar_size).is_ok();
            if !adopted {
                // Unpacked from the stored blob, the bytes the image names.
                let stored: File = self.blobs().get(&blob)?;
                self.layers().unpack(
                    chain.last(),
                    Some(&diff_id),
                    std::io::BufReader::new(stored),
                )?;
            }
            layers.push(json!({
                "mediaType": if docker { DOCKER_LAYER } else { OCI_LAYER },
                "digest": blob.to_string(),
                "size": size,
            }));
            new_diff_id = Some(diff_id);
        }

        edit_config(&mut config, opts, &created, new_diff_id.as_ref())?;
        let config_json =
            serde_json::to_vec(&config).map_err(|e| encode("image config")(e.to_string()))?;
        let config_digest = self.blobs().put_bytes(&config_json)?;

        let (manifest_type, config_type) = if docker {
            (DOCKER_MANIFEST, DOCKER_CONFIG)
        } else {
            (OCI_MANIFEST, OCI_CONFIG)
        };
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": {
                "mediaType": config_type,
                "digest": config_digest.to_string(),
                "size": config_json.len(),
            },
            "layers": layers,
        });
        let manifest_json =
            serde_json::to_vec(&manifest).map_err(|e| encode("image manifest")(e.to_string()))?;
        let manifest_digest = self.blobs().put_bytes(&manifest_json)?;

        // Read back through the same path every other command uses before anyone can see
        // it: a config the model cannot parse (a bad `config` from the caller) fails here,
        // not later in `docker images`.
        let image = self.load_image(&manifest_digest)?;
        let chain = image.chain()?;
        if let Some(top) = chain.last() {
            if !self.layers().exists(top) {
                return Err(Error::LayerNotFound(top.digest().clone()));
            }
        }

        match &opts.reference {
            Some(r) => self.images().set(r, &manifest_digest)?,
            None => self.images().add_untagged(&manifest_digest)?,
        }
        Ok(ImageId(config_digest))
    }
}

impl Store {
    fn raw_json(&self, digest: &Digest, what: &'static str) -> Result<Value> {
        serde_json::from_slice(&self.blobs().read(digest)?).map_err(|e| Error::Decode {
            what,
            digest: digest.clone(),
            reason: e.to_string(),
        })
    }
}

/// An upper directory is a layer as the store keeps them (whiteouts as 0/0 devices, opaque
/// directories by xattr) unless overlayfs wrote redirects or metadata-only copies into it,
/// which the export to a tar does not follow either; those are off by default, and a host
/// that turns them on gets its layers unpacked from the tar instead.
fn adoptable() -> bool {
    ["redirect_dir", "metacopy"].iter().all(|p| {
        std::fs::read_to_string(format!("/sys/module/overlay/parameters/{p}")).map_or(true, |v| v.trim() == "N")
    })
}

/// The config of an image with no parent: this host's platform, no layers yet.
fn scratch_config() -> Result<Value> {
    let enc = encode("image config");
    let arch =
        serde_json::to_value(oci_spec::image::Arch::default()).map_err(|e| enc(e.to_string()))?;
    let os =
        serde_json::to_value(oci_spec::image::Os::default()).map_err(|e| enc(e.to_string()))?;
    Ok(json!({
        "architecture": arch,
        "os": os,
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [],
    }))
}

/// The parent's config turned into the child's: new container config, creation time and
/// author, one more DiffID (unless empty) and one more history entry.
fn edit_config(
    config: &mut Value,
    opts: &CommitOptions,
    created: &str,
    diff_id: Option<&Digest>,
) -> Result<()> {
    let bad = |what: &str| encode("image config")(format!("the parent's {what} is malformed"));
    let obj = config.as_object_mut().ok_or_else(|| bad("config"))?;
    let container_config = match &opts.config {
        Value::Null => Value::Object(Map::new()),
        v => v.clone(),
    };
    obj.insert("config".to_owned(), container_config);
    obj.insert("created".to_owned(), Value::String(created.to_owned()));
    // The author is the committer's, not inherited; so are the committing container's
    // details, which a parent from Docker may carry and would be stale here.
    match &opts.author {
        Some(a) if !a.is_empty() => {
            obj.insert("author".to_owned(), Value::String(a.clone()));
        }
        _ => {
            obj.remove("author");
        }
    }
    obj.remove("container");
    obj.remove("container_config");

    let rootfs = obj
        .entry("rootfs")
        .or_insert_with(|| json!({"type": "layers", "diff_ids": []}))
        .as_object_mut()
        .ok_or_else(|| bad("rootfs"))?;
    let diff_ids = rootfs
        .entry("diff_ids")
        .or_insert_with(|| Value::Array(Vec::new()));
    if diff_ids.is_null() {
        *diff_ids = Value::Array(Vec::new());
    }
    let diff_ids = diff_ids
        .as_array_mut()
        .ok_or_else(|| bad("rootfs.diff_ids"))?;
    if let Some(d) = diff_id {
        diff_ids.push(Value::String(d.to_string()));
    }

    let mut entry = Map::new();
    entry.insert("created".to_owned(), Value::String(created.to_owned()));
    entry.insert(
        "created_by".to_owned(),
        Value::String(opts.created_by.clone()),
    );
    if let Some(a) = opts.author.as_ref().filter(|a| !a.is_empty()) {
        entry.insert("author".to_owned(), Value::String(a.clone()));
    }
    if let Some(c) = opts.comment.as_ref().filter(|c| !c.is_empty()) {
        entry.insert("comment".to_owned(), Value::String(c.clone()));
    }
    if diff_id.is_none() {
        entry.insert("empty_layer".to_owned(), Value::Bool(true));
    }
    let history = obj
        .entry("history")
        .or_insert_with(|| Value::Array(Vec::new()));
    if history.is_null() {
        *history = Value::Array(Vec::new());
    }
    history
        .as_array_mut()
        .ok_or_else(|| bad("history"))?
        .push(Value::Object(entry));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{mount_rootfs, mount_rootfs_with, overlay, DriverKind};
    use crate::layer::fixture::TarFixture;
    use std::fs;

    fn is_root() -> bool {
        nix::unistd::geteuid().is_root()
    }

    fn base(store: &Store) -> Image {
        let tar = TarFixture::new()
            .dir("etc/")
            .file("etc/hostname", b"box\n")
            .file("etc/passwd", b"root:x:0:0\n")
            .file("etc/motd", b"hello\n")
            .finish();
        let r = Reference::parse("base:1").unwrap();
        store.import_rootfs_tar(&tar[..], &r).unwrap();
        store.image(&r).unwrap().unwrap()
    }

    fn opts(created_by: &str, tag: Option<&str>) -> CommitOptions {
        CommitOptions {
            config: json!({"Env": ["A=1"], "Cmd": ["/bin/true"], "Healthcheck": {"Test": ["NONE"]}}),
            author: Some("me <me@example.com>".to_owned()),
            comment: Some("a change".to_owned()),
            created_by: created_by.to_owned(),
            reference: tag.map(|t| Reference::parse(t).unwrap()),
            empty_layer: false,
            adopt_upper: false,
        }
    }

    #[test]
    fn an_adopted_upper_is_the_layer_with_its_whiteouts() {
        if !is_root() || !overlay::supported() {
            eprintln!("skipped: needs root and overlayfs");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let parent = base(&store);
        let c = mount_rootfs_with(DriverKind::Overlay, store.layers(), &parent.chain().unwrap(), &dir.path().join("c")).unwrap();
        fs::write(c.path().join("etc/new"), b"added").unwrap();
        fs::remove_file(c.path().join("etc/motd")).unwrap();
        let upper = c.changes().to_owned();
        c.unmount().unwrap();

        let mut o = opts("/bin/sh -c change", Some("adopted:1"));
        o.adopt_upper = true;
        store.commit(Some(&parent), &upper, &o).unwrap();
        assert!(!upper.exists(), "the upper directory was moved into the store, not copied");

        let child = store.resolve("adopted:1").unwrap();
        let root = mount_rootfs(store.layers(), &child.chain().unwrap(), &dir.path().join("d")).unwrap();
        assert_eq!(fs::read(root.path().join("etc/new")).unwrap(), b"added");
        assert!(!root.path().join("etc/motd").exists(), "the whiteout in the adopted layer hides the file");
        assert_eq!(fs::read(root.path().join("etc/hostname")).unwrap(), b"box\n");
        root.unmount().unwrap();
    }

    #[test]
    fn commit_of_overlay_changes_adds_one_layer_that_mounts() {
        if !is_root() || !overlay::supported() {
            eprintln!("skipped: needs root and overlayfs");
            return;
        }
        // Declared first so it is dropped last, after the mounts.
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let parent = base(&store);
        let chain = parent.chain().unwrap();
        let c = mount_rootfs_with(
            DriverKind::Overlay,
            store.layers(),
            &chain,
            &dir.path().join("c"),
        )
        .unwrap();
        let m = c.path();
        fs::write(m.join("etc/new"), b"added").unwrap();
        fs::write(m.join("etc/passwd"), b"root:x:0:0\nme:x:1:1\n").unwrap();
        fs::remove_file(m.join("etc/motd")).unwrap();

        let o = opts("/bin/sh -c change", Some("child:2"));
        let id = store.commit(Some(&parent), c.changes(), &o).unwrap();
        c.unmount().unwrap();

        let child = store.resolve("child:2").unwrap();
        assert_eq!(child.id, id);
        let diff_ids = child.config.rootfs().diff_ids();
        assert_eq!(diff_ids.len(), 2);
        assert_eq!(diff_ids[0], parent.config.rootfs().diff_ids()[0]);
        assert_eq!(child.manifest.layers().len(), 2);
        assert_eq!(
            child.manifest.layers()[1].media_type().to_string(),
            OCI_LAYER
        );
        // Stored uncompressed: the blob digest is the DiffID.
        assert_eq!(child.manifest.layers()[1].digest().to_string(), diff_ids[1]);
        let raw: Value = serde_json::from_slice(&store.blobs().read(&child.id.0).unwrap()).unwrap();
        assert_eq!(raw["config"], o.config, "config kept whole: {raw}");
        assert_eq!(raw["author"], "me <me@example.com>");
        let history = raw["history"].as_array().unwrap();
        assert_eq!(history.len(), 2);
        let last = &history[1];
        assert_eq!(last["created_by"], "/bin/sh -c change");
        assert_eq!(last["comment"], "a change");
        assert!(last.get("empty_layer").is_none());

        let root = mount_rootfs(
            store.layers(),
            &child.chain().unwrap(),
            &dir.path().join("d"),
        )
        .unwrap();
        let r = root.path();
        assert_eq!(fs::read(r.join("etc/new")).unwrap(), b"added");
        assert_eq!(
            fs::read(r.join("etc/passwd")).unwrap(),
            b"root:x:0:0\nme:x:1:1\n"
        );
        assert_eq!(fs::read(r.join("etc/hostname")).unwrap(), b"box\n");
        assert!(!r.join("etc/motd").exists(), "whiteout not applied");
        if root.kind() == DriverKind::Overlay {
            root.unmount().unwrap();
        }

        // Metadata only: same layers, new config, an empty_layer history entry.
        let mut meta = opts("/bin/sh -c #(nop) LABEL x=y", None);
        meta.empty_layer = true;
        meta.author = None;
        meta.comment = None;
        meta.config = json!({"Labels": {"x": "y"}});
        let id2 = store
            .commit(Some(&child), Path::new("/nonexistent"), &meta)
            .unwrap();
        let grand = store.resolve(&id2.to_string()).unwrap();
        assert_ne!(grand.id, child.id);
        assert_eq!(grand.config.rootfs().diff_ids(), diff_ids);
        assert_eq!(grand.manifest.layers(), child.manifest.layers());
        let raw: Value = serde_json::from_slice(&store.blobs().read(&grand.id.0).unwrap()).unwrap();
        assert_eq!(raw["config"], json!({"Labels": {"x": "y"}}));
        assert!(raw.get("author").is_none());
        let history = raw["history"].as_array().unwrap();
        assert_eq!(history.len(), 3);
        assert_eq!(history[2]["created_by"], "/bin/sh -c #(nop) LABEL x=y");
        assert_eq!(history[2]["empty_layer"], true);
        // Untagged, but listed as an image record.
        assert!(!store
            .images()
            .list()
            .unwrap()
            .values()
            .any(|d| d == &grand.manifest_digest));
    }

    #[test]
    fn commit_from_scratch_of_a_plain_directory() {
        if !is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let upper = dir.path().join("upper");
        fs::create_dir_all(upper.join("app")).unwrap();
        fs::write(upper.join("app/run"), b"#!/bin/sh\n").unwrap();
        let id = store
            .commit(None, &upper, &opts("COPY app /app", Some("scratchy")))
            .unwrap();
        let image = store.resolve("scratchy").unwrap();
        assert_eq!(image.id, id);
        assert_eq!(image.config.rootfs().diff_ids().len(), 1);
        assert_eq!(image.config.history().as_ref().unwrap().len(), 1);
        let root = mount_rootfs(
            store.layers(),
            &image.chain().unwrap(),
            &dir.path().join("c"),
        )
        .unwrap();
        assert_eq!(
            fs::read(root.path().join("app/run")).unwrap(),
            b"#!/bin/sh\n"
        );
        if root.kind() == DriverKind::Overlay {
            root.unmount().unwrap();
        }
    }

    #[test]
    fn commit_keeps_the_docker_flavor_of_its_parent() {
        if !is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let oci = base(&store);
        // The same image with Docker's media types, as a pull from Docker Hub stores it.
        let config = store.blobs().read(&oci.id.0).unwrap();
        let layer = &oci.manifest.layers()[0];
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": DOCKER_CONFIG, "digest": oci.id.to_string(), "size": config.len()},
            "layers": [{
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "digest": layer.digest().to_string(),
                "size": layer.size(),
            }],
        });
        let digest = store
            .blobs()
            .put_bytes(&serde_json::to_vec(&manifest).unwrap())
            .unwrap();
        let r = Reference::parse("dockerish").unwrap();
        store.images().set(&r, &digest).unwrap();
        let parent = store.image(&r).unwrap().unwrap();

        let upper = dir.path().join("upper");
        fs::create_dir_all(upper.join("etc")).unwrap();
        fs::write(upper.join("etc/extra"), b"x").unwrap();
        store
            .commit(
                Some(&parent),
                &upper,
                &opts("RUN x", Some("dockerish:child")),
            )
            .unwrap();
        let child = store.resolve("dockerish:child").unwrap();
        let raw: Value =
            serde_json::from_slice(&store.blobs().read(&child.manifest_digest).unwrap()).unwrap();
        assert_eq!(raw["mediaType"], DOCKER_MANIFEST);
        assert_eq!(raw["config"]["mediaType"], DOCKER_CONFIG);
        assert_eq!(raw["layers"][1]["mediaType"], DOCKER_LAYER);
        assert_eq!(raw["layers"][0], manifest["layers"][0]);
        let root = mount_rootfs(
            store.layers(),
            &child.chain().unwrap(),
            &dir.path().join("c"),
        )
        .unwrap();
        assert_eq!(fs::read(root.path().join("etc/extra")).unwrap(), b"x");
        assert_eq!(
            fs::read(root.path().join("etc/hostname")).unwrap(),
            b"box\n"
        );
        if root.kind() == DriverKind::Overlay {
            root.unmount().unwrap();
        }
    }

    #[test]
    fn commit_refuses_digest_references_and_leaves_nothing_visible() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut o = opts("x", None);
        o.reference = Some(Reference::parse(&format!("a@{}", Digest::of(b""))).unwrap());
        o.empty_layer = true;
        assert!(store.commit(None, Path::new("/"), &o).is_err());
        let mut o = opts("x", Some("bad:cfg"));
        o.config = json!("not an object");
        o.empty_layer = true;
        assert!(store.commit(None, Path::new("/"), &o).is_err());
        assert!(store.images().list().unwrap().is_empty());
    }
}
