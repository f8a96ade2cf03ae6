//! Service-level tests: a real store and real directories in a temporary data-root, with the
//! recording mounter and a fake quota controller (no root needed).

use std::collections::BTreeMap;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use strata_store::Store;

use crate::mount::RecordingMounter;
use crate::quota::{QuotaControl, QuotaKind};
use crate::*;

/// Quotas as a test wants them: supported (as `kind`) or not (with `why`).
#[derive(Debug)]
struct FakeQuota {
    support: Result<QuotaKind, String>,
    limits: Mutex<BTreeMap<u32, u64>>,
}

impl FakeQuota {
    fn new(support: Result<QuotaKind, String>) -> FakeQuota {
        FakeQuota { support, limits: Mutex::new(BTreeMap::new()) }
    }
}

impl QuotaControl for FakeQuota {
    fn probe(&self, _root: &Path) -> Result<QuotaKind, String> {
        self.support.clone()
    }
    fn make_limited_dir(&self, _k: QuotaKind, data_dir: &Path, id: u32, limit: u64) -> io::Result<()> {
        std::fs::create_dir(data_dir)?;
        self.limits.lock().expect("lock").insert(id, limit);
        Ok(())
    }
    fn usage(&self, _k: QuotaKind, _d: &Path, id: u32) -> io::Result<u64> {
        self.limits.lock().expect("lock").get(&id).map(|_| 4096).ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
    fn release(&self, _k: QuotaKind, _root: &Path, id: u32) -> io::Result<()> {
        self.limits.lock().expect("lock").remove(&id);
        Ok(())
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    store: Arc<Store>,
    mounter: Arc<RecordingMounter>,
    quota: Arc<FakeQuota>,
    volumes: Volumes,
}

fn fixture_with(support: Result<QuotaKind, String>) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(&dir.path().join("strata.db"), &[MIGRATIONS]).expect("store"));
    let mounter = Arc::new(RecordingMounter::new());
    let quota = Arc::new(FakeQuota::new(support));
    let volumes = Volumes::with_backends(store.clone(), dir.path(), mounter.clone(), quota.clone()).expect("volumes");
    Fixture { dir, store, mounter, quota, volumes }
}

fn fixture() -> Fixture {
    fixture_with(Err("the test filesystem has no quotas".into()))
}

impl Fixture {
    /// A new service on the same data-root and database (a daemon restart).
    fn restart(&mut self) {
        self.volumes =
            Volumes::with_backends(self.store.clone(), self.dir.path(), self.mounter.clone(), self.quota.clone())
                .expect("volumes");
    }
}

fn req(name: &str) -> CreateRequest {
    CreateRequest { name: Some(name.into()), ..Default::default() }
}

