//! From a container-create request to a validated mount plan.
//!
//! A container's mounts come from six places: `HostConfig.VolumesFrom`, `HostConfig.Binds` (`-v`),
//! `HostConfig.Mounts` (`--mount`), `HostConfig.Tmpfs` (`--tmpfs`), `Config.Volumes` (`-v /path`)
//! and the image's `VOLUME`s. Docker merges them in a fixed order with fixed precedence, and the
//! plan reproduces it:
//!
//! 1. API-version gates on `Mounts` (new fields ignored for old clients, misplaced options refused
//!    for new ones), then every `Mounts` entry is validated — bind sources must exist — and every
//!    `Tmpfs` destination.
//! 2. `--volumes-from` mounts are copied from the other container (mode `ro` makes them
//!    read-only; their data is never copied up again).
//! 3. `-v` binds and volumes, then `--mount` entries: each overrides an inherited mount at the same
//!    destination silently, but two of them at one destination — or one of them on a `--tmpfs`
//!    destination — is `Duplicate mount point`.
//! 4. `--tmpfs` mounts.
//! 5. `Config.Volumes` and image `VOLUME`s become anonymous volumes, *unless anything above already
//!    mounts that destination* — `-v pgdata:/data` on an image with `VOLUME /data` is the common
//!    case and is not an error.
//!
//! The plan is sorted so that a parent directory is mounted before anything below it. Each entry
//! carries what the engine needs to set it up (kind, source, options) and what `docker inspect`
//! shows for it ([`MountPoint`]); volume names and host paths are filled in by the engine once it
//! has created or looked up the volumes ([`PlannedMount::set_volume`]).
//!
//! Deliberate differences from Docker, each replacing a silent surprise with a clear outcome:
//! a `--mount` on a `--tmpfs` destination is a `Duplicate mount point` (Docker mounts both, one
//! hiding the other); a `--tmpfs` replaces an inherited `--volumes-from` mount at its destination;
//! `--volumes-from` a container with a `--mount type=tmpfs` inherits that tmpfs (Docker fails with
//! a 404 `get: no such volume`, which sends the CLI into an image pull); tmpfs destinations are
//! compared after cleaning (`/t/` and `/t` are the same place).

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::api_version::{
    ApiVersion, IMAGE_MOUNTS, NON_RECURSIVE_BINDS, RECURSIVE_READ_ONLY, TYPED_MOUNT_OPTIONS, VOLUME_SUBPATH,
};
use crate::binds::{self, ParsedBind, VolumesFrom};
use crate::error::{ConfigProblem, MountError};
use crate::gocompat::clean;
use crate::host::{ContainerMounts, HostFs};
use crate::inspect::MountPoint;
use crate::propagation::Propagation;
use crate::spec::{Mount, MountType};
use crate::tmpfs;
use crate::validate::{validate_mount, validate_tmpfs_destination};
use crate::volume_name::{self, LOCAL_DRIVER};

/// The label Docker (28.x, every API version) puts on anonymous volumes; API >= 1.42 prunes only
/// volumes carrying it unless `--all` is given.
pub const ANONYMOUS_VOLUME_LABEL: &str = "com.docker.volume.anonymous";

/// The SELinux "shared" relabel mode Docker reports for local volumes mounted without a mode.
const SHARED_LABEL_MODE: &str = "z";

/// The warning Docker (API >= 1.48) adds when `HostConfig.VolumeDriver` cannot apply.
pub const VOLUME_DRIVER_IGNORED_WARNING: &str = "WARNING: the container-wide volume-driver configuration is ignored for volumes specified via 'mount'. Use '--mount type=volume,volume-driver=...' instead";

