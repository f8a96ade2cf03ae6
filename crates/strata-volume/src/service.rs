//! The volume service: create, inspect, list and remove, with directories and rows kept in
//! step.
//!
//! Ordering rule (what makes a crash at any instant repairable): a volume's directories are made
//! *before* its row is committed, and deleted only *after* its row is gone and its removal
//! recorded. Each operation holds the lock of its volume's name (never a lock over all volumes)
//! and the store's mutex only for the single short transactions it runs.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use strata_store::Store;

use crate::crash;
use crate::db::{self, DATA_DIR, Quota, Volume};
use crate::error::{Op, VolumeError};
use crate::filter::{ANONYMOUS_LABEL, ListFilter};
use crate::fsops;
use crate::locks::{LOCK_TIMEOUT, NameGuard, NameLocks};
use crate::mount::{KernelMounter, Mounter};
use crate::name;
use crate::options::{self, LocalOptions};
use crate::quota::{DATA_DIR_MODE, QuotaControl, QuotaKind, SystemQuota};

/// The directory of volumes under the data-root.
pub const VOLUMES_DIR: &str = "volumes";
/// Where pruned volumes wait for the background thread that deletes them, and the remains of
/// volumes whose deletion failed wait for the next start-up repair. Everything in it is garbage.
pub const TRASH_DIR: &str = ".trash";
/// The mode of `<data-root>/volumes` and of each `<volumes>/<name>` (as Docker's): others may
/// traverse to `_data` but not list the volumes.
pub const ROOT_MODE: u32 = 0o701;
/// The only driver strata has.
pub const LOCAL_DRIVER: &str = "local";
/// The scope of local volumes.
pub const LOCAL_SCOPE: &str = "local";
/// The first project id strata hands out for size-limited volumes; ids below are left to other
/// users of project quotas on the same filesystem.
pub const PROJECT_ID_BASE: u32 = 0x5354_0000;

/// A request to create a volume (`POST /volumes/create`, or a container's volume).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateRequest {
    /// `None` or empty: an anonymous volume with a generated 64-hex name.
    pub name: Option<String>,
    /// `None` or empty: `local`.
    pub driver: Option<String>,
    pub options: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
}

/// A request after the checks that need no lock: its final name.
#[derive(Debug, Clone)]
pub(crate) struct Named {
    pub name: String,
    pub driver: String,
    pub options: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
}

/// A new volume's validated plan, ready to be made on disk.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub volume: Volume,
}

/// The volumes of one data-root.
#[derive(Debug)]
pub struct Volumes {
    pub(crate) store: Arc<Store>,
    pub(crate) root: PathBuf,
    /// `root`, open: directories are made relative to it (no path walk per call).
    root_fd: OwnedFd,
    /// Whether the process umask would strip bits of the modes strata sets, so that a `chmod`
    /// must follow each `mkdir`.
    umask_interferes: bool,
    pub(crate) trash: PathBuf,
    pub(crate) locks: NameLocks,
    pub(crate) mounter: Arc<dyn Mounter>,
    pub(crate) quota: Arc<dyn QuotaControl>,
    next_project_id: Mutex<u32>,
    pub(crate) prune_running: AtomicBool,
    /// Pauses a volume's writers for a consistent backup ([`crate::freeze`]).
    pub(crate) freezer: std::sync::RwLock<Arc<dyn crate::freeze::WriterFreeze>>,
    /// Remembered sizes of volumes without a quota (see [`crate::sizes`]).
    pub(crate) sizes: crate::sizes::SizeCache,
}

/// 64 lowercase hex characters of fresh randomness (an anonymous volume's name).
pub fn random_name() -> String {
    strata_sys::random::hex_id()
}

/// Seconds since the epoch, now.
pub(crate) fn now_secs() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// The process umask, from `/proc/self/status` (reading it with umask(2) would change it).
fn process_umask() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
    u32::from_str_radix(line.trim(), 8).ok()
}

fn is_exists(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::AlreadyExists
}

impl Volumes {
    /// The volume service of the data-root `data_root`, with the kernel's mounts and quotas.
    /// Creates `<data_root>/volumes` (mode 0701) if needed. Call [`Volumes::reconcile`] before
    /// serving requests.
    pub fn open(store: Arc<Store>, data_root: &Path) -> Result<Volumes, VolumeError> {
        Volumes::with_backends(store, data_root, Arc::new(KernelMounter), Arc::new(SystemQuota))
    }

