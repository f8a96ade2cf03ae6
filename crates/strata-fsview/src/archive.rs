//! `docker cp` in both directions and `docker export`, on a [`ContainerView`].
//!
//! The path rules are Docker's (`daemon/archive.go`): the requested path is cleaned lexically
//! first; a trailing `/` or `/.` is kept as a marker. For stat and `GET` the directory part is
//! resolved following symlinks and the last component is *not* followed (a symlink is reported
//! and archived as a link, its `linkTarget` being the fully resolved path), unless the path ends
//! in `/` or `/.`. For `PUT` everything is followed, so a symlink to a directory can be the
//! extraction point. The archive's top entry is named after the requested path's last element
//! (`/etc/` → `etc`, `/etc/.` → `.`), whatever the symlinks resolved it to.
//!
//! A `GET` of a directory includes the mounts below it (a volume at `/srv/data` is in the
//! archive of `/srv`), as Docker does by mounting them first: the tar is the rootfs part, then
//! each mount's part under its path, written as one stream.

use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};
use strata_archive::{ApplyOptions, Ownership, PackOptions, StreamRecord, WhiteoutMode};

use crate::ViewError;
use crate::gocompat::{self, go_base, go_file_mode};
use crate::view::{self, ContainerView, Located, OpenView, clean_components, display};

/// End of a tar archive: two zero blocks.
const TAR_TRAILER: usize = 1024;

/// What `HEAD /containers/{id}/archive` reports (`types.ContainerPathStat`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathStat {
    /// The last element of the requested path (Go's `filepath.Base`).
    pub name: String,
    pub size: i64,
    /// Go `os.FileMode` bits (see [`gocompat::mode`]).
    pub mode: u32,
    /// RFC 3339 with nanoseconds, as Go marshals a `time.Time` (UTC).
    pub mtime: String,
    /// For a symlink, the path it resolves to inside the container; else empty.
    pub link_target: String,
}

impl PathStat {
    /// The JSON Docker marshals, field order and escaping included.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\"name\":");
        gocompat::push_json_string(&mut out, self.name.as_bytes());
        out.push_str(&format!(",\"size\":{},\"mode\":{},\"mtime\":", self.size, self.mode));
        gocompat::push_json_string(&mut out, self.mtime.as_bytes());
        out.push_str(",\"linkTarget\":");
        gocompat::push_json_string(&mut out, self.link_target.as_bytes());
        out.push('}');
        out
    }

    /// The value of the `X-Docker-Container-Path-Stat` header.
    pub fn header_value(&self) -> String {
        gocompat::base64(self.to_json().as_bytes())
    }
}

/// A requested path split the way Docker splits it.
struct Request {
    /// The cleaned absolute path with the trailing `/` or `/.` marker kept (Docker's `absPath`).
    abs: String,
    /// Components of the directory part.
    dir: Vec<Vec<u8>>,
    /// The last component, `None` when the path ends in `/`, `/.` or is `/`: then the
    /// directory itself is meant, followed.
    base: Option<Vec<u8>>,
}

impl Request {
    fn parse(path: &str) -> Request {
        let mut components = clean_components(path.as_bytes());
        let mut abs = display(&components);
        // Go's `archive.PreserveTrailingDotOrSeparator`.
        let dot = gocompat::go_base(path) == ".";
        let slash = path.ends_with('/');
        if dot {
            if !abs.ends_with('/') {
                abs.push('/');
            }
            abs.push('.');
        }
        if slash && !abs.ends_with('/') {
            abs.push('/');
        }
        let base = if dot || slash { None } else { components.pop() };
        Request { abs, dir: components, base }
    }
}

/// The resolved target of a request.
struct Target {
    physical: Vec<Vec<u8>>,
    stat: rustix::fs::Stat,
    loc: Located,
}

fn find(open: &OpenView, req: &Request, follow_last: bool) -> Result<Target, ViewError> {
    let mut components = req.dir.clone();
    components.extend(req.base.clone());
    let follow = follow_last || req.base.is_none();
    let physical = open.resolve(components, follow)?;
    match open.lstat(&physical)? {
        Some((stat, loc)) => Ok(Target { physical, stat, loc }),
        None => Err(ViewError::NotFound { path: req.abs.clone() }),
    }
}

