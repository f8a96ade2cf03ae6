//! The mount points Docker puts in every container's init layer.
//!
//! `docker diff` lists what is in the read-write layer. When the runtime mounts `/proc`, `/sys`,
//! `/dev/shm`, `/etc/hosts`, … and the image lacks the mount point, runc creates it — in the
//! read-write layer — and `docker diff` would show `A /proc`, `C /etc`, `A /etc/hosts` on every
//! container. Docker avoids that by creating those mount points in the init layer, between the
//! image and the read-write layer (`daemon/initlayer`); strata does the same through this list,
//! from the `init` callback of `LayerStore::create_rw`. Mount points of volumes and binds are not
//! pre-created: Docker does not either, and lists them (`A /data` for `-v x:/data` when the image
//! has no `/data`).

use std::io;
use std::path::Path;

/// What an init-layer path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitKind {
    Dir,
    File,
    Symlink(&'static str),
}

/// Docker's init layer (paths relative to the container's root).
pub const DOCKER_INIT_PATHS: [(&str, InitKind); 10] = [
    ("dev/pts", InitKind::Dir),
    ("dev/shm", InitKind::Dir),
    ("proc", InitKind::Dir),
    ("sys", InitKind::Dir),
    (".dockerenv", InitKind::File),
    ("etc/resolv.conf", InitKind::File),
    ("etc/hosts", InitKind::File),
    ("etc/hostname", InitKind::File),
    ("dev/console", InitKind::File),
    ("etc/mtab", InitKind::Symlink("/proc/mounts")),
];

const DIR_MODE: u32 = 0o755;
const FILE_MODE: u32 = 0o755;

/// Creates [`DOCKER_INIT_PATHS`] in the (new, empty) init layer directory `init_dir`, skipping
/// those the image already has (`in_image(path)`, e.g. a lookup in the image's layers) and those
/// already present (files the caller wrote, like `/etc/hosts`), as Docker does. Parents are
/// created with mode 0755.
pub fn populate_init_layer(init_dir: &Path, in_image: impl Fn(&str) -> bool) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    for (path, kind) in DOCKER_INIT_PATHS {
        let target = init_dir.join(path);
        if in_image(path) || target.symlink_metadata().is_ok() {
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(parent)?;
        }
        match kind {
            InitKind::Dir => std::fs::DirBuilder::new().mode(DIR_MODE).create(&target)?,
            InitKind::File => {
                std::fs::OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(&target).map(drop)?
            }
            InitKind::Symlink(to) => std::os::unix::fs::symlink(to, &target)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_what_the_image_and_the_caller_do_not_have() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("etc")).expect("mkdir");
        std::fs::write(dir.path().join("etc/hosts"), "127.0.0.1 localhost\n").expect("hosts");
        populate_init_layer(dir.path(), |p| p == "proc").expect("populate");
        assert!(dir.path().join("dev/pts").is_dir() && dir.path().join("sys").is_dir());
        assert!(!dir.path().join("proc").exists(), "the image has it");
        assert_eq!(std::fs::read_to_string(dir.path().join("etc/hosts")).expect("hosts"), "127.0.0.1 localhost\n");
        assert_eq!(std::fs::read_link(dir.path().join("etc/mtab")).expect("mtab"), Path::new("/proc/mounts"));
        // Idempotent.
        populate_init_layer(dir.path(), |_| false).expect("again");
    }
}
