//! Tar-split: rebuilding the exact bytes of an applied tar stream from the extracted files.
//!
//! A layer is identified by the sha256 of its uncompressed tar (the diff id). After extraction
//! only the files remain, and a tar written afresh from them would not hash the same (header
//! formats, field encodings, entry order, padding all vary between writers). So while applying,
//! everything of the stream except regular-file contents is recorded: headers, PAX and GNU
//! extension headers, padding, the end-of-archive blocks and whatever trails them. Reassembly
//! interleaves that record with the contents read back from disk, confined to the root like the
//! extraction was.
//!
//! Entries that do not land on disk as regular files (whiteouts turned into char devices,
//! hardlinks, devices, skipped AUFS metadata, sparse files) keep their bytes in the record, so
//! the extracted form may differ from the archived form. A file that a later entry of the same
//! archive replaced is read back into the record before it is removed.
//!
//! Encoded form (version 1): the magic `STRATA-TARSPLIT`, a version byte, then one zstd frame
//! holding records `0x01 len bytes` (raw), `0x02 len path size` (file), and `0x00 count length`
//! (end, with the number of segments and the stream length as a check); integers are LEB128.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use rustix::fs::OFlags;
use sha2::Digest;

use crate::error::lossy;
use crate::root::{Root, RootDir};
use crate::{ArchiveError, Sha256Digest};

const MAGIC: &[u8] = b"STRATA-TARSPLIT";
const VERSION: u8 = 1;
const TAG_END: u8 = 0;
const TAG_RAW: u8 = 1;
const TAG_FILE: u8 = 2;
/// zstd level of the encoded record: headers are mostly zeros, level 3 already gets ~20x.
const ZSTD_LEVEL: i32 = 3;
/// Buffer for streaming file contents back.
pub(crate) const COPY_BUFFER: usize = 1 << 20;

/// One piece of the original stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Bytes stored in the record itself.
    Raw(Vec<u8>),
    /// `size` bytes of contents to read from the regular file at `path` (relative to the root).
    File { path: Vec<u8>, size: u64 },
}

/// The record needed to rebuild a tar stream byte for byte from its extracted files.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TarSplit {
    segments: Vec<Segment>,
}

impl TarSplit {
    /// The segments, in stream order.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The length of the stream this record rebuilds.
    pub fn stream_len(&self) -> u64 {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Raw(bytes) => bytes.len() as u64,
                Segment::File { size, .. } => *size,
            })
            .sum()
    }

    /// The versioned, compressed binary form, for storing next to a layer.
    pub fn encode(&self) -> Result<Vec<u8>, ArchiveError> {
        let mut body = Vec::new();
        for segment in &self.segments {
            match segment {
                Segment::Raw(bytes) => {
                    body.push(TAG_RAW);
                    put_varint(&mut body, bytes.len() as u64);
                    body.extend_from_slice(bytes);
                }
                Segment::File { path, size } => {
                    body.push(TAG_FILE);
                    put_varint(&mut body, path.len() as u64);
                    body.extend_from_slice(path);
                    put_varint(&mut body, *size);
                }
            }
        }
        body.push(TAG_END);
        put_varint(&mut body, self.segments.len() as u64);
        put_varint(&mut body, self.stream_len());
        let mut out = Vec::with_capacity(MAGIC.len() + 1 + body.len() / 8);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        zstd::stream::copy_encode(&body[..], &mut out, ZSTD_LEVEL)
            .map_err(|source| ArchiveError::EncodeTarSplit { source })?;
        Ok(out)
    }

    /// Reads back what [`TarSplit::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<TarSplit, ArchiveError> {
        let invalid = |reason: &str| ArchiveError::InvalidTarSplit { reason: reason.to_owned() };
        let rest = bytes.strip_prefix(MAGIC).ok_or_else(|| invalid("bad magic"))?;
        let (&version, compressed) = rest.split_first().ok_or_else(|| invalid("missing version"))?;
        if version != VERSION {
            return Err(invalid(&format!("unknown version {version}")));
        }
        let body = zstd::stream::decode_all(compressed).map_err(|e| invalid(&format!("cannot decompress: {e}")))?;
        let mut cursor = &body[..];
        let mut segments = Vec::new();
        loop {
            let (&tag, rest) = cursor.split_first().ok_or_else(|| invalid("missing end record"))?;
            cursor = rest;
            match tag {
                TAG_RAW => {
                    let bytes = take_bytes(&mut cursor).ok_or_else(|| invalid("truncated raw segment"))?;
                    segments.push(Segment::Raw(bytes.to_vec()));
                }
                TAG_FILE => {
                    let path = take_bytes(&mut cursor).ok_or_else(|| invalid("truncated file segment"))?;
                    let size = take_varint(&mut cursor).ok_or_else(|| invalid("truncated file segment"))?;
                    if path.is_empty() || path.contains(&0) {
                        return Err(invalid("file segment with an empty path or a NUL byte"));
                    }
                    segments.push(Segment::File { path: path.to_vec(), size });
                }
                TAG_END => {
                    let count = take_varint(&mut cursor).ok_or_else(|| invalid("truncated end record"))?;
                    let len = take_varint(&mut cursor).ok_or_else(|| invalid("truncated end record"))?;
                    let split = TarSplit { segments };
                    if count != split.segments.len() as u64 || len != split.stream_len() || !cursor.is_empty() {
                        return Err(invalid("end record does not match the segments"));
                    }
                    return Ok(split);
                }
                other => return Err(invalid(&format!("unknown record tag {other}"))),
            }
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    const LOW_BITS: u64 = 0x7f;
    const MORE: u8 = 0x80;
    while value > LOW_BITS {
        out.push((value & LOW_BITS) as u8 | MORE);
        value >>= 7;
    }
    out.push(value as u8);
}

