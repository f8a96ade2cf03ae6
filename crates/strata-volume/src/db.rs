//! The volume tables and the SQL that reads and writes them.
//!
//! Four tables, owned by the `volume` component:
//!
//! - `volumes`: one row per volume. A row exists only while the volume's directory exists
//!   (created before the row, removed after it is gone).
//! - `volume_refs`: which holders (container ids) use a volume. A foreign key forbids deleting a
//!   referenced volume, so "in use" is enforced by the database, not by memory that a restart
//!   forgets (Docker's bug class).
//! - `volume_mounts`: which holders have a volume with mount options mounted: the reference count
//!   of that mount, which survives a daemon restart.
//! - `volume_removals`: removals whose rows are deleted but whose directories may not be yet;
//!   start-up repair finishes them instead of mistaking the directory for lost data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use strata_store::Migrations;
use strata_store::rusqlite::{self, Connection, OptionalExtension, Row, params};

use crate::quota::QuotaKind;

/// The schema of the volume component.
pub const MIGRATIONS: Migrations = Migrations {
    component: "volume",
    steps: &["CREATE TABLE volumes (
            name        TEXT PRIMARY KEY NOT NULL,
            driver      TEXT NOT NULL,
            labels      TEXT NOT NULL DEFAULT '{}',
            options     TEXT NOT NULL DEFAULT '{}',
            created_at  INTEGER NOT NULL,
            quota_kind  TEXT,
            project_id  INTEGER,
            size_limit  INTEGER
        ) STRICT, WITHOUT ROWID;
        CREATE UNIQUE INDEX volumes_by_project_id ON volumes(project_id) WHERE project_id IS NOT NULL;
        CREATE TABLE volume_refs (
            volume  TEXT NOT NULL REFERENCES volumes(name),
            holder  TEXT NOT NULL,
            PRIMARY KEY (volume, holder)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX volume_refs_by_holder ON volume_refs(holder);
        CREATE TABLE volume_mounts (
            volume  TEXT NOT NULL REFERENCES volumes(name),
            holder  TEXT NOT NULL,
            PRIMARY KEY (volume, holder)
        ) STRICT, WITHOUT ROWID;
        CREATE TABLE volume_removals (
            name   TEXT PRIMARY KEY NOT NULL,
            trash  TEXT NOT NULL
        ) STRICT;"],
};

/// The name of a volume's data directory (Docker's).
pub const DATA_DIR: &str = "_data";

/// A volume as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub name: String,
    pub driver: String,
    pub labels: BTreeMap<String, String>,
    /// The driver options as given at create (`type`, `device`, `o`, `size`).
    pub options: BTreeMap<String, String>,
    /// Seconds since the epoch.
    pub created_at: i64,
    /// `<data-root>/volumes/<name>/_data`.
    pub mountpoint: PathBuf,
    /// The size limit, when the volume has one.
    pub quota: Option<Quota>,
}

/// How a volume's size is limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub kind: QuotaKind,
    /// The project id (project quotas only; 0 otherwise).
    pub project_id: u32,
    pub limit_bytes: u64,
}

impl Volume {
    /// Whether the volume has driver options (such volumes are never pruned and not part of
    /// disk usage, as in Docker).
    pub fn has_options(&self) -> bool {
        !self.options.is_empty()
    }
}

pub(crate) const COLUMNS: &str = "name, driver, labels, options, created_at, quota_kind, project_id, size_limit";

