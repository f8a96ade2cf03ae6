//! Applying a tar stream into a directory, confined to it.
//!
//! This is the extractor for image layers, `docker cp` into a container, and volume restores, so
//! it treats every archive as hostile. The `tar` crate only parses; each entry is then applied by
//! hand with fd-relative system calls: the parent is resolved inside the root by the kernel
//! ([`crate::root`]), the last component is created with `O_EXCL`/`mkdirat`/`symlinkat`/`linkat`/
//! `mknodat` and never followed, and an existing entry in the way is removed first (never opened
//! and truncated, so a hardlink or symlink planted earlier cannot redirect a write).
//!
//! The same single pass hashes the stream (the diff id) and records the tar-split, unless the
//! caller has no use for them ([`StreamRecord::Skip`]). Directory times are set at the end, after
//! their contents stopped changing them. Nothing is fsynced per file; `sync` asks for one
//! `syncfs` at the end, and `writeback` starts writing large files as soon as they are complete.

use std::cell::RefCell;
use std::collections::HashSet;
use std::io::{self, BufReader, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags, Timespec, Timestamps, XattrFlags};
use rustix::io::Errno;

use crate::error::lossy;
use crate::name::{self, TarTime, Whiteout};
use crate::root::{self, Root, RootDir};
use crate::tap::{Tap, TapState};
use crate::tarsplit::{COPY_BUFFER, SplitBuilder, TarSplit};
use crate::{ArchiveError, Sha256Digest};

/// Read-ahead buffer between the input and the parser: headers come in 512-byte reads, so
/// small entries are served from it; large contents bypass it.
const READ_BUFFER: usize = 128 * 1024;
/// Most bytes the parser may buffer for the extension headers of one entry (Go's reader allows
/// 1 MiB per PAX header; several may stack).
const HEADER_BUDGET: u64 = 8 << 20;
/// Most bytes accepted after the end-of-archive marker (record padding; `tar -b 2048` pads to
/// 1 MiB).
const TRAILER_BUDGET: u64 = 8 << 20;
/// Smallest file whose writeback [`ApplyOptions::writeback`] starts on its own; smaller ones are
/// left to the final sync (a call per small file would cost more than it saves).
pub const WRITEBACK_MIN: u64 = 64 * 1024;
/// Permission bits including setuid, setgid and sticky.
const MODE_MASK: u32 = 0o7777;
/// Files are created private and get their final mode once their contents and owner are set.
const CREATE_MODE: u32 = 0o600;
/// The xattr overlayfs reads to hide a lower directory's contents.
pub(crate) const OVERLAY_OPAQUE_XATTR: &str = "trusted.overlay.opaque";
pub(crate) const OVERLAY_OPAQUE_VALUE: &[u8] = b"y";
/// Byte ranges of the numeric header fields, to recognise ones left empty.
const MODE_FIELD: std::ops::Range<usize> = 100..108;
const UID_FIELD: std::ops::Range<usize> = 108..116;
const GID_FIELD: std::ops::Range<usize> = 116..124;
const MTIME_FIELD: std::ops::Range<usize> = 136..148;
const DEVMAJOR_FIELD: std::ops::Range<usize> = 329..337;
const DEVMINOR_FIELD: std::ops::Range<usize> = 337..345;
/// PAX records holding numbers that decide how the stream is read.
const NUMERIC_PAX_KEYS: [&[u8]; 3] = [b"size", b"uid", b"gid"];
/// xattrs that steer overlayfs (redirects, metacopy, opaque): never taken from an archive.
pub(crate) const OVERLAY_XATTR_PREFIX: &[u8] = b"trusted.overlay.";
/// xattrs that grant or restrict privilege (file capabilities, LSM labels): failing to set one
/// is an error, never a silent skip.
const SECURITY_XATTR_PREFIX: &[u8] = b"security.";

/// How OCI whiteout entries (`.wh.<name>`, `.wh..wh..opq`) are interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhiteoutMode {
    /// Into overlayfs form: `.wh.x` becomes a 0/0 character device `x`, `.wh..wh..opq` sets
    /// `trusted.overlay.opaque=y` on its directory. For the overlay2 driver's layer directories.
    /// On pack, the reverse.
    Overlay,
    /// Applied for real: `.wh.x` removes `x` recursively, `.wh..wh..opq` empties its directory
    /// of what this archive did not put there. For the vfs driver, which applies onto a copy of
    /// the parent layer. Packs like [`WhiteoutMode::Plain`].
    Delete,
    /// Not interpreted: `.wh.` names are ordinary files. For `docker cp` and volume import.
    #[default]
    Plain,
}

/// Who owns what an archive creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ownership {
    /// uid and gid from the archive (layers, volume restore).
    #[default]
    FromArchive,
    /// Everything owned by this uid and gid (a remapped root, `docker cp` with a user).
    Fixed(u32, u32),
    /// No chown: entries belong to whoever applies (`docker cp` without `-a`).
    Keep,
}

