//! The container side of a consistent volume backup: [`strata_volume::WriterFreeze`] over the
//! runtime's pause (the cgroup freezer).
//!
//! A backup asks to freeze a volume; every running container that has it mounted read-write is
//! paused, and the returned guard resumes exactly those when the backup is done or failed.
//! Containers the user had paused already stay paused (they are not writing, and resuming them
//! would undo the user's pause). If pausing one fails, the ones paused so far are resumed before
//! the error is returned, so nothing is left frozen.
//!
//! The volume service calls this from a blocking thread (backups run off the async executor), so
//! the async pause is driven with the runtime handle of that thread.

use std::sync::{Arc, Weak};

use strata_volume::{FreezeGuard, WriterFreeze};

use crate::service::Containers;
use crate::state::Status;

/// Pauses the writers of a volume through the container service.
#[derive(Debug)]
pub struct VolumeWriters {
    /// Weak: the volume service holds this and the container service holds the volume service.
    containers: Weak<Containers>,
}

impl VolumeWriters {
    pub fn new(containers: &Arc<Containers>) -> VolumeWriters {
        VolumeWriters { containers: Arc::downgrade(containers) }
    }
}

/// The ids of running (not paused) containers with `volume` mounted read-write.
fn writers(containers: &Containers, volume: &str) -> Result<Vec<String>, String> {
    let all = containers.list().map_err(|e| e.to_string())?;
    Ok(all
        .into_iter()
        .filter(|c| c.state.status == Status::Running && containers.is_live(&c.id))
        .filter(|c| c.mounts.inspect_mounts().iter().any(|m| m.mount_type == "volume" && m.name == volume && m.rw))
        .map(|c| c.id)
        .collect())
}

impl WriterFreeze for VolumeWriters {
    fn freeze(&self, volume: &str) -> Result<FreezeGuard, String> {
        let Some(containers) = self.containers.upgrade() else { return Ok(FreezeGuard::nothing()) };
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| "pausing writers needs the daemon's async runtime".to_owned())?;
        let ids = writers(&containers, volume)?;
        let mut paused = Vec::with_capacity(ids.len());
        for id in ids {
            match handle.block_on(containers.pause(&id, true)) {
                Ok(()) => paused.push(id),
                // Stopped between the listing and the pause: it no longer writes.
                Err(crate::ContainerError::NotRunning(_)) => {}
                Err(e) => {
                    resume(&handle, &containers, &paused);
                    return Err(format!("pausing container {id}: {e}"));
                }
            }
        }
        if paused.is_empty() {
            return Ok(FreezeGuard::nothing());
        }
        let to_resume = paused.clone();
        Ok(FreezeGuard::new(paused, move || resume(&handle, &containers, &to_resume)))
    }
}

fn resume(handle: &tokio::runtime::Handle, containers: &Containers, ids: &[String]) {
    for id in ids {
        if let Err(e) = handle.block_on(containers.pause(id, false)) {
            tracing::warn!(container = %id, error = %e, "resuming a container paused for a backup");
        }
    }
}
