//! Size-limited volumes (`-o size=…`), root only: the daemon's data-root on a loop-mounted
//! filesystem made by the test. Writing past the limit fails with "Disk quota exceeded" for a
//! process without CAP_SYS_RESOURCE (containers drop it). Where the kernel or the filesystem
//! cannot limit sizes, the create fails with an explanation of why and what to do.

use std::path::Path;
use std::process::Command;

use serde_json::json;
use strata_testkit::Daemon;

/// Runs a command, returning (success, stderr).
fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A daemon whose data-root is a fresh filesystem made by `mkfs` on a sparse image of `size`
/// bytes and mounted with `options`. `Err` when the kernel refuses the mount.
fn daemon_on(mkfs: &[&str], size: u64, options: &str) -> Result<Daemon, String> {
    let mut d = Daemon::start();
    d.stop();
    let image = d.root.join("fs.img");
    std::fs::File::create(&image).and_then(|f| f.set_len(size)).expect("image");
    let (ok, err) = run(Command::new(mkfs[0]).args(&mkfs[1..]).arg(&image));
    assert!(ok, "{mkfs:?}: {err}");
    std::fs::remove_dir_all(&d.data_root).expect("clear data-root");
    std::fs::create_dir(&d.data_root).expect("data-root");
    let opts = if options.is_empty() { "loop".to_owned() } else { format!("loop,{options}") };
    let (ok, err) = run(Command::new("mount").args(["-o", &opts]).arg(&image).arg(&d.data_root));
    if !ok {
        return Err(err);
    }
    d.start_again();
    Ok(d)
}

/// Writes `mib` MiB into `dir/name` as a process without CAP_SYS_RESOURCE; returns dd's result.
fn write_unprivileged(dir: &Path, name: &str, mib: u32) -> (bool, String) {
    run(Command::new("setpriv")
        .args(["--inh-caps=-sys_resource", "--bounding-set=-sys_resource", "dd", "if=/dev/zero", "bs=1M", "conv=fsync"])
        .arg(format!("of={}", dir.join(name).display()))
        .arg(format!("count={mib}")))
}

/// Creates a 10 MiB volume, checks the limit holds and that an unlimited volume is unaffected.
fn check_limit_is_enforced(d: &Daemon) {
    let out = d.docker(&["volume", "create", "-o", "size=10m", "limited"]);
    assert_eq!(out.ok(), "limited\n");
    let v = d.http("GET", "/volumes/limited").json();
    assert_eq!(v["Options"], json!({"size": "10m"}));
    let mp = Path::new(v["Mountpoint"].as_str().expect("mountpoint")).to_owned();
    let (ok, err) = write_unprivileged(&mp, "small", 4);
    assert!(ok, "4 MiB fit in 10 MiB: {err}");
    let (ok, err) = write_unprivileged(&mp, "big", 20);
    assert!(!ok, "20 MiB must not fit in a 10 MiB volume");
    assert!(err.contains("Disk quota exceeded") || err.contains("No space left"), "{err}");
    let used: u64 =
        std::fs::read_dir(&mp).expect("read").map(|e| e.expect("entry").metadata().expect("stat").len()).sum();
    assert!(used <= 11 << 20, "{used} bytes in a 10 MiB volume");

    d.docker(&["volume", "create", "free"]).ok();
    let free = d.data_root.join("volumes/free/_data");
    let (ok, err) = write_unprivileged(&free, "f", 20);
    assert!(ok, "an unlimited volume is not limited: {err}");
    d.docker(&["volume", "rm", "limited", "free"]).ok();
    assert!(!mp.exists());
    // The limit of a removed volume does not follow its name.
    d.docker(&["volume", "create", "limited"]).ok();
    let (ok, err) = write_unprivileged(&d.data_root.join("volumes/limited/_data"), "f", 20);
    assert!(ok, "{err}");
}

fn explain(d: &Daemon) -> String {
    let r = d.http_json("POST", "/volumes/create", &json!({"Name": "limited", "DriverOpts": {"size": "10m"}}));
    assert_eq!(r.status, 400, "{}", r.text());
    let message = r.json()["message"].as_str().expect("message").to_owned();
    assert!(message.starts_with("create limited: quota size requested but no quota support: "), "{message}");
    assert_eq!(d.http("GET", "/volumes/limited").status, 404, "nothing half-made");
    message
}

#[test]
fn btrfs_quota_groups_limit_volume_sizes() {
    if !strata_testkit::require_root("btrfs_quota_groups_limit_volume_sizes") {
        return;
    }
    let d = daemon_on(&["mkfs.btrfs", "-q"], 256 << 20, "").expect("btrfs is in every kernel strata supports");
    let message = explain(&d);
    assert!(
        message.contains("quotas are not enabled on the btrfs filesystem") && message.contains("btrfs quota enable"),
        "{message}"
    );
    let (ok, err) = run(Command::new("btrfs").args(["quota", "enable"]).arg(&d.data_root));
    assert!(ok, "btrfs quota enable: {err}");
    check_limit_is_enforced(&d);
}

#[test]
fn xfs_project_quotas_limit_volume_sizes() {
    if !strata_testkit::require_root("xfs_project_quotas_limit_volume_sizes") {
        return;
    }
    match daemon_on(&["mkfs.xfs", "-q", "-f"], 320 << 20, "prjquota") {
        Ok(d) => check_limit_is_enforced(&d),
        Err(mount_error) => {
            // This kernel has no XFS quota support: the filesystem still works without it, and
            // asking for a size says why it cannot be done.
            eprintln!(
                "NOTE: the kernel cannot mount xfs with prjquota ({}); checking the explanation",
                mount_error.trim()
            );
            let d = daemon_on(&["mkfs.xfs", "-q", "-f"], 320 << 20, "").expect("plain xfs");
            let message = explain(&d);
            assert!(message.contains("xfs filesystem holding"), "{message}");
            assert!(message.contains("CONFIG_XFS_QUOTA") || message.contains("-o prjquota"), "{message}");
        }
    }
}

#[test]
fn ext4_project_quotas_limit_volume_sizes() {
    if !strata_testkit::require_root("ext4_project_quotas_limit_volume_sizes") {
        return;
    }
    match daemon_on(&["mkfs.ext4", "-q", "-F", "-O", "quota,project"], 128 << 20, "prjquota") {
        Ok(d) => check_limit_is_enforced(&d),
        Err(mount_error) => {
            eprintln!(
                "NOTE: the kernel cannot mount ext4 with project quotas ({}); checking the explanation",
                mount_error.trim()
            );
            let d = daemon_on(&["mkfs.ext4", "-q", "-F"], 128 << 20, "").expect("plain ext4");
            let message = explain(&d);
            assert!(message.contains("ext4 filesystem holding"), "{message}");
            assert!(message.contains("tune2fs -O project,quota") || message.contains("CONFIG_QFMT_V2"), "{message}");
        }
    }
}
