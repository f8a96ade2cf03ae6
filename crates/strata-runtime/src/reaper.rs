//! The one place in the daemon that waits for child processes.
//!
//! `stratad` is a child subreaper (see `DESIGN.md`): when `runc create` or `runc exec -d` exits,
//! the container's init process, and each exec'd process, is re-parented to the daemon, and the
//! daemon must `wait` for it to learn its exit code. The kernel only tells *that* some child
//! changed state (`SIGCHLD`, coalesced), so one process-wide reaper collects every exit with
//! `waitpid(-1, WNOHANG)` and hands each status to whoever watches that pid.
//!
//! # The rule
//!
//! **Once the reaper runs in [`ReapMode::AllChildren`], nothing else in the process may wait for
//! a child**: not `std::process::Child::wait`/`output`/`status`, not `tokio::process`, not a
//! library that does so behind your back. The reaper would take the exit status first and the
//! other waiter would fail with `ECHILD` (std's `Command::output` then returns an error). Spawn
//! through [`Reaper::spawn`], [`Reaper::output`] or [`Reaper::output_blocking`] instead.
//!
//! # Races it closes
//!
//! - *Exit before registration.* A process can exit before anyone asked for its status (an exec'd
//!   `true` is gone before `runc exec` has even written its pid file). Statuses of pids nobody
//!   watches yet are kept for [`UNCLAIMED_TTL`] and handed over when [`Reaper::watch`] comes; older
//!   ones belonged to orphans (daemonised grandchildren re-parented to us) and are logged and
//!   dropped.
//! - *Pid reuse.* A status is only delivered to a watcher registered with a `since` instant that
//!   is older than the reap, and [`Reaper::spawn`] holds the reaper's lock across `fork`/`exec`,
//!   so a pid can never be reaped between its creation and its registration. Signalling through
//!   [`ExitWatch::signal`] happens under the same lock, so a reaped (and possibly reused) pid is
//!   never signalled.
//! - *Spawn failures.* std reaps a child whose `exec` failed itself; holding the lock across
//!   `spawn` keeps the reaper from stealing that status (std would panic on `ECHILD`).
//!
//! # Threads
//!
//! The reaper runs on its own thread with a current-thread tokio runtime, independent of the
//! daemon's runtime (and of the per-test runtimes of `#[tokio::test]`): statuses are collected
//! even when every worker of the main runtime is busy. [`ExitWatch`] can be awaited from any
//! runtime or waited for from a plain thread.

use std::collections::HashMap;
use std::io::{self, Read};
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, WaitId, WaitIdOptions, WaitOptions, WaitStatus};
use tokio::io::AsyncReadExt;
use tokio::sync::Notify;

/// How long the status of a pid nobody watches is kept before it is taken for an orphan's.
pub const UNCLAIMED_TTL: Duration = Duration::from_secs(60);
/// At most this many unclaimed statuses are kept (the oldest are dropped first).
const UNCLAIMED_MAX: usize = 4096;
/// A sweep also runs this often, in case a `SIGCHLD` was lost (someone reset its disposition).
const SWEEP_INTERVAL: Duration = Duration::from_secs(5);
/// Exit code reported for a status the reaper could not collect (Docker's "unknown" code).
pub const LOST_EXIT_CODE: i32 = 255;
/// Shells and Docker report death by signal N as exit code 128 + N.
const SIGNAL_EXIT_BASE: i32 = 128;

/// Which children the reaper collects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReapMode {
    /// `waitpid(-1)`: every child, watched or not. What the daemon uses: as a subreaper it
    /// inherits orphans, and they must not pile up as zombies. Nothing else may wait for
    /// children (see the module docs).
    AllChildren,
    /// `waitpid(pid)` for watched pids only. For processes that also run children with std's
    /// waiting (tests, tools): other children are left alone, unwatched orphans stay zombies.
    RegisteredOnly,
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// It called `exit(code)`.
    Exited(i32),
    /// It was killed by this signal.
    Signaled(i32),
    /// Its status was taken by someone else (a rule violation; see the module docs).
    Lost,
}

