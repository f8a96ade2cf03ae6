//! Disk usage and pruning through the stock docker CLI: `system df [-v]` figures checked against
//! `du` of the directories behind them, `image prune` and `container prune` with Docker's
//! shapes, and strata's dry run and protection label.

use strata_testkit::{Daemon, image::busybox_rootfs_tar};

/// Apparent bytes of the files below `dir`, hard links once (`du -cb` over the files).
fn du_files(dir: &str) -> u64 {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("find '{dir}' -mindepth 1 ! -type d -print0 | du -cb --files0-from=- | tail -1"))
        .output()
        .expect("du");
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// go-units' `HumanSizeWithPrecision(n, 3)`: decimal units, three significant digits.
fn human3(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let (mut v, mut u) = (n as f64, 0);
    while v >= 1000.0 && u < units.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let text = format!("{v:.digits$}");
    let text = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_owned() } else { text };
    format!("{text}{}", units[u])
}

#[test]
fn system_df_reports_exact_sizes() {
    let Some(d) = Daemon::with_busybox("system_df_reports_exact_sizes") else { return };
    // A volume with known contents, a hard link counted once, and a container layer.
    d.docker(&[
        "run",
        "--name",
        "writer",
        "-v",
        "data:/data",
        "busybox",
        "sh",
        "-c",
        "head -c 100000 /dev/zero > /data/a; head -c 2345 /dev/zero > /data/b; ln /data/a /data/a2; \
         mkdir -p /data/d/e; head -c 7 /dev/zero > /data/d/e/f; head -c 54321 /dev/zero > /big",
    ])
    .ok();
    d.docker(&["create", "--name", "idle", "busybox"]).ok();
    d.docker(&["volume", "create", "empty"]).ok();
    let df = d.http("GET", "/v1.47/system/df").json();
    let img_size =
        d.docker(&["image", "inspect", "-f", "{{.Size}}", "busybox"]).ok().trim().parse::<u64>().expect("size");
    assert_eq!(df["LayersSize"], img_size);
    assert_eq!(df["Images"][0]["Containers"], 2);
    assert_eq!(df["Images"][0]["SharedSize"], 0);
    assert_eq!(df["BuildCache"], serde_json::json!([]));
    let upper = d.docker(&["inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", "writer"]).ok().trim().to_owned();
    let containers = df["Containers"].as_array().expect("containers");
    let writer = containers.iter().find(|c| c["Names"][0] == "/writer").expect("writer");
    let want_rw = du_files(&upper);
    assert!(want_rw >= 54321, "{want_rw}");
    assert_eq!(writer["SizeRw"], want_rw);
    assert_eq!(writer["SizeRootFs"], want_rw + img_size);
    let idle = containers.iter().find(|c| c["Names"][0] == "/idle").expect("idle");
    assert!(idle.get("SizeRw").is_none(), "SizeRw is omitted when 0: {idle}");
    // `docker ps -s` shows the same figures (three significant digits, as Docker's).
    let sizes = d.docker(&["ps", "-as", "--format", "{{.Names}} {{.Size}}"]).ok().to_owned();
    let want = format!("writer {} (virtual {})", human3(want_rw), human3(want_rw + img_size));
    assert!(sizes.lines().any(|l| l == want), "{want:?} not in {sizes:?}");
    assert!(sizes.lines().any(|l| l == format!("idle 0B (virtual {})", human3(img_size))), "{sizes:?}");
    let mountpoint = d.docker(&["volume", "inspect", "-f", "{{.Mountpoint}}", "data"]).ok().trim().to_owned();
    let vols = df["Volumes"].as_array().expect("volumes");
    let data = vols.iter().find(|v| v["Name"] == "data").expect("data volume");
    assert_eq!(data["UsageData"]["Size"], 100_000 + 2345 + 7);
    assert_eq!(data["UsageData"]["Size"], du_files(&mountpoint));
    assert_eq!(data["UsageData"]["RefCount"], 1);
    let empty = vols.iter().find(|v| v["Name"] == "empty").expect("empty volume");
    assert_eq!(empty["UsageData"], serde_json::json!({"RefCount": 0, "Size": 0}));
    // A second answer (from the caches) is the same; a change through a container is seen.
    assert_eq!(d.http("GET", "/v1.47/system/df").json()["Volumes"], df["Volumes"]);
    d.docker(&["start", "-a", "writer"]).ok();
    let again = d.http("GET", "/v1.47/system/df").json();
    let writer = again["Containers"].as_array().expect("c").iter().find(|c| c["Names"][0] == "/writer").cloned();
    assert_eq!(writer.expect("writer")["SizeRw"], du_files(&upper));
    // A volume written by a container is measured again.
    d.docker(&["run", "--rm", "-v", "data:/data", "busybox", "sh", "-c", "head -c 1000 /dev/zero >> /data/b"]).ok();
    let again = d.http("GET", "/v1.47/system/df").json();
    let data = again["Volumes"].as_array().expect("v").iter().find(|v| v["Name"] == "data").cloned();
    assert_eq!(data.expect("data")["UsageData"]["Size"], 100_000 + 3345 + 7);
    assert_eq!(du_files(&mountpoint), 100_000 + 3345 + 7);
    // `type` limits the answer (API ≥ 1.42).
    let only = d.http("GET", "/v1.47/system/df?type=volume").json();
    assert!(only["Images"].is_null() && only["Containers"].is_null() && only["Volumes"].is_array(), "{only}");
    assert_eq!(d.http("GET", "/v1.47/system/df?type=bogus").json()["message"], "unknown object type: bogus");

    let table = d.docker(&["system", "df"]).ok().to_owned();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0].split_whitespace().collect::<Vec<_>>(), ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]);
    assert!(lines[1].starts_with("Images          1         1         "), "{table}");
    assert!(lines[2].starts_with("Containers      2         0         "), "{table}");
    assert!(lines[3].starts_with("Local Volumes   2         1         103.4kB   0B (0%)"), "{table}");
    assert!(lines[4].starts_with("Build Cache     0         0         0B        0B"), "{table}");
    let verbose = d.docker(&["system", "df", "-v"]).ok().to_owned();
    assert!(verbose.contains("Images space usage:"), "{verbose}");
    assert!(verbose.contains("busybox      latest"), "{verbose}");
    assert!(verbose.contains("data          1         103.4kB"), "{verbose}");
    assert!(verbose.contains("1               54.3kB"), "{verbose}");
    // strata's own CLI prints the same tables as docker's.
    assert_eq!(d.strata(&["system", "df"]).ok(), table);
    let ours = d.strata(&["system", "df", "-v"]).ok().to_owned();
    let theirs = d.docker(&["system", "df", "-v"]).ok().to_owned();
    assert_eq!(ours, theirs);
    // A copy into a stopped container's volume is seen.
    let file = std::env::temp_dir().join(format!("strata-df-cp-{}", std::process::id()));
    std::fs::write(&file, vec![7u8; 5000]).expect("write");
    d.docker(&["cp", &file.display().to_string(), "writer:/data/copied"]).ok();
    let _ = std::fs::remove_file(&file);
    let after = d.http("GET", "/v1.47/system/df").json();
    let data = after["Volumes"].as_array().expect("v").iter().find(|v| v["Name"] == "data").cloned();
    assert_eq!(data.expect("data")["UsageData"]["Size"], 100_000 + 3345 + 7 + 5000);
}

