//! The OCI runtime behind a trait, and its implementation for runc-compatible binaries.
//!
//! strata does not clone namespaces itself (DESIGN.md): an OCI runtime binary does, driven by
//! its command line. runc, crun and youki share that command line, so [`RuncRuntime`] serves any
//! of them; the [`Runtime`] trait exists so the container service can be tested with a fake and
//! so a different kind of runtime could be added without touching it.
//!
//! Every call runs the binary through the [`Reaper`] (never std's waiting; see the crate docs),
//! with a timeout, `--log <file> --log-format json` so that errors come back as the runtime's own
//! message (runc's stderr is the container's stderr during `create`/`exec`, so it cannot carry
//! them), and `--root` under the exec-root so strata's containers are separate from any other
//! user of the same runtime.
//!
//! `exec` always runs detached (`runc exec --detach --pid-file`): runc exits once the process
//! runs, the process is re-parented to the daemon (a subreaper) and its exit status comes from
//! the reaper like a container's, with no runc process left waiting per exec.

use std::ffi::OsString;
use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Deserialize;
use tokio::io::AsyncReadExt;

use crate::reaper::{ExitStatus, Reaper};

/// A boxed future, so that [`Runtime`] can be used as `dyn Runtime`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How long one runtime command may take before it is killed.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// After the runtime exited, how long its stdout/stderr may stay open (a grandchild holding
/// them) before we stop reading.
const OUTPUT_GRACE: Duration = Duration::from_secs(2);
/// Directory under the exec-root holding each runtime's `--root`.
pub const RUNTIME_ROOT_DIR: &str = "runtime";
/// Directory under the exec-root for per-call files (logs, pid files, process.json, sockets).
pub const RUNTIME_WORK_DIR: &str = "runtime-work";
/// Owner-only: these directories hold container state and sockets.
const PRIVATE_DIR_MODE: u32 = 0o700;

/// The stdio a runtime gives the process it creates.
#[derive(Debug, Default)]
pub enum RuntimeStdio {
    /// `/dev/null` for all three.
    #[default]
    Null,
    /// These descriptors become the process's fds 0, 1, 2 (`None`: `/dev/null`). runc passes
    /// its own stdio through to the process, so these are the runtime binary's stdio too.
    Fds { stdin: Option<OwnedFd>, stdout: Option<OwnedFd>, stderr: Option<OwnedFd> },
    /// A terminal: the runtime creates a pty and sends its master over this unix socket
    /// (`--console-socket`); see [`crate::console`].
    Console { socket: PathBuf },
}

/// What the runtime says about a container (`runc state`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ContainerState {
    pub id: String,
    /// The init process's pid on the host (0 once stopped).
    #[serde(default)]
    pub pid: u32,
    pub status: ContainerStatus,
    #[serde(default)]
    pub bundle: PathBuf,
    /// When it was created, RFC 3339.
    #[serde(default)]
    pub created: Option<String>,
}

/// A container's status as the runtime knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerStatus {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
    #[serde(other)]
    Unknown,
}

