//! `mount(2)` itself, and the question "is this path a mount point right now".
//!
//! Callers build the whole mount plan (flags, data string, propagation as a separate step) as
//! plain data and unit-test it; this module only performs one call of that plan. The mount-point
//! check uses `statx(2)`'s `STATX_ATTR_MOUNT_ROOT` — one system call, no read of the whole mount
//! table — because it runs on the hot path of every use of a volume with mount options.

use std::io;
use std::path::Path;

/// One `mount(2)` call: `mount(source, target, fstype, flags, data)`. `flags` are the raw
/// `MS_*` bits.
pub fn mount(source: &str, target: &Path, fstype: &str, flags: u64, data: &str) -> io::Result<()> {
    let flags = rustix::mount::MountFlags::from_bits_retain(flags as _);
    let data = std::ffi::CString::new(data)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "mount data contains a NUL byte"))?;
    let data: Option<&std::ffi::CStr> = if data.as_bytes().is_empty() { None } else { Some(data.as_c_str()) };
    rustix::mount::mount(source, target, fstype, flags, data)?;
    Ok(())
}

/// Whether `path` is the root of a mount (something is mounted on it). A missing path is not a
/// mount point.
pub fn is_mount_root(path: &Path) -> io::Result<bool> {
    use rustix::fs::{AtFlags, CWD, StatxAttributes, StatxFlags, statx};
    match statx(CWD, path, AtFlags::SYMLINK_NOFOLLOW, StatxFlags::BASIC_STATS) {
        Ok(st) if st.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT) => {
            Ok(st.stx_attributes.contains(StatxAttributes::MOUNT_ROOT))
        }
        Ok(_) => {
            // Kernels before 5.8 do not report the attribute: ask the mount table.
            let table = crate::mountinfo::read()?;
            let canonical = std::fs::canonicalize(path)?;
            Ok(crate::mountinfo::is_mount_point(&table, &canonical))
        }
        Err(rustix::io::Errno::NOENT) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_roots_are_recognised() {
        assert!(is_mount_root(Path::new("/")).expect("statx /"));
        assert!(is_mount_root(Path::new("/proc")).expect("statx /proc"));
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(!is_mount_root(dir.path()).expect("statx tempdir"));
        assert!(!is_mount_root(&dir.path().join("missing")).expect("missing"));
    }
}
