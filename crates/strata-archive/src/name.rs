//! Parsing of what an archive says, kept apart from the filesystem.
//!
//! Entry names are attacker-controlled bytes. Everything the extractor does with a name starts
//! here: [`normalize`] turns it into clean components relative to the root (or refuses it), and
//! [`classify_whiteout`] says whether it is an OCI whiteout. PAX records and timestamps are parsed
//! and formatted here too, so the rules are unit-tested without touching a disk.

/// Prefix of an OCI/AUFS whiteout file name: `.wh.<name>` deletes `<name>`.
pub const WHITEOUT_PREFIX: &[u8] = b".wh.";
/// Prefix of AUFS metadata names (`.wh..wh.plnk`, `.wh..wh.aufs`), never extracted.
pub const WHITEOUT_META_PREFIX: &[u8] = b".wh..wh.";
/// The name of the opaque-directory marker: the directory hides what lower layers hold.
pub const WHITEOUT_OPAQUE: &[u8] = b".wh..wh..opq";
/// PAX key prefix of extended attributes, as written by GNU tar, bsdtar, Go and Docker.
pub const PAX_XATTR_PREFIX: &[u8] = b"SCHILY.xattr.";
/// PAX key of the modification time.
pub const PAX_MTIME: &[u8] = b"mtime";
/// PAX key of the access time.
pub const PAX_ATIME: &[u8] = b"atime";

/// Extended attributes of one entry: (name, value) pairs.
pub type Xattrs = Vec<(Vec<u8>, Vec<u8>)>;

const NANOS_PER_SEC: u32 = 1_000_000_000;
const NANO_DIGITS: usize = 9;

/// Why a name from an archive cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// The name holds a NUL byte (only possible through PAX or GNU long names).
    Nul,
    /// After resolving `..` lexically the path would leave the root.
    Escapes,
}

impl NameError {
    pub fn reason(&self) -> &'static str {
        match self {
            NameError::Nul => "name contains a NUL byte",
            NameError::Escapes => "path leaves the root directory",
        }
    }
}

/// Normalizes an archive path into `out` as `a/b/c` relative to the root, the way Docker cleans
/// names: leading `/` and `.` components are dropped, `..` removes the previous component, and a
/// `..` with nothing left to remove is refused. An empty result names the root itself.
///
/// The resolution is lexical on purpose: symlinks are not consulted here; the kernel confines
/// them later (`RESOLVE_IN_ROOT`), so a name can neither escape lexically nor through links.
pub fn normalize(name: &[u8], out: &mut Vec<u8>) -> Result<(), NameError> {
    out.clear();
    if name.contains(&0) {
        return Err(NameError::Nul);
    }
    for component in name.split(|&b| b == b'/') {
        match component {
            b"" | b"." => {}
            b".." => {
                if out.is_empty() {
                    return Err(NameError::Escapes);
                }
                let cut = out.iter().rposition(|&b| b == b'/').unwrap_or(0);
                out.truncate(cut);
            }
            part => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(part);
            }
        }
    }
    Ok(())
}

/// Splits a normalized path into its parent (possibly empty: the root) and its last component.
pub fn split_parent(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(at) => (&path[..at], &path[at + 1..]),
        None => (&[], path),
    }
}

/// Joins a normalized parent and a component.
pub fn join(parent: &[u8], name: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(parent);
    if !parent.is_empty() {
        out.push(b'/');
    }
    out.extend_from_slice(name);
}

/// What an entry's name means under OCI whiteout rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whiteout<'a> {
    /// Not a whiteout: an ordinary entry.
    None,
    /// `.wh.<name>`: `<name>` in the same directory is deleted.
    Delete(&'a [u8]),
    /// `.wh..wh..opq`: the directory is opaque.
    Opaque,
    /// AUFS metadata (`.wh..wh.plnk`, anything below it): ignored.
    Meta,
    /// `.wh.` followed by nothing, `.` or `..`: never valid.
    Invalid,
}

/// Classifies a normalized path.
pub fn classify_whiteout(path: &[u8]) -> Whiteout<'_> {
    let (parent, base) = split_parent(path);
    if parent.split(|&b| b == b'/').any(|c| c.starts_with(WHITEOUT_META_PREFIX)) {
        return Whiteout::Meta;
    }
    if base == WHITEOUT_OPAQUE {
        return Whiteout::Opaque;
    }
    if base.starts_with(WHITEOUT_META_PREFIX) {
        return Whiteout::Meta;
    }
    match base.strip_prefix(WHITEOUT_PREFIX) {
        None => Whiteout::None,
        Some(b"" | b"." | b"..") => Whiteout::Invalid,
        Some(target) => Whiteout::Delete(target),
    }
}

/// A point in time as tar records it: seconds since the epoch (possibly negative) and nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TarTime {
    pub secs: i64,
    pub nanos: u32,
}

/// Parses a PAX time value such as `1700000000`, `1700000000.5` or `-1.25`.
pub fn parse_pax_time(value: &[u8]) -> Option<TarTime> {
    let (negative, rest) = match value.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, value),
    };
    let (int_part, frac_part) = match rest.iter().position(|&b| b == b'.') {
        Some(dot) => (&rest[..dot], &rest[dot + 1..]),
        None => (rest, &[][..]),
    };
    if int_part.is_empty() || !int_part.iter().all(u8::is_ascii_digit) || !frac_part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let secs: i64 = std::str::from_utf8(int_part).ok()?.parse().ok()?;
    let mut nanos: u32 = 0;
    for i in 0..NANO_DIGITS {
        nanos = nanos * 10 + frac_part.get(i).map_or(0, |d| u32::from(d - b'0'));
    }
    if !negative {
        return Some(TarTime { secs, nanos });
    }
    if nanos == 0 {
        Some(TarTime { secs: -secs, nanos: 0 })
    } else {
        Some(TarTime { secs: -secs - 1, nanos: NANOS_PER_SEC - nanos })
    }
}