/// Why a runtime call failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("invalid container id {id:?}: ids may only use [a-zA-Z0-9_.+-] and must not start with '-'")]
    InvalidId { id: String },
    #[error("{runtime} {op} {id}: no such container")]
    NotFound { runtime: String, op: &'static str, id: String },
    #[error("{runtime} {op} {id}: container is not running")]
    NotRunning { runtime: String, op: &'static str, id: String },
    #[error("{runtime} {op} {id} failed ({status}): {message}")]
    CommandFailed { runtime: String, op: &'static str, id: String, status: ExitStatus, message: String },
    #[error("{runtime} {op} {id} did not finish within {timeout:?} and was killed")]
    Timeout { runtime: String, op: &'static str, id: String, timeout: Duration },
    #[error("cannot run {binary}: {source}")]
    Spawn { binary: PathBuf, source: io::Error },
    #[error("{runtime} {op} {id}: {what} {path}: {source}")]
    File { runtime: String, op: &'static str, id: String, what: &'static str, path: PathBuf, source: io::Error },
    #[error("{runtime} {op}: cannot parse its output: {source}")]
    BadOutput { runtime: String, op: &'static str, source: serde_json::Error },
}

impl RuntimeError {
    /// The runtime's own error message, when it gave one (`exec: "nosuch": executable file
    /// not found in $PATH`, …).
    pub fn runtime_message(&self) -> Option<&str> {
        match self {
            RuntimeError::CommandFailed { message, .. } => Some(message),
            _ => None,
        }
    }

    /// The exit code Docker reports when starting a process failed this way: 127 when the
    /// executable (or the working directory) does not exist, 126 when it cannot be executed,
    /// `None` otherwise (the API layer then uses its generic start-failure code).
    pub fn exit_code_hint(&self) -> Option<i32> {
        const NOT_FOUND: i32 = 127;
        const NOT_EXECUTABLE: i32 = 126;
        let msg = self.runtime_message()?;
        if msg.contains("executable file not found") || msg.contains("no such file or directory") {
            Some(NOT_FOUND)
        } else if msg.contains("permission denied") || msg.contains("is a directory") {
            Some(NOT_EXECUTABLE)
        } else {
            None
        }
    }
}

/// An OCI runtime. All methods are safe to call concurrently, for the same or different
/// containers; the runtime binary serialises what must be.
pub trait Runtime: Send + Sync + fmt::Debug {
    /// Its name in the daemon configuration (`runc`).
    fn name(&self) -> &str;

    /// A private directory (mode 0700) for this runtime's per-call files; console sockets are
    /// created here, so its path is short enough for a unix socket.
    fn work_dir(&self) -> &Path;

    /// `create`: sets the container up from `bundle/config.json` and returns the pid of its
    /// init process, which waits (blocked in the runtime) until [`Runtime::start`].
    fn create<'a>(
        &'a self,
        id: &'a str,
        bundle: &'a Path,
        stdio: RuntimeStdio,
    ) -> BoxFuture<'a, Result<u32, RuntimeError>>;

    /// `start`: runs the user process of a created container.
    fn start<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), RuntimeError>>;

    /// `kill`: sends `signal` to the init process (`all`: to every process of the container).
    fn kill<'a>(&'a self, id: &'a str, signal: i32, all: bool) -> BoxFuture<'a, Result<(), RuntimeError>>;

    /// `delete`: removes the runtime's state of a stopped container (`force`: kills it first).
    fn delete<'a>(&'a self, id: &'a str, force: bool) -> BoxFuture<'a, Result<(), RuntimeError>>;

    /// `state`: what the runtime knows of the container.
    fn state<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<ContainerState, RuntimeError>>;

    /// `pause`: freezes every process of the container (for consistent backups and commits).
    fn pause<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), RuntimeError>>;

    /// `resume`: thaws a paused container.
    fn resume<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), RuntimeError>>;

    /// `exec`: starts `process` inside the running container, detached, and returns its pid.
    /// `process.terminal` must match the kind of `stdio` (a console socket for a terminal).
    fn exec<'a>(
        &'a self,
        id: &'a str,
        process: &'a oci_spec::runtime::Process,
        stdio: RuntimeStdio,
    ) -> BoxFuture<'a, Result<u32, RuntimeError>>;

    /// `list`: every container the runtime has state for (under this daemon's root).
    fn list(&self) -> BoxFuture<'_, Result<Vec<ContainerState>, RuntimeError>>;
}

/// How to run a runc-compatible runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuncConfig {
    /// The name in the daemon configuration (`runc`, `crun`).
    pub name: String,
    /// The binary.
    pub binary: PathBuf,
    /// Extra global arguments (`runtimeArgs` of daemon.json), put before strata's own.
    pub args: Vec<String>,
    /// The runtime's state directory (`--root`).
    pub root: PathBuf,
    /// Where per-call files go (see [`Runtime::work_dir`]).
    pub work_dir: PathBuf,
    /// How long one call may take.
    pub timeout: Duration,
}

impl RuncConfig {
    /// The layout strata uses: `--root <exec-root>/runtime/<name>`, per-call files in
    /// `<exec-root>/runtime-work/<name>`.
    pub fn new(name: &str, binary: impl Into<PathBuf>, args: Vec<String>, exec_root: &Path) -> RuncConfig {
        RuncConfig {
            name: name.to_owned(),
            binary: binary.into(),
            args,
            root: exec_root.join(RUNTIME_ROOT_DIR).join(name),
            work_dir: exec_root.join(RUNTIME_WORK_DIR).join(name),
            timeout: DEFAULT_COMMAND_TIMEOUT,
        }
    }
}

