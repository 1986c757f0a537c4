//! The daemonless backend: the image store opened in this process at
//! `<data-root>/image`. Temporary, until berthd serves the Engine API (see the module
//! above); it answers with the API's shapes so nothing above it notices the switch.
//!
//! Names resolve as the daemon resolves them: a reference first (`busybox`,
//! `busybox:1.36`, `docker.io/library/busybox`), then an image id or a prefix of one
//! (`0123abcd`, `sha256:0123abcd…`). Names are reported in Docker's familiar form
//! (`busybox:latest`, `user/app:v1`, `quay.io/x/y:z`).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use berth_image::{Image, Reference, Store};

use super::{
    DeleteItem, Error, HistoryItem, ImageBackend, ImageFilters, ImageInspect, ImageSummary,
    Metadata, Result, RootFs,
};
use crate::format::time::parse_rfc3339;

pub struct LocalBackend {
    store: Store,
}

/// Every reference of the index with the image it names, grouped by image id.
struct Catalog {
    images: BTreeMap<String, (Image, Vec<Reference>)>,
}

fn other(e: berth_image::Error) -> Error {
    Error::Other(e.to_string())
}

impl LocalBackend {
    /// Opens (creating if needed) the image store under `data_root`.
    pub fn open(data_root: &Path) -> Result<LocalBackend> {
        let root = data_root.join("image");
        let store = Store::open(&root)
            .map_err(|e| Error::Other(format!("open image store {}: {e}", root.display())))?;
        Ok(LocalBackend { store })
    }

    fn catalog(&self) -> Result<Catalog> {
        let mut images: BTreeMap<String, (Image, Vec<Reference>)> = BTreeMap::new();
        for name in self.store.images().list().map_err(other)?.keys() {
            let reference = Reference::parse(name).map_err(other)?;
            let Some(image) = self.store.image(&reference).map_err(other)? else {
                continue;
            };
            images
                .entry(image.id.to_string())
                .or_insert_with(|| (image, Vec::new()))
                .1
                .push(reference);
        }
        Ok(Catalog { images })
    }

    /// The image `name` names, with its references.
    fn resolve(&self, name: &str) -> Result<(Image, Vec<Reference>)> {
        let mut catalog = self.catalog()?;
        if let Ok(reference) = Reference::parse(name) {
            if let Some(image) = self.store.image(&reference).map_err(other)? {
                let refs = catalog
                    .images
                    .remove(&image.id.to_string())
                    .map(|(_, refs)| refs)
                    .unwrap_or_default();
                return Ok((image, refs));
            }
        }
        let prefix = name.strip_prefix("sha256:").unwrap_or(name);
        let is_hex = !prefix.is_empty()
            && prefix.len() <= 64
            && prefix.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if is_hex {
            let mut found: Vec<String> = catalog
                .images
                .keys()
                .filter(|id| id["sha256:".len()..].starts_with(prefix))
                .cloned()
                .collect();
            if found.len() > 1 {
                return Err(Error::Invalid(format!(
                    "{name} is ambiguous: it begins {} image ids",
                    found.len()
                )));
            }
            if let Some(id) = found.pop() {
                return Ok(catalog.images.remove(&id).expect("id from the catalog"));
            }
        }
        Err(Error::NotFound(format!("no such image: {name}")))
    }

    /// Uncompressed size of the image's layers.
    fn size(&self, image: &Image) -> Result<u64> {
        let mut size = 0;
        for chain_id in image.chain().map_err(other)? {
            size += self.store.layers().info(&chain_id).map_err(other)?.tar_size;
        }
        Ok(size)
    }

    fn summary(&self, image: &Image, refs: &[Reference]) -> Result<ImageSummary> {
        let (repo_tags, repo_digests) = familiar_names(refs);
        Ok(ImageSummary {
            id: image.id.to_string(),
            parent_id: String::new(),
            repo_tags,
            repo_digests,
            created: created(image),
            size: self.size(image)?,
            shared_size: -1,
            labels: labels(image),
            containers: -1,
        })
    }
}

fn created(image: &Image) -> i64 {
    image
        .config
        .created()
        .as_deref()
        .and_then(parse_rfc3339)
        .unwrap_or(0)
}

fn labels(image: &Image) -> BTreeMap<String, String> {
    image
        .config
        .config()
        .as_ref()
        .and_then(|c| c.labels().clone())
        .map(|l| l.into_iter().collect())
        .unwrap_or_default()
}

