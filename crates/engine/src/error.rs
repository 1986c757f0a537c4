//! The engine's errors, each knowing the Engine API status it answers with.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// What an engine operation failed with. The message is what the client prints after
/// `Error response from daemon: `, so it names the container, image or path.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 404: no such container, image, exec instance.
    #[error("{0}")]
    NotFound(String),
    /// 409: the object is in the wrong state (running, in use, name taken).
    #[error("{0}")]
    Conflict(String),
    /// 400: the request itself is wrong.
    #[error("{0}")]
    Invalid(String),
    /// 403: refused on principle (a predefined network, one still in use).
    #[error("{0}")]
    Forbidden(String),
    /// 304: nothing to do (start a running container, stop a stopped one).
    #[error("not modified")]
    NotModified,
    /// 501: a feature berthd does not have yet.
    #[error("{0}")]
    NotImplemented(String),
    /// 500: anything else, with the operation and its cause.
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn internal(what: impl std::fmt::Display, cause: impl std::fmt::Display) -> Error {
        Error::Internal(format!("{what}: {cause}"))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Invalid(_) => StatusCode::BAD_REQUEST,
            Error::NotModified => StatusCode::NOT_MODIFIED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<berth_runtime::user::UserError> for Error {
    fn from(e: berth_runtime::user::UserError) -> Error {
        Error::Invalid(e.to_string())
    }
}

impl From<berth_image::Error> for Error {
    fn from(e: berth_image::Error) -> Error {
        use berth_image::Error as E;
        match e {
            E::ImageNotFound { .. } => Error::NotFound(e.to_string()),
            E::ImageConflict { .. } => Error::Conflict(e.to_string()),
            E::AmbiguousImageId { .. } | E::ParseReference { .. } | E::Tag { .. } => {
                Error::Invalid(e.to_string())
            }
            e => Error::Internal(e.to_string()),
        }
    }
}

impl From<berth_image::ArchiveError> for Error {
    fn from(e: berth_image::ArchiveError) -> Error {
        match e {
            berth_image::ArchiveError::Store(e) => e.into(),
            e => Error::Invalid(e.to_string()),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status == StatusCode::NOT_MODIFIED {
            return status.into_response();
        }
        (status, axum::Json(serde_json::json!({ "message": self.to_string() }))).into_response()
    }
}
