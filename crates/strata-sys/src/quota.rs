//! Project quotas: a size limit on one directory tree, enforced by the filesystem.
//!
//! Why project quotas: a volume is a directory on the data-root's filesystem, so the only way to
//! cap its size without a loop image per volume is to give the directory its own *project id*
//! (inherited by everything created below it) and set a block limit for that id. XFS (mounted
//! with `prjquota`/`pquota`) and ext4 (with the `project` and `quota` features, mounted with
//! `prjquota`) support this; both answer the same generic `quotactl` commands. The same counters
//! give a volume's usage in O(1), without walking its tree.
//!
//! The quota commands go through `quotactl_fd(2)` (Linux 5.14), which names the filesystem by an
//! open directory instead of its block device; on older kernels the device is looked up in
//! `/proc/self/mountinfo` and `quotactl(2)` is used.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// `PRJQUOTA` from `linux/quota.h`: the project quota type.
const PRJQUOTA: libc::c_int = 2;
/// `QIF_BLIMITS`: the block limits of a `dqblk` are valid.
const QIF_BLIMITS: u32 = 1;
/// Quota block size of the generic interface (`QIF_DQBLKSIZE`): limits are in KiB.
pub const QUOTA_BLOCK_SIZE: u64 = 1024;
/// `FS_XFLAG_PROJINHERIT`: new entries of a directory inherit its project id.
const FS_XFLAG_PROJINHERIT: u32 = 0x0000_0200;
/// `_IOR('X', 31, struct fsxattr)`.
const FS_IOC_FSGETXATTR: libc::c_ulong = 0x801c_581f;
/// `_IOW('X', 32, struct fsxattr)`.
const FS_IOC_FSSETXATTR: libc::c_ulong = 0x401c_5820;

/// `struct fsxattr` from `linux/fs.h` (28 bytes).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
struct FsXattr {
    xflags: u32,
    extsize: u32,
    nextents: u32,
    projid: u32,
    cowextsize: u32,
    pad: [u8; 8],
}

/// `struct if_dqinfo` from `linux/quota.h`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
struct DqInfo {
    bgrace: u64,
    igrace: u64,
    flags: u32,
    valid: u32,
}

/// `QCMD(cmd, type)`.
const fn qcmd(cmd: libc::c_int, kind: libc::c_int) -> libc::c_int {
    (cmd << 8) | (kind & 0x00ff)
}

/// `Q_GETINFO`, `Q_GETQUOTA`, `Q_SETQUOTA` (the generic interface, `0x8000xx`).
const Q_GETINFO: libc::c_int = 0x80_0005;
const Q_GETQUOTA: libc::c_int = 0x80_0007;
const Q_SETQUOTA: libc::c_int = 0x80_0008;

/// The usage and limit of one project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectUsage {
    /// Bytes charged to the project (allocated blocks).
    pub used_bytes: u64,
    /// The hard limit in bytes (0 = none).
    pub limit_bytes: u64,
}

fn open_dir(dir: &Path) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        dir,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?)
}

/// Runs one quota command on the filesystem that holds `dir`.
fn quotactl_on(dir: &Path, cmd: libc::c_int, id: u32, addr: *mut libc::c_char) -> io::Result<()> {
    let fd = open_dir(dir)?;
    // SAFETY: `fd` is an open descriptor owned for the whole call; `addr` points to a live,
    // properly sized and aligned structure of the type `cmd` expects (or is null for commands
    // that take none), and the kernel does not keep the pointer after returning.
    let rc = unsafe { libc::syscall(libc::SYS_quotactl_fd, fd.as_raw_fd(), cmd, id as libc::c_int, addr) };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::ENOSYS) {
        return Err(err);
    }
    // Kernels before 5.14: name the filesystem by its block device.
    let device = block_device_of(dir)?;
    let special = CString::new(device.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "device path contains NUL"))?;
    // SAFETY: `special` is a NUL-terminated string alive for the call; `addr` as above.
    let rc = unsafe { libc::quotactl(cmd, special.as_ptr(), id as libc::c_int, addr) };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// The source device of the mount holding `dir` (longest mount point prefix).
