//! The layer store: layers by content identity, reference-counted in the metadata database.
//!
//! ## Crash safety
//!
//! A layer directory becomes a layer only through a row in `layers`, and the rules are:
//!
//! 1. **Apply, then publish.** A tar is applied into a fresh directory whose name (a random cache
//!    id) no row mentions yet: the *staging place*. Its data is flushed (`syncfs`) and only then is
//!    the row inserted, in one transaction together with the tar-split and the reference of
//!    whoever asked for the layer. A crash at any point before that commit leaves a directory no
//!    row names; the start-up [`LayerStore::reconcile`] deletes every such directory.
//! 2. **Unpublish, then delete.** Removal deletes the row first (one transaction, refused while
//!    anything references the layer or a child builds on it), then moves the directory into the
//!    driver's trash (one `rename`) and deletes it in the background. A crash in between leaves an
//!    unnamed directory or a trash entry, both removed at the next start. A row therefore never
//!    outlives its directory, and a directory without a row never survives a restart.
//! 3. **References are rows.** `layer_refs(chain_id, holder)` says who holds a layer: an image
//!    (`image:<id>`), or an operation in flight (`tmp:<random>`, e.g. a load that has registered
//!    some of an image's layers but not yet the image). Temporary holders are dropped at start.
//!    Children hold their parent through `layers.parent`, containers hold the layer under their
//!    read-write layer through `rw_layers.parent`; SQLite's foreign keys make a dangling
//!    reference impossible. Unreferenced layers are collected by [`LayerStore::gc`].
//!
//! Sizes are recorded when a layer is applied (the bytes of file content in its tar) and never
//! walked again.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use strata_store::rusqlite::{self, OptionalExtension, Transaction, params};
use strata_store::{Migrations, Store};

use crate::driver::{Change, DriverError, GraphDriver};
use crate::failpoint;
use crate::id::{ChainId, DiffId, Digest, chain_id, random_cache_id};
use crate::mount::MAX_LOWER_LAYERS;
use crate::tarlayer::{self, TarError};

/// The most layers an image may have: every image layer plus the container's init layer must fit
/// in the kernel's overlay stack (the read-write layer is the upper dir, not a lower).
pub const MAX_IMAGE_LAYERS: usize = MAX_LOWER_LAYERS - 1;

/// The suffix of a container's init layer directory (Docker's `<mount-id>-init`).
pub const INIT_SUFFIX: &str = "-init";

/// Holder prefixes in `layer_refs`.
pub const HOLDER_IMAGE: &str = "image:";
pub const HOLDER_TMP: &str = "tmp:";

/// The layer store's tables.
pub const LAYER_MIGRATIONS: Migrations = Migrations {
    component: "layer",
    steps: &["CREATE TABLE layers (
            chain_id  TEXT PRIMARY KEY NOT NULL,
            diff_id   TEXT NOT NULL,
            parent    TEXT REFERENCES layers(chain_id),
            cache_id  TEXT NOT NULL UNIQUE,
            size      INTEGER NOT NULL,
            tar_len   INTEGER NOT NULL,
            depth     INTEGER NOT NULL,
            created   INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX layers_parent ON layers(parent);
        CREATE TABLE layer_tar_split (
            chain_id TEXT PRIMARY KEY NOT NULL REFERENCES layers(chain_id) ON DELETE CASCADE,
            data     BLOB NOT NULL
        ) STRICT;
        CREATE TABLE layer_refs (
            chain_id TEXT NOT NULL REFERENCES layers(chain_id),
            holder   TEXT NOT NULL,
            PRIMARY KEY (chain_id, holder)
        ) STRICT;
        CREATE INDEX layer_refs_holder ON layer_refs(holder);
        CREATE TABLE rw_layers (
            container_id TEXT PRIMARY KEY NOT NULL,
            mount_id     TEXT NOT NULL UNIQUE,
            parent       TEXT REFERENCES layers(chain_id),
            created      INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX rw_layers_parent ON rw_layers(parent);"],
};

/// Errors of the layer store.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("layer {0} does not exist")]
    UnknownLayer(ChainId),
    #[error(
        "max depth exceeded: the image has {depth} layers, but at most {MAX_IMAGE_LAYERS} fit in one overlay mount \
         (the kernel stacks {MAX_LOWER_LAYERS} lower layers, one of them a container's init layer)"
    )]
    TooDeep { depth: usize },
    #[error("container {0} has no read-write layer")]
    NoRwLayer(String),
    #[error("container {0} already has a read-write layer")]
    RwLayerExists(String),
    #[error("{0}")]
    Tar(#[from] TarError),
    #[error(transparent)]
    Driver(#[from] DriverError),
    #[error("{op} {path}: {source}")]
    Io { op: &'static str, path: PathBuf, source: io::Error },
    #[error("metadata database: {0}")]
    Sql(#[from] rusqlite::Error),
}

pub type LayerResult<T> = Result<T, LayerError>;

/// A registered (read-only) layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    pub chain_id: ChainId,
    pub diff_id: DiffId,
    pub parent: Option<ChainId>,
    /// The directory name under the driver home.
    pub cache_id: String,
    /// Bytes of file content (Docker's layer size).
    pub size: u64,
    /// Bytes of the layer tar `write_tar` produces.
    pub tar_len: u64,
    /// 1 for a base layer.
    pub depth: usize,
    pub created: i64,
}

/// A container's read-write layer (on top of its init layer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RwLayer {
    pub container_id: String,
    /// The directory of the read-write layer; the init layer is `<mount_id>-init`.
    pub mount_id: String,
    /// The image layer below the init layer (`None` for a container of an empty image).
    pub parent: Option<ChainId>,
}

impl RwLayer {
    pub fn init_id(&self) -> String {
        format!("{}{INIT_SUFFIX}", self.mount_id)
    }
}

/// A layer applied into its staging directory, not yet published. Dropping it removes the
/// directory.
#[derive(Debug)]
pub struct Staged {
    driver: Arc<dyn GraphDriver>,
    cache_id: String,
    pub diff_id: DiffId,
    pub size: u64,
    pub tar_len: u64,
    tar_split: Vec<u8>,
    /// The parent the directory was created on (vfs copies it; overlay2 may be re-parented).
    built_on: Option<String>,
    published: bool,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.published
            && let Err(e) = self.driver.remove(&self.cache_id)
        {
            tracing::warn!(cache_id = %self.cache_id, error = %e, "cannot remove a staged layer; the next start will");
        }
    }
}

