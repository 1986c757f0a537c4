//! `Store::save`: images out as a docker-archive or an OCI layout (tarball or directory).
//!
//! The OCI forms emit the stored manifest, config and layer blobs unchanged, so every
//! digest survives. A docker archive has no manifest and wants uncompressed layers: the
//! config is emitted unchanged (the image id survives), layers are decompressed on the fly
//! and checked against their DiffIDs. Output is deterministic (sorted, zero times, root
//! owner), so saving the same images twice gives the same bytes.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use tar::{EntryType, Header};

use crate::archive::docker_archive::{familiar_name, ManifestEntry, Repositories};
use crate::archive::oci_layout::{
    annotations_for, blob_path, LayoutFile, ANNOTATION_CONTAINERD_NAME, ANNOTATION_REF_NAME,
    INDEX_FILE, LAYOUT_FILE, LAYOUT_VERSION,
};
use crate::archive::{ArchiveError, Format, Result};
use crate::digest::{Digest, DigestingReader};
use crate::layer::compression::{decompress, Compression};
use crate::manifest::media_type::OCI_MANIFEST;
use crate::manifest::{Descriptor, Document, Flavor, Index, Manifest};
use crate::reference::Reference;
use crate::store::atomic;
use crate::store::layers::ChainId;
use crate::store::Store;

/// An image to save, with every name it is saved under.
struct Source {
    names: Vec<Reference>,
    manifest_digest: Digest,
    manifest_bytes: Vec<u8>,
    manifest: Manifest,
    diff_ids: Vec<Digest>,
}

/// Where an OCI layout is written.
trait Sink {
    fn file(&mut self, name: &str, size: u64, content: &mut dyn Read) -> Result<()>;
    fn dir(&mut self, name: &str) -> Result<()>;
}

fn write_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> ArchiveError {
    let what = what.into();
    move |source| ArchiveError::Write { what, source }
}

struct TarSink<W: Write> {
    builder: tar::Builder<W>,
}

fn header(kind: EntryType, size: u64) -> Header {
    let mut h = Header::new_ustar();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(if kind == EntryType::Directory {
        0o755
    } else {
        0o644
    });
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}

impl<W: Write> Sink for TarSink<W> {
    fn file(&mut self, name: &str, size: u64, content: &mut dyn Read) -> Result<()> {
        let mut h = header(EntryType::Regular, size);
        self.builder
            .append_data(&mut h, name, content)
            .map_err(write_err(name))
    }

    fn dir(&mut self, name: &str) -> Result<()> {
        let mut h = header(EntryType::Directory, 0);
        self.builder
            .append_data(&mut h, format!("{name}/"), io::empty())
            .map_err(write_err(name))
    }
}

struct DirSink {
    root: PathBuf,
}

impl Sink for DirSink {
    fn file(&mut self, name: &str, _size: u64, content: &mut dyn Read) -> Result<()> {
        let path = self.root.join(name);
        // A blob already there has these bytes (its name is their digest).
        if name.starts_with("blobs/") && path.is_file() {
            return Ok(());
        }
        let dir = path.parent().unwrap_or(&self.root);
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(dir)
            .map_err(write_err(name))?;
        io::copy(content, tmp.as_file_mut()).map_err(write_err(name))?;
        tmp.as_file().sync_all().map_err(write_err(name))?;
        tmp.persist(&path).map_err(|e| write_err(name)(e.error))?;
        Ok(())
    }

    fn dir(&mut self, name: &str) -> Result<()> {
        fs::create_dir_all(self.root.join(name)).map_err(write_err(name))
    }
}

impl Store {
    /// Writes the images `refs` name to `writer` as one archive of `format`.
    pub fn save(&self, refs: &[Reference], writer: impl Write, format: Format) -> Result<()> {
        let sources = self.sources(refs)?;
        let mut sink = TarSink {
            builder: tar::Builder::new(writer),
        };
        match format {
            Format::OciArchive => self.write_oci(&sources, &mut sink, Vec::new())?,
            Format::DockerArchive => self.write_docker(&sources, &mut sink)?,
        }
        let mut w = sink
            .builder
            .into_inner()
            .map_err(write_err("end of archive"))?;
        w.flush().map_err(write_err("end of archive"))
    }

