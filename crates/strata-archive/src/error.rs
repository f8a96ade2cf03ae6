//! The one error type of the crate.
//!
//! Every variant names the object it failed on (the entry's index and name as written in the
//! archive, or the path inside the root) and the operation, because an archive error is usually
//! reported to a user who only has the tar file in hand: "entry 17 \"etc/passwd\": cannot chown"
//! tells them where to look, "permission denied" does not.

use std::io;
use std::path::PathBuf;

/// Why an archive could not be applied, packed, reassembled or decompressed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// The target (or source) root directory could not be opened.
    #[error("cannot open root directory {path}: {source}")]
    Root { path: PathBuf, source: io::Error },

    /// The stream is not a readable tar archive at this point (bad header, checksum, truncation
    /// inside a header, oversized extension header).
    #[error("cannot read archive after {entries} entries (at byte {offset}): {source}")]
    Read { entries: u64, offset: u64, source: io::Error },

    /// A system call failed while applying an entry.
    #[error("entry {index} {name:?}: cannot {op}: {source}")]
    Entry { index: u64, name: String, op: &'static str, source: io::Error },

    /// An entry was refused because applying it would be unsafe or meaningless (its path leaves
    /// the root, its name holds a NUL byte, it would replace the root itself).
    #[error("entry {index} {name:?}: refused: {reason}")]
    Refused { index: u64, name: String, reason: String },

    /// The stream ended inside an entry's contents.
    #[error("entry {index} {name:?}: archive ends {missing} bytes before the end of the entry's contents")]
    Truncated { index: u64, name: String, missing: u64 },

    /// `no_overwrite_dir_non_dir` forbids replacing a directory by a non-directory or the reverse.
    #[error("entry {index} {name:?}: cannot overwrite {existing} with {replacement}")]
    DirNonDir { index: u64, name: String, existing: &'static str, replacement: &'static str },

    /// The entry type cannot be represented on a filesystem (GNU volume labels, multi-volume
    /// continuations and the like).
    #[error("entry {index} {name:?}: unsupported entry type {kind:?}")]
    UnsupportedEntryType { index: u64, name: String, kind: char },

    /// A file or directory could not be read while packing.
    #[error("cannot {op} {path:?} while packing: {source}")]
    Pack { path: String, op: &'static str, source: io::Error },

    /// The output stream refused a write.
    #[error("cannot write archive: {source}")]
    Write { source: io::Error },

    /// A tar-split record could not be decoded.
    #[error("invalid tar-split record: {reason}")]
    InvalidTarSplit { reason: String },

    /// A tar-split record could not be compressed.
    #[error("cannot encode tar-split record: {source}")]
    EncodeTarSplit { source: io::Error },

    /// A file named by a tar-split record could not be read back.
    #[error("cannot {op} {path:?} while reassembling: {source}")]
    Reassemble { path: String, op: &'static str, source: io::Error },

    /// A file named by a tar-split record no longer has the size it was applied with.
    #[error("file {path:?} changed since it was applied: expected {expected} bytes, found {found}")]
    ReassembleChanged { path: String, expected: u64, found: u64 },

    /// The stream is compressed with an algorithm strata does not read.
    #[error("unsupported compression: {kind}")]
    UnsupportedCompression { kind: &'static str },

    /// The compressed stream could not be opened.
    #[error("cannot read compressed stream: {source}")]
    Decompress { source: io::Error },

    /// `syncfs` after applying failed: the data may not be durable.
    #[error("cannot sync filesystem after applying: {source}")]
    Sync { source: io::Error },
}

impl ArchiveError {
    /// Whether the error is the input's fault (a malformed or hostile archive, a forbidden
    /// overwrite) rather than the system's; the API maps these to 400 and the rest to 500.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            ArchiveError::Read { .. }
                | ArchiveError::Refused { .. }
                | ArchiveError::Truncated { .. }
                | ArchiveError::DirNonDir { .. }
                | ArchiveError::UnsupportedEntryType { .. }
                | ArchiveError::UnsupportedCompression { .. }
                | ArchiveError::Decompress { .. }
        )
    }
}

/// The lossy text form of a name from an archive or a path inside a root, for messages.
pub(crate) fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
