//! The runtime's error type: each variant names the operation that failed and carries
//! the path or container it was about, and the OS error.

use std::path::PathBuf;

/// Everything that can go wrong in the runtime library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("container id {0:?} is invalid: ids are non-empty and may not contain '/' or be '.' or '..'")]
    InvalidId(String),
    #[error("container {0} already exists")]
    Exists(String),
    #[error("container {0} does not exist")]
    NotFound(String),
    #[error("container {id} is {status}: {what}")]
    WrongState { id: String, status: String, what: &'static str },
    #[error("load config {path}: {msg}")]
    Config { path: PathBuf, msg: String },
    #[error("invalid config: {0}")]
    InvalidConfig(String),
    #[error("{op} {path}: {source}")]
    Io { op: &'static str, path: PathBuf, #[source] source: std::io::Error },
    #[error("{op}: {source}")]
    Sys { op: String, #[source] source: nix::Error },
    #[error("container init: {0}")]
    Init(String),
    #[error("cgroups: {0}")]
    Cgroup(#[from] berth_cgroups::Error),
    #[error("seccomp: {0}")]
    Seccomp(#[from] berth_seccomp::Error),
    #[error("hook {path}: {msg}")]
    Hook { path: PathBuf, msg: String },
    #[error("state of {id}: {msg}")]
    State { id: String, msg: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error on a path.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { op, path: path.into(), source }
    }
    /// A failed system call, described by `op` (e.g. "setns /proc/1/ns/net").
    pub fn sys(op: impl Into<String>, source: nix::Error) -> Self {
        Error::Sys { op: op.into(), source }
    }
}

/// Attach a description to a `nix` result.
pub trait SysContext<T> {
    fn sys(self, op: impl FnOnce() -> String) -> Result<T>;
}

impl<T> SysContext<T> for nix::Result<T> {
    fn sys(self, op: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::sys(op(), e))
    }
}