fn decode_map(text: &str) -> Result<BTreeMap<String, String>, rusqlite::Error> {
    serde_json::from_str(text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

/// Maps a row selected with [`COLUMNS`] (in that order, from index `at`).
pub(crate) fn volume_from_row(root: &Path, row: &Row<'_>) -> rusqlite::Result<Volume> {
    let name: String = row.get(0)?;
    let labels: String = row.get(2)?;
    let options: String = row.get(3)?;
    let quota_kind: Option<String> = row.get(5)?;
    let project_id: Option<i64> = row.get(6)?;
    let size_limit: Option<i64> = row.get(7)?;
    let quota = quota_kind.as_deref().and_then(QuotaKind::parse).map(|kind| Quota {
        kind,
        project_id: project_id.and_then(|p| u32::try_from(p).ok()).unwrap_or(0),
        limit_bytes: size_limit.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
    });
    Ok(Volume {
        mountpoint: root.join(&name).join(DATA_DIR),
        name,
        driver: row.get(1)?,
        labels: decode_map(&labels)?,
        options: decode_map(&options)?,
        created_at: row.get(4)?,
        quota,
    })
}

fn encode_map(map: &BTreeMap<String, String>) -> String {
    serde_json::to_string(map).unwrap_or_else(|_| "{}".to_owned())
}

/// The volume named `name`.
pub fn get(conn: &Connection, root: &Path, name: &str) -> rusqlite::Result<Option<Volume>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM volumes WHERE name = ?1"))?;
    stmt.query_row([name], |r| volume_from_row(root, r)).optional()
}

/// Inserts a new volume row.
pub fn insert(conn: &Connection, v: &Volume) -> rusqlite::Result<()> {
    let mut stmt =
        conn.prepare_cached(&format!("INSERT INTO volumes ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"))?;
    stmt.execute(params![
        v.name,
        v.driver,
        encode_map(&v.labels),
        encode_map(&v.options),
        v.created_at,
        v.quota.map(|q| q.kind.as_str()),
        v.quota.filter(|q| q.kind == QuotaKind::Project).map(|q| i64::from(q.project_id)),
        v.quota.map(|q| i64::try_from(q.limit_bytes).unwrap_or(i64::MAX)),
    ])?;
    Ok(())
}

/// Inserts a new volume row unless one of that name exists; true when inserted.
pub fn insert_new(conn: &Connection, v: &Volume) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT INTO volumes ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(name) DO NOTHING"
    ))?;
    let n = stmt.execute(params![
        v.name,
        v.driver,
        encode_map(&v.labels),
        encode_map(&v.options),
        v.created_at,
        v.quota.map(|q| q.kind.as_str()),
        v.quota.filter(|q| q.kind == QuotaKind::Project).map(|q| i64::from(q.project_id)),
        v.quota.map(|q| i64::try_from(q.limit_bytes).unwrap_or(i64::MAX)),
    ])?;
    Ok(n > 0)
}

/// Every volume with its reference count, ordered by name.
pub fn list(conn: &Connection, root: &Path) -> rusqlite::Result<Vec<(Volume, u64)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS}, (SELECT count(*) FROM volume_refs r WHERE r.volume = v.name) FROM volumes v ORDER BY name"
    ))?;
    let rows = stmt.query_map([], |r| Ok((volume_from_row(root, r)?, r.get::<_, i64>(8)? as u64)))?;
    rows.collect()
}

/// A stored volume borrowed from its row, for listings that write it out without building a
/// [`Volume`] (thousands of volumes in a few milliseconds).
#[derive(Debug, Clone, Copy)]
pub struct VolumeRecord<'a> {
    pub name: &'a str,
    pub driver: &'a str,
    /// The labels as a JSON object (`{}` when none).
    pub labels_json: &'a str,
    /// The driver options as a JSON object (`{}` when none).
    pub options_json: &'a str,
    /// Seconds since the epoch.
    pub created_at: i64,
    pub ref_count: u64,
}

/// Calls `f` with every volume, ordered by name.
pub fn visit(conn: &Connection, f: &mut dyn FnMut(&VolumeRecord<'_>)) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, driver, labels, options, created_at, (SELECT count(*) FROM volume_refs r WHERE r.volume = v.name)
         FROM volumes v ORDER BY name",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let rec = VolumeRecord {
            name: row.get_ref(0)?.as_str()?,
            driver: row.get_ref(1)?.as_str()?,
            labels_json: row.get_ref(2)?.as_str()?,
            options_json: row.get_ref(3)?.as_str()?,
            created_at: row.get_ref(4)?.as_i64()?,
            ref_count: row.get_ref(5)?.as_i64()? as u64,
        };
        f(&rec);
    }
    Ok(())
}