#[test]
fn image_and_container_prune_dry_run_and_protection() {
    let Some(d) = Daemon::with_busybox("image_and_container_prune_dry_run_and_protection") else { return };
    let tar = busybox_rootfs_tar().display().to_string();
    // Two more images with their own layer each: one dangling, one protected and dangling.
    d.docker(&["import", "-c", "ENV X=1", &tar, "gone:1"]).ok();
    d.docker(&["import", "-c", "LABEL strata.protect=true", "-c", "ENV X=2", &tar, "kept:1"]).ok();
    let size = d.docker(&["image", "inspect", "-f", "{{.Size}}", "gone:1"]).ok().trim().parse::<u64>().expect("size");
    let gone = d.docker(&["image", "inspect", "-f", "{{.Id}}", "gone:1"]).ok().trim().to_owned();
    // Re-importing under the same tags leaves the first two untagged (dangling).
    d.docker(&["import", "-c", "ENV X=3", &tar, "gone:1"]).ok();
    d.docker(&["import", "-c", "ENV X=4", &tar, "kept:1"]).ok();
    d.docker(&["rmi", "gone:1", "kept:1"]).ok();
    let dry = d.http("POST", "/v1.47/images/prune?dryrun=1").json();
    assert_eq!(dry["SpaceReclaimed"], 0, "the layers are shared with busybox: {dry}");
    let items = dry["ImagesDeleted"].as_array().expect("deleted");
    assert!(items.iter().any(|i| i["Deleted"] == gone.as_str()), "{dry}");
    assert_eq!(dry["Skipped"].as_array().expect("skipped").len(), 1, "{dry}");
    assert_eq!(d.docker(&["images", "-aq"]).ok().lines().count(), 3, "a dry run removes nothing");
    let out = d.docker(&["image", "prune", "-f"]).ok().to_owned();
    assert!(out.contains(&format!("deleted: {gone}")), "{out}");
    assert!(out.contains("Total reclaimed space: 0B"), "{out}");
    assert_eq!(d.docker(&["images", "-aq"]).ok().lines().count(), 2);
    // All unused: busybox would go, but its layer stays with the protected image.
    let all_unused = "/v1.47/images/prune?dryrun=1&filters=%7B%22dangling%22%3A%7B%22false%22%3Atrue%7D%7D";
    let all = d.http("POST", all_unused).json();
    assert_eq!(all["ImagesDeleted"][0]["Untagged"], "busybox:latest", "{all}");
    assert_eq!(all["SpaceReclaimed"], 0, "{all}");
    // Without the protected image, the layer is freed too.
    d.docker(&["rmi", "-f", all["Skipped"][0]["Id"].as_str().expect("id")]).ok();
    assert_eq!(d.http("POST", all_unused).json()["SpaceReclaimed"], size);
    // Containers: a stopped one goes, a protected one stays and is reported.
    d.docker(&["run", "--name", "old", "busybox", "sh", "-c", "head -c 1000 /dev/zero > /f"]).ok();
    d.docker(&["run", "--name", "safe", "-l", "strata.protect=true", "busybox", "true"]).ok();
    let dry = d.http("POST", "/v1.47/containers/prune?dryrun=1").json();
    assert_eq!(dry["SpaceReclaimed"], 1000, "{dry}");
    assert_eq!(dry["ContainersDeleted"].as_array().map(Vec::len), Some(1));
    assert_eq!(dry["Skipped"][0]["Reason"], "protected by label strata.protect=true");
    let out = d.docker(&["container", "prune", "-f"]).ok().to_owned();
    assert!(out.contains("Total reclaimed space: 1kB"), "{out}");
    assert_eq!(d.docker(&["ps", "-aq"]).ok().lines().count(), 1);
}

