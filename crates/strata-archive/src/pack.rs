//! Packing a directory (or one path inside it) into a tar stream.
//!
//! Used for `docker cp` out of a container, `docker export`, `docker commit` (the read-write
//! layer's diff), `docker save` of layers without a tar-split, and volume backups. The walk is
//! fd-relative like the extractor's and never follows a symlink: a symlink is archived as a link,
//! even at the top. Entries come in sorted order with whole-second times and no user names, so
//! the same tree always packs to the same bytes (and the same diff id).
//!
//! Files linked more than once inside the packed tree are found by (device, inode) and archived
//! once, the later names as hardlink entries. With [`WhiteoutMode::Overlay`] the overlayfs forms
//! turn back into OCI whiteouts: a 0/0 character device `x` is archived as an empty `.wh.x`, a
//! directory with `trusted.overlay.opaque=y` as itself followed by `.wh..wh..opq`.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;
use sha2::Digest;

use crate::apply::{OVERLAY_OPAQUE_VALUE, OVERLAY_OPAQUE_XATTR, OVERLAY_XATTR_PREFIX};
use crate::error::lossy;
use crate::header::{self, BLOCK, EntryHeader};
use crate::name::{self, WHITEOUT_OPAQUE, WHITEOUT_PREFIX, Xattrs};
use crate::root::{self, Root, RootDir};
use crate::tarsplit::COPY_BUFFER;
use crate::{ArchiveError, Sha256Digest, WhiteoutMode};

/// Output is gathered up to this size before it is written (headers are 512-byte pieces).
const OUT_BUFFER: usize = 1 << 20;
/// First guess for the size of an xattr name list or value.
const XATTR_BUFFER: usize = 4096;
/// Largest xattr list or value we read (the kernel's limit for one value is 64 KiB).
const XATTR_BUFFER_MAX: usize = 16 << 20;
/// End of archive: two zero blocks.
const END_BLOCKS: usize = 2;
const PERM_MASK: u32 = 0o7777;
/// Mode of the `.wh..wh..opq` marker entry.
const OPAQUE_MARKER_MODE: u32 = 0o600;

/// What [`pack`] archives and how.
#[derive(Debug, Clone, Default)]
pub struct PackOptions {
    /// What to pack, relative to the root (absolute paths are taken inside the root too);
    /// empty or `/` packs the whole root.
    pub path: PathBuf,
    /// Name of the top entry in the archive (`GET /containers/x/archive?path=/etc/hosts` archives
    /// `hosts`). Defaults to the last component of `path`; for the whole root, `None` puts the
    /// root's children at the top of the archive with no entry for the root itself.
    pub name: Option<OsString>,
    pub whiteouts: WhiteoutMode,
    /// Paths (relative to the root) whose contents are left out: a directory is archived as an
    /// empty directory (as the mountpoint of a volume looks in `docker export`), anything else is
    /// left out entirely.
    pub excludes: Vec<PathBuf>,
    /// Do not descend into directories on another filesystem than the packed path (the mount
    /// points themselves are archived, empty).
    pub one_file_system: bool,
}

/// What [`pack`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackReport {
    /// Entries written (PAX headers not counted).
    pub entries: u64,
    /// Bytes of regular-file contents.
    pub size: u64,
    /// Bytes of the whole stream.
    pub stream_len: u64,
    /// sha256 of the stream: the diff id when the output is a layer.
    pub digest: Sha256Digest,
}

