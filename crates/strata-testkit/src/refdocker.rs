//! A real Docker daemon to compare strata with, when this machine has one.
//!
//! Tests that prove interoperability (an image saved by strata loads in Docker and runs there,
//! Docker computes the same image id) need a real `dockerd`. [`RefDocker::get`] first uses the
//! long-running reference daemon developers keep at `/run/ref-docker.sock` (DESIGN.md says how
//! to start it); when that does not answer — a fresh CI machine — it starts a private `dockerd`
//! on temporary roots, and stops and cleans it when dropped. Only when no `dockerd` binary
//! exists does it return `None`, and the caller prints why the comparison was left out.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::docker_cli;

/// Where developers keep a long-running reference Docker.
pub const SHARED_REF_SOCKET: &str = "/run/ref-docker.sock";

/// A reachable Docker daemon: shared, or private to this test.
pub struct RefDocker {
    host: String,
    private: Option<PrivateDockerd>,
}

struct PrivateDockerd {
    child: Child,
    root: PathBuf,
}

impl RefDocker {
    /// A reachable Docker daemon, or `None` with the reason printed to stderr.
    pub fn get(test: &str) -> Option<RefDocker> {
        let shared = format!("unix://{SHARED_REF_SOCKET}");
        if Path::new(SHARED_REF_SOCKET).exists() && answers(&shared) {
            return Some(RefDocker { host: shared, private: None });
        }
        let Some(dockerd) = find_dockerd() else {
            eprintln!("note {test}: no dockerd on this machine; the comparison with Docker is left out");
            return None;
        };
        match start_private(&dockerd) {
            Ok(r) => Some(r),
            Err(e) => panic!("{test}: a dockerd exists ({}) but did not start: {e}", dockerd.display()),
        }
    }

    /// The `-H` value for the docker CLI.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Runs the stock docker CLI against this daemon.
    pub fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new(docker_cli()).arg("-H").arg(&self.host).args(args).output().expect("run the docker CLI")
    }
}

impl Drop for RefDocker {
    fn drop(&mut self) {
        let Some(p) = self.private.as_mut() else { return };
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_raw(p.child.id() as i32).expect("pid"),
            rustix::process::Signal::TERM,
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if matches!(p.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = p.child.kill();
        let _ = p.child.wait();
        let _ = strata_sys::mountinfo::unmount_all_under(&p.root);
        let _ = std::fs::remove_dir_all(&p.root);
    }
}

fn answers(host: &str) -> bool {
    Command::new(docker_cli())
        .args(["-H", host, "version", "--format", "{{.Server.Version}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn find_dockerd() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/usr/local/bin"].map(PathBuf::from))
        .map(|d| d.join("dockerd"))
        .find(|p| p.is_file())
}

fn start_private(dockerd: &Path) -> Result<RefDocker, String> {
    let root = tempfile::Builder::new().prefix("strata-refdocker-").tempdir().map_err(|e| e.to_string())?.keep();
    let socket = root.join("docker.sock");
    let log = std::fs::File::create(root.join("dockerd.log")).map_err(|e| e.to_string())?;
    let child = Command::new(dockerd)
        .arg("--host")
        .arg(format!("unix://{}", socket.display()))
        .arg("--data-root")
        .arg(root.join("data"))
        .arg("--exec-root")
        .arg(root.join("exec"))
        .arg("--pidfile")
        .arg(root.join("dockerd.pid"))
        .args(["--iptables=false", "--ip6tables=false", "--bridge=none"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| e.to_string())?;
    let host = format!("unix://{}", socket.display());
    let r = RefDocker { host: host.clone(), private: Some(PrivateDockerd { child, root: root.clone() }) };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if socket.exists() && answers(&host) {
            return Ok(r);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = std::fs::read_to_string(root.join("dockerd.log")).unwrap_or_default();
    Err(format!("no answer within 60 s; its log:\n{log}"))
}
