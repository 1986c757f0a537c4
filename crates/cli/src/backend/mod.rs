//! Where the commands' image operations go: the [`ImageBackend`] trait, with the Engine
//! API's request and response shapes (`ImageSummary`, `ImageInspect`, …, field names as
//! the API spells them), so the commands are written against what the daemon serves.
//!
//! Two implementations: [`api::ApiBackend`] over `berth-api-client`, the default, and
//! [`local::LocalBackend`], which opens the image store in-process when `--data-root` is
//! given (daemonless image access, issue 3). No command knows which one it talks to.

pub mod api;
pub mod local;

use std::collections::BTreeMap;
use std::fmt;
use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

/// What a backend failed with. `NotFound` and `Conflict` are the Engine API's 404 and 409,
/// which callers treat specially (`rmi` of several images, exit codes); the message is
/// always readable on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    NotFound(String),
    Conflict(String),
    Invalid(String),
    Other(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound(m) | Error::Conflict(m) | Error::Invalid(m) | Error::Other(m) => {
                f.write_str(m)
            }
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `GET /images/json` filters (`-f key=value`); each key may be given several times.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageFilters {
    pub dangling: Option<bool>,
    /// `key` or `key=value`; an image must match all of them.
    pub label: Vec<String>,
    /// Patterns (`busy*`, `busybox:1.*`); an image must match one of them.
    pub reference: Vec<String>,
}

/// One element of `GET /images/json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageSummary {
    pub id: String,
    pub parent_id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    /// Unix seconds.
    pub created: i64,
    pub size: u64,
    /// -1: not computed (as the API says).
    pub shared_size: i64,
    pub labels: BTreeMap<String, String>,
    /// -1: not computed.
    pub containers: i64,
}

/// One element of `GET /images/{name}/history`, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryItem {
    /// The image id for the entry that made the image, `<missing>` for the others.
    pub id: String,
    pub created: i64,
    pub created_by: String,
    pub tags: Vec<String>,
    pub size: u64,
    pub comment: String,
}

/// One element of `DELETE /images/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeleteItem {
    Untagged(String),
    Deleted(String),
}

/// `POST /images/prune`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PruneReport {
    pub deleted: Vec<DeleteItem>,
    pub space_reclaimed: u64,
}

/// The images part of `GET /system/df`, summed up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImagesDiskUsage {
    pub total: usize,
    pub active: usize,
    /// Bytes the images take, shared content counted once.
    pub size: u64,
    /// Bytes `image prune -a` would free.
    pub reclaimable: u64,
}

/// What `GET /images/get` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    DockerArchive,
    OciArchive,
}

/// One image of `POST /images/load`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded {
    /// A name now naming a loaded image (`busybox:latest`).
    Name(String),
    /// An untagged image, known by its id.
    Id(String),
}

/// The image operations the commands need, as the Engine API offers them.
pub trait ImageBackend {
    /// `POST /images/create?fromSrc=-&repo=…`: imports a root filesystem archive (tar,
    /// gzip or zstd) as an image named `reference` (untagged without one), returning its
    /// id (`sha256:…`).
    fn import(&self, archive: &mut dyn Read, reference: Option<&str>) -> Result<String>;

    /// `GET /images/json`.
    fn list(&self, all: bool, filters: &ImageFilters) -> Result<Vec<ImageSummary>>;

    /// `GET /images/{name}/json`: `name` is a reference, an id or an id prefix. The
    /// API's JSON as it is (`Id`, `RepoTags`, `RootFS`, `Config`, …).
    fn inspect(&self, name: &str) -> Result<serde_json::Value>;

    /// `GET /images/{name}/history`.
    fn history(&self, name: &str) -> Result<Vec<HistoryItem>>;

    /// `POST /images/{name}/tag`: `target` names the image `source` names.
    fn tag(&self, source: &str, target: &str) -> Result<()>;

    /// `DELETE /images/{name}?force=…`.
    fn remove(&self, name: &str, force: bool) -> Result<Vec<DeleteItem>>;

    /// `POST /images/prune`: dangling images, or with `all` every unused image.
    fn prune(&self, all: bool) -> Result<PruneReport>;

    /// `GET /images/get?names=…`: the images as one archive.
    fn save(&self, names: &[String], format: ArchiveFormat, out: &mut dyn Write) -> Result<()>;

    /// `POST /images/load`: every image of a docker-archive or OCI archive.
    fn load(&self, archive: &mut dyn Read) -> Result<Vec<Loaded>>;

    /// The images part of `GET /system/df`.
    fn disk_usage(&self) -> Result<ImagesDiskUsage>;
}
