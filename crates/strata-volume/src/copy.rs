//! Copying one volume's tree into another (`volume clone`).
//!
//! The copy is the archive crate's packer feeding its confined extractor through a pipe, on two
//! threads: ownership, modes, times, xattrs, symlinks (never followed), hardlinks, devices and
//! FIFOs come out exactly as a backup and restore would give them, with code that is already
//! hardened against hostile trees, and without holding the tree in memory or on disk twice.

use std::io;
use std::path::Path;

use strata_archive::{ApplyOptions, ArchiveError, Ownership, PackOptions, WhiteoutMode};

/// Copies the contents of `src` into the existing, empty directory `dst`.
pub(crate) fn copy_tree(src: &Path, dst: &Path) -> Result<(), ArchiveError> {
    let (reader, writer) = io::pipe().map_err(|source| ArchiveError::Write { source })?;
    std::thread::scope(|scope| {
        let packer = scope.spawn(move || strata_archive::pack(src, &PackOptions::default(), writer));
        let options = ApplyOptions {
            whiteouts: WhiteoutMode::Plain,
            ownership: Ownership::FromArchive,
            no_overwrite_dir_non_dir: false,
            sync: true,
        };
        let applied = strata_archive::apply(reader, dst, &options);
        let packed = packer
            .join()
            .unwrap_or_else(|_| Err(ArchiveError::Write { source: io::Error::other("the packing thread panicked") }));
        // The packer's error is the cause when both failed (the extractor then saw a cut stream).
        packed?;
        applied.map(|_| ())
    })
}
