//! Writing tar headers: ustar, with a PAX extended header when ustar cannot say it.
//!
//! Headers are built byte by byte here rather than through `tar::Builder` so that the output is
//! exactly what we mean: POSIX ustar fields, PAX records only for what does not fit (long names
//! and link targets, large ids, sizes and times, xattrs), no user or group names, whole-second
//! times. The result is reproducible from the tree alone and readable by every tar (GNU, bsdtar,
//! Go's archive/tar, the `tar` crate).

use crate::name::{PAX_MTIME, PAX_XATTR_PREFIX, push_pax_record};

/// Size of a tar block.
pub(crate) const BLOCK: usize = 512;

pub(crate) const TYPE_REGULAR: u8 = b'0';
pub(crate) const TYPE_HARDLINK: u8 = b'1';
pub(crate) const TYPE_SYMLINK: u8 = b'2';
pub(crate) const TYPE_CHAR: u8 = b'3';
pub(crate) const TYPE_BLOCK: u8 = b'4';
pub(crate) const TYPE_DIR: u8 = b'5';
pub(crate) const TYPE_FIFO: u8 = b'6';
const TYPE_PAX: u8 = b'x';

const NAME: (usize, usize) = (0, 100);
const MODE: (usize, usize) = (100, 8);
const UID: (usize, usize) = (108, 8);
const GID: (usize, usize) = (116, 8);
const SIZE: (usize, usize) = (124, 12);
const MTIME: (usize, usize) = (136, 12);
const CHKSUM: (usize, usize) = (148, 8);
const TYPEFLAG: usize = 156;
const LINKNAME: (usize, usize) = (157, 100);
const MAGIC: (usize, &[u8]) = (257, b"ustar\0");
const VERSION: (usize, &[u8]) = (263, b"00");
const DEVMAJOR: (usize, usize) = (329, 8);
const DEVMINOR: (usize, usize) = (337, 8);
const PREFIX: (usize, usize) = (345, 155);

const PAX_HEADER_DIR: &[u8] = b"PaxHeaders/";
const PAX_HEADER_MODE: u32 = 0o644;

/// Everything a header says about one entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryHeader<'a> {
    /// Name in the archive; directories end with `/`.
    pub name: &'a [u8],
    pub typeflag: u8,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    pub mtime: i64,
    pub link: &'a [u8],
    pub dev: (u32, u32),
    pub xattrs: &'a [(Vec<u8>, Vec<u8>)],
}

