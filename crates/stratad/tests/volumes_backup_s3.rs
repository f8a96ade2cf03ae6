//! Backups to `s3://` destinations against a real S3 server (s3s-fs, in-process on
//! 127.0.0.1): backup with a multipart upload, listing, restore verified byte for byte, a
//! corrupted object refused, retention — through the real CLI and daemon.

use std::path::{Path, PathBuf};
use std::process::Command;

use strata_testkit::{CmdOutput, Daemon};

const ACCESS_KEY: &str = "strata-test-key";
const SECRET_KEY: &str = "strata-test-secret";
const BUCKET: &str = "backups";

/// An S3 server on 127.0.0.1 storing objects under a temporary directory; runs until the test
/// process exits.
struct S3Server {
    endpoint: String,
    root: tempfile::TempDir,
}

fn start_s3() -> S3Server {
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(root.path().join(BUCKET)).expect("bucket");
    let fs_root = root.path().to_owned();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let fs = s3s_fs::FileSystem::new(&fs_root).expect("s3s-fs");
            let mut builder = s3s::service::S3ServiceBuilder::new(fs);
            builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
            let service = builder.build();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            tx.send(format!("http://{}", listener.local_addr().expect("addr"))).expect("send");
            loop {
                let Ok((socket, _)) = listener.accept().await else { continue };
                let service = service.clone();
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(socket), service)
                        .await;
                });
            }
        });
    });
    let endpoint = rx.recv().expect("server address");
    S3Server { endpoint, root }
}

/// The strata CLI with the S3 server's address and credentials in the standard variables.
fn strata(d: &Daemon, s3: &S3Server, args: &[&str]) -> CmdOutput {
    let out = Command::new(strata_testkit::bin_path("strata"))
        .arg("-H")
        .arg(d.host())
        .args(args)
        .env("AWS_ENDPOINT_URL", &s3.endpoint)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("run strata");
    CmdOutput {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn data_dir(d: &Daemon, volume: &str) -> PathBuf {
    d.data_root.join("volumes").join(volume).join("_data")
}

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            let rel = p.strip_prefix(dir).expect("prefix").display().to_string();
            if p.is_dir() {
                stack.push(p);
                out.push((rel, Vec::new()));
            } else {
                out.push((rel, std::fs::read(&p).expect("read")));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn backups_to_s3_round_trip_and_are_pruned() {
    if !strata_testkit::require_root("backups_to_s3_round_trip_and_are_pruned") {
        return;
    }
    let s3 = start_s3();
    let d = Daemon::start();
    d.strata(&["volume", "create", "--label", "app=web", "uploads"]).ok();
    let dir = data_dir(&d, "uploads");
    std::fs::create_dir(dir.join("img")).expect("mkdir");
    // Random data larger than one upload part, so the upload has several parts.
    let mut big = vec![0u8; 40 << 20];
    rustix::rand::getrandom(&mut big, rustix::rand::GetRandomFlags::empty()).expect("random");
    std::fs::write(dir.join("img/big.bin"), &big).expect("write");
    std::fs::write(dir.join("index.html"), b"<h1>hi</h1>\n").expect("write");

    let dest = format!("s3://{BUCKET}/nightly");
    let first = strata(&d, &s3, &["volume", "backup", "uploads", "--to", &dest]);
    let url = first.ok().trim().to_owned();
    assert!(url.starts_with("s3://backups/nightly/uploads_") && url.ends_with(".tar.zst"), "{url}");
    let objects = s3.root.path().join(BUCKET).join("nightly");
    assert!(std::fs::read_dir(&objects).expect("objects").count() >= 2);

    let listed = strata(&d, &s3, &["volume", "backups", "ls", &dest, "--format", "json"]);
    let lines: Vec<serde_json::Value> = listed.ok().lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert_eq!(lines.len(), 1, "{}", listed.stdout);
    assert_eq!(lines[0]["Manifest"]["Labels"]["app"], "web");

    strata(&d, &s3, &["volume", "restore", &url, "--name", "uploads2"]).ok();
    assert_eq!(tree(&data_dir(&d, "uploads2")), tree(&dir));

    // A damaged object is refused and leaves no volume.
    let id = url.rsplit('/').next().expect("name");
    let object = objects.join(id);
    let mut bytes = std::fs::read(&object).expect("object");
    let at = bytes.len() / 3;
    bytes[at] ^= 0xff;
    std::fs::write(&object, &bytes).expect("write");
    strata(&d, &s3, &["volume", "restore", &url, "--name", "uploads3"]).fails_with(1, "corrupt or truncated");
    assert_eq!(d.http("GET", "/volumes/uploads3").status, 404);

    // Retention: a second backup, then keep the newest only.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    strata(&d, &s3, &["volume", "backup", "uploads", "--to", &dest]).ok();
    assert_eq!(strata(&d, &s3, &["volume", "backups", "ls", &dest]).ok().lines().count(), 3);
    let pruned = strata(&d, &s3, &["volume", "backups", "prune", &dest, "--keep-last", "1"]);
    assert_eq!(pruned.ok().matches("deleted").count(), 1, "{}", pruned.stdout);
    assert_eq!(strata(&d, &s3, &["volume", "backups", "ls", &dest]).ok().lines().count(), 2);
    // The last backup stays unless forced.
    strata(&d, &s3, &["volume", "backups", "prune", &dest, "--keep-last", "0"]).ok();
    assert_eq!(strata(&d, &s3, &["volume", "backups", "ls", &dest]).ok().lines().count(), 2);
}
