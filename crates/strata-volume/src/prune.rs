//! Prune (remove every unused volume a filter selects) and disk usage (each volume's size and
//! reference count, for `system df`).
//!
//! Prune removes thousands of volumes in one go, so it is built for that: one read to find the
//! candidates, one statement that deletes all their rows (and records the removals), the
//! directories measured and moved into the trash on a few threads outside any lock, one
//! statement to close the records; the trash is emptied in the background.
//! Volumes someone is working on at that moment (their name is locked) are skipped, not waited
//! for. Only one prune runs at a time (Docker answers a second one with a conflict).

use std::sync::atomic::Ordering;

use crate::crash;
use crate::db::{self, Volume};
use crate::error::{Op, VolumeError};
use crate::filter::PruneFilter;
use crate::fsops;
use crate::service::{LOCAL_DRIVER, Volumes, random_name};

/// The result of a prune.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Names of the removed volumes, sorted.
    pub deleted: Vec<String>,
    /// Bytes the removed volumes held (apparent sizes, as Docker counts them).
    pub space_reclaimed: u64,
    /// Candidates left alone, with the reason (protected by [`PROTECT_LABEL`]).
    pub skipped: Vec<(String, String)>,
}

/// The label that keeps a volume out of every prune (a strata extension).
pub const PROTECT_LABEL: &str = "strata.protect";

fn is_protected(v: &Volume) -> bool {
    matches!(v.labels.get(PROTECT_LABEL).map(String::as_str), Some("1" | "t" | "T" | "true" | "TRUE" | "True"))
}

/// A volume's disk usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeUsage {
    pub volume: Volume,
    /// Bytes used, or -1 when unknown.
    pub size: i64,
    /// How many holders reference it.
    pub ref_count: u64,
}

/// Length of the random names of trash entries.
const TRASH_NAME_LEN: usize = 24;
/// How many threads move or measure volume directories at once.
const WORKERS: usize = 4;
/// Fewer volumes than this are handled on the calling thread.
const PARALLEL_THRESHOLD: usize = 64;

/// [`strata_sys::parallel::map`] with the volume service's worker count and threshold.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<Option<R>> {
    strata_sys::parallel::map(items, WORKERS, PARALLEL_THRESHOLD, f)
}

/// Resets the "prune running" flag when a prune ends, however it ends.
struct PruneFlag<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for PruneFlag<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl Volumes {
    /// Removes the local volumes without options that no holder references and `filter`
    /// selects.
    pub fn prune(&self, filter: &PruneFilter) -> Result<PruneReport, VolumeError> {
        self.prune_with(filter, false)
    }

    /// [`Volumes::prune`], never removing a volume labelled `strata.protect=true` (reported in
    /// `skipped`); with `dry_run`, only reports what would be removed and the bytes it holds.
    pub fn prune_with(&self, filter: &PruneFilter, dry_run: bool) -> Result<PruneReport, VolumeError> {
        if self.prune_running.swap(true, Ordering::SeqCst) {
            return Err(VolumeError::PruneRunning);
        }
        let _flag = PruneFlag(&self.prune_running);
        let mut skipped = Vec::new();
        let selected: Vec<Volume> = db::list(&self.store.conn(), &self.root)?
            .into_iter()
            .filter(|(v, refs)| *refs == 0 && v.driver == LOCAL_DRIVER && !v.has_options() && filter.matches(&v.labels))
            .map(|(v, _)| v)
            .filter(|v| {
                let protected = is_protected(v);
                if protected {
                    skipped.push((v.name.clone(), format!("protected by label {PROTECT_LABEL}=true")));
                }
                !protected
            })
            .collect();
        if dry_run {
            let sizes = parallel_map(&selected, |v| self.size_of(v).max(0) as u64);
            let mut report = PruneReport { skipped, ..PruneReport::default() };
            report.space_reclaimed = sizes.iter().flatten().sum();
            report.deleted = selected.into_iter().map(|v| v.name).collect();
            report.deleted.sort();
            return Ok(report);
        }
        let candidates: Vec<String> = selected.into_iter().map(|v| v.name).collect();
        if candidates.is_empty() {
            return Ok(PruneReport { skipped, ..PruneReport::default() });
        }
        let guard = self.locks.try_lock_free(candidates);
        // Re-checked inside the transaction: a holder may have appeared since the read.
        let removed = self.store.write(|tx| db::delete_unused_for_removal(tx, &self.root, guard.names()))?;
        // Each volume is measured and moved into the trash (no data is deleted on this path:
        // deleting thousands of directories is slow on filesystems that discard freed blocks);
        // the trash is emptied by a background thread, and at the next start if need be.
        let outcomes = parallel_map(&removed, |v| {
            let outcome = self.move_aside(v);
            crash::point(crash::PRUNE_MIDWAY);
            outcome
        });
        let mut report = PruneReport { skipped, ..PruneReport::default() };
        let mut finished = Vec::with_capacity(removed.len());
        let mut moved = Vec::with_capacity(removed.len());
        for (v, outcome) in removed.iter().zip(outcomes) {
            // A volume whose disposal panicked: its row is gone and its removal stays recorded,
            // so the next start finishes it.
            let (size, complete, trash) = outcome.unwrap_or((0, false, None));
            self.sizes.forget(&v.name);
            report.space_reclaimed += size;
            report.deleted.push(v.name.clone());
            if complete {
                finished.push(v.name.clone());
            }
            moved.extend(trash);
        }
        self.store.write(|tx| db::finish_removals(tx, &finished))?;
        drop(guard);
        self.empty_trash_later(moved);
        report.deleted.sort();
        Ok(report)
    }

