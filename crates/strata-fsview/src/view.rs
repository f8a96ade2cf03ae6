//! A container's filesystem as the container sees it, and path resolution inside it.
//!
//! # Why resolution is done here, component by component
//!
//! A container's view is several filesystems: the root filesystem plus volumes, bind mounts
//! and tmpfs mounts grafted at their destinations. For a *running* container the kernel already
//! has that tree (reachable as `/proc/<pid>/root`), but for a stopped one the mounts exist only
//! as a plan: `/data` is a volume directory elsewhere on the host. Symlinks must still resolve
//! as the container would see them — `/srv/x -> /data/y` reaches the volume, `/etc -> /`
//! stays in the container, `../../..` stops at the container's root — so no single
//! `openat2(RESOLVE_IN_ROOT)` can do it: the kernel does not know the mounts.
//!
//! So the walk is ours, and each step is the kernel's:
//!
//! - the path is split into components; `..` pops (clamped at `/`); after each component the
//!   longest mount destination that prefixes the path says which filesystem ("domain": the
//!   rootfs or one mount's source) holds it;
//! - the component is `lstat`ed inside that domain through
//!   `openat2(domain_fd, parent, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)`:
//!   the parent is a *physical* path (every symlink on it was already replaced), so any symlink
//!   met there means the tree changed under us and the kernel refuses, and whatever happens the
//!   lookup cannot leave the domain's root;
//! - a symlink is read with `readlinkat` and its target spliced in front of the remaining
//!   components (absolute targets restart at the container's `/`), at most
//!   [`MAX_SYMLINKS`] times, as the kernel does;
//! - a missing component ends the walk: the rest is appended lexically, as Docker's
//!   `FollowSymlinkInScope` does, so callers can still name the path they would create.
//!
//! Every later operation (stat, pack, extract) opens the resolved path relative to its domain's
//! file descriptor with `RESOLVE_IN_ROOT` again (in `strata-archive`), so a container process
//! that swaps a directory for a symlink between our walk and the operation can at worst redirect
//! it *within that same domain*, never to the host.
//!
//! A mount listed without a host source is taken to be visible through the rootfs (a running
//! container's `/proc/<pid>/root`): it only matters for the read-only checks and exclusions.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;

use crate::ViewError;

/// Most symlinks followed while resolving one path (Linux's `MAXSYMLINKS`).
pub const MAX_SYMLINKS: usize = 40;
/// How often a lookup is retried when the kernel reports a concurrent rename (`EAGAIN`).
const RESOLVE_RETRIES: usize = 16;

/// What a mount is, for the rules that differ by kind (Docker's `PUT /archive` checks
/// volumes and binds alike; tmpfs contents only exist while the container runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    Volume,
    Bind,
    Tmpfs,
}

/// One mount of the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewMount {
    /// Absolute path inside the container (`/data`).
    pub destination: String,
    /// Where its contents are on the host: a volume's `_data`, a bind's source (a directory or a
    /// file). `None`: the mount is already visible through [`ContainerView::rootfs`] (a running
    /// container seen through `/proc/<pid>/root`, or a tmpfs of a stopped container, which has
    /// no contents to show).
    pub source: Option<PathBuf>,
    pub read_only: bool,
    pub kind: MountKind,
}

/// A container's filesystem as the container sees it.
///
/// - Stopped container: `rootfs` is the merged directory from `LayerStore::mount_rw` (held for
///   the duration of the call), `mounts` carry their host sources.
/// - Running container: either the same as stopped (tmpfs contents are then not visible, as in
///   Docker), or `rootfs = /proc/<pid>/root` and mounts with `source: None`, which shows
///   everything exactly as the container does, tmpfs included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerView {
    pub rootfs: PathBuf,
    /// `--read-only`: nothing may be written into the root filesystem (mounts keep their mode).
    pub readonly_rootfs: bool,
    pub mounts: Vec<ViewMount>,
}

impl ContainerView {
    /// The view of a container from its mount plan, with each volume and bind reached through
    /// its host source (`PlannedMount::set_volume` recorded the volume's directory): for a
    /// stopped container (`rootfs` = the merged directory of `LayerStore::mount_rw`), or a
    /// running one when tmpfs contents need not be seen. Tmpfs and image mounts get no source.
    /// A volume `subpath` that leads out of its volume (through a symlink) is refused.
    pub fn from_plan(rootfs: PathBuf, plan: &strata_mount::MountPlan) -> Result<ContainerView, ViewError> {
        use strata_mount::MountKind as Planned;
        let mut mounts = Vec::new();
        for m in &plan.mounts {
            let (kind, source) = match &m.kind {
                Planned::Bind(bind) => (MountKind::Bind, Some(PathBuf::from(&bind.source))),
                Planned::Volume(volume) => {
                    let dir = m.mount_point.as_ref().map(|mp| mp.source.as_str()).filter(|s| !s.is_empty());
                    let Some(dir) = dir else {
                        return Err(ViewError::InvalidView {
                            reason: format!("volume at {} has no host directory recorded", m.destination),
                        });
                    };
                    (MountKind::Volume, Some(volume_source(Path::new(dir), volume.subpath.as_deref())?))
                }
                Planned::Tmpfs(_) => (MountKind::Tmpfs, None),
                Planned::Image(_) => (MountKind::Bind, None),
            };
            mounts.push(ViewMount { destination: m.destination.clone(), source, read_only: m.read_only, kind });
        }
        Ok(ContainerView { rootfs, readonly_rootfs: plan.readonly_rootfs, mounts })
    }

