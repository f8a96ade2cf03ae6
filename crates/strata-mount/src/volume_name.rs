//! Docker's rule for local volume names, applied to `-v name:/d` and `--mount src=name`.
//!
//! The `-v` syntax cannot tell a volume name from a mistyped host path (`-v data/x:/d` means a
//! volume called `data/x`), so Docker lets the local driver's name check catch it, and its message
//! ends with the hint about absolute paths. Plugins have their own rules, so the check applies only
//! when the volume would be created by the `local` driver.

use crate::error::MountError;

/// The character classes Docker quotes in its error message.
pub const RESTRICTED_NAME_CHARS: &str = "[a-zA-Z0-9][a-zA-Z0-9_.-]";

/// The name of Docker's built-in volume driver.
pub const LOCAL_DRIVER: &str = "local";

/// Whether a volume with this requested driver (empty = the default) is a local volume.
pub fn is_local_driver(driver: &str) -> bool {
    driver.is_empty() || driver == LOCAL_DRIVER
}

/// Checks a name against `^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`, with Docker's two messages.
pub fn validate_local_name(name: &str) -> Result<(), MountError> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err(MountError::VolumeNameInvalid { name: name.to_owned() });
    };
    // Docker counts bytes: a lone multi-byte character is "invalid", not "too short".
    if name.len() == 1 {
        return Err(MountError::VolumeNameTooShort { name: name.to_owned() });
    }
    let first_ok = first.is_ascii_alphanumeric();
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if first_ok && rest_ok { Ok(()) } else { Err(MountError::VolumeNameInvalid { name: name.to_owned() }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVALID_TAIL: &str = "includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path";

    #[test]
    fn names_follow_the_local_driver_rule() {
        let cases: &[(&str, Option<String>)] = &[
            ("pgdata", None),
            ("shared_data", None),
            ("my.vol-1", None),
            ("0a", None),
            ("ab", None),
            (
                "a",
                Some("create a: volume name is too short, names should be at least two alphanumeric characters".into()),
            ),
            ("foo/bar", Some(format!("create foo/bar: \"foo/bar\" {INVALID_TAIL}"))),
            ("/abs", Some(format!("create /abs: \"/abs\" {INVALID_TAIL}"))),
            ("_x", Some(format!("create _x: \"_x\" {INVALID_TAIL}"))),
            ("-x", Some(format!("create -x: \"-x\" {INVALID_TAIL}"))),
            ("a b", Some(format!("create a b: \"a b\" {INVALID_TAIL}"))),
            ("é1", Some(format!("create é1: \"é1\" {INVALID_TAIL}"))),
            ("é", Some(format!("create é: \"é\" {INVALID_TAIL}"))),
        ];
        for (name, want) in cases {
            let got = validate_local_name(name).err().map(|e| e.to_string());
            assert_eq!(&got, want, "{name}");
        }
    }
}