/// A runc-compatible runtime binary.
#[derive(Debug)]
pub struct RuncRuntime {
    config: RuncConfig,
    reaper: &'static Reaper,
    seq: AtomicU64,
}

/// One call of the binary.
struct Call<'a> {
    op: &'static str,
    id: &'a str,
    args: Vec<OsString>,
    stdio: RuntimeStdio,
}

impl RuncRuntime {
    /// A runtime from `config`, creating its directories.
    pub fn new(config: RuncConfig, reaper: &'static Reaper) -> io::Result<RuncRuntime> {
        for dir in [&config.root, &config.work_dir] {
            create_private_dir(dir)?;
        }
        Ok(RuncRuntime { config, reaper, seq: AtomicU64::new(0) })
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &RuncConfig {
        &self.config
    }

    /// A fresh path in the work directory.
    fn work_file(&self, what: &str) -> PathBuf {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        self.config.work_dir.join(format!("{what}-{n}"))
    }

    /// The global arguments: configured ones, then strata's.
    fn global_args(&self, log: &Path) -> Vec<OsString> {
        let mut args: Vec<OsString> = self.config.args.iter().map(OsString::from).collect();
        args.extend(["--root".into(), self.config.root.clone().into_os_string()]);
        args.extend(["--log".into(), log.as_os_str().to_owned(), "--log-format".into(), "json".into()]);
        args
    }

    fn err_file(
        &self,
        call_op: &'static str,
        id: &str,
        what: &'static str,
        path: &Path,
        source: io::Error,
    ) -> RuntimeError {
        RuntimeError::File {
            runtime: self.config.name.clone(),
            op: call_op,
            id: id.to_owned(),
            what,
            path: path.to_owned(),
            source,
        }
    }

    /// Runs one call; returns its stdout.
    async fn run(&self, mut call: Call<'_>) -> Result<Vec<u8>, RuntimeError> {
        let log = self.work_file(&format!("{}.log", call.op));
        let stdio = call_stdio(std::mem::take(&mut call.stdio));
        let result = self.run_logged(&call, stdio, &log).await;
        let _ = std::fs::remove_file(&log);
        result
    }

    async fn run_logged(&self, call: &Call<'_>, stdio: ChildStdio, log: &Path) -> Result<Vec<u8>, RuntimeError> {
        let mut cmd = Command::new(&self.config.binary);
        cmd.args(self.global_args(log)).args(&call.args);
        // runc would proxy sd_notify for the container if it saw the daemon's notify socket.
        cmd.env_remove("NOTIFY_SOCKET");
        cmd.stdin(stdio.stdin).stdout(stdio.stdout).stderr(stdio.stderr);
        let spawned = self.reaper.spawn(&mut cmd);
        // The parent's copies of the container's pipe ends must close now, or their readers
        // never see EOF.
        drop(cmd);
        let mut child = spawned.map_err(|source| RuntimeError::Spawn { binary: self.config.binary.clone(), source })?;
        let stdout = child.stdout.take().map(reader_task);
        let stderr = child.stderr.take().map(reader_task);
        let status = match tokio::time::timeout(self.config.timeout, child.exit.wait()).await {
            Ok(status) => status,
            Err(_) => {
                let _ = child.exit.signal(rustix::process::Signal::KILL);
                child.exit.wait().await;
                return Err(RuntimeError::Timeout {
                    runtime: self.config.name.clone(),
                    op: call.op,
                    id: call.id.to_owned(),
                    timeout: self.config.timeout,
                });
            }
        };
        let stdout = collect(stdout).await;
        let stderr = collect(stderr).await;
        if status.success() {
            return Ok(stdout);
        }
        let logged = std::fs::read_to_string(log).unwrap_or_default();
        let message = last_error_message(&logged)
            .or_else(|| Some(String::from_utf8_lossy(&stderr).trim().to_owned()).filter(|s| !s.is_empty()))
            .unwrap_or_else(|| format!("{} exited with {status}", self.config.name));
        Err(classify(&self.config.name, call.op, call.id, status, message))
    }

    fn read_pid_file(&self, op: &'static str, id: &str, path: &Path) -> Result<u32, RuntimeError> {
        let text = std::fs::read_to_string(path).map_err(|e| self.err_file(op, id, "cannot read pid file", path, e))?;
        let _ = std::fs::remove_file(path);
        text.trim().parse::<u32>().map_err(|_| {
            self.err_file(op, id, "bad pid file", path, io::Error::new(io::ErrorKind::InvalidData, format!("{text:?}")))
        })
    }

    async fn simple(&self, op: &'static str, id: &str, args: Vec<OsString>) -> Result<Vec<u8>, RuntimeError> {
        check_id(id)?;
        self.run(Call { op, id, args, stdio: RuntimeStdio::Null }).await
    }
}

/// The three stdio of the runtime binary for one call.
struct ChildStdio {
    stdin: Stdio,
    stdout: Stdio,
    stderr: Stdio,
}

fn call_stdio(stdio: RuntimeStdio) -> ChildStdio {
    let or_null = |fd: Option<OwnedFd>| fd.map(Stdio::from).unwrap_or_else(Stdio::null);
    match stdio {
        // stdout carries the output of `state`/`list`; stderr the message of a failure when
        // the log has none.
        RuntimeStdio::Null | RuntimeStdio::Console { .. } => {
            ChildStdio { stdin: Stdio::null(), stdout: Stdio::piped(), stderr: Stdio::piped() }
        }
        RuntimeStdio::Fds { stdin, stdout, stderr } => {
            ChildStdio { stdin: or_null(stdin), stdout: or_null(stdout), stderr: or_null(stderr) }
        }
    }
}

type ReaderTask = tokio::task::JoinHandle<Vec<u8>>;

fn reader_task(fd: impl Into<OwnedFd>) -> ReaderTask {
    let fd: OwnedFd = fd.into();
    tokio::spawn(async move {
        let mut buf = Vec::new();
        if let Ok(mut r) = tokio::net::unix::pipe::Receiver::from_owned_fd(fd) {
            let _ = r.read_to_end(&mut buf).await;
        }
        buf
    })
}

async fn collect(task: Option<ReaderTask>) -> Vec<u8> {
    let Some(task) = task else { return Vec::new() };
    let abort = task.abort_handle();
    match tokio::time::timeout(OUTPUT_GRACE, task).await {
        Ok(Ok(buf)) => buf,
        Ok(Err(_)) => Vec::new(),
        Err(_) => {
            abort.abort();
            Vec::new()
        }
    }
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new().recursive(true).mode(PRIVATE_DIR_MODE).create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(PRIVATE_DIR_MODE))
}

