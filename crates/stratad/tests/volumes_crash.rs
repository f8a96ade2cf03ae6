//! Crash safety of volumes: the daemon is killed (an injected `abort()`, or SIGKILL) between the
//! steps of create, remove and prune; after a restart every volume is complete or absent, rows
//! and directories agree, and no data without a row is ever deleted.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use strata_testkit::http::request;
use strata_testkit::{Daemon, DaemonOptions};

const CRASH_ENV: &str = "STRATA_CRASH_AT";
/// SIGABRT: what an injected crash dies of.
const SIGABRT: i32 = 6;

fn create_body(name: Option<&str>) -> Vec<u8> {
    let body = match name {
        Some(n) => json!({"Name": n}),
        None => json!({}),
    };
    serde_json::to_vec(&body).expect("json")
}

/// Sends a request the daemon is expected to die in the middle of.
fn doomed(d: &Daemon, method: &str, path: &str, body: Option<&[u8]>) {
    let headers: &[(&str, &str)] = if body.is_some() { &[("Content-Type", "application/json")] } else { &[] };
    if let Ok(r) = request(&d.socket, method, path, headers, body) {
        panic!("the daemon answered {method} {path} with {} instead of crashing: {}", r.status, r.text());
    }
}

/// Waits for the injected crash, then starts the daemon again without it.
fn restart_after_crash(d: &mut Daemon) {
    let status = d.wait_exit(Duration::from_secs(20)).expect("the daemon crashed");
    assert_eq!(status.signal(), Some(SIGABRT), "{status:?}\n{}", d.log_text());
    d.set_env(CRASH_ENV, None);
    d.start_again();
}

/// Names of the volume rows, and of the directories under `volumes/`: they must agree.
fn rows_and_dirs(d: &Daemon) -> (Vec<String>, Vec<String>) {
    let list = d.http("GET", "/volumes").json();
    let mut rows: Vec<String> = list["Volumes"]
        .as_array()
        .expect("list")
        .iter()
        .map(|v| v["Name"].as_str().expect("name").to_owned())
        .collect();
    rows.sort();
    let mut dirs: Vec<String> = std::fs::read_dir(d.data_root.join("volumes"))
        .expect("read")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".trash")
        .collect();
    dirs.sort();
    let trash = std::fs::read_dir(d.data_root.join("volumes/.trash")).expect("trash").count();
    assert_eq!(trash, 0, "the trash is emptied at start");
    (rows, dirs)
}

fn assert_consistent(d: &Daemon) -> Vec<String> {
    let (rows, dirs) = rows_and_dirs(d);
    assert_eq!(rows, dirs, "every row has its directory and every directory its row");
    for name in &rows {
        assert!(d.data_root.join("volumes").join(name).join("_data").is_dir(), "{name} has _data");
    }
    rows
}

#[test]
fn a_crash_during_create_leaves_the_volume_complete_or_absent() {
    for (point, survives) in [("volume-create-after-mkdir", false), ("volume-create-after-commit", true)] {
        let mut d = Daemon::start_with_env(DaemonOptions::default(), &[(CRASH_ENV, point)]);
        doomed(&d, "POST", "/volumes/create", Some(&create_body(Some("crashvol"))));
        restart_after_crash(&mut d);
        let status = d.http("GET", "/volumes/crashvol").status;
        assert_eq!(status, if survives { 200 } else { 404 }, "{point}");
        assert_eq!(assert_consistent(&d), if survives { vec!["crashvol".to_owned()] } else { vec![] }, "{point}");
        // The name is usable again either way.
        assert_eq!(d.http_json("POST", "/volumes/create", &json!({"Name": "crashvol"})).status, 201);
    }
}

