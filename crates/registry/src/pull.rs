//! Pull: a reference resolved to one platform's manifest, its config and layer blobs
//! downloaded (a few at once) and verified into the image store, each layer unpacked as
//! soon as it and the layers below it are in (so unpacking overlaps the downloads), and
//! only then the reference written. A pull that fails at any point names no image; the
//! verified blobs it completed stay in the store for the next attempt to reuse (a store
//! sweep removes them if none comes).

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use berth_image::digest::DigestingReader;
use berth_image::layer::compression::decompress;
use berth_image::manifest::{Descriptor, Platform};
use berth_image::{ChainId, Digest, Prepared, Reference, StagedBlob, Store};
use serde::Deserialize;

use crate::auth::credentials::Credentials;
use crate::blob;
use crate::client::{Access, Session};
use crate::config::Options;
use crate::error::Result;
use crate::manifest;
use crate::progress::{Event, Observer, Status};

#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    pub platform: Platform,
    pub credentials: Option<Credentials>,
}

/// What a pull did.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The reference written (with its tag, or the digest pulled).
    pub reference: Reference,
    /// The digest the registry knows the image by (an index's, for a multi-platform image).
    pub digest: Digest,
    /// The platform manifest's digest: the image in the store.
    pub manifest_digest: Digest,
    /// The config digest: the image id.
    pub id: Digest,
    /// Layers downloaded by this pull; 0 with everything already present.
    pub downloaded: usize,
    /// The reference named this image already before the pull.
    pub up_to_date: bool,
}

#[derive(Deserialize)]
struct ConfigProbe {
    rootfs: RootFs,
}

#[derive(Deserialize)]
struct RootFs {
    diff_ids: Vec<Digest>,
}

/// The observer the pull's threads see: the caller's, plus the pull's own stop flag
/// (set when one layer failed, so the others stop).
struct Guarded<'a> {
    inner: &'a dyn Observer,
    stop: &'a AtomicBool,
}

impl Observer for Guarded<'_> {
    fn event(&self, e: Event) {
        self.inner.event(e)
    }
    fn cancelled(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.inner.cancelled()
    }
}

