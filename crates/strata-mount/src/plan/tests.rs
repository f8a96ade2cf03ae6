//! Planner tables: every create-time rule of reference §7/§9, one row per case, with the text and
//! class dockerd gives (observed on 20.10 at API 1.41; the version-gated rows follow moby 28's
//! router).

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::error::ErrorClass;
use crate::host::NoContainers;

const DATA_ROOT: &str = "/var/lib/strata";
const V1_41: ApiVersion = ApiVersion::new(1, 41);
const V1_42: ApiVersion = ApiVersion::new(1, 42);
const V1_43: ApiVersion = ApiVersion::new(1, 43);
const V1_44: ApiVersion = ApiVersion::new(1, 44);
const V1_45: ApiVersion = ApiVersion::new(1, 45);
const V1_47: ApiVersion = ApiVersion::new(1, 47);
const V1_48: ApiVersion = ApiVersion::new(1, 48);

/// Host paths that exist in these tests.
fn host(path: &Path) -> bool {
    ["/tmp", "/", "/home/user/src", "/home/user/config", DATA_ROOT].iter().any(|p| Path::new(p) == path)
}

/// Containers known to `--volumes-from` in these tests.
struct Containers(BTreeMap<String, Vec<PlannedMount>>);

impl ContainerMounts for Containers {
    fn mounts_of(&self, name: &str) -> Option<Vec<PlannedMount>> {
        self.0.get(name).cloned()
    }
}

fn plan_with(req: &MountRequest, api: ApiVersion, containers: &dyn ContainerMounts) -> Result<MountPlan, MountError> {
    plan_mounts(req, &PlanContext { api_version: api, daemon_root: DATA_ROOT, host: &host, containers })
}

fn plan_at(req: &MountRequest, api: ApiVersion) -> Result<MountPlan, MountError> {
    plan_with(req, api, &NoContainers)
}

fn plan(req: &MountRequest) -> MountPlan {
    match plan_at(req, V1_47) {
        Ok(p) => p,
        Err(e) => panic!("{req:?}: {e}"),
    }
}

/// A request built from the wire pieces the CLI sends.
#[derive(Default)]
struct Req(MountRequest);

impl Req {
    fn binds(mut self, binds: &[&str]) -> Req {
        self.0.binds = binds.iter().map(|s| (*s).to_owned()).collect();
        self
    }
    /// `HostConfig.Mounts` as JSON, exactly as on the wire.
    fn mounts(mut self, json: &str) -> Req {
        self.0.mounts = serde_json::from_str(json).expect("mounts json");
        self
    }
    fn tmpfs(mut self, entries: &[(&str, &str)]) -> Req {
        self.0.tmpfs = entries.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self
    }
    fn volumes(mut self, paths: &[&str]) -> Req {
        self.0.volumes = paths.iter().map(|s| (*s).to_owned()).collect();
        self
    }
    fn image_volumes(mut self, paths: &[&str]) -> Req {
        self.0.image_volumes = paths.iter().map(|s| (*s).to_owned()).collect();
        self
    }
    fn from(mut self, specs: &[&str]) -> Req {
        self.0.volumes_from = specs.iter().map(|s| (*s).to_owned()).collect();
        self
    }
    fn driver(mut self, driver: &str) -> Req {
        self.0.volume_driver = driver.to_owned();
        self
    }
}

use ErrorClass::{InvalidParameter as E400, System as E500};

