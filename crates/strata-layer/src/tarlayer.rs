//! The layer store's side of tar: applying a layer tar into a layer directory, rebuilding the
//! identical tar later, and packing a container's changes — all through `strata-archive`, the one
//! tar engine of strata (confined extraction, whiteout conversion, tar-split reassembly, packing).
//!
//! What the layer store relies on:
//!
//! - [`apply`] reads the (possibly gzip or zstd compressed) stream once, hashing the uncompressed
//!   bytes as they pass (the diff id: no second pass over the data), writes every entry *inside*
//!   the layer directory, converts whiteouts for the driver, flushes the filesystem (`syncfs`)
//!   before returning, and hands back the diff id, the size and the encoded **tar-split**;
//! - [`assemble`] writes the original tar back from the tar-split and the files, byte for byte, so
//!   `docker save` reproduces tars whose sha256 is the image's `rootfs.diff_ids`;
//! - [`pack_changes`] writes a container's changes as a layer tar with OCI whiteouts.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use strata_archive::{
    ApplyOptions, ArchiveError, Ownership, PackOptions, Segment, StreamRecord, TarSplit, WhiteoutMode,
};

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

impl Whiteouts {
    fn mode(self) -> WhiteoutMode {
        match self {
            Whiteouts::Overlay => WhiteoutMode::Overlay,
            Whiteouts::Delete => WhiteoutMode::Delete,
        }
    }
}

/// What [`apply`] found.
#[derive(Debug, Clone)]
pub struct Applied {
    pub diff_id: DiffId,
    /// Bytes the layer's files take: regular file contents plus symlink targets, hardlinks once
    /// (Docker's layer size, which it gets by walking the layer).
    pub size: u64,
    /// The tar-split, encoded.
    pub tar_split: Vec<u8>,
    /// Bytes of the uncompressed tar.
    pub tar_len: u64,
}

/// Errors of applying, rebuilding or packing a layer.
#[derive(Debug, thiserror::Error)]
pub enum TarError {
    #[error("{0}")]
    Archive(#[from] ArchiveError),
    #[error("{op} {path}: {source}")]
    Io { op: &'static str, path: PathBuf, source: io::Error },
}

impl TarError {
    /// Whether the input was at fault (a bad or hostile tar), not the machine.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, TarError::Archive(e) if e.is_bad_input())
    }
}

/// Applies the layer tar `input` (uncompressed, gzip or zstd) into `root` and flushes it.
pub fn apply(input: impl Read, root: &Path, whiteouts: Whiteouts) -> Result<Applied, TarError> {
    let stream = strata_archive::decompress(input)?;
    let options = ApplyOptions {
        whiteouts: whiteouts.mode(),
        ownership: Ownership::FromArchive,
        no_overwrite_dir_non_dir: false,
        sync: true,
        writeback: false,
        record: StreamRecord::Keep,
    };
    let report = strata_archive::apply(stream, root, &options)?;
    let (Some(diff_id), Some(tar_split)) = (report.diff_id, report.tar_split) else {
        unreachable!("apply records the diff id and the tar-split when asked to")
    };
    let size = report.size + symlink_bytes(&tar_split);
    Ok(Applied {
        diff_id: Digest::from_sha256(&diff_id.0),
        size,
        tar_split: tar_split.encode()?,
        tar_len: report.stream_len,
    })
}

/// Writes the tar described by `tar_split` to `out`, reading file contents under `root`.
pub fn assemble(tar_split: &[u8], root: &Path, out: &mut dyn Write) -> Result<u64, TarError> {
    let split = TarSplit::decode(tar_split)?;
    Ok(strata_archive::reassemble(&split, root, out)?.bytes)
}

/// A reader of the uncompressed stream under `input` (gzip and zstd are recognised by their
/// magic bytes).
pub fn decompressed<R: Read>(input: R) -> Result<impl Read, TarError> {
    Ok(strata_archive::decompress(input)?)
}

/// The length of the tar an encoded tar-split rebuilds.
pub fn tar_len(tar_split: &[u8]) -> Result<u64, TarError> {
    Ok(TarSplit::decode(tar_split)?.stream_len())
}

/// Writes the layer whose own files are the overlay upper directory `upper` as a layer tar:
/// 0/0 character devices become `.wh.<name>`, opaque directories get `.wh..wh..opq`.
pub fn pack_upper(upper: &Path, out: &mut dyn Write) -> Result<(), TarError> {
    let options = PackOptions { whiteouts: WhiteoutMode::Overlay, ..PackOptions::default() };
    strata_archive::pack(upper, &options, out)?;
    Ok(())
}

/// Writes `changes` of a full-copy layer under `root` as a layer tar. The changes are first laid
/// out as an overlay-style diff in `scratch` (hardlinks to the changed files, 0/0 devices for
/// deletions: no data is copied), which is then packed like an upper directory.
pub fn pack_changes(
    root: &Path,
    changes: &[crate::driver::Change],
    scratch: &Path,
    out: &mut dyn Write,
) -> Result<(), TarError> {
    use crate::driver::ChangeKind;
    let ioe = |op: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source: io::Error| TarError::Io { op, path, source }
    };
    std::fs::create_dir_all(scratch).map_err(ioe("create", scratch))?;
    let result = (|| {
        for c in changes {
            let rel = c.path.trim_start_matches('/');
            let src = root.join(rel);
            let dst = scratch.join(rel);
            if let Some(parent) = dst.parent() {
                std::fs::create_dir_all(parent).map_err(ioe("create", parent))?;
            }
            match c.kind {
                ChangeKind::Deleted => {
                    rustix::fs::mknodat(
                        rustix::fs::CWD,
                        &dst,
                        rustix::fs::FileType::CharacterDevice,
                        rustix::fs::Mode::empty(),
                        rustix::fs::makedev(0, 0),
                    )
                    .map_err(|e| TarError::Io {
                        op: "whiteout",
                        path: dst.clone(),
                        source: e.into(),
                    })?;
                }
                ChangeKind::Added | ChangeKind::Modified => {
                    let md = std::fs::symlink_metadata(&src).map_err(ioe("stat", &src))?;
                    if md.is_dir() {
                        if !dst.exists() {
                            std::fs::create_dir(&dst).map_err(ioe("create", &dst))?;
                        }
                        rustix::fs::chown(
                            &dst,
                            Some(rustix::fs::Uid::from_raw(md.uid())),
                            Some(rustix::fs::Gid::from_raw(md.gid())),
                        )
                        .map_err(|e| TarError::Io {
                            op: "chown",
                            path: dst.clone(),
                            source: e.into(),
                        })?;
                        std::fs::set_permissions(
                            &dst,
                            std::os::unix::fs::PermissionsExt::from_mode(md.mode() & 0o7777),
                        )
                        .map_err(ioe("chmod", &dst))?;
                    } else {
                        std::fs::hard_link(&src, &dst).map_err(ioe("link", &src))?;
                    }
                }
            }
        }
        pack_upper(scratch, out)
    })();
    let _ = std::fs::remove_dir_all(scratch);
    result
}

