//! The crate's one error type. Each variant names the operation that failed and carries
//! the path, digest or entry it failed on, so a message is actionable without a backtrace.

use std::io;
use std::path::PathBuf;

use crate::digest::Digest;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("parse digest {input:?}: {reason}")]
    ParseDigest { input: String, reason: &'static str },

    #[error("parse reference {input:?}: {reason}")]
    ParseReference { input: String, reason: String },

    #[error("verify content: expected {expected}, got {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },

    #[error("create store directory {path}: {source}")]
    CreateDir { path: PathBuf, source: io::Error },

    #[error("write blob into {path}: {source}")]
    WriteBlob { path: PathBuf, source: io::Error },

    #[error("read blob {digest}: {source}")]
    ReadBlob { digest: Digest, source: io::Error },

    #[error("remove blob {digest}: {source}")]
    RemoveBlob { digest: Digest, source: io::Error },

    #[error("blob {0} not found")]
    BlobNotFound(Digest),

    #[error("read layer archive: {source}")]
    ReadArchive { source: io::Error },

    #[error("apply layer entry {entry:?}: {source}")]
    ApplyEntry { entry: PathBuf, source: io::Error },

    #[error("apply layer entry {entry:?}: {reason}")]
    UnsafeEntry {
        entry: PathBuf,
        reason: &'static str,
    },

    #[error("open layer destination {path}: {source}")]
    OpenDest { path: PathBuf, source: io::Error },

    #[error("unpack layer into {path}: {source}")]
    UnpackLayer { path: PathBuf, source: io::Error },

    #[error("layer {0} not found")]
    LayerNotFound(Digest),

    #[error("mount overlay on {target}: {source}")]
    Mount { target: PathBuf, source: io::Error },

    #[error("unmount {target}: {source}")]
    Unmount { target: PathBuf, source: io::Error },

    #[error("copy layer {path}: {source}")]
    CopyLayer { path: PathBuf, source: io::Error },

    #[error("read {path}: {source}")]
    ReadMetadata { path: PathBuf, source: io::Error },

    #[error("parse {path}: {source}")]
    ParseMetadata {
        path: PathBuf,
        source: serde_json::Error,
    },

    #[error("write {path}: {source}")]
    WriteMetadata { path: PathBuf, source: io::Error },

    #[error("decode {what} {digest}: {reason}")]
    Decode {
        what: &'static str,
        digest: Digest,
        reason: String,
    },

    #[error("encode {what}: {reason}")]
    Encode { what: &'static str, reason: String },

    #[error("find image {reference}: no such image")]
    ImageNotFound { reference: String },

    #[error("find image {prefix}: short id matches {count} images, give more of it")]
    AmbiguousImageId { prefix: String, count: usize },

    #[error("tag image as {reference}: {reason}")]
    Tag {
        reference: String,
        reason: &'static str,
    },

    #[error("remove image {reference}: {reason}")]
    ImageConflict { reference: String, reason: String },

    #[error("publish image {manifest}: {missing} is not in the store (removed meanwhile?)")]
    IncompleteImage { manifest: Digest, missing: String },

    #[error("hold layers for {owner}: layer {layer} not found")]
    HoldMissingLayer { owner: String, layer: Digest },

    #[error("remove layer {path}: {source}")]
    RemoveLayer { path: PathBuf, source: io::Error },

    #[error("clean up {path}: {source}")]
    CleanUp { path: PathBuf, source: io::Error },

    #[error("measure {path}: {source}")]
    Measure { path: PathBuf, source: io::Error },

    #[error("parse filter {input:?}: {reason}")]
    ParseFilter { input: String, reason: &'static str },

    #[error("compute changes at {path}: {source}")]
    Changes { path: PathBuf, source: io::Error },

    #[error("compute changes of {path}: the copy driver keeps no separate upper directory")]
    ChangesNeedOverlay { path: PathBuf },

    #[error("export changes at {path}: {source}")]
    ExportChanges { path: PathBuf, source: io::Error },
}
