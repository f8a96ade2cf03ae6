//! The metadata store: one SQLite database (`<data-root>/strata.db`) for all of strata's state.
//!
//! Why one relational store: containers reference volumes, images and layers; images reference
//! layers; tags reference images. Docker keeps these in several stores (bbolt for volumes, JSON
//! files for containers, a layerdb directory tree) and reconstructs the references in memory at
//! start, which is where its "volume in use" and orphan-layer bugs come from. Here a reference is
//! a row with a foreign key, written in the same transaction as the object it belongs to.
//!
//! The database runs in WAL mode with `synchronous=NORMAL`: a committed transaction survives the
//! daemon being killed at any moment (the WAL is in the kernel's page cache before `COMMIT`
//! returns); only a power loss can undo the last few commits, which the start-up reconcile of each
//! component tolerates.
//!
//! Schema changes are forward-only migrations, grouped by *component* (the crate that owns the
//! tables: `volume`, `layer`, `image`, `container`, …). Each component's migrations are a list of
//! SQL scripts; the store records per component how many have run. A database whose recorded
//! version is higher than this binary knows was written by a newer strata and is refused.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

pub use rusqlite;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

/// The forward-only schema changes of one component, applied in order.
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    /// The owner of these tables, e.g. `"volume"`.
    pub component: &'static str,
    /// SQL scripts; index 0 takes the component from version 0 to version 1, and so on.
    pub steps: &'static [&'static str],
}

/// Errors of the metadata store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open metadata database {path}: {source}")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error(
        "metadata database {path} was written by a newer strata: component {component:?} is at schema version {found}, \
         this stratad knows up to {known}; run a newer stratad or restore a backup of the database"
    )]
    TooNew { path: PathBuf, component: String, found: i64, known: i64 },
    #[error("migration {version} of component {component:?} failed: {source}")]
    Migration { component: String, version: i64, source: rusqlite::Error },
    #[error("metadata database: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// The metadata database of one data-root.
