//! Volumes in use by running holders: mount on first use, unmount after the last.
//!
//! A volume with `type`/`device`/`o` is mounted on `_data` when the first holder needs it and
//! unmounted when the last one releases it. The count is the set of rows in `volume_mounts`, so
//! it survives a daemon restart; the kernel's mount table stays the truth about whether the mount
//! is there (after a reboot the rows may outlive the mount, and the next use mounts again).
//! Mounting can be slow (a network filesystem), so it happens under the volume's own name lock
//! only, never under the store's lock or a lock over all volumes.

use std::path::PathBuf;

use crate::crash;
use crate::db;
use crate::error::{Op, VolumeError};
use crate::options::{self, redact};
use crate::service::Volumes;

impl Volumes {
    /// Makes the volume `name` ready for `holder` and returns the directory to bind into the
    /// holder (`_data`). For a volume with mount options the first holder mounts it; each
    /// holder counts once, however often it calls. A `_data` deleted behind strata's back is
    /// recreated (empty).
    pub fn mount_for(&self, name: &str, holder: &str) -> Result<PathBuf, VolumeError> {
        let _guard = self.lock(Op::Mount, name)?;
        // Counted as in use before anything can write (released by `unmount_for`).
        self.sizes.touch(name, Some((holder, true)));
        let v = db::get(&self.store.conn(), &self.root, name)?.ok_or_else(|| VolumeError::not_found(Op::Get, name))?;
        if !v.mountpoint.is_dir() {
            tracing::warn!(volume = %name, path = %v.mountpoint.display(), "volume directory is missing; recreating it empty");
            self.recreate_dirs(&v)?;
        }
        let parsed = options::parse(&v.options).map_err(|e| VolumeError::Corrupt {
            op: Op::Mount,
            name: name.to_owned(),
            what: "options",
            why: e.to_string(),
        })?;
        let Some(mount) = parsed.mount else { return Ok(v.mountpoint) };
        let mounted = self.mounter.is_mounted(&v.mountpoint).map_err(|e| {
            VolumeError::io(Op::Mount, name, "cannot check the mount state of", v.mountpoint.clone(), e)
        })?;
        let mut mounted_here = false;
        if !mounted {
            let mut resolve = |host: &str| self.mounter.resolve(host);
            let plan = options::plan(&mount, &v.mountpoint, &mut resolve).map_err(|e| VolumeError::Mount {
                op: Op::Mount,
                name: name.to_owned(),
                message: e.to_string(),
            })?;
            self.mounter.mount(&plan).map_err(|e| VolumeError::Mount {
                op: Op::Mount,
                name: name.to_owned(),
                message: redact(&describe_mount_error(&plan, &e), plan.secret.as_deref()),
            })?;
            mounted_here = true;
        }
        crash::point(crash::MOUNT_AFTER_MOUNT);
        if let Err(e) = self.store.write(|tx| db::add_mount(tx, name, holder)) {
            if mounted_here {
                let _ = self.mounter.unmount(&v.mountpoint);
            }
            return Err(e.into());
        }
        Ok(v.mountpoint)
    }

    /// Releases `holder`'s use of `name`; the last holder of a volume with mount options
    /// unmounts it. Releasing what is not held (or a volume that does not exist) is a no-op.
    pub fn unmount_for(&self, name: &str, holder: &str) -> Result<(), VolumeError> {
        let _guard = self.lock(Op::Unmount, name)?;
        self.sizes.touch(name, Some((holder, false)));
        let Some(v) = db::get(&self.store.conn(), &self.root, name)? else { return Ok(()) };
        let remaining = self.store.write(|tx| db::remove_mount(tx, name, holder))?;
        crash::point(crash::UNMOUNT_AFTER_COMMIT);
        if remaining > 0 || !v.has_options() {
            return Ok(());
        }
        if self.mounter.is_mounted(&v.mountpoint).unwrap_or(false) {
            self.mounter
                .unmount(&v.mountpoint)
                .map_err(|e| VolumeError::io(Op::Unmount, name, "cannot unmount", v.mountpoint.clone(), e))?;
        }
        Ok(())
    }

    /// Makes the directories of an existing volume again (they were deleted behind strata's
    /// back).
    pub(crate) fn recreate_dirs(&self, v: &db::Volume) -> Result<(), VolumeError> {
        let dir = self.dir_of(&v.name);
        use std::os::unix::fs::DirBuilderExt;
        match std::fs::DirBuilder::new().mode(crate::service::ROOT_MODE).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(VolumeError::io(Op::Mount, &v.name, "cannot recreate", dir, e)),
        }
        self.make_data_dir(v)
    }
}

/// The text of a failed mount: the call, and what to do about the common failures.
fn describe_mount_error(plan: &options::MountPlan, e: &std::io::Error) -> String {
    let Some(first) = plan.steps.first() else { return e.to_string() };
    let call = format!("mount {}:{}, flags: {:#x}", first.source, first.target.display(), first.flags);
    let call = if first.data.is_empty() { call } else { format!("{call}, data: {}", first.data) };
    let hint = match e.raw_os_error() {
        Some(code) if code == rustix::io::Errno::NODEV.raw_os_error() => format!(
            ": unknown filesystem type {:?}: the kernel has no driver for it; load its module (modprobe {}) or \
             install the package that provides it",
            first.fstype, first.fstype
        ),
        Some(code) if code == rustix::io::Errno::NOENT.raw_os_error() => {
            format!(": {} or the mount point does not exist", first.source)
        }
        _ => String::new(),
    };
    format!("{call}: {e}{hint}")
}