/// The names of every volume.
pub fn names(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT name FROM volumes")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// The holders referencing `name`, sorted.
pub fn holders(conn: &Connection, name: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT holder FROM volume_refs WHERE volume = ?1 ORDER BY holder")?;
    let rows = stmt.query_map([name], |r| r.get(0))?;
    rows.collect()
}

/// The holders that have `name` mounted, sorted.
pub fn mount_holders(conn: &Connection, name: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT holder FROM volume_mounts WHERE volume = ?1 ORDER BY holder")?;
    let rows = stmt.query_map([name], |r| r.get(0))?;
    rows.collect()
}

/// Adds a reference; adding it twice is harmless.
pub fn add_ref(conn: &Connection, name: &str, holder: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO volume_refs (volume, holder) VALUES (?1, ?2)")?
        .execute([name, holder])?;
    Ok(())
}

/// Removes one reference; true when there was one.
pub fn remove_ref(conn: &Connection, name: &str, holder: &str) -> rusqlite::Result<bool> {
    Ok(conn.prepare_cached("DELETE FROM volume_refs WHERE volume = ?1 AND holder = ?2")?.execute([name, holder])? > 0)
}

/// Removes every reference of `holder`; returns the volumes it referenced.
pub fn remove_refs_of(conn: &Connection, holder: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("DELETE FROM volume_refs WHERE holder = ?1 RETURNING volume")?;
    let rows = stmt.query_map([holder], |r| r.get(0))?;
    let mut names: Vec<String> = rows.collect::<Result<_, _>>()?;
    names.sort();
    Ok(names)
}

/// Records a mount by `holder`; returns whether it is new.
pub fn add_mount(conn: &Connection, name: &str, holder: &str) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached("INSERT OR IGNORE INTO volume_mounts (volume, holder) VALUES (?1, ?2)")?
        .execute([name, holder])?
        > 0)
}

/// Forgets the mount by `holder`; returns how many holders still have the volume mounted.
pub fn remove_mount(conn: &Connection, name: &str, holder: &str) -> rusqlite::Result<u64> {
    conn.prepare_cached("DELETE FROM volume_mounts WHERE volume = ?1 AND holder = ?2")?.execute([name, holder])?;
    let n: i64 =
        conn.prepare_cached("SELECT count(*) FROM volume_mounts WHERE volume = ?1")?.query_row([name], |r| r.get(0))?;
    Ok(n as u64)
}

/// Deletes the row of `name` and records its pending removal (directory to be moved to
/// `trash` and deleted). Fails (foreign key) if the volume is still referenced or mounted.
pub fn delete_for_removal(conn: &Connection, name: &str, trash: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO volume_removals (name, trash) VALUES (?1, ?2)")?
        .execute([name, trash])?;
    conn.prepare_cached("DELETE FROM volumes WHERE name = ?1")?.execute([name])?;
    Ok(())
}

/// Deletes, in one statement, the rows of those of `names` that no holder references or has
/// mounted, and records their removals; returns the deleted volumes (prune's transaction).
pub fn delete_unused_for_removal(conn: &Connection, root: &Path, names: &[String]) -> rusqlite::Result<Vec<Volume>> {
    let list = serde_json::to_string(names).unwrap_or_else(|_| "[]".to_owned());
    let mut stmt = conn.prepare_cached(&format!(
        "DELETE FROM volumes WHERE name IN (SELECT value FROM json_each(?1))
             AND NOT EXISTS (SELECT 1 FROM volume_refs r WHERE r.volume = volumes.name)
             AND NOT EXISTS (SELECT 1 FROM volume_mounts m WHERE m.volume = volumes.name)
         RETURNING {COLUMNS}"
    ))?;
    let deleted: Vec<Volume> = stmt.query_map([&list], |r| volume_from_row(root, r))?.collect::<Result<_, _>>()?;
    let names: Vec<&str> = deleted.iter().map(|v| v.name.as_str()).collect();
    let list = serde_json::to_string(&names).unwrap_or_else(|_| "[]".to_owned());
    conn.prepare_cached("INSERT OR REPLACE INTO volume_removals (name, trash) SELECT value, '' FROM json_each(?1)")?
        .execute([&list])?;
    Ok(deleted)
}

/// Removals that are recorded as pending.
pub fn removals(conn: &Connection) -> rusqlite::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached("SELECT name, trash FROM volume_removals")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Marks removals as finished.
pub fn finish_removals(conn: &Connection, names: &[String]) -> rusqlite::Result<()> {
    let list = serde_json::to_string(names).unwrap_or_else(|_| "[]".to_owned());
    conn.prepare_cached("DELETE FROM volume_removals WHERE name IN (SELECT value FROM json_each(?1))")?
        .execute([&list])?;
    Ok(())
}

/// The highest project id in use.
pub fn max_project_id(conn: &Connection) -> rusqlite::Result<Option<u32>> {
    let max: Option<i64> = conn.query_row("SELECT max(project_id) FROM volumes", [], |r| r.get(0))?;
    Ok(max.and_then(|m| u32::try_from(m).ok()))
}

/// Volumes that have mount records, with their holders.
pub fn mounted_volumes(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT DISTINCT volume FROM volume_mounts")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}
