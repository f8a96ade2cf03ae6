//! Mount errors with Docker's exact wording and the status class Docker gives each one.
//!
//! The message is observable behaviour: the CLI prints it after `Error response from daemon: `
//! and scripts grep for it. The status class is observable too, and not always the obvious one:
//! a malformed `-v` spec is a **500** in Docker (its parser returns plain errors), while the same
//! mistake through `--mount` is a **400**; a missing `--volumes-from` container is a **400**,
//! never a 404 (a 404 from `create` makes the CLI try to pull the image). This crate knows nothing
//! of HTTP; it only says which class each error belongs to, and the API layer maps classes to
//! status codes in one place.

use crate::gocompat::{quote, quote_list};

/// Docker's error classes (its `errdefs` kinds) that mount planning can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// HTTP 400: the request asks for something invalid.
    InvalidParameter,
    /// HTTP 500: Docker returns these as plain errors (no kind), including `-v` parse errors and
    /// failures at container start.
    System,
}

/// The reason inside `invalid mount config for type "<type>": <reason>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigProblem {
    #[error("field {0} must not be empty")]
    MissingField(&'static str),
    #[error("field {0} must not be specified")]
    ExtraField(&'static str),
    #[error("invalid specification: destination can't be '/'")]
    DestinationIsRoot,
    #[error("invalid mount path: '{0}' mount path must be absolute")]
    NotAbsolute(String),
    #[error("invalid propagation mode: {0}")]
    InvalidPropagation(String),
    #[error("bind source path does not exist: {0}")]
    BindSourceMissing(String),
    /// The existence check itself failed (e.g. permission denied on a parent directory).
    #[error("stat {path}: {reason}")]
    BindSourceStat { path: String, reason: String },
    #[error("must not set ReadOnly mode when using anonymous volumes")]
    ReadOnlyAnonymousVolume,
    #[error("must not set Subpath when using anonymous volumes")]
    SubpathAnonymousVolume,
    #[error("subpath must be a relative path within the volume")]
    SubpathNotLocal,
    #[error("invalid option array length")]
    TmpfsOptionArrayLength,
    #[error("invalid option: {0}")]
    TmpfsOption(String),
    #[error("mount type unknown")]
    UnknownType,
}

/// Everything that can go wrong turning a container's mount requests into a plan, or bringing
/// that plan up at start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MountError {
    /// A `HostConfig.Mounts` entry failed validation. 400.
    #[error("invalid mount config for type {}: {problem}", quote(.mount_type))]
    InvalidMountConfig { mount_type: String, problem: ConfigProblem },

    /// A `-v` spec that does not split into `[source:]target[:mode]`. 500.
    #[error("invalid volume specification: '{spec}'")]
    InvalidBindSpec { spec: String },

    /// A `-v` spec whose parts fail the same checks as `--mount`. 500.
    #[error("invalid volume specification: '{spec}': invalid mount config for type {}: {problem}", quote(.mount_type))]
    InvalidBindConfig { spec: String, mount_type: String, problem: ConfigProblem },

    /// A `-v` mode field (`ro,rw`, `shared,slave`, `bogus`…) that Docker refuses. 500.
    #[error("invalid mode: {mode}")]
    InvalidBindMode { mode: String },

    /// A `--volumes-from c:<mode>` mode Docker refuses. 400.
    #[error("invalid mode: {mode}")]
    InvalidVolumesFromMode { mode: String },

    /// `--volumes-from ""`. 400.
    #[error("volumes-from specification cannot be an empty string")]
    EmptyVolumesFrom,

    /// `--volumes-from` names a container that does not exist. 400 (not 404: a 404 from create
    /// sends the CLI into an image pull).
    #[error("No such container: {0}")]
    NoSuchContainer(String),

    /// A `HostConfig.Tmpfs` key that is relative or `/`. 400, without the mount-config prefix.
    #[error("{0}")]
    InvalidTmpfsDestination(ConfigProblem),

    /// Two mounts for one destination. 400.
    #[error("Duplicate mount point: {0}")]
    DuplicateMountPoint(String),

    /// A bind whose source contains (or is inside) the data-root, with a private propagation:
    /// the container would pin mounts the daemon needs to remove. 400.
    #[error(
        "invalid mount config: must use either propagation mode \"rslave\" or \"rshared\" when mount source is within the daemon root, daemon root: {}, bind mount source: {}, propagation: {}",
        quote(.daemon_root),
        quote(.bind_source),
        quote(.propagation)
    )]
    DaemonRootPropagation { daemon_root: String, bind_source: String, propagation: String },

    /// `VolumeOptions`/`BindOptions`/`TmpfsOptions` on a mount of another type (API >= 1.42). 400.
    #[error("{options} must not be specified on mount type {}", quote(.mount_type))]
    OptionsForOtherType { options: &'static str, mount_type: String },

    /// `BindOptions.ReadOnlyForceRecursive` from a client below API 1.44. 400.
    #[error("BindOptions.ReadOnlyForceRecursive needs API v1.44 or newer")]
    ForceRecursiveNeedsNewerApi,

    /// `VolumeOptions.Subpath` from a client below API 1.45. 400.
    #[error("VolumeOptions.Subpath needs API v1.45 or newer")]
    SubpathNeedsNewerApi,

    /// A local volume name outside Docker's rule: one character, or outside
    /// `[a-zA-Z0-9][a-zA-Z0-9_.-]+` (e.g. `-v foo/bar:/d`), or too long. 400.
    #[error("create {name}: {source}")]
    VolumeName { name: String, source: crate::volume_name::NameError },

    /// A tmpfs option that is neither a mount flag nor a known `key=value` (at start). 500.
    #[error("invalid tmpfs option {}", quote_list(.fields))]
    InvalidTmpfsOption { fields: Vec<String> },

    /// A tmpfs option value the kernel refuses (`size=abc`, `mode=8`…), at start. 500, with the
    /// text Docker relays from runc.
    #[error(
        "failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: error mounting \"tmpfs\" to rootfs at {}: mount tmpfs:{destination} (via /proc/self/fd/6), flags: {flags:#x}, data: {data}: invalid argument: unknown",
        quote(.destination)
    )]
    TmpfsRejected { destination: String, flags: u64, data: String },

    /// Contradictory recursive-read-only bind options, at start. 500.
    #[error("mount options conflict: {0}")]
    BindOptionsConflict(&'static str),

    /// `ReadOnlyForceRecursive` on a host or runtime without recursive read-only mounts. 500.
    #[error("{reason}")]
    RecursiveReadOnlyUnsupported { reason: String },

    /// A mount that cannot be set up at start for a reason Docker reports late (e.g. an anonymous
    /// volume over `/` from `Config.Volumes`). 500.
    #[error("{0}")]
    InvalidAtStart(ConfigProblem),

    /// A volume mount with a subpath was handed to the OCI step without its resolved host path.
    /// 500; an engine bug, not a user error.
    #[error("mount at {destination}: volume subpath {subpath} has not been resolved to a host path")]
    UnresolvedSubpath { destination: String, subpath: String },
}