    /// The view of a running container exactly as its processes see it, tmpfs included:
    /// everything through `/proc/<pid>/root` (`pid`: the container's init, in the host's pid
    /// namespace), the plan only for the read-only rules. Not for `export` (use the merged
    /// directory there, so `/proc`, `/sys` and `/dev` are not walked).
    pub fn of_running(pid: u32, plan: &strata_mount::MountPlan) -> ContainerView {
        let mounts = plan
            .mounts
            .iter()
            .map(|m| ViewMount {
                destination: m.destination.clone(),
                source: None,
                read_only: m.read_only,
                kind: match m.kind {
                    strata_mount::MountKind::Volume(_) => MountKind::Volume,
                    strata_mount::MountKind::Tmpfs(_) => MountKind::Tmpfs,
                    _ => MountKind::Bind,
                },
            })
            .collect();
        ContainerView {
            rootfs: PathBuf::from(format!("/proc/{pid}/root")),
            readonly_rootfs: plan.readonly_rootfs,
            mounts,
        }
    }
}

/// A volume's directory, or the `subpath` inside it, which must stay inside it.
fn volume_source(dir: &Path, subpath: Option<&str>) -> Result<PathBuf, ViewError> {
    let Some(sub) = subpath.filter(|s| !s.is_empty()) else { return Ok(dir.to_owned()) };
    let invalid = |reason: String| ViewError::InvalidView { reason };
    let base = std::fs::canonicalize(dir).map_err(|e| invalid(format!("volume directory {}: {e}", dir.display())))?;
    let full = std::fs::canonicalize(base.join(sub.trim_start_matches('/')))
        .map_err(|e| invalid(format!("volume subpath {sub}: {e}")))?;
    if !full.starts_with(&base) {
        return Err(invalid(format!("volume subpath {sub} leads out of the volume")));
    }
    Ok(full)
}

/// One filesystem of the view: the rootfs (index `None`) or a mount with a host source.
#[derive(Debug)]
pub(crate) struct Domain {
    /// The mount destination's components (empty for the rootfs).
    pub dest: Vec<Vec<u8>>,
    /// A directory handle everything of the domain is resolved inside of.
    pub fd: OwnedFd,
    /// For a mounted *file*: its name inside `fd` (the source's parent directory). Empty for
    /// directories.
    pub file_name: Vec<u8>,
    /// Index into [`ContainerView::mounts`]; `None` for the rootfs.
    pub mount: Option<usize>,
}

/// A view with every domain opened once.
#[derive(Debug)]
pub(crate) struct OpenView {
    pub view: ContainerView,
    /// The rootfs first, then mounts with sources.
    pub domains: Vec<Domain>,
    /// Mount destinations as components, in the order of `view.mounts`.
    pub mount_dests: Vec<Vec<Vec<u8>>>,
}

/// A path resolved to the domain that holds it.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    pub domain: usize,
    /// Path inside the domain's directory (`a/b`; empty is the domain root).
    pub rel: Vec<u8>,
}

/// Splits a container path into clean components, resolving `..` lexically (Docker cleans the
/// requested path with `filepath.Join("/", path)` before resolving anything).
pub(crate) fn clean_components(path: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for c in path.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                out.pop();
            }
            c => out.push(c.to_vec()),
        }
    }
    out
}

/// `/a/b` from components.
pub(crate) fn display(components: &[Vec<u8>]) -> String {
    let mut s = String::new();
    for c in components {
        s.push('/');
        s.push_str(&String::from_utf8_lossy(c));
    }
    if s.is_empty() {
        s.push('/');
    }
    s
}

fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(path, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?)
}

