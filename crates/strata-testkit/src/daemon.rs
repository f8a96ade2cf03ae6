//! A real `stratad` for one test, on its own temporary roots and socket.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::http::{HttpResponse, request};
use crate::{bin_path, docker_cli};

/// How long a daemon may take to answer its first ping.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a daemon may take to stop after SIGTERM before it is killed.
/// Longer than the daemon's own shutdown (it stops running containers for up to 10 s).
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// How to start a test daemon.
#[derive(Debug, Clone, Default)]
pub struct DaemonOptions {
    /// Extra command-line flags for stratad.
    pub args: Vec<String>,
    /// A daemon.json to pass with `--config-file`.
    pub config_json: Option<String>,
}

/// A running test daemon. Dropping it stops the daemon and cleans its roots.
#[derive(Debug)]
pub struct Daemon {
    dir: Option<tempfile::TempDir>,
    pub root: PathBuf,
    pub socket: PathBuf,
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
    pub log: PathBuf,
    options: DaemonOptions,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

/// The result of running a command.
#[derive(Debug, Clone)]
pub struct CmdOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl CmdOutput {
    /// Panics with the whole output unless the command exited 0; returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "command failed:\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        &self.stdout
    }

    /// Panics unless the command failed with `code` and stderr contains `needle`.
    #[track_caller]
    pub fn fails_with(&self, code: i32, needle: &str) {
        assert_eq!(self.code, code, "unexpected exit code:\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        assert!(self.stderr.contains(needle), "stderr {:?} does not contain {needle:?}", self.stderr);
    }
}

impl Daemon {
    /// Starts a daemon with default options.
    pub fn start() -> Daemon {
        Daemon::start_with(DaemonOptions::default())
    }

