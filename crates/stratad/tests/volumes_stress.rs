//! 64 concurrent clients create, inspect, list and remove volumes for 30 s (`STRATA_STRESS_SECS`
//! changes the duration): no request fails, and at the end the daemon lists exactly the volumes
//! the clients left — none lost, none duplicated — with a directory for each.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::json;
use strata_testkit::Daemon;
use strata_testkit::http::request;

const CLIENTS: usize = 64;
const DEFAULT_SECS: u64 = 30;
/// Names every client also creates and force-removes, to contend on the same volumes.
const SHARED: usize = 4;

#[test]
fn sixty_four_clients_for_thirty_seconds() {
    let secs = std::env::var("STRATA_STRESS_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SECS);
    let d = Daemon::start();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let socket = d.socket.clone();
    let results: Vec<(BTreeSet<String>, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let socket = socket.clone();
                s.spawn(move || {
                    let json_ct = [("Content-Type", "application/json")];
                    let mut kept = BTreeSet::new();
                    let mut ops = 0u64;
                    let mut i = 0u64;
                    while Instant::now() < deadline {
                        let name = format!("c{c}-{i}");
                        let body = serde_json::to_vec(&json!({"Name": name, "Labels": {"client": c.to_string()}}))
                            .expect("json");
                        let r = request(&socket, "POST", "/volumes/create", &json_ct, Some(&body)).expect("create");
                        assert_eq!(r.status, 201, "create {name}: {}", r.text());
                        let r = request(&socket, "GET", &format!("/volumes/{name}"), &[], None).expect("inspect");
                        assert_eq!(r.status, 200, "inspect {name}: {}", r.text());
                        let shared = format!("shared-{}", i as usize % SHARED);
                        let body = serde_json::to_vec(&json!({"Name": shared})).expect("json");
                        let r =
                            request(&socket, "POST", "/volumes/create", &json_ct, Some(&body)).expect("create shared");
                        assert_eq!(r.status, 201, "create {shared}: {}", r.text());
                        if i.is_multiple_of(2) {
                            let r = request(&socket, "DELETE", &format!("/volumes/{name}"), &[], None).expect("remove");
                            assert_eq!(r.status, 204, "remove {name}: {}", r.text());
                        } else {
                            kept.insert(name);
                        }
                        if i.is_multiple_of(5) {
                            let r = request(&socket, "DELETE", &format!("/volumes/{shared}?force=1"), &[], None)
                                .expect("rm");
                            assert_eq!(r.status, 204, "remove {shared}: {}", r.text());
                        }
                        if i.is_multiple_of(10) {
                            let path = format!("/volumes?filters=%7B%22label%22%3A%7B%22client%3D{c}%22%3Atrue%7D%7D");
                            let r = request(&socket, "GET", &path, &[], None).expect("list");
                            assert_eq!(r.status, 200, "list: {}", r.text());
                            let listed: BTreeSet<String> = r.json()["Volumes"]
                                .as_array()
                                .expect("volumes")
                                .iter()
                                .map(|v| v["Name"].as_str().expect("name").to_owned())
                                .collect();
                            assert_eq!(listed, kept, "client {c} sees exactly its volumes");
                        }
                        ops += 5;
                        i += 1;
                    }
                    (kept, ops)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("client")).collect()
    });
    let mut want: BTreeSet<String> = results.iter().flat_map(|(k, _)| k.iter().cloned()).collect();
    let ops: u64 = results.iter().map(|(_, n)| n).sum();
    eprintln!("{ops} requests from {CLIENTS} clients in {secs} s");
    let list = d.http("GET", "/volumes").json();
    let listed: Vec<String> = list["Volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .map(|v| v["Name"].as_str().expect("name").to_owned())
        .collect();
    let unique: BTreeSet<String> = listed.iter().cloned().collect();
    assert_eq!(unique.len(), listed.len(), "no duplicates");
    for s in 0..SHARED {
        let name = format!("shared-{s}");
        if unique.contains(&name) {
            want.insert(name);
        }
    }
    assert_eq!(unique, want, "no volume lost or left over");
    let dirs: BTreeSet<String> = std::fs::read_dir(d.data_root.join("volumes"))
        .expect("read")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".trash")
        .collect();
    assert_eq!(dirs, want, "directories match the rows");
    assert!(!d.log_text().contains("ERROR"), "{}", d.log_text());
}
