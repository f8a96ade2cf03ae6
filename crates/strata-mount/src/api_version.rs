//! The Docker API version a request was made with, and the mount behaviours gated on it.
//!
//! Docker changes what `HostConfig.Mounts` means from one API version to the next (new fields
//! are ignored for old clients, new checks only apply to new ones). The engine answers every
//! version from its minimum up to the one it claims, so the planner takes the request's version
//! as an input instead of assuming the newest; each gate below names the version where Docker's
//! behaviour changes.

use std::fmt;
use std::str::FromStr;

/// A Docker Engine API version such as `1.41`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    pub major: u16,
    pub minor: u16,
}

impl ApiVersion {
    pub const fn new(major: u16, minor: u16) -> ApiVersion {
        ApiVersion { major, minor }
    }

    /// True when `self` is at least `gate`.
    pub fn at_least(self, gate: ApiVersion) -> bool {
        self >= gate
    }
}

/// `BindOptions.NonRecursive` exists; below, Docker ignores it.
pub const NON_RECURSIVE_BINDS: ApiVersion = ApiVersion::new(1, 40);
/// `BindOptions.CreateMountpoint` exists, and options of the wrong type (`VolumeOptions` on a
/// bind, …) are refused instead of silently dropped.
pub const TYPED_MOUNT_OPTIONS: ApiVersion = ApiVersion::new(1, 42);
/// Read-only binds become recursively read-only by default; `ReadOnlyForceRecursive` exists.
pub const RECURSIVE_READ_ONLY: ApiVersion = ApiVersion::new(1, 44);
/// `VolumeOptions.Subpath` exists.
pub const VOLUME_SUBPATH: ApiVersion = ApiVersion::new(1, 45);
/// `type=image` mounts exist, and a container-wide `VolumeDriver` next to `Mounts` volumes
/// without a driver draws a warning.
pub const IMAGE_MOUNTS: ApiVersion = ApiVersion::new(1, 48);

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A version string that is not `MAJOR.MINOR`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid API version {0:?}")]
pub struct ParseApiVersionError(pub String);

impl FromStr for ApiVersion {
    type Err = ParseApiVersionError;

    fn from_str(s: &str) -> Result<ApiVersion, ParseApiVersionError> {
        let err = || ParseApiVersionError(s.to_owned());
        let (major, minor) = s.split_once('.').ok_or_else(err)?;
        Ok(ApiVersion { major: major.parse().map_err(|_| err())?, minor: minor.parse().map_err(|_| err())? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders_versions() {
        let cases = [
            ("1.41", Some(ApiVersion::new(1, 41))),
            ("1.9", Some(ApiVersion::new(1, 9))),
            ("1", None),
            ("x.1", None),
            ("1.x", None),
        ];
        for (input, want) in cases {
            assert_eq!(input.parse::<ApiVersion>().ok(), want, "{input}");
        }
        assert!(ApiVersion::new(1, 9) < ApiVersion::new(1, 41));
        assert!(ApiVersion::new(1, 45).at_least(VOLUME_SUBPATH));
        assert!(!ApiVersion::new(1, 44).at_least(VOLUME_SUBPATH));
        assert_eq!(ApiVersion::new(1, 47).to_string(), "1.47");
    }
}
