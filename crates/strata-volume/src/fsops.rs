//! File-system work on volume directories: removal that never crosses into a mount, sizes, and
//! the emptiness test the start-up repair relies on.
//!
//! A volume's `_data` can have other filesystems mounted inside it (a bind mount of a host
//! directory, an NFS export). A plain recursive delete would walk into them and delete the
//! host's or the server's files; [`remove_tree`] refuses to descend into any mount point and
//! fails instead. Walks are iterative (a container can create trees deeper than any stack) and
//! work relative to open directory descriptors with `O_NOFOLLOW`, so a symlink swapped in by a
//! container never redirects them outside the volume.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{AtFlags, CWD, Dir, FileType, Mode, OFlags, StatxAttributes, StatxFlags, statx};

fn open_dir_at(dirfd: impl rustix::fd::AsFd, name: &CStr) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(
        dirfd,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// The entries of a directory (without `.` and `..`), with whether each is a directory.
fn list(fd: &OwnedFd) -> io::Result<Vec<(CString, bool)>> {
    let mut out = Vec::new();
    for entry in Dir::read_from(fd)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_bytes() == b"." || name.to_bytes() == b".." {
            continue;
        }
        let is_dir = match entry.file_type() {
            FileType::Directory => true,
            FileType::Unknown => {
                let st = statx(fd, name, AtFlags::SYMLINK_NOFOLLOW, StatxFlags::TYPE)?;
                FileType::from_raw_mode(st.stx_mode.into()) == FileType::Directory
            }
            _ => false,
        };
        out.push((name.to_owned(), is_dir));
    }
    Ok(out)
}

fn busy(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::ResourceBusy,
        format!("a filesystem is mounted on {what}; refusing to delete into it"),
    )
}

fn is_mount_root_at(dirfd: &OwnedFd, name: &CStr) -> io::Result<bool> {
    let st = statx(dirfd, name, AtFlags::SYMLINK_NOFOLLOW, StatxFlags::TYPE)?;
    Ok(st.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT)
        && st.stx_attributes.contains(StatxAttributes::MOUNT_ROOT))
}

struct Frame {
    fd: OwnedFd,
    entries: Vec<(CString, bool)>,
    name: Option<CString>,
}

/// Deletes `path` and everything below it, without following symlinks and without descending
/// into mount points (those make it fail with `ResourceBusy`, leaving the rest in place). A
/// missing `path` is success.
pub fn remove_tree(path: &Path) -> io::Result<()> {
    let st = match statx(CWD, path, AtFlags::SYMLINK_NOFOLLOW, StatxFlags::TYPE) {
        Ok(st) => st,
        Err(rustix::io::Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if FileType::from_raw_mode(st.stx_mode.into()) != FileType::Directory {
        return Ok(rustix::fs::unlink(path)?);
    }
    if st.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT)
        && st.stx_attributes.contains(StatxAttributes::MOUNT_ROOT)
    {
        return Err(busy(&path.display().to_string()));
    }
    let root =
        rustix::fs::open(path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
    let entries = list(&root)?;
    let mut stack = vec![Frame { fd: root, entries, name: None }];
    while let Some(top) = stack.last_mut() {
        match top.entries.pop() {
            Some((name, true)) => {
                if is_mount_root_at(&top.fd, &name)? {
                    return Err(busy(&format!("{}/…/{}", path.display(), name.to_string_lossy())));
                }
                match open_dir_at(&top.fd, &name) {
                    Ok(fd) => {
                        let entries = list(&fd)?;
                        stack.push(Frame { fd, entries, name: Some(name) });
                    }
                    Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NOENT.raw_os_error()) => {}
                    Err(e) => return Err(e),
                }
            }
            Some((name, false)) => match rustix::fs::unlinkat(&top.fd, &name, AtFlags::empty()) {
                Ok(()) | Err(rustix::io::Errno::NOENT) => {}
                Err(e) => return Err(e.into()),
            },
            None => {
                let done = stack.pop();
                let name = done.and_then(|f| f.name);
                match (stack.last(), name) {
                    (Some(parent), Some(name)) => match rustix::fs::unlinkat(&parent.fd, &name, AtFlags::REMOVEDIR) {
                        Ok(()) | Err(rustix::io::Errno::NOENT) => {}
                        Err(e) => return Err(e.into()),
                    },
                    _ => match rustix::fs::rmdir(path) {
                        Ok(()) | Err(rustix::io::Errno::NOENT) => {}
                        Err(e) => return Err(e.into()),
                    },
                }
            }
        }
    }
    Ok(())
}

/// The apparent size of the files below `path` (as Docker's `directory.Size`: the `st_size` of
/// everything that is not a directory, each hard-linked inode once), without crossing mounts.
pub fn tree_size(path: &Path) -> io::Result<u64> {
    strata_sys::du::tree_usage(path).map(|u| u.apparent)
}

/// What start-up repair finds in a volume directory that has no row in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrphanState {
    /// Nothing but an empty (or missing) `_data`: a create that did not finish.
    Empty,
    /// Anything else: data that must be kept (adopted as a volume).
    HasData,
}

