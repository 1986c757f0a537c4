//! The builder's one error type: each variant names what failed (the step, the path, the
//! image) so `docker build` can print it as one line.

use std::io;
use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Dockerfile does not parse; the message carries `file:line:column`.
    #[error("{0}")]
    Parse(#[from] crate::dockerfile::error::ParseError),

    #[error("{file}:{line}:{column}: {message}")]
    Step { file: String, line: usize, column: usize, message: String },

    /// A RUN whose command failed: Docker's wording, and its exit code for the client's.
    #[error("The command '{command}' returned a non-zero code: {code}")]
    RunFailed { command: String, code: i32 },

    #[error("{0}")]
    Context(#[from] crate::context::error::Error),

    #[error("{0}")]
    Image(#[from] berth_image::Error),

    /// What the caller's services (pulling an image, a network) reported.
    #[error("{0}")]
    Service(String),

    #[error("{what} {path}: {source}")]
    Io { what: &'static str, path: PathBuf, source: io::Error },

    #[error("run the OCI runtime {path}: {source}")]
    Runtime { path: PathBuf, source: io::Error },

    #[error("{0}")]
    Invalid(String),

    #[error("the build was cancelled")]
    Cancelled,
}

impl Error {
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { what, path, source }
    }

    /// The exit status a client should end with (a failed RUN's own code, else 1).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::RunFailed { code, .. } if *code != 0 => *code,
            _ => 1,
        }
    }
}