fn block_device_of(dir: &Path) -> io::Result<PathBuf> {
    let table = crate::mountinfo::read()?;
    let dir = std::fs::canonicalize(dir)?;
    table
        .iter()
        .filter(|m| dir.starts_with(&m.mount_point))
        .max_by_key(|m| m.mount_point.as_os_str().len())
        .map(|m| PathBuf::from(&m.source))
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no mount found for the directory"))
}

/// Whether project quota accounting is on for the filesystem holding `dir`. `Ok(false)` when the
/// filesystem supports quotas but project quotas are off (`ESRCH`); errors such as `ENOSYS`,
/// `EINVAL` or `ENOTTY` (no quota support at all) are returned for the caller to explain.
pub fn project_quotas_enabled(dir: &Path) -> io::Result<bool> {
    let mut info = DqInfo::default();
    match quotactl_on(dir, qcmd(Q_GETINFO, PRJQUOTA), 0, (&raw mut info).cast()) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The project id of `dir`.
pub fn project_id(dir: &Path) -> io::Result<u32> {
    let fd = open_dir(dir)?;
    let mut attr = FsXattr::default();
    // SAFETY: FS_IOC_FSGETXATTR writes one `struct fsxattr` into `attr`, which is `repr(C)`
    // with the kernel's layout and lives for the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), FS_IOC_FSGETXATTR, &raw mut attr) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(attr.projid)
}

/// Gives `dir` the project id `id` and makes its new entries inherit it. Call it on an empty
/// directory: existing entries keep their old id.
pub fn set_project_id(dir: &Path, id: u32) -> io::Result<()> {
    let fd = open_dir(dir)?;
    let mut attr = FsXattr::default();
    // SAFETY: as in `project_id`.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), FS_IOC_FSGETXATTR, &raw mut attr) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    attr.projid = id;
    attr.xflags |= FS_XFLAG_PROJINHERIT;
    // SAFETY: FS_IOC_FSSETXATTR reads one `struct fsxattr` from `attr`, filled above.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), FS_IOC_FSSETXATTR, &raw const attr) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets the hard (and soft) block limit of project `id` on the filesystem holding `dir` to
/// `limit_bytes`, rounded up to the quota block size; 0 removes the limit.
pub fn set_project_limit(dir: &Path, id: u32, limit_bytes: u64) -> io::Result<()> {
    let blocks = limit_bytes.div_ceil(QUOTA_BLOCK_SIZE);
    // SAFETY: `dqblk` is plain old data; all-zero is a valid value.
    let mut q: libc::dqblk = unsafe { std::mem::zeroed() };
    q.dqb_bhardlimit = blocks;
    q.dqb_bsoftlimit = blocks;
    q.dqb_valid = QIF_BLIMITS;
    quotactl_on(dir, qcmd(Q_SETQUOTA, PRJQUOTA), id, (&raw mut q).cast())
}

/// The usage and limit of project `id` on the filesystem holding `dir`.
pub fn project_usage(dir: &Path, id: u32) -> io::Result<ProjectUsage> {
    // SAFETY: as in `set_project_limit`.
    let mut q: libc::dqblk = unsafe { std::mem::zeroed() };
    quotactl_on(dir, qcmd(Q_GETQUOTA, PRJQUOTA), id, (&raw mut q).cast())?;
    Ok(ProjectUsage { used_bytes: q.dqb_curspace, limit_bytes: q.dqb_bhardlimit.saturating_mul(QUOTA_BLOCK_SIZE) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_layouts_match_the_kernel() {
        assert_eq!(std::mem::size_of::<FsXattr>(), 28);
        assert_eq!(std::mem::size_of::<DqInfo>(), 24);
        assert_eq!(std::mem::size_of::<libc::dqblk>(), 72);
        assert_eq!(qcmd(Q_SETQUOTA, PRJQUOTA) as u32, 0x8000_0802);
    }

    #[test]
    fn a_filesystem_without_project_quotas_says_so() {
        // /proc has no quota support at all; whatever /tmp is, the call must not panic and must
        // answer either a state or an error.
        assert!(project_quotas_enabled(Path::new("/proc")).is_err());
        let dir = tempfile::tempdir().expect("tempdir");
        let _ = project_quotas_enabled(dir.path());
    }
}