/// The mount-related parts of a container-create request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountRequest {
    /// `HostConfig.Binds` (`-v` with a source), verbatim.
    pub binds: Vec<String>,
    /// `HostConfig.Mounts` (`--mount`).
    pub mounts: Vec<Mount>,
    /// `HostConfig.Tmpfs` (`--tmpfs /p:opts`): destination → option string.
    pub tmpfs: BTreeMap<String, String>,
    /// The keys of `Config.Volumes` (`-v /path` without a source).
    pub volumes: Vec<String>,
    /// The image's `VOLUME` paths.
    pub image_volumes: Vec<String>,
    /// `HostConfig.VolumesFrom` (`--volumes-from c[:ro|:rw]`).
    pub volumes_from: Vec<String>,
    /// `HostConfig.VolumeDriver` (`--volume-driver`): the driver for `-v` and anonymous volumes.
    pub volume_driver: String,
    /// `HostConfig.ReadonlyRootfs` (`--read-only`).
    pub readonly_rootfs: bool,
}

/// What planning needs besides the request.
#[derive(Clone, Copy)]
pub struct PlanContext<'a> {
    /// The API version the request was made with.
    pub api_version: ApiVersion,
    /// The daemon's data-root as configured (e.g. `/var/lib/strata`). Binds of it, of anything
    /// inside it or of any parent of it get `rslave` propagation. Empty disables the rule.
    pub daemon_root: &'a str,
    /// Where bind sources are looked up.
    pub host: &'a dyn HostFs,
    /// Where `--volumes-from` containers are looked up.
    pub containers: &'a dyn ContainerMounts,
}

/// Which part of the request a mount came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MountOrigin {
    /// `HostConfig.Binds` (`-v src:dst`).
    Bind,
    /// `HostConfig.Mounts` (`--mount`).
    Mount,
    /// `HostConfig.Tmpfs` (`--tmpfs`).
    Tmpfs,
    /// `Config.Volumes` (`-v /path`).
    ConfigVolume,
    /// A `VOLUME` of the image.
    ImageVolume,
    /// `--volumes-from <container>`.
    VolumesFrom { container: String },
}

/// What is mounted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MountKind {
    Bind(BindMount),
    Volume(VolumeMount),
    Tmpfs(TmpfsMount),
    /// An image's filesystem (`--mount type=image`, API >= 1.48); always read-only.
    Image(ImageMount),
}

/// A host path bind-mounted into the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindMount {
    /// The host path, lexically cleaned.
    pub source: String,
    /// Create the source directory at start if it is missing: `-v` does (as root, 0755), `--mount`
    /// refuses at create unless `bind-create-mountpoint` is set.
    pub create_if_missing: bool,
    pub propagation: Propagation,
    /// `bind` instead of `rbind`: submounts of the source are not carried over.
    pub non_recursive: bool,
    /// Read-only applies to the top mount only (the behaviour before API 1.44, and
    /// `bind-recursive=writable`).
    pub read_only_non_recursive: bool,
    /// Fail rather than fall back when recursive read-only is unavailable
    /// (`bind-recursive=readonly`).
    pub read_only_force_recursive: bool,
}

/// A named or anonymous volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VolumeName {
    Named(String),
    /// The engine generates a 64-hex name and records it with [`PlannedMount::set_volume`].
    Anonymous,
}

/// A volume, created by the engine if missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeMount {
    pub name: VolumeName,
    /// The driver to create a missing volume with; empty means the daemon default (`local`).
    pub driver: String,
    /// Driver options for a volume created now (ignored if it already exists).
    pub driver_opts: BTreeMap<String, String>,
    /// Labels for a volume created now (ignored if it already exists).
    pub labels: BTreeMap<String, String>,
    /// Do not copy the image's content at the destination into an empty volume.
    pub nocopy: bool,
    /// Mount only this directory of the volume (API >= 1.45).
    pub subpath: Option<String>,
}

/// A tmpfs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TmpfsMount {
    /// The size limit in bytes when it is a fixed size (`None`: kernel default, a percentage of
    /// RAM, or a value the kernel will refuse at start).
    pub size_bytes: Option<u64>,
    /// The root directory's permission bits, when given.
    pub mode: Option<u32>,
    /// The options as stored by Docker (`--tmpfs` text split at commas, or the options derived from
    /// `--mount`), before Docker's defaults are merged in; see [`crate::tmpfs::oci_options`].
    pub options: Vec<String>,
}

/// An image mounted read-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageMount {
    /// The image reference as given.
    pub image: String,
    pub subpath: Option<String>,
}

