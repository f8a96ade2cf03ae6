//! A directory that paths are resolved inside of, never through the host.
//!
//! Every path the crate touches on behalf of an archive is resolved by the kernel relative to the
//! root's file descriptor with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`: `..` stops at the
//! root, absolute symlinks are taken relative to it, `/proc` magic links are refused. Only
//! *parents* are opened that way; the last component is then operated on with a `*at` call that
//! does not follow it (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`, `O_EXCL`), so a symlink planted at the
//! final name, even by a process racing with us inside a running container, is never followed.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};

use crate::ArchiveError;

/// How often a resolution is retried when the kernel reports a concurrent rename (`EAGAIN`).
const RESOLVE_RETRIES: usize = 16;
/// Mode of directories created because an archive did not list them.
pub(crate) const IMPLICIT_DIR_MODE: u32 = 0o755;
/// Where this process's file descriptors appear as paths.
const PROC_SELF_FD: &str = "/proc/self/fd";

/// The directory an archive is applied into, packed from or reassembled from.
///
/// Built from a path (opened once, following symlinks in the path itself, which the caller
/// trusts) or from a file descriptor the caller already holds.
#[derive(Debug, Clone, Copy)]
pub enum RootDir<'a> {
    Path(&'a Path),
    Fd(BorrowedFd<'a>),
}

impl<'a> From<&'a Path> for RootDir<'a> {
    fn from(path: &'a Path) -> Self {
        RootDir::Path(path)
    }
}

impl<'a> From<&'a PathBuf> for RootDir<'a> {
    fn from(path: &'a PathBuf) -> Self {
        RootDir::Path(path)
    }
}

impl<'a> From<BorrowedFd<'a>> for RootDir<'a> {
    fn from(fd: BorrowedFd<'a>) -> Self {
        RootDir::Fd(fd)
    }
}

impl<'a> From<&'a OwnedFd> for RootDir<'a> {
    fn from(fd: &'a OwnedFd) -> Self {
        RootDir::Fd(fd.as_fd())
    }
}

/// An open root directory and the confined operations on it.
#[derive(Debug)]
pub(crate) struct Root {
    fd: OwnedFd,
    /// What `/proc/self/fd/<fd>` says for the root, to turn a directory fd back into a path
    /// inside the root; `None` when procfs is not there.
    proc_path: Option<Vec<u8>>,
}

impl Root {
    pub(crate) fn open(root: RootDir<'_>) -> Result<Root, ArchiveError> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let (fd, shown) = match root {
            RootDir::Path(path) => {
                let fd = rustix::fs::open(path, flags, Mode::empty())
                    .map_err(|e| ArchiveError::Root { path: path.to_owned(), source: e.into() })?;
                (fd, path.to_owned())
            }
            RootDir::Fd(fd) => {
                let shown = PathBuf::from(format!("{PROC_SELF_FD}/{}", fd_number(fd)));
                let fd = rustix::fs::openat(fd, ".", flags, Mode::empty())
                    .map_err(|e| ArchiveError::Root { path: shown.clone(), source: e.into() })?;
                (fd, shown)
            }
        };
        let stat = rustix::fs::fstat(&fd).map_err(|e| ArchiveError::Root { path: shown, source: e.into() })?;
        debug_assert_eq!(FileType::from_raw_mode(stat.st_mode), FileType::Directory);
        let proc_path = proc_fd_path(fd.as_fd());
        Ok(Root { fd, proc_path })
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Opens the directory `rel` (a normalized path; empty is the root) as an `O_PATH` handle
    /// usable as the `dirfd` of `*at` calls.
    pub(crate) fn open_dir(&self, rel: &[u8]) -> io::Result<OwnedFd> {
        self.open_in_root(rel, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, ResolveFlags::empty())
    }

