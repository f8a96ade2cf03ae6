//! Graph drivers: where a layer's files live and how a stack of layers becomes one root
//! filesystem.
//!
//! - [`overlay2`] (default): each layer is a directory of its own changes (`diff/`) and a stack is
//!   an overlayfs mount; Docker's on-disk layout, so `GraphDriver.Data` reads like Docker's.
//! - [`vfs`]: each layer is a full copy of its parent plus its changes (reflinked or
//!   `copy_file_range`d where the filesystem allows), for filesystems overlayfs cannot sit on.
//!
//! Drivers know directories, not identities: they are handed opaque directory names (cache ids)
//! by the layer store, which owns the database rows that make a directory a layer.

pub mod overlay2;
pub mod vfs;

use std::fmt::Debug;
use std::io;
use std::path::{Path, PathBuf};

use crate::tarlayer::Whiteouts;

/// Which driver a data-root uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverKind {
    Overlay2,
    Vfs,
}

impl DriverKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DriverKind::Overlay2 => "overlay2",
            DriverKind::Vfs => "vfs",
        }
    }
}

/// The directory (under the driver home) where removed layers wait for their background
/// deletion; emptied again at every start.
pub const TRASH_DIR: &str = ".trash";

/// Errors of a graph driver.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("{op} {path}: {source}")]
    Io { op: &'static str, path: PathBuf, source: io::Error },
    #[error("mounting {target}: {source}")]
    Mount { target: PathBuf, source: io::Error },
    #[error(
        "storage driver overlay2: the backing filesystem of {path} ({backing}) does not support d_type, which overlayfs \
         needs to find whiteouts; reformat it with d_type (xfs: mkfs.xfs -n ftype=1) or use storage-driver vfs"
    )]
    NoDType { path: PathBuf, backing: String },
    #[error(
        "storage driver overlay2: the kernel has no overlay filesystem (modprobe overlay); or use storage-driver vfs"
    )]
    NoOverlay,
    #[error(
        "storage driver overlay2: {path} is itself on overlayfs, which cannot be an upper layer; use storage-driver vfs"
    )]
    OverlayOnOverlay { path: PathBuf },
}

/// `Result` of driver operations.
pub type DriverResult<T> = Result<T, DriverError>;

pub(crate) fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> DriverError + 'a {
    move |source| DriverError::Io { op, path: path.to_owned(), source }
}

/// A change of a container layer, as `docker diff` shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    /// Absolute path inside the container (`/etc/x`).
    pub path: String,
    pub kind: ChangeKind,
}

/// Docker's change kinds: `C` 0, `A` 1, `D` 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    Modified = 0,
    Added = 1,
    Deleted = 2,
}

/// A storage driver.
pub trait GraphDriver: Debug + Send + Sync {
    fn kind(&self) -> DriverKind;
    /// The driver's directory under the data-root.
    fn home(&self) -> &Path;
    /// How whiteouts of applied layers are stored.
    fn whiteouts(&self) -> Whiteouts;
    /// Whether a layer's content can be applied before its parent is known (overlay2: a diff dir
    /// does not depend on what is below it; vfs: it is a copy of the parent).
    fn stages_without_parent(&self) -> bool;
    /// Creates layer directory `id` on `parent` and returns where its own content goes.
    fn create(&self, id: &str, parent: Option<&str>) -> DriverResult<PathBuf>;
    /// Gives a layer created without a parent its parent (only where
    /// [`GraphDriver::stages_without_parent`]).
    fn set_parent(&self, id: &str, parent: Option<&str>) -> DriverResult<()>;
    /// Where the files a layer's tar put are (for reassembly and size questions).
    fn content_dir(&self, id: &str) -> PathBuf;
    /// Mounts (or otherwise provides) the root filesystem of layer `id` and everything below;
    /// reference-counted.
    fn get(&self, id: &str) -> DriverResult<PathBuf>;
    /// Releases one [`GraphDriver::get`]; the last release unmounts.
    fn put(&self, id: &str) -> DriverResult<()>;
    /// Removes layer `id`'s directory. Fast: the directory is moved to the trash and deleted in the
    /// background.
    fn remove(&self, id: &str) -> DriverResult<()>;
    /// `GraphDriver.Data` of layer `id`.
    fn data(&self, id: &str) -> Vec<(String, String)>;
    /// The layer directories present (for the start-up reconcile).
    fn list(&self) -> DriverResult<Vec<String>>;
    /// The changes of layer `id` against `parent`.
    fn changes(&self, id: &str, parent: Option<&str>) -> DriverResult<Vec<Change>>;
    /// Start-up repair: unmount whatever is still mounted under the home, empty the trash.
    fn cleanup(&self) -> DriverResult<()>;
}

