//! API errors: the one place where a failure becomes an HTTP status and Docker's
//! `{"message": "..."}` body.
//!
//! The status is not decoration: the docker CLI reads 404 as "no such object" (and answers a 404
//! from `create` by trying to pull the image), 409 as a conflict and 400 as invalid input. Each
//! engine error maps to the status Docker gives for the same condition.

use http::StatusCode;

/// An error answered to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into() }
    }

    /// 400: the request is malformed or asks for something invalid.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404: the object does not exist.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// 409: the object's state does not allow the operation.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    /// 500: something failed on the daemon's side.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// 501: a route Docker has that strata does not implement.
    pub fn not_implemented(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_IMPLEMENTED, message)
    }
}

impl From<strata_engine::filters::FilterError> for ApiError {
    fn from(e: strata_engine::filters::FilterError) -> ApiError {
        ApiError::bad_request(e.to_string())
    }
}

impl From<strata_image::ImageError> for ApiError {
    fn from(e: strata_image::ImageError) -> ApiError {
        use strata_image::ImageError as E;
        let message = e.to_string();
        match e {
            E::NotFound(_) | E::ReferenceNotFound => ApiError::not_found(message),
            E::Reference(_) | E::TagWithDigest | E::Config(_) | E::Invalid(_) | E::TooDeep(_) => {
                ApiError::bad_request(message)
            }
            E::Conflict(_) => ApiError::conflict(message),
            E::Layer(_) | E::Io(_) | E::Sql(_) => ApiError::internal(message),
        }
    }
}

impl From<strata_volume::VolumeError> for ApiError {
    fn from(e: strata_volume::VolumeError) -> ApiError {
        use strata_volume::VolumeError as V;
        let status = match &e {
            V::InvalidName { .. }
            | V::InvalidOption { .. }
            | V::EmptyLabelKey { .. }
            | V::NoQuota { .. }
            | V::InvalidFilter(_)
            | V::BadBackup { .. }
            | V::Unsupported { .. } => StatusCode::BAD_REQUEST,
            V::Archive { source, .. } if source.is_bad_input() => StatusCode::BAD_REQUEST,
            V::NotFound { .. } | V::PluginNotFound { .. } => StatusCode::NOT_FOUND,
            V::NameConflict { .. }
            | V::InUse { .. }
            | V::PruneRunning
            | V::Busy { .. }
            | V::NotEmpty { .. }
            | V::WriteInUse { .. }
            | V::Exists { .. } => StatusCode::CONFLICT,
            V::Io { .. }
            | V::Mount { .. }
            | V::Quota { .. }
            | V::Corrupt { .. }
            | V::Store(_)
            | V::Archive { .. }
            | V::Freeze { .. }
            | V::Stream { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

/// Result of a route handler.
pub type ApiResult<T> = Result<T, ApiError>;
