//! The daemon as a client sees it: the stock docker CLI, raw HTTP, the strata CLI, start-up
//! checks and shutdown. Each test runs its own stratad on temporary roots.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use strata_testkit::{Daemon, DaemonOptions};

#[test]
fn docker_version_shows_the_strata_server_without_downgrade() {
    let d = Daemon::start();
    let out = d.docker(&["version"]);
    let stdout = out.ok();
    assert!(out.stderr.is_empty(), "stderr: {}", out.stderr);
    assert!(stdout.contains("Server: strata"), "{stdout}");
    assert!(stdout.contains("API version:      1.50 (minimum version 1.24)"), "{stdout}");
    assert!(!stdout.contains("downgraded"), "{stdout}");
    let runc = Command::new("runc").arg("--version").output().expect("runc --version");
    let runc_version = String::from_utf8_lossy(&runc.stdout).lines().next().unwrap_or("").replace("runc version ", "");
    assert!(stdout.contains(&runc_version), "runc's real version {runc_version:?} is shown: {stdout}");
}

#[test]
fn docker_info_reads_the_machine() {
    let d = Daemon::start();
    let out = d.docker(&["info"]);
    let stdout = out.ok();
    assert!(!out.stderr.contains("rror"), "stderr: {}", out.stderr);
    let backing = strata_sys::fsprobe::backing_filesystem(&d.data_root).expect("statfs").docker_name();
    assert!(stdout.contains(&format!("Backing Filesystem: {backing}")), "{stdout}");
    assert!(stdout.contains("Storage Driver: overlay2") || stdout.contains("Storage Driver: vfs"), "{stdout}");
    assert!(stdout.contains(&format!("Docker Root Dir: {}", d.data_root.display())), "{stdout}");
    assert!(stdout.contains("Default Runtime: runc"), "{stdout}");
    assert!(stdout.contains("Volume: local"), "{stdout}");
    let ncpu = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    assert!(stdout.contains(&format!("CPUs: {ncpu}")), "{stdout}");
    let uname = Command::new("uname").arg("-r").output().expect("uname");
    assert!(stdout.contains(String::from_utf8_lossy(&uname.stdout).trim()), "{stdout}");

    let formatted = d.docker(&["info", "--format", "{{.Driver}}|{{.DockerRootDir}}"]);
    assert!(formatted.ok().trim().ends_with(&format!("|{}", d.data_root.display())));
}

#[test]
fn ping_answers_with_the_negotiation_headers() {
    let d = Daemon::start();
    let head = d.http("HEAD", "/_ping");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("Api-Version"), Some("1.50"));
    assert_eq!(head.header("Content-Length"), Some("0"));
    assert_eq!(head.header("Cache-Control"), Some("no-cache, no-store, must-revalidate"));
    assert_eq!(head.header("Pragma"), Some("no-cache"));
    assert_eq!(head.header("Ostype"), Some("linux"));
    assert_eq!(head.header("Docker-Experimental"), Some("false"));
    let get = d.http("GET", "/v1.24/_ping");
    assert_eq!((get.status, get.text().as_str()), (200, "OK"));
    assert_eq!(get.header("Content-Type"), Some("text/plain; charset=utf-8"));
}

#[test]
fn routes_answer_with_and_without_a_version_prefix() {
    let d = Daemon::start();
    for path in ["/info", "/v1.50/info", "/v1.41/info", "/v1.24/info", "/version", "/v1.44/version"] {
        let r = d.http("GET", path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("Api-Version"), Some("1.50"), "{path}");
        assert_eq!(r.header("Content-Type"), Some("application/json"), "{path}");
        r.json();
    }
}

#[test]
fn versions_outside_the_range_are_400_with_docker_texts() {
    let d = Daemon::start();
    let new = d.http("GET", "/v1.99/info");
    assert_eq!(new.status, 400);
    assert_eq!(new.header("Content-Type"), Some("application/json"));
    assert_eq!(new.json()["message"], "client version 1.99 is too new. Maximum supported API version is 1.50");
    let old = d.http("GET", "/v1.11/info");
    assert_eq!(old.status, 400);
    assert_eq!(
        old.json()["message"],
        "client version 1.11 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"
    );
}

