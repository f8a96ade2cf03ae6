//! Networks: the records Docker clients (compose above all) create, inspect, connect containers
//! to and remove.
//!
//! strata has no bridge networking. A user-defined network is a *name and a membership list*:
//! containers attached to it run in the host's network namespace like every container without
//! `--network none`, so services reach each other on `localhost` (and published ports are the
//! ports they listen on), not by service name. What is real is the bookkeeping Docker clients
//! rely on: networks persist in the metadata store, carry labels, list and filter like Docker's,
//! record which containers are attached with which aliases (inspect shows them), refuse removal
//! while a running container is attached, and go away with `network rm`/`prune`.
//!
//! The predefined networks are the two strata really has: `host` and `none` (Docker with
//! `"bridge": "none"` lists the same two).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

use strata_store::rusqlite::{self, OptionalExtension, params};
use strata_store::{Migrations, Store};

use crate::filters::Filters;

/// The network component's schema. Endpoints go with their container (foreign key on the
/// container table, cascading), so removing a container needs no network code.
pub const MIGRATIONS: Migrations = Migrations {
    component: "network",
    steps: &["CREATE TABLE networks (
            id          TEXT PRIMARY KEY NOT NULL,
            name        TEXT NOT NULL UNIQUE,
            driver      TEXT NOT NULL,
            created_ns  INTEGER NOT NULL,
            internal    INTEGER NOT NULL DEFAULT 0,
            attachable  INTEGER NOT NULL DEFAULT 0,
            enable_ipv6 INTEGER NOT NULL DEFAULT 0,
            labels      TEXT NOT NULL DEFAULT '{}',
            options     TEXT NOT NULL DEFAULT '{}'
        ) STRICT;
        CREATE TABLE network_endpoints (
            network_id   TEXT NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
            container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
            aliases      TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (network_id, container_id)
        ) STRICT;
        CREATE INDEX network_endpoints_by_container ON network_endpoints(container_id);
        INSERT INTO networks (id, name, driver, created_ns)
            VALUES (lower(hex(randomblob(32))), 'host', 'host', CAST((julianday('now') - 2440587.5) * 86400000000000.0 AS INTEGER));
        INSERT INTO networks (id, name, driver, created_ns)
            VALUES (lower(hex(randomblob(32))), 'none', 'null', CAST((julianday('now') - 2440587.5) * 86400000000000.0 AS INTEGER));"],
};

/// The names of the networks every installation has.
pub const PREDEFINED: [&str; 2] = ["host", "none"];

/// A network as stored, with the containers attached to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub id: String,
    pub name: String,
    /// `bridge` for user-defined networks (what Docker reports; see the module docs for what it
    /// means here), `host` and `null` for the predefined ones.
    pub driver: String,
    pub created: SystemTime,
    pub internal: bool,
    pub attachable: bool,
    pub enable_ipv6: bool,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    pub endpoints: Vec<Endpoint>,
}

impl Network {
    pub fn is_predefined(&self) -> bool {
        PREDEFINED.contains(&self.name.as_str())
    }
}

/// A container's membership of a network.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub container_id: String,
    pub aliases: Vec<String>,
}

/// `POST /networks/create`.
#[derive(Debug, Clone, Default)]
pub struct CreateNetwork {
    pub name: String,
    pub driver: String,
    pub internal: bool,
    pub attachable: bool,
    pub enable_ipv6: bool,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
}

/// Errors of the network service, with Docker's texts.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("network {0} not found")]
    NotFound(String),
    #[error("network {0} is ambiguous")]
    Ambiguous(String),
    /// 409.
    #[error("{0}")]
    Conflict(String),
    /// 403.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    /// 404 for a driver strata does not have.
    #[error("plugin \"{0}\" not found")]
    NoDriver(String),
    #[error("metadata database: {0}")]
    Sql(#[from] rusqlite::Error),
}

type Result<T> = std::result::Result<T, NetworkError>;

/// The network service.
#[derive(Debug)]
pub struct Networks {
    store: Arc<Store>,
}

