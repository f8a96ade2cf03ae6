//! Facts about the filesystem under a path, read from the kernel.
//!
//! `docker info` reports the backing filesystem of the data-root and whether it supports `d_type`
//! (overlayfs needs it to find whiteouts); both must be true readings, so they come from
//! `statfs(2)` and from a real `getdents` of a scratch directory.

use std::io;
use std::path::Path;

/// `f_type` magic numbers of the filesystems strata cares to name (from `linux/magic.h`).
mod magic {
    pub const EXT: i64 = 0xEF53;
    pub const XFS: i64 = 0x5846_5342;
    pub const BTRFS: i64 = 0x9123_683E;
    pub const TMPFS: i64 = 0x0102_1994;
    pub const OVERLAYFS: i64 = 0x794C_7630;
    pub const ZFS: i64 = 0x2FC1_2FC1;
    pub const NFS: i64 = 0x6969;
    pub const F2FS: i64 = 0xF2F5_2010;
    pub const RAMFS: i64 = 0x8584_58F6;
    pub const FUSE: i64 = 0x6573_5546;
}

/// The filesystem kind found under a path, named the way Docker names it in `docker info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsKind {
    Ext,
    Xfs,
    Btrfs,
    Tmpfs,
    Overlay,
    Zfs,
    Nfs,
    F2fs,
    Ramfs,
    Fuse,
    Other(i64),
}

impl FsKind {
    fn from_magic(magic: i64) -> FsKind {
        match magic {
            magic::EXT => FsKind::Ext,
            magic::XFS => FsKind::Xfs,
            magic::BTRFS => FsKind::Btrfs,
            magic::TMPFS => FsKind::Tmpfs,
            magic::OVERLAYFS => FsKind::Overlay,
            magic::ZFS => FsKind::Zfs,
            magic::NFS => FsKind::Nfs,
            magic::F2FS => FsKind::F2fs,
            magic::RAMFS => FsKind::Ramfs,
            magic::FUSE => FsKind::Fuse,
            other => FsKind::Other(other),
        }
    }

    /// The name `docker info` prints after `Backing Filesystem:` (moby's `fsutils` names).
    pub fn docker_name(self) -> String {
        match self {
            FsKind::Ext => "extfs".into(),
            FsKind::Xfs => "xfs".into(),
            FsKind::Btrfs => "btrfs".into(),
            FsKind::Tmpfs => "tmpfs".into(),
            FsKind::Overlay => "overlayfs".into(),
            FsKind::Zfs => "zfs".into(),
            FsKind::Nfs => "nfs".into(),
            FsKind::F2fs => "f2fs".into(),
            FsKind::Ramfs => "ramfs".into(),
            FsKind::Fuse => "fuse".into(),
            FsKind::Other(magic) => format!("<unknown> (0x{magic:x})"),
        }
    }
}

/// The kind of filesystem `path` lives on.
pub fn backing_filesystem(path: &Path) -> io::Result<FsKind> {
    let st = rustix::fs::statfs(path)?;
    #[allow(clippy::unnecessary_cast)] // f_type is i64 or u32 depending on the target
    Ok(FsKind::from_magic(st.f_type as i64))
}

/// Whether the filesystem under `dir` fills in `d_type` in directory entries.
///
/// Creates a scratch directory holding one regular file inside `dir`, reads it back with
/// `getdents64` and checks that the entry's type is known. The scratch directory is removed.
pub fn supports_d_type(dir: &Path) -> io::Result<bool> {
    let scratch = dir.join(format!(".d_type-probe-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    let result = (|| {
        std::fs::write(scratch.join("file"), b"")?;
        let fd = rustix::fs::open(
            &scratch,
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )?;
        let entries = rustix::fs::Dir::read_from(&fd)?;
        let mut known = false;
        for entry in entries {
            let entry = entry?;
            if entry.file_name().to_bytes() == b"file" {
                known = entry.file_type() != rustix::fs::FileType::Unknown;
            }
        }
        Ok(known)
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// Total and available bytes of the filesystem under `path`.
pub fn space(path: &Path) -> io::Result<(u64, u64)> {
    let st = rustix::fs::statvfs(path)?;
    Ok((st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmp_has_a_known_filesystem_and_d_type() {
        let dir = tempfile::tempdir().expect("tempdir");
        let kind = backing_filesystem(dir.path()).expect("statfs");
        assert!(!kind.docker_name().is_empty());
        // Every filesystem a CI machine puts /tmp on (ext4, xfs, tmpfs, btrfs) has d_type.
        assert!(supports_d_type(dir.path()).expect("probe"));
        // The probe leaves nothing behind.
        assert_eq!(std::fs::read_dir(dir.path()).expect("read_dir").count(), 0);
    }

    #[test]
    fn docker_names_match_moby() {
        assert_eq!(FsKind::from_magic(0xEF53).docker_name(), "extfs");
        assert_eq!(FsKind::from_magic(0x5846_5342).docker_name(), "xfs");
        assert_eq!(FsKind::from_magic(0x1234).docker_name(), "<unknown> (0x1234)");
    }
}