/// What the start-up reconcile repaired.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReconcileReport {
    pub orphan_dirs: usize,
    pub temporary_refs: usize,
    pub missing_dirs: usize,
    pub collected: usize,
}

/// The layer store.
#[derive(Debug)]
pub struct LayerStore {
    db: Arc<Store>,
    driver: Arc<dyn GraphDriver>,
    rw_sizes: std::sync::Mutex<RwSizeCache>,
}

/// Measured sizes of read-write layers, kept while nothing can change them.
///
/// A container's upper directory is written only through its mounted root filesystem, and every
/// mount of it is a [`LayerStore::mount_rw`] (container start, `docker cp` and export of a
/// stopped container). So a size measured while no mount is outstanding stays true until the
/// next `mount_rw`; mounting and unmounting drop the entry and bump the layer's epoch, and a
/// walk whose epoch changed while it ran is not kept. Mounted layers (running containers) are
/// walked on every request.
#[derive(Debug, Default)]
struct RwSizeCache {
    mounts: HashMap<String, usize>,
    epochs: HashMap<String, u64>,
    sizes: HashMap<String, u64>,
}

impl RwSizeCache {
    fn touch(&mut self, id: &str, delta: isize) {
        let m = self.mounts.entry(id.to_owned()).or_default();
        *m = m.saturating_add_signed(delta);
        if *m == 0 {
            self.mounts.remove(id);
        }
        *self.epochs.entry(id.to_owned()).or_default() += 1;
        self.sizes.remove(id);
    }
}

/// Parallel walks at most this many layers at once.
const SIZE_WORKERS: usize = 4;

fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn layer_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Layer> {
    let digest = |s: String| Digest::parse(&s).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)));
    Ok(Layer {
        chain_id: digest(r.get(0)?)?,
        diff_id: digest(r.get(1)?)?,
        parent: r.get::<_, Option<String>>(2)?.map(digest).transpose()?,
        cache_id: r.get(3)?,
        size: r.get::<_, i64>(4)? as u64,
        tar_len: r.get::<_, i64>(5)? as u64,
        depth: r.get::<_, i64>(6)? as usize,
        created: r.get(7)?,
    })
}

const LAYER_COLUMNS: &str = "chain_id, diff_id, parent, cache_id, size, tar_len, depth, created";

impl LayerStore {
    pub fn new(db: Arc<Store>, driver: Arc<dyn GraphDriver>) -> LayerStore {
        LayerStore { db, driver, rw_sizes: std::sync::Mutex::default() }
    }

    pub fn driver(&self) -> &Arc<dyn GraphDriver> {
        &self.driver
    }

    /// The layer `chain`, if registered.
    pub fn get(&self, chain: &ChainId) -> LayerResult<Option<Layer>> {
        let conn = self.db.conn();
        Ok(conn
            .query_row(
                &format!("SELECT {LAYER_COLUMNS} FROM layers WHERE chain_id = ?1"),
                [chain.as_str()],
                layer_from_row,
            )
            .optional()?)
    }