/// One mount of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedMount {
    /// The path inside the container, lexically cleaned.
    pub destination: String,
    pub kind: MountKind,
    pub read_only: bool,
    pub origin: MountOrigin,
    /// The `-v` mode text as given (empty for other origins); Docker echoes it as `Mode`.
    pub requested_mode: String,
    /// What `docker inspect` lists in `Mounts`; `None` for `--tmpfs` mounts, which Docker does not
    /// list.
    pub mount_point: Option<MountPoint>,
}

/// The validated mounts of one container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountPlan {
    /// Sorted so that parents are mounted before their children.
    pub mounts: Vec<PlannedMount>,
    /// `--read-only`: the root filesystem is read-only; mounts keep their own mode.
    pub readonly_rootfs: bool,
    /// Warnings Docker returns with the create response.
    pub warnings: Vec<String>,
}

impl PlannedMount {
    /// Whether `docker inspect` lists this mount.
    pub fn appears_in_inspect(&self) -> bool {
        self.mount_point.is_some()
    }

    /// The volume, if this is a volume mount.
    pub fn volume(&self) -> Option<&VolumeMount> {
        match &self.kind {
            MountKind::Volume(v) => Some(v),
            _ => None,
        }
    }

    /// Whether this mount needs a freshly generated volume.
    pub fn is_anonymous_volume(&self) -> bool {
        self.volume().is_some_and(|v| v.name == VolumeName::Anonymous)
    }

    /// The volume's name: as requested, or as recorded by the engine for an anonymous volume.
    pub fn volume_name(&self) -> Option<&str> {
        let v = self.volume()?;
        match (&v.name, &self.mount_point) {
            (VolumeName::Named(n), _) => Some(n),
            (VolumeName::Anonymous, Some(mp)) if !mp.name.is_empty() => Some(&mp.name),
            (VolumeName::Anonymous, _) => None,
        }
    }

    /// Whether the engine copies the image's content at the destination into the volume when the
    /// volume is empty (Docker's copy-up; never for binds, `nocopy` or `--volumes-from`).
    pub fn copies_image_data(&self) -> bool {
        self.volume().is_some_and(|v| !v.nocopy)
    }

    /// Records the volume the engine created or found: its name (generated for anonymous ones), its
    /// actual driver and its host path. Docker's `Mode` default (`z`) applies only to local volumes,
    /// so it is recomputed here from the actual driver.
    pub fn set_volume(&mut self, name: &str, driver: &str, host_path: &str) {
        let mode = docker_mode(&self.origin, &self.requested_mode, driver == LOCAL_DRIVER);
        if let Some(mp) = &mut self.mount_point {
            mp.name = name.to_owned();
            mp.driver = driver.to_owned();
            mp.source = host_path.to_owned();
            mp.mode = mode;
        }
    }

    /// Records where the engine mounted an image mount's filesystem.
    pub fn set_image_source(&mut self, host_path: &str) {
        if let Some(mp) = &mut self.mount_point {
            mp.source = host_path.to_owned();
        }
    }

    /// Checks Docker makes only when the container starts (500-class): tmpfs options and values,
    /// contradictory recursive-read-only options, an anonymous volume over `/`.
    pub fn validate_at_start(&self) -> Result<(), MountError> {
        if self.destination == "/" {
            return Err(MountError::InvalidAtStart(ConfigProblem::DestinationIsRoot));
        }
        match &self.kind {
            MountKind::Tmpfs(t) => {
                let merged = tmpfs::oci_options(&t.options)?;
                tmpfs::check_kernel_values(&self.destination, &merged)
            }
            MountKind::Bind(b) => bind_option_conflict(self.read_only, b)
                .map_or(Ok(()), |what| Err(MountError::BindOptionsConflict(what))),
            MountKind::Volume(_) | MountKind::Image(_) => Ok(()),
        }
    }
}