impl OpenView {
    pub fn open(view: &ContainerView) -> Result<OpenView, ViewError> {
        let root = open_dir(&view.rootfs).map_err(|e| ViewError::InvalidView {
            reason: format!("cannot open rootfs {}: {e}", view.rootfs.display()),
        })?;
        let mut domains = vec![Domain { dest: Vec::new(), fd: root, file_name: Vec::new(), mount: None }];
        let mut mount_dests = Vec::new();
        for (index, mount) in view.mounts.iter().enumerate() {
            if !mount.destination.starts_with('/') {
                return Err(ViewError::InvalidView {
                    reason: format!("mount destination {:?} is not absolute", mount.destination),
                });
            }
            let dest = clean_components(mount.destination.as_bytes());
            mount_dests.push(dest.clone());
            let Some(source) = &mount.source else { continue };
            if dest.is_empty() {
                return Err(ViewError::InvalidView { reason: "a mount cannot replace the container's root".into() });
            }
            let invalid = |e: io::Error| ViewError::InvalidView {
                reason: format!("cannot open source {} of mount {}: {e}", source.display(), mount.destination),
            };
            // The source is a trusted host path; resolve it once, then only work below it.
            let source = std::fs::canonicalize(source).map_err(invalid)?;
            let meta = std::fs::metadata(&source).map_err(invalid)?;
            let (fd, file_name) = if meta.is_dir() {
                (open_dir(&source).map_err(invalid)?, Vec::new())
            } else {
                let parent = source.parent().unwrap_or(Path::new("/"));
                let name = source.file_name().map(|n| n.as_bytes().to_vec()).unwrap_or_default();
                (open_dir(parent).map_err(invalid)?, name)
            };
            domains.push(Domain { dest, fd, file_name, mount: Some(index) });
        }
        let mut open = OpenView { view: view.clone(), domains, mount_dests };
        open.place_mounts();
        Ok(open)
    }

    /// Moves each mount to where the runtime really mounted it: runc resolves a destination
    /// inside the rootfs, following symlinks (`-v x:/var/run` lands on `/run` when the image has
    /// `/var/run -> /run`), parents before children. A destination that cannot be resolved
    /// stays where it is written.
    fn place_mounts(&mut self) {
        /// A name no path can contain, to take a mount out of the way while it is placed.
        const UNPLACED: &[u8] = b"\0";
        let mut order: Vec<usize> = (0..self.mount_dests.len()).collect();
        order.sort_by_key(|&m| self.mount_dests[m].len());
        for m in order {
            let lexical = self.mount_dests[m].clone();
            let domain = self.domains.iter().position(|d| d.mount == Some(m));
            if let Some(d) = domain {
                self.domains[d].dest = vec![UNPLACED.to_vec()];
            }
            let physical = self.resolve(lexical.clone(), true).unwrap_or(lexical);
            if let Some(d) = domain {
                self.domains[d].dest = physical.clone();
            }
            self.mount_dests[m] = physical;
        }
    }