/// Docker's familiar form of a repository: `busybox`, `user/app`, `quay.io/x/y`.
pub fn familiar_repository(reference: &Reference) -> String {
    if reference.domain() == berth_image::reference::DEFAULT_DOMAIN {
        match reference.path().strip_prefix("library/") {
            Some(short) if !short.contains('/') => short.to_owned(),
            _ => reference.path().to_owned(),
        }
    } else {
        reference.name()
    }
}

/// `RepoTags` (`repo:tag`) and `RepoDigests` (`repo@sha256:…`) of references.
fn familiar_names(refs: &[Reference]) -> (Vec<String>, Vec<String>) {
    let (mut tags, mut digests) = (Vec::new(), Vec::new());
    for r in refs {
        let repo = familiar_repository(r);
        if let Some(tag) = r.tag() {
            tags.push(format!("{repo}:{tag}"));
        }
        if let Some(d) = r.digest() {
            digests.push(format!("{repo}@{d}"));
        }
    }
    tags.sort();
    digests.sort();
    (tags, digests)
}

/// Go's `path.Match` for the `reference` filter: `*` is any run of characters but `/`,
/// `?` any one character but `/`.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&pattern[1..], name) || (name.first().is_some_and(|&c| c != b'/') && glob(pattern, &name[1..]))
        }
        (Some(b'?'), Some(&c)) if c != b'/' => glob(&pattern[1..], &name[1..]),
        (Some(p), Some(c)) if p == c => glob(&pattern[1..], &name[1..]),
        _ => false,
    }
}

/// Whether a familiar `repo:tag` matches a `reference` filter pattern, which names either
/// the repository alone or the repository and tag.
fn reference_matches(pattern: &str, repo_tag: &str) -> bool {
    let repo = repo_tag.rsplit_once(':').map_or(repo_tag, |(r, _)| r);
    glob(pattern.as_bytes(), repo_tag.as_bytes()) || glob(pattern.as_bytes(), repo.as_bytes())
}

fn label_matches(filter: &str, labels: &BTreeMap<String, String>) -> bool {
    match filter.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
        None => labels.contains_key(filter),
    }
}

impl ImageBackend for LocalBackend {
    fn import(&self, archive: &mut dyn Read, reference: &str) -> Result<String> {
        let reference = Reference::parse(reference).map_err(|e| Error::Invalid(e.to_string()))?;
        let id = self
            .store
            .import_rootfs_tar(archive, &reference)
            .map_err(other)?;
        Ok(id.to_string())
    }