    /// As [`Volumes::open`], with the given mount and quota implementations (tests use fakes).
    pub fn with_backends(
        store: Arc<Store>,
        data_root: &Path,
        mounter: Arc<dyn Mounter>,
        quota: Arc<dyn QuotaControl>,
    ) -> Result<Volumes, VolumeError> {
        let root = data_root.join(VOLUMES_DIR);
        let trash = root.join(TRASH_DIR);
        for dir in [&root, &trash] {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(ROOT_MODE)
                .create(dir)
                .map_err(|e| VolumeError::io(Op::Reconcile, VOLUMES_DIR, "cannot create", dir.clone(), e))?;
        }
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(ROOT_MODE))
            .map_err(|e| VolumeError::io(Op::Reconcile, VOLUMES_DIR, "cannot set the mode of", root.clone(), e))?;
        let root_fd = rustix::fs::open(
            &root,
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| VolumeError::io(Op::Reconcile, VOLUMES_DIR, "cannot open", root.clone(), e.into()))?;
        let umask_interferes = process_umask().is_none_or(|m| m & (ROOT_MODE | DATA_DIR_MODE) != 0);
        let max = db::max_project_id(&store.conn())?;
        let next = max.map_or(PROJECT_ID_BASE, |m| m.max(PROJECT_ID_BASE - 1) + 1);
        Ok(Volumes {
            store,
            root,
            root_fd,
            umask_interferes,
            trash,
            locks: NameLocks::default(),
            mounter,
            quota,
            next_project_id: Mutex::new(next),
            prune_running: AtomicBool::new(false),
            freezer: std::sync::RwLock::new(Arc::new(crate::freeze::NoWriters)),
            sizes: Default::default(),
        })
    }

    /// `<data-root>/volumes`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The metadata store the volumes live in.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// `<volumes>/<name>`; `name` must have been validated.
    pub(crate) fn dir_of(&self, name: &str) -> PathBuf {
        debug_assert!(name::validate(name).is_ok(), "unvalidated volume name {name:?}");
        self.root.join(name)
    }

    pub(crate) fn lock(&self, op: Op, name: &str) -> Result<NameGuard<'_>, VolumeError> {
        self.locks.lock(name, LOCK_TIMEOUT).ok_or_else(|| VolumeError::Busy {
            op,
            name: name.to_owned(),
            secs: LOCK_TIMEOUT.as_secs(),
        })
    }

    fn allocate_project_id(&self) -> u32 {
        let mut next = self.next_project_id.lock().unwrap_or_else(|p| p.into_inner());
        let id = *next;
        *next = next.wrapping_add(1).max(PROJECT_ID_BASE);
        id
    }

    /// Names a request: a generated name and the anonymous label when it has none; the name
    /// checked against Docker's rule otherwise (for the local driver).
    pub(crate) fn name_request(&self, req: CreateRequest) -> Result<Named, VolumeError> {
        let mut labels = req.labels;
        let driver = req.driver.filter(|d| !d.is_empty()).unwrap_or_else(|| LOCAL_DRIVER.to_owned());
        let name = match req.name.filter(|n| !n.is_empty()) {
            // Names are the local driver's rule (a plugin has its own); a request for another
            // driver fails with "plugin not found" before anything touches the disk.
            Some(name) if driver == LOCAL_DRIVER => {
                name::validate(&name).map_err(|source| VolumeError::InvalidName { name: name.clone(), source })?;
                name
            }
            Some(name) => name,
            None => {
                labels.insert(ANONYMOUS_LABEL.to_owned(), String::new());
                random_name()
            }
        };
        Ok(Named { name, driver, options: req.options, labels })
    }

    /// Checks a request for a volume that does not exist yet (driver, labels, options, quota
    /// support) and makes its plan. Runs under the name's lock.
    pub(crate) fn plan_new(&self, req: &Named) -> Result<Plan, VolumeError> {
        let name = &req.name;
        if req.driver != LOCAL_DRIVER {
            return Err(VolumeError::PluginNotFound { name: name.clone(), driver: req.driver.clone() });
        }
        if req.labels.contains_key("") {
            let label = format!("={}", req.labels.get("").map(String::as_str).unwrap_or(""));
            return Err(VolumeError::EmptyLabelKey { name: name.clone(), label });
        }
        let parsed: LocalOptions =
            options::parse(&req.options).map_err(|source| VolumeError::InvalidOption { name: name.clone(), source })?;
        let quota = match parsed.size_bytes {
            Some(limit) => {
                let kind =
                    self.quota.probe(&self.root).map_err(|why| VolumeError::NoQuota { name: name.clone(), why })?;
                let project_id = if kind == QuotaKind::Project { self.allocate_project_id() } else { 0 };
                Some(Quota { kind, project_id, limit_bytes: limit })
            }
            None => None,
        };
        Ok(Plan {
            volume: Volume {
                name: name.clone(),
                driver: req.driver.clone(),
                labels: req.labels.clone(),
                options: req.options.clone(),
                created_at: now_secs(),
                mountpoint: self.dir_of(name).join(DATA_DIR),
                quota,
            },
        })
    }

    /// Makes the directories of a planned volume. Returns whether `<volumes>/<name>` was made
    /// here (so a failure can undo exactly that). An existing directory without a row is taken
    /// over as it is: its data is never deleted.
    pub(crate) fn make_dirs(&self, plan: &Plan) -> Result<bool, VolumeError> {
        let v = &plan.volume;
        let dir = self.dir_of(&v.name);
        let made = match self.mkdir(&v.name, ROOT_MODE) {
            Ok(()) => true,
            Err(e) if is_exists(&e) => false,
            Err(e) => {
                return Err(VolumeError::io(Op::Create, &v.name, "error while creating volume root path", dir, e));
            }
        };
        let result = self.make_data_dir(v);
        if result.is_err() && made {
            let _ = fsops::remove_tree(&dir);
        }
        result.map(|()| made)
    }

    /// `mkdir` of `rel` (below the volumes directory) with exactly `mode`.
    fn mkdir(&self, rel: &str, mode: u32) -> io::Result<()> {
        rustix::fs::mkdirat(&self.root_fd, rel, rustix::fs::Mode::from_raw_mode(mode))?;
        if self.umask_interferes {
            std::fs::set_permissions(self.root.join(rel), std::fs::Permissions::from_mode(mode))?;
        }
        Ok(())
    }

    /// Makes `_data` (with its size limit) if it is missing.
    pub(crate) fn make_data_dir(&self, v: &Volume) -> Result<(), VolumeError> {
        let data = &v.mountpoint;
        match v.quota {
            Some(q) => {
                if data.exists() {
                    // Left by an interrupted create: a limit can only be applied to an empty
                    // directory that is made for it.
                    std::fs::remove_dir(data).map_err(|e| {
                        VolumeError::io(Op::Create, &v.name, "cannot apply the size limit: not empty:", data.clone(), e)
                    })?;
                }
                self.quota.make_limited_dir(q.kind, data, q.project_id, q.limit_bytes).map_err(|source| {
                    let _ = fsops::remove_tree(data);
                    VolumeError::Quota { op: Op::Create, name: v.name.clone(), path: data.clone(), source }
                })
            }
            None => match self.mkdir(&format!("{}/{DATA_DIR}", v.name), DATA_DIR_MODE) {
                Ok(()) => Ok(()),
                Err(e) if is_exists(&e) => Ok(()),
                Err(e) => {
                    Err(VolumeError::io(Op::Create, &v.name, "error while creating volume path", data.clone(), e))
                }
            },
        }
    }

    /// Creates a volume, or returns the existing one of that name (its options and labels stay
    /// as they are, as in Docker). An existing volume of another driver is a conflict.
    pub fn create(&self, req: CreateRequest) -> Result<Volume, VolumeError> {
        let named = self.name_request(req)?;
        let _guard = self.lock(Op::Create, &named.name)?;
        self.create_locked(named)
    }

    /// [`Volumes::create`] for callers that must not wait (an async thread): `None` when the
    /// create could block — its name is locked by another operation, or it asks for a size
    /// limit (quota calls) — so the caller runs [`Volumes::create`] on a blocking thread instead.
    /// Otherwise the create is a few local syscalls and one small transaction, done at once.
    pub fn create_now(&self, req: &CreateRequest) -> Option<Result<Volume, VolumeError>> {
        if req.options.contains_key(options::OPT_SIZE) {
            return None;
        }
        let named = match self.name_request(req.clone()) {
            Ok(n) => n,
            Err(e) => return Some(Err(e)),
        };
        let guard = self.locks.try_lock_free([named.name.clone()]);
        if guard.names().is_empty() {
            return None;
        }
        Some(self.create_locked(named))
    }

    /// The create of a named request whose name lock is held.
    fn create_locked(&self, named: Named) -> Result<Volume, VolumeError> {
        let existing = || db::get(&self.store.conn(), &self.root, &named.name);
        // A size limit is applied while making `_data`, which must never happen to an existing
        // volume: look first. Otherwise the common case (a new volume) is made directly and the
        // existence check happens in the transaction that inserts the row.
        if named.options.contains_key(options::OPT_SIZE)
            && let Some(v) = existing()?
        {
            return check_same_driver(v, &named);
        }
        let plan = match self.plan_new(&named) {
            Ok(plan) => plan,
            // Options are checked for new volumes only: an existing one is returned as it is.
            Err(e) => return existing()?.map_or(Err(e), |v| check_same_driver(v, &named)),
        };
        let made = self.make_dirs(&plan)?;
        crash::point(crash::CREATE_AFTER_MKDIR);
        let inserted = self.store.write(|tx| -> Result<Option<Volume>, VolumeError> {
            if db::insert_new(tx, &plan.volume)? {
                return Ok(None);
            }
            // The row that conflicted, read in the same transaction.
            match db::get(tx, &self.root, &plan.volume.name)? {
                Some(v) => Ok(Some(v)),
                None => Err(VolumeError::Corrupt {
                    op: Op::Create,
                    name: plan.volume.name.clone(),
                    what: "row",
                    why: "it conflicts on insert but cannot be read".into(),
                }),
            }
        });
        match inserted {
            // The volume existed (directories made here replace ones deleted behind our back).
            Ok(Some(v)) => check_same_driver(v, &named),
            Ok(None) => {
                crash::point(crash::CREATE_AFTER_COMMIT);
                Ok(plan.volume)
            }
            Err(e) => {
                if made {
                    let _ = fsops::remove_tree(&self.dir_of(&plan.volume.name));
                }
                Err(e)
            }
        }
    }

    /// The volume named `name`.
    pub fn inspect(&self, name: &str) -> Result<Volume, VolumeError> {
        db::get(&self.store.conn(), &self.root, name)?.ok_or_else(|| VolumeError::not_found(Op::Get, name))
    }

    /// The volumes `filter` selects, ordered by name.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<Volume>, VolumeError> {
        let all = db::list(&self.store.conn(), &self.root)?;
        Ok(all
            .into_iter()
            .filter(|(v, refs)| filter.matches(&v.name, &v.driver, &v.labels, *refs))
            .map(|(v, _)| v)
            .collect())
    }

    /// Calls `f` with every volume `filter` selects, ordered by name, borrowed from the database
    /// (the fast path for listing thousands of volumes). `f` runs while the store is locked: it
    /// must only format or copy.
    pub fn visit(&self, filter: &ListFilter, mut f: impl FnMut(&db::VolumeRecord<'_>)) -> Result<(), VolumeError> {
        let conn = self.store.conn();
        let no_labels = BTreeMap::new();
        let mut bad = None;
        db::visit(&conn, &mut |rec| {
            let labels = if filter.labels.is_empty() {
                None
            } else {
                match serde_json::from_str::<BTreeMap<String, String>>(rec.labels_json) {
                    Ok(l) => Some(l),
                    Err(e) => {
                        bad.get_or_insert_with(|| (rec.name.to_owned(), e.to_string()));
                        return;
                    }
                }
            };
            if filter.matches(rec.name, rec.driver, labels.as_ref().unwrap_or(&no_labels), rec.ref_count) {
                f(rec);
            }
        })?;
        match bad {
            Some((name, why)) => Err(VolumeError::Corrupt { op: Op::Get, name, what: "labels", why }),
            None => Ok(()),
        }
    }

    /// The holders (container ids) referencing `name`.
    pub fn holders(&self, name: &str) -> Result<Vec<String>, VolumeError> {
        Ok(db::holders(&self.store.conn(), name)?)
    }

    /// Removes a volume and its data. A volume referenced by a holder (or mounted) is in use
    /// and stays — `force` does not change that (as in Docker); `force` only makes a missing
    /// volume a success.
    pub fn remove(&self, name: &str, force: bool) -> Result<(), VolumeError> {
        let _guard = self.lock(Op::Remove, name)?;
        let removed = self.store.write(|tx| -> Result<Option<Volume>, VolumeError> {
            let Some(v) = db::get(tx, &self.root, name)? else { return Ok(None) };
            let mut users = db::holders(tx, name)?;
            for m in db::mount_holders(tx, name)? {
                if !users.contains(&m) {
                    users.push(m);
                }
            }
            if !users.is_empty() {
                return Err(VolumeError::InUse { name: name.to_owned(), holders: users });
            }
            db::delete_for_removal(tx, name, "")?;
            Ok(Some(v))
        })?;
        let Some(v) = removed else {
            return if force { Ok(()) } else { Err(VolumeError::not_found(Op::Get, name)) };
        };
        crash::point(crash::REMOVE_AFTER_COMMIT);
        self.sizes.forget(name);
        if self.dispose(&v).1 {
            self.store.write(|tx| db::finish_removals(tx, std::slice::from_ref(&v.name)))?;
        }
        Ok(())
    }

    /// Deletes the directory of a volume whose row is gone, returning the apparent size of what
    /// it held (measured first, as Docker reports reclaimed space) and whether all of it is gone.
    /// A failure moves what is left to the trash (so the name is free again) and leaves the
    /// removal recorded for the next start-up repair.
    pub(crate) fn dispose(&self, v: &Volume) -> (u64, bool) {
        // The common case, an empty volume, is two `rmdir`s; they fail (and the full walk below
        // takes over) when anything is in it or mounted on it.
        if v.quota.is_none() {
            let rmdir = |rel: &str| match rustix::fs::unlinkat(&self.root_fd, rel, rustix::fs::AtFlags::REMOVEDIR) {
                Ok(()) | Err(rustix::io::Errno::NOENT) => true,
                Err(_) => false,
            };
            if rmdir(&format!("{}/{DATA_DIR}", v.name)) {
                crash::point(crash::REMOVE_AFTER_DATA);
                if rmdir(&v.name) {
                    return (0, true);
                }
            }
        }
        let dir = self.dir_of(&v.name);
        // A mount left on `_data` (a crash between mount and record) must go first: deleting
        // into it would delete the mounted filesystem's files.
        if self.mounter.is_mounted(&v.mountpoint).unwrap_or(false) {
            let _ = self.mounter.unmount(&v.mountpoint);
        }
        let size = fsops::tree_size(&v.mountpoint).unwrap_or(0);
        let result = fsops::remove_tree(&v.mountpoint).and_then(|()| {
            crash::point(crash::REMOVE_AFTER_DATA);
            fsops::remove_tree(&dir)
        });
        if let Some(q) = v.quota
            && let Err(e) = self.quota.release(q.kind, &self.root, q.project_id)
        {
            tracing::warn!(volume = %v.name, error = %e, "cannot drop the size limit of a removed volume");
        }
        let Err(e) = result else { return (size, true) };
        let trash_name = format!("{}-{}", v.name, &random_name()[..12]);
        let trash = self.trash.join(&trash_name);
        tracing::warn!(volume = %v.name, error = %e, trash = %trash.display(),
            "cannot delete all of a removed volume; moving the rest aside for the next start to delete");
        match std::fs::rename(&dir, &trash) {
            Ok(()) => {
                if let Err(e) = self.store.write(|tx| db::delete_for_removal(tx, &v.name, &trash_name)) {
                    tracing::error!(volume = %v.name, error = %e, "cannot record where a removed volume was moved");
                }
            }
            Err(e) => tracing::error!(volume = %v.name, error = %e, "cannot move a removed volume aside"),
        }
        (size, false)
    }

    /// Number of volumes (for `info`).
    pub fn count(&self) -> Result<u64, VolumeError> {
        let n: i64 = self.store.conn().query_row("SELECT count(*) FROM volumes", [], |r| r.get(0))?;
        Ok(n as u64)
    }
}

/// An existing volume returned for a create of the same name, unless the drivers differ.
pub(crate) fn check_same_driver(existing: Volume, req: &Named) -> Result<Volume, VolumeError> {
    if existing.driver != req.driver {
        return Err(VolumeError::NameConflict { name: req.name.clone(), existing: existing.driver });
    }
    Ok(existing)
}