fn nanos(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

fn map_json(text: &str) -> BTreeMap<String, String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn random_id() -> String {
    let mut b = [0u8; 32];
    let mut filled = 0;
    while filled < b.len() {
        match rustix::rand::getrandom(&mut b[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => panic!("getrandom failed: {e}"),
        }
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The user-defined networks a container is attached to, by name, with its aliases on each.
pub type Attachments = Vec<(Network, Vec<String>)>;

const COLUMNS: &str = "id, name, driver, created_ns, internal, attachable, enable_ipv6, labels, options";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Network> {
    let labels: String = r.get(7)?;
    let options: String = r.get(8)?;
    Ok(Network {
        id: r.get(0)?,
        name: r.get(1)?,
        driver: r.get(2)?,
        created: SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(r.get::<_, i64>(3)?.max(0) as u64),
        internal: r.get(4)?,
        attachable: r.get(5)?,
        enable_ipv6: r.get(6)?,
        labels: map_json(&labels),
        options: map_json(&options),
        endpoints: Vec::new(),
    })
}

fn endpoints(conn: &rusqlite::Connection, network_id: &str) -> rusqlite::Result<Vec<Endpoint>> {
    let mut st = conn.prepare(
        "SELECT e.container_id, e.aliases FROM network_endpoints e JOIN containers c ON c.id = e.container_id
         WHERE e.network_id = ?1 ORDER BY c.created_ns",
    )?;
    let rows = st.query_map([network_id], |r| {
        let aliases: String = r.get(1)?;
        Ok(Endpoint { container_id: r.get(0)?, aliases: serde_json::from_str(&aliases).unwrap_or_default() })
    })?;
    rows.collect()
}

impl Networks {
    pub fn new(store: Arc<Store>) -> Networks {
        Networks { store }
    }

    /// Every network, predefined first, then by creation.
    pub fn list(&self) -> Result<Vec<Network>> {
        let conn = self.store.conn();
        let mut st = conn.prepare(&format!("SELECT {COLUMNS} FROM networks ORDER BY created_ns, name"))?;
        let mut all = st.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        for n in &mut all {
            n.endpoints = endpoints(&conn, &n.id)?;
        }
        Ok(all)
    }

    /// The networks matching Docker's list filters (`name` substring, `id` prefix, `label`,
    /// `driver`, `type` custom|builtin, `scope`, `dangling`).
    pub fn list_filtered(&self, f: &Filters) -> Result<Vec<Network>> {
        let dangling = f.bool_value("dangling").map_err(|e| NetworkError::BadRequest(e.to_string()))?;
        for t in f.get("type") {
            if t != "custom" && t != "builtin" {
                return Err(NetworkError::BadRequest(format!("invalid filter: 'type'='{t}'")));
            }
        }
        Ok(self
            .list()?
            .into_iter()
            .filter(|n| !f.contains("name") || f.get("name").any(|v| n.name.contains(v)))
            .filter(|n| !f.contains("id") || f.get("id").any(|v| n.id.starts_with(v)))
            .filter(|n| !f.contains("driver") || f.get("driver").any(|v| n.driver == v))
            .filter(|_| !f.contains("scope") || f.get("scope").any(|v| v == "local"))
            .filter(|n| !f.contains("type") || f.get("type").any(|t| (t == "builtin") == n.is_predefined()))
            .filter(|n| f.match_labels("label", |k| n.labels.get(k).map(String::as_str)))
            .filter(|n| dangling.is_none_or(|d| d == (n.endpoints.is_empty() && !n.is_predefined())))
            .collect())
    }

    /// By full id, then exact name, then unique id prefix (Docker's order).
    pub fn get(&self, reference: &str) -> Result<Network> {
        let conn = self.store.conn();
        let one = |sql: &str, arg: &str| -> rusqlite::Result<Option<Network>> {
            conn.query_row(&format!("SELECT {COLUMNS} FROM networks WHERE {sql}"), [arg], from_row).optional()
        };
        let mut found = one("id = ?1", reference)?;
        if found.is_none() {
            found = one("name = ?1", reference)?;
        }
        if found.is_none() && !reference.is_empty() && reference.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut st = conn.prepare(&format!("SELECT {COLUMNS} FROM networks WHERE substr(id, 1, ?2) = ?1"))?;
            let mut hits = st
                .query_map(params![reference, reference.len() as i64], from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            match hits.len() {
                0 => {}
                1 => found = hits.pop(),
                _ => return Err(NetworkError::Ambiguous(reference.to_owned())),
            }
        }
        let mut n = found.ok_or_else(|| NetworkError::NotFound(reference.to_owned()))?;
        n.endpoints = endpoints(&conn, &n.id)?;
        Ok(n)
    }

    /// `POST /networks/create`: the id of the new network.
    pub fn create(&self, req: CreateNetwork) -> Result<String> {
        if req.name.is_empty() {
            return Err(NetworkError::BadRequest("network name must not be empty".into()));
        }
        let driver = match req.driver.as_str() {
            "" | "bridge" => "bridge",
            "host" | "null" => {
                return Err(NetworkError::Forbidden(format!(
                    "only one instance of \"{}\" network is allowed",
                    req.driver
                )));
            }
            other => return Err(NetworkError::NoDriver(other.to_owned())),
        };
        let id = random_id();
        self.store.write(|tx| -> Result<()> {
            let exists: Option<String> =
                tx.query_row("SELECT id FROM networks WHERE name = ?1", [&req.name], |r| r.get(0)).optional()?;
            if exists.is_some() {
                return Err(NetworkError::Conflict(format!("network with name {} already exists", req.name)));
            }
            tx.execute(
                &format!("INSERT INTO networks ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
                params![
                    id,
                    req.name,
                    driver,
                    nanos(SystemTime::now()),
                    req.internal,
                    req.attachable,
                    req.enable_ipv6,
                    serde_json::to_string(&req.labels).unwrap_or_else(|_| "{}".into()),
                    serde_json::to_string(&req.options).unwrap_or_else(|_| "{}".into()),
                ],
            )?;
            Ok(())
        })?;
        tracing::info!(id = %id, name = %req.name, "network created");
        Ok(id)
    }

    /// `DELETE /networks/{id}`. `running` tells whether a container runs.
    pub fn remove(&self, reference: &str, running: impl Fn(&str) -> bool) -> Result<()> {
        let n = self.get(reference)?;
        if n.is_predefined() {
            return Err(NetworkError::Forbidden(format!("{} is a pre-defined network and cannot be removed", n.name)));
        }
        if n.endpoints.iter().any(|e| running(&e.container_id)) {
            return Err(NetworkError::Forbidden(format!(
                "error while removing network: network {} id {} has active endpoints",
                n.name, n.id
            )));
        }
        self.store.write(|tx| tx.execute("DELETE FROM networks WHERE id = ?1", [&n.id]))?;
        tracing::info!(id = %n.id, name = %n.name, "network removed");
        Ok(())
    }

    /// `POST /networks/prune`: removes user-defined networks no container is attached to whose
    /// labels match and, with `until`, that were created before it; returns their names.
    pub fn prune(&self, f: &Filters, until: Option<SystemTime>) -> Result<Vec<String>> {
        let mut removed = Vec::new();
        for n in self.list()? {
            if n.is_predefined()
                || !n.endpoints.is_empty()
                || until.is_some_and(|t| n.created > t)
                || !f.match_labels("label", |k| n.labels.get(k).map(String::as_str))
                || !f.match_no_labels("label!", |k| n.labels.get(k).map(String::as_str))
            {
                continue;
            }
            self.store.write(|tx| tx.execute("DELETE FROM networks WHERE id = ?1", [&n.id]))?;
            removed.push(n.name);
        }
        Ok(removed)
    }

    /// Attaches a container (by full id) to a network, replacing its aliases if it already is.
    pub fn connect(&self, reference: &str, container_id: &str, aliases: &[String]) -> Result<Network> {
        let n = self.get(reference)?;
        if n.is_predefined() {
            return Err(NetworkError::Forbidden(
                "container cannot be disconnected from host network or connected to host network".into(),
            ));
        }
        self.store.write(|tx| {
            tx.execute(
                "INSERT INTO network_endpoints (network_id, container_id, aliases) VALUES (?1, ?2, ?3)
                 ON CONFLICT (network_id, container_id) DO UPDATE SET aliases = excluded.aliases",
                params![n.id, container_id, serde_json::to_string(aliases).unwrap_or_else(|_| "[]".into())],
            )
        })?;
        Ok(n)
    }

    /// Detaches a container from a network.
    pub fn disconnect(&self, reference: &str, container_id: &str) -> Result<()> {
        let n = self.get(reference)?;
        if n.is_predefined() {
            return Err(NetworkError::Forbidden(
                "container cannot be disconnected from host network or connected to host network".into(),
            ));
        }
        let gone = self.store.write(|tx| {
            tx.execute(
                "DELETE FROM network_endpoints WHERE network_id = ?1 AND container_id = ?2",
                params![n.id, container_id],
            )
        })?;
        if gone == 0 {
            return Err(NetworkError::Forbidden(format!(
                "container {container_id} is not connected to network {}",
                n.name
            )));
        }
        Ok(())
    }

    /// The user-defined networks a container is attached to, with its aliases on each.
    pub fn of_container(&self, container_id: &str) -> Result<Vec<(Network, Vec<String>)>> {
        let conn = self.store.conn();
        let mut st =
            conn.prepare_cached(&format!("{} WHERE e.container_id = ?1 ORDER BY n.name", attachment_select()))?;
        let rows = st.query_map([container_id], attachment_from_row)?;
        Ok(rows.map(|r| r.map(|(_, a)| a)).collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// [`Networks::of_container`] of every container at once, keyed by container id: what a
    /// listing of many containers needs, read in one query instead of one per container.
    pub fn attachments(&self) -> Result<HashMap<String, Attachments>> {
        let conn = self.store.conn();
        let mut st = conn.prepare_cached(&format!("{} ORDER BY e.container_id, n.name", attachment_select()))?;
        let mut out: HashMap<String, Attachments> = HashMap::new();
        for row in st.query_map([], attachment_from_row)? {
            let (container, attachment) = row?;
            out.entry(container).or_default().push(attachment);
        }
        Ok(out)
    }
}

/// The endpoints joined with their networks: a network's columns, then the endpoint's aliases
/// and container id.
fn attachment_select() -> String {
    format!(
        "SELECT {}, e.aliases, e.container_id FROM network_endpoints e JOIN networks n ON n.id = e.network_id",
        COLUMNS.split(", ").map(|c| format!("n.{c}")).collect::<Vec<_>>().join(", ")
    )
}

fn attachment_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, (Network, Vec<String>))> {
    let aliases: String = r.get(9)?;
    Ok((r.get(10)?, (from_row(r)?, serde_json::from_str(&aliases).unwrap_or_default())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> Networks {
        let store = Store::open_in_memory(&crate::schema()).expect("store");
        Networks::new(Arc::new(store))
    }

    #[test]
    fn predefined_networks_exist_and_cannot_be_removed() {
        let n = service();
        let names: Vec<String> = n.list().expect("list").into_iter().map(|n| n.name).collect();
        assert_eq!(names, vec!["host", "none"]);
        let err = n.remove("host", |_| false).expect_err("host");
        assert_eq!(err.to_string(), "host is a pre-defined network and cannot be removed");
    }

    #[test]
    fn create_get_filter_remove() {
        let n = service();
        let labels = BTreeMap::from([("com.docker.compose.project".to_owned(), "proj".to_owned())]);
        let id = n.create(CreateNetwork { name: "proj_default".into(), labels, ..Default::default() }).expect("create");
        let dup = n.create(CreateNetwork { name: "proj_default".into(), ..Default::default() }).expect_err("dup");
        assert_eq!(dup.to_string(), "network with name proj_default already exists");
        assert_eq!(n.get("proj_default").expect("by name").id, id);
        assert_eq!(n.get(&id[..12]).expect("by prefix").driver, "bridge");
        let mut f = Filters::new();
        f.add("label", "com.docker.compose.project=proj");
        assert_eq!(n.list_filtered(&f).expect("filtered").len(), 1);
        let mut f = Filters::new();
        f.add("type", "builtin");
        assert_eq!(n.list_filtered(&f).expect("builtin").len(), 2);
        n.remove(&id, |_| false).expect("remove");
        assert!(matches!(n.get("proj_default"), Err(NetworkError::NotFound(_))));
    }

    #[test]
    fn attachments_of_every_container_in_one_read() {
        let store = Arc::new(Store::open_in_memory(&crate::schema()).expect("store"));
        let n = Networks::new(Arc::clone(&store));
        for (i, c) in ["c1", "c2", "c3"].iter().enumerate() {
            store
                .conn()
                .execute(
                    "INSERT INTO containers (id, name, image_id, created_ns, config, host_config, mounts, state)
                     VALUES (?1, ?1, 'img', ?2, '{}', '{}', '[]', '{}')",
                    params![c, i as i64],
                )
                .expect("container row");
        }
        let b = n.create(CreateNetwork { name: "b".into(), ..Default::default() }).expect("b");
        let a = n.create(CreateNetwork { name: "a".into(), ..Default::default() }).expect("a");
        n.connect(&b, "c1", &["web".to_owned()]).expect("c1 to b");
        n.connect(&a, "c1", &[]).expect("c1 to a");
        n.connect(&b, "c2", &[]).expect("c2 to b");
        let all = n.attachments().expect("attachments");
        assert_eq!(all.len(), 2, "c3 is attached nowhere");
        for c in ["c1", "c2", "c3"] {
            let one = n.of_container(c).expect("of_container");
            let many = all.get(c).cloned().unwrap_or_default();
            let names = |v: &[(Network, Vec<String>)]| {
                v.iter().map(|(net, aliases)| (net.name.clone(), aliases.clone())).collect::<Vec<_>>()
            };
            assert_eq!(names(&many), names(&one), "{c}");
        }
        let c1: Vec<(String, Vec<String>)> =
            all["c1"].iter().map(|(net, aliases)| (net.name.clone(), aliases.clone())).collect();
        assert_eq!(c1, vec![("a".to_owned(), vec![]), ("b".to_owned(), vec!["web".to_owned()])]);
    }
}
