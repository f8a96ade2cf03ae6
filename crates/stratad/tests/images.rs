//! Images through the stock docker CLI and raw HTTP: import, list, inspect, history, tag, rmi,
//! save and load (including an archive Docker 20.10 wrote), the API version gates, and the
//! layer store's crash safety (the daemon killed at injected points, then restarted).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use strata_testkit::refdocker::RefDocker;
use strata_testkit::{Daemon, DaemonOptions, image::busybox_rootfs_tar};

const FIXTURE: &str = "tests/data/docker-20.10-3layers.tar";
const FIXTURE_EXPECT: &str = "tests/data/docker-20.10-3layers.expect";

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

/// Imports the busybox rootfs as `busybox` (what `docker run busybox` needs).
fn import_busybox(d: &Daemon, tag: &str) -> String {
    let tar = busybox_rootfs_tar().display().to_string();
    let out = d.docker(&["import", "-c", r#"CMD ["/bin/sh"]"#, &tar, tag]);
    out.ok().trim().to_owned()
}

/// The files of a tar, by name.
fn tar_files(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut a = tar::Archive::new(data);
    let mut out = Vec::new();
    for e in a.entries().expect("entries") {
        let mut e = e.expect("entry");
        let name = e.path().expect("path").display().to_string();
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut buf).expect("read");
        out.push((name, buf));
    }
    out
}

/// Layer directories under the driver home (without the link dir and dot-dirs).
fn layer_dirs(d: &Daemon) -> Vec<String> {
    let home = d.data_root.join("overlay2");
    let mut v: Vec<String> = std::fs::read_dir(&home)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != "l" && !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn import_list_inspect_history_tag_and_rmi_read_like_docker() {
    if !strata_testkit::require_root("import_list_inspect_history_tag_and_rmi_read_like_docker") {
        return;
    }
    let d = Daemon::start();
    let tar_bytes = std::fs::read(busybox_rootfs_tar()).expect("tar");
    let out = d.docker(&[
        "import",
        "-c",
        r#"CMD ["/bin/sh"]"#,
        "-c",
        "ENV A=b",
        "-m",
        "hello",
        &busybox_rootfs_tar().display().to_string(),
        "bb:1",
    ]);
    let id = out.ok().trim().to_owned();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");

    let listing = d.docker(&["images"]);
    let text = listing.ok();
    assert!(text.starts_with("REPOSITORY   TAG       IMAGE ID       CREATED"), "{text}");
    assert!(text.contains(&format!("bb           1         {}", &id[7..19])), "{text}");

    let inspect: Value = serde_json::from_str(d.docker(&["image", "inspect", "bb:1"]).ok()).expect("json");
    let img = &inspect[0];
    assert_eq!(img["Id"], id.as_str());
    assert_eq!(img["Comment"], "hello");
    assert_eq!(img["Config"]["Cmd"], serde_json::json!(["/bin/sh"]));
    assert_eq!(img["Config"]["Env"], serde_json::json!(["A=b"]));
    assert_eq!(img["RootFS"]["Layers"], serde_json::json!([format!("sha256:{}", sha256_hex(&tar_bytes))]));
    assert_eq!(img["GraphDriver"]["Name"], "overlay2");
    let upper = img["GraphDriver"]["Data"]["UpperDir"].as_str().expect("UpperDir");
    assert!(
        upper.starts_with(&d.data_root.join("overlay2").display().to_string()) && upper.ends_with("/diff"),
        "{upper}"
    );
    assert!(Path::new(upper).join("bin/busybox").is_file());
    assert!(img["Size"].as_u64().expect("size") > 1_000_000);

    let hist = d.docker(&["history", "bb:1"]);
    assert!(hist.ok().contains("hello"), "{}", hist.stdout);
    assert!(hist.stdout.starts_with("IMAGE          CREATED"), "{}", hist.stdout);

    d.docker(&["tag", "bb:1", "other/name:2"]).ok();
    d.docker(&["tag", "bb:1", "busybox"]).ok();
    let formatted = d.docker(&["image", "inspect", "--format", "{{json .RepoTags}}", "busybox"]);
    assert_eq!(formatted.ok().trim(), r#"["bb:1","busybox:latest","other/name:2"]"#);

    // Docker's texts for the failures.
    d.docker(&["image", "inspect", "nosuch:1"]).fails_with(1, "No such image: nosuch:1");
    d.docker(&["rmi", "nosuch"]).fails_with(1, "No such image: nosuch:latest");
    d.docker(&["tag", "nosuch:1", "x"]).fails_with(1, "No such image: nosuch:1");
    d.docker(&["rmi", &id[7..19]]).fails_with(
        1,
        &format!(
            "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
            &id[7..19]
        ),
    );
    // Removing one of several tags only untags.
    assert_eq!(d.docker(&["rmi", "other/name:2"]).ok(), "Untagged: other/name:2\n");
    assert_eq!(d.docker(&["rmi", "busybox"]).ok(), "Untagged: busybox:latest\n");
    let gone = d.docker(&["rmi", "bb:1"]);
    let text = gone.ok();
    assert!(text.starts_with(&format!("Untagged: bb:1\nDeleted: {id}\nDeleted: sha256:")), "{text}");
    assert!(d.docker(&["images", "-q"]).ok().is_empty());
    std::thread::sleep(Duration::from_millis(200));
    assert!(layer_dirs(&d).is_empty(), "{:?}", layer_dirs(&d));
    assert!(d.docker(&["info"]).ok().contains(" Images: 0"));
}

#[test]
fn an_archive_saved_by_docker_loads_and_saves_back_bit_exact() {
    if !strata_testkit::require_root("an_archive_saved_by_docker_loads_and_saves_back_bit_exact") {
        return;
    }
    let d = Daemon::start();
    let expect = std::fs::read_to_string(fixture(FIXTURE_EXPECT)).expect("expect");
    let mut parts = expect.split_whitespace();
    let (want_id, want_layers, want_size) =
        (parts.next().expect("id"), parts.next().expect("layers"), parts.next().expect("size"));
    let out = d.docker(&["load", "-i", &fixture(FIXTURE).display().to_string()]);
    assert_eq!(out.ok(), "Loaded image: fixture/three:layers\n");
    let got = d.docker(&[
        "image",
        "inspect",
        "--format",
        "{{.Id}} {{json .RootFS.Layers}} {{.Size}}",
        "fixture/three:layers",
    ]);
    assert_eq!(got.ok().trim(), format!("{want_id} {want_layers} {want_size}"), "same id, diff ids and size as Docker");

    // Whiteouts became overlay whiteouts, the opaque directory is opaque, owners and links kept.
    let data: Value = serde_json::from_str(d.docker(&["image", "inspect", "fixture/three:layers"]).ok()).expect("json");
    let lower = data[0]["GraphDriver"]["Data"]["LowerDir"].as_str().expect("LowerDir").to_owned();
    let lowers: Vec<&str> = lower.split(':').collect();
    assert_eq!(lowers.len(), 2, "{lower}");
    let base = Path::new(lowers[1]);
    let second = Path::new(lowers[0]);
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let wh = std::fs::symlink_metadata(second.join("bin/link")).expect("whiteout");
    assert!(wh.file_type().is_char_device() && wh.rdev() == 0);
    let owned = std::fs::metadata(base.join("home/user/file")).expect("owned");
    assert_eq!((owned.uid(), owned.gid(), owned.mode() & 0o7777), (1000, 1000, 0o600));
    assert_eq!(
        std::fs::metadata(base.join("etc/hard")).expect("hard").ino(),
        std::fs::metadata(base.join("etc/passwd")).expect("p").ino()
    );
    let upper = Path::new(data[0]["GraphDriver"]["Data"]["UpperDir"].as_str().expect("upper"));
    let mut v = [0u8; 4];
    assert_eq!(rustix_getxattr(&upper.join("secret"), &mut v), Some(b"y".to_vec()));

    // Saved again, every layer tar hashes to its diff id, and a second daemon gets the same image.
    let saved = d.root.join("saved.tar");
    d.docker(&["save", "-o", &saved.display().to_string(), "fixture/three:layers"]).ok();
    let bytes = std::fs::read(&saved).expect("saved");
    let files = tar_files(&bytes);
    let layers: Vec<String> = serde_json::from_str(want_layers).expect("layers");
    for diff in &layers {
        let name = format!("blobs/sha256/{}", &diff[7..]);
        let (_, content) = files.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(format!("sha256:{}", sha256_hex(content)), *diff);
    }
    for name in ["manifest.json", "index.json", "oci-layout", "repositories"] {
        assert!(files.iter().any(|(n, _)| n == name), "{name} missing");
    }
    let other = Daemon::start();
    assert_eq!(
        other.docker(&["load", "-i", &saved.display().to_string()]).ok(),
        "Loaded image: fixture/three:layers\n"
    );
    assert_eq!(other.docker(&["image", "inspect", "--format", "{{.Id}}", "fixture/three:layers"]).ok().trim(), want_id);

    // And Docker itself loads what strata saved.
    if let Some(refd) = RefDocker::get("an_archive_saved_by_docker_loads_and_saves_back_bit_exact") {
        let r = refd.docker(&["load", "-i", &saved.display().to_string()]);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let _ = refd.docker(&["rmi", "fixture/three:layers"]);
    }
}

fn rustix_getxattr(path: &Path, buf: &mut [u8]) -> Option<Vec<u8>> {
    let n = rustix::fs::lgetxattr(path, "trusted.overlay.opaque", &mut *buf).ok()?;
    Some(buf[..n].to_vec())
}

#[test]
fn busybox_round_trips_with_the_reference_docker() {
    if !strata_testkit::require_root("busybox_round_trips_with_the_reference_docker") {
        return;
    }
    let Some(reference) = RefDocker::get("busybox_round_trips_with_the_reference_docker") else {
        return;
    };
    let d = Daemon::start();
    let id = import_busybox(&d, "strata-rt/busybox:1");
    let saved = d.root.join("bb.tar");
    d.docker(&["save", "-o", &saved.display().to_string(), "strata-rt/busybox:1"]).ok();
    let refd = |args: &[&str]| reference.docker(args);
    let loaded = refd(&["load", "-i", &saved.display().to_string()]);
    assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
    let ran = refd(&["run", "--rm", "strata-rt/busybox:1", "sh", "-c", "echo round-trip"]);
    assert_eq!(String::from_utf8_lossy(&ran.stdout), "round-trip\n", "{}", String::from_utf8_lossy(&ran.stderr));
    let inspect = refd(&["image", "inspect", "--format", "{{.Id}}", "strata-rt/busybox:1"]);
    assert_eq!(String::from_utf8_lossy(&inspect.stdout).trim(), id, "Docker computes the same image id");
    // Docker saves it, strata loads it back under the same id.
    let back = d.root.join("back.tar");
    assert!(refd(&["save", "-o", &back.display().to_string(), "strata-rt/busybox:1"]).status.success());
    let _ = refd(&["rmi", "strata-rt/busybox:1"]);
    d.docker(&["rmi", "strata-rt/busybox:1"]).ok();
    assert_eq!(d.docker(&["load", "-i", &back.display().to_string()]).ok(), "Loaded image: strata-rt/busybox:1\n");
    assert_eq!(d.docker(&["image", "inspect", "--format", "{{.Id}}", "strata-rt/busybox:1"]).ok().trim(), id);
}

#[test]
fn wire_shapes_follow_the_api_version() {
    if !strata_testkit::require_root("wire_shapes_follow_the_api_version") {
        return;
    }
    let d = Daemon::start();
    let id = import_busybox(&d, "gates:1");
    d.docker(&["import", &busybox_rootfs_tar().display().to_string()]).ok();
    let untagged = |v: &str| -> Value {
        let list = d.http("GET", &format!("/v{v}/images/json")).json();
        list.as_array().expect("list").iter().find(|i| i["Id"] != id.as_str()).cloned().expect("untagged image")
    };
    assert_eq!(untagged("1.41")["RepoTags"], serde_json::json!(["<none>:<none>"]));
    assert!(untagged("1.41").get("VirtualSize").is_some());
    assert_eq!(untagged("1.43")["RepoTags"], serde_json::json!([]));
    assert!(untagged("1.44").get("VirtualSize").is_none());
    let inspect = |v: &str| d.http("GET", &format!("/v{v}/images/gates:1/json")).json();
    assert!(inspect("1.44").get("ContainerConfig").is_some() && inspect("1.44").get("Container").is_some());
    assert!(inspect("1.45").get("ContainerConfig").is_none());
    assert!(inspect("1.49")["Config"].get("Hostname").is_some());
    let trimmed = inspect("1.50");
    assert!(trimmed["Config"].get("Hostname").is_none() && trimmed["Config"].get("AttachStdin").is_none());
    assert_eq!(trimmed["Config"]["Cmd"], serde_json::json!(["/bin/sh"]));
    let r = d.http("GET", "/images/json?filters=%7B%22bogus%22%3A%7B%22x%22%3Atrue%7D%7D");
    assert_eq!((r.status, r.json()["message"].as_str().unwrap_or("")), (400, "Invalid filter 'bogus'"));
    let r = d.http("GET", "/v1.41/images/nosuch/json");
    assert_eq!((r.status, r.json()["message"].as_str().unwrap_or("")), (404, "No such image: nosuch:latest"));
    let r = d.http("GET", "/images/get?names=nosuch:1");
    assert_eq!((r.status, r.json()["message"].as_str().unwrap_or("")), (404, "reference does not exist"));
    let r = d.http("POST", "/images/gates:1/tag?repo=Bad&tag=x");
    assert_eq!(r.status, 400);
    let r = d.http("POST", "/images/gates:1/tag?repo=ok&tag=x");
    assert_eq!(r.status, 201);
}

#[test]
fn list_filters_select_like_docker() {
    if !strata_testkit::require_root("list_filters_select_like_docker") {
        return;
    }
    let d = Daemon::start();
    let tar = busybox_rootfs_tar().display().to_string();
    d.docker(&["import", "-c", "LABEL tier=base", &tar, "first:1"]).ok();
    std::thread::sleep(Duration::from_millis(1100));
    d.docker(&["import", "-c", "LABEL tier=app", &tar, "second:1"]).ok();
    std::thread::sleep(Duration::from_millis(1100));
    d.docker(&["import", &tar]).ok();
    let names = |filter: &str| -> Vec<String> {
        let out = d.docker(&["images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", filter]);
        out.ok().lines().map(str::to_owned).collect()
    };
    assert_eq!(names("dangling=true"), vec!["<none>:<none>"]);
    assert_eq!(names("dangling=false"), vec!["second:1", "first:1"]);
    assert_eq!(names("reference=fir*"), vec!["first:1"]);
    assert_eq!(names("reference=*:1"), vec!["second:1", "first:1"]);
    assert_eq!(names("label=tier=app"), vec!["second:1"]);
    assert_eq!(names("label=tier"), vec!["second:1", "first:1"]);
    assert_eq!(names("before=second:1"), vec!["first:1"]);
    assert_eq!(names("since=first:1"), vec!["<none>:<none>", "second:1"]);
    d.docker(&["images", "--filter", "dangling=maybe"]).fails_with(1, "Invalid filter 'dangling=[maybe]'");
}

#[test]
fn load_errors_arrive_inside_a_200_stream_and_leave_nothing() {
    if !strata_testkit::require_root("load_errors_arrive_inside_a_200_stream_and_leave_nothing") {
        return;
    }
    let d = Daemon::start();
    let r =
        d.http_raw("POST", "/images/load?quiet=1", &[("Content-Type", "application/x-tar")], Some(b"garbagegarbage"));
    assert_eq!(r.status, 200);
    let line: Value = serde_json::from_slice(r.body.split(|b| *b == b'\n').next().expect("line")).expect("json");
    assert!(line["errorDetail"]["message"].is_string(), "{line}");
    assert_eq!(line["error"], line["errorDetail"]["message"]);
    d.docker_with_stdin(&["load"], Some(b"not a tar at all, not even close.....")).fails_with(1, "");

    // A hostile rootfs: an entry escaping with `..` fails cleanly, with no partial layer left.
    let mut hostile = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.as_gnu_mut().expect("gnu").name[..9].copy_from_slice(b"../escape");
    h.set_cksum();
    hostile.append(&h, &b"bad"[..]).expect("append");
    let hostile = hostile.into_inner().expect("tar");
    let r = d.http_raw("POST", "/images/create?fromSrc=-&repo=evil", &[("Content-Type", "text/plain")], Some(&hostile));
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(r.json()["message"].as_str().unwrap_or("").contains("Error processing tar file"), "{}", r.text());
    assert!(!d.root.join("escape").exists() && !d.data_root.join("escape").exists());
    std::thread::sleep(Duration::from_millis(200));
    assert!(layer_dirs(&d).is_empty(), "{:?}", layer_dirs(&d));
    assert!(d.docker(&["images", "-aq"]).ok().is_empty());
}

#[test]
fn the_vfs_driver_stores_full_copies() {
    if !strata_testkit::require_root("the_vfs_driver_stores_full_copies") {
        return;
    }
    let d = Daemon::start_with(DaemonOptions {
        config_json: Some(r#"{"storage-driver":"vfs"}"#.into()),
        ..Default::default()
    });
    assert!(d.docker(&["info"]).ok().contains("Storage Driver: vfs"));
    d.docker(&["load", "-i", &fixture(FIXTURE).display().to_string()]).ok();
    let expect = std::fs::read_to_string(fixture(FIXTURE_EXPECT)).expect("expect");
    let got = d.docker(&[
        "image",
        "inspect",
        "--format",
        "{{.Id}} {{json .RootFS.Layers}} {{.Size}}",
        "fixture/three:layers",
    ]);
    assert_eq!(got.ok().trim(), expect.trim());
    // The top layer is the whole filesystem: the whiteout deleted, the opaque dir replaced.
    let dirs: Vec<PathBuf> =
        std::fs::read_dir(d.data_root.join("vfs/dir")).expect("vfs").flatten().map(|e| e.path()).collect();
    let top = dirs.iter().find(|p| p.join("secret/new").exists()).expect("top layer");
    assert!(!top.join("bin/link").exists() && !top.join("secret/old").exists());
    assert!(top.join("etc/motd").exists() && top.join("bin/hello").exists());
    let saved = d.root.join("saved.tar");
    d.docker(&["save", "-o", &saved.display().to_string(), "fixture/three:layers"]).ok();
    let layers: Vec<String> = serde_json::from_str(expect.split_whitespace().nth(1).expect("layers")).expect("json");
    let files = tar_files(&std::fs::read(&saved).expect("read"));
    for diff in &layers {
        let (_, content) = files.iter().find(|(n, _)| n.ends_with(&diff[7..])).expect("layer blob");
        assert_eq!(format!("sha256:{}", sha256_hex(content)), *diff);
    }
}

/// Starts the daemon of `d` by hand with a failpoint, sends `request`, and waits for the abort.
fn crash_at(d: &mut Daemon, failpoint: &str, request: impl FnOnce(&Daemon)) {
    d.stop();
    let mut child = d
        .command()
        .env("STRATA_FAILPOINT", failpoint)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let t0 = Instant::now();
    while strata_testkit::http::request(&d.socket, "HEAD", "/_ping", &[], None).map(|r| r.status).ok() != Some(200) {
        assert!(t0.elapsed() < Duration::from_secs(20), "daemon did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    request(d);
    let t0 = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(!status.success(), "the daemon was expected to abort at {failpoint}");
            break;
        }
        if t0.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("failpoint {failpoint} was not reached");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    d.start_again();
}

fn db_count(d: &Daemon, table: &str) -> i64 {
    let out = std::process::Command::new("sqlite3")
        .arg(d.data_root.join("strata.db"))
        .arg(format!("SELECT count(*) FROM {table}"))
        .output()
        .expect("sqlite3");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(-1)
}

#[test]
fn a_crash_at_any_point_of_import_load_or_rmi_leaves_nothing_behind() {
    if !strata_testkit::require_root("a_crash_at_any_point_of_import_load_or_rmi_leaves_nothing_behind") {
        return;
    }
    let mut d = Daemon::start();
    let keep = import_busybox(&d, "keep:1");
    let tar = std::fs::read(busybox_rootfs_tar()).expect("tar");
    let mut unique = tar.clone();
    // Another layer: same files plus one byte more at the end of the archive.
    unique.extend_from_slice(&[0u8; 512]);
    for point in ["layer-applied", "layer-published"] {
        crash_at(&mut d, point, |d| {
            let _ = strata_testkit::http::request(
                &d.socket,
                "POST",
                "/images/create?fromSrc=-&repo=crash",
                &[("Content-Type", "text/plain")],
                Some(&unique),
            );
        });
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(layer_dirs(&d).len(), 1, "{point}: only keep:1's layer is left: {:?}", layer_dirs(&d));
        assert_eq!(db_count(&d, "layers"), 1, "{point}");
        assert_eq!(db_count(&d, "layer_refs"), 1, "{point}");
        assert_eq!(d.docker(&["images", "-q"]).ok().trim(), &keep[7..19], "{point}");
    }
    // A load interrupted after some layers were published.
    crash_at(&mut d, "layer-published", |d| {
        let _ = strata_testkit::http::request(
            &d.socket,
            "POST",
            "/images/load?quiet=1",
            &[("Content-Type", "application/x-tar")],
            Some(&std::fs::read(fixture(FIXTURE)).expect("fixture")),
        );
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(layer_dirs(&d).len(), 1, "{:?}", layer_dirs(&d));
    assert_eq!(db_count(&d, "layers"), 1);
    // An rmi interrupted between the row and the directory.
    crash_at(&mut d, "layer-row-deleted", |d| {
        let _ = strata_testkit::http::request(&d.socket, "DELETE", "/images/keep:1", &[], None);
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(db_count(&d, "layers"), 0);
    assert!(layer_dirs(&d).is_empty(), "{:?}", layer_dirs(&d));
    assert!(d.docker(&["images", "-q"]).ok().is_empty());
}

#[test]
fn the_strata_cli_has_the_image_commands() {
    if !strata_testkit::require_root("the_strata_cli_has_the_image_commands") {
        return;
    }
    let d = Daemon::start();
    let tar = busybox_rootfs_tar().display().to_string();
    let id =
        d.strata(&["import", "-c", r#"CMD ["/bin/sh"]"#, "-m", "via strata", &tar, "sbox:1"]).ok().trim().to_owned();
    assert!(id.starts_with("sha256:"), "{id}");
    let images = d.strata(&["images"]);
    assert!(images.ok().contains(&format!("sbox         1         {}", &id[7..19])), "{}", images.stdout);
    assert_eq!(d.strata(&["image", "ls", "-q"]).ok().trim(), &id[7..19]);
    d.strata(&["tag", "sbox:1", "sbox:2"]).ok();
    assert_eq!(d.strata(&["image", "inspect", "--format", "{{.Comment}}", "sbox:2"]).ok().trim(), "via strata");
    assert!(d.strata(&["history", "sbox:1"]).ok().contains("via strata"));
    let saved = d.root.join("s.tar");
    d.strata(&["save", "-o", &saved.display().to_string(), "sbox:1"]).ok();
    assert_eq!(d.strata(&["rmi", "sbox:2"]).ok(), "Untagged: sbox:2\n");
    assert!(d.strata(&["image", "rm", "sbox:1"]).ok().contains(&format!("Deleted: {id}")));
    assert_eq!(d.strata(&["load", "-i", &saved.display().to_string()]).ok(), "Loaded image: sbox:1\n");
    d.strata(&["rmi", "nosuch"]).fails_with(1, "Error response from daemon: No such image: nosuch:latest");
}
