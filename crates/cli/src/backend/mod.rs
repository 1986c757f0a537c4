//! Where the commands' image operations go: the [`ImageBackend`] trait, with the Engine
//! API's request and response shapes (`ImageSummary`, `ImageInspect`, …, field names as
//! the API spells them), so the commands are written against what the daemon will serve.
//!
//! Today the one implementation is [`local::LocalBackend`], which opens the image store
//! in-process (issue 3 lets image commands run without a daemon). It is temporary: once
//! berthd serves the Engine API, an implementation over `berth-api-client` replaces it
//! and no command changes.

pub mod local;

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

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

/// `GET /images/{name}/json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    pub id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub parent: String,
    pub comment: String,
    /// RFC 3339.
    pub created: String,
    pub author: String,
    /// The image config's `config` (Env, Cmd, Entrypoint, WorkingDir, Labels, …): OCI and
    /// Docker spell these fields alike.
    pub config: serde_json::Value,
    pub architecture: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub os: String,
    pub size: u64,
    #[serde(rename = "RootFS")]
    pub root_fs: RootFs,
    pub metadata: Metadata,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootFs {
    #[serde(rename = "Type")]
    pub kind: String,
    pub layers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Metadata {
    /// RFC 3339, or empty when unknown.
    pub last_tag_time: String,
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

/// The image operations the commands need, as the Engine API offers them.
pub trait ImageBackend {
    /// `POST /images/create?fromSrc=-&repo=…`: imports a root filesystem archive (tar,
    /// gzip or zstd) as an image named `reference`, returning its id (`sha256:…`).
    fn import(&self, archive: &mut dyn Read, reference: &str) -> Result<String>;

    /// `GET /images/json`.
    fn list(&self, all: bool, filters: &ImageFilters) -> Result<Vec<ImageSummary>>;

    /// `GET /images/{name}/json`: `name` is a reference, an id or an id prefix.
    fn inspect(&self, name: &str) -> Result<ImageInspect>;

    /// `GET /images/{name}/history`.
    fn history(&self, name: &str) -> Result<Vec<HistoryItem>>;

    /// `POST /images/{name}/tag`: `target` names the image `source` names.
    fn tag(&self, source: &str, target: &str) -> Result<()>;

    /// `DELETE /images/{name}?force=…`.
    fn remove(&self, name: &str, force: bool) -> Result<Vec<DeleteItem>>;
}
