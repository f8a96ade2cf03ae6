//! The image store: images by id (the sha256 of their config), references (tags) to them, and
//! the layer reference each image holds, all in the metadata database.
//!
//! An image row, its tags and its hold on its top layer are written in one transaction, so an
//! image never exists without its layers, and deleting an image releases them in the same
//! transaction that removes it (the layers themselves are collected right after, see
//! `strata_layer::store`). Deletion follows Docker's rules exactly (untag vs delete, forced or
//! not, conflicts with containers and child images), because scripts depend on them.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use strata_layer::store::{HOLDER_IMAGE, hold_in, release_in};
use strata_layer::{ChainId, Digest, LayerError, LayerStore};
use strata_store::rusqlite::{self, OptionalExtension, params};
use strata_store::{Migrations, Store};

use crate::config::{ConfigError, ImageConfig};
use crate::reference::{Reference, ReferenceError};

/// The image store's tables (after the layer store's: images reference layers).
pub const IMAGE_MIGRATIONS: Migrations = Migrations {
    component: "image",
    steps: &["CREATE TABLE images (
            id            TEXT PRIMARY KEY NOT NULL,
            config        BLOB NOT NULL,
            top_layer     TEXT REFERENCES layers(chain_id),
            parent        TEXT REFERENCES images(id),
            created       INTEGER NOT NULL,
            size          INTEGER NOT NULL,
            last_tag_time TEXT
        ) STRICT;
        CREATE INDEX images_parent ON images(parent);
        CREATE TABLE image_refs (
            name     TEXT PRIMARY KEY NOT NULL,
            image_id TEXT NOT NULL REFERENCES images(id)
        ) STRICT;
        CREATE INDEX image_refs_image ON image_refs(image_id);"],
};

/// Errors of the image store. The API maps each to Docker's status code.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// 404.
    #[error("No such image: {0}")]
    NotFound(String),
    /// 404 (`docker save` of an unknown name).
    #[error("reference does not exist")]
    ReferenceNotFound,
    /// 400.
    #[error("{0}")]
    Reference(#[from] ReferenceError),
    /// 400.
    #[error("refusing to create a tag with a digest reference")]
    TagWithDigest,
    /// 409.
    #[error("{0}")]
    Conflict(String),
    /// 400.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// 400: bad input (a tar, a manifest, a change).
    #[error("{0}")]
    Invalid(String),
    /// 400: the image has more layers than a container could mount.
    #[error("{0}")]
    TooDeep(String),
    /// 500.
    #[error("{0}")]
    Layer(LayerError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("metadata database: {0}")]
    Sql(#[from] rusqlite::Error),
}

impl From<LayerError> for ImageError {
    fn from(e: LayerError) -> ImageError {
        match e {
            LayerError::TooDeep { .. } => ImageError::TooDeep(e.to_string()),
            LayerError::Tar(t) if t.is_bad_input() => ImageError::Invalid(t.to_string()),
            other => ImageError::Layer(other),
        }
    }
}

pub type ImageResult<T> = Result<T, ImageError>;

/// A container using an image (for delete conflicts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerUse {
    pub id: String,
    pub running: bool,
}

/// Which containers use an image. The engine implements it once containers exist; until then
/// no image is in use.
pub trait ImageUsage: Send + Sync {
    fn containers_using(&self, image: &Digest) -> Vec<ContainerUse>;
}

/// No containers.
#[derive(Debug, Default)]
pub struct NoContainers;

impl ImageUsage for NoContainers {
    fn containers_using(&self, _image: &Digest) -> Vec<ContainerUse> {
        Vec::new()
    }
}

/// An image.
#[derive(Debug, Clone)]
pub struct Image {
    pub id: Digest,
    /// The config exactly as stored (its sha256 is `id`).
    pub config_raw: Vec<u8>,
    pub config: ImageConfig,
    pub top_layer: Option<ChainId>,
    pub parent: Option<Digest>,
    /// `created` of the config, unix seconds.
    pub created: i64,
    /// Bytes of all layers.
    pub size: u64,
    pub last_tag_time: Option<String>,
    /// Fully qualified references, sorted.
    pub refs: Vec<Reference>,
}

impl Image {
    /// `RepoTags` (familiar `name:tag` forms).
    pub fn repo_tags(&self) -> Vec<String> {
        self.refs.iter().filter(|r| r.tag.is_some()).map(Reference::familiar).collect()
    }

