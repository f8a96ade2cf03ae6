//! Volumes: named directories under `<data-root>/volumes/<name>/_data` that outlive containers,
//! managed with Docker's semantics and without Docker's data-loss and consistency bugs.
//!
//! # Why it is built this way
//!
//! - **One transactional store.** A volume's metadata, the references from containers to it,
//!   and the mount count of volumes with mount options are rows in the SQLite store
//!   ([`MIGRATIONS`]). "In use" is a foreign key, not an in-memory map a restart forgets.
//! - **Directories and rows in a fixed order.** Directories are made before a volume's row is
//!   committed and deleted only after the row is gone and the removal recorded, so a crash at
//!   any point leaves a state [`Volumes::reconcile`] repairs to "complete or nothing" — and a
//!   directory with data but no row is adopted, never deleted.
//! - **Per-name locks, no global lock.** Operations on one volume are serialised by a lock on its
//!   name; nothing holds a lock over all volumes across a mount, a deletion or a slow driver
//!   call, and the store's mutex is only held for single short transactions.
//! - **Size limits that work.** `-o size=…` sets a project quota (xfs, ext4) or a btrfs quota
//!   group on the volume's `_data`; where the filesystem cannot, the error says why and what to do.
//!
//! # Contract for the container service
//!
//! The container service references volumes from container ids (*holders*), in its own
//! transactions:
//!
//! - **Create a container with volumes**: `let p = volumes.prepare(requests)?;` (outside any
//!   transaction: validates, generates anonymous names, locks the names, makes directories), then
//!   in *one* `store.write(|tx| …)` of its own: `p.commit_in(tx, &container_id)?` (rows of new
//!   volumes + a reference from the container to every volume) together with the container's own
//!   rows. Drop `p` after the transaction, outside the store lock: directories made for volumes
//!   whose rows did not commit are deleted, and the names are unlocked. A request with `name:
//!   None` is an anonymous volume (64-hex name, label [`ANONYMOUS_LABEL`]); a named one that
//!   exists is reused as it is.
//! - **Reference an existing volume**: [`add_reference_in`] inside the transaction.
//! - **Remove a container**: [`release_holder_in`] inside the transaction (returns the volumes it
//!   referenced); after commit, remove the anonymous ones with [`Volumes::remove`] and ignore
//!   [`VolumeError::InUse`] (another container still uses it). Named volumes are kept.
//! - **Start / stop**: [`Volumes::mount_for`]`(name, container_id)` before starting returns the
//!   host directory to bind (`_data`), mounting a volume with `type`/`device`/`o` on its first
//!   use; [`Volumes::unmount_for`] after the container stopped unmounts it after its last use.
//!   Both are idempotent per holder and must be called outside the store lock (they may be slow).
//!   Every container that called `mount_for` must call `unmount_for` once it stops, also from the
//!   container service's own start-up repair for containers that died with the daemon (that
//!   repair runs before [`Volumes::reconcile`]).
//!
//! # Data in and out
//!
//! [`Volumes::export`]/[`Volumes::import`] (plain tar, Podman's commands),
//! [`Volumes::clone_volume`], and [`Volumes::backup`]/[`Volumes::restore`] (the
//! `strata-backup` format, with writers paused through [`WriterFreeze`]) live in `transfer`.
//! Whatever fills a volume is staged and made visible in one `rename` when it is complete.
//! Import, restore and clone report their [`progress`] to a callback.
//!
//! # Modules
//!
//! [`name`] and [`options`] are pure parsing; [`filter`] the meaning of list and prune filters;
//! [`mount`] and [`quota`] the kernel calls behind traits with fakes; the service itself is
//! [`Volumes`].

mod active;
pub mod copy;
pub mod crash;
mod db;
mod error;
pub mod filter;
pub mod freeze;
mod fsops;
mod holders;
mod locks;
pub mod mount;
pub mod name;
pub mod options;
pub mod progress;
mod prune;
pub mod quota;
mod reconcile;
mod service;
mod sizes;
mod transfer;

pub use db::{DATA_DIR, MIGRATIONS, Quota, Volume, VolumeRecord};
pub use error::{Op, VolumeError};
pub use filter::{ANONYMOUS_LABEL, LabelTerm, ListFilter, NamePattern, PruneFilter};
pub use freeze::{FreezeGuard, NoWriters, WriterFreeze};
pub use holders::{Prepared, add_reference_in, holders_in, release_holder_in, remove_reference_in};
pub use progress::{Progress, ProgressFn, Stage};
pub use prune::{PruneReport, VolumeUsage};
pub use reconcile::RepairReport;
pub use service::{CreateRequest, LOCAL_DRIVER, LOCAL_SCOPE, VOLUMES_DIR, Volumes, random_name};
pub use transfer::{ImportReport, TRANSFER_HOLDER_PREFIX};

#[cfg(test)]
mod tests;
