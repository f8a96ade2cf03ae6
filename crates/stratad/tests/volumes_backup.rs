//! Volume data in and out through a real daemon and the real CLI: export/import, clone,
//! backup/restore into a directory, backups ls/prune — round trips compared file by file
//! (contents, modes, owners, symlinks), hostile archives, corrupt and truncated backups.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use strata_testkit::Daemon;

fn data_dir(d: &Daemon, volume: &str) -> PathBuf {
    d.data_root.join("volumes").join(volume).join("_data")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Every kind of entry a volume holds, owners included.
fn populate(dir: &Path) {
    std::fs::create_dir_all(dir.join("pg/base")).expect("mkdir");
    std::fs::write(dir.join("pg/base/1234"), vec![42u8; 200_000]).expect("write");
    std::fs::write(dir.join("pg/PG_VERSION"), b"16\n").expect("write");
    std::fs::set_permissions(dir.join("pg"), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    rustix::fs::chown(
        dir.join("pg/PG_VERSION").as_path(),
        Some(rustix::fs::Uid::from_raw(999)),
        Some(rustix::fs::Gid::from_raw(999)),
    )
    .expect("chown");
    std::fs::write(dir.join("run.sh"), b"#!/bin/sh\necho hi\n").expect("write");
    std::fs::set_permissions(dir.join("run.sh"), std::fs::Permissions::from_mode(0o4755)).expect("chmod");
    symlink("/etc/shadow", dir.join("abs")).expect("symlink");
    symlink("pg/PG_VERSION", dir.join("rel")).expect("symlink");
    std::fs::hard_link(dir.join("run.sh"), dir.join("run-again.sh")).expect("link");
    std::fs::create_dir(dir.join("empty")).expect("mkdir");
}

/// Relative path → (mode, uid, gid, contents or link target), the top directory included.
fn snapshot(dir: &Path) -> BTreeMap<String, (u32, u32, u32, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let top = std::fs::metadata(dir).expect("stat");
    out.insert(".".to_owned(), (top.mode(), top.uid(), top.gid(), Vec::new()));
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            let m = std::fs::symlink_metadata(&p).expect("stat");
            let body = if m.file_type().is_symlink() {
                std::fs::read_link(&p).expect("readlink").into_os_string().into_encoded_bytes()
            } else if m.is_dir() {
                stack.push(p.clone());
                Vec::new()
            } else {
                std::fs::read(&p).expect("read")
            };
            out.insert(p.strip_prefix(dir).expect("prefix").display().to_string(), (m.mode(), m.uid(), m.gid(), body));
        }
    }
    out
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn trash_is_empty(d: &Daemon) -> bool {
    files_in(&d.data_root.join("volumes/.trash")).is_empty()
}

#[test]
fn export_and_import_round_trip_through_the_cli() {
    if !strata_testkit::require_root("export_and_import_round_trip_through_the_cli") {
        return;
    }
    let d = Daemon::start();
    let work = tempfile::tempdir().expect("tempdir");
    d.strata(&["volume", "create", "src"]).ok();
    populate(&data_dir(&d, "src"));
    let tar = work.path().join("src.tar");
    d.strata(&["volume", "export", "src", "-o", s(&tar)]).ok();
    // A plain tar any tar reads.
    let listing = std::process::Command::new("tar").args(["tf", s(&tar)]).output().expect("tar");
    assert!(String::from_utf8_lossy(&listing.stdout).contains("pg/PG_VERSION"));

    d.strata(&["volume", "import", "dst", s(&tar)]).ok();
    assert_eq!(snapshot(&data_dir(&d, "dst")).split_off("a"), snapshot(&data_dir(&d, "src")).split_off("a"));
    d.strata(&["volume", "import", "dst", s(&tar)]).fails_with(1, "volume is not empty; use force");
    std::fs::write(data_dir(&d, "dst").join("stray"), b"x").expect("write");
    d.strata(&["volume", "import", "--force", "dst", s(&tar)]).ok();
    assert!(!data_dir(&d, "dst").join("stray").exists(), "force replaces the contents");

    // gzip and zstd input, from stdin.
    let raw = std::fs::read(&tar).expect("read");
    for (tool, vol) in [("gzip", "fromgz"), ("zstd", "fromzst")] {
        let packed = std::process::Command::new(tool).args(["-c", s(&tar)]).output().expect("compress").stdout;
        assert!(packed.len() < raw.len());
        d.strata_with_stdin(&["volume", "import", vol, "-"], Some(&packed)).ok();
        assert_eq!(std::fs::read(data_dir(&d, vol).join("pg/base/1234")).expect("read").len(), 200_000);
    }
    // Missing volume: 404 text from the daemon.
    d.strata(&["volume", "export", "nosuch", "-o", s(&work.path().join("x.tar"))]).fails_with(1, "no such volume");
    assert!(!work.path().join("x.tar").exists());
}

/// A tar whose first entry is `name` (written into the header by hand: tar builders refuse
/// such names) with `body`.
fn raw_entry(name: &str, body: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
    h.set_size(body.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    let mut b = tar::Builder::new(Vec::new());
    b.append(&h, body).expect("append");
    b.into_inner().expect("tar")
}

#[test]
fn hostile_imports_stay_inside_the_volume() {
    if !strata_testkit::require_root("hostile_imports_stay_inside_the_volume") {
        return;
    }
    let d = Daemon::start();
    let outside = d.root.join("escaped");
    let dotdot = raw_entry("../../../escaped", b"x");
    let r = d.http_raw("POST", "/volumes/evil/import", &[("Content-Type", "application/x-tar")], Some(&dotdot));
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(!outside.exists());
    assert_eq!(d.http("GET", "/volumes/evil").status, 404, "a failed import leaves no volume");

    // A symlink to an absolute host path, then a file written through it.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(&mut h, "link", &d.root).expect("symlink");
    let mut h = tar::Header::new_gnu();
    h.set_size(1);
    h.set_mode(0o644);
    b.append_data(&mut h, "link/escaped", &b"x"[..]).expect("file");
    let tar = b.into_inner().expect("tar");
    let r = d.http_raw("POST", "/volumes/evil2/import", &[("Content-Type", "application/x-tar")], Some(&tar));
    assert!(!outside.exists(), "import wrote through a symlink out of the volume ({})", r.status);
    if r.status == 200 {
        // Confined: the write landed inside the volume, under the link's target taken as
        // relative to the volume.
        assert!(data_dir(&d, "evil2").join("link").is_symlink());
    }
    assert!(trash_is_empty(&d));
}

#[test]
fn backup_and_restore_round_trip_byte_exact() {
    if !strata_testkit::require_root("backup_and_restore_round_trip_byte_exact") {
        return;
    }
    let d = Daemon::start();
    let dest = tempfile::tempdir().expect("tempdir");
    d.strata(&["volume", "create", "--label", "env=prod", "pgdata"]).ok();
    populate(&data_dir(&d, "pgdata"));
    std::fs::set_permissions(data_dir(&d, "pgdata"), std::fs::Permissions::from_mode(0o750)).expect("chmod");
    let out = d.strata(&["volume", "backup", "pgdata", "--to", s(dest.path())]);
    let data_file = PathBuf::from(out.ok().trim());
    assert!(data_file.is_file(), "{}", out.stdout);
    let names = files_in(dest.path());
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().any(|n| n.ends_with(".manifest.json")) && names.iter().any(|n| n.ends_with(".tar.zst")));
    // The data is a plain .tar.zst for any zstd and tar.
    let check = std::process::Command::new("sh")
        .args(["-c", &format!("zstd -dc '{}' | tar t", data_file.display())])
        .output()
        .expect("zstd | tar");
    assert!(check.status.success() && String::from_utf8_lossy(&check.stdout).contains("pg/base/1234"));
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(data_file.to_str().expect("utf-8").replace(".tar.zst", ".manifest.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(manifest["Volume"], "pgdata");
    assert_eq!(manifest["Labels"]["env"], "prod");
    assert_eq!(manifest["Paused"], true);
    assert_eq!(manifest["Bytes"], 200_000 + 3 + 18);
    assert_eq!(manifest["StoredBytes"], std::fs::metadata(&data_file).expect("stat").len());

    d.strata(&["volume", "restore", s(&data_file), "--name", "pgcopy"]).ok();
    assert_eq!(snapshot(&data_dir(&d, "pgcopy")), snapshot(&data_dir(&d, "pgdata")));
    let inspect = d.docker(&["volume", "inspect", "--format", "{{json .Labels}}", "pgcopy"]);
    assert_eq!(inspect.ok().trim(), r#"{"env":"prod"}"#);

    // Over the original: refused while it has data, replaced with --force.
    d.strata(&["volume", "restore", s(&data_file)]).fails_with(1, "volume is not empty");
    std::fs::write(data_dir(&d, "pgdata").join("pg/base/1234"), b"damaged").expect("write");
    d.strata(&["volume", "restore", "--force", s(&data_file)]).ok();
    assert_eq!(snapshot(&data_dir(&d, "pgdata")), snapshot(&data_dir(&d, "pgcopy")));

    // --no-pause is recorded; --all covers every volume.
    d.strata(&["volume", "backup", "--no-pause", "--all", "--to", s(dest.path())]).ok();
    let listed = d.strata(&["volume", "backups", "ls", s(dest.path()), "--format", "json"]);
    let lines: Vec<serde_json::Value> =
        listed.ok().lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(lines.len(), 3, "{}", listed.stdout);
    assert_eq!(lines.iter().filter(|l| l["Manifest"]["Paused"] == false).count(), 2);
    assert!(trash_is_empty(&d));
}

/// Creates volume `v1`, fills it with [`populate`] and backs it up into `dest`; returns the data
/// file.
fn backed_up_v1(d: &Daemon, dest: &Path) -> PathBuf {
    d.strata(&["volume", "create", "v1"]).ok();
    populate(&data_dir(d, "v1"));
    PathBuf::from(d.strata(&["volume", "backup", "v1", "--to", s(dest)]).ok().trim())
}

#[test]
fn corrupt_and_truncated_backups_are_refused_leaving_nothing() {
    if !strata_testkit::require_root("corrupt_and_truncated_backups_are_refused_leaving_nothing") {
        return;
    }
    let d = Daemon::start();
    let dest = tempfile::tempdir().expect("tempdir");
    let data_file = backed_up_v1(&d, dest.path());
    let good = std::fs::read(&data_file).expect("read");

    let mut flipped = good.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 0x01;
    let truncated = good[..good.len() - 7].to_vec();
    let before = snapshot(&data_dir(&d, "v1"));
    for (what, bytes) in [("corrupt", flipped), ("truncated", truncated)] {
        std::fs::write(&data_file, &bytes).expect("write");
        d.strata(&["volume", "restore", s(&data_file), "--name", "fresh"]).fails_with(1, "corrupt or truncated");
        assert_eq!(d.http("GET", "/volumes/fresh").status, 404, "{what}: a volume was left behind");
        d.strata(&["volume", "restore", "--force", s(&data_file)]).fails_with(1, "corrupt or truncated");
        assert_eq!(snapshot(&data_dir(&d, "v1")), before, "{what}: the existing volume changed");
        assert!(trash_is_empty(&d), "{what}: staging left behind");
    }
    // A stream that is no backup at all.
    let r = d.http_raw("POST", "/volumes/restore?name=x", &[], Some(b"garbage"));
    assert_eq!(r.status, 400, "{}", r.text());
    // A backup cut before its manifest does not exist for restore or ls.
    std::fs::write(dest.path().join("v1_20200101T000000Z.tar.zst"), &good).expect("write");
    d.strata(&["volume", "restore", s(&dest.path().join("v1_20200101T000000Z.tar.zst"))])
        .fails_with(1, "no such backup");
    assert_eq!(d.strata(&["volume", "backups", "ls", s(dest.path()), "--format", "json"]).ok().lines().count(), 1);
}

/// Rewrites the creation time in a backup's manifest (to age it).
fn age(manifest: &Path, created: &str) {
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(manifest).expect("read")).expect("json");
    m["CreatedAt"] = created.into();
    std::fs::write(manifest, serde_json::to_vec(&m).expect("json")).expect("write");
}

#[test]
fn prune_keeps_what_the_rules_say_and_never_the_last_backup() {
    if !strata_testkit::require_root("prune_keeps_what_the_rules_say_and_never_the_last_backup") {
        return;
    }
    let d = Daemon::start();
    let dest = tempfile::tempdir().expect("tempdir");
    for v in ["va", "vb"] {
        d.strata(&["volume", "create", v]).ok();
    }
    let mut a_backups = Vec::new();
    for _ in 0..3 {
        a_backups.push(PathBuf::from(d.strata(&["volume", "backup", "va", "--to", s(dest.path())]).ok().trim()));
    }
    let b = PathBuf::from(d.strata(&["volume", "backup", "vb", "--to", s(dest.path())]).ok().trim());
    let manifest_of = |p: &Path| PathBuf::from(p.to_str().expect("utf-8").replace(".tar.zst", ".manifest.json"));
    age(&manifest_of(&a_backups[0]), "2020-01-01T00:00:00Z");
    age(&manifest_of(&a_backups[1]), "2020-01-02T00:00:00Z");
    age(&manifest_of(&b), "2020-01-01T00:00:00Z");
    let table = d.strata(&["volume", "backups", "ls", s(dest.path())]);
    assert!(table.ok().starts_with("VOLUME"), "{}", table.stdout);
    assert_eq!(table.stdout.lines().count(), 5);

    d.strata(&["volume", "backups", "prune", s(dest.path())]).fails_with(1, "--keep-last");
    // Dry run first: nothing deleted.
    let dry = d.strata(&["volume", "backups", "prune", s(dest.path()), "--keep-within", "1d", "--dry-run"]);
    assert_eq!(dry.ok().matches("would delete").count(), 2, "{}", dry.stdout);
    assert_eq!(files_in(dest.path()).len(), 8);
    // a's two old backups go; b's only backup is old but stays.
    d.strata(&["volume", "backups", "prune", s(dest.path()), "--keep-within", "1d"]).ok();
    assert!(!a_backups[0].exists() && !a_backups[1].exists() && a_backups[2].exists());
    assert!(b.exists(), "the only backup of b was deleted");
    // --keep-last 1 changes nothing more; with --force b's old backup goes.
    d.strata(&["volume", "backups", "prune", s(dest.path()), "--keep-within", "1d", "--force"]).ok();
    assert!(!b.exists() && a_backups[2].exists());
    assert_eq!(files_in(dest.path()).len(), 2);
}

#[test]
fn clones_copy_contents_labels_and_stay_independent() {
    if !strata_testkit::require_root("clones_copy_contents_labels_and_stay_independent") {
        return;
    }
    let d = Daemon::start();
    d.strata(&["volume", "create", "--label", "tier=db", "orig"]).ok();
    populate(&data_dir(&d, "orig"));
    assert_eq!(d.strata(&["volume", "clone", "orig", "twin"]).ok(), "twin\n");
    assert_eq!(snapshot(&data_dir(&d, "twin")), snapshot(&data_dir(&d, "orig")));
    let labels = d.docker(&["volume", "inspect", "--format", "{{json .Labels}}", "twin"]);
    assert_eq!(labels.ok().trim(), r#"{"tier":"db"}"#);
    // Writing into the clone (also through a hardlinked name) leaves the original alone.
    std::fs::write(data_dir(&d, "twin").join("run-again.sh"), b"changed").expect("write");
    std::fs::write(data_dir(&d, "twin").join("pg/PG_VERSION"), b"17\n").expect("write");
    assert_eq!(std::fs::read(data_dir(&d, "orig").join("run.sh")).expect("read"), b"#!/bin/sh\necho hi\n");
    assert_eq!(std::fs::read(data_dir(&d, "orig").join("pg/PG_VERSION")).expect("read"), b"16\n");
    d.strata(&["volume", "clone", "orig", "twin"]).fails_with(1, "already exists");
    d.strata(&["volume", "clone", "nosuch", "x"]).fails_with(1, "no such volume");
    let r = d.http("POST", "/volumes/orig/clone");
    assert_eq!(r.status, 400, "{}", r.text());
    // The original can be removed afterwards: the clone left no hold on it.
    d.strata(&["volume", "rm", "orig"]).ok();
}

const CRASH_ENV: &str = "STRATA_CRASH_AT";

/// Waits for the injected crash and starts the daemon again without it.
fn restart_after_crash(d: &mut Daemon) {
    d.wait_exit(std::time::Duration::from_secs(20)).expect("the daemon crashed");
    d.set_env(CRASH_ENV, None);
    d.start_again();
}

#[test]
fn a_crash_mid_backup_or_restore_leaves_nothing_that_looks_complete() {
    if !strata_testkit::require_root("a_crash_mid_backup_or_restore_leaves_nothing_that_looks_complete") {
        return;
    }
    let mut d = Daemon::start_with_env(Default::default(), &[(CRASH_ENV, "volume-backup-after-data")]);
    let dest = tempfile::tempdir().expect("tempdir");
    d.strata(&["volume", "create", "vol1"]).ok();
    populate(&data_dir(&d, "vol1"));
    let out = d.strata(&["volume", "backup", "vol1", "--to", s(dest.path())]);
    assert_ne!(out.code, 0, "the backup succeeded although the daemon died: {}", out.stdout);
    assert!(files_in(dest.path()).is_empty(), "left behind: {:?}", files_in(dest.path()));
    restart_after_crash(&mut d);

    // A good backup, then a restore over the volume that dies just before the swap.
    let file = PathBuf::from(d.strata(&["volume", "backup", "vol1", "--to", s(dest.path())]).ok().trim());
    std::fs::write(data_dir(&d, "vol1").join("newer"), b"written after the backup").expect("write");
    let before = snapshot(&data_dir(&d, "vol1"));
    d.stop();
    d.set_env(CRASH_ENV, Some("volume-fill-before-swap"));
    d.start_again();
    let out = d.strata(&["volume", "restore", "--force", s(&file)]);
    assert_ne!(out.code, 0);
    restart_after_crash(&mut d);
    assert_eq!(snapshot(&data_dir(&d, "vol1")), before, "the volume changed although the restore died");
    assert!(trash_is_empty(&d), "the staging directory survived the restart");
    // No hold of the interrupted transfers is left: the volume can be removed.
    d.strata(&["volume", "rm", "vol1"]).ok();
}

#[test]
fn a_backup_pauses_the_volumes_writers_and_resumes_them() {
    if !strata_testkit::require_root("a_backup_pauses_the_volumes_writers_and_resumes_them") {
        return;
    }
    let d = Daemon::start();
    let tar = strata_testkit::image::busybox_rootfs_tar().display().to_string();
    d.docker(&["import", "-c", r#"CMD ["/bin/sh"]"#, &tar, "busybox:latest"]).ok();
    let dest = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| d.docker(&[&["run", "-d"][..], args].concat()).ok().trim().to_owned();
    // A writer, a read-only reader, a writer the user paused, and a writer of another volume.
    let writer = run(&["-v", "db:/data", "busybox", "sh", "-c", "while true; do date >> /data/log; sleep 0.1; done"]);
    let reader = run(&["-v", "db:/data:ro", "busybox", "sleep", "600"]);
    let held = run(&["-v", "db:/data", "busybox", "sleep", "600"]);
    d.docker(&["pause", &held]).ok();
    let other = run(&["-v", "other:/data", "busybox", "sleep", "600"]);

    let out = d.strata(&["volume", "backup", "db", "--to", s(dest.path())]);
    let data_file = out.ok().trim().to_owned();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data_file.replace(".tar.zst", ".manifest.json")).expect("manifest"))
            .expect("json");
    assert_eq!(manifest["Paused"], true);
    assert_eq!(manifest["PausedContainers"], serde_json::json!([writer]), "{manifest}");

    // Afterwards each is as it was: the writer writes again, the user's pause is kept.
    let status = |id: &str| d.docker(&["inspect", "-f", "{{.State.Status}}", id]).ok().trim().to_owned();
    assert_eq!(status(&writer), "running");
    assert_eq!(status(&reader), "running");
    assert_eq!(status(&held), "paused");
    assert_eq!(status(&other), "running");
    let lines = || std::fs::read_to_string(data_dir(&d, "db").join("log")).expect("log").lines().count();
    let before = lines();
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert!(lines() > before, "the writer did not resume");
    d.docker(&["unpause", &held]).ok();
    d.docker(&["rm", "-f", &writer, &reader, &held, &other]).ok();
}

/// The JSON lines of a `?progress=1` answer.
fn progress_lines(r: &strata_testkit::http::HttpResponse) -> Vec<serde_json::Value> {
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    r.text().lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

/// The bytes of a backup as `POST /volumes/restore` takes them: the manifest frame, then the data.
fn restore_body(data_file: &Path) -> Vec<u8> {
    let manifest =
        std::fs::read(data_file.to_str().expect("utf-8").replace(".tar.zst", ".manifest.json")).expect("manifest");
    let manifest: strata_backup::Manifest = serde_json::from_slice(&manifest).expect("manifest json");
    let mut body = strata_backup::frame::encode(&manifest);
    body.extend_from_slice(&std::fs::read(data_file).expect("data"));
    body
}

#[test]
fn progress_lines_report_the_work_and_end_with_the_answer() {
    if !strata_testkit::require_root("progress_lines_report_the_work_and_end_with_the_answer") {
        return;
    }
    let d = Daemon::start();
    let dest = tempfile::tempdir().expect("tempdir");
    d.strata(&["volume", "create", "--label", "k=v", "src"]).ok();
    populate(&data_dir(&d, "src"));
    let data_file = PathBuf::from(d.strata(&["volume", "backup", "src", "--to", s(dest.path())]).ok().trim());
    let stored = std::fs::metadata(&data_file).expect("stat").len();

    // Restore: progress out of the stored length, a sync, then the usual answer as `aux`.
    let body = restore_body(&data_file);
    let r = d.http_raw("POST", "/volumes/restore?name=copy&progress=1", &[], Some(&body));
    let lines = progress_lines(&r);
    let restoring: Vec<&serde_json::Value> = lines.iter().filter(|l| l["status"] == "Restoring").collect();
    assert!(!restoring.is_empty(), "{lines:?}");
    assert!(restoring.iter().all(|l| l["progressDetail"]["total"] == stored && l["id"] == "copy"), "{lines:?}");
    assert_eq!(restoring.last().expect("last")["progressDetail"]["current"], stored);
    assert!(lines.iter().any(|l| l["status"] == "Syncing"), "{lines:?}");
    let last = lines.last().expect("a final line");
    assert_eq!(last["status"], "Restored", "{lines:?}");
    assert_eq!(last["aux"]["Volume"]["Name"], "copy");
    assert_eq!(last["aux"]["Volume"]["Labels"]["k"], "v");
    assert_eq!(last["aux"]["Manifest"]["StoredBytes"], stored);
    assert_eq!(snapshot(&data_dir(&d, "copy")), snapshot(&data_dir(&d, "src")));
    // Without the parameter the answer is the plain JSON object, as before.
    let plain = d.http_raw("POST", "/volumes/restore?name=copy2", &[], Some(&body));
    assert_eq!(plain.status, 200, "{}", plain.text());
    assert_eq!(plain.json()["Volume"]["Name"], "copy2");

    // Import: progress out of the request's Content-Length.
    let tar = dest.path().join("src.tar");
    d.strata(&["volume", "export", "src", "-o", s(&tar)]).ok();
    let tar = std::fs::read(&tar).expect("read");
    let r =
        d.http_raw("POST", "/volumes/imported/import?progress=1", &[("Content-Type", "application/x-tar")], Some(&tar));
    let lines = progress_lines(&r);
    let importing: Vec<&serde_json::Value> = lines.iter().filter(|l| l["status"] == "Importing").collect();
    assert!(!importing.is_empty(), "{lines:?}");
    assert_eq!(
        importing.last().expect("last")["progressDetail"],
        serde_json::json!({"current": tar.len(), "total": tar.len()})
    );
    let last = lines.last().expect("a final line");
    assert_eq!(last["status"], "Imported", "{lines:?}");
    assert_eq!(last["aux"]["Size"], 200_000 + 3 + 18);
    assert_eq!(snapshot(&data_dir(&d, "imported")).split_off("a"), snapshot(&data_dir(&d, "src")).split_off("a"));

    // Clone: progress out of the source's size; the new volume as `aux`.
    let r = d.http("POST", "/volumes/src/clone?to=twin&progress=1");
    let lines = progress_lines(&r);
    let cloning: Vec<&serde_json::Value> = lines.iter().filter(|l| l["status"] == "Cloning").collect();
    assert!(!cloning.is_empty(), "{lines:?}");
    assert!(cloning.iter().all(|l| l["progressDetail"]["total"].as_u64().is_some_and(|t| t >= 200_000)), "{lines:?}");
    let last = lines.last().expect("a final line");
    assert_eq!((&last["status"], &last["aux"]["Name"]), (&"Cloned".into(), &"twin".into()), "{lines:?}");
    assert_eq!(snapshot(&data_dir(&d, "twin")), snapshot(&data_dir(&d, "src")));

    // What can be refused at once still is, with its status code.
    let r = d.http_raw("POST", "/volumes/copy/import?progress=1", &[("Content-Type", "application/x-tar")], Some(&tar));
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(d.http("POST", "/volumes/src/clone?to=twin&progress=1").status, 409);
    assert_eq!(d.http("POST", "/volumes/nosuch/clone?to=x&progress=1").status, 404);
    let r = d.http_raw("POST", "/volumes/restore?name=copy&progress=1", &[], Some(&body));
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(trash_is_empty(&d));
}

#[test]
fn an_error_mid_way_arrives_as_an_error_line_and_leaves_nothing() {
    if !strata_testkit::require_root("an_error_mid_way_arrives_as_an_error_line_and_leaves_nothing") {
        return;
    }
    let d = Daemon::start();
    let dest = tempfile::tempdir().expect("tempdir");
    let data_file = backed_up_v1(&d, dest.path());
    let mut body = restore_body(&data_file);
    let at = body.len() - 64;
    body[at] ^= 0x10;
    let before = snapshot(&data_dir(&d, "v1"));
    for (path, what) in [
        ("/volumes/restore?name=fresh&progress=1", "into a new volume"),
        ("/volumes/restore?name=v1&force=1&progress=1", "over the volume"),
    ] {
        let lines = progress_lines(&d.http_raw("POST", path, &[], Some(&body)));
        assert!(lines.iter().any(|l| l["status"] == "Restoring"), "{what}: {lines:?}");
        let last = lines.last().expect("a final line");
        let message = last["error"].as_str().unwrap_or_else(|| panic!("{what}: no error line: {lines:?}"));
        assert!(message.contains("corrupt or truncated"), "{what}: {message}");
        assert_eq!(last["errorDetail"]["message"], message);
        assert_eq!(last["errorDetail"]["code"], 400);
        assert!(!lines.iter().any(|l| l["status"] == "Restored" || l["status"] == "Syncing"), "{what}: {lines:?}");
    }
    assert_eq!(d.http("GET", "/volumes/fresh").status, 404, "a volume was left behind");
    assert_eq!(snapshot(&data_dir(&d, "v1")), before, "the existing volume changed");

    // An import whose archive turns hostile after some good entries.
    let mut b = tar::Builder::new(Vec::new());
    for i in 0..20 {
        let mut h = tar::Header::new_gnu();
        h.set_size(50_000);
        h.set_mode(0o644);
        b.append_data(&mut h, format!("good/{i}"), &vec![1u8; 50_000][..]).expect("append");
    }
    let mut tar = b.into_inner().expect("tar");
    tar.truncate(tar.len() - 1024); // drop the end-of-archive blocks
    tar.extend_from_slice(&raw_entry("../../escaped", b"x"));
    let r = d.http_raw("POST", "/volumes/evil/import?progress=1", &[("Content-Type", "application/x-tar")], Some(&tar));
    let lines = progress_lines(&r);
    let last = lines.last().expect("a final line");
    assert!(last["error"].as_str().is_some_and(|m| m.contains("refused")), "{lines:?}");
    assert_eq!(last["errorDetail"]["code"], 400);
    assert_eq!(d.http("GET", "/volumes/evil").status, 404, "a failed import leaves no volume");
    assert!(!d.root.join("escaped").exists());
    assert!(trash_is_empty(&d), "staging left behind");

    // The CLI shows such an error as it shows the daemon's other errors.
    let mut data = std::fs::read(&data_file).expect("read");
    let at = data.len() - 64;
    data[at] ^= 0x10;
    std::fs::write(&data_file, &data).expect("write");
    let out = d.strata(&["volume", "restore", s(&data_file), "--name", "fresh"]);
    out.fails_with(1, "corrupt or truncated");
    assert!(out.stderr.starts_with("Error response from daemon: "), "{}", out.stderr);
    assert_eq!(d.http("GET", "/volumes/fresh").status, 404);
}

#[test]
fn backup_creates_a_missing_destination_directory_private() {
    if !strata_testkit::require_root("backup_creates_a_missing_destination_directory_private") {
        return;
    }
    let d = Daemon::start();
    let work = tempfile::tempdir().expect("tempdir");
    d.strata(&["volume", "create", "vol"]).ok();
    std::fs::write(data_dir(&d, "vol").join("f"), b"data").expect("write");
    let dest = work.path().join("nightly/2026");
    let out = d.strata(&["volume", "backup", "vol", "--to", s(&dest)]);
    let data_file = PathBuf::from(out.ok().trim());
    assert!(data_file.starts_with(&dest) && data_file.is_file(), "{}", out.stdout);
    assert_eq!(std::fs::metadata(&dest).expect("stat").mode() & 0o7777, 0o700);
    assert_eq!(files_in(&dest).len(), 2);
    // A destination that is a file stays an error.
    let file = work.path().join("plain-file");
    std::fs::write(&file, b"").expect("write");
    d.strata(&["volume", "backup", "vol", "--to", s(&file)]).fails_with(1, "is not a directory");
    d.strata(&["volume", "restore", s(&data_file), "--name", "back"]).ok();
    assert_eq!(std::fs::read(data_dir(&d, "back").join("f")).expect("read"), b"data");
}