    fn list(&self, _all: bool, filters: &ImageFilters) -> Result<Vec<ImageSummary>> {
        // Every stored image is a top-level one (there are no intermediate build images
        // yet), so `all` shows nothing more.
        let mut out = Vec::new();
        for (image, refs) in self.catalog()?.images.values() {
            let mut summary = self.summary(image, refs)?;
            if let Some(dangling) = filters.dangling {
                if dangling != summary.repo_tags.is_empty() {
                    continue;
                }
            }
            if !filters.label.iter().all(|l| label_matches(l, &summary.labels)) {
                continue;
            }
            if !filters.reference.is_empty() {
                summary
                    .repo_tags
                    .retain(|t| filters.reference.iter().any(|p| reference_matches(p, t)));
                if summary.repo_tags.is_empty() {
                    continue;
                }
            }
            out.push(summary);
        }
        out.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    fn inspect(&self, name: &str) -> Result<ImageInspect> {
        let (image, refs) = self.resolve(name)?;
        let (repo_tags, repo_digests) = familiar_names(&refs);
        let config = &image.config;
        let comment = config
            .history()
            .as_ref()
            .and_then(|h| h.last())
            .and_then(|h| h.comment().clone())
            .unwrap_or_default();
        Ok(ImageInspect {
            id: image.id.to_string(),
            repo_tags,
            repo_digests,
            parent: String::new(),
            comment,
            created: config.created().clone().unwrap_or_default(),
            author: config.author().clone().unwrap_or_default(),
            config: serde_json::to_value(config.config()).map_err(|e| Error::Other(e.to_string()))?,
            architecture: config.architecture().to_string(),
            variant: config.variant().clone(),
            os: config.os().to_string(),
            size: self.size(&image)?,
            root_fs: RootFs {
                kind: config.rootfs().typ().clone(),
                layers: config.rootfs().diff_ids().clone(),
            },
            metadata: Metadata {
                last_tag_time: String::new(),
            },
        })
    }

    fn history(&self, name: &str) -> Result<Vec<HistoryItem>> {
        let (image, refs) = self.resolve(name)?;
        let (repo_tags, _) = familiar_names(&refs);
        let mut layer_sizes = Vec::new();
        for chain_id in image.chain().map_err(other)? {
            layer_sizes.push(self.store.layers().info(&chain_id).map_err(other)?.tar_size);
        }
        let mut layer_sizes = layer_sizes.into_iter();
        let history = image.config.history().clone().unwrap_or_default();
        let mut items: Vec<HistoryItem> = history
            .iter()
            .map(|h| HistoryItem {
                id: "<missing>".to_owned(),
                created: h.created().as_deref().and_then(parse_rfc3339).unwrap_or(0),
                created_by: h.created_by().clone().unwrap_or_default(),
                tags: Vec::new(),
                size: if h.empty_layer().unwrap_or(false) {
                    0
                } else {
                    layer_sizes.next().unwrap_or(0)
                },
                comment: h.comment().clone().unwrap_or_default(),
            })
            .collect();
        items.reverse();
        if let Some(top) = items.first_mut() {
            top.id = image.id.to_string();
            top.tags = repo_tags;
        }
        Ok(items)
    }

    fn tag(&self, source: &str, target: &str) -> Result<()> {
        let (image, _) = self.resolve(source)?;
        let target_ref = Reference::parse(target).map_err(|e| Error::Invalid(e.to_string()))?;
        if target_ref.digest().is_some() {
            return Err(Error::Invalid(format!(
                "refusing to create a tag with a digest reference: {target}"
            )));
        }
        self.store
            .images()
            .set(&target_ref, &image.manifest_digest)
            .map_err(other)
    }

    fn remove(&self, name: &str, force: bool) -> Result<Vec<DeleteItem>> {
        // Removing the content of an image is the store's job (its reference counting
        // across images); until the store offers it, `rmi` removes names only and the
        // unreferenced content stays on disk.
        let by_reference = Reference::parse(name)
            .ok()
            .filter(|r| self.store.images().get(r).ok().flatten().is_some());
        let targets = match by_reference {
            Some(r) => vec![r],
            None => {
                let (image, refs) = self.resolve(name)?;
                if refs.len() > 1 && !force {
                    return Err(Error::Conflict(format!(
                        "unable to delete {} (must be forced): image is referenced in multiple repositories",
                        &image.id.0.hex()[..12]
                    )));
                }
                refs
            }
        };
        let mut out = Vec::new();
        for r in targets {
            if self.store.images().remove(&r).map_err(other)?.is_some() {
                let (tags, digests) = familiar_names(std::slice::from_ref(&r));
                out.extend(tags.into_iter().chain(digests).map(DeleteItem::Untagged));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn familiar_forms() {
        let f = |s: &str| familiar_repository(&Reference::parse(s).unwrap());
        assert_eq!(f("busybox"), "busybox");
        assert_eq!(f("docker.io/library/busybox:1"), "busybox");
        assert_eq!(f("user/app"), "user/app");
        assert_eq!(f("library/a/b"), "library/a/b");
        assert_eq!(f("quay.io/x/y"), "quay.io/x/y");
        assert_eq!(f("localhost:5000/app"), "localhost:5000/app");
    }

    #[test]
    fn reference_filter_globs_like_path_match() {
        assert!(reference_matches("busybox", "busybox:latest"));
        assert!(reference_matches("busy*", "busybox:latest"));
        assert!(reference_matches("busybox:lat*", "busybox:latest"));
        assert!(!reference_matches("busybox:1*", "busybox:latest"));
        assert!(!reference_matches("*", "user/app:v1"));
        assert!(reference_matches("*/*", "user/app:v1"));
        assert!(reference_matches("localhost:5000/app", "localhost:5000/app:v1"));
    }

    #[test]
    fn label_filters() {
        let labels: BTreeMap<String, String> = [("a".to_owned(), "1".to_owned())].into();
        assert!(label_matches("a", &labels));
        assert!(label_matches("a=1", &labels));
        assert!(!label_matches("a=2", &labels));
        assert!(!label_matches("b", &labels));
    }
}
