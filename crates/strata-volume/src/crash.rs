//! Injected crashes, to test that a `kill -9` between any two steps leaves a state the start-up
//! repair turns into "complete or nothing".
//!
//! In debug builds, when the environment variable `STRATA_CRASH_AT` names one of the points below
//! and the daemon reaches it, the process aborts on the spot (no unwinding, no destructors — as a
//! SIGKILL would). Release builds compile this to nothing.

/// The environment variable naming the point to crash at.
pub const CRASH_ENV: &str = "STRATA_CRASH_AT";

/// The directories of a new volume exist; its row does not.
pub const CREATE_AFTER_MKDIR: &str = "volume-create-after-mkdir";
/// The row of a new volume is committed.
pub const CREATE_AFTER_COMMIT: &str = "volume-create-after-commit";
/// A removed volume's row is gone (its removal recorded); its directory is untouched.
pub const REMOVE_AFTER_COMMIT: &str = "volume-remove-after-commit";
/// The `_data` of a removed volume is deleted, its directory not yet.
pub const REMOVE_AFTER_DATA: &str = "volume-remove-after-data";
/// Prune has committed the removal of its volumes and deleted some of their directories.
pub const PRUNE_MIDWAY: &str = "volume-prune-midway";
/// A volume with mount options is mounted; the mount is not yet recorded.
pub const MOUNT_AFTER_MOUNT: &str = "volume-mount-after-mount";
/// The last mount record of a volume is deleted; the mount is still there.
pub const UNMOUNT_AFTER_COMMIT: &str = "volume-unmount-after-commit";

/// A backup's data is streamed; its manifest is not.
pub const BACKUP_AFTER_DATA: &str = "volume-backup-after-data";
/// An import, restore or clone is staged (and verified); the volume does not show it yet.
pub const FILL_BEFORE_SWAP: &str = "volume-fill-before-swap";

/// Every point, for documentation and tests.
pub const ALL: [&str; 9] = [
    CREATE_AFTER_MKDIR,
    CREATE_AFTER_COMMIT,
    REMOVE_AFTER_COMMIT,
    REMOVE_AFTER_DATA,
    PRUNE_MIDWAY,
    MOUNT_AFTER_MOUNT,
    UNMOUNT_AFTER_COMMIT,
    BACKUP_AFTER_DATA,
    FILL_BEFORE_SWAP,
];

/// Aborts the process if `STRATA_CRASH_AT` names `point` (debug builds only).
#[inline]
pub fn point(point: &str) {
    #[cfg(debug_assertions)]
    {
        static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        let at = AT.get_or_init(|| std::env::var(CRASH_ENV).ok().filter(|s| !s.is_empty()));
        if at.as_deref() == Some(point) {
            eprintln!("{CRASH_ENV}={point}: aborting on purpose");
            std::process::abort();
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = point;
}