/// Container ids go on the runtime's command line: refuse anything that could be read as a flag
/// or a path.
fn check_id(id: &str) -> Result<(), RuntimeError> {
    let ok = !id.is_empty()
        && !id.starts_with('-')
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'+' | b'-'))
        && id != "."
        && id != "..";
    if ok { Ok(()) } else { Err(RuntimeError::InvalidId { id: id.to_owned() }) }
}

/// One line of runc's `--log-format json` log.
#[derive(Deserialize)]
struct LogLine {
    #[serde(default)]
    level: String,
    #[serde(default)]
    msg: String,
}

/// The message of the last error in a runc JSON log (`{"level":"error","msg":"…"}` lines).
fn last_error_message(log: &str) -> Option<String> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<LogLine>(l).ok())
        .rfind(|l| matches!(l.level.as_str(), "error" | "fatal" | "panic") && !l.msg.is_empty())
        .map(|l| l.msg)
}

/// Turns a failure into the error the container service can act on.
fn classify(runtime: &str, op: &'static str, id: &str, status: ExitStatus, message: String) -> RuntimeError {
    let (runtime, id) = (runtime.to_owned(), id.to_owned());
    if message.ends_with("container does not exist") || message.contains("does not exist: no such file") {
        RuntimeError::NotFound { runtime, op, id }
    } else if message.ends_with("container not running") || message.ends_with("container is not running") {
        RuntimeError::NotRunning { runtime, op, id }
    } else {
        RuntimeError::CommandFailed { runtime, op, id, status, message }
    }
}

impl Runtime for RuncRuntime {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn work_dir(&self) -> &Path {
        &self.config.work_dir
    }

