//! Applying a layer tar to a directory and rebuilding the identical tar later.
//!
//! **Temporary adapter.** strata's tar engine is the `strata-archive` crate (confined extraction,
//! whiteout conversion, tar-split reassembly, packing), written in parallel with this crate. Until
//! its API lands, the layer store goes through the three functions of this module —
//! [`apply`], [`assemble`] and [`sniff_compression`] — and nothing else in the crate touches tar,
//! so switching over replaces this one file. The contract the layer store relies on:
//!
//! - [`apply`] reads the (possibly compressed) stream once, hashing the uncompressed bytes as they
//!   pass (the diff id: no second pass over the data), writes every entry *inside* `root` (each
//!   parent resolved with `openat2(RESOLVE_IN_ROOT)`, the last component created with `*at`
//!   calls that never follow it), converts whiteouts for the driver, and returns the diff id, the
//!   content size and the **tar-split**: the exact bytes of every header, extension header,
//!   padding and trailer, with each file's content replaced by a reference to the file on disk;
//! - [`assemble`] writes the original tar back from the tar-split and the files, byte for byte, so
//!   `docker save` reproduces tars whose sha256 is the image's `rootfs.diff_ids`.

use std::cell::RefCell;
use std::collections::HashSet;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags, Timestamps};
use sha2::{Digest as _, Sha256};

use crate::id::{DiffId, Digest};

/// How whiteouts in a layer tar become files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whiteouts {
    /// overlayfs form: `.wh.x` → a 0/0 character device `x`; `.wh..wh..opq` → the parent gets
    /// `trusted.overlay.opaque=y`.
    Overlay,
    /// Full-copy drivers (vfs): the named files are deleted from the copy of the parent.
    Delete,
}

/// Compression of a layer stream, detected by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

/// What [`apply`] found.
#[derive(Debug, Clone)]
pub struct Applied {
    pub diff_id: DiffId,
    /// Bytes the layer's files take: regular file contents plus symlink targets, hardlinks once
    /// (Docker's layer size, which it gets by walking the layer).
    pub size: u64,
    /// The tar-split, encoded (see [`TarSplit`]).
    pub tar_split: Vec<u8>,
    /// Bytes of the uncompressed tar.
    pub tar_len: u64,
}

/// Errors of applying or assembling a layer.
#[derive(Debug, thiserror::Error)]
pub enum TarError {
    #[error("reading the layer tar: {0}")]
    Read(#[source] io::Error),
    #[error("invalid path in layer tar: {path:?}: {why}")]
    BadPath { path: String, why: &'static str },
    #[error("unsupported entry {path:?} in layer tar: {why}")]
    Unsupported { path: String, why: String },
    #[error("unsupported compression {0:?}: only uncompressed, gzip and zstd layers are accepted")]
    Compression(Compression),
    #[error("writing {path:?} into the layer: {source}")]
    Write { path: String, source: io::Error },
    #[error("layer content changed on disk: {path:?}: {why}")]
    Changed { path: String, why: String },
    #[error("corrupt tar-split metadata: {0}")]
    Corrupt(&'static str),
    #[error("writing the tar: {0}")]
    Output(#[source] io::Error),
}

/// The magic bytes that tell compressions apart.
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const BZIP2_MAGIC: &[u8] = b"BZh";
const XZ_MAGIC: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];
/// The copy buffer for file contents.
const COPY_BUF: usize = 1 << 20;
/// Overlay's opaque-directory xattr and whiteout names.
const OPAQUE_XATTR: &str = "trusted.overlay.opaque";
const WHITEOUT_PREFIX: &str = ".wh.";
const WHITEOUT_META_PREFIX: &str = ".wh..wh.";
const WHITEOUT_OPAQUE: &str = ".wh..wh..opq";
/// xattrs a layer tar may never set: overlay's own, which would let a layer forge redirects.
const FORBIDDEN_XATTR_PREFIX: &str = "trusted.overlay.";
const PAX_XATTR_PREFIX: &str = "SCHILY.xattr.";

/// Detects the compression of `head` (the first bytes of a stream).
pub fn sniff_compression(head: &[u8]) -> Compression {
    if head.starts_with(GZIP_MAGIC) {
        Compression::Gzip
    } else if head.starts_with(ZSTD_MAGIC) {
        Compression::Zstd
    } else if head.starts_with(BZIP2_MAGIC) {
        Compression::Bzip2
    } else if head.starts_with(XZ_MAGIC) {
        Compression::Xz
    } else {
        Compression::None
    }
}

/// A reader of the uncompressed tar under `input`, whatever its compression.
pub fn decompressed<'a, R: Read + 'a>(input: R) -> Result<Box<dyn Read + 'a>, TarError> {
    let mut buf = BufReader::with_capacity(COPY_BUF, input);
    let head = buf.fill_buf().map_err(TarError::Read)?;
    match sniff_compression(head) {
        Compression::None => Ok(Box::new(buf)),
        Compression::Gzip => Ok(Box::new(flate2::bufread::MultiGzDecoder::new(buf))),
        Compression::Zstd => Ok(Box::new(zstd::stream::read::Decoder::with_buffer(buf).map_err(TarError::Read)?)),
        other => Err(TarError::Compression(other)),
    }
}

/// One piece of a tar-split: raw bytes kept verbatim, or a file's content read from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Raw(Vec<u8>),
    File { path: String, size: u64 },
}

/// The bytes of a layer tar other than file contents, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TarSplit {
    pub segments: Vec<Segment>,
}