    pub fn fd(&self, domain: usize) -> BorrowedFd<'_> {
        self.domains[domain].fd.as_fd()
    }

    /// The domain holding `path` (longest mount destination that prefixes it) and the path
    /// inside it.
    pub fn locate(&self, path: &[Vec<u8>]) -> Located {
        let mut best = 0;
        for (i, d) in self.domains.iter().enumerate().skip(1) {
            if path.starts_with(&d.dest) && d.dest.len() >= self.domains[best].dest.len() {
                best = i;
            }
        }
        let d = &self.domains[best];
        let mut rel = d.file_name.clone();
        for c in &path[d.dest.len()..] {
            if !rel.is_empty() {
                rel.push(b'/');
            }
            rel.extend_from_slice(c);
        }
        Located { domain: best, rel }
    }

    /// The mount (any kind, with or without a source) that holds `path`, by longest prefix.
    pub fn mount_of(&self, path: &[Vec<u8>]) -> Option<&ViewMount> {
        let mut best: Option<(usize, usize)> = None;
        for (i, dest) in self.mount_dests.iter().enumerate() {
            if path.starts_with(dest) && best.is_none_or(|(_, len)| dest.len() >= len) {
                best = Some((i, dest.len()));
            }
        }
        best.map(|(i, _)| &self.view.mounts[i])
    }

    /// Domains (other than `domain`) whose destination lies strictly below `path`, sorted by
    /// destination.
    pub fn domains_below(&self, path: &[Vec<u8>]) -> Vec<usize> {
        let mut out: Vec<usize> = (1..self.domains.len())
            .filter(|&i| {
                let dest = &self.domains[i].dest;
                dest.len() > path.len() && dest.starts_with(path)
            })
            .collect();
        out.sort_by(|&a, &b| self.domains[a].dest.cmp(&self.domains[b].dest));
        out
    }

    /// Opens the directory holding `loc` (an `O_PATH` handle) and returns it with the last
    /// component's name; for a domain root, the handle is the root itself and the name empty.
    pub fn open_parent(&self, loc: &Located) -> io::Result<(OwnedFd, Vec<u8>)> {
        let fd = self.fd(loc.domain);
        if loc.rel.is_empty() {
            return Ok((
                rustix::fs::openat(fd, ".", OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?,
                Vec::new(),
            ));
        }
        let (parent, name) = match loc.rel.iter().rposition(|&b| b == b'/') {
            Some(at) => (&loc.rel[..at], &loc.rel[at + 1..]),
            None => (&b"."[..], &loc.rel[..]),
        };
        let dir = openat2_retry(
            fd,
            parent,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            ResolveFlags::IN_ROOT | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
        )?;
        Ok((dir, name.to_vec()))
    }

    /// `lstat` of a physical path; `Ok(None)` when it does not exist (or a component is not a
    /// directory).
    pub fn lstat(&self, path: &[Vec<u8>]) -> Result<Option<(Stat, Located)>, ViewError> {
        let loc = self.locate(path);
        let shown = || display(path);
        let (dir, name) = match self.open_parent(&loc) {
            Ok(found) => found,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(ViewError::io("resolve", shown())(e)),
        };
        let stat = if name.is_empty() {
            rustix::fs::fstat(&dir)
        } else {
            rustix::fs::statat(&dir, name.as_slice(), AtFlags::SYMLINK_NOFOLLOW)
        };
        match stat {
            Ok(st) => Ok(Some((st, loc))),
            Err(Errno::NOENT | Errno::NOTDIR) => Ok(None),
            Err(e) => Err(ViewError::io("stat", shown())(e.into())),
        }
    }

    fn readlink(&self, loc: &Located, path: &[Vec<u8>]) -> Result<Vec<u8>, ViewError> {
        let (dir, name) = self.open_parent(loc).map_err(ViewError::io("resolve", display(path)))?;
        rustix::fs::readlinkat(&dir, name.as_slice(), Vec::new())
            .map(|t| t.into_bytes())
            .map_err(|e| ViewError::io("read link", display(path))(e.into()))
    }

    /// Resolves `components` (already cleaned) in the container's view, following every
    /// symlink met, the last one only when `follow_last`. Returns the physical path; its last
    /// part may not exist.
    pub fn resolve(&self, components: Vec<Vec<u8>>, follow_last: bool) -> Result<Vec<Vec<u8>>, ViewError> {
        let requested = display(&components);
        let mut queue: VecDeque<Vec<u8>> = components.into();
        let mut current: Vec<Vec<u8>> = Vec::new();
        let mut links = 0;
        let mut missing = false;
        while let Some(c) = queue.pop_front() {
            match c.as_slice() {
                b"" | b"." => continue,
                b".." => {
                    current.pop();
                    continue;
                }
                _ => current.push(c),
            }
            let last = queue.iter().all(|c| c.is_empty() || c == b".");
            if missing || (last && !follow_last) {
                continue;
            }
            // A mount's destination is its root, whatever the rootfs has there.
            if self.domains.iter().any(|d| d.dest == current) {
                continue;
            }
            match self.lstat(&current)? {
                None => missing = true,
                Some((st, loc)) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(ViewError::TooManyLinks { path: requested });
                    }
                    let target = self.readlink(&loc, &current)?;
                    current.pop();
                    if target.starts_with(b"/") {
                        current.clear();
                    }
                    for part in target.split(|&b| b == b'/').rev() {
                        queue.push_front(part.to_vec());
                    }
                }
                Some(_) => {}
            }
        }
        Ok(current)
    }
}

fn is_missing(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(c) if c == Errno::NOENT.raw_os_error() || c == Errno::NOTDIR.raw_os_error())
}

pub(crate) fn openat2_retry(
    dir: BorrowedFd<'_>,
    path: &[u8],
    oflags: OFlags,
    resolve: ResolveFlags,
) -> io::Result<OwnedFd> {
    let mut attempt = 0;
    loop {
        match rustix::fs::openat2(dir, path, oflags, Mode::empty(), resolve) {
            Err(Errno::AGAIN) if attempt < RESOLVE_RETRIES => attempt += 1,
            other => return other.map_err(io::Error::from),
        }
    }
}

/// Resolves `path` in the container's view, following every symlink (the last one too), and
/// returns the physical container path (`/srv/link/x` → `/data/x`). The path need not exist.
/// For the engine's own uses (`-w`, checking a destination), not needed for `docker cp`.
pub fn resolve(view: &ContainerView, path: &str) -> Result<String, ViewError> {
    let open = OpenView::open(view)?;
    let physical = open.resolve(clean_components(path.as_bytes()), true)?;
    Ok(display(&physical))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_cleaned_like_go() {
        let c = |p: &str| display(&clean_components(p.as_bytes()));
        assert_eq!(c("/"), "/");
        assert_eq!(c(""), "/");
        assert_eq!(c("etc/../../.."), "/");
        assert_eq!(c("/a//b/./c/.."), "/a/b");
    }
}