    /// `RepoDigests`.
    pub fn repo_digests(&self) -> Vec<String> {
        self.refs.iter().filter(|r| r.digest.is_some()).map(Reference::familiar).collect()
    }
}

/// One line of a delete answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteItem {
    Untagged(String),
    Deleted(String),
}

/// One `docker history` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryItem {
    pub id: String,
    pub created: i64,
    pub created_by: String,
    pub tags: Vec<String>,
    pub size: u64,
    pub comment: String,
}

/// What `docker images --filter` selects.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub dangling: Option<bool>,
    pub references: Vec<String>,
    /// `key` or `key=value`.
    pub labels: Vec<String>,
    pub before: Option<String>,
    pub since: Option<String>,
}

/// The image store.
pub struct ImageStore {
    db: Arc<Store>,
    layers: Arc<LayerStore>,
    usage: RwLock<Arc<dyn ImageUsage>>,
    /// Scratch space for loads (spooled layers), on the data-root's filesystem.
    pub(crate) tmp: std::path::PathBuf,
}

impl std::fmt::Debug for ImageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageStore").field("layers", &self.layers).finish()
    }
}

/// Whether `s` is a full 64-hex id (with or without `sha256:`).
pub fn is_full_hex_id(s: &str) -> bool {
    strata_layer::id::is_sha256_hex(s.strip_prefix("sha256:").unwrap_or(s))
}

fn holder(id: &Digest) -> String {
    format!("{HOLDER_IMAGE}{id}")
}

impl ImageStore {
    pub fn new(db: Arc<Store>, layers: Arc<LayerStore>, tmp: &std::path::Path) -> ImageStore {
        ImageStore { db, layers, usage: RwLock::new(Arc::new(NoContainers)), tmp: tmp.to_owned() }
    }

    /// Installs the engine's view of which containers use which image.
    pub fn set_usage(&self, usage: Arc<dyn ImageUsage>) {
        *self.usage.write().unwrap_or_else(|p| p.into_inner()) = usage;
    }

    fn users(&self, id: &Digest) -> Vec<ContainerUse> {
        self.usage.read().unwrap_or_else(|p| p.into_inner()).containers_using(id)
    }

    pub fn layers(&self) -> &Arc<LayerStore> {
        &self.layers
    }

    /// Start-up repair: scratch space of interrupted loads.
    pub fn reconcile(&self) -> ImageResult<()> {
        match std::fs::remove_dir_all(&self.tmp) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn load_image(&self, conn: &rusqlite::Connection, id: &str) -> ImageResult<Option<Image>> {
        // Cached statements: listings resolve an image per container, and parsing the SQL
        // again each time was most of their cost.
        let row = conn
            .prepare_cached("SELECT config, top_layer, parent, created, size, last_tag_time FROM images WHERE id = ?1")?
            .query_row([id], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })
            .optional()?;
        let Some((config_raw, top, parent, created, size, last_tag_time)) = row else { return Ok(None) };
        let mut refs: Vec<Reference> = conn
            .prepare_cached("SELECT name FROM image_refs WHERE image_id = ?1")?
            .query_map([id], |r| r.get::<_, String>(0))?
            .filter_map(|n| n.ok().and_then(|n| Reference::parse_normalized(&n).ok()))
            .collect();
        refs.sort();
        Ok(Some(Image {
            id: Digest::parse(id).map_err(|e| ImageError::Invalid(e.to_string()))?,
            config: ImageConfig::parse(&config_raw)?,
            config_raw,
            top_layer: top.and_then(|t| Digest::parse(&t).ok()),
            parent: parent.and_then(|p| Digest::parse(&p).ok()),
            created,
            size: size as u64,
            last_tag_time,
            refs,
        }))
    }

    /// The image with id `id`.
    pub fn get(&self, id: &Digest) -> ImageResult<Option<Image>> {
        let conn = self.db.conn();
        self.load_image(&conn, id.as_str())
    }

