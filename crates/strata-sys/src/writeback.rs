//! Starting writeback early: extractors that end with a `syncfs` tell the kernel to write each
//! large file as soon as it is complete, so the disk works while the next files are created and
//! the final sync has little left to wait for. Without this nothing is written before the sync
//! on a machine with much memory (background writeback starts at 10% of RAM dirty).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Starts writing the dirty pages of the file `fd` to its device and returns without waiting
/// (`sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE)`). It makes nothing durable by itself: a
/// later `fsync`/`syncfs` does, and finds less to do.
pub fn start(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: sync_file_range takes an fd (borrowed, so open for the call), two integers and
    // flags; it touches no memory of ours.
    let r = unsafe { libc::sync_file_range(fd.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
    if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsFd;

    #[test]
    fn starts_writeback_of_a_regular_file() {
        let mut f = tempfile::tempfile().expect("tempfile");
        f.write_all(&[7u8; 65536]).expect("write");
        start(f.as_fd()).expect("sync_file_range");
        let (r, _w) = std::io::pipe().expect("pipe");
        assert!(start(r.as_fd()).is_err(), "a pipe has no pages to write");
    }
}
