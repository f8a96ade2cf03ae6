//! Copying one directory tree into another, sharing blocks where the filesystem can: `volume
//! clone`, and the container service's copy-up of an image directory into an empty volume.
//!
//! Each regular file is first cloned with the `FICLONE` ioctl (a reflink: btrfs, xfs with
//! reflink, bcachefs — the copy takes no space and almost no time); where the filesystem cannot,
//! `copy_file_range(2)` copies inside the kernel (no round trip through user space; on NFS and
//! some filesystems it is offloaded to the server or device), and a plain read/write copy is the
//! last resort. Owners, permission bits (setuid included), times, xattrs (files and directories),
//! symlinks (never followed), hardlinks inside the tree, devices and FIFOs are reproduced.
//!
//! The walk is fd-relative with `O_NOFOLLOW` on both sides, so a symlink swapped in by a
//! container writing to the source cannot redirect it out of either tree. Directories are
//! created private (0700) and get their owner, mode and times after their contents.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, Stat, Timespec, Timestamps};
use rustix::io::Errno;

/// Largest chunk handed to one `copy_file_range` call.
const COPY_CHUNK: usize = 1 << 30;
/// First guess for an xattr list or value; grown on `ERANGE`.
const XATTR_BUFFER: usize = 4096;
/// Largest xattr list or value read.
const XATTR_BUFFER_MAX: usize = 16 << 20;
/// Mode of directories and files while they are being filled.
const PRIVATE_DIR: u32 = 0o700;
const PRIVATE_FILE: u32 = 0o600;

/// What a copy did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Entries copied (the top directory not counted).
    pub entries: u64,
    /// Bytes of file contents.
    pub bytes: u64,
    /// Regular files cloned by reflink.
    pub reflinked: u64,
}

/// A failure with the path (inside the source tree) it happened on.
#[derive(Debug, thiserror::Error)]
#[error("cannot {op} {path}: {source}")]
pub struct CopyError {
    pub op: &'static str,
    pub path: PathBuf,
    pub source: io::Error,
}

fn err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(Errno) -> CopyError + 'a {
    move |e| CopyError { op, path: path.to_owned(), source: e.into() }
}

/// A directory still to be walked, and whose attributes are set once that is done.
struct Pending {
    src: OwnedFd,
    dst: OwnedFd,
    rel: PathBuf,
}

