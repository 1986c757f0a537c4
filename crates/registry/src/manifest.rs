//! Manifests over the wire: GET and HEAD by tag or digest (every manifest and index
//! media type berth reads in `Accept`), the bytes verified against the digest asked for
//! (or the `Docker-Content-Digest` the registry answered), indexes resolved to the
//! manifest of one platform, and PUT for push.

use berth_image::manifest::{media_type, select, Document, Manifest, Platform};
use berth_image::Digest;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;

use crate::client::Session;
use crate::error::Result;

/// Everything `Accept` offers: indexes first, as Docker's client asks.
pub const ACCEPT_ALL: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// Manifests are small; a registry answering more is not one to trust.
const MAX_MANIFEST: usize = 4 << 20;

/// A manifest or index as the registry sent it, verified.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub media_type: String,
    pub digest: Digest,
}

/// What a reference resolves to for a platform.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// What the tag or digest names: an index, or the manifest itself.
    pub top: Fetched,
    /// The platform's image manifest (the same as `top` for a single-platform image).
    pub manifest: Fetched,
    pub parsed: Manifest,
}

/// `GET /v2/<name>/manifests/<tag|digest>`.
pub fn get(s: &Session, reference: &str) -> Result<Fetched> {
    let what = format!("manifest {reference}");
    let resp = s.send(&what, |c| {
        c.get(s.url(&format!("manifests/{reference}")))
            .header(ACCEPT, ACCEPT_ALL)
    })?;
    if resp.status() != StatusCode::OK {
        return Err(s.unexpected(&what, resp));
    }
    let header_digest = resp
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<Digest>().ok());
    let content_type = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned());
    let bytes = resp.bytes().map_err(|e| {
        s.scope
            .unreachable(format!("{what}: {}", crate::client::chain(&e)))
    })?;
    if bytes.len() > MAX_MANIFEST {
        return Err(s.scope.invalid(format!(
            "{what}: {} bytes, more than a manifest can be",
            bytes.len()
        )));
    }
    let actual = Digest::of(&bytes);
    // By digest: the bytes must be that digest. By tag: what the registry says they are.
    let expected = reference.parse::<Digest>().ok().or(header_digest);
    if let Some(expected) = expected {
        if expected != actual {
            return Err(s.scope.mismatch("manifest", &expected, actual));
        }
    }
    let media_type = match Document::parse(&bytes, None) {
        Ok(Document::Manifest(flavor, m)) => m.media_type.clone().unwrap_or_else(|| {
            match flavor {
                media_type::Flavor::Oci => media_type::OCI_MANIFEST,
                media_type::Flavor::Docker => media_type::DOCKER_MANIFEST,
            }
            .to_owned()
        }),
        Ok(Document::Index(flavor, i)) => i.media_type.clone().unwrap_or_else(|| {
            match flavor {
                media_type::Flavor::Oci => media_type::OCI_INDEX,
                media_type::Flavor::Docker => media_type::DOCKER_MANIFEST_LIST,
            }
            .to_owned()
        }),
        Err(e) => {
            // The document's own mediaType is optional in OCI; the header may say.
            match content_type
                .as_deref()
                .map(|ct| Document::parse(&bytes, Some(ct)))
            {
                Some(Ok(_)) => content_type.clone().unwrap_or_default(),
                _ => return Err(s.scope.invalid(format!("{what}: {e}"))),
            }
        }
    };
    Ok(Fetched {
        bytes: bytes.to_vec(),
        media_type,
        digest: actual,
    })
}

/// `HEAD /v2/<name>/manifests/<reference>`: its digest, or `None` when there is none.
pub fn head(s: &Session, reference: &str) -> Result<Option<Digest>> {
    let what = format!("manifest {reference}");
    let resp = s.send(&what, |c| {
        c.head(s.url(&format!("manifests/{reference}")))
            .header(ACCEPT, ACCEPT_ALL)
    })?;
    match resp.status() {
        StatusCode::OK => Ok(resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())),
        StatusCode::NOT_FOUND => Ok(None),
        _ => Err(s.unexpected(&what, resp)),
    }
}

/// Resolves a tag or digest to the image manifest for `platform`, following an index.
pub fn resolve(s: &Session, reference: &str, platform: &Platform) -> Result<Resolved> {
    let top = get(s, reference)?;
    let mut current = top.clone();
    for _ in 0..4 {
        match Document::parse(&current.bytes, Some(&current.media_type))
            .map_err(|e| s.scope.invalid(format!("manifest {}: {e}", current.digest)))?
        {
            Document::Manifest(_, m) => {
                m.check_image()
                    .map_err(|r| s.scope.invalid(format!("manifest {}: {r}", current.digest)))?;
                return Ok(Resolved {
                    top,
                    manifest: current,
                    parsed: m,
                });
            }
            Document::Index(_, index) => {
                let Some(chosen) = select(&index.manifests, platform) else {
                    let have: Vec<String> = index
                        .manifests
                        .iter()
                        .filter_map(|m| m.platform.as_ref().map(|p| p.to_string()))
                        .collect();
                    return Err(s.scope.not_found(format!(
                        "manifest for {platform} in {reference} (the index has: {})",
                        have.join(", ")
                    )));
                };
                let chosen = chosen.clone();
                let next = get(s, &chosen.digest.to_string())?;
                if next.bytes.len() as u64 != chosen.size {
                    return Err(s.scope.invalid(format!(
                        "manifest {}: {} bytes, the index says {}",
                        chosen.digest,
                        next.bytes.len(),
                        chosen.size
                    )));
                }
                current = next;
            }
        }
    }
    Err(s
        .scope
        .invalid(format!("{reference}: indexes nested more than 4 deep")))
}

/// `PUT /v2/<name>/manifests/<tag|digest>` with the exact bytes; returns the digest the
/// registry computed, checked against ours.
pub fn put(s: &Session, reference: &str, media_type: &str, bytes: &[u8]) -> Result<Digest> {
    let what = format!("put manifest {reference}");
    let ours = Digest::of(bytes);
    let resp = s.send(&what, |c| {
        c.put(s.url(&format!("manifests/{reference}")))
            .header(CONTENT_TYPE, media_type)
            .body(bytes.to_vec())
    })?;
    if resp.status() != StatusCode::CREATED && resp.status() != StatusCode::OK {
        return Err(s.unexpected(&what, resp));
    }
    if let Some(theirs) = resp
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<Digest>().ok())
    {
        if theirs != ours {
            return Err(s.scope.mismatch("pushed manifest", &ours, theirs));
        }
    }
    Ok(ours)
}
