//! The volume backup format, shared by the daemon (which writes and reads backup streams) and
//! the CLI (which stores them in a destination and applies retention).
//!
//! # The format, and why
//!
//! A backup is two files in a destination directory:
//!
//! - `<volume>_<UTC time>.tar.zst`: the volume's contents as a tar stream compressed with zstd
//!   (multi-threaded on the daemon's side). Any `zstd -d | tar x` can read it, with no strata.
//! - `<volume>_<UTC time>.manifest.json`: the [`Manifest`] — what the volume was (driver,
//!   options, labels, creation time), what the stream holds (entries, bytes) and its sha256.
//!
//! The manifest is written **last** (to a temporary name, then renamed), so a backup interrupted
//! at any point — a killed daemon or CLI, a full disk — leaves no manifest, and listings, restores
//! and retention ignore data files without one ([`dir`]).
//!
//! Between the daemon and the CLI the manifest travels inside the zstd stream as a *skippable
//! frame* ([`frame`]): after the data on the way out of `POST /volumes/{name}/backup` (the
//! checksum is only known at the end), before it on the way into `POST /volumes/restore` (the
//! daemon must know the volume's options and the checksum before it applies anything). zstd
//! decoders skip such frames, so the wire form is itself a valid `.tar.zst`.
//!
//! [`retention`] is the pure decision of `strata volume backups prune`; I/O stays in [`dir`].

pub mod dir;
pub mod frame;
pub mod manifest;
pub mod retention;

pub use manifest::{FORMAT_VERSION, Manifest};
