//! The container service: the lifecycle that brings an image's layers, volumes, bind and tmpfs
//! mounts and the OCI runtime together.
//!
//! # State, and who changes it
//!
//! The record in the metadata store is the truth about a container; [`Live`] holds what exists
//! only while its process runs (stdio, the exit watch). Every lifecycle operation on one
//! container (start, stop, kill, remove, the exit handler) holds that container's async lock, so
//! they never interleave; reads (inspect, list, logs) take no lock.
//!
//! # Start, in order
//!
//! mount the root filesystem (overlay) → make each volume ready (`mount_for`), copy the image's
//! content into empty volumes (Docker's copy-up), create missing `-v` bind sources → write the
//! bundle → `runc create` with stdio wired → hand the stdio to clients attached before the start
//! → `runc start`. The exit handler undoes it in reverse when the process exits.
//!
//! # Crash repair
//!
//! [`Containers::reconcile`] runs at daemon start before the volume and layer stores repair
//! themselves: containers recorded as running lost their process with the daemon; each is
//! deleted from the runtime, marked exited, and its volume mounts released.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use strata_image::ImageStore;
use strata_layer::LayerStore;
use strata_mount::{
    ApiVersion, ContainerMounts, MountKind, MountRequest, PlanContext, PlannedMount, RealHostFs, RecursiveReadOnly,
    VolumeName,
};
use strata_runtime::logs::LogFollow;
use strata_runtime::spec::EtcFiles;
use strata_runtime::{
    Bundle, ContainerIo, ContainerSpec, ExitWatch, HostLimits, IoOptions, LogWriter, NetworkMode, OutputSubscription,
    Reaper, RuncConfig, RuncRuntime, Runtime, WinSize,
};
use strata_store::Store;
use strata_volume::{CreateRequest, Volumes};
use tokio::sync::{oneshot, watch};

use crate::error::{ContainerError, Result};
use crate::imageconfig::{self, ImageRunConfig};
use crate::logconfig::{self, LogDriver};
use crate::record::{self, Container, Lookup};
use crate::spec::{CreateBody, HostConfig};
use crate::state::{State, Status};
use crate::{copyup, name};

/// The directory of container data under the data-root (logs, hosts files).
pub const CONTAINERS_DIR: &str = "containers";

/// Docker's exit code for a container the daemon lost while it ran.
const LOST_EXIT_CODE: i32 = 255;

/// What exists only while a container's process runs.
#[derive(Debug)]
struct Live {
    io: ContainerIo,
    exit: ExitWatch,
    log: Option<LogFollow>,
    /// Set by stop/kill so the exit is not taken for a crash (restart policies).
    stopping: AtomicBool,
}

/// A client's attachment to a container's stdio.
#[derive(Debug)]
pub struct Attachment {
    pub io: ContainerIo,
    pub output: OutputSubscription,
    pub tty: bool,
}

/// An attachment now, or at the container's next start (the sender is dropped if the container
/// is removed or fails to start first).
#[derive(Debug)]
pub enum AttachWait {
    Now(Attachment),
    Later(oneshot::Receiver<Attachment>),
}

/// What waiters watch: exits so far and whether the container is gone.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub exits: u64,
    pub exit_code: i32,
    pub running: bool,
    pub removed: bool,
}

/// `condition` of `POST /containers/{id}/wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    NotRunning,
    NextExit,
    Removed,
}

impl WaitCondition {
    pub fn parse(s: &str) -> Option<WaitCondition> {
        Some(match s {
            "" | "not-running" => WaitCondition::NotRunning,
            "next-exit" => WaitCondition::NextExit,
            "removed" => WaitCondition::Removed,
            _ => return None,
        })
    }
}

/// Options of `DELETE /containers/{id}`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RemoveOptions {
    pub force: bool,
    pub volumes: bool,
}

/// The result of `POST /containers/create`.
#[derive(Debug, Clone)]
pub struct Created {
    pub id: String,
    pub warnings: Vec<String>,
}

/// Where the service keeps things, and which runtime it runs containers with.
#[derive(Debug, Clone)]
pub struct ContainersConfig {
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
    pub runtime_name: String,
    /// The runtime binary, `None` when it is not installed (start then fails with a clear error).
    pub runtime_binary: Option<PathBuf>,
    pub storage_driver: String,
    /// The default logging driver and its options (daemon.json `log-driver`, `log-opts`).
    pub log_driver: String,
    pub log_opts: BTreeMap<String, String>,
}

/// The container service of one daemon.
pub struct Containers {
    store: Arc<Store>,
    volumes: Arc<Volumes>,
    layers: Arc<LayerStore>,
    images: Arc<ImageStore>,
    config: ContainersConfig,
    runtime: OnceLock<Arc<RuncRuntime>>,
    live: Mutex<HashMap<String, Arc<Live>>>,
    progress: Mutex<HashMap<String, watch::Sender<Progress>>>,
    pending_attach: Mutex<HashMap<String, Vec<oneshot::Sender<Attachment>>>>,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    execs: Mutex<HashMap<String, Arc<crate::exec::Exec>>>,
    health: crate::health::Monitors,
    events: crate::events::EventBus,
    /// Set at daemon shutdown: exits are then not the user's doing, and nothing restarts.
    shutting_down: AtomicBool,
    /// Serialises creates so that a name check and its insert are not raced by another create.
    create_lock: Mutex<()>,
}

impl std::fmt::Debug for Containers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Containers").field("config", &self.config).finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A new container id: 64 lowercase hex characters (the same form as a layer's cache id).
pub fn random_id() -> String {
    strata_layer::id::random_cache_id()
}

/// The namespace a container's `NetworkMode` runs it in. A name that is not a mode (`host`,
/// `none`, `default`, `bridge`, `container:…`) is a user-defined network, which the API checked
/// exists before the create; strata has no bridge, so those run in the host's network namespace
/// (see `strata_engine::networks`).
fn runtime_network(mode: &str) -> Result<NetworkMode> {
    match NetworkMode::parse(mode) {
        Ok(m) => Ok(m),
        Err(_) if mode != "bridge" && !mode.contains(':') => Ok(NetworkMode::Host),
        Err(e) => Err(ContainerError::BadRequest(e.to_string())),
    }
}

/// `--volumes-from`: the stored plan of another container.
struct StoredMounts<'a>(&'a Store);