/// Whether [`apply`] records what identifies the stream and rebuilds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamRecord {
    /// Hash the whole stream (the diff id) and record its tar-split: image layers, which are
    /// named by the diff id and rebuilt byte for byte by `docker save`.
    #[default]
    Keep,
    /// Neither: for trees whose stream is never rebuilt (volume import and restore, `docker
    /// cp`). Saves hashing every byte and copying every header (a fifth of a volume restore's
    /// CPU time).
    Skip,
}

/// What [`apply`] does with the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApplyOptions {
    pub whiteouts: WhiteoutMode,
    pub ownership: Ownership,
    /// Refuse to replace a directory by a non-directory or the reverse (Docker's
    /// `PUT /containers/{id}/archive?noOverwriteDirNonDir=true`).
    pub no_overwrite_dir_non_dir: bool,
    /// `syncfs` the root's filesystem once at the end, for a durable import.
    pub sync: bool,
    /// Start writing each file of at least [`WRITEBACK_MIN`] bytes back to the disk as soon as
    /// it is complete, so that the disk works while later entries are extracted and a sync at the
    /// end (here or the caller's) has less to wait for.
    pub writeback: bool,
    /// Whether the diff id and the tar-split are computed.
    pub record: StreamRecord,
}

/// What [`apply`] did.
#[derive(Debug, Clone)]
pub struct ApplyReport {
    /// sha256 of the whole stream as received, end blocks and trailing padding included
    /// (`None` with [`StreamRecord::Skip`]).
    pub diff_id: Option<Sha256Digest>,
    /// Bytes of regular-file contents written (Docker's layer size).
    pub size: u64,
    /// Entries in the archive (extension headers not counted).
    pub entries: u64,
    /// Length of the stream.
    pub stream_len: u64,
    /// The record to rebuild the stream byte for byte with [`crate::reassemble`] (`None` with
    /// [`StreamRecord::Skip`]).
    pub tar_split: Option<TarSplit>,
}

/// Applies the (uncompressed) tar stream `reader` into the existing directory `root`.
///
/// Every path is resolved inside `root`; an entry whose path leaves it lexically (`../x`) is
/// refused, and symlinks met on the way (including ones the archive itself created) are followed
/// as if `root` were `/`. The input is read to its end, past the end-of-archive blocks.
pub fn apply<'a, R: Read>(
    reader: R,
    root: impl Into<RootDir<'a>>,
    options: &ApplyOptions,
) -> Result<ApplyReport, ArchiveError> {
    let root = Root::open(root.into())?;
    let state = RefCell::new(TapState::new(options.record == StreamRecord::Keep));
    let mut archive = tar::Archive::new(Tap::new(BufReader::with_capacity(READ_BUFFER, reader), &state));
    let mut applier = Applier::new(root, options);
    {
        let read_error = |applier: &Applier<'_>, source| ArchiveError::Read {
            entries: applier.entries,
            offset: state.borrow().pos(),
            source,
        };
        let mut entries = archive.entries().map_err(|e| read_error(&applier, e))?;
        loop {
            state.borrow_mut().set_budget(Some(HEADER_BUDGET));
            let next = entries.next();
            state.borrow_mut().set_budget(None);
            let mut entry = match next {
                None => break,
                Some(Ok(entry)) => entry,
                Some(Err(e)) => return Err(read_error(&applier, e)),
            };
            applier.apply_entry(&mut entry, &state)?;
        }
    }
    let mut tap = archive.into_inner();
    state.borrow_mut().set_budget(Some(TRAILER_BUDGET));
    io::copy(&mut tap, &mut io::sink()).map_err(|source| ArchiveError::Read {
        entries: applier.entries,
        offset: state.borrow().pos(),
        source,
    })?;
    drop(tap);
    applier.finish(state.into_inner())
}

/// Metadata of one entry, parsed from its header and PAX records.
#[derive(Debug, Default)]
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: TarTime,
    atime: Option<TarTime>,
    xattrs: name::Xattrs,
}

impl Meta {
    fn timestamps(&self) -> Timestamps {
        let spec = |t: TarTime| Timespec { tv_sec: t.secs, tv_nsec: t.nanos.into() };
        Timestamps { last_access: spec(self.atime.unwrap_or(self.mtime)), last_modification: spec(self.mtime) }
    }
}

/// What kind of thing an entry creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File {
        sparse: bool,
    },
    Dir,
    Symlink,
    Hardlink,
    Node(FileType),
    /// PAX global header: no file, bytes kept in the tar-split.
    Ignored,
}