    /// For tests that run containers: as root, a daemon holding `busybox:latest` (imported from
    /// Debian's busybox-static, `CMD ["/bin/sh"]`); otherwise `None` after saying why
    /// ([`crate::require_root`], which fails under CI instead).
    pub fn with_busybox(test: &str) -> Option<Daemon> {
        if !crate::require_root(test) {
            return None;
        }
        let d = Daemon::start();
        let tar = crate::image::busybox_rootfs_tar().display().to_string();
        d.docker(&["import", "-c", r#"CMD ["/bin/sh"]"#, &tar, "busybox:latest"]).ok();
        Some(d)
    }

    /// Starts a daemon with `options` and waits until it answers `/_ping`.
    pub fn start_with(options: DaemonOptions) -> Daemon {
        Daemon::build(options, Vec::new())
    }

    fn build(options: DaemonOptions, env: Vec<(String, String)>) -> Daemon {
        let dir = tempfile::Builder::new().prefix("strata-test-").tempdir().expect("tempdir");
        let root = dir.path().to_owned();
        let mut d = Daemon {
            socket: root.join("strata.sock"),
            data_root: root.join("data"),
            exec_root: root.join("exec"),
            log: root.join("stratad.log"),
            root,
            dir: Some(dir),
            options,
            env,
            child: None,
        };
        d.spawn();
        d
    }

    /// The `-H` value for clients.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The daemon's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The stratad command line this fixture uses (for tests that run it by hand).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(bin_path("stratad"));
        cmd.arg("--data-root")
            .arg(&self.data_root)
            .arg("--exec-root")
            .arg(&self.exec_root)
            .arg("--host")
            .arg(self.host())
            .arg("--pidfile")
            .arg(self.root.join("stratad.pid"))
            .arg("--log-level")
            .arg("debug");
        if let Some(json) = &self.options.config_json {
            let path = self.root.join("daemon.json");
            std::fs::write(&path, json).expect("write daemon.json");
            cmd.arg("--config-file").arg(path);
        } else {
            // Never pick up the machine's /etc/strata/daemon.json.
            let path = self.root.join("empty-daemon.json");
            std::fs::write(&path, "{}").expect("write empty daemon.json");
            cmd.arg("--config-file").arg(path);
        }
        cmd.args(&self.options.args);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Starts a daemon with extra environment variables (e.g. `STRATA_CRASH_AT`).
    pub fn start_with_env(options: DaemonOptions, env: &[(&str, &str)]) -> Daemon {
        Daemon::build(options, env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    /// Sets (or with `None` removes) an environment variable for the next `start_again`.
    pub fn set_env(&mut self, key: &str, value: Option<&str>) {
        self.env.retain(|(k, _)| k != key);
        if let Some(v) = value {
            self.env.push((key.to_owned(), v.to_owned()));
        }
    }

    /// Waits for a daemon that is expected to exit by itself (an injected crash); returns its
    /// exit status, or kills it after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let t0 = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if t0.elapsed() < timeout => std::thread::sleep(Duration::from_millis(10)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return None;
                }
            }
        }
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).expect("open log");
        let child = self
            .command()
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log)
            .spawn()
            .expect("spawn stratad");
        self.child = Some(child);
        let t0 = Instant::now();
        loop {
            if let Ok(r) = request(&self.socket, "HEAD", "/_ping", &[], None)
                && r.status == 200
            {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("stratad exited during start with {status}; log:\n{}", self.log_text());
            }
            assert!(
                t0.elapsed() < START_TIMEOUT,
                "stratad did not answer within {START_TIMEOUT:?}; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The daemon's pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("daemon is running")
    }

    /// Stops the daemon with SIGTERM (SIGKILL after a timeout) and returns its exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        signal(&child, rustix::process::Signal::TERM);
        let t0 = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return status.code(),
                Ok(None) if t0.elapsed() < STOP_TIMEOUT => std::thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = child.kill();
                    return child.wait().ok().and_then(|s| s.code());
                }
            }
        }
    }

    /// Kills the daemon with SIGKILL, as a crash would, leaving its state as it is.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the daemon again on the same roots (after `stop` or `kill9`).
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "daemon is still running");
        self.spawn();
    }

    /// Runs the stock docker CLI against this daemon.
    pub fn docker(&self, args: &[&str]) -> CmdOutput {
        self.docker_with_stdin(args, None)
    }

    /// Runs the docker CLI with `stdin` piped in.
    pub fn docker_with_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> CmdOutput {
        let mut cmd = Command::new(docker_cli());
        cmd.arg("--host").arg(self.host()).args(args);
        // A private config dir: no credential helpers, contexts or aliases of the machine.
        cmd.env("DOCKER_CONFIG", self.root.join("docker-config"));
        cmd.env_remove("DOCKER_HOST").env_remove("DOCKER_CONTEXT");
        run(cmd, stdin)
    }

    /// Runs the strata CLI against this daemon.
    pub fn strata(&self, args: &[&str]) -> CmdOutput {
        self.strata_with_stdin(args, None)
    }

    /// Runs the strata CLI with `stdin` piped in.
    pub fn strata_with_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> CmdOutput {
        let mut cmd = Command::new(bin_path("strata"));
        cmd.arg("--host").arg(self.host()).args(args);
        cmd.env_remove("STRATA_HOST").env_remove("DOCKER_HOST");
        run(cmd, stdin)
    }

    /// One raw HTTP request.
    pub fn http(&self, method: &str, path: &str) -> HttpResponse {
        request(&self.socket, method, path, &[], None).expect("http request")
    }

    /// One raw HTTP request with a JSON body.
    pub fn http_json(&self, method: &str, path: &str, body: &serde_json::Value) -> HttpResponse {
        let bytes = serde_json::to_vec(body).expect("encode");
        request(&self.socket, method, path, &[("Content-Type", "application/json")], Some(&bytes))
            .expect("http request")
    }

    /// One raw HTTP request with explicit headers and body.
    pub fn http_raw(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> HttpResponse {
        request(&self.socket, method, path, headers, body).expect("http request")
    }

    /// Keeps the daemon's temporary directory after the test (for debugging a failure).
    pub fn keep_dir(&mut self) -> PathBuf {
        self.dir.take().map(tempfile::TempDir::keep).unwrap_or_else(|| self.root.clone())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
        if strata_sys::process::is_root() {
            // Containers a killed daemon left running must not outlive the test.
            kill_leftover_containers(&self.exec_root.join("runtime"));
            // Whatever the daemon (or a crash) left mounted under the roots must go before the
            // directory can be removed; this also runs when the test panicked.
            let _ = strata_sys::mountinfo::unmount_all_under(&self.root);
        }
        if std::thread::panicking() {
            eprintln!("--- stratad log ({}) ---\n{}", self.log.display(), self.log_text());
        }
    }
}

/// `runc delete --force` of every container under each runtime root in `runtimes`.
fn kill_leftover_containers(runtimes: &Path) {
    let Ok(roots) = std::fs::read_dir(runtimes) else { return };
    for root in roots.flatten() {
        let Ok(containers) = std::fs::read_dir(root.path()) else { continue };
        for c in containers.flatten() {
            let _ = Command::new("runc")
                .arg("--root")
                .arg(root.path())
                .args(["delete", "--force"])
                .arg(c.file_name())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn signal(child: &Child, sig: rustix::process::Signal) {
    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

fn run(mut cmd: Command, stdin: Option<&[u8]>) -> CmdOutput {
    use std::io::Write;
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    let out = child.wait_with_output().expect("wait for command");
    CmdOutput {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Whether `path` is a mount point right now.
pub fn is_mounted(path: &Path) -> bool {
    strata_sys::mountinfo::read().map(|t| strata_sys::mountinfo::is_mount_point(&t, path)).unwrap_or(false)
}