impl MountError {
    /// The class Docker gives this error; the API maps it to the HTTP status.
    pub fn status_class(&self) -> ErrorClass {
        use MountError::*;
        match self {
            InvalidMountConfig { .. }
            | InvalidVolumesFromMode { .. }
            | EmptyVolumesFrom
            | NoSuchContainer(_)
            | InvalidTmpfsDestination(_)
            | DuplicateMountPoint(_)
            | DaemonRootPropagation { .. }
            | OptionsForOtherType { .. }
            | ForceRecursiveNeedsNewerApi
            | SubpathNeedsNewerApi
            | VolumeName { .. } => ErrorClass::InvalidParameter,
            InvalidBindSpec { .. }
            | InvalidBindConfig { .. }
            | InvalidBindMode { .. }
            | InvalidTmpfsOption { .. }
            | TmpfsRejected { .. }
            | BindOptionsConflict(_)
            | RecursiveReadOnlyUnsupported { .. }
            | InvalidAtStart(_)
            | UnresolvedSubpath { .. } => ErrorClass::System,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_quote_like_go() {
        let e = MountError::InvalidMountConfig { mount_type: "a\"b".into(), problem: ConfigProblem::UnknownType };
        assert_eq!(e.to_string(), r#"invalid mount config for type "a\"b": mount type unknown"#);
        let e = MountError::OptionsForOtherType { options: "VolumeOptions", mount_type: "bind".into() };
        assert_eq!(e.to_string(), r#"VolumeOptions must not be specified on mount type "bind""#);
        let e = MountError::TmpfsRejected { destination: "/t".into(), flags: 0xe, data: "size=abc".into() };
        assert_eq!(
            e.to_string(),
            "failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: error mounting \"tmpfs\" to rootfs at \"/t\": mount tmpfs:/t (via /proc/self/fd/6), flags: 0xe, data: size=abc: invalid argument: unknown"
        );
    }
}
