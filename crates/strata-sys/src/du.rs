//! `du` for the directories strata measures (container upper directories, volume data): one
//! iterative walk relative to open directory descriptors (`O_NOFOLLOW`: a symlink a container
//! swapped in never leads the walk outside), never descending into another mount, each
//! hard-linked inode counted once.
//!
//! It reports both figures users compare with: the apparent size Docker reports (`st_size` of
//! everything that is not a directory, like `du -b` over the files) and the allocated bytes
//! (`st_blocks`, directories included, like `du -k`). Safe code only; it lives here because it
//! is the kernel-facing half of disk usage.

use std::collections::HashSet;
use std::io;
use std::path::Path;

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, StatxAttributes, StatxFlags, statx};

/// Bytes per `st_blocks` unit.
const BLOCK_UNIT: u64 = 512;

/// What a walk found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TreeUsage {
    /// Sum of `st_size` of non-directories, hard-linked inodes once (Docker's `Size`).
    pub apparent: u64,
    /// Sum of allocated blocks of everything below and including the root (`du -sk` × 1024).
    pub allocated: u64,
    /// Inodes seen (the root included).
    pub inodes: u64,
}

fn is_mount_root(st: &rustix::fs::Statx) -> bool {
    st.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT)
        && st.stx_attributes.contains(StatxAttributes::MOUNT_ROOT)
}

/// Measures the tree at `path` (see the module docs). A missing `path` is an error; entries
/// that vanish during the walk are skipped.
pub fn tree_usage(path: &Path) -> io::Result<TreeUsage> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let root = rustix::fs::open(path, flags, Mode::empty())?;
    let mask = StatxFlags::TYPE | StatxFlags::SIZE | StatxFlags::INO | StatxFlags::NLINK | StatxFlags::BLOCKS;
    let top = statx(&root, c"", AtFlags::EMPTY_PATH, mask)?;
    let mut usage = TreeUsage { apparent: 0, allocated: top.stx_blocks * BLOCK_UNIT, inodes: 1 };
    let mut seen = HashSet::new();
    let mut stack = vec![root];
    while let Some(fd) = stack.pop() {
        for entry in Dir::read_from(&fd)? {
            let entry = entry?;
            let name = entry.file_name();
            if name.to_bytes() == b"." || name.to_bytes() == b".." {
                continue;
            }
            let st = match statx(&fd, name, AtFlags::SYMLINK_NOFOLLOW, mask) {
                Ok(st) => st,
                Err(rustix::io::Errno::NOENT) => continue,
                Err(e) => return Err(e.into()),
            };
            if st.stx_nlink > 1 && !seen.insert((st.stx_dev_major, st.stx_dev_minor, st.stx_ino)) {
                continue;
            }
            if FileType::from_raw_mode(st.stx_mode.into()) == FileType::Directory {
                if is_mount_root(&st) {
                    continue;
                }
                usage.inodes += 1;
                usage.allocated += st.stx_blocks * BLOCK_UNIT;
                match rustix::fs::openat(&fd, name, flags, Mode::empty()) {
                    Ok(child) => stack.push(child),
                    Err(rustix::io::Errno::NOENT) => {}
                    Err(e) => return Err(e.into()),
                }
                continue;
            }
            usage.inodes += 1;
            usage.allocated += st.stx_blocks * BLOCK_UNIT;
            usage.apparent = usage.apparent.saturating_add(st.stx_size);
        }
    }
    Ok(usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_files_once_and_blocks_like_du() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path();
        std::fs::create_dir_all(p.join("a/b")).expect("mkdir");
        std::fs::write(p.join("a/one"), vec![1u8; 5000]).expect("write");
        std::fs::write(p.join("a/b/two"), vec![2u8; 24]).expect("write");
        std::fs::hard_link(p.join("a/one"), p.join("again")).expect("link");
        std::os::unix::fs::symlink("a/one", p.join("sym")).expect("symlink");
        let u = tree_usage(p).expect("usage");
        assert_eq!(u.apparent, 5000 + 24 + 5);
        assert_eq!(u.inodes, 6);
        let out = std::process::Command::new("du").arg("-sk").arg(p).output().expect("du");
        let kib: u64 = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .and_then(|s| s.parse().ok())
            .expect("du output");
        assert_eq!(u.allocated, kib * 1024);
    }
}
