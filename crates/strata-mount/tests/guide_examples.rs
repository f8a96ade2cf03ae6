//! Every mount example of the user guide (`seed/000_…txt`), as the docker CLI sends it, planned
//! at the API version strata claims. Request shapes are the ones captured on the wire from docker
//! 28.2.2 (see `fixtures/ref_docker_inspect_mounts.json`); `$(pwd)` is `/home/user/proj`.

use std::collections::BTreeMap;
use std::path::Path;

use strata_mount::{
    ANONYMOUS_VOLUME_LABEL, ApiVersion, ErrorClass, MountKind, MountOrigin, MountPlan, MountPoint, MountRequest,
    NoContainers, PlanContext, RecursiveReadOnly, TmpfsMount, VolumeName, plan_mounts,
};

const API: ApiVersion = ApiVersion::new(1, 47);
const DATA_ROOT: &str = "/var/lib/strata";
const PWD: &str = "/home/user/proj";

/// `$(pwd)/src` and `$(pwd)/config` exist; nothing else under `$(pwd)` does.
fn host(path: &Path) -> bool {
    path == Path::new(PWD) || path.starts_with(format!("{PWD}/src")) || path.starts_with(format!("{PWD}/config"))
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.replace("$(pwd)", PWD)).collect()
}

/// A request as the CLI builds it: `-v` with a source → Binds, `-v /path` → Config.Volumes,
/// `--mount` → Mounts (JSON as sent), `--tmpfs` → Tmpfs, `--read-only` → ReadonlyRootfs.
fn request(binds: &[&str], volumes: &[&str], mounts: &str, tmpfs: &[(&str, &str)], read_only: bool) -> MountRequest {
    MountRequest {
        binds: strings(binds),
        volumes: strings(volumes),
        mounts: serde_json::from_str(&mounts.replace("$(pwd)", PWD)).expect("mounts json"),
        tmpfs: tmpfs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<BTreeMap<_, _>>(),
        readonly_rootfs: read_only,
        ..Default::default()
    }
}

fn plan(req: &MountRequest) -> Result<MountPlan, strata_mount::MountError> {
    plan_mounts(req, &PlanContext { api_version: API, daemon_root: DATA_ROOT, host: &host, containers: &NoContainers })
}

fn ok(req: &MountRequest) -> MountPlan {
    let p = plan(req).unwrap_or_else(|e| panic!("{req:?}: {e}"));
    assert_eq!(p.validate_at_start(), Ok(()));
    p
}

fn oci_options(p: &MountPlan, destination: &str, source: Option<&str>) -> Vec<String> {
    let m = p.get(destination).unwrap_or_else(|| panic!("no mount at {destination}"));
    m.oci_mount(source, &RecursiveReadOnly::Supported).expect("oci").options
}

fn inspect(p: &MountPlan, destination: &str) -> MountPoint {
    p.get(destination).and_then(|m| m.mount_point.clone()).unwrap_or_else(|| panic!("{destination} not listed"))
}

#[test]
fn legacy_v_bind_mounts() {
    // docker run -d -v $(pwd)/src:/app/src -v $(pwd)/config:/app/config:ro myapp:dev
    let p = ok(&request(&["$(pwd)/src:/app/src", "$(pwd)/config:/app/config:ro"], &[], "[]", &[], false));
    let src = p.get("/app/src").expect("src");
    let MountKind::Bind(b) = &src.kind else { panic!("bind") };
    assert_eq!(b.source, "/home/user/proj/src");
    assert!(b.create_if_missing, "-v silently creates a missing host directory");
    assert!(!src.read_only);
    assert_eq!(oci_options(&p, "/app/src", None), ["rbind", "rprivate"]);
    let config = inspect(&p, "/app/config");
    assert_eq!((config.mode.as_str(), config.rw, config.propagation.as_str()), ("ro", false, "rprivate"));
    assert_eq!(oci_options(&p, "/app/config", None), ["rbind", "rro", "rprivate"]);

    // ... and -v with a host path that does not exist yet is still accepted.
    assert!(plan(&request(&["$(pwd)/not-yet:/app/x"], &[], "[]", &[], false)).is_ok());
}