impl Kind {
    fn of(header: &tar::Header, name: &[u8]) -> Result<Kind, char> {
        use tar::EntryType as T;
        /// Pre-POSIX archives mark regular files with a NUL type byte, and directories with that
        /// same byte and a trailing slash.
        const OLD_REGULAR: u8 = 0;
        const TYPEFLAG_OFFSET: usize = 156;
        Ok(match header.entry_type() {
            T::Regular if header.as_bytes()[TYPEFLAG_OFFSET] == OLD_REGULAR && name.ends_with(b"/") => Kind::Dir,
            T::Regular | T::Continuous => Kind::File { sparse: false },
            T::GNUSparse => Kind::File { sparse: true },
            T::Directory => Kind::Dir,
            T::Symlink => Kind::Symlink,
            T::Link => Kind::Hardlink,
            T::Char => Kind::Node(FileType::CharacterDevice),
            T::Block => Kind::Node(FileType::BlockDevice),
            T::Fifo => Kind::Node(FileType::Fifo),
            T::XGlobalHeader => Kind::Ignored,
            other => return Err(char::from(other.as_byte())),
        })
    }

    /// Types whose size field must be zero: anything else is a parser differential waiting to
    /// happen (Go's reader ignores the size of these types, the tar crate reads that much data).
    fn header_only(self) -> bool {
        matches!(self, Kind::Dir | Kind::Symlink | Kind::Hardlink | Kind::Node(_))
    }
}

/// Index and name of the entry being applied, to build errors.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    index: u64,
    name: &'a [u8],
}

impl Ctx<'_> {
    fn io(self, op: &'static str) -> impl FnOnce(io::Error) -> ArchiveError {
        move |source| ArchiveError::Entry { index: self.index, name: lossy(self.name), op, source }
    }

    fn errno(self, op: &'static str) -> impl FnOnce(Errno) -> ArchiveError {
        move |e| self.io(op)(e.into())
    }

    fn refused(self, reason: impl Into<String>) -> ArchiveError {
        ArchiveError::Refused { index: self.index, name: lossy(self.name), reason: reason.into() }
    }
}

/// A resolved parent directory, kept across entries: archives list a directory's files one
/// after the other, so most entries reuse the previous parent instead of walking again.
struct Parent {
    rel: Vec<u8>,
    fd: OwnedFd,
    /// Where the directory really is, relative to the root (differs from `rel` when the path
    /// went through a symlink).
    physical: Vec<u8>,
}

/// Where an entry goes: the name `base` in directory `dir`, known to the tar-split as `physical`.
#[derive(Clone, Copy)]
struct Slot<'a> {
    dir: BorrowedFd<'a>,
    base: &'a [u8],
    physical: &'a [u8],
}

/// What the header of an entry says, parsed.
struct EntryInfo {
    kind: Kind,
    meta: Meta,
    link: Option<Vec<u8>>,
}

/// A directory whose times are set once the archive is applied.
struct DirTimes {
    physical: Vec<u8>,
    index: u64,
    times: Timestamps,
}

struct Applier<'o> {
    root: Root,
    options: &'o ApplyOptions,
    split: SplitBuilder,
    buf: Vec<u8>,
    dirs: Vec<DirTimes>,
    parent: Option<Parent>,
    /// Set when something was removed: the cached parent may no longer be what its path names.
    parent_stale: bool,
    /// Physical paths this archive created, and their ancestors ([`WhiteoutMode::Delete`] only).
    written: HashSet<Vec<u8>>,
    size: u64,
    entries: u64,
    path: Vec<u8>,
    physical: Vec<u8>,
}

impl<'o> Applier<'o> {
    fn new(root: Root, options: &'o ApplyOptions) -> Self {
        Applier {
            root,
            options,
            split: SplitBuilder::default(),
            buf: vec![0; COPY_BUFFER],
            dirs: Vec::new(),
            parent: None,
            parent_stale: false,
            written: HashSet::new(),
            size: 0,
            entries: 0,
            path: Vec::new(),
            physical: Vec::new(),
        }
    }

    fn recording(&self) -> bool {
        self.options.record == StreamRecord::Keep
    }

    fn owner(&self, meta: &Meta) -> Option<(u32, u32)> {
        match self.options.ownership {
            Ownership::FromArchive => Some((meta.uid, meta.gid)),
            Ownership::Fixed(uid, gid) => Some((uid, gid)),
            Ownership::Keep => None,
        }
    }

    /// Owner of directories created because the archive did not list them.
    fn implicit_owner(&self) -> Option<(u32, u32)> {
        match self.options.ownership {
            Ownership::Fixed(uid, gid) => Some((uid, gid)),
            Ownership::FromArchive | Ownership::Keep => None,
        }
    }

