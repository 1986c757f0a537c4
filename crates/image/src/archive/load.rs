//! `Store::load`: an archive (docker-archive or OCI, tar or tar.gz, detected from its
//! files) or an OCI layout directory into the store, all of it or nothing.

use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use oci_spec::image::ImageConfiguration;
use serde::Deserialize;
use tar::EntryType;

use crate::archive::{
    docker_archive, normalize, oci_layout, resolve_link, ArchiveError, ChainLocks, Result, Staged,
    Staging,
};
use crate::digest::{Digest, DigestingReader};
use crate::image::ImageId;
use crate::layer::compression::{decompress, Compression};
use crate::manifest::Platform;
use crate::reference::Reference;
use crate::store::atomic;
use crate::store::content::Item;
use crate::store::layers::{ChainId, Prepared};
use crate::store::Store;

/// An image the load put in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImage {
    /// The references now naming it; empty for an untagged image, known by its id only
    /// (and not in the image index, so unreferenced until someone tags it).
    pub names: Vec<Reference>,
    pub id: ImageId,
    pub manifest_digest: Digest,
    /// Layers this load unpacked; the others were in the store already.
    pub unpacked: Vec<ChainId>,
}

/// One image of the archive, checked and ready to be committed.
pub(crate) struct Plan {
    pub names: Vec<Reference>,
    pub label: String,
    pub manifest: Vec<u8>,
    pub manifest_digest: Digest,
    pub config: Staged,
    pub layers: Vec<LayerPlan>,
}

pub(crate) struct LayerPlan {
    /// The layer's name in the archive, for messages.
    pub name: String,
    pub blob: Staged,
    pub diff_id: Digest,
    pub compression: Compression,
}

#[derive(Deserialize)]
struct ConfigProbe {
    rootfs: RootFsProbe,
}

#[derive(Deserialize)]
struct RootFsProbe {
    #[serde(rename = "type")]
    typ: String,
    diff_ids: Vec<Digest>,
}

/// Parses an image config enough to trust it: as the store will read it later, and its
/// DiffIDs, one per layer the manifest names.
pub(crate) fn config_diff_ids(label: &str, config: &Staged, layers: usize) -> Result<Vec<Digest>> {
    let bytes = config.read_all()?;
    let bad = |reason: String| ArchiveError::Image {
        image: label.to_owned(),
        reason: format!("config {}: {reason}", config.digest),
    };
    serde_json::from_slice::<ImageConfiguration>(&bytes).map_err(|e| bad(e.to_string()))?;
    let probe: ConfigProbe = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    if probe.rootfs.typ != "layers" {
        return Err(bad(format!(
            "rootfs type {:?}, expected \"layers\"",
            probe.rootfs.typ
        )));
    }
    if probe.rootfs.diff_ids.len() != layers {
        return Err(bad(format!(
            "{} diff_ids for {layers} layers",
            probe.rootfs.diff_ids.len()
        )));
    }
    Ok(probe.rootfs.diff_ids)
}

/// Checks a layer blob against its DiffID where that is possible without unpacking (an
/// uncompressed layer is its own DiffID).
pub(crate) fn layer_plan(
    label: &str,
    name: String,
    blob: Staged,
    diff_id: Digest,
) -> Result<LayerPlan> {
    let compression = Compression::detect(&blob.head()?);
    if compression == Compression::None && blob.digest != diff_id {
        return Err(ArchiveError::Mismatch {
            image: label.to_owned(),
            what: "layer".to_owned(),
            name,
            expected: format!("diff_id {diff_id} (from the config)"),
            actual: blob.digest.to_string(),
        });
    }
    Ok(LayerPlan {
        name,
        blob,
        diff_id,
        compression,
    })
}

impl Store {
    /// Loads every image of a docker-archive or OCI archive (tar, or tar compressed with
    /// gzip or zstd), choosing the host's platform from multi-platform indexes.
    pub fn load(&self, reader: impl Read) -> Result<Vec<LoadedImage>> {
        self.load_with(reader, &Platform::default())
    }

    /// [`Store::load`], choosing `platform` from multi-platform indexes.
    pub fn load_with(&self, reader: impl Read, platform: &Platform) -> Result<Vec<LoadedImage>> {
        let mut staging = Staging::new(&self.root().join("tmp"), None)?;
        spool(reader, &mut staging)?;
        let plans = if staging.contains("index.json") && staging.contains("oci-layout") {
            oci_layout::plans(&mut staging, platform)?
        } else if staging.contains("manifest.json") {
            docker_archive::plans(&mut staging)?
        } else {
            return Err(ArchiveError::Format(
                "neither a docker archive (no manifest.json) nor an OCI layout (no oci-layout and index.json)"
                    .to_owned(),
            ));
        };
        self.commit(plans)
    }

    /// Loads the images of an OCI image layout directory.
    pub fn load_dir(&self, dir: &Path) -> Result<Vec<LoadedImage>> {
        self.load_dir_with(dir, &Platform::default())
    }

