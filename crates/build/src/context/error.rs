//! The build context's one error type. Each variant names the operation that failed and
//! carries the path or pattern it failed on, so a message is actionable on its own.

use std::io;
use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("parse pattern {pattern:?}: {reason}")]
    BadPattern {
        pattern: String,
        reason: &'static str,
    },

    #[error("read build context: {source}")]
    ReadContext { source: io::Error },

    #[error("spool build context into {path}: {source}")]
    Spool { path: PathBuf, source: io::Error },

    #[error("index build context entry {entry:?}: {reason}")]
    UnsafeEntry { entry: String, reason: &'static str },

    #[error("read build context entry {path:?}: {source}")]
    ReadEntry { path: String, source: io::Error },

    #[error("resolve build context path {path:?}: {reason}")]
    Resolve { path: String, reason: &'static str },

    #[error("build context path {0:?} not found")]
    NotFound(String),

    #[error("read {path}: {source}")]
    ReadFile { path: PathBuf, source: io::Error },

    #[error("walk {path}: {source}")]
    Walk { path: PathBuf, source: io::Error },

    #[error("write build context entry {path}: {source}")]
    WriteTar { path: PathBuf, source: io::Error },
}
