//! btrfs subvolumes and quota groups: the size limit of a directory tree on btrfs.
//!
//! btrfs has no project quotas; its equivalent is a *subvolume* whose quota group (qgroup) has a
//! limit on referenced bytes. A size-limited directory is therefore created as a subvolume, and
//! its usage read from the qgroup counters the kernel exports in sysfs, in O(1). Removing it is an
//! `rmdir` once it is empty (root may remove empty subvolumes since Linux 4.18).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// `BTRFS_IOCTL_MAGIC`-based requests (`linux/btrfs.h`), spelled out as numbers.
const BTRFS_IOC_SUBVOL_CREATE: libc::c_ulong = 0x5000_940e; // _IOW(0x94, 14, vol_args)
const BTRFS_IOC_INO_LOOKUP: libc::c_ulong = 0xd000_9412; // _IOWR(0x94, 18, ino_lookup_args)
const BTRFS_IOC_FS_INFO: libc::c_ulong = 0x8400_941f; // _IOR(0x94, 31, fs_info_args)
const BTRFS_IOC_QGROUP_LIMIT: libc::c_ulong = 0x8030_942b; // _IOR(0x94, 43, qgroup_limit_args)
/// `BTRFS_QGROUP_LIMIT_MAX_RFER`: limit the bytes a subvolume references.
const BTRFS_QGROUP_LIMIT_MAX_RFER: u64 = 1;
/// `BTRFS_FIRST_FREE_OBJECTID`: the inode number of every subvolume's root directory.
const BTRFS_FIRST_FREE_OBJECTID: u64 = 256;
/// `BTRFS_PATH_NAME_MAX`.
const PATH_NAME_MAX: usize = 4087;

/// `struct btrfs_ioctl_vol_args` (4096 bytes).
#[repr(C)]
struct VolArgs {
    fd: i64,
    name: [u8; PATH_NAME_MAX + 1],
}

/// `struct btrfs_ioctl_ino_lookup_args` (4096 bytes).
#[repr(C)]
struct InoLookupArgs {
    treeid: u64,
    objectid: u64,
    name: [u8; 4080],
}

/// `struct btrfs_ioctl_fs_info_args` (1024 bytes); only the fields read here are named.
#[repr(C)]
struct FsInfoArgs {
    max_id: u64,
    num_devices: u64,
    fsid: [u8; 16],
    rest: [u8; 1024 - 32],
}

/// `struct btrfs_ioctl_qgroup_limit_args` (48 bytes).
#[repr(C)]
#[derive(Default)]
struct QgroupLimitArgs {
    qgroupid: u64,
    flags: u64,
    max_rfer: u64,
    max_excl: u64,
    rsv_rfer: u64,
    rsv_excl: u64,
}

fn open_dir(dir: &Path) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        dir,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?)
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// Creates the subvolume `parent/name`.
pub fn create_subvolume(parent: &Path, name: &str) -> io::Result<()> {
    let bytes = CString::new(name).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name contains NUL"))?;
    let bytes = bytes.as_bytes();
    if bytes.is_empty() || bytes.len() > PATH_NAME_MAX || bytes.contains(&b'/') {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "invalid subvolume name"));
    }
    let dir = open_dir(parent)?;
    let mut args = VolArgs { fd: 0, name: [0; PATH_NAME_MAX + 1] };
    args.name[..bytes.len()].copy_from_slice(bytes);
    // SAFETY: the request takes one `btrfs_ioctl_vol_args`, which `VolArgs` mirrors (repr(C),
    // 4096 bytes, NUL-terminated name); it lives for the call.
    check(unsafe { libc::ioctl(dir.as_raw_fd(), BTRFS_IOC_SUBVOL_CREATE, &raw mut args) })
}

/// The id of the subvolume that holds `path`.
pub fn subvolume_id(path: &Path) -> io::Result<u64> {
    let dir = open_dir(path)?;
    let mut args = InoLookupArgs { treeid: 0, objectid: BTRFS_FIRST_FREE_OBJECTID, name: [0; 4080] };
    // SAFETY: the request reads and writes one `btrfs_ioctl_ino_lookup_args`, mirrored by
    // `InoLookupArgs` (repr(C), 4096 bytes), alive for the call.
    check(unsafe { libc::ioctl(dir.as_raw_fd(), BTRFS_IOC_INO_LOOKUP, &raw mut args) })?;
    Ok(args.treeid)
}

/// Limits the bytes the subvolume at `subvolume` references to `limit_bytes` (0 = no limit).
pub fn set_qgroup_limit(subvolume: &Path, limit_bytes: u64) -> io::Result<()> {
    let dir = open_dir(subvolume)?;
    let mut args = QgroupLimitArgs::default();
    if limit_bytes > 0 {
        args.flags = BTRFS_QGROUP_LIMIT_MAX_RFER;
        args.max_rfer = limit_bytes;
    }
    // SAFETY: the request reads one `btrfs_ioctl_qgroup_limit_args` (qgroup id 0 = the
    // subvolume of the descriptor), mirrored by `QgroupLimitArgs`, alive for the call.
    check(unsafe { libc::ioctl(dir.as_raw_fd(), BTRFS_IOC_QGROUP_LIMIT, &raw mut args) })
}

/// The filesystem id of the btrfs filesystem holding `path`, as sysfs names it.
fn fsid(path: &Path) -> io::Result<String> {
    let dir = open_dir(path)?;
    let mut args = FsInfoArgs { max_id: 0, num_devices: 0, fsid: [0; 16], rest: [0; 1024 - 32] };
    // SAFETY: the request writes one `btrfs_ioctl_fs_info_args`, mirrored by `FsInfoArgs`
    // (repr(C), 1024 bytes, zeroed so no flags are requested), alive for the call.
    check(unsafe { libc::ioctl(dir.as_raw_fd(), BTRFS_IOC_FS_INFO, &raw mut args) })?;
    let h: String = args.fsid.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]))
}

fn qgroups_dir(path: &Path) -> io::Result<PathBuf> {
    Ok(PathBuf::from("/sys/fs/btrfs").join(fsid(path)?).join("qgroups"))
}

/// Whether quota groups are enabled on the btrfs filesystem holding `path`.
pub fn quotas_enabled(path: &Path) -> io::Result<bool> {
    Ok(qgroups_dir(path)?.is_dir())
}

/// The bytes referenced by the subvolume at `subvolume`, from its qgroup counters.
pub fn referenced_bytes(subvolume: &Path) -> io::Result<u64> {
    let id = subvolume_id(subvolume)?;
    let file = qgroups_dir(subvolume)?.join(format!("0_{id}")).join("referenced");
    let text = std::fs::read(&file)?;
    std::str::from_utf8(&text)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("unexpected content in {}", file.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_layouts_match_the_kernel() {
        assert_eq!(std::mem::size_of::<VolArgs>(), 4096);
        assert_eq!(std::mem::size_of::<InoLookupArgs>(), 4096);
        assert_eq!(std::mem::size_of::<FsInfoArgs>(), 1024);
        assert_eq!(std::mem::size_of::<QgroupLimitArgs>(), 48);
    }

    #[test]
    fn calls_on_other_filesystems_fail_cleanly() {
        assert!(subvolume_id(Path::new("/proc")).is_err());
        assert!(create_subvolume(Path::new("/proc"), "a/b").is_err());
    }
}
