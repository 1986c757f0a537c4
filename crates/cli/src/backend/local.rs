//! The daemonless backend: the image store opened in this process at
//! `<data-root>/image`. Temporary, until berthd serves the Engine API (see the module
//! above); it answers with the API's shapes so nothing above it notices the switch.
//!
//! Names resolve as the store resolves them (a full id, a reference, then an id prefix)
//! and are reported in Docker's familiar form (`busybox:latest`, `quay.io/x/y:z`).

use std::io::{Read, Write};
use std::path::Path;

use berth_image::archive::Format;
use berth_image::{familiar, Filter, ImageRow, ListOptions, Reference, Store};

use super::{
    ArchiveFormat, DeleteItem, Error, HistoryItem, ImageBackend, ImageFilters, ImageSummary,
    ImagesDiskUsage, Loaded, PruneReport, Result,
};

pub struct LocalBackend {
    store: Store,
}

impl LocalBackend {
    /// Opens (creating if needed) the image store under `data_root`.
    pub fn open(data_root: &Path) -> Result<LocalBackend> {
        let root = data_root.join("image");
        let store = Store::open(&root)
            .map_err(|e| Error::Other(format!("open image store {}: {e}", root.display())))?;
        Ok(LocalBackend { store })
    }
}

/// The store's errors as the Engine API would classify them; a missing image is named as
/// the user wrote it.
fn classify(name: &str) -> impl Fn(berth_image::Error) -> Error + '_ {
    move |e| match e {
        berth_image::Error::ImageNotFound { .. } => {
            Error::NotFound(format!("no such image: {name}"))
        }
        berth_image::Error::ImageConflict { .. } => Error::Conflict(e.to_string()),
        berth_image::Error::AmbiguousImageId { .. }
        | berth_image::Error::ParseReference { .. }
        | berth_image::Error::Tag { .. } => Error::Invalid(e.to_string()),
        _ => Error::Other(e.to_string()),
    }
}

fn classify_archive(name: &str) -> impl Fn(berth_image::ArchiveError) -> Error + '_ {
    move |e| match e {
        berth_image::ArchiveError::Store(e) => classify(name)(e),
        e => Error::Other(e.to_string()),
    }
}

fn parse_reference(name: &str) -> Result<Reference> {
    Reference::parse(name).map_err(|e| Error::Invalid(e.to_string()))
}

fn filters(f: &ImageFilters) -> Vec<Filter> {
    let mut out: Vec<Filter> = f.dangling.map(Filter::Dangling).into_iter().collect();
    out.extend(f.label.iter().map(|l| match l.split_once('=') {
        Some((k, v)) => Filter::Label {
            key: k.to_owned(),
            value: Some(v.to_owned()),
        },
        None => Filter::Label {
            key: l.clone(),
            value: None,
        },
    }));
    out.extend(f.reference.iter().cloned().map(Filter::Reference));
    out
}

/// The store's per-image summaries in the API's shape.
fn summaries(rows: Vec<ImageRow>) -> Vec<ImageSummary> {
    berth_image::summaries(rows)
        .into_iter()
        .map(|s| ImageSummary {
            id: s.id.to_string(),
            parent_id: String::new(),
            repo_tags: s.repo_tags,
            repo_digests: s.repo_digests,
            created: s.created_unix.unwrap_or(0),
            size: s.size,
            shared_size: -1,
            labels: s.labels,
            containers: -1,
        })
        .collect()
}

impl ImageBackend for LocalBackend {
    fn import(&self, archive: &mut dyn Read, reference: Option<&str>) -> Result<String> {
        let reference = reference.map(parse_reference).transpose()?;
        let id = self
            .store
            .import_rootfs_tar_as(archive, reference.as_ref())
            .map_err(classify(""))?;
        Ok(id.to_string())
    }

    fn list(&self, all: bool, f: &ImageFilters) -> Result<Vec<ImageSummary>> {
        let options = ListOptions {
            all,
            filters: filters(f),
        };
        Ok(summaries(self.store.list(&options).map_err(classify(""))?))
    }

    fn inspect(&self, name: &str) -> Result<serde_json::Value> {
        self.store.inspect(name).map_err(classify(name))
    }

    fn history(&self, name: &str) -> Result<Vec<HistoryItem>> {
        let rows = self.store.history(name).map_err(classify(name))?;
        Ok(rows
            .into_iter()
            .map(|r| HistoryItem {
                id: r
                    .id
                    .map_or_else(|| "<missing>".to_owned(), |id| id.to_string()),
                created: r.created_unix.unwrap_or(0),
                created_by: r.created_by,
                tags: Vec::new(),
                size: r.size,
                comment: r.comment,
            })
            .collect())
    }

    fn tag(&self, source: &str, target: &str) -> Result<()> {
        let target = parse_reference(target)?;
        self.store.tag(source, &target).map_err(classify(source))?;
        Ok(())
    }

    fn remove(&self, name: &str, force: bool) -> Result<Vec<DeleteItem>> {
        let removal = self
            .store
            .remove_image(name, force)
            .map_err(classify(name))?;
        Ok(deleted_items(&removal))
    }

    fn prune(&self, all: bool) -> Result<PruneReport> {
        let removal = self.store.prune(all).map_err(classify(""))?;
        Ok(PruneReport {
            deleted: deleted_items(&removal),
            space_reclaimed: removal.reclaimed,
        })
    }

    fn save(&self, names: &[String], format: ArchiveFormat, out: &mut dyn Write) -> Result<()> {
        let refs = names
            .iter()
            .map(|n| parse_reference(n))
            .collect::<Result<Vec<_>>>()?;
        let format = match format {
            ArchiveFormat::DockerArchive => Format::DockerArchive,
            ArchiveFormat::OciArchive => Format::OciArchive,
        };
        let joined = names.join(", ");
        self.store
            .save(&refs, out, format)
            .map_err(classify_archive(&joined))
    }

    fn load(&self, archive: &mut dyn Read) -> Result<Vec<Loaded>> {
        let images = self.store.load(archive).map_err(classify_archive(""))?;
        let mut out = Vec::new();
        for image in images {
            if image.names.is_empty() {
                out.push(Loaded::Id(image.id.to_string()));
            }
            out.extend(image.names.iter().map(|r| Loaded::Name(familiar(r))));
        }
        Ok(out)
    }

    fn disk_usage(&self) -> Result<ImagesDiskUsage> {
        let du = self.store.disk_usage().map_err(classify(""))?;
        Ok(ImagesDiskUsage {
            total: du.images,
            active: du.active_images,
            size: du.size,
            reclaimable: du.reclaimable,
        })
    }
}

/// Untagged names first, then deleted ids, as docker prints them.
fn deleted_items(removal: &berth_image::Removal) -> Vec<DeleteItem> {
    let untagged = removal.untagged.iter().map(|r| {
        DeleteItem::Untagged(Reference::parse(r).map_or_else(|_| r.clone(), |r| familiar(&r)))
    });
    let deleted = removal
        .deleted
        .iter()
        .map(|id| DeleteItem::Deleted(id.to_string()));
    untagged.chain(deleted).collect()
}