    pub fn load_dir_with(&self, dir: &Path, platform: &Platform) -> Result<Vec<LoadedImage>> {
        let mut staging = Staging::new(&self.root().join("tmp"), Some(dir.to_owned()))?;
        if !staging.contains("oci-layout") || !staging.contains("index.json") {
            return Err(ArchiveError::Format(format!(
                "{} is not an OCI image layout (no oci-layout and index.json)",
                dir.display()
            )));
        }
        let plans = oci_layout::plans(&mut staging, platform)?;
        self.commit(plans)
    }

    /// Unpacks, publishes and registers checked plans; undoes its layers on failure.
    fn commit(&self, plans: Vec<Plan>) -> Result<Vec<LoadedImage>> {
        let chains: Vec<Vec<ChainId>> = plans
            .iter()
            .map(|p| {
                ChainId::chain(
                    &p.layers
                        .iter()
                        .map(|l| l.diff_id.clone())
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        let all: Vec<ChainId> = chains.iter().flatten().cloned().collect();
        let _locks = ChainLocks::acquire(self.root(), &all)?;

        // Which layers this load unpacks: each chain once, in the order the images list
        // them (so bottom layers come first), the others checked and reused.
        let mut jobs: Vec<Job<'_>> = Vec::new();
        let mut unpacked: Vec<Vec<ChainId>> = vec![Vec::new(); plans.len()];
        for (n, plan) in plans.iter().enumerate() {
            for (i, layer) in plan.layers.iter().enumerate() {
                let chain = &chains[n][i];
                // Spared by garbage collection from before the check until published.
                self.blobs().pending().add(Item::Layer(chain.clone()));
                if jobs.iter().any(|j| &j.chain == chain) {
                    continue;
                }
                if self.layers().exists(chain) {
                    // Unpacked already; a compressed blob new to the store is still
                    // checked, or a later save would emit a layer that is not its DiffID.
                    if layer.compression != Compression::None
                        && !self.blobs().exists(&layer.blob.digest)
                    {
                        verify_diff_id(&layer.blob, &layer.diff_id)
                            .map_err(|e| layer_err(plan, i, layer, e))?;
                    }
                    continue;
                }
                unpacked[n].push(chain.clone());
                jobs.push(Job {
                    chain: chain.clone(),
                    parent: i.checked_sub(1).map(|p| chains[n][p].clone()),
                    plan,
                    index: i,
                    layer,
                });
            }
        }

        let prepared = self.prepare_all(&jobs)?;
        // One flush for every layer unpacked and every blob spooled, before any of them
        // becomes visible.
        self.layers().sync()?;
        let mut created: Vec<ChainId> = Vec::new();
        let outcome = (|| -> Result<()> {
            for (job, p) in jobs.iter().zip(prepared) {
                self.layers()
                    .publish(p, job.parent.as_ref())
                    .map_err(|e| layer_err(job.plan, job.index, job.layer, e))?;
                created.push(job.chain.clone());
            }
            Ok(())
        })();
        if let Err(e) = outcome {
            for c in created.iter().rev() {
                // Best effort: a layer left behind is unreferenced, never half an image.
                let _ = self.layers().remove(c);
            }
            return Err(e);
        }

        for plan in &plans {
            self.publish(&plan.config)?;
            for l in &plan.layers {
                self.publish(&l.blob)?;
            }
            let d = self.blobs().put_bytes(&plan.manifest)?;
            debug_assert_eq!(d, plan.manifest_digest);
        }
        let mut out = Vec::with_capacity(plans.len());
        for (plan, unpacked) in plans.into_iter().zip(unpacked) {
            for name in &plan.names {
                self.images().set(name, &plan.manifest_digest)?;
            }
            out.push(LoadedImage {
                names: plan.names,
                id: ImageId(plan.config.digest.clone()),
                manifest_digest: plan.manifest_digest,
                unpacked,
            });
        }
        Ok(out)
    }

    /// Unpacks the layers of `jobs` into temp directories, several at once (one thread
    /// per layer, at most one per CPU): each is a directory of its own, and gzip or zstd
    /// decompression, the DiffID's hash and the writes of one layer use one core at most.
    /// Returns them in the order of `jobs`, or the error of the first that failed.
    fn prepare_all(&self, jobs: &[Job<'_>]) -> Result<Vec<Prepared>> {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(jobs.len());
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let results: Vec<Mutex<Option<Result<Prepared>>>> =
            jobs.iter().map(|_| Mutex::new(None)).collect();
        let work = || loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            // After a failure the load is lost: start no more layers.
            if k >= jobs.len() || failed.load(Ordering::Relaxed) {
                break;
            }
            let job = &jobs[k];
            let result = job.layer.blob.open().and_then(|blob| {
                let p = self
                    .layers()
                    .prepare(blob)
                    .map_err(|e| layer_err(job.plan, job.index, job.layer, e))?;
                p.check(&job.layer.diff_id)
                    .map_err(|e| layer_err(job.plan, job.index, job.layer, e))?;
                Ok(p)
            });
            if result.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            *results[k].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
        };
        if threads <= 1 {
            work();
        } else {
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(work);
                }
            });
        }
        let mut out = Vec::with_capacity(jobs.len());
        let mut first_err = None;
        for r in results {
            match r.into_inner().unwrap_or_else(|e| e.into_inner()) {
                Some(Ok(p)) => out.push(p),
                Some(Err(e)) => {
                    first_err.get_or_insert(e);
                }
                // Not started because another failed.
                None => {}
            }
        }
        // Dropping `out` on error removes the layers prepared meanwhile.
        match first_err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Moves a spooled, hashed file into the blob store (same filesystem: a rename). The
    /// caller flushed the store's filesystem since the file was spooled (`commit`'s
    /// `syncfs`), so its content is on disk already and only the rename is made durable.
    fn publish(&self, staged: &Staged) -> Result<()> {
        // Pending before it is visible (as `BlobStore::put_stream` does), or before it is
        // found already there: the sweep spares it until the index names it.
        self.blobs()
            .pending()
            .add(Item::Blob(staged.digest.clone()));
        if self.blobs().exists(&staged.digest) {
            return Ok(());
        }
        let target = self.blobs().path(&staged.digest);
        let err = |source| crate::Error::WriteBlob {
            path: target.clone(),
            source,
        };
        fs::rename(&staged.path, &target).map_err(err)?;
        if let Some(dir) = target.parent() {
            atomic::sync_dir(dir).map_err(err)?;
        }
        Ok(())
    }
}

/// A layer a load unpacks.
struct Job<'a> {
    chain: ChainId,
    parent: Option<ChainId>,
    plan: &'a Plan,
    index: usize,
    layer: &'a LayerPlan,
}