/// Every create-time error of reference §7, across sources and API versions.
#[test]
fn create_errors_match_docker() {
    let cases: Vec<(&str, Req, ApiVersion, &str, ErrorClass)> = vec![
        // -v (HostConfig.Binds): parser errors are 500s.
        ("bind onto /", Req::default().binds(&["/tmp:/"]), V1_41, r#"invalid volume specification: '/tmp:/': invalid mount config for type "bind": invalid specification: destination can't be '/'"#, E500),
        ("relative destination", Req::default().binds(&["vol:relative"]), V1_41, r#"invalid volume specification: 'vol:relative': invalid mount config for type "volume": invalid mount path: 'relative' mount path must be absolute"#, E500),
        ("nocopy on a bind", Req::default().binds(&["/tmp/x:/y:rw,z,shared,nocopy"]), V1_47, r#"invalid volume specification: '/tmp/x:/y:rw,z,shared,nocopy': invalid mount config for type "bind": field VolumeOptions must not be specified"#, E500),
        ("bad mode", Req::default().binds(&["/tmp/x:/y:badmode"]), V1_41, "invalid mode: badmode", E500),
        ("ro and rw", Req::default().binds(&["/tmp/x:/y:ro,rw"]), V1_41, "invalid mode: ro,rw", E500),
        ("two propagations", Req::default().binds(&["/tmp/x:/y:shared,slave"]), V1_41, "invalid mode: shared,slave", E500),
        ("too many colons", Req::default().binds(&["/a:/b:ro:x"]), V1_41, "invalid volume specification: '/a:/b:ro:x'", E500),
        // ... but the volume-name check of a -v volume is a 400.
        ("relative path taken as volume name", Req::default().binds(&["foo/bar:/d"]), V1_41, r#"create foo/bar: "foo/bar" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path"#, E400),
        ("one-letter volume name", Req::default().binds(&["a:/d"]), V1_41, "create a: volume name is too short, names should be at least two alphanumeric characters", E400),
        ("local driver named explicitly", Req::default().binds(&["foo/bar:/d"]).driver("local"), V1_41, r#"create foo/bar: "foo/bar" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path"#, E400),
        // Duplicates, across Binds, Mounts and Tmpfs (400).
        ("two binds, one with a trailing slash", Req::default().binds(&["/a:/b", "/c:/b/"]), V1_41, "Duplicate mount point: /b", E400),
        ("bind and volume", Req::default().binds(&["/a:/b", "vol:/b"]), V1_41, "Duplicate mount point: /b", E400),
        ("bind and --tmpfs", Req::default().binds(&["/a:/b"]).tmpfs(&[("/b", "")]), V1_41, "Duplicate mount point: /b", E400),
        ("bind with slash and --tmpfs", Req::default().binds(&["/a:/b/"]).tmpfs(&[("/b", "")]), V1_41, "Duplicate mount point: /b", E400),
        ("bind and --mount, raw target in message", Req::default().binds(&["/a:/b"]).mounts(r#"[{"Type":"tmpfs","Target":"/b/"}]"#), V1_41, "Duplicate mount point: /b/", E400),
        ("two --mount", Req::default().mounts(r#"[{"Type":"tmpfs","Target":"/b"},{"Type":"volume","Target":"/b"}]"#), V1_41, "Duplicate mount point: /b", E400),
        ("--mount on a --tmpfs (strata refuses; Docker stacks both)", Req::default().mounts(r#"[{"Type":"tmpfs","Target":"/b"}]"#).tmpfs(&[("/b", "")]), V1_41, "Duplicate mount point: /b", E400),
        // --tmpfs destinations (400, no prefix).
        ("relative --tmpfs", Req::default().tmpfs(&[("relative", "")]), V1_41, "invalid mount path: 'relative' mount path must be absolute", E400),
        ("--tmpfs on /", Req::default().tmpfs(&[("/", "")]), V1_41, "invalid specification: destination can't be '/'", E400),
        // --volumes-from (400, never 404).
        ("missing container", Req::default().from(&["nosuch"]), V1_41, "No such container: nosuch", E400),
        ("missing container, ro", Req::default().from(&["nosuch:ro"]), V1_41, "No such container: nosuch", E400),
        ("bad mode before lookup", Req::default().from(&["nosuch:bad"]), V1_41, "invalid mode: bad", E400),
        ("propagation refused", Req::default().from(&["nosuch:shared"]), V1_41, "invalid mode: shared", E400),
        ("nocopy refused", Req::default().from(&["nosuch:nocopy"]), V1_41, "invalid mode: nocopy", E400),
        ("empty spec", Req::default().from(&[""]), V1_41, "volumes-from specification cannot be an empty string", E400),
        // --mount (400).
        ("missing bind source", Req::default().mounts(r#"[{"Type":"bind","Source":"/nonexist","Target":"/x"}]"#), V1_41, r#"invalid mount config for type "bind": bind source path does not exist: /nonexist"#, E400),
        ("CreateMountpoint ignored below 1.42", Req::default().mounts(r#"[{"Type":"bind","Source":"/nonexist","Target":"/x","BindOptions":{"CreateMountpoint":true}}]"#), V1_41, r#"invalid mount config for type "bind": bind source path does not exist: /nonexist"#, E400),
        ("unknown type", Req::default().mounts(r#"[{"Type":"foo","Target":"/x"}]"#), V1_41, r#"invalid mount config for type "foo": mount type unknown"#, E400),
        ("image below 1.48", Req::default().mounts(r#"[{"Type":"image","Source":"busybox","Target":"/x"}]"#), V1_47, r#"invalid mount config for type "image": mount type unknown"#, E400),
        ("read-only anonymous volume", Req::default().mounts(r#"[{"Type":"volume","Target":"/x","ReadOnly":true}]"#), V1_41, r#"invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes"#, E400),
        ("one-letter --mount volume name", Req::default().mounts(r#"[{"Type":"volume","Source":"a","Target":"/x"}]"#), V1_41, "create a: volume name is too short, names should be at least two alphanumeric characters", E400),
        ("volume name with a slash", Req::default().mounts(r#"[{"Type":"volume","Source":"/abs","Target":"/x"}]"#), V1_41, r#"create /abs: "/abs" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path"#, E400),
        // The data-root rule (400, for -v too).
        ("-v of the data-root, private", Req::default().binds(&["/var/lib/strata:/x:private"]), V1_41, r#"invalid mount config: must use either propagation mode "rslave" or "rshared" when mount source is within the daemon root, daemon root: "/var/lib/strata", bind mount source: "/var/lib/strata", propagation: "private""#, E400),
        ("--mount of the data-root, rprivate", Req::default().mounts(r#"[{"Type":"bind","Source":"/var/lib/strata","Target":"/x","BindOptions":{"Propagation":"rprivate"}}]"#), V1_41, r#"invalid mount config: must use either propagation mode "rslave" or "rshared" when mount source is within the daemon root, daemon root: "/var/lib/strata", bind mount source: "/var/lib/strata", propagation: "rprivate""#, E400),
        // API-version gates of moby's router (400).
        ("VolumeOptions on a bind from 1.42", Req::default().mounts(r#"[{"Type":"bind","Source":"/tmp","Target":"/x","VolumeOptions":{}}]"#), V1_42, r#"VolumeOptions must not be specified on mount type "bind""#, E400),
        ("BindOptions on a volume from 1.42", Req::default().mounts(r#"[{"Type":"volume","Target":"/x","BindOptions":{}}]"#), V1_42, r#"BindOptions must not be specified on mount type "volume""#, E400),
        ("BindOptions on a volume below 1.42", Req::default().mounts(r#"[{"Type":"volume","Target":"/x","BindOptions":{}}]"#), V1_41, r#"invalid mount config for type "volume": field BindOptions must not be specified"#, E400),
        ("TmpfsOptions on a bind from 1.42", Req::default().mounts(r#"[{"Type":"bind","Source":"/tmp","Target":"/x","TmpfsOptions":{"SizeBytes":5}}]"#), V1_47, r#"TmpfsOptions must not be specified on mount type "bind""#, E400),
        ("VolumeOptions on a tmpfs from 1.42", Req::default().mounts(r#"[{"Type":"tmpfs","Target":"/x","VolumeOptions":{}}]"#), V1_47, r#"VolumeOptions must not be specified on mount type "tmpfs""#, E400),
        ("options checked before the type", Req::default().mounts(r#"[{"Type":"foo","Target":"/x","VolumeOptions":{}}]"#), V1_47, r#"VolumeOptions must not be specified on mount type "foo""#, E400),
        ("force-recursive below 1.44", Req::default().mounts(r#"[{"Type":"bind","Source":"/tmp","Target":"/x","ReadOnly":true,"BindOptions":{"Propagation":"rprivate","ReadOnlyForceRecursive":true}}]"#), V1_43, "BindOptions.ReadOnlyForceRecursive needs API v1.44 or newer", E400),
        ("subpath below 1.45", Req::default().mounts(r#"[{"Type":"volume","Source":"v6","Target":"/d","VolumeOptions":{"Subpath":"sub","DriverConfig":{}}}]"#), V1_44, "VolumeOptions.Subpath needs API v1.45 or newer", E400),
        ("subpath on anonymous volume", Req::default().mounts(r#"[{"Type":"volume","Target":"/d","VolumeOptions":{"Subpath":"sub"}}]"#), V1_45, r#"invalid mount config for type "volume": must not set Subpath when using anonymous volumes"#, E400),
        ("subpath escaping the volume", Req::default().mounts(r#"[{"Type":"volume","Source":"v6","Target":"/d","VolumeOptions":{"Subpath":"a/../../etc"}}]"#), V1_45, r#"invalid mount config for type "volume": subpath must be a relative path within the volume"#, E400),
        // Which error wins when several sources are wrong: Mounts, then Tmpfs, then the rest.
        ("Mounts checked before Binds", Req::default().binds(&["/tmp:/"]).mounts(r#"[{"Type":"foo","Target":"/x"}]"#), V1_41, r#"invalid mount config for type "foo": mount type unknown"#, E400),
        ("Tmpfs checked before Binds", Req::default().binds(&["/tmp:/"]).tmpfs(&[("rel", "")]), V1_41, "invalid mount path: 'rel' mount path must be absolute", E400),
        ("Mounts checked before Tmpfs", Req::default().mounts(r#"[{"Type":"bind","Target":"/x"}]"#).tmpfs(&[("rel", "")]), V1_41, r#"invalid mount config for type "bind": field Source must not be empty"#, E400),
        ("VolumesFrom before Binds", Req::default().binds(&["/tmp:/"]).from(&["nosuch"]), V1_41, "No such container: nosuch", E400),
        ("Binds in order", Req::default().binds(&["a:/d", "/tmp:/"]), V1_41, "create a: volume name is too short, names should be at least two alphanumeric characters", E400),
    ];
    for (what, req, api, want, class) in cases {
        let err = plan_at(&req.0, api).expect_err(what);
        assert_eq!(err.to_string(), want, "{what}");
        assert_eq!(err.status_class(), class, "{what}");
    }
}

/// Requests Docker accepts at create, including some that only fail at start.
#[test]
fn accepted_at_create_like_docker() {
    let cases: Vec<(&str, Req, ApiVersion)> = vec![
        ("empty mode field", Req::default().binds(&["/a:/b:"]), V1_41),
        ("consistency mode", Req::default().binds(&["/a:/b:cached"]), V1_41),
        ("missing -v source is created at start", Req::default().binds(&["/nonexist:/b"]), V1_41),
        ("anonymous volume in Binds", Req::default().binds(&["/d"]), V1_41),
        ("plugin volume names are the plugin's business", Req::default().binds(&["foo/bar:/d"]).driver("flocker"), V1_41),
        ("plugin driver via --mount", Req::default().mounts(r#"[{"Type":"volume","Source":"foo/bar","Target":"/d","VolumeOptions":{"DriverConfig":{"Name":"flocker"}}}]"#), V1_41),
        ("bad tmpfs size fails only at start", Req::default().tmpfs(&[("/t", "size=abc")]), V1_41),
        ("bogus tmpfs option fails only at start", Req::default().tmpfs(&[("/t", "bogus")]), V1_41),
        ("negative SizeBytes fails only at start", Req::default().mounts(r#"[{"Type":"tmpfs","Target":"/x","TmpfsOptions":{"SizeBytes":-1}}]"#), V1_41),
        ("VolumeOptions on a bind dropped below 1.42", Req::default().mounts(r#"[{"Type":"bind","Source":"/tmp","Target":"/x","VolumeOptions":{}}]"#), V1_41),
        ("TmpfsOptions on a bind dropped below 1.42", Req::default().mounts(r#"[{"Type":"bind","Source":"/tmp","Target":"/x","TmpfsOptions":{"SizeBytes":5}}]"#), V1_41),
        ("CreateMountpoint from 1.42", Req::default().mounts(r#"[{"Type":"bind","Source":"/nonexist","Target":"/x","BindOptions":{"CreateMountpoint":true}}]"#), V1_42),
        ("force-recursive from 1.44", Req::default().mounts(r#"[{"Type":"bind","Source":"/tmp","Target":"/x","ReadOnly":true,"BindOptions":{"Propagation":"rprivate","ReadOnlyForceRecursive":true}}]"#), V1_44),
        ("subpath from 1.45", Req::default().mounts(r#"[{"Type":"volume","Source":"v6","Target":"/d","VolumeOptions":{"Subpath":"sub","DriverConfig":{}}}]"#), V1_45),
        ("image from 1.48", Req::default().mounts(r#"[{"Type":"image","Source":"busybox","Target":"/img"}]"#), V1_48),
        ("data-root with rshared", Req::default().binds(&["/var/lib/strata/volumes:/x:rshared"]), V1_41),
        ("relative Config.Volumes key (CLI quirk for -v a:/d)", Req::default().volumes(&["a:/d", "rel"]), V1_41),
        ("Config.Volumes over a bind", Req::default().binds(&["/a:/b"]).volumes(&["/b"]), V1_41),
        ("Config.Volumes over a --tmpfs", Req::default().tmpfs(&[("/b", "")]).volumes(&["/b"]), V1_41),
        ("Config.Volumes over a --mount", Req::default().mounts(r#"[{"Type":"volume","Target":"/b"}]"#).volumes(&["/b"]), V1_41),
        ("image VOLUME under -v", Req::default().binds(&["pgdata:/var/lib/postgresql/data"]).image_volumes(&["/var/lib/postgresql/data"]), V1_41),
    ];
    for (what, req, api) in cases {
        if let Err(e) = plan_at(&req.0, api) {
            panic!("{what}: {e}");
        }
    }
}

fn mount_point(p: &MountPlan, destination: &str) -> MountPoint {
    p.get(destination).and_then(|m| m.mount_point.clone()).unwrap_or_else(|| panic!("no mount point at {destination}"))
}

/// `docker inspect` fields as observed on dockerd 20.10 (before the engine fills volume paths).
#[test]
fn inspect_fields_match_docker() {
    // (request, destination, Type, Name, Driver, Mode, RW, Propagation)
    type Row = (Req, &'static str, &'static str, &'static str, &'static str, &'static str, bool, &'static str);
    let cases: Vec<Row> = vec![
        (Req::default().binds(&["/tmp/rtbind:/b:ro"]), "/b", "bind", "", "", "ro", false, "rprivate"),
        (Req::default().binds(&["/home/user/src:/app/src"]), "/app/src", "bind", "", "", "", true, "rprivate"),
        (Req::default().binds(&["/a:/b:"]), "/b", "bind", "", "", "", true, "rprivate"),
        (Req::default().binds(&["/a:/b:cached"]), "/b", "bind", "", "", "cached", true, "rprivate"),
        (Req::default().binds(&["/h:/c:ro,Z,slave"]), "/c", "bind", "", "", "ro,Z,slave", false, "slave"),
        (Req::default().binds(&["/var/lib/strata/volumes:/x:ro"]), "/x", "bind", "", "", "ro", false, "rslave"),
        (
            Req::default().binds(&["/var/lib/strata/volumes:/x:rshared"]),
            "/x",
            "bind",
            "",
            "",
            "rshared",
            true,
            "rshared",
        ),
        (Req::default().binds(&["/v:/x"]), "/x", "bind", "", "", "", true, "rslave"),
        (Req::default().binds(&["/var/lib/strata2:/x"]), "/x", "bind", "", "", "", true, "rslave"),
        (Req::default().binds(&["/var/lib/other:/x"]), "/x", "bind", "", "", "", true, "rprivate"),
        (Req::default().binds(&["pgdata:/data"]), "/data", "volume", "pgdata", "local", "z", true, ""),
        (Req::default().binds(&["shared_data:/data:ro"]), "/data", "volume", "shared_data", "local", "ro", false, ""),
        (Req::default().binds(&["v1:/d:nocopy"]), "/d", "volume", "v1", "local", "nocopy", true, ""),
        (Req::default().binds(&["v1:/d:rw"]).driver("local"), "/d", "volume", "v1", "local", "rw", true, ""),
        (Req::default().binds(&["/d"]), "/d", "volume", "", "local", "z", true, ""),
        (Req::default().binds(&["v1:/d"]).driver("flocker"), "/d", "volume", "v1", "flocker", "", true, ""),
        (
            Req::default().mounts(r#"[{"Type":"bind","Source":"/tmp","Target":"/x"}]"#),
            "/x",
            "bind",
            "",
            "",
            "",
            true,
            "rprivate",
        ),
        (
            Req::default().mounts(r#"[{"Type":"bind","Source":"/tmp/","Target":"/x/"}]"#),
            "/x",
            "bind",
            "",
            "",
            "",
            true,
            "rprivate",
        ),
        (
            Req::default().mounts(r#"[{"Type":"bind","Source":"/tmp","Target":"/x","ReadOnly":true}]"#),
            "/x",
            "bind",
            "",
            "",
            "",
            false,
            "rprivate",
        ),
        (
            Req::default()
                .mounts(r#"[{"Type":"bind","Source":"/tmp","Target":"/x","BindOptions":{"Propagation":"shared"}}]"#),
            "/x",
            "bind",
            "",
            "",
            "",
            true,
            "shared",
        ),
        (
            Req::default().mounts(r#"[{"Type":"bind","Source":"/","Target":"/x"}]"#),
            "/x",
            "bind",
            "",
            "",
            "",
            true,
            "rslave",
        ),
        (
            Req::default().mounts(r#"[{"Type":"volume","Source":"v2","Target":"/x"}]"#),
            "/x",
            "volume",
            "v2",
            "local",
            "z",
            true,
            "",
        ),
        (
            Req::default().mounts(
                r#"[{"Type":"volume","Source":"v2","Target":"/x","ReadOnly":true,"VolumeOptions":{"NoCopy":true}}]"#,
            ),
            "/x",
            "volume",
            "v2",
            "local",
            "z",
            false,
            "",
        ),
        (
            Req::default().mounts(r#"[{"Type":"volume","Target":"/anon"}]"#),
            "/anon",
            "volume",
            "",
            "local",
            "z",
            true,
            "",
        ),
        (Req::default().mounts(r#"[{"Type":"tmpfs","Target":"/tm"}]"#), "/tm", "tmpfs", "", "", "", true, ""),
        (
            Req::default().mounts(r#"[{"Type":"tmpfs","Target":"/x","ReadOnly":true}]"#),
            "/x",
            "tmpfs",
            "",
            "",
            "",
            false,
            "",
        ),
        (
            Req::default().volumes(&["/var/lib/postgresql/data"]),
            "/var/lib/postgresql/data",
            "volume",
            "",
            "local",
            "",
            true,
            "",
        ),
        (Req::default().image_volumes(&["/iv"]), "/iv", "volume", "", "local", "", true, ""),
        (Req::default().volumes(&["/d"]).driver("flocker"), "/d", "volume", "", "flocker", "", true, ""),
    ];
    for (req, destination, t, name, driver, mode, rw, propagation) in cases {
        let got = mount_point(&plan(&req.0), destination);
        let want = MountPoint {
            mount_type: t.into(),
            name: name.into(),
            source: if t == "bind" { got.source.clone() } else { String::new() },
            destination: destination.into(),
            driver: driver.into(),
            mode: mode.into(),
            rw,
            propagation: propagation.into(),
        };
        assert_eq!(got, want, "{:?}", req.0);
    }
}

#[test]
fn image_mounts_from_1_48_are_read_only_and_named_after_the_image() {
    let p = plan_at(
        &Req::default()
            .mounts(r#"[{"Type":"image","Source":"busybox","Target":"/img","ImageOptions":{"Subpath":"bin"}}]"#)
            .0,
        V1_48,
    )
    .expect("plan");
    let m = p.get("/img").expect("mount");
    assert_eq!(m.kind, MountKind::Image(ImageMount { image: "busybox".into(), subpath: Some("bin".into()) }));
    assert!(m.read_only);
    let mp = m.mount_point.clone().expect("listed");
    assert_eq!(
        (mp.mount_type.as_str(), mp.name.as_str(), mp.rw, mp.propagation.as_str()),
        ("image", "busybox", false, "rprivate")
    );
}

#[test]
fn tmpfs_flags_are_not_listed_by_inspect_but_planned() {
    let p = plan(&Req::default().tmpfs(&[("/tmp", "rw,size=64m"), ("/run", "ro,size=8m,mode=1777")]).0);
    assert!(p.inspect_mounts().is_empty());
    let tmp = p.get("/tmp").expect("/tmp");
    assert_eq!(
        tmp.kind,
        MountKind::Tmpfs(TmpfsMount {
            size_bytes: Some(64 << 20),
            mode: None,
            options: vec!["rw".into(), "size=64m".into()]
        })
    );
    assert!(!tmp.read_only);
    assert_eq!(tmp.origin, MountOrigin::Tmpfs);
    let run = p.get("/run").expect("/run");
    assert!(run.read_only);
    let MountKind::Tmpfs(t) = &run.kind else { panic!("tmpfs") };
    assert_eq!((t.size_bytes, t.mode), (Some(8 << 20), Some(0o1777)));
}

#[test]
fn mount_tmpfs_keeps_size_and_mode() {
    let p = plan(
        &Req::default()
            .mounts(
                r#"[{"Type":"tmpfs","Target":"/t","ReadOnly":true,"TmpfsOptions":{"SizeBytes":10485760,"Mode":1016}}]"#,
            )
            .0,
    );
    let m = p.get("/t").expect("/t");
    assert_eq!(
        m.kind,
        MountKind::Tmpfs(TmpfsMount {
            size_bytes: Some(10_485_760),
            mode: Some(0o1770),
            options: vec!["ro".into(), "mode=1770".into(), "size=10m".into()],
        })
    );
}

#[test]
fn explicit_mounts_win_over_anonymous_volumes_silently() {
    // (request, destination, expected origin, number of mounts)
    let cases: Vec<(Req, &str, MountOrigin, usize)> = vec![
        (Req::default().binds(&["pgdata:/data"]).image_volumes(&["/data"]), "/data", MountOrigin::Bind, 1),
        (Req::default().binds(&["/a:/b"]).volumes(&["/b"]), "/b", MountOrigin::Bind, 1),
        (Req::default().tmpfs(&[("/b", "")]).volumes(&["/b"]), "/b", MountOrigin::Tmpfs, 1),
        (Req::default().mounts(r#"[{"Type":"volume","Target":"/b"}]"#).volumes(&["/b/"]), "/b", MountOrigin::Mount, 1),
        (
            Req::default().volumes(&["/data", "/data/"]).image_volumes(&["/data", "/iv"]),
            "/data",
            MountOrigin::ConfigVolume,
            2,
        ),
        (Req::default().image_volumes(&["/iv", "/data"]).binds(&["v4:/iv"]), "/iv", MountOrigin::Bind, 2),
    ];
    for (req, destination, origin, count) in cases {
        let p = plan(&req.0);
        assert_eq!(p.get(destination).map(|m| m.origin.clone()), Some(origin), "{:?}", req.0);
        assert_eq!(p.mounts.len(), count, "{:?}", req.0);
    }
}

#[test]
fn anonymous_volumes_carry_the_anonymous_label_and_copy_up() {
    let p = plan(
        &Req::default()
            .volumes(&["/a"])
            .binds(&["/b", "named:/c"])
            .mounts(r#"[{"Type":"volume","Target":"/d","VolumeOptions":{"Labels":{"x":"y"}}}]"#)
            .0,
    );
    for (destination, anonymous) in [("/a", true), ("/b", true), ("/c", false), ("/d", true)] {
        let m = p.get(destination).expect(destination);
        assert_eq!(m.is_anonymous_volume(), anonymous, "{destination}");
        let labels = &m.volume().expect("volume").labels;
        assert_eq!(labels.contains_key(ANONYMOUS_VOLUME_LABEL), anonymous, "{destination}");
        assert!(m.copies_image_data(), "{destination}");
    }
    assert_eq!(p.get("/d").and_then(|m| m.volume()).and_then(|v| v.labels.get("x")).map(String::as_str), Some("y"));
}

#[test]
fn volume_options_reach_the_plan() {
    // The CLI's body for --mount type=volume,src=v5,dst=/d,volume-nocopy,volume-label=a=b,
    // volume-opt=type=tmpfs,volume-opt=device=tmpfs,readonly
    let p = plan(&Req::default().mounts(r#"[{"Type":"volume","Source":"v5","Target":"/d","ReadOnly":true,"VolumeOptions":{"NoCopy":true,"Labels":{"a":"b"},"DriverConfig":{"Options":{"device":"tmpfs","type":"tmpfs"}}}}]"#).0);
    let m = p.get("/d").expect("/d");
    let want = VolumeMount {
        name: VolumeName::Named("v5".into()),
        driver: String::new(),
        driver_opts: [("device", "tmpfs"), ("type", "tmpfs")].into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
        labels: [("a".to_owned(), "b".to_owned())].into_iter().collect(),
        nocopy: true,
        subpath: None,
    };
    assert_eq!(m.volume(), Some(&want));
    assert!(m.read_only);
    assert!(!m.copies_image_data());
}

#[test]
fn bind_options_reach_the_plan_with_version_rules() {
    // (api, mount json, create_if_missing, non_recursive, ro_non_recursive, ro_force_recursive)
    let cases: Vec<(ApiVersion, &str, bool, bool, bool, bool)> = vec![
        (
            V1_41,
            r#"{"Type":"bind","Source":"/tmp","Target":"/d","BindOptions":{"Propagation":"rshared","NonRecursive":true}}"#,
            false,
            true,
            false,
            false,
        ),
        (
            ApiVersion::new(1, 39),
            r#"{"Type":"bind","Source":"/tmp","Target":"/d","BindOptions":{"NonRecursive":true}}"#,
            false,
            false,
            false,
            false,
        ),
        (
            V1_41,
            r#"{"Type":"bind","Source":"/tmp","Target":"/d","BindOptions":{"CreateMountpoint":true}}"#,
            false,
            false,
            false,
            false,
        ),
        (
            V1_42,
            r#"{"Type":"bind","Source":"/tmp","Target":"/d","BindOptions":{"CreateMountpoint":true}}"#,
            true,
            false,
            false,
            false,
        ),
        (V1_43, r#"{"Type":"bind","Source":"/tmp","Target":"/d","ReadOnly":true}"#, false, false, true, false),
        (V1_44, r#"{"Type":"bind","Source":"/tmp","Target":"/d","ReadOnly":true}"#, false, false, false, false),
        (
            V1_44,
            r#"{"Type":"bind","Source":"/tmp","Target":"/d","ReadOnly":true,"BindOptions":{"ReadOnlyNonRecursive":true}}"#,
            false,
            false,
            true,
            false,
        ),
        (
            V1_44,
            r#"{"Type":"bind","Source":"/tmp","Target":"/d","ReadOnly":true,"BindOptions":{"Propagation":"rprivate","ReadOnlyForceRecursive":true}}"#,
            false,
            false,
            false,
            true,
        ),
    ];
    for (api, json, create, nonrec, ronr, rofr) in cases {
        let p = plan_at(&Req::default().mounts(&format!("[{json}]")).0, api).expect(json);
        let MountKind::Bind(b) = &p.get("/d").expect("/d").kind else { panic!("bind: {json}") };
        assert_eq!(
            (b.create_if_missing, b.non_recursive, b.read_only_non_recursive, b.read_only_force_recursive),
            (create, nonrec, ronr, rofr),
            "{api} {json}"
        );
    }
    // -v binds are created when missing; read-only ones are non-recursive for old clients only.
    for (api, ronr) in [(V1_43, true), (V1_44, false)] {
        let p = plan_at(&Req::default().binds(&["/h:/d:ro"]).0, api).expect("plan");
        let MountKind::Bind(b) = &p.get("/d").expect("/d").kind else { panic!("bind") };
        assert!(b.create_if_missing);
        assert_eq!(b.read_only_non_recursive, ronr, "{api}");
    }
}

/// A source container for `--volumes-from`, planned like any other.
fn source_container() -> Vec<PlannedMount> {
    let req = Req::default()
        .binds(&["/tmp/h1:/b1:ro", "v3:/n1:nocopy", "/anon1"])
        .mounts(r#"[{"Type":"bind","Source":"/tmp","Target":"/b2","BindOptions":{"Propagation":"rslave"}},{"Type":"tmpfs","Target":"/tm"}]"#)
        .tmpfs(&[("/tt", "")]);
    let mut p = plan(&req.0);
    for m in &mut p.mounts {
        if m.is_anonymous_volume() {
            m.set_volume("ee17", "local", "/var/lib/strata/volumes/ee17/_data");
        } else if let Some(name) = m.volume_name().map(str::to_owned) {
            m.set_volume(&name, "local", &format!("/var/lib/strata/volumes/{name}/_data"));
        }
    }
    p.mounts
}

#[test]
fn volumes_from_copies_mounts_like_docker() {
    let containers = Containers([("src".to_owned(), source_container())].into_iter().collect());
    // Observed: `--volumes-from src:ro -v /tmp/msp/h1:/n1` on dockerd 20.10.
    let p = plan_with(&Req::default().from(&["src:ro"]).binds(&["/tmp/h1:/n1"]).0, V1_41, &containers).expect("plan");
    let got: Vec<(String, String, String, bool, String)> = p
        .inspect_mounts()
        .into_iter()
        .map(|mp| (mp.destination, mp.mount_type, mp.mode, mp.rw, mp.propagation))
        .collect();
    let want: Vec<(String, String, String, bool, String)> = [
        ("/anon1", "volume", "", false, ""),
        ("/b1", "bind", "", false, "rprivate"),
        ("/b2", "bind", "", false, "rslave"),
        ("/n1", "bind", "", true, "rprivate"),
        ("/tm", "tmpfs", "", false, ""),
    ]
    .into_iter()
    .map(|(d, t, m, rw, pr)| (d.to_owned(), t.to_owned(), m.to_owned(), rw, pr.to_owned()))
    .collect();
    assert_eq!(got, want);
    // The explicit -v won; the --tmpfs of the source is not inherited.
    assert_eq!(p.get("/n1").map(|m| m.origin.clone()), Some(MountOrigin::Bind));
    assert!(p.get("/tt").is_none());
    // Inherited volumes keep their (generated) names and are never copied up again.
    let anon = p.get("/anon1").expect("/anon1");
    assert_eq!(anon.volume_name(), Some("ee17"));
    assert!(!anon.is_anonymous_volume());
    assert!(!anon.copies_image_data());
    assert_eq!(anon.origin, MountOrigin::VolumesFrom { container: "src".into() });

    // Without :ro, write access is kept where the source had it.
    let p = plan_with(&Req::default().from(&["src"]).0, V1_41, &containers).expect("plan");
    let rw: Vec<(String, bool)> = p.inspect_mounts().into_iter().map(|mp| (mp.destination, mp.rw)).collect();
    let want: Vec<(String, bool)> = [("/anon1", true), ("/b1", false), ("/b2", true), ("/n1", true), ("/tm", true)]
        .map(|(d, rw)| (d.to_owned(), rw))
        .into();
    assert_eq!(rw, want);
}

#[test]
fn tmpfs_replaces_an_inherited_mount_and_later_volumes_from_wins() {
    let other = vec![PlannedMount {
        destination: "/b1".into(),
        kind: MountKind::Bind(BindMount {
            source: "/srv/other".into(),
            create_if_missing: false,
            propagation: Propagation::RPrivate,
            non_recursive: false,
            read_only_non_recursive: false,
            read_only_force_recursive: false,
        }),
        read_only: false,
        origin: MountOrigin::Bind,
        requested_mode: String::new(),
        mount_point: Some(MountPoint {
            mount_type: "bind".into(),
            source: "/srv/other".into(),
            destination: "/b1".into(),
            rw: true,
            propagation: "rprivate".into(),
            ..Default::default()
        }),
    }];
    let containers =
        Containers([("src".to_owned(), source_container()), ("other".to_owned(), other)].into_iter().collect());

    let p = plan_with(&Req::default().from(&["src", "other"]).0, V1_41, &containers).expect("plan");
    let b1 = p.get("/b1").expect("/b1");
    assert_eq!(b1.origin, MountOrigin::VolumesFrom { container: "other".into() });
    assert_eq!(b1.mount_point.as_ref().map(|mp| mp.source.as_str()), Some("/srv/other"));
    // Docker does not carry --mount's "must exist" over to the inheriting container.
    let MountKind::Bind(b) = &b1.kind else { panic!("bind") };
    assert!(b.create_if_missing);

    let p = plan_with(&Req::default().from(&["src"]).tmpfs(&[("/b1", "size=1m")]).0, V1_41, &containers).expect("plan");
    assert_eq!(p.get("/b1").map(|m| m.origin.clone()), Some(MountOrigin::Tmpfs));
    assert!(p.inspect_mounts().iter().all(|mp| mp.destination != "/b1"));
}

#[test]
fn parents_are_mounted_before_children() {
    let p = plan(
        &Req::default()
            .binds(&["/h/c:/a/b/c", "/h/a:/a"])
            .mounts(r#"[{"Type":"tmpfs","Target":"/a/b"}]"#)
            .tmpfs(&[("/z", "")])
            .volumes(&["rel", "/a/b/c/d"])
            .0,
    );
    let order: Vec<&str> = p.mounts.iter().map(|m| m.destination.as_str()).collect();
    assert_eq!(order, ["rel", "/a", "/z", "/a/b", "/a/b/c", "/a/b/c/d"]);
}

#[test]
fn volume_driver_warning_from_1_48() {
    let req = Req::default().driver("flocker").mounts(r#"[{"Type":"volume","Source":"vol","Target":"/d"}]"#);
    assert!(plan_at(&req.0, V1_47).expect("plan").warnings.is_empty());
    assert_eq!(plan_at(&req.0, V1_48).expect("plan").warnings, [VOLUME_DRIVER_IGNORED_WARNING]);
    let with_driver = Req::default().driver("flocker").mounts(
        r#"[{"Type":"volume","Source":"vol","Target":"/d","VolumeOptions":{"DriverConfig":{"Name":"local"}}}]"#,
    );
    assert!(plan_at(&with_driver.0, V1_48).expect("plan").warnings.is_empty());
    // --volume-driver applies to -v and anonymous volumes, never to --mount.
    let p = plan_at(&req.0, V1_48).expect("plan");
    assert_eq!(p.get("/d").and_then(|m| m.volume()).map(|v| v.driver.as_str()), Some(""));
}

#[test]
fn set_volume_records_the_engines_answer() {
    // (request, actual driver, Mode after the engine recorded the volume)
    let cases: Vec<(Req, &str, &str)> = vec![
        (Req::default().binds(&["vol:/d"]), "local", "z"),
        (Req::default().binds(&["vol:/d"]), "flocker", ""),
        (Req::default().binds(&["vol:/d:z"]), "flocker", "z"),
        (Req::default().binds(&["vol:/d:ro"]), "local", "ro"),
        (Req::default().mounts(r#"[{"Type":"volume","Source":"vol","Target":"/d"}]"#), "flocker", ""),
        (Req::default().mounts(r#"[{"Type":"volume","Target":"/d"}]"#), "local", "z"),
        (Req::default().volumes(&["/d"]), "local", ""),
    ];
    for (req, driver, mode) in cases {
        let mut p = plan(&req.0);
        let m = p.mounts.iter_mut().find(|m| m.destination == "/d").expect("/d");
        let name = m.volume_name().unwrap_or("0123abcd").to_owned();
        m.set_volume(&name, driver, &format!("/var/lib/strata/volumes/{name}/_data"));
        let mp = m.mount_point.clone().expect("listed");
        assert_eq!(
            (mp.name.as_str(), mp.driver.as_str(), mp.mode.as_str()),
            (name.as_str(), driver, mode),
            "{:?}",
            req.0
        );
        assert_eq!(mp.source, format!("/var/lib/strata/volumes/{name}/_data"));
        assert_eq!(m.volume_name(), Some(name.as_str()));
    }
}

/// Errors Docker reports only at `docker start` (500).
#[test]
fn start_errors_match_docker() {
    let cases: Vec<(&str, Req, ApiVersion, &str)> = vec![
        ("bogus --tmpfs option", Req::default().tmpfs(&[("/t", "bogus")]), V1_41, r#"invalid tmpfs option ["bogus"]"#),
        ("flag with a value", Req::default().tmpfs(&[("/t", "nosuid=1")]), V1_41, r#"invalid tmpfs option ["nosuid" "1"]"#),
        (
            "--tmpfs size the kernel refuses",
            Req::default().tmpfs(&[("/t", "size=abc")]),
            V1_41,
            "failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: error mounting \"tmpfs\" to rootfs at \"/t\": mount tmpfs:/t (via /proc/self/fd/6), flags: 0xe, data: size=abc: invalid argument: unknown",
        ),
        (
            "negative SizeBytes",
            Req::default().mounts(r#"[{"Type":"tmpfs","Target":"/x","TmpfsOptions":{"SizeBytes":-1}}]"#),
            V1_41,
            "failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: error mounting \"tmpfs\" to rootfs at \"/x\": mount tmpfs:/x (via /proc/self/fd/6), flags: 0xe, data: size=-1: invalid argument: unknown",
        ),
        ("anonymous volume over /", Req::default().volumes(&["/"]), V1_41, "invalid specification: destination can't be '/'"),
        (
            "writable bind marked non-recursive read-only",
            Req::default().mounts(r#"[{"Type":"bind","Source":"/tmp","Target":"/x","BindOptions":{"ReadOnlyNonRecursive":true}}]"#),
            V1_44,
            "mount options conflict: !ReadOnly && BindOptions.ReadOnlyNonRecursive",
        ),
        (
            "writable bind forced recursive read-only",
            Req::default().mounts(r#"[{"Type":"bind","Source":"/tmp","Target":"/x","BindOptions":{"ReadOnlyForceRecursive":true}}]"#),
            V1_44,
            "mount options conflict: !ReadOnly && BindOptions.ReadOnlyForceRecursive",
        ),
        (
            "both recursive read-only options",
            Req::default().mounts(r#"[{"Type":"bind","Source":"/tmp","Target":"/x","ReadOnly":true,"BindOptions":{"ReadOnlyNonRecursive":true,"ReadOnlyForceRecursive":true}}]"#),
            V1_44,
            "mount options conflict: ReadOnlyNonRecursive && BindOptions.ReadOnlyForceRecursive",
        ),
    ];
    for (what, req, api, want) in cases {
        let p = plan_at(&req.0, api).unwrap_or_else(|e| panic!("{what}: accepted at create by Docker, got {e}"));
        let err = p.validate_at_start().expect_err(what);
        assert_eq!(err.to_string(), want, "{what}");
        assert_eq!(err.status_class(), E500, "{what}");
    }
    let fine = Req::default()
        .tmpfs(&[("/tmp", "rw,size=64m"), ("/run", "rw,size=8m"), ("/t", "size=10%,mode=1777,uid=1000,exec")])
        .mounts(r#"[{"Type":"tmpfs","Target":"/m","TmpfsOptions":{"SizeBytes":67108864,"Mode":448}}]"#)
        .binds(&["/h:/b:ro", "vol:/v"]);
    assert_eq!(plan(&fine.0).validate_at_start(), Ok(()));
}

#[test]
fn plans_survive_a_round_trip_through_json() {
    let req = Req::default()
        .binds(&["/h:/b:ro,Z", "vol:/v:nocopy", "/anon"])
        .mounts(r#"[{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":1024}},{"Type":"bind","Source":"/tmp","Target":"/x","BindOptions":{"Propagation":"rshared"}}]"#)
        .tmpfs(&[("/tt", "size=1m")])
        .volumes(&["/data"]);
    let p = plan(&req.0);
    let json = serde_json::to_string(&p).expect("encode");
    let back: MountPlan = serde_json::from_str(&json).expect("decode");
    assert_eq!(back, p);
}