#[test]
fn volume_prune_dry_run_and_protection() {
    let Some(d) = Daemon::with_busybox("volume_prune_dry_run_and_protection") else { return };
    d.docker(&["volume", "create", "plain"]).ok();
    d.docker(&["volume", "create", "--label", "strata.protect=true", "precious"]).ok();
    d.docker(&[
        "run",
        "--rm",
        "-v",
        "plain:/a",
        "-v",
        "precious:/b",
        "busybox",
        "sh",
        "-c",
        "head -c 4096 /dev/zero > /a/f; head -c 10 /dev/zero > /b/f",
    ])
    .ok();
    let all = "filters=%7B%22all%22%3A%7B%22true%22%3Atrue%7D%7D";
    let dry = d.http("POST", &format!("/v1.47/volumes/prune?dryrun=1&{all}")).json();
    assert_eq!(dry["VolumesDeleted"], serde_json::json!(["plain"]), "{dry}");
    assert_eq!(dry["SpaceReclaimed"], 4096);
    assert_eq!(dry["Skipped"][0]["Id"], "precious");
    assert_eq!(d.docker(&["volume", "ls", "-q"]).ok(), "plain\nprecious\n");
    let out = d.docker(&["volume", "prune", "-af"]).ok().to_owned();
    assert!(out.contains("plain") && out.contains("Total reclaimed space: 4.096kB"), "{out}");
    assert_eq!(d.docker(&["volume", "ls", "-q"]).ok(), "precious\n");
}