/// Docker's start-time consistency rule for recursive read-only options.
pub(crate) fn bind_option_conflict(read_only: bool, b: &BindMount) -> Option<&'static str> {
    if !read_only && b.read_only_non_recursive {
        Some("!ReadOnly && BindOptions.ReadOnlyNonRecursive")
    } else if !read_only && b.read_only_force_recursive {
        Some("!ReadOnly && BindOptions.ReadOnlyForceRecursive")
    } else if b.read_only_non_recursive && b.read_only_force_recursive {
        Some("ReadOnlyNonRecursive && BindOptions.ReadOnlyForceRecursive")
    } else {
        None
    }
}

impl MountPlan {
    /// The `Mounts` array of `docker inspect`, in plan order.
    pub fn inspect_mounts(&self) -> Vec<MountPoint> {
        self.mounts.iter().filter_map(|m| m.mount_point.clone()).collect()
    }

    /// Runs [`PlannedMount::validate_at_start`] on every mount, in mount order.
    pub fn validate_at_start(&self) -> Result<(), MountError> {
        self.mounts.iter().try_for_each(PlannedMount::validate_at_start)
    }

    /// The mount at `destination` (cleaned), if any.
    pub fn get(&self, destination: &str) -> Option<&PlannedMount> {
        let d = clean(destination);
        self.mounts.iter().find(|m| m.destination == d)
    }
}

/// Applies Docker's API-version rules to `HostConfig.Mounts`: fields newer than the client are
/// dropped, options on the wrong mount type are dropped (before 1.42) or refused (from 1.42),
/// and features newer than the client are refused. The result is also what the engine should
/// store and echo in `docker inspect`.
pub fn normalize_mounts(mounts: &[Mount], api: ApiVersion) -> Result<Vec<Mount>, MountError> {
    let mut out = mounts.to_vec();
    for m in &mut out {
        if !api.at_least(NON_RECURSIVE_BINDS)
            && let Some(bo) = &mut m.bind_options
        {
            bo.non_recursive = false;
        }
        if !api.at_least(TYPED_MOUNT_OPTIONS) {
            if let Some(bo) = &mut m.bind_options {
                bo.create_mountpoint = false;
            }
            if m.mount_type != MountType::Volume {
                m.volume_options = None;
            }
            if m.mount_type != MountType::Tmpfs {
                m.tmpfs_options = None;
            }
        }
    }
    if api.at_least(TYPED_MOUNT_OPTIONS) {
        for m in &out {
            let misplaced = if m.volume_options.is_some() && m.mount_type != MountType::Volume {
                Some("VolumeOptions")
            } else if m.bind_options.is_some() && m.mount_type != MountType::Bind {
                Some("BindOptions")
            } else if m.tmpfs_options.is_some() && m.mount_type != MountType::Tmpfs {
                Some("TmpfsOptions")
            } else {
                None
            };
            if let Some(options) = misplaced {
                return Err(MountError::OptionsForOtherType { options, mount_type: m.mount_type.as_str().to_owned() });
            }
        }
    }
    if !api.at_least(RECURSIVE_READ_ONLY)
        && out.iter().any(|m| {
            m.mount_type == MountType::Bind && m.bind_options.as_ref().is_some_and(|bo| bo.read_only_force_recursive)
        })
    {
        return Err(MountError::ForceRecursiveNeedsNewerApi);
    }
    if !api.at_least(VOLUME_SUBPATH)
        && out.iter().any(|m| m.volume_options.as_ref().is_some_and(|vo| !vo.subpath.is_empty()))
    {
        return Err(MountError::SubpathNeedsNewerApi);
    }
    Ok(out)
}

