//! The vfs driver: every layer is a complete copy of its parent plus its own changes.
//!
//! For filesystems overlayfs cannot use (no d_type, or the data-root on overlayfs itself). Copies
//! share blocks where the filesystem can (`FICLONE` reflinks on btrfs/xfs), and otherwise go
//! through `copy_file_range`, which stays in the kernel. Nothing is mounted: a layer's directory
//! is its root filesystem. Changes are found by comparing a layer with its parent (mode, owner,
//! size, mtime, link target), as Docker's naive diff does.

use std::collections::HashMap;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags, Timestamps};

use super::{Change, ChangeKind, DriverError, DriverKind, DriverResult, GraphDriver, io_err};
use crate::tarlayer::Whiteouts;

const LAYER_DIR_MODE: u32 = 0o755;
/// Bytes per `copy_file_range` call.
const COPY_CHUNK: usize = 1 << 30;

/// The vfs driver rooted at `home` (`<data-root>/vfs/dir`).
#[derive(Debug)]
pub struct Vfs {
    home: PathBuf,
}

impl Vfs {
    pub fn new(home: &Path) -> DriverResult<Vfs> {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(home).map_err(io_err("create", home))?;
        Ok(Vfs { home: home.to_owned() })
    }

    fn dir(&self, id: &str) -> PathBuf {
        self.home.join(id)
    }
}

impl GraphDriver for Vfs {
    fn kind(&self) -> DriverKind {
        DriverKind::Vfs
    }

    fn home(&self) -> &Path {
        &self.home
    }

    fn whiteouts(&self) -> Whiteouts {
        Whiteouts::Delete
    }

    fn stages_without_parent(&self) -> bool {
        false
    }

    fn create(&self, id: &str, parent: Option<&str>) -> DriverResult<PathBuf> {
        let dir = self.dir(id);
        std::fs::DirBuilder::new().mode(LAYER_DIR_MODE).create(&dir).map_err(io_err("create", &dir))?;
        if let Some(parent) = parent {
            let from = self.dir(parent);
            copy_tree(&from, &dir, &mut HashMap::new()).map_err(io_err("copy layer", &from))?;
            copy_metadata(&from, &dir).map_err(io_err("copy layer", &from))?;
        }
        Ok(dir)
    }

    fn set_parent(&self, _id: &str, parent: Option<&str>) -> DriverResult<()> {
        match parent {
            None => Ok(()),
            Some(_) => Err(DriverError::Io {
                op: "re-parent",
                path: self.home.clone(),
                source: io::Error::new(io::ErrorKind::Unsupported, "vfs layers are copies of their parent"),
            }),
        }
    }

    fn content_dir(&self, id: &str) -> PathBuf {
        self.dir(id)
    }

    fn get(&self, id: &str) -> DriverResult<PathBuf> {
        Ok(self.dir(id))
    }

    fn put(&self, _id: &str) -> DriverResult<()> {
        Ok(())
    }

    fn remove(&self, id: &str) -> DriverResult<()> {
        super::move_to_trash(&self.home, &self.dir(id), id)?;
        super::purge_trash_in_background(&self.home);
        Ok(())
    }

    fn data(&self, _id: &str) -> Vec<(String, String)> {
        Vec::new()
    }

    fn list(&self) -> DriverResult<Vec<String>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.home).map_err(io_err("list", &self.home))? {
            let e = e.map_err(io_err("list", &self.home))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') {
                out.push(name);
            }
        }
        Ok(out)
    }

    fn changes(&self, id: &str, parent: Option<&str>) -> DriverResult<Vec<Change>> {
        let new = self.dir(id);
        let old = parent.map(|p| self.dir(p));
        let mut out = Vec::new();
        naive_changes(&new, old.as_deref(), Path::new(""), &mut out).map_err(io_err("compare", &new))?;
        out.sort();
        Ok(out)
    }

    fn cleanup(&self) -> DriverResult<()> {
        super::purge_trash_in_background(&self.home);
        Ok(())
    }
}

fn differs(a: &std::fs::Metadata, b: &std::fs::Metadata, pa: &Path, pb: &Path) -> bool {
    if a.file_type() != b.file_type()
        || a.mode() != b.mode()
        || a.uid() != b.uid()
        || a.gid() != b.gid()
        || a.rdev() != b.rdev()
    {
        return true;
    }
    if a.is_dir() {
        return false;
    }
    if a.file_type().is_symlink() {
        return std::fs::read_link(pa).ok() != std::fs::read_link(pb).ok();
    }
    a.size() != b.size() || a.mtime() != b.mtime() || a.mtime_nsec() != b.mtime_nsec()
}