/// Appends the header blocks of `h` (a PAX header first when needed) to `out`.
pub(crate) fn encode(h: &EntryHeader<'_>, out: &mut Vec<u8>) {
    let mut block = [0u8; BLOCK];
    let mut records = Vec::new();

    match split_ustar_name(h.name) {
        Some((prefix, name)) => {
            put_bytes(&mut block, PREFIX, prefix);
            put_bytes(&mut block, NAME, name);
        }
        None => {
            push_pax_record(&mut records, b"path", h.name);
            put_bytes(&mut block, NAME, &h.name[..h.name.len().min(NAME.1)]);
        }
    }
    if h.link.len() > LINKNAME.1 {
        push_pax_record(&mut records, b"linkpath", h.link);
        put_bytes(&mut block, LINKNAME, &h.link[..LINKNAME.1]);
    } else {
        put_bytes(&mut block, LINKNAME, h.link);
    }
    put_octal(&mut block, MODE, u64::from(h.mode));
    for (field, key, value) in [(UID, &b"uid"[..], h.uid), (GID, b"gid", h.gid), (SIZE, b"size", h.size)] {
        if !put_octal(&mut block, field, value) {
            push_pax_record(&mut records, key, value.to_string().as_bytes());
            put_octal(&mut block, field, 0);
        }
    }
    let mtime_fits = u64::try_from(h.mtime).is_ok_and(|t| put_octal(&mut block, MTIME, t));
    if !mtime_fits {
        push_pax_record(&mut records, PAX_MTIME, h.mtime.to_string().as_bytes());
        put_octal(&mut block, MTIME, 0);
    }
    block[TYPEFLAG] = h.typeflag;
    put_bytes(&mut block, (MAGIC.0, MAGIC.1.len()), MAGIC.1);
    put_bytes(&mut block, (VERSION.0, VERSION.1.len()), VERSION.1);
    if matches!(h.typeflag, TYPE_CHAR | TYPE_BLOCK) {
        put_octal(&mut block, DEVMAJOR, u64::from(h.dev.0));
        put_octal(&mut block, DEVMINOR, u64::from(h.dev.1));
    }
    let mut key = Vec::new();
    for (name, value) in h.xattrs {
        key.clear();
        key.extend_from_slice(PAX_XATTR_PREFIX);
        key.extend_from_slice(name);
        push_pax_record(&mut records, &key, value);
    }

    if !records.is_empty() {
        let base = h.name.rsplit(|&b| b == b'/').find(|c| !c.is_empty()).unwrap_or(b"entry");
        let mut pax_name = PAX_HEADER_DIR.to_vec();
        pax_name.extend_from_slice(&base[..base.len().min(NAME.1 - PAX_HEADER_DIR.len())]);
        let mut pax = [0u8; BLOCK];
        put_bytes(&mut pax, NAME, &pax_name);
        put_octal(&mut pax, MODE, u64::from(PAX_HEADER_MODE));
        put_octal(&mut pax, UID, 0);
        put_octal(&mut pax, GID, 0);
        put_octal(&mut pax, SIZE, records.len() as u64);
        put_octal(&mut pax, MTIME, 0);
        pax[TYPEFLAG] = TYPE_PAX;
        put_bytes(&mut pax, (MAGIC.0, MAGIC.1.len()), MAGIC.1);
        put_bytes(&mut pax, (VERSION.0, VERSION.1.len()), VERSION.1);
        put_checksum(&mut pax);
        out.extend_from_slice(&pax);
        out.extend_from_slice(&records);
        out.resize(out.len() + padding(records.len() as u64), 0);
    }
    put_checksum(&mut block);
    out.extend_from_slice(&block);
}

/// Zero bytes that follow `len` bytes of contents to reach a block boundary.
pub(crate) fn padding(len: u64) -> usize {
    let rem = (len % BLOCK as u64) as usize;
    if rem == 0 { 0 } else { BLOCK - rem }
}

/// Splits a name into ustar's prefix and name fields, if it fits them.
fn split_ustar_name(name: &[u8]) -> Option<(&[u8], &[u8])> {
    if name.len() <= NAME.1 {
        return Some((&[], name));
    }
    name.iter().enumerate().filter(|&(_, &b)| b == b'/').map(|(i, _)| (&name[..i], &name[i + 1..])).find(
        |(prefix, rest)| !prefix.is_empty() && prefix.len() <= PREFIX.1 && !rest.is_empty() && rest.len() <= NAME.1,
    )
}

fn put_bytes(block: &mut [u8; BLOCK], (at, len): (usize, usize), bytes: &[u8]) {
    let n = bytes.len().min(len);
    block[at..at + n].copy_from_slice(&bytes[..n]);
}

/// Writes `value` as zero-padded octal with a NUL terminator; `false` if it does not fit.
fn put_octal(block: &mut [u8; BLOCK], (at, len): (usize, usize), value: u64) -> bool {
    let digits = len - 1;
    let text = format!("{value:0digits$o}");
    if text.len() > digits {
        return false;
    }
    block[at..at + digits].copy_from_slice(text.as_bytes());
    block[at + digits] = 0;
    true
}

fn put_checksum(block: &mut [u8; BLOCK]) {
    block[CHKSUM.0..CHKSUM.0 + CHKSUM.1].fill(b' ');
    let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
    let text = format!("{sum:06o}\0 ");
    block[CHKSUM.0..CHKSUM.0 + CHKSUM.1].copy_from_slice(text.as_bytes());
}

#[cfg(test)]
#[allow(clippy::type_complexity)] // tables of cases
mod tests {
    use super::*;
    use std::io::Read;