const TAG_RAW: u8 = b'R';
const TAG_FILE: u8 = b'F';
/// zstd level for tar-split metadata (tar headers are mostly zeros; level 3 is fast and small).
const TAR_SPLIT_ZSTD_LEVEL: i32 = 3;

impl TarSplit {
    /// The length of the tar this rebuilds.
    pub fn tar_len(&self) -> u64 {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Raw(b) => b.len() as u64,
                Segment::File { size, .. } => *size,
            })
            .sum()
    }

    /// zstd-compressed `R<len><bytes>` / `F<size><len><path>` records (lengths as LEB128).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for s in &self.segments {
            match s {
                Segment::Raw(b) => {
                    out.push(TAG_RAW);
                    put_varint(&mut out, b.len() as u64);
                    out.extend_from_slice(b);
                }
                Segment::File { path, size } => {
                    out.push(TAG_FILE);
                    put_varint(&mut out, *size);
                    put_varint(&mut out, path.len() as u64);
                    out.extend_from_slice(path.as_bytes());
                }
            }
        }
        zstd::bulk::compress(&out, TAR_SPLIT_ZSTD_LEVEL).unwrap_or_default()
    }

    pub fn decode(data: &[u8]) -> Result<TarSplit, TarError> {
        let raw = zstd::stream::decode_all(data).map_err(|_| TarError::Corrupt("not zstd"))?;
        let mut segments = Vec::new();
        let mut rest = raw.as_slice();
        while let Some((&tag, tail)) = rest.split_first() {
            rest = tail;
            match tag {
                TAG_RAW => {
                    let len = get_varint(&mut rest)? as usize;
                    let bytes = rest.get(..len).ok_or(TarError::Corrupt("short raw segment"))?;
                    segments.push(Segment::Raw(bytes.to_vec()));
                    rest = &rest[len..];
                }
                TAG_FILE => {
                    let size = get_varint(&mut rest)?;
                    let len = get_varint(&mut rest)? as usize;
                    let bytes = rest.get(..len).ok_or(TarError::Corrupt("short path"))?;
                    let path = String::from_utf8(bytes.to_vec()).map_err(|_| TarError::Corrupt("path not utf-8"))?;
                    segments.push(Segment::File { path, size });
                    rest = &rest[len..];
                }
                _ => return Err(TarError::Corrupt("unknown segment tag")),
            }
        }
        Ok(TarSplit { segments })
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn get_varint(rest: &mut &[u8]) -> Result<u64, TarError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, tail) = rest.split_first().ok_or(TarError::Corrupt("short varint"))?;
        *rest = tail;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(TarError::Corrupt("varint too long"))
}

