//! Container records in the metadata store.
//!
//! A container is one row: identity and name as columns (indexed, unique), the request as
//! received (`Config`, `HostConfig`) and the resolved mount points as JSON, and its state. The
//! request is kept whole because `docker inspect` echoes it and `docker commit` starts from it.

use std::time::SystemTime;

use serde::Serialize;
use strata_store::Migrations;
use strata_store::rusqlite::{self, OptionalExtension, Row, params};

use strata_mount::MountPlan;

use crate::spec::{Config, HostConfig};
use crate::state::State;

/// The container component's schema.
pub const MIGRATIONS: Migrations = Migrations {
    component: "container",
    steps: &["CREATE TABLE containers (
            id          TEXT PRIMARY KEY NOT NULL,
            name        TEXT NOT NULL UNIQUE,
            image_id    TEXT NOT NULL,
            created_ns  INTEGER NOT NULL,
            config      TEXT NOT NULL,
            host_config TEXT NOT NULL,
            mounts      TEXT NOT NULL,
            state       TEXT NOT NULL,
            rw_layer    TEXT,
            restart_count INTEGER NOT NULL DEFAULT 0
        ) STRICT;
        CREATE INDEX containers_by_image ON containers(image_id);"],
};

/// A container as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    /// 64 lowercase hex characters.
    pub id: String,
    /// Without the leading `/` the API adds.
    pub name: String,
    /// `sha256:…` of the image it was created from.
    pub image_id: String,
    pub created: SystemTime,
    pub config: Config,
    pub host_config: HostConfig,
    /// The validated mount plan, with volume names and paths resolved at create.
    pub mounts: MountPlan,
    pub state: State,
    /// The layer store's id of the container's read-write layer.
    pub rw_layer: Option<String>,
    pub restart_count: i64,
}

/// Errors of the record store.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("metadata database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("corrupt container record {id}: {why}")]
    Corrupt { id: String, why: String },
}

fn nanos(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

fn from_nanos(n: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(n.max(0) as u64)
}

fn to_json<T: Serialize>(v: &T) -> String {
    // Serialising these plain data types cannot fail (no maps with non-string keys, no I/O).
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned())
}

const COLUMNS: &str = "id, name, image_id, created_ns, config, host_config, mounts, state, rw_layer, restart_count";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Result<Container, RecordError>> {
    let id: String = row.get(0)?;
    let texts: [String; 4] = [row.get(4)?, row.get(5)?, row.get(6)?, row.get(7)?];
    let decoded = (|| {
        Ok::<_, RecordError>((
            decode::<Config>(&id, "config", &texts[0])?,
            decode::<HostConfig>(&id, "host config", &texts[1])?,
            decode::<MountPlan>(&id, "mounts", &texts[2])?,
            decode::<State>(&id, "state", &texts[3])?,
        ))
    })();
    let (config, host_config, mounts, state) = match decoded {
        Ok(parts) => parts,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(Container {
        name: row.get(1)?,
        image_id: row.get(2)?,
        created: from_nanos(row.get(3)?),
        config,
        host_config,
        mounts,
        state,
        rw_layer: row.get(8)?,
        restart_count: row.get(9)?,
        id,
    }))
}

fn decode<T: serde::de::DeserializeOwned>(id: &str, what: &str, text: &str) -> Result<T, RecordError> {
    serde_json::from_str(text).map_err(|e| RecordError::Corrupt { id: id.to_owned(), why: format!("{what}: {e}") })
}

/// Inserts a new container. Fails on a duplicate id or name (the caller checks names first to
/// give Docker's message; the UNIQUE constraint is the guarantee under concurrency).
pub fn insert(tx: &rusqlite::Transaction<'_>, c: &Container) -> Result<(), RecordError> {
    tx.execute(
        &format!("INSERT INTO containers ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
        params![
            c.id,
            c.name,
            c.image_id,
            nanos(c.created),
            to_json(&c.config),
            to_json(&c.host_config),
            to_json(&c.mounts),
            to_json(&c.state),
            c.rw_layer,
            c.restart_count
        ],
    )?;
    Ok(())
}

/// Replaces the state of a container; false when it no longer exists.
pub fn update_state(conn: &rusqlite::Connection, id: &str, state: &State) -> Result<bool, RecordError> {
    Ok(conn.execute("UPDATE containers SET state = ?2 WHERE id = ?1", params![id, to_json(state)])? == 1)
}

/// Renames a container; the UNIQUE constraint refuses a taken name.
pub fn set_restart_count(conn: &rusqlite::Connection, id: &str, n: i64) -> Result<bool, RecordError> {
    Ok(conn.execute("UPDATE containers SET restart_count = ?2 WHERE id = ?1", params![id, n])? == 1)
}

pub fn rename(conn: &rusqlite::Connection, id: &str, name: &str) -> Result<bool, RecordError> {
    Ok(conn.execute("UPDATE containers SET name = ?2 WHERE id = ?1", params![id, name])? == 1)
}

/// Removes a container row.
pub fn delete(tx: &rusqlite::Transaction<'_>, id: &str) -> Result<bool, RecordError> {
    Ok(tx.execute("DELETE FROM containers WHERE id = ?1", [id])? == 1)
}

/// One container by exact id.
pub fn get(conn: &rusqlite::Connection, id: &str) -> Result<Option<Container>, RecordError> {
    let found =
        conn.query_row(&format!("SELECT {COLUMNS} FROM containers WHERE id = ?1"), [id], from_row).optional()?;
    found.transpose()
}

/// Every container, newest first (the order of `docker ps`).
pub fn list(conn: &rusqlite::Connection) -> Result<Vec<Container>, RecordError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM containers ORDER BY created_ns DESC"))?;
    let rows = stmt.query_map([], from_row)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r??);
    }
    Ok(out)
}

