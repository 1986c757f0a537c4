//! Push: an image of the store to a repository: each blob (layers, then the config)
//! checked with `HEAD` and uploaded only if the registry lacks it — mounted from another
//! repository of the same registry that this store knows holds the image's blobs, when
//! possible — then the manifest `PUT` byte for byte, so its digest is the local one.

use berth_image::manifest::{media_type, Document};
use berth_image::{Digest, Reference, Store};

use crate::auth::credentials::Credentials;
use crate::blob::{self, Uploaded};
use crate::client::{Access, Session};
use crate::config::Options;
use crate::error::{Error, Result};
use crate::manifest;
use crate::progress::Observer;

#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    pub credentials: Option<Credentials>,
    /// Upload blobs in `PATCH` chunks of this many bytes; `None`: one `PUT` per blob.
    pub chunk_size: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Pushed {
    /// The tag pushed (or `None` for a push by digest).
    pub tag: Option<String>,
    pub digest: Digest,
    /// The manifest's length, as Docker reports it.
    pub size: usize,
    /// How each blob got there, by digest (layers first, config last).
    pub blobs: Vec<(Digest, Uploaded)>,
}

/// Pushes the store's image `reference` to the repository it names.
pub fn push(
    opts: &Options,
    store: &Store,
    reference: &Reference,
    push: &PushOptions,
    obs: &dyn Observer,
) -> Result<Pushed> {
    let local = |reason: String| Error::Local {
        op: "push",
        reference: reference.to_string(),
        reason,
    };
    let image = store
        .image(reference)
        .map_err(|e| local(e.to_string()))?
        .ok_or_else(|| local("no such image in the local store (tag it first)".to_owned()))?;
    let bytes = store
        .blobs()
        .read(&image.manifest_digest)
        .map_err(|e| local(format!("manifest: {e}")))?;
    let (m, mt) = match Document::parse(&bytes, None).map_err(|e| local(e.to_string()))? {
        Document::Manifest(flavor, m) => {
            let mt = m.media_type.clone().unwrap_or_else(|| {
                match flavor {
                    media_type::Flavor::Oci => media_type::OCI_MANIFEST,
                    media_type::Flavor::Docker => media_type::DOCKER_MANIFEST,
                }
                .to_owned()
            });
            (m, mt)
        }
        Document::Index(..) => {
            return Err(local(
                "is an index; pushing indexes is not supported".to_owned(),
            ))
        }
    };

    // Repositories of the same registry this store has images of: where a mount may work.
    let mut sources: Vec<String> = store
        .images()
        .list()
        .map_err(|e| local(e.to_string()))?
        .keys()
        .filter_map(|k| Reference::parse(k).ok())
        .filter(|r| r.domain() == reference.domain() && r.path() != reference.path())
        .map(|r| r.path().to_owned())
        .collect();
    sources.sort();
    sources.dedup();
    sources.truncate(4);

    let mut session = Session::open(
        opts,
        "push",
        reference.domain(),
        reference.path(),
        Access::Push,
        push.credentials.clone(),
    )?;
    if !sources.is_empty() {
        session.add_pull_scopes(&sources);
        // A token server may refuse the extra scopes: then push without mounts.
        if session.reauthenticate().is_err() {
            session.add_pull_scopes(&[]);
            session.reauthenticate()?;
            sources.clear();
        }
    }
    let s = &session;
    let mut done = Vec::new();
    for d in m.layers.iter().chain(std::iter::once(&m.config)) {
        if obs.cancelled() {
            return Err(s.scope.cancelled());
        }
        let how = blob::upload(s, store, d, &sources, push.chunk_size, obs)?;
        done.push((d.digest.clone(), how));
    }
    let target = match (reference.tag(), reference.digest()) {
        (Some(t), _) => t.to_owned(),
        (None, Some(d)) => d.to_string(),
        (None, None) => "latest".to_owned(),
    };
    let digest = manifest::put(s, &target, &mt, &bytes)?;
    Ok(Pushed {
        tag: reference.tag().map(str::to_owned),
        digest,
        size: bytes.len(),
        blobs: done,
    })
}