#[test]
fn unknown_routes_and_methods_are_404_json() {
    let d = Daemon::start();
    for (method, path) in
        [("GET", "/nope"), ("POST", "/info"), ("DELETE", "/version"), ("GET", "/v1.41/"), ("PUT", "/_ping")]
    {
        let r = d.http(method, path);
        assert_eq!(r.status, 404, "{method} {path}");
        assert_eq!(r.header("Content-Type"), Some("application/json"), "{method} {path}");
        assert_eq!(r.json()["message"], "page not found", "{method} {path}");
    }
    // Object kinds strata does not have answer 404 JSON so `docker inspect` probing moves on.
    let r = d.http("GET", "/networks/x");
    assert_eq!(r.status, 404);
    let out = d.docker(&["inspect", "nothing-here"]);
    out.fails_with(1, "No such object: nothing-here");
}

#[test]
fn garbage_never_takes_the_daemon_down() {
    let d = Daemon::start();
    let bodies: [&[u8]; 5] = [b"", b"{", b"\x00\xff\xfe", b"[1,2,3]", &[b'{'; 100_000]];
    let content_types = ["application/json", "text/plain", "application/x-tar", ""];
    let paths = [
        "/_ping",
        "/version",
        "/info",
        "/v1.50/info?filters=%7B",
        "/v1.9.9/info",
        "/v/info",
        "/%ff%fe",
        "/info?x=%zz",
        "/networks",
        "/networks/x",
        "/plugins/x/json",
    ];
    for path in paths {
        for method in ["GET", "POST", "PUT", "DELETE", "HEAD"] {
            for body in bodies {
                for ct in content_types {
                    let headers: Vec<(&str, &str)> = if ct.is_empty() { vec![] } else { vec![("Content-Type", ct)] };
                    let r = d.http_raw(method, path, &headers, Some(body));
                    assert!(r.status < 500, "{method} {path} ct={ct:?} → {} {}", r.status, r.text());
                }
            }
        }
    }
    assert_eq!(d.http("HEAD", "/_ping").status, 200, "still alive");
    assert!(!d.log_text().contains("panicked"), "{}", d.log_text());
}

#[test]
fn the_socket_is_not_world_accessible() {
    let d = Daemon::start();
    let mode = std::fs::metadata(&d.socket).expect("socket").permissions().mode() & 0o777;
    assert_eq!(mode, 0o660);
}

#[test]
fn a_second_daemon_on_the_same_data_root_is_refused() {
    let d = Daemon::start();
    let mut cmd = d.command();
    // Same data-root, another socket: the lock must stop it, not the socket.
    cmd.arg("--host").arg(format!("unix://{}/other.sock", d.root.display()));
    let out = cmd.output().expect("run stratad");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("another stratad is already running with data-root"), "{stderr}");
    assert!(stderr.contains(&d.pid().to_string()), "names the holder: {stderr}");
    assert_eq!(d.http("HEAD", "/_ping").status, 200, "the first one is untouched");
}