/// Appends one PAX record, `"<len> <key>=<value>\n"`, where `<len>` counts the whole record
/// including its own digits.
pub fn push_pax_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    // space, '=' and '\n'
    let base = key.len() + value.len() + 3;
    let mut len = base + 1;
    while base + decimal_digits(len) != len {
        len = base + decimal_digits(len);
    }
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

fn decimal_digits(mut n: usize) -> usize {
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    digits
}

#[cfg(test)]
#[allow(clippy::type_complexity)] // tables of cases
mod tests {
    use super::*;

    #[test]
    fn normalize_cleans_or_refuses() {
        let cases: &[(&[u8], Result<&[u8], NameError>)] = &[
            (b"a/b/c", Ok(b"a/b/c")),
            (b"./a//b/", Ok(b"a/b")),
            (b"/etc/passwd", Ok(b"etc/passwd")),
            (b"a/../b", Ok(b"b")),
            (b"a/b/../../c", Ok(b"c")),
            (b".", Ok(b"")),
            (b"./", Ok(b"")),
            (b"/", Ok(b"")),
            (b"", Ok(b"")),
            (b"..", Err(NameError::Escapes)),
            (b"../../etc/x", Err(NameError::Escapes)),
            (b"a/../../x", Err(NameError::Escapes)),
            (b"/../x", Err(NameError::Escapes)),
            (b"a\0b", Err(NameError::Nul)),
            (b"...", Ok(b"...")),
            (b"a/.../b", Ok(b"a/.../b")),
        ];
        let mut out = Vec::new();
        for (input, want) in cases {
            let got = normalize(input, &mut out).map(|()| out.as_slice());
            assert_eq!(got, *want, "normalize({:?})", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn split_and_join_are_inverse() {
        let cases: &[(&[u8], &[u8], &[u8])] = &[(b"a/b/c", b"a/b", b"c"), (b"c", b"", b"c"), (b"a/b", b"a", b"b")];
        let mut out = Vec::new();
        for (path, parent, base) in cases {
            assert_eq!(split_parent(path), (*parent, *base));
            join(parent, base, &mut out);
            assert_eq!(out.as_slice(), *path);
        }
    }

    #[test]
    fn whiteouts_are_classified() {
        let cases: &[(&[u8], Whiteout<'_>)] = &[
            (b"a/b", Whiteout::None),
            (b"a/.wh.b", Whiteout::Delete(b"b")),
            (b".wh.b", Whiteout::Delete(b"b")),
            (b"a/.wh..wh..opq", Whiteout::Opaque),
            (b".wh..wh..opq", Whiteout::Opaque),
            (b".wh..wh.plnk", Whiteout::Meta),
            (b".wh..wh.plnk/123.456", Whiteout::Meta),
            (b".wh..wh.aufs", Whiteout::Meta),
            (b"a/.wh.", Whiteout::Invalid),
            (b"a/.wh..", Whiteout::Invalid),
            (b"a/.wh...", Whiteout::Invalid),
            (b"a/.wh.b/c", Whiteout::None),
            (b"a/x.wh.b", Whiteout::None),
        ];
        for (path, want) in cases {
            assert_eq!(classify_whiteout(path), *want, "{:?}", String::from_utf8_lossy(path));
        }
    }

    #[test]
    fn pax_times_parse() {
        let cases: &[(&[u8], Option<TarTime>)] = &[
            (b"1700000000", Some(TarTime { secs: 1_700_000_000, nanos: 0 })),
            (b"1700000000.5", Some(TarTime { secs: 1_700_000_000, nanos: 500_000_000 })),
            (b"1.123456789123", Some(TarTime { secs: 1, nanos: 123_456_789 })),
            (b"0.000000001", Some(TarTime { secs: 0, nanos: 1 })),
            (b"-1", Some(TarTime { secs: -1, nanos: 0 })),
            (b"-1.25", Some(TarTime { secs: -2, nanos: 750_000_000 })),
            (b"12.", Some(TarTime { secs: 12, nanos: 0 })),
            (b"", None),
            (b".5", None),
            (b"1e9", None),
            (b"--1", None),
            (b"99999999999999999999999", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_pax_time(input), *want, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn pax_records_count_their_own_length() {
        let cases: &[(&[u8], &[u8], &[u8])] = &[
            (b"path", b"a", b"9 path=a\n"),
            (b"mtime", b"1700000000", b"20 mtime=1700000000\n"),
            // 1 + 1 + 5 + 1 + 90 + 1 = 99 with two digits -> 100 needs three digits -> 101
            (b"k", &[b'v'; 94], b""),
        ];
        for (key, value, want) in cases {
            let mut out = Vec::new();
            push_pax_record(&mut out, key, value);
            if !want.is_empty() {
                assert_eq!(out.as_slice(), *want);
            }
            let space = out.iter().position(|&b| b == b' ').expect("space");
            let len: usize = std::str::from_utf8(&out[..space]).expect("digits").parse().expect("number");
            assert_eq!(len, out.len(), "record {:?}", String::from_utf8_lossy(&out));
            // the tar crate reads back what we wrote
            let parsed: Vec<_> = tar::PaxExtensions::new(&out).collect::<Result<_, _>>().expect("parse");
            assert_eq!(parsed[0].key_bytes(), *key);
            assert_eq!(parsed[0].value_bytes(), *value);
        }
    }
}