#[test]
fn a_crash_during_remove_leaves_no_half_volume() {
    for point in ["volume-remove-after-commit", "volume-remove-after-data"] {
        let mut d = Daemon::start_with_env(DaemonOptions::default(), &[(CRASH_ENV, point)]);
        assert_eq!(d.http_json("POST", "/volumes/create", &json!({"Name": "victim"})).status, 201);
        assert_eq!(d.http_json("POST", "/volumes/create", &json!({"Name": "bystander"})).status, 201);
        let data = d.data_root.join("volumes/victim/_data");
        std::fs::create_dir_all(data.join("sub")).expect("mkdir");
        std::fs::write(data.join("sub/file"), vec![1u8; 100_000]).expect("write");
        std::fs::write(d.data_root.join("volumes/bystander/_data/keep"), b"keep").expect("write");
        doomed(&d, "DELETE", "/volumes/victim", None);
        restart_after_crash(&mut d);
        assert_eq!(d.http("GET", "/volumes/victim").status, 404, "{point}: the removal completes");
        assert_eq!(assert_consistent(&d), vec!["bystander"], "{point}");
        assert_eq!(std::fs::read(d.data_root.join("volumes/bystander/_data/keep")).expect("kept"), b"keep");
    }
}

#[test]
fn a_crash_during_prune_finishes_the_prune_at_start() {
    let mut d = Daemon::start_with_env(DaemonOptions::default(), &[(CRASH_ENV, "volume-prune-midway")]);
    for _ in 0..100 {
        let r = d.http_json("POST", "/volumes/create", &json!({}));
        let name = r.json()["Name"].as_str().expect("name").to_owned();
        std::fs::write(d.data_root.join("volumes").join(name).join("_data/f"), b"x").expect("write");
    }
    assert_eq!(d.http_json("POST", "/volumes/create", &json!({"Name": "named"})).status, 201);
    doomed(&d, "POST", "/volumes/prune", None);
    restart_after_crash(&mut d);
    assert_eq!(assert_consistent(&d), vec!["named"]);
}

#[test]
fn data_without_a_row_is_adopted_never_deleted() {
    let mut d = Daemon::start();
    d.kill9();
    let orphan = d.data_root.join("volumes/restored/_data");
    std::fs::create_dir_all(&orphan).expect("mkdir");
    std::fs::write(orphan.join("pg_control"), b"important").expect("write");
    std::fs::create_dir_all(d.data_root.join("volumes/halfmade/_data")).expect("mkdir");
    d.start_again();
    assert_eq!(assert_consistent(&d), vec!["restored"]);
    assert_eq!(std::fs::read(orphan.join("pg_control")).expect("kept"), b"important");
    assert!(d.log_text().contains("adopting a volume directory"), "{}", d.log_text());
}

#[test]
fn sigkill_under_concurrent_load_leaves_rows_and_directories_in_agreement() {
    let mut d = Daemon::start();
    for round in 0..3 {
        let stop = Arc::new(AtomicBool::new(false));
        let socket = d.socket.clone();
        let workers: Vec<_> = (0..8)
            .map(|t| {
                let stop = stop.clone();
                let socket = socket.clone();
                std::thread::spawn(move || {
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let name = format!("r{round}-t{t}-{i}");
                        let body = create_body(Some(&name));
                        let _ = request(
                            &socket,
                            "POST",
                            "/volumes/create",
                            &[("Content-Type", "application/json")],
                            Some(&body),
                        );
                        if i.is_multiple_of(3) {
                            let _ = request(&socket, "DELETE", &format!("/volumes/{name}"), &[], None);
                        }
                        if i.is_multiple_of(7) {
                            let _ = request(
                                &socket,
                                "POST",
                                "/volumes/prune?filters=%7B%22all%22%3A%5B%22true%22%5D%7D",
                                &[],
                                None,
                            );
                        }
                        i += 1;
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300 + 200 * round));
        d.kill9();
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.join().expect("worker");
        }
        d.start_again();
        assert_consistent(&d);
    }
}

#[test]
fn restart_keeps_every_volume_and_its_metadata() {
    let mut d = Daemon::start();
    let r = d.http_json("POST", "/volumes/create", &json!({"Name": "keep", "Labels": {"a": "b"}, "DriverOpts": {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}}));
    let before = r.json();
    d.kill9();
    d.start_again();
    assert_eq!(d.http("GET", "/volumes/keep").json(), before);
    assert!(Path::new(before["Mountpoint"].as_str().expect("mp")).is_dir());
}