fn path_stat(open: &OpenView, req: &Request, target: &Target) -> Result<PathStat, ViewError> {
    let st = &target.stat;
    let is_link = FileType::from_raw_mode(st.st_mode) == FileType::Symlink;
    let link_target = if is_link {
        let mut all = req.dir.clone();
        all.extend(req.base.clone());
        display(&open.resolve(all, true)?)
    } else {
        String::new()
    };
    Ok(PathStat {
        name: go_base(&req.abs).to_owned(),
        size: st.st_size,
        mode: go_file_mode(st.st_mode),
        mtime: gocompat::rfc3339_nano(st.st_mtime, u32::try_from(st.st_mtime_nsec).unwrap_or(0)),
        link_target,
    })
}

/// `HEAD /containers/{id}/archive?path=…`: the stat of `path` in the container's view.
pub fn stat_path(view: &ContainerView, path: &str) -> Result<PathStat, ViewError> {
    let open = OpenView::open(view)?;
    let req = Request::parse(path);
    let target = find(&open, &req, false)?;
    path_stat(&open, &req, &target)
}

/// A `GET /containers/{id}/archive` whose path was found: the stat for the header is known
/// before the first byte of the body is written.
#[derive(Debug)]
pub struct PreparedArchive {
    open: OpenView,
    stat: PathStat,
    physical: Vec<Vec<u8>>,
    loc: Located,
    is_dir: bool,
    /// Name of the top entry.
    top: Vec<u8>,
}

/// `GET /containers/{id}/archive?path=…`, first half: resolves `path` (404 before any body).
pub fn prepare_archive(view: &ContainerView, path: &str) -> Result<PreparedArchive, ViewError> {
    let open = OpenView::open(view)?;
    let req = Request::parse(path);
    let target = find(&open, &req, false)?;
    let stat = path_stat(&open, &req, &target)?;
    let top = match go_base(&req.abs) {
        // The whole root: entries named `/`, `/bin`, … (the CLI re-bases on that leading slash).
        "/" => Vec::new(),
        base => base.as_bytes().to_vec(),
    };
    let is_dir = FileType::from_raw_mode(target.stat.st_mode) == FileType::Directory;
    Ok(PreparedArchive { open, stat, physical: target.physical, loc: target.loc, is_dir, top })
}

impl PreparedArchive {
    pub fn stat(&self) -> &PathStat {
        &self.stat
    }

    /// Second half: writes the tar stream (uncompressed) to `out`; returns its length.
    pub fn write_to<W: Write>(self, out: W) -> Result<u64, ViewError> {
        let mut out = TarConcat::new(out);
        let below = if self.is_dir { self.open.domains_below(&self.physical) } else { Vec::new() };
        if self.physical.is_empty() {
            self.pack_root(&mut out)?;
        } else {
            self.pack_part(&self.loc, &self.physical, self.top.clone(), &mut out)?;
        }
        for domain in below {
            let dest = self.open.domains[domain].dest.clone();
            let mut name = self.top.clone();
            for c in &dest[self.physical.len()..] {
                name.push(b'/');
                name.extend_from_slice(c);
            }
            let loc = self.open.locate(&dest);
            self.pack_part(&loc, &dest, name, &mut out)?;
        }
        out.finish().map_err(|source| ViewError::Archive(strata_archive::ArchiveError::Write { source }))
    }

    /// The container's `/`, named as Docker names it: a `/` entry, then each top-level entry
    /// as `/name` (one part each; the mounts follow as their own parts).
    fn pack_root<W: Write>(&self, out: &mut TarConcat<W>) -> Result<(), ViewError> {
        let root = self.open.fd(0);
        let st = rustix::fs::fstat(root).map_err(|e| ViewError::io("stat", "/")(e.into()))?;
        let mut header = tar::Header::new_ustar();
        header.as_old_mut().name[0] = b'/';
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(st.st_mode & 0o7777);
        header.set_uid(u64::from(st.st_uid));
        header.set_gid(u64::from(st.st_gid));
        header.set_mtime(u64::try_from(st.st_mtime).unwrap_or(0));
        header.set_size(0);
        header.set_cksum();
        out.write_all(header.as_bytes())
            .map_err(|source| ViewError::Archive(strata_archive::ArchiveError::Write { source }))?;
        let listing =
            rustix::fs::openat(root, ".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
                .and_then(rustix::fs::Dir::new)
                .map_err(|e| ViewError::io("list", "/")(e.into()))?;
        let mut names = Vec::new();
        for entry in listing {
            let entry = entry.map_err(|e| ViewError::io("list", "/")(e.into()))?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                names.push(name.to_vec());
            }
        }
        names.sort_unstable();
        for name in names {
            let path = vec![name.clone()];
            // A mount point at the top is archived from the mount, after this.
            if self.open.domains.iter().skip(1).any(|d| d.dest == path) {
                continue;
            }
            let mut arch = b"/".to_vec();
            arch.extend_from_slice(&name);
            self.pack_part(&Located { domain: 0, rel: name }, &path, arch, out)?;
        }
        Ok(())
    }