/// Builds the mount plan of a new container; see the module documentation for the rules.
pub fn plan_mounts(req: &MountRequest, ctx: &PlanContext<'_>) -> Result<MountPlan, MountError> {
    let api = ctx.api_version;
    let image_mounts = api.at_least(IMAGE_MOUNTS);

    // 1. Version gates, then the create-time validation of Mounts and Tmpfs destinations.
    let mounts = normalize_mounts(&req.mounts, api)?;
    for m in &mounts {
        validate_mount(m, image_mounts, Some(ctx.host))?;
    }
    for destination in req.tmpfs.keys() {
        validate_tmpfs_destination(destination)?;
    }
    let tmpfs_destinations: HashSet<String> = req.tmpfs.keys().map(|d| clean(d)).collect();

    let mut planned: BTreeMap<String, PlannedMount> = BTreeMap::new();
    let mut explicit: HashSet<String> = HashSet::new();

    // 2. --volumes-from.
    for spec in &req.volumes_from {
        let from = binds::parse_volumes_from(spec)?;
        let theirs = ctx
            .containers
            .mounts_of(&from.container)
            .ok_or_else(|| MountError::NoSuchContainer(from.container.clone()))?;
        for m in theirs.into_iter().filter_map(|m| inherit(m, &from)) {
            planned.insert(m.destination.clone(), m);
        }
    }

    // 3. -v, then --mount.
    for raw in &req.binds {
        let parsed = binds::parse_bind(raw, &req.volume_driver)?;
        let rslave = daemon_root_propagation(&parsed.mount, ctx.daemon_root)?;
        let destination = clean(&parsed.mount.target);
        if explicit.contains(&destination) || tmpfs_destinations.contains(&destination) {
            return Err(MountError::DuplicateMountPoint(destination));
        }
        let m = from_bind(parsed, destination, rslave, api, &req.volume_driver);
        check_volume_name(&m)?;
        explicit.insert(m.destination.clone());
        planned.insert(m.destination.clone(), m);
    }
    for spec in &mounts {
        let rslave = daemon_root_propagation(spec, ctx.daemon_root)?;
        let destination = clean(&spec.target);
        if explicit.contains(&destination) || tmpfs_destinations.contains(&destination) {
            return Err(MountError::DuplicateMountPoint(spec.target.clone()));
        }
        let m = from_mount(spec, destination, rslave, api)?;
        check_volume_name(&m)?;
        explicit.insert(m.destination.clone());
        planned.insert(m.destination.clone(), m);
    }

    // 4. --tmpfs (replaces an inherited mount at the same place).
    for (destination, data) in &req.tmpfs {
        let m = from_tmpfs(destination, data);
        planned.insert(m.destination.clone(), m);
    }

    // 5. Anonymous volumes where nothing else is mounted.
    let config_volumes = req.volumes.iter().map(|v| (v, MountOrigin::ConfigVolume));
    let image_volumes = req.image_volumes.iter().map(|v| (v, MountOrigin::ImageVolume));
    for (path, origin) in config_volumes.chain(image_volumes) {
        let destination = clean(path);
        if !planned.contains_key(&destination) {
            let m = anonymous_volume(destination, origin, &req.volume_driver);
            planned.insert(m.destination.clone(), m);
        }
    }

    let mut warnings = Vec::new();
    if api.at_least(IMAGE_MOUNTS) && !req.volume_driver.is_empty() && mounts.iter().any(ignores_volume_driver) {
        warnings.push(VOLUME_DRIVER_IGNORED_WARNING.to_owned());
    }

    let mut mounts: Vec<PlannedMount> = planned.into_values().collect();
    mounts.sort_by(|a, b| {
        depth(&a.destination).cmp(&depth(&b.destination)).then_with(|| a.destination.cmp(&b.destination))
    });
    Ok(MountPlan { mounts, readonly_rootfs: req.readonly_rootfs, warnings })
}

/// How deep a destination is; mounting in increasing depth never hides a mount under a later one.
fn depth(destination: &str) -> usize {
    destination.matches('/').count()
}

/// A `--mount type=volume` without its own driver, which `--volume-driver` does not reach.
fn ignores_volume_driver(m: &Mount) -> bool {
    m.mount_type == MountType::Volume
        && m.volume_options.as_ref().and_then(|vo| vo.driver_config.as_ref()).is_none_or(|d| d.name.is_empty())
}

/// Docker's `Mode` for a mount point: the requested mode, or `z` for a local volume from `-v` or
/// `--mount` that was given none.
fn docker_mode(origin: &MountOrigin, requested_mode: &str, local_driver: bool) -> String {
    let labelled = matches!(origin, MountOrigin::Bind | MountOrigin::Mount);
    if labelled && requested_mode.is_empty() && local_driver {
        SHARED_LABEL_MODE.to_owned()
    } else {
        requested_mode.to_owned()
    }
}