/// Writes `options.path` inside `root` to `writer` as a tar stream.
pub fn pack<'a, W: Write>(
    root: impl Into<RootDir<'a>>,
    options: &PackOptions,
    writer: W,
) -> Result<PackReport, ArchiveError> {
    let root = Root::open(root.into())?;
    let mut source = Vec::new();
    name::normalize(options.path.as_os_str().as_bytes(), &mut source).map_err(|e| ArchiveError::Pack {
        path: options.path.display().to_string(),
        op: "resolve",
        source: io::Error::new(io::ErrorKind::InvalidInput, e.reason()),
    })?;
    let mut excludes = HashSet::new();
    for path in &options.excludes {
        let mut normalized = Vec::new();
        if name::normalize(path.as_os_str().as_bytes(), &mut normalized).is_ok() {
            excludes.insert(normalized);
        }
    }
    let mut packer = Packer {
        options,
        out: Out { inner: writer, hasher: sha2::Sha256::new(), written: 0, pending: Vec::with_capacity(OUT_BUFFER) },
        buf: vec![0; COPY_BUFFER],
        header: Vec::with_capacity(2 * BLOCK),
        links: HashMap::new(),
        excludes,
        top_dev: 0,
        entries: 0,
        size: 0,
        xattr_buf: vec![0; XATTR_BUFFER],
    };
    packer.run(&root, &source)?;
    packer.out.push(&[0; END_BLOCKS * BLOCK])?;
    packer.out.flush()?;
    Ok(PackReport {
        entries: packer.entries,
        size: packer.size,
        stream_len: packer.out.written,
        digest: Sha256Digest::from_hasher(packer.out.hasher),
    })
}

/// The output: buffered, hashed, counted.
struct Out<W> {
    inner: W,
    hasher: sha2::Sha256,
    written: u64,
    pending: Vec<u8>,
}

impl<W: Write> Out<W> {
    fn push(&mut self, bytes: &[u8]) -> Result<(), ArchiveError> {
        if self.pending.len() + bytes.len() > OUT_BUFFER {
            self.flush_pending()?;
        }
        if bytes.len() >= OUT_BUFFER {
            self.write_through(bytes)
        } else {
            self.pending.extend_from_slice(bytes);
            Ok(())
        }
    }

    fn write_through(&mut self, bytes: &[u8]) -> Result<(), ArchiveError> {
        self.hasher.update(bytes);
        self.inner.write_all(bytes).map_err(|source| ArchiveError::Write { source })?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn flush_pending(&mut self) -> Result<(), ArchiveError> {
        let pending = std::mem::take(&mut self.pending);
        let result = self.write_through(&pending);
        self.pending = pending;
        self.pending.clear();
        result
    }

    fn flush(&mut self) -> Result<(), ArchiveError> {
        self.flush_pending()?;
        self.inner.flush().map_err(|source| ArchiveError::Write { source })
    }
}

/// A directory being walked.
struct Frame {
    fd: OwnedFd,
    names: std::vec::IntoIter<Vec<u8>>,
    /// Path relative to the root.
    rel: Vec<u8>,
    /// Name in the archive, without the trailing slash (empty at the top of an unnamed root).
    arch: Vec<u8>,
}

struct Packer<'o, W> {
    options: &'o PackOptions,
    out: Out<W>,
    buf: Vec<u8>,
    header: Vec<u8>,
    /// First archive name of each multiply-linked inode.
    links: HashMap<(u64, u64), Vec<u8>>,
    excludes: HashSet<Vec<u8>>,
    top_dev: u64,
    entries: u64,
    size: u64,
    xattr_buf: Vec<u8>,
}

/// Where to read a node's xattrs from.
#[derive(Clone, Copy)]
enum XattrSource<'a> {
    Fd(BorrowedFd<'a>),
    Child(BorrowedFd<'a>, &'a [u8]),
}

