//! The consistency hook of backups: freezing the writers of a volume while it is read.
//!
//! A backup of a database's volume taken while the database writes is a torn copy. The daemon
//! therefore asks a [`WriterFreeze`] to pause every container that has the volume mounted
//! read-write before it reads the data, and resumes them as soon as the data is read — also when
//! the backup fails, because resuming happens when the [`FreezeGuard`] is dropped.
//!
//! The volume service does not know containers; the container service implements this trait
//! (with the runtime's pause/resume) and installs it with [`crate::Volumes::set_writer_freeze`].
//! Until then [`NoWriters`] is installed, which pauses nothing. `--no-pause` skips the call, and
//! the manifest records whether it was made and which containers it paused.

use std::fmt;

/// Pauses the containers writing to a volume.
pub trait WriterFreeze: Send + Sync + fmt::Debug {
    /// Pauses every running container that has `volume` mounted read-write and returns a guard
    /// that resumes them when dropped. On an error nothing may be left paused.
    fn freeze(&self, volume: &str) -> Result<FreezeGuard, String>;
}

/// Containers paused for a backup; dropping it resumes them.
pub struct FreezeGuard {
    paused: Vec<String>,
    resume: Option<Box<dyn FnOnce() + Send>>,
}

impl FreezeGuard {
    /// A guard over `paused` containers; `resume` runs exactly once, on drop.
    pub fn new(paused: Vec<String>, resume: impl FnOnce() + Send + 'static) -> FreezeGuard {
        FreezeGuard { paused, resume: Some(Box::new(resume)) }
    }

    /// Nothing was paused.
    pub fn nothing() -> FreezeGuard {
        FreezeGuard { paused: Vec::new(), resume: None }
    }

    /// The ids of the paused containers.
    pub fn paused(&self) -> &[String] {
        &self.paused
    }
}

impl Drop for FreezeGuard {
    fn drop(&mut self) {
        if let Some(resume) = self.resume.take() {
            resume();
        }
    }
}

impl fmt::Debug for FreezeGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FreezeGuard").field("paused", &self.paused).finish()
    }
}

/// The freeze of an engine without containers: nothing to pause.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoWriters;

impl WriterFreeze for NoWriters {
    fn freeze(&self, _volume: &str) -> Result<FreezeGuard, String> {
        Ok(FreezeGuard::nothing())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn resume_runs_once_on_drop() {
        let resumed = Arc::new(AtomicUsize::new(0));
        let r = resumed.clone();
        let guard = FreezeGuard::new(vec!["c1".into()], move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(guard.paused(), ["c1"]);
        assert_eq!(resumed.load(Ordering::SeqCst), 0);
        drop(guard);
        assert_eq!(resumed.load(Ordering::SeqCst), 1);
        assert!(NoWriters.freeze("v").expect("freeze").paused().is_empty());
    }
}