/// Bytes of symlink targets in the layer a tar-split describes (`du`, and so Docker's layer size,
/// counts a symlink as the length of its target). Read from the recorded headers; the contents
/// are skipped by seeking, never read.
fn symlink_bytes(split: &TarSplit) -> u64 {
    let mut stream = HeadersOnly::new(split.segments());
    let mut archive = tar::Archive::new(&mut stream);
    let mut total = 0u64;
    if let Ok(entries) = archive.entries_with_seek() {
        for entry in entries.flatten() {
            if entry.header().entry_type().is_symlink() {
                total += entry.link_name_bytes().map_or(0, |l| l.len() as u64);
            }
        }
    }
    total
}

/// The stream of a tar-split with every file's contents read as zeros (only headers matter).
struct HeadersOnly<'a> {
    segments: &'a [Segment],
    starts: Vec<u64>,
    len: u64,
    pos: u64,
}

impl<'a> HeadersOnly<'a> {
    fn new(segments: &'a [Segment]) -> HeadersOnly<'a> {
        let mut starts = Vec::with_capacity(segments.len());
        let mut at = 0u64;
        for s in segments {
            starts.push(at);
            at += match s {
                Segment::Raw(b) => b.len() as u64,
                Segment::File { size, .. } => *size,
            };
        }
        HeadersOnly { segments, starts, len: at, pos: 0 }
    }
}

impl Read for HeadersOnly<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let i = match self.starts.binary_search(&self.pos) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let off = self.pos - self.starts[i];
        let n = match &self.segments[i] {
            Segment::Raw(b) => {
                let avail = &b[off as usize..];
                let n = avail.len().min(buf.len());
                buf[..n].copy_from_slice(&avail[..n]);
                n
            }
            Segment::File { size, .. } => {
                let n = ((size - off) as usize).min(buf.len());
                buf[..n].fill(0);
                n
            }
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for HeadersOnly<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => n as i128,
            SeekFrom::Current(d) => self.pos as i128 + d as i128,
            SeekFrom::End(d) => self.len as i128 + d as i128,
        };
        self.pos = u64::try_from(target.max(0)).unwrap_or(0);
        Ok(self.pos)
    }
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
    fn layers_rebuild_bit_exact_and_sizes_count_like_du() {
        let tar = sample_tar();
        let dir = tempfile::tempdir().expect("tempdir");
        let applied = apply(tar.as_slice(), dir.path(), Whiteouts::Delete).expect("apply");
        assert_eq!(applied.diff_id, Digest::of(&tar));
        assert_eq!(applied.tar_len, tar.len() as u64);
        // Regular contents plus the 4 bytes of the symlink's target; the hardlink counts once.
        assert_eq!(applied.size, 6 + 70_000 + 9 + 4);
        let mut out = Vec::new();
        let n = assemble(&applied.tar_split, dir.path(), &mut out).expect("assemble");
        assert_eq!(n, tar.len() as u64);
        assert!(out == tar, "rebuilt tar differs");
        assert_eq!(tar_len(&applied.tar_split).expect("len"), tar.len() as u64);
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
        let err =
            apply(&b"BZh91AY&SY"[..], tempfile::tempdir().expect("t").path(), Whiteouts::Delete).expect_err("bzip2");
        assert!(err.is_bad_input(), "{err}");
    }
}