    /// Writes the images `refs` name into the OCI layout directory `dir`, created if
    /// needed; images already in its index under other names are kept.
    pub fn save_dir(&self, refs: &[Reference], dir: &Path) -> Result<()> {
        let sources = self.sources(refs)?;
        fs::create_dir_all(dir).map_err(write_err(dir.display().to_string()))?;
        let mut keep = Vec::new();
        match fs::read(dir.join(INDEX_FILE)) {
            Ok(bytes) => match Document::parse(&bytes, None) {
                Ok(Document::Index(_, i)) => keep = i.manifests,
                _ => {
                    return Err(ArchiveError::Format(format!(
                        "{} exists and is not an image index",
                        dir.join(INDEX_FILE).display()
                    )))
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(write_err(INDEX_FILE)(source)),
        }
        let ours: HashSet<String> = sources
            .iter()
            .flat_map(|s| s.names.iter().map(|r| r.to_string()))
            .collect();
        keep.retain(|d| {
            d.annotations
                .get(ANNOTATION_CONTAINERD_NAME)
                .is_none_or(|n| !ours.contains(n))
        });
        let mut sink = DirSink {
            root: dir.to_owned(),
        };
        self.write_oci(&sources, &mut sink, keep)?;
        atomic::sync_dir(dir).map_err(write_err(dir.display().to_string()))
    }

    /// Resolves the references (tags, or digests of stored manifests), one source per
    /// manifest, in the order first named.
    fn sources(&self, refs: &[Reference]) -> Result<Vec<Source>> {
        let mut out: Vec<Source> = Vec::new();
        for r in refs {
            let not_found = || ArchiveError::Save {
                image: r.to_string(),
                reason: "no such image".to_owned(),
            };
            let digest = match self.images().get(r)? {
                Some(d) => d,
                None => match r.digest() {
                    Some(d) if self.blobs().exists(d) => d.clone(),
                    _ => return Err(not_found()),
                },
            };
            if let Some(s) = out.iter_mut().find(|s| s.manifest_digest == digest) {
                if r.tag().is_some() && !s.names.contains(r) {
                    s.names.push(r.clone());
                }
                continue;
            }
            let bad = |reason: String| ArchiveError::Save {
                image: r.to_string(),
                reason,
            };
            let manifest_bytes = self.blobs().read(&digest)?;
            let manifest =
                match Document::parse(&manifest_bytes, None).map_err(|e| bad(e.to_string()))? {
                    Document::Manifest(_, m) => m,
                    Document::Index(..) => {
                        return Err(bad(format!("{digest} is an index, not an image manifest")))
                    }
                };
            let config = self.blobs().read(&manifest.config.digest)?;
            #[derive(serde::Deserialize)]
            struct Probe {
                rootfs: RootFs,
            }
            #[derive(serde::Deserialize)]
            struct RootFs {
                diff_ids: Vec<Digest>,
            }
            let probe: Probe = serde_json::from_slice(&config)
                .map_err(|e| bad(format!("config {}: {e}", manifest.config.digest)))?;
            if probe.rootfs.diff_ids.len() != manifest.layers.len() {
                return Err(bad(format!(
                    "config has {} diff_ids for {} layers",
                    probe.rootfs.diff_ids.len(),
                    manifest.layers.len()
                )));
            }
            for l in &manifest.layers {
                if !self.blobs().exists(&l.digest) {
                    return Err(bad(format!("layer blob {} is not in the store", l.digest)));
                }
            }
            out.push(Source {
                names: if r.tag().is_some() {
                    vec![r.clone()]
                } else {
                    Vec::new()
                },
                manifest_digest: digest,
                manifest_bytes,
                manifest,
                diff_ids: probe.rootfs.diff_ids,
            });
        }
        Ok(out)
    }

    fn copy_blob(&self, sink: &mut dyn Sink, done: &mut HashSet<Digest>, d: &Digest) -> Result<()> {
        if !done.insert(d.clone()) {
            return Ok(());
        }
        let size = self.blobs().size(d)?;
        let mut f = self.blobs().get(d)?;
        sink.file(&blob_path(d), size, &mut f)
    }

    fn write_oci(
        &self,
        sources: &[Source],
        sink: &mut dyn Sink,
        keep: Vec<Descriptor>,
    ) -> Result<()> {
        let layout = serde_json::to_vec(&LayoutFile {
            image_layout_version: LAYOUT_VERSION.to_owned(),
        })
        .map_err(|e| crate::Error::Encode {
            what: "oci-layout",
            reason: e.to_string(),
        })?;
        sink.file(LAYOUT_FILE, layout.len() as u64, &mut &layout[..])?;
        sink.dir("blobs")?;
        sink.dir("blobs/sha256")?;
        let mut done = HashSet::new();
        let mut descriptors = keep;
        for s in sources {
            for l in &s.manifest.layers {
                self.copy_blob(sink, &mut done, &l.digest)?;
            }
            self.copy_blob(sink, &mut done, &s.manifest.config.digest)?;
            self.copy_blob(sink, &mut done, &s.manifest_digest)?;
            let media_type = s.manifest.media_type.as_deref().unwrap_or(OCI_MANIFEST);
            let base = Descriptor::new(
                media_type,
                s.manifest_digest.clone(),
                s.manifest_bytes.len() as u64,
            );
            for r in &s.names {
                let mut d = base.clone();
                d.annotations = annotations_for(r);
                descriptors.push(d);
            }
            if s.names.is_empty() {
                descriptors.push(base);
            }
        }
        let index = Index::new(Flavor::Oci, descriptors).to_json()?;
        sink.file(INDEX_FILE, index.len() as u64, &mut &index[..])
    }

    fn write_docker<W: Write>(&self, sources: &[Source], sink: &mut TarSink<W>) -> Result<()> {
        let mut done: HashSet<String> = HashSet::new();
        let mut entries = Vec::with_capacity(sources.len());
        let mut repositories = Repositories::new();
        for s in sources {
            let image = s
                .names
                .first()
                .map_or_else(|| s.manifest_digest.to_string(), |r| r.to_string());
            let config = &s.manifest.config.digest;
            let config_name = format!("{}.json", config.hex());
            if done.insert(config_name.clone()) {
                let size = self.blobs().size(config)?;
                sink.file(&config_name, size, &mut self.blobs().get(config)?)?;
            }
            let chains = ChainId::chain(&s.diff_ids);
            let mut layer_names = Vec::with_capacity(chains.len());
            for (i, (layer, chain)) in s.manifest.layers.iter().zip(&chains).enumerate() {
                let id = chain.digest().hex().to_owned();
                let name = format!("{id}/layer.tar");
                if done.insert(name.clone()) {
                    sink.dir(&id)?;
                    sink.file(&format!("{id}/VERSION"), 3, &mut &b"1.0"[..])?;
                    let mut json = serde_json::json!({ "id": id });
                    if let Some(p) = i.checked_sub(1) {
                        json["parent"] = chains[p].digest().hex().into();
                    }
                    let json = json.to_string();
                    sink.file(
                        &format!("{id}/json"),
                        json.len() as u64,
                        &mut json.as_bytes(),
                    )?;
                    self.write_layer_tar(
                        sink,
                        &image,
                        &name,
                        &layer.digest,
                        &s.diff_ids[i],
                        chain,
                    )?;
                }
                layer_names.push(name);
            }
            let top = chains
                .last()
                .map(|c| c.digest().hex().to_owned())
                .unwrap_or_default();
            let mut tags = Vec::new();
            for r in &s.names {
                if let Some(tag) = r.tag() {
                    let repo = familiar_name(r);
                    tags.push(format!("{repo}:{tag}"));
                    repositories
                        .entry(repo)
                        .or_default()
                        .insert(tag.to_owned(), top.clone());
                }
            }
            entries.push(ManifestEntry {
                config: config_name,
                repo_tags: (!tags.is_empty()).then_some(tags),
                layers: layer_names,
            });
        }
        let manifest = serde_json::to_vec(&entries).map_err(|e| crate::Error::Encode {
            what: "manifest.json",
            reason: e.to_string(),
        })?;
        sink.file("manifest.json", manifest.len() as u64, &mut &manifest[..])?;
        if !repositories.is_empty() {
            let repos = serde_json::to_vec(&repositories).map_err(|e| crate::Error::Encode {
                what: "repositories",
                reason: e.to_string(),
            })?;
            sink.file("repositories", repos.len() as u64, &mut &repos[..])?;
        }
        Ok(())
    }

    /// A layer as an uncompressed tar, whatever its blob's compression, checked against
    /// its DiffID while it is written.
    fn write_layer_tar<W: Write>(
        &self,
        sink: &mut TarSink<W>,
        image: &str,
        name: &str,
        blob: &Digest,
        diff_id: &Digest,
        chain: &ChainId,
    ) -> Result<()> {
        let bad = |reason: String| ArchiveError::Save {
            image: image.to_owned(),
            reason: format!("layer {blob}: {reason}"),
        };
        let read_err = |e: io::Error| bad(e.to_string());
        let mut head = Vec::new();
        self.blobs()
            .get(blob)?
            .take(4)
            .read_to_end(&mut head)
            .map_err(read_err)?;
        let size = if Compression::detect(&head) == Compression::None {
            self.blobs().size(blob)?
        } else {
            match self.layers().info(chain) {
                Ok(info) if &info.diff_id == diff_id => info.tar_size,
                // Not unpacked here: measure it (a second decompression, rarely needed).
                _ => {
                    let (_, mut r) = decompress(self.blobs().get(blob)?).map_err(read_err)?;
                    io::copy(&mut r, &mut io::sink()).map_err(read_err)?
                }
            }
        };
        let file: File = self.blobs().get(blob)?;
        let (_, tar) = decompress(file).map_err(read_err)?;
        let mut r = DigestingReader::new(tar);
        sink.file(name, size, &mut r)?;
        let (actual, _) = r.finish();
        if &actual != diff_id {
            return Err(bad(format!(
                "uncompressed content is {actual}, its diff_id is {diff_id}"
            )));
        }
        Ok(())
    }
}

/// The annotations of `index.json` entries, by name, for tests and callers.
pub fn index_names(index: &Index) -> BTreeMap<String, Digest> {
    index
        .manifests
        .iter()
        .filter_map(|d| {
            let n = d
                .annotations
                .get(ANNOTATION_CONTAINERD_NAME)
                .or_else(|| d.annotations.get(ANNOTATION_REF_NAME))?;
            Some((n.clone(), d.digest.clone()))
        })
        .collect()
}