    /// Packs one domain's part: `loc` named `name`, leaving out the mounts below it.
    fn pack_part<W: Write>(
        &self,
        loc: &Located,
        container_path: &[Vec<u8>],
        name: Vec<u8>,
        out: &mut TarConcat<W>,
    ) -> Result<(), ViewError> {
        let domain_dest = &self.open.domains[loc.domain].dest;
        let excludes = self
            .open
            .domains_below(container_path)
            .into_iter()
            .map(|d| {
                let dest = &self.open.domains[d].dest;
                PathBuf::from(std::ffi::OsString::from_vec(dest[domain_dest.len()..].join(&b'/')))
            })
            .collect();
        let options = PackOptions {
            path: PathBuf::from(std::ffi::OsString::from_vec(loc.rel.clone())),
            name: Some(std::ffi::OsString::from_vec(name)),
            whiteouts: WhiteoutMode::Plain,
            excludes,
            one_file_system: false,
        };
        strata_archive::pack(self.open.fd(loc.domain), &options, &mut *out)?;
        out.end_part();
        Ok(())
    }
}

/// `docker cp` ownership and overwrite rules for [`extract`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExtractOptions {
    /// `noOverwriteDirNonDir=true`: refuse to replace a directory by a non-directory or the
    /// reverse.
    pub no_overwrite_dir_non_dir: bool,
    /// `copyUIDGID=true` (`docker cp -a`).
    pub copy_uid_gid: bool,
    /// uid and gid of the container's configured user (`Config.User`, resolved in the
    /// container), if any. With `copy_uid_gid`, Docker gives everything to that user.
    pub container_user: Option<(u32, u32)>,
}

impl ExtractOptions {
    /// Docker: `-a` with a configured user chowns to that user; otherwise the archive's owners
    /// are applied (the CLI writes uid/gid 0 unless `-a`).
    fn ownership(&self) -> Ownership {
        match (self.copy_uid_gid, self.container_user) {
            (true, Some((uid, gid))) => Ownership::Fixed(uid, gid),
            _ => Ownership::FromArchive,
        }
    }
}

/// `PUT /containers/{id}/archive?path=…`: extracts the tar (plain, gzip or zstd) `input` into
/// the directory `path` of the container's view.
///
/// Refused before anything is read: a missing path (404), a non-directory (400
/// `extraction point is not a directory`), a read-only mount (`mounted volume is marked
/// read-only`), the rootfs of a `--read-only` container (`container rootfs is marked
/// read-only`; its read-write volumes are fine). The extraction is confined to the target
/// directory: `..`, absolute names and symlinks (in the archive or already there) resolve inside
/// it.
///
/// Entries land where the container would see them: an archive extracted at `/` whose entries
/// reach into a mount further down (`data/x` with a volume at `/data`) writes into the volume
/// (see `extract_split`); with `/proc/<pid>/root` as the rootfs the kernel crosses the mounts
/// itself.
pub fn extract<R: Read>(view: &ContainerView, path: &str, input: R, options: &ExtractOptions) -> Result<(), ViewError> {
    let open = OpenView::open(view)?;
    let req = Request::parse(path);
    let target = find(&open, &req, true)?;
    let shown = display(&target.physical);
    if FileType::from_raw_mode(target.stat.st_mode) != FileType::Directory {
        return Err(ViewError::NotADirectory { path: shown });
    }
    match open.mount_of(&target.physical) {
        Some(mount) if mount.read_only => {
            return Err(ViewError::ReadOnlyMount { path: shown, destination: mount.destination.clone() });
        }
        Some(_) => {}
        None if open.view.readonly_rootfs => return Err(ViewError::ReadOnlyRootfs { path: shown }),
        None => {}
    }
    let dir = view::openat2_retry(
        open.fd(target.loc.domain),
        if target.loc.rel.is_empty() { b"." } else { &target.loc.rel },
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        ResolveFlags::IN_ROOT | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    )
    .map_err(ViewError::io("open extraction point", shown.clone()))?;
    let input = strata_archive::decompress(input)?;
    let apply = ApplyOptions {
        whiteouts: WhiteoutMode::Plain,
        ownership: options.ownership(),
        no_overwrite_dir_non_dir: options.no_overwrite_dir_non_dir,
        sync: false,
        writeback: false,
        // `docker cp` keeps no layer identity.
        record: StreamRecord::Skip,
    };
    let routes = routes_below(&open, &target.physical);
    if routes.is_empty() {
        strata_archive::apply(input, dir.as_fd(), &apply)?;
        Ok(())
    } else {
        extract_split(&open, dir, &routes, input, &apply)
    }
}