/// Docker's data-root rule for binds: a bind whose source contains the data-root or lies inside it
/// (by string prefix, as Docker compares) must not be privately propagated. Returns `RSlave` when
/// no propagation was asked for.
fn daemon_root_propagation(m: &Mount, daemon_root: &str) -> Result<Option<Propagation>, MountError> {
    if m.mount_type != MountType::Bind || daemon_root.is_empty() {
        return Ok(None);
    }
    if !(m.source.starts_with(daemon_root) || daemon_root.starts_with(m.source.as_str())) {
        return Ok(None);
    }
    let requested = m.bind_options.as_ref().map(|bo| bo.propagation.as_str()).unwrap_or_default();
    match requested {
        "" => Ok(Some(Propagation::RSlave)),
        "rslave" | "rshared" => Ok(None),
        other => Err(MountError::DaemonRootPropagation {
            daemon_root: daemon_root.to_owned(),
            bind_source: m.source.clone(),
            propagation: other.to_owned(),
        }),
    }
}

/// The local driver's name rule, for named volumes that the local driver would create.
fn check_volume_name(m: &PlannedMount) -> Result<(), MountError> {
    match m.volume() {
        Some(VolumeMount { name: VolumeName::Named(name), driver, .. }) if volume_name::is_local_driver(driver) => {
            volume_name::validate(name).map_err(|source| MountError::VolumeName { name: name.clone(), source })
        }
        _ => Ok(()),
    }
}

fn labels_for(anonymous: bool, mut labels: BTreeMap<String, String>) -> BTreeMap<String, String> {
    if anonymous {
        labels.insert(ANONYMOUS_VOLUME_LABEL.to_owned(), String::new());
    }
    labels
}

fn volume_name_of(source: &str) -> VolumeName {
    if source.is_empty() { VolumeName::Anonymous } else { VolumeName::Named(source.to_owned()) }
}

fn volume_mount_point(destination: &str, name: &VolumeName, driver: &str, read_only: bool, mode: String) -> MountPoint {
    MountPoint {
        mount_type: MountType::Volume.as_str().to_owned(),
        name: match name {
            VolumeName::Named(n) => n.clone(),
            VolumeName::Anonymous => String::new(),
        },
        source: String::new(),
        destination: destination.to_owned(),
        driver: if driver.is_empty() { LOCAL_DRIVER.to_owned() } else { driver.to_owned() },
        mode,
        rw: !read_only,
        propagation: String::new(),
    }
}

fn bind_mount_point(destination: &str, b: &BindMount, read_only: bool, mode: &str) -> MountPoint {
    MountPoint {
        mount_type: MountType::Bind.as_str().to_owned(),
        name: String::new(),
        source: b.source.clone(),
        destination: destination.to_owned(),
        driver: String::new(),
        mode: mode.to_owned(),
        rw: !read_only,
        propagation: b.propagation.as_str().to_owned(),
    }
}

