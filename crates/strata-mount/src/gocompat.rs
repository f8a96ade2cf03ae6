//! The few Go standard-library behaviours that leak into Docker's observable output.
//!
//! Docker's mount errors and `docker inspect` fields are produced by Go's `path.Clean`,
//! `filepath.IsLocal` and `%q` formatting. A destination of `/b/` shows up as `/b`, a subpath of
//! `a/../..` is refused, a mount type of `a"b` is printed as `"a\"b"`. To give the same answers we
//! need the same lexical rules; they are small, so they are reimplemented here rather than
//! approximated with `std::path` (which, for instance, keeps `..` components).

/// Lexically cleans a slash-separated path the way Go's `path.Clean` does: repeated slashes
/// collapse, `.` elements vanish, `..` eats the previous element (or is dropped at the root, or
/// kept at the front of a relative path); the empty path becomes `.`.
pub fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// Go's `path.IsAbs` on Linux: the path starts with a slash.
pub fn is_abs(path: &str) -> bool {
    path.starts_with('/')
}

/// Go's `filepath.IsLocal` on Linux: a non-empty relative path that does not climb out of its
/// base (`a/../..` and `..` do; `.` and `a/..` do not).
pub fn is_local(path: &str) -> bool {
    if path.is_empty() || is_abs(path) {
        return false;
    }
    let cleaned = clean(path);
    !(cleaned == ".." || cleaned.starts_with("../"))
}

/// Formats `s` like Go's `%q` verb (`strconv.Quote`): double quotes, with `"` and `\` escaped,
/// the usual C escapes for control characters and `\x`/`\u` escapes for other non-printables.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() && (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\U{:08x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Formats a list of strings like Go's `%q` on a `[]string`: `["a" "b"]`.
pub fn quote_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s.as_ref())).collect();
    format!("[{}]", quoted.join(" "))
}

/// Go's `strconv.ParseBool`: `1 t T TRUE true True` and `0 f F FALSE false False`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// go-units' `RAMInBytes`, which Docker uses for every size it reads (tmpfs and volume `size`,
/// `--shm-size`, log `max-size`): a decimal number with an optional binary unit (`k`, `m`, `g`,
/// `t`, `p`, each ×1024, any case, optionally followed by `i` and/or `b`), e.g. `64m`, `1.5GiB`,
/// `100`. `None` for anything else.
pub fn ram_in_bytes(text: &str) -> Option<u64> {
    let digits_end = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, mut unit) = text.split_at(digits_end);
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') || number.matches('.').count() > 1 {
        return None;
    }
    unit = unit.strip_prefix(' ').unwrap_or(unit);
    let mut chars = unit.chars().peekable();
    let multiplier: f64 = match chars.peek().map(char::to_ascii_lowercase) {
        Some('k') => 1024f64,
        Some('m') => 1024f64.powi(2),
        Some('g') => 1024f64.powi(3),
        Some('t') => 1024f64.powi(4),
        Some('p') => 1024f64.powi(5),
        _ => 1.0,
    };
    if multiplier > 1.0 {
        chars.next();
    }
    if chars.peek().is_some_and(|c| c.eq_ignore_ascii_case(&'i')) {
        chars.next();
    }
    if chars.peek().is_some_and(|c| c.eq_ignore_ascii_case(&'b')) {
        chars.next();
    }
    if chars.next().is_some() {
        return None;
    }
    let bytes = number.parse::<f64>().ok()? * multiplier;
    (bytes.is_finite() && bytes < u64::MAX as f64).then_some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_matches_go_path_clean() {
        let cases = [
            ("", "."),
            (".", "."),
            ("/", "/"),
            ("//", "/"),
            ("/b/", "/b"),
            ("/b//c", "/b/c"),
            ("/b/./c/.", "/b/c"),
            ("/b/..", "/"),
            ("/b/../", "/"),
            ("/..", "/"),
            ("/../a", "/a"),
            ("a/b/../..", "."),
            ("a/../..", ".."),
            ("../a", "../a"),
            ("../../a/..", "../.."),
            ("rel", "rel"),
            ("rel/", "rel"),
            ("a:/d", "a:/d"),
            ("/app/src/", "/app/src"),
            ("/var/lib/postgresql/data", "/var/lib/postgresql/data"),
            ("/tmp/x/../y", "/tmp/y"),
            ("\\x", "\\x"),
        ];
        for (input, want) in cases {
            assert_eq!(clean(input), want, "clean({input:?})");
        }
    }

    #[test]
    fn is_local_matches_go_filepath_is_local() {
        let cases = [
            ("", false),
            ("/abs", false),
            ("sub", true),
            ("sub/dir", true),
            (".", true),
            ("./x", true),
            ("a/..", true),
            ("..", false),
            ("../x", false),
            ("a/../..", false),
            ("a/../../b", false),
            ("..x", true),
            ("x/..y", true),
        ];
        for (input, want) in cases {
            assert_eq!(is_local(input), want, "is_local({input:?})");
        }
    }

    #[test]
    fn quote_matches_go_percent_q() {
        let cases = [
            ("foo", "\"foo\""),
            ("", "\"\""),
            ("a\"b", "\"a\\\"b\""),
            ("a\\b", "\"a\\\\b\""),
            ("tab\there", "\"tab\\there\""),
            ("nl\n", "\"nl\\n\""),
            ("\u{1}", "\"\\x01\""),
            ("\u{7f}", "\"\\x7f\""),
            ("\u{85}", "\"\\u0085\""),
            ("é", "\"é\""),
            ("[a-zA-Z0-9][a-zA-Z0-9_.-]", "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\""),
        ];
        for (input, want) in cases {
            assert_eq!(quote(input), want, "quote({input:?})");
        }
    }

    #[test]
    fn quote_list_matches_go_percent_q_on_slices() {
        assert_eq!(quote_list(&["bogus"]), r#"["bogus"]"#);
        assert_eq!(quote_list(&["nosuid", "1"]), r#"["nosuid" "1"]"#);
        assert_eq!(quote_list(&[""]), r#"[""]"#);
        assert_eq!(quote_list::<&str>(&[]), "[]");
    }

    #[test]
    fn sizes_and_bools_read_as_go_reads_them() {
        assert_eq!(ram_in_bytes("10m"), Some(10 << 20));
        assert_eq!(ram_in_bytes("1GiB"), Some(1 << 30));
        assert_eq!(ram_in_bytes("1.5k"), Some(1536));
        assert_eq!(ram_in_bytes("2 KB"), Some(2048));
        assert_eq!(ram_in_bytes("512"), Some(512));
        for bad in ["", "abc", "1x", ".5m", "1.m", "1.2.3", "-1", "1mm"] {
            assert_eq!(ram_in_bytes(bad), None, "{bad:?}");
        }
        assert_eq!((parse_bool("True"), parse_bool("0"), parse_bool("yes")), (Some(true), Some(false), None));
    }
}
