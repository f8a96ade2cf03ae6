//! Volume names: Docker's rule, and the guarantee that a name is one plain directory entry.
//!
//! The rule itself lives in `strata_mount::volume_name` (one copy for `volume create`, `-v` and
//! `--mount`, see there for why it is also a security boundary); this module re-exports it and
//! adds what only the volume service needs.

pub use strata_mount::gocompat::quote as go_quote;
pub use strata_mount::volume_name::{MAX_NAME_LEN, MIN_NAME_LEN, NameError, RESTRICTED_NAME_CHARS, validate};

/// Whether `name` has the shape of a generated (anonymous) volume name: 64 lowercase hex digits.
pub fn looks_generated(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
