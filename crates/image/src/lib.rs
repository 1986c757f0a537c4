//! berth-image: the content-addressed image store and the storage drivers.
//!
//! Owns, main types first:
//! - the store, [`Store`], under one root directory: [`BlobStore`] (content addressed by
//!   [`Digest`] at `<root>/blobs/sha256/<hex>`, verified while written, published by
//!   rename), [`LayerStore`] (layers unpacked once, keyed by [`ChainId`]) and [`ImageIndex`]
//!   (`images.json`: [`Reference`] → manifest digest);
//! - the image model: [`Image`] (OCI manifest and config), [`ImageId`] (config digest);
//! - layer application, [`apply_layer`]: tar, gzip or zstd, whiteouts turned into overlay's
//!   form, and safe against hostile archives (nothing is written outside the destination);
//! - storage drivers, [`mount_rootfs`]: overlayfs, or a copy when the kernel lacks it,
//!   giving a [`MountedRoot`];
//! - image references, [`Reference`], normalized as Docker does;
//! - import of a root filesystem tarball, [`Store::import_rootfs_tar`];
//! - a container's changes, [`changes`] (for `docker diff`) and [`export_changes`] (the
//!   layer tar that commit and build store).
//!
//! Must not know about containers' processes, the HTTP API or registries' protocol: the
//! engine hands this crate references and directories, the registry client hands it
//! streams and digests, and the runtime is given a mounted root filesystem.

pub mod digest;
pub mod driver;
pub mod error;
pub mod image;
pub mod import;
pub mod layer;
pub mod reference;
pub mod store;

pub use digest::Digest;
pub use driver::{mount_rootfs, mount_rootfs_with, DriverKind, MountedRoot};
pub use error::{Error, Result};
pub use image::{Image, ImageId};
pub use layer::apply::{apply_layer, LayerStats};
pub use layer::compression::Compression;
pub use reference::Reference;
pub use store::blobs::{BlobStore, StagedBlob};
pub use store::images::ImageIndex;
pub use store::layers::{ChainId, LayerInfo, LayerStore, Prepared};
pub use store::Store;
pub mod archive;
pub mod manifest;
pub use archive::{ArchiveError, Format, LoadedImage};
pub use manifest::{Descriptor, Document, Index, Manifest, Platform};
pub mod df;
pub mod gc;
pub mod inspect;
pub mod list;
pub mod tag;
pub use df::{DiskUsage, LayerUsage};
pub use gc::Removal;
pub use image::{parse_rfc3339, rfc3339, SHORT_ID_MIN};
pub use inspect::HistoryRow;
pub use list::{familiar, familiar_name, summaries, Filter, ImageRow, ImageSummary, ListOptions};
pub use store::PENDING_GRACE;
pub mod changes;
pub mod export;
pub use changes::{changes, root_changes, Change, ChangeKind};
pub use export::export_changes;
pub mod commit;
pub use commit::{Commit, CommitOptions};