/// What `docker system prune` prints and leaves, as Docker 20.10 does for the same objects
/// (checked side by side with the reference daemon): stopped containers, unused networks,
/// anonymous unused volumes (API ≥ 1.42: named ones stay), unused images — an image a running
/// container uses loses its tags but the last one in lexical order of the full names — and the
/// build cache (nothing, but the call must succeed); `until` is refused with `--volumes`.
#[test]
fn system_prune_prints_and_removes_what_docker_does() {
    let Some(d) = Daemon::with_busybox("system_prune_prints_and_removes_what_docker_does") else { return };
    d.docker(&["volume", "create", "named_idle"]).ok();
    d.docker(&[
        "run",
        "--name",
        "writer",
        "-v",
        "named_used:/data",
        "busybox",
        "sh",
        "-c",
        "head -c 100000 /dev/zero > /data/a; head -c 54321 /dev/zero > /big",
    ])
    .ok();
    d.docker(&["run", "-d", "--name", "running", "busybox", "sleep", "3600"]).ok();
    d.docker(&["run", "--name", "anonw", "-v", "/anon", "busybox", "sh", "-c", "head -c 3000 /dev/zero > /anon/f"])
        .ok();
    d.docker(&["rm", "anonw"]).ok();
    let anon = d.docker(&["volume", "ls", "-q", "--filter", "dangling=true"]).ok().to_owned();
    let anon: Vec<&str> = anon.lines().filter(|v| v.len() == 64).collect();
    assert_eq!(anon.len(), 1, "{anon:?}");
    d.docker(&["network", "create", "n1"]).ok();
    d.docker(&["tag", "busybox", "bb:tagged"]).ok();
    d.docker(&["tag", "busybox", "zz:1"]).ok();
    // A dangling image sharing its layer with img:1.
    d.docker(&["commit", "writer", "img:1"]).ok();
    let dangling = d.docker(&["image", "inspect", "-f", "{{.Id}}", "img:1"]).ok().trim().to_owned();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    d.docker(&["commit", "writer", "img:1"]).ok();
    let img1 = d.docker(&["image", "inspect", "-f", "{{.Id}}", "img:1"]).ok().trim().to_owned();
    assert_ne!(img1, dangling);
    let writer = d.docker(&["inspect", "-f", "{{.Id}}", "writer"]).ok().trim().to_owned();
    let upper = d.docker(&["inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", "writer"]).ok().trim().to_owned();
    let rw = du_files(&upper);

    // `until` does not apply to volumes: refused before anything is removed, by both CLIs.
    let refused = "ERROR: The \"until\" filter is not supported with \"--volumes\"";
    d.docker(&["system", "prune", "--volumes", "--filter", "until=1h", "-f"]).fails_with(1, refused);
    d.strata(&["system", "prune", "--volumes", "--filter", "until=1h", "-f"]).fails_with(1, refused);
    d.docker(&["volume", "prune", "--filter", "until=1h", "-f"])
        .fails_with(1, "Error response from daemon: Invalid filter 'until'");
    let bad = d.http("POST", "/v1.41/containers/prune?filters=%7B%22until%22%3A%7B%22xyz%22%3Atrue%7D%7D");
    assert_eq!(
        (bad.status, bad.json()["message"].clone()),
        (500, "failed to parse value as time or duration: \"xyz\"".into())
    );
    assert_eq!(d.docker(&["ps", "-aq"]).ok().lines().count(), 2, "nothing was removed");
    assert_eq!(d.docker(&["volume", "ls", "-q"]).ok().lines().count(), 3, "nothing was removed");

    let out = d.docker(&["system", "prune", "-a", "--volumes", "-f"]).ok().to_owned();
    assert!(out.starts_with(&format!("Deleted Containers:\n{writer}\n\nDeleted Networks:\nn1\n\n")), "{out}");
    assert!(out.contains(&format!("Deleted Volumes:\n{}\n\nDeleted Images:\n", anon[0])), "{out}");
    for line in ["untagged: img:1", &format!("deleted: {img1}"), &format!("deleted: {dangling}")] {
        assert!(out.lines().any(|l| l == line), "{line:?} missing from {out}");
    }
    // In use by `running`: tags go in the order rmi would take them; the last one stays.
    assert!(out.contains("untagged: bb:tagged\nuntagged: busybox:latest\n"), "{out}");
    assert!(!out.contains("zz:1"), "{out}");
    // The writer's layer, the anonymous volume's 3000 bytes and the committed layer (shared by
    // both images, freed once).
    let layer = 54321;
    let total = rw + 3000 + layer;
    let shown = format!("{:.1}kB", total as f64 / 1000.0);
    assert!(out.ends_with(&format!("\nTotal reclaimed space: {shown}\n")), "{out} (want {total} bytes)");
    assert_eq!(d.docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"]).ok(), "zz:1\n");
    assert_eq!(d.docker(&["ps", "-a", "--format", "{{.Names}}"]).ok(), "running\n");
    assert_eq!(d.docker(&["volume", "ls", "-q"]).ok(), "named_idle\nnamed_used\n");
    assert_eq!(d.docker(&["network", "ls", "--format", "{{.Name}}"]).ok(), "host\nnone\n");
    let table = d.docker(&["system", "df"]).ok().to_owned();
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[1].starts_with("Images          1         1         "), "{table}");
    assert_eq!(lines[2], "Containers      1         1         0B        0B", "{table}");
    assert_eq!(lines[3], "Local Volumes   2         0         100kB     100kB (100%)", "{table}");
    // A second prune finds nothing, and says so as Docker does.
    assert_eq!(d.docker(&["system", "prune", "-a", "--volumes", "-f"]).ok(), "Total reclaimed space: 0B\n");
    assert_eq!(d.docker(&["builder", "prune", "-f"]).ok(), "Total reclaimed space: 0B\n");
}