impl<W: Write> Packer<'_, W> {
    fn run(&mut self, root: &Root, source: &[u8]) -> Result<(), ArchiveError> {
        let err = |op: &'static str| move |e: io::Error| ArchiveError::Pack { path: lossy(source), op, source: e };
        let mut stack = Vec::new();
        if source.is_empty() {
            let fd = root
                .open_in_root(b"", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, ResolveFlags::empty())
                .map_err(err("open"))?;
            let stat = rustix::fs::fstat(&fd).map_err(|e| err("stat")(e.into()))?;
            self.top_dev = stat.st_dev;
            match &self.options.name {
                Some(top) => {
                    let top = top.as_bytes().to_vec();
                    if let Some(frame) = self.directory(fd, &stat, b"", &top)? {
                        stack.push(frame);
                    }
                }
                None => {
                    let names = sorted_names(fd.as_fd()).map_err(err("list"))?;
                    stack.push(Frame { fd, names: names.into_iter(), rel: Vec::new(), arch: Vec::new() });
                }
            }
        } else {
            let (parent, base) = name::split_parent(source);
            let dir = root.open_dir(parent).map_err(err("open parent of"))?;
            let stat = rustix::fs::statat(&dir, base, AtFlags::SYMLINK_NOFOLLOW).map_err(|e| err("stat")(e.into()))?;
            self.top_dev = stat.st_dev;
            let arch = self.options.name.as_ref().map_or_else(|| base.to_vec(), |n| n.as_bytes().to_vec());
            if let Some(frame) = self.node(dir.as_fd(), base, source, &arch, &stat)? {
                stack.push(frame);
            }
        }
        let mut rel = Vec::new();
        let mut arch = Vec::new();
        while let Some(frame) = stack.last_mut() {
            let Some(base) = frame.names.next() else {
                stack.pop();
                continue;
            };
            name::join(&frame.rel, &base, &mut rel);
            name::join(&frame.arch, &base, &mut arch);
            let dir = frame.fd.as_fd();
            let stat = match rustix::fs::statat(dir, base.as_slice(), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(stat) => stat,
                // Removed while we walk (a running container): it is simply not in the archive.
                Err(Errno::NOENT) => continue,
                Err(e) => return Err(ArchiveError::Pack { path: lossy(&rel), op: "stat", source: e.into() }),
            };
            if let Some(child) = self.node(dir, &base, &rel, &arch, &stat)? {
                stack.push(child);
            }
        }
        Ok(())
    }

    /// Archives one node; returns the frame to walk when it is a directory to descend into.
    fn node(
        &mut self,
        dir: BorrowedFd<'_>,
        base: &[u8],
        rel: &[u8],
        arch: &[u8],
        stat: &Stat,
    ) -> Result<Option<Frame>, ArchiveError> {
        let err = |op: &'static str| move |e: io::Error| ArchiveError::Pack { path: lossy(rel), op, source: e };
        let file_type = FileType::from_raw_mode(stat.st_mode);
        let excluded = self.excludes.contains(rel);
        match file_type {
            FileType::Directory => {
                let fd = rustix::fs::openat(
                    dir,
                    base,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| err("open")(e.into()))?;
                let stat = rustix::fs::fstat(&fd).map_err(|e| err("stat")(e.into()))?;
                let frame = self.directory(fd, &stat, rel, arch)?;
                Ok(frame.filter(|_| !excluded))
            }
            _ if excluded => Ok(None),
            FileType::RegularFile => {
                if self.hardlink(stat, arch)? {
                    return Ok(None);
                }
                self.file(dir, base, rel, arch)?;
                Ok(None)
            }
            FileType::Symlink => {
                if self.hardlink(stat, arch)? {
                    return Ok(None);
                }
                let target = rustix::fs::readlinkat(dir, base, Vec::new()).map_err(|e| err("read link")(e.into()))?;
                let xattrs = self.xattrs(XattrSource::Child(dir, base)).map_err(err("read xattrs of"))?.1;
                self.emit(&EntryHeader {
                    link: target.as_bytes(),
                    xattrs: &xattrs,
                    ..stat_header(arch, header::TYPE_SYMLINK, stat)
                })?;
                self.remember_link(stat, arch);
                Ok(None)
            }
            FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo => {
                let dev = (rustix::fs::major(stat.st_rdev), rustix::fs::minor(stat.st_rdev));
                if file_type == FileType::CharacterDevice
                    && dev == (0, 0)
                    && self.options.whiteouts == WhiteoutMode::Overlay
                {
                    let (parent, last) = name::split_parent(arch);
                    let mut whiteout = WHITEOUT_PREFIX.to_vec();
                    whiteout.extend_from_slice(last);
                    let mut wh_name = Vec::new();
                    name::join(parent, &whiteout, &mut wh_name);
                    return self.emit(&stat_header(&wh_name, header::TYPE_REGULAR, stat)).map(|()| None);
                }
                if self.hardlink(stat, arch)? {
                    return Ok(None);
                }
                let typeflag = match file_type {
                    FileType::CharacterDevice => header::TYPE_CHAR,
                    FileType::BlockDevice => header::TYPE_BLOCK,
                    _ => header::TYPE_FIFO,
                };
                let xattrs = self.xattrs(XattrSource::Child(dir, base)).map_err(err("read xattrs of"))?.1;
                self.emit(&EntryHeader { dev, xattrs: &xattrs, ..stat_header(arch, typeflag, stat) })?;
                self.remember_link(stat, arch);
                Ok(None)
            }
            _ => {
                tracing::debug!(path = %lossy(rel), "not archiving a socket or unknown file type");
                Ok(None)
            }
        }
    }

    /// Archives directory `fd` and returns its frame, unless the walk must not descend.
    fn directory(&mut self, fd: OwnedFd, stat: &Stat, rel: &[u8], arch: &[u8]) -> Result<Option<Frame>, ArchiveError> {
        let err = |op: &'static str| move |e: io::Error| ArchiveError::Pack { path: lossy(rel), op, source: e };
        let (opaque, xattrs) = self.xattrs(XattrSource::Fd(fd.as_fd())).map_err(err("read xattrs of"))?;
        let mut dir_name = arch.to_vec();
        dir_name.push(b'/');
        self.emit(&EntryHeader { xattrs: &xattrs, ..stat_header(&dir_name, header::TYPE_DIR, stat) })?;
        if opaque && self.options.whiteouts == WhiteoutMode::Overlay {
            dir_name.extend_from_slice(WHITEOUT_OPAQUE);
            let mut marker = *stat;
            marker.st_mode = OPAQUE_MARKER_MODE;
            self.emit(&stat_header(&dir_name, header::TYPE_REGULAR, &marker))?;
        }
        if self.options.one_file_system && stat.st_dev != self.top_dev {
            return Ok(None);
        }
        let names = sorted_names(fd.as_fd()).map_err(err("list"))?;
        Ok(Some(Frame { fd, names: names.into_iter(), rel: rel.to_vec(), arch: arch.to_vec() }))
    }

    fn file(&mut self, dir: BorrowedFd<'_>, base: &[u8], rel: &[u8], arch: &[u8]) -> Result<(), ArchiveError> {
        let err = |op: &'static str| move |e: io::Error| ArchiveError::Pack { path: lossy(rel), op, source: e };
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = match rustix::fs::openat(dir, base, flags | OFlags::NOATIME, Mode::empty()) {
            Err(Errno::PERM) => rustix::fs::openat(dir, base, flags, Mode::empty()),
            other => other,
        }
        .map_err(|e| err("open")(e.into()))?;
        let stat = rustix::fs::fstat(&fd).map_err(|e| err("stat")(e.into()))?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            // Swapped for something else since the directory was listed.
            return Ok(());
        }
        let xattrs = self.xattrs(XattrSource::Fd(fd.as_fd())).map_err(err("read xattrs of"))?.1;
        let size = u64::try_from(stat.st_size).unwrap_or(0);
        self.emit(&EntryHeader { size, xattrs: &xattrs, ..stat_header(arch, header::TYPE_REGULAR, &stat) })?;
        let mut file = std::fs::File::from(fd);
        let mut left = size;
        while left > 0 {
            let want = usize::try_from(left).unwrap_or(usize::MAX).min(self.buf.len());
            let n = match file.read(&mut self.buf[..want]) {
                Ok(0) => {
                    // The file shrank while being read; the header is out, so keep the stream
                    // valid by padding with zeros, as GNU tar does.
                    tracing::warn!(path = %lossy(rel), missing = left, "file shrank while packing, padded with zeros");
                    let n = want;
                    self.buf[..n].fill(0);
                    n
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(err("read")(e)),
            };
            self.out.push(&self.buf[..n])?;
            left -= n as u64;
        }
        self.out.push(&[0; BLOCK][..header::padding(size)])?;
        self.size += size;
        self.remember_link(&stat, arch);
        Ok(())
    }

    /// Emits a hardlink entry if this inode was archived before under another name.
    fn hardlink(&mut self, stat: &Stat, arch: &[u8]) -> Result<bool, ArchiveError> {
        if stat.st_nlink <= 1 {
            return Ok(false);
        }
        let Some(first) = self.links.get(&(stat.st_dev, stat.st_ino)).cloned() else {
            return Ok(false);
        };
        self.emit(&EntryHeader { link: &first, ..stat_header(arch, header::TYPE_HARDLINK, stat) })?;
        Ok(true)
    }

    fn remember_link(&mut self, stat: &Stat, arch: &[u8]) {
        if stat.st_nlink > 1 {
            self.links.entry((stat.st_dev, stat.st_ino)).or_insert_with(|| arch.to_vec());
        }
    }

    /// Writes the header blocks of one entry.
    fn emit(&mut self, entry: &EntryHeader<'_>) -> Result<(), ArchiveError> {
        self.header.clear();
        header::encode(entry, &mut self.header);
        self.entries += 1;
        let header = std::mem::take(&mut self.header);
        let result = self.out.push(&header);
        self.header = header;
        result
    }

    /// The xattrs to archive, sorted, and whether the node is an overlayfs opaque directory.
    /// `trusted.overlay.*` is never archived: it describes this host's overlay mount, not the
    /// file.
    fn xattrs(&mut self, source: XattrSource<'_>) -> io::Result<(bool, Xattrs)> {
        let list = match read_xattr(source, None, &mut self.xattr_buf) {
            Ok(list) => list,
            Err(e) if e.raw_os_error() == Some(Errno::NOTSUP.raw_os_error()) => return Ok((false, Vec::new())),
            Err(e) => return Err(e),
        };
        if list.is_empty() {
            return Ok((false, Vec::new()));
        }
        let mut opaque = false;
        let mut out = Vec::new();
        for key in list.split(|&b| b == 0).filter(|k| !k.is_empty()) {
            let value = match read_xattr(source, Some(key), &mut self.xattr_buf) {
                Ok(value) => value,
                // Removed between list and get.
                Err(e) if e.raw_os_error() == Some(Errno::NODATA.raw_os_error()) => continue,
                Err(e) => return Err(e),
            };
            if key.starts_with(OVERLAY_XATTR_PREFIX) {
                opaque |= key == OVERLAY_OPAQUE_XATTR.as_bytes() && value == OVERLAY_OPAQUE_VALUE;
                continue;
            }
            if key.contains(&b'=') {
                tracing::warn!(xattr = %lossy(key), "xattr name holds '=', which PAX cannot carry; skipped");
                continue;
            }
            out.push((key.to_vec(), value));
        }
        out.sort();
        Ok((opaque, out))
    }
}