/// A mount (with a host source, a directory) below an extraction point: entries under
/// `prefix` go there.
struct Route {
    prefix: Vec<u8>,
    domain: usize,
    read_only: bool,
    destination: String,
}

fn routes_below(open: &OpenView, target: &[Vec<u8>]) -> Vec<Route> {
    let mut routes: Vec<Route> = open
        .domains_below(target)
        .into_iter()
        .filter(|&d| open.domains[d].file_name.is_empty())
        .map(|d| {
            let dest = &open.domains[d].dest;
            Route {
                prefix: dest[target.len()..].join(&b'/'),
                domain: d,
                read_only: open.mount_of(dest).is_some_and(|m| m.read_only),
                destination: display(dest),
            }
        })
        .collect();
    // Longest prefix first: the innermost mount takes its entries.
    routes.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
    routes
}

/// One filesystem's share of a split archive: a tar stream re-encoded into a pipe, applied by
/// its own thread.
struct Sink {
    builder: tar::Builder<io::PipeWriter>,
    applier: std::thread::JoinHandle<Result<strata_archive::ApplyReport, strata_archive::ArchiveError>>,
}

impl Sink {
    fn spawn(dir: std::os::fd::OwnedFd, options: ApplyOptions) -> io::Result<Sink> {
        let (reader, writer) = io::pipe()?;
        let applier = std::thread::Builder::new()
            .name("cp-extract".into())
            .spawn(move || strata_archive::apply(reader, dir.as_fd(), &options))?;
        Ok(Sink { builder: tar::Builder::new(writer), applier })
    }

    /// Ends the stream and waits for the applier; its error wins over ours (a write into a
    /// pipe whose reader gave up only says that it did).
    fn finish(self) -> Result<(), ViewError> {
        let ended = self.builder.into_inner().map(drop);
        match self.applier.join() {
            Ok(Ok(_)) => ended.map_err(|source| ViewError::Archive(strata_archive::ArchiveError::Write { source })),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(ViewError::Io {
                op: "extract",
                path: String::new(),
                source: io::Error::other("extractor thread panicked"),
            }),
        }
    }
}

