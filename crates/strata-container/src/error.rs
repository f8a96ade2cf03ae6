//! What can go wrong with a container, and which HTTP status each failure is.
//!
//! The classes follow what the docker CLI relies on: a missing *image* at create is the only 404
//! of `POST /containers/create` (anything else would make the CLI start an image pull), "already
//! running" / "not running" are 304 where Docker says nothing changed, and conflicts are 409.

use strata_mount::{ErrorClass, MountError};

/// A container operation's failure.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("No such container: {0}")]
    NotFound(String),
    #[error("No such exec instance: {0}")]
    ExecNotFound(String),
    #[error("multiple IDs found with provided prefix: {0}")]
    Ambiguous(String),
    #[error(
        "Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name."
    )]
    NameInUse { name: String, id: String },
    #[error("{0}")]
    InvalidName(String),
    /// The image of a create is missing (the one 404 of create).
    #[error("{0}")]
    ImageNotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("Container {0} is not running")]
    NotRunning(String),
    #[error("Container {0} is paused, unpause the container before stopping or killing")]
    Paused(String),
    /// Nothing to do (start of a running container, stop of a stopped one): HTTP 304.
    #[error("not modified")]
    NotModified,
    #[error(transparent)]
    Mount(#[from] MountError),
    #[error(transparent)]
    Volume(#[from] strata_volume::VolumeError),
    /// The runtime refused to create or start the container (bad command, missing binary…).
    #[error("{0}")]
    Start(String),
    #[error("{0}")]
    Internal(String),
}

/// How a failure maps to an HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    BadRequest,
    NotFound,
    Conflict,
    NotModified,
    Internal,
    /// Decided by the volume service's own mapping.
    Volume,
}

impl ContainerError {
    pub fn class(&self) -> Class {
        match self {
            ContainerError::NotFound(_) | ContainerError::ImageNotFound(_) | ContainerError::ExecNotFound(_) => {
                Class::NotFound
            }
            ContainerError::Ambiguous(_) | ContainerError::InvalidName(_) | ContainerError::BadRequest(_) => {
                Class::BadRequest
            }
            ContainerError::NameInUse { .. }
            | ContainerError::Conflict(_)
            | ContainerError::NotRunning(_)
            | ContainerError::Paused(_) => Class::Conflict,
            ContainerError::NotModified => Class::NotModified,
            ContainerError::Mount(m) => match m.status_class() {
                ErrorClass::InvalidParameter => Class::BadRequest,
                _ => Class::Internal,
            },
            ContainerError::Volume(_) => Class::Volume,
            ContainerError::Start(_) => Class::BadRequest,
            ContainerError::Internal(_) => Class::Internal,
        }
    }

    pub(crate) fn internal(what: &str, e: impl std::fmt::Display) -> ContainerError {
        ContainerError::Internal(format!("{what}: {e}"))
    }
}

impl From<crate::record::RecordError> for ContainerError {
    fn from(e: crate::record::RecordError) -> Self {
        ContainerError::internal("container store", e)
    }
}

impl From<strata_store::rusqlite::Error> for ContainerError {
    fn from(e: strata_store::rusqlite::Error) -> Self {
        ContainerError::internal("metadata database", e)
    }
}

impl From<strata_layer::LayerError> for ContainerError {
    fn from(e: strata_layer::LayerError) -> Self {
        ContainerError::internal("layer store", e)
    }
}

pub type Result<T, E = ContainerError> = std::result::Result<T, E>;