/// Pulls `reference` into `store`.
pub fn pull(
    opts: &Options,
    store: &Store,
    reference: &Reference,
    pull: &PullOptions,
    obs: &dyn Observer,
) -> Result<Pulled> {
    let session = Session::open(
        opts,
        "pull",
        reference.domain(),
        reference.path(),
        Access::Pull,
        pull.credentials.clone(),
    )?;
    let s = &session;
    let wanted = match (reference.digest(), reference.tag()) {
        (Some(d), _) => d.to_string(),
        (None, Some(t)) => t.to_owned(),
        (None, None) => "latest".to_owned(),
    };
    let resolved = manifest::resolve(s, &wanted, &pull.platform)?;
    let m = &resolved.parsed;
    let before = store.images().get(reference).ok().flatten();

    // The config: small, fetched whole through the store's verified write.
    let stop = AtomicBool::new(false);
    let guarded = Guarded {
        inner: obs,
        stop: &stop,
    };
    if !store.blobs().exists(&m.config.digest) {
        let staged = blob::download(s, store, &m.config, &crate::progress::Quiet)?;
        store
            .blobs()
            .publish_synced(staged)
            .map_err(|e| s.scope.store(format!("config {}", m.config.digest), e))?;
    }
    let config_bytes = store
        .blobs()
        .read(&m.config.digest)
        .map_err(|e| s.scope.store(format!("config {}", m.config.digest), e))?;
    let probe: ConfigProbe = serde_json::from_slice(&config_bytes)
        .map_err(|e| s.scope.invalid(format!("config {}: {e}", m.config.digest)))?;
    let diff_ids = probe.rootfs.diff_ids;
    if diff_ids.len() != m.layers.len() {
        return Err(s.scope.invalid(format!(
            "config {} names {} layers, the manifest {}",
            m.config.digest,
            diff_ids.len(),
            m.layers.len()
        )));
    }
    let chains = ChainId::chain(&diff_ids);

    // Which layers need what.
    struct Need {
        download: bool,
        unpack: bool,
    }
    let needs: Vec<Need> = m
        .layers
        .iter()
        .zip(&chains)
        .map(|(l, c)| {
            let unpack = !store.layers().exists(c);
            Need {
                download: !store.blobs().exists(&l.digest),
                unpack,
            }
        })
        .collect();
    for (l, n) in m.layers.iter().zip(&needs) {
        let status = match (n.download, n.unpack) {
            (false, false) => Status::AlreadyExists,
            (true, _) => Status::Waiting,
            (false, true) => Status::DownloadComplete,
        };
        obs.event(Event {
            digest: l.digest.clone(),
            status,
        });
    }
    // A job downloads a layer (staged, unsynced) and, if its chain is not in the store,
    // unpacks it out of sight right away (a layer's files do not depend on its parent's),
    // so layers unpack in parallel and beside the downloads; one sync of the file system
    // and the publications (blobs, then layers bottom first) follow when all are in. No
    // fsync runs while anything unpacks (see `BlobStore::stage`).
    let jobs: Vec<usize> = (0..m.layers.len()).filter(|&i| needs[i].download || needs[i].unpack).collect();
    let downloaded = needs.iter().filter(|n| n.download).count();

    let next = AtomicUsize::new(0);
    let outcome: Result<()> = std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, Result<Job>)>();
        let workers = opts.parallel.max(1).min(jobs.len());
        for _ in 0..workers {
            let tx = tx.clone();
            let (jobs, next, guarded, layers, needs, diff_ids) =
                (&jobs, &next, &guarded, &m.layers, &needs, &diff_ids);
            scope.spawn(move || loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= jobs.len() || guarded.cancelled() {
                    break;
                }
                let i = jobs[k];
                let d = &layers[i];
                let r = (|| -> Result<Job> {
                    let blob = if needs[i].download { Some(blob::download(s, store, d, guarded)?) } else { None };
                    if blob.is_some() {
                        guarded.event(Event {
                            digest: d.digest.clone(),
                            status: Status::DownloadComplete,
                        });
                    }
                    let open = || match &blob {
                        Some(b) => b.open().map_err(|e| s.scope.store(format!("layer {}", d.digest), berth_image::Error::ReadBlob { digest: d.digest.clone(), source: e })),
                        None => store.blobs().get(&d.digest).map_err(|e| s.scope.store(format!("layer {}", d.digest), e)),
                    };
                    let layer = if needs[i].unpack {
                        Some(prepare(s, store, d, open()?, &diff_ids[i], guarded)?)
                    } else {
                        // Unpacked already under this chain: the new blob must still be
                        // what the config says, or a later save would emit a wrong layer.
                        check_diff_id(s, d, open()?, &diff_ids[i])?;
                        None
                    };
                    Ok(Job { blob, layer })
                })();
                let failed = r.is_err();
                let _ = tx.send((i, r));
                if failed {
                    break;
                }
            });
        }
        drop(tx);
        let result = (|| -> Result<()> {
            let mut done: Vec<Job> = (0..m.layers.len()).map(|_| Job { blob: None, layer: None }).collect();
            for _ in 0..jobs.len() {
                match rx.recv() {
                    Ok((k, Ok(j))) => done[k] = j,
                    Ok((_, Err(e))) => return Err(e),
                    Err(_) => return Err(s.scope.cancelled()),
                }
            }
            // Everything the downloads and the unpacking wrote reaches the disk in one call
            // per file system, before any blob or layer becomes visible by rename.
            if done.iter().any(|j| j.blob.is_some()) {
                store.blobs().sync().map_err(|e| s.scope.store("blobs", e))?;
            }
            if done.iter().any(|j| j.layer.is_some()) {
                store.layers().sync().map_err(|e| s.scope.store("layers", e))?;
            }
            for (j, d) in done.iter_mut().zip(&m.layers) {
                if let Some(b) = j.blob.take() {
                    store.blobs().publish(b).map_err(|e| s.scope.store(format!("blob {}", d.digest), e))?;
                }
            }
            for (i, j) in done.into_iter().enumerate() {
                let d = &m.layers[i];
                if let Some(p) = j.layer {
                    store
                        .layers()
                        .publish(p, i.checked_sub(1).map(|p| &chains[p]))
                        .map_err(|e| s.scope.store(format!("layer {}", d.digest), e))?;
                }
                if needs[i].download || needs[i].unpack {
                    obs.event(Event {
                        digest: d.digest.clone(),
                        status: Status::PullComplete,
                    });
                }
            }
            Ok(())
        })();
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        result
    });
    outcome?;

    store
        .blobs()
        .put_bytes(&resolved.manifest.bytes)
        .map_err(|e| s.scope.store("manifest", e))?;
    let manifest_digest = resolved.manifest.digest.clone();
    let set = |r: &Reference| {
        store
            .images()
            .set(r, &manifest_digest)
            .map_err(|e| s.scope.store(format!("tag {r}"), e))
    };
    set(reference)?;
    // The digest it was pulled by, as Docker records it (RepoDigests).
    if reference.digest().is_none() {
        if let Ok(by_digest) =
            Reference::parse(&format!("{}@{}", reference.name(), resolved.top.digest))
        {
            set(&by_digest)?;
        }
    }
    Ok(Pulled {
        reference: reference.clone(),
        digest: resolved.top.digest.clone(),
        up_to_date: before.as_ref() == Some(&manifest_digest) && downloaded == 0,
        manifest_digest,
        id: m.config.digest.clone(),
        downloaded,
    })
}

