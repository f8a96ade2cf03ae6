//! Errors of the volume service, worded as Docker words them.
//!
//! Docker wraps every volume error in an operation and a name (`create x: …`, `get x: no such
//! volume`, `remove x: volume is in use - […]`); clients and scripts match on those texts, so the
//! variants carry both and the `Display` text is the whole message the API sends. Which HTTP
//! status each variant gets is decided in `strata-api`, nowhere else.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::name::{NameError, go_quote};
use crate::options::OptionError;

/// The operation an error happened in, as Docker names it in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Create,
    Get,
    Remove,
    Mount,
    Unmount,
    Prune,
    Usage,
    Reconcile,
    Export,
    Import,
    Clone,
    Backup,
    Restore,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Create => "create",
            Op::Get => "get",
            Op::Remove => "remove",
            Op::Mount => "mount",
            Op::Unmount => "unmount",
            Op::Prune => "prune",
            Op::Usage => "usage",
            Op::Reconcile => "reconcile",
            Op::Export => "export",
            Op::Import => "import",
            Op::Clone => "clone",
            Op::Backup => "backup",
            Op::Restore => "restore",
        })
    }
}

/// Everything that can go wrong with volumes.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("create {name}: {source}")]
    InvalidName { name: String, source: NameError },
    #[error("create {name}: {source}")]
    InvalidOption { name: String, source: OptionError },
    #[error("create {name}: invalid label {label:?}: label names must not be empty")]
    EmptyLabelKey { name: String, label: String },
    #[error("create {name}: quota size requested but no quota support: {why}")]
    NoQuota { name: String, why: String },
    #[error("create {name}: error looking up volume plugin {driver}: plugin {} not found", go_quote(driver))]
    PluginNotFound { name: String, driver: String },
    #[error("create {name}: driver '{existing}' already has volume '{name}': volume name must be unique")]
    NameConflict { name: String, existing: String },
    #[error("{op} {name}: no such volume")]
    NotFound { op: Op, name: String },
    #[error("remove {name}: volume is in use - [{}]", holders.join(", "))]
    InUse { name: String, holders: Vec<String> },
    #[error("a prune operation is already running")]
    PruneRunning,
    #[error("{op} {name}: volume is busy: another operation on it did not finish within {secs}s")]
    Busy { op: Op, name: String, secs: u64 },
    /// A filter that cannot be applied (the text is Docker's).
    #[error("{0}")]
    InvalidFilter(String),
    #[error("{op} {name}: {what} {path}: {source}")]
    Io { op: Op, name: String, what: &'static str, path: PathBuf, source: io::Error },
    #[error("{op} {name}: failed to mount local volume: {message}")]
    Mount { op: Op, name: String, message: String },
    #[error("{op} {name}: cannot apply the size limit to {path}: {source}")]
    Quota { op: Op, name: String, path: PathBuf, source: io::Error },
    #[error("{op} {name}: the volume's stored {what} cannot be read: {why}")]
    Corrupt { op: Op, name: String, what: &'static str, why: String },
    #[error("{op} {name}: volume is not empty; use force to replace its contents")]
    NotEmpty { op: Op, name: String },
    #[error("{op} {name}: volume is in use - [{}]; use force to write into it anyway", holders.join(", "))]
    WriteInUse { op: Op, name: String, holders: Vec<String> },
    #[error("{op} {name}: a volume with this name already exists")]
    Exists { op: Op, name: String },
    #[error("{op} {name}: {source}")]
    Archive { op: Op, name: String, source: strata_archive::ArchiveError },
    #[error("{op} {name}: refusing the backup: {why}")]
    BadBackup { op: Op, name: String, why: String },
    #[error("{op} {name}: {why}")]
    Unsupported { op: Op, name: String, why: String },
    #[error("backup {name}: cannot pause the volume's writers: {why}")]
    Freeze { name: String, why: String },
    #[error("{op} {name}: cannot write the stream: {source}")]
    Stream { op: Op, name: String, source: io::Error },
    #[error("metadata database: {0}")]
    Store(#[from] strata_store::StoreError),
}

impl From<strata_store::rusqlite::Error> for VolumeError {
    fn from(e: strata_store::rusqlite::Error) -> VolumeError {
        VolumeError::Store(strata_store::StoreError::Sql(e))
    }
}

impl VolumeError {
    /// An I/O error with its context.
    pub(crate) fn io(op: Op, name: &str, what: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        VolumeError::Io { op, name: name.to_owned(), what, path: path.into(), source }
    }

    /// A "no such volume" error.
    pub(crate) fn not_found(op: Op, name: &str) -> Self {
        VolumeError::NotFound { op, name: name.to_owned() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_docker() {
        let cases: Vec<(VolumeError, &str)> = vec![
            (VolumeError::not_found(Op::Get, "nosuch"), "get nosuch: no such volume"),
            (
                VolumeError::InUse { name: "v".into(), holders: vec!["c1".into(), "c2".into()] },
                "remove v: volume is in use - [c1, c2]",
            ),
            (
                VolumeError::PluginNotFound { name: "x".into(), driver: "other".into() },
                "create x: error looking up volume plugin other: plugin \"other\" not found",
            ),
            (VolumeError::PruneRunning, "a prune operation is already running"),
            (
                VolumeError::InvalidName { name: "a".into(), source: NameError::TooShort },
                "create a: volume name is too short, names should be at least two alphanumeric characters",
            ),
            (
                VolumeError::InvalidOption { name: "x1".into(), source: OptionError::Invalid("foo".into()) },
                "create x1: invalid option: \"foo\"",
            ),
            (
                VolumeError::NoQuota { name: "q".into(), why: "because".into() },
                "create q: quota size requested but no quota support: because",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want);
        }
    }
}