///
/// One connection behind a mutex: every statement strata runs takes micro- to milliseconds, and
/// SQLite serialises writers anyway. Callers on an async runtime run their closures through
/// `spawn_blocking`; nothing slow (file I/O, mounts, runtime calls) may happen while the guard is
/// held.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, switches it to WAL mode with foreign
    /// keys on, and runs the pending migrations of `components` in the order given (a component
    /// whose tables reference another's must come after it).
    pub fn open(path: &Path, components: &[Migrations]) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open { path: path.to_owned(), source };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(open_err)?;
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), %mode, "metadata database is not in WAL mode");
        }
        let store = Store { path: path.to_owned(), conn: Mutex::new(conn) };
        store.migrate(components)?;
        Ok(store)
    }

    /// An in-memory database with the given schema, for unit tests of the crates above.
    pub fn open_in_memory(components: &[Migrations]) -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory()?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let store = Store { path: PathBuf::from(":memory:"), conn: Mutex::new(conn) };
        store.migrate(components)?;
        Ok(store)
    }

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Exclusive access to the connection. A poisoned mutex (a panic while holding it) is
    /// recovered: SQLite rolls back an unfinished transaction when the next one begins.
    pub fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` inside one transaction, committed if `f` returns `Ok`.
    pub fn write<T, E>(&self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// The schema version recorded for `component` (0 when it has none yet).
    pub fn schema_version(&self, component: &str) -> Result<i64, StoreError> {
        let conn = self.conn();
        Ok(version_of(&conn, component)?)
    }

    fn migrate(&self, components: &[Migrations]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_version (
                 component TEXT PRIMARY KEY NOT NULL,
                 version   INTEGER NOT NULL
             ) STRICT;",
        )?;
        for m in components {
            let known = m.steps.len() as i64;
            let found = version_of(&conn, m.component)?;
            if found > known {
                return Err(StoreError::TooNew {
                    path: self.path.clone(),
                    component: m.component.to_owned(),
                    found,
                    known,
                });
            }
            for (index, sql) in m.steps.iter().enumerate().skip(found as usize) {
                let version = index as i64 + 1;
                let mig_err = |source| StoreError::Migration { component: m.component.to_owned(), version, source };
                let tx = conn.transaction().map_err(mig_err)?;
                tx.execute_batch(sql).map_err(mig_err)?;
                tx.execute(
                    "INSERT INTO schema_version(component, version) VALUES (?1, ?2)
                     ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                    (m.component, version),
                )
                .map_err(mig_err)?;
                tx.commit().map_err(mig_err)?;
                tracing::info!(component = m.component, version, "applied metadata schema migration");
            }
        }
        Ok(())
    }
}

fn version_of(conn: &Connection, component: &str) -> rusqlite::Result<i64> {
    Ok(conn
        .query_row("SELECT version FROM schema_version WHERE component = ?1", [component], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &[&str] = &["CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL) STRICT;"];
    const V2: &[&str] = &[
        "CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL) STRICT;",
        "ALTER TABLE things ADD COLUMN colour TEXT;",
    ];

    fn things(steps: &'static [&'static str]) -> Migrations {
        Migrations { component: "things", steps }
    }

    #[test]
    fn opens_in_wal_mode_with_foreign_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.db"), &[things(V1)]).expect("open");
        let conn = store.conn();
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).expect("mode");
        assert_eq!(mode, "wal");
        let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).expect("fk");
        assert_eq!(fk, 1);
    }

    #[test]
    fn migrations_run_forward_once_and_keep_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        {
            let store = Store::open(&path, &[things(V1)]).expect("open v1");
            store.conn().execute("INSERT INTO things(name) VALUES ('a')", []).expect("insert");
            assert_eq!(store.schema_version("things").expect("v"), 1);
        }
        let store = Store::open(&path, &[things(V2)]).expect("open v2");
        assert_eq!(store.schema_version("things").expect("v"), 2);
        let name: String = store.conn().query_row("SELECT name FROM things", [], |r| r.get(0)).expect("row");
        assert_eq!(name, "a");
        // Re-opening with the same list applies nothing again.
        drop(store);
        Store::open(&path, &[things(V2)]).expect("reopen v2");
    }

    #[test]
    fn a_newer_database_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        drop(Store::open(&path, &[things(V2)]).expect("open v2"));
        let err = Store::open(&path, &[things(V1)]).expect_err("older binary must refuse");
        let msg = err.to_string();
        assert!(msg.contains("written by a newer strata"), "{msg}");
        assert!(msg.contains("schema version 2"), "{msg}");
    }

    #[test]
    fn a_failing_migration_leaves_the_previous_version() {
        const BAD: &[&str] =
            &["CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL) STRICT;", "CREATE TABLE broken (;"];
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        let err = Store::open(&path, &[things(BAD)]).expect_err("bad sql");
        assert!(matches!(err, StoreError::Migration { version: 2, .. }), "{err}");
        let store = Store::open(&path, &[things(V1)]).expect("v1 still fine");
        assert_eq!(store.schema_version("things").expect("v"), 1);
    }

    #[test]
    fn write_commits_on_ok_and_rolls_back_on_err() {
        let store = Store::open_in_memory(&[things(V1)]).expect("open");
        store.write(|tx| tx.execute("INSERT INTO things(name) VALUES ('kept')", []).map(|_| ())).expect("ok write");
        let failed: Result<(), StoreError> = store.write(|tx| {
            tx.execute("INSERT INTO things(name) VALUES ('lost')", [])?;
            Err(StoreError::Sql(rusqlite::Error::InvalidQuery))
        });
        assert!(failed.is_err());
        let n: i64 = store.conn().query_row("SELECT count(*) FROM things", [], |r| r.get(0)).expect("count");
        assert_eq!(n, 1);
    }
}