/// What the hashing reader shares with the extractor.
struct Recorder {
    hasher: Sha256,
    len: u64,
    /// Raw bytes since the last file content.
    raw: Vec<u8>,
    /// True while the extractor reads a file's content (not recorded).
    in_content: bool,
    segments: Vec<Segment>,
}

impl Recorder {
    fn flush_raw(&mut self) {
        if !self.raw.is_empty() {
            self.segments.push(Segment::Raw(std::mem::take(&mut self.raw)));
        }
    }
}

/// A reader that hashes everything it passes and records what is not file content.
struct Tee<R> {
    inner: R,
    rec: Rc<RefCell<Recorder>>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut rec = self.rec.borrow_mut();
        rec.hasher.update(&buf[..n]);
        rec.len += n as u64;
        if !rec.in_content {
            rec.raw.extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }
}

/// Applies the layer tar `input` (uncompressed, gzip or zstd) into `root`.
pub fn apply(input: impl Read, root: &Path, whiteouts: Whiteouts) -> Result<Applied, TarError> {
    let root_fd = open_dir(root).map_err(|source| TarError::Write { path: root.display().to_string(), source })?;
    let rec = Rc::new(RefCell::new(Recorder {
        hasher: Sha256::new(),
        len: 0,
        raw: Vec::new(),
        in_content: false,
        segments: Vec::new(),
    }));
    let tee = Tee { inner: decompressed(input)?, rec: Rc::clone(&rec) };
    let mut archive = tar::Archive::new(tee);
    let mut ex = Extractor { root: root_fd.as_fd(), whiteouts, dirs: Vec::new(), unpacked: HashSet::new(), size: 0 };
    let mut buf = vec![0u8; COPY_BUF];
    for entry in archive.entries().map_err(TarError::Read)? {
        let entry = entry.map_err(TarError::Read)?;
        ex.entry(entry, &rec, &mut buf)?;
    }
    // Everything after the end-of-archive marker belongs to the diff id and to the tar-split.
    let mut tee = archive.into_inner();
    io::copy(&mut tee, &mut io::sink()).map_err(TarError::Read)?;
    ex.finish_dirs()?;
    let mut rec = rec.borrow_mut();
    rec.flush_raw();
    let hash = std::mem::take(&mut rec.hasher).finalize();
    let split = TarSplit { segments: std::mem::take(&mut rec.segments) };
    Ok(Applied { diff_id: Digest::from_sha256(&hash), size: ex.size, tar_split: split.encode(), tar_len: rec.len })
}

/// Writes the tar described by `tar_split` to `out`, reading file contents under `root`.
pub fn assemble(tar_split: &[u8], root: &Path, out: &mut dyn Write) -> Result<u64, TarError> {
    let split = TarSplit::decode(tar_split)?;
    let root_fd = open_dir(root)
        .map_err(|source| TarError::Changed { path: root.display().to_string(), why: source.to_string() })?;
    let mut buf = vec![0u8; COPY_BUF];
    let mut written = 0u64;
    for seg in &split.segments {
        match seg {
            Segment::Raw(b) => {
                out.write_all(b).map_err(TarError::Output)?;
                written += b.len() as u64;
            }
            Segment::File { path, size } => {
                let changed = |why: String| TarError::Changed { path: path.clone(), why };
                let fd = rustix::fs::openat2(
                    &root_fd,
                    path.as_str(),
                    OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
                    Mode::empty(),
                    ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
                )
                .map_err(|e| changed(e.to_string()))?;
                let mut file = std::fs::File::from(fd);
                let mut left = *size;
                while left > 0 {
                    let want = left.min(buf.len() as u64) as usize;
                    let n = file.read(&mut buf[..want]).map_err(|e| changed(e.to_string()))?;
                    if n == 0 {
                        return Err(changed(format!("file is {} bytes shorter than recorded", left)));
                    }
                    out.write_all(&buf[..n]).map_err(TarError::Output)?;
                    left -= n as u64;
                }
                written += size;
            }
        }
    }
    Ok(written)
}

/// Opens a directory to resolve paths in.
fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?)
}