fn take_varint(cursor: &mut &[u8]) -> Option<u64> {
    const MAX_SHIFT: u32 = 63;
    let mut value: u64 = 0;
    let mut shift = 0;
    loop {
        let (&byte, rest) = cursor.split_first()?;
        *cursor = rest;
        let low = u64::from(byte & 0x7f);
        if shift > MAX_SHIFT || (shift == MAX_SHIFT && low > 1) {
            return None;
        }
        value |= low << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
        shift += 7;
    }
}

fn take_bytes<'a>(cursor: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = usize::try_from(take_varint(cursor)?).ok()?;
    if len > cursor.len() {
        return None;
    }
    let (bytes, rest) = cursor.split_at(len);
    *cursor = rest;
    Some(bytes)
}

/// Builds a [`TarSplit`] while an archive is applied.
#[derive(Debug, Default)]
pub(crate) struct SplitBuilder {
    segments: Vec<Segment>,
    /// Where each extracted file's segment is, by physical path, to save its contents if a later
    /// entry removes it.
    files: BTreeMap<Vec<u8>, usize>,
}

impl SplitBuilder {
    pub(crate) fn push_raw(&mut self, bytes: Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        match self.segments.last_mut() {
            Some(Segment::Raw(last)) => last.extend_from_slice(&bytes),
            _ => self.segments.push(Segment::Raw(bytes)),
        }
    }

    pub(crate) fn push_file(&mut self, path: &[u8], size: u64) {
        self.files.insert(path.to_vec(), self.segments.len());
        self.segments.push(Segment::File { path: path.to_vec(), size });
    }

    /// Turns the file segments at `path` or below it into raw segments holding their contents,
    /// read from disk now, before the files are removed or replaced.
    pub(crate) fn preserve_under(&mut self, root: &Root, path: &[u8], buf: &mut [u8]) -> io::Result<()> {
        if self.files.is_empty() {
            return Ok(());
        }
        let hit: Vec<Vec<u8>> = self
            .files
            .range(path.to_vec()..)
            .take_while(|(k, _)| k.starts_with(path))
            .filter(|(k, _)| k.len() == path.len() || k[path.len()] == b'/')
            .map(|(k, _)| k.clone())
            .collect();
        for key in hit {
            let Some(index) = self.files.remove(&key) else { continue };
            let Some(Segment::File { path: file, size }) = self.segments.get(index) else { continue };
            let mut contents = Vec::with_capacity(usize::try_from(*size).unwrap_or(0));
            let mut sink = io::Cursor::new(&mut contents);
            copy_file_contents(root, file, *size, &mut sink, buf, None).map_err(|e| match e {
                ArchiveError::Reassemble { source, .. } => source,
                other => io::Error::other(other.to_string()),
            })?;
            self.segments[index] = Segment::Raw(contents);
        }
        Ok(())
    }

    pub(crate) fn finish(mut self, trailing: Vec<u8>) -> TarSplit {
        self.push_raw(trailing);
        TarSplit { segments: self.segments }
    }
}

/// What [`reassemble`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassembleReport {
    /// Bytes written.
    pub bytes: u64,
    /// sha256 of the bytes written: equal to the diff id of the applied stream when nothing
    /// changed on disk.
    pub digest: Sha256Digest,
}