impl ExitStatus {
    fn from_wait(status: WaitStatus) -> ExitStatus {
        if let Some(code) = status.exit_status() {
            ExitStatus::Exited(code)
        } else if let Some(sig) = status.terminating_signal() {
            ExitStatus::Signaled(sig)
        } else {
            ExitStatus::Lost
        }
    }

    /// The exit code, when the process exited.
    pub fn code(&self) -> Option<i32> {
        match self {
            ExitStatus::Exited(c) => Some(*c),
            _ => None,
        }
    }

    /// The signal that killed the process.
    pub fn signal(&self) -> Option<i32> {
        match self {
            ExitStatus::Signaled(s) => Some(*s),
            _ => None,
        }
    }

    /// The code Docker reports (`State.ExitCode`, `wait`'s `StatusCode`): the exit code, or
    /// 128 + the signal (`SIGKILL` → 137), or [`LOST_EXIT_CODE`].
    pub fn exit_code(&self) -> i32 {
        match self {
            ExitStatus::Exited(c) => *c,
            ExitStatus::Signaled(s) => SIGNAL_EXIT_BASE + s,
            ExitStatus::Lost => LOST_EXIT_CODE,
        }
    }

    /// Whether the process exited with code 0.
    pub fn success(&self) -> bool {
        *self == ExitStatus::Exited(0)
    }
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitStatus::Exited(c) => write!(f, "exit status {c}"),
            ExitStatus::Signaled(s) => write!(f, "killed by signal {s}"),
            ExitStatus::Lost => f.write_str("exit status unknown (reaped elsewhere)"),
        }
    }
}

/// Why the reaper refused a request.
#[derive(Debug, thiserror::Error)]
pub enum ReaperError {
    #[error("the reaper is already running in mode {running:?}, cannot switch to {requested:?}")]
    ModeConflict { running: ReapMode, requested: ReapMode },
    #[error("cannot start the reaper: {0}")]
    Start(#[source] io::Error),
    #[error("pid {pid} is not a child of this process (is the daemon a child subreaper?)")]
    NotAChild { pid: u32 },
}

/// The process-wide reaper. Get it with [`install`] (or [`installed`]).
#[derive(Debug)]
pub struct Reaper {
    mode: ReapMode,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Pids someone waits for, not reaped yet.
    watched: HashMap<i32, Arc<ExitCell>>,
    /// Statuses reaped before anyone watched the pid (AllChildren only).
    unclaimed: HashMap<i32, Unclaimed>,
}

#[derive(Debug, Clone, Copy)]
struct Unclaimed {
    status: ExitStatus,
    reaped_at: Instant,
}

static REAPER: OnceLock<Reaper> = OnceLock::new();
static START: Mutex<()> = Mutex::new(());

/// Starts the process-wide reaper in `mode` (once; later calls with the same mode return the
/// running one, a different mode is an error). The daemon calls this with
/// [`ReapMode::AllChildren`] right after becoming a child subreaper, before it runs anything.
pub fn install(mode: ReapMode) -> Result<&'static Reaper, ReaperError> {
    let _serial = lock(&START);
    if let Some(r) = REAPER.get() {
        return if r.mode == mode {
            Ok(r)
        } else {
            Err(ReaperError::ModeConflict { running: r.mode, requested: mode })
        };
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(ReaperError::Start)?;
    // The SIGCHLD handler must be in place before the first sweep, or an exit in between
    // would only be noticed by the periodic sweep.
    let sigchld = {
        let _enter = rt.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child()).map_err(ReaperError::Start)?
    };
    let reaper = REAPER.get_or_init(|| Reaper { mode, state: Mutex::new(State::default()) });
    std::thread::Builder::new()
        .name("strata-reaper".into())
        .spawn(move || rt.block_on(reaper.run(sigchld)))
        .map_err(ReaperError::Start)?;
    tracing::debug!(?mode, "child reaper started");
    Ok(reaper)
}

/// The reaper, if [`install`] was called.
pub fn installed() -> Option<&'static Reaper> {
    REAPER.get()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn pid_of(pid: i32) -> Option<Pid> {
    Pid::from_raw(pid)
}