    /// Every image.
    pub fn all(&self) -> ImageResult<Vec<Image>> {
        let conn = self.db.conn();
        let ids: Vec<String> =
            conn.prepare("SELECT id FROM images")?.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(img) = self.load_image(&conn, &id)? {
                out.push(img);
            }
        }
        Ok(out)
    }

    /// How many images there are (`docker info`).
    pub fn count(&self) -> ImageResult<u64> {
        Ok(self.db.conn().query_row("SELECT count(*) FROM images", [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Resolves a name (`busybox`, `me/app:1`), an id (`sha256:…`) or an id prefix
    /// (`58fa76f6faba`) as Docker does: references first, then ids.
    pub fn resolve(&self, name_or_id: &str) -> ImageResult<Image> {
        let not_found = || {
            let shown = Reference::parse_normalized(name_or_id)
                .map(|r| r.with_default_tag().familiar())
                .unwrap_or_else(|_| name_or_id.to_owned());
            ImageError::NotFound(shown)
        };
        let conn = self.db.conn();
        if let Ok(r) = Reference::parse_normalized(name_or_id) {
            let full = r.with_default_tag().full();
            let id: Option<String> = conn
                .prepare_cached("SELECT image_id FROM image_refs WHERE name = ?1")?
                .query_row([&full], |r| r.get(0))
                .optional()?;
            if let Some(id) = id {
                return self.load_image(&conn, &id)?.ok_or_else(not_found);
            }
        }
        let hex = name_or_id.strip_prefix("sha256:").unwrap_or(name_or_id);
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) || hex.len() > 64 {
            return Err(not_found());
        }
        let ids: Vec<String> = conn
            .prepare("SELECT id FROM images WHERE id >= ?1 AND id < ?2 LIMIT 2")?
            .query_map([format!("sha256:{hex}"), format!("sha256:{hex}g")], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        match ids.as_slice() {
            [one] => self.load_image(&conn, one)?.ok_or_else(not_found),
            [] => Err(not_found()),
            _ => Err(ImageError::NotFound(format!("{name_or_id} (ambiguous image id prefix)"))),
        }
    }

    /// Records an image whose layers are registered and held by `tmp_holder`; the image takes
    /// over the hold on its top layer, and `tags` point at it. Returns the image and, per tag,
    /// the image the tag pointed at before (if another).
    pub fn create(
        &self,
        config_raw: &[u8],
        top_layer: Option<&ChainId>,
        parent: Option<&Digest>,
        tags: &[Reference],
    ) -> ImageResult<Image> {
        let config = ImageConfig::parse(config_raw)?;
        let id = Digest::of(config_raw);
        let size: u64 = match top_layer {
            Some(top) => self.layers.chain(top)?.iter().map(|l| l.size).sum(),
            None => 0,
        };
        let tag_time = if tags.is_empty() { None } else { Some(crate::config::now_rfc3339_nanos()) };
        self.db.write(|tx| -> ImageResult<()> {
            tx.execute(
                "INSERT INTO images(id, config, top_layer, parent, created, size, last_tag_time)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(id) DO UPDATE SET last_tag_time = COALESCE(excluded.last_tag_time, last_tag_time)",
                params![
                    id.as_str(),
                    config_raw,
                    top_layer.map(Digest::as_str),
                    parent.map(Digest::as_str),
                    config.created_unix(),
                    size as i64,
                    tag_time
                ],
            )?;
            if let Some(top) = top_layer {
                hold_in(tx, top, &holder(&id))?;
            }
            for t in tags {
                tx.execute(
                    "INSERT INTO image_refs(name, image_id) VALUES (?1, ?2)
                     ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id",
                    [t.full(), id.as_str().to_owned()],
                )?;
            }
            Ok(())
        })?;
        self.get(&id)?.ok_or_else(|| ImageError::NotFound(id.to_string()))
    }

    /// `docker tag`: points `target` (tagged `latest` when it has no tag) at the image `source`.
    pub fn tag(&self, source: &str, target: &Reference) -> ImageResult<Image> {
        if target.digest.is_some() {
            return Err(ImageError::TagWithDigest);
        }
        let img = self.resolve(source)?;
        let target = target.clone().with_default_tag();
        let now = crate::config::now_rfc3339_nanos();
        self.db.write(|tx| -> ImageResult<()> {
            tx.execute(
                "INSERT INTO image_refs(name, image_id) VALUES (?1, ?2)
                 ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id",
                [target.full(), img.id.as_str().to_owned()],
            )?;
            tx.execute("UPDATE images SET last_tag_time = ?1 WHERE id = ?2", [now.as_str(), img.id.as_str()])?;
            Ok(())
        })?;
        self.get(&img.id)?.ok_or_else(|| ImageError::NotFound(source.to_owned()))
    }

    /// Images whose parent is `id`.
    fn children(&self, id: &Digest) -> ImageResult<usize> {
        Ok(self
            .db
            .conn()
            .query_row("SELECT count(*) FROM images WHERE parent = ?1", [id.as_str()], |r| r.get::<_, i64>(0))?
            as usize)
    }

    fn refs_of(&self, id: &Digest) -> ImageResult<Vec<Reference>> {
        Ok(self.get(id)?.map(|i| i.refs).unwrap_or_default())
    }

    fn untag(&self, r: &Reference) -> ImageResult<()> {
        self.db.write(|tx| tx.execute("DELETE FROM image_refs WHERE name = ?1", [r.full()]))?;
        Ok(())
    }

    /// `docker rmi`: untags or deletes, with Docker's conflicts.
    pub fn delete(&self, name_or_id: &str, force: bool, prune: bool) -> ImageResult<Vec<DeleteItem>> {
        let img = self.resolve(name_or_id)?;
        let id = img.id.clone();
        let users = self.users(&id);
        let mut records = Vec::new();
        let by_id = is_id_prefix(&id, name_or_id);
        let single_repo = |refs: &[Reference]| refs.windows(2).all(|w| w[0].name() == w[1].name());
        let mut quiet = false;
        if !by_id {
            if !force
                && single_repo(&img.refs)
                && let Some(c) = users.first()
            {
                return Err(ImageError::Conflict(format!(
                    "conflict: unable to remove repository reference {name_or_id:?} (must force) - container {} is using its referenced image {}",
                    short(&c.id),
                    id.short()
                )));
            }
            let r = Reference::parse_normalized(name_or_id)?.with_default_tag();
            self.untag(&r)?;
            records.push(DeleteItem::Untagged(r.familiar()));
            if !self.refs_of(&id)?.is_empty() {
                return Ok(records);
            }
            quiet = true;
        } else if single_repo(&img.refs) {
            self.check_conflicts(&id, &users, true, !force, false)?;
            for r in &img.refs {
                self.untag(r)?;
                records.push(DeleteItem::Untagged(r.familiar()));
            }
        }
        self.delete_helper(&id, &mut records, force, prune, quiet)?;
        Ok(records)
    }

    /// Docker's conflict checks: `hard` = child images, running containers; `soft` = other
    /// references, stopped containers.
    fn check_conflicts(
        &self,
        id: &Digest,
        users: &[ContainerUse],
        hard: bool,
        soft: bool,
        references: bool,
    ) -> ImageResult<()> {
        let conflict = |cannot: bool, why: String| {
            ImageError::Conflict(format!(
                "conflict: unable to delete {} ({}) - {why}",
                id.short(),
                if cannot { "cannot be forced" } else { "must be forced" }
            ))
        };
        if hard && self.children(id)? > 0 {
            return Err(conflict(true, "image has dependent child images".into()));
        }
        if hard && let Some(c) = users.iter().find(|c| c.running) {
            return Err(conflict(true, format!("image is being used by running container {}", short(&c.id))));
        }
        if soft && references && !self.refs_of(id)?.is_empty() {
            return Err(conflict(false, "image is referenced in multiple repositories".into()));
        }
        if soft && let Some(c) = users.iter().find(|c| !c.running) {
            return Err(conflict(false, format!("image is being used by stopped container {}", short(&c.id))));
        }
        Ok(())
    }

    fn delete_helper(
        &self,
        id: &Digest,
        records: &mut Vec<DeleteItem>,
        force: bool,
        prune: bool,
        quiet: bool,
    ) -> ImageResult<()> {
        let users = self.users(id);
        if let Err(e) = self.check_conflicts(id, &users, true, !force, true) {
            let dangling = self.refs_of(id)?.is_empty();
            if quiet && (!dangling || !users.is_empty()) {
                return Ok(());
            }
            return Err(e);
        }
        let Some(img) = self.get(id)? else { return Ok(()) };
        let removed_layers = {
            self.db.write(|tx| -> ImageResult<()> {
                for r in &img.refs {
                    tx.execute("DELETE FROM image_refs WHERE name = ?1", [r.full()])?;
                }
                release_in(tx, &holder(id))?;
                tx.execute("DELETE FROM images WHERE id = ?1", [id.as_str()])?;
                Ok(())
            })?;
            for r in &img.refs {
                records.push(DeleteItem::Untagged(r.familiar()));
            }
            self.layers.gc()?
        };
        records.push(DeleteItem::Deleted(id.to_string()));
        records.extend(removed_layers.into_iter().map(|c| DeleteItem::Deleted(c.to_string())));
        match (prune, &img.parent) {
            (true, Some(parent)) if self.get(parent)?.is_some() => {
                self.delete_helper(parent, records, false, true, true)
            }
            _ => Ok(()),
        }
    }

    /// `docker images` with filters, newest first.
    pub fn list(&self, filter: &ListFilter) -> ImageResult<Vec<Image>> {
        let before = filter.before.as_deref().map(|b| self.resolve(b)).transpose()?.map(|i| i.created);
        let since = filter.since.as_deref().map(|s| self.resolve(s)).transpose()?.map(|i| i.created);
        let mut out: Vec<Image> = self
            .all()?
            .into_iter()
            .filter(|img| {
                let tagged = !img.refs.is_empty();
                if let Some(d) = filter.dangling
                    && d == tagged
                {
                    return false;
                }
                if !filter.references.is_empty()
                    && !img.refs.iter().any(|r| filter.references.iter().any(|p| reference_matches(p, r)))
                {
                    return false;
                }
                if !filter.labels.is_empty() {
                    let labels = img.config.labels();
                    let ok = filter.labels.iter().all(|l| match l.split_once('=') {
                        Some((k, v)) => labels.get(k).and_then(|x| x.as_str()) == Some(v),
                        None => labels.contains_key(l.as_str()),
                    });
                    if !ok {
                        return false;
                    }
                }
                if before.is_some_and(|b| img.created >= b) || since.is_some_and(|s| img.created <= s) {
                    return false;
                }
                true
            })
            .collect();
        out.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// `docker history`, newest first.
    pub fn history(&self, name_or_id: &str) -> ImageResult<Vec<HistoryItem>> {
        let img = self.resolve(name_or_id)?;
        let layers = match &img.top_layer {
            Some(top) => self.layers.chain(top)?,
            None => Vec::new(),
        };
        let mut out = Vec::new();
        let mut layer_index = 0usize;
        for h in &img.config.history {
            let size = if h.empty_layer {
                0
            } else {
                let s = layers.get(layer_index).map_or(0, |l| l.size);
                layer_index += 1;
                s
            };
            out.push(HistoryItem {
                id: "<missing>".to_owned(),
                created: h.created.as_deref().map(crate::config::parse_time_unix).unwrap_or(0),
                created_by: h.created_by.clone(),
                tags: Vec::new(),
                size,
                comment: h.comment.clone(),
            });
        }
        if out.is_empty() {
            // A config without history: one row per layer.
            for l in &layers {
                out.push(HistoryItem {
                    id: "<missing>".to_owned(),
                    created: img.created,
                    created_by: String::new(),
                    tags: Vec::new(),
                    size: l.size,
                    comment: String::new(),
                });
            }
        }
        out.reverse();
        if let Some(top) = out.first_mut() {
            top.id = img.id.to_string();
            top.tags = img.repo_tags();
        } else {
            out.push(HistoryItem {
                id: img.id.to_string(),
                created: img.created,
                created_by: String::new(),
                tags: img.repo_tags(),
                size: 0,
                comment: img.config.comment.clone(),
            });
        }
        // Images of the local lineage (commits) show their own ids further down.
        let mut parent = img.parent.clone();
        let mut row = 0usize;
        while let Some(p) = parent {
            let Some(pimg) = self.get(&p)? else { break };
            let own = pimg.config.history.len().max(1);
            row = out.len().saturating_sub(own);
            if let Some(item) = out.get_mut(row) {
                item.id = pimg.id.to_string();
                item.tags = pimg.repo_tags();
            }
            parent = pimg.parent.clone();
        }
        let _ = row;
        Ok(out)
    }

    /// `GraphDriver.Data` of an image.
    pub fn graph_data(&self, img: &Image) -> ImageResult<BTreeMap<String, String>> {
        Ok(match &img.top_layer {
            Some(top) => self.layers.graph_data(top)?.into_iter().collect(),
            None => BTreeMap::new(),
        })
    }
}

/// Whether `given` names `id` by id (`sha256:…` or a hex prefix), not by reference.
fn is_id_prefix(id: &Digest, given: &str) -> bool {
    let hex = given.strip_prefix("sha256:").unwrap_or(given);
    !hex.is_empty() && id.hex().starts_with(hex)
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// `--filter reference=PATTERN`: the pattern is matched against the familiar `name:tag`, and,
/// when it has no tag part, against the familiar name as well.
pub fn reference_matches(pattern: &str, r: &Reference) -> bool {
    if crate::reference::glob_match(pattern, &r.familiar()) {
        return true;
    }
    let has_tag = pattern.rsplit('/').next().is_some_and(|last| last.contains(':'));
    !has_tag && crate::reference::glob_match(pattern, &r.familiar_name())
}
