//! The strata engine: everything the daemon does, as plain Rust calls.
//!
//! The HTTP layer (`strata-api`) is a thin adapter over [`Engine`]; nothing here knows about
//! HTTP, JSON wire shapes or status codes. The engine owns the data-root (through an exclusive
//! lock), the metadata [`Store`], and the services that later grow here: volumes, layers,
//! images, containers.
//!
//! Start-up is [`Engine::start`]: create the roots, take the data-root lock, open and migrate the
//! database, then *reconcile* — the one place where state left by a crash (`kill -9` at any
//! moment) is repaired before the API serves a single request.

pub mod config;
pub mod filters;
pub mod host;
pub mod networks;
pub mod runtimes;
pub mod volumes;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use strata_store::{Migrations, Store};
use strata_sys::lock::DirLock;

pub use config::{DaemonConfig, StorageDriverName};
pub use host::HostFacts;
pub use runtimes::RuntimeFacts;

/// The version of strata, from the workspace manifest.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The commit strata was built from (empty when built outside git).
pub const GIT_COMMIT: &str = env!("STRATA_GIT_COMMIT");
/// When this build was made, in seconds since the epoch.
const BUILD_UNIX: &str = env!("STRATA_BUILD_UNIX");

/// When this build was made.
pub fn build_time() -> SystemTime {
    let secs = BUILD_UNIX.parse().unwrap_or(0);
    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs)
}

/// The name of the lock file that gives one daemon exclusive use of a data-root.
pub const LOCK_FILE: &str = "stratad.lock";
/// The name of the metadata database in the data-root.
pub const DB_FILE: &str = "strata.db";

/// The engine's own tables: settings that belong to the installation as a whole.
const ENGINE_MIGRATIONS: Migrations = Migrations {
    component: "engine",
    steps: &["CREATE TABLE engine_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT;"],
};

/// Every component's schema, in dependency order (tables referenced by others come first).
pub fn schema() -> Vec<Migrations> {
    vec![
        ENGINE_MIGRATIONS,
        strata_volume::MIGRATIONS,
        strata_layer::LAYER_MIGRATIONS,
        strata_image::store::IMAGE_MIGRATIONS,
        strata_container::record::MIGRATIONS,
        networks::MIGRATIONS,
    ]
}

/// Scratch space of image loads under the data-root (emptied at start).
pub const IMAGE_TMP_DIR: &str = "tmp/images";