/// Compares `new` with `old` below `rel`, Docker's way: deletions, additions, and modifications
/// (a directory counts as modified when something inside it changed).
fn naive_changes(new: &Path, old: Option<&Path>, rel: &Path, out: &mut Vec<Change>) -> io::Result<bool> {
    let here_new = new.join(rel);
    let mut changed = false;
    let mut seen = std::collections::HashSet::new();
    for e in std::fs::read_dir(&here_new)? {
        let e = e?;
        let name = e.file_name();
        seen.insert(name.clone());
        let child = rel.join(&name);
        let md_new = std::fs::symlink_metadata(new.join(&child))?;
        let md_old = old.and_then(|o| std::fs::symlink_metadata(o.join(&child)).ok());
        let shown = format!("/{}", child.display());
        match md_old {
            None => {
                changed = true;
                out.push(Change { path: shown, kind: ChangeKind::Added });
                if md_new.is_dir() {
                    naive_changes(new, None, &child, out)?;
                }
            }
            Some(md_old) => {
                let old_root = old.unwrap_or(new);
                let mut this = differs(&md_new, &md_old, &new.join(&child), &old_root.join(&child));
                if md_new.is_dir() && md_old.is_dir() {
                    let inner = naive_changes(new, old, &child, out)?;
                    this |= inner;
                }
                if this {
                    changed = true;
                    out.push(Change { path: shown, kind: ChangeKind::Modified });
                }
            }
        }
    }
    if let Some(o) = old {
        for e in std::fs::read_dir(o.join(rel))? {
            let e = e?;
            if !seen.contains(&e.file_name()) {
                changed = true;
                out.push(Change { path: format!("/{}", rel.join(e.file_name()).display()), kind: ChangeKind::Deleted });
            }
        }
    }
    Ok(changed)
}

/// Copies the contents of `from` into the existing directory `to`, preserving types, modes,
/// owners, xattrs, times and hardlinks.
pub fn copy_tree(from: &Path, to: &Path, links: &mut HashMap<(u64, u64), PathBuf>) -> io::Result<()> {
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let src = e.path();
        let dst = to.join(e.file_name());
        let md = std::fs::symlink_metadata(&src)?;
        let ft = md.file_type();
        if ft.is_dir() {
            std::fs::create_dir(&dst)?;
            copy_tree(&src, &dst, links)?;
            copy_metadata(&src, &dst)?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
            rustix::fs::chownat(
                rustix::fs::CWD,
                &dst,
                Some(rustix::fs::Uid::from_raw(md.uid())),
                Some(rustix::fs::Gid::from_raw(md.gid())),
                AtFlags::SYMLINK_NOFOLLOW,
            )?;
            rustix::fs::utimensat(rustix::fs::CWD, &dst, &times_of(&md), AtFlags::SYMLINK_NOFOLLOW)?;
        } else {
            if md.nlink() > 1 {
                let key = (md.dev(), md.ino());
                if let Some(first) = links.get(&key) {
                    std::fs::hard_link(first, &dst)?;
                    continue;
                }
                links.insert(key, dst.clone());
            }
            if ft.is_file() {
                copy_file(&src, &dst, &md)?;
            } else {
                let kind = if ft.is_char_device() {
                    rustix::fs::FileType::CharacterDevice
                } else if ft.is_block_device() {
                    rustix::fs::FileType::BlockDevice
                } else if ft.is_fifo() {
                    rustix::fs::FileType::Fifo
                } else {
                    rustix::fs::FileType::Socket
                };
                rustix::fs::mknodat(rustix::fs::CWD, &dst, kind, Mode::from_raw_mode(md.mode() & 0o7777), md.rdev())?;
                copy_metadata(&src, &dst)?;
            }
        }
    }
    Ok(())
}

fn copy_file(src: &Path, dst: &Path, md: &std::fs::Metadata) -> io::Result<()> {
    let input = std::fs::File::open(src)?;
    let output = rustix::fs::open(
        dst,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )?;
    if rustix::fs::ioctl_ficlone(&output, &input).is_err() {
        let mut left = md.len();
        while left > 0 {
            let n = rustix::fs::copy_file_range(&input, None, &output, None, (left as usize).min(COPY_CHUNK))?;
            if n == 0 {
                break;
            }
            left -= n as u64;
        }
    }
    copy_metadata_fd(src, output.as_fd(), md)
}