    /// Measures a pruned volume and moves its directory into the trash: (bytes it held, whether
    /// its removal is complete as far as the record goes, the trash entry to delete).
    fn move_aside(&self, v: &Volume) -> (u64, bool, Option<std::path::PathBuf>) {
        if v.quota.is_some() {
            let (size, complete) = self.dispose(v);
            return (size, complete, None);
        }
        // The remembered size when there is one (the volume has no holder, so nothing strata
        // runs can have written since it was measured): a prune after `system df` reads no file.
        let size = self.sizes.get(&v.name).or_else(|_| fsops::tree_size(&v.mountpoint)).unwrap_or(0);
        let trash = self.trash.join(&random_name()[..TRASH_NAME_LEN]);
        match std::fs::rename(self.root.join(&v.name), &trash) {
            Ok(()) => (size, true, Some(trash)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (size, true, None),
            Err(_) => {
                let (_, complete) = self.dispose(v);
                (size, complete, None)
            }
        }
    }

    /// Deletes trash entries on a thread of their own. Whatever it cannot delete (a mount was
    /// left inside) stays for the start-up repair, which unmounts before deleting.
    fn empty_trash_later(&self, entries: Vec<std::path::PathBuf>) {
        if entries.is_empty() {
            return;
        }
        let spawned = std::thread::Builder::new().name("volume-trash".into()).spawn(move || {
            for entry in entries {
                if let Err(e) = fsops::remove_tree(&entry) {
                    tracing::warn!(path = %entry.display(), error = %e, "cannot delete a pruned volume; the next start will");
                }
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start deleting pruned volumes; the next start will");
        }
    }

    /// The size and reference count of every local volume without options (what Docker's
    /// `system df` reports; volumes with options are not local data and are left out).
    pub fn usage(&self) -> Result<Vec<VolumeUsage>, VolumeError> {
        let all: Vec<(Volume, u64)> = db::list(&self.store.conn(), &self.root)?
            .into_iter()
            .filter(|(v, _)| v.driver == LOCAL_DRIVER && !v.has_options())
            .collect();
        let sizes = parallel_map(&all, |(v, _)| self.size_of(v));
        Ok(all
            .into_iter()
            .zip(sizes)
            .map(|((volume, ref_count), size)| VolumeUsage { volume, size: size.unwrap_or(-1), ref_count })
            .collect())
    }

    /// The usage of one volume (any volume: a size-limited one is read from its quota
    /// counters).
    pub fn usage_of(&self, name: &str) -> Result<VolumeUsage, VolumeError> {
        let conn = self.store.conn();
        let volume = db::get(&conn, &self.root, name)?.ok_or_else(|| VolumeError::not_found(Op::Usage, name))?;
        let ref_count = db::holders(&conn, name)?.len() as u64;
        drop(conn);
        let size = self.size_of(&volume);
        Ok(VolumeUsage { volume, size, ref_count })
    }

    /// Bytes used by a volume's `_data`: its quota counter when it has a size limit (O(1)),
    /// otherwise a walk; -1 when it cannot be read.
    fn size_of(&self, v: &Volume) -> i64 {
        let counted = match v.quota {
            Some(q) => self.quota.usage(q.kind, &v.mountpoint, q.project_id),
            None => match self.sizes.get(&v.name) {
                Ok(size) => Ok(size),
                Err(epoch) => fsops::tree_size(&v.mountpoint).inspect(|size| self.sizes.keep(&v.name, epoch, *size)),
            },
        };
        match counted {
            Ok(n) => i64::try_from(n).unwrap_or(i64::MAX),
            Err(e) => {
                tracing::warn!(volume = %v.name, error = %e, "cannot determine the size of a volume");
                -1
            }
        }
    }
}
