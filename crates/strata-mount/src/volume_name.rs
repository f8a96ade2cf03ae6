//! Docker's rule for local volume names — the one place it is written down. It applies to
//! `docker volume create`, `-v name:/d` and `--mount src=name` (through [`crate::plan`]), and the
//! volume service checks every name it stores with it (`strata_volume::name` re-exports it).
//!
//! A volume's name becomes a directory name under `<data-root>/volumes/`, so the rule is also a
//! security boundary: `[a-zA-Z0-9][a-zA-Z0-9_.-]+` cannot contain `/` or NUL and cannot be `.`
//! or `..`, and the length cap keeps it within one path component (`NAME_MAX`). Docker has no
//! length cap and answers an over-long name with a 500 from `mkdir`; strata refuses it up front.
//!
//! The `-v` syntax cannot tell a volume name from a mistyped host path (`-v data/x:/d` means a
//! volume called `data/x`), so Docker lets the local driver's name check catch it, and its message
//! ends with the hint about absolute paths. Plugins have their own rules, so the check applies only
//! when the volume would be created by the `local` driver.

use crate::gocompat::quote;

/// The shortest name Docker accepts.
pub const MIN_NAME_LEN: usize = 2;
/// The longest name: one path component (`NAME_MAX`).
pub const MAX_NAME_LEN: usize = 255;
/// The allowed characters, as Docker spells them in its error message.
pub const RESTRICTED_NAME_CHARS: &str = "[a-zA-Z0-9][a-zA-Z0-9_.-]";

/// The name of Docker's built-in volume driver.
pub const LOCAL_DRIVER: &str = "local";

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

/// Whether a volume with this requested driver (empty = the default) is a local volume.
pub fn is_local_driver(driver: &str) -> bool {
    driver.is_empty() || driver == LOCAL_DRIVER
}

/// Checks `name` against Docker's rule for local volume names (in Docker's order: length 1
/// first — Docker counts bytes, so a lone multi-byte character is "invalid", not "too short" —
/// then the characters), then against the length cap.
pub fn validate(name: &str) -> Result<(), NameError> {
    if name.len() == 1 {
        return Err(NameError::TooShort);
    }
    let bytes = name.as_bytes();
    let first_ok = bytes.first().is_some_and(u8::is_ascii_alphanumeric);
    let rest_ok = bytes.len() >= MIN_NAME_LEN
        && bytes[1..].iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !(first_ok && rest_ok) {
        return Err(NameError::InvalidCharacters { quoted: quote(name) });
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MountError;

    const INVALID_TAIL: &str = "includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path";

    #[test]
    fn docker_rules() {
        let invalid = |q: &str| Err(NameError::InvalidCharacters { quoted: q.to_owned() });
        let long = "a".repeat(MAX_NAME_LEN + 1);
        let cases: &[(&str, Result<(), NameError>)] = &[
            ("pgdata", Ok(())),
            ("ab", Ok(())),
            ("0a", Ok(())),
            ("0_a.b-c", Ok(())),
            (&"a".repeat(MAX_NAME_LEN), Ok(())),
            ("a", Err(NameError::TooShort)),
            ("/", Err(NameError::TooShort)),
            ("", invalid("\"\"")),
            ("bad/name", invalid("\"bad/name\"")),
            ("..", invalid("\"..\"")),
            (".hidden", invalid("\".hidden\"")),
            ("_x", invalid("\"_x\"")),
            ("-x", invalid("\"-x\"")),
            ("/abs", invalid("\"/abs\"")),
            ("x1\0y", invalid("\"x1\\x00y\"")),
            ("a b", invalid("\"a b\"")),
            ("é", invalid("\"é\"")),
            ("é1", invalid("\"é1\"")),
            ("a\"b", invalid("\"a\\\"b\"")),
            (&long, Err(NameError::TooLong)),
        ];
        for (name, want) in cases {
            assert_eq!(&validate(name), want, "{name:?}");
        }
    }

    #[test]
    fn mount_errors_carry_dockers_texts() {
        let text = |name: &str| {
            let source = validate(name).expect_err("invalid");
            MountError::VolumeName { name: name.to_owned(), source }.to_string()
        };
        assert_eq!(
            text("a"),
            "create a: volume name is too short, names should be at least two alphanumeric characters"
        );
        assert_eq!(text("foo/bar"), format!("create foo/bar: \"foo/bar\" {INVALID_TAIL}"));
        assert_eq!(text("a b"), format!("create a b: \"a b\" {INVALID_TAIL}"));
    }
}