    fn create<'a>(
        &'a self,
        id: &'a str,
        bundle: &'a Path,
        stdio: RuntimeStdio,
    ) -> BoxFuture<'a, Result<u32, RuntimeError>> {
        Box::pin(async move {
            check_id(id)?;
            let pid_file = self.work_file("create.pid");
            let mut args: Vec<OsString> = vec!["create".into(), "--bundle".into(), bundle.into(), "--pid-file".into()];
            args.push(pid_file.clone().into());
            if let RuntimeStdio::Console { socket } = &stdio {
                args.extend(["--console-socket".into(), socket.clone().into_os_string()]);
            }
            args.push(id.into());
            let result = self.run(Call { op: "create", id, args, stdio }).await;
            let pid = result.and_then(|_| self.read_pid_file("create", id, &pid_file));
            let _ = std::fs::remove_file(&pid_file);
            pid
        })
    }

    fn start<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), RuntimeError>> {
        Box::pin(async move { self.simple("start", id, vec!["start".into(), id.into()]).await.map(drop) })
    }

    fn kill<'a>(&'a self, id: &'a str, signal: i32, all: bool) -> BoxFuture<'a, Result<(), RuntimeError>> {
        Box::pin(async move {
            let mut args: Vec<OsString> = vec!["kill".into()];
            if all {
                args.push("--all".into());
            }
            args.extend([id.into(), signal.to_string().into()]);
            self.simple("kill", id, args).await.map(drop)
        })
    }

    fn delete<'a>(&'a self, id: &'a str, force: bool) -> BoxFuture<'a, Result<(), RuntimeError>> {
        Box::pin(async move {
            let mut args: Vec<OsString> = vec!["delete".into()];
            if force {
                args.push("--force".into());
            }
            args.push(id.into());
            // `runc delete --force` races with a container whose last process is exiting: it may
            // see it running, try to freeze it, and fail with "invalid state transition from
            // stopped to paused". A second attempt sees it stopped and deletes it.
            let mut attempt = 0;
            loop {
                match self.simple("delete", id, args.clone()).await {
                    Ok(_) => return Ok(()),
                    Err(e) if attempt >= 3 || e.to_string().contains("does not exist") => return Err(e),
                    Err(e) => tracing::debug!(id, error = %e, attempt, "runtime delete failed, retrying"),
                }
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(25 * attempt)).await;
            }
        })
    }

    fn state<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<ContainerState, RuntimeError>> {
        Box::pin(async move {
            let out = self.simple("state", id, vec!["state".into(), id.into()]).await?;
            serde_json::from_slice(&out).map_err(|source| RuntimeError::BadOutput {
                runtime: self.config.name.clone(),
                op: "state",
                source,
            })
        })
    }

    fn pause<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), RuntimeError>> {
        Box::pin(async move { self.simple("pause", id, vec!["pause".into(), id.into()]).await.map(drop) })
    }

    fn resume<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), RuntimeError>> {
        Box::pin(async move { self.simple("resume", id, vec!["resume".into(), id.into()]).await.map(drop) })
    }

    fn exec<'a>(
        &'a self,
        id: &'a str,
        process: &'a oci_spec::runtime::Process,
        stdio: RuntimeStdio,
    ) -> BoxFuture<'a, Result<u32, RuntimeError>> {
        Box::pin(async move {
            check_id(id)?;
            let process_file = self.work_file("exec.json");
            let json = serde_json::to_vec(process).map_err(|source| RuntimeError::BadOutput {
                runtime: self.config.name.clone(),
                op: "exec",
                source,
            })?;
            std::fs::write(&process_file, json)
                .map_err(|e| self.err_file("exec", id, "cannot write process file", &process_file, e))?;
            let pid_file = self.work_file("exec.pid");
            let mut args: Vec<OsString> = vec!["exec".into(), "--process".into(), process_file.clone().into()];
            args.extend(["--pid-file".into(), pid_file.clone().into(), "--detach".into()]);
            if let RuntimeStdio::Console { socket } = &stdio {
                args.extend(["--console-socket".into(), socket.clone().into_os_string()]);
            }
            args.push(id.into());
            let result = self.run(Call { op: "exec", id, args, stdio }).await;
            let pid = result.and_then(|_| self.read_pid_file("exec", id, &pid_file));
            let _ = std::fs::remove_file(&process_file);
            let _ = std::fs::remove_file(&pid_file);
            pid
        })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<ContainerState>, RuntimeError>> {
        Box::pin(async move {
            let args = vec!["list".into(), "--format".into(), "json".into()];
            let out = self.run(Call { op: "list", id: "", args, stdio: RuntimeStdio::Null }).await?;
            // runc prints `null` when it has no containers.
            let list: Option<Vec<ContainerState>> = serde_json::from_slice(&out)
                .map_err(|source| RuntimeError::BadOutput { runtime: self.config.name.clone(), op: "list", source })?;
            Ok(list.unwrap_or_default())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reaper::tests::test_reaper;

    /// A runtime binary and the arguments that come before the configured ones.
    struct Fake {
        binary: PathBuf,
        args: Vec<String>,
    }

    fn binary(path: &str) -> Fake {
        Fake { binary: PathBuf::from(path), args: vec![] }
    }

    fn runtime_with(fake: &Fake, dir: &Path) -> RuncRuntime {
        let mut args = fake.args.clone();
        args.push("--systemd-cgroup=false".into());
        let mut config = RuncConfig::new("runc", &fake.binary, args, dir);
        config.timeout = Duration::from_secs(10);
        RuncRuntime::new(config, test_reaper()).expect("runtime")
    }

    /// A fake runtime: a shell script with `body`, which sees the arguments as "$@". It runs as
    /// `/bin/sh <script>`: executing a file this process just wrote can fail with ETXTBSY while
    /// another test's fork still holds the write descriptor.
    fn script(dir: &Path, body: &str) -> Fake {
        let path = dir.join("fake-runc");
        std::fs::write(&path, format!("{body}\n")).expect("write script");
        Fake { binary: PathBuf::from("/bin/sh"), args: vec![path.display().to_string()] }
    }

    /// A script that records its arguments (one per line) into `args.txt` and writes `pid`
    /// into the file given with --pid-file.
    const RECORDER: &str = r#"
dir=$(dirname "$0")
: > "$dir/args.txt"
prev=
for a in "$@"; do
  printf '%s\n' "$a" >> "$dir/args.txt"
  [ "$prev" = --pid-file ] && echo 4242 > "$a"
  prev=$a
done
exit 0"#;

    fn recorded(dir: &Path) -> Vec<String> {
        std::fs::read_to_string(dir.join("args.txt")).expect("args").lines().map(str::to_owned).collect()
    }

    fn with_globals(dir: &Path, rest: &[&str]) -> Vec<String> {
        let root = dir.join("exec/runtime/runc");
        let mut v = vec!["--systemd-cgroup=false".to_owned(), "--root".to_owned(), root.display().to_string()];
        v.extend(["--log".to_owned(), "<log>".to_owned(), "--log-format".to_owned(), "json".to_owned()]);
        v.extend(rest.iter().map(|s| s.to_string()));
        v
    }

    /// Replaces the per-call file names (which carry a sequence number) with placeholders.
    fn normalise(args: Vec<String>) -> Vec<String> {
        let mut out = Vec::new();
        let mut prev = String::new();
        for a in args {
            let v = match prev.as_str() {
                "--log" => "<log>".to_owned(),
                "--pid-file" => "<pid>".to_owned(),
                "--process" => "<process>".to_owned(),
                _ => a.clone(),
            };
            prev = a;
            out.push(v);
        }
        out
    }

    #[tokio::test]
    async fn command_lines_are_runc_s() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rt = runtime_with(&script(dir.path(), RECORDER), &dir.path().join("exec"));
        let bundle = dir.path().join("bundle");
        let d = dir.path();

        assert_eq!(rt.create("c1", &bundle, RuntimeStdio::Null).await.expect("create"), 4242);
        let b = bundle.display().to_string();
        assert_eq!(normalise(recorded(d)), with_globals(d, &["create", "--bundle", &b, "--pid-file", "<pid>", "c1"]));

        let sock = PathBuf::from("/run/x.sock");
        rt.create("c1", &bundle, RuntimeStdio::Console { socket: sock }).await.expect("create tty");
        assert_eq!(
            normalise(recorded(d)),
            with_globals(
                d,
                &["create", "--bundle", &b, "--pid-file", "<pid>", "--console-socket", "/run/x.sock", "c1"]
            )
        );

        rt.start("c1").await.expect("start");
        assert_eq!(normalise(recorded(d)), with_globals(d, &["start", "c1"]));
        rt.kill("c1", 9, true).await.expect("kill");
        assert_eq!(normalise(recorded(d)), with_globals(d, &["kill", "--all", "c1", "9"]));
        rt.kill("c1", 15, false).await.expect("kill");
        assert_eq!(normalise(recorded(d)), with_globals(d, &["kill", "c1", "15"]));
        rt.delete("c1", true).await.expect("delete");
        assert_eq!(normalise(recorded(d)), with_globals(d, &["delete", "--force", "c1"]));
        rt.pause("c1").await.expect("pause");
        assert_eq!(normalise(recorded(d)), with_globals(d, &["pause", "c1"]));
        rt.resume("c1").await.expect("resume");
        assert_eq!(normalise(recorded(d)), with_globals(d, &["resume", "c1"]));

        let process = oci_spec::runtime::Process::default();
        assert_eq!(rt.exec("c1", &process, RuntimeStdio::Null).await.expect("exec"), 4242);
        assert_eq!(
            normalise(recorded(d)),
            with_globals(d, &["exec", "--process", "<process>", "--pid-file", "<pid>", "--detach", "c1"])
        );
        // Per-call files are cleaned up.
        let left: Vec<_> = std::fs::read_dir(rt.work_dir()).expect("work dir").collect();
        assert!(left.is_empty(), "work dir not cleaned: {left:?}");
    }

    #[tokio::test]
    async fn bin_true_succeeds_but_create_needs_a_pid_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rt = runtime_with(&binary("/bin/true"), dir.path());
        rt.start("c").await.expect("start");
        rt.kill("c", 9, false).await.expect("kill");
        rt.delete("c", false).await.expect("delete");
        match rt.create("c", dir.path(), RuntimeStdio::Null).await {
            Err(RuntimeError::File { what: "cannot read pid file", .. }) => {}
            other => panic!("expected a pid-file error, got {other:?}"),
        }
        // `true` prints nothing, which is not a state.
        assert!(matches!(rt.state("c").await, Err(RuntimeError::BadOutput { op: "state", .. })));
    }

    #[tokio::test]
    async fn bin_false_fails_with_the_status() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rt = runtime_with(&binary("/bin/false"), dir.path());
        match rt.start("c").await {
            Err(e @ RuntimeError::CommandFailed { .. }) => {
                assert_eq!(e.to_string(), "runc start c failed (exit status 1): runc exited with exit status 1");
                assert_eq!(e.exit_code_hint(), None);
            }
            other => panic!("expected CommandFailed, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_runtime_s_json_log_is_the_error_message() {
        let dir = tempfile::tempdir().expect("tempdir");
        let body = r#"
while [ $# -gt 0 ]; do [ "$1" = --log ] && log=$2; shift; done
echo '{"level":"warning","msg":"something minor","time":"2026-11-26T17:49:23Z"}' >> "$log"
echo '{"level":"error","msg":"runc create failed: unable to start container process: exec: \"nosuch\": executable file not found in $PATH","time":"2026-11-26T17:49:23Z"}' >> "$log"
echo 'plain text on stderr' >&2
exit 1"#;
        let rt = runtime_with(&script(dir.path(), body), dir.path());
        let err = rt.create("c", dir.path(), RuntimeStdio::Null).await.expect_err("must fail");
        assert_eq!(
            err.runtime_message(),
            Some(
                r#"runc create failed: unable to start container process: exec: "nosuch": executable file not found in $PATH"#
            )
        );
        assert_eq!(err.exit_code_hint(), Some(127));
    }

    #[tokio::test]
    async fn stderr_is_the_message_when_the_log_has_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rt =
            runtime_with(&script(dir.path(), "echo 'flag provided but not defined: -bogus' >&2; exit 2"), dir.path());
        let err = rt.pause("c").await.expect_err("must fail");
        assert_eq!(err.runtime_message(), Some("flag provided but not defined: -bogus"));
    }

    #[tokio::test]
    async fn missing_and_stopped_containers_are_told_apart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let body = r#"
while [ $# -gt 0 ]; do [ "$1" = --log ] && log=$2; last=$1; shift; done
case "$last" in
  ghost) echo '{"level":"error","msg":"container does not exist"}' >> "$log";;
  *) echo '{"level":"error","msg":"container not running"}' >> "$log";;
esac
exit 1"#;
        let rt = runtime_with(&script(dir.path(), body), dir.path());
        assert!(matches!(rt.state("ghost").await, Err(RuntimeError::NotFound { op: "state", .. })));
        assert!(matches!(rt.kill("c", 15, false).await, Err(RuntimeError::NotRunning { op: "kill", .. })));
    }

    #[tokio::test]
    async fn state_and_list_parse_runc_output() {
        let dir = tempfile::tempdir().expect("tempdir");
        let body = r#"
for a in "$@"; do last=$a; done
case " $* " in
  *" list "*) echo '[{"ociVersion":"1.0.2-dev","id":"a","pid":10,"status":"running","bundle":"/b/a","rootfs":"/r","created":"2026-11-26T17:49:23.1Z","owner":""}]';;
  *) echo "{\"ociVersion\":\"1.0.2-dev\",\"id\":\"$last\",\"pid\":0,\"status\":\"stopped\",\"bundle\":\"/b\",\"created\":\"2026-11-26T17:49:23Z\",\"annotations\":{}}";;