impl Reaper {
    /// The mode the reaper runs in.
    pub fn mode(&self) -> ReapMode {
        self.mode
    }

    async fn run(&'static self, mut sigchld: tokio::signal::unix::Signal) {
        self.sweep(&mut lock(&self.state));
        loop {
            tokio::select! {
                _ = sigchld.recv() => {}
                _ = tokio::time::sleep(SWEEP_INTERVAL) => {}
            }
            self.sweep(&mut lock(&self.state));
        }
    }

    /// Collects every exited child this mode is responsible for. Runs under the state lock, so
    /// reaping and delivering are one step for [`Reaper::spawn`], [`Reaper::watch`] and
    /// [`ExitWatch::signal`].
    fn sweep(&self, st: &mut State) {
        match self.mode {
            ReapMode::AllChildren => loop {
                // `wait` is waitpid(-1); rustix's `waitpid(None)` would be pid 0, this process
                // group only, and miss container inits (runc puts them in their own session).
                match rustix::process::wait(WaitOptions::NOHANG) {
                    Ok(Some((pid, status))) => {
                        Self::deliver(st, pid.as_raw_nonzero().get(), ExitStatus::from_wait(status))
                    }
                    Ok(None) | Err(rustix::io::Errno::CHILD) => break,
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "waitpid(-1) failed");
                        break;
                    }
                }
            },
            ReapMode::RegisteredOnly => {
                let pids: Vec<i32> = st.watched.keys().copied().collect();
                for pid in pids {
                    Self::reap_one(st, pid);
                }
            }
        }
        Self::prune(st);
    }

    /// `waitpid(pid, WNOHANG)` for one watched pid (RegisteredOnly).
    fn reap_one(st: &mut State, pid: i32) {
        let Some(p) = pid_of(pid) else { return };
        loop {
            match rustix::process::waitpid(Some(p), WaitOptions::NOHANG) {
                Ok(Some((_, status))) => Self::deliver(st, pid, ExitStatus::from_wait(status)),
                Ok(None) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => {
                    // ECHILD: someone else waited for it; the status is gone.
                    tracing::warn!(pid, error = %e, "a watched child was reaped outside the reaper");
                    Self::deliver(st, pid, ExitStatus::Lost);
                }
            }
            return;
        }
    }

    fn deliver(st: &mut State, pid: i32, status: ExitStatus) {
        if let Some(cell) = st.watched.remove(&pid) {
            tracing::trace!(pid, %status, "child reaped");
            cell.set(status);
        } else {
            tracing::debug!(pid, %status, "reaped a child nobody watches yet");
            st.unclaimed.insert(pid, Unclaimed { status, reaped_at: Instant::now() });
        }
    }

    fn prune(st: &mut State) {
        let now = Instant::now();
        st.unclaimed.retain(|pid, u| {
            let keep = now.duration_since(u.reaped_at) < UNCLAIMED_TTL;
            if !keep {
                tracing::info!(pid, status = %u.status, "reaped an orphan process");
            }
            keep
        });
        if st.unclaimed.len() > UNCLAIMED_MAX {
            let mut by_age: Vec<(i32, Instant)> = st.unclaimed.iter().map(|(p, u)| (*p, u.reaped_at)).collect();
            by_age.sort_by_key(|(_, t)| *t);
            for (pid, _) in by_age.into_iter().take(st.unclaimed.len() - UNCLAIMED_MAX) {
                if let Some(u) = st.unclaimed.remove(&pid) {
                    tracing::info!(pid, status = %u.status, "reaped an orphan process");
                }
            }
        }
    }

    /// Starts `cmd` and registers it, atomically with respect to reaping. The returned child's
    /// stdio handles are those `cmd` asked for (`Stdio::piped()` gives pipes). The std `Child`
    /// is never waited for; its status comes through [`ReapedChild::exit`].
    ///
    /// The parent's copies of stdio given to `cmd` (`Stdio::from(fd)`) stay open while `cmd`
    /// lives: drop the `Command` after spawning so the child's pipes can reach EOF.
    pub fn spawn(&'static self, cmd: &mut Command) -> io::Result<ReapedChild> {
        let mut st = lock(&self.state);
        let mut child = cmd.spawn()?;
        let raw = i32::try_from(child.id()).map_err(|_| io::Error::other("child pid out of range"))?;
        // Anything recorded for this pid belonged to an earlier process: the new one cannot
        // have been reaped while we held the lock.
        st.unclaimed.remove(&raw);
        let cell = Arc::new(ExitCell::new(raw));
        st.watched.insert(raw, cell.clone());
        drop(st);
        let exit = ExitWatch { cell, reaper: self };
        Ok(ReapedChild { stdin: child.stdin.take(), stdout: child.stdout.take(), stderr: child.stderr.take(), exit })
    }

    /// Watches a process this one did not spawn directly but is the parent of: a container's
    /// init or an exec'd process re-parented to the subreaper. `since` is an instant taken
    /// before the process was created (before `runc create`/`runc exec` ran): a status reaped
    /// before it belonged to an earlier process with the same pid.
    ///
    /// Watching a pid twice gives two handles on the same status.
    pub fn watch(&'static self, pid: u32, since: Instant) -> Result<ExitWatch, ReaperError> {
        let raw = i32::try_from(pid).map_err(|_| ReaperError::NotAChild { pid })?;
        let p = pid_of(raw).ok_or(ReaperError::NotAChild { pid })?;
        let mut st = lock(&self.state);
        if let Some(cell) = st.watched.get(&raw) {
            return Ok(ExitWatch { cell: cell.clone(), reaper: self });
        }
        if let Some(u) = st.unclaimed.remove(&raw) {
            if u.reaped_at >= since {
                let cell = Arc::new(ExitCell::new(raw));
                cell.set(u.status);
                return Ok(ExitWatch { cell, reaper: self });
            }
            tracing::debug!(pid, "dropping a stale status recorded before the process was created");
        }
        // Alive or a zombie, but ours: otherwise nobody would ever deliver a status.
        loop {
            match rustix::process::waitid(
                WaitId::Pid(p),
                WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT,
            ) {
                Ok(_) => break,
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => return Err(ReaperError::NotAChild { pid }),
            }
        }
        let cell = Arc::new(ExitCell::new(raw));
        st.watched.insert(raw, cell.clone());
        // It may already be a zombie whose SIGCHLD was handled before it was ours to watch.
        match self.mode {
            ReapMode::AllChildren => self.sweep(&mut st),
            ReapMode::RegisteredOnly => Self::reap_one(&mut st, raw),
        }
        Ok(ExitWatch { cell, reaper: self })
    }

    /// Runs `cmd` to completion with stdin from `/dev/null` (unless set) and collects its
    /// stdout and stderr: the reaper's `Command::output`.
    pub async fn output(&'static self, cmd: &mut Command) -> io::Result<Output> {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = self.spawn(cmd)?;
        let stdout = child.stdout.take().map(pipe_reader).transpose()?;
        let stderr = child.stderr.take().map(pipe_reader).transpose()?;
        drop(child.stdin.take());
        let (out, err) = tokio::join!(read_all(stdout), read_all(stderr));
        let status = child.exit.wait().await;
        Ok(Output { status, stdout: out?, stderr: err? })
    }

    /// [`Reaper::output`] for threads that are not async (inside `spawn_blocking`, tests).
    pub fn output_blocking(&'static self, cmd: &mut Command) -> io::Result<Output> {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = self.spawn(cmd)?;
        drop(child.stdin.take());
        let stderr = child.stderr.take();
        let err_thread = std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut e) = stderr {
                e.read_to_end(&mut buf)?;
            }
            io::Result::Ok(buf)
        });
        let mut out = Vec::new();
        if let Some(mut o) = child.stdout.take() {
            o.read_to_end(&mut out)?;
        }
        let err = err_thread.join().map_err(|_| io::Error::other("stderr reader panicked"))??;
        Ok(Output { status: child.exit.wait_blocking(), stdout: out, stderr: err })
    }

    #[cfg(test)]
    fn unclaimed_status(&self, pid: u32) -> Option<ExitStatus> {
        lock(&self.state).unclaimed.get(&(pid as i32)).map(|u| u.status)
    }
}