    /// Like [`Root::open_dir`], but also says where the directory really is when the path went
    /// through a symlink (`Some(physical path)`); `None` means `rel` is already physical.
    pub(crate) fn open_dir_physical(&self, rel: &[u8]) -> io::Result<(OwnedFd, Option<Vec<u8>>)> {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        match self.open_in_root(rel, flags, ResolveFlags::NO_SYMLINKS) {
            Ok(fd) => Ok((fd, None)),
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
                let fd = self.open_in_root(rel, flags, ResolveFlags::empty())?;
                let physical = self.physical_path(fd.as_fd());
                Ok((fd, physical))
            }
            Err(e) => Err(e),
        }
    }

    /// Opens `rel` inside the root with `oflags`; the last component is not followed when
    /// `oflags` holds `O_NOFOLLOW`.
    pub(crate) fn open_in_root(&self, rel: &[u8], oflags: OFlags, extra: ResolveFlags) -> io::Result<OwnedFd> {
        let path: &[u8] = if rel.is_empty() { b"." } else { rel };
        let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS | extra;
        let mut attempt = 0;
        loop {
            match rustix::fs::openat2(&self.fd, path, oflags, Mode::empty(), resolve) {
                Err(rustix::io::Errno::AGAIN) if attempt < RESOLVE_RETRIES => attempt += 1,
                other => return other.map_err(io::Error::from),
            }
        }
    }

    /// The path of directory `fd` relative to the root, read back from procfs.
    fn physical_path(&self, fd: BorrowedFd<'_>) -> Option<Vec<u8>> {
        let root = self.proc_path.as_deref()?;
        let dir = proc_fd_path(fd)?;
        if dir == root {
            return Some(Vec::new());
        }
        let rest = if root == b"/" { dir.strip_prefix(b"/")? } else { dir.strip_prefix(root)?.strip_prefix(b"/")? };
        Some(rest.to_vec())
    }

    /// Makes sure directory `rel` exists, creating missing components (mode 0755, owned by
    /// `owner` when given), and returns an `O_PATH` handle to it.
    pub(crate) fn create_dir_all(&self, rel: &[u8], owner: Option<(u32, u32)>) -> io::Result<OwnedFd> {
        match self.open_dir(rel) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && !rel.is_empty() => {}
            other => return other,
        }
        let (parent, name) = crate::name::split_parent(rel);
        let parent_fd = self.create_dir_all(parent, owner)?;
        match rustix::fs::mkdirat(&parent_fd, name, Mode::from_raw_mode(IMPLICIT_DIR_MODE)) {
            Ok(()) => {
                if let Some((uid, gid)) = owner {
                    chown_nofollow(parent_fd.as_fd(), name, uid, gid)?;
                }
            }
            Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(e.into()),
        }
        // O_NOFOLLOW: a dangling symlink in the way is an error, not something to create through.
        Ok(rustix::fs::openat(
            &parent_fd,
            name,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?)
    }
}

/// The number of a file descriptor, for `/proc/self/fd/<n>` paths.
fn fd_number(fd: BorrowedFd<'_>) -> i32 {
    use std::os::fd::AsRawFd;
    fd.as_raw_fd()
}

/// `/proc/self/fd/<fd>/<name>`: a path that reaches `name` inside directory `fd` without the
/// kernel following anything but the fd's own magic link, for the few calls that have no
/// `*at` form (`lsetxattr`, `llistxattr`, `lgetxattr`).
pub(crate) fn proc_child_path(dir: BorrowedFd<'_>, name: &[u8]) -> Vec<u8> {
    let mut path = format!("{PROC_SELF_FD}/{}/", fd_number(dir)).into_bytes();
    path.extend_from_slice(name);
    path
}

fn proc_fd_path(fd: BorrowedFd<'_>) -> Option<Vec<u8>> {
    let link = format!("{PROC_SELF_FD}/{}", fd_number(fd));
    let target = rustix::fs::readlink(link.as_str(), Vec::new()).ok()?;
    Some(target.into_bytes())
}

/// `fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW)`.
pub(crate) fn chown_nofollow(dir: BorrowedFd<'_>, name: &[u8], uid: u32, gid: u32) -> io::Result<()> {
    Ok(rustix::fs::chownat(
        dir,
        name,
        Some(rustix::fs::Uid::from_raw(uid)),
        Some(rustix::fs::Gid::from_raw(gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )?)
}

/// Changes the permission bits of `name` in `dir`, which must be of type `expected` (a device or
/// FIFO). There is no `fchmodat(AT_SYMLINK_NOFOLLOW)` before Linux 6.6, so the node is opened
/// with `O_PATH | O_NOFOLLOW`, its type checked on the handle, and the handle's procfs path
/// changed: a symlink swapped in meanwhile is never followed.
pub(crate) fn chmod_node(dir: BorrowedFd<'_>, name: &[u8], expected: FileType, mode: u32) -> io::Result<()> {
    let fd = rustix::fs::openat(dir, name, OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
    let stat = rustix::fs::fstat(&fd)?;
    if FileType::from_raw_mode(stat.st_mode) != expected {
        return Err(io::Error::other("node was replaced while being created"));
    }
    let path = format!("{PROC_SELF_FD}/{}", fd_number(fd.as_fd()));
    Ok(rustix::fs::chmod(path.as_str(), Mode::from_raw_mode(mode))?)
}

/// Removes `name` from `dir`, recursing into directories without following any symlink.
pub(crate) fn remove_all(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) => return Ok(()),
        Err(rustix::io::Errno::ISDIR) => {}
        Err(e) => return Err(e.into()),
    }
    let child = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    for entry in read_dir_names(child.as_fd())? {
        remove_all(child.as_fd(), &entry)?;
    }
    Ok(rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)?)
}

/// The names in directory `dir` (without `.` and `..`), in the order the filesystem gives them.
pub(crate) fn read_dir_names(dir: BorrowedFd<'_>) -> io::Result<Vec<Vec<u8>>> {
    // A fresh description of the directory: `dir` may be an `O_PATH` handle, and reading must
    // start at the first entry.
    let readable = rustix::fs::openat(dir, ".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    let mut names = Vec::new();
    for entry in rustix::fs::Dir::new(readable)? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(name.to_vec());
        }
    }
    Ok(names)
}