    fn must_get(&self, chain: &ChainId) -> LayerResult<Layer> {
        self.get(chain)?.ok_or_else(|| LayerError::UnknownLayer(chain.clone()))
    }

    /// Every layer of the chain ending at `top`, base first.
    pub fn chain(&self, top: &ChainId) -> LayerResult<Vec<Layer>> {
        let mut out = Vec::new();
        let mut next = Some(top.clone());
        while let Some(c) = next {
            let l = self.must_get(&c)?;
            next = l.parent.clone();
            out.push(l);
        }
        out.reverse();
        Ok(out)
    }

    /// Every registered layer.
    pub fn all(&self) -> LayerResult<Vec<Layer>> {
        let conn = self.db.conn();
        let mut stmt = conn.prepare(&format!("SELECT {LAYER_COLUMNS} FROM layers"))?;
        let rows = stmt.query_map([], layer_from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Applies `tar` on top of `parent` and registers it, held by `holder`. When the same chain
    /// is already registered the new copy is dropped and the existing layer is held instead.
    pub fn register(&self, parent: Option<&ChainId>, tar: impl Read, holder: &str) -> LayerResult<Layer> {
        let staged = self.stage_on(parent, tar)?;
        self.publish(staged, parent, holder)
    }

    /// Applies `tar` into a staging directory built on `parent`.
    pub fn stage_on(&self, parent: Option<&ChainId>, tar: impl Read) -> LayerResult<Staged> {
        let parent_layer = parent.map(|p| self.must_get(p)).transpose()?;
        if let Some(p) = &parent_layer
            && p.depth + 1 > MAX_IMAGE_LAYERS
        {
            return Err(LayerError::TooDeep { depth: p.depth + 1 });
        }
        let built_on = parent_layer.map(|p| p.cache_id);
        self.stage_inner(built_on, tar)
    }

    /// Applies `tar` into a staging directory without a parent; only for drivers that
    /// [stage without a parent](GraphDriver::stages_without_parent).
    pub fn stage(&self, tar: impl Read) -> LayerResult<Staged> {
        self.stage_inner(None, tar)
    }

    fn stage_inner(&self, built_on: Option<String>, tar: impl Read) -> LayerResult<Staged> {
        let cache_id = random_cache_id();
        let content = self.driver.create(&cache_id, built_on.as_deref())?;
        let mut staged = Staged {
            driver: Arc::clone(&self.driver),
            cache_id,
            diff_id: Digest::of(b""),
            size: 0,
            tar_len: 0,
            tar_split: Vec::new(),
            built_on,
            published: false,
        };
        // Applied and flushed to disk before anything can make it visible.
        let applied = tarlayer::apply(tar, &content, self.driver.whiteouts())?;
        failpoint::hit("layer-applied");
        staged.diff_id = applied.diff_id;
        staged.size = applied.size;
        staged.tar_len = applied.tar_len;
        staged.tar_split = applied.tar_split;
        Ok(staged)
    }

    /// Publishes a staged layer as the child of `parent`, held by `holder`.
    pub fn publish(&self, mut staged: Staged, parent: Option<&ChainId>, holder: &str) -> LayerResult<Layer> {
        let parent_layer = parent.map(|p| self.must_get(p)).transpose()?;
        let depth = parent_layer.as_ref().map_or(1, |p| p.depth + 1);
        if depth > MAX_IMAGE_LAYERS {
            return Err(LayerError::TooDeep { depth });
        }
        let chain = chain_id(parent, &staged.diff_id);
        if let Some(existing) = self.get(&chain)? {
            self.db.write(|tx| hold_in(tx, &chain, holder))?;
            return Ok(existing); // `staged` drops: its directory goes.
        }
        let parent_cache = parent_layer.as_ref().map(|p| p.cache_id.clone());
        if staged.built_on != parent_cache {
            self.driver.set_parent(&staged.cache_id, parent_cache.as_deref())?;
        }
        let layer = Layer {
            chain_id: chain.clone(),
            diff_id: staged.diff_id.clone(),
            parent: parent.cloned(),
            cache_id: staged.cache_id.clone(),
            size: staged.size,
            tar_len: staged.tar_len,
            depth,
            created: now_unix(),
        };
        let inserted = self.db.write(|tx| -> LayerResult<bool> {
            // Another registration of the same content may have won the race.
            let exists: bool =
                tx.query_row("SELECT EXISTS(SELECT 1 FROM layers WHERE chain_id = ?1)", [chain.as_str()], |r| {
                    r.get(0)
                })?;
            if !exists {
                tx.execute(
                    &format!("INSERT INTO layers({LAYER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                    params![
                        layer.chain_id.as_str(),
                        layer.diff_id.as_str(),
                        layer.parent.as_ref().map(Digest::as_str),
                        layer.cache_id,
                        layer.size as i64,
                        layer.tar_len as i64,
                        layer.depth as i64,
                        layer.created
                    ],
                )?;
                tx.execute(
                    "INSERT INTO layer_tar_split(chain_id, data) VALUES (?1, ?2)",
                    params![layer.chain_id.as_str(), staged.tar_split],
                )?;
            }
            hold_in(tx, &chain, holder)?;
            Ok(!exists)
        })?;
        if inserted {
            staged.published = true;
            failpoint::hit("layer-published");
            Ok(layer)
        } else {
            drop(staged);
            self.must_get(&chain)
        }
    }

    /// Adds `holder`'s reference to the registered layer `chain`.
    pub fn hold(&self, chain: &ChainId, holder: &str) -> LayerResult<Layer> {
        let layer = self.must_get(chain)?;
        self.db.write(|tx| hold_in(tx, chain, holder))?;
        Ok(layer)
    }

    /// Drops every reference of `holder` and collects what became unreferenced. Returns the
    /// chain ids of the removed layers.
    pub fn release(&self, holder: &str) -> LayerResult<Vec<ChainId>> {
        self.db.write(|tx| release_in(tx, holder))?;
        self.gc()
    }

    /// Removes every layer nothing references (no holder, no child, no container), repeating
    /// down the chains. Rows go first, in one transaction per round; directories after.
    pub fn gc(&self) -> LayerResult<Vec<ChainId>> {
        let mut removed = Vec::new();
        loop {
            let victims: Vec<(String, String)> = self.db.write(|tx| -> LayerResult<Vec<(String, String)>> {
                let victims = {
                    let mut stmt = tx.prepare(
                        "SELECT chain_id, cache_id FROM layers l
                         WHERE NOT EXISTS (SELECT 1 FROM layer_refs r WHERE r.chain_id = l.chain_id)
                           AND NOT EXISTS (SELECT 1 FROM layers c WHERE c.parent = l.chain_id)
                           AND NOT EXISTS (SELECT 1 FROM rw_layers w WHERE w.parent = l.chain_id)",
                    )?;
                    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<Vec<_>, _>>()?
                };
                for (chain, _) in &victims {
                    tx.execute("DELETE FROM layers WHERE chain_id = ?1", [chain])?;
                }
                Ok(victims)
            })?;
            if victims.is_empty() {
                return Ok(removed);
            }
            failpoint::hit("layer-row-deleted");
            for (chain, cache_id) in victims {
                if let Err(e) = self.driver.remove(&cache_id) {
                    // The row is gone; the directory is an orphan the next start removes.
                    tracing::warn!(%chain, %cache_id, error = %e, "cannot remove layer directory");
                }
                if let Ok(d) = Digest::parse(&chain) {
                    removed.push(d);
                }
            }
        }
    }

    /// Writes layer `chain`'s tar, bit-identical to the one it was registered from (its sha256
    /// is the diff id). Returns the bytes written.
    pub fn write_tar(&self, chain: &ChainId, out: &mut dyn Write) -> LayerResult<u64> {
        let layer = self.must_get(chain)?;
        let split: Vec<u8> = self.db.conn().query_row(
            "SELECT data FROM layer_tar_split WHERE chain_id = ?1",
            [chain.as_str()],
            |r| r.get(0),
        )?;
        Ok(tarlayer::assemble(&split, &self.driver.content_dir(&layer.cache_id), out)?)
    }

    /// `GraphDriver.Data` of the image whose top layer is `top`.
    pub fn graph_data(&self, top: &ChainId) -> LayerResult<Vec<(String, String)>> {
        let layer = self.must_get(top)?;
        Ok(self.driver.data(&layer.cache_id))
    }

    // ---- containers -------------------------------------------------------------------------

    /// Creates `container_id`'s init layer on `image_top` (filled by `init`, which gets the
    /// directory to write into: `/etc/hosts`, `/etc/resolv.conf`, …) and its read-write layer on
    /// top. Published in one transaction after both directories exist.
    pub fn create_rw(
        &self,
        container_id: &str,
        image_top: Option<&ChainId>,
        init: impl FnOnce(&Path) -> io::Result<()>,
    ) -> LayerResult<RwLayer> {
        if self.rw(container_id)?.is_some() {
            return Err(LayerError::RwLayerExists(container_id.to_owned()));
        }
        let parent = image_top.map(|c| self.must_get(c)).transpose()?;
        let rw =
            RwLayer { container_id: container_id.to_owned(), mount_id: random_cache_id(), parent: image_top.cloned() };
        let init_id = rw.init_id();
        let cleanup = |d: &Arc<dyn GraphDriver>| {
            let _ = d.remove(&rw.mount_id);
            let _ = d.remove(&init_id);
        };
        let result = (|| -> LayerResult<()> {
            let init_dir = self.driver.create(&init_id, parent.as_ref().map(|p| p.cache_id.as_str()))?;
            init(&init_dir).map_err(|source| LayerError::Io {
                op: "write init layer",
                path: init_dir.clone(),
                source,
            })?;
            self.driver.create(&rw.mount_id, Some(&init_id))?;
            self.db.write(|tx| {
                tx.execute(
                    "INSERT INTO rw_layers(container_id, mount_id, parent, created) VALUES (?1, ?2, ?3, ?4)",
                    params![container_id, rw.mount_id, image_top.map(Digest::as_str), now_unix()],
                )
            })?;
            Ok(())
        })();
        if let Err(e) = result {
            cleanup(&self.driver);
            return Err(e);
        }
        Ok(rw)
    }

    /// `container_id`'s read-write layer, if it has one.
    pub fn rw(&self, container_id: &str) -> LayerResult<Option<RwLayer>> {
        let conn = self.db.conn();
        let row = conn
            .query_row("SELECT mount_id, parent FROM rw_layers WHERE container_id = ?1", [container_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
            })
            .optional()?;
        Ok(row.map(|(mount_id, parent)| RwLayer {
            container_id: container_id.to_owned(),
            mount_id,
            parent: parent.and_then(|p| Digest::parse(&p).ok()),
        }))
    }

    /// Every container read-write layer (for the container service's start-up reconcile: a layer
    /// whose container is gone is removed with [`LayerStore::remove_rw`]).
    pub fn all_rw(&self) -> LayerResult<Vec<RwLayer>> {
        let conn = self.db.conn();
        let mut stmt = conn.prepare("SELECT container_id, mount_id, parent FROM rw_layers")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows
            .into_iter()
            .map(|(container_id, mount_id, parent)| RwLayer {
                container_id,
                mount_id,
                parent: parent.and_then(|p| Digest::parse(&p).ok()),
            })
            .collect())
    }

    fn must_rw(&self, container_id: &str) -> LayerResult<RwLayer> {
        self.rw(container_id)?.ok_or_else(|| LayerError::NoRwLayer(container_id.to_owned()))
    }

    /// Mounts the container's root filesystem (reference-counted) and returns its path.
    pub fn mount_rw(&self, container_id: &str) -> LayerResult<PathBuf> {
        let rw = self.must_rw(container_id)?;
        self.size_cache().touch(container_id, 1);
        let mounted = self.driver.get(&rw.mount_id);
        if mounted.is_err() {
            self.size_cache().touch(container_id, -1);
        }
        Ok(mounted?)
    }

    fn size_cache(&self) -> std::sync::MutexGuard<'_, RwSizeCache> {
        self.rw_sizes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Releases one [`LayerStore::mount_rw`].
    pub fn unmount_rw(&self, container_id: &str) -> LayerResult<()> {
        let rw = self.must_rw(container_id)?;
        let result = self.driver.put(&rw.mount_id);
        self.size_cache().touch(container_id, -1);
        Ok(result?)
    }

    /// `GraphDriver.Data` of a container (`LowerDir` starts with its init layer).
    pub fn rw_data(&self, container_id: &str) -> LayerResult<Vec<(String, String)>> {
        let rw = self.must_rw(container_id)?;
        Ok(self.driver.data(&rw.mount_id))
    }

    /// `docker diff`: the container's changes against its init layer.
    pub fn rw_changes(&self, container_id: &str) -> LayerResult<Vec<Change>> {
        let rw = self.must_rw(container_id)?;
        Ok(self.driver.changes(&rw.mount_id, Some(&rw.init_id()))?)
    }

    /// Bytes of the container's changes (`SizeRw`), as Docker counts them: for overlay2 the
    /// apparent size of everything in the upper directory (hard links once), for vfs the files
    /// that differ from the image. Cached while the layer is not mounted (see [`RwSizeCache`]).
    pub fn rw_size(&self, container_id: &str) -> LayerResult<u64> {
        let epoch = {
            let cache = self.size_cache();
            if let Some(s) = cache.sizes.get(container_id) {
                return Ok(*s);
            }
            cache.epochs.get(container_id).copied().unwrap_or(0)
        };
        let size = self.measure_rw(container_id)?;
        let mut cache = self.size_cache();
        if !cache.mounts.contains_key(container_id) && cache.epochs.get(container_id).copied().unwrap_or(0) == epoch {
            cache.sizes.insert(container_id.to_owned(), size);
        }
        Ok(size)
    }

    /// [`LayerStore::rw_size`] of many containers, walked on a few threads; 0 for a container
    /// whose size cannot be read.
    pub fn rw_sizes(&self, container_ids: &[&str]) -> Vec<u64> {
        // A container whose walk failed or panicked counts 0; the others keep their own figure.
        strata_sys::parallel::map(container_ids, SIZE_WORKERS, 2, |id| self.rw_size(id).unwrap_or(0))
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect()
    }

    fn measure_rw(&self, container_id: &str) -> LayerResult<u64> {
        let rw = self.must_rw(container_id)?;
        let root = self.driver.content_dir(&rw.mount_id);
        if self.driver.kind() == crate::DriverKind::Overlay2 {
            return strata_sys::du::tree_usage(&root)
                .map(|u| u.apparent)
                .map_err(|e| LayerError::Driver(DriverError::Io { op: "measure", path: root, source: e }));
        }
        let mut total = 0u64;
        for change in self.driver.changes(&rw.mount_id, Some(&rw.init_id()))? {
            if change.kind != crate::driver::ChangeKind::Deleted {
                let p = root.join(change.path.trim_start_matches('/'));
                if let Ok(md) = std::fs::symlink_metadata(&p)
                    && !md.is_dir()
                {
                    total += md.len();
                }
            }
        }
        Ok(total)
    }

    /// Writes the container's changes as a layer tar (whiteouts as `.wh.` entries), the input of
    /// `docker commit`.
    pub fn rw_diff_tar(&self, container_id: &str, out: &mut dyn Write) -> LayerResult<()> {
        let rw = self.must_rw(container_id)?;
        let root = self.driver.content_dir(&rw.mount_id);
        match self.driver.kind() {
            // The upper directory is the diff (redirects are off): pack it as it is.
            crate::DriverKind::Overlay2 => tarlayer::pack_upper(&root, out)?,
            crate::DriverKind::Vfs => {
                let changes = self.driver.changes(&rw.mount_id, Some(&rw.init_id()))?;
                let scratch = self
                    .driver
                    .home()
                    .join(crate::driver::TRASH_DIR)
                    .join(format!("commit-{}", crate::id::random_link_id()));
                tarlayer::pack_changes(&root, &changes, &scratch, out)?;
            }
        }
        Ok(())
    }

    /// Removes a container's read-write and init layers (unmounting them first).
    pub fn remove_rw(&self, container_id: &str) -> LayerResult<()> {
        let Some(rw) = self.rw(container_id)? else { return Ok(()) };
        {
            let mut cache = self.size_cache();
            cache.sizes.remove(container_id);
            cache.epochs.remove(container_id);
            cache.mounts.remove(container_id);
        }
        self.db.write(|tx| tx.execute("DELETE FROM rw_layers WHERE container_id = ?1", [container_id]))?;
        self.driver.remove(&rw.mount_id)?;
        self.driver.remove(&rw.init_id())?;
        Ok(())
    }

    // ---- start-up ---------------------------------------------------------------------------

    /// Repairs what a crash left: stale mounts, temporary references, directories no row names
    /// (staged or half-removed layers), then collects unreferenced layers.
    pub fn reconcile(&self) -> LayerResult<ReconcileReport> {
        let mut report = ReconcileReport::default();
        self.driver.cleanup()?;
        report.temporary_refs = self
            .db
            .write(|tx| tx.execute("DELETE FROM layer_refs WHERE holder LIKE ?1", [format!("{HOLDER_TMP}%")]))?;
        let (layer_dirs, rw_dirs): (Vec<String>, Vec<String>) = {
            let conn = self.db.conn();
            let layers = conn
                .prepare("SELECT cache_id FROM layers")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            let rws = conn
                .prepare("SELECT mount_id FROM rw_layers")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            (layers, rws)
        };
        let mut known: std::collections::HashSet<String> = layer_dirs.iter().cloned().collect();
        for m in &rw_dirs {
            known.insert(m.clone());
            known.insert(format!("{m}{INIT_SUFFIX}"));
        }
        let present: std::collections::HashSet<String> = self.driver.list()?.into_iter().collect();
        for dir in present.difference(&known) {
            tracing::info!(dir = %dir, "removing a layer directory no layer names (left by an interrupted operation)");
            self.driver.remove(dir)?;
            report.orphan_dirs += 1;
        }
        for dir in known.difference(&present) {
            tracing::error!(dir = %dir, "a layer's directory is missing; its data is lost");
            report.missing_dirs += 1;
        }
        report.collected = self.gc()?.len();
        Ok(report)
    }
}

/// Adds `holder`'s reference to `chain` inside a transaction of the caller (the image store
/// publishes an image and its layer reference together).
pub fn hold_in(tx: &Transaction<'_>, chain: &ChainId, holder: &str) -> rusqlite::Result<()> {
    tx.execute("INSERT OR IGNORE INTO layer_refs(chain_id, holder) VALUES (?1, ?2)", [chain.as_str(), holder])?;
    Ok(())
}

/// Drops every reference of `holder` inside a transaction of the caller; run [`LayerStore::gc`]
/// after the commit.
pub fn release_in(tx: &Transaction<'_>, holder: &str) -> rusqlite::Result<usize> {
    tx.execute("DELETE FROM layer_refs WHERE holder = ?1", [holder])
}

/// A fresh temporary holder name for an operation in flight.
pub fn temporary_holder() -> String {
    format!("{HOLDER_TMP}{}", crate::id::random_link_id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChangeKind;
    use crate::driver::overlay2::Overlay2;
    use crate::driver::vfs::Vfs;
    use crate::mount::RecordingMounter;
    use crate::tarlayer::{add_file, add_special, tar_of};

    fn stores(dir: &Path) -> Vec<LayerStore> {
        let mk = |driver: Arc<dyn GraphDriver>| {
            let db = Arc::new(Store::open_in_memory(&[LAYER_MIGRATIONS]).expect("db"));
            LayerStore::new(db, driver)
        };
        vec![
            mk(Arc::new(
                Overlay2::new(&dir.join("overlay2"), Arc::new(RecordingMounter::default())).expect("overlay2"),
            )),
            mk(Arc::new(Vfs::new(&dir.join("vfs/dir")).expect("vfs"))),
        ]
    }

    fn base_tar() -> Vec<u8> {
        tar_of(|b| {
            add_special(b, "etc/", tar::EntryType::Directory, None)?;
            add_file(b, "etc/passwd", b"root:x:0:0::/root:/bin/sh\n", 0o644)?;
            add_file(b, "bin/sh", &[0x7f; 5000], 0o755)?;
            add_file(b, "tmp/scratch", b"x", 0o600)
        })
    }

    fn child_tar() -> Vec<u8> {
        tar_of(|b| {
            add_file(b, "etc/hostname", b"box\n", 0o644)?;
            add_special(b, "tmp/.wh.scratch", tar::EntryType::Regular, None)
        })
    }

    fn dirs(s: &LayerStore) -> Vec<String> {
        let mut v = s.driver().list().expect("list");
        v.sort();
        v
    }

    #[test]
    fn layers_have_dockers_identities_and_are_shared_by_chain() {
        let t = tempfile::tempdir().expect("tempdir");
        for s in stores(t.path()) {
            let base = s.register(None, base_tar().as_slice(), "image:a").expect("base");
            assert_eq!(base.diff_id, Digest::of(&base_tar()));
            assert_eq!(base.chain_id, base.diff_id);
            assert_eq!(base.size, 26 + 5000 + 1);
            let child = s.register(Some(&base.chain_id), child_tar().as_slice(), "image:a").expect("child");
            assert_eq!(child.chain_id, chain_id(Some(&base.chain_id), &Digest::of(&child_tar())));
            assert_eq!(child.depth, 2);
            // The same content again (another image) is the same layer, and no new directory.
            let again = s.register(None, base_tar().as_slice(), "image:b").expect("again");
            assert_eq!(again, base);
            assert_eq!(dirs(&s).len(), 2, "{:?}", s.driver().kind());
            // The tars come back bit for bit.
            for (layer, tar) in [(&base, base_tar()), (&child, child_tar())] {
                let mut out = Vec::new();
                s.write_tar(&layer.chain_id, &mut out).expect("write_tar");
                assert!(out == tar, "{:?}: rebuilt tar differs", s.driver().kind());
                assert_eq!(layer.tar_len, tar.len() as u64);
            }
            assert_eq!(s.chain(&child.chain_id).expect("chain"), vec![base.clone(), child.clone()]);
            // Releasing one holder keeps what the other holds.
            assert_eq!(s.release("image:b").expect("release b"), vec![]);
            let removed = s.release("image:a").expect("release a");
            assert_eq!(removed, vec![child.chain_id.clone(), base.chain_id.clone()], "children first");
            assert!(s.all().expect("all").is_empty());
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert!(dirs(&s).is_empty());
        }
    }

    #[test]
    fn a_child_holds_its_parent() {
        let t = tempfile::tempdir().expect("tempdir");
        let s = stores(t.path()).remove(0);
        let base = s.register(None, base_tar().as_slice(), "image:base").expect("base");
        let child = s.register(Some(&base.chain_id), child_tar().as_slice(), "image:child").expect("child");
        assert_eq!(s.release("image:base").expect("release"), vec![]);
        assert!(s.get(&base.chain_id).expect("get").is_some());
        assert_eq!(s.release("image:child").expect("release").len(), 2);
        let _ = child;
    }

    #[test]
    fn a_failed_apply_leaves_no_partial_layer() {
        let hostile: Vec<(&str, Vec<u8>)> = vec![
            ("dot-dot", tar_of(|b| add_file(b, "a", b"ok", 0o644))),
            ("truncated", base_tar()[..1000].to_vec()),
            ("garbage", vec![0x55; 4096]),
        ];
        let t = tempfile::tempdir().expect("tempdir");
        for s in stores(t.path()) {
            for (name, mut tar) in hostile.clone() {
                if name == "dot-dot" {
                    // Rewrite the name in place ("a" → "../a" does not fit, so use a header
                    // whose name is "..").
                    tar[0] = b'.';
                    tar[1] = b'.';
                    let sum: u32 = tar[..148].iter().chain(&tar[156..512]).map(|b| u32::from(*b)).sum::<u32>() + 8 * 32;
                    let cksum = format!("{sum:06o}\0 ");
                    tar[148..156].copy_from_slice(cksum.as_bytes());
                }
                let err = s.register(None, tar.as_slice(), "image:x").expect_err(name);
                assert!(!err.to_string().is_empty());
                assert!(s.all().expect("all").is_empty(), "{name}");
                assert!(dirs(&s).is_empty(), "{name}: {:?}", dirs(&s));
            }
        }
    }

    #[test]
    fn reconcile_removes_what_a_crash_left() {
        let t = tempfile::tempdir().expect("tempdir");
        for s in stores(t.path()) {
            let kept = s.register(None, base_tar().as_slice(), "image:kept").expect("kept");
            // An interrupted load: a layer held only by a temporary holder …
            let tmp = temporary_holder();
            s.register(None, child_tar().as_slice(), &tmp).expect("tmp");
            // … and a staging directory that never got its row.
            let staged = s.stage_on(None, child_tar().as_slice()).expect("stage");
            std::mem::forget(staged);
            assert_eq!(dirs(&s).len(), 3);
            let report = s.reconcile().expect("reconcile");
            assert_eq!(report.temporary_refs, 1);
            assert_eq!(report.orphan_dirs, 1);
            assert_eq!(report.collected, 1);
            assert_eq!(s.all().expect("all"), vec![kept.clone()]);
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert_eq!(dirs(&s), vec![kept.cache_id.clone()]);
        }
    }

    #[test]
    fn too_deep_chains_are_refused_before_applying() {
        let t = tempfile::tempdir().expect("tempdir");
        let s = stores(t.path()).remove(0);
        let base = s.register(None, base_tar().as_slice(), "image:x").expect("base");
        s.db.write(|tx| tx.execute("UPDATE layers SET depth = ?1", [MAX_IMAGE_LAYERS as i64])).expect("deepen");
        let err = s.register(Some(&base.chain_id), child_tar().as_slice(), "image:x").expect_err("too deep");
        assert!(err.to_string().contains("max depth exceeded"), "{err}");
        assert_eq!(dirs(&s).len(), 1);
    }

    #[test]
    fn container_layers_sit_on_the_image_and_hold_it() {
        let t = tempfile::tempdir().expect("tempdir");
        for s in stores(t.path()) {
            let base = s.register(None, base_tar().as_slice(), "image:x").expect("base");
            let rw = s
                .create_rw("c1", Some(&base.chain_id), |dir| {
                    std::fs::create_dir_all(dir.join("etc"))?;
                    std::fs::write(dir.join("etc/hosts"), "127.0.0.1 localhost\n")
                })
                .expect("create_rw");
            assert!(matches!(s.create_rw("c1", None, |_| Ok(())), Err(LayerError::RwLayerExists(_))));
            assert_eq!(s.all_rw().expect("all_rw"), vec![rw.clone()]);
            // The image cannot be collected under the container.
            assert!(s.release("image:x").expect("release").is_empty());
            let root = s.driver().content_dir(&rw.mount_id);
            std::fs::create_dir_all(root.join("data")).expect("mkdir");
            std::fs::write(root.join("data/file"), "12345").expect("write");
            let changes = s.rw_changes("c1").expect("changes");
            let paths: Vec<_> = changes.iter().map(|c| (c.path.as_str(), c.kind)).collect();
            assert_eq!(
                paths,
                vec![("/data", ChangeKind::Added), ("/data/file", ChangeKind::Added)],
                "{:?}",
                s.driver().kind()
            );
            assert_eq!(s.rw_size("c1").expect("size"), 5);
            let mut tar = Vec::new();
            s.rw_diff_tar("c1", &mut tar).expect("diff tar");
            let names: Vec<String> = tar::Archive::new(tar.as_slice())
                .entries()
                .expect("entries")
                .map(|e| e.expect("entry").path().expect("path").display().to_string().trim_end_matches('/').to_owned())
                .collect();
            assert_eq!(names, vec!["data", "data/file"]);
            s.remove_rw("c1").expect("remove");
            assert!(s.rw("c1").expect("rw").is_none());
            assert_eq!(s.gc().expect("gc").len(), 1, "the image layer goes with its last user");
        }
    }
}
