//! The overlay2 driver: Docker's layout over kernel overlayfs.
//!
//! ```text
//! overlay2/
//!   l/<LINK>            -> ../<id>/diff   short names, so lower lists stay short
//!   <id>/diff/          the layer's own files (a container's upper dir)
//!   <id>/link           this layer's LINK
//!   <id>/lower          l/<LINK>:l/<LINK>:…  everything below, top first (absent for a base layer)
//!   <id>/work/          overlayfs' work dir (layers with a parent)
//!   <id>/merged/        the mount point while mounted
//!   .trash/             removed layers awaiting background deletion
//! ```
//!
//! Mounts are reference-counted in memory (the daemon is the only mounter, and the start-up
//! cleanup unmounts everything a previous run left), made through [`Mounter`] with
//! `index=off,redirect_dir=off`, and undone with `MNT_DETACH` followed by removing `merged/`.
//! Because redirects are off, the upper directory is always the whole diff of a container:
//! [`GraphDriver::changes`] reads it natively instead of comparing trees.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{Change, ChangeKind, DriverError, DriverKind, DriverResult, GraphDriver, io_err};
use crate::mount::{Mounter, OverlayMount};
use crate::tarlayer::Whiteouts;

/// The directory of short links.
pub const LINK_DIR: &str = "l";
const DIFF: &str = "diff";
const WORK: &str = "work";
const MERGED: &str = "merged";
const LINK_FILE: &str = "link";
const LOWER_FILE: &str = "lower";
const OPAQUE_XATTR: &str = "trusted.overlay.opaque";
const REDIRECT_XATTR: &str = "trusted.overlay.redirect";
/// Modes of the directories the driver makes.
const LAYER_DIR_MODE: u32 = 0o700;
const DIFF_DIR_MODE: u32 = 0o755;

/// The overlay2 driver rooted at `home` (`<data-root>/overlay2`).
#[derive(Debug)]
pub struct Overlay2 {
    home: PathBuf,
    mounter: Arc<dyn Mounter>,
    mounts: Mutex<HashMap<String, u32>>,
}

impl Overlay2 {
    /// Opens (creating) the driver home.
    pub fn new(home: &Path, mounter: Arc<dyn Mounter>) -> DriverResult<Overlay2> {
        let links = home.join(LINK_DIR);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(LAYER_DIR_MODE)
            .create(&links)
            .map_err(io_err("create", &links))?;
        Ok(Overlay2 { home: home.to_owned(), mounter, mounts: Mutex::default() })
    }

    fn dir(&self, id: &str) -> PathBuf {
        self.home.join(id)
    }

