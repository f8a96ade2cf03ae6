//! Docker's copy-up: an empty volume mounted over a directory of the image starts with that
//! directory's content, owner and mode (this is how `postgres` finds its data directory owned by
//! the `postgres` user). And `volume-subpath`: mounting one directory of a volume, never a path
//! outside it.
//!
//! Both walk paths that come from an image or a request, so neither follows a symlink: a
//! destination reached through a symlink in the image is not copied (Docker would follow it
//! inside the rootfs; refusing is the safe subset), and a subpath through a symlink is refused.
//!
//! The copy itself is the volume service's clone copier ([`strata_volume::copy`]): fd-relative
//! and never following symlinks, it keeps owners, modes, times, xattrs, hardlinks, devices and
//! FIFOs, as Docker's copy-up (containerd's `fs.CopyDir`) does, and clones blocks where the
//! filesystem can.

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// Copies the image's content at `destination` (inside `rootfs`) into `volume` when `volume` is
/// empty; gives `volume` the owner and mode of the image's directory. Nothing to copy is fine.
pub fn copy_up(rootfs: &Path, destination: &str, volume: &Path) -> io::Result<()> {
    if fs::read_dir(volume)?.next().is_some() {
        return Ok(());
    }
    let Some(source) = walk_no_symlinks(rootfs, destination)? else { return Ok(()) };
    let md = fs::symlink_metadata(&source)?;
    if !md.is_dir() {
        return Ok(());
    }
    strata_volume::copy::copy_tree(&source, volume, &mut |_| {})
        .map_err(|e| io::Error::new(e.source.kind(), e.to_string()))?;
    std::os::unix::fs::lchown(volume, Some(md.uid()), Some(md.gid()))?;
    fs::set_permissions(volume, fs::Permissions::from_mode(md.mode() & 0o7777))?;
    Ok(())
}

/// `rootfs` joined with `path` if every component exists and none is a symlink.
fn walk_no_symlinks(rootfs: &Path, path: &str) -> io::Result<Option<PathBuf>> {
    let mut p = rootfs.to_path_buf();
    for c in Path::new(path).components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(n) => {
                p.push(n);
                match fs::symlink_metadata(&p) {
                    Ok(md) if md.file_type().is_symlink() => return Ok(None),
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(e),
                }
            }
            Component::ParentDir | Component::Prefix(_) => return Ok(None),
        }
    }
    Ok(Some(p))
}

/// The directory `subpath` of the volume at `data`: relative, no `..`, no symlink on the way,
/// and existing.
pub fn resolve_subpath(data: &Path, subpath: &str) -> io::Result<PathBuf> {
    let rel = Path::new(subpath);
    if rel.is_absolute() || rel.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "subpath must be a relative path within the volume"));
    }
    walk_no_symlinks(data, subpath)?
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such directory, or a symlink on the way"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_into_an_empty_volume_only() {
        let root = tempfile::tempdir().expect("tmp");
        let rootfs = root.path().join("rootfs");
        fs::create_dir_all(rootfs.join("data/sub")).expect("mkdir");
        fs::write(rootfs.join("data/sub/f"), b"x").expect("write");
        fs::set_permissions(rootfs.join("data/sub/f"), fs::Permissions::from_mode(0o4750)).expect("chmod");
        fs::hard_link(rootfs.join("data/sub/f"), rootfs.join("data/f-again")).expect("link");
        std::os::unix::fs::symlink("sub/f", rootfs.join("data/link")).expect("symlink");
        fs::set_permissions(rootfs.join("data"), fs::Permissions::from_mode(0o700)).expect("chmod");
        let vol = root.path().join("vol");
        fs::create_dir(&vol).expect("mkdir");
        copy_up(&rootfs, "/data", &vol).expect("copy");
        assert_eq!(fs::read(vol.join("sub/f")).expect("read"), b"x");
        assert_eq!(fs::metadata(vol.join("sub/f")).expect("md").mode() & 0o7777, 0o4750);
        assert_eq!(
            fs::metadata(vol.join("f-again")).expect("md").ino(),
            fs::metadata(vol.join("sub/f")).expect("md").ino()
        );
        assert_eq!(fs::read_link(vol.join("link")).expect("readlink"), Path::new("sub/f"));
        assert_eq!(fs::metadata(&vol).expect("md").mode() & 0o777, 0o700);
        fs::write(rootfs.join("data/new"), b"y").expect("write");
        copy_up(&rootfs, "/data", &vol).expect("copy again");
        assert!(!vol.join("new").exists(), "a volume with content is left alone");
    }

    #[test]
    fn symlinks_on_the_way_are_not_followed() {
        let root = tempfile::tempdir().expect("tmp");
        let rootfs = root.path().join("rootfs");
        fs::create_dir_all(&rootfs).expect("mkdir");
        std::os::unix::fs::symlink("/etc", rootfs.join("data")).expect("symlink");
        let vol = root.path().join("vol");
        fs::create_dir(&vol).expect("mkdir");
        copy_up(&rootfs, "/data", &vol).expect("copy");
        assert_eq!(fs::read_dir(&vol).expect("ls").count(), 0);
        assert!(resolve_subpath(&rootfs, "data").is_err());
        assert!(resolve_subpath(&rootfs, "../x").is_err());
    }
}