/// Errors of engine start-up.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot create {path}: {source}")]
    CreateRoot { path: PathBuf, source: std::io::Error },
    #[error(
        "another stratad is already running with data-root {data_root} (lock {lock} is held by pid {holder}); \
         stop it first, or give this one another --data-root"
    )]
    DataRootInUse { data_root: PathBuf, lock: PathBuf, holder: String },
    #[error(transparent)]
    Lock(strata_sys::lock::LockError),
    #[error(transparent)]
    Store(#[from] strata_store::StoreError),
    #[error("{0}")]
    StorageDriver(#[from] strata_layer::driver::DriverError),
    #[error("layer store: {0}")]
    Layers(#[from] strata_layer::LayerError),
    #[error("image store: {0}")]
    Images(#[from] strata_image::ImageError),
    #[error("cannot probe {path}: {source}")]
    Probe { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Volume(#[from] strata_volume::VolumeError),
    #[error("container store: {0}")]
    Containers(#[from] strata_container::ContainerError),
}

/// What `docker info` shows about the storage driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageFacts {
    pub driver: StorageDriverName,
    /// `Backing Filesystem`, `Supports d_type`, … pairs in display order.
    pub status: Vec<(String, String)>,
}

/// The running engine.
#[derive(Debug)]
pub struct Engine {
    config: DaemonConfig,
    store: Arc<Store>,
    volumes: Arc<strata_volume::Volumes>,
    id: String,
    host: HostFacts,
    storage: StorageFacts,
    runtimes: Vec<RuntimeFacts>,
    started_at: SystemTime,
    layers: Arc<strata_layer::LayerStore>,
    images: Arc<strata_image::ImageStore>,
    containers: Arc<strata_container::Containers>,
    networks: Arc<networks::Networks>,
    _lock: DirLock,
}

impl Engine {
    /// Brings the engine up on `config`: roots, lock, database, storage probe, reconcile.
    /// Blocking; call it before serving the API.
    pub fn start(config: DaemonConfig) -> Result<Engine, EngineError> {
        let t0 = Instant::now();
        create_root(&config.data_root, 0o711)?;
        create_root(&config.exec_root, 0o700)?;

        let lock_path = config.data_root.join(LOCK_FILE);
        let lock = DirLock::acquire(&lock_path).map_err(|e| match e {
            strata_sys::lock::LockError::Held { path, holder } => {
                EngineError::DataRootInUse { data_root: config.data_root.clone(), lock: path, holder }
            }
            other => EngineError::Lock(other),
        })?;

        let (storage, driver) = open_storage(&config)?;
        let store = Arc::new(Store::open(&config.data_root.join(DB_FILE), &schema())?);
        let id = engine_id(&store)?;
        let layers = Arc::new(strata_layer::LayerStore::new(Arc::clone(&store), driver));
        let images = Arc::new(strata_image::ImageStore::new(
            Arc::clone(&store),
            Arc::clone(&layers),
            &config.data_root.join(IMAGE_TMP_DIR),
        ));
        let volumes = Arc::new(strata_volume::Volumes::open(store.clone(), &config.data_root)?);

        let runtimes: Vec<RuntimeFacts> =
            config.runtimes.iter().map(|(name, rc)| RuntimeFacts::probe(name, rc)).collect();
        let default_runtime = runtimes.iter().find(|r| r.name == config.default_runtime);
        let containers = Arc::new(strata_container::Containers::new(
            Arc::clone(&store),
            Arc::clone(&volumes),
            Arc::clone(&layers),
            Arc::clone(&images),
            strata_container::ContainersConfig {
                data_root: config.data_root.clone(),
                exec_root: config.exec_root.clone(),
                runtime_name: config.default_runtime.clone(),
                runtime_binary: default_runtime.and_then(|r| r.resolved.clone()),
                storage_driver: storage.driver.as_str().to_owned(),
                log_driver: config.log_driver.clone(),
                log_opts: config.log_opts.clone(),
            },
        ));
        for warning in strata_container::logconfig::warnings(&config.log_opts) {
            tracing::warn!("daemon log-opts: {warning}");
        }
        images.set_usage(Arc::new(ContainerImageUsage(Arc::clone(&containers))));
        // Backups pause the containers writing to the volume they read.
        volumes.set_writer_freeze(Arc::new(strata_container::freeze::VolumeWriters::new(&containers)));
        let store_for_networks = Arc::clone(&store);

        let mut engine = Engine {
            config,
            store,
            volumes,
            id,
            host: HostFacts::read(),
            storage,
            runtimes: Vec::new(),
            started_at: SystemTime::now(),
            layers,
            images,
            containers,
            networks: Arc::new(networks::Networks::new(Arc::clone(&store_for_networks))),
            _lock: lock,
        };
        engine.runtimes = runtimes;
        if let Some(default) = engine.runtimes.iter().find(|r| r.name == engine.config.default_runtime)
            && default.resolved.is_none()
        {
            tracing::warn!(runtime = %default.name, path = %default.configured_path, "the default runtime is not installed; containers cannot start");
        }
        engine.reconcile()?;
        tracing::info!(
            data_root = %engine.config.data_root.display(),
            storage_driver = engine.storage.driver.as_str(),
            elapsed_ms = t0.elapsed().as_millis() as u64,
            "engine started"
        );
        Ok(engine)
    }

    /// Repairs what a crash left behind. Each service adds its step here; the order is the
    /// reverse of dependency (containers before the volumes and layers they hold).
    fn reconcile(&self) -> Result<(), EngineError> {
        let t0 = Instant::now();
        // Containers first: they release the volume mounts and layer mounts of processes that died
        // with the daemon, which the volume and layer repairs then find consistent.
        self.containers.reconcile()?;
        let volumes = self.volumes.reconcile()?;
        if !volumes.is_empty() {
            tracing::warn!(?volumes, "repaired volumes left inconsistent by a crash");
        }
        self.images.reconcile()?;
        let report = self.layers.reconcile()?;
        if report != strata_layer::store::ReconcileReport::default() {
            tracing::info!(?report, "layer store repaired after an unclean stop");
        }
        tracing::debug!(elapsed_us = t0.elapsed().as_micros() as u64, "reconcile finished");
        Ok(())
    }

    pub fn config(&self) -> &DaemonConfig {
        &self.config
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The volume service.
    pub fn volumes(&self) -> &Arc<strata_volume::Volumes> {
        &self.volumes
    }

    /// The installation's persistent identity (a random UUID made on first start).
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn host(&self) -> &HostFacts {
        &self.host
    }

    pub fn storage(&self) -> &StorageFacts {
        &self.storage
    }

    /// The configured runtimes as found at start.
    pub fn runtimes(&self) -> &[RuntimeFacts] {
        &self.runtimes
    }

    pub fn started_at(&self) -> SystemTime {
        self.started_at
    }

    pub fn data_root(&self) -> &Path {
        &self.config.data_root
    }

    /// The layer store (and through it the graph driver).
    pub fn layers(&self) -> &Arc<strata_layer::LayerStore> {
        &self.layers
    }

    /// The image store.
    pub fn images(&self) -> &Arc<strata_image::ImageStore> {
        &self.images
    }

    pub fn containers(&self) -> &Arc<strata_container::Containers> {
        &self.containers
    }

    /// The network records (see [`networks`] for what a network is in strata).
    pub fn networks(&self) -> &Arc<networks::Networks> {
        &self.networks
    }
}

/// Tells the image store which containers use an image (`rmi` refuses those).
struct ContainerImageUsage(Arc<strata_container::Containers>);

impl strata_image::store::ImageUsage for ContainerImageUsage {
    fn containers_using(&self, image: &strata_layer::Digest) -> Vec<strata_image::store::ContainerUse> {
        self.0
            .using_image(image.as_str())
            .into_iter()
            .map(|(id, running)| strata_image::store::ContainerUse { id, running })
            .collect()
    }
}

fn create_root(path: &Path, mode: u32) -> Result<(), EngineError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let err = |source| EngineError::CreateRoot { path: path.to_owned(), source };
    std::fs::DirBuilder::new().recursive(true).mode(mode).create(path).map_err(err)?;
    // A pre-existing root keeps its contents but gets the expected mode: nothing under it may be
    // reachable by other users through a too-open parent.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(err)?;
    Ok(())
}

/// Picks and checks the storage driver against the filesystem of the data-root, opens it, and
/// reads what `docker info` shows about it from the machine.
fn open_storage(config: &DaemonConfig) -> Result<(StorageFacts, Arc<dyn strata_layer::GraphDriver>), EngineError> {
    use strata_layer::driver::{self, DriverKind};
    let root = &config.data_root;
    let probe_err = |source| EngineError::Probe { path: root.clone(), source };
    let host = driver::HostStorage::read(root).map_err(probe_err)?;
    let requested = config.storage_driver.map(|d| match d {
        StorageDriverName::Overlay2 => DriverKind::Overlay2,
        StorageDriverName::Vfs => DriverKind::Vfs,
    });
    let kind = driver::choose(root, requested, &host)?;
    let mut status = vec![("Backing Filesystem".to_owned(), host.backing.docker_name())];
    let graph: Arc<dyn strata_layer::GraphDriver> = match kind {
        DriverKind::Overlay2 => {
            let mounter: Arc<dyn strata_layer::mount::Mounter> = Arc::new(strata_layer::mount::KernelMounter);
            let home = root.join(DriverKind::Overlay2.as_str());
            let d = driver::overlay2::Overlay2::new(&home, Arc::clone(&mounter))?;
            let native = driver::overlay2::probe_native_diff(&home, mounter.as_ref());
            status.push(("Supports d_type".to_owned(), host.d_type.to_string()));
            status.push(("Native Overlay Diff".to_owned(), native.to_string()));
            status.push(("userxattr".to_owned(), "false".to_owned()));
            Arc::new(d)
        }
        DriverKind::Vfs => Arc::new(driver::vfs::Vfs::new(&root.join("vfs").join("dir"))?),
    };
    let driver_name = match kind {
        DriverKind::Overlay2 => StorageDriverName::Overlay2,
        DriverKind::Vfs => StorageDriverName::Vfs,
    };
    Ok((StorageFacts { driver: driver_name, status }, graph))
}

/// The installation id, made once and kept in the database.
fn engine_id(store: &Store) -> Result<String, EngineError> {
    use strata_store::rusqlite::OptionalExtension;
    let conn = store.conn();
    let existing: Option<String> = conn
        .query_row("SELECT value FROM engine_meta WHERE key = 'id'", [], |r| r.get(0))
        .optional()
        .map_err(strata_store::StoreError::from)?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let id = random_uuid();
    conn.execute("INSERT INTO engine_meta(key, value) VALUES ('id', ?1)", [&id])
        .map_err(strata_store::StoreError::from)?;
    Ok(id)
}

/// A random (version 4) UUID in its text form.
fn random_uuid() -> String {
    let mut b = [0u8; 16];
    strata_sys::random::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// 64 lowercase hex characters of fresh randomness: the id form of containers, execs and
/// anonymous volumes.
pub fn random_hex_id() -> String {
    strata_sys::random::hex_id()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_in(dir: &Path) -> DaemonConfig {
        config::ConfigFile {
            data_root: Some(dir.join("data")),
            exec_root: Some(dir.join("exec")),
            hosts: Some(vec![format!("unix://{}/s.sock", dir.display())]),
            ..Default::default()
        }
        .validate()
        .expect("valid config")
    }

    #[test]
    fn start_creates_roots_and_keeps_its_id() {
        let dir = tempfile::tempdir().expect("tempdir");
        let id = {
            let engine = Engine::start(config_in(dir.path())).expect("start");
            assert!(dir.path().join("data/strata.db").exists());
            assert_eq!(engine.id().len(), 36);
            assert!(!engine.storage().status.is_empty());
            engine.id().to_owned()
        };
        let again = Engine::start(config_in(dir.path())).expect("restart");
        assert_eq!(again.id(), id, "the id survives a restart");
    }

    #[test]
    fn a_second_engine_on_the_same_data_root_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _first = Engine::start(config_in(dir.path())).expect("start");
        let err = Engine::start(config_in(dir.path())).expect_err("must refuse");
        let msg = err.to_string();
        assert!(msg.contains("another stratad is already running with data-root"), "{msg}");
        assert!(msg.contains(&std::process::id().to_string()), "{msg}");
    }

    #[test]
    fn random_ids_have_the_docker_shape() {
        let a = random_hex_id();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, random_hex_id());
        let u = random_uuid();
        assert_eq!(&u[14..15], "4");
    }
}