    /// The lower list of `id` as written in its `lower` file (`l/A:l/B`), empty for a base layer.
    fn lower_entries(&self, id: &str) -> DriverResult<Vec<String>> {
        let path = self.dir(id).join(LOWER_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(text.trim().split(':').filter(|s| !s.is_empty()).map(str::to_owned).collect()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(DriverError::Io { op: "read", path, source: e }),
        }
    }

    /// The absolute diff directories below `id`, top first (resolving the short links).
    fn lower_diff_dirs(&self, id: &str) -> DriverResult<Vec<PathBuf>> {
        self.lower_entries(id)?
            .iter()
            .map(|entry| {
                let link = self.home.join(entry);
                let target = std::fs::read_link(&link).map_err(io_err("read link", &link))?;
                // `../<id>/diff`, relative to l/.
                Ok(self.home.join(LINK_DIR).join(target).components().collect::<PathBuf>())
            })
            .map(|r: DriverResult<PathBuf>| r.map(|p| normalize_dotdot(&p)))
            .collect()
    }

    fn mount_refs(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        self.mounts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many times layer `id` is mounted (for tests and diagnostics).
    pub fn mount_count(&self, id: &str) -> u32 {
        self.mount_refs().get(id).copied().unwrap_or(0)
    }
}

/// Resolves `a/b/../c` lexically (the link targets are `../<id>/diff`).
fn normalize_dotdot(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

impl GraphDriver for Overlay2 {
    fn kind(&self) -> DriverKind {
        DriverKind::Overlay2
    }

    fn home(&self) -> &Path {
        &self.home
    }

    fn whiteouts(&self) -> Whiteouts {
        Whiteouts::Overlay
    }

    fn stages_without_parent(&self) -> bool {
        true
    }

    fn create(&self, id: &str, parent: Option<&str>) -> DriverResult<PathBuf> {
        let dir = self.dir(id);
        std::fs::DirBuilder::new().mode(LAYER_DIR_MODE).create(&dir).map_err(io_err("create", &dir))?;
        let diff = dir.join(DIFF);
        std::fs::DirBuilder::new().mode(DIFF_DIR_MODE).create(&diff).map_err(io_err("create", &diff))?;
        let link = crate::id::random_link_id();
        let link_file = dir.join(LINK_FILE);
        std::fs::write(&link_file, &link).map_err(io_err("write", &link_file))?;
        let link_path = self.home.join(LINK_DIR).join(&link);
        std::os::unix::fs::symlink(Path::new("..").join(id).join(DIFF), &link_path)
            .map_err(io_err("link", &link_path))?;
        self.set_parent(id, parent)?;
        Ok(diff)
    }

    fn set_parent(&self, id: &str, parent: Option<&str>) -> DriverResult<()> {
        let Some(parent) = parent else { return Ok(()) };
        let dir = self.dir(id);
        let parent_link_file = self.dir(parent).join(LINK_FILE);
        let parent_link = std::fs::read_to_string(&parent_link_file).map_err(io_err("read", &parent_link_file))?;
        let mut lowers = vec![format!("{LINK_DIR}/{}", parent_link.trim())];
        lowers.extend(self.lower_entries(parent)?);
        let lower_file = dir.join(LOWER_FILE);
        std::fs::write(&lower_file, lowers.join(":")).map_err(io_err("write", &lower_file))?;
        let work = dir.join(WORK);
        match std::fs::DirBuilder::new().mode(LAYER_DIR_MODE).create(&work) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(DriverError::Io { op: "create", path: work, source: e }),
        }
    }

    fn content_dir(&self, id: &str) -> PathBuf {
        self.dir(id).join(DIFF)
    }

    fn get(&self, id: &str) -> DriverResult<PathBuf> {
        let dir = self.dir(id);
        let lowers = self.lower_entries(id)?;
        if lowers.is_empty() {
            // A base layer is its own root filesystem; nothing to mount.
            return Ok(dir.join(DIFF));
        }
        let merged = dir.join(MERGED);
        let mut refs = self.mount_refs();
        let count = refs.entry(id.to_owned()).or_insert(0);
        if *count == 0 {
            match std::fs::DirBuilder::new().mode(LAYER_DIR_MODE).create(&merged) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(DriverError::Io { op: "create", path: merged, source: e }),
            }
            let m = OverlayMount {
                lowers: lowers.iter().map(|l| self.home.join(l)).collect(),
                upper: Some(dir.join(DIFF)),
                work: Some(dir.join(WORK)),
                target: merged.clone(),
            };
            if let Err(source) = self.mounter.mount_overlay(&m) {
                let _ = std::fs::remove_dir(&merged);
                refs.remove(id);
                return Err(DriverError::Mount { target: merged, source });
            }
        }
        *count += 1;
        Ok(merged)
    }

    fn put(&self, id: &str) -> DriverResult<()> {
        let mut refs = self.mount_refs();
        let Some(count) = refs.get_mut(id) else { return Ok(()) };
        *count -= 1;
        if *count > 0 {
            return Ok(());
        }
        refs.remove(id);
        let merged = self.dir(id).join(MERGED);
        self.mounter.unmount(&merged).map_err(|source| DriverError::Mount { target: merged.clone(), source })?;
        // Removing the mount point makes the kernel drop copies of the mount that leaked into
        // other mount namespaces.
        let _ = std::fs::remove_dir(&merged);
        Ok(())
    }

    fn remove(&self, id: &str) -> DriverResult<()> {
        let dir = self.dir(id);
        if self.mount_refs().remove(id).is_some() {
            let merged = dir.join(MERGED);
            let _ = self.mounter.unmount(&merged);
        }
        if let Ok(link) = std::fs::read_to_string(dir.join(LINK_FILE)) {
            let link = link.trim();
            if !link.is_empty() && !link.contains('/') {
                let _ = std::fs::remove_file(self.home.join(LINK_DIR).join(link));
            }
        }
        super::move_to_trash(&self.home, &dir, id)?;
        super::purge_trash_in_background(&self.home);
        Ok(())
    }

    fn data(&self, id: &str) -> Vec<(String, String)> {
        let dir = self.dir(id);
        let mut data = Vec::new();
        if let Ok(lowers) = self.lower_diff_dirs(id)
            && !lowers.is_empty()
        {
            let joined: Vec<String> = lowers.iter().map(|p| p.display().to_string()).collect();
            data.push(("LowerDir".to_owned(), joined.join(":")));
        }
        data.push(("MergedDir".to_owned(), dir.join(MERGED).display().to_string()));
        data.push(("UpperDir".to_owned(), dir.join(DIFF).display().to_string()));
        data.push(("WorkDir".to_owned(), dir.join(WORK).display().to_string()));
        data
    }

    fn list(&self) -> DriverResult<Vec<String>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.home).map_err(io_err("list", &self.home))? {
            let e = e.map_err(io_err("list", &self.home))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name != LINK_DIR && !name.starts_with('.') {
                out.push(name);
            }
        }
        Ok(out)
    }

    fn changes(&self, id: &str, _parent: Option<&str>) -> DriverResult<Vec<Change>> {
        let upper = self.content_dir(id);
        let lowers = self.lower_diff_dirs(id)?;
        let mut out = Vec::new();
        walk_upper(&upper, &upper, &lowers, &mut out)?;
        out.sort();
        Ok(out)
    }

    fn cleanup(&self) -> DriverResult<()> {
        let n = strata_sys::mountinfo::unmount_all_under(&self.home).map_err(io_err("unmount under", &self.home))?;
        if n > 0 {
            tracing::info!(count = n, home = %self.home.display(), "unmounted stale layer mounts");
        }
        self.mount_refs().clear();
        // Dangling short links (their layer is gone).
        let links = self.home.join(LINK_DIR);
        if let Ok(entries) = std::fs::read_dir(&links) {
            for e in entries.flatten() {
                if std::fs::metadata(e.path()).is_err() {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        super::purge_trash_in_background(&self.home);
        Ok(())
    }
}

/// Whether `rel` exists in the stack `lowers` (top first), honouring whiteouts and opaque dirs.
fn exists_below(lowers: &[PathBuf], rel: &Path) -> bool {
    for lower in lowers {
        let p = lower.join(rel);
        match std::fs::symlink_metadata(&p) {
            Ok(md) => return !is_whiteout(&md),
            Err(_) => {
                // An opaque parent in this layer hides everything further down.
                if rel.ancestors().skip(1).any(|a| !a.as_os_str().is_empty() && is_opaque(&lower.join(a))) {
                    return false;
                }
            }
        }
    }
    false
}

fn is_whiteout(md: &std::fs::Metadata) -> bool {
    md.file_type().is_char_device() && md.rdev() == 0
}

fn is_opaque(dir: &Path) -> bool {
    let mut buf = [0u8; 4];
    matches!(rustix::fs::lgetxattr(dir, OPAQUE_XATTR, &mut buf), Ok(1) if buf[0] == b'y')
}

fn walk_upper(root: &Path, dir: &Path, lowers: &[PathBuf], out: &mut Vec<Change>) -> DriverResult<()> {
    let entries = std::fs::read_dir(dir).map_err(io_err("read", dir))?;
    for e in entries {
        let e = e.map_err(io_err("read", dir))?;
        let path = e.path();
        let md = std::fs::symlink_metadata(&path).map_err(io_err("stat", &path))?;
        let rel = path.strip_prefix(root).unwrap_or(&path).to_owned();
        let shown = format!("/{}", rel.display());
        if is_whiteout(&md) {
            out.push(Change { path: shown, kind: ChangeKind::Deleted });
            continue;
        }
        let kind = if exists_below(lowers, &rel) { ChangeKind::Modified } else { ChangeKind::Added };
        out.push(Change { path: shown, kind });
        if md.is_dir() {
            walk_upper(root, &path, lowers, out)?;
        }
    }
    Ok(())
}

/// Whether this kernel's overlayfs, mounted as strata mounts it, keeps the upper dir a plain
/// diff: an opaque lower directory's flag is not copied up, and renaming a lower directory
/// leaves no redirect xattr. Probed with a scratch mount under `home`; `false` when the probe
/// cannot mount (no privileges).
pub fn probe_native_diff(home: &Path, mounter: &dyn Mounter) -> bool {
    let scratch = home.join(format!(".probe-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let result = (|| -> io::Result<bool> {
        let (lower, upper, work, merged) = (scratch.join("l"), scratch.join("u"), scratch.join("w"), scratch.join("m"));
        for d in [&lower, &upper, &work, &merged] {
            std::fs::create_dir_all(d)?;
        }
        std::fs::create_dir_all(lower.join("opq"))?;
        std::fs::create_dir_all(lower.join("moved"))?;
        rustix::fs::setxattr(lower.join("opq"), OPAQUE_XATTR, b"y", rustix::fs::XattrFlags::empty())?;
        let m =
            OverlayMount { lowers: vec![lower], upper: Some(upper.clone()), work: Some(work), target: merged.clone() };
        mounter.mount_overlay(&m)?;
        let checks = (|| -> io::Result<bool> {
            std::fs::write(merged.join("opq").join("f"), b"")?;
            // With redirect_dir=off a lower directory cannot be renamed in place (EXDEV), which
            // is what makes tools copy it whole; either way no redirect may appear.
            let _ = std::fs::rename(merged.join("moved"), merged.join("renamed"));
            let mut buf = [0u8; 256];
            let opaque_copied = rustix::fs::lgetxattr(upper.join("opq"), OPAQUE_XATTR, &mut buf).is_ok();
            let redirected = rustix::fs::lgetxattr(upper.join("renamed"), REDIRECT_XATTR, &mut buf).is_ok();
            Ok(!opaque_copied && !redirected)
        })();
        let _ = mounter.unmount(&merged);
        checks
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    match result {
        Ok(native) => native,
        Err(e) => {
            tracing::warn!(error = %e, "cannot probe overlay native diff; reporting it as unavailable");
            false
        }
    }
}

/// The name a directory entry has (for tests).
#[doc(hidden)]
pub fn file_name(p: &Path) -> &OsStr {
    p.file_name().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mount::{MountCall, RecordingMounter};

    fn driver() -> (tempfile::TempDir, Overlay2, Arc<RecordingMounter>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let fake = Arc::new(RecordingMounter::default());
        let d = Overlay2::new(&dir.path().join("overlay2"), fake.clone()).expect("driver");
        (dir, d, fake)
    }

    #[test]
    fn layout_matches_docker() {
        let (_t, d, _) = driver();
        d.create("base", None).expect("base");
        d.create("mid", Some("base")).expect("mid");
        d.create("top", Some("mid")).expect("top");
        let link = |id: &str| std::fs::read_to_string(d.home().join(id).join("link")).expect("link");
        assert_eq!(link("base").len(), crate::id::LINK_ID_LEN);
        assert!(!d.home().join("base/lower").exists(), "a base layer has no lower file");
        assert!(!d.home().join("base/work").exists());
        let lower = std::fs::read_to_string(d.home().join("top/lower")).expect("lower");
        assert_eq!(lower, format!("l/{}:l/{}", link("mid"), link("base")));
        assert!(d.home().join("top/work").is_dir());
        let target = std::fs::read_link(d.home().join("l").join(link("top"))).expect("readlink");
        assert_eq!(target, Path::new("../top/diff"));
        let data: HashMap<_, _> = d.data("top").into_iter().collect();
        let h = d.home().display().to_string();
        assert_eq!(data["LowerDir"], format!("{h}/mid/diff:{h}/base/diff"));
        assert_eq!(data["UpperDir"], format!("{h}/top/diff"));
        assert_eq!(data["MergedDir"], format!("{h}/top/merged"));
        assert_eq!(data["WorkDir"], format!("{h}/top/work"));
        assert!(!d.data("base").iter().any(|(k, _)| k == "LowerDir"));
    }

    #[test]
    fn mounts_are_refcounted_with_the_exact_options() {
        let (_t, d, fake) = driver();
        d.create("base", None).expect("base");
        d.create("rw", Some("base")).expect("rw");
        let merged = d.get("rw").expect("get");
        assert_eq!(d.get("rw").expect("again"), merged);
        assert_eq!(d.mount_count("rw"), 2);
        d.put("rw").expect("put");
        assert_eq!(fake.calls().len(), 1, "one mount for two gets");
        d.put("rw").expect("put");
        let calls = fake.calls();
        assert_eq!(calls.len(), 2);
        let MountCall::Mount(m) = &calls[0] else { panic!("first call is the mount: {calls:?}") };
        let link = std::fs::read_to_string(d.home().join("base/link")).expect("link");
        assert_eq!(m.lowers, vec![d.home().join("l").join(&link)]);
        assert_eq!(m.upper.as_deref(), Some(d.home().join("rw/diff").as_path()));
        assert_eq!(m.work.as_deref(), Some(d.home().join("rw/work").as_path()));
        let opts = m.fsconfig_options();
        assert!(opts.contains(&("index", "off".to_owned())) && opts.contains(&("redirect_dir", "off".to_owned())));
        assert_eq!(calls[1], MountCall::Unmount(merged.clone()));
        assert!(!merged.exists(), "merged/ goes with the mount");
        // A base layer needs no mount.
        assert_eq!(d.get("base").expect("base"), d.home().join("base/diff"));
        assert_eq!(fake.calls().len(), 2);
    }

    #[test]
    fn a_failed_mount_leaves_no_reference() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = Overlay2::new(&dir.path().join("o"), Arc::new(RecordingMounter::failing())).expect("driver");
        d.create("base", None).expect("base");
        d.create("rw", Some("base")).expect("rw");
        assert!(d.get("rw").is_err());
        assert_eq!(d.mount_count("rw"), 0);
        assert!(!d.home().join("rw/merged").exists());
    }

    #[test]
    fn remove_drops_the_link_and_the_directory() {
        let (_t, d, _) = driver();
        d.create("base", None).expect("base");
        let link = std::fs::read_to_string(d.home().join("base/link")).expect("link");
        d.remove("base").expect("remove");
        assert!(!d.home().join("base").exists());
        assert!(std::fs::symlink_metadata(d.home().join("l").join(link)).is_err());
        assert!(d.list().expect("list").is_empty());
    }

    #[test]
    fn changes_are_read_from_the_upper_dir() {
        let (_t, d, _) = driver();
        let base = d.create("base", None).expect("base");
        std::fs::create_dir_all(base.join("etc")).expect("etc");
        std::fs::write(base.join("etc/passwd"), "root").expect("passwd");
        std::fs::write(base.join("gone"), "x").expect("gone");
        let upper = d.create("rw", Some("base")).expect("rw");
        std::fs::create_dir_all(upper.join("etc")).expect("etc");
        std::fs::write(upper.join("etc/passwd"), "changed").expect("passwd");
        std::fs::create_dir_all(upper.join("newdir")).expect("newdir");
        std::fs::write(upper.join("newdir/f"), "").expect("f");
        let whiteout = rustix::fs::mknodat(
            rustix::fs::CWD,
            upper.join("gone"),
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::empty(),
            rustix::fs::makedev(0, 0),
        );
        let mut want = vec![
            Change { path: "/etc".into(), kind: ChangeKind::Modified },
            Change { path: "/etc/passwd".into(), kind: ChangeKind::Modified },
            Change { path: "/newdir".into(), kind: ChangeKind::Added },
            Change { path: "/newdir/f".into(), kind: ChangeKind::Added },
        ];
        if whiteout.is_ok() {
            want.push(Change { path: "/gone".into(), kind: ChangeKind::Deleted });
            want.sort();
        }
        assert_eq!(d.changes("rw", Some("base")).expect("changes"), want);
    }
}