    fn apply_entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        tap: &RefCell<TapState>,
    ) -> Result<(), ArchiveError> {
        self.entries += 1;
        let raw_name = entry.path_bytes().into_owned();
        let ctx = Ctx { index: self.entries, name: &raw_name };
        let kind = Kind::of(entry.header(), &raw_name).map_err(|kind| ArchiveError::UnsupportedEntryType {
            index: ctx.index,
            name: lossy(&raw_name),
            kind,
        })?;
        if kind.header_only() && entry.size() != 0 {
            return Err(ctx.refused(format!("a {kind:?} entry must not carry {} bytes of contents", entry.size())));
        }
        if kind == Kind::Ignored {
            return drain(entry, ctx);
        }
        let meta = parse_meta(entry, ctx)?;
        let info = EntryInfo { kind, meta, link: entry.link_name_bytes().map(|l| l.into_owned()) };

        let mut path = std::mem::take(&mut self.path);
        let normalized = name::normalize(&raw_name, &mut path);
        let result = match normalized {
            Err(e) => Err(ctx.refused(e.reason())),
            Ok(()) => self.apply_normalized(entry, tap, ctx, &info, &path),
        };
        self.path = path;
        result
    }

    fn apply_normalized<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        tap: &RefCell<TapState>,
        ctx: Ctx<'_>,
        info: &EntryInfo,
        path: &[u8],
    ) -> Result<(), ArchiveError> {
        let meta = &info.meta;
        if path.is_empty() {
            return self.apply_root(entry, ctx, info.kind, meta);
        }
        if self.options.whiteouts != WhiteoutMode::Plain {
            match name::classify_whiteout(path) {
                Whiteout::None => {}
                Whiteout::Meta => {
                    tracing::debug!(entry = %lossy(path), "skipping AUFS metadata entry");
                    return drain(entry, ctx);
                }
                Whiteout::Invalid => return Err(ctx.refused("whiteout names no file")),
                Whiteout::Opaque => {
                    drain(entry, ctx)?;
                    return self.opaque(name::split_parent(path).0, ctx);
                }
                Whiteout::Delete(target) => {
                    drain(entry, ctx)?;
                    return self.whiteout(name::split_parent(path).0, target, ctx, meta);
                }
            }
        }
        let (parent_rel, base) = name::split_parent(path);
        let parent = self.take_parent(parent_rel, ctx)?;
        name::join(&parent.physical, base, &mut self.physical);
        let physical = std::mem::take(&mut self.physical);
        let slot = Slot { dir: parent.fd.as_fd(), base, physical: &physical };
        let result = self.create(entry, tap, ctx, info, path, slot);
        if result.is_ok() && self.options.whiteouts == WhiteoutMode::Delete {
            self.mark_written(&physical);
        }
        self.physical = physical;
        if !self.parent_stale {
            self.parent = Some(parent);
        }
        self.parent_stale = false;
        result
    }

    /// The root itself (`./`): for layers its metadata applies to the root directory; for
    /// `docker cp` and imports (Plain) it is skipped like Docker does, so an archive cannot
    /// chmod the directory it is copied into.
    fn apply_root<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        ctx: Ctx<'_>,
        kind: Kind,
        meta: &Meta,
    ) -> Result<(), ArchiveError> {
        if kind != Kind::Dir {
            return Err(ctx.refused("cannot replace the root directory"));
        }
        drain(entry, ctx)?;
        if self.options.whiteouts == WhiteoutMode::Plain {
            return Ok(());
        }
        let fd = self.root.fd();
        self.set_owner_mode_fd(fd, meta, ctx)?;
        self.set_xattrs(XattrTarget::Fd(fd), meta, ctx)?;
        self.dirs.push(DirTimes { physical: Vec::new(), index: ctx.index, times: meta.timestamps() });
        Ok(())
    }

    /// Resolves (or creates) the parent directory `rel`, reusing the cached one when it matches.
    fn take_parent(&mut self, rel: &[u8], ctx: Ctx<'_>) -> Result<Parent, ArchiveError> {
        if let Some(parent) = self.parent.take()
            && parent.rel == rel
        {
            return Ok(parent);
        }
        let (fd, physical) = match self.root.open_dir_physical(rel) {
            Ok(found) => found,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.root.create_dir_all(rel, self.implicit_owner()).map_err(ctx.io("create parent directories"))?;
                if self.options.whiteouts == WhiteoutMode::Delete {
                    self.mark_written(rel);
                }
                self.root.open_dir_physical(rel).map_err(ctx.io("open parent directory"))?
            }
            Err(e) => return Err(ctx.io("open parent directory")(e)),
        };
        Ok(Parent { rel: rel.to_vec(), fd, physical: physical.unwrap_or_else(|| rel.to_vec()) })
    }

    fn create<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        tap: &RefCell<TapState>,
        ctx: Ctx<'_>,
        info: &EntryInfo,
        path: &[u8],
        slot: Slot<'_>,
    ) -> Result<(), ArchiveError> {
        let meta = &info.meta;
        let link = info.link.as_deref();
        match info.kind {
            Kind::File { sparse } => self.create_file(entry, tap, ctx, sparse, meta, slot),
            Kind::Dir => self.create_dir(ctx, meta, slot),
            Kind::Symlink => {
                let target = link.unwrap_or_default();
                if target.contains(&0) {
                    return Err(ctx.refused("symlink target contains a NUL byte"));
                }
                self.replacing(ctx, slot, false, "create symlink", || {
                    rustix::fs::symlinkat(target, slot.dir, slot.base)
                })?;
                self.finish_node(ctx, meta, slot)
            }
            Kind::Hardlink => self.create_hardlink(ctx, link.unwrap_or_default(), path, slot),
            Kind::Node(file_type) => {
                let (major, minor) = if file_type == FileType::Fifo {
                    (0, 0)
                } else {
                    device_numbers(entry.header()).map_err(|e| ctx.refused(e))?
                };
                self.make_node(ctx, meta, slot, file_type, rustix::fs::makedev(major, minor))
            }
            Kind::Ignored => drain(entry, ctx),
        }
    }

    fn create_file<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        tap: &RefCell<TapState>,
        ctx: Ctx<'_>,
        sparse: bool,
        meta: &Meta,
        slot: Slot<'_>,
    ) -> Result<(), ArchiveError> {
        let fd = self.replacing(ctx, slot, false, "create file", || {
            rustix::fs::openat(
                slot.dir,
                slot.base,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(CREATE_MODE),
            )
        })?;
        let expected = if sparse {
            entry
                .header()
                .as_gnu()
                .map(|gnu| gnu.real_size())
                .transpose()
                .map_err(|e| ctx.refused(format!("malformed sparse header: {e}")))?
                .unwrap_or(0)
        } else {
            let size = entry.size();
            let mut state = tap.borrow_mut();
            if self.recording() {
                self.split.push_raw(state.take_pending());
                if size > 0 {
                    self.split.push_file(slot.physical, size);
                }
            }
            state.skip_next(size);
            size
        };
        let mut file = std::fs::File::from(fd);
        let written = copy_contents(entry, &mut file, &mut self.buf, ctx)?;
        if written < expected {
            return Err(ArchiveError::Truncated {
                index: ctx.index,
                name: lossy(ctx.name),
                missing: expected - written,
            });
        }
        self.size += written;
        let fd = OwnedFd::from(file);
        if self.options.writeback && written >= WRITEBACK_MIN {
            // Best effort: the sync at the end is what makes the data durable.
            let _ = strata_sys::writeback::start(fd.as_fd());
        }
        self.set_owner_mode_fd(fd.as_fd(), meta, ctx)?;
        self.set_xattrs(XattrTarget::Fd(fd.as_fd()), meta, ctx)?;
        rustix::fs::futimens(&fd, &meta.timestamps()).map_err(ctx.errno("set times"))
    }

    fn create_dir(&mut self, ctx: Ctx<'_>, meta: &Meta, slot: Slot<'_>) -> Result<(), ArchiveError> {
        let Slot { dir, base, physical } = slot;
        let mode = Mode::from_raw_mode(meta.mode & 0o777);
        match rustix::fs::mkdirat(dir, base, mode) {
            Ok(()) => {}
            Err(Errno::EXIST) => {
                let kept = self.clear_existing(ctx, slot, true)?;
                if !kept {
                    rustix::fs::mkdirat(dir, base, mode).map_err(ctx.errno("create directory"))?;
                }
            }
            Err(e) => return Err(ctx.errno("create directory")(e)),
        }
        let fd = rustix::fs::openat(
            dir,
            base,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(ctx.errno("open directory"))?;
        self.set_owner_mode_fd(fd.as_fd(), meta, ctx)?;
        self.set_xattrs(XattrTarget::Fd(fd.as_fd()), meta, ctx)?;
        self.dirs.push(DirTimes { physical: physical.to_vec(), index: ctx.index, times: meta.timestamps() });
        Ok(())
    }

    fn create_hardlink(&mut self, ctx: Ctx<'_>, link: &[u8], path: &[u8], slot: Slot<'_>) -> Result<(), ArchiveError> {
        let mut target = Vec::new();
        name::normalize(link, &mut target).map_err(|e| ctx.refused(format!("hardlink target: {}", e.reason())))?;
        if target.is_empty() {
            return Err(ctx.refused("hardlink to the root directory"));
        }
        if target == path {
            return Err(ctx.refused("hardlink to itself"));
        }
        let (target_parent, target_base) = name::split_parent(&target);
        let target_dir = self.root.open_dir(target_parent).map_err(ctx.io("resolve hardlink target"))?;
        self.replacing(ctx, slot, false, "create hardlink", || {
            rustix::fs::linkat(&target_dir, target_base, slot.dir, slot.base, AtFlags::empty())
        })
    }

    fn make_node(
        &mut self,
        ctx: Ctx<'_>,
        meta: &Meta,
        slot: Slot<'_>,
        file_type: FileType,
        dev: rustix::fs::Dev,
    ) -> Result<(), ArchiveError> {
        let Slot { dir, base, .. } = slot;
        self.replacing(ctx, slot, false, "create device node", || {
            rustix::fs::mknodat(dir, base, file_type, Mode::from_raw_mode(meta.mode & 0o777), dev)
        })?;
        if let Some((uid, gid)) = self.owner(meta) {
            root::chown_nofollow(dir, base, uid, gid).map_err(ctx.io("chown"))?;
        }
        root::chmod_node(dir, base, file_type, meta.mode & MODE_MASK).map_err(ctx.io("chmod"))?;
        self.finish_node(ctx, meta, slot)
    }

    /// Owner (symlinks only; devices did theirs), xattrs and times of a non-file, non-directory.
    fn finish_node(&self, ctx: Ctx<'_>, meta: &Meta, slot: Slot<'_>) -> Result<(), ArchiveError> {
        let Slot { dir, base, .. } = slot;
        let is_symlink = matches!(
            rustix::fs::statat(dir, base, AtFlags::SYMLINK_NOFOLLOW).map(|s| FileType::from_raw_mode(s.st_mode)),
            Ok(FileType::Symlink)
        );
        if is_symlink && let Some((uid, gid)) = self.owner(meta) {
            root::chown_nofollow(dir, base, uid, gid).map_err(ctx.io("chown"))?;
        }
        self.set_xattrs(XattrTarget::Child(dir, base), meta, ctx)?;
        rustix::fs::utimensat(dir, base, &meta.timestamps(), AtFlags::SYMLINK_NOFOLLOW).map_err(ctx.errno("set times"))
    }

    /// Runs `create`; if the name is taken, clears it (per the overwrite rules) and runs it again.
    fn replacing<T>(
        &mut self,
        ctx: Ctx<'_>,
        slot: Slot<'_>,
        new_is_dir: bool,
        op: &'static str,
        mut create: impl FnMut() -> rustix::io::Result<T>,
    ) -> Result<T, ArchiveError> {
        match create() {
            Err(Errno::EXIST) => {
                self.clear_existing(ctx, slot, new_is_dir)?;
                create().map_err(ctx.errno(op))
            }
            other => other.map_err(ctx.errno(op)),
        }
    }

    /// Makes room for a new entry at `base`. Returns `true` when the existing entry is a
    /// directory and the new one too: they merge and nothing is removed.
    fn clear_existing(&mut self, ctx: Ctx<'_>, slot: Slot<'_>, new_is_dir: bool) -> Result<bool, ArchiveError> {
        let existing = match rustix::fs::statat(slot.dir, slot.base, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => FileType::from_raw_mode(stat.st_mode),
            Err(Errno::NOENT) => return Ok(false),
            Err(e) => return Err(ctx.errno("inspect existing entry")(e)),
        };
        let is_dir = existing == FileType::Directory;
        if self.options.no_overwrite_dir_non_dir && is_dir != new_is_dir {
            let (existing, replacement) =
                if is_dir { ("directory", "non-directory") } else { ("non-directory", "directory") };
            return Err(ArchiveError::DirNonDir { index: ctx.index, name: lossy(ctx.name), existing, replacement });
        }
        if is_dir && new_is_dir {
            return Ok(true);
        }
        self.remove(ctx, slot, "remove existing entry")?;
        Ok(false)
    }

    /// Removes `base` (recursively), saving first the contents of files this archive wrote there.
    fn remove(&mut self, ctx: Ctx<'_>, slot: Slot<'_>, op: &'static str) -> Result<(), ArchiveError> {
        if self.recording() {
            self.split
                .preserve_under(&self.root, slot.physical, &mut self.buf)
                .map_err(ctx.io("save replaced file for tar-split"))?;
        }
        self.parent_stale = true;
        match root::remove_all(slot.dir, slot.base) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other.map_err(ctx.io(op)),
        }
    }

    /// An OCI whiteout `.wh.<target>` in directory `parent_rel`.
    fn whiteout(&mut self, parent_rel: &[u8], target: &[u8], ctx: Ctx<'_>, meta: &Meta) -> Result<(), ArchiveError> {
        match self.options.whiteouts {
            WhiteoutMode::Overlay => {
                let parent = self.take_parent(parent_rel, ctx)?;
                name::join(&parent.physical, target, &mut self.physical);
                let physical = std::mem::take(&mut self.physical);
                let slot = Slot { dir: parent.fd.as_fd(), base: target, physical: &physical };
                let result = self.make_node(ctx, meta, slot, FileType::CharacterDevice, rustix::fs::makedev(0, 0));
                self.physical = physical;
                if !self.parent_stale {
                    self.parent = Some(parent);
                }
                self.parent_stale = false;
                result
            }
            WhiteoutMode::Delete => {
                let (dir, physical) = match self.root.open_dir_physical(parent_rel) {
                    Ok(found) => found,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                    Err(e) => return Err(ctx.io("open whiteout directory")(e)),
                };
                let mut path = Vec::new();
                name::join(physical.as_deref().unwrap_or(parent_rel), target, &mut path);
                self.remove(ctx, Slot { dir: dir.as_fd(), base: target, physical: &path }, "remove whited-out entry")?;
                self.forget_parent();
                Ok(())
            }
            WhiteoutMode::Plain => Ok(()),
        }
    }

    /// An opaque marker `.wh..wh..opq` in directory `dir_rel`.
    fn opaque(&mut self, dir_rel: &[u8], ctx: Ctx<'_>) -> Result<(), ArchiveError> {
        match self.options.whiteouts {
            WhiteoutMode::Overlay => {
                self.root.create_dir_all(dir_rel, self.implicit_owner()).map_err(ctx.io("create opaque directory"))?;
                let fd = self
                    .root
                    .open_in_root(dir_rel, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, ResolveFlags::empty())
                    .map_err(ctx.io("open opaque directory"))?;
                rustix::fs::fsetxattr(&fd, OVERLAY_OPAQUE_XATTR, OVERLAY_OPAQUE_VALUE, XattrFlags::empty())
                    .map_err(ctx.errno("mark directory opaque"))
            }
            WhiteoutMode::Delete => {
                let (dir, physical) = match self.root.open_dir_physical(dir_rel) {
                    Ok(found) => found,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                    Err(e) => return Err(ctx.io("open opaque directory")(e)),
                };
                let physical = physical.unwrap_or_else(|| dir_rel.to_vec());
                let names = root::read_dir_names(dir.as_fd()).map_err(ctx.io("list opaque directory"))?;
                let mut child = Vec::new();
                for base in names {
                    name::join(&physical, &base, &mut child);
                    if !self.written.contains(&child) {
                        self.remove(
                            ctx,
                            Slot { dir: dir.as_fd(), base: &base, physical: &child },
                            "empty opaque directory",
                        )?;
                    }
                }
                self.forget_parent();
                Ok(())
            }
            WhiteoutMode::Plain => Ok(()),
        }
    }

    /// Drops the cached parent after removals outside the usual entry flow.
    fn forget_parent(&mut self) {
        self.parent = None;
        self.parent_stale = false;
    }

    fn mark_written(&mut self, physical: &[u8]) {
        let mut path = physical;
        while !path.is_empty() && self.written.insert(path.to_vec()) {
            path = name::split_parent(path).0;
        }
    }

    fn set_owner_mode_fd(&self, fd: BorrowedFd<'_>, meta: &Meta, ctx: Ctx<'_>) -> Result<(), ArchiveError> {
        if let Some((uid, gid)) = self.owner(meta) {
            rustix::fs::fchown(fd, Some(rustix::fs::Uid::from_raw(uid)), Some(rustix::fs::Gid::from_raw(gid)))
                .map_err(ctx.errno("chown"))?;
        }
        // After chown, which clears setuid and setgid.
        rustix::fs::fchmod(fd, Mode::from_raw_mode(meta.mode & MODE_MASK)).map_err(ctx.errno("chmod"))
    }

    fn set_xattrs(&self, target: XattrTarget<'_>, meta: &Meta, ctx: Ctx<'_>) -> Result<(), ArchiveError> {
        for (key, value) in &meta.xattrs {
            if key.starts_with(OVERLAY_XATTR_PREFIX) {
                tracing::warn!(entry = %lossy(ctx.name), xattr = %lossy(key), "ignoring overlayfs xattr from archive");
                continue;
            }
            let result = match target {
                XattrTarget::Fd(fd) => rustix::fs::fsetxattr(fd, key.as_slice(), value, XattrFlags::empty()),
                XattrTarget::Child(dir, base) => {
                    rustix::fs::lsetxattr(root::proc_child_path(dir, base), key.as_slice(), value, XattrFlags::empty())
                }
            };
            match result {
                Ok(()) => {}
                Err(e) if key.starts_with(SECURITY_XATTR_PREFIX) => return Err(ctx.errno("set security xattr")(e)),
                Err(e @ (Errno::NOTSUP | Errno::PERM | Errno::TOOBIG | Errno::RANGE)) => {
                    tracing::debug!(entry = %lossy(ctx.name), xattr = %lossy(key), error = %e, "xattr not supported here, skipped");
                }
                Err(e) => return Err(ctx.errno("set xattr")(e)),
            }
        }
        Ok(())
    }

    fn finish(self, state: TapState) -> Result<ApplyReport, ArchiveError> {
        for dir in &self.dirs {
            let name = lossy(&dir.physical);
            let ctx_err = |op: &'static str| {
                let name = name.clone();
                move |source: io::Error| ArchiveError::Entry { index: dir.index, name, op, source }
            };
            let fd = match self.root.open_in_root(
                &dir.physical,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                ResolveFlags::empty(),
            ) {
                Ok(fd) => fd,
                // Replaced or removed by a later entry: its times went with it.
                Err(e) if matches!(e.raw_os_error(), Some(c) if c == Errno::NOENT.raw_os_error() || c == Errno::NOTDIR.raw_os_error() || c == Errno::LOOP.raw_os_error()) =>
                {
                    continue;
                }
                Err(e) => return Err(ctx_err("open directory to set times")(e)),
            };
            rustix::fs::futimens(&fd, &dir.times).map_err(|e| ctx_err("set times")(e.into()))?;
        }
        if self.options.sync {
            rustix::fs::syncfs(self.root.fd()).map_err(|e| ArchiveError::Sync { source: e.into() })?;
        }
        let recording = self.recording();
        let (hasher, trailing, stream_len) = state.finish();
        Ok(ApplyReport {
            diff_id: hasher.map(Sha256Digest::from_hasher),
            size: self.size,
            entries: self.entries,
            stream_len,
            tar_split: recording.then(|| self.split.finish(trailing)),
        })
    }
}

