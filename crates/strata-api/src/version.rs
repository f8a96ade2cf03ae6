//! API versions and their negotiation.
//!
//! The docker CLI negotiates: it reads `Api-Version` from `/_ping` and uses
//! `min(its own, ours)`. Every route is reachable as `/v1.47/...` and unprefixed (the server's
//! maximum). Behaviour gates (prune semantics at 1.42, subpath at 1.45, …) compare against the
//! version of the request, so strata behaves exactly like a Docker engine of that API level.

use std::fmt;

/// An API version `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    pub major: u16,
    pub minor: u16,
}

impl ApiVersion {
    pub const fn new(major: u16, minor: u16) -> ApiVersion {
        ApiVersion { major, minor }
    }

    /// Parses `1.47` (no `v`).
    pub fn parse(s: &str) -> Option<ApiVersion> {
        let (major, minor) = s.split_once('.')?;
        if major.is_empty() || minor.is_empty() || !(major.bytes().chain(minor.bytes()).all(|b| b.is_ascii_digit())) {
            return None;
        }
        Some(ApiVersion { major: major.parse().ok()?, minor: minor.parse().ok()? })
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The newest API version strata speaks: the same as Docker Engine 28 and the docker CLI 28, so
/// the CLI negotiates no downgrade. Every behaviour gate up to it is implemented.
pub const MAX_API_VERSION: ApiVersion = ApiVersion::new(1, 50);
/// The oldest API version strata accepts.
pub const MIN_API_VERSION: ApiVersion = ApiVersion::new(1, 24);

/// Splits a `/vX.Y/` prefix off `path`. Returns the version (if any) and the rest of the path,
/// which always starts with `/`.
pub fn split_version_prefix(path: &str) -> (Option<ApiVersion>, &str) {
    if let Some(rest) = path.strip_prefix("/v") {
        let (candidate, tail) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if let Some(v) = ApiVersion::parse(candidate) {
            return (Some(v), tail);
        }
    }
    (None, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_split() {
        assert_eq!(split_version_prefix("/v1.47/info"), (Some(ApiVersion::new(1, 47)), "/info"));
        assert_eq!(
            split_version_prefix("/v1.24/containers/x/json"),
            (Some(ApiVersion::new(1, 24)), "/containers/x/json")
        );
        assert_eq!(split_version_prefix("/info"), (None, "/info"));
        assert_eq!(split_version_prefix("/volumes/v1.2"), (None, "/volumes/v1.2"));
        assert_eq!(split_version_prefix("/v1.x/info"), (None, "/v1.x/info"));
        assert_eq!(split_version_prefix("/v1.41"), (Some(ApiVersion::new(1, 41)), "/"));
    }

    #[test]
    fn versions_order_numerically() {
        assert!(ApiVersion::new(1, 9) < ApiVersion::new(1, 10));
        assert!(ApiVersion::parse("1.100").expect("v") > MAX_API_VERSION);
        assert_eq!(ApiVersion::parse("1."), None);
        assert_eq!(ApiVersion::parse("a.1"), None);
    }
}