/// Turns a parsed `-v` into a plan entry.
fn from_bind(
    parsed: ParsedBind,
    destination: String,
    rslave: Option<Propagation>,
    api: ApiVersion,
    volume_driver: &str,
) -> PlannedMount {
    let ParsedBind { mount, mode } = parsed;
    let read_only = mount.read_only;
    match mount.mount_type {
        MountType::Bind => {
            let requested = mount.bind_options.as_ref().and_then(|bo| bo.propagation.parse().ok());
            let bind = BindMount {
                source: clean(&mount.source),
                create_if_missing: true,
                propagation: rslave.or(requested).unwrap_or_default(),
                non_recursive: false,
                read_only_non_recursive: read_only && !api.at_least(RECURSIVE_READ_ONLY),
                read_only_force_recursive: false,
            };
            let mount_point = bind_mount_point(&destination, &bind, read_only, &mode);
            PlannedMount {
                destination,
                kind: MountKind::Bind(bind),
                read_only,
                origin: MountOrigin::Bind,
                requested_mode: mode,
                mount_point: Some(mount_point),
            }
        }
        _ => {
            let name = volume_name_of(&mount.source);
            let anonymous = name == VolumeName::Anonymous;
            let nocopy = mount.volume_options.as_ref().is_some_and(|vo| vo.no_copy);
            let origin = MountOrigin::Bind;
            let mp_mode = docker_mode(&origin, &mode, volume_name::is_local_driver(volume_driver));
            let mount_point = volume_mount_point(&destination, &name, volume_driver, read_only, mp_mode);
            let volume = VolumeMount {
                name,
                driver: volume_driver.to_owned(),
                driver_opts: BTreeMap::new(),
                labels: labels_for(anonymous, BTreeMap::new()),
                nocopy,
                subpath: None,
            };
            PlannedMount {
                destination,
                kind: MountKind::Volume(volume),
                read_only,
                origin,
                requested_mode: mode,
                mount_point: Some(mount_point),
            }
        }
    }
}

/// Turns a validated, normalized `--mount` into a plan entry.
fn from_mount(
    spec: &Mount,
    destination: String,
    rslave: Option<Propagation>,
    api: ApiVersion,
) -> Result<PlannedMount, MountError> {
    let read_only = spec.read_only;
    let origin = MountOrigin::Mount;
    let planned = match &spec.mount_type {
        MountType::Bind => {
            let bo = spec.bind_options.clone().unwrap_or_default();
            let bind = BindMount {
                source: clean(&spec.source),
                create_if_missing: bo.create_mountpoint,
                propagation: rslave.or_else(|| bo.propagation.parse().ok()).unwrap_or_default(),
                non_recursive: bo.non_recursive,
                read_only_non_recursive: bo.read_only_non_recursive
                    || (read_only && !api.at_least(RECURSIVE_READ_ONLY)),
                read_only_force_recursive: bo.read_only_force_recursive,
            };
            let mount_point = bind_mount_point(&destination, &bind, read_only, "");
            PlannedMount {
                destination,
                kind: MountKind::Bind(bind),
                read_only,
                origin,
                requested_mode: String::new(),
                mount_point: Some(mount_point),
            }
        }
        MountType::Volume => {
            let vo = spec.volume_options.clone().unwrap_or_default();
            let driver_config = vo.driver_config.unwrap_or_default();
            let name = volume_name_of(&spec.source);
            let anonymous = name == VolumeName::Anonymous;
            let mp_mode = docker_mode(&origin, "", volume_name::is_local_driver(&driver_config.name));
            let mount_point = volume_mount_point(&destination, &name, &driver_config.name, read_only, mp_mode);
            let volume = VolumeMount {
                name,
                driver: driver_config.name,
                driver_opts: driver_config.options,
                labels: labels_for(anonymous, vo.labels),
                nocopy: vo.no_copy,
                subpath: Some(vo.subpath).filter(|s| !s.is_empty()),
            };
            PlannedMount {
                destination,
                kind: MountKind::Volume(volume),
                read_only,
                origin,
                requested_mode: String::new(),
                mount_point: Some(mount_point),
            }
        }
        MountType::Tmpfs => {
            let opts = spec.tmpfs_options.as_ref();
            let options = tmpfs::options_from_mount(opts, read_only).map_err(|problem| {
                MountError::InvalidMountConfig { mount_type: spec.mount_type.as_str().to_owned(), problem }
            })?;
            let tmpfs = TmpfsMount {
                size_bytes: opts.and_then(|o| u64::try_from(o.size_bytes).ok()).filter(|&n| n > 0),
                mode: opts.map(|o| o.mode).filter(|&m| m != 0),
                options,
            };
            let mount_point = MountPoint {
                mount_type: MountType::Tmpfs.as_str().to_owned(),
                destination: destination.clone(),
                rw: !read_only,
                ..Default::default()
            };
            PlannedMount {
                destination,
                kind: MountKind::Tmpfs(tmpfs),
                read_only,
                origin,
                requested_mode: String::new(),
                mount_point: Some(mount_point),
            }
        }
        MountType::Image => {
            let image = ImageMount {
                image: spec.source.clone(),
                subpath: spec.image_options.as_ref().map(|o| o.subpath.clone()).filter(|s| !s.is_empty()),
            };
            let mount_point = MountPoint {
                mount_type: MountType::Image.as_str().to_owned(),
                name: spec.source.clone(),
                destination: destination.clone(),
                rw: false,
                propagation: Propagation::default().as_str().to_owned(),
                ..Default::default()
            };
            PlannedMount {
                destination,
                kind: MountKind::Image(image),
                read_only: true,
                origin,
                requested_mode: String::new(),
                mount_point: Some(mount_point),
            }
        }
        MountType::Other(_) | MountType::Unset => {
            // Unreachable after validation; answer as validation would rather than panic.
            return Err(MountError::InvalidMountConfig {
                mount_type: spec.mount_type.as_str().to_owned(),
                problem: ConfigProblem::UnknownType,
            });
        }
    };
    Ok(planned)
}