fn pipe_reader(fd: impl Into<std::os::fd::OwnedFd>) -> io::Result<tokio::net::unix::pipe::Receiver> {
    tokio::net::unix::pipe::Receiver::from_owned_fd(fd.into())
}

async fn read_all(r: Option<tokio::net::unix::pipe::Receiver>) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if let Some(mut r) = r {
        r.read_to_end(&mut buf).await?;
    }
    Ok(buf)
}

/// What [`Reaper::output`] collected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// A child started through [`Reaper::spawn`].
#[derive(Debug)]
pub struct ReapedChild {
    pub stdin: Option<std::process::ChildStdin>,
    pub stdout: Option<std::process::ChildStdout>,
    pub stderr: Option<std::process::ChildStderr>,
    /// Its exit status, delivered by the reaper.
    pub exit: ExitWatch,
}

impl ReapedChild {
    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.exit.pid()
    }
}

#[derive(Debug)]
struct ExitCell {
    pid: i32,
    status: Mutex<Option<ExitStatus>>,
    cond: Condvar,
    notify: Notify,
}

impl ExitCell {
    fn new(pid: i32) -> ExitCell {
        ExitCell { pid, status: Mutex::new(None), cond: Condvar::new(), notify: Notify::new() }
    }

    fn set(&self, status: ExitStatus) {
        *lock(&self.status) = Some(status);
        self.cond.notify_all();
        self.notify.notify_waiters();
    }
}