#[derive(Clone, Copy)]
enum XattrTarget<'a> {
    /// An open file or directory.
    Fd(BorrowedFd<'a>),
    /// A symlink, device or FIFO, reached by name without following it.
    Child(BorrowedFd<'a>, &'a [u8]),
}

/// Reads the header fields and PAX records strata applies.
fn parse_meta<R: Read>(entry: &mut tar::Entry<'_, R>, ctx: Ctx<'_>) -> Result<Meta, ArchiveError> {
    let header = entry.header();
    // Writers leave unused numeric fields all NUL (the tar crate refuses those; GNU tar and Go
    // read them as zero, and so do we).
    let malformed = |field: &str, e: io::Error| ctx.refused(format!("malformed {field} field: {e}"));
    let numeric = |value: io::Result<u64>, field: &str, at: std::ops::Range<usize>| match value {
        Ok(v) => Ok(v),
        Err(_) if header.as_bytes()[at.clone()].iter().all(|&b| b == 0 || b == b' ') => Ok(0),
        Err(e) => Err(malformed(field, e)),
    };
    let id = |value: u64, field: &str| {
        // u32::MAX is chown's "leave unchanged"; it cannot be an owner.
        u32::try_from(value)
            .ok()
            .filter(|&v| v != u32::MAX)
            .ok_or_else(|| ctx.refused(format!("{field} {value} out of range")))
    };
    let mut meta = Meta {
        mode: u32::try_from(numeric(header.mode().map(u64::from), "mode", MODE_FIELD)? & u64::from(MODE_MASK))
            .unwrap_or(0),
        uid: id(numeric(header.uid(), "uid", UID_FIELD)?, "uid")?,
        gid: id(numeric(header.gid(), "gid", GID_FIELD)?, "gid")?,
        mtime: TarTime {
            secs: i64::try_from(numeric(header.mtime(), "mtime", MTIME_FIELD)?).unwrap_or(i64::MAX),
            nanos: 0,
        },
        atime: None,
        xattrs: Vec::new(),
    };
    if let Some(extensions) = entry.pax_extensions().map_err(|e| malformed("PAX", e))? {
        for extension in extensions {
            let extension = extension.map_err(|e| malformed("PAX", e))?;
            let key = extension.key_bytes();
            if key == name::PAX_MTIME {
                meta.mtime =
                    name::parse_pax_time(extension.value_bytes()).ok_or_else(|| ctx.refused("malformed PAX mtime"))?;
            } else if key == name::PAX_ATIME {
                meta.atime = name::parse_pax_time(extension.value_bytes());
            } else if NUMERIC_PAX_KEYS.contains(&key) {
                // The tar crate silently falls back to the header field when these do not parse;
                // other readers refuse the archive. Refuse too, so no two readers disagree on
                // where the next header is.
                let value = extension.value_bytes();
                if value.is_empty()
                    || !value.iter().all(u8::is_ascii_digit)
                    || std::str::from_utf8(value).ok().and_then(|v| v.parse::<u64>().ok()).is_none()
                {
                    return Err(ctx.refused(format!("malformed PAX {} record", lossy(key))));
                }
            } else if let Some(xattr) = key.strip_prefix(name::PAX_XATTR_PREFIX) {
                meta.xattrs.push((xattr.to_vec(), extension.value_bytes().to_vec()));
            }
        }
    }
    Ok(meta)
}

