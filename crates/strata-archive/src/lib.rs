//! strata's tar engine: the one place where archives meet the filesystem.
//!
//! Image layers, `docker cp` in both directions, `docker export`/`commit`/`save`, and volume
//! backups all go through here, so the hard parts are solved once:
//!
//! - [`apply`] extracts a tar stream *confined* to a root directory: no name, `..`, absolute path
//!   or symlink (even one the archive itself just created) can make a write land outside it
//!   (see [`RootDir`] for the mechanism). It hashes the stream as it goes (the diff id) and records a
//!   [`TarSplit`] so the exact stream can be rebuilt later with [`reassemble`] — or skips both
//!   where nobody needs them ([`StreamRecord::Skip`]).
//! - [`pack`] writes a tree back out, deterministically, without following symlinks.
//! - Both convert between OCI whiteouts and overlayfs whiteouts ([`WhiteoutMode`]).
//! - [`decompress`] recognises gzip and zstd input; [`CompressWriter`] produces them.
//!
//! The `tar` crate is used as a parser only; extraction is our own so that every file system
//! operation is fd-relative and non-following. Parsing (names, whiteouts, PAX records, headers)
//! is kept in pure functions ([`name`], `header`), unit-tested without a disk.
//!
//! Everything here is blocking I/O: async callers run it in `spawn_blocking`.

mod apply;
mod compress;
mod digest;
mod error;
mod header;
pub mod name;
mod pack;
mod root;
mod tap;
mod tarsplit;

pub use apply::{ApplyOptions, ApplyReport, Ownership, StreamRecord, WRITEBACK_MIN, WhiteoutMode, apply};
pub use compress::{CompressWriter, Compression, Decompressed, decompress};
pub use digest::Sha256Digest;
pub use error::ArchiveError;
pub use pack::{PackOptions, PackReport, pack};
pub use root::RootDir;
pub use tarsplit::{ReassembleReport, Segment, TarSplit, reassemble};