/// Writes the original tar stream of `split`, reading file contents from `root`.
pub fn reassemble<'a, W: Write>(
    split: &TarSplit,
    root: impl Into<RootDir<'a>>,
    mut writer: W,
) -> Result<ReassembleReport, ArchiveError> {
    let root = Root::open(root.into())?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; COPY_BUFFER];
    let mut bytes = 0;
    for segment in &split.segments {
        match segment {
            Segment::Raw(raw) => {
                hasher.update(raw);
                writer.write_all(raw).map_err(|source| ArchiveError::Write { source })?;
                bytes += raw.len() as u64;
            }
            Segment::File { path, size } => {
                copy_file_contents(&root, path, *size, &mut writer, &mut buf, Some(&mut hasher))?;
                bytes += size;
            }
        }
    }
    writer.flush().map_err(|source| ArchiveError::Write { source })?;
    Ok(ReassembleReport { bytes, digest: Sha256Digest::from_hasher(hasher) })
}

/// Copies exactly `size` bytes of the regular file `path` inside `root` into `writer`.
fn copy_file_contents<W: Write>(
    root: &Root,
    path: &[u8],
    size: u64,
    writer: &mut W,
    buf: &mut [u8],
    mut hasher: Option<&mut sha2::Sha256>,
) -> Result<(), ArchiveError> {
    let err = |op: &'static str| move |source: io::Error| ArchiveError::Reassemble { path: lossy(path), op, source };
    let fd = root
        .open_in_root(path, OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC, rustix::fs::ResolveFlags::empty())
        .map_err(err("open"))?;
    let stat = rustix::fs::fstat(&fd).map_err(|e| err("stat")(e.into()))?;
    let found = u64::try_from(stat.st_size).unwrap_or(0);
    if rustix::fs::FileType::from_raw_mode(stat.st_mode) != rustix::fs::FileType::RegularFile || found != size {
        return Err(ArchiveError::ReassembleChanged { path: lossy(path), expected: size, found });
    }
    let mut file = std::fs::File::from(fd);
    let mut left = size;
    while left > 0 {
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let n = match file.read(&mut buf[..want]) {
            Ok(0) => {
                return Err(ArchiveError::ReassembleChanged { path: lossy(path), expected: size, found: size - left });
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(err("read")(e)),
        };
        if let Some(h) = hasher.as_deref_mut() {
            h.update(&buf[..n]);
        }
        writer.write_all(&buf[..n]).map_err(|source| ArchiveError::Write { source })?;
        left -= n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TarSplit {
        TarSplit {
            segments: vec![
                Segment::Raw(vec![1; 512]),
                Segment::File { path: b"a/b".to_vec(), size: 700 },
                Segment::Raw(vec![0; 1024 + 324]),
                Segment::File { path: b"c".to_vec(), size: u64::from(u32::MAX) + 7 },
                Segment::Raw(vec![0; 1024]),
            ],
        }
    }

    #[test]
    fn encode_decode_round_trips() {
        for split in [TarSplit::default(), sample()] {
            let encoded = split.encode().expect("encode");
            assert_eq!(TarSplit::decode(&encoded).expect("decode"), split);
        }
        assert_eq!(sample().stream_len(), 512 + 700 + 1348 + u64::from(u32::MAX) + 7 + 1024);
    }

    #[test]
    fn corrupt_records_are_refused() {
        let good = sample().encode().expect("encode");
        let mut wrong_version = good.clone();
        wrong_version[MAGIC.len()] = 9;
        let mut body = vec![TAG_RAW];
        put_varint(&mut body, 100);
        body.extend_from_slice(&[0; 10]);
        let mut short_raw = MAGIC.to_vec();
        short_raw.push(VERSION);
        short_raw.extend(zstd::stream::encode_all(&body[..], 1).expect("zstd"));
        let mut no_end = MAGIC.to_vec();
        no_end.push(VERSION);
        no_end.extend(zstd::stream::encode_all(&[TAG_RAW, 1, 7][..], 1).expect("zstd"));
        let cases: &[(&str, &[u8])] = &[
            ("empty", b""),
            ("bad magic", b"NOT-A-TARSPLIT\x01"),
            ("wrong version", &wrong_version),
            ("truncated zstd", &good[..good.len() - 3]),
            ("short raw segment", &short_raw),
            ("missing end", &no_end),
        ];
        for (what, bytes) in cases {
            assert!(
                matches!(TarSplit::decode(bytes), Err(ArchiveError::InvalidTarSplit { .. })),
                "{what} must be refused"
            );
        }
    }

    #[test]
    fn varints_round_trip() {
        for value in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            let mut cursor = &out[..];
            assert_eq!(take_varint(&mut cursor), Some(value));
            assert!(cursor.is_empty());
        }
        let mut overlong: &[u8] = &[0xff; 11];
        assert_eq!(take_varint(&mut overlong), None);
    }
}