/// Normalises an archive path: relative, no `.`; `..` anywhere is refused.
fn normalize(raw: &Path) -> Result<String, TarError> {
    let shown = || raw.display().to_string();
    let mut parts: Vec<&str> = Vec::new();
    for c in raw.components() {
        match c {
            Component::Normal(p) => {
                parts.push(p.to_str().ok_or_else(|| TarError::BadPath { path: shown(), why: "not utf-8" })?)
            }
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => return Err(TarError::BadPath { path: shown(), why: "contains `..`" }),
            Component::Prefix(_) => return Err(TarError::BadPath { path: shown(), why: "has a prefix" }),
        }
    }
    Ok(parts.join("/"))
}

/// A directory whose metadata is set after its contents (writing into it changes its mtime).
struct DirAttrs {
    path: String,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: u64,
}

struct Extractor<'a> {
    root: BorrowedFd<'a>,
    whiteouts: Whiteouts,
    dirs: Vec<DirAttrs>,
    /// Paths this layer created (for opaque directories on full-copy drivers).
    unpacked: HashSet<String>,
    size: u64,
}

impl Extractor<'_> {
    fn entry<R: Read>(
        &mut self,
        mut entry: tar::Entry<'_, R>,
        rec: &Rc<RefCell<Recorder>>,
        buf: &mut [u8],
    ) -> Result<(), TarError> {
        let raw_path = entry.path().map_err(TarError::Read)?.into_owned();
        let path = normalize(&raw_path)?;
        let header = entry.header().clone();
        let kind = header.entry_type();
        let shown = || path.clone();
        let werr = |source: io::Error| TarError::Write { path: path.clone(), source };
        let mode = header.mode().map_err(TarError::Read)? & 0o7777;
        // Empty numeric fields read as 0, as Go's archive/tar reads them.
        let uid = header.uid().unwrap_or(0) as u32;
        let gid = header.gid().unwrap_or(0) as u32;
        let mtime = header.mtime().unwrap_or(0);

        if path.is_empty() {
            // The layer root itself: only its metadata applies.
            if kind.is_dir() {
                self.dirs.push(DirAttrs { path, mode, uid, gid, mtime });
            }
            return Ok(());
        }
        let (parent, name) = match path.rsplit_once('/') {
            Some((p, n)) => (p, n),
            None => ("", path.as_str()),
        };

        // Whiteouts.
        if let Some(target) = name.strip_prefix(WHITEOUT_PREFIX) {
            let dir = self.parent_dir(parent).map_err(werr)?;
            if name == WHITEOUT_OPAQUE {
                match self.whiteouts {
                    Whiteouts::Overlay => {
                        rustix::fs::fsetxattr(&dir, OPAQUE_XATTR, b"y", rustix::fs::XattrFlags::empty())
                            .map_err(|e| werr(e.into()))?;
                    }
                    Whiteouts::Delete => self.clear_dir_except_unpacked(&dir, parent).map_err(werr)?,
                }
            } else if name.starts_with(WHITEOUT_META_PREFIX) {
                // AUFS metadata (`.wh..wh.plnk`, `.wh..wh.aufs`): not content.
            } else {
                remove_at(dir.as_fd(), target).map_err(werr)?;
                if self.whiteouts == Whiteouts::Overlay {
                    rustix::fs::mknodat(
                        &dir,
                        target,
                        FileType::CharacterDevice,
                        Mode::empty(),
                        rustix::fs::makedev(0, 0),
                    )
                    .map_err(|e| werr(e.into()))?;
                }
            }
            return Ok(());
        }

        let dir = self.parent_dir(parent).map_err(werr)?;
        let existing = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW).ok();
        let existing_is_dir =
            existing.as_ref().is_some_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory);
        if existing.is_some() && !(kind.is_dir() && existing_is_dir) {
            remove_at(dir.as_fd(), name).map_err(werr)?;
        }
        self.unpacked.insert(path.clone());

        match kind {
            tar::EntryType::Directory => {
                if !existing_is_dir {
                    rustix::fs::mkdirat(&dir, name, Mode::from_raw_mode(0o700)).map_err(|e| werr(e.into()))?;
                }
                let xattrs = pax_xattrs(&mut entry)?;
                if !xattrs.is_empty() {
                    let fd = rustix::fs::openat(
                        &dir,
                        name,
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                        Mode::empty(),
                    )
                    .map_err(|e| werr(e.into()))?;
                    set_xattrs(&fd, &xattrs).map_err(werr)?;
                }
                self.dirs.push(DirAttrs { path, mode, uid, gid, mtime });
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let xattrs = pax_xattrs(&mut entry)?;
                let fd = rustix::fs::openat(
                    &dir,
                    name,
                    OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o600),
                )
                .map_err(|e| werr(e.into()))?;
                let mut file = std::fs::File::from(fd);
                {
                    let mut r = rec.borrow_mut();
                    r.flush_raw();
                    r.in_content = true;
                }
                let copied = copy_content(&mut entry, &mut file, buf);
                rec.borrow_mut().in_content = false;
                let size = copied.map_err(TarError::Read)?;
                rec.borrow_mut().segments.push(Segment::File { path: path.clone(), size });
                self.size += size;
                rustix::fs::fchown(&file, Some(uid_of(uid)), Some(gid_of(gid))).map_err(|e| werr(e.into()))?;
                rustix::fs::fchmod(&file, Mode::from_raw_mode(mode)).map_err(|e| werr(e.into()))?;
                set_xattrs(&file, &xattrs).map_err(werr)?;
                rustix::fs::futimens(&file, &times(mtime)).map_err(|e| werr(e.into()))?;
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .map_err(TarError::Read)?
                    .ok_or_else(|| TarError::Unsupported { path: shown(), why: "symlink without a target".into() })?
                    .into_owned();
                rustix::fs::symlinkat(target.as_path(), &dir, name).map_err(|e| werr(e.into()))?;
                // A symlink's size is its target's length, as `du`-style sizes (Docker's) count it.
                self.size += target.as_os_str().len() as u64;
                rustix::fs::chownat(&dir, name, Some(uid_of(uid)), Some(gid_of(gid)), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(|e| werr(e.into()))?;
                rustix::fs::utimensat(&dir, name, &times(mtime), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(|e| werr(e.into()))?;
            }
            tar::EntryType::Link => {
                let target = entry
                    .link_name()
                    .map_err(TarError::Read)?
                    .ok_or_else(|| TarError::Unsupported { path: shown(), why: "hardlink without a target".into() })?
                    .into_owned();
                let target = normalize(&target)?;
                let (tparent, tname) = match target.rsplit_once('/') {
                    Some((p, n)) => (p, n),
                    None => ("", target.as_str()),
                };
                let tdir = resolve_dir(self.root, tparent).map_err(werr)?;
                // linkat without AT_SYMLINK_FOLLOW links the entry itself, never what it points to.
                rustix::fs::linkat(&tdir, tname, &dir, name, AtFlags::empty()).map_err(|e| werr(e.into()))?;
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let ft = match kind {
                    tar::EntryType::Char => FileType::CharacterDevice,
                    tar::EntryType::Block => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                let major = header.device_major().map_err(TarError::Read)?.unwrap_or(0);
                let minor = header.device_minor().map_err(TarError::Read)?.unwrap_or(0);
                rustix::fs::mknodat(&dir, name, ft, Mode::from_raw_mode(mode), rustix::fs::makedev(major, minor))
                    .map_err(|e| werr(e.into()))?;
                rustix::fs::chownat(&dir, name, Some(uid_of(uid)), Some(gid_of(gid)), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(|e| werr(e.into()))?;
                rustix::fs::chmodat(&dir, name, Mode::from_raw_mode(mode), AtFlags::empty())
                    .map_err(|e| werr(e.into()))?;
                rustix::fs::utimensat(&dir, name, &times(mtime), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(|e| werr(e.into()))?;
            }
            tar::EntryType::XGlobalHeader => {}
            other => {
                return Err(TarError::Unsupported { path: shown(), why: format!("entry type {other:?}") });
            }
        }
        Ok(())
    }

    /// The directory `parent` (relative to the root), created with 0755 where missing.
    fn parent_dir(&self, parent: &str) -> io::Result<OwnedFd> {
        match resolve_dir(self.root, parent) {
            Ok(fd) => Ok(fd),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let mut prefix = String::new();
                for comp in parent.split('/') {
                    let here = resolve_dir(self.root, &prefix)?;
                    match rustix::fs::mkdirat(&here, comp, Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                    if !prefix.is_empty() {
                        prefix.push('/');
                    }
                    prefix.push_str(comp);
                }
                resolve_dir(self.root, parent)
            }
            Err(e) => Err(e),
        }
    }

    /// An opaque directory on a full-copy driver: everything in it that this layer did not write
    /// came from below and is hidden.
    fn clear_dir_except_unpacked(&self, dir: &OwnedFd, parent: &str) -> io::Result<()> {
        for name in list_dir(dir)? {
            let full = if parent.is_empty() { name.clone() } else { format!("{parent}/{name}") };
            if !self.unpacked.contains(&full) {
                remove_at(dir.as_fd(), &name)?;
            }
        }
        Ok(())
    }

    /// Sets directory metadata deepest first, after all contents are written.
    fn finish_dirs(&mut self) -> Result<(), TarError> {
        let mut dirs = std::mem::take(&mut self.dirs);
        dirs.sort_by_key(|d| std::cmp::Reverse(d.path.matches('/').count() + usize::from(!d.path.is_empty())));
        for d in dirs {
            let werr = |source: io::Error| TarError::Write { path: d.path.clone(), source };
            let fd = if d.path.is_empty() {
                rustix::fs::openat(self.root, ".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
                    .map_err(|e| werr(e.into()))?
            } else {
                resolve_dir(self.root, &d.path).map_err(werr)?
            };
            rustix::fs::fchown(&fd, Some(uid_of(d.uid)), Some(gid_of(d.gid))).map_err(|e| werr(e.into()))?;
            rustix::fs::fchmod(&fd, Mode::from_raw_mode(d.mode)).map_err(|e| werr(e.into()))?;
            rustix::fs::futimens(&fd, &times(d.mtime)).map_err(|e| werr(e.into()))?;
        }
        Ok(())
    }
}

fn copy_content(src: &mut impl Read, dst: &mut std::fs::File, buf: &mut [u8]) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        let n = match src.read(buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        dst.write_all(&buf[..n])?;
        total += n as u64;
    }
}

fn pax_xattrs<R: Read>(entry: &mut tar::Entry<'_, R>) -> Result<Vec<(String, Vec<u8>)>, TarError> {
    let mut out = Vec::new();
    if let Some(exts) = entry.pax_extensions().map_err(TarError::Read)? {
        for ext in exts {
            let ext = ext.map_err(TarError::Read)?;
            if let Ok(key) = ext.key()
                && let Some(name) = key.strip_prefix(PAX_XATTR_PREFIX)
                && !name.starts_with(FORBIDDEN_XATTR_PREFIX)
            {
                out.push((name.to_owned(), ext.value_bytes().to_vec()));
            }
        }
    }
    Ok(out)
}

fn set_xattrs(fd: impl AsFd, xattrs: &[(String, Vec<u8>)]) -> io::Result<()> {
    for (name, value) in xattrs {
        rustix::fs::fsetxattr(&fd, name.as_str(), value, rustix::fs::XattrFlags::empty())?;
    }
    Ok(())
}

fn uid_of(uid: u32) -> rustix::fs::Uid {
    rustix::fs::Uid::from_raw(uid)
}

fn gid_of(gid: u32) -> rustix::fs::Gid {
    rustix::fs::Gid::from_raw(gid)
}

fn times(mtime: u64) -> Timestamps {
    let t = rustix::fs::Timespec { tv_sec: mtime as i64, tv_nsec: 0 };
    Timestamps { last_access: t, last_modification: t }
}

/// Opens the directory `rel` under `root`, resolving every component inside `root`.
pub(crate) fn resolve_dir(root: BorrowedFd<'_>, rel: &str) -> io::Result<OwnedFd> {
    let rel = if rel.is_empty() { "." } else { rel };
    Ok(rustix::fs::openat2(
        root,
        rel,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )?)
}

/// The names in a directory, without `.` and `..`.
pub(crate) fn list_dir(dir: &OwnedFd) -> io::Result<Vec<String>> {
    let fd = rustix::fs::openat(dir, ".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    let mut names = Vec::new();
    for entry in rustix::fs::Dir::read_from(&fd)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != "." && name != ".." {
            names.push(name);
        }
    }
    Ok(names)
}

/// Removes `name` in `dir` (recursively for directories), never following symlinks. Missing is fine.
pub(crate) fn remove_at(dir: BorrowedFd<'_>, name: &str) -> io::Result<()> {
    let st = match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(rustix::io::Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
        let sub = rustix::fs::openat(
            dir,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        for child in list_dir(&sub)? {
            remove_at(sub.as_fd(), &child)?;
        }
        rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)?;
    } else {
        rustix::fs::unlinkat(dir, name, AtFlags::empty())?;
    }
    Ok(())
}

/// Writes `changes` of the layer whose files are under `root` as a layer tar: added and
/// modified entries as they are, deletions as `.wh.<name>` entries, opaque directories followed by
/// their `.wh..wh..opq` entry (the OCI form, which any engine can apply).
pub fn pack_changes(root: &Path, changes: &[crate::driver::Change], out: &mut dyn Write) -> Result<(), TarError> {
    use crate::driver::ChangeKind;
    let mut b = tar::Builder::new(out);
    b.follow_symlinks(false);
    b.mode(tar::HeaderMode::Complete);
    for c in changes {
        let rel = c.path.trim_start_matches('/');
        let werr = |e: io::Error| TarError::Write { path: rel.to_owned(), source: e };
        match c.kind {
            ChangeKind::Deleted => {
                let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
                let wh = if parent.is_empty() {
                    format!("{WHITEOUT_PREFIX}{name}")
                } else {
                    format!("{parent}/{WHITEOUT_PREFIX}{name}")
                };
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(0);
                h.set_mode(0o644);
                h.set_uid(0);
                h.set_gid(0);
                h.set_mtime(0);
                b.append_data(&mut h, &wh, io::empty()).map_err(TarError::Output)?;
            }
            ChangeKind::Added | ChangeKind::Modified => {
                let full = root.join(rel);
                b.append_path_with_name(&full, rel).map_err(werr)?;
                let mut v = [0u8; 4];
                if std::fs::symlink_metadata(&full).is_ok_and(|m| m.is_dir())
                    && matches!(rustix::fs::lgetxattr(&full, OPAQUE_XATTR, &mut v), Ok(1) if v[0] == b'y')
                {
                    let mut h = tar::Header::new_gnu();
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(0);
                    h.set_mode(0o644);
                    h.set_uid(0);
                    h.set_gid(0);
                    h.set_mtime(0);
                    b.append_data(&mut h, format!("{rel}/{WHITEOUT_OPAQUE}"), io::empty()).map_err(TarError::Output)?;
                }
            }
        }
    }
    b.finish().map_err(TarError::Output)?;
    Ok(())
}

/// The uncompressed bytes of a tar made by `build` (for tests of this crate and its users).
#[doc(hidden)]
pub fn tar_of(build: impl FnOnce(&mut tar::Builder<Vec<u8>>) -> io::Result<()>) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    build(&mut b).expect("build test tar");
    b.into_inner().expect("finish test tar")
}

/// Appends a regular file to a test tar.
#[doc(hidden)]
pub fn add_file(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8], mode: u32) -> io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(data.len() as u64);
    h.set_mode(mode);
    h.set_mtime(1_700_000_000);
    h.set_uid(0);
    h.set_gid(0);
    b.append_data(&mut h, path, data)
}