fn layer_err(plan: &Plan, index: usize, layer: &LayerPlan, source: crate::Error) -> ArchiveError {
    ArchiveError::Layer {
        image: plan.label.clone(),
        index,
        name: layer.name.clone(),
        source: Box::new(source),
    }
}

/// Reads the whole archive into `staging`: regular files spooled, links remembered.
fn spool(reader: impl Read, staging: &mut Staging) -> Result<()> {
    let read_err = |what: &str| {
        let what = what.to_owned();
        move |source| ArchiveError::Read { what, source }
    };
    // Buffered: tar reads each 512-byte header on its own.
    let reader = io::BufReader::with_capacity(1 << 20, reader);
    let (_, stream) = decompress(reader).map_err(read_err("stream"))?;
    let mut archive = tar::Archive::new(stream);
    for entry in archive.entries().map_err(read_err("entries"))? {
        let mut entry = entry.map_err(read_err("entry header"))?;
        let raw = entry.path().map_err(read_err("entry name"))?;
        let raw = raw
            .to_str()
            .map(str::to_owned)
            .ok_or_else(|| ArchiveError::Format(format!("entry name {raw:?} is not UTF-8")))?;
        let name = normalize(&raw)
            .ok_or_else(|| ArchiveError::Format(format!("entry {raw:?} leaves the archive")))?;
        match entry.header().entry_type() {
            EntryType::Regular | EntryType::Continuous => {
                let len = entry.header().size().map_err(read_err(&raw))?;
                staging.add(&name, &mut entry, Some(len))?;
            }
            EntryType::Symlink | EntryType::Link => {
                let kind = entry.header().entry_type();
                let target = entry
                    .link_name()
                    .map_err(read_err(&raw))?
                    .and_then(|t| t.to_str().map(str::to_owned))
                    .ok_or_else(|| ArchiveError::Format(format!("link {raw:?} has no target")))?;
                let resolved = if kind == EntryType::Symlink {
                    resolve_link(&name, &target)
                } else {
                    normalize(&target)
                };
                let resolved = resolved.ok_or_else(|| {
                    ArchiveError::Format(format!("link {raw:?} -> {target:?} leaves the archive"))
                })?;
                staging.link(&name, resolved);
            }
            // Directories and anything else carry no content the loader reads.
            _ => {}
        }
    }
    Ok(())
}

/// Decompresses a layer blob to check that it is its DiffID.
fn verify_diff_id(blob: &Staged, diff_id: &Digest) -> crate::Result<()> {
    let file = fs::File::open(&blob.path).map_err(|source| crate::Error::ReadArchive { source })?;
    let (_, tar) = decompress(file).map_err(|source| crate::Error::ReadArchive { source })?;
    let mut r = DigestingReader::new(tar);
    io::copy(&mut r, &mut io::sink()).map_err(|source| crate::Error::ReadArchive { source })?;
    let (actual, _) = r.finish();
    if &actual != diff_id {
        return Err(crate::Error::DigestMismatch {
            expected: diff_id.clone(),
            actual,
        });
    }
    Ok(())
}