/// What one layer's job left for the publication: its blob, if it was downloaded, and
/// its unpacked files, if its chain was not in the store.
struct Job {
    blob: Option<StagedBlob>,
    layer: Option<Prepared>,
}

/// Unpacks a downloaded layer blob out of sight (see [`Prepared`]), reporting progress in
/// compressed bytes read, and checks its DiffID.
fn prepare(s: &Session, store: &Store, d: &Descriptor, file: std::fs::File, diff_id: &Digest, obs: &dyn Observer) -> Result<Prepared> {
    let reader = Progress {
        inner: io::BufReader::with_capacity(1 << 20, file),
        digest: d.digest.clone(),
        total: d.size,
        pos: 0,
        last: Instant::now() - Duration::from_secs(1),
        obs,
    };
    let what = || format!("layer {}", d.digest);
    let p = store.layers().prepare(reader).map_err(|e| s.scope.store(what(), e))?;
    p.check(diff_id).map_err(|e| s.scope.store(what(), e))?;
    Ok(p)
}

/// Checks that a layer blob decompresses to `diff_id`.
fn check_diff_id(s: &Session, d: &Descriptor, file: std::fs::File, diff_id: &Digest) -> Result<()> {
    let what = format!("layer {}", d.digest);
    let (_, plain) = decompress(io::BufReader::new(file))
        .map_err(|e| s.scope.invalid(format!("{what}: {e}")))?;
    let mut r = DigestingReader::new(plain);
    io::copy(&mut r, &mut io::sink()).map_err(|e| s.scope.invalid(format!("{what}: {e}")))?;
    let (actual, _) = r.finish();
    if &actual != diff_id {
        return Err(s.scope.mismatch(
            format!("{what} (uncompressed, the config's diff_id)"),
            diff_id,
            actual,
        ));
    }
    Ok(())
}

struct Progress<'a, R> {
    inner: R,
    digest: Digest,
    total: u64,
    pos: u64,
    last: Instant,
    obs: &'a dyn Observer,
}

impl<R: Read> Read for Progress<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.obs.cancelled() {
            return Err(io::Error::other("cancelled"));
        }
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        if self.last.elapsed() >= Duration::from_millis(100) || (n > 0 && self.pos == self.total) {
            self.last = Instant::now();
            self.obs.event(Event {
                digest: self.digest.clone(),
                status: Status::Extracting {
                    current: self.pos,
                    total: self.total,
                },
            });
        }
        Ok(n)
    }
}