impl ContainerMounts for StoredMounts<'_> {
    fn mounts_of(&self, name_or_id: &str) -> Option<Vec<PlannedMount>> {
        let conn = self.0.conn();
        let Ok(Lookup::Found(id)) = record::resolve(&conn, name_or_id) else { return None };
        record::get(&conn, &id).ok().flatten().map(|c| c.mounts.mounts)
    }
}

impl Containers {
    pub fn new(
        store: Arc<Store>,
        volumes: Arc<Volumes>,
        layers: Arc<LayerStore>,
        images: Arc<ImageStore>,
        config: ContainersConfig,
    ) -> Containers {
        Containers {
            store,
            volumes,
            layers,
            images,
            config,
            runtime: OnceLock::new(),
            live: Mutex::new(HashMap::new()),
            progress: Mutex::new(HashMap::new()),
            pending_attach: Mutex::new(HashMap::new()),
            locks: Mutex::new(HashMap::new()),
            execs: Mutex::new(HashMap::new()),
            health: Default::default(),
            events: Default::default(),
            create_lock: Mutex::new(()),
            shutting_down: AtomicBool::new(false),
        }
    }

    fn container_dir(&self, id: &str) -> PathBuf {
        self.config.data_root.join(CONTAINERS_DIR).join(id)
    }

    /// The json-file log of a container.
    pub fn log_path(&self, id: &str) -> PathBuf {
        self.container_dir(id).join(format!("{id}-json.log"))
    }

    pub fn storage_driver(&self) -> &str {
        &self.config.storage_driver
    }

    pub fn layers(&self) -> &Arc<LayerStore> {
        &self.layers
    }

    pub(crate) fn execs(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<crate::exec::Exec>>> {
        lock(&self.execs)
    }

    /// Health of containers with a healthcheck (`State.Health`).
    pub fn health(&self) -> &crate::health::Monitors {
        &self.health
    }

    pub(crate) fn events(&self) -> &crate::events::EventBus {
        &self.events
    }

    pub(crate) fn exec_root(&self) -> &Path {
        &self.config.exec_root
    }

    pub(crate) fn runtime_handle(&self) -> Result<Arc<RuncRuntime>> {
        self.runtime()
    }

    fn runtime(&self) -> Result<Arc<RuncRuntime>> {
        if let Some(r) = self.runtime.get() {
            return Ok(Arc::clone(r));
        }
        let binary = self.config.runtime_binary.clone().ok_or_else(|| {
            ContainerError::Start(format!(
                "the OCI runtime \"{}\" is not installed (install runc, or set \"runtimes\" in daemon.json)",
                self.config.runtime_name
            ))
        })?;
        let reaper = strata_runtime::reaper::installed()
            .ok_or_else(|| ContainerError::Internal("the child reaper is not installed".into()))?;
        let rc = RuncConfig::new(&self.config.runtime_name, binary, vec![], &self.config.exec_root);
        let r = RuncRuntime::new(rc, reaper).map_err(|e| ContainerError::internal("runtime", e))?;
        Ok(Arc::clone(self.runtime.get_or_init(|| Arc::new(r))))
    }

    fn reaper() -> Result<&'static Reaper> {
        strata_runtime::reaper::installed()
            .ok_or_else(|| ContainerError::Internal("the child reaper is not installed".into()))
    }

    fn op_lock(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        Arc::clone(lock(&self.locks).entry(id.to_owned()).or_default())
    }

    fn progress_tx(&self, id: &str) -> watch::Sender<Progress> {
        lock(&self.progress).entry(id.to_owned()).or_insert_with(|| watch::channel(Progress::default()).0).clone()
    }

    // ---- lookups ------------------------------------------------------------------------------

    /// Resolves a full id, a name (with or without `/`) or a unique id prefix.
    pub fn resolve(&self, reference: &str) -> Result<String> {
        match record::resolve(&self.store.conn(), reference)? {
            Lookup::Found(id) => Ok(id),
            Lookup::NotFound => Err(ContainerError::NotFound(reference.to_owned())),
            Lookup::Ambiguous => Err(ContainerError::Ambiguous(reference.to_owned())),
        }
    }

    /// The stored container.
    pub fn get(&self, reference: &str) -> Result<Container> {
        let id = self.resolve(reference)?;
        record::get(&self.store.conn(), &id)?.ok_or(ContainerError::NotFound(reference.to_owned()))
    }

    /// Every container, newest first.
    pub fn list(&self) -> Result<Vec<Container>> {
        Ok(record::list(&self.store.conn())?)
    }

    /// The exec ids and pid are not stored: whether the process is live now.
    pub fn is_live(&self, id: &str) -> bool {
        lock(&self.live).contains_key(id)
    }

    /// Running, not exited and not being stopped or killed: a health probe that ends while this
    /// is false measured the shutdown, not the container, and does not count (as in Docker).
    pub(crate) fn runs_undisturbed(&self, id: &str) -> bool {
        lock(&self.live).get(id).is_some_and(|l| l.exit.try_status().is_none() && !l.stopping.load(Ordering::Relaxed))
    }