/// How a reference to a container resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found(String),
    NotFound,
    /// A prefix that matches several ids.
    Ambiguous,
}

/// Resolves what a user typed (full id, name with or without `/`, or a unique id prefix) to an
/// id, in Docker's order: exact id, then exact name, then id prefix.
pub fn resolve(conn: &rusqlite::Connection, reference: &str) -> Result<Lookup, RecordError> {
    if reference.is_empty() {
        return Ok(Lookup::NotFound);
    }
    let exact: Option<String> =
        conn.query_row("SELECT id FROM containers WHERE id = ?1", [reference], |r| r.get(0)).optional()?;
    if let Some(id) = exact {
        return Ok(Lookup::Found(id));
    }
    let name = reference.strip_prefix('/').unwrap_or(reference);
    let by_name: Option<String> =
        conn.query_row("SELECT id FROM containers WHERE name = ?1", [name], |r| r.get(0)).optional()?;
    if let Some(id) = by_name {
        return Ok(Lookup::Found(id));
    }
    if !reference.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(Lookup::NotFound);
    }
    let mut stmt = conn.prepare_cached("SELECT id FROM containers WHERE id >= ?1 AND id < ?2 LIMIT 2")?;
    let upper = format!("{reference}\u{7f}");
    let ids: Vec<String> = stmt.query_map(params![reference, upper], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(match ids.len() {
        0 => Lookup::NotFound,
        1 => Lookup::Found(ids.into_iter().next().unwrap_or_default()),
        _ => Lookup::Ambiguous,
    })
}

/// The id of the container holding `name`, if any.
pub fn id_by_name(conn: &rusqlite::Connection, name: &str) -> Result<Option<String>, RecordError> {
    Ok(conn.query_row("SELECT id FROM containers WHERE name = ?1", [name], |r| r.get(0)).optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_store::Store;

    fn sample(id: &str, name: &str) -> Container {
        Container {
            id: id.to_owned(),
            name: name.to_owned(),
            image_id: "sha256:abc".into(),
            created: SystemTime::now(),
            config: Config { image: "busybox".into(), ..Default::default() },
            host_config: HostConfig::default(),
            mounts: MountPlan::default(),
            state: State::default(),
            rw_layer: Some("layer1".into()),
            restart_count: 0,
        }
    }

    #[test]
    fn insert_get_list_and_resolve() {
        let store = Store::open_in_memory(&[MIGRATIONS]).expect("store");
        let a = "a".repeat(64);
        let b = format!("ab{}", "c".repeat(62));
        store.write(|tx| insert(tx, &sample(&a, "first"))).expect("insert a");
        store.write(|tx| insert(tx, &sample(&b, "second"))).expect("insert b");
        let conn = store.conn();
        assert_eq!(get(&conn, &a).expect("get").expect("found").name, "first");
        assert_eq!(list(&conn).expect("list").len(), 2);
        assert_eq!(resolve(&conn, "first").expect("r"), Lookup::Found(a.clone()));
        assert_eq!(resolve(&conn, "/second").expect("r"), Lookup::Found(b.clone()));
        assert_eq!(resolve(&conn, "aaaa").expect("r"), Lookup::Found(a.clone()));
        assert_eq!(resolve(&conn, "a").expect("r"), Lookup::Ambiguous);
        assert_eq!(resolve(&conn, "abc").expect("r"), Lookup::Found(b.clone()));
        assert_eq!(resolve(&conn, "zz").expect("r"), Lookup::NotFound);
        assert_eq!(resolve(&conn, "").expect("r"), Lookup::NotFound);
    }

    #[test]
    fn names_are_unique() {
        let store = Store::open_in_memory(&[MIGRATIONS]).expect("store");
        store.write(|tx| insert(tx, &sample(&"1".repeat(64), "same"))).expect("insert");
        assert!(store.write(|tx| insert(tx, &sample(&"2".repeat(64), "same"))).is_err());
    }

    #[test]
    fn state_updates_persist() {
        let store = Store::open_in_memory(&[MIGRATIONS]).expect("store");
        let id = "9".repeat(64);
        store.write(|tx| insert(tx, &sample(&id, "s"))).expect("insert");
        let st = State { status: crate::state::Status::Exited, exit_code: 3, ..State::default() };
        assert!(update_state(&store.conn(), &id, &st).expect("update"));
        assert_eq!(get(&store.conn(), &id).expect("get").expect("found").state.exit_code, 3);
    }
}
