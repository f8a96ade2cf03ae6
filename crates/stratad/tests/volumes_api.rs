//! The volume API on the wire: status codes, JSON shapes and Docker's error texts, against a real
//! stratad. References from containers (which do not exist yet) are made by writing the
//! `volume_refs` rows the container service will write.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use strata_testkit::Daemon;

/// `filters=` of a JSON value, URL-encoded.
fn filters(v: Value) -> String {
    let text = v.to_string();
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn create(d: &Daemon, body: Value) -> (u16, Value) {
    let r = d.http_json("POST", "/volumes/create", &body);
    (r.status, r.json())
}

fn names(list: &Value) -> Vec<String> {
    let mut n: Vec<String> = list["Volumes"]
        .as_array()
        .expect("Volumes")
        .iter()
        .map(|v| v["Name"].as_str().expect("Name").to_owned())
        .collect();
    n.sort();
    n
}

/// Adds a reference from a holder, as the container service will.
fn reference(d: &Daemon, volume: &str, holder: &str) {
    let db = rusqlite::Connection::open(d.data_root.join("strata.db")).expect("open db");
    db.busy_timeout(Duration::from_secs(5)).expect("timeout");
    db.execute("INSERT INTO volume_refs (volume, holder) VALUES (?1, ?2)", [volume, holder]).expect("insert ref");
}

fn unreference(d: &Daemon, holder: &str) {
    let db = rusqlite::Connection::open(d.data_root.join("strata.db")).expect("open db");
    db.busy_timeout(Duration::from_secs(5)).expect("timeout");
    db.execute("DELETE FROM volume_refs WHERE holder = ?1", [holder]).expect("delete ref");
}

#[test]
fn create_inspect_list_remove_have_dockers_shapes() {
    let d = Daemon::start();
    let r = d.http_json(
        "POST",
        "/volumes/create",
        &json!({"Name": "pgdata", "Driver": "local", "Labels": {"env": "prod"}}),
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    let v = r.json();
    let keys: Vec<&str> = v.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"]);
    let created = v["CreatedAt"].as_str().expect("CreatedAt");
    assert!(created.len() == 20 && created.ends_with('Z') && &created[10..11] == "T", "RFC3339 seconds: {created}");
    assert_eq!(v["Labels"], json!({"env": "prod"}));
    assert_eq!(v["Options"], Value::Null);
    assert_eq!(v["Scope"], "local");
    let mountpoint = d.data_root.join("volumes/pgdata/_data");
    assert_eq!(v["Mountpoint"], mountpoint.display().to_string());
    assert!(mountpoint.is_dir());

    let inspected = d.http("GET", "/volumes/pgdata");
    assert_eq!(inspected.status, 200);
    assert_eq!(inspected.json(), v);
    let list = d.http("GET", "/v1.41/volumes").json();
    assert_eq!(list["Warnings"], Value::Null);
    assert_eq!(list["Volumes"], json!([v]));

    let removed = d.http("DELETE", "/volumes/pgdata");
    assert_eq!((removed.status, removed.body.len()), (204, 0));
    assert!(!d.data_root.join("volumes/pgdata").exists());
    assert_eq!(d.http("GET", "/volumes").json(), json!({"Volumes": [], "Warnings": null}));
}

#[test]
fn anonymous_and_repeated_creates() {
    let d = Daemon::start();
    for body in [json!({}), json!({"Name": ""}), json!({"Driver": "local"})] {
        let (status, v) = create(&d, body);
        assert_eq!(status, 201);
        let name = v["Name"].as_str().expect("name");
        assert!(name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");
        assert_eq!(v["Labels"], json!({"com.docker.volume.anonymous": ""}));
    }
    // An empty body (no Content-Type) is an anonymous create too.
    assert_eq!(d.http_raw("POST", "/volumes/create", &[], None).status, 201);

    let (_, first) = create(&d, json!({"Name": "same", "Labels": {"a": "1"}}));
    let (status, again) = create(&d, json!({"Name": "same", "Labels": {"b": "2"}, "DriverOpts": {"bogus": "x"}}));
    assert_eq!(status, 201);
    assert_eq!(again, first, "an existing volume is returned as it is");
}

#[test]
fn bad_requests_get_dockers_status_and_text() {
    let d = Daemon::start();
    let long = "a".repeat(300);
    let cases: Vec<(Value, u16, String)> = vec![
        (json!({"Name": "a"}), 400, "create a: volume name is too short, names should be at least two alphanumeric characters".into()),
        (
            json!({"Name": "bad/name"}),
            400,
            "create bad/name: \"bad/name\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path".into(),
        ),
        (json!({"Name": ".."}), 400, "create ..: \"..\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path".into()),
        (json!({"Name": "x1\u{0}y"}), 400, "create x1\u{0}y: \"x1\\x00y\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path".into()),
        (json!({"Name": long}), 400, format!("create {long}: volume name is too long, names can be at most 255 characters")),
        (json!({"Name": "x1", "DriverOpts": {"foo": "1"}}), 400, "create x1: invalid option: \"foo\"".into()),
        (json!({"Name": "x1", "DriverOpts": {"type": "tmpfs"}}), 400, "create x1: missing required option: \"device\"".into()),
        (json!({"Name": "x1", "DriverOpts": {"o": "size=1m"}}), 400, "create x1: missing required option: \"device\"".into()),
        (json!({"Name": "x1", "DriverOpts": {"device": "/x"}}), 400, "create x1: missing required option: \"type\"".into()),
        (json!({"Name": "x1", "DriverOpts": {"size": "abc"}}), 400, "create x1: invalid size: 'abc'".into()),
        (
            json!({"Name": "x1", "DriverOpts": {"type": "cifs", "device": "//h:445/s"}}),
            400,
            "create x1: port not allowed in CIFS device URL, include 'port' in 'o='".into(),
        ),
        (json!({"Name": "x1", "Labels": {"": "v"}}), 400, "create x1: invalid label \"=v\": label names must not be empty".into()),
        (
            json!({"Name": "x1", "Driver": "other"}),
            404,
            "create x1: error looking up volume plugin other: plugin \"other\" not found".into(),
        ),
        (json!({"Name": "x1", "Labels": {"a": 1}}), 400, String::new()),
    ];
    for (body, status, message) in cases {
        let t0 = Instant::now();
        let r = d.http_json("POST", "/volumes/create", &body);
        assert_eq!(r.status, status, "{body}: {}", r.text());
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        if !message.is_empty() {
            assert_eq!(r.json()["message"], message, "{body}");
        }
        assert!(t0.elapsed() < Duration::from_secs(2), "no plugin wait: {body}");
    }
    let r = d.http_raw("POST", "/volumes/create", &[("Content-Type", "application/json")], Some(b"{bad"));
    assert_eq!(r.status, 400);
    let r = d.http_raw("POST", "/volumes/create", &[("Content-Type", "text/plain")], Some(b"{}"));
    assert_eq!(
        (r.status, r.json()["message"].as_str()),
        (400, Some("Content-Type specified (text/plain) must be 'application/json'"))
    );
    // Nothing half-made, and nothing outside the volumes directory.
    assert_eq!(d.http("GET", "/volumes").json()["Volumes"], json!([]));
    let entries: Vec<String> = std::fs::read_dir(d.data_root.join("volumes"))
        .expect("read")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, [".trash"]);
    assert!(!d.data_root.join("x").exists() && !d.root.join("x").exists());
}

#[test]
fn names_never_reach_outside_the_volumes_directory() {
    let d = Daemon::start();
    std::fs::write(d.root.join("canary"), b"alive").expect("canary");
    for path in
        ["/volumes/..%2Fcanary", "/volumes/..%2F..%2Fcanary", "/volumes/%2Fetc", "/volumes/a%00b", "/volumes/.."]
    {
        assert_eq!(d.http("GET", path).status, 404, "{path}");
        let r = d.http("DELETE", path);
        assert!(r.status == 404 || r.status == 400, "{path}: {}", r.status);
        assert_eq!(d.http("DELETE", &format!("{path}?force=1")).status, 204, "{path}");
    }
    assert_eq!(d.http("GET", "/volumes/a%2Fb").json()["message"], "get a/b: no such volume");
    assert_eq!(std::fs::read(d.root.join("canary")).expect("canary"), b"alive");
}

#[test]
fn remove_refuses_volumes_in_use_even_with_force() {
    let d = Daemon::start();
    create(&d, json!({"Name": "busy"}));
    let c1 = "1".repeat(64);
    let c2 = "2".repeat(64);
    reference(&d, "busy", &c2);
    reference(&d, "busy", &c1);
    for path in ["/volumes/busy", "/volumes/busy?force=1", "/v1.24/volumes/busy?force=true"] {
        let r = d.http("DELETE", path);
        assert_eq!(r.status, 409, "{path}");
        assert_eq!(r.json()["message"], format!("remove busy: volume is in use - [{c1}, {c2}]"));
    }
    let dangling = d.http("GET", &format!("/volumes?filters={}", filters(json!({"dangling": {"true": true}}))));
    assert_eq!(names(&dangling.json()), Vec::<String>::new());
    unreference(&d, &c1);
    unreference(&d, &c2);
    assert_eq!(d.http("DELETE", "/volumes/busy").status, 204);
    let r = d.http("DELETE", "/volumes/busy");
    assert_eq!((r.status, r.json()["message"].as_str()), (404, Some("get busy: no such volume")));
    assert_eq!(d.http("DELETE", "/volumes/busy?force=1").status, 204);
}

#[test]
fn list_filters_match_docker() {
    let d = Daemon::start();
    create(&d, json!({"Name": "rv1", "Labels": {"env": "prod", "tier": "db"}}));
    create(&d, json!({"Name": "rv2", "Labels": {"env": "dev"}}));
    create(&d, json!({"Name": "other"}));
    reference(&d, "rv2", "c1");
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({}), vec!["other", "rv1", "rv2"]),
        (json!({"dangling": {"true": true}}), vec!["other", "rv1"]),
        (json!({"dangling": {"0": true}}), vec!["rv2"]),
        (json!({"dangling": ["false"]}), vec!["rv2"]),
        (json!({"driver": {"local": true}}), vec!["other", "rv1", "rv2"]),
        (json!({"driver": {"nfs": true}}), vec![]),
        (json!({"label": {"env": true}}), vec!["rv1", "rv2"]),
        (json!({"label": {"env=prod": true}}), vec!["rv1"]),
        (json!({"label": {"env=prod": true, "tier=db": true}}), vec!["rv1"]),
        (json!({"label": {"env=prod": true, "tier=web": true}}), vec![]),
        (json!({"name": {"rv": true}}), vec!["rv1", "rv2"]),
        (json!({"name": {"^rv[0-9]$": true}, "label": {"env=prod": true}}), vec!["rv1"]),
        (json!({"name": {"v1": true, "oth": true}}), vec!["other", "rv1"]),
        (json!({"name": {"(": true}}), vec![]),
    ];
    for (f, want) in cases {
        let r = d.http("GET", &format!("/volumes?filters={}", filters(f.clone())));
        assert_eq!(r.status, 200, "{f}");
        assert_eq!(names(&r.json()), want, "{f}");
    }
    let bad: Vec<(String, &str)> = vec![
        (filters(json!({"bogus": {"x": true}})), "Invalid filter 'bogus'"),
        (filters(json!({"dangling": {"maybe": true}})), "Invalid filter 'dangling=[maybe]'"),
        (filters(json!({"label!": {"x": true}})), "Invalid filter 'label!'"),
        ("notjson".into(), ""),
        ("%7B%22a%22%3A1%7D".into(), ""),
    ];
    for (f, message) in bad {
        let r = d.http("GET", &format!("/volumes?filters={f}"));
        assert_eq!(r.status, 400, "{f}: {}", r.text());
        if !message.is_empty() {
            assert_eq!(r.json()["message"], message);
        }
    }
}