/// Copies the contents of directory `src` into the existing, empty directory `dst` (the
/// attributes of `dst` itself are left to the caller). `progress` gets the bytes of file
/// contents copied so far, after each file.
pub fn copy_tree(src: &Path, dst: &Path, progress: &mut dyn FnMut(u64)) -> Result<CopyReport, CopyError> {
    let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let src_fd = rustix::fs::open(src, dir_flags, Mode::empty()).map_err(err("open", src))?;
    let dst_fd = rustix::fs::open(dst, dir_flags, Mode::empty()).map_err(err("open", dst))?;
    let dst_root = rustix::io::fcntl_dupfd_cloexec(&dst_fd, 0).map_err(err("open", dst))?;
    let mut copier = Copier { report: CopyReport::default(), links: HashMap::new(), buf: vec![0; XATTR_BUFFER] };
    let mut stack = vec![Pending { src: src_fd, dst: dst_fd, rel: PathBuf::new() }];
    // Directories to finish (owner, mode, times) after everything below them is written:
    // (path relative to the roots, the source's stat). Finished deepest first.
    let mut finish: Vec<(PathBuf, Stat)> = Vec::new();
    while let Some(dir) = stack.pop() {
        let mut names = Vec::new();
        for entry in Dir::read_from(&dir.src).map_err(err("list", &dir.rel))? {
            let entry = entry.map_err(err("list", &dir.rel))?;
            let name = entry.file_name();
            if name.to_bytes() != b"." && name.to_bytes() != b".." {
                names.push(name.to_owned());
            }
        }
        for name in names {
            let rel = dir.rel.join(std::ffi::OsStr::from_bytes(name.as_bytes()));
            if let Some(child) = copier.copy_entry(&dir, &name, &rel, &dst_root)? {
                finish.push((rel, child.1));
                stack.push(child.0);
            }
            progress(copier.report.bytes);
        }
    }
    for (rel, stat) in finish.iter().rev() {
        let fd = rustix::fs::openat(
            &dst_root,
            rel.as_path(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(err("open", rel))?;
        set_attrs(&fd, stat).map_err(|e| CopyError { op: "set the attributes of", path: rel.clone(), source: e })?;
    }
    Ok(copier.report)
}

struct Copier {
    report: CopyReport,
    /// (device, inode) of files with several names → where the first copy is (relative).
    links: HashMap<(u64, u64), PathBuf>,
    buf: Vec<u8>,
}

impl Copier {
    /// Copies one entry; a directory is created and returned to be walked.
    fn copy_entry(
        &mut self,
        dir: &Pending,
        name: &CStr,
        rel: &Path,
        dst_root: &OwnedFd,
    ) -> Result<Option<(Pending, Stat)>, CopyError> {
        let st = rustix::fs::statat(&dir.src, name, AtFlags::SYMLINK_NOFOLLOW).map_err(err("stat", rel))?;
        self.report.entries += 1;
        let mode = Mode::from_raw_mode(st.st_mode & 0o7777);
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => {
                rustix::fs::mkdirat(&dir.dst, name, Mode::from_raw_mode(PRIVATE_DIR)).map_err(err("create", rel))?;
                let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                let src = rustix::fs::openat(&dir.src, name, flags, Mode::empty()).map_err(err("open", rel))?;
                let dst = rustix::fs::openat(&dir.dst, name, flags, Mode::empty()).map_err(err("open", rel))?;
                self.copy_xattrs(&src, &dst).map_err(|e| CopyError {
                    op: "copy the xattrs of",
                    path: rel.to_owned(),
                    source: e,
                })?;
                return Ok(Some((Pending { src, dst, rel: rel.to_owned() }, st)));
            }
            FileType::RegularFile => {
                let key = (st.st_dev as u64, st.st_ino as u64);
                if st.st_nlink > 1 {
                    if let Some(first) = self.links.get(&key) {
                        rustix::fs::linkat(dst_root, first.as_path(), &dir.dst, name, AtFlags::empty())
                            .map_err(err("link", rel))?;
                        return Ok(None);
                    }
                    self.links.insert(key, rel.to_owned());
                }
                self.copy_file(dir, name, rel, &st)?;
            }
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(&dir.src, name, Vec::new()).map_err(err("read the link", rel))?;
                rustix::fs::symlinkat(target.as_c_str(), &dir.dst, name).map_err(err("create", rel))?;
                rustix::fs::chownat(&dir.dst, name, Some(uid(&st)), Some(gid(&st)), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(err("chown", rel))?;
                rustix::fs::utimensat(&dir.dst, name, &times(&st), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(err("set the times of", rel))?;
            }
            FileType::Fifo | FileType::CharacterDevice | FileType::BlockDevice => {
                let kind = FileType::from_raw_mode(st.st_mode);
                rustix::fs::mknodat(&dir.dst, name, kind, mode, st.st_rdev as _).map_err(err("create", rel))?;
                rustix::fs::chownat(&dir.dst, name, Some(uid(&st)), Some(gid(&st)), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(err("chown", rel))?;
                rustix::fs::chmodat(&dir.dst, name, mode, AtFlags::empty()).map_err(err("chmod", rel))?;
                rustix::fs::utimensat(&dir.dst, name, &times(&st), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(err("set the times of", rel))?;
            }
            // Sockets are endpoints of running processes, not data: a copy could not be used.
            _ => self.report.entries -= 1,
        }
        Ok(None)
    }

    fn copy_file(&mut self, dir: &Pending, name: &CStr, rel: &Path, st: &Stat) -> Result<(), CopyError> {
        let src =
            rustix::fs::openat(&dir.src, name, OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())
                .map_err(err("open", rel))?;
        let dst = rustix::fs::openat(
            &dir.dst,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(PRIVATE_FILE),
        )
        .map_err(err("create", rel))?;
        let size = st.st_size as u64;
        match rustix::fs::ioctl_ficlone(&dst, &src) {
            Ok(()) => self.report.reflinked += 1,
            Err(_) => {
                copy_data(&src, &dst, size).map_err(|e| CopyError { op: "copy", path: rel.to_owned(), source: e })?
            }
        }
        self.report.bytes += size;
        self.copy_xattrs(&src, &dst).map_err(|e| CopyError {
            op: "copy the xattrs of",
            path: rel.to_owned(),
            source: e,
        })?;
        set_attrs(&dst, st).map_err(|e| CopyError { op: "set the attributes of", path: rel.to_owned(), source: e })
    }

    fn read_xattr(&mut self, fd: BorrowedFd<'_>, key: Option<&CStr>) -> io::Result<Vec<u8>> {
        loop {
            let result = match key {
                None => rustix::fs::flistxattr(fd, &mut self.buf[..]),
                Some(k) => rustix::fs::fgetxattr(fd, k, &mut self.buf[..]),
            };
            match result {
                Ok(n) => return Ok(self.buf[..n].to_vec()),
                Err(Errno::RANGE) if self.buf.len() < XATTR_BUFFER_MAX => {
                    let bigger = self.buf.len() * 2;
                    self.buf.resize(bigger, 0);
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn copy_xattrs(&mut self, src: &OwnedFd, dst: &OwnedFd) -> io::Result<()> {
        let list = match self.read_xattr(src.as_fd(), None) {
            Ok(l) => l,
            Err(e) if e.raw_os_error() == Some(Errno::NOTSUP.raw_os_error()) => return Ok(()),
            Err(e) => return Err(e),
        };
        for key in list.split(|b| *b == 0).filter(|k| !k.is_empty()) {
            let Ok(key) = CString::new(key) else { continue };
            let value = match self.read_xattr(src.as_fd(), Some(&key)) {
                Ok(v) => v,
                // Removed since it was listed.
                Err(e) if e.raw_os_error() == Some(Errno::NODATA.raw_os_error()) => continue,
                Err(e) => return Err(e),
            };
            match rustix::fs::fsetxattr(dst, key.as_c_str(), &value, rustix::fs::XattrFlags::empty()) {
                // The destination's filesystem has no such xattrs (an image's user.* xattrs
                // copied up into a volume elsewhere): the copy is still the data.
                Err(Errno::NOTSUP) if !key.as_bytes().starts_with(b"security.") => {
                    tracing::debug!(xattr = %key.to_string_lossy(), "xattr not supported by the destination, skipped");
                }
                other => other?,
            }
        }
        Ok(())
    }
}

/// Copies `size` bytes inside the kernel, or through a buffer where it cannot.
fn copy_data(src: &OwnedFd, dst: &OwnedFd, size: u64) -> io::Result<()> {
    let mut done = 0u64;
    while done < size {
        let want = usize::try_from(size - done).unwrap_or(COPY_CHUNK).min(COPY_CHUNK);
        match rustix::fs::copy_file_range(src, None, dst, None, want) {
            Ok(0) => break, // the file shrank while copied
            Ok(n) => done += n as u64,
            Err(Errno::INTR) => {}
            Err(Errno::XDEV | Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP | Errno::PERM) if done == 0 => {
                let mut from = std::fs::File::from(rustix::io::fcntl_dupfd_cloexec(src, 0)?);
                let mut to = std::fs::File::from(rustix::io::fcntl_dupfd_cloexec(dst, 0)?);
                io::copy(&mut from, &mut to)?;
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn uid(st: &Stat) -> rustix::fs::Uid {
    rustix::fs::Uid::from_raw(st.st_uid)
}

fn gid(st: &Stat) -> rustix::fs::Gid {
    rustix::fs::Gid::from_raw(st.st_gid)
}

fn times(st: &Stat) -> Timestamps {
    Timestamps {
        last_access: Timespec { tv_sec: st.st_atime as _, tv_nsec: st.st_atime_nsec as _ },
        last_modification: Timespec { tv_sec: st.st_mtime as _, tv_nsec: st.st_mtime_nsec as _ },
    }
}

/// Owner, then mode (a chown clears setuid/setgid), then times, from `st`.
fn set_attrs(fd: &OwnedFd, st: &Stat) -> io::Result<()> {
    rustix::fs::fchown(fd, Some(uid(st)), Some(gid(st)))?;
    rustix::fs::fchmod(fd, Mode::from_raw_mode(st.st_mode & 0o7777))?;
    rustix::fs::futimens(fd, &times(st))?;
    Ok(())
}
