//! What the planner needs to know about the world outside the request.
//!
//! Planning is pure logic except for two facts: whether a `--mount type=bind` source exists on
//! the host (Docker refuses a missing one at create), and which mounts another container has
//! (`--volumes-from`). Both sit behind small traits so every rule is testable with a table of
//! made-up paths and containers; [`RealHostFs`] is the one-line production implementation of the
//! first, and the engine implements the second from its container store.

use std::io;
use std::path::Path;

use crate::plan::PlannedMount;

/// The host filesystem, as far as mount validation looks at it.
pub trait HostFs {
    /// Whether `path` exists (following symlinks, like Docker's `os.Stat`). `Ok(false)` only for
    /// "no such file or directory"; other failures (a parent that is not a directory, permission
    /// denied) are errors and Docker reports them as such.
    fn exists(&self, path: &Path) -> io::Result<bool>;
}

/// Asks the real filesystem.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealHostFs;

impl HostFs for RealHostFs {
    fn exists(&self, path: &Path) -> io::Result<bool> {
        match std::fs::metadata(path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// A predicate is a host whose every other question succeeds: handy in tests and tools.
impl<F> HostFs for F
where
    F: Fn(&Path) -> bool,
{
    fn exists(&self, path: &Path) -> io::Result<bool> {
        Ok(self(path))
    }
}

/// The engine's answer to `--volumes-from <container>`.
pub trait ContainerMounts {
    /// The stored mount plan entries of the container named or identified by `name_or_id`, or
    /// `None` when there is no such container. Volume entries must carry the resolved volume name
    /// in their [`PlannedMount::mount_point`].
    fn mounts_of(&self, name_or_id: &str) -> Option<Vec<PlannedMount>>;
}

/// No other containers exist: every `--volumes-from` fails with `No such container`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoContainers;

impl ContainerMounts for NoContainers {
    fn mounts_of(&self, _name_or_id: &str) -> Option<Vec<PlannedMount>> {
        None
    }
}

/// Renders an I/O error the way Go prints a syscall error: lower-case, without the
/// `(os error N)` suffix Rust adds.
pub(crate) fn go_error_text(e: &io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error ") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_fs_distinguishes_missing_from_unreadable() {
        assert!(RealHostFs.exists(Path::new("/")).expect("root exists"));
        assert!(!RealHostFs.exists(Path::new("/nonexistent-strata-mount-test")).expect("missing is not an error"));
        // A path below a regular file: ENOTDIR, which Docker reports instead of "does not exist".
        let below_file = Path::new("/proc/self/status/x");
        let err = RealHostFs.exists(below_file).expect_err("ENOTDIR");
        assert_eq!(go_error_text(&err), "not a directory");
    }

    #[test]
    fn go_error_text_strips_rust_decoration() {
        let e = io::Error::from_raw_os_error(13);
        assert_eq!(go_error_text(&e), "permission denied");
        let e = io::Error::other("Custom thing");
        assert_eq!(go_error_text(&e), "custom thing");
    }
}