    /// Which containers use an image (for `rmi`).
    pub fn using_image(&self, image_id: &str) -> Vec<(String, bool)> {
        self.list()
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c.image_id == image_id)
            .map(|c| (c.id, c.state.is_running()))
            .collect()
    }

    // ---- create -------------------------------------------------------------------------------

    /// `POST /containers/create`. Blocking (layers and volumes are made on disk).
    pub fn create(&self, name: Option<&str>, mut body: CreateBody, api: ApiVersion) -> Result<Created> {
        let name = match name.filter(|n| !n.is_empty()) {
            Some(n) => {
                let n = n.strip_prefix('/').unwrap_or(n);
                if !name::is_valid(n) {
                    return Err(ContainerError::InvalidName(name::invalid_message(n)));
                }
                Some(n.to_owned())
            }
            None => None,
        };
        let image = self.images.resolve(&body.config.image).map_err(|e| match e {
            strata_image::ImageError::NotFound(_) => ContainerError::ImageNotFound(e.to_string()),
            other => ContainerError::internal("image store", other),
        })?;
        let mut config = std::mem::take(&mut body.config);
        let mut host_config = body.host_config.take().unwrap_or_default();
        // The logging driver and its option names; the values are read at start, as Docker does.
        let (log_driver, log_opts) =
            logconfig::with_defaults(host_config.rest.get("LogConfig"), &self.config.log_driver, &self.config.log_opts);
        logconfig::check(&log_driver, &log_opts).map_err(ContainerError::BadRequest)?;
        let log_warnings = logconfig::warnings(&log_opts);
        host_config.rest.insert("LogConfig".into(), serde_json::json!({"Type": log_driver, "Config": log_opts}));
        let request_volumes: Vec<String> =
            config.volumes.as_ref().map(|v| v.keys().cloned().collect()).unwrap_or_default();
        let image_config = ImageRunConfig::from_value(image.config.config.as_ref());
        imageconfig::merge(&mut config, &image_config);
        if imageconfig::args_of(&config).is_empty() {
            return Err(ContainerError::BadRequest("No command specified".into()));
        }
        if host_config.network_mode.is_empty() {
            host_config.network_mode = "default".into();
        }
        runtime_network(&host_config.network_mode)?;
        if let Some(m) = &host_config.mounts {
            host_config.mounts = Some(strata_mount::normalize_mounts(m, api)?);
        }

        let id = random_id();
        if config.hostname.is_empty() {
            config.hostname = id[..12].to_owned();
        }
        let mut plan = {
            let req = mount_request(&host_config, request_volumes, image_config.volume_paths());
            let data_root = self.config.data_root.to_string_lossy().into_owned();
            let ctx = PlanContext {
                api_version: api,
                daemon_root: &data_root,
                host: &RealHostFs,
                containers: &StoredMounts(&self.store),
            };
            strata_mount::plan_mounts(&req, &ctx)?
        };

        let _serial = lock(&self.create_lock);
        let name = match name {
            Some(n) => {
                if let Some(other) = record::id_by_name(&self.store.conn(), &n)? {
                    return Err(ContainerError::NameInUse { name: n, id: other });
                }
                n
            }
            None => self.generate_name()?,
        };

        // The writable layer, with the files Docker puts in every container's init layer.
        let rw = self.layers.create_rw(&id, image.top_layer.as_ref(), init_layer)?;
        std::fs::create_dir_all(self.container_dir(&id)).map_err(|e| ContainerError::internal("container dir", e))?;

        let result = (|| -> Result<()> {
            let requests = volume_requests(&plan);
            let prepared = self.volumes.prepare(requests.clone())?;
            let container = Container {
                id: id.clone(),
                name: name.clone(),
                image_id: image.id.to_string(),
                created: SystemTime::now(),
                config: config.clone(),
                host_config: host_config.clone(),
                mounts: Default::default(),
                state: State::default(),
                rw_layer: Some(rw.mount_id.clone()),
                restart_count: 0,
            };
            let committed = self.store.write(|tx| -> Result<()> {
                let volumes = prepared.commit_in(tx, &id)?;
                assign_volumes(&mut plan, &requests, &volumes);
                let mut c = container.clone();
                c.mounts = plan.clone();
                record::insert(tx, &c)?;
                Ok(())
            });
            drop(prepared);
            committed
        })();
        if let Err(e) = result {
            let _ = self.layers.remove_rw(&id);
            let _ = std::fs::remove_dir_all(self.container_dir(&id));
            return Err(e);
        }
        tracing::info!(id = %id, name = %name, "container created");
        self.emit_for(&id, "create", &[]);
        let mut warnings = plan.warnings;
        warnings.extend(log_warnings);
        Ok(Created { id, warnings })
    }

    fn generate_name(&self) -> Result<String> {
        let conn = self.store.conn();
        for attempt in 0..64usize {
            let mut b = [0u8; 4];
            strata_layer::id::fill_random(&mut b);
            let n = u32::from_le_bytes(b) as usize;
            let mut candidate = name::generated(n & 0xffff, n >> 16);
            if attempt > 8 {
                candidate = format!("{candidate}{}", attempt % 10);
            }
            if record::id_by_name(&conn, &candidate)?.is_none() {
                return Ok(candidate);
            }
        }
        Err(ContainerError::Internal("cannot generate a free container name".into()))
    }

    // ---- start --------------------------------------------------------------------------------

    /// `POST /containers/{id}/start`.
    pub async fn start(self: &Arc<Self>, reference: &str) -> Result<()> {
        let id = self.resolve(reference)?;
        let op = self.op_lock(&id);
        let _held = op.lock().await;
        let c = self.get(&id)?;
        if c.state.status == Status::Paused {
            return Err(ContainerError::Conflict("cannot start a paused container, try unpause instead".into()));
        }
        if c.state.is_running() || self.is_live(&id) {
            return Err(ContainerError::NotModified);
        }
        match self.start_locked(&c).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let mut state = c.state.clone();
                state.error = e.to_string();
                state.exit_code = if e.to_string().contains("executable file not found")
                    || e.to_string().contains("no such file or directory")
                {
                    127
                } else {
                    126
                };
                state.status = if c.state.status == Status::Created { Status::Created } else { Status::Exited };
                let _ = record::update_state(&self.store.conn(), &id, &state);
                // The waiters of a failed start (e.g. `run --rm`) hear an exit, and auto-removal
                // still happens, as in Docker.
                self.progress_tx(&id).send_modify(|p| {
                    p.exits += 1;
                    p.exit_code = state.exit_code;
                    p.running = false;
                });
                lock(&self.pending_attach).remove(&id);
                if c.host_config.auto_remove {
                    let this = Arc::clone(self);
                    let id = id.clone();
                    tokio::spawn(async move {
                        let _ = this.remove_inner(&id, RemoveOptions { force: true, volumes: true }, false).await;
                    });
                }
                Err(e)
            }
        }
    }

    async fn start_locked(self: &Arc<Self>, c: &Container) -> Result<()> {
        let log_driver = self.log_driver(c)?;
        let runtime = self.runtime()?;
        let reaper = Self::reaper()?;
        let id = c.id.clone();
        // Blocking preparation: rootfs, volumes, copy-up, bundle.
        let this = Arc::clone(self);
        let container = c.clone();
        let bundle_dir = Bundle::dir_for(&self.config.exec_root, &id);
        let prepared = tokio::task::spawn_blocking(move || this.prepare_start(&container, &bundle_dir))
            .await
            .map_err(|e| ContainerError::internal("start", e))?;
        let bundle = prepared?;

        let log = match log_driver {
            LogDriver::JsonFile(rotation) => Some(
                LogWriter::open_rotating(&self.log_path(&id), rotation)
                    .map_err(|e| ContainerError::internal("log", e))?,
            ),
            LogDriver::None => None,
        };
        let follow = log.as_ref().map(LogWriter::follow);
        let console_size = c
            .host_config
            .console_size
            .as_ref()
            .filter(|s| s.len() == 2 && s[0] > 0 && s[1] > 0)
            .map(|s| WinSize { rows: s[0] as u16, cols: s[1] as u16 });
        let io = IoOptions {
            tty: c.config.tty,
            open_stdin: c.config.open_stdin,
            stdin_once: c.config.stdin_once,
            console_size,
        };
        let process =
            match strata_runtime::create_container(runtime.as_ref(), reaper, &id, bundle.path(), io, log).await {
                Ok(p) => p,
                Err(e) => {
                    self.undo_start(c, &bundle).await;
                    return Err(ContainerError::Start(e.to_string()));
                }
            };
        drop(process.output);
        let live = Arc::new(Live {
            io: process.io.clone(),
            exit: process.exit.clone(),
            log: follow,
            stopping: AtomicBool::new(false),
        });
        // Clients attached before the start get their subscription now, before the process runs.
        for tx in lock(&self.pending_attach).remove(&id).unwrap_or_default() {
            let _ = tx.send(Attachment { io: live.io.clone(), output: live.io.subscribe(), tty: live.io.is_tty() });
        }
        lock(&self.live).insert(id.clone(), Arc::clone(&live));
        if let Err(e) = runtime.start(&id).await {
            let _ = runtime.kill(&id, rustix::process::Signal::KILL.as_raw(), true).await;
            let _ = runtime.delete(&id, true).await;
            lock(&self.live).remove(&id);
            self.undo_start(c, &bundle).await;
            return Err(ContainerError::Start(e.to_string()));
        }
        let mut state = c.state.clone();
        state.status = Status::Running;
        state.pid = process.pid;
        state.exit_code = 0;
        state.error.clear();
        state.started_at = Some(SystemTime::now());
        state.finished_at = None;
        state.manually_stopped = false;
        record::update_state(&self.store.conn(), &id, &state)?;
        self.progress_tx(&id).send_modify(|p| p.running = true);
        self.start_health_monitor(&id, &c.config);
        self.emit(c, "start", &[]);
        tracing::info!(id = %id, pid = process.pid, "container started");

        let this = Arc::clone(self);
        let container = c.clone();
        tokio::spawn(async move { this.on_exit(container, live, bundle).await });
        Ok(())
    }

    /// Everything before `runc create` that touches the disk. Undone by [`Self::undo_start`].
    fn prepare_start(&self, c: &Container, bundle_dir: &Path) -> Result<Bundle> {
        c.mounts.validate_at_start()?;
        let rootfs = self.layers.mount_rw(&c.id)?;
        let result = (|| -> Result<Bundle> {
            let mut oci_mounts = Vec::new();
            for m in &c.mounts.mounts {
                let source = match &m.kind {
                    MountKind::Volume(v) => {
                        let name = m.volume_name().ok_or_else(|| {
                            ContainerError::Internal(format!("volume at {} has no name", m.destination))
                        })?;
                        let data = self.volumes.mount_for(name, &c.id)?;
                        if m.copies_image_data() && v.subpath.is_none() {
                            copyup::copy_up(&rootfs, &m.destination, &data)
                                .map_err(|e| ContainerError::internal("copy image data into the volume", e))?;
                        }
                        let source = match &v.subpath {
                            Some(sub) => copyup::resolve_subpath(&data, sub).map_err(|e| {
                                ContainerError::Start(format!("cannot use subpath {sub} of volume {name}: {e}"))
                            })?,
                            None => data,
                        };
                        Some(source.to_string_lossy().into_owned())
                    }
                    MountKind::Bind(b) => {
                        if b.create_if_missing && !Path::new(&b.source).exists() {
                            use std::os::unix::fs::DirBuilderExt;
                            std::fs::DirBuilder::new().recursive(true).mode(0o755).create(&b.source).map_err(|e| {
                                ContainerError::Start(format!(
                                    "error while creating mount source path '{}': {e}",
                                    b.source
                                ))
                            })?;
                        }
                        None
                    }
                    _ => None,
                };
                let om = m.oci_mount(source.as_deref(), &RecursiveReadOnly::Supported)?;
                oci_mounts.push(strata_runtime::OciMount {
                    destination: om.destination,
                    typ: om.mount_type,
                    source: om.source,
                    options: om.options,
                });
            }
            let etc = self.write_etc_files(c)?;
            let user = strata_runtime::user::resolve_user(&rootfs, &c.config.user, &[])
                .map_err(|e| ContainerError::Start(e.to_string()))?;
            let spec = ContainerSpec {
                rootfs: rootfs.clone(),
                readonly_rootfs: c.host_config.readonly_rootfs,
                args: imageconfig::args_of(&c.config),
                env: c.config.env.clone().unwrap_or_default(),
                extra_env: Vec::new(),
                cwd: c.config.working_dir.clone(),
                user,
                hostname: c.config.hostname.clone(),
                tty: c.config.tty,
                console_size: None,
                mounts: oci_mounts,
                network: runtime_network(&c.host_config.network_mode)?,
                etc_files: etc,
                labels: c.config.labels.clone().unwrap_or_default(),
                privileged: c.host_config.privileged,
                cap_add: c.host_config.cap_add.clone().unwrap_or_default(),
                cap_drop: c.host_config.cap_drop.clone().unwrap_or_default(),
                shm_size: (c.host_config.shm_size > 0).then_some(c.host_config.shm_size as u64),
                ..ContainerSpec::default()
            };
            let built = strata_runtime::build_spec(&c.id, &spec, &HostLimits::probe())
                .map_err(|e| ContainerError::Start(e.to_string()))?;
            Bundle::write(bundle_dir, &built.spec).map_err(|e| ContainerError::internal("bundle", e))
        })();
        if result.is_err() {
            self.release_mounts(c);
        }
        result
    }

    fn write_etc_files(&self, c: &Container) -> Result<EtcFiles> {
        let dir = self.container_dir(&c.id);
        let err = |e| ContainerError::internal("container files", e);
        let hostname = dir.join("hostname");
        std::fs::write(&hostname, format!("{}\n", c.config.hostname)).map_err(err)?;
        let hosts = dir.join("hosts");
        let host_net = c.host_config.network_mode == "host";
        let hosts_text = if host_net {
            std::fs::read_to_string("/etc/hosts").unwrap_or_default()
        } else {
            format!(
                "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n\
                 ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n127.0.1.1\t{}\n",
                c.config.hostname
            )
        };
        std::fs::write(&hosts, hosts_text).map_err(err)?;
        let resolv = dir.join("resolv.conf");
        let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        std::fs::write(&resolv, text).map_err(err)?;
        Ok(EtcFiles { hosts: Some(hosts), hostname: Some(hostname), resolv_conf: Some(resolv) })
    }

    /// Releases what [`Self::prepare_start`] took: volume uses and the rootfs mount.
    fn release_mounts(&self, c: &Container) {
        for m in &c.mounts.mounts {
            if let Some(name) = m.volume_name()
                && let Err(e) = self.volumes.unmount_for(name, &c.id)
            {
                tracing::warn!(id = %c.id, volume = name, error = %e, "cannot release a volume");
            }
        }
        if let Err(e) = self.layers.unmount_rw(&c.id) {
            tracing::warn!(id = %c.id, error = %e, "cannot unmount the root filesystem");
        }
    }

    async fn undo_start(self: &Arc<Self>, c: &Container, bundle: &Bundle) {
        let _ = bundle.remove();
        let this = Arc::clone(self);
        let c = c.clone();
        let _ = tokio::task::spawn_blocking(move || this.release_mounts(&c)).await;
    }

    /// Runs when the container's process exits: record it, undo the start, notify waiters,
    /// remove the container if it was started with `--rm`.
    async fn on_exit(self: Arc<Self>, c: Container, live: Arc<Live>, bundle: Bundle) {
        let status = live.exit.wait().await;
        tracing::debug!(id = %c.id, ?status, "container process exited");
        live.io.wait_closed().await;
        tracing::debug!(id = %c.id, "container output drained");
        let id = c.id.clone();
        let op = self.op_lock(&id);
        let held = op.lock().await;
        if let Ok(runtime) = self.runtime()
            && let Err(e) = runtime.delete(&id, true).await
        {
            tracing::warn!(id = %id, error = %e, "runtime delete failed");
        }
        let this = Arc::clone(&self);
        let c2 = c.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let _ = bundle.remove();
            this.release_mounts(&c2);
        })
        .await;
        let code = status.exit_code();
        let manual = live.stopping.load(Ordering::Relaxed) && !self.shutting_down.load(Ordering::Relaxed);
        let current = record::get(&self.store.conn(), &id);
        let mut restart_count = c.restart_count;
        if let Ok(Some(mut current)) = current {
            current.state.status = Status::Exited;
            current.state.pid = 0;
            current.state.exit_code = code;
            current.state.finished_at = Some(SystemTime::now());
            current.state.manually_stopped = manual;
            restart_count = current.restart_count;
            let _ = record::update_state(&self.store.conn(), &id, &current.state);
        }
        lock(&self.live).remove(&id);
        self.health.stop(&id);
        self.progress_tx(&id).send_modify(|p| {
            p.exits += 1;
            p.exit_code = code;
            p.running = false;
        });
        tracing::info!(id = %id, code, stopped = live.stopping.load(Ordering::Relaxed), "container exited");
        self.emit(&c, "die", &[("exitCode", code.to_string())]);
        drop(held);
        if c.host_config.auto_remove {
            if let Err(e) = self.remove_inner(&id, RemoveOptions { force: false, volumes: true }, false).await {
                tracing::warn!(id = %id, error = %e, "auto-remove failed");
            }
        } else if !self.shutting_down.load(Ordering::Relaxed)
            && restart_wanted(&c.host_config.restart_policy, manual, code, restart_count)
        {
            self.schedule_restart(id, restart_count);
        }
    }

    /// Starts `id` again after Docker's back-off (100 ms, doubling, at most a minute), counting
    /// the restart.
    fn schedule_restart(self: &Arc<Self>, id: String, count: i64) {
        let this = Arc::clone(self);
        let delay =
            Duration::from_millis(100u64.saturating_mul(1 << count.clamp(0, 10) as u64)).min(Duration::from_secs(60));
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if this.shutting_down.load(Ordering::Relaxed) {
                return;
            }
            // Removed, or started by someone else meanwhile: nothing to do.
            let Ok(Some(c)) = record::get(&this.store.conn(), &id) else { return };
            if c.state.is_running() || c.state.manually_stopped {
                return;
            }
            let _ = record::set_restart_count(&this.store.conn(), &id, count + 1);
            match this.start(&id).await {
                Ok(()) => tracing::info!(id = %id, restarts = count + 1, "container restarted by its policy"),
                Err(e) => tracing::warn!(id = %id, error = %e, "restart by policy failed"),
            }
        });
    }

    /// At daemon start (once the reaper runs): starts the containers whose restart policy asks
    /// for it — `always`, and `unless-stopped` unless a user stopped it.
    pub async fn restore(self: &Arc<Self>) {
        let Ok(all) = self.list() else { return };
        for c in all {
            let wanted = match c.host_config.restart_policy.name.as_str() {
                "always" => true,
                "unless-stopped" => !c.state.manually_stopped,
                _ => false,
            };
            if wanted && c.state.status == Status::Exited {
                match self.start(&c.id).await {
                    Ok(()) => tracing::info!(id = %c.id, "container started by its restart policy"),
                    Err(e) => tracing::warn!(id = %c.id, error = %e, "cannot start a container by its restart policy"),
                }
            }
        }
    }

    // ---- attach, wait, signals ----------------------------------------------------------------

    /// Attaches to a container's stdio: now if it runs, else at its next start. The
    /// registration happens before this returns, so a start that follows cannot be missed.
    pub fn attach(&self, reference: &str) -> Result<(Container, AttachWait)> {
        let c = self.get(reference)?;
        if let Some(live) = lock(&self.live).get(&c.id) {
            let a = Attachment { io: live.io.clone(), output: live.io.subscribe(), tty: live.io.is_tty() };
            return Ok((c, AttachWait::Now(a)));
        }
        let (tx, rx) = oneshot::channel();
        lock(&self.pending_attach).entry(c.id.clone()).or_default().push(tx);
        Ok((c, AttachWait::Later(rx)))
    }

    /// The watch a waiter follows, with the state now.
    pub fn watch(&self, reference: &str) -> Result<(String, watch::Receiver<Progress>, Container)> {
        let c = self.get(reference)?;
        let tx = self.progress_tx(&c.id);
        tx.send_modify(|p| {
            p.running = c.state.is_running() || self.is_live(&c.id);
            if !p.running && p.exits == 0 {
                p.exit_code = c.state.exit_code;
            }
        });
        Ok((c.id.clone(), tx.subscribe(), c))
    }

    /// Waits for `condition` and returns the exit code.
    pub async fn wait(
        &self,
        mut rx: watch::Receiver<Progress>,
        condition: WaitCondition,
        was_running: bool,
    ) -> Result<i32> {
        let start = *rx.borrow_and_update();
        if condition == WaitCondition::NotRunning && !was_running && !start.running {
            return Ok(start.exit_code);
        }
        loop {
            let p = *rx.borrow_and_update();
            match condition {
                WaitCondition::Removed if p.removed => return Ok(p.exit_code),
                WaitCondition::NotRunning | WaitCondition::NextExit if p.exits > start.exits => {
                    return Ok(p.exit_code);
                }
                _ => {}
            }
            if rx.changed().await.is_err() {
                return Ok(rx.borrow().exit_code);
            }
        }
    }

    /// `POST /containers/{id}/kill`.
    pub async fn kill(&self, reference: &str, signal: i32) -> Result<()> {
        let c = self.get(reference)?;
        let live = lock(&self.live).get(&c.id).cloned();
        let Some(live) = live else { return Err(ContainerError::NotRunning(c.id)) };
        if c.state.status == Status::Paused && signal != rustix::process::Signal::KILL.as_raw() {
            return Err(ContainerError::Paused(c.id));
        }
        live.stopping.store(true, Ordering::Relaxed);
        self.runtime()?.kill(&c.id, signal, false).await.map_err(|e| ContainerError::internal("kill", e))?;
        self.emit(&c, "kill", &[("signal", signal.to_string())]);
        Ok(())
    }

    /// `POST /containers/{id}/stop`: the stop signal, then SIGKILL after `timeout`.
    pub async fn stop(&self, reference: &str, signal: Option<i32>, timeout: Option<i64>) -> Result<()> {
        let c = self.get(reference)?;
        let live = lock(&self.live).get(&c.id).cloned();
        let Some(live) = live else { return Err(ContainerError::NotModified) };
        let (_, mut rx, _) = self.watch(&c.id)?;
        let before = rx.borrow_and_update().exits;
        let signal = match signal {
            Some(s) => s,
            None => c.config.stop_signal.as_deref().and_then(parse_signal).unwrap_or(libc_sigterm()),
        };
        let timeout = timeout.or(c.config.stop_timeout).unwrap_or(10);
        live.stopping.store(true, Ordering::Relaxed);
        let runtime = self.runtime()?;
        let _ = runtime.kill(&c.id, signal, false).await;
        self.emit(&c, "kill", &[("signal", signal.to_string())]);
        let exited = async {
            while rx.borrow_and_update().exits == before {
                if rx.changed().await.is_err() {
                    break;
                }
            }
        };
        let graceful = if timeout < 0 {
            exited.await;
            true
        } else {
            tokio::time::timeout(Duration::from_secs(timeout as u64), exited).await.is_ok()
        };
        if !graceful {
            let _ = live.exit.signal(rustix::process::Signal::KILL);
            let _ = runtime.kill(&c.id, rustix::process::Signal::KILL.as_raw(), true).await;
            while rx.borrow_and_update().exits == before {
                if rx.changed().await.is_err() {
                    break;
                }
            }
        }
        self.emit(&c, "stop", &[]);
        Ok(())
    }

    /// `POST /containers/{id}/restart`.
    pub async fn restart(self: &Arc<Self>, reference: &str, signal: Option<i32>, timeout: Option<i64>) -> Result<()> {
        match self.stop(reference, signal, timeout).await {
            Ok(()) | Err(ContainerError::NotModified) => {}
            Err(e) => return Err(e),
        }
        match self.start(reference).await {
            Ok(()) | Err(ContainerError::NotModified) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `POST /containers/{id}/resize`.
    pub fn resize(&self, reference: &str, rows: u16, cols: u16) -> Result<()> {
        let c = self.get(reference)?;
        let live = lock(&self.live).get(&c.id).cloned();
        let Some(live) = live else { return Err(ContainerError::NotRunning(c.id)) };
        live.io.resize(WinSize { rows, cols }).map_err(|e| ContainerError::internal("resize", e))
    }

    /// The container's logging driver, its options read (Docker's "failed to initialize logging
    /// driver" when they are bad).
    fn log_driver(&self, c: &Container) -> Result<LogDriver> {
        let (driver, opts) = logconfig::parts(c.host_config.rest.get("LogConfig"));
        logconfig::driver(&driver, &opts)
            .map_err(|e| ContainerError::BadRequest(format!("failed to initialize logging driver: {e}")))
    }

    /// The file `docker logs` reads, `None` when the container's driver keeps no log (`none`).
    pub fn log_file(&self, c: &Container) -> Option<PathBuf> {
        logconfig::keeps_log(c.host_config.rest.get("LogConfig")).then(|| self.log_path(&c.id))
    }

    /// The log follower of a running container (`None` when it does not run).
    pub fn log_follow(&self, id: &str) -> Option<LogFollow> {
        lock(&self.live).get(id).and_then(|l| l.log.clone())
    }

    /// `POST /containers/{id}/pause` and `unpause` (also used to freeze volume writers).
    pub async fn pause(&self, reference: &str, pause: bool) -> Result<()> {
        let mut c = self.get(reference)?;
        if !self.is_live(&c.id) {
            return Err(ContainerError::NotRunning(c.id));
        }
        match (pause, c.state.status) {
            (true, Status::Paused) => {
                return Err(ContainerError::Conflict(format!("Container {} is already paused", c.id)));
            }
            (false, s) if s != Status::Paused => {
                return Err(ContainerError::Conflict(format!("Container {} is not paused", c.id)));
            }
            _ => {}
        }
        let runtime = self.runtime()?;
        let r = if pause { runtime.pause(&c.id).await } else { runtime.resume(&c.id).await };
        r.map_err(|e| ContainerError::internal(if pause { "pause" } else { "unpause" }, e))?;
        c.state.status = if pause { Status::Paused } else { Status::Running };
        record::update_state(&self.store.conn(), &c.id, &c.state)?;
        Ok(())
    }

    // ---- remove, rename, prune ----------------------------------------------------------------

    /// `DELETE /containers/{id}`.
    pub async fn remove(self: &Arc<Self>, reference: &str, options: RemoveOptions) -> Result<()> {
        let id = self.resolve(reference)?;
        self.remove_inner(&id, options, true).await
    }

    async fn remove_inner(self: &Arc<Self>, id: &str, options: RemoveOptions, report_missing: bool) -> Result<()> {
        if self.is_live(id) {
            if !options.force {
                return Err(ContainerError::Conflict(format!(
                    "You cannot remove a running container {id}. Stop the container before attempting removal or force remove"
                )));
            }
            self.stop(id, Some(rustix::process::Signal::KILL.as_raw()), Some(-1)).await.ok();
        }
        let op = self.op_lock(id);
        let held = op.lock().await;
        let Some(c) = record::get(&self.store.conn(), id)? else {
            return if report_missing { Err(ContainerError::NotFound(id.to_owned())) } else { Ok(()) };
        };
        if self.is_live(id) {
            return Err(ContainerError::Conflict(format!("container {id} is still running")));
        }
        let this = Arc::clone(self);
        let id2 = id.to_owned();
        let released = tokio::task::spawn_blocking(move || -> Result<Vec<String>> {
            let released = this.store.write(|tx| -> Result<Vec<String>> {
                let released = strata_volume::release_holder_in(tx, &id2)?;
                record::delete(tx, &id2)?;
                Ok(released)
            })?;
            if let Err(e) = this.layers.remove_rw(&id2) {
                tracing::warn!(id = %id2, error = %e, "cannot remove the writable layer");
            }
            let _ = std::fs::remove_dir_all(this.container_dir(&id2));
            Ok(released)
        })
        .await
        .map_err(|e| ContainerError::internal("remove", e))??;
        if options.volumes {
            let anonymous: Vec<String> = c
                .mounts
                .mounts
                .iter()
                .filter(|m| m.is_anonymous_volume() || is_config_anonymous(m))
                .filter_map(|m| m.volume_name().map(str::to_owned))
                .filter(|n| released.contains(n))
                .collect();
            let volumes = Arc::clone(&self.volumes);
            let _ = tokio::task::spawn_blocking(move || {
                for name in anonymous {
                    match volumes.remove(&name, false) {
                        Ok(()) | Err(strata_volume::VolumeError::InUse { .. }) => {}
                        Err(e) => tracing::warn!(volume = %name, error = %e, "cannot remove an anonymous volume"),
                    }
                }
            })
            .await;
        }
        if let Some(tx) = lock(&self.progress).remove(id) {
            tx.send_modify(|p| p.removed = true);
        }
        lock(&self.pending_attach).remove(id);
        self.forget_execs(id);
        self.health.forget(id);
        drop(held);
        lock(&self.locks).remove(id);
        tracing::info!(id = %id, "container removed");
        self.emit(&c, "destroy", &[]);
        Ok(())
    }

    /// `POST /containers/{id}/rename`.
    pub fn rename(&self, reference: &str, new_name: &str) -> Result<()> {
        let c = self.get(reference)?;
        let n = new_name.strip_prefix('/').unwrap_or(new_name);
        if n.is_empty() {
            return Err(ContainerError::BadRequest("Neither old nor new names may be empty".into()));
        }
        if !name::is_valid(n) {
            return Err(ContainerError::InvalidName(name::invalid_message(n)));
        }
        if n == c.name {
            return Err(ContainerError::Conflict("Renaming a container with the same name as its current name".into()));
        }
        let _serial = lock(&self.create_lock);
        if let Some(other) = record::id_by_name(&self.store.conn(), n)? {
            return Err(ContainerError::NameInUse { name: n.to_owned(), id: other });
        }
        record::rename(&self.store.conn(), &c.id, n)?;
        Ok(())
    }

    /// Size of a container's writable layer.
    pub fn size_rw(&self, id: &str) -> u64 {
        self.layers.rw_size(id).unwrap_or(0)
    }

    /// Stops every running container, in parallel (daemon shutdown).
    pub async fn shutdown(self: &Arc<Self>, timeout_secs: i64) {
        self.shutting_down.store(true, Ordering::Relaxed);
        let ids: Vec<String> = lock(&self.live).keys().cloned().collect();
        let mut tasks = Vec::new();
        for id in ids {
            let this = Arc::clone(self);
            tasks.push(tokio::spawn(async move {
                if let Err(e) = this.stop(&id, None, Some(timeout_secs)).await {
                    tracing::warn!(id = %id, error = %e, "cannot stop a container at shutdown");
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        // The exit handlers record the exits; give them their turn.
        for _ in 0..100 {
            if lock(&self.live).is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // ---- start-up repair ----------------------------------------------------------------------

    /// Repairs containers after an unclean stop (see the module docs). Runs before the volume and
    /// layer stores reconcile, and before the child reaper exists (so it may wait for `runc`).
    pub fn reconcile(&self) -> Result<()> {
        let all = self.list()?;
        let rw_layers = self.layers.all_rw()?;
        for c in &all {
            if !c.state.is_running() {
                continue;
            }
            if let Some(binary) = &self.config.runtime_binary {
                let root = RuncConfig::new(&self.config.runtime_name, binary, vec![], &self.config.exec_root).root;
                let _ = std::process::Command::new(binary)
                    .arg("--root")
                    .arg(&root)
                    .args(["delete", "--force", &c.id])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status();
            }
            let _ = Bundle::at(Bundle::dir_for(&self.config.exec_root, &c.id)).remove();
            for m in &c.mounts.mounts {
                if let Some(name) = m.volume_name() {
                    let _ = self.volumes.unmount_for(name, &c.id);
                }
            }
            let mut state = c.state.clone();
            state.status = Status::Exited;
            state.pid = 0;
            state.exit_code = LOST_EXIT_CODE;
            state.finished_at = Some(SystemTime::now());
            record::update_state(&self.store.conn(), &c.id, &state)?;
            tracing::warn!(id = %c.id, "container was running when the daemon stopped; marked exited");
        }
        // Writable layers and volume references of containers whose record is gone.
        let known: std::collections::HashSet<&str> = all.iter().map(|c| c.id.as_str()).collect();
        for rw in rw_layers {
            if !known.contains(rw.container_id.as_str()) {
                let _ = self.layers.remove_rw(&rw.container_id);
            }
        }
        Ok(())
    }
}

/// Whether a container that just exited should be started again by its restart policy.
fn restart_wanted(policy: &crate::spec::RestartPolicy, manually_stopped: bool, code: i32, restarts: i64) -> bool {
    if manually_stopped {
        return false;
    }
    match policy.name.as_str() {
        "always" | "unless-stopped" => true,
        "on-failure" => code != 0 && (policy.maximum_retry_count <= 0 || restarts < policy.maximum_retry_count),
        _ => false,
    }
}

/// Files and directories Docker puts in a container's init layer, so that the bind mounts of
/// `/etc/hosts` & co. and the kernel filesystems have a place, and `docker diff` does not list them.
fn init_layer(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let mkdir = |p: &str| std::fs::DirBuilder::new().recursive(true).mode(0o755).create(dir.join(p));
    for d in ["dev/pts", "dev/shm", "proc", "sys", "etc"] {
        mkdir(d)?;
    }
    for f in ["etc/hosts", "etc/hostname", "etc/resolv.conf", ".dockerenv"] {
        let p = dir.join(f);
        if !p.exists() {
            std::fs::write(p, b"")?;
        }
    }
    let mtab = dir.join("etc/mtab");
    if std::fs::symlink_metadata(&mtab).is_err() {
        std::os::unix::fs::symlink("/proc/mounts", mtab)?;
    }
    Ok(())
}

fn mount_request(hc: &HostConfig, volumes: Vec<String>, image_volumes: Vec<String>) -> MountRequest {
    MountRequest {
        binds: hc.binds.clone().unwrap_or_default(),
        mounts: hc.mounts.clone().unwrap_or_default(),
        tmpfs: hc.tmpfs.clone().unwrap_or_default(),
        volumes,
        image_volumes,
        volumes_from: hc.volumes_from.clone().unwrap_or_default(),
        volume_driver: hc.volume_driver.clone(),
        readonly_rootfs: hc.readonly_rootfs,
    }
}

/// One volume request per volume mount of the plan, in plan order.
fn volume_requests(plan: &strata_mount::MountPlan) -> Vec<CreateRequest> {
    plan.mounts
        .iter()
        .filter_map(PlannedMount::volume)
        .map(|v| CreateRequest {
            name: match &v.name {
                VolumeName::Named(n) => Some(n.clone()),
                VolumeName::Anonymous => None,
            },
            driver: (!v.driver.is_empty()).then(|| v.driver.clone()),
            options: v.driver_opts.clone(),
            labels: v.labels.clone(),
        })
        .collect()
}

/// Records the created or found volumes in the plan. `committed` is in request order without
/// duplicates (as `Prepared::commit_in` returns it).
fn assign_volumes(plan: &mut strata_mount::MountPlan, requests: &[CreateRequest], committed: &[strata_volume::Volume]) {
    let mut by_name: BTreeMap<String, &strata_volume::Volume> = BTreeMap::new();
    let mut next = committed.iter();
    let mut resolved = Vec::with_capacity(requests.len());
    for r in requests {
        let v = match r.name.as_ref().and_then(|n| by_name.get(n).copied()) {
            Some(v) => Some(v),
            None => next.next(),
        };
        if let Some(v) = v {
            by_name.insert(v.name.clone(), v);
        }
        resolved.push(v);
    }
    let mut resolved = resolved.into_iter();
    for m in plan.mounts.iter_mut().filter(|m| m.volume().is_some()) {
        if let Some(Some(v)) = resolved.next() {
            m.set_volume(&v.name, &v.driver, &v.mountpoint.to_string_lossy());
        }
    }
}

fn is_config_anonymous(m: &PlannedMount) -> bool {
    matches!(m.origin, strata_mount::MountOrigin::ConfigVolume | strata_mount::MountOrigin::ImageVolume)
        && m.volume().is_some_and(|v| v.name == VolumeName::Anonymous)
}

fn libc_sigterm() -> i32 {
    rustix::process::Signal::TERM.as_raw()
}

/// A signal by name (`SIGTERM`, `TERM`, `term`) or number.
pub fn parse_signal(s: &str) -> Option<i32> {
    if let Ok(n) = s.parse::<i32>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    use rustix::process::Signal as S;
    let sig = match name {
        "HUP" => S::HUP,
        "INT" => S::INT,
        "QUIT" => S::QUIT,
        "ILL" => S::ILL,
        "TRAP" => S::TRAP,
        "ABRT" | "IOT" => S::ABORT,
        "BUS" => S::BUS,
        "FPE" => S::FPE,
        "KILL" => S::KILL,
        "USR1" => S::USR1,
        "SEGV" => S::SEGV,
        "USR2" => S::USR2,
        "PIPE" => S::PIPE,
        "ALRM" => S::ALARM,
        "TERM" => S::TERM,
        "CHLD" => S::CHILD,
        "CONT" => S::CONT,
        "STOP" => S::STOP,
        "TSTP" => S::TSTP,
        "TTIN" => S::TTIN,
        "TTOU" => S::TTOU,
        "URG" => S::URG,
        "XCPU" => S::XCPU,
        "XFSZ" => S::XFSZ,
        "VTALRM" => S::VTALARM,
        "PROF" => S::PROF,
        "WINCH" => S::WINCH,
        "IO" | "POLL" => S::IO,
        "PWR" => S::POWER,
        "SYS" => S::SYS,
        _ => return None,
    };
    Some(sig.as_raw())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policies_follow_docker() {
        use crate::spec::RestartPolicy;
        let p = |name: &str, max| RestartPolicy { name: name.into(), maximum_retry_count: max };
        assert!(restart_wanted(&p("always", 0), false, 0, 5));
        assert!(!restart_wanted(&p("always", 0), true, 0, 0), "a user stop wins");
        assert!(restart_wanted(&p("on-failure", 2), false, 1, 1));
        assert!(!restart_wanted(&p("on-failure", 2), false, 1, 2), "retries exhausted");
        assert!(!restart_wanted(&p("on-failure", 0), false, 0, 0), "success is not a failure");
        assert!(!restart_wanted(&p("no", 0), false, 1, 0));
        assert!(!restart_wanted(&p("", 0), false, 1, 0));
    }

    #[test]
    fn signals_parse_by_name_and_number() {
        assert_eq!(parse_signal("SIGKILL"), Some(9));
        assert_eq!(parse_signal("kill"), Some(9));
        assert_eq!(parse_signal("15"), Some(15));
        assert_eq!(parse_signal("0"), None);
        assert_eq!(parse_signal("NOPE"), None);
    }

    #[test]
    fn wait_conditions_are_dockers() {
        assert_eq!(WaitCondition::parse(""), Some(WaitCondition::NotRunning));
        assert_eq!(WaitCondition::parse("next-exit"), Some(WaitCondition::NextExit));
        assert_eq!(WaitCondition::parse("removed"), Some(WaitCondition::Removed));
        assert_eq!(WaitCondition::parse("x"), None);
    }
}