/// The future exit status of one process. Cheap to clone: every clone sees the same status.
#[derive(Debug, Clone)]
pub struct ExitWatch {
    cell: Arc<ExitCell>,
    reaper: &'static Reaper,
}

impl ExitWatch {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.cell.pid.unsigned_abs()
    }

    /// The status, if the process has been reaped.
    pub fn try_status(&self) -> Option<ExitStatus> {
        *lock(&self.cell.status)
    }

    /// Waits until the process has exited and been reaped.
    pub async fn wait(&self) -> ExitStatus {
        loop {
            let notified = self.cell.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(s) = self.try_status() {
                return s;
            }
            notified.await;
        }
    }

    /// [`ExitWatch::wait`] for a plain thread. Blocks the calling thread.
    pub fn wait_blocking(&self) -> ExitStatus {
        let mut guard = lock(&self.cell.status);
        loop {
            if let Some(s) = *guard {
                return s;
            }
            guard = self.cell.cond.wait(guard).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Sends `signal` to the process unless it has already been reaped. Returns whether it was
    /// sent. Safe against pid reuse: reaping happens under the same lock.
    pub fn signal(&self, signal: Signal) -> io::Result<bool> {
        let _st = lock(&self.reaper.state);
        if self.try_status().is_some() {
            return Ok(false);
        }
        let pid = pid_of(self.cell.pid).ok_or_else(|| io::Error::other("invalid pid"))?;
        match rustix::process::kill_process(pid, signal) {
            Ok(()) => Ok(true),
            // A zombie that was not swept yet: it is dead already.
            Err(rustix::io::Errno::SRCH) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The reaper of the unit tests: all children (nothing in this test binary waits with std),
    /// and this process made a subreaper so orphans come to it as they come to the daemon.
    pub(crate) fn test_reaper() -> &'static Reaper {
        strata_sys::process::become_child_subreaper().expect("subreaper");
        install(ReapMode::AllChildren).expect("reaper")
    }

    fn sh(script: &str) -> Command {
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(script);
        c
    }

    #[tokio::test]
    async fn output_collects_stdout_stderr_and_the_exit_code() {
        let r = test_reaper();
        let out = r.output(&mut sh("echo out; echo err >&2; exit 3")).await.expect("run");
        assert_eq!(out.status, ExitStatus::Exited(3));
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(out.status.exit_code(), 3);
    }

    #[test]
    fn output_blocking_works_without_a_runtime() {
        let r = test_reaper();
        let out = r.output_blocking(&mut sh("printf x")).expect("run");
        assert!(out.status.success());
        assert_eq!(out.stdout, b"x");
    }

    #[tokio::test]
    async fn a_killed_child_reports_128_plus_the_signal() {
        let r = test_reaper();
        let child = r.spawn(sh("exec sleep 30").stdin(Stdio::null())).expect("spawn");
        assert!(child.exit.signal(Signal::KILL).expect("kill"));
        let status = child.exit.wait().await;
        assert_eq!(status, ExitStatus::Signaled(9));
        assert_eq!(status.exit_code(), 137);
        assert!(!child.exit.signal(Signal::KILL).expect("no-op"), "a reaped pid is never signalled");
    }

    #[test]
    fn spawn_failure_is_an_error_not_a_panic() {
        let r = test_reaper();
        let err = r.spawn(&mut Command::new("/nonexistent/binary")).expect_err("must fail");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn children_spawned_from_many_threads_are_each_reaped_once() {
        let r = test_reaper();
        const THREADS: i32 = 8;
        const PER_THREAD: i32 = 10;
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                std::thread::spawn(move || {
                    for i in 0..PER_THREAD {
                        let code = (t * PER_THREAD + i) % 100;
                        let child = r.spawn(&mut sh(&format!("exit {code}"))).expect("spawn");
                        assert_eq!(child.exit.wait_blocking(), ExitStatus::Exited(code));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("thread");
        }
    }

    #[tokio::test]
    async fn an_orphan_is_reaped_and_an_early_exit_is_kept_for_its_watcher() {
        let r = test_reaper();
        // The shell starts a grandchild, prints its pid and exits: the grandchild is re-parented
        // to us (we are a subreaper) like a container init after `runc create`.
        let since = Instant::now();
        // The grandchild outlives its parent shell, which would otherwise reap it itself.
        let out = r.output(&mut sh("sh -c 'sleep 0.1; exit 7' & echo $!")).await.expect("run");
        let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().expect("pid");
        // Wait until the reaper took its status while nobody watched it.
        let deadline = Instant::now() + Duration::from_secs(5);
        while r.unclaimed_status(pid).is_none() {
            assert!(Instant::now() < deadline, "orphan {pid} was never reaped");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let watch = r.watch(pid, since).expect("watch");
        assert_eq!(watch.wait().await, ExitStatus::Exited(7));
    }

    #[tokio::test]
    async fn a_status_older_than_since_is_not_handed_out() {
        let r = test_reaper();
        let out = r.output(&mut sh("sh -c 'sleep 0.1; exit 1' & echo $!")).await.expect("run");
        let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().expect("pid");
        let deadline = Instant::now() + Duration::from_secs(5);
        while r.unclaimed_status(pid).is_none() {
            assert!(Instant::now() < deadline, "orphan {pid} was never reaped");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // A watcher whose process was created after that reap must not get that status.
        match r.watch(pid, Instant::now()) {
            Err(ReaperError::NotAChild { .. }) => {}
            other => panic!("expected NotAChild, got {other:?}"),
        }
    }

    #[test]
    fn watching_a_stranger_is_refused() {
        let r = test_reaper();
        assert!(matches!(r.watch(1, Instant::now()), Err(ReaperError::NotAChild { pid: 1 })));
    }

    #[test]
    fn a_second_install_with_another_mode_is_refused() {
        test_reaper();
        assert!(matches!(install(ReapMode::RegisteredOnly), Err(ReaperError::ModeConflict { .. })));
        assert!(install(ReapMode::AllChildren).is_ok());
    }

    #[test]
    fn exit_codes_follow_docker() {
        assert_eq!(ExitStatus::Exited(0).exit_code(), 0);
        assert_eq!(ExitStatus::Signaled(15).exit_code(), 143);
        assert_eq!(ExitStatus::Lost.exit_code(), 255);
        assert!(ExitStatus::Exited(0).success());
        assert!(!ExitStatus::Signaled(9).success());
    }
}