/// A `--tmpfs` entry. Not listed by `docker inspect`.
fn from_tmpfs(destination: &str, data: &str) -> PlannedMount {
    let options = tmpfs::split_data(data);
    let last_value = |key: &str| options.iter().rev().find_map(|o| o.strip_prefix(key)?.strip_prefix('='));
    let read_only = options.iter().rev().find(|o| *o == "ro" || *o == "rw").is_some_and(|o| o == "ro");
    let tmpfs = TmpfsMount {
        size_bytes: last_value("size").and_then(tmpfs::parse_size),
        mode: last_value("mode").and_then(tmpfs::parse_mode),
        options: options.clone(),
    };
    PlannedMount {
        destination: clean(destination),
        kind: MountKind::Tmpfs(tmpfs),
        read_only,
        origin: MountOrigin::Tmpfs,
        requested_mode: String::new(),
        mount_point: None,
    }
}

/// An anonymous volume for `Config.Volumes` or an image `VOLUME`.
fn anonymous_volume(destination: String, origin: MountOrigin, volume_driver: &str) -> PlannedMount {
    let mount_point = volume_mount_point(&destination, &VolumeName::Anonymous, volume_driver, false, String::new());
    let volume = VolumeMount {
        name: VolumeName::Anonymous,
        driver: volume_driver.to_owned(),
        driver_opts: BTreeMap::new(),
        labels: labels_for(true, BTreeMap::new()),
        nocopy: false,
        subpath: None,
    };
    PlannedMount {
        destination,
        kind: MountKind::Volume(volume),
        read_only: false,
        origin,
        requested_mode: String::new(),
        mount_point: Some(mount_point),
    }
}

/// A mount of another container as `--volumes-from` hands it over: same source, read-only if
/// either side says so, `Mode` cleared, never copied up again, bind sources created if missing
/// (Docker does not carry `--mount`'s refusal over). `--tmpfs` mounts are not inherited.
fn inherit(theirs: PlannedMount, from: &VolumesFrom) -> Option<PlannedMount> {
    let mut mount_point = theirs.mount_point?;
    let read_only = theirs.read_only || from.read_only;
    let kind = match theirs.kind {
        MountKind::Bind(b) => MountKind::Bind(BindMount { create_if_missing: true, ..b }),
        MountKind::Volume(v) => {
            let name = if mount_point.name.is_empty() { v.name } else { VolumeName::Named(mount_point.name.clone()) };
            let driver = if mount_point.driver.is_empty() { v.driver } else { mount_point.driver.clone() };
            MountKind::Volume(VolumeMount { name, driver, nocopy: true, ..v })
        }
        other @ (MountKind::Tmpfs(_) | MountKind::Image(_)) => other,
    };
    mount_point.mode = String::new();
    mount_point.rw = !read_only;
    Some(PlannedMount {
        destination: theirs.destination,
        kind,
        read_only,
        origin: MountOrigin::VolumesFrom { container: from.container.clone() },
        requested_mode: String::new(),
        mount_point: Some(mount_point),
    })
}

#[cfg(test)]
mod tests;