fn times_of(md: &std::fs::Metadata) -> Timestamps {
    Timestamps {
        last_access: rustix::fs::Timespec { tv_sec: md.atime(), tv_nsec: md.atime_nsec() },
        last_modification: rustix::fs::Timespec { tv_sec: md.mtime(), tv_nsec: md.mtime_nsec() },
    }
}

/// Owner, mode, xattrs and times of `src` onto the non-symlink `dst`.
fn copy_metadata(src: &Path, dst: &Path) -> io::Result<()> {
    let md = std::fs::symlink_metadata(src)?;
    let fd = rustix::fs::open(dst, OFlags::PATH | OFlags::CLOEXEC | OFlags::NOFOLLOW, Mode::empty())?;
    if md.is_dir() || md.is_file() {
        let fd = rustix::fs::open(dst, OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW, Mode::empty())?;
        return copy_metadata_fd(src, fd.as_fd(), &md);
    }
    // Devices and FIFOs cannot be opened safely; set what applies by path.
    drop(fd);
    rustix::fs::chownat(
        rustix::fs::CWD,
        dst,
        Some(rustix::fs::Uid::from_raw(md.uid())),
        Some(rustix::fs::Gid::from_raw(md.gid())),
        AtFlags::SYMLINK_NOFOLLOW,
    )?;
    std::fs::set_permissions(dst, std::fs::Permissions::from_mode(md.mode() & 0o7777))?;
    rustix::fs::utimensat(rustix::fs::CWD, dst, &times_of(&md), AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(())
}

fn copy_metadata_fd(src: &Path, fd: std::os::fd::BorrowedFd<'_>, md: &std::fs::Metadata) -> io::Result<()> {
    rustix::fs::fchown(fd, Some(rustix::fs::Uid::from_raw(md.uid())), Some(rustix::fs::Gid::from_raw(md.gid())))?;
    rustix::fs::fchmod(fd, Mode::from_raw_mode(md.mode() & 0o7777))?;
    let mut names = vec![0u8; 64 * 1024];
    if let Ok(n) = rustix::fs::llistxattr(src, &mut names) {
        for name in names[..n].split(|b| *b == 0).filter(|n| !n.is_empty()) {
            let mut value = vec![0u8; 64 * 1024];
            if let Ok(len) = rustix::fs::lgetxattr(src, name, &mut value) {
                let _ = rustix::fs::fsetxattr(fd, name, &value[..len], rustix::fs::XattrFlags::empty());
            }
        }
    }
    rustix::fs::futimens(fd, &times_of(md))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_are_full_copies_and_changes_compare_with_the_parent() {
        let t = tempfile::tempdir().expect("tempdir");
        let d = Vfs::new(&t.path().join("vfs/dir")).expect("vfs");
        let base = d.create("base", None).expect("base");
        std::fs::create_dir(base.join("etc")).expect("etc");
        std::fs::write(base.join("etc/passwd"), "root").expect("passwd");
        std::fs::write(base.join("gone"), "x").expect("gone");
        std::os::unix::fs::symlink("etc/passwd", base.join("link")).expect("symlink");
        std::fs::hard_link(base.join("etc/passwd"), base.join("hard")).expect("hardlink");
        let rw = d.create("rw", Some("base")).expect("rw");
        assert_eq!(std::fs::read_to_string(rw.join("etc/passwd")).expect("copied"), "root");
        assert_eq!(std::fs::read_link(rw.join("link")).expect("link"), Path::new("etc/passwd"));
        let (a, b) =
            (std::fs::metadata(rw.join("etc/passwd")).expect("a"), std::fs::metadata(rw.join("hard")).expect("b"));
        assert_eq!(a.ino(), b.ino(), "hardlinks stay hardlinks");
        assert!(d.changes("rw", Some("base")).expect("changes").is_empty());
        std::fs::write(rw.join("etc/passwd"), "changed!").expect("write");
        std::fs::remove_file(rw.join("gone")).expect("rm");
        std::fs::create_dir(rw.join("new")).expect("new");
        let got = d.changes("rw", Some("base")).expect("changes");
        let want = vec![
            Change { path: "/etc".into(), kind: ChangeKind::Modified },
            Change { path: "/etc/passwd".into(), kind: ChangeKind::Modified },
            Change { path: "/gone".into(), kind: ChangeKind::Deleted },
            Change { path: "/hard".into(), kind: ChangeKind::Modified },
            Change { path: "/new".into(), kind: ChangeKind::Added },
        ];
        assert_eq!(got, want);
        d.remove("rw").expect("remove");
        assert_eq!(d.list().expect("list"), vec!["base".to_owned()]);
    }
}
