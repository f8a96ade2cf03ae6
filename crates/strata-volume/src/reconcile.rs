//! Start-up repair: whatever a `kill -9` left between two steps of a create, remove, prune,
//! mount or unmount is finished or undone here, before the API serves a request.
//!
//! The rules, each following from the order the operations use:
//!
//! 1. A recorded removal (row gone, directory maybe not) is finished: its directory — and its
//!    trash entry — deleted. Everything in the trash is deleted.
//! 2. A stray mount on a volume's `_data` that no holder has recorded is unmounted (a crash
//!    between mount and record, or between unrecord and unmount).
//! 3. A volume directory without a row is a create that did not finish when it holds nothing
//!    (it is deleted), and data to keep otherwise: it is adopted as a volume (never lose data).
//! 4. A row whose directory is missing (deleted behind strata's back) gets an empty directory.
//!
//! The work is one directory read of `<data-root>/volumes`, one read of the volume names and
//! one of the mount table — no per-volume probes — so it stays fast with many volumes.

use std::collections::{BTreeMap, HashSet};
use std::os::unix::fs::MetadataExt;

use crate::db::{self, DATA_DIR, Volume};
use crate::error::{Op, VolumeError};
use crate::fsops::{self, OrphanState};
use crate::name;
use crate::service::{LOCAL_DRIVER, TRASH_DIR, Volumes};

/// What the repair did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepairReport {
    /// Removals that a crash interrupted, now finished.
    pub finished_removals: Vec<String>,
    /// Directories of creates that did not finish, deleted.
    pub incomplete_removed: Vec<String>,
    /// Directories with data but no row, adopted as volumes.
    pub adopted: Vec<String>,
    /// Volumes whose missing directory was made again.
    pub recreated: Vec<String>,
    /// Stray mounts removed.
    pub unmounted: Vec<String>,
}

impl RepairReport {
    /// Whether anything needed repair.
    pub fn is_empty(&self) -> bool {
        *self == RepairReport::default()
    }
}

impl Volumes {
    /// Repairs what a crash left (see the module documentation). Call once at start, before
    /// serving.
    pub fn reconcile(&self) -> Result<RepairReport, VolumeError> {
        let mut report = RepairReport::default();
        let io = |what, path: &std::path::Path, e| VolumeError::io(Op::Reconcile, "volumes", what, path, e);

        // 1. Unfinished removals, and the trash.
        let removals = db::removals(&self.store.conn())?;
        let mut names: HashSet<String> = db::names(&self.store.conn())?.into_iter().collect();
        let mut finished = Vec::new();
        for (name, trash) in removals {
            if !names.contains(&name) && name::validate(&name).is_ok() {
                self.delete_unmounting(&self.dir_of(&name));
            }
            if !trash.is_empty() && !trash.contains('/') {
                self.delete_unmounting(&self.trash.join(&trash));
            }
            finished.push(name);
        }
        if !finished.is_empty() {
            self.store.write(|tx| db::finish_removals(tx, &finished))?;
        }
        for entry in std::fs::read_dir(&self.trash).map_err(|e| io("cannot read", &self.trash, e))? {
            let entry = entry.map_err(|e| io("cannot read", &self.trash, e))?;
            self.delete_unmounting(&entry.path());
        }
        report.finished_removals = finished;

        // 2. Stray mounts (after dropping the holds of transfers a crash interrupted).
        let stale = crate::transfer::drop_stale_holds(&self.store.conn())?;
        if stale > 0 {
            tracing::info!(count = stale, "dropped the holds of volume transfers interrupted by a restart");
        }
        let mounted: HashSet<String> = db::mounted_volumes(&self.store.conn())?.into_iter().collect();
        if let Ok(table) = strata_sys::mountinfo::read() {
            for target in strata_sys::mountinfo::mounts_under(&table, &self.root) {
                let Ok(rel) = target.strip_prefix(&self.root) else { continue };
                let parts: Vec<_> = rel.components().collect();
                let name = parts.first().map(|c| c.as_os_str().to_string_lossy().into_owned()).unwrap_or_default();
                let is_data = parts.len() == 2 && parts[1].as_os_str() == DATA_DIR;
                if is_data && names.contains(&name) && !mounted.contains(&name) {
                    tracing::warn!(volume = %name, "unmounting a volume mount no holder has recorded");
                    if self.mounter.unmount(&target).is_ok() {
                        report.unmounted.push(name);
                    }
                }
            }
        }

        // 3. Directories without rows.
        let mut seen = HashSet::new();
        for entry in std::fs::read_dir(&self.root).map_err(|e| io("cannot read", &self.root, e))? {
            let entry = entry.map_err(|e| io("cannot read", &self.root, e))?;
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str() else { continue };
            if name == TRASH_DIR {
                continue;
            }
            if names.contains(name) {
                seen.insert(name.to_owned());
                continue;
            }
            if name::validate(name).is_err() || !entry.file_type().is_ok_and(|t| t.is_dir()) {
                tracing::warn!(entry = %entry.path().display(), "ignoring an entry of the volumes directory that is not a volume");
                continue;
            }
            match fsops::orphan_state(&entry.path(), DATA_DIR) {
                Ok(OrphanState::Empty) => {
                    tracing::info!(volume = %name, "deleting the directory of a volume whose create did not finish");
                    if fsops::remove_tree(&entry.path()).is_ok() {
                        report.incomplete_removed.push(name.to_owned());
                    }
                }
                Ok(OrphanState::HasData) => {
                    let created_at = entry.metadata().map(|m| m.mtime()).unwrap_or_else(|_| crate::service::now_secs());
                    let v = Volume {
                        name: name.to_owned(),
                        driver: LOCAL_DRIVER.to_owned(),
                        labels: BTreeMap::new(),
                        options: BTreeMap::new(),
                        created_at,
                        mountpoint: entry.path().join(DATA_DIR),
                        quota: None,
                    };
                    if !v.mountpoint.exists() {
                        let _ = std::fs::create_dir(&v.mountpoint);
                    }
                    tracing::warn!(volume = %name, "adopting a volume directory that has data but no metadata");
                    self.store.write(|tx| db::insert(tx, &v))?;
                    names.insert(name.to_owned());
                    seen.insert(name.to_owned());
                    report.adopted.push(name.to_owned());
                }
                Err(e) => {
                    tracing::warn!(volume = %name, error = %e, "cannot inspect a volume directory without metadata")
                }
            }
        }

        // 4. Rows without directories.
        for name in names.difference(&seen) {
            let Some(v) = db::get(&self.store.conn(), &self.root, name)? else { continue };
            tracing::warn!(volume = %name, "volume directory is missing; recreating it empty");
            match self.recreate_dirs(&v) {
                Ok(()) => report.recreated.push(name.clone()),
                Err(e) => tracing::warn!(volume = %name, error = %e, "cannot recreate a volume directory"),
            }
        }
        for list in [
            &mut report.finished_removals,
            &mut report.incomplete_removed,
            &mut report.adopted,
            &mut report.recreated,
            &mut report.unmounted,
        ] {
            list.sort();
        }
        Ok(report)
    }

    /// Deletes `path`, first detaching anything mounted below it (a removed volume's mount).
    fn delete_unmounting(&self, path: &std::path::Path) {
        if fsops::remove_tree(path).is_ok() {
            return;
        }
        let _ = strata_sys::mountinfo::unmount_all_under(path);
        if let Err(e) = fsops::remove_tree(path) {
            tracing::warn!(path = %path.display(), error = %e, "cannot delete the remains of a removed volume");
        }
    }
}