/// Deletes everything in `home/.trash` on a background thread.
pub(crate) fn purge_trash_in_background(home: &Path) {
    let trash = home.join(TRASH_DIR);
    let spawned = std::thread::Builder::new().name("layer-trash".into()).spawn(move || {
        if let Ok(entries) = std::fs::read_dir(&trash) {
            for e in entries.flatten() {
                if let Err(err) = std::fs::remove_dir_all(e.path()) {
                    tracing::warn!(path = %e.path().display(), error = %err, "cannot delete removed layer");
                }
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the layer trash thread");
    }
}

/// Moves `dir` into `home/.trash` under a unique name (an O(1) rename; the contents are deleted
/// later by [`purge_trash_in_background`]).
pub(crate) fn move_to_trash(home: &Path, dir: &Path, id: &str) -> DriverResult<()> {
    let trash = home.join(TRASH_DIR);
    std::fs::create_dir_all(&trash).map_err(io_err("create", &trash))?;
    let dest = trash.join(format!("{id}-{}", crate::id::random_link_id()));
    match std::fs::rename(dir, &dest) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(DriverError::Io { op: "remove", path: dir.to_owned(), source: e }),
    }
}

/// What `docker info` shows for a driver, and which driver to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverChoice {
    pub kind: DriverKind,
    /// `Backing Filesystem`, `Supports d_type`, `Native Overlay Diff`, … in display order.
    pub status: Vec<(String, String)>,
}

/// The facts about a data-root the choice depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostStorage {
    pub backing: strata_sys::fsprobe::FsKind,
    pub d_type: bool,
    pub overlay_in_kernel: bool,
}

impl HostStorage {
    /// Reads the facts of `root` from the machine.
    pub fn read(root: &Path) -> io::Result<HostStorage> {
        Ok(HostStorage {
            backing: strata_sys::fsprobe::backing_filesystem(root)?,
            d_type: strata_sys::fsprobe::supports_d_type(root)?,
            overlay_in_kernel: std::fs::read_to_string("/proc/filesystems")
                .map(|t| t.lines().any(|l| l.trim_end().ends_with("\toverlay")))
                .unwrap_or(false),
        })
    }
}

/// Picks the driver (`requested`, or overlay2 where it can run, else vfs). Pure: the facts are
/// given. Native diff is probed later by the overlay2 driver itself.
pub fn choose(root: &Path, requested: Option<DriverKind>, host: &HostStorage) -> DriverResult<DriverKind> {
    let overlay_ok = host.d_type && host.overlay_in_kernel && host.backing != strata_sys::fsprobe::FsKind::Overlay;
    match requested {
        Some(DriverKind::Overlay2) => {
            if host.backing == strata_sys::fsprobe::FsKind::Overlay {
                return Err(DriverError::OverlayOnOverlay { path: root.to_owned() });
            }
            if !host.d_type {
                return Err(DriverError::NoDType { path: root.to_owned(), backing: host.backing.docker_name() });
            }
            if !host.overlay_in_kernel {
                return Err(DriverError::NoOverlay);
            }
            Ok(DriverKind::Overlay2)
        }
        Some(DriverKind::Vfs) => Ok(DriverKind::Vfs),
        None if overlay_ok => Ok(DriverKind::Overlay2),
        None => Ok(DriverKind::Vfs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_sys::fsprobe::FsKind;

    #[test]
    fn driver_choice_follows_the_filesystem() {
        let root = Path::new("/var/lib/strata");
        let host = |backing, d_type, overlay_in_kernel| HostStorage { backing, d_type, overlay_in_kernel };
        let cases: &[(Option<DriverKind>, HostStorage, Result<DriverKind, &str>)] = &[
            (None, host(FsKind::Ext, true, true), Ok(DriverKind::Overlay2)),
            (None, host(FsKind::Xfs, false, true), Ok(DriverKind::Vfs)),
            (None, host(FsKind::Overlay, true, true), Ok(DriverKind::Vfs)),
            (None, host(FsKind::Ext, true, false), Ok(DriverKind::Vfs)),
            (Some(DriverKind::Vfs), host(FsKind::Ext, true, true), Ok(DriverKind::Vfs)),
            (Some(DriverKind::Overlay2), host(FsKind::Xfs, false, true), Err("does not support d_type")),
            (Some(DriverKind::Overlay2), host(FsKind::Ext, true, false), Err("no overlay filesystem")),
            (Some(DriverKind::Overlay2), host(FsKind::Overlay, true, true), Err("itself on overlayfs")),
        ];
        for (requested, h, want) in cases {
            match (choose(root, *requested, h), want) {
                (Ok(k), Ok(w)) => assert_eq!(k, *w, "{requested:?} {h:?}"),
                (Err(e), Err(needle)) => assert!(e.to_string().contains(needle), "{e}"),
                (got, want) => panic!("{requested:?} {h:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}