/// Extraction when mounts lie below the extraction point and the view reaches them by their
/// host sources (a stopped container): the archive is split by entry name, each mount's entries
/// re-based onto its root and applied there, confined to it, the rest applied at the extraction
/// point. Re-encoding keeps names, types, modes, owners, whole-second times and links; PAX-only
/// details (sub-second times, xattrs) of the split entries are not carried over. Entries for a
/// read-only mount are refused.
fn extract_split<R: Read>(
    open: &OpenView,
    main_dir: std::os::fd::OwnedFd,
    routes: &[Route],
    input: R,
    options: &ApplyOptions,
) -> Result<(), ViewError> {
    use std::os::unix::ffi::OsStrExt;
    let as_path = |b: &[u8]| PathBuf::from(std::ffi::OsStr::from_bytes(b));
    let read_err = |entries: u64| {
        move |source| ViewError::Archive(strata_archive::ArchiveError::Read { entries, offset: 0, source })
    };
    let mut main_dir = Some(main_dir);
    let mut sinks: std::collections::HashMap<Option<usize>, Sink> = std::collections::HashMap::new();
    let mut archive = tar::Archive::new(input);
    let result = (|| -> Result<(), ViewError> {
        for (read, entry) in (0u64..).zip(archive.entries().map_err(read_err(0))?) {
            let mut entry = entry.map_err(read_err(read))?;
            let index = read + 1;
            let raw = entry.path_bytes().into_owned();
            let mut name = Vec::new();
            strata_archive::name::normalize(&raw, &mut name).map_err(|e| {
                ViewError::Archive(strata_archive::ArchiveError::Refused {
                    index,
                    name: String::from_utf8_lossy(&raw).into_owned(),
                    reason: e.reason().into(),
                })
            })?;
            let route = routes.iter().position(|r| under(&name, &r.prefix));
            let rebase = |n: &[u8]| -> Vec<u8> {
                let rest = match route {
                    Some(i) => n[routes[i].prefix.len()..].strip_prefix(b"/").unwrap_or_default().to_vec(),
                    None => n.to_vec(),
                };
                if rest.is_empty() { b".".to_vec() } else { rest }
            };
            if let Some(i) = route
                && routes[i].read_only
            {
                return Err(ViewError::ReadOnlyMount {
                    path: String::from_utf8_lossy(&raw).into_owned(),
                    destination: routes[i].destination.clone(),
                });
            }
            let sink = match sinks.entry(route) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    let dir = match route {
                        None => main_dir.take().ok_or_else(|| ViewError::Io {
                            op: "extract",
                            path: String::new(),
                            source: io::Error::other("extraction point already in use"),
                        })?,
                        Some(i) => view::openat2_retry(
                            open.fd(routes[i].domain),
                            b".",
                            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                            ResolveFlags::IN_ROOT,
                        )
                        .map_err(ViewError::io("open mount", routes[i].destination.clone()))?,
                    };
                    v.insert(Sink::spawn(dir, *options).map_err(ViewError::io("start extractor", ""))?)
                }
            };
            let mut header = entry.header().clone();
            let kind = header.entry_type();
            let new_name = as_path(&rebase(&name));
            let written = if kind.is_symlink() || kind.is_hard_link() {
                let link = entry.link_name_bytes().map(|l| l.into_owned()).unwrap_or_default();
                let link = if kind.is_hard_link() {
                    // Hard link targets are archive names: same normalization and re-basing.
                    // One that leaves the root is passed on as it is, for the extractor to refuse.
                    let mut target = Vec::new();
                    match strata_archive::name::normalize(&link, &mut target) {
                        Err(_) => link,
                        Ok(()) if route.is_none_or(|i| under(&target, &routes[i].prefix)) => rebase(&target),
                        Ok(()) => target,
                    }
                } else {
                    link
                };
                sink.builder.append_link(&mut header, &new_name, as_path(&link))
            } else {
                sink.builder.append_data(&mut header, &new_name, &mut entry)
            };
            written.map_err(|source| ViewError::Archive(strata_archive::ArchiveError::Write { source }))?;
        }
        Ok(())
    })();
    let mut outcome = result;
    for (_, sink) in sinks {
        let finished = sink.finish();
        // An extractor's own error explains a failed write into its pipe: prefer it.
        if let Err(e) = finished
            && (outcome.is_ok()
                || matches!(outcome, Err(ViewError::Archive(strata_archive::ArchiveError::Write { .. }))))
        {
            outcome = Err(e);
        }
    }
    outcome
}

/// Whether normalized archive name `name` is `prefix` or below it.
fn under(name: &[u8], prefix: &[u8]) -> bool {
    name.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with(b"/"))
}