esac"#;
        let rt = runtime_with(&script(dir.path(), body), dir.path());
        let st = rt.state("c9").await.expect("state");
        assert_eq!((st.id.as_str(), st.pid, st.status), ("c9", 0, ContainerStatus::Stopped));
        let list = rt.list().await.expect("list");
        assert_eq!(list.len(), 1);
        assert_eq!((list[0].id.as_str(), list[0].pid, list[0].status), ("a", 10, ContainerStatus::Running));

        let empty = runtime_with(&script(dir.path(), "echo null"), dir.path());
        assert!(empty.list().await.expect("list").is_empty());
    }

    #[tokio::test]
    async fn a_hanging_runtime_is_killed_after_the_timeout() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fake = script(dir.path(), "exec sleep 30");
        let mut config = RuncConfig::new("runc", fake.binary, fake.args, dir.path());
        config.timeout = Duration::from_millis(200);
        let rt = RuncRuntime::new(config, test_reaper()).expect("runtime");
        let t0 = std::time::Instant::now();
        assert!(matches!(rt.start("c").await, Err(RuntimeError::Timeout { op: "start", .. })));
        assert!(t0.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_missing_binary_is_a_spawn_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rt = runtime_with(&binary("/nonexistent/runc"), dir.path());
        let err = rt.start("c").await.expect_err("must fail");
        assert!(matches!(err, RuntimeError::Spawn { .. }), "{err:?}");
        assert!(err.to_string().starts_with("cannot run /nonexistent/runc: "), "{err}");
    }

    #[tokio::test]
    async fn ids_that_could_be_flags_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rt = runtime_with(&binary("/bin/true"), dir.path());
        for bad in ["", "-rf", "--all", "a/b", "..", "a b"] {
            assert!(matches!(rt.start(bad).await, Err(RuntimeError::InvalidId { .. })), "{bad:?}");
        }
        rt.start("0123abcdef_x.y+z-w").await.expect("valid id");
    }

    #[test]
    fn runc_log_parsing_takes_the_last_error() {
        let log = concat!(
            "{\"level\":\"error\",\"msg\":\"first\",\"time\":\"t\"}\n",
            "not json\n",
            "{\"level\":\"info\",\"msg\":\"info\",\"time\":\"t\"}\n",
            "{\"level\":\"fatal\",\"msg\":\"second\",\"time\":\"t\"}\n",
        );
        assert_eq!(last_error_message(log).as_deref(), Some("second"));
        assert_eq!(last_error_message(""), None);
    }

    #[test]
    fn exit_code_hints_follow_docker() {
        let failed = |m: &str| RuntimeError::CommandFailed {
            runtime: "runc".into(),
            op: "create",
            id: "c".into(),
            status: ExitStatus::Exited(1),
            message: m.into(),
        };
        let cases = [
            (r#"exec: "nosuch": executable file not found in $PATH"#, Some(127)),
            ("exec: \"/x\": stat /x: no such file or directory", Some(127)),
            ("exec: \"/etc\": permission denied", Some(126)),
            ("cgroup: cannot create", None),
        ];
        for (msg, want) in cases {
            assert_eq!(failed(msg).exit_code_hint(), want, "{msg}");
        }
    }
}
