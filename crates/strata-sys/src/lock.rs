//! Exclusive ownership of a directory by one process, through `flock(2)` on a lock file.
//!
//! Two daemons writing the same data-root would corrupt it. The lock is advisory and held as long
//! as the returned [`DirLock`] lives (the kernel drops it when the process dies, even by
//! `kill -9`), so a stale lock file never blocks a restart.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::FlockOperation;

/// A held lock on a directory. Dropping it releases the lock.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    path: PathBuf,
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{path} is locked by another process (pid {holder})")]
    Held { path: PathBuf, holder: String },
    #[error("cannot open lock file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

impl DirLock {
    /// Takes the exclusive lock `path` without waiting, and writes our pid into the file so an
    /// operator (and the error message of the next contender) can see who holds it.
    pub fn acquire(path: &Path) -> Result<DirLock, LockError> {
        let io_err = |source| LockError::Io { path: path.to_owned(), source };
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_err)?;
        match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => {
                let holder = std::fs::read_to_string(path).map(|s| s.trim().to_owned()).unwrap_or_default();
                let holder = if holder.is_empty() { "unknown".to_owned() } else { holder };
                return Err(LockError::Held { path: path.to_owned(), holder });
            }
            Err(e) => return Err(io_err(e.into())),
        }
        file.set_len(0).map_err(io_err)?;
        use std::io::Write;
        (&file).write_all(format!("{}\n", std::process::id()).as_bytes()).map_err(io_err)?;
        Ok(DirLock { _file: file, path: path.to_owned() })
    }

    /// Where the lock file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_fails_and_names_the_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lock");
        let first = DirLock::acquire(&path).expect("first lock");
        // flock locks belong to the open file description, so a second open in the same process
        // conflicts exactly as another process would.
        match DirLock::acquire(&path) {
            Err(LockError::Held { holder, .. }) => {
                assert_eq!(holder, std::process::id().to_string())
            }
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first);
        DirLock::acquire(&path).expect("lock is free again after drop");
    }
}