fn device_numbers(header: &tar::Header) -> Result<(u32, u32), String> {
    let field = |value: io::Result<Option<u32>>, name: &str, at: std::ops::Range<usize>| match value {
        Ok(v) => Ok(v.unwrap_or(0)),
        Err(_) if header.as_bytes()[at].iter().all(|&b| b == 0 || b == b' ') => Ok(0),
        Err(e) => Err(format!("malformed device {name}: {e}")),
    };
    Ok((field(header.device_major(), "major", DEVMAJOR_FIELD)?, field(header.device_minor(), "minor", DEVMINOR_FIELD)?))
}

/// Reads an entry's contents into `out`; read failures are the archive's, write failures the
/// target's.
fn copy_contents<R: Read, W: Write>(
    entry: &mut tar::Entry<'_, R>,
    out: &mut W,
    buf: &mut [u8],
    ctx: Ctx<'_>,
) -> Result<u64, ArchiveError> {
    let mut written = 0u64;
    loop {
        let n = match entry.read(buf) {
            Ok(0) => return Ok(written),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ctx.io("read contents")(e)),
        };
        out.write_all(&buf[..n]).map_err(ctx.io("write contents"))?;
        written += n as u64;
    }
}

/// Consumes an entry's contents without writing them anywhere (they stay in the tar-split).
fn drain<R: Read>(entry: &mut tar::Entry<'_, R>, ctx: Ctx<'_>) -> Result<(), ArchiveError> {
    let expected = entry.size();
    let read = io::copy(entry, &mut io::sink()).map_err(ctx.io("read contents"))?;
    if read < expected {
        return Err(ArchiveError::Truncated { index: ctx.index, name: lossy(ctx.name), missing: expected - read });
    }
    Ok(())
}
