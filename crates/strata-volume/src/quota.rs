//! Size limits of volumes (`-o size=…`): what the filesystem under the volumes can do, and the
//! calls that give one volume its limit.
//!
//! Docker's local driver accepts `size` only where it finds XFS project quotas and otherwise
//! answers `quota size requested but no quota support`, without saying why. strata limits a
//! volume's `_data` with project quotas on xfs and ext4, and with a quota group on btrfs (where
//! `_data` is created as a subvolume), and when neither is possible the error names the
//! filesystem, what it lacks and what to do.

use std::io;
use std::path::Path;

use strata_sys::fsprobe::FsKind;

/// How a volume's size is limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaKind {
    /// A project id on `_data` (inherited below it) with a block limit: xfs, ext4.
    Project,
    /// `_data` is a btrfs subvolume whose quota group has a limit.
    Btrfs,
}

impl QuotaKind {
    /// The name stored in the metadata database.
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaKind::Project => "project",
            QuotaKind::Btrfs => "btrfs",
        }
    }

    /// The kind named `s` in the database.
    pub fn parse(s: &str) -> Option<QuotaKind> {
        match s {
            "project" => Some(QuotaKind::Project),
            "btrfs" => Some(QuotaKind::Btrfs),
            _ => None,
        }
    }
}

/// The quota operations the volume service needs.
pub trait QuotaControl: Send + Sync + std::fmt::Debug {
    /// Whether size limits can be set on volumes under `root`; `Err` says why not and what to
    /// do, in a sentence that completes "quota size requested but no quota support: ".
    fn probe(&self, root: &Path) -> Result<QuotaKind, String>;
    /// Creates `data_dir` (which must not exist yet) limited to `limit_bytes`. `project_id` is
    /// the id to use for project quotas.
    fn make_limited_dir(&self, kind: QuotaKind, data_dir: &Path, project_id: u32, limit_bytes: u64) -> io::Result<()>;
    /// The bytes `data_dir` uses, from the quota counters.
    fn usage(&self, kind: QuotaKind, data_dir: &Path, project_id: u32) -> io::Result<u64>;
    /// Drops the limit of a removed volume (project ids are reused).
    fn release(&self, kind: QuotaKind, root: &Path, project_id: u32) -> io::Result<()>;
}

/// Quotas through the kernel (`strata-sys`).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemQuota;

/// The mode of a fresh `_data` directory (as Docker's).
pub const DATA_DIR_MODE: u32 = 0o755;

impl QuotaControl for SystemQuota {
    fn probe(&self, root: &Path) -> Result<QuotaKind, String> {
        let fs = strata_sys::fsprobe::backing_filesystem(root)
            .map_err(|e| format!("cannot tell the filesystem of {}: {e}", root.display()))?;
        explain_probe(root, fs, || match fs {
            FsKind::Btrfs => strata_sys::btrfs::quotas_enabled(root),
            _ => strata_sys::quota::project_quotas_enabled(root),
        })
    }

    fn make_limited_dir(&self, kind: QuotaKind, data_dir: &Path, project_id: u32, limit_bytes: u64) -> io::Result<()> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        match kind {
            QuotaKind::Project => {
                std::fs::DirBuilder::new().mode(DATA_DIR_MODE).create(data_dir)?;
                strata_sys::quota::set_project_id(data_dir, project_id)?;
                strata_sys::quota::set_project_limit(data_dir, project_id, limit_bytes)
            }
            QuotaKind::Btrfs => {
                let parent = data_dir.parent().ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
                let name = data_dir
                    .file_name()
                    .and_then(|n| n.to_str())
                    .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
                strata_sys::btrfs::create_subvolume(parent, name)?;
                std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(DATA_DIR_MODE))?;
                strata_sys::btrfs::set_qgroup_limit(data_dir, limit_bytes)
            }
        }
    }

    fn usage(&self, kind: QuotaKind, data_dir: &Path, project_id: u32) -> io::Result<u64> {
        match kind {
            QuotaKind::Project => Ok(strata_sys::quota::project_usage(data_dir, project_id)?.used_bytes),
            QuotaKind::Btrfs => strata_sys::btrfs::referenced_bytes(data_dir),
        }
    }

    fn release(&self, kind: QuotaKind, root: &Path, project_id: u32) -> io::Result<()> {
        match kind {
            QuotaKind::Project => strata_sys::quota::set_project_limit(root, project_id, 0),
            // The subvolume went with the directory; its quota group is dropped by the kernel.
            QuotaKind::Btrfs => Ok(()),
        }
    }
}