/// Appends a header-only entry (directory, symlink, hardlink, device) to a test tar.
#[doc(hidden)]
pub fn add_special(
    b: &mut tar::Builder<Vec<u8>>,
    path: &str,
    kind: tar::EntryType,
    link: Option<&str>,
) -> io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(0);
    h.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
    h.set_mtime(1_700_000_000);
    h.set_uid(0);
    h.set_gid(0);
    match link {
        Some(l) => b.append_link(&mut h, path, l),
        None => b.append_data(&mut h, path, io::empty()),
    }
}

/// A path under `root` as a `PathBuf` (for tests).
#[doc(hidden)]
pub fn under(root: &Path, rel: &str) -> PathBuf {
    root.join(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_tar() -> Vec<u8> {
        tar_of(|b| {
            add_special(b, "etc/", tar::EntryType::Directory, None)?;
            add_file(b, "etc/hello", b"hello\n", 0o644)?;
            add_file(b, "bin/tool", &vec![7u8; 70_000], 0o755)?;
            add_special(b, "bin/link", tar::EntryType::Symlink, Some("tool"))?;
            add_special(b, "bin/hard", tar::EntryType::Link, Some("bin/tool"))?;
            add_file(b, &format!("deep/{}/f", "x".repeat(150)), b"long name", 0o600)?;
            add_special(b, "etc/.wh.gone", tar::EntryType::Regular, None)?;
            add_special(b, "opq/.wh..wh..opq", tar::EntryType::Regular, None)
        })
    }

    #[test]
    fn tar_split_round_trips_and_rebuilds_the_same_bytes() {
        let tar = sample_tar();
        let dir = tempfile::tempdir().expect("tempdir");
        let applied = apply(tar.as_slice(), dir.path(), Whiteouts::Delete).expect("apply");
        assert_eq!(applied.diff_id, Digest::of(&tar));
        assert_eq!(applied.tar_len, tar.len() as u64);
        assert_eq!(applied.size, 6 + 70_000 + 9 + 4);
        let mut out = Vec::new();
        let n = assemble(&applied.tar_split, dir.path(), &mut out).expect("assemble");
        assert_eq!(n, tar.len() as u64);
        assert!(out == tar, "rebuilt tar differs");
        assert_eq!(std::fs::read_link(dir.path().join("bin/link")).expect("link"), Path::new("tool"));
        assert_eq!(std::fs::read(dir.path().join("bin/hard")).expect("hard").len(), 70_000);
        assert!(!dir.path().join("etc/.wh.gone").exists());
    }

    #[test]
    fn compressed_layers_hash_their_uncompressed_bytes() {
        let tar = sample_tar();
        let gz = {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&tar).expect("gz");
            e.finish().expect("gz")
        };
        let zst = zstd::bulk::compress(&tar, 1).expect("zstd");
        for (name, data) in [("gzip", gz), ("zstd", zst)] {
            let dir = tempfile::tempdir().expect("tempdir");
            let applied = apply(data.as_slice(), dir.path(), Whiteouts::Delete).expect(name);
            assert_eq!(applied.diff_id, Digest::of(&tar), "{name}");
        }
        assert!(matches!(
            apply(&b"BZh91AY&SY"[..], tempfile::tempdir().expect("t").path(), Whiteouts::Delete),
            Err(TarError::Compression(Compression::Bzip2))
        ));
    }

    #[test]
    fn varints_and_segments_round_trip() {
        let split = TarSplit {
            segments: vec![
                Segment::Raw(vec![1; 1000]),
                Segment::File { path: "a/b".into(), size: u64::from(u32::MAX) + 5 },
                Segment::Raw(vec![]),
            ],
        };
        assert_eq!(TarSplit::decode(&split.encode()).expect("decode"), split);
        assert!(TarSplit::decode(b"garbage").is_err());
    }

    #[test]
    fn parent_paths_are_refused() {
        for bad in ["../x", "a/../../x", "a/.."] {
            assert!(normalize(Path::new(bad)).is_err(), "{bad}");
        }
        assert_eq!(normalize(Path::new("./a//b/")).expect("ok"), "a/b");
        assert_eq!(normalize(Path::new("/abs/x")).expect("ok"), "abs/x");
    }
}
