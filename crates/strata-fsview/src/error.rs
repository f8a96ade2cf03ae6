//! The one error type of the crate, and the HTTP class each variant belongs to.
//!
//! The texts are Docker's where Docker has one, because the docker CLI prints them as they are
//! and users (and scripts) match on them. The status class is only a hint for `strata-api`,
//! which owns the mapping to status codes.

use std::io;

use strata_archive::ArchiveError;

/// Why an operation on a container's filesystem view failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ViewError {
    /// The path does not exist in the container's view (or a component of it is not a
    /// directory). Docker's full text names the container too: see [`ViewError::docker_message`].
    #[error("Could not find the file {path} in container")]
    NotFound { path: String },

    /// `PUT /archive` into something that is not a directory.
    #[error("extraction point is not a directory")]
    NotADirectory { path: String },

    /// `PUT /archive` into the root filesystem of a `--read-only` container.
    #[error("container rootfs is marked read-only")]
    ReadOnlyRootfs { path: String },

    /// `PUT /archive` into a read-only volume or bind mount.
    #[error("mounted volume is marked read-only")]
    ReadOnlyMount { path: String, destination: String },

    /// More than [`crate::MAX_SYMLINKS`] symlinks on the way.
    #[error("too many levels of symbolic links resolving {path}")]
    TooManyLinks { path: String },

    /// The view itself is unusable (a rootfs or mount source that cannot be opened, a mount
    /// destination that is not absolute).
    #[error("invalid container filesystem view: {reason}")]
    InvalidView { reason: String },

    /// The archive could not be read, applied or written.
    #[error(transparent)]
    Archive(#[from] ArchiveError),

    /// A system call failed.
    #[error("cannot {op} {path}: {source}")]
    Io { op: &'static str, path: String, source: io::Error },
}

/// How `strata-api` should answer a [`ViewError`], following Docker (API ≥ 1.42 behaviour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// 404.
    NotFound,
    /// 400: the request or its archive is at fault.
    BadRequest,
    /// 500.
    Internal,
}

impl ViewError {
    pub fn status_class(&self) -> StatusClass {
        match self {
            ViewError::NotFound { .. } => StatusClass::NotFound,
            // Docker 28 answers both read-only refusals with 400 (20.10 used 500).
            ViewError::NotADirectory { .. }
            | ViewError::ReadOnlyRootfs { .. }
            | ViewError::ReadOnlyMount { .. }
            | ViewError::TooManyLinks { .. } => StatusClass::BadRequest,
            ViewError::Archive(e) if e.is_bad_input() => StatusClass::BadRequest,
            ViewError::Archive(_) | ViewError::InvalidView { .. } | ViewError::Io { .. } => StatusClass::Internal,
        }
    }

    /// The message Docker sends, which names the container for a missing path:
    /// `Could not find the file /nonexist in container rtm`.
    pub fn docker_message(&self, container: &str) -> String {
        match self {
            ViewError::NotFound { path } => format!("Could not find the file {path} in container {container}"),
            other => other.to_string(),
        }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<String>) -> impl FnOnce(io::Error) -> ViewError {
        let path = path.into();
        move |source| ViewError::Io { op, path, source }
    }
}