/// The header of `arch` with the type, mode, owner and time of `stat`; no contents, link,
/// device numbers or xattrs until the caller says so.
fn stat_header<'a>(arch: &'a [u8], typeflag: u8, stat: &Stat) -> EntryHeader<'a> {
    EntryHeader {
        name: arch,
        typeflag,
        mode: stat.st_mode & PERM_MASK,
        uid: u64::from(stat.st_uid),
        gid: u64::from(stat.st_gid),
        size: 0,
        mtime: stat.st_mtime,
        link: b"",
        dev: (0, 0),
        xattrs: &[],
    }
}

/// Reads the xattr name list (`key == None`) or one value, growing `buf` as needed.
fn read_xattr(source: XattrSource<'_>, key: Option<&[u8]>, buf: &mut Vec<u8>) -> io::Result<Vec<u8>> {
    loop {
        let result = match (source, key) {
            (XattrSource::Fd(fd), None) => rustix::fs::flistxattr(fd, &mut buf[..]),
            (XattrSource::Fd(fd), Some(key)) => rustix::fs::fgetxattr(fd, key, &mut buf[..]),
            (XattrSource::Child(dir, base), None) => {
                rustix::fs::llistxattr(root::proc_child_path(dir, base), &mut buf[..])
            }
            (XattrSource::Child(dir, base), Some(key)) => {
                rustix::fs::lgetxattr(root::proc_child_path(dir, base), key, &mut buf[..])
            }
        };
        match result {
            Ok(n) => return Ok(buf[..n].to_vec()),
            Err(Errno::RANGE) if buf.len() < XATTR_BUFFER_MAX => {
                let bigger = buf.len() * 2;
                buf.resize(bigger, 0);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn sorted_names(dir: BorrowedFd<'_>) -> io::Result<Vec<Vec<u8>>> {
    let mut names = root::read_dir_names(dir)?;
    names.sort_unstable();
    Ok(names)
}