/// `GET /containers/{id}/export`: the container's root filesystem, flattened, as a tar written
/// to `out`; returns its length.
///
/// Pass the merged directory of the container's layers as the rootfs (mounted for the call when
/// the container is stopped): nothing else is mounted there in the daemon's namespace, so the
/// archive is exactly Docker's — volumes and bind mounts are not in it, what the image had at
/// their destinations is. Packing never crosses into another filesystem, so with
/// `/proc/<pid>/root` as the rootfs the mounts (and `/proc`, `/sys`, `/dev`) appear as empty
/// directories; mounts listed without a source are left out explicitly for the same reason.
pub fn export<W: Write>(view: &ContainerView, out: W) -> Result<u64, ViewError> {
    let open = OpenView::open(view)?;
    let excludes = open
        .view
        .mounts
        .iter()
        .filter(|m| m.source.is_none())
        .map(|m| PathBuf::from(std::ffi::OsString::from_vec(clean_components(m.destination.as_bytes()).join(&b'/'))))
        .collect();
    let options = PackOptions {
        path: PathBuf::new(),
        name: None,
        whiteouts: WhiteoutMode::Plain,
        excludes,
        one_file_system: true,
    };
    let report = strata_archive::pack(open.fd(0), &options, out)?;
    Ok(report.stream_len)
}

/// Writes several tar streams as one: each part's end-of-archive blocks are held back and
/// dropped when the next part starts; [`TarConcat::finish`] writes one trailer at the end.
struct TarConcat<W: Write> {
    inner: W,
    /// The last bytes written, not yet passed on (at most [`TAR_TRAILER`]).
    held: Vec<u8>,
    written: u64,
}

impl<W: Write> TarConcat<W> {
    fn new(inner: W) -> Self {
        TarConcat { inner, held: Vec::with_capacity(TAR_TRAILER), written: 0 }
    }

    /// A part ended: what is held is its trailer.
    fn end_part(&mut self) {
        debug_assert!(self.held.len() == TAR_TRAILER && self.held.iter().all(|&b| b == 0));
        self.held.clear();
    }

    fn finish(mut self) -> io::Result<u64> {
        self.inner.write_all(&[0; TAR_TRAILER])?;
        self.inner.flush()?;
        Ok(self.written + TAR_TRAILER as u64)
    }

    fn pass(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }
}

impl<W: Write> Write for TarConcat<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() >= TAR_TRAILER {
            let held = std::mem::take(&mut self.held);
            self.pass(&held)?;
            let cut = buf.len() - TAR_TRAILER;
            self.pass(&buf[..cut])?;
            self.held = held;
            self.held.clear();
            self.held.extend_from_slice(&buf[cut..]);
        } else {
            self.held.extend_from_slice(buf);
            if self.held.len() > TAR_TRAILER {
                let excess = self.held.len() - TAR_TRAILER;
                let front: Vec<u8> = self.held.drain(..excess).collect();
                self.pass(&front)?;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_split_like_docker() {
        let cases = [
            ("/etc/hosts", "/etc/hosts", Some("hosts")),
            ("etc/hosts", "/etc/hosts", Some("hosts")),
            ("/etc/", "/etc/", None),
            ("/etc/.", "/etc/.", None),
            ("/etc/./", "/etc/./", None),
            ("/", "/", None),
            (".", "/.", None),
            ("/a/../b", "/b", Some("b")),
        ];
        for (path, abs, base) in cases {
            let req = Request::parse(path);
            assert_eq!(req.abs, abs, "{path}");
            assert_eq!(req.base.as_deref(), base.map(str::as_bytes), "{path}");
        }
    }

    #[test]
    fn stat_json_has_dockers_shape() {
        let stat = PathStat {
            name: "mod".into(),
            size: 2,
            mode: 420,
            mtime: "2026-11-26T15:32:51.5Z".into(),
            link_target: String::new(),
        };
        assert_eq!(
            stat.to_json(),
            r#"{"name":"mod","size":2,"mode":420,"mtime":"2026-11-26T15:32:51.5Z","linkTarget":""}"#
        );
    }

    #[test]
    fn concatenated_parts_have_one_trailer() {
        let mut out = TarConcat::new(Vec::new());
        out.write_all(b"abc").expect("write");
        out.write_all(&[0; TAR_TRAILER]).expect("write");
        out.end_part();
        out.write_all(&[1; 2000]).expect("write");
        out.write_all(&[0; 100]).expect("write");
        out.write_all(&[0; TAR_TRAILER - 100]).expect("write");
        out.end_part();
        let len = out.finish().expect("finish");
        assert_eq!(len, 3 + 2000 + TAR_TRAILER as u64);
    }
}