/// Turns the answer of a quota probe into a kind or an explanation.
fn explain_probe(root: &Path, fs: FsKind, enabled: impl FnOnce() -> io::Result<bool>) -> Result<QuotaKind, String> {
    let at = root.display();
    match fs {
        FsKind::Btrfs => match enabled() {
            Ok(true) => Ok(QuotaKind::Btrfs),
            Ok(false) => Err(format!(
                "quotas are not enabled on the btrfs filesystem holding {at}; enable them with \
                 `btrfs quota enable <mount point>`"
            )),
            Err(e) => Err(format!("cannot read the quota state of the btrfs filesystem holding {at}: {e}")),
        },
        FsKind::Xfs | FsKind::Ext => {
            let name = if fs == FsKind::Xfs { "xfs" } else { "ext4" };
            let how = if fs == FsKind::Xfs {
                "mount it with -o prjquota (xfs turns quotas on only at mount time: add prjquota to its /etc/fstab \
                 entry and remount)"
            } else {
                "give it the project and quota features (tune2fs -O project,quota on the unmounted device) and mount \
                 it with -o prjquota"
            };
            match enabled() {
                Ok(true) => Ok(QuotaKind::Project),
                Ok(false) => {
                    Err(format!("project quotas are not enabled on the {name} filesystem holding {at}; {how}"))
                }
                Err(e) if e.raw_os_error() == Some(rustix::io::Errno::PERM.raw_os_error()) => {
                    Err(format!("not permitted to manage quotas on {at}: stratad needs CAP_SYS_ADMIN"))
                }
                Err(e) => Err(format!(
                    "the kernel cannot manage project quotas on the {name} filesystem holding {at} ({e}); it needs \
                     quota support built in (CONFIG_QUOTA and {}), then {how}",
                    if fs == FsKind::Xfs { "CONFIG_XFS_QUOTA" } else { "CONFIG_QFMT_V2" }
                )),
            }
        }
        other => Err(format!(
            "the filesystem holding {at} ({}) has no project quotas; put the data-root on xfs mounted with -o \
             prjquota, on ext4 with the project and quota features mounted with -o prjquota, or on btrfs with quotas \
             enabled",
            other.docker_name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_answers_explain_what_to_do() {
        let root = Path::new("/var/lib/strata/volumes");
        let esrch = || Err::<bool, _>(io::Error::from_raw_os_error(rustix::io::Errno::SRCH.raw_os_error()));
        let enosys = || Err::<bool, _>(io::Error::from_raw_os_error(rustix::io::Errno::NOSYS.raw_os_error()));
        assert_eq!(explain_probe(root, FsKind::Xfs, || Ok(true)), Ok(QuotaKind::Project));
        assert_eq!(explain_probe(root, FsKind::Btrfs, || Ok(true)), Ok(QuotaKind::Btrfs));
        let cases: Vec<(FsKind, Result<QuotaKind, String>, &str)> = vec![
            (FsKind::Xfs, explain_probe(root, FsKind::Xfs, || Ok(false)), "mount it with -o prjquota"),
            (FsKind::Ext, explain_probe(root, FsKind::Ext, || Ok(false)), "tune2fs -O project,quota"),
            (FsKind::Ext, explain_probe(root, FsKind::Ext, enosys), "CONFIG_QFMT_V2"),
            (FsKind::Xfs, explain_probe(root, FsKind::Xfs, enosys), "CONFIG_XFS_QUOTA"),
            (FsKind::Btrfs, explain_probe(root, FsKind::Btrfs, || Ok(false)), "btrfs quota enable"),
            (FsKind::Tmpfs, explain_probe(root, FsKind::Tmpfs, esrch), "(tmpfs) has no project quotas"),
        ];
        for (fs, got, needle) in cases {
            let msg = got.expect_err("must explain");
            assert!(msg.contains(needle), "{fs:?}: {msg}");
            assert!(msg.contains("/var/lib/strata/volumes"), "{msg}");
        }
    }

    #[test]
    fn kinds_round_trip() {
        for k in [QuotaKind::Project, QuotaKind::Btrfs] {
            assert_eq!(QuotaKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(QuotaKind::parse("zfs"), None);
    }
}
