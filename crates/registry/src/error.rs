//! Errors, each naming the operation, the registry and what it was about (repository,
//! digest), so one line tells a user what failed where.

use std::io;

use berth_image::Digest;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The registry could not be reached (connection refused, reset, TLS handshake),
    /// after the retries.
    #[error("{scope}: cannot reach the registry: {reason}")]
    Unreachable { scope: Box<Scope>, reason: String },

    /// The registry refused the credentials, or asked for some and none were given.
    #[error("{scope}: unauthorized: {reason}")]
    Unauthorized { scope: Box<Scope>, reason: String },

    /// A manifest, tag or blob the registry does not have.
    #[error("{scope}: {what} not found")]
    NotFound { scope: Box<Scope>, what: String },

    /// Any other answer the protocol does not allow here.
    #[error("{scope}: {what}: registry answered {status}: {body}")]
    Status {
        scope: Box<Scope>,
        what: String,
        status: u16,
        body: String,
    },

    /// Content that does not hash to the digest that names it: refused, nothing stored.
    #[error("{scope}: {what}: expected {expected}, content has digest {actual}; refused")]
    DigestMismatch {
        scope: Box<Scope>,
        what: String,
        expected: Digest,
        actual: Digest,
    },

    /// A document or answer that does not parse, or an image berth cannot use.
    #[error("{scope}: {reason}")]
    Invalid { scope: Box<Scope>, reason: String },

    /// The image store refused or failed (a layer that does not match its DiffID, a full
    /// disk).
    #[error("{scope}: {what}: {source}")]
    Store {
        scope: Box<Scope>,
        what: String,
        source: Box<berth_image::Error>,
    },

    /// The local image to push, or something it names, is not in the store.
    #[error("{op} {reference}: {reason}")]
    Local {
        op: &'static str,
        reference: String,
        reason: String,
    },

    /// Reading or writing the credentials file, a CA file.
    #[error("{what} {path}: {source}")]
    File {
        what: &'static str,
        path: String,
        source: io::Error,
    },

    /// A configuration that makes no sense (an unparsable config.json, a bad platform).
    #[error("{0}")]
    Config(String),

    /// The caller gave up (the client of a daemon went away).
    #[error("{scope}: cancelled")]
    Cancelled { scope: Box<Scope> },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `op registry/repository`, or `op registry` (a login has no repository).
impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.repository.is_empty() {
            write!(f, "{} {}", self.op, self.registry)
        } else {
            write!(f, "{} {}/{}", self.op, self.registry, self.repository)
        }
    }
}

/// The operation, registry and repository an error is about: built once per session so
/// every error of that session names them.
#[derive(Debug, Clone)]
pub struct Scope {
    pub op: &'static str,
    pub registry: String,
    pub repository: String,
}

impl Scope {
    pub fn new(op: &'static str, registry: &str, repository: &str) -> Scope {
        Scope {
            op,
            registry: registry.to_owned(),
            repository: repository.to_owned(),
        }
    }

    pub fn unreachable(&self, reason: impl ToString) -> Error {
        Error::Unreachable {
            scope: Box::new(self.clone()),
            reason: reason.to_string(),
        }
    }

    pub fn unauthorized(&self, reason: impl ToString) -> Error {
        Error::Unauthorized {
            scope: Box::new(self.clone()),
            reason: reason.to_string(),
        }
    }

    pub fn not_found(&self, what: impl ToString) -> Error {
        Error::NotFound {
            scope: Box::new(self.clone()),
            what: what.to_string(),
        }
    }

    pub fn status(&self, what: impl ToString, status: u16, body: impl ToString) -> Error {
        Error::Status {
            scope: Box::new(self.clone()),
            what: what.to_string(),
            status,
            body: body.to_string(),
        }
    }

    pub fn mismatch(&self, what: impl ToString, expected: &Digest, actual: Digest) -> Error {
        Error::DigestMismatch {
            scope: Box::new(self.clone()),
            what: what.to_string(),
            expected: expected.clone(),
            actual,
        }
    }

    pub fn invalid(&self, reason: impl ToString) -> Error {
        Error::Invalid {
            scope: Box::new(self.clone()),
            reason: reason.to_string(),
        }
    }

    pub fn store(&self, what: impl ToString, source: berth_image::Error) -> Error {
        match source {
            berth_image::Error::DigestMismatch { expected, actual } => {
                self.mismatch(what, &expected, actual)
            }
            source => Error::Store {
                scope: Box::new(self.clone()),
                what: what.to_string(),
                source: Box::new(source),
            },
        }
    }

    pub fn cancelled(&self) -> Error {
        Error::Cancelled {
            scope: Box::new(self.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_operation_registry_repository_and_digests() {
        let s = Scope::new("pull", "127.0.0.1:5000", "a/b");
        let want = Digest::of(b"want");
        let got = Digest::of(b"got");
        let e = s.store(
            "blob",
            berth_image::Error::DigestMismatch {
                expected: want.clone(),
                actual: got.clone(),
            },
        );
        assert!(matches!(e, Error::DigestMismatch { .. }));
        assert_eq!(
            e.to_string(),
            format!(
                "pull 127.0.0.1:5000/a/b: blob: expected {want}, content has digest {got}; refused"
            )
        );
        let login = Scope::new("login", "reg:5000", "");
        assert_eq!(
            login.unauthorized("no").to_string(),
            "login reg:5000: unauthorized: no"
        );
    }
}