#[test]
fn modern_mount_bind_mounts() {
    // docker run -d --mount type=bind,src=$(pwd)/src,dst=/app/src
    //               --mount type=bind,src=$(pwd)/config,dst=/app/config,readonly myapp:dev
    let p = ok(&request(
        &[],
        &[],
        r#"[{"Type":"bind","Source":"$(pwd)/src","Target":"/app/src"},{"Type":"bind","Source":"$(pwd)/config","Target":"/app/config","ReadOnly":true}]"#,
        &[],
        false,
    ));
    let MountKind::Bind(b) = &p.get("/app/src").expect("src").kind else { panic!("bind") };
    assert!(!b.create_if_missing);
    let config = inspect(&p, "/app/config");
    assert_eq!((config.mode.as_str(), config.rw), ("", false));

    // "--mount errors if source doesn't exist (safer)"
    let err = plan(&request(&[], &[], r#"[{"Type":"bind","Source":"$(pwd)/nope","Target":"/app/src"}]"#, &[], false))
        .expect_err("missing source");
    assert_eq!(
        err.to_string(),
        r#"invalid mount config for type "bind": bind source path does not exist: /home/user/proj/nope"#
    );
    assert_eq!(err.status_class(), ErrorClass::InvalidParameter);
}

#[test]
fn tmpfs_flag() {
    // docker run -d --tmpfs /tmp:rw,size=64m --tmpfs /run/secrets:rw,size=1m myapp:1.0
    let p = ok(&request(&[], &[], "[]", &[("/tmp", "rw,size=64m"), ("/run/secrets", "rw,size=1m")], false));
    assert!(p.inspect_mounts().is_empty(), "--tmpfs mounts are not listed by docker inspect");
    assert_eq!(
        p.get("/tmp").map(|m| m.kind.clone()),
        Some(MountKind::Tmpfs(TmpfsMount {
            size_bytes: Some(67_108_864),
            mode: None,
            options: strings(&["rw", "size=64m"])
        }))
    );
    assert_eq!(oci_options(&p, "/tmp", None), ["noexec", "nosuid", "nodev", "rprivate", "rw", "size=64m"]);
    assert_eq!(oci_options(&p, "/run/secrets", None), ["noexec", "nosuid", "nodev", "rprivate", "rw", "size=1m"]);
}

#[test]
fn tmpfs_mount() {
    // docker run -d --mount type=tmpfs,dst=/tmp,tmpfs-size=67108864
    //               --mount type=tmpfs,dst=/run/secrets,tmpfs-mode=0700 myapp:1.0
    let p = ok(&request(
        &[],
        &[],
        r#"[{"Type":"tmpfs","Target":"/tmp","TmpfsOptions":{"SizeBytes":67108864}},{"Type":"tmpfs","Target":"/run/secrets","TmpfsOptions":{"Mode":448}}]"#,
        &[],
        false,
    ));
    for destination in ["/tmp", "/run/secrets"] {
        let mp = inspect(&p, destination);
        assert_eq!((mp.mount_type.as_str(), mp.source.as_str(), mp.mode.as_str(), mp.rw), ("tmpfs", "", "", true));
    }
    assert_eq!(oci_options(&p, "/tmp", None), ["noexec", "nosuid", "nodev", "rprivate", "size=64m"]);
    assert_eq!(oci_options(&p, "/run/secrets", None), ["noexec", "nosuid", "nodev", "rprivate", "mode=700"]);
    let MountKind::Tmpfs(t) = &p.get("/run/secrets").expect("secrets").kind else { panic!("tmpfs") };
    assert_eq!(t.mode, Some(0o700));
}

#[test]
fn named_volume() {
    // docker run -d -v pgdata:/var/lib/postgresql/data --name db postgres:16
    // (postgres:16 declares VOLUME /var/lib/postgresql/data: the named volume takes its place)
    let mut req = request(&["pgdata:/var/lib/postgresql/data"], &[], "[]", &[], false);
    req.image_volumes = strings(&["/var/lib/postgresql/data"]);
    let p = ok(&req);
    assert_eq!(p.mounts.len(), 1);
    let m = p.get("/var/lib/postgresql/data").expect("data");
    assert_eq!(m.origin, MountOrigin::Bind);
    assert_eq!(m.volume().map(|v| v.name.clone()), Some(VolumeName::Named("pgdata".into())));
    assert!(m.copies_image_data(), "an empty new volume gets the image's content");
    let mp = inspect(&p, "/var/lib/postgresql/data");
    assert_eq!(
        (mp.name.as_str(), mp.driver.as_str(), mp.mode.as_str(), mp.propagation.as_str()),
        ("pgdata", "local", "z", "")
    );
}

#[test]
fn anonymous_volume() {
    // docker run -d -v /var/lib/postgresql/data postgres:16  (the CLI sends Config.Volumes)
    let p = ok(&request(&[], &["/var/lib/postgresql/data"], "[]", &[], false));
    let m = p.get("/var/lib/postgresql/data").expect("data");
    assert!(m.is_anonymous_volume());
    assert_eq!(m.origin, MountOrigin::ConfigVolume);
    assert!(m.volume().is_some_and(|v| v.labels.get(ANONYMOUS_VOLUME_LABEL).is_some_and(String::is_empty)));
    assert_eq!(inspect(&p, "/var/lib/postgresql/data").mode, "");
}

#[test]
fn shared_volume_read_only_reader() {
    // docker run -d --name writer -v shared_data:/data alpine ...
    // docker run -d --name reader -v shared_data:/data:ro alpine tail -f /data/log.txt
    let writer = ok(&request(&["shared_data:/data"], &[], "[]", &[], false));
    assert!(inspect(&writer, "/data").rw);
    let reader = ok(&request(&["shared_data:/data:ro"], &[], "[]", &[], false));
    let mp = inspect(&reader, "/data");
    assert_eq!((mp.name.as_str(), mp.mode.as_str(), mp.rw), ("shared_data", "ro", false));
    assert_eq!(oci_options(&reader, "/data", Some("/var/lib/strata/volumes/shared_data/_data")), ["rbind", "rro"]);
}

#[test]
fn read_only_root_with_writable_mounts() {
    // docker run -d --read-only --tmpfs /tmp:rw,size=64m --tmpfs /run:rw,size=8m
    //            -v app_data:/app/data myapp:latest
    let p = ok(&request(&["app_data:/app/data"], &[], "[]", &[("/tmp", "rw,size=64m"), ("/run", "rw,size=8m")], true));
    assert!(p.readonly_rootfs);
    assert!(p.mounts.iter().all(|m| !m.read_only), "volumes and tmpfs stay writable on a read-only rootfs");
    assert_eq!(p.inspect_mounts().len(), 1);
    assert_eq!(oci_options(&p, "/run", None), ["noexec", "nosuid", "nodev", "rprivate", "rw", "size=8m"]);
}

#[test]
fn backup_and_restore() {
    // docker run --rm -v pgdata:/source:ro -v $(pwd):/backup alpine tar czf ...
    let p = ok(&request(&["pgdata:/source:ro", "$(pwd):/backup"], &[], "[]", &[], false));
    assert!(!inspect(&p, "/source").rw);
    assert_eq!(inspect(&p, "/backup").source, PWD);
    // docker run --rm -v pgdata:/target -v $(pwd):/backup alpine tar xzf ...
    let p = ok(&request(&["pgdata:/target", "$(pwd):/backup"], &[], "[]", &[], false));
    assert!(inspect(&p, "/target").rw);
}

#[test]
fn mount_without_type_is_a_volume() {
    // docker run --mount src=mydata,dst=/data img   (the CLI fills in Type "volume")
    let p = ok(&request(&[], &[], r#"[{"Type":"volume","Source":"mydata","Target":"/data"}]"#, &[], false));
    let mp = inspect(&p, "/data");
    assert_eq!((mp.mount_type.as_str(), mp.name.as_str(), mp.mode.as_str()), ("volume", "mydata", "z"));
    // docker run -v mydata:/app/data img
    let p = ok(&request(&["mydata:/app/data"], &[], "[]", &[], false));
    assert_eq!(inspect(&p, "/app/data").name, "mydata");
}

#[test]
fn compose_style_services() {
    // compose turns ./src into an absolute path and sends Binds.
    let p = ok(&request(
        &["$(pwd)/src:/app/src", "app_uploads:/app/uploads", "$(pwd)/init.sql:/docker-entrypoint-initdb.d/init.sql:ro"],
        &[],
        "[]",
        &[],
        false,
    ));
    let order: Vec<&str> = p.mounts.iter().map(|m| m.destination.as_str()).collect();
    assert_eq!(order, ["/app/src", "/app/uploads", "/docker-entrypoint-initdb.d/init.sql"]);
    assert_eq!(inspect(&p, "/docker-entrypoint-initdb.d/init.sql").mode, "ro");
}