#[test]
fn bad_configuration_stops_the_start_with_the_key_named() {
    let cases = [
        (r#"{"data-roots": "/x"}"#, "unknown field `data-roots`"),
        (r#"{"log-level": "loud"}"#, "invalid log-level \"loud\""),
        (r#"{"storage-driver": "aufs"}"#, "invalid storage-driver \"aufs\""),
        (r#"{"hosts": ["tcp://0.0.0.0:2375"]}"#, "only unix:// socket addresses"),
        ("{", "invalid configuration file"),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    for (json, want) in cases {
        let file = dir.path().join("daemon.json");
        std::fs::write(&file, json).expect("write");
        let out = Command::new(strata_testkit::bin_path("stratad"))
            .arg("--config-file")
            .arg(&file)
            .arg("--data-root")
            .arg(dir.path().join("data"))
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(1), "{json}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(want), "{json}: {stderr}");
        assert!(!dir.path().join("data").exists(), "{json}: nothing created before the config is valid");
    }
    let missing = Command::new(strata_testkit::bin_path("stratad"))
        .args(["--config-file", "/nonexistent/daemon.json", "--validate"])
        .output()
        .expect("run");
    assert_eq!(missing.status.code(), Some(1));
}

#[test]
fn flags_override_the_configuration_file() {
    let d = Daemon::start_with(DaemonOptions {
        config_json: Some(r#"{"storage-driver": "overlay2", "log-level": "error"}"#.into()),
        args: vec!["--storage-driver".into(), "vfs".into()],
    });
    let out = d.docker(&["info", "--format", "{{.Driver}}"]);
    assert_eq!(out.ok().trim(), "vfs");
}

#[test]
fn sigterm_stops_gracefully_and_cleans_the_socket_and_pidfile() {
    let mut d = Daemon::start();
    let pidfile = d.root.join("stratad.pid");
    assert_eq!(std::fs::read_to_string(&pidfile).expect("pidfile").trim(), d.pid().to_string());
    assert_eq!(d.stop(), Some(0));
    assert!(!d.socket.exists());
    assert!(!pidfile.exists());
    assert!(d.log_text().contains("stratad stopped"));
}

#[test]
fn the_metadata_database_is_sqlite_in_wal_mode_and_newer_schemas_are_refused() {
    let mut d = Daemon::start();
    let db = d.data_root.join("strata.db");
    let sqlite = |sql: &str| {
        let out = Command::new("sqlite3").arg(&db).arg(sql).output().expect("sqlite3 (apt-get install sqlite3)");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(sqlite("PRAGMA journal_mode"), "wal");
    assert_eq!(sqlite("SELECT version FROM schema_version WHERE component = 'engine'"), "1");
    let id = d.docker(&["info", "--format", "{{.ID}}"]).ok().trim().to_owned();
    d.stop();
    d.start_again();
    assert_eq!(d.docker(&["info", "--format", "{{.ID}}"]).ok().trim(), id, "the engine id persists");
    d.stop();
    sqlite("UPDATE schema_version SET version = 99 WHERE component = 'engine'");
    let out = d.command().output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("was written by a newer strata"), "{stderr}");
}

#[test]
fn the_strata_cli_speaks_to_the_daemon() {
    let d = Daemon::start();
    let version = d.strata(&["version"]);
    assert!(version.ok().contains("Server: strata"), "{}", version.stdout);
    assert!(!version.stdout.contains("downgraded"));
    let info = d.strata(&["info"]);
    assert!(info.ok().contains(&format!("Docker Root Dir: {}", d.data_root.display())));
    assert_eq!(d.strata(&["info", "--format", "{{.OSType}}"]).ok().trim(), "linux");

    // DOCKER_HOST and STRATA_HOST select the daemon when -H is absent.
    for var in ["STRATA_HOST", "DOCKER_HOST"] {
        let out = Command::new(strata_testkit::bin_path("strata"))
            .args(["info", "--format", "{{.DockerRootDir}}"])
            .env_remove("STRATA_HOST")
            .env_remove("DOCKER_HOST")
            .env(var, d.host())
            .output()
            .expect("run strata");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), d.data_root.display().to_string(), "{var}");
    }
    let down = Command::new(strata_testkit::bin_path("strata"))
        .args(["-H", "unix:///nonexistent/strata.sock", "info"])
        .output()
        .expect("run strata");
    assert_eq!(down.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&down.stderr).contains("Cannot connect to the strata daemon"));
    let usage = Command::new(strata_testkit::bin_path("strata")).arg("--bogus").output().expect("run strata");
    assert_eq!(usage.status.code(), Some(125), "usage errors exit 125 as docker's");
}