/// Classifies `<volumes>/<name>` (see [`OrphanState`]). A mounted `_data` counts as data.
pub fn orphan_state(dir: &Path, data_name: &str) -> io::Result<OrphanState> {
    let fd =
        rustix::fs::open(dir, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
    for (name, is_dir) in list(&fd)? {
        if name.to_bytes() != data_name.as_bytes() || !is_dir {
            return Ok(OrphanState::HasData);
        }
        if is_mount_root_at(&fd, &name)? {
            return Ok(OrphanState::HasData);
        }
        let data = open_dir_at(&fd, &name)?;
        if !list(&data)?.is_empty() {
            return Ok(OrphanState::HasData);
        }
    }
    Ok(OrphanState::Empty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn remove_tree_deletes_deep_trees_and_never_follows_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).expect("mkdir");
        std::fs::write(outside.join("keep"), b"precious").expect("write");
        let victim = dir.path().join("victim");
        let mut deep = victim.clone();
        for i in 0..300 {
            deep = deep.join(format!("d{i}"));
        }
        std::fs::create_dir_all(&deep).expect("deep");
        std::fs::write(deep.join("f"), b"x").expect("file");
        symlink(&outside, victim.join("link")).expect("symlink");
        std::fs::hard_link(outside.join("keep"), victim.join("hard")).expect("hardlink");
        remove_tree(&victim).expect("remove");
        assert!(!victim.exists());
        assert_eq!(std::fs::read(outside.join("keep")).expect("kept"), b"precious");
        remove_tree(&victim).expect("missing is fine");
    }

    #[test]
    fn sizes_count_files_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("a/b")).expect("mkdir");
        std::fs::write(dir.path().join("a/one"), vec![0u8; 1000]).expect("write");
        std::fs::write(dir.path().join("a/b/two"), vec![0u8; 24]).expect("write");
        std::fs::hard_link(dir.path().join("a/one"), dir.path().join("again")).expect("link");
        assert_eq!(tree_size(dir.path()).expect("size"), 1024);
    }

    #[test]
    fn orphans_are_classified() {
        let dir = tempfile::tempdir().expect("tempdir");
        let v = dir.path().join("v");
        std::fs::create_dir(&v).expect("mkdir");
        assert_eq!(orphan_state(&v, "_data").expect("state"), OrphanState::Empty);
        std::fs::create_dir(v.join("_data")).expect("mkdir");
        assert_eq!(orphan_state(&v, "_data").expect("state"), OrphanState::Empty);
        std::fs::write(v.join("_data/f"), b"x").expect("write");
        assert_eq!(orphan_state(&v, "_data").expect("state"), OrphanState::HasData);
        std::fs::remove_file(v.join("_data/f")).expect("rm");
        std::fs::write(v.join("opts.json"), b"{}").expect("write");
        assert_eq!(orphan_state(&v, "_data").expect("state"), OrphanState::HasData);
    }
}
