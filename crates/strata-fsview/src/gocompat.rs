//! The wire forms Docker's Go code gives a path's stat, reproduced bit for bit.
//!
//! `X-Docker-Container-Path-Stat` is `base64(json.Marshal(types.ContainerPathStat))`, so three
//! Go conventions leak onto the wire and the docker CLI reads them back: `os.FileMode` bits (the
//! CLI checks `mode & ModeSymlink` to decide whether to follow a link, and `ModeDir`), the
//! RFC 3339 text of `time.Time` with trailing zeros of the nanoseconds dropped, and
//! `encoding/json`'s string escaping (which escapes `<`, `>` and `&`). Pure functions, no I/O.

use rustix::fs::FileType;

/// Go's `os.FileMode` type bits (`io/fs`), as Docker puts them on the wire.
pub mod mode {
    pub const DIR: u32 = 1 << 31;
    pub const APPEND: u32 = 1 << 30;
    pub const EXCLUSIVE: u32 = 1 << 29;
    pub const TEMPORARY: u32 = 1 << 28;
    pub const SYMLINK: u32 = 1 << 27;
    pub const DEVICE: u32 = 1 << 26;
    pub const NAMED_PIPE: u32 = 1 << 25;
    pub const SOCKET: u32 = 1 << 24;
    pub const SETUID: u32 = 1 << 23;
    pub const SETGID: u32 = 1 << 22;
    pub const CHAR_DEVICE: u32 = 1 << 21;
    pub const STICKY: u32 = 1 << 20;
    pub const IRREGULAR: u32 = 1 << 19;
    /// The Unix permission bits, kept as they are.
    pub const PERM: u32 = 0o777;
}

const S_ISUID: u32 = 0o4000;
const S_ISGID: u32 = 0o2000;
const S_ISVTX: u32 = 0o1000;

/// `os.FileMode` of a Unix `st_mode`, as Go's `os.Lstat` computes it (`fillFileStatFromSys`).
pub fn go_file_mode(st_mode: u32) -> u32 {
    let mut out = st_mode & mode::PERM;
    out |= match FileType::from_raw_mode(st_mode) {
        FileType::Directory => mode::DIR,
        FileType::Symlink => mode::SYMLINK,
        FileType::BlockDevice => mode::DEVICE,
        FileType::CharacterDevice => mode::DEVICE | mode::CHAR_DEVICE,
        FileType::Fifo => mode::NAMED_PIPE,
        FileType::Socket => mode::SOCKET,
        _ => 0,
    };
    if st_mode & S_ISUID != 0 {
        out |= mode::SETUID;
    }
    if st_mode & S_ISGID != 0 {
        out |= mode::SETGID;
    }
    if st_mode & S_ISVTX != 0 {
        out |= mode::STICKY;
    }
    out
}

const SECS_PER_DAY: i64 = 86_400;
const NANO_DIGITS: usize = 9;

/// `time.Time.MarshalJSON` of a UTC instant: RFC 3339 with up to nine fraction digits, trailing
/// zeros (and a fraction of zero) left out, `Z` for UTC — `2026-11-26T15:32:51.123Z`.
pub fn rfc3339_nano(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(SECS_PER_DAY);
    let of_day = secs.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let (h, m, s) = (of_day / 3600, of_day % 3600 / 60, of_day % 60);
    let mut out = format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}");
    if nanos != 0 {
        let digits = format!("{nanos:0NANO_DIGITS$}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Year, month, day of a day count since 1970-01-01 (proleptic Gregorian; Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    const DAYS_PER_ERA: i64 = 146_097;
    let z = days + 719_468;
    let era = z.div_euclid(DAYS_PER_ERA);
    let doe = z.rem_euclid(DAYS_PER_ERA);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Appends `s` as a JSON string the way Go's `encoding/json` writes it: `<`, `>`, `&`, U+2028
/// and U+2029 escaped, control characters as `\n`/`\r`/`\t` or `\u00XX`, invalid UTF-8 as
/// U+FFFD.
pub fn push_json_string(out: &mut String, s: &[u8]) {
    out.push('"');
    for c in String::from_utf8_lossy(s).chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Standard base64 with padding (Go's `base64.StdEncoding`), for the stat header.
pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextet = |i: u32| char::from(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize]);
        out.push(sextet(0));
        out.push(sextet(1));
        out.push(if chunk.len() > 1 { sextet(2) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(3) } else { '=' });
    }
    out
}

/// Go's `filepath.Base`: the last element, trailing slashes ignored; `/` for a path of slashes,
/// `.` for the empty path.
pub fn go_base(path: &str) -> &str {
    if path.is_empty() {
        return ".";
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_modes_match_go() {
        // Values as Go prints them for `uint32(fi.Mode())`.
        let cases = [
            (0o100644, 420),                           // regular 0644
            (0o040755, 2147484141),                    // dir 0755 (the reference's example)
            (0o120777, (1 << 27) | 0o777),             // symlink
            (0o104755, (1 << 23) | 0o755),             // setuid file
            (0o042775, (1 << 31) | (1 << 22) | 0o775), // setgid dir
            (0o041777, (1 << 31) | (1 << 20) | 0o777), // /tmp
            (0o020620, (1 << 26) | (1 << 21) | 0o620), // char device
            (0o060660, (1 << 26) | 0o660),             // block device
            (0o010644, (1 << 25) | 0o644),             // fifo
            (0o140755, (1 << 24) | 0o755),             // socket
        ];
        for (st_mode, want) in cases {
            assert_eq!(go_file_mode(st_mode), want, "st_mode {st_mode:o}");
        }
    }

    #[test]
    fn times_format_like_go_rfc3339_nano() {
        assert_eq!(rfc3339_nano(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_nano(1_795_707_171, 0), "2026-11-26T15:32:51Z");
        assert_eq!(rfc3339_nano(1_795_707_171, 123_000_000), "2026-11-26T15:32:51.123Z");
        assert_eq!(rfc3339_nano(1_795_707_171, 5), "2026-11-26T15:32:51.000000005Z");
        assert_eq!(rfc3339_nano(951_782_400, 0), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_nano(-1, 0), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn json_strings_escape_like_go() {
        let mut s = String::new();
        push_json_string(&mut s, b"a<b>&\"c\\\n\x01\xff");
        assert_eq!(s, r#""a\u003cb\u003e\u0026\"c\\\n\u0001�""#);
    }

    #[test]
    fn base64_matches_std_encoding() {
        for (input, want) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg==")] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }

    #[test]
    fn base_is_go_filepath_base() {
        for (path, want) in
            [("/", "/"), ("", "."), ("/etc/", "etc"), ("/etc/hosts", "hosts"), ("/d/.", "."), ("//", "/")]
        {
            assert_eq!(go_base(path), want, "{path}");
        }
    }
}