#[test]
fn prune_follows_the_api_version() {
    let d = Daemon::start();
    let prune = |path: &str| {
        let r = d.http("POST", path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let v = r.json();
        let mut deleted: Vec<String> = v["VolumesDeleted"]
            .as_array()
            .expect("list")
            .iter()
            .map(|n| n.as_str().expect("name").to_owned())
            .collect();
        deleted.sort();
        (deleted, v["SpaceReclaimed"].as_u64().expect("space"))
    };
    let setup = || {
        let (_, anon) = create(&d, json!({}));
        let anon = anon["Name"].as_str().expect("name").to_owned();
        std::fs::write(d.data_root.join("volumes").join(&anon).join("_data/f"), vec![0u8; 2048]).expect("write");
        create(&d, json!({"Name": "named"}));
        create(&d, json!({"Name": "kept", "Labels": {"keep": "yes"}}));
        create(&d, json!({"Name": "used"}));
        create(&d, json!({"Name": "withopts", "DriverOpts": {"type": "tmpfs", "device": "tmpfs"}}));
        anon
    };
    let anon = setup();
    reference(&d, "used", "c1");
    // API ≥ 1.42 (and unprefixed): anonymous volumes only.
    assert_eq!(prune("/volumes/prune"), (vec![anon], 2048));
    assert_eq!(prune("/v1.50/volumes/prune").0, Vec::<String>::new());
    // all=true, with label! and label filters.
    let keep = filters(json!({"all": {"true": true}, "label!": {"keep=yes": true}}));
    assert_eq!(prune(&format!("/volumes/prune?filters={keep}")).0, vec!["named"]);
    let only = filters(json!({"all": ["1"], "label": {"keep": true}}));
    assert_eq!(prune(&format!("/volumes/prune?filters={only}")).0, vec!["kept"]);
    // Below 1.42 every unused volume without options goes.
    let anon = setup();
    let mut want = vec![anon, "kept".to_owned(), "named".to_owned()];
    want.sort();
    assert_eq!(prune("/v1.41/volumes/prune").0, want);
    let left = names(&d.http("GET", "/volumes").json());
    assert_eq!(left, vec!["used", "withopts"], "referenced volumes and volumes with options stay");

    let bad = [
        (filters(json!({"dangling": {"true": true}})), "Invalid filter 'dangling'"),
        (
            filters(json!({"all": {"true": true, "false": true}})),
            "invalid filter 'all=[false true]': only one value is expected",
        ),
        (
            filters(json!({"all": {"maybe": true}})),
            "invalid filter 'all': strconv.ParseBool: parsing \"maybe\": invalid syntax",
        ),
        ("{".into(), ""),
    ];
    for (f, message) in bad {
        let r = d.http("POST", &format!("/volumes/prune?filters={f}"));
        assert_eq!(r.status, 400, "{f}");
        if !message.is_empty() {
            assert_eq!(r.json()["message"], message);
        }
    }
}

#[test]
fn disk_usage_reports_volume_sizes_and_references() {
    let d = Daemon::start();
    create(&d, json!({"Name": "du1"}));
    std::fs::write(d.data_root.join("volumes/du1/_data/f"), vec![7u8; 5000]).expect("write");
    create(&d, json!({"Name": "du2"}));
    create(&d, json!({"Name": "du3", "DriverOpts": {"type": "tmpfs", "device": "tmpfs"}}));
    reference(&d, "du1", "c1");
    let df = d.http("GET", "/system/df").json();
    let vols = df["Volumes"].as_array().expect("volumes");
    let got: Vec<(String, Value)> =
        vols.iter().map(|v| (v["Name"].as_str().expect("name").to_owned(), v["UsageData"].clone())).collect();
    assert_eq!(
        got,
        vec![
            ("du1".to_owned(), json!({"RefCount": 1, "Size": 5000})),
            ("du2".to_owned(), json!({"RefCount": 0, "Size": 0}))
        ]
    );
    assert_eq!(df["Images"], json!([]));
    assert_eq!(df["BuildCache"], json!([]), "as Docker 28 with a builder");
    assert!(df.get("BuilderSize").is_none());
    assert_eq!(d.http("GET", "/v1.41/system/df").json()["BuilderSize"], 0);
    let typed = d.http("GET", "/system/df?type=volume").json();
    assert_eq!((typed["Images"].clone(), typed["Volumes"].as_array().map(Vec::len)), (Value::Null, Some(2)));
    let bad = d.http("GET", "/system/df?type=bogus");
    assert_eq!((bad.status, bad.json()["message"].as_str()), (400, Some("unknown object type: bogus")));
}

#[test]
fn a_volume_directory_deleted_behind_the_daemon_is_handled() {
    let mut d = Daemon::start();
    let (_, v) = create(&d, json!({"Name": "fragile"}));
    std::fs::remove_dir_all(d.data_root.join("volumes/fragile")).expect("rm");
    assert_eq!(d.http("GET", "/volumes/fragile").json(), v, "inspect still answers");
    d.stop();
    d.start_again();
    assert!(Path::new(v["Mountpoint"].as_str().expect("mountpoint")).is_dir(), "recreated at start");
    assert_eq!(d.http("DELETE", "/volumes/fragile").status, 204);
}

#[test]
fn volume_update_is_for_cluster_volumes_only() {
    let d = Daemon::start();
    let r = d.http_json("PUT", "/volumes/x?version=1", &json!({}));
    assert_eq!(
        (r.status, r.json()["message"].as_str()),
        (503, Some("volume update only valid for cluster volumes, but swarm is unavailable"))
    );
    assert_eq!(d.http_json("PUT", "/v1.41/volumes/x", &json!({})).status, 404);
}

#[test]
fn size_without_quota_support_explains_why() {
    let d = Daemon::start();
    let r = d.http_json("POST", "/volumes/create", &json!({"Name": "q1", "DriverOpts": {"size": "10m"}}));
    if r.status == 201 {
        eprintln!("the test data-root has quota support; the explanation is tested in volumes_quota.rs");
        return;
    }
    assert_eq!(r.status, 400);
    let message = r.json()["message"].as_str().expect("message").to_owned();
    assert!(message.starts_with("create q1: quota size requested but no quota support: "), "{message}");
    assert!(message.contains(&d.data_root.join("volumes").display().to_string()), "names the place: {message}");
}
