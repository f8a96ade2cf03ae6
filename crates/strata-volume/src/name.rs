//! Volume names: Docker's rule, and the guarantee that a name is one plain directory entry.
//!
//! A volume's name becomes a directory name under `<data-root>/volumes/`, so the rule is also a
//! security boundary: `[a-zA-Z0-9][a-zA-Z0-9_.-]+` cannot contain `/` or NUL and cannot be `.`
//! or `..`, and the length cap keeps it within one path component (`NAME_MAX`). Docker has no
//! length cap and answers an over-long name with a 500 from `mkdir`; strata refuses it up front.

/// The shortest name Docker accepts.
pub const MIN_NAME_LEN: usize = 2;
/// The longest name: one path component (`NAME_MAX`).
pub const MAX_NAME_LEN: usize = 255;
/// The allowed characters, as Docker spells them in its error message.
pub const RESTRICTED_NAME_CHARS: &str = "[a-zA-Z0-9][a-zA-Z0-9_.-]";

/// Why a name is refused (the `create NAME: ` prefix is added by the caller).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("volume name is too short, names should be at least two alphanumeric characters")]
    TooShort,
    #[error(
        "{quoted} includes invalid characters for a local volume name, only \"{RESTRICTED_NAME_CHARS}\" are allowed. \
         If you intended to pass a host directory, use absolute path"
    )]
    InvalidCharacters { quoted: String },
    #[error("volume name is too long, names can be at most {MAX_NAME_LEN} characters")]
    TooLong,
}

/// Checks `name` against Docker's rule for local volume names (in Docker's order: length 1
/// first, then the characters), then against the length cap.
pub fn validate(name: &str) -> Result<(), NameError> {
    if name.len() == 1 {
        return Err(NameError::TooShort);
    }
    let bytes = name.as_bytes();
    let first_ok = bytes.first().is_some_and(u8::is_ascii_alphanumeric);
    let rest_ok = bytes.len() >= MIN_NAME_LEN
        && bytes[1..].iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !(first_ok && rest_ok) {
        return Err(NameError::InvalidCharacters { quoted: go_quote(name) });
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong);
    }
    Ok(())
}

/// Whether `name` has the shape of a generated (anonymous) volume name: 64 lowercase hex digits.
pub fn looks_generated(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Go's `%q` of a string: double-quoted, with `"` and `\` escaped, control characters as
/// `\a \b \f \n \r \t \v` or `\xNN`, other unprintable characters as `\uNNNN`/`\UNNNNNNNN`.
/// Docker's messages quote names this way, and clients match on them.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => {
                if (c as u32) <= 0xffff {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_rules_and_texts() {
        let invalid = |q: &str| Err(NameError::InvalidCharacters { quoted: q.to_owned() });
        let long = "a".repeat(MAX_NAME_LEN + 1);
        let cases: &[(&str, Result<(), NameError>)] = &[
            ("pgdata", Ok(())),
            ("ab", Ok(())),
            ("0_a.b-c", Ok(())),
            (&"a".repeat(MAX_NAME_LEN), Ok(())),
            ("a", Err(NameError::TooShort)),
            ("/", Err(NameError::TooShort)),
            ("bad/name", invalid("\"bad/name\"")),
            ("..", invalid("\"..\"")),
            (".hidden", invalid("\".hidden\"")),
            ("_x", invalid("\"_x\"")),
            ("/abs", invalid("\"/abs\"")),
            ("x1\0y", invalid("\"x1\\x00y\"")),
            ("a b", invalid("\"a b\"")),
            ("é", invalid("\"é\"")),
            ("a\"b", invalid("\"a\\\"b\"")),
            (&long, Err(NameError::TooLong)),
        ];
        for (name, want) in cases {
            assert_eq!(&validate(name), want, "{name:?}");
        }
    }

    #[test]
    fn the_invalid_characters_message_is_dockers() {
        let err = validate("bad/name").expect_err("invalid");
        assert_eq!(
            err.to_string(),
            "\"bad/name\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are \
             allowed. If you intended to pass a host directory, use absolute path"
        );
    }

    #[test]
    fn generated_names_are_recognised() {
        assert!(looks_generated(&"ab12".repeat(16)));
        assert!(!looks_generated(&"AB12".repeat(16)));
        assert!(!looks_generated("pgdata"));
    }

    #[test]
    fn go_quote_escapes_like_go() {
        let cases = [("a", "\"a\""), ("\t\n", "\"\\t\\n\""), ("\u{1}", "\"\\x01\""), ("\u{85}", "\"\\u0085\"")];
        for (input, want) in cases {
            assert_eq!(go_quote(input), want, "{input:?}");
        }
    }
}