    fn header<'a>(name: &'a [u8], link: &'a [u8], xattrs: &'a [(Vec<u8>, Vec<u8>)]) -> EntryHeader<'a> {
        EntryHeader {
            name,
            typeflag: if link.is_empty() { TYPE_REGULAR } else { TYPE_SYMLINK },
            mode: 0o4755,
            uid: 1000,
            gid: 1000,
            size: 0,
            mtime: 1_700_000_000,
            link,
            dev: (0, 0),
            xattrs,
        }
    }

    #[test]
    fn ustar_name_split() {
        let long_dir = [b'd'; 120];
        let mut split_ok = long_dir.to_vec();
        split_ok.extend_from_slice(b"/file");
        let cases: Vec<(Vec<u8>, Option<(usize, usize)>)> = vec![
            (b"short".to_vec(), Some((0, 5))),
            ([b'a'; 100].to_vec(), Some((0, 100))),
            ([b'a'; 101].to_vec(), None),
            (split_ok.clone(), Some((120, 4))),
            ([&[b'p'; 156][..], b"/x"].concat(), None),
            ([&[b'p'; 10][..], b"/", &[b'n'; 101][..]].concat(), None),
        ];
        for (name, want) in cases {
            let got = split_ustar_name(&name).map(|(p, n)| (p.len(), n.len()));
            assert_eq!(got, want, "{}", String::from_utf8_lossy(&name));
        }
    }

    #[test]
    fn octal_fields_fit_or_say_so() {
        let cases: &[((usize, usize), u64, Option<&[u8]>)] = &[
            (MODE, 0o755, Some(b"0000755\0")),
            (UID, 0o7777777, Some(b"7777777\0")),
            (UID, 0o7777777 + 1, None),
            (SIZE, 0o77777777777, Some(b"77777777777\0")),
            (SIZE, 1 << 33, None),
        ];
        for &(field, value, want) in cases {
            let mut block = [0u8; BLOCK];
            let fits = put_octal(&mut block, field, value);
            assert_eq!(fits, want.is_some(), "{value:o}");
            if let Some(want) = want {
                assert_eq!(&block[field.0..field.0 + field.1], want);
            }
        }
    }

    /// Whatever we encode, the `tar` crate reads back the same fields.
    #[test]
    fn headers_read_back_through_the_tar_crate() {
        let long_name = [&b"dir/"[..], &[b'n'; 300][..]].concat();
        let long_link = vec![b'l'; 150];
        let xattrs = vec![(b"user.k".to_vec(), b"v\0binary".to_vec())];
        let big_id = EntryHeader { uid: 1 << 40, gid: 3_000_000, mtime: -5, ..header(b"ids", b"", &[]) };
        let cases: Vec<EntryHeader<'_>> = vec![
            header(b"plain", b"", &[]),
            header(&long_name, b"", &[]),
            header(b"link", &long_link, &[]),
            header(b"x", b"", &xattrs),
            big_id,
        ];
        for h in cases {
            let mut out = Vec::new();
            encode(&h, &mut out);
            out.resize(out.len() + 2 * BLOCK, 0);
            let mut archive = tar::Archive::new(&out[..]);
            let mut entries = archive.entries().expect("entries");
            let mut entry = entries.next().expect("one entry").expect("valid entry");
            assert_eq!(entry.path_bytes().as_ref(), h.name);
            assert_eq!(entry.link_name_bytes().as_deref().unwrap_or_default(), h.link);
            assert_eq!(entry.header().mode().expect("mode"), h.mode);
            assert_eq!(entry.header().uid().expect("uid"), h.uid);
            assert_eq!(entry.header().gid().expect("gid"), h.gid);
            let pax: Vec<(Vec<u8>, Vec<u8>)> = entry
                .pax_extensions()
                .expect("pax")
                .map(|exts| {
                    exts.map(|e| e.expect("record"))
                        .map(|e| (e.key_bytes().to_vec(), e.value_bytes().to_vec()))
                        .collect()
                })
                .unwrap_or_default();
            for (k, v) in h.xattrs {
                assert!(pax.contains(&([PAX_XATTR_PREFIX, k].concat(), v.clone())));
            }
            if h.mtime < 0 {
                assert!(pax.contains(&(b"mtime".to_vec(), b"-5".to_vec())));
            }
            let mut rest = Vec::new();
            entry.read_to_end(&mut rest).expect("no contents");
            assert!(rest.is_empty());
            assert!(entries.next().is_none());
        }
    }
}
