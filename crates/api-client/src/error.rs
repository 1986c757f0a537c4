//! What a request can fail with. The daemon's own refusals keep its status and message
//! (`{"message": "No such container: x"}`) so the CLI can print docker's wording and pick
//! exit codes (404 vs the rest).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid host {0:?}: {1}")]
    InvalidHost(String, &'static str),
    #[error("cannot connect to the daemon at unix://{}: {source}; is berthd running?", path.display())]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A non-success status; `message` is the daemon's `message` field, or the body.
    #[error("Error response from daemon: {message}")]
    Daemon { status: u16, message: String },
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    #[error("invalid request: {0}")]
    Request(#[from] http::Error),
    #[error("decode {what}: {source}")]
    Decode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("the daemon did not upgrade the connection for {0} (status {1})")]
    NoUpgrade(&'static str, u16),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Protocol(String),
}

impl Error {
    /// The HTTP status of a daemon refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Daemon { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The daemon's message alone (without "Error response from daemon: ").
    pub fn daemon_message(&self) -> Option<&str> {
        match self {
            Error::Daemon { message, .. } => Some(message),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