fn with_opts(name: &str, pairs: &[(&str, &str)]) -> CreateRequest {
    CreateRequest {
        name: Some(name.into()),
        options: pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(),
        ..Default::default()
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("stat").permissions().mode() & 0o7777
}

fn names(list: Vec<Volume>) -> Vec<String> {
    list.into_iter().map(|v| v.name).collect()
}

/// References `name` from `holder` the way the container service does.
fn reference(f: &Fixture, name: &str, holder: &str) {
    let p = f.volumes.prepare(vec![req(name)]).expect("prepare");
    f.store.write(|tx| p.commit_in(tx, holder).map(|_| ())).expect("commit");
}

#[test]
fn create_makes_the_directories_and_the_row() {
    let f = fixture();
    let v = f.volumes.create(req("pgdata")).expect("create");
    assert_eq!(v.mountpoint, f.dir.path().join("volumes/pgdata/_data"));
    assert_eq!(mode(&f.dir.path().join("volumes")), 0o701);
    assert_eq!(mode(&f.dir.path().join("volumes/pgdata")), 0o701);
    assert_eq!(mode(&v.mountpoint), 0o755);
    assert_eq!(v.driver, "local");
    assert!(v.labels.is_empty() && v.options.is_empty());
    assert!((service::now_secs() - v.created_at).abs() < 5);
    assert_eq!(f.volumes.inspect("pgdata").expect("inspect"), v);
    assert_eq!(names(f.volumes.list(&ListFilter::default()).expect("list")), vec!["pgdata"]);
}

#[test]
fn creating_an_existing_name_returns_it_unchanged() {
    let f = fixture();
    let mut first = req("data");
    first.labels.insert("a".into(), "1".into());
    let v1 = f.volumes.create(first).expect("create");
    let mut again = with_opts("data", &[("bogus", "x")]);
    again.labels.insert("b".into(), "2".into());
    let v2 = f.volumes.create(again).expect("re-create");
    assert_eq!(v1, v2, "new options and labels are ignored, even invalid ones");
    let mut other = req("data");
    other.driver = Some("nfsplugin".into());
    let err = f.volumes.create(other).expect_err("other driver");
    assert_eq!(err.to_string(), "create data: driver 'local' already has volume 'data': volume name must be unique");
}

#[test]
fn anonymous_volumes_get_a_generated_name_and_the_label() {
    let f = fixture();
    let v = f.volumes.create(CreateRequest::default()).expect("create");
    assert!(name::looks_generated(&v.name), "{}", v.name);
    assert_eq!(v.labels.get(ANONYMOUS_LABEL).map(String::as_str), Some(""));
    assert!(v.mountpoint.is_dir());
}

#[test]
fn bad_requests_are_refused_with_docker_texts_and_leave_nothing() {
    let f = fixture();
    let mut other_driver = req("x1");
    other_driver.driver = Some("other".into());
    let mut empty_label = req("x1");
    empty_label.labels.insert(String::new(), "v".into());
    let cases: Vec<(CreateRequest, &str)> = vec![
        (req("a"), "create a: volume name is too short, names should be at least two alphanumeric characters"),
        (req("../etc"), "create ../etc: \"../etc\" includes invalid characters for a local volume name"),
        (req(".."), "create ..: \"..\" includes invalid characters"),
        (req("x\0y"), "create x\0y: \"x\\x00y\" includes invalid characters"),
        (req(&"a".repeat(300)), "volume name is too long, names can be at most 255 characters"),
        (other_driver, "create x1: error looking up volume plugin other: plugin \"other\" not found"),
        (empty_label, "create x1: invalid label \"=v\": label names must not be empty"),
        (with_opts("x1", &[("foo", "1")]), "create x1: invalid option: \"foo\""),
        (with_opts("x1", &[("type", "tmpfs")]), "create x1: missing required option: \"device\""),
        (with_opts("x1", &[("size", "abc")]), "create x1: invalid size: 'abc'"),
        (
            with_opts("x1", &[("size", "10m")]),
            "create x1: quota size requested but no quota support: the test filesystem has no quotas",
        ),
    ];
    for (request, want) in cases {
        let err = f.volumes.create(request.clone()).expect_err("must fail");
        assert!(err.to_string().starts_with(want) || err.to_string().contains(want), "{request:?}: {err}");
    }
    let entries: Vec<_> =
        std::fs::read_dir(f.volumes.root()).expect("read").map(|e| e.expect("entry").file_name()).collect();
    assert_eq!(entries, vec![std::ffi::OsString::from(".trash")], "no half-created volume is left");
    assert!(f.volumes.list(&ListFilter::default()).expect("list").is_empty());
}

#[test]
fn remove_deletes_data_and_refuses_volumes_in_use() {
    let f = fixture();
    let v = f.volumes.create(req("work")).expect("create");
    std::fs::write(v.mountpoint.join("file"), b"data").expect("write");
    reference(&f, "work", "c1");
    reference(&f, "work", "c2");
    for force in [false, true] {
        let err = f.volumes.remove("work", force).expect_err("in use");
        assert_eq!(err.to_string(), "remove work: volume is in use - [c1, c2]");
    }
    f.store.write(|tx| release_holder_in(tx, "c1").map(|_| ())).expect("release");
    f.store.write(|tx| remove_reference_in(tx, "work", "c2").map(|_| ())).expect("release");
    f.volumes.remove("work", false).expect("remove");
    assert!(!f.dir.path().join("volumes/work").exists());
    let err = f.volumes.remove("work", false).expect_err("gone");
    assert_eq!(err.to_string(), "get work: no such volume");
    f.volumes.remove("work", true).expect("force on a missing volume is fine");
    assert_eq!(f.volumes.inspect("work").expect_err("gone").to_string(), "get work: no such volume");
}

#[test]
fn prepared_volumes_commit_with_the_holder_or_leave_nothing() {
    let f = fixture();
    f.volumes.create(req("shared")).expect("existing");
    {
        let p = f.volumes.prepare(vec![req("shared"), req("fresh"), CreateRequest::default()]).expect("prepare");
        let names_before = p.names().iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(names_before.len(), 3);
        let anon = names_before[2].clone();
        assert!(f.dir.path().join("volumes/fresh/_data").is_dir(), "directories exist before the transaction");
        let failed: Result<(), VolumeError> = f.store.write(|tx| {
            p.commit_in(tx, "c1")?;
            Err(VolumeError::InvalidFilter("the container's own insert failed".into()))
        });
        assert!(failed.is_err());
        drop(p);
        assert!(!f.dir.path().join("volumes/fresh").exists(), "rolled back: the new directory is gone");
        assert!(!f.dir.path().join("volumes").join(&anon).exists());
        assert!(f.dir.path().join("volumes/shared/_data").is_dir(), "an existing volume is never touched");
    }
    let p = f.volumes.prepare(vec![req("shared"), req("fresh"), req("fresh")]).expect("prepare");
    let vols = f.store.write(|tx| p.commit_in(tx, "c1")).expect("commit");
    drop(p);
    assert_eq!(names(vols), vec!["shared", "fresh"]);
    assert_eq!(f.volumes.holders("fresh").expect("holders"), vec!["c1"]);
    assert!(f.dir.path().join("volumes/fresh/_data").is_dir());
    let dangling = ListFilter { dangling: Some(true), ..Default::default() };
    assert!(f.volumes.list(&dangling).expect("list").is_empty());
    f.store.write(|tx| add_reference_in(tx, "shared", "c2")).expect("reference");
    let err = f.store.write(|tx| add_reference_in(tx, "nosuch", "c2")).expect_err("missing");
    assert_eq!(err.to_string(), "get nosuch: no such volume");
    assert_eq!(f.store.write(|tx| release_holder_in(tx, "c1")).expect("release"), vec!["fresh", "shared"]);
    assert_eq!(names(f.volumes.list(&dangling).expect("list")), vec!["fresh"]);
}

#[test]
fn prune_follows_the_api_142_rules() {
    let f = fixture();
    let anon = f.volumes.create(CreateRequest::default()).expect("anon");
    std::fs::write(anon.mountpoint.join("f"), vec![0u8; 1000]).expect("write");
    let used_anon = f.volumes.create(CreateRequest::default()).expect("anon2");
    reference(&f, &used_anon.name, "c1");
    f.volumes.create(req("named")).expect("named");
    let mut labelled = req("keepme");
    labelled.labels.insert("keep".into(), "yes".into());
    f.volumes.create(labelled).expect("labelled");
    f.volumes.create(with_opts("tmp", &[("type", "tmpfs"), ("device", "tmpfs")])).expect("opts");

    let report = f.volumes.prune(&PruneFilter::default()).expect("prune");
    assert_eq!(report.deleted, vec![anon.name.clone()]);
    assert_eq!(report.space_reclaimed, 1000);
    assert!(!anon.mountpoint.exists());

    let keep = PruneFilter { all: true, not_labels: vec![LabelTerm::parse("keep=yes")], ..Default::default() };
    assert_eq!(f.volumes.prune(&keep).expect("prune").deleted, vec!["named"]);
    let all = PruneFilter { all: true, ..Default::default() };
    assert_eq!(f.volumes.prune(&all).expect("prune").deleted, vec!["keepme"]);
    let left = names(f.volumes.list(&ListFilter::default()).expect("list"));
    let mut want = vec![used_anon.name.clone(), "tmp".to_owned()];
    want.sort();
    assert_eq!(left, want, "referenced volumes and volumes with options are never pruned");

    f.volumes.prune_running.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(f.volumes.prune(&all).expect_err("busy").to_string(), "a prune operation is already running");
}

#[test]
fn prune_reports_remembered_sizes_without_walking_again() {
    let f = fixture();
    for name in ["behind", "written", "same"] {
        let v = f.volumes.create(req(name)).expect("create");
        std::fs::write(v.mountpoint.join("f"), vec![0u8; 1000]).expect("write");
    }
    // `system df` measures (and remembers) every volume.
    assert!(f.volumes.usage().expect("usage").iter().all(|u| u.size == 1000));
    let grow = |name: &str| {
        let path = f.volumes.usage_of(name).expect("usage").volume.mountpoint.join("g");
        std::fs::write(path, vec![0u8; 500]).expect("write");
    };
    // Behind strata's back (not seen until the volume is used: the documented trade) …
    grow("behind");
    // … and through strata (a copy into a stopped container's view of the volume).
    grow("written");
    f.volumes.note_written("written");
    let dry = f.volumes.prune_with(&PruneFilter { all: true, ..Default::default() }, true).expect("dry run");
    assert_eq!(dry.space_reclaimed, 1000 + 1500 + 1000);
    let report = f.volumes.prune(&PruneFilter { all: true, ..Default::default() }).expect("prune");
    assert_eq!(report.deleted, vec!["behind", "same", "written"]);
    assert_eq!(report.space_reclaimed, 1000 + 1500 + 1000, "the remembered 1000 for `behind`, a walk for `written`");
}

#[test]
fn volumes_with_options_mount_on_first_use_and_unmount_after_last() {
    let mut f = fixture();
    let v = f
        .volumes
        .create(with_opts("ram", &[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=64m,uid=1000")]))
        .expect("create");
    assert!(f.mounter.calls().is_empty(), "nothing is mounted at create");
    let data = v.mountpoint.display().to_string();
    assert_eq!(f.volumes.mount_for("ram", "c1").expect("mount"), v.mountpoint);
    f.volumes.mount_for("ram", "c2").expect("mount");
    f.volumes.mount_for("ram", "c2").expect("idempotent");
    assert_eq!(f.mounter.calls(), vec![format!("mount tmpfs {data} tmpfs 0x0 size=64m,uid=1000")]);
    assert_eq!(
        f.volumes.remove("ram", true).expect_err("mounted").to_string(),
        "remove ram: volume is in use - [c1, c2]"
    );

    f.restart();
    f.volumes.unmount_for("ram", "c1").expect("unmount");
    assert_eq!(f.mounter.calls().len(), 1, "c2 still holds it, across a restart");
    f.volumes.unmount_for("ram", "c2").expect("unmount");
    f.volumes.unmount_for("ram", "c2").expect("releasing twice is harmless");
    assert_eq!(f.mounter.calls().last().map(String::as_str), Some(format!("unmount {data}").as_str()));

    // A reboot loses the mount but a record may survive: the next use mounts again.
    f.volumes.mount_for("ram", "c3").expect("mount");
    f.mounter.set_mounted(&v.mountpoint, false);
    f.volumes.mount_for("ram", "c4").expect("mount");
    let mounts = f.mounter.calls().iter().filter(|c| c.starts_with("mount ")).count();
    assert_eq!(mounts, 3);

    // Plain volumes are not mounted at all.
    f.volumes.create(req("plain")).expect("create");
    f.volumes.mount_for("plain", "c1").expect("path");
    f.volumes.unmount_for("plain", "c1").expect("nothing to do");
    assert_eq!(f.mounter.calls().len(), 4);
}

#[test]
fn mount_failures_are_reported_with_the_call_and_redacted() {
    let f = fixture();
    f.volumes
        .create(with_opts("nfsv", &[("type", "nfs"), ("device", ":/export"), ("o", "addr=nfs.invalid,rw")]))
        .expect("create");
    let err = f.volumes.mount_for("nfsv", "c1").expect_err("unresolvable");
    assert!(
        err.to_string().starts_with(
            "mount nfsv: failed to mount local volume: error resolving passed in network volume address \"nfs.invalid\""
        ),
        "{err}"
    );
    f.volumes
        .create(with_opts(
            "cifsv",
            &[("type", "cifs"), ("device", "//192.0.2.1/s"), ("o", "username=u,password=hunter2")],
        ))
        .expect("create");
    f.mounter.fail_next_mount(io::ErrorKind::PermissionDenied);
    let err = f.volumes.mount_for("cifsv", "c1").expect_err("denied").to_string();
    assert!(err.contains("password=********") && !err.contains("hunter2"), "{err}");
    assert!(f.volumes.holders("cifsv").expect("holders").is_empty());
    f.volumes.remove("cifsv", false).expect("a failed mount holds nothing");
}

#[test]
fn size_limits_use_the_quota_controller() {
    let f = fixture_with(Ok(QuotaKind::Project));
    let a = f.volumes.create(with_opts("qa", &[("size", "10m")])).expect("create");
    let b = f.volumes.create(with_opts("qb", &[("size", "1g")])).expect("create");
    let (qa, qb) = (a.quota.expect("quota"), b.quota.expect("quota"));
    assert_eq!(qa.limit_bytes, 10 << 20);
    assert_ne!(qa.project_id, qb.project_id);
    assert_eq!(f.volumes.usage_of("qa").expect("usage").size, 4096);
    assert!(f.volumes.usage().expect("usage").is_empty(), "volumes with options are not in df, as in Docker");
    f.volumes.remove("qa", false).expect("remove");
    assert!(!f.quota.limits.lock().expect("lock").contains_key(&qa.project_id), "limit released");
    let mut f = f;
    f.restart();
    let c = f.volumes.create(with_opts("qc", &[("size", "1m")])).expect("create");
    assert!(c.quota.expect("quota").project_id > qb.project_id, "ids are not reused while in use");
}

#[test]
fn usage_reports_sizes_and_references() {
    let f = fixture();
    let v = f.volumes.create(req("du")).expect("create");
    std::fs::write(v.mountpoint.join("f"), vec![1u8; 1234]).expect("write");
    reference(&f, "du", "c1");
    f.volumes.create(req("empty")).expect("create");
    let usage = f.volumes.usage().expect("usage");
    let got: Vec<(&str, i64, u64)> = usage.iter().map(|u| (u.volume.name.as_str(), u.size, u.ref_count)).collect();
    assert_eq!(got, vec![("du", 1234, 1), ("empty", 0, 0)]);
}

#[test]
fn reconcile_repairs_every_crash_window() {
    let mut f = fixture();
    let root = f.volumes.root().to_owned();
    // A create that stopped after mkdir: empty directory, no row.
    std::fs::create_dir_all(root.join("halfmade/_data")).expect("mkdir");
    // A directory with data but no row (restored by hand, or an older metadata loss).
    std::fs::create_dir_all(root.join("precious/_data")).expect("mkdir");
    std::fs::write(root.join("precious/_data/db"), b"rows").expect("write");
    // A remove that stopped after its commit: row gone, removal recorded, directory intact.
    let gone = f.volumes.create(req("gone")).expect("create");
    std::fs::write(gone.mountpoint.join("x"), b"x").expect("write");
    f.store.write(|tx| db::delete_for_removal(tx, "gone", "")).expect("delete");
    // Leftovers in the trash.
    std::fs::create_dir_all(root.join(".trash/old-123/_data")).expect("trash");
    // A volume whose directory was deleted behind strata's back.
    let lost = f.volumes.create(req("lost")).expect("create");
    fsops::remove_tree(&root.join("lost")).expect("rm");
    // A mount no holder recorded (crash between mount and record) — simulated in the fake.
    let m = f.volumes.create(with_opts("mnt", &[("type", "tmpfs"), ("device", "tmpfs")])).expect("create");
    f.restart();

    let report = f.volumes.reconcile().expect("reconcile");
    assert_eq!(report.incomplete_removed, vec!["halfmade"]);
    assert_eq!(report.adopted, vec!["precious"]);
    assert_eq!(report.finished_removals, vec!["gone"]);
    assert_eq!(report.recreated, vec!["lost"]);
    assert!(!root.join("halfmade").exists());
    assert!(!root.join("gone").exists());
    assert_eq!(std::fs::read_dir(root.join(".trash")).expect("trash").count(), 0);
    assert_eq!(std::fs::read(root.join("precious/_data/db")).expect("kept"), b"rows");
    let adopted = f.volumes.inspect("precious").expect("adopted");
    assert!(adopted.labels.is_empty() && adopted.driver == "local");
    assert!(lost.mountpoint.is_dir());
    assert!(m.mountpoint.is_dir());
    assert!(f.volumes.reconcile().expect("again").is_empty(), "a second repair finds nothing");
}

#[test]
fn a_directory_deleted_behind_our_back_is_recreated_on_use() {
    let f = fixture();
    let v = f.volumes.create(req("fragile")).expect("create");
    fsops::remove_tree(&f.dir.path().join("volumes/fragile")).expect("rm");
    assert_eq!(f.volumes.inspect("fragile").expect("inspect still answers"), v);
    assert_eq!(f.volumes.mount_for("fragile", "c1").expect("use"), v.mountpoint);
    assert!(v.mountpoint.is_dir());
    f.volumes.remove("fragile", false).expect("a plain volume's users are its references, not mount records");
}

#[test]
fn list_filters_select_by_name_label_driver_and_dangling() {
    let f = fixture();
    for (n, l) in [("rv1", Some(("env", "prod"))), ("rv2", None), ("other", Some(("env", "dev")))] {
        let mut r = req(n);
        if let Some((k, v)) = l {
            r.labels.insert(k.into(), v.into());
        }
        f.volumes.create(r).expect("create");
    }
    reference(&f, "rv2", "c1");
    let by = |filter: ListFilter| names(f.volumes.list(&filter).expect("list"));
    assert_eq!(by(ListFilter { names: vec![NamePattern::new("rv")], ..Default::default() }), vec!["rv1", "rv2"]);
    assert_eq!(by(ListFilter { labels: vec![LabelTerm::parse("env=prod")], ..Default::default() }), vec!["rv1"]);
    assert_eq!(by(ListFilter { dangling: Some(true), ..Default::default() }), vec!["other", "rv1"]);
    assert_eq!(by(ListFilter { dangling: Some(false), ..Default::default() }), vec!["rv2"]);
    assert!(by(ListFilter { drivers: vec!["nfs".into()], ..Default::default() }).is_empty());
}

#[test]
fn concurrent_clients_never_lose_or_duplicate_volumes() {
    let f = fixture();
    let volumes = &f.volumes;
    std::thread::scope(|s| {
        for t in 0..16 {
            s.spawn(move || {
                for i in 0..40u32 {
                    let own = format!("t{t}-{i}");
                    volumes.create(req(&own)).expect("create own");
                    volumes.create(req("shared")).expect("create shared");
                    volumes.inspect(&own).expect("inspect own");
                    if i.is_multiple_of(2) {
                        volumes.remove(&own, false).expect("remove own");
                    }
                    match volumes.remove("shared", true) {
                        Ok(()) => {}
                        Err(e) => panic!("remove shared: {e}"),
                    }
                }
            });
        }
    });
    let listed = names(volumes.list(&ListFilter::default()).expect("list"));
    let mut want: Vec<String> =
        (0..16).flat_map(|t| (0..40).filter(|i| i % 2 == 1).map(move |i| format!("t{t}-{i}"))).collect();
    let shared_exists = listed.contains(&"shared".to_owned());
    if shared_exists {
        want.push("shared".into());
    }
    want.sort();
    assert_eq!(listed, want);
    let mut dirs: Vec<String> = std::fs::read_dir(volumes.root())
        .expect("read")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".trash")
        .collect();
    dirs.sort();
    assert_eq!(dirs, want, "directories and rows agree");
}

#[test]
fn create_now_never_waits() {
    let f = fixture();
    assert_eq!(f.volumes.create_now(&req("quick")).expect("free name").expect("created").name, "quick");
    let busy = f.volumes.locks.lock("taken", locks::LOCK_TIMEOUT).expect("lock");
    assert!(f.volumes.create_now(&req("taken")).is_none(), "a locked name is left to a blocking thread");
    drop(busy);
    assert!(f.volumes.create_now(&with_opts("sized", &[("size", "1m")])).is_none(), "quota calls may be slow");
    let err = f.volumes.create_now(&req("a")).expect("answered").expect_err("invalid");
    assert!(err.to_string().contains("too short"));
}
